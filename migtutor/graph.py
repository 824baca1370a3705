"""The revision graph laid out in text lanes, the way `git log --graph` draws commits.

`layout(revisions)` takes revisions newest first (as `Migrator.revisions()` returns them: every
revision after all the revisions built on it) and returns `Row`s: a prefix of lane characters
(`*` the revision, `|` a lane passing by, `/` two lanes joining at a branch point, `\\` a lane
opening at a merge point) and the revision on that row, or None for a connector row.

`to_json(revisions)` is the machine-readable form: `{"nodes": [...], "edges": [...]}`, an
edge going `from` a revision `to` the revision built on it (the direction `upgrade` walks).
Pure data in, data out: no database, no printing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migtutor.migrate import Revision


@dataclass
class Row:
    prefix: str
    revision: Revision | None = None


def _cells(lanes: list[str | None], mark: int | None = None) -> list[str]:
    return ["*" if i == mark else ("|" if lane else " ") for i, lane in enumerate(lanes)]


def _trim(lanes: list[str | None]) -> None:
    while lanes and lanes[-1] is None:
        lanes.pop()


def layout(revisions: list[Revision]) -> list[Row]:
    """Rows of the graph, newest revision first."""
    rows: list[Row] = []
    lanes: list[str | None] = []
    for rev in revisions:
        # Several lanes waiting for this revision: it is a branch point; join them (`|/`).
        waiting = [i for i, lane in enumerate(lanes) if lane == rev.revision]
        for join in reversed(waiting[1:]):
            cells = _cells(lanes)
            chars = [c + " " for c in cells[:join]]
            chars[-1] = chars[-1][0] + "/"
            chars += [" /" for _ in lanes[join + 1 :]]
            rows.append(Row("".join(chars).rstrip()))
            del lanes[join]
        if waiting:
            column = waiting[0]
        elif None in lanes:
            column = lanes.index(None)
        else:
            lanes.append(rev.revision)
            column = len(lanes) - 1
        rows.append(Row(" ".join(_cells(lanes, column)).rstrip(), rev))
        parents = rev.down_revisions
        lanes[column] = parents[0] if parents else None
        # A merge point opens a lane for each further parent (`|\`).
        for extra, parent in enumerate(parents[1:], start=1):
            cells = _cells(lanes)
            position = column + extra
            chars = [c + " " for c in cells[:position]]
            chars[-1] = chars[-1][0] + "\\"
            chars += [" \\" for _ in lanes[position:]]
            rows.append(Row("".join(chars).rstrip()))
            lanes.insert(position, parent)
        _trim(lanes)
    return rows


def to_json(revisions: list[Revision]) -> dict[str, Any]:
    """{"nodes": [{"revision", "message", "is_head", "is_current"}], "edges": [{"from", "to"}]}."""
    return {
        "nodes": [
            {
                "revision": rev.revision,
                "message": rev.message,
                "is_head": rev.is_head,
                "is_current": rev.is_current,
            }
            for rev in revisions
        ],
        "edges": [
            {"from": parent, "to": rev.revision}
            for rev in revisions
            for parent in rev.down_revisions
        ],
    }
