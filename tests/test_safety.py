"""The data-loss guard (issue 4): nothing destroyed without a yes, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

DROP_TITLE = '''"""drop title

Revision ID: l6_drop_title
Revises: l5_votes
"""

import sqlalchemy as sa
from alembic import op

revision = "l6_drop_title"
down_revision = "l5_votes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch_op:
        batch_op.drop_column("title")


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch_op:
        batch_op.add_column(sa.Column("title", sa.String(), nullable=True))
'''


def query(url: str, sql: str):
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(sa.text(sql))
            return result.fetchall() if result.returns_rows else []
    finally:
        engine.dispose()


def with_data(cli, workspace: Path, url: str) -> tuple[str, ...]:
    base = ("-w", str(workspace), "-d", url)
    assert cli(*base, "upgrade", "head").exit_code == 0
    query(url, "INSERT INTO users (id, email, password) VALUES (1, 'ada@example.com', 'x')")
    query(
        url,
        "INSERT INTO posts (id, title, content, owner_id) VALUES "
        + ", ".join(f"({i}, 't{i}', 'c{i}', 1)" for i in range(1, 13)),
    )
    query(url, "INSERT INTO votes (user_id, post_id) VALUES (1, 1), (1, 2)")
    return base


def test_downgrade_with_data_at_stake_refuses_without_a_terminal(
    cli, course_workspace: Path, database_url: str
) -> None:
    base = with_data(cli, course_workspace, database_url)
    result = cli(*base, "downgrade", "l1_posts")
    assert result.exit_code == 1
    assert "posts.content: 12 non-null values will be lost" in result.stderr
    assert "posts.owner_id: 12 non-null values will be lost" in result.stderr
    assert "users: 1 row will be lost (the table is dropped)" in result.stderr
    assert "votes: 2 rows will be lost" in result.stderr
    assert "Nothing was changed" in result.stderr and "--yes" in result.stderr
    assert "Traceback" not in result.output
    # nothing changed: same revision, same tables, same data
    assert cli(*base, "--json", "current").json()["current"] == ["l5_votes"]
    assert query(database_url, "SELECT count(content) FROM posts")[0][0] == 12
    assert query(database_url, "SELECT count(*) FROM votes")[0][0] == 2


def test_downgrade_with_yes_proceeds(cli, course_workspace: Path, database_url: str) -> None:
    base = with_data(cli, course_workspace, database_url)
    result = cli(*base, "downgrade", "--yes", "l3_users")
    assert result.exit_code == 0, result.output
    assert "posts.owner_id: 12 non-null values will be lost" in result.stderr
    assert "Database is now at l3_users" in result.stdout
    assert query(database_url, "SELECT count(*) FROM posts")[0][0] == 12

    data = cli(*base, "--json", "downgrade", "-y", "l1_posts").json()
    assert data["current"] == ["l1_posts"]
    assert {"table": "users", "column": None, "count": 1} == {
        key: data["data_lost"][1][key] for key in ("table", "column", "count")
    }


def test_no_data_at_stake_just_runs(cli, course_workspace: Path, database_url: str) -> None:
    base = ("-w", str(course_workspace), "-d", database_url)
    assert cli(*base, "upgrade", "head").exit_code == 0
    result = cli(*base, "downgrade", "base")
    assert result.exit_code == 0, result.output
    assert "will be lost" not in result.output
    assert cli(*base, "--json", "current").json()["current"] == []


def test_empty_columns_are_not_data_at_stake(cli, course_workspace: Path) -> None:
    url = f"sqlite:///{course_workspace / 'x.db'}"
    base = ("-w", str(course_workspace), "-d", url)
    assert cli(*base, "upgrade", "head").exit_code == 0
    query(url, "INSERT INTO users (id, email, password) VALUES (1, 'ada@example.com', 'x')")
    # votes is empty and posts has no rows: dropping them loses nothing; users is untouched
    result = cli(*base, "downgrade", "l3_users")
    assert result.exit_code == 0, result.output
    assert "will be lost" not in result.output


def test_upgrade_that_drops_a_column_is_guarded_too(
    cli, course_workspace: Path, database_url: str
) -> None:
    base = with_data(cli, course_workspace, database_url)
    (course_workspace / "migrations" / "versions" / "l6_drop_title.py").write_text(DROP_TITLE)
    refused = cli(*base, "upgrade")
    assert refused.exit_code == 1
    assert "This upgrade destroys data" in refused.stderr
    assert "posts.title: 12 non-null values will be lost" in refused.stderr
    assert query(database_url, "SELECT count(title) FROM posts")[0][0] == 12

    done = cli(*base, "upgrade", "--yes")
    assert done.exit_code == 0, done.output
    assert "- column posts.title" in done.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_on_a_terminal_it_asks_and_no_keeps_the_data(course_workspace: Path, cli) -> None:
    import pty
    import subprocess

    url = f"sqlite:///{course_workspace / 'tty.db'}"
    with_data(cli, course_workspace, url)
    migtutor = Path(sys.executable).with_name("migtutor")
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(migtutor), "-w", str(course_workspace), "-d", url, "--no-color", "downgrade", "-1"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
    )
    os.close(follower)
    output = b""
    while b"lose this data?" not in output:
        chunk = os.read(leader, 1024)
        assert chunk, output
        output += chunk
    os.write(leader, b"n\n")
    assert process.wait(timeout=60) == 1
    try:
        while chunk := os.read(leader, 1024):
            output += chunk
    except OSError:
        pass
    os.close(leader)
    text = output.decode()
    assert "votes: 2 rows will be lost" in text
    assert "Cancelled: nothing was changed." in text
    assert query(url, "SELECT count(*) FROM votes")[0][0] == 2
