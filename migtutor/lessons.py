"""The course engine: lesson files, checks of a learner's work, and progress.

Lessons are data (`lessons/NN-slug.toml` at the repository root, read with `tomllib`); this
module loads and validates them, evaluates a step's `check` table against the learner's database
and revision scripts, and stores progress in `.migtutor/progress.json` in the workspace.

Public API (used by `migtutor lesson ...` and the demo):

- `lessons_dir() -> Path`: where the lesson files live (MIGTUTOR_LESSONS_DIR overrides).
- `load_lessons(directory=None) -> list[Lesson]`: every lesson, in order, validated; a malformed
  file raises `LessonFileError` naming the file and the key.
- `lint(directory=None) -> list[str]`: every problem of every lesson file ([] when all good).
- `evaluate(step, workspace, database) -> CheckResult`: run a step's expectations.
- `load_progress(workspace, lessons) -> (Progress, note)`, `save_progress(workspace, progress)`.

Importing this module imports neither SQLAlchemy nor Alembic; only `evaluate` does.

A step's `check` table may hold these expectations (all optional):

    revision_message = "create posts table"   # a revision with this message exists
    head_count = 1                            # number of heads in the scripts
    at_head = true                            # the database is at the newest revision
    at_base = true                            # no revision applied (alembic_version empty)
    current_message = "create posts table"    # the database is at the revision with this message
    tables = ["posts"]                        # tables that exist
    absent_tables = ["votes"]                 # tables that must not exist
    columns = ["posts.id", {name = "posts.title", type = "string", nullable = false}]
    absent_columns = ["posts.content"]
    primary_key = {votes = ["user_id", "post_id"]}
    unique = {users = ["email"]}
    foreign_keys = ["posts.owner_id -> users.id", {from = "...", to = "...", on_delete = "..."}]
    roundtrip = true                          # newest revision (or the one with
                                              # revision_message) run up, down, up on a scratch DB
    scratch = true                            # schema expectations are checked on the scratch
                                              # copy with the revision applied, not the database
    drops_nothing = true                      # the revision's upgrade() drops no table or column
    pending_tables = ["votes"]                # autogenerate sees these new tables in the models
    models_match = true                       # `migtutor check` finds no difference

Column `type` is a family: integer, string, timestamp, boolean, numeric, date. `default = "now"`
matches now() and CURRENT_TIMESTAMP; any other default is matched as text. `timezone = true` is
checked on PostgreSQL only (SQLite has no time zones).
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shutil
import tempfile
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migtutor.atomic import write_atomic
from migtutor.errors import MigtutorError

if TYPE_CHECKING:
    from migtutor.migrate import Migrator, Revision
    from migtutor.settings import DatabaseSettings

PROGRESS_FILE = Path(".migtutor") / "progress.json"
TYPE_FAMILIES = ("integer", "string", "timestamp", "boolean", "numeric", "date")
_FILE_NAME = re.compile(r"^(\d{2})-([a-z0-9-]+)\.toml$")
_FK = re.compile(r"^\s*(\w+)\.(\w+)\s*->\s*(\w+)\.(\w+)\s*$")
_DOTTED = re.compile(r"^\w+\.\w+$")

# -- lesson files ------------------------------------------------------------------------------


class LessonFileError(MigtutorError):
    """A lesson file that cannot be used; the message names the file and the key."""


@dataclass
class Mistake:
    error: str
    explain: str


@dataclass
class Step:
    number: int
    text: str
    check: dict[str, Any]
    hint: str
    command: str = ""
    code: str = ""
    solution: str = ""
    mistakes: list[Mistake] = field(default_factory=list)


@dataclass
class Lesson:
    number: int
    slug: str
    title: str
    goal: str
    steps: list[Step]
    path: Path


def lessons_dir() -> Path:
    """The lessons/ directory: beside the package in a source checkout, or MIGTUTOR_LESSONS_DIR."""
    override = os.environ.get("MIGTUTOR_LESSONS_DIR")
    directory = Path(override) if override else Path(__file__).resolve().parent.parent / "lessons"
    if not directory.is_dir():
        raise MigtutorError(
            f"The lessons directory {directory} is missing. migtutor reads its lessons from the "
            "lessons/ folder of its source checkout: install it with `pip install -e .` from "
            "the repository, or set MIGTUTOR_LESSONS_DIR to a folder of lesson files."
        )
    return directory


def repo_root() -> Path:
    """The source checkout holding lessons/ and the reference migrations/."""
    return Path(__file__).resolve().parent.parent


def load_lessons(directory: Path | None = None) -> list[Lesson]:
    """All lessons in order; raises LessonFileError for the first malformed file."""
    directory = directory or lessons_dir()
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise MigtutorError(f"No lesson files (NN-name.toml) in {directory}.")
    lessons = [load_lesson(path) for path in files]
    for expected, lesson in enumerate(lessons, start=1):
        if lesson.number != expected:
            raise LessonFileError(
                f"{lesson.path.name}: lessons must be numbered 01, 02, ... without gaps; "
                f"expected {expected:02d} here."
            )
    return lessons


def lint(directory: Path | None = None) -> list[str]:
    """Every problem in every lesson file; [] when all of them are valid."""
    directory = directory or lessons_dir()
    problems: list[str] = []
    files = sorted(directory.glob("*.toml"))
    if not files:
        return [f"No lesson files (NN-name.toml) in {directory}."]
    for expected, path in enumerate(files, start=1):
        try:
            lesson = load_lesson(path)
        except LessonFileError as exc:
            problems.append(exc.message)
            continue
        if lesson.number != expected:
            problems.append(f"{path.name}: expected number {expected:02d} (no gaps allowed).")
        for step in lesson.steps:
            if step.solution and not (repo_root() / step.solution).is_file():
                problems.append(
                    f"{path.name}: steps[{step.number - 1}].solution: no file {step.solution}."
                )
    return problems


def load_lesson(path: Path) -> Lesson:
    """One lesson file, validated: errors say which file and which key is wrong."""
    name = path.name
    match = _FILE_NAME.match(name)
    if not match:
        raise LessonFileError(f"{name}: a lesson file is named NN-name.toml, e.g. 01-posts.toml.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise LessonFileError(f"{name}: not valid TOML: {exc}.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise LessonFileError(f"{name}: cannot be read: {exc}.") from exc
    _known_keys(name, "", data, {"title", "goal", "steps"})
    title = _required_str(name, "title", data)
    goal = _required_str(name, "goal", data)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise LessonFileError(f"{name}: steps: expected at least one [[steps]] table.")
    steps = [_load_step(name, index, raw) for index, raw in enumerate(raw_steps)]
    return Lesson(int(match.group(1)), match.group(2), title, goal, steps, path)


_STEP_KEYS = {"text", "command", "code", "check", "hint", "mistakes", "solution"}
_CHECK_TYPES: dict[str, type | tuple[type, ...]] = {
    "revision_message": str,
    "head_count": int,
    "at_head": bool,
    "at_base": bool,
    "current_message": str,
    "tables": list,
    "absent_tables": list,
    "columns": list,
    "absent_columns": list,
    "primary_key": dict,
    "unique": dict,
    "foreign_keys": list,
    "roundtrip": bool,
    "scratch": bool,
    "drops_nothing": bool,
    "pending_tables": list,
    "models_match": bool,
}
_COLUMN_KEYS = {"name", "type", "nullable", "default", "timezone"}


def _load_step(name: str, index: int, raw: Any) -> Step:
    where = f"steps[{index}]"
    if not isinstance(raw, dict):
        raise LessonFileError(f"{name}: {where}: expected a table ([[steps]]).")
    _known_keys(name, where + ".", raw, _STEP_KEYS)
    text = _required_str(name, f"{where}.text", raw, "text")
    hint = _required_str(name, f"{where}.hint", raw, "hint")
    optional = {}
    for key in ("command", "code", "solution"):
        value = raw.get(key, "")
        if not isinstance(value, str):
            raise LessonFileError(f"{name}: {where}.{key}: expected a string.")
        optional[key] = value
    check = raw.get("check")
    if not isinstance(check, dict):
        raise LessonFileError(f"{name}: {where}.check: expected a table of expectations.")
    _validate_check(name, f"{where}.check", check)
    mistakes = []
    raw_mistakes = raw.get("mistakes", [])
    if not isinstance(raw_mistakes, list):
        raise LessonFileError(f"{name}: {where}.mistakes: expected a list of tables.")
    for number, item in enumerate(raw_mistakes):
        key = f"{where}.mistakes[{number}]"
        if not isinstance(item, dict):
            raise LessonFileError(
                f"{name}: {key}: expected a table {{error = ..., explain = ...}}."
            )
        _known_keys(name, key + ".", item, {"error", "explain"})
        mistakes.append(
            Mistake(
                _required_str(name, f"{key}.error", item, "error"),
                _required_str(name, f"{key}.explain", item, "explain"),
            )
        )
    return Step(
        number=index + 1,
        text=text,
        check=check,
        hint=hint,
        mistakes=mistakes,
        **optional,
    )


def _validate_check(name: str, where: str, check: dict[str, Any]) -> None:
    _known_keys(name, where + ".", check, set(_CHECK_TYPES))
    for key, value in check.items():
        expected = _CHECK_TYPES[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            kind = {str: "a string", int: "a number", bool: "true or false", list: "a list"}.get(
                expected,  # type: ignore[arg-type]
                "a table",
            )
            raise LessonFileError(f"{name}: {where}.{key}: expected {kind}, not {value!r}.")
    for key in ("tables", "absent_tables", "pending_tables"):
        for item in check.get(key, []):
            if not isinstance(item, str) or not item.isidentifier():
                raise LessonFileError(f"{name}: {where}.{key}: {item!r} is not a table name.")
    for item in check.get("absent_columns", []):
        if not isinstance(item, str) or not _DOTTED.match(item):
            raise LessonFileError(f"{name}: {where}.absent_columns: {item!r} is not TABLE.COLUMN.")
    for number, item in enumerate(check.get("columns", [])):
        key = f"{where}.columns[{number}]"
        spec = {"name": item} if isinstance(item, str) else item
        if not isinstance(spec, dict):
            raise LessonFileError(f"{name}: {key}: expected TABLE.COLUMN or a table.")
        _known_keys(name, key + ".", spec, _COLUMN_KEYS)
        if not isinstance(spec.get("name"), str) or not _DOTTED.match(spec["name"]):
            raise LessonFileError(f"{name}: {key}.name: expected TABLE.COLUMN.")
        if "type" in spec and spec["type"] not in TYPE_FAMILIES:
            raise LessonFileError(
                f"{name}: {key}.type: expected one of {', '.join(TYPE_FAMILIES)}, "
                f"not {spec['type']!r}."
            )
        for flag in ("nullable", "timezone"):
            if flag in spec and not isinstance(spec[flag], bool):
                raise LessonFileError(f"{name}: {key}.{flag}: expected true or false.")
        if "default" in spec and not isinstance(spec["default"], str):
            raise LessonFileError(f"{name}: {key}.default: expected a string.")
    for key in ("primary_key", "unique"):
        for table, columns in check.get(key, {}).items():
            if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
                raise LessonFileError(
                    f"{name}: {where}.{key}.{table}: expected a list of column names."
                )
    for number, item in enumerate(check.get("foreign_keys", [])):
        try:
            parse_foreign_key(item)
        except ValueError as exc:
            raise LessonFileError(f"{name}: {where}.foreign_keys[{number}]: {exc}") from None


def parse_foreign_key(item: Any) -> tuple[str, str, str, str, str | None]:
    """'posts.owner_id -> users.id' or {from, to, on_delete} -> (table, col, ref, refcol, ondel)."""
    if isinstance(item, str):
        text, on_delete = item, None
    elif isinstance(item, dict) and set(item) <= {"from", "to", "on_delete"}:
        text = f"{item.get('from', '')} -> {item.get('to', '')}"
        on_delete = item.get("on_delete")
        if on_delete is not None and not isinstance(on_delete, str):
            raise ValueError("on_delete: expected a string such as CASCADE.")
    else:
        raise ValueError('expected "TABLE.COLUMN -> TABLE.COLUMN" or {from, to, on_delete}.')
    match = _FK.match(text)
    if not match:
        raise ValueError(f"{text!r} is not of the form TABLE.COLUMN -> TABLE.COLUMN.")
    table, column, ref_table, ref_column = match.groups()
    return table, column, ref_table, ref_column, on_delete


def _known_keys(name: str, prefix: str, data: dict[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise LessonFileError(
                f"{name}: {prefix}{key}: unknown key "
                f"(expected one of {', '.join(sorted(allowed))})."
            )


def _required_str(name: str, where: str, data: dict[str, Any], key: str | None = None) -> str:
    value = data.get(key or where)
    if not isinstance(value, str) or not value.strip():
        raise LessonFileError(f"{name}: {where}: required, a non-empty string.")
    return value


# -- progress ----------------------------------------------------------------------------------


@dataclass
class Progress:
    """Where the learner is: `lesson` (1-based), `step` (0-based index; len(steps) = finished)."""

    lesson: int = 1
    step: int = 0
    completed: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "lesson": self.lesson,
            "step": self.step,
            "completed": sorted(set(self.completed)),
        }

    def status(self, lesson: Lesson) -> str:
        if lesson.number == self.lesson and self.step < len(lesson.steps):
            return "current"
        if lesson.number in self.completed:
            return "done"
        return "current" if lesson.number == self.lesson else "todo"

    def steps_done(self, lesson: Lesson) -> int:
        if lesson.number == self.lesson:
            return min(self.step, len(lesson.steps))
        return len(lesson.steps) if lesson.number in self.completed else 0

    def finished(self, lessons: list[Lesson]) -> bool:
        return all(lesson.number in self.completed for lesson in lessons)


def progress_path(workspace: Path) -> Path:
    return workspace / PROGRESS_FILE


def load_progress(workspace: Path, lessons: list[Lesson]) -> tuple[Progress, str | None]:
    """The saved progress, or a fresh start with a note saying why (missing / unreadable)."""
    path = progress_path(workspace)
    if not path.exists():
        return Progress(), None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        progress = Progress(
            lesson=int(data["lesson"]),
            step=int(data["step"]),
            completed=[int(n) for n in data.get("completed", [])],
        )
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        backup = path.with_name(path.name + ".broken")
        with contextlib.suppress(OSError):
            path.replace(backup)
        return Progress(), (
            f"Your progress file {path} could not be read ({type(exc).__name__}); it was moved to "
            f"{backup.name} and you start again at lesson 1. `migtutor lesson goto N` jumps to "
            "the lesson you were on."
        )
    numbers = {lesson.number: lesson for lesson in lessons}
    note = None
    if progress.lesson not in numbers or not 0 <= progress.step <= len(
        numbers[progress.lesson].steps
    ):
        note = (
            f"Your progress file pointed at lesson {progress.lesson}, step {progress.step + 1}, "
            "which does not exist: starting that lesson over."
        )
        progress.lesson = progress.lesson if progress.lesson in numbers else 1
        progress.step = 0
    progress.completed = [n for n in progress.completed if n in numbers]
    return progress, note


def save_progress(workspace: Path, progress: Progress) -> None:
    path = progress_path(workspace)
    try:
        write_atomic(path, json.dumps(progress.to_json(), indent=2) + "\n")
    except OSError as exc:
        raise MigtutorError(
            f"Cannot save your progress to {path}: {exc.strerror}. Check that the workspace is "
            "writable."
        ) from exc


def advance(progress: Progress, lessons: list[Lesson]) -> None:
    """Record the current step as done; move to the next step or the next lesson."""
    lesson = lessons[progress.lesson - 1]
    progress.step += 1
    if progress.step >= len(lesson.steps):
        if lesson.number not in progress.completed:
            progress.completed.append(lesson.number)
        if lesson.number < len(lessons):
            progress.lesson, progress.step = lesson.number + 1, 0
        else:
            progress.step = len(lesson.steps)


# -- checks ------------------------------------------------------------------------------------


@dataclass
class CheckResult:
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class ColumnInfo:
    family: str
    type_name: str
    nullable: bool
    default: str | None
    timezone: bool | None


@dataclass(frozen=True)
class TableInfo:
    columns: dict[str, ColumnInfo]
    primary_key: tuple[str, ...]
    uniques: tuple[tuple[str, ...], ...]
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...], str | None], ...]

    def key(self) -> Any:
        """What a roundtrip compares (constraint names aside)."""
        return (
            tuple(sorted((n, c.family, c.nullable) for n, c in self.columns.items())),
            tuple(sorted(self.primary_key)),
            tuple(sorted(tuple(sorted(u)) for u in self.uniques)),
            tuple(sorted(self.foreign_keys, key=repr)),
        )


Schema = dict[str, TableInfo]


def evaluate(step: Step, workspace: Path, database: DatabaseSettings) -> CheckResult:
    """Run `step.check` against the database and scripts; each unmet expectation in words."""
    from migtutor.migrate import Migrator

    check = step.check
    problems: list[str] = []
    with Migrator(workspace, database) as migrator:
        try:
            revisions = migrator.revisions()
        except MigtutorError as exc:
            return CheckResult(_explained([exc.message], step))
        heads = [r for r in revisions if r.is_head]
        target = _target_revision(check, revisions, heads, problems)
        if "head_count" in check and revisions and len(heads) != check["head_count"]:
            problems.append(_head_count_problem(check["head_count"], heads))
        needs_db = any(k in check for k in ("at_head", "at_base", "current_message"))
        if needs_db:
            problems += _position_problems(check, migrator, revisions, heads)
        scratch_schema: Schema | None = None
        if check.get("roundtrip") or check.get("scratch"):
            if target is None:
                if not revisions:
                    problems.append(
                        "There is no revision yet to try out. Create one with "
                        '`migtutor revision -m "..."`.'
                    )
            else:
                trip_problems, scratch_schema = roundtrip(
                    migrator, target, drops_nothing=bool(check.get("drops_nothing"))
                )
                problems += trip_problems
        if _has_schema_checks(check):
            if check.get("scratch"):
                if scratch_schema is not None:
                    where = f"After upgrade() of revision {_label(target)} (on a scratch copy)"
                    problems += schema_problems(
                        check, scratch_schema, where, "postgresql" in database.backend
                    )
            else:
                schema = snapshot(migrator.connection)
                migrator.connection.rollback()
                problems += schema_problems(
                    check, schema, "In your database", "postgresql" in database.backend
                )
        if "pending_tables" in check or check.get("models_match"):
            problems += _autogenerate_problems(check, migrator)
    return CheckResult(_explained(problems, step))


def _explained(problems: list[str], step: Step) -> list[str]:
    """Append the lesson's explanation to each problem that matches a known mistake."""
    out = []
    for problem in problems:
        for mistake in step.mistakes:
            if mistake.error.lower() in problem.lower():
                problem = f"{problem} {' '.join(mistake.explain.split())}"
                break
        out.append(problem)
    return out


