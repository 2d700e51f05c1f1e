"""How every export file is written.

One CSV convention for every file: UTF-8 with a byte order mark, ``;`` between cells, CRLF line ends, a
decimal comma, times in the programme's time zone as ``YYYY-MM-DD HH:MM``, French headers and values (what
Excel in France opens as is; Moodle's importer drops the BOM and offers ``;``). A cell a spreadsheet would
run as a formula (first character ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, tzinfo

BOM = "\ufeff"
SEPARATOR = ";"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 2000
CSV_MIMETYPE = "text/csv"  # Werkzeug adds "; charset=utf-8" to text types
ZIP_MIMETYPE = "application/zip"
YES, NO = "oui", "non"

IDENTITY_HEADER = (
    "Cours",
    "Cours (identifiant LMS)",
    "Apprenant·e (identifiant LMS)",
    "Référence Socle",
    "Nom",
    "Prénom",
    "Nom complet",
    "E-mail",
    "Inscription",
)


# -- CSV writing ---------------------------------------------------------------------------------------------
def neutralise(cell: str) -> str:
    """A cell that a spreadsheet would run as a formula, made inert with a leading apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[str]], rows_per_chunk: int = ROWS_PER_CHUNK
) -> Iterator[bytes]:
    """The CSV file in UTF-8 chunks of a few thousand rows: BOM, header, rows, every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=SEPARATOR, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([neutralise(cell) for cell in header])
    pending = 0
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        pending += 1
        if pending == rows_per_chunk:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    return b"".join(csv_chunks(header, rows))


def decimal(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}".replace(".", ",")


def percent(fraction: float | None) -> str:
    return "" if fraction is None else decimal(fraction * 100)


def when(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def day(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d") if moment is not None else ""
