"""`schema.diff`: the strict comparison (printed after a move, class status) and the loose one
(a revision's round trip in `lesson check`), on hand-made snapshots."""

from __future__ import annotations

from migtutor.schema import Column, ForeignKey, Index, Schema, Table, UniqueConstraint, diff
from migtutor.schema_checks import describe_changes, same_schema


def _posts(**changes) -> Schema:
    table = Table(
        "posts",
        [
            Column("id", "INTEGER", False, None, True, family="integer"),
            Column("title", "VARCHAR", False, family="string"),
            Column("owner_id", "INTEGER", True, family="integer"),
        ],
        primary_key=("id",),
        primary_key_name="posts_pkey",
        unique=[UniqueConstraint("uq_title", ("title",))],
        foreign_keys=[ForeignKey("fk_owner", ("owner_id",), "users", ("id",), "CASCADE")],
        indexes=[Index("ix_owner", ("owner_id",))],
    )
    for name, value in changes.items():
        setattr(table, name, value)
    return Schema("postgresql", {"posts": table}, views={"v": "SELECT 1"})


def test_names_types_defaults_and_indexes_count_only_when_strict() -> None:
    before = _posts()
    after = _posts(
        columns=[
            Column("id", "BIGINT", False, "nextval('s')", True, family="integer"),
            Column("title", "TEXT", False, family="string"),
            Column("owner_id", "INTEGER", True, family="integer"),
        ],
        primary_key_name="pk_posts",
        unique=[UniqueConstraint("other_name", ("title",))],
        indexes=[],
    )
    after.views = {}
    strict = [str(change) for change in diff(before, after)]
    assert strict == [
        "~ column posts.id: INTEGER NOT NULL -> BIGINT NOT NULL DEFAULT nextval('s')",
        "~ column posts.title: VARCHAR NOT NULL -> TEXT NOT NULL",
        "- index ix_owner on posts: INDEX (owner_id)",
        "- view v",
    ]
    assert diff(before, after, strict=False) == []
    assert same_schema(before, after) and describe_changes(before, after) == []


def test_loose_comparison_sees_families_nullability_keys_and_unique_sets() -> None:
    before = _posts()
    after = _posts(
        columns=[
            Column("id", "INTEGER", False, None, True, family="integer"),
            Column("title", "INTEGER", True, family="integer"),
            Column("body", "TEXT", True, family="string"),
        ],
        primary_key=("title",),
        unique=[],
        foreign_keys=[ForeignKey("fk_owner", ("owner_id",), "users", ("id",), None)],
        # A unique index on plain columns is a unique set like a constraint.
        indexes=[Index("ix_title", ("title",), unique=True)],
    )
    after.tables["users"] = Table("users", [Column("id", "INTEGER", False)])
    assert not same_schema(before, after)
    assert describe_changes(before, after) == [
        "table users was created",
        "column posts.body was added",
        "column posts.owner_id was dropped",
        "column posts.title was altered",
        "foreign key posts.owner_id -> users was added",
        "foreign key posts.owner_id -> users was dropped",
        "the primary key of posts changed",
    ]
    del before.tables["posts"]
    assert describe_changes(after, before) == ["table posts was dropped", "table users was dropped"]
