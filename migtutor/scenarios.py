"""`migtutor lesson setup`: put a workspace into a state learners get stuck in, to practise
getting out.

A lesson step may declare a setup (`[steps.setup]` in its lesson file; the keys are checked in
`migtutor.lessons.SCENARIOS`). Each scenario is a generic Alembic situation built on the chain
the learner has, whatever its revision ids, with the revision messages and code from the lesson
file:

- `applied_empty`: a new revision after the head, applied while its upgrade() was empty, then
  filled in with `upgrade`/`downgrade`. Out: `migtutor redo REV`.
- `edited_after_applied`: the head's upgrade()/downgrade() edited (each `replace` key becomes
  its value) after it was applied. Out: `migtutor redo REV`, or the file put back and a new
  revision written.
- `deleted_file`: the head's file, which the database is at, taken out of the versions folder.
  Out: restore it, or `migtutor stamp --purge REV`.
- `two_heads`: a new revision that follows the head's parent, as a teammate's revision pulled
  from version control does. Out: `migtutor merge`.
- `untracked_tables`: a new revision after the head whose upgrade() ran while the database
  stayed recorded at the old head, as `Base.metadata.create_all()` leaves one: its tables exist
  and `upgrade head` fails with "already exists". Out: `migtutor stamp`.

Every scenario starts from a sound state (one head, the database at it, no revision edited
since it was applied), so it never stacks on the mess of the step before. `prepare` checks that
and says what it will change; `Setup.run()` does it and says what it did. A file it edits or
takes away is first copied to `.migtutor/originals/N/` (nothing is lost). `mark_set_up` and
`was_set_up` remember which step was set up, so its check can say when the setup was skipped.

This module prints nothing.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migtutor.atomic import write_atomic
from migtutor.errors import MigtutorError
from migtutor.failure_advice import unknown_revision

if TYPE_CHECKING:
    from migtutor.migrate import Migrator, Revision
    from migtutor.settings import DatabaseSettings

SETUP_FILE = Path(".migtutor") / "setup.json"
ORIGINALS = Path(".migtutor") / "originals"


@dataclass
class Setup:
    """A scenario ready to run: `changes` says what it will do, in words."""

    scenario: str
    changes: list[str]
    action: Callable[[], list[str]] = field(repr=False)

    def run(self) -> list[str]:
        """Do it; what was done, in words."""
        return self.action()


def prepare(
    setup: dict[str, Any], workspace: Path, database: DatabaseSettings, rev_id: str | None = None
) -> Setup:
    """The scenario of a step's setup on this workspace, or a MigtutorError saying why not yet.

    `rev_id` fixes the id of the revision the scenario writes (Alembic makes a random one
    otherwise), so a narrated run prints the same ids every time."""
    from migtutor.migrate import Migrator

    with Migrator(workspace, database) as migrator:
        head = _sound_head(migrator)
    scenario = setup["scenario"]
    build = _SCENARIOS[scenario]
    changes, action = build(setup, workspace, database, head, rev_id)
    return Setup(scenario, changes, action)


def _sound_head(migrator: Migrator) -> Revision:
    """The one head the database is at, when nothing is wrong yet."""
    revisions = migrator.revisions()
    heads = [r for r in revisions if r.is_head]
    current = migrator.current_heads()
    unknown = [c for c in current if c not in {r.revision for r in revisions}]
    if unknown:
        raise MigtutorError(_not_sound(unknown_revision(unknown)))
    if not heads:
        raise MigtutorError(
            _not_sound(
                "There is no revision yet to practise on: `migtutor reset --to lesson:N` builds "
                "the chain a lesson starts from."
            )
        )
    if len(heads) != 1:
        raise MigtutorError(
            _not_sound(f"The chain has {len(heads)} newest revisions (heads), not one.")
        )
    if current != [heads[0].revision]:
        where = ", ".join(current) or "base (no revision applied)"
        raise MigtutorError(
            _not_sound(
                f"The database is at {where}, not at the newest revision {heads[0].revision}: "
                "run `migtutor upgrade head`."
            )
        )
    drift = migrator.applied_drift(current)
    if drift:
        raise MigtutorError(_not_sound(drift[0].message))
    return heads[0]


def _not_sound(problem: str) -> str:
    return (
        "The setup starts from a sound workspace (one newest revision, the database at it, "
        f"no applied revision edited since), and nothing was changed. {problem} "
        "`migtutor lesson check` says how to get out of the state you are in."
    )


# -- the scenarios -------------------------------------------------------------------------------

Built = tuple[list[str], Callable[[], list[str]]]


def _applied_empty(
    setup: dict[str, Any],
    workspace: Path,
    database: DatabaseSettings,
    head: Revision,
    rev_id: str | None,
) -> Built:
    message = setup["message"]
    changes = [
        f'write a new revision "{message}" after {head.revision}, its upgrade() and '
        "downgrade() still empty (pass)",
        "apply it as it is: `upgrade head` records it as applied, and changes nothing",
        "then fill in its upgrade() and downgrade(), as if you had written them afterwards",
    ]

    def run() -> list[str]:
        from migtutor.migrate import Migrator

        with Migrator(workspace, database) as migrator:
            made = migrator.revision(message, rev_id=rev_id)
            migrator.upgrade("head")
        path = Path(made.path)
        _write_functions(path, setup["upgrade"], setup["downgrade"])
        return [
            f"Wrote {_shown(path, workspace)} (revision {made.revision}) and applied it while "
            "its upgrade() was empty: the database is at it.",
            "Then filled in its upgrade() and downgrade(); they never ran here.",
        ]

    return changes, run


def _edited_after_applied(
    setup: dict[str, Any],
    workspace: Path,
    database: DatabaseSettings,
    head: Revision,
    rev_id: str | None,
) -> Built:
    path = Path(head.path)
    text = path.read_text(encoding="utf-8")
    start = _functions_start(path, text)
    replace: dict[str, str] = setup["replace"]
    missing = [old for old in replace if old not in text[start:]]
    if missing:
        raise MigtutorError(
            f"The setup edits the newest revision, {path.name}, and its upgrade() and "
            f"downgrade() do not say {', '.join(repr(m) for m in missing)}: it is meant for "
            "the revision an earlier step of this lesson made. Nothing was changed. Go back "
            "to that step (`migtutor lesson goto N`), or read this step and practise on your "
            "own revision."
        )
    keep = _originals_folder(workspace)
    edits = ", ".join(f"{old!r} -> {new!r}" for old, new in replace.items())
    changes = [
        f"edit {_shown(path, workspace)} (revision {head.revision}, applied to the database): "
        f"in its upgrade() and downgrade(), {edits}",
        f"a copy of the file as it is now goes to {_shown(keep, workspace)}/",
    ]

    def run() -> list[str]:
        _keep(path, keep)
        edited = text[start:]
        for old, new in replace.items():
            edited = edited.replace(old, new)
        path.write_text(text[:start] + edited, encoding="utf-8")
        return [
            f"Edited {_shown(path, workspace)} after it was applied ({edits}); the file as it "
            f"was is in {_shown(keep / path.name, workspace)}."
        ]

    return changes, run


def _deleted_file(
    setup: dict[str, Any],
    workspace: Path,
    database: DatabaseSettings,
    head: Revision,
    rev_id: str | None,
) -> Built:
    path = Path(head.path)
    keep = _originals_folder(workspace)
    changes = [
        f"delete {_shown(path, workspace)} (revision {head.revision}, the one the database is "
        f"at); the file goes to {_shown(keep, workspace)}/, as version control would keep it",
    ]

    def run() -> list[str]:
        keep.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), keep / path.name)
        return [
            f"Deleted {_shown(path, workspace)}: the database is at {head.revision}, which no "
            f"file defines now. The file is in {_shown(keep / path.name, workspace)}."
        ]

    return changes, run


def _two_heads(
    setup: dict[str, Any],
    workspace: Path,
    database: DatabaseSettings,
    head: Revision,
    rev_id: str | None,
) -> Built:
    message = setup["message"]
    parent = head.down_revisions[0] if head.down_revisions else "base"
    changes = [
        f'write a new revision "{message}" that follows {parent}, as your {head.revision} '
        "does: a teammate's revision, pulled from version control after you wrote yours "
        "(it is not applied)",
    ]

    def run() -> list[str]:
        from migtutor.migrate import Migrator

        with Migrator(workspace, database) as migrator:
            made = migrator.revision(message, rev_id=rev_id, head=parent, splice=True)
        path = Path(made.path)
        _write_functions(path, setup["upgrade"], setup["downgrade"])
        return [
            f"Wrote {_shown(path, workspace)} (revision {made.revision}), which follows "
            f"{parent}: the chain has two newest revisions now, {head.revision} and "
            f"{made.revision}."
        ]

    return changes, run


def _untracked_tables(
    setup: dict[str, Any],
    workspace: Path,
    database: DatabaseSettings,
    head: Revision,
    rev_id: str | None,
) -> Built:
    message = setup["message"]
    changes = [
        f'write a new revision "{message}" after {head.revision}',
        "run its upgrade() on the database, then record the database at "
        f"{head.revision} again (`stamp`): what it made exists, but the chain says it was "
        "never made, as after Base.metadata.create_all()",
    ]

    def run() -> list[str]:
        from migtutor.migrate import Migrator

        with Migrator(workspace, database) as migrator:
            made = migrator.revision(message, rev_id=rev_id)
        path = Path(made.path)
        _write_functions(path, setup["upgrade"], setup["downgrade"])
        with Migrator(workspace, database) as migrator:  # reads the file as it is now
            migrator.upgrade("head")
            migrator.stamp(head.revision)
        return [
            f"Wrote {_shown(path, workspace)} (revision {made.revision}) and ran its "
            f"upgrade() outside the chain: the database is recorded at {head.revision}, "
            "without it."
        ]

    return changes, run


_SCENARIOS: dict[
    str, Callable[[dict[str, Any], Path, DatabaseSettings, Revision, str | None], Built]
] = {
    "applied_empty": _applied_empty,
    "edited_after_applied": _edited_after_applied,
    "deleted_file": _deleted_file,
    "two_heads": _two_heads,
    "untracked_tables": _untracked_tables,
}


# -- files ---------------------------------------------------------------------------------------


def _functions_start(path: Path, text: str) -> int:
    start = text.find("\ndef upgrade(")
    if start < 0:
        raise MigtutorError(f"{path.name} has no upgrade() function for the setup to work on.")
    return start + 1


def _write_functions(path: Path, upgrade: str, downgrade: str) -> None:
    """Replace a new revision file's upgrade() and downgrade() with these bodies."""
    import textwrap

    text = path.read_text(encoding="utf-8")
    start = _functions_start(path, text)
    body = "\n\n\n".join(
        f"def {name}() -> None:\n{textwrap.indent(textwrap.dedent(code).strip(), '    ')}"
        for name, code in (("upgrade", upgrade), ("downgrade", downgrade))
    )
    path.write_text(text[:start] + body + "\n", encoding="utf-8")


def _originals_folder(workspace: Path) -> Path:
    """The first unused `.migtutor/originals/N`: one folder per setup, nothing overwritten."""
    number = 1
    while (workspace / ORIGINALS / str(number)).exists():
        number += 1
    return workspace / ORIGINALS / str(number)


def _keep(path: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, folder / path.name)


def _shown(path: Path, workspace: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(workspace.resolve()))
    return str(path)


# -- which step was set up -----------------------------------------------------------------------


def mark_set_up(workspace: Path, lesson: int, step: int) -> None:
    write_atomic(workspace / SETUP_FILE, json.dumps({"lesson": lesson, "step": step}) + "\n")


def was_set_up(workspace: Path, lesson: int, step: int) -> bool:
    try:
        data = json.loads((workspace / SETUP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and data == {"lesson": lesson, "step": step}
