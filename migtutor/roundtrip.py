"""Trying a learner's revision on a scratch database: up, down and up again.

- `roundtrip(migrator, rev, drops_nothing=False) -> (problems, schema)`: reads the revision file
  first (`static_checks`), then runs it up, down and up on a throwaway database, comparing
  snapshots (`migtutor.schema.snapshot`) before and after each step; returns the problems and
  the schema with the revision applied (None when it could not be applied).
  When the learner's database holds rows, the scratch copy gets the course's sample rows (those
  that fit its tables) before the revision runs, so a change that cannot cope with existing
  rows (a NOT NULL column without a default) fails here rather than on the learner's data.
- `scratch_database(url)`: a temporary empty SQLite file beside the learner's, or on
  PostgreSQL a temporary schema inside the learner's own database (reached through a URL whose
  `search_path` is that schema), removed afterwards. The learner's tables are never touched,
  and no privilege beyond owning one's database is needed: a class student has exactly that.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from migtutor.errors import MigtutorError
from migtutor.failure_advice import advice
from migtutor.schema import Schema, snapshot
from migtutor.schema_checks import describe_changes, same_schema
from migtutor.static_checks import revision_label, static_problems

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from migtutor.migrate import Migrator, Revision


def roundtrip(
    migrator: Migrator, rev: Revision, drops_nothing: bool = False
) -> tuple[list[str], Schema | None]:
    """Run `rev` up, down and up again on a scratch database; return problems and its schema."""
    from migtutor.migrate import Migrator
    from migtutor.settings import DatabaseSettings

    problems = static_problems(rev)
    if problems:
        return problems, None
    label = revision_label(rev)
    parent = rev.down_revisions[0] if len(rev.down_revisions) == 1 else None
    base_target = parent or "base"
    with_rows = _holds_rows(migrator.connection)
    seeded: dict[str, int] = {}
    with scratch_database(migrator.database.url) as url:
        scratch = Migrator(
            migrator.workspace,
            DatabaseSettings(url, "scratch"),
            migrator.ini,
            throwaway=True,
        )
        with scratch:

            def run(verb: str, target: str, what: str) -> Schema | None:
                try:
                    getattr(scratch, verb)(target)
                except Exception as exc:  # the learner's code may raise anything
                    cause = _cause(exc)
                    text = f"{what} failed on a scratch copy: {cause}"
                    if seeded:
                        rows = ", ".join(f"{n} in {table}" for table, n in seeded.items())
                        text += (
                            f" The scratch copy holds sample rows ({rows}) because your "
                            "database holds rows: the same upgrade would fail on your data. "
                            + advice(cause, Path(rev.path).name)
                        )
                    problems.append(text)
                    return None
                schema = snapshot(scratch.connection, row_counts=False)
                scratch.connection.rollback()
                return schema

            before: Schema | None = Schema(dialect="")  # nothing applied yet
            if parent is not None:
                before = run("upgrade", parent, "Upgrading to the revision before yours")
            if before is None:
                return problems, None
            if with_rows:
                seeded = _seed(scratch.connection)
            after = run("upgrade", rev.revision, f"upgrade() of revision {label}")
            if after is None:
                return problems, None
            changes = describe_changes(before, after)
            if not changes:
                problems.append(
                    f"upgrade() of revision {label} runs but changes no table, column or key."
                )
            drops = [c for c in changes if c.endswith("was dropped")]
            if drops_nothing and drops:
                problems.append(
                    f"upgrade() of revision {label} drops what it should keep: "
                    f"{'; '.join(drops)}. Autogenerate proposes drop_table when the models it "
                    "compares with do not include those tables: check that migrations/env.py "
                    "imports Base from app.models and sets target_metadata = Base.metadata."
                )
            down = run("downgrade", base_target, f"downgrade() of revision {label}")
            if down is None:
                return problems, after
            if not same_schema(before, down):
                left = [_left_over(c) for c in describe_changes(before, down)]
                problems.append(
                    f"downgrade() of revision {label} does not undo upgrade(): after upgrade() "
                    "then downgrade(), the schema is not what it was before: "
                    f"{'; '.join(left or ['it differs'])}."
                )
            again = run("upgrade", rev.revision, f"Upgrading {label} again after the downgrade")
            if again is not None and not same_schema(after, again):
                problems.append(
                    f"Upgrading {label} again after its downgrade gives a different schema: "
                    f"{'; '.join(describe_changes(after, again))}."
                )
    return problems, after


def _left_over(change: str) -> str:
    """A change from before the upgrade to after the downgrade, said as what is left."""
    for done, left in (
        (" was created", " is there, though it was not before"),
        (" was added", " is there, though it was not before"),
        (" was dropped", " is missing, though it was there before"),
        (" was altered", " is not as it was before"),
    ):
        if change.endswith(done):
            return change.removesuffix(done) + left
    return change


def _holds_rows(connection: Connection) -> bool:
    """Whether any of the learner's own tables (not Alembic's or migtutor's) has a row."""
    from sqlalchemy import inspect, select, table

    try:
        names = [
            name
            for name in inspect(connection).get_table_names()
            if name != "alembic_version" and not name.startswith("migtutor_")
        ]
        return any(
            connection.execute(select(1).select_from(table(name)).limit(1)).first() is not None
            for name in names
        )
    finally:
        connection.rollback()


