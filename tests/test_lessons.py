"""The course: lesson files, the lesson commands, and the reference solution passing every step."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from recovery import fill_in, get_out

from migtutor.lessons import load_lessons

REPO = Path(__file__).resolve().parent.parent


def test_every_lesson_file_is_valid(cli):
    result = cli("lesson", "lint")
    assert result.exit_code == 0, result.output
    assert "All 8 lesson files" in result.stdout
    lessons = load_lessons()
    assert [lesson.slug for lesson in lessons] == [
        "posts",
        "content",
        "users",
        "owner-fk",
        "published",
        "votes",
        "phone",
        "recovery",
    ]
    messages = [step.check.get("revision_message") for lesson in lessons for step in lesson.steps]
    for message in (
        "create posts table",
        "add content column to posts table",
        "add user table",
        "add foreign-key to posts table",
        "auto vote",
    ):
        assert message in messages


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("title = 'x'\ngoal = \n", "01-bad.toml: not valid TOML"),
        ("goal = 'g'\n[[steps]]\ntext='t'\nhint='h'\ncheck={}\n", "01-bad.toml: title: required"),
        (
            "title='t'\nrevision='r'\ngoal='g'\n[[steps]]\ntext='t'\nhint='h'\n"
            "check={ at_hed = true }\n",
            "01-bad.toml: steps[0].check.at_hed: unknown key",
        ),
        (
            "title='t'\nrevision='r'\ngoal='g'\n[[steps]]\ntext='t'\nhint='h'\n"
            "check={ columns = [{ name = 'posts.id', type = 'varchar' }] }\n",
            "01-bad.toml: steps[0].check.columns[0].type: expected one of integer",
        ),
        (
            "title='t'\nrevision='r'\ngoal='g'\n[[steps]]\ntext='t'\nhint='h'\n"
            "check={ head_count = 'one' }\n",
            "01-bad.toml: steps[0].check.head_count: expected a number",
        ),
        (
            "title='t'\nrevision='r'\ngoal='g'\n[[steps]]\ntext='t'\nhint='h'\n"
            "check={ foreign_keys = ['posts.owner_id users.id'] }\n",
            "01-bad.toml: steps[0].check.foreign_keys[0]",
        ),
        (
            "title='t'\nrevision='r'\ngoal='g'\n[[steps]]\ntext='t'\nhint='h'\n"
            "check={ rows = { posts = 'some' } }\n",
            "01-bad.toml: steps[0].check.rows.posts: expected the least number of rows",
        ),
        (
            "title='t'\nrevision='r'\ngoal='g'\n[[steps]]\ntext='t'\nhint='h'\n"
            "check={ pending_columns = ['phone_number'] }\n",
            "01-bad.toml: steps[0].check.pending_columns: 'phone_number' is not TABLE.COLUMN",
        ),
        (
            "title='t'\nrevision='r'\ngoal='g'\n[[steps]]\ntext='t'\ncheck={}\n",
            "steps[0].hint: required",
        ),
        (
            "title='t'\nrevision='not an id'\ngoal='g'\n[[steps]]\ntext='t'\nhint='h'\ncheck={}\n",
            "01-bad.toml: revision: 'not an id' is not a revision id",
        ),
        (
            "title='t'\ngoal='g'\n[[steps]]\ntext='t'\nhint='h'\ncheck={}\n"
            "setup={ scenario = 'flood' }\n",
            "01-bad.toml: steps[0].setup.scenario: expected one of applied_empty",
        ),
        (
            "title='t'\ngoal='g'\n[[steps]]\ntext='t'\nhint='h'\ncheck={}\n"
            "setup={ scenario = 'two_heads', message = 'm' }\n",
            "01-bad.toml: steps[0].setup.downgrade: required",
        ),
    ],
)
def test_malformed_lesson_file_names_file_and_key(cli, tmp_path, monkeypatch, content, expected):
    (tmp_path / "01-bad.toml").write_text(content, encoding="utf-8")
    monkeypatch.setenv("MIGTUTOR_LESSONS_DIR", str(tmp_path))
    result = cli("lesson", "lint")
    assert result.exit_code == 1
    assert expected in result.stderr
    listed = cli("-w", str(tmp_path), "lesson", "list")
    assert listed.exit_code == 1
    assert expected in listed.stderr
    assert "Traceback" not in listed.output


def test_missing_lessons_directory_is_a_clear_error(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MIGTUTOR_LESSONS_DIR", str(tmp_path / "nowhere"))
    result = cli("lesson", "list")
    assert result.exit_code == 1
    assert "lessons directory" in result.stderr and "nowhere" in result.stderr


def test_list_json_on_a_fresh_workspace(cli, workspace):
    result = cli("-w", str(workspace), "--json", "lesson", "list")
    assert result.exit_code == 0, result.output
    data = result.json()
    assert [item["status"] for item in data] == ["current"] + ["todo"] * 7
    assert set(data[0]) == {"number", "slug", "title", "status", "steps_done", "steps_total"}
    assert data[0]["number"] == 1 and data[0]["slug"] == "posts" and data[0]["steps_done"] == 0
    assert not (workspace / ".migtutor").exists()  # reading never writes


def test_show_hint_solution_goto_reset(cli, workspace):
    ws = ("-w", str(workspace))
    shown = cli(*ws, "lesson", "show")
    assert shown.exit_code == 0, shown.output
    assert 'migtutor revision -m "create posts table"' in shown.stdout
    assert "Lesson 1/8" in shown.stdout
    assert cli(*ws, "lesson").stdout == shown.stdout  # bare `lesson` shows the current step
    third = cli(*ws, "lesson", "show", "3")
    assert "Lesson 3/8" in third.stdout and "add user table" in third.stdout
    assert "sa.func.now()" in cli(*ws, "lesson", "show", "3", "--step", "3").stdout
    assert "Hint" in cli(*ws, "lesson", "hint").stdout
    moved = cli(*ws, "lesson", "goto", "4")
    assert moved.exit_code == 0, moved.output
    solution = cli(*ws, "lesson", "solution")
    assert "post_users_fk" in solution.stdout and "drop_constraint" in solution.stdout
    data = cli(*ws, "--json", "lesson", "list").json()
    assert data[3]["status"] == "current"
    progress = json.loads((workspace / ".migtutor" / "progress.json").read_text())
    assert progress["lesson"] == 4 and progress["step"] == 0
    reset = cli(*ws, "lesson", "reset", "2")
    assert reset.exit_code == 0 and "starts over" in reset.stdout
    assert cli(*ws, "--json", "lesson", "list").json()[1]["status"] == "current"
    missing = cli(*ws, "lesson", "goto", "9")
    assert missing.exit_code == 1 and "no lesson 9" in missing.stderr


def test_corrupt_progress_is_recovered(cli, workspace):
    progress = workspace / ".migtutor" / "progress.json"
    progress.parent.mkdir()
    progress.write_text("{not json", encoding="utf-8")
    result = cli("-w", str(workspace), "--json", "lesson", "list")
    assert result.exit_code == 0, result.output
    assert "could not be read" in result.stderr
    assert result.json()[0]["status"] == "current"
    assert (workspace / ".migtutor" / "progress.json.broken").read_text() == "{not json"
    again = cli("-w", str(workspace), "lesson", "list")
    assert again.exit_code == 0 and "could not be read" not in again.stderr


def test_progress_pointing_nowhere_is_recovered(cli, workspace):
    progress = workspace / ".migtutor" / "progress.json"
    progress.parent.mkdir()
    progress.write_text(json.dumps({"lesson": 3, "step": 42, "completed": [1, 2]}))
    result = cli("-w", str(workspace), "--json", "lesson", "list")
    assert result.exit_code == 0
    assert "starting that lesson over" in result.stderr
    assert [item["status"] for item in result.json()][:3] == ["done", "done", "current"]


def test_check_outside_a_workspace_is_a_clear_error(cli, tmp_path):
    result = cli("-w", str(tmp_path), "lesson", "check")
    assert result.exit_code == 1
    assert "migtutor init" in result.stderr


def test_reading_commands_import_no_database_library(workspace):
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from migtutor.cli import app\n"
        f"ws = {str(workspace)!r}\n"
        "for args in (['lesson', 'list'], ['lesson', 'show'], ['lesson', 'hint']):\n"
        "    result = CliRunner().invoke(app, ['-w', ws, *args])\n"
        "    assert result.exit_code == 0, result.output\n"
        "loaded = [m for m in ('sqlalchemy', 'alembic', 'psycopg2') if m in sys.modules]\n"
        "print(loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# -- the reference solution passes every step --------------------------------------------------


# Lesson commands that name a revision by id: a learner copies their own, the reference has these.
REFERENCE_IDS_IN_COMMANDS = {"<content id>": "l2_content"}


def run_step_command(cli, ws: Path, url: str, command: str) -> None:
    """Run a lesson's `migtutor ...` command as the learner would type it."""
    for placeholder, revision in REFERENCE_IDS_IN_COMMANDS.items():
        command = command.replace(placeholder, revision)
    args = shlex.split(command)
    assert args[0] == "migtutor"
    if args[1] in ("reset", "downgrade"):  # they ask on a terminal; the test has none
        args.append("--yes")
    result = cli("-w", str(ws), "-d", url, *args[1:], input="y\n")
    if args[1] != "check":  # `migtutor check` exits 1 while models and database differ
        assert result.exit_code == 0, f"{command}: {result.output}"


