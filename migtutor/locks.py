"""Waiting for locks that other sessions hold: say who holds them, and stop after a bounded wait.

A migration or reset can wait for a lock another session holds: on PostgreSQL, DDL needs an
ACCESS EXCLUSIVE lock, which waits for every open transaction that has read the table (a `psql`
left in `BEGIN`, the learner's app); on SQLite only one connection writes at a time. Waiting
silently looks like a hang, so:

- ``lock_timeout() -> float``: MIGTUTOR_LOCK_TIMEOUT seconds (default 60), the bound of every
  wait. `database.create_engine` gives it to the server (PostgreSQL `lock_timeout`) and to
  SQLite (its busy timeout), so every connection waits at most that long for one lock.
- ``watch(connection, on_wait, advice, write=True)``: a context manager around work that may
  wait. On PostgreSQL a thread looks, from a second connection opened only when the work lasts
  more than FIRST_LOOK seconds, at `pg_blocking_pids()` of the connection's backend; after about
  NOTE_AFTER seconds of waiting it calls `on_wait(LockWait)`, which names the sessions holding
  the lock (pid, user, application, since when, what they run). When the server's lock_timeout
  ends the statement, the error becomes a `LockTimeout` naming them. On SQLite (with `write`)
  every transaction takes the write lock at once (`BEGIN IMMEDIATE`); taking it and committing
  are retried in short steps, so the wait can be reported and interrupted with Ctrl-C.
- ``LockTimeout``: a MigtutorError saying what waited for whom, and what to do.
- ``end_other_sessions(connection) -> list[Blocker]``: end the current user's other sessions on
  the connection's database (`reset --disconnect`); never the current one.

This module prints nothing: the command line renders `LockWait.note()`. SQLAlchemy is only used
through the connection objects it is given.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from migtutor.errors import MigtutorError

DEFAULT_LOCK_TIMEOUT = 60.0
NOTE_AFTER = 2.0  # seconds of waiting before saying who holds the lock
# Seconds of work before the watching thread opens its connection and first looks: a whole
# `upgrade head` of the course takes about half a second, and must not pay for a second login.
FIRST_LOOK = 1.5
WATCH_KEY = "migtutor.lock_watch"  # in connection.info: the watch the engine's events consult
POSTGRES_ADVICE = (
    "That session must end its transaction (COMMIT or ROLLBACK in it, or close it); "
    "`SELECT pg_terminate_backend(PID)` ends it from another session."
)
SQLITE_ADVICE = (
    "End the other program's transaction (COMMIT or ROLLBACK in a sqlite3 shell) or close it "
    "(a database browser, your app)."
)


def lock_timeout() -> float:
    value = os.environ.get("MIGTUTOR_LOCK_TIMEOUT", "")
    try:
        seconds = float(value) if value else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses nan
        raise MigtutorError(
            f"MIGTUTOR_LOCK_TIMEOUT must be a number of seconds, not {value!r}."
        ) from None
    return seconds


@dataclass(frozen=True)
class Blocker:
    """A session holding a lock we wait for, from pg_stat_activity."""

    pid: int
    user: str | None
    application: str | None
    transaction_start: datetime.datetime | None
    session_start: datetime.datetime | None
    state: str | None
    query: str | None

    def describe(self) -> str:
        parts = [f"user {self.user}"] if self.user else []
        if self.application:
            parts.append(f"application {self.application}")
        if self.transaction_start is not None:
            parts.append(f"in a transaction since {_clock(self.transaction_start)}")
        elif self.session_start is not None:
            parts.append(f"connected since {_clock(self.session_start)}")
        if self.query:
            running = "running" if self.state == "active" else f"{self.state}, last statement"
            parts.append(f"{running}: {_short(self.query)}")
        elif self.state:
            parts.append(self.state)
        return f"pid {self.pid}" + (f" ({', '.join(parts)})" if parts else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "user": self.user,
            "application": self.application,
            "transaction_start": _iso(self.transaction_start),
            "session_start": _iso(self.session_start),
            "state": self.state,
            "query": _short(self.query) if self.query else None,
        }


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _clock(moment: datetime.datetime) -> str:
    local = moment.astimezone() if moment.tzinfo else moment
    today = datetime.datetime.now(local.tzinfo).date()
    return local.strftime("%H:%M:%S" if local.date() == today else "%Y-%m-%d %H:%M:%S")


def _short(query: str, limit: int = 120) -> str:
    text = " ".join(query.split())
    text = re.sub(r"(?i)(password\s*)'(?:[^']|'')*'", r"\1'***'", text)  # ALTER ROLE ... PASSWORD
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class LockWait:
    """What a connection waits for and who holds it."""

    cause: str  # "a lock on table posts is held by pid 42 (user ada, ...)"
    timeout: float
    advice: str  # what to do
    blockers: tuple[Blocker, ...] = ()

    def note(self) -> str:
        return (
            f"{_capital(self.cause)}; waiting for it up to {self.timeout:g} s "
            f"(MIGTUTOR_LOCK_TIMEOUT). {self.advice} Ctrl-C stops without changing anything."
        )

    def error(self, outcome: str = "nothing was changed") -> str:
        return (
            f"{_capital(self.cause)}; migtutor waited {self.timeout:g} s for it and stopped: "
            f"{outcome}. {self.advice} Then run the command again "
            "(MIGTUTOR_LOCK_TIMEOUT=SECONDS waits longer)."
        )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


class LockTimeout(MigtutorError):
    """A lock was not granted within MIGTUTOR_LOCK_TIMEOUT seconds; `wait` says whose it is."""

    def __init__(self, wait: LockWait, outcome: str = "nothing was changed") -> None:
        super().__init__(wait.error(outcome))
        self.wait = wait


def unknown_wait(timeout: float, advice: str = POSTGRES_ADVICE) -> LockWait:
    return LockWait(
        "another session holds a lock this command needs (`SELECT pid, usename, "
        "application_name, state, query FROM pg_stat_activity WHERE datname = "
        "current_database()` lists the sessions)",
        timeout,
        advice,
    )


def sqlite_wait(timeout: float, committing: bool = False, advice: str = SQLITE_ADVICE) -> LockWait:
    if committing:  # in rollback-journal mode an open read transaction blocks a commit
        cause = (
            "another migtutor or program has this database open in a transaction, and SQLite "
            "cannot save changes while it reads"
        )
    else:
        cause = "another migtutor or program is writing to this database"
    return LockWait(cause, timeout, advice)


# -- watching ------------------------------------------------------------------------------------


class _Watch:
    """The state `watch()` shares with the engine's events through `connection.info`."""

    def __init__(
        self, on_wait: Callable[[LockWait], None] | None, advice: str, write: bool
    ) -> None:
        self.on_wait = on_wait
        self.advice = advice
        self.write = write
        self.timeout = lock_timeout()
        self.seen: LockWait | None = None  # the last wait observed (PostgreSQL)
        self.stop = threading.Event()

    def _report(self, wait: LockWait) -> None:
        if self.on_wait is not None:
            self.on_wait(wait)

    def sqlite_execute(self, dbapi_connection: Any, statement: str) -> None:
        """Run BEGIN IMMEDIATE or COMMIT, retrying while another connection holds the lock.

        Each try waits at most 0.1 s inside SQLite, where Ctrl-C cannot reach Python.
        """
        import sqlite3

        start = time.monotonic()
        noted = False
        full = dbapi_connection.execute("PRAGMA busy_timeout").fetchone()[0]
        dbapi_connection.execute("PRAGMA busy_timeout = 100")
        try:
            while True:
                try:
                    dbapi_connection.execute(statement)
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                waited = time.monotonic() - start
                wait = sqlite_wait(self.timeout, statement == "COMMIT", self.advice)
                if waited >= self.timeout:
                    if dbapi_connection.in_transaction:  # a COMMIT that cannot happen
                        dbapi_connection.execute("ROLLBACK")
                    raise LockTimeout(wait)
                if not noted and waited >= NOTE_AFTER:
                    noted = True
                    self._report(wait)
        finally:
            dbapi_connection.execute(f"PRAGMA busy_timeout = {int(full)}")


