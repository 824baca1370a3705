"""The live schema as plain data, and the differences between two snapshots.

Public API (SQLAlchemy is imported inside the functions, never at import time):

- ``snapshot(connection, *, row_counts=True) -> Schema``: every table of the database (the
  default schema on PostgreSQL) with its columns (type, nullability, server default, primary
  key), primary key, unique constraints, foreign keys (with ``ON DELETE``), indexes and, unless
  ``row_counts=False``, its number of rows. The connection is left as it was found: a
  transaction this function starts is rolled back; one already open is left open.
  On PostgreSQL it also reads the views, the sequences no column owns (a `SERIAL`'s or an
  identity's own sequence belongs to its table) and the other schemas with what they hold;
  ``schema=NAME`` reads that schema instead of the default one (and no other schemas).
  Tables whose names start with ``migtutor_`` are migtutor's own records (lesson progress,
  applied revisions): never part of a snapshot.
- ``diff(before, after) -> list[Change]``: tables and columns added or removed, columns whose
  type, nullability or default changed, constraints and indexes added or dropped; views,
  sequences and other schemas added, removed or (a view's definition) changed.
- Lesson checks also read ``Column.family`` (integer, string, timestamp, boolean, numeric,
  date, or the type's own name), ``Column.generic_type`` (the type as SQLAlchemy prints it
  without a dialect), ``Column.timezone`` and ``Index.expression`` (an indexed expression, not
  only columns); these are left out of ``to_json()`` and of comparisons.
- ``count_rows(connection, table)``: the rows of a table; ``count_values(connection, table,
  columns)``: its rows and the non-null values of each of `columns`, in one query.
- ``Schema.to_json()`` / ``Change.to_json()``: JSON-ready dictionaries.

Constraints are compared by what they do (columns, referred table, ON DELETE), not by name:
SQLite's batch mode rebuilds tables, and an unnamed constraint has no stable name to compare.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

VERSION_TABLE = "alembic_version"
OWN_PREFIX = "migtutor_"  # migtutor's own tables: in no snapshot, hidden from autogenerate
_CHECK_FIELDS = {"family", "generic_type", "timezone", "expression"}  # not in to_json()


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    default: str | None = None
    primary_key: bool = False
    family: str = field(default="", compare=False)
    generic_type: str = field(default="", compare=False)
    timezone: bool | None = field(default=None, compare=False)

    def describe(self) -> str:
        """'VARCHAR NOT NULL DEFAULT now()'."""
        text = self.type + ("" if self.nullable else " NOT NULL")
        return text + (f" DEFAULT {self.default}" if self.default is not None else "")


@dataclass(frozen=True)
class UniqueConstraint:
    name: str | None
    columns: tuple[str, ...]

    def describe(self) -> str:
        return f"UNIQUE ({', '.join(self.columns)})"


@dataclass(frozen=True)
class ForeignKey:
    name: str | None
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    ondelete: str | None = None

    def describe(self) -> str:
        text = (
            f"({', '.join(self.columns)}) -> "
            f"{self.referred_table}({', '.join(self.referred_columns)})"
        )
        return text + (f" ON DELETE {self.ondelete}" if self.ondelete else "")


@dataclass(frozen=True)
class Index:
    name: str | None
    columns: tuple[str, ...]
    unique: bool = False
    expression: bool = field(default=False, compare=False)

    def describe(self) -> str:
        return f"{'UNIQUE ' if self.unique else ''}INDEX ({', '.join(self.columns)})"


@dataclass
class Table:
    name: str
    columns: list[Column]
    primary_key: tuple[str, ...] = ()
    primary_key_name: str | None = None
    unique: list[UniqueConstraint] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    row_count: int | None = None

    def column(self, name: str) -> Column | None:
        return next((column for column in self.columns if column.name == name), None)

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


@dataclass
class Schema:
    dialect: str
    tables: dict[str, Table] = field(default_factory=dict)
    views: dict[str, str] = field(default_factory=dict)  # name -> definition
    sequences: list[str] = field(default_factory=list)  # owned by no column
    schemas: dict[str, list[str]] = field(default_factory=dict)  # other schema -> its relations

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)

    @property
    def table_names(self) -> list[str]:
        return sorted(self.tables)

    def to_json(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "tables": [_public(asdict(self.tables[name])) for name in self.table_names],
            "views": sorted(self.views),
            "sequences": self.sequences,
            "schemas": self.schemas,
        }


def _public(table: dict[str, Any]) -> dict[str, Any]:
    """A table as JSON: the fields only lesson checks read are left out."""
    for part in ("columns", "indexes"):
        table[part] = [
            {key: value for key, value in item.items() if key not in _CHECK_FIELDS}
            for item in table[part]
        ]
    return table


@dataclass(frozen=True)
class Change:
    """One difference: `action` is add, remove or modify; `kind` what changed."""

    action: str  # "add" | "remove" | "modify"
    # "table" | "column" | "primary_key" | "unique" | "foreign_key" | "index" | "view" |
    # "sequence" | "schema" (for the last three, `table` holds the object's name)
    kind: str
    table: str
    name: str | None = None
    detail: str = ""

    @property
    def subject(self) -> str:
        if self.kind in ("table", "view", "sequence", "schema"):
            return f"{self.kind} {self.table}"
        if self.kind == "column":
            return f"column {self.table}.{self.name}"
        label = self.kind.replace("_", " ")
        return f"{label} {self.name} on {self.table}" if self.name else f"{label} on {self.table}"

    def __str__(self) -> str:
        sign = {"add": "+", "remove": "-", "modify": "~"}[self.action]
        return f"{sign} {self.subject}" + (f": {self.detail}" if self.detail else "")

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"text": str(self)}


# -- reading -------------------------------------------------------------------------------------


def _quote(connection: Any, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def count_rows(connection: Any, table: str) -> int:
    """The number of rows in `table`."""
    from sqlalchemy import text

    return int(
        connection.execute(text(f"SELECT count(*) FROM {_quote(connection, table)}")).scalar()
    )


def count_values(connection: Any, table: str, columns: list[str]) -> tuple[int, dict[str, int]]:
    """The rows of `table` and the non-null values of each of its `columns`, in one scan."""
    from sqlalchemy import text

    counts = ", ".join(["count(*)", *(f"count({_quote(connection, c)})" for c in columns)])
    row = connection.execute(text(f"SELECT {counts} FROM {_quote(connection, table)}")).one()
    values = zip(columns, row[1:], strict=True)
    return int(row[0]), {column: int(value) for column, value in values}


def _type_name(column_type: Any, dialect: Any) -> str:
    try:
        return str(column_type.compile(dialect=dialect))
    except Exception:  # a type the dialect cannot render: its class name is still useful
        return type(column_type).__name__.upper()


def _generic_name(column_type: Any) -> str:
    try:
        return str(column_type)
    except Exception:  # as _type_name: the class name is still useful
        return type(column_type).__name__.upper()


def _type_family(column_type: Any, generic_name: str) -> str:
    import sqlalchemy as sa

    for family, kinds in (
        ("boolean", (sa.Boolean,)),
        ("integer", (sa.Integer,)),
        ("numeric", (sa.Numeric, sa.Float)),
        ("timestamp", (sa.DateTime,)),
        ("date", (sa.Date,)),
        ("string", (sa.String,)),
    ):
        if isinstance(column_type, kinds):
            return family
    return generic_name.lower()


def _column(col: dict[str, Any], dialect: Any, pk_columns: tuple[str, ...]) -> Column:
    generic = _generic_name(col["type"])
    return Column(
        name=col["name"],
        type=_type_name(col["type"], dialect),
        nullable=bool(col.get("nullable", True)),
        default=None if col.get("default") is None else str(col["default"]),
        primary_key=col["name"] in pk_columns,
        family=_type_family(col["type"], generic),
        generic_type=generic,
        timezone=getattr(col["type"], "timezone", None),
    )


def snapshot(connection: Any, *, row_counts: bool = True, schema: str | None = None) -> Schema:
    """Read every table of the connected database (or of `schema`) into plain data."""
    from sqlalchemy import inspect

    was_in_transaction = connection.in_transaction()
    try:
        result = _read(connection, inspect(connection), row_counts, schema)
        _read_views(connection, inspect(connection), result, schema)
        if connection.dialect.name == "postgresql":
            _read_postgres_objects(connection, result, schema)
        return result
    finally:
        if not was_in_transaction and connection.in_transaction():
            connection.rollback()


def _read(connection: Any, inspector: Any, row_counts: bool, within: str | None) -> Schema:
    dialect = connection.dialect
    schema = Schema(dialect=dialect.name)
    names = [
        name
        for name in inspector.get_table_names(schema=within)
        if not name.startswith(("sqlite_", "_alembic_tmp_", OWN_PREFIX))
    ]
    if not names:
        return schema
    key = {name: (within, name) for name in names}
    columns = inspector.get_multi_columns(schema=within, filter_names=names)
    pks = inspector.get_multi_pk_constraint(schema=within, filter_names=names)
    uniques = inspector.get_multi_unique_constraints(schema=within, filter_names=names)
    fks = inspector.get_multi_foreign_keys(schema=within, filter_names=names)
    indexes = inspector.get_multi_indexes(schema=within, filter_names=names)
    for name in sorted(names):
        pk = pks.get(key[name]) or {}
        pk_columns = tuple(pk.get("constrained_columns") or ())
        unique = [
            UniqueConstraint(item.get("name"), tuple(item["column_names"]))
            for item in uniques.get(key[name], [])
        ]
        unique_sets = {u.columns for u in unique}
        table = Table(
            name=name,
            columns=[_column(col, dialect, pk_columns) for col in columns.get(key[name], [])],
            primary_key=pk_columns,
            primary_key_name=pk.get("name"),
            unique=sorted(unique, key=lambda u: u.columns),
            foreign_keys=sorted(
                (
                    ForeignKey(
                        name=fk.get("name"),
                        columns=tuple(fk["constrained_columns"]),
                        referred_table=fk["referred_table"],
                        referred_columns=tuple(fk["referred_columns"]),
                        ondelete=((fk.get("options") or {}).get("ondelete") or None),
                    )
                    for fk in fks.get(key[name], [])
                ),
                key=lambda fk: fk.columns,
            ),
            indexes=sorted(
                (
                    Index(
                        ix.get("name"),
                        tuple(c for c in ix["column_names"] if c),
                        ix["unique"],
                        expression=None in ix["column_names"],
                    )
                    for ix in indexes.get(key[name], [])
                    if not ix.get("duplicates_constraint")
                    and tuple(ix["column_names"]) not in unique_sets
                ),
                key=lambda ix: ix.columns,
            ),
        )
        if row_counts:
            table.row_count = count_rows(connection, name)
        schema.tables[name] = table
    return schema


def _read_views(connection: Any, inspector: Any, result: Schema, within: str | None) -> None:
    for name in sorted(inspector.get_view_names(schema=within)):
        try:
            definition = inspector.get_view_definition(name, schema=within) or ""
        except Exception:  # a view the dialect cannot describe still counts as a view
            definition = ""
        result.views[name] = " ".join(str(definition).split())


# Sequences in the schema that no column owns (SERIAL and identity sequences belong to their
# table), and the relations of every schema a user made besides the default one.
_STRAY_SEQUENCES = """
SELECT c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND n.nspname = coalesce(:schema, pg_catalog.current_schema())
AND NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
    AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i'))
