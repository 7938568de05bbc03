"""Keyed hashing of personal identifiers (``pnc_id``) before anything is stored.

The key comes from ``RETURNS_PSEUDONYM_KEY``. Without it the service refuses to store identifiers,
except in the demo, which uses a published demo key (its data is synthetic).
"""

from __future__ import annotations

import hashlib
import os

import polars as pl

DEMO_KEY = "probation-returns-demo-key-not-for-real-data"


class MissingKey(RuntimeError):
    pass


def key() -> bytes:
    value = os.environ.get("RETURNS_PSEUDONYM_KEY", "")
    if not value:
        raise MissingKey(
            "RETURNS_PSEUDONYM_KEY is not set: set it to a secret of at least 16 characters before "
            "storing returns (the demo sets a demo key itself)"
        )
    if len(value) < 16:
        raise MissingKey("RETURNS_PSEUDONYM_KEY is shorter than 16 characters; use a longer secret")
    return value.encode()[:64]


def hash_values(values: pl.Series, secret: bytes | None = None) -> pl.Series:
    """BLAKE2b keyed with the secret (a MAC): the same id always gives the same hash, nobody can reverse it.

    One call per distinct value: a cryptographic keyed hash has no Polars expression, and the unique
    values are far fewer than the rows.
    """
    secret = secret or key()
    uniques = values.drop_nulls().unique()
    hashed = pl.Series(
        [hashlib.blake2b(v.encode(), key=secret, digest_size=32).hexdigest() for v in uniques], dtype=pl.String
    )
    mapping = pl.DataFrame({"v": uniques, "h": hashed})
    return values.to_frame("v").join(mapping, on="v", how="left", maintain_order="left")["h"].rename(values.name)
