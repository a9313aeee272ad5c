"""An organization's saved import profile: saved with a committed import, applied to its next file, and
never applied to a file that no longer fits it."""

import pytest
from django.core.exceptions import ValidationError

from contacts.fields import SPREADSHEET_FIELDS
from contacts.importing import interpretation
from contacts.importing.findings import ImportRefused
from contacts.importing.limits import MONTHLY_LIMIT_REACHED
from contacts.importing.mapping import Mapping
from contacts.importing.pipeline import commit_import, preview_import
from contacts.importing.profiles import mapping_to_read_with, profile_mapping, save_profile
from contacts.models import Contact, ImportProfile
from tests.factories import CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import HEADERS, contact_row, workbook_bytes

pytestmark = pytest.mark.django_db

MAIL_HEADERS = [*HEADERS[:3], "Mail", *HEADERS[4:]]  # the article's headers, but "Mail" for the email
MAPPING = Mapping(
    sheet="Contacts",
    header_row=3,
    columns={"Mail": "email"},
    values={"occupation": {"Direction financière": "ACCOUNTING"}},
)


def client_file(customer, *rows, headers=MAIL_HEADERS, sheet="Contacts", title_lines=2) -> bytes:
    """This month's file of the client: title lines, then the headers and rows."""
    top = [["Contacts Acme"], *[[]] * (title_lines - 1)]
    return workbook_bytes({sheet: [*top, headers, *rows]})


def month_rows(customer, month: int) -> list[list[str]]:
    return [
        contact_row(customer, f"C-{month}-1", f"a{month}@b.example", occupation="Direction financière"),
        contact_row(customer, f"C-{month}-2", f"b{month}@b.example", occupation="Ventes"),
    ]


@pytest.fixture
def acme():
    return OrganizationFactory(name="Acme")


def test_without_a_profile_a_file_is_read_as_found(acme):
    assert mapping_to_read_with(acme, None) == (Mapping(), interpretation.FOUND)
    assert mapping_to_read_with(acme, MAPPING) == (MAPPING, interpretation.MAPPING)


def test_a_commit_with_a_mapping_saves_how_the_file_was_read_as_the_profile(acme):
    customer = CustomerFactory(organization=acme)
    user = UserFactory()

    commit_import(
        organization=acme,
        data=client_file(customer, *month_rows(customer, 1), headers=[*MAIL_HEADERS, "SIRET"]),
        filename="mars.xlsx",
        mapping=Mapping(columns={"Mail": "email", "SIRET": None}, values=MAPPING.values),
        save_as_profile=True,
        user=user,
    )

    profile = ImportProfile.objects.get(organization=acme)
    assert (profile.sheet, profile.header_row, profile.updated_by) == ("Contacts", 3, user)
    assert profile.columns == {**dict(zip(MAIL_HEADERS, SPREADSHEET_FIELDS, strict=True)), "SIRET": None}
    assert profile.values == {"occupation": {"Direction financière": "ACCOUNTING"}}


def test_the_saved_profile_reads_the_next_file_and_the_preview_says_so(acme):
    customer = CustomerFactory(organization=acme)
    save_profile(organization=acme, mapping=MAPPING)

    report = preview_import(
        organization=acme, data=client_file(customer, *month_rows(customer, 2)), filename="avril.xlsx"
    )

    assert report.errors == []
    assert report.totals["new"] == 2
    assert [o.values["occupation"] for o in report.plan.outcomes] == ["ACCOUNTING", "SALES"]
    assert report.reading.summary == (
        "Read with Acme's saved profile (header on row 3 of sheet Contacts; 'Mail' → email; "
        "'Direction financière' → ACCOUNTING)"
    )
    assert report.reading.reasons == []


def test_a_profile_saved_from_one_commit_is_applied_to_the_next_file(acme):
    customer = CustomerFactory(organization=acme)
    commit_import(
        organization=acme,
        data=client_file(customer, *month_rows(customer, 3)),
        filename="mai.xlsx",
        mapping=MAPPING,
        save_as_profile=True,
    )

    report = preview_import(
        organization=acme, data=client_file(customer, *month_rows(customer, 4)), filename="juin.xlsx"
    )

    assert report.reading.source == interpretation.PROFILE
    assert (report.errors, report.totals["new"]) == ([], 2)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"headers": [*HEADERS[:3], "E-mail", *HEADERS[4:]]},
            interpretation.PROFILE_COLUMNS_ABSENT.format(columns='"Mail"'),
        ),
        (
            {"title_lines": 3},
            interpretation.PROFILE_HEADER_MOVED.format(
                found="header on row 4 of sheet Contacts", expected="header on row 3 of sheet Contacts"
            ),
        ),
        (
            {"sheet": "Contacts juin"},
            interpretation.PROFILE_HEADER_MOVED.format(
                found="header on row 3 of sheet Contacts juin", expected="header on row 3 of sheet Contacts"
            ),
        ),
    ],
)
def test_a_file_that_no_longer_fits_the_profile_goes_to_the_mapping_step_never_read_silently(
    acme, changes, reason
):
    customer = CustomerFactory(organization=acme)
    save_profile(organization=acme, mapping=MAPPING)
    data = client_file(customer, *month_rows(customer, 5), **changes)

    report = preview_import(organization=acme, data=data, filename="juillet.xlsx")

    message = interpretation.PROFILE_NO_LONGER_FITS.format(organization="Acme", reason=reason)
    assert [p.message for p in report.file_errors] == [message]
    assert report.reading.reasons[0] == message
    assert report.plan is None
    with pytest.raises(ImportRefused, match="no longer fits"):
        commit_import(organization=acme, data=data, filename="juillet.xlsx")
    assert Contact.objects.count() == 0


def test_a_mapping_given_for_the_file_wins_over_the_profile(acme):
    customer = CustomerFactory(organization=acme)
    save_profile(organization=acme, mapping=MAPPING)
    data = client_file(customer, *month_rows(customer, 6), headers=[*HEADERS[:3], "E-mail", *HEADERS[4:]])

    report = preview_import(
        organization=acme, data=data, filename="août.xlsx", mapping=Mapping(values=MAPPING.values)
    )

    assert (report.errors, report.totals["new"]) == ([], 2)


def test_a_refused_commit_saves_no_profile(acme, settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 0
    customer = CustomerFactory(organization=acme)

    with pytest.raises(ImportRefused) as refused:
        commit_import(
            organization=acme,
            data=client_file(customer, *month_rows(customer, 7)),
            filename="x.xlsx",
            mapping=MAPPING,
            save_as_profile=True,
        )

    assert str(refused.value) == MONTHLY_LIMIT_REACHED.format(organization="Acme", count=0, limit=0)
    assert ImportProfile.objects.count() == 0


def test_saving_again_replaces_the_profile(acme):
    save_profile(organization=acme, mapping=MAPPING)
    save_profile(organization=acme, mapping=Mapping(header_row=1, columns={"Courriel": "email"}))

    assert profile_mapping(acme) == Mapping(header_row=1, columns={"Courriel": "email"})
    assert ImportProfile.objects.count() == 1


def test_a_profile_edited_by_hand_is_checked_and_stored_as_field_names(acme):
    profile = ImportProfile(
        organization=acme, columns={"Mail": "Contact's Email", "Tél.": "Téléphone du contact"}, values={}
    )
    profile.full_clean()
    assert profile.columns == {"Mail": "email", "Tél.": "phone"}

    profile.columns = {"Mail": "Fax"}
    with pytest.raises(ValidationError, match="not a column of the import"):
        profile.full_clean()
