"""CSV output for people who open it in a spreadsheet: RFC 4180, UTF-8, and no formulas.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run as a
formula by Excel or LibreOffice; such cells get a leading apostrophe. Numbers are left alone.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text
    )


def write_csv(frame: pl.DataFrame, path: Path, *, quote_text: bool = False) -> None:
    """``quote_text``: every text cell in quotes, so a spreadsheet keeps ``064261`` as typed (leading zero)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralise(frame).write_csv(
        path,
        null_value="",
        date_format="%Y-%m-%d",
        line_terminator="\r\n",
        quote_style="non_numeric" if quote_text else "necessary",
    )
