"""A deterministic corpus of hostile returns for ``returns validate`` (issue 11).

``build_corpus(folder)`` writes every case into ``folder/<case id>/`` under the names a provider
would use (``C05_2017Q3.xlsx`` or ``C05_2017Q3_<table>.csv``) and returns one :class:`Case` per
case: the files, the class of hostile input, and whether a readable return is impossible
(``unreadable=True``: the outcome must be Rejected, never any kind of Accepted).

Everything is small on disk but the CSV files whose hostility is their size (10 MB header, 30 MB
line, 50 MB of blank rows, 190 MB of rows just under the 200 MB limit). Decompression bombs are
written by :func:`write_zip`, a small zip writer that streams repeated content as one deflate
block (compressed once after a full flush and written N times), so a 5 GB member costs 5 MB of
disk, a few MB of memory and about a second; the same writer can lie about sizes, counts, methods
and flags, which ``zipfile`` will not do. Random choices come from ``random.Random(<text seed>)``, so the
corpus is byte-identical on every run with the same zlib.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from xml.sax.saxutils import escape

from probation_returns.spec import DATE_COLUMNS, TABLES
from tests.support.returns import BREACHES, CASES, CONTACTS

PROVIDER, QUARTER = "C05", "2017Q3"
WORKBOOK = f"{PROVIDER}_{QUARTER}.xlsx"
CSV_NAMES = {t: f"{PROVIDER}_{QUARTER}_{t}.csv" for t in TABLES}
MiB = 1 << 20
GB_1_5 = 1431  # MiB in 1.5 GB
INT_COLUMNS = {"ogrs3_2yr", "age_at_start"}


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # the class of hostile input
    unreadable: bool  # no readable return can be made of these files: must not be Accepted
    files: tuple[Path, ...]
    expect: str | None = None  # the exact outcome, for the control cases
    note: str = ""


@dataclass(frozen=True)
class _Spec:
    id: str
    kind: str
    unreadable: bool | None  # None: decided by the builder from the bytes it wrote (byte flips)
    build: Callable
    expect: str | None = None
    note: str = ""


_SPECS: list[_Spec] = []


def _add(
    id: str, kind: str, unreadable: bool | None, build: Callable, expect: str | None = None, note: str = ""
) -> None:
    assert id not in {s.id for s in _SPECS}, id
    _SPECS.append(_Spec(id, kind, unreadable, build, expect, note))


def case_ids() -> list[str]:
    """The ids of every case, without writing anything (for test parametrization)."""
    return [s.id for s in _SPECS]


def build_corpus(folder: Path) -> list[Case]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    base = _Base(folder / "_base")
    cases = []
    for spec in _SPECS:
        where = folder / spec.id
        where.mkdir(parents=True, exist_ok=True)
        built = spec.build(where, base)
        files, unreadable = built if isinstance(built, tuple) else (built, spec.unreadable)
        cases.append(Case(spec.id, spec.kind, bool(unreadable), tuple(files), spec.expect, spec.note))
    return cases


# The clean material every case starts from -------------------------------------------------------

SMALL = {"cases": CASES, "contacts": CONTACTS, "breaches": BREACHES}  # tests/support/returns.py: 3 cases, accepted


class _Base:
    """The small clean return, and a generated one (``returns generate``, C05 2017Q3, scale 0.01)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._generated: dict[str, bytes] | None = None
        self._project_workbook: bytes | None = None

    @property
    def generated(self) -> dict[str, bytes]:
        if self._generated is None:
            from probation_returns.calendar import Quarter
            from probation_returns.generator import generate

            generate(self.folder, [Quarter.parse(QUARTER)], [PROVIDER], scale=0.01, seed=7)
            self._generated = {t: (self.folder / PROVIDER / CSV_NAMES[t]).read_bytes() for t in TABLES}
        return self._generated

    @property
    def project_workbook(self) -> bytes:
        """The generated return as the project's own generator writes a workbook (openpyxl)."""
        if self._project_workbook is None:
            import polars as pl

            from probation_returns.generator.writers import write_workbook

            frames = {t: pl.read_csv(io.BytesIO(self.generated[t]), infer_schema=False) for t in TABLES}
            path = self.folder / "project.xlsx"
            write_workbook(frames, path)
            self._project_workbook = path.read_bytes()
        return self._project_workbook


def _rows(table: str) -> list[list[str]]:
    return [list(r) for r in SMALL[table]]


def _col(table: str, column: str) -> int:
    return TABLES[table].index(column)


def csv_bytes(table: str, rows: list[list[str]] | None = None, sep: str = ",", eol: str = "\n") -> bytes:
    rows = _rows(table) if rows is None else rows
    lines = [sep.join(TABLES[table])] + [sep.join(r) for r in rows]
    return (eol.join(lines) + eol).encode("utf-8")


def _write_csvs(folder: Path, **tables: bytes | None) -> list[Path]:
    """The three CSV files, each clean unless given (None: the file is not sent)."""
    paths = []
    for table in TABLES:
        data = tables.get(table, csv_bytes(table))
        if data is None:
            continue
        path = folder / CSV_NAMES[table]
        path.write_bytes(data)
        paths.append(path)
    return paths


def _cases_with(column: str, value: str, row: int = 0) -> bytes:
    rows = _rows("cases")
    rows[row][_col("cases", column)] = value
    return csv_bytes("cases", rows)


# A zip writer that can lie ---------------------------------------------------------------------


@dataclass(frozen=True)
class Repeat:
    """``head + unit * count + tail``, written without ever being held in memory."""

    head: bytes
    unit: bytes
    count: int
    tail: bytes = b""

    @property
    def size(self) -> int:
        return len(self.head) + len(self.unit) * self.count + len(self.tail)


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes | Repeat
    method: int = 8  # 8 deflate, 0 stored; anything else labels deflated bytes (14 LZMA, 99 AES)
    declared_size: int | None = None  # a lie about the inflated size, in both headers
    crc: int | None = None  # a lie about the CRC-32
    flags: int = 0  # bit 0: encrypted


def _encode(member: Member) -> tuple[int, int, int, list[tuple[bytes, int]]]:
    """CRC, size, compressed size, and the compressed bytes as (block, times) pieces."""
    data = member.data
    if isinstance(data, Repeat):
        z = zlib.compressobj(9, zlib.DEFLATED, -15)
        head = z.compress(data.head) + z.flush(zlib.Z_FULL_FLUSH)
        block = z.compress(data.unit) + z.flush(zlib.Z_FULL_FLUSH)  # refers to nothing before it
        tail = z.compress(data.tail) + z.flush()
        crc = zlib.crc32(data.head)
        for _ in range(data.count):
            crc = zlib.crc32(data.unit, crc)
        crc = zlib.crc32(data.tail, crc)
        pieces = [(head, 1), (block, data.count), (tail, 1)]
        return crc, data.size, len(head) + len(block) * data.count + len(tail), pieces
    if member.method == 0:
        body = data
    else:
        z = zlib.compressobj(9 if len(data) < 4 * MiB else 6, zlib.DEFLATED, -15)
        body = z.compress(data) + z.flush()
    return zlib.crc32(data), len(data), len(body), [(body, 1)]


