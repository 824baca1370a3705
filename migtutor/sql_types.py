"""Column types rebuilt as SQLAlchemy types from the text a catalog query returns.

`schema.snapshot` reads the catalogs itself (one query per backend) instead of asking
SQLAlchemy's Inspector table by table; these functions turn each column's type text into the
type object the Inspector would have made, so the type printed (compiled for the dialect, or
without one) stays the same. Pure Python over fetched rows: no query runs here.

- `postgres_type(format_type, named, dialect)`: from `format_type()`'s text and, for an enum
  or a domain, what the catalog says about it (`named`).
- `sqlite_type(declared, dialect)`: from a column's declared type, by SQLite's affinity rules
  (https://www.sqlite.org/datatype3.html, 3.1) where the name is not one SQLAlchemy knows.
"""

from __future__ import annotations

import re
from typing import Any

_ARGUMENTS = re.compile(r"\((.*)\)")
_ARRAY_SUFFIX = re.compile(r"((?:\[\])*)$")


def postgres_type(format_type: str | None, named: dict[str, Any] | None, dialect: Any) -> Any:
    """The SQLAlchemy type for PostgreSQL's `format_type()` text.

    `named` describes an enum (`kind` "e": `name`, `labels`, `schema` if not on the search
    path) or a domain (`kind` "d": `name`, `base` as format_type text, `default`, `not_null`,
    `schema`), looked up by the column's type (or its array element type).
    """
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql as pg

    if format_type is None:
        return sa.types.NULLTYPE
    found = _ARGUMENTS.search(format_type)
    arguments = re.split(r"\s*,\s*", found.group(1)) if found and found.group(1) else []
    dimensions = len(_ARRAY_SUFFIX.search(format_type).group(1)) // 2  # type: ignore[union-attr]
    name = _ARRAY_SUFFIX.sub("", _ARGUMENTS.sub("", format_type))
    kind = dialect.ischema_names.get(name.lower())
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    if name == "numeric":
        if len(arguments) == 2:
            args = (int(arguments[0]), int(arguments[1]))
    elif name == "double precision":
        args = (53,)
    elif name == "integer":
        pass
    elif name in ("timestamp with time zone", "time with time zone"):
        kwargs["timezone"] = True
        if len(arguments) == 1:
            kwargs["precision"] = int(arguments[0])
    elif name in ("timestamp without time zone", "time without time zone", "time"):
        kwargs["timezone"] = False
        if len(arguments) == 1:
            kwargs["precision"] = int(arguments[0])
    elif name == "bit varying":
        kwargs["varying"] = True
        if len(arguments) == 1:
            args = (int(arguments[0]),)
    elif name == "interval" or name.startswith("interval "):
        kind = pg.INTERVAL
        if name != "interval":
            kwargs["fields"] = name.partition(" ")[2]
        if len(arguments) == 1:
            kwargs["precision"] = int(arguments[0])
    elif kind is None and named is not None and named.get("kind") == "e":
        kind = pg.ENUM
        args = tuple(named["labels"])
        kwargs["name"] = named["name"]
        if named.get("schema"):
            kwargs["schema"] = named["schema"]
    elif kind is None and named is not None and named.get("kind") == "d":
        kind = pg.DOMAIN
        args = (named["name"], postgres_type(named["base"], None, dialect))
        kwargs.update(default=named.get("default"), not_null=bool(named.get("not_null")))
        kwargs["create_type"] = False
        if named.get("schema"):
            kwargs["schema"] = named["schema"]
    elif arguments:
        try:
            args = (int(arguments[0]), *arguments[1:])
        except ValueError:
            args = tuple(arguments)
    if kind is None:
        return sa.types.NULLTYPE
    result = kind(*args, **kwargs)
    return pg.ARRAY(result) if dimensions else result


_SQLITE_DECLARED = re.compile(r"([\w ]+)(\(.*?\))?")


def sqlite_type(declared: str, dialect: Any) -> Any:
    """The SQLAlchemy type for an SQLite column declared as `declared` (upper case)."""
    import sqlalchemy as sa

    found = _SQLITE_DECLARED.match(declared)
    name, arguments = (found.group(1), found.group(2)) if found else ("", None)
    if name in dialect.ischema_names:
        kind = dialect.ischema_names[name]
    elif "INT" in name:
        kind = sa.INTEGER
    elif any(part in name for part in ("CHAR", "CLOB", "TEXT")):
        kind = sa.TEXT
    elif "BLOB" in name or not name:
        kind = sa.types.NullType
    elif any(part in name for part in ("REAL", "FLOA", "DOUB")):
        kind = sa.REAL
    else:
        kind = sa.NUMERIC
    if arguments is None:
        return kind()
    try:
        return kind(*(int(number) for number in re.findall(r"\d+", arguments)))
    except TypeError:  # arguments the type does not take: the type without them
        return kind()
