"""Files the admin hands out: served as attachments, never rendered by the browser."""

import os

from django.http import HttpResponse
from django.utils.http import content_disposition_header

from contacts.importing import reports


def download(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    """`content` as a file to save, under `filename`."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


def error_report_download(content: bytes, *, format: str, source: str) -> HttpResponse:
    """The error report of the file named `source`: "clients.csv" gives "clients-errors.csv" (or .xlsx)."""
    stem = os.path.splitext(os.path.basename(source))[0] or "import"
    return download(content, content_type=reports.FORMATS[format], filename=f"{stem}-errors.{format}")
