"""A revision that fails halfway rolls back alone, on SQLite and on PostgreSQL.

Each revision runs in its own transaction (SQLite's DDL made transactional by migtutor's engine):
the failing revision leaves schema, rows and alembic_version exactly as they were before it, the
revisions before it in the same command stay applied, and the message names the failed revision
and where the database now is.
"""

from __future__ import annotations

import errno
import os
import stat
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from revision_files import assert_clean_failure, snapshot, version_rows, write_revision

CREATE_T1 = """
op.create_table(
    "t1",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("old", sa.Integer(), nullable=True),
)
op.execute("INSERT INTO t1 (id, name, old) VALUES (1, 'kept', 7)")
"""

# Good operations of every kind (including a batch table copy on SQLite), then a bad one.
HALF_DONE = """
op.create_table("t2", sa.Column("id", sa.Integer(), primary_key=True))
op.add_column("t1", sa.Column("extra", sa.String(20), nullable=True))
op.execute("UPDATE t1 SET name = 'changed'")
with op.batch_alter_table("t1") as batch:
    batch.drop_column("old")
op.create_index("ix_t1_name", "t1", ["name"])
op.drop_table("no_such_table")
"""


def _ws(workspace: Path, url: str) -> list[str]:
    return ["--no-color", "-w", str(workspace), "-d", url]


@pytest.fixture
def two_revisions(workspace: Path) -> Path:
    write_revision(workspace, "aaa1", None, CREATE_T1, 'op.drop_table("t1")', "create t1")
    write_revision(workspace, "bbb2", "aaa1", HALF_DONE, "pass", "half done")
    return workspace


def test_failing_revision_rolls_back_alone_and_earlier_ones_stay(
    cli, two_revisions: Path, database_url: str
) -> None:
    result = cli(*_ws(two_revisions, database_url), "upgrade", "head")

    assert_clean_failure(result, "bbb2", "half done", "no_such_table", "now at aaa1")
    tables = snapshot(database_url)
    assert sorted(tables) == ["alembic_version", "t1"]
    assert [column[0] for column in tables["t1"]["columns"]] == ["id", "name", "old"]
    assert tables["t1"]["rows"] == [(1, "kept", 7)]
    assert tables["alembic_version"]["rows"] == [("aaa1",)]


def test_failing_revision_leaves_the_database_exactly_as_before(
    cli, two_revisions: Path, database_url: str
) -> None:
    ws = _ws(two_revisions, database_url)
    assert cli(*ws, "upgrade", "aaa1").exit_code == 0
    before = snapshot(database_url)

    result = cli(*ws, "upgrade", "head")

    assert_clean_failure(result, "bbb2", "rolled back", "aaa1")
    assert snapshot(database_url) == before
    assert cli(*ws, "--json", "current").json()["current"] == ["aaa1"]

    # Once the revision is fixed, the same command completes it.
    fixed = (two_revisions / "migrations" / "versions" / "bbb2.py").read_text()
    (two_revisions / "migrations" / "versions" / "bbb2.py").write_text(
        fixed.replace('op.drop_table("no_such_table")', "")
    )
    assert cli(*ws, "upgrade", "head", "--yes").exit_code == 0  # --yes: it drops t1.old
    after = snapshot(database_url)
    assert [column[0] for column in after["t1"]["columns"]] == ["id", "name", "extra"]
    assert after["t1"]["rows"] == [(1, "changed", None)]
    assert version_rows(database_url) == ["bbb2"]


def test_python_error_inside_upgrade_is_rolled_back_and_named(
    cli, workspace: Path, database_url: str
) -> None:
    write_revision(workspace, "aaa1", None, CREATE_T1, 'op.drop_table("t1")', "create t1")
    write_revision(
        workspace,
        "ccc3",
        "aaa1",
        'op.create_table("t3", sa.Column("id", sa.Integer(), primary_key=True))\n'
        'raise RuntimeError("the learner forgot something")',
        message="python error",
    )
    ws = _ws(workspace, database_url)
    assert cli(*ws, "upgrade", "aaa1").exit_code == 0
    before = snapshot(database_url)

    result = cli(*ws, "upgrade", "head")

    assert_clean_failure(result, "ccc3", "the learner forgot something", "now at aaa1")
    assert snapshot(database_url) == before


