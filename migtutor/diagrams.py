"""Pictures as text: the schema as an ER diagram and the revision graph, in Mermaid or Graphviz.

- ``schema_mermaid(schema)`` / ``schema_dot(schema)``: every table with its columns and types,
  PK/FK/UK markers, and an edge per foreign key labelled with its columns and ``ON DELETE``.
  Alembic's own ``alembic_version`` table is left out: it is bookkeeping, not the model.
- ``graph_mermaid(revisions)`` / ``graph_dot(revisions)``: one node per revision (head and
  current marked), an edge from each revision to the one built on it, the direction `upgrade`
  walks, so branches and merges show as they are.

Pure functions of the public `Schema` and `Revision` data: no database, no printing. The text
is the same for the same input (tables and columns in a fixed order), so it can live in a README
and be compared.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from migtutor.schema import VERSION_TABLE

if TYPE_CHECKING:
    from migtutor.migrate import Revision
    from migtutor.schema import ForeignKey, Schema, Table

FORMATS = ("text", "mermaid", "dot")

_INDENT = "    "


def _tables(schema: Schema) -> list[Table]:
    return [schema.tables[name] for name in schema.table_names if name != VERSION_TABLE]


def _keys(table: Table) -> dict[str, list[str]]:
    """Column name -> its key markers, in Mermaid's order: PK, FK, UK."""
    keys: dict[str, list[str]] = {column.name: [] for column in table.columns}
    for name in table.primary_key:
        keys.setdefault(name, []).append("PK")
    for fk in table.foreign_keys:
        for name in fk.columns:
            if "FK" not in keys.setdefault(name, []):
                keys[name].append("FK")
    for unique in table.unique:
        if len(unique.columns) == 1 and "UK" not in keys.get(unique.columns[0], []):
            keys.setdefault(unique.columns[0], []).append("UK")
    return keys


def _edge_label(fk: ForeignKey) -> str:
    label = ", ".join(fk.columns)
    return label + (f" ON DELETE {fk.ondelete}" if fk.ondelete else "")


# -- Mermaid ---------------------------------------------------------------------------------


def mermaid_word(text: str) -> str:
    """A name or type as a Mermaid erDiagram word: letters, digits and `_` only.

    Mermaid cannot take `VARCHAR(255)` or `TIMESTAMP WITH TIME ZONE` raw; the exact type goes
    into the attribute's comment instead.
    """
    word = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "_"
    return word if not word[0].isdigit() else f"_{word}"


def _mermaid_string(text: str) -> str:
    """Text inside a Mermaid double-quoted string, which cannot hold a double quote."""
    return text.replace('"', "'")


def schema_mermaid(schema: Schema) -> str:
    """The schema as a Mermaid `erDiagram`."""
    lines = ["erDiagram"]
    tables = _tables(schema)
    for table in tables:
        lines.append(f"{_INDENT}{mermaid_word(table.name)} {{")
        keys = _keys(table)
        for column in table.columns:
            notes = [column.type] + ([] if column.nullable else ["NOT NULL"])
            if column.default is not None:
                notes.append(f"DEFAULT {column.default}")
            marks = ", ".join(keys.get(column.name, []))
            lines.append(
                f"{_INDENT * 2}{mermaid_word(column.type)} {mermaid_word(column.name)}"
                + (f" {marks}" if marks else "")
                + f' "{_mermaid_string(" ".join(notes))}"'
            )
        lines.append(f"{_INDENT}}}")
    for table in tables:
        for fk in table.foreign_keys:
            optional = any(
                column is not None and column.nullable
                for column in (table.column(name) for name in fk.columns)
            )
            parent = "|o" if optional else "||"
            lines.append(
                f"{_INDENT}{mermaid_word(fk.referred_table)} {parent}--o{{ "
                f'{mermaid_word(table.name)} : "{_mermaid_string(_edge_label(fk))}"'
            )
    return "\n".join(lines) + "\n"


