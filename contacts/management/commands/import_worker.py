"""The background worker of big imports: django-tasks-db's `db_worker`, plus the imports' sweep.

    manage.py import_worker [--sweep-every SECONDS] [db_worker's options: --max-tasks, --queue-name…]

It runs the tasks queued in the database (contacts.tasks), on any machine that reaches it; run as many
as needed, each claims a task with a row lock. Every --sweep-every seconds it also runs `sweep_imports`
(abandoned uploads, expired and orphan files, imports whose worker stopped) in a thread of its own, so
nothing depends on someone visiting the admin. After each task it gives the freed memory back to the
system: a 200,000-row import's rows would otherwise stay in the process.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import os
import threading

from django.db import close_old_connections, connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks.signals import task_finished
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from contacts.management.commands.sweep_imports import sweep
from contacts.management.language import TranslatedCommand

logger = logging.getLogger(__name__)


def release_memory(**_kwargs) -> None:
    """Collect, then ask glibc to return the freed heap to the system (no-op elsewhere)."""
    gc.collect()
    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(name).malloc_trim(0)


def sweep_forever(every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        try:
            close_old_connections()
            logger.info("Import sweep: %s", sweep())
        except Exception:
            logger.exception("The import sweep failed; trying again in %s s", every)
        finally:
            connections.close_all()


class Command(TranslatedCommand, DbWorkerCommand):
    help = "Run the background imports (django-tasks-db's db_worker) and sweep their leftovers periodically."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--sweep-every",
            type=float,
            default=600,
            metavar="SECONDS",
            help="run sweep_imports this often (default: %(default)s; 0: never)",
        )

    def handle(self, *args, sweep_every: float, **options) -> None:
        task_finished.connect(release_memory, dispatch_uid="contacts.import_worker.release_memory")
        stop = threading.Event()
        # With --reload, the process that watches the code only restarts the one that works.
        watching = options["reload"] and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        if sweep_every > 0 and not watching:
            threading.Thread(target=sweep_forever, args=(sweep_every, stop), daemon=True).start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
