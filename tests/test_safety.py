"""The data-loss guard (issue 4): nothing destroyed without a yes, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

DROP_TITLE = '''"""drop title

Revision ID: l6_drop_title
Revises: l7_phone
"""

import sqlalchemy as sa
from alembic import op

revision = "l6_drop_title"
down_revision = "l7_phone"
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
    assert cli(*base, "--json", "current").json()["current"] == ["l7_phone"]
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
        [str(migtutor), "-w", str(course_workspace), "-d", url, "--no-color", "downgrade", "-2"],
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


SQL_REVISION = '''"""change data

Revision ID: l6_data
Revises: l7_phone
"""

import sqlalchemy as sa
from alembic import op

revision = "l6_data"
down_revision = "l7_phone"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if {nullable_content!r}:
        with op.batch_alter_table("posts") as batch_op:
            batch_op.alter_column("content", existing_type=sa.String(), nullable=True)
    for statement in {statements!r}:
        op.execute(statement)


def downgrade() -> None:
    pass
'''

REBUILT = [
    "CREATE TABLE votes_new (user_id integer, post_id integer)",
    "DROP TABLE votes",
    "ALTER TABLE votes_new RENAME TO votes",
]
RENAMED_AWAY = [
    "ALTER TABLE votes RENAME TO votes_old",
    "CREATE TABLE votes (user_id integer, post_id integer)",
    "DROP TABLE votes_old",
]


def write_sql_revision(workspace: Path, statements: list[str]) -> None:
    """A revision running `statements`; one that sets posts.content to NULL first allows it."""
    nullable = any("content = NULL" in statement for statement in statements)
    path = workspace / "migrations" / "versions" / "l6_data.py"
    path.write_text(SQL_REVISION.format(statements=statements, nullable_content=nullable))


@pytest.mark.parametrize(
    ("statements", "expected", "not_expected"),
    [
        (REBUILT, "votes: 2 rows will be lost", "dropped"),
        (RENAMED_AWAY, "votes: 2 rows will be lost", "dropped"),
        (["DELETE FROM posts WHERE id > 10"], "posts: 2 rows will be lost", "posts."),
        (["DELETE FROM votes"], "votes: 2 rows will be lost", "votes."),
        (
            ["UPDATE posts SET content = NULL WHERE id <= 5"],
            "posts.content: 5 non-null values will be lost",
            "rows will be lost",
        ),
    ],
    ids=["rebuilt", "renamed-away", "delete-some", "delete-all", "set-null"],
)
def test_data_lost_without_dropping_anything_is_guarded(
    cli,
    course_workspace: Path,
    database_url: str,
    statements: list[str],
    expected: str,
    not_expected: str,
) -> None:
    base = with_data(cli, course_workspace, database_url)
    write_sql_revision(course_workspace, statements)
    refused = cli(*base, "upgrade")
    assert refused.exit_code == 1, refused.output
    assert "This upgrade destroys data" in refused.stderr
    assert expected in refused.stderr
    assert not_expected not in refused.stderr.split("destroys data", 1)[1].split("Refusing")[0]
    assert "Nothing was changed" in refused.stderr
    assert cli(*base, "--json", "current").json()["current"] == ["l7_phone"]
    assert query(database_url, "SELECT count(*), count(content) FROM posts")[0] == (12, 12)
    assert query(database_url, "SELECT count(*) FROM votes")[0][0] == 2


def test_truncate_is_guarded_on_postgresql(cli, course_workspace: Path, postgres_url: str) -> None:
    base = with_data(cli, course_workspace, postgres_url)
    write_sql_revision(course_workspace, ["TRUNCATE votes"])
    refused = cli(*base, "upgrade")
    assert refused.exit_code == 1
    assert "votes: 2 rows will be lost" in refused.stderr
    assert query(postgres_url, "SELECT count(*) FROM votes")[0][0] == 2


def test_a_rebuilt_table_with_yes_reports_the_loss_in_json(
    cli, course_workspace: Path, database_url: str
) -> None:
    base = with_data(cli, course_workspace, database_url)
    write_sql_revision(course_workspace, REBUILT)
    data = cli(*base, "--json", "upgrade", "--yes").json()
    assert data["current"] == ["l6_data"]
    assert [{k: loss[k] for k in ("table", "column", "count")} for loss in data["data_lost"]] == [
        {"table": "votes", "column": None, "count": 2}
    ]
    assert query(database_url, "SELECT count(*) FROM votes")[0][0] == 0


def test_data_added_or_changed_is_not_a_loss(
    cli, course_workspace: Path, database_url: str
) -> None:
    base = with_data(cli, course_workspace, database_url)
    write_sql_revision(
        course_workspace,
        [
            "INSERT INTO votes (user_id, post_id) VALUES (1, 3)",
            "UPDATE posts SET title = content",
            "DELETE FROM votes WHERE post_id = 3",
        ],
    )
    result = cli(*base, "upgrade")
    assert result.exit_code == 0, result.output
    assert "will be lost" not in result.output
    assert query(database_url, "SELECT count(*) FROM posts WHERE title = content")[0][0] == 12