def _label(rev: Revision | None) -> str:
    if rev is None:
        return "<base>"
    return f"{rev.revision} ({rev.message!r})" if rev.message else rev.revision


def _same_message(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())


def _target_revision(
    check: dict[str, Any], revisions: list[Revision], heads: list[Revision], problems: list[str]
) -> Revision | None:
    message = check.get("revision_message")
    if message is None:
        return heads[0] if len(heads) == 1 else (heads[0] if heads else None)
    found = [r for r in revisions if _same_message(r.message, message)]
    if found:
        return found[0]
    mine = ", ".join(repr(r.message) for r in revisions) or "none yet"
    problems.append(
        f'No revision has the message "{message}" (your revisions: {mine}). Create it with '
        f'`migtutor revision -m "{message}"`.'
    )
    return None


def _head_count_problem(expected: int, heads: list[Revision]) -> str:
    if not heads:
        return "There are no revisions yet, so there is no head."
    names = ", ".join(_label(h) for h in heads)
    if len(heads) > 1:
        return (
            f"There are {len(heads)} heads ({names}), expected {expected}: two revisions have "
            "the same down_revision, so the chain has forked. Set the newer revision's "
            "down_revision to the other one's id (or delete the extra file)."
        )
    return f"There is {len(heads)} head ({names}), expected {expected}."


