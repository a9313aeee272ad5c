"""What the preview page shows: its sections, paginated (errors, warnings, new and updated contacts,
one page of each), and beside them the month's imports, an earlier import of the same file and the
report links."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from contacts.fields import ENGLISH_HEADERS, headers_in
from contacts.importing import reimport, reports
from contacts.importing.findings import ImportReport
from contacts.importing.limits import OVERRIDE_PERMISSION, month_use
from contacts.services.values import yes_no
from customers.models import Customer

PAGE_SIZE = 50  # rows of each kind shown per page of the preview

BLANKS_KEEP = ngettext_lazy(
    "Blank cells keep the stored value (the upload's choice): in %(count)s row, a blank cell left a stored "
    "value as it is; the changes below are only those of filled cells.",
    "Blank cells keep the stored value (the upload's choice): in %(count)s rows, blank cells left stored "
    "values as they are; the changes below are only those of filled cells.",
    "count",
)
BLANKS_KEEP_NONE = _("Blank cells keep the stored value (the upload's choice).")
BLANKS_CLEAR = _(
    "Blank cells clear the stored value (the upload's choice): a change to (blank) below erases what is "
    "stored."
)


def preview_sections(request, report: ImportReport) -> dict:
    """The errors, warnings, new and updated rows of a preview: one page of each, PAGE_SIZE rows at most."""
    if report.kept_outcomes is not None:  # a background preview's: decoded one page at a time
        new, updated = report.kept_outcomes["new"], report.kept_outcomes["updated"]
    else:
        outcomes = report.plan.outcomes if report.plan else []
        new = [o for o in outcomes if o.status == "new"]
        updated = [o for o in outcomes if o.status == "updated"]
    row_errors = [p for p in report.errors if p.row is not None]
    sections = {
        "errors": _page(request, "errors", row_errors),
        "warnings": _page(request, "warnings", report.warnings),
        "new": _page(request, "new", new),
        "updated": _page(request, "updated", updated),
    }
    shown = [*sections["new"]["page"].object_list, *sections["updated"]["page"].object_list]
    customers = Customer.objects.in_bulk({o.customer_id for o in shown if o.customer_id})
    sections["errors"]["rows"] = [
        (p.row, report.column(p) or "", p.message) for p in sections["errors"]["page"].object_list
    ]
    sections["warnings"]["rows"] = [report.label(p) for p in sections["warnings"]["page"].object_list]
    # A column the file lacks is named by the template's header in the file's language.
    file_headers = report.table.headers if report.table else None
    template = headers_in(reports.header_language(file_headers))
    labels = {name: report.column_labels.get(name) or template[name] for name in ENGLISH_HEADERS}
    sections["new"]["rows"] = [
        {"row": o.row, "customer": customers.get(o.customer_id), **_displayed(o.values)}
        for o in sections["new"]["page"].object_list
    ]
    sections["updated"]["rows"] = [
        {
            "row": o.row,
            "customer": customers.get(o.customer_id),
            "external_id": o.values["external_id"],
            "changes": [
                (labels.get(name, name), _shown(name, old), _shown(name, o.values[name]))
                for name, old in o.previous.items()
            ],
            "kept": [(labels.get(name, name), _shown(name, o.values[name])) for name in o.kept],
        }
        for o in sections["updated"]["page"].object_list
    ]
    return {
        "sections": sections,
        "file_errors": [report.label(p) for p in report.file_errors],
        "labels": labels,
        "blank_policy": blank_policy(report),
    }


def blank_policy(report: ImportReport) -> str:
    """What the upload's blank-cell choice does to this file, for the top of the updated contacts."""
    if report.blank_clears:
        return str(BLANKS_CLEAR)
    if report.blank_kept is not None:  # a background preview's, counted when it ran
        count = report.blank_kept
    else:
        count = sum(1 for outcome in (report.plan.outcomes if report.plan else []) if outcome.kept)
    return BLANKS_KEEP % {"count": count} if count else str(BLANKS_KEEP_NONE)


def _page(request, kind: str, items: list) -> dict:
    parameter = f"{kind}_page"
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get(parameter))

    def url(number: int) -> str:
        query = request.GET.copy()
        query[parameter] = number
        return f"?{query.urlencode()}#{kind}"

    return {
        "page": page,
        "count": len(items),
        "previous_url": url(page.previous_page_number()) if page.has_previous() else "",
        "next_url": url(page.next_page_number()) if page.has_next() else "",
    }


def _shown(name: str, value) -> str:
    if name == "is_main":
        return yes_no(value)
    return "" if value is None else str(value)


def _displayed(values: dict) -> dict:
    return {name: _shown(name, value) for name, value in values.items()}


# --- What the preview and the upload page show beside the rows ----------------------------------------


def month_uses(request, organizations: list) -> dict:
    """The month's imports of each organization that made one, for the upload page."""
    uses = month_use(organizations)
    can_override = request.user.has_perm(OVERRIDE_PERMISSION)
    return {
        "month_uses": [
            {
                "organization": organization,
                "sentence": uses[organization.pk].sentence(),
                "advice": ""
                if can_override or not uses[organization.pk].used_up
                else (uses[organization.pk].advice(organization)),
            }
            for organization in organizations
            if uses[organization.pk].used
        ],
        "month_unused": any(not use.used for use in uses.values()),
    }


def earlier_import(report: ImportReport) -> dict:
    """The committed import of the same file, if any: the warning at the top of the preview."""
    batch = report.earlier_import
    if batch is None:
        return {"earlier_import": None}
    return {
        "earlier_import": reimport.already_imported(batch),
        "earlier_import_url": reverse("admin:contacts_importbatch_change", args=[batch.pk]),
    }


def report_links(report: ImportReport) -> list[dict]:
    """The error report's download links: the language of the file's headers first, then the others."""
    headers = report.table.headers if report.table else None
    first = reports.header_language(headers)
    return [
        {"language": code, "name": name, "default": code == first}
        for code, name in sorted(reports.REPORT_LANGUAGES.items(), key=lambda item: item[0] != first)
    ]
