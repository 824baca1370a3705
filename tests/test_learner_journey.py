"""A learner goes from `migtutor init` to the end of lesson 8, writing the files by hand.

On the way they make the typical mistakes (an empty or missing downgrade(), a forgotten upgrade,
a foreign key dropped after its column, a model autogenerate cannot see) and `lesson check`
must name each one, exit non-zero, and pass once it is fixed. In lesson 8 each step's setup
breaks the chain, and following migtutor's advice gets them out.
"""

from __future__ import annotations

import re
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from recovery import fill_in, get_out

from migtutor.lessons import load_lessons

CREATE_POSTS = """
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False, primary_key=True),
        sa.Column("title", sa.String(), nullable=False),
    )
"""
CREATE_USERS = """
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("password", sa.String(), nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            nullable=False,
            server_default=DEFAULT,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
"""
VOTE_MODEL = """

class Vote(Base):
    __tablename__ = "votes"

    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    post_id = Column(Integer, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
"""


class Learner:
    def __init__(self, cli, workspace: Path, url: str) -> None:
        self.cli, self.workspace, self.url = cli, workspace, url
        self.postgres = url.startswith("postgresql")

    def run(self, *args: str, expect: int | None = 0):
        result = self.cli("-w", str(self.workspace), "-d", self.url, *args, input="y\n")
        if expect is not None:
            assert result.exit_code == expect, f"{args}: {result.output}"
        return result

    def revision(self, message: str, autogenerate: bool = False) -> Path:
        extra = ["--autogenerate"] if autogenerate else []
        created = self.run("--json", "revision", *extra, "-m", message).json()
        return Path(created["path"])

    def check(self) -> dict:
        result = self.run("--json", "lesson", "check", expect=None)
        assert result.stdout, result.output
        data = result.json()
        assert result.exit_code == (0 if data["passed"] else 1), result.output
        return data

    def passes(self, lesson: int, step: int) -> None:
        data = self.check()
        assert data == {"lesson": lesson, "step": step, "passed": True, "problems": []}, data

    def fails(self, lesson: int, step: int, *phrases: str) -> list[str]:
        data = self.check()
        assert (data["lesson"], data["step"], data["passed"]) == (lesson, step, False), data
        text = "\n".join(data["problems"])
        for phrase in phrases:
            assert phrase in text, f"{phrase!r} not in:\n{text}"
        return data["problems"]

    def tables(self) -> set[str]:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as connection:
                names = set(sa.inspect(connection).get_table_names()) - {"alembic_version"}
                return {name for name in names if not name.startswith("migtutor_")}
        finally:
            engine.dispose()


def write_functions(path: Path, upgrade: str, downgrade: str | None) -> None:
    """Replace the generated `pass` bodies, as a learner editing the file would."""
    source = path.read_text(encoding="utf-8")
    head = source[: source.index("def upgrade()")]
    body = f"def upgrade() -> None:\n{_indent(upgrade)}\n"
    if downgrade is not None:
        body += f"\n\ndef downgrade() -> None:\n{_indent(downgrade)}\n"
    path.write_text(head + body, encoding="utf-8")


def _indent(code: str) -> str:
    return textwrap.indent(textwrap.dedent(code).strip("\n"), "    ")


@pytest.fixture(params=["sqlite", "postgresql", "class student"])
def learner_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The learner's database: a SQLite file, a PostgreSQL database of a superuser, or the
    database of a class student, whose role may create neither databases nor roles."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    elif request.param == "postgresql":
        yield request.getfixturevalue("postgres_url")
    else:
        yield from _class_student(request.getfixturevalue("postgres_server"), tmp_path)


def _class_student(server: str, tmp_path: Path) -> Iterator[str]:
    from conftest import invoke

    prefix = f"mtj{uuid.uuid4().hex[:8]}"
    roster = tmp_path / "roster.txt"
    roster.write_text("ada\n")
    credentials = tmp_path / "credentials.txt"
    created = invoke("-d", server, "class", "create", str(roster), "--prefix", prefix,
                     "--credentials", str(credentials))  # fmt: skip
    assert created.exit_code == 0, created.output
    line = credentials.read_text().splitlines()[-1]
    try:
        yield line.split()[1]
    finally:
        dropped = invoke("-d", server, "class", "drop", str(roster), "--prefix", prefix, "--yes")
        assert dropped.exit_code == 0, dropped.output