def _seed(connection: Connection) -> dict[str, int]:
    """The course's sample rows that fit the scratch copy's tables ({} when they do not fit)."""
    from migtutor.reset import seed_data

    try:
        counts = seed_data(connection)
        connection.commit()
    except Exception:  # the learner's tables may not take the course's rows: try without
        connection.rollback()
        return {}
    return {table: n for table, n in counts.items() if n}


def _cause(exc: BaseException) -> str:
    """The first line of the error the learner's code raised (not our wrapper's)."""
    root: BaseException = exc
    while root.__cause__ is not None:
        root = root.__cause__
    text = str(getattr(root, "orig", None) or root).strip()
    first = text.splitlines()[0] if text else type(root).__name__
    if isinstance(root, AttributeError | NameError | KeyError | TypeError):
        first = f"{type(root).__name__}: {first}"
    return first.rstrip(".") + "."


SCRATCH_PREFIX = "migtutor_scratch_"
# The scratch copy is thrown away: its commits need not wait for the disk (a crash loses at
# most that throwaway work). Any user may set this for their own session.
_NO_WAIT_FOR_DISK = "SET synchronous_commit = off"


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A throwaway empty place beside the learner's database; the URL that reaches it."""
    if url.startswith("sqlite"):
        directory = tempfile.mkdtemp(prefix="migtutor-scratch-")
        try:
            yield f"sqlite:///{Path(directory) / 'scratch.db'}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    if not url.startswith("postgresql"):
        raise MigtutorError(
            "The roundtrip check runs on SQLite and PostgreSQL only; this database is neither."
        )
    with scratch_schema(url) as schema_url:
        yield schema_url


@contextlib.contextmanager
def scratch_schema(url: str) -> Iterator[str]:
    """A temporary schema in the learner's PostgreSQL database, and a URL whose sessions use it.

    The session that creates the schema holds an advisory lock named after it until the schema
    is dropped, so a run killed before its clean-up leaves a schema the next run recognises as
    abandoned (its lock is free) and drops.
    """
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from migtutor.database import create_engine
    from migtutor.pg_sessions import startup_options

    name = f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        keeper = engine.connect()  # an unreachable server is reported as such by the CLI
    except Exception:
        engine.dispose()
        raise
    try:
        keeper.execute(text(_NO_WAIT_FOR_DISK))
        _drop_abandoned(keeper)
        keeper.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": name})
        try:
            keeper.execute(text(f'CREATE SCHEMA "{name}"'))
        except Exception as exc:
            raise MigtutorError(
                "The roundtrip check tries your revision in a temporary schema of your "
                f"database, but creating one failed: {_cause(exc)} Your user needs the CREATE "
                "privilege on its database (GRANT CREATE ON DATABASE name TO user), which the "
                "database's owner has."
            ) from None
        parsed = make_url(url)
        options = startup_options(parsed, {"search_path": name, "synchronous_commit": "off"})
        yield parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)
    finally:
        try:
            with contextlib.suppress(Exception):
                keeper.close()
            with engine.connect() as cleaner:
                cleaner.execute(text(_NO_WAIT_FOR_DISK))
                cleaner.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        finally:
            engine.dispose()


def _drop_abandoned(connection: Connection) -> None:
    """Drop scratch schemas whose run is gone (nobody holds their advisory lock)."""
    from sqlalchemy import text

    names = connection.execute(
        text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :prefix)"),
        {"prefix": SCRATCH_PREFIX},
    ).scalars()
    for name in list(names):
        free = connection.execute(
            text("SELECT pg_try_advisory_lock(hashtext(:name))"), {"name": name}
        ).scalar()
        if free:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            connection.execute(text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": name})
