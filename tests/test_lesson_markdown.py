"""Lesson steps shown without Rich's Markdown class: the same words, wrapped within the width,
code blocks set apart, styles only where the Markdown asks for them."""

from __future__ import annotations

import io
import re

import pytest

from migtutor.lesson_markdown import CODE_STYLE, blocks
from migtutor.lessons import load_lessons
from migtutor.plain_console import render_markup

STEPS = [(lesson, step) for lesson in load_lessons() for step in lesson.steps]


def letters(text: str) -> str:
    """The text's letters and digits in order: what neither wrapping nor layout may change."""
    return "".join(re.findall(r"\w", text))


@pytest.mark.parametrize(
    ("lesson", "step"), STEPS, ids=[f"{lesson.number}.{step.number}" for lesson, step in STEPS]
)
def test_every_step_shows_the_words_rich_markdown_shows(lesson, step) -> None:
    from rich.console import Console
    from rich.markdown import Markdown

    rich = io.StringIO()
    Console(file=rich, width=80, no_color=True, color_system=None).print(Markdown(step.text))
    shown = [render_markup(b.text) if b.kind == "lines" else b.text for b in blocks(step.text, 79)]
    assert letters("\n".join(shown)) == letters(rich.getvalue().replace("\u2022", ""))
    for text in shown:
        assert all(len(line) <= 79 for line in text.splitlines() if " " in line.strip()), text


def test_the_subset_of_markdown_lessons_use() -> None:
    text = """
    A **bold claim** with `code`, a [bracket] and a `span`.

    - first item, long enough to wrap onto a second line at this narrow width
    - second

    1. one
    2. two

    ```python
    revision = "abc"
    ```

        indented code
        kept as it is

    The end.
    """
    found = blocks(text, 40)
    assert [b.kind for b in found] == ["lines", "code", "code", "lines"]
    first = found[0].text.splitlines()
    assert first[0].startswith("A [bold]bold[/] [bold]claim[/] with")
    assert f"[{CODE_STYLE}]code[/]" in found[0].text
    assert "\\[bracket]" in found[0].text  # shown as text, not read as a style tag
    assert f"[{CODE_STYLE}]span[/]." in found[0].text  # the full stop stays with the span
    bullets = [line for line in first if line.startswith(" • ")]
    assert len(bullets) == 2 and any(line.startswith("   ") for line in first)
    assert " 1. one" in first and " 2. two" in first
    assert all(len(render_markup(line)) <= 40 for line in first)
    assert (found[1].text, found[1].language) == ('revision = "abc"', "python")
    assert (found[2].text, found[2].language) == ("indented code\nkept as it is", "")
    assert found[3].text == "The end."


@pytest.mark.parametrize(("env", "colour"), [({}, True), ({"NO_COLOR": "1"}, False)])
def test_lesson_show_on_a_terminal(workspace, env: dict[str, str], colour: bool) -> None:
    """Styles and highlighted code on a terminal; the same text without colour under NO_COLOR."""
    from test_cli_core import on_a_terminal

    shown = on_a_terminal("-w", str(workspace), "lesson", "show", "4", env=env)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown)
    assert "Lesson 4/8" in plain and 'op.drop_constraint("post_users_fk"' in plain
    assert ("\x1b[" in shown) is colour, shown
