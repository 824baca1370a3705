"""What each revision looked like when it was applied, remembered in the database.

Flyway keeps a checksum of every migration it ran; migtutor does the same in its own table,
`migtutor_applied` (revision, checksum, source, applied_at), which `schema`, autogenerate (the
workspace's env.py filters it out), `reset` and class status leave aside, as they do
alembic_version. The Migrator writes a row in the transaction that applies a revision and
deletes it in the one that unapplies it, so the table and alembic_version never disagree.

- ``fingerprint(source)``: a checksum of `upgrade()` and `downgrade()` as Python reads them
  (`ast`), so comments, blank lines and formatting do not count.
- ``upgrade_is_empty(source)``: `upgrade()` does nothing (only `pass`, `...`, a docstring).
- ``record`` / ``forget`` / ``keep_only`` / ``read``: the rows, on a connection.
- ``compare(rows, revisions)``: the applied revisions whose file changed since (`Drift`), with
  the advice to give: `migtutor redo REV`.
- ``applied_downgrade(source, path)``: the `downgrade()` of the stored source, for redo.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

APPLIED_TABLE = "migtutor_applied"
MIGRATION_FUNCTIONS = ("upgrade", "downgrade")


@dataclass(frozen=True)
class Applied:
    revision: str
    checksum: str
    source: str
    applied_at: str


@dataclass(frozen=True)
class Drift:
    """An applied revision whose file is no longer what ran on this database."""

    revision: str
    title: str
    applied_empty: bool  # its upgrade() did nothing when it was applied

    @property
    def problem(self) -> str:
        name = f"{self.revision} ({self.title})" if self.title else self.revision
        if self.applied_empty:
            return (
                f"Revision {name} was applied while its upgrade() was empty, and its file has "
                "changed since: what upgrade() does now never ran on this database."
            )
        return (
            f"Revision {name} was edited after it was applied to this database: the "
            "upgrade() and downgrade() in its file are not the ones that ran, so the schema "
            "may not be what the file says, and a later downgrade may fail part-way."
        )

    @property
    def fix(self) -> str:
        return (
            f"Run `migtutor redo {self.revision}`: it runs the downgrade() that was applied, "
            "then the upgrade() in the file now. On a database others share, never edit an "
            "applied revision (their databases ran the old one and will not run it again): "
            "write a new revision for the change."
        )

    @property
    def message(self) -> str:
        return f"{self.problem} {self.fix}"


@functools.lru_cache(maxsize=64)
def _functions(source: str) -> dict[str, ast.FunctionDef]:
    """upgrade() and downgrade() of `source`, parsed once per text: `upgrade` reads each file
    it applies for the empty-upgrade warning and again for its checksum. Read-only."""
    tree = ast.parse(source)
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name in MIGRATION_FUNCTIONS
    }


def _body(function: ast.FunctionDef) -> list[ast.stmt]:
    """The statements, without a leading docstring (a comment in other words)."""
    body = function.body
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        return body[1:]
    return body


def fingerprint(source: str) -> str:
    """A checksum of upgrade() and downgrade(); the same for the same code however laid out.

    A file Python cannot parse gets a checksum of its text (it cannot have been applied, but a
    later edit must still count as a change)."""
    try:
        functions = _functions(source)
    except SyntaxError:
        return "text:" + hashlib.sha256(source.encode()).hexdigest()
    parts = []
    for name in MIGRATION_FUNCTIONS:
        function = functions.get(name)
        body = "missing" if function is None else "".join(ast.dump(s) for s in _body(function))
        parts.append(f"{name}:{body}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def upgrade_is_empty(source: str) -> bool:
    """True when upgrade() exists and does nothing."""
    try:
        upgrade = _functions(source).get("upgrade")
    except SyntaxError:
        return False
    return upgrade is not None and not any(
        not isinstance(s, ast.Pass)
        and not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        for s in upgrade.body
    )


@functools.cache
def _table() -> Any:
    """The table, made once: SQLAlchemy then compiles each statement on it once per process
    rather than once per revision applied."""
    import sqlalchemy as sa

    return sa.Table(
        APPLIED_TABLE,
        sa.MetaData(),
        sa.Column("revision", sa.String(32), primary_key=True),
        sa.Column("checksum", sa.String(80), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("applied_at", sa.String(32), nullable=False),
    )


def _exists(connection: Any) -> bool:
    import sqlalchemy as sa

    return sa.inspect(connection).has_table(APPLIED_TABLE)


def record(connection: Any, revision: str, path: str, exists: bool | None = None) -> bool | None:
    """Remember `revision` as its file at `path` is now (it has just been applied).

    `exists`: whether the table exists, when known (None: look). Returns what is known of that
    afterwards, for the next revision of the same move: one look at the catalog per move.
    """
    table = _table()
    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return exists  # nothing to remember; the revision still ran
    if not (_exists(connection) if exists is None else exists):
        table.create(connection)
    connection.execute(table.delete().where(table.c.revision == revision))
    connection.execute(
        table.insert().values(
            revision=revision,
            checksum=fingerprint(source),
            source=source,
            applied_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
    )
    return True


def forget(connection: Any, revisions: Iterable[str], exists: bool | None = None) -> bool | None:
    """Drop the rows of revisions just unapplied. `exists` and the result: as for `record`."""
    revisions = list(revisions)
    if not revisions:
        return exists
    if exists is None:
        exists = _exists(connection)
    if exists:
        table = _table()
        connection.execute(table.delete().where(table.c.revision.in_(revisions)))
    return exists


def keep_only(connection: Any, applied: Iterable[str]) -> None:
    """After a stamp: drop the rows of revisions the database no longer claims to have."""
    if not _exists(connection):
        return
    table = _table()
    connection.execute(table.delete().where(table.c.revision.not_in(list(applied))))


def read(connection: Any) -> dict[str, Applied]:
    """The rows by revision; {} when nothing was recorded (or the table is unreadable)."""
    if not _exists(connection):
        return {}
    table = _table()
    rows = connection.execute(table.select()).all()
    return {
        row.revision: Applied(row.revision, row.checksum, row.source, row.applied_at)
        for row in rows
    }


def compare(rows: dict[str, Applied], revisions: Iterable[tuple[str, str, str]]) -> list[Drift]:
    """Of `revisions` (id, title, path: the applied ones), those whose file changed since."""
    found = []
    for revision, title, path in revisions:
        row = rows.get(revision)
        if row is None:
            continue  # applied before migtutor remembered, or stamped: nothing to compare
        try:
            now = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        # The same text is the same code: only an edited file is parsed to be compared.
        if now != row.source and fingerprint(now) != row.checksum:
            found.append(Drift(revision, title, upgrade_is_empty(row.source)))
    return found


def applied_downgrade(source: str, path: str) -> Callable[[], None]:
    """The downgrade() of the revision as it was applied, loaded from the stored source.

    It runs as the file's own would: inside Alembic's migration, where `alembic.op` is bound.
    """
    namespace: dict[str, Any] = {"__name__": f"migtutor_applied_{Path(path).stem}"}
    exec(compile(source, f"{path} (as applied)", "exec"), namespace)  # noqa: S102
    downgrade = namespace.get("downgrade")
    if not callable(downgrade):
        from migtutor.errors import MigtutorError

        raise MigtutorError(
            f"The revision {Path(path).name} as it was applied has no downgrade(), so it cannot "
            "be unapplied. Stamp the revision below it (`migtutor stamp REV`) once the schema "
            "is back as it was there, then run `migtutor upgrade head`."
        )
    return downgrade
