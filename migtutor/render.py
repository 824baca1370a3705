"""Rich views of migtutor's data. Only this module, views.py and the command line print."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from rich.console import Console

    from migtutor.migrate import Outcome, Revision
    from migtutor.settings import DatabaseSettings
    from migtutor.workspace import InitResult

_consoles: dict[str, Console] = {}
# `history -v` shows a revision's docstring: this many lines of it, each at most this wide.
DOC_LINES, DOC_WIDTH = 20, 200
_no_color = False


def configure(no_color: bool) -> None:
    global _no_color
    _no_color = no_color or bool(os.environ.get("NO_COLOR"))
    _consoles.clear()


def console(stderr: bool = False) -> Console:
    """Colour only on a terminal, never with --no-color or NO_COLOR."""
    key = "err" if stderr else "out"
    if key not in _consoles:
        from migtutor.plain_console import LeanConsole

        stream = sys.stderr if stderr else sys.stdout

        def make_rich() -> Console:
            from rich.console import Console

            class PipeConsole(Console):
                def on_broken_pipe(self) -> None:
                    # Rich would exit 1 here; the app's group ends such a run quietly with 141.
                    self.quiet = True
                    raise BrokenPipeError

            return PipeConsole(
                file=stream,
                no_color=_no_color,
                highlight=False,
                soft_wrap=not stream.isatty(),
                color_system=None if _no_color else "auto",
            )

        # Plain markup lines are printed without importing Rich (issue 7: start-up time);
        # tables, Markdown, syntax and anything unusual go to the Rich console made here.
        _consoles[key] = cast("Console", LeanConsole(stream, _no_color, make_rich))
    return _consoles[key]


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def text(data: str) -> None:
    """Text for another program (a diagram, a file): written as it is, never wrapped."""
    sys.stdout.write(data)


def error(message: str) -> None:
    console(stderr=True).print(f"[bold red]Error:[/] {escape(message)}")


def warning(message: str) -> None:
    console(stderr=True).print(f"[bold yellow]Warning:[/] {escape(message)}")


def note(message: str) -> None:
    console(stderr=True).print(f"[dim]{escape(message)}[/]")


def line(message: str = "", style: str | None = None) -> None:
    console().print(escape(message), style=style)


def markup(message: str) -> None:
    console().print(message)


def table(columns: list[tuple[str, str]], rows: list[list[str]], stderr: bool = False) -> None:
    """A borderless table of markup cells; `columns` are (header, "left" or "right").

    Printed without importing Rich when it is plain and fits the width, else as a Rich Table.
    """
    from migtutor.plain_console import print_table

    print_table(console(stderr), columns, rows)


def escape(text: str) -> str:
    """Text shown as it is inside Rich markup (its square brackets are not markup)."""
    from migtutor.plain_console import escape  # rich.markup.escape, without importing Rich

    return escape(text)


def short(revision: str | None) -> str:
    return revision[:12] if revision else "<base>"


def revision_tags(rev: Revision) -> str:
    """The (head) (current) (merge point) (branch point) markers of a revision, as markup."""
    markers = [
        ("[bold green](head)[/]", rev.is_head),
        ("[bold cyan](current)[/]", rev.is_current),
        ("[magenta](merge point)[/]", rev.is_merge_point),
        ("[magenta](branch point)[/]", rev.is_branch_point),
    ]
    return " ".join(text for text, present in markers if present)


def revision_label(rev: Revision) -> str:
    down = ", ".join(short(d) for d in rev.down_revisions) or "<base>"
    tags = revision_tags(rev)
    return (
        f"[yellow]{down}[/] -> [bold yellow]{rev.revision}[/] {tags}"
        f"{' ' if tags else ''}{escape(rev.title)}"
    )


def revisions(revs: list[Revision], verbose: bool = False) -> None:
    if not revs:
        line('No revisions yet. Create one with: migtutor revision -m "create posts table"')
        return
    for rev in revs:
        markup(revision_label(rev))
        if verbose:
            markup(f"    [dim]file:[/] {escape(rev.path)}")
            if rev.branch_labels:
                markup(f"    [dim]branch labels:[/] {', '.join(rev.branch_labels)}")
            if rev.depends_on:
                markup(f"    [dim]depends on:[/] {', '.join(rev.depends_on)}")
            more = rev.doc.strip().splitlines()[1:]
            for doc_line in more[:DOC_LINES]:
                markup(f"    {escape(doc_line[:DOC_WIDTH])}")
            if len(more) > DOC_LINES:
                markup(f"    [dim]... {len(more) - DOC_LINES} more lines in the file[/]")


def current(current_ids: list[str], heads: list[str], verbose: bool = False) -> None:
    if not current_ids:
        line("Current revision: <base> (no revision applied; the alembic_version table is empty)")
    for rev in current_ids:
        label = " (head)" if rev in heads else ""
        line(f"Current revision: {rev}{label}")
    if current_ids and set(current_ids) == set(heads):
        markup("[green]The database is up to date with the newest revision.[/]")
    elif heads:
        markup(
            f"[yellow]Behind: the head is {', '.join(heads)}. "
            "Run `migtutor upgrade head` to apply the rest.[/]"
        )
    if verbose:
        note("`current` reads the alembic_version table; `heads` reads the revision files.")


def outcome(verb: str, result: Outcome, heads: list[str]) -> None:
    if not result.steps:
        line(f"Nothing to {verb}: the database was already there.")
    for step in result.steps:
        source = ", ".join(step.from_revisions) or "<base>"
        dest = ", ".join(step.to_revisions) or "<base>"
        kind = "stamp" if step.is_stamp else ("upgrade" if step.is_upgrade else "downgrade")
        markup(f"[bold]{kind}[/] {source} -> {dest}, {escape(step.title)}")
    where(result.current, heads)


def where(current_ids: list[str], heads: list[str]) -> None:
    if not current_ids:
        markup("Database is now at [bold]<base>[/] (empty revision history).")
        return
    tag = " (head)" if set(current_ids) == set(heads) else ""
    markup(f"Database is now at [bold]{', '.join(current_ids)}[/]{tag}.")


def settings(database: DatabaseSettings, workspace: str) -> None:
    markup(f"[bold]Workspace:[/]     {escape(workspace)}")
    markup(f"[bold]Database URL:[/]  {escape(database.masked_url)}")
    markup(f"[bold]Source:[/]        {escape(database.source)}")


def init_result(result: InitResult) -> None:
    """What `init` added, what it left alone, and which models env.py compares."""
    where = escape(str(result.workspace))
    if result.adopted:
        verb = "Added Alembic to the project in" if result.written else "Nothing to add in"
        markup(f"[green]{verb}[/] {where}")
    else:
        markup(f"[green]Created a migtutor workspace in[/] {where}")
    for name in result.written:
        line(f"  {name}")
    for name, why in result.kept.items():
        line(f"  {name}: kept ({why})")
    found = result.metadata
    if found is not None:
        models = ", ".join(found.models) or "no model classes yet"
        origin = "" if found.defined_in == found.module else f", defined in {found.defined_in}"
        markup(
            f"Found the models' base [bold]{escape(found.spec)}[/]{escape(origin)} "
            f"({escape(models)}): {escape(result.scripts)}/env.py imports it, so autogenerate "
            "compares the database with those models."
        )


def code(source: str, path: str) -> None:
    from rich.syntax import Syntax

    console().print(Syntax(source, "python", line_numbers=False, theme="ansi_dark"))


def revision_to_json(rev: Revision) -> dict[str, Any]:
    return {
        "revision": rev.revision,
        "down_revision": rev.down_revision,
        "message": rev.message,
        "is_head": rev.is_head,
        "is_current": rev.is_current,
        "path": rev.path,
    }


def outcome_to_json(result: Outcome) -> dict[str, Any]:
    return {
        "applied": [
            {
                "from": ", ".join(step.from_revisions) or None,
                "to": ", ".join(step.to_revisions) or None,
                "message": step.message,
            }
            for step in result.steps
        ],
        "current": result.current,
    }
