"""`coffer report` (issue 24): the self-contained HTML dashboard, opened in a real headless
Chromium (tests/fixtures/headless_browser.py; `apt-get install chromium`, see scripts/setup.sh).

A week of simulated files-only backups (COFFER_NOW): per day one full, differential or
incremental at 02:00 and two incrementals during the day, the files changing each time, two
attempts that fail (a database that refuses connections, a path that does not exist) and one
cleanup. The page's charts and tables are counted in the DOM Chromium builds and checked against
backup_log.json and `coffer list --json`; phone and desktop screenshots are kept as artefacts
(COFFER_TEST_ARTEFACTS, default build/test-artefacts/); the browser fetches nothing and the page
holds no script and no URL. Also: an empty repository, the page served live by `coffer schedule`
on METRICS_PORT (with and without DASHBOARD_TOKEN), and `status --json`'s "analytics".

No database server is needed. The harness itself is tested first, on hand-written pages: a page
that loads remote or loopback resources must be caught, a self-contained one must not.
"""

import html.parser
import http.server
import json
import os
import secrets
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_testlib import (  # noqa: E402  (also puts tests/fixtures on sys.path)
    CofferTestCase, check, check_fails_cleanly, default_settings, make_tree, new_temp_dir, read_backup_log,
    remove_tree, run_coffer, start_coffer, write_passphrase)
import headless_browser  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CREATE_TYPES = ("full", "incremental", "differential")
SECTIONS = ("timeline", "bytes-added", "duration", "repository-size")
VIEWPORT = "width=device-width, initial-scale=1"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
EXIT_CONFIG, EXIT_DATABASE = 2, 7
WAIT_SECONDS = 60
PHONE, DESKTOP = (390, 3000), (1280, 2000)  # phone: 390 wide (iPhone 12-15), the full page's height


# ---------------------------------------------------------------- helpers

def artefacts_dir():
    """Where the screenshots and the page are kept: COFFER_TEST_ARTEFACTS, else build/test-artefacts."""
    path = os.environ.get("COFFER_TEST_ARTEFACTS") or os.path.join(ROOT, "build", "test-artefacts")
    os.makedirs(path, exist_ok=True)
    return path


def free_port():
    """A loopback TCP port that nothing listens on (right now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, headers=None, timeout=10):
    """(status, headers, body text) of a GET, errors included, never through a proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as r:
            return r.status, r.headers, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


class Node:
    """One element of a parsed page."""

    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, dict(attrs), parent, [], []

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag=None, cls=None):
        """Descendants (not self) with that tag and/or that class."""
        return [n for n in self.iter() if n is not self and (tag is None or n.tag == tag)
                and (cls is None or cls in n.classes)]

    def all_text(self):
        return "".join(t for n in self.iter() for t in n.text)


class DomParser(html.parser.HTMLParser):
    """A page's element tree (html.parser), enough to count elements by tag and class."""
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in self.VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text.append(data)


def parse_dom(text):
    p = DomParser()
    p.feed(text)
    p.close()
    return p.root


def charts_by_section(dom):
    """{data-section: [svg.chart elements]}"""
    out = {}
    for svg in dom.find_all("svg", "chart"):
        out.setdefault(svg.attrs.get("data-section"), []).append(svg)
    return out


def marks(svg, cls=None):
    """The elements with class `mark` (and `cls`) inside a chart."""
    return [n for n in svg.find_all(cls="mark") if cls is None or cls in n.classes]


def table_rows(dom, table_class, row_class):
    tables = dom.find_all("table", table_class)
    if len(tables) != 1:
        raise AssertionError(f"expected one <table class={table_class!r}>, found {len(tables)}")
    return tables[0].find_all("tr", row_class)


def head_meta(dom, **attrs):
    """<meta> elements with these attributes (http-equiv's value compared case-insensitively)."""
    def same(k, have, want):
        return have is not None and (have.lower() == want.lower() if k == "http-equiv" else have == want)
    return [m for m in dom.find_all("meta") if all(same(k, m.attrs.get(k), v) for k, v in attrs.items())]


def assert_no_fetch(test, visit, what):
    test.assertEqual(visit.fetched, [], f"{what}: the browser fetched something besides the page itself "
                     f"(Chromium's own update/account traffic, told apart: {visit.internal})")


