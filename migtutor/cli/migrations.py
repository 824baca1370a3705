"""Alembic's own commands, with Alembic's names and options: init, config, current, heads,
history, show, branches, check, revision, merge, upgrade, downgrade, stamp; and `redo`.

Each command parses its options, calls the core (`Migrator`, `moves`) and renders the plain data
it returns. `register(app)` adds them to the app.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from migtutor import render
from migtutor.cli.completion import revisions as complete_revisions
from migtutor.cli.context import (
    JsonOption,
    State,
    loss_confirmation,
    state,
    warn_about_applied,
    warn_about_empty,
)
from migtutor.errors import MigtutorError
from migtutor.failure_advice import unknown_revision

if TYPE_CHECKING:
    from migtutor.migrate import Migrator
    from migtutor.moves import MoveReport, RedoReport

EXPLAIN_HELP = "First show the plain Alembic command, the revisions in order and their SQL."


# -- set-up ------------------------------------------------------------------------------------


def init(
    ctx: typer.Context,
    directory: Annotated[
        str | None,
        typer.Argument(
            help="In a project that has app/: the migrations folder to add (`init alembic`). "
            "Elsewhere: the directory of the new workspace (default: here).",
            show_default=False,
        ),
    ] = None,
    metadata: Annotated[
        str | None,
        typer.Option(
            "--metadata",
            help="The base your models inherit from, as MODULE:NAME (app.models:Base); "
            "default: found in app/*.py.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Re-write the files migtutor init wrote before.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Set up Alembic: in a project, alembic.ini and the migrations folder wired to its models;
    in an empty directory, a workspace with the course's starter app/models.py too."""
    from migtutor.workspace import init_workspace, is_project

    root = Path(ctx.find_root().params.get("workspace") or Path.cwd()).resolve()
    scripts = None
    target = root
    if directory is not None:
        plain = Path(directory).name == directory and directory not in (".", "..")
        if plain and (is_project(root) or metadata) and not is_project(root / directory):
            scripts = directory  # `migtutor init alembic` in the course's project
        else:
            target = (Path.cwd() / directory).resolve()
    result = init_workspace(target, force=force, scripts=scripts, metadata=metadata)
    if state(ctx).json:
        render.emit_json(result.to_json())
        return
    render.init_result(result)
    if result.adopted:
        render.markup(
            "\nNext: [bold]migtutor doctor[/] to see what autogenerate compares, then "
            '[bold]migtutor revision --autogenerate -m "create posts table"[/].'
        )
        return
    prefix = "" if target == Path.cwd().resolve() else f"cd {render.escape(str(target))} && "
    render.markup(
        "\nNext: [bold]"
        + prefix
        + "migtutor lesson show[/] to start lesson 1, or "
        + '[bold]migtutor revision -m "create posts table"[/] to write your first revision.'
    )


