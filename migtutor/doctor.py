"""`migtutor doctor`: checks the workspace and the database, and returns findings as data.

``diagnose(workspace, database_option=None) -> list[Finding]``. Each finding has a stable
``code``, a ``level`` ("ok", "info" or "problem"), a ``message`` in plain words and, for a
problem, the ``fix``: the command (or edit) that repairs it. The codes:

- ``no_workspace``: no alembic.ini; ``settings``: the database settings cannot be read;
- ``url_source`` (info): which setting chose the URL (password masked);
- ``env_py_url``: whether env.py keeps that URL or sets its own (a project's own settings), and
  whether both name one database;
- ``env_py_failed``, ``no_target_metadata``, ``models_not_imported``: what autogenerate sees;
- ``database_unreachable``;
- ``unversioned_tables``: tables but no revision recorded (made by ``create_all``);
- ``workspace_behind_reset``: the database is at a course revision the workspace lacks;
- ``unknown_revision``: alembic_version names a revision no script defines;
- ``multiple_heads``; ``behind_head``; ``no_revisions`` (info);
- ``changed_since_applied``: a revision file edited since it was applied (or applied while
  its ``upgrade()`` was empty); the fix is ``migtutor redo REV``;
- ``drift``: the models and the database differ (what ``check`` reports);
- ``empty_downgrade``: a revision whose ``downgrade()`` does nothing.

Nothing here prints; the CLI renders the list. Only stdlib at import time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migtutor.errors import MigtutorError, translate
from migtutor.static_checks import is_empty_function, migration_functions

if TYPE_CHECKING:
    from migtutor.migrate import Migrator


@dataclass
class Finding:
    code: str
    level: str  # "ok" | "info" | "problem"
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _ok(code: str, message: str) -> Finding:
    return Finding(code, "ok", message)


def _problem(code: str, message: str, fix: str) -> Finding:
    return Finding(code, "problem", message, fix)


def healthy(findings: list[Finding]) -> bool:
    return not any(finding.level == "problem" for finding in findings)


def diagnose(workspace: Path, database_option: str | None = None) -> list[Finding]:
    """Every check, in the order a learner would fix them."""
    from migtutor.alembic_config import find_ini
    from migtutor.settings import resolve_database

    findings: list[Finding] = []
    try:
        find_ini(workspace)
    except MigtutorError:
        findings.append(
            _problem(
                "no_workspace",
                f"{workspace} is not a migtutor workspace: it has no alembic.ini.",
                f"migtutor init {workspace}   (or point to one with -w DIR)",
            )
        )
        return findings
    findings.append(_ok("workspace", f"Workspace: {workspace}"))
    try:
        database = resolve_database(workspace, database_option)
    except MigtutorError as exc:
        findings.append(
            _problem("settings", f"The database settings cannot be used: {exc.message}", "")
        )
        return findings
    findings.append(
        Finding(
            "url_source",
            "info",
            f"Database URL {database.masked_url} comes from {database.source}.",
            "",
        )
    )

    from migtutor.migrate import Migrator

    with Migrator(workspace, database) as migrator:
        try:
            metadata_tables = _check_env_py(migrator, findings)
            current = _check_database(migrator, database, findings)
            heads = _check_revisions(migrator, current, findings)
            if current:
                findings += [
                    _problem("changed_since_applied", drift.problem, drift.fix)
                    for drift in migrator.applied_drift(current)
                ]
            if current is not None and heads and metadata_tables:
                _check_drift(migrator, current, heads, findings)
            _check_downgrades(migrator, findings)
        except MigtutorError as exc:  # e.g. a revision file that does not import
            findings.append(_problem("scripts", exc.message, "Fix the file it names."))
    return findings


# -- env.py and the models -----------------------------------------------------------------------


def target_metadata(migrator: Migrator) -> Any:
    """The `target_metadata` env.py hands to Alembic, read in offline mode (no database)."""
    return read_env_py(migrator)["metadata"]


def read_env_py(migrator: Migrator) -> dict[str, Any]:
    """Run env.py offline: its `target_metadata`, and the URL it leaves in the Config."""
    import io

    from alembic.runtime.environment import EnvironmentContext

    from migtutor.alembic_config import build_config
    from migtutor.migrate import _scripts_loading

    config = build_config(
        migrator.workspace, migrator.database.url, output_buffer=io.StringIO(), ini=migrator.ini
    )
    captured: dict[str, Any] = {}

    def read(_heads: Any, context: Any) -> list[Any]:
        captured["metadata"] = context.opts.get("target_metadata")
        return []

    with _scripts_loading(migrator):
        script = migrator.script
        with EnvironmentContext(config, script, fn=read, as_sql=True):
            script.run_env()
    captured.setdefault("metadata", None)
    captured["url"] = config.get_main_option("sqlalchemy.url")
    return captured


def _metadata_origin(migrator: Migrator, metadata: Any) -> str:
    """Which of the workspace's modules holds the base env.py compares ("app.models:Base")."""
    import sys

    workspace = migrator.workspace.resolve()
    found = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or not Path(file).resolve().is_relative_to(workspace):
            continue
        for attribute, value in list(vars(module).items()):
            if getattr(value, "metadata", None) is metadata and isinstance(value, type):
                found.append(f"{name}:{attribute}")
    # the models module imports the base: prefer it to the module that only makes it
    found.sort(key=lambda spec: (not spec.split(":")[0].endswith("models"), spec))
    return found[0] if found else ""


