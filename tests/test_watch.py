"""`lesson watch` and the layered hints, as a learner uses them.

The watch test is the learner journey in watch mode: a real `migtutor` process watches the
workspace while the learner creates and edits revision files, and each save gets a verdict.
"""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from conftest import finished_models
from revision_files import MIGTUTOR
from test_learner_journey import CREATE_POSTS, write_functions


class Verdicts:
    """The JSON verdict lines a running `lesson watch --json` prints, read as they come."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.put(line)

    def next(self, timeout: float = 60) -> dict:
        return json.loads(self.lines.get(timeout=timeout))

    def until_passed(self, lesson: int, step: int) -> list[dict]:
        """The failed verdicts of the step before the one that passes it."""
        failed = []
        while not (verdict := self.next())["passed"]:
            assert (verdict["lesson"], verdict["step"]) == (lesson, step), verdict
            failed.append(verdict)
        assert (verdict["lesson"], verdict["step"]) == (lesson, step), verdict
        return failed


def test_watch_gives_a_verdict_on_each_save_and_moves_on(workspace: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'learner.db'}"
    base = [MIGTUTOR, "-w", str(workspace), "-d", url]
    watcher = subprocess.Popen(
        [*base, "--json", "lesson", "watch", "--timeout", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        verdicts = Verdicts(watcher)
        first = verdicts.next()
        assert (first["lesson"], first["step"], first["passed"]) == (1, 1, False)
        assert "create posts table" in first["problems"][0]

        # The learner's wording differs from the course's in number only: it passes.
        made = subprocess.run([*base, "--json", "revision", "-m", "Create post table"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        assert verdicts.next() == {**verdicts_of(1, 1, True), "seconds": _any}
        path = Path(json.loads(made.stdout)["path"])

        # A half-done edit: upgrade() written, downgrade() still missing.
        write_functions(path, CREATE_POSTS, None)
        second = verdicts.next()
        assert (second["lesson"], second["step"], second["passed"]) == (1, 2, False)
        assert "no downgrade() function" in " ".join(second["problems"])

        time.sleep(0.01)
        write_functions(path, CREATE_POSTS, 'op.drop_table("posts")')
        assert verdicts.next()["passed"] is True  # step 2 passes on the save
        progress = json.loads((workspace / ".migtutor" / "progress.json").read_text())
        assert (progress["lesson"], progress["step"]) == (1, 2)

        # Commands run in another terminal: the upgrade passes step 3; step 4 asks the learner
        # to run `current` and read it, and passes once they have.
        subprocess.run([*base, "upgrade", "head"], capture_output=True, check=True)
        verdicts.until_passed(1, 3)  # a look in the middle of the upgrade may come first
        subprocess.run([*base, "heads"], capture_output=True, check=True)
        fourth = verdicts.next()
        assert (fourth["lesson"], fourth["step"], fourth["passed"]) == (1, 4, False)
        assert fourth["problems"] == ["Run `migtutor current` and read what it prints."]
        subprocess.run([*base, "current"], capture_output=True, check=True)
        for failed in verdicts.until_passed(1, 4):
            assert failed["problems"] == fourth["problems"]
    finally:
        watcher.send_signal(signal.SIGINT)
        _, stderr = watcher.communicate(timeout=30)
    assert watcher.returncode == 130, stderr
    assert "Traceback" not in stderr


class _Any:
    def __eq__(self, other: object) -> bool:
        return True


_any = _Any()


def verdicts_of(lesson: int, step: int, passed: bool) -> dict:
    return {"lesson": lesson, "step": step, "passed": passed, "problems": []}


def test_a_save_made_while_a_check_runs_is_not_missed(workspace: Path, tmp_path: Path) -> None:
    """watch waits from the stamp taken before the check: its own writes (progress, the SQLite
    verdict) do not wake it, a revision saved while the check ran does."""
    import os

    from migtutor.progress import progress_path
    from migtutor.watch import Watcher

    database = tmp_path / "learner.db"
    database.write_bytes(b"")
    watcher = Watcher(workspace, f"sqlite:///{database}")
    revision = workspace / "migrations" / "versions" / "a1_posts.py"
    revision.write_text("# first\n")
    before = watcher.stamp()

    def touch(path: Path, text: str) -> None:  # a later mtime even on a coarse clock
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        mtime = time.time_ns() + 10**9
        os.utime(path, ns=(mtime, mtime))

    touch(progress_path(workspace), "{}")  # what the check itself writes
    touch(database, "x")
    quiet = watcher.own_writes_seen(before)
    assert watcher.wait(quiet, 0.01, deadline=time.monotonic() + 0.2) is None

    touch(revision, "# saved while the check ran\n")  # the learner's save
    assert watcher.wait(watcher.own_writes_seen(before), 0.01, time.monotonic() + 5) is not None


def test_watch_once_without_a_terminal_prints_the_verdict_line(cli, workspace: Path) -> None:
    result = cli("-w", str(workspace), "lesson", "watch", "--once")
    assert result.exit_code == 1
    assert "lesson 1, step 1: not yet (1 unmet expectation)" in result.stdout
    assert 'No revision has the message "create posts table"' in result.stdout


def test_watch_stops_when_the_lesson_ends(cli, course_workspace: Path, tmp_path: Path) -> None:
    ws = ("-w", str(course_workspace), "-d", f"sqlite:///{tmp_path / 'c.db'}")
    assert cli(*ws, "reset", "--to", "head", "--yes").exit_code == 0
    assert cli(*ws, "lesson", "goto", "7").exit_code == 0
    # goto gave back lesson 7's starting models; the learner has added phone_number since.
    shutil.copy(finished_models(), course_workspace / "app" / "models.py")
    lesson = cli(*ws, "--json", "lesson", "list").json()[6]
    data = json.loads((course_workspace / ".migtutor" / "progress.json").read_text())
    data["step"] = lesson["steps_total"] - 1  # the last step, which the database already meets
    (course_workspace / ".migtutor" / "progress.json").write_text(json.dumps(data))
    result = cli(*ws, "lesson", "watch", "--timeout", "60")
    assert result.exit_code == 0, result.output
    assert "passed" in result.stdout and "Lesson 7" in result.stdout


def test_each_hint_reveals_one_more_layer(cli, workspace: Path) -> None:
    ws = ("-w", str(workspace))
    assert cli(*ws, "lesson", "goto", "1").exit_code == 0
    progress = workspace / ".migtutor" / "progress.json"
    data = json.loads(progress.read_text())
    data["step"] = 1  # step 2: write create_table and drop_table
    progress.write_text(json.dumps(data))

    shown = cli(*ws, "lesson", "show").stdout
    assert "Operations to use: op.create_table, op.drop_table" in shown
    first = cli(*ws, "lesson", "hint").stdout
    assert "level 1 of 3: the idea" in first and "sa.Column('id', ...)" not in first
    second = cli(*ws, "lesson", "hint").stdout
    assert "level 2 of 3" in second
    assert "op.create_table('posts', sa.Column('id', ...), sa.Column('title', ...))" in second
    assert "def upgrade()" not in second
    third = cli(*ws, "lesson", "hint").stdout
    assert "level 3 of 3: the code" in third and "def upgrade()" in third
    assert "level 3 of 3" in cli(*ws, "lesson", "hint").stdout  # the last layer stays
    assert json.loads(progress.read_text())["hint_level"] == 3


def test_solution_after_the_last_lesson_lists_every_step(cli, workspace: Path) -> None:
    ws = ("-w", str(workspace))
    progress = workspace / ".migtutor" / "progress.json"
    progress.parent.mkdir(exist_ok=True)
    lessons = cli(*ws, "--json", "lesson", "list").json()
    last = lessons[-1]
    done = [item["number"] for item in lessons]
    position = {"version": 1, "lesson": last["number"], "step": last["steps_total"]}
    progress.write_text(json.dumps({**position, "completed": done}))
    result = cli(*ws, "lesson", "solution")
    assert result.exit_code == 0, result.output
    assert "migrations/versions/l1_posts_create_posts_table.py" in result.stdout
    assert f"Lesson {last['number']}:" in result.stdout
    one = cli(*ws, "lesson", "solution", "1", "--step", "2")
    assert "op.create_table" in one.stdout