def copy_reference_revision(message: str, workspace: Path) -> None:
    for path in (REPO / "migrations" / "versions").glob("*.py"):
        if path.read_text(encoding="utf-8").startswith(f'"""{message}\n'):
            shutil.copy(path, workspace / "migrations" / "versions" / path.name)
            return
    raise AssertionError(f"no reference revision with the message {message!r}")


def lesson_check(cli, ws: Path, url: str) -> dict:
    result = cli("-w", str(ws), "-d", url, "--json", "lesson", "check")
    data = result.json()
    assert result.exit_code == (0 if data["passed"] else 1)
    return data


def test_reference_passes_every_step(cli, workspace, database_url):
    """Play the course with the reference files: each step's check passes, in order."""

    def run(*args: str, expect: int | None = 0):
        result = cli("-w", str(workspace), "-d", database_url, *args)
        if expect is not None:
            assert result.exit_code == expect, f"{args}: {result.output}"
        return result

    for lesson in load_lessons():
        for step in lesson.steps:
            if step.solution.startswith("lessons/models/"):  # the models the learner adds
                models = workspace / "app" / "models.py"
                shutil.copy(REPO / step.solution, models)
            if step.setup:  # a recovery step: broken by its setup, left by migtutor's advice
                run("lesson", "setup", "--yes")
                get_out(run, workspace, step.setup["scenario"])
            elif step.command.startswith("migtutor revision") and not lesson.revision:
                # A revision of the learner's own, not in the course's chain: the step's code.
                made = run("--json", *shlex.split(step.command)[1:]).json()
                fill_in(Path(made["path"]), step.code)
            elif step.command.startswith("migtutor revision"):
                # Instead of generating a revision, take the reference file with that message.
                message = shlex.split(step.command)[-1]
                copy_reference_revision(message, workspace)
            elif step.command:
                run_step_command(cli, workspace, database_url, step.command)
            data = lesson_check(cli, workspace, database_url)
            assert data == {
                "lesson": lesson.number,
                "step": step.number,
                "passed": True,
                "problems": [],
            }, f"lesson {lesson.number} step {step.number}"
    listed = cli("-w", str(workspace), "--json", "lesson", "list").json()
    assert all(item["status"] == "done" for item in listed)
    done = cli("-w", str(workspace), "-d", database_url, "lesson", "check")
    assert done.exit_code == 0 and "finished all 8 lessons" in done.stdout
    # The whole chain: up (done above), down to base, up again.
    ws = ("-w", str(workspace), "-d", database_url, "--json")
    down = cli(*ws, "downgrade", "base", "--yes")
    assert down.exit_code == 0, down.output
    assert down.json()["current"] == []
    up = cli(*ws, "upgrade", "head")
    assert up.exit_code == 0, up.output
    assert up.json()["current"] == [head["revision"] for head in cli(*ws, "heads").json()]