def _same_database(first: str, second: str) -> bool:
    from sqlalchemy.engine import make_url

    try:
        a, b = make_url(first), make_url(second)
    except Exception:
        return first == second
    keys = ("drivername", "host", "port", "database", "username")
    same = all(getattr(a, key) == getattr(b, key) for key in keys)
    return same and (a.password or "") == (b.password or "")


def _check_env_url(migrator: Migrator, env_py: Path, url: str | None, findings: list[Finding]):
    from migtutor.urls import mask_password as mask

    ours = migrator.database
    if not url or url == ours.url:
        findings.append(
            _ok("env_py_url", f"{env_py} uses the URL migtutor gives it ({ours.source}).")
        )
        return
    shown = mask(url)
    if _same_database(url, ours.url):
        findings.append(
            _ok(
                "env_py_url",
                f"{env_py} sets the URL itself ({shown}, from the project's own settings); "
                f"it names the same database as migtutor's URL from {ours.source}.",
            )
        )
        return
    findings.append(
        _problem(
            "env_py_url",
            f"{env_py} sets the URL itself ({shown}), so Alembic migrates that database, while "
            f"migtutor reads {ours.masked_url} (from {ours.source}): the two disagree, and "
            "upgrade/downgrade would change one while migtutor reports on the other.",
            "Make them name one database: set migtutor's settings (.env, DATABASE_URL or -d) "
            "to the project's database, or let env.py keep the URL migtutor puts in the Config "
            "(only set sqlalchemy.url when config.get_main_option('sqlalchemy.url') is empty).",
        )
    )


def _check_env_py(migrator: Migrator, findings: list[Finding]) -> list[str]:
    env_py = Path(migrator.script.dir) / "env.py"
    try:
        env = read_env_py(migrator)
        metadata = env["metadata"]
    except Exception as exc:
        known = translate(exc)
        detail = known.message if known else f"{type(exc).__name__}: {exc}"
        findings.append(
            _problem(
                "env_py_failed",
                f"{env_py} fails before any migration can run: {detail}",
                "Fix the error it names (often the import of your models: `from app.models "
                "import Base` must work from the workspace).",
            )
        )
        return []
    _check_env_url(migrator, env_py, env["url"], findings)
    if metadata is None:
        findings.append(
            _problem(
                "no_target_metadata",
                f"{env_py} sets target_metadata = None, so `revision --autogenerate` has no "
                "models to compare with the database and refuses to run.",
                f"In {env_py}: `from app.models import Base` and `target_metadata = "
                "Base.metadata`.",
            )
        )
        return []
    tables = sorted(getattr(metadata, "tables", {}) or {})
    if not tables:
        findings.append(
            _problem(
                "models_not_imported",
                f"{env_py}'s target_metadata has no tables: the module that defines your model "
                "classes is never imported, so autogenerate would believe every table should be "
                "dropped and write drop_table() for all of them.",
                f"Import the models in {env_py} (`from app.models import Base`, the module where "
                "the classes are defined), not only the Base they inherit from.",
            )
        )
        return []
    origin = _metadata_origin(migrator, metadata)
    where = f" ({origin}.metadata)" if origin else ""
    findings.append(
        _ok(
            "target_metadata",
            f"Autogenerate compares the database with env.py's target_metadata{where}, which "
            f"knows the tables: {', '.join(tables)}.",
        )
    )
    return tables


