"""Where the database URL comes from, how it is quoted, and how `config` shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from migtutor.errors import MigtutorError
from migtutor.settings import build_postgres_url, resolve_database
from migtutor.urls import mask_password

PARTS = {
    "DATABASE_HOSTNAME": "db.example",
    "DATABASE_PORT": "5433",
    "DATABASE_USERNAME": "postgres",
    "DATABASE_PASSWORD": "s3cret",
    "DATABASE_NAME": "fastapi",
}


def test_default_is_an_sqlite_file_in_the_workspace(tmp_path: Path) -> None:
    settings = resolve_database(tmp_path, environ={})
    assert settings.url == f"sqlite:///{tmp_path.resolve() / 'migtutor.db'}"
    assert settings.source.startswith("default")


def test_resolution_order_option_then_variables_then_parts(tmp_path: Path) -> None:
    environ = {
        "MIGTUTOR_DATABASE_URL": "sqlite:///first.db",
        "DATABASE_URL": "sqlite:///second.db",
        **PARTS,
    }
    assert resolve_database(tmp_path, "sqlite:///option.db", environ).url == "sqlite:///option.db"
    assert resolve_database(tmp_path, None, environ).url == "sqlite:///first.db"
    del environ["MIGTUTOR_DATABASE_URL"]
    assert resolve_database(tmp_path, None, environ).url == "sqlite:///second.db"
    del environ["DATABASE_URL"]
    settings = resolve_database(tmp_path, None, environ)
    assert settings.url == "postgresql+psycopg2://postgres:s3cret@db.example:5433/fastapi"
    assert "DATABASE_HOSTNAME" in settings.source


def test_dotenv_supplies_values_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# course settings\n"
        + "".join(f"{key}={value}\n" for key, value in PARTS.items())
        + 'export DATABASE_NAME="from_dotenv"\n'
    )
    settings = resolve_database(tmp_path, environ={})
    assert settings.url.endswith("@db.example:5433/from_dotenv")
    assert ".env file" in settings.source
    overridden = resolve_database(tmp_path, environ={"DATABASE_URL": "sqlite:///env.db"})
    assert overridden.url == "sqlite:///env.db"
    assert overridden.source == "DATABASE_URL (environment)"


def test_dotenv_values_lose_their_quotes_and_trailing_comments(tmp_path: Path) -> None:
    from migtutor.settings import read_dotenv

    (tmp_path / ".env").write_text(
        'DATABASE_PASSWORD="s3cret pw" # my password\n'
        "DATABASE_USERNAME='post$gres${X}'\n"
        "export DATABASE_NAME=fastapi # the course's\n"
    )
    assert read_dotenv(tmp_path / ".env") == {
        "DATABASE_PASSWORD": "s3cret pw",
        "DATABASE_USERNAME": "post$gres${X}",
        "DATABASE_NAME": "fastapi",
    }


@pytest.mark.parametrize("password", ["p%ss", "p@ss", "p:ss", "p/ss", "%40:@/%%"])
def test_passwords_with_url_characters_are_quoted_and_round_trip(password: str) -> None:
    from sqlalchemy.engine import make_url

    url = build_postgres_url(host="localhost", database="db", username="u", password=password)
    parsed = make_url(url)
    assert parsed.password == password
    assert parsed.host == "localhost" and parsed.database == "db"


def test_bare_postgresql_url_gets_the_psycopg2_driver(tmp_path: Path) -> None:
    settings = resolve_database(tmp_path, "postgresql://u:p@localhost/db")
    assert settings.url == "postgresql+psycopg2://u:p@localhost/db"


def test_incomplete_parts_name_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(MigtutorError, match="DATABASE_HOSTNAME"):
        resolve_database(tmp_path, environ={"DATABASE_NAME": "x"})


def test_mask_password() -> None:
    assert mask_password("postgresql+psycopg2://u:p%40w@h:5432/d") == (
        "postgresql+psycopg2://u:***@h:5432/d"
    )
    assert mask_password("sqlite:///x.db") == "sqlite:///x.db"


def test_config_command_shows_source_and_masks_password(cli, workspace: Path) -> None:
    env = {"DATABASE_URL": "postgresql+psycopg2://teacher:Tr0ub4dor@localhost/class"}
    result = cli("-w", str(workspace), "config", env=env)
    assert result.exit_code == 0
    assert "Tr0ub4dor" not in result.output
    assert "teacher:***@localhost/class" in result.stdout
    assert "DATABASE_URL (environment)" in result.stdout
    data = cli("-w", str(workspace), "--json", "config", env=env).json()
    assert data["url"] == "postgresql+psycopg2://teacher:***@localhost/class"


def test_password_with_percent_reaches_postgres(cli, course_workspace: Path, postgres_url) -> None:
    """A `%` in the quoted password must survive ConfigParser interpolation in set_main_option."""
    name = postgres_url.rsplit("/", 1)[1]
    env = {
        "DATABASE_HOSTNAME": "127.0.0.1",
        "DATABASE_PORT": "5432",
        "DATABASE_USERNAME": "postgres",
        "DATABASE_PASSWORD": "100%@:/pure",  # trust auth: any password connects
        "DATABASE_NAME": name,
    }
    result = cli("-w", str(course_workspace), "--json", "upgrade", "head", env=env)
    assert result.exit_code == 0, result.output
    assert result.json()["current"] == ["l7_phone"]
    assert "100%@:/pure" not in result.output