def _position_problems(
    check: dict[str, Any], migrator: Migrator, revisions: list[Revision], heads: list[Revision]
) -> list[str]:
    current_ids = migrator.current_heads()
    by_id = {r.revision: r for r in revisions}
    where = (
        ", ".join(_label(by_id.get(c)) if c in by_id else c for c in current_ids)
        if current_ids
        else "<base> (no revision applied yet: its alembic_version table is empty)"
    )
    problems = []
    head_ids = sorted(h.revision for h in heads)
    if check.get("at_head") and (not current_ids or sorted(current_ids) != head_ids):
        newest = ", ".join(_label(h) for h in heads) or "none"
        problems.append(
            f"The database is at {where}, but the newest revision is {newest}: it has not been "
            "upgraded. Run `migtutor upgrade head`."
        )
    if check.get("at_base") and current_ids:
        problems.append(
            f"The database is at {where}; this step expects no revision applied. Run "
            "`migtutor downgrade base`."
        )
    message = check.get("current_message")
    if message is not None:
        current_messages = [by_id[c].message for c in current_ids if c in by_id]
        if not any(_same_message(m, message) for m in current_messages):
            problems.append(
                f'The database is at {where}; this step expects it at the revision "{message}".'
            )
    return problems


def _has_schema_checks(check: dict[str, Any]) -> bool:
    keys = ("tables", "absent_tables", "columns", "absent_columns", "primary_key", "unique")
    return any(k in check for k in keys) or "foreign_keys" in check


