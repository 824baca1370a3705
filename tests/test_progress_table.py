"""The learner's progress in their database: written by `lesson goto`/`check`, hidden from
`schema` and from autogenerate, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa


def rows(url: str) -> list[tuple]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        found = connection.execute(
            sa.text("SELECT lesson, step, checked_lesson, checked_step, verdict FROM "
                    "migtutor_progress")
        ).all()  # fmt: skip
    engine.dispose()
    return [tuple(row) for row in found]


def test_progress_is_recorded_and_hidden(cli, database_url: str, workspace: Path) -> None:
    base = ("-w", str(workspace), "-d", database_url)
    assert cli(*base, "upgrade", "head").exit_code == 0  # the database exists
    assert cli(*base, "lesson", "goto", "2").exit_code == 0
    assert rows(database_url) == [(2, 1, None, None, None)]
    checked = cli(*base, "lesson", "check")
    verdict = "passed" if checked.exit_code == 0 else "failed"
    lesson, step, *_ = rows(database_url)[0]
    assert rows(database_url) == [(lesson, step, 2, 1, verdict)]

    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
        connection.execute(sa.text("CREATE VIEW note_ids AS SELECT id FROM notes"))
    engine.dispose()
    shown = cli(*base, "--json", "schema").json()
    assert [t["name"] for t in shown["tables"]] == ["alembic_version", "notes"]
    assert shown["views"] == ["note_ids"]
    made = cli(*base, "--json", "revision", "-m", "auto", "--autogenerate")
    assert made.exit_code == 0, made.output
    generated = Path(made.json()["path"]).read_text()
    assert "migtutor_progress" not in generated and "notes" in generated  # ours stays unseen
