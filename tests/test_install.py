"""An installed migtutor (a wheel, as `pip install .` or `pipx install .` makes) has its course.

The wheel is built from a copy of the checkout and installed into a new virtual environment; the
commands then run from a directory that is neither the checkout nor a workspace. So that nothing
is downloaded but the build backend, the new environment finds migtutor's dependencies in this
one's site-packages (through a .pth file, which does not run this environment's editable
install): the `migtutor` package it imports is the wheel's, which a test checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from migtutor import course_files

REPO = Path(__file__).resolve().parent.parent
# Not part of what a build reads: environments, caches, earlier builds, databases.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.db"
)


def run(command: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """`command` with no database settings, and no PYTHONPATH to import a checkout from."""
    skip = ("DATABASE_", "MIGT", "PYTHONPATH")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    return subprocess.run(
        command,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `migtutor` executable of a fresh environment holding only the built wheel."""
    base = tmp_path_factory.mktemp("install")
    source, wheels, venv = base / "source", base / "wheels", base / "venv"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    built = run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(wheels)],
        cwd=base,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("migtutor-*.whl")

    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base).check_returncode()
    python = venv / "bin" / "python"
    new_site = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=base
    ).stdout.strip()
    ours = dict.fromkeys(sysconfig.get_path(name) for name in ("purelib", "platlib"))
    (Path(new_site) / "_migtutor_deps.pth").write_text("\n".join(ours) + "\n")
    install = run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], cwd=base
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return venv / "bin" / "migtutor"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    return directory


@pytest.mark.slow
def test_the_installed_package_is_the_wheel_not_the_checkout(installed, elsewhere):
    python = str(installed.with_name("python"))
    shown = run([python, "-c", "import migtutor; print(migtutor.__file__)"], cwd=elsewhere)
    assert shown.returncode == 0, shown.stderr
    package = Path(shown.stdout.strip()).parent
    assert package.is_relative_to(installed.parent.parent)
    assert not package.is_relative_to(REPO)
    course = package / "course"
    assert sorted(p.name for p in (course / "lessons").iterdir()) == sorted(
        [*(p.name for p in (REPO / "lessons").glob("*.toml")), "models"]
    )
    for models in (REPO / "lessons" / "models").glob("*.py"):  # each lesson's app/models.py
        assert (course / "lessons" / "models" / models.name).read_text() == models.read_text()
    for name in ("alembic.ini", "migrations/env.py", "migrations/script.py.mako"):
        assert (course / name).read_text() == (REPO / name).read_text()


@pytest.mark.slow
def test_installed_lesson_list_shows_the_course(installed, elsewhere):
    result = run([str(installed), "lesson", "list"], cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    for path in sorted((REPO / "lessons").glob("[0-9][0-9]-*.toml")):
        assert tomllib.loads(path.read_text())["title"] in result.stdout
    assert "Error" not in result.stderr
    lint = run([str(installed), "lesson", "lint"], cwd=elsewhere)  # every solution file is there
    assert lint.returncode == 0, lint.stderr
    assert "lesson files" in lint.stdout and "are valid" in lint.stdout


@pytest.mark.slow
def test_installed_demo_runs_the_whole_course(installed, elsewhere):
    result = run([str(installed), "demo", "--no-pause"], cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert "Lesson 8 of 8" in result.stdout and "$ migtutor merge heads" in result.stdout
    assert "Demo finished at l8_s6" in result.stdout
    assert list(elsewhere.iterdir()) == []


@pytest.mark.slow
def test_installed_reset_to_lesson_3_then_check_says_what_is_next(installed, elsewhere):
    assert run([str(installed), "init"], cwd=elsewhere).returncode == 0
    reset = run([str(installed), "reset", "--to", "lesson:3", "--seed", "--yes"], cwd=elsewhere)
    assert reset.returncode == 0, reset.stderr
    assert "The database is now at l2_content (start of lesson 3)" in reset.stdout
    versions = sorted(p.name for p in (elsewhere / "migrations" / "versions").glob("*.py"))
    assert versions == [
        "l1_posts_create_posts_table.py",
        "l2_content_add_content_column_to_posts_table.py",
    ]

    check = run([str(installed), "lesson", "check"], cwd=elsewhere)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "Not yet: lesson 3, step 1" in check.stdout
    assert 'No revision has the message "add user table"' in check.stdout
    assert "Traceback" not in check.stderr

    assert run([str(installed), "lesson", "goto", "6"], cwd=elsewhere).returncode == 0
    solution = run([str(installed), "lesson", "solution"], cwd=elsewhere)
    assert solution.returncode == 0, solution.stderr
    assert "lessons/models/07.py" in solution.stdout and "class Vote" in solution.stdout
    # The installed course carries its models: lesson 6 starts without the Vote model.
    assert "class Vote" not in (elsewhere / "app" / "models.py").read_text(encoding="utf-8")


def test_a_migtutor_without_its_course_says_how_to_reinstall(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(
        course_files, "PACKAGED", tmp_path / "site-packages" / "migtutor" / "course"
    )
    monkeypatch.setattr(course_files, "CHECKOUT", tmp_path / "site-packages")
    for args in (["lesson", "list"], ["reset", "--to", "lesson:3", "--yes"]):
        result = cli("-w", str(tmp_path), *args)
        assert result.exit_code == 1, result.output
        assert "reinstall migtutor" in result.stderr and "pip install ." in result.stderr
        assert "Traceback" not in result.output
