"""What the import marks on a file's rows before the checks read them: the cells showing an Excel error, the
values right of the last header, and the template's example row left in the file."""

from operator import itemgetter

from django.utils.translation import gettext_lazy as _

from contacts.importing.columns import column_letter
from contacts.importing.reports import TEMPLATE_EXAMPLE
from contacts.services.rows import RowInput, row_list
from contacts.services.values import EXCEL_ERRORS

BEYOND_HEADERS = _(
    "This row has values beyond the last column header (column {column}); give that column a header, or "
    "move the values into the columns of the import."
)
TEMPLATE_EXAMPLE_SKIPPED = _(
    'Not imported: {rows} is the import template\'s example (identifier code "{code}", {email}); delete it '
    "from the file."
)


def without_template_example(rows: list[RowInput]) -> tuple[list[RowInput], list[str]]:
    """The rows without the template's example row (left in by a client who typed below it), and the
    warning naming it; a row is the example when its identifier code and email are the example's."""
    code, email = TEMPLATE_EXAMPLE["external_id"], TEMPLATE_EXAMPLE["email"]
    examples = [
        row.row
        for row in rows
        if row.values.get("external_id") == code and str(row.values.get("email", "")).lower() == email
    ]
    if not examples:
        return rows, []
    kept = [row for row in rows if row.row not in examples]
    message = TEMPLATE_EXAMPLE_SKIPPED.format(rows=row_list(examples, "row"), code=code, email=email)
    return kept, [str(message)]


def mark_excel_errors(rows: list[RowInput], held: list, positions: list[tuple[str, int]]) -> None:
    """Mark the cells showing an Excel error (#N/A); a column without one costs one pass in C."""
    erring = [
        (name, index)
        for name, index in positions
        if not EXCEL_ERRORS.isdisjoint(map(itemgetter(index), map(itemgetter(1), held)))
    ]
    if erring:
        for row in rows:
            marked = [name for name, _index in erring if row.values[name] in EXCEL_ERRORS]
            if marked:
                row.excel_errors = frozenset(marked)


def mark_beyond_headers(rows: list[RowInput], beyond: dict[int, int]) -> None:
    """An error on each row holding a value right of the last header (`beyond`: row -> its column)."""
    for row in rows:
        if row.row in beyond:
            row.problems = (str(BEYOND_HEADERS.format(column=column_letter(beyond[row.row]))),)
