"""Backups restore to exactly the tree that was backed up: content, modes, mtimes, symlinks,
hard links, empty directories and awkward names, across a chain of full, incremental and
differential backups, and with other compression and encryption settings."""

import datetime
import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    CofferTestCase, ancestors, assert_trees_equal, check, check_fails_cleanly, coffer_binary,
    default_settings, file_contains, make_tree, new_temp_dir, read_backup_log, remove_tree,
    run_coffer, snapshot_tree, subtree, tree_bytes, write_passphrase)

ID_RE = re.compile(r"^(full|incremental|differential)_\d{8}_\d{6}(_\d+)?$")
CREATE_FIELDS = ("backup_id", "backup_type", "status", "file_count", "size_bytes", "bytes_added",
                 "duration_seconds", "warnings")
LIST_FIELDS = ("backup_id", "backup_type", "timestamp", "status", "size_bytes", "bytes_added",
               "file_count", "parent")
LOG_FIELDS = ("backup_id", "backup_type", "timestamp", "status", "size_bytes", "file_path",
              "metadata", "duration_seconds", "bytes_added", "file_count", "warnings")


def parse_utc(text):
    """ISO 8601 UTC timestamp -> aware datetime; fails on anything else."""
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.utcoffset() != datetime.timedelta(0):
        raise ValueError(f"{text!r} is not UTC")
    return t


