"""The schema at the start of each lesson, on a class's server, for `class status` to compare with.

Built by running the course's reference SQL (Alembic's offline mode, as `class reset` runs it)
revision by revision in a scratch schema of the administrator's maintenance database, inside a
transaction that is rolled back, reading each state with schema.py's catalog query. An
administrator without CREATE there (CREATEDB, not a superuser) gets a throwaway database of
their own instead, dropped afterwards.

What the catalog query returned for each state (plain JSON, never code) is kept on the
instructor's machine, in `$XDG_CACHE_HOME/migtutor/` (default `~/.cache/migtutor/`;
MIGTUTOR_CACHE_DIR chooses another directory), under a hash of everything that decides it: the
course's alembic.ini and migration files, its lesson order, the catalog query, the server's
version, and the versions of Alembic and SQLAlchemy. The next `class status` then neither
imports Alembic nor builds anything. The documents are parsed on every use by the code that
parses a student's, so a parser change needs no new cache. A cache file is used only when it
is the user's own in a directory of theirs that nobody else may write; one that does not
parse, holds another key or lacks a state is ignored and written anew.

This module prints nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migtutor.course import reference_ids
from migtutor.errors import MigtutorError
from migtutor.schema import POSTGRES_CATALOG_QUERY, VERSION_TABLE, Schema, from_postgres_catalog

if TYPE_CHECKING:
    from migtutor.classroom import Server

CACHE_FORMAT = 1  # raise when the file's layout changes
CACHE_PREFIX = "reference-states-"
MAX_CACHE_BYTES = 10_000_000  # far above any course's; a bigger file is not read

Documents = dict[str | None, dict[str, Any]]  # reference revision (None: base) -> catalog JSON


def reference_snapshots(server: Server) -> dict[str | None, Schema]:
    """The course's part of the schema at every reference state (None: before the first)."""
    dialect = server.connection.dialect
    key = cache_key(server)
    cached = _load(key)
    if cached is not None:
        try:
            return _parsed(cached, dialect)
        except Exception:  # a document that is not what the catalog query returns: rebuild
            pass
    documents = _build(server)
    _store(key, documents)
    return _parsed(documents, dialect)


def _parsed(documents: Documents, dialect: Any) -> dict[str | None, Schema]:
    return {rev: course_part(from_postgres_catalog(doc, dialect)) for rev, doc in documents.items()}


def course_part(schema: Schema) -> Schema:
    """The schema without Alembic's bookkeeping table."""
    schema.tables.pop(VERSION_TABLE, None)
    return schema


# -- building --------------------------------------------------------------------------------------


def _build(server: Server) -> Documents:
    import sqlalchemy as sa

    from migtutor.pg_sessions import admin_engine
    from migtutor.reset import parse_target, upgrade_sql

    script = upgrade_sql(parse_target("head"), server.url_for(server.url.database or "postgres"))
    scratch = f"migtutor_reference_{uuid.uuid4().hex[:8]}"
    can_create = server.run(
        "SELECT has_database_privilege(current_database(), 'CREATE')", "read privileges"
    ).scalar_one()
    if can_create:
        try:
            with server.connection.engine.connect() as connection:
                return _run(connection, script, scratch)
        except sa.exc.DBAPIError as exc:
            raise MigtutorError(
                f"Could not build the course's reference schemas: {exc.orig}"
            ) from None
    quoted = server.q(scratch)
    server.run(f"CREATE DATABASE {quoted} TEMPLATE template0", "create a scratch database")
    try:
        server.run(f"REVOKE CONNECT ON DATABASE {quoted} FROM PUBLIC", "close the scratch database")
        engine = admin_engine(server.url.set(database=scratch))
        try:
            with engine.connect() as connection:
                # A schema of its own, not `public`: on PostgreSQL 14 and older anyone who
                # reached the database before the REVOKE could have put objects in `public`
                # that would shadow pg_catalog's for the administrator.
                return _run(connection, script, scratch)
        finally:
            engine.dispose()
    except sa.exc.DBAPIError as exc:
        raise MigtutorError(f"Could not build the course's reference schemas: {exc.orig}") from None
    finally:
        server.run(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)", "drop the scratch database")


