"""`migtutor lesson ...`: follow the course, one checked step at a time.

Only typer and the standard library are imported here; the lesson engine and the database
libraries are imported inside the commands that need them, so `lesson list`, `show` and `hint`
start fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from migtutor.cli.completion import lessons as complete_lessons
from migtutor.cli.context import JsonOption, confirm_or_refuse
from migtutor.cli.context import state as _state
from migtutor.errors import MigtutorError

if TYPE_CHECKING:
    from migtutor.checks import CheckResult
    from migtutor.lessons import Lesson, Step
    from migtutor.progress import Progress
    from migtutor.settings import DatabaseSettings

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


def _follow_models(ctx: typer.Context, number: int) -> None:
    """app/models.py moves to lesson `number`'s start if the course wrote it; else it stays,
    and the learner hears how it differs."""
    from migtutor import render_lessons
    from migtutor.course_models import follow

    outcome = follow(_state(ctx).workspace, number)
    if not _state(ctx).json:
        render_lessons.models_outcome(outcome)


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
    _operations(lesson.steps[index])


def _operations(step: Step) -> None:
    """The operations a step's code uses: the middle layer between the idea and the code."""
    from migtutor import render_lessons
    from migtutor.course_files import solution_root
    from migtutor.hints import operations, step_code

    root = solution_root(step.solution) if step.solution else None
    render_lessons.operations(operations(step_code(step, root)))


