"""How long a learner waits for a verdict: `lesson check`, and `lesson watch` from save to verdict.

Run from the repository root:  .venv/bin/python bench/tutor_latency.py [--runs N] [--no-postgres]

- `lesson check` on lesson 1, step 2 (the up/down/up trial on a scratch copy), each run a new
  `migtutor` process timed whole with `time.perf_counter`, on SQLite and on PostgreSQL (a
  scratch database on 127.0.0.1:5432). Target on PostgreSQL: a median under 1.0 s. The CPU
  time of each process (user + system) is reported beside it: on a shared machine the wall
  time also measures the others' load.
- `lesson watch --json` on SQLite: one process keeps running while the revision file is saved
  again and again (a version whose downgrade() does not undo upgrade(), so every save runs the
  whole trial and the step never passes); the time from each save to its verdict line. Target:
  a median of at most 0.5 s.

Only the standard library is used here; the numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

MIGTUTOR = str(Path(sys.executable).with_name("migtutor"))
POSTGRES_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432"
REVISION = '''"""create posts table"""
import sqlalchemy as sa
from alembic import op

revision = "b0000000001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(), nullable=False),
    )


def downgrade():
    op.execute("SELECT 1")  # does not undo upgrade(): the trial runs to the end and fails
'''


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MIGTUTOR, *args], capture_output=True, text=True)


def workspace_at_step_two(directory: Path, url: str) -> list[str]:
    """A workspace at lesson 1, step 2, with a revision that fails the step's trial."""
    base = ["-w", str(directory), "-d", url]
    run("init", str(directory)).check_returncode()
    (directory / "migrations" / "versions" / "b0000000001.py").write_text(REVISION)
    run(*base, "lesson", "check")  # step 1 passes: the revision exists
    return base


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def check_latency(url: str, runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each `lesson check` process."""
    with tempfile.TemporaryDirectory() as tmp:
        base = workspace_at_step_two(Path(tmp) / "ws", url)
        times, cpu = [], []
        for _ in range(runs):
            cpu_before = children_cpu()
            started = time.perf_counter()
            result = run(*base, "lesson", "check")
            times.append(time.perf_counter() - started)
            cpu.append(children_cpu() - cpu_before)
            assert result.returncode == 1, result.stdout + result.stderr  # still step 2
        return times, cpu


def watch_latency(runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "ws"
        base = workspace_at_step_two(directory, f"sqlite:///{Path(tmp) / 'bench.db'}")
        path = directory / "migrations" / "versions" / "b0000000001.py"
        watcher = subprocess.Popen(
            [MIGTUTOR, *base, "--json", "lesson", "watch", "--timeout", "600"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert watcher.stdout is not None
        try:
            json.loads(watcher.stdout.readline())  # the first verdict, before any save
            times = []
            for number in range(runs):
                time.sleep(0.3)  # a learner does not save twice within a poll
                saved = time.perf_counter()
                path.write_text(REVISION + f"# save {number}\n")
                verdict = json.loads(watcher.stdout.readline())
                times.append(time.perf_counter() - saved)
                assert verdict["passed"] is False, verdict
            return times
        finally:
            watcher.terminate()
            watcher.wait(timeout=30)


def postgres_database() -> tuple[str, str] | None:
    try:
        import sqlalchemy as sa
    except ImportError:
        return None
    name = f"mt_bench_{uuid.uuid4().hex[:8]}"
    try:
        engine = sa.create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    except Exception as exc:  # no server: the PostgreSQL row is left out
        print(f"PostgreSQL left out: {str(exc).splitlines()[0]}")
        return None
    return name, f"{POSTGRES_SERVER}/{name}"


def drop_database(name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def report(
    label: str, times: list[float], target: float | None, cpu: list[float] | None = None
) -> None:
    median = statistics.median(times)
    verdict = "" if target is None else (" (target met)" if median <= target else " (MISSED)")
    spent = f"  cpu median {statistics.median(cpu):6.3f} s" if cpu else ""
    print(
        f"{label:<44} median {median:6.3f} s  min {min(times):6.3f}  max {max(times):6.3f}"
        f"{spent}  n={len(times)}{verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-postgres", action="store_true")
    options = parser.parse_args()
    if shutil.which(MIGTUTOR) is None and not Path(MIGTUTOR).exists():
        sys.exit(f"{MIGTUTOR} not found: install the package first (make lint does).")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{Path(tmp) / 'check.db'}"
        times, cpu = check_latency(sqlite_url, options.runs)
        report("lesson check, SQLite (whole process)", times, None, cpu)
    if not options.no_postgres and (found := postgres_database()) is not None:
        name, url = found
        try:
            times, cpu = check_latency(url, options.runs)
            report("lesson check, PostgreSQL (whole process)", times, 1.0, cpu)
        finally:
            drop_database(name)
    report("lesson watch, SQLite: save to verdict", watch_latency(options.runs), 0.5)


if __name__ == "__main__":
    main()
