"""A class server is hostile ground: what a student plants in her database never runs with the
administrator's rights, a class is exactly its recorded students, and creating one is
all-or-nothing per student, also for an administrator who is not a superuser.

Each trojan below tries, whenever it runs, to write a file with `COPY ... TO` and to make its
student a superuser; both need a superuser's session. A control test shows the catalogue is
live: a naive superuser connection fires it at once.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from test_class import admin, drop_everything_named, names_with_prefix, read_credentials

pytestmark = pytest.mark.postgres


@pytest.fixture
def prefix(postgres_server: str) -> Iterator[str]:
    import uuid

    name = f"mt11{uuid.uuid4().hex[:8]}"
    yield name
    drop_everything_named(postgres_server, name + "_")


@pytest.fixture
def drop_box() -> Iterator[Path]:
    """A directory the server's own OS user may write into: a trojan's COPY lands here."""
    directory = Path(tempfile.mkdtemp(prefix="mt-trojan-", dir="/tmp"))
    directory.chmod(0o777)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def trojans(student: str, database: str, box: Path) -> list[str]:
    """Statements, run as the student in her own database, that plant the catalogue."""
    fire = f"""
CREATE FUNCTION public.trojan_fire(via text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  BEGIN
    INSERT INTO public.trojan_log VALUES (session_user, current_user, via);
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
  BEGIN
    EXECUTE 'SET ROLE NONE';
    EXECUTE format('COPY (SELECT %L || session_user) TO %L', via || ' ran as ',
                   '{box}/' || via || '.txt');
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
  BEGIN
    EXECUTE 'SET ROLE NONE';
    EXECUTE 'ALTER ROLE "{student}" SUPERUSER';
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
END $f$"""
    return [
        "CREATE TABLE public.trojan_log (session_name text, current_name text, via text)",
        "GRANT ALL ON public.trojan_log TO PUBLIC",
        fire,
        # Functions that shadow the catalog's, found first through the database's search_path.
        "CREATE FUNCTION public.current_schema() RETURNS name LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM public.trojan_fire('current_schema'); RETURN 'public'; END $$",
        "CREATE FUNCTION public.version() RETURNS text LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM public.trojan_fire('version'); "
        "RETURN 'PostgreSQL 15.0 on x86_64'; END $$",
        "CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM public.trojan_fire('now'); "
        "RETURN pg_catalog.statement_timestamp(); END $$",
        "CREATE FUNCTION public.pg_advisory_xact_lock(bigint) RETURNS void LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM public.trojan_fire('advisory_lock'); END $$",
        # Operators that shadow `=`.
        "CREATE FUNCTION public.trojan_eq(name, name) RETURNS boolean LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM public.trojan_fire('eq_name'); "
        "RETURN $1 OPERATOR(pg_catalog.=) $2; END $$",
        "CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.trojan_eq)",
        "CREATE FUNCTION public.trojan_eq_text(text, text) RETURNS boolean LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM public.trojan_fire('eq_text'); "
        "RETURN $1 OPERATOR(pg_catalog.=) $2; END $$",
        "CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, "
        "FUNCTION = public.trojan_eq_text)",
        # A view where a course table should be, and triggers on a table that reset keeps.
        "CREATE FUNCTION public.trojan_row() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM public.trojan_fire('trigger'); RETURN NULL; END $$",
        "CREATE VIEW public.posts AS SELECT 1 AS id, public.now() AS title",
        "CREATE TABLE public.notes (id integer)",
        "INSERT INTO public.notes VALUES (1)",
        "CREATE TRIGGER notes_trojan BEFORE INSERT OR UPDATE OR DELETE ON public.notes "
        "FOR EACH ROW EXECUTE FUNCTION public.trojan_row()",
        "CREATE TRIGGER notes_truncate BEFORE TRUNCATE ON public.notes "
        "FOR EACH STATEMENT EXECUTE FUNCTION public.trojan_row()",
        # Settings every new session in her database would take.
        f'ALTER DATABASE "{database}" SET search_path = public, pg_catalog',
        f'ALTER DATABASE "{database}" SET role = "{student}"',
        f'ALTER ROLE "{student}" IN DATABASE "{database}" SET search_path = public, pg_catalog',
    ]


def sabotage(database: str) -> list[str]:
    """Settings that would stop an unpinned session from working."""
    return [
        f'ALTER DATABASE "{database}" SET default_transaction_read_only = on',
        f'ALTER DATABASE "{database}" SET statement_timeout = 1',
    ]


def plant(url: str, statements: list[str]) -> None:
    import psycopg2

    parsed = make_url(url)
    with (
        psycopg2.connect(
            host=parsed.host,
            port=parsed.port,
            user=parsed.username,
            password=parsed.password,
            dbname=parsed.database,
        ) as connection,
        connection.cursor() as cursor,
    ):
        for statement in statements:
            cursor.execute(statement)  # no parameters: `%` in the SQL stays as written
    connection.close()


def pinned(url) -> sa.Engine:
    """The test's own look inside pins its settings as migtutor does, or it would fire them."""
    return sa.create_engine(
        url,
        poolclass=sa.pool.NullPool,
        connect_args={"options": "-c search_path=pg_catalog -c role=none -c statement_timeout=0"},
    )


def breaches(server: str, box: Path, student_role: str, database: str) -> list[str]:
    """What the trojans achieved: files written, superuser made, a privileged session reached."""
    found = [f"file {p.name}" for p in box.iterdir()]
    engine = admin(server)
    with engine.connect() as connection:
        superuser = connection.execute(
            sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": student_role}
        ).scalar()
        helpers = connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                "WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = :r) "
                "AND r.rolname LIKE 'migtutor_op_%'"
            ),
            {"r": student_role},
        ).scalar()
    engine.dispose()
    if superuser:
        found.append(f"{student_role} is a superuser")
    if helpers:
        found.append(f"{helpers} helper role(s) left behind")
    probe = pinned(make_url(server).set(database=database))
    with probe.connect() as connection:
        exists = connection.execute(sa.text("SELECT to_regclass('public.trojan_log')")).scalar()
        if exists:
            rows = connection.execute(
                sa.text(
                    "SELECT DISTINCT l.session_name, l.via FROM public.trojan_log l "
                    "JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) l.session_name "
                    "WHERE r.rolsuper OR r.rolcreaterole"
                )
            ).all()
            found += [f"{via} ran in a session of {name}" for name, via in rows]
    probe.dispose()
    return found


