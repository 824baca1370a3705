"""The throwaway helper roles' SCRAM verifier: what libpq computes, with one iteration."""

from __future__ import annotations

import base64

import sqlalchemy as sa

from migtutor.pg_sessions import quick_scram_verifier, scram_verifier


def test_quick_verifier_is_libpqs_with_the_iterations_chosen(postgres_server: str) -> None:
    engine = sa.create_engine(postgres_server)
    with engine.connect() as connection:
        reference = scram_verifier(connection, "s3cret-token", "someone")
    engine.dispose()
    iterations, salt = reference.split("$")[1].split(":")
    assert (
        quick_scram_verifier("s3cret-token", base64.b64decode(salt), int(iterations)) == reference
    )
    quick = quick_scram_verifier("s3cret-token")
    assert quick.startswith("SCRAM-SHA-256$1:") and quick != quick_scram_verifier("s3cret-token")
