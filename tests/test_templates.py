"""Every text of the project's admin templates (templates/) can be translated: English and French staff
use the same pages, and the French catalogue is built from the translate tags."""

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html"))
# Words every language writes the same way.
SAME_IN_EVERY_LANGUAGE = {"CSV", "XLSX"}

TRANSLATED = re.compile(r"{%\s*blocktranslate\b.*?{%\s*endblocktranslate\s*%}", re.S)
# Blocks that hold CSS class names, not words.
NOT_READ = re.compile(r"{%\s*block\s+(?:bodyclass|coltype)\s*%}.*?{%\s*endblock\s*%}", re.S)
COMMENT = re.compile(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.S)
TEMPLATE_CODE = re.compile(r"{%.*?%}|{{.*?}}", re.S)
HTML_TAG = re.compile(r"<[^>]*>", re.S)
ENTITY = re.compile(r"&#?\w+;")
# Attributes a person reads; a submit button's value is its label.
READ_ATTRIBUTES = re.compile(r'\b(?:title|alt|placeholder|aria-label)="([^"]*)"')
BUTTON_LABEL = re.compile(r'type="submit"[^>]*\bvalue="([^"]*)"|\bvalue="([^"]*)"[^>]*type="submit"')
WORD = re.compile(r"[^\W\d_]{2,}")


def untranslated_words(source: str) -> list[str]:
    """The words of `source` that a person would read and that no translate tag holds."""
    text = TEMPLATE_CODE.sub("§", COMMENT.sub("", NOT_READ.sub("", TRANSLATED.sub("§", source))))
    read = []
    for tag in HTML_TAG.findall(text):
        read += READ_ATTRIBUTES.findall(tag)
        read += ["".join(label) for label in BUTTON_LABEL.findall(tag)]
    read.append(ENTITY.sub(" ", HTML_TAG.sub(" ", text)))
    return [word for chunk in read for word in WORD.findall(chunk) if word not in SAME_IN_EVERY_LANGUAGE]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(settings.BASE_DIR)))
def test_every_text_of_the_template_can_be_translated(template):
    assert untranslated_words(template.read_text(encoding="utf-8")) == []


def test_the_check_finds_untranslated_text_attributes_and_buttons():
    source = """{% load i18n %}<p>Dry run of {{ filename }}</p><a title="Open it">{% translate "Go" %}</a>
    <input type="submit" value="Send">{% blocktranslate %}Fine {{ x }}{% endblocktranslate %}"""

    assert untranslated_words(source) == ["Open", "it", "Send", "Dry", "run", "of"]
