"""Check that every translation catalogue is complete and compiled: `manage.py check_translations`.

`make test` runs it. It fails (exit status 1), listing the msgids, when
- makemessages would change the committed catalogue: a text of the code or of the templates is not in it
  (wrapped but never extracted), or it holds one the code no longer has. makemessages runs as the house
  runs it (`-l LANG --no-location --no-obsolete`), on a copy of the sources and of the catalogue, so the
  committed files are never touched;
- an entry is untranslated or fuzzy;
- msgfmt refuses the catalogue (a placeholder a translation lost), or the committed .mo is not what the
  .po compiles to (compared as catalogues, gettext.GNUTranslations(...)._catalog, not as bytes).

Exit status: 0 complete, 1 incomplete, 2 usage error (no catalogue, gettext tools missing).
"""

from __future__ import annotations

import ast
import contextlib
import gettext
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from contacts.management.language import TranslatedCommand

# What makemessages reads for the "django" domain, and what it never walks into. The copy has no locale
# folder either: makemessages would write beside one instead of in the copy of the catalogue (the project
# keeps one catalogue, in LOCALE_PATHS; the apps have none).
SOURCE_EXTENSIONS = (".py", ".html", ".txt")
NOT_WALKED = ("CVS", "__pycache__", "locale")

NO_CATALOGUE = _("No catalogue at {path}: run makemessages -l {language} first.")
NO_TOOL = _("{tool} is missing: install GNU gettext (apt-get install gettext).")
MISSING = _("Not in {path} (run makemessages -l {language} --no-location --no-obsolete, then translate):")
STALE = _("In {path} but no longer in the code (run makemessages -l {language} --no-location --no-obsolete):")
UNTRANSLATED = _("Untranslated in {path}:")
FUZZY = _("Fuzzy in {path} (check the translation, then remove the fuzzy flag):")
REFUSED = _("msgfmt refuses {path}:")
NOT_COMPILED = _("{path} is not what {po} compiles to (run compilemessages -l {language}).")
COMPLETE = _("The {language} catalogue is complete and compiled ({count} entries).")
INCOMPLETE = _("The translations are incomplete: see above.")

# (msgctxt, msgid) of an entry; msgctxt None when it has none.
Key = tuple[str | None, str]


@dataclass
class Entry:
    strings: list[str] = field(default_factory=list)  # msgstr, or msgstr[0], msgstr[1]…
    fuzzy: bool = False


def read_po(path: Path) -> dict[Key, Entry]:
    """The entries of a .po file as the gettext tools write it (entries apart by a blank line), without its
    header and its obsolete `#~` entries."""
    entries: dict[Key, Entry] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        parts: dict[str, str] = {}
        fuzzy, last = False, ""
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                fuzzy = "fuzzy" in (flag.strip() for flag in line[2:].split(","))
            elif line.startswith('"') and last:
                parts[last] += ast.literal_eval(line)
            elif line and not line.startswith("#"):
                last, _space, text = line.partition(" ")
                parts[last] = ast.literal_eval(text)
        if parts.get("msgid"):
            strings = [text for name, text in sorted(parts.items()) if name.startswith("msgstr")]
            entries[(parts.get("msgctxt"), parts["msgid"])] = Entry(strings, fuzzy)
    return entries


def extracted(source: Path, po: Path, language: str) -> dict[Key, Entry]:
    """The catalogue makemessages would make of the committed `po` from the code under `source`."""
    with tempfile.TemporaryDirectory() as temporary:
        copy = Path(temporary) / "sources"
        shutil.copytree(source, copy, ignore=_not_sources)
        # Beside the copy, not in it: makemessages writes its catalogue there, the nearest locale folder.
        catalogue = Path(temporary) / "locale" / language / "LC_MESSAGES" / "django.po"
        catalogue.parent.mkdir(parents=True)
        shutil.copyfile(po, catalogue)
        speaking = translation.get_language()
        with (
            contextlib.chdir(copy),
            override_settings(LOCALE_PATHS=[str(catalogue.parents[2])], STATIC_ROOT=None, MEDIA_ROOT=""),
        ):
            call_command("makemessages", locale=[language], no_location=True, no_obsolete=True, verbosity=0)
        translation.activate(speaking)  # changing LOCALE_PATHS forgets the active language
        return read_po(catalogue)


