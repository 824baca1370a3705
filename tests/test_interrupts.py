"""Ctrl-C and SIGKILL in the middle of a migration, with real processes.

Ctrl-C (SIGINT): the running revision's transaction is rolled back, the message says where the
database stands, the exit code is 130. On PostgreSQL this holds even while psycopg2 waits for a
long statement (`pg_sleep`): migtutor cancels it on the server. SIGKILL: nothing can be said,
but the next `upgrade` completes the database correctly.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from revision_files import migtutor_process, snapshot, version_rows, write_revision

WAIT = 30  # seconds before a test gives up waiting for a process: a hang, never a timing check

SLEEPY_HEADER = "import os\nimport pathlib\nimport time\n"
# Signals that it is running, then sleeps as long as MT_SLEEP says or until the file MT_RELEASE
# names appears, whichever comes first.
SLEEP = """
pathlib.Path(os.environ["MT_MARKER"]).touch()
release = pathlib.Path(os.environ.get("MT_RELEASE") or "/nonexistent")
deadline = time.monotonic() + float(os.environ.get("MT_SLEEP", "0"))
while time.monotonic() < deadline and not release.exists():
    time.sleep(0.02)
"""
# Creates a table, then sleeps.
SLEEPY_UPGRADE = (
    """
op.create_table("t2", sa.Column("id", sa.Integer(), primary_key=True))
op.execute("INSERT INTO t2 (id) VALUES (1)")
"""
    + SLEEP
)
SLEEPY_DOWNGRADE = (
    """