# -- the database --------------------------------------------------------------------------------


def _check_database(migrator: Migrator, database: Any, findings: list[Finding]) -> list[str] | None:
    name = f"the database at {database.masked_url}"
    try:
        current = migrator.current_heads()
    except Exception as exc:
        known = translate(exc, name)
        if known is None:
            raise
        from migtutor.urls import redact

        findings.append(
            _problem(
                "database_unreachable",
                redact(known.message, database.url),
                "Start the database server or fix the URL (`migtutor config` shows it), then run "
                "`migtutor doctor` again.",
            )
        )
        return None
    findings.append(_ok("database", f"The database answers ({database.masked_url})."))
    return current


def _check_revisions(
    migrator: Migrator, current: list[str] | None, findings: list[Finding]
) -> list[str] | None:
    from migtutor.schema import VERSION_TABLE, snapshot
    from migtutor.sync import lacks_reference

    known = {rev.revision for rev in migrator.revisions()}
    heads = migrator.head_ids()
    if not known:
        findings.append(
            Finding(
                "no_revisions",
                "info",
                "There are no revisions in migrations/versions/ yet: the database stays empty "
                "until you write one (lesson 1 starts there).",
                'migtutor revision -m "create posts table"',
            )
        )
    if len(heads) > 1:
        findings.append(
            _problem(
                "multiple_heads",
                f"The revisions have {len(heads)} heads ({', '.join(heads)}): two revisions "
                "were written on the same parent, so `upgrade head` does not know which one "
                "is newest.",
                'migtutor merge heads -m "merge"   (a revision whose down_revision names both)',
            )
        )
    if current is None:
        return None
    schema = snapshot(migrator.connection, row_counts=False)
    tables = [name for name in schema.table_names if name != VERSION_TABLE]
    unknown = [rev for rev in current if rev not in known]
    if unknown and lacks_reference(migrator.workspace, current):
        findings.append(
            _problem(
                "workspace_behind_reset",
                f"The database is at {unknown[0]}, a revision of the course that your files do "
                "not define: it was reset (by `class reset`, or `reset` elsewhere) while your "
                "workspace kept its own chain.",
                "migtutor sync   (copies the course's revisions in, moves your own files to "
                ".migtutor/backup/, and points the lesson progress at the right lesson; the "
                "database is not touched)",
            )
        )
        return None
    if unknown:
        findings.append(
            _problem(
                "unknown_revision",
                f"The database is at revision {', '.join(unknown)}, which no file in "
                "migrations/versions/ defines; Alembic stops with \"Can't locate revision "
                f"identified by '{unknown[0]}'\". Its file was deleted or renamed, or the "
                "database was migrated from another copy of the project.",
                "Restore the revision file, or, if the tables match a revision you have: "
                "migtutor stamp --purge REV",
            )
        )
        return None
    if not current and tables:
        findings.append(
            _problem(
                "unversioned_tables",
                f"The database has tables ({', '.join(tables)}) but no revision recorded in "
                "alembic_version: they were created outside Alembic (for example by "
                "Base.metadata.create_all), so `upgrade head` would try to create them again.",
                "If they match your newest revision: migtutor stamp head   (records it in "
                "alembic_version without running anything; stamp an older revision if they "
                "match that one).",
            )
        )
        return None
    if heads and set(current) != set(heads):
        where = ", ".join(current) or "<base> (nothing applied)"
        findings.append(
            _problem(
                "behind_head",
                f"The database is at {where}, behind the newest revision "
                f"{', '.join(heads)}: some revisions are not applied yet.",
                "migtutor upgrade head" if len(heads) == 1 else "migtutor upgrade heads",
            )
        )
        return None
    if heads:
        findings.append(_ok("at_head", f"The database is at the head, {', '.join(heads)}."))
    return heads


