"""Benchmark migtutor against the plain `alembic` CLI on the same scripts and the same database.

Run from the repository root:  .venv/bin/python bench/run.py   (or `make bench`)
Options: --quick (a fast smoke run), --runs N, --output PATH, --no-postgres, --sizes 100,300,1000.
See bench/README.md for what is measured and how to read the table.

Only the standard library is used here: every measured command runs in its own process, and the
whole process (interpreter start, imports, work, exit) is timed with `time.perf_counter`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from migtutor.course import lesson_count, models_at
from migtutor.settings import PART_KEYS, URL_KEYS

REPO = Path(__file__).resolve().parent.parent
COURSE_VERSIONS = REPO / "migrations" / "versions"
DEFAULT_OUTPUT = REPO / "bench" / "results.json"
POSTGRES_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432"

# Targets of issue 7.
ALEMBIC_RATIO_TARGET = 1.10  # migtutor / alembic on the same work
NO_DATABASE_TARGET = 0.35  # migtutor command / `alembic --help`

# Settings a developer's shell may hold that would change which database or workspace is used.
_SETTINGS_VARIABLES = (*URL_KEYS, *PART_KEYS, "MIGTUTOR_WORKSPACE")

TRIVIAL_REVISION = '''"""generated revision {index}

Revision ID: {revision}
Revises: {down}
"""

revision = "{revision}"
down_revision = {down_repr}
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


# -- running one process -----------------------------------------------------------------------


@dataclass
class Run:
    seconds: float  # wall time of the whole process
    max_rss_kb: int
    cpu_seconds: float = 0.0  # user + system CPU time of the process


class CommandFailed(RuntimeError):
    pass


def run_once(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run `argv` to completion; its wall time and its own peak memory (ru_maxrss, in KiB).

    `os.wait4` returns the same `resource.struct_rusage` that `resource.getrusage(
    RUSAGE_CHILDREN)` accumulates, but for this one child, so each command gets its own peak.
    """
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            tail = stderr.read().decode("utf-8", "replace").strip().splitlines()[-8:]
            raise CommandFailed(
                f"`{' '.join(argv)}` in {cwd} exited {process.returncode}:\n  " + "\n  ".join(tail)
            )
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    return Run(seconds, rss, usage.ru_utime + usage.ru_stime)


@dataclass
class Case:
    """One command line of one tool, measured several times."""

    tool: str  # "migtutor" or "alembic"
    name: str  # what is measured, e.g. "heads"
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    runs: list[Run] = field(default_factory=list)

    def run(self) -> None:
        self.runs.append(run_once(self.argv, self.cwd, self.env))

    @property
    def median_ms(self) -> float:
        return statistics.median(r.seconds for r in self.runs) * 1000

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(r.cpu_seconds for r in self.runs) * 1000

    @property
    def peak_kb(self) -> int:
        return max(r.max_rss_kb for r in self.runs)

    def summary(self) -> dict[str, object]:
        times = sorted(r.seconds * 1000 for r in self.runs)
        return {
            "median_ms": round(self.median_ms, 1),
            "min_ms": round(times[0], 1),
            "max_ms": round(times[-1], 1),
            "runs": len(times),
            "cpu_median_ms": round(self.cpu_median_ms, 1),
            "peak_rss_kb": self.peak_kb,
        }


def measure(rounds: Sequence[Sequence[Case]], runs: int, warmup: int) -> None:
    """Run every case of each round in turn, `warmup + runs` times; keep the last `runs`.

    The cases of one round interleave (A B A B ...), so a burst of load from elsewhere on the
    machine falls on both tools rather than on one.
    """
    for index in range(warmup + runs):
        for round_ in rounds:
            for case in round_:
                case.run()
                if index < warmup:
                    case.runs.pop()


# -- workspaces and databases ------------------------------------------------------------------


def tool_paths() -> tuple[Path, Path]:
    """The migtutor and alembic executables beside this interpreter (the venv), else on PATH."""
    found = []
    for name in ("migtutor", "alembic"):
        candidate = Path(sys.executable).parent / name
        if not candidate.exists():
            which = shutil.which(name)
            if which is None:
                raise SystemExit(f"Cannot find the `{name}` command: install migtutor first.")
            candidate = Path(which)
        found.append(candidate)
    return found[0], found[1]


# Where the children write their bytecode (set in main): a temporary directory, so nothing is
# written into the repository or site-packages.
PYCACHE: dict[str, str] = {}


