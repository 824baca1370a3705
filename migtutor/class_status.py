"""`class status`: each student's database compared, whole, with the course's reference states.

The reference states (the schema at the start of each lesson) come from reference_states.py,
built once per course and server and cached. Each student's database is read as its owner (a
throwaway member of the student's role: see pg_sessions.py) over one plain driver connection,
in one statement: schema.py's catalog query, the recorded revisions and the progress row. Then
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

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migtutor.classroom import Server, check_prefix, enterable, in_parallel
from migtutor.course import course_tables, lessons_at, reference_ids
from migtutor.errors import MigtutorError
from migtutor.pg_sessions import OwnerLogins, server_message
from migtutor.progress_table import COLUMNS, PROGRESS_TABLE, SELECT_ROW, ProgressRow, from_values
from migtutor.reference_states import course_part, reference_snapshots
from migtutor.reset import lesson_of
from migtutor.schema import (
    POSTGRES_CATALOG_QUERY,
    VERSION_TABLE,
    Schema,
    diff,
    from_postgres_catalog,
)

if TYPE_CHECKING:
    from migtutor.settings import DatabaseSettings

READ_LIMIT = 5.0  # seconds a student's row may take to read (MIGTUTOR_LOCK_TIMEOUT may lower it)
STATES = ("reference", "own revisions", "changed by hand", "missing", "unreachable")
PROBLEMS = ("changed by hand", "missing", "unreachable")
SORT_KEYS = ("student", "lesson", "state", "progress", "checked")
# Helpers with a password are made this many at a time, the first students read while the next
# are made, and in HELPER_SESSIONS administrator sessions at once: each costs the server a SCRAM
# hash of the password (PostgreSQL checks that the empty password does not match), a third of
# what reading a student costs, and in one session they would be a chain the readers wait on.
# Where the server needs no password (pg_sessions.OwnerLogins.passwordless), a helper costs it
# almost nothing, and they are all made at once.
HELPER_BATCH = 8
HELPER_SESSIONS = 2
# A helper made for one reading serves the next ones (`--watch`) for this long: half of
# pg_sessions.HELPER_LIFETIME, after which the server no longer takes its password.
HELPER_REUSE_SECONDS = 30 * 60


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


# -- the students ---------------------------------------------------------------------------------


def class_status(database: DatabaseSettings, prefix: str) -> ClassStatus:
    """Each recorded student's database, read as its owner; a dropped database shows as missing."""
    with StatusReader(database, prefix) as reader:
        return reader.read()


