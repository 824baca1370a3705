"""Database URLs: the one place that checks their shape, masks their passwords, and finds the
hosts the driver will connect to.

Shape checks and masking work on the text with SQLAlchemy's own URL pattern and import no
database library, so `migtutor config` stays lean; `parse` and the host checks use SQLAlchemy's
`make_url`, imported when they are called.

The hosts a PostgreSQL URL reaches are the ones libpq uses, not only the URL's host part:
psycopg2 hands every query parameter to libpq, so `?host=` replaces the URL's host, `hostaddr=`
is dialled without resolving a name, a comma-separated list names several servers, and what the
connection string leaves out comes from PGHOST and PGHOSTADDR, or from a service (`service=`,
PGSERVICE) defined in a pg_service.conf file, which migtutor does not read.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from migtutor.errors import MigtutorError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

EXAMPLE = "postgresql+psycopg2://USER:PASSWORD@HOST:5432/NAME or sqlite:///migtutor.db"
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
_SCHEME = re.compile(r"[\w+]+")
_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&]*)")
# The backends SQLAlchemy knows by itself: a text starting with one of these (and ":" or "//")
# was meant as a URL, so naming the backend in a message cannot reveal a password.
_BACKENDS = frozenset({"sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql"})
URL_HOST = "the URL's host"
_BACKEND_START = re.compile(r"([A-Za-z]\w*)(\+\w+)?(:|//)")


# -- shape and masking (no database library) -----------------------------------------------------


def check_shape(url: str, source: str) -> None:
    """Refuse text that is not a URL, saying what is wrong with its shape.

    The text itself is never shown: what does not parse as a URL may be a password, or hold one
    where masking cannot find it. Only a recognised backend name is quoted back.
    """
    scheme, sep, _ = url.partition("://")
    if sep and _SCHEME.fullmatch(scheme):
        _check_host_and_port(url, scheme)
        return
    start = _BACKEND_START.match(url)
    known = start is not None and start[1].lower() in _BACKENDS
    backend, after = (start[1] + (start[2] or ""), start[3]) if start and known else ("", "")
    if sep and not scheme:
        problem = "is not valid: there is no backend name before '://'"
    elif sep:
        problem = (
            "is not valid: what comes before '://' is not a backend name (letters, digits, "
            "'_' and '+', as in postgresql+psycopg2)"
        )
    elif after == ":":
        problem = f"is not a database URL: '{backend}:' must be followed by '//'"
    elif after == "//":
        problem = f"is not a database URL: a ':' is missing between '{backend}' and '//'"
    else:
        problem = (
            "is not a database URL: it has no '://' and does not start with a backend name "
            "such as sqlite or postgresql"
        )
    raise MigtutorError(
        f"The value of {source} {problem}. Expected a form like {EXAMPLE}. "
        "(It is not shown here, as it may hold a password.)"
    )


def _check_host_and_port(url: str, scheme: str) -> None:
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


def describe(url: str) -> str:
    """'the database server at HOST:PORT (database NAME)' or 'the SQLite database PATH',
    without credentials; the hosts named in the query or the environment when there are any."""
    scheme, _, rest = url.partition("://")
    if scheme.startswith("sqlite"):
        return f"the SQLite database {rest[1:]}"  # sqlite:///PATH: PATH follows the third /
    netloc, _, name = mask_password(url).partition("://")[2].partition("/")
    where = netloc.rpartition("@")[2]
    try:
        hosts = driver_hosts(url)
    except Exception:  # a URL SQLAlchemy cannot read: the text is all there is
        hosts = []
    if any(host.origin != URL_HOST for host in hosts):
        where = ", ".join(host.label for host in hosts)
    where = where or "the default Unix socket"
    return f"the database server at {where} (database {name.split('?')[0]!r})"


# -- the hosts the driver uses --------------------------------------------------------------------


def parse(url: str) -> URL:
    """The URL as SQLAlchemy reads it."""
    from sqlalchemy.engine import make_url

    return make_url(url)


@dataclass(frozen=True)
class Host:
    """A server the driver may connect to (or a service naming one), and where it was found."""

    name: str
    origin: str  # URL_HOST, "host= in the URL", "PGHOST", ...
    service: bool = False

    @property
    def label(self) -> str:
        return f"service {self.name!r}" if self.service else self.name or "the default socket"

    @property
    def is_local(self) -> bool:
        return not self.service and is_local_host(self.name)


def is_local_host(name: str) -> bool:
    """A Unix socket directory, localhost, 127.0.0.0/8 or ::1. An empty entry of a host list
    means libpq's default, the Unix socket."""
    name = name.strip()
    if not name or name.startswith("/") or name.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or address).is_loopback


