"""Reading an uploaded export as rows of text, whatever its container: CSV or XLSX.

``open_table`` looks at the file's first bytes (an empty file, an image, a PDF or binary junk is refused with
a message for the seller), settles the CSV's encoding with one cheap pass over the bytes (a byte order mark
decides; otherwise UTF-8, falling back to Windows-1252 / Latin-1 with a notice) and reads the header row.
``Table.rows()`` then streams the data rows as lists of text, as many times as asked (the parser counts the
rows once, then reads them): CSV through ``csv.reader`` (any line ending, quoted cells with line breaks),
XLSX as below. Nothing holds more than one row at a time.

Row numbers are the spreadsheet's: 1 = the header, one number per record (a quoted note with line breaks is
still one row); blank rows keep their number but are skipped.

XLSX: reading a sheet costs about three times what the same rows cost as CSV (the XML holds four times the
bytes, and every cell is an element). A table opened with ``rows_copy`` writes its sheet's records to that
file as CSV while a pass reads them; once one pass has read them all (``rows_copied``), the copy holds every
row, blank ones included, as the same texts: ``open_rows_copy`` reads it back as a CSV table with the same
row numbers. The import's preview makes that copy, and every later pass (the apply, a second preview) reads
it instead of the sheet.

The workbook is opened once per parse (``open_xlsx_sheet``) and shared by the header, the count and
every pass over the rows. openpyxl opens it: it checks the package, reads the workbook and its relationships
to find the sheet (``OrderSKUList``, else the first worksheet), and the styles (which cell formats are dates,
the 1900/1904 epoch). The sheet's rows are then read by ``XlsxSheet.records``, a small streaming reader on
``xml.etree.ElementTree.iterparse`` (shared strings, inline strings, ``str``/``n``/``b``/``e``/``d`` cells,
date-formatted numbers, column letters → positions so a missing cell is a blank; each row is dropped from
the tree once read). Why not openpyxl's read-only worksheet: measured on this 2-core machine with 100,000-row
TikTok exports shaped like Seller Center's (``<dimension>``, shared strings), it parsed 2,000 rows/s (49 s;
57 s when all 522,874 distinct texts are shared strings, 22 s of them reading that table at each of the
three openings the old code made) against 4,900–5,000 rows/s (20 s) here (figures in docs/imports.md, "XLSX
reading"). It builds a cell object and a dictionary per cell and reads each inline string through its
rich-text classes; and its ``load_workbook`` parses the whole of every sheet that has no ``<dimension>``
(openpyxl's own write-only files) just to size it. Here such a sheet is counted once with a byte scan for
``<row`` tags (``count_xml_rows``). The shared strings are held in memory, as openpyxl holds them: a list of
the file's distinct texts (34 MB for the 522,874 of a 100,000-row file where every text is one).
"""

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from xml.etree import ElementTree

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .records import UnreadableFile

