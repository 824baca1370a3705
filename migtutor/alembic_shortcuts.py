"""Alembic's revision files, loaded once per command.

The one module that touches an Alembic internal. Each `alembic.command` function starts with
`ScriptDirectory.from_config(config)`, a fresh object that imports every revision file again;
Alembic offers no public way to hand a command the ScriptDirectory the caller already has. The
Migrator has loaded (and checked) the files, and for a chain of 1,000 revisions a second load
costs about 0.3 s, so `sharing(script)` lets the commands its block runs use that object.

It relies on `alembic.command` looking the class up in its own module namespace (true from
Alembic 1.16 to 1.20). While any block is open, that name is a subclass whose `from_config`
returns the script of the calling thread's block (class commands run in threads), or loads as
usual. When the name is absent the block simply loads the files twice, and
`MIGTUTOR_PLAIN_ALEMBIC=1` turns the shortcut off (CI runs the suite that way too, so the
plain path is tested).

One caller needs the shared object for what it does, not for speed: `redo REV` of an edited
revision runs the downgrade() that was applied by setting it on the loaded module, which a
command loading the files anew would not see. It opens `needed()` around its move, and checks
`available()` first so that a release without the name gets a clear refusal.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

_in_thread = threading.local()  # the innermost block's script, per thread
_installed: dict[str, Any] = {"count": 0, "original": None}
_installing = threading.Lock()
_needed = threading.local()  # set while a caller depends on the shared object, per thread


def plain_alembic() -> bool:
    """True when Alembic runs as it comes: every command loads the files itself."""
    return os.environ.get("MIGTUTOR_PLAIN_ALEMBIC") == "1"


def available() -> bool:
    """True when this Alembic release lets commands be handed an already-loaded script."""
    from alembic import command

    return hasattr(getattr(command, "ScriptDirectory", None), "from_config")


@contextlib.contextmanager
def needed() -> Iterator[None]:
    """Within the block, `sharing` shares even under MIGTUTOR_PLAIN_ALEMBIC=1: the caller has
    changed the loaded revision modules and the commands must run those."""
    outer = getattr(_needed, "on", False)
    _needed.on = True
    try:
        yield
    finally:
        _needed.on = outer


@contextlib.contextmanager
def sharing(script: ScriptDirectory) -> Iterator[None]:
    """Within the block, `alembic.command` functions use `script` instead of loading anew."""
    from alembic import command

    if (plain_alembic() and not getattr(_needed, "on", False)) or not available():
        yield
        return
    outer = getattr(_in_thread, "script", None)
    _in_thread.script = script
    _install(command)
    try:
        yield
    finally:
        _in_thread.script = outer
        _uninstall(command)


def _install(command: Any) -> None:
    with _installing:
        if _installed["count"] == 0:
            original = command.ScriptDirectory

            class Shared(original):  # type: ignore[misc,valid-type]
                @classmethod
                def from_config(cls, config: Any) -> Any:
                    script = getattr(_in_thread, "script", None)
                    return script if script is not None else original.from_config(config)

            _installed["original"] = original
            command.ScriptDirectory = Shared
        _installed["count"] += 1


def _uninstall(command: Any) -> None:
    with _installing:
        _installed["count"] -= 1
        if _installed["count"] == 0:
            command.ScriptDirectory = _installed["original"]
