"""French wherever a person reads: the admin follows the browser, the API follows Accept-Language (English by
default), the command line follows --language or LANGUAGE, and an error report the language of the file's
headers (or the one chosen on its link)."""

import csv
import html
import io
import re

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.urls import reverse

from contacts.management.language import TranslatedCommand, environment_language
from tests.factories import ContactFactory, CustomerFactory, UserFactory
from tests.helpers import (
    MANDATORY_FRENCH_HEADERS,
    MANDATORY_HEADERS,
    PREVIEW,
    UPLOAD,
    client_for,
    csv_bytes,
    uploaded,
)

pytestmark = pytest.mark.django_db

# The mandatory columns, as a French and an English client write them.
FRENCH_HEADERS, ENGLISH_HEADERS = MANDATORY_FRENCH_HEADERS, MANDATORY_HEADERS
INVALID_EMAIL_FR = '"ann@" n\'est pas une adresse e-mail valide.'
INVALID_EMAIL_EN = '"ann@" is not a valid email address.'
BLANK_CELLS_FR = "Les cellules vides effacent la valeur enregistrée"


def nbsp(text: str) -> str:
    """`text` spaced as the French catalogue spaces it: a no-break space before : ; ? and !."""
    return re.sub(r" ([:;?!])", "\xa0\\1", text)


def one_invalid_row(customer, headers: list[str]) -> bytes:
    return csv_bytes(
        [
            [customer.name, customer.external_id, "CT-1", "bob@client.example"],
            [customer.name, customer.external_id, "CT-2", "ann@"],
        ],
        headers,
    )


def text_of(response) -> str:
    return html.unescape(response.content.decode())


# --- The admin: the browser's language ----------------------------------------------------------------


def test_the_import_page_and_its_preview_are_in_french_for_a_french_browser(importer, org):
    customer = CustomerFactory(organization=org)
    importer.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr-FR,fr;q=0.9,en;q=0.5"

    form = importer.get(UPLOAD)
    key = uploaded(importer, org, one_invalid_row(customer, ENGLISH_HEADERS))
    preview = importer.get(PREVIEW, key)

    assert form["Content-Language"] == "fr"
    assert BLANK_CELLS_FR in text_of(form)
    assert "Importer des contacts" in text_of(form)
    assert "Aperçu de contacts.csv" in text_of(preview)
    assert INVALID_EMAIL_FR in text_of(preview)
    assert "Ignorer les lignes invalides" in text_of(preview)


def test_the_import_page_stays_english_without_a_language(importer, org):
    customer = CustomerFactory(organization=org)

    form = importer.get(UPLOAD)
    preview = importer.get(PREVIEW, uploaded(importer, org, one_invalid_row(customer, FRENCH_HEADERS)))

    assert form["Content-Language"] == "en"
    assert "Blank cells clear the stored value" in text_of(form)
    assert INVALID_EMAIL_EN in text_of(preview)  # the page is the agent's, whatever the file's headers


def test_the_contacts_list_labels_its_columns_and_filters_in_french(superuser_client, org):
    ContactFactory(customer=CustomerFactory(organization=org), occupation="ACCOUNTING")

    page = text_of(
        superuser_client.get(reverse("admin:contacts_contact_changelist"), HTTP_ACCEPT_LANGUAGE="fr")
    )

    for french in (
        "Code identifiant",
        "Fonction",
        "Par fonction",
        "Comptabilité",
        "Organisations et clients",
    ):
        assert french in page


# --- The API: Accept-Language, English by default -------------------------------------------------------


def post_invalid(api, customer, **headers):
    return api.post(
        f"/api/v1/customers/{customer.pk}/contacts", {"externalId": "K-1", "email": "ann@"}, **headers
    )


def test_an_api_error_is_in_french_with_accept_language_fr_and_in_english_without(org):
    customer, api = CustomerFactory(organization=org), client_for(org)

    french = post_invalid(api, customer, HTTP_ACCEPT_LANGUAGE="fr")
    english = post_invalid(api, customer)

    assert (french.status_code, french["Content-Language"]) == (400, "fr")
    assert french.json() == {
        "message": nbsp("Certaines valeurs ne sont pas valides ; voir errors."),
        "errors": {"email": [INVALID_EMAIL_FR]},
    }
    assert (english.status_code, english["Content-Language"]) == (400, "en")
    assert english.json() == {
        "message": "Some values are not valid; see errors.",
        "errors": {"email": [INVALID_EMAIL_EN]},
    }
    assert "Accept-Language" in french["Vary"]


def test_a_taken_email_stays_on_its_field_in_french(org):
    customer, api = CustomerFactory(organization=org), client_for(org)
    ContactFactory(customer=customer, email="ann@client.example")

    response = api.post(
        f"/api/v1/customers/{customer.pk}/contacts",
        {"externalId": "K-2", "email": "ann@client.example"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "email": ["Un autre contact de ce client utilise déjà cette adresse e-mail."]
    }


def test_the_api_does_not_take_french_from_an_admin_session(org):
    """A browser signed in to the admin in French (Swagger's "Try it out") gets the API in English unless
    it asks: no session or cookie holds the admin's language."""
    customer = CustomerFactory(organization=org)
    api = client_for(org)
    api.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert api.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="fr")["Content-Language"] == "fr"

    response = post_invalid(api, customer)

    assert response["Content-Language"] == "en"
    assert response.json()["errors"] == {"email": [INVALID_EMAIL_EN]}


