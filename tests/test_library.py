"""The library layer used directly, beside the command-line tests: Migrator, --explain's plan,
schema.diff, graph.layout and checks.evaluate, on real SQLite and PostgreSQL databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from migtutor.course import reference_ids
from migtutor.migrate import Migrator, Revision
from migtutor.settings import DatabaseSettings


def open_migrator(workspace: Path, url: str) -> Migrator:
    return Migrator(workspace, DatabaseSettings(url=url, source="test"))


def test_migrator_moves_and_reports_each_step(course_workspace: Path, database_url: str) -> None:
    with open_migrator(course_workspace, database_url) as migrator:
        assert migrator.current_heads() == []
        assert migrator.head_ids() == ["l7_phone"]
        up = migrator.upgrade("l3_users")
        assert [step.revision for step in up.steps] == list(reference_ids()[:3])
        assert all(step.is_upgrade for step in up.steps)
        assert (up.before, up.current) == ([], ["l3_users"])
        down = migrator.downgrade("-1")
        assert [step.revision for step in down.steps] == ["l3_users"]
        assert down.current == ["l2_content"]
        history = migrator.revisions(current=down.current)
        assert [rev.revision for rev in history] == list(reversed(reference_ids()))
        assert [rev.revision for rev in history if rev.is_current] == ["l2_content"]
    with open_migrator(course_workspace, database_url) as again:  # it was committed
        assert again.current_heads() == ["l2_content"]


@pytest.mark.parametrize(
    ("start", "verb", "target"),
    [
        (None, "upgrade", "+2"),
        ("l1_posts", "upgrade", "head"),
        ("l4_owner_fk", "downgrade", "-2"),
        ("l7_phone", "downgrade", "base"),
        ("l2_content", "upgrade", "l4_owner_fk"),
    ],
)
def test_explain_plans_the_steps_the_move_then_takes(
    course_workspace: Path, tmp_path: Path, start: str | None, verb: str, target: str
) -> None:
    from migtutor.explain import plan_move

    url = f"sqlite:///{tmp_path / 'plan.db'}"
    with open_migrator(course_workspace, url) as migrator:
        if start:
            migrator.upgrade(start)
        plan = plan_move(migrator, verb, target)
        outcome = getattr(migrator, verb)(target)
    assert plan.steps is not None and len(plan.steps) == len(outcome.steps) > 0
    for described, step in zip(plan.steps, outcome.steps, strict=True):
        assert described.startswith(verb) and step.revision in described


def test_explain_walks_both_branches_of_a_fork(course_workspace: Path, tmp_path: Path) -> None:
    from migtutor.explain import plan_move

    url = f"sqlite:///{tmp_path / 'fork.db'}"
    with open_migrator(course_workspace, url) as migrator:
        migrator.revision("side branch", rev_id="side1", head="l3_users", splice=True)
        migrator.upgrade("l3_users")
        plan = plan_move(migrator, "upgrade", "heads")
        outcome = migrator.upgrade("heads")
    planned = {s.split(" -> ")[1].split(":")[0] for s in plan.steps or []}
    assert (
        planned
        == {step.revision for step in outcome.steps}
        == {"l4_owner_fk", "l5_published", "l6_votes", "l7_phone", "side1"}
    )


def test_an_unknown_target_is_explained_before_anything_moves(
    course_workspace: Path, tmp_path: Path
) -> None:
    from migtutor.errors import MigtutorError
    from migtutor.explain import plan_move

    url = f"sqlite:///{tmp_path / 'unknown.db'}"
    with open_migrator(course_workspace, url) as migrator:
        for verb, target, words in (
            ("upgrade", "zzz999", "migtutor history"),
            ("downgrade", "l4_owner_fk", "only goes back"),
            ("upgrade", "+9", "not that many revisions"),
        ):
            with pytest.raises(MigtutorError) as raised:
                plan_move(migrator, verb, target)
            assert words in raised.value.message
        assert migrator.current_heads() == []


@pytest.mark.parametrize("plain", ["0", "1"])
def test_a_move_loads_the_revision_files_once_unless_told_not_to(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plain: str
) -> None:
    """alembic_shortcuts hands Alembic's command the files the Migrator loaded; with
    MIGTUTOR_PLAIN_ALEMBIC=1 the command loads them again, and both ways the move works."""
    loads = tmp_path / "loads.txt"
    (workspace / "migrations" / "versions" / "r1_counted.py").write_text(
        f'from pathlib import Path\nwith open({str(loads)!r}, "a") as f:\n    f.write("x")\n'
        'revision = "r1"\ndown_revision = None\n'
        "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n"
    )
    monkeypatch.setenv("MIGTUTOR_PLAIN_ALEMBIC", plain)
    with open_migrator(workspace, f"sqlite:///{tmp_path / 'once.db'}") as migrator:
        assert migrator.upgrade("head").current == ["r1"]
    assert len(loads.read_text()) == (2 if plain == "1" else 1)
    from alembic import command
    from alembic.script import ScriptDirectory

    assert command.ScriptDirectory is ScriptDirectory  # put back after the move


def test_schema_diff_names_what_a_revision_changed(
    course_workspace: Path, database_url: str
) -> None:
    from migtutor.schema import diff, snapshot

    with open_migrator(course_workspace, database_url) as migrator:
        migrator.upgrade("l3_users")
        before = snapshot(migrator.connection)
        migrator.upgrade("l4_owner_fk")
        after = snapshot(migrator.connection)
        migrator.connection.rollback()
    changes = [str(change) for change in diff(before, after)]
    assert "+ column posts.owner_id" in " ".join(changes)
    assert any(c.startswith("+ foreign key") and "users(id)" in c for c in changes), changes
    assert not any(c.startswith("-") for c in changes), changes
    assert diff(after, after) == []
    backwards = [str(change) for change in diff(after, before)]
    assert any(c.startswith("- column posts.owner_id") for c in backwards), backwards


def _rev(revision: str, *down: str) -> Revision:
    return Revision(revision=revision, down_revisions=list(down), message=revision, path="")


def test_graph_layout_draws_a_fork_and_its_merge() -> None:
    from migtutor.graph import layout

    # newest first: a merge of two branches that forked at "a"
    revisions = [_rev("m", "b", "c"), _rev("c", "a"), _rev("b", "a"), _rev("a")]
    rows = layout(revisions)
    shown = [(row.prefix.rstrip(), row.revision.revision if row.revision else None) for row in rows]
    assert [name for _, name in shown if name] == ["m", "c", "b", "a"]
    marks = {name: prefix for prefix, name in shown if name}
    assert marks["m"].startswith("*") and marks["a"].startswith("*")
    assert "|" in marks["c"] or "|" in marks["b"]  # two lanes side by side between fork and merge
    connectors = [prefix for prefix, name in shown if name is None]
    assert any("\\" in p for p in connectors) and any("/" in p for p in connectors), shown
    straight = layout([_rev("b", "a"), _rev("a")])
    assert [row.prefix.strip() for row in straight] == ["*", "*"]


def test_checks_evaluate_says_what_is_missing_then_passes(
    course_workspace: Path, database_url: str
) -> None:
    from migtutor.checks import evaluate
    from migtutor.lessons import load_lessons

    lesson = load_lessons()[2]  # users
    step = next(s for s in lesson.steps if s.check.get("at_head") and "unique" in s.check)
    database = DatabaseSettings(url=database_url, source="test")
    with open_migrator(course_workspace, database_url) as migrator:
        migrator.upgrade("l3_users")
    for name in (
        "l4_owner_fk",
        "l5_published",
        "l6_votes",
        "l7_phone",
    ):  # the workspace as it is at the end of lesson 3
        next((course_workspace / "migrations" / "versions").glob(f"{name}*.py")).unlink()
    assert evaluate(step, course_workspace, database).passed
    with open_migrator(course_workspace, database_url) as migrator:
        migrator.downgrade("l2_content")
    failing = evaluate(step, course_workspace, database)
    assert not failing.passed
    assert any("users" in problem for problem in failing.problems), failing.problems
