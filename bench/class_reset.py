"""How long `migtutor class reset` takes for a class of 30 students on PostgreSQL.

Run from the repository root:  .venv/bin/python bench/class_reset.py [--students 30] [--runs 3]

It creates a class under a unique prefix (`mtbench<random>`), then times, for each target,
the in-place reset with 1, 4 and 8 workers (what `class reset` does, with 8): the reference
revisions' SQL is generated once (Alembic's offline mode) and each student database is reset in
its own transaction, in a session of a throwaway member of the student's role (so nothing the
student planted runs with the administrator's rights), several databases at a time; and the
whole `migtutor class reset --yes` command as a process (interpreter start included); then
the whole `migtutor class status` command (every database compared, whole, with the reference
state of its lesson) as a process. Beside them, unless --no-shell, one run of the shell loop an
instructor would write without migtutor (dropdb, createdb, the plain `alembic upgrade` of the
course's reference revisions, student after student), in the same run.
`class status` is timed twice: with its cache of the reference states warm (what an
instructor's every run but the first sees) and cold (a new cache directory each run, so the
states are built with Alembic). Beside each whole-process time, the process's CPU time (user +
system, from `os.wait4`): the server's share is the difference, and on a machine shared with
other work the CPU time is the steadier figure.
`--status-only` creates the class at lesson:3 and times only `class status`.
Medians of --runs runs are printed (min and max too). The class is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from migtutor import classroom  # noqa: E402
from migtutor.reset import parse_target  # noqa: E402
from migtutor.settings import DatabaseSettings  # noqa: E402

SERVER = os.environ.get(
    "MIGTUTOR_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


def shell_loop(students: list[str], spec: str) -> float:
    """What an instructor would script without migtutor: dropdb, createdb and the plain
    `alembic upgrade` of the course's reference revisions, one student after another."""
    from sqlalchemy.engine import make_url

    url = make_url(SERVER)
    revision = parse_target(spec).revision or "base"
    connection = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username]
    alembic = str(Path(sys.executable).with_name("alembic"))
    begin = time.perf_counter()
    for student in students:
        name = f"mtshell_{student}"
        subprocess.run(
            ["dropdb", *connection, "--if-exists", name], check=True, stderr=subprocess.DEVNULL
        )
        subprocess.run(["createdb", *connection, name], check=True)
        env = {**os.environ, "DATABASE_URL": url.set(database=name).render_as_string(False)}
        subprocess.run(
            [alembic, "-c", str(REPO / "alembic.ini"), "upgrade", revision],
            check=True, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    seconds = time.perf_counter() - begin
    for student in students:
        subprocess.run(["dropdb", *connection, "--if-exists", f"mtshell_{student}"], check=True)
    return seconds


# Every migtutor process writes and reads its bytecode under one temporary directory, as an
# installed tool reads its .pyc files: with PYTHONDONTWRITEBYTECODE, each run would compile
# the checkout's modules from source (bench/run.py does the same).
PYCACHE = tempfile.mkdtemp(prefix="mtbench-pycache-")
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ["PYTHONPYCACHEPREFIX"] = PYCACHE


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process; it must succeed."""
    begin = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - begin
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return wall, usage.ru_utime + usage.ru_stime


def time_status(prefix: str, runs: int) -> list[tuple[str, list[float], list[float]]]:
    """`migtutor --json class status` with a warm and with a cold reference-state cache."""
    command = [str(Path(sys.executable).with_name("migtutor")), "-d", SERVER, "--json", "class",
               "status", "--prefix", prefix]  # fmt: skip
    found = []
    with tempfile.TemporaryDirectory(prefix="mtbench-cache-") as warm:
        env = {**os.environ, "MIGTUTOR_CACHE_DIR": warm}
        timed(command, env)  # fills the cache
        walls, cpus = [], []
        for _ in range(runs):
            wall, cpu = timed(command, env)
            walls.append(wall)
            cpus.append(cpu)
        found.append(("migtutor class status", walls, cpus))
        walls, cpus = [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory(prefix="mtbench-cache-") as cold:
                wall, cpu = timed(command, {**os.environ, "MIGTUTOR_CACHE_DIR": cold})
            walls.append(wall)
            cpus.append(cpu)
        found.append(("class status, no cache", walls, cpus))
    for label, walls, cpus in found:
        print(f"  {'-':<9} {label:<22} median {statistics.median(walls):6.2f} s "
              f"(CPU of the process {statistics.median(cpus):5.2f} s)")  # fmt: skip
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--targets", default="lesson:3,head")
    parser.add_argument("--workers", default="1,4,8", help="in-place resets with these pools")
    parser.add_argument("--no-shell", action="store_true", help="skip the shell-loop baseline")
    parser.add_argument("--status-only", action="store_true", help="time only class status")
    args = parser.parse_args()
    targets = [] if args.status_only else [t for t in args.targets.split(",") if t]

    database = DatabaseSettings(SERVER, "bench")
    prefix = f"mtbench{uuid.uuid4().hex[:6]}"
    students = [f"student{n:02d}" for n in range(1, args.students + 1)]
    print(f"class of {len(students)} on {database.masked_url}, prefix {prefix}, {args.runs} runs")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    rows = []
    try:
        started = time.perf_counter()
        at = "lesson:3" if args.status_only else "base"
        classroom.create_class(database, students, prefix, parse_target(at))
        print(f"class create: {time.perf_counter() - started:.2f} s")
        for spec in targets:
            target = parse_target(spec)
            if not args.no_shell:
                times = [shell_loop(students, spec)]
                rows.append((spec, "shell loop (1 run)", times))
                print(f"  {spec:<9} {'shell loop (1 run)':<22} {times[0]:6.2f} s")
            for workers in [int(w) for w in args.workers.split(",") if w]:
                classroom.WORKERS = workers
                times = []
                for _ in range(args.runs):
                    times.append(classroom.reset_class(database, prefix, target).seconds)
                label = f"in place, {workers} worker(s)"
                rows.append((spec, label, times))
                print(f"  {spec:<9} {label:<22} median {statistics.median(times):6.2f} s")
            classroom.WORKERS = 8
            times = []
            for _ in range(args.runs):
                begin = time.perf_counter()
                subprocess.run(
                    [str(Path(sys.executable).with_name("migtutor")), "-d", SERVER, "class",
                     "reset", "--prefix", prefix, "--to", spec, "--yes"],
                    check=True, stdout=subprocess.DEVNULL,
                )  # fmt: skip
                times.append(time.perf_counter() - begin)
            rows.append((spec, "migtutor class reset", times))
            median = statistics.median(times)
            print(f"  {spec:<9} {'migtutor class reset':<22} median {median:6.2f} s")
        for label, walls, cpus in time_status(prefix, args.runs):
            rows.append(("-", label, walls))
            rows.append(("-", "  its CPU time", cpus))
    finally:
        classroom.drop_class(database, students, prefix)
        shutil.rmtree(PYCACHE, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print()
    print(f"{'target':<9} {'method':<22} {'median':>8} {'min':>8} {'max':>8} {'per student':>12}")
    for spec, label, times in rows:
        median = statistics.median(times)
        print(
            f"{spec:<9} {label:<22} {median:7.2f}s {min(times):7.2f}s {max(times):7.2f}s "
            f"{median / len(students) * 1000:9.0f} ms"
        )


if __name__ == "__main__":
    main()
