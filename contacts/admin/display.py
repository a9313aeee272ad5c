"""How this app's admin pages show values: compactly in the lists, so that each list fits a laptop's
screen beside the admin's sidebars (the full value is on the detail page and in the cell's tooltip),
and users as links only for staff allowed to open them."""

import datetime

from django.contrib.admin import AdminSite
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth import get_user_model
from django.templatetags.static import static
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

EMPTY = "—"
# The lists' stylesheet: narrower padding, wrapping headers, a narrower filter column.
LIST_CSS = "contacts/admin-lists.css"


def compact_date(value: datetime.datetime | None) -> SafeString | str:
    """The local date, as 2026-07-02 (read the same way in English and in French); the full date and
    time in the tooltip."""
    if value is None:
        return EMPTY
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        local.isoformat(),
        formats.date_format(local, "DATETIME_FORMAT"),
        f"{local:%Y-%m-%d}",
    )


def compact_datetime(value: datetime.datetime | None) -> SafeString | str:
    """The local date and time, as 2026-07-02 00:30 (on two lines in a narrow column, never within one)."""
    if value is None:
        return EMPTY
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}"><span>{}</span> <span>{}</span></time>',
        local.isoformat(),
        f"{local:%Y-%m-%d}",
        f"{local:%H:%M}",
    )


def breakable_email(email: str) -> SafeString:
    """An email address that may wrap before its "@" (rather than at any letter) in a narrow column."""
    local, at, domain = email.rpartition("@")
    if not at:
        return format_html("{}", email)
    return format_html("{}<wbr>@{}", local, domain)


def main_mark(is_main: bool) -> SafeString | str:
    """The main contact ticked; the others left blank rather than crossed out in red."""
    if not is_main:
        return ""
    return format_html('<img src="{}" alt="{}">', static("admin/img/icon-yes.svg"), _("yes"))


def problem_count(value: int) -> SafeString:
    """A count of problems (invalid rows): marked as one only when it is not zero."""
    if not value:
        return format_html('<span class="count-zero">{}</span>', 0)
    return format_html('<span class="count-problem">{}</span>', value)


def can_view_users(request, admin_site: AdminSite) -> bool:
    """Whether the user may open the admin's user pages (a link to one is otherwise a 403 page)."""
    try:
        user_admin = admin_site.get_model_admin(get_user_model())
    except NotRegistered:
        return False
    return user_admin.has_view_permission(request)


def user_fields(request, admin_site: AdminSite, fields, names: dict[str, str]) -> list:
    """`fields` with each user field of `names` replaced by its text-only twin (`names[field]`) for
    staff who may not view users; the admin would link them to a page they cannot open."""
    if can_view_users(request, admin_site):
        return list(fields)
    return [names.get(field, field) if isinstance(field, str) else field for field in fields]


def user_name(user) -> str:
    return user.get_username() if user is not None else EMPTY
