"""Views (issue 4): graph, schema, the schema diff after moves, --explain; SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa


def run_sql(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_graph_marks_head_and_current(cli, course_workspace: Path, database_url: str) -> None:
    base = ("-w", str(course_workspace), "-d", database_url)
    assert cli(*base, "upgrade", "l3_users").exit_code == 0
    result = cli(*base, "graph")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("* l7_phone (head)")
    assert "add phone number" in lines[0]
    assert lines[4].startswith("* l3_users (current)")
    assert lines[-1].startswith("* l1_posts") and "create posts table" in lines[-1]

    data = cli(*base, "--json", "graph").json()
    assert [node["revision"] for node in data["nodes"]] == [
        "l7_phone",
        "l6_votes",
        "l5_published",
        "l4_owner_fk",
        "l3_users",
        "l2_content",
        "l1_posts",
    ]
    assert data["nodes"][0] == {
        "revision": "l7_phone",
        "message": "add phone number",
        "is_head": True,
        "is_current": False,
    }
    assert data["nodes"][4]["is_current"] is True
    assert {"from": "l6_votes", "to": "l7_phone"} in data["edges"]
    assert len(data["edges"]) == 6
    assert cli(*base, "history", "--graph").stdout == result.stdout


def test_graph_draws_branch_and_merge_points(cli, workspace: Path, database_url: str) -> None:
    base = ("-w", str(workspace), "-d", database_url)
    assert cli(*base, "revision", "-m", "root", "--rev-id", "root").exit_code == 0
    assert cli(*base, "revision", "-m", "left", "--rev-id", "left").exit_code == 0
    created = cli(
        *base, "revision", "-m", "right", "--rev-id", "right", "--head", "root", "--splice"
    )
    assert created.exit_code == 0, created.output
    assert cli(*base, "upgrade", "left").exit_code == 0

    forked = cli(*base, "graph").stdout.splitlines()
    assert forked[0].startswith("* ") and "(head)" in forked[0]
    assert forked[1].startswith("| * ") and "(head)" in forked[1]
    assert "left (head) (current)" in "\n".join(forked)
    assert forked[2] == "|/"
    assert forked[3].split()[:2] == ["*", "root"] and "(branch point)" in forked[3]

    assert cli(*base, "merge", "heads", "-m", "join", "--rev-id", "join").exit_code == 0
    merged = cli(*base, "graph").stdout.splitlines()
    assert merged[0].split()[:3] == ["*", "join", "(head)"] and "(merge point)" in merged[0]
    assert merged[1] == "|\\"
    assert merged[-2] == "|/"
    data = cli(*base, "--json", "graph").json()
    assert {"from": "left", "to": "join"} in data["edges"]
    assert {"from": "right", "to": "join"} in data["edges"]
    assert [n["revision"] for n in data["nodes"] if n["is_head"]] == ["join"]


def test_schema_shows_columns_keys_constraints_and_rows(
    cli, course_workspace: Path, database_url: str
) -> None:
    base = ("-w", str(course_workspace), "-d", database_url)
    assert cli(*base, "upgrade", "head").exit_code == 0
    run_sql(
        database_url,
        "INSERT INTO users (id, email, password) VALUES (1, 'ada@example.com', 'x')",
        "INSERT INTO posts (id, title, content, owner_id) "
        "VALUES (1, 'a', 'b', 1), (2, 'c', 'd', 1)",
    )
    result = cli(*base, "schema")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "posts (2 rows)" in out
    assert "users (1 row)" in out
    assert "votes (0 rows)" in out
    assert "FK -> users.id" in out
    assert "post_users_fk (owner_id) -> users(id) ON DELETE CASCADE" in out
    assert "UNIQUE (email)" in out
    assert "PRIMARY KEY pk_votes (user_id, post_id)" in out
    assert "NOT NULL" in out
    assert ("now()" in out) or ("CURRENT_TIMESTAMP" in out)

    only = cli(*base, "schema", "posts")
    assert "posts (2 rows)" in only.stdout and "users (" not in only.stdout

    data = cli(*base, "--json", "schema", "posts").json()
    (posts,) = data["tables"]
    assert posts["row_count"] == 2
    assert [c["name"] for c in posts["columns"]] == [
        "id",
        "title",
        "content",
        "owner_id",
        "published",
        "created_at",
    ]
    assert posts["foreign_keys"][0]["ondelete"] == "CASCADE"

    missing = cli(*base, "schema", "comments")
    assert missing.exit_code == 1
    assert "no table 'comments'" in missing.stderr and "posts" in missing.stderr
    assert "Traceback" not in missing.output


def test_schema_changes_are_printed_after_each_move(
    cli, course_workspace: Path, database_url: str
) -> None:
    base = ("-w", str(course_workspace), "-d", database_url)
    first = cli(*base, "upgrade", "l2_content")
    assert first.exit_code == 0, first.output
    assert "+ table posts: (id, title, content)" in first.stdout

    second = cli(*base, "upgrade", "l4_owner_fk")
    assert "+ table users" in second.stdout
    assert "+ column posts.owner_id: INTEGER NOT NULL" in second.stdout
    assert "ON DELETE CASCADE" in second.stdout

    down = cli(*base, "downgrade", "-1")
    assert down.exit_code == 0, down.output
    assert "- column posts.owner_id" in down.stdout
    assert "- foreign key" in down.stdout

    quiet = cli(*base, "upgrade", "--quiet", "head")
    assert quiet.exit_code == 0 and "Schema changes" not in quiet.stdout
    assert "Database is now at l7_phone" in quiet.stdout

    assert "- table votes: (user_id, post_id)" in cli(*base, "downgrade", "l4_owner_fk").stdout

    stamped = cli(*base, "stamp", "l1_posts")
    assert stamped.exit_code == 0, stamped.output
    assert "Schema unchanged." in stamped.stdout


def test_explain_shows_command_revisions_and_sql_then_runs(
    cli, course_workspace: Path, database_url: str
) -> None:
    base = ("-w", str(course_workspace), "-d", database_url)
    result = cli(*base, "upgrade", "--explain", "l3_users")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "alembic upgrade l3_users" in out
    assert "export MIGTUTOR_DATABASE_URL=" in out
    first = out.index("1. upgrade <base> -> l1_posts: create posts table")
    third = out.index("3. upgrade l2_content -> l3_users: add user table")
    assert first < third
    assert "alembic upgrade l3_users --sql" in out
    assert "CREATE TABLE users" in out
    assert out.index("CREATE TABLE posts") < out.index("CREATE TABLE users")
    assert "Database is now at l3_users" in out  # then it ran

    down = cli(*base, "downgrade", "--explain", "l1_posts")
    assert down.exit_code == 0, down.output
    assert "alembic downgrade l1_posts" in down.stdout
    assert down.stdout.index("1. downgrade l3_users") < down.stdout.index("2. downgrade l2_content")
    assert "DROP TABLE users" in down.stdout
    assert "Database is now at l1_posts" in down.stdout

    nothing = cli(*base, "upgrade", "--explain", "l1_posts")
    assert "No revision to run" in nothing.stdout


def test_revision_explain(cli, course_workspace: Path, database_url: str) -> None:
    base = ("-w", str(course_workspace), "-d", database_url)
    result = cli(*base, "revision", "--explain", "-m", "add bio", "--rev-id", "bio")
    assert result.exit_code == 0, result.output
    assert "alembic revision -m 'add bio'" in result.stdout
    assert "down_revision = 'l7_phone'" in result.stdout
    assert "alembic upgrade l7_phone:bio --sql" in result.stdout
    assert "UPDATE alembic_version SET version_num='bio'" in result.stdout
    assert "Created revision bio" in result.stdout


def lesson_end_output(capsys, before, after) -> list[str]:
    from migtutor import render, views

    render.configure(no_color=True)  # consoles on the captured stdout
    views.lesson_change(before, after)
    render.configure(no_color=False)
    return capsys.readouterr().out.splitlines()


def test_lesson_end_shows_the_tables_it_added_or_changed(
    capsys, course_workspace: Path, database_url: str, cli
) -> None:
    """The picture at the end of each lesson: its start (from the course data) against now."""
    from migtutor import course
    from migtutor.database import connected
    from migtutor.lesson_end import schema_at_start, tables_at_start
    from migtutor.reset import reference_schemas
    from migtutor.schema import snapshot

    schemas = reference_schemas()
    base = ("-w", str(course_workspace), "-d", database_url)
    for number, revision in enumerate(course.reference_ids(), start=1):
        assert cli(*base, "upgrade", revision).exit_code == 0
        with connected(database_url) as connection:
            now = snapshot(connection, row_counts=False)
        before = schema_at_start(now, tables_at_start(number))
        lines = lesson_end_output(capsys, before, now)
        start = schemas[course.reference_ids()[number - 2] if number > 1 else None]
        end = schemas[revision]
        assert lines[0].startswith("What this lesson changed in the schema")
        for table, columns in end.items():
            if table not in start:
                assert f"  + table {table}" in lines
                for column in columns:
                    assert any(line.startswith(f"      + {column} ") for line in lines)
            elif columns != start[table]:
                assert f"    table {table}" in lines
                for column in columns - start[table]:
                    assert any(line.startswith(f"      + {column} ") for line in lines)
                for column in start[table]:  # the rest of the table, unmarked
                    assert any(line.startswith(f"        {column} ") for line in lines)
            else:
                assert not any(line.strip().endswith(f"table {table}") for line in lines)
    assert tables_at_start(course.lesson_count() + 1) is None
    assert tables_at_start(course.lesson_count()) is None  # lesson 8 adds no revision: no picture

    with connected(database_url) as connection:
        now = snapshot(connection, row_counts=False)
    unchanged = lesson_end_output(capsys, now, now)
    assert unchanged == ["This lesson left the schema's tables as they were."]


def test_lesson_check_finishing_a_lesson_shows_its_schema_change(
    cli, workspace: Path, database_url: str
) -> None:
    import json
    import shutil

    from migtutor.lessons import load_lessons

    repo = Path(__file__).resolve().parent.parent
    for prefix in ("l1_", "l2_", "l3_"):
        for script in (repo / "migrations" / "versions").glob(f"{prefix}*.py"):
            shutil.copy(script, workspace / "migrations" / "versions" / script.name)
    base = ("-w", str(workspace), "-d", database_url)
    assert cli(*base, "upgrade", "l3_users").exit_code == 0
    last = len(load_lessons()[2].steps) - 1
    progress = {"lesson": 3, "step": last, "completed": [1, 2]}
    (workspace / ".migtutor").mkdir(exist_ok=True)
    (workspace / ".migtutor" / "progress.json").write_text(json.dumps(progress))
    assert cli(*base, "history").exit_code == 0  # the last step asks the learner to read it

    result = cli(*base, "lesson", "check")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("What this lesson changed in the schema (+ new):")
    assert lines[start + 1] == "  + table users"
    assert [line.split()[1] for line in lines[start + 2 : start + 6]] == [
        "id", "email", "password", "created_at",
    ]  # fmt: skip
    assert all(line.startswith("      + ") for line in lines[start + 2 : start + 6])
    assert "table posts" not in result.stdout  # lesson 3 left posts alone
