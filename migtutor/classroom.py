"""Class databases on one PostgreSQL server: one database and one login role per student.

Names: a student's database and role are both called `<prefix>_<student>`. Student names and the
prefix must be safe identifiers (lowercase letters, digits, underscores, starting with a letter);
anything else is refused before a single statement runs, and every identifier is still quoted by
SQLAlchemy's identifier preparer when it goes into SQL (never interpolated raw).

Isolation: each database is owned by its student's role and `CONNECT` is revoked from PUBLIC, so
the server itself refuses a student's role on a classmate's database (this holds even under
`trust` authentication, where passwords are not checked).

Secrets: passwords come from `secrets`; the server only ever receives a SCRAM-SHA-256 verifier
computed here (so the clear password is in no statement, server log or error), and the clear
password is returned once for the caller to print or to write to a 0600 file.

Reset: the reference revisions' SQL up to the target is generated once (Alembic's offline mode)
and run in every student database, each in its own transaction, as the database's owner role
(`SET LOCAL ROLE`), so the tables stay the student's; several databases are reset at once.
Cloning a template database with `CREATE DATABASE ... TEMPLATE` is kept as `method="template"`:
bench/class_reset.py measures both (copying whole databases was the slower one here).

This module prints nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migtutor.errors import MigtutorError
from migtutor.reset import (
    COURSE_TABLES,
    REFERENCE_IDS,
    REFERENCE_SCHEMAS,
    VERSION_TABLE,
    Target,
    lesson_of,
    rebuild,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from migtutor.settings import DatabaseSettings

NAME_RULE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_STUDENT_LENGTH = 30
MAX_PREFIX_LENGTH = 24  # prefix + "_" + student stays within PostgreSQL's 63-byte identifiers
DEFAULT_PREFIX = "class"
TEMPLATE_SUFFIX = "__template"  # a double underscore: no student name can produce it
SCRAM_ITERATIONS = 4096


# -- names -----------------------------------------------------------------------------------------


def _shown(name: str) -> str:
    return repr(name if len(name) <= 40 else name[:37] + "...")


def check_name(raw: str, kind: str = "student name", limit: int = MAX_STUDENT_LENGTH) -> str:
    """The name in lowercase, or a MigtutorError saying why it cannot be an identifier."""
    name = raw.strip().lower()
    if not name:
        raise MigtutorError(f"An empty {kind} is not allowed.")
    if len(name) > limit:
        raise MigtutorError(
            f"{_shown(raw)} is not a safe {kind}: it has {len(name)} characters, the limit is "
            f"{limit}."
        )
    if not NAME_RULE.match(name):
        raise MigtutorError(
            f"{_shown(raw)} is not a safe {kind}: use lowercase letters, digits and underscores, "
            "starting with a letter (for example ada_lovelace)."
        )
    return name


def check_prefix(prefix: str) -> str:
    return check_name(prefix, "class prefix", MAX_PREFIX_LENGTH)


def read_roster(path: Path) -> list[str]:
    """Student names from a roster file: one per line; blank lines and `#` comments skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise MigtutorError(f"The roster {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MigtutorError(f"Cannot read the roster {path}: {exc}.") from exc
    names: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            name = check_name(text)
        except MigtutorError as exc:
            problems.append(f"line {number}: {exc.message}")
            continue
        if name in names:
            problems.append(f"line {number}: {name!r} is listed twice.")
            continue
        names.append(name)
    if problems:
        raise MigtutorError(
            f"The roster {path} has names that cannot be used, so nothing was created or "
            "changed. " + " ".join(problems)
        )
    if not names:
        raise MigtutorError(f"The roster {path} lists no students (one name per line).")
    return names


def database_name(prefix: str, student: str) -> str:
    return f"{prefix}_{student}"


def template_name(prefix: str) -> str:
    return f"{prefix}{TEMPLATE_SUFFIX}"


# -- secrets ---------------------------------------------------------------------------------------


def new_password() -> str:
    return secrets.token_urlsafe(18)


def scram_verifier(password: str, salt: bytes | None = None) -> str:
    """PostgreSQL's SCRAM-SHA-256 verifier: the form `CREATE ROLE ... PASSWORD` stores."""
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


# -- the server ------------------------------------------------------------------------------------


class Server:
    """An administrator's connection to the PostgreSQL server named by the URL."""

    def __init__(self, database: DatabaseSettings) -> None:
        from sqlalchemy.engine import make_url

        if database.backend != "postgresql":
            raise MigtutorError(
                "Class databases live on a PostgreSQL server: give its administrator URL, for "
                "example -d postgresql+psycopg2://postgres@127.0.0.1:5432/postgres "
                f"(the URL in use is {database.masked_url})."
            )
        self.settings = database
        self.url = make_url(database.url)
        self._engine: Engine | None = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from migtutor.database import create_engine

            self._engine = create_engine(self.settings.url, isolation_level="AUTOCOMMIT")
        return self._engine

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def student_url(self, name: str, password: str) -> str:
        url = self.url.set(username=name, password=password, database=name)
        return url.render_as_string(hide_password=False)

    def engine_for(self, name: str) -> Engine:
        from migtutor.database import create_engine

        return create_engine(self.url_for(name))

    def run(self, connection: Connection, statement: str, what: str, **params: Any) -> Any:
        import sqlalchemy as sa

        try:
            return connection.execute(sa.text(statement), params)
        except sa.exc.DBAPIError as exc:
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise MigtutorError(f"The server refused to {what}: {detail}.") from None

    def existing(self, connection: Connection, names: list[str]) -> tuple[set[str], set[str]]:
        """(roles, databases) among `names` that exist already."""
        roles = self.run(
            connection,
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(:names)",
            "list roles",
            names=names,
        )
        role_set = {row[0] for row in roles}
        databases = self.run(
            connection,
            "SELECT datname FROM pg_database WHERE datname = ANY(:names)",
            "list databases",
            names=names,
        )
        return role_set, {row[0] for row in databases}

    def class_databases(self, connection: Connection, prefix: str) -> list[str]:
        """The student databases of the class `prefix`, by name."""
        rows = self.run(
            connection,
            "SELECT datname FROM pg_database WHERE left(datname, :n) = :p ORDER BY datname",
            "list databases",
            n=len(prefix) + 1,
            p=prefix + "_",
        )
        names = []
        for (name,) in rows:
            student = name[len(prefix) + 1 :]
            if NAME_RULE.match(student) and len(student) <= MAX_STUDENT_LENGTH:
                names.append(name)
        return names


def q(connection: Connection, name: str) -> str:
    """An identifier, always double-quoted by the dialect (after validation by check_name)."""
    return connection.dialect.identifier_preparer.quote_identifier(name)


# -- create ------------------------------------------------------------------------------------


@dataclass
class Account:
    student: str
    name: str  # database and role
    password: str | None = None  # only for accounts created now
    url: str | None = None  # with the password, only for accounts created now
    created: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "database": self.name,
            "role": self.name,
            "created": self.created,
        }


