"""The commands a learner ran on the lesson step they are on, kept in `.migtutor/commands.json`.

A step that says "Run `migtutor current` and read what it prints" passes only once the learner
has done it: its check asks for `ran = ["current"]` (see `migtutor.checks`), and this module
answers from a small file beside the progress file:

    {"version": 1, "lesson": 1, "step": 3, "commands": ["current", "heads"]}

`lesson` and `step` are the progress file's position when the commands ran (`step` counts from
0, as there). Commands run at another position do not count: when the learner moves on, the
list starts over at the next command. Only a lesson workspace (one with a progress file) keeps
the list, and at most `MAX_COMMANDS` of them, each once, the latest last.

What is kept is what the command line hands over (`migtutor.cli.recording`): a command's words and
the few arguments that change what it shows (`upgrade +1`, `history --verbose`), never an option's
value such as a database URL. `record` leaves out any word outside `SAFE_WORD` besides.

- `record(workspace, command)`: note a command (best effort: a command never fails for it);
- `since_step_began(workspace) -> list[str]`: what ran on the current step;
- `forget(workspace)`: start the list over (the step starts over: `lesson goto`, `lesson reset`);
- `covers(wanted, commands) -> bool`: whether a `ran` entry is among the commands.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

from migtutor.atomic import write_atomic
from migtutor.progress import saved_position

LOG_FILE = Path(".migtutor") / "commands.json"
MAX_COMMANDS = 20
# A command name, a revision target (head, +1, -2, ae1027a6acf, base:head) or a long option.
SAFE_WORD = re.compile(r"^[A-Za-z0-9_+.:-]{1,40}$")


def log_path(workspace: Path) -> Path:
    """The command log of a workspace (it exists once a command ran during a lesson)."""
    return workspace / LOG_FILE


def record(workspace: Path, command: str) -> None:
    """Add `command` to the list of the learner's current step; nothing outside a lesson."""
    words = command.split()
    if not words or not SAFE_WORD.match(words[0]):
        return
    words = [word for word in words if SAFE_WORD.match(word)]  # a path or a URL: left out
    position = saved_position(workspace)
    if position is None:  # not a lesson workspace: nothing is kept
        return
    command = " ".join(words)
    commands = [c for c in _read(workspace, position) if c != command]
    commands = [*commands, command][-MAX_COMMANDS:]
    data = {"version": 1, "lesson": position[0], "step": position[1], "commands": commands}
    # Atomic, so a reader never sees half a list; not waiting for the disk, since every command
    # writes it and a list lost in a crash only asks the learner to run a command again.
    with contextlib.suppress(OSError):  # a read-only workspace: the command itself still ran
        write_atomic(log_path(workspace), json.dumps(data) + "\n", durable=False)


def since_step_began(workspace: Path) -> list[str]:
    """The commands run on the step the progress file is at, oldest first."""
    position = saved_position(workspace)
    return [] if position is None else _read(workspace, position)


def forget(workspace: Path) -> None:
    """Start the list over: the step the learner is on starts again."""
    with contextlib.suppress(OSError):
        log_path(workspace).unlink(missing_ok=True)


def covers(wanted: str, commands: list[str]) -> bool:
    """Whether a command like `wanted` ran: the same command, with at least its arguments
    ("upgrade" is covered by "upgrade +1"; "upgrade +1" is not by "upgrade head")."""
    first, *rest = wanted.split()
    for command in commands:
        words = command.split()
        if words[0] == first and set(rest) <= set(words[1:]):
            return True
    return False


def _read(workspace: Path, position: tuple[int, int]) -> list[str]:
    try:
        data = json.loads(log_path(workspace).read_text(encoding="utf-8"))
        if (data["lesson"], data["step"]) != position:
            return []
        return [str(c) for c in data["commands"] if isinstance(c, str) and c.split()]
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or unreadable: start over
        return []
