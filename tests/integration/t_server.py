#!/usr/bin/python3
"""overblikd, the server, against a real private mariadbd and the fixture
plugins: a run triggered over the admin endpoint from 202 to its file; a
crashing and a hanging plugin fail only their own runs; a plugin built for
another ABI is refused and named; /metrics; tokens, roles and bad requests
answered in JSON; the runs list's filters; the reports with their next fires;
max_runs and the queue; two servers on one database fire a schedule once;
catch-up of missed fires; SIGHUP with a broken and a good configuration;
SIGTERM waits for a running run."""

import datetime
import hashlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import traceback

import obtest
from obtest import Env, ok, eq, run_tests, OVERBLIKD

PLUGIN_DIR = os.path.join(obtest.TOP_BUILDDIR, "tests/plugins/.libs")
VIEWER = "vw-" + secrets.token_hex(16)
OPERATOR = "op-" + secrets.token_hex(16)
ENDED = ("succeeded", "failed", "timeout", "crashed")
FIXTURE_PLUGINS = ["burn", "crash", "echo", "fails", "hang", "notify"]


# ---- helpers ----

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError:
            return None

    def __repr__(self):
        return f"HTTP {self.status} {dict(self.headers)!r} {self.body[:600]!r}"


def request(port, method, path, body=None, token=None, headers=None, timeout=15):
    """One request on its own connection; path is sent as given (not normalised)."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = "Bearer " + token
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    if body is not None:
        h.setdefault("Content-Type", "application/json")
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        return Resp(r.status, r.headers, r.read())
    finally:
        c.close()


def ts(s):
    """A run timestamp of the API (UTC, milliseconds) as an aware datetime."""
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


def parse_metrics(text):
    """{'name{labels}': value} of a Prometheus text page."""
    m = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, val = line.rpartition(" ")
        try:
            m[key] = float(val)
        except ValueError:
            pass
    return m


def write_config(path, env, cfg):
    c = {"state_dir": env.state, "template_dir": env.templates}
    c.update(cfg)
    with open(path, "w") as f:
        json.dump(c, f, indent=1)


def base_config(port, **over):
    cfg = {
        "plugin_dir": PLUGIN_DIR,
        "grace_period": 5,
        "http": {"listen": f"127.0.0.1:{port}",
                 "tokens": [{"name": "the-viewer", "sha256": hashlib.sha256(VIEWER.encode()).hexdigest(),
                             "role": "viewer"},
                            {"name": "the-operator", "sha256": hashlib.sha256(OPERATOR.encode()).hexdigest(),
                             "role": "operator"}]},
    }
    cfg.update(over)
    return cfg


class Server:
    """One overblikd on env with the config file at config_path."""

    def __init__(self, env, port, config_path=None, name="overblikd"):
        self.env = env
        self.port = port
        self.config = config_path or env.config
        self.logpath = os.path.join(env.dir, f"{name}-{port}.log")
        self.proc = None

    def start(self):
        self.logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen([OVERBLIKD, "-c", self.config], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.logf)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"overblikd exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if request(self.port, "GET", "/healthz", timeout=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("overblikd did not answer /healthz within 20 s:\n" + self.log())

    def log(self):
        try:
            with open(self.logpath, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20):
        """SIGTERM, wait, then kill; the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = None
        self.logf.close()
        return rc

    # API shortcuts
    def get(self, path, token=VIEWER, **kw):
        return request(self.port, "GET", path, token=token, **kw)

    def post(self, path, body=None, token=OPERATOR, **kw):
        return request(self.port, "POST", path, body=body, token=token, **kw)

    def trigger(self, report, body=None, token=OPERATOR):
        r = self.post(f"/api/v1/reports/{report}/runs", body if body is not None else {}, token=token)
        j = r.json() or {}
        return r, (j.get("run") or {}).get("id")

    def run(self, rid):
        r = self.get(f"/api/v1/runs/{rid}")
        return (r.json() or {}).get("run")

    def wait_run(self, rid, timeout=30, during=None):
        """Polls the run until it ends; during() is called on every poll."""
        deadline = time.time() + timeout
        run = None
        while time.time() < deadline:
            run = self.run(rid)
            if during:
                during()
            if run and run.get("status") in ENDED:
                return run
            time.sleep(0.1)
        return run

    def wait_status(self, rid, statuses, timeout=20):
        deadline = time.time() + timeout
        run = None
        while time.time() < deadline:
            run = self.run(rid)
            if run and run.get("status") in statuses:
                return run
            time.sleep(0.05)
        return run

    def metrics(self):
        return parse_metrics(request(self.port, "GET", "/metrics").body.decode("utf-8", "replace"))

    def metrics_text(self):
        return request(self.port, "GET", "/metrics").body.decode("utf-8", "replace")

    def wait_idle(self, timeout=30):
        """Until nothing runs or waits, and the last end is in the metrics."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            h = request(self.port, "GET", "/healthz").json() or {}
            if h.get("runs_running") == 0 and h.get("runs_queued") == 0:
                time.sleep(0.3)  # the end is counted after the database thread's answer
                return True
            time.sleep(0.1)
        return False

    def wait_log(self, needle, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in self.log():
                return True
            time.sleep(0.1)
        return False


def check_error(r, status, desc, code=None):
    """status, and a JSON body {"error": {"code", "message"}}."""
    j = r.json()
    e = j.get("error") if isinstance(j, dict) else None
    good = (r.status in status if isinstance(status, tuple) else r.status == status) and isinstance(e, dict) \
        and isinstance(e.get("code"), str) and e.get("code") != "" and isinstance(e.get("message"), str) \
        and e.get("message") != "" and (code is None or e.get("code") == code)
    ok(good, desc, repr(r))
    return e or {}


def wait_for(cond, timeout, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def subtests(ctx, *funcs):
    """Runs each part against one server; an exception fails that part only."""
    for f in funcs:
        print(f"# {f.__name__}", flush=True)
        try:
            f(ctx)
        except Exception:
            ok(False, f"{f.__name__} raised", traceback.format_exc())


# ---- 1-9: one server ----

class Ctx:
    pass


def part1_trigger_to_file(c):
    srv, env = c.srv, c.env
    r = srv.post("/api/v1/reports/echo/runs", {"as_of": "2025-01-15", "params": {"message": "hej verden"}})
    eq(r.status, 202, "trigger: POST /api/v1/reports/echo/runs answers 202")
    run = (r.json() or {}).get("run") or {}
    rid = run.get("id")
    ok(isinstance(rid, int) and rid > 0, "trigger: the body is the run with its id", repr(r))
    eq(r.headers.get("Location"), f"/api/v1/runs/{rid}", "trigger: Location names the run")
    eq(run.get("status"), "queued", "trigger: the run is queued")
    eq((run.get("report"), run.get("trigger"), run.get("as_of"), run.get("params")),
       ("echo", "api", "2025-01-15", {"message": "hej verden"}), "trigger: report, trigger, as_of and params")
    ok("json" in (r.headers.get("Content-Type") or ""), "trigger: the reply is JSON", repr(r))
    run = srv.wait_run(rid)
    c.echo_id = rid
    eq(run and run.get("status"), "succeeded", "the echo run succeeds")
    ok(run and run.get("started_at") and run.get("finished_at")
       and ts(run["queued_at"]) <= ts(run["started_at"]) <= ts(run["finished_at"]),
       "it has queued_at <= started_at <= finished_at", run)
    eq(run and run.get("error"), None, "a succeeded run has no error")
    files = (run or {}).get("files") or []
    eq([f.get("name") for f in files], ["document.json", "echo.pdf"],
       "its files are the document model and the PDF")
    f = files[0] if files else {}
    ok(isinstance(f.get("size"), (int, float)) and f.get("size", 0) > 0, "the file has a size", f)
    ok(re.fullmatch(r"[0-9a-f]{64}", f.get("sha256", "")) is not None, "the file has a sha256", f)
    eq(f.get("url"), f"/api/v1/runs/{rid}/files/document.json", "the file has its URL")
    fr = srv.get(f.get("url") or f"/api/v1/runs/{rid}/files/document.json")
    eq(fr.status, 200, "GET the file answers 200")
    eq(hashlib.sha256(fr.body).hexdigest(), f.get("sha256"), "the served bytes have the listed sha256")
    eq(len(fr.body), f.get("size"), "the served bytes have the listed size")
    ok((fr.headers.get("Content-Type") or "").startswith("application/json"), "served as application/json",
       repr(fr))
    doc = fr.json() or {}
    ok("besked hej verden" in json.dumps(doc, ensure_ascii=False) and "2025-01-15" in json.dumps(doc),
       "the document has the params and as_of of the trigger", doc)
    eq(doc.get("subtitle"), "Hej fra konfigurationen", "the plugin saw the report's settings")
    eq(env.sql(f"SELECT report, trigger_kind, status, as_of, started_at IS NOT NULL, finished_at IS NOT NULL "
               f"FROM runs WHERE id = {rid}"),
       [["echo", "api", "succeeded", "2025-01-15", "1", "1"]], "the runs row is there, succeeded")
    eq(env.sql(f"SELECT seq, recipient, template, dedupe_key FROM run_notices WHERE run_id = {rid}"),
       [["1", "it_support", "echo/notice", "echo:2025-01-15"]], "its run_notices row is there")
    path = os.path.join(env.state, "runs", str(rid), "document.json")
    eq(env.sql(f"SELECT name, size, sha256 FROM run_files WHERE run_id = {rid} ORDER BY name"),
       [[x.get("name"), str(x.get("size")), x.get("sha256")] for x in files],
       "its run_files rows match the API")
    pdf = next((x for x in files if x.get("name") == "echo.pdf"), None)
    pr = srv.get(pdf["url"]) if pdf else None
    ok(pr is not None and pr.status == 200 and pr.body.startswith(b"%PDF-")
       and (pr.headers.get("Content-Type") or "").startswith("application/pdf")
       and hashlib.sha256(pr.body).hexdigest() == pdf.get("sha256"),
       "the PDF is served as application/pdf with the listed sha256", pdf)
    ok(os.path.isfile(path), f"the file is on disk under state_dir/runs/{rid}")
    if os.path.isfile(path):
        with open(path, "rb") as fh:
            eq(fh.read(), fr.body, "the file on disk is what was served")
    ok(srv.wait_idle(), "the server is idle after the run")


def part2_crash(c):
    srv = c.srv
    health = []

    def probe():
        try:
            health.append(request(srv.port, "GET", "/healthz", timeout=5).status)
        except OSError as e:
            health.append(repr(e))

    r, rid = srv.trigger("crash")
    eq(r.status, 202, "crash: triggered")
    run = srv.wait_run(rid, during=probe)
    c.crash_id = rid
    eq(run and run.get("status"), "crashed", "crash: the run ends crashed")
    ok(run and "SIGSEGV" in (run.get("error") or ""), "crash: its error names SIGSEGV", run)
    for _ in range(5):
        probe()
        time.sleep(0.1)
    ok(len(health) >= 5 and all(h == 200 for h in health), f"/healthz answered 200 during and after ({len(health)})",
       health)
    r, eid = srv.trigger("echo")
    eq(r.status, 202, "crash: an echo triggered right after is accepted")
    run = srv.wait_run(eid)
    eq(run and run.get("status"), "succeeded", "crash: that echo run succeeds")
    ok(srv.proc.poll() is None, "crash: overblikd is still running")
    srv.wait_idle()


def part3_timeout(c):
    srv = c.srv
    r, rid = srv.trigger("hang")
    eq(r.status, 202, "hang: triggered")
    run = srv.wait_run(rid, timeout=30)
    c.hang_id = rid
    eq(run and run.get("status"), "timeout", "hang: the run ends timeout")
    if run and run.get("started_at") and run.get("finished_at"):
        d = (ts(run["finished_at"]) - ts(run["started_at"])).total_seconds()
        ok(1.5 <= d <= 10, f"hang: killed about 2 s after it started ({d:.2f} s)", run)
    else:
        ok(False, "hang: killed about 2 s after it started", run)
    ok(run and "timeout" in (run.get("error") or ""), "hang: its error mentions the timeout", run)
    ok(srv.wait_log(f"run {rid}: hang passed its timeout of 2 s"), "hang: the log says it passed its timeout",
       srv.log())
    srv.wait_idle()


def part4_abi_refused(c):
    srv = c.srv
    lines = [l for l in srv.log().splitlines() if "abi_future.so" in l]
    ok(any("built for ABI 3" in l and "refused" in l for l in lines),
       "the log names abi_future.so refused as built for ABI 3", "\n".join(lines) or srv.log())
    text = srv.metrics_text()
    m = parse_metrics(text)
    eq(m.get("overblik_plugin_load_failures"), 2.0, "/metrics: overblik_plugin_load_failures 2 (abi_future, ctor_crash)")
    ok(re.search(r'^overblik_plugin_refused\{file="ctor_crash\.so",reason="[^"\n]*crashed[^\n]*SIGSEGV|'
                 r'^overblik_plugin_refused\{file="ctor_crash\.so",reason="[^"\n]*crashed the process \(Segmentation',
                 text, re.M),
       "/metrics: ctor_crash.so, whose constructor crashes, is refused for crashing the loader; overblikd lives",
       text)
    ok(any("ctor_crash.so refused" in l for l in srv.log().splitlines()), "the log names ctor_crash.so refused")
    # The inventory is taken again without ctor_crash.so: each file is still logged once.
    log = srv.log()
    counts = {f: len(re.findall(r"plugins: loaded " + f + " ", log)) for f in FIXTURE_PLUGINS}
    counts.update({f + ".so": len(re.findall("/" + f + r"\.so refused", log)) for f in ("abi_future", "ctor_crash")})
    eq(counts, {k: 1 for k in counts}, "the log names each plugin loaded or refused once", log)
    eq(m.get("overblik_plugins_loaded"), 6.0, "/metrics: overblik_plugins_loaded 6")
    ok(re.search(r'^overblik_plugin_refused\{file="abi_future\.so",reason="[^"\n]*ABI 3[^\n]*"\} 1$', text, re.M),
       "/metrics: an overblik_plugin_refused line names abi_future.so and why", text)
    r = srv.get("/api/v1/reports")
    eq(r.status, 200, "GET /api/v1/reports answers 200")
    names = sorted(x.get("name") for x in (r.json() or {}).get("reports", []))
    eq(names, FIXTURE_PLUGINS, "the loaded plugins are listed and abi_future and ctor_crash are not")
    r = srv.post("/api/v1/reports/abi_future/runs", {})
    check_error(r, 404, "POST /api/v1/reports/abi_future/runs answers 404 in JSON", "not_found")


def part5_metrics(c):
    srv, env = c.srv, c.env
    srv.wait_idle()

    def counted():
        m = srv.metrics()
        ended = int(env.scalar("SELECT COUNT(*) FROM runs WHERE status IN "
                               "('succeeded','failed','timeout','crashed')"))
        return m if m.get("overblik_run_duration_seconds_count") == ended else None

    m = wait_for(counted, 5) or srv.metrics()
    ended = int(env.scalar("SELECT COUNT(*) FROM runs WHERE status IN ('succeeded','failed','timeout','crashed')"))
    ok(m.get('overblik_runs_total{report="echo",status="succeeded"}', 0) >= 2,
       "/metrics: echo succeeded >= 2", m.get('overblik_runs_total{report="echo",status="succeeded"}'))
    eq(m.get('overblik_runs_total{report="crash",status="crashed"}'), 1.0, "/metrics: crash crashed 1")
    eq(m.get('overblik_runs_total{report="hang",status="timeout"}'), 1.0, "/metrics: hang timeout 1")
    eq(m.get('overblik_runs_total{report="echo",status="crashed"}', 0.0), 0.0, "/metrics: echo crashed 0")
    eq(m.get("overblik_run_duration_seconds_count"), float(ended),
       f"/metrics: the duration histogram counts every ended run ({ended})")
    eq(m.get('overblik_run_duration_seconds_bucket{le="+Inf"}'), float(ended), "/metrics: the +Inf bucket too")
    ok(m.get("overblik_run_duration_seconds_sum", 0) >= 1.5, "/metrics: the duration sum includes the 2 s timeout",
       m.get("overblik_run_duration_seconds_sum"))
    eq((m.get("overblik_runs_queued"), m.get("overblik_runs_running")), (0.0, 0.0),
       "/metrics: nothing queued or running when idle")
    eq(m.get("overblik_database_up"), 1.0, "/metrics: the database is up")


def part6_auth_and_bad_requests(c):
    srv, env = c.srv, c.env
    runs_before = env.scalar("SELECT COUNT(*) FROM runs")
    p = "/api/v1/reports/echo/runs"
    r = request(srv.port, "POST", p, body={})
    e = check_error(r, 401, "no token: 401 with error.code and error.message", "unauthorized")
    ok("Bearer" in (r.headers.get("WWW-Authenticate") or ""), "no token: WWW-Authenticate: Bearer", repr(r))
    r = request(srv.port, "GET", "/api/v1/runs")
    check_error(r, 401, "no token on a GET: 401")
    r = request(srv.port, "POST", p, body={}, token="not-" + OPERATOR)
    check_error(r, 401, "unknown token: 401", "unauthorized")
    r = request(srv.port, "GET", "/api/v1/runs", headers={"Authorization": "Basic " + OPERATOR})
    check_error(r, 401, "a token not sent as Bearer: 401")
    r = srv.post(p, {}, token=VIEWER)
    e = check_error(r, 403, "viewer POST: 403", "forbidden")
    ok("the-viewer" in e.get("message", ""), "viewer POST: the message names the token's name", e)
    r = srv.get("/api/v1/runs", token=VIEWER)
    eq(r.status, 200, "viewer GET /api/v1/runs: 200")
    r = srv.get(f"/api/v1/runs/{c.echo_id}", token=VIEWER)
    eq(r.status, 200, "viewer GET /api/v1/runs/ID: 200")
    r = srv.get(f"/api/v1/runs/{c.echo_id}", token=OPERATOR)
    eq(r.status, 200, "operator GET /api/v1/runs/ID: 200")

    big = '{"params": {"x": "' + "a" * (70 * 1024) + '"}}'
    r = srv.post(p, big)
    check_error(r, 413, "a body over 64 KiB: 413", "too_large")
    r = srv.post(p, '{"as_of": "2025-01-01",')
    e = check_error(r, 400, "malformed JSON: 400")
    ok(re.search(r"not JSON|syntax", e.get("message", "")) is not None, "malformed JSON: the message names it",
       e)
    r = srv.post(p, '{"as_of": 2025-01-01}')
    check_error(r, 400, "malformed JSON (a bare date): 400")
    r = srv.post(p, "[1, 2]")
    check_error(r, 400, "a JSON body that is not an object: 400")
    r = srv.post(p, {"as_of": "2025-01-01", "color": "red"})
    e = check_error(r, 400, "unknown key in the body: 400")
    ok("color" in e.get("message", ""), "unknown key: the message names the key", e)
    for bad in ["2025-13-45", "yesterday", "2025-02-30", "20250101", ""]:
        r = srv.post(p, {"as_of": bad})
        e = check_error(r, 400, f"as_of {bad!r}: 400")
    ok("as_of" in e.get("message", ""), "bad as_of: the message names as_of", e)
    r = srv.post(p, {"params": {"n": 3}})
    check_error(r, 400, "a param that is not a string: 400")
    r = srv.post(p, {"dry_run": "yes"})
    check_error(r, 400, "dry_run not a boolean: 400")
    r = srv.post("/api/v1/reports/nosuchreport/runs", {})
    check_error(r, 404, "unknown report: 404", "not_found")
    r = srv.get("/api/v1/runs/987654")
    check_error(r, 404, "unknown run id: 404", "not_found")
    r = srv.get("/api/v1/runs/abc")
    check_error(r, 404, "a run id that is not a number: 404")
    r = srv.get("/api/v1/nothing/here")
    check_error(r, 404, "unknown endpoint: 404")
    r = srv.get(p)
    check_error(r, 405, "GET on the POST endpoint: 405", "method_not_allowed")
    eq(r.headers.get("Allow"), "POST", "405: Allow: POST")
    r = srv.post("/api/v1/runs", {})
    check_error(r, 405, "POST on /api/v1/runs: 405")
    eq(r.headers.get("Allow"), "GET", "405: Allow: GET")
    r = request(srv.port, "DELETE", "/healthz")
    check_error(r, 405, "DELETE /healthz: 405")

    rid = c.echo_id
    for path in [f"/api/v1/runs/{rid}/files/../../etc/passwd",
                 f"/api/v1/runs/{rid}/files/..%2F..%2Fetc%2Fpasswd",
                 f"/api/v1/runs/{rid}/files/..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
                 f"/api/v1/runs/{rid}/files/%2Fetc%2Fpasswd",
                 f"/api/v1/runs/{rid}/files/..%5C..%5Cetc%5Cpasswd",
                 f"/api/v1/runs/{rid}/files/..",
                 f"/api/v1/runs/{rid}/files/.%2Fdocument.json"]:
        r = srv.get(path)
        check_error(r, (400, 404), f"{path}: 400 or 404")
        ok(b"root:" not in r.body, f"{path}: never the file", repr(r))
    r = srv.get(f"/api/v1/runs/{c.crash_id}/files/document.json")
    check_error(r, 404, "a run's file under another run id: 404", "not_found")
    r = srv.get(f"/api/v1/runs/{rid}/files/nosuch.json")
    check_error(r, 404, "a file the run does not have: 404", "not_found")
    eq(env.scalar("SELECT COUNT(*) FROM runs"), runs_before, "no refused request made a run")


def part7_run_filters(c):
    srv, env = c.srv, c.env
    r = srv.get("/api/v1/runs?report=echo&limit=100")
    j = r.json() or {}
    runs = j.get("runs", [])
    n_echo = int(env.scalar("SELECT COUNT(*) FROM runs WHERE report = 'echo'"))
    eq(r.status, 200, "?report=echo: 200")
    ok(len(runs) == n_echo and all(x.get("report") == "echo" for x in runs),
       f"?report=echo: only and all echo runs ({n_echo})", [(x.get("id"), x.get("report")) for x in runs])
    eq(j.get("total"), n_echo, "?report=echo: total counts them")
    eq([x.get("id") for x in runs], sorted((x.get("id") for x in runs), reverse=True), "runs are newest first")
    r = srv.get("/api/v1/runs?status=crashed")
    runs = (r.json() or {}).get("runs", [])
    ok(len(runs) == 1 and runs[0].get("status") == "crashed" and runs[0].get("id") == c.crash_id,
       "?status=crashed: only the crashed run", runs)
    r = srv.get("/api/v1/runs?report=hang&status=timeout")
    eq([x.get("id") for x in (r.json() or {}).get("runs", [])], [c.hang_id], "?report=hang&status=timeout")
    r = srv.get("/api/v1/runs?report=echo&status=crashed")
    eq(((r.json() or {}).get("runs"), (r.json() or {}).get("total")), ([], 0), "filters combine: none")
    total = int(env.scalar("SELECT COUNT(*) FROM runs"))
    ids = [int(x[0]) for x in env.sql("SELECT id FROM runs ORDER BY id DESC")]
    r = srv.get("/api/v1/runs?limit=1&offset=1")
    j = r.json() or {}
    eq(([x.get("id") for x in j.get("runs", [])], j.get("total"), j.get("limit"), j.get("offset")),
       (ids[1:2], total, 1, 1), "?limit=1&offset=1: the second newest run, with total, limit and offset")
    r = srv.get(f"/api/v1/runs?limit=2&offset={total}")
    eq(((r.json() or {}).get("runs"), (r.json() or {}).get("total")), ([], total), "an offset past the end: none")
    check_error(srv.get("/api/v1/runs?status=bogus"), 400, "?status=bogus: 400")
    check_error(srv.get("/api/v1/runs?limit=0"), 400, "?limit=0: 400")
    check_error(srv.get("/api/v1/runs?limit=abc"), 400, "?limit=abc: 400")
    check_error(srv.get("/api/v1/runs?offset=-1"), 400, "?offset=-1: 400")


def part8_reports(c):
    srv, env = c.srv, c.env
    r = srv.get("/api/v1/reports")
    eq(r.status, 200, "GET /api/v1/reports: 200")
    reps = {x.get("name"): x for x in (r.json() or {}).get("reports", [])}
    echo = reps.get("echo", {})
    eq(echo.get("schedule"), "0 7 * * *", "echo has its schedule")
    fires = echo.get("next_fires") or []
    ok(len(fires) == 5, "echo has 5 next_fires", fires)
    try:
        dts = [datetime.datetime.fromisoformat(f) for f in fires]
    except (TypeError, ValueError):
        dts = []
    ok(len(dts) == 5 and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", f) for f in fires)
       and all(d.utcoffset() is not None for d in dts), "next_fires are ISO 8601 with an offset", fires)
    ok(len(dts) == 5 and all((d.hour, d.minute, d.second) == (7, 0, 0) for d in dts), "next_fires are at 07:00",
       fires)
    ok(len(dts) == 5 and all((dts[i + 1].date() - dts[i].date()).days == 1 for i in range(4)),
       "next_fires are on consecutive days", fires)
    now = datetime.datetime.now(datetime.timezone.utc)
    ok(len(dts) == 5 and now < dts[0] <= now + datetime.timedelta(days=1), "the first fire is within a day", fires)
    try:
        from zoneinfo import ZoneInfo
        cph = ZoneInfo("Europe/Copenhagen")
        ok(len(dts) == 5 and all(d.utcoffset() == d.astimezone(cph).utcoffset() and d.astimezone(cph).hour == 7
                                 for d in dts), "next_fires are 07:00 in Europe/Copenhagen (the default zone)",
           fires)
    except Exception as ex:  # no tzdata for Python
        obtest.skip("next_fires are 07:00 in Europe/Copenhagen", repr(ex))
    last_echo = int(env.scalar("SELECT MAX(id) FROM runs WHERE report = 'echo'"))
    eq((echo.get("last_run") or {}).get("id"), last_echo, "echo's last_run is its newest run")
    eq((reps.get("hang", {}).get("last_run") or {}).get("status"), "timeout", "hang's last_run is the timeout")
    eq(reps.get("fails", {}).get("last_run", "missing"), None, "a report never run has last_run null")
    eq((reps.get("fails", {}).get("schedule", "missing"), reps.get("fails", {}).get("next_fires")), (None, []),
       "an unscheduled report has schedule null and no next_fires")
    eq(reps.get("hang", {}).get("timeout"), 2, "hang shows its configured timeout")
    check_error(srv.get("/api/v1/reports", token=None), 401, "GET /api/v1/reports without a token: 401")


def part9_concurrency(c):
    srv, env = c.srv, c.env
    srv.wait_idle()
    queued = []
    r1, b1 = srv.trigger("burn", {"params": {"seconds": "2"}})
    r2, b2 = srv.trigger("burn", {"params": {"seconds": "2"}})
    r3, e1 = srv.trigger("echo")
    eq((r1.status, r2.status, r3.status), (202, 202, 202), "max_runs 1: burn, burn and echo triggered")

    def probe():
        queued.append(srv.metrics().get("overblik_runs_queued"))

    probe()
    runs = [srv.wait_run(i, timeout=30, during=probe) for i in (b1, b2, e1)]
    eq([x and x.get("status") for x in runs], ["succeeded"] * 3, "max_runs 1: all three succeed")
    ok(queued and queued[0] == 2.0, "/metrics showed 2 runs queued while the first burn ran", queued)
    ok(any(q and q >= 1 for q in queued), "/metrics: overblik_runs_queued >= 1 while waiting", queued)
    if all(x and x.get("started_at") and x.get("finished_at") for x in runs):
        iv = sorted((ts(x["started_at"]), ts(x["finished_at"]), x["id"]) for x in runs)
        ok(ts(runs[1]["started_at"]) >= ts(runs[0]["finished_at"]),
           "the second burn starts after the first finished", runs)
        ok(all(iv[i + 1][0] >= iv[i][1] for i in range(2)), "no two of the three runs overlap (max_runs 1)",
           [(str(a), str(b), i) for a, b, i in iv])
        eq([i for _, _, i in iv], [b1, b2, e1], "they ran in the order queued")
    else:
        ok(False, "the runs have their times", runs)
    d = env.sql(f"SELECT TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) FROM runs WHERE id = {b1}")
    ok(d and int(d[0][0]) >= 1_900_000, "the burn ran its 2 s (the param reached the plugin)", d)
    srv.wait_idle()


def test_one_server():
    with Env("server") as env:
        env.start_db()
        c = Ctx()
        c.env = env
        port = free_port()
        write_config(env.config, env, base_config(port, max_runs=1, reports={
            "echo": {"schedule": "0 7 * * *", "settings": {"greeting": "Hej fra konfigurationen"}},
            "hang": {"timeout": 2}}))
        c.srv = Server(env, port)
        try:
            c.srv.start()
            subtests(c, part1_trigger_to_file, part2_crash, part3_timeout, part4_abi_refused, part5_metrics,
                     part6_auth_and_bad_requests, part7_run_filters, part8_reports, part9_concurrency)
        finally:
            rc = c.srv.stop()
        eq(rc, 0, "overblikd exits 0 on SIGTERM")
        log = c.srv.log()
        ok(VIEWER not in log and OPERATOR not in log, "no token appears in the server's log")
        ok("the-viewer" in log, "the log names a refused token by its name", log)


# ---- 10: two servers, one database ----

def test_two_servers_fire_once():
    with Env("twoservers") as env:
        env.start_db()
        pa, pb = free_port(), free_port()
        cfg_b = os.path.join(env.dir, "overblik-b.json")
        reports = {"echo": {"schedule": "* * * * *"}}
        write_config(env.config, env, base_config(pa, reports=reports))
        write_config(cfg_b, env, base_config(pb, reports=reports))
        a = Server(env, pa, name="a")
        b = Server(env, pb, cfg_b, name="b")
        try:
            a.start()
            b.start()
            now = time.time()
            boundary = (int(now) // 60 + 1) * 60
            if boundary - now < 3:  # too close to tell it from the start: take the next
                boundary += 60
            time.sleep(max(0, boundary + 8 - time.time()))

            def settled():
                rows = env.sql("SELECT COUNT(*) FROM runs WHERE trigger_kind = 'schedule' AND status IN "
                               "('queued', 'running')")
                return rows[0][0] == "0"

            wait_for(settled, 10)
            fires = env.sql("SELECT UNIX_TIMESTAMP(f.fire_at), f.outcome, (SELECT COUNT(*) FROM runs r WHERE "
                            "r.report = 'echo' AND r.trigger_kind = 'schedule' AND r.scheduled_for = f.fire_at) "
                            "FROM schedule_fires f WHERE f.report = 'echo' ORDER BY f.fire_at")
            at = [int(x[0]) for x in fires]
            ok(boundary in at, f"the fire at the minute boundary ({boundary}) is recorded", fires)
            eq(len(at), len(set(at)), "one schedule_fires row per fire time")
            ok(fires and all(x[1] == "claimed" and x[2] == "1" for x in fires),
               "exactly one echo run with trigger schedule per fire time", fires)
            n = int(env.scalar("SELECT COUNT(*) FROM runs WHERE report = 'echo' AND trigger_kind = 'schedule'"))
            eq(n, len(fires), "no scheduled echo run without its fire")
            eq(env.sql("SELECT DISTINCT status FROM runs WHERE trigger_kind = 'schedule'"), [["succeeded"]],
               "the scheduled runs succeeded")
            row = env.sql(f"SELECT DATE_FORMAT(CONVERT_TZ(scheduled_for, @@session.time_zone, '+00:00'), "
                          f"'%Y-%m-%dT%H:%i:%sZ') FROM runs WHERE trigger_kind = 'schedule' AND "
                          f"UNIX_TIMESTAMP(scheduled_for) = {boundary}")
            api = [x for x in (a.get("/api/v1/runs?report=echo").json() or {}).get("runs", [])
                   if x.get("trigger") == "schedule"]
            want = datetime.datetime.fromtimestamp(boundary, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            ok(any(x.get("scheduled_for") == want for x in api), f"the API shows the run scheduled_for {want}",
               (api, row))
            logs = a.log() + b.log()
            eq(len(re.findall(r"schedule echo: fire at \S+: 1 run", logs)), len(fires),
               "one 'fire at' log line per fire, across both servers")
            ok(a.proc.poll() is None and request(pa, "GET", "/healthz").status == 200, "server A still healthy")
            ok(b.proc.poll() is None and request(pb, "GET", "/healthz").status == 200, "server B still healthy")
        finally:
            rb = b.stop()
            ra = a.stop()
        eq((ra, rb), (0, 0), "both exit 0 on SIGTERM")


# ---- 11: catch-up ----

def fires_of(env):
    return [(int(x[0]), x[1]) for x in env.sql("SELECT UNIX_TIMESTAMP(fire_at), outcome FROM schedule_fires "
                                               "WHERE report = 'echo' ORDER BY fire_at")]


def test_catch_up():
    with Env("catchup") as env:
        env.start_db()
        r = env.run("migrate")
        ok(r.returncode == 0, "catch-up: the schema is there before the first start", r.stderr)
        now = time.time()
        if (int(now) // 3600 + 1) * 3600 - now < 40:  # do not straddle the next hourly fire
            time.sleep((int(now) // 3600 + 1) * 3600 - now + 2)
        h0 = int(time.time()) // 3600 * 3600
        env.sql(f"INSERT INTO schedule_fires (report, fire_at, outcome, claimed_by) "
                f"VALUES ('echo', FROM_UNIXTIME({h0 - 3 * 3600}), 'claimed', 'the test')")
        port = free_port()
        write_config(env.config, env, base_config(port, reports={"echo": {"schedule": "0 * * * *"}}))
        srv = Server(env, port, name="first")
        try:
            srv.start()
            wait_for(lambda: len(fires_of(env)) >= 4 and env.scalar(
                "SELECT COUNT(*) FROM runs WHERE status IN ('queued','running')") == "0"
                and env.scalar("SELECT COUNT(*) FROM runs") != "0", 20)
            eq(fires_of(env), [(h0 - 3 * 3600, "claimed"), (h0 - 2 * 3600, "missed"), (h0 - 3600, "missed"),
                               (h0, "claimed")],
               "catch-up: the fires 2 h and 1 h ago are missed, the latest is claimed")
            runs = env.sql("SELECT report, trigger_kind, UNIX_TIMESTAMP(scheduled_for), status FROM runs")
            eq(runs, [["echo", "schedule", str(h0), "succeeded"]],
               "catch-up: one echo run, trigger schedule, for the latest fire, succeeded")
            ok(srv.wait_log("was missed (past its catch-up window)"), "catch-up: the log names the missed fires",
               srv.log())
        finally:
            eq(srv.stop(), 0, "catch-up: the first server exits 0")
        before = (fires_of(env), env.sql("SELECT id, status FROM runs ORDER BY id"))
        srv = Server(env, port, name="again")
        try:
            srv.start()
            time.sleep(2)
            srv.wait_idle(10)
            eq((fires_of(env), env.sql("SELECT id, status FROM runs ORDER BY id")), before,
               "catch-up: a restart runs nothing again and records no fire")
            ok("fire at" not in srv.log(), "catch-up: the restart logs no fire", srv.log())
        finally:
            srv.stop()

        # catch_up_hours 0: nothing runs, the latest is missed too
        env.sql("DELETE FROM schedule_fires")
        env.sql(f"INSERT INTO schedule_fires (report, fire_at, outcome, claimed_by) "
                f"VALUES ('echo', FROM_UNIXTIME({h0 - 3 * 3600}), 'claimed', 'the test')")
        runs_before = env.sql("SELECT id FROM runs ORDER BY id")
        write_config(env.config, env, base_config(port, reports={"echo": {"schedule": "0 * * * *",
                                                                          "catch_up_hours": 0}}))
        srv = Server(env, port, name="zero")
        try:
            srv.start()
            wait_for(lambda: len(fires_of(env)) >= 4, 20)
            time.sleep(1.5)
            srv.wait_idle(10)
            eq(fires_of(env), [(h0 - 3 * 3600, "claimed"), (h0 - 2 * 3600, "missed"), (h0 - 3600, "missed"),
                               (h0, "missed")], "catch_up_hours 0: every fire, the latest too, is recorded missed")
            eq(env.sql("SELECT id FROM runs ORDER BY id"), runs_before, "catch_up_hours 0: nothing runs")
        finally:
            srv.stop()
        srv = Server(env, port, name="zero-again")
        try:
            srv.start()
            time.sleep(2)
            eq((len(fires_of(env)), env.sql("SELECT id FROM runs ORDER BY id")), (4, runs_before),
               "catch_up_hours 0: a restart runs nothing either")
        finally:
            srv.stop()


# ---- 12 and 13: signals ----

def test_sighup():
    with Env("sighup") as env:
        env.start_db()
        port = free_port()
        good = base_config(port, reports={"echo": {"settings": {"greeting": "Første hilsen"}}})
        write_config(env.config, env, good)
        srv = Server(env, port)
        try:
            srv.start()
            r, rid = srv.trigger("echo")
            run = srv.wait_run(rid)
            eq(run and run.get("status"), "succeeded", "sighup: a run before the reload succeeds")
            with open(env.config, "w") as f:
                f.write('{"state_dir": "' + env.state + '", "reports": {')
            srv.signal(signal.SIGHUP)
            ok(srv.wait_log("the new configuration is refused"), "sighup: the log says the broken config is refused",
               srv.log())
            line = [l for l in srv.log().splitlines() if "configuration is refused" in l]
            ok(line and env.config in line[0] and "JSON syntax error" in line[0],
               "sighup: the refusal names the file and the syntax error", line)
            ok(srv.proc.poll() is None, "sighup: overblikd still runs")
            eq(request(port, "GET", "/healthz").status, 200, "sighup: /healthz still 200")
            r, rid = srv.trigger("echo")
            eq(r.status, 202, "sighup: a trigger is still accepted (the old tokens hold)")
            run = srv.wait_run(rid, timeout=15)
            ok(run and run.get("status") in ENDED, "sighup: the run triggered under the kept config ends "
                                                  "(is not left queued)", json.dumps(run, ensure_ascii=False))
            ok(run and run.get("status") == "succeeded", "sighup: the run triggered under the kept config succeeds",
               json.dumps(run, ensure_ascii=False))
            ok(srv.wait_idle(5), "sighup: nothing left running or queued")
            good["reports"]["echo"]["settings"]["greeting"] = "Anden hilsen"
            good["reports"]["echo"]["settings"]["new_setting"] = "ny"
            good["timezone"] = "Europe/London"
            write_config(env.config, env, good)
            srv.signal(signal.SIGHUP)
            ok(srv.wait_log(f"SIGHUP: configuration {env.config} and 6 plugins loaded"),
               "sighup: the log says the new configuration and the plugins are loaded", srv.log())
            r, rid = srv.trigger("echo")
            run = srv.wait_run(rid)
            eq(run and run.get("status"), "succeeded", "sighup: a run after the good reload succeeds")
            doc = srv.get(f"/api/v1/runs/{rid}/files/document.json").json() or {}
            eq(doc.get("subtitle"), "Anden hilsen", "sighup: the run sees the new setting")
            ok("/timezone changed to Europe/London; that takes a restart, still using Europe/Copenhagen" in srv.log(),
               "sighup: a new time zone is logged as taking a restart", srv.log()[-800:])
            with open(os.path.join(env.state, "overblikd.json")) as f:
                eq(json.load(f).get("timezone"), "Europe/Copenhagen", "sighup: the workers keep the zone in force")
        finally:
            eq(srv.stop(), 0, "sighup: overblikd exits 0")


def test_sigterm_waits():
    with Env("sigterm") as env:
        env.start_db()
        port = free_port()
        write_config(env.config, env, base_config(port, grace_period=10, max_runs=1))
        srv = Server(env, port)
        try:
            srv.start()
            r, bid = srv.trigger("burn", {"params": {"seconds": "3"}})
            r2, eid = srv.trigger("echo")
            run = srv.wait_status(bid, ("running",) + ENDED)
            eq(run and run.get("status"), "running", "sigterm: the burn is running")
            t0 = time.time()
            srv.signal(signal.SIGTERM)
            try:
                rc = srv.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                rc = None
            took = time.time() - t0
            eq(rc, 0, "sigterm: overblikd exits 0")
            ok(rc is not None and 1.0 <= took < 10, f"sigterm: it waited for the run, within the grace period "
                                                    f"({took:.1f} s)")
            eq(env.sql(f"SELECT status, error IS NULL FROM runs WHERE id = {bid}"), [["succeeded", "1"]],
               "sigterm: the running burn finished and succeeded")
            # A server fails only what its workers claimed: the echo it
            # had not started stays queued, for the next start.
            eq(env.sql(f"SELECT status, error IS NULL FROM runs WHERE id = {eid}"), [["queued", "1"]],
               "sigterm: the queued echo never started and is left queued, without an error")
            log = srv.log()
            ok("waiting up to 10 s for 1 running run" in log, "sigterm: the log says it waits for the run", log)
            ok("1 run that had not started stays queued" in log, "sigterm: the log says the echo stays queued", log)
            ok("overblikd: stopped" in log, "sigterm: the log says it stopped", log)
            ok("killing it" not in log, "sigterm: nothing was killed", log)
        finally:
            srv.stop()
        srv = Server(env, port, name="again")
        try:
            srv.start()
            ok(wait_for(lambda: env.scalar(f"SELECT status FROM runs WHERE id = {eid}") == "succeeded", 20),
               "sigterm: the next start runs the echo left queued", env.sql("SELECT id, status, error FROM runs"))
        finally:
            srv.stop()


def test_second_server_stops():
    """A second overblikd on the database takes the first one's queue at
    start (recovery); its SIGTERM fails only what its own worker claimed:
    the first server's queued runs stay queued and the first runs them."""
    with Env("secondstop") as env:
        env.start_db()
        pa, pb = free_port(), free_port()
        cfg_b = os.path.join(env.dir, "overblik-b.json")
        reports = {"hang": {"timeout": 12}}
        write_config(env.config, env, base_config(pa, max_runs=1, reports=reports))
        write_config(cfg_b, env, base_config(pb, max_runs=1, grace_period=1, reports=reports))
        a = Server(env, pa, name="a")
        b = Server(env, pb, cfg_b, name="b")
        try:
            a.start()
            _, h1 = a.trigger("hang")
            eq(a.wait_status(h1, ("running",)) and "running", "running", "second: A runs hang 1 (12 s timeout)")
            _, h2 = a.trigger("hang")
            echos = [a.trigger("echo")[1] for _ in range(4)]
            eq(env.scalar("SELECT COUNT(*) FROM runs WHERE status = 'queued'"), "5",
               "second: hang 2 and four echos wait in A's queue")
            b.start()
            ok(b.wait_log(f"run {h2}: hang started", 10), "second: B took hang 2 from the shared queue", b.log())
            eq(b.stop(), 0, "second: B exits 0 on SIGTERM")
            st = env.sql(f"SELECT status, error FROM runs WHERE id = {h2}")
            ok(st and st[0][0] == "failed" and "grace period" in (st[0][1] or ""),
               "second: hang 2, claimed by B's worker, ends failed at B's grace period", st)
            ids = ", ".join(str(i) for i in echos)
            eq(env.sql(f"SELECT status, error IS NULL FROM runs WHERE id IN ({ids})"), [["queued", "1"]] * 4,
               "second: B's SIGTERM leaves A's four echos queued")
            eq(env.scalar("SELECT COUNT(*) FROM runs WHERE error LIKE '%before the run could start%'"), "0",
               "second: no run is failed for B stopping before it started")
            ok(wait_for(lambda: env.sql(f"SELECT DISTINCT status FROM runs WHERE id IN ({ids})") == [["succeeded"]],
                        40), "second: A runs the four echos after its hang", env.sql("SELECT id, status, error FROM runs"))
            eq(env.scalar(f"SELECT COUNT(*) FROM run_files WHERE run_id IN ({ids})"), "8",
               "second: each echo ran once, with its files")
            ok(a.proc.poll() is None, "second: A still runs")
        finally:
            b.stop()
            a.stop()