def show_config(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Show the database URL in use (password masked) and where it came from."""
    st = state(ctx)
    database = st.database
    if st.json:
        render.emit_json(
            {"workspace": str(st.workspace), "url": database.masked_url, "source": database.source}
        )
        return
    render.settings(database, str(st.workspace))


# -- reading -----------------------------------------------------------------------------------


def current(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Explain the answer.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Show the revision the database is at (its alembic_version row)."""
    st = state(ctx)
    with st.migrator() as migrator:
        current_ids = migrator.current_heads()
        heads = migrator.head_ids()
        unknown = _unknown_ids(migrator, current_ids)
        warnings = [] if unknown else warn_about_applied(migrator, current_ids)
    if unknown:
        warnings.append(unknown_revision(unknown))
    if st.json:
        up_to_date = set(current_ids) == set(heads)
        render.emit_json(
            {"current": current_ids, "heads": heads, "up_to_date": up_to_date, "warnings": warnings}
        )
        return
    if unknown:
        render.line(f"Current revision: {', '.join(current_ids)}")
        render.warning(warnings[-1])
        return
    render.current(current_ids, heads, verbose)


def _unknown_ids(migrator: Migrator, current_ids: list[str] | None) -> list[str]:
    """The revisions the database claims that no file defines."""
    known = {r.revision for r in migrator.revisions()}
    return [rev for rev in current_ids or [] if rev not in known]


def heads(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show file paths.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Show the newest revision(s) in the scripts: what `upgrade head` goes to."""
    st = state(ctx)
    # The scripts only, as `alembic heads`: no connection (`current` and the moves warn
    # about applied revisions edited since).
    with st.migrator() as migrator:
        revs = [migrator.get(rev) for rev in migrator.head_ids()]
    if st.json:
        render.emit_json(
            [
                {"revision": r.revision, "message": r.message, "down_revision": r.down_revision}
                for r in revs
            ]
        )
        return
    render.revisions(revs, verbose)
    if len(revs) > 1:
        render.note(
            "Several heads: the chain has forked. `migtutor merge heads -m MSG` joins them."
        )


def history(
    ctx: typer.Context,
    rev_range: Annotated[
        str | None, typer.Option("-r", "--rev-range", help="START:END, e.g. base:head, -3:current.")
    ] = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show details.")] = False,
    indicate_current: Annotated[
        bool,
        typer.Option(
            "-i",
            "--indicate-current",
            help="Mark the current revision, as in Alembic (migtutor marks it anyway whenever "
            "the database answers).",
        ),
    ] = False,
    require_database: Annotated[
        bool,
        typer.Option(
            "--require-database",
            help="Fail if the database is unreachable, instead of listing without the mark.",
        ),
    ] = False,
    graph: Annotated[
        bool, typer.Option("--graph", help="Draw the graph with branches (as `migtutor graph`).")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """List revisions newest first, as the linked list Alembic walks."""
    st = state(ctx)
    if graph:
        from migtutor.cli.views import show_graph

        show_graph(st)
        return
    with st.migrator() as migrator:
        current_ids = _current_if_reachable(migrator, required=require_database)
        revs = migrator.revisions(rev_range, current=current_ids)
        unknown = _unknown_ids(migrator, current_ids)
        if unknown:
            render.warning(unknown_revision(unknown))
        elif current_ids:
            warn_about_applied(migrator, current_ids)
    if st.json:
        render.emit_json([_history_json(r) for r in revs])
        return
    render.revisions(revs, verbose)
    if current_ids is None:
        render.note("The database is not reachable, so the current revision is not marked.")


def _history_json(rev: Any) -> dict[str, Any]:
    data = render.revision_to_json(rev)
    data.pop("path")
    return data


def _current_if_reachable(migrator: Migrator, required: bool) -> list[str] | None:
    try:
        return migrator.current_heads()
    except Exception:
        if required:
            raise
        return None


def show(
    ctx: typer.Context,
    rev: Annotated[
        str,
        typer.Argument(
            help="Revision id, unique prefix, head or base.", autocompletion=complete_revisions
        ),
    ],
    json_output: JsonOption = False,
) -> None:
    """Show one revision: its place in the chain and its code."""
    st = state(ctx)
    with st.migrator() as migrator:
        revision = migrator.get(rev)
    if st.json:
        render.emit_json(render.revision_to_json(revision))
        return
    render.revisions([revision])
    render.line(f"file: {revision.path}")
    render.code(Path(revision.path).read_text(encoding="utf-8"), revision.path)


def branches(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Show revisions where the chain forks."""
    st = state(ctx)
    with st.migrator() as migrator:
        points = migrator.branch_points()
    if st.json:
        render.emit_json([render.revision_to_json(r) for r in points])
        return
    if not points:
        render.line("No branch points: the revisions form a single chain.")
    render.revisions(points)


def check(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Compare the models with the database; exit 1 if a new migration is needed."""
    st = state(ctx)
    with st.migrator() as migrator:
        diffs = migrator.check()
    if st.json:
        render.emit_json({"up_to_date": not diffs, "differences": diffs})
    elif diffs:
        render.markup("[yellow]The models and the database differ:[/]")
        for diff in diffs:
            render.line(f"  - {diff}")
        render.line('Write a migration for them: migtutor revision --autogenerate -m "..."')
    else:
        render.markup("[green]No differences: the database matches the models.[/]")
    if diffs:
        raise typer.Exit(1)


# -- writing revisions -------------------------------------------------------------------------


def revision(
    ctx: typer.Context,
    message: Annotated[str, typer.Option("-m", "--message", help="What this revision changes.")],
    autogenerate: Annotated[
        bool, typer.Option("--autogenerate", help="Write operations from the models' differences.")
    ] = False,
    rev_id: Annotated[str | None, typer.Option("--rev-id", help="Use this revision id.")] = None,
    head: Annotated[str, typer.Option("--head", help="Build on this revision.")] = "head",
    splice: Annotated[bool, typer.Option("--splice", help="Allow a non-head parent.")] = False,
    branch_label: Annotated[str | None, typer.Option("--branch-label", help="Label.")] = None,
    depends_on: Annotated[
        str | None, typer.Option("--depends-on", help="Revision this one depends on.")
    ] = None,
    explain: Annotated[bool, typer.Option("--explain", help=EXPLAIN_HELP)] = False,
    keep_empty: Annotated[
        bool,
        typer.Option(
            "--keep-empty", help="In a lesson, keep an autogenerated revision that found nothing."
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Create a new revision file in migrations/versions/."""
    st = state(ctx)
    with st.migrator() as migrator:
        if explain:
            _explain_revision(
                st,
                migrator,
                message,
                autogenerate,
                head,
                rev_id=rev_id,
                splice=splice,
                branch_label=branch_label,
                depends_on=depends_on,
            )
        created = migrator.revision(
            message,
            autogenerate=autogenerate,
            rev_id=rev_id,
            head=head,
            splice=splice,
            branch_label=branch_label,
            depends_on=depends_on,
        )
        if explain:
            _explain_created(st, migrator, created)
    warnings = []
    if autogenerate and _upgrade_is_empty(created.path):
        if _in_a_lesson(st.workspace) and not keep_empty:
            Path(created.path).unlink(missing_ok=True)
            raise MigtutorError(
                f"{EMPTY_AUTOGENERATE} The empty revision was not kept ({created.path} was "
                "removed): fix the cause and run the same command again, or add --keep-empty to "
                "keep an empty revision."
            )
        warnings.append(f"{EMPTY_AUTOGENERATE} Delete {created.path} unless you meant it.")
    if st.json:
        render.emit_json(render.revision_to_json(created) | {"warnings": warnings})
        return
    for warning in warnings:
        render.warning(warning)
    render.markup(
        f"[green]Created revision[/] [bold]{created.revision}[/]: {render.escape(created.title)}"
    )
    render.line(f"  file:          {created.path}")
    render.line(f"  down_revision: {created.down_revision or 'None (the first revision)'}")
    render.line("Edit upgrade() and downgrade() in it, then run: migtutor upgrade head")


EMPTY_AUTOGENERATE = (
    "Autogenerate found no difference between your models and the database, so the revision's "
    "upgrade() is empty. The likely causes: the model is not defined, or not imported where "
    "migrations/env.py reads the metadata (it imports Base from app.models and sets "
    "target_metadata = Base.metadata: a class in a module nobody imports is invisible); or the "
    "database already matches the models (upgraded already, or tables made with create_all())."
)


def _upgrade_is_empty(path: str) -> bool:
    from migtutor.static_checks import is_empty_function, migration_functions

    upgrade = migration_functions(path).get("upgrade")
    return upgrade is not None and is_empty_function(upgrade)


def _in_a_lesson(workspace: Path) -> bool:
    """A learner's workspace: one that keeps lesson progress."""
    from migtutor.progress import progress_path

    return progress_path(workspace).is_file()


def merge(
    ctx: typer.Context,
    revisions: Annotated[
        list[str],
        typer.Argument(help="Revisions to join, or `heads`.", autocompletion=complete_revisions),
    ],
    message: Annotated[str, typer.Option("-m", "--message", help="Message.")] = "merge",
    rev_id: Annotated[str | None, typer.Option("--rev-id", help="Use this revision id.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Join several heads into one with a merge revision."""
    st = state(ctx)
    with st.migrator() as migrator:
        created = migrator.merge(revisions, message, rev_id)
    if st.json:
        render.emit_json(render.revision_to_json(created))
        return
    render.markup(
        f"[green]Created merge revision[/] [bold]{created.revision}[/] joining "
        f"{created.down_revision}"
    )


# -- moving the database -----------------------------------------------------------------------

SqlOption = Annotated[bool, typer.Option("--sql", help="Print the SQL instead of running it.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before losing data.")]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Do not print the schema changes.")
]
ExplainOption = Annotated[bool, typer.Option("--explain", help=EXPLAIN_HELP)]


def upgrade(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            help="head, heads, a revision, +N or REV+N.", autocompletion=complete_revisions
        ),
    ] = "head",
    sql: SqlOption = False,
    yes: YesOption = False,
    quiet: QuietOption = False,
    explain: ExplainOption = False,
    json_output: JsonOption = False,
) -> None:
    """Apply revisions up to TARGET (default: head)."""
    _move(ctx, "upgrade", target, sql, yes=yes, quiet=quiet, explain=explain)


def downgrade(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(help="-N, base, or a revision.", autocompletion=complete_revisions)
    ],
    sql: SqlOption = False,
    yes: YesOption = False,
    quiet: QuietOption = False,
    explain: ExplainOption = False,
    json_output: JsonOption = False,
) -> None:
    """Revert revisions down to TARGET."""
    _move(ctx, "downgrade", target, sql, yes=yes, quiet=quiet, explain=explain)


def stamp(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            help="Revision to record, e.g. head or base.", autocompletion=complete_revisions
        ),
    ],
    purge: Annotated[bool, typer.Option("--purge", help="Empty alembic_version first.")] = False,
    quiet: QuietOption = False,
    json_output: JsonOption = False,
) -> None:
    """Record a revision in alembic_version without running any migration."""
    from migtutor.schema import diff, snapshot

    st = state(ctx)
    with st.migrator() as migrator:
        before = None if quiet or st.json else snapshot(migrator.connection, row_counts=False)
        result = migrator.stamp(target, purge=purge)
        changes = (
            None
            if before is None
            else diff(before, snapshot(migrator.connection, row_counts=False))
        )
        heads = migrator.head_ids()
    if st.json:
        render.emit_json(render.outcome_to_json(result))
        return
    render.outcome("stamp", result, heads)
    if changes is not None:
        from migtutor import views

        views.changes(changes)


