"""How `class status` reads: the reference states from a private cache, each student in one
statement, and what a student's own tables or locks do to her row (and to no one else's).

Runs on the real PostgreSQL server; every database and role made here is dropped at the end.
"""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from tests.test_class import drop_everything_named, read_credentials, status
from tests.test_class_dashboard import run_as
from tests.test_imports import imported

pytestmark = pytest.mark.postgres


@pytest.fixture
def prefix(postgres_server: str) -> Iterator[str]:
    name = f"mt16_{uuid.uuid4().hex[:8]}"
    yield name
    drop_everything_named(postgres_server, name + "_")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MIGTUTOR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "migtutor"


@pytest.fixture
def pair(cli, postgres_server: str, prefix: str, tmp_path: Path) -> dict[str, str]:
    """Alice and Bob at the start of lesson 3: their URLs."""
    roster = tmp_path / "roster.txt"
    roster.write_text("alice\nbob\n")
    credentials = tmp_path / "credentials.txt"
    created = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix,
                  "--credentials", str(credentials), "--to", "lesson:3")  # fmt: skip
    assert created.exit_code == 0, created.output
    return read_credentials(credentials)


def test_the_reference_states_are_cached_privately_and_a_doubtful_cache_is_ignored(
    cli,
    postgres_server: str,
    prefix: str,
    pair: dict[str, str],
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = status(cli, postgres_server, prefix)
    assert [rows[s]["state"] for s in ("alice", "bob")] == ["reference", "reference"]
    [path] = list(cache.glob("reference-states-*.json"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    good = json.loads(path.read_text())
    assert [state[0] for state in good["states"]][:4] == [None, "l1_posts", "l2_content",
                                                          "l3_users"]  # fmt: skip

    # A lie: no lesson starts with a table. Believed, it would put posts down as changed by hand.
    lie = json.loads(path.read_text())
    for state in lie["states"]:
        state[1]["tables"] = None
    path.write_text(json.dumps(lie))
    believed = status(cli, postgres_server, prefix)
    assert believed["alice"]["state"] == "changed by hand"  # the file is what is read
    assert "+ table posts: (id, title, content)" in believed["alice"]["differences"]

    foreign_key = {**lie, "key": "0" * 64}
    doubtful = {
        "writable by the group": (json.dumps(lie), 0o660),
        "made for other files": (json.dumps(foreign_key), 0o600),
        "not JSON": ('{"key": ', 0o600),
        "a state missing": (json.dumps({**lie, "states": lie["states"][:-1]}), 0o600),
    }
    for why, (text, mode) in doubtful.items():
        path.write_text(text)
        path.chmod(mode)
        rows = status(cli, postgres_server, prefix)
        assert rows["alice"]["state"] == "reference", (why, rows["alice"])
        assert json.loads(path.read_text()) == good, why  # built again and written anew
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, why

    # migtutor's code that builds the states is part of the key: other code, another cache.
    from migtutor import reference_states

    built_by = reference_states.BUILT_BY
    monkeypatch.setattr(reference_states, "BUILT_BY", built_by[:-1])
    assert status(cli, postgres_server, prefix)["alice"]["state"] == "reference"
    assert len(list(cache.glob("reference-states-*.json"))) == 2  # built anew, for that code
    monkeypatch.setattr(reference_states, "BUILT_BY", built_by)

    # With the cache warm, a whole `class status` process does not import Alembic (nor, with
    # its default options, Pydantic).
    modules = imported(cache, "-d", postgres_server, "--json", "class", "status",
                       "--prefix", prefix)  # fmt: skip
    assert "alembic" not in modules and "psycopg2" in modules
    if os.environ.get("MIGTUTOR_PLAIN_TYPER") != "1":  # Typer's own conversion uses Pydantic
        assert "pydantic" not in modules


def test_what_a_student_does_to_her_own_tables_stays_in_her_row(
    cli,
    postgres_server: str,
    prefix: str,
    pair: dict[str, str],
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Bob's migtutor_progress is a table of his own making: the one statement cannot read it,
    # the row is read part by part, and shows no progress rather than failing.
    run_as(pair["bob"], "CREATE TABLE migtutor_progress (id integer, note text)",
           "INSERT INTO migtutor_progress VALUES (1, 'mine')")  # fmt: skip
    rows = status(cli, postgres_server, prefix)
    assert rows["bob"]["state"] == "reference" and rows["bob"]["progress"] is None
    assert rows["bob"]["current"] == ["l2_content"] and rows["bob"]["tables"] == ["posts"]

    # Text where migtutor writes numbers: no progress either.
    odd = (
        "DROP TABLE migtutor_progress",
        "CREATE TABLE migtutor_progress (id integer, lesson text, step text, "
        "checked_lesson text, checked_step text, verdict text, checked_at text, updated_at text)",
        "INSERT INTO migtutor_progress VALUES (1, 'three', '1', NULL, NULL, NULL, NULL, 'x')",
    )
    run_as(pair["bob"], *odd)
    assert status(cli, postgres_server, prefix)["bob"]["progress"] is None

    # Alice keeps alembic_version locked in an open transaction: her row says so after the lock
    # timeout, and Bob's is read as usual.
    monkeypatch.setenv("MIGTUTOR_LOCK_TIMEOUT", "1")
    url = make_url(pair["alice"])
    holder = psycopg2.connect(host=url.host, port=url.port, user=url.username,
                              password=url.password, dbname=url.database)  # fmt: skip
    try:
        holder.cursor().execute("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
        rows = status(cli, postgres_server, prefix)
    finally:
        holder.rollback()
        holder.close()
    assert rows["alice"]["state"] == "unreachable", rows["alice"]
    assert "lock timeout" in rows["alice"]["detail"]
    assert rows["bob"]["state"] == "reference"
    assert status(cli, postgres_server, prefix)["alice"]["state"] == "reference"

    # Whatever else goes wrong with one row is said in that row; the others are read.
    from migtutor import class_status

    judge = class_status.judge

    def failing(row, schema, references):
        if row.student == "bob":
            raise ValueError("a schema this version cannot judge")
        judge(row, schema, references)

    monkeypatch.setattr(class_status, "judge", failing)
    rows = status(cli, postgres_server, prefix)
    assert rows["bob"]["state"] == "unreachable"
    assert rows["bob"]["detail"] == "ValueError: a schema this version cannot judge"
    assert rows["alice"]["state"] == "reference"


def test_code_a_student_plants_in_her_tables_cannot_stall_or_write_during_the_read(
    cli,
    postgres_server: str,
    prefix: str,
    pair: dict[str, str],
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIGTUTOR_LOCK_TIMEOUT", "1")  # the read's limit, at most READ_LIMIT
    # A view named migtutor_progress that would sleep: not a table, so it is never read (read,
    # it would be cut off and the row unreachable); the view is one more thing changed by hand.
    run_as(pair["bob"], "CREATE VIEW migtutor_progress AS SELECT 1 AS id FROM pg_sleep(60)")
    rows = status(cli, postgres_server, prefix)
    assert rows["bob"]["state"] == "changed by hand" and rows["bob"]["progress"] is None
    run_as(pair["bob"], "DROP VIEW migtutor_progress")

    # A row-level security policy on her alembic_version that sleeps runs during the read:
    # the read is cut off, her row says why, and Alice's is read as usual.
    run_as(
        pair["bob"],
        "ALTER TABLE alembic_version ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE alembic_version FORCE ROW LEVEL SECURITY",
        "CREATE POLICY slow ON alembic_version USING ((SELECT true FROM pg_sleep(60)))",
    )
    rows = status(cli, postgres_server, prefix)
    assert rows["bob"]["state"] == "unreachable", rows["bob"]
    assert "statement timeout" in rows["bob"]["detail"]
    assert rows["alice"]["state"] == "reference"

    # A policy that writes fails: what the read runs, runs read-only.
    run_as(
        pair["bob"],
        "DROP POLICY slow ON alembic_version",
        "CREATE TABLE seen (at timestamptz)",
        "CREATE FUNCTION note() RETURNS boolean LANGUAGE sql AS "
        "'INSERT INTO seen VALUES (now()) RETURNING true'",
        "CREATE POLICY noting ON alembic_version USING (note())",
    )
    rows = status(cli, postgres_server, prefix)
    assert rows["bob"]["state"] == "unreachable", rows["bob"]
    assert "read-only" in rows["bob"]["detail"]
    url = make_url(pair["bob"])
    with psycopg2.connect(host=url.host, port=url.port, user=url.username,
                          password=url.password, dbname=url.database) as bob:  # fmt: skip
        with bob.cursor() as cursor:
            cursor.execute("ALTER TABLE alembic_version NO FORCE ROW LEVEL SECURITY")
            cursor.execute("SELECT count(*) FROM seen")
            assert cursor.fetchone()[0] == 0


def test_work_in_batches_starts_before_the_last_batch_is_prepared_and_stops_at_an_error() -> None:
    import threading

    from migtutor.classroom import WORKERS, in_parallel
    from migtutor.errors import MigtutorError

    order: list[str] = []
    lock = threading.Lock()
    first_done = threading.Event()

    def work(item: int) -> None:
        with lock:
            order.append(f"work {item}")
        if item == 0:
            first_done.set()

    def prepare(batch: list[int]) -> None:
        if batch[0] >= 2 * WORKERS:
            assert first_done.wait(10)  # the first batch was handed out before this one
            raise MigtutorError("the server refused")
        with lock:
            order.append(f"prepare {batch[0]}")

    with pytest.raises(MigtutorError, match="refused"):
        in_parallel(work, range(4 * WORKERS), prepare=prepare, batch=WORKERS)
    done = {int(entry.split()[1]) for entry in order if entry.startswith("work")}
    assert 0 in done and done <= set(range(2 * WORKERS))  # nothing unprepared started
    assert order.index("prepare 0") < order.index("work 0")
    assert all(order.index(f"prepare {WORKERS}") < order.index(f"work {item}")
               for item in done if item >= WORKERS)  # fmt: skip


def helpers_of(server: str, role: str) -> set[str]:
    """The helper roles that are members of a student's role."""
    import sqlalchemy as sa

    from tests.test_class import admin

    engine = admin(server)
    with engine.connect() as connection:
        found = connection.execute(
            sa.text(
                "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                "WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = :role) "
                "AND r.rolname LIKE 'migtutor_op_%'"
            ),
            {"role": role},
        ).scalars()
        names = set(found)
    engine.dispose()
    return names


def test_a_watch_reads_again_with_the_same_helpers_and_replaces_one_that_cannot_log_in(
    postgres_server: str, prefix: str, pair: dict[str, str], cache: Path
) -> None:
    from migtutor.class_status import StatusReader
    from migtutor.settings import DatabaseSettings

    alice, bob = f"{prefix}_alice", f"{prefix}_bob"
    with StatusReader(DatabaseSettings(postgres_server, "test"), prefix) as reader:
        first = {row.student: row.state for row in reader.read().students}
        helpers = helpers_of(postgres_server, alice), helpers_of(postgres_server, bob)
        assert first == {"alice": "reference", "bob": "reference"}
        assert [len(h) for h in helpers] == [1, 1]
        run_as(pair["bob"], "CREATE TABLE notes (id integer)")
        second = {row.student: row.state for row in reader.read().students}
        assert second == {"alice": "reference", "bob": "changed by hand"}
        assert (helpers_of(postgres_server, alice), helpers_of(postgres_server, bob)) == helpers

        # Alice's helper no longer logs in (as if code in her database had set its password):
        # her row says so once, and the next reading makes her a new helper.
        [alices] = helpers[0]
        run_as(postgres_server, f'ALTER ROLE "{alices}" PASSWORD NULL NOLOGIN')
        third = {row.student: row.state for row in reader.read().students}
        assert third == {"alice": "unreachable", "bob": "changed by hand"}
        fourth = {row.student: row.state for row in reader.read().students}
        assert fourth == {"alice": "reference", "bob": "changed by hand"}
        assert helpers_of(postgres_server, alice) not in ({alices}, set())
        assert helpers_of(postgres_server, bob) == helpers[1]
    assert helpers_of(postgres_server, alice) == helpers_of(postgres_server, bob) == set()


def passwords_of(server: str, role: str) -> list[str | None]:
    """The stored passwords of the helpers of a student's role (None: it has none)."""
    import sqlalchemy as sa

    from tests.test_class import admin

    with admin(server).connect() as connection:
        return list(
            connection.execute(
                sa.text("SELECT rolpassword FROM pg_authid WHERE rolname = ANY(:helpers)"),
                {"helpers": sorted(helpers_of(server, role))},
            ).scalars()
        )


def test_helpers_get_a_password_only_where_the_server_asks_for_one(
    postgres_server: str, prefix: str, pair: dict[str, str], cache: Path
) -> None:
    """This server trusts its local connections: a helper's password would keep no one out,
    and each costs the server a SCRAM hash. Where a helper without one is refused, the helpers
    get one (the first student's database refusing its helper stands in for such a server)."""
    from migtutor.class_status import StatusReader
    from migtutor.settings import DatabaseSettings

    alice, bob = f"{prefix}_alice", f"{prefix}_bob"
    with StatusReader(DatabaseSettings(postgres_server, "test"), prefix) as reader:
        rows = {row.student: row.state for row in reader.read().students}
        assert rows == {"alice": "reference", "bob": "reference"}
        assert passwords_of(postgres_server, alice) == passwords_of(postgres_server, bob) == [None]

    run_as(pair["alice"], f'ALTER DATABASE "{alice}" CONNECTION LIMIT 0')
    with StatusReader(DatabaseSettings(postgres_server, "test"), prefix) as reader:
        students = {row.student: row for row in reader.read().students}
        assert students["alice"].state == "unreachable"
        assert "too many connections" in students["alice"].detail
        assert students["bob"].state == "reference"
        [bobs] = passwords_of(postgres_server, bob)
        assert bobs is not None and bobs.startswith("SCRAM-SHA-256$4096:")
    assert helpers_of(postgres_server, alice) == helpers_of(postgres_server, bob) == set()


def test_a_helper_refused_for_want_of_a_password_gets_one_and_logs_in(
    postgres_server: str,
    prefix: str,
    pair: dict[str, str],
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server whose rules differ by database: Bob's (simulated here: this one trusts every
    local login) refuses a helper without a password; it gets one and his row is read."""
    from migtutor.class_status import StatusReader
    from migtutor.pg_sessions import OwnerLogins
    from migtutor.settings import DatabaseSettings

    bob = f"{prefix}_bob"
    login = OwnerLogins._connect
    refused: list[str] = []

    def strict_for_bob(self, helper, database, settings=None):
        if database == bob and helper not in self._with_password:
            refused.append(helper)
            raise psycopg2.OperationalError(
                f'FATAL:  password authentication failed for user "{helper}"'
            )
        return login(self, helper, database, settings)

    monkeypatch.setattr(OwnerLogins, "_connect", strict_for_bob)
    with StatusReader(DatabaseSettings(postgres_server, "test"), prefix) as reader:
        rows = {row.student: row.state for row in reader.read().students}
        assert rows == {"alice": "reference", "bob": "reference"}
        assert len(refused) == 1
        [bobs] = passwords_of(postgres_server, bob)
        assert bobs is not None and bobs.startswith("SCRAM-SHA-256$")
        assert passwords_of(postgres_server, f"{prefix}_alice") == [None]
