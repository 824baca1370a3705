"""Engines: the one place a database connection is made.

Importing this module imports SQLAlchemy; only commands that need a database do.
"""

from __future__ import annotations

from sqlalchemy import create_engine as _sa_create_engine
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool


def create_engine(url: str, **options) -> Engine:
    """An engine for one command: no pool to linger, and real DDL transactions on SQLite.

    pysqlite normally commits before every DDL statement, so a migration that fails halfway
    would leave its first statements applied. Taking over BEGIN ourselves (the recipe in
    SQLAlchemy's SQLite dialect documentation) makes `CREATE`/`ALTER`/`DROP` transactional.
    """
    engine = _sa_create_engine(url, poolclass=NullPool, **options)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _explicit_begin(connection) -> None:
            connection.exec_driver_sql("BEGIN")

    return engine
