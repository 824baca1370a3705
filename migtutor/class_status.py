"""`class status`: each student's database compared, whole, with the course's reference states.

The reference states are built once per command: the course's reference SQL (Alembic's
offline mode, as `class reset` runs it) is applied, one revision after another, in a scratch
schema of the administrator's maintenance database inside a transaction that is rolled back,
and each state is read with `schema.snapshot`. Each student's database is read as its owner
(a throwaway member of the student's role: see pg_sessions.py) with the same function, and
`schema.diff` names every difference: types, nullability, defaults, keys, ON DELETE, indexes,
views, sequences no column owns, other schemas.

States:
- `reference`: a course revision is recorded (or none, at base) and the schema is exactly its.
- `changed by hand`: a course revision is recorded but the schema differs (the differences are
  listed), or the database belongs to someone else than the student.
- `own revisions`: a revision id that is not the course's. The server cannot see the student's
  files, so an id typed into alembic_version by hand cannot be told from one the student's own
  revision wrote: when the schema is exactly a reference state, the row says which lesson it
  matches; otherwise it lists the differences from the nearest reference state.
- `missing` (the database is gone), `unreachable` (it could not be read).
A course table present with only some of the columns the state expects is named half-built.

Each row also carries what the student's migtutor recorded in `migtutor_progress` (lesson,
step, last check, its verdict and when): see progress_table.py.

This module prints nothing.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migtutor.classroom import Server, check_prefix, enterable, in_parallel
from migtutor.course import course_tables, reference_ids
from migtutor.errors import MigtutorError
from migtutor.pg_sessions import OwnerLogins, server_message
from migtutor.progress_table import ProgressRow, read_row
from migtutor.reset import lesson_of, parse_target, upgrade_sql
from migtutor.schema import VERSION_TABLE, Schema, diff, snapshot

if TYPE_CHECKING:
    from migtutor.settings import DatabaseSettings

STATES = ("reference", "own revisions", "changed by hand", "missing", "unreachable")
PROBLEMS = ("changed by hand", "missing", "unreachable")
SORT_KEYS = ("student", "lesson", "state", "progress", "checked")


@dataclass
class StudentStatus:
    student: str
    database: str
    current: list[str] = field(default_factory=list)
    lesson: int | None = None
    state: str = ""  # one of STATES
    tables: list[str] = field(default_factory=list)
    detail: str = ""
    differences: list[str] = field(default_factory=list)
    progress: ProgressRow | None = None

    @property
    def needs_attention(self) -> bool:
        return self.state in PROBLEMS

    def to_json(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "database": self.database,
            "current": self.current,
            "lesson": self.lesson,
            "state": self.state,
            "tables": self.tables,
            "detail": self.detail,
            "differences": self.differences,
            "progress": self.progress.to_json() if self.progress else None,
        }


@dataclass
class ClassStatus:
    students: list[StudentStatus]
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """How many students at each lesson, and in each state."""
        lessons: dict[str, int] = {}
        for row in self.students:
            if row.lesson is not None:
                key = str(row.lesson)
                lessons[key] = lessons.get(key, 0) + 1
        states = {state: sum(row.state == state for row in self.students) for state in STATES}
        return {"students": len(self.students), "lessons": lessons, "states": states}


def sort_rows(rows: list[StudentStatus], key: str) -> list[StudentStatus]:
    """Rows by `key` (one of SORT_KEYS), then by student."""
    if key not in SORT_KEYS:
        raise MigtutorError(f"Cannot sort by {key!r}: use one of {', '.join(SORT_KEYS)}.")
    far = 10**6

    def order(row: StudentStatus) -> tuple[Any, ...]:
        progress = row.progress
        return {
            "student": (),
            "lesson": (row.lesson if row.lesson is not None else far,),
            "state": (STATES.index(row.state) if row.state in STATES else far,),
            "progress": ((progress.lesson, progress.step) if progress else (far, far),),
            "checked": ((progress.checked_at or "") if progress else "",),
        }[key] + (row.student,)

    return sorted(rows, key=order)


# -- the reference states -------------------------------------------------------------------------


def reference_snapshots(server: Server) -> dict[str | None, Schema]:
    """The schema of every reference state, built where nothing of it can stay behind.

    A scratch schema of the maintenance database, in a transaction that is rolled back; an
    administrator without CREATE there (CREATEDB, not a superuser) gets a throwaway database
    of their own instead, dropped afterwards.
    """
    import sqlalchemy as sa

    script = upgrade_sql(parse_target("head"), server.url_for(server.url.database or "postgres"))
    scratch = f"migtutor_reference_{uuid.uuid4().hex[:8]}"
    can_create = server.run(
        "SELECT has_database_privilege(current_database(), 'CREATE')", "read privileges"
    ).scalar_one()
    if can_create:
        try:
            with server.connection.engine.connect() as connection:
                return _build(connection, script, scratch, create=True)
        except sa.exc.DBAPIError as exc:
            raise MigtutorError(
                f"Could not build the course's reference schemas: {exc.orig}"
            ) from None
    from migtutor.pg_sessions import admin_engine

    quoted = server.q(scratch)
    server.run(f"CREATE DATABASE {quoted} TEMPLATE template0", "create a scratch database")
    try:
        engine = admin_engine(server.url.set(database=scratch))
        try:
            with engine.connect() as connection:
                return _build(connection, script, "public", create=False)
        finally:
            engine.dispose()
    except sa.exc.DBAPIError as exc:
        raise MigtutorError(f"Could not build the course's reference schemas: {exc.orig}") from None
    finally:
        server.run(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)", "drop the scratch database")


def _build(connection: Any, script: str, scratch: str, *, create: bool) -> dict[str | None, Schema]:
    """Run the reference SQL revision by revision in `scratch`, reading each state; roll back."""
    states: dict[str | None, Schema] = {}
    connection = connection.execution_options(isolation_level="READ COMMITTED")
    transaction = connection.begin()
    try:
        if create:
            connection.exec_driver_sql(f"CREATE SCHEMA {scratch}")
        connection.exec_driver_sql(f"SET LOCAL search_path = {scratch}, pg_catalog")
        for index, chunk in enumerate(script.split("-- Running upgrade")):
            revision = None if index == 0 else chunk.split("->", 1)[1].split()[0]
            if chunk.strip():
                connection.exec_driver_sql(chunk if index == 0 else chunk.split("\n", 1)[1])
            found = snapshot(connection, row_counts=False, schema=scratch)
            states[revision] = _unqualified(_course_part(found), scratch)
    finally:
        transaction.rollback()
    if set(states) != {None, *reference_ids()}:
        raise MigtutorError("The course's reference SQL does not match its revision list.")
    return states


def _unqualified(schema: Schema, scratch: str) -> Schema:
    """SQLAlchemy names the schema in a sequence default read from another schema: drop it."""
    from dataclasses import replace

    for table in schema.tables.values():
        table.columns = [
            replace(c, default=c.default.replace(f'"{scratch}".', ""))
            if c.default is not None
            else c
            for c in table.columns
        ]
    return schema


def _course_part(schema: Schema) -> Schema:
    schema.tables.pop(VERSION_TABLE, None)
    return schema


# -- the students ---------------------------------------------------------------------------------


def class_status(database: DatabaseSettings, prefix: str) -> ClassStatus:
    """Each recorded student's database, read as its owner; a dropped database shows as missing."""
    prefix = check_prefix(prefix)
    with Server(database) as server:
        members = list(server.members(prefix).values())
        result = ClassStatus([StudentStatus(m.student, m.name) for m in members])
        result.warnings = server.trust_warnings()
        rows = dict(zip((m.name for m in members), result.students, strict=True))
        inside = [m for m in members if enterable(m)]
        for member in members:
            row = rows[member.name]
            if not member.has_database:
                row.state = "missing"
                row.detail = "the database is gone; `class create ROSTER` re-creates it"
            elif not enterable(member):
                row.state = "changed by hand"
                row.detail = (
                    f"the database belongs to {member.database_owner}, not to the student; "
                    "left unread"
                )
        if inside:
            server.require(create_roles=True)
            references = reference_snapshots(server)
            with OwnerLogins(server.connection, server.url) as logins:
                helpers = logins.prepare([(m.name, m.name) for m in inside])
                current = threading.local()
                current.pair = (helpers[inside[0].name], inside[0].name)
                engine = logins.shared_engine(lambda: current.pair)
                try:

                    def read(member: Any) -> None:
                        current.pair = (helpers[member.name], member.name)
                        _read_status(engine, rows[member.name], references)

                    in_parallel(read, inside)
                finally:
                    engine.dispose()
    return result


