"""Shared fixtures: workspaces, a CLI runner, and scratch PostgreSQL databases."""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from migtutor.cli import app
from migtutor.settings import PART_KEYS, URL_KEYS

REPO = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get(
    "MIGTUTOR_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
# Variables that would change which database a test talks to.
_SETTINGS_VARIABLES = (*URL_KEYS, *PART_KEYS, "MIGTUTOR_WORKSPACE", "NO_COLOR")


# Temporary directories in memory where the system has one: every SQLite commit of the suite
# waits for an fsync on a disk (about a sixth of its time), on a tmpfs it does not. The files,
# and what the tests check about them, are the same. `--basetemp DIR` still chooses another.
_MEMORY = Path("/dev/shm")


@pytest.hookimpl(tryfirst=True)  # before pytest makes its factory of temporary paths
def pytest_configure(config: pytest.Config) -> None:
    import tempfile

    worker = hasattr(config, "workerinput")  # pytest-xdist passes the controller's choice on
    if not worker:
        _compile_migtutor()
    if config.option.basetemp or worker or not (_MEMORY.is_dir() and os.access(_MEMORY, os.W_OK)):
        return
    config.option.basetemp = tempfile.mkdtemp(prefix="migtutor-tests-", dir=_MEMORY)
    config._migtutor_memory_basetemp = config.option.basetemp  # type: ignore[attr-defined]


def _compile_migtutor() -> None:
    """Bytecode for migtutor's modules, as an installed package has from its install: the
    tests start the `migtutor` command hundreds of times, and where PYTHONDONTWRITEBYTECODE is
    set an editable checkout would otherwise compile every module in every one of them."""
    import compileall

    compileall.compile_dir(REPO / "migtutor", quiet=2, workers=1)


def pytest_unconfigure(config: pytest.Config) -> None:
    chosen = getattr(config, "_migtutor_memory_basetemp", None)
    if chosen:
        shutil.rmtree(chosen, ignore_errors=True)


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    for name in _SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # What migtutor caches (class status's reference states) stays out of the user's home.
    monkeypatch.setenv("MIGTUTOR_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A project's own env.py may call logging.config.fileConfig(), which points the root
    logger at this test's (then closed) stderr; the next test would log into it."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    loggers = {name: (lg.disabled, lg.level, list(lg.handlers))
               for name, lg in logging.Logger.manager.loggerDict.items()
               if isinstance(lg, logging.Logger)}  # fmt: skip
    yield
    root.handlers[:], root.level = handlers, level
    for name, lg in logging.Logger.manager.loggerDict.items():
        if isinstance(lg, logging.Logger):
            disabled, lvl, own = loggers.get(name, (False, logging.NOTSET, []))
            lg.disabled, lg.level, lg.handlers[:] = disabled, lvl, own


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self):
        return json.loads(self.stdout)


# The Click command Typer builds from the app, built once: `CliRunner.invoke(app)` rebuilds it
# on every call, which took about 60 ms, a third of a typical in-process command.
COMMAND = typer.main.get_command(app)


def invoke(
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    prog_name: str | None = None,
) -> Result:
    """Run migtutor in-process, as a user would type it (global options first).

    What `CliRunner().invoke(app, ..., catch_exceptions=False)` does, on the command built once.
    `prog_name="migtutor"` names it as the installed command (its completion variable is then
    `_MIGTUTOR_COMPLETE`, as the shells' scripts set it).
    """
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as (stdout, stderr, _):
        try:
            COMMAND.main(
                args=list(args), prog_name=prog_name or runner.get_default_prog_name(COMMAND)
            )
            code = 0
        except SystemExit as exit:
            code = 0 if exit.code is None else exit.code
            if not isinstance(code, int):
                sys.stdout.write(f"{code}\n")
                code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        out, err = stdout.getvalue(), stderr.getvalue()
    text = [stream.decode(runner.charset, "replace").replace("\r\n", "\n") for stream in (out, err)]
    return Result(code, *text)


@pytest.fixture
def cli():
    return invoke


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh workspace laid out by `migtutor init`."""
    directory = tmp_path / "ws"
    result = invoke("init", str(directory))
    assert result.exit_code == 0, result.output
    return directory


def finished_models() -> Path:
    """The course's models at its end: the last of lessons/models/."""
    from migtutor.course import lesson_count, models_at

    return models_at(lesson_count() + 1)


@pytest.fixture
def course_workspace(tmp_path: Path) -> Path:
    """A workspace holding the course's reference revisions and finished models."""
    directory = tmp_path / "course"
    assert invoke("init", str(directory)).exit_code == 0
    for script in (REPO / "migrations" / "versions").glob("*.py"):
        shutil.copy(script, directory / "migrations" / "versions" / script.name)
    shutil.copy(finished_models(), directory / "app" / "models.py")
    return directory


def _postgres_available() -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: no usable server
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {str(exc).splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    reason = _postgres_available()
    if reason:
        if os.environ.get("MIGTUTOR_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (MIGTUTOR_REQUIRE_POSTGRES=1 makes this a failure)")
        pytest.skip(reason)
    return POSTGRES_ADMIN_URL


def create_scratch_database(admin_url: str, prefix: str = "mt_test") -> str:
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_scratch_database(admin_url: str, url: str) -> None:
    import sqlalchemy as sa

    name = url.rsplit("/", 1)[1]
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    url = create_scratch_database(postgres_server)
    yield url
    drop_scratch_database(postgres_server, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs twice: on an SQLite file and on a scratch PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")
