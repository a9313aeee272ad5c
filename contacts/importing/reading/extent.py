"""How far right an .xlsx's worksheets reach, read from their XML: only to explain why a workbook the
child process could not read was refused. A cell at column XFD makes calamine build a range 16,384
columns wide; that is what the person must delete, and the message says so, with the import's cap.

The XML is scanned in chunks for cell references (`<c r="XFD1"`), at C speed, stopping at the first
one beyond the cap; nothing is parsed. Read only after a refusal: an import that succeeds never pays it.
"""

from __future__ import annotations

import io
import re
import zipfile

CHUNK = 1024 * 1024
CELL_REFERENCE = re.compile(rb'<c\s[^>]*?\br="([A-Z]{1,3})[0-9]+"')


def column_number(letters: str) -> int:
    """ "A" → 1, "GR" → 200, "XFD" → 16,384."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def column_beyond(data: bytes, limit: int) -> str:
    """The letters of the first column beyond `limit` holding a cell in any worksheet ("" if none, or
    when the file cannot be scanned)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.infolist():
                if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
                    with archive.open(member) as sheet:
                        found = _scan(sheet, limit)
                    if found:
                        return found
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError):
        return ""
    return ""


def _scan(sheet, limit: int) -> str:
    tail = b""
    while chunk := sheet.read(CHUNK):
        text = tail + chunk
        for match in CELL_REFERENCE.finditer(text):
            letters = match.group(1).decode()
            if column_number(letters) > limit:
                return letters
        tail = text[-200:]  # a reference cut by the chunk's end is found in the next round
    return ""
