"""Reading a provider's files into text tables, safely: anything unreadable becomes a finding.

Every table comes back as text columns (trimmed, blanks as null) plus ``__row``, the row number
the provider sees in its own file (header = 1). Nothing here raises for bad input; limits are
checked before parsing so that a hostile file cannot take unbounded time or memory.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from probation_returns.calendar import Quarter
from probation_returns.spec import DATE_COLUMNS, RETURN_STEM, TABLES

MAX_FILE_BYTES = 200 * 1024 * 1024  # FIL-001: over 200 MB
MAX_CELLS = 2_000_000  # FIL-001: a workbook over 2,000,000 cells
MAX_SHEET_XML_BYTES = 1024 * 1024 * 1024  # a sheet that inflates past this is treated as a bomb
ROW = "__row"
_INT_COLUMNS = {"ogrs3_2yr", "age_at_start"}
_NAME = re.compile(rf"^{RETURN_STEM}$")


@dataclass(frozen=True)
class FileFinding:
    rule_id: str
    table: str  # a table name, or "file"
    column: str | None
    value: str | None
    message: str


@dataclass
class RawReturn:
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    findings: list[FileFinding] = field(default_factory=list)
    missing_columns: dict[str, set[str]] = field(default_factory=dict)

    @property
    def fatal(self) -> bool:
        return any(f.rule_id in {"FIL-001", "FIL-002", "FIL-006"} for f in self.findings)


def _finding(rule: str, table: str, message: str, column: str | None = None, value: str | None = None) -> FileFinding:
    return FileFinding(rule, table, column, value, message)


def read_return(files: list[Path], provider: str, quarter: str, names: list[str] | None = None) -> RawReturn:
    """Read a return sent as one workbook or as CSVs, for ``provider`` and ``quarter``.

    ``names`` are the names the files were sent under, when ``files`` are archived copies.
    """
    out = RawReturn()
    sources: dict[str, pl.DataFrame] = {}
    from_workbook: set[str] = set()
    for path, sent_as in zip(files, names or [f.name for f in files]):
        path = _Named(path, sent_as)
        name_match = _NAME.match(path.stem)
        expected = f"{provider}_{quarter}"
        if not name_match or (name_match.group("provider").upper(), str(Quarter.parse(name_match.group("quarter")))) != (provider, quarter):
            out.findings.append(_finding(
                "FIL-004", "file", f"The file name {path.name!r} does not match the return it was sent as "
                f"({provider}, {quarter}). Name it {expected}.xlsx or {expected}_<table>.csv.", value=path.name))
            if not name_match:
                continue
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            sources.update(_read_workbook(path, out))
            from_workbook.update(TABLES)
        elif suffix == ".csv":
            table = (name_match.group("table") or "").lower()
            if table not in TABLES:
                out.findings.append(_finding("FIL-002", "file", f"{path.name!r} is not one of the three tables "
                                             "(cases, contacts, breaches); name it <provider>_<quarter>_<table>.csv.",
                                             value=path.name))
                continue
            frame = _read_csv(path, table, out)
            if frame is not None:
                sources[table] = frame
        else:
            out.findings.append(_finding("FIL-001", "file", f"{path.name!r} is neither CSV nor XLSX; send the return "
                                         "as one .xlsx workbook or three .csv files.", value=path.name))
    if any(f.rule_id == "FIL-001" for f in out.findings):
        return out
    for table in TABLES:
        if table not in sources:
            out.findings.append(_finding("FIL-002", table, f"The {table} table is missing. Send {provider}_{quarter}_"
                                         f"{table}.csv, or a sheet named {table!r} in the workbook."))
            continue
        out.tables[table] = _conform(table, sources[table], out, workbook=table in from_workbook)
    if "cases" in out.tables and out.tables["cases"].height == 0:
        out.findings.append(_finding("FIL-006", "cases", "The cases table has no rows. A return must list every "
                                     "case supervised in the quarter."))
    return out


class _Named:
    """A file on disk known by the name it was sent under (archived files are named by their hash)."""

    def __init__(self, real: Path, name: str):
        self.real, self.name = Path(real), Path(name).name
        self.stem, self.suffix = Path(self.name).stem, Path(self.name).suffix

    def stat(self):
        return self.real.stat()

    def read_bytes(self) -> bytes:
        return self.real.read_bytes()

    def open(self, mode: str = "rb"):
        return self.real.open(mode)

    def __fspath__(self) -> str:
        return str(self.real)


# CSV -------------------------------------------------------------------------------------------

def _read_csv(path: Path, table: str, out: RawReturn) -> pl.DataFrame | None:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        out.findings.append(_finding("FIL-001", table, f"{path.name} is {size / 1e6:.0f} MB, over the 200 MB limit. "
                                     "Split nothing: remove columns or rows that do not belong, or ask the ministry."))
        return None
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = " It looks like UTF-16 (Excel's 'Unicode text')." if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        out.findings.append(_finding(
            "FIL-001", table, f"{path.name} is not UTF-8 text (byte {exc.start + 1} cannot be read).{hint} "
            "Save it as 'CSV UTF-8 (comma delimited)'."))
        return None
    first_line = text[:65536].split("\n", 1)[0]
    if "," not in first_line and ";" in first_line:
        out.findings.append(_finding("FIL-001", table, f"{path.name} separates columns with semicolons; the "
                                     "specification requires commas. Save it as 'CSV UTF-8 (comma delimited)'."))
        return None
    try:
        frame = pl.read_csv(data, infer_schema=False, has_header=True, truncate_ragged_lines=False,
                            raise_if_empty=False)
    except (pl.exceptions.PolarsError, ValueError) as exc:  # malformed quoting or ragged rows
        out.findings.append(_finding("FIL-001", table, f"{path.name} cannot be read as CSV ({str(exc).splitlines()[0][:160]}). "
                                     "Check that quotes are balanced and every row has the same number of columns."))
        return None
    return frame


# Workbook --------------------------------------------------------------------------------------

def _read_workbook(path: Path, out: RawReturn) -> dict[str, pl.DataFrame]:
    problem = _check_workbook(path)
    if problem:
        out.findings.append(_finding("FIL-001", "file", problem, value=path.name))
        return {}
    try:
        import fastexcel

        reader = fastexcel.read_excel(str(path.real))
        names = {n.strip().lower(): n for n in reader.sheet_names}
        frames = {}
        for table in TABLES:
            if table in names:
                frames[table] = reader.load_sheet(names[table], dtypes="string").to_polars()
        return frames
    except Exception as exc:  # fastexcel/calamine errors on malformed sheets
        out.findings.append(_finding("FIL-001", "file", f"{path.name} cannot be read as a workbook "
                                     f"({str(exc).splitlines()[0][:160]}). Open it in Excel and save it again as .xlsx.",
                                     value=path.name))
        return {}


def _check_workbook(path: Path) -> str | None:
    """Why the workbook must not be parsed, or None: size, format, encryption, and inflated size."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return f"{path.name} is {size / 1e6:.0f} MB, over the 200 MB limit."
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return (f"{path.name} is password-protected or an old .xls file. Remove the password and save it as an "
                "Excel workbook (.xlsx).")
    if not zipfile.is_zipfile(path.real):
        return f"{path.name} is not an Excel workbook (it may be damaged or cut short). Save it again as .xlsx."
    try:
        with zipfile.ZipFile(path.real) as z:
            sheets = [i for i in z.infolist() if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")]
            if not sheets or "xl/workbook.xml" not in z.namelist():
                return f"{path.name} is a zip file but not an Excel workbook. Save it again as .xlsx."
            declared = sum(i.file_size for i in sheets)
            if declared > MAX_SHEET_XML_BYTES:
                return (f"{path.name} expands to {declared / 1e9:.1f} GB of sheet data, far more than any return; "
                        "it was not opened. Send the three tables only.")
            cells = 0
            for info in sheets:
                cells += _count_cells(z, info)
                if cells > MAX_CELLS:
                    return (f"{path.name} holds more than {MAX_CELLS:,} cells, the limit for a workbook. "
                            "Send the return as three CSV files instead.")
    except zipfile.BadZipFile:
        return f"{path.name} is damaged (the zip structure is broken). Save it again as .xlsx."
    except _Bomb as exc:
        return f"{path.name} {exc}; it was not opened. Send the three tables only."
    return None


class _Bomb(Exception):
    pass


def _count_cells(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """Cells in a sheet, counted while inflating in 1 MB steps so that a lying header cannot blow memory."""
    cells = 0
    inflated = 0
    tail = b""
    with z.open(info) as stream:
        while True:
            try:
                block = stream.read(1 << 20)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise _Bomb(f"is damaged ({exc})") from exc
            if not block:
                break
            inflated += len(block)
            if inflated > MAX_SHEET_XML_BYTES:
                raise _Bomb("expands to more than 1 GB of sheet data")
            chunk = tail + block
            cells += chunk.count(b"<c ") + chunk.count(b"<c>") - tail.count(b"<c ") - tail.count(b"<c>")
            tail = block[-3:]
            if cells > MAX_CELLS:
                return cells
    return cells


# Conforming a table ------------------------------------------------------------------------------

def _conform(table: str, frame: pl.DataFrame, out: RawReturn, workbook: bool = False) -> pl.DataFrame:
    """Headers matched ignoring case and spaces; text trimmed; blanks null; row numbers; no blank tail."""
    renamed: dict[str, str] = {}
    seen: set[str] = set()
    extra: list[str] = []
    for col in frame.columns:
        key = re.sub(r"\s+", " ", str(col)).strip().lower().lstrip("\ufeff")
        if key in TABLES[table] and key not in seen:
            renamed[col] = key
            seen.add(key)
        elif key and not key.startswith("__unnamed") and not key.startswith("_duplicated_"):
            extra.append(str(col))
    if extra:
        shown = ", ".join(repr(c[:40]) for c in extra[:10])
        out.findings.append(_finding("FIL-005", table, f"The {table} table has columns the specification does not "
                                     f"define ({shown}); they were ignored.", value=shown))
    missing = [c for c in TABLES[table] if c not in seen]
    for col in missing:
        out.findings.append(_finding("FIL-003", table, f"The {table} table has no {col!r} column. Add it (header "
                                     f"names: {', '.join(TABLES[table])}).", column=col))
    out.missing_columns[table] = set(missing)
    blank_to_null = [pl.col(c).cast(pl.String).str.strip_chars().replace("", None).alias(k) for c, k in renamed.items()]
    frame = frame.lazy().select(blank_to_null).with_columns(
        [pl.lit(None, dtype=pl.String).alias(c) for c in missing]).select(TABLES[table])
    if workbook:
        frame = frame.with_columns(
            # A real date cell comes through as "YYYY-MM-DD 00:00:00"; a whole number may come as "45.0".
            [pl.col(c).str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(?:\.0+)?$", "$1") for c in DATE_COLUMNS[table]]
            + [pl.col(c).str.replace(r"^(\d+)\.0+$", "$1") for c in TABLES[table] if c in _INT_COLUMNS]
        )
    frame = frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64)).collect()
    # Blank rows at the end of a sheet or file are not records.
    filled = pl.any_horizontal([pl.col(c).is_not_null() for c in TABLES[table]])
    last = frame.select(pl.when(filled).then(pl.col(ROW)).max()).item()
    return frame.filter(pl.col(ROW) <= (last or 0))
