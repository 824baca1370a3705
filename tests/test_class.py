"""`migtutor class ...` on the real PostgreSQL server: a class of three, isolation, hostile names.

Every database and role made here starts with a prefix unique to the test session and is dropped
at the end, whatever happened.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.postgres

POSTS = """    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(), nullable=False),
    )"""
CONTENT = """    op.add_column("posts", sa.Column("content", sa.String(), nullable=False))"""


def admin(server: str) -> sa.Engine:
    return sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def drop_everything_named(server: str, prefix: str) -> None:
    engine = admin(server)
    quote = engine.dialect.identifier_preparer.quote_identifier
    with engine.connect() as connection:
        match = {"n": len(prefix), "p": prefix}
        for (name,) in connection.execute(
            sa.text("SELECT datname FROM pg_database WHERE left(datname, :n) = :p"), match
        ).all():
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {quote(name)} WITH (FORCE)"))
        for (name,) in connection.execute(
            sa.text("SELECT rolname FROM pg_roles WHERE left(rolname, :n) = :p"), match
        ).all():
            connection.execute(sa.text(f"DROP ROLE IF EXISTS {quote(name)}"))
    engine.dispose()


def names_with_prefix(server: str, prefix: str) -> tuple[list[str], list[str]]:
    engine = admin(server)
    with engine.connect() as connection:
        match = {"n": len(prefix), "p": prefix}
        databases = connection.execute(
            sa.text("SELECT datname FROM pg_database WHERE left(datname, :n) = :p ORDER BY 1"),
            match,
        ).scalars()
        roles = connection.execute(
            sa.text("SELECT rolname FROM pg_roles WHERE left(rolname, :n) = :p ORDER BY 1"), match
        ).scalars()
        result = list(databases), list(roles)
    engine.dispose()
    return result


@pytest.fixture
def prefix(postgres_server: str) -> Iterator[str]:
    name = f"mt5_{uuid.uuid4().hex[:8]}"
    yield name
    drop_everything_named(postgres_server, name + "_")


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.txt"
    path.write_text("# spring class\nAlice\nbob\n\ncarol\n")
    return path


def read_credentials(path: Path) -> dict[str, str]:
    lines = [line.split() for line in path.read_text().splitlines() if not line.startswith("#")]
    return {student: url for student, url in lines}


def write_revision(cli, workspace: Path, url: str, message: str, body: str) -> None:
    created = cli("-w", str(workspace), "-d", url, "--json", "revision", "-m", message)
    assert created.exit_code == 0, created.output
    path = Path(created.json()["path"])
    source = path.read_text().replace(
        "def upgrade() -> None:\n    pass", f"def upgrade() -> None:\n{body}"
    )
    path.write_text(source)


def status(cli, server: str, prefix: str) -> dict[str, dict]:
    result = cli("-d", server, "--json", "class", "status", "--prefix", prefix)
    assert result.exit_code == 0, result.output
    return {row["student"]: row for row in result.json()}


def test_a_class_of_three_advances_shows_in_status_and_resets(
    cli, postgres_server: str, prefix: str, roster: Path, workspace: Path, tmp_path: Path
) -> None:
    credentials = tmp_path / "credentials.txt"
    created = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix,
                  "--credentials", str(credentials))  # fmt: skip
    assert created.exit_code == 0, created.output
    assert stat.S_IMODE(os.stat(credentials).st_mode) == 0o600
    urls = read_credentials(credentials)
    assert sorted(urls) == ["alice", "bob", "carol"]
    for student, url in urls.items():
        password = make_url(url).password
        assert password and len(password) >= 20
        assert password not in created.output  # written to the file, not printed
        assert make_url(url).database == f"{prefix}_{student}"

    # Alice works through two lessons with her own revisions, as her own user.
    alice = urls["alice"]
    write_revision(cli, workspace, alice, "create posts table", POSTS)
    write_revision(cli, workspace, alice, "add content column", CONTENT)
    upgraded = cli("-w", str(workspace), "-d", alice, "upgrade", "head")
    assert upgraded.exit_code == 0, upgraded.output

    rows = status(cli, postgres_server, prefix)
    assert rows["alice"]["state"] == "own revisions" and rows["alice"]["lesson"] == 3
    assert rows["alice"]["tables"] == ["posts"] and len(rows["alice"]["current"]) == 1
    for other in ("bob", "carol"):
        assert rows[other]["state"] == "reference" and rows[other]["lesson"] == 1
        assert rows[other]["current"] == [] and rows[other]["tables"] == []
    table = cli("-d", postgres_server, "class", "status", "--prefix", prefix)
    assert table.exit_code == 0
    alice_line = next(line for line in table.stdout.splitlines() if "alice" in line)
    assert "own revisions" in alice_line and "posts" in alice_line

    refused = cli("-d", postgres_server, "class", "reset", "--prefix", prefix, "--to", "lesson:3")
    assert refused.exit_code == 1 and "--yes" in refused.stderr
    assert status(cli, postgres_server, prefix)["alice"]["state"] == "own revisions"

    reset = cli("-d", postgres_server, "class", "reset", "--prefix", prefix, "--to", "lesson:3",
                "--yes")  # fmt: skip
    assert reset.exit_code == 0, reset.output
    assert "Reset 3 database(s)" in reset.stdout
    assert "migtutor sync" in reset.stderr  # what the students run next

    for student, url in urls.items():
        # Every database, checked as its own student: the reference state of lesson 3, and
        # the tables belong to the student, who can carry on with lesson 3.
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            version = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert version.scalars().all() == ["l2_content"]
            inspector = sa.inspect(connection)
            assert sorted(inspector.get_table_names()) == ["alembic_version", "posts"]
            columns = [c["name"] for c in inspector.get_columns("posts")]
            assert columns == ["id", "title", "content"]
            owners = connection.execute(
                sa.text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
            )
            assert owners.scalars().all() == [f"{prefix}_{student}"]
            connection.execute(sa.text("ALTER TABLE posts ADD COLUMN draft BOOLEAN"))
            connection.rollback()
        engine.dispose()
    rows = status(cli, postgres_server, prefix)
    assert {(r["state"], r["lesson"], tuple(r["current"])) for r in rows.values()} == {
        ("reference", 3, ("l2_content",))
    }

    # Alice's workspace still holds her own chain; one command brings it in step.
    stuck = cli("-w", str(workspace), "-d", alice, "upgrade", "head")
    assert stuck.exit_code == 1 and "migtutor sync" in stuck.stderr
    doctor = cli("-w", str(workspace), "-d", alice, "--json", "doctor")
    assert "workspace_behind_reset" in [f["code"] for f in doctor.json()["findings"]]
    synced = cli("-w", str(workspace), "-d", alice, "--json", "sync")
    assert synced.exit_code == 0, synced.output
    files = synced.json()["files"]
    assert sorted(files["copied"]) == [
        "l1_posts_create_posts_table.py",
        "l2_content_add_content_column_to_posts_table.py",
    ]
    assert len(files["moved"]) == 2 and synced.json()["progress_lesson"] == 3
    backup = Path(files["backup"])
    assert sorted(p.name for p in backup.glob("*.py")) == sorted(files["moved"])
    assert cli("-w", str(workspace), "-d", alice, "upgrade", "head").exit_code == 0
    again = cli("-w", str(workspace), "-d", alice, "sync")
    assert again.exit_code == 0 and "In step" in again.stdout
    shown = cli("-w", str(workspace), "--json", "lesson", "list").json()
    assert [item["status"] for item in shown][:3] == ["done", "done", "current"]

    dropped = cli("-d", postgres_server, "class", "drop", str(roster), "--prefix", prefix, "--yes")
    assert dropped.exit_code == 0, dropped.output
    assert names_with_prefix(postgres_server, prefix + "_") == ([], [])


def test_a_student_cannot_connect_to_a_classmates_database(
    cli, postgres_server: str, prefix: str, roster: Path, tmp_path: Path
) -> None:
    credentials = tmp_path / "credentials.txt"
    created = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix,
                  "--credentials", str(credentials))  # fmt: skip
    assert created.exit_code == 0, created.output
    urls = read_credentials(credentials)
    alice = make_url(urls["alice"])
    into_bobs = alice.set(database=f"{prefix}_bob")

    engine = sa.create_engine(into_bobs, poolclass=sa.pool.NullPool)
    with pytest.raises(sa.exc.OperationalError, match="permission denied for database"):
        engine.connect()
    engine.dispose()

    url = into_bobs.render_as_string(hide_password=False)
    result = cli("-d", url, "current")
    assert result.exit_code == 1
    assert "permission denied" in result.stderr and "Traceback" not in result.output
    assert alice.password not in result.output

    own = sa.create_engine(alice, poolclass=sa.pool.NullPool)
    with own.connect() as connection:
        assert connection.execute(sa.text("SELECT current_user")).scalar() == f"{prefix}_alice"

    # Alice leaves a transaction open that holds a lock on posts: class reset disconnects her
    # instead of waiting for her.
    first = cli("-d", postgres_server, "class", "reset", "--prefix", prefix, "--to", "lesson:2",
                "--yes")  # fmt: skip
    assert first.exit_code == 0, first.output
    with own.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM posts")).scalar() == 0
        reset = cli("-d", postgres_server, "class", "reset", "--prefix", prefix, "--to",
                    "lesson:3", "--yes")  # fmt: skip
        assert reset.exit_code == 0, reset.output
        with pytest.raises(sa.exc.OperationalError):
            connection.execute(sa.text("SELECT 1"))
    own.dispose()
    rows = status(cli, postgres_server, prefix)
    assert rows["alice"]["state"] == "reference" and rows["alice"]["lesson"] == 3


def test_passwords_are_printed_once_and_never_in_json(
    cli, postgres_server: str, prefix: str, tmp_path: Path
) -> None:
    roster = tmp_path / "one.txt"
    roster.write_text("dana\n")
    refused = cli("-d", postgres_server, "--json", "class", "create", str(roster),
                  "--prefix", prefix)  # fmt: skip
    assert refused.exit_code == 1 and "--credentials" in refused.stderr
    assert names_with_prefix(postgres_server, prefix + "_") == ([], [])

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    unwritable = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix,
                     "--credentials", str(blocked / "credentials.txt"))  # fmt: skip
    assert unwritable.exit_code == 1 and "Nothing was created" in unwritable.stderr
    assert names_with_prefix(postgres_server, prefix + "_") == ([], [])

    printed = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix)
    assert printed.exit_code == 0, printed.output
    url = next(word for word in printed.stdout.split() if word.startswith("postgresql"))
    password = make_url(url).password
    assert password and printed.stdout.count(password) == 1

    again = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix)
    assert again.exit_code == 0 and "exists already" in again.stdout
    assert password not in again.output
    listing = cli("-d", postgres_server, "--json", "class", "status", "--prefix", prefix)
    assert password not in listing.output


@pytest.mark.parametrize(
    "name", ["x; DROP DATABASE postgres", '"a"', "a" * 200, "robert'); --", "café"]
)
def test_hostile_student_names_are_refused(
    cli, postgres_server: str, prefix: str, tmp_path: Path, name: str
) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text(f"alice\n{name}\n")
    result = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix)
    assert result.exit_code == 1
    assert "line 2" in result.stderr and "not a safe student name" in result.stderr
    assert "nothing was created" in result.stderr
    assert "Traceback" not in result.output and "a" * 41 not in result.output
    assert names_with_prefix(postgres_server, prefix + "_") == ([], [])
    assert names_with_prefix(postgres_server, "postgres")[0] == ["postgres"]


def test_a_hostile_prefix_and_a_non_postgres_url_are_refused(cli, roster, tmp_path) -> None:
    server = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
    bad = cli("-d", server, "class", "create", str(roster), "--prefix", "c; DROP ROLE postgres")
    assert bad.exit_code == 1 and "not a safe class prefix" in bad.stderr
    sqlite = cli("-d", f"sqlite:///{tmp_path / 'x.db'}", "class", "status")
    assert sqlite.exit_code == 1 and "PostgreSQL server" in sqlite.stderr
