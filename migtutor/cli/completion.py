"""Tab completion of lesson numbers and revision ids (Typer's `--install-completion`).

Completion parses the command line without running the app's callback, so the workspace is
read from the parsed `-w/--workspace` (or MIGTUTOR_WORKSPACE), else found upward as usual.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migtutor import completion

_KEYWORDS = {
    "upgrade": ("head", "heads"),
    "downgrade": ("base",),
    "show": ("head", "base"),
    "stamp": ("head", "base"),
    "merge": ("heads",),
}


def _workspace(ctx: Any) -> Path:
    given = ctx.find_root().params.get("workspace")
    if given:
        return Path(given)
    from migtutor.workspace import default_workspace

    return default_workspace()


def revisions(ctx: Any, incomplete: str) -> list[tuple[str, str]]:
    """Revision ids of the workspace's files, after the keywords the command takes."""
    keywords = _KEYWORDS.get(ctx.info_name or "", ())
    found = [(word, "keyword") for word in keywords if word.startswith(incomplete)]
    return found + completion.revision_ids(_workspace(ctx), incomplete)


def lessons(incomplete: str) -> list[tuple[str, str]]:
    """The course's lesson numbers, each with its title."""
    return completion.lesson_numbers(incomplete)