@lesson_app.command()
def check(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Check the step you are on; on success, record it and show the next one."""
    from migtutor import render, render_lessons
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
    result = _evaluate(lesson, step, workspace, st.database)
    if result.passed:
        advance(progress, lessons)
    _save(ctx, progress, checked=(lesson.number, step.number, result.passed))
    if st.json:
        if progress.lesson != lesson.number:  # the lesson is done: the models move on too
            _follow_models(ctx, progress.lesson)
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
            _follow_models(ctx, next_lesson.number)
        render.line()
        if next_step is None:
            render_lessons.finished(lessons)
        else:
            render_lessons.step_page(next_lesson, next_step, len(lessons))
    else:
        render_lessons.check_failed(lesson, step, result.problems)
    if not result.passed:
        raise typer.Exit(1)


def _evaluate(
    lesson: Lesson, step: Step, workspace: Path, database: DatabaseSettings
) -> CheckResult:
    """The step's check; a step that starts from a setup not yet run says to run it first."""
    from migtutor.checks import CheckResult, evaluate
    from migtutor.scenarios import was_set_up

    if step.setup and not was_set_up(workspace, lesson.number, step.number):
        return CheckResult(
            [
                f"Lesson {lesson.number}, step {step.number} starts from a broken state that "
                "`migtutor lesson setup` makes (it says what it changes and asks first): run "
                "it, then get out of that state."
            ]
        )
    return evaluate(step, workspace, database)


@lesson_app.command()
def setup(
    ctx: typer.Context,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Change the workspace without asking.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Put your workspace and database into the broken state the step you are on practises
    getting out of; says what it will change and asks first."""
    from migtutor import render, render_lessons
    from migtutor.scenarios import mark_set_up, prepare

    st = _state(ctx)
    workspace = _require_workspace(ctx)
    lessons, progress = _course(ctx)
    lesson, step = _current(lessons, progress)
    if step is None:
        render_lessons.finished(lessons)
        return
    if not step.setup:
        raise MigtutorError(
            f"Lesson {lesson.number}, step {step.number} has no setup: it starts from your "
            "workspace as it is. `migtutor lesson show` says what to do."
        )
    plan = prepare(step.setup, workspace, st.database)
    # With --json the plan goes to stderr: stdout holds only the JSON, and the question is
    # never asked about changes nobody was shown.
    shown = render.console(stderr=st.json)
    shown.print(
        f"[bold]Setup of lesson {lesson.number}, step {step.number}[/] ({plan.scenario}). It will:"
    )
    for change in plan.changes:
        shown.print(f"  - {render.escape(change)}")
    confirm_or_refuse(
        "Change your workspace and database like this?",
        yes,
        "The setup would change your revision files and database as listed.",
    )
    done = plan.run()
    mark_set_up(workspace, lesson.number, step.number)
    if st.json:
        render.emit_json(
            {
                "lesson": lesson.number,
                "step": step.number,
                "scenario": plan.scenario,
                "changes": plan.changes,
                "done": done,
            }
        )
        return
    for line in done:
        render.line(line)
    render.markup(
        "Now find out what is wrong as you would on your own: `migtutor lesson check` (or "
        "`migtutor current`) names it and the way out."
    )


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
def watch(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Check once, print the verdict, stop.")
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0, help="Stop after this many seconds (default: never)."),
    ] = None,
    interval: Annotated[
        float, typer.Option("--interval", min=0.02, help="Seconds between looks at the files.")
    ] = 0.1,
    json_output: JsonOption = False,
) -> None:
    """Re-check the step you are on each time a revision file, the models or the database
    change; move on when it passes. Stops when the lesson ends, or with Ctrl-C."""
    import sys
    import time

    from migtutor import render, render_lessons
    from migtutor.progress import advance
    from migtutor.watch import Watcher

    st = _state(ctx)
    workspace = _require_workspace(ctx)
    database = st.database
    watcher = Watcher(workspace, database.url)
    in_place = sys.stdout.isatty() and not st.json
    deadline = None if timeout is None else time.monotonic() + timeout
    if not (st.json or once):
        render.note(
            f"Watching {watcher.versions}, {workspace / 'app'} and the database: every change "
            "runs `lesson check` again. Ctrl-C stops."
        )
    passed = False
    while True:
        lessons, progress = _course(ctx)  # re-read: another terminal may have moved on
        lesson, step = _current(lessons, progress)
        if step is None:
            if not st.json:
                render_lessons.finished(lessons)
            return
        # Stamped before the check reads anything, so a save during the check is not missed.
        seen = watcher.stamp()
        started = time.monotonic()
        result = _evaluate(lesson, step, workspace, database)
        passed = result.passed
        if passed:
            advance(progress, lessons)
        _save(ctx, progress, checked=(lesson.number, step.number, passed))
        seconds = time.monotonic() - started
        if st.json:
            sys.stdout.write(
                json.dumps(
                    {
                        "lesson": lesson.number,
                        "step": step.number,
                        "passed": passed,
                        "problems": result.problems,
                        "seconds": round(seconds, 3),
                    }
                )
                + "\n"
            )
            sys.stdout.flush()
        else:
            if in_place:
                render.console().clear()
                render_lessons.step_page(lesson, step, len(lessons))
                render.line()
            at = time.strftime("%H:%M:%S")
            render_lessons.verdict_line(lesson, step, passed, result.problems, at)
            sys.stdout.flush()
        next_lesson, next_step = _current(lessons, progress)
        if once:
            break
        if passed and (next_lesson is not lesson or next_step is None):
            if not st.json:
                render_lessons.lesson_completed(lesson)
            if next_lesson is not lesson:
                _follow_models(ctx, next_lesson.number)
            return
        if passed and next_step is not None and not st.json:
            if in_place:  # the page of the step to do now, the verdict of the last one
                render.console().clear()
                render_lessons.step_page(next_lesson, next_step, len(lessons))
                render.line()
                render_lessons.verdict_line(lesson, step, passed, result.problems, at)
            render.markup(
                f"Next: lesson {next_lesson.number}, step {next_step.number}"
                " (`migtutor lesson show`). Watching for your next change."
            )
            sys.stdout.flush()
        if watcher.wait(watcher.own_writes_seen(seen), interval, deadline) is None:
            break
        time.sleep(min(interval, 0.05))  # let an editor finish writing the file
    if not passed:
        raise typer.Exit(1)


@lesson_app.command()
def hint(ctx: typer.Context) -> None:
    """A hint for the step you are on; each time you ask it reveals more: the idea, then the
    operations with their arguments, then the code."""
    from migtutor import render_lessons
    from migtutor.course_files import solution_root
    from migtutor.hints import MAX_LEVEL, operation_outlines, step_code
    from migtutor.progress import save_progress

    lessons, progress = _course(ctx)
    lesson, step = _current(lessons, progress)
    if step is None:
        render_lessons.finished(lessons)
        return
    source = step_code(step, solution_root(step.solution) if step.solution else None)
    outlines = operation_outlines(source)
    deepest = MAX_LEVEL if source else 1
    progress.hint_level = min(progress.hint_level + 1, deepest)
    # Kept in the file only: a hint needs no database.
    save_progress(_require_workspace(ctx), progress)
    render_lessons.hint(lesson, step, progress.hint_level, outlines, source)


@lesson_app.command()
def solution(
    ctx: typer.Context,
    number: Annotated[
        int | None,
        typer.Argument(
            help="Lesson number (default: the one you are on).", autocompletion=complete_lessons
        ),
    ] = None,
    step_number: Annotated[
        int | None, typer.Option("--step", "-s", help="Step number (default: the current one).")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Show it without asking, before you pass the step.")
    ] = False,
) -> None:
    """The reference solution of a step; asks first (on a terminal) until you have passed it.

    After the last lesson, lists every step's reference solution.
    """
    import sys

    from migtutor import render_lessons
    from migtutor.course_files import solution_root

    lessons, progress = _course(ctx)
    if number is None and step_number is None:
        lesson, step = _current(lessons, progress)
        if step is None:
            render_lessons.solution_index(lessons)
            return
    else:
        lesson = _pick(lessons, number or progress.lesson)
        index = (step_number or 1) - 1
        if not 0 <= index < len(lesson.steps):
            raise MigtutorError(
                f"Lesson {lesson.number} has steps 1 to {len(lesson.steps)}, not {step_number}."
            )
        step = lesson.steps[index]
    passed = progress.done(lesson.number, step.number)
    if not (passed or yes) and sys.stdin.isatty():
        question = (
            f"You have not passed lesson {lesson.number}, step {step.number} yet "
            "(`migtutor lesson hint` reveals it a layer at a time). Show the solution?"
        )
        if not typer.confirm(question, default=False, err=True):
            raise typer.Exit(1)
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
    from migtutor.command_log import forget

    lessons, progress = _course(ctx)
    lesson = _pick(lessons, number)
    progress.move_to(lesson.number, 0)
    _save(ctx, progress)
    forget(_state(ctx).workspace)  # the commands run before count for no step of it
    render.markup(f"[green]Now at lesson {lesson.number}:[/] {render.escape(lesson.title)}")
    _follow_models(ctx, lesson.number)
    render.line()
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
    """Start a lesson over from its first step (your database and revision files are not
    touched; app/models.py goes back to the lesson's start unless you changed it)."""
    from migtutor import render
    from migtutor.command_log import forget

    lessons, progress = _course(ctx)
    lesson = _pick(lessons, number or progress.lesson)
    progress.move_to(lesson.number, 0)
    progress.completed = [n for n in progress.completed if n != lesson.number]
    _save(ctx, progress)
    forget(_state(ctx).workspace)
    render.markup(
        f"Lesson {lesson.number} ({render.escape(lesson.title)}) starts over at step 1. "
        "Your database and revision files are unchanged: `migtutor reset` rewinds those."
    )
    _follow_models(ctx, lesson.number)


@lesson_app.command()
def models(
    ctx: typer.Context,
    number: Annotated[
        int | None,
        typer.Argument(
            help="The lesson whose starting models you want (default: the current one).",
            autocompletion=complete_lessons,
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Replace a file you changed without asking.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Put the course's models at the start of lesson N into app/models.py; a file you changed
    is kept in .migtutor/backup/ first, and replaced only once you say so."""
    from migtutor import render, render_lessons
    from migtutor.course_models import learners_own_changes, put_course_models

    lessons, progress = _course(ctx)
    lesson = _pick(lessons, number or progress.lesson)
    workspace = _require_workspace(ctx)
    own = learners_own_changes(workspace, lesson.number)
    if own:
        shown = render.console(stderr=_state(ctx).json)  # stdout keeps to the JSON
        shown.print("app/models.py holds changes of your own; the course's file differs:")
        for difference in own:
            shown.print(f"  - {render.escape(difference)}")
        confirm_or_refuse(
            "Replace it with the course's (yours is kept in .migtutor/backup/)?",
            yes,
            "app/models.py holds changes of your own.",
        )
    outcome = put_course_models(workspace, lesson.number)
    if _state(ctx).json:
        render.emit_json(outcome.to_json())
    elif outcome.action == "same":
        render.line(
            f"{outcome.path} already holds the course's models at lesson {lesson.number}'s start."
        )
    else:
        render_lessons.models_outcome(outcome)


@lesson_app.command()
def lint(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Validate every lesson file; exit 1 naming the file and key of each problem."""
    from migtutor import render
    from migtutor.course_files import lessons_dir
    from migtutor.lessons import lesson_files
    from migtutor.lessons import lint as lint_lessons

    directory = lessons_dir()
    problems = lint_lessons(directory)
    if _state(ctx).json:
        render.emit_json({"directory": str(directory), "problems": problems})
    elif problems:
        for problem in problems:
            render.error(problem)
    else:
        count = len(lesson_files(directory))
        render.markup(f"[green]All {count} lesson files in {directory} are valid.[/]")
    if problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(lesson_app, name="lesson")
