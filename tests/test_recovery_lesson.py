"""Lesson 8's setups: `lesson setup` says what it changes and asks, refuses from a state that is
already broken, keeps what it edits or takes away, and the ways out the lesson teaches pass."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from recovery import fill_in, get_out
from revision_files import snapshot

from migtutor.lessons import load_lessons

RECOVERY = 8


def at_recovery(cli, workspace: Path, url: str, step: int = 1):
    """The workspace at lesson 8, `step`, the steps before it done by following the advice."""
    reset = cli("-w", str(workspace), "-d", url, "reset", "--to", f"lesson:{RECOVERY}",
                "--seed", "--yes")  # fmt: skip
    assert reset.exit_code == 0, reset.output

    def run(*args: str, expect: int | None = 0):
        result = cli("-w", str(workspace), "-d", url, *args)
        if expect is not None:
            assert result.exit_code == expect, f"{args}: {result.output}"
        return result

    steps = load_lessons()[RECOVERY - 1].steps
    for earlier in steps[: step - 1]:
        run("lesson", "setup", "--yes")
        get_out(run, workspace, earlier.setup["scenario"])
        assert run("--json", "lesson", "check").json()["passed"] is True
    return run


def versions(workspace: Path) -> dict[str, str]:
    folder = workspace / "migrations" / "versions"
    return {path.name: path.read_text(encoding="utf-8") for path in folder.glob("*.py")}


def test_setup_says_what_it_will_change_and_changes_nothing_unasked(
    cli, workspace: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'l8.db'}"
    run = at_recovery(cli, workspace, url)
    not_yet = run("--json", "lesson", "check", expect=1).json()["problems"]
    assert "starts from a broken state that `migtutor lesson setup` makes" in not_yet[0]

    files, data = versions(workspace), snapshot(url)
    refused = run("lesson", "setup", expect=1)  # no terminal to ask on, no --yes
    assert 'write a new revision "add summary to posts" after l7_phone' in refused.stdout
    assert "Nothing was changed" in refused.stderr and "--yes" in refused.stderr
    assert "Traceback" not in refused.output
    assert versions(workspace) == files and snapshot(url) == data
    # With --json the plan is shown too, on stderr, and stdout keeps to JSON (here: nothing).
    refused = run("--json", "lesson", "setup", expect=1)
    assert refused.stdout == "" and "Nothing was changed" in refused.stderr
    assert 'write a new revision "add summary to posts" after l7_phone' in refused.stderr

    done = run("--json", "lesson", "setup", "--yes").json()
    assert (done["lesson"], done["step"], done["scenario"]) == (8, 1, "applied_empty")
    assert "applied it while its upgrade() was empty" in done["done"][0]
    problems = " ".join(run("--json", "lesson", "check", expect=1).json()["problems"])
    assert "was applied while its upgrade() was empty" in problems and "migtutor redo" in problems


def test_setup_refuses_to_stack_on_a_broken_state(cli, workspace: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l8.db'}"
    run = at_recovery(cli, workspace, url)
    run("lesson", "setup", "--yes")
    files, data = versions(workspace), snapshot(url)
    again = run("lesson", "setup", "--yes", expect=1)
    assert "starts from a sound workspace" in again.stderr and "nothing was changed" in again.stderr
    assert "was applied while its upgrade() was empty" in again.stderr
    assert "Traceback" not in again.output
    assert versions(workspace) == files and snapshot(url) == data

    run("lesson", "goto", "1")
    plain = run("lesson", "setup", "--yes", expect=1)
    assert "Lesson 1, step 1 has no setup" in plain.stderr


def test_setup_without_a_chain_says_how_to_get_one(cli, workspace: Path, tmp_path: Path) -> None:
    ws = ("-w", str(workspace), "-d", f"sqlite:///{tmp_path / 'empty.db'}")
    assert cli(*ws, "lesson", "goto", str(RECOVERY)).exit_code == 0
    refused = cli(*ws, "lesson", "setup", "--yes")
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "no revision yet to practise on" in refused.stderr
    assert "`migtutor reset --to lesson:N`" in refused.stderr
    assert list((workspace / "migrations" / "versions").glob("*.py")) == []


def test_an_edit_is_kept_and_the_shared_database_way_out_passes_too(
    cli, workspace: Path, database_url: str
) -> None:
    """Instead of `redo`: the file put back as it was, and a new revision for the rename."""
    run = at_recovery(cli, workspace, database_url, step=2)
    before = versions(workspace)
    done = run("--json", "lesson", "setup", "--yes").json()
    assert "'summary' -> 'teaser'" in done["changes"][0]
    edited = [name for name, text in versions(workspace).items() if before[name] != text]
    assert len(edited) == 1
    kept = workspace / ".migtutor" / "originals" / "1" / edited[0]
    assert kept.read_text(encoding="utf-8") == before[edited[0]]  # nothing lost
    assert "teaser" in versions(workspace)[edited[0]]
    problems = " ".join(run("--json", "lesson", "check", expect=1).json()["problems"])
    assert "was edited after it was applied" in problems, problems
    assert ".migtutor/originals/N/" in problems, problems
    assert "put it back and write a new revision for the rename" in problems, problems

    kept.replace(workspace / "migrations" / "versions" / edited[0])
    assert "Warning" not in run("current").stderr
    rename = run("--json", "revision", "-m", "rename summary to teaser").json()
    text = load_lessons()[RECOVERY - 1].steps[1].text  # the rename, as the step shows it
    fill_in(Path(rename["path"]), text.split("```python")[1].split("```")[0])
    run("upgrade", "head")
    assert run("--json", "lesson", "check").json()["passed"] is True
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("posts")}
    finally:
        engine.dispose()
    assert "teaser" in columns and "summary" not in columns


def test_a_file_deleted_and_restored_leaves_nothing_behind(
    cli, workspace: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'l8.db'}"
    run = at_recovery(cli, workspace, url, step=3)
    before = versions(workspace)
    run("lesson", "setup", "--yes")
    gone = set(before) - set(versions(workspace))
    assert len(gone) == 1
    history = run("history", expect=None)
    assert "stamp --purge" in history.output and "Traceback" not in history.output
    get_out(run, workspace, "deleted_file")
    assert versions(workspace) == before
    assert run("--json", "lesson", "check").json()["passed"] is True
    progress = json.loads((workspace / ".migtutor" / "progress.json").read_text())
    assert (progress["lesson"], progress["step"]) == (RECOVERY, 3)