def write_zip(
    path: Path,
    members: list[Member],
    *,
    prefix: bytes = b"",
    entries: int | None = None,
    zip64_entries: int | None = None,
) -> Path:
    """A zip file, streamed. ``entries`` lies in the end record; ``zip64_entries`` adds a zip64 one that lies."""
    with open(path, "wb") as f:
        f.write(prefix)
        central = []
        for m in members:
            crc, size, csize, pieces = _encode(m)
            crc = crc if m.crc is None else m.crc
            usize = size if m.declared_size is None else m.declared_size
            zip64 = usize >= 0xFFFFFFFF or csize >= 0xFFFFFFFF
            version = 45 if zip64 else 20
            name = m.name.encode("utf-8")
            extra = struct.pack("<HHQQ", 1, 16, usize, csize) if zip64 else b""
            sizes = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (csize, usize)
            offset = f.tell()
            f.write(
                struct.pack(
                    "<IHHHHHIIIHH", 0x04034B50, version, m.flags, m.method, 0, 0x21, crc, *sizes, len(name), len(extra)
                )
                + name
                + extra
            )
            for block, times in pieces:
                for _ in range(times):
                    f.write(block)
            central.append(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    version,
                    version,
                    m.flags,
                    m.method,
                    0,
                    0x21,
                    crc,
                    *sizes,
                    len(name),
                    len(extra),
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + name
                + extra
            )
        cd = b"".join(central)
        cd_offset = f.tell()
        f.write(cd)
        if zip64_entries is not None:
            record = f.tell()
            f.write(
                struct.pack(
                    "<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, zip64_entries, zip64_entries, len(cd), cd_offset
                )
            )
            f.write(struct.pack("<IIQI", 0x07064B50, 0, record, 1))
            f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
        else:
            n = len(members) if entries is None else entries
            f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(cd), cd_offset, 0))
    return path


