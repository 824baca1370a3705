"""`--explain`: what a command is about to do, in plain Alembic terms, as data.

- ``plan_move(migrator, verb, target, database_option) -> Plan``: the equivalent `alembic`
  command, the revisions the walk visits in order, and the SQL from Alembic's offline (`--sql`)
  mode for the range from the current revision to where the walk ends. Where offline mode
  cannot write it (SQLite batch operations need a live table to copy), the SQL comes from a
  rehearsal inside a transaction that is rolled back, and `sql_command` says so.
- ``plan_revision(migrator, message, autogenerate, head, database_option) -> Plan``: the
  equivalent `alembic revision` command and the revision the new one builds on.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from migtutor.errors import MigtutorError

if TYPE_CHECKING:
    from alembic.script import Script, ScriptDirectory

    from migtutor.migrate import Migrator

URL_NOTE = (
    "Run it in the workspace: env.py asks migtutor's settings for the URL, so plain alembic "
    "talks to the same database."
)
OPTION_NOTE = (
    "Plain alembic has no URL option: export MIGTUTOR_DATABASE_URL={url} first, and run it in "
    "the workspace."
)


@dataclass
class Plan:
    command: str
    note: str = ""
    steps: list[str] | None = None
    sql: str = ""
    sql_command: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _note(database_option: str | None) -> str:
    if database_option:
        from migtutor.urls import mask_password

        return OPTION_NOTE.format(url=mask_password(database_option))
    return URL_NOTE


def _describe(script: Any, is_upgrade: bool) -> str:
    from migtutor.migrate import TITLE_WIDTH, headline

    down = script.down_revision
    parents = (
        ", ".join(down) if isinstance(down, (tuple, list)) else (down or "<base>")
    ) or "<base>"
    arrow = f"{parents} -> {script.revision}" if is_upgrade else f"{script.revision} -> {parents}"
    verb = "upgrade" if is_upgrade else "downgrade"
    return f"{verb} {arrow}: {headline(script.doc or '', TITLE_WIDTH)}".rstrip(": ")


def plan_move(
    migrator: Migrator, verb: str, target: str, database_option: str | None = None
) -> Plan:
    from migtutor.migrate import _scripts_loading

    plan = Plan(command=f"alembic {verb} {shlex.quote(target)}", note=_note(database_option))
    current = migrator.current_heads()
    with _scripts_loading(migrator):
        steps = walk(migrator.script, verb, target, current)
    plan.steps = [_describe(script, verb == "upgrade") for script in steps]
    if not steps:
        return plan
    last = steps[-1]
    if len(current) > 1:
        plan.sql_command = "(offline SQL needs one starting revision; the database has several)"
        return plan
    if verb == "upgrade":
        end = last.revision
        sql_range = f"{current[0]}:{end}" if current else end
    else:
        down = last.down_revision
        if isinstance(down, (tuple, list)):
            plan.sql_command = "(offline SQL cannot end on a merge point)"
            return plan
        sql_range = f"{current[0]}:{down or 'base'}"
    plan.sql_command = f"alembic {verb} {sql_range} --sql"
    try:
        plan.sql = migrator.offline_sql(verb, sql_range)
    except Exception as exc:
        from migtutor.errors import translate

        known = translate(exc)
        if known is None:
            raise
        plan.sql = _rehearsed_sql(migrator, verb, target)
        reason = known.message.split(";")[0].split(":")[0].rstrip(".")
        plan.sql_command = (
            f"a rehearsal in a transaction that was rolled back, because `{plan.sql_command}` "
            f"cannot write it offline: {reason}; on SQLite, batch operations need the live table"
        )
    return plan


def walk(script_dir: ScriptDirectory, verb: str, target: str, current: list[str]) -> list[Script]:
    """The revisions `verb target` runs from `current`, in the order it runs them.

    The same walk Alembic's commands make (relative targets, branches and `heads` included),
    through the public `iterate_revisions`; a target it cannot reach is a MigtutorError worded as
    for the command itself.
    """
    from alembic.script.revision import RangeNotAncestorError, RevisionError
    from alembic.util import CommandError

    from migtutor.errors import translate

    try:
        if verb == "upgrade":
            found = script_dir.iterate_revisions(target, tuple(current), implicit_base=True)
            return list(reversed(list(found)))
        return list(script_dir.iterate_revisions(tuple(current), target, select_for_downgrade=True))
    except RangeNotAncestorError as exc:
        refusal = CommandError(
            f"Destination {target} is not a valid {verb} target from current head(s)"
        )
        raise translate(refusal) or refusal from exc
    except RevisionError as exc:
        raise translate(exc) or exc from exc


def _rehearsed_sql(migrator: Migrator, verb: str, target: str) -> str:
    from migtutor.safety import rehearse

    rehearsal = rehearse(migrator, verb, target, capture_sql=True)
    text = "\n".join(rehearsal.sql)
    if rehearsal.error:
        text += f"\n-- the rehearsal stopped with an error: {rehearsal.error}"
    return text


def plan_revision(
    migrator: Migrator,
    message: str,
    autogenerate: bool,
    head: str = "head",
    database_option: str | None = None,
    *,
    rev_id: str | None = None,
    splice: bool = False,
    branch_label: str | None = None,
    depends_on: str | None = None,
) -> Plan:
    command = f"alembic revision -m {shlex.quote(message)}"
    if autogenerate:
        command += " --autogenerate"
    if head != "head":
        command += f" --head {shlex.quote(head)}"
    if splice:
        command += " --splice"
    for option, value in (
        ("--branch-label", branch_label),
        ("--depends-on", depends_on),
        ("--rev-id", rev_id),
    ):
        if value:
            command += f" {option} {shlex.quote(value)}"
    heads = migrator.head_ids()
    if head == "head" and len(heads) > 1:
        raise MigtutorError(
            "Several heads: a new revision would not know which one to build on. Name one with "
            '--head REV, or join them first with `migtutor merge heads -m "merge"`.'
        )
    parent = heads[0] if head == "head" and heads else head
    if head == "head" and not heads:
        steps = ["the new revision is the first one: down_revision = None"]
    else:
        steps = [f"the new revision builds on {parent}: down_revision = {parent!r}"]
    if autogenerate:
        steps.append(
            "autogenerate compares the models (target_metadata in env.py) with the database "
            "and writes the operations for the differences"
        )
    return Plan(command=command, note=_note(database_option), steps=steps)


def revision_sql(migrator: Migrator, revision: str, down_revision: str | None) -> Plan:
    """The SQL the new revision's upgrade() emits, from offline mode."""
    sql_range = f"{down_revision}:{revision}" if down_revision else revision
    plan = Plan(command="", sql_command=f"alembic upgrade {sql_range} --sql")
    try:
        plan.sql = migrator.offline_sql("upgrade", sql_range)
    except Exception as exc:
        from migtutor.errors import translate

        known = translate(exc)
        if known is None:
            raise
        plan.sql_command += f" cannot write it offline: {known.message}"
    return plan
