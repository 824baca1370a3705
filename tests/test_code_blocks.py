"""The code a lesson shows stays copyable on an 80-column terminal: `lesson show`, `hint` and
`solution` print every line of every code block whole (Rich neither wraps nor crops it), and
the course keeps those lines within 79 columns, so the terminal does not wrap them either."""

from __future__ import annotations

import ast
import io
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from migtutor import render, render_lessons
from migtutor.course_files import solution_root
from migtutor.hints import MAX_LEVEL, operation_outlines, shown_part, step_code
from migtutor.lesson_markdown import blocks
from migtutor.lessons import Lesson, Step, load_lessons
from migtutor.plain_console import LeanConsole

STEPS = [(lesson, step) for lesson in load_lessons() for step in lesson.steps]
IDS = [f"{lesson.number}.{step.number}" for lesson, step in STEPS]
WIDTH = 80
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(params=["colour", "no colour"])
def screen(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable]:
    """migtutor's console on an 80-column terminal; yields what it shows, as lines of text."""
    from rich.console import Console

    colour = request.param == "colour"
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    monkeypatch.setenv("TERM", "xterm")
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    terminal = _Terminal()

    def rich() -> Console:  # as render.console() makes it for a terminal
        return Console(file=terminal, width=WIDTH, force_terminal=True, soft_wrap=False,
                       highlight=False, no_color=not colour,
                       color_system="standard" if colour else None)  # fmt: skip

    monkeypatch.setitem(render._consoles, "out", LeanConsole(terminal, not colour, rich))
    yield lambda: [_ANSI.sub("", line).rstrip() for line in terminal.getvalue().splitlines()]


def shown_code(step: Step) -> list[tuple[str, str, bool]]:
    """(where, source, is Python) of each block of code the step's pages show, as printed:
    an indented block of the text keeps its four-space indent."""
    root = solution_root(step.solution) if step.solution else None
    found = []
    for block in blocks(step.text, WIDTH - 1):
        if block.kind == "code" and block.language == "python":
            found.append(("text", block.text, True))
        elif block.kind == "code":
            found.append(("text", textwrap.indent(block.text, "    "), False))
    if step.command:
        found.append(("command", "  " + step.command.strip(), False))
    if step.code:
        found.append(("code", step.code.strip("\n"), True))
    if root is not None:
        source = (root / step.solution).read_text(encoding="utf-8")
        found.append((step.solution, shown_part(source), True))
    hinted = step_code(step, root)
    if hinted:
        found.append(("hint", hinted, True))
    return found


def show_all_pages(lesson: Lesson, step: Step) -> None:
    root = solution_root(step.solution) if step.solution else Path(".")
    render_lessons.step_page(lesson, step, len(load_lessons()))
    source = step_code(step, root if step.solution else None)
    render_lessons.hint(lesson, step, MAX_LEVEL, operation_outlines(source), source)
    render_lessons.solution(lesson, step, root)


def runs_of(lines: list[str], printed: list[str]) -> bool:
    """Whether `lines` appear one after the other, each whole, among the printed lines."""
    first = [i for i, line in enumerate(printed) if line == lines[0]]
    return any(printed[i : i + len(lines)] == lines for i in first)


@pytest.mark.parametrize(("lesson", "step"), STEPS, ids=IDS)
def test_every_code_line_is_printed_whole(screen, lesson: Lesson, step: Step) -> None:
    show_all_pages(lesson, step)
    printed = screen()
    for where, source, python in shown_code(step):
        lines = [line.rstrip() for line in source.splitlines()]
        assert runs_of(lines, printed), f"{where}: not printed line for line:\n{source}"
        if python:  # what a learner copies from the screen is the code itself
            ast.parse(textwrap.dedent("\n".join(lines)))


@pytest.mark.parametrize(("lesson", "step"), STEPS, ids=IDS)
def test_the_course_keeps_shown_code_within_79_columns(lesson: Lesson, step: Step) -> None:
    for where, source, _ in shown_code(step):
        for line in source.splitlines():
            assert len(line) < WIDTH, f"lesson {lesson.number} step {step.number}, {where}: {line}"


def test_a_long_line_stays_whole_on_a_narrow_terminal(screen, monkeypatch) -> None:
    """Code the course does not control (a learner's own models, a course of one's own)."""
    long = 'op.add_column("posts", sa.Column("a_rather_long_name", sa.String(), nullable=False))'
    assert len(long) > WIDTH
    render_lessons.code(f"def upgrade() -> None:\n    {long}\n")
    assert f"    {long}" in screen()


def test_lesson_show_on_an_80_column_terminal() -> None:
    """The installed command on a pseudo-terminal of 80 columns, colour on, as a person sees it."""
    from test_cli_core import on_a_terminal

    lesson = load_lessons()[4]
    step = lesson.steps[2]  # the published and created_at columns, on both databases
    shown = on_a_terminal("lesson", "show", "5", "-s", "3", env={"COLUMNS": str(WIDTH)})
    printed = [_ANSI.sub("", line).rstrip() for line in shown.replace("\r", "").splitlines()]
    code = step.code.strip("\n").splitlines()
    assert runs_of(code, printed)
    assert all(len(line) < WIDTH for line in code)  # nor does the terminal wrap them
