"""Builds the programmatic Alembic Config: the only place one is made.

It is also the one place that knows where a workspace's scripts are: `script_location` and
`version_locations` come from its alembic.ini (`migrations/` for a workspace migtutor laid out,
`alembic/` for a project set up the course's way), never from a name in the code.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import warnings
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
    _anchor_paths(config, ini.parent)
    config.attributes["migtutor"] = True
    if connection is not None:
        config.attributes["connection"] = connection
    config.attributes.update(attributes or {})
    return config


def _relative(value: str) -> bool:
    # "package:folder" names a resource Alembic finds itself; anything else is a path.
    return not Path(value).is_absolute() and ":" not in value


def _anchor_paths(config: Config, here: Path) -> None:
    """Read the ini's relative paths from its own folder, not the current directory.

    Alembic resolves `script_location = alembic` and `prepend_sys_path = .` against the
    current directory; migtutor runs from anywhere inside the workspace.
    """
    with warnings.catch_warnings():  # an older ini without path_separator: read it the old way
        warnings.simplefilter("ignore")
        versions = config.get_version_locations_list()
        prepend = config.get_prepend_sys_paths_list()
    location = config.get_alembic_option("script_location")
    if location and _relative(location):
        config.set_main_option("script_location", str(here / location).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if versions:
        paths = [str(here / v) if _relative(v) else v for v in versions if v]
        config.set_main_option("version_locations", os.pathsep.join(paths).replace("%", "%%"))
    if prepend:
        paths = [str(here / p) if not Path(p).is_absolute() else p for p in prepend if p]
        config.set_main_option("prepend_sys_path", os.pathsep.join(paths).replace("%", "%%"))


def _file_config(ini: Path) -> Config:
    from alembic.config import Config

    config = Config(str(ini))
    _anchor_paths(config, ini.parent)
    return config


def script_location(workspace: Path) -> Path:
    """The folder holding the workspace's env.py (its ini's script_location, made absolute)."""
    location = _file_config(find_ini(workspace)).get_alembic_option("script_location")
    if not location:
        return workspace / "migrations"  # Alembic itself will say the key is missing
    if ":" in location and not Path(location).is_absolute():
        from alembic import util

        location = util.coerce_resource_to_filename(location)
    return Path(location).resolve()


def versions_location(workspace: Path) -> Path:
    """Where the revision files are: the first version_locations entry, or <scripts>/versions."""
    versions = _file_config(find_ini(workspace)).get_version_locations_list()
    if versions and versions[0]:
        return Path(versions[0]).resolve()
    return script_location(workspace) / "versions"


def _forget_loaded_models() -> None:
    """env.py imports `app.models`; make each Config load the workspace's current file.

    A process that works on several workspaces, or on a models.py edited since it was first
    imported (tests, `class` and `demo` commands), would otherwise reuse a stale module.
    """
    for name in [name for name in sys.modules if name == "app" or name.startswith("app.")]:
        del sys.modules[name]
