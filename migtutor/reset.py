"""`migtutor reset`: put a database at the start of any lesson, whatever state it is in.

Reset never walks the learner's revisions (they may be broken, half applied or unknown to the
scripts). It removes what the course owns -- the tables of lessons/course.toml, their
sequences and enum types, and `alembic_version` -- and then runs the course's *reference*
revisions (`migrations/versions/` of the course, through the course's `alembic.ini`) up to the
target. Dropping, migrating and seeding happen in one transaction: an error or Ctrl-C leaves the
database exactly as it was. Waiting for a lock another session holds (on PostgreSQL, dropping a
table waits for every open transaction that has read it) is reported through `on_wait` and
bounded by MIGTUTOR_LOCK_TIMEOUT (see `migtutor.locks`); `disconnect` ends the user's other
sessions on the database first.

A learner workspace's own revision files cannot describe a database that reset moved to a
reference revision, so, unless told to keep them, reset moves the learner's files out of
`migrations/versions/` into `.migtutor/backup/versions-N/` (nothing is deleted) and copies in the
reference revisions that the database now has.

This module prints nothing: it returns plain data for the command line to render.
"""

from __future__ import annotations

import contextlib
import filecmp
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migtutor.alembic_config import versions_location
from migtutor.applied import APPLIED_TABLE
from migtutor.course import (
    course_tables,
    lesson_count,
    reference_ids,
    seed_created_at,
    seed_rows,
    start_of,
)
from migtutor.course_files import course_root, reference_ini, reference_versions
from migtutor.errors import MigtutorError
from migtutor.locks import POSTGRES_ADVICE
from migtutor.progress_table import PROGRESS_TABLE

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.engine import Connection, Engine

    from migtutor.course_models import ModelsOutcome
    from migtutor.locks import Blocker, LockWait
    from migtutor.settings import DatabaseSettings

    OnWait = Callable[[LockWait], None] | None

VERSION_TABLE = "alembic_version"
RESET_ADVICE = (
    f"{POSTGRES_ADVICE} `migtutor reset --disconnect` ends your other sessions on this "
    "database first."
)


# -- the course's reference scripts -------------------------------------------------------------


def reference_file(revision: str) -> Path:
    matches = sorted(reference_versions().glob(f"{revision}_*.py"))
    if not matches:
        raise MigtutorError(f"The reference revision file for {revision} is missing.")
    return matches[0]


def reference_schemas() -> dict[str | None, dict[str, frozenset[str]]]:
    """The course's tables and their columns at each reference state (None: base), found by
    running the reference revisions one by one on an SQLite database in memory."""
    import sqlalchemy as sa
    from alembic import command

    from migtutor.alembic_config import build_config
    from migtutor.database import create_engine

    url = "sqlite://"
    engine = create_engine(url)
    states: dict[str | None, dict[str, frozenset[str]]] = {None: {}}
    try:
        with engine.connect() as connection:
            for revision in reference_ids():
                config = build_config(
                    course_root(), url, connection=connection, ini=reference_ini()
                )
                command.upgrade(config, revision)
                inspector = sa.inspect(connection)
                states[revision] = {
                    table: frozenset(c["name"] for c in inspector.get_columns(table))
                    for table in inspector.get_table_names()
                    if table in course_tables()
                }
    finally:
        engine.dispose()
    return states


