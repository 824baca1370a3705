"""Printing console markup without importing Rich, for the lines most commands print.

`rich.console` alone costs 30-45 ms to import (more with `rich.markup`), a tenth of Alembic's
whole start-up and a third of the budget of a command that needs no database. Most of what
migtutor prints is one line of Rich console markup (`[bold red]Error:[/] ...`). `LeanConsole`
prints such a line itself, exactly as Rich would:

- to a pipe or a file (no colour), the markup's text with the tags removed;
- to a terminal, the same with ANSI colours for the plain styles (bold, dim, italic, underline,
  the eight colours and their bright_ forms).

Everything else goes to the real Rich console, created on first need: renderables (tables,
Markdown, syntax), options it does not know, unknown styles or tags, emoji codes, tab and
control characters, a line wider than the terminal (Rich wraps it), and environments that
change Rich's decisions (FORCE_COLOR, TTY_COMPATIBLE, TTY_INTERACTIVE, Windows).

The markup grammar (`RE_TAGS`, `escape`) is Rich's own (rich/markup.py, MIT licence).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import IO, Any

RE_TAGS = re.compile(r"((\\*)\[([a-z#/@][^[]*?)])")
_ESCAPE = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")
_MAYBE_EMOJI = re.compile(r":[A-Za-z0-9_+\-]+:")
_RICH_ONLY_CHARACTERS = frozenset("\t\a\b\v\f\r")
_ATTRIBUTES = {"bold": "1", "dim": "2", "italic": "3", "underline": "4", "reverse": "7"}
_COLOURS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
_SGR = {
    **_ATTRIBUTES,
    **{name: str(30 + index) for index, name in enumerate(_COLOURS)},
    **{f"bright_{name}": str(90 + index) for index, name in enumerate(_COLOURS)},
}
_RICH_ENVIRONMENT = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


def escape(markup: str) -> str:
    """Escape text so it is not read as markup: the same result as `rich.markup.escape`."""

    def escape_backslashes(match: re.Match[str]) -> str:
        backslashes, text = match.groups()
        return f"{backslashes}{backslashes}\\{text}"

    markup = _ESCAPE.sub(escape_backslashes, markup)
    if markup.endswith("\\") and not markup.endswith("\\\\"):
        return markup + "\\"
    return markup


class _NeedsRich(Exception):
    pass


def _codes(style: str) -> list[str]:
    """SGR codes of a style such as "bold green"; _NeedsRich for anything else."""
    codes = []
    for word in style.lower().split():
        if word not in _SGR:
            raise _NeedsRich(word)
        codes.append(_SGR[word])
    return codes


def render_markup(markup: str, style: str | None = None, colour: bool = False) -> str:
    """The text of one markup string, with ANSI codes when `colour`; _NeedsRich if unsure."""
    if _MAYBE_EMOJI.search(markup) or not _RICH_ONLY_CHARACTERS.isdisjoint(markup):
        raise _NeedsRich("emoji code or control character")
    base = _codes(style) if style else []
    stack: list[tuple[str, list[str]]] = []
    out: list[str] = []
    has_tags = "[" in markup

    def emit(text: str) -> None:
        if has_tags:
            text = text.replace("\\[", "[")  # as Rich does: "\\[" not opening a tag is "["
        if not text:
            return
        codes = base + [code for _, tag_codes in stack for code in tag_codes]
        if colour and codes:
            # Attributes add up; of several colours the innermost wins, as in Rich.
            colours = [code for code in codes if code[0] in "39"]
            sgr = [code for code in dict.fromkeys(codes) if code[0] not in "39"] + colours[-1:]
            text = f"\x1b[{';'.join(sgr)}m{text}\x1b[0m"
        out.append(text)

    position = 0
    for match in RE_TAGS.finditer(markup):
        full_text, escapes, tag_text = match.groups()
        start, end = match.span()
        emit(markup[position:start])
        position = end
        if escapes:
            backslashes, escaped = divmod(len(escapes), 2)
            emit("\\" * backslashes)
            if escaped:
                emit(full_text[len(escapes) :])
                continue
        if "=" in tag_text or tag_text.startswith(("@", "#")):
            raise _NeedsRich(tag_text)  # links, meta, hex colours: Rich's business
        if tag_text.startswith("/"):
            name = " ".join(tag_text[1:].lower().split())
            if not name:
                if not stack:
                    raise _NeedsRich("[/] with nothing to close")  # Rich raises MarkupError
                stack.pop()
                continue
            for index in range(len(stack) - 1, -1, -1):
                if stack[index][0] == name:
                    del stack[index]
                    break
            else:
                raise _NeedsRich(f"[/{name}] closes nothing")
            continue
        stack.append((" ".join(tag_text.lower().split()), _codes(tag_text)))
    emit(markup[position:])
    return "".join(out)


class LeanConsole:
    """The part of `rich.console.Console` that migtutor uses; the rest is delegated to one."""

    def __init__(self, file: IO[str], no_color: bool, make_rich: Callable[[], Any]) -> None:
        self.file = file
        self._make_rich = make_rich
        self._rich: Any = None
        self._terminal = _isatty(file)
        self._colour = self._terminal and not no_color and os.environ.get("TERM") != "dumb"
        self._lean = sys.platform != "win32" and not any(
            os.environ.get(name) for name in _RICH_ENVIRONMENT
        )

    @property
    def rich(self) -> Any:
        """The real Rich console, created (and Rich imported) on first use."""
        if self._rich is None:
            self._rich = self._make_rich()
        return self._rich

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rich, name)

    @property
    def colour(self) -> bool:
        """Whether what is printed gets colour (Rich decides where the environment asks it to)."""
        return self._colour if self._lean else self.rich.color_system is not None

    def print(
        self,
        *objects: Any,
        sep: str = " ",
        end: str = "\n",
        style: str | None = None,
        soft_wrap: bool | None = None,
        **options: Any,
    ) -> None:
        if self._lean and not options and all(isinstance(o, str) for o in objects):
            try:
                text = render_markup(sep.join(objects), style, colour=self._colour)
            except _NeedsRich:
                pass
            else:
                if not (self._terminal and soft_wrap is not True and self._too_wide(text)):
                    self.file.write(text + end)
                    return
        self.rich.print(*objects, sep=sep, end=end, style=style, soft_wrap=soft_wrap, **options)

    def _too_wide(self, text: str) -> bool:
        """On a terminal Rich wraps long lines at word boundaries: leave those to it."""
        plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
        return any(len(line) >= _narrowest_width() for line in plain.splitlines())

    def table(self, columns: list[tuple[str, str]], rows: list[list[str]]) -> None:
        """A borderless table (Rich's `Table(box=None, pad_edge=False, show_edge=False)`).

        `columns` are (header, "left" or "right"); cells are markup. Printed here when every
        cell is plain ASCII markup and the table fits the narrowest width Rich could choose
        (Rich would wrap it otherwise); else by Rich.
        """
        try:
            if not self._lean:
                raise _NeedsRich("environment")
            lines = _table_lines(columns, rows, self._colour)
        except _NeedsRich:
            print_table(self.rich, columns, rows)
            return
        self.file.write("".join(line + "\n" for line in lines))


def print_table(console: Any, columns: list[tuple[str, str]], rows: list[list[str]]) -> None:
    """Print a borderless table of markup cells on `console` (a LeanConsole or Rich's)."""
    if isinstance(console, LeanConsole):
        console.table(columns, rows)
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False)
    for header, justify in columns:
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _table_lines(columns: list[tuple[str, str]], rows: list[list[str]], colour: bool) -> list[str]:
    plain = [[render_markup(cell) for cell in row] for row in rows]
    headers = [escape(header) for header, _ in columns]
    cells = [render_markup(h) for h in headers], *plain
    if any(not text.isascii() or "\n" in text for row in cells for text in row):
        raise _NeedsRich("wide or multi-line cells")
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    if sum(widths) + 2 * (len(widths) - 1) > _narrowest_width():
        raise _NeedsRich("the table is wider than the console")

    def line(row: list[str], texts: list[str], style: str | None = None) -> str:
        parts = []
        for (_, justify), markup, text, width in zip(columns, row, texts, widths, strict=True):
            pad = " " * (width - len(text))
            shown = render_markup(markup, style, colour=colour) if colour else text
            parts.append(pad + shown if justify == "right" else shown + pad)
        return "  ".join(parts)

    return [line(headers, cells[0], "bold")] + [
        line(row, texts) for row, texts in zip(rows, plain, strict=True)
    ]


def narrowest_width() -> int:
    """The width lines must stay within to be printed as they are, not wrapped by Rich."""
    return _narrowest_width()


def _narrowest_width() -> int:
    """The smallest width Rich might give its console: COLUMNS, else any terminal's, else 80."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return int(columns)
    widths = []
    for fd in (0, 1, 2):
        try:
            widths.append(os.get_terminal_size(fd).columns)
        except OSError:
            pass
    return min(widths, default=80)


def _isatty(file: IO[str]) -> bool:
    try:
        return file.isatty()
    except (AttributeError, ValueError):
        return False
