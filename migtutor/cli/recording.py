"""Which commands the learner ran, for the lesson steps that ask for one (`ran` in a check).

`RecordingContext` is the context a top-level command runs in (`group.MigtutorGroup` chooses
it, through Click's `context_class`). When the command's own function has finished, with any
exit code but not with an error, it hands the command's words to `migtutor.command_log`, which
keeps them in a lesson workspace only. The words are the command's name, its arguments (a
revision target such as `+1` or `head`) and the flags in `RECORDED_FLAGS`; option values
(`-m MESSAGE`, `-d URL`, the global options) are never among them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import typer

# Flags that change what a command shows or does, so a step may ask for them.
RECORDED_FLAGS = ("sql", "explain", "verbose", "graph", "autogenerate", "purge")

V = TypeVar("V")


class RecordingContext(typer.Context):
    """A command's context that notes the command once its function has run."""

    def invoke(self, callback: Callable[..., V], /, *args: Any, **kwargs: Any) -> V:
        if callback is not self.command.callback:  # a callback of one of its options
            return super().invoke(callback, *args, **kwargs)
        try:
            result = super().invoke(callback, *args, **kwargs)
        except typer.Exit:  # the command chose its exit code (a failed check says 1): it ran
            self._note()
            raise
        self._note()
        return result

    def _note(self) -> None:
        try:
            from migtutor.cli.context import state
            from migtutor.command_log import record

            record(state(self).workspace, " ".join(command_words(self)))
        except Exception:  # noqa: BLE001  (the note is for a lesson; the command has run)
            return


def command_words(ctx: typer.Context) -> list[str]:
    """The command's name, its arguments' values and its flags in RECORDED_FLAGS that are on."""
    words = [ctx.info_name or ""]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if param.param_type_name == "argument":
            values = value if isinstance(value, list | tuple) else [value]
            words += [str(v) for v in values if isinstance(v, str | int) and v != ""]
        elif value is True and param.name in RECORDED_FLAGS:
            long_names = [o for o in param.opts if o.startswith("--")]
            words.append(long_names[0] if long_names else f"--{param.name}")
    return words