def redo(
    ctx: typer.Context,
    steps: Annotated[
        str, typer.Argument(help="How many revisions to redo (N), or an applied revision (REV).")
    ] = "1",
    yes: YesOption = False,
    quiet: QuietOption = False,
    json_output: JsonOption = False,
) -> None:
    """Downgrade the last N revisions and upgrade them again: does downgrade() really undo?

    Runs under one lock, with the data-loss guard for the downgrade. Afterwards the schema
    should be exactly as before; a difference means downgrade() does not undo upgrade().
    `redo REV` re-applies an applied revision whose file was edited since: down with the
    downgrade() that was applied, up with the upgrade() in the file now.
    """
    from migtutor.moves import redo as redo_revisions

    st = state(ctx)
    # A count is a small number; a longer run of digits is a revision id without a letter
    # (about one generated id in 280 is).
    is_count = steps.lstrip("-").isdigit() and len(steps.lstrip("-")) <= 3
    count_or_rev: int | str = int(steps) if is_count else steps
    if isinstance(count_or_rev, int) and count_or_rev < 1:
        raise typer.BadParameter(
            f"{steps} is not a number of revisions of 1 or more, nor a revision id."
        )
    with st.migrator() as migrator:
        report = redo_revisions(migrator, count_or_rev, events=_events(st, yes))
    if st.json:
        render.emit_json(_report_json(report))
        return
    render.outcome("downgrade", report.down, report.heads)
    render.outcome("upgrade", report.up, report.heads)
    if report.revision is not None:
        render.markup(
            f"[green]Revision {report.revision} re-applied[/] as its file is now; the database "
            "and the file agree again."
        )
    elif report.changes:
        render.markup(
            "[yellow]The schema after the redo differs from before it:[/] downgrade() does not "
            "undo upgrade() exactly."
        )
    if report.changes is not None and not quiet:
        from migtutor import views

        views.changes(report.changes)


