"""`schema.snapshot` reads the schema in a few catalog queries; what it returns must equal,
field for field, what SQLAlchemy's Inspector reads table by table (tests/inspector_snapshot.py),
since the printed diff, lesson checks and class status all read it."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
import sqlalchemy as sa

from migtutor.reset import parse_target, reset_database
from migtutor.schema import snapshot
from migtutor.settings import DatabaseSettings
from tests.inspector_snapshot import inspector_snapshot

# The Inspector warns that it skips an index on an expression on SQLite (the snapshot skips it
# too, silently).
pytestmark = pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")

SQLITE_EXTRAS = [
    "CREATE VIEW post_titles AS SELECT id, title FROM posts",
    "CREATE INDEX ix_posts_lower_title ON posts (lower(title))",
    "CREATE INDEX ix_posts_title ON posts (title)",
    "CREATE UNIQUE INDEX ix_users_email_password ON users (email, password)",
    "CREATE TABLE tags (id INTEGER NOT NULL, label VARCHAR(20) NOT NULL DEFAULT 'new', "
    "weight NUMERIC(10, 2) DEFAULT 0, flag BOOLEAN, seen DATETIME DEFAULT CURRENT_TIMESTAMP, "
    "day DATE, body TEXT, blob BLOB, ratio REAL, score FLOAT, odd MONEYish, untyped, "
    "big BIGINT, stamp TIMESTAMP, "
    "post_id INTEGER, owner INTEGER, CONSTRAINT pk_tags PRIMARY KEY (id), "
    "CONSTRAINT uq_tags_label UNIQUE (label), UNIQUE (body, day), "
    "FOREIGN KEY (post_id) REFERENCES posts (id) ON DELETE SET NULL, "
    'CONSTRAINT "fk tags owner" FOREIGN KEY (owner) REFERENCES users (id) ON DELETE RESTRICT)',
    "CREATE TABLE pairs (a INTEGER, b TEXT UNIQUE, PRIMARY KEY (b, a))",
    'CREATE TABLE "Odd Name" ("Mixed Case" INTEGER PRIMARY KEY, "x y" TEXT)',
    "CREATE TABLE bare (v)",
    "CREATE INDEX ix_tags_post ON tags (post_id) WHERE post_id IS NOT NULL",
    "CREATE TABLE migtutor_notes (id INTEGER)",
]

POSTGRES_EXTRAS = [
    "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
    "CREATE DOMAIN short_text AS varchar(12) NOT NULL DEFAULT 'x'",
    "CREATE VIEW post_titles AS SELECT id, title FROM posts",
    "CREATE MATERIALIZED VIEW post_count AS SELECT count(*) AS n FROM posts",
    "CREATE INDEX ix_posts_lower_title ON posts (lower(title))",
    "CREATE INDEX ix_posts_title_id ON posts (title, lower(content), id)",
    "CREATE INDEX ix_posts_title ON posts (title) INCLUDE (content)",
    "CREATE UNIQUE INDEX ix_users_email_password ON users (email, password)",
    "CREATE SEQUENCE stray_seq",
    "CREATE TABLE tags (id bigserial, label varchar(20) NOT NULL DEFAULT 'new', "
    "weight numeric(10, 2) DEFAULT 0, price numeric, flag boolean DEFAULT true, "
    "seen timestamp(3) DEFAULT now(), at timestamptz, day date, body text, "
    "ratio real, score double precision, small smallint, code char(3), "
    "data jsonb, doc json, uid uuid, names text[], grid integer[][], span interval, "
    "span2 interval day to second, hour time, hourtz time with time zone, "
    "feeling mood DEFAULT 'ok', short short_text, bits bit varying(8), addr inet, "
    "raw bytea, ident integer GENERATED ALWAYS AS IDENTITY, "
    "twice integer GENERATED ALWAYS AS (id * 2) STORED, "
    "post_id integer REFERENCES posts (id) ON DELETE SET NULL, owner integer, "
    "CONSTRAINT pk_tags PRIMARY KEY (id), CONSTRAINT uq_tags_label UNIQUE (label), "
    "UNIQUE (body, day), "
    "CONSTRAINT fk_tags_owner FOREIGN KEY (owner) REFERENCES users ON DELETE RESTRICT)",
    "CREATE TABLE pairs (a integer, b text UNIQUE, PRIMARY KEY (b, a))",
    'CREATE TABLE "Odd Name" ("Mixed Case" serial PRIMARY KEY, "x y" text)',
    "CREATE TABLE empty ()",
    "CREATE INDEX ix_tags_post ON tags (post_id) WHERE post_id IS NOT NULL",
    "CREATE SCHEMA scratch",
    "CREATE TABLE scratch.notes (id serial PRIMARY KEY, post_id integer REFERENCES posts (id))",
    "CREATE VIEW scratch.note_view AS SELECT id FROM scratch.notes",
    "CREATE SCHEMA hollow",
    "CREATE TABLE migtutor_notes (id integer)",
    "CREATE TABLE parted (id integer, at date) PARTITION BY RANGE (at)",
]


def _rich_schema(url: str, extras: list[str]) -> None:
    reset_database(DatabaseSettings(url, "test"), parse_target("head"), seed=True)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for statement in extras:
            connection.exec_driver_sql(statement)
    engine.dispose()


def _as_data(schema) -> dict:
    return {
        "dialect": schema.dialect,
        "tables": {name: asdict(table) for name, table in schema.tables.items()},
        "views": schema.views,
        "sequences": schema.sequences,
        "schemas": schema.schemas,
    }


def _compare(url: str, **options) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            expected = _as_data(inspector_snapshot(connection, **options))
            connection.rollback()
            found = _as_data(snapshot(connection, **options))
            assert not connection.in_transaction()
    finally:
        engine.dispose()
    assert list(found["tables"]) == sorted(found["tables"])
    for name in expected["tables"]:
        assert found["tables"].get(name) == expected["tables"][name], name
    assert found == expected


def _inspector_reads_sqlite_constraint_names(url: str) -> bool:
    # Older SQLAlchemy releases (2.0.40 among them) misread the names in a table-level list of
    # named constraints: "pk_tags PRIMARY KEY (id), CONSTRAINT uq_tags_label" for the unique one,
    # nothing for a quoted foreign-key name. The snapshot reads them right on every release.
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            uniques = sa.inspect(connection).get_unique_constraints("tags")
    finally:
        engine.dispose()
    return {u["name"] for u in uniques} == {None, "uq_tags_label"}


def test_sqlite_snapshot_matches_the_inspector(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rich.db'}"
    _rich_schema(url, SQLITE_EXTRAS)
    if not _inspector_reads_sqlite_constraint_names(url):
        pytest.skip(
            f"SQLAlchemy {sa.__version__}'s Inspector misreads SQLite constraint names; "
            "test_sqlite_snapshot_reads_constraint_names checks them on every release"
        )
    _compare(url)
    _compare(url, row_counts=False)


def test_sqlite_snapshot_reads_constraint_names(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rich.db'}"
    _rich_schema(url, SQLITE_EXTRAS)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            tags = snapshot(connection).tables["tags"]
    finally:
        engine.dispose()
    assert sorted((u.name or "", u.columns) for u in tags.unique) == [
        ("", ("body", "day")),
        ("uq_tags_label", ("label",)),
    ]
    assert sorted((fk.name or "", fk.columns, fk.ondelete) for fk in tags.foreign_keys) == [
        ("", ("post_id",), "SET NULL"),
        ("fk tags owner", ("owner",), "RESTRICT"),
    ]
    assert (tags.primary_key, tags.primary_key_name) == (("id",), "pk_tags")


def test_postgres_snapshot_matches_the_inspector(postgres_url: str) -> None:
    _rich_schema(postgres_url, POSTGRES_EXTRAS)
    _compare(postgres_url)
    _compare(postgres_url, row_counts=False, schema="scratch")


@pytest.mark.parametrize("state", ["base", "lesson:3", "head"])
def test_course_states_match_the_inspector(database_url: str, state: str) -> None:
    reset_database(DatabaseSettings(database_url, "test"), parse_target(state))
    _compare(database_url)


def test_sqlite_snapshot_reads_on_delete_of_a_foreign_key_written_inline(tmp_path: Path) -> None:
    # The Inspector reads ON DELETE only from FOREIGN KEY clauses that name the referred
    # columns; SQLite itself (pragma_foreign_key_list) knows it for every form.
    url = f"sqlite:///{tmp_path / 'inline.db'}"
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, "
            "owner INTEGER REFERENCES users ON DELETE CASCADE, "
            "editor INTEGER CONSTRAINT fk_editor REFERENCES users (id) ON DELETE SET NULL)"
        )
        found = snapshot(connection).tables["notes"].foreign_keys
    engine.dispose()
    assert [(fk.name, fk.columns, fk.referred_columns, fk.ondelete) for fk in found] == [
        (None, ("editor",), ("id",), "SET NULL"),
        (None, ("owner",), ("id",), "CASCADE"),
    ]


def test_a_snapshot_is_one_query_however_many_tables(database_url: str) -> None:
    from sqlalchemy import event

    engine = sa.create_engine(database_url)
    statements: list[str] = []
    with engine.connect() as connection:
        for number in range(12):
            connection.exec_driver_sql(f"CREATE TABLE t{number} (id INTEGER PRIMARY KEY)")
        connection.commit()
        event.listen(connection, "before_cursor_execute", lambda *args: statements.append(args[2]))
        found = snapshot(connection, row_counts=False)
        assert len(found.tables) == 12 and len(statements) == 1
        found = snapshot(connection)
        assert found.tables["t11"].row_count == 0 and len(statements) == 3
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_move_reads_the_schema_once_before_and_once_after(
    cli, course_workspace: Path, backend: str, request: pytest.FixtureRequest, monkeypatch
) -> None:
    import migtutor.schema

    url = (
        f"sqlite:///{course_workspace / 'app.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    monkeypatch.chdir(course_workspace)
    reads: list[bool] = []
    real = migtutor.schema.snapshot

    def counted(connection, **options):
        reads.append(options.get("row_counts", True))
        return real(connection, **options)

    monkeypatch.setattr(migtutor.schema, "snapshot", counted)
    for command in (["upgrade", "head"], ["downgrade", "base", "--yes"]):
        reads.clear()
        result = cli("-d", url, *command)
        assert result.exit_code == 0, result.output
        assert "+ table votes" in result.stdout or "- table votes" in result.stdout
        # Five revisions, two readings: the one before serves the data-loss guard too.
        assert reads == [True, False]
