"""`migtutor init`: lays out a workspace, or adds Alembic to a project that exists; and finds one.

A workspace is a directory holding `alembic.ini`. Without -w/MIGTUTOR_WORKSPACE, migtutor uses
the nearest one at or above the current directory, as git finds its repository
(`find_workspace`), so every command works from anywhere inside it; `init` refuses to lay out a
second workspace inside an existing one unless told to (`--force`).

In an empty directory `init` writes the course's starter too: .env.example, and app/models.py
as the course's first lesson starts (`lessons/models/01.py`, read through `migtutor.course`). In
a project that already has an `app/` package it adds only what Alembic needs: alembic.ini and
the scripts folder (`migrations/`, or the name given: `migtutor init alembic`), with env.py
importing the project's own Base (found by `migtutor.project_models`). It never overwrites a
file; `--force` re-writes only files that carry migtutor's header line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from migtutor.errors import MigtutorError

if TYPE_CHECKING:
    from migtutor.project_models import FoundMetadata

MARKER = "alembic.ini"
LEARNER_MODELS_IMPORT = "from app.models import Base"
COURSE_MODELS_IMPORT = "from migtutor.models import Base"

SCRIPTS = "migrations"
# Recognises a file migtutor wrote, so `--force` re-writes it and nothing else.
HEADER = "Written by migtutor init. Delete this line to keep `migtutor init --force` off it."
# destination (with {scripts} for the scripts folder) -> template file in migtutor/templates
ALEMBIC_FILES: dict[str, str] = {
    "alembic.ini": "alembic.ini",
    "{scripts}/env.py": "env.py",
    "{scripts}/script.py.mako": "script.py.mako",
}
# Written from the course's data rather than a template: the models its first lesson starts with.
COURSE_MODELS = "course models"
# The course's starter project, written only where there is no project yet.
STARTER_FILES: dict[str, str] = {
    "app/__init__.py": "",
    "app/models.py": COURSE_MODELS,
    ".env.example": ".env.example",
}
MARKED = {"alembic.ini", "env.py", "script.py.mako", ".env.example"}


@dataclass
class InitResult:
    workspace: Path
    written: list[str]
    kept: dict[str, str] = field(default_factory=dict)  # file -> why it was left alone
    scripts: str = SCRIPTS
    metadata: FoundMetadata | None = None
    adopted: bool = False  # an existing project: only Alembic's files were added

    def to_json(self) -> dict[str, object]:
        found = self.metadata
        return {
            "workspace": str(self.workspace),
            "written": self.written,
            "kept": self.kept,
            "scripts": self.scripts,
            "adopted": self.adopted,
            "metadata": None
            if found is None
            else {"spec": found.spec, "defined_in": found.defined_in, "models": found.models},
        }


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


def render_env_py(models_import: str = LEARNER_MODELS_IMPORT, base_name: str = "Base") -> str:
    """The env.py template with the project's models import; the course's differs only there."""
    text = template_text("env.py").replace(LEARNER_MODELS_IMPORT, models_import)
    return text.replace(
        "target_metadata = Base.metadata", f"target_metadata = {base_name}.metadata"
    )


def header(template: str) -> str:
    """The first line of a file migtutor writes (Mako drops `##` lines from revisions)."""
    return f"## {HEADER}\n" if template.endswith(".mako") else f"# {HEADER}\n"


def written_by_migtutor(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            return HEADER in handle.readline()
    except (OSError, UnicodeDecodeError):
        return False


def _render(template: str, scripts: str, found: FoundMetadata | None) -> str:
    if not template:
        return ""
    if template == COURSE_MODELS:
        from migtutor.course_models import course_text

        return course_text(1)
    if template == "env.py":
        text = render_env_py(found.import_lines(), found.name) if found else render_env_py()
    elif template == "alembic.ini":
        text = template_text(template).replace("%(here)s/migrations", f"%(here)s/{scripts}")
    else:
        text = template_text(template)
    return header(template) + text if template in MARKED else text


def _scripts_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise MigtutorError(
            f"{name!r} cannot name the migrations folder: give a plain folder name inside the "
            "project, for example `migtutor init alembic` or `migtutor init migrations`."
        )
    return name


def is_project(directory: Path) -> bool:
    """A project migtutor adopts rather than lays out: it has an app/ package already."""
    return (directory / "app").is_dir()


def init_workspace(
    directory: Path,
    force: bool = False,
    scripts: str | None = None,
    metadata: str | None = None,
) -> InitResult:
    """Write what is missing; keep every file that exists (`force`: re-write migtutor's own).

    `scripts` names the migrations folder; `metadata` ("app.models:Base") names the base
    instead of looking for it. Refuses to nest a workspace inside another unless `force`.
    """
    from migtutor.alembic_config import script_location
    from migtutor.project_models import find_metadata, named_metadata

    directory = directory.resolve()
    enclosing = None if directory.parent == directory else find_workspace(directory.parent)
    if enclosing is not None and not (directory / MARKER).exists() and not force:
        raise MigtutorError(
            f"{directory} is inside the migtutor workspace {enclosing} (it has {MARKER}), and "
            "every migtutor command run anywhere inside that folder already uses it. Nothing was "
            f"written. Work in {enclosing} as it is, or create a new workspace outside it "
            "(`migtutor init DIR` with a DIR elsewhere); add --force to nest one here anyway."
        )
    name = _scripts_name(scripts or SCRIPTS)
    ini = directory / MARKER
    if ini.is_file() and not (force and written_by_migtutor(ini)):
        try:
            location = script_location(directory)
        except Exception as exc:  # an ini Alembic cannot read: say so, write nothing
            raise MigtutorError(
                f"{ini} exists but cannot be read ({exc}). Nothing was written. Fix it, or move "
                "it away and run `migtutor init` again."
            ) from exc
        if location.parent != directory or (scripts and location.name != name):
            raise MigtutorError(
                f"{ini} already puts the migrations in {location}. Nothing was written: every "
                "migtutor command uses that folder as it is (`migtutor doctor` checks it)."
            )
        name = location.name
    adopted = is_project(directory) or metadata is not None
    found = named_metadata(directory, metadata) if metadata else find_metadata(directory)
    env_py = directory / name / "env.py"
    writes_env_py = not env_py.exists() or (force and written_by_migtutor(env_py))
    if adopted and found is None and writes_env_py:
        raise MigtutorError(
            f"{directory} has an app/ package, but no Base (declarative_base() or a "
            "DeclarativeBase subclass) was found in app/*.py, so env.py would not know your "
            "models. Nothing was written. Name it: `migtutor init --metadata app.models:Base` "
            "(the module that defines your models, and the base they inherit from)."
        )
    files = dict(ALEMBIC_FILES) if adopted else {**ALEMBIC_FILES, **STARTER_FILES}
    written: list[str] = []
    kept: dict[str, str] = {}
    try:
        (directory / name / "versions").mkdir(parents=True, exist_ok=True)
        for pattern, template in files.items():
            destination = pattern.format(scripts=name)
            path = directory / destination
            if path.exists():
                if not (force and written_by_migtutor(path)):
                    kept[destination] = (
                        "written by migtutor; --force re-writes it"
                        if written_by_migtutor(path)
                        else "exists, not written by migtutor"
                    )
                    continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_render(template, name, found if adopted else None), encoding="utf-8")
            written.append(destination)
    except OSError as exc:
        raise MigtutorError(
            f"Cannot write the workspace in {directory}: {exc.strerror}. Choose a directory you "
            "can write to."
        ) from exc
    return InitResult(directory, written, kept, name, found if adopted else None, adopted)
