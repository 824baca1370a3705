"""`migtutor demo`: the course end to end, unattended, the same output on every run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

MIGTUTOR = str(Path(sys.executable).with_name("migtutor"))


def run_demo(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MIGT"))}
    return subprocess.run(
        [MIGTUTOR, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )


def without_run_time(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("Run time:"))


def current_revision(url: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
        result = rows.scalars().all()
    engine.dispose()
    return result


def test_demo_runs_the_course_on_sqlite_and_prints_the_same_every_time(tmp_path: Path) -> None:
    first = run_demo("demo", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    for number in range(1, 6):
        assert f"Lesson {number} of 7" in out
    for command in ('$ migtutor revision -m "create posts table"', "$ migtutor upgrade head",
                    "$ migtutor revision --autogenerate", "$ migtutor downgrade base"):  # fmt: skip
        assert command in out
    assert "Database is now at <base>" in out and "Demo finished at l7_phone" in out
    assert "Run time:" in out
    assert "tmp" not in without_run_time(out)  # no temporary paths in what it prints
    assert list(tmp_path.iterdir()) == []  # nothing left behind

    second = run_demo("--no-color", "demo", "--no-pause", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert without_run_time(second.stdout) == without_run_time(out)


@pytest.mark.postgres
def test_demo_runs_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    result = run_demo("-d", postgres_url, "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Lesson 7 of 7" in result.stdout and "Demo finished at l7_phone" in result.stdout
    assert current_revision(postgres_url) == ["l7_phone"]

    again = run_demo("-d", postgres_url, "demo", cwd=tmp_path)
    assert again.returncode == 1
    assert "reset --to base --yes" in again.stderr and "Traceback" not in again.stderr


def test_demo_to_a_lesson_in_a_given_workspace(cli, tmp_path: Path, monkeypatch) -> None:
    def no_waiting(seconds: float) -> None:
        raise AssertionError("the demo waited without a terminal")

    monkeypatch.setattr(time, "sleep", no_waiting)
    workspace = tmp_path / "show"
    result = cli("-w", str(workspace), "demo", "--to", "lesson:3", "--pause", "--delay", "2")
    assert result.exit_code == 0, result.output
    assert "Lesson 2 of 7" in result.stdout and "Lesson 3 of 7" not in result.stdout
    assert "Demo finished at l2_content (start of lesson 3)" in result.stdout
    versions = sorted(p.name[:10] for p in (workspace / "migrations" / "versions").glob("*.py"))
    assert versions == ["l1_posts_c", "l2_content"]
    assert current_revision(f"sqlite:///{workspace / 'migtutor.db'}") == ["l2_content"]
    assert cli("-w", str(workspace), "--json", "current").json()["up_to_date"] is True

    refused = cli("-w", str(workspace), "demo")
    assert refused.exit_code == 1 and "not empty" in refused.stderr