# -- targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where reset goes: `revision` None means base (an empty schema); `lesson` is the lesson
    that starts there (`lesson_count() + 1`: the course is finished). A lesson that adds no
    revision starts where the one before it ends, so one revision can be two places."""

    spec: str
    revision: str | None
    lesson: int = 0  # 0: the first lesson that starts at `revision`

    def __post_init__(self) -> None:
        if not self.lesson:
            object.__setattr__(self, "lesson", lesson_of(self.revision) or 1)

    @property
    def label(self) -> str:
        return describe_state(self.revision, self.lesson)

    @property
    def revisions(self) -> tuple[str, ...]:
        """The reference revisions applied in this state, oldest first."""
        if self.revision is None:
            return ()
        ids = reference_ids()
        return ids[: ids.index(self.revision) + 1]


def lesson_of(revision: str | None) -> int | None:
    """The lesson a reference state is the start of (l1_posts -> 2), None if not reference."""
    from migtutor.course import lesson_of as first_lesson_at

    return first_lesson_at(revision)


def describe_state(revision: str | None, lesson: int | None = None) -> str:
    lesson = lesson or lesson_of(revision)
    if revision is None:
        return "base (empty schema, start of lesson 1)"
    if lesson is None:
        return revision
    if lesson > lesson_count():
        return f"{revision} (head: the course is finished)"
    return f"{revision} (start of lesson {lesson})"


def parse_target(spec: str) -> Target:
    """`base`, `head`, `lesson:N` (1 to the number of lessons) or a reference revision id."""
    text = spec.strip().lower()
    ids, count = reference_ids(), lesson_count()
    if text == "base":
        return Target(spec, None)
    if text == "head":
        return Target(spec, ids[-1], count + 1)
    if text.startswith("lesson:"):
        number = text.partition(":")[2]
        if not number.isdigit() or not 1 <= int(number) <= count:
            raise MigtutorError(
                f"{spec!r} is not a lesson: use lesson:1 to lesson:{count} (the state at "
                "the start of that lesson), or head for the finished course."
            )
        return Target(spec, start_of(int(number)), int(number))
    if text in ids:
        return Target(spec, text)
    raise MigtutorError(
        f"Unknown reset target {spec!r}. Use base, head, lesson:N (1 to {count}) or a "
        f"reference revision id ({', '.join(ids)})."
    )


# -- inventory ----------------------------------------------------------------------------------


@dataclass
class TableInfo:
    name: str
    rows: int | None
    owned: bool  # a course table (or alembic_version): reset removes it


@dataclass
class Inventory:
    """What is in the database now, and what reset would remove."""

    tables: list[TableInfo] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    all_objects: bool = False

    @property
    def removed(self) -> list[TableInfo]:
        return [table for table in self.tables if table.owned]

    @property
    def kept(self) -> list[TableInfo]:
        return [table for table in self.tables if not table.owned]

    @property
    def unknown_revisions(self) -> list[str]:
        return [rev for rev in self.current if rev not in reference_ids()]

    def to_json(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "remove": {
                "tables": [{"name": t.name, "rows": t.rows} for t in self.removed],
                "views": self.views,
                "sequences": self.sequences,
                "types": self.types,
            },
            "keep": [{"name": t.name, "rows": t.rows} for t in self.kept],
        }


def _quote(connection: Connection, name: str) -> str:
    from migtutor.database import quote

    return quote(connection, name)


# What is there, in one query: tables and views as SQLAlchemy's Inspector lists them (visible
# on the search path, pg_catalog aside), sequences, enum types with the tables using them, and
# whether alembic_version has the column Alembic reads.
_POSTGRES_INVENTORY = """
SELECT json_build_object(
'tables', (SELECT json_agg(c.relname ORDER BY c.relname) FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
    AND pg_catalog.pg_table_is_visible(c.oid) AND n.nspname <> 'pg_catalog'),
'views', (SELECT json_agg(c.relname ORDER BY c.relname) FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'v' AND c.relpersistence <> 't'
    AND pg_catalog.pg_table_is_visible(c.oid) AND n.nspname <> 'pg_catalog'),
'sequences', (SELECT json_agg(c.relname ORDER BY c.relname) FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'S' AND pg_catalog.pg_table_is_visible(c.oid)
    AND n.nspname <> 'pg_catalog'),
'types', (SELECT json_agg(json_build_array(t.typname, ARRAY(
        SELECT DISTINCT c.relname FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        WHERE a.atttypid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
        AND c.relkind IN ('r', 'p'))) ORDER BY t.typname)
    FROM pg_catalog.pg_type t WHERE t.typtype = 'e' AND pg_catalog.pg_type_is_visible(t.oid)),
'version_num', EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
    WHERE attrelid = pg_catalog.to_regclass('alembic_version') AND attname = 'version_num'
    AND NOT attisdropped)
)
"""
_SQLITE_INVENTORY = """
SELECT type, name, NULL FROM sqlite_master
WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite~_%' ESCAPE '~'
UNION ALL
SELECT 'column', 'alembic_version', name FROM pragma_table_info('alembic_version')
WHERE name = 'version_num'
"""


def _catalog(connection: Connection) -> dict[str, Any]:
    if connection.dialect.name == "postgresql":
        import sqlalchemy as sa

        found = connection.execute(sa.text(_POSTGRES_INVENTORY)).scalar_one()
        return {key: value or [] for key, value in found.items()}
    rows = connection.exec_driver_sql(_SQLITE_INVENTORY).all()
    return {
        "tables": sorted(name for kind, name, _ in rows if kind == "table"),
        "views": sorted(name for kind, name, _ in rows if kind == "view"),
        "sequences": [],
        "types": [],
        "version_num": any(kind == "column" for kind, _, _ in rows),
    }


def inventory(
    connection: Connection, all_objects: bool = False, *, row_counts: bool = True
) -> Inventory:
    """Tables (with row counts, unless `row_counts=False`), the recorded revision, and what
    reset would remove."""
    import sqlalchemy as sa

    found = _catalog(connection)
    # Alembic's batch mode on SQLite copies a table through `_alembic_tmp_<table>`; a revision
    # that failed mid-copy can leave one behind.
    owned_names = {
        *course_tables(),
        VERSION_TABLE,
        APPLIED_TABLE,
        *(f"_alembic_tmp_{t}" for t in course_tables()),
    }
    result = Inventory(all_objects=all_objects)
    for name in found["tables"]:
        if name == PROGRESS_TABLE:
            continue  # the learner's recorded progress outlives a reset, even with --all
        rows = _count(connection, name) if row_counts else None
        result.tables.append(TableInfo(name, rows, all_objects or name in owned_names))
    if VERSION_TABLE in found["tables"] and found["version_num"]:
        rows = connection.execute(
            sa.text(f"SELECT version_num FROM {_quote(connection, VERSION_TABLE)}")
        )
        result.current = sorted(str(row[0]) for row in rows)
    # A view standing where a course table should be goes too (DROP TABLE would fail on it).
    result.views = [name for name in found["views"] if all_objects or name in owned_names]
    result.sequences = [
        name
        for name in found["sequences"]
        if all_objects
        or any(name.startswith(f"{t}_") and name.endswith("_seq") for t in course_tables())
    ]
    removed = {t.name for t in result.removed}
    result.types = [
        name for name, users in found["types"] if all_objects or removed.intersection(users)
    ]
    return result


def _count(connection: Connection, table: str) -> int | None:
    import sqlalchemy as sa

    nested = connection.begin_nested() if connection.in_transaction() else None
    try:
        value = connection.execute(sa.text(f"SELECT count(*) FROM {_quote(connection, table)}"))
        count = int(value.scalar_one())
    except Exception:
        if nested is not None:
            nested.rollback()
        return None
    if nested is not None:
        nested.commit()
    return count


def _drop(connection: Connection, found: Inventory) -> None:
    import sqlalchemy as sa

    postgres = connection.dialect.name == "postgresql"
    cascade = " CASCADE" if postgres else ""
    for view in found.views:
        connection.execute(sa.text(f"DROP VIEW IF EXISTS {_quote(connection, view)}{cascade}"))
    order = {name: index for index, name in enumerate(course_tables())}
    tables = sorted((t.name for t in found.removed), key=lambda n: (order.get(n, -1), n))
    if postgres and tables:
        names = ", ".join(_quote(connection, name) for name in tables)
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {names} CASCADE"))
    else:
        for name in tables:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {_quote(connection, name)}"))
    for sequence in found.sequences:
        connection.execute(sa.text(f"DROP SEQUENCE IF EXISTS {_quote(connection, sequence)}"))
    for type_name in found.types:
        connection.execute(sa.text(f"DROP TYPE IF EXISTS {_quote(connection, type_name)}"))


# -- the reset itself ---------------------------------------------------------------------------


@dataclass
class Applied:
    revision: str
    message: str


@dataclass
class ResetOutcome:
    target: Target
    removed: Inventory
    applied: list[Applied]
    current: list[str]
    seeded: dict[str, int]
    files: FilePlan | None = None
    progress_lesson: int | None = None
    disconnected: list[Blocker] = field(default_factory=list)
    models: ModelsOutcome | None = None  # app/models.py brought to the target's lesson

    def to_json(self) -> dict[str, Any]:
        return {
            "disconnected": [session.to_json() for session in self.disconnected],
            "target": self.target.spec,
            "revision": self.target.revision,
            "lesson": self.target.lesson,
            "removed": self.removed.to_json()["remove"],
            "kept": [t.name for t in self.removed.kept],
            "applied": [{"revision": a.revision, "message": a.message} for a in self.applied],
            "current": self.current,
            "seeded": self.seeded,
            "files": self.files.to_json() if self.files else None,
            "progress_lesson": self.progress_lesson,
            "models": self.models.to_json() if self.models else None,
        }


def rebuild(
    connection: Connection,
    target: Target,
    *,
    seed: bool = False,
    all_objects: bool = False,
    url: str,
    script: str | None = None,
    row_counts: bool = True,
) -> tuple[Inventory, list[Applied], dict[str, int]]:
    """Drop the course's objects and run the reference revisions to `target`, on `connection`.

    The caller owns the transaction (it must be open): nothing is committed here. With
    `script` (from `upgrade_sql`), that SQL is run instead of Alembic: no Alembic state is
    involved, so several threads can rebuild several databases at once. `row_counts=False`:
    the inventory returned does not count the rows of what it removes.
    """
    from alembic import command

    from migtutor.alembic_config import build_config

    if connection.dialect.name == "postgresql":
        # The lock every migtutor migration holds: a reset waits for a running upgrade, and an
        # upgrade started meanwhile waits for the reset, then reads the new revision.
        import sqlalchemy as sa

        from migtutor.migrate import LOCK_KEY

        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    found = inventory(connection, all_objects, row_counts=row_counts)
    _drop(connection, found)
    applied: list[Applied] = []

    def record(*, step: Any, **_: Any) -> None:
        applied.append(Applied(step.up_revision_id or "", _message(step.up_revision_id)))

    if script is not None:
        if script.strip():
            cursor = connection.connection.cursor()  # the DBAPI cursor: no parameter parsing
            try:
                cursor.execute(script)
            finally:
                cursor.close()
        applied = [Applied(rev, _message(rev)) for rev in target.revisions]
    elif target.revision is not None:
        config = build_config(
            course_root(),
            url,
            connection=connection,
            attributes={"on_version_apply": record},
            ini=reference_ini(),
        )
        command.upgrade(config, target.revision)
    seeded = seed_data(connection) if seed else {}
    return found, applied, seeded


def upgrade_sql(target: Target, url: str) -> str:
    """The SQL of the reference revisions up to `target` for `url`'s dialect (offline mode).

    Alembic's BEGIN/COMMIT lines are left out: the caller runs the script in its own
    transaction.
    """
    import io

    from alembic import command

    from migtutor.alembic_config import build_config

    if target.revision is None:
        return ""
    buffer = io.StringIO()
    config = build_config(course_root(), url, output_buffer=buffer, ini=reference_ini())
    config.cmd_opts.sql = True
    command.upgrade(config, target.revision, sql=True)
    lines = buffer.getvalue().splitlines()
    return "\n".join(line for line in lines if line.strip() not in ("BEGIN;", "COMMIT;"))


def _message(revision: str | None) -> str:
    if not revision:
        return ""
    first = reference_file(revision).read_text(encoding="utf-8").lstrip('"\n').splitlines()
    return first[0].strip() if first else ""


def _advice(connection: Connection) -> str | None:
    return RESET_ADVICE if connection.dialect.name == "postgresql" else None


def reset_database(
    database: DatabaseSettings,
    target: Target,
    *,
    seed: bool = False,
    all_objects: bool = False,
    files: FilePlan | None = None,
    on_wait: OnWait = None,
) -> ResetOutcome:
    """Reset the database in one transaction, then bring the workspace's scripts in line."""
    from migtutor.locks import watch

    with (
        owner_engine(database) as engine,
        engine.connect() as connection,
        watch(connection, on_wait, _advice(connection)),
    ):
        try:
            with connection.begin():
                found, applied, seeded = rebuild(
                    connection, target, seed=seed, all_objects=all_objects, url=database.url
                )
        except KeyboardInterrupt:
            raise MigtutorError(
                "Interrupted. The reset was rolled back: the database is exactly as it was "
                "before, and no revision file was touched.",
                exit_code=130,
            ) from None
        current = read_current(connection)
    if files is not None:
        apply_files(files)
    return ResetOutcome(target, found, applied, current, seeded, files)