# -- schema ------------------------------------------------------------------------------------


def type_family(sa_type: Any) -> str:
    import sqlalchemy as sa

    for family, kinds in (
        ("boolean", (sa.Boolean,)),
        ("integer", (sa.Integer,)),
        ("numeric", (sa.Numeric, sa.Float)),
        ("timestamp", (sa.DateTime,)),
        ("date", (sa.Date,)),
        ("string", (sa.String,)),
    ):
        if isinstance(sa_type, kinds):
            return family
    return str(sa_type).lower()


def snapshot(connection: Any) -> Schema:
    """The tables of a live database (alembic_version aside): columns, keys, constraints."""
    import sqlalchemy as sa

    inspector = sa.inspect(connection)
    schema: Schema = {}
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        columns = {}
        for col in inspector.get_columns(table):
            default = col.get("default")
            columns[col["name"]] = ColumnInfo(
                family=type_family(col["type"]),
                type_name=str(col["type"]),
                nullable=bool(col.get("nullable", True)),
                default=str(default) if default is not None else None,
                timezone=getattr(col["type"], "timezone", None),
            )
        pk = tuple(inspector.get_pk_constraint(table).get("constrained_columns") or ())
        uniques = [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)]
        uniques += [
            tuple(i["column_names"])
            for i in inspector.get_indexes(table)
            if i.get("unique") and None not in i["column_names"]
        ]
        fks = tuple(
            (
                tuple(fk["constrained_columns"]),
                fk["referred_table"],
                tuple(fk["referred_columns"]),
                ((fk.get("options") or {}).get("ondelete") or "").upper() or None,
            )
            for fk in inspector.get_foreign_keys(table)
        )
        schema[table] = TableInfo(columns, pk, tuple(sorted(set(uniques))), fks)
    return schema


