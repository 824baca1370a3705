"""Safety before a migration: what data it would destroy, and a rehearsal to find out.

Public API (SQLAlchemy and Alembic are imported inside the functions):

- ``rehearse(migrator, verb, target, capture_sql=False) -> Rehearsal``: run `upgrade` or
  `downgrade` inside one transaction and roll it back. Both SQLite (through migtutor's engines)
  and PostgreSQL run DDL transactionally, so nothing is left behind. The rehearsal records the
  schema after every revision that succeeded and, on request, the SQL statements it sent.
- ``preview_loss(migrator, verb, target, current=None) -> list[Loss]``: the data the move
  would destroy, judged by what is lost, not how: for every table that holds rows, the row
  count and each column's non-null count before and after the rehearsed move (one query per
  table). Any decrease is a loss, whether a table or column is dropped, a table rebuilt under
  the same name, rows deleted or truncated, or values set to NULL. Nothing is rehearsed when
  no table holds a row: then no data can be at stake.
- ``Loss.text``: "t3: 3 rows will be lost", "posts.content: 12 non-null values will be lost".

URL masking lives in `migtutor.urls.mask_password`; the PostgreSQL advisory lock around a
migration in `Migrator.locked()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migtutor.migrate import Migrator
    from migtutor.schema import Schema

# table -> (rows, {column: non-null values})
Counts = dict[str, tuple[int, dict[str, int]]]


@dataclass(frozen=True)
class Loss:
    table: str
    column: str | None  # None: whole rows are lost
    count: int
    table_dropped: bool = False

    @property
    def text(self) -> str:
        if self.column is None:
            rows = f"{self.count} row" + ("" if self.count == 1 else "s")
            dropped = " (the table is dropped)" if self.table_dropped else ""
            return f"{self.table}: {rows} will be lost{dropped}"
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
    counts_before: Counts = field(default_factory=dict)
    counts_after: Counts = field(default_factory=dict)  # after the last revision that succeeded


def rehearse(
    migrator: Migrator,
    verb: str,
    target: str,
    capture_sql: bool = False,
    counted: dict[str, list[str]] | None = None,
) -> Rehearsal:
    """Run the move in a transaction that is rolled back; report what it did.

    `counted` (table -> columns): count their rows and non-null values before the move and
    after every revision (a failing revision leaves the ones before it applied).
    """
    from alembic import command
    from sqlalchemy import event

    from migtutor.alembic_shortcuts import sharing
    from migtutor.migrate import _first_line, _scripts_loading
    from migtutor.schema import snapshot

    connection = migrator.connection
    before = snapshot(connection)
    result = Rehearsal(before=before, after=before)

    def after_step(*, ctx: Any, **_: Any) -> None:
        result.after = snapshot(ctx.connection, row_counts=False)
        if counted:
            result.counts_after = _count(ctx.connection, counted, result.after)

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
    if counted:
        result.counts_before = result.counts_after = _count(connection, counted, before)
    if capture_sql:
        event.listen(connection, "before_cursor_execute", capture)
    try:
        # The Migrator's loaded revisions: redo may have put an applied downgrade() in one.
        with _scripts_loading(migrator), sharing(migrator.script):
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


def _count(connection: Any, counted: dict[str, list[str]], schema: Schema) -> Counts:
    """Rows and non-null values of the `counted` tables and columns that `schema` still has."""
    from migtutor.schema import count_values

    counts: Counts = {}
    for name, columns in counted.items():
        table = schema.tables.get(name)
        if table is not None:
            present = [column for column in columns if table.column(column) is not None]
            counts[name] = count_values(connection, name, present)
    return counts


def preview_loss(
    migrator: Migrator, verb: str, target: str, current: Schema | None = None
) -> list[Loss]:
    """Data the move would destroy; [] when none (or when no table holds any row).

    `current` is the schema now, with row counts; it is read here when not given.
    """
    from migtutor.schema import snapshot

    current = current or snapshot(migrator.connection)
    counted = current.holding_rows()  # an empty table has nothing to lose
    if not counted:
        return []
    rehearsal = rehearse(migrator, verb, target, counted=counted)
    losses: list[Loss] = []
    for table, (rows, values) in rehearsal.counts_before.items():
        if table not in rehearsal.after.tables:
            losses.append(Loss(table, None, rows, table_dropped=True))
            continue
        rows_after, values_after = rehearsal.counts_after[table]
        rows_lost = max(rows - rows_after, 0)
        if rows_lost:
            losses.append(Loss(table, None, rows_lost))
        for column, count in values.items():
            # Values in the rows lost are counted with the rows: report only those beyond.
            lost = count - values_after.get(column, 0) - rows_lost
            if lost > 0:
                losses.append(Loss(table, column, lost))
    return losses
