"""Commands that show what is there: `graph`, `schema` and `doctor` (issue 4).

`register(app)` adds them to the Typer app; cli.py calls it once.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from migtutor import render
from migtutor.errors import MigtutorError

if TYPE_CHECKING:
    from migtutor.cli import State


def _state(ctx: typer.Context) -> State:
    from migtutor.cli import state

    return state(ctx)


def show_graph(st: State) -> None:
    """Draw the revision graph (also `history --graph`)."""
    from migtutor import graph, views

    with st.migrator() as migrator:
        try:
            current = migrator.current_heads()
        except Exception:
            current = None
        revisions = migrator.revisions(current=current)
    if st.json:
        render.emit_json(graph.to_json(revisions))
        return
    views.graph(revisions, current_known=current is not None)


def graph_command(ctx: typer.Context) -> None:
    """Draw the revision graph, newest on top, with branch and merge points."""
    show_graph(_state(ctx))


def schema_command(
    ctx: typer.Context,
    table: Annotated[
        str | None, typer.Argument(help="Show only this table.", show_default=False)
    ] = None,
) -> None:
    """Show the live schema: columns, keys, constraints (with ON DELETE) and row counts."""
    from migtutor import views
    from migtutor.database import create_engine
    from migtutor.schema import snapshot

    st = _state(ctx)
    engine = create_engine(st.database.url)
    try:
        with engine.connect() as connection:
            current = snapshot(connection)
    finally:
        engine.dispose()
    if table is not None and current.table(table) is None:
        known = ", ".join(current.table_names) or "none yet"
        raise MigtutorError(f"The database has no table {table!r}. Its tables: {known}.")
    if st.json:
        data = current.to_json()
        if table is not None:
            data["tables"] = [t for t in data["tables"] if t["name"] == table]
        render.emit_json(data)
        return
    views.schema(current, table)


def doctor_command(ctx: typer.Context) -> None:
    """Check the workspace and the database; explain each problem and the command that fixes it."""
    from migtutor import views
    from migtutor.doctor import diagnose, healthy

    st = _state(ctx)
    findings = diagnose(st.workspace, st.database_url)
    ok = healthy(findings)
    if st.json:
        render.emit_json({"healthy": ok, "findings": [f.to_json() for f in findings]})
    else:
        views.findings(findings)
    if not ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("graph")(graph_command)
    app.command("schema")(schema_command)
    app.command("doctor")(doctor_command)


# -- helpers for upgrade / downgrade / stamp / revision (called from cli._move) -----------------


def waiting_note() -> None:
    render.note("Another migration holds this database's migration lock; waiting for it to end...")


def guard_data_loss(
    migrator: Any, verb: str, target: str, yes: bool, current: Any = None
) -> list[Any]:
    """Show the data a move would destroy; ask, or refuse without a terminal and --yes.

    `current`: the schema as it is now, with row counts, if the caller has read it already.
    """
    from migtutor import safety, views

    losses = safety.preview_loss(migrator, verb, target, current)
    if not losses:
        return []
    views.losses(losses, verb)
    if yes:
        render.note("--yes: going ahead.")
        return losses
    if not sys.stdin.isatty():
        raise MigtutorError(
            f"Refusing to {verb}: it would destroy the data listed above, and there is no "
            "terminal to ask you. Nothing was changed. Back the data up, or run the command "
            "again with --yes to accept the loss."
        )
    if not typer.confirm(f"{verb.capitalize()} anyway and lose this data?", err=True):
        raise MigtutorError("Cancelled: nothing was changed.")
    return losses


def explain_move(st: State, migrator: Any, verb: str, target: str) -> Any:
    from migtutor import views
    from migtutor.explain import plan_move

    plan = plan_move(migrator, verb, target, st.database_url)
    if not st.json:
        views.plan(plan)
    return plan


def explain_revision(st: State, migrator: Any, message: str, autogenerate: bool, head: str) -> Any:
    from migtutor import views
    from migtutor.explain import plan_revision

    plan = plan_revision(migrator, message, autogenerate, head, st.database_url)
    if not st.json:
        views.plan(plan)
    return plan


def explain_created(st: State, migrator: Any, created: Any) -> None:
    """After `revision --explain`: the SQL the new revision's upgrade() would emit."""
    from migtutor import views
    from migtutor.explain import revision_sql

    if st.json or "," in (created.down_revision or ""):
        return
    views.plan(revision_sql(migrator, created.revision, created.down_revision))