def schema_problems(
    check: dict[str, Any], schema: Schema, where: str, postgres: bool = True
) -> list[str]:
    """Unmet table / column / key expectations in words; `where` starts each sentence."""
    problems: list[str] = []
    for table in check.get("tables", []):
        if table not in schema:
            problems.append(f"{where}, there is no table {table}.")
    for table in check.get("absent_tables", []):
        if table in schema:
            problems.append(f"{where}, the table {table} exists, but it should not at this step.")
    for item in check.get("columns", []):
        spec = {"name": item} if isinstance(item, str) else item
        table, column = spec["name"].split(".")
        if table not in schema:
            if table not in check.get("tables", []):
                problems.append(f"{where}, there is no table {table}.")
            continue
        info = schema[table].columns.get(column)
        if info is None:
            problems.append(f"{where}, table {table} has no column {column}.")
            continue
        problems += _column_problems(spec, info, where, postgres)
    for name in check.get("absent_columns", []):
        table, column = name.split(".")
        if table in schema and column in schema[table].columns:
            problems.append(
                f"{where}, table {table} still has the column {column}; it should be gone."
            )
    for table, columns in check.get("primary_key", {}).items():
        if table in schema and sorted(schema[table].primary_key) != sorted(columns):
            actual = ", ".join(schema[table].primary_key) or "none"
            problems.append(
                f"{where}, the primary key of {table} should be ({', '.join(columns)}), "
                f"but it is ({actual})."
            )
    for table, columns in check.get("unique", {}).items():
        if table in schema and tuple(sorted(columns)) not in {
            tuple(sorted(u)) for u in schema[table].uniques
        }:
            problems.append(
                f"{where}, nothing makes ({', '.join(columns)}) unique in {table}: add "
                f'sa.UniqueConstraint("{columns[0]}") (or unique=True on the column).'
            )
    for item in check.get("foreign_keys", []):
        table, column, ref_table, ref_column, on_delete = parse_foreign_key(item)
        if table not in schema:
            continue
        matches = [
            fk
            for fk in schema[table].foreign_keys
            if fk[0] == (column,) and fk[1] == ref_table and fk[2] == (ref_column,)
        ]
        arrow = f"{table}.{column} -> {ref_table}.{ref_column}"
        if not matches:
            problems.append(f"{where}, there is no foreign key {arrow}.")
        elif on_delete and not any((fk[3] or "") == on_delete.upper() for fk in matches):
            actual = matches[0][3] or "none (NO ACTION)"
            problems.append(
                f'{where}, the foreign key {arrow} should have ondelete="{on_delete.upper()}", '
                f"but its ON DELETE is {actual}."
            )
    return problems


