"""migtutor in a shell: completion, `python -m`, `--json` where people type it, usage errors,
Alembic's option names, and a reader that goes away early. The installed command is run."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

MIGTUTOR = str(Path(sys.executable).with_name("migtutor"))
COURSE_IDS = [
    "l1_posts",
    "l2_content",
    "l3_users",
    "l4_owner_fk",
    "l5_published",
    "l6_votes",
    "l7_phone",
]


def run(
    *args: str, env: dict[str, str] | None = None, command: list[str] | None = None
) -> subprocess.CompletedProcess:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MIGT", "_"))
    }
    environment.update(env or {})
    return subprocess.run(
        [*(command or [MIGTUTOR]), *args],
        env=environment,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


# -- completion --------------------------------------------------------------------------------


def complete(shell: str, words: str, cwd: Path, installed: bool = False) -> list[str]:
    """What the shell's completion script gets for `words` (the last one being typed), from the
    installed command or, answering the same from the same code, from migtutor in-process."""
    env = {"_MIGTUTOR_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        split = words.split(" ")
        env.update(COMP_WORDS=words, COMP_CWORD=str(len(split) - 1))
    else:
        env["_TYPER_COMPLETE_ARGS"] = words
        env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    if installed:
        completed = subprocess.run(
            [MIGTUTOR],
            env={**{k: v for k, v in os.environ.items() if not k.startswith("MIGT")}, **env},
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )
        code, stdout, stderr = completed.returncode, completed.stdout, completed.stderr
    else:
        from conftest import invoke

        with contextlib.chdir(cwd):
            result = invoke(env=env, prog_name="migtutor")
        code, stdout, stderr = result.exit_code, result.stdout, result.stderr
    assert code == 0, stderr
    if shell == "zsh":  # _arguments '*: :(("value":"help" ...))'
        return [item.split('"')[1] for item in stdout.split("\n") if '"' in item]
    return [line.split("\t")[0] for line in stdout.splitlines()]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_of_commands_lessons_and_revisions(shell: str, course_workspace: Path) -> None:
    inside = course_workspace / "app"  # the workspace is found upward, as for every command
    assert set(complete(shell, "migtutor up", inside)) == {"upgrade"}
    assert {"list", "show", "check", "goto"} <= set(complete(shell, "migtutor lesson ", inside))
    assert complete(shell, "migtutor lesson goto ", inside) == [str(n) for n in range(1, 9)]
    assert complete(shell, "migtutor lesson show 3", inside) == ["3"]
    assert complete(shell, "migtutor upgrade l", inside) == COURSE_IDS
    assert complete(shell, "migtutor show l3", inside) == ["l3_users"]
    assert complete(shell, "migtutor downgrade ", inside) == ["base", *COURSE_IDS]
    elsewhere = f"migtutor -w {course_workspace} stamp l5"
    assert complete(shell, elsewhere, course_workspace.parent) == ["l5_published"]
    # The installed command answers the shell's script the same way.
    assert complete(shell, "migtutor upgrade l", inside, installed=True) == COURSE_IDS


@pytest.mark.parametrize(
    ("shell", "script"),
    [
        ("bash", ".bash_completions/migtutor.sh"),
        ("zsh", ".zfunc/_migtutor"),
        ("fish", ".config/fish/completions/migtutor.fish"),
    ],
)
def test_install_and_show_completion(shell: str, script: str, tmp_path: Path) -> None:
    # Typer detects the running shell; this variable of Typer's lets the shell be named instead.
    env = {"HOME": str(tmp_path), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    shown = run("--show-completion", shell, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "_MIGTUTOR_COMPLETE" in shown.stdout
    installed = run("--install-completion", shell, env=env)
    assert installed.returncode == 0, installed.stderr
    assert "_MIGTUTOR_COMPLETE" in (tmp_path / script).read_text()


# -- python -m ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [("--help",), ("lesson", "list"), ("upgrade", "--bogus"), ("show", "nope")]
)
def test_python_dash_m_is_the_command(args: tuple[str, ...], course_workspace: Path) -> None:
    ws = ("-w", str(course_workspace))
    command = run(*ws, *args)
    module = run(*ws, *args, command=[sys.executable, "-m", "migtutor"])
    assert (module.returncode, module.stdout, module.stderr) == (
        command.returncode,
        command.stdout,
        command.stderr,
    )


# -- --json after the command, usage errors, Alembic's names -----------------------------------


def test_json_after_the_command_as_before_it(cli, course_workspace: Path) -> None:
    ws = ("-w", str(course_workspace))
    after = cli(*ws, "lesson", "list", "--json")
    assert after.exit_code == 0, after.output
    assert after.json() == cli(*ws, "--json", "lesson", "list").json()
    upgraded = cli(*ws, "upgrade", "head", "--json")
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.json()["current"] == ["l7_phone"]
    assert cli(*ws, "current", "--json").json()["up_to_date"] is True
    down = cli(*ws, "downgrade", "--json", "-1", "--yes")
    assert down.exit_code == 0, down.output
    assert down.json()["current"] == ["l6_votes"]


@pytest.mark.parametrize("command", ["upgrade", "downgrade"])
def test_an_unknown_option_to_a_move_is_a_usage_error(cli, course_workspace: Path, command: str):
    result = cli("-w", str(course_workspace), command, "--bogus")
    assert result.exit_code == 2
    assert "No such option: --bogus" in result.stderr
    assert "Can't locate revision" not in result.output


def test_relative_targets_still_work(cli, course_workspace: Path) -> None:
    ws = ("-w", str(course_workspace))
    assert cli(*ws, "upgrade", "head").exit_code == 0
    result = cli(*ws, "downgrade", "-4", "--yes")
    assert result.exit_code == 0, result.output
    assert cli(*ws, "--json", "current").json()["current"] == ["l3_users"]
    sql = cli(*ws, "-d", "postgresql+psycopg2://u@127.0.0.1/x", "downgrade", "--sql", "l3:-1")
    assert sql.exit_code == 0, sql.output
    assert "DROP TABLE users" in sql.stdout


def test_history_indicate_current_means_what_it_means_in_alembic(
    cli, course_workspace: Path
) -> None:
    ws = ("-w", str(course_workspace), "-d", "postgresql+psycopg2://u@127.0.0.1:1/nowhere")
    listed = cli(*ws, "history", "-i")
    assert listed.exit_code == 0, listed.output
    assert "l7_phone" in listed.stdout
    assert "not reachable" in listed.stderr
    required = cli(*ws, "history", "--require-database")
    assert required.exit_code == 1
    assert "127.0.0.1" in required.stderr


# -- a reader that goes away -------------------------------------------------------------------


@pytest.mark.parametrize("args", [("history", "-v"), ("show", "l1_posts"), ("schema",)])
def test_a_closed_pipe_ends_with_141_quietly(args: tuple[str, ...], course_workspace: Path):
    """`migtutor show l1_posts | head -1`: Rich's output too ends as the rest does."""
    assert run("-w", str(course_workspace), "upgrade", "head").returncode == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before migtutor writes a line
    try:
        process = subprocess.run(
            [MIGTUTOR, "-w", str(course_workspace), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert process.returncode == 141
    assert process.stderr == b""


def test_revision_explain_shows_the_options_given(cli, course_workspace: Path) -> None:
    """The "equivalent" alembic command is equivalent: it carries --rev-id and the rest."""
    result = cli(
        "-w", str(course_workspace), "revision", "-m", "six", "--rev-id", "l6_six", "--explain"
    )
    assert result.exit_code == 0, result.output
    assert "alembic revision -m six --rev-id l6_six" in result.stdout
    assert list((course_workspace / "migrations" / "versions").glob("l6_six_*.py"))