op.drop_table("t2")
"""
    + SLEEP
)


@pytest.fixture
def sleepy(workspace: Path) -> Path:
    write_revision(
        workspace,
        "aaa1",
        None,
        'op.create_table("t1", sa.Column("id", sa.Integer(), primary_key=True))',
        'op.drop_table("t1")',
        "create t1",
    )
    write_revision(
        workspace, "bbb2", "aaa1", SLEEPY_UPGRADE, SLEEPY_DOWNGRADE, "sleepy", SLEEPY_HEADER
    )
    return workspace


def _start(
    workspace: Path, url: str, marker: Path, *args: str, sleep: str = "60", release: str = ""
):
    env = {"MT_MARKER": str(marker), "MT_SLEEP": sleep, "MT_RELEASE": release}
    return migtutor_process("-w", str(workspace), "-d", url, *args, env=env)


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _interrupt(process, marker: Path) -> tuple[int, str, str]:
    _wait_for(lambda: marker.exists() or process.poll() is not None, "the migration to start")
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=WAIT)
    return process.returncode, stdout, stderr


def _run(workspace: Path, url: str, *args: str, marker: Path) -> tuple[int, str, str]:
    process = _start(workspace, url, marker, *args, sleep="0")
    stdout, stderr = process.communicate(timeout=WAIT)
    return process.returncode, stdout, stderr


def test_ctrl_c_during_upgrade_rolls_back_the_running_revision(
    sleepy: Path, database_url: str, tmp_path: Path
) -> None:
    marker = tmp_path / "running"
    code, stdout, stderr = _interrupt(_start(sleepy, database_url, marker, "upgrade"), marker)

    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "Interrupted" in stderr and "bbb2" in stderr and "rolled back" in stderr
    assert "database is at aaa1" in stderr
    assert sorted(snapshot(database_url)) == ["alembic_version", "t1"]
    assert version_rows(database_url) == ["aaa1"]

    # Nothing half-done is left behind: the same command completes.
    marker.unlink()
    code, stdout, stderr = _run(sleepy, database_url, "upgrade", marker=marker)
    assert code == 0, stderr
    assert snapshot(database_url)["t2"]["rows"] == [(1,)]
    assert version_rows(database_url) == ["bbb2"]


def test_ctrl_c_during_downgrade_rolls_back_the_running_revision(
    sleepy: Path, database_url: str, tmp_path: Path
) -> None:
    marker = tmp_path / "running"
    assert _run(sleepy, database_url, "upgrade", marker=marker)[0] == 0
    marker.unlink()
    before = snapshot(database_url)

    code, stdout, stderr = _interrupt(
        _start(sleepy, database_url, marker, "downgrade", "base", "--yes"), marker
    )

    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "Interrupted" in stderr and "bbb2" in stderr and "database is at bbb2" in stderr
    assert snapshot(database_url) == before


def _active_queries(url: str, fragment: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND query LIKE :q AND pid <> pg_backend_pid() "
                    "AND datname = current_database()"  # other tests run beside this one
                ),
                {"q": f"%{fragment}%"},
            ).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [(signal.SIGINT, 130, "Interrupted (Ctrl-C)"), (signal.SIGTERM, 143, "Stopped (SIGTERM)")],
    ids=["SIGINT", "SIGTERM"],
)
def test_ctrl_c_cancels_a_long_postgresql_statement(
    workspace: Path, postgres_url: str, tmp_path: Path, signum: int, code: int, said: str
) -> None:
    """psycopg2 blocks in libpq during a statement; migtutor must still stop it at once, and
    cancel it on the server (`kill PID` too), so no orphan statement keeps holding locks."""
    write_revision(
        workspace,
        "aaa1",
        None,
        'op.create_table("t1", sa.Column("id", sa.Integer(), primary_key=True))\n'
        'op.execute("SELECT pg_sleep(600)")',
        message="slow statement",
    )
    process = migtutor_process("-w", str(workspace), "-d", postgres_url, "upgrade")
    _wait_for(
        lambda: _active_queries(postgres_url, "pg_sleep(600)") or process.poll() is not None,
        "pg_sleep to run on the server",
    )
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=WAIT)  # a blocked psycopg2 would hang here

    assert process.returncode == code, stderr
    assert "Traceback" not in stderr and said in stderr
    assert "aaa1" in stderr and "rolled back" in stderr and "base" in stderr
    assert _active_queries(postgres_url, "pg_sleep(600)") == 0  # cancelled, not left running
    assert snapshot(postgres_url) == {}


def test_sigkill_mid_migration_then_upgrade_completes(
    sleepy: Path, database_url: str, tmp_path: Path
) -> None:
    marker = tmp_path / "running"
    process = _start(sleepy, database_url, marker, "upgrade")
    _wait_for(lambda: marker.exists() or process.poll() is not None, "the migration to start")
    process.kill()
    process.communicate(timeout=WAIT)
    assert process.returncode == -signal.SIGKILL

    marker.unlink()
    code, stdout, stderr = _run(sleepy, database_url, "upgrade", marker=marker)

    assert code == 0, stderr
    assert "bbb2" in stdout
    tables = snapshot(database_url)
    assert sorted(tables) == ["alembic_version", "t1", "t2"]
    assert tables["t2"]["rows"] == [(1,)]
    assert version_rows(database_url) == ["bbb2"]


def _waiting_on_a_lock(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar_one()
    finally:
        engine.dispose()


def test_ctrl_c_during_reset_rolls_back_and_says_where(workspace: Path, postgres_url: str) -> None:
    """reset runs in one transaction; Ctrl-C while it waits (here: for a lock another session
    holds on posts) leaves the database where it was and says where that is."""
    ws = ["-w", str(workspace), "-d", postgres_url]
    setup = migtutor_process(*ws, "reset", "--to", "lesson:3", "--seed", "--yes")
    assert setup.wait(timeout=WAIT) == 0, setup.communicate()
    before = snapshot(postgres_url)
    files = sorted(p.name for p in (workspace / "migrations" / "versions").iterdir())

    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as blocker:
            blocker.execute(sa.text("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE"))
            process = migtutor_process(*ws, "reset", "--to", "lesson:5", "--yes")
            _wait_for(
                lambda: _waiting_on_a_lock(postgres_url) or process.poll() is not None,
                "reset to wait for the lock",
            )
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=WAIT)
            blocker.rollback()
    finally:
        engine.dispose()

    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "Interrupted" in stderr and "rolled back" in stderr
    assert "the database is at l2_content" in stderr
    assert snapshot(postgres_url) == before
    assert sorted(p.name for p in (workspace / "migrations" / "versions").iterdir()) == files


def test_ctrl_c_while_waiting_for_another_migration(
    sleepy: Path, postgres_url: str, tmp_path: Path
) -> None:
    """On PostgreSQL a second migration waits for the first (advisory lock); Ctrl-C while it
    waits stops it cleanly, and the first one is not disturbed."""
    marker, release = tmp_path / "running", tmp_path / "release"
    first = _start(sleepy, postgres_url, marker, "upgrade", release=str(release))
    _wait_for(lambda: marker.exists() or first.poll() is not None, "the first migration")
    second = _start(sleepy, postgres_url, tmp_path / "second", "upgrade")
    waiting = second.stderr.readline()  # blocks until it reports the wait (or exits)
    assert "waiting" in waiting, waiting + second.communicate()[1]
    second.send_signal(signal.SIGINT)
    stdout, stderr = second.communicate(timeout=WAIT)

    assert second.returncode == 130, stderr
    assert "Traceback" not in stderr and "Interrupted" in stderr
    assert first.poll() is None  # still running its revision, undisturbed
    release.touch()
    first_out, first_err = first.communicate(timeout=WAIT)
    assert first.returncode == 0, first_err
    assert version_rows(postgres_url) == ["bbb2"]


@pytest.fixture
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP port that accepts connections and never answers (a server that hangs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1], accepted
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_hanging_server_connect_timeout_and_ctrl_c(workspace: Path, silent_server) -> None:
    """psycopg2 connects asynchronously here (so Ctrl-C works), where libpq ignores
    connect_timeout: migtutor enforces it. Without one, Ctrl-C still stops the wait."""
    port, accepted = silent_server
    url = f"postgresql+psycopg2://u:pw@127.0.0.1:{port}/x"
    timed = migtutor_process("-w", str(workspace), "-d", url + "?connect_timeout=2", "current")
    stdout, stderr = timed.communicate(timeout=WAIT)
    assert timed.returncode == 1 and "timeout expired" in stderr, stderr
    assert "Traceback" not in stderr

    connections = len(accepted)
    waiting = migtutor_process("-w", str(workspace), "-d", url, "current")
    _wait_for(lambda: len(accepted) > connections or waiting.poll() is not None, "connecting")
    waiting.send_signal(signal.SIGINT)
    stdout, stderr = waiting.communicate(timeout=WAIT)
    assert waiting.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "Interrupted (Ctrl-C) while connecting, before the server answered." in stderr
    # It stops there: no second connection to ask a server that never answered where it is.
    assert len(accepted) == connections + 1


def test_ctrl_c_stops_a_long_sqlite_statement(workspace: Path, tmp_path: Path) -> None:
    """sqlite3 runs a statement without giving Python a chance to raise KeyboardInterrupt;
    migtutor's progress handler gives it one, so an endless statement still stops."""
    marker = tmp_path / "running"
    write_revision(
        workspace,
        "aaa1",
        None,
        'op.create_table("t1", sa.Column("id", sa.Integer(), primary_key=True))\n'
        'pathlib.Path(os.environ["MT_MARKER"]).touch()\n'
        'op.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "\n'
        '           "SELECT max(x) FROM c")',
        message="endless statement",
        header=SLEEPY_HEADER,
    )
    url = f"sqlite:///{tmp_path / 'endless.db'}"
    code, stdout, stderr = _interrupt(_start(workspace, url, marker, "upgrade"), marker)

    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "aaa1" in stderr and "rolled back" in stderr and "base" in stderr
    assert snapshot(url) == {}


