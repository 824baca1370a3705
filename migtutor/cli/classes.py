"""`migtutor class ...`: a class of students on one PostgreSQL server (create, status, reset,
drop). The work happens in classroom.py; this module parses and renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from migtutor import render
from migtutor.cli.context import JsonOption, confirm_or_refuse
from migtutor.cli.context import state as _state
from migtutor.cli.instructor import TargetOption
from migtutor.cli.progress_bar import class_progress
from migtutor.errors import MigtutorError
from migtutor.urls import require_local

if TYPE_CHECKING:
    from migtutor.reset import Target


class_app = typer.Typer(
    help="Class databases on a PostgreSQL server: one database and login role per student.",
    no_args_is_help=True,
)

PrefixOption = Annotated[
    str,
    typer.Option("--prefix", help="Names are PREFIX_STUDENT (databases and roles)."),
]
RosterArgument = Annotated[
    Path,
    typer.Argument(help="A text file with one student name per line.", show_default=False),
]


EnvDirOption = Annotated[
    Path | None,
    typer.Option("--env-dir", help="Write STUDENT.env per student here (mode 0600)."),
]
HostOption = Annotated[
    str | None,
    typer.Option("--host", help="The address students reach the server at (in their URLs)."),
]
CredentialsOption = Annotated[
    Path | None,
    typer.Option("--credentials", help="Write each student's URL here (mode 0600)."),
]


@class_app.command("create")
def class_create(
    ctx: typer.Context,
    roster: RosterArgument,
    prefix: PrefixOption = "class",
    credentials: CredentialsOption = None,
    to: TargetOption = "base",
    json_output: JsonOption = False,
    env_dir: EnvDirOption = None,
    host: HostOption = None,
) -> None:
    """Create a database and a login role per student, granted only on their own database.

    Each password is generated here and shown once (or written to --credentials FILE, or as
    one .env per student into --env-dir DIR, readable by you only); the server stores only a
    SCRAM verifier of it.
    """
    from migtutor import class_access, classroom
    from migtutor import reset as resetting

    st = _state(ctx)
    students = classroom.read_roster(roster)
    prefix = classroom.check_prefix(prefix)
    target = resetting.parse_target(to)
    if host is not None:
        classroom.check_host(host)
    _check_outlets(st.json, credentials, env_dir, "Nothing was created.")

    def hand_out(accounts: list[Any]) -> None:
        if credentials is not None:
            classroom.write_credentials(credentials, accounts)
        if env_dir is not None:
            class_access.write_env_files(env_dir, accounts)

    try:
        with class_progress(len(students), "Creating", json=st.json) as on_done:
            result = classroom.create_class(st.database, students, prefix, target, host, on_done)
    except classroom.CreateFailed as failed:
        # Students finished before the failure keep their passwords: hand them out.
        hand_out(failed.done.accounts)
        if credentials is None and env_dir is None and not st.json:
            _show_created(failed.done, target, None, None)
        raise
    hand_out(result.accounts)
    if st.json:
        render.emit_json(
            {
                "prefix": prefix,
                "target": target.spec,
                "credentials": str(credentials),
                "env_dir": str(env_dir) if env_dir is not None else None,
                "students": [a.to_json() for a in result.accounts],
                "warnings": result.warnings,
            }
        )
        return
    _show_created(result, target, credentials, env_dir)


def _check_outlets(
    json: bool, credentials: Path | None, env_dir: Path | None, nothing: str
) -> None:
    """Refuse, before anything changes, a run whose passwords would have nowhere to go."""
    from migtutor import class_access, classroom

    if json and credentials is None and env_dir is None:
        raise MigtutorError(
            "With --json, give --credentials FILE or --env-dir DIR: passwords are never put "
            f"into JSON output. {nothing}"
        )
    if credentials is not None:
        classroom.check_writable(credentials)
    if env_dir is not None:
        class_access.check_env_dir(env_dir)


def _show_created(
    result: Any, target: Target, credentials: Path | None, env_dir: Path | None
) -> None:
    for warning in result.warnings:
        render.warning(warning)
    for account in result.accounts:
        if account.status == "exists":
            render.line(f"{account.student}: {account.name} exists already, left as it is.")
        elif account.status == "database re-created":
            render.line(f"{account.student}: the database {account.name} was missing: re-created.")
    issued = [a for a in result.accounts if a.url]
    if not issued:
        return
    render.markup(
        f"[green]Set up {len(issued)} student account(s)[/] at "
        f"{render.escape(target.label)}, each with its own login role and database:"
    )
    if credentials is not None or env_dir is not None:
        for account in issued:
            render.line(f"  {account.student:<20} database and role {account.name}")
        if credentials is not None:
            render.line(f"Their connection URLs, with passwords, are in {credentials} (mode 0600).")
        if env_dir is not None:
            render.line(
                f"Each student's .env is {env_dir}/STUDENT.env (mode 0600): it goes into their "
                "workspace as .env."
            )
        return
    render.note("Each student's DATABASE_URL, with a password shown only this once:")
    for account in issued:
        render.line(f"  {account.student:<20} {account.url}")


@class_app.command("password")
def class_password(
    ctx: typer.Context,
    student: Annotated[str, typer.Argument(help="The student's name.", show_default=False)],
    prefix: PrefixOption = "class",
    credentials: CredentialsOption = None,
    env_dir: EnvDirOption = None,
    host: HostOption = None,
    json_output: JsonOption = False,
) -> None:
    """Issue a new password for one student; the database and everything in it stay.

    The old password stops working at once. The new one is shown once (or written to
    --credentials FILE or --env-dir DIR).
    """
    from migtutor import class_access, classroom

    st = _state(ctx)
    _check_outlets(st.json, credentials, env_dir, "No password was changed.")
    account = class_access.new_password(st.database, prefix, student, host)
    if credentials is not None:
        classroom.write_credentials(credentials, [account])
    if env_dir is not None:
        class_access.write_env_files(env_dir, [account])
    if st.json:
        render.emit_json(account.to_json())
        return
    render.markup(f"[green]New password for {render.escape(account.student)}[/] ({account.name}).")
    if credentials is None and env_dir is None:
        render.note("Their DATABASE_URL, with the password shown only this once:")
        render.line(f"  {account.url}")
    if credentials is not None:
        render.line(f"Their URL, with the password, was added to {credentials} (mode 0600).")
    if env_dir is not None:
        render.line(f"Their .env is {env_dir}/{account.student}.env (mode 0600).")


@class_app.command("reset")
def class_reset(
    ctx: typer.Context,
    to: TargetOption = "base",
    prefix: PrefixOption = "class",
    seed: Annotated[bool, typer.Option("--seed", help="Insert the sample data set.")] = False,
    all_objects: Annotated[
        bool,
        typer.Option(
            "--all", help="Remove every table, view, sequence and type, not only the course's."
        ),
    ] = False,
    students: Annotated[
        list[str] | None,
        typer.Option("--student", help="Reset only this student (repeat for several)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a server that is not on this machine.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Reset the students' databases to TARGET, eight at a time, each in one transaction.

    Students still connected to their database are disconnected first. The tables stay owned
    by each student's role.
    """
    from migtutor import classroom
    from migtutor import reset as resetting

    st = _state(ctx)
    target = resetting.parse_target(to)
    database = st.database
    require_local(database.url, allow_remote, "Resetting a class re-creates its databases")
    names = classroom.list_class(database, prefix, students)
    if not yes:
        if not st.json and names:
            render.line(
                f"Reset {len(names)} database(s) to {target.label}: {', '.join(names)}. "
                + _what_goes(all_objects)
            )
        confirm_or_refuse(
            "Reset the class?",
            yes,
            f"Class reset would re-create {len(names)} database(s) of the class {prefix!r}.",
        )
    with class_progress(len(names), "Resetting", json=st.json) as on_done:
        result = classroom.reset_class(
            database,
            prefix,
            target,
            seed=seed,
            all_objects=all_objects,
            students=students,
            on_done=on_done,
        )
    if st.json:
        render.emit_json(result.to_json())
        return
    render.markup(
        f"[green]Reset {len(result.databases)} database(s)[/] to "
        f"{render.escape(target.label)} in {result.seconds:.2f} s."
    )
    render.note("Students: run `migtutor sync` in your workspace to match your files to it.")
    if result.missing:
        render.warning(
            f"The database of {', '.join(result.missing)} is gone (a student may drop what "
            "they own): `class create ROSTER` re-creates it."
        )