def clean_env(database_url: str | None = None) -> dict[str, str]:
    """The environment of every measured process: same for both tools.

    PYTHONDONTWRITEBYTECODE is removed: with it, every run compiles from source whatever has no
    up-to-date .pyc (migtutor's modules in a development checkout, the revision files), which
    no installed tool does. The bytecode goes to a temporary PYTHONPYCACHEPREFIX instead; the
    warm-up runs write it for both tools.
    """
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARIABLES}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(PYCACHE)
    env["NO_COLOR"] = "1"
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def make_workspace(migtutor: Path, directory: Path, course: bool = True) -> Path:
    subprocess.run([str(migtutor), "init", str(directory)], check=True, capture_output=True)
    if course:
        for script in COURSE_VERSIONS.glob("*.py"):
            shutil.copy(script, directory / "migrations" / "versions" / script.name)
        shutil.copy(models_at(lesson_count() + 1), directory / "app" / "models.py")
    return directory


def generate_chain(directory: Path, count: int) -> None:
    """`count` trivial revisions g0001 <- g0002 <- ... in the workspace's versions directory."""
    versions = directory / "migrations" / "versions"
    for old in versions.glob("*.py"):
        old.unlink()
    for index in range(1, count + 1):
        revision = f"g{index:04d}"
        down = f"g{index - 1:04d}" if index > 1 else None
        (versions / f"{revision}_generated.py").write_text(
            TRIVIAL_REVISION.format(
                index=index,
                revision=revision,
                down=down or "",
                down_repr=repr(down),
            ),
            encoding="utf-8",
        )


def _psql(sql: str) -> None:
    """Run one statement as the postgres superuser: psql if installed, else psycopg2 in a child."""
    if shutil.which("psql"):
        command = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql]
    else:
        code = (
            "import psycopg2, sys\n"
            "c = psycopg2.connect(host='127.0.0.1', user='postgres', dbname='postgres')\n"
            "c.autocommit = True\nc.cursor().execute(sys.argv[1])\n"
        )
        command = [sys.executable, "-c", code, sql]
    subprocess.run(command, check=True, capture_output=True, timeout=30)


def postgres_reason() -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    try:
        _psql("SELECT 1")
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return f"PostgreSQL not reachable on 127.0.0.1:5432: {detail.decode().strip() or exc}"
    return None


@contextmanager
def scratch_postgres() -> Iterator[str]:
    name = f"migtutor_bench_{uuid.uuid4().hex[:8]}"
    _psql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the benchmark -----------------------------------------------------------------------------


def has_command(migtutor: Path, cwd: Path, *words: str) -> bool:
    result = subprocess.run(
        [str(migtutor), *words, "--help"], cwd=cwd, env=clean_env(), capture_output=True
    )
    return result.returncode == 0


def downgrade_argv(migtutor: Path, cwd: Path) -> list[str]:
    """migtutor's downgrade, non-interactive (`--yes` when the command asks before data loss)."""
    result = subprocess.run(
        [str(migtutor), "downgrade", "--help"], cwd=cwd, env=clean_env(), capture_output=True
    )
    yes = ["--yes"] if b"--yes" in result.stdout else []
    return [str(migtutor), "downgrade", "base", *yes]


def startup_cases(migtutor: Path, alembic: Path, fresh: Path) -> list[Case]:
    """Commands that need no database and no migration script, against `alembic --help`."""
    env = clean_env()
    cases = [Case("alembic", "--help", [str(alembic), "--help"], fresh, env)]
    commands = [["--help"], ["--version"], ["config"]]
    if has_command(migtutor, fresh, "lesson"):
        commands += [["lesson", "list"], ["lesson", "show"], ["lesson", "hint"]]
    for words in commands:
        cases.append(Case("migtutor", " ".join(words), [str(migtutor), *words], fresh, env))
    return cases


def backend_rounds(
    migtutor: Path, alembic: Path, workspace: Path, env: dict[str, str]
) -> tuple[list[list[Case]], list[tuple[Case, Case]]]:
    """Rounds to run and (migtutor, alembic) pairs to compare, on one database.

    Reading commands run against the database at head. `upgrade head` and `downgrade base`
    alternate, so each upgrade starts from an empty database and each downgrade from the head.
    """

    def pair(name: str, m_argv: list[str], a_argv: list[str]) -> tuple[Case, Case]:
        return (
            Case("migtutor", name, m_argv, workspace, env),
            Case("alembic", name, a_argv, workspace, env),
        )

    m, a = str(migtutor), str(alembic)
    reading = [
        pair("--help", [m, "--help"], [a, "--help"]),
        pair("current", [m, "current"], [a, "current"]),
        pair("heads", [m, "heads"], [a, "heads"]),
        # migtutor's history marks the current revision, so it connects: alembic's -i does too.
        pair("history", [m, "history"], [a, "history", "-i"]),
    ]
    up = pair("upgrade head", [m, "upgrade", "head"], [a, "upgrade", "head"])
    down = pair("downgrade base", downgrade_argv(migtutor, workspace), [a, "downgrade", "base"])
    rounds = [[case for p in reading for case in p], [up[0], down[0], up[1], down[1]]]
    return rounds, [*reading, up, down]