def create_class(
    database: DatabaseSettings, students: list[str], prefix: str, target: Target
) -> list[Account]:
    """A role and a database per student (existing ones are left as they are)."""
    prefix = check_prefix(prefix)
    accounts = [Account(s, database_name(prefix, s)) for s in students]
    with Server(database) as server, server.engine.connect() as connection:
        roles, databases = server.existing(connection, [a.name for a in accounts])
        fresh = [a for a in accounts if a.name not in roles and a.name not in databases]
        for account in accounts:
            if account not in fresh:
                account.created = False
        for account in fresh:
            account.password = new_password()
            server.run(
                connection,
                f"CREATE ROLE {q(connection, account.name)} LOGIN NOSUPERUSER NOCREATEDB "
                "NOCREATEROLE PASSWORD :verifier",
                f"create the role {account.name}",
                verifier=scram_verifier(account.password),
            )
            account.url = server.student_url(account.name, account.password)
        for account in fresh:
            _create_database(server, connection, account.name)
        if fresh and target.revision is not None:
            _rebuild_all(server, [a.name for a in fresh], target)
    return accounts


def _create_database(
    server: Server, connection: Connection, name: str, template: str | None = None
) -> None:
    """An empty database (or a clone of `template`) owned by the role `name`, closed to others."""
    quoted = q(connection, name)
    clone = f" TEMPLATE {q(connection, template)}" if template else ""
    server.run(
        connection,
        f"CREATE DATABASE {quoted}{clone} OWNER {quoted}",
        f"create the database {name}",
    )
    server.run(
        connection, f"REVOKE ALL ON DATABASE {quoted} FROM PUBLIC", f"restrict access to {name}"
    )
    server.run(
        connection,
        f"GRANT CONNECT, TEMPORARY ON DATABASE {quoted} TO {quoted}",
        f"grant {name} its database",
    )