def _repeat_to(unit: bytes, total: int, head: bytes, tail: bytes) -> Repeat:
    """``unit`` repeated in ~1 MiB blocks until the member holds at least ``total`` bytes."""
    block = unit * max(1, MiB // len(unit))
    return Repeat(head, block, -(-total // len(block)), tail)


# Workbooks written part by part ------------------------------------------------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
EXCEL_EPOCH = dt.date(1899, 12, 30)
STYLES = (
    XML_DECL + f'<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '</numFmts><fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/>'
    '</borders><cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0"/>'
    '<xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs>'
    "</styleSheet>"
).encode()


@dataclass(frozen=True)
class Raw:
    """A cell written as given; ``{ref}`` becomes its reference."""

    xml: str


def col_letters(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _cell(ref: str, v) -> str:
    if v is None:
        return ""
    if isinstance(v, Raw):
        return v.xml.replace("{ref}", ref)
    if isinstance(v, dt.date):
        return f'<c r="{ref}" s="1"><v>{(v - EXCEL_EPOCH).days}</v></c>'
    if isinstance(v, int | float):
        return f'<c r="{ref}"><v>{v}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'


def row_xml(n: int, values: list) -> str:
    return f'<row r="{n}">' + "".join(_cell(f"{col_letters(i)}{n}", v) for i, v in enumerate(values)) + "</row>"


def typed_rows(table: str, rows: list[list[str]] | None = None) -> list[list]:
    """The header and the rows, with dates as date cells and whole numbers as numbers."""
    out: list[list] = [list(TABLES[table])]
    for row in _rows(table) if rows is None else rows:
        values = []
        for column, v in zip(TABLES[table], row):
            if v == "":
                values.append(None)
            elif column in DATE_COLUMNS[table] and _is_date(v):
                values.append(dt.date.fromisoformat(v))
            elif column in INT_COLUMNS:
                values.append(int(v))
            else:
                values.append(v)
        out.append(values)
    return out


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
        return True
    except ValueError:
        return False


def sheet_xml(rows: list[list], *, before: str = "", doctype: str = "") -> bytes:
    body = "".join(row_xml(n, values) for n, values in enumerate(rows, start=1))
    return (
        XML_DECL + doctype + f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}">{before}<sheetData>{body}'
        "</sheetData></worksheet>"
    ).encode("utf-8")


def _sheet_parts(rows: list[list]) -> tuple[bytes, bytes]:
    """A sheet split around the end of its rows, to put a Repeat in between."""
    whole = sheet_xml(rows)
    cut = whole.rindex(b"</sheetData>")
    return whole[:cut], whole[cut:]


def workbook_members(
    sheets: dict[str, bytes | Repeat] | None = None,
    *,
    paths: dict[str, str] | None = None,
    sst: bytes | Repeat | None = None,
    styles: bytes | Repeat | None = STYLES,
    workbook_pr: str = "",
    targets: dict[str, str] | None = None,
) -> list[Member]:
    """The parts of a workbook: one sheet per table (clean unless given), in ``xl/worksheets/`` unless
    ``paths`` says elsewhere; ``targets`` overrides what workbook.xml.rels points at."""
    sheets = {t: sheet_xml(typed_rows(t)) for t in TABLES} | (sheets or {})
    paths = {name: f"xl/worksheets/sheet{i}.xml" for i, name in enumerate(sheets, start=1)} | (paths or {})
    targets = {name: paths[name].removeprefix("xl/") for name in sheets} | (targets or {})
    overrides = "".join(f'<Override PartName="/{paths[name]}" ContentType="{CT_SHEET}"/>' for name in sheets)
    content_types = (
        XML_DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        f'spreadsheetml.sheet.main+xml"/>{overrides}'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    ).encode()
    root_rels = (
        XML_DECL + f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ).encode()
    sheet_list = "".join(
        f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, start=1)
    )
    workbook = (
        XML_DECL + f'<workbook xmlns="{MAIN}" xmlns:r="{REL}">{workbook_pr}<sheets>{sheet_list}</sheets></workbook>'
    ).encode()
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="{escape(targets[name])}"/>'
        for i, name in enumerate(sheets, start=1)
    )
    n = len(sheets)
    if styles is not None:
        rels += f'<Relationship Id="rId{n + 1}" Type="{REL}/styles" Target="styles.xml"/>'
    if sst is not None:
        rels += f'<Relationship Id="rId{n + 2}" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
    members = [
        Member("[Content_Types].xml", content_types),
        Member("_rels/.rels", root_rels),
        Member("xl/workbook.xml", workbook),
        Member(
            "xl/_rels/workbook.xml.rels",
            (XML_DECL + f'<Relationships xmlns="{PKG_REL}">{rels}</Relationships>').encode(),
        ),
    ]
    if styles is not None:
        members.append(Member("xl/styles.xml", styles))
    members += [Member(paths[name], data) for name, data in sheets.items()]
    if sst is not None:
        members.append(Member("xl/sharedStrings.xml", sst))
    return members


def _change(members: list[Member], name: str, **changes) -> list[Member]:
    assert any(m.name == name for m in members), name
    return [dataclasses.replace(m, **changes) if m.name == name else m for m in members]


def _workbook(folder: Path, members: list[Member] | None = None, name: str = WORKBOOK, **zip_options) -> list[Path]:
    return [write_zip(folder / name, workbook_members() if members is None else members, **zip_options)]


def _cases_sheet_with(column: str, cell, row: int = 0) -> bytes:
    rows = typed_rows("cases")
    rows[row + 1][_col("cases", column)] = cell
    return sheet_xml(rows)


def _sst_workbook() -> list[Member]:
    """The clean workbook with its text in sharedStrings.xml, as Excel writes it."""
    strings: list[str] = []
    sheets = {}
    for table in TABLES:
        rows = typed_rows(table)
        for values in rows:
            for i, v in enumerate(values):
                if isinstance(v, str):
                    strings.append(v)
                    values[i] = Raw(f'<c r="{{ref}}" t="s"><v>{len(strings) - 1}</v></c>')
        sheets[table] = sheet_xml(rows)
    sst = (
        XML_DECL
        + f'<sst xmlns="{MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
        + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
        + "</sst>"
    ).encode()
    return workbook_members(sheets, sst=sst)


# Cases: controls --------------------------------------------------------------------------------

_add("control-csv-small", "control", False, lambda f, b: _write_csvs(f), expect="Accepted")
_add("control-csv-generated", "control", False, lambda f, b: _write_csvs(f, **b.generated), expect="Accepted")
_add(
    "control-csv-utf8-bom",
    "control",
    False,
    lambda f, b: _write_csvs(f, **{t: b"\xef\xbb\xbf" + csv_bytes(t) for t in TABLES}),
    expect="Accepted",
)
_add(
    "control-csv-crlf",
    "control",
    False,
    lambda f, b: _write_csvs(f, **{t: csv_bytes(t, eol="\r\n") for t in TABLES}),
    expect="Accepted",
)
_add(
    "control-xlsx-parts",
    "control",
    False,
    lambda f, b: _workbook(f),
    expect="Accepted",
    note="the workbook writer of this corpus: inline strings, date cells",
)
_add("control-xlsx-shared-strings", "control", False, lambda f, b: _workbook(f, _sst_workbook()), expect="Accepted")
_add(
    "control-xlsx-project-writer",
    "control",
    False,
    lambda f, b: [_put(f / WORKBOOK, b.project_workbook)],
    expect="Accepted",
)


def _put(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# Cases: CSV size -------------------------------------------------------------------------------


def _header_10m_commas(f, b):
    return _write_csvs(f, cases=b"," * 10_000_000 + b"\n" + csv_bytes("cases").split(b"\n", 1)[1])


def _extra_columns(f, b, padded: bool):
    extra = "".join(f",x{i:06d}" for i in range(100_000)).encode()
    lines = csv_bytes("cases").rstrip(b"\n").split(b"\n")
    pad = b"," * 100_000 if padded else b""
    return _write_csvs(f, cases=b"\n".join([lines[0] + extra] + [r + pad for r in lines[1:]]) + b"\n")


def _row_100k_fields(f, b):
    return _write_csvs(f, cases=csv_bytes("cases") + b"A100004" + b",x" * 100_000 + b"\n")


def _line_30mb(f, b, where: str):
    line = b"Q" * (30 * MiB)
    if where == "header":
        data = line + b"\n" + csv_bytes("cases").split(b"\n", 1)[1]
    else:
        data = csv_bytes("cases") + line + b"\n"
    return _write_csvs(f, cases=data)


def _blank_tail(f, b):
    return _write_csvs(f, cases=csv_bytes("cases") + b",,,,,,,,,,,,,,,,,,,\n" * 2_500_000)


def _rows_to_size_limit(f, b):
    """Distinct, valid-looking cases up to just under the 200 MB limit for a file."""
    row = ",".join(_rows("cases")[0][1:]).encode()
    count = 190_000_000 // (len(row) + 9)
    refs = (f"{chr(65 + i // 1_000_000)}{i % 1_000_000:06d}".encode() for i in range(count))
    body = b"".join(ref + b"," + row + b"\n" for ref in refs)
    return _write_csvs(f, cases=csv_bytes("cases", []) + body)


_add("csv-header-10m-commas", "csv-size", True, _header_10m_commas, note="10 MB header of commas, no column names")
_add("csv-header-100k-extra-columns", "csv-size", False, partial(_extra_columns, padded=True))
_add("csv-header-100k-extra-columns-short-rows", "csv-size", False, partial(_extra_columns, padded=False))
_add("csv-row-100k-fields", "csv-size", True, _row_100k_fields, note="ragged: a row far wider than the header")
_add("csv-30mb-line-no-separator-header", "csv-size", True, partial(_line_30mb, where="header"))
_add("csv-30mb-line-no-separator-row", "csv-size", False, partial(_line_30mb, where="row"))
_add(
    "csv-1.5mb-cell",
    "csv-size",
    False,
    lambda f, b: _write_csvs(f, cases=_cases_with("sentence_type", "X" * (3 * MiB // 2))),
)
_add(
    "csv-1.2mb-quoted-cell-with-newlines",
    "csv-size",
    False,
    lambda f, b: _write_csvs(f, cases=_cases_with("index_offence_group", '"' + 'a,b""\nc\r\n' * 150_000 + '"')),
)
_add(
    "csv-1mb-whitespace-line",
    "csv-size",
    False,
    lambda f, b: _write_csvs(f, contacts=csv_bytes("contacts").replace(b"\n", b"\n" + b" " * MiB + b"\n", 1)),
)
_add("csv-2.5m-blank-rows", "csv-size", False, _blank_tail, note="50 MB of ',,,' rows after the data")
_add(
    "csv-190mb-rows-at-size-limit",
    "csv-size",
    False,
    _rows_to_size_limit,
    note="1.7 million distinct rows, just under the 200 MB limit",
)

# Cases: NUL and control characters ---------------------------------------------------------------

_add(
    "csv-nul-in-cell",
    "csv-control",
    False,
    lambda f, b: _write_csvs(f, cases=_cases_with("index_offence_group", "TH\x00EFT")),
)
_add("csv-nul-as-separator", "csv-control", False, lambda f, b: _nul_separators(f, b))
_add(
    "csv-nul-row", "csv-control", False, lambda f, b: _write_csvs(f, cases=csv_bytes("cases") + b"\x00" * 4096 + b"\n")
)
_add("csv-all-nul", "csv-control", True, lambda f, b: _write_csvs(f, cases=b"\x00" * 65536))
_add(
    "csv-control-characters",
    "csv-control",
    False,
    lambda f, b: _write_csvs(
        f,
        cases=csv_bytes(
            "cases",
            [
                [
                    v + "\x1b[31m"
                    if i == _col("cases", "sex")
                    else v + "\x07"
                    if i == _col("cases", "index_offence_group")
                    else v.replace("100", "1\x0b00")
                    if i == 0
                    else v
                    for i, v in enumerate(r)
                ]
                for r in _rows("cases")
            ],
        ),
    ),
)
_add(
    "csv-unicode-controls",
    "csv-control",
    False,
    lambda f, b: _write_csvs(
        f,
        contacts=csv_bytes(
            "contacts",
            [
                [v + ch if v else v for v in r]
                for r, ch in zip(_rows("contacts"), ["\x7f", "\x85", "\u2028", "\u202e", "\ufeff"])
            ],
        ),
    ),
)

# Cases: encodings ------------------------------------------------------------------------------


def _encoded(codec: str, bom: bytes = b"") -> Callable:
    def build(f, b):
        text = csv_bytes("cases").decode().replace("THEFT", "THÉFT")
        return _write_csvs(f, cases=bom + text.encode(codec))

    return build


_add("enc-utf16-le-bom", "encoding", True, _encoded("utf-16-le", b"\xff\xfe"))
_add("enc-utf16-be-bom", "encoding", True, _encoded("utf-16-be", b"\xfe\xff"))
_add("enc-utf16-le-no-bom", "encoding", True, _encoded("utf-16-le"))
_add("enc-utf32-bom", "encoding", True, _encoded("utf-32"))
_add("enc-latin1", "encoding", True, _encoded("latin-1"))
_add(
    "enc-cp1252-smart-quotes",
    "encoding",
    True,
    lambda f, b: _write_csvs(f, cases=csv_bytes("cases").replace(b"THEFT", b"\x93THEFT\x94")),
)
_add(
    "enc-invalid-utf8",
    "encoding",
    True,
    lambda f, b: _write_csvs(f, cases=csv_bytes("cases").replace(b"THEFT", b"TH\xc0\xafE\xed\xa0\x80FT\xe2\x82")),
)
_add(
    "enc-double-bom",
    "encoding",
    False,
    lambda f, b: _write_csvs(f, cases=b"\xef\xbb\xbf\xef\xbb\xbf" + csv_bytes("cases")),
)

# Cases: separators, quotes, ragged rows, line ends -----------------------------------------------

_add("csv-semicolons", "csv-syntax", True, lambda f, b: _write_csvs(f, contacts=csv_bytes("contacts", sep=";")))
_add("csv-tabs", "csv-syntax", True, lambda f, b: _write_csvs(f, cases=csv_bytes("cases", sep="\t")))
_add("csv-pipes", "csv-syntax", True, lambda f, b: _write_csvs(f, breaches=csv_bytes("breaches", sep="|")))
_add(
    "csv-unbalanced-quote-to-eof",
    "csv-syntax",
    True,
    lambda f, b: _write_csvs(f, cases=csv_bytes("cases").replace(b"A100002", b'"A100002')),
)
_add(
    "csv-unbalanced-quote-last-byte",
    "csv-syntax",
    True,
    lambda f, b: _write_csvs(f, breaches=csv_bytes("breaches") + b'"'),
)
_add(
    "csv-stray-quote-in-field",
    "csv-syntax",
    False,
    lambda f, b: _write_csvs(f, cases=csv_bytes("cases").replace(b"THEFT", b'TH"EFT')),
)
_add(
    "csv-ragged-long-row",
    "csv-syntax",
    True,
    lambda f, b: _write_csvs(f, contacts=csv_bytes("contacts") + b"A100001,2017-07-06,F2F,ATTENDED,,extra,extra\n"),
)
_add(
    "csv-ragged-short-row",
    "csv-syntax",
    False,
    lambda f, b: _write_csvs(f, contacts=csv_bytes("contacts") + b"A100001,2017-07-06\n"),
)
_add("csv-cr-only-line-ends", "csv-syntax", False, lambda f, b: _write_csvs(f, cases=csv_bytes("cases", eol="\r")))
_add(
    "csv-mixed-line-ends",
    "csv-syntax",
    False,
    lambda f, b: _write_csvs(
        f,
        cases=b"".join(
            line + end for line, end in zip(csv_bytes("cases").split(b"\n")[:4], [b"\r\n", b"\n", b"\r", b"\r\n"])
        ),
    ),
)
_add(
    "csv-header-all-blank-names",
    "csv-syntax",
    True,
    lambda f, b: _write_csvs(f, cases=b"," * 19 + b"\n" + csv_bytes("cases").split(b"\n", 1)[1]),
)
_add(
    "csv-duplicate-header-columns",
    "csv-syntax",
    False,
    lambda f, b: _write_csvs(f, breaches=csv_bytes("breaches").replace(b"pack_complete", b"case_ref", 1)),
)


def _long_header_name(f, b):
    lines = csv_bytes("breaches").rstrip(b"\n").split(b"\n")
    return _write_csvs(f, breaches=b"\n".join([lines[0] + b"," + b"n" * MiB] + [r + b"," for r in lines[1:]]) + b"\n")


def _nul_separators(f, b):
    lines = csv_bytes("cases").split(b"\n")
    lines[2] = lines[2].replace(b",", b"\x00")
    return _write_csvs(f, cases=b"\n".join(lines))


_add("csv-1mb-header-name", "csv-syntax", False, _long_header_name)

# Cases: empty files ------------------------------------------------------------------------------

_add("empty-all-three", "empty", True, lambda f, b: _write_csvs(f, cases=b"", contacts=b"", breaches=b""))
_add("empty-cases", "empty", True, lambda f, b: _write_csvs(f, cases=b""))
_add("empty-breaches", "empty", True, lambda f, b: _write_csvs(f, breaches=b""))
_add("empty-cases-header-only", "empty", True, lambda f, b: _write_csvs(f, cases=csv_bytes("cases", [])))
_add("empty-cases-whitespace", "empty", True, lambda f, b: _write_csvs(f, cases=b"  \n\t\n \r\n"))
_add("empty-cases-newlines", "empty", True, lambda f, b: _write_csvs(f, cases=b"\n" * 1000))
_add(
    "empty-contacts-breaches-header-only",
    "empty",
    False,
    lambda f, b: _write_csvs(f, contacts=csv_bytes("contacts", []), breaches=csv_bytes("breaches", [])),
)
_add("empty-workbook-file", "empty", True, lambda f, b: [_put(f / WORKBOOK, b"")])
_add("empty-only-cases-sent", "empty", True, lambda f, b: _write_csvs(f, contacts=None, breaches=None))

# Cases: extreme numbers and impossible dates in CSV ---------------------------------------------


def _csv_values(**values: str):
    def build(f, b):
        rows = _rows("cases")
        for column, v in values.items():
            rows[0][_col("cases", column)] = v
        return _write_csvs(f, cases=csv_bytes("cases", rows))

    return build


_add("csv-num-1e308", "numbers", False, _csv_values(ogrs3_2yr="1e308", age_at_start="1E308"))
_add("csv-num-minus-zero", "numbers", False, _csv_values(ogrs3_2yr="-0", age_at_start="-0.0"))
_add("csv-num-huge-integers", "numbers", False, _csv_values(ogrs3_2yr="9" * 400, age_at_start="18446744073709551617"))
_add("csv-num-1e309-nan-inf", "numbers", False, _csv_values(ogrs3_2yr="1e309", age_at_start="NaN", em_only="inf"))
_add("csv-num-100k-digits", "numbers", False, _csv_values(ogrs3_2yr="4" + "0" * 100_000))
_add("csv-date-0000-00-00", "dates", False, _csv_values(start_date="0000-00-00"))
_add(
    "csv-date-9999-12-31",
    "dates",
    False,
    _csv_values(sentence_date="9999-12-31", termination_date="9999-12-31", termination_reason="COMPLETED"),
)
_add("csv-date-2017-02-30", "dates", False, _csv_values(start_date="2017-02-30"))
_add(
    "csv-date-extreme-years",
    "dates",
    False,
    _csv_values(
        sentence_date="-0001-01-01",
        start_date="+275760-09-13",
        sentence_plan_date="99999-01-01",
        first_appointment_date="2017-07-05T25:61:61",
    ),
)

# Cases: byte flips and truncations of a valid CSV ---------------------------------------------------


def _flipped(data: bytes, seed: str, flips: int) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(flips):
        out[rng.randrange(len(out))] ^= rng.randrange(1, 256)
    return bytes(out)


_FLIPS = [1, 1, 2, 3, 4, 8, 16, 32, 64, 128, 512, 2048]
for _i, _n in enumerate(_FLIPS):
    _table = list(TABLES)[_i % 3]
    _add(
        f"csv-flip-{_i:02d}-{_table}-{_n}",
        "byte-flip",
        False,
        lambda f, b, t=_table, n=_n, i=_i: _write_csvs(
            f, **(b.generated | {t: _flipped(b.generated[t], f"csv-flip-{i}", n)})
        ),
    )


def _truncated_csv(f, b, table: str, at: Callable[[bytes], int]):
    data = b.generated[table]
    return _write_csvs(f, **(b.generated | {table: data[: at(data)]}))


_add("csv-trunc-cases-1-byte", "truncation", True, partial(_truncated_csv, table="cases", at=lambda d: 1))
_add("csv-trunc-cases-mid-header", "truncation", True, partial(_truncated_csv, table="cases", at=lambda d: 97))
_add(
    "csv-trunc-cases-mid-row", "truncation", False, partial(_truncated_csv, table="cases", at=lambda d: len(d) // 2 + 7)
)
_add(
    "csv-trunc-cases-last-newline", "truncation", False, partial(_truncated_csv, table="cases", at=lambda d: len(d) - 1)
)
_add(
    "csv-trunc-contacts-mid-row",
    "truncation",
    False,
    partial(_truncated_csv, table="contacts", at=lambda d: len(d) * 3 // 4 + 3),
)
_add(
    "csv-trunc-mid-quoted-field",
    "truncation",
    True,
    lambda f, b: _write_csvs(
        f, cases=(lambda d: d[: d.index(b"BIKE")])(_cases_with("index_offence_group", '"THEFT, OF A ""BIKE"""', row=2))
    ),
)

# Cases: decompression bombs ----------------------------------------------------------------------


def _bomb_cell_sheet(size: int) -> Repeat:
    rows = typed_rows("cases")[:1]
    head, tail = _sheet_parts(rows)
    return _repeat_to(b"A", size, head + b'<row r="2"><c r="A2" t="inlineStr"><is><t>', b"</t></is></c></row>" + tail)


def _whitespace_sheet(size: int) -> Repeat:
    rows = typed_rows("cases")
    head, tail = _sheet_parts(rows[:2])
    rest = sheet_xml(rows)
    rest = rest[rest.index(b'<row r="3"') : rest.rindex(b"</sheetData>")]
    return _repeat_to(b" ", size, head, rest + tail)


def _sst_one_string(size: int) -> Repeat:
    return _repeat_to(
        b"A", size, (XML_DECL + f'<sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>').encode(), b"</t></si></sst>"
    )


def _sst_many_strings(size: int) -> Repeat:
    return _repeat_to(
        b"<si><t>x</t></si>",
        size,
        (XML_DECL + f'<sst xmlns="{MAIN}" count="100000000" uniqueCount="100000000">').encode(),
        b"</sst>",
    )


def _sheet_with_shared_cell() -> bytes:
    return _cases_sheet_with("case_ref", Raw('<c r="{ref}" t="s"><v>0</v></c>'))


OTHER = {"cases": "xl/other/cases.xml"}
_add(
    "bomb-other-path-1.5gb-cell",
    "zip-bomb",
    True,
    lambda f, b: _workbook(f, workbook_members({"cases": _bomb_cell_sheet(GB_1_5 * MiB)}, paths=OTHER)),
    note="cases sheet outside xl/worksheets/",
)
_add(
    "bomb-other-path-5gb-whitespace",
    "zip-bomb",
    True,
    lambda f, b: _workbook(f, workbook_members({"cases": _whitespace_sheet(5000 * MiB)}, paths=OTHER)),
)
_add(
    "bomb-worksheets-1.5gb-cell",
    "zip-bomb",
    True,
    lambda f, b: _workbook(f, workbook_members({"cases": _bomb_cell_sheet(GB_1_5 * MiB)})),
)
_add(
    "bomb-shared-strings-1.5gb-one-string",
    "zip-bomb",
    True,
    lambda f, b: _workbook(
        f, workbook_members({"cases": _sheet_with_shared_cell()}, sst=_sst_one_string(GB_1_5 * MiB))
    ),
)
_add(
    "bomb-shared-strings-1.5gb-88m-strings",
    "zip-bomb",
    True,
    lambda f, b: _workbook(
        f, workbook_members({"cases": _sheet_with_shared_cell()}, sst=_sst_many_strings(GB_1_5 * MiB))
    ),
)
_add(
    "bomb-styles-1.5gb-whitespace",
    "zip-bomb",
    True,
    lambda f, b: _workbook(
        f, workbook_members(styles=_repeat_to(b" ", GB_1_5 * MiB, STYLES[: -len(b"</styleSheet>")], b"</styleSheet>"))
    ),
)


def _many_cells(cells: int, prefix: bool) -> Repeat:
    p = "x:" if prefix else ""
    ns = f'xmlns:x="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    header = "".join(f'<{p}c t="inlineStr"><{p}is><{p}t>{c}</{p}t></{p}is></{p}c>' for c in TABLES["cases"])
    head = f"{XML_DECL}<{p}worksheet {ns}><{p}sheetData><{p}row>{header}</{p}row>".encode()
    unit = (f"<{p}row>" + f"<{p}c><{p}v>1</{p}v></{p}c>" * 20 + f"</{p}row>").encode()
    rows = cells // 20
    return Repeat(head, unit * 1000, -(-rows // 1000), f"</{p}sheetData></{p}worksheet>".encode())


def _many_varied_cells(cells: int) -> bytes:
    """Prefixed cells with random numbers: compresses about 10:1, like a real sheet."""
    rng = random.Random("cells")
    header = "".join(f'<x:c t="inlineStr"><x:is><x:t>{c}</x:t></x:is></x:c>' for c in TABLES["cases"])
    rows = [
        "<x:row>" + "".join(f"<x:c><x:v>{rng.randrange(1000)}</x:v></x:c>" for _ in range(20)) + "</x:row>"
        for _ in range(cells // 20)
    ]
    return (
        f'{XML_DECL}<x:worksheet xmlns:x="{MAIN}"><x:sheetData><x:row>{header}</x:row>'
        + "".join(rows)
        + "</x:sheetData></x:worksheet>"
    ).encode()


_add(
    "cells-prefixed-x-c-2.5m",
    "cell-count",
    True,
    lambda f, b: _workbook(f, workbook_members({"cases": _many_varied_cells(2_500_000)})),
    note="<x:c> cells are not counted as <c; realistic ratio",
)
_add(
    "cells-prefixed-x-c-2.5m-repetitive",
    "cell-count",
    True,
    lambda f, b: _workbook(f, workbook_members({"cases": _many_cells(2_500_000, prefix=True)})),
)
_add(
    "cells-prefixed-x-c-25m",
    "cell-count",
    True,
    lambda f, b: _workbook(f, workbook_members({"cases": _many_cells(25_000_000, prefix=True)})),
)
_add(
    "cells-plain-2.5m",
    "cell-count",
    True,
    lambda f, b: _workbook(f, workbook_members({"cases": _many_cells(2_500_000, prefix=False)})),
)

# Cases: zip members that lie -----------------------------------------------------------------------

_add(
    "lie-sheet-declares-1kb-inflates-1.5gb",
    "zip-lie",
    True,
    lambda f, b: _workbook(
        f,
        _change(
            workbook_members({"cases": _whitespace_sheet(GB_1_5 * MiB)}), "xl/worksheets/sheet1.xml", declared_size=1024
        ),
    ),
)
_add(
    "lie-other-path-declares-1kb-inflates-1.5gb",
    "zip-lie",
    True,
    lambda f, b: _workbook(
        f,
        _change(
            workbook_members({"cases": _whitespace_sheet(GB_1_5 * MiB)}, paths=OTHER),
            OTHER["cases"],
            declared_size=1024,
        ),
    ),
)
_add(
    "lie-shared-strings-declares-1kb-inflates-1.5gb",
    "zip-lie",
    True,
    lambda f, b: _workbook(
        f,
        _change(
            workbook_members({"cases": _sheet_with_shared_cell()}, sst=_sst_many_strings(GB_1_5 * MiB)),
            "xl/sharedStrings.xml",
            declared_size=1024,
        ),
    ),
)
_add(
    "lie-sheet-declares-1tb",
    "zip-lie",
    True,
    lambda f, b: _workbook(f, _change(workbook_members(), "xl/worksheets/sheet1.xml", declared_size=1 << 40)),
)
_add(
    "lie-shared-strings-declares-4gb",
    "zip-lie",
    True,
    lambda f, b: _workbook(f, _change(_sst_workbook(), "xl/sharedStrings.xml", declared_size=0xFFFFFFFE)),
)
_add(
    "lie-sheet-declares-0-bytes",
    "zip-lie",
    True,
    lambda f, b: _workbook(f, _change(workbook_members(), "xl/worksheets/sheet1.xml", declared_size=0)),
)
_add(
    "lie-sheet-bad-crc",
    "zip-lie",
    True,
    lambda f, b: _workbook(f, _change(workbook_members(), "xl/worksheets/sheet1.xml", crc=0x12345678)),
)
_add("lie-end-record-65535-entries", "zip-lie", True, lambda f, b: _workbook(f, entries=65535))
_add("lie-zip64-end-record-2e62-entries", "zip-lie", True, lambda f, b: _workbook(f, zip64_entries=1 << 62))

# Cases: zip tricks and files that are not workbooks ------------------------------------------------

_add("zip-not-a-workbook", "zip-trick", True, lambda f, b: _workbook(f, [Member("readme.txt", b"hello\n")]))
_add("zip-empty", "zip-trick", True, lambda f, b: _workbook(f, []))
_add(
    "zip-workbook-without-sheets",
    "zip-trick",
    True,
    lambda f, b: _workbook(f, [m for m in workbook_members() if not m.name.startswith("xl/worksheets/")]),
)
_add("zip-nested-workbook", "zip-trick", True, lambda f, b: _workbook(f, [Member(WORKBOOK, b.project_workbook)]))
_add(
    "zip-encrypted-flag",
    "encrypted",
    True,
    lambda f, b: _workbook(f, [dataclasses.replace(m, flags=1) for m in workbook_members()]),
)
_add(
    "zip-method-aes-99",
    "encrypted",
    True,
    lambda f, b: _workbook(f, [dataclasses.replace(m, method=99) for m in workbook_members()]),
)
_add(
    "zip-method-lzma-14",
    "zip-trick",
    True,
    lambda f, b: _workbook(f, _change(workbook_members(), "xl/worksheets/sheet1.xml", method=14)),
)
_add(
    "zip-stored-members",
    "zip-trick",
    False,
    lambda f, b: _workbook(f, [dataclasses.replace(m, method=0) for m in workbook_members()]),
)
_add("zip-junk-before", "zip-trick", False, lambda f, b: _workbook(f, prefix=b"MZ" + b"\x00" * 1022))
_add(
    "zip-duplicate-sheet-member",
    "zip-trick",
    False,
    lambda f, b: _workbook(
        f, workbook_members() + [Member("xl/worksheets/sheet1.xml", sheet_xml(typed_rows("cases")[:1]))]
    ),
)
_add(
    "zip-backslash-names",
    "zip-trick",
    False,
    lambda f, b: _workbook(
        f,
        [
            dataclasses.replace(m, name=m.name.replace("/", "\\")) if m.name.startswith("xl/worksheets/") else m
            for m in workbook_members()
        ],
    ),
)
_add(
    "zip-other-path-small",
    "zip-trick",
    False,
    lambda f, b: _workbook(f, workbook_members(paths=OTHER)),
    note="a clean cases sheet outside xl/worksheets/",
)
_add(
    "zip-rels-target-traversal",
    "zip-trick",
    True,
    lambda f, b: _workbook(f, workbook_members(targets={"cases": "../../../../etc/passwd"})),
)
_add(
    "zip-rels-target-absolute",
    "zip-trick",
    False,
    lambda f, b: _workbook(
        f, workbook_members(targets={t: f"/xl/worksheets/sheet{i}.xml" for i, t in enumerate(TABLES, start=1)})
    ),
)
_add(
    "zip-rels-target-workbook-itself",
    "zip-trick",
    True,
    lambda f, b: _workbook(f, workbook_members(targets={"cases": "workbook.xml"})),
)
_add(
    "zip-no-workbook-rels",
    "zip-trick",
    False,
    lambda f, b: _workbook(f, [m for m in workbook_members() if m.name != "xl/_rels/workbook.xml.rels"]),
)
_add(
    "zip-no-workbook-xml",
    "zip-trick",
    True,
    lambda f, b: _workbook(f, [m for m in workbook_members() if m.name != "xl/workbook.xml"]),
)
_add(
    "zip-no-content-types",
    "zip-trick",
    False,
    lambda f, b: _workbook(f, [m for m in workbook_members() if m.name != "[Content_Types].xml"]),
)


def _ole(encrypted: bool) -> bytes:
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    names = "EncryptionInfo\x00EncryptedPackage\x00" if encrypted else "Workbook\x00"
    body = names.encode("utf-16-le")
    return (header + b"\x00" * (512 - len(header)) + body).ljust(4096, b"\x00")


_add("ole-old-xls", "not-a-workbook", True, lambda f, b: [_put(f / WORKBOOK, _ole(False))])
_add("ole-encrypted-package", "encrypted", True, lambda f, b: [_put(f / WORKBOOK, _ole(True))])
_add(
    "xlsx-random-bytes",
    "not-a-workbook",
    True,
    lambda f, b: [_put(f / WORKBOOK, random.Random("random").randbytes(65536))],
)
_add("xlsx-holding-csv-text", "not-a-workbook", True, lambda f, b: [_put(f / WORKBOOK, csv_bytes("cases"))])
_add("xlsx-pk-magic-only", "not-a-workbook", True, lambda f, b: [_put(f / WORKBOOK, b"PK\x03\x04" + b"\x00" * 60)])
_add(
    "csv-holding-a-workbook",
    "not-a-workbook",
    True,
    lambda f, b: _write_csvs(f, cases=write_zip(f / "wb.zip", workbook_members()).read_bytes()),
)
_add("csv-holding-ole", "encrypted", True, lambda f, b: _write_csvs(f, cases=_ole(True)))

# Cases: XML inside the workbook ------------------------------------------------------------------

_LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>"
)
_add(
    "xml-billion-laughs",
    "xml",
    False,
    lambda f, b: _workbook(
        f,
        workbook_members(
            {
                "cases": sheet_xml([*typed_rows("cases")[:1], ["&lol9;"]], doctype=_LAUGHS).replace(
                    b"&amp;lol9;", b"&lol9;"
                )
            }
        ),
    ),
)
_add(
    "xml-external-entity",
    "xml",
    False,
    lambda f, b: _workbook(
        f,
        workbook_members(
            {
                "cases": _cases_sheet_with("case_ref", "&xxe;")
                .replace(b"&amp;xxe;", b"&xxe;")
                .replace(
                    b"<worksheet", b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><worksheet', 1
                )
            }
        ),
    ),
)
_add(
    "xml-1m-nested-elements",
    "xml",
    False,
    lambda f, b: _workbook(
        f,
        workbook_members(
            {
                "cases": _cases_sheet_with(
                    "termination_reason",
                    Raw(
                        '<c r="{ref}" t="inlineStr"><is><t>X</t></is>' + "<a>" * 1_000_000 + "</a>" * 1_000_000 + "</c>"
                    ),
                )
            }
        ),
    ),
)
_add(
    "xml-100mb-attribute",
    "xml",
    False,
    lambda f, b: _workbook(
        f,
        workbook_members(
            {
                "cases": _repeat_to(
                    b"z",
                    100 * MiB,
                    _sheet_parts(typed_rows("cases"))[0] + b'<row r="5" spans="',
                    b'"/>' + _sheet_parts([])[1],
                )
            }
        ),
    ),
)
_add(
    "xml-truncated-sheet",
    "xml",
    True,
    lambda f, b: _workbook(
        f, workbook_members({"cases": (lambda s: s[: s.index(b'<row r="3"') + 40])(sheet_xml(typed_rows("cases")))})
    ),
)
_add("xml-empty-sheet-member", "xml", True, lambda f, b: _workbook(f, workbook_members({"cases": b""})))
_add(
    "xml-invalid-utf8-in-cell",
    "xml",
    False,
    lambda f, b: _workbook(
        f, workbook_members({"cases": sheet_xml(typed_rows("cases")).replace(b"THEFT", b"TH\xff\xfeEFT")})
    ),
)
_add(
    "xml-utf16-sheet",
    "xml",
    False,
    lambda f, b: _workbook(
        f,
        workbook_members(
            {
                "cases": b"\xff\xfe"
                + sheet_xml(typed_rows("cases"))
                .decode()
                .replace('encoding="UTF-8"', 'encoding="UTF-16"')
                .encode("utf-16-le")
            }
        ),
    ),
)
_add(
    "xml-shared-string-index-out-of-range",
    "xml",
    False,
    lambda f, b: _workbook(
        f,
        _change(
            _sst_workbook(),
            "xl/worksheets/sheet1.xml",
            data=sheet_xml(
                [
                    *typed_rows("cases")[:2],
                    *[[Raw(f'<c r="{{ref}}" t="s"><v>{v}</v></c>')] * 20 for v in ("4294967295", "-1", "abc")],
                ]
            ),
        ),
    ),
)
_add(
    "xml-style-index-out-of-range",
    "xml",
    False,
    lambda f, b: _workbook(
        f,
        workbook_members(
            {"cases": _cases_sheet_with("start_date", Raw('<c r="{ref}" s="4294967295"><v>42920</v></c>'))}
        ),
    ),
)
_add(
    "xml-odd-cell-types",
    "xml",
    False,
    lambda f, b: _workbook(
        f,
        workbook_members(
            {
                "cases": sheet_xml(
                    [
                        *typed_rows("cases")[:2],
                        [
                            "A100002",
                            Raw('<c r="{ref}" t="e"><v>#DIV/0!</v></c>'),
                            Raw('<c r="{ref}" t="b"><v>1</v></c>'),
                            Raw('<c r="{ref}" t="str"><f>1/0</f></c>'),
                            Raw('<c r="{ref}" t="zzz"><v>?</v></c>'),
                            Raw('<c r="{ref}"><v></v></c>'),
                            Raw('<c r="{ref}" t="n"><v>abc</v></c>'),
                        ],
                    ]
                )
            }
        ),
    ),
)
_add(
    "xml-two-sheets-named-cases",
    "xml",
    False,
    lambda f, b: _workbook(f, workbook_members({"CASES": sheet_xml(typed_rows("cases")[:1])})),
)

# Cases: cell references that imply huge ranges ----------------------------------------------------


def _far_cell(ref: str, dimension: str = "") -> Callable:
    def build(f, b):
        rows = typed_rows("cases")
        sheet = sheet_xml(rows, before=f'<dimension ref="{dimension}"/>' if dimension else "")
        if ref:
            sheet = sheet.replace(
                b"</sheetData>",
                (
                    f'<row r="{_row_of(ref)}"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
                ).encode(),
            )
        return _workbook(f, workbook_members({"cases": sheet}))

    return build


def _row_of(ref: str) -> str:
    return "".join(ch for ch in ref if ch.isdigit()) or "1"


_add("ref-last-cell-XFD1048576", "cell-ref", False, _far_cell("XFD1048576"))
_add("ref-dimension-A1-XFD1048576", "cell-ref", False, _far_cell("", dimension="A1:XFD1048576"))
_add("ref-row-1048576", "cell-ref", False, _far_cell("A1048576"))
_add("ref-beyond-excel-A4294967296", "cell-ref", False, _far_cell("A4294967296"))
_add("ref-beyond-excel-ZZZZZZZ1", "cell-ref", False, _far_cell("ZZZZZZZ1"))
_add(
    "ref-garbage",
    "cell-ref",
    False,
    lambda f, b: _workbook(
        f,
        workbook_members(
            {
                "cases": sheet_xml(typed_rows("cases"))
                .replace(b'r="A3"', b'r=""')
                .replace(b'r="B3"', b'r="A0"')
                .replace(b'r="C3"', b'r="-1"')
            }
        ),
    ),
)

# Cases: date cells and numbers in a workbook --------------------------------------------------------

for _label, _value in [
    ("minus-1e309", "-1e309"),
    ("nan", "NaN"),
    ("minus-1", "-1"),
    ("1e309", "1e309"),
    ("1e15", "1e15"),
    ("inf", "INF"),
    ("2958466", "2958466"),
    ("minus-693594", "-693594"),
    ("1e308", "1e308"),
    ("tiny-4.9e-324", "4.9e-324"),
]:
    _add(
        f"xlsx-date-cell-{_label}",
        "xlsx-date",
        False,
        lambda f, b, v=_value: _workbook(
            f, workbook_members({"cases": _cases_sheet_with("start_date", Raw(f'<c r="{{ref}}" s="1"><v>{v}</v></c>'))})
        ),
    )
_add(
    "xlsx-date-cell-1904-minus-1",
    "xlsx-date",
    False,
    lambda f, b: _workbook(
        f,
        workbook_members(
            {"cases": _cases_sheet_with("start_date", Raw('<c r="{ref}" s="2"><v>-1</v></c>'))},
            workbook_pr='<workbookPr date1904="1"/>',
        ),
    ),
)
for _label, _value in [
    ("0000-00-00", "0000-00-00T00:00:00"),
    ("9999-12-31", "9999-12-31T23:59:59"),
    ("2017-02-30", "2017-02-30"),
    ("year-275760", "+275760-09-13T00:00:00"),
]:
    _add(
        f"xlsx-iso-date-cell-{_label}",
        "xlsx-date",
        False,
        lambda f, b, v=_value: _workbook(
            f, workbook_members({"cases": _cases_sheet_with("start_date", Raw(f'<c r="{{ref}}" t="d"><v>{v}</v></c>'))})
        ),
    )
_add(
    "xlsx-text-impossible-dates",
    "dates",
    False,
    lambda f, b: _workbook(
        f,
        workbook_members(
            {
                "cases": sheet_xml(
                    typed_rows(
                        "cases",
                        [
                            [
                                {
                                    "start_date": "0000-00-00",
                                    "sentence_date": "2017-02-30",
                                    "termination_date": "9999-12-31",
                                }.get(c, v)
                                for c, v in zip(TABLES["cases"], r)
                            ]
                            for r in _rows("cases")
                        ],
                    )
                )
            }
        ),
    ),
)


def _numbers_sheet(ogrs: str, age: str) -> bytes:
    rows = typed_rows("cases")
    rows[1][_col("cases", "ogrs3_2yr")] = Raw(f'<c r="{{ref}}"><v>{ogrs}</v></c>')
    rows[1][_col("cases", "age_at_start")] = Raw(f'<c r="{{ref}}"><v>{age}</v></c>')
    return sheet_xml(rows)


for _label, _ogrs, _age in [
    ("1e308", "1e308", "1.7976931348623157e308"),
    ("minus-zero", "-0", "-0.0"),
    ("huge", "123456789012345678901234567890", "1e400"),
    ("nan-inf", "NaN", "-INF"),
]:
    _add(
        f"xlsx-num-{_label}",
        "numbers",
        False,
        lambda f, b, o=_ogrs, a=_age: _workbook(f, workbook_members({"cases": _numbers_sheet(o, a)})),
    )

# Cases: byte flips and truncations of a valid workbook ----------------------------------------------


def _zip_intact(original: bytes, changed: bytes) -> bool:
    """Whether Python's zipfile still reads every member of ``original`` from ``changed``, unchanged."""
    try:
        with zipfile.ZipFile(io.BytesIO(original)) as a, zipfile.ZipFile(io.BytesIO(changed)) as b:
            if a.namelist() != b.namelist():
                return False
            return all(a.read(n) == b.read(n) for n in a.namelist())
    except Exception:
        return False


def _flipped_workbook(f, b, i: int, flips: int):
    original = b.project_workbook
    changed = _flipped(original, f"xlsx-flip-{i}", flips)
    return [_put(f / WORKBOOK, changed)], not _zip_intact(original, changed)


for _i, _n in enumerate(_FLIPS):
    _add(
        f"xlsx-flip-{_i:02d}-{_n}",
        "byte-flip",
        None,
        partial(_flipped_workbook, i=_i, flips=_n),
        note="unreadable unless Python's zipfile still reads every member unchanged",
    )
for _fraction in (0.02, 0.1, 0.3, 0.5, 0.8, 0.97):
    _add(
        f"xlsx-trunc-{int(_fraction * 100):02d}pct",
        "truncation",
        True,
        lambda f, b, x=_fraction: [_put(f / WORKBOOK, b.project_workbook[: int(len(b.project_workbook) * x)])],
    )
_add("xlsx-trunc-end-record", "truncation", True, lambda f, b: [_put(f / WORKBOOK, b.project_workbook[:-10])])
