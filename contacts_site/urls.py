from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from contacts.api.docs import DocsView, SchemaView
from contacts.api.errors import no_such_endpoint

# The admin says what it is, in the user's language ("Django administration" told support nothing).
admin.site.site_header = _("Contacts back-office")
admin.site.site_title = _("Contacts back-office")
admin.site.index_title = _("Customers and their contacts")

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("contacts.api.urls")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    # Split: the page loads its start-up script from /api/docs/?script=, so the CSP needs no inline script.
    path(
        "api/docs/",
        DocsView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    re_path(r"^api/", no_such_endpoint),
]

# Under /api/, errors are JSON like the API's own; elsewhere, Django's pages.
handler400 = "contacts.api.errors.bad_request"
handler404 = "contacts.api.errors.page_not_found"
handler500 = "contacts.api.errors.server_error"
