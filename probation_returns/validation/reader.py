"""Reading a provider's files into text tables, safely: anything unreadable becomes a finding.

Every table comes back as text columns (trimmed, blanks as null) plus ``__row``, the row number
the provider sees in its own file (header = 1). Nothing here raises for bad input; limits are
checked before parsing so that a hostile file cannot take unbounded time or memory.
"""

from __future__ import annotations

import os
import re
import sys
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from probation_returns.calendar import Quarter
from probation_returns.spec import DATE_COLUMNS, RETURN_STEM, TABLES

# Limits, each checked before the file is parsed (FIL-001 when one is broken): they bound the memory and
# time one return can take, far above what any real return needs.
MAX_FILE_BYTES = 200 * 1024 * 1024  # a file over 200 MB
MAX_LINE_BYTES = 1024 * 1024  # a CSV line over 1 MB (a cell holds at most 32,767 characters in Excel)
MAX_COLUMNS = 200  # a CSV header with more columns (the widest table has 20)
MAX_CELLS = 2_000_000  # a workbook over 2,000,000 cells
MAX_CSV_CELLS = 20_000_000  # a CSV table over 20,000,000 cells (rows x header columns), blank rows at the end aside
# A sheet is read as the rectangle from A1 to its last cell: one cell at XFD1048576 would be 17 billion
MAX_SHEET_AREA = 2 * MAX_CELLS
MAX_SHEET_XML_BYTES = 512 * 1024 * 1024  # every part of a workbook, inflated, together
MAX_MEMBER_RATIO = 200  # a part that inflates over 200 times its compressed size (and past 10 MB) is a bomb
MAX_TEXT_RUN_BYTES = 1024 * 1024  # text or space between two XML tags: a cell's text is at most 32,767 characters
# Control characters other than tab, line feed and carriage return: never valid in a return, and they break
# the workbook writer (openpyxl refuses them) and PostgreSQL (NUL). Replaced by U+FFFD and reported (FIL-008).
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
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


@dataclass(frozen=True)
class Part:
    """What happened to one table's file: the name it was sent under, its rows if it was read, why not if not."""

    file: str
    rows: int | None = None
    why: str | None = None  # the FIL-001 finding's words when it could not be read


@dataclass
class RawReturn:
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    parts: dict[str, Part] = field(default_factory=dict)  # per table that a file was sent for
    findings: list[FileFinding] = field(default_factory=list)
    missing_columns: dict[str, set[str]] = field(default_factory=dict)
    cell_findings: list[pl.DataFrame] = field(default_factory=list)  # per cell (FIL-008), in the findings' schema

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
    clean_text: set[str] = set()
    plain_text: set[str] = set()
    for path, sent_as in zip(files, names or [f.name for f in files]):
        path = _Named(path, sent_as)
        name_match = _NAME.match(path.stem)
        expected = f"{provider}_{quarter}"
        if not name_match or (
            name_match.group("provider").upper(),
            str(Quarter.parse(name_match.group("quarter"))),
        ) != (provider, quarter):
            out.findings.append(
                _finding(
                    "FIL-004",
                    "file",
                    f"The file name {path.name!r} does not match the return it was sent as "
                    f"({provider}, {quarter}). Name it {expected}.xlsx or {expected}_<table>.csv.",
                    value=path.name,
                )
            )
            if not name_match:
                continue
        suffix = path.suffix.lower()
        table = (name_match.group("table") or "").lower()
        if suffix in (".xlsx", ".csv") and (table not in TABLES if suffix == ".csv" else bool(table)):
            out.findings.append(
                _finding(
                    "FIL-007",
                    "file",
                    f"{path.name} was sent with the return but is not one of "
                    f"its files (the workbook {expected}.xlsx, or the cases, contacts and "
                    "breaches CSVs), so it was ignored.",
                    value=path.name,
                )
            )
            continue
        if suffix == ".xlsx":
            before = len(out.findings)
            sheets = _read_workbook(path, out)
            sources.update(sheets)
            from_workbook.update(TABLES)
            why = out.findings[-1].message if len(out.findings) > before else None
            for t in TABLES:  # a sheet missing from a readable workbook was not sent
                if t in sheets or why:
                    out.parts[t] = Part(path.name, sheets[t].height if t in sheets else None, why)
        elif suffix == ".csv":
            frame, control, plain = _read_csv(path, table, out)
            out.parts[table] = Part(
                path.name,
                frame.height if frame is not None else None,
                None if frame is not None else out.findings[-1].message,
            )
            if frame is not None:
                sources[table] = frame
                if not control:
                    clean_text.add(table)  # no control character anywhere: the cells need not be searched
                if plain:
                    plain_text.add(table)  # nothing to trim or blank: the cells are used as read
        else:
            out.findings.append(
                _finding(
                    "FIL-001",
                    "file",
                    f"{path.name!r} is neither CSV nor XLSX; send the return "
                    "as one .xlsx workbook or three .csv files.",
                    value=path.name,
                )
            )
    if any(f.rule_id == "FIL-001" for f in out.findings):
        return out
    for table in TABLES:
        if table not in sources:
            out.findings.append(
                _finding(
                    "FIL-002",
                    table,
                    f"The {table} table is missing. Send {provider}_{quarter}_"
                    f"{table}.csv, or a sheet named {table!r} in the workbook.",
                )
            )
            continue
        out.tables[table] = _conform(
            table,
            sources.pop(table),  # the file's frame is not kept beside the conformed one
            out,
            workbook=table in from_workbook,
            control=table not in clean_text,
            plain=table in plain_text,
        )
    if "cases" in out.tables and out.tables["cases"].height == 0:
        out.findings.append(
            _finding(
                "FIL-006",
                "cases",
                "The cases table has no rows. A return must list every case supervised in the quarter.",
            )
        )
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


