"""The command line: parses arguments and renders results; the work happens below it.

Built top-down. This module makes the app: its Click group (`group.py`: errors become one
paragraph and an exit code), the global options, then each family of commands registers itself:

- `migrations`: Alembic's own commands (init, config, current, heads, history, show, branches,
  check, revision, merge, upgrade, downgrade, stamp) and `redo`;
- `views`: graph, schema, doctor;
- `lesson`: the course (`lesson ...`);
- `instructor`: reset, sync, demo; `classes`: class create, status, reset, drop.

Every module here imports `context` (the shared State and the confirm-or-refuse flow) and the
core below the command line; none imports this one, so the package has no import cycle.
"""

from __future__ import annotations

import atexit
import gc
from pathlib import Path
from typing import Annotated

import typer

from migtutor import __version__, render
from migtutor.cli import classes, instructor, lesson, migrations, views
from migtutor.cli.context import State
from migtutor.cli.group import MigtutorGroup
from migtutor.typer_params import LeanTyper

app = LeanTyper(  # a typer.Typer that builds only the command that runs
    cls=MigtutorGroup,
    help="Learn database migrations with Alembic: guided lessons, checked at every step.",
    no_args_is_help=True,
    add_completion=True,
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


for family in (migrations, views, lesson, instructor, classes):
    family.register(app)

# The interpreter's shutdown walks every object SQLAlchemy and Alembic made, looking for cycles
# to collect: about 60 ms of CPU after a database command's work is done, longer than the
# work itself. Freezing them first (atexit handlers run before that walk) keeps the shutdown
# otherwise whole: files and streams are flushed and closed, exit handlers run; only garbage
# in reference cycles is left to the operating system, like the rest of the process's memory.
atexit.register(gc.freeze)
# For the same reason, while it runs: a command builds many objects and frees few (SQLAlchemy's
# and Alembic's modules, imported when a command needs them, then its work). Python looks for
# cycles every 700 new objects by default; every 50,000 saves most of that work and still
# collects in a long `--watch`.
gc.set_threshold(50_000, 20, 20)

__all__ = ["State", "app"]