ORDER BY 1
"""
_OTHER_SCHEMAS = """
SELECT n.nspname, c.relname FROM pg_catalog.pg_namespace n
LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'v', 'm', 'S', 'p')
WHERE n.nspname <> pg_catalog.current_schema() AND n.nspname <> 'information_schema'
AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 1, 2
"""


def _read_postgres_objects(connection: Any, result: Schema, within: str | None) -> None:
    from sqlalchemy import text

    rows = connection.execute(text(_STRAY_SEQUENCES), {"schema": within})
    result.sequences = [row[0] for row in rows]
    if within is not None:
        return
    for namespace, relation in connection.execute(text(_OTHER_SCHEMAS)):
        held = result.schemas.setdefault(namespace, [])
        if relation is not None:
            held.append(relation)


# -- comparing -----------------------------------------------------------------------------------


def diff(before: Schema, after: Schema) -> list[Change]:
    """What changed from `before` to `after`: tables first, then their parts, in name order."""
    changes: list[Change] = []
    for name in sorted(set(before.tables) | set(after.tables)):
        old, new = before.tables.get(name), after.tables.get(name)
        if old is None and new is not None:
            columns = ", ".join(new.column_names)
            changes.append(Change("add", "table", name, detail=f"({columns})"))
        elif new is None and old is not None:
            columns = ", ".join(old.column_names)
            changes.append(Change("remove", "table", name, detail=f"({columns})"))
        elif old is not None and new is not None:
            changes.extend(_table_changes(old, new))
    changes.extend(_object_changes(before, after))
    return changes


def _object_changes(before: Schema, after: Schema) -> list[Change]:
    changes: list[Change] = []
    for name in sorted(set(before.views) | set(after.views)):
        old, new = before.views.get(name), after.views.get(name)
        if old is None:
            changes.append(Change("add", "view", name))
        elif new is None:
            changes.append(Change("remove", "view", name))
        elif old != new:
            changes.append(Change("modify", "view", name, detail="its definition changed"))
    for name in sorted(set(before.sequences) ^ set(after.sequences)):
        changes.append(Change("add" if name in after.sequences else "remove", "sequence", name))
    for name in sorted(set(before.schemas) | set(after.schemas)):
        old_held, new_held = before.schemas.get(name), after.schemas.get(name)
        if old_held is None or new_held is None:
            held = new_held if old_held is None else old_held
            action = "add" if old_held is None else "remove"
            changes.append(Change(action, "schema", name, detail=f"({', '.join(held or [])})"))
        elif old_held != new_held:
            detail = f"({', '.join(old_held)}) -> ({', '.join(new_held)})"
            changes.append(Change("modify", "schema", name, detail=detail))
    return changes


def _table_changes(old: Table, new: Table) -> list[Change]:
    changes: list[Change] = []
    name = old.name
    for column in new.columns:
        previous = old.column(column.name)
        if previous is None:
            changes.append(Change("add", "column", name, column.name, column.describe()))
        elif _column_signature(previous) != _column_signature(column):
            detail = f"{previous.describe()} -> {column.describe()}"
            changes.append(Change("modify", "column", name, column.name, detail))
    for column in old.columns:
        if new.column(column.name) is None:
            changes.append(Change("remove", "column", name, column.name, column.describe()))
    if old.primary_key != new.primary_key:
        if old.primary_key:
            changes.append(
                Change("remove", "primary_key", name, old.primary_key_name, _cols(old.primary_key))
            )
        if new.primary_key:
            changes.append(
                Change("add", "primary_key", name, new.primary_key_name, _cols(new.primary_key))
            )
    for kind, olds, news in (
        ("unique", old.unique, new.unique),
        ("foreign_key", old.foreign_keys, new.foreign_keys),
        ("index", old.indexes, new.indexes),
    ):
        old_keys = {_signature(item): item for item in olds}
        new_keys = {_signature(item): item for item in news}
        for signature, item in old_keys.items():
            if signature not in new_keys:
                changes.append(Change("remove", kind, name, item.name, item.describe()))
        for signature, item in new_keys.items():
            if signature not in old_keys:
                changes.append(Change("add", kind, name, item.name, item.describe()))
    return changes


def _cols(columns: tuple[str, ...]) -> str:
    return f"({', '.join(columns)})"


def _column_signature(column: Column) -> tuple[Any, ...]:
    return (column.type, column.nullable, column.default)


def _signature(item: Any) -> tuple[Any, ...]:
    if isinstance(item, ForeignKey):
        return (item.columns, item.referred_table, item.referred_columns, item.ondelete)
    if isinstance(item, Index):
        return (item.columns, item.unique)
    return (item.columns,)


def dropped(before: Schema, after: Schema) -> list[tuple[str, str | None]]:
    """(table, None) for every table removed, (table, column) for every column removed."""
    lost: list[tuple[str, str | None]] = []
    for change in diff(before, after):
        if change.action == "remove" and change.kind == "table":
            lost.append((change.table, None))
        elif change.action == "remove" and change.kind == "column":
            lost.append((change.table, change.name))
    return lost
