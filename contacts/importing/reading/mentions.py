"""Whether a kept file may name someone, searched in its raw texts (contacts.services.erasure).

Not through the reader: it keeps one sheet, and only the header's columns of it. A CSV is searched in
each encoding the reader accepts; a workbook (.xlsx, .ods) in its XML parts, once with its cells apart
and once with the formatted runs of a cell joined ("Anne" in bold, " Roux" not). An .xls (binary, its
numbers stored as doubles) or a file the reader refuses cannot be searched: it may name anyone.
"""

from __future__ import annotations

import codecs
import html
import io
import re
import zipfile
from collections.abc import Iterable, Iterator

from contacts.importing.reading.detect import detect_format
from contacts.importing.reading.table import FileRejected

TAG = re.compile(r"<[^>]*>")


def may_mention(data: bytes, patterns: Iterable[re.Pattern]) -> bool:
    """True when a text of the file matches a pattern, or when the file cannot be searched."""
    patterns = list(patterns)
    try:
        format = detect_format(data, name="")
    except FileRejected:
        return True
    if format == "csv":
        texts = _csv_texts(data)
    elif format in ("xlsx", "ods"):
        texts = _xml_texts(data)
    else:
        return True
    try:
        return any(pattern.search(text) for text in texts for pattern in patterns)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
        return True  # a damaged part: it cannot be searched


def _csv_texts(data: bytes) -> list[str]:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return [data.decode("utf-16", errors="replace")]
    return [data.decode("utf-8", errors="replace"), data.decode("cp1252", errors="replace")]


def _xml_texts(data: bytes) -> Iterator[str]:
    """The texts of each XML part, one part at a time (their inflated sizes were checked by detect)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            if not member.filename.endswith(".xml"):
                continue
            xml = archive.read(member).decode("utf-8", errors="replace")
            yield html.unescape(TAG.sub(" ", xml))
            yield html.unescape(TAG.sub("", xml))
