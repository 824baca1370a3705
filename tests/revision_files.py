"""Helpers for the failure, interrupt and hostile-input tests: hand-written revision files and
snapshots of a database's schema, compared before and after a command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import sqlalchemy as sa

MIGTUTOR = str(Path(sys.executable).with_name("migtutor"))


def write_revision(
    workspace: Path,
    revision: str,
    down_revision: str | None,
    upgrade: str = "pass",
    downgrade: str = "pass",
    message: str | None = None,
    header: str = "",
) -> Path:
    """Write migrations/versions/<revision>.py with the given bodies (plain, unindented code)."""
    path = workspace / "migrations" / "versions" / f"{revision}.py"
    path.write_text(
        f'"""{message or revision}"""\n'
        "import sqlalchemy as sa\n"
        "from alembic import op\n"
        f"{header}\n"
        f"revision = {revision!r}\n"
        f"down_revision = {down_revision!r}\n"
        "branch_labels = None\n"
        "depends_on = None\n\n\n"
        "def upgrade():\n"
        f"{textwrap.indent(textwrap.dedent(upgrade).strip(), '    ')}\n\n\n"
        "def downgrade():\n"
        f"{textwrap.indent(textwrap.dedent(downgrade).strip(), '    ')}\n",
        encoding="utf-8",
    )
    return path


def snapshot(url: str) -> dict[str, Any]:
    """Tables, their columns (name, type, nullability), their rows, and alembic_version."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        tables: dict[str, Any] = {}
        with engine.connect() as connection:
            for name in sorted(inspector.get_table_names()):
                if name == "migtutor_applied":  # migtutor's own record: see test_applied.py
                    continue
                columns = [
                    (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)
                ]
                rows = sorted(
                    tuple(row) for row in connection.execute(sa.text(f'SELECT * FROM "{name}"'))
                )
                tables[name] = {"columns": columns, "rows": rows}
        return tables
    finally:
        engine.dispose()


def version_rows(url: str) -> list[str] | None:
    """The alembic_version rows, or None when the table does not exist."""
    tables = snapshot(url)
    if "alembic_version" not in tables:
        return None
    return sorted(row[0] for row in tables["alembic_version"]["rows"])


def assert_clean_failure(result: Any, *fragments: str) -> None:
    """A non-zero exit, nothing on stdout, no traceback, and each fragment in the message."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output, result.output
    assert result.stdout.strip() == "", result.stdout
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def migtutor_process(
    *args: str, env: dict[str, str] | None = None, **options: Any
) -> subprocess.Popen[str]:
    """Start the installed `migtutor` as a user would, with SIGINT at its default.

    A shell that starts jobs in the background sets SIGINT to "ignored" and children inherit
    that; Python then never raises KeyboardInterrupt. Restore the default in the child.
    """
    return subprocess.Popen(
        [MIGTUTOR, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **options,
    )
