"""The build puts the course's files into the package, so an installed migtutor has its course.

The lessons, the reference revisions and the Alembic set-up that runs them live at the top of the
checkout (the one source); a wheel carries a copy of them as `migtutor/course/`, where
`migtutor.course_files` looks first. An editable install reads them from the checkout instead.
Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# Files of the course, relative to the checkout (and to migtutor/course/ in the package).
COURSE_PATTERNS = (
    "alembic.ini",
    "lessons/*.toml",
    "lessons/models/*.py",
    "migrations/env.py",
    "migrations/script.py.mako",
    "migrations/versions/*.py",
)


def course_files() -> list[Path]:
    return sorted(path for pattern in COURSE_PATTERNS for path in HERE.glob(pattern))


class BuildWithCourse(build_py):
    """build_py, then copy the course into build_lib/migtutor/course/ (replacing an old copy)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the course from the checkout
        target = Path(self.build_lib) / "migtutor" / "course"
        shutil.rmtree(target, ignore_errors=True)  # no file deleted from the course survives
        for source in course_files():
            destination = target / source.relative_to(HERE)
            self.mkpath(str(destination.parent))
            self.copy_file(str(source), str(destination))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        course = Path(self.build_lib) / "migtutor" / "course"
        return [*outputs, *(str(course / path.relative_to(HERE)) for path in course_files())]


setup(cmdclass={"build_py": BuildWithCourse})
