"""What a revision looked like when it was applied: an edit afterwards, or an upgrade() applied
while empty, is noticed by the commands that read the chain, and `migtutor redo REV` (the advice
they give) re-applies it: down with the downgrade() that ran, up with the file as it is now."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

L4 = "migrations/versions/l4_owner_fk_add_foreign_key_to_posts_table.py"


def run(cli, workspace: Path, url: str, *args: str):
    return cli("-w", str(workspace), "-d", url, *args)


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def foreign_key_names(url: str, table: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {fk["name"] for fk in sa.inspect(engine).get_foreign_keys(table)}
    finally:
        engine.dispose()


def fill_in(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "def upgrade() -> None:\n    pass",
        'def upgrade() -> None:\n    op.create_table("posts", '
        'sa.Column("id", sa.Integer, primary_key=True))',
    )
    text = text.replace(
        "def downgrade() -> None:\n    pass", 'def downgrade() -> None:\n    op.drop_table("posts")'
    )
    path.write_text(text, encoding="utf-8")


# A generated id may have no letter (about one in 280 do): `redo 804211960573` is a revision.
@pytest.mark.parametrize("rev_id", [None, "804211960573"], ids=["generated id", "digits only"])
def test_applied_while_empty_is_noticed_and_redo_applies_what_is_there_now(
    cli, workspace: Path, database_url: str, rev_id: str | None
) -> None:
    fixed = ["--rev-id", rev_id] if rev_id else []
    created = run(
        cli, workspace, database_url, "--json", "revision", "-m", "create posts table", *fixed
    )
    rev, path = created.json()["revision"], Path(created.json()["path"])

    early = run(cli, workspace, database_url, "upgrade", "head")
    assert early.exit_code == 0, early.output
    assert f"Revision {rev} (create posts table) has an empty upgrade()" in early.stderr

    fill_in(path)
    again = run(cli, workspace, database_url, "upgrade", "head")
    assert again.exit_code == 0, again.output
    assert "Nothing to upgrade" in again.stdout
    assert "was applied while its upgrade() was empty" in again.stderr
    assert f"`migtutor redo {rev}`" in again.stderr
    assert "never edit an applied revision" in again.stderr
    assert "posts" not in tables(database_url)

    current = run(cli, workspace, database_url, "current")
    assert f"`migtutor redo {rev}`" in current.stderr
    doctor = run(cli, workspace, database_url, "--json", "doctor")
    found = {f["code"]: f for f in doctor.json()["findings"]}
    assert found["changed_since_applied"]["fix"].startswith(f"Run `migtutor redo {rev}`")

    redone = run(cli, workspace, database_url, "redo", rev)
    assert redone.exit_code == 0, redone.output
    assert f"Revision {rev} re-applied" in redone.stdout
    assert "posts" in tables(database_url)
    after = run(cli, workspace, database_url, "current")
    assert "Warning" not in after.stderr
    doctor = run(cli, workspace, database_url, "--json", "doctor")
    assert "changed_since_applied" not in {f["code"] for f in doctor.json()["findings"]}
    down = run(cli, workspace, database_url, "downgrade", "base")
    assert down.exit_code == 0, down.output
    assert "posts" not in tables(database_url)


def test_a_foreign_key_renamed_after_it_ran_is_noticed_and_redo_fixes_it(
    cli, course_workspace: Path, database_url: str
) -> None:
    assert run(cli, course_workspace, database_url, "upgrade", "head").exit_code == 0
    path = course_workspace / L4
    path.write_text(
        path.read_text(encoding="utf-8").replace("post_users_fk", "fk_posts_owner_id_users"),
        encoding="utf-8",
    )

    for command in (["current"], ["history"], ["upgrade", "head"]):
        result = run(cli, course_workspace, database_url, *command)
        assert result.exit_code == 0, result.output
        assert "l4_owner_fk (add foreign-key to posts table) was edited after it was applied" in (
            result.stderr
        ), command
        assert "`migtutor redo l4_owner_fk`" in result.stderr
    doctor = run(cli, course_workspace, database_url, "--json", "doctor")
    assert doctor.exit_code == 1
    assert "changed_since_applied" in {f["code"] for f in doctor.json()["findings"]}

    redone = run(cli, course_workspace, database_url, "redo", "l4_owner_fk")
    assert redone.exit_code == 0, redone.output
    assert foreign_key_names(database_url, "posts") == {"fk_posts_owner_id_users"}
    assert "Warning" not in run(cli, course_workspace, database_url, "current").stderr
    down = run(cli, course_workspace, database_url, "downgrade", "base")
    assert down.exit_code == 0, down.output
    assert tables(database_url) == {"alembic_version", "migtutor_applied"}


def test_an_edited_revision_left_as_it_is_stops_the_downgrade_that_redo_would_have_saved(
    cli, course_workspace: Path, database_url: str
) -> None:
    """Why the warning matters: the renamed constraint is not in the database."""
    assert run(cli, course_workspace, database_url, "upgrade", "head").exit_code == 0
    path = course_workspace / L4
    path.write_text(
        path.read_text(encoding="utf-8").replace("post_users_fk", "fk_posts_owner_id_users"),
        encoding="utf-8",
    )
    down = run(cli, course_workspace, database_url, "downgrade", "base")
    assert down.exit_code == 1
    assert "`migtutor redo l4_owner_fk`" in down.stderr  # said before it ran


def test_comments_and_layout_are_not_changes_and_the_record_stays_out_of_sight(
    cli, course_workspace: Path, database_url: str
) -> None:
    assert run(cli, course_workspace, database_url, "upgrade", "head").exit_code == 0
    assert "migtutor_applied" in tables(database_url)
    path = course_workspace / L4
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("    # First the column", "    # Mine.\n\n    # First the column")
        .replace('"""add foreign-key', '"""add foreign-key (a better docstring)')
        .replace('"users", ["owner_id"]', '"users",\n            ["owner_id"]'),
        encoding="utf-8",
    )
    current = run(cli, course_workspace, database_url, "current")
    assert current.exit_code == 0 and "Warning" not in current.stderr

    check = run(cli, course_workspace, database_url, "check")
    assert check.exit_code == 0, check.output  # autogenerate does not propose dropping it
    schema = run(cli, course_workspace, database_url, "--json", "schema")
    assert "migtutor_applied" not in {t["name"] for t in schema.json()["tables"]}
    downgraded = run(cli, course_workspace, database_url, "downgrade", "base")
    assert downgraded.exit_code == 0, downgraded.output
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            left = connection.execute(sa.text("SELECT count(*) FROM migtutor_applied")).scalar()
    finally:
        engine.dispose()
    assert left == 0  # a downgrade forgets what it unapplied


def test_lesson_check_names_redo_when_the_revision_ran_while_empty(
    cli, workspace: Path, database_url: str
) -> None:
    def check() -> dict:
        return run(cli, workspace, database_url, "--json", "lesson", "check").json()

    created = run(cli, workspace, database_url, "--json", "revision", "-m", "create posts table")
    rev, path = created.json()["revision"], Path(created.json()["path"])
    assert check()["passed"]  # step 1: the revision exists
    assert run(cli, workspace, database_url, "upgrade", "head").exit_code == 0  # while empty
    fill_in(path)
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "primary_key=True)",
            'primary_key=True), sa.Column("title", sa.String(), nullable=False)',
        ),
        encoding="utf-8",
    )
    assert check()["passed"]  # step 2: the file itself is right (tried on a scratch copy)

    stuck = check()  # step 3: the database at head with a posts table
    assert not stuck["passed"]
    assert "was applied while its upgrade() was empty" in stuck["problems"][0]
    assert f"`migtutor redo {rev}`" in stuck["problems"][0]
    assert run(cli, workspace, database_url, "redo", rev).exit_code == 0
    assert check() == {"lesson": 1, "step": 3, "passed": True, "problems": []}


def test_json_output_carries_the_applied_revision_warnings(
    cli, workspace: Path, database_url: str
) -> None:
    created = run(cli, workspace, database_url, "--json", "revision", "-m", "create posts table")
    rev, path = created.json()["revision"], Path(created.json()["path"])
    early = run(cli, workspace, database_url, "--json", "upgrade", "head")
    assert early.exit_code == 0, early.output
    assert any("has an empty upgrade()" in w for w in early.json()["warnings"])
    fill_in(path)
    current = run(cli, workspace, database_url, "--json", "current").json()
    assert len(current["warnings"]) == 1 and f"`migtutor redo {rev}`" in current["warnings"][0]
    again = run(cli, workspace, database_url, "--json", "upgrade", "head").json()
    assert any("applied while its upgrade() was empty" in w for w in again["warnings"])
    assert run(cli, workspace, database_url, "redo", rev).exit_code == 0
    assert run(cli, workspace, database_url, "--json", "current").json()["warnings"] == []


def test_redo_rev_refuses_a_revision_not_applied_or_a_merge(
    cli, workspace: Path, database_url: str
) -> None:
    from revision_files import write_revision

    write_revision(workspace, "a1", None, 'op.create_table("a", sa.Column("id", sa.Integer()))',
                   'op.drop_table("a")')  # fmt: skip
    write_revision(workspace, "b1", None, 'op.create_table("b", sa.Column("id", sa.Integer()))',
                   'op.drop_table("b")')  # fmt: skip
    assert run(cli, workspace, database_url, "merge", "a1", "b1", "--rev-id", "m1").exit_code == 0
    assert run(cli, workspace, database_url, "upgrade", "a1").exit_code == 0
    missing = run(cli, workspace, database_url, "redo", "b1")
    assert missing.exit_code == 1 and "b1 is not applied" in missing.stderr
    assert "`migtutor upgrade b1`" in missing.stderr
    assert run(cli, workspace, database_url, "upgrade", "heads").exit_code == 0
    merge = run(cli, workspace, database_url, "redo", "m1")
    assert merge.exit_code == 1 and "merges several revisions" in merge.stderr
    assert "Traceback" not in merge.output + missing.output
    assert tables(database_url) >= {"a", "b"}


def test_stamp_forgets_what_the_database_no_longer_claims(
    cli, workspace: Path, database_url: str
) -> None:
    created = run(cli, workspace, database_url, "--json", "revision", "-m", "create posts table")
    rev, path = created.json()["revision"], Path(created.json()["path"])
    fill_in(path)
    assert run(cli, workspace, database_url, "upgrade", "head").exit_code == 0

    def recorded() -> list[str]:
        engine = sa.create_engine(database_url)
        try:
            with engine.connect() as connection:
                return [r[0] for r in connection.execute(sa.text(
                    "SELECT revision FROM migtutor_applied"))]  # fmt: skip
        finally:
            engine.dispose()

    assert recorded() == [rev]
    assert run(cli, workspace, database_url, "stamp", "base").exit_code == 0
    assert recorded() == []
    # Edited while stamped away: nothing compares it with the old record.
    path.write_text(path.read_text().replace('"posts"', '"articles"'), encoding="utf-8")
    assert "Warning" not in run(cli, workspace, database_url, "current").stderr
