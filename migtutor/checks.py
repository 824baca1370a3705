"""Evaluating a lesson step's `check` table against the learner's database and scripts.

`evaluate(step, workspace, database) -> CheckResult` runs every expectation of the step and says
precisely what is missing, adding the lesson's explanation to a problem that matches one of the
step's known mistakes. It checks the scripts (messages, heads) and the database's position here,
the schema with `schema_checks` (on a snapshot from `migtutor.schema`), a revision's file and its
up/down/up run with `roundtrip`, and the models with autogenerate (`Migrator.check`).

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
    pending_columns = ["users.phone_number"]  # ... and these new columns
    models_match = true                       # `migtutor check` finds no difference
    rows = {posts = 1}                        # the table holds at least this many rows
    ran = ["current", "heads"]                # the learner ran these since the step began
                                              # (`migtutor.command_log`); "upgrade" is met by
                                              # any upgrade, "upgrade +1" by that one only

Column `type` is a family: integer, string, timestamp, boolean, numeric, date. `default = "now"`
matches now() and CURRENT_TIMESTAMP; any other default is matched as text. `timezone = true` is
checked on PostgreSQL only (SQLite has no time zones).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migtutor.errors import MigtutorError
from migtutor.failure_advice import unknown_revision
from migtutor.roundtrip import roundtrip
from migtutor.schema import Schema, snapshot
from migtutor.schema_checks import schema_problems
from migtutor.static_checks import revision_label, static_problems

if TYPE_CHECKING:
    from migtutor.lessons import Step
    from migtutor.migrate import Migrator, Revision
    from migtutor.settings import DatabaseSettings


@dataclass
class CheckResult:
    """The unmet expectations of a step, in words (with the lesson's explanations)."""

    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


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
        position: list[str] = []
        if needs_db:
            position = _position_problems(check, migrator, revisions, heads)
            problems += position
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
                    label = revision_label(target)
                    where = f"After upgrade() of revision {label} (on a scratch copy)"
                    problems += schema_problems(
                        check, scratch_schema, where, "postgresql" in database.backend
                    )
            else:
                schema = snapshot(migrator.connection, row_counts="rows" in check)
                migrator.connection.rollback()
                problems += schema_problems(
                    check, schema, "In your database", "postgresql" in database.backend
                )
        compares = "pending_tables" in check or "pending_columns" in check
        # Autogenerate compares only a database at the head: a position problem says it first.
        if (compares or check.get("models_match")) and not position:
            problems += _autogenerate_problems(check, migrator)
        if needs_db or (_has_schema_checks(check) and not check.get("scratch")):
            # First: a revision edited after it ran explains the other problems.
            problems[:0] = [drift.message for drift in migrator.applied_drift()]
    problems += _not_run(check.get("ran", []), workspace)
    return CheckResult(_explained(problems, step))


def _not_run(wanted: list[str], workspace: Path) -> list[str]:
    """The commands a reading step asks for that the learner has not run on it yet."""
    if not wanted:
        return []
    from migtutor.command_log import covers, since_step_began

    commands = since_step_began(workspace)
    return [
        f"Run `migtutor {command}` and read what it prints."
        for command in wanted
        if not covers(command, commands)
    ]


def _explained(problems: list[str], step: Step) -> list[str]:
    """Append the lesson's explanation to each problem that matches a known mistake."""
    out = []
    for problem in problems:
        for mistake in step.mistakes:
            if mistake.error.lower() in problem.lower():
                extra = _not_yet_said(" ".join(mistake.explain.split()), problem)
                problem = f"{problem} {extra}" if extra else problem
                break
        out.append(problem)
    return out


def _not_yet_said(explanation: str, problem: str) -> str:
    """The explanation's sentences whose first clause the problem does not already say."""
    sentences = re.split(r"(?<=[.!?])\s+", explanation)
    said = problem.lower()
    kept = [s for s in sentences if re.split(r"[;:,]", s, maxsplit=1)[0].lower() not in said]
    return " ".join(kept)


def _message_words(message: str) -> list[str]:
    """A message as compared: case, hyphens, underscores and plural -s aside."""
    words = message.lower().replace("-", " ").replace("_", " ").split()
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words]


def _same_message(a: str, b: str) -> bool:
    """Whether two revision messages say the same ("create post table" is "Create posts table")."""
    return _message_words(a) == _message_words(b)


