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
- ``diff(before, after, *, strict=True) -> list[Change]``: tables and columns added or removed,
  columns whose type, nullability or default changed, constraints and indexes added or
  dropped; views, sequences and other schemas added, removed or (a view's definition)
  changed. ``strict=False`` is the comparison of a revision's round trip (lesson checks): type
  families and nullability, keys and unique sets, constraint names aside; see `diff`.
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

import re
from dataclasses import asdict, dataclass, field, replace
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

    def holding_rows(self) -> dict[str, list[str]]:
        """The tables that hold rows (alembic_version aside), with their columns: the data a
        move could destroy. Read from a snapshot taken with row counts."""
        return {
            name: table.column_names
            for name, table in self.tables.items()
            if name != VERSION_TABLE and table.row_count
        }

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


def _printed(column_type: Any, dialect: Any | None) -> str:
    try:
        return str(column_type.compile(dialect=dialect) if dialect else column_type)
    except Exception:  # a type that cannot be rendered: its class name is still useful
        return type(column_type).__name__.upper()


def _column(
    name: str, column_type: Any, nullable: bool, default: Any, dialect: Any, pk: tuple[str, ...]
) -> Column:
    generic = _printed(column_type, None)
    return Column(
        name=name,
        type=_printed(column_type, dialect),
        nullable=nullable,
        default=None if default is None else str(default),
        primary_key=name in pk,
        family=_type_family(column_type, generic),
        generic_type=generic,
        timezone=getattr(column_type, "timezone", None),
    )


def snapshot(connection: Any, *, row_counts: bool = True, schema: str | None = None) -> Schema:
    """Read every table of the connected database (or of `schema`) into plain data.

    One catalog query (PostgreSQL) or one query over the table-valued pragmas (SQLite) reads
    the whole schema, however many tables it has; row counts take one more.
    """
    was_in_transaction = connection.in_transaction()
    try:
        if connection.dialect.name == "postgresql":
            result = _read_postgres(connection, schema)
        else:
            result = _read_sqlite(connection, schema)
        if row_counts and result.tables:
            _count_all(connection, result, schema)
        return result
    finally:
        if not was_in_transaction and connection.in_transaction():
            connection.rollback()


def _skipped(name: str) -> bool:
    return name.startswith(("sqlite_", "_alembic_tmp_", OWN_PREFIX))


def _count_all(connection: Any, result: Schema, within: str | None) -> None:
    """Every table's rows in one statement."""
    prefix = f"{_quote(connection, within)}." if within else ""
    names = result.table_names
    parts = [
        f"SELECT {i}, count(*) FROM {prefix}{_quote(connection, n)}" for i, n in enumerate(names)
    ]
    for index, count in connection.exec_driver_sql(" UNION ALL ".join(parts)):
        result.tables[names[index]].row_count = int(count)


def _sorted_table(table: Table) -> Table:
    """Constraints and indexes in the order every reader of a snapshot expects."""
    unique_sets = {u.columns for u in table.unique}
    table.unique.sort(key=lambda u: u.columns)
    table.foreign_keys.sort(key=lambda fk: fk.columns)
    table.indexes = sorted(
        (ix for ix in table.indexes if ix.expression or ix.columns not in unique_sets),
        key=lambda ix: ix.columns,
    )
    return table


# -- PostgreSQL: one statement over pg_catalog, answered as one JSON document --------------------

# Tables and views as SQLAlchemy's Inspector lists them: with no schema named, the relations
# visible on the search path (pg_catalog aside); temporary ones never.
_POSTGRES_SCHEMA = r"""
WITH rel AS (
    SELECT c.oid, c.relname, c.relkind FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v') AND c.relpersistence <> 't'
    AND CASE WHEN CAST(:schema AS text) IS NULL
        THEN pg_catalog.pg_table_is_visible(c.oid) AND n.nspname <> 'pg_catalog'
        ELSE n.nspname = CAST(:schema AS text) END
)
SELECT json_build_object(
'tables', (SELECT json_agg(json_build_array(r.relname, (
    SELECT json_agg(json_build_array(
        a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
        pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attnotnull, a.attgenerated <> '',
        (SELECT json_build_object(
            'kind', t.typtype, 'name', t.typname,
            'schema', CASE WHEN pg_catalog.pg_type_is_visible(t.oid) THEN NULL ELSE tn.nspname END,
            'labels', (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder)
                       FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid),
            'base', pg_catalog.format_type(t.typbasetype, t.typtypmod),
            'default', t.typdefault, 'not_null', t.typnotnull)
         FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
         WHERE t.oid = CASE WHEN at.typcategory = 'A' THEN at.typelem ELSE at.oid END
         AND t.typtype IN ('e', 'd')),
        CASE WHEN a.attcollation <> at.typcollation THEN (
            SELECT json_build_array(co.collname, CASE WHEN
                pg_catalog.pg_collation_is_visible(co.oid) THEN NULL ELSE cn.nspname END)
            FROM pg_catalog.pg_collation co
            JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
            WHERE co.oid = a.attcollation) END
    ) ORDER BY a.attnum)
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped), (
    SELECT json_agg(json_build_array(k.contype, k.conname, k.confdeltype, f.relname,
        ARRAY(SELECT ka.attname FROM unnest(k.conkey) WITH ORDINALITY AS x(num, pos)
              JOIN pg_catalog.pg_attribute ka ON ka.attrelid = k.conrelid AND ka.attnum = x.num
              ORDER BY x.pos),
        ARRAY(SELECT fa.attname FROM unnest(k.confkey) WITH ORDINALITY AS x(num, pos)
              JOIN pg_catalog.pg_attribute fa ON fa.attrelid = k.confrelid AND fa.attnum = x.num
              ORDER BY x.pos)
    ) ORDER BY k.conname)
    FROM pg_catalog.pg_constraint k LEFT JOIN pg_catalog.pg_class f ON f.oid = k.confrelid
    WHERE k.conrelid = r.oid AND k.contype IN ('p', 'u', 'f')), (
    SELECT json_agg(json_build_array(ic.relname, i.indisunique,
        ARRAY(SELECT ia.attname FROM unnest(i.indkey) WITH ORDINALITY AS x(num, pos)
              LEFT JOIN pg_catalog.pg_attribute ia
              ON ia.attrelid = i.indrelid AND ia.attnum = x.num AND x.num > 0
              WHERE x.pos <= i.indnkeyatts ORDER BY x.pos)
    ) ORDER BY ic.relname)
    FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
    WHERE i.indrelid = r.oid AND NOT i.indisprimary AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conrelid = i.indrelid
        AND k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x')))
) ORDER BY r.relname) FROM rel r WHERE r.relkind IN ('r', 'p')),
'views', (SELECT json_agg(json_build_array(r.relname, pg_catalog.pg_get_viewdef(r.oid))
    ORDER BY r.relname) FROM rel r WHERE r.relkind = 'v'),
-- Sequences in the schema that no column owns (SERIAL and identity sequences belong to their
-- table).
'sequences', (SELECT json_agg(c.relname ORDER BY c.relname) FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'S'
    AND n.nspname = coalesce(CAST(:schema AS text), pg_catalog.current_schema())
    AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend d
        WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
        AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
        AND d.deptype IN ('a', 'i'))),
-- Every schema a user made besides the default one, with its relations.
'schemas', (SELECT json_agg(json_build_array(n.nspname, (
    SELECT json_agg(c.relname ORDER BY c.relname) FROM pg_catalog.pg_class c
    WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'v', 'm', 'S', 'p'))) ORDER BY n.nspname)
    FROM pg_catalog.pg_namespace n
    WHERE CAST(:schema AS text) IS NULL AND n.nspname <> pg_catalog.current_schema()
    AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%')
)
"""
_ON_DELETE = {"r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


# The statement itself, for a caller that reads more in the same round trip (class status):
# bind `schema` (NULL: the search path) and give the document to `from_postgres_catalog`.
POSTGRES_CATALOG_QUERY = _POSTGRES_SCHEMA


def _read_postgres(connection: Any, within: str | None) -> Schema:
    from sqlalchemy import text

    found = connection.execute(text(_POSTGRES_SCHEMA), {"schema": within}).scalar_one()
    return from_postgres_catalog(found, connection.dialect, within)


def from_postgres_catalog(found: dict[str, Any], dialect: Any, within: str | None = None) -> Schema:
    """The schema described by the catalog query's JSON document (`POSTGRES_CATALOG_QUERY`)."""
    result = Schema(dialect=dialect.name)
    for name, columns, constraints, indexes in found["tables"] or []:
        if _skipped(name):
            continue
        table = Table(name=name, columns=[])
        for kind, cname, on_delete, referred, cols, referred_cols in constraints or []:
            if kind == "p":
                table.primary_key, table.primary_key_name = tuple(cols), cname
            elif kind == "u":
                table.unique.append(UniqueConstraint(cname, tuple(cols)))
            else:
                fk = ForeignKey(cname, tuple(cols), referred, tuple(referred_cols))
                table.foreign_keys.append(fk)
                if on_delete in _ON_DELETE:
                    table.foreign_keys[-1] = replace(fk, ondelete=_ON_DELETE[on_delete])
        for column in columns or []:
            table.columns.append(_postgres_column(column, dialect, table.primary_key, within))
        for iname, unique, cols in indexes or []:
            names = tuple(col for col in cols if col)
            table.indexes.append(Index(iname, names, unique, expression=len(names) < len(cols)))
        result.tables[name] = _sorted_table(table)
    for name, definition in found["views"] or []:
        result.views[name] = " ".join(str(definition or "").split())
    result.sequences = found["sequences"] or []
    for namespace, relations in found["schemas"] or []:
        result.schemas[namespace] = relations or []
    return result


def _postgres_column(
    row: list[Any], dialect: Any, pk: tuple[str, ...], within: str | None
) -> Column:
    from migtutor.sql_types import postgres_type

    name, format_type, default, not_null, generated, named, collation = row
    column_type = postgres_type(format_type, named, dialect)
    if collation is not None:
        column_type.collation = collation[0]
    nullable = not not_null
    if named is not None and named["kind"] == "d" and "[]" not in (format_type or ""):
        default = default or named.get("default")
        nullable = nullable and not named.get("not_null")
    if generated:
        default = None
    elif default is not None and within is not None:
        # As the Inspector: a sequence default read from a named schema names that schema.
        head, quote, rest = default.partition("nextval('")
        if quote and "." not in rest.partition("'")[0]:
            default = f'{head}{quote}"{within}".{rest}'
    return _column(name, column_type, nullable, default, dialect, pk)


# -- SQLite: one statement joining sqlite_master with the table-valued pragmas ------------------

_SQLITE_SCHEMA = """
SELECT 'c', m.name, c.cid, c.name, c.type, c."notnull", c.dflt_value, c.pk, c.hidden, NULL
FROM {master} m JOIN pragma_table_xinfo(m.name{schema}) c WHERE m.type = 'table'
UNION ALL
SELECT 'f', m.name, f.id, f.seq, f."table", f."from", f."to", f.on_delete, NULL, NULL
FROM {master} m JOIN pragma_foreign_key_list(m.name{schema}) f WHERE m.type = 'table'
UNION ALL
SELECT 'i', m.name, l.seq, l.name, l."unique", l.origin, i.seqno, i.name, i.cid, NULL
FROM {master} m JOIN pragma_index_list(m.name{schema}) l
JOIN pragma_index_info(l.name{schema}) i WHERE m.type = 'table'
UNION ALL
SELECT m.type, m.name, NULL, NULL, NULL, NULL, NULL, NULL, NULL, m.sql
FROM {master} m WHERE m.type IN ('table', 'view')
"""
_CONSTRAINT_NAME = r'CONSTRAINT\s+(?:"((?:[^"]|"")+)"|(\w+))\s+'
_NAMED_PRIMARY_KEY = re.compile(_CONSTRAINT_NAME + r"PRIMARY\s+KEY", re.I)
_NAMED_UNIQUE = re.compile(_CONSTRAINT_NAME + r"UNIQUE\s*\(([^)]*)\)", re.I)
_NAMED_FOREIGN_KEY = re.compile(
    _CONSTRAINT_NAME + r'FOREIGN\s+KEY\s*\(([^)]*)\)\s*REFERENCES\s+("(?:[^"]|"")+"|\w+)',
    re.I,
)


def _read_sqlite(connection: Any, within: str | None) -> Schema:
    dialect = connection.dialect
    master = f"{_quote(connection, within)}.sqlite_master" if within else "sqlite_master"
    schema_argument = f", {_literal(within)}" if within else ""
    statement = _SQLITE_SCHEMA.format(master=master, schema=schema_argument)
    columns: dict[str, list[tuple[Any, ...]]] = {}
    keys: dict[str, dict[int, list[tuple[Any, ...]]]] = {}
    indexes: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    sql: dict[str, str] = {}
    result = Schema(dialect=dialect.name)
    for kind, table, *row in connection.exec_driver_sql(statement):
        if kind == "c":
            columns.setdefault(table, []).append(tuple(row))
        elif kind == "f":
            keys.setdefault(table, {}).setdefault(row[0], []).append(tuple(row))
        elif kind == "i":
            indexes.setdefault(table, {}).setdefault(row[1], []).append(tuple(row))
        elif kind == "view":
            result.views[table] = " ".join(str(row[-1] or "").split())
        else:
            sql[table] = row[-1] or ""
    primary_keys = {}
    for name in sorted(sql):
        if name.startswith("sqlite_"):
            continue
        pk = sorted((r for r in columns.get(name, []) if r[5]), key=lambda r: r[5])
        primary_keys[name] = tuple(r[1] for r in pk)
    for name in sorted(primary_keys):
        if _skipped(name):
            continue
        table = Table(name=name, columns=[], primary_key=primary_keys[name])
        text = sql[name]
        if table.primary_key:
            found = _NAMED_PRIMARY_KEY.search(text)
            table.primary_key_name = _name_in(found) if found else None
        for _, cname, declared, not_null, default, _, hidden, _ in sorted(columns.get(name, [])):
            if hidden == 1:
                continue  # a virtual table's hidden column
            declared = str(declared or "").upper()
            if hidden:  # generated: "INTEGER GENERATED ALWAYS" is the declared type
                declared = re.sub("GENERATED|ALWAYS", "", declared).strip()
            column_type = _sqlite_column_type(declared, dialect)
            table.columns.append(
                _column(cname, column_type, not not_null, default, dialect, table.primary_key)
            )
        _sqlite_indexes(table, indexes.get(name, {}), text)
        _sqlite_foreign_keys(table, keys.get(name, {}), text, primary_keys)
        result.tables[name] = _sorted_table(table)
    result.views = dict(sorted(result.views.items()))
    return result


def _sqlite_column_type(declared: str, dialect: Any) -> Any:
    from migtutor.sql_types import sqlite_type

    return sqlite_type(declared, dialect)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _name_in(found: Any) -> str:
    quoted, plain = found.group(1), found.group(2)
    return quoted.replace('""', '"') if quoted is not None else plain


def _column_list(text: str) -> tuple[str, ...]:
    return tuple(
        part.strip().strip('"`[]').replace('""', '"') for part in text.split(",") if part.strip()
    )


def _sqlite_indexes(table: Table, found: dict[str, list[tuple[Any, ...]]], sql: str) -> None:
    """Indexes made with CREATE INDEX; the ones behind UNIQUE constraints as constraints."""
    names = {tuple(cols): _name_in(m) for m in _NAMED_UNIQUE.finditer(sql) for cols in
             [_column_list(m.group(3))]}  # fmt: skip
    for index_name in sorted(found):
        rows = sorted(found[index_name], key=lambda r: r[4])
        _, _, unique, origin, *_ = rows[0]
        columns = tuple(r[5] for r in rows)
        if origin == "u":
            table.unique.append(UniqueConstraint(names.get(columns), columns))
        elif origin == "c" and None not in columns:
            # SQLAlchemy's Inspector cannot read an index on an expression on SQLite: it leaves
            # it out, and so does the snapshot.
            table.indexes.append(Index(index_name, columns, bool(unique)))


def _sqlite_foreign_keys(
    table: Table,
    found: dict[int, list[tuple[Any, ...]]],
    sql: str,
    primary_keys: dict[str, tuple[str, ...]],
) -> None:
    named = {}
    for match in _NAMED_FOREIGN_KEY.finditer(sql):
        referred = match.group(4).strip('"').replace('""', '"')
        named[(_column_list(match.group(3)), referred)] = _name_in(match)
    for key in sorted(found):
        rows = sorted(found[key], key=lambda r: r[1])
        referred = rows[0][2]
        columns = tuple(r[3] for r in rows)
        referred_columns = tuple(r[4] for r in rows if r[4])
        if not referred_columns:  # REFERENCES t: the referred table's primary key
            referred_columns = primary_keys.get(referred, ())
        on_delete = rows[0][5]
        table.foreign_keys.append(
            ForeignKey(
                named.get((columns, referred)),
                columns,
                referred,
                referred_columns,
                None if on_delete in (None, "", "NO ACTION") else on_delete,
            )
        )


# -- comparing -----------------------------------------------------------------------------------


def diff(before: Schema, after: Schema, *, strict: bool = True) -> list[Change]:
    """What changed from `before` to `after`: tables first, then their parts, in name order.

    `strict=False` compares as a revision's round trip is judged: Alembic's version table,
    exact types, defaults, constraint names, plain indexes, views, sequences and other schemas
    aside; a column by its type family and nullability; a unique index on columns counts as a
    unique constraint.
    """
    changes: list[Change] = []
    for name in sorted(set(before.tables) | set(after.tables)):
        if not strict and name == VERSION_TABLE:
            continue
        old, new = before.tables.get(name), after.tables.get(name)
        if old is None and new is not None:
            columns = ", ".join(new.column_names)
            changes.append(Change("add", "table", name, detail=f"({columns})"))
        elif new is None and old is not None:
            columns = ", ".join(old.column_names)
            changes.append(Change("remove", "table", name, detail=f"({columns})"))
        elif old is not None and new is not None:
            changes.extend(_table_changes(old, new, strict))
    if strict:
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


def _table_changes(old: Table, new: Table, strict: bool = True) -> list[Change]:
    changes: list[Change] = []
    name = old.name
    column_signature = _column_signature if strict else _column_kind
    for column in new.columns:
        previous = old.column(column.name)
        if previous is None:
            changes.append(Change("add", "column", name, column.name, column.describe()))
        elif column_signature(previous) != column_signature(column):
            detail = f"{previous.describe()} -> {column.describe()}"
            changes.append(Change("modify", "column", name, column.name, detail))
    for column in old.columns:
        if new.column(column.name) is None:
            changes.append(Change("remove", "column", name, column.name, column.describe()))
    old_key, new_key = old.primary_key, new.primary_key
    if not strict:
        old_key, new_key = tuple(sorted(old_key)), tuple(sorted(new_key))
    if old_key != new_key:
        if old.primary_key:
            changes.append(
                Change("remove", "primary_key", name, old.primary_key_name, _cols(old.primary_key))
            )
        if new.primary_key:
            changes.append(
                Change("add", "primary_key", name, new.primary_key_name, _cols(new.primary_key))
            )
    parts: tuple[tuple[str, list[Any], list[Any]], ...] = (
        ("unique", old.unique, new.unique),
        ("foreign_key", old.foreign_keys, new.foreign_keys),
        ("index", old.indexes, new.indexes),
    )
    if not strict:
        parts = (
            ("unique", _unique_sets(old), _unique_sets(new)),
            ("foreign_key", old.foreign_keys, new.foreign_keys),
        )
    signature = _signature if strict else _loose_signature
    for kind, olds, news in parts:
        old_keys = {signature(item): item for item in olds}
        new_keys = {signature(item): item for item in news}
        for key, item in old_keys.items():
            if key not in new_keys:
                changes.append(Change("remove", kind, name, item.name, item.describe()))
        for key, item in new_keys.items():
            if key not in old_keys:
                changes.append(Change("add", kind, name, item.name, item.describe()))
    return changes


def _cols(columns: tuple[str, ...]) -> str:
    return f"({', '.join(columns)})"


def _column_signature(column: Column) -> tuple[Any, ...]:
    return (column.type, column.nullable, column.default)


def _column_kind(column: Column) -> tuple[Any, ...]:
    return (column.family, column.nullable)


def _signature(item: Any) -> tuple[Any, ...]:
    if isinstance(item, ForeignKey):
        return (item.columns, item.referred_table, item.referred_columns, item.ondelete)
    if isinstance(item, Index):
        return (item.columns, item.unique)
    return (item.columns,)


def _loose_signature(item: Any) -> tuple[Any, ...]:
    if isinstance(item, ForeignKey):
        ondelete = (item.ondelete or "").upper() or None
        return (item.columns, item.referred_table, item.referred_columns, ondelete)
    return (tuple(sorted(item.columns)),)


def _unique_sets(table: Table) -> list[UniqueConstraint]:
    """What makes columns unique: constraints, and unique indexes on plain columns."""
    found = {tuple(sorted(u.columns)): u for u in table.unique}
    for ix in table.indexes:
        if ix.unique and not ix.expression:
            found.setdefault(tuple(sorted(ix.columns)), UniqueConstraint(ix.name, ix.columns))
    return [found[key] for key in sorted(found)]


def dropped(before: Schema, after: Schema) -> list[tuple[str, str | None]]:
    """(table, None) for every table removed, (table, column) for every column removed."""
    lost: list[tuple[str, str | None]] = []
    for change in diff(before, after):
        if change.action == "remove" and change.kind == "table":
            lost.append((change.table, None))
        elif change.action == "remove" and change.kind == "column":
            lost.append((change.table, change.name))
    return lost
