"""The change log: one entry per write to a contact, whatever wrote it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models.contacts import Contact
from contacts.models.imports import ImportBatch
from customers.models import Customer, Organization


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
        Organization,
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="contact_changes",
        db_index=False,
    )
    # The organization's change number, allocated in commit order (contacts.services.changelog): the
    # changes feed's order. Null for the import history's rows from before the log existed.
    seq = models.BigIntegerField(_("change number"), null=True, blank=True, editable=False)
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="changes",
    )
    external_id = models.CharField(_("identifier code"), max_length=100)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
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
    before = LoggedValuesField(_("before"), null=True, blank=True)
    after = LoggedValuesField(_("after"), null=True, blank=True)

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
        # The title of an entry's admin page: the action as people read it, in their language.
        return f"{self.get_action_display()} {self.external_id}"


class ChangeSequence(models.Model):
    """The last change number given out in an organization (contacts.services.changelog)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.last}"