def lesson_under_way(workspace: Path) -> str | None:
    """'lesson N ("title")' while the workspace's course is unfinished, else None."""
    from migtutor.lessons import load_lessons
    from migtutor.progress import load_progress, progress_path

    if not progress_path(workspace).is_file() and not _course_models(workspace):
        return None  # a project of its own, not a learner's: its drift is ordinary drift
    try:
        lessons = load_lessons()
        progress, _ = load_progress(workspace, lessons)
    except MigtutorError:
        return None
    if len(progress.completed) >= len(lessons) or not 1 <= progress.lesson <= len(lessons):
        return None
    lesson = lessons[progress.lesson - 1]
    return f'lesson {lesson.number} ("{lesson.title}")'


def _course_models(workspace: Path) -> bool:
    """Whether app/models.py holds the models the course starts with: a learner at lesson 1,
    who has no progress file until the first check."""
    from migtutor.course_models import MODELS, course_text

    try:
        return (workspace / MODELS).read_text(encoding="utf-8") == course_text(1)
    except (OSError, UnicodeDecodeError, MigtutorError):
        return False


def _check_drift(
    migrator: Migrator, current: list[str], heads: list[str], findings: list[Finding]
) -> None:
    try:
        differences = migrator.check()
    except Exception as exc:
        known = translate(exc)
        findings.append(
            Finding(
                "drift",
                "info",
                "Could not compare the models with the database: "
                + (known.message if known else f"{type(exc).__name__}: {exc}"),
            )
        )
        return
    if differences:
        message = (
            "The models and the database differ (what `migtutor check` reports): "
            + "; ".join(differences)
            + "."
        )
        lesson = lesson_under_way(migrator.workspace)
        if lesson:
            findings.append(
                _problem(
                    "drift",
                    f"{message} You are in {lesson}: the course writes its revisions one lesson "
                    "at a time, so until it reaches these changes the models are ahead of the "
                    "database. Follow the lesson rather than autogenerate them all at once.",
                    "migtutor lesson show",
                )
            )
            return
        findings.append(
            _problem(
                "drift",
                message,
                'migtutor revision --autogenerate -m "describe the change", review the file, '
                "then migtutor upgrade head",
            )
        )
    else:
        findings.append(_ok("drift", "The database matches the models."))


# -- revision files ------------------------------------------------------------------------------


def _check_downgrades(migrator: Migrator, findings: list[Finding]) -> None:
    empty = []
    for rev in migrator.revisions():
        functions = migration_functions(rev.path)
        downgrade, upgrade = functions.get("downgrade"), functions.get("upgrade")
        if downgrade is None or upgrade is None or is_empty_function(upgrade):
            continue  # a merge revision, or nothing to undo
        if is_empty_function(downgrade):
            empty.append(rev)
    for rev in empty:
        findings.append(
            _problem(
                "empty_downgrade",
                f"Revision {rev.revision} ({rev.title}) has an empty downgrade(): "
                "`migtutor downgrade` past it would record the step as undone and leave its "
                "changes in the database.",
                f"Write the reverse of upgrade() in {rev.path}: undo each operation, in "
                "reverse order (drop_table for create_table, drop_column for add_column).",
            )
        )
    if not empty and migrator.revisions():
        findings.append(_ok("downgrades", "Every revision's downgrade() does something."))