def test_broken_revision_files_are_problems_not_tracebacks(cli, workspace, database_url):
    ws = ("-w", str(workspace), "-d", database_url)
    created = cli(*ws, "--json", "revision", "-m", "create posts table").json()
    passed = cli(*ws, "--no-color", "lesson", "check")
    assert passed.exit_code == 0, passed.output
    assert "Step 1 of lesson 1 done." in passed.stdout
    assert "step 2 of 5" in passed.stdout and "op.drop_table" in passed.stdout  # the next step
    path = Path(created["path"])
    source = path.read_text(encoding="utf-8")
    path.write_text(
        source.replace(
            "def upgrade() -> None:\n    pass", "def upgrade() -> None:\n    op.create_table("
        ),
        encoding="utf-8",
    )
    broken = cli(*ws, "--json", "lesson", "check")
    assert broken.exit_code == 1
    assert path.name in broken.json()["problems"][0]
    path.write_text(
        source.replace(
            "def upgrade() -> None:\n    pass",
            'def upgrade() -> None:\n    op.create_table("posts", sa.Column("id", Integer()))',
        ).replace(
            "def downgrade() -> None:\n    pass",
            'def downgrade() -> None:\n    op.drop_table("posts")',
        ),
        encoding="utf-8",
    )
    failing = cli(*ws, "lesson", "check")
    assert failing.exit_code == 1
    assert "upgrade() of revision" in failing.stdout and "Integer" in failing.stdout
    assert "Traceback" not in failing.output