def credentials_text(accounts: list[Account], existing: str = "") -> str:
    header = (
        "# migtutor class credentials: STUDENT DATABASE_URL, one line each. Keep this file "
        "private;\n# give each student their own line (export DATABASE_URL=...).\n"
    )
    lines = [f"{a.student} {a.url}\n" for a in accounts if a.url]
    return (existing or header) + "".join(lines)


def check_writable(path: Path) -> None:
    """Refuse early a credentials file that could not be written (before any account exists)."""
    import tempfile

    try:
        if path.is_dir():
            raise IsADirectoryError(21, "it is a directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
        if path.exists():
            path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MigtutorError(
            f"The credentials file {path} cannot be written ({reason}). Nothing was created; "
            "choose a path in a directory you can write to."
        ) from None


def write_credentials(path: Path, accounts: list[Account]) -> None:
    """Add the new accounts to `path` (mode 0600), keeping what it already holds."""
    from migtutor.atomic import write_atomic

    existing = ""
    if path.exists():
        try:
            existing = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MigtutorError(f"Cannot read the credentials file {path}: {exc}.") from exc
        if existing and not existing.endswith("\n"):
            existing += "\n"
    try:
        write_atomic(path, credentials_text(accounts, existing), mode=0o600)
    except OSError as exc:
        raise MigtutorError(
            f"Cannot write the credentials file {path}: {exc.strerror}. The accounts exist; "
            "run `class drop` and `class create` again to get new passwords."
        ) from exc


# -- reset -----------------------------------------------------------------------------------------


@dataclass
class ClassReset:
    databases: list[str]
    target: Target
    seconds: float
    method: str

    def to_json(self) -> dict[str, Any]:
        return {
            "databases": self.databases,
            "target": self.target.spec,
            "revision": self.target.revision,
            "seconds": round(self.seconds, 3),
            "method": self.method,
        }


def list_class(database: DatabaseSettings, prefix: str) -> list[str]:
    prefix = check_prefix(prefix)
    with Server(database) as server, server.engine.connect() as connection:
        return server.class_databases(connection, prefix)


def reset_class(
    database: DatabaseSettings,
    prefix: str,
    target: Target,
    *,
    seed: bool = False,
    method: str = "parallel",
    workers: int = 8,
) -> ClassReset:
    """Put every student database of the class at `target`."""
    prefix = check_prefix(prefix)
    started = time.perf_counter()
    with Server(database) as server, server.engine.connect() as connection:
        names = server.class_databases(connection, prefix)
        if not names:
            raise MigtutorError(
                f"There are no databases of the class {prefix!r} on this server. Create them "
                "with `migtutor class create ROSTER`."
            )
        roles, _ = server.existing(connection, names)
        missing = [name for name in names if name not in roles]
        if missing:
            raise MigtutorError(
                f"The database(s) {', '.join(missing)} have no login role of the same name: "
                "they were not made by `class create`. Nothing was changed."
            )
        if method == "template":
            _recreate(server, connection, prefix, names, target, seed=seed, workers=workers)
        elif method == "alembic":
            for name in names:
                _rebuild_in_place(server, name, target, seed)
        else:
            _rebuild_all(server, names, target, seed=seed, workers=workers)
    return ClassReset(names, target, time.perf_counter() - started, method)


def _rebuild_all(
    server: Server, names: list[str], target: Target, *, seed: bool = False, workers: int = 8
) -> None:
    """Reset each database in place, several at once, each in its own transaction.

    The reference revisions' SQL is generated once (Alembic's offline mode) and run in every
    database as its owner, so no thread touches Alembic's module-level state. On Ctrl-C the
    databases not started yet are left alone and the running ones roll back or finish.
    """
    from concurrent.futures import CancelledError, wait

    from migtutor.reset import upgrade_sql

    script = upgrade_sql(target, server.url_for(names[0]))
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    futures = [pool.submit(_rebuild_in_place, server, name, target, seed, script) for name in names]
    try:
        wait(futures)
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        pool.shutdown(wait=True)
        done = []
        for name, future in zip(names, futures, strict=True):
            try:
                if future.done() and future.exception() is None:
                    done.append(name)
            except CancelledError:
                pass
        raise MigtutorError(
            f"Interrupted. {len(done)} of {len(names)} databases were reset "
            f"({', '.join(done) or 'none'}); each of the others is as it was, its transaction "
            "rolled back or never started. Run `class reset` again to finish.",
            exit_code=130,
        ) from None
    pool.shutdown(wait=True)
    failed = [(n, f.exception()) for n, f in zip(names, futures, strict=True) if f.exception()]
    if failed:
        reasons = "; ".join(f"{name}: {_reason(exc)}" for name, exc in failed)
        raise MigtutorError(
            f"{len(names) - len(failed)} of {len(names)} databases were reset; "
            f"{len(failed)} failed and are as they were (their transactions rolled back): "
            f"{reasons}."
        )


def _reason(exc: BaseException | None) -> str:
    from migtutor.errors import translate

    if isinstance(exc, MigtutorError):
        return exc.message
    orig = getattr(exc, "orig", None)
    if orig is not None:
        return str(orig).strip().splitlines()[0]
    known = translate(exc) if exc is not None else None
    return known.message if known else f"{type(exc).__name__}: {exc}"


def _recreate(
    server: Server,
    connection: Connection,
    prefix: str,
    names: list[str],
    target: Target,
    *,
    seed: bool = False,
    workers: int = 4,
) -> None:
    """Build the target in a template database once, then clone it for every name."""
    template = _build_template(server, connection, prefix, target, seed)
    try:
        if workers <= 1 or len(names) == 1:
            for name in names:
                _clone(server, connection, template, name)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(lambda name: _clone_alone(server, template, name), names))
    finally:
        _drop_template(server, connection, template)


