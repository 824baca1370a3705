"""The FastAPI course's own revision files are real input to the lessons.

`tests/course_form/` holds the course's seven revisions as that course writes them (its
messages, 12-hex-digit ids, `sa.text('now()')`, `create_foreign_key` outside batch mode, no
type hints). A learner who brings them, one lesson at a time, passes every lesson's checks on
PostgreSQL; on SQLite the checks stop where SQLite cannot run them, and say what to write instead.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from migtutor.lessons import load_lessons

REPO = Path(__file__).resolve().parent.parent
COURSE_FORM = Path(__file__).resolve().parent / "course_form"
# The lesson's placeholder for an id the learner copies: the course's content revision.
CONTENT_ID = "b81e6d0c2f47"


def words(message: str) -> list[str]:
    return message.lower().replace("-", " ").split()


def course_revision(message: str) -> Path:
    """The course's file whose message says what the lesson's does ("auto-vote": "auto vote")."""
    for path in sorted(COURSE_FORM.glob("*.py")):
        first = path.read_text(encoding="utf-8").split("\n", 1)[0].strip('"')
        if words(first) == words(message):
            return path
    raise AssertionError(f"no course revision says {message!r}")


class Learner:
    def __init__(self, cli, workspace: Path, url: str) -> None:
        self.cli, self.workspace, self.url = cli, workspace, url

    def run(self, *args: str):
        return self.cli("-w", str(self.workspace), "-d", self.url, *args, input="y\n")

    def bring(self, message: str) -> None:
        """Copy the course's revision with this message into migrations/versions/."""
        shutil.copy(course_revision(message), self.workspace / "migrations" / "versions")

    def check(self) -> dict:
        result = self.run("--json", "lesson", "check")
        data = result.json()
        assert result.exit_code == (0 if data["passed"] else 1), result.output
        return data

    def insert_rows(self) -> None:
        """Rows typed in psql, as lesson 5 allows instead of `reset --seed` (which would put
        the reference revisions in place of the course's files)."""
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        with engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO users (id, email, password) VALUES (1, 'a@b.c', 'x')")
            )
            connection.execute(
                sa.text(
                    "INSERT INTO posts (id, title, content, owner_id) VALUES "
                    "(1, 'Hello', 'First post', 1), (2, 'Again', 'Second post', 1)"
                )
            )
        engine.dispose()

    def follow(self, lesson, step) -> None:
        """Do what the step asks, with the course's files for the revisions."""
        if step.solution.startswith("lessons/models/"):  # the model the lesson has you add
            shutil.copy(REPO / step.solution, self.workspace / "app" / "models.py")
        args = shlex.split(step.command.replace("<content id>", CONTENT_ID))
        if not args:
            return
        if args[1] == "revision":
            self.bring(args[-1])
        elif args[1] == "reset":
            self.insert_rows()
        else:
            if args[1] == "downgrade":
                args.append("--yes")
            result = self.run(*args[1:])
            if args[1] != "check":  # `migtutor check` exits 1 while the models are ahead
                assert result.exit_code == 0, f"{step.command}: {result.output}"


@pytest.mark.postgres
def test_the_courses_revisions_pass_every_lesson_on_postgresql(cli, workspace, postgres_url):
    me = Learner(cli, workspace, postgres_url)
    building = [lesson for lesson in load_lessons() if lesson.revision]  # the course's seven
    for lesson in building:
        assert me.run("lesson", "goto", str(lesson.number)).exit_code == 0
        for step in lesson.steps:
            me.follow(lesson, step)
            data = me.check()
            assert data["passed"], f"lesson {lesson.number} step {step.number}: {data['problems']}"
    listed = {
        entry["number"]: entry["status"] for entry in me.run("--json", "lesson", "list").json()
    }
    assert all(listed[lesson.number] == "done" for lesson in building), listed
    current = me.run("--json", "current").json()["current"]
    assert current == ["c07a1f9e3b58"]  # the course's own chain, ids and all
    assert me.run("check").exit_code == 0  # the course's app models match