def prepare(case: Case, *words: str) -> None:
    """Bring the database to a state with a plain alembic command (not measured)."""
    alembic = Path(case.argv[0]).with_name("alembic")
    run_once([str(alembic), *words], case.cwd, case.env)


def compare_rows(backend: str, pairs: list[tuple[Case, Case]]) -> list[dict[str, object]]:
    rows = []
    for m_case, a_case in pairs:
        ratio = m_case.median_ms / a_case.median_ms
        rows.append(
            {
                "backend": backend,
                "command": m_case.name,
                "migtutor": m_case.summary(),
                "alembic": a_case.summary(),
                "ratio": round(ratio, 3),
                "cpu_ratio": round(m_case.cpu_median_ms / a_case.cpu_median_ms, 3),
                "min_ratio": round(
                    min(r.seconds for r in m_case.runs) / min(r.seconds for r in a_case.runs), 3
                ),
                "target": ALEMBIC_RATIO_TARGET,
                "met": ratio <= ALEMBIC_RATIO_TARGET,
            }
        )
    return rows


def run_backend(
    backend: str, migtutor: Path, alembic: Path, workspace: Path, database_url: str | None,
    runs: int, warmup: int,
) -> list[dict[str, object]]:  # fmt: skip
    env = clean_env(database_url)
    rounds, pairs = backend_rounds(migtutor, alembic, workspace, env)
    first = rounds[0][0]
    prepare(first, "upgrade", "head")
    measure(rounds[:1], runs, warmup)
    prepare(first, "downgrade", "base")
    measure(rounds[1:], runs, warmup)
    return compare_rows(backend, pairs)


def run_growth(
    migtutor: Path, alembic: Path, root: Path, sizes: Sequence[int], runs: int, warmup: int
) -> list[dict[str, object]]:
    """heads, history and upgrade head (and the downgrade back) on chains of `sizes` revisions."""
    rows: list[dict[str, object]] = []
    env = clean_env()
    for size in sizes:
        workspace = make_workspace(migtutor, root / f"chain{size}", course=False)
        generate_chain(workspace, size)
        _, pairs = backend_rounds(migtutor, alembic, workspace, env)
        by_name = {p[0].name: p for p in pairs}
        reading = [by_name["heads"], by_name["history"]]
        up, down = by_name["upgrade head"], by_name["downgrade base"]
        measure([[c for p in reading for c in p]], runs, warmup)
        measure([[up[0], down[0], up[1], down[1]]], runs, warmup)
        for row in compare_rows("sqlite", [*reading, up, down]):
            rows.append({"revisions": size, **row})
        print(f"  {size} revisions done", file=sys.stderr)
    return rows


# -- reporting ---------------------------------------------------------------------------------


def _mb(kb: object) -> str:
    return f"{int(kb) / 1024:.0f}" if isinstance(kb, int) else "-"