def _read_csv(path: Path, table: str, out: RawReturn) -> tuple[pl.DataFrame | None, bool, bool]:
    """The table as text, whether the file holds any control character, and whether it is plain (no cell can
    need trimming or be blank but not empty: see ``_plain``); None when it cannot be read."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        out.findings.append(
            _finding(
                "FIL-001",
                table,
                f"{path.name} is {size / 1e6:.0f} MB, over the 200 MB limit. "
                "Split nothing: remove columns or rows that do not belong, or ask the ministry.",
            )
        )
        return None, False, False
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        out.findings.append(
            _finding(
                "FIL-001",
                table,
                f"{path.name} is UTF-16 text (Excel's 'Unicode text'), not "
                "UTF-8. Save it as 'CSV UTF-8 (comma delimited)'.",
            )
        )
        return None, False, False
    census = data.translate(None, _NOT_CENSUS)  # its line ends and control characters, in one pass over the bytes
    problem = _csv_shape(path.name, data, census.count(b"\n"))
    if problem:
        out.findings.append(_finding("FIL-001", table, problem))
        return None, False, False
    ascii = data.isascii()  # ASCII is UTF-8 as it is: no need to decode a copy of the file to know
    try:
        text = data[:65536].decode("ascii") if ascii else data.decode("utf-8")
    except UnicodeDecodeError as exc:
        out.findings.append(
            _finding(
                "FIL-001",
                table,
                f"{path.name} is not UTF-8 text (byte {exc.start + 1} cannot be read). "
                "Save it as 'CSV UTF-8 (comma delimited)'.",
            )
        )
        return None, False, False
    first_line = text[:65536].split("\n", 1)[0]
    if "," not in first_line and ";" in first_line:
        out.findings.append(
            _finding(
                "FIL-001",
                table,
                f"{path.name} separates columns with semicolons; the "
                "specification requires commas. Save it as 'CSV UTF-8 (comma delimited)'.",
            )
        )
        return None, False, False
    del text
    tail = _blank_tail(data)
    if len(data) - tail > 1024 * 1024:  # a long tail of blank rows: not records, and not worth parsing
        data = data[:tail]
    try:
        frame = pl.read_csv(
            data, infer_schema=False, has_header=True, truncate_ragged_lines=False, raise_if_empty=False
        )
    except BaseException as exc:  # malformed quoting or ragged rows; a Rust panic is a BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        out.findings.append(
            _finding(
                "FIL-001",
                table,
                f"{path.name} cannot be read as CSV ({_first_line(exc)}). "
                "Check that quotes are balanced and every row has the same number of columns.",
            )
        )
        return None, False, False
    control = _has_control(census)  # a blank tail cut off holds none: only commas, spaces, tabs and line ends
    return frame, control, ascii and not control and _plain(data)


# Every byte but the control characters: what is left after deleting them all is the file's control bytes.
_NOT_CONTROL = bytes(b for b in range(256) if not _CONTROL_BYTES.fullmatch(bytes([b])))
_NOT_CENSUS = _NOT_CONTROL.replace(b"\n", b"")  # ... and the line ends kept too, to be counted


def _has_control(data: bytes) -> bool:
    """Whether any control character is in ``data`` (a C loop over the bytes, several times faster than a regex)."""
    return bool(data.translate(None, _NOT_CONTROL))


def _plain(data: bytes) -> bool:
    """Whether no cell of this (ASCII, control-free) CSV can need trimming or be blank but not empty, so the
    text Polars reads is the text the rules see. Without a quote, a space, a tab or a carriage return other
    than a line end's, every cell is unquoted, has no white space at either end, and is empty only when it
    is missing (read as null). A search for a byte is far cheaper than trimming every cell."""
    if b'"' in data or b" " in data or b"\t" in data:
        return False
    return b"\r" not in data or data.count(b"\r") == data.count(b"\r\n")


def _blank_tail(data: bytes) -> int:
    """Where the trailing run of blank rows (only commas, spaces, tabs and line ends) starts."""
    blank = b", \t\r\n"
    end = len(data)
    while end > 0:  # from the end, a megabyte at a time: a 200 MB file is not copied
        start = max(0, end - (1 << 20))
        kept = data[start:end].rstrip(blank)
        if kept:
            newline = data.find(b"\n", start + len(kept))
            return len(data) if newline < 0 else newline + 1
        end = start
    return 0


def _first_line(exc: BaseException) -> str:
    """The first line of an error, short and without control characters (it is shown to the provider)."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return re.sub(CONTROL, "\ufffd", text)[:160]


