"""Engines: the one place a database connection is made.

Importing this module imports SQLAlchemy; only commands that need a database do.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import create_engine as _sa_create_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from migtutor import locks
from migtutor.errors import InterruptedWhileConnecting, MigtutorError


@contextlib.contextmanager
def connected(url: str, **options: Any) -> Iterator[Connection]:
    """One connection for one piece of work; its engine is disposed of afterwards."""
    engine = create_engine(url, **options)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def quote(connection: Connection, name: str) -> str:
    """An identifier for SQL text, always double-quoted by the dialect: the one quoter."""
    return connection.dialect.identifier_preparer.quote_identifier(name)


def create_engine(url: str, **options) -> Engine:
    """An engine for one command: no pool to linger, and real DDL transactions on SQLite.

    pysqlite normally commits before every DDL statement, so a migration that fails halfway
    would leave its first statements applied. Taking over BEGIN ourselves (the recipe in
    SQLAlchemy's SQLite dialect documentation) makes `CREATE`/`ALTER`/`DROP` transactional.

    Every wait for a lock is bounded by MIGTUTOR_LOCK_TIMEOUT (see `migtutor.locks`): it is
    SQLite's busy timeout and PostgreSQL's `lock_timeout`.
    """
    timeout = locks.lock_timeout()
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": timeout, **options.get("connect_args", {})}
    try:
        engine = _sa_create_engine(url, poolclass=NullPool, **options)
    except ValueError as exc:  # e.g. a port that is not a number
        raise MigtutorError(
            f"The database URL is not valid ({exc}). Expected a form like "
            "postgresql+psycopg2://USER:PASSWORD@HOST:5432/NAME or sqlite:///migtutor.db; "
            "check `migtutor config`."
        ) from None
    except ModuleNotFoundError as exc:
        if exc.name in {"psycopg", "psycopg2", "pymysql"}:
            raise  # errors.translate explains these
        raise MigtutorError(
            f"The database URL needs the driver module {exc.name!r}, which is not installed. "
            "migtutor works with SQLite (sqlite:///FILE) and PostgreSQL through psycopg2 "
            "(postgresql+psycopg2://USER:PASSWORD@HOST:5432/NAME)."
        ) from None
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None
            # Ctrl-C during a long SQL statement: see _sqlite_progress below.
            dbapi_connection.set_progress_handler(_sqlite_progress, 10_000)

        @event.listens_for(engine, "handle_error")
        def _sqlite_interrupted(context) -> BaseException | None:
            original = context.original_exception
            if type(original).__name__ != "OperationalError":
                return None
            if str(original) == "interrupted":
                return KeyboardInterrupt()
            if "database is locked" in str(original):  # the busy timeout ran out
                return locks.LockTimeout(locks.sqlite_wait(locks.lock_timeout()))
            return None

        @event.listens_for(engine, "begin")
        def _explicit_begin(connection) -> None:
            watch = connection.info.get(locks.WATCH_KEY)
            if watch is None or not watch.write:
                connection.exec_driver_sql("BEGIN")
            else:  # a writer: take SQLite's one write lock now, saying so if we must wait
                watch.sqlite_execute(connection.connection.driver_connection, "BEGIN IMMEDIATE")

        @event.listens_for(engine, "commit")
        def _commit(connection) -> None:
            # COMMIT waits while other connections read (rollback journal): retry it here,
            # saying so; the driver's own commit then finds nothing left to do.
            watch = connection.info.get(locks.WATCH_KEY)
            driver = connection.connection.driver_connection
            if watch is not None and watch.write and driver.in_transaction:
                watch.sqlite_execute(driver, "COMMIT")

    elif engine.dialect.driver == "psycopg2":
        _install_interruptible_wait()

        lock_ms = max(1, round(timeout * 1000))  # 0 would mean "wait forever"

        @event.listens_for(engine, "connect")
        def _session_settings(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"SET lock_timeout = {lock_ms}")
                dbapi_connection.commit()
                # If migtutor is killed (SIGKILL) during a long statement, the server would run
                # it to the end, holding its locks and migtutor's advisory lock, so the next
                # command would wait. PostgreSQL 14+ can check for a vanished client instead.
                cursor.execute("SET client_connection_check_interval = 1000")
                dbapi_connection.commit()
            except Exception:  # an older server: it has no such check
                dbapi_connection.rollback()
            finally:
                cursor.close()

        @event.listens_for(engine, "handle_error")
        def _cancelled(context) -> BaseException | None:
            # The statement Ctrl-C cancelled fails with QueryCanceled: make it the
            # KeyboardInterrupt it was, so no `except Exception` swallows it. One that waited
            # lock_timeout for a lock becomes a LockTimeout naming who holds it.
            return KeyboardInterrupt() if _take_interrupt() else locks.timed_out(context)

    return engine


def _sqlite_progress() -> int:
    """Called by SQLite every 10,000 steps of a statement, so Ctrl-C can stop a long one.

    While sqlite3 runs a statement Python cannot raise KeyboardInterrupt; calling this lets it.
    sqlite3 answers an exception from the handler by aborting the statement with
    "interrupted" (dropping the exception), which `handle_error` turns back into
    KeyboardInterrupt; the transaction then rolls back.
    """
    return 0


# -- Ctrl-C on PostgreSQL ------------------------------------------------------------------------
#
# In its default (blocking) mode psycopg2 waits for the server inside libpq, where Python cannot
# run its SIGINT handler: Ctrl-C during a long statement (`pg_sleep`, a big UPDATE, a lock wait)
# would only be noticed once the statement had finished. With a wait callback psycopg2 waits in
# Python's select() instead, where KeyboardInterrupt arrives at once; we then ask the server to
# cancel the statement, wait for it to stop, and raise KeyboardInterrupt from the failed statement
# (see `handle_error` above) on a connection that can still roll the transaction back.

_state = threading.local()  # per thread: class commands run statements in worker threads


def _take_interrupt() -> bool:
    """True once after Ctrl-C cancelled a running PostgreSQL statement."""
    interrupted = getattr(_state, "interrupted", False)
    _state.interrupted = False
    return interrupted


def _install_interruptible_wait() -> None:
    import psycopg2.extensions

    if psycopg2.extensions.get_wait_callback() is None:
        psycopg2.extensions.set_wait_callback(_wait_interruptibly)


def _connect_deadline(conn: Any) -> float | None:
    """libpq ignores connect_timeout when psycopg2 connects asynchronously: enforce it here."""
    match = re.search(r"(?:^|\s)connect_timeout=(\d+)", conn.dsn or "")
    if not match or int(match[1]) <= 0:
        return None
    return time.monotonic() + max(int(match[1]), 2)  # libpq reads 1 as 2 seconds


def _wait_interruptibly(conn: Any) -> None:
    """psycopg2 wait callback: wait in select(); on Ctrl-C cancel the running statement."""
    from select import select

    from psycopg2.extensions import (
        POLL_OK,
        POLL_READ,
        POLL_WRITE,
        STATUS_SETUP,
        TRANSACTION_STATUS_INERROR,
    )

    _state.interrupted = interrupted = False
    connecting = conn.status == STATUS_SETUP  # psycopg2 waits here for the connection too
    deadline = _connect_deadline(conn) if connecting else None
    while True:
        try:
            state = conn.poll()
            if state == POLL_OK:
                break
            timeout = None if deadline is None else max(deadline - time.monotonic(), 0)
            if state == POLL_READ:
                ready = select([conn.fileno()], [], [], timeout)[0]
            elif state == POLL_WRITE:
                ready = select([], [conn.fileno()], [], timeout)[1]
            else:
                raise conn.OperationalError(f"bad state from poll: {state}")
            if not ready and deadline is not None and time.monotonic() >= deadline:
                raise conn.OperationalError("timeout expired")
        except KeyboardInterrupt:
            if connecting:
                raise InterruptedWhileConnecting from None
            try:
                conn.cancel()  # the server stops the statement; poll() then reports the error
            except Exception:
                raise KeyboardInterrupt from None
            interrupted = True
    if interrupted:
        if conn.info.transaction_status == TRANSACTION_STATUS_INERROR:
            _state.interrupted = True  # cancelled: psycopg2 now raises QueryCanceled
            return
        # The statement finished before the cancel reached it. Raising here makes psycopg2
        # close the connection, and the server rolls the transaction back.
        raise KeyboardInterrupt
