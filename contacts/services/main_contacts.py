"""Who ends up main contact of each customer once every row is checked: the rows' claims, the stored mains."""

from __future__ import annotations

from collections import defaultdict

from django.utils.translation import gettext_lazy as _

from contacts.normalization import shown
from contacts.services.checks import RowChecks
from contacts.services.rows import STORED_FIELDS, Problem, RowOutcome, row_list, row_phrase

MAIN_CONTACT_LAST_WINS = _(
    'Several contacts are made main contact of customer "{code}" ({rows}); the last one, {row}, is kept '
    "as the main contact."
)
MAIN_CONTACT_DEMOTED = _(
    'The contact "{contact}" ({email}) stops being the main contact of customer "{code}": {row} makes '
    "another contact main."
)


def settle_main_contacts(
    checks: RowChecks, outcomes: list[RowOutcome], warnings: list[Problem]
) -> list[dict]:
    """The last valid row saying "main contact" wins and demotes the stored main; returns demotions."""
    claims: dict[int, list[RowOutcome]] = defaultdict(list)
    for outcome in checks.main_claims:
        if outcome.status != "invalid":
            claims[outcome.customer_id].append(outcome)
    valid_by_contact = {
        o.contact_id: o for o in outcomes if o.contact_id is not None and o.status != "invalid"
    }
    label, codes = checks.row_label, checks.code_of_customer
    demotions = []
    for customer_id, claimants in claims.items():
        winner = claimants[-1]
        if len(claimants) > 1:
            for loser in claimants[:-1]:
                loser.values["is_main"] = False
            rows = row_list([o.row for o in claimants], label)
            message = MAIN_CONTACT_LAST_WINS.format(
                code=codes[customer_id], rows=rows, row=row_phrase(winner.row, label)
            )
            warnings.append(Problem(winner.row, "is_main", message))
        current = checks.stored_mains.get(customer_id)
        if current is None or current["id"] == winner.contact_id:
            continue
        in_file = valid_by_contact.get(current["id"])
        if in_file is not None:
            in_file.values["is_main"] = False
            continue
        demotions.append({name: current[name] for name in STORED_FIELDS})
        message = MAIN_CONTACT_DEMOTED.format(
            contact=shown(current["external_id"]),
            email=current["email"],
            code=shown(codes[customer_id]),
            row=row_phrase(winner.row, label),
        )
        warnings.append(Problem(winner.row, "is_main", message))
    return demotions
