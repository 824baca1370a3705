"""Reading steps ask the learner to run a command (`ran = [...]` in a step's check): the check
fails until they have run it on that step, and passes after, in another process too."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from migtutor.lessons import load_lessons

REPO = Path(__file__).resolve().parent.parent
MIGTUTOR = str(Path(sys.executable).with_name("migtutor"))
LOG = Path(".migtutor") / "commands.json"


def at_lesson_1_step_4(cli, workspace: Path, url: str) -> tuple[str, ...]:
    """The learner has applied the posts revision and is on "Run `migtutor current`"."""
    ws = ("-w", str(workspace), "-d", url)
    reference = next((REPO / "migrations" / "versions").glob("l1_posts_*.py"))
    shutil.copy(reference, workspace / "migrations" / "versions" / reference.name)
    assert cli(*ws, "lesson", "check").exit_code == 0  # step 1: the revision exists
    assert cli(*ws, "lesson", "check").exit_code == 0  # step 2: its up/down/up trial
    assert cli(*ws, "upgrade", "head").exit_code == 0
    assert cli(*ws, "lesson", "check").exit_code == 0  # step 3: applied
    return ws


def check(cli, ws: tuple[str, ...]) -> dict:
    result = cli(*ws, "--json", "lesson", "check")
    data = result.json()
    assert result.exit_code == (0 if data["passed"] else 1), result.output
    return data


def test_a_reading_step_passes_once_its_command_ran(cli, workspace, database_url):
    ws = at_lesson_1_step_4(cli, workspace, database_url)
    assert check(cli, ws) == {
        "lesson": 1,
        "step": 4,
        "passed": False,
        "problems": ["Run `migtutor current` and read what it prints."],
    }
    human = cli(*ws, "lesson", "check")
    assert human.exit_code == 1
    assert "Run `migtutor current` and read what it prints." in " ".join(human.stdout.split())
    assert cli(*ws, "heads").exit_code == 0  # another command does not count
    assert check(cli, ws)["problems"] == ["Run `migtutor current` and read what it prints."]

    assert cli(*ws, "current").exit_code == 0
    assert check(cli, ws) == {"lesson": 1, "step": 4, "passed": True, "problems": []}
    # The next step began after `current` ran: it asks for its own command.
    assert check(cli, ws)["problems"] == ["Run `migtutor config` and read what it prints."]
    assert cli(*ws, "config").exit_code == 0
    assert check(cli, ws)["passed"] is True


def test_a_command_run_before_the_step_began_does_not_count(cli, workspace, tmp_path):
    ws = ("-w", str(workspace), "-d", f"sqlite:///{tmp_path / 'db.sqlite'}")
    reference = next((REPO / "migrations" / "versions").glob("l1_posts_*.py"))
    shutil.copy(reference, workspace / "migrations" / "versions" / reference.name)
    assert cli(*ws, "lesson", "check").exit_code == 0
    assert cli(*ws, "lesson", "check").exit_code == 0
    assert cli(*ws, "upgrade", "head").exit_code == 0
    assert cli(*ws, "current").exit_code == 0  # on step 3, before step 4 began
    assert cli(*ws, "lesson", "check").exit_code == 0
    assert check(cli, ws)["problems"] == ["Run `migtutor current` and read what it prints."]
    assert cli(*ws, "current").exit_code == 0
    # Going back to the lesson starts its steps over: what ran before counts for none of them.
    assert cli(*ws, "lesson", "goto", "1").exit_code == 0
    assert not (workspace / LOG).exists()


def test_the_record_survives_between_processes_and_holds_no_url(cli, workspace, postgres_url):
    # A password the trust-authenticated server ignores: it must appear nowhere in the record.
    url = postgres_url.replace("postgres@", "postgres:s3cret-pw@")
    ws = at_lesson_1_step_4(cli, workspace, url)
    ran = subprocess.run(
        [MIGTUTOR, *ws, "current"], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    assert ran.returncode == 0, ran.stderr
    checked = subprocess.run(
        [MIGTUTOR, *ws, "--json", "lesson", "check"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert json.loads(checked.stdout)["passed"] is True, checked.stdout + checked.stderr
    assert checked.returncode == 0
    record = (workspace / LOG).read_text(encoding="utf-8")
    assert json.loads(record)["commands"] == ["current"]
    for secret in ("s3cret-pw", "postgresql", "127.0.0.1", url.rsplit("/", 1)[1]):
        assert secret not in record


def test_only_the_command_and_its_target_are_recorded(cli, workspace, tmp_path):
    ws = at_lesson_1_step_4(cli, workspace, f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert cli(*ws, "downgrade", "-1", "--yes").exit_code == 0
    assert cli(*ws, "upgrade", "+1", "--sql").exit_code == 0
    assert cli(*ws, "revision", "-m", "a private note").exit_code == 0
    assert cli(*ws, "history", "--verbose", "-r", "base:head").exit_code == 0
    assert cli(*ws, "current", "--json").exit_code == 0
    assert cli(*ws, "show", "no-such-revision").exit_code == 1  # an error: not a run
    commands = json.loads((workspace / LOG).read_text(encoding="utf-8"))["commands"]
    assert commands == ["downgrade -1", "upgrade +1 --sql", "revision", "history --verbose",
                        "current"]  # fmt: skip


def test_nothing_is_recorded_outside_a_lesson_workspace(cli, workspace, tmp_path):
    ws = ("-w", str(workspace), "-d", f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert cli(*ws, "current").exit_code == 0  # no lesson started: no progress file
    assert cli(*ws, "heads").exit_code == 0
    assert not (workspace / LOG).exists()
    elsewhere = tmp_path / "not-a-workspace"
    elsewhere.mkdir()
    assert cli("-w", str(elsewhere), "current").exit_code == 1
    assert list(elsewhere.iterdir()) == []


def test_json_output_is_the_same_in_a_lesson_workspace(cli, workspace, tmp_path):
    ws = ("-w", str(workspace), "-d", f"sqlite:///{tmp_path / 'db.sqlite'}")
    reference = next((REPO / "migrations" / "versions").glob("l1_posts_*.py"))
    shutil.copy(reference, workspace / "migrations" / "versions" / reference.name)
    before = cli(*ws, "--json", "current")
    assert cli(*ws, "lesson", "check").exit_code == 0  # now a lesson workspace
    during = cli(*ws, "--json", "current")
    assert (during.exit_code, during.stdout, during.stderr) == (
        before.exit_code,
        before.stdout,
        before.stderr,
    )
    assert json.loads(during.stdout)["heads"] == ["l1_posts"]
    assert (workspace / LOG).exists()


@pytest.mark.parametrize("entry", ["current; rm", "Run current", "", "upgrade a/b"])
def test_a_malformed_ran_entry_names_the_file_and_key(cli, tmp_path, monkeypatch, entry):
    content = (
        "title='t'\nrevision='r'\ngoal='g'\n[[steps]]\ntext='t'\nhint='h'\n"
        f"check={{ ran = ['{entry}'] }}\n"
    )
    (tmp_path / "01-bad.toml").write_text(content, encoding="utf-8")
    monkeypatch.setenv("MIGTUTOR_LESSONS_DIR", str(tmp_path))
    result = cli("lesson", "lint")
    assert result.exit_code == 1
    assert "01-bad.toml: steps[0].check.ran:" in result.stderr


def test_every_command_a_step_asks_for_exists(cli):
    asked = {
        entry.split()[0]
        for lesson in load_lessons()
        for step in lesson.steps
        for entry in step.check.get("ran", [])
    }
    assert asked  # the reading steps use it
    for command in asked:
        assert cli(command, "--help").exit_code == 0, command
