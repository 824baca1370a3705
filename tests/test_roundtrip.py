"""The scratch place a learner's revision is tried in: a temporary schema of their own
PostgreSQL database (no CREATEDB needed), gone afterwards, and an abandoned one cleaned up."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from migtutor.roundtrip import scratch_database

pytestmark = pytest.mark.postgres


def schemas(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        names = connection.execute(
            sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'migtutor_scratch_%'")
        ).scalars()
        result = set(names)
    engine.dispose()
    return result


def test_a_scratch_schema_holds_the_tables_and_goes_away(postgres_url: str) -> None:
    with scratch_database(postgres_url) as url:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE posts (id integer PRIMARY KEY)"))
            where = connection.execute(sa.text("SELECT current_schema()")).scalar()
        engine.dispose()
        assert where.startswith("migtutor_scratch_") and schemas(postgres_url) == {where}
    assert schemas(postgres_url) == set()
    learner = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with learner.connect() as connection:
        assert sa.inspect(connection).get_table_names() == []  # nothing in the learner's schema
    learner.dispose()


def test_an_abandoned_scratch_schema_is_dropped_and_a_busy_one_kept(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    busy = engine.connect()
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE SCHEMA migtutor_scratch_dead"))
        connection.execute(sa.text("CREATE SCHEMA migtutor_scratch_busy"))
    busy.execute(sa.text("SELECT pg_advisory_lock(hashtext('migtutor_scratch_busy'))"))
    try:
        with scratch_database(postgres_url):
            assert "migtutor_scratch_dead" not in schemas(postgres_url)
            assert "migtutor_scratch_busy" in schemas(postgres_url)
    finally:
        busy.close()
        engine.dispose()
    assert schemas(postgres_url) == {"migtutor_scratch_busy"}
