"""`MigtutorError`, on its own so the modules that find the course's files can raise it
without importing the error translation (which reads the course)."""

from __future__ import annotations


class MigtutorError(Exception):
    """A problem the user can fix: `message` says what is wrong and what to do."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