def test_learner_follows_the_course(cli, workspace, learner_url):
    me = Learner(cli, workspace, learner_url)

    # -- lesson 1: the posts table --------------------------------------------------------------
    shown = me.run("lesson", "show")
    assert 'migtutor revision -m "create posts table"' in shown.stdout
    me.fails(1, 1, 'No revision has the message "create posts table"')
    posts = me.revision("create posts table")
    me.passes(1, 1)

    me.fails(1, 2, "upgrade() is empty")
    write_functions(posts, CREATE_POSTS, downgrade=None)
    me.fails(1, 2, "missing downgrade()")
    human = me.run("lesson", "check", expect=1)  # the same, as a person reads it
    assert "Not yet" in human.stdout and "no downgrade() function" in human.stdout
    assert "Hint:" in human.stdout
    write_functions(posts, CREATE_POSTS, "pass")
    me.fails(1, 2, "downgrade() is empty")
    write_functions(posts, CREATE_POSTS, 'op.drop_table("post")')  # a typo
    me.fails(1, 2, "downgrade() of revision", "failed on a scratch copy")
    write_functions(posts, CREATE_POSTS, 'op.drop_table("posts")')
    me.passes(1, 2)
    assert "posts" not in me.tables()  # the roundtrip ran on a scratch copy only

    me.fails(1, 3, "has not been upgraded", "Run `migtutor upgrade head`")  # forgotten upgrade
    me.run("upgrade", "head")
    me.passes(1, 3)
    me.fails(1, 4, "Run `migtutor current` and read what it prints.")  # a reading step
    me.run("current")
    me.passes(1, 4)
    me.fails(1, 5, "Run `migtutor config` and read what it prints.")
    shown = me.run("config")
    assert "Source:" in shown.stdout
    password = sa.engine.make_url(me.url).password
    assert not password or password not in shown.stdout
    me.passes(1, 5)

    # -- lesson 2: a column, relative and absolute targets --------------------------------------
    content = me.revision("add content column to posts table")
    write_functions(
        content,
        'op.add_column("posts", sa.Column("content", sa.String(), nullable=False))',
        'op.drop_column("posts", "content")',
    )
    me.passes(2, 1)
    me.passes(2, 2)  # reading: NOT NULL on a table with rows
    me.fails(2, 3, 'expects it at the revision "add content column to posts table"')
    me.run("upgrade", "+1")
    me.passes(2, 3)
    me.run("downgrade", "-1")
    me.passes(2, 4)
    content_id = re.search(r"^revision: str = ['\"](\w+)", content.read_text(), re.M).group(1)
    me.run("upgrade", content_id[:6])  # an absolute target, by the start of an id
    me.passes(2, 5)

    # -- lesson 3: constraints, then a server default ------------------------------------------
    users = me.revision("add user table")
    me.passes(3, 1)
    # The table without created_at: the step before its server default.
    constraints_only = re.sub(
        r' {8}sa\.Column\(\n {12}"created_at".*?\n {8}\),\n', "", CREATE_USERS, flags=re.S
    )
    assert "created_at" not in constraints_only
    no_unique = constraints_only.replace('        sa.UniqueConstraint("email"),\n', "")
    write_functions(users, no_unique, 'op.drop_table("users")')
    me.fails(3, 2, "nothing makes (email) unique")
    write_functions(users, constraints_only, 'op.drop_table("users")')
    me.passes(3, 2)
    if not me.postgres:  # the course's sa.text("now()") is PostgreSQL-only
        write_functions(
            users, CREATE_USERS.replace("DEFAULT", 'sa.text("now()")'), 'op.drop_table("users")'
        )
        me.fails(3, 3, "unknown function: now()", "sa.func.now()")
    write_functions(
        users, CREATE_USERS.replace("DEFAULT", "sa.func.now()"), 'op.drop_table("users")'
    )
    me.passes(3, 3)
    me.run("upgrade", "head")
    me.passes(3, 4)
    me.fails(3, 5, "Run `migtutor history`")
    me.run("history")
    me.passes(3, 5)

    # -- lesson 4: the foreign key, and the order of operations --------------------------------
    fk = me.revision("add foreign-key to posts table")
    if me.postgres:
        upgrade = """
            op.add_column("posts", sa.Column("owner_id", sa.Integer(), nullable=False))
            op.create_foreign_key(
                "post_users_fk", source_table="posts", referent_table="users",
                local_cols=["owner_id"], remote_cols=["id"], ondelete="CASCADE",
            )
        """
        wrong = """
            op.drop_column("posts", "owner_id")
            op.drop_constraint("post_users_fk", table_name="posts")
        """
        right = """
            op.drop_constraint("post_users_fk", table_name="posts")
            op.drop_column("posts", "owner_id")
        """
    else:
        upgrade = """
            with op.batch_alter_table("posts") as batch_op:
                batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=False))
                batch_op.create_foreign_key(
                    "post_users_fk", "users", ["owner_id"], ["id"], ondelete="CASCADE"
                )
        """
        wrong = """
            with op.batch_alter_table("posts") as batch_op:
                batch_op.drop_column("owner_id")
                batch_op.drop_constraint("post_users_fk", type_="foreignkey")
        """
        right = """
            with op.batch_alter_table("posts") as batch_op:
                batch_op.drop_constraint("post_users_fk", type_="foreignkey")
                batch_op.drop_column("owner_id")
        """
    write_functions(fk, upgrade, wrong)
    me.fails(4, 1, "FK is dropped after its column", "Drop the constraint first")
    write_functions(fk, upgrade, right)
    me.passes(4, 1)
    me.run("upgrade", "head")
    me.passes(4, 2)
    me.passes(4, 3)  # reading: SQLite enforces foreign keys only with the pragma

    # -- lesson 5: defaults on a table with rows -----------------------------------------------
    me.fails(5, 1, "table posts holds 0 rows")
    me.run("reset", "--to", "lesson:5", "--seed", "--yes")
    assert list((workspace / ".migtutor" / "backup").glob("versions-*/*.py"))  # their files
    me.passes(5, 1)
    columns = me.revision("add last few columns to posts table")
    write_functions(
        columns,
        'op.add_column("posts", sa.Column("published", sa.Boolean(), nullable=False))',
        'op.drop_column("posts", "published")',
    )
    if me.postgres:
        me.fails(5, 2, "contains null values", "server_default=sa.true()")
    else:
        me.fails(5, 2, "Cannot add a NOT NULL column", "server_default=sa.true()")
    if not me.postgres:  # the course's 'TRUE': a text on SQLite
        write_functions(
            columns,
            'op.add_column("posts", sa.Column("published", sa.Boolean(), nullable=False, '
            'server_default="TRUE"))',
            'op.drop_column("posts", "published")',
        )
        me.fails(5, 2, "server default 'TRUE', a text", "sa.true()")
    published = """
        sa.Column("published", sa.Boolean(), nullable=False, server_default=sa.true())
    """
    write_functions(
        columns,
        f'op.add_column("posts", {published.strip()})',
        'op.drop_column("posts", "published")',
    )
    me.passes(5, 2)
    me.fails(5, 3, "has no column created_at")
    created = """
        sa.Column(
            "created_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=DEFAULT
        )
    """
    if me.postgres:  # the course's own form, PostgreSQL's now()
        plain = created.strip().replace("DEFAULT", 'sa.text("now()")')
        write_functions(
            columns,
            f'op.add_column("posts", {published.strip()})\nop.add_column("posts", {plain})',
            'op.drop_column("posts", "created_at")\nop.drop_column("posts", "published")',
        )
    else:
        plain = created.strip().replace("DEFAULT", "sa.func.now()")
        write_functions(
            columns,
            f'op.add_column("posts", {published.strip()})\nop.add_column("posts", {plain})',
            'op.drop_column("posts", "created_at")\nop.drop_column("posts", "published")',
        )
        me.fails(5, 3, "non-constant default", "batch_alter_table")
        write_functions(
            columns,
            f"""
            with op.batch_alter_table("posts") as batch_op:
                batch_op.add_column({published.strip()})
                batch_op.add_column({plain})
            """,
            """
            with op.batch_alter_table("posts") as batch_op:
                batch_op.drop_column("created_at")
                batch_op.drop_column("published")
            """,
        )
    me.passes(5, 3)
    me.fails(5, 4, "has not been upgraded")
    me.run("upgrade", "head")
    me.passes(5, 4)
    engine = sa.create_engine(me.url)
    try:  # every existing post got the defaults, and the same created_at
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT published, created_at FROM posts")).all()
    finally:
        engine.dispose()
    assert len(rows) == 4 and all(row[0] in (True, 1) for row in rows)
    assert len({row[1] for row in rows}) == 1 and rows[0][1] is not None

    # -- lesson 6: autogenerate -----------------------------------------------------------------
    me.fails(6, 1, "model not imported")  # no Vote model yet
    models = workspace / "app" / "models.py"
    original_models = models.read_text(encoding="utf-8")
    # First try: the model in its own module, which nothing imports.
    (workspace / "app" / "votes.py").write_text(
        "from sqlalchemy import Column, ForeignKey, Integer\n\nfrom app.models import Base\n"
        + VOTE_MODEL,
        encoding="utf-8",
    )
    me.fails(6, 1, "model not imported", "app/models.py")
    (workspace / "app" / "votes.py").unlink()
    models.write_text(original_models + VOTE_MODEL, encoding="utf-8")
    me.passes(6, 1)

    # Tidying up, the learner moves Vote back out of models.py before autogenerating:
    models.write_text(original_models, encoding="utf-8")
    refused = me.run("revision", "--autogenerate", "-m", "auto vote", expect=1)
    assert "found no difference" in refused.stderr and "was not kept" in refused.stderr
    assert not list((workspace / "migrations" / "versions").glob("*auto_vote*"))
    kept = me.run("--json", "revision", "--autogenerate", "--keep-empty", "-m", "auto vote")
    empty = Path(kept.json()["path"])
    me.fails(6, 2, "upgrade() is empty", "Autogenerate wrote an empty revision")
    empty.unlink()
    models.write_text(original_models + VOTE_MODEL, encoding="utf-8")
    votes = me.revision("auto vote", autogenerate=True)
    generated = votes.read_text(encoding="utf-8")
    assert re.search(r"op\.create_table\(\s*['\"]votes", generated)
    assert "drop_table('posts')" not in generated and 'drop_table("posts")' not in generated
    assert "migtutor_progress" not in generated  # migtutor's own table is no model's
    me.passes(6, 2)
    me.fails(6, 3, "has not been upgraded")  # forgotten upgrade, again
    me.run("upgrade", "head")
    me.passes(6, 3)
    me.fails(6, 4, "Run `migtutor check`")
    me.run("check")
    me.passes(6, 4)
    me.run("downgrade", "base", "--yes")  # the sample rows go too
    assert me.tables() == set()
    me.passes(6, 5)
    me.run("upgrade", "head")
    assert me.tables() == {"posts", "users", "votes"}
    me.passes(6, 6)

    # -- lesson 7: autogenerate on your own ----------------------------------------------------
    me.fails(7, 1, "does not see a new column phone_number on users")
    user_password = "    password = Column(String, nullable=False)\n"
    text = models.read_text(encoding="utf-8")
    assert text.count(user_password) == 1
    models.write_text(
        text.replace(user_password, user_password + "    phone_number = Column(String)\n"),
        encoding="utf-8",
    )
    me.passes(7, 1)
    phone = me.revision("add phone number", autogenerate=True).read_text(encoding="utf-8")
    upgrade = phone[phone.index("def upgrade") : phone.index("def downgrade")]
    assert "add_column" in upgrade and "phone_number" in upgrade and "drop" not in upgrade
    me.passes(7, 2)
    me.fails(7, 3, "has not been upgraded")
    me.run("upgrade", "head")
    me.passes(7, 3)
    assert cli("-w", str(workspace), "-d", me.url, "check").exit_code == 0

    listed = me.run("--json", "lesson", "list").json()
    assert [item["status"] for item in listed] == ["done"] * 7 + ["current"]

    # -- lesson 8: when things go wrong ---------------------------------------------------------
    me.fails(8, 1, "`migtutor lesson setup`")
    scenarios = ("applied_empty", "edited_after_applied", "deleted_file", "two_heads",
                 "untracked_tables")  # fmt: skip
    for step, scenario in enumerate(scenarios, start=1):
        me.run("lesson", "setup", "--yes")
        me.fails(8, step)
        get_out(me.run, workspace, scenario)
        me.passes(8, step)
    practice = me.revision("remove practice columns")
    fill_in(practice, load_lessons()[7].steps[5].code)
    me.passes(8, 6)
    me.fails(8, 7, "has not been upgraded")
    me.run("upgrade", "head")
    me.passes(8, 7)
    assert me.tables() == {"posts", "users", "votes"}
    assert cli("-w", str(workspace), "-d", me.url, "check").exit_code == 0

    listed = me.run("--json", "lesson", "list").json()
    assert [item["status"] for item in listed] == ["done"] * 8
    assert all(item["steps_done"] == item["steps_total"] for item in listed)
    finished = me.run("lesson", "check")
    assert "finished all 8 lessons" in finished.stdout


