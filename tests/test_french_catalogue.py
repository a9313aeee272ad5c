"""The French catalogue reads as French is typeset: a no-break space before ; : ? and ! (a plain space lets
the mark start a line of its own in a report's cell or a narrow column)."""

import re
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parents[1] / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def translations() -> list[str]:
    """Every msgstr of the catalogue, its continuation lines joined."""
    entries = CATALOGUE.read_text(encoding="utf-8").split("\n\n")
    texts = []
    for entry in entries:
        start = re.search(r"^msgstr(\[\d\])? ", entry, re.MULTILINE)
        if start:
            texts.append("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', entry[start.start() :])))
    return texts


def test_every_french_translation_puts_a_no_break_space_before_high_punctuation():
    plain = [text for text in translations() if re.search(r" [;:?!]", text)]

    assert len(translations()) > 500
    assert plain == []
