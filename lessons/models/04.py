"""The blog API's models: what the application believes the database looks
like.

The course changes this file as its app grows; each revision you write brings
the database to match it. Alembic's autogenerate compares these classes
(through Base.metadata) with the live database: `migtutor check` lists what
differs.
"""

from sqlalchemy import (
    TIMESTAMP,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    func,
)
from sqlalchemy.orm import declarative_base, relationship

# Predictable constraint names, so a generated downgrade can drop them by name.
# Alembic applies the same convention to the unnamed constraints of the
# revisions' own operations, through env.py's target_metadata, so a revision
# and autogenerate agree on every name.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        # A CHECK constraint must be given a name; the convention prefixes it.
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)
Base = declarative_base(metadata=metadata)


class Post(Base):
    __tablename__ = "posts"

    id = Column(Integer, primary_key=True)
    title = Column(String, nullable=False)
    content = Column(String, nullable=False)
    owner_id = Column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )

    # A Python-side link between objects, not a database object: autogenerate
    # ignores it.
    owner = relationship("User")


class User(Base):
    __tablename__ = "users"

    id = Column(Integer, primary_key=True)
    email = Column(String, nullable=False, unique=True)
    password = Column(String, nullable=False)
    created_at = Column(
        TIMESTAMP(timezone=True), nullable=False, server_default=func.now()
    )