def _read_status(
    engine: Any,
    status: StudentStatus,
    references: dict[str | None, Schema],
) -> None:
    import sqlalchemy as sa

    try:
        with engine.connect() as connection:
            schema = snapshot(connection, row_counts=False)
            if VERSION_TABLE in schema.tables:
                rows = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
                status.current = sorted(str(row[0]) for row in rows)
            status.progress = read_row(connection)
            connection.rollback()
    except sa.exc.DBAPIError as exc:
        status.state = "unreachable"
        status.detail = server_message(exc)
        return
    judge(status, _course_part(schema), references)


def judge(status: StudentStatus, schema: Schema, references: dict[str | None, Schema]) -> None:
    """Set the row's state, lesson, tables and differences from its schema and revisions."""
    status.tables = schema.table_names
    recorded = status.current[0] if len(status.current) == 1 else None
    if len(status.current) > 1:
        status.state = "own revisions"
        status.detail = "several heads recorded"
        nearest = _nearest(schema, references)
    elif not status.current or recorded in reference_ids():
        status.lesson = lesson_of(recorded)
        changes = _differences(references[recorded], schema, references)
        if not changes:
            status.state = "reference"
            return
        status.state = "changed by hand"
        status.differences = changes
        status.detail = "; ".join(changes)
        return
    else:
        status.state = "own revisions"
        nearest = _nearest(schema, references)
        if not _differences(references[nearest], schema, references):
            status.lesson = lesson_of(nearest)
            status.detail = f"schema matches the start of lesson {status.lesson}"
            return
    changes = _differences(references[nearest], schema, references)
    status.differences = changes
    status.detail = f"nearest reference: start of lesson {lesson_of(nearest)}: " + "; ".join(
        changes
    )


def _nearest(schema: Schema, references: dict[str | None, Schema]) -> str | None:
    """The reference state with the fewest differences (the later one on a tie)."""
    ranked = sorted(
        references,
        key=lambda rev: (len(diff(references[rev], schema)), -(lesson_of(rev) or 0)),
    )
    return ranked[0]


def _differences(
    expected: Schema, actual: Schema, references: dict[str | None, Schema]
) -> list[str]:
    """What the student's schema has that the reference state does not (and lacks)."""
    notes = [str(change) for change in diff(expected, actual)]
    for name in course_tables():
        # A course table is judged by the state's shape, or by its shape when first created.
        first = (references[rev].tables.get(name) for rev in reference_ids())
        want = expected.tables.get(name) or next((t for t in first if t is not None), None)
        have = actual.tables.get(name)
        if want is None or have is None:
            continue
        present = [c for c in want.column_names if c in have.column_names]
        if len(present) < len(want.column_names) and set(have.column_names) <= set(
            want.column_names
        ):
            notes.insert(
                0,
                f"{name} half-built ({len(present)} of {len(want.column_names)} columns: "
                f"{', '.join(present)})",
            )
    return notes