def format_table(results: dict[str, object]) -> str:
    lines = []
    startup = results["startup"]
    assert isinstance(startup, dict)
    reference = startup["alembic --help"]
    lines.append(
        "No database, no migration script (target: at most "
        f"{NO_DATABASE_TARGET} x alembic --help = {reference['median_ms'] * NO_DATABASE_TARGET:.0f}"
        " ms; must not import SQLAlchemy/Alembic/a driver)"
    )
    lines.append(
        f"  {'command':<16}{'median ms':>10}{'x alembic --help':>18}{'cpu x':>7}{'peak MB':>9}  met"
    )
    for name, data in startup.items():
        share = data["median_ms"] / reference["median_ms"]
        cpu = data["cpu_median_ms"] / reference["cpu_median_ms"]
        met = "" if name == "alembic --help" else ("yes" if share <= NO_DATABASE_TARGET else "NO")
        lines.append(
            f"  {name:<16}{data['median_ms']:>10.1f}{share:>18.2f}{cpu:>7.2f}"
            f"{_mb(data['peak_rss_kb']):>9}  {met}"
        )
    header = (
        f"  {'backend':<9}{'command':<16}{'migtutor':>10}{'alembic':>10}{'ratio':>7}"
        f"{'min ratio':>10}{'cpu ratio':>10}{'MB m/a':>10}  met"
    )
    for title, key in (
        (f"Same work as alembic (ms, median; target ratio <= {ALEMBIC_RATIO_TARGET})", "compare"),
        ("Growth with the number of revisions (SQLite, trivial revisions)", "growth"),
    ):
        rows = results.get(key) or []
        if not rows:
            continue
        lines += ["", title, header if key == "compare" else header.replace("backend", "revs   ")]
        for row in rows:
            label = row["backend"] if key == "compare" else str(row["revisions"])
            mm, am = row["migtutor"], row["alembic"]
            memory = f"{_mb(mm['peak_rss_kb'])}/{_mb(am['peak_rss_kb'])}"
            lines.append(
                f"  {label:<9}{row['command']:<16}{mm['median_ms']:>10.1f}{am['median_ms']:>10.1f}"
                f"{row['ratio']:>7.2f}{row['min_ratio']:>10.2f}{row['cpu_ratio']:>10.2f}{memory:>10}"
                f"  {'yes' if row['met'] else 'NO'}"
            )
    lines.append(
        "(ratio: of the wall-time medians, the target; min ratio: of the fastest runs, the least "
        "disturbed by other load; cpu ratio: of the user+system CPU-time medians; MB: peak "
        "resident memory, migtutor/alembic)"
    )
    for note in results.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def machine() -> dict[str, object]:
    versions = {}
    for package in ("alembic", "sqlalchemy", "typer", "rich", "pydantic", "psycopg2-binary"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:  # not installed
            versions[package] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": list(os.getloadavg()),
        "versions": versions,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 runs, short chains: a smoke run.")
    parser.add_argument("--runs", type=int, help="Measured runs per command (default 7).")
    parser.add_argument("--warmup", type=int, default=1, help="Unmeasured runs first (default 1).")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file.")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only.")
    parser.add_argument("--sizes", help="Chain lengths for the growth runs (default 100,300,1000).")
    parser.add_argument("--no-growth", action="store_true", help="Skip the growth runs.")
    args = parser.parse_args(argv)

    runs = args.runs or (3 if args.quick else 7)
    sizes_text = args.sizes or ("10,30" if args.quick else "100,300,1000")
    sizes = [] if args.no_growth else [int(s) for s in sizes_text.split(",") if s]
    migtutor, alembic = tool_paths()
    results: dict[str, object] = {
        "machine": machine(),
        "settings": {"runs": runs, "warmup": args.warmup, "sizes": sizes, "quick": args.quick},
        "notes": [],
    }
    notes: list[str] = results["notes"]  # type: ignore[assignment]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="migtutor-bench-") as tmp:
        root = Path(tmp)
        PYCACHE["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        fresh = make_workspace(migtutor, root / "fresh", course=False)
        course = make_workspace(migtutor, root / "course")
        print(f"start-up commands ({runs} runs)...", file=sys.stderr)
        cases = startup_cases(migtutor, alembic, fresh)
        measure([cases], runs, args.warmup)
        results["startup"] = {
            (f"{c.tool} {c.name}" if c.tool == "alembic" else c.name): c.summary() for c in cases
        }
        print("SQLite...", file=sys.stderr)
        compare = run_backend("sqlite", migtutor, alembic, course, None, runs, args.warmup)
        reason = "skipped (--no-postgres)" if args.no_postgres else postgres_reason()
        if reason is None:
            print("PostgreSQL...", file=sys.stderr)
            with scratch_postgres() as url:
                compare += run_backend(
                    "postgres", migtutor, alembic, course, url, runs, args.warmup
                )
        else:
            notes.append(f"PostgreSQL {reason}")
        results["compare"] = compare
        if sizes:
            print(f"growth {sizes}...", file=sys.stderr)
            results["growth"] = run_growth(migtutor, alembic, root, sizes, runs, args.warmup)
    results["machine"]["loadavg_after"] = list(os.getloadavg())  # type: ignore[index]
    results["seconds"] = round(time.perf_counter() - started, 1)
    notes.append(
        f"load average before/after: {results['machine']['loadavg']} / "  # type: ignore[index]
        f"{results['machine']['loadavg_after']} on {os.cpu_count()} CPUs"  # type: ignore[index]
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(format_table(results))
    print(f"\n({results['seconds']} s; JSON in {args.output})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