def read_current(connection: Connection) -> list[str]:
    from alembic.runtime.migration import MigrationContext

    from migtutor.locks import reading

    with reading(connection):
        heads = MigrationContext.configure(connection).get_current_heads()
        if connection.in_transaction():
            connection.rollback()
    return sorted(heads)


def preview(
    database: DatabaseSettings, all_objects: bool = False, on_wait: OnWait = None
) -> Inventory:
    """What reset would remove, read without changing anything."""
    from migtutor.locks import watch

    with (
        owner_engine(database) as engine,
        engine.connect() as connection,
        watch(connection, on_wait, _advice(connection), write=False),
    ):
        found = inventory(connection, all_objects)
        connection.rollback()
    return found


@contextlib.contextmanager
def owner_engine(database: DatabaseSettings) -> Iterator[Engine]:
    """An engine for the reset, never with more rights than the database's owner has.

    Given a superuser's (or a CREATEROLE role's) URL for a database an ordinary role owns, the
    reset runs in a session of a throwaway member of that owner (see pg_sessions.py): whatever
    the owner planted in it cannot reach the administrator's rights.
    """
    from migtutor.database import create_engine

    if database.backend != "postgresql":
        engine = create_engine(database.url)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    from sqlalchemy.engine import make_url

    from migtutor import pg_sessions

    probe_engine = pg_sessions.admin_engine(database.url)
    try:
        with probe_engine.connect() as probe:
            me = pg_sessions.privileges(probe)
            owner, owner_is_superuser = pg_sessions.database_owner(probe)
            if me.privileged and owner != me.user and not owner_is_superuser:
                url = make_url(database.url)
                with pg_sessions.OwnerLogins(probe, url) as logins:
                    with logins.login(url.database or "", owner) as engine:
                        yield engine
                return
    finally:
        probe_engine.dispose()
    engine = create_engine(database.url)
    try:
        yield engine
    finally:
        engine.dispose()


