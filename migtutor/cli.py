"""The command line: parses arguments and renders results. No database logic lives here."""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from migtutor import __version__, render
from migtutor.errors import MigtutorError, translate
from migtutor.typer_params import LeanTyper

if TYPE_CHECKING:
    from migtutor.locks import LockWait
    from migtutor.migrate import Migrator
    from migtutor.settings import DatabaseSettings


@dataclass
class State:
    """Global options, shared by every command through the Typer context."""

    workspace: Path = field(default_factory=Path.cwd)
    database_url: str | None = None
    json: bool = False
    debug: bool = False
    _database: DatabaseSettings | None = None

    @property
    def database(self) -> DatabaseSettings:
        if self._database is None:
            from migtutor.settings import resolve_database

            self._database = resolve_database(self.workspace, self.database_url)
        return self._database

    def migrator(self) -> Migrator:
        from migtutor.migrate import Migrator

        return Migrator(self.workspace, self.database, on_lock_wait=self.lock_wait_note)

    def lock_wait_note(self, wait: LockWait) -> None:
        """Say on stderr what a command waits for and who holds it (migtutor.locks)."""
        from migtutor.urls import redact

        render.note(redact(wait.note(), self.database.url))

    def describe_database(self) -> str:
        try:
            database = self.database
        except MigtutorError:
            return "the database"
        from migtutor.urls import describe

        return describe(database.url)


def _where_after_interrupt(ctx: Any) -> str:
    """'; the database is at REV' after Ctrl-C in a command that used the database, else ''.

    Migrations say this themselves (migrate.Interrupted); this covers the rest (reset, lesson
    checks). Class commands work on many databases: nothing single to report.
    """
    st = ctx.obj if isinstance(ctx.obj, State) else None
    if st is None or st._database is None or ctx.invoked_subcommand == "class":
        return ""
    try:
        from alembic.runtime.migration import MigrationContext

        from migtutor.database import create_engine

        url = st._database.url
        timeouts = {"connect_timeout": 3, "options": "-c statement_timeout=3000"}
        options = {} if url.startswith("sqlite") else {"connect_args": timeouts}
        engine = create_engine(url, **options)
        try:
            with engine.connect() as connection:
                heads = MigrationContext.configure(connection).get_current_heads()
        finally:
            engine.dispose()
    except BaseException:  # unreachable, or a second Ctrl-C: say nothing more
        return ""
    return f"; the database is at {', '.join(sorted(heads)) or 'base (no revision applied)'}"


class MigtutorGroup(TyperGroup):
    """Turns every error into one clear paragraph on stderr and a non-zero exit."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        from migtutor.typer_params import prime

        prime(self, ctx)  # no Pydantic import just to parse str/bool/Path options (issue 7)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`migtutor history | head`): stop quietly, as git does.
            # Point stdout at /dev/null so the interpreter's final flush cannot fail again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(141) from None
        except KeyboardInterrupt:
            where = _where_after_interrupt(ctx)
            render.error(f"Interrupted (Ctrl-C). The running transaction was rolled back{where}.")
            raise SystemExit(130) from None
        except Exception as exc:
            if type(exc).__module__.startswith(("typer", "click")):
                raise
            state: State = ctx.obj if isinstance(ctx.obj, State) else State()
            known = translate(exc, state.describe_database())
            if state.debug:
                traceback.print_exception(exc, file=sys.stderr)
            if known is None:
                message = f"Unexpected error: {type(exc).__name__}: {exc}. Run again with --debug."
                code = 1
            else:
                message, code = known.message, known.exit_code
            if state._database is not None:
                from migtutor.urls import redact

                message = redact(message, state._database.url)
            render.error(message)
            raise SystemExit(code) from None


app = LeanTyper(  # a typer.Typer that builds only the command it runs (issue 7)
    cls=MigtutorGroup,
    help="Learn database migrations with Alembic: guided lessons, checked at every step.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "-w",
        "--workspace",
        envvar="MIGTUTOR_WORKSPACE",
        help="Workspace directory (default: the nearest one with alembic.ini, here or above).",
        show_default=False,
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"migtutor {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    workspace: WorkspaceOption = None,
    database_url: Annotated[
        str | None,
        typer.Option("-d", "--database-url", help="Database URL (overrides every setting)."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON on stdout.")
    ] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain output, no colour.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Learn database migrations with Alembic: guided lessons, checked at every step."""
    render.configure(no_color=no_color)
    from migtutor.workspace import default_workspace  # the nearest one upward, as git does

    ctx.obj = State(
        workspace=(workspace or default_workspace()).resolve(),
        database_url=database_url,
        json=json_output,
        debug=debug,
    )