def test_the_trojans_fire_in_a_naive_superuser_session(
    cli, postgres_server: str, prefix: str, drop_box: Path, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text("alice\n")
    credentials = tmp_path / "credentials.txt"
    created = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix,
                  "--credentials", str(credentials))  # fmt: skip
    assert created.exit_code == 0, created.output
    name = f"{prefix}_alice"
    plant(read_credentials(credentials)["alice"], trojans(name, name, drop_box))
    # What migtutor did before: connect into her database as the administrator.
    naive = sa.create_engine(
        make_url(postgres_server).set(database=name), poolclass=sa.pool.NullPool
    )
    with naive.connect() as connection:
        connection.execute(sa.text("SELECT now()"))
        connection.commit()
    naive.dispose()
    achieved = breaches(postgres_server, drop_box, name, name)
    assert "file current_schema.txt" in achieved and f"{name} is a superuser" in achieved
    engine = admin(postgres_server)
    with engine.connect() as connection:
        connection.exec_driver_sql(f'ALTER ROLE "{name}" NOSUPERUSER')
    engine.dispose()


def test_no_trojan_reaches_the_administrator_in_create_status_reset_or_drop(
    cli, postgres_server: str, prefix: str, drop_box: Path, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text("alice\nbob\n")
    credentials = tmp_path / "credentials.txt"
    created = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix,
                  "--credentials", str(credentials), "--to", "lesson:2")  # fmt: skip
    assert created.exit_code == 0, created.output
    alice = f"{prefix}_alice"
    alice_url = read_credentials(credentials)["alice"]
    plant(alice_url, ["DROP TABLE posts", "DROP TABLE alembic_version"])
    plant(alice_url, trojans(alice, alice, drop_box) + sabotage(alice))

    def clean() -> None:
        assert breaches(postgres_server, drop_box, alice, alice) == []

    status = cli("-d", postgres_server, "--json", "class", "status", "--prefix", prefix)
    assert status.exit_code == 0, status.output
    rows = {row["student"]: row for row in status.json()}
    assert "notes" in rows["alice"]["tables"] and rows["bob"]["state"] == "reference"
    clean()

    reset = cli("-d", postgres_server, "class", "reset", "--prefix", prefix, "--to", "lesson:3",
                "--yes")  # fmt: skip
    assert reset.exit_code == 0, reset.output
    clean()
    rows = {r["student"]: r for r in cli("-d", postgres_server, "--json", "class", "status",
                                         "--prefix", prefix).json()}  # fmt: skip
    assert rows["alice"]["current"] == ["l2_content"] and "posts" in rows["alice"]["tables"]
    clean()

    # `reset` given the administrator's URL for her database runs as her, not as postgres.
    workspace = tmp_path / "ws"
    assert cli("init", str(workspace)).exit_code == 0
    admin_into_alice = make_url(postgres_server).set(database=alice).render_as_string(False)
    single = cli("-w", str(workspace), "-d", admin_into_alice, "reset", "--to", "lesson:4",
                 "--yes", "--keep-scripts")  # fmt: skip
    assert single.exit_code == 0, single.output
    clean()
    engine = pinned(alice_url)
    with engine.connect() as connection:
        owners = connection.execute(
            sa.text("SELECT DISTINCT tableowner FROM pg_tables WHERE tablename = 'posts'")
        )
        assert owners.scalars().all() == [alice]
        version = connection.execute(sa.text("SELECT version_num FROM public.alembic_version"))
        assert version.scalars().all() == ["l3_users"]
    engine.dispose()

    # She drops her own database: status shows her missing, create gives it back.
    engine = admin(postgres_server)
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{alice}" WITH (FORCE)')
    engine.dispose()
    rows = {r["student"]: r for r in cli("-d", postgres_server, "--json", "class", "status",
                                         "--prefix", prefix).json()}  # fmt: skip
    assert rows["alice"]["state"] == "missing" and rows["bob"]["state"] == "reference"
    again = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix)
    assert again.exit_code == 0, again.output
    assert f"the database {alice} was missing: re-created" in again.stdout
    assert "bob: " in again.stdout and "exists already" in again.stdout

    dropped = cli("-d", postgres_server, "class", "drop", str(roster), "--prefix", prefix, "--yes")
    assert dropped.exit_code == 0, dropped.output
    assert names_with_prefix(postgres_server, prefix + "_") == ([], [])
    assert list(drop_box.iterdir()) == []


