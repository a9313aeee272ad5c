"""Temporary old name of `contacts.importing.reports`, kept for contacts/admin_import.py alone.

The admin is being split on another branch; that merge points its import at `reports` and deletes this file.
"""

from contacts.importing.reports import FORMATS, error_report, template_csv, template_xlsx

__all__ = ["FORMATS", "error_report", "template_csv", "template_xlsx"]
