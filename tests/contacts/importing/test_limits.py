import datetime
import threading
import zoneinfo

import pytest
from django.contrib.auth.models import Permission
from django.db import connection

from contacts.importing import limits
from contacts.importing.findings import ImportRefused
from contacts.importing.pipeline import commit_import, preview_import
from contacts.models import Contact, ImportBatch
from contacts.selectors import committed_imports_this_month, month_bounds
from tests.factories import CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import contact_row, csv_bytes, postgresql_only

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
MARCH = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def limit_settings(settings):
    settings.TIME_ZONE = "Europe/Paris"
    settings.CONTACT_IMPORTS_PER_MONTH = 1


def one_contact_file(org, external_id: str = "C-1") -> bytes:
    customer = CustomerFactory(organization=org)
    return csv_bytes([contact_row(customer, external_id, f"{external_id.lower()}@b.example")])


def refused_message(org, count: int = 1) -> str:
    return limits.MONTHLY_LIMIT_REACHED.format(organization=org.name, count=count, limit=1)


def user_with_override_permission():
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="override_import_limit"))
    return user


@pytest.mark.django_db
def test_second_commit_in_the_month_is_refused_and_writes_nothing(org):
    commit_import(organization=org, data=one_contact_file(org, "C-1"), filename="a.csv", now=MARCH)

    with pytest.raises(ImportRefused) as caught:
        commit_import(organization=org, data=one_contact_file(org, "C-2"), filename="b.csv", now=MARCH)

    assert str(caught.value) == refused_message(org)
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["C-1"]
    assert ImportBatch.objects.count() == 1


@pytest.mark.django_db
def test_dry_runs_do_not_count(org):
    for _ in range(3):
        preview_import(organization=org, data=one_contact_file(org), filename="a.csv")

    report = commit_import(organization=org, data=one_contact_file(org, "C-9"), filename="a.csv", now=MARCH)

    assert report.committed is True


@pytest.mark.django_db
def test_refused_and_failed_attempts_do_not_count(org):
    ImportBatch.objects.create(
        organization=org, file_name="x.csv", sha256="0", format="csv", status="failed", created_at=MARCH
    )

    report = commit_import(organization=org, data=one_contact_file(org), filename="a.csv", now=MARCH)

    assert report.committed is True


@pytest.mark.django_db
def test_next_month_is_allowed_again(org):
    commit_import(organization=org, data=one_contact_file(org, "C-1"), filename="a.csv", now=MARCH)

    april = datetime.datetime(2026, 4, 1, 0, 5, tzinfo=PARIS)
    report = commit_import(organization=org, data=one_contact_file(org, "C-2"), filename="b.csv", now=april)

    assert report.committed is True
    assert ImportBatch.objects.filter(status="committed").count() == 2


@pytest.mark.django_db
def test_the_month_is_the_calendar_month_of_the_configured_time_zone(org):
    # 23:30 UTC on 31 March is already 1 April in Paris.
    late_march_utc = datetime.datetime(2026, 3, 31, 23, 30, tzinfo=datetime.UTC)
    commit_import(organization=org, data=one_contact_file(org), filename="a.csv", now=late_march_utc)

    assert committed_imports_this_month(org, MARCH) == 0
    assert committed_imports_this_month(org, datetime.datetime(2026, 4, 15, tzinfo=PARIS)) == 1
    assert month_bounds(MARCH) == (
        datetime.datetime(2026, 3, 1, tzinfo=PARIS),
        datetime.datetime(2026, 4, 1, tzinfo=PARIS),
    )


@pytest.mark.django_db
def test_the_limit_is_a_setting(org, settings):
    settings.CONTACT_IMPORTS_PER_MONTH = 2
    for external_id in ("C-1", "C-2"):
        commit_import(organization=org, data=one_contact_file(org, external_id), filename="a.csv", now=MARCH)

    with pytest.raises(ImportRefused):
        commit_import(organization=org, data=one_contact_file(org, "C-3"), filename="a.csv", now=MARCH)

    assert Contact.objects.count() == 2


@pytest.mark.django_db
def test_other_organizations_imports_do_not_count(org):
    other = OrganizationFactory()
    commit_import(organization=other, data=one_contact_file(other), filename="a.csv", now=MARCH)

    report = commit_import(organization=org, data=one_contact_file(org, "C-2"), filename="a.csv", now=MARCH)

    assert report.committed is True


@pytest.mark.django_db
def test_permitted_user_overrides_the_limit_with_a_recorded_reason(org):
    commit_import(organization=org, data=one_contact_file(org, "C-1"), filename="a.csv", now=MARCH)
    user = user_with_override_permission()

    report = commit_import(
        organization=org,
        data=one_contact_file(org, "C-2"),
        filename="b.csv",
        user=user,
        override_reason="  Client sent a corrected file  ",
        now=MARCH,
    )

    assert report.committed is True
    assert (report.batch.user, report.batch.override_reason) == (user, "Client sent a corrected file")


@pytest.mark.django_db
def test_override_without_the_permission_is_refused(org):
    commit_import(organization=org, data=one_contact_file(org, "C-1"), filename="a.csv", now=MARCH)

    with pytest.raises(ImportRefused) as caught:
        commit_import(
            organization=org,
            data=one_contact_file(org, "C-2"),
            filename="b.csv",
            user=UserFactory(),
            override_reason="Please",
            now=MARCH,
        )

    assert str(caught.value) == limits.OVERRIDE_NOT_ALLOWED
    assert ImportBatch.objects.count() == 1
    assert Contact.objects.count() == 1


@pytest.mark.django_db
def test_override_without_a_reason_is_refused_even_with_the_permission(org):
    commit_import(organization=org, data=one_contact_file(org, "C-1"), filename="a.csv", now=MARCH)

    with pytest.raises(ImportRefused) as caught:
        commit_import(
            organization=org,
            data=one_contact_file(org, "C-2"),
            filename="b.csv",
            user=user_with_override_permission(),
            override_reason="   ",
            now=MARCH,
        )

    assert str(caught.value) == refused_message(org)
    assert Contact.objects.count() == 1


@pytest.mark.django_db
def test_command_line_may_override_with_a_reason(org):
    commit_import(organization=org, data=one_contact_file(org, "C-1"), filename="a.csv", now=MARCH)

    report = commit_import(
        organization=org,
        data=one_contact_file(org, "C-2"),
        filename="b.csv",
        override_reason="Ops",
        now=MARCH,
    )

    assert report.batch.override_reason == "Ops"


@pytest.mark.django_db
def test_reason_given_below_the_limit_is_not_recorded_as_an_override(org):
    report = commit_import(
        organization=org,
        data=one_contact_file(org),
        filename="a.csv",
        override_reason="Just in case",
        now=MARCH,
    )

    assert report.batch.override_reason == ""


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_commits_racing_only_one_passes_the_limit():
    org = OrganizationFactory()
    files = [one_contact_file(org, "C-1"), one_contact_file(org, "C-2")]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def commit(data: bytes) -> None:
        try:
            barrier.wait()
            commit_import(organization=org, data=data, filename="a.csv")
            outcomes.append("committed")
        except ImportRefused as refused:
            outcomes.append(str(refused))
        finally:
            connection.close()

    threads = [threading.Thread(target=commit, args=(data,)) for data in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == sorted(["committed", refused_message(org)])
    assert ImportBatch.objects.filter(organization=org, status="committed").count() == 1
    assert Contact.objects.filter(organization=org).count() == 1
