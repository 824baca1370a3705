"""A progress bar for class work on a terminal: students done of all, elapsed, who failed.

Piped output, `--json` or no terminal on stderr: no bar (the callback is None).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

OnDone = Callable[[str, BaseException | None], None]


@contextmanager
def class_progress(total: int, what: str, *, json: bool) -> Iterator[OnDone | None]:
    """Yield a callback to tell of each database done, or None when no bar is shown."""
    if json or total <= 0 or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    failed: list[str] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[failed]}"))  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(what, total=total, failed="")

        def done(name: str, error: BaseException | None) -> None:
            if error is not None:
                failed.append(name)
            note = f"failed: {', '.join(failed)}" if failed else ""
            progress.update(task, advance=1, failed=note)

        yield done
