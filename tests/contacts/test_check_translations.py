"""`manage.py check_translations` (run by `make test`): the French catalogue is complete and compiled."""

import io
import itertools
import shutil
import subprocess

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.skipif(
    shutil.which("xgettext") is None, reason="needs GNU gettext (.ci/ensure-gettext)"
)

CATALOGUE = "fr/LC_MESSAGES/django.po"


def check(*args) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `manage.py check_translations ARGS…`."""
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command("check_translations", *args, stdout=stdout, stderr=stderr)
    except CommandError as error:
        return error.returncode, stdout.getvalue(), stderr.getvalue() + str(error)
    return 0, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def locale_copy(tmp_path):
    """A copy of the committed catalogue (.po and .mo), to spoil."""
    copy = tmp_path / "locale"
    shutil.copytree(settings.LOCALE_PATHS[0], copy)
    return copy


def listed(err: str, title: str) -> list[str]:
    """The msgids the check lists under the heading starting with `title`."""
    lines = err.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith(title)) + 1
    return [line.strip() for line in itertools.takewhile(lambda line: line.startswith("  "), lines[start:])]


def entry(msgid: str, msgstr: str, flags: str = "") -> str:
    return f'{flags}msgid "{msgid}"\nmsgstr "{msgstr}"\n'


def test_the_committed_french_catalogue_is_complete_and_compiled():
    status, out, err = check()

    assert (status, err) == (0, "")
    assert "The fr catalogue is complete and compiled" in out


def test_missing_untranslated_fuzzy_and_stale_entries_fail_the_check_by_name(locale_copy):
    po = locale_copy / CATALOGUE
    text = po.read_text(encoding="utf-8")
    missing = entry("Skip invalid rows", "Ignorer les lignes invalides")
    untranslated = entry("Not disconnected.", "Non déconnecté.")
    fuzzy = entry("superuser", "superutilisateur")
    assert all(part in text for part in (missing, untranslated, fuzzy))
    text = text.replace(missing, "").replace(untranslated, entry("Not disconnected.", ""))
    text = text.replace(fuzzy, entry("superuser", "superutilisateur", "#, fuzzy\n"))
    po.write_text(text + "\n" + entry("A text no code has any more", "Un texte disparu"), encoding="utf-8")

    status, out, err = check("--locale-dir", locale_copy)

    assert status == 1
    assert "complete and compiled" not in out
    assert listed(err, f"Not in {po}") == ["'Skip invalid rows'"]
    assert listed(err, f"In {po} but no longer in the code") == ["'A text no code has any more'"]
    assert listed(err, f"Untranslated in {po}") == ["'Not disconnected.'"]
    assert listed(err, f"Fuzzy in {po}") == ["'superuser'"]
    # The .mo was compiled from the catalogue before it was spoilt.
    assert f"{locale_copy / 'fr/LC_MESSAGES/django.mo'} is not what django.po compiles to" in err
    assert err.endswith("The translations are incomplete: see above.")


def test_a_catalogue_compiled_but_from_another_po_fails(locale_copy):
    po = locale_copy / CATALOGUE
    translated = entry("Not disconnected.", "Non déconnecté.")
    po.write_text(po.read_text(encoding="utf-8").replace(translated, entry("Not disconnected.", "Pas fait.")))

    status, _out, err = check("--locale-dir", locale_copy)

    assert status == 1
    assert err.startswith(f"{locale_copy / 'fr/LC_MESSAGES/django.mo'} is not what django.po compiles to")

    subprocess.run(["msgfmt", "-o", po.with_suffix(".mo"), po], check=True)  # compilemessages' work
    assert check("--locale-dir", locale_copy)[0] == 0


def test_a_translation_that_lost_a_placeholder_is_refused(locale_copy):
    po = locale_copy / CATALOGUE
    translated = '#, python-brace-format\nmsgid "member of {group}"\nmsgstr "membre de {group}"\n'
    text = po.read_text(encoding="utf-8")
    assert translated in text
    po.write_text(text.replace(translated, translated.replace("membre de {group}", "membre du groupe")))

    status, _out, err = check("--locale-dir", locale_copy)

    assert status == 1
    assert f"msgfmt refuses {po}:" in err
