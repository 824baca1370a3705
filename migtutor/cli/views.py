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

FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        metavar="text|mermaid|dot",
        help="text (for the terminal), mermaid (renders on GitHub) or dot (Graphviz).",
    ),
]


def _check_format(st: State, output: str) -> None:
    from migtutor.diagrams import FORMATS

    if output not in FORMATS:
        raise MigtutorError(
            f"--format {output!r} is not one migtutor draws. Give text (the terminal's view), "
            "mermaid (an ER or flow diagram GitHub renders) or dot (for Graphviz).",
            exit_code=2,
        )
    if st.json and output != "text":
        raise MigtutorError(
            f"--json and --format {output} ask for two different outputs. Give one of them."
        )


def show_graph(st: State, output: str = "text") -> None:
    """Draw the revision graph (also `history --graph`)."""
    from migtutor import diagrams, graph, views

    _check_format(st, output)

    with st.migrator() as migrator:
        try:
            current = migrator.current_heads()
        except Exception:
            current = None
        revisions = migrator.revisions(current=current)
    if st.json:
        render.emit_json(graph.to_json(revisions))
        return
    if output != "text":
        draw = diagrams.graph_mermaid if output == "mermaid" else diagrams.graph_dot
        render.text(draw(revisions))
        return
    views.graph(revisions, current_known=current is not None)


def graph_command(
    ctx: typer.Context, output: FormatOption = "text", json_output: JsonOption = False
) -> None:
    """Draw the revision graph, newest on top, with branch and merge points."""
    show_graph(_state(ctx), output)


def schema_command(
    ctx: typer.Context,
    table: Annotated[
        str | None, typer.Argument(help="Show only this table.", show_default=False)
    ] = None,
    output: FormatOption = "text",
    json_output: JsonOption = False,
) -> None:
    """Show the live schema: columns, keys, constraints (with ON DELETE) and row counts.

    With --format mermaid or dot, the same schema as an ER diagram to paste into Markdown or
    render with Graphviz (`migtutor schema -f dot | dot -Tsvg > schema.svg`).
    """
    from migtutor import diagrams, views
    from migtutor.database import connected
    from migtutor.schema import snapshot

    st = _state(ctx)
    _check_format(st, output)
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
    if output != "text":
        if table is not None:
            current.tables = {table: current.tables[table]}
        draw = diagrams.schema_mermaid if output == "mermaid" else diagrams.schema_dot
        render.text(draw(current))
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
