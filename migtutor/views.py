"""Rich views of issue 4's data: the revision graph, schema tables, schema diffs, data at stake,
`--explain` plans and doctor findings. Printing goes through `render`'s consoles, so
`--no-color` and NO_COLOR apply. Other modules may call these (lessons, reset, demo).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from migtutor import render
from migtutor.render import escape

if TYPE_CHECKING:
    from migtutor.doctor import Finding
    from migtutor.explain import Plan
    from migtutor.migrate import Revision
    from migtutor.safety import Loss
    from migtutor.schema import Change, Schema, Table


# -- graph ---------------------------------------------------------------------------------------


def graph(revisions: list[Revision], current_known: bool = True) -> None:
    from migtutor.graph import layout

    if not revisions:
        render.line('No revisions yet. Create one with: migtutor revision -m "create posts table"')
        return
    rows = layout(revisions)
    width = max(len(row.prefix) for row in rows)
    for row in rows:
        prefix = row.prefix.ljust(width)
        if row.revision is None:
            render.markup(f"[magenta]{escape(row.prefix)}[/]")
            continue
        rev = row.revision
        tags = render.revision_tags(rev)
        render.markup(
            f"[magenta]{escape(prefix)}[/] [bold yellow]{escape(render.short(rev.revision))}[/]"
            f" {tags}{' ' if tags else ''}{escape(rev.title)}"
        )
    if not any(rev.is_current for rev in revisions):
        if current_known:
            render.note("The database is at <base>: no revision is applied yet.")
        else:
            render.note("The database is not reachable, so the current revision is not marked.")


# -- schema --------------------------------------------------------------------------------------


def schema(snapshot: Schema, only: str | None = None) -> None:
    names = [only] if only else snapshot.table_names
    if not names:
        render.line(
            "The database has no tables yet. `migtutor upgrade head` applies your revisions."
        )
        return
    for name in names:
        table(snapshot.tables[name])


def _rows(count: int | None) -> str:
    if count is None:
        return ""
    return f"{count} row" + ("" if count == 1 else "s")


def table(tbl: Table) -> None:
    from rich.table import Table as RichTable

    foreign = {column: fk for fk in tbl.foreign_keys for column in fk.columns}
    unique = {u.columns[0] for u in tbl.unique if len(u.columns) == 1}
    title = f"[bold]{escape(tbl.name)}[/] [dim]({_rows(tbl.row_count)})[/]"
    if tbl.name == "alembic_version":
        title += " [dim]Alembic's record of the applied revision[/]"
    view = RichTable(title=title, title_justify="left", show_edge=True, header_style="bold")
    for heading in ("column", "type", "null", "default", "key"):
        view.add_column(heading, overflow="fold")  # wrapped, never cut with an ellipsis
    for column in tbl.columns:
        keys = []
        if column.primary_key:
            keys.append("PK")
        if column.name in unique:
            keys.append("UNIQUE")
        if column.name in foreign:
            fk = foreign[column.name]
            keys.append(f"FK -> {fk.referred_table}.{', '.join(fk.referred_columns)}")
        view.add_row(
            escape(column.name),
            escape(column.type),
            "NULL" if column.nullable else "NOT NULL",
            escape(column.default or ""),
            escape(" ".join(keys)),
        )
    render.console().print(view)
    constraints = []
    if tbl.primary_key:
        name = f" {tbl.primary_key_name}" if tbl.primary_key_name else ""
        constraints.append(f"PRIMARY KEY{name} ({', '.join(tbl.primary_key)})")
    for u in tbl.unique:
        constraints.append((f"{u.name}: " if u.name else "") + u.describe())
    for fk in tbl.foreign_keys:
        text = "FOREIGN KEY " + (f"{fk.name} " if fk.name else "") + fk.describe()
        if not fk.ondelete:
            text += " (no ON DELETE: deleting a referenced row fails)"
        constraints.append(text)
    for ix in tbl.indexes:
        constraints.append((f"{ix.name}: " if ix.name else "") + ix.describe())
    for text in constraints:
        render.markup(f"  [dim]{escape(text)}[/]")
    render.line()


def changes(items: list[Change]) -> None:
    """The schema diff after upgrade, downgrade or stamp: green added, red removed."""
    if not items:
        render.markup("[dim]Schema unchanged.[/]")
        return
    render.markup("[bold]Schema changes:[/]")
    colour = {"add": "green", "remove": "red", "modify": "yellow"}
    for change in items:
        render.markup(f"  [{colour[change.action]}]{escape(str(change))}[/]")


def lesson_change(before: Schema, after: Schema) -> None:
    """The tables a lesson added or changed, whole, with what is new marked `+` in green."""
    from migtutor.schema import diff

    found = [c for c in diff(before, after) if c.kind not in ("view", "sequence", "schema")]
    if not found:
        render.markup("[dim]This lesson left the schema's tables as they were.[/]")
        return
    render.markup("[bold]What this lesson changed in the schema[/] ([green]+[/] new):")
    names = sorted({change.table for change in found})
    for name in names:
        new = after.tables.get(name)
        if new is None:
            render.markup(f"  [red]- table {escape(name)}[/] (removed)")
            continue
        old = before.tables.get(name)
        if old is None:
            render.markup(f"  [bold green]+ table {escape(name)}[/]")
        else:
            render.markup(f"  [bold]  table {escape(name)}[/]")
        mine = [c for c in found if c.table == name and c.kind != "table"]
        for column in new.columns:
            text = f"{column.name} {column.describe()}" + (" PK" if column.primary_key else "")
            was = old.column(column.name) if old is not None else None
            if was is None:
                render.markup(f"      [green]+ {escape(text)}[/]")
            elif was != column:
                render.markup(f"      [yellow]~ {escape(text)}[/]")
            else:
                render.markup(f"        [dim]{escape(text)}[/]")
        for change in mine:
            if change.kind == "column" and change.action != "remove":
                continue
            colour = {"add": "green", "remove": "red", "modify": "yellow"}[change.action]
            render.markup(f"      [{colour}]{escape(str(change))}[/]")


# -- safety --------------------------------------------------------------------------------------


def losses(items: list[Loss], verb: str) -> None:
    console = render.console(stderr=True)
    console.print(f"[bold yellow]This {verb} destroys data:[/]")
    for loss in items:
        console.print(f"  [red]{escape(loss.text)}[/]")


# -- explain -------------------------------------------------------------------------------------


def plan(p: Plan) -> None:
    from rich.syntax import Syntax

    if p.command:
        render.markup("[bold]Plain Alembic:[/]")
        render.line(f"  {p.command}")
    if p.note:
        render.markup(f"  [dim]{escape(p.note)}[/]")
    if p.steps:
        render.markup("[bold]Revisions, in the order they run:[/]")
        for number, step in enumerate(p.steps, start=1):
            render.line(f"  {number}. {step}")
    elif p.steps is not None:
        render.line("No revision to run: the database is already there.")
    if p.sql:
        source = p.sql_command if p.sql_command.startswith("a ") else f"from `{p.sql_command}`"
        render.markup(f"[bold]The SQL[/] ({escape(source)}):")
        render.console().print(Syntax(p.sql.strip(), "sql", theme="ansi_dark"))
    elif p.sql_command:
        render.markup(f"[dim]No SQL shown: {escape(p.sql_command)}[/]")
    render.line()


# -- doctor --------------------------------------------------------------------------------------


def findings(items: list[Finding]) -> None:
    icon = {
        "ok": "[green]ok     [/]",
        "info": "[cyan]info   [/]",
        "problem": "[bold red]problem[/]",
    }
    for finding in items:
        render.markup(f"{icon[finding.level]}  {escape(finding.message)}")
        if finding.fix:
            render.markup(f"         [bold]fix:[/] {escape(finding.fix)}")
    problems = sum(1 for finding in items if finding.level == "problem")
    if problems:
        render.markup(f"\n[bold red]{problems} problem{'s' if problems > 1 else ''} found.[/]")
    else:
        render.markup("\n[green]All checks passed.[/]")
