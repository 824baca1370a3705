"""`migtutor sync`: bring a workspace in step with its database, never touching the database.

After `class reset` (or a `reset` run from another machine) the database is at a reference
revision of the course that the workspace's own files do not define: `upgrade head` then stops
with "Can't locate revision". Sync reads the revision the database is at and, when it is a
reference revision the workspace lacks, does to the files what `reset` does: the learner's own
files move to `.migtutor/backup/versions-N/` (nothing is deleted), the reference revisions the
database has are copied in, the lesson progress points at the lesson that starts there, and
app/models.py follows it (unless the learner changed it: `migtutor.course_models`).

This module prints nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migtutor.alembic_config import versions_location
from migtutor.completion import REVISION_LINE
from migtutor.course import reference_ids
from migtutor.errors import MigtutorError
from migtutor.reset import FilePlan, Target, apply_files, plan_files, set_progress

if TYPE_CHECKING:
    from migtutor.course_models import ModelsOutcome
    from migtutor.settings import DatabaseSettings


@dataclass
class SyncOutcome:
    current: list[str]
    target: Target | None  # None: nothing to do
    files: FilePlan | None = None
    progress_lesson: int | None = None
    models: ModelsOutcome | None = None

    @property
    def in_step(self) -> bool:
        return self.target is None

    def to_json(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "in_step": self.in_step,
            "revision": self.target.revision if self.target else None,
            "files": self.files.to_json() if self.files else None,
            "progress_lesson": self.progress_lesson,
            "models": self.models.to_json() if self.models else None,
        }


def defined_revisions(workspace: Path) -> set[str]:
    """The revision ids the workspace's files define, read without importing them."""
    try:
        versions = versions_location(workspace)
    except MigtutorError:
        return set()
    found: set[str] = set()
    for path in versions.glob("*.py"):
        try:
            match = REVISION_LINE.search(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        if match:
            found.add(match.group(1))
    return found


def lacks_reference(workspace: Path, current: list[str]) -> str | None:
    """The reference revision the database is at and the workspace lacks, if that is the case."""
    if len(current) != 1 or current[0] not in reference_ids():
        return None
    return None if current[0] in defined_revisions(workspace) else current[0]


def plan_sync(workspace: Path, database: DatabaseSettings) -> SyncOutcome:
    """What sync would do, read from the database without changing it."""
    from migtutor.alembic_config import find_ini
    from migtutor.database import connected
    from migtutor.reset import read_current

    find_ini(workspace)
    with connected(database.url) as connection:
        current = read_current(connection)
    missing = lacks_reference(workspace, current)
    if missing is None:
        if current and not set(current) <= defined_revisions(workspace):
            raise MigtutorError(
                f"The database is at {', '.join(current)}, which is not a revision of the "
                "course, and no revision file of the workspace defines it, so sync cannot restore "
                "it. Restore the revision file, or put the database at a lesson's start with "
                "`migtutor reset --to lesson:N`."
            )
        return SyncOutcome(current, None)
    target = Target(missing, missing)
    return SyncOutcome(current, target, plan_files(workspace, target))


def apply_sync(workspace: Path, outcome: SyncOutcome) -> SyncOutcome:
    if outcome.target is None:
        return outcome
    if outcome.files is not None:
        apply_files(outcome.files)
    from migtutor.course_models import follow

    outcome.progress_lesson = set_progress(workspace, outcome.target)
    outcome.models = follow(workspace, outcome.target.lesson)
    return outcome
