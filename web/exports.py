"""Tables as spreadsheets (XLSX, written by openpyxl): a title row saying what the table is and
which filter made it, a header row, then the rows. Offices pass these on and paste them into
reports, so the headers are words, not field names."""

from __future__ import annotations

import re
from io import BytesIO
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from config.http import attachment

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel refuses these in a sheet's name, and a name longer than 31 characters.
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _cell(value: Any) -> Any:
    """Text as a cell can hold it: control characters (which openpyxl refuses) are dropped."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def workbook(title: str, subtitle: str, headers: list[str], rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _SHEET_FORBIDDEN.sub(" ", title)[:31] or "Sheet"
    sheet.append([f"{title}（{subtitle}）" if subtitle else title])
    sheet["A1"].font = Font(bold=True)
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(value) for value in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text someone typed is never a formula the reader's Excel runs
    for i, header in enumerate(headers, start=1):
        longest = max([len(str(header)), *(len(str(r[i - 1])) for r in rows if len(r) >= i)])
        sheet.column_dimensions[get_column_letter(i)].width = min(60, 4 + 2 * longest)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_response(filename: str, content: bytes) -> HttpResponse:
    return attachment(content, filename, XLSX)
