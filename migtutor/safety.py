"""Safety before a migration: what data it would destroy, and a rehearsal to find out.

Public API (SQLAlchemy and Alembic are imported inside the functions):

- ``rehearse(migrator, verb, target, capture_sql=False) -> Rehearsal``: run `upgrade` or
  `downgrade` inside one transaction and roll it back. Both SQLite (through migtutor's engines)
  and PostgreSQL run DDL transactionally, so nothing is left behind. The rehearsal records the
  schema after every revision that succeeded and, on request, the SQL statements it sent.
- ``preview_loss(migrator, verb, target, current=None) -> list[Loss]``: the rows of every
  table and the non-null values of every column the move would drop. Nothing is rehearsed
  when no table holds a row: then no data can be at stake.
- ``Loss.text``: "posts.content: 12 non-null values will be lost".

URL masking lives in `migtutor.urls.mask_password`; the PostgreSQL advisory lock around a
migration in `Migrator.locked()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migtutor.migrate import Migrator
    from migtutor.schema import Schema


@dataclass(frozen=True)
class Loss:
    table: str
    column: str | None
    count: int

    @property
    def text(self) -> str:
        if self.column is None:
            rows = f"{self.count} row" + ("" if self.count == 1 else "s")
            return f"{self.table}: {rows} will be lost (the table is dropped)"
        values = f"{self.count} non-null value" + ("" if self.count == 1 else "s")
        return f"{self.table}.{self.column}: {values} will be lost"

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "column": self.column, "count": self.count, "text": self.text}


@dataclass
class Rehearsal:
    before: Schema
    after: Schema  # the schema after the last revision that succeeded
    sql: list[str] = field(default_factory=list)
    error: str | None = None


def rehearse(migrator: Migrator, verb: str, target: str, capture_sql: bool = False) -> Rehearsal:
    """Run the move in a transaction that is rolled back; report what it did."""
    from alembic import command
    from sqlalchemy import event

    from migtutor.migrate import _first_line, _scripts_loading
    from migtutor.schema import snapshot

    connection = migrator.connection
    before = snapshot(connection)
    result = Rehearsal(before=before, after=before)

    def after_step(*, ctx: Any, **_: Any) -> None:
        result.after = snapshot(ctx.connection, row_counts=False)

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if head in ("SELECT", "PRAGMA", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            return
        text = statement.strip().rstrip(";") + ";"
        if parameters:
            text += f"  -- parameters: {parameters!r}"
        result.sql.append(text)

    config = migrator.config(on_version_apply=after_step)
    transaction = connection.begin()
    if capture_sql:
        event.listen(connection, "before_cursor_execute", capture)
    try:
        with _scripts_loading(migrator):
            getattr(command, verb)(config, target)
    except (Exception, SystemExit) as exc:  # the real run reports it; the rehearsal stops
        from migtutor.errors import MigtutorError

        if isinstance(exc, MigtutorError) or type(exc).__name__ == "CommandError":
            raise
        result.error = _first_line(exc)
    finally:
        if capture_sql:
            event.remove(connection, "before_cursor_execute", capture)
        transaction.rollback()
    return result


def preview_loss(
    migrator: Migrator, verb: str, target: str, current: Schema | None = None
) -> list[Loss]:
    """Data the move would destroy; [] when none (or when no table holds any row).

    `current` is the schema now, with row counts; it is read here when not given.
    """
    from migtutor.schema import VERSION_TABLE, count_values, dropped, snapshot

    connection = migrator.connection
    current = current or snapshot(connection)
    if not any(t.row_count for name, t in current.tables.items() if name != VERSION_TABLE):
        return []
    rehearsal = rehearse(migrator, verb, target)
    losses: list[Loss] = []
    for table, column in dropped(rehearsal.before, rehearsal.after):
        if table == VERSION_TABLE:
            continue
        if column is None:
            count = rehearsal.before.tables[table].row_count or 0
        else:
            count = count_values(connection, table, column)
        if count:
            losses.append(Loss(table, column, count))
    if connection.in_transaction():
        connection.rollback()
    return losses
