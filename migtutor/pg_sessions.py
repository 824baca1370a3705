"""Sessions on a PostgreSQL server that no database owner can hijack.

A class server is hostile ground. A student owns her database, so she can define functions and
operators in it (`public.current_schema()`, `public.=`) and settings every new session there
takes (`ALTER DATABASE ... SET search_path`, `role`, `default_transaction_read_only`). Whatever
she plants runs with the rights of the session that reaches it, and `SET ROLE` is no boundary:
code running in a superuser's session can `RESET ROLE`. Two rules keep an administrator's rights
out of her reach:

1. The administrator's session never enters a student's database. It stays in the database its
   URL names (which no ordinary role may own), pins its settings in the connection's startup
   packet (they outrank per-database and per-role settings) and touches only the catalogs.
2. Work inside a database runs in a session that never was a privileged one: a throwaway login
   role, a member of the database's owner and of nothing else, logs in with a one-time
   password, starts as the owner (`role` pinned at start-up) and is dropped afterwards. Whatever
   runs there has the owner's rights, which the owner has anyway. Where the server lets the
   helpers in without a password (`trust`), they get none: there a password would keep no one
   out, and each costs the server a SCRAM hash (about 3 ms; a third of reading a student).

This module prints nothing.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migtutor.errors import InterruptedWhileConnecting, MigtutorError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

# Settings a hostile database or role could otherwise choose for our sessions.
ADMIN_SETTINGS = {
    "search_path": "pg_catalog",
    "role": "none",
    "default_transaction_read_only": "off",
    "statement_timeout": "0",
    "idle_in_transaction_session_timeout": "0",
    "local_preload_libraries": "",
}
HELPER_COMMENT = "migtutor helper"
HELPER_PREFIX = "migtutor_op_"
# A helper left behind by a killed run can no longer log in with its password after this, and
# the next run drops it (one without a password, where the server asks for none, is dropped then).
HELPER_LIFETIME = "1 hour"


def startup_options(url: URL, settings: dict[str, str]) -> str:
    """libpq's `options`: the URL's own, then ours (the later `-c` wins)."""
    own = url.query.get("options") or ""
    if isinstance(own, tuple):
        own = " ".join(own)
    ours = " ".join(f"-c {name}={value}" for name, value in settings.items())
    return f"{own} {ours}".strip()


def pinned_engine(url: URL | str, settings: dict[str, str], **options) -> Engine:
    """An engine whose sessions start with `settings`, whatever the database or role says."""
    from sqlalchemy.engine import make_url

    from migtutor.database import create_engine

    parsed = make_url(url) if isinstance(url, str) else url
    connect_args = {"options": startup_options(parsed, settings)}
    return create_engine(
        parsed.render_as_string(hide_password=False), connect_args=connect_args, **options
    )


def admin_engine(url: URL | str) -> Engine:
    """The administrator's engine: autocommit, settings pinned, search_path only pg_catalog."""
    return pinned_engine(url, ADMIN_SETTINGS, isolation_level="AUTOCOMMIT")


def owner_settings(owner: str) -> dict[str, str]:
    return {**ADMIN_SETTINGS, "search_path": "public", "role": owner}


@dataclass
class Privileges:
    """What the connected role may do on the server."""

    user: str
    superuser: bool
    create_role: bool
    create_db: bool

    @property
    def privileged(self) -> bool:
        """Could code running in this session reach more than its own objects?"""
        return self.superuser or self.create_role


def privileges(connection: Connection) -> Privileges:
    import sqlalchemy as sa

    row = connection.execute(
        sa.text(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_catalog.pg_roles "
            "WHERE rolname OPERATOR(pg_catalog.=) session_user"
        )
    ).one()
    return Privileges(str(row[0]), bool(row[1]), bool(row[2]), bool(row[3]))


def database_owner(connection: Connection, database: str | None = None) -> tuple[str, bool]:
    """(owner, whether the owner is a superuser) of `database` (default: the current one)."""
    import sqlalchemy as sa

    condition = (
        "d.datname OPERATOR(pg_catalog.=) :name"
        if database
        else "d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()"
    )
    row = connection.execute(
        sa.text(
            "SELECT r.rolname, r.rolsuper FROM pg_catalog.pg_database d "
            "JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) d.datdba "
            f"WHERE {condition}"
        ),
        {"name": database} if database else {},
    ).one_or_none()
    if row is None:
        raise MigtutorError(f"There is no database {database!r} on this server.")
    return str(row[0]), bool(row[1])


def quote(connection: Connection, name: str) -> str:
    from migtutor.database import quote as quote_identifier

    return quote_identifier(connection, name)


