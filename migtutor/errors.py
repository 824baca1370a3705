"""One error type for everything a user can get wrong, and translation of library errors into it.

Library exceptions are recognised by class name and module so that this module imports neither
SQLAlchemy nor Alembic: commands that never touch a database stay fast.
"""

from __future__ import annotations

import errno
import re

from migtutor.user_error import MigtutorError


class Interrupted(MigtutorError):
    """Ctrl-C stopped a command; the message says what was rolled back. Exit code 130."""

    def __init__(
        self, message: str, current: list[str] | None = None, exit_code: int = 130
    ) -> None:
        super().__init__(message, exit_code=exit_code)  # 130: Ctrl-C; 143: SIGTERM
        self.current = current


class InterruptedWhileConnecting(KeyboardInterrupt):
    """Ctrl-C before the database server answered a login: nothing ran, and asking it where
    the database is would only wait on it again."""


# errno values meaning "this file cannot be written": EACCES, EPERM, EROFS, ENOSPC, EDQUOT.
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}


# Where a library gives no exception type or attribute that tells two cases apart, its message
# is matched. Every fragment matched is here, with the versions it was seen on; tests/test_errors.py
# makes the libraries raise each one except a refused password (the test server trusts every
# login) and a full disk. A fragment that stops matching leaves the error to the general
# wording, which still shows the library's own message and a next step.
SEEN_ON = {
    "alembic": "Alembic 1.16.0 and 1.20.1",
    "libpq": "psycopg2 2.9 with libpq 16/17 (no SQLSTATE before the session starts)",
    "sqlite": "SQLite 3.40-3.46 through Python 3.11-3.13's sqlite3",
}
MESSAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    # Alembic's CommandError and RevisionError texts
    "multiple_heads": ("alembic", ("Multiple head revisions", "multiple heads")),
    "ambiguous_prefix": ("alembic", ("Multiple revisions start with",)),
    "unknown_revision": ("alembic", ("Can't locate revision", "No such revision")),
    "not_up_to_date": ("alembic", ("Target database is not up to date",)),
    "no_metadata": ("alembic", ("Can't proceed with --autogenerate",)),
    "no_scripts": ("alembic", ("Path doesn't exist",)),
    "not_below": ("alembic", ("is not a valid downgrade target",)),
    "not_ancestor": ("alembic", ("does not refer to ancestor/descendant revisions",)),
    "range_refused": ("alembic", ("Range revision not allowed",)),
    "relative_too_far": ("alembic", ("didn't produce",)),
    # connection refusals, told apart by their text only
    "bad_password": ("libpq", ("password authentication failed", "access denied")),
    "no_connect_right": ("libpq", ("permission denied for database",)),
    "no_database": ("libpq", ("does not exist",)),
    # SQLite, for a driver without sqlite_errorname (older Pythons, other drivers)
    "sqlite_busy": ("sqlite", ("database is locked",)),
    "sqlite_cantopen": ("sqlite", ("unable to open database file",)),
    "sqlite_readonly": ("sqlite", ("readonly database", "read-only file system")),
    "sqlite_full": ("sqlite", ("database or disk is full",)),
}


def says(text: str, kind: str) -> bool:
    """Whether `text` holds one of the fragments MESSAGES lists for `kind` (case-insensitive)."""
    lowered = text.lower()
    return any(fragment.lower() in lowered for fragment in MESSAGES[kind][1])


def _sqlite_error(exc: BaseException) -> str:
    """sqlite3's own name for the error ('SQLITE_BUSY' ...), or '' when the driver has none."""
    return str(getattr(exc, "sqlite_errorname", "") or "")


def _qualified_names(exc: BaseException) -> set[str]:
    return {f"{cls.__module__}.{cls.__name__}" for cls in type(exc).__mro__}


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def translate(exc: BaseException, database: str = "the database") -> MigtutorError | None:
    """Turn a known Alembic / SQLAlchemy / driver error into a MigtutorError, or None."""
    if isinstance(exc, MigtutorError):
        return exc
    names = _qualified_names(exc)
    text = str(exc)
    if names & {"alembic.util.exc.CommandError", "alembic.script.revision.RevisionError"}:
        return _explain_command_error(exc)
    problem = storage_problem(exc, database)
    if problem is not None:
        return MigtutorError(problem)
    if "sqlalchemy.exc.OperationalError" in names or "sqlalchemy.exc.InterfaceError" in names:
        return _explain_connection_error(getattr(exc, "orig", exc), database)
    if "sqlalchemy.exc.NoSuchModuleError" in names:
        return MigtutorError(
            f"Unknown database driver in the URL for {database}: {_first_line(text)}. "
            "Use sqlite:///FILE or postgresql+psycopg2://USER:PASSWORD@HOST:PORT/NAME."
        )
    if "sqlalchemy.exc.ArgumentError" in names:
        return MigtutorError(
            f"The database URL is not valid ({_first_line(text)}). "
            "Expected a form like postgresql+psycopg2://USER:PASSWORD@HOST:5432/NAME or "
            "sqlite:///migtutor.db; check `migtutor config`."
        )
    missing_function = _missing_function(exc)
    if missing_function:
        name, function = missing_function
        return MigtutorError(
            f"The revision file {name}.py has no {function}() function, so it cannot run and "
            "nothing was changed. Every revision needs `def upgrade() -> None:` and "
            "`def downgrade() -> None:` (with `pass` when there is nothing to do)."
        )
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        what = f" while writing {exc.filename}" if exc.filename else ""
        return MigtutorError(
            f"No space left on device{what}: the disk (or your quota) is full, so nothing was "
            "written. Free some space and run the command again."
        )
    if isinstance(exc, OSError) and exc.errno in _NOT_WRITABLE and exc.filename:
        return MigtutorError(
            f"Cannot write {exc.filename}: {exc.strerror}. Nothing was written there; make the "
            "workspace directory writable (or work in a copy of it) and run the command again."
        )
    if isinstance(exc, ModuleNotFoundError) and exc.name in {"psycopg", "psycopg2", "pymysql"}:
        return MigtutorError(
            f"The database driver '{exc.name}' is not installed. migtutor uses psycopg2 for "
            "PostgreSQL: write URLs as postgresql+psycopg2://... (SQLAlchemy 2.1 reads a bare "
            "postgresql:// as psycopg 3)."
        )
    return None


