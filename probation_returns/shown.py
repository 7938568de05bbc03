"""A submitted value as a finding shows it: shortened, and a PNC id masked to its last 4 characters.

Shared by the return's rules (``validation.engine``) and the reoffending extract's checks
(``measures.reoffending_extract``), which is why it sits below both.
"""

from __future__ import annotations

import polars as pl

MAX_VALUE_CHARS = 80


def shown_value(column: str) -> pl.Expr:
    """The value as submitted, shortened; ``pnc_id`` masked to its last 4 characters."""
    v = pl.col(column).cast(pl.String)
    if column == "pnc_id":
        return pl.when(v.is_null()).then(None).otherwise(pl.lit("****") + v.str.slice(-4))
    return pl.when(v.str.len_chars() > MAX_VALUE_CHARS).then(v.str.slice(0, MAX_VALUE_CHARS) + pl.lit("…")).otherwise(v)