def _csv_shape(name: str, data: bytes, lines: int) -> str | None:
    """Why the CSV must not be parsed, or None: NUL bytes, a line over the limit, too many header columns.
    ``lines``: how many line ends ``data`` holds."""
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        return (
            f"{name} contains NUL bytes (first on line {line:,}), so it is not a text file. Save it again as "
            "'CSV UTF-8 (comma delimited)'."
        )
    first = data.find(b"\n")
    header = data[: first if first >= 0 else len(data)]
    columns = header.count(b",") + 1
    end = len(data)
    if lines * columns > MAX_CSV_CELLS:  # trailing blank rows are not records (see _conform)
        end = _blank_tail(data)
        lines = data.count(b"\n", 0, end)
    if _has_long_line(data, end):
        return _long_line(name, data, end)
    if columns > MAX_COLUMNS:
        return (
            f"{name} has {columns:,} columns in its header, over the {MAX_COLUMNS} allowed (a table has at most "
            f"{max(len(c) for c in TABLES.values())}). Send only the columns the specification defines."
        )
    last_open = end > data.rfind(b"\n", 0, end) + 1  # a last line without a line end
    rows = lines + last_open - 1
    if rows * columns > MAX_CSV_CELLS:
        return (
            f"{name} has {rows:,} rows of {columns} columns, over the {MAX_CSV_CELLS:,} cells a table may have. "
            "Check it is the return (no blank or repeated rows), and ask the ministry if it really is that long."
        )
    return None


def _has_long_line(data: bytes, end: int) -> bool:
    """Whether a line before ``end`` is over MAX_LINE_BYTES: jump from the last line end of each window of that
    size to the next (a few hundred steps for a 200 MB file, each a backwards search in C)."""
    pos = 0
    while end - pos > MAX_LINE_BYTES:
        last = data.rfind(b"\n", pos, pos + MAX_LINE_BYTES + 1)
        if last < 0:
            return True
        pos = last + 1
    return False


def _long_line(name: str, data: bytes, end: int) -> str:
    """The message for the longest line (only computed when there is one over the limit)."""
    import numpy as np

    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8)[:end] == 10)
    starts = np.concatenate(([0], ends + 1))
    lengths = np.concatenate((ends, [end])) - starts
    longest = int(lengths.argmax())
    return (
        f"{name} line {longest + 1:,} is {lengths[longest] / 1e6:.1f} MB long, over the 1 MB a line may be. "
        "Check the file is the return and that its quotes are balanced."
    )


# Workbook --------------------------------------------------------------------------------------


def _read_workbook(path: Path, out: RawReturn) -> dict[str, pl.DataFrame]:
    problem = _check_workbook(path)
    if problem:
        out.findings.append(_finding("FIL-001", "file", problem, value=path.name))
        return {}
    try:
        import fastexcel

        with _quiet_stderr():  # a panic inside calamine prints to the process's stderr before it is raised
            reader = fastexcel.read_excel(str(path.real))
            names = {n.strip().lower(): n for n in reader.sheet_names}
            frames = {}
            for table in TABLES:
                if table in names:
                    frames[table] = reader.load_sheet(names[table], dtypes="string").to_polars()
        return frames
    except BaseException as exc:  # calamine errors on malformed sheets; its panics are BaseExceptions
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        out.findings.append(
            _finding(
                "FIL-001",
                "file",
                f"{path.name} cannot be read as a workbook "
                f"({_first_line(exc)}). Check that every date cell holds a real date, then open "
                "it in Excel and save it again as .xlsx.",
                value=path.name,
            )
        )
        return {}


