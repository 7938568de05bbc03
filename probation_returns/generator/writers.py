"""Writing generated returns exactly as a provider's system would: CSV files or one workbook.

Files are byte-identical for the same content: CSVs naturally, workbooks because the zip entries
and document properties carry a fixed timestamp instead of the time of writing.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import polars as pl
from openpyxl import Workbook

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
    path.write_bytes(_normalise_zip(buffer.getvalue()))


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed entry times and document-property times, so equal content gives equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _fix_core_times(body)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, body)
    return out.getvalue()


def _fix_core_times(body: bytes) -> bytes:
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>", body)
