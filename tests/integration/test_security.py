"""Security of what coffer leaves on disk: repository files 0600 and folders 0700 whatever the
umask; no plaintext of the backed-up data (contents or file names) anywhere in an encrypted
repository (checked against an unencrypted one, where the same marker IS found, so the check can
fail); the passphrase never in the repository, the log or the output; a passphrase file readable
by others gets a warning."""

import os
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import PASSPHRASE, CofferTestCase, file_contains  # noqa: E402

MARKER = b"COFFER-PLAINTEXT-MARKER-7f1c2e"


class SecurityTest(CofferTestCase):

    def plant_marker(self):
        """A compressible and an incompressible file holding the marker, and a file NAMED by it."""
        self.make_tree()
        uploads = os.path.join(self.src, "uploads")
        with open(os.path.join(uploads, "notes.txt"), "wb") as f:
            f.write((b"grade report " + MARKER + b"\n") * 500)
        with open(os.path.join(uploads, "photo.jpg"), "wb") as f:
            f.write(os.urandom(100_000) + MARKER + os.urandom(100_000))
        with open(os.path.join(uploads, MARKER.decode() + ".pdf"), "wb") as f:
            f.write(b"x")

    def test_repository_is_private_whatever_the_umask(self):
        self.make_tree()
        old = os.umask(0o022)
        try:
            self.create("full")
            self.create("incremental")
        finally:
            os.umask(old)
        loose = []
        for dirpath, dirnames, filenames in os.walk(self.backup_dir):
            for name in dirnames + filenames + [""]:
                path = os.path.join(dirpath, name) if name else dirpath
                mode = stat.S_IMODE(os.lstat(path).st_mode)
                if mode & 0o077:
                    loose.append(f"{os.path.relpath(path, self.backup_dir)} {oct(mode)}")
        self.assertEqual(loose, [], "repository objects readable or writable by group/others")

    def test_no_plaintext_in_an_encrypted_repository(self):
        self.plant_marker()
        self.create("full")
        self.assertEqual(file_contains(self.backup_dir, MARKER), [], "the marker is readable in the repository")
        self.assertEqual(file_contains(self.backup_dir, PASSPHRASE.encode()), [])

    def test_the_marker_check_finds_plaintext_when_encryption_is_off(self):
        self.plant_marker()
        self.create("full", env={"ENCRYPTION": "false", "COMPRESSION": "none"})
        self.assertNotEqual(file_contains(self.backup_dir, MARKER), [])

    def test_passphrase_never_printed_or_logged(self):
        self.make_tree()
        env = {"BACKUP_PASSPHRASE_FILE": None, "BACKUP_PASSPHRASE": PASSPHRASE}
        outputs = [self.coffer("--json", "create", "--type", "full", env=env, expect=0),
                   self.coffer("config", env=env, expect=0),
                   self.coffer("--json", "config", env=env, expect=0),
                   self.coffer("-v", "verify", env=env, expect=0),
                   self.coffer("list", env=dict(env, BACKUP_PASSPHRASE="wrong " + PASSPHRASE), expect=8)]
        for r in outputs:
            self.assertNotIn(PASSPHRASE, r.out + r.err, r.argv)
        self.assertEqual(file_contains(self.backup_dir, PASSPHRASE.encode()), [])

    def test_passphrase_file_readable_by_others_is_warned_about(self):
        self.make_tree()
        os.chmod(self.passphrase_file, 0o644)
        r = self.coffer("create", "--type", "full", expect=0)
        self.assertIn("readable by group or others", r.err)
        self.assertIn("chmod 600", r.err)


if __name__ == "__main__":
    unittest.main()
