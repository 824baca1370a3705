"""The guard of `reset`, `class reset` and `class drop`: it judges the hosts libpq will really
connect to (the URL's host, host=/hostaddr= query values, host lists, PGHOST, PGHOSTADDR, a
service), names the one that is not local, and never prints the password."""

from __future__ import annotations

from pathlib import Path

import pytest
from revision_files import assert_clean_failure
from sqlalchemy.engine import make_url
from test_reset import assert_at

PASSWORD = "Sup3rSecretPw"
# A failing guard must not leave a test waiting for an unroutable address.
LOCAL = f"postgresql+psycopg2://teacher:{PASSWORD}@127.0.0.1:5432/course?connect_timeout=2"
HOSTLESS = f"postgresql+psycopg2://teacher:{PASSWORD}@/course?connect_timeout=2"

REMOTE = [
    # (URL, environment, what the message must name)
    (LOCAL + "&host=db.example.com", {}, ["db.example.com", "host= in the URL"]),
    (LOCAL + "&host=127.0.0.1,db.example.com", {}, ["db.example.com", "host= in the URL"]),
    (LOCAL + "&host=localhost:5432&host=db.example.com:5433", {}, ["db.example.com"]),
    (LOCAL + "&hostaddr=192.0.2.7", {}, ["192.0.2.7", "hostaddr= in the URL"]),
    (LOCAL.replace("127.0.0.1:5432", "localhost,db.example.com"), {}, ["db.example.com"]),
    (LOCAL.replace("127.0.0.1", "[2001:db8::1]"), {}, ["2001:db8::1", "the URL's host"]),
    (HOSTLESS, {"PGHOST": "db.example.com"}, ["db.example.com", "PGHOST"]),
    (HOSTLESS, {"PGHOST": "/tmp,db.example.com"}, ["db.example.com", "PGHOST"]),
    (LOCAL, {"PGHOSTADDR": "192.0.2.7"}, ["192.0.2.7", "PGHOSTADDR"]),
    (LOCAL + "&service=prod", {}, ["service 'prod'", "service= in the URL", "pg_service.conf"]),
    (HOSTLESS, {"PGSERVICE": "prod"}, ["service 'prod'", "PGSERVICE", "pg_service.conf"]),
]
COMMANDS = [
    ("reset", "--yes"),
    ("class", "reset", "--yes"),
    ("class", "drop", "ROSTER", "--yes"),
]


@pytest.mark.parametrize(("url", "env", "named"), REMOTE)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_host_the_driver_would_use_is_judged(
    cli, tmp_path: Path, url: str, env: dict[str, str], named: list[str], command: tuple[str, ...]
) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_text("alice\n")
    args = [str(roster) if arg == "ROSTER" else arg for arg in command]
    result = cli("-w", str(tmp_path), "-d", url, *args, env=env)
    assert_clean_failure(result, "on this machine", "--allow-remote", *named)
    assert PASSWORD not in result.output


def _local_forms(url: str) -> list[tuple[str, dict[str, str]]]:
    """The scratch database reached through local hosts written in other places."""
    if url.startswith("sqlite"):  # PostgreSQL's variables have nothing to do with a file
        return [(url, {"PGHOST": "db.example.com", "PGSERVICE": "prod"})]
    parsed = make_url(url)
    hostless = parsed.set(host=None, port=None)
    text = hostless.render_as_string(hide_password=False)
    return [
        (f"{text}?host=127.0.0.1&port={parsed.port or 5432}", {}),
        (f"{text}?host=localhost:{parsed.port or 5432}", {}),
        (text, {"PGHOST": "127.0.0.1", "PGPORT": str(parsed.port or 5432)}),
        (url, {"PGHOSTADDR": "127.0.0.1"}),
    ]


def test_local_hosts_pass_the_guard(cli, tmp_path: Path, database_url: str) -> None:
    for url, env in _local_forms(database_url):
        result = cli("-w", str(tmp_path), "-d", url, "reset", "--to", "lesson:2", "--yes", env=env)
        assert result.exit_code == 0, (url, env, result.output)
        assert_at(database_url, "l1_posts")
        assert cli("-w", str(tmp_path), "-d", database_url, "reset", "--yes").exit_code == 0
        assert_at(database_url, None)


def test_allow_remote_lets_the_command_through(cli, tmp_path: Path, postgres_url: str) -> None:
    """libpq dials hostaddr= and uses the host name only to authenticate: a URL naming a remote
    host is refused, and with --allow-remote connects to the address given."""
    parsed = make_url(postgres_url)
    url = parsed.set(host="db.example.com").render_as_string(hide_password=False)
    url += "?hostaddr=127.0.0.1"
    ws = ["-w", str(tmp_path), "-d", url]
    refused = cli(*ws, "reset", "--to", "head", "--yes")
    assert_clean_failure(refused, "db.example.com (the URL's host) is not on this machine")
    assert_at(postgres_url, None)

    allowed = cli(*ws, "reset", "--to", "head", "--yes", "--allow-remote")
    assert allowed.exit_code == 0, allowed.output
    assert_at(postgres_url, "l7_phone")