def _without_port(token: str) -> str:
    """`HOST:PORT` (SQLAlchemy's multi-host form) -> HOST; an IPv6 address stays whole."""
    token = token.strip()
    if token.startswith("["):
        return token[1:].partition("]")[0]
    try:
        ipaddress.ip_address(token)
    except ValueError:
        return re.sub(r":\d*$", "", token)
    return token


def driver_hosts(url: str, environ: Mapping[str, str] | None = None) -> list[Host]:
    """Every host (and service) the driver may use for `url`; [] for SQLite or the default
    Unix socket."""
    parsed = parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return []
    if backend != "postgresql":
        return [Host(parsed.host, URL_HOST)] if parsed.host else []
    environ = os.environ if environ is None else environ

    def query(key: str) -> list[str]:
        value = parsed.query.get(key)
        return [value] if isinstance(value, str) else list(value or ())

    def env(name: str) -> list[str]:
        return [environ[name]] if environ.get(name) else []

    def hosts(values: list[str], origin: str) -> list[Host]:
        return [Host(_without_port(h), origin) for value in values for h in value.split(",")]

    def services(values: list[str], origin: str) -> list[Host]:
        return [Host(value, origin, service=True) for value in values]

    # libpq takes each setting the connection string leaves out from the environment.
    names = hosts([parsed.host] if parsed.host else [], URL_HOST)
    names += hosts(query("host"), "host= in the URL")
    return [
        *(names or hosts(env("PGHOST"), "PGHOST")),
        *(
            hosts(query("hostaddr"), "hostaddr= in the URL")
            or hosts(env("PGHOSTADDR"), "PGHOSTADDR")
        ),
        *(
            services(query("service"), "service= in the URL")
            or services(env("PGSERVICE"), "PGSERVICE")
        ),
    ]


def remote_hosts(url: str, environ: Mapping[str, str] | None = None) -> list[Host]:
    """The hosts (and services) of `url` not known to be on this machine."""
    return [host for host in driver_hosts(url, environ) if not host.is_local]


def is_local(url: str, environ: Mapping[str, str] | None = None) -> bool:
    """SQLite files, Unix sockets and loopback hosts are local; a service is not known to be."""
    return not remote_hosts(url, environ)


def require_local(url: str, allow_remote: bool, action: str) -> None:
    """Refuse unless every host the driver may use is on this machine (or `allow_remote`).

    `action` says why it matters, e.g. "Resetting removes tables".
    """
    if allow_remote:
        return
    remote = remote_hosts(url)
    if not remote:
        return
    host = remote[0]
    if host.service:
        where = (
            f"The connection uses the PostgreSQL service {host.name!r} ({host.origin}), whose "
            "host is set in a pg_service.conf file that migtutor does not read, so it cannot "
            "tell whether that server is on this machine."
        )
    else:
        where = f"The database server {host.name} ({host.origin}) is not on this machine."
    raise MigtutorError(
        f"{where} {action}, so migtutor only does it on a local server (localhost, 127.0.0.0/8, "
        "::1 or a Unix socket); add --allow-remote if you really mean that server."
    )
