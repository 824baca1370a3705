"""`class status` compares whole schemas and shows progress; `class reset --all/--student`.

Runs on the real PostgreSQL server; every database and role made here is dropped at the end.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.test_class import drop_everything_named, read_credentials, status

pytestmark = pytest.mark.postgres


def run_as(url: str, *statements: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
    engine.dispose()


def tables_of(url: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        names = sorted(sa.inspect(connection).get_table_names())
    engine.dispose()
    return names


@pytest.fixture
def prefix(postgres_server: str) -> Iterator[str]:
    name = f"mt6_{uuid.uuid4().hex[:8]}"
    yield name
    drop_everything_named(postgres_server, name + "_")


@pytest.fixture
def klass(cli, postgres_server: str, prefix: str, tmp_path: Path) -> dict[str, str]:
    roster = tmp_path / "roster.txt"
    roster.write_text("alice\nbob\ncarol\ndave\n")
    credentials = tmp_path / "credentials.txt"
    created = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix,
                  "--credentials", str(credentials), "--to", "lesson:3")  # fmt: skip
    assert created.exit_code == 0, created.output
    return read_credentials(credentials)


def test_status_compares_the_whole_schema_and_shows_progress(
    cli,
    postgres_server: str,
    prefix: str,
    klass: dict[str, str],
    course_workspace: Path,
) -> None:
    # Bob changes everything but the column names; Carol writes an id by hand and half-builds
    # users; Dave records his progress with migtutor; Alice stays at the reference state.
    run_as(
        klass["bob"],
        "ALTER TABLE posts ALTER COLUMN content TYPE integer USING 0",
        "ALTER TABLE posts ALTER COLUMN title DROP NOT NULL",
        "ALTER TABLE posts DROP CONSTRAINT pk_posts",
        "CREATE VIEW recent AS SELECT id FROM posts",
        "CREATE SCHEMA scratch",
        "CREATE TABLE scratch.notes (body text)",
        "CREATE SEQUENCE stray",
    )
    run_as(
        klass["carol"],
        "UPDATE alembic_version SET version_num = 'deadbeef'",
        "CREATE TABLE users (id serial PRIMARY KEY, email varchar NOT NULL)",
    )
    moved = cli("-w", str(course_workspace), "-d", klass["dave"], "lesson", "goto", "3")
    assert moved.exit_code == 0, moved.output
    checked = cli("-w", str(course_workspace), "-d", klass["dave"], "lesson", "check")
    verdict = "passed" if checked.exit_code == 0 else "failed"
    assert "migtutor_progress" in tables_of(klass["dave"])

    rows = status(cli, postgres_server, prefix)
    assert rows["alice"]["state"] == "reference", rows["alice"]["detail"]
    assert rows["alice"]["lesson"] == 3
    assert rows["alice"]["progress"] is None
    bob = rows["bob"]
    assert bob["state"] == "changed by hand" and bob["lesson"] == 3
    text = "\n".join(bob["differences"])
    for expected in ("column posts.content: VARCHAR NOT NULL -> INTEGER", "column posts.title",
                     "- primary key", "+ view recent", "+ schema scratch: (notes)",
                     "+ sequence stray"):  # fmt: skip
        assert expected in text, text
    carol = rows["carol"]
    assert carol["state"] == "own revisions" and carol["current"] == ["deadbeef"]
    assert "users half-built (2 of 4 columns: id, email)" in carol["differences"]
    dave = rows["dave"]
    assert dave["state"] == "reference" and dave["tables"] == ["posts"]  # his table is hidden
    assert dave["progress"]["lesson"] >= 3 and dave["progress"]["verdict"] == verdict
    assert dave["progress"]["checked_lesson"] == 3 and dave["progress"]["checked_step"] == 1

    shown = cli("-d", postgres_server, "class", "status", "--prefix", prefix, "--problems")
    assert shown.exit_code == 0, shown.output
    assert "bob" in shown.stdout and "alice" not in shown.stdout and "dave" not in shown.stdout
    assert "4 student(s). lesson 3: 3. Own work 1, changed by hand 1" in shown.stdout
    table = cli("-d", postgres_server, "class", "status", "--prefix", prefix, "--csv",
                "--sort", "state")  # fmt: skip
    assert table.exit_code == 0, table.output
    parsed = list(csv.DictReader(io.StringIO(table.stdout)))
    assert [r["student"] for r in parsed] == ["alice", "dave", "carol", "bob"]
    assert parsed[1]["last_check"].startswith(f"3.1 {verdict}")
    bad = cli("-d", postgres_server, "class", "status", "--prefix", prefix, "--sort", "age")
    assert bad.exit_code != 0 and "Cannot sort by 'age'" in bad.stderr


def test_class_reset_all_and_chosen_students(
    cli, postgres_server: str, prefix: str, klass: dict[str, str], course_workspace: Path
) -> None:
    for student in ("alice", "bob", "dave"):
        run_as(klass[student], "CREATE TABLE notes (body text)")
    moved = cli("-w", str(course_workspace), "-d", klass["dave"], "lesson", "goto", "4")
    assert moved.exit_code == 0, moved.output
    reset = ["-d", postgres_server, "class", "reset", "--prefix", prefix, "--to", "lesson:3"]

    asked = cli(*reset, "--student", "bob", "--all")
    assert asked.exit_code == 1 and "--yes" in asked.stderr  # no terminal: refused
    assert f"{prefix}_bob." in asked.stdout and "alice" not in asked.stdout
    assert "Goes: every table" in asked.stdout and "Stays: other schemas" in asked.stdout
    stranger = cli(*reset, "--student", "zed", "--yes")
    assert stranger.exit_code == 1 and "zed: not students of the class" in stranger.stderr

    plain = cli(*reset, "--student", "alice", "--yes")
    assert plain.exit_code == 0, plain.output
    assert "notes" in tables_of(klass["alice"])  # without --all, a stray table stays
    done = cli(*reset, "--student", "bob", "--student", "dave", "--all", "--yes")
    assert done.exit_code == 0, done.output
    assert "Reset 2 database(s)" in done.stdout
    assert tables_of(klass["bob"]) == ["alembic_version", "posts"]
    assert tables_of(klass["dave"]) == ["alembic_version", "migtutor_progress", "posts"]
    rows = status(cli, postgres_server, prefix)
    assert (
        rows["alice"]["state"] == "changed by hand" and "+ table notes" in rows["alice"]["detail"]
    )
    assert rows["bob"]["state"] == rows["dave"]["state"] == "reference"
    assert rows["dave"]["progress"]["lesson"] == 4  # the recorded progress outlives --all


def verifier(server: str, role: str) -> str:
    engine = sa.create_engine(server, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        found = connection.execute(
            sa.text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": role}
        ).scalar_one()
    engine.dispose()
    return found


def read_env(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_env_files_host_and_a_new_password(
    cli, postgres_server: str, prefix: str, tmp_path: Path, course_workspace: Path
) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text("alice\nbob\n")
    env_dir = tmp_path / "handout"
    bad = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix,
              "--host", "db host;", "--env-dir", str(env_dir))  # fmt: skip
    assert bad.exit_code == 1 and "not a host name" in bad.stderr and not env_dir.exists()
    created = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix,
                  "--env-dir", str(env_dir), "--host", "localhost")  # fmt: skip
    assert created.exit_code == 0, created.output
    alice_env = env_dir / "alice.env"
    assert stat.S_IMODE(os.stat(alice_env).st_mode) == 0o600
    values = read_env(alice_env)
    assert values["DATABASE_HOSTNAME"] == "localhost"
    assert values["DATABASE_USERNAME"] == values["DATABASE_NAME"] == f"{prefix}_alice"
    assert values["DATABASE_PORT"] == str(make_url(postgres_server).port or 5432)
    assert values["DATABASE_PASSWORD"] not in created.output
    # The .env is a workspace's .env as it is: migtutor connects with it.
    shutil.copy(alice_env, course_workspace / ".env")
    upgraded = cli("-w", str(course_workspace), "upgrade", "head")
    assert upgraded.exit_code == 0, upgraded.output

    before = verifier(postgres_server, f"{prefix}_alice")
    renewed = cli("-d", postgres_server, "--json", "class", "password", "alice", "--prefix",
                  prefix, "--env-dir", str(env_dir))  # fmt: skip
    assert renewed.exit_code == 0, renewed.output
    assert renewed.json()["status"] == "new password"
    new_values = read_env(alice_env)
    assert new_values["DATABASE_PASSWORD"] != values["DATABASE_PASSWORD"]
    assert new_values["DATABASE_PASSWORD"] not in renewed.output
    assert verifier(postgres_server, f"{prefix}_alice") != before
    assert "posts" in status(cli, postgres_server, prefix)["alice"]["tables"]  # nothing dropped
    stranger = cli("-d", postgres_server, "class", "password", "zed", "--prefix", prefix)
    assert stranger.exit_code == 1 and "not a student of the class" in stranger.stderr
    nowhere = cli("-d", postgres_server, "--json", "class", "password", "bob", "--prefix", prefix)
    assert nowhere.exit_code == 1 and "--env-dir DIR" in nowhere.stderr
    bar = on_a_terminal(postgres_server, "class", "reset", "--prefix", prefix, "--yes")
    assert "Resetting" in bar and "2/2" in bar  # students done of all
    piped = cli("-d", postgres_server, "class", "reset", "--prefix", prefix, "--yes")
    assert piped.exit_code == 0 and "Resetting" not in piped.output  # no bar without a terminal
    refused = cli("-d", postgres_server, "class", "status", "--prefix", prefix, "--watch")
    assert refused.exit_code == 1 and "needs a terminal" in refused.stderr
    watched = watch_on_a_terminal(postgres_server, prefix)
    assert watched.count("2 student(s).") >= 2 and "Ctrl-C stops" in watched  # redrawn


def watch_on_a_terminal(server: str, prefix: str) -> str:
    """`class status --watch` on a pseudo-terminal until it has drawn twice, then Ctrl-C."""
    import pty
    import select
    import signal
    import subprocess
    import sys
    import time

    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "migtutor", "-d", server, "class", "status",
               "--prefix", prefix, "--watch", "--interval", "1"]  # fmt: skip
    process = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while seen.count(b"2 student(s).") < 2 and time.monotonic() < deadline:
            if select.select([leader], [], [], 1)[0]:
                try:
                    seen += os.read(leader, 65536)
                except OSError:
                    break
        process.send_signal(signal.SIGINT)
        # Keep reading: a terminal whose buffer is full would block the last redraw.
        while process.poll() is None and time.monotonic() < deadline + 60:
            if select.select([leader], [], [], 1)[0]:
                try:
                    os.read(leader, 65536)
                except OSError:
                    break
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    return seen.decode(errors="replace")


def on_a_terminal(server: str, *args: str) -> str:
    """What a migtutor command writes on a pseudo-terminal (it must succeed)."""
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "migtutor", "-d", server, *args],
                               stdin=follower, stdout=follower, stderr=follower)  # fmt: skip
    os.close(follower)
    seen = b""
    try:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the command ended
                break
            if not chunk:
                break
            seen += chunk
        assert process.wait(timeout=60) == 0, seen
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    return seen.decode(errors="replace")
