"""The Alembic operations, returning plain data.

Every function here works from Alembic's objects (`ScriptDirectory`, `MigrationContext`,
`alembic.command` with a programmatic Config) and never parses Alembic's printed text.
A `Migrator` opens at most one database connection, lazily, and shares it with env.py through
`config.attributes["connection"]`. While it migrates (`locked()`), waits for locks other
sessions hold are reported through `on_lock_wait` and bounded (see `migtutor.locks`).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migtutor.alembic_config import build_config, find_ini
from migtutor.alembic_shortcuts import sharing
from migtutor.errors import Interrupted, MigtutorError, storage_problem
from migtutor.failure_advice import advice
from migtutor.urls import describe

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import Script, ScriptDirectory
    from sqlalchemy.engine import Connection, Engine

    from migtutor.applied import Drift
    from migtutor.locks import LockWait
    from migtutor.settings import DatabaseSettings

MESSAGE_LIMIT = 500  # characters of a message kept in data and JSON: a first line, not a book
TITLE_WIDTH = 72  # characters of a message shown in a line of output
REV_ID_CHARACTERS = re.compile(r"[A-Za-z0-9_]+")
REV_ID_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,32}$")  # a new id: also fits alembic_version


def headline(text: str, width: int = MESSAGE_LIMIT) -> str:
    """The first line of `text`, cut to `width` characters (ending in "…" when cut)."""
    line = text.lstrip().partition("\n")[0].rstrip()
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


@dataclass
class Revision:
    revision: str
    down_revisions: list[str]
    message: str
    path: str
    is_head: bool = False
    is_current: bool = False
    is_branch_point: bool = False
    is_merge_point: bool = False
    branch_labels: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    doc: str = ""

    @property
    def down_revision(self) -> str | None:
        return ", ".join(self.down_revisions) or None

    @property
    def title(self) -> str:
        """The message as a line of output shows it."""
        return headline(self.message, TITLE_WIDTH)


@dataclass
class Step:
    """One revision applied (or unapplied, or stamped) in the database."""

    from_revisions: list[str]
    to_revisions: list[str]
    revision: str
    message: str
    is_upgrade: bool
    is_stamp: bool = False

    @property
    def title(self) -> str:
        """The message as a line of output shows it."""
        return headline(self.message, TITLE_WIDTH)


@dataclass
class Outcome:
    steps: list[Step]
    current: list[str]
    before: list[str]


class MigrationFailed(MigtutorError):
    """A revision raised while running; the database stays at `current`."""

    def __init__(self, message: str, revision: str | None, current: list[str]) -> None:
        super().__init__(message)
        self.revision = revision
        self.current = current


class Migrator:
    """Alembic operations on one workspace's scripts against one database."""

    def __init__(
        self,
        workspace: Path,
        database: DatabaseSettings,
        ini: Path | None = None,
        on_lock_wait: Callable[[LockWait], None] | None = None,
        throwaway: bool = False,
    ):
        self.workspace = workspace
        self.database = database
        self.ini = ini or find_ini(workspace)
        self.on_lock_wait = on_lock_wait
        # A copy only this process knows (the check's scratch schema or file): nothing asks
        # it what each revision looked like when applied, and no other session migrates it,
        # so it keeps no migtutor_applied and takes no migration lock (which is one per
        # database: the learner's own commands would wait for the check, and it for them).
        self.throwaway = throwaway
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._script: ScriptDirectory | None = None
        self._lock_depth = 0
        self._applied_table: bool | None = None  # migtutor_applied exists (None: not looked yet)

    # -- resources ---------------------------------------------------------------------------

    def __enter__(self) -> Migrator:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        try:
            if isinstance(exc, KeyboardInterrupt) and self._connection is not None:
                # Ctrl-C outside a move (a rehearsal, a preview): still say where the database is.
                raise self._interrupted(None, exc) from None
        finally:
            self.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            from migtutor.database import create_engine

            self._engine = create_engine(self.database.url)
            self._connection = self._engine.connect()
        return self._connection

    def config(self, *, with_connection: bool = True, **attributes: Any) -> Config:
        if with_connection:  # a command will run: explain a broken revision chain first
            self.script  # noqa: B018
        return build_config(
            self.workspace,
            self.database.url,
            connection=self.connection if with_connection else None,
            attributes=attributes,
            ini=self.ini,
        )

    @property
    def script(self) -> ScriptDirectory:
        if self._script is None:
            from alembic.script import ScriptDirectory

            script = ScriptDirectory.from_config(self.config(with_connection=False))
            with _scripts_loading(self):
                _check_revision_map(script)
            self._script = script
        return self._script

    # -- reading -----------------------------------------------------------------------------

    def current_heads(self) -> list[str]:
        """The revisions recorded in the database's alembic_version table."""
        from alembic.runtime.migration import MigrationContext

        from migtutor.locks import reading

        connection = self.connection
        with reading(connection):
            heads = MigrationContext.configure(connection).get_current_heads()
            connection.rollback()  # end the autobegun read so Alembic can run its own ones
        return sorted(heads)

    def head_ids(self) -> list[str]:
        with _scripts_loading(self):
            return sorted(self.script.get_heads())

    def revisions(
        self, rev_range: str | None = None, current: list[str] | None = None
    ) -> list[Revision]:
        """Revisions newest first, optionally limited to `rev_range` ("base:head", "-3:current")."""
        base, head = "base", "heads"
        if rev_range:
            if ":" not in rev_range:
                raise MigtutorError(
                    f"A revision range looks like START:END (for example base:head, -3:current "
                    f"or ae10:), not {rev_range!r}."
                )
            start, end = rev_range.split(":", 1)
            base, head = start or "base", end or "heads"
            if "current" in (base, head):
                current = self.current_heads() if current is None else current
                resolved = current[0] if current else "base"
                base = resolved if base == "current" else base
                head = resolved if head == "current" else head
        current_set = set(current or [])
        with _scripts_loading(self):
            scripts = list(self.script.walk_revisions(base, head))
        return [to_revision(script, current_set) for script in scripts]

    def get(self, rev: str, current: list[str] | None = None) -> Revision:
        with _scripts_loading(self):
            script = self.script.get_revision(rev)
        if script is None:
            raise MigtutorError(f"{rev!r} names no revision here. See `migtutor history`.")
        return to_revision(script, set(current or []))

    def branch_points(self) -> list[Revision]:
        return [rev for rev in self.revisions() if rev.is_branch_point]

    # -- writing scripts ---------------------------------------------------------------------

    def revision(
        self,
        message: str,
        *,
        autogenerate: bool = False,
        rev_id: str | None = None,
        head: str = "head",
        splice: bool = False,
        branch_label: str | None = None,
        depends_on: str | None = None,
    ) -> Revision:
        from alembic import command

        if not message.strip():
            raise MigtutorError('A revision needs a message: -m "what this revision changes".')
        self._check_new_rev_id(rev_id)
        config = self.config(with_connection=autogenerate)
        config.cmd_opts.autogenerate = autogenerate
        if autogenerate:
            self.current_heads()  # fail early with a clear error if the database is unreachable
        with (
            _scripts_loading(self),
            _removing_partial_files(self.script),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            script = command.revision(
                config,
                message=message,
                autogenerate=autogenerate,
                rev_id=rev_id,
                head=head,
                splice=splice,
                branch_label=branch_label,
                depends_on=depends_on,
            )
        if autogenerate:
            self.connection.commit()
        assert script is not None and not isinstance(script, list)
        self._script = None
        return self.get(script.revision)

    def merge(self, revisions: list[str], message: str, rev_id: str | None = None) -> Revision:
        from alembic import command

        self._check_new_rev_id(rev_id)
        with (
            _scripts_loading(self),
            _removing_partial_files(self.script),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            script = command.merge(
                self.config(with_connection=False), revisions, message=message, rev_id=rev_id
            )
        assert script is not None
        self._script = None
        return self.get(script.revision)

    def _check_new_rev_id(self, rev_id: str | None) -> None:
        """Refuse an id that cannot name a file and module, or that a revision already has
        (Alembic would write a second file with it and break the chain)."""
        if rev_id is not None and not REV_ID_PATTERN.match(rev_id):
            raise MigtutorError(
                f"--rev-id {rev_id!r} cannot be a revision id: use 1 to 32 letters, digits or "
                "underscores, so the id works as a file name and a Python identifier."
            )
        with _scripts_loading(self):  # also explains a broken revision chain first
            taken = {s.revision: s.path for s in self.script.walk_revisions()}
        if rev_id in taken:
            raise MigtutorError(
                f"--rev-id {rev_id!r} is already the id of {Path(taken[rev_id]).name}. Every "
                "revision needs its own id: choose another, or leave --rev-id out."
            )

    # -- changing the database ---------------------------------------------------------------

    def upgrade(self, target: str = "head") -> Outcome:
        with self.locked():  # the current revision read once, under the lock, serves both
            current = self._refuse_backwards(target)
            return self._move_locked("upgrade", target, before=current)

    def _refuse_backwards(self, target: str) -> list[str]:
        """`upgrade` to a revision below the current one would silently do nothing: say so.
        Returns the current revisions."""
        self._check_writable()
        self.script  # noqa: B018  (explain a broken revision chain before Alembic warns)
        current = self.current_heads()
        if not current or target in ("head", "heads") or target.startswith("+"):
            return current
        try:
            with _scripts_loading(self):
                wanted = {s.revision for s in self.script.get_revisions(target) if s is not None}
                below: set[str] = set()
                for rev in current:
                    below.update(s.revision for s in self.script.walk_revisions("base", rev))
        except Exception:
            return current  # a relative or unknown target: Alembic judges it and explains
        if target != "base" and not wanted:
            return current
        if wanted <= below - set(current):
            where = ", ".join(current)
            raise MigtutorError(
                f"{target} is below the current revision ({where}): `upgrade` only moves "
                f"forward, so nothing was changed. To go back to it, run "
                f"`migtutor downgrade {target}`."
            )
        return current

    def downgrade(self, target: str) -> Outcome:
        self._check_writable()
        self.script  # noqa: B018  (explain a broken revision chain before Alembic warns)
        return self._move("downgrade", target)

    def stamp(self, target: str, purge: bool = False) -> Outcome:
        self._check_writable()
        self.script  # noqa: B018  (explain a broken revision chain before Alembic warns)
        return self._move("stamp", target, purge=purge)

    def _check_writable(self) -> None:
        """An SQLite file on a read-only disk or directory fails only at its first write, which
        would look like a broken revision: say what is wrong before running anything."""
        url = self.database.url
        if not url.startswith("sqlite:///"):
            return
        path = Path(url[len("sqlite:///") :].split("?", 1)[0])
        if not path.exists():
            return  # connecting will create it, or explain why it cannot
        if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
            raise MigtutorError(
                f"Cannot write to the SQLite database {path}: the file or its directory is "
                "read-only, so no migration can be recorded and nothing was changed. Make them "
                "writable, or choose another database with -d."
            )

    @contextlib.contextmanager
    def locked(self, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold migtutor's PostgreSQL advisory lock; re-entrant.

        Two processes migrating one database take turns: the second waits (calling `on_wait`
        once) and, when it gets the lock, reads the current revision afresh, so it never
        applies a revision twice. After MIGTUTOR_LOCK_TIMEOUT seconds (default 60) it gives up
        with a clear error, having changed nothing. Meanwhile waits for table locks (and, on
        SQLite, for the write lock, taken at the start of every transaction) are reported
        through `on_lock_wait` and bounded by the same timeout.
        """
        from migtutor.locks import watch

        if self.throwaway:
            yield
            return
        with watch(self.connection, self.on_lock_wait), _advisory_lock(self, on_wait):
            yield

    def _move(self, verb: str, target: str, **options: Any) -> Outcome:
        with self.locked():
            return self._move_locked(verb, target, **options)

    def _move_locked(
        self, verb: str, target: str, before: list[str] | None = None, **options: Any
    ) -> Outcome:
        """`before`: the current revisions, when just read under the lock."""
        from alembic import command

        from migtutor.locks import LockTimeout  # imported only by commands that move

        before = self.current_heads() if before is None else before
        self._applied_table = None  # looked at once per move, by the first revision it runs
        steps: list[Step] = []

        def record(*, ctx: Any, step: Any, heads: Any, **_: Any) -> None:
            revision = step.up_revision_id or ""
            script = self.script.get_revision(revision) if revision else None
            self._remember(ctx, step, script, heads)
            steps.append(
                Step(
                    from_revisions=list(step.source_revision_ids),
                    to_revisions=list(step.destination_revision_ids),
                    revision=revision,
                    message=headline(script.doc if script else ""),
                    is_upgrade=step.is_upgrade,
                    is_stamp=step.is_stamp,
                )
            )

        config = self.config(on_version_apply=record)
        try:
            with _scripts_loading(self), sharing(self.script), self._sigterm_as_ctrl_c():
                getattr(command, verb)(config, target, **options)
            self.connection.commit()
        except KeyboardInterrupt as exc:
            raise self._interrupted(verb, exc) from None
        except LockTimeout as exc:
            self.connection.rollback()
            current = self.current_heads()
            if current == before:
                raise
            where = ", ".join(current) or "base (no revision applied)"
            raise LockTimeout(
                exc.wait,
                "the revision that waited was rolled back, but the ones before it were applied: "
                f"the database is now at {where}",
            ) from None
        except MigtutorError:
            raise
        except (Exception, SystemExit) as exc:  # a revision that calls sys.exit() fails too
            self.connection.rollback()
            failed = self._failed_revision(exc)
            storage = storage_problem(exc, describe(self.database.url))
            if failed is None and storage is None and not isinstance(exc, SystemExit):
                raise
            current = self.current_heads()
            message = self._failure(verb, exc, failed, storage, current)
            raise MigrationFailed(message, revision=failed, current=current) from exc
        return Outcome(steps=steps, current=self.current_heads(), before=before)

    def _remember(self, ctx: Any, step: Any, script: Script | None, heads: Any) -> None:
        """Keep migtutor_applied in step with alembic_version, in the same transaction."""
        from migtutor import applied

        if self.throwaway or ctx.as_sql or ctx.connection is None:
            return
        if step.is_stamp:
            applied.keep_only(ctx.connection, self._applied_ids(sorted(heads)))
        elif step.is_upgrade:
            if script is not None:
                self._applied_table = applied.record(
                    ctx.connection, script.revision, script.path, self._applied_table
                )
        else:
            self._applied_table = applied.forget(
                ctx.connection, step.up_revision_ids, self._applied_table
            )

    def empty_pending(self, target: str, current: list[str] | None = None) -> list[Revision]:
        """The revisions `upgrade target` would apply whose upgrade() does nothing (`current`:
        the current revisions, when already read)."""
        from migtutor.applied import upgrade_is_empty

        try:
            with _scripts_loading(self):
                wanted = [s.revision for s in self.script.get_revisions(target) if s is not None]
                current = self.current_heads() if current is None else current
                pending = self._applied_ids(wanted) - self._applied_ids(current)
        except Exception:  # noqa: BLE001  (a relative target: Alembic resolves it while moving)
            return []
        found = []
        for revision in sorted(pending):
            script = self.script.get_revision(revision)
            try:
                source = Path(script.path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if upgrade_is_empty(source) and not script.is_merge_point:
                found.append(to_revision(script, set()))
        return found

    def _applied_ids(self, heads: list[str]) -> set[str]:
        """The revisions a database at `heads` has applied: the heads and all below them."""
        ids: set[str] = set()
        for head in heads:
            ids.update(s.revision for s in self.script.walk_revisions("base", head))
        return ids

    def applied_drift(self, current: list[str] | None = None) -> list[Drift]:
        """Applied revisions whose file changed since they were applied (migtutor.applied)."""
        from migtutor import applied
        from migtutor.locks import reading

        current = self.current_heads() if current is None else current
        if not current:
            return []
        connection = self.connection
        with reading(connection):
            rows = applied.read(connection)
            connection.rollback()
        if not rows:
            return []
        try:
            ids = self._applied_ids(current)
        except Exception:  # noqa: BLE001  (a revision no file defines: doctor explains that)
            return []
        with _scripts_loading(self):
            scripts = [s for s in self.script.walk_revisions() if s.revision in ids]
        return applied.compare(
            rows, [(s.revision, headline(s.doc or "", TITLE_WIDTH), s.path) for s in scripts]
        )

    def _failure(
        self,
        verb: str,
        exc: BaseException,
        failed: str | None,
        storage: str | None,
        current: list[str],
    ) -> str:
        """Why a move failed: the database (read-only, disk full) or the code that ran."""
        where = ", ".join(current) or "base (no revision applied)"
        if storage is not None:
            undone = f"Revision {failed}" if failed else "The running transaction"
            return f"{storage} {undone} was rolled back; the database is at {where}."
        if failed:
            culprit, file = f"Revision {failed}", "the revision file"
        else:  # sys.exit() in env.py or in code it calls
            frames = _workspace_frames(self, exc)
            culprit = file = Path(frames[-1].filename).name if frames else "migrations/env.py"
        error = _first_line(exc).rstrip(".")  # some messages end in a period of their own
        return (
            f"{culprit} failed while running {verb}: {error}. Its changes were rolled back; the "
            f"database is now at {where}. {advice(error, file)}"
        )

    @contextlib.contextmanager
    def _sigterm_as_ctrl_c(self) -> Iterator[None]:
        """While revisions run, `kill PID` (SIGTERM) stops them as Ctrl-C does: the running
        statement is cancelled and its transaction rolled back, rather than the process dying
        while its PostgreSQL statement runs on, holding locks, on the server."""
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def terminate(_signum: int, _frame: Any) -> None:
            self._terminated = True
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, terminate)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _interrupted(self, verb: str | None, exc: BaseException) -> Interrupted:
        """Ctrl-C: the running revision's transaction is rolled back; say where the database is."""
        revision = self._failed_revision(exc)
        during = f" during {verb}" if verb else ""
        if self._script is None:
            during = " while the revision files were loading"
        terminated = getattr(self, "_terminated", False)
        try:
            self.connection.rollback()
            current = self.current_heads()
        except Exception:  # the interrupt broke the connection: ask on a new one
            self.close()
            current = self.current_heads()
        where = ", ".join(current) or "base (no revision applied)"
        running = f"revision {revision}" if revision else "the running transaction"
        return Interrupted(
            f"{'Stopped (SIGTERM)' if terminated else 'Interrupted (Ctrl-C)'}{during}: {running} "
            f"was rolled back and nothing of it was saved. The database is at {where}. Run the "
            "command again to continue.",
            current=current,
            exit_code=143 if terminated else 130,
        )

    def _failed_revision(self, exc: BaseException) -> str | None:
        """The revision whose upgrade()/downgrade() raised, found in the traceback, or None."""
        if self._script is None:
            # Interrupted while the files were loading: loading them again to look would run
            # their top-level code (a slow import, say) a second time.
            return None
        frames = [Path(f.filename).resolve() for f in traceback.extract_tb(exc.__traceback__)]
        # One pass over the revisions (not one per frame): linear in their number.
        by_path = {Path(s.path).resolve(): s for s in self.script.walk_revisions()}
        for path in reversed(frames):
            script = by_path.get(path)
            if script is not None:
                title = headline(script.doc, TITLE_WIDTH)
                return f"{script.revision} ({title})" if title else script.revision
        return None

    def offline_sql(self, verb: str, target: str) -> str:
        """The SQL `verb` would run, from Alembic's offline (--sql) mode."""
        from alembic import command

        if verb == "downgrade" and ":" not in target:
            target = f"head:{target}"
        buffer = io.StringIO()
        config = build_config(self.workspace, self.database.url, output_buffer=buffer, ini=self.ini)
        config.cmd_opts.sql = True
        with _scripts_loading(self):
            getattr(command, verb)(config, target, sql=True)
        return buffer.getvalue()

    def check(self) -> list[str]:
        """Differences between the models (target_metadata) and the database; [] when none.

        What `alembic check` compares, read with `compare_metadata` inside env.py's own context
        (its compare_type, include_object ...): the exception `alembic check` raises carries the
        differences as data only from Alembic 1.15 on.
        """
        from alembic.autogenerate import compare_metadata
        from alembic.runtime.environment import EnvironmentContext
        from alembic.util import CommandError

        self.current_heads()
        config = self.config()
        config.cmd_opts.autogenerate = True
        script = self.script
        diffs: list[Any] = []

        def compare(heads: Any, context: Any) -> list[Any]:  # the checks `alembic check` makes
            if set(script.get_revisions(heads)) != set(script.get_revisions("heads")):
                raise CommandError("Target database is not up to date.")
            metadata = context.opts.get("target_metadata")
            if metadata is None:
                raise CommandError(
                    "Can't proceed with --autogenerate option; environment script "
                    f"{script.env_py_location} does not provide a MetaData object or sequence "
                    "of objects to the context."
                )
            diffs.extend(compare_metadata(context, metadata))
            return []

        try:
            with _scripts_loading(self), EnvironmentContext(config, script, fn=compare):
                script.run_env()
        finally:
            self.connection.rollback()
        return [describe_diff(diff) for diff in diffs if not _is_applied_record(diff)]


LOCK_KEY = 0x6D6967747574  # "migtut": one advisory lock per database for every migtutor


@contextlib.contextmanager
def _advisory_lock(migrator: Migrator, on_wait: Callable[[], None] | None) -> Iterator[None]:
    connection = migrator.connection
    if connection.dialect.name != "postgresql" or migrator._lock_depth:
        migrator._lock_depth += 1
        try:
            yield
        finally:
            migrator._lock_depth -= 1
        return
    from sqlalchemy import text

    from migtutor.locks import lock_timeout

    timeout = lock_timeout()
    deadline = time.monotonic() + timeout
    waited = False
    # A session lock outlives transactions; end only a transaction this function started.
    caller_transaction = connection.in_transaction()
    while True:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})
        acquired = bool(got.scalar())
        if not caller_transaction:
            connection.commit()
        if acquired:
            break
        if not waited and on_wait is not None:
            on_wait()
        waited = True
        if time.monotonic() >= deadline:
            raise MigtutorError(
                f"Another migration is running on this database and did not finish within "
                f"{timeout:g} seconds, so nothing was changed. Wait for it to end and run the "
                "command again (MIGTUTOR_LOCK_TIMEOUT=SECONDS waits longer)."
            )
        time.sleep(0.2)
    migrator._lock_depth += 1
    try:
        yield
    finally:
        migrator._lock_depth -= 1
        with contextlib.suppress(Exception):  # closing the connection releases it as well
            ours = not connection.in_transaction()
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            if ours:
                connection.commit()


def _check_revision_map(script: ScriptDirectory) -> None:
    """Link the revision files now, and explain a broken chain instead of Alembic's KeyError,
    cycle error or warnings: a `down_revision` naming no revision, two files with one id, or
    revisions whose down_revisions point at each other."""
    import warnings

    from alembic.script.revision import RevisionError
    from alembic.util.exc import CommandError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            script.revision_map.heads  # noqa: B018  (imports every file and links them)
        except CommandError as exc:
            unnamed = re.search(r"revision id from filename (.+?)\. Be sure", str(exc))
            if unnamed is None:
                raise
            raise MigtutorError(
                f"{unnamed[1]} in migrations/versions/ sets no `revision = ...`, so it is not a "
                "revision file (a full disk or a crash while writing leaves such a file, often "
                "empty). Delete it, or finish it, and run the command again."
            ) from None
        except KeyError as exc:
            missing = str(exc.args[0]) if exc.args else "?"
            files = _files_naming(script, ("down_revision", "depends_on"), {missing})
            raise MigtutorError(
                f"{' and '.join(files) or 'A revision file'} names {missing!r} as its "
                "down_revision (or depends_on), but no revision file has that id: that file "
                "was deleted or renamed, or the id is mistyped. Restore the deleted file (from "
                "version control or your editor's history); if the id is mistyped, set it to the "
                "id of the revision it follows (the `revision = ...` line of that file), or to "
                "None for the first revision."
            ) from None
        except RevisionError as exc:
            illegal = re.search(r"not allowed in revision identifier '(.*)'", str(exc))
            if illegal:
                raise _unusable_id(script, illegal[1]) from None
            ids = set(re.findall(r"\w+", str(exc).partition("(")[2]))
            files = _files_naming(script, ("revision",), ids)
            raise MigtutorError(
                f"{_first_line(exc)}: following down_revision from these revisions leads back to "
                f"them ({', '.join(files)}). Each down_revision must name an older revision; fix "
                "down_revision in those files."
            ) from None
    for warning in caught:
        text = str(warning.message)
        duplicate = re.match(r"Revision (\S+) is present more than once", text)
        if duplicate:
            rev = duplicate[1]
            files = _files_naming(script, ("revision",), {rev})
            raise MigtutorError(
                f"Two revision files have the id {rev}: {', '.join(files)}. A copied revision "
                "needs a new id: change `revision` in one of them (and the files that follow it)."
            )
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    for revision in script.walk_revisions():
        if not REV_ID_CHARACTERS.fullmatch(revision.revision):
            raise _unusable_id(script, revision.revision)


def _unusable_id(script: ScriptDirectory, rev: str) -> MigtutorError:
    files = _files_naming(script, ("revision",), {rev})
    return MigtutorError(
        f"{' and '.join(files) or 'A revision file'} has the revision id {rev!r}, which cannot "
        "work: an id may hold only letters, digits and underscores (Alembic reads '-' and '+' "
        "as relative steps, and quotes or brackets break its SQL). Change `revision` there, and "
        "`down_revision` in the file that follows it, to such an id."
    )


def version_folders(script: ScriptDirectory) -> list[Path]:
    """The folders holding the revision files: version_locations, or <scripts>/versions."""
    from alembic.util import coerce_resource_to_filename

    if not script.version_locations:
        return [Path(script.dir, "versions").absolute()]
    return [Path(coerce_resource_to_filename(str(p))).absolute() for p in script.version_locations]


def _revision_files(script: ScriptDirectory) -> list[Path]:
    return [path for directory in version_folders(script) for path in directory.glob("*.py")]


@contextlib.contextmanager
def _removing_partial_files(script: ScriptDirectory) -> Iterator[None]:
    """Alembic writes a new revision file in place: when that fails (a full disk, Ctrl-C), the
    half-written file would break every later command, so it is removed."""
    before = set(_revision_files(script))
    try:
        yield
    except BaseException:
        for path in set(_revision_files(script)) - before:
            path.unlink(missing_ok=True)
        raise


def _files_naming(script: ScriptDirectory, variables: tuple[str, ...], ids: set[str]) -> list[str]:
    """Revision files whose `variables` (revision, down_revision ...) name one of `ids`, found
    by reading the text: the files may be too broken for Alembic to load."""
    assignment = re.compile(rf"^({'|'.join(variables)})\b[^=\n]*=(.*)$", re.MULTILINE)
    found = []
    for path in sorted(_revision_files(script)):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        values = " ".join(match[2] for match in assignment.finditer(text))
        # Words, and whole quoted strings for an id that is not one word ("a-b").
        quoted = (match[2] for match in re.finditer(r"(['\"])(.*?)\1", values))
        named = {*re.findall(r"\w+", values), *quoted}
        if named & ids:
            found.append(path.name)
    return found


def to_revision(script: Script, current: set[str]) -> Revision:
    return Revision(
        revision=script.revision,
        down_revisions=list(_as_list(script.down_revision)),
        message=headline(script.doc or ""),
        path=script.path,
        is_head=script.is_head,
        is_current=script.revision in current,
        is_branch_point=script.is_branch_point,
        is_merge_point=script.is_merge_point,
        branch_labels=sorted(script.branch_labels),
        depends_on=list(_as_list(script.dependencies)),
        doc=script.longdoc or script.doc or "",
    )


def _as_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        code = "" if exc.code is None else repr(exc.code)
        return f"it called sys.exit({code}), which would end migtutor itself"
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def _scripts_loading(migrator: Migrator):
    """Name the file and line when a revision file, env.py or app/models.py fails to import.

    Errors raised while a revision *runs* are left alone: `_move` reports those with the
    revision and where the database now is.
    """
    try:
        yield
    except SyntaxError as exc:
        name = Path(exc.filename or "the file").name
        raise MigtutorError(
            f"{exc.filename}, line {exc.lineno}: {exc.msg}. Fix {name} and run the command again."
        ) from exc
    except MigtutorError:
        raise
    except (Exception, SystemExit) as exc:
        frame = _import_time_frame(migrator, exc)
        if frame is None:
            raise
        what = _first_line(exc) if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}"
        raise MigtutorError(
            f"{frame.filename}, line {frame.lineno}: {what}. This runs "
            f"whenever Alembic loads the workspace: fix {Path(frame.filename).name} and run the "
            "command again."
        ) from exc