# --- The command line: --language, else LANGUAGE --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "language"),
    [
        ("fr_FR:fr", "fr"),
        ("fr", "fr"),
        ("fr_CA.UTF-8", "fr"),
        ("de_DE:fr_FR:en", "fr"),  # gettext's order: the first the project speaks
        ("en_GB:fr", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_command_lines_language_is_the_first_of_language_the_project_speaks(value, language):
    assert environment_language({} if value is None else {"LANGUAGE": value}) == language


def import_contacts(path, org, *options) -> tuple[str, str]:
    """(stdout, the CommandError's text) of a dry run of `path`."""
    stdout = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_contacts", str(path), "--organization", org.slug, *options, stdout=stdout)
    return stdout.getvalue(), str(refused.value)


@pytest.fixture
def invalid_file(tmp_path, org):
    path = tmp_path / "clients.csv"
    path.write_bytes(one_invalid_row(CustomerFactory(organization=org), ENGLISH_HEADERS))
    return path


def test_import_contacts_speaks_french_with_language_fr(invalid_file, org):
    out, error = import_contacts(invalid_file, org, "--language", "fr")

    assert out.startswith(f"Essai à blanc ({org.slug}, clients.csv, csv)\n")
    assert nbsp("2 ligne(s) : 1 nouvelle(s), 0 mise(s) à jour, 0 inchangée(s), 1 invalide(s)") in out
    assert nbsp(f'Erreurs (1) :\n  Ligne 3, "Contact\'s Email" : {INVALID_EMAIL_FR}') in out
    assert error == nbsp("Le fichier n'est pas valide ; rien n'a été écrit.")


def test_import_contacts_speaks_the_language_of_the_environment(invalid_file, org, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "fr_FR:fr")

    french_out, french_error = import_contacts(invalid_file, org)
    english_out, english_error = import_contacts(invalid_file, org, "--language", "en")

    assert french_out.startswith("Essai à blanc (")
    assert INVALID_EMAIL_FR in french_out
    assert french_error == nbsp("Le fichier n'est pas valide ; rien n'a été écrit.")
    assert english_out.startswith("Dry run (")
    assert INVALID_EMAIL_EN in english_out
    assert english_error == "The file is invalid; nothing was written."


def test_a_usage_error_is_french_too(monkeypatch):
    monkeypatch.setenv("LANGUAGE", "fr")

    with pytest.raises(CommandError) as refused:
        call_command("erase_contact", "--organization", "nobody", "--external-id", "X", "--yes")

    assert str(refused.value) == 'Aucune organisation n\'a le slug "nobody".'


def test_every_command_of_the_project_takes_language_from_the_one_mixin():
    ours = [name for name, app in get_commands().items() if app in ("contacts", "customers")]

    assert {"import_contacts", "undo_import", "erase_contact", "sweep_imports", "import_worker"} <= set(ours)
    for name in ours:
        command = load_command_class(get_commands()[name], name)
        assert isinstance(command, TranslatedCommand), name
        assert "--language" in command.create_parser("manage.py", name).format_help(), name


# --- The error report: the language of the file's headers ----------------------------------------------


def preview_report(client, key: dict, **query) -> list[list[str]]:
    """The rows of the preview's CSV error report."""
    url = reverse("admin:contacts_contact_import_error_report", args=["csv"])
    return list(csv.reader(io.StringIO(client.get(url, {**key, **query}).content.decode("utf-8-sig"))))


@pytest.mark.parametrize("agent", ["en", "fr"])
def test_the_error_report_speaks_the_language_of_the_files_headers_whatever_the_agents(importer, org, agent):
    customer = CustomerFactory(organization=org)
    importer.defaults["HTTP_ACCEPT_LANGUAGE"] = agent
    french = uploaded(importer, org, one_invalid_row(customer, FRENCH_HEADERS), "francais.csv")
    english = uploaded(importer, org, one_invalid_row(customer, ENGLISH_HEADERS), "english.csv")

    french_report = preview_report(importer, french)
    english_report = preview_report(importer, english)
    chosen = preview_report(importer, french, language="en")  # the link's other language

    assert [row[-1] for row in french_report] == [
        "Erreur",
        nbsp(f'Ligne 3, "Email du contact" : {INVALID_EMAIL_FR}'),
    ]
    assert [row[-1] for row in english_report] == ["Error", f'Row 3, "Contact\'s Email": {INVALID_EMAIL_EN}']
    assert [row[-1] for row in chosen] == ["Error", f'Row 3, "Email du contact": {INVALID_EMAIL_EN}']


# --- A big file's preview: in the language of the agent who queued it -------------------------------


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_background_preview_speaks_the_language_of_the_request_that_queued_it(importer, org, settings):
    settings.CONTACT_IMPORT_BACKGROUND_ROWS = 1
    customer = CustomerFactory(organization=org)
    importer.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    key = uploaded(importer, org, one_invalid_row(customer, ENGLISH_HEADERS))
    assert importer.get(PREVIEW, key).status_code == 302  # to the progress page: queued for a worker

    options = ["--batch", "--no-reload", "--no-startup-delay", "--sweep-every=0", "--language", "en"]
    call_command("import_worker", *options, stdout=io.StringIO())

    assert INVALID_EMAIL_FR in text_of(importer.get(PREVIEW, key))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "title"), [("en", "Contacts back-office"), ("fr", "Back-office des contacts")]
)
def test_the_admin_names_the_product_in_the_users_language(client, language, title):
    page = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    page_title = page.split("<title>")[1].split("</title>")[0]
    assert title in page_title
    assert "Django" not in page_title
