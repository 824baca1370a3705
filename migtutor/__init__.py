"""migtutor: learn database migrations with Alembic."""

__version__ = "0.1.0"