CSV, XLSX = "csv", "xlsx"
HEAD_BYTES = 8192
CHUNK_BYTES = 1 << 20
XML_CHUNK_BYTES = 1 << 16
TIKTOK_SHEET = "OrderSKUList"

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (and old .doc)
_BINARY_MAGICS = (
    b"%PDF",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",  # JPEG
    b"RIFF",  # WebP, WAV, AVI
    b"\x1f\x8b",  # gzip
    b"7z\xbc\xaf",
    b"Rar!",
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


def not_an_export_message() -> str:
    return _(
        "This is not a CSV or Excel (.xlsx) file. Export the orders from TikTok Shop or Shopify and upload "
        "the file as it was downloaded."
    )


def normalise_header(name: str) -> str:
    """Column names are compared without case, surrounding spaces or tabs, or a stray byte order mark."""
    return _SPACES.sub(" ", str(name or "").replace("\ufeff", "")).strip().casefold()


@dataclass
class Table:
    kind: str  # CSV or XLSX
    header: list[str]  # the names as in the file, trimmed
    fileobj: object
    encoding: str = ""
    delimiter: str = ","
    # Things to tell the seller about the whole file (read as Windows-1252, say); translated.
    notices: list[str] = field(default_factory=list)
    sheet: "XlsxSheet | None" = None  # an XLSX's export sheet, opened once for every pass
    # An XLSX's records are written here as CSV by the passes over the sheet (see the module's text).
    rows_copy: object = None
    rows_copied: bool = False  # a pass read every record and the copy holds them all

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """``(row number, cells)`` for every non-blank row after the header."""
        records = self._records()
        try:
            next(records, None)  # the header
            for number, cells in enumerate(records, start=2):
                if any(cells):
                    yield number, cells
        finally:
            records.close()

    def last_row_number(self) -> int | None:
        """An XLSX sheet's last row number, known without reading the rows: as its ``<dimension>`` says, or
        (a sheet that does not say) the ``<row>`` tags counted once in the raw XML. None for a CSV."""
        return self.sheet.last_row_number() if self.sheet is not None else None

    def _records(self) -> Iterator[list[str]]:
        if self.sheet is not None:
            if self.rows_copy is not None and not self.rows_copied:
                return self._copied(self.sheet.records())
            return self.sheet.records()
        return _csv_records(self.fileobj, self.encoding, self.delimiter)

    def _copied(self, records: Iterator[list[str]]) -> Iterator[list[str]]:
        """``records`` passed through while they are written to ``rows_copy`` as CSV (UTF-8 with a byte order
        mark, one CSV record per sheet row: ``[]`` for a missing row keeps the row numbers). Each pass starts
        the copy again; only a pass read to its end marks it whole."""
        self.rows_copy.seek(0)
        self.rows_copy.truncate()
        text = io.TextIOWrapper(self.rows_copy, encoding="utf-8-sig", newline="")  # buffers, writes the BOM
        writer = csv.writer(text)
        try:
            for record in records:
                writer.writerow(record)
                yield record
            text.flush()
            self.rows_copied = True
        finally:
            records.close()
            text.detach()  # the caller's file stays open


def open_table(fileobj, *, filename: str = "", rows_copy=None) -> Table:
    """Identify the file and read its header row; raise ``UnreadableFile`` when it cannot be an export.

    ``rows_copy``: a binary file that the passes over an XLSX sheet write its rows to as CSV (ignored for a
    CSV file)."""
    fileobj.seek(0)
    head = fileobj.read(HEAD_BYTES)
    if not head or not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise UnreadableFile(_("The file is empty."))
    if head.startswith(_ZIP_MAGIC):
        table = Table(XLSX, [], fileobj, sheet=open_xlsx_sheet(fileobj), rows_copy=rows_copy)
    elif head.startswith(_OLE2_MAGIC):
        raise UnreadableFile(
            _("This is an old Excel (.xls) file. Save it as .xlsx or CSV and upload it again.")
        )
    else:
        table = _csv_table(fileobj, head)
    return _with_header(table)


def open_rows_copy(fileobj) -> Table:
    """The CSV copy of an XLSX sheet's rows that a pass over it wrote (see ``Table.rows_copy``)."""
    return _with_header(Table(CSV, [], fileobj, encoding="utf-8-sig"))


def _with_header(table: Table) -> Table:
    records = table._records()
    try:
        header = next(records, None)  # row 1, even blank: a blank row 1 means there is no header
    finally:
        records.close()
    if header is None:
        raise UnreadableFile(_("The file is empty."))
    table.header = [_SPACES.sub(" ", cell.replace("\ufeff", "")).strip() for cell in header]
    return table


# CSV ----------------------------------------------------------------------------------------------


def _csv_table(fileobj, head: bytes) -> Table:
    encoding = next((name for bom, name in _BOMS if head.startswith(bom)), "")
    if not encoding and (b"\x00" in head or any(head.startswith(magic) for magic in _BINARY_MAGICS)):
        raise UnreadableFile(not_an_export_message())
    notices = []
    if not encoding:
        encoding = _settle_encoding(fileobj)
        if encoding != "utf-8":
            notices.append(
                _(
                    "The file is not in UTF-8: it was read as %(encoding)s. If accented letters look wrong, "
                    "export the file again as UTF-8."
                )
                % {"encoding": "Windows-1252" if encoding == "cp1252" else "Latin-1"}
            )
    try:
        sample = head.decode(encoding, errors="ignore")
    except LookupError:  # pragma: no cover - the encodings above all exist
        raise UnreadableFile(not_an_export_message()) from None
    first_line = sample.lstrip("\ufeff").splitlines()[0] if sample.strip() else ""
    if len(_CONTROL.findall(sample)) > max(4, len(sample) // 100):
        raise UnreadableFile(not_an_export_message())
    delimiter = max((",", ";", "\t"), key=first_line.count) if first_line.count(",") == 0 else ","
    return Table(CSV, [], fileobj, encoding=encoding, delimiter=delimiter, notices=notices)


def _settle_encoding(fileobj) -> str:
    """UTF-8 if every byte of the file decodes as UTF-8, else Windows-1252, else Latin-1 (which reads
    anything). One pass over the bytes, without parsing."""
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        fileobj.seek(0)
        try:
            while chunk := fileobj.read(CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    return "latin-1"


class _Borrowed(io.RawIOBase):
    """The caller's file seen through ``io`` wrappers that must not close it when they are closed."""

    def __init__(self, fileobj):
        self._fileobj = fileobj

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._fileobj.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _csv_records(fileobj, encoding: str, delimiter: str) -> Iterator[list[str]]:
    fileobj.seek(0)
    text = io.TextIOWrapper(
        io.BufferedReader(_Borrowed(fileobj), buffer_size=1 << 16), encoding=encoding, newline=""
    )
    try:
        reader = csv.reader(text, delimiter=delimiter)
        try:
            yield from reader
        except csv.Error as error:
            raise UnreadableFile(
                _("The file cannot be read as CSV near row %(row)s: %(error)s.")
                % {"row": reader.line_num, "error": error}
            ) from None
        except UnicodeDecodeError:
            raise UnreadableFile(not_an_export_message()) from None
    finally:
        text.close()


# XLSX ---------------------------------------------------------------------------------------------

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL, _VALUE = f"{_MAIN_NS}row", f"{_MAIN_NS}c", f"{_MAIN_NS}v"
_INLINE, _TEXT, _RUN = f"{_MAIN_NS}is", f"{_MAIN_NS}t", f"{_MAIN_NS}r"
_SHARED_STRING, _SHEET_DATA = f"{_MAIN_NS}si", f"{_MAIN_NS}sheetData"
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\b[^>]*?\bref=\"[A-Z]*\d*:?[A-Z]*(\d*)\"")
_SHEET_DATA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheetData\b")
_ESCAPED_CHARACTER = re.compile(r"_x([0-9A-Fa-f]{4})_")
_DIGITS = "0123456789"


def _cannot_open_message() -> str:
    return _(
        "The Excel file cannot be opened: it may be damaged or not an .xlsx file. Export it again, "
        "or save it as CSV."
    )


@dataclass
class XlsxSheet:
    """The one sheet of a workbook the import reads, and what its cells need: the shared strings and which
    cell styles are dates. ``records()`` streams its rows from the zip as often as asked."""

    archive: zipfile.ZipFile
    path: str  # the sheet's part in the zip
    shared_strings: list[str]
    date_styles: frozenset[int]  # cell style indexes with a date or time number format
    duration_styles: frozenset[int]
    epoch: datetime
    _last_row: int | None = None

    def last_row_number(self) -> int:
        if self._last_row is None:
            with self.archive.open(self.path) as xml:
                head = xml.read(XML_CHUNK_BYTES)
            self._last_row = _stated_last_row(head)
            if self._last_row is None:  # no <dimension>: count the rows once, without parsing them
                with self.archive.open(self.path) as xml:
                    self._last_row = count_xml_rows(xml)
        return self._last_row

    def records(self) -> Iterator[list[str]]:
        """Every row from row 1 as a list of texts, a missing row as ``[]``, a missing cell as ``""``."""
        try:
            yield from self._records()
        except (ElementTree.ParseError, zipfile.BadZipFile, zlib.error, EOFError, ValueError, IndexError):
            raise UnreadableFile(_cannot_open_message()) from None

    def _records(self) -> Iterator[list[str]]:
        positions: dict[str, int] = {}  # "AB" → 27, learned as the columns come
        shared_strings, other_cell_text = self.shared_strings, self._cell_text
        expected = 1
        with self.archive.open(self.path) as xml:
            sheet_data = None
            for event, element in ElementTree.iterparse(xml, events=("start", "end")):
                if event == "start":
                    if sheet_data is None and element.tag == _SHEET_DATA:
                        sheet_data = element
                    continue
                if element.tag != _ROW:
                    continue
                number = element.get("r")
                number = max(int(number), expected) if number else expected
                for _missing in range(expected, number):
                    yield []
                expected = number + 1
                cells: list[str] = []
                for cell in element:
                    if cell.tag != _CELL:
                        continue
                    kind = cell.get("t")
                    if kind == "s":  # most cells of an export: a shared string
                        value = cell.findtext(_VALUE)
                        text = shared_strings[int(value)] if value else ""
                    else:
                        text = other_cell_text(cell, kind)
                    reference = cell.get("r")
                    if reference:
                        letters = reference.rstrip(_DIGITS)
                        position = positions.get(letters)
                        if position is None:
                            position = positions[letters] = _column_position(letters)
                        if position != len(cells):
                            if position > len(cells):
                                cells.extend([""] * (position - len(cells)))
                            else:  # out of order, or the same cell twice
                                cells[position] = text
                                continue
                    cells.append(text)
                element.clear()
                if sheet_data is not None:  # drop the rows read from the tree: memory stays flat
                    sheet_data.clear()
                yield cells

    def _cell_text(self, cell, kind: str | None) -> str:
        """A cell that is not a shared string as text."""
        if kind == "inlineStr":
            inline = cell.find(_INLINE)
            return _rich_text(inline) if inline is not None else ""
        value = cell.findtext(_VALUE)
        if not value:
            return ""
        if kind is None or kind == "n":
            return self._number_text(value, cell.get("s"))
        if kind == "b":
            return "TRUE" if value.strip() not in ("0", "") else "FALSE"
        if kind == "d":
            from openpyxl.utils.datetime import from_ISO8601

            return cell_text(from_ISO8601(value))
        return value  # "str" (a formula's text) and "e" (an error such as #N/A), as they are

    def _number_text(self, value: str, style: str | None) -> str:
        try:
            number = float(value) if "." in value or "E" in value or "e" in value else int(value)
        except ValueError:
            return value
        if style and int(style) in self.date_styles:
            from openpyxl.utils.datetime import from_excel

            try:
                return cell_text(from_excel(number, self.epoch, timedelta=int(style) in self.duration_styles))
            except (OverflowError, ValueError):
                return value
        return cell_text(number)


def open_xlsx_sheet(fileobj) -> XlsxSheet:
    """Open the workbook (openpyxl checks the package and finds its sheets) and the sheet to import:
    ``OrderSKUList`` when there is one, else the first worksheet. Raise ``UnreadableFile`` when it
    cannot be opened."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.xml.constants import SHARED_STRINGS

    fileobj.seek(0)
    try:
        # load_workbook() without its last step, which opens every sheet and, when a sheet has no
        # <dimension>, parses the whole of it to find its size.
        reader = ExcelReader(fileobj, read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = {
            sheet.name: rel.target
            for sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type
        }
        strings_part = reader.package.find(SHARED_STRINGS)
        shared_strings = []
        if strings_part is not None:
            with reader.archive.open(strings_part.PartName[1:]) as xml:
                shared_strings = _read_shared_strings(xml)
    except Exception:  # a zip that is not a workbook (a .docx, a .zip), or a damaged one
        raise UnreadableFile(_cannot_open_message()) from None
    if not sheets:
        raise UnreadableFile(not_an_export_message())
    workbook = reader.wb
    return XlsxSheet(
        archive=reader.archive,
        path=sheets.get(TIKTOK_SHEET, next(iter(sheets.values()))),
        shared_strings=shared_strings,
        date_styles=frozenset(workbook._date_formats),
        duration_styles=frozenset(workbook._timedelta_formats),
        epoch=workbook.epoch,
    )


def _read_shared_strings(xml) -> list[str]:
    strings: list[str] = []
    table = None
    for event, element in ElementTree.iterparse(xml, events=("start", "end")):
        if event == "start":
            if table is None:
                table = element
        elif element.tag == _SHARED_STRING:
            strings.append(_rich_text(element))
            table.clear()
    return strings


def _rich_text(element) -> str:
    """The text of a shared string or an inline string: its ``<t>``, or its runs' ``<t>`` one after the
    other (phonetic hints left out), with Excel's ``_x000D_`` escapes turned back into characters."""
    parts = []
    for child in element:
        if child.tag == _TEXT:
            parts.append(child.text or "")
        elif child.tag == _RUN:
            parts.append(child.findtext(_TEXT) or "")
    text = parts[0] if len(parts) == 1 else "".join(parts)
    if "_x" in text:
        text = _ESCAPED_CHARACTER.sub(lambda match: chr(int(match.group(1), 16)), text)
    return text


def _stated_last_row(head: bytes) -> int | None:
    """The last row a sheet's ``<dimension ref="A1:BE2856">`` states, if it comes before the rows; a bare
    ``A1`` (what some programs write for a sheet they did not measure) does not count."""
    data = _SHEET_DATA_TAG.search(head)
    dimension = _DIMENSION.search(head, 0, data.start() if data else len(head))
    if dimension is None or b":" not in dimension.group(0):
        return None
    return int(dimension.group(1)) if dimension.group(1) else None


def _column_position(letters: str) -> int:
    """``A`` → 0, ``AB`` → 27."""
    position = 0
    for letter in letters.upper():
        position = position * 26 + ord(letter) - 64
    return position - 1


_XML_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_XML_ROW_LONGEST = 32


def count_xml_rows(xml) -> int:
    """How many ``<row>`` elements a worksheet's XML stream holds, read in chunks."""
    count, tail = 0, b""
    while chunk := xml.read(XML_CHUNK_BYTES):
        buffer = tail + chunk
        complete = len(buffer) - _XML_ROW_LONGEST  # matches starting later are counted with the next chunk
        count += sum(1 for match in _XML_ROW.finditer(buffer, 0, len(buffer)) if match.start() < complete)
        tail = buffer[max(complete, 0) :]
    return count + len(_XML_ROW.findall(tail))


def cell_text(value) -> str:
    """A spreadsheet cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return (
            value.replace(tzinfo=None).isoformat(sep=" ")
            if value.tzinfo is None
            else value.isoformat(sep=" ")
        )
    if isinstance(value, (date, time, Decimal, int)):
        return value.isoformat() if isinstance(value, (date, time)) else str(value)
    return str(value)


# Columns ------------------------------------------------------------------------------------------


class Columns:
    """The file's columns found by name: ``spec`` maps a key to the names it may have (first = the usual one).

    Missing ``required`` keys raise ``UnreadableFile`` naming them. ``get(row, key)`` is the cell's text,
    trimmed (tabs included), or ``""`` when the file has no such column or the row is short.
    """

    def __init__(
        self, header: list[str], spec: dict[str, tuple[str, ...]], *, required: Iterable[str], platform: str
    ):
        positions: dict[str, int] = {}
        for position, name in enumerate(header):
            positions.setdefault(normalise_header(name), position)
        self.index: dict[str, int | None] = {}
        self.names: dict[str, str] = {}
        for key, aliases in spec.items():
            position = next((positions[n] for n in map(normalise_header, aliases) if n in positions), None)
            self.index[key] = position
            self.names[key] = header[position] if position is not None else aliases[0]
        missing = [self.names[key] for key in required if self.index[key] is None]
        if missing:
            raise UnreadableFile(
                ngettext(
                    "This %(platform)s export has no “%(columns)s” column, which the import needs.",
                    "This %(platform)s export has no “%(columns)s” columns, which the import needs.",
                    len(missing),
                )
                % {"platform": platform, "columns": "”, “".join(missing)}
            )

    def has(self, key: str) -> bool:
        return self.index[key] is not None

    def get(self, row: list[str], key: str) -> str:
        position = self.index[key]
        if position is None or position >= len(row):
            return ""
        return row[position].strip()

    def name(self, key: str) -> str:
        return self.names[key]
