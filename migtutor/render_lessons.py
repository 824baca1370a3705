"""Rich views of the course: the lesson list, a step page, check results, hints, solutions.

Code and commands are printed verbatim (`code`, `_verbatim`): never wrapped or cropped by Rich,
whatever the width, so that each line on the screen is a line of the code to copy. The course
keeps the lines it shows within 79 columns, so an 80-column terminal does not wrap them either.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from migtutor import render

if TYPE_CHECKING:
    from migtutor.course_models import ModelsOutcome
    from migtutor.lessons import Lesson, Step
    from migtutor.progress import Progress

_STATUS = {"done": "[green]done[/]", "current": "[bold cyan]current[/]", "todo": "[dim]to do[/]"}


def _flat(text: str) -> str:
    """A TOML paragraph wrapped for the file, as one line the terminal wraps itself."""
    return " ".join(text.split())


def bar(done: int, total: int, width: int = 30) -> str:
    filled = round(width * done / total) if total else 0
    return f"[green]{'#' * filled}[/][dim]{'-' * (width - filled)}[/]"


def lesson_list(lessons: list[Lesson], progress: Progress) -> None:
    columns = [("#", "right"), ("Lesson", "left"), ("Status", "left"), ("Steps", "right")]
    rows = [
        [
            str(lesson.number),
            render.escape(lesson.title),
            _STATUS[progress.status(lesson)],
            f"{progress.steps_done(lesson)}/{len(lesson.steps)}",
        ]
        for lesson in lessons
    ]
    render.table(columns, rows)  # without importing Rich when it can (issue 7)
    done = sum(progress.steps_done(lesson) for lesson in lessons)
    total = sum(len(lesson.steps) for lesson in lessons)
    render.markup(f"\n{bar(done, total)} {done}/{total} steps")
    if progress.finished(lessons):
        render.markup(
            "[green]Course complete.[/] Revisit any lesson with `migtutor lesson goto N`."
        )
    else:
        render.line("Continue with: migtutor lesson show")


def step_page(lesson: Lesson, step: Step, total_lessons: int) -> None:
    from migtutor.plain_console import narrowest_width

    title = (
        f"Lesson {lesson.number}/{total_lessons}: {lesson.title}"
        f" - step {step.number} of {len(lesson.steps)}"
    )
    rule = "\u2500" * max(narrowest_width() - 1 - len(title) - 1, 3)  # Rich's Rule, left-aligned
    render.markup(f"[bold]{render.escape(title)}[/] [bright_green]{rule}[/]")
    if step.number == 1:
        render.markup(f"[bold]Goal:[/] {render.escape(_flat(lesson.goal))}\n")
    if step.setup:
        render.markup(
            "[bold]First:[/] [bold cyan]migtutor lesson setup[/], which breaks the workspace as "
            "this step needs.\n"
        )
    lesson_text(step.text)
    if step.command:
        render.markup("\n[bold]Run:[/]")
        _verbatim(f"  [bold cyan]{render.escape(step.command.strip())}[/]")
    if step.code:
        render.markup("\n[bold]Write:[/]")
        code(step.code)
    render.markup(
        "\nWhen you are done: [bold]migtutor lesson check[/]   (stuck? migtutor lesson hint)"
    )


def lesson_text(markdown: str) -> None:
    """A step's Markdown: wrapped paragraphs and lists, code blocks set apart."""
    from migtutor.lesson_markdown import CODE_STYLE, blocks
    from migtutor.plain_console import narrowest_width

    for index, block in enumerate(blocks(markdown, narrowest_width() - 1)):
        if index:
            render.line()
        if block.kind == "lines":
            for text in block.text.splitlines():
                render.markup(text)
        elif block.language == "python":
            code(block.text)
        else:
            for text in block.text.splitlines():
                _verbatim(f"    [{CODE_STYLE}]{render.escape(text)}[/]")


def _verbatim(markup: str) -> None:
    """One line to copy (a command, a line of code): never wrapped, never cropped."""
    render.console().print(markup, soft_wrap=True)


def code(source: str) -> None:
    """Python source, highlighted where there is colour (Pygments is imported only then);
    each line printed whole, as `_verbatim` does."""
    source = source.strip("\n")
    console = render.console()
    if not getattr(console, "colour", True):
        for text in source.splitlines():
            _verbatim(render.escape(text))
        return
    from rich.syntax import Syntax

    # A Syntax renderable fits its lines to the console (cropped, or wrapped with word_wrap);
    # its highlighted text, printed in soft-wrap mode, keeps them whole.
    syntax = Syntax(source, "python", theme="ansi_dark", background_color="default")
    highlighted = syntax.highlight(source)
    highlighted.rstrip()
    console.print(highlighted, soft_wrap=True)


def finished(lessons: list[Lesson]) -> None:
    render.markup(
        f"[bold green]You finished all {len(lessons)} lessons.[/] Your database and your "
        "revision chain are the course's blog schema."
    )
    render.line(
        "Revisit any lesson with `migtutor lesson goto N`; see them all: migtutor lesson list"
    )


