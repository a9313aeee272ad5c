"""What a read table means, and what a person must confirm before it is read so."""

from contacts.importing import interpretation
from contacts.importing.interpretation import FOUND, MAPPING, reading_of, row_inputs
from contacts.importing.mapping import Mapping
from contacts.importing.reading import Layout, read_table
from tests.helpers import HEADERS, MANDATORY_HEADERS, MANDATORY_ROW, csv_bytes, workbook_bytes


def read(data: bytes, mapping: Mapping | None = None, source: str = FOUND):
    table = read_table(data, layout=mapping.layout() if mapping else None)
    return table, reading_of(table, given=mapping, source=source, organization="Acme")


def test_a_file_shaped_as_the_template_needs_no_confirmation_nor_summary():
    _table, reading = read(csv_bytes([MANDATORY_ROW], MANDATORY_HEADERS))

    assert (reading.errors, reading.reasons, reading.warnings, reading.summary) == ([], [], [], "")


def test_a_column_name_only_guessed_asks_for_a_confirmation_and_is_not_an_error():
    _table, reading = read(csv_bytes([[*MANDATORY_ROW, "06"]], [*MANDATORY_HEADERS, "Telephonne"]))

    assert reading.errors == []
    assert reading.reasons == [interpretation.GUESSED_COLUMNS.format(columns="'Telephonne' → phone")]


def test_unknown_values_are_offered_a_few_dozen_at_most_with_their_row_counts():
    values = [f"Service {n}" for n in range(40)]
    rows = [[*MANDATORY_ROW, value] for value in ["VRAI", *values, "Service 0", "Ventes", ""]]

    _table, reading = read(csv_bytes(rows, [*MANDATORY_HEADERS, "Occupation"]))

    unknown = reading.unknown_values["occupation"]
    assert len(unknown) == interpretation.MAX_UNKNOWN_VALUES
    assert (unknown["Service 0"], unknown["Service 1"], "Ventes" in unknown) == (2, 1, False)
    assert "VRAI" in unknown  # a main contact word, not an occupation
    assert "Service 39" not in unknown


def test_a_sheet_after_the_contacts_is_named_as_not_read():
    data = workbook_bytes({"Contacts": [MANDATORY_HEADERS, MANDATORY_ROW], "TCD": [["x"]]})

    _table, reading = read(data)

    assert reading.warnings == [interpretation.SHEETS_NOT_READ.format(sheet="Contacts", sheets='"TCD"')]
    assert reading.summary == "Read as found (header on row 1 of sheet Contacts)"


def test_the_reading_as_a_mapping_keeps_the_headers_as_written_and_the_ignored_columns():
    mapping = Mapping(columns={"Adresse": "email", "SIRET": None}, values={"is_main": {"P": True}})
    headers = [*MANDATORY_HEADERS[:3], "Adresse", "SIRET", "Notes", "Main Contact"]

    _table, reading = read(csv_bytes([[*MANDATORY_ROW, "1", "n", "P"]], headers), mapping, MAPPING)

    assert reading.mapping() == Mapping(
        sheet=None,
        header_row=1,
        columns={
            **dict(
                zip(
                    MANDATORY_HEADERS[:3],
                    ["customer_name", "customer_external_id", "external_id"],
                    strict=True,
                )
            ),
            "Adresse": "email",
            "Main Contact": "is_main",
            "SIRET": None,
        },
        values={"is_main": {"P": True}},
    )


def test_rows_get_the_meanings_the_mapping_gives_their_values():
    mapping = Mapping(values={"occupation": {"DAF": "ACCOUNTING"}, "is_main": {"Principal": True}})
    rows = [[*MANDATORY_ROW, "", "", "", "DAF", "Principal"], [*MANDATORY_ROW, "", "", "", "Ventes", ""]]
    table = read_table(csv_bytes(rows, HEADERS), layout=Layout())

    reading = reading_of(table, given=mapping, source=MAPPING, organization="Acme")

    assert [(row.values["occupation"], row.values["is_main"]) for row in row_inputs(table, reading)] == [
        ("ACCOUNTING", "1"),
        ("Ventes", ""),
    ]
