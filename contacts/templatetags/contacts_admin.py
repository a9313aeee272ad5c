"""Template tags of this app's admin pages."""

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.http import urlencode

from contacts.admin.display import compact_datetime
from contacts.admin.imports import can_import
from contacts.selectors import organizations_at_a_glance
from customers.admin import CustomerContactsFilter
from customers.models import Organization

register = template.Library()


@register.inclusion_tag("admin/contacts/month_at_a_glance.html", takes_context=True)
def month_at_a_glance(context) -> dict:
    """The admin index's panel for staff allowed to import: each organization managed here, its
    imports this month and its customers that reminders cannot reach well, each linking to its list."""
    request = context["request"]
    if not can_import(request):
        return {"shown": False}
    return {
        "shown": True,
        "rows": [_row(organization) for organization in organizations_at_a_glance()],
        "allowed": settings.CONTACT_IMPORTS_PER_MONTH,
        "can_view_customers": request.user.has_perm("customers.view_customer"),
    }


def _row(organization: Organization) -> dict:
    by_organization = {"organization__id__exact": organization.pk}
    customers = reverse("admin:customers_customer_changelist")
    last_import = organization.last_import_id
    without, without_main = CustomerContactsFilter.WITHOUT, CustomerContactsFilter.WITHOUT_MAIN
    return {
        "organization": organization,
        "used": organization.imports_used,
        "history_url": f"{reverse('admin:contacts_importbatch_changelist')}?{urlencode(by_organization)}",
        "last_import_at": compact_datetime(organization.last_import_at) if last_import else "",
        "last_import_by": organization.last_import_by or "",
        "last_import_url": reverse("admin:contacts_importbatch_change", args=[last_import])
        if last_import
        else "",
        "import_url": f"{reverse('admin:contacts_contact_import')}?organization={organization.pk}",
        "without_contacts": organization.without_contacts,
        "without_contacts_url": _filtered(customers, by_organization, without),
        "without_main_contact": organization.without_main_contact,
        "without_main_contact_url": _filtered(customers, by_organization, without_main),
    }


def _filtered(changelist: str, by_organization: dict, contacts: str) -> str:
    return f"{changelist}?{urlencode({**by_organization, CustomerContactsFilter.parameter_name: contacts})}"
