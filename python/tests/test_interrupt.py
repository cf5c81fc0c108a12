"""Ctrl-C (SIGINT) during a large backup raises KeyboardInterrupt in the Python program within
seconds, and leaves a repository that verifies, lists no backup and takes the next one; a
progress callback that raises stops the call with its exception."""

import os
import signal
import subprocess
import sys
import time

import pytest

import backup
from backup import BackupConfig, BackupManager
from conftest import make_files

CHILD = """
import sys, time
from backup import BackupConfig, BackupManager
started = []
def progress(p):
    if p.phase != "backup":
        return
    if p.bytes_done > 0 and not started:
        started.append(1)
        print("started", flush=True)
    # As a slow disk would: the readers wait while the callback runs, so the backup takes many
    # seconds instead of a fraction of one on this machine.
    time.sleep(0.2)
m = BackupManager(BackupConfig(backup_dir="backups", backup_paths=["data"]), progress=progress)
try:
    m.create_full_backup()
    print("finished", flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt", time.monotonic(), flush=True)
"""


def test_ctrl_c_during_a_large_backup_leaves_a_repository_that_verifies():
    make_files("data", count=60, size=2_000_000)  # 120 MB of incompressible data
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "started"
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0
    assert out.startswith("KeyboardInterrupt"), out
    assert float(out.split()[1]) - sent < 10, "the backup took too long to stop"

    manager = BackupManager(BackupConfig(backup_dir="backups", backup_paths=["data"]))
    assert manager.list_backups() == []
    assert manager.history()[-1].status == "failed"
    check = manager.verify(read_data=True)
    assert check.ok, check.problems
    assert manager.create_full_backup().file_count == 60


def test_an_exception_in_the_progress_callback_stops_the_call_and_is_raised():
    make_files("data", count=30, size=200_000)

    class Stop(Exception):
        pass

    def progress(p):
        if p.phase == "backup":
            raise Stop("enough")

    manager = BackupManager(BackupConfig(backup_dir="backups", backup_paths=["data"]), progress=progress)
    with pytest.raises(Stop):
        manager.create_full_backup()
    manager.set_progress_callback(None)
    assert manager.list_backups() == []
    assert manager.verify().ok


def test_progress_reports_what_the_cli_shows():
    make_files("data", count=10, size=100_000)
    seen = []
    manager = BackupManager(BackupConfig(backup_dir="backups", backup_paths=["data"]), progress=seen.append)
    manager.create_full_backup()
    last = [p for p in seen if p.phase == "backup"][-1]
    assert (last.files_done, last.files_total) == (10, 10)
    assert last.bytes_done == last.bytes_total == 1_000_000
