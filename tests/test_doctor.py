"""`migtutor doctor` (issue 4): each finding from a database put in that state on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

EMPTY_DOWNGRADE = '''"""add bio

Revision ID: l6_bio
Revises: l7_phone
"""

import sqlalchemy as sa
from alembic import op

revision = "l6_bio"
down_revision = "l7_phone"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("bio", sa.String(), nullable=True))


def downgrade() -> None:
    pass
'''


def run_sql(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def sqlite(workspace: Path) -> str:
    return f"sqlite:///{workspace / 'doctor.db'}"


def doctor(cli, workspace: Path, url: str):
    text = cli("-w", str(workspace), "-d", url, "doctor")
    data = cli("-w", str(workspace), "-d", url, "--json", "doctor")
    assert "Traceback" not in text.output
    return text, data.exit_code, data.json()


def problems(data) -> dict[str, dict]:
    return {f["code"]: f for f in data["findings"] if f["level"] == "problem"}


def test_healthy_course_database(cli, course_workspace: Path, database_url: str) -> None:
    assert cli("-w", str(course_workspace), "-d", database_url, "upgrade", "head").exit_code == 0
    text, code, data = doctor(cli, course_workspace, database_url)
    assert text.exit_code == 0 and code == 0, text.output
    assert data["healthy"] is True and problems(data) == {}
    assert "All checks passed." in text.stdout
    source = next(f for f in data["findings"] if f["code"] == "url_source")
    assert source["level"] == "info" and "--database-url option" in source["message"]


def test_database_unreachable(cli, course_workspace: Path) -> None:
    url = "postgresql+psycopg2://learner:s3cret@127.0.0.1:1/blog"
    text, code, data = doctor(cli, course_workspace, url)
    assert code == 1 and text.exit_code == 1
    found = problems(data)["database_unreachable"]
    assert "Cannot connect" in found["message"] and "migtutor config" in found["fix"]
    assert "s3cret" not in text.output and "***" in text.output
    assert "fix:" in text.stdout


def test_url_source_from_dotenv_is_named(cli, course_workspace: Path) -> None:
    (course_workspace / ".env").write_text(f"DATABASE_URL={sqlite(course_workspace)}\n")
    result = cli("-w", str(course_workspace), "--json", "doctor").json()
    source = next(f for f in result["findings"] if f["code"] == "url_source")
    assert "DATABASE_URL (.env file)" in source["message"]


def test_env_py_without_target_metadata(cli, course_workspace: Path) -> None:
    env_py = course_workspace / "migrations" / "env.py"
    env_py.write_text(
        env_py.read_text().replace("target_metadata = Base.metadata", "target_metadata = None")
    )
    text, code, data = doctor(cli, course_workspace, sqlite(course_workspace))
    assert code == 1
    found = problems(data)["no_target_metadata"]
    assert "autogenerate" in found["message"]
    assert "target_metadata = Base.metadata" in found["fix"]


def test_models_not_imported(cli, course_workspace: Path) -> None:
    env_py = course_workspace / "migrations" / "env.py"
    env_py.write_text(
        env_py.read_text().replace(
            "from app.models import Base",
            "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()",
        )
    )
    _, code, data = doctor(cli, course_workspace, sqlite(course_workspace))
    assert code == 1
    found = problems(data)["models_not_imported"]
    assert "drop_table" in found["message"] and "import" in found["fix"]


def test_tables_without_alembic_version(cli, course_workspace: Path, database_url: str) -> None:
    from migtutor.models import Base

    engine = sa.create_engine(database_url)
    Base.metadata.create_all(engine)
    engine.dispose()
    text, code, data = doctor(cli, course_workspace, database_url)
    assert code == 1
    found = problems(data)["unversioned_tables"]
    assert "create_all" in found["message"] and "posts" in found["message"]
    assert "migtutor stamp head" in found["fix"]


def test_database_on_an_unknown_revision(cli, course_workspace: Path, database_url: str) -> None:
    assert cli("-w", str(course_workspace), "-d", database_url, "upgrade", "head").exit_code == 0
    run_sql(database_url, "UPDATE alembic_version SET version_num = 'ae1027a6acf'")
    _, code, data = doctor(cli, course_workspace, database_url)
    assert code == 1
    found = problems(data)["unknown_revision"]
    assert "Can't locate revision identified by 'ae1027a6acf'" in found["message"]
    assert "migtutor stamp" in found["fix"]


def test_multiple_heads(cli, workspace: Path) -> None:
    base = ("-w", str(workspace), "-d", sqlite(workspace))
    assert cli(*base, "revision", "-m", "root", "--rev-id", "root").exit_code == 0
    assert cli(*base, "revision", "-m", "a", "--rev-id", "a").exit_code == 0
    assert cli(*base, "revision", "-m", "b", "--rev-id", "b", "--head", "root", "--splice")
    _, code, data = doctor(cli, workspace, sqlite(workspace))
    assert code == 1
    found = problems(data)["multiple_heads"]
    assert "a, b" in found["message"]
    assert 'migtutor merge heads -m "merge"' in found["fix"]


def test_database_behind_the_head(cli, course_workspace: Path, database_url: str) -> None:
    assert (
        cli("-w", str(course_workspace), "-d", database_url, "upgrade", "l3_users").exit_code == 0
    )
    _, code, data = doctor(cli, course_workspace, database_url)
    assert code == 1
    found = problems(data)["behind_head"]
    assert "l3_users" in found["message"] and "l7_phone" in found["message"]
    assert found["fix"] == "migtutor upgrade head"


def test_drift_between_models_and_database(cli, course_workspace: Path, database_url: str) -> None:
    assert cli("-w", str(course_workspace), "-d", database_url, "upgrade", "head").exit_code == 0
    run_sql(database_url, "CREATE TABLE comments (id INTEGER PRIMARY KEY)")
    _, code, data = doctor(cli, course_workspace, database_url)
    assert code == 1
    found = problems(data)["drift"]
    assert "remove table comments" in found["message"]
    assert "--autogenerate" in found["fix"]


def test_drift_during_a_lesson_points_at_the_lesson(cli, workspace: Path, database_url: str):
    ws = ("-w", str(workspace), "-d", database_url)
    assert cli(*ws, "reset", "--to", "lesson:3", "--yes").exit_code == 0
    _, code, data = doctor(cli, workspace, database_url)
    assert code == 1
    found = problems(data)["drift"]
    assert "You are in lesson 3" in found["message"] and "add table users" in found["message"]
    assert found["fix"] == "migtutor lesson show"
    # Once the course is finished, drift is ordinary drift again.
    assert cli(*ws, "reset", "--to", "head", "--yes").exit_code == 0
    run_sql(database_url, "CREATE TABLE comments (id INTEGER PRIMARY KEY)")
    _, code, data = doctor(cli, workspace, database_url)
    found = problems(data)["drift"]
    assert "lesson" not in found["message"] and "--autogenerate" in found["fix"]


@pytest.mark.parametrize("body", ["pass", '"""Nothing to undo."""', "..."])
def test_revision_with_an_empty_downgrade(cli, course_workspace: Path, body: str) -> None:
    url = sqlite(course_workspace)
    path = course_workspace / "migrations" / "versions" / "l6_bio.py"
    path.write_text(EMPTY_DOWNGRADE.replace("    pass\n", f"    {body}\n"))
    assert cli("-w", str(course_workspace), "-d", url, "upgrade", "head").exit_code == 0
    text, code, data = doctor(cli, course_workspace, url)
    assert code == 1
    found = problems(data)["empty_downgrade"]
    assert "l6_bio (add bio)" in found["message"]
    assert str(path) in found["fix"]


def test_not_a_workspace(cli, tmp_path: Path) -> None:
    result = cli("-w", str(tmp_path), "doctor")
    assert result.exit_code == 1
    assert "no alembic.ini" in result.stdout and "migtutor init" in result.stdout


def test_fresh_workspace_is_healthy_and_points_to_lesson_one(cli, workspace: Path) -> None:
    text, code, data = doctor(cli, workspace, sqlite(workspace))
    assert code == 0, text.output
    info = next(f for f in data["findings"] if f["code"] == "no_revisions")
    assert info["level"] == "info" and "migtutor revision -m" in info["fix"]
