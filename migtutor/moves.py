"""Moving the database: the one workflow behind `upgrade`, `downgrade` and `redo`.

- ``move(migrator, verb, target, ...) -> MoveReport``: under migtutor's lock, the plan (with
  `explain`), one reading of the schema that serves both the data-loss guard and the diff shown
  afterwards, the guard, the move itself, and the schema changes it made.
- ``redo(migrator, steps, ...) -> RedoReport``: down `steps` revisions and up again to where the
  database was, under one lock, guarded the same way: a learner's best test that a downgrade
  really reverses its upgrade (the schema after should equal the schema before). With a
  revision id instead of a number, it re-applies that revision after an edit: down with the
  downgrade() that was applied (migtutor.applied), up with the file as it is now.

The person is reached through `MoveEvents` callbacks (show the plan, ask about a loss, say that
another migration holds the lock); without them the workflow never asks, and a move that would
destroy data is refused. This module prints nothing: it returns plain data to render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from migtutor.errors import MigtutorError

if TYPE_CHECKING:
    from migtutor.explain import Plan
    from migtutor.migrate import Migrator, Outcome
    from migtutor.safety import Loss
    from migtutor.schema import Change, Schema


@dataclass
class MoveEvents:
    """How the workflow reaches the person; each may be None (a script, no terminal)."""

    on_plan: Callable[[Plan], None] | None = None  # show the plan before anything runs
    # Show what would be lost and decide: return to go ahead, raise MigtutorError to refuse.
    confirm_loss: Callable[[str, list[Loss]], None] | None = None
    on_wait: Callable[[], None] | None = None  # another migration holds the lock


@dataclass
class MoveReport:
    verb: str
    outcome: Outcome
    heads: list[str]
    plan: Plan | None = None
    losses: list[Loss] = field(default_factory=list)
    changes: list[Change] | None = None  # None: not asked for


@dataclass
class RedoReport:
    down: Outcome
    up: Outcome
    heads: list[str]
    losses: list[Loss] = field(default_factory=list)
    changes: list[Change] | None = None  # after down and up: empty when downgrade() reverses
    revision: str | None = None  # `redo REV`: the revision re-applied (changes are expected)

    @property
    def revisions(self) -> list[str]:
        return [step.revision for step in self.up.steps]


def move(
    migrator: Migrator,
    verb: str,
    target: str,
    *,
    explain: bool = False,
    changes: bool = True,
    database_option: str | None = None,
    events: MoveEvents | None = None,
) -> MoveReport:
    """`upgrade` or `downgrade` to `target`, guarded, reporting what changed."""
    events = events or MoveEvents()
    with migrator.locked(on_wait=events.on_wait):
        plan = None
        if explain:
            from migtutor.explain import plan_move

            plan = plan_move(migrator, verb, target, database_option)
            if events.on_plan is not None:
                events.on_plan(plan)
        before = _schema(migrator, row_counts=True)
        losses = _guard(migrator, verb, target, before, events)
        outcome = migrator.upgrade(target) if verb == "upgrade" else migrator.downgrade(target)
        found = _changes(migrator, before) if changes else None
    return MoveReport(verb, outcome, migrator.head_ids(), plan, losses, found)


def redo(
    migrator: Migrator,
    steps: int | str = 1,
    *,
    changes: bool = True,
    events: MoveEvents | None = None,
) -> RedoReport:
    """Down `steps` revisions, then up again to the revision the database was at.

    `steps` may instead name an applied revision: down to the revision below it, running the
    downgrade() of each revision as it was applied (migtutor.applied), then up with the files
    as they are now. This is what re-applies a revision edited after it ran.
    """
    if isinstance(steps, str):
        return _redo_revision(migrator, steps, changes=changes, events=events or MoveEvents())
    if steps < 1:
        raise MigtutorError(f"redo needs a number of revisions of 1 or more, not {steps}.")
    events = events or MoveEvents()
    with migrator.locked(on_wait=events.on_wait):
        current = migrator.current_heads()
        if not current:
            raise MigtutorError(
                "Nothing to redo: no revision is applied yet. Run `migtutor upgrade head` first."
            )
        if len(current) > 1:
            raise MigtutorError(
                f"The database is at several revisions ({', '.join(current)}): redo works on "
                "one chain. Downgrade and upgrade the branch you mean by its revision id."
            )
        applied = [r for r in migrator.revisions(f"base:{current[0]}")]
        if steps > len(applied):
            raise MigtutorError(
                f"redo {steps} would go below the first revision: only {len(applied)} "
                f"revision(s) are applied. Use a number up to {len(applied)}."
            )
        before = _schema(migrator, row_counts=True)
        target = f"-{steps}"
        losses = _guard(migrator, "downgrade", target, before, events)
        down = migrator.downgrade(target)
        up = migrator.upgrade(current[0])
        found = _changes(migrator, before) if changes else None
    return RedoReport(down, up, migrator.head_ids(), losses, found)


def _redo_revision(
    migrator: Migrator, rev: str, *, changes: bool, events: MoveEvents
) -> RedoReport:
    with migrator.locked(on_wait=events.on_wait):
        current = migrator.current_heads()
        revision = migrator.get(rev)
        if len(current) > 1:
            raise MigtutorError(
                f"The database is at several revisions ({', '.join(current)}): redo works on "
                "one chain. Downgrade and upgrade the branch you mean by its revision id."
            )
        applied = (
            {r.revision: r for r in migrator.revisions(f"base:{current[0]}")} if current else {}
        )
        if revision.revision not in applied:
            raise MigtutorError(
                f"Revision {revision.revision} is not applied to this database, so there is "
                f"nothing to redo: `migtutor upgrade {revision.revision}` applies it."
            )
        if len(revision.down_revisions) > 1:
            raise MigtutorError(
                f"Revision {revision.revision} merges several revisions: redo one of those it "
                "joins instead."
            )
        target = revision.down_revisions[0] if revision.down_revisions else "base"
        before = _schema(migrator, row_counts=True)
        with _as_applied(migrator, revision.revision, current[0]):
            losses = _guard(migrator, "downgrade", target, before, events)
            down = migrator.downgrade(target)
        up = migrator.upgrade(current[0])
        found = _changes(migrator, before) if changes else None
    return RedoReport(down, up, migrator.head_ids(), losses, found, revision.revision)


@contextmanager
def _as_applied(migrator: Migrator, lowest: str, current: str) -> Iterator[None]:
    """While downgrading from `current` to below `lowest`, run each edited revision's
    downgrade() as it was applied (kept in migtutor_applied), not as its file has it now."""
    from migtutor import alembic_shortcuts, applied

    drifted = {d.revision for d in migrator.applied_drift([current])}
    rows = applied.read(migrator.connection) if drifted else {}
    migrator.connection.rollback()
    edited = [
        (rev, rows[rev.revision])
        for rev in migrator.revisions(f"{lowest}:{current}")
        if rev.revision in drifted and rev.revision in rows
    ]
    if edited and not alembic_shortcuts.available():
        names = ", ".join(rev.revision for rev, _ in edited)
        raise MigtutorError(
            f"This Alembic release cannot be made to run the downgrade() of {names} as it was "
            "applied (its file has changed since). Put the file back as it was when applied, "
            "run `migtutor downgrade` past it, then restore your edit and `migtutor upgrade`."
        )
    swapped = []
    for rev, row in edited:
        module = migrator.script.get_revision(rev.revision).module
        swapped.append((module, module.downgrade))
        module.downgrade = applied.applied_downgrade(row.source, rev.path)
    try:
        with alembic_shortcuts.needed():
            yield
    finally:
        for module, downgrade in swapped:
            module.downgrade = downgrade


def _schema(migrator: Migrator, row_counts: bool) -> Schema:
    from migtutor.schema import snapshot

    return snapshot(migrator.connection, row_counts=row_counts)


def _changes(migrator: Migrator, before: Schema) -> list[Change]:
    from migtutor.schema import diff

    return diff(before, _schema(migrator, row_counts=False))


def _guard(
    migrator: Migrator, verb: str, target: str, before: Schema, events: MoveEvents
) -> list[Loss]:
    """The data the move would destroy, accepted by the person (or refused)."""
    if not before.holding_rows():
        return []  # no row anywhere: nothing to lose, no rehearsal to load
    from migtutor.safety import preview_loss

    losses = preview_loss(migrator, verb, target, before)
    if not losses:
        return []
    if events.confirm_loss is None:
        raise DataLossRefused(verb)
    events.confirm_loss(verb, losses)
    return losses


class DataLossRefused(MigtutorError):
    def __init__(self, verb: str) -> None:
        super().__init__(
            f"Refusing to {verb}: it would destroy data, and nobody was asked. Nothing was changed."
        )
