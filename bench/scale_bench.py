#!/usr/bin/env python3
"""Scale benchmark: how coffer's backup time and memory grow with the number of files.

    bench/scale_bench.py [--sizes 10000,50000,200000] [--quick] [--keep] [--seed S]
                         [--no-restic] [--no-control] [--step-timeout SECONDS] [--out PREFIX]
    bench/scale_bench.py --render PREFIX.json     # rewrite the markdown of an earlier run

For each N: a deterministic tree of N small files (uploads/<year>/<class>/<student>/file_k.ext,
50-200 files per folder, 200 B - 8 KiB lognormal sizes, half text and half incompressible),
a fresh repository, `coffer create --type full`, a no-change `coffer create --type incremental`,
`coffer verify` (it loads the index) and `coffer --json verify --read-data` (its chunks_checked
is the repository's chunk count). Every step runs under /usr/bin/time (wall, user+sys CPU, peak
RSS) after `sync; echo 3 > /proc/sys/vm/drop_caches` when running as root.
For the largest N also: a restore into an empty folder (timed, then checked: file count, 1,000
sampled files byte for byte, `diff -r` when it finishes within --diff-timeout), restic's full and
no-change backups of the same tree, and a control tree (same N, same paths and sizes' layout, all
files with identical content: one data chunk) whose verify RSS separates the file list's memory
from the chunk index's.
Writes PREFIX.md and PREFIX.json (default bench/results/scale-<date>, or scale-<date>-quick with
--quick) after every step, so an interrupted run leaves what it measured.

Peak RSS is reported twice: /usr/bin/time's, and the "working RSS" after the Argon2id key
derivation (32 MiB; 64 MiB in repositories made before 2026-11-27) that every coffer command starts with (see RssSampler); slopes use the latter.

Environment: COFFER (binary; default build/coffer of this repository), COFFER_COMMIT (names the
binary's commit when it was built from a tree that is no git checkout), BENCH_DIR (parent of the
scratch folder, default /tmp). Standard library only.
"""
import argparse
import datetime
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
T0 = time.monotonic()
TIME = "/usr/bin/time"


def log(msg):
    el = int(time.monotonic() - T0)
    print(f"[scale {time.strftime('%H:%M:%S')} +{el // 60}m{el % 60:02d}s] {msg}", file=sys.stderr, flush=True)