@class_app.command("status")
def class_status(
    ctx: typer.Context,
    prefix: PrefixOption = "class",
    problems: Annotated[
        bool,
        typer.Option(
            "--problems",
            help="Only the rows that need attention (changed by hand, missing, unreachable).",
        ),
    ] = False,
    sort: Annotated[
        str,
        typer.Option("--sort", help="student, lesson, state, progress or checked."),
    ] = "student",
    csv_out: Annotated[
        bool, typer.Option("--csv", help="Comma-separated rows with a header line.")
    ] = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Refresh the table in place until Ctrl-C.")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=1.0, help="Seconds between refreshes (--watch).")
    ] = 5.0,
    json_output: JsonOption = False,
) -> None:
    """The dashboard: each student's revision, lesson, state, differences and progress.

    Every database is compared, whole, with the reference state of its lesson (types,
    nullability, defaults, keys, ON DELETE, indexes, views, sequences, other schemas).
    """
    from migtutor import class_status as reading

    st = _state(ctx)
    if csv_out and st.json:
        raise MigtutorError("Choose one of --csv and --json.")
    if watch:
        _watch(st.database, prefix, sort, problems, interval, json=st.json or csv_out)
        return
    result = reading.class_status(st.database, prefix)
    rows = reading.sort_rows(result.students, sort.strip().lower())
    if problems:
        rows = [row for row in rows if row.needs_attention]
    if st.json:
        render.emit_json([row.to_json() for row in rows])
        return
    if csv_out:
        _emit_csv(rows)
        return
    for warning in result.warnings:
        render.warning(warning)
    if not result.students:
        render.line(f"No class {prefix!r} on this server.")
        return
    if rows:
        render.console().print(status_table(rows))
        render.note(LEGEND)
    render.line(_summary_line(result.summary(), shown=len(rows) if problems else None))


