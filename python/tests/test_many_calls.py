"""1,000 create/list calls in one process: no crash, no growth of Python objects or memory."""

import gc
import resource

from backup import BackupConfig, BackupManager
from conftest import make_files


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_a_thousand_create_and_list_calls():
    make_files("data", count=3, size=2_000)
    manager = BackupManager(BackupConfig(backup_dir="backups", backup_paths=["data"]))
    objects = rss = None
    for i in range(1000):
        if i % 50 == 0:
            manager.create_incremental_backup()
        listed = manager.list_backups()
        assert listed[-1].metadata["file_count"] == 3
        if i == 199:
            gc.collect()
            objects, rss = len(gc.get_objects()), rss_kib()
    gc.collect()
    assert len(gc.get_objects()) - objects < 1000
    assert rss_kib() - rss < 30 * 1024, "memory grew by more than 30 MiB over 800 calls"