def _workspace_frames(migrator: Migrator, exc: BaseException) -> list[Any]:
    """The traceback's frames in the workspace's files (env.py, models, revisions)."""
    workspace = migrator.workspace.resolve()
    return [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if Path(frame.filename).resolve().is_relative_to(workspace)
    ]


def _import_time_frame(migrator: Migrator, exc: BaseException) -> Any:
    """The frame of the workspace file whose top-level code raised `exc`, or None."""
    inside = _workspace_frames(migrator, exc)
    if inside and inside[-1].name == "<module>":
        return inside[-1]
    return None


def _is_applied_record(diff: Any) -> bool:
    """migtutor's own table, which an env.py older than its include_name filter still sees."""
    from migtutor.applied import APPLIED_TABLE

    return (
        isinstance(diff, tuple)
        and diff[0] == "remove_table"
        and getattr(diff[1], "name", None) == APPLIED_TABLE
    )


def describe_diff(diff: Any) -> str:
    """One autogenerate difference in words, e.g. "add table votes"."""
    if isinstance(diff, list):
        return "; ".join(describe_diff(item) for item in diff)
    kind = diff[0]
    subject = diff[1] if len(diff) > 1 else None
    if kind in ("add_table", "remove_table"):
        return f"{kind.replace('_', ' ')} {subject.name}"
    if kind in ("add_column", "remove_column"):
        return f"{kind.replace('_', ' ')} {diff[2]}.{diff[3].name}"
    if kind.startswith("modify_"):
        return f"{kind.replace('_', ' ')} {diff[2]}.{diff[3]}: {diff[-2]!r} -> {diff[-1]!r}"
    if kind in (
        "add_fk",
        "remove_fk",
        "add_constraint",
        "remove_constraint",
        "add_index",
        "remove_index",
    ):
        table = getattr(getattr(subject, "table", None), "name", "?")
        columns = (
            ", ".join(getattr(subject, "columns", {}).keys()) if hasattr(subject, "columns") else ""
        )
        return f"{kind.replace('_', ' ')} on {table} ({columns})"
    return f"{kind} {subject}"
