"""The language of the command line: `--language`, else the `LANGUAGE` environment variable, else English.

Every command that prints to a person mixes in `TranslatedCommand`: it adds `--language` and runs the
command under `translation.override`, its error included (Django prints a CommandError after the command).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import translation


def environment_language(environ: Mapping[str, str] | None = None) -> str:
    """The first language of `LANGUAGE` (gettext's list, `fr_FR:fr`) that the project speaks, else English.

    As gettext reads it: the entries in order of preference, each `ll`, `ll_CC` or `ll_CC.encoding`; the
    first one whose `ll` is a language of settings.LANGUAGES wins.
    """
    spoken = {code for code, _name in settings.LANGUAGES}
    value = (os.environ if environ is None else environ).get("LANGUAGE", "")
    for entry in value.split(":"):
        language = entry.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
        if language in spoken:
            return language
    return settings.LANGUAGE_CODE


class TranslatedCommand:
    """A management command whose output, messages and errors are in `--language` (default: `LANGUAGE`)."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=environment_language(),
            help="the language of the output (default: the LANGUAGE environment variable's when it is "
            "one of these, else English)",
        )
        return parser

    def execute(self, *args, **options):
        with translation.override(options.get("language") or environment_language()):
            try:
                return super().execute(*args, **options)
            except CommandError as error:
                # Django prints it after the command returns, outside this language: render it now.
                error.args = tuple(str(arg) for arg in error.args)
                raise
