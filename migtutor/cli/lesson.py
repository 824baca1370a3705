"""`migtutor lesson ...`: follow the course, one checked step at a time.

Only typer and the standard library are imported here; the lesson engine and the database
libraries are imported inside the commands that need them, so `lesson list`, `show` and `hint`
start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from migtutor.cli.completion import lessons as complete_lessons
from migtutor.cli.context import JsonOption
from migtutor.cli.context import state as _state
from migtutor.errors import MigtutorError

if TYPE_CHECKING:
    from migtutor.lessons import Lesson, Step
    from migtutor.progress import Progress

lesson_app = typer.Typer(
    help="The course: from an empty database to the course's blog schema, each step checked.",
    invoke_without_command=True,
    rich_markup_mode=None,
)


def _course(ctx: typer.Context) -> tuple[list[Lesson], Progress]:
    from migtutor import render
    from migtutor.lessons import load_lessons
    from migtutor.progress import load_progress

    lessons = load_lessons()
    progress, note = load_progress(_state(ctx).workspace, lessons)
    if note:
        render.note(note)
    return lessons, progress


def _require_workspace(ctx: typer.Context) -> Path:
    from migtutor.alembic_config import find_ini

    workspace: Path = _state(ctx).workspace
    find_ini(workspace)
    return workspace


def _save(
    ctx: typer.Context, progress: Progress, checked: tuple[int, int, bool] | None = None
) -> None:
    """The progress file (unless only a failed check is new), and its copy in the database."""
    from migtutor import progress_table
    from migtutor.progress import save_progress

    if checked is None or checked[2]:
        save_progress(_require_workspace(ctx), progress)
    # Best effort: the instructor's copy must never stop the learner's command.
    try:
        database = _state(ctx).database
    except MigtutorError:
        return
    progress_table.record(database, progress.lesson, progress.step + 1, checked=checked)


def _pick(lessons: list[Lesson], number: int) -> Lesson:
    from migtutor.errors import MigtutorError

    if not 1 <= number <= len(lessons):
        raise MigtutorError(
            f"There is no lesson {number}: the lessons are numbered 1 to {len(lessons)}. "
            "See `migtutor lesson list`."
        )
    return lessons[number - 1]


def _current(lessons: list[Lesson], progress: Progress) -> tuple[Lesson, Step | None]:
    lesson = lessons[progress.lesson - 1]
    if progress.step >= len(lesson.steps):
        return lesson, None
    return lesson, lesson.steps[progress.step]


@lesson_app.callback()
def lesson_main(ctx: typer.Context) -> None:
    """The course: from an empty database to the course's blog schema, each step checked.

    Without a command, shows the step you are on.
    """
    if ctx.invoked_subcommand is None:
        show(ctx)


@lesson_app.command("list")
def list_lessons(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """All lessons with done / current / to do, and a progress bar."""
    from migtutor import render, render_lessons

    lessons, progress = _course(ctx)
    if _state(ctx).json:
        render.emit_json(
            [
                {
                    "number": lesson.number,
                    "slug": lesson.slug,
                    "title": lesson.title,
                    "status": progress.status(lesson),
                    "steps_done": progress.steps_done(lesson),
                    "steps_total": len(lesson.steps),
                }
                for lesson in lessons
            ]
        )
        return
    render_lessons.lesson_list(lessons, progress)


@lesson_app.command()
def show(
    ctx: typer.Context,
    number: Annotated[
        int | None,
        typer.Argument(
            help="Lesson number (default: the one you are on).", autocompletion=complete_lessons
        ),
    ] = None,
    step: Annotated[int | None, typer.Option("--step", "-s", help="Step number to show.")] = None,
) -> None:
    """Show the step you are on: the explanation, the command to run, the code to write."""
    from migtutor import render_lessons
    from migtutor.errors import MigtutorError

    lessons, progress = _course(ctx)
    if number is None and step is None and _current(lessons, progress)[1] is None:
        render_lessons.finished(lessons)
        return
    lesson = _pick(lessons, number or progress.lesson)
    if step is not None:
        if not 1 <= step <= len(lesson.steps):
            raise MigtutorError(
                f"Lesson {lesson.number} has steps 1 to {len(lesson.steps)}, not {step}."
            )
        index = step - 1
    elif lesson.number == progress.lesson:
        index = min(progress.step, len(lesson.steps) - 1)
    else:
        index = 0
    render_lessons.step_page(lesson, lesson.steps[index], len(lessons))


@lesson_app.command()
def check(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Check the step you are on; on success, record it and show the next one."""
    from migtutor import render, render_lessons
    from migtutor.checks import evaluate
    from migtutor.progress import advance

    st = _state(ctx)
    workspace = _require_workspace(ctx)
    lessons, progress = _course(ctx)
    lesson, step = _current(lessons, progress)
    if step is None:
        if st.json:
            render.emit_json(
                {"lesson": lesson.number, "step": len(lesson.steps), "passed": True, "problems": []}
            )
        else:
            render_lessons.finished(lessons)
        return
    result = evaluate(step, workspace, st.database)
    if result.passed:
        advance(progress, lessons)
    _save(ctx, progress, checked=(lesson.number, step.number, result.passed))
    if st.json:
        render.emit_json(
            {
                "lesson": lesson.number,
                "step": step.number,
                "passed": result.passed,
                "problems": result.problems,
            }
        )
    elif result.passed:
        render_lessons.check_passed(lesson, step)
        next_lesson, next_step = _current(lessons, progress)
        if next_lesson is not lesson:
            render_lessons.lesson_completed(lesson)
            _show_lesson_change(ctx, lesson.number)
        render.line()
        if next_step is None:
            render_lessons.finished(lessons)
        else:
            render_lessons.step_page(next_lesson, next_step, len(lessons))
    else:
        render_lessons.check_failed(lesson, step, result.problems)
    if not result.passed:
        raise typer.Exit(1)


