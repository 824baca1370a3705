"""`migtutor demo`: the whole course, end to end, as a learner would do it.

For each lesson the demo narrates the goal, shows the command, runs it in a workspace (a
temporary one unless `-w DIR`), writes the reference revision's `upgrade()`/`downgrade()` into
the new file as a learner would, applies it, and shows the revision chain and the schema after
it. It finishes with `downgrade base` and `upgrade` back to the target.

`run_demo` is a generator of `Event`s: it does the work one step at a time and the CLI renders
each event (and may pause between them). Nothing printed depends on the time or on random ids:
revisions get the reference ids through `--rev-id`, and temporary paths are never shown; the
CLI adds one clearly labelled run time at the end.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migtutor.errors import MigtutorError
from migtutor.reset import REFERENCE_IDS, Target, reference_file
from migtutor.settings import DatabaseSettings

COURSE_MODELS = Path(__file__).resolve().parent / "models.py"


@dataclass
class Event:
    """One thing to show: `kind` says how, the other fields carry the data."""

    kind: str  # lesson | say | command | code | outcome | chain | schema | pause
    text: str = ""
    data: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class LessonPlan:
    number: int
    revision: str
    message: str
    title: str
    goal: str
    autogenerate: bool = False


def lesson_plans() -> list[LessonPlan]:
    """The course's lessons, titled from lessons/*.toml when they load, else from the scripts."""
    titles: dict[int, tuple[str, str]] = {}
    try:
        from migtutor.lessons import load_lessons

        titles = {lesson.number: (lesson.title, lesson.goal.strip()) for lesson in load_lessons()}
    except Exception:  # lessons are optional here: the reference scripts are enough to narrate
        titles = {}
    plans = []
    for number, revision in enumerate(REFERENCE_IDS, start=1):
        message = _docstring(reference_file(revision)).splitlines()[0].strip()
        title, goal = titles.get(number, (message.capitalize(), ""))
        plans.append(
            LessonPlan(number, revision, message, title, goal, autogenerate=revision == "l5_votes")
        )
    return plans


def _docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def functions_source(path: Path, names: tuple[str, ...] = ("upgrade", "downgrade")) -> str:
    """The source of the named top-level functions of a module, comments inside included."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    parts = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in names:
            parts.append("\n".join(lines[node.lineno - 1 : node.end_lineno]))
    return "\n\n\n".join(parts) + "\n"


def write_functions(revision_file: Path, source: str) -> None:
    """Replace upgrade() and downgrade() in a new revision file with `source`."""
    text = revision_file.read_text(encoding="utf-8")
    start = text.find("\ndef upgrade()")
    if start < 0:
        raise MigtutorError(f"{revision_file} has no upgrade() function to fill in.")
    revision_file.write_text(text[: start + 1] + source, encoding="utf-8")


def check_workspace(directory: Path) -> None:
    if (directory / "alembic.ini").exists() or (
        directory.is_dir() and any(p for p in directory.iterdir() if p.name != ".DS_Store")
    ):
        raise MigtutorError(
            f"The demo lays out a fresh workspace, and {directory} is not empty. Give -w an empty "
            "or new directory, or leave -w out to use a temporary one."
        )


def check_database(database: DatabaseSettings) -> None:
    from migtutor.reset import preview

    found = preview(database)
    if found.removed:
        names = ", ".join(t.name for t in found.removed)
        raise MigtutorError(
            f"The demo needs a database without the course's tables, and this one has {names}. "
            "Point -d at an empty database, or empty this one first with "
            "`migtutor -d URL reset --to base --yes`."
        )


def run_demo(workspace: Path, database: DatabaseSettings, target: Target) -> Iterator[Event]:
    """Run the course in `workspace` (which must be empty) up to `target`, step by step."""
    from migtutor.migrate import Migrator
    from migtutor.workspace import init_workspace

    init_workspace(workspace)
    yield Event("say", "A fresh workspace, as `migtutor init` lays it out:")
    yield Event("command", "migtutor init")
    yield Event(
        "say", "alembic.ini, migrations/env.py, migrations/versions/ (empty), app/models.py"
    )

    def migrator() -> Migrator:
        return Migrator(workspace, database)

    plans = [p for p in lesson_plans() if p.revision in target.revisions]
    for plan in plans:
        yield Event("lesson", plan.title, plan, {"total": len(REFERENCE_IDS)})
        if plan.goal:
            yield Event("say", plan.goal, extra={"markdown": True})
        if plan.autogenerate:
            shutil.copy(COURSE_MODELS, workspace / "app" / "models.py")
            yield Event("say", "First the model: a Vote class added to app/models.py.")
            yield Event("code", functions_source(COURSE_MODELS, ("Vote",)))
            command = f'migtutor revision --autogenerate -m "{plan.message}"'
        else:
            command = f'migtutor revision -m "{plan.message}"'
        yield Event("command", command, extra={"rev_id": plan.revision})
        with migrator() as m:
            created = m.revision(plan.message, rev_id=plan.revision, autogenerate=plan.autogenerate)
        reference = functions_source(reference_file(plan.revision))
        write_functions(Path(created.path), reference)
        yield Event(
            "say",
            f"It wrote migrations/versions/{Path(created.path).name} (down_revision: "
            f"{created.down_revision or 'None, the first one'}). "
            + (
                "Autogenerate compared the models with the database; reviewed, the functions read:"
                if plan.autogenerate
                else "Filled in, its two functions read:"
            ),
        )
        yield Event("code", reference)
        yield Event("command", "migtutor upgrade head")
        with migrator() as m:
            outcome = m.upgrade("head")
            heads = m.head_ids()
        yield Event("outcome", "upgrade", outcome, {"heads": heads})
        yield from _chain_and_schema(migrator)
        yield Event("pause")

    if not plans:
        yield Event("say", "The target is the empty schema: there is no lesson to run.")
        return
    yield Event("lesson", "Down to base and back up", None, {"total": len(REFERENCE_IDS)})
    yield Event(
        "say",
        "Every revision can be undone: downgrade() runs newest first until the schema is empty, "
        "then upgrade() builds it again.",
    )
    for verb, where in (("downgrade", "base"), ("upgrade", "head")):
        yield Event("command", f"migtutor {verb} {where}")
        with migrator() as m:
            outcome = m.downgrade(where) if verb == "downgrade" else m.upgrade(where)
            heads = m.head_ids()
        yield Event("outcome", verb, outcome, {"heads": heads})
    yield from _chain_and_schema(migrator)


def _chain_and_schema(migrator: Any) -> Iterator[Event]:
    yield Event("command", "migtutor history")
    with migrator() as m:
        current = m.current_heads()
        revisions = m.revisions(current=current)
    yield Event("chain", data=revisions)
    yield Event("command", "migtutor schema")
    with migrator() as m:
        yield Event("schema", data=read_schema(m.connection))


def read_schema(connection: Any) -> Any:
    """The schema snapshot from migtutor.schema, or a plain {table: [columns]} without it."""
    try:
        from migtutor import schema

        return schema.snapshot(connection)
    except ImportError:
        import sqlalchemy as sa

        inspector = sa.inspect(connection)
        return {
            table: [
                f"{c['name']} {c['type']}{'' if c['nullable'] else ' NOT NULL'}"
                for c in inspector.get_columns(table)
            ]
            for table in sorted(inspector.get_table_names())
        }
