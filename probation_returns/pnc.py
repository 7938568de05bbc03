"""Police National Computer ids: ``YYYY/NNNNNNNC`` with a modulus-23 check letter.

The check letter is ``ALPHABET[int(YY + NNNNNNN) % 23]`` where YY is the last two digits of the
year and NNNNNNN the seven-digit serial (the algorithm UK justice systems use to validate PNC ids).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import polars as pl

from expectations.catalogue import ALPHABET  # the rules own the definition (CAS-003)

if TYPE_CHECKING:
    import numpy as np

CANONICAL = re.compile(r"^(\d{4})/(\d{7})([A-Z])$")
CANONICAL_PATTERN = CANONICAL.pattern


def check_letter(year: int, serial: int) -> str:
    return ALPHABET[((year % 100) * 10_000_000 + serial) % 23]


def format_pnc(year: int, serial: int) -> str:
    return f"{year:04d}/{serial:07d}{check_letter(year, serial)}"


def is_valid(pnc_id: str | None) -> bool:
    match = CANONICAL.match(pnc_id or "")
    if not match:
        return False
    return check_letter(int(match.group(1)), int(match.group(2))) == match.group(3)


def format_many(years: np.ndarray, serials: np.ndarray) -> np.ndarray:
    """Vectorised :func:`format_pnc` for whole arrays."""
    import numpy as np

    years = np.asarray(years, dtype=np.int64)
    serials = np.asarray(serials, dtype=np.int64)
    letters = np.frombuffer(ALPHABET.encode(), dtype="S1")[((years % 100) * 10_000_000 + serials) % 23]
    y = np.char.zfill(years.astype("U4"), 4)
    s = np.char.zfill(serials.astype("U7"), 7)
    return np.char.add(np.char.add(np.char.add(y, "/"), s), letters.astype("U1"))


# Anything that looks like a PNC id, wherever it appears (a provider may swap columns or paste one into a
# note): two- or four-digit year, a slash, the serial (leading zeros are often dropped) and a letter.
LOOKS_LIKE = r"(?i)\b(?:\d{2}|\d{4})\s?/\s?\d{0,4}(\d{3}[A-Z])\b"
MASK = "****${1}"  # the last four characters stay, as in the pnc_id column's own findings


def mask_expr(expr: pl.Expr) -> pl.Expr:
    """Text with every PNC-looking id masked to its last four characters."""
    return expr.str.replace_all(LOOKS_LIKE, MASK)


def mask_text(text: str | None) -> str | None:
    return (
        None
        if text is None
        else re.sub(LOOKS_LIKE.replace("(?i)", ""), lambda m: "****" + m.group(1), text, flags=re.IGNORECASE)
    )


def mask_identifiers(frame: pl.DataFrame, keep: tuple[str, ...] = ("pnc_id",)) -> pl.DataFrame:
    """Every text column but ``keep`` with PNC-looking ids masked: nothing raw leaves validation."""
    columns = [c for c, t in frame.schema.items() if t == pl.String and c not in keep]
    if not columns or frame.height == 0:
        return frame
    # A PNC id always has a slash: only columns holding one are searched with the pattern (a scan for a byte
    # is far cheaper than the regular expression over every cell).
    slashed = frame.select(pl.col(c).str.contains("/", literal=True).any() for c in columns).row(0)
    columns = [c for c, has in zip(columns, slashed) if has]
    return frame.with_columns([mask_expr(pl.col(c)) for c in columns]) if columns else frame
