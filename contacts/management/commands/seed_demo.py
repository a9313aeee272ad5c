"""Demo data for `make run`: idempotent, deterministic."""

import random

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext_lazy

from contacts.management.language import TranslatedCommand
from contacts.models import Contact, ContactChange
from contacts.services import changelog
from contacts.services.changelog import Actor
from contacts.services.contacts import contact_create
from customers.models import Customer, Organization, OrganizationAPIKey
from customers.services import organization_disconnect_contacts

SUPPORT_GROUP = "Support staff"
# Who wrote the demo contacts, as their history shows it.
SEED_ACTOR = Actor.command_line()
INVOICING_ACTOR = Actor(channel=ContactChange.Channel.INVOICING, name="seed_demo")
SUPPORT_PERMISSIONS = [
    ("contacts", "view_contact"),
    ("contacts", "add_contact"),
    ("contacts", "change_contact"),
    ("contacts", "import_contacts"),
    ("contacts", "view_importbatch"),
    ("contacts", "undo_import"),
    ("contacts", "view_contactchange"),
    ("customers", "view_customer"),
    ("customers", "view_organization"),
]
DEMO_USERS = [
    # username, password, superuser
    ("admin", "admin", True),
    ("support", "support", False),
]
DEMO_API_KEY_ORGANIZATION = "acme"  # disconnected: its contacts can be written through the API
DEMO_API_KEY_NAME = "Demo key"
ORGANIZATIONS = [
    # slug, name, disconnected
    ("acme", "Acme Industries", True),
    ("globex", "Globex Distribution", False),
]
COMPANIES = [
    "Boulangerie Martin",
    "Transports Lefèvre",
    "Garage du Centre",
    "Pharmacie Dubois",
    "Atelier Moreau",
    "Hôtel des Alpes",
    "Cabinet Laurent",
    "Imprimerie Simon",
    "Menuiserie Michel",
    "Fromagerie Garcia",
    "Librairie David",
    "Électricité Bertrand",
    "Plomberie Roux",
    "Brasserie Vincent",
    "Fleurs Fournier",
    "Optique Morel",
    "Ferme Girard",
    "Textiles André",
    "Cave Mercier",
    "Studio Blanc",
]
FIRST_NAMES = [
    "Camille",
    "Léa",
    "Hugo",
    "Louis",
    "Chloé",
    "Manon",
    "Lucas",
    "Inès",
    "Jules",
    "Sarah",
    "Nathan",
    "Emma",
    "Théo",
    "Zoé",
    "Paul",
    "Julie",
    "Antoine",
    "Claire",
    "Maxime",
    "Élodie",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefebvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
]
OCCUPATIONS = ["ACCOUNTING", "SALES", "PURCHASER", "PAYER", ""]
SEEDED = gettext_lazy("Demo data: {organizations} organizations, {customers} customers, {contacts} contacts.")
DEMO_LOGINS = gettext_lazy("Demo logins (DJANGO_DEBUG is on):")
SUPERUSER = gettext_lazy("superuser")
MEMBER_OF = gettext_lazy("member of {group}")
DEMO_API_KEY = gettext_lazy(
    "Demo API key for {organization} (a new one each run; the previous demo key stops working):"
)
ASCII = str.maketrans("éèêëàâäîïôöûüçÉ", "eeeeaaaiioouucE")


class Command(TranslatedCommand, BaseCommand):
    help = "Create demo organizations, customers, contacts, the support staff group and (in DEBUG) users."

    @transaction.atomic
    def handle(self, *args, **options):
        rng = random.Random(2026)
        group = self._support_group()
        for index, (slug, name, disconnected) in enumerate(ORGANIZATIONS):
            organization, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": name})
            if disconnected:
                organization = organization_disconnect_contacts(organization=organization)
            self._customers_and_contacts(organization, prefix=slug[:2].upper(), rng=rng, offset=index)
        self.stdout.write(
            SEEDED.format(
                organizations=Organization.objects.count(),
                customers=Customer.objects.count(),
                contacts=Contact.objects.count(),
            )
        )
        if settings.DEBUG:
            self._demo_users(group)
            self._demo_api_key()

    def _support_group(self) -> Group:
        group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
        for app_label, codename in SUPPORT_PERMISSIONS:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return group

    def _customers_and_contacts(self, organization: Organization, *, prefix: str, rng, offset: int) -> None:
        domain = organization.slug + ".example"
        existing = set(
            Contact.objects.filter(organization=organization).values_list("external_id", flat=True)
        )
        synced = []
        for number, company in enumerate(COMPANIES, start=1):
            customer, _ = Customer.objects.get_or_create(
                organization=organization, external_id=f"{prefix}-{1000 + number}", defaults={"name": company}
            )
            for position in range(1 + number % 3):
                external_id = f"{prefix}-C{1000 + number}-{position + 1}"
                first = FIRST_NAMES[(number * 3 + position + offset) % len(FIRST_NAMES)]
                last = LAST_NAMES[(number * 7 + position * 5 + offset) % len(LAST_NAMES)]
                values = {
                    "external_id": external_id,
                    "email": f"{first}.{last}{number}@{domain}".translate(ASCII).lower(),
                    "first_name": first,
                    "last_name": last,
                    "phone": f"+3361{rng.randint(0, 9_999_999):07d}",
                    "occupation": OCCUPATIONS[(number + position) % len(OCCUPATIONS)],
                    "is_main": position == 0,
                }
                if external_id in existing:
                    continue
                if organization.contacts_are_managed:
                    contact_create(organization=organization, customer=customer, actor=SEED_ACTOR, **values)
                else:
                    # What the invoicing sync writes for an organization still synced from it.
                    synced.append(
                        Contact(
                            organization=organization,
                            customer=customer,
                            source=Contact.Source.INVOICING,
                            **values,
                        )
                    )
        Contact.objects.bulk_create(synced)
        changelog.record(
            [changelog.created(contact) for contact in synced],
            organization_id=organization.pk,
            actor=INVOICING_ACTOR,
        )

    def _demo_users(self, group: Group) -> None:
        User = get_user_model()
        self.stdout.write(DEMO_LOGINS)
        for username, password, superuser in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": True, "is_superuser": superuser}
            )
            if created:
                user.set_password(password)
                user.save()
            if not superuser:
                user.groups.add(group)
            role = SUPERUSER if superuser else MEMBER_OF.format(group=SUPPORT_GROUP)
            self.stdout.write(f"  {username} / {password}  ({role})")

    def _demo_api_key(self) -> None:
        """A fresh demo key on each run: keys are stored hashed, so the previous one cannot be shown again."""
        organization = Organization.objects.get(slug=DEMO_API_KEY_ORGANIZATION)
        OrganizationAPIKey.objects.filter(organization=organization, name=DEMO_API_KEY_NAME).delete()
        _api_key, key = OrganizationAPIKey.objects.create_key(
            organization=organization, name=DEMO_API_KEY_NAME
        )
        self.stdout.write(DEMO_API_KEY.format(organization=organization.name))
        self.stdout.write(f"  export API_KEY={key}")