def _node_id(revision: str) -> str:
    return "r_" + re.sub(r"[^A-Za-z0-9_]", "_", revision)


def _revision_label(rev: Revision) -> str:
    """'l7_phone (head) (current): add phone number'."""
    tags = [tag for tag, present in (("head", rev.is_head), ("current", rev.is_current)) if present]
    label = rev.revision + "".join(f" ({tag})" for tag in tags)
    message = rev.message.splitlines()[0].strip() if rev.message.strip() else ""
    return f"{label}: {message}" if message else label


def graph_mermaid(revisions: list[Revision]) -> str:
    """The revision graph as a Mermaid flowchart, the first revision at the bottom."""
    lines = ["flowchart BT"]
    for rev in reversed(revisions):
        label = _revision_label(rev).replace('"', "#quot;")
        lines.append(f'{_INDENT}{_node_id(rev.revision)}["{label}"]')
    known = {rev.revision for rev in revisions}
    for rev in reversed(revisions):
        for parent in rev.down_revisions:
            if parent in known:
                lines.append(f"{_INDENT}{_node_id(parent)} --> {_node_id(rev.revision)}")
    current = [_node_id(rev.revision) for rev in revisions if rev.is_current]
    if current:
        lines.append(f"{_INDENT}classDef current stroke-width:3px")
        lines.append(f"{_INDENT}class {','.join(current)} current")
    return "\n".join(lines) + "\n"


# -- Graphviz --------------------------------------------------------------------------------


def dot_id(text: str) -> str:
    """Any text as a Graphviz quoted ID."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cell(text: str, **attributes: str) -> str:
    extra = "".join(f' {key.upper()}="{html.escape(value)}"' for key, value in attributes.items())
    return f'<TD ALIGN="LEFT"{extra}>{html.escape(text) or " "}</TD>'


def _table_label(table: Table) -> str:
    keys = _keys(table)
    rows = [f'<TR><TD COLSPAN="3" BGCOLOR="lightgrey"><B>{html.escape(table.name)}</B></TD></TR>']
    for column in table.columns:
        kind = column.type + ("" if column.nullable else " NOT NULL")
        rows.append(
            "<TR>"
            + _cell(" ".join(keys.get(column.name, [])))
            + _cell(column.name)
            + _cell(kind, port=column.name)
            + "</TR>"
        )
    return '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0">' + "".join(rows) + "</TABLE>>"


def schema_dot(schema: Schema) -> str:
    """The schema as a Graphviz digraph: a table per node, an edge per foreign key."""
    lines = [
        "digraph schema {",
        f"{_INDENT}rankdir=LR;",
        f"{_INDENT}node [shape=plaintext];",
    ]
    tables = _tables(schema)
    for table in tables:
        lines.append(f"{_INDENT}{dot_id(table.name)} [label={_table_label(table)}];")
    for table in tables:
        for fk in table.foreign_keys:
            source = f"{dot_id(table.name)}:{dot_id(fk.columns[0])}"
            target = dot_id(fk.referred_table)
            if fk.referred_columns and fk.referred_table in schema.tables:
                target += f":{dot_id(fk.referred_columns[0])}"
            lines.append(f"{_INDENT}{source} -> {target} [label={dot_id(_edge_label(fk))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def graph_dot(revisions: list[Revision]) -> str:
    """The revision graph as a Graphviz digraph, the first revision at the bottom."""
    lines = ["digraph revisions {", f"{_INDENT}rankdir=BT;", f"{_INDENT}node [shape=box];"]
    for rev in reversed(revisions):
        style = ", style=bold" if rev.is_current else ""
        lines.append(
            f"{_INDENT}{dot_id(rev.revision)} [label={dot_id(_revision_label(rev))}{style}];"
        )
    known = {rev.revision for rev in revisions}
    for rev in reversed(revisions):
        for parent in rev.down_revisions:
            if parent in known:
                lines.append(f"{_INDENT}{dot_id(parent)} -> {dot_id(rev.revision)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
