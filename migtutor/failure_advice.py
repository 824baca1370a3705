"""What to do about a revision that failed, read from the database's own words.

`advice(error, file) -> str`: for the failures the course's lessons meet (a table that exists
already, a NOT NULL column added to a table that holds rows, a revision written for PostgreSQL
that SQLite cannot run without batch mode) the way out; otherwise the general
"Fix <file> and run the command again." Plain text; this module imports nothing.
"""

from __future__ import annotations

# (phrases of the database's error, any of which matches; what to do)
_ADVICE: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("already exists",),
        "What the revision creates exists already, made outside the revisions (create_all() "
        "does that) or left by an earlier attempt: drop it (on a practice database, `migtutor "
        "reset`), or, only when the tables are exactly what the revisions make, record them as "
        "applied with `migtutor stamp <revision>`.",
    ),
    (
        # PostgreSQL; SQLite outside batch mode; SQLite inside batch mode's table copy.
        (
            "contains null values",
            "cannot add a not null column",
            "not null constraint failed: _alembic_tmp_",
        ),
        "The table holds rows that the new NOT NULL column has no value for: give the column a "
        'server_default, or add it nullable, fill it with op.execute("UPDATE ..."), then make '
        "it NOT NULL (batch mode on SQLite).",
    ),
    (
        # SQLite's ALTER TABLE has no ADD/DROP CONSTRAINT: revisions written for PostgreSQL.
        ("no support for alter of constraints",),
        "SQLite cannot add or drop a constraint on a table that exists (its ALTER TABLE has no "
        "ADD CONSTRAINT). Batch mode can: put the operations inside `with "
        'op.batch_alter_table("TABLE") as batch_op:`, as batch_op.create_foreign_key(NAME, '
        'REFERRED_TABLE, ["COLUMN"], ["id"], ondelete=...) and batch_op.drop_constraint(NAME, '
        'type_="foreignkey"). On SQLite it copies the table with the change; on PostgreSQL it '
        "is the plain ALTER TABLE, so the revision runs on both.",
    ),
    (
        ("non-constant default",),
        "SQLite's ALTER TABLE cannot add a column whose default is a function (now(), "
        'CURRENT_TIMESTAMP): add it in batch mode (`with op.batch_alter_table("TABLE") as '
        "batch_op: batch_op.add_column(...)`), which copies the table with the new column.",
    ),
    (
        ("unknown function: now()",),
        "now() is PostgreSQL's; SQLite has no such function. Write server_default=sa.func.now(), "
        "which SQLAlchemy renders for each database (now() on PostgreSQL, CURRENT_TIMESTAMP on "
        "SQLite).",
    ),
)


def advice(error: str, file: str) -> str:
    """The next thing to do after a revision failed with `error`."""
    lowered = error.lower()
    for phrases, text in _ADVICE:
        if any(phrase in lowered for phrase in phrases):
            return text
    return f"Fix {file} and run the command again."


def unknown_revision(unknown: list[str]) -> str:
    """The database is at revisions no file defines: what happened and the two ways out."""
    ids = ", ".join(unknown)
    return (
        f"The database is at revision {ids}, which no file in migrations/versions/ defines: "
        "its file was deleted or renamed (or the database was migrated from another copy of "
        "the project), so neither `upgrade` nor `downgrade` can start from it. Restore the file "
        "(from version control or your editor's history); if it is gone for good, point the "
        "database at a revision you have, once its tables match that one: "
        "`migtutor stamp --purge REV`."
    )
