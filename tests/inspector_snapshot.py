"""The schema read table by table through SQLAlchemy's Inspector: the reference that
`migtutor.schema.snapshot` (a few catalog queries) must agree with, field for field."""

from __future__ import annotations

from typing import Any

from migtutor.schema import (
    OWN_PREFIX,
    Column,
    ForeignKey,
    Index,
    Schema,
    Table,
    UniqueConstraint,
    count_rows,
)
from migtutor.schema import _column as column_from_type


def _column(col: dict[str, Any], dialect: Any, pk_columns: tuple[str, ...]) -> Column:
    # The Inspector's type object turned into a Column the way the snapshot turns the catalog's
    # (schema._column): what is compared is the types and structure the two readers find.
    nullable = bool(col.get("nullable", True))
    return column_from_type(
        col["name"], col["type"], nullable, col.get("default"), dialect, pk_columns
    )


def inspector_snapshot(
    connection: Any, *, row_counts: bool = True, schema: str | None = None
) -> Schema:
    from sqlalchemy import inspect

    result = _read(connection, inspect(connection), row_counts, schema)
    _read_views(inspect(connection), result, schema)
    if connection.dialect.name == "postgresql":
        _read_postgres_objects(connection, result, schema)
    return result


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


def _read_views(inspector: Any, result: Schema, within: str | None) -> None:
    for name in sorted(inspector.get_view_names(schema=within)):
        try:
            definition = inspector.get_view_definition(name, schema=within) or ""
        except Exception:
            definition = ""
        result.views[name] = " ".join(str(definition).split())


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