def _watch(
    database: Any, prefix: str, sort: str, problems: bool, interval: float, *, json: bool
) -> None:
    """The table, read again every `interval` seconds and redrawn in place, until Ctrl-C."""
    import sys
    import time

    from rich.console import Console, Group
    from rich.live import Live
    from rich.text import Text

    from migtutor import class_status as reading

    if json or not sys.stdout.isatty():
        raise MigtutorError(
            "--watch redraws the table in place, so it needs a terminal and cannot go with "
            "--json or --csv. Run `class status` without --watch from a script instead."
        )
    console = Console(highlight=False)
    with (
        reading.StatusReader(database, prefix) as reader,  # its helpers serve every refresh
        Live(console=console, auto_refresh=False, screen=False) as live,
    ):
        try:
            while True:
                result = reader.read()
                rows = reading.sort_rows(result.students, sort.strip().lower())
                if problems:
                    rows = [row for row in rows if row.needs_attention]
                summary = _summary_line(result.summary(), shown=len(rows) if problems else None)
                stamp = time.strftime("%H:%M:%S")
                footer = Text(f"{summary}\nRead at {stamp}; every {interval:g} s. Ctrl-C stops.")
                live.update(Group(status_table(rows), footer), refresh=True)
                time.sleep(interval)
        except KeyboardInterrupt:
            return
        except MigtutorError as exc:
            if exc.exit_code != 130:  # Ctrl-C while reading stops the watch as well
                raise


def _what_goes(all_objects: bool) -> str:
    from migtutor.course import course_tables

    if all_objects:
        return (
            "Goes: every table (with its rows), view, sequence and type in the public schema. "
            "Stays: other schemas, and each student's recorded lesson progress."
        )
    return (
        f"Goes: the course's tables ({', '.join(course_tables())}) with their rows, sequences "
        "and types, and alembic_version. Stays: every other table, view and schema (--all "
        "removes them too), and each student's recorded lesson progress."
    )