def _show_lesson_change(ctx: typer.Context, number: int) -> None:
    """The tables the lesson added or changed: its start (from the course) against now."""
    from migtutor import views
    from migtutor.database import connected
    from migtutor.lesson_end import schema_at_start, tables_at_start
    from migtutor.schema import snapshot

    start = tables_at_start(number)
    if start is None:
        return
    with connected(_state(ctx).database.url) as connection:
        now = snapshot(connection, row_counts=False)
    views.lesson_change(schema_at_start(now, start), now)


@lesson_app.command()
def hint(ctx: typer.Context) -> None:
    """A hint for the step you are on, and its common mistakes."""
    from migtutor import render_lessons

    lessons, progress = _course(ctx)
    lesson, step = _current(lessons, progress)
    if step is None:
        render_lessons.finished(lessons)
        return
    render_lessons.hint(lesson, step)


@lesson_app.command()
def solution(ctx: typer.Context) -> None:
    """The reference solution of the step you are on (try it yourself first)."""
    from migtutor import render_lessons
    from migtutor.course_files import solution_root

    lessons, progress = _course(ctx)
    lesson, step = _current(lessons, progress)
    if step is None:
        render_lessons.finished(lessons)
        return
    render_lessons.solution(lesson, step, solution_root(step.solution))


@lesson_app.command()
def goto(
    ctx: typer.Context,
    number: Annotated[
        int, typer.Argument(help="The lesson to go to.", autocompletion=complete_lessons)
    ],
) -> None:
    """Go to lesson N (its first step); finished lessons stay finished."""
    from migtutor import render, render_lessons

    lessons, progress = _course(ctx)
    lesson = _pick(lessons, number)
    progress.lesson, progress.step = lesson.number, 0
    _save(ctx, progress)
    render.markup(f"[green]Now at lesson {lesson.number}:[/] {render.escape(lesson.title)}\n")
    render_lessons.step_page(lesson, lesson.steps[0], len(lessons))


@lesson_app.command()
def reset(
    ctx: typer.Context,
    number: Annotated[
        int | None,
        typer.Argument(
            help="The lesson to start over (default: the current one).",
            autocompletion=complete_lessons,
        ),
    ] = None,
) -> None:
    """Start a lesson over from its first step (your database and files are not touched)."""
    from migtutor import render

    lessons, progress = _course(ctx)
    lesson = _pick(lessons, number or progress.lesson)
    progress.lesson, progress.step = lesson.number, 0
    progress.completed = [n for n in progress.completed if n != lesson.number]
    _save(ctx, progress)
    render.markup(
        f"Lesson {lesson.number} ({render.escape(lesson.title)}) starts over at step 1. "
        "Your database and revision files are unchanged: `migtutor reset` rewinds those."
    )


@lesson_app.command()
def lint(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Validate every lesson file; exit 1 naming the file and key of each problem."""
    from migtutor import render
    from migtutor.course_files import lessons_dir
    from migtutor.lessons import lint as lint_lessons

    directory = lessons_dir()
    problems = lint_lessons(directory)
    if _state(ctx).json:
        render.emit_json({"directory": str(directory), "problems": problems})
    elif problems:
        for problem in problems:
            render.error(problem)
    else:
        count = len(list(directory.glob("*.toml")))
        render.markup(f"[green]All {count} lesson files in {directory} are valid.[/]")
    if problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(lesson_app, name="lesson")
