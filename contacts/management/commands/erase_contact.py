"""Erase a person: `erase_contact --organization SLUG --external-id ID [--by USERNAME] [--yes]`.

Deletes the contact and scrubs its email, names and phone from the change log, the import history's
messages, the admin's log entries and the API's stored responses, and deletes the pending uploads that
name it (contacts.services.erasure); for an organization still synced with invoicing too.
Exit status: 0 erased, 1 refused or nothing to erase, 2 usage error.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext_lazy as _

from contacts.management.language import TranslatedCommand
from contacts.services.changelog import Actor
from contacts.services.erasure import contact_erase
from customers.models import Organization

UNKNOWN_ORGANIZATION = _('No organization has the slug "%(slug)s".')
UNKNOWN_USER = _('No user is named "%(username)s".')
WARNING = _(
    'Erasing the contact "%(code)s" of %(organization)s deletes it and removes its email, names and phone '
    "from its history, the import history, the admin's log and the API's stored responses, and deletes "
    "the uploads waiting for confirmation that name it. This cannot be undone."
)
PROMPT = _("Type 'yes' to erase: ")
NOT_ERASED = _("Not erased.")
ERASED = _(
    'Erased "%(code)s" of %(organization)s: %(deleted)s, %(log_entries)s change log entries, '
    "%(imports)s import(s), %(admin_entries)s admin log entries and %(api_responses)s stored API "
    "response(s) scrubbed, %(uploads)s pending upload(s) deleted."
)
CONTACT_DELETED = _("contact deleted")
ALREADY_DELETED = _("the contact was already deleted")


class Command(TranslatedCommand, BaseCommand):
    help = "Delete a contact and scrub its personal data from the logs (irreversible)."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, metavar="SLUG")
        parser.add_argument(
            "--external-id", required=True, metavar="ID", help="the contact's identifier code"
        )
        parser.add_argument("--by", metavar="USERNAME", help="record this user as the one who erased it")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, organization: str, external_id: str, by, yes: bool, **options):
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(UNKNOWN_ORGANIZATION % {"slug": organization}, returncode=2)
        user = None
        if by:
            user = get_user_model().objects.filter(username=by).first()
            if user is None:
                raise CommandError(UNKNOWN_USER % {"username": by}, returncode=2)
        if not yes:
            self.stdout.write(WARNING % {"code": external_id, "organization": org.name})
            try:
                answer = input(str(PROMPT))
            except EOFError:
                answer = ""
            if answer.strip().lower() != "yes":
                raise CommandError(NOT_ERASED, returncode=1)
        actor = Actor.command_line(user)
        try:
            erasure = contact_erase(organization=org, external_id=external_id, actor=actor)
        except ValidationError as refused:
            raise CommandError(" ".join(refused.messages), returncode=1) from None
        deleted = CONTACT_DELETED if erasure.deleted else ALREADY_DELETED
        self.stdout.write(
            self.style.SUCCESS(
                ERASED
                % {
                    "code": external_id,
                    "organization": org.name,
                    "deleted": deleted,
                    "log_entries": erasure.log_entries,
                    "imports": erasure.imports,
                    "admin_entries": erasure.admin_entries,
                    "api_responses": erasure.api_responses,
                    "uploads": erasure.uploads,
                }
            )
        )
