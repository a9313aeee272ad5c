"""Every write to contacts: `contacts` (one contact), `bulk` (many, with `planning`'s row checks).

The admin, the spreadsheet import and the REST API call these; none of them re-implements a rule,
takes a lock or checks that an organization's contacts are managed here on its own.
"""
