"""Lesson files: where they are, how they are read, and what makes one valid.

Lessons are data: one TOML file per lesson, `lessons/NN-slug.toml` of the course (see
`migtutor.course_files`) or in MIGTUTOR_LESSONS_DIR, numbered 01, 02, ... without gaps
(`course.toml` beside them holds the course's tables and sample rows, read by
`migtutor.course`). A file holds:

    title = "Your first revision: the posts table"   # required
    revision = "l1_posts"                            # its reference revision's id; left out
                                                     # by a lesson that adds none (it practises
                                                     # on the chain the lessons before built)
    autogenerate = ["Vote"]                          # made by autogenerate after adding these
                                                     # ("User.phone_number": a column on one)
    goal = "Why this lesson matters."                # required

    [[steps]]                                        # at least one, in order
    text = "Markdown, shown with Rich"               # required
    command = 'migtutor revision -m "..."'           # what the learner types (optional)
    code = "..."                                     # what to write in the revision (optional)
    solution = "migrations/versions/....py"          # reference file (optional), in the course
    hint = "..."                                     # required
    mistakes = [{ error = "...", explain = "..." }]  # an error text and what it means (optional)

    [steps.check]                                    # required: the step's expectations; the
    revision_message = "create posts table"          # keys are documented in migtutor/checks.py

    [steps.setup]                                    # optional: `migtutor lesson setup` puts the
    scenario = "applied_empty"                       # workspace in a broken state to get out of;
    message = "add a practice column"                # scenarios and their keys: SCENARIOS below,
                                                     # what they do: migtutor/scenarios.py

Unknown keys, wrong types and malformed check values are errors naming the file and the key.

Public API (used by `migtutor lesson ...`, reset and the demo):

- `lessons_dir() -> Path` (from `migtutor.course_files`, which knows where the course's files
  are, installed or in a checkout): the lesson files.
- `load_lessons(directory=None) -> list[Lesson]`, `load_lesson(path) -> Lesson`: lessons,
  validated; a malformed file raises `LessonFileError` naming the file and the key.
- `lint(directory=None) -> list[str]`: every problem of every lesson file ([] when all good).
- `lesson_files(directory) -> list[Path]`: the lesson files, in order.
- `parse_foreign_key(item)`: a `foreign_keys` entry as (table, column, ref, refcol, on_delete).

Importing this module imports neither SQLAlchemy nor Alembic.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migtutor.course_files import course_file, lessons_dir, reference_versions
from migtutor.errors import MigtutorError

TYPE_FAMILIES = ("integer", "string", "timestamp", "boolean", "numeric", "date")
COURSE_FILE = "course.toml"
_FILE_NAME = re.compile(r"^(\d{2})-([a-z0-9-]+)\.toml$")
_FK = re.compile(r"^\s*(\w+)\.(\w+)\s*->\s*(\w+)\.(\w+)\s*$")
_DOTTED = re.compile(r"^\w+\.\w+$")


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
    setup: dict[str, Any] = field(default_factory=dict)


@dataclass
class Lesson:
    number: int
    slug: str
    title: str
    goal: str
    steps: list[Step]
    path: Path
    revision: str = ""  # "" for a lesson that adds no revision
    autogenerate: list[str] = field(default_factory=list)


def load_lessons(directory: Path | None = None) -> list[Lesson]:
    """All lessons in order; raises LessonFileError for the first malformed file."""
    directory = directory or lessons_dir()
    files = lesson_files(directory)
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
    files = lesson_files(directory)
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
        if lesson.revision and not any(reference_versions().glob(f"{lesson.revision}_*.py")):
            problems.append(
                f"{path.name}: revision: no file {lesson.revision}_*.py in "
                "migrations/versions/ of the course."
            )
        for step in lesson.steps:
            if step.solution and not course_file(step.solution).is_file():
                problems.append(
                    f"{path.name}: steps[{step.number - 1}].solution: no file {step.solution}."
                )
    return problems


def lesson_files(directory: Path) -> list[Path]:
    """The lesson files of a directory, in order (course.toml is the course's, not a lesson)."""
    return sorted(p for p in directory.glob("*.toml") if p.name != COURSE_FILE)


# Parsed lessons by (path, mtime_ns, size): `lesson watch` re-reads the course on every change,
# and a process that runs many commands (a test session, a shell) reads the same files again.
_parsed: dict[tuple[Path, int, int], Lesson] = {}


def load_lesson(path: Path) -> Lesson:
    """One lesson file, validated: errors say which file and which key is wrong. A file read
    before and unchanged since (same modification time and size) is not parsed again."""
    try:
        info = path.stat()
    except OSError:
        return _parse_lesson(path)  # says what is wrong with it
    key = (path, info.st_mtime_ns, info.st_size)
    if key not in _parsed:
        if len(_parsed) > 256:
            _parsed.clear()
        _parsed[key] = _parse_lesson(path)
    return _parsed[key]


def _parse_lesson(path: Path) -> Lesson:
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
    _known_keys(name, "", data, {"title", "revision", "autogenerate", "goal", "steps"})
    title = _required_str(name, "title", data)
    revision = data.get("revision", "")
    if "revision" in data and (not isinstance(revision, str) or not revision.isidentifier()):
        raise LessonFileError(
            f"{name}: revision: {revision!r} is not a revision id (leave the key out for a "
            "lesson that adds no revision)."
        )
    models = data.get("autogenerate", [])
    if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
        raise LessonFileError(
            f"{name}: autogenerate: expected a list of model class names (or Model.column)."
        )
    goal = _required_str(name, "goal", data)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise LessonFileError(f"{name}: steps: expected at least one [[steps]] table.")
    steps = [_load_step(name, index, raw) for index, raw in enumerate(raw_steps)]
    return Lesson(int(match.group(1)), match.group(2), title, goal, steps, path, revision, models)


_STEP_KEYS = {"text", "command", "code", "check", "hint", "mistakes", "solution", "setup"}
# The scenarios a step's setup may name (migtutor/scenarios.py does them, demo_recovery.py gets
# out of them) and the keys each takes besides `scenario`; every key is a string except
# `replace`, a table of old -> new text.
SCENARIOS: dict[str, set[str]] = {
    "applied_empty": {"message", "upgrade", "downgrade"},
    "edited_after_applied": {"replace"},
    "deleted_file": set(),
    "two_heads": {"message", "upgrade", "downgrade"},
    "untracked_tables": {"message", "upgrade", "downgrade"},
}
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
    "pending_columns": list,
    "models_match": bool,
    "rows": dict,
    "ran": list,
}
# A `ran` entry: a command's words as typed after `migtutor` ("current", "upgrade +1").
_RAN = re.compile(r"^[a-z][a-z-]*( [A-Za-z0-9_+.:-]+)*$")
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
    setup = raw.get("setup", {})
    _validate_setup(name, f"{where}.setup", setup)
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
        setup=setup,
        **optional,
    )


