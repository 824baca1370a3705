"""`migtutor init` in the learner's own FastAPI project, before and after it meets Alembic.

tests/projects/before is the course's project before Alembic (app/ with models, database,
config, main); tests/projects/after has its own alembic.ini (`script_location = alembic`) and an
env.py that builds the URL from the project's settings, as the course's repository does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

PROJECTS = Path(__file__).resolve().parent / "projects"


def copy_project(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(PROJECTS / name, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def dotenv_for(url: str) -> str:
    """The course's DATABASE_* parts for a scratch PostgreSQL URL (trust auth, no password)."""
    parsed = sa.engine.make_url(url)
    return (
        f"DATABASE_HOSTNAME={parsed.host}\nDATABASE_PORT={parsed.port}\n"
        f"DATABASE_USERNAME={parsed.username}\nDATABASE_PASSWORD=\n"
        f"DATABASE_NAME={parsed.database}\n"
    )


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def files(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_init_alembic_adds_only_what_alembic_needs(cli, tmp_path, monkeypatch) -> None:
    project = copy_project("before", tmp_path)
    before = files(project)
    monkeypatch.chdir(project)
    result = cli("init", "alembic")
    assert result.exit_code == 0, result.output
    added = set(files(project)) - set(before)
    assert added == {"alembic.ini", "alembic/env.py", "alembic/script.py.mako"}
    assert (project / "alembic" / "versions").is_dir()
    assert not (project / "migrations").exists()
    assert {k: v for k, v in files(project).items() if k in before} == before  # nothing changed
    assert "alembic.ini" in result.stdout and "alembic/env.py" in result.stdout
    assert "app.models:Base" in result.stdout and "Post, User" in result.stdout
    env_py = (project / "alembic" / "env.py").read_text()
    assert "from app.models import Base" in env_py and "target_metadata = Base.metadata" in env_py
    assert "%(here)s/alembic" in (project / "alembic.ini").read_text()


def test_init_finds_a_base_defined_beside_the_models(cli, tmp_path) -> None:
    """The course keeps Base in app/database.py; env.py must import app.models, which uses it."""
    project = copy_project("after", tmp_path)
    shutil.rmtree(project / "alembic")
    (project / "alembic.ini").unlink()
    result = cli("--json", "init", str(project))
    assert result.exit_code == 0, result.output
    found = result.json()["metadata"]
    assert found == {
        "spec": "app.models:Base",
        "defined_in": "app.database",
        "models": ["Post", "User"],
    }
    assert result.json()["written"] == [
        "alembic.ini",
        "migrations/env.py",
        "migrations/script.py.mako",
    ]


def test_init_never_overwrites_and_force_rewrites_only_its_own_files(cli, tmp_path, monkeypatch):
    project = copy_project("before", tmp_path)
    monkeypatch.chdir(project)
    assert cli("init", "alembic").exit_code == 0
    (project / "alembic" / "env.py").write_text("# my env.py\n")
    ini = (project / "alembic.ini").read_text()
    (project / "alembic.ini").write_text(ini + "# my note\n")

    again = cli("init", "alembic")
    assert again.exit_code == 0, again.output
    assert (project / "alembic" / "env.py").read_text() == "# my env.py\n"
    assert "alembic/env.py: kept (exists, not written by migtutor)" in again.stdout

    forced = cli("--json", "init", "--force", "alembic")
    assert forced.exit_code == 0, forced.output
    assert forced.json()["written"] == ["alembic.ini", "alembic/script.py.mako"]
    assert (project / "alembic" / "env.py").read_text() == "# my env.py\n"
    assert "# my note" not in (project / "alembic.ini").read_text()
    assert (project / "app" / "models.py").read_text() == (
        PROJECTS / "before/app/models.py"
    ).read_text()


def test_init_without_a_base_says_how_to_name_it(cli, tmp_path) -> None:
    project = copy_project("before", tmp_path)
    (project / "app" / "models.py").write_text("from .database import engine\n")
    refused = cli("init", str(project))
    assert refused.exit_code == 1
    assert "--metadata app.models:Base" in refused.stderr and "Traceback" not in refused.output
    assert not (project / "alembic.ini").exists()
    wrong = cli("init", "--metadata", "app.models:Missing", str(project))
    assert wrong.exit_code == 1 and "does not define or import 'Missing'" in wrong.stderr

    (project / "app" / "tables.py").write_text(
        "from sqlalchemy.orm import DeclarativeBase\n\n\nclass Model(DeclarativeBase):\n    pass\n"
    )
    named = cli("init", "--metadata", "app.tables:Model", str(project))
    assert named.exit_code == 0, named.output
    env_py = (project / "migrations" / "env.py").read_text()
    assert "from app.tables import Model" in env_py and "target_metadata = Model.metadata" in env_py


def test_adopted_project_autogenerates_from_its_models_and_upgrades(
    cli, tmp_path, monkeypatch, postgres_url
) -> None:
    project = copy_project("before", tmp_path)
    (project / ".env").write_text(dotenv_for(postgres_url))
    monkeypatch.chdir(project)
    assert cli("init", "alembic").exit_code == 0
    monkeypatch.chdir(project / "app")  # any folder inside the project will do

    created = cli("--json", "revision", "--autogenerate", "-m", "create posts and users")
    assert created.exit_code == 0, created.output
    path = Path(created.json()["path"])
    assert path.parent == project / "alembic" / "versions"
    source = path.read_text()
    assert "op.create_table('users'" in source and "op.create_table('posts'" in source

    upgraded = cli("upgrade", "head")
    assert upgraded.exit_code == 0, upgraded.output
    assert tables(postgres_url) == {"alembic_version", "migtutor_applied", "posts", "users"}
    doctor = cli("--json", "doctor")
    codes = {f["code"]: f for f in doctor.json()["findings"]}
    assert "app.models:Base.metadata" in codes["target_metadata"]["message"]
    assert codes["at_head"]["level"] == "ok"


def test_project_with_its_own_alembic_works_as_it_is(cli, tmp_path, monkeypatch, postgres_url):
    project = copy_project("after", tmp_path)
    (project / ".env").write_text(dotenv_for(postgres_url))
    before = files(project)
    monkeypatch.chdir(project)
    init = cli("init")
    assert init.exit_code == 0, init.output
    assert files(project) == before  # an Alembic project needs nothing from init
    assert "alembic/env.py: kept (exists, not written by migtutor)" in init.stdout
    monkeypatch.chdir(project / "alembic" / "versions")  # relative script_location still found

    upgraded = cli("upgrade", "head")
    assert upgraded.exit_code == 0, upgraded.output
    assert tables(postgres_url) == {"alembic_version", "users"}
    assert cli("--json", "current").json()["current"] == ["1a2b3c4d5e6f"]

    created = cli("--json", "revision", "--autogenerate", "-m", "create posts")
    assert created.exit_code == 0, created.output
    source = Path(created.json()["path"]).read_text()
    assert "op.create_table('posts'" in source and "create_table('users'" not in source
    assert cli("upgrade", "head").exit_code == 0
    assert "posts" in tables(postgres_url)

    doctor = cli("--json", "doctor")
    codes = {f["code"]: f for f in doctor.json()["findings"]}
    assert "alembic/env.py sets the URL itself" in codes["env_py_url"]["message"]
    assert codes["env_py_url"]["level"] == "ok"
    assert (
        "Post" in codes["target_metadata"]["message"]
        or "posts" in codes["target_metadata"]["message"]
    )


@pytest.mark.parametrize("override", ["DATABASE_URL"])
def test_doctor_warns_when_env_py_ignores_migtutors_url(
    cli, tmp_path, monkeypatch, postgres_url, override
) -> None:
    project = copy_project("after", tmp_path)
    (project / ".env").write_text(dotenv_for(postgres_url))
    monkeypatch.setenv(override, f"sqlite:///{tmp_path / 'other.db'}")
    doctor = cli("--json", "-w", str(project), "doctor")
    codes = {f["code"]: f for f in doctor.json()["findings"]}
    assert codes["env_py_url"]["level"] == "problem"
    assert (
        "sqlite" in codes["env_py_url"]["message"]
        and "postgresql" in codes["env_py_url"]["message"]
    )
