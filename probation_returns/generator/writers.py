"""Writing generated returns exactly as a provider's system would: CSV files or one workbook.

Files are byte-identical for the same content: CSVs naturally, workbooks because the zip entries
and document properties carry a fixed timestamp instead of the time of writing.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import polars as pl
from openpyxl import Workbook

from probation_returns.files.xlsx import reproducible
from probation_returns.spec import DATE_COLUMNS

FIXED_TIME = dt.datetime(2000, 1, 1)
_INT_COLUMNS = {"ogrs3_2yr", "age_at_start"}


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as the text a provider's CSV would hold (ISO dates, blanks as null)."""
    return frame.with_columns(
        [
            pl.col(c).dt.to_string("%Y-%m-%d") if dtype == pl.Date else pl.col(c).cast(pl.String)
            for c, dtype in frame.schema.items()
        ]
    )


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    frame.write_csv(path, null_value="", date_format="%Y-%m-%d")


def write_workbook(tables: dict[str, pl.DataFrame], path: Path, *, dates_as_text: bool = False) -> None:
    """One sheet per table; dates as real date cells (or ISO text), whole numbers as numbers.

    ``tables`` hold text (see :func:`as_text`): a value that does not parse as its column's type is
    written as the text it is, which is how a hand-edited workbook carries bad values.
    """
    wb = Workbook(write_only=True)
    wb.properties.creator = "probation-returns synthetic generator"
    for name, frame in tables.items():
        ws = wb.create_sheet(name)
        ws.append(list(frame.columns))
        date_cols = [i for i, c in enumerate(frame.columns) if c in DATE_COLUMNS.get(name, ()) and not dates_as_text]
        int_cols = [i for i, c in enumerate(frame.columns) if c in _INT_COLUMNS]
        for row in frame.iter_rows():
            values = list(row)
            for i in date_cols:
                v = values[i]
                if v and len(v) == 10:
                    try:
                        values[i] = dt.date.fromisoformat(v)
                    except ValueError:
                        pass
            for i in int_cols:
                v = values[i]
                if v and v.isdigit():
                    values[i] = int(v)
            ws.append(values)
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(reproducible(buffer.getvalue(), FIXED_TIME))
