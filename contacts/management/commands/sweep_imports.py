"""Delete what imports leave behind, and record as failed the background imports whose worker stopped.

`import_worker` runs it every few minutes, so it happens without anyone visiting the admin; it can also
run from cron. Each part is safe to run twice, on any number of machines at once.
"""

import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks_db.models import DBTaskResult

from contacts.importing.progress import mark_stopped_workers
from contacts.importing.stored_files import delete_expired_files, delete_orphan_files
from contacts.importing.uploads import delete_abandoned_uploads
from contacts.management.language import TranslatedCommand

TASK_RECORD_DAYS = 7


# What each clean-up did, as `sweep_imports` prints it (the worker's log keys stay in English).
SWEPT = {
    "stopped imports recorded as failed": _("stopped imports recorded as failed: {count}"),
    "abandoned uploads deleted": _("abandoned uploads deleted: {count}"),
    "files past the retention period deleted": _("files past the retention period deleted: {count}"),
    "orphan files deleted": _("orphan files deleted: {count}"),
    "finished task records deleted": _("finished task records deleted: {count}"),
}


def sweep() -> dict[str, int]:
    """One pass of every clean-up; returns how many of each it did."""
    return {
        "stopped imports recorded as failed": mark_stopped_workers(),
        "abandoned uploads deleted": delete_abandoned_uploads(),
        "files past the retention period deleted": delete_expired_files(),
        "orphan files deleted": delete_orphan_files(),
        "finished task records deleted": delete_finished_tasks(),
    }


def delete_finished_tasks() -> int:
    """The worker's records of tasks finished over TASK_RECORD_DAYS ago (the imports keep their own)."""
    cutoff = timezone.now() - datetime.timedelta(days=TASK_RECORD_DAYS)
    return DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()[0]


class Command(TranslatedCommand, BaseCommand):
    help = (
        "Delete abandoned uploads, the stored files of imports older than CONTACT_IMPORT_FILE_RETENTION_DAYS "
        "and files no import records, and record as failed the background imports whose worker stopped."
    )

    def handle(self, *args, **options):
        for what, count in sweep().items():
            self.stdout.write(SWEPT[what].format(count=count))
