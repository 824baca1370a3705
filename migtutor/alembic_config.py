"""Builds the programmatic Alembic Config: the only place one is made."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from migtutor.errors import MigtutorError

if TYPE_CHECKING:
    from alembic.config import Config


def find_ini(workspace: Path) -> Path:
    ini = workspace / "alembic.ini"
    if not ini.is_file():
        raise MigtutorError(
            f"No migtutor workspace in {workspace} (there is no alembic.ini). Run "
            "`migtutor init` there to create one, or point to an existing workspace with "
            "-w DIR or MIGTUTOR_WORKSPACE."
        )
    return ini


def build_config(
    workspace: Path,
    url: str,
    *,
    connection: Any = None,
    stdout: IO[str] | None = None,
    output_buffer: IO[str] | None = None,
    attributes: dict[str, Any] | None = None,
    ini: Path | None = None,
) -> Config:
    """A Config for `workspace`'s scripts talking to `url`.

    The URL goes into the Config in memory only; ConfigParser would read a `%` in it (a
    percent-quoted password) as interpolation, so it is doubled.
    """
    from alembic.config import Config

    ini = ini or find_ini(workspace)
    _forget_loaded_models()
    config = Config(
        str(ini),
        # Alembic's own printing is never shown: migtutor renders the data itself.
        stdout=stdout or io.StringIO(),
        output_buffer=output_buffer,
        cmd_opts=argparse.Namespace(autogenerate=False, x=None, sql=False),
    )
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["migtutor"] = True
    if connection is not None:
        config.attributes["connection"] = connection
    config.attributes.update(attributes or {})
    return config


def _forget_loaded_models() -> None:
    """env.py imports `app.models`; make each Config load the workspace's current file.

    A process that works on several workspaces, or on a models.py edited since it was first
    imported (tests, `class` and `demo` commands), would otherwise reuse a stale module.
    """
    for name in [name for name in sys.modules if name == "app" or name.startswith("app.")]:
        del sys.modules[name]
