"""Where the course's files are: the one place that knows.

The course is data kept at the top of the source checkout:

    lessons/NN-name.toml         the lessons
    migrations/versions/*.py     the reference revisions (the course's solution)
    migrations/env.py            the Alembic environment that runs them
    migrations/script.py.mako
    alembic.ini

Those files stay the one source. An installed migtutor (a wheel: `pip install .`, `pipx install`)
carries a copy of them inside the package as `migtutor/course/`, put there by the build
(`setup.py`'s build_py); a source checkout or an editable install reads them from the checkout.
The workspace templates (`migtutor/templates/`) are ordinary package data, read by
`migtutor.workspace`.

Public API (used by lessons, reset and the demo):

- `course_root() -> Path`: the directory holding alembic.ini, migrations/ and lessons/
  (MIGTUTOR_COURSE_DIR overrides it).
- `lessons_dir() -> Path`: the lesson files (MIGTUTOR_LESSONS_DIR overrides it).
- `reference_ini() -> Path`, `reference_versions() -> Path`: the course's Alembic set-up.
- `course_file(relative) -> Path`, `solution_root(relative) -> Path`: a file a lesson names (a
  step's `solution`), written relative to the top of the checkout, and where that path starts:
  `migrations/versions/...` and `lessons/models/...` are the course's, a file outside it is found
  beside the installed package.

Importing this module imports neither SQLAlchemy nor Alembic.
"""

from __future__ import annotations

import os
from pathlib import Path

from migtutor.user_error import MigtutorError

PACKAGE = Path(__file__).resolve().parent
# Where the build puts the course inside the package, and where a checkout keeps it.
PACKAGED = PACKAGE / "course"
CHECKOUT = PACKAGE.parent


def _holds_course(root: Path) -> bool:
    return (root / "alembic.ini").is_file() and (root / "migrations" / "versions").is_dir()


def course_root() -> Path:
    """The directory holding the course's alembic.ini, migrations/ and lessons/
    (MIGTUTOR_COURSE_DIR names another course laid out the same way)."""
    override = os.environ.get("MIGTUTOR_COURSE_DIR")
    if override:
        if not _holds_course(Path(override)):
            raise MigtutorError(
                f"MIGTUTOR_COURSE_DIR names {override}, which holds no course: a course folder "
                "has alembic.ini, migrations/versions/ and lessons/. Point it at one, or unset it "
                "to use migtutor's own course."
            )
        return Path(override)
    for root in (PACKAGED, CHECKOUT):
        if _holds_course(root):
            return root
    raise MigtutorError(
        f"The course's reference revisions are missing: neither {PACKAGED} (an installed "
        f"migtutor) nor {CHECKOUT} (a source checkout) holds alembic.ini and "
        "migrations/versions/. This installation is incomplete: reinstall migtutor from its "
        "source checkout with `pip install .` (or `pipx install .`)."
    )


def lessons_dir() -> Path:
    """The lesson files: MIGTUTOR_LESSONS_DIR if set, else the course's lessons/."""
    override = os.environ.get("MIGTUTOR_LESSONS_DIR")
    directory = Path(override) if override else course_root() / "lessons"
    if not directory.is_dir():
        where = (
            "MIGTUTOR_LESSONS_DIR names it: point it to a folder of lesson files, or unset it to "
            "use the course's own lessons."
            if override
            else "This installation is incomplete: reinstall migtutor from its source checkout "
            "with `pip install .` (or `pipx install .`), or set MIGTUTOR_LESSONS_DIR to a folder "
            "of lesson files."
        )
        raise MigtutorError(f"The lessons directory {directory} is missing. {where}")
    return directory


def reference_ini() -> Path:
    """The course's alembic.ini, which runs the reference revisions."""
    return course_root() / "alembic.ini"


def reference_versions() -> Path:
    """The course's reference revisions: migrations/versions/."""
    return course_root() / "migrations" / "versions"


def solution_root(relative: str) -> Path:
    """Where a path written from the top of the checkout starts, wherever migtutor is installed:
    the course's root if it holds the file, else the directory holding the package."""
    root = course_root()
    return root if (root / relative).exists() else CHECKOUT


def course_file(relative: str) -> Path:
    """A file named relative to the top of the checkout, wherever migtutor is installed."""
    return solution_root(relative) / relative
