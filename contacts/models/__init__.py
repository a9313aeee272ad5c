"""The contacts app's models, by subject; imported here for Django and for `from contacts.models import`."""

from contacts.models.changes import ChangeSequence, ContactChange, LoggedValuesField
from contacts.models.contacts import (
    EMAIL_TAKEN,
    EXTERNAL_ID_TAKEN,
    MAIN_CONTACT_CONSTRAINT,
    WRONG_ORGANIZATION,
    Contact,
)
from contacts.models.imports import BackgroundWork, ImportBatch, ImportProfile, ImportUpload

__all__ = [
    "EMAIL_TAKEN",
    "EXTERNAL_ID_TAKEN",
    "MAIN_CONTACT_CONSTRAINT",
    "WRONG_ORGANIZATION",
    "BackgroundWork",
    "ChangeSequence",
    "Contact",
    "ContactChange",
    "ImportBatch",
    "ImportProfile",
    "ImportUpload",
    "LoggedValuesField",
]