def test_class_commands_refuse_an_administrator_url_into_a_students_database(
    cli, postgres_server: str, prefix: str, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text("alice\n")
    assert (
        cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix).exit_code
        == 0
    )
    into_alice = make_url(postgres_server).set(database=f"{prefix}_alice").render_as_string(False)
    refused = cli("-d", into_alice, "class", "status", "--prefix", prefix)
    assert refused.exit_code == 1
    assert f"belongs to the role '{prefix}_alice'" in refused.stderr
    assert "such as postgres" in refused.stderr


def test_a_class_is_exactly_its_students_even_when_a_prefix_starts_another(
    cli, postgres_server: str, prefix: str, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text("amy\n")
    other = tmp_path / "other.txt"
    other.write_text("zed\nyan\n")
    assert (
        cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix).exit_code
        == 0
    )
    wider = cli("-d", postgres_server, "class", "create", str(other), "--prefix", f"{prefix}_b",
                "--to", "lesson:2")  # fmt: skip
    assert wider.exit_code == 0, wider.output

    listing = cli("-d", postgres_server, "--json", "class", "status", "--prefix", prefix)
    assert [row["student"] for row in listing.json()] == ["amy"]
    reset = cli("-d", postgres_server, "--json", "class", "reset", "--prefix", prefix, "--to",
                "base", "--yes")  # fmt: skip
    assert reset.exit_code == 0 and reset.json()["databases"] == [f"{prefix}_amy"]
    untouched = cli("-d", postgres_server, "--json", "class", "status", "--prefix", f"{prefix}_b")
    assert {row["student"]: row["current"] for row in untouched.json()} == {
        "yan": ["l1_posts"],
        "zed": ["l1_posts"],
    }
    # Dropping with the wrong prefix's roster touches nothing of the other class.
    stray = cli("-d", postgres_server, "--json", "class", "drop", str(other), "--prefix", prefix,
                "--yes")  # fmt: skip
    assert stray.json() == {"dropped": [], "not_in_class": [f"{prefix}_zed", f"{prefix}_yan"]}
    assert len(names_with_prefix(postgres_server, f"{prefix}_b_")[0]) == 2


@pytest.mark.parametrize("name", ["ann__op", "ann_", "x__template"])
def test_names_with_double_or_trailing_underscores_are_refused(cli, tmp_path, name) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text(f"{name}\n")
    server = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
    refused = cli("-d", server, "class", "create", str(roster), "--prefix", "cls")
    assert refused.exit_code == 1 and "single underscores" in refused.stderr
    prefix = cli("-d", server, "class", "status", "--prefix", "cls_")
    assert prefix.exit_code == 1 and "not a safe class prefix" in prefix.stderr


@pytest.fixture
def instructor(postgres_server: str, prefix: str) -> Iterator[str]:
    """A login role with CREATEROLE and CREATEDB that is not a superuser."""
    role = f"{prefix}_instructor"
    engine = admin(postgres_server)
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN CREATEROLE CREATEDB')
    engine.dispose()
    yield make_url(postgres_server).set(username=role).render_as_string(False)
    engine = admin(postgres_server)
    with engine.connect() as connection:
        for (name,) in connection.execute(
            sa.text("SELECT datname FROM pg_database WHERE left(datname, :n) = :p"),
            {"n": len(prefix) + 1, "p": prefix + "_"},
        ).all():
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'DROP OWNED BY "{role}"')
    engine.dispose()