# ---------------------------------------------------------------- the harness itself

class HeadlessBrowserHarnessTest(unittest.TestCase):
    """The harness must see a fetch when there is one, or its "nothing fetched" means nothing."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="coffer-itest-browser-")
        self.addCleanup(remove_tree, self.tmp)

    def page(self, name, body, head=""):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(f'<!doctype html><html><head><meta charset="utf-8">{head}</head><body>{body}</body></html>')
        return headless_browser.file_url(path)

    def test_remote_and_loopback_resources_are_caught(self):
        port = free_port()
        url = self.page("leaky.html", '<p id="here">leaky</p><img src="http://example.invalid/x.png">'
                        f'<img src="http://127.0.0.1:{port}/y.png">',
                        head='<link rel="stylesheet" href="https://example.invalid/s.css">')
        v = headless_browser.visit(url)
        self.assertIn('id="here"', v.dom)
        self.assertIn("http://example.invalid/x.png", v.fetched)
        self.assertIn(f"http://127.0.0.1:{port}/y.png", v.fetched, "loopback must go through the proxy too")
        self.assertTrue({"https://example.invalid/s.css", "CONNECT example.invalid:443"} & set(v.fetched), v.fetched)

    def test_a_self_contained_page_fetches_nothing(self):
        gif = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
        url = self.page("clean.html", '<svg class="chart" data-marks="1"><rect class="mark" width="4" height="4"/>'
                        f'</svg><img alt="" src="{gif}">',
                        head=f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
                             '<link rel="icon" href="data:,"><style>svg{width:10px}</style>')
        v = headless_browser.visit(url)
        assert_no_fetch(self, v, "a self-contained page")
        self.assertEqual(len(marks(parse_dom(v.dom).find_all("svg", "chart")[0])), 1)
        shot = os.path.join(self.tmp, "clean.png")
        assert_no_fetch(self, headless_browser.screenshot(url, shot, 390, 844), "its screenshot")
        self.assertEqual(headless_browser.png_size(shot), (390, 844))

    def test_a_page_served_on_loopback_is_forwarded_and_nothing_else(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b'<!doctype html><p id="served">hi</p><img src="/other.png">' if self.path == "/" else b""
                self.send_response(200 if self.path == "/" else 404)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        v = headless_browser.visit(url, allow=[url])
        self.assertIn('id="served"', v.dom, "the allowed page must reach its server through the proxy")
        self.assertIn(url + "other.png", v.fetched)
        self.assertNotIn(url, v.fetched, "the page itself is not a fetch")


# ---------------------------------------------------------------- a week of backups

class WeekReportTest(CofferTestCase):
    """One week of files-only backups, then `coffer report --html`, opened in Chromium."""

    DAYS = 7
    FAILURES = {(3, "12"): "database", (6, "12"): "missing path"}  # (day, hour): how it fails
    CLEANUP_AT = "2026-11-08T03:00:00Z"
    REPORT_AT = "2026-11-08T06:00:00Z"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = new_temp_dir("report-week")
        cls.addClassCleanup(remove_tree, cls.dir)
        cls.src = os.path.join(cls.dir, "src")
        cls.repo = os.path.join(cls.dir, "repo")
        make_tree.create(cls.src, scale=0.01, seed=24)
        cls.week_env = default_settings(cls.repo, make_tree.root_paths(cls.src),
                                        write_passphrase(os.path.join(cls.dir, "passphrase")))
        cls.simulate_week()
        cls.log = read_backup_log(cls.repo)
        cls.listed = cls.run_week(["--json", "list"]).json()
        cls.html_path = os.path.join(cls.dir, "report.html")
        at = {"COFFER_NOW": cls.REPORT_AT}
        cls.report_json = cls.run_week(["--json", "report", "--html", cls.html_path], env=at).json()
        cls.analytics = cls.run_week(["--json", "report"], env=at).json()
        with open(cls.html_path, encoding="utf-8") as f:
            cls.html_text = f.read()
        cls.visit = headless_browser.visit(headless_browser.file_url(cls.html_path))
        cls.dom = parse_dom(cls.visit.dom)

    @classmethod
    def run_week(cls, args, env=None, codes=(0,)):
        return check(run_coffer(args, dict(cls.week_env, **(env or {})), cls.dir), *codes)

    @classmethod
    def simulate_week(cls):
        """Day d of 2026-11: 02:00 full (days 1, 5), differential (day 4) or incremental, then
        incrementals at 10:00 and 16:00, the tree mutated before each; FAILURES at 12:00; a
        cleanup (RETENTION_DAYS=3) the morning after."""
        for day in range(1, cls.DAYS + 1):
            for hour in ("02", "10", "12", "16"):
                now = {"COFFER_NOW": f"2026-11-{day:02d}T{hour}:00:00Z"}
                if hour == "12":
                    if (day, hour) in cls.FAILURES:
                        cls.failed_create(cls.FAILURES[(day, hour)], now)
                    continue
                kind = "incremental"
                if hour == "02":
                    kind = {1: "full", 5: "full", 4: "differential"}.get(day, "incremental")
                make_tree.mutate(cls.src, seed=day * 100 + int(hour))
                out = cls.run_week(["--json", "create", "--type", kind], env=now).json()
                assert out["status"] == "success", out
        cleanup = cls.run_week(["--json", "cleanup"], env={"COFFER_NOW": cls.CLEANUP_AT, "RETENTION_DAYS": 3})
        assert read_backup_log(cls.repo)[-1]["status"] == "success", cleanup

    @classmethod
    def failed_create(cls, how, now):
        """An attempt that fails honestly and is recorded with status "failed"."""
        if how == "database":  # a database server that refuses the connection
            env, code = {"DB_NAME": "coffer_report_db", "DB_HOST": "127.0.0.1", "DB_PORT": free_port()}, EXIT_DATABASE
        else:  # a folder to back up that does not exist
            missing = os.path.join(cls.dir, "no-such-folder")
            env, code = {"BACKUP_PATHS": ":".join(make_tree.root_paths(cls.src) + [missing])}, EXIT_CONFIG
        r = run_coffer(["create", "--type", "incremental"], dict(cls.week_env, **env, **now), cls.dir, timeout=90)
        check_fails_cleanly(r, code)
        last = read_backup_log(cls.repo)[-1]
        assert (last["status"], last["backup_type"]) == ("failed", "incremental"), last

    def setUp(self):
        super().setUp()
        self.env = dict(self.week_env)

    # -- what the page should show, from backup_log.json and `coffer list`
    def creates(self, status=None):
        return [r for r in self.log if r["backup_type"] in CREATE_TYPES and status in (None, r["status"])]

    def test_the_scenario_is_what_the_counts_rest_on(self):
        self.assertEqual(len(self.creates()), self.DAYS * 3 + len(self.FAILURES))
        self.assertEqual(len(self.creates("failed")), len(self.FAILURES))
        self.assertEqual([r["status"] for r in self.log if r["status"] == "failed"], ["failed"] * len(self.FAILURES),
                         "only the two create attempts fail, so 'failed attempts' means the same whatever it counts")
        others = [(r["backup_type"], r["status"]) for r in self.log if r["backup_type"] not in CREATE_TYPES]
        self.assertEqual(others[-1:], [("cleanup", "success")], "the cleanup logs 'started', then its outcome")
        self.assertEqual({kind for kind, _ in others}, {"cleanup"})
        self.assertLess(len(self.listed), len(self.creates("success")), "the cleanup removed some backups")

    def test_each_section_has_one_chart_whose_marks_match_the_log(self):
        expected = {"timeline": len(self.creates()), "bytes-added": len(self.creates("success")),
                    "duration": len(self.creates()), "repository-size": len(self.analytics["size_series"])}
        charts = charts_by_section(self.dom)
        self.assertEqual(sorted(charts, key=str), sorted(SECTIONS), "one svg.chart per section, no other")
        for section in SECTIONS:
            with self.subTest(section=section):
                self.assertEqual(len(charts[section]), 1, f"{section}: one svg.chart")
                svg = charts[section][0]
                counted = len(marks(svg))
                self.assertEqual(svg.attrs.get("data-marks"), str(counted), f"{section}: data-marks vs .mark elements")
                self.assertEqual(counted, expected[section], f"{section}: marks vs backup_log.json / analytics")
        self.assertGreater(expected["repository-size"], 0, "analytics.size_series is empty")
        self.assertEqual(len(marks(charts["timeline"][0], "failed")), len(self.creates("failed")),
                         "timeline: failed marks vs failed create records")

    def test_the_tables_list_the_failures_and_the_backups(self):
        failures = table_rows(self.dom, "failures", "failure")
        failed = [r for r in self.log if r["status"] == "failed"]
        self.assertEqual(len(failures), min(10, len(failed)))
        rows = table_rows(self.dom, "backups", "backup")
        self.assertEqual(len(rows), len(self.listed), "one row per backup in `coffer list`")
        text = " ".join(r.all_text() for r in rows)
        self.assertEqual([b["backup_id"] for b in self.listed if b["backup_id"] not in text], [],
                         "every listed backup's id is in the backups table")

    def test_the_page_is_self_contained_and_fetches_nothing(self):
        assert_no_fetch(self, self.visit, "the report page")
        lower = self.html_text.lower()
        for needle in ("http://", "https://", "<script"):
            self.assertNotIn(needle, lower, f"the page's HTML contains {needle!r}")
        self.assertEqual(self.dom.find_all("script"), [])
        self.assertEqual(len(head_meta(self.dom, name="viewport", content=VIEWPORT)), 1, "viewport meta")
        csp = head_meta(self.dom, **{"http-equiv": "Content-Security-Policy"})
        self.assertEqual([m.attrs.get("content") for m in csp], [CSP])
        icons = [n for n in self.dom.find_all("link") if "icon" in (n.attrs.get("rel") or "").split()]
        self.assertEqual([n.attrs.get("href") for n in icons], ["data:,"])
        self.assertEqual(self.dom.find_all("p", "empty"), [])
        self.assertEqual(head_meta(self.dom, **{"http-equiv": "refresh"}), [], "no refresh without --refresh")

    def test_report_json_and_the_written_file(self):
        self.assertEqual(os.path.abspath(self.report_json["file"]), self.html_path)
        self.assertEqual(self.report_json["backups"], len(self.listed))
        self.assertEqual(self.report_json["bytes"], os.path.getsize(self.html_path))
        self.assertEqual(sorted(f for f in os.listdir(self.dir) if f.startswith("report")
                                or f.startswith(".report") or f.startswith(".tmp")), ["report.html"],
                         "written atomically: no temp file left beside it")
        for kind in ("full", "incremental", "differential"):
            with self.subTest(kind=kind):
                t = self.analytics["types"][kind]
                records = [r for r in self.creates() if r["backup_type"] == kind]
                ok = [r for r in records if r["status"] == "success"]
                self.assertEqual((t["attempts"], t["successes"], t["failures"]),
                                 (len(records), len(ok), len(records) - len(ok)))
                self.assertEqual(len(t["series"]), len(records))

    def test_refresh_option_adds_the_meta_refresh(self):
        path = os.path.join(self.tmp, "refreshing.html")
        self.coffer("report", "--html", path, "--refresh", "30", env={"COFFER_NOW": self.REPORT_AT}, expect=0)
        with open(path, encoding="utf-8") as f:
            dom = parse_dom(f.read())
        self.assertEqual([m.attrs.get("content") for m in head_meta(dom, **{"http-equiv": "refresh"})], ["30"])

    def test_screenshots_at_phone_and_desktop_size(self):
        out = artefacts_dir()
        kept = os.path.join(out, "report-week.html")
        with open(kept, "w", encoding="utf-8") as f:
            f.write(self.html_text)
        url = headless_browser.file_url(kept)
        for name, (w, h) in (("phone", PHONE), ("desktop", DESKTOP)):
            with self.subTest(size=name):
                path = os.path.join(out, f"report-week-{name}-{w}x{h}.png")
                assert_no_fetch(self, headless_browser.screenshot(url, path, w, h), f"the {name} screenshot")
                self.assertGreater(os.path.getsize(path), 2000, f"{path} looks blank")
        print(f"\ndashboard artefacts (page and screenshots): {out}", file=sys.stderr)


# ---------------------------------------------------------------- an empty repository

class EmptyReportTest(CofferTestCase):

    def test_an_empty_repository_says_so_and_draws_no_chart(self):
        self.make_tree(scale=0.01, seed=5)
        self.coffer("init", expect=0)
        path = os.path.join(self.tmp, "empty.html")
        _, out = self.coffer_json("report", "--html", path)
        self.assertEqual(out["backups"], 0)
        v = headless_browser.visit(headless_browser.file_url(path))
        assert_no_fetch(self, v, "the empty report")
        dom = parse_dom(v.dom)
        empty = dom.find_all("p", "empty")
        self.assertEqual(len(empty), 1, "one p.empty")
        self.assertIn("no backups", empty[0].all_text().lower())
        self.assertEqual(dom.find_all("svg", "chart"), [])
        shot = os.path.join(artefacts_dir(), "report-empty-phone-390x844.png")
        assert_no_fetch(self, headless_browser.screenshot(headless_browser.file_url(path), shot, 390, 844),
                        "the empty report's screenshot")


# ---------------------------------------------------------------- served by `coffer schedule`

class LiveDashboardTest(CofferTestCase):
    """GET / beside /metrics while `coffer schedule` runs."""

    QUIET_SCHEDULE = {"BACKUP_SCHEDULE_FULL": "0 0 1 1 *", "BACKUP_SCHEDULE_INCREMENTAL": "off",
                      "BACKUP_SCHEDULE_DIFFERENTIAL": "off", "BACKUP_SCHEDULE_CLEANUP": "off",
                      "BACKUP_SCHEDULE_VERIFY": "off", "BACKUP_SCHEDULE_DRILL": "off"}

    def setUp(self):
        super().setUp()
        self.make_tree(scale=0.01, seed=6)
        self.create("full")

    def start_service(self, **env):
        """Starts `coffer schedule` serving on a free port; returns (proc, base URL) once it answers."""
        port = free_port()
        self.log_path = self.new_dir("schedule.log")
        proc = start_coffer(["schedule"], dict(self.env, METRICS_PORT=port, **self.QUIET_SCHEDULE, **env),
                            self.tmp, self.log_path)
        self.addCleanup(lambda: (proc.poll() is None) and (proc.kill(), proc.wait()))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            self.assertIsNone(proc.poll(), f"coffer schedule exited early:\n{self.service_log()}")
            try:
                if http_get(base + "/metrics", timeout=2)[0] == 200:
                    return proc, base
            except OSError:
                pass
            time.sleep(0.2)
        self.fail(f"nothing served on {base} within {WAIT_SECONDS} s:\n{self.service_log()}")

    def service_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, proc):
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=WAIT_SECONDS), 0, self.service_log())

    def test_the_page_is_served_with_refresh_and_loads_nothing_else(self):
        proc, base = self.start_service()
        status, headers, body = http_get(base + "/")
        self.assertEqual(status, 200, body[:2000])
        self.assertTrue(headers["Content-Type"].startswith("text/html"), headers["Content-Type"])
        refresh = head_meta(parse_dom(body), **{"http-equiv": "refresh"})
        self.assertEqual([m.attrs.get("content") for m in refresh], ["60"])
        v = headless_browser.visit(base + "/", allow=[base + "/"])
        assert_no_fetch(self, v, "the live page")
        dom = parse_dom(v.dom)
        self.assertEqual(sorted(charts_by_section(dom), key=str), sorted(SECTIONS))
        self.assertEqual(len(table_rows(dom, "backups", "backup")), len(self.list_backups()))
        self.assertEqual(http_get(base + "/metrics")[0], 200)
        self.stop(proc)

    def test_a_dashboard_token_is_required_and_never_echoed(self):
        token = secrets.token_urlsafe(24)
        proc, base = self.start_service(DASHBOARD_TOKEN=token)
        cases = [("no token", base + "/", {}, 401),
                 ("wrong ?token", base + "/?token=" + secrets.token_urlsafe(24), {}, 401),
                 ("wrong bearer", base + "/", {"Authorization": "Bearer " + secrets.token_urlsafe(24)}, 401),
                 ("?token", base + "/?token=" + token, {}, 200),
                 ("bearer", base + "/", {"Authorization": "Bearer " + token}, 200)]
        for what, url, headers, want in cases:
            with self.subTest(what):
                status, _, body = http_get(url, headers)
                self.assertEqual(status, want, body[:500])
                self.assertNotIn(token, body, "the page or the 401 must not contain the token")
                if want == 200:
                    self.assertEqual(len(charts_by_section(parse_dom(body))), len(SECTIONS))
        status, headers, _ = http_get(base + "/metrics")
        self.assertEqual(status, 200, "/metrics needs no token on loopback")
        self.assertTrue(headers["Content-Type"].startswith("text/plain"))
        self.stop(proc)
        self.assertNotIn(token, self.service_log(), "the service log must not contain the token")


# ---------------------------------------------------------------- status --json's analytics

class StatusAnalyticsTest(CofferTestCase):

    TYPE_FIELDS = {"attempts", "successes", "failures", "mean_duration_seconds", "median_duration_seconds",
                   "mean_bytes_added", "series"}
    SERIES_FIELDS = {"time", "backup_id", "status", "duration_seconds", "bytes_added"}
    FIELDS = {"types", "dedup_ratio", "compression_ratio", "logical_bytes", "unique_raw_bytes", "stored_bytes",
              "growth_bytes_per_day", "disk", "s3_quota", "min_days_left", "gaps", "size_series"}

    def setUp(self):
        super().setUp()
        self.make_tree(scale=0.01, seed=8)
        for n, (day, kind) in enumerate(((1, "full"), (2, "incremental"), (3, "incremental"), (4, "incremental"))):
            if n:
                make_tree.mutate(self.src, seed=n)
            self.create(kind, env={"COFFER_NOW": f"2026-11-0{day}T02:00:00Z"})
        self.now = {"COFFER_NOW": "2026-11-04T03:00:00Z"}

    def status(self, **env):
        r = self.coffer("--json", "status", env=dict(self.now, **env))
        self.assertIn(r.code, (0, 1), str(r))
        return r, r.json()

    def test_analytics_fields_and_the_days_left_warning(self):
        r, out = self.status()
        a = out.get("analytics")
        self.assertIsInstance(a, dict, f"status --json has no analytics object:\n{r}")
        self.assertEqual(sorted(self.FIELDS - set(a)), [], "analytics fields missing")
        for kind in ("full", "incremental"):
            self.assertEqual(sorted(self.TYPE_FIELDS - set(a["types"][kind])), [], f"types.{kind}")
            for point in a["types"][kind]["series"]:
                self.assertEqual(sorted(self.SERIES_FIELDS - set(point)), [], f"types.{kind}.series")
        self.assertEqual((a["types"]["full"]["attempts"], a["types"]["incremental"]["attempts"]), (1, 3))
        self.assertEqual(sorted({"path", "free_bytes", "days_left"} - set(a["disk"])), [], "disk")
        self.assertIsNone(a["s3_quota"], "no S3 configured")
        self.assertEqual(a["min_days_left"], 14, "the default STATUS_MIN_DAYS_LEFT")
        for gap in a["gaps"]:
            self.assertEqual(sorted({"from", "to", "hours"} - set(gap)), [], "gaps")
        self.assertTrue(a["size_series"], "size_series is empty")
        for point in a["size_series"]:
            self.assertEqual(sorted({"time", "bytes"} - set(point)), [], "size_series")
        growth = a["growth_bytes_per_day"]
        self.assertIsNotNone(growth, "four days of growing backups must give a growth rate")
        self.assertGreater(growth, 0)
        days_left = a["disk"]["days_left"]
        self.assertIsNotNone(days_left, "growth > 0 must give the disk's days left")
        if days_left >= 14:
            self.assertNotIn("days left", out.get("warning") or "")

        # The report's JSON is the same analytics (the disk's free space may move in between).
        report = self.coffer("report", "--json", env=self.now, expect=0).json()  # the spec's form
        strip = lambda x: {k: v for k, v in x.items() if k != "disk"}  # noqa: E731
        self.assertEqual(strip(report), strip(a))

        minimum = max(100000, int(days_left * 10) + 1)  # absurdly high, whatever the disk's size
        r2, warned = self.status(STATUS_MIN_DAYS_LEFT=minimum)
        self.assertIn("days left", warned.get("warning") or "", json.dumps(warned.get("warning")))
        self.assertEqual(warned["analytics"]["min_days_left"], minimum)
        self.assertEqual(r2.code, r.code, "the days-left warning must not change the exit code")


if __name__ == "__main__":
    unittest.main()
