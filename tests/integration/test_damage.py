"""Damaged repositories: verify finds the damage and names it; restore never writes a file
with wrong content, and with --partial restores what is intact. Each test damages its own
copy of a repository holding one full backup."""

import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    CofferTestCase, check, check_fails_cleanly, coffer_binary, default_settings, flip_byte,
    make_tree, new_temp_dir, pack_files, remove_tree, repo_files, run_coffer, show,
    snapshot_tree, write_passphrase)

EXIT_PROBLEMS, EXIT_DAMAGED, EXIT_AUTH = 1, 5, 8


class DamageTest(CofferTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        coffer_binary()  # fail (not skip) right away when the binary is missing
        cls.pristine_dir = new_temp_dir("damage")
        cls.addClassCleanup(remove_tree, cls.pristine_dir)
        src = os.path.join(cls.pristine_dir, "src")
        make_tree.create(src, scale=0.05, seed=21)
        cls.pristine_env = default_settings(
            os.path.join(cls.pristine_dir, "repo"), make_tree.root_paths(src),
            write_passphrase(os.path.join(cls.pristine_dir, "passphrase")))
        r = check(run_coffer(["--json", "create", "--type", "full"], cls.pristine_env, cls.pristine_dir), 0)
        cls.backup_id = r.json()["backup_id"]
        cls.original = snapshot_tree(src)

    def setUp(self):
        super().setUp()
        self.backup_dir = os.path.join(self.tmp, "repo")
        shutil.copytree(self.pristine_env["BACKUP_DIR"], self.backup_dir, symlinks=True)
        self.env = dict(self.pristine_env, BACKUP_DIR=self.backup_dir)

    # -- helpers

    def verify_json(self, *args, codes=(EXIT_PROBLEMS, EXIT_DAMAGED)):
        """verify --json, expecting one of `codes`; returns (result, report or None)."""
        r = check(self.coffer("--json", "verify", *args), *codes)
        report = r.try_json()
        if report is not None:
            self.assertIsInstance(report, dict)
            self.assertEqual([k for k in ("ok", "backups_checked", "chunks_checked", "problems") if k not in report],
                             [], f"verify --json lacks fields: {report}")
        return r, report

    def assert_reports_problems(self, r, report):
        if report is None:
            self.assertEqual(r.code, EXIT_DAMAGED, f"verify found damage but printed no JSON report:\n{r}")
            return
        self.assertIs(report["ok"], False, r)
        self.assertTrue(report["problems"], f"verify failed without listing problems:\n{r}")

    def damage_largest_pack(self):
        packs = pack_files(self.backup_dir)
        self.assertTrue(packs, "no pack files under BACKUP_DIR/data")
        pack = max(packs, key=os.path.getsize)
        flip_byte(pack)
        return pack

    def assert_restored_files_intact(self, target):
        """Everything found under `target` is in the original tree, and every file equals it.
        Returns the restored snapshot."""
        restored = snapshot_tree(target) if os.path.exists(target) else {}
        for path, e in restored.items():
            self.assertIn(path, self.original, f"restore left {show(path)}, which is not in the backup")
            if e.type != "dir":
                want = self.original[path]
                self.assertEqual(e._replace(links=want.links), want,
                                 f"restore left {show(path)} with content or metadata unlike the original")
        return restored

    # -- the baseline: an undamaged copy verifies clean

    def test_undamaged_repository_verifies(self):
        r, report = self.verify_json("--read-data", codes=(0,))
        self.assertIsNotNone(report, r)
        self.assertIs(report["ok"], True)
        self.assertEqual(report["problems"], [])
        self.assertEqual(report["backups_checked"], 1)
        self.assertGreater(report["chunks_checked"], 0)

    # -- (a) one byte of a pack file

    def test_pack_byte_flip_found_by_read_data(self):
        self.damage_largest_pack()
        r, report = self.verify_json("--read-data")
        self.assertIsNotNone(report, f"verify --json printed no report:\n{r}")
        self.assert_reports_problems(r, report)
        self.assertTrue(any(p.get("path") or p.get("object") for p in report["problems"]),
                        f"no problem names a file or an object: {report['problems']}")

    def test_pack_damage_restore_fails_without_partial(self):
        self.damage_largest_pack()
        target = os.path.join(self.tmp, "restore")
        check_fails_cleanly(self.restore(self.backup_id, target, expect=None), EXIT_DAMAGED)
        # Files are written under a temp name and renamed when complete and checked: whatever
        # is there must be right (directory modes may be unset when restore stops early).
        self.assert_restored_files_intact(target)

    def test_pack_damage_restore_partial(self):
        self.damage_largest_pack()
        target = os.path.join(self.tmp, "restore")
        r = check(self.coffer("--json", "restore", self.backup_id, "--type", "files", "--target", target,
                              "--partial"), EXIT_PROBLEMS)
        report = r.json()
        self.assertTrue(report.get("errors"), f"restore --partial skipped files without listing errors:\n{r}")
        restored = self.assert_restored_files_intact(target)
        said = r.output + json.dumps(report, ensure_ascii=False)
        skipped = [p for p in self.original if p not in restored]
        self.assertTrue(skipped, "a damaged pack affected no file at all")
        for path in skipped:
            self.assertEqual(self.original[path].type, "file", f"{show(path)} (not a file) was not restored")
            self.assertTrue(path in said or os.path.basename(path) in said,
                            f"skipped {show(path)} without naming it:\n{r}")
        intact = [p for p, e in restored.items() if e.type == "file"]
        self.assertTrue(intact, "one flipped byte lost every file: the undamaged ones must be restored")
        self.assertEqual(report.get("files_restored"), len(intact), "files_restored does not match the files written")

    # -- (b) one byte of the manifest

    def test_manifest_byte_flip(self):
        manifest = os.path.join(self.backup_dir, "snapshots", self.backup_id)
        self.assertTrue(os.path.exists(manifest), f"no manifest at {manifest}")
        if os.path.isdir(manifest):
            manifest = max(repo_files(manifest, "."), key=os.path.getsize)
        flip_byte(manifest)
        r, report = self.verify_json()
        self.assert_reports_problems(r, report)
        self.assertIn(self.backup_id, r.output, "verify does not name the damaged backup")
        target = os.path.join(self.tmp, "restore")
        check_fails_cleanly(self.restore(self.backup_id, target, expect=None), EXIT_DAMAGED)
        self.assertEqual({p for p, e in self.assert_restored_files_intact(target).items() if e.type != "dir"}, set(),
                         "restore of a backup with a damaged manifest wrote files")

    # -- (c) one byte of an index file

    def test_index_byte_flip(self):
        indexes = repo_files(self.backup_dir, "index")
        self.assertTrue(indexes, "no index files under BACKUP_DIR/index")
        index = max(indexes, key=os.path.getsize)
        flip_byte(index)
        r, report = self.verify_json()
        self.assert_reports_problems(r, report)
        self.assertTrue("index" in r.output.lower() or os.path.basename(index) in r.output,
                        f"verify does not say the index is damaged:\n{r}")

    # -- (d) a pack file gone

    def test_pack_deleted(self):
        pack = max(pack_files(self.backup_dir), key=os.path.getsize)
        os.remove(pack)
        r, report = self.verify_json()  # no --read-data: existence is checked without reading
        self.assert_reports_problems(r, report)
        self.assertTrue(os.path.basename(pack) in r.output or self.backup_id in r.output,
                        f"verify names neither the missing pack nor the backup:\n{r}")
        target = os.path.join(self.tmp, "restore")
        check_fails_cleanly(self.restore(self.backup_id, target, expect=None))
        self.assert_restored_files_intact(target)

    # -- (e) index files lost: cleanup must not delete the packs; repair rebuilds the index

    def test_index_lost_cleanup_refuses_and_repair_rebuilds_it(self):
        indexes = repo_files(self.backup_dir, "index")
        self.assertTrue(indexes)
        for f in indexes:
            os.remove(f)
        packs_before = sorted(pack_files(self.backup_dir))
        # Without an index the packs look like leftovers of an interrupted backup; deleting them
        # would destroy the only copy of the data. Cleanup refuses and changes nothing.
        r = self.coffer("cleanup")
        check_fails_cleanly(r, EXIT_DAMAGED)
        self.assertIn("repair index", r.err)
        self.assertEqual(sorted(pack_files(self.backup_dir)), packs_before)

        _, dry = self.coffer_json("repair", "index", "--dry-run")
        self.assertTrue(dry["dry_run"])
        self.assertEqual(dry["packs_indexed"], len(packs_before))
        self.assertEqual(dry["chunks_before"], 0)
        self.assertGreater(dry["chunks_recovered"], 0)
        self.assertEqual(repo_files(self.backup_dir, "index"), [])  # a dry run writes nothing

        _, fixed = self.coffer_json("repair", "index")
        self.assertEqual(fixed["packs_scanned"], len(packs_before))
        self.assertEqual(fixed["damaged_packs"], [])
        self.assertEqual(fixed["incomplete_backups"], [])
        self.assertEqual(fixed["chunks_recovered"], dry["chunks_recovered"])
        self.assertEqual([os.path.relpath(f, self.backup_dir) for f in repo_files(self.backup_dir, "index")],
                         [fixed["new_index_file"]])
        _, report = self.coffer_json("verify", "--read-data")
        self.assertIs(report["ok"], True, report)
        self.restore_and_compare(self.backup_id, self.original)
        self.create("incremental")  # the repository is usable again
        self.coffer("cleanup", expect=0)

    def test_repair_names_a_pack_whose_header_is_damaged(self):
        for f in repo_files(self.backup_dir, "index"):
            os.remove(f)
        pack = max(pack_files(self.backup_dir), key=os.path.getsize)
        size = os.path.getsize(pack)
        flip_byte(pack, size - 20)  # inside the sealed header, before the 8-byte trailer
        r = self.coffer("--json", "repair", "index", expect=1)  # done, but something stays broken
        out = r.json()
        self.assertEqual(len(out["damaged_packs"]), 1, out)
        self.assertIn(os.path.basename(pack), out["damaged_packs"][0])
        self.assertEqual(out["incomplete_backups"], [self.backup_id])
        self.assertTrue(os.path.exists(pack), "repair must never delete a pack")
        # What can be restored still restores correctly, the rest is reported, never wrong.
        target = os.path.join(self.tmp, "restore")
        self.restore(self.backup_id, target, "--partial", expect=(0, 1, 5))
        self.assert_restored_files_intact(target)

    # -- every kind of object, every kind of damage

    def test_each_object_kind_flipped_truncated_or_deleted_is_found_and_named(self):
        """verify --read-data finds the damage and names the object (or the backup it takes away);
        restore either fails cleanly or writes only correct bytes."""
        def one(kind):
            if kind == "pack":
                return max(pack_files(self.backup_dir), key=os.path.getsize)
            if kind == "config":
                return os.path.join(self.backup_dir, "config")
            folder = {"index": "index", "manifest": "snapshots", "key": "keys"}[kind]
            files = repo_files(self.backup_dir, folder)
            self.assertTrue(files, f"no {kind} object")
            return max(files, key=os.path.getsize)

        def damage(path, how):
            if how == "flip":
                flip_byte(path)
            elif how == "truncate":
                os.truncate(path, os.path.getsize(path) // 2)
            else:
                os.remove(path)

        pristine = self.backup_dir + "-pristine"
        shutil.copytree(self.backup_dir, pristine, symlinks=True)
        for kind in ("pack", "index", "manifest", "key", "config"):
            for how in ("flip", "truncate", "delete"):
                with self.subTest(object=kind, damage=how):
                    shutil.rmtree(self.backup_dir)
                    shutil.copytree(pristine, self.backup_dir, symlinks=True)
                    path = one(kind)
                    name = os.path.basename(path)
                    damage(path, how)
                    r = self.coffer("--json", "verify", "--read-data")
                    check(r, EXIT_PROBLEMS, EXIT_DAMAGED, EXIT_AUTH)  # a report (1) or an error (5, 8)
                    said = r.output
                    if kind in ("key", "config"):
                        self.assertIn(kind, said.lower(), f"verify does not name the {kind}:\n{r}")
                    else:
                        self.assertTrue(name in said or self.backup_id in said or kind in said.lower(),
                                        f"verify names neither {name}, the backup nor the {kind}:\n{r}")
                    target = os.path.join(self.tmp, f"restore-{kind}-{how}")
                    rr = self.restore(self.backup_id, target, "--partial", expect=None)
                    if rr.code != 0:
                        check_fails_cleanly(rr)
                    self.assert_restored_files_intact(target)
                    # Nothing can come back through a new repository made over the old one.
                    if kind == "config" and how == "delete":
                        c = self.coffer("create", "--type", "full")
                        check_fails_cleanly(c, EXIT_DAMAGED)
                        self.assertIn("config", c.err)
                        self.assertFalse(os.path.exists(os.path.join(self.backup_dir, "config")))


if __name__ == "__main__":
    unittest.main()