def disconnect_others(database: DatabaseSettings) -> list[Blocker]:
    """End the user's other sessions on the database (PostgreSQL; SQLite has none to end)."""
    from migtutor.database import create_engine
    from migtutor.locks import end_other_sessions
    from migtutor.pg_sessions import admin_engine

    # Pinned settings: an administrator's URL may name a database its owner planted code in.
    postgres = database.backend == "postgresql"
    engine = admin_engine(database.url) if postgres else create_engine(database.url)
    try:
        with engine.connect() as connection:
            return end_other_sessions(connection)
    finally:
        engine.dispose()


# -- sample data --------------------------------------------------------------------------------


def seed_data(connection: Connection) -> dict[str, int]:
    """Insert the course's sample rows (lessons/course.toml) that fit the tables present,
    each trimmed to the columns there; returns rows inserted per table."""
    import datetime

    import sqlalchemy as sa

    created = datetime.datetime.fromisoformat(seed_created_at())
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names())
    counts: dict[str, int] = {}
    for name, rows in seed_rows():
        if name not in present or not rows:
            continue
        table = sa.Table(name, sa.MetaData(), autoload_with=connection)
        columns = set(table.columns.keys())
        fitted = [
            {key: value for key, value in row.items() if key in columns}
            | ({"created_at": created} if "created_at" in columns else {})
            for row in rows
        ]
        # Rows that leave out different columns go in separate batches: one INSERT names one
        # set of columns, and a column a row leaves out must get its server default, not NULL.
        batches: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in fitted:
            batches.setdefault(tuple(sorted(row)), []).append(row)
        for batch in batches.values():
            connection.execute(table.insert(), batch)
        counts[name] = len(fitted)
        if connection.dialect.name == "postgresql" and "id" in columns:
            connection.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence(:table, 'id'), "
                    f"(SELECT max(id) FROM {_quote(connection, name)}))"
                ),
                {"table": name},
            )
    return counts


