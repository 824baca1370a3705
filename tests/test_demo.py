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


def run_demo(*args: str, cwd: Path, columns: int | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MIGT"))}
    if columns is not None:
        environment["COLUMNS"] = str(columns)
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
    for number in range(1, 9):
        assert f"Lesson {number} of 8" in out
    for command in ('$ migtutor revision -m "create posts table"', "$ migtutor upgrade head",
                    "$ migtutor revision --autogenerate", "$ migtutor downgrade base"):  # fmt: skip
        assert command in out
    assert "Database is now at <base>" in out
    assert "Demo finished at l8_s6 (head: the course is finished" in out
    # What the goals promise: relative moves, the guard on rows, what autogenerate misses.
    assert "$ migtutor downgrade -1" in out and "$ migtutor upgrade +1" in out
    guard = out.split("The data-loss guard: this downgrade destroys data:")[1]
    assert "users.phone_number: 2 non-null values will be lost" in guard.splitlines()[1]
    assert "compare_server_default" in out and "CHECK" in out
    # The recovery lesson comes last: nothing moves relatively through its merge point.
    recovery = out.split("Lesson 8 of 8")[1]
    assert "Relative moves" in out.split("Lesson 8 of 8")[0]
    for way_out in ("$ migtutor lesson setup", "$ migtutor redo l8_s1", "$ migtutor stamp head",
                    "mv .migtutor/originals/2/l8_s1_add_summary_to_posts.py"):  # fmt: skip
        assert way_out in recovery
    two_heads = recovery.split("Step 4: two heads")[1].split("Step 5")[0]
    heads = two_heads.split("$ migtutor heads")[1].split("$ migtutor upgrade head")[0]
    assert "l7_phone -> l8_s1 (head)" in heads and "l7_phone -> l8_s4 (head)" in heads
    merge = two_heads.split('$ migtutor merge heads -m "merge heads"')[1]
    assert "It fails: Multiple head revisions" in two_heads.split("$ migtutor merge")[0]
    assert "upgrade l7_phone -> l8_s4, add views to posts" in merge
    assert "upgrade l8_s1, l8_s4 -> l8_s4_merge, merge heads" in merge
    # The practice revisions are undone by a new one: the schema is the course's again.
    final_schema = out.split("$ migtutor schema")[-1]
    assert "phone_number" in final_schema and "published" in final_schema
    assert "teaser" not in final_schema and "views" not in final_schema
    assert "tags" not in final_schema
    assert "Run time:" in out
    assert "tmp" not in without_run_time(out)  # no temporary paths in what it prints
    assert list(tmp_path.iterdir()) == []  # nothing left behind

    second = run_demo("--no-color", "demo", "--no-pause", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert without_run_time(second.stdout) == without_run_time(out)


@pytest.mark.postgres
def test_demo_runs_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    result = run_demo("-d", postgres_url, "demo", cwd=tmp_path, columns=80)
    assert result.returncode == 0, result.stderr
    # Piped at 80 columns nothing is cut: a long default wraps inside its cell.
    assert "\u2026" not in result.stdout and "nextval('posts_id_seq'" in result.stdout
    assert "Lesson 8 of 8" in result.stdout and "Demo finished at l8_s6" in result.stdout
    assert "upgrade l8_s1, l8_s4 -> l8_s4_merge, merge heads" in result.stdout
    assert current_revision(postgres_url) == ["l8_s6"]

    again = run_demo("-d", postgres_url, "demo", cwd=tmp_path)
    assert again.returncode == 1
    assert "reset --to base --yes" in again.stderr and "Traceback" not in again.stderr


def test_demo_to_a_lesson_in_a_given_workspace(cli, tmp_path: Path, monkeypatch) -> None:
    def no_waiting(seconds: float) -> None:
        raise AssertionError("the demo waited without a terminal")

    monkeypatch.setattr(time, "sleep", no_waiting)
    workspace = tmp_path / "show"
    result = cli(
        "-w", str(workspace), "demo", "--to", "lesson:3", "--pause", "step", "--delay", "2"
    )
    assert result.exit_code == 0, result.output
    assert "Lesson 2 of 8" in result.stdout and "Lesson 3 of 8" not in result.stdout
    assert "Demo finished at l2_content (start of lesson 3)" in result.stdout
    versions = sorted(p.name[:10] for p in (workspace / "migrations" / "versions").glob("*.py"))
    assert versions == ["l1_posts_c", "l2_content"]
    assert current_revision(f"sqlite:///{workspace / 'migtutor.db'}") == ["l2_content"]
    assert cli("-w", str(workspace), "--json", "current").json()["up_to_date"] is True

    refused = cli("-w", str(workspace), "demo")
    assert refused.exit_code == 1 and "not empty" in refused.stderr


def test_every_setup_a_lesson_can_declare_has_a_way_out_in_the_demo() -> None:
    from migtutor import demo_recovery
    from migtutor.lessons import SCENARIOS

    assert set(demo_recovery._WAYS_OUT) == set(SCENARIOS) == set(demo_recovery._SITUATIONS)


def test_demo_to_the_start_of_the_recovery_lesson_leaves_it_out(cli, tmp_path: Path) -> None:
    workspace = tmp_path / "show"
    result = cli("-w", str(workspace), "demo", "--to", "lesson:8")
    assert result.exit_code == 0, result.output
    assert "Lesson 7 of 8" in result.stdout and "Lesson 8 of 8" not in result.stdout
    assert "Demo finished at l7_phone (start of lesson 8)." in result.stdout
    versions = sorted(p.name[:3] for p in (workspace / "migrations" / "versions").glob("*.py"))
    assert versions == [f"l{n}_" for n in range(1, 8)]
    assert current_revision(f"sqlite:///{workspace / 'migtutor.db'}") == ["l7_phone"]


def run_on_a_terminal(args: list[str], cwd: Path, keys: list[bytes]) -> tuple[int, str]:
    """Run migtutor on a pseudo-terminal; each key is sent once the output has grown past a
    prompt. Returns the exit code and everything the terminal showed."""
    import pty
    import select

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MIGT"))}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is its stdin, stdout and stderr
        import signal

        # A pytest-xdist worker ignores SIGINT, and an ignored signal stays ignored across
        # exec: give Ctrl-C back its default so Python raises KeyboardInterrupt.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(cwd)
        os.execve(MIGTUTOR, [MIGTUTOR, *args], environment | {"COLUMNS": "80"})
    shown = b""
    pending = list(keys)
    deadline = time.monotonic() + 120
    last_key = 0.0
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
            if pending and shown.count(b"Press Enter") > len(keys) - len(pending):
                os.write(fd, pending.pop(0))
                last_key = time.monotonic()
        elif not pending and keys[-1] == b"\x03" and time.monotonic() - last_key > 3:
            # A Ctrl-C that lands while input() is still printing its prompt sets Python's
            # signal flag before readline starts waiting, so it is seen only at the next key,
            # as a person at a real terminal would find: press it again.
            os.write(fd, b"\x03")
            last_key = time.monotonic()
    else:
        os.kill(pid, 9)  # still waiting for a key after two minutes: the test fails below
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_demo_pauses_after_each_step_and_ctrl_c_exits_130_quietly(tmp_path: Path) -> None:
    code, shown = run_on_a_terminal(["demo", "--to", "lesson:2"], tmp_path, [b"\r", b"\x03"])
    assert code == 130, shown
    assert shown.count("Press Enter for the next step") == 2
    assert "Lesson 1 of" in shown and "Aborted" not in shown and "Traceback" not in shown
    before_first_pause = shown.split("Press Enter")[0]
    assert "$ migtutor upgrade head" not in before_first_pause  # it waited after one step

    code, shown = run_on_a_terminal(
        ["demo", "--to", "lesson:3", "--pause", "lesson"], tmp_path, [b"\r"] * 3
    )
    assert code == 0, shown
    # After lessons 1 and 2 and after down to base and up; none after the last part.
    assert shown.count("Press Enter for the next lesson") == 3
    assert "Press Enter for the next step" not in shown


def test_demo_pause_values(cli, tmp_path: Path) -> None:
    wrong = cli("-w", str(tmp_path / "a"), "demo", "--pause", "sometimes")
    assert wrong.exit_code == 2 and "'sometimes'" in wrong.stderr and "step" in wrong.stderr
    assert not (tmp_path / "a").exists()
    piped = cli("-w", str(tmp_path / "b"), "demo", "--to", "lesson:2", "--pause", "step")
    assert piped.exit_code == 0 and "Press Enter" not in piped.output
