"""A customer's contact: the person who receives its invoices and reminders."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
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
        ACCOUNTING = "ACCOUNTING", _("Accounting")
        SALES = "SALES", _("Sales")
        PURCHASER = "PURCHASER", _("Purchaser")
        PAYER = "PAYER", _("Payer")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual")
        IMPORT = "import", _("Import")
        API = "api", _("API")
        INVOICING = "invoicing", _("Invoicing sync")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("organization")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("customer")
    )
    external_id = models.CharField(
        _("identifier code"),
        max_length=100,
        help_text=_("The contact's reference in the client's own system; unique within the organization."),
    )
    email = models.EmailField(_("email"), max_length=254)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    phone = models.CharField(
        _("phone"), max_length=20, blank=True, help_text=_("Stored in E.164 form, e.g. +33612345678.")
    )
    occupation = models.CharField(_("occupation"), max_length=20, choices=Occupation.choices, blank=True)
    is_main = models.BooleanField(_("main contact"), default=False)
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.MANUAL, editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["customer__name", "-is_main", "last_name", "first_name"]
        permissions = [
            ("import_contacts", _("Can import contacts from a spreadsheet")),
            ("override_import_limit", _("Can override the monthly contact import limit")),
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
                violation_error_message=_("This customer already has a main contact."),
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
