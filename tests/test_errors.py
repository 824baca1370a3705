"""errors.translate on the errors the libraries really raise (Alembic, SQLAlchemy, psycopg2,
sqlite3), not on hand-written strings: CI runs these on the lowest and the newest versions, so a
reworded library message shows up here, and anything unmatched still reads as one paragraph."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from migtutor.errors import MESSAGES, MigtutorError, says, translate
from migtutor.migrate import Migrator
from migtutor.settings import DatabaseSettings


def raised(action: Callable[[], object]) -> BaseException:
    try:
        action()
    except BaseException as exc:  # noqa: BLE001  (any error is what the test looks at)
        return exc
    raise AssertionError("no error was raised")


def explained(exc: BaseException, *words: str) -> str:
    known = translate(exc)
    assert isinstance(known, MigtutorError), repr(exc)
    message = known.message
    assert "\n" not in message.strip() and "Traceback" not in message
    for word in words:
        assert word in message, message
    return message


@pytest.fixture
def migrator(course_workspace: Path, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'errors.db'}"
    with Migrator(course_workspace, DatabaseSettings(url=url, source="test")) as opened:
        yield opened


def test_alembic_refusals_are_explained(migrator: Migrator) -> None:
    explained(raised(lambda: migrator.upgrade("zzz999")), "zzz999", "migtutor history")
    explained(raised(lambda: migrator.upgrade("+9")), "not that many revisions")
    migrator.upgrade("l2_content")
    explained(raised(lambda: migrator.downgrade("l4_owner_fk")), "only goes back")
    explained(raised(lambda: migrator.revisions("l3_users:l1_posts")), "oldest first")
    explained(
        raised(lambda: migrator.revision("too early", autogenerate=True)),
        "migtutor upgrade head",
    )

    from alembic import command

    config = migrator.config()
    explained(raised(lambda: command.upgrade(config, "l1_posts:l3_users")), "--sql")


def test_several_heads_and_an_ambiguous_prefix(migrator: Migrator) -> None:
    for rev_id in ("abcd01", "abcd02"):
        migrator.revision(rev_id, rev_id=rev_id, head="l7_phone", splice=True)
    explained(raised(lambda: migrator.get("abcd")), "abcd01", "abcd02", "more characters")
    explained(raised(lambda: migrator.upgrade("head")), "merge heads")


def test_a_workspace_without_scripts_or_models(migrator: Migrator, course_workspace: Path) -> None:
    env_py = course_workspace / "migrations" / "env.py"
    env_py.write_text(
        env_py.read_text().replace("target_metadata = Base.metadata", "target_metadata = None")
    )
    migrator.upgrade("head")
    explained(raised(lambda: migrator.revision("x", autogenerate=True)), "target_metadata")
    shutil.rmtree(course_workspace / "migrations")
    fresh = Migrator(course_workspace, migrator.database)
    explained(raised(lambda: fresh.head_ids()), "migtutor init")


def test_an_unmatched_alembic_refusal_still_reads_as_a_paragraph(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    script = ScriptDirectory(
        str(tmp_path), version_locations=[str(tmp_path / "a"), str(tmp_path / "b")]
    )
    exc = raised(lambda: script.versions)
    assert not any(says(str(exc), kind) for kind in MESSAGES)
    explained(exc, "Alembic stopped: Multiple version_locations present", "migtutor doctor")


def test_a_revision_without_upgrade_names_its_file(workspace: Path, tmp_path: Path) -> None:
    (workspace / "migrations" / "versions" / "r1_half.py").write_text(
        'revision = "r1"\ndown_revision = None\n\ndef downgrade():\n    pass\n'
    )
    url = f"sqlite:///{tmp_path / 'half.db'}"
    with Migrator(workspace, DatabaseSettings(url=url, source="test")) as migrator:
        exc = raised(lambda: migrator.upgrade("head"))
        explained(exc, "r1_half.py has no upgrade() function")
        assert migrator.current_heads() == []


def _connect(url: str, **options: object) -> Callable[[], object]:
    def connect() -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(url, **options)
        try:
            with engine.begin() as connection:
                connection.execute(sa.text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
                connection.execute(sa.text("INSERT INTO t VALUES (1)"))
        finally:
            engine.dispose()

    return connect


def test_sqlalchemy_and_sqlite_errors(tmp_path: Path) -> None:
    explained(raised(_connect("nosuchdriver://x")), "Unknown database driver")
    explained(raised(_connect("not a url at all")), "not valid")
    explained(raised(_connect(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")), "Cannot open")
    read_only = tmp_path / "ro.db"
    _connect(f"sqlite:///{read_only}")()
    url = f"sqlite:///file:{read_only}?mode=ro&uri=true"
    explained(raised(_connect(url)), "read-only")

    def create_twice() -> None:
        _connect(f"sqlite:///{tmp_path / 'twice.db'}")()
        import sqlalchemy as sa

        engine = sa.create_engine(f"sqlite:///{tmp_path / 'twice.db'}")
        try:
            with engine.begin() as connection:
                connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        finally:
            engine.dispose()

    refused = explained(raised(create_twice), "refused a statement", "already exists")
    assert "Cannot connect" not in refused

    import sqlite3

    holder = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        busy = f"sqlite:///{tmp_path / 'busy.db'}"
        explained(raised(_connect(busy, connect_args={"timeout": 0})), "is locked")
    finally:
        holder.close()


def test_postgresql_connection_errors(postgres_server: str) -> None:
    explained(raised(_connect("postgresql+psycopg2://postgres@127.0.0.1:1/x")), "Cannot connect")
    missing = postgres_server.rsplit("/", 1)[0] + "/mt_no_such_database"
    explained(raised(_connect(missing)), "does not exist")


def test_a_library_error_nothing_knows_is_left_to_the_command_line() -> None:
    assert translate(ValueError("something else")) is None
    own = MigtutorError("already worded")
    assert translate(own) is own


def test_a_login_without_the_connect_right(postgres_server: str, postgres_url: str) -> None:
    import uuid

    import sqlalchemy as sa

    role, database = f"mt_noconnect_{uuid.uuid4().hex[:8]}", postgres_url.rsplit("/", 1)[1]
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(sa.text(f'REVOKE CONNECT ON DATABASE "{database}" FROM PUBLIC'))
    try:
        url = f"postgresql+psycopg2://{role}@127.0.0.1:5432/{database}"
        explained(raised(_connect(url)), "may not connect")
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP ROLE "{role}"'))
        admin.dispose()
