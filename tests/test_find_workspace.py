"""Like git, migtutor finds the workspace (the folder with alembic.ini) from anywhere inside it.

Paths the user types (-w, MIGTUTOR_WORKSPACE, init's DIR, a -d SQLite file) still mean what they
mean from the current directory; a relative SQLite file in the workspace's .env is in the
workspace, wherever the command runs.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from revision_files import MIGTUTOR, write_revision

POSTS = 'op.create_table("posts", sa.Column("id", sa.Integer(), primary_key=True))'


@pytest.fixture
def inside(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory is migrations/versions/ of a workspace at revision a1."""
    write_revision(workspace, "a1", None, POSTS, 'op.drop_table("posts")')
    directory = workspace / "migrations" / "versions"
    monkeypatch.chdir(directory)
    return directory


def test_commands_use_the_workspace_around_the_current_directory(cli, workspace, inside):
    config = cli("--json", "config")
    assert config.exit_code == 0, config.output
    assert config.json()["workspace"] == str(workspace)
    assert config.json()["url"] == f"sqlite:///{workspace / 'migtutor.db'}"

    assert cli("upgrade", "head").exit_code == 0
    assert (workspace / "migtutor.db").is_file() and not (inside / "migtutor.db").exists()
    current = cli("--json", "current")
    assert current.exit_code == 0, current.output
    assert current.json()["current"] == ["a1"]

    created = cli("--json", "revision", "-m", "second")
    assert created.exit_code == 0, created.output
    assert Path(created.json()["path"]).parent == workspace / "migrations" / "versions"


def test_the_installed_command_finds_it_from_a_subdirectory(workspace, inside):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MIGT"))}
    result = subprocess.run(
        [MIGTUTOR, "current"], cwd=inside, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "No migtutor workspace" not in result.stderr


def test_outside_any_workspace_the_error_names_the_current_directory(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("current")
    assert result.exit_code == 1
    assert f"No migtutor workspace in {tmp_path}" in result.stderr
    assert "migtutor init" in result.stderr and "Traceback" not in result.output


def test_init_inside_a_workspace_refuses_and_names_it(cli, workspace, monkeypatch):
    monkeypatch.chdir(workspace / "app")
    for args in (("init",), ("init", "sub"), ("-w", "sub", "init")):
        result = cli(*args)
        assert result.exit_code == 1, (args, result.output)
        assert f"inside the migtutor workspace {workspace}" in result.stderr
        assert "Traceback" not in result.output
    assert sorted(p.name for p in (workspace / "app").iterdir()) == ["__init__.py", "models.py"]

    outside = cli("init", "../../elsewhere")  # relative to the current directory
    assert outside.exit_code == 0, outside.output
    assert (workspace.parent / "elsewhere" / "alembic.ini").is_file()

    nested = cli("init", "--force", "nested")
    assert nested.exit_code == 0, nested.output
    monkeypatch.chdir(workspace / "app" / "nested" / "migrations")
    assert cli("--json", "config").json()["workspace"] == str(workspace / "app" / "nested")


def test_paths_typed_on_the_command_line_are_relative_to_the_current_directory(
    cli, workspace, inside, monkeypatch
):
    assert cli("-w", "../..", "--json", "config").json()["workspace"] == str(workspace)
    monkeypatch.setenv("MIGTUTOR_WORKSPACE", "../..")
    assert cli("--json", "config").json()["workspace"] == str(workspace)
    monkeypatch.delenv("MIGTUTOR_WORKSPACE")

    upgraded = cli("-d", "sqlite:///typed.db", "upgrade", "head")
    assert upgraded.exit_code == 0, upgraded.output
    assert (inside / "typed.db").is_file()
    assert not (workspace / "typed.db").exists()


def test_a_relative_sqlite_file_in_dotenv_is_in_the_workspace(cli, workspace, inside):
    (workspace / ".env").write_text("DATABASE_URL=sqlite:///blog.db\n")
    config = cli("--json", "config")
    assert config.json()["url"] == f"sqlite:///{workspace / 'blog.db'}"
    assert cli("upgrade", "head").exit_code == 0
    assert (workspace / "blog.db").is_file() and not (inside / "blog.db").exists()
