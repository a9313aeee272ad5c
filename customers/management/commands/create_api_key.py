from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext_lazy as _

from contacts.management.language import TranslatedCommand
from customers.models import Organization, OrganizationAPIKey

NO_SUCH_ORGANIZATION = _('No organization has the slug "{slug}".')
CREATED = _(
    'API key "{name}" created for {organization} (prefix {prefix}{read_only}). It is printed once, on '
    "the next line: store it now, it cannot be shown again."
)
READ_ONLY_NOTE = _(", read-only")
NAME_REQUIRED = _("The key needs a name of 1 to {limit} characters (--name).")


class Command(TranslatedCommand, BaseCommand):
    help = "Create an API key for an organization and print it once, on its own line."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, metavar="SLUG")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. the client's ERP.")
        parser.add_argument(
            "--read-only", action="store_true", help="The key can list and read, not write (403)."
        )

    def handle(self, *args, organization: str, name: str, read_only: bool = False, **options):
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(NO_SUCH_ORGANIZATION.format(slug=organization), returncode=2)
        name = name.strip()
        limit = OrganizationAPIKey._meta.get_field("name").max_length
        if not name or len(name) > limit:
            raise CommandError(NAME_REQUIRED.format(limit=limit), returncode=2)
        api_key, key = OrganizationAPIKey.objects.create_key(organization=org, name=name, read_only=read_only)
        # The explanation goes to stderr so that `KEY=$(... create_api_key ...)` captures the key alone.
        self.stderr.write(
            CREATED.format(
                name=api_key.name,
                organization=org.name,
                prefix=api_key.prefix,
                read_only=READ_ONLY_NOTE if read_only else "",
            )
        )
        self.stdout.write(key)
