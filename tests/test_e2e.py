"""The installed `migtutor` executable, run as a learner runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

MIGTUTOR = str(Path(sys.executable).with_name("migtutor"))

POSTS_UPGRADE = """    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(), nullable=False),
    )"""


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MIGT"))}
    environment.update(env or {})
    return subprocess.run(
        [MIGTUTOR, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def journey(directory: Path, env: dict[str, str] | None = None) -> None:
    directory.mkdir()
    assert run("init", cwd=directory, env=env).returncode == 0
    created = run("--json", "revision", "-m", "create posts table", cwd=directory, env=env)
    assert created.returncode == 0, created.stderr
    path = Path(json.loads(created.stdout)["path"])
    source = path.read_text()
    upgrade = "def upgrade() -> None:\n"
    source = source.replace(upgrade + "    pass", upgrade + POSTS_UPGRADE)
    source = source.replace(
        "def downgrade() -> None:\n    pass", 'def downgrade() -> None:\n    op.drop_table("posts")'
    )
    path.write_text(source)

    up = run("upgrade", "head", cwd=directory, env=env)
    assert up.returncode == 0, up.stderr
    assert "create posts table" in up.stdout and "(head)" in up.stdout
    current = json.loads(run("--json", "current", cwd=directory, env=env).stdout)
    assert current["up_to_date"] is True

    down = run("downgrade", "-1", "--yes", cwd=directory, env=env)
    assert down.returncode == 0, down.stderr
    assert "<base>" in down.stdout
    assert json.loads(run("--json", "current", cwd=directory, env=env).stdout)["current"] == []


def test_learner_journey_on_sqlite(tmp_path: Path) -> None:
    journey(tmp_path / "ws")
    assert (tmp_path / "ws" / "migtutor.db").is_file()


def test_learner_journey_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    journey(tmp_path / "ws", env={"DATABASE_URL": postgres_url})
    assert not (tmp_path / "ws" / "migtutor.db").exists()


def test_errors_exit_non_zero_without_traceback(tmp_path: Path) -> None:
    completed = run("current", cwd=tmp_path)
    assert completed.returncode == 1
    assert "migtutor init" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_closed_pipe_ends_quietly(course_workspace: Path) -> None:
    """`migtutor history | head -1`: the reader leaving early is not an error to report."""
    process = subprocess.Popen(
        [MIGTUTOR, "-w", str(course_workspace), "history"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    process.stdout.close()  # before migtutor writes its first line
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert stderr == ""
