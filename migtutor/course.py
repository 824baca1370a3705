"""The course as data: its reference revisions in lesson order, its tables, and the schema at
the start of each lesson. Lesson N starts after REFERENCE_IDS[:N-1]; a test keeps this in step
with the reference revision files. This module imports nothing.
"""

from __future__ import annotations

# The course's reference revisions, in lesson order: lesson N starts after REFERENCE_IDS[:N-1].
REFERENCE_IDS: tuple[str, ...] = ("l1_posts", "l2_content", "l3_users", "l4_owner_fk", "l5_votes")
LESSON_COUNT = len(REFERENCE_IDS)
# The tables the course creates, dependants first (the order they can be dropped in).
COURSE_TABLES: tuple[str, ...] = ("votes", "posts", "users")
# What each reference state holds: table -> columns. A test checks this against the scripts.
_POSTS = ("id", "title")
_STATES: dict[str | None, dict[str, tuple[str, ...]]] = {
    None: {},
    "l1_posts": {"posts": _POSTS},
    "l2_content": {"posts": (*_POSTS, "content")},
    "l3_users": {
        "posts": (*_POSTS, "content"),
        "users": ("id", "email", "password", "created_at"),
    },
    "l4_owner_fk": {
        "posts": (*_POSTS, "content", "owner_id"),
        "users": ("id", "email", "password", "created_at"),
    },
    "l5_votes": {
        "posts": (*_POSTS, "content", "owner_id"),
        "users": ("id", "email", "password", "created_at"),
        "votes": ("user_id", "post_id"),
    },
}
REFERENCE_SCHEMAS: dict[str | None, dict[str, frozenset[str]]] = {
    rev: {table: frozenset(columns) for table, columns in tables.items()}
    for rev, tables in _STATES.items()
}
