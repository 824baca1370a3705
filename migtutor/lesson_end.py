"""The schema a lesson started from, for the picture shown when it ends.

The course's reference revisions tell, for the start of each lesson, which tables and columns
exist (`reset.reference_schemas`). Projecting the learner's live schema onto those names gives the
schema at the lesson's start in the learner's own dialect and types, so `schema.diff` of the two
shows only what the lesson added: no scratch database, no type noise between backends. Tables
the course does not know are the learner's own and count as there from the start.
"""

from __future__ import annotations

from dataclasses import replace

from migtutor import course
from migtutor.schema import Schema


def tables_at_start(lesson: int) -> dict[str, frozenset[str]] | None:
    """Table -> columns at the start of `lesson`, or None when it makes no reference revision."""
    from migtutor.reset import reference_schemas

    revisions = course.lesson_revisions()
    if not 1 <= lesson <= len(revisions) or revisions[lesson - 1] is None:
        return None
    return reference_schemas().get(course.start_of(lesson))


def schema_at_start(now: Schema, start: dict[str, frozenset[str]]) -> Schema:
    """`now` with only what existed at the start: the course's tables and columns of then."""
    tables = {}
    for name, table in now.tables.items():
        if name not in course.course_tables():
            tables[name] = table
            continue
        if name not in start:
            continue
        kept = start[name]
        tables[name] = replace(
            table,
            columns=[c for c in table.columns if c.name in kept],
            primary_key=table.primary_key if set(table.primary_key) <= kept else (),
            unique=[u for u in table.unique if set(u.columns) <= kept],
            foreign_keys=[
                fk
                for fk in table.foreign_keys
                if set(fk.columns) <= kept and fk.referred_table in start
            ],
            indexes=[ix for ix in table.indexes if set(ix.columns) <= kept],
        )
    return replace(now, tables=tables)