# -- the learner's revision files ---------------------------------------------------------------


@dataclass
class FilePlan:
    """Learner files to move into `backup`, reference files to copy into `versions`.

    `remove` holds unchanged copies of reference revisions beyond the target: the course has
    them, so they are deleted rather than backed up.
    """

    versions: Path
    backup: Path
    move: list[Path]
    copy: list[Path]
    remove: list[Path] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.move or self.copy or self.remove)

    def to_json(self) -> dict[str, Any]:
        return {
            "versions": str(self.versions),
            "backup": str(self.backup) if self.move else None,
            "moved": [p.name for p in self.move],
            "copied": [p.name for p in self.copy],
            "removed": [p.name for p in self.remove],
        }


def plan_files(workspace: Path, target: Target) -> FilePlan | None:
    """What reset does to a learner workspace's scripts, or None when there is nothing to do.

    Files that are exactly the reference revisions the target needs stay; every other `.py`
    file in migrations/versions/ (the learner's own work) is moved to a numbered backup folder;
    the missing reference revisions are copied in. The course's own checkout is left alone.
    """
    if not (workspace / "alembic.ini").is_file():
        return None
    versions = versions_location(workspace)
    if not versions.is_dir():
        return None
    try:
        reference = reference_versions()
    except MigtutorError:
        return None
    if versions.resolve() == reference.resolve():
        return None
    needed = {reference_file(rev).name: reference_file(rev) for rev in target.revisions}
    others = {reference_file(rev).name: reference_file(rev) for rev in reference_ids()}
    move, remove = [], []
    for path in sorted(versions.glob("*.py")):
        source = others.get(path.name)
        if source is None or not filecmp.cmp(path, source, shallow=False):
            move.append(path)  # the learner's own work (or an edited copy): kept in the backup
        elif path.name in needed:
            needed.pop(path.name)
        else:
            remove.append(path)  # an unchanged copy of a later reference revision
    backups = workspace / ".migtutor" / "backup"
    number = 1
    while (backups / f"versions-{number}").exists():
        number += 1
    plan = FilePlan(versions, backups / f"versions-{number}", move, sorted(needed.values()), remove)
    return plan if plan.changes else None


