"""Where an import stands: its stage, rows done of total, and the heartbeat of the worker running it.

The pipeline reports progress through a `progress(stage, done, total)` callable, in batches of rows,
never per row. The command line draws it on the terminal; a background import keeps it on its row
(ImportUpload for a preview, ImportBatch for a commit) with `ProgressRecorder`, at most once a second,
and every write is also the worker's heartbeat. A running import whose heartbeat is older than
CONTACT_IMPORT_HEARTBEAT_TIMEOUT failed: its worker stopped (killed, out of memory, machine lost), and
the database rolled its transaction back, so nothing of it was written.

On PostgreSQL the recorder writes through the `progress` database alias, a second connection: the
commit's own transaction is still open while it reports, and other processes see the report at once.
SQLite has one writer at a time, so there the reports made inside the commit's transaction wait for
its end (a commit of 200,000 rows holds it about ten seconds, well within the timeout).

Between reports, a thread beats every BEAT_EVERY seconds (`ProgressRecorder.beating`): a long step
that reports nothing (a big workbook parsed in its child process, a lock waited for) is not taken for
a stopped worker, while a killed worker stops beating with everything else.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from contacts.models import ImportBatch, ImportUpload

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, rows done, rows total)

WORKER_STOPPED = _(
    "worker stopped: the worker running this import stopped before it finished, and nothing was "
    "written. Start the import again."
)
# A report is written at most this often (seconds): one UPDATE a second, whatever the file's size.
REPORT_EVERY = 1.0
# The heartbeat thread's period (seconds); far under CONTACT_IMPORT_HEARTBEAT_TIMEOUT.
BEAT_EVERY = 5.0


class Stage(models.TextChoices):
    READING = "reading", _("Reading the file")
    CHECKING = "checking", _("Checking the rows")
    WRITING = "writing", _("Writing the contacts and their history")


# How far a stage is, as the progress page and the command line's progress bar say it.
ROWS_DONE = _("%(done)s of %(total)s rows")


# Where each stage starts and ends in a run's time (measured on 50,000 rows with SQLite: a preview reads
# for a quarter of its time; a commit reads for a tenth, checks for a fifth and writes for the rest), to
# estimate the time left.
STAGE_SHARES = {
    "preview": {Stage.READING: (0.0, 0.25), Stage.CHECKING: (0.25, 1.0)},
    "commit": {Stage.READING: (0.0, 0.1), Stage.CHECKING: (0.1, 0.3), Stage.WRITING: (0.3, 1.0)},
}


def progress_alias() -> str:
    return "progress" if "progress" in settings.DATABASES else DEFAULT_DB_ALIAS


class ProgressRecorder:
    """The `progress` callable of a background run: keeps its stage and rows on its row, and beats."""

    def __init__(self, model: type[ImportBatch] | type[ImportUpload], pk: int) -> None:
        self.rows = model.objects.using(progress_alias()).filter(pk=pk, status=model.Status.RUNNING)
        self.own_connection = progress_alias() != DEFAULT_DB_ALIAS
        self.stage, self.done, self.total = "", 0, 0
        self.written_at = 0.0
        self.written_stage = ""

    @contextlib.contextmanager
    def beating(self) -> Iterator[ProgressRecorder]:
        """Beat in a thread of its own while the block runs (on SQLite, never inside a transaction of
        this thread's connection: one writer at a time)."""
        stop = threading.Event()
        main_connection = connections[DEFAULT_DB_ALIAS]

        def beat() -> None:
            try:
                while not stop.wait(BEAT_EVERY):
                    if self.own_connection or not main_connection.in_atomic_block:
                        self._update(heartbeat_at=timezone.now())
            finally:
                connections.close_all()  # this thread's connections only

        thread = threading.Thread(target=beat, name="import-heartbeat", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=30)

    def __call__(self, stage: str, done: int = 0, total: int = 0) -> None:
        self.stage, self.done, self.total = stage, done, total
        if stage != self.written_stage or time.monotonic() - self.written_at >= REPORT_EVERY:
            self.write()

    def write(self) -> None:
        if not self.own_connection and connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return  # SQLite inside the commit's transaction: written at the next report after it
        if self._update(
            stage=self.stage, rows_done=self.done, rows_total=self.total, heartbeat_at=timezone.now()
        ):
            self.written_at, self.written_stage = time.monotonic(), self.stage

    def _update(self, **values) -> bool:
        try:
            self.rows.update(**values)
        except DatabaseError:
            # The row is locked (the commit is recording its end) or the connection failed: a missed
            # report is not worth failing the import for; the next one tries again.
            logger.warning("Could not report the progress of an import", exc_info=True)
            return False
        return True


def mark_stopped_workers(now: datetime.datetime | None = None) -> int:
    """Record as failed the running imports whose worker stopped reporting (and their task records,
    which the worker could not close); returns how many."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.CONTACT_IMPORT_HEARTBEAT_TIMEOUT)
    stopped = 0
    for model, finished in ((ImportBatch, {"finished_at": now}), (ImportUpload, {})):
        late = model.objects.filter(status=model.Status.RUNNING, heartbeat_at__lt=cutoff)
        task_ids = list(late.exclude(task_id="").values_list("task_id", flat=True))
        stopped += late.update(status=model.Status.FAILED, failure_reason=str(WORKER_STOPPED), **finished)
        if task_ids:
            DBTaskResult.objects.filter(id__in=task_ids, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED, finished_at=now, traceback=str(WORKER_STOPPED)
            )
    return stopped


@dataclass
class Estimate:
    elapsed: float | None  # seconds since the worker started, None while queued
    remaining: float | None  # seconds, None until there is enough to go on
    fraction: float  # 0..1 of the whole run


def estimate(work: ImportBatch | ImportUpload, kind: str, now: datetime.datetime | None = None) -> Estimate:
    """Elapsed and remaining time of a run, from its stage and rows done and the stages' usual shares."""
    if work.started_at is None:
        return Estimate(elapsed=None, remaining=None, fraction=0.0)
    elapsed = max(((now or timezone.now()) - work.started_at).total_seconds(), 0.0)
    start, end = STAGE_SHARES[kind].get(work.stage, (0.0, 0.0))
    within = work.rows_done / work.rows_total if work.rows_total else 0.0
    fraction = min(start + (end - start) * within, 1.0)
    remaining = elapsed * (1 - fraction) / fraction if fraction >= 0.05 and elapsed >= 1 else None
    return Estimate(elapsed=elapsed, remaining=remaining, fraction=fraction)