def state(ctx: typer.Context) -> State:
    return ctx.ensure_object(State)


# -- set-up ------------------------------------------------------------------------------------


@app.command()
def init(
    ctx: typer.Context,
    directory: Annotated[
        Path | None, typer.Argument(help="Where to create it (default: the workspace).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Create a workspace: alembic.ini, migrations/, app/models.py, .env.example."""
    from migtutor.workspace import init_workspace

    given = directory or ctx.find_root().params.get("workspace")  # else here, not the one above
    target = Path(given or Path.cwd()).resolve()
    result = init_workspace(target, force=force)
    if state(ctx).json:
        render.emit_json({"workspace": str(result.workspace), "written": result.written})
        return
    render.markup(
        f"[green]Created a migtutor workspace in[/] {render._escape(str(result.workspace))}"
    )
    for name in result.written:
        render.line(f"  {name}")
    prefix = "" if target == Path.cwd().resolve() else f"cd {render._escape(str(target))} && "
    render.markup(
        "\nNext: [bold]"
        + prefix
        + "migtutor lesson show[/] to start lesson 1, or "
        + '[bold]migtutor revision -m "create posts table"[/] to write your first revision.'
    )


@app.command("config")
def show_config(ctx: typer.Context) -> None:
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


@app.command()
def current(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Explain the answer.")] = False,
) -> None:
    """Show the revision the database is at (its alembic_version row)."""
    st = state(ctx)
    with st.migrator() as migrator:
        current_ids = migrator.current_heads()
        heads = migrator.head_ids()
    if st.json:
        render.emit_json(
            {"current": current_ids, "heads": heads, "up_to_date": set(current_ids) == set(heads)}
        )
        return
    render.current(current_ids, heads, verbose)


@app.command()
def heads(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show file paths.")] = False,
) -> None:
    """Show the newest revision(s) in the scripts: what `upgrade head` goes to."""
    st = state(ctx)
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


@app.command()
def history(
    ctx: typer.Context,
    rev_range: Annotated[
        str | None, typer.Option("-r", "--rev-range", help="START:END, e.g. base:head, -3:current.")
    ] = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show details.")] = False,
    indicate_current: Annotated[
        bool, typer.Option("-i", "--indicate-current", help="Fail if the database is unreachable.")
    ] = False,
    graph: Annotated[
        bool, typer.Option("--graph", help="Draw the graph with branches (as `migtutor graph`).")
    ] = False,
) -> None:
    """List revisions newest first, as the linked list Alembic walks."""
    st = state(ctx)
    if graph:
        from migtutor.cli_views import show_graph

        show_graph(st)
        return
    with st.migrator() as migrator:
        current_ids = _current_if_reachable(migrator, required=indicate_current)
        revs = migrator.revisions(rev_range, current=current_ids)
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


@app.command()
def show(
    ctx: typer.Context,
    rev: Annotated[str, typer.Argument(help="Revision id, unique prefix, head or base.")],
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


@app.command()
def branches(ctx: typer.Context) -> None:
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


@app.command()
def check(ctx: typer.Context) -> None:
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


@app.command()
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
) -> None:
    """Create a new revision file in migrations/versions/."""
    st = state(ctx)
    with st.migrator() as migrator:
        if explain:
            cli_views.explain_revision(st, migrator, message, autogenerate, head)
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
            cli_views.explain_created(st, migrator, created)
    if st.json:
        render.emit_json(render.revision_to_json(created))
        return
    render.markup(
        f"[green]Created revision[/] [bold]{created.revision}[/]: {render._escape(created.title)}"
    )
    render.line(f"  file:          {created.path}")
    render.line(f"  down_revision: {created.down_revision or 'None (the first revision)'}")
    render.line("Edit upgrade() and downgrade() in it, then run: migtutor upgrade head")


@app.command()
def merge(
    ctx: typer.Context,
    revisions: Annotated[list[str], typer.Argument(help="Revisions to join, or `heads`.")],
    message: Annotated[str, typer.Option("-m", "--message", help="Message.")] = "merge",
    rev_id: Annotated[str | None, typer.Option("--rev-id", help="Use this revision id.")] = None,
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

RELATIVE_TARGETS = {"ignore_unknown_options": True}
EXPLAIN_HELP = "First show the plain Alembic command, the revisions in order and their SQL."
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before losing data.")]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Do not print the schema changes.")
]
ExplainOption = Annotated[bool, typer.Option("--explain", help=EXPLAIN_HELP)]


@app.command(context_settings=RELATIVE_TARGETS)
def upgrade(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="head, heads, a revision, +N or REV+N.")] = "head",
    sql: Annotated[
        bool, typer.Option("--sql", help="Print the SQL instead of running it.")
    ] = False,
    yes: YesOption = False,
    quiet: QuietOption = False,
    explain: ExplainOption = False,
) -> None:
    """Apply revisions up to TARGET (default: head)."""
    _move(ctx, "upgrade", target, sql, yes=yes, quiet=quiet, explain=explain)