def models_outcome(outcome: ModelsOutcome | None) -> None:
    """What moving to a lesson did to app/models.py: nothing to say when it already held them."""
    if outcome is None or outcome.action in ("same", "absent"):
        return
    where = f"the course's models at the start of lesson {outcome.lesson}"
    if outcome.action == "written":
        render.line(f"{outcome.path} now holds {where}.")
        if outcome.backup is not None:
            render.line(f"Yours is kept in {outcome.backup}.")
        return
    render.line(
        f"{outcome.path} is your own, so it stays as it is. It differs from {where}: "
        + "; ".join(outcome.differences)
        + f". `migtutor lesson models {outcome.lesson}` puts the course's in (yours is kept in "
        ".migtutor/backup/)."
    )


def check_passed(lesson: Lesson, step: Step) -> None:
    render.markup(f"[bold green]Step {step.number} of lesson {lesson.number} done.[/]")


def lesson_completed(lesson: Lesson) -> None:
    render.markup(f"[bold green]Lesson {lesson.number} ({render.escape(lesson.title)}) done.[/]")


def check_failed(lesson: Lesson, step: Step, problems: list[str]) -> None:
    render.markup(
        f"[bold red]Not yet:[/] lesson {lesson.number}, step {step.number} has "
        f"{len(problems)} unmet expectation{'s' if len(problems) != 1 else ''}:"
    )
    for problem in problems:
        render.console().print(f"  [red]-[/] {render.escape(problem)}", soft_wrap=True)
    render.markup(f"\n[bold]Hint:[/] {render.escape(_flat(step.hint))}")
    render.line("Fix it, then run `migtutor lesson check` again.")


def operations(names: list[str]) -> None:
    if names:
        render.markup(f"[bold]Operations to use:[/] {render.escape(', '.join(names))}")


def hint(lesson: Lesson, step: Step, level: int, outlines: list[str], source: str) -> None:
    """The hint's layers up to `level`: the idea, the operations with arguments, the code."""
    from migtutor.hints import LEVELS, MAX_LEVEL

    render.markup(
        f"[bold]Hint for lesson {lesson.number}, step {step.number}[/] "
        f"(level {level} of {MAX_LEVEL}: {LEVELS[level]}):"
    )
    render.line(_flat(step.hint))
    if step.mistakes:
        render.markup("\n[bold]Common mistakes:[/]")
        for mistake in step.mistakes:
            render.markup(f"  [yellow]{render.escape(mistake.error)}[/]")
            render.line(f"    {_flat(mistake.explain)}")
    if level >= 2 and outlines:
        render.markup("\n[bold]The operations, with their arguments:[/]")
        for outline in outlines:
            render.markup(f"  [cyan]{render.escape(outline)}[/]")
    if level >= 3 and source:
        render.markup("\n[bold]The code:[/]")
        code(source)
    if level < MAX_LEVEL and (outlines or source):
        render.markup(
            f"\n[dim]Still stuck? `migtutor lesson hint` again shows {LEVELS[level + 1]}.[/]"
        )


def solution(lesson: Lesson, step: Step, root: Path) -> None:
    render.markup(f"[bold]Solution for lesson {lesson.number}, step {step.number}:[/]")
    if step.command:
        _verbatim(f"  [bold cyan]{render.escape(step.command.strip())}[/]")
    if step.solution:
        from migtutor.hints import shown_part

        source = (root / step.solution).read_text(encoding="utf-8")
        render.markup(f"\n[dim]From the course's reference: {render.escape(step.solution)}[/]")
        code(shown_part(source))
    elif step.code:
        code(step.code)


def solution_index(lessons: list[Lesson]) -> None:
    """Every step's reference: what to run and which file holds the solution."""
    render.markup(
        f"[bold green]You finished all {len(lessons)} lessons.[/] The course's reference "
        "solutions, step by step (`migtutor lesson solution N --step S` shows one):"
    )
    for lesson in lessons:
        render.markup(f"\n[bold]Lesson {lesson.number}: {render.escape(lesson.title)}[/]")
        for step in lesson.steps:
            what = step.command.strip() or "(read, then check)"
            where = f"  ->  {step.solution}" if step.solution else ""
            render.line(f"  step {step.number}: {what}{where}")


def verdict_line(lesson: Lesson, step: Step, passed: bool, problems: list[str], at: str) -> None:
    """One line per check in `lesson watch`, the problems under it."""
    if passed:
        render.markup(f"[dim]{at}[/] lesson {lesson.number}, step {step.number}: [green]passed[/]")
        return
    count = f"{len(problems)} unmet expectation{'s' if len(problems) != 1 else ''}"
    render.markup(
        f"[dim]{at}[/] lesson {lesson.number}, step {step.number}: [red]not yet[/] ({count})"
    )
    for problem in problems:
        render.console().print(f"  [red]-[/] {render.escape(problem)}", soft_wrap=True)