def test_first_revision_failing_leaves_an_empty_database_empty(
    cli, workspace: Path, database_url: str
) -> None:
    write_revision(
        workspace,
        "aaa1",
        None,
        'op.create_table("t1", sa.Column("id", sa.Integer(), primary_key=True))\n'
        'op.execute("INSERT INTO missing VALUES (1)")',
        message="broken first",
    )
    result = cli(*_ws(workspace, database_url), "upgrade", "head")

    assert_clean_failure(result, "aaa1", "broken first", "base")
    assert snapshot(database_url) == {}


def test_failing_downgrade_keeps_the_revisions_it_could_not_undo(
    cli, workspace: Path, database_url: str
) -> None:
    write_revision(
        workspace,
        "aaa1",
        None,
        CREATE_T1,
        'op.drop_table("t1")\nop.drop_table("no_such_table")',
        "create t1",
    )
    write_revision(
        workspace,
        "bbb2",
        "aaa1",
        'op.create_table("t2", sa.Column("id", sa.Integer(), primary_key=True))',
        'op.drop_table("t2")',
        "create t2",
    )
    ws = _ws(workspace, database_url)
    assert cli(*ws, "upgrade", "head").exit_code == 0

    result = cli(*ws, "downgrade", "base")

    assert_clean_failure(result, "aaa1", "downgrade", "now at aaa1")
    tables = snapshot(database_url)
    assert sorted(tables) == ["alembic_version", "t1"]
    assert tables["t1"]["rows"] == [(1, "kept", 7)]
    assert tables["alembic_version"]["rows"] == [("aaa1",)]


def test_json_failure_keeps_stdout_clean(cli, two_revisions: Path, database_url: str) -> None:
    result = cli(*_ws(two_revisions, database_url), "--json", "upgrade", "head")

    assert_clean_failure(result, "bbb2", "aaa1")
    assert version_rows(database_url) == ["aaa1"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    """Progress and credentials files go through write_atomic: a write that fails halfway
    leaves the previous content whole, and no temporary file behind."""
    from migtutor.atomic import write_atomic

    target = tmp_path / ".migtutor" / "progress.json"
    write_atomic(target, '{"lesson": 2}\n', mode=0o600)
    assert target.read_text() == '{"lesson": 2}\n'
    assert target.stat().st_mode & 0o777 == 0o600

    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, '{"lesson": 3, "note": "' + "x" * 100_000 + '\udcff"}\n')

    assert target.read_text() == '{"lesson": 2}\n'
    assert [p.name for p in target.parent.iterdir()] == ["progress.json"]


def test_corrupt_or_truncated_credentials_file(cli, tmp_path: Path, postgres_server: str) -> None:
    """`class create --credentials FILE` adds to FILE. A corrupt FILE is refused before any
    account exists (no password is ever lost); a truncated last line is kept, not merged."""
    prefix = f"mt6{uuid.uuid4().hex[:6]}"
    roster = tmp_path / "roster.txt"
    roster.write_text("zed\n")
    server = ["-d", postgres_server]

    def roles() -> list[str]:
        engine = sa.create_engine(postgres_server)
        try:
            with engine.connect() as connection:
                return (
                    connection.execute(
                        sa.text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p"),
                        {"p": f"{prefix}%"},
                    )
                    .scalars()
                    .all()
                )
        finally:
            engine.dispose()

    corrupt = tmp_path / "corrupt.txt"
    corrupt.write_bytes(b"\xff\xfe\x00 not text")
    result = cli(*server, "class", "create", str(roster), "--prefix", prefix,
                 "--credentials", str(corrupt))  # fmt: skip
    assert_clean_failure(result, str(corrupt), "Nothing was created")
    assert roles() == []
    assert corrupt.read_bytes() == b"\xff\xfe\x00 not text"

    truncated = tmp_path / "truncated.txt"
    truncated.write_text("# kept\nann postgresql+psycopg2://a:b@h/d\nbob postgresql+psy")
    try:
        result = cli(*server, "class", "create", str(roster), "--prefix", prefix,
                     "--credentials", str(truncated))  # fmt: skip
        assert result.exit_code == 0, result.output
        lines = truncated.read_text().splitlines()
        assert lines[:3] == ["# kept", "ann postgresql+psycopg2://a:b@h/d", "bob postgresql+psy"]
        assert lines[3].startswith(f"zed postgresql+psycopg2://{prefix}_zed:")
        assert stat.S_IMODE(os.stat(truncated).st_mode) == 0o600
    finally:
        cli(*server, "class", "drop", str(roster), "--prefix", prefix, "--yes")
    assert roles() == []


