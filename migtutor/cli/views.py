"""Commands that show what is there: `graph`, `schema` and `doctor` (issue 4).

`register(app)` adds them to the app.
"""

from __future__ import annotations

from typing import Annotated

import typer

from migtutor import render
from migtutor.cli.context import JsonOption, State
from migtutor.cli.context import state as _state
from migtutor.errors import MigtutorError


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


def graph_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Draw the revision graph, newest on top, with branch and merge points."""
    show_graph(_state(ctx))


def schema_command(
    ctx: typer.Context,
    table: Annotated[
        str | None, typer.Argument(help="Show only this table.", show_default=False)
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Show the live schema: columns, keys, constraints (with ON DELETE) and row counts."""
    from migtutor import views
    from migtutor.database import connected
    from migtutor.schema import snapshot

    st = _state(ctx)
    with connected(st.database.url) as connection:
        current = snapshot(connection)
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


def doctor_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
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