def _run(connection: Any, script: str, scratch: str) -> Documents:
    """Run the reference SQL revision by revision in `scratch`, reading each state; roll back.

    The search path is the scratch schema alone, so the catalog query (given no schema) reads
    it as it reads a student's public schema: sequence defaults name no schema.
    """
    from sqlalchemy import text

    states: Documents = {}
    connection = connection.execution_options(isolation_level="READ COMMITTED")
    transaction = connection.begin()
    try:
        connection.exec_driver_sql(f"CREATE SCHEMA {scratch}")
        connection.exec_driver_sql(f"SET LOCAL search_path = {scratch}, pg_catalog")
        query = text(POSTGRES_CATALOG_QUERY)
        for index, chunk in enumerate(script.split("-- Running upgrade")):
            revision = None if index == 0 else chunk.split("->", 1)[1].split()[0]
            if chunk.strip():
                connection.exec_driver_sql(chunk if index == 0 else chunk.split("\n", 1)[1])
            states[revision] = connection.execute(query, {"schema": scratch}).scalar_one()
    finally:
        transaction.rollback()
    if set(states) != {None, *reference_ids()}:
        raise MigtutorError("The course's reference SQL does not match its revision list.")
    return states


# -- the cache -------------------------------------------------------------------------------------


BUILT_BY = ("reference_states.py", "reset.py", "alembic_config.py")


def cache_dir() -> Path:
    """MIGTUTOR_CACHE_DIR, else `$XDG_CACHE_HOME/migtutor`, else ~/.cache/migtutor (a
    relative path in either variable is not used)."""
    own = os.environ.get("MIGTUTOR_CACHE_DIR", "")
    if os.path.isabs(own):
        return Path(own)
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "migtutor"


def cache_key(server: Server) -> str:
    """A hash of everything the reference states depend on."""
    import sqlalchemy

    from migtutor.course_files import course_root, reference_ini

    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    add("format", str(CACHE_FORMAT).encode())
    add("server", str(server.connection.connection.dbapi_connection.server_version).encode())
    add("query", POSTGRES_CATALOG_QUERY.encode())
    add("lessons", json.dumps(reference_ids()).encode())
    add("sqlalchemy", sqlalchemy.__version__.encode())
    add("alembic", _alembic_version_file())
    add("alembic.ini", reference_ini().read_bytes())
    # migtutor's own code that builds the states: a new release that builds them otherwise
    # must not read an old one's.
    package = Path(__file__).resolve().parent
    for module in BUILT_BY:
        add(module, (package / module).read_bytes())
    migrations = course_root() / "migrations"
    for path in sorted(migrations.rglob("*.py")):
        if "__pycache__" not in path.parts:
            add(path.relative_to(migrations).as_posix(), path.read_bytes())
    return digest.hexdigest()


def _alembic_version_file() -> bytes:
    """Alembic's `__init__.py`, which holds its version, read without importing Alembic."""
    import importlib.util

    spec = importlib.util.find_spec("alembic")
    if spec is None or spec.origin is None:
        return b""
    return Path(spec.origin).read_bytes()


def _cache_file(key: str) -> Path:
    """The file for `key`; OSError where there is no home to keep it in."""
    directory = cache_dir()
    if not directory.is_absolute():  # no HOME and no password entry: keep nothing
        raise FileNotFoundError(directory)
    return directory / f"{CACHE_PREFIX}{key[:32]}.json"


def _ours(info: os.stat_result, kind: int) -> bool:
    """Of this kind, the user's own, and writable by nobody else."""
    return (
        stat.S_IFMT(info.st_mode) == kind
        and info.st_uid == os.geteuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def _load(key: str) -> Documents | None:
    """The cached documents for `key`, or None when there is no trustworthy cache."""
    try:
        path = _cache_file(key)
        if not _ours(path.parent.lstat(), stat.S_IFDIR):
            return None
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        with os.fdopen(descriptor, "rb") as handle:
            if not _ours(os.fstat(handle.fileno()), stat.S_IFREG):
                return None
            data = json.loads(handle.read(MAX_CACHE_BYTES + 1))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    states = data.get("states")
    if not isinstance(states, list) or not all(
        isinstance(s, list)
        and len(s) == 2
        and isinstance(s[0], str | None)
        and isinstance(s[1], dict)
        for s in states
    ):
        return None
    documents: Documents = {revision: document for revision, document in states}
    if set(documents) != {None, *reference_ids()} or len(documents) != len(states):
        return None
    return documents


def _store(key: str, documents: Documents) -> None:
    """Keep the documents for the next run; a cache that cannot be written is no error."""
    from migtutor.atomic import write_atomic

    try:
        path = _cache_file(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _ours(path.parent.lstat(), stat.S_IFDIR):
            return
        states = [[revision, document] for revision, document in documents.items()]
        write_atomic(path, json.dumps({"key": key, "states": states}), mode=0o600)
    except OSError:
        return
