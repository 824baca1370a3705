"""Handing out access to class databases: one `.env` per student, and a new password for one.

`write_env_files(directory, accounts)` writes `<student>.env` with the course's settings
(DATABASE_HOSTNAME, DATABASE_PORT, DATABASE_USERNAME, DATABASE_PASSWORD, DATABASE_NAME), mode
0600 in a directory only the instructor can enter: a student drops the file into their
workspace as `.env`. `new_password(database, prefix, student, host)` gives one recorded student
a new password (the database and everything in it stay) and returns the account, whose URL
carries the password once.

This module prints nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from migtutor.classroom import (
    Account,
    Server,
    check_host,
    check_name,
    check_prefix,
    database_name,
)
from migtutor.classroom import new_password as generate_password
from migtutor.errors import MigtutorError
from migtutor.pg_sessions import scram_verifier

if TYPE_CHECKING:
    from migtutor.settings import DatabaseSettings

DEFAULT_PORT = "5432"


def env_text(url: str) -> str:
    """The DATABASE_* lines for a student's URL (its password included)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    values = {
        "DATABASE_HOSTNAME": parsed.host or "",
        "DATABASE_PORT": str(parsed.port or DEFAULT_PORT),
        "DATABASE_USERNAME": parsed.username or "",
        "DATABASE_PASSWORD": parsed.password or "",
        "DATABASE_NAME": parsed.database or "",
    }
    header = "# migtutor class database: keep this file private; it is your workspace's .env\n"
    return header + "".join(f"{key}={value}\n" for key, value in values.items())


def check_env_dir(directory: Path) -> None:
    """Refuse early a directory the .env files could not be written to."""
    import tempfile

    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise MigtutorError(
            f"The directory {directory} cannot hold the students' .env files "
            f"({exc.strerror or exc}). Nothing was created; choose a directory you can write to."
        ) from None


def write_env_files(directory: Path, accounts: list[Account]) -> list[Path]:
    """`<student>.env` (mode 0600) for each account that got a password now."""
    from migtutor.atomic import write_atomic

    written = []
    for account in accounts:
        if not account.url:
            continue
        path = directory / f"{account.student}.env"
        try:
            write_atomic(path, env_text(account.url), mode=0o600)
        except OSError as exc:
            raise MigtutorError(
                f"Cannot write {path}: {exc.strerror}. The accounts exist; `class password "
                f"{account.student}` issues a new password to write again."
            ) from exc
        written.append(path)
    os.chmod(directory, 0o700)
    return written


def new_password(
    database: DatabaseSettings, prefix: str, student: str, host: str | None = None
) -> Account:
    """A new password for one student of the class; nothing else changes."""
    prefix = check_prefix(prefix)
    student = check_name(student)
    with Server(database) as server:
        server.require(create_roles=True)
        server.public_host = check_host(host) if host else None
        if student not in server.members(prefix):
            raise MigtutorError(
                f"{student!r} is not a student of the class {prefix!r}: no password was "
                "changed. `class status` lists the class."
            )
        name = database_name(prefix, student)
        account = Account(student, name, password=generate_password(), status="new password")
        server.run(
            f"ALTER ROLE {server.q(name)} PASSWORD :verifier",
            f"set the password of {name}",
            verifier=scram_verifier(server.connection, account.password or "", name),
        )
        account.url = server.student_url(name, account.password or "")
    return account