@app.command(context_settings=RELATIVE_TARGETS)
def downgrade(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="-N, base, or a revision.")],
    sql: Annotated[
        bool, typer.Option("--sql", help="Print the SQL instead of running it.")
    ] = False,
    yes: YesOption = False,
    quiet: QuietOption = False,
    explain: ExplainOption = False,
) -> None:
    """Revert revisions down to TARGET."""
    _move(ctx, "downgrade", target, sql, yes=yes, quiet=quiet, explain=explain)


@app.command()
def stamp(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="Revision to record, e.g. head or base.")],
    purge: Annotated[bool, typer.Option("--purge", help="Empty alembic_version first.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Record a revision in alembic_version without running any migration."""
    st = state(ctx)
    with st.migrator() as migrator:
        before = None if quiet or st.json else snapshot_schema(migrator)
        result = migrator.stamp(target, purge=purge)
        changes = None if before is None else diff_schema(before, migrator)
        heads = migrator.head_ids()
    _report(st, "stamp", result, heads, changes=changes)


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
    st = state(ctx)
    with st.migrator() as migrator:
        if sql:
            text = migrator.offline_sql(verb, target)
            if st.json:
                render.emit_json({"sql": text})
            else:
                sys.stdout.write(text)
            return
        # One process at a time per PostgreSQL database, from the plan to the last revision.
        with migrator.locked(on_wait=cli_views.waiting_note):
            plan = cli_views.explain_move(st, migrator, verb, target) if explain else None
            # One reading of the schema serves the data-loss guard and the diff printed after.
            current = snapshot_schema(migrator, row_counts=True)
            losses = cli_views.guard_data_loss(migrator, verb, target, yes, current)
            before = None if quiet or st.json else current
            result = migrator.upgrade(target) if verb == "upgrade" else migrator.downgrade(target)
            changes = None if before is None else diff_schema(before, migrator)
        heads = migrator.head_ids()
    _report(st, verb, result, heads, changes=changes, plan=plan, losses=losses)


def snapshot_schema(migrator: Migrator, row_counts: bool = False) -> Any:
    from migtutor.schema import snapshot

    return snapshot(migrator.connection, row_counts=row_counts)


def diff_schema(before: Any, migrator: Migrator) -> list[Any]:
    from migtutor.schema import diff

    return diff(before, snapshot_schema(migrator))


def _report(
    st: State,
    verb: str,
    result: Any,
    heads: list[str],
    *,
    changes: list[Any] | None = None,
    plan: Any = None,
    losses: list[Any] | None = None,
) -> None:
    if st.json:
        data = render.outcome_to_json(result)
        if plan is not None:
            data["explain"] = plan.to_json()
        if losses:
            data["data_lost"] = [loss.to_json() for loss in losses]
        render.emit_json(data)
        return
    render.outcome(verb, result, heads)
    if changes is not None:
        from migtutor import views

        views.changes(changes)


from migtutor import cli_views  # noqa: E402  (graph, schema, doctor: issue 4)

cli_views.register(app)

from migtutor.cli_lesson import lesson_app  # noqa: E402  (the course: issue 3)

app.add_typer(lesson_app, name="lesson")

from migtutor import cli_instructor  # noqa: E402  (reset, class, demo: issue 5)

cli_instructor.register(app)
