"""How Alembic reaches the database when you run a migration.

Alembic runs this file for every command that needs the database: `upgrade`, `downgrade`,
`current`, `revision --autogenerate` ... It is ordinary Python: read it.

- The database URL is not written here (nor in alembic.ini). migtutor puts it into the Config;
  the plain `alembic` command does not, so we ask migtutor's settings for it: both tools then
  talk to the same database.
- `target_metadata` is what `revision --autogenerate` compares the database with. Without it,
  autogenerate has nothing to compare and refuses to run.
"""

from logging.config import fileConfig
from pathlib import Path

from alembic import context

# Importing the models module registers every model class on Base.metadata.
from migtutor.models import Base

config = context.config
target_metadata = Base.metadata

# Alembic's CLI configures logging from alembic.ini; migtutor shows its own output instead.
if config.config_file_name and not config.attributes.get("migtutor"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from migtutor.settings import resolve_database

    workspace = Path(config.config_file_name or ".").resolve().parent
    return resolve_database(workspace).url


# migtutor keeps its own records in tables named migtutor_*: not yours to migrate.
def include_name(name, type_, parent_names) -> bool:
    return not (type_ == "table" and name.startswith("migtutor_"))


def configure(**options) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        include_name=include_name,
        # Commit each revision on its own: a failing revision rolls back alone, and the
        # revisions before it stay applied.
        transaction_per_migration=True,
        on_version_apply=config.attributes.get("on_version_apply"),
        **options,
    )


def run_migrations_offline() -> None:
    """`--sql` mode: write the SQL out instead of running it."""
    url = database_url()
    configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    configure(
        connection=connection,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=sqlite,
        # migtutor's engines let SQLite run DDL inside real transactions.
        transactional_ddl=True if sqlite else None,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    from migtutor.database import create_engine

    engine = create_engine(database_url())
    try:
        with engine.connect() as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
