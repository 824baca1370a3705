"""Class databases on one PostgreSQL server: one database and one login role per student.

Names: a student's database and role are both called `<prefix>_<student>`. Student names and the
prefix must be safe identifiers (lowercase letters, digits, single underscores, starting with a
letter); anything else is refused before a single statement runs, and every identifier is still
quoted by SQLAlchemy's identifier preparer when it goes into SQL (never interpolated raw).

Membership: a class is exactly the roles recorded as its students, in each role's comment on the
server (`COMMENT ON ROLE`, which only a CREATEROLE administrator may change), so every instructor
machine sees the same class and a class whose prefix starts another's is never mixed in.

Isolation: each database is owned by its student's role and `CONNECT` is revoked from PUBLIC, so
the server itself refuses a student's role on a classmate's database (this holds even under
`trust` authentication, where passwords are not checked).

Safety of the administrator: a student owns her database and may plant functions, operators
and settings in it. The administrator's session never enters a student database; whatever runs
inside one (reset, status, the schema of a new database) runs in a session of a throwaway role
that has only the student's rights (see pg_sessions.py).

Secrets: passwords come from `secrets`; the server only ever receives a SCRAM-SHA-256 verifier
computed by libpq (so the clear password is in no statement, server log or error), and the
clear password is returned once for the caller to print or to write to a 0600 file.

Reset: the reference revisions' SQL up to the target is generated once (Alembic's offline mode)
and run in every student database, each in its own transaction, several databases at once.

This module prints nothing.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from migtutor.errors import MigtutorError
from migtutor.pg_sessions import (
    OwnerLogins,
    admin_engine,
    privileges,
    quote,
    scram_verifier,
    server_message,
)
from migtutor.reset import (
    Target,
    rebuild,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from migtutor.settings import DatabaseSettings

# No double underscore and no trailing one: `<prefix>_<student>` then never contains "__", so
# no student's name can collide with another class's or with a helper's.
NAME_RULE = re.compile(r"^[a-z](?:_?[a-z0-9])*$")
MAX_STUDENT_LENGTH = 30
MAX_PREFIX_LENGTH = 24  # prefix + "_" + student stays within PostgreSQL's 63-byte identifiers
DEFAULT_PREFIX = "class"
# Each student role may hold this many sessions at once: an app, psql and a migtutor command,
# but not enough to exhaust the server's connection slots for the whole class.
STUDENT_CONNECTION_LIMIT = 10
RECORD_KIND = "migtutor student"
WORKERS = 8

T = TypeVar("T")
# Told of each student database done: its name and the error if it failed (from any thread).
OnDone = Callable[[str, BaseException | None], None] | None


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
            f"{_shown(raw)} is not a safe {kind}: use lowercase letters, digits and single "
            "underscores, starting with a letter and not ending with an underscore (for "
            "example ada_lovelace)."
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


HOST_RULE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$|^\[?[0-9A-Fa-f:.]+\]?$")


def check_host(raw: str) -> str:
    """A host name or IP address students can be given, or a MigtutorError."""
    host = raw.strip()
    if not HOST_RULE.match(host):
        raise MigtutorError(
            f"{_shown(raw)} is not a host name or IP address: give the address the students "
            "reach the server at, for example --host db.example.edu or --host 192.0.2.10."
        )
    return host.strip("[]")


# -- secrets ---------------------------------------------------------------------------------------


def new_password() -> str:
    return secrets.token_urlsafe(18)


# -- the server ------------------------------------------------------------------------------------


@dataclass
class Member:
    """A role recorded as a student of a class, and the database of the same name."""

    student: str
    name: str
    ready: bool  # every step of `class create` finished for this student
    database_owner: str | None  # None: the database is gone

    @property
    def has_database(self) -> bool:
        return self.database_owner is not None


class Server:
    """An administrator's session on the PostgreSQL server named by the URL.

    It stays in the database the URL names (the maintenance database, e.g. `postgres`), with
    its settings pinned: see pg_sessions.py. Entering refuses a maintenance database that an
    ordinary role owns, since that role could plant code there.
    """

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
        self._connection: Connection | None = None
        self.public_host: str | None = None  # the address students reach the server at

    def __enter__(self) -> Server:
        import sqlalchemy as sa

        self._engine = admin_engine(self.url)
        try:
            self._connection = self._engine.connect()
        except sa.exc.DBAPIError as exc:
            self.close()
            from migtutor.errors import translate

            known = translate(exc)
            raise (known or MigtutorError(f"Cannot connect to the server: {exc}")) from None
        self.me = privileges(self.connection)
        self._check_maintenance_database()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def connection(self) -> Connection:
        assert self._connection is not None, "use Server as a context manager"
        return self._connection

    def _check_maintenance_database(self) -> None:
        from migtutor.pg_sessions import database_owner

        owner, owner_is_superuser = database_owner(self.connection)
        if owner != self.me.user and not owner_is_superuser:
            raise MigtutorError(
                f"The administrator URL names the database {self.url.database!r}, which belongs "
                f"to the role {owner!r}: its owner could plant code that runs with your rights. "
                "Give a database no ordinary role owns, such as postgres "
                f"(-d {self.url.set(database='postgres').render_as_string()}). Nothing was "
                "changed."
            )

    def require(self, *, create_roles: bool = True, create_databases: bool = False) -> None:
        """Refuse, before anything is changed, an administrator without the needed privileges."""
        if self.me.superuser:
            return
        missing = []
        if create_roles and not self.me.create_role:
            missing.append("CREATEROLE (to create the students' roles and the helper roles)")
        if create_databases and not self.me.create_db:
            missing.append("CREATEDB (to create the students' databases)")
        if missing:
            raise MigtutorError(
                f"The role {self.me.user!r} lacks " + " and ".join(missing) + ". Nothing was "
                "changed. Connect as a role that has them (e.g. postgres), or grant them: "
                f"ALTER ROLE {self.me.user} CREATEROLE CREATEDB;"
            )

    def run(self, statement: str, what: str, **params: Any) -> Any:
        import sqlalchemy as sa

        try:
            return self.connection.execute(sa.text(statement), params)
        except sa.exc.DBAPIError as exc:
            detail = server_message(exc)
            raise MigtutorError(f"The server refused to {what}: {detail}.") from None

    def q(self, name: str) -> str:
        return quote(self.connection, name)

    def existing(self, names: list[str]) -> tuple[set[str], set[str]]:
        """(roles, databases) among `names` that exist already."""
        roles = self.run(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(:names)", "list roles", names=names
        )
        databases = self.run(
            "SELECT datname FROM pg_database WHERE datname = ANY(:names)",
            "list databases",
            names=names,
        )
        return {row[0] for row in roles}, {row[0] for row in databases}

    def members(self, prefix: str) -> dict[str, Member]:
        """The students recorded for the class `prefix`, by student name."""
        rows = self.run(
            "SELECT r.rolname, d.description, o.rolname FROM pg_roles r "
            "JOIN pg_shdescription d ON d.objoid = r.oid "
            "AND d.classoid = 'pg_catalog.pg_authid'::regclass "
            "LEFT JOIN pg_database db ON db.datname = r.rolname "
            "LEFT JOIN pg_roles o ON o.oid = db.datdba "
            "WHERE d.description LIKE :kind ORDER BY r.rolname",
            "list the class",
            kind='{"kind": "' + RECORD_KIND + '"%',
        )
        found: dict[str, Member] = {}
        for role, description, owner in rows:
            try:
                record = json.loads(description)
            except ValueError:
                continue
            student = str(record.get("student", ""))
            if record.get("class") == prefix and role == database_name(prefix, student):
                found[student] = Member(student, role, bool(record.get("ready")), owner)
        return found

    def record(self, prefix: str, student: str, *, ready: bool) -> None:
        record = {"kind": RECORD_KIND, "class": prefix, "student": student, "ready": ready}
        name = database_name(prefix, student)
        self.run(
            f"COMMENT ON ROLE {self.q(name)} IS :record",
            f"record {name} as a student of {prefix}",
            record=json.dumps(record),
        )

    def disconnect(self, names: list[str]) -> None:
        """End every session on these databases (a student's open transaction would block)."""
        self.run(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = ANY(:names) AND pid <> pg_backend_pid()",
            "disconnect the students' sessions",
            names=names,
        )

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def student_url(self, name: str, password: str) -> str:
        url = self.url.set(username=name, password=password, database=name)
        if self.public_host:
            url = url.set(host=self.public_host)
        return url.render_as_string(hide_password=False)

    def trust_warnings(self) -> list[str]:
        """Lines of pg_hba.conf that let anyone connect over TCP without a password."""
        if not self.me.superuser:
            return []  # only superusers may read pg_hba_file_rules
        import sqlalchemy as sa

        try:
            rows = self.connection.execute(
                sa.text(
                    "SELECT line_number, type, array_to_string(database, ','), "
                    "array_to_string(user_name, ','), coalesce(address, '') "
                    "FROM pg_hba_file_rules WHERE auth_method = 'trust' AND type LIKE 'host%' "
                    "ORDER BY line_number"
                )
            ).all()
            hba_file = self.connection.execute(sa.text("SHOW hba_file")).scalar_one()
        except sa.exc.DBAPIError:
            return []
        return [
            f"{hba_file} line {line}: `{kind} {databases} {users} {address} trust` lets anyone "
            "who can reach the server connect as any role, a classmate or the superuser, "
            "without a password. Change `trust` to `scram-sha-256` there and reload the server "
            "(SELECT pg_reload_conf())."
            for line, kind, databases, users, address in rows
        ]


def in_parallel(
    work: Callable[[T], None],
    items: Iterable[T],
    on_done: OnDone = None,
    *,
    prepare: Callable[[list[T]], None] | None = None,
    batch: int = WORKERS,
) -> dict[T, BaseException]:
    """Run `work` on each item, WORKERS at a time; the items that failed, with their errors.

    With `prepare`, the items are handed out in batches of `batch`, and `prepare(batch)` runs
    (in this thread) before any item of a batch starts: the workers are already busy with
    the first batches while later ones are prepared. An error from `prepare` stops handing
    out items; the ones running finish, the others never start, and the error is raised.

    On Ctrl-C, items not started are left alone and the running ones roll back or finish.
    """
    from concurrent.futures import CancelledError, Future, wait

    items = list(items)
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    futures: dict[int, Future[None]] = {}

    def submit(index: int, item: T) -> None:
        future = pool.submit(work, item)
        futures[index] = future
        if on_done is not None:

            def tell(done: Future[None], item: T = item) -> None:
                if not done.cancelled():
                    on_done(str(item), done.exception())

            future.add_done_callback(tell)

    step = max(1, batch) if prepare is not None else max(1, len(items))
    try:
        for start in range(0, len(items), step):
            chunk = items[start : start + step]
            if prepare is not None:
                prepare(chunk)
            for index, item in enumerate(chunk, start):
                submit(index, item)
        wait(list(futures.values()))
    except KeyboardInterrupt:
        for future in futures.values():
            future.cancel()
        pool.shutdown(wait=True)
        done = []
        for index, future in futures.items():
            try:
                if future.done() and future.exception() is None:
                    done.append(str(items[index]))
            except CancelledError:
                pass
        raise MigtutorError(
            f"Interrupted. {len(done)} of {len(items)} databases were done "
            f"({', '.join(done) or 'none'}); each of the others is as it was, its transaction "
            "rolled back or never started. Run the command again to finish.",
            exit_code=130,
        ) from None
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return {
        items[index]: future.exception()  # type: ignore[misc]
        for index, future in futures.items()
        if future.exception() is not None
    }


def _reason(exc: BaseException | None) -> str:
    from migtutor.errors import translate

    if isinstance(exc, MigtutorError):
        return exc.message
    if getattr(exc, "orig", None) is not None:
        return server_message(exc)
    known = translate(exc) if exc is not None else None
    return known.message if known else f"{type(exc).__name__}: {exc}"


def _rebuild(
    engine: Engine,
    target: Target,
    seed: bool,
    script: str,
    all_objects: bool = False,
) -> None:
    """Drop the course's objects in one database and migrate it, as the database's owner.

    `engine` logs in as the owner's helper for the database this thread works on (see
    `_rebuild_all`). The commit does not wait for the disk: a crash of the server in the next
    moment would undo this reset (the database as it was, never half reset), and running
    `class reset` again redoes it; waiting for one flush per student is what made a class slow.
    """
    with engine.connect() as connection, connection.begin():
        connection.exec_driver_sql(
            "SET LOCAL lock_timeout = '20s'; SET LOCAL synchronous_commit = off"
        )
        rebuild(
            connection,
            target,
            seed=seed,
            all_objects=all_objects,
            url=engine.url.render_as_string(),
            script=script,
            row_counts=False,
        )


def _rebuild_all(
    server: Server,
    names: list[str],
    target: Target,
    seed: bool = False,
    all_objects: bool = False,
    on_done: OnDone = None,
) -> dict[str, BaseException]:
    """Reset each database in place as its owner, several at once; the ones that failed."""
    import threading

    from migtutor.reset import upgrade_sql

    script = upgrade_sql(target, server.url_for(names[0]))
    with OwnerLogins(server.connection, server.url) as logins:
        helpers = logins.prepare([(name, name) for name in names])
        current = threading.local()
        engine = logins.shared_engine(
            lambda: getattr(current, "pair", (helpers[names[0]], names[0]))
        )

        def work(name: str) -> None:
            current.pair = (helpers[name], name)
            _rebuild(engine, target, seed, script, all_objects)

        try:
            return in_parallel(work, names, on_done)
        finally:
            engine.dispose()


# -- create ------------------------------------------------------------------------------------


@dataclass
class Account:
    student: str
    name: str  # database and role
    password: str | None = None  # only when a password was set now
    url: str | None = None  # with the password, only when a password was set now
    status: str = "created"  # created | exists | database re-created | completed | new password

    @property
    def created(self) -> bool:
        return self.status == "created"

    def to_json(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "database": self.name,
            "role": self.name,
            "created": self.created,
            "status": self.status,
        }


@dataclass
class ClassCreated:
    accounts: list[Account]
    warnings: list[str] = field(default_factory=list)


class CreateFailed(MigtutorError):
    """Some students were created completely before one failed: their credentials still count."""

    def __init__(self, message: str, done: ClassCreated) -> None:
        super().__init__(message)
        self.done = done


def create_class(
    database: DatabaseSettings,
    students: list[str],
    prefix: str,
    target: Target,
    host: str | None = None,
    on_done: OnDone = None,
) -> ClassCreated:
    """A role and a database per student, each created completely or not at all.

    Students already complete are left as they are; a student whose database is gone gets it
    back (same password); a student a previous run left half made is finished with a new
    password. Names that exist on the server without being this class's students are refused
    before anything is created. `host`: the address the students' URLs name (default: the
    administrator URL's).
    """
    prefix = check_prefix(prefix)
    with Server(database) as server:
        server.public_host = check_host(host) if host else None
        server.require(create_roles=True, create_databases=True)
        result = ClassCreated([], server.trust_warnings())
        members = server.members(prefix)
        names = [database_name(prefix, s) for s in students]
        roles, databases = server.existing(names)
        strangers = [
            n
            for s, n in zip(students, names, strict=True)
            if (n in roles or n in databases) and s not in members
        ]
        if strangers:
            raise MigtutorError(
                f"{', '.join(strangers)} exist on this server but are not students of the class "
                f"{prefix!r} (something else made them). Nothing was created; choose another "
                "--prefix or remove them."
            )
        built: list[Account] = []
        try:
            for student, name in zip(students, names, strict=True):
                member = members.get(student)
                if member and member.ready and member.has_database:
                    result.accounts.append(Account(student, name, status="exists"))
                    if on_done is not None:
                        on_done(name, None)
                    continue
                account = _create_student(server, prefix, student, member)
                built.append(account)
                if target.revision is None and on_done is not None:
                    on_done(name, None)
            failures: dict[str, BaseException] = {}
            fresh = [a.name for a in built]
            if fresh and target.revision is not None:
                failures = _rebuild_all(server, fresh, target, on_done=on_done)
            for account in built:
                if account.name in failures:
                    _undo(server, account)
                    continue
                server.record(prefix, account.student, ready=True)
                result.accounts.append(account)
        except MigtutorError as exc:
            raise CreateFailed(exc.message, result) from None
        if failures:
            reasons = "; ".join(f"{n}: {_reason(e)}" for n, e in failures.items())
            raise CreateFailed(
                f"{len(failures)} student(s) could not be set up at {target.label} and were "
                f"removed again: {reasons}. Run `class create` again to retry them.",
                result,
            )
    return result


def _create_student(server: Server, prefix: str, student: str, member: Member | None) -> Account:
    """The role (or a new password for a half-made one) and the database, or neither."""
    name = database_name(prefix, student)
    account = Account(student, name)
    made_role = made_database = False
    try:
        if member is None:
            account.password = new_password()
            server.run(
                f"CREATE ROLE {server.q(name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                f"CONNECTION LIMIT {STUDENT_CONNECTION_LIMIT} PASSWORD :verifier",
                f"create the role {name}",
                verifier=scram_verifier(server.connection, account.password, name),
            )
            made_role = True
            server.record(prefix, student, ready=False)
            if not server.me.superuser:
                # CREATE DATABASE ... OWNER needs membership in the owner; CREATEROLE grants it.
                server.run(
                    f"GRANT {server.q(name)} TO {server.q(server.me.user)}",
                    f"make {server.me.user} a member of {name}",
                )
        elif not member.ready:
            account.status = "completed"
            account.password = new_password()
            server.run(
                f"ALTER ROLE {server.q(name)} PASSWORD :verifier",
                f"set the password of {name}",
                verifier=scram_verifier(server.connection, account.password, name),
            )
        else:
            account.status = "database re-created"
        if member is None or not member.has_database:
            _create_database(server, name)
            made_database = True
    except BaseException:
        _undo(server, account, role=made_role, database=made_database)
        raise
    if account.password:
        account.url = server.student_url(name, account.password)
    return account


def _undo(server: Server, account: Account, *, role: bool = True, database: bool = True) -> None:
    """Remove what was made for one student in this run (best effort: report the first error)."""
    if database and account.status != "exists":
        server.run(
            f"DROP DATABASE IF EXISTS {server.q(account.name)} WITH (FORCE)",
            f"remove the database {account.name} again",
        )
    if role and account.status == "created":
        server.run(
            f"DROP ROLE IF EXISTS {server.q(account.name)}", f"remove the role {account.name}"
        )


def _create_database(server: Server, name: str) -> None:
    """An empty database owned by the role `name`, closed to everyone else."""
    quoted = server.q(name)
    # template0: nothing anyone added to template1 comes along.
    server.run(f"CREATE DATABASE {quoted} OWNER {quoted} TEMPLATE template0", f"create {name}")
    server.run(f"REVOKE ALL ON DATABASE {quoted} FROM PUBLIC", f"restrict access to {name}")
    server.run(
        f"GRANT CONNECT, TEMPORARY ON DATABASE {quoted} TO {quoted}", f"grant {name} its database"
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
    """Add the accounts that got a password now to `path` (mode 0600), keeping what it holds."""
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
    missing: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "databases": self.databases,
            "missing": self.missing,
            "target": self.target.spec,
            "revision": self.target.revision,
            "seconds": round(self.seconds, 3),
        }


def list_class(
    database: DatabaseSettings, prefix: str, students: list[str] | None = None
) -> list[str]:
    """The class's students that have a database (all, or `students`), by database name."""
    prefix = check_prefix(prefix)
    with Server(database) as server:
        members = _chosen(server.members(prefix), prefix, students)
        return [m.name for m in members.values() if m.has_database]


def _chosen(
    members: dict[str, Member], prefix: str, students: list[str] | None
) -> dict[str, Member]:
    """The members named by `students` (all without it); a name not in the class is refused."""
    if not students:
        return members
    names = [check_name(student) for student in students]
    strangers = [name for name in names if name not in members]
    if strangers:
        raise MigtutorError(
            f"{', '.join(strangers)}: not students of the class {prefix!r}. Nothing was "
            "changed; `class status` lists the class."
        )
    return {name: members[name] for name in dict.fromkeys(names)}


def reset_class(
    database: DatabaseSettings,
    prefix: str,
    target: Target,
    *,
    seed: bool = False,
    all_objects: bool = False,
    students: list[str] | None = None,
    on_done: OnDone = None,
) -> ClassReset:
    """Put the student databases of the class (all, or `students`) at `target`, as their owners.

    Without `all_objects` the course's objects go (as in `reset`); with it every table, view,
    sequence and type of the public schema. Other schemas and migtutor_progress stay.
    """
    prefix = check_prefix(prefix)
    started = time.perf_counter()
    with Server(database) as server:
        server.require(create_roles=True)
        members = server.members(prefix)
        if not members:
            raise MigtutorError(
                f"There is no class {prefix!r} on this server. Create it with "
                "`migtutor class create ROSTER`."
            )
        members = _chosen(members, prefix, students)
        names = [m.name for m in members.values() if enterable(m)]
        missing = [m.student for m in members.values() if not m.has_database]
        if names:
            server.disconnect(names)
            failed = _rebuild_all(server, names, target, seed, all_objects, on_done)
        else:
            failed = {}
    if failed:
        reasons = "; ".join(f"{name}: {_reason(exc)}" for name, exc in failed.items())
        raise MigtutorError(
            f"{len(names) - len(failed)} of {len(names)} databases were reset; "
            f"{len(failed)} failed and are as they were (their transactions rolled back): "
            f"{reasons}."
        )
    return ClassReset(names, target, time.perf_counter() - started, missing)


def enterable(member: Member) -> bool:
    # Only a database its own student owns is entered: a helper is made a member of the owner.
    return member.database_owner == member.name


# -- drop ------------------------------------------------------------------------------------------


@dataclass
class ClassDropped:
    dropped: list[str]
    strangers: list[str]  # roster names that are no students of this class: left alone


def drop_class(
    database: DatabaseSettings, students: list[str], prefix: str, on_done: OnDone = None
) -> ClassDropped:
    """Drop the database and role of each roster student recorded in the class."""
    prefix = check_prefix(prefix)
    with Server(database) as server:
        members = server.members(prefix)
        result = ClassDropped([], [])
        for student in students:
            member = members.get(student)
            if member is None:
                result.strangers.append(database_name(prefix, student))
                continue
            server.run(
                f"DROP DATABASE IF EXISTS {server.q(member.name)} WITH (FORCE)",
                f"drop the database {member.name}",
            )
            server.run(f"DROP ROLE IF EXISTS {server.q(member.name)}", f"drop role {member.name}")
            result.dropped.append(member.name)
            if on_done is not None:
                on_done(member.name, None)
    return result
