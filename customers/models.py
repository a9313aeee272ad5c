from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

from contacts.normalization import validate_phone_region

CONTACTS_SOURCE_IRREVERSIBLE = _(
    "The contacts of {organization} are managed here since they were disconnected from the invoicing "
    "sync; this cannot be undone."
)
EXTERNAL_ID_TAKEN = _("Another customer of this organization has this external identification code.")


class Organization(models.Model):
    """A client of the platform: the tenant that owns customers and contacts."""

    class ContactsSource(models.TextChoices):
        INVOICING = "invoicing", _("Synced from the invoicing system")
        MANAGED = "managed", _("Managed here")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    default_phone_region = models.CharField(
        _("default phone region"),
        max_length=2,
        default="FR",
        validators=[validate_phone_region],
        help_text=_("ISO 3166 country code used to read phone numbers written without a country prefix."),
    )
    contacts_source = models.CharField(
        _("contacts source"), max_length=20, choices=ContactsSource.choices, default=ContactsSource.INVOICING
    )
    contacts_disconnected_at = models.DateTimeField(
        _("contacts disconnected at"), null=True, blank=True, editable=False
    )
    contacts_disconnected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("contacts disconnected by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]
        permissions = [("disconnect_contacts", _("Can disconnect contacts from the invoicing sync"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(contacts_source="invoicing", contacts_disconnected_at__isnull=True)
                | Q(contacts_source="managed", contacts_disconnected_at__isnull=False),
                name="organization_disconnected_at_matches_source",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self._refuse_reconnection()
        super().save(*args, **kwargs)

    @property
    def contacts_are_managed(self) -> bool:
        return self.contacts_source == self.ContactsSource.MANAGED

    def clean(self) -> None:
        self.default_phone_region = (self.default_phone_region or "").upper()
        self._refuse_reconnection()

    def _refuse_reconnection(self) -> None:
        if self.pk is None or self.contacts_are_managed:
            return
        stored = Organization.objects.filter(pk=self.pk).values_list("contacts_source", flat=True).first()
        if stored == self.ContactsSource.MANAGED:
            raise ValidationError(
                {"contacts_source": CONTACTS_SOURCE_IRREVERSIBLE.format(organization=self.name)},
                code="irreversible",
            )


class Customer(models.Model):
    """A customer of an organization, as it comes from the invoicing system."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="customers", verbose_name=_("organization")
    )
    name = models.CharField(_("name"), max_length=200)
    external_id = models.CharField(
        _("external identification code"),
        max_length=100,
        help_text=_("The customer's code in the invoicing system."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                name="customer_external_id_unique_per_org",
                violation_error_message=EXTERNAL_ID_TAKEN,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


class OrganizationAPIKeyManager(APIKeyManager):
    def get_usable_keys(self):
        return super().get_usable_keys().select_related("organization")


class OrganizationAPIKey(AbstractAPIKey):
    """A key for the REST API: it sees its organization's customers and contacts, nothing else.

    Only a hash is stored (djangorestframework-api-key); the full key is shown once, at creation.
    """

    # Writing on every request would make each read a write; a minute's precision is enough.
    LAST_USED_PRECISION_SECONDS = 60

    # The library's fields as it declares them, with labels the admin can show in French (it has no
    # French catalogue and leaves some unlabelled): the columns do not change.
    prefix = models.CharField(_("prefix"), max_length=8, unique=True, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    name = models.CharField(
        _("name"),
        max_length=50,
        blank=False,
        default=None,
        help_text=_("A free-form name for the API key. Need not be unique. 50 characters max."),
    )
    revoked = models.BooleanField(
        _("revoked"),
        blank=True,
        default=False,
        help_text=_("If the API key is revoked, clients cannot use it anymore. (This cannot be undone.)"),
    )
    expiry_date = models.DateTimeField(
        _("expires"),
        blank=True,
        null=True,
        help_text=_("Once API key expires, clients cannot use it anymore."),
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("organization")
    )
    read_only = models.BooleanField(
        _("read-only"),
        default=False,
        help_text=_("A read-only key can list and read customers and contacts, not write them."),
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    objects = OrganizationAPIKeyManager()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def record_use(self) -> None:
        now = timezone.now()
        if self.last_used_at and (now - self.last_used_at).total_seconds() < self.LAST_USED_PRECISION_SECONDS:
            return
        OrganizationAPIKey.objects.filter(pk=self.pk).update(last_used_at=now)
        self.last_used_at = now


class IdempotentRequest(models.Model):
    """A POST sent with an `Idempotency-Key` header, and the response it got, replayed to retries.

    Scoped to the API key: two keys may use the same Idempotency-Key. `status` is null while the
    first request is being answered.
    """

    api_key = models.ForeignKey(OrganizationAPIKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique_per_api_key")
        ]
        indexes = [models.Index(fields=["api_key", "created_at"], name="idempotency_key_age_idx")]

    def __str__(self) -> str:
        return self.key
