"""What the shell completes: lesson numbers and revision ids, read from files alone.

Completion runs on every Tab press, so nothing here connects to a database or imports a
revision file: ids are read with a regular expression, as `sync.defined_revisions` does.
"""

from __future__ import annotations

import re
from pathlib import Path

REVISION_LINE = re.compile(r"""^revision(?:\s*:\s*str)?\s*=\s*['"]([^'"]+)['"]""", re.MULTILINE)
_DOCSTRING = re.compile(r'^\s*(?:"""|\'\'\')\s*(.*)$', re.MULTILINE)


def revision_ids(workspace: Path, incomplete: str = "") -> list[tuple[str, str]]:
    """(id, message) of each revision file in the workspace whose id starts with `incomplete`."""
    found = []
    for path in sorted((workspace / "migrations" / "versions").glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        match = REVISION_LINE.search(text)
        if match and match.group(1).startswith(incomplete):
            docstring = _DOCSTRING.search(text)
            found.append((match.group(1), docstring.group(1).strip() if docstring else ""))
    return found


def lesson_numbers(incomplete: str = "") -> list[tuple[str, str]]:
    """(number, title) of each lesson whose number starts with `incomplete`."""
    from migtutor.errors import MigtutorError
    from migtutor.lessons import load_lessons

    try:
        lessons = load_lessons()
    except MigtutorError:  # a broken lesson file: `lesson lint` says what; complete nothing
        return []
    return [(str(n.number), n.title) for n in lessons if str(n.number).startswith(incomplete)]
