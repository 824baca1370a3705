"""`migtutor init`: lays out a learner's workspace, pre-wired for the course; and finds one.

A workspace is a directory holding `alembic.ini`. Without -w/MIGTUTOR_WORKSPACE, migtutor uses
the nearest one at or above the current directory, as git finds its repository
(`find_workspace`), so every command works from anywhere inside it; `init` refuses to lay out a
second workspace inside an existing one unless told to (`--force`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from migtutor.errors import MigtutorError

MARKER = "alembic.ini"
LEARNER_MODELS_IMPORT = "from app.models import Base"
COURSE_MODELS_IMPORT = "from migtutor.models import Base"

# destination in the workspace -> template file in migtutor/templates
LAYOUT: dict[str, str] = {
    "alembic.ini": "alembic.ini",
    "migrations/env.py": "env.py",
    "migrations/script.py.mako": "script.py.mako",
    "app/__init__.py": "",
    "app/models.py": "models.py",
    ".env.example": ".env.example",
}


@dataclass
class InitResult:
    workspace: Path
    written: list[str]


def find_workspace(start: Path) -> Path | None:
    """The nearest directory at or above `start` that holds alembic.ini, or None."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / MARKER).is_file():
            return directory
    return None


def default_workspace() -> Path:
    """The workspace around the current directory, or the current directory if there is none."""
    cwd = Path.cwd().resolve()
    return find_workspace(cwd) or cwd


def template_text(name: str) -> str:
    return resources.files("migtutor").joinpath("templates", name).read_text(encoding="utf-8")


def render_env_py(models_import: str = LEARNER_MODELS_IMPORT) -> str:
    """The env.py template; the course's own env.py differs only in where Base comes from."""
    return template_text("env.py").replace(LEARNER_MODELS_IMPORT, models_import)


def init_workspace(directory: Path, force: bool = False) -> InitResult:
    """Write the workspace files; refuse to overwrite any of them, or to nest a workspace
    inside another, unless `force`."""
    directory = directory.resolve()
    enclosing = None if directory.parent == directory else find_workspace(directory.parent)
    if enclosing is not None and not (directory / MARKER).exists() and not force:
        raise MigtutorError(
            f"{directory} is inside the migtutor workspace {enclosing} (it has {MARKER}), and "
            "every migtutor command run anywhere inside that folder already uses it. Nothing was "
            f"written. Work in {enclosing} as it is, or create a new workspace outside it "
            "(`migtutor init DIR` with a DIR elsewhere); add --force to nest one here anyway."
        )
    existing = [name for name in LAYOUT if (directory / name).exists()]
    if existing and not force:
        raise MigtutorError(
            f"{directory} already has {', '.join(existing)}. Nothing was written. Use "
            "`migtutor init --force` to overwrite these files (your revisions in "
            "migrations/versions/ and your .env are never touched)."
        )
    try:
        (directory / "migrations" / "versions").mkdir(parents=True, exist_ok=True)
        (directory / "app").mkdir(exist_ok=True)
        for destination, template in LAYOUT.items():
            text = template_text(template) if template else ""
            (directory / destination).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MigtutorError(
            f"Cannot write the workspace in {directory}: {exc.strerror}. Choose a directory you "
            "can write to."
        ) from exc
    return InitResult(workspace=directory, written=list(LAYOUT))