class BackupChainTest(CofferTestCase):
    """One repository built once for the class: full; incremental of the unchanged tree; then
    mutate + incremental, mutate + differential, mutate + incremental. The tree (scale 0.05
    with the odd cases) is snapshotted at each backup."""

    # (backup type, seed of the mutation made just before it, or None)
    STEPS = (("full", None), ("incremental", None), ("incremental", 1), ("differential", 2),
             ("incremental", 3))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        coffer_binary()  # fail (not skip) right away when the binary is missing
        cls.chain_dir = new_temp_dir("chain")
        cls.addClassCleanup(remove_tree, cls.chain_dir)
        cls.chain_src = os.path.join(cls.chain_dir, "src")
        make_tree.create(cls.chain_src, scale=0.05, seed=11, odd=True)
        cls.chain_env = default_settings(os.path.join(cls.chain_dir, "repo"),
                                         make_tree.root_paths(cls.chain_src),
                                         write_passphrase(os.path.join(cls.chain_dir, "passphrase")))
        cls.backups = []  # (create --json output, snapshot of the tree at that time)
        for backup_type, seed in cls.STEPS:
            if seed is not None:
                make_tree.mutate(cls.chain_src, seed=seed)
            snap = snapshot_tree(cls.chain_src)
            r = check(run_coffer(["--json", "create", "--type", backup_type], cls.chain_env,
                                 cls.chain_dir), 0)
            cls.backups.append((r.json(), snap))

    def setUp(self):
        super().setUp()
        self.env = dict(self.chain_env)
        self.backup_dir = self.chain_env["BACKUP_DIR"]

    def ids(self):
        return [out["backup_id"] for out, _ in self.backups]

    def test_create_json_fields(self):
        for (out, snap), (backup_type, _) in zip(self.backups, self.STEPS):
            with self.subTest(backup=out.get("backup_id")):
                missing = [f for f in CREATE_FIELDS if f not in out]
                self.assertEqual(missing, [], f"create --json lacks fields: {out}")
                self.assertRegex(out["backup_id"], ID_RE)
                self.assertTrue(out["backup_id"].startswith(backup_type + "_"))
                self.assertEqual(out["backup_type"], backup_type)
                self.assertEqual(out["status"], "success")
                for f in ("file_count", "size_bytes", "bytes_added"):
                    self.assertIsInstance(out[f], int, f)
                    self.assertGreaterEqual(out[f], 0, f)
                self.assertIsInstance(out["duration_seconds"], (int, float))
                self.assertGreaterEqual(out["duration_seconds"], 0)
                self.assertEqual(out["warnings"], [], "a plain tree should back up without warnings")
        full, snap = self.backups[0]
        files = [e for e in snap.values() if e.type == "file"]
        distinct = len({e.links or (p,) for p, e in snap.items() if e.type == "file"})
        self.assertGreaterEqual(full["file_count"], distinct, "full backup counts fewer files than the tree has")
        self.assertLessEqual(full["file_count"], len(snap), "full backup counts more files than the tree has entries")
        self.assertGreater(len(files), 0)
        self.assertEqual(len(set(self.ids())), len(self.ids()), "backup ids must be unique")

    def test_bytes_added(self):
        full = self.backups[0][0]["bytes_added"]
        # The odd tree holds a 5 MiB random file that cannot shrink.
        self.assertGreater(full, 4 * 1024 * 1024, "the full backup added less than its incompressible content")
        unchanged = self.backups[1][0]["bytes_added"]
        self.assertLess(unchanged, 0.05 * full,
                        f"incremental of an unchanged tree added {unchanged} bytes (full: {full})")
        for out, _ in self.backups[2:]:
            self.assertLess(out["bytes_added"], 0.5 * full,
                            f"{out['backup_id']} stored most of the tree again ({out['bytes_added']} bytes)")

    def test_list_json(self):
        listed = self.list_backups()
        self.assertEqual([b.get("backup_id") for b in listed], self.ids(), "list must show every backup, oldest first")
        full, incr1, incr2, diff, incr3 = self.ids()
        expected_parents = [None, full, incr1, full, diff]
        previous = None
        for b, (out, _), (backup_type, _), parent in zip(listed, self.backups, self.STEPS, expected_parents):
            with self.subTest(backup=b["backup_id"]):
                missing = [f for f in LIST_FIELDS if f not in b]
                self.assertEqual(missing, [], f"list --json entry lacks fields: {b}")
                self.assertEqual(b["backup_type"], backup_type)
                self.assertEqual(b["status"], "success")
                self.assertEqual(b["parent"], parent, "incremental -> previous backup, differential -> last full")
                self.assertEqual(b["bytes_added"], out["bytes_added"], "list and create disagree")
                self.assertEqual(b["file_count"], out["file_count"], "list and create disagree")
                t = parse_utc(b["timestamp"])
                if previous is not None:
                    self.assertGreaterEqual(t, previous, "list must be oldest first")
                previous = t

    def test_backup_log(self):
        log = read_backup_log(self.backup_dir)
        self.assertEqual([e.get("backup_id") for e in log], self.ids())
        for e in log:
            with self.subTest(backup=e.get("backup_id")):
                self.assertEqual([f for f in LOG_FIELDS if f not in e], [], f"log entry lacks fields: {e}")
                self.assertEqual(e["status"], "success")
                self.assertNotIn("error", e)
                self.assertIs(e["metadata"].get("encrypted"), True)
                self.assertIs(e["metadata"].get("compressed"), True)
                self.assertEqual(e["metadata"].get("compression"), "zstd")

    def test_every_backup_restores(self):
        for out, snap in self.backups:
            with self.subTest(backup=out["backup_id"]):
                self.restore_and_compare(out["backup_id"], snap)

    def test_latest_is_the_last_backup(self):
        self.restore_and_compare("latest", self.backups[-1][1])

    def test_repository_does_not_show_names(self):
        # Manifests are encrypted: file names must not appear in any repository file.
        for name in ("name with spaces.txt", "résumé 📚.txt", "invoice_0000.pdf"):
            self.assertEqual(file_contains(self.backup_dir, name.encode()), [], f"{name!r} readable in the repository")

    def test_include_subdirectory(self):
        backup_id, snap = self.ids()[-1], self.backups[-1][1]
        target = self.new_dir("include-dir")
        self.restore(backup_id, target, "--include", "uploads/odd")
        self.assert_only(snapshot_tree(target), snap, "uploads/odd")

    def test_include_one_file(self):
        backup_id, snap = self.ids()[-1], self.backups[-1][1]
        path = min(p for p, e in snap.items() if p.startswith("uploads/docs/") and e.type == "file")
        target = self.new_dir("include-file")
        self.restore(backup_id, target, "--include", path)
        self.assert_only(snapshot_tree(target), snap, path)

    def assert_only(self, restored, snap, include):
        """`restored` holds exactly `include` (and what is under it), plus its parent dirs."""
        for parent in ancestors(include):
            self.assertIn(parent, restored, f"parent dir of {include} not created")
            self.assertEqual(restored[parent].type, "dir")
        rest = {k: v for k, v in restored.items() if k not in ancestors(include)}
        assert_trees_equal(subtree(snap, include), rest, f"restore --include {include}")

    def test_refuses_to_overwrite(self):
        backup_id, snap = self.ids()[-1], self.backups[-1][1]
        target = self.restore_and_compare(backup_id, snap, "overwrite")
        edited = min(p for p, e in snap.items() if p.startswith("static/") and e.type == "file")
        with open(os.path.join(target, edited), "wb") as f:
            f.write(b"edited after the restore\n")
        before = snapshot_tree(target)
        r = check_fails_cleanly(self.restore(backup_id, target, expect=None), 3)
        names = {p.rsplit("/", 1)[-1] for p, e in snap.items() if e.type != "dir"}
        self.assertTrue(any(n in r.err for n in names), f"the refusal does not name a file:\n{r}")
        assert_trees_equal(before, snapshot_tree(target), "target after a refused restore")
        self.restore(backup_id, target, "--overwrite")
        assert_trees_equal(snap, snapshot_tree(target), "restore --overwrite")

    def test_restore_to_original_paths(self):
        backup_id, snap = self.ids()[-1], self.backups[-1][1]
        # The source still exists: restoring over it is refused and changes nothing.
        check_fails_cleanly(self.restore(backup_id, expect=None), 3)
        assert_trees_equal(snap, snapshot_tree(self.chain_src), "source after a refused restore")
        for root in make_tree.root_paths(self.chain_src):
            shutil.rmtree(root)
        self.assertEqual(os.listdir(self.chain_src), [])
        self.restore(backup_id)
        assert_trees_equal(snap, snapshot_tree(self.chain_src), "tree restored to its original paths")


