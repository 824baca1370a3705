"""The states a learner gets stuck in: each is driven through the learner's own commands, the
advice given is asserted, and following that advice is shown to work, on both backends."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import sqlalchemy as sa
from revision_files import write_revision

CONTENT_NOT_NULL = 'op.add_column("posts", sa.Column("content", sa.String(), nullable=False))'
CONTENT_IN_THREE_STEPS = """
op.add_column("posts", sa.Column("content", sa.String(), nullable=True))
op.execute("UPDATE posts SET content = '' WHERE content IS NULL")
with op.batch_alter_table("posts") as batch_op:
    batch_op.alter_column("content", existing_type=sa.String(), nullable=False)
"""
DROP_CONTENT = 'op.drop_column("posts", "content")'


def rows(url: str, query: str) -> list[tuple]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


def columns(url: str, table: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return [c["name"] for c in sa.inspect(engine).get_columns(table)]
    finally:
        engine.dispose()


def at_lesson(cli, workspace: Path, url: str, lesson: int, *, seed: bool = False):
    """The workspace and database as the course has them at the start of `lesson`."""
    extra = ["--seed"] if seed else []
    reset = cli("-w", str(workspace), "-d", url, "reset", "--to", f"lesson:{lesson}", *extra,
                "--yes")  # fmt: skip
    assert reset.exit_code == 0, reset.output

    def run(*args: str, expect: int | None = 0):
        result = cli("-w", str(workspace), "-d", url, *args)
        if expect is not None:
            assert result.exit_code == expect, f"{args}: {result.output}"
        return result

    assert run("lesson", "goto", str(lesson)).exit_code == 0
    return run


def test_a_not_null_column_fails_the_check_when_the_database_holds_rows(
    cli, workspace: Path, database_url: str
) -> None:
    run = at_lesson(cli, workspace, database_url, 2, seed=True)
    assert rows(database_url, "SELECT count(*) FROM posts") == [(4,)]
    write_revision(workspace, "c0ffee000002", "l1_posts", CONTENT_NOT_NULL, DROP_CONTENT,
                   message="add content column to posts table")  # fmt: skip
    failed = run("--json", "lesson", "check", expect=1).json()
    text = " ".join(failed["problems"])
    assert "failed on a scratch copy" in text, text
    assert "sample rows" in text and "server_default" in text, text
    assert "nullable" in text and "UPDATE" in text, text
    # The check tried it elsewhere: the learner's posts are untouched.
    assert "content" not in columns(database_url, "posts")
    assert rows(database_url, "SELECT count(*) FROM posts") == [(4,)]

    write_revision(workspace, "c0ffee000002", "l1_posts", CONTENT_IN_THREE_STEPS, DROP_CONTENT,
                   message="add content column to posts table")  # fmt: skip
    assert run("--json", "lesson", "check").json()["passed"] is True
    run("upgrade", "head")
    assert rows(database_url, "SELECT count(*) FROM posts WHERE content = ''") == [(4,)]


def test_an_empty_database_keeps_the_scratch_copy_empty(
    cli, workspace: Path, database_url: str
) -> None:
    run = at_lesson(cli, workspace, database_url, 2)
    write_revision(workspace, "c0ffee000002", "l1_posts", CONTENT_NOT_NULL, DROP_CONTENT,
                   message="add content column to posts table")  # fmt: skip
    assert run("--json", "lesson", "check").json()["passed"] is True


def test_two_heads_are_named_and_the_merge_it_advises_works(
    cli, workspace: Path, database_url: str
) -> None:
    run = at_lesson(cli, workspace, database_url, 2)
    write_revision(workspace, "c0ffee000002", "l1_posts", CONTENT_NOT_NULL, DROP_CONTENT,
                   message="add content column to posts table")  # fmt: skip
    write_revision(workspace, "c0ffee000003", "l1_posts",
                   'op.add_column("posts", sa.Column("summary", sa.String()))',
                   'op.drop_column("posts", "summary")', message="add summary")  # fmt: skip
    text = " ".join(run("--json", "lesson", "check", expect=1).json()["problems"])
    assert "forked" in text and "all follow l1_posts" in text, text
    assert "down_revision" in text and "upgrade head" in text, text
    merge = re.search(r"`migtutor (merge [^`]+)`", text)
    assert merge and {"c0ffee000002", "c0ffee000003"} <= set(merge.group(1).split()), text

    run(*shlex.split(merge.group(1)))
    assert run("--json", "lesson", "check").json()["passed"] is True
    run("upgrade", "head")
    assert {"content", "summary"} <= set(columns(database_url, "posts"))


def test_an_empty_autogenerate_is_explained_and_not_kept_in_a_lesson(
    cli, workspace: Path, database_url: str
) -> None:
    from test_learner_journey import VOTE_MODEL

    run = at_lesson(cli, workspace, database_url, 6)
    versions = workspace / "migrations" / "versions"
    before = sorted(versions.glob("*.py"))
    refused = run("revision", "--autogenerate", "-m", "auto vote", expect=1)
    assert "found no difference" in refused.stderr, refused.stderr
    assert "not imported where migrations/env.py reads the metadata" in refused.stderr
    assert "was not kept" in refused.stderr and "--keep-empty" in refused.stderr
    assert "Traceback" not in refused.output
    assert sorted(versions.glob("*.py")) == before

    # The advice followed: the model defined where env.py looks, then the same command.
    models = workspace / "app" / "models.py"
    models.write_text(models.read_text(encoding="utf-8") + VOTE_MODEL, encoding="utf-8")
    made = run("--json", "revision", "--autogenerate", "-m", "auto vote").json()
    assert made["warnings"] == []
    assert re.search(r"op\.create_table\(\s*['\"]votes", Path(made["path"]).read_text())
    run("upgrade", "head")
    assert "votes" in sa.inspect(sa.create_engine(database_url)).get_table_names()


def test_outside_a_lesson_an_empty_autogenerate_is_kept_with_a_warning(
    cli, workspace: Path, tmp_path: Path
) -> None:
    ws = ("-w", str(workspace), "-d", f"sqlite:///{tmp_path / 'plain.db'}")
    assert not (workspace / ".migtutor" / "progress.json").exists()
    assert cli(*ws, "revision", "--autogenerate", "-m", "everything").exit_code == 0
    assert cli(*ws, "upgrade", "head").exit_code == 0
    made = cli(*ws, "--json", "revision", "--autogenerate", "-m", "nothing")
    assert made.exit_code == 0, made.output
    data = made.json()
    assert Path(data["path"]).exists()
    assert "found no difference" in data["warnings"][0]


def test_a_relative_downgrade_at_a_merge_point_names_the_way_back(
    cli, workspace: Path, database_url: str
) -> None:
    ws = ("-w", str(workspace), "-d", database_url)
    write_revision(workspace, "a1", None, 'op.create_table("a", sa.Column("id", sa.Integer()))',
                   'op.drop_table("a")')  # fmt: skip
    write_revision(workspace, "b1", None, 'op.create_table("b", sa.Column("id", sa.Integer()))',
                   'op.drop_table("b")')  # fmt: skip
    assert cli(*ws, "merge", "a1", "b1", "-m", "join", "--rev-id", "m1").exit_code == 0
    assert cli(*ws, "upgrade", "head").exit_code == 0
    stuck = cli(*ws, "downgrade", "-1", "--yes")
    assert stuck.exit_code == 1 and "Traceback" not in stuck.output
    assert "merge revision" in stuck.stderr and "migtutor downgrade <id>" in stuck.stderr
    assert "Ambiguous walk" not in stuck.stderr
    assert cli(*ws, "downgrade", "a1", "--yes").exit_code == 0  # the advice works
    assert sorted(rows(database_url, "SELECT version_num FROM alembic_version")) == [
        ("a1",),
        ("b1",),
    ]
    assert cli(*ws, "downgrade", "base", "--yes").exit_code == 0


def test_a_downgrade_that_does_not_undo_says_what_is_left(
    cli, workspace: Path, database_url: str
) -> None:
    ws = ("-w", str(workspace), "-d", database_url)
    write_revision(workspace, "c0ffee000001", None,
                   'op.create_table("posts", sa.Column("id", sa.Integer(), primary_key=True),'
                   ' sa.Column("title", sa.String(), nullable=False))',
                   'op.execute("SELECT 1")', message="create posts table")  # fmt: skip
    assert cli(*ws, "lesson", "check").exit_code == 0  # step 1: the revision exists
    text = " ".join(cli(*ws, "--json", "lesson", "check").json()["problems"])
    assert "table posts is there, though it was not before" in text, text
    assert "after it," not in text


def test_batch_operations_with_sql_on_sqlite_are_explained(cli, workspace: Path, tmp_path) -> None:
    ws = ("-w", str(workspace), "-d", f"sqlite:///{tmp_path / 'b.db'}")
    write_revision(workspace, "a1", None,
                   'with op.batch_alter_table("posts") as batch_op:\n'
                   '    batch_op.alter_column("title", nullable=False)')  # fmt: skip
    result = cli(*ws, "upgrade", "head", "--sql")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "--sql" in result.stderr and "PostgreSQL" in result.stderr, result.stderr


def test_a_deleted_revision_file_gets_the_same_advice_from_every_command(
    cli, workspace: Path, database_url: str, tmp_path: Path
) -> None:
    ws = ("-w", str(workspace), "-d", database_url)
    first = write_revision(workspace, "c0ffee000001", None,
                           'op.create_table("posts", sa.Column("id", sa.Integer(),'
                           ' primary_key=True), sa.Column("title", sa.String(), nullable=False))',
                           'op.drop_table("posts")', message="create posts table")  # fmt: skip
    second = write_revision(workspace, "c0ffee000002", "c0ffee000001", CONTENT_IN_THREE_STEPS,
                            DROP_CONTENT, message="add content column to posts table")  # fmt: skip
    assert cli(*ws, "upgrade", "head").exit_code == 0
    saved = tmp_path / "saved.py"
    assert cli(*ws, "lesson", "goto", "1").exit_code == 0
    progress = workspace / ".migtutor" / "progress.json"
    # Step 3 of lesson 1: the database at the head, with its posts table.
    progress.write_text('{"lesson": 1, "step": 2, "completed": []}', encoding="utf-8")

    # The head's file, which the database is at, deleted.
    second.replace(saved)
    for command in (["current"], ["history"], ["--json", "lesson", "check"]):
        result = cli(*ws, *command)
        text = result.stderr + result.stdout
        assert "restore the file" in text.lower(), (command, text)
        assert "stamp --purge" in text, (command, text)
        assert "upgrade head" not in text and "downgrade base" not in text, (command, text)
    saved.replace(second)  # the advice followed
    assert cli(*ws, "current").exit_code == 0
    assert "Warning" not in cli(*ws, "current").stderr

    # A file in the middle of the chain deleted: every command names the fix that works.
    first.replace(saved)
    for command in (["current"], ["history"], ["--json", "lesson", "check"]):
        result = cli(*ws, *command)
        text = result.stderr + result.stdout
        assert "Restore the deleted file" in text, (command, text)
        assert "see `migtutor history`" not in text, (command, text)
    saved.replace(first)
    assert cli(*ws, "history").exit_code == 0


def test_a_misspelt_operation_is_named_with_its_line_and_the_likely_one(
    cli, workspace: Path, tmp_path: Path
) -> None:
    ws = ("-w", str(workspace), "-d", f"sqlite:///{tmp_path / 'typo.db'}")
    typo = 'op.create_tabel("posts", sa.Column("id", sa.Integer(), primary_key=True),'
    typo += ' sa.Column("title", sa.String(), nullable=False))'
    path = write_revision(workspace, "c0ffee000001", None, typo, 'op.drop_table("posts")',
                          message="create posts table")  # fmt: skip
    assert cli(*ws, "lesson", "check").exit_code == 0  # step 1: the revision exists
    result = cli(*ws, "--json", "lesson", "check")
    text = " ".join(result.json()["problems"])
    line = path.read_text().splitlines().index(f"    {typo}") + 1
    assert f"line {line}: op.create_tabel" in text, text
    assert "Did you mean op.create_table?" in text, text
    path.write_text(path.read_text().replace("create_tabel", "create_table"))
    fixed = cli(*ws, "--json", "lesson", "check").json()
    assert fixed["passed"] is True, fixed


def test_a_revision_made_twice_leaves_an_empty_head_that_check_flags(
    cli, workspace: Path, database_url: str
) -> None:
    ws = ("-w", str(workspace), "-d", database_url)
    write_revision(workspace, "c0ffee000001", None,
                   'op.create_table("posts", sa.Column("id", sa.Integer(), primary_key=True),'
                   ' sa.Column("title", sa.String(), nullable=False))',
                   'op.drop_table("posts")', message="create posts table")  # fmt: skip
    assert cli(*ws, "upgrade", "head").exit_code == 0
    again = cli(*ws, "--json", "revision", "-m", "create posts table")  # run twice by mistake
    assert again.exit_code == 0, again.output
    assert cli(*ws, "lesson", "goto", "1").exit_code == 0
    progress = workspace / ".migtutor" / "progress.json"
    progress.write_text('{"lesson": 1, "step": 2, "completed": []}', encoding="utf-8")
    text = " ".join(cli(*ws, "--json", "lesson", "check").json()["problems"])
    assert "upgrade() is empty" in text and "delete the file" in text, text
    assert "Run `migtutor upgrade head`" not in text, text
    Path(again.json()["path"]).unlink()  # the advice followed
    assert cli(*ws, "--json", "lesson", "check").json()["passed"] is True


def test_the_now_message_says_each_thing_once(cli, workspace: Path, tmp_path: Path) -> None:
    from test_learner_journey import CREATE_USERS

    url = f"sqlite:///{tmp_path / 'now.db'}"
    run = at_lesson(cli, workspace, url, 3)
    progress = workspace / ".migtutor" / "progress.json"
    progress.write_text('{"lesson": 3, "step": 2, "completed": [1, 2]}', encoding="utf-8")
    upgrade = CREATE_USERS.replace("DEFAULT", 'sa.text("now()")')
    write_revision(workspace, "c0ffee000003", "l2_content", upgrade, 'op.drop_table("users")',
                   message="add user table")  # fmt: skip
    problems = run("--json", "lesson", "check", expect=1).json()["problems"]
    text = " ".join(problems)
    assert "now()" in text, text
    assert text.count('sa.text("now()") is PostgreSQL-only') == 1, text
