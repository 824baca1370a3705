"""The learner's lesson progress, copied into their database for the instructor to read.

`progress.json` stays the learner's own record; `lesson check` and `lesson goto` also write
one row into the table `migtutor_progress` of the learner's database: the lesson and step they
are on, the last step checked, its verdict and when (UTC, ISO 8601). `class status` reads it.
Tables named `migtutor_*` are migtutor's: schema snapshots skip them and the workspace's
env.py keeps autogenerate away from them (`include_name`).

Writing is best effort: a database that is not there yet (a SQLite file not created) or not
reachable is left alone, and the command goes on; the reason is returned for a quiet note.

This module prints nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from migtutor.settings import DatabaseSettings

PROGRESS_TABLE = "migtutor_progress"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} ("
    "id INTEGER PRIMARY KEY, lesson INTEGER NOT NULL, step INTEGER NOT NULL, "
    "checked_lesson INTEGER, checked_step INTEGER, verdict VARCHAR(10), "
    "checked_at VARCHAR(40), updated_at VARCHAR(40) NOT NULL)"
)
_COLUMNS = (
    "lesson",
    "step",
    "checked_lesson",
    "checked_step",
    "verdict",
    "checked_at",
    "updated_at",
)


@dataclass
class ProgressRow:
    """Where the learner is (`step` 1-based) and their last check (`verdict`: passed|failed)."""

    lesson: int
    step: int
    checked_lesson: int | None = None
    checked_step: int | None = None
    verdict: str | None = None
    checked_at: str | None = None
    updated_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _COLUMNS}

    @property
    def last_check(self) -> str:
        """'2.1 passed 2026-11-25 16:45' or '' when nothing was checked yet."""
        if self.verdict is None:
            return ""
        when = (self.checked_at or "")[:16].replace("T", " ")
        return f"{self.checked_lesson}.{self.checked_step} {self.verdict} {when}".strip()


# The recorded row, for a reader that cannot go through `read_row` (class status reads it in
# the same statement as the schema): its columns in order, and the query.
COLUMNS = _COLUMNS
SELECT_ROW = f"SELECT {', '.join(_COLUMNS)} FROM {PROGRESS_TABLE} WHERE id = 1"
_WHOLE_NUMBERS = ("lesson", "step", "checked_lesson", "checked_step")


def from_values(values: list[Any] | tuple[Any, ...]) -> ProgressRow | None:
    """The row from its values in COLUMNS order (as read, or as text), or None when they are
    not what migtutor writes (a table of that name made by someone else)."""
    if len(values) != len(_COLUMNS):
        return None
    fields = dict(zip(_COLUMNS, values, strict=True))
    try:
        for name in _WHOLE_NUMBERS:
            if fields[name] is not None:
                fields[name] = int(fields[name])
    except (TypeError, ValueError):
        return None
    if fields["lesson"] is None or fields["step"] is None:
        return None
    for name in ("verdict", "checked_at", "updated_at"):
        if fields[name] is not None:
            fields[name] = str(fields[name])
    fields["updated_at"] = fields["updated_at"] or ""
    return ProgressRow(**fields)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_row(connection: Connection) -> ProgressRow | None:
    """The recorded progress, or None when the database holds none (or an unreadable one)."""
    import sqlalchemy as sa

    if not sa.inspect(connection).has_table(PROGRESS_TABLE):
        return None
    nested = connection.begin_nested() if connection.in_transaction() else None
    try:
        row = connection.execute(
            sa.text(f"SELECT {', '.join(_COLUMNS)} FROM {PROGRESS_TABLE} WHERE id = 1")
        ).first()
    except sa.exc.DBAPIError:  # a table of that name made by someone else
        if nested is not None:
            nested.rollback()
        return None
    if nested is not None:
        nested.commit()
    if row is None:
        return None
    try:
        return ProgressRow(**{name: value for name, value in zip(_COLUMNS, row, strict=True)})
    except TypeError:
        return None


def record(
    database: DatabaseSettings,
    lesson: int,
    step: int,
    *,
    checked: tuple[int, int, bool] | None = None,
) -> str | None:
    """Write where the learner is (and, with `checked`, the step checked and whether it passed).

    Returns None when written, else why not (the command goes on either way).
    """
    import sqlalchemy as sa

    from migtutor.database import create_engine

    if database.is_sqlite and not _sqlite_file_exists(database.url):
        return "the database does not exist yet"
    try:
        engine = create_engine(database.url)
    except Exception as exc:  # a URL the driver refuses: the command itself reports it
        return str(exc)
    try:
        with engine.connect() as connection, connection.begin():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
                # A copy for the instructor, rewritten by every check: its commit need not
                # wait for the disk (progress.json is the learner's own record).
                connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            connection.exec_driver_sql(_CREATE)
            row = read_row(connection) or ProgressRow(lesson, step)
            row.lesson, row.step, row.updated_at = lesson, step, now()
            if checked is not None:
                row.checked_lesson, row.checked_step = checked[0], checked[1]
                row.verdict = "passed" if checked[2] else "failed"
                row.checked_at = row.updated_at
            connection.execute(sa.text(f"DELETE FROM {PROGRESS_TABLE}"))
            connection.execute(
                sa.text(
                    f"INSERT INTO {PROGRESS_TABLE} (id, {', '.join(_COLUMNS)}) "
                    f"VALUES (1, {', '.join(':' + name for name in _COLUMNS)})"
                ),
                row.to_json(),
            )
    except sa.exc.SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        return str(orig or exc).strip().splitlines()[0]
    finally:
        engine.dispose()
    return None


def _sqlite_file_exists(url: str) -> bool:
    from sqlalchemy.engine import make_url

    path = make_url(url).database
    return bool(path) and path != ":memory:" and Path(path).is_file()
