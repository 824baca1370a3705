"""The demo's part for a lesson that practises on the chain (one that adds no revision).

Each step with a `[steps.setup]` is set up as `migtutor lesson setup` does it (scenarios.py,
with the lesson file's messages and code), then the demo finds what is wrong the way a learner
would and gets out the way migtutor's advice says. The ways out are Alembic's, one per
scenario, whatever the lesson; a step without a setup that writes a revision (`code` and the
check's `revision_message`) or applies the chain (`migtutor upgrade head`) is done as written.

Every revision the demo makes gets a fixed id, the lesson and step numbers (`l<N>_s<S>`; a
merge `l<N>_s<S>_merge`), so the output is the same on every run. A merge point can only be
passed by absolute targets (`downgrade -1` from it is ambiguous), so the demo runs these
lessons last.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from migtutor.demo_events import Event, chain_and_schema, write_functions
from migtutor.errors import MigtutorError, translate

if TYPE_CHECKING:
    from migtutor.lessons import Lesson, Step
    from migtutor.migrate import Migrator
    from migtutor.reset import Target
    from migtutor.settings import DatabaseSettings

Open = Callable[[], "Migrator"]  # a new Migrator over the workspace and database


def recovery_lessons(target: Target) -> list[Lesson]:
    """The lessons that add no revision, done before `target`, that have a setup to show."""
    from migtutor.lessons import load_lessons

    return [
        lesson
        for lesson in load_lessons()
        if not lesson.revision
        and lesson.number < target.lesson
        and any(step.setup for step in lesson.steps)
    ]


def run_recovery_lesson(
    lesson: Lesson, total: int, workspace: Path, database: DatabaseSettings, migrator: Open
) -> Iterator[Event]:
    """Narrate `lesson` step by step: break the chain as its setups say, then get out."""
    yield Event("lesson", lesson.title, None, {"total": total, "number": lesson.number})
    yield Event("say", lesson.goal.strip(), extra={"markdown": True})
    for step in lesson.steps:
        rev_id = f"l{lesson.number}_s{step.number}"
        if step.setup:
            yield from _set_up(step, rev_id, workspace, database)
            yield from _WAYS_OUT[step.setup["scenario"]](step, rev_id, workspace, migrator)
        elif step.code and step.check.get("revision_message"):
            yield from _write_revision(step, rev_id, migrator)
        elif step.command.strip() == "migtutor upgrade head":
            yield from _upgrade_head(migrator)
        else:
            continue  # a step that only reads: nothing to run
        yield Event("pause", "step")
    yield from chain_and_schema(migrator)


def _set_up(
    step: Step, rev_id: str, workspace: Path, database: DatabaseSettings
) -> Iterator[Event]:
    from migtutor.scenarios import prepare

    setup = prepare(step.setup, workspace, database, rev_id=rev_id)
    yield Event("step", f"Step {step.number}: {_SITUATIONS[setup.scenario]}.")
    yield Event("command", "migtutor lesson setup")
    yield Event("say", "It breaks the chain on purpose:")
    yield Event("list", data=setup.run())


# -- the ways out, one per scenario -----------------------------------------------------------


def _redo_head(step: Step, rev_id: str, workspace: Path, migrator: Open) -> Iterator[Event]:
    """An applied revision whose file differs from what ran: `current` warns, `redo REV`."""
    from migtutor.moves import redo

    yield from _current(migrator)
    with migrator() as m:
        revision = m.current_heads()[0]
    yield Event("command", f"migtutor redo {revision}")
    with migrator() as m:
        report = redo(m, revision)
    yield Event("outcome", "downgrade", report.down, {"heads": report.heads})
    yield Event("outcome", "upgrade", report.up, {"heads": report.heads})
    yield Event("changes", data=report.changes)


def _restore_file(step: Step, rev_id: str, workspace: Path, migrator: Open) -> Iterator[Event]:
    """The file of the revision the database is at is gone: put it back."""
    from migtutor.scenarios import ORIGINALS

    yield from _current(migrator)
    kept = max((workspace / ORIGINALS).iterdir(), key=lambda folder: int(folder.name))
    files = sorted(kept.glob("*.py"))
    for path in files:
        shown = path.relative_to(workspace)
        yield Event("command", f"mv {shown} migrations/versions/")
        shutil.move(str(path), workspace / "migrations" / "versions" / path.name)
    yield Event("say", "Restored (as `git checkout` would): the chain knows the revision again.")
    yield from _current(migrator)


def _merge_heads(step: Step, rev_id: str, workspace: Path, migrator: Open) -> Iterator[Event]:
    """Two heads: `heads` shows them, `upgrade head` stops, `merge heads` joins them."""

    yield Event("command", "migtutor heads")
    with migrator() as m:
        heads = [m.get(rev) for rev in m.head_ids()]
    yield Event("chain", data=heads)
    yield from _upgrade_head(migrator)
    merge_id = f"{rev_id}_merge"
    message = _message(step.command) or "merge heads"
    yield Event("command", f'migtutor merge heads -m "{message}"', extra={"rev_id": merge_id})
    with migrator() as m:
        merged = m.merge(["heads"], message, rev_id=merge_id)
    parents = ", ".join(merged.down_revisions)
    yield Event(
        "say",
        f"It wrote migrations/versions/{Path(merged.path).name}: its down_revision is both "
        f"heads ({parents}) and its upgrade() is empty. The merge joins the chain; the "
        "teammate's revision is still to be applied:",
    )
    yield from _upgrade_head(migrator)


def _stamp_head(step: Step, rev_id: str, workspace: Path, migrator: Open) -> Iterator[Event]:
    """What a revision makes exists already: `upgrade head` fails, `stamp head` records it."""

    yield from _upgrade_head(migrator)
    yield Event(
        "say",
        "The tables are exactly what the revision makes, so record it as applied without "
        "running it:",
    )
    yield Event("command", "migtutor stamp head")
    with migrator() as m:
        outcome = m.stamp("head")
        heads = m.head_ids()
    yield Event("outcome", "stamp", outcome, {"heads": heads})


_SITUATIONS = {
    "applied_empty": "a revision applied while its upgrade() was empty",
    "edited_after_applied": "a revision edited after it was applied",
    "deleted_file": "the file of the revision the database is at deleted",
    "two_heads": "two heads, a teammate's revision on the same parent as yours",
    "untracked_tables": "tables made outside the chain, as create_all() makes them",
}

_WAYS_OUT: dict[str, Callable[[Step, str, Path, Open], Iterator[Event]]] = {
    "applied_empty": _redo_head,
    "edited_after_applied": _redo_head,
    "deleted_file": _restore_file,
    "two_heads": _merge_heads,
    "untracked_tables": _stamp_head,
}


# -- the commands they use ----------------------------------------------------------------------


def _current(migrator: Open) -> Iterator[Event]:
    """`migtutor current`: where the database is, and what migtutor warns about."""
    from migtutor.failure_advice import unknown_revision

    yield Event("command", "migtutor current")
    with migrator() as m:
        current = m.current_heads()
        known = {r.revision for r in m.revisions()}
        unknown = [rev for rev in current if rev not in known]
        warnings = [unknown_revision(unknown)] if unknown else []
        if not unknown:
            warnings = [found.message for found in m.applied_drift(current)]
    where = ", ".join(current) or "<base>"
    yield Event("say", f"Current revision: {where}" + ("" if warnings else ", no warning."))
    for warning in warnings:
        yield Event("warning", warning)


def _upgrade_head(migrator: Open) -> Iterator[Event]:
    """`migtutor upgrade head`, showing its error when the chain stops it."""

    yield Event("command", "migtutor upgrade head")
    try:
        with migrator() as m:
            outcome = m.upgrade("head")
            heads = m.head_ids()
    except Exception as exc:  # noqa: BLE001  (Alembic's error, worded as the command words it)
        failed = exc if isinstance(exc, MigtutorError) else translate(exc)
        if failed is None:
            raise
        yield Event("failure", failed.message)
        return
    yield Event("outcome", "upgrade", outcome, {"heads": heads})


def _write_revision(step: Step, rev_id: str, migrator: Open) -> Iterator[Event]:
    """A step that writes a revision: the lesson's message and code, as the learner would."""

    message = step.check["revision_message"]
    yield Event("command", f'migtutor revision -m "{message}"', extra={"rev_id": rev_id})
    with migrator() as m:
        created = m.revision(message, rev_id=rev_id)
    code = step.code.strip() + "\n"
    write_functions(Path(created.path), code)
    yield Event("say", f"Filled in, migrations/versions/{Path(created.path).name} reads:")
    yield Event("code", code)


def _message(command: str) -> str | None:
    """The -m of a lesson step's command, if it has one."""
    import shlex

    try:
        words = shlex.split(command)
    except ValueError:
        return None
    for flag in ("-m", "--message"):
        if flag in words[:-1]:
            return words[words.index(flag) + 1]
    return None