def test_autogenerate_without_the_models_is_caught(cli, course_workspace, tmp_path):
    """env.py comparing with an empty MetaData: autogenerate proposes dropping every table."""
    me = Learner(cli, course_workspace, f"sqlite:///{tmp_path / 'blog.db'}")
    for name in ("l6_votes_auto_vote.py", "l7_phone_add_phone_number.py"):
        (course_workspace / "migrations" / "versions" / name).unlink()
    me.run("upgrade", "head")
    env = course_workspace / "migrations" / "env.py"
    env.write_text(
        env.read_text(encoding="utf-8")
        .replace("target_metadata = Base.metadata", "target_metadata = sa.MetaData()")
        .replace(
            "from alembic import context", "import sqlalchemy as sa\nfrom alembic import context"
        ),
        encoding="utf-8",
    )
    me.revision("auto vote", autogenerate=True)
    me.run("lesson", "goto", "6")
    progress = course_workspace / ".migtutor" / "progress.json"
    progress.write_text('{"lesson": 6, "step": 1, "completed": [1, 2, 3, 4, 5]}', encoding="utf-8")
    problems = me.fails(6, 2, "drops what it should keep", "table posts was dropped")
    assert any("target_metadata = Base.metadata" in problem for problem in problems)
    assert {"posts", "users"} <= me.tables()  # the learner's tables are untouched
