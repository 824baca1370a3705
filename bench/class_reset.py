"""How long `migtutor class reset` takes for a class of 30 students on PostgreSQL.

Run from the repository root:  .venv/bin/python bench/class_reset.py [--students 30] [--runs 3]

It creates a class under a unique prefix (`mtbench<random>`), then times, for each target,
the in-place reset with 1, 4 and 8 workers (what `class reset` does, with 8): the reference
revisions' SQL is generated once (Alembic's offline mode) and each student database is reset in
its own transaction, in a session of a throwaway member of the student's role (so nothing the
student planted runs with the administrator's rights), several databases at a time; and the
whole `migtutor class reset --yes` command as a process (interpreter start included); then
the whole `migtutor class status` command (every database compared, whole, with the reference
state of its lesson) as a process.
Medians of --runs runs are printed (min and max too). The class is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--targets", default="lesson:3,head")
    args = parser.parse_args()

    database = DatabaseSettings(SERVER, "bench")
    prefix = f"mtbench{uuid.uuid4().hex[:6]}"
    students = [f"student{n:02d}" for n in range(1, args.students + 1)]
    print(f"class of {len(students)} on {database.masked_url}, prefix {prefix}, {args.runs} runs")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    rows = []
    try:
        started = time.perf_counter()
        classroom.create_class(database, students, prefix, parse_target("base"))
        print(f"class create: {time.perf_counter() - started:.2f} s")
        for spec in args.targets.split(","):
            target = parse_target(spec)
            for workers in (1, 4, 8):
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
        times = []
        for _ in range(args.runs):
            begin = time.perf_counter()
            subprocess.run(
                [str(Path(sys.executable).with_name("migtutor")), "-d", SERVER, "--json", "class",
                 "status", "--prefix", prefix],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            times.append(time.perf_counter() - begin)
        rows.append(("-", "migtutor class status", times))
        median = statistics.median(times)
        print(f"  {'-':<9} {'migtutor class status':<22} median {median:6.2f} s")
    finally:
        classroom.drop_class(database, students, prefix)
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
