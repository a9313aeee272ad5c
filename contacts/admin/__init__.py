"""The contacts admin. Django imports `contacts.admin` at start-up; importing the modules registers their
ModelAdmins (the import views are mounted by ContactAdmin.get_urls)."""

from contacts.admin import changes, contacts, history  # noqa: F401