class StatusReader:
    """Reads the class once, or again and again (`--watch`) over the same sessions.

    The helpers made for one reading serve the next ones for half their lifetime (see
    HELPER_REUSE_SECONDS), so a refresh costs the server no new SCRAM hashes; a helper that
    could not log in is replaced at the next reading. Leaving drops them all. Keeping one is
    safe: it is a member of its student's role only, so whatever her code did to it in a
    reading (set its password, its own settings) gives her no right she lacks, and the next
    session's settings are pinned in its start-up packet again. A helper is never handed on to
    another student.
    """

    def __init__(self, database: DatabaseSettings, prefix: str) -> None:
        self.database = database
        self.prefix = check_prefix(prefix)
        self._stack = ExitStack()
        self._helpers: dict[str, tuple[str, float]] = {}  # database -> (helper, made at)
        self._retry: set[str] = set()  # databases whose helper could not log in
        self._reader: _Reader | None = None
        self._logins: OwnerLogins | None = None
        self._sessions: list[Any] = []
        self._makers: ThreadPoolExecutor | None = None

    def __enter__(self) -> StatusReader:
        with ExitStack() as stack:
            self.server = stack.enter_context(Server(self.database))
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def read(self) -> ClassStatus:
        server = self.server
        members = list(server.members(self.prefix).values())
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
            failed = self._read_inside([m.name for m in inside], rows)
            for name, exc in failed.items():  # not the server's refusal: say what it was
                rows[name].state = "unreachable"
                rows[name].detail = f"{type(exc).__name__}: {exc}"
        return result

    def _start(self) -> tuple[_Reader, OwnerLogins]:
        """The reference states, the helpers' maker and its sessions, on the first reading."""
        if self._reader is None or self._logins is None or self._makers is None:
            server = self.server
            server.require(create_roles=True)
            self._reader = _Reader(server.connection.dialect, reference_snapshots(server))
            self._logins = self._stack.enter_context(OwnerLogins(server.connection, server.url))
            self._sessions = self._stack.enter_context(_admin_sessions(server, HELPER_SESSIONS))
            self._makers = self._stack.enter_context(ThreadPoolExecutor(len(self._sessions)))
        return self._reader, self._logins

    def _read_inside(
        self, names: list[str], rows: dict[str, StudentStatus]
    ) -> dict[str, BaseException]:
        reader, logins = self._start()
        expired = time.monotonic() - HELPER_REUSE_SECONDS
        old = [
            database
            for database, (_, made) in self._helpers.items()
            if made < expired or database in self._retry or database not in names
        ]
        logins.drop([self._helpers.pop(database)[0] for database in old])
        self._retry.clear()
        helpers = self._helpers

        def prepare(batch: list[str]) -> None:
            batch = [name for name in batch if name not in helpers]
            shares = [batch[i :: len(self._sessions)] for i in range(len(self._sessions))]
            assert self._makers is not None
            jobs = [
                self._makers.submit(logins.prepare, [(name, name) for name in share], session)
                for share, session in zip(shares, self._sessions, strict=True)
                if share
            ]
            for job in jobs:  # all finish before an error of one is raised
                job.exception()
            made = time.monotonic()
            for job in jobs:
                helpers.update((name, (helper, made)) for name, helper in job.result().items())

        def read(name: str) -> None:
            connection = None
            try:
                try:
                    connection = logins.connect(helpers[name][0], name, reader.settings)
                except reader.errors:
                    self._retry.add(name)  # e.g. its password was changed from inside
                    raise
                reader.read(connection, rows[name])
            except reader.errors as exc:
                rows[name].state = "unreachable"
                rows[name].detail = server_message(exc)
            finally:
                if connection is not None:
                    connection.close()

        first = next((name for name in names if name not in helpers), None)
        if logins.passwordless is None and first is not None:
            prepare([first])  # decides it
        batch = len(names) if logins.passwordless else HELPER_BATCH
        return in_parallel(read, names, prepare=prepare, batch=max(1, batch))


@contextmanager
def _admin_sessions(server: Server, count: int) -> Iterator[list[Any]]:
    """The administrator's session and `count - 1` more like it (pinned settings, catalogs
    only), to make helpers in at once."""
    more = [server.connection.engine.connect() for _ in range(count - 1)]
    try:
        yield [server.connection, *more]
    finally:
        for session in more:
            session.close()


# Everything a row needs, in one statement: the schema (schema.py's catalog query), the
# revisions recorded in alembic_version and the progress row. The two tables are the student's
# and may be missing or anything else: each is read through query_to_xml, which runs its query
# only when the CASE finds the table, and turned back into values with XMLTABLE.
_VERSIONS = (
    "CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_class c "
    f"WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('{VERSION_TABLE}') "
    "AND c.relkind IN ('r', 'p')) "
    "THEN (SELECT pg_catalog.json_agg(x.version_num) FROM XMLTABLE('/table/row' PASSING "
    f"pg_catalog.query_to_xml('SELECT version_num FROM {VERSION_TABLE}', false, false, '') "
    "COLUMNS version_num text PATH 'version_num') x) END"
)
_PROGRESS = (
    "CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_class c "
    f"WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('{PROGRESS_TABLE}') "
    "AND c.relkind IN ('r', 'p')) "
    f"THEN (SELECT pg_catalog.json_build_array({', '.join('x.' + c for c in COLUMNS)}) "
    "FROM XMLTABLE('/table/row' PASSING "
    f"pg_catalog.query_to_xml('{SELECT_ROW}', false, false, '') "
    f"COLUMNS {', '.join(f'{c} text PATH {chr(39)}{c}{chr(39)}' for c in COLUMNS)}) x "
    "LIMIT 1) END"
)
_STATUS_QUERY = f"SELECT ({POSTGRES_CATALOG_QUERY}), {_VERSIONS}, {_PROGRESS}"


