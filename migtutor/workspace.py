"""`migtutor init`: lays out a learner's workspace, pre-wired for the course."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from migtutor.errors import MigtutorError

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


def template_text(name: str) -> str:
    return resources.files("migtutor").joinpath("templates", name).read_text(encoding="utf-8")


def render_env_py(models_import: str = LEARNER_MODELS_IMPORT) -> str:
    """The env.py template; the course's own env.py differs only in where Base comes from."""
    return template_text("env.py").replace(LEARNER_MODELS_IMPORT, models_import)


def init_workspace(directory: Path, force: bool = False) -> InitResult:
    """Write the workspace files; refuse to overwrite any of them unless `force`."""
    directory = directory.resolve()
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