def _column_problems(
    spec: dict[str, Any], info: ColumnInfo, where: str, postgres: bool
) -> list[str]:
    name = spec["name"]
    problems = []
    family = spec.get("type")
    if family and info.family != family:
        problems.append(
            f"{where}, column {name} should be of type {family}, but it is {info.type_name}."
        )
    if "nullable" in spec and info.nullable != spec["nullable"]:
        if spec["nullable"]:
            problems.append(f"{where}, column {name} is NOT NULL, but it should allow NULL.")
        else:
            problems.append(
                f"{where}, column {name} allows NULL; it should be NOT NULL (nullable=False)."
            )
    if postgres and spec.get("timezone") is not None and info.timezone != spec["timezone"]:
        wanted = "WITH" if spec["timezone"] else "WITHOUT"
        problems.append(
            f"{where}, column {name} should be a TIMESTAMP {wanted} TIME ZONE "
            f"(sa.TIMESTAMP(timezone={spec['timezone']})), but it is {info.type_name}."
        )
    wanted_default = spec.get("default")
    if wanted_default is not None:
        actual = (info.default or "").lower()
        if wanted_default == "now":
            ok = "now()" in actual or "current_timestamp" in actual
            shown = "now()"
        else:
            ok = wanted_default.lower() in actual
            shown = wanted_default
        if not ok:
            problems.append(
                f"{where}, column {name} should have the server default {shown}, but it has "
                f"{info.default or 'none'}."
            )
        elif wanted_default == "now" and not postgres and "now()" in actual:
            problems.append(
                f"{where}, column {name} has the server default now(), which SQLite does not "
                "know: inserting a row would fail with 'unknown function: now()'. "
                'sa.text("now()") is PostgreSQL-only; use server_default=sa.func.now(), which '
                "becomes now() on PostgreSQL and CURRENT_TIMESTAMP on SQLite."
            )
    return problems


