"""Where the database URL comes from.

Order: the -d option; MIGTUTOR_DATABASE_URL; DATABASE_URL; the FastAPI course's parts
(DATABASE_HOSTNAME, DATABASE_PORT, DATABASE_USERNAME, DATABASE_PASSWORD, DATABASE_NAME);
else an SQLite file in the workspace. Each variable is read from the environment first, then
from the workspace's `.env` (where a relative SQLite path means a file in the workspace). This
module imports no database library.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from migtutor.errors import MigtutorError

URL_KEYS = ("MIGTUTOR_DATABASE_URL", "DATABASE_URL")
PART_KEYS = (
    "DATABASE_HOSTNAME",
    "DATABASE_PORT",
    "DATABASE_USERNAME",
    "DATABASE_PASSWORD",
    "DATABASE_NAME",
)
DEFAULT_SQLITE_FILE = "migtutor.db"
# SQLAlchemy's own URL pattern: the password runs to the first "@" and may hold ":" and "/".
_URL = re.compile(
    r"""
    (?P<scheme>[\w+]+)://
    (?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?
    (?:(?:\[(?P<ipv6host>[^/?]+)\]|(?P<ipv4host>[^/:?]+))?(?::(?P<port>[^/?]*))?)?
    (?:/(?P<database>[^?]*))?
    (?:\?(?P<query>.*))?
    """,
    re.X,
)
_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&]*)")
_ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


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
    """Parse a `.env` file: KEY=VALUE lines, `#` comments, optional quotes and `export`."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise MigtutorError(f"Cannot read {path}: {exc}. Fix or remove the file.") from exc
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if not match:
            raise MigtutorError(
                f"{path}, line {number}: expected KEY=VALUE, found {raw.strip()[:40]!r}. "
                "Fix the line or comment it out with '#'."
            )
        key, value = match.groups()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def resolve_database(
    workspace: Path,
    option_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> DatabaseSettings:
    """Pick the database URL for `workspace` and say where it came from."""
    if option_url:
        return DatabaseSettings(normalise_url(option_url), "--database-url option")
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
            return DatabaseSettings(normalise_url(value), source)

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


def normalise_url(url: str) -> str:
    """Spell out the driver of a bare PostgreSQL URL.

    SQLAlchemy 2.1 reads `postgresql://` as psycopg (version 3); older releases, and the course,
    meant psycopg2. When psycopg 3 is not installed, a bare URL would fail with "No module named
    'psycopg'", so it is rewritten to `postgresql+psycopg2://`.
    """
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise MigtutorError(
            f"{mask_password(url)!r} is not a database URL. Expected a form like "
            "postgresql+psycopg2://USER:PASSWORD@HOST:5432/NAME or sqlite:///migtutor.db."
        )
    if scheme.startswith("sqlite") and rest.split("?")[0] in ("", "/", "/:memory:"):
        raise MigtutorError(
            f"{url!r} is an in-memory SQLite database: it would vanish when this command ends, "
            "taking every migration with it. Give a file: sqlite:///migtutor.db (relative to "
            "the current directory) or sqlite:////absolute/path/migtutor.db."
        )
    parts = _URL.match(url)
    port = parts["port"] if parts else None
    host = (parts["ipv4host"] or "") if parts else ""
    if (port and not (port.isdigit() and int(port) <= 65535)) or "@" in host:
        # Not echoed: with an unquoted password, what looks like the host or port may be part
        # of the password.
        raise MigtutorError(
            f"The {scheme}:// database URL is not valid: after USER:PASSWORD@ it needs a host "
            "and a numeric port (HOST:5432). If the password contains @ : / % # or ?, "
            "percent-quote it (@ is %40, / is %2F, % is %25), or set DATABASE_PASSWORD and the "
            "other DATABASE_* parts instead, which migtutor quotes for you."
        )
    if scheme in ("postgresql", "postgres") and importlib.util.find_spec("psycopg") is None:
        return f"postgresql+psycopg2://{rest}"
    return url


def mask_password(url: str) -> str:
    """Replace the password in a URL with `***`, as SQLAlchemy's URL rendering does."""
    parts = _URL.match(url)
    if parts and parts["password"] is not None:
        start, end = parts.span("password")
        url = f"{url[:start]}***{url[end:]}"
    return _QUERY_PASSWORD.sub(r"\1***", url)


def redact(text: str, url: str) -> str:
    """Remove the URL's password, raw or percent-quoted, from any text."""
    from urllib.parse import unquote

    parts = _URL.match(url)
    secrets = {parts["password"]} if parts and parts["password"] else set()
    secrets.update(match[2] for match in _QUERY_PASSWORD.finditer(url) if match[2])
    for form in {form for secret in secrets for form in (secret, unquote(secret))}:
        if form:
            text = text.replace(f":{form}@", ":***@")
            # A very short password cannot be told apart from ordinary words: masking every
            # "p" would garble the message and still hide nothing.
            if len(form) >= 4:
                text = text.replace(form, "***")
    return text
