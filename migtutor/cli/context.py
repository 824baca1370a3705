"""What every command shares: the global options (`State`) and asking before destroying.

The bottom of the command-line package: it imports no other module of it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from migtutor import render
from migtutor.errors import MigtutorError

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


def warn_about_applied(migrator: Migrator, current: list[str] | None = None) -> list[str]:
    """On stderr: each applied revision whose file changed since it ran, and the fix. Returns
    the warnings, for the `warnings` field of a command's --json."""
    try:
        drift = migrator.applied_drift(current)
    except Exception:  # noqa: BLE001  (an unreachable database: the command says so itself)
        return []
    for found in drift:
        render.warning(found.message)
    return [found.message for found in drift]


def warn_about_empty(
    migrator: Migrator, target: str, current: list[str] | None = None
) -> list[str]:
    """On stderr, before `upgrade`: each revision it would apply whose upgrade() does nothing.
    Returns the warnings. `current`: the current revisions, when already read."""
    warnings = []
    for revision in migrator.empty_pending(target, current):
        warnings.append(
            f"Revision {revision.revision} ({revision.title}) has an empty upgrade(): applying "
            "it changes nothing but still records it as applied, so `upgrade` will not run it "
            "again once you fill it in. Write its operations first; if it is applied already, "
            f"`migtutor redo {revision.revision}` re-applies it after you have."
        )
        render.warning(warnings[-1])
    return warnings


def state(ctx: typer.Context) -> State:
    """The global options of the running command (a default State outside the app)."""
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def _set_json(ctx: typer.Context, value: bool) -> bool:
    if value:
        state(ctx).json = True
    return value


# `--json` after a command (`migtutor lesson list --json`) does what the global one does.
JsonOption = Annotated[
    bool,
    typer.Option("--json", callback=_set_json, help="Machine-readable JSON on stdout."),
]


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def confirm_or_refuse(question: str, yes: bool, refusal: str) -> None:
    """Ask on a terminal; without one (and without --yes) refuse with `refusal`."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise MigtutorError(
            f"{refusal} Nothing was changed. There is no terminal to ask for confirmation on: "
            "run the command again with --yes to go ahead."
        )
    if not typer.confirm(question, default=False, err=True):
        raise MigtutorError("Cancelled: nothing was changed.")


def loss_confirmation(yes: bool) -> Callable[[str, list], None]:
    """The data-loss question of a move: show the losses, then ask or refuse (moves.py)."""

    def confirm(verb: str, losses: list) -> None:
        from migtutor import views

        views.losses(losses, verb)
        if yes:
            render.note("--yes: going ahead.")
            return
        confirm_or_refuse(
            f"{verb.capitalize()} anyway and lose this data?",
            False,
            f"Refusing to {verb}: it would destroy the data listed above. Back the data up, or "
            "accept the loss with --yes.",
        )

    return confirm