def describe_changes(before: Schema, after: Schema) -> list[str]:
    """What changed between two snapshots, in words (tables, columns, keys)."""
    changes = []
    for table in sorted(set(after) - set(before)):
        changes.append(f"table {table} was created")
    for table in sorted(set(before) - set(after)):
        changes.append(f"table {table} was dropped")
    for table in sorted(set(before) & set(after)):
        old, new = before[table], after[table]
        for column in sorted(set(new.columns) - set(old.columns)):
            changes.append(f"column {table}.{column} was added")
        for column in sorted(set(old.columns) - set(new.columns)):
            changes.append(f"column {table}.{column} was dropped")
        for column in sorted(set(old.columns) & set(new.columns)):
            a, b = old.columns[column], new.columns[column]
            if (a.family, a.nullable) != (b.family, b.nullable):
                changes.append(f"column {table}.{column} was altered")
        old_fks, new_fks = set(old.foreign_keys), set(new.foreign_keys)
        for fk in sorted(new_fks - old_fks, key=repr):
            changes.append(f"foreign key {table}.{', '.join(fk[0])} -> {fk[1]} was added")
        for fk in sorted(old_fks - new_fks, key=repr):
            changes.append(f"foreign key {table}.{', '.join(fk[0])} -> {fk[1]} was dropped")
        if sorted(old.primary_key) != sorted(new.primary_key):
            changes.append(f"the primary key of {table} changed")
        if {tuple(sorted(u)) for u in old.uniques} != {tuple(sorted(u)) for u in new.uniques}:
            changes.append(f"the unique constraints of {table} changed")
    return changes


def _same_schema(a: Schema, b: Schema) -> bool:
    return {t: i.key() for t, i in a.items()} == {t: i.key() for t, i in b.items()}


# -- roundtrip ---------------------------------------------------------------------------------


def static_problems(rev: Revision) -> list[str]:
    """What reading the revision file shows: missing or empty upgrade()/downgrade(), FK order."""
    label = f"Revision {_label(rev)} in {Path(rev.path).parent.name}/{Path(rev.path).name}"
    try:
        source = Path(rev.path).read_text(encoding="utf-8")
        tree = ast.parse(source, filename=rev.path)
    except SyntaxError as exc:
        return [f"{rev.path}, line {exc.lineno}: {exc.msg}. Fix the revision file."]
    except OSError as exc:
        return [f"Cannot read {rev.path}: {exc.strerror}."]
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name in ("upgrade", "downgrade")
    }
    autogenerated = "auto generated by Alembic" in source
    problems = []
    if "upgrade" not in functions:
        problems.append(f"{label} has no upgrade() function ({rev.path}).")
    elif _is_empty(functions["upgrade"]):
        text = f"{label}: upgrade() is empty (only `pass`), so it changes nothing."
        if autogenerated:
            text += (
                " Autogenerate wrote an empty revision because it found no difference between "
                "your models and the database: is the new model class defined in "
                "app/models.py (the module migrations/env.py imports), inheriting from Base? "
                "Delete this file, fix the model, and run the revision command again."
            )
        else:
            text += " Write the operations (op.create_table, op.add_column, ...) inside it."
        problems.append(text)
    if "downgrade" not in functions:
        problems.append(
            f"{label} has no downgrade() function: missing downgrade(). Every revision needs "
            "one that undoes upgrade(), or `migtutor downgrade` cannot go back past it."
        )
    elif _is_empty(functions["downgrade"]) and not (
        "upgrade" in functions and _is_empty(functions["upgrade"])
    ):
        problems.append(
            f"{label}: downgrade() is empty (only `pass`), so `migtutor downgrade` would not "
            "undo upgrade(). Write the reverse operations, in the reverse order."
        )
    if "downgrade" in functions:
        calls = [
            node.func.attr
            for node in ast.walk(functions["downgrade"])
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        ]
        ordered = [c for c in _calls_in_order(functions["downgrade"])]
        if "drop_column" in calls and "drop_constraint" in calls:
            first_column = ordered.index("drop_column")
            last_constraint = len(ordered) - 1 - ordered[::-1].index("drop_constraint")
            if last_constraint > first_column:
                problems.append(
                    f"{label}: downgrade() drops the column before its foreign key constraint "
                    "(the FK is dropped after its column). Drop the constraint first "
                    "(op.drop_constraint), then the column (op.drop_column): the reverse order "
                    "of upgrade(). On PostgreSQL dropping the column already removes the "
                    "constraint, so the later drop_constraint fails with 'does not exist'."
                )
    return problems


def _calls_in_order(function: ast.FunctionDef) -> list[str]:
    calls = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            calls.append((node.lineno, node.col_offset, node.func.attr))
    return [name for _, _, name in sorted(calls)]


def _is_empty(function: ast.FunctionDef) -> bool:
    for statement in function.body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # a docstring or `...`
        return False
    return True


