"""The import's mapping step: how to read a client's file, when the preview cannot tell by itself.

The preview sends staff here when the file's reading needs a person (contacts.importing.interpretation:
a mandatory column missing, a profile that no longer fits, a column name only guessed, values nobody
knows). The page shows each column of the file with its first values and a choice among the contact
fields or "ignore", pre-filled with the best guesses, and the unknown Occupation and Main Contact values
with a choice of meaning. Confirming keeps the mapping on the upload (contacts.importing.uploads), and
re-runs the dry run; confirming the import then saves it as the organization's profile, which the
organization's admin page shows (ImportProfileInline).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from contacts.admin.forms import PreviewKeyForm
from contacts.fields import MANDATORY_FIELDS, SPREADSHEET_FIELDS, headers_in
from contacts.importing.columns import column_key, column_list
from contacts.importing.findings import ImportReport
from contacts.importing.interpretation import MAX_MAPPED_LENGTH, describe
from contacts.importing.mapping import Mapping
from contacts.importing.pipeline import read_import
from contacts.importing.profiles import profile_mapping
from contacts.importing.reading import Table
from contacts.importing.uploads import upload_data, upload_mapping
from contacts.models import ImportProfile, ImportUpload
from contacts.services.values import OCCUPATIONS

FIRST_VALUES = 3  # values shown under each column

MAPPED_TWICE = _('"{column}" is chosen for columns {columns} ({headers}); choose it for one of them.')
MANDATORY_UNMAPPED = _("Choose a column for {columns}: the import needs them.")
TITLE = _("How to read {filename}")
IGNORE = _("Ignore this column")
NOT_CHOSEN = "—"
NO_OCCUPATION = _("No occupation")
MAIN, NOT_MAIN = _("Main contact"), _("Not the main contact")
ROW_LABEL = _("Row {row}: {cells}")


def column_choices() -> list[tuple[str, str]]:
    """The fields a column may be read as, named by the template's headers in the agent's language."""
    headers = headers_in(get_language())
    return [("", IGNORE), *((name, headers[name]) for name in SPREADSHEET_FIELDS)]


# "none": the value means no occupation ("" is "not chosen yet").
VALUE_CHOICES = {
    "occupation": [("", NOT_CHOSEN), *((name, name) for name in OCCUPATIONS), ("none", NO_OCCUPATION)],
    "is_main": [("", NOT_CHOSEN), ("yes", MAIN), ("no", NOT_MAIN)],
}


# --- The mapping chosen for an upload, kept on it ------------------------------------------------------


def chosen_mapping(upload: ImportUpload) -> Mapping | None:
    """The mapping chosen in the mapping step for this upload, if one was."""
    return upload_mapping(upload)


def remember_mapping(upload: ImportUpload, mapping: Mapping) -> None:
    """Keep the mapping on the upload (every app server and the worker read it there); a background
    upload's kept preview was read otherwise, so it is previewed again."""
    upload.mapping = mapping.to_json()
    changes = {"mapping": upload.mapping}
    if upload.background:
        changes.update(status=ImportUpload.Status.UPLOADED, preview=None)
    ImportUpload.objects.filter(pk=upload.pk).update(**changes)


def mapping_url(key: dict) -> str:
    query = {"organization": key["organization"].pk, "file": key["file"], "sha256": key["sha256"]}
    return f"{reverse('admin:contacts_contact_import_mapping')}?{urlencode(query)}"


# --- The form --------------------------------------------------------------------------------------


