"""What the demo yields for the command line to show, and the pieces every part of it uses:
filling in a new revision file, and the chain and schema shown after each lesson."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migtutor.errors import MigtutorError

if TYPE_CHECKING:
    pass


@dataclass
class Event:
    """One thing to show: `kind` says how, the other fields carry the data."""

    # lesson | step (a heading inside a lesson) | say | command | code | outcome | chain |
    # schema | changes | losses | failure | warning | list | finished (text: where the
    # database is at the end) | pause (text: "step" or "lesson", the end of which it marks;
    # the end of a lesson ends a step too)
    kind: str
    text: str = ""
    data: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def write_functions(revision_file: Path, source: str) -> None:
    """Replace upgrade() and downgrade() in a new revision file with `source`."""
    text = revision_file.read_text(encoding="utf-8")
    start = text.find("\ndef upgrade()")
    if start < 0:
        raise MigtutorError(f"{revision_file} has no upgrade() function to fill in.")
    revision_file.write_text(text[: start + 1] + source, encoding="utf-8")


def chain_and_schema(migrator: Any) -> Iterator[Event]:
    yield Event("command", "migtutor history")
    with migrator() as m:
        current = m.current_heads()
        revisions = m.revisions(current=current)
    yield Event("chain", data=revisions)
    yield Event("command", "migtutor schema")
    with migrator() as m:
        yield Event("schema", data=read_schema(m.connection))


def read_schema(connection: Any) -> Any:
    """The schema snapshot from migtutor.schema, or a plain {table: [columns]} without it."""
    try:
        from migtutor import schema

        return schema.snapshot(connection)
    except ImportError:
        import sqlalchemy as sa

        inspector = sa.inspect(connection)
        return {
            table: [
                f"{c['name']} {c['type']}{'' if c['nullable'] else ' NOT NULL'}"
                for c in inspector.get_columns(table)
            ]
            for table in sorted(inspector.get_table_names())
        }
