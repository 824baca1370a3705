"""The lower bounds in pyproject.toml are the versions CI tests: constraints-lowest.txt pins each
runtime dependency at exactly its lower bound (CI runs the whole suite on them)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)\s*(.*)$")


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _release(version: str) -> tuple[int, ...]:
    parts = tuple(int(part) for part in version.split("."))
    return parts + (0,) * (3 - len(parts))


def lower_bounds() -> dict[str, tuple[int, ...]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    bounds = {}
    for requirement in project["dependencies"]:
        name, specifiers = _REQUIREMENT.match(requirement).groups()
        (lowest,) = [spec[2:] for spec in specifiers.split(",") if spec.strip().startswith(">=")]
        bounds[_name(name)] = _release(lowest.strip())
    return bounds


def pinned() -> dict[str, tuple[int, ...]]:
    pins = {}
    for line in (REPO / "constraints-lowest.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[_name(name)] = _release(version)
    return pins


def test_every_lower_bound_is_pinned_for_the_lowest_run() -> None:
    assert pinned() == lower_bounds()