def _build_template(
    server: Server, connection: Connection, prefix: str, target: Target, seed: bool
) -> str:
    """A fresh template database at `target`, its objects owned by the template role."""
    template = template_name(prefix)
    role_rows = server.run(
        connection, "SELECT 1 FROM pg_roles WHERE rolname = :r", "list roles", r=template
    )
    if role_rows.first() is None:
        server.run(
            connection, f"CREATE ROLE {q(connection, template)} NOLOGIN", "create the template role"
        )
    _drop_template(server, connection, template)
    server.run(
        connection,
        f"CREATE DATABASE {q(connection, template)} OWNER {q(connection, template)}",
        f"create the template database {template}",
    )
    engine = server.engine_for(template)
    try:
        with engine.connect() as build, build.begin():
            server.run(build, f"SET LOCAL ROLE {q(build, template)}", "switch role")
            rebuild(build, target, seed=seed, url=server.url_for(template))
    finally:
        engine.dispose()
    return template


def _drop_template(server: Server, connection: Connection, template: str) -> None:
    server.run(
        connection,
        f"DROP DATABASE IF EXISTS {q(connection, template)} WITH (FORCE)",
        f"drop the template database {template}",
    )


def _clone_alone(server: Server, template: str, name: str) -> None:
    with server.engine.connect() as connection:
        _clone(server, connection, template, name)


# REASSIGN OWNED updates the template role's shared catalog rows: concurrent runs collide
# ("tuple concurrently updated"), so clones run in parallel but hand over ownership one at a time.
_REASSIGN_LOCK = threading.Lock()


def _clone(server: Server, connection: Connection, template: str, name: str) -> None:
    quoted = q(connection, name)
    server.run(
        connection, f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)", f"drop the database {name}"
    )
    _create_database(server, connection, name, template)
    engine = server.engine_for(name)
    try:
        with _REASSIGN_LOCK, engine.connect() as inside, inside.begin():
            server.run(
                inside,
                f"REASSIGN OWNED BY {q(inside, template)} TO {quoted}",
                f"give {name} its tables",
            )
    finally:
        engine.dispose()


def _rebuild_in_place(
    server: Server, name: str, target: Target, seed: bool, script: str | None = None
) -> None:
    """Drop the course's objects in database `name` and migrate it, acting as its owner role.

    Without `script` Alembic runs the reference revisions (one database at a time only).
    """
    with server.engine.connect() as admin:
        # A student still connected could hold locks the reset waits for: disconnect them, as
        # dropping the database would.
        server.run(
            admin,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()",
            f"disconnect the sessions on {name}",
            name=name,
        )
    engine = server.engine_for(name)
    try:
        with engine.connect() as connection, connection.begin():
            server.run(connection, "SET LOCAL lock_timeout = '20s'", "set a lock timeout")
            server.run(connection, f"SET LOCAL ROLE {q(connection, name)}", "switch role")
            rebuild(connection, target, seed=seed, url=server.url_for(name), script=script)
    finally:
        engine.dispose()


