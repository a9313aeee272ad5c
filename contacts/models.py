from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.normalization import check_identifier, normalize_email, normalize_phone, one_line_text
from customers.models import Customer, Organization

MAIN_CONTACT_CONSTRAINT = "one_main_contact_per_customer"
EMAIL_TAKEN = _("Another contact of this customer already uses this email address.")
EXTERNAL_ID_TAKEN = _("Another contact of this organization already has this identifier code.")
WRONG_ORGANIZATION = _("The contact's organization must be its customer's organization.")


class Contact(models.Model):
    """A person who receives a customer's invoices and reminders."""

    class Occupation(models.TextChoices):
        ACCOUNTING = "ACCOUNTING", "Accounting"
        SALES = "SALES", "Sales"
        PURCHASER = "PURCHASER", "Purchaser"
        PAYER = "PAYER", "Payer"

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        IMPORT = "import", "Import"
        API = "api", "API"
        INVOICING = "invoicing", "Invoicing sync"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="contacts")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    external_id = models.CharField(
        "identifier code",
        max_length=100,
        help_text="The contact's reference in the client's own system; unique within the organization.",
    )
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="Stored in E.164 form, e.g. +33612345678.")
    occupation = models.CharField(max_length=20, choices=Occupation.choices, blank=True)
    is_main = models.BooleanField("main contact", default=False)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer__name", "-is_main", "last_name", "first_name"]
        permissions = [
            ("import_contacts", "Can import contacts from a spreadsheet"),
            ("override_import_limit", "Can override the monthly contact import limit"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                name="contact_external_id_unique_per_org",
                violation_error_message=EXTERNAL_ID_TAKEN,
            ),
            models.UniqueConstraint(
                "customer",
                Lower("email"),
                name="contact_email_unique_per_customer",
                violation_error_message=EMAIL_TAKEN,
            ),
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_main=True),
                name=MAIN_CONTACT_CONSTRAINT,
                violation_error_message="This customer already has a main contact.",
            ),
        ]
        indexes = [models.Index(fields=["organization", "updated_at"], name="contact_org_updated_idx")]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name} <{self.email}>" if name else self.email

    def clean_fields(self, exclude=None) -> None:
        # Email and phone are validated by clean(), with the messages the import and the API give too.
        super().clean_fields(exclude={*(exclude or ()), "email", "phone"})

    def clean(self) -> None:
        errors: dict[str, list] = {}
        if self.customer_id is not None:
            customer_org_id = self.customer.organization_id
            if self.organization_id is None:
                self.organization_id = customer_org_id
            elif self.organization_id != customer_org_id:
                errors.setdefault("customer", []).append(WRONG_ORGANIZATION)
        self.external_id = (self.external_id or "").strip()
        try:
            check_identifier(self.external_id)
        except ValidationError as error:
            errors.setdefault("external_id", []).extend(error.messages)
        # Control characters are never stored: names lose them (a line break becomes a space), an
        # identifier code or an email holding one is refused above and below.
        self.first_name = one_line_text((self.first_name or "").strip())
        self.last_name = one_line_text((self.last_name or "").strip())
        try:
            self.email = normalize_email(self.email)
        except ValidationError as error:
            errors.setdefault("email", []).extend(error.messages)
        if self.organization_id is not None:
            try:
                self.phone = normalize_phone(self.phone, self.organization.default_phone_region)
            except ValidationError as error:
                errors.setdefault("phone", []).extend(error.messages)
        if errors:
            raise ValidationError(errors)

    def get_constraints(self):
        # A new main contact demotes the current one (the services do it), so this constraint is
        # never a validation error; the database still enforces it.
        return [
            (model, [c for c in constraints if c.name != MAIN_CONTACT_CONSTRAINT])
            for model, constraints in super().get_constraints()
        ]


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

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="import_batches")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Stored in the default storage and never served publicly: the admin streams it to permitted staff.
    # Written once the commit succeeded; deleted after CONTACT_IMPORT_FILE_RETENTION_DAYS.
    file = models.FileField(upload_to="contact-imports/%Y/%m/", max_length=300, blank=True)
    file_name = models.CharField(max_length=255)  # the name the client gave it, for display
    file_deleted_at = models.DateTimeField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=10)
    status = models.CharField(max_length=20, choices=Status.choices)
    rows = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)  # [{"row", "column", "message"}]
    errors = models.JSONField(default=list, blank=True)  # [{"row", "column", "message"}]
    failure_reason = models.TextField(blank=True)
    override_reason = models.TextField(blank=True)
    skip_invalid = models.BooleanField(default=False)
    # A background commit reads its file from the upload; the commit deletes the upload.
    upload = models.ForeignKey(
        ImportUpload, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The upload's choice for an existing contact's blank cells: False keeps the stored value.
    blank_cells_clear = models.BooleanField("blank cells clear the stored value", default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
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


class LoggedValuesField(models.JSONField):
    """JSON written only by the change log's writer (json.dumps of plain values): SQLite skips its
    JSON_VALID check, which parsed every entry again on insert (a sixth of an import's log write)."""

    def db_check(self, connection):
        return None


class ContactChange(models.Model):
    """One write to one contact, whatever wrote it: the contact's history, an import's record (enough
    to undo it) and the API's changes feed. Written by the write services in the write's transaction.

    `before` and `after` hold the changed fields' values (every field when the contact is created or
    deleted; `before` is null for a creation, `after` for a deletion). The contact's id and identifier
    code stay after it is deleted: `contact` has no database constraint and is never cascaded.
    """

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        DELETED = "deleted", _("Deleted")
        DEMOTED = "demoted", _("Demoted from main")
        # Deleted by erase_contact, which also scrubbed the contact's personal data from its history.
        ERASED = "erased", _("Deleted and erased")

    class Channel(models.TextChoices):
        ADMIN = "admin", _("Admin")
        IMPORT = "import", _("Import")
        API = "api", _("API")
        UNDO = "undo", _("Undo of an import")
        INVOICING = "invoicing", _("Invoicing sync")
        COMMAND = "command", _("Command line")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="contact_changes", db_index=False
    )
    # The organization's change number, allocated in commit order (contacts.services.changelog): the
    # changes feed's order. Null for the import history's rows from before the log existed.
    seq = models.BigIntegerField(_("change number"), null=True, blank=True, editable=False)
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="changes",
    )
    external_id = models.CharField(_("identifier code"), max_length=100)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contact_changes",
        db_index=False,  # see Meta.indexes
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # Who, as shown: the staff user's name or the API key's name (kept if the user or key goes).
    actor = models.CharField(_("who"), max_length=200, blank=True)
    batch = models.ForeignKey(
        ImportBatch,
        verbose_name=_("import"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="changes",
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    before = LoggedValuesField(null=True, blank=True)
    after = LoggedValuesField(null=True, blank=True)

    class Meta:
        verbose_name = _("contact change")
        verbose_name_plural = _("contact changes")
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "seq"], name="contact_change_seq_unique_per_org"),
        ]
        indexes = [
            # A customer's deleted contacts, for its page. Only deletions: an index of every entry's
            # customer, written in random order, cost a fifth of an import's log write.
            models.Index(
                fields=["customer"],
                condition=Q(action__in=["deleted", "erased"]),
                name="contact_change_deleted_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.external_id}"


class ImportProfile(models.Model):
    """How an organization's client files are read: the header's place, the columns' and the values' meanings.

    Saved from a confirmed mapping (the admin's mapping step, `import_contacts --save-profile`) and applied to
    the organization's next files; a file that no longer fits it goes back to the mapping step.
    """

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="import_profile")
    sheet = models.CharField(
        max_length=255, blank=True, help_text="The sheet holding the contacts; blank for a CSV or any sheet."
    )
    header_row = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The row of the column headers (1 to 20); blank to find it."
    )
    columns = models.JSONField(
        default=dict,
        blank=True,
        help_text='Headers of the file and the import\'s columns they give, e.g. {"Mail": "email", '
        '"SIRET": null}; null ignores a column.',
    )
    values = models.JSONField(
        default=dict,
        blank=True,
        help_text='Values of the file and what they mean, e.g. {"occupation": {"Direction financière": '
        '"ACCOUNTING"}, "is_main": {"Principal": true}}.',
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "import profile"

    def __str__(self) -> str:
        return f"Import profile of {self.organization}"

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


class ChangeSequence(models.Model):
    """The last change number given out in an organization (contacts.services.changelog)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.last}"
