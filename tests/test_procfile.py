"""`make run`'s processes (Procfile, run by honcho): the web server and an import worker start together
and both stop on Ctrl-C."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.helpers import ROOT, free_port


def test_the_procfile_starts_the_web_server_and_a_worker_and_ctrl_c_stops_both(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONTACT_", "CACHE_URL"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}",
        DJANGO_MEDIA_ROOT=str(tmp_path / "media"),
        DJANGO_ENV_FILE="",
        DJANGO_DEBUG="true",
        DJANGO_SECRET_KEY="insecure-key-for-tests-only",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    honcho = Path(sys.executable).with_name("honcho")
    process = subprocess.Popen(
        [str(honcho), "--env", str(empty_env_file), "--procfile", "Procfile", "start", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        answered = None
        while time.monotonic() < deadline and answered is None:
            try:
                answered = requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=5).status_code
            except requests.RequestException:
                time.sleep(0.3)
        time.sleep(3)  # the worker's start-up line
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)

    assert answered == 200
    assert "Starting worker" in output
    assert "web.1 stopped" in output
    assert "worker.1 stopped" in output
