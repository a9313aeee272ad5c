"""django-import-export resources: the contact column map, wired to the bulk rules.

`ContactImportResource` maps the nine spreadsheet columns (English headers) to contact fields: it
exports contacts in the import template's layout, and its `import_data` runs `plan_rows` /
`apply_plan` on a tablib Dataset instead of import-export's row-by-row saves, returning the usual
`Result` so import-export's admin views and templates can show it.
"""

from django.core.exceptions import ValidationError
from import_export import resources
from import_export.fields import Field
from import_export.results import Error, Result, RowResult
from import_export.widgets import BooleanWidget

from contacts.importing.columns import ENGLISH_HEADERS, FIELDS, map_columns
from contacts.importing.rules import Plan, RowInput, Written, apply_plan, plan_rows
from contacts.models import Contact
from customers.models import Organization

MISSING_COLUMNS = "The file lacks the mandatory column(s) {columns}."
NO_ORGANIZATION = "Choose the organization the contacts belong to."

IMPORT_TYPES = {
    "new": RowResult.IMPORT_TYPE_NEW,
    "updated": RowResult.IMPORT_TYPE_UPDATE,
    "unchanged": RowResult.IMPORT_TYPE_SKIP,
    "invalid": RowResult.IMPORT_TYPE_INVALID,
}
# Where each column's value lives on a Contact, for exports.
ATTRIBUTES = {
    "customer_name": "customer__name",
    "customer_external_id": "customer__external_id",
    "is_main": "is_main",
}


class ContactImportResource(resources.Resource):
    customer_name = Field(attribute=ATTRIBUTES["customer_name"], column_name=ENGLISH_HEADERS["customer_name"])
    customer_external_id = Field(
        attribute=ATTRIBUTES["customer_external_id"], column_name=ENGLISH_HEADERS["customer_external_id"]
    )
    external_id = Field(attribute="external_id", column_name=ENGLISH_HEADERS["external_id"])
    email = Field(attribute="email", column_name=ENGLISH_HEADERS["email"])
    first_name = Field(attribute="first_name", column_name=ENGLISH_HEADERS["first_name"])
    last_name = Field(attribute="last_name", column_name=ENGLISH_HEADERS["last_name"])
    phone = Field(attribute="phone", column_name=ENGLISH_HEADERS["phone"])
    occupation = Field(attribute="occupation", column_name=ENGLISH_HEADERS["occupation"])
    is_main = Field(attribute="is_main", column_name=ENGLISH_HEADERS["is_main"], widget=BooleanWidget())

    def __init__(
        self, *, organization: Organization | None = None, source: str = Contact.Source.IMPORT, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.organization = organization
        self.source = source
        self.plan: Plan | None = None
        self.written: list[Written] = []

    def import_data(
        self,
        dataset,
        dry_run=True,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        rollback_on_validation_errors=False,
        **kwargs,
    ) -> Result:
        """Check every row with the bulk rules; unless `dry_run`, write them in one transaction.

        Keyword arguments: `organization` (else the one given to the constructor) and
        `skip_invalid` (write the valid rows even when others are invalid). Nothing is written
        while a row is invalid, unless `skip_invalid`.
        """
        organization = kwargs.get("organization") or self.organization
        skip_invalid = bool(kwargs.get("skip_invalid"))
        result = Result()
        headers = [str(header or "").strip() for header in (dataset.headers or [])]
        result.diff_headers = headers
        try:
            if organization is None:
                raise ValidationError(NO_ORGANIZATION)
            columns = map_columns(headers)
            if columns.missing:
                missing = ", ".join(f'"{header}"' for header in columns.missing)
                raise ValidationError(MISSING_COLUMNS.format(columns=missing))
            labels = {name: columns.headers.get(name, ENGLISH_HEADERS[name]) for name in FIELDS}
            rows, raw = self._rows(dataset, columns.positions, headers)
            self.plan = plan = plan_rows(organization=organization, rows=rows)
            for outcome in plan.outcomes:
                row_result = self._row_result(outcome, raw[outcome.row], labels, result)
                result.increment_row_result_total(row_result)
                result.append_row_result(row_result)
            result.total_rows = len(rows)
            invalid = plan.totals["invalid"]
            if not dry_run and (skip_invalid or not invalid):
                self.written = apply_plan(plan=plan, source=self.source, skip_invalid=skip_invalid)
        except ValidationError as error:
            if raise_errors:
                raise
            result.append_base_error(Error(error))
        return result

    @staticmethod
    def _rows(
        dataset, positions: dict[str, int], headers: list[str]
    ) -> tuple[list[RowInput], dict[int, dict]]:
        rows, raw = [], {}
        for index, values in enumerate(dataset, start=2):  # the header is row 1
            cells = ["" if value is None else str(value).strip() for value in values]
            if not any(cells):
                continue
            rows.append(RowInput(row=index, values={name: cells[pos] for name, pos in positions.items()}))
            raw[index] = dict(zip(headers, cells, strict=False))
        return rows, raw

    @staticmethod
    def _row_result(outcome, raw: dict, labels: dict[str, str], result: Result) -> RowResult:
        row_result = RowResult()
        row_result.import_type = IMPORT_TYPES[outcome.status]
        row_result.row_values = raw
        row_result.object_id = outcome.contact_id
        row_result.object_repr = str(outcome.values.get("email") or outcome.values.get("external_id") or "")
        if outcome.errors:
            messages: dict[str, list[str]] = {}
            for problem in outcome.errors:
                messages.setdefault(labels.get(problem.field, "__all__"), []).append(problem.message)
            row_result.validation_error = ValidationError(messages)
            result.append_invalid_row(outcome.row, raw, row_result.validation_error)
        return row_result