def apply_files(plan: FilePlan) -> None:
    try:
        if plan.move:
            plan.backup.mkdir(parents=True, exist_ok=False)
            for path in plan.move:
                shutil.move(str(path), plan.backup / path.name)
        for path in plan.remove:
            path.unlink()
        for source in plan.copy:
            shutil.copy2(source, plan.versions / source.name)
    except OSError as exc:
        raise MigtutorError(
            f"The database was reset, but the revision files in {plan.versions} could not be "
            f"updated: {exc.strerror} ({exc.filename}). Your own files are in {plan.backup} or "
            "still in place; copy the reference revisions in by hand."
        ) from exc


def set_progress(workspace: Path, target: Target) -> int | None:
    """Point a learner workspace's lesson progress at the target's lesson; None if not a workspace.

    Lessons before it count as completed, so `migtutor lesson show` opens the lesson the
    database is now ready for.
    """
    if not (workspace / "alembic.ini").is_file():
        return None
    with contextlib.suppress(MigtutorError):
        if workspace.resolve() == course_root().resolve():
            return None
    from migtutor.lessons import load_lessons
    from migtutor.progress import Progress, save_progress

    lessons = load_lessons()
    if target.lesson > len(lessons):
        last = lessons[-1]
        progress = Progress(last.number, len(last.steps), [n.number for n in lessons])
    else:
        progress = Progress(target.lesson, 0, list(range(1, target.lesson)))
    save_progress(workspace, progress)
    return target.lesson
