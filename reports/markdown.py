"""A small table as Markdown, for Dagster metadata previews."""

from __future__ import annotations

import polars as pl


def table(frame: pl.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * frame.width + "\n"
    return head + "\n".join(
        "| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in frame.iter_rows()
    )
