"""The Markdown of lesson steps, as lines of console markup, without Rich's Markdown class.

Rich's `Markdown` imports markdown-it and Pygments, about a third of the start-up budget of
`lesson show`. Lesson texts use a small subset, rendered here: paragraphs, `- ` and `1. `
lists, `code` and **bold** spans, and code blocks (fenced or indented by four spaces).
Paragraphs and list items are wrapped to the width given; a code block is returned whole, for
the caller to show as code.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from migtutor.plain_console import escape

_SPAN = re.compile(r"(`+)(.+?)\1|\*\*(.+?)\*\*")
_ITEM = re.compile(r"(\s*)([-*+]|\d+[.)])\s+(.*)")
_FENCE = re.compile(r"\s*(```|~~~)")
CODE_STYLE = "bold cyan"


@dataclass(frozen=True)
class Block:
    kind: str  # "lines": markup lines to print; "code": source to show as code
    text: str
    language: str = ""  # a fenced block's language ("python"), else ""


def _inline(text: str) -> list[tuple[str, str | None]]:
    """(words, style) runs of one paragraph: plain, `code` and **bold**."""
    runs: list[tuple[str, str | None]] = []
    position = 0
    for match in _SPAN.finditer(text):
        runs.append((text[position : match.start()], None))
        if match[2] is not None:
            runs.append((match[2].strip(), CODE_STYLE))
        else:
            runs.append((match[3], "bold"))
        position = match.end()
    runs.append((text[position:], None))
    return runs


def _wrapped(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """One paragraph as markup lines at most `width` wide, prefixed by `first`, then `rest`."""
    words: list[tuple[str, str]] = []  # (visible, markup); text glued to a span stays with it
    space = True
    for chunk, style in _inline(" ".join(text.split())):
        for index, word in enumerate(chunk.split(" ")):
            space = space or index > 0
            if not word:
                continue
            shown = escape(word)
            shown = f"[{style}]{shown}[/]" if style else shown
            if space or not words:
                words.append((word, shown))
            else:
                words[-1] = (words[-1][0] + word, words[-1][1] + shown)
            space = False
    lines: list[str] = []
    line, visible, empty = first, len(first), True
    for word, shown in words:
        gap = 0 if empty else 1
        if not empty and visible + gap + len(word) > width:
            lines.append(line)
            line, visible, gap = rest, len(rest), 0
        line += " " * gap + shown
        visible += gap + len(word)
        empty = False
    lines.append(line)
    return lines


def blocks(markdown: str, width: int = 80) -> list[Block]:
    """The lesson text's blocks: wrapped markup lines, and code blocks to show as code."""
    source = textwrap.dedent(markdown).strip("\n").splitlines()
    found: list[Block] = []
    out: list[str] = []

    def flush_code(code: list[str], language: str = "") -> None:
        while out and out[-1] == "":
            out.pop()
        if out:
            found.append(Block("lines", "\n".join(out)))
            out.clear()
        found.append(Block("code", "\n".join(code), language))

    index = 0
    paragraph: list[str] = []
    item: tuple[str, list[str]] | None = None

    def flush_text() -> None:
        nonlocal item
        if paragraph:
            out.extend(_wrapped(" ".join(paragraph), width))
            paragraph.clear()
        if item is not None:
            marker, parts = item
            bullet = " • " if not marker[0].isdigit() else f" {marker} "
            out.extend(_wrapped(" ".join(parts), width, bullet, " " * len(bullet)))
            item = None

    while index < len(source):
        raw = source[index]
        fence = _FENCE.match(raw)
        if fence:
            flush_text()
            code = []
            index += 1
            while index < len(source) and not source[index].strip().startswith(fence[1]):
                code.append(source[index])
                index += 1
            flush_code(code, raw.strip()[3:].strip())
            index += 1
            continue
        if raw.startswith("    ") and not paragraph and item is None:
            flush_text()
            code = []
            while index < len(source) and (
                source[index].startswith("    ") or not source[index].strip()
            ):
                code.append(source[index][4:])
                index += 1
            while code and not code[-1].strip():
                code.pop()
            flush_code(code)
            continue
        if not raw.strip():
            flush_text()
            if out and out[-1] != "":
                out.append("")
            index += 1
            continue
        listed = _ITEM.fullmatch(raw)
        if listed and len(listed[1]) < 2:
            flush_text()
            item = (listed[2], [listed[3]])
        elif item is not None:
            item[1].append(raw.strip())
        else:
            paragraph.append(raw.strip())
        index += 1
    flush_text()
    while out and out[-1] == "":
        out.pop()
    if out:
        found.append(Block("lines", "\n".join(out)))
    return found