@contextlib.contextmanager
def watch(
    connection: Any,
    on_wait: Callable[[LockWait], None] | None = None,
    advice: str | None = None,
    write: bool = True,
) -> Iterator[None]:
    """Report waits for locks while the body runs, and explain a wait that timed out."""
    if WATCH_KEY in connection.info:  # already watched further up
        yield
        return
    postgres = connection.dialect.name == "postgresql"
    state = _Watch(on_wait, advice or (POSTGRES_ADVICE if postgres else SQLITE_ADVICE), write)
    observer = None
    if postgres:
        pid = connection.connection.driver_connection.info.backend_pid
        observer = threading.Thread(
            target=_observe, args=(connection.engine, pid, state), daemon=True
        )
        observer.start()
    connection.info[WATCH_KEY] = state
    try:
        yield
    finally:
        connection.info.pop(WATCH_KEY, None)
        if observer is not None:
            state.stop.set()
            observer.join()


@contextlib.contextmanager
def reading(connection: Any) -> Iterator[None]:
    """Transactions begun here only read: on SQLite they need not wait for the write lock
    (after a timeout or Ctrl-C, saying where the database is must not wait all over again)."""
    state = connection.info.get(WATCH_KEY)
    if state is None or not state.write:
        yield
        return
    state.write = False
    try:
        yield
    finally:
        state.write = True


