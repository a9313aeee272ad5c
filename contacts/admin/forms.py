"""The forms of the contacts admin: a contact (alone or inline on its customer) and the import's steps."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet, construct_instance
from django.utils.translation import gettext_lazy as _

from contacts.fields import CONTACT_FIELDS
from contacts.importing.reading import EMPTY, TOO_BIG
from contacts.importing.uploads import PREVIEW_NAME, SHA256
from contacts.models import EMAIL_TAKEN, EXTERNAL_ID_TAKEN, Contact
from contacts.normalization import normalize_provider_email
from contacts.services.contacts import EDITABLE_WHILE_SYNCED, ensure_contacts_managed
from customers.models import Organization

ACCEPTED_EXTENSIONS = ".csv,.xlsx,.xls,.ods"


# --- A contact, on its own page or inline on its customer's --------------------------------------------


class ContactForm(forms.ModelForm):
    """Validates like the services do, so a broken rule is a form error rather than a failed save."""

    class Meta:
        model = Contact
        fields = ("customer", *CONTACT_FIELDS)

    def _post_clean(self) -> None:
        """After the model's checks (which normalize the address): an address the mail provider refuses is
        a form error here, as in the API's single writes (a form has no place for the import's warning).
        An address kept as stored is not checked again."""
        super()._post_clean()
        email = self.instance.email
        if "email" in self.errors or not email or email == self.initial.get("email"):
            return
        try:
            normalize_provider_email(email)
        except ValidationError as error:
            self.add_error("email", error)

    def clean(self):
        cleaned = super().clean()
        customer = cleaned.get("customer") or getattr(self.instance, "customer", None)
        if customer is not None and customer.organization_id is not None:
            try:
                ensure_contacts_managed(customer.organization)
            except ValidationError as error:
                raise ValidationError(error.messages) from None
            # Constraints that start with the organization are checked only when it is known.
            self.instance.organization = customer.organization
        return cleaned

    def _get_validation_exclusions(self):
        exclusions = super()._get_validation_exclusions()
        if self.instance.organization_id is not None:
            exclusions.discard("organization")
        return exclusions


class SyncedContactForm(forms.ModelForm):
    """A contact of an organization still synced from invoicing: its occupation alone may change."""

    class Meta:
        model = Contact
        fields = sorted(EDITABLE_WHILE_SYNCED)

    def _post_clean(self) -> None:
        # The other values are the invoicing system's, not the agent's to correct: the model's clean()
        # of the whole contact is not run; the service checks the fields it writes.
        self.instance = construct_instance(self, self.instance, fields=self._meta.fields)


class ContactInlineFormSet(BaseInlineFormSet):
    """A customer's contacts edited together: two rows cannot share an email or an identifier code."""

    def clean(self) -> None:
        super().clean()
        self._clean_against_stored_contacts()
        seen: dict[tuple[str, str], forms.Form] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            for field, message, value in (
                ("email", EMAIL_TAKEN, (data.get("email") or "").strip().lower()),
                ("external_id", EXTERNAL_ID_TAKEN, (data.get("external_id") or "").strip()),
            ):
                if value and seen.setdefault((field, value), form) is not form:
                    form.add_error(field, message)

    def validate_unique(self) -> None:
        """clean() says it in the import's words, instead of "Please correct the duplicate data…"."""

    def _clean_against_stored_contacts(self) -> None:
        """The customer is the inline's foreign key, which Django leaves out of the constraint checks:
        check each row's email and identifier code against the stored contacts, in two queries."""
        customer = self.instance
        if customer.pk is None:
            return
        rows = [
            form for form in self.forms if getattr(form, "cleaned_data", None) and form.instance.external_id
        ]
        emails = {
            email.lower(): pk
            for pk, email in Contact.objects.filter(customer=customer).values_list("pk", "email")
        }
        codes = dict(
            Contact.objects.filter(
                organization_id=customer.organization_id,
                external_id__in={form.instance.external_id for form in rows},
            ).values_list("external_id", "pk")
        )
        for form in rows:
            contact = form.instance  # its values normalized by the model's clean()
            if "email" not in form.errors and emails.get(contact.email.lower(), contact.pk) != contact.pk:
                form.add_error("email", EMAIL_TAKEN)
            if "external_id" not in form.errors and codes.get(contact.external_id, contact.pk) != contact.pk:
                form.add_error("external_id", EXTERNAL_ID_TAKEN)


# --- The import's steps: upload, then preview and confirm of the kept upload -------------------------


def managed_organizations() -> QuerySet[Organization]:
    """The organizations contacts can be imported for: those disconnected from the invoicing sync."""
    return Organization.objects.filter(contacts_source=Organization.ContactsSource.MANAGED)


class UploadForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=managed_organizations(),
        label=_("Organization"),
        help_text=_("Only organizations whose contacts are disconnected from the invoicing sync are listed."),
    )
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_EXTENSIONS}),
        error_messages={"empty": EMPTY},
        help_text=_("CSV (UTF-8 or Windows-1252; comma, semicolon or tab), Excel .xlsx or .xls, or .ods."),
    )

    blank_clears = forms.BooleanField(
        required=False,
        label=_("Blank cells clear the stored value"),
        help_text=_(
            "Unticked (the default), a blank cell keeps what is stored for a contact that already exists; "
            "ticked, it clears it (the Main Contact column excepted: write 0 to unset a main contact)."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.CONTACT_IMPORT_MAX_BYTES
        # Refuse before reading a byte of it into memory.
        if upload.size > limit:
            raise forms.ValidationError(TOO_BIG.format(limit=_megabytes(limit)))
        return upload


class PreviewKeyForm(forms.Form):
    """What the browser carries from the upload to the confirm: nothing it could use to reach a path."""

    # Any organization: the upload was bound to a disconnected one, and the pipeline refuses synced ones
    # with a message that says so.
    organization = forms.ModelChoiceField(queryset=Organization.objects.all(), widget=forms.HiddenInput)
    file = forms.RegexField(regex=PREVIEW_NAME, max_length=32, widget=forms.HiddenInput)
    sha256 = forms.RegexField(regex=SHA256, max_length=64, widget=forms.HiddenInput)


class ConfirmForm(PreviewKeyForm):
    skip_invalid = forms.BooleanField(
        required=False,
        label=_("Skip invalid rows"),
        help_text=_("Import the valid rows and leave the invalid ones out (the error report lists them)."),
    )
    override_reason = forms.CharField(
        required=False,
        max_length=1000,
        label=_("Override the monthly limit — reason"),
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Only needed when the organization has used its imports for this month; it is recorded."),
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"
