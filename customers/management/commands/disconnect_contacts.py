from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext_lazy as _

from contacts.management.language import TranslatedCommand
from customers.models import Organization
from customers.services import organization_disconnect_contacts

WARNING = _(
    "Disconnecting the contacts of {name} from the invoicing sync cannot be undone: they will be "
    "managed here, and contacts created here cannot be sent back to the invoicing system."
)
UNKNOWN_ORGANIZATION = _('No organization has the slug "{slug}".')
UNKNOWN_USER = _('No user is named "{username}".')
ALREADY_DISCONNECTED = _("The contacts of {name} are already disconnected; nothing to do.")
PROMPT = _("Type 'yes' to disconnect: ")
NOT_DISCONNECTED = _("Not disconnected.")
DISCONNECTED = _("The contacts of {name} are now managed here.")


class Command(TranslatedCommand, BaseCommand):
    help = "Disconnect an organization's contacts from the invoicing sync (irreversible)."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, metavar="SLUG")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")
        parser.add_argument("--by", metavar="USERNAME", help="Record this user as the one who disconnected.")

    def handle(self, *args, organization: str, yes: bool, by: str | None, **options):
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(UNKNOWN_ORGANIZATION.format(slug=organization), returncode=2)
        user = None
        if by:
            user = get_user_model().objects.filter(username=by).first()
            if user is None:
                raise CommandError(UNKNOWN_USER.format(username=by), returncode=2)
        if org.contacts_are_managed:
            self.stdout.write(ALREADY_DISCONNECTED.format(name=org.name))
            return
        if not yes:
            self.stdout.write(WARNING.format(name=org.name))
            try:
                answer = input(str(PROMPT))
            except EOFError:
                answer = ""
            if answer.strip().lower() != "yes":
                raise CommandError(NOT_DISCONNECTED, returncode=1)
        organization_disconnect_contacts(organization=org, by=user)
        self.stdout.write(self.style.SUCCESS(DISCONNECTED.format(name=org.name)))