def _validate_setup(name: str, where: str, setup: Any) -> None:
    if not isinstance(setup, dict):
        raise LessonFileError(f"{name}: {where}: expected a table ([steps.setup]).")
    if not setup:
        return
    scenario = setup.get("scenario")
    if scenario not in SCENARIOS:
        raise LessonFileError(
            f"{name}: {where}.scenario: expected one of {', '.join(sorted(SCENARIOS))}, "
            f"not {scenario!r}."
        )
    _known_keys(name, where + ".", setup, {"scenario", *SCENARIOS[scenario]})
    for key in sorted(SCENARIOS[scenario]):
        value = setup.get(key)
        if key == "replace":
            if (
                not isinstance(value, dict)
                or not value
                or not all(
                    isinstance(k, str) and k and isinstance(v, str) for k, v in value.items()
                )
            ):
                raise LessonFileError(
                    f"{name}: {where}.replace: required, a table of text to find -> its "
                    'replacement (e.g. { old_name = "new_name" }).'
                )
        elif not isinstance(value, str) or not value.strip():
            raise LessonFileError(f"{name}: {where}.{key}: required, a non-empty string.")


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
    for key in ("absent_columns", "pending_columns"):
        for item in check.get(key, []):
            if not isinstance(item, str) or not _DOTTED.match(item):
                raise LessonFileError(f"{name}: {where}.{key}: {item!r} is not TABLE.COLUMN.")
    for item in check.get("ran", []):
        if not isinstance(item, str) or not _RAN.match(item):
            raise LessonFileError(
                f"{name}: {where}.ran: {item!r} is not a command as typed after `migtutor` "
                '(e.g. "current" or "upgrade +1").'
            )
    for table, least in check.get("rows", {}).items():
        if not isinstance(least, int) or isinstance(least, bool) or least < 1:
            raise LessonFileError(
                f"{name}: {where}.rows.{table}: expected the least number of rows (1 or more)."
            )
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