def test_foreign_keys_hold_as_lesson_4_says(cli, course_workspace, database_url):
    """PostgreSQL refuses a post without its user and cascades a user's deletion; migtutor's
    SQLite engine, like a plain one, enforces neither (no PRAGMA foreign_keys)."""
    import sqlalchemy as sa

    from migtutor.database import create_engine

    ws = ("-w", str(course_workspace), "-d", database_url)
    assert cli(*ws, "upgrade", "head").exit_code == 0
    postgres = database_url.startswith("postgresql")
    for engine in (create_engine(database_url), sa.create_engine(database_url)):
        try:
            with engine.begin() as connection:
                connection.execute(sa.text("DELETE FROM posts"))
                connection.execute(sa.text("DELETE FROM users"))
                connection.execute(
                    sa.text("INSERT INTO users (id, email, password) VALUES (1, 'a@b.c', 'x')")
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO posts (id, title, content, owner_id) VALUES (1, 't', 'c', 1)"
                    )
                )
            orphan = "INSERT INTO posts (id, title, content, owner_id) VALUES (2, 't', 'c', 12345)"
            if postgres:
                with pytest.raises(sa.exc.IntegrityError, match="post_users_fk"):
                    with engine.begin() as connection:
                        connection.execute(sa.text(orphan))
            else:
                with engine.begin() as connection:
                    connection.execute(sa.text(orphan))
            with engine.begin() as connection:
                connection.execute(sa.text("DELETE FROM users WHERE id = 1"))
                left = connection.execute(sa.text("SELECT count(*) FROM posts")).scalar()
            assert left == (0 if postgres else 2)
        finally:
            engine.dispose()


# -- a lesson added as data ----------------------------------------------------------------------

NEW_LESSON = """
title = "A bio for every user"
revision = "lx_bio"
goal = "Add a nullable column to a table that has rows."

[[steps]]
text = "Write a revision that adds `users.bio`, then apply it."
command = 'migtutor revision -m "add bio column"'
hint = "op.add_column('users', sa.Column('bio', sa.String(), nullable=True))"

[steps.check]
revision_message = "add bio column"
at_head = true
columns = [{ name = "users.bio", type = "string", nullable = true }]
"""
NEW_REVISION = '''"""add bio column

Revision ID: lx_bio
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = "lx_bio"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("bio", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "bio")
'''


def add_a_lesson(tmp_path: Path, monkeypatch, lesson: str = NEW_LESSON) -> tuple[Path, int]:
    """A copy of the course with `lesson` after the last lesson, made the course in use.
    The last lesson may add no revision of its own: the new one starts at the last reference
    revision all the same. Returns the copy and the new lesson's number."""
    from migtutor.course import reference_ids

    course = tmp_path / "course"
    shutil.copytree(REPO / "lessons", course / "lessons")
    shutil.copytree(REPO / "migrations", course / "migrations")
    shutil.copy(REPO / "alembic.ini", course / "alembic.ini")
    number = len(load_lessons()) + 1
    (course / "lessons" / f"{number:02d}-bio.toml").write_text(lesson, encoding="utf-8")
    revision = NEW_REVISION.format(down=reference_ids()[-1])
    (course / "migrations" / "versions" / "lx_bio_add_bio_column.py").write_text(revision)
    monkeypatch.setenv("MIGTUTOR_COURSE_DIR", str(course))
    return course, number


