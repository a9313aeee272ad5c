"""Undo a committed import: `undo_import BATCH_ID [--dry-run] [--include-conflicts] [--json] [--by USERNAME]`.

Exit status: 0 done (or a dry run), 1 refused (nothing changed), 2 usage error.
"""

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext_lazy as _

from contacts.management.language import TranslatedCommand
from contacts.models import ContactChange, ImportBatch
from contacts.services.changelog import Actor
from contacts.services.undo import NO_SUCH_IMPORT, UndoPlan, import_undo, plan_undo

UNKNOWN_USER = _('No user is named "%(username)s".')
NOT_ALLOWED = _('The user "%(username)s" is not allowed to undo imports (permission contacts.undo_import).')
UNDO_PERMISSION = "contacts.undo_import"
WOULD_UNDO = _("Would undo import #%(batch)s (%(organization)s, %(file)s):")
UNDONE = _("Undone: import #%(batch)s (%(organization)s, %(file)s):")
TOTALS = _(
    "  %(deleted)s contact(s) deleted, %(restored)s restored, %(conflicts)s conflict(s) %(conflicts_fate)s"
)
CONFLICTS_RESTORED = _("restored anyway")
CONFLICTS_LEFT = _("left as they are")
CONFLICT = _("  conflict %(code)s: %(changes)s")
MAIN_CHANGED = _("another contact became main since")
DELETED_SINCE = _("deleted since")
KEEPS_MAIN = _(
    "kept, even with --include-conflicts: its customer would lose its main contact (%(previous)s before)"
)
DRY_RUN = _("Dry run: nothing was changed. Run again without --dry-run%(again)s to undo.")


class Command(TranslatedCommand, BaseCommand):
    help = (
        "Undo a committed import: delete the contacts it created and restore the values it replaced. "
        "Contacts changed since by someone else are left as they are unless --include-conflicts. "
        "Exit status: 0 done (or dry run), 1 refused, 2 usage error."
    )

    def add_arguments(self, parser):
        parser.add_argument("batch", type=int, metavar="BATCH_ID", help="the import's number (its batch id)")
        parser.add_argument(
            "--dry-run", action="store_true", help="say what the undo would do; change nothing"
        )
        parser.add_argument(
            "--include-conflicts",
            action="store_true",
            help="also restore the contacts changed since the import (their later changes are lost)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        parser.add_argument(
            "--by",
            metavar="USERNAME",
            help="record this user as the one who undid it (they need the permission)",
        )

    def handle(self, *args, batch: int, dry_run: bool, include_conflicts: bool, json: bool, by, **options):
        found = ImportBatch.objects.select_related("organization").filter(pk=batch).first()
        if found is None:
            raise CommandError(NO_SUCH_IMPORT % {"batch": batch}, returncode=2)
        user = None
        if by:
            user = get_user_model().objects.filter(username=by).first()
            if user is None:
                raise CommandError(UNKNOWN_USER % {"username": by}, returncode=2)
            if not user.has_perm(UNDO_PERMISSION):
                raise CommandError(NOT_ALLOWED % {"username": by}, returncode=1)
        try:
            if dry_run:
                plan = plan_undo(
                    organization=found.organization, batch_id=batch, include_conflicts=include_conflicts
                )
            else:
                plan = import_undo(
                    organization=found.organization,
                    batch_id=batch,
                    actor=Actor.command_line(user, channel=ContactChange.Channel.UNDO),
                    include_conflicts=include_conflicts,
                )
        except ValidationError as refused:
            raise CommandError(" ".join(refused.messages), returncode=1) from None
        if json:
            self.stdout.write(_json(plan, dry_run=dry_run))
        else:
            self._summary(plan, dry_run=dry_run)

    def _summary(self, plan: UndoPlan, *, dry_run: bool) -> None:
        batch = plan.batch
        head = WOULD_UNDO if dry_run else UNDONE
        self.stdout.write(
            head % {"batch": batch.pk, "organization": batch.organization.slug, "file": batch.file_name}
        )
        fate = CONFLICTS_RESTORED if plan.include_conflicts else CONFLICTS_LEFT
        self.stdout.write(TOTALS % {**plan.totals, "conflicts_fate": fate})
        for target in plan.conflicts:
            changes = [
                f"{entry.at:%Y-%m-%d %H:%M} {entry.actor or '-'} ({entry.get_channel_display()}) "
                f"{entry.get_action_display()}"
                for entry in target.later
            ]
            if target.current is None and not changes:
                changes.append(str(DELETED_SINCE))
            if target.displaced:
                changes.append(str(MAIN_CHANGED))
            if target.keeps_main:
                changes.append(KEEPS_MAIN % {"previous": target.previous_main})
            self.stdout.write(CONFLICT % {"code": target.external_id, "changes": "; ".join(changes)})
        if dry_run:
            self.stdout.write(DRY_RUN % {"again": " --include-conflicts" if plan.include_conflicts else ""})


def _json(plan: UndoPlan, *, dry_run: bool) -> str:
    """The object `--json` prints."""
    batch = plan.batch
    return json.dumps(
        {
            "batch": batch.pk,
            "organization": batch.organization.slug,
            "undone": not dry_run,
            "includeConflicts": plan.include_conflicts,
            "totals": plan.totals,
            "conflicts": [
                {
                    "contactId": target.contact_id,
                    "externalId": target.external_id,
                    "deleted": target.current is None,
                    "keepsMain": target.keeps_main,
                    "changes": [
                        {
                            "at": entry.at.isoformat(),
                            "who": entry.actor,
                            "channel": entry.channel,
                            "action": entry.action,
                        }
                        for entry in target.later
                    ],
                }
                for target in plan.conflicts
            ],
        },
        ensure_ascii=False,
    )
