"""An organization's saved import profile: the mapping its last file was read with, applied to the next.

Saved when an import read with a mapping is committed (the admin's mapping step; `import_contacts
--save-profile`), in the commit's transaction; visible and editable on the organization's admin page.
"""

from contacts.importing.interpretation import FOUND, MAPPING, PROFILE
from contacts.importing.mapping import Mapping
from contacts.models import ImportProfile
from customers.models import Organization


def profile_mapping(organization: Organization) -> Mapping | None:
    """The organization's saved profile as a mapping, or None when it has none."""
    profile = ImportProfile.objects.filter(organization=organization).first()
    if profile is None:
        return None
    return Mapping(
        sheet=profile.sheet or None,
        header_row=profile.header_row,
        columns=dict(profile.columns),
        values={name: dict(values) for name, values in profile.values.items()},
    )


def mapping_to_read_with(organization: Organization, mapping: Mapping | None) -> tuple[Mapping, str]:
    """The mapping a file is read with, and its source: the person's, else the saved profile, else none."""
    if mapping is not None:
        return mapping, MAPPING
    profile = profile_mapping(organization)
    if profile is not None:
        return profile, PROFILE
    return Mapping(), FOUND


def save_profile(*, organization: Organization, mapping: Mapping, user=None) -> ImportProfile:
    """Store `mapping` as the organization's profile, replacing the one it had."""
    profile, _created = ImportProfile.objects.update_or_create(
        organization=organization,
        defaults={
            "sheet": mapping.sheet or "",
            "header_row": mapping.header_row,
            "columns": mapping.columns,
            "values": mapping.values,
            "updated_by": user,
        },
    )
    return profile