class _Reader:
    """Reads one student's row over a plain driver connection (any thread)."""

    def __init__(self, dialect: Any, references: dict[str | None, Schema]) -> None:
        import sqlalchemy as sa
        from psycopg2 import Error

        from migtutor.locks import lock_timeout

        self.dialect = dialect
        self.references = references
        self.errors = Error
        # Her tables may run her code while they are read (a row-level security policy, a
        # table that is not what its name says): it runs read-only, and a read that takes
        # longer than READ_LIMIT, slow code or a lock her open transaction holds, makes her row
        # unreachable instead of holding up the whole dashboard.
        limit = max(1, round(min(lock_timeout(), READ_LIMIT) * 1000))
        self.settings = {
            "lock_timeout": str(limit),
            "statement_timeout": str(limit + 1000),  # a lock wait ends first, and says so
            "default_transaction_read_only": "on",
        }
        self.statements = {
            name: str(sa.text(sql).compile(dialect=dialect))
            for name, sql in (("status", _STATUS_QUERY), ("schema", POSTGRES_CATALOG_QUERY))
        }

    def read(self, connection: Any, status: StudentStatus) -> None:
        with connection.cursor() as cursor:
            try:
                cursor.execute(self.statements["status"], {"schema": None})
                document, versions, progress = cursor.fetchone()
            except self.errors as exc:
                if not _data_error(exc):
                    raise
                # Her alembic_version or migtutor_progress could not be read whole: read each
                # part on its own, as separate statements.
                document, versions, progress = self._one_by_one(cursor)
        schema = from_postgres_catalog(document, self.dialect)
        if VERSION_TABLE in schema.tables:
            status.current = sorted(str(version) for version in versions or [])
        status.progress = from_values(progress) if progress else None
        judge(status, course_part(schema), self.references)

    def _one_by_one(self, cursor: Any) -> tuple[Any, Any, Any]:
        cursor.execute(self.statements["schema"], {"schema": None})
        document = cursor.fetchone()[0]
        versions = None
        if any(table[0] == VERSION_TABLE for table in document["tables"] or []):
            cursor.execute(f"SELECT version_num FROM {VERSION_TABLE}")  # a failure: unreachable
            versions = [row[0] for row in cursor.fetchall()]
        try:
            cursor.execute(SELECT_ROW)
            progress = cursor.fetchone()
        except self.errors:  # a table of that name made by someone else
            progress = None
        return document, versions, progress


def _data_error(exc: BaseException) -> bool:
    """An error in what the statement read, not in the session: a lock that was not granted,
    a cancel or a lost connection is not answered by reading again."""
    code = getattr(exc, "pgcode", None) or ""
    return bool(code) and not code.startswith(("08", "57", "53")) and code != "55P03"


def judge(status: StudentStatus, schema: Schema, references: dict[str | None, Schema]) -> None:
    """Set the row's state, lesson, tables and differences from its schema and revisions."""
    status.tables = schema.table_names
    recorded = status.current[0] if len(status.current) == 1 else None
    if len(status.current) > 1:
        status.state = "own revisions"
        status.detail = "several heads recorded"
        nearest = _nearest(schema, references)
    elif not status.current or recorded in reference_ids():
        status.lesson = _lesson_at(recorded, status.progress)
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
            status.lesson = _lesson_at(nearest, status.progress)
            status.detail = f"schema matches the start of lesson {status.lesson}"
            return
    changes = _differences(references[nearest], schema, references)
    status.differences = changes
    status.detail = f"nearest reference: start of lesson {lesson_of(nearest)}: " + "; ".join(
        changes
    )


def _lesson_at(revision: str | None, progress: ProgressRow | None) -> int | None:
    """The lesson a reference state is the start of. Where several start there, the schema
    cannot tell them apart: the one the student's progress names, else the first."""
    starting = lessons_at(revision)
    if progress is not None and progress.lesson in starting:
        return progress.lesson
    return starting[0] if starting else None


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