@dataclass
class OwnerLogins:
    """Throwaway login roles, one per database, each a member of that database's owner only.

    Use as a context manager over the administrator's connection: `login(database, owner)`
    creates the role and returns an engine that logs in as it, starting as the owner; leaving
    the context drops every role it made (a role that cannot be dropped, because code in the
    owner's database made it own something, is locked instead: no login, no membership).
    """

    admin: Connection
    server: URL
    made: dict[str, str] = field(default_factory=dict)  # helper role -> owner
    left_behind: list[str] = field(default_factory=list)
    _password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    _verifier: str | None = None
    # Whether the helpers go without a password (None: not decided yet). Only where the
    # administrator's own login needed none is it tried, once, with the first helper's login;
    # a helper later refused for want of one is given one then.
    passwordless: bool | None = None
    _with_password: set[str] = field(default_factory=set)
    _deciding: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> OwnerLogins:
        self._drop_expired()
        self._scram()  # once, here: `prepare` may then run in several threads at once
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def prepare(
        self, pairs: list[tuple[str, str]], connection: Connection | None = None
    ) -> dict[str, str]:
        """Create a helper for each (database, owner) at once; returns database -> helper.

        `connection`: another administrator session to create them in (default: `admin`), so
        that several threads can each make some.
        """
        session = connection if connection is not None else self.admin
        helpers = {database: HELPER_PREFIX + secrets.token_hex(8) for database, _ in pairs}
        with self._deciding:
            if self.passwordless is None and pairs and self._admin_used_password():
                self.passwordless = False  # the server asks for passwords on this route
            if self.passwordless is None and pairs:
                first, rest = pairs[0], pairs[1:]
                self._create(session, [first], helpers, password=False)
                self.passwordless = self._logs_in(helpers[first[0]], first[0])
                if not self.passwordless:
                    self._give_password(session, helpers[first[0]])
                pairs = rest
        self._create(session, pairs, helpers, password=not self.passwordless)
        return helpers

    def _create(
        self,
        session: Connection,
        pairs: list[tuple[str, str]],
        helpers: dict[str, str],
        password: bool,
    ) -> None:
        import sqlalchemy as sa

        if not pairs:
            return
        expiry = self._expiry(session)
        statements = []
        for database, owner in pairs:
            helper = quote(self.admin, helpers[database])
            secret = f"PASSWORD '{self._scram()}' " if password else ""
            statements.append(
                f"CREATE ROLE {helper} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT "
                f"CONNECTION LIMIT 3 {secret}VALID UNTIL '{expiry}' "
                f"IN ROLE {quote(self.admin, owner)}"
            )
            statements.append(f"COMMENT ON ROLE {helper} IS '{HELPER_COMMENT}'")
        try:
            # One round trip, one implicit transaction: all the helpers exist, or none.
            session.exec_driver_sql(";\n".join(statements))
        except sa.exc.DBAPIError as exc:
            raise MigtutorError(
                "The server refused to create the helper roles that work inside the students' "
                f"databases as their owners: {server_message(exc)}. The administrator needs "
                "CREATEROLE (or to be a superuser)."
            ) from None
        for database, owner in pairs:
            self.made[helpers[database]] = owner
            if password:
                self._with_password.add(helpers[database])

    def _admin_used_password(self) -> bool:
        try:
            return bool(self.admin.connection.dbapi_connection.info.used_password)
        except AttributeError:  # a driver that cannot tell: assume the server asks for one
            return True

    def _logs_in(self, helper: str, database: str) -> bool:
        try:
            self._connect(helper, database).close()
        except self.admin.dialect.loaded_dbapi.Error:
            return False
        except InterruptedWhileConnecting:
            raise KeyboardInterrupt from None  # the command's own Ctrl-C handling says where
        return True

    def _give_password(self, session: Connection, helper: str) -> None:
        session.exec_driver_sql(
            f"ALTER ROLE {quote(self.admin, helper)} PASSWORD '{self._scram()}'"
        )
        self._with_password.add(helper)

    def _refused(self, helper: str, exc: BaseException) -> bool:
        """True if `helper` was refused for want of a password and now has one to try again
        with (given in a session of its own: any thread may ask)."""
        if helper in self._with_password or not _password_refused(exc):
            return False
        try:
            with self.admin.engine.connect() as session:
                self._give_password(session, helper)
        except Exception:
            return False
        return True

    def engine(self, helper: str, database: str, **options) -> Engine:
        """An engine logging in as `helper` to `database`, starting as the helper's owner."""
        url = self.server.set(username=helper, password=self._password, database=database)
        return pinned_engine(url, owner_settings(self.made[helper]), **options)

    def shared_engine(self, pick: Callable[[], tuple[str, str]]) -> Engine:
        """One engine for many helpers: each new connection logs in as `pick()`'s (helper,
        database), settings pinned as in `engine`. Sharing it shares SQLAlchemy's compiled
        statements, which otherwise every per-database engine compiles again.
        """
        from sqlalchemy import event

        helper, database = pick()
        engine = self.engine(helper, database)

        @event.listens_for(engine, "do_connect")
        def _login(dialect: Any, record: object, cargs: list, params: dict) -> Any:
            helper, database = pick()
            params.update(
                user=helper,
                password=self._password,
                dbname=database,
                options=startup_options(self.server, owner_settings(self.made[helper])),
            )
            params.pop("database", None)
            try:
                return dialect.connect(*cargs, **params)
            except dialect.loaded_dbapi.Error as exc:
                if not self._refused(helper, exc):
                    raise
            return None  # SQLAlchemy logs in again, now with the password

        return engine

    def connect(self, helper: str, database: str, settings: dict[str, str] | None = None) -> Any:
        """A plain driver connection (autocommit) logging in as `helper` to `database`,
        starting as the helper's owner with its settings pinned as in `engine`, plus
        `settings`: for a few statements without an engine's per-connection round trips."""
        try:
            return self._connect(helper, database, settings)
        except self.admin.dialect.loaded_dbapi.Error as exc:
            if not self._refused(helper, exc):
                raise
        return self._connect(helper, database, settings)

    def _connect(self, helper: str, database: str, settings: dict[str, str] | None = None) -> Any:
        url = self.server.set(username=helper, password=self._password, database=database)
        dialect = self.admin.dialect
        cargs, params = dialect.create_connect_args(url)
        pinned = {**owner_settings(self.made[helper]), **(settings or {})}
        params["options"] = startup_options(self.server, pinned)
        connection = dialect.loaded_dbapi.connect(*cargs, **params)
        connection.autocommit = True
        return connection

    @contextmanager
    def login(self, database: str, owner: str, **options) -> Iterator[Engine]:
        helper = self.prepare([(database, owner)])[database]
        engine = self.engine(helper, database, **options)
        try:
            yield engine
        finally:
            engine.dispose()

    def close(self) -> None:
        self.drop(list(self.made))

    def drop(self, helpers: list[str]) -> None:
        """Drop these helpers now: all in one statement, else each on its own, locking any
        that cannot go (code in the owner's database made it own something)."""
        import sqlalchemy as sa

        helpers = [helper for helper in helpers if helper in self.made]
        if not helpers:
            return
        names = ", ".join(quote(self.admin, helper) for helper in helpers)
        try:
            self.admin.execute(sa.text(f"DROP ROLE IF EXISTS {names}"))
            for helper in helpers:
                del self.made[helper]
            return
        except sa.exc.DBAPIError:
            pass
        for helper in helpers:
            owner = self.made.pop(helper)
            try:
                self.admin.execute(sa.text(f"DROP ROLE IF EXISTS {quote(self.admin, helper)}"))
            except sa.exc.DBAPIError:
                self.left_behind.append(helper)
                self._lock(helper, owner)

    def _lock(self, helper: str, owner: str) -> None:
        import sqlalchemy as sa

        quoted = quote(self.admin, helper)
        for statement in (
            f"ALTER ROLE {quoted} NOLOGIN PASSWORD NULL",
            f"REVOKE {quote(self.admin, owner)} FROM {quoted}",
        ):
            try:
                self.admin.execute(sa.text(statement))
            except sa.exc.DBAPIError:
                pass

    def _drop_expired(self) -> None:
        """Drop helpers a killed run left behind (they expired long ago)."""
        import sqlalchemy as sa

        rows = self.admin.execute(
            sa.text(
                "SELECT r.rolname FROM pg_catalog.pg_roles r "
                "JOIN pg_catalog.pg_shdescription d ON d.objoid OPERATOR(pg_catalog.=) r.oid "
                "WHERE d.description OPERATOR(pg_catalog.=) :comment "
                "AND r.rolvaliduntil OPERATOR(pg_catalog.<) pg_catalog.now()"
            ),
            {"comment": HELPER_COMMENT},
        ).scalars()
        for name in rows:
            try:
                self.admin.execute(sa.text(f"DROP ROLE IF EXISTS {quote(self.admin, name)}"))
            except sa.exc.DBAPIError:
                pass

    def _scram(self) -> str:
        # One password serves every helper of this run (SCRAM verifiers name no role).
        if self._verifier is None:
            self._verifier = scram_verifier(self.admin, self._password, "")
        return self._verifier

    def _expiry(self, session: Connection) -> str:
        import sqlalchemy as sa

        return str(
            session.execute(
                sa.text(f"SELECT pg_catalog.now() + interval '{HELPER_LIFETIME}'")
            ).scalar_one()
        )


def scram_verifier(connection: Connection, password: str, role: str) -> str:
    """PostgreSQL's SCRAM-SHA-256 verifier of `password`, computed by libpq: the clear password
    reaches no statement, server log or error."""
    from psycopg2.extensions import encrypt_password

    return encrypt_password(password, role, connection.connection.dbapi_connection, "scram-sha-256")


def _password_refused(exc: BaseException) -> bool:
    """The server refused a login for its password (SQLSTATE 28P01, where the driver says)."""
    code = getattr(exc, "pgcode", None)
    return code == "28P01" or (code is None and "password" in str(exc).lower())


def server_message(exc: BaseException) -> str:
    """The first line of what the server (or driver) said, else the error's type."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
