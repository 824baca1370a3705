"""Errors are one clear paragraph on stderr, a non-zero exit code and no traceback."""

from __future__ import annotations

from pathlib import Path


def assert_clean_failure(result, *fragments: str) -> None:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_no_workspace_suggests_init(cli, tmp_path: Path) -> None:
    assert_clean_failure(cli("-w", str(tmp_path), "current"), "migtutor init", str(tmp_path))


def test_unreachable_server_names_host_but_not_password(cli, workspace: Path) -> None:
    url = "postgresql+psycopg2://postgres:NeverShowMe@127.0.0.1:1/nowhere"
    result = cli("-w", str(workspace), "-d", url, "current")
    assert_clean_failure(result, "127.0.0.1:1", "Cannot connect")
    assert "NeverShowMe" not in result.output


def test_missing_database_is_explained(cli, workspace: Path, postgres_server: str) -> None:
    url = postgres_server.rsplit("/", 1)[0] + "/mt_no_such_database"
    assert_clean_failure(cli("-w", str(workspace), "-d", url, "current"), "does not exist")


def test_unknown_and_ambiguous_revisions(cli, course_workspace: Path) -> None:
    ws = ["-w", str(course_workspace)]
    assert_clean_failure(cli(*ws, "upgrade", "zzz999"), "zzz999", "migtutor history")
    for rev_id in ("abcd01", "abcd02"):
        cli(*ws, "revision", "-m", rev_id, "--rev-id", rev_id, "--head", "l7_phone", "--splice")
    assert_clean_failure(cli(*ws, "show", "abcd"), "abcd01", "more characters")


def test_revision_file_that_fails_to_import_is_named(cli, course_workspace: Path) -> None:
    broken = course_workspace / "migrations" / "versions" / "l3_users_add_user_table.py"
    broken.write_text(broken.read_text().replace("def downgrade() -> None:", "def downgrade(:"))
    result = cli("-w", str(course_workspace), "history")
    assert_clean_failure(result, broken.name, "line")


def test_failing_migration_is_named_and_rolled_back(
    cli, course_workspace: Path, database_url: str
) -> None:
    ws = ["-w", str(course_workspace), "-d", database_url]
    bad = course_workspace / "migrations" / "versions" / "l3_users_add_user_table.py"
    bad.write_text(
        bad.read_text().replace(
            '    op.create_table(\n        "users",',
            '    op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))\n'
            '    op.drop_table("no_such_table")\n'
            '    op.create_table(\n        "users",',
        )
    )
    result = cli(*ws, "upgrade", "head")
    assert_clean_failure(result, "l3_users", "rolled back", "l2_content")
    assert cli(*ws, "--json", "current").json()["current"] == ["l2_content"]
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert "half_done" not in tables and "posts" in tables


def test_debug_shows_the_traceback(cli, tmp_path: Path) -> None:
    result = cli("-w", str(tmp_path), "--debug", "current")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