def _missing_function(exc: BaseException) -> tuple[str, str] | None:
    """(file stem, 'upgrade' or 'downgrade') when a revision module lacks that function."""
    if not isinstance(exc, AttributeError) or exc.name not in ("upgrade", "downgrade"):
        return None
    module_file = getattr(getattr(exc, "obj", None), "__file__", None)
    if module_file:
        return re.sub(r"\.py$", "", module_file.rsplit("/", 1)[-1]), exc.name
    named = re.fullmatch(r"module '(.+)_py' has no attribute '(?:upgrade|downgrade)'", str(exc))
    return (named[1], exc.name) if named else None


def storage_problem(exc: BaseException, database: str = "the database") -> str | None:
    """What to say when the database cannot store anything (it is read-only, or its disk is
    full), or None. Such errors surface in whatever statement writes first, often a revision's:
    they are not the revision's fault, and "fix the revision" would mislead."""
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "pgcode", None)
    sqlite = _sqlite_error(orig)
    text = str(orig)
    if code == "25006":  # read_only_sql_transaction
        return (
            f"Cannot write to {database}: it is read-only (its sessions run read-only "
            "transactions: default_transaction_read_only is on, or the server is a standby), so "
            "no migration can be recorded. Connect to a writable server, or have the database's "
            "owner run ALTER DATABASE <name> SET default_transaction_read_only = off."
        )
    if sqlite.startswith("SQLITE_READONLY") or says(text, "sqlite_readonly"):
        return (
            f"Cannot write to {database}: it is read-only (the URL opens it with mode=ro, or its "
            "file or directory cannot be written), so no migration can be recorded. Make them "
            "writable (or drop mode=ro from the URL), or choose another database with -d."
        )
    if code == "53100" or sqlite == "SQLITE_FULL" or says(text, "sqlite_full"):  # disk_full
        return (
            f"Cannot write to {database}: no space left on device (the disk holding it, or a "
            "quota, is full). Free some space there and run the command again."
        )
    return None