def test_sigkill_during_a_long_postgresql_statement_then_upgrade_completes(
    workspace: Path, postgres_url: str, tmp_path: Path
) -> None:
    """Killed while the server runs its statement: the server notices the vanished client
    (client_connection_check_interval), so the statement's locks and migtutor's advisory lock
    go with it and the next upgrade completes instead of waiting."""
    write_revision(
        workspace,
        "aaa1",
        None,
        'op.create_table("t1", sa.Column("id", sa.Integer(), primary_key=True))\n'
        "op.execute(f\"SELECT pg_sleep({os.environ.get('MT_PG_SLEEP', '0')})\")",
        'op.drop_table("t1")',
        "slow statement",
        header=SLEEPY_HEADER,
    )
    ws = ["-w", str(workspace), "-d", postgres_url]
    killed = migtutor_process(*ws, "upgrade", env={"MT_PG_SLEEP": "600"})
    _wait_for(
        lambda: _active_queries(postgres_url, "pg_sleep(600)") or killed.poll() is not None,
        "pg_sleep to run on the server",
    )
    killed.kill()
    killed.communicate(timeout=WAIT)

    again = migtutor_process(*ws, "upgrade", env={"MIGTUTOR_LOCK_TIMEOUT": "20"})
    stdout, stderr = again.communicate(timeout=WAIT)
    assert again.returncode == 0, stderr
    assert version_rows(postgres_url) == ["aaa1"]
    assert _active_queries(postgres_url, "pg_sleep(600)") == 0


@pytest.mark.parametrize("command", [("upgrade",), ("history",)], ids=" ".join)
def test_first_ctrl_c_stops_a_slow_revision_import(
    workspace: Path, database_url: str, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Top-level code of a revision file runs whenever the files load; Ctrl-C there must stop
    migtutor at once, not load the files again to find out which revision was running."""
    imports = tmp_path / "imports"
    write_revision(
        workspace,
        "aaa1",
        None,
        'op.create_table("t1", sa.Column("id", sa.Integer(), primary_key=True))',
        header=(
            SLEEPY_HEADER + 'with open(os.environ["MT_IMPORTS"], "a") as log:\n    log.write("x")\n'
            "time.sleep(100)\n"
        ),
    )
    process = migtutor_process(
        "-w", str(workspace), "-d", database_url, *command, env={"MT_IMPORTS": str(imports)}
    )
    _wait_for(lambda: imports.exists() or process.poll() is not None, "the revision to load")
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=WAIT)

    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Interrupted (Ctrl-C)" in stderr
    assert imports.read_text() == "x"  # loaded once, never again after the interrupt
    assert snapshot(database_url) == {}