def _not_sources(directory: str, names: list[str]) -> list[str]:
    """What makemessages would not read: hidden and backup files, static and media roots, other files."""
    skipped = {Path(settings.STATIC_ROOT).resolve(), Path(settings.MEDIA_ROOT).resolve()}

    def read(name: str) -> bool:
        path = Path(directory, name)
        if name.startswith(".") or name in NOT_WALKED or name.endswith("~") or path.resolve() in skipped:
            return False
        return path.is_dir() or name.endswith(SOURCE_EXTENSIONS)

    return [name for name in names if not read(name)]


def compiled_catalogue(path: Path) -> dict:
    with path.open("rb") as mo:
        return gettext.GNUTranslations(mo)._catalog


def shown(key: Key) -> str:
    context, msgid = key
    text = msgid if len(msgid) <= 100 else msgid[:99] + "…"
    return f"  {context} | {text!r}" if context else f"  {text!r}"


class Command(TranslatedCommand, BaseCommand):
    help = (
        "Fail when a translation catalogue misses a text of the code, has an untranslated or fuzzy entry, "
        "or is not compiled."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--locale-dir",
            metavar="PATH",
            help="the folder holding LANG/LC_MESSAGES/django.po and .mo (default: LOCALE_PATHS' first)",
        )
        parser.add_argument(
            "--source-dir", metavar="PATH", help="the code to extract the texts from (default: BASE_DIR)"
        )

    def handle(self, *args, locale_dir: str | None, source_dir: str | None, **options):
        for tool in ("xgettext", "msgmerge", "msgfmt"):
            if shutil.which(tool) is None:
                raise CommandError(NO_TOOL.format(tool=tool), returncode=2)
        locale = Path(locale_dir or settings.LOCALE_PATHS[0])
        source = Path(source_dir or settings.BASE_DIR)
        languages = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
        if not all([self._check(locale, source, language) for language in languages]):
            raise CommandError(INCOMPLETE, returncode=1)

    def _check(self, locale: Path, source: Path, language: str) -> bool:
        folder = locale / language / "LC_MESSAGES"
        po, mo = folder / "django.po", folder / "django.mo"
        if not po.is_file():
            raise CommandError(NO_CATALOGUE.format(path=po, language=language), returncode=2)
        committed = read_po(po)
        wanted = extracted(source, po, language)
        problems = [
            (MISSING, sorted(wanted.keys() - committed.keys(), key=str)),
            (STALE, sorted(committed.keys() - wanted.keys(), key=str)),
            (UNTRANSLATED, [key for key, entry in committed.items() if not all(entry.strings)]),
            (FUZZY, [key for key, entry in committed.items() if entry.fuzzy]),
        ]
        complete = True
        for title, keys in problems:
            if keys:
                complete = False
                self.stderr.write(title.format(path=po, language=language))
                for key in keys:
                    self.stderr.write(shown(key))
        return self._compiled(po, mo, language) and complete and self._report(language, len(committed))

    def _compiled(self, po: Path, mo: Path, language: str) -> bool:
        with tempfile.TemporaryDirectory() as temporary:
            fresh = Path(temporary) / "django.mo"
            result = subprocess.run(
                ["msgfmt", "--check-format", "--check-header", "-o", str(fresh), str(po)],
                capture_output=True,
                text=True,
                env={**os.environ, "LC_ALL": "C"},
                check=False,
            )
            if result.returncode != 0:
                self.stderr.write(REFUSED.format(path=po))
                self.stderr.write(result.stderr.rstrip())
                return False
            if not mo.is_file() or compiled_catalogue(mo) != compiled_catalogue(fresh):
                self.stderr.write(NOT_COMPILED.format(path=mo, po=po.name, language=language))
                return False
        return True

    def _report(self, language: str, count: int) -> bool:
        self.stdout.write(COMPLETE.format(language=language, count=count))
        return True
