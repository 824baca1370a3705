"""Careless and hostile input: each case gives a clear message, a non-zero exit code, no
traceback, and leaves the database exactly as it was."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from revision_files import MIGTUTOR, assert_clean_failure, snapshot, write_revision

T1 = 'op.create_table("t1", sa.Column("id", sa.Integer(), primary_key=True))'


@pytest.fixture
def chain(workspace: Path, database_url: str) -> tuple[list[str], str]:
    """A workspace with revisions a1 -> b2 -> c3 and a database at b2 holding one row."""
    write_revision(
        workspace,
        "a1",
        None,
        T1 + '\nop.execute("INSERT INTO t1 VALUES (1)")',
        'op.drop_table("t1")',
        "create t1",
    )
    write_revision(
        workspace,
        "b2",
        "a1",
        'op.add_column("t1", sa.Column("x", sa.Integer()))',
        'op.drop_column("t1", "x")',
        "add x",
    )
    write_revision(
        workspace,
        "c3",
        "b2",
        'op.create_table("t3", sa.Column("id", sa.Integer()))',
        'op.drop_table("t3")',
        "create t3",
    )
    return ["--no-color", "-w", str(workspace), "-d", database_url], database_url


def _at_b2(cli, chain: tuple[list[str], str]) -> dict:
    ws, url = chain
    assert cli(*ws, "upgrade", "b2").exit_code == 0
    return snapshot(url)


# -- database URLs and settings -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("not a url", "is not a database URL"),
        ("postgresql+psycopg2://u:pw@localhost:notaport/db", "URL is not valid"),
        ("postgresql+psycopg2://u:pw@localhost:99999/db", "URL is not valid"),
        ("postgresql+psycopg2://u:pw@[::1/db", "URL is not valid"),
        ("://", "not valid"),
        ("foo://host/db", "Unknown database driver"),
        ("postgresql+nodriver://u@localhost/db", "Unknown database driver"),
        ("mysql://u:pw@localhost/db", "'MySQLdb', which is not installed"),
        ("sqlite://", "in-memory SQLite database"),
        ("sqlite:///:memory:", "in-memory SQLite database"),
    ],
)
@pytest.mark.parametrize("command", [("current",), ("upgrade",), ("upgrade", "--sql")])
def test_malformed_url_or_unknown_driver(cli, workspace: Path, url, fragment, command) -> None:
    write_revision(workspace, "a1", None, T1)
    result = cli("-w", str(workspace), "-d", url, *command)
    if url.startswith("mysql") and "--sql" in command:
        assert result.exit_code == 0  # offline SQL needs the dialect only, not the driver
        return
    assert_clean_failure(result, fragment)
    assert not (workspace / "migtutor.db").exists()


@pytest.mark.parametrize(
    ("dotenv", "fragment"),
    [
        (b"DATABASE_URL=sqlite:///x.db\nthis line is broken\n", ".env, line 2: expected KEY=VALUE"),
        (b"= no key\n", ".env, line 1"),
        (b'DATABASE_URL="unterminated\n', ".env, line 1: expected KEY=VALUE"),
        (b"\xff\xfeDATABASE_URL=x\n", "Cannot read"),
        (b"DATABASE_HOSTNAME=localhost\nDATABASE_PORT=five\nDATABASE_NAME=x\n", "must be a number"),
        (b"DATABASE_USERNAME=me\nDATABASE_PASSWORD=pw\n", "DATABASE_HOSTNAME, DATABASE_NAME"),
    ],
)
def test_broken_dotenv(cli, workspace: Path, dotenv: bytes, fragment: str) -> None:
    (workspace / ".env").write_bytes(dotenv)
    for command in ("config", "current", "upgrade"):
        result = cli("--no-color", "-w", str(workspace), command)
        assert_clean_failure(result, fragment)
    assert not (workspace / "migtutor.db").exists()


# -- revision messages and ids ------------------------------------------------------------------

MESSAGES = [
    'say "hi"',
    'triple """quotes""" inside, and one at the end "',
    "'single' and \\ backslash and a trailing one \\",
    "first line\nsecond line\r\nthird line",
    "ünïcødé ✓ 表 emoji 🎉",
    "x" * 300,
    "markup [/] [bold]not bold ${7*7} <%text> %(here)s",
    "tab\tand control \x01 char",
]


@pytest.mark.parametrize("message", MESSAGES, ids=range(len(MESSAGES)))
def test_revision_message_gives_a_valid_importable_file(cli, workspace: Path, message: str) -> None:
    ws = ["--no-color", "-w", str(workspace)]
    result = cli(*ws, "--json", "revision", "-m", message, "--rev-id", "m1")
    assert result.exit_code == 0, result.output
    path = Path(result.json()["path"])

    assert path.parent == workspace / "migrations" / "versions"
    assert path.stem.isidentifier() and len(path.name.encode()) < 100
    spec = importlib.util.spec_from_file_location("revision_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.revision == "m1" and module.down_revision is None
    expected = message.replace("\r\n", "\n").replace("\r", "\n")
    assert module.__doc__.startswith(expected)

    # The file works: history shows it, upgrade runs it, and the plain output does not crash.
    assert cli(*ws, "history").exit_code == 0
    assert cli(*ws, "upgrade").exit_code == 0
    assert cli(*ws, "--json", "current").json()["current"] == ["m1"]


@pytest.mark.parametrize(
    "rev_id",
    [
        "a-b",
        "../evil",
        "a b",
        "é",
        "x;rm",
        "x" * 33,
        "",
        "a.b",
        "a/b",
        "$(id)",
        "it's",
        "a)b",
        "a+1",
    ],
)
def test_rev_id_that_cannot_be_a_module_name(cli, workspace: Path, rev_id: str) -> None:
    result = cli("-w", str(workspace), "revision", "-m", "x", "--rev-id", rev_id)
    assert_clean_failure(result, "--rev-id")
    assert list((workspace / "migrations" / "versions").iterdir()) == []
    assert not list(workspace.parent.glob("*.py"))


def test_rev_id_already_taken(cli, workspace: Path) -> None:
    """Alembic would write a second file with the id (and a cycle): refused before writing."""
    write_revision(workspace, "a1", None, T1)
    write_revision(workspace, "b2", "a1")
    ws = ["-w", str(workspace)]
    assert_clean_failure(cli(*ws, "revision", "-m", "x", "--rev-id", "a1"), "already", "a1.py")
    assert_clean_failure(cli(*ws, "merge", "heads", "--rev-id", "b2"), "already", "b2.py")
    assert_clean_failure(cli(*ws, "merge", "heads", "--rev-id", "a b"), "cannot be a revision id")
    assert sorted(p.name for p in (workspace / "migrations" / "versions").glob("*.py")) == [
        "a1.py",
        "b2.py",
    ]
    assert cli(*ws, "history").exit_code == 0


def test_empty_message_is_refused(cli, workspace: Path) -> None:
    assert_clean_failure(cli("-w", str(workspace), "revision", "-m", "  "), "needs a message")
    assert list((workspace / "migrations" / "versions").iterdir()) == []


def test_a_huge_docstring_is_cut_wherever_a_message_is_shown(
    cli, workspace: Path, database_url: str
) -> None:
    """A message in a line of output is its first line, cut to 72 characters; JSON keeps the
    first line unless it is absurdly long; `history -v` shows the first lines of the rest."""
    first = "Add t1 " + "x" * 1_000_000
    rest = "".join(f"detail {n}\n" for n in range(5000))
    write_revision(workspace, "a1", None, T1, 'op.drop_table("t1")', message=f"{first}\n{rest}")
    ws = ["--no-color", "-w", str(workspace), "-d", database_url]

    for command in [
        ("upgrade",),
        ("history",),
        ("history", "-v"),
        ("heads",),
        ("graph",),
        ("downgrade", "base", "--yes"),
        ("upgrade", "--explain"),
    ]:
        result = cli(*ws, *command)
        assert result.exit_code == 0, result.output[:2000]
        assert max(len(line) for line in result.output.splitlines()) < 250, command
        assert len(result.output) < 20_000, command
        assert "Add t1 xxx" in result.output and "…" in result.output, command

    assert cli(*ws, "downgrade", "base", "--yes").exit_code == 0
    for command, messages in [
        (("upgrade",), lambda data: [step["message"] for step in data["applied"]]),
        (("history",), lambda data: [rev["message"] for rev in data]),
        (("heads",), lambda data: [rev["message"] for rev in data]),
        (("graph",), lambda data: [node["message"] for node in data["nodes"]]),
    ]:
        result = cli(*ws, "--json", *command)
        assert result.exit_code == 0, result.output[:2000]
        (message,) = messages(result.json())
        assert message.startswith("Add t1 xxx") and len(message) <= 500, command


# -- targets and ranges -------------------------------------------------------------------------


WRONG_WAY = [
    # (command, what the message must say)
    (("history", "-r", "c3:a1"), ("oldest first",)),
    (("history", "-r", "c3"), ("START:END",)),
    (("upgrade", "a1:c3"), ("only with --sql",)),
    (("downgrade", "c3"), ("not a valid downgrade target", "only goes back", "upgrade")),
    (("downgrade", "head"), ("not a valid downgrade target", "only goes back")),
    (("downgrade", "heads"), ("not a valid downgrade target", "only goes back")),
    (("upgrade", "a1"), ("a1 is below the current revision (b2)", "migtutor downgrade a1")),
    (("upgrade", "base"), ("base is below the current revision (b2)", "downgrade")),
    (("upgrade", "-1"), ("Relative revision", "not that many")),
    (("upgrade", "+5"), ("Relative revision", "not that many")),
    (("downgrade", "+1"), ("Relative revision", "`downgrade +1` and `upgrade -1` ask for nothing")),
    (("downgrade", "-5"), ("Relative revision", "not that many")),
]


def test_ranges_and_targets_the_wrong_way_round(cli, chain) -> None:
    """A reversed range; downgrade to a revision above the current one; upgrade to one below;
    relative steps past either end. The database is at b2 of a1 -> b2 -> c3."""
    ws, url = chain
    before = _at_b2(cli, chain)
    for command, fragments in WRONG_WAY:
        assert_clean_failure(cli(*ws, *command), *fragments)
        assert snapshot(url) == before, command


# -- broken revision files ----------------------------------------------------------------------


def _break(workspace: Path, case: str) -> str:
    """Damage the chain a1 -> b2 -> c3 as a learner might; return what the message must say."""
    versions = workspace / "migrations" / "versions"
    c3 = versions / "c3.py"
    text = c3.read_text()
    if case == "syntax error":
        c3.write_text(text.replace("def downgrade():", "def downgrade(:"))
        return "c3.py, line"
    if case == "no upgrade()":
        c3.write_text(text.replace("def upgrade():", "def upgrayedd():"))
        return "c3.py has no upgrade() function"
    if case == "down_revision names nothing":
        c3.write_text(text.replace("down_revision = 'b2'", "down_revision = 'zz9'"))
        return "c3.py names 'zz9'"
    if case == "cycle":
        b2 = versions / "b2.py"
        b2.write_text(b2.read_text().replace("down_revision = 'a1'", "down_revision = 'c3'"))
        return "b2.py, c3.py"
    if case == "self-loop":
        c3.write_text(text.replace("down_revision = 'b2'", "down_revision = 'c3'"))
        return "c3.py"
    if case == "copied file, same id":
        shutil.copy(c3, versions / "c3_copy.py")
        return "Two revision files have the id c3: c3.py, c3_copy.py"
    for name, bad in [("quote", "c'3"), ("bracket", "c)3"), ("dash", "c-3")]:
        if case == f"id with a {name}":
            c3.write_text(text.replace("revision = 'c3'", f"revision = {bad!r}"))
            return f"c3.py has the revision id {bad!r}, which cannot work"
    if case == "import error":
        c3.write_text("import no_such_module_anywhere\n" + text)
        return "c3.py, line 1"
    raise AssertionError(case)


BROKEN = [
    "syntax error",
    "no upgrade()",
    "down_revision names nothing",
    "cycle",
    "self-loop",
    "copied file, same id",
    "id with a quote",
    "id with a bracket",
    "id with a dash",
    "import error",
]


def test_broken_revision_files(cli, chain) -> None:
    ws, url = chain
    before = _at_b2(cli, chain)
    versions = Path(ws[2], "migrations", "versions")
    originals = {path: path.read_text() for path in versions.glob("*.py")}
    for case in BROKEN:
        fragment = _break(Path(ws[2]), case)
        commands = [("upgrade",)]
        if case != "no upgrade()":  # a missing function only matters when it is run
            commands += [
                ("downgrade", "base", "--yes"),
                ("current",),
                ("history",),
                ("heads",),
                ("revision", "-m", "next"),
            ]
        for command in commands:
            result = cli(*ws, *command)
            assert_clean_failure(result, fragment)
            assert "Warning" not in result.stderr
            assert snapshot(url) == before, (case, command)
        assert not list(versions.glob("*_next.py")), case
        for path in versions.glob("*.py"):  # put the chain back for the next case
            if path not in originals:
                path.unlink()
        for path, text in originals.items():
            path.write_text(text)


def test_broken_models_or_env_py(cli, chain) -> None:
    """env.py and app/models.py run whenever Alembic loads the workspace: errors in their
    top-level code name the file and line, and no revision runs."""
    ws, url = chain
    before = _at_b2(cli, chain)
    workspace = Path(ws[2])
    cases = [
        ("app/models.py", "class Broken(:\n", "models.py, line"),
        ("app/models.py", "import no_such_module_anywhere\n", "ModuleNotFoundError"),
        ("app/models.py", "raise RuntimeError('half-written model')\n", "half-written model"),
        ("migrations/env.py", "def oops(:\n", "env.py, line"),
    ]
    for name, appended, fragment in cases:
        path = workspace / name
        original = path.read_text()
        path.write_text(original + appended)
        try:
            for command in [("upgrade",), ("downgrade", "a1", "--yes"), ("check",)]:
                result = cli(*ws, *command)
                assert_clean_failure(result, fragment, path.name)
                assert snapshot(url) == before, (name, command)
        finally:
            path.write_text(original)


# -- lesson files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('title = "unterminated\n', "01-bad.toml: not valid TOML"),
        ('title = 5\ngoal = "g"\n', "01-bad.toml: title"),
    ],
)
def test_lesson_file_that_is_broken(cli, tmp_path: Path, monkeypatch, content, fragment) -> None:
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "01-bad.toml").write_text(content, encoding="utf-8")
    monkeypatch.setenv("MIGTUTOR_LESSONS_DIR", str(lessons))
    assert_clean_failure(cli("lesson", "lint"), fragment)


# -- a read-only workspace ----------------------------------------------------------------------


def _read_only_runner(directory: Path):
    """Run migtutor where `directory` is read-only, in a way that holds even for root.

    Root ignores permission bits, so as root the directory is bind-mounted read-only in a
    private mount namespace of the child process only; otherwise chmod is enough.
    """
    if os.geteuid() != 0:
        for path in [directory, *directory.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        prefix: list[str] = []
    else:
        unshare = shutil.which("unshare")
        if unshare is None:
            pytest.skip("running as root without `unshare`: no honest way to make a read-only dir")
        probe = subprocess.run(
            [unshare, "--mount", "--", "sh", "-c", f'mount -o bind,ro "{directory}" "{directory}"'],
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0:
            pytest.skip(f"root cannot make a read-only bind mount here: {probe.stderr.strip()}")
        prefix = [
            unshare,
            "--mount",
            "--",
            "sh",
            "-c",
            'mount -o bind,ro "$1" "$1" && shift && exec "$@"',
            "sh",
            str(directory),
        ]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "NO_COLOR": "1"}
        return subprocess.run(
            [*prefix, MIGTUTOR, "-w", str(directory), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    return run


def test_read_only_workspace(cli, workspace: Path) -> None:
    write_revision(workspace, "a1", None, T1, 'op.drop_table("t1")')
    write_revision(workspace, "b2", "a1", 'op.add_column("t1", sa.Column("x", sa.Integer()))')
    assert cli("-w", str(workspace), "upgrade", "a1").exit_code == 0
    before = snapshot(f"sqlite:///{workspace / 'migtutor.db'}")
    files = sorted(p.name for p in (workspace / "migrations" / "versions").glob("*.py"))
    run = _read_only_runner(workspace)

    try:
        for args, fragment in [
            (("revision", "-m", "more"), "Cannot write"),
            (("upgrade",), "read-only"),
            (("downgrade", "base"), "read-only"),
            (("stamp", "head"), "read-only"),
            (("init", "--force"), "Cannot write the workspace"),
        ]:
            result = run(*args)
            assert result.returncode != 0, (args, result.stdout)
            assert "Traceback" not in result.stderr and fragment in result.stderr, result.stderr
        assert run("current").returncode == 0  # reading still works
    finally:
        for path in [workspace, *workspace.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)

    assert snapshot(f"sqlite:///{workspace / 'migtutor.db'}") == before
    assert sorted(p.name for p in (workspace / "migrations" / "versions").glob("*.py")) == files