def _summary_line(summary: dict[str, Any], shown: int | None) -> str:
    lessons = ", ".join(
        f"lesson {_lesson_text(int(n))}: {count}" for n, count in sorted(summary["lessons"].items())
    )
    states = summary["states"]
    text = (
        f"{summary['students']} student(s). {lessons or 'no lesson known'}. "
        f"Own work {states['own revisions']}, changed by hand {states['changed by hand']}, "
        f"missing {states['missing']}, unreachable {states['unreachable']}."
    )
    if shown is not None:
        text += f" {shown} need(s) attention."
    return text


def _progress_text(row: Any) -> tuple[str, str]:
    progress = row.progress
    if progress is None:
        return "-", "-"
    return f"{_lesson_text(progress.lesson)}.{progress.step}", progress.last_check or "-"


def _emit_csv(rows: list[Any]) -> None:
    import csv
    import sys

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(
        ["student", "database", "revision", "lesson", "state", "progress", "last_check",
         "tables", "detail"]
    )  # fmt: skip
    for row in rows:
        progress, checked = _progress_text(row)
        writer.writerow(
            [row.student, row.database, " ".join(row.current), _lesson_text(row.lesson),
             row.state, "" if progress == "-" else progress, "" if checked == "-" else checked,
             " ".join(row.tables), row.detail]
        )  # fmt: skip


def _lesson_text(lesson: int | None) -> str:
    from migtutor.course import lesson_count

    if lesson is None:
        return "?"
    return "done" if lesson > lesson_count() else str(lesson)


LEGEND = (
    "lesson: the lesson whose start the schema matches (done: the course is done); "
    "progress: lesson.step the student's migtutor recorded."
)


def status_table(rows: list[Any]) -> Any:
    from rich.table import Table

    table = Table(show_edge=True, header_style="bold")
    for heading in ("student", "revision", "lesson"):
        table.add_column(heading)
    table.add_column("state", no_wrap=True)  # a wrapped state is hard to scan down a class
    for heading in ("progress", "last check", "tables", "differences"):
        table.add_column(heading)
    styles = {"reference": "green", "own revisions": "cyan"}
    for row in rows:
        style = styles.get(row.state, "yellow")
        progress, checked = _progress_text(row)
        detail = "\n".join(row.differences) if row.differences else row.detail
        if row.differences and row.detail.startswith("nearest"):
            detail = row.detail.split(": ", 2)[0] + ":\n" + detail
        table.add_row(
            render.escape(row.student),
            render.escape(", ".join(row.current) or "<base>"),
            _lesson_text(row.lesson),
            f"[{style}]{render.escape(row.state)}[/]",
            render.escape(progress),
            render.escape(checked),
            render.escape(", ".join(row.tables) or "-"),
            render.escape(detail),
        )
    return table


@class_app.command("drop")
def class_drop(
    ctx: typer.Context,
    roster: RosterArgument,
    prefix: PrefixOption = "class",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a server that is not on this machine.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Drop the roster's databases and roles."""
    from migtutor import classroom

    st = _state(ctx)
    students = classroom.read_roster(roster)
    prefix = classroom.check_prefix(prefix)
    database = st.database
    require_local(database.url, allow_remote, "Dropping a class removes its databases and roles")
    names = [classroom.database_name(prefix, s) for s in students]
    if not yes and not st.json:
        render.line(f"Drop the databases and roles {', '.join(names)} with everything in them.")
    confirm_or_refuse(
        "Drop them?", yes, f"Class drop would remove {len(names)} database(s) and role(s)."
    )
    with class_progress(len(students), "Dropping", json=st.json) as on_done:
        result = classroom.drop_class(database, students, prefix, on_done)
    if st.json:
        render.emit_json({"dropped": result.dropped, "not_in_class": result.strangers})
        return
    dropped = result.dropped
    render.line(f"Dropped {len(dropped)} database(s) and role(s): {', '.join(dropped) or '-'}.")
    if result.strangers:
        render.warning(
            f"{', '.join(result.strangers)}: not students of the class {prefix!r}, left alone."
        )


def register(app: typer.Typer) -> None:
    app.add_typer(class_app, name="class")
