"""The lean paths behave like the libraries they stand in for.

`plain_console` prints markup lines as Rich would; `typer_params` converts options as Typer would,
and the app run as a program (building only the command that runs) answers as Typer's whole app.
"""

from __future__ import annotations

import importlib.util
import io
import itertools

import pytest
from rich.console import Console
from rich.markup import escape as rich_escape

from migtutor.plain_console import LeanConsole, escape

PIECES = [
    "[bold]", "[/]", "[/bold]", "[green]", "[bold red]", "[/bold red]", "text", " ", "\\",
    "\\\\", "[", "]", "\\[bold]", "[dim]", "<base>", "->", "a:b", "[link=http://x]", "[posts]",
    "[#ff0000]", "é", "\n", ":smile:", "12:30:45", "\t", "[1]", "(head)",
]  # fmt: skip


def samples() -> list[str]:
    pairs = ["".join(p) for p in itertools.product(PIECES, repeat=2)]
    triples = [
        "".join(p) for p in itertools.islice(itertools.product(PIECES, repeat=3), 0, None, 7)
    ]
    return pairs + triples


def rich_output(text: str, style: str | None = None) -> str:
    buffer = io.StringIO()
    Console(file=buffer, highlight=False, soft_wrap=True, color_system="auto").print(
        text, style=style
    )
    return buffer.getvalue()


def lean_output(text: str, style: str | None = None) -> str:
    buffer = io.StringIO()
    LeanConsole(buffer, no_color=False, make_rich=lambda: Console(
        file=buffer, highlight=False, soft_wrap=True, color_system="auto"
    )).print(text, style=style)  # fmt: skip
    return buffer.getvalue()


def test_lean_console_prints_markup_exactly_as_rich_does() -> None:
    for text in samples():
        for candidate in (text, escape(text)):
            try:
                expected = rich_output(candidate)
            except Exception as exc:  # Rich rejects some markup: so must the lean console
                with pytest.raises(type(exc)):
                    lean_output(candidate)
                continue
            assert lean_output(candidate) == expected, repr(candidate)


def test_escape_is_riches_escape() -> None:
    for text in samples():
        assert escape(text) == rich_escape(text), repr(text)


def test_style_and_renderables() -> None:
    assert lean_output("[bold]x[/] y", style="green") == rich_output("[bold]x[/] y", style="green")
    from rich.table import Table

    table = Table("a")
    table.add_row("1")
    buffer = io.StringIO()
    LeanConsole(buffer, False, lambda: Console(file=buffer, width=20)).print(table)
    assert "│ 1 │" in buffer.getvalue()


@pytest.mark.skipif(
    importlib.util.find_spec("migtutor.cli.lesson") is None, reason="no lesson commands yet"
)
def test_an_integer_argument_is_still_checked(cli) -> None:
    result = cli("lesson", "show", "abc")
    assert result.exit_code == 2
    assert "Invalid value" in result.output


def test_a_bounded_number_option_is_still_checked(cli) -> None:
    for value in ("0.5", "nan", "soon"):
        result = cli("class", "status", "--interval", value)
        assert result.exit_code == 2, (value, result.output)
        assert "Invalid value for '--interval'" in result.output


def test_lean_table_matches_riches_borderless_table() -> None:
    from migtutor.plain_console import print_table

    columns = [("#", "right"), ("Lesson", "left"), ("Status", "left"), ("Steps", "right")]
    rows = [
        ["1", "Your first revision: the posts table", "[green]done[/]", "4/4"],
        ["10", escape("A [bracketed] title"), "[bold cyan]current[/]", "0/12"],
    ]
    rich_buffer, lean_buffer = io.StringIO(), io.StringIO()
    print_table(Console(file=rich_buffer, highlight=False, soft_wrap=True), columns, rows)
    print_table(LeanConsole(lean_buffer, False, lambda: None), columns, rows)
    assert lean_buffer.getvalue() == rich_buffer.getvalue()


lean_typer = pytest.mark.skipif(
    __import__("os").environ.get("MIGTUTOR_PLAIN_TYPER") == "1",
    reason="MIGTUTOR_PLAIN_TYPER=1: the app builds every command, as Typer does",
)


@pytest.mark.parametrize(
    "args",
    [
        ["heads"],
        ["-w", "{ws}", "--json", "history"],
        ["--workspace={ws}", "config"],
        ["config", "--help"],
        ["upgrade", "--help"],
        ["hedas"],
        ["--help"],
        [],
        ["-d"],
        ["--", "heads"],
        ["lesson", "list"],
        ["-w", "{ws}", "lesson", "show", "2"],
        ["class", "--help"],
    ],
    ids=" ".join,
)
def test_building_only_the_invoked_command_changes_nothing(
    args: list[str], workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """`app(...)` prints, and exits with, what Typer's whole app does; the app is unchanged."""
    import typer

    from migtutor.cli import app

    monkeypatch.chdir(workspace)
    args = [a.replace("{ws}", str(workspace)) for a in args]
    before = (list(app.registered_commands), list(app.registered_groups))

    def run(call) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_info:
            call(args=args, prog_name="migtutor")
        out = capsys.readouterr()
        return exit_info.value.code or 0, out.out, out.err

    full = run(lambda **kw: typer.Typer.__call__(app, **kw))
    assert run(app) == full
    assert (app.registered_commands, app.registered_groups) == before


@lean_typer
@pytest.mark.parametrize(
    ("args", "built"),
    [
        (["config"], ["show_config"]),
        (["-w", ".", "--json", "heads"], ["heads"]),
        (["-d", "upgrade", "downgrade", "--help"], ["downgrade"]),  # a value, then the command
        (["hedas"], None),  # no such command: all, so Typer suggests `heads`
        (["--help"], None),
    ],
)
def test_only_the_invoked_command_is_built(
    args: list[str], built: list[str] | None, workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer.main

    from migtutor.cli import app

    names: list[str] = []
    original = typer.main.get_command_from_info

    def counting(command_info, **options):
        names.append(command_info.callback.__name__)
        return original(command_info, **options)

    monkeypatch.setattr(typer.main, "get_command_from_info", counting)
    monkeypatch.chdir(workspace)
    with pytest.raises(SystemExit):
        app(args=args, prog_name="migtutor")
    if built is None:
        assert len(names) > 20
    else:
        assert names == built
