"""Lesson progress: where the learner is, kept in `.migtutor/progress.json` in the workspace.

- `load_progress(workspace, lessons) -> (Progress, note)`: the saved position, or a fresh start
  with a note saying why (an unreadable file is moved aside; a position past the lessons is reset).
- `save_progress(workspace, progress)`: written atomically.
- `saved_position(workspace) -> (lesson, step) | None`: the saved position as it is, cheaply.
- `advance(progress, lessons)`: the current step done; on to the next step or lesson.
- `Progress.move_to(lesson, step)`: a new position, its hints hidden again.

`hint_level` is how many layers of the current step's hint `lesson hint` has revealed.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migtutor.atomic import write_atomic
from migtutor.errors import MigtutorError

if TYPE_CHECKING:
    from migtutor.lessons import Lesson

PROGRESS_FILE = Path(".migtutor") / "progress.json"


@dataclass
class Progress:
    """Where the learner is: `lesson` (1-based), `step` (0-based index; len(steps) = finished)."""

    lesson: int = 1
    step: int = 0
    completed: list[int] = field(default_factory=list)
    hint_level: int = 0

    def move_to(self, lesson: int, step: int) -> None:
        """Go to a step; its hint starts hidden again."""
        self.lesson, self.step, self.hint_level = lesson, step, 0

    def done(self, lesson: int, step: int) -> bool:
        """Whether step `step` (1-based) of lesson `lesson` has been passed."""
        if lesson in self.completed:
            return True
        return lesson == self.lesson and step <= self.step

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "lesson": self.lesson,
            "step": self.step,
            "completed": sorted(set(self.completed)),
            "hint_level": self.hint_level,
        }

    def status(self, lesson: Lesson) -> str:
        if lesson.number == self.lesson and self.step < len(lesson.steps):
            return "current"
        if lesson.number in self.completed:
            return "done"
        return "current" if lesson.number == self.lesson else "todo"

    def steps_done(self, lesson: Lesson) -> int:
        if lesson.number == self.lesson:
            return min(self.step, len(lesson.steps))
        return len(lesson.steps) if lesson.number in self.completed else 0

    def finished(self, lessons: list[Lesson]) -> bool:
        return all(lesson.number in self.completed for lesson in lessons)


def progress_path(workspace: Path) -> Path:
    """The progress file of a workspace."""
    return workspace / PROGRESS_FILE


def saved_position(workspace: Path) -> tuple[int, int] | None:
    """(lesson, step) of the progress file as saved, unchecked; None without a readable one."""
    try:
        data = json.loads(progress_path(workspace).read_text(encoding="utf-8"))
        return int(data["lesson"]), int(data["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_progress(workspace: Path, lessons: list[Lesson]) -> tuple[Progress, str | None]:
    """The saved progress, or a fresh start with a note saying why (missing / unreadable)."""
    path = progress_path(workspace)
    if not path.exists():
        return Progress(), None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        progress = Progress(
            lesson=int(data["lesson"]),
            step=int(data["step"]),
            completed=[int(n) for n in data.get("completed", [])],
            hint_level=max(0, int(data.get("hint_level", 0))),
        )
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        backup = path.with_name(path.name + ".broken")
        with contextlib.suppress(OSError):
            path.replace(backup)
        return Progress(), (
            f"Your progress file {path} could not be read ({type(exc).__name__}); it was moved to "
            f"{backup.name} and you start again at lesson 1. `migtutor lesson goto N` jumps to "
            "the lesson you were on."
        )
    numbers = {lesson.number: lesson for lesson in lessons}
    note = None
    if progress.lesson not in numbers or not 0 <= progress.step <= len(
        numbers[progress.lesson].steps
    ):
        note = (
            f"Your progress file pointed at lesson {progress.lesson}, step {progress.step + 1}, "
            "which does not exist: starting that lesson over."
        )
        progress.lesson = progress.lesson if progress.lesson in numbers else 1
        progress.step = 0
    progress.completed = [n for n in progress.completed if n in numbers]
    return progress, note


def save_progress(workspace: Path, progress: Progress) -> None:
    """Write the progress file atomically; an unwritable workspace is a MigtutorError."""
    path = progress_path(workspace)
    try:
        write_atomic(path, json.dumps(progress.to_json(), indent=2) + "\n")
    except OSError as exc:
        raise MigtutorError(
            f"Cannot save your progress to {path}: {exc.strerror}. Check that the workspace is "
            "writable."
        ) from exc


def advance(progress: Progress, lessons: list[Lesson]) -> None:
    """Record the current step as done; move to the next step or the next lesson."""
    lesson = lessons[progress.lesson - 1]
    progress.move_to(progress.lesson, progress.step + 1)
    if progress.step >= len(lesson.steps):
        if lesson.number not in progress.completed:
            progress.completed.append(lesson.number)
        if lesson.number < len(lessons):
            progress.move_to(lesson.number + 1, 0)
        else:
            progress.step = len(lesson.steps)
