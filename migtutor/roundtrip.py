"""Trying a learner's revision on a scratch database: up, down and up again.

- `roundtrip(migrator, rev, drops_nothing=False) -> (problems, schema)`: reads the revision file
  first (`static_checks`), then runs it up, down and up on a throwaway database, comparing
  snapshots (`migtutor.schema.snapshot`) before and after each step; returns the problems and
  the schema with the revision applied (None when it could not be applied).
- `scratch_database(url)`: a temporary empty SQLite file or PostgreSQL database beside the
  learner's, removed afterwards. The learner's own database is never touched.
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
from migtutor.schema import Schema, snapshot
from migtutor.schema_checks import describe_changes, same_schema
from migtutor.static_checks import revision_label, static_problems

if TYPE_CHECKING:
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
    with scratch_database(migrator.database.url) as url:
        scratch = Migrator(migrator.workspace, DatabaseSettings(url, "scratch"), migrator.ini)
        with scratch:

            def run(verb: str, target: str, what: str) -> Schema | None:
                try:
                    getattr(scratch, verb)(target)
                except MigtutorError as exc:
                    problems.append(f"{what} failed on a scratch copy: {_cause(exc)}")
                    return None
                except Exception as exc:  # the learner's code may raise anything
                    problems.append(f"{what} failed on a scratch copy: {_cause(exc)}")
                    return None
                schema = snapshot(scratch.connection, row_counts=False)
                scratch.connection.rollback()
                return schema

            before: Schema | None = Schema(dialect="")  # nothing applied yet
            if parent is not None:
                before = run("upgrade", parent, "Upgrading to the revision before yours")
            if before is None:
                return problems, None
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
                left = describe_changes(before, down) or ["the schema differs"]
                problems.append(
                    f"downgrade() of revision {label} does not undo upgrade(): after it, "
                    f"{'; '.join(left)} (compared with before the upgrade)."
                )
            again = run("upgrade", rev.revision, f"Upgrading {label} again after the downgrade")
            if again is not None and not same_schema(after, again):
                problems.append(
                    f"Upgrading {label} again after its downgrade gives a different schema: "
                    f"{'; '.join(describe_changes(after, again))}."
                )
    return problems, after


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


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A throwaway empty database beside the learner's: a temp SQLite file or a temp PG database.

    The learner's own database is never touched; the scratch one is removed afterwards.
    """
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
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from migtutor.database import create_engine

    name = f"migtutor_scratch_{uuid.uuid4().hex[:12]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        connection = engine.connect()  # an unreachable server is reported as such by the CLI
    except Exception:
        engine.dispose()
        raise
    try:
        with connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        engine.dispose()
        raise MigtutorError(
            "The roundtrip check tries your revision on a temporary database, but creating one "
            f"on this server failed: {_cause(exc)} Give your user the CREATEDB privilege "
            "(ALTER USER name CREATEDB) and run `migtutor lesson check` again."
        ) from exc
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()