def die(msg):
    print(f"scale_bench: {msg}", file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------- the tree generator

TEXT_EXTS = ["txt", "csv", "json", "html", "md"]
BINARY_EXTS = ["jpg", "png", "pdf", "docx"]
YEARS = list(range(2015, 2031))
CLASSES = [f"{g}{s}" for g in range(5, 13) for s in "abc"]   # 24 classes a year
STUDENTS_PER_CLASS = 28


def _text_pool(rng, size):
    """Word soup with numbers and punctuation: compresses about 2-3x with zstd, like notes and CSVs."""
    syll = ["ka", "ro", "mi", "te", "sun", "vel", "dor", "an", "is", "gra", "de", "po", "lu", "mar", "ten", "qu",
            "ex", "ba", "li", "no", "stu", "dent", "ho", "me", "work", "es", "say", "math", "phy", "sic"]
    vocab = ["".join(rng.choice(syll) for _ in range(rng.randint(1, 4))) for _ in range(3000)]
    out, n = [], 0
    while n < size:
        words = rng.choices(vocab, k=12)
        words.insert(rng.randrange(12), str(rng.randrange(100000)))
        line = " ".join(words) + rng.choice([".", ",", ";", ""]) + "\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()[:size]


def generate_tree(root, n, seed, identical=False):
    """Writes n files under root/uploads; returns (files, bytes, folders). Same seed, same tree
    (names, sizes and contents). identical=True gives every file the same 2,000 bytes (the control:
    the same file list with one data chunk)."""
    rng = random.Random(seed)
    text = _text_pool(rng, 1 << 20)
    binary = rng.randbytes(4 << 20)
    same = binary[:1000] + text[:1000]
    files = nbytes = folders = 0
    folder = 0
    while files < n:
        year = YEARS[folder // (len(CLASSES) * STUDENTS_PER_CLASS) % len(YEARS)]
        cls = CLASSES[folder // STUDENTS_PER_CLASS % len(CLASSES)]
        student = f"student-{folder % STUDENTS_PER_CLASS + 1:02d}-{folder:05d}"
        rel = f"uploads/{year}/{cls}/{student}"
        d = os.path.join(root, rel)
        os.makedirs(d)
        folders += 1
        count = min(rng.randint(50, 200), n - files)
        for k in range(count):
            size = min(8192, max(200, int(rng.lognormvariate(7.4, 0.75))))   # median ~1.6 KiB, mean ~2 KiB
            is_text = rng.random() < 0.5
            ext = rng.choice(TEXT_EXTS if is_text else BINARY_EXTS)
            name = f"file_{k:03d}.{ext}"
            if identical:
                data = same
            else:
                head = f"{rel}/{name} #{files}\n".encode()   # makes every file unique
                pool = text if is_text else binary
                off = rng.randrange(len(pool) - 8192)
                data = head + pool[off:off + max(0, size - len(head))]
            fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            os.close(fd)
            files += 1
            nbytes += len(data)
        folder += 1
    return files, nbytes, folders


def list_files(root):
    out = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            out.append(os.path.relpath(os.path.join(dirpath, name), root))
    return out


def tree_bytes(root):
    total = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


# ---------------------------------------------------------------- measuring

class RssSampler(threading.Thread):
    """Polls the measured process's VmRSS every 10 ms. coffer derives its key with Argon2id (32 MiB)
    at the start and frees that memory at once; /usr/bin/time's peak therefore never shows less than
    ~44 MiB, which hides everything else below that line. The sampler sees the drop that ends key
    derivation (RSS falls by over 24 MiB from a peak above 36 MiB), waits until RSS stops falling
    (the unmapping takes a few ms) and reports the largest RSS after that: the working memory of the
    run itself. A step that ends within a sample or two of the drop keeps None."""

    def __init__(self, time_pid):
        super().__init__(daemon=True)
        self.time_pid, self.stop = time_pid, threading.Event()
        self.peak = 0            # largest sampled RSS, kB
        self.after_kdf = None    # largest sampled RSS after the key-derivation drop, kB

    def _child(self):
        try:
            with open(f"/proc/{self.time_pid}/task/{self.time_pid}/children") as f:
                kids = f.read().split()
            return int(kids[0]) if kids else None
        except (OSError, ValueError):
            return None

    def run(self):
        pid, falling, prev = None, False, 0
        while not self.stop.is_set():
            pid = pid or self._child()
            if pid:
                try:
                    with open(f"/proc/{pid}/status") as f:
                        rss = next((int(l.split()[1]) for l in f if l.startswith("VmRSS:")), None)
                except (OSError, ValueError):
                    rss = None
                if rss:
                    self.peak = max(self.peak, rss)
                    if falling and rss >= prev:   # the unmapping is over: count from here
                        falling, self.after_kdf = False, rss
                    elif self.after_kdf is not None:
                        self.after_kdf = max(self.after_kdf, rss)
                    elif not falling and self.peak > 36 * 1024 and rss < self.peak - 24 * 1024:
                        falling = True            # samples may catch the key's memory half unmapped
                    prev = rss
            self.stop.wait(0.01)
        if falling and self.after_kdf is None:
            self.after_kdf = prev   # ended while (or just after) the key memory was unmapped


class Bench:
    def __init__(self, args, work, coffer):
        self.args, self.work, self.coffer = args, work, coffer
        self.drop = os.geteuid() == 0 and os.access("/proc/sys/vm/drop_caches", os.W_OK)
        self.rows = []        # one per measured step
        self.checks = {}      # restore checks
        self.info = {}        # per-N facts: files, bytes, chunks, repository size
        self.notes = []
        self.passfile = os.path.join(work, "passphrase")
        fd = os.open(self.passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(24).hex().encode())
        os.close(fd)

    def drop_caches(self):
        subprocess.run(["sync"], check=False)
        if self.drop:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")

    def run(self, argv, env=None, timeout=None, sampler=None):
        """Runs argv in its own process group (killed whole on timeout); returns (rc, stdout, stderr, timed_out).
        With sampler=[]: an RssSampler watches argv's child (argv[0] is /usr/bin/time) and is appended."""
        p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        if sampler is not None:
            sampler.append(RssSampler(p.pid))
            sampler[0].start()
        try:
            out, err = p.communicate(timeout=timeout)
            return p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), False
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            return -9, out.decode(errors="replace"), err.decode(errors="replace"), True
        finally:
            if sampler:
                sampler[0].stop.set()
                sampler[0].join()

    def measure(self, n, tool, step, argv, env, **extra):
        """Cold cache, then argv under /usr/bin/time. Records and returns the row (None on failure)."""
        self.drop_caches()
        load = os.getloadavg()[0]
        tf = os.path.join(self.work, "time.out")
        sampled = [] if tool in ("coffer", "control") else None   # restic (Go) frees memory lazily: no sampling
        rc, out, err, timed_out = self.run([TIME, "-f", "%e %U %S %M", "-o", tf] + argv, env,
                                           self.args.step_timeout, sampled)
        if timed_out:
            log(f"  N={n} {tool} {step}: TIMED OUT after {self.args.step_timeout} s (killed)")
            self.rows.append({"n": n, "tool": tool, "step": step, "timed_out": True, "timeout_s": self.args.step_timeout})
            return None
        if rc != 0:
            log(f"  N={n} {tool} {step}: FAILED (exit {rc}):\n{err[-2000:]}{out[-1000:]}")
            self.rows.append({"n": n, "tool": tool, "step": step, "failed": rc, "error": (err or out)[-500:]})
            return None
        with open(tf) as f:
            wall, user, sys_, rss = f.read().split()[-4:]
        row = {"n": n, "tool": tool, "step": step, "wall_s": float(wall), "user_s": float(user), "sys_s": float(sys_),
               "cpu_s": round(float(user) + float(sys_), 2), "rss_kb": int(rss),
               "rss_after_kdf_kb": sampled[0].after_kdf if sampled else None,
               "rss_sampled_peak_kb": sampled[0].peak if sampled else None,
               "load_before": round(load, 2)}
        row.update(extra)
        row["stdout"] = out
        self.rows.append(row)
        ak = row["rss_after_kdf_kb"]
        log(f"  N={n} {tool} {step}: {row['wall_s']:.2f} s wall, {row['cpu_s']:.2f} s CPU, "
            f"{row['rss_kb'] / 1024:.1f} MiB peak" + (f", {ak / 1024:.1f} MiB after key derivation" if ak else "")
            + f" (load {load:.1f})")
        return row

    def row(self, n, tool, step):
        for r in self.rows:
            if r["n"] == n and r["tool"] == tool and r["step"] == step and "wall_s" in r:
                return r
        return None

    # ------------------------------------------------------------ coffer steps

    def coffer_env(self, repo, tree):
        env = dict(os.environ)
        for k in ("BACKUP_PASSPHRASE", "DB_NAME", "S3_BUCKET", "S3_MODE", "COFFER_NOW", "COFFER_FAILPOINT"):
            env.pop(k, None)
        env.update(BACKUP_DIR=repo, BACKUP_PATHS=os.path.join(tree, "uploads"), BACKUP_PASSPHRASE_FILE=self.passfile)
        return env

    def coffer_series(self, n, tree, repo, tool="coffer"):
        """init, full, no-change incremental, verify, verify --read-data (chunk count)."""
        env = self.coffer_env(repo, tree)
        rc, out, err, _ = self.run([self.coffer, "-q", "init"], env)
        if rc != 0:
            die(f"coffer init failed: {err or out}")
        full = self.measure(n, tool, "full backup", [self.coffer, "--json", "create", "--only", "files", "--type", "full"], env)
        if full is None:
            return False
        self.measure(n, tool, "no-change incremental",
                     [self.coffer, "--json", "create", "--only", "files", "--type", "incremental"], env)
        self.measure(n, tool, "verify", [self.coffer, "-q", "verify"], env)
        rd = self.measure(n, tool, "verify --read-data", [self.coffer, "--json", "verify", "--read-data"], env)
        facts = self.info.setdefault(f"{tool}:{n}", {})
        try:
            b = json.loads(full["stdout"])
            facts.update(file_count=b.get("file_count"), size_bytes=b.get("size_bytes"), bytes_added=b.get("bytes_added"))
        except ValueError:
            pass
        if rd is not None:
            try:
                facts["chunks"] = json.loads(rd["stdout"])["chunks_checked"]
            except (ValueError, KeyError):
                pass
        facts["repo_bytes"] = tree_bytes(repo)
        try:
            with open(os.path.join(repo, "config")) as f:
                facts["repo_config_chunker_files"] = json.load(f).get("chunker_files")
        except (OSError, ValueError):
            pass
        log(f"  N={n} {tool}: {facts.get('chunks')} chunks, repository {facts['repo_bytes'] / 2**20:.1f} MiB")
        return True

    def restore_and_check(self, n, tree, repo):
        env = self.coffer_env(repo, tree)
        target = os.path.join(self.work, "restore")
        os.makedirs(target)
        r = self.measure(n, "coffer", "restore", [self.coffer, "-q", "restore", "latest", "--type", "files",
                                                  "--target", target], env)
        if r is None:
            return
        src, dst = os.path.join(tree, "uploads"), os.path.join(target, "uploads")
        c = self.checks
        t = time.monotonic()
        src_files, dst_files = list_files(src), list_files(dst)
        c["files_source"], c["files_restored"] = len(src_files), len(dst_files)
        c["same_file_count"] = len(src_files) == len(dst_files)
        sample = random.Random(self.args.seed).sample(sorted(src_files), min(1000, len(src_files)))
        bad = []
        for rel in sample:
            try:
                with open(os.path.join(src, rel), "rb") as a, open(os.path.join(dst, rel), "rb") as b:
                    if a.read() != b.read():
                        bad.append(rel)
            except OSError:
                bad.append(rel)
        c["sample_compared"], c["sample_mismatches"] = len(sample), len(bad)
        c["sample_mismatch_examples"] = bad[:5]
        c["count_and_sample_seconds"] = round(time.monotonic() - t, 1)
        log(f"  N={n} restore check: {len(dst_files)}/{len(src_files)} files, {len(sample)} sampled, "
            f"{len(bad)} differ")
        self.drop_caches()
        t = time.monotonic()
        rc, out, _, timed_out = self.run(["diff", "-r", src, dst], timeout=self.args.diff_timeout)
        c["diff_r_seconds"] = round(time.monotonic() - t, 1)
        c["diff_r"] = ("skipped: longer than %d s" % self.args.diff_timeout if timed_out
                       else "identical" if rc == 0 else "DIFFERENT: " + out[:300])
        log(f"  N={n} diff -r: {c['diff_r']} ({c['diff_r_seconds']} s)")
        if not self.args.keep:
            shutil.rmtree(target)

    def restic_series(self, n, tree):
        repo = os.path.join(self.work, "restic")
        env = dict(os.environ)
        for k in ("RESTIC_PASSWORD", "RESTIC_REPOSITORY"):
            env.pop(k, None)
        env.update(RESTIC_PASSWORD_FILE=self.passfile, RESTIC_CACHE_DIR=os.path.join(self.work, "restic-cache"))
        rc, out, err, _ = self.run(["restic", "-q", "-r", repo, "init"], env)
        if rc != 0:
            self.notes.append(f"restic init failed: {(err or out)[:200]}")
            return
        src = os.path.join(tree, "uploads")
        self.measure(n, "restic", "full backup", ["restic", "-q", "-r", repo, "backup", src], env)
        self.measure(n, "restic", "no-change incremental", ["restic", "-q", "-r", repo, "backup", src], env)
        self.info[f"restic:{n}"] = {"repo_bytes": tree_bytes(repo)}
        if not self.args.keep:
            shutil.rmtree(repo)
            shutil.rmtree(os.path.join(self.work, "restic-cache"), ignore_errors=True)


# ---------------------------------------------------------------- machine, build, chunker

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine(work):
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
    return {"cores": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem / 2**30, 1), "kernel": platform.release(),
            "scratch_dir": work, "filesystem": sh(f"findmnt -n -o FSTYPE -T '{work}'") or "unknown",
            "python": platform.python_version()}


def coffer_version(binary):
    d = os.path.dirname(binary)
    src = btype = ""
    try:
        with open(os.path.join(d, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_HOME_DIRECTORY"):
                    src = line.split("=", 1)[1].strip()
                elif line.startswith("CMAKE_BUILD_TYPE"):
                    btype = line.split("=", 1)[1].strip()
    except OSError:
        pass
    here = sh(f"git -C '{REPO}' rev-parse --short=10 HEAD") or "?"
    dirty = sh(f"git -C '{REPO}' status --porcelain --untracked-files=no")
    binsrc = (sh(f"git -C '{src}' rev-parse --short=10 HEAD") if src else "") or os.environ.get("COFFER_COMMIT", "")
    return {"binary": binary, "built": datetime.datetime.fromtimestamp(os.path.getmtime(binary)).strftime("%Y-%m-%d %H:%M"),
            "build_type": btype or "unknown", "source_dir": src or "unknown",
            "source_commit": binsrc or None, "repo_commit": here + (" (with uncommitted changes)" if dirty else ""),
            "version": sh(f"'{binary}' --version")}


def _product(expr):
    """Value of '16 * 1024'-style expressions (digits and * only)."""
    if not re.fullmatch(r"[\d\s*]+", expr):
        raise ValueError(expr)
    return math.prod(int(x) for x in expr.split("*"))


def file_chunker_params():
    """The file chunker's (min, avg, max) from src/repo/repository.h, falling back on the ChunkerParams
    defaults of src/chunk/chunker.h when RepositoryParams::file_chunker has no initializer."""
    with open(os.path.join(REPO, "src/repo/repository.h")) as f:
        repo_h = f.read()
    m = re.search(r"ChunkerParams\s+file_chunker\s*(\{([^}]*)\})?\s*;", repo_h)
    if m and m.group(2):
        lo, avg, hi = (_product(x) for x in m.group(2).split(","))
        return {"min": lo, "avg": avg, "max": hi, "source": "src/repo/repository.h RepositoryParams::file_chunker"}
    with open(os.path.join(REPO, "src/chunk/chunker.h")) as f:
        ch = f.read()
    vals = {k: _product(re.search(rf"uint32_t\s+{k}_size\s*=\s*([^;]+);", ch).group(1)) for k in ("min", "avg", "max")}
    vals["source"] = ("src/repo/repository.h: RepositoryParams::file_chunker has no initializer, so the defaults "
                      "of ChunkerParams in src/chunk/chunker.h apply")
    return vals


# ---------------------------------------------------------------- derived figures and the report

def slope(x1, y1, x2, y2):
    return (y2 - y1) / (x2 - x1) if x2 != x1 else None


def mem(r):
    """Working memory of a step, kB: the peak after key derivation when the sampler saw it, else the peak."""
    return r.get("rss_after_kdf_kb") or r["rss_kb"]


def derive(b, sizes, chunker):
    d = {"per_file": [], "memory_per_million_files": {}, "index": {}}
    ok = [n for n in sizes if b.row(n, "coffer", "full backup")]
    for a, c in list(zip(ok, ok[1:])) + ([(ok[0], ok[-1])] if len(ok) > 2 else []):
        seg = {"from": a, "to": c}
        for step, key in (("full backup", "full"), ("no-change incremental", "incremental"),
                          ("verify", "verify"), ("restore", "restore")):
            ra, rc_ = b.row(a, "coffer", step), b.row(c, "coffer", step)
            if ra and rc_:
                seg[f"{key}_us_per_file"] = round(1e6 * slope(a, ra["wall_s"], c, rc_["wall_s"]), 1)
                seg[f"{key}_cpu_us_per_file"] = round(1e6 * slope(a, ra["cpu_s"], c, rc_["cpu_s"]), 1)
                seg[f"{key}_rss_bytes_per_file"] = round(1024 * slope(a, mem(ra), c, mem(rc_)))
        d["per_file"].append(seg)
    if len(ok) >= 2:
        lo, hi = ok[0], ok[-1]
        g = {"from": lo, "to": hi, "files_factor": round(hi / lo, 1), "steps": {}}
        for step in ("full backup", "no-change incremental", "verify"):
            ra, rb = b.row(lo, "coffer", step), b.row(hi, "coffer", step)
            if ra and rb:
                g["steps"][step] = {"wall": round(rb["wall_s"] / ra["wall_s"], 1), "cpu": round(rb["cpu_s"] / max(ra["cpu_s"], 0.01), 1),
                                    "working_rss": round(mem(rb) / mem(ra), 1)}
        d["growth"] = g
        for step in ("full backup", "no-change incremental", "verify"):
            ra, rb = b.row(lo, "coffer", step), b.row(hi, "coffer", step)
            if ra and rb:
                s = 1024 * slope(lo, mem(ra), hi, mem(rb))
                d["memory_per_million_files"][step] = {
                    "bytes_per_file": round(s), "mib_per_million_files": round(s * 1e6 / 2**20),
                    "projected_working_rss_mib_at_1M_files": round((mem(rb) * 1024 + s * (1e6 - hi)) / 2**20),
                    "basis": f"RSS slope between N={lo} and N={hi}, extrapolated linearly to 1,000,000 files"}
        # verify RSS against the repository's chunk count
        fa, fb = b.info.get(f"coffer:{lo}", {}), b.info.get(f"coffer:{hi}", {})
        va, vb = b.row(lo, "coffer", "verify"), b.row(hi, "coffer", "verify")
        if va and vb and fa.get("chunks") and fb.get("chunks"):
            per_chunk = 1024 * slope(fa["chunks"], mem(va), fb["chunks"], mem(vb))
            d["index"]["verify_rss_bytes_per_chunk_incl_file_list"] = round(per_chunk)
    hi = ok[-1] if ok else None
    ctl, real = b.info.get(f"control:{hi}", {}), b.info.get(f"coffer:{hi}", {})
    cv, rv = b.row(hi, "control", "verify"), b.row(hi, "coffer", "verify")
    if cv and rv and ctl.get("chunks") is not None and real.get("chunks"):
        per_chunk = 1024 * slope(ctl["chunks"], mem(cv), real["chunks"], mem(rv))
        d["index"]["verify_rss_bytes_per_chunk"] = round(per_chunk)
        d["index"]["basis"] = (f"(verify working RSS of the N={hi} repository - that of the control repository with the "
                               f"same file list but {ctl['chunks']} chunks) / (difference in chunk count)")
        lo_row = b.row(ok[0], "coffer", "verify")
        if lo_row and len(ok) >= 2:
            per_file_total = 1024 * slope(ok[0], mem(lo_row), hi, mem(rv))
            lo_chunks = b.info.get(f"coffer:{ok[0]}", {}).get("chunks")
            if lo_chunks is not None:
                d["index"]["verify_rss_bytes_per_file_list_entry"] = round(
                    per_file_total - per_chunk * (real["chunks"] - lo_chunks) / (hi - ok[0]))
    else:
        per_chunk = d["index"].get("verify_rss_bytes_per_chunk_incl_file_list")
        if per_chunk:
            d["index"]["verify_rss_bytes_per_chunk"] = per_chunk
            d["index"]["basis"] = ("verify working-RSS slope against chunk count between the smallest and largest N; "
                                   "an upper bound (one chunk per file here, so it includes the file list)")
    if d["index"].get("verify_rss_bytes_per_chunk"):
        pc = d["index"]["verify_rss_bytes_per_chunk"]
        chunks_tb = 1e12 / chunker["avg"]
        d["index"].update(chunker=chunker, chunks_per_tb=round(chunks_tb), chunks_per_tib=2**40 // chunker["avg"],
                          mib_per_tb=round(pc * chunks_tb / 2**20), mib_per_tib=round(pc * 2**40 / chunker["avg"] / 2**20),
                          assumption=(f"unique data in large files cut at the file chunker's nominal average "
                                      f"{chunker['avg'] // 1024} KiB (min {chunker['min'] // 1024} KiB, max "
                                      f"{chunker['max'] // 1024} KiB); small files are one chunk each, so a TB of "
                                      f"small files costs per file, not per TB"))
    return d


def fmt(v, nd=2):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def write_report(b, args, meta, sizes, chunker, prefix):
    derived = derive(b, sizes, chunker)
    rows = [{k: v for k, v in r.items() if k != "stdout"} for r in b.rows]
    doc = {"meta": meta, "sizes": sizes, "facts": b.info, "rows": rows, "restore_checks": b.checks,
           "derived": derived, "notes": b.notes}
    with open(prefix + ".json", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    m, c = meta["machine"], meta["coffer"]
    L = [f"# coffer scale benchmark, {meta['date']}", "",
         f"Machine: {m['cores']} cores, {m['cpu']}, {m['ram_gib']} GiB RAM, kernel {m['kernel']}, "
         f"scratch {m['scratch_dir']} on {m['filesystem']}; load average at start {meta['load_at_start']} "
         "(the machine is shared: wall times are noisy, CPU times less so).", "",
         (f"coffer: commit {c['source_commit']} (binary {c['binary']}, {c['build_type']}, built {c['built']}"
          + (f" from {c['source_dir']}" if c['source_dir'] != 'unknown' else "") + f"; {REPO} is at {c['repo_commit']})"
          if c.get("source_commit") else
          f"coffer: binary {c['binary']} ({c['build_type']}, built {c['built']}"
          + (f" from {c['source_dir']}, not a git checkout: set COFFER_COMMIT to name its commit" if c['source_dir'] != 'unknown' else "")
          + f"); {REPO} is at {c['repo_commit']}")
         + (f"; restic {meta['restic_version']}" if meta.get("restic_version") else "") + ".", "",
         f"Page cache: {meta['cache']}.", "",
         f"Workload: `scale_bench.py` generator, seed {args.seed}: uploads/<year>/<class>/<student>/file_k.ext, "
         "50-200 files per folder, sizes 200 B - 8 KiB (lognormal, median ~1.6 KiB), half text (compressible), "
         "half random bytes; each file unique. One backup root, coffer defaults (zstd 3, AES-256-GCM).", ""]
    L += ["Peak RSS is /usr/bin/time's (%M). coffer derives its key with Argon2id (32 MiB) when it opens the "
          "repository and frees that at once, so its peak never shows less than ~44 MiB; \"working RSS\" is the "
          "largest RSS after that (sampled every 10 ms from /proc/PID/status), the memory the step itself needs. "
          "Slopes below use working RSS.", "",
          "| N files | data MiB | repo MiB | chunks | step | wall s | CPU s | peak RSS MiB | working RSS MiB |",
          "|---|---|---|---|---|---|---|---|---|"]
    for tool in ("coffer", "restic", "control"):
        for n in sizes:
            f = b.info.get(f"{tool}:{n}", {})
            first = True
            for r in b.rows:
                if r["n"] != n or r["tool"] != tool:
                    continue
                label = (tool + " " if tool != "coffer" else "") + r["step"]
                if "wall_s" not in r:
                    label += " (TIMED OUT)" if r.get("timed_out") else f" (FAILED, exit {r.get('failed')})"
                data = b.info.get(f"data:{n}", {}).get("bytes") if tool != "control" else b.info.get(f"data-control:{n}", {}).get("bytes")
                L.append(f"| {n if first else ''} | {fmt(data / 2**20, 1) if first and data else ''} | "
                         f"{fmt(f.get('repo_bytes', 0) / 2**20, 1) if first and f.get('repo_bytes') else ''} | "
                         f"{f.get('chunks', '') if first else ''} | {label} | {fmt(r.get('wall_s'))} | "
                         f"{fmt(r.get('cpu_s'))} | {fmt(r['rss_kb'] / 1024, 1) if 'rss_kb' in r else '–'} | "
                         f"{fmt(r['rss_after_kdf_kb'] / 1024, 1) if r.get('rss_after_kdf_kb') else '–'} |")
                first = False
    L += ["", "restic rows: the same largest tree, `restic backup` (repository v2, compression auto) twice. "
          "control rows: the same N and file list, every file with identical content (one data chunk), "
          "to separate the file list's memory from the index's.", ""]
    if b.checks:
        k = b.checks
        L += [f"Restore check (N={sizes[-1]}): {k.get('files_restored')} of {k.get('files_source')} files restored "
              f"({'same count' if k.get('same_file_count') else 'COUNT DIFFERS'}); {k.get('sample_compared')} sampled "
              f"files compared byte for byte, {k.get('sample_mismatches')} differ; diff -r: {k.get('diff_r')} "
              f"({k.get('diff_r_seconds')} s).", ""]
    if derived["per_file"]:
        L += ["Per-file cost (slope between sizes: Δwall / ΔN, ΔCPU / ΔN, Δworking RSS / ΔN):", "",
              "| from → to | full µs/file (CPU) | full RSS B/file | incremental µs/file (CPU) | incremental RSS B/file | verify RSS B/file |",
              "|---|---|---|---|---|---|"]
        for s in derived["per_file"]:
            L.append(f"| {s['from']} → {s['to']} | {fmt(s.get('full_us_per_file'), 1)} ({fmt(s.get('full_cpu_us_per_file'), 1)}) | "
                     f"{fmt(s.get('full_rss_bytes_per_file'))} | {fmt(s.get('incremental_us_per_file'), 1)} "
                     f"({fmt(s.get('incremental_cpu_us_per_file'), 1)}) | {fmt(s.get('incremental_rss_bytes_per_file'))} | "
                     f"{fmt(s.get('verify_rss_bytes_per_file'))} |")
        L.append("")
    if derived.get("growth"):
        g = derived["growth"]
        L += [f"Growth from N={g['from']} to N={g['to']} ({g['files_factor']}× the files): "
              + ", ".join(f"{step} wall ×{v['wall']}, CPU ×{v['cpu']}, working RSS ×{v['working_rss']}"
                          for step, v in g["steps"].items()) + ".", ""]
    hi = sizes[-1]
    pairs = [(step, b.row(hi, "coffer", step), b.row(hi, "restic", step)) for step in ("full backup", "no-change incremental")]
    if any(c and r for _, c, r in pairs):
        L += [f"coffer next to restic (N={hi}, same tree, same cold cache; peak RSS for both):", "",
              "| step | coffer wall s | restic wall s | coffer/restic wall | coffer peak MiB | restic peak MiB |", "|---|---|---|---|---|---|"]
        for step, c, r in pairs:
            if c and r:
                L.append(f"| {step} | {c['wall_s']:.2f} | {r['wall_s']:.2f} | {c['wall_s'] / r['wall_s']:.2f} | "
                         f"{c['rss_kb'] / 1024:.1f} | {r['rss_kb'] / 1024:.1f} |")
        L.append("")
    if derived["memory_per_million_files"]:
        L += ["Memory per million files (an extrapolation: the working-RSS slope between the smallest and largest N, "
              "times 10^6; the projection adds it to the largest N's working RSS):", ""]
        for step, v in derived["memory_per_million_files"].items():
            L.append(f"- {step}: {v['bytes_per_file']} B/file = {v['mib_per_million_files']} MiB per million files; "
                     f"projected working RSS at 1M files {v['projected_working_rss_mib_at_1M_files']} MiB")
        L.append("")
    ix = derived["index"]
    if ix.get("mib_per_tb"):
        L += [f"Index memory per TB of unique data: {ix['verify_rss_bytes_per_chunk']} B per indexed chunk "
              f"({ix['basis']})"
              + (f"; the file list costs {ix['verify_rss_bytes_per_file_list_entry']} B per entry on top"
                 if ix.get("verify_rss_bytes_per_file_list_entry") is not None else "")
              + (f"; without the control, verify RSS against chunks gives {ix['verify_rss_bytes_per_chunk_incl_file_list']} B "
                 "per chunk including the file list" if ix.get("verify_rss_bytes_per_chunk_incl_file_list") else "") + ".",
              f"Assumption: {ix['assumption']} ({ix['chunker']['source']}). 1 TB = {ix['chunks_per_tb']:,} chunks → "
              f"**{ix['mib_per_tb']} MiB per TB** ({ix['mib_per_tib']} MiB per TiB).", ""]
    if b.notes:
        L += ["Notes:", ""] + [f"- {n}" for n in b.notes] + [""]
    with open(prefix + ".md", "w") as f:
        f.write("\n".join(L))
    return derived


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,50000,200000", help="comma-separated file counts")
    ap.add_argument("--quick", action="store_true", help="smoke run: sizes 2000,10000")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-restic", action="store_true")
    ap.add_argument("--no-control", action="store_true", help="skip the identical-content control tree")
    ap.add_argument("--step-timeout", type=float, default=600, help="kill a measured step after this many seconds")
    ap.add_argument("--diff-timeout", type=float, default=90, help="skip diff -r when it takes longer")
    ap.add_argument("--out", help="output prefix (default bench/results/scale-<date>[-quick])")
    ap.add_argument("--generate-only", metavar="DIR", help="only write the tree of the first size into DIR")
    ap.add_argument("--render", metavar="JSON", help="only rewrite the markdown (and derived figures) of an earlier run's JSON")
    args = ap.parse_args()
    if args.render:
        with open(args.render) as f:
            doc = json.load(f)
        b = Bench.__new__(Bench)
        b.rows, b.info, b.checks, b.notes = doc["rows"], doc["facts"], doc["restore_checks"], doc["notes"]
        args.seed = doc["meta"].get("seed", args.seed)
        prefix = args.render[:-5] if args.render.endswith(".json") else args.render
        write_report(b, args, doc["meta"], doc["sizes"], doc["meta"]["file_chunker"], prefix)
        log(f"rewrote {prefix}.md and {prefix}.json")
        return
    sizes = [2000, 10000] if args.quick else sorted(int(x) for x in args.sizes.split(",") if x.strip())
    if not sizes or min(sizes) <= 0:
        die("--sizes needs positive file counts, e.g. 10000,50000,200000")

    if args.generate_only:
        t = time.monotonic()
        files, nbytes, folders = generate_tree(args.generate_only, sizes[0], args.seed)
        log(f"wrote {files} files ({nbytes / 2**20:.1f} MiB, {folders} folders) in {time.monotonic() - t:.1f} s")
        return

    coffer = os.path.abspath(os.environ.get("COFFER") or os.path.join(REPO, "build", "coffer"))
    if not os.access(coffer, os.X_OK):
        die(f"no coffer binary at {coffer}: build it or set COFFER=/path/to/coffer")
    if not os.access(TIME, os.X_OK):
        log("installing time (for /usr/bin/time)")
        subprocess.run("apt-get install -y -qq time >/dev/null", shell=True)
        if not os.access(TIME, os.X_OK):
            die("/usr/bin/time is missing (Debian package time)")
    with_restic = not args.no_restic
    if with_restic and not shutil.which("restic"):
        log("installing restic (Debian package)")
        subprocess.run("apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq restic >/dev/null",
                       shell=True)
        if not shutil.which("restic"):
            log("restic could not be installed: skipping it")
            with_restic = False

    date = datetime.date.today().isoformat()
    prefix = args.out or os.path.join(HERE, "results", f"scale-{date}" + ("-quick" if args.quick else ""))
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    parent = os.environ.get("BENCH_DIR") or "/tmp"
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix="coffer-scale-bench.", dir=parent)
    b = Bench(args, work, coffer)
    chunker = file_chunker_params()
    meta = {"date": date, "machine": machine(work), "coffer": coffer_version(coffer), "seed": args.seed,
            "load_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "cache": ("cold: `sync; echo 3 > /proc/sys/vm/drop_caches` before every measured step (run as root)"
                      if b.drop else "warm: not root, so the page cache was NOT dropped"),
            "file_chunker": chunker}
    if with_restic:
        meta["restic_version"] = sh("restic version").split(" ")[1] if sh("restic version") else "?"
    log(f"scratch {work}; coffer {coffer}; sizes {sizes}; page cache {'dropped' if b.drop else 'warm'} before each step")
    try:
        for n in sizes:
            last = n == sizes[-1]
            tree = os.path.join(work, f"tree-{n}")
            t = time.monotonic()
            files, nbytes, folders = generate_tree(tree, n, args.seed)
            gen_s = time.monotonic() - t
            b.info[f"data:{n}"] = {"files": files, "bytes": nbytes, "folders": folders, "generate_seconds": round(gen_s, 1)}
            log(f"N={n}: wrote {files} files, {nbytes / 2**20:.1f} MiB, {folders} folders in {gen_s:.1f} s")
            repo = os.path.join(work, f"repo-{n}")
            ok = b.coffer_series(n, tree, repo)
            write_report(b, args, meta, sizes, chunker, prefix)
            if last and ok:
                b.restore_and_check(n, tree, repo)
                write_report(b, args, meta, sizes, chunker, prefix)
                if with_restic:
                    b.restic_series(n, tree)
                    write_report(b, args, meta, sizes, chunker, prefix)
            if not args.keep:
                shutil.rmtree(tree)
                shutil.rmtree(repo, ignore_errors=True)
            if last and ok and not args.no_control:
                ctree = os.path.join(work, f"control-{n}")
                t = time.monotonic()
                files, nbytes, folders = generate_tree(ctree, n, args.seed, identical=True)
                b.info[f"data-control:{n}"] = {"files": files, "bytes": nbytes, "folders": folders}
                log(f"N={n} control: wrote {files} identical files in {time.monotonic() - t:.1f} s")
                crepo = os.path.join(work, f"control-repo-{n}")
                b.coffer_series(n, ctree, crepo, tool="control")
                if not args.keep:
                    shutil.rmtree(ctree)
                    shutil.rmtree(crepo, ignore_errors=True)
        derived = write_report(b, args, meta, sizes, chunker, prefix)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    log(f"wrote {prefix}.md and {prefix}.json")
    with open(prefix + ".md") as f:
        print(f.read())
    return derived


if __name__ == "__main__":
    main()
