"""Where the database URL comes from.

Order: the -d option; MIGTUTOR_DATABASE_URL; DATABASE_URL; the FastAPI course's parts
(DATABASE_HOSTNAME, DATABASE_PORT, DATABASE_USERNAME, DATABASE_PASSWORD, DATABASE_NAME);
else an SQLite file in the workspace. Each variable is read from the environment first, then
from the workspace's `.env` (where a relative SQLite path means a file in the workspace). A URL's
shape is checked, and its password masked, in urls.py. This module imports no database library.
"""

from __future__ import annotations

import importlib.util
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from migtutor.errors import MigtutorError
from migtutor.urls import check_shape, mask_password

URL_KEYS = ("MIGTUTOR_DATABASE_URL", "DATABASE_URL")
PART_KEYS = (
    "DATABASE_HOSTNAME",
    "DATABASE_PORT",
    "DATABASE_USERNAME",
    "DATABASE_PASSWORD",
    "DATABASE_NAME",
)
DEFAULT_SQLITE_FILE = "migtutor.db"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    source: str

    @property
    def masked_url(self) -> str:
        return mask_password(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def backend(self) -> str:
        return self.url.split(":", 1)[0].split("+", 1)[0]


def read_dotenv(path: Path) -> dict[str, str]:
    """The KEY=VALUE pairs of a `.env` file, read by python-dotenv (quotes, `export`, comments).

    Values are taken literally (no `${VAR}` expansion): a password may hold a `$`. A line
    python-dotenv cannot read, or a lone word without `=` (a pasted password?), is an error
    naming the line, never silently skipped and never echoed.
    """
    if not path.is_file():
        return {}
    from dotenv.parser import parse_stream

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MigtutorError(f"Cannot read {path}: {exc}. Fix or remove the file.") from exc
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error or (binding.key is not None and binding.value is None):
            raise MigtutorError(
                f"{path}, line {binding.original.line}: expected KEY=VALUE (the line is not "
                "shown, as it may hold a password). Fix the line or comment it out with '#'."
            )
        if binding.key is not None and binding.value is not None:
            values[binding.key] = binding.value
    return values


def resolve_database(
    workspace: Path,
    option_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> DatabaseSettings:
    """Pick the database URL for `workspace` and say where it came from."""
    if option_url:
        source = "--database-url option"
        return DatabaseSettings(normalise_url(option_url, source), source)
    environ = os.environ if environ is None else environ
    dotenv_path = workspace / ".env"
    dotenv = read_dotenv(dotenv_path)

    def lookup(key: str) -> tuple[str | None, str]:
        if environ.get(key):
            return environ[key], f"{key} (environment)"
        if dotenv.get(key):
            value = sqlite_beside(dotenv[key], workspace) if key in URL_KEYS else dotenv[key]
            return value, f"{key} ({dotenv_path.name} file)"
        return None, ""

    for key in URL_KEYS:
        value, source = lookup(key)
        if value:
            return DatabaseSettings(normalise_url(value, source), source)

    parts = {key: lookup(key) for key in PART_KEYS}
    if any(value for value, _ in parts.values()):
        return DatabaseSettings(_url_from_parts(parts), _parts_source(parts))

    sqlite_path = (workspace / DEFAULT_SQLITE_FILE).resolve()
    return DatabaseSettings(f"sqlite:///{sqlite_path}", "default (SQLite file in the workspace)")


def sqlite_beside(url: str, directory: Path) -> str:
    """A relative SQLite path in a workspace's .env means a file in that workspace.

    migtutor runs from anywhere inside the workspace, so the same .env line must name the same
    file wherever it is read; a URL typed on the command line or exported in the shell stays
    relative to the current directory, as SQLAlchemy reads it.
    """
    scheme, sep, rest = url.strip().partition("://")
    if not (sep and scheme.startswith("sqlite") and rest.startswith("/")):
        return url
    path, mark, query = rest[1:].partition("?")
    if not path or path == ":memory:" or path.startswith("file:") or Path(path).is_absolute():
        return url
    return f"{scheme}:///{(directory / path).resolve()}{mark}{query}"


def _url_from_parts(parts: dict[str, tuple[str | None, str]]) -> str:
    missing = [key for key in ("DATABASE_HOSTNAME", "DATABASE_NAME") if not parts[key][0]]
    if missing:
        raise MigtutorError(
            f"The database settings are incomplete: {', '.join(missing)} is not set, though other "
            "DATABASE_* values are. Set all of DATABASE_HOSTNAME, DATABASE_PORT, "
            "DATABASE_USERNAME, DATABASE_PASSWORD and DATABASE_NAME (in the environment or .env), "
            "or give a whole URL with DATABASE_URL."
        )
    return build_postgres_url(
        host=parts["DATABASE_HOSTNAME"][0] or "",
        port=parts["DATABASE_PORT"][0],
        username=parts["DATABASE_USERNAME"][0],
        password=parts["DATABASE_PASSWORD"][0],
        database=parts["DATABASE_NAME"][0] or "",
    )


def _parts_source(parts: dict[str, tuple[str | None, str]]) -> str:
    origins = sorted({source.split(" ", 1)[1] for value, source in parts.values() if value})
    return f"DATABASE_HOSTNAME/PORT/USERNAME/PASSWORD/NAME {' and '.join(origins)}"


def build_postgres_url(
    host: str,
    database: str,
    username: str | None = None,
    password: str | None = None,
    port: str | int | None = None,
) -> str:
    """A psycopg2 URL with user and password percent-quoted, so `@ : / %` in them are safe."""
    if port not in (None, "") and not str(port).isdigit():
        raise MigtutorError(f"DATABASE_PORT must be a number, not {port!r}.")
    credentials = ""
    if username:
        credentials = quote(username, safe="")
        if password:
            credentials += ":" + quote(password, safe="")
        credentials += "@"
    hostport = host + (f":{port}" if port not in (None, "") else "")
    return f"postgresql+psycopg2://{credentials}{hostport}/{quote(database, safe='')}"


def normalise_url(url: str, source: str) -> str:
    """Check the URL's shape and spell out the driver of a bare PostgreSQL URL.

    SQLAlchemy 2.1 reads `postgresql://` as psycopg (version 3); older releases, and the course,
    meant psycopg2. When psycopg 3 is not installed, a bare URL would fail with "No module named
    'psycopg'", so it is rewritten to `postgresql+psycopg2://`. `source` names the setting the
    URL came from, for the error messages.
    """
    url = url.strip()
    check_shape(url, source)
    scheme, _, rest = url.partition("://")
    if scheme.startswith("sqlite") and rest.split("?")[0] in ("", "/", "/:memory:"):
        raise MigtutorError(
            f"{mask_password(url)!r} is an in-memory SQLite database: it would vanish when this "
            "command ends, taking every migration with it. Give a file: sqlite:///migtutor.db "
            "(relative to the current directory) or sqlite:////absolute/path/migtutor.db."
        )
    if scheme in ("postgresql", "postgres") and importlib.util.find_spec("psycopg") is None:
        return f"postgresql+psycopg2://{rest}"
    return url