def _move(
    ctx: typer.Context,
    verb: str,
    target: str,
    sql: bool,
    *,
    yes: bool = False,
    quiet: bool = False,
    explain: bool = False,
) -> None:
    from migtutor.moves import move

    st = state(ctx)
    with st.migrator() as migrator:
        if sql:
            text = migrator.offline_sql(verb, target)
            if st.json:
                render.emit_json({"sql": text})
            else:
                sys.stdout.write(text)
            return
        # Read once for both warnings (unreadable: no warning, and the move says why).
        current = _current_if_reachable(migrator, required=False)
        warnings = [] if current is None else warn_about_applied(migrator, current)
        if verb == "upgrade" and current is not None:
            warnings += warn_about_empty(migrator, target, current)
        report = move(
            migrator,
            verb,
            target,
            explain=explain,
            changes=not (quiet or st.json),
            database_option=st.database_url,
            events=_events(st, yes),
        )
    if st.json:
        render.emit_json(_report_json(report) | {"warnings": warnings})
        return
    render.outcome(verb, report.outcome, report.heads)
    if report.changes is not None:
        from migtutor import views

        views.changes(report.changes)


def _events(st: State, yes: bool) -> Any:
    from migtutor.moves import MoveEvents

    def show_plan(plan: Any) -> None:
        if not st.json:
            from migtutor import views

            views.plan(plan)

    return MoveEvents(
        on_plan=show_plan,
        confirm_loss=loss_confirmation(yes),
        on_wait=lambda: render.note(
            "Another migration holds this database's migration lock; waiting for it to end..."
        ),
    )


