"""Getting out of the broken states `migtutor lesson setup` makes, as a learner would: read the
advice migtutor prints, assert it names the way out, and follow it.

`run(*args, expect=0)` is the test's way of running migtutor in the learner's workspace against
the learner's database (the helpers of test_learner_journey, test_stuck_states, test_lessons).
"""

from __future__ import annotations

import re
import shlex
import textwrap
from pathlib import Path


def get_out(run, workspace: Path, scenario: str) -> None:
    """Follow migtutor's own advice out of `scenario`'s state; fail if the advice is missing."""
    if scenario in ("applied_empty", "edited_after_applied"):
        warning = run("current").stderr
        phrase = {
            "applied_empty": "was applied while its upgrade() was empty",
            "edited_after_applied": "was edited after it was applied",
        }[scenario]
        assert phrase in warning and "never edit an applied revision" in warning, warning
        redo = re.search(r"`migtutor (redo \w+)`", warning)
        assert redo, warning
        run(*redo.group(1).split())
    elif scenario == "deleted_file":
        text = run("current").stderr
        assert "which no file in migrations/versions/ defines" in text, text
        assert "Restore the file" in text and "`migtutor stamp --purge REV`" in text, text
        originals = workspace / ".migtutor" / "originals"
        newest = max(originals.iterdir(), key=lambda folder: int(folder.name))
        for path in newest.glob("*.py"):  # restored, as from version control
            path.replace(workspace / "migrations" / "versions" / path.name)
    elif scenario == "two_heads":
        problems = run("--json", "lesson", "check", expect=1).json()["problems"]
        text = " ".join(problems)
        assert "forked" in text and "upgrade head" in text, text
        merge = re.search(r"`migtutor (merge [^`]+)`", text)
        assert merge, text
        run(*shlex.split(merge.group(1)))
        run("upgrade", "head")
    elif scenario == "untracked_tables":
        failed = run("upgrade", "head", expect=1)
        assert "already exists" in failed.stderr, failed.stderr
        assert "`migtutor stamp <revision>`" in failed.stderr, failed.stderr
        assert "Traceback" not in failed.output
        run("stamp", "head")
    else:
        raise AssertionError(f"no way out written for {scenario}")


def fill_in(path: Path, code: str) -> None:
    """Replace a new revision file's functions with a step's `code`, as a learner would."""
    source = path.read_text(encoding="utf-8")
    head = source[: source.index("def upgrade()")]
    path.write_text(head + textwrap.dedent(code).strip() + "\n", encoding="utf-8")
