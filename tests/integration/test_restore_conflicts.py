"""A files restore over files that are already there: every place is checked before anything is
written; the default refuses (naming how many and the first few) and writes nothing; --existing
skip / if-different / overwrite settle them; a restore that fails midway over existing files leaves
each file either as it was or as in the backup, never half; a sparse file restores sparse."""

import fcntl
import hashlib
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402
    CofferTestCase, assert_trees_equal, check_fails_cleanly, flip_byte, pack_files, snapshot_tree)

EXIT_INPUT, EXIT_DAMAGED = 3, 5
FILES = [f"f{i:02d}.bin" for i in range(20)]


def content(name, version):
    """64 KiB per file (one chunk), distinct per name and version, not compressible."""
    return b"".join(hashlib.sha256(f"{name}/{version}/{i}".encode()).digest() for i in range(2048))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class RestoreConflictsTest(CofferTestCase):

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.src, "data")
        os.makedirs(os.path.join(self.root, "sub"))
        self.env["BACKUP_PATHS"] = self.root
        # f00-f09 in a full backup, f10-f19 added by an incremental: the second one's pack holds
        # only the content of f10-f19, so damage there hits a file in the second half.
        for half, backup_type in ((FILES[:10], "full"), (FILES[10:], "incremental")):
            for name in half:
                with open(os.path.join(self.root, name), "wb") as f:
                    f.write(content(name, "backup"))
            if backup_type == "full":
                os.symlink("f00.bin", os.path.join(self.root, "link"))
            self.packs_before = pack_files(self.backup_dir) if os.path.isdir(self.backup_dir) else []
            self.backup_id = self.create(backup_type)["backup_id"]
        self.backed_up = snapshot_tree(self.src)

    def path(self, name):
        return os.path.join(self.root, name)

    def damage_the_tree(self):
        """Three files deleted, two edited (one same size, one shorter), one only touched."""
        for name in ("f03.bin", "f11.bin", "f17.bin"):
            os.remove(self.path(name))
        with open(self.path("f05.bin"), "wb") as f:
            f.write(content("f05.bin", "edited"))
        with open(self.path("f06.bin"), "wb") as f:
            f.write(b"short\n")
        os.utime(self.path("f07.bin"), (1, 1))  # same content, other mtime

    def inodes(self):
        return {n: os.lstat(self.path(n)).st_ino for n in os.listdir(self.root)}

    def test_default_refuses_naming_the_conflicts_and_writes_nothing(self):
        self.damage_the_tree()
        before = snapshot_tree(self.src)
        r = check_fails_cleanly(self.restore(self.backup_id, expect=None), EXIT_INPUT)
        # 17 files and the symlink are in the way; the folders merge.
        self.assertIn("18 paths to restore exist already", r.err)
        self.assertIn("and 13 more", r.err)
        self.assertRegex(r.err, r"data/f\d\d\.bin")
        for way_out in ("--existing skip", "--existing if-different", "--existing overwrite", "--target"):
            self.assertIn(way_out, r.err)
        self.assertIn("nothing was written", r.err)
        # Nothing was restored, not even the deleted files (old main restored those before the
        # first existing file stopped it).
        assert_trees_equal(before, snapshot_tree(self.src), "tree after a refused restore")

    def test_skip_restores_only_what_is_missing(self):
        self.damage_the_tree()
        edited, before = sha(self.path("f05.bin")), self.inodes()
        r = self.restore(self.backup_id, None, "--existing", "skip")
        self.assertIn("restored 3 files", r.out)
        self.assertIn("18 existing files kept", r.out)
        for name in ("f03.bin", "f11.bin", "f17.bin"):
            self.assertEqual(read(self.path(name)), content(name, "backup"), name)
        self.assertEqual(sha(self.path("f05.bin")), edited)
        self.assertEqual(read(self.path("f06.bin")), b"short\n")
        after = self.inodes()
        self.assertEqual({n: i for n, i in after.items() if n in before}, before, "an existing file was rewritten")

    def test_if_different_replaces_what_differs_by_content(self):
        self.damage_the_tree()
        before = self.inodes()
        r = self.restore(self.backup_id, None, "--existing", "if-different")
        self.assertIn("restored 5 files", r.out)  # 3 missing, 2 edited
        assert_trees_equal(
            {k: v for k, v in self.backed_up.items() if k != "data/f07.bin"},
            {k: v for k, v in snapshot_tree(self.src).items() if k != "data/f07.bin"}, "after if-different")
        after = self.inodes()
        replaced = sorted(n for n in before if after[n] != before[n])
        self.assertEqual(replaced, ["f05.bin", "f06.bin"])
        # Compared by content, not mtime: the touched file is kept as it is, mtime included.
        self.assertEqual(os.stat(self.path("f07.bin")).st_mtime_ns, 1_000_000_000)

    def test_overwrite_replaces_all_and_the_old_flag_still_works(self):
        self.damage_the_tree()
        before = self.inodes()
        self.restore(self.backup_id, None, "--existing", "overwrite")
        assert_trees_equal(self.backed_up, snapshot_tree(self.src), "after --existing overwrite")
        after = self.inodes()
        self.assertEqual([n for n in before if after[n] == before[n] and n != "sub"], [])
        self.damage_the_tree()
        self.restore(self.backup_id, None, "--overwrite")
        assert_trees_equal(self.backed_up, snapshot_tree(self.src), "after --overwrite")
        r = check_fails_cleanly(self.restore(self.backup_id, None, "--overwrite", "--existing", "skip",
                                             expect=None), EXIT_INPUT)
        self.assertIn("--overwrite", r.err)

    def test_hard_link_whose_first_link_is_kept_restores_as_a_file(self):
        os.link(self.path("f01.bin"), self.path("hl.bin"))
        backup_id = self.create("full")["backup_id"]
        os.remove(self.path("hl.bin"))
        with open(self.path("f01.bin"), "wb") as f:
            f.write(b"edited\n")
        self.restore(backup_id, None, "--existing", "skip")
        # The kept first link is not the backup's content: the link gets its own copy of it.
        self.assertEqual(read(self.path("hl.bin")), content("f01.bin", "backup"))
        self.assertEqual(read(self.path("f01.bin")), b"edited\n")
        # if-different compares a link with its first link's content in the backup.
        os.remove(self.path("hl.bin"))
        os.link(self.path("f01.bin"), self.path("hl.bin"))
        r = self.restore(backup_id, None, "--existing", "if-different")
        self.assertIn("restored 1 files", r.out)  # f01.bin; hl.bin is linked to it again
        self.assertEqual(os.stat(self.path("hl.bin")).st_ino, os.stat(self.path("f01.bin")).st_ino)
        self.assertEqual(read(self.path("hl.bin")), content("f01.bin", "backup"))

    def test_a_directory_where_a_file_goes_is_refused_before_any_write(self):
        self.damage_the_tree()
        os.remove(self.path("f09.bin"))
        os.mkdir(self.path("f09.bin"))
        with open(os.path.join(self.path("f09.bin"), "keep.txt"), "w") as f:
            f.write("mine\n")
        before = snapshot_tree(self.src)
        r = check_fails_cleanly(self.restore(self.backup_id, None, "--existing", "overwrite", expect=None),
                                EXIT_INPUT)
        self.assertIn("f09.bin", r.err)
        self.assertIn("nothing was written", r.err)
        assert_trees_equal(before, snapshot_tree(self.src), "tree after a refused overwrite")
        # skip keeps the directory and restores the rest.
        self.restore(self.backup_id, None, "--existing", "skip")
        self.assertTrue(os.path.isfile(os.path.join(self.path("f09.bin"), "keep.txt")))
        self.assertTrue(os.path.isfile(self.path("f03.bin")))

    def test_failed_restore_over_existing_files_leaves_each_old_or_new(self):
        for name in FILES:
            with open(self.path(name), "wb") as f:
                f.write(content(name, "old"))
        old = {n: hashlib.sha256(content(n, "old")).hexdigest() for n in FILES}
        new = {n: hashlib.sha256(content(n, "backup")).hexdigest() for n in FILES}
        # The largest of the incremental's packs holds content of f10-f19 only.
        pack = max(set(pack_files(self.backup_dir)) - set(self.packs_before), key=os.path.getsize)
        self.assertGreater(os.path.getsize(pack), 5 * 65536)
        flip_byte(pack)  # one chunk of f10-f19: f00-f09 are written before the failure
        for policy in ("overwrite", "if-different"):
            with self.subTest(policy=policy):
                r = check_fails_cleanly(self.restore(self.backup_id, None, "--existing", policy, expect=None),
                                        EXIT_DAMAGED)
                self.assertIn("unchanged", r.err)
                state = {}
                for name in FILES:
                    h = sha(self.path(name))
                    self.assertIn(h, (old[name], new[name]), f"{name} is neither the old nor the new file")
                    state[name] = "new" if h == new[name] else "old"
                self.assertEqual([n for n in FILES[:10] if state[n] != "new"], [], state)
                self.assertIn("old", [state[n] for n in FILES[10:]], state)
                leftovers = [n for n in os.listdir(self.root) if n.startswith(".coffer-tmp-")]
                self.assertEqual(leftovers, [])

    def test_next_restore_removes_the_temps_a_killed_one_left(self):
        target = self.new_dir("killed")
        r = self.restore(self.backup_id, target, expect=None, env={"COFFER_FAILPOINT": "restore-during-file"})
        self.assertEqual(r.code, -signal.SIGKILL, r)
        folder = os.path.join(target, "data")
        left = [n for n in os.listdir(folder) if n.startswith(".coffer-tmp-")]
        self.assertEqual(len(left), 1, os.listdir(folder))
        # Not ours to remove: a user's file with a similar name, and a temp a running restore
        # holds (locked, as coffer's own are while it writes them).
        with open(os.path.join(folder, ".coffer-tmp-mine.txt"), "w") as f:
            f.write("a user's file\n")
        held_name = ".coffer-tmp-" + "0123456789abcdef" * 2
        held = open(os.path.join(folder, held_name), "w")
        self.addCleanup(held.close)
        fcntl.flock(held, fcntl.LOCK_EX)
        time.sleep(2.2)  # older than the moment between making a temp and locking it
        r = self.restore(self.backup_id, target)
        self.assertIn("removed 1 unfinished temporary file", r.err)
        self.assertIn(left[0], r.err)
        self.assertEqual(sorted(n for n in os.listdir(folder) if n.startswith(".coffer-tmp-")),
                         sorted([".coffer-tmp-mine.txt", held_name]))
        restored = snapshot_tree(target)
        for name in (".coffer-tmp-mine.txt", held_name):
            del restored["data/" + name]
        # "data" was made by the killed restore, which never got to set its mode: an existing
        # folder keeps its metadata unless --existing overwrite.
        assert_trees_equal({k: v for k, v in self.backed_up.items() if k != "data"},
                           {k: v for k, v in restored.items() if k != "data"}, "restore after the killed one")

    def test_sparse_file_restores_sparse(self):
        size = 512 << 20
        sparse = self.path("sparse.img")
        with open(sparse, "wb") as f:
            for offset in (0, 100 << 20, size - 4096):
                f.seek(offset)
                f.write(b"x" * 4096)
            f.truncate(size)
        st = os.stat(sparse)
        self.assertLess(st.st_blocks * 512, 1 << 20, "the test folder's file system does not keep holes")
        backup_id = self.create("full")["backup_id"]
        target = self.new_dir("sparse")
        self.restore(backup_id, target, "--include", "data/sparse.img")
        restored = os.path.join(target, "data", "sparse.img")
        self.assertEqual(os.path.getsize(restored), size)
        self.assertEqual(sha(restored), sha(sparse))
        allocated = os.stat(restored).st_blocks * 512
        self.assertLess(allocated, 1 << 20, f"512 MiB with 12 KiB written restored as {allocated} bytes allocated")


if __name__ == "__main__":
    unittest.main()