def _report_json(report: MoveReport | RedoReport) -> dict[str, Any]:
    from migtutor.moves import RedoReport

    if isinstance(report, RedoReport):
        data: dict[str, Any] = {
            "down": render.outcome_to_json(report.down),
            "up": render.outcome_to_json(report.up),
            "current": report.up.current,
        }
        if report.changes is not None:
            data["schema_changed"] = [change.to_json() for change in report.changes]
    else:
        data = render.outcome_to_json(report.outcome)
        if report.plan is not None:
            data["explain"] = report.plan.to_json()
    if report.losses:
        data["data_lost"] = [loss.to_json() for loss in report.losses]
    return data


def _explain_revision(
    st: State, migrator: Migrator, message: str, autogenerate: bool, head: str, **options: Any
) -> None:
    """`options`: rev_id, splice, branch_label, depends_on, shown in the alembic command."""
    from migtutor import views
    from migtutor.explain import plan_revision

    plan = plan_revision(migrator, message, autogenerate, head, st.database_url, **options)
    if not st.json:
        views.plan(plan)


def _explain_created(st: State, migrator: Migrator, created: Any) -> None:
    """After `revision --explain`: the SQL the new revision's upgrade() would emit."""
    from migtutor import views
    from migtutor.explain import revision_sql

    if st.json or "," in (created.down_revision or ""):
        return
    views.plan(revision_sql(migrator, created.revision, created.down_revision))


class MoveCommand(TyperCommand):
    """upgrade/downgrade: `-N` (`downgrade -1`) is a target, any other unknown option a usage
    error (Click's message, exit 2), as in Alembic."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        options, positional = args[:end], args[end + 1 :]
        relative = [a for a in options if re.fullmatch(r"-\d+", a)]
        if relative:  # after `--`, Click reads them as arguments, not options
            options = [a for a in options if a not in relative]
            args = [*options, "--", *relative, *positional]
        return super().parse_args(ctx, args)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command("config")(show_config)
    for command in (current, heads, history, show, branches, check, revision, merge, stamp):
        app.command()(command)
    app.command(cls=MoveCommand)(upgrade)
    app.command(cls=MoveCommand)(downgrade)
    app.command()(redo)