def _target_revision(
    check: dict[str, Any], revisions: list[Revision], heads: list[Revision], problems: list[str]
) -> Revision | None:
    message = check.get("revision_message")
    if message is None:
        return heads[0] if len(heads) == 1 else (heads[0] if heads else None)
    found = [r for r in revisions if _same_message(r.message, message)]
    if found:
        return found[0]
    mine = ", ".join(repr(r.title) for r in revisions) or "none yet"
    problems.append(
        f'No revision has the message "{message}" (your revisions: {mine}). Create it with '
        f'`migtutor revision -m "{message}"`.'
    )
    return None


def _head_count_problem(expected: int, heads: list[Revision]) -> str:
    if not heads:
        return "There are no revisions yet, so there is no head."
    names = ", ".join(revision_label(h) for h in heads)
    if len(heads) > 1:
        return f"There are {len(heads)} heads, expected {expected}. " + fork_problem(heads)
    return f"There is {len(heads)} head ({names}), expected {expected}."


def fork_problem(heads: list[Revision]) -> str:
    """The fork in words, and the two ways to end it."""
    ids = [h.revision for h in heads]
    parents = {p for h in heads for p in h.down_revisions}
    if not parents:
        follows = "all start from the base (down_revision = None)"
    elif len(parents) == 1:
        follows = f"all follow {next(iter(parents))}"
    else:
        follows = "branch off at different revisions"
    first, *others = heads
    return (
        f"The revision chain has forked: {', '.join(revision_label(h) for h in heads)} "
        f"{follows}, so there are {len(heads)} newest revisions and `migtutor upgrade head` "
        "cannot choose. Two ways out: if one was meant to follow the other, set its "
        f'down_revision to the other\'s id (for example down_revision = "{first.revision}" in '
        f"the file of {others[0].revision}); or keep both and join them with a merge revision: "
        f'`migtutor merge {" ".join(ids)} -m "merge heads"`.'
    )


def _position_problems(
    check: dict[str, Any], migrator: Migrator, revisions: list[Revision], heads: list[Revision]
) -> list[str]:
    current_ids = migrator.current_heads()
    by_id = {r.revision: r for r in revisions}
    where = (
        ", ".join(revision_label(by_id.get(c)) if c in by_id else c for c in current_ids)
        if current_ids
        else "<base> (no revision applied yet: its alembic_version table is empty)"
    )
    unknown = [c for c in current_ids if c not in by_id]
    if unknown:  # nothing else about the position can be said, or done, until this is fixed
        return [unknown_revision(unknown)]
    problems = []
    head_ids = sorted(h.revision for h in heads)
    if check.get("at_head") and len(heads) > 1:
        if "head_count" not in check:  # else the head count's problem names the fork already
            problems.append(fork_problem(heads))
    elif check.get("at_head") and (empty := _empty_pending_heads(heads, current_ids)):
        problems += empty  # upgrading would record it as applied and do nothing
    elif check.get("at_head") and (not current_ids or sorted(current_ids) != head_ids):
        newest = ", ".join(revision_label(h) for h in heads) or "none"
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


def _empty_pending_heads(heads: list[Revision], current_ids: list[str]) -> list[str]:
    """What reading the unapplied heads shows, for those whose upgrade() is empty."""
    problems = []
    for head in heads:
        if head.revision not in current_ids:
            problems += [p for p in static_problems(head) if "upgrade() is empty" in p]
    return problems


def _has_schema_checks(check: dict[str, Any]) -> bool:
    keys = ("tables", "absent_tables", "columns", "absent_columns", "primary_key", "unique", "rows")
    return any(k in check for k in keys) or "foreign_keys" in check


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
    for name in check.get("pending_columns", []):
        if f"add column {name}" not in diffs:
            table, column = name.split(".")
            problems.append(
                f"Autogenerate does not see a new column {column} on {table} in your models: add "
                f'it to the model class with __tablename__ = "{table}" in app/models.py (the '
                "module migrations/env.py imports)."
            )
    if check.get("models_match") and diffs:
        problems.append(
            "The models and the database still differ: "
            + "; ".join(diffs)
            + ". Write (or autogenerate) a revision for them and upgrade."
        )
    return problems