def _observe(engine: Any, pid: int, state: _Watch) -> None:
    """Look at what `pid` waits for until `state.stop` is set; report waits over NOTE_AFTER."""
    stop = state.stop
    started = time.monotonic()
    # Most work ends before the first look: it never needs the second connection. (Within
    # half the lock timeout, so that a lock wait that times out can still name its holders.)
    if stop.wait(min(FIRST_LOOK, state.timeout / 2)):
        return
    blocked_since: float | None = None
    reported: frozenset[int] = frozenset()
    first = True
    try:
        with engine.connect() as connection:
            while not stop.is_set():
                wait = _blocked(connection, pid, state)
                now = time.monotonic()
                if wait is None:
                    blocked_since, reported = None, frozenset()
                else:
                    state.seen = wait
                    # Blocked at the first look: perhaps since the start, unseen until now.
                    blocked_since = blocked_since or (started if first else now)
                    pids = frozenset(b.pid for b in wait.blockers)
                    if pids != reported and now - blocked_since >= NOTE_AFTER:
                        reported = pids
                        state._report(wait)
                first = False
                stop.wait(0.25)
    except Exception:  # a courtesy only: the server's lock_timeout still bounds the wait
        return


_ACTIVITY = "pid, usename, application_name, xact_start, backend_start, state, query"


def _blocked(connection: Any, pid: int, state: _Watch) -> LockWait | None:
    from sqlalchemy import text

    rows = connection.execute(
        text(
            f"SELECT {_ACTIVITY} FROM pg_stat_activity "
            "WHERE pid = ANY(pg_blocking_pids(:pid)) ORDER BY pid"
        ),
        {"pid": pid},
    ).all()
    if not rows:
        connection.rollback()
        return None
    waited = connection.execute(
        text(
            "SELECT l.locktype, l.relation::regclass::text FROM pg_locks l "
            "WHERE l.pid = :pid AND NOT l.granted LIMIT 1"
        ),
        {"pid": pid},
    ).first()
    connection.rollback()
    if waited is None:
        what = "a lock"
    elif waited[1]:
        what = f"a lock on table {waited[1]}"
    elif waited[0] == "advisory":
        what = "migtutor's migration lock"
    else:
        what = f"a {waited[0]} lock"
    blockers = tuple(Blocker(*row) for row in rows)
    holders = " and ".join(blocker.describe() for blocker in blockers)
    return LockWait(f"{what} is held by {holders}", state.timeout, state.advice, blockers)


def timed_out(context: Any) -> LockTimeout | None:
    """For the engine's `handle_error` event: the server's lock_timeout, explained."""
    original = context.original_exception
    if getattr(original, "pgcode", None) != "55P03" or "lock timeout" not in str(original):
        return None
    connection = context.connection
    state = connection.info.get(WATCH_KEY) if connection is not None else None
    if state is not None and state.seen is not None:
        return LockTimeout(state.seen)
    return LockTimeout(unknown_wait(lock_timeout(), state.advice if state else POSTGRES_ADVICE))


def end_other_sessions(connection: Any) -> list[Blocker]:
    """End the current user's other sessions on this PostgreSQL database; [] on SQLite."""
    if connection.dialect.name != "postgresql":
        return []
    from sqlalchemy import text

    # pg_terminate_backend sits in the select list, so only the rows WHERE kept are ended.
    rows = connection.execute(
        text(
            f"SELECT {_ACTIVITY}, pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND usename = current_user "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend' ORDER BY pid"
        )
    ).all()
    connection.commit()
    return [Blocker(*row[:-1]) for row in rows if row[-1]]
