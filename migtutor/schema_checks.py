"""A step's schema expectations, checked against a `migtutor.schema.Schema` snapshot.

- `schema_problems(check, schema, where, postgres)`: every unmet `tables`, `absent_tables`,
  `columns`, `absent_columns`, `primary_key`, `unique`, `foreign_keys` and `rows` expectation,
  in words (`rows` needs a snapshot taken with row counts).
- `describe_changes(before, after)` and `same_schema(a, b)`: what a revision changed, as the
  roundtrip check sees it (`schema.diff(..., strict=False)`), in words: tables, columns (their
  type family and nullability), primary keys, unique sets and foreign keys; constraint names,
  exact types and defaults aside.

Alembic's own `alembic_version` table is not part of the learner's schema here. A unique index
on columns counts as a unique constraint; one on an expression does not.
"""

from __future__ import annotations

from typing import Any

from migtutor.lessons import parse_foreign_key
from migtutor.schema import VERSION_TABLE, Column, ForeignKey, Schema, Table, diff


def schema_problems(
    check: dict[str, Any], schema: Schema, where: str, postgres: bool = True
) -> list[str]:
    """Unmet table / column / key expectations in words; `where` starts each sentence."""
    tables = _tables(schema)
    problems: list[str] = []
    for table in check.get("tables", []):
        if table not in tables:
            problems.append(f"{where}, there is no table {table}.")
    for table in check.get("absent_tables", []):
        if table in tables:
            problems.append(f"{where}, the table {table} exists, but it should not at this step.")
    for item in check.get("columns", []):
        spec = {"name": item} if isinstance(item, str) else item
        table, column = spec["name"].split(".")
        if table not in tables:
            if table not in check.get("tables", []):
                problems.append(f"{where}, there is no table {table}.")
            continue
        info = tables[table].column(column)
        if info is None:
            problems.append(f"{where}, table {table} has no column {column}.")
            continue
        problems += _column_problems(spec, info, where, postgres)
    for name in check.get("absent_columns", []):
        table, column = name.split(".")
        if table in tables and tables[table].column(column) is not None:
            problems.append(
                f"{where}, table {table} still has the column {column}; it should be gone."
            )
    for table, columns in check.get("primary_key", {}).items():
        if table in tables and sorted(tables[table].primary_key) != sorted(columns):
            actual = ", ".join(tables[table].primary_key) or "none"
            problems.append(
                f"{where}, the primary key of {table} should be ({', '.join(columns)}), "
                f"but it is ({actual})."
            )
    for table, columns in check.get("unique", {}).items():
        if table in tables and tuple(sorted(columns)) not in {
            tuple(sorted(u)) for u in _uniques(tables[table])
        }:
            problems.append(
                f"{where}, nothing makes ({', '.join(columns)}) unique in {table}: add "
                f'sa.UniqueConstraint("{columns[0]}") (or unique=True on the column).'
            )
    for item in check.get("foreign_keys", []):
        table, column, ref_table, ref_column, on_delete = parse_foreign_key(item)
        if table not in tables:
            continue
        matches = [
            fk
            for fk in tables[table].foreign_keys
            if fk.columns == (column,)
            and fk.referred_table == ref_table
            and fk.referred_columns == (ref_column,)
        ]
        arrow = f"{table}.{column} -> {ref_table}.{ref_column}"
        if not matches:
            problems.append(f"{where}, there is no foreign key {arrow}.")
        elif on_delete and not any(_on_delete(fk) == on_delete.upper() for fk in matches):
            actual = _on_delete(matches[0]) or "none (NO ACTION)"
            problems.append(
                f'{where}, the foreign key {arrow} should have ondelete="{on_delete.upper()}", '
                f"but its ON DELETE is {actual}."
            )
    for table, least in check.get("rows", {}).items():
        count = tables[table].row_count if table in tables else None
        if count is not None and count < least:
            problems.append(
                f"{where}, table {table} holds {count} row{'s' if count != 1 else ''}; this step "
                f"needs at least {least}, so that what the revision does to existing rows shows."
            )
    return problems


