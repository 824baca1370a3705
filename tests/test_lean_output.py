"""The lean paths of issue 7 behave like the libraries they stand in for.

`plain_console` prints markup lines as Rich would; `typer_params` converts options as Typer would.
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
