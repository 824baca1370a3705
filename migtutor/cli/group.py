"""The app's Click group: every error becomes one clear paragraph on stderr and an exit code.

0 success; 1 a problem reported on stderr; 2 a usage error (Click's); 130 Ctrl-C (143 SIGTERM);
141 when the reader of the output went away. Each top-level command runs in a
`recording.RecordingContext`, which notes it for the lesson steps that ask for it.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

from typer.core import TyperGroup

from migtutor import render
from migtutor.cli.context import State
from migtutor.cli.recording import RecordingContext
from migtutor.errors import InterruptedWhileConnecting, translate


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

        from migtutor.database import connected

        url = st._database.url
        timeouts = {"connect_timeout": 3, "options": "-c statement_timeout=3000"}
        options = {} if url.startswith("sqlite") else {"connect_args": timeouts}
        with connected(url, **options) as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
    except BaseException:  # unreachable, or a second Ctrl-C: say nothing more
        return ""
    return f"; the database is at {', '.join(sorted(heads)) or 'base (no revision applied)'}"


class MigtutorGroup(TyperGroup):
    """Turns every error into one clear paragraph on stderr and a non-zero exit."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        from migtutor.typer_params import prime

        prime(self, ctx)  # no Pydantic import just to parse str/bool/Path options (issue 7)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and not isinstance(command, TyperGroup):
            # Click's documented way to choose the context a command runs in: this one notes
            # the command for the lesson steps that ask the learner to run it.
            command.context_class = RecordingContext
        return name, command, rest

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`migtutor history | head`): stop quietly, as git does.
            # Point stdout at /dev/null so the interpreter's final flush cannot fail again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(141) from None
        except KeyboardInterrupt as exc:
            if isinstance(exc, InterruptedWhileConnecting):
                render.error("Interrupted (Ctrl-C) while connecting, before the server answered.")
                raise SystemExit(130) from None
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