class MappingForm(forms.Form):
    """The sheet and header row, each column's field (or ignored), and what the unknown values mean."""

    # Where the file was read for this page: the posted form is checked against the same reading.
    shown_sheet = forms.CharField(required=False, widget=forms.HiddenInput)
    shown_header_row = forms.IntegerField(widget=forms.HiddenInput)
    placed = forms.CharField(required=False, widget=forms.HiddenInput)  # "1": at the place asked for

    def __init__(self, report: ImportReport, *args, placed: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        table, reading = report.table, report.reading
        self.table = table
        self.fields["shown_sheet"].initial = table.sheet_name or ""
        self.fields["shown_header_row"].initial = table.header_row
        self.fields["placed"].initial = "1" if placed else ""
        if len(table.sheet_names) > 1:
            choices = [(name, name) for name in table.sheet_names]
            self.fields["sheet"] = forms.ChoiceField(
                choices=choices, initial=table.sheet_name, label=_("Sheet")
            )
        rows = [(str(number), _row_label(number, cells)) for number, cells in table.top_rows]
        self.fields["header_row"] = forms.ChoiceField(
            choices=rows, initial=str(table.header_row), label=_("Header row")
        )
        fields_of = {index: name for name, index in reading.columns.positions.items()}
        self.columns = []  # (bound field, first values)
        for index, header in enumerate(table.headers):
            if header:
                name = f"column_{index}"
                self.fields[name] = forms.ChoiceField(
                    choices=column_choices(), required=False, initial=fields_of.get(index, ""), label=header
                )
                self.columns.append((self[name], first_values(table, index)))
        self.values = []  # (field, column header, value as written, rows holding it, bound field)
        for field_name in VALUE_CHOICES:
            offered = {
                **reading.values.get(field_name, {}),
                **dict.fromkeys(reading.unknown_values.get(field_name, {})),
            }
            counts = reading.unknown_values.get(field_name, {})
            for number, (value, meaning) in enumerate(offered.items()):
                name = f"value_{field_name}_{number}"
                self.fields[name] = forms.ChoiceField(
                    choices=VALUE_CHOICES[field_name], initial=_choice(field_name, meaning), label=value
                )
                header = reading.columns.headers.get(field_name, headers_in(get_language())[field_name])
                self.values.append((field_name, header, value, counts.get(value), self[name]))

    def moved(self) -> bool:
        """True when the sheet or header row chosen is not the one whose columns the form shows."""
        data = self.data
        sheet = data.get("sheet", data.get("shown_sheet", ""))
        return (sheet, data.get("header_row")) != (data.get("shown_sheet", ""), data.get("shown_header_row"))

    def clean(self) -> dict:
        cleaned = super().clean()
        headers = headers_in(get_language())
        chosen: dict[str, list[tuple[int, str]]] = {}
        for bound, _values in self.columns:
            if cleaned.get(bound.name):
                chosen.setdefault(cleaned[bound.name], []).append((_index(bound), bound.label))
        for name, columns in chosen.items():
            if len(columns) > 1:
                quoted = ", ".join(f'"{header}"' for _index, header in columns)
                letters = column_list([index for index, _header in columns])
                message = MAPPED_TWICE.format(column=headers[name], columns=letters, headers=quoted)
                self.add_error(None, message)
        missing = [f'"{headers[name]}"' for name in MANDATORY_FIELDS if name not in chosen]
        if missing:
            self.add_error(None, MANDATORY_UNMAPPED.format(columns=", ".join(missing)))
        return cleaned

    def mapping(self) -> Mapping:
        cleaned = self.cleaned_data
        # Two columns with one header are told apart by their letters ("column:F").
        columns = {
            column_key(self.table.headers, _index(bound)): cleaned[bound.name] or None
            for bound, _values in self.columns
            if cleaned[bound.name] or len(bound.label) <= MAX_MAPPED_LENGTH  # no pasted note in the session
        }
        values: dict[str, dict[str, str | bool]] = {}
        for field_name, _header, value, _count, bound in self.values:
            values.setdefault(field_name, {})[value] = _meaning(cleaned[bound.name])
        return Mapping(
            sheet=self.table.sheet_name, header_row=self.table.header_row, columns=columns, values=values
        )


def _index(bound) -> int:
    """The file column a bound field of the form chooses for ("column_5" → 5)."""
    return int(bound.name.removeprefix("column_"))


def first_values(table: Table, index: int) -> list[str]:
    """The first few values of a column, as the mapping step shows them."""
    values = []
    for _number, cells in table.rows.held:
        if index < len(cells) and cells[index]:
            values.append(cells[index] if len(cells[index]) <= 40 else cells[index][:39] + "…")
            if len(values) == FIRST_VALUES:
                break
    return values


def _row_label(number: int, cells: list[str]) -> str:
    shown = [cell if len(cell) <= 30 else cell[:29] + "…" for cell in cells if cell][:5]
    more = " · …" if len([cell for cell in cells if cell]) > 5 else ""
    return str(ROW_LABEL.format(row=number, cells=" · ".join(shown) + more))


def _choice(field_name: str, meaning: str | bool | None) -> str:
    if meaning is None:
        return ""
    if field_name == "is_main":
        return "yes" if meaning else "no"
    return meaning or "none"


def _meaning(choice: str) -> str | bool:
    if choice in ("yes", "no"):
        return choice == "yes"
    return "" if choice == "none" else choice


# --- The view ----------------------------------------------------------------------------------------


class ImportMappingViews:
    """The mapping step, mounted beside the import views (whose checks and session keys it shares)."""

    def __init__(self, import_views) -> None:
        self.import_views = import_views

    def urls(self) -> list:
        wrap = self.import_views.admin_site.admin_view
        return [path("import/mapping/", wrap(self.mapping), name="contacts_contact_import_mapping")]

    def mapping(self, request):
        views = self.import_views
        views._check(request)
        posted = request.method == "POST"
        found = views._key(request, request.POST if posted else request.GET)
        if found is None:
            return views._expired(request)
        key, upload = found
        data, filename = upload_data(upload), upload.file_name
        if data is None:
            return views._expired(request)
        chosen = chosen_mapping(upload)
        shown = _place_shown(request.POST if posted else request.GET, chosen, posted=posted)
        report, unreadable = self._read(key, data, filename, shown, chosen)
        if report is None:
            return HttpResponseRedirect(views._preview_url(key))  # refused whole: the preview says why
        form = MappingForm(
            report, request.POST if posted else None, placed=shown is not chosen and not unreadable
        )
        if posted and (form.moved() or "reread" in request.POST):
            return HttpResponseRedirect(_moved_url(request.POST, key))
        if posted and form.is_valid():
            remember_mapping(upload, form.mapping())
            return HttpResponseRedirect(views._preview_url(key))
        organization = key["organization"]
        context = views._context(
            request,
            title=TITLE.format(filename=filename),
            filename=filename,
            organization=organization,
            reasons=[*unreadable, *report.reading.reasons],
            form=form,
            key_form=PreviewKeyForm(
                initial={"organization": organization.pk, "file": key["file"], "sha256": key["sha256"]}
            ),
        )
        return TemplateResponse(request, "admin/contacts/contact/import_mapping.html", context)

    @staticmethod
    def _read(key: dict, data: bytes, filename: str, shown: Mapping | None, chosen: Mapping | None) -> tuple:
        """(report, why the place asked for cannot be read): a sheet or row asked for that holds no header
        row gives the page of the reading chosen before, saying so; None when the file cannot be read."""
        organization = key["organization"]
        report = read_import(organization=organization, data=data, filename=filename, mapping=shown)
        if report.table is not None and report.reading is not None:
            return report, []
        if shown is chosen:
            return None, []
        unreadable = [problem.message for problem in report.file_errors]
        report = read_import(organization=organization, data=data, filename=filename, mapping=chosen)
        return (report if report.table is not None and report.reading is not None else None), unreadable


def _moved_url(posted, key: dict) -> str:
    """The page again, at the sheet and header row chosen (another sheet: its header row found)."""
    sheet = posted.get("sheet", posted.get("shown_sheet", ""))
    row = posted.get("header_row", "") if sheet == posted.get("shown_sheet", "") else ""
    return f"{mapping_url(key)}&{urlencode({'sheet': sheet, 'header_row': row})}"


def _place_shown(query, chosen: Mapping | None, *, posted: bool) -> Mapping | None:
    """The mapping the page reads the file with: the chosen one (None: the saved profile, or as found), or,
    at a sheet and header row asked for, the file read there; a form is posted back to the same reading."""
    if posted:
        if query.get("placed") != "1":
            return chosen
        sheet, row = query.get("shown_sheet"), query.get("shown_header_row") or ""
    else:
        if "sheet" not in query and "header_row" not in query:
            return chosen
        sheet, row = query.get("sheet"), query.get("header_row") or ""
    header_row = int(row) if row.isdigit() else None
    return Mapping(sheet=sheet or None, header_row=header_row, values=chosen.values if chosen else {})


# --- The saved profile, on the organization's page --------------------------------------------------


class ImportProfileInline(admin.StackedInline):
    """The organization's saved import profile: how its next file will be read; editable, or deleted to
    read the next file as found."""

    model = ImportProfile
    fields = ("summary", "sheet", "header_row", "columns", "values", "updated_at", "updated_by")
    readonly_fields = ("summary", "updated_at", "updated_by")
    extra = 0
    max_num = 1

    @admin.display(description=_("how its files are read"))
    def summary(self, profile: ImportProfile) -> str:
        if profile.pk is None:
            return ""
        mapping = profile_mapping(profile.organization)
        return describe(mapping) if mapping else ""
