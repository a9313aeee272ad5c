"""What kind of file this is, from its bytes alone, and whether it is safe to open: size, zip bombs.

The file name is never trusted: users rename files, and an .xlsx saved as "contacts.csv" is still read.
"""

import io
import zipfile

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from contacts.importing.reading.table import EMPTY, FileRejected

NOT_SPREADSHEET = _("{name} is not a CSV or Excel file; save it as .csv, .xlsx or .xls and send it again.")
PDF = _("This is a PDF, not a spreadsheet; export the data as CSV or Excel (.xlsx) and send that file.")
PASSWORD_PROTECTED = _(
    "This Excel file is password-protected; remove the password (File > Info > Protect Workbook) "
    "and send it again."
)
DAMAGED = _(
    "{name} looks like an Excel file but cannot be read; open it in Excel, save it again and resend it."
)
TOO_BIG = _("The file is larger than the {limit} MB limit; split it into smaller files.")
EXPANDS_TOO_MUCH = _(
    "The spreadsheet would expand to more than {limit} MB once opened, so it is refused as unsafe; "
    "split it into smaller files."
)
ABNORMAL_COMPRESSION = _(
    "The spreadsheet is compressed abnormally (a part expands over {ratio} times), so it is refused "
    "as unsafe; open it in Excel and save it again."
)

# A zip member inflating more than this many times is a zip bomb, not a spreadsheet; members smaller
# than MIN_BOMB_MEMBER are not judged (tiny parts compress oddly).
MAX_COMPRESSION_RATIO = 200
MIN_BOMB_MEMBER = 1024 * 1024
# The parts of a workbook may expand to this many times the upload limit in total (200 MB by default).
MAX_EXPANSION = 10

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_MB = 1024 * 1024


def detect_format(data: bytes, *, name: str) -> str:
    """The format read from the content: csv, xlsx, xls or ods; `FileRejected` if too big, empty or other."""
    limit = settings.CONTACT_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise FileRejected(TOO_BIG.format(limit=_megabytes(limit)))
    if not data.strip():
        raise FileRejected(EMPTY)
    if data.startswith(_ZIP_MAGIC):
        return _zip_format(data, name)
    if data.startswith(_OLE2_MAGIC):
        # A password-protected .xlsx is an OLE2 container holding the encrypted zip in this stream.
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise FileRejected(PASSWORD_PROTECTED)
        if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
            return "xls"
        raise FileRejected(NOT_SPREADSHEET.format(name=name))  # a Word or PowerPoint 97 file
    if data.lstrip().startswith(b"%PDF-"):
        raise FileRejected(PDF)
    return "csv"


def _zip_format(data: bytes, name: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            if "mimetype" in names:
                mimetype = archive.read("mimetype") if archive.getinfo("mimetype").file_size < 200 else b""
            else:
                mimetype = b""
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError):
        raise FileRejected(DAMAGED.format(name=name)) from None
    if mimetype.strip() == _ODS_MIMETYPE:
        format = "ods"
    elif "xl/workbook.xml" in names:
        format = "xlsx"
    else:
        raise FileRejected(NOT_SPREADSHEET.format(name=name))  # a .docx, a plain zip...
    _refuse_zip_bomb(members)
    return format


def _refuse_zip_bomb(members: list[zipfile.ZipInfo]) -> None:
    """The parser must never see a zip bomb: judge the sizes the archive declares before inflating.

    A member lying about its declared size gets past this; the memory-capped child process that parses
    the workbook is the second line.
    """
    limit = MAX_EXPANSION * settings.CONTACT_IMPORT_MAX_BYTES
    if sum(member.file_size for member in members) > limit:
        raise FileRejected(EXPANDS_TOO_MUCH.format(limit=_megabytes(limit)))
    for member in members:
        if member.file_size > MIN_BOMB_MEMBER and member.file_size > MAX_COMPRESSION_RATIO * max(
            member.compress_size, 1
        ):
            raise FileRejected(ABNORMAL_COMPRESSION.format(ratio=MAX_COMPRESSION_RATIO))


def _megabytes(size: int) -> str:
    return f"{size / _MB:g}"
