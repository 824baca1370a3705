"""Which libraries a command imports: commands that need no database stay lean (issue 7).

Each case runs the CLI in a fresh interpreter (a real subprocess: imports are per process) and
reads `sys.modules` afterwards. These tests assert behaviour, never timing; the timings are in
bench/run.py.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import finished_models

REPO = Path(__file__).resolve().parent.parent
DATABASE_LIBRARIES = {"sqlalchemy", "alembic", "psycopg2", "psycopg"}

# Runs the CLI with argv[1:], then prints the top-level names of every imported module.
RUN_CLI = """
import json, sys
from migtutor.cli import app
try:
    app(args=sys.argv[1:], prog_name="migtutor")
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
names = sorted({name.split(".")[0] for name in sys.modules}
               | {name for name in sys.modules if name.startswith("migtutor.")})
print("\\n@@modules " + json.dumps({"exit": code, "modules": names}))
"""

# With MIGTUTOR_PLAIN_TYPER=1 (a CI run of the fallback) Typer converts options through Pydantic.
lean_typer = pytest.mark.skipif(
    __import__("os").environ.get("MIGTUTOR_PLAIN_TYPER") == "1",
    reason="MIGTUTOR_PLAIN_TYPER=1: Typer's own option conversion imports Pydantic",
)

NO_DATABASE_COMMANDS = [["--help"], ["--version"], ["config"], ["--json", "config"]]
if importlib.util.find_spec("migtutor.cli.lesson") is not None:  # the lesson engine (issue 3)
    NO_DATABASE_COMMANDS += [["lesson", "list"], ["lesson", "show"], ["lesson", "hint"]]


def imported(workspace: Path, *args: str) -> set[str]:
    """Top-level modules imported by `migtutor ARGS` run in `workspace`, and migtutor's own
    modules by their full names; fails on an error."""
    result = subprocess.run(
        [sys.executable, "-c", RUN_CLI, *args],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=120,
    )
    marker = [line for line in result.stdout.splitlines() if line.startswith("@@modules ")]
    assert marker, f"migtutor {' '.join(args)} crashed:\n{result.stdout}\n{result.stderr}"
    data = json.loads(marker[-1].removeprefix("@@modules "))
    assert data["exit"] == 0, f"migtutor {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    return set(data["modules"])


@pytest.mark.parametrize("args", NO_DATABASE_COMMANDS, ids=" ".join)
def test_commands_without_a_database_import_no_database_library(
    workspace: Path, args: list[str]
) -> None:
    loaded = imported(workspace, *args) & DATABASE_LIBRARIES
    assert not loaded, f"migtutor {' '.join(args)} imported {sorted(loaded)}"


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["config"]], ids=" ".join)
@lean_typer
def test_help_version_and_config_import_neither_pydantic_nor_rich(
    workspace: Path, args: list[str]
) -> None:
    """Typer options are parsed without Pydantic; plain lines are printed without Rich."""
    loaded = imported(workspace, *args) & {"pydantic", "pydantic_core", "rich"}
    assert not loaded, f"migtutor {' '.join(args)} imported {sorted(loaded)}"


@pytest.mark.skipif(
    importlib.util.find_spec("migtutor.cli.lesson") is None, reason="no lesson commands yet"
)
def test_lesson_list_prints_its_table_without_rich(workspace: Path) -> None:
    assert "rich" not in imported(workspace, "lesson", "list")


@pytest.fixture
def course_workspace_subprocess(workspace: Path) -> Path:
    for script in (REPO / "migrations" / "versions").glob("*.py"):
        shutil.copy(script, workspace / "migrations" / "versions" / script.name)
    shutil.copy(finished_models(), workspace / "app" / "models.py")
    return workspace


@pytest.mark.parametrize("args", [["heads"], ["history"], ["current"]], ids=" ".join)
@lean_typer
def test_database_commands_add_nothing_but_the_database_libraries(
    course_workspace_subprocess: Path, args: list[str]
) -> None:
    """Commands that use Alembic pay for Alembic, not for Pydantic or Rich on top of it."""
    loaded = imported(course_workspace_subprocess, *args)
    assert "alembic" in loaded
    assert not loaded & {"pydantic", "pydantic_core", "rich"}, sorted(loaded)


@lean_typer
def test_a_path_option_converts_without_pydantic(workspace: Path) -> None:
    """The Pydantic-free coercion keeps Typer's behaviour: a Path option becomes a Path."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from typer.testing import CliRunner\n"
        "from migtutor.cli import app\n"
        "r = CliRunner().invoke(app, ['-w', sys.argv[1], '--json', 'config'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert sys.argv[1] in r.output, r.output\n"
        "print('pydantic' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(workspace)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_heads_reads_the_scripts_without_connecting(course_workspace_subprocess: Path) -> None:
    """As `alembic heads`: the revision files only, so no database driver is even imported
    (no connection, no read of the applied revisions' checksums)."""
    loaded = imported(course_workspace_subprocess, "heads")
    assert "alembic" in loaded
    assert not loaded & {"sqlite3", "_sqlite3", "psycopg2"}, sorted(loaded)
    assert not loaded & {"migtutor.database", "migtutor.applied", "migtutor.locks"}


@lean_typer
def test_a_move_with_no_row_at_stake_loads_no_rehearsal(course_workspace_subprocess: Path) -> None:
    """`upgrade head` on an empty database shows the schema changes (it reads the schema) but
    loads neither the data-loss rehearsal (no table holds a row) nor Rich nor Pydantic."""
    loaded = imported(course_workspace_subprocess, "upgrade", "head")
    assert {"migtutor.schema", "migtutor.applied"} <= loaded
    assert not loaded & {"migtutor.safety", "rich", "pydantic"}, sorted(loaded)
