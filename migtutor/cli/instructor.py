"""Commands for instructors and demos: `reset`, `sync` and `demo`.

`register(app)` adds them to the app. Only typer and the standard library are imported at the
top: the work happens in reset.py, sync.py and demo.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from migtutor import render
from migtutor.cli.context import JsonOption, confirm_or_refuse
from migtutor.cli.context import interactive as on_a_terminal
from migtutor.cli.context import state as _state
from migtutor.errors import MigtutorError
from migtutor.urls import require_local

if TYPE_CHECKING:
    from migtutor.locks import Blocker
    from migtutor.reset import FilePlan, Inventory, ResetOutcome, Target


def _rows(count: int | None) -> str:
    if count is None:
        return "rows unknown"
    return f"{count} row" + ("" if count == 1 else "s")


# -- reset ---------------------------------------------------------------------------------------

TargetOption = Annotated[
    str,
    typer.Option(
        "--to",
        metavar="TARGET",
        help="base (empty), head, lesson:N (the start of lesson N) or a reference revision id.",
    ),
]


def reset(
    ctx: typer.Context,
    to: TargetOption = "base",
    seed: Annotated[
        bool, typer.Option("--seed", help="Insert a small sample data set that fits the target.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before removing.")] = False,
    all_objects: Annotated[
        bool,
        typer.Option("--all", help="Remove every table, view, sequence and type, not only ours."),
    ] = False,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a database that is not on this machine.")
    ] = False,
    keep_scripts: Annotated[
        bool,
        typer.Option(
            "--keep-scripts", help="Leave the workspace's migrations/versions/ files alone."
        ),
    ] = False,
    disconnect: Annotated[
        bool,
        typer.Option(
            "--disconnect",
            help="PostgreSQL: first end your other sessions on this database (psql, your app), "
            "whose open transactions would make the reset wait.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Put the database at the start of any lesson, whatever state it is in.

    Removes the course's tables (posts, users, votes), their sequences and types, and
    alembic_version, then applies the course's reference revisions up to the target, all in
    one transaction. Your own revision files move to .migtutor/backup/ (never deleted) and
    the reference revisions the database now has are copied into migrations/versions/;
    app/models.py gets the models the target's lesson starts with, unless you changed it.
    """
    from migtutor import reset as resetting

    st = _state(ctx)
    target = resetting.parse_target(to)
    database = st.database
    require_local(database.url, allow_remote, "Resetting removes tables")
    ended = resetting.disconnect_others(database) if disconnect else []
    if ended and not st.json:
        _show_disconnected(ended)
    found = resetting.preview(database, all_objects, on_wait=st.lock_wait_note)
    files = None if keep_scripts else resetting.plan_files(st.workspace, target)
    if not yes:
        if not st.json:
            show_reset_plan(st.describe_database(), target, found, files)
        confirm_or_refuse("Reset the database?", yes, _refusal(found))
    outcome = resetting.reset_database(
        database,
        target,
        seed=seed,
        all_objects=all_objects,
        files=files,
        on_wait=st.lock_wait_note,
    )
    outcome.disconnected = ended
    if not keep_scripts:
        from migtutor.course_models import follow

        outcome.progress_lesson = resetting.set_progress(st.workspace, target)
        outcome.models = follow(st.workspace, target.lesson)
    if st.json:
        render.emit_json(outcome.to_json())
        return
    show_reset_outcome(outcome)


