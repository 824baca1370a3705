"""No silent waits (issue 11): a command that waits for a lock another session holds says who
holds it and what to do, and stops after MIGTUTOR_LOCK_TIMEOUT seconds having changed nothing.

The other session is a transaction left open by "the learner": on PostgreSQL one that has read
`posts` (DDL on posts waits for it), on SQLite one holding the write lock (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

APPLICATION = "learner-psql"


@dataclass
class Holder:
    """The other session: `who` is the text that must name it in migtutor's messages."""

    who: str
    release: object


@contextlib.contextmanager
def holding(url: str) -> Iterator[Holder]:
    """An open transaction in another session that migtutor's DDL must wait for."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield Holder("another migtutor or program is writing to this database", connection)
        finally:
            connection.close()
        return
    engine = sa.create_engine(url, connect_args={"application_name": APPLICATION})
    try:
        with engine.connect() as connection:
            pid = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            connection.execute(sa.text("SELECT count(*) FROM posts"))  # AccessShareLock, kept
            yield Holder(f"a lock on table posts is held by pid {pid} (user", connection)
    finally:
        engine.dispose()


def names(text: str, holder: Holder) -> bool:
    """Whether `text` names the holder, at the start of a sentence or within one."""
    return holder.who in text or holder.who[:1].upper() + holder.who[1:] in text


def release(holder: Holder) -> None:
    if isinstance(holder.release, sqlite3.Connection):
        holder.release.execute("COMMIT")
    else:
        holder.release.commit()


def columns(url: str, table: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return [column["name"] for column in sa.inspect(engine).get_columns(table)]
    finally:
        engine.dispose()


def test_upgrade_stops_after_the_timeout_naming_the_holder(
    cli, course_workspace: Path, database_url: str, monkeypatch
) -> None:
    base = ("-w", str(course_workspace), "-d", database_url)
    assert cli(*base, "upgrade", "l3_users").exit_code == 0
    monkeypatch.setenv("MIGTUTOR_LOCK_TIMEOUT", "1")
    with holding(database_url) as holder:
        result = cli(*base, "upgrade", "head")
        assert result.exit_code == 1
        assert names(result.stderr, holder), result.stderr
        if "postgresql" in database_url:
            assert f"application {APPLICATION}" in result.stderr
            assert "SELECT count(*) FROM posts" in result.stderr
            assert "COMMIT or ROLLBACK" in result.stderr
        assert "waited 1 s for it and stopped: nothing was changed" in result.stderr
        assert "MIGTUTOR_LOCK_TIMEOUT" in result.stderr
        assert "Is the server running" not in result.stderr
        assert "Traceback" not in result.output
        release(holder)
    assert cli(*base, "--json", "current").json()["current"] == ["l3_users"]
    assert "owner_id" not in columns(database_url, "posts")
    after = cli(*base, "upgrade", "head")
    assert after.exit_code == 0, after.output
    assert "owner_id" in columns(database_url, "posts")


def test_reset_stops_after_the_timeout_naming_the_holder(
    cli, course_workspace: Path, database_url: str, monkeypatch
) -> None:
    base = ("-w", str(course_workspace), "-d", database_url)
    assert cli(*base, "upgrade", "l3_users").exit_code == 0
    monkeypatch.setenv("MIGTUTOR_LOCK_TIMEOUT", "1")
    with holding(database_url) as holder:
        result = cli(*base, "reset", "--yes", "--keep-scripts")
        assert result.exit_code == 1
        assert names(result.stderr, holder), result.stderr
        assert "nothing was changed" in result.stderr
        if "postgresql" in database_url:
            assert "migtutor reset --disconnect" in result.stderr
        assert "Traceback" not in result.output
        release(holder)
    assert cli(*base, "--json", "current").json()["current"] == ["l3_users"]
    assert columns(database_url, "users")  # not dropped


def migtutor(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("migtutor")), *args]


def test_a_wait_is_reported_and_ends_when_the_holder_does(
    course_workspace: Path, database_url: str, cli
) -> None:
    base = ("-w", str(course_workspace), "-d", database_url)
    assert cli(*base, "upgrade", "l3_users").exit_code == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIGTUTOR_", "DATABASE_"))}
    with holding(database_url) as holder:
        process = subprocess.Popen(
            migtutor(*base, "upgrade", "head"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            note = process.stderr.readline()  # printed while it waits: the holder is still open
            assert names(note, holder), note + process.stderr.read()
            assert "waiting for it up to 60 s (MIGTUTOR_LOCK_TIMEOUT)" in note
            release(holder)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0, err
    assert "Database is now at l7_phone" in out
    assert "owner_id" in columns(database_url, "posts")


def test_reset_disconnect_ends_the_other_sessions(
    cli, course_workspace: Path, postgres_url: str
) -> None:
    base = ("-w", str(course_workspace), "-d", postgres_url)
    assert cli(*base, "upgrade", "l3_users").exit_code == 0
    with holding(postgres_url) as holder:
        pid = holder.release.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        result = cli(*base, "--json", "reset", "--yes", "--keep-scripts", "--disconnect")
        assert result.exit_code == 0, result.output
        data = result.json()
        assert [session["pid"] for session in data["disconnected"]] == [pid]
        assert data["disconnected"][0]["application"] == APPLICATION
        assert data["current"] == []
        try:
            holder.release.execute(sa.text("SELECT 1"))
            ended = False
        except sa.exc.OperationalError:
            ended = True
        assert ended, "the other session still answers"
    assert cli(*base, "--json", "current").json()["current"] == []


def test_reset_disconnect_with_no_other_session_just_resets(
    cli, course_workspace: Path, database_url: str
) -> None:
    base = ("-w", str(course_workspace), "-d", database_url)
    assert cli(*base, "upgrade", "l3_users").exit_code == 0
    result = cli(*base, "reset", "--yes", "--keep-scripts", "--disconnect", "--to", "lesson:2")
    assert result.exit_code == 0, result.output
    assert "Ended" not in result.output
    assert cli(*base, "--json", "current").json()["current"] == ["l1_posts"]


def test_sqlite_commit_waiting_for_a_reader_is_bounded_too(
    cli, course_workspace: Path, monkeypatch
) -> None:
    """In SQLite's default journal mode an open read transaction keeps a writer from committing."""
    path = course_workspace / "read.db"
    base = ("-w", str(course_workspace), "-d", f"sqlite:///{path}")
    assert cli(*base, "upgrade", "l3_users").exit_code == 0
    monkeypatch.setenv("MIGTUTOR_LOCK_TIMEOUT", "1")
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM posts").fetchall()
        result = cli(*base, "upgrade", "head")
        assert result.exit_code == 1
        assert "Another migtutor or program has this database open in a transaction" in (
            result.stderr
        )
        assert "waited 1 s for it and stopped: nothing was changed" in result.stderr
        assert "Traceback" not in result.output
        reader.execute("COMMIT")
    finally:
        reader.close()
    assert cli(*base, "--json", "current").json()["current"] == ["l3_users"]
    assert "owner_id" not in columns(f"sqlite:///{path}", "posts")
    assert cli(*base, "upgrade", "head").exit_code == 0
