"""No silent no-ops: a name the API does not know (a query parameter, a body field) is a 400 that names
it, with the closest known name; an empty or repeated query parameter is a 400 too.

`?customer_external_id=X` used to list every contact, and `{"is_main": true}` to answer 200 and change
nothing (issue 15): a client cannot tell a typo from a filter that matched everything.
"""

import difflib
from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

UNKNOWN_PARAMETER = _('"{name}" is not a query parameter of this endpoint.')
UNKNOWN_FIELD = _('"{name}" is not a field you can send here.')
READ_ONLY_FIELD = _('"{name}" is set by the server and cannot be written; leave it out.')
DID_YOU_MEAN = _("Did you mean {name}?")
KNOWN_NAMES = _("Known names: {names}.")
NO_NAMES = _("This endpoint takes none.")
EMPTY_PARAMETER = _("This parameter is empty; give it a value or leave it out.")
REPEATED_PARAMETER = _("This parameter is given {count} times; give it once.")


def _folded(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name `name` most likely stands for: same letters whatever the case and separators
    (`is_main`, `IsMain` → isMain), else the nearest spelling."""
    known = list(known)
    by_folded = {_folded(k): k for k in known}
    if _folded(name) in by_folded:
        return by_folded[_folded(name)]
    matches = difflib.get_close_matches(_folded(name), list(by_folded), n=1, cutoff=0.75)
    return by_folded[matches[0]] if matches else None


def _hint(name: str, known: list[str]) -> str:
    suggestion = closest(name, known)
    if suggestion is not None:
        return DID_YOU_MEAN.format(name=suggestion)
    return KNOWN_NAMES.format(names=", ".join(known)) if known else str(NO_NAMES)


def unknown_names(
    given: Iterable[str], known: Iterable[str], *, template: str, read_only: Iterable[str] = ()
) -> dict[str, list[str]]:
    """{name: [message]} for each name of `given` that is not `known` (`template`: UNKNOWN_*)."""
    known, read_only = list(known), set(read_only)
    errors = {}
    for name in given:
        if name in known:
            continue
        if name in read_only:
            errors[name] = [READ_ONLY_FIELD.format(name=name)]
        else:
            errors[name] = [f"{template.format(name=name)} {_hint(name, known)}"]
    return errors


def query_problems(query, known: Iterable[str]) -> dict[str, list[str]]:
    """What is wrong with a request's query string (a QueryDict) for an endpoint taking `known`."""
    errors = unknown_names(query.keys(), known, template=UNKNOWN_PARAMETER)
    for name, values in query.lists():
        if name in errors:
            continue
        if len(values) > 1:
            errors[name] = [REPEATED_PARAMETER.format(count=len(values))]
        elif not values[0].strip():
            errors[name] = [str(EMPTY_PARAMETER)]
    return errors