def sync(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Bring the workspace in step with the database after a class reset. Never changes the
    database.

    When the database is at a course revision your files do not define, your own files move
    to .migtutor/backup/ (never deleted), the course's revisions the database has are copied
    into migrations/versions/, and the lesson progress points at the lesson that starts there.
    """
    from migtutor import render_lessons
    from migtutor.sync import apply_sync, plan_sync

    st = _state(ctx)
    outcome = apply_sync(st.workspace, plan_sync(st.workspace, st.database))
    if st.json:
        render.emit_json(outcome.to_json())
        return
    if outcome.target is None:
        where = ", ".join(outcome.current) or "base (no revision applied)"
        render.line(f"In step: the database is at {where}, which your files define.")
        return
    render.markup(
        f"[green]Workspace in step with the database[/] at {render.escape(outcome.target.label)}."
    )
    if outcome.files is not None:
        show_file_plan(outcome.files, planned=False)
    render_lessons.models_outcome(outcome.models)
    if outcome.progress_lesson is not None:
        render.line(f"Lesson progress: lesson {outcome.progress_lesson} (`migtutor lesson show`).")


def _show_disconnected(ended: list[Blocker]) -> None:
    sessions = "session" if len(ended) == 1 else "sessions"
    render.line(f"Ended {len(ended)} other {sessions} on this database:")
    for session in ended:
        render.line(f"  {session.describe()}")


def _refusal(found: Inventory) -> str:
    removed = found.removed
    if not removed:
        return "Reset would rebuild the course's tables."
    rows = sum(t.rows or 0 for t in removed)
    names = ", ".join(t.name for t in removed)
    return f"Reset would remove {len(removed)} table(s) holding {rows} row(s) ({names})."


def show_reset_plan(where: str, target: Target, found: Inventory, files: FilePlan | None) -> None:
    from migtutor.course import reference_ids

    render.markup(f"[bold]Reset[/] {render.escape(where)} to {render.escape(target.label)}.")
    if not found.current:
        render.line("It records no revision now (no alembic_version row).")
    for rev in found.current:
        known = "reference" if rev in reference_ids() else "a revision no course script knows"
        render.line(f"It is now at revision {rev} ({known}).")
    if found.removed or found.views or found.sequences or found.types:
        render.markup("[bold red]This removes:[/]")
        for table in found.removed:
            render.line(f"  table    {table.name:<20} {_rows(table.rows)}")
        for kind, names in (
            ("view", found.views),
            ("sequence", found.sequences),
            ("type", found.types),
        ):
            for name in names:
                render.line(f"  {kind:<8} {name}")
    else:
        render.line("There is nothing of the course's to remove.")
    if found.kept:
        render.line("It keeps (not the course's; --all would remove them too):")
        for table in found.kept:
            render.line(f"  table    {table.name:<20} {_rows(table.rows)}")
    if target.revisions:
        render.line(f"Then it applies the reference revisions {', '.join(target.revisions)}.")
    if files is not None:
        show_file_plan(files, planned=True)


def show_file_plan(files: FilePlan, planned: bool) -> None:
    move, copy, remove = (
        ("moves", "copies", "removes") if planned else ("moved", "copied", "removed")
    )
    if files.move:
        names = ", ".join(p.name for p in files.move)
        render.line(f"Revision files: {move} {names} to {files.backup} (nothing is deleted).")
    if files.remove:
        names = ", ".join(p.name for p in files.remove)
        render.line(f"Revision files: {remove} the unchanged reference copies {names}.")
    if files.copy:
        names = ", ".join(p.name for p in files.copy)
        render.line(f"Revision files: {copy} the reference {names} into {files.versions}.")


def show_reset_outcome(outcome: ResetOutcome) -> None:
    from migtutor import render_lessons
    from migtutor.course import lesson_count
    from migtutor.migrate import TITLE_WIDTH, headline

    removed = outcome.removed.removed
    if removed:
        render.line("Removed: " + ", ".join(f"{t.name} ({_rows(t.rows)})" for t in removed))
    for applied in outcome.applied:
        title = headline(applied.message, TITLE_WIDTH)
        render.markup(f"[bold]upgrade[/] {applied.revision}, {render.escape(title)}")
    if outcome.seeded:
        render.line(
            "Sample data: " + ", ".join(f"{n} {table}" for table, n in outcome.seeded.items())
        )
    if outcome.files is not None:
        show_file_plan(outcome.files, planned=False)
    render_lessons.models_outcome(outcome.models)
    lesson = outcome.progress_lesson
    if lesson is not None and lesson > lesson_count():
        render.line("Lesson progress: every lesson done.")
    elif lesson is not None:
        render.line(f"Lesson progress: lesson {lesson} is next (`migtutor lesson show`).")
    render.markup(
        f"[green]The database is now at[/] [bold]{render.escape(outcome.target.label)}[/]."
    )


# -- demo ----------------------------------------------------------------------------------------


def demo(
    ctx: typer.Context,
    pause: Annotated[
        str | None,
        typer.Option(
            "--pause",
            metavar="step|lesson|none",
            help="Wait for Enter after each step (the default on a terminal), after each "
            "lesson, or never. Without a terminal it never waits.",
            show_default=False,
        ),
    ] = None,
    no_pause: Annotated[
        bool, typer.Option("--no-pause", help="Never wait (the same as --pause none).")
    ] = False,
    delay: Annotated[
        float, typer.Option("--delay", min=0, help="Seconds to wait between steps (terminal only).")
    ] = 0.0,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="TARGET",
            help="Stop when the database reaches this state (as reset --to: lesson:3 runs "
            "lessons 1 and 2; head runs them all).",
        ),
    ] = "head",
) -> None:
    """Run the whole course end to end, narrated: each lesson's revision written and applied.

    Works in a temporary workspace (or -w DIR, which must be empty) on an SQLite file there,
    or on the database given with -d. Without a terminal it never waits. The output is the
    same on every run, apart from the labelled run time at the end.
    """
    import tempfile
    import time

    from migtutor import demo as demos
    from migtutor import reset as resetting
    from migtutor.settings import DatabaseSettings, normalise_url

    st = _state(ctx)
    target = resetting.parse_target(to)
    given = ctx.find_root().params.get("workspace")
    interactive = on_a_terminal()
    pacing = _pacing(pause, no_pause)
    if not interactive:
        pacing = "none"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="migtutor-demo-") as scratch:
        workspace = Path(given).resolve() if given else Path(scratch) / "blog"
        if given:
            demos.check_workspace(workspace)
        if st.database_url:
            source = "--database-url option"
            database = DatabaseSettings(normalise_url(st.database_url, source), source)
            demos.check_database(database)
        else:
            database = DatabaseSettings(f"sqlite:///{workspace / 'migtutor.db'}", "demo")
        render.markup("[bold]migtutor demo[/]: the course end to end, as a learner does it.")
        where = str(workspace) if given else "a temporary directory (removed at the end)"
        render.line(f"Workspace: {where}")
        render.line(f"Database:  {_demo_database(database, given is not None)}")
        finished = target.label
        for event in demos.run_demo(workspace, database, target):
            if event.kind == "finished":
                finished = event.text
                continue
            if event.kind == "pause":
                if pacing == "step" or (pacing == "lesson" and event.text == "lesson"):
                    pacing = _wait_for_enter(event.text, pacing)
                continue
            show_demo_event(event)
            if interactive and delay:
                time.sleep(delay)
    render.line("")
    render.markup(f"[green]Demo finished[/] at {render.escape(finished)}.")
    render.line(f"Run time: {time.perf_counter() - started:.1f} s (the only line that varies)")


_PACINGS = ("step", "lesson", "none")


def _pacing(pause: str | None, no_pause: bool) -> str:
    if no_pause:
        return "none"
    if pause is None:
        return "step"
    if pause not in _PACINGS:
        raise MigtutorError(
            f"--pause {pause!r} is not a pace the demo knows. Give step (wait after each step), "
            "lesson (after each lesson) or none (never wait).",
            exit_code=2,
        )
    return pause


def _wait_for_enter(after: str, pacing: str) -> str:
    """Wait for Enter; Ctrl-C ends the demo quietly (exit 130), a closed input stops waiting."""
    try:
        input(f"Press Enter for the next {'lesson' if after == 'lesson' else 'step'} ")
    except KeyboardInterrupt:
        render.line("")
        raise SystemExit(130) from None
    except EOFError:
        return "none"
    return pacing


def _demo_database(database: Any, workspace_given: bool) -> str:
    if not database.is_sqlite:
        return database.masked_url
    return "migtutor.db (SQLite) in the workspace"


def show_demo_event(event: Any) -> None:
    kind = event.kind
    if kind == "lesson":
        render.line("")
        number = event.extra.get("number")
        if number is None:  # a part that goes over the whole chain
            heading = f"Review: {event.text}"
        else:
            heading = f"Lesson {number} of {event.extra['total']}: {event.text}"
        render.markup(f"[bold reverse] {render.escape(heading)} [/]")
    elif kind == "say":
        if event.extra.get("markdown"):
            from rich.markdown import Markdown

            render.console().print(Markdown(event.text))
        else:
            render.line(event.text)
    elif kind == "command":
        render.markup(f"[bold cyan]$ {render.escape(event.text)}[/]")
        if event.extra.get("rev_id"):
            render.markup(
                f"[dim]  (the demo adds --rev-id {event.extra['rev_id']} so its ids are the "
                "same on every run)[/]"
            )
    elif kind == "step":
        render.line("")
        render.markup(f"[bold]{render.escape(event.text)}[/]")
    elif kind == "list":
        for item in event.data:
            render.line(f"  - {item}")
    elif kind == "warning":
        render.markup(f"[bold yellow]Warning:[/] {render.escape(event.text)}")
    elif kind == "code":
        render.code(event.text, "")
    elif kind == "outcome":
        render.outcome(event.text, event.data, event.extra["heads"])
    elif kind == "chain":
        render.revisions(event.data)
    elif kind == "schema":
        _show_schema(event.data)
    elif kind == "changes":
        from migtutor import views

        views.changes(event.data or [])
    elif kind == "failure":
        render.markup(f"[bold red]It fails:[/] {render.escape(event.text)}")
    elif kind == "losses":
        render.markup("[bold yellow]The data-loss guard: this downgrade destroys data:[/]")
        for loss in event.data:
            render.markup(f"  [red]{render.escape(loss.text)}[/]")


def _show_schema(snapshot: Any) -> None:
    if isinstance(snapshot, dict):
        for table, columns in snapshot.items():
            if table != "alembic_version":
                render.line(f"{table}: {', '.join(columns)}")
        return
    from migtutor import views

    names = [name for name in snapshot.table_names if name != "alembic_version"]
    if not names:
        render.line("No tables: the schema is empty.")
    for name in names:
        views.table(snapshot.tables[name])


def register(app: typer.Typer) -> None:
    app.command("reset")(reset)
    app.command("sync")(sync)
    app.command("demo")(demo)