class _FullDisk:
    """A file whose writes fail as on a full disk, after the file itself was created."""

    def __init__(self, handle) -> None:
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.handle.close()

    def write(self, data) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize(
    "command", [("revision", "-m", "add t2", "--head", "bbb2"), ("merge", "heads")]
)
def test_full_disk_while_writing_a_revision_leaves_no_partial_file(
    cli, workspace: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    """A full disk cannot be made here: Alembic's own file writer (the lowest write it does)
    fails with ENOSPC once it has created the file, as a real full disk would."""
    import builtins

    from alembic.util import pyfiles

    write_revision(workspace, "aaa1", None)
    write_revision(workspace, "bbb2", "aaa1")
    write_revision(workspace, "ccc3", "aaa1")  # two heads, for merge
    versions = workspace / "migrations" / "versions"
    before = sorted(p.name for p in versions.glob("*.py"))

    def full_disk_open(path, mode="r", *args, **kwargs):
        handle = builtins.open(path, mode, *args, **kwargs)
        return _FullDisk(handle) if "w" in mode else handle

    monkeypatch.setattr(pyfiles, "open", full_disk_open, raising=False)
    result = cli("-w", str(workspace), *command)
    monkeypatch.undo()

    assert_clean_failure(result, "No space left on device", "nothing was written")
    assert sorted(p.name for p in versions.glob("*.py")) == before
    assert cli("-w", str(workspace), "history").exit_code == 0


def test_an_empty_revision_file_is_named(cli, workspace: Path) -> None:
    """What a full disk left behind before migtutor removed partial files: every command that
    reads the chain names the file instead of Alembic's "Could not determine revision id"."""
    write_revision(workspace, "aaa1", None)
    (workspace / "migrations" / "versions" / "5f2c0e1d9a7b_add_t2.py").write_text("")
    for command in [("history",), ("heads",), ("upgrade",), ("revision", "-m", "next")]:
        result = cli("-w", str(workspace), *command)
        assert_clean_failure(result, "5f2c0e1d9a7b_add_t2.py", "sets no `revision = ...`")


@pytest.mark.parametrize("verb", ["upgrade", "downgrade"])
def test_a_revision_that_calls_sys_exit_fails(
    cli, workspace: Path, database_url: str, verb: str
) -> None:
    """sys.exit() inside upgrade()/downgrade() is a failed revision, not a silent exit 0; on
    downgrade it also runs in the data-loss rehearsal first (t1 holds a row)."""
    write_revision(workspace, "aaa1", None, CREATE_T1, 'op.drop_table("t1")', "create t1")
    write_revision(
        workspace,
        "bbb2",
        "aaa1",
        'op.create_table("t2", sa.Column("id", sa.Integer()))\nsys.exit(0)',
        'op.drop_table("t1")\nsys.exit(0)',
        "exits",
        header="import sys",
    )
    ws = _ws(workspace, database_url)
    assert cli(*ws, "upgrade", "aaa1").exit_code == 0
    if verb == "downgrade":  # at bbb2 without running its upgrade()
        assert cli(*ws, "stamp", "bbb2").exit_code == 0
    before = snapshot(database_url)

    command = ("upgrade",) if verb == "upgrade" else ("downgrade", "aaa1", "--yes")
    result = cli(*ws, *command)

    assert result.exit_code == 1, result.output
    assert "bbb2 (exits) failed" in result.stderr and "sys.exit(0)" in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(database_url) == before


def test_sys_exit_at_the_top_of_a_revision_file_is_named(cli, workspace: Path) -> None:
    write_revision(workspace, "aaa1", None, header="import sys\nsys.exit()")
    for command in [("upgrade",), ("history",)]:
        result = cli("-w", str(workspace), *command)
        assert_clean_failure(result, "aaa1.py, line 5", "sys.exit()")


def _read_only(database_url: str) -> str:
    """A URL of the same database that cannot be written, even by root."""
    if database_url.startswith("sqlite:///"):
        return f"sqlite:///file:{database_url[len('sqlite:///') :]}?mode=ro&uri=true"
    name = database_url.rsplit("/", 1)[1]
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(
            sa.text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        )
    engine.dispose()
    return database_url


def test_a_read_only_database_is_named_not_the_revision(
    cli, two_revisions: Path, database_url: str
) -> None:
    assert cli(*_ws(two_revisions, database_url), "upgrade", "aaa1").exit_code == 0
    before = snapshot(database_url)
    url = _read_only(database_url)

    for command in [("upgrade",), ("downgrade", "base", "--yes"), ("stamp", "bbb2")]:
        result = cli(*_ws(two_revisions, url), *command)
        assert_clean_failure(result, "read-only", "the database is at aaa1")
        assert "Fix the revision file" not in result.stderr
        assert snapshot(database_url) == before


FILLS_THE_DISK = """
bind = op.get_bind()
op.create_table("t2", sa.Column("x", sa.Text()))
if bind.dialect.name == "sqlite":  # a real SQLITE_FULL: the file may not grow any further
    pages = bind.exec_driver_sql("PRAGMA page_count").scalar()
    bind.exec_driver_sql(f"PRAGMA max_page_count = {pages + 2}")
    op.execute(
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000) "
        "INSERT INTO t2 SELECT hex(randomblob(100)) FROM c"
    )
else:  # no full disk can be made here: the server's own error for one, SQLSTATE 53100
    op.execute(
        "DO $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' "
        "USING ERRCODE = 'disk_full'; END $$"
    )
"""


def test_a_full_disk_during_upgrade_is_named_not_the_revision(
    cli, workspace: Path, database_url: str
) -> None:
    write_revision(workspace, "aaa1", None, CREATE_T1, 'op.drop_table("t1")', "create t1")
    write_revision(workspace, "bbb2", "aaa1", FILLS_THE_DISK, message="big import")
    ws = _ws(workspace, database_url)
    assert cli(*ws, "upgrade", "aaa1").exit_code == 0
    before = snapshot(database_url)

    result = cli(*ws, "upgrade")

    assert_clean_failure(result, "no space left on device", "bbb2", "the database is at aaa1")
    assert "Fix the revision file" not in result.stderr
    assert snapshot(database_url) == before


def test_tables_left_by_create_all_get_the_way_out(cli, workspace: Path, database_url: str) -> None:
    """A table made before the first revision ran: the message offers dropping it or stamp."""
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE t1 (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    write_revision(workspace, "aaa1", None, CREATE_T1, 'op.drop_table("t1")', "create t1")

    result = cli(*_ws(workspace, database_url), "upgrade", "head")

    assert_clean_failure(result, "aaa1", "already exists", "base", "migtutor stamp")
    assert "Fix the revision file" not in result.stderr
    assert not version_rows(database_url)  # no revision recorded
    assert [column[0] for column in snapshot(database_url)["t1"]["columns"]] == ["id"]


@pytest.mark.parametrize("batch", [False, True], ids=["plain", "batch"])
def test_not_null_column_on_rows_gets_the_way_out(
    cli, two_revisions: Path, database_url: str, batch: bool
) -> None:
    add = 'sa.Column("title", sa.String(), nullable=False)'
    upgrade = (
        f'with op.batch_alter_table("t1") as batch:\n    batch.add_column({add})'
        if batch
        else f'op.add_column("t1", {add})'
    )
    write_revision(two_revisions, "bbb2", "aaa1", upgrade, message="add title")  # t1 has a row

    result = cli(*_ws(two_revisions, database_url), "upgrade", "head")

    assert_clean_failure(result, "bbb2", "now at aaa1", "server_default", "nullable, fill it")
    assert [column[0] for column in snapshot(database_url)["t1"]["columns"]] == [
        "id",
        "name",
        "old",
    ]
