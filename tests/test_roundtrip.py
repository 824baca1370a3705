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


def test_the_check_does_not_wait_for_the_learners_migrations(
    cli, workspace, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scratch schema is the check's alone: a migration running in another terminal (its
    lock held here) neither delays `lesson check` nor is delayed by it."""
    import shutil
    from pathlib import Path

    from migtutor.migrate import LOCK_KEY

    monkeypatch.setenv("MIGTUTOR_LOCK_TIMEOUT", "1")
    ws = ("-w", str(workspace), "-d", postgres_url)
    versions = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    reference = next(versions.glob("l1_posts_*.py"))
    shutil.copy(reference, workspace / "migrations" / "versions" / reference.name)
    assert cli(*ws, "lesson", "check").exit_code == 0  # step 1: the revision exists
    other = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with other.connect() as migrating:
        migrating.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        waiting = cli(*ws, "upgrade", "head")  # the learner's own database does wait
        assert waiting.exit_code == 1 and "Another migration is running" in waiting.stderr
        checked = cli(*ws, "--json", "lesson", "check")  # step 2: the trial on a scratch copy
        assert checked.json() == {"lesson": 1, "step": 2, "passed": True, "problems": []}
    other.dispose()