def roundtrip(
    migrator: Migrator, rev: Revision, drops_nothing: bool = False
) -> tuple[list[str], Schema | None]:
    """Run `rev` up, down and up again on a scratch database; return problems and its schema."""
    from migtutor.migrate import Migrator
    from migtutor.settings import DatabaseSettings

    problems = static_problems(rev)
    if problems:
        return problems, None
    label = _label(rev)
    parent = rev.down_revisions[0] if len(rev.down_revisions) == 1 else None
    base_target = parent or "base"
    with scratch_database(migrator.database.url) as url:
        scratch = Migrator(migrator.workspace, DatabaseSettings(url, "scratch"), migrator.ini)
        with scratch:

            def run(verb: str, target: str, what: str) -> Schema | None:
                try:
                    getattr(scratch, verb)(target)
                except MigtutorError as exc:
                    problems.append(f"{what} failed on a scratch copy: {_cause(exc)}")
                    return None
                except Exception as exc:  # the learner's code may raise anything
                    problems.append(f"{what} failed on a scratch copy: {_cause(exc)}")
                    return None
                schema = snapshot(scratch.connection)
                scratch.connection.rollback()
                return schema

            before: Schema | None = {}
            if parent is not None:
                before = run("upgrade", parent, "Upgrading to the revision before yours")
            if before is None:
                return problems, None
            after = run("upgrade", rev.revision, f"upgrade() of revision {label}")
            if after is None:
                return problems, None
            changes = describe_changes(before, after)
            if not changes:
                problems.append(
                    f"upgrade() of revision {label} runs but changes no table, column or key."
                )
            drops = [c for c in changes if c.endswith("was dropped")]
            if drops_nothing and drops:
                problems.append(
                    f"upgrade() of revision {label} drops what it should keep: "
                    f"{'; '.join(drops)}. Autogenerate proposes drop_table when the models it "
                    "compares with do not include those tables: check that migrations/env.py "
                    "imports Base from app.models and sets target_metadata = Base.metadata."
                )
            down = run("downgrade", base_target, f"downgrade() of revision {label}")
            if down is None:
                return problems, after
            if not _same_schema(before, down):
                left = describe_changes(before, down) or ["the schema differs"]
                problems.append(
                    f"downgrade() of revision {label} does not undo upgrade(): after it, "
                    f"{'; '.join(left)} (compared with before the upgrade)."
                )
            again = run("upgrade", rev.revision, f"Upgrading {label} again after the downgrade")
            if again is not None and not _same_schema(after, again):
                problems.append(
                    f"Upgrading {label} again after its downgrade gives a different schema: "
                    f"{'; '.join(describe_changes(after, again))}."
                )
    return problems, after


def _cause(exc: BaseException) -> str:
    """The first line of the error the learner's code raised (not our wrapper's)."""
    root: BaseException = exc
    while root.__cause__ is not None:
        root = root.__cause__
    text = str(getattr(root, "orig", None) or root).strip()
    first = text.splitlines()[0] if text else type(root).__name__
    if isinstance(root, AttributeError | NameError | KeyError | TypeError):
        first = f"{type(root).__name__}: {first}"
    return first.rstrip(".") + "."


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A throwaway empty database beside the learner's: a temp SQLite file or a temp PG database.

    The learner's own database is never touched; the scratch one is removed afterwards.
    """
    if url.startswith("sqlite"):
        directory = tempfile.mkdtemp(prefix="migtutor-scratch-")
        try:
            yield f"sqlite:///{Path(directory) / 'scratch.db'}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    if not url.startswith("postgresql"):
        raise MigtutorError(
            "The roundtrip check runs on SQLite and PostgreSQL only; this database is neither."
        )
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from migtutor.database import create_engine

    name = f"migtutor_scratch_{uuid.uuid4().hex[:12]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        connection = engine.connect()  # an unreachable server is reported as such by the CLI
    except Exception:
        engine.dispose()
        raise
    try:
        with connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        engine.dispose()
        raise MigtutorError(
            "The roundtrip check tries your revision on a temporary database, but creating one "
            f"on this server failed: {_cause(exc)} Give your user the CREATEDB privilege "
            "(ALTER USER name CREATEDB) and run `migtutor lesson check` again."
        ) from exc
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()


def _autogenerate_problems(check: dict[str, Any], migrator: Migrator) -> list[str]:
    try:
        diffs = migrator.check()
    except MigtutorError as exc:
        return [f"Autogenerate cannot compare your models with the database: {exc.message}"]
    problems = []
    for table in check.get("pending_tables", []):
        if f"add table {table}" not in diffs:
            problems.append(
                f"Autogenerate does not see a new table {table} in your models: the model is "
                "not defined yet, or not imported (model not imported for autogenerate). Add "
                f'the class, with __tablename__ = "{table}", to app/models.py (the module '
                "migrations/env.py imports), and make it inherit from Base."
            )
    if check.get("models_match") and diffs:
        problems.append(
            "The models and the database still differ: "
            + "; ".join(diffs)
            + ". Write (or autogenerate) a revision for them and upgrade."
        )
    return problems
