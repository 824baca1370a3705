"""`migtutor reset`: from any state, to any lesson, only what the course owns, never unasked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from migtutor.course import lesson_count, reference_ids
from migtutor.models import Base
from migtutor.reset import reference_schemas

REFERENCE_IDS = reference_ids()
REFERENCE_SCHEMAS = reference_schemas()


def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def schema_of(url: str) -> dict[str, set[str]]:
    engine = engine_for(url)
    try:
        inspector = sa.inspect(engine)
        return {
            t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()
        }
    finally:
        engine.dispose()


def query(url: str, sql: str) -> list[tuple]:
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = engine_for(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def course_schema(url: str) -> dict[str, set[str]]:
    return {t: cols for t, cols in schema_of(url).items() if t != "alembic_version"}


def assert_at(url: str, revision: str | None) -> None:
    expected = {t: set(c) for t, c in REFERENCE_SCHEMAS[revision].items()}
    assert course_schema(url) == expected
    versions = query(url, "SELECT version_num FROM alembic_version") if revision else []
    assert versions == ([(revision,)] if revision else [])


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    """A directory that is not a workspace, so reset touches no revision files."""
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    return directory


def reset(cli, directory: Path, url: str, *args: str):
    return cli("-w", str(directory), "-d", url, "reset", *args)


@pytest.mark.parametrize("target", ["base", "lesson:1", "lesson:3", "head", "l4_owner_fk"])
def test_reset_reaches_each_reference_state(cli, empty_dir, database_url, target) -> None:
    result = reset(cli, empty_dir, database_url, "--to", target, "--yes")
    assert result.exit_code == 0, result.output
    revision = {"base": None, "lesson:1": None, "lesson:3": "l2_content", "head": "l7_phone"}.get(
        target, target
    )
    assert_at(database_url, revision)
    assert "The database is now at" in result.stdout


def test_reference_schemas_match_the_reference_revisions(cli, empty_dir, tmp_path) -> None:
    # Derived from the reference revisions; the course's final schema, written out here.
    assert {t: set(c) for t, c in REFERENCE_SCHEMAS[REFERENCE_IDS[-1]].items()} == {
        "posts": {"id", "title", "content", "published", "created_at", "owner_id"},
        "users": {"id", "email", "password", "created_at", "phone_number"},
        "votes": {"user_id", "post_id"},
    }
    assert REFERENCE_SCHEMAS[None] == {} and len(REFERENCE_SCHEMAS) == len(REFERENCE_IDS) + 1
    url = f"sqlite:///{tmp_path / 'each.db'}"
    for revision in REFERENCE_IDS:
        assert reset(cli, empty_dir, url, "--to", revision, "--yes").exit_code == 0
        assert_at(url, revision)


def test_without_yes_and_without_a_terminal_reset_refuses_and_changes_nothing(
    cli, empty_dir, database_url
) -> None:
    assert reset(cli, empty_dir, database_url, "--to", "head", "--seed", "--yes").exit_code == 0
    before = query(database_url, "SELECT id, title FROM posts ORDER BY id")

    result = reset(cli, empty_dir, database_url, "--to", "base")

    assert result.exit_code == 1
    assert "--yes" in result.stderr and "Nothing was changed" in result.stderr
    assert "Traceback" not in result.output
    # It said what it would destroy: tables with their row counts, and the current revision.
    assert "posts" in result.stdout and "4 rows" in result.stdout
    assert "l7_phone" in result.stdout
    assert query(database_url, "SELECT id, title FROM posts ORDER BY id") == before
    assert_at(database_url, "l7_phone")


def test_reset_recovers_tables_made_by_create_all(cli, empty_dir, database_url) -> None:
    engine = engine_for(database_url)
    Base.metadata.create_all(engine)
    engine.dispose()
    execute(database_url, "INSERT INTO users (id, email, password) VALUES (7, 'x@y.z', 'h')")

    result = reset(cli, empty_dir, database_url, "--to", "lesson:3", "--yes")

    assert result.exit_code == 0, result.output
    assert_at(database_url, "l2_content")


def test_reset_recovers_a_revision_no_script_knows(cli, empty_dir, database_url) -> None:
    assert reset(cli, empty_dir, database_url, "--to", "head", "--yes").exit_code == 0
    execute(database_url, "UPDATE alembic_version SET version_num = 'deadbeef1234'")
    preview = reset(cli, empty_dir, database_url, "--to", "lesson:4")
    assert "deadbeef1234" in preview.stdout and "no course script knows" in preview.stdout

    result = reset(cli, empty_dir, database_url, "--to", "lesson:4", "--yes")

    assert result.exit_code == 0, result.output
    assert_at(database_url, "l3_users")


def test_reset_recovers_a_half_applied_learner_revision(cli, empty_dir, database_url) -> None:
    # The database says l2_content, but a learner's revision got halfway: users exists, and
    # SQLite's batch mode left its temporary copy of posts behind.
    assert reset(cli, empty_dir, database_url, "--to", "lesson:3", "--yes").exit_code == 0
    execute(
        database_url,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR)",
        "CREATE TABLE _alembic_tmp_posts (id INTEGER PRIMARY KEY, title VARCHAR)",
        "ALTER TABLE posts ADD COLUMN owner_id INTEGER",
    )

    result = reset(cli, empty_dir, database_url, "--to", "head", "--yes")

    assert result.exit_code == 0, result.output
    assert_at(database_url, "l7_phone")


def test_reset_keeps_tables_it_does_not_own_unless_all(cli, empty_dir, database_url) -> None:
    assert reset(cli, empty_dir, database_url, "--to", "lesson:2", "--yes").exit_code == 0
    execute(
        database_url,
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR)",
        "INSERT INTO notes (id, body) VALUES (1, 'mine')",
    )
    result = reset(cli, empty_dir, database_url, "--to", "base", "--yes")
    assert result.exit_code == 0, result.output
    assert schema_of(database_url) == {"notes": {"id", "body"}}
    assert query(database_url, "SELECT body FROM notes") == [("mine",)]

    preview = reset(cli, empty_dir, database_url, "--to", "base", "--all")
    assert "notes" in preview.stdout and "1 row" in preview.stdout
    assert reset(cli, empty_dir, database_url, "--to", "base", "--all", "--yes").exit_code == 0
    assert schema_of(database_url) == {}


def test_seed_is_deterministic_and_fits_the_target(cli, empty_dir, database_url) -> None:
    assert reset(cli, empty_dir, database_url, "--to", "lesson:2", "--seed", "--yes").exit_code == 0
    assert query(database_url, "SELECT id, title FROM posts ORDER BY id")[0] == (
        1,
        "Hello, migrations",
    )

    result = cli("-w", str(empty_dir), "-d", database_url, "--json", "reset", "--to", "head",
                 "--seed", "--yes")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.json()["seeded"] == {"users": 3, "posts": 4, "votes": 4}
    first = query(database_url, "SELECT * FROM votes ORDER BY user_id, post_id")
    owners = query(database_url, "SELECT id, owner_id FROM posts ORDER BY id")
    assert reset(cli, empty_dir, database_url, "--to", "head", "--seed", "--yes").exit_code == 0
    assert query(database_url, "SELECT * FROM votes ORDER BY user_id, post_id") == first
    assert query(database_url, "SELECT id, owner_id FROM posts ORDER BY id") == owners
    # New rows still get fresh ids (PostgreSQL's sequences were moved past the sample rows).
    execute(database_url, "INSERT INTO users (email, password) VALUES ('new@example.com', 'h')")
    assert query(database_url, "SELECT max(id) FROM users") == [(4,)]


def test_seed_fits_the_start_of_every_lesson(cli, empty_dir, database_url) -> None:
    for number in range(1, lesson_count() + 2):
        target = f"lesson:{number}" if number <= lesson_count() else "head"
        result = cli("-w", str(empty_dir), "-d", database_url, "--json", "reset", "--to", target,
                     "--seed", "--yes")  # fmt: skip
        assert result.exit_code == 0, f"{target}: {result.output}"
        tables = schema_of(database_url)
        assert result.json()["seeded"] == {
            table: count
            for table, count in (("users", 3), ("posts", 4), ("votes", 4))
            if table in tables
        }, target
    # At the end, the columns the sample rows leave out have their server defaults.
    assert query(database_url, "SELECT count(*) FROM posts WHERE published") == [(4,)]
    assert query(database_url, "SELECT count(created_at) FROM posts") == [(4,)]
    # Two of the three sample users have a phone number; the third has none (NULL).
    assert query(database_url, "SELECT count(phone_number) FROM users") == [(2,)]


def test_reset_brings_a_learner_workspace_in_line(cli, workspace: Path) -> None:
    created = cli("-w", str(workspace), "--json", "revision", "-m", "my posts table")
    assert created.exit_code == 0, created.output
    mine = Path(created.json()["path"])
    mine_text = mine.read_text()

    result = cli("-w", str(workspace), "reset", "--to", "lesson:3", "--yes")

    assert result.exit_code == 0, result.output
    versions = workspace / "migrations" / "versions"
    assert sorted(p.name.split("_")[0] for p in versions.glob("*.py")) == ["l1", "l2"]
    backup = workspace / ".migtutor" / "backup" / "versions-1" / mine.name
    assert backup.read_text() == mine_text  # moved, never deleted
    assert str(backup.parent) in result.stdout
    current = cli("-w", str(workspace), "--json", "current")
    assert current.json()["current"] == ["l2_content"] and current.json()["up_to_date"]
    assert "lesson 3 is next" in result.stdout
    progress = json.loads((workspace / ".migtutor" / "progress.json").read_text())
    assert progress["lesson"] == 3 and progress["completed"] == [1, 2]

    # Back to an earlier lesson: unchanged reference copies beyond it just go.
    assert cli("-w", str(workspace), "reset", "--to", "lesson:2", "--yes").exit_code == 0
    assert [p.name[:8] for p in versions.glob("*.py")] == ["l1_posts"]
    assert not (workspace / ".migtutor" / "backup" / "versions-2").exists()
    upgrade = cli("-w", str(workspace), "upgrade", "head")
    assert upgrade.exit_code == 0 and "Nothing to upgrade" in upgrade.stdout


def test_reset_refuses_a_remote_host_without_allow_remote(cli, empty_dir) -> None:
    url = "postgresql+psycopg2://teacher:Sup3rSecret@db.example.com:5432/course"
    result = reset(cli, empty_dir, url, "--to", "base", "--yes")
    assert result.exit_code == 1
    assert "--allow-remote" in result.stderr and "Traceback" not in result.output
    assert "Sup3rSecret" not in result.output


def test_an_unknown_target_is_explained(cli, empty_dir, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    for target in ("lesson:9", "lesson:x", "nowhere"):
        result = reset(cli, empty_dir, url, "--to", target, "--yes")
        assert result.exit_code == 1, target
        assert "lesson:N" in result.stderr or "lesson:1 to lesson:8" in result.stderr


def test_a_lesson_without_a_revision_starts_where_the_chain_ends(cli, workspace, database_url):
    """Lesson 8 adds no revision: its start is the whole chain, and the course is finished
    only after it, though the database is the same at both."""
    ws = ("-w", str(workspace), "-d", database_url)
    start = cli(*ws, "reset", "--to", "lesson:8", "--seed", "--yes")
    assert start.exit_code == 0, start.output
    assert f"{REFERENCE_IDS[-1]} (start of lesson 8)" in start.stdout
    assert "lesson 8 is next" in start.stdout and "Sample data: 3 users, 4 posts" in start.stdout
    assert cli(*ws, "--json", "current").json()["current"] == [REFERENCE_IDS[-1]]
    listed = cli(*ws, "--json", "lesson", "list").json()
    assert [item["status"] for item in listed] == ["done"] * 7 + ["current"]

    end = cli(*ws, "--json", "reset", "--to", "head", "--yes")
    assert end.exit_code == 0, end.output
    assert (end.json()["revision"], end.json()["lesson"]) == (REFERENCE_IDS[-1], 9)
    assert end.json()["progress_lesson"] == 9
    assert [item["status"] for item in cli(*ws, "--json", "lesson", "list").json()] == ["done"] * 8
    assert "finished all 8 lessons" in cli(*ws, "lesson", "check").stdout


@pytest.mark.postgres
def test_ctrl_c_during_reset_rolls_everything_back(tmp_path: Path, postgres_url: str) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    migtutor = str(Path(sys.executable).with_name("migtutor"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MIGT"))}
    seeded = subprocess.run(
        [migtutor, "-d", postgres_url, "reset", "--to", "head", "--seed", "--yes"],
        cwd=tmp_path, env=environment, capture_output=True, timeout=120,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    name = make_url(postgres_url).database
    blocker = engine_for(postgres_url)
    with blocker.connect() as holding:
        holding.execute(sa.text("LOCK TABLE users IN ACCESS SHARE MODE"))  # DROP must wait
        process = subprocess.Popen(
            [migtutor, "-d", postgres_url, "reset", "--to", "base", "--yes"],
            cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        watcher = engine_for(postgres_url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with watcher.connect() as connection:
                waiting = connection.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = :name "
                        "AND wait_event_type = 'Lock' AND query LIKE 'DROP TABLE%'"
                    ),
                    {"name": name},
                ).scalar()
            if waiting:
                break
            time.sleep(0.1)
        watcher.dispose()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        holding.rollback()
    blocker.dispose()

    assert process.returncode == 130, stderr
    assert "rolled back" in stderr and "exactly as it was" in stderr
    assert "Traceback" not in stderr
    assert query(postgres_url, "SELECT count(*) FROM users") == [(3,)]
    assert_at(postgres_url, "l7_phone")


def test_where_each_lesson_starts_when_one_adds_no_revision() -> None:
    from migtutor.course import lesson_of, lesson_revisions, start_of

    assert lesson_revisions()[-1] is None  # the recovery lesson builds nothing of its own
    assert [start_of(n) for n in range(1, lesson_count() + 2)] == [
        None,
        *REFERENCE_IDS,
        REFERENCE_IDS[-1],  # after it: the course finished, at the same revision
    ]
    assert lesson_of(None) == 1 and lesson_of(REFERENCE_IDS[0]) == 2
    assert lesson_of(REFERENCE_IDS[-1]) == lesson_count()  # the first lesson that starts there
    assert lesson_of("not_a_reference") is None