def _column_problems(spec: dict[str, Any], info: Column, where: str, postgres: bool) -> list[str]:
    name = spec["name"]
    problems = []
    family = spec.get("type")
    if family and info.family != family:
        problems.append(
            f"{where}, column {name} should be of type {family}, but it is {info.generic_type}."
        )
    if "nullable" in spec and info.nullable != spec["nullable"]:
        if spec["nullable"]:
            problems.append(f"{where}, column {name} is NOT NULL, but it should allow NULL.")
        else:
            problems.append(
                f"{where}, column {name} allows NULL; it should be NOT NULL (nullable=False)."
            )
    if postgres and spec.get("timezone") is not None and info.timezone != spec["timezone"]:
        wanted = "WITH" if spec["timezone"] else "WITHOUT"
        problems.append(
            f"{where}, column {name} should be a TIMESTAMP {wanted} TIME ZONE "
            f"(sa.TIMESTAMP(timezone={spec['timezone']})), but it is {info.generic_type}."
        )
    quoted = (info.default or "").strip()
    if not postgres and info.family == "boolean" and quoted[:1] in ("'", '"') and quoted[1:-1]:
        problems.append(
            f"{where}, column {name} has the server default {quoted}, a text: SQLite stores those "
            "characters in every row, and `WHERE " + name.split(".")[1] + "` finds none of them "
            "(text counts as 0). Use server_default=sa.true() (or sa.false()), written 1 or 0 for "
            "SQLite and true or false for PostgreSQL."
        )
    wanted_default = spec.get("default")
    if wanted_default is not None:
        actual = (info.default or "").lower()
        if wanted_default == "now":
            ok = "now()" in actual or "current_timestamp" in actual
            shown = "now()"
        else:
            ok = wanted_default.lower() in actual
            shown = wanted_default
        if not ok:
            problems.append(
                f"{where}, column {name} should have the server default {shown}, but it has "
                f"{info.default or 'none'}."
            )
        elif wanted_default == "now" and not postgres and "now()" in actual:
            problems.append(
                f"{where}, column {name} has the server default now(), which SQLite does not "
                "know: inserting a row would fail with 'unknown function: now()'. "
                'sa.text("now()") is PostgreSQL-only; use server_default=sa.func.now(), which '
                "becomes now() on PostgreSQL and CURRENT_TIMESTAMP on SQLite."
            )
    return problems


def describe_changes(before: Schema, after: Schema) -> list[str]:
    """What changed between two snapshots, in words (tables, columns, keys)."""
    worded: dict[tuple[Any, ...], str] = {}
    for change in diff(before, after, strict=False):
        table, name = change.table, change.name
        if change.kind == "table":
            done = "was created" if change.action == "add" else "was dropped"
            worded[(int(change.action != "add"), table)] = f"table {table} {done}"
        elif change.kind == "column":
            order = ("add", "remove", "modify").index(change.action)
            done = ("was added", "was dropped", "was altered")[order]
            worded[(2, table, order, name)] = f"column {table}.{name} {done}"
        elif change.kind == "foreign_key":
            fk = _foreign_key(before if change.action == "remove" else after, change)
            done = "was added" if change.action == "add" else "was dropped"
            arrow = f"{table}.{', '.join(fk.columns)} -> {fk.referred_table}"
            worded[(2, table, 3 + int(change.action != "add"), arrow)] = (
                f"foreign key {arrow} {done}"
            )
        elif change.kind == "primary_key":
            worded[(2, table, 5)] = f"the primary key of {table} changed"
        elif change.kind == "unique":
            worded[(2, table, 6)] = f"the unique constraints of {table} changed"
    return [worded[key] for key in sorted(worded)]


def _foreign_key(schema: Schema, change: Any) -> ForeignKey:
    """The foreign key a change names, found by what it describes."""
    return next(
        fk for fk in schema.tables[change.table].foreign_keys if fk.describe() == change.detail
    )


def same_schema(a: Schema, b: Schema) -> bool:
    """Whether two snapshots are the same as far as `describe_changes` can tell."""
    return not diff(a, b, strict=False)


def _tables(schema: Schema) -> dict[str, Table]:
    """The learner's tables: Alembic's version table aside."""
    return {name: table for name, table in schema.tables.items() if name != VERSION_TABLE}


def _uniques(table: Table) -> tuple[tuple[str, ...], ...]:
    """Column sets made unique by a constraint or by a unique index on plain columns."""
    sets = {unique.columns for unique in table.unique}
    sets |= {ix.columns for ix in table.indexes if ix.unique and not ix.expression}
    return tuple(sorted(sets))


def _on_delete(fk: ForeignKey) -> str:
    return (fk.ondelete or "").upper()