def test_a_lesson_added_as_data_needs_no_code(cli, tmp_path, monkeypatch, database_url):
    """A lesson file and a reference revision in a copy of the course: the lesson commands,
    reset to its start and to the end, the seed and the check work with it unchanged."""
    from migtutor.course import reference_ids

    ids = reference_ids()
    course, number = add_a_lesson(tmp_path, monkeypatch)

    assert cli("lesson", "lint").exit_code == 0
    work = tmp_path / "ws"
    assert cli("init", str(work)).exit_code == 0
    ws = ("-w", str(work), "-d", database_url)
    listed = cli(*ws, "--json", "lesson", "list").json()
    assert len(listed) == number and listed[-1]["slug"] == "bio"
    assert f"Lesson {number}/{number}" in cli(*ws, "lesson", "show", str(number)).stdout

    start = cli(*ws, "--json", "reset", "--to", f"lesson:{number}", "--seed", "--yes")
    assert start.exit_code == 0, start.output
    assert cli(*ws, "--json", "current").json()["current"] == [ids[-1]]
    assert cli(*ws, "--json", "lesson", "list").json()[-1]["status"] == "current"
    # The learner writes the lesson's revision (here: the reference) and applies it.
    shutil.copy(
        course / "migrations" / "versions" / "lx_bio_add_bio_column.py",
        work / "migrations" / "versions",
    )
    assert cli(*ws, "upgrade", "head").exit_code == 0
    check = cli(*ws, "--json", "lesson", "check")
    assert check.json()["passed"], check.output
    assert "finished all" in cli(*ws, "lesson", "check").stdout

    end = cli(*ws, "--json", "reset", "--to", "head", "--seed", "--yes")
    assert end.exit_code == 0, end.output
    assert cli(*ws, "--json", "current").json()["current"] == ["lx_bio"]
    import sqlalchemy as sa

    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        users = connection.execute(sa.text("SELECT count(*), count(bio) FROM users")).one()
    engine.dispose()
    assert tuple(users) == (3, 0)  # the seed fits the new state: users seeded, bio left empty


def test_a_lesson_added_as_data_runs_in_the_demo(cli, tmp_path, monkeypatch):
    """The demo builds the added lesson's revision like the others, and still runs the lessons
    that practise on the chain last, on top of it."""
    _, number = add_a_lesson(tmp_path, monkeypatch)
    shown = cli("-w", str(tmp_path / "show"), "demo")
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    added = out.split(f"Lesson {number} of {number}: A bio for every user")[1]
    assert '$ migtutor revision -m "add bio column"' in added and "--rev-id lx_bio" in added
    assert "upgrade l7_phone -> lx_bio, add bio column" in added
    # The recovery lesson comes after it, so its revisions follow lx_bio.
    recovery = added.split(f"Lesson {number - 1} of {number}")[1]
    assert "upgrade lx_bio -> l8_s1, add summary to posts" in recovery
    assert "upgrade l8_s1, l8_s4 -> l8_s4_merge, merge heads" in recovery
    assert "practice revisions of lesson 8 after lx_bio" in out
    versions = tmp_path / "show" / "migrations" / "versions"
    assert (versions / "lx_bio_add_bio_column.py").exists()

    # To the start of the added lesson: the lessons before it, the one without a revision too.
    before = cli("-w", str(tmp_path / "before"), "demo", "--to", f"lesson:{number}")
    assert before.exit_code == 0, before.output
    assert f"Lesson {number - 1} of {number}" in before.stdout
    assert f"Lesson {number} of {number}" not in before.stdout
    assert (
        f"Demo finished at l8_s6 (the start of lesson {number}, with the practice revisions of "
        "lesson 8 after l7_phone)." in before.stdout
    )


