"""An uploaded spreadsheet kept between its preview and its confirmation.

The bytes go to django-import-export's temporary storage (MediaStorage: under MEDIA_ROOT, never
served) and the browser only carries a key: the file's random name, the organization and its sha256.
The session remembers which uploads this user made, so a name from elsewhere is refused; the sha256
is checked against the stored bytes at every load, so what is confirmed is exactly what was previewed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from datetime import timedelta

from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone
from import_export.tmp_storages import MediaStorage

from customers.models import Organization

PREVIEW_FOLDER = "contact-import-previews"
PREVIEW_LIFETIME = timedelta(days=1)
SESSION_KEY = "contact_import_previews"
SESSION_KEEP = 20  # uploads remembered per session
# MediaStorage names files with uuid4().hex; anything else did not come from us.
PREVIEW_NAME = re.compile(r"[0-9a-f]{32}")
SHA256 = re.compile(r"[0-9a-f]{64}")


def _storage(name: str | None = None) -> MediaStorage:
    return MediaStorage(name=name, MEDIA_FOLDER=PREVIEW_FOLDER)


def keep_upload(session: SessionBase, *, data: bytes, filename: str, organization: Organization) -> dict:
    """Store the upload for the preview; returns the key the browser carries: file, organization, sha256."""
    storage = _storage()
    storage.save(data)
    key = {"file": storage.name, "organization": organization.pk, "sha256": hashlib.sha256(data).hexdigest()}
    uploads = session.get(SESSION_KEY, {})
    uploads[storage.name] = {
        "filename": os.path.basename(filename)[:255],
        "organization": organization.pk,
        "sha256": key["sha256"],
    }
    # Oldest first (dicts keep insertion order): forget all but the last few.
    session[SESSION_KEY] = dict(list(uploads.items())[-SESSION_KEEP:])
    _sweep_old_uploads()
    return key


def load_upload(session: SessionBase, key: dict) -> tuple[bytes, str] | None:
    """The stored bytes and original file name for a key from the browser, or None if it is not ours."""
    name = key["file"]
    if not PREVIEW_NAME.fullmatch(name):
        return None
    entry = session.get(SESSION_KEY, {}).get(name)
    if entry is None or entry["organization"] != key["organization"].pk or entry["sha256"] != key["sha256"]:
        return None
    try:
        data = _storage(name).read()
    except FileNotFoundError:
        return None
    if hashlib.sha256(data).hexdigest() != key["sha256"]:
        return None
    return data, entry["filename"]


def forget_upload(session: SessionBase, name: str) -> None:
    uploads = session.get(SESSION_KEY, {})
    if uploads.pop(name, None) is not None:
        session[SESSION_KEY] = uploads
    with contextlib.suppress(FileNotFoundError):
        _storage(name).remove()


def _sweep_old_uploads() -> None:
    """Delete previews nobody confirmed within PREVIEW_LIFETIME."""
    storage = _storage()._storage
    try:
        _dirs, files = storage.listdir(PREVIEW_FOLDER)
    except FileNotFoundError:
        return
    cutoff = timezone.now() - PREVIEW_LIFETIME
    for name in files:
        path_name = f"{PREVIEW_FOLDER}/{name}"
        try:
            if storage.get_modified_time(path_name) < cutoff:
                storage.delete(path_name)
        except FileNotFoundError:
            continue
