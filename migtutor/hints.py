"""Layered hints: what a step's code does, told in three growing layers.

`lesson hint` reveals one more layer each time it is asked (the level is kept in the progress
file): 1 the idea (the step's `hint`), 2 the operations with their arguments, 3 the code.
`lesson show` names the operations only.

- `operations(source) -> list[str]`: the `op.*` operations the code calls, in order, once each.
- `operation_outlines(source) -> list[str]`: each call with its arguments, nested calls cut
  short (`op.add_column("posts", sa.Column("content", ...))`).
- `step_code(step, root) -> str`: the code a step asks for: its `code`, else the functions of
  its reference revision.
- `shown_part(source) -> str`: the part of a reference file a learner is shown: a revision's
  functions (the file keeps its own ids), or a module without its docstring (a note about the
  course, not part of the answer).

This module reads code with `ast` and imports neither SQLAlchemy nor Alembic.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migtutor.lessons import Step

MAX_LEVEL = 3
LEVELS = {1: "the idea", 2: "the operations and their arguments", 3: "the code"}


def _op_calls(source: str) -> list[ast.Call]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in ("op", "batch_op")
    ]
    return sorted(calls, key=lambda node: (node.lineno, node.col_offset))


def operations(source: str) -> list[str]:
    """The operations the code calls, in order of first use: ["op.add_column", ...]."""
    seen: list[str] = []
    for call in _op_calls(source):
        name = ast.unparse(call.func)
        if name not in seen:
            seen.append(name)
    return seen


def _short(node: ast.expr) -> str:
    """An argument as written, a nested call cut to its first argument."""
    if isinstance(node, ast.Call):
        first = [_short(node.args[0])] if node.args else []
        rest = len(node.args) > 1 or bool(node.keywords)
        return f"{ast.unparse(node.func)}({', '.join([*first, '...'] if rest else first)})"
    return ast.unparse(node)


def operation_outlines(source: str) -> list[str]:
    """Each operation call with its arguments, nested calls shortened."""
    outlines = []
    for call in _op_calls(source):
        arguments = [_short(arg) for arg in call.args]
        arguments += [f"{kw.arg}={_short(kw.value)}" for kw in call.keywords if kw.arg]
        outlines.append(f"{ast.unparse(call.func)}({', '.join(arguments)})")
    return outlines


def step_code(step: Step, root: Path | None) -> str:
    """The code a step asks for: its own `code`, else its reference revision's functions."""
    if step.code.strip():
        return step.code.strip("\n")
    if step.solution and root is not None:
        try:
            source = (root / step.solution).read_text(encoding="utf-8")
        except OSError:
            return ""
        return shown_part(source)
    return ""


def shown_part(source: str) -> str:
    """A revision's functions (the file keeps its own ids); any other module from its first
    line of code (its docstring is a note about the course, not part of the answer)."""
    if "def upgrade()" in source:
        return source[source.index("def upgrade()") :].strip("\n")
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return source.strip("\n")
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and len(body) > 1:
        if isinstance(first.value.value, str):
            lines = source.splitlines()
            return "\n".join(lines[first.end_lineno or 0 :]).strip("\n")
    return source.strip("\n")
