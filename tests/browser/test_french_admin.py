"""The import in a browser set to French: this app's admin pages and the preview's messages in French."""

import pytest
from playwright.sync_api import expect

from tests.factories import CustomerFactory, OrganizationFactory, UserFactory
from tests.helpers import contact_row, csv_bytes, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_french_browser_gets_the_upload_form_and_the_preview_in_french(french_page, live_server, tmp_path):
    page = french_page
    organization = OrganizationFactory(name="Acme Industries")
    customer = CustomerFactory(
        organization=organization,
        name="Boulangerie-Pâtisserie Martin et Fils, artisans depuis 1952",
        external_id="AC-1001",
    )
    UserFactory(username="admin", is_superuser=True)
    upload = tmp_path / "clients.csv"
    upload.write_bytes(
        csv_bytes(
            [
                contact_row(customer, "AC-C1", "lea@boulangerie.example"),
                contact_row(customer, "AC-C2", "paul@"),
            ]
        )
    )

    log_in(page, live_server, "admin")
    page.goto(live_server.url + "/admin/contacts/contact/import/")

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("h1")).to_have_text("Importer des contacts")
    expect(page.locator("label[for=id_blank_clears]")).to_have_text(
        "Les cellules vides effacent la valeur enregistrée"
    )
    assert not overlap(page, "#content h1", "#content-main .object-tools")  # longer French buttons
    page.select_option("#id_organization", label="Acme Industries")
    page.set_input_files("#id_file", upload)
    page.click("#import-form input[type=submit]")

    expect(page.locator("h1")).to_have_text("Aperçu de clients.csv")
    expect(page.locator("#errors")).to_contain_text("Erreurs (1)")
    expect(page.locator("body")).to_contain_text('"paul@" n\'est pas une adresse e-mail valide.')
    expect(page.locator("label[for=id_skip_invalid]")).to_have_text("Ignorer les lignes invalides")
    # The new contacts' table, with a long customer name, fits the laptop screen.
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def overlap(page, text: str, boxes: str) -> bool:
    """Whether the text of the element `text` lies partly under an item of `boxes` (it is hidden)."""
    return page.evaluate(
        """([text, boxes]) => {
            const range = document.createRange();
            range.selectNodeContents(document.querySelector(text));
            const items = [...document.querySelectorAll(boxes + ' > li')]
                .map(li => li.getBoundingClientRect());
            return [...range.getClientRects()].some(r => items.some(b =>
                r.left < b.right && b.left < r.right && r.top < b.bottom && b.top < r.bottom));
        }""",
        [text, boxes],
    )