def test_recovery_at_start():
    """Runs left behind by a server that died: a queued one runs once at the
    next start; one left running by a worker of this host that is gone ends
    failed; a run another worker already took is not run again."""
    with Env("recover") as env:
        env.start_db()
        port = free_port()
        write_config(env.config, env, base_config(port))
        host = socket.gethostname()
        env.sql("INSERT INTO runs (report, trigger_kind, as_of, params, status) "
                "VALUES ('echo', 'api', '2026-11-26', '{}', 'queued')")
        env.sql("INSERT INTO runs (report, trigger_kind, as_of, params, status, runner, started_at) "
                f"VALUES ('echo', 'api', '2026-11-26', '{{}}', 'running', '{host}:999999', NOW())")
        srv = Server(env, port)
        try:
            srv.start()
            ok(wait_for(lambda: env.scalar("SELECT status FROM runs WHERE id = 1") == "succeeded", 20),
               "recover: the run left queued runs at start and succeeds", env.sql("SELECT id, status FROM runs"))
            st = env.sql("SELECT status, error FROM runs WHERE id = 2")
            ok(st and st[0][0] == "failed" and "gone" in (st[0][1] or ""),
               "recover: the run whose worker is gone is recorded failed", st)
            eq(env.scalar("SELECT COUNT(*) FROM run_files WHERE run_id = 1"), "2", "recover: it ran once, with its files")
        finally:
            srv.stop()
        # A second start finds nothing left to do.
        srv = Server(env, port, name="again")
        try:
            srv.start()
            time.sleep(1.5)
            eq(env.sql("SELECT id, status FROM runs ORDER BY id"), [["1", "succeeded"], ["2", "failed"]],
               "recover: a second start changes nothing")
        finally:
            srv.stop()


if __name__ == "__main__":
    run_tests(test_one_server, test_two_servers_fire_once, test_catch_up, test_sighup, test_sigterm_waits,
              test_second_server_stops, test_recovery_at_start)
