"""Settings read from the environment and .env, as the course's pydantic BaseSettings reads them.

Written with the standard library only: the names match the course's `Settings` fields.
"""

import os
from dataclasses import dataclass, fields
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


@dataclass
class Settings:
    database_hostname: str = "localhost"
    database_port: str = "5432"
    database_password: str = ""
    database_name: str = "fastapi"
    database_username: str = "postgres"


def _dotenv(path: Path) -> dict[str, str]:
    values = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.strip().startswith("#"):
                values[key.strip().lower()] = value.strip().strip("'\"")
    return values


def load() -> Settings:
    values = _dotenv(ENV_FILE)
    values.update({key.lower(): value for key, value in os.environ.items()})
    return Settings(**{f.name: values[f.name] for f in fields(Settings) if f.name in values})


settings = load()
