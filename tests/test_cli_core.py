"""Every core command, on SQLite and PostgreSQL, as a user types it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from migtutor import __version__

CORE_COMMANDS = (
    "init config revision current heads history upgrade downgrade stamp show check merge branches"
)


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        # migtutor's own record of applied revisions is tested in test_applied.py.
        return set(sa.inspect(engine).get_table_names()) - {"migtutor_applied"}
    finally:
        engine.dispose()


def test_help_lists_every_command_with_a_description(cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for name in CORE_COMMANDS.split():
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(name))
        assert len(line.split()) > 1, f"{name} has no description"


def test_version_and_python_dash_m() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "migtutor", "--version"], capture_output=True, text=True
    )
    assert completed.returncode == 0
    assert completed.stdout.strip() == f"migtutor {__version__}"


def test_init_lays_out_a_workspace_and_never_overwrites_the_learners_files(
    cli, tmp_path: Path
) -> None:
    target = tmp_path / "class"
    result = cli("init", str(target))
    assert result.exit_code == 0, result.output
    for name in (
        "alembic.ini",
        "migrations/env.py",
        "migrations/script.py.mako",
        "app/models.py",
        ".env.example",
    ):
        assert (target / name).is_file(), name
    assert (target / "migrations" / "versions").is_dir()
    ini_settings = [
        line for line in (target / "alembic.ini").read_text().splitlines() if "=" in line
    ]
    assert not [line for line in ini_settings if line.startswith("sqlalchemy.url")]
    env_py = (target / "migrations" / "env.py").read_text()
    assert "target_metadata = Base.metadata" in env_py and "compare_type=True" in env_py
    assert "migtutor lesson show" in result.stdout

    (target / "app" / "models.py").write_text("# my work\n")
    (target / "migrations" / "env.py").write_text("# my env\n")
    (target / "alembic.ini").write_text((target / "alembic.ini").read_text() + "# edited\n")
    again = cli("init", str(target))
    assert again.exit_code == 0, again.output
    assert "app/models.py" not in again.stdout  # an adopted project: starter files untouched
    assert "alembic.ini: kept (written by migtutor; --force re-writes it)" in again.stdout
    assert (target / "app" / "models.py").read_text() == "# my work\n"
    assert "# edited" in (target / "alembic.ini").read_text()
    assert cli("init", "--force", str(target)).exit_code == 0
    assert (target / "app" / "models.py").read_text() == "# my work\n"  # the learner's code
    assert (target / "migrations" / "env.py").read_text() == "# my env\n"  # no header: theirs
    assert "# edited" not in (target / "alembic.ini").read_text()


def test_heads_reads_the_revision_files_only(cli, course_workspace: Path) -> None:
    """As `alembic heads`: an unreachable database neither fails nor slows it."""
    unreachable = "postgresql+psycopg2://postgres:pw@127.0.0.1:1/nowhere"
    result = cli("-w", str(course_workspace), "-d", unreachable, "heads")
    assert result.exit_code == 0, result.output
    assert "l7_phone (head)" in result.stdout
    assert result.stderr == ""
    assert cli("-w", str(course_workspace), "-d", unreachable, "current").exit_code == 1


def test_revision_chain_and_reading_commands(cli, workspace: Path, database_url: str) -> None:
    ws = ["-w", str(workspace), "-d", database_url]
    first = cli(*ws, "--json", "revision", "-m", "create posts table", "--rev-id", "aaa111")
    assert first.exit_code == 0, first.output
    assert first.json()["down_revision"] is None
    second = cli(*ws, "--json", "revision", "-m", "add content", "--rev-id", "bbb222")
    assert second.json()["down_revision"] == "aaa111"
    assert Path(second.json()["path"]).is_file()

    heads = cli(*ws, "--json", "heads").json()
    assert heads == [{"revision": "bbb222", "message": "add content", "down_revision": "aaa111"}]
    current = cli(*ws, "--json", "current").json()
    assert current == {"current": [], "heads": ["bbb222"], "up_to_date": False, "warnings": []}

    history = cli(*ws, "--json", "history").json()
    assert [item["revision"] for item in history] == ["bbb222", "aaa111"]
    assert history[0]["is_head"] and not history[1]["is_head"]

    text = cli(*ws, "history", "-v")
    assert text.exit_code == 0
    assert "aaa111 -> bbb222 (head) add content" in text.stdout

    shown = cli(*ws, "show", "bbb")
    assert shown.exit_code == 0
    assert "def upgrade()" in shown.stdout


def test_upgrade_downgrade_relative_and_absolute(
    cli, course_workspace: Path, database_url: str
) -> None:
    ws = ["-w", str(course_workspace), "-d", database_url]
    up = cli(*ws, "--json", "upgrade", "+2")
    assert up.exit_code == 0, up.output
    assert up.json() == {
        "applied": [
            {"from": None, "to": "l1_posts", "message": "create posts table"},
            {
                "from": "l1_posts",
                "to": "l2_content",
                "message": "add content column to posts table",
            },
        ],
        "current": ["l2_content"],
        "warnings": [],
    }
    assert table_names(database_url) == {"alembic_version", "posts"}

    assert cli(*ws, "--json", "upgrade", "l3").json()["current"] == ["l3_users"]
    assert cli(*ws, "--json", "upgrade", "l3_users+1").json()["current"] == ["l4_owner_fk"]
    text = cli(*ws, "upgrade")
    assert "upgrade l6_votes -> l7_phone, add phone number" in text.stdout
    assert "Database is now at l7_phone (head)." in text.stdout
    assert cli(*ws, "--json", "current").json()["up_to_date"] is True

    down = cli(*ws, "--json", "downgrade", "-4")
    assert down.exit_code == 0, down.output
    assert [step["from"] for step in down.json()["applied"]] == [
        "l7_phone",
        "l6_votes",
        "l5_published",
        "l4_owner_fk",
    ]
    assert down.json()["current"] == ["l3_users"]
    assert cli(*ws, "--json", "downgrade", "l1_posts").json()["current"] == ["l1_posts"]
    assert cli(*ws, "--json", "downgrade", "base").json()["current"] == []
    assert table_names(database_url) == {"alembic_version"}

    history = cli(*ws, "--json", "upgrade", "heads")
    assert history.json()["current"] == ["l7_phone"]
    ranged = cli(*ws, "--json", "history", "-r", "-2:current").json()
    assert [item["revision"] for item in ranged] == ["l7_phone", "l6_votes", "l5_published"]
    assert ranged[0]["is_current"] is True


def test_sql_mode_prints_sql_and_changes_nothing(
    cli, course_workspace: Path, database_url: str
) -> None:
    ws = ["-w", str(course_workspace), "-d", database_url]
    up = cli(*ws, "upgrade", "--sql", "l1_posts")
    assert up.exit_code == 0, up.output
    assert "CREATE TABLE posts" in up.stdout
    assert "posts" not in table_names(database_url)
    whole = cli(*ws, "upgrade", "--sql")
    if database_url.startswith("sqlite"):
        # SQLite's batch mode must read the live table, which offline mode cannot do.
        assert whole.exit_code == 1
        assert "batch operation rebuilds the table" in whole.stderr
        assert "PostgreSQL" in whole.stderr and "Traceback" not in whole.stderr
    else:
        assert whole.exit_code == 0, whole.output
        assert "CREATE TABLE votes" in whole.stdout
    down = cli(*ws, "downgrade", "--sql", "l7_phone:l5_published")
    assert down.exit_code == 0, down.output
    assert "DROP TABLE votes" in down.stdout
    assert "DROP COLUMN phone_number" in down.stdout


def test_stamp_and_purge(cli, course_workspace: Path, database_url: str) -> None:
    ws = ["-w", str(course_workspace), "-d", database_url]
    stamped = cli(*ws, "--json", "stamp", "l3_users")
    assert stamped.exit_code == 0, stamped.output
    assert stamped.json()["current"] == ["l3_users"]
    assert table_names(database_url) == {"alembic_version"}  # no migration ran
    assert cli(*ws, "--json", "stamp", "--purge", "l1_posts").json()["current"] == ["l1_posts"]
    assert cli(*ws, "--json", "stamp", "base").json()["current"] == []


def test_check_reports_drift_then_autogenerate_fixes_it(
    cli, workspace: Path, database_url: str
) -> None:
    ws = ["-w", str(workspace), "-d", database_url]
    drift = cli(*ws, "--json", "check")
    assert drift.exit_code == 1
    # A fresh workspace has the models the first lesson starts with: the posts table only.
    assert drift.json()["differences"] == ["add table posts"]

    created = cli(*ws, "--json", "revision", "--autogenerate", "-m", "initial schema")
    assert created.exit_code == 0, created.output
    source = Path(created.json()["path"]).read_text()
    assert "op.create_table('posts'" in source or 'op.create_table("posts"' in source
    assert cli(*ws, "upgrade", "head").exit_code == 0
    clean = cli(*ws, "check")
    assert clean.exit_code == 0, clean.output
    assert "No differences" in clean.stdout


def test_check_refuses_a_database_behind_head_and_models_it_cannot_see(
    cli, workspace: Path
) -> None:
    ws = ["-w", str(workspace)]
    assert cli(*ws, "revision", "-m", "empty", "--rev-id", "e1").exit_code == 0
    behind = cli(*ws, "check")
    assert behind.exit_code == 1
    assert "not at the head revision" in behind.stderr and "migtutor upgrade head" in behind.stderr

    assert cli(*ws, "upgrade", "head").exit_code == 0
    env_py = workspace / "migrations" / "env.py"
    env_py.write_text(env_py.read_text().replace("= Base.metadata", "= None"))
    blind = cli(*ws, "check")
    assert blind.exit_code == 1
    assert "env.py has no target_metadata" in blind.stderr
    assert "Traceback" not in blind.output


def test_branches_heads_and_merge(cli, workspace: Path, database_url: str) -> None:
    ws = ["-w", str(workspace), "-d", database_url]
    cli(*ws, "revision", "-m", "root", "--rev-id", "r0")
    cli(*ws, "revision", "-m", "left", "--rev-id", "left1")
    right = cli(*ws, "revision", "-m", "right", "--rev-id", "right1", "--head", "r0", "--splice")
    assert right.exit_code == 0, right.output
    assert {h["revision"] for h in cli(*ws, "--json", "heads").json()} == {"left1", "right1"}
    assert [b["revision"] for b in cli(*ws, "--json", "branches").json()] == ["r0"]

    refused = cli(*ws, "upgrade", "head")
    assert refused.exit_code != 0
    assert "merge" in refused.stderr and "Traceback" not in refused.output

    merged = cli(*ws, "--json", "merge", "heads", "-m", "join", "--rev-id", "m1")
    assert merged.exit_code == 0, merged.output
    assert set(merged.json()["down_revision"].split(", ")) == {"left1", "right1"}
    assert cli(*ws, "--json", "upgrade", "head").json()["current"] == ["m1"]


def test_branch_label_and_depends_on(cli, workspace: Path) -> None:
    ws = ["-w", str(workspace)]
    cli(*ws, "revision", "-m", "one", "--rev-id", "one")
    labelled = cli(
        *ws,
        "revision",
        "-m",
        "two",
        "--rev-id",
        "two",
        "--branch-label",
        "blog",
        "--depends-on",
        "one",
    )
    assert labelled.exit_code == 0, labelled.output
    verbose = cli(*ws, "history", "-v")
    assert "branch labels: blog" in verbose.stdout
    assert "depends on: one" in verbose.stdout


def test_plain_alembic_cli_sees_what_migtutor_sees(cli, course_workspace: Path) -> None:
    """The workspace's env.py falls back to migtutor's settings when alembic gives no URL."""
    assert cli("-w", str(course_workspace), "upgrade", "l2_content").exit_code == 0
    alembic = Path(sys.executable).with_name("alembic")
    completed = subprocess.run(
        [str(alembic), "current"], cwd=course_workspace, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert "l2_content" in completed.stdout
    subprocess.run(
        [str(alembic), "upgrade", "head"], cwd=course_workspace, check=True, capture_output=True
    )
    assert cli("-w", str(course_workspace), "--json", "current").json()["current"] == ["l7_phone"]


def on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """What the installed command writes to a pseudo-terminal (stdout), as a person sees it."""
    import os
    import pty

    migtutor = str(Path(sys.executable).with_name("migtutor"))
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    leader, follower = pty.openpty()
    try:
        completed = subprocess.run(
            [migtutor, *args],
            stdout=follower,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env={**environment, "TERM": "xterm", **env},
            timeout=120,
        )
    finally:
        os.close(follower)
    assert completed.returncode == 0, completed.stderr
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other end is closed and all was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return b"".join(chunks).decode()


@pytest.mark.parametrize(
    ("env", "option", "colour"),
    [
        ({}, None, True),
        ({"NO_COLOR": "1"}, None, False),
        ({}, "--no-color", False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, None, False),
    ],
)
def test_colour_on_a_terminal_unless_no_color(
    course_workspace: Path, env: dict[str, str], option: str | None, colour: bool
) -> None:
    args = ["-w", str(course_workspace), *([option] if option else []), "history"]
    shown = on_a_terminal(*args, env=env)
    assert "l1_posts" in shown
    assert ("\x1b[" in shown) is colour, shown


@pytest.mark.parametrize(("env", "colour"), [({}, False), ({"FORCE_COLOR": "1"}, True)])
def test_a_pipe_gets_colour_only_with_force_color(
    course_workspace: Path, env: dict[str, str], colour: bool
) -> None:
    import os

    migtutor = str(Path(sys.executable).with_name("migtutor"))
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    completed = subprocess.run(
        [migtutor, "-w", str(course_workspace), "history"],
        capture_output=True,
        text=True,
        env={**environment, **env},
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "l1_posts" in completed.stdout
    assert ("\x1b[" in completed.stdout) is colour


def test_course_environment_is_the_workspace_template() -> None:
    """The repository's migrations/ is a workspace whose models are migtutor.models."""
    from migtutor.workspace import COURSE_MODELS_IMPORT, render_env_py, template_text

    repo = Path(__file__).resolve().parent.parent
    assert (repo / "migrations" / "env.py").read_text() == render_env_py(COURSE_MODELS_IMPORT)
    mako = (repo / "migrations" / "script.py.mako").read_text()
    assert mako == template_text("script.py.mako")
    assert (repo / "alembic.ini").read_text() == template_text("alembic.ini")
