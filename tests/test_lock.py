"""Two `upgrade` processes on one PostgreSQL database never apply a revision twice (issue 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from migtutor.migrate import LOCK_KEY

SLOW_REVISION = '''"""slow table

Revision ID: slow
Revises:
"""

import os
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "slow"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("slow", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("INSERT INTO slow (id) VALUES (1)")
    release = Path(os.environ["RELEASE_FILE"])
    deadline = time.monotonic() + 30
    while not release.exists() and time.monotonic() < deadline:  # the test says when to end
        time.sleep(0.05)


def downgrade() -> None:
    op.drop_table("slow")
'''


def migtutor_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("migtutor")), *args]


def advisory_locks_held(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
            )
        ).scalar_one()


def test_two_processes_take_turns(workspace: Path, postgres_url: str) -> None:
    (workspace / "migrations" / "versions" / "slow.py").write_text(SLOW_REVISION)
    command = migtutor_command("-w", str(workspace), "-d", postgres_url, "--json", "upgrade")
    release = workspace / "release"
    env = {k: v for k, v in os.environ.items() if k not in ("MIGTUTOR_DATABASE_URL",)}
    env["RELEASE_FILE"] = str(release)
    engine = sa.create_engine(postgres_url)
    try:
        first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 30
        while advisory_locks_held(engine) == 0:  # wait until the first one is migrating
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first upgrade never took the lock"
            time.sleep(0.05)
        second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        waiting = second.stderr.readline()  # the second says it waits for the first
        assert b"waiting" in waiting, waiting + second.stderr.read()
        release.touch()  # now the first may finish its revision
        out1, err1 = first.communicate(timeout=60)
        out2, err2 = second.communicate(timeout=60)
        assert first.returncode == 0, err1.decode()
        assert second.returncode == 0, err2.decode()
        applied = sorted(len(json.loads(out)["applied"]) for out in (out1, out2))
        assert applied == [0, 1]  # one applied the revision, the other found nothing to do
        assert json.loads(out2)["current"] == ["slow"]
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM slow")).scalar_one() == 1
        assert advisory_locks_held(engine) == 0
    finally:
        engine.dispose()


def test_gives_up_clearly_after_the_timeout(
    cli, course_workspace: Path, postgres_url: str, monkeypatch
) -> None:
    monkeypatch.setenv("MIGTUTOR_LOCK_TIMEOUT", "0.5")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as holder:
            holder.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
            holder.commit()
            result = cli("-w", str(course_workspace), "-d", postgres_url, "upgrade", "head")
            assert result.exit_code == 1
            assert "Another migration is running on this database" in result.stderr
            assert "nothing was changed" in result.stderr
            assert "MIGTUTOR_LOCK_TIMEOUT" in result.stderr
            assert "Traceback" not in result.output
            tables = sa.inspect(holder).get_table_names()
            assert tables == []
            holder.rollback()
            holder.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            holder.commit()
        after = cli("-w", str(course_workspace), "-d", postgres_url, "upgrade", "head")
        assert after.exit_code == 0, after.output
    finally:
        engine.dispose()