def test_an_administrator_who_is_not_a_superuser_runs_the_whole_class(
    cli, postgres_server: str, prefix: str, instructor: str, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text("amy\nben\ncat\n")
    credentials = tmp_path / "credentials.txt"
    created = cli("-d", instructor, "class", "create", str(roster), "--prefix", prefix,
                  "--credentials", str(credentials), "--to", "lesson:2")  # fmt: skip
    assert created.exit_code == 0, created.output
    assert sorted(read_credentials(credentials)) == ["amy", "ben", "cat"]
    rows = cli("-d", instructor, "--json", "class", "status", "--prefix", prefix).json()
    assert [(r["student"], r["state"], r["current"]) for r in rows] == [
        (s, "reference", ["l1_posts"]) for s in ("amy", "ben", "cat")
    ]
    reset = cli("-d", instructor, "class", "reset", "--prefix", prefix, "--to", "lesson:3", "--yes")
    assert reset.exit_code == 0, reset.output
    dropped = cli("-d", instructor, "class", "drop", str(roster), "--prefix", prefix, "--yes")
    assert dropped.exit_code == 0, dropped.output
    databases, roles = names_with_prefix(postgres_server, prefix + "_")
    assert databases == [] and roles == [f"{prefix}_instructor"]


def test_a_missing_privilege_is_named_before_anything_is_created(
    cli, postgres_server: str, prefix: str, tmp_path: Path
) -> None:
    role = f"{prefix}_helper_admin"
    engine = admin(postgres_server)
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN CREATEROLE')
    engine.dispose()
    roster = tmp_path / "roster.txt"
    roster.write_text("amy\n")
    url = make_url(postgres_server).set(username=role).render_as_string(False)
    refused = cli("-d", url, "class", "create", str(roster), "--prefix", prefix)
    assert refused.exit_code == 1
    assert "lacks CREATEDB" in refused.stderr and "Nothing was changed" in refused.stderr
    assert names_with_prefix(postgres_server, prefix + "_") == ([], [role])


def test_a_half_made_student_is_finished_by_a_rerun_with_a_new_password(
    cli, postgres_server: str, prefix: str, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text("amy\nben\n")
    first = tmp_path / "first.txt"
    created = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix,
                  "--credentials", str(first))  # fmt: skip
    assert created.exit_code == 0, created.output
    # A run killed between amy's role and her database leaves this behind.
    engine = admin(postgres_server)
    amy = f"{prefix}_amy"
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{amy}"')
        record = connection.execute(
            sa.text("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = :r"),
            {"r": amy},
        ).scalar()
        connection.exec_driver_sql(
            f"COMMENT ON ROLE \"{amy}\" IS '{record.replace('true', 'false')}'"
        )
    engine.dispose()
    second = tmp_path / "second.txt"
    rerun = cli("-d", postgres_server, "--json", "class", "create", str(roster), "--prefix",
                prefix, "--credentials", str(second))  # fmt: skip
    assert rerun.exit_code == 0, rerun.output
    statuses = {s["student"]: s["status"] for s in rerun.json()["students"]}
    assert statuses == {"amy": "completed", "ben": "exists"}
    urls = read_credentials(second)
    assert list(urls) == ["amy"] and urls["amy"] != read_credentials(first)["amy"]
    login = sa.create_engine(urls["amy"], poolclass=sa.pool.NullPool)
    with login.connect() as connection:
        assert connection.execute(sa.text("SELECT current_database()")).scalar() == amy
    login.dispose()


def test_students_have_a_connection_limit_and_open_tcp_trust_is_named(
    cli, postgres_server: str, prefix: str, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text("amy\n")
    created = cli("-d", postgres_server, "class", "create", str(roster), "--prefix", prefix)
    assert created.exit_code == 0, created.output
    engine = admin(postgres_server)
    with engine.connect() as connection:
        limit = connection.execute(
            sa.text("SELECT rolconnlimit FROM pg_roles WHERE rolname = :r"), {"r": f"{prefix}_amy"}
        ).scalar()
        trusted = (
            connection.execute(
                sa.text(
                    "SELECT line_number FROM pg_hba_file_rules "
                    "WHERE auth_method = 'trust' AND type LIKE 'host%'"
                )
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert limit == 10
    status = cli("-d", postgres_server, "class", "status", "--prefix", prefix)
    assert status.exit_code == 0
    for line in trusted:
        assert f"pg_hba.conf line {line}:" in status.stderr
        assert f"pg_hba.conf line {line}:" in created.stderr
    assert ("trust" in status.stderr) == bool(trusted)
    assert "scram-sha-256" in status.stderr or not trusted
