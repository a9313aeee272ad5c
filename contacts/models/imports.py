"""Spreadsheet imports: uploads waiting for their confirmation, committed imports, import profiles."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Organization


class BackgroundWork(models.Model):
    """Where a background preview or commit stands, written by its worker and read by the progress page."""

    stage = models.CharField(max_length=20, blank=True)  # contacts.importing.progress.Stage
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    # The worker writes it every few seconds while it runs; a stale one means the worker stopped.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        abstract = True


class ImportUpload(BackgroundWork):
    """A spreadsheet kept between its upload and its confirmation, in the database so that every app
    server sees it; deleted once committed or abandoned (contacts.importing.uploads)."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Running")
        PREVIEWED = "previewed", _("Previewed")
        FAILED = "failed", _("Failed")

    token = models.CharField(max_length=32, unique=True)  # the key the browser carries
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    data = models.BinaryField()
    background = models.BooleanField(default=False)  # previewed and committed by a worker
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UPLOADED)
    failure_reason = models.TextField(blank=True)
    preview = models.BinaryField(null=True, blank=True)  # a background preview's report, compressed
    mapping = models.JSONField(null=True, blank=True)  # chosen in the admin's mapping step, if it was
    blank_clears = models.BooleanField(default=False)  # the upload form's choice for blank cells
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("upload")

    def __str__(self) -> str:
        return self.file_name


class ImportBatch(BackgroundWork):
    """One committed (or failed, or running) spreadsheet import: the file, who sent it, what it did."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Running")
        COMMITTED = "committed", _("Committed")
        FAILED = "failed", _("Failed")
        # Undone imports no longer count against the monthly limit: only "committed" ones do.
        UNDONE = "undone", _("Undone")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="import_batches", verbose_name=_("organization")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Stored in the default storage and never served publicly: the admin streams it to permitted staff.
    # Written once the commit succeeded; deleted after CONTACT_IMPORT_FILE_RETENTION_DAYS.
    file = models.FileField(_("file"), upload_to="contact-imports/%Y/%m/", max_length=300, blank=True)
    file_name = models.CharField(_("file name"), max_length=255)  # the name the client gave it, for display
    file_deleted_at = models.DateTimeField(_("file deleted at"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    format = models.CharField(_("format"), max_length=10)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    new = models.PositiveIntegerField(_("new"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    invalid = models.PositiveIntegerField(_("invalid"), default=0)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)  # [{"row", "column", "message"}]
    errors = models.JSONField(_("errors"), default=list, blank=True)  # [{"row", "column", "message"}]
    failure_reason = models.TextField(_("failure reason"), blank=True)
    override_reason = models.TextField(_("override reason"), blank=True)
    skip_invalid = models.BooleanField(_("skip invalid"), default=False)
    # A background commit reads its file from the upload; the commit deletes the upload.
    upload = models.ForeignKey(
        ImportUpload, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The upload's choice for an existing contact's blank cells: False keeps the stored value.
    blank_cells_clear = models.BooleanField(_("blank cells clear the stored value"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Set by contacts.services.undo when the import is undone (status "undone").
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    undone_deleted = models.PositiveIntegerField(_("contacts deleted by the undo"), default=0)
    undone_restored = models.PositiveIntegerField(_("contacts restored by the undo"), default=0)
    undone_left = models.PositiveIntegerField(_("conflicting contacts left as they were"), default=0)

    class Meta:
        ordering = ["-created_at"]
        # "3 imports" on the history's list (it read "3 import history"); the links keep "Import history".
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        permissions = [("undo_import", _("Can undo a committed import"))]
        indexes = [
            models.Index(fields=["organization", "status", "created_at"], name="import_org_status_idx")
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.organization}, {timezone.localtime(self.created_at):%Y-%m-%d %H:%M})"


class ImportProfile(models.Model):
    """How an organization's client files are read: the header's place, the columns' and the values' meanings.

    Saved from a confirmed mapping (the admin's mapping step, `import_contacts --save-profile`) and applied to
    the organization's next files; a file that no longer fits it goes back to the mapping step.
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="import_profile", verbose_name=_("organization")
    )
    sheet = models.CharField(
        _("sheet"),
        max_length=255,
        blank=True,
        help_text=_("The sheet holding the contacts; blank for a CSV or any sheet."),
    )
    header_row = models.PositiveSmallIntegerField(
        _("header row"),
        null=True,
        blank=True,
        help_text=_("The row of the column headers (1 to 20); blank to find it."),
    )
    columns = models.JSONField(
        _("columns"),
        default=dict,
        blank=True,
        help_text=_(
            'Headers of the file and the import\'s columns they give, e.g. {"Mail": "email", '
            '"SIRET": null}; null ignores a column.'
        ),
    )
    values = models.JSONField(
        _("values"),
        default=dict,
        blank=True,
        help_text=_(
            'Values of the file and what they mean, e.g. {"occupation": {"Direction financière": '
            '"ACCOUNTING"}, "is_main": {"Principal": true}}.'
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("import profile")
        verbose_name_plural = _("import profiles")

    def __str__(self) -> str:
        return _("Import profile of %(organization)s") % {"organization": self.organization}

    def clean(self) -> None:
        # Imported here: the mapping's rules import the checks, which import this module.
        from contacts.importing.mapping import MappingInvalid, mapping_from_json

        data = {
            "sheet": self.sheet,
            "header_row": self.header_row,
            "columns": self.columns,
            "values": self.values,
        }
        try:
            mapping = mapping_from_json(data)
        except MappingInvalid as invalid:
            raise ValidationError(str(invalid)) from None
        # Stored as field names, whichever header named them.
        self.columns, self.values = mapping.columns, mapping.values
