"""No password in any output: stdout, stderr, --json documents, --debug tracebacks, files.

A representative set of commands runs as real processes with a distinctive password given as
DATABASE_* parts in the environment, and a few in-process with it given in .env, as a
percent-quoted DATABASE_URL and as -d; every byte they print (and every file they leave in the
workspace) is searched for the password in its raw and URL-quoted forms. The PostgreSQL server
here trusts local connections, so a URL with any password connects: the commands do real work.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from revision_files import MIGTUTOR, write_revision

PASSWORD = "Zx9@Secr:et/Pw%d#Q"
QUOTED = quote(PASSWORD, safe="")  # Zx9%40Secr%3Aet%2FPw%25d%23Q


def secret_forms() -> set[str]:
    forms = {PASSWORD, QUOTED, quote_plus(PASSWORD), QUOTED.replace("%", "%%"), "Secr:et/Pw"}
    return {form.lower() for form in forms}


def assert_no_secret(text: str, where: str) -> None:
    lowered = text.lower()
    for form in secret_forms():
        assert form not in lowered, f"password form {form!r} leaked in {where}:\n{text}"


def run(
    workspace: Path, *args: str, env: dict[str, str], process: bool = True
) -> subprocess.CompletedProcess[str]:
    """migtutor as a real process, or in-process (the same code, with stdout and stderr
    captured) where a test repeats what the real processes have shown."""
    if not process:
        from conftest import invoke

        result = invoke("-w", str(workspace), *args, env={"NO_COLOR": "1", **env})
        return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MIGTUTOR_"))}
    return subprocess.run(
        [MIGTUTOR, "-w", str(workspace), *args],
        capture_output=True,
        text=True,
        env={**clean, "NO_COLOR": "1", **env},
        timeout=60,
    )


def _parts(url: str) -> dict[str, str]:
    """The DATABASE_* parts of a trust-auth scratch database URL, with our password."""
    hostport, name = url.split("@", 1)[1].split("/", 1)
    host, _, port = hostport.partition(":")
    return {
        "DATABASE_HOSTNAME": host,
        "DATABASE_PORT": port or "5432",
        "DATABASE_USERNAME": "postgres",
        "DATABASE_PASSWORD": PASSWORD,
        "DATABASE_NAME": name,
    }


def _with_password(url: str, password: str = QUOTED) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://postgres:{password}@{rest.split('@', 1)[1]}"


COMMANDS: list[tuple[str, ...]] = [
    ("config",),
    ("--json", "config"),
    ("current",),
    ("--json", "current"),
    ("history", "-v"),
    ("--json", "history"),
    ("upgrade", "a1"),
    ("--json", "upgrade"),  # b2 fails: a migration error with the SQL in it
    ("--debug", "upgrade"),
    ("--debug", "--json", "current"),
    ("upgrade", "a1:b2", "--sql"),
    ("check",),
    ("--json", "downgrade", "base", "--yes"),
]
SHORT_COMMANDS: list[tuple[str, ...]] = [("config",), ("--debug", "upgrade"), ("--json", "current")]


@pytest.fixture
def secret_workspace(workspace: Path) -> Path:
    write_revision(
        workspace,
        "a1",
        None,
        'op.create_table("t1", sa.Column("id", sa.Integer()))',
        'op.drop_table("t1")',
    )
    write_revision(workspace, "b2", "a1", 'op.execute("SELECT * FROM no_such_table")')
    return workspace


@pytest.mark.parametrize(
    "source", ["parts in the environment", "parts in .env", "DATABASE_URL", "-d option"]
)
def test_no_command_prints_the_password(
    secret_workspace: Path, postgres_url: str, source: str
) -> None:
    env: dict[str, str] = {}
    options: list[str] = []
    if source == "parts in the environment":
        env = _parts(postgres_url)
    elif source == "parts in .env":
        lines = [f"{key}={value}" for key, value in _parts(postgres_url).items()]
        (secret_workspace / ".env").write_text("\n".join(lines) + "\n")
    elif source == "DATABASE_URL":
        env = {"DATABASE_URL": _with_password(postgres_url)}
    else:
        options = ["-d", _with_password(postgres_url)]

    # Every command once as a real process (parts in the environment); the other sources reach
    # the same code after resolving the URL, so a few commands in-process suffice for them.
    every = source == "parts in the environment"
    commands = COMMANDS if every else SHORT_COMMANDS
    outputs = []
    for command in commands:
        result = run(secret_workspace, *options, *command, env=env, process=every)
        outputs.append((command, result))
        assert_no_secret(result.stdout + result.stderr, f"`migtutor {' '.join(command)}`")

    by_command = {command: result for command, result in outputs}
    # The commands really ran against the server, with the password given.
    assert "***" in by_command[("config",)].stdout
    assert "b2" in by_command[("--debug", "upgrade")].stderr
    assert "Traceback" in by_command[("--debug", "upgrade")].stderr

    for path in secret_workspace.rglob("*"):
        if path.is_file() and path.name != ".env" and "__pycache__" not in path.parts:
            assert_no_secret(path.read_text(errors="replace"), str(path))


@pytest.mark.parametrize(
    "where",
    ["wrong host", "wrong port", "wrong database", "bad port", "unknown driver", "bad option"],
)
def test_failing_connections_do_not_print_the_password(
    secret_workspace: Path, postgres_url: str, where: str
) -> None:
    url = _with_password(postgres_url)
    scheme, rest = url.split("://", 1)
    url = {
        "wrong host": f"{scheme}://postgres:{QUOTED}@no-such-host.invalid:5432/x",
        "wrong port": f"{scheme}://postgres:{QUOTED}@127.0.0.1:1/x",
        "wrong database": url.rsplit("/", 1)[0] + "/mt_no_such_database",
        "bad port": f"{scheme}://postgres:{QUOTED}@127.0.0.1:port/x",
        "unknown driver": f"postgresql+nodriver://postgres:{QUOTED}@127.0.0.1/x",
        "bad option": url + "?sslmode=bogus&nonsense=1",
    }[where]
    # Each failure once as a real process (every byte it prints), once more in-process.
    for command, process in [
        (("--debug", "upgrade"), True),
        (("--debug", "--json", "history", "--require-database"), False),
    ]:
        result = run(secret_workspace, "-d", url, *command, env={}, process=process)
        assert result.returncode != 0, result.stdout
        assert_no_secret(result.stdout + result.stderr, f"{where}: {command}")


@pytest.mark.parametrize(
    ("password", "in_url"),
    [
        ("Unq:uo/ted99", "postgres:Unq:uo/ted99@"),  # unquoted, yet SQLAlchemy accepts it
        ("Raw@Pass:w/rd", "postgres:Raw@Pass:w/rd@"),  # unquoted "@": not a valid URL
        ("Qry7secret", "postgres@"),  # in the query string: ?password=...
        ("Unq:uo/ted98", "postgres:Unq:uo/ted98@127.0.0.1:1/x#"),  # unquoted, unreachable
    ],
)
def test_unquoted_and_query_string_passwords_are_masked(
    workspace: Path, postgres_url: str, password: str, in_url: str
) -> None:
    scheme, rest = postgres_url.split("://", 1)
    url = f"{scheme}://{in_url}{rest.split('@', 1)[1]}".split("#")[0]
    if in_url == "postgres@":
        url += f"?password={password}"
    pieces = password.replace("@", "/").split("/")
    fragments = {password, quote(password, safe="")} | {p for p in pieces if len(p) >= 4}
    for command in [("config",), ("--json", "config"), ("current",), ("--debug", "upgrade")]:
        result = run(workspace, "-d", url, *command, env={}, process=False)
        output = result.stdout + result.stderr
        for fragment in fragments:
            assert fragment not in output, f"{fragment!r} leaked by {command}:\n{output}"


SECRET = "Zx9SECRETq"
NOT_URLS = [
    # (the text given as the URL, what the message must say about its shape)
    (f"postgresql:/atk_pw:{SECRET}@127.0.0.1/db", "'postgresql:' must be followed by '//'"),
    (f"postgresql+psycopg2:atk_pw:{SECRET}@127.0.0.1/db", "'postgresql+psycopg2:' must be"),
    (f"postgresql//atk_pw:{SECRET}@127.0.0.1/db", "a ':' is missing between 'postgresql'"),
    (SECRET, "does not start with a backend name"),
    (f"atk_pw:{SECRET}@127.0.0.1/db", "does not start with a backend name"),
    (f"postgresq:/atk_pw:{SECRET}@127.0.0.1/db", "does not start with a backend name"),
    (f"://atk_pw:{SECRET}@127.0.0.1/db", "no backend name before '://'"),
    (f"post gres://atk_pw:{SECRET}@127.0.0.1/db", "not a backend name"),
]


@pytest.mark.parametrize(("text", "shape"), NOT_URLS)
@pytest.mark.parametrize("source", ["-d option", "DATABASE_URL", ".env file"])
def test_a_text_that_is_not_a_url_is_never_echoed(
    cli, workspace: Path, text: str, shape: str, source: str
) -> None:
    options: list[str] = []
    env: dict[str, str] = {}
    if source == "-d option":
        options = ["-d", text]
    elif source == "DATABASE_URL":
        env = {"DATABASE_URL": text}
    else:
        (workspace / ".env").write_text(f"DATABASE_URL={text}\n")
    origin = {"-d option": "--database-url option", "DATABASE_URL": "DATABASE_URL (environment)"}
    for command in [("config",), ("doctor",), ("--json", "doctor"), ("--debug", "config")]:
        result = cli("-w", str(workspace), *options, *command, env=env)
        assert result.exit_code == 1, (command, result.output)
        assert SECRET not in result.output, (command, result.output)
        assert shape in result.output, (command, result.output)
        assert origin.get(source, "DATABASE_URL (.env file)") in result.output, result.output


@pytest.mark.parametrize("line", [SECRET, f"DATABASE_URL postgresql://u:{SECRET}@h/db"])
def test_a_broken_dotenv_line_is_not_echoed(cli, workspace: Path, line: str) -> None:
    (workspace / ".env").write_text(f"# settings\n{line}\n")
    for command in [("config",), ("--json", "doctor"), ("--debug", "config")]:
        result = cli("-w", str(workspace), *command)
        assert result.exit_code == 1, (command, result.output)
        assert SECRET not in result.output, (command, result.output)
        assert ".env, line 2: expected KEY=VALUE" in result.output, result.output