class SettingsVariantsTest(CofferTestCase):
    """Small round trips (full, mutate, incremental) with other settings."""

    MARKER = "coffer-plaintext-marker-5d41402abc4b2a76b9719d911017c592"
    # (label, settings, expected backup_log metadata)
    VARIANTS = (
        ("no-encryption", {"ENCRYPTION": "false", "BACKUP_PASSPHRASE_FILE": None},
         {"encrypted": False, "compressed": True}),
        ("gzip", {"COMPRESSION": "gzip"}, {"encrypted": True, "compressed": True, "compression": "gzip"}),
        ("no-compression", {"COMPRESSION": "none"}, {"encrypted": True, "compressed": False}),
        ("plain", {"ENCRYPTION": "false", "COMPRESSION": "none", "BACKUP_PASSPHRASE_FILE": None},
         {"encrypted": False, "compressed": False}),
    )

    def round_trip(self, label, overrides, metadata):
        base = os.path.join(self.tmp, label)
        src = os.path.join(base, "src")
        make_tree.create(src, scale=0.02, seed=5)
        with open(os.path.join(src, "uploads", "docs", self.MARKER + ".txt"), "w") as f:
            f.write(self.MARKER + "\n")
        env = default_settings(os.path.join(base, "repo"), make_tree.root_paths(src), self.passphrase_file)
        env.update(overrides)
        snaps = [snapshot_tree(src)]
        ids = [self.create("full", settings=env)["backup_id"]]
        make_tree.mutate(src, seed=1)
        snaps.append(snapshot_tree(src))
        ids.append(self.create("incremental", settings=env)["backup_id"])
        for backup_id, snap in zip(ids, snaps):
            self.restore_and_compare(backup_id, snap, f"{label}-{backup_id}", env=env)
        log = read_backup_log(env["BACKUP_DIR"])
        for e in log:
            for key, value in metadata.items():
                self.assertEqual(e["metadata"].get(key), value, f"backup_log metadata.{key} of {e['backup_id']}")
        repo = env["BACKUP_DIR"]
        hits = file_contains(repo, self.MARKER.encode())
        if metadata["encrypted"]:
            self.assertEqual(hits, [], "plaintext (file name or content) found in an encrypted repository")
        elif not metadata["compressed"]:
            self.assertNotEqual(hits, [], "content stored neither compressed nor encrypted should be readable")
        return tree_bytes(os.path.join(repo, "data"))

    def test_settings_variants(self):
        data_bytes = {}
        for label, overrides, metadata in self.VARIANTS:
            with self.subTest(variant=label):
                data_bytes[label] = self.round_trip(label, overrides, metadata)
        # Same tree each time: compression must store less than no compression.
        for packed, plain in (("gzip", "no-compression"), ("no-encryption", "plain")):
            if packed in data_bytes and plain in data_bytes:
                self.assertLess(data_bytes[packed], 0.95 * data_bytes[plain],
                                f"{packed} stored {data_bytes[packed]} bytes, {plain} {data_bytes[plain]}")


if __name__ == "__main__":
    unittest.main()
