"""`schema --format mermaid|dot` and `graph --format mermaid|dot`: diagrams that render."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from migtutor import diagrams
from migtutor.schema import Column, ForeignKey, Schema, Table, UniqueConstraint

# Mermaid erDiagram's grammar: an attribute is `type name [keys] ["comment"]`, where type and
# name are words of letters, digits, `_`, `-`, `(`, `)`, `[`, `]` (the newer versions; the
# older ones take letters, digits and `_` only, which is what migtutor writes).
MERMAID_ATTRIBUTE = re.compile(
    r'^ {8}[A-Za-z_][A-Za-z0-9_]* [A-Za-z_][A-Za-z0-9_]*( (PK|FK|UK)(, (PK|FK|UK))*)?( "[^"]*")?$'
)
MERMAID_ENTITY = re.compile(r"^ {4}[A-Za-z_][A-Za-z0-9_]* \{$")
MERMAID_RELATION = re.compile(
    r'^ {4}([A-Za-z_][A-Za-z0-9_]*) (\|\||\|o)--o\{ ([A-Za-z_][A-Za-z0-9_]*) : "([^"]*)"$'
)


def awkward_schema() -> Schema:
    """Types Mermaid cannot take raw, a quote in a default, a nullable foreign key."""
    accounts = Table(
        "accounts",
        [
            Column("id", "INTEGER", False, primary_key=True),
            Column("email", "VARCHAR(255)", False),
            Column("joined", "TIMESTAMP WITH TIME ZONE", False, default="now()"),
            Column("balance", "NUMERIC(10, 2)", True, default="'0.00'::numeric"),
            Column("motto", "TEXT", True, default='"hi"'),
        ],
        primary_key=("id",),
        unique=[UniqueConstraint("accounts_email_key", ("email",))],
    )
    entries = Table(
        "ledger entries",
        [
            Column("id", "INTEGER", False, primary_key=True),
            Column("account_id", "INTEGER", True),
            Column("2nd", "BOOLEAN", False),
        ],
        primary_key=("id",),
        foreign_keys=[ForeignKey("fk", ("account_id",), "accounts", ("id",), "SET NULL")],
    )
    version = Table("alembic_version", [Column("version_num", "VARCHAR(32)", False)])
    return Schema(
        "postgresql",
        {"accounts": accounts, "ledger entries": entries, "alembic_version": version},
    )


def assert_valid_mermaid_er(text: str) -> list[str]:
    lines = text.splitlines()
    assert lines[0] == "erDiagram"
    inside = False
    for line in lines[1:]:
        if MERMAID_ENTITY.match(line):
            assert not inside
            inside = True
        elif line == "    }":
            assert inside
            inside = False
        elif inside:
            assert MERMAID_ATTRIBUTE.match(line), line
        else:
            assert MERMAID_RELATION.match(line), line
    assert not inside
    return lines


def test_mermaid_er_sanitises_what_mermaid_cannot_take_raw() -> None:
    text = diagrams.schema_mermaid(awkward_schema())
    lines = assert_valid_mermaid_er(text)
    assert "    accounts {" in lines and "    ledger_entries {" in lines
    assert '        VARCHAR_255 email UK "VARCHAR(255) NOT NULL"' in lines
    assert (
        '        TIMESTAMP_WITH_TIME_ZONE joined "TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()"'
        in lines
    )
    assert "        NUMERIC_10_2 balance \"NUMERIC(10, 2) DEFAULT '0.00'::numeric\"" in lines
    assert "        TEXT motto \"TEXT DEFAULT 'hi'\"" in lines  # no double quote inside
    assert '        BOOLEAN _2nd "BOOLEAN NOT NULL"' in lines  # a word cannot start with a digit
    assert '    accounts |o--o{ ledger_entries : "account_id ON DELETE SET NULL"' in lines
    assert "alembic_version" not in text


def test_dot_schema_quotes_names_and_escapes_labels() -> None:
    text = diagrams.schema_dot(awkward_schema())
    assert text.startswith("digraph schema {\n") and text.endswith("}\n")
    assert '    "ledger entries" [label=<<TABLE' in text
    assert "NUMERIC(10, 2)" in text and "&quot;hi&quot;" not in text  # defaults are not shown
    assert '"ledger entries":"account_id" -> "accounts":"id"' in text
    assert '[label="account_id ON DELETE SET NULL"]' in text
    assert "alembic_version" not in text
    assert diagrams.dot_id('a "b" \\c') == '"a \\"b\\" \\\\c"'
    assert renders_with_graphviz(text)


def renders_with_graphviz(text: str) -> bool:
    """True when `dot` draws it (or is not installed: the structure checks still run)."""
    if not shutil.which("dot"):
        return True
    return (
        subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True).returncode == 0
    )


def course_at_head(cli, workspace: Path, url: str) -> tuple[str, ...]:
    base = ("-w", str(workspace), "-d", url)
    assert cli(*base, "upgrade", "head").exit_code == 0
    return base


def test_schema_as_mermaid_and_dot_on_both_backends(
    cli, course_workspace: Path, database_url: str
) -> None:
    base = course_at_head(cli, course_workspace, database_url)
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    inspector = sa.inspect(engine)
    tables = {
        name: [c["name"] for c in inspector.get_columns(name)]
        for name in inspector.get_table_names()
        if name != "alembic_version" and not name.startswith("migtutor_")
    }
    foreign = [
        (name, fk["referred_table"], fk["constrained_columns"], fk["options"].get("ondelete"))
        for name in tables
        for fk in inspector.get_foreign_keys(name)
    ]
    engine.dispose()
    assert tables and foreign

    result = cli(*base, "schema", "--format", "mermaid")
    assert result.exit_code == 0, result.output
    lines = assert_valid_mermaid_er(result.stdout)
    for table, columns in tables.items():
        start = lines.index(f"    {table} {{")
        body = lines[start + 1 : lines.index("    }", start)]
        assert [line.split()[1] for line in body] == columns
    relations = [MERMAID_RELATION.match(line) for line in lines]
    edges = {(m[1], m[3], m[4]) for m in relations if m}
    for table, referred, columns, ondelete in foreign:
        label = ", ".join(columns) + (f" ON DELETE {ondelete.upper()}" if ondelete else "")
        assert (referred, table, label) in edges
    assert "alembic_version" not in result.stdout

    dot = cli(*base, "schema", "-f", "dot")
    assert dot.exit_code == 0, dot.output
    for table, columns in tables.items():
        assert f'    "{table}" [label=<' in dot.stdout
        for column in columns:
            assert f'PORT="{column}"' in dot.stdout
    for table, referred, columns, _ in foreign:
        assert f'"{table}":"{columns[0]}" -> "{referred}":' in dot.stdout
    assert renders_with_graphviz(dot.stdout)

    one = cli(*base, "schema", "posts", "-f", "mermaid")
    assert "    posts {" in one.stdout and "    users {" not in one.stdout

    assert cli(*base, "--json", "schema").json()["tables"]  # --json is unchanged


def test_graph_as_mermaid_and_dot_shows_branches_and_merges(
    cli, workspace: Path, tmp_path: Path
) -> None:
    base = ("-w", str(workspace), "-d", f"sqlite:///{tmp_path / 'g.db'}")
    assert cli(*base, "revision", "-m", "root", "--rev-id", "root").exit_code == 0
    assert cli(*base, "revision", "-m", "left", "--rev-id", "left").exit_code == 0
    made = cli(*base, "revision", "-m", 'say "right"', "--rev-id", "right", "--head", "root",
               "--splice")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert cli(*base, "merge", "heads", "-m", "join", "--rev-id", "join").exit_code == 0
    assert cli(*base, "upgrade", "left").exit_code == 0

    mermaid = cli(*base, "graph", "--format", "mermaid")
    assert mermaid.exit_code == 0, mermaid.output
    lines = mermaid.stdout.splitlines()
    assert lines[0] == "flowchart BT"
    assert '    r_join["join (head): join"]' in lines
    assert '    r_left["left (current): left"]' in lines
    assert '    r_right["right: say #quot;right#quot;"]' in lines
    edges = {line.strip() for line in lines if "-->" in line}
    assert edges == {
        "r_root --> r_left",
        "r_root --> r_right",
        "r_left --> r_join",
        "r_right --> r_join",
    }
    assert "    class r_left current" in lines

    dot = cli(*base, "graph", "-f", "dot")
    assert dot.exit_code == 0, dot.output
    for edge in ('"root" -> "left"', '"root" -> "right"', '"left" -> "join"', '"right" -> "join"'):
        assert f"    {edge};" in dot.stdout
    assert '"right" [label="right: say \\"right\\""];' in dot.stdout
    assert '"left" [label="left (current): left", style=bold];' in dot.stdout
    assert renders_with_graphviz(dot.stdout)


def test_format_errors_are_one_paragraph(cli, workspace: Path, tmp_path: Path) -> None:
    base = ("-w", str(workspace), "-d", f"sqlite:///{tmp_path / 'e.db'}")
    wrong = cli(*base, "schema", "--format", "svg")
    assert wrong.exit_code == 2
    assert "'svg'" in wrong.stderr and "mermaid" in wrong.stderr and "Traceback" not in wrong.stderr
    both = cli(*base, "--json", "graph", "--format", "dot")
    assert both.exit_code == 1 and "--json" in both.stderr and both.stdout == ""


@pytest.mark.parametrize("draw", [diagrams.schema_mermaid, diagrams.schema_dot])
def test_an_empty_schema_is_still_a_valid_diagram(draw) -> None:
    text = draw(Schema("sqlite"))
    assert text in (
        "erDiagram\n",
        "digraph schema {\n    rankdir=LR;\n    node [shape=plaintext];\n}\n",
    )


def test_readme_diagram_is_what_the_command_draws_for_the_course(
    cli, course_workspace: Path, tmp_path: Path
) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"```mermaid\n(erDiagram\n.*?)```", readme, re.DOTALL)
    assert shown, "README.md shows no Mermaid ER diagram"
    base = course_at_head(cli, course_workspace, f"sqlite:///{tmp_path / 'readme.db'}")
    drawn = cli(*base, "schema", "--format", "mermaid")
    assert drawn.exit_code == 0, drawn.output
    assert shown[1] == drawn.stdout, (
        "README.md's diagram is out of date: replace it with the output of `migtutor schema "
        "--format mermaid` on an SQLite database at the course's head (`reset --to head`)."
    )