# -- status ----------------------------------------------------------------------------------------


@dataclass
class StudentStatus:
    student: str
    database: str
    current: list[str] = field(default_factory=list)
    lesson: int | None = None
    state: str = ""  # reference | own revisions | changed by hand | unreachable
    tables: list[str] = field(default_factory=list)
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "database": self.database,
            "current": self.current,
            "lesson": self.lesson,
            "state": self.state,
            "tables": self.tables,
            "detail": self.detail,
        }


def class_status(database: DatabaseSettings, prefix: str) -> list[StudentStatus]:
    prefix = check_prefix(prefix)
    with Server(database) as server:
        with server.engine.connect() as connection:
            names = server.class_databases(connection, prefix)
        return [_status(server, prefix, name) for name in names]


def _status(server: Server, prefix: str, name: str) -> StudentStatus:
    import sqlalchemy as sa

    status = StudentStatus(student=name[len(prefix) + 1 :], database=name)
    engine = server.engine_for(name)
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            tables = sorted(inspector.get_table_names())
            status.tables = [t for t in tables if t != VERSION_TABLE]
            if VERSION_TABLE in tables:
                rows = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
                status.current = sorted(str(row[0]) for row in rows)
            course = {
                t: frozenset(c["name"] for c in inspector.get_columns(t))
                for t in tables
                if t in COURSE_TABLES
            }
            connection.rollback()
    except sa.exc.DBAPIError as exc:
        status.state = "unreachable"
        status.detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return status
    finally:
        engine.dispose()
    matching = [rev for rev, schema in REFERENCE_SCHEMAS.items() if schema == course]
    shape = matching[0] if matching else "?"
    extra = [t for t in status.tables if t not in COURSE_TABLES]
    if len(status.current) > 1:
        status.state = "own revisions"
        status.detail = "several heads recorded"
    elif not status.current or status.current[0] in REFERENCE_IDS:
        recorded = status.current[0] if status.current else None
        status.lesson = lesson_of(recorded)
        if shape == recorded and not extra:
            status.state = "reference"
        else:
            status.state = "changed by hand"
            status.detail = _difference(recorded, course, extra)
    else:
        status.state = "own revisions"
        if shape != "?":
            status.lesson = lesson_of(shape)  # type: ignore[arg-type]
            status.detail = "schema matches the start of lesson " + str(status.lesson)
        else:
            status.detail = "schema matches no reference state"
    return status


def _difference(recorded: str | None, course: dict[str, frozenset[str]], extra: list[str]) -> str:
    expected = REFERENCE_SCHEMAS[recorded]
    notes = []
    for table in sorted(set(expected) | set(course)):
        if table not in course:
            notes.append(f"{table} missing")
        elif table not in expected:
            notes.append(f"{table} not expected")
        elif course[table] != expected[table]:
            more = sorted(course[table] - expected[table])
            less = sorted(expected[table] - course[table])
            notes.append(
                f"{table}: " + ", ".join([f"+{c}" for c in more] + [f"-{c}" for c in less])
            )
    notes += [f"{t} (not a course table)" for t in extra]
    return "; ".join(notes)


# -- drop ------------------------------------------------------------------------------------------


def drop_class(database: DatabaseSettings, students: list[str], prefix: str) -> list[str]:
    """Drop each student's database and role; returns the names that existed."""
    prefix = check_prefix(prefix)
    names = [database_name(prefix, s) for s in students]
    with Server(database) as server, server.engine.connect() as connection:
        roles, databases = server.existing(connection, names)
        for name in names:
            if name in databases:
                server.run(
                    connection,
                    f"DROP DATABASE IF EXISTS {q(connection, name)} WITH (FORCE)",
                    f"drop the database {name}",
                )
            if name in roles:
                server.run(
                    connection, f"DROP ROLE IF EXISTS {q(connection, name)}", f"drop role {name}"
                )
        if not server.class_databases(connection, prefix):
            template = template_name(prefix)
            _drop_template(server, connection, template)
            server.run(connection, f"DROP ROLE IF EXISTS {q(connection, template)}", "drop role")
    return [name for name in names if name in roles or name in databases]
