"""The README and `--help` agree: every command and every option `--help` shows is documented.

The Click command tree is walked: the app, each command and each subcommand. A command is
documented where README.md writes it in backticks (`` `lesson show` ``, `` `upgrade`/... ``)
or as a `migtutor ...` line; each of its options must appear on one of those lines. The global
options, and `--json` (which every command that prints JSON also takes after its name, as the
README says once), must appear in the README anywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer

from migtutor.cli import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def walk(command, path: tuple[str, ...] = ()):
    """(path, Click command) for the app and every command and subcommand under it."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            yield from walk(sub, (*path, name))


def shown_options(command) -> list[str]:
    """The option names `--help` shows for the command (not --help itself)."""
    names = []
    for param in command.params:
        if param.param_type_name == "option" and not param.hidden:
            names += [n for n in (*param.opts, *param.secondary_opts) if n != "--help"]
    return names


def mentioned(token: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(token)}(?![\w-])", text) is not None


def lines_about(path: tuple[str, ...]) -> str:
    name = " ".join(path)
    pattern = re.compile(rf"(`|/`|migtutor (?:-\S+ \S+ )*){re.escape(name)}(?=[` /\]])")
    return "\n".join(line for line in README.splitlines() if pattern.search(line))


def tree() -> list[tuple[tuple[str, ...], object]]:
    return list(walk(typer.main.get_command(app)))


def test_every_command_is_in_the_readme() -> None:
    missing = [" ".join(path) for path, _ in tree()[1:] if not lines_about(path)]
    assert not missing, f"commands --help shows that README.md does not describe: {missing}"


def test_every_option_is_in_the_readme() -> None:
    root, *commands = tree()
    global_options = shown_options(root[1])
    missing = [name for name in global_options if not mentioned(name, README)]
    for path, command in commands:
        about = lines_about(path)
        missing += [
            f"{' '.join(path)} {name}"
            for name in shown_options(command)
            if name not in global_options and not mentioned(name, about)
        ]
    assert not missing, f"options --help shows that README.md does not describe: {missing}"


def test_the_walk_sees_subcommands_and_their_options() -> None:
    """The check above would pass vacuously if the tree were not walked: it is."""
    found = dict(tree())
    assert ("lesson", "show") in found and ("class", "drop") in found
    assert "--step" in shown_options(found[("lesson", "show")])
    assert "--allow-remote" in shown_options(found[("class", "drop")])
    assert "--install-completion" in shown_options(found[()])
