"""`python3 -m backup` answers the guide's command lines by handing them to coffer."""

import json
import os
import subprocess
import sys

from conftest import make_files


def run(*args):
    env = dict(os.environ, BACKUP_DIR="backups", BACKUP_PATHS="data")
    return subprocess.run([sys.executable, "-m", "backup", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_the_guides_command_lines():
    make_files("data")
    created = run("create", "--type", "full")
    assert created.returncode == 0, created.stderr
    listed = run("--json", "list")
    assert listed.returncode == 0, listed.stderr
    backups = json.loads(listed.stdout)
    backups = backups if isinstance(backups, list) else backups["backups"]
    backup_id = backups[0]["backup_id"]
    assert run("list").stdout.count(backup_id) == 1
    restored = run("restore", backup_id, "--type", "files", "--target", "out")
    assert restored.returncode == 0, restored.stderr
    assert os.path.isdir("out")
    assert run("cleanup").returncode == 0
    assert run("schedule", "--help").returncode == 0
    bad = run("restore", "full_19990101_000000", "--type", "full")
    assert bad.returncode == 4, bad.stderr  # coffer's exit code for "not found"