@pytest.mark.postgres
def test_a_lesson_added_as_data_shows_in_class_status(cli, tmp_path, monkeypatch, postgres_server):
    """`class status` places a student at the start of the added lesson, and one past it as
    finished: the reference states come from the course's files."""
    import uuid

    from test_class import drop_everything_named, read_credentials

    _, number = add_a_lesson(tmp_path, monkeypatch)
    prefix = f"mtx_{uuid.uuid4().hex[:8]}"
    roster = tmp_path / "roster.txt"
    roster.write_text("ann\nben\n")
    credentials = tmp_path / "credentials.txt"
    server = ("-d", postgres_server)
    try:
        created = cli(*server, "class", "create", str(roster), "--prefix", prefix,
                      "--credentials", str(credentials))  # fmt: skip
        assert created.exit_code == 0, created.output
        urls = read_credentials(credentials)
        reset = cli(*server, "class", "reset", "--prefix", prefix, "--to", f"lesson:{number}",
                    "--yes")  # fmt: skip
        assert reset.exit_code == 0, reset.output
        # Ann is on the added lesson (the lesson before it adds no revision, so only her
        # progress tells the two apart); Ben has done it, as his own database user.
        ann = ("-w", str(tmp_path / "ann"), "-d", urls["ann"])
        assert cli("init", str(tmp_path / "ann")).exit_code == 0
        assert cli(*ann, "lesson", "goto", str(number)).exit_code == 0
        ben = ("-w", str(tmp_path / "ben"), "-d", urls["ben"])
        assert cli("init", str(tmp_path / "ben")).exit_code == 0
        assert cli(*ben, "reset", "--to", "head", "--yes").exit_code == 0

        status = cli(*server, "--json", "class", "status", "--prefix", prefix)
        assert status.exit_code == 0, status.output
        rows = {row["student"]: row for row in status.json()}
        assert (rows["ann"]["state"], rows["ann"]["lesson"]) == ("reference", number)
        assert rows["ann"]["current"] == ["l7_phone"]
        assert (rows["ben"]["state"], rows["ben"]["lesson"]) == ("reference", number + 1)
        assert rows["ben"]["current"] == ["lx_bio"] and "users" in rows["ben"]["tables"]
        table = cli(*server, "class", "status", "--prefix", prefix)
        ben_line = next(line for line in table.stdout.splitlines() if "ben" in line)
        assert "done" in ben_line

        dropped = cli(*server, "class", "drop", str(roster), "--prefix", prefix, "--yes")
        assert dropped.exit_code == 0, dropped.output
    finally:
        drop_everything_named(postgres_server, prefix + "_")


@pytest.mark.parametrize(
    ("course_toml", "expected"),
    [
        ("tables = 'posts'\n", "course.toml: tables: expected a list of names"),
        ("tables = ['posts']\n[seed]\ncomments = [{ id = 1 }]\n", "seed names comments"),
        ("tables = [\n", "cannot be read"),
    ],
)
def test_a_broken_course_file_is_one_clear_error(cli, tmp_path, monkeypatch, course_toml, expected):
    course = tmp_path / "course"
    shutil.copytree(REPO / "lessons", course / "lessons")
    shutil.copytree(REPO / "migrations", course / "migrations")
    shutil.copy(REPO / "alembic.ini", course / "alembic.ini")
    (course / "lessons" / "course.toml").write_text(course_toml, encoding="utf-8")
    monkeypatch.setenv("MIGTUTOR_COURSE_DIR", str(course))
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = cli("-w", str(tmp_path), "-d", url, "reset", "--to", "head", "--yes")
    assert result.exit_code == 1
    assert expected in result.stderr and "Traceback" not in result.output
    if (tmp_path / "db.sqlite").exists():  # nothing was built
        import sqlite3

        with sqlite3.connect(tmp_path / "db.sqlite") as connection:
            assert connection.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_course_dir_without_a_course_is_a_clear_error(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MIGTUTOR_COURSE_DIR", str(tmp_path / "nowhere"))
    result = cli("-w", str(tmp_path), "-d", f"sqlite:///{tmp_path / 'x.db'}", "reset", "--yes")
    assert result.exit_code == 1
    assert "MIGTUTOR_COURSE_DIR names" in result.stderr and "Traceback" not in result.output


def test_a_lesson_file_edited_is_read_again_in_the_same_process(tmp_path: Path) -> None:
    """Parsed lessons are kept while their file is unchanged; an edit (watch mode, an author
    at work) is seen by the next read."""
    from migtutor.lessons import load_lesson

    path = tmp_path / "01-posts.toml"
    shutil.copy(REPO / "lessons" / "01-posts.toml", path)
    first = load_lesson(path)
    assert load_lesson(path) is first  # unchanged: not parsed again
    path.write_text(
        path.read_text(encoding="utf-8").replace(first.title, "Edited title", 1), encoding="utf-8"
    )
    assert load_lesson(path).title == "Edited title"
