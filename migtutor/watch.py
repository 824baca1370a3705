"""What `lesson watch` watches: the files a step's check reads, by their modification times.

- `Watcher(workspace, url)`: `.paths()` the revision files (and their folder, so a new or
  deleted file counts), the models (`app/`), `env.py`, the progress file, the commands run on
  the step (`migtutor.command_log`: a reading step passes when its command ran in another
  terminal), and the SQLite database file (a command run in another terminal changes it);
  `.stamp()` each one's (mtime_ns, size), None when missing; `.wait(since, interval,
  deadline)` polls until the stamp differs from `since`, or returns None once `deadline` (a
  `time.monotonic()` value) passed; `.own_writes_seen(before)` is the stamp to wait from after
  a check: the check's own writes (progress, the verdict in the database) do not wake it, a
  save made while it ran does.

Polling keeps this dependency-free and works the same on every platform; a poll reads a few
dozen inode entries, so a 0.1 s interval costs nothing noticeable.
"""

from __future__ import annotations

import time
from pathlib import Path

from migtutor.alembic_config import script_location, versions_location
from migtutor.command_log import log_path
from migtutor.progress import progress_path

Stamp = dict[Path, tuple[int, int] | None]


def _sqlite_file(url: str) -> Path | None:
    if not url.startswith("sqlite") or ":memory:" in url:
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return Path(path.split("?", 1)[0]) if path else None


class Watcher:
    """The files of one workspace whose change can change a step's verdict."""

    def __init__(self, workspace: Path, url: str) -> None:
        self.workspace = workspace
        self.versions = versions_location(workspace)  # read from the ini once, not every poll
        self.env_py = script_location(workspace) / "env.py"
        self.database = _sqlite_file(url)

    def paths(self) -> list[Path]:
        app = self.workspace / "app"
        paths = [self.versions, *sorted(self.versions.glob("*.py")), self.env_py]
        paths += [app, *sorted(app.glob("*.py")), *sorted(app.glob("*/*.py"))]
        paths += [progress_path(self.workspace), log_path(self.workspace)]
        if self.database is not None:
            paths.append(self.database)
        return paths

    def stamp(self) -> Stamp:
        """Each watched path's modification time and size (None for a missing one)."""
        result: Stamp = {}
        for path in self.paths():
            try:
                info = path.stat()
            except OSError:
                result[path] = None
            else:
                result[path] = (info.st_mtime_ns, info.st_size)
        return result

    def own_writes_seen(self, before: Stamp) -> Stamp:
        """`before` (stamped before a check) with the files the check itself writes (the
        progress file, the SQLite database its verdict goes into) as they are now: waiting from
        it ignores those writes but not a revision or model saved while the check ran."""
        ours = {progress_path(self.workspace), self.database}
        now = self.stamp()
        since = {path: now[path] if path in ours else before.get(path) for path in now}
        return since | {path: stamp for path, stamp in before.items() if path not in now}

    def wait(self, since: Stamp, interval: float, deadline: float | None) -> Stamp | None:
        """Poll until what is watched differs from `since`; None once `deadline` has passed."""
        while True:
            now = self.stamp()
            if now != since:
                return now
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(interval)
