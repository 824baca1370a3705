"""Typer's start-up costs, avoided: Pydantic for plain options, building unused commands.

The one module that touches Typer's internals: `prime()` (called by the app's group) gives
plain options a converter without Pydantic, and `LeanTyper` (at the end), run as a program,
builds the Click command of the one command that runs rather than of all of them. Both fall
back to Typer's own way whenever those internals are not the expected ones, and
`MIGTUTOR_PLAIN_TYPER=1` turns them off (CI runs the suite that way too, so the fallback is
tested). bench/README.md has the measurements.

Typer 0.29 converts every parameter value it processes (even a `None` default, e.g. of the
`--help` option) through a Pydantic `TypeAdapter`, built on first use. Importing Pydantic and
building the adapters costs about 100 ms per command, a third of Alembic's whole start-up, for
values that are already `str`, `bool` or a path. `prime(command)` gives each parameter of a
plain type a converter that does the same thing directly, and falls back to Typer's own
(Pydantic) coercion for any other type or value. On a Typer without this machinery it does
nothing.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any, get_args, get_origin

import typer

try:  # Typer internals: present in Typer 0.29; absent before, and may move later.
    from typer._coercion import RuntimeParam, build_runtime_param, resolve_type_descriptor
    from typer._param_types import coerce_cli_path
except ImportError:  # pragma: no cover - depends on the installed Typer
    RuntimeParam = None  # type: ignore[assignment,misc]


def plain_typer() -> bool:
    """True when Typer runs as it comes: no lean start-up (MIGTUTOR_PLAIN_TYPER=1)."""
    return os.environ.get("MIGTUTOR_PLAIN_TYPER") == "1"


def prime(command: Any, ctx: Any) -> None:
    """Give `command`'s parameters, and those of its subcommands, Pydantic-free coercion.

    `ctx` is the root context: it creates (and each command caches) the `--help` options, which
    Typer would otherwise also convert through Pydantic. Any surprise in Typer's internals
    leaves the parameters to Typer's own conversion.
    """
    if RuntimeParam is None or plain_typer():
        return  # pragma: no cover
    try:
        _prime(command, ctx)
    except Exception:  # a reshaped internal: Typer's own (slower) conversion still works
        return


def _prime(command: Any, ctx: Any) -> None:
    params = list(getattr(command, "params", ()))
    help_option = command.get_help_option(ctx) if hasattr(command, "get_help_option") else None
    for param in [*params, help_option]:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", True) is not None:
            continue
        param._runtime_param = _PlainParam(
            parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
        )
    for sub in (getattr(command, "commands", None) or {}).values():
        _prime(sub, ctx)


if RuntimeParam is not None:

    class _PlainParam(RuntimeParam):  # a frozen dataclass, like its base
        """str, bool, int, float, Path and lists of them, as Typer's adapters would convert them.

        `None` (an option not given) never reaches `_coerce_value`: the base class returns it.
        """

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            annotation = self.annotation
            if get_origin(annotation) is list and isinstance(value, (list, tuple)):
                item = get_args(annotation)[0]
                return [self._one(item, v, param, ctx) for v in value]
            return self._one(annotation, value, param, ctx)

        def _one(self, annotation: Any, value: Any, param: Any, ctx: Any) -> Any:
            info = self.parameter_info
            if info.parser is not None:
                pass
            elif annotation is str and isinstance(value, str):
                return value
            elif annotation is bool and isinstance(value, bool):
                return value
            elif annotation is int and info.min is None and info.max is None:
                if type(value) is int:
                    return value
                if isinstance(value, str) and value.isascii() and value.isdigit():
                    return int(value)
            elif annotation is float and type(value) is float and _within(value, info):
                return value  # a default such as `class status --interval`'s
            elif annotation is Path and info.path_type is None and isinstance(value, (str, Path)):
                # Typer's own checks (exists, file_okay, resolve_path ...) for a Path value.
                return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
            # Anything else ("yes" for a bool from an environment variable ...): Typer's way.
            descriptor = resolve_type_descriptor(annotation, self.parameter_info)
            return build_runtime_param(descriptor)._coerce_value(value, param=param, ctx=ctx)

    def _within(value: float, info: Any) -> bool:
        """Inside the option's bounds, which Typer checks inclusively (a value outside, or nan,
        gets Typer's own error)."""
        low = info.min is None or value >= info.min
        high = info.max is None or value <= info.max
        return low and high

# -- building only the command that runs -------------------------------------------------------


class LeanTyper(typer.Typer):
    """A Typer app that, run as a program, builds only the Click command its arguments name.

    Typer turns every registered command into a Click command (reading each function's
    signature and evaluating its annotations) before it parses the arguments: for migtutor's
    commands that is about 20 ms of every start, 5-7% of a plain `alembic heads`, spent on
    commands that will not run. When the arguments name one registered command or group, a copy
    of the app holding only that one runs; `--help`, no arguments, a name that is no command
    (Typer suggests a near one from the full list), shell completion, or anything unclear run
    the whole app, so listings and errors are exactly Typer's. The app itself never changes,
    and `typer.testing.CliRunner` always builds the whole of it.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        argv = kwargs.get("args", args[0] if args else None)
        argv = sys.argv[1:] if argv is None else list(argv)
        return typer.Typer.__call__(only_invoked(self, argv), *args, **kwargs)


def only_invoked(app: typer.Typer, argv: list[str]) -> typer.Typer:
    """A copy of `app` holding only the command (or group) `argv` runs; `app` when unsure."""
    if plain_typer() or _completing() or app.registered_callback is None:
        return app  # without a callback, one command left would change the app's shape
    try:
        name = _command_name(app, argv)
        if name is None:
            return app
        commands = [c for c in app.registered_commands if _name_of(c) == name]
        groups = [g for g in app.registered_groups if g.name == name]
    except Exception:  # Typer's internals moved: build everything, as Typer does
        return app
    if len(commands) + len(groups) != 1:
        return app  # no such command (Typer suggests one from the whole list), or ambiguous
    lean = copy.copy(app)
    lean.registered_commands, lean.registered_groups = commands, groups
    return lean


def _completing() -> bool:
    """Shell completion (Click's `_PROG_COMPLETE` variable) lists every command."""
    return any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ)


def _name_of(command: Any) -> str | None:
    from typer.main import get_command_name

    if command.name:
        return command.name
    return get_command_name(command.callback.__name__) if command.callback else None


def _command_name(app: typer.Typer, argv: list[str]) -> str | None:
    """The first argument that is neither an option of the app's callback nor an option's
    value: the command Click will run. None for `--help`, `--` or no command."""
    from typer.models import OptionInfo
    from typer.utils import get_params_from_function

    callback = app.registered_callback.callback if app.registered_callback else None
    takes_value: set[str] = set()
    for name, param in (get_params_from_function(callback) if callback else {}).items():
        info = param.default
        if isinstance(info, OptionInfo) and param.annotation is not bool:
            takes_value.update(info.param_decls or ("--" + name.replace("_", "-"),))
    index = 0
    while index < len(argv):
        token = argv[index]
        if token in ("--help", "--"):
            return None
        if token in takes_value:
            index += 2
        elif token.startswith("-"):
            index += 1
        else:
            return token
    return None
