"""The learner's app/models.py following the course: the models each lesson starts with.

The course says which models every lesson starts with (`course.models_at`). When the learner
moves to a lesson (`init`, `reset`, `lesson goto`, `lesson reset`, the end of a lesson), the
models move with them, but only while app/models.py still holds a file the course wrote: what a
learner typed is never overwritten. A file of their own is kept, and the outcome says how it
differs from the course's (classes and columns, read with `ast`) and that `put_course_models`
(`migtutor lesson models N`) puts the course's in, keeping theirs in `.migtutor/backup/`.

This module prints nothing and imports neither SQLAlchemy nor Alembic.
"""

from __future__ import annotations

import ast
import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migtutor.course import models_at, models_files
from migtutor.course_files import course_root
from migtutor.user_error import MigtutorError

MODELS = Path("app") / "models.py"
# The attribute calls that define something in the database, or a link autogenerate ignores.
_DEFINITIONS = {"Column", "mapped_column", "relationship"}


@dataclass
class ModelsOutcome:
    """What happened to app/models.py: `written` (the course's models for `lesson`), `same`
    (it already holds them), `kept` (the learner's own file; `differences` say how it differs
    from the course's) or `absent` (no app/models.py: not a course workspace)."""

    path: Path
    lesson: int
    action: str
    differences: list[str] = field(default_factory=list)
    backup: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "lesson": self.lesson,
            "action": self.action,
            "differences": self.differences,
            "backup": str(self.backup) if self.backup else None,
        }


def course_text(lesson: int) -> str:
    return models_at(lesson).read_text(encoding="utf-8")


def written_by_the_course(text: str) -> bool:
    """Whether `text` is one of the course's models files, unchanged."""
    return any(path.read_text(encoding="utf-8") == text for path in models_files())


def _shape(text: str) -> dict[str, dict[str, str]]:
    """Each class's attributes that define a column or a link, as comparable source."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    shape: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        attributes: dict[str, str] = {}
        for item in node.body:
            if isinstance(item, ast.Assign):
                target, value = item.targets[0], item.value
            elif isinstance(item, ast.AnnAssign):
                target, value = item.target, item.value
            else:
                continue
            if not isinstance(value, ast.Call) or not isinstance(target, ast.Name):
                continue
            function = value.func
            name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", "")
            if name in _DEFINITIONS:
                attributes[target.id] = ast.dump(value)
        shape[node.name] = attributes
    return shape


def differences(mine: str, course: str) -> list[str]:
    """How the learner's models differ from the course's, in words ("Vote: not in yours")."""
    if mine == course:
        return []
    try:
        ast.parse(mine)
    except SyntaxError as exc:
        return [f"yours does not parse (line {exc.lineno}: {exc.msg})"]
    theirs, ours = _shape(mine), _shape(course)
    found = []
    for name in ours.keys() - theirs.keys():
        found.append(f"class {name}: the course's has it, yours does not")
    for name in theirs.keys() - ours.keys():
        found.append(f"class {name}: yours has it, the course's does not")
    for name in ours.keys() & theirs.keys():
        for column in ours[name].keys() - theirs[name].keys():
            found.append(f"{name}.{column}: the course's has it, yours does not")
        for column in theirs[name].keys() - ours[name].keys():
            found.append(f"{name}.{column}: yours has it, the course's does not")
        for column in ours[name].keys() & theirs[name].keys():
            if ours[name][column] != theirs[name][column]:
                found.append(f"{name}.{column}: defined differently")
    return sorted(found)


def _in_a_course_workspace(workspace: Path) -> Path | None:
    """The workspace's app/models.py, or None where the course's models have no place: not a
    workspace, the course's own checkout, or a project without that file."""
    if not (workspace / "alembic.ini").is_file():
        return None
    with contextlib.suppress(MigtutorError):
        if workspace.resolve() == course_root().resolve():
            return None
    path = workspace / MODELS
    return path if path.is_file() else None


def _read(path: Path) -> str | None:
    """The file's text; None where it cannot be read as text (a learner's file, then)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _learners_own(mine: str | None, wanted: str) -> bool:
    """Whether replacing `mine` by `wanted` would replace something the learner wrote."""
    return mine != wanted and (mine is None or not written_by_the_course(mine))


def _how_it_differs(mine: str | None, wanted: str) -> list[str]:
    return ["yours cannot be read as text"] if mine is None else differences(mine, wanted)


def follow(workspace: Path, lesson: int) -> ModelsOutcome | None:
    """Bring app/models.py to the start of `lesson` if it holds a file the course wrote; else
    keep it and say how it differs. None where the workspace has no course models."""
    path = _in_a_course_workspace(workspace)
    if path is None:
        return None
    wanted = course_text(lesson)
    mine = _read(path)
    if mine == wanted:
        return ModelsOutcome(path, lesson, "same")
    if not _learners_own(mine, wanted):
        _write(path, wanted)
        return ModelsOutcome(path, lesson, "written")
    found = _how_it_differs(mine, wanted)
    return ModelsOutcome(path, lesson, "same" if not found else "kept", found)


def learners_own_changes(workspace: Path, lesson: int) -> list[str] | None:
    """What `put_course_models` would replace of the learner's own: None when app/models.py is
    missing, already the course's, or a file the course wrote; else how it differs."""
    path = workspace / MODELS
    if not path.is_file():
        return None
    wanted = course_text(lesson)
    mine = _read(path)
    if not _learners_own(mine, wanted):
        return None
    return _how_it_differs(mine, wanted) or ["the same models, written otherwise"]


def put_course_models(workspace: Path, lesson: int) -> ModelsOutcome:
    """Write the course's models at the start of `lesson`, moving a file of the learner's own
    into `.migtutor/backup/models-N.py` first (an unchanged course file is simply replaced)."""
    path = workspace / MODELS
    wanted = course_text(lesson)
    backup = None
    if path.is_file():
        mine = _read(path)
        if mine == wanted:
            return ModelsOutcome(path, lesson, "same")
        if _learners_own(mine, wanted):
            backup = _backup(workspace, path)
    _write(path, wanted)
    return ModelsOutcome(path, lesson, "written", backup=backup)


def _backup(workspace: Path, path: Path) -> Path:
    folder = workspace / ".migtutor" / "backup"
    number = 1
    while (folder / f"models-{number}.py").exists():
        number += 1
    target = folder / f"models-{number}.py"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    except OSError as exc:
        raise MigtutorError(
            f"Cannot keep a copy of {path} in {folder} ({exc.strerror}), so it was left as it is. "
            "Make the workspace writable and run the command again."
        ) from exc
    return target


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MigtutorError(
            f"Cannot write {path}: {exc.strerror}. Check that the workspace is writable."
        ) from exc