@contextmanager
def _quiet_stderr():
    """Send file descriptor 2 to nowhere for the block: Rust's panic message is not for the provider or the log."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _check_workbook(path: Path) -> str | None:
    """Why the workbook must not be parsed, or None: size, format, encryption, and every part's inflated size.

    Every part of the zip is checked, wherever it lives (a sheet may be stored anywhere the workbook's
    relationships point): its declared size and compression ratio first, then its real size while it is
    inflated in 1 MB steps, counting cells (with or without a namespace prefix) and the longest text.
    """
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return f"{path.name} is {size / 1e6:.0f} MB, over the 200 MB limit."
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return (
            f"{path.name} is password-protected or an old .xls file. Remove the password and save it as an "
            "Excel workbook (.xlsx)."
        )
    if not zipfile.is_zipfile(path.real):
        return f"{path.name} is not an Excel workbook (it may be damaged or cut short). Save it again as .xlsx."
    try:
        with zipfile.ZipFile(path.real) as z:
            members = z.infolist()
            if "xl/workbook.xml" not in z.namelist():
                return f"{path.name} is a zip file but not an Excel workbook. Save it again as .xlsx."
            declared = sum(i.file_size for i in members)
            if declared > MAX_SHEET_XML_BYTES:
                return (
                    f"{path.name} expands to {declared / 1e9:.1f} GB, far more than any return; "
                    "it was not opened. Send the three tables only."
                )
            for info in members:
                if info.file_size > 10 * 1024 * 1024 and info.file_size > MAX_MEMBER_RATIO * max(info.compress_size, 1):
                    return (
                        f"{path.name} expands to {info.file_size / 1e6:,.0f} MB "
                        f"from {info.compress_size / 1e6:,.1f} MB "
                        f"({info.filename}), which no real workbook does; it was not opened."
                    )
            cells = inflated = 0
            for info in members:
                if info.is_dir():
                    continue
                counted, size_read = _scan_member(z, info, MAX_SHEET_XML_BYTES - inflated)
                inflated += size_read
                cells += counted
                if cells > MAX_CELLS:
                    return (
                        f"{path.name} holds more than {MAX_CELLS:,} cells, the limit for a workbook. "
                        "Send the return as three CSV files instead."
                    )
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError) as exc:
        return f"{path.name} is damaged ({_first_line(exc)}). Save it again as .xlsx."
    except _Bomb as exc:
        return f"{path.name} {exc}; it was not opened. Send the three tables only."
    return None


class _Bomb(Exception):
    pass


# A cell element, with or without a namespace prefix: <c r="A1">, <x:c>, <c/>
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,63}:)?c[\s>/]")
_TAIL = 128
# A cell's or a row's position: r="XFD1048576" on a cell, r="1048576" on a row
_REF = re.compile(rb'\br="([A-Z]{0,7})(\d{1,10})"')


def _scan_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> tuple[int, int]:
    """Cells in one part and its inflated size, read in 1 MB steps so that a lying header cannot blow memory."""
    import numpy as np

    cells = inflated = run = last_row = last_col = 0
    tail = b""
    with z.open(info) as stream:
        while True:
            block = stream.read(1 << 20)
            if not block:
                break
            inflated += len(block)
            if inflated > budget:
                raise _Bomb(f"expands to more than {MAX_SHEET_XML_BYTES / 2**20:,.0f} MB ({info.filename})")
            tags = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 60)  # '<'
            if len(tags) == 0:
                longest = run = run + len(block)
            else:
                inner = int(np.diff(tags).max()) - 1 if len(tags) > 1 else 0
                longest = max(run + int(tags[0]), inner)
                run = len(block) - int(tags[-1]) - 1
            if max(longest, run) > MAX_TEXT_RUN_BYTES:
                run = max(longest, run)
                raise _Bomb(
                    f"holds {run / 1e6:,.1f} MB of text or space between two tags in {info.filename}, "
                    "more than a cell can hold"
                )
            chunk = tail + block
            cells += sum(1 for m in _CELL.finditer(chunk) if m.end() > len(tail))
            for m in _REF.finditer(chunk):
                if m.end() > len(tail):
                    row = int(m.group(2))
                    col = _column_number(m.group(1)) if m.group(1) else 1
                    last_row, last_col = max(last_row, row), max(last_col, col)
            if last_row * last_col > MAX_SHEET_AREA:
                raise _Bomb(
                    f"has a cell at row {last_row:,}, column {last_col:,} of {info.filename}: read as a "
                    f"rectangle from A1 that is over {MAX_SHEET_AREA:,} cells. Delete everything after the data"
                )
            tail = chunk[-_TAIL:]
            if cells > MAX_CELLS:
                break
    return cells, inflated


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


# Conforming a table ------------------------------------------------------------------------------


def _conform(
    table: str, frame: pl.DataFrame, out: RawReturn, workbook: bool = False, control: bool = True, plain: bool = False
) -> pl.DataFrame:
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
        out.findings.append(
            _finding(
                "FIL-005",
                table,
                f"The {table} table has columns the specification does not define ({shown}); they were ignored.",
                value=shown,
            )
        )
    missing = [c for c in TABLES[table] if c not in seen]
    for col in missing:
        out.findings.append(
            _finding(
                "FIL-003",
                table,
                f"The {table} table has no {col!r} column. Add it (header names: {', '.join(TABLES[table])}).",
                column=col,
            )
        )
    out.missing_columns[table] = set(missing)

    def blank_to_null(c: str, k: str) -> pl.Expr:
        if plain:  # already trimmed, and a blank cell is already null (see _plain)
            return pl.col(c).alias(k)
        text = pl.col(c).cast(pl.String).str.strip_chars()
        return pl.when(text.str.len_bytes() > 0).then(text).alias(k)

    blank_to_null = [blank_to_null(c, k) for c, k in renamed.items()]
    frame = (
        frame.lazy()
        .select(blank_to_null)
        .with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in missing])
        .select(TABLES[table])
    )
    if workbook:
        frame = frame.with_columns(
            # A real date cell comes through as "YYYY-MM-DD 00:00:00"; a whole number may come as "45.0".
            # A date cell holding 0, a negative number or NaN comes through as a day in 1899: the provider
            # never typed that, so say what it is instead of showing a date.
            [
                pl.when(pl.col(c).str.contains(r"^1[0-8]\d\d-"))
                .then(pl.lit("a number that is not a date (0 or less)"))
                .otherwise(pl.col(c).str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(?:\.0+)?$", "$1"))
                .alias(c)
                for c in DATE_COLUMNS[table]
            ]
            + [pl.col(c).str.replace(r"^(\d+)\.0+$", "$1") for c in TABLES[table] if c in _INT_COLUMNS]
        )
    frame = frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64)).collect()
    # Blank rows at the end of a sheet or file are not records.
    filled = pl.any_horizontal([pl.col(c).is_not_null() for c in TABLES[table]])
    last = frame.select(pl.when(filled).then(pl.col(ROW)).max()).item()
    frame = frame.head((last or 1) - 1)  # rows are numbered from 2 in order: a slice, not a copy of every column
    return _neutralise_control(table, frame, out) if control else frame


def _neutralise_control(table: str, frame: pl.DataFrame, out: RawReturn) -> pl.DataFrame:
    """Control characters in cells become U+FFFD, each such cell reported (FIL-008), so no output carries them."""
    columns = [c for c in TABLES[table] if c in frame.columns]
    hits = []
    for column in columns:
        bad = frame.filter(pl.col(column).str.contains(CONTROL))
        if bad.height:
            shown = pl.col(column).str.replace_all(CONTROL, "\ufffd").str.slice(0, 80)
            hits.append(
                bad.select(
                    pl.lit(table).alias("table"),
                    pl.col(ROW).alias("row_number"),
                    pl.col("case_ref").str.replace_all(CONTROL, "\ufffd").alias("case_ref")
                    if "case_ref" in columns
                    else pl.lit(None, dtype=pl.String).alias("case_ref"),
                    pl.lit(column).alias("column"),
                    pl.lit("FIL-008").alias("rule_id"),
                    pl.lit("W").alias("severity"),
                    shown.alias("value"),
                    pl.format(
                        "Row {}: {} holds a control character (shown as \ufffd); remove it.",
                        pl.col(ROW),
                        pl.lit(column),
                    ).alias("message"),
                )
            )
    if not hits:
        return frame
    out.cell_findings.append(pl.concat(hits))
    return frame.with_columns([pl.col(c).str.replace_all(CONTROL, "\ufffd") for c in columns])
