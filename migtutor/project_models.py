"""Finds a project's SQLAlchemy metadata by reading its source with `ast`, never importing it.

`migtutor init` in an existing project wires env.py to the project's own `Base`: one made by
`declarative_base()` or a subclass of `DeclarativeBase`, in `app/*.py` or `app/*/*.py`. The
course keeps `Base` in app/database.py and the model classes in app/models.py, which imports
it; env.py must import the module that defines the models (importing only Base leaves the
metadata empty), so that is the module `find_metadata` names. `--metadata app.models:Base`
names it by hand (`named_metadata`).

Nothing here prints or imports the project: importing it could connect to a database.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from migtutor.errors import MigtutorError

SPEC = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):([A-Za-z_]\w*)$")


@dataclass
class FoundMetadata:
    module: str  # the module env.py imports the base from ("app.models")
    name: str  # the base's name there ("Base")
    path: Path
    defined_in: str  # the module whose source makes the base
    models: list[str] = field(default_factory=list)  # model class names, in the order found
    also_import: list[str] = field(default_factory=list)  # other modules holding models

    @property
    def spec(self) -> str:
        return f"{self.module}:{self.name}"

    def import_lines(self) -> str:
        lines = [f"from {self.module} import {self.name}"]
        lines += [
            f"import {module}  # noqa: F401  (defines models too)" for module in self.also_import
        ]
        return "\n".join(lines)


@dataclass
class _Module:
    name: str
    path: Path
    tree: ast.Module
    bases_defined: set[str] = field(default_factory=set)
    imported: dict[str, tuple[str, str]] = field(default_factory=dict)  # local -> (module, name)


def _source_files(project: Path) -> list[Path]:
    app = project / "app"
    files = sorted(app.glob("*.py")) + sorted(app.glob("*/*.py"))
    first = app / "models.py"
    return sorted(files, key=lambda path: path != first)


def _module_name(project: Path, path: Path) -> str:
    parts = list(path.relative_to(project).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


def _absolute(module: _Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name.split(".")
    if module.path.name != "__init__.py":
        package = package[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def _read(project: Path, path: Path) -> _Module | None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    module = _Module(_module_name(project, path), path, tree)
    for node in tree.body:
        if isinstance(node, ast.Assign) and _dotted(node.value) == "declarative_base":
            module.bases_defined |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ClassDef) and any(
            _dotted(base) == "DeclarativeBase" for base in node.bases
        ):
            module.bases_defined.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:
                module.imported[alias.asname or alias.name] = (source, alias.name)
    return module


def _models(module: _Module, base_names: set[str]) -> list[str]:
    return [
        node.name
        for node in module.tree.body
        if isinstance(node, ast.ClassDef)
        and any(_dotted(base) in base_names for base in node.bases)
    ]


def _local_bases(module: _Module, defined: dict[str, set[str]]) -> set[str]:
    """The names in `module` bound to a base some module defines."""
    local = set(module.bases_defined)
    for name, (source, original) in module.imported.items():
        if original in defined.get(source, set()):
            local.add(name)
    return local


def find_metadata(project: Path) -> FoundMetadata | None:
    """The project's Base and the module that defines its models; None if there is none."""
    modules = [m for m in (_read(project, path) for path in _source_files(project)) if m]
    defined = {m.name: m.bases_defined for m in modules if m.bases_defined}
    if not defined:
        return None
    holders = []  # (module, local base name, models)
    for module in modules:
        local = _local_bases(module, defined)
        models = _models(module, local)
        if local and models:
            name = sorted(local)[0] if "Base" not in local else "Base"
            holders.append((module, name, models))
    if not holders:
        module = next(m for m in modules if m.bases_defined)
        name = "Base" if "Base" in module.bases_defined else sorted(module.bases_defined)[0]
        return FoundMetadata(module.name, name, module.path, module.name)
    holders.sort(key=lambda held: -len(held[2]))  # stable: app/models.py first among equals
    module, name, models = holders[0]
    source, original = module.imported.get(name, (module.name, name))
    defined_in = source if original in defined.get(source, set()) else module.name
    return FoundMetadata(
        module.name,
        name,
        module.path,
        defined_in,
        [model for _, _, found in holders for model in found],
        [other.name for other, _, _ in holders[1:]],
    )


def named_metadata(project: Path, spec: str) -> FoundMetadata:
    """`--metadata app.models:Base`: checked against the source, not imported."""
    match = SPEC.match(spec.strip())
    if not match:
        raise MigtutorError(
            f"--metadata {spec!r} is not MODULE:NAME. Name the module that defines your models "
            "and the base class they inherit from, for example --metadata app.models:Base."
        )
    module_name, name = match.groups()
    relative = Path(*module_name.split("."))
    for path in (project / relative.with_suffix(".py"), project / relative / "__init__.py"):
        if path.is_file():
            break
    else:
        raise MigtutorError(
            f"--metadata {spec}: there is no {relative}.py (nor {relative}/__init__.py) in "
            f"{project}. Give the module as you would import it from the project's folder, "
            "for example --metadata app.models:Base."
        )
    module = _read(project, path)
    bound = set() if module is None else _bound_names(module.tree)
    if name not in bound:
        raise MigtutorError(
            f"--metadata {spec}: {path} does not define or import {name!r}. Name the base "
            "class your models inherit from (the result of declarative_base() or a "
            "DeclarativeBase subclass)."
        )
    found = find_metadata(project)
    models = found.models if found else []
    return FoundMetadata(module_name, name, path, module_name, models)


def _bound_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names
