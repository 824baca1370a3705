"""`migtutor redo [N]`: down and up again under one lock, with the data-loss guard; the schema
afterwards shows whether downgrade() really undoes upgrade()."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

HALF_UNDONE = '''"""add subtitle, undone badly

Revision ID: l6_subtitle
Revises: l7_phone
"""

import sqlalchemy as sa
from alembic import op

revision = "l6_subtitle"
down_revision = "l7_phone"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("nickname", sa.String(), nullable=True))
    op.create_index("ix_users_nickname", "users", ["nickname"])


def downgrade() -> None:
    op.drop_index("ix_users_nickname", table_name="users")
'''


TOO_MUCH = HALF_UNDONE.replace(
    'op.drop_index("ix_users_nickname", table_name="users")',
    'op.drop_index("ix_users_nickname", table_name="users")\n'
    '    with op.batch_alter_table("users") as batch_op:\n'
    '        batch_op.drop_column("nickname")\n'
    '        batch_op.drop_column("created_at")',
)


def run(cli, workspace: Path, url: str, *args: str):
    return cli("-w", str(workspace), "-d", url, *args)


def test_redo_goes_down_and_up_and_finds_the_schema_unchanged(
    cli, course_workspace: Path, database_url: str
) -> None:
    assert run(cli, course_workspace, database_url, "upgrade", "head").exit_code == 0
    redone = run(cli, course_workspace, database_url, "--json", "redo", "2")
    assert redone.exit_code == 0, redone.output
    data = redone.json()
    assert [step["to"] for step in data["down"]["applied"]] == ["l6_votes", "l5_published"]
    assert [step["to"] for step in data["up"]["applied"]] == ["l6_votes", "l7_phone"]
    assert data["current"] == ["l7_phone"] and data["schema_changed"] == []
    human = run(cli, course_workspace, database_url, "redo")
    assert human.exit_code == 0, human.output
    assert "downgrade l7_phone -> l6_votes" in human.stdout
    assert "upgrade l6_votes -> l7_phone" in human.stdout
    assert "differs" not in human.stdout


def test_redo_shows_what_a_downgrade_failed_to_undo(
    cli, course_workspace: Path, database_url: str
) -> None:
    (course_workspace / "migrations" / "versions" / "l6_subtitle.py").write_text(HALF_UNDONE)
    assert run(cli, course_workspace, database_url, "upgrade", "head").exit_code == 0
    redone = run(cli, course_workspace, database_url, "redo")
    assert redone.exit_code == 1, redone.output  # the upgrade again finds nickname there
    assert "l6_subtitle" in redone.stderr


def test_redo_shows_what_a_downgrade_took_too_much_of(
    cli, course_workspace: Path, database_url: str
) -> None:
    (course_workspace / "migrations" / "versions" / "l6_subtitle.py").write_text(TOO_MUCH)
    assert run(cli, course_workspace, database_url, "upgrade", "head").exit_code == 0
    human = run(cli, course_workspace, database_url, "redo")
    assert human.exit_code == 0, human.output
    assert "does not undo upgrade() exactly" in human.stdout
    assert "- column users.created_at" in human.stdout


def test_redo_asks_before_losing_data_and_refuses_without_a_terminal(
    cli, course_workspace: Path, database_url: str
) -> None:
    assert run(cli, course_workspace, database_url, "upgrade", "head").exit_code == 0
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO users (id, email, password) VALUES (1, 'a', 'x')"))
        connection.execute(
            sa.text("INSERT INTO posts (id, title, content, owner_id) VALUES (1, 't', 'c', 1)")
        )
        connection.execute(sa.text("INSERT INTO votes (user_id, post_id) VALUES (1, 1)"))
    refused = run(cli, course_workspace, database_url, "redo", "2")  # the votes revision too
    assert refused.exit_code == 1
    assert "votes: 1 row will be lost" in refused.output and "Nothing was changed" in refused.stderr
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM votes")).scalar() == 1
    accepted = run(cli, course_workspace, database_url, "--json", "redo", "2", "--yes")
    assert accepted.exit_code == 0, accepted.output
    assert accepted.json()["data_lost"][0]["table"] == "votes"
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM votes")).scalar() == 0
    engine.dispose()


def test_redo_refuses_what_it_cannot_do(cli, course_workspace: Path, database_url: str) -> None:
    nothing = run(cli, course_workspace, database_url, "redo")
    assert nothing.exit_code == 1 and "no revision is applied yet" in nothing.stderr
    assert run(cli, course_workspace, database_url, "upgrade", "+2").exit_code == 0
    too_far = run(cli, course_workspace, database_url, "redo", "3")
    assert too_far.exit_code == 1 and "only 2 revision(s) are applied" in too_far.stderr
    zero = run(cli, course_workspace, database_url, "redo", "0")
    assert zero.exit_code == 2