def _explain_command_error(exc: BaseException) -> MigtutorError:
    """Alembic's refusals: by the revision error's type where the command kept it as the
    cause, else by the fragments in MESSAGES; anything else is shown as Alembic words it."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    kinds = {cls.__name__ for cls in type(cause).__mro__} if _from_alembic(cause) else set()
    text = str(exc)
    if "ResolutionError" in kinds and says(str(cause), "ambiguous_prefix"):
        text = str(cause)  # Alembic words an ambiguous prefix as "Can't locate": say which ids
    if "MultipleHeads" in kinds or says(text, "multiple_heads"):
        return MigtutorError(
            f"{_first_line(text).rstrip('.')}. The revision chain has forked into several "
            "heads. Give a "
            "revision explicitly (see `migtutor heads`), upgrade to `heads`, or join them with "
            '`migtutor merge heads -m "merge"`, which writes a revision whose down_revision '
            "names both heads."
        )
    if says(text, "ambiguous_prefix"):
        return MigtutorError(f"{_first_line(text)} Type more characters of the revision id.")
    if "ResolutionError" in kinds or says(text, "unknown_revision"):
        if _names_reference_revision(text):
            return MigtutorError(
                f"{_first_line(text)}: the database is at a revision of the course that your "
                "files do not define, because it was reset (by `class reset`, or `reset` "
                "elsewhere). Run `migtutor sync` to bring your workspace in step with it (your "
                "own files move to .migtutor/backup/; the database is not touched)."
            )
        return MigtutorError(
            f"{_first_line(text)}. If you typed that id, check it with `migtutor history` (a "
            "unique prefix is enough). If the database is at it, its revision file was deleted "
            "or renamed: restore the file (from version control or your editor's history); if "
            "it is gone for good, point the database at a revision you have, once its tables "
            "match that one, with `migtutor stamp --purge REV`."
        )
    if says(text, "not_up_to_date"):
        return MigtutorError(
            "The database is not at the head revision, so autogenerate cannot compare it with "
            "the models. Run `migtutor upgrade head` first, then try again."
        )
    if says(text, "no_metadata"):
        return MigtutorError(
            "Autogenerate needs to know your models: env.py has no target_metadata. In "
            "migrations/env.py, import Base from app.models and set "
            "`target_metadata = Base.metadata`."
        )
    if says(text, "no_scripts"):
        return MigtutorError(
            f"{_first_line(text)}. This directory is not a complete migtutor workspace; run "
            "`migtutor init` to lay it out."
        )
    if says(text, "not_below"):
        return MigtutorError(
            f"{_first_line(text)}: it is not below the revision the database is at (see "
            "`migtutor current`). `downgrade` only goes back, so nothing was changed; to go "
            "forward, use `migtutor upgrade`."
        )
    if says(text, "not_ancestor"):
        return MigtutorError(
            f"{_first_line(text)}. Write a range oldest first, START:END (for example "
            "base:head or -3:current), with both ends on the same branch."
        )
    if says(text, "range_refused"):
        return MigtutorError(
            "A range START:END works only with --sql (to print the SQL between two "
            "revisions). To move the database, give one target: `migtutor upgrade END`."
        )
    if says(text, "relative_too_far"):
        return MigtutorError(
            f"{_first_line(text)}: there are not that many revisions in that direction, or "
            "the sign points the wrong way. `upgrade +N` goes N revisions forward and "
            "`downgrade -N` N back from the current one (so `downgrade +1` and `upgrade -1` "
            "ask for nothing); `migtutor history` shows how far each way goes."
        )
    if "Ambiguous walk" in text:
        return MigtutorError(
            "The database is at a merge revision, which follows two revisions, so a relative "
            "step back (`downgrade -1`) cannot tell which way to go. Name where to go "
            "instead: `migtutor downgrade <id>` with one of the merge's down_revision ids (see "
            "`migtutor history`) undoes the merge and leaves both branches applied; a branch's "
            "own revisions then go back one at a time the same way."
        )
    if "copy_from" in text:
        return MigtutorError(
            "On SQLite a batch operation rebuilds the table and needs its definition, which "
            "--sql cannot read from a database it does not connect to. Print the SQL for "
            "PostgreSQL instead (-d postgresql://...), or run the command without --sql; a "
            "revision may also pass the table to op.batch_alter_table(..., copy_from=sa.Table("
            "...))."
        )
    said = _first_line(text) if len(text) > 300 else text.strip()
    return MigtutorError(
        f"Alembic stopped: {said.rstrip('.')}. Nothing was changed by this step; see "
        "`migtutor history` and `migtutor current` for the revisions and where the database is, "
        "and `migtutor doctor` for what may be wrong in the workspace."
    )


def _from_alembic(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("alembic.")


def _explain_connection_error(orig: BaseException, database: str) -> MigtutorError:
    sqlite = _sqlite_error(orig)
    text = _first_line(str(orig))
    text = re.sub(r"password=\S+", "password=***", text)
    lowered = text.lower()
    if says(text, "bad_password"):
        return MigtutorError(
            f"Login to {database} was refused: {text}. Check the user name and password in your "
            "settings (`migtutor config` shows which source is used)."
        )
    if says(text, "no_connect_right"):
        return MigtutorError(
            f"Login to {database} was refused: {text}. This user may not connect to that "
            "database (in a migtutor class each student's user connects to its own database "
            "only): check the database name and user in your URL."
        )
    if says(text, "no_database") and "database" in lowered:
        return MigtutorError(
            f"{database} is reachable but the database does not exist: {text}. Create it "
            "(for example `createdb NAME`) or fix the database name."
        )
    if sqlite == "SQLITE_BUSY" or says(text, "sqlite_busy"):  # the busy timeout ran out
        return MigtutorError(
            f"{database} is locked: another migtutor or program is writing to this database. "
            "End the other program's transaction, or close it, and run the command again."
        )
    if sqlite == "SQLITE_CANTOPEN" or says(text, "sqlite_cantopen"):
        return MigtutorError(
            f"Cannot open the SQLite file for {database}: its directory is missing or not "
            "writable. Check the path in the URL and the directory's permissions."
        )
    if getattr(orig, "pgcode", None) or sqlite == "SQLITE_ERROR":
        # A statement failed on a working connection (PostgreSQL sends no SQLSTATE before a
        # session exists; SQLite says SQLITE_ERROR for SQL it refuses): not a connection problem.
        return MigtutorError(
            f"{database} refused a statement: {text}. Nothing of that statement was saved; run "
            "the command again with --debug to see which statement it was."
        )
    return MigtutorError(
        f"Cannot connect to {database}: {text}. Is the server running and the host and port "
        "right? `migtutor config` shows the URL in use."
    )


def _names_reference_revision(text: str) -> bool:
    from migtutor.course import reference_ids

    return any(f"'{rev}'" in text for rev in reference_ids())