BATCH_FK = """def upgrade():
    with op.batch_alter_table('posts') as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=False))
        batch_op.create_foreign_key(
            'post_users_fk', 'users', ['owner_id'], ['id'], ondelete="CASCADE")


def downgrade():
    with op.batch_alter_table('posts') as batch_op:
        batch_op.drop_constraint('post_users_fk', type_='foreignkey')
        batch_op.drop_column('owner_id')
"""
BATCH_COLUMNS = """def upgrade():
    with op.batch_alter_table('posts') as batch_op:
        batch_op.add_column(sa.Column(
            'published', sa.Boolean(), nullable=False, server_default=PUBLISHED))
        batch_op.add_column(sa.Column(
            'created_at', sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW))


def downgrade():
    with op.batch_alter_table('posts') as batch_op:
        batch_op.drop_column('created_at')
        batch_op.drop_column('published')
"""


def rewrite(path: Path, functions: str) -> None:
    """The learner replaces upgrade() and downgrade(), keeping the course's header and ids."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("def upgrade():")] + functions, encoding="utf-8")


def test_on_sqlite_the_checks_say_what_the_courses_revisions_need(cli, workspace, tmp_path):
    """The course's files stop where SQLite cannot run them; the advice, followed, works."""
    me = Learner(cli, workspace, f"sqlite:///{tmp_path / 'blog.db'}")
    versions = workspace / "migrations" / "versions"
    lessons = load_lessons()

    def passes(lesson, steps) -> None:
        for step in steps:
            me.follow(lesson, step)
            data = me.check()
            assert data["passed"], f"lesson {lesson.number} step {step.number}: {data}"

    def fails(*phrases: str) -> str:
        data = me.check()
        assert not data["passed"], data
        said = " ".join(" ".join(data["problems"]).split())
        for phrase in phrases:
            assert phrase in said, f"{phrase!r} not in: {said}"
        return said

    for lesson in lessons[:2]:  # create_table, add_column: the same on both databases
        passes(lesson, lesson.steps)

    # Lesson 3: sa.text('now()') is PostgreSQL's word; SQLite fails on the first insert.
    users = lessons[2]
    passes(users, users.steps[:2])
    me.follow(users, users.steps[2])
    fails("unknown function: now()", "sa.func.now()")
    course_users = next(versions.glob("3a9d5e7c1b20_*.py"))
    text = course_users.read_text(encoding="utf-8")
    course_users.write_text(text.replace("sa.text('now()')", "sa.func.now()"), encoding="utf-8")
    assert me.check()["passed"]
    passes(users, users.steps[3:])

    # Lesson 4: SQLite cannot add a constraint to a table that exists; batch mode can.
    owner = lessons[3]
    me.follow(owner, owner.steps[0])
    fails("No support for ALTER of constraints", 'op.batch_alter_table("posts")')
    failed = me.run("upgrade", "head")  # the learner who skips the check hears the same
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    said = " ".join(failed.stderr.split())
    assert "SQLite cannot add or drop a constraint on a table that exists" in said
    assert "op.batch_alter_table(" in said and "strategy.." not in said
    assert me.run("--json", "current").json()["current"] == ["3a9d5e7c1b20"]  # rolled back
    rewrite(next(versions.glob("e4c0b7a25d19_*.py")), BATCH_FK)
    assert me.check()["passed"]
    passes(owner, owner.steps[1:])

    # Lesson 5, on rows: a function as a default needs batch mode, NOW() is PostgreSQL's,
    # and the text 'TRUE' is no boolean on SQLite.
    columns = lessons[4]
    passes(columns, columns.steps[:1])  # rows typed in by the learner
    me.follow(columns, columns.steps[1])
    fails("Cannot add a column with non-constant default", "batch_alter_table")
    course_columns = next(versions.glob("91f6a3d8c0e2_*.py"))
    rewrite(course_columns, BATCH_COLUMNS.replace("PUBLISHED", "'TRUE'").replace(
        "NOW", "sa.text('NOW()')"))  # fmt: skip
    fails("unknown function: NOW()", "sa.func.now()")
    rewrite(course_columns, BATCH_COLUMNS.replace("PUBLISHED", "'TRUE'").replace(
        "NOW", "sa.func.now()"))  # fmt: skip
    fails("server default 'TRUE', a text", "sa.true()")
    rewrite(course_columns, BATCH_COLUMNS.replace("PUBLISHED", "sa.true()").replace(
        "NOW", "sa.func.now()"))  # fmt: skip
    assert me.check()["passed"]
    passes(columns, columns.steps[2:])
    assert me.run("--json", "current").json()["current"] == ["91f6a3d8c0e2"]
