#!/usr/bin/python3
"""The plugin ABI 2.0 end to end, through tests/plugins/abi2.c, against a
private mariadbd with two demo municipalities, through `overblik run` and a
real overblikd over HTTP: REPORT.json (abi2.json) written, listed and
served with its core members; figures recorded and read back as the next
run's previous (never a dry or failed run, never a later as_of, never
another organisation's); typed settings, their defaults, and invalid ones
failing the run by JSON pointer; the calendar and Danish formatting
against hand-computed values (REPORTS.md "Calendar arithmetic"); a bullet
list in the PDF; a plugin's misbehaviour refused and logged, no crash."""

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

import obtest
from obtest import Env, eq, ok, run_tests, OVERBLIKD

PLUGIN_DIR = os.path.join(obtest.TOP_BUILDDIR, "tests/plugins/abi2/.libs")
OPERATOR = "op-" + secrets.token_hex(16)
ENDED = ("succeeded", "failed", "timeout", "crashed")

DEFAULTS = {"limit": 10, "milestones": [365, 180, 90, 30], "period": "quarter", "verbose": False,
            "label": "standard"}

# By hand, from REPORTS.md "Calendar arithmetic": a month's last day goes to
# the target month's last day; any other day is kept, clamped to the month.
ADD_MONTHS = [
    ("2026-06-30", -6, "2025-12-31"),   # last day of June -> last day of December
    ("2027-02-28", 1, "2027-03-31"),    # last day of February 2027 -> last day of March
    ("2027-08-30", -6, "2027-02-28"),   # day 30 clamped to February 2027 (28 days)
    ("2028-08-30", -6, "2028-02-29"),   # ... and to February 2028, a leap year (29 days)
    ("2026-03-15", -1, "2026-02-15"),   # an ordinary day is kept
    ("2026-01-31", 1, "2026-02-28"),    # month end -> month end
    ("2026-04-30", 1, "2026-05-31"),    # month end of a 30-day month -> 31 May, not 30 May
    ("2027-02-28", 12, "2028-02-29"),   # month end into a leap February
    ("2028-02-29", 12, "2029-02-28"),   # leap day, a month end -> 28 February 2029
    ("2028-02-28", 12, "2029-02-28"),   # not a month end in 2028: day 28 kept
    ("2026-12-31", -12, "2025-12-31"),  # across a year end
    ("2026-01-15", -13, "2024-12-15"),  # more than a year back
    ("2026-11-30", 3, "2027-02-28"),    # month end across a year end
]
END_OF = [
    ("2026-11-26", "quarter", "2026-12-31"),
    ("2026-02-10", "quarter", "2026-03-31"),
    ("2026-05-01", "quarter", "2026-06-30"),
    ("2026-08-31", "quarter", "2026-09-30"),
    ("2028-02-03", "month", "2028-02-29"),
    ("2027-02-03", "month", "2027-02-28"),
    ("2026-07-04", "year", "2026-12-31"),
    ("2026-07-04", "none", "2026-07-04"),
]
DAYS = [
    ("2028-02-28", "2028-03-01", 2),     # across the leap day
    ("2027-02-28", "2027-03-01", 1),
    ("2026-12-31", "2027-01-01", 1),
    ("2027-01-01", "2026-01-01", -365),  # to - from: negative backwards
    ("2028-01-01", "2029-01-01", 366),   # a leap year
    ("2026-11-26", "2026-11-26", 0),
]
DATE_DA = [("2026-12-31", "31. december 2026"), ("2027-01-05", "5. januar 2027"),
           ("2028-02-29", "29. februar 2028")]
# Danish numbers: thousands with ".", decimals after ",", rounded half up
# from the value's decimal form (12.25 -> 12,3; 999.995 -> 1.000,00).
NUMBER_DA = [(1234567.5, 1, "1.234.567,5"), (12.25, 1, "12,3"), (2.45, 1, "2,5"), (1234567, 0, "1.234.567"),
             (0.5, 0, "1"), (999.995, 2, "1.000,00"), (-1234.5, 1, "-1.234,5"),
             (1e20, 0, "100.000.000.000.000.000.000"), (0.049, 1, "0,0"), (0.1234565, 6, "0,123457"),
             (-0.04, 1, "0,0")]  # no "-0,0": a value that rounds to zero has no sign
# Out of range or not a date: -1 (years 1 to 9999, strictly YYYY-MM-DD).
ADD_MONTHS_BAD = [("2026-02-30", 1), ("9999-12-31", 1), ("0001-01-31", -1), ("2026-01-31", 120001),
                  ("2026-1-31", 1)]

BULLETS = ["Første punkt: opsig kontrakten i tide", "Andet punkt: æøå og ÆØÅ i en punktliste",
           "Tredje punkt: giv ejeren besked"]


# ---- helpers ----

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(port, method, path, body=None, token=OPERATOR, timeout=15):
    h = {}
    if token is not None:
        h["Authorization"] = "Bearer " + token
    if body is not None:
        body = json.dumps(body).encode("utf-8")
        h["Content-Type"] = "application/json"
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        return r.status, r.headers, r.read()
    finally:
        c.close()


def write_config(env, settings=None, port=None):
    cfg = {"state_dir": env.state, "template_dir": env.templates, "plugin_dir": PLUGIN_DIR}
    if settings is not None:
        cfg["reports"] = {"abi2": {"settings": settings}}
    if port is not None:
        cfg["http"] = {"listen": f"127.0.0.1:{port}",
                       "tokens": [{"name": "the-operator", "sha256": hashlib.sha256(OPERATOR.encode()).hexdigest(),
                                   "role": "operator"}]}
    with open(env.config, "w") as f:
        json.dump(cfg, f, indent=1)


class Server:
    def __init__(self, env, port):
        self.env, self.port = env, port
        self.logpath = os.path.join(env.dir, f"overblikd-{port}.log")
        self.logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen([OVERBLIKD, "-c", env.config], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.logf)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"overblikd exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if request(port, "GET", "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("overblikd did not answer /healthz:\n" + self.log())

    def log(self):
        with open(self.logpath, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()

    def run(self, body):
        """Triggers abi2, waits for its end; (run, report_json or None, files {name: bytes, headers})."""
        st, _, b = request(self.port, "POST", "/api/v1/reports/abi2/runs", body)
        ok(st == 202, f"POST /api/v1/reports/abi2/runs {body!r} answers 202", b[:500])
        rid = ((json.loads(b or b"{}").get("run")) or {}).get("id")
        run = None
        deadline = time.time() + 60
        while time.time() < deadline:
            st, _, b = request(self.port, "GET", f"/api/v1/runs/{rid}")
            run = (json.loads(b) if st == 200 else {}).get("run")
            if run and run.get("status") in ENDED:
                break
            time.sleep(0.1)
        files = {}
        for f in (run or {}).get("files") or []:
            st, h, body_ = request(self.port, "GET", f["url"])
            files[f["name"]] = (st, h, body_, f)
        return run, files


def org_rows(env):
    orgs = []
    for row in env.sql("SELECT id, name, cvr, kitos_uuid FROM organisations ORDER BY id"):
        orgs.append({"id": int(row[0]), "name": row[1], "cvr": None if row[2] == "NULL" else row[2],
                     "kitos_uuid": None if row[3] == "NULL" else row[3]})
    return orgs


class CliRun:
    """One `overblik run abi2` with its output, run id, and REPORT.json (copied by --out)."""

    def __init__(self, env, org, as_of, *extra, params=None, out=None):
        args = ["run", "abi2", "--as-of", as_of, "--org", org["kitos_uuid"]]
        for k, v in (params or {}).items():
            args += ["--param", f"{k}={v}"]
        self.out = out or os.path.join(env.dir, "out-" + secrets.token_hex(4))
        args += ["--out", self.out, *extra]
        r = env.run(*args)
        self.rc, self.stdout, self.text = r.returncode, r.stdout, r.stdout + r.stderr
        m = re.search(r"^run (\d+): abi2 as of (\S+): (\w+)", r.stdout, re.M)
        self.id = int(m.group(1)) if m else None
        self.status = m.group(3) if m else None
        self.report = None
        p = os.path.join(self.out, "abi2.json")
        if os.path.exists(p):
            with open(p, "rb") as f:
                self.raw = f.read()
            self.report = json.loads(self.raw)

    def doc(self):
        with open(os.path.join(self.out, "document.json"), encoding="utf-8") as f:
            return json.load(f)


def kpis(doc):
    return {e["label"]: e for e in doc.get("elements", []) if e.get("type") == "kpi"}


def count_systems(env, org):
    return int(env.scalar(f"SELECT COUNT(*) FROM systems WHERE org_id = {org['id']}"))


def db_figures(env, rid):
    f = env.scalar(f"SELECT figures FROM runs WHERE id = {int(rid)}")
    return None if f in (None, "NULL") else json.loads(f)


def run_dir(env, rid):
    return os.path.join(env.state, "runs", str(rid))


def setup(env):
    r = env.run("demo-data", "--municipalities", "2", os.path.join(env.dir, "demo"))
    ok(r.returncode == 0, "two demo municipalities generated", r.stderr)
    kitos = os.path.join(env.dir, "demo", "kitos")
    files = sorted(os.path.join(kitos, f) for f in os.listdir(kitos)) if os.path.isdir(kitos) else []
    env.start_db()
    r = env.run("import", "kitos", *files)
    ok(r.returncode == 0, "both imported", r.stderr)
    orgs = org_rows(env)
    eq(len(orgs), 2, "two organisations in one database")
    ok(all(o["kitos_uuid"] for o in orgs), "each has its KITOS uuid", orgs)
    return orgs


# ---- the checks ----

def check_report_core(env, run, org, as_of, what):
    rep = run.report or {}
    eq(rep.get("report"), "abi2", f"{what}: report")
    ok(rep.get("format") == 1 and type(rep.get("format")) is int, f"{what}: format 1, a number", rep.get("format"))
    eq(rep.get("as_of"), as_of, f"{what}: as_of")
    ok(rep.get("run") == run.id and type(rep.get("run")) is int, f"{what}: run is the run's id", rep.get("run"))
    eq(rep.get("organisation"), {"name": org["name"], "cvr": org["cvr"], "kitos_uuid": org["kitos_uuid"]},
       f"{what}: organisation equals the database's")
    eq(rep.get("figures", {}).get("systems"), count_systems(env, org),
       f"{what}: figures.systems is the organisation's count of systems")
    eq(db_figures(env, run.id), rep.get("figures"), f"{what}: runs.figures records REPORT.json's figures")


def test_cli(env, orgs, state):
    A, B = orgs
    # 1. The first run: REPORT.json written, copied, listed.
    a1 = CliRun(env, A, "2026-06-30")
    eq((a1.rc, a1.status), (0, "succeeded"), "first run succeeds", a1.text)
    ok(a1.report is not None, "--out DIR gets abi2.json", a1.text)
    listed = {os.path.basename(m.group(1)): (int(m.group(2)), m.group(3))
              for m in re.finditer(r"^  (\S+)  (\d+) bytes  sha256 ([0-9a-f]{64})$", a1.stdout, re.M)}
    ok("abi2.json" in listed and "abi2.pdf" in listed and "document.json" in listed,
       "overblik run lists abi2.json beside the PDF and document.json", a1.stdout)
    if a1.report is not None and "abi2.json" in listed:
        eq(listed["abi2.json"], (len(a1.raw), hashlib.sha256(a1.raw).hexdigest()),
           "the listed size and sha256 are the copied file's")
    db = env.sql(f"SELECT name, size, sha256 FROM run_files WHERE run_id = {a1.id} AND name = 'abi2.json'")
    eq(db, [["abi2.json", str(listed.get("abi2.json", (0, ""))[0]), listed.get("abi2.json", (0, ""))[1]]],
       "run_files has abi2.json with its size and sha256")
    check_report_core(env, a1, A, "2026-06-30", "first run")
    rep = a1.report or {}
    ok("previous" in rep and rep["previous"] is None, "first run: previous is null", rep.get("previous"))
    eq(rep.get("seen_previous"), {"as_of": None, "has_systems": 0, "systems": None, "has_nested": 0,
                                  "nested": None, "has_none": 0},
       "first run: api->previous and previous_as_of know nothing")
    ks = kpis(a1.doc())
    ok("Systemer" in ks and "previous" not in ks["Systemer"], "first run: the KPI tile has no previous", ks)
    # Settings: defaults arrive typed.
    s = rep.get("settings", {})
    eq(s, DEFAULTS, "unset settings arrive as their defaults")
    ok(type(s.get("limit")) is int and all(type(x) is int for x in s.get("milestones", [None]))
       and type(s.get("verbose")) is bool, "typed: numbers and a boolean, not text", s)
    # Figures: nested, rounded half up.
    f = rep.get("figures", {})
    eq(f.get("nested"), {"level": {"value": 7}}, "a nested figure object")
    eq((f.get("half_up_1"), f.get("half_up_2"), f.get("half_up_3"), f.get("whole")), (2.5, 12.3, 1.01, 4),
       "j_number rounds half up: 2.45 -> 2.5, 12.25 -> 12.3, 1.005 -> 1.01, 3.5 -> 4")
    ok(re.search(rb'"half_up_2":\s*12.3,', a1.raw) is not None,
       "12.25 rounded to one decimal is written 12.3 (no binary tail)", a1.raw[:2000])
    eq(rep.get("rows"), [{"n": 1, "date": "2026-12-31", "flag": True, "missing": None, "text": "Ærø"},
                         {"n": -2, "date": None, "flag": False, "missing": None, "text": None}],
       "rows of objects: j_int, j_date, j_bool, j_null, j_text")
    eq(rep.get("bullets_rc"), 0, "api->bullets returns 0")
    b = rep.get("builder", {})
    eq(b.get("rc"), {"key_in_array": -1, "array_append": 0, "null_key_in_object": -1, "empty_key": -1,
                     "null_parent": -1, "big_int": -1, "max_int": 0, "int16": 0, "nan": -1, "dec7": -1, "dec6": 0,
                     "neg_half": 0, "bad_utf8": -1, "bad_utf8_key": -1, "twice_1": 0, "twice_2": 0,
                     "nested_run": 0, "null_text": 0},
       "REPORT.json's builder refuses a key in an array, no key, no parent, past 2^53, NaN, 7 decimals, bad UTF-8")
    obj = dict(b.get("object") or {})
    big = (obj.pop("max53", None), obj.pop("int16", None))
    ok(big == (9007199254740992, 1234567890123456) and all(type(x) is int for x in big),
       "j_int writes whole numbers up to 2^53 exactly (9007199254740992, 1234567890123456)",
       f"got {big!r}; raw: " + " ".join(re.findall(r'"(?:max53|int16)":\s*[^,\n]+', a1.raw.decode())))
    eq((b.get("array"), obj),
       ([5], {"dec6": 0.123457, "neg_half": -2.5, "twice": "second", "run": 5,
              "null_text": None}),
       "and writes only what it accepted; a key set twice keeps the last; run is a core key only at the root")
    eq(rep.get("misbehaviour"), {}, "no misbehaviour asked for, none done")
    # The calendar, by hand.
    cal = rep.get("calendar", {})
    got = {(x["date"], x["months"]): (x["rc"], x["out"]) for x in cal.get("add_months", [])}
    for d, n, want in ADD_MONTHS:
        eq(got.get((d, n)), (0, want), f"add_months({d}, {n}) = {want}")
    for d, n in ADD_MONTHS_BAD:
        eq(got.get((d, n)), (-1, None), f"add_months({d}, {n}) is -1 (no such date, or past years 1 to 9999)")
    got = {(x["date"], x["period"]): (x["rc"], x["out"]) for x in cal.get("end_of", [])}
    for d, p, want in END_OF:
        eq(got.get((d, p)), (0, want), f"end_of({d}, {p}) = {want}")
    eq(got.get(("2026-13-01", "month")), (-1, None), "end_of of month 13 is -1")
    eq(got.get(("2026-05-05", "9")), (-1, None), "end_of of an unknown period is -1")
    got = {(x["from"], x["to"]): (x["rc"], x["out"]) for x in cal.get("days", [])}
    for a, b, want in DAYS:
        eq(got.get((a, b)), (0, want), f"days({a}, {b}) = {want}")
    eq(got.get(("2026-13-01", "2026-01-01")), (-1, None), "days from month 13 is -1")
    got = {x["date"]: (x["rc"], x["out"]) for x in cal.get("date_da", [])}
    for d, want in DATE_DA:
        eq(got.get(d), (len(want.encode()), want), f"date_da({d}) = {want!r}, its length returned")
    eq(got.get("2026-02-30"), (-1, None), "date_da of 2026-02-30 is -1")
    eq(cal.get("date_da_small_rc"), -1, "date_da into too small a buffer is -1")
    eq((cal.get("date_da_null_rc"), cal.get("days_null_rc")), (-1, -1), "date_da and days of NULL are -1")
    eq((cal.get("number_da_small_rc"), cal.get("number_da_nan_rc")), (-1, -1),
       "number_da into too small a buffer, and of NaN, is -1")
    got_n = {(float(x["value"]), x["decimals"]): x["rc"] for x in cal.get("number_da", [])}
    eq(got_n.get((1, 7)), -1, "number_da with 7 decimals (past 6) is -1")
    got = {(float(x["value"]), x["decimals"]): (x["rc"], x["out"]) for x in cal.get("number_da", [])}
    for v, dec, want in NUMBER_DA:
        eq(got.get((v, dec)), (len(want.encode()), want), f"number_da({v}, {dec}) = {want!r}")
    # The bullet list in the PDF.
    pdf = os.path.join(a1.out, "abi2.pdf")
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    for b in BULLETS:
        ok(b in flat, f"pdftotext gives back the bullet {b!r}", text[-1500:])
    state["a1"] = a1

    # 2. A dry run and a failed run, later than a1: never previous.
    dry = CliRun(env, A, "2026-09-30", "--dry-run", params={"extra": "111"})
    eq((dry.rc, dry.status), (0, "succeeded"), "a dry run succeeds", dry.text)
    eq((dry.report or {}).get("previous", {}).get("run"), a1.id, "the dry run's previous is the first run")
    failed = CliRun(env, A, "2026-10-15", params={"extra": "222", "fail": "1"})
    eq((failed.rc, failed.status), (1, "failed"), "a plugin returning -1 fails the run", failed.text)
    ok("failing on purpose" in failed.stdout, "its error is the plugin's last error", failed.stdout)
    ok(not os.path.exists(run_dir(env, failed.id)) and failed.report is None,
       "a failed run keeps no files", failed.out)
    eq(db_figures(env, failed.id), None, "a failed run records no figures")

    # 3. The second run: previous is the first, not the dry or the failed run.
    a2 = CliRun(env, A, "2026-12-31", params={"extra": "42"})
    eq((a2.rc, a2.status), (0, "succeeded"), "second run succeeds", a2.text)
    check_report_core(env, a2, A, "2026-12-31", "second run")
    rep2 = a2.report or {}
    eq(rep2.get("previous"), {"run": a1.id, "as_of": "2026-06-30", "figures": (a1.report or {}).get("figures")},
       "second run: previous is {run, as_of, figures} of the first (not the dry or failed run)")
    sysA = count_systems(env, A)
    eq(rep2.get("seen_previous"), {"as_of": "2026-06-30", "has_systems": 1, "systems": sysA, "has_nested": 1,
                                   "nested": 7, "has_none": 0},
       "second run: api->previous reads the first run's figures by path; previous_as_of its as_of")
    ks = kpis(a2.doc())
    eq((ks.get("Systemer", {}).get("previous"), ks.get("Indlejret", {}).get("previous"), ks.get("Indlejret", {}).get("value")),
       (sysA, 7, 42), "the KPI tiles carry the previous run's values (has_previous)")
    eq(rep2.get("figures", {}).get("nested"), {"level": {"value": 42}}, "the second run's own figure")
    state["a2"] = a2

    # 4. An earlier as_of than both: sees neither.
    a0 = CliRun(env, A, "2026-03-31")
    eq((a0.rc, a0.status), (0, "succeeded"), "a run with an earlier as_of succeeds", a0.text)
    ok((a0.report or {}).get("previous", "x") is None,
       "a run with an earlier as_of than the existing runs has previous null", (a0.report or {}).get("previous"))
    a_mid = CliRun(env, A, "2026-09-01")
    eq(((a_mid.report or {}).get("previous") or {}).get("run"), a1.id,
       "a run between them sees 2026-06-30's: not the later as_of (2026-12-31), nor the run made "
       "after it with an earlier as_of (2026-03-31)")

    # 5. The other organisation: previous never crosses.
    b1 = CliRun(env, B, "2027-01-31")
    eq((b1.rc, b1.status), (0, "succeeded"), "the other organisation's run succeeds", b1.text)
    check_report_core(env, b1, B, "2027-01-31", "other organisation")
    ok((b1.report or {}).get("previous", "x") is None,
       "its first run has previous null though the first organisation has later-as_of runs",
       (b1.report or {}).get("previous"))
    b2 = CliRun(env, B, "2027-02-28")
    eq(((b2.report or {}).get("previous") or {}).get("run"), b1.id, "its second run's previous is its own first")
    eq(((b2.report or {}).get("seen_previous") or {}).get("systems"), count_systems(env, B),
       "and api->previous gives its own organisation's figure")
    b3 = CliRun(env, B, "2027-02-28")
    eq(((b3.report or {}).get("previous") or {}).get("run"), b2.id,
       "a later run with the same as_of sees the earlier one (as_of not after its own)")
    state["b_last"] = b3


def test_many_bullets(env, orgs, state):
    m = CliRun(env, orgs[0], "2027-06-30", "--dry-run", params={"many_bullets": "1"})
    eq((m.rc, m.status), (0, "succeeded"), "120 bullets, some wrapping, an empty list and a NULL item: succeeds",
       m.text)
    eq((m.report or {}).get("many_bullets"), {"many": 0, "empty": 0, "null_items": 0, "null_items_n": -1,
                                              "with_null": 0, "null_doc": -1},
       "bullets: NULL items with n > 0 and a NULL document are refused; none, or a NULL item, are not")
    pdf = os.path.join(m.out, "abi2.pdf")
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True).stdout
    pages = int((re.search(r"^Pages:\s+(\d+)", info, re.M) or [0, 0])[1])
    ok(pages >= 3, f"the list runs over pages ({pages})", info)
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    missing = [i for i in range(1, 121) if f"(slut {i})" not in flat]
    eq(missing, [], "pdftotext gives back every one of the 120 bullets, the wrapped ones whole")
    ok("Punkt 10: en lang linje der skal brydes over flere linjer i punktlisten, med æøå og ÆØÅ" in flat,
       "a wrapped bullet reads on", text[:3000])
    ok("før tom" in flat and "efter tom" in flat and "Efter punkterne." in flat, "and what follows the list")
    r = subprocess.run(["qpdf", "--check", pdf], capture_output=True, text=True)
    eq(r.returncode, 0, "qpdf --check passes", r.stdout + r.stderr)


def test_misbehaviour_cli(env, orgs, state):
    A = orgs[0]
    m = CliRun(env, A, "2027-06-30", "--dry-run",
               params={"bad_struct": "1", "core_key": "1", "bad_date": "1", "undeclared": "1"})
    eq((m.rc, m.status), (0, "succeeded"), "a misbehaving plugin's run still succeeds: each call was refused",
       m.text)
    rep = m.report or {}
    eq(rep.get("misbehaviour"), {
        "bad_struct_kpi": -1, "bad_struct_table_made": False, "bad_struct_notify": -1,
        "core_key_run": -1, "core_key_report": -1, "core_key_previous": -1, "core_key_figures_made": False,
        "bad_date": -1, "bad_date_text": -1, "good_date": 0,
        "undeclared_int": 0, "undeclared_text_null": True, "wrong_type_text_null": True, "wrong_type_bool": 0},
        "each misbehaviour is refused: -1, NULL or 0 returned")
    eq((rep.get("run"), rep.get("report")), (m.id, "abi2"), "REPORT.json's run and report stay the core's")
    eq(env.scalar(f"SELECT error FROM runs WHERE id = {m.id}"), "NULL",
       "the succeeded run carries no error (the refusals are in the log)")
    ok(rep.get("previous") is not None and rep.get("previous", {}).get("run") == state["a2"].id,
       "and so does its previous", rep.get("previous"))
    eq(rep.get("dates"), {"good": "2028-02-29"}, "j_date of 2026-02-30 and of 30.02.2026 wrote nothing")
    ks = kpis(m.doc())
    ok("Uden størrelse" not in ks, "the KPI without its size is not in the document", ks)
    eq(env.scalar(f"SELECT COUNT(*) FROM run_notices WHERE run_id = {m.id}"), "0", "the notice without its size is not kept")
    for needle, what in [("struct ob_kpi of 0 bytes: make it with OB_INIT(ob_kpi", "the KPI struct without size"),
                         ("OB_INIT(ob_column", "the column struct without size"),
                         ("OB_INIT(ob_notice", "the notice struct without size"),
                         ('"run": is written by the core', "setting REPORT.json's run"),
                         ('"report": is written by the core', "setting REPORT.json's report"),
                         ('"when": not a date', "j_date 2026-02-30"),
                         ('setting "nosuchsetting": the plugin does not declare it', "an undeclared setting"),
                         ('setting "limit" is not a choice or a text', "a setting read as another type")]:
        ok(needle in m.text, f"the log names the refusal: {what}", m.text)


BAD_SETTINGS = [
    ({"limit": "10"}, "/reports/abi2/settings/limit", "a number as text (wrong type)"),
    ({"limit": 101}, "/reports/abi2/settings/limit", "above max"),
    ({"limit": 0}, "/reports/abi2/settings/limit", "below min"),
    ({"limit": 2.5}, "/reports/abi2/settings/limit", "not whole"),
    ({"milestones": [365, 180, -1]}, "/reports/abi2/settings/milestones/2", "a list item out of range"),
    ({"milestones": [365, 180, "90"]}, "/reports/abi2/settings/milestones/2", "a list item of the wrong type"),
    ({"milestones": [365, 90, 90]}, "/reports/abi2/settings/milestones/2", "a list item twice"),
    ({"milestones": []}, "/reports/abi2/settings/milestones", "an empty list"),
    ({"milestones": 90}, "/reports/abi2/settings/milestones", "a number for a list"),
    ({"nosuch": 1}, "/reports/abi2/settings/nosuch", "an unknown key"),
    ({"period": "week"}, "/reports/abi2/settings/period", "a choice not among the choices"),
    ({"verbose": "yes"}, "/reports/abi2/settings/verbose", "a string for a boolean"),
    ({"label": "x" * 21}, "/reports/abi2/settings/label", "a text over its max"),
    ({"label": "æ" * 21}, "/reports/abi2/settings/label", "a text over its max in characters"),
    ({"limit": 1e300}, "/reports/abi2/settings/limit", "far past a long long"),
    ({"limit": 9223372036854775807}, "/reports/abi2/settings/limit", "2^63 - 1"),
    ({"limit": True}, "/reports/abi2/settings/limit", "a boolean for a number"),
    ({"milestones": [1, 2.5]}, "/reports/abi2/settings/milestones/1", "a list item not whole"),
    ({"milestones": list(range(65))}, "/reports/abi2/settings/milestones", "65 items (at most 64)"),
    ({"milestones": [[1]]}, "/reports/abi2/settings/milestones/0", "a list in the list"),
    ({"period": "month|quarter"}, "/reports/abi2/settings/period", "the choices' text itself"),
    ({"period": "Quarter"}, "/reports/abi2/settings/period", "a choice in another case"),
    ({"period": ""}, "/reports/abi2/settings/period", "an empty choice"),
    ({"verbose": 1}, "/reports/abi2/settings/verbose", "1 for a boolean"),
    ({"label": 5}, "/reports/abi2/settings/label", "a number for a text"),
]


def pointer_named(text, ptr):
    """ptr named as a whole pointer (…/milestones not matching …/milestones/2)."""
    return re.search(re.escape(ptr) + r"(?![/\w])", text or "") is not None


def test_settings_cli(env, orgs, state):
    A = orgs[0]
    for settings, ptr, what in BAD_SETTINGS:
        write_config(env, settings)
        before = env.scalar("SELECT COUNT(*) FROM runs")
        r = CliRun(env, A, "2027-07-31")
        ok(r.rc != 0 and pointer_named(r.text, ptr), f"invalid setting ({what}): overblik run fails naming {ptr}",
           r.text)
        ok(r.id is None and env.scalar("SELECT COUNT(*) FROM runs") == before,
           f"invalid setting ({what}): refused before any run is made (as overblikd refuses it)", r.text)
    good = {"limit": 100, "milestones": [0, 1000, 45] + list(range(100, 161)), "period": "year", "verbose": True,
            "label": "æøåÆØÅ" + "x" * 14}
    write_config(env, good)
    r = CliRun(env, A, "2027-07-31", "--dry-run")
    eq(r.status, "succeeded", "valid settings at their bounds (20 characters of æøå and x): the run succeeds", r.text)
    s = (r.report or {}).get("settings")
    eq(s, good, "configured settings arrive as configured")
    ok(isinstance(s, dict) and type(s.get("limit")) is int and s.get("verbose") is True
       and all(type(x) is int for x in s.get("milestones")), "and typed", s)
    write_config(env, {"limit": 1, "period": "month"})
    r = CliRun(env, A, "2027-07-31", "--dry-run")
    eq((r.report or {}).get("settings"), dict(DEFAULTS, limit=1, period="month"),
       "settings partly configured: the rest are defaults")
    write_config(env)


def test_http(env, orgs, state):
    A, B = orgs
    port = free_port()
    write_config(env, port=port)
    srv = Server(env, port)
    try:
        run, files = srv.run({"as_of": "2027-03-31", "org": B["kitos_uuid"]})
        eq((run or {}).get("status"), "succeeded", "over HTTP: the run succeeds", run)
        rid = (run or {}).get("id")
        listing = {f["name"]: f for f in (run or {}).get("files") or []}
        ok(set(listing) >= {"abi2.json", "abi2.pdf", "document.json"},
           "GET /api/v1/runs/ID lists abi2.json beside the PDF", run)
        st, h, body, f = files.get("abi2.json", (0, {}, b"", {}))
        eq(st, 200, "GET its url answers 200")
        ok((h.get("Content-Type") or "").startswith("application/json"), "served as application/json",
           h.get("Content-Type"))
        eq((f.get("size"), f.get("sha256")), (len(body), hashlib.sha256(body).hexdigest()),
           "listed with the served file's size and sha256")
        eq(f.get("url"), f"/api/v1/runs/{rid}/files/abi2.json", "its url")
        rep = json.loads(body) if body else {}
        eq((rep.get("report"), rep.get("format"), rep.get("as_of"), rep.get("run")), ("abi2", 1, "2027-03-31", rid),
           "over HTTP: report, format, as_of, run")
        eq(rep.get("organisation"), {"name": B["name"], "cvr": B["cvr"], "kitos_uuid": B["kitos_uuid"]},
           "over HTTP: the organisation asked for")
        eq((rep.get("previous") or {}).get("run"), state["b_last"].id,
           "over HTTP: previous is the same organisation's latest earlier run (made by the CLI)")
        eq(rep.get("settings"), DEFAULTS, "over HTTP: default settings")

        run, files = srv.run({"as_of": "2027-06-30", "org": A["kitos_uuid"], "dry_run": True,
                              "params": {"bad_struct": "1", "core_key": "1", "bad_date": "1", "undeclared": "1"}})
        eq((run or {}).get("status"), "succeeded", "over HTTP: a misbehaving plugin's run succeeds (no crash)", run)
        eq((run or {}).get("error"), None, "over HTTP: and its error is null")
        body = files.get("abi2.json", (0, {}, b"{}", {}))[2]
        m = json.loads(body).get("misbehaviour", {})
        eq((m.get("bad_struct_kpi"), m.get("core_key_run"), m.get("bad_date"), m.get("undeclared_int")),
           (-1, -1, -1, 0), "over HTTP: the misbehaviours are refused")
        log = srv.log()
        for needle in ("struct ob_kpi of 0 bytes", '"run": is written by the core', '"when": not a date',
                       'setting "nosuchsetting": the plugin does not declare it'):
            ok(needle in log, f"overblikd's log names the refusal {needle!r}", log[-3000:])
    finally:
        srv.stop()

    # Invalid settings: overblikd says so when it loads the configuration,
    # and refuses the report's runs naming the pointer; no run is made.
    for settings, ptr, what in [BAD_SETTINGS[4], BAD_SETTINGS[6], BAD_SETTINGS[10]]:
        port = free_port()
        write_config(env, settings, port=port)
        srv = Server(env, port)
        try:
            deadline = time.time() + 10
            while time.time() < deadline and ptr not in srv.log():
                time.sleep(0.1)
            ok(pointer_named(srv.log(), ptr), f"over HTTP ({what}): overblikd's log names {ptr} at start",
               srv.log()[-2000:])
            before = env.scalar("SELECT COUNT(*) FROM runs")
            st, _, b = request(port, "POST", "/api/v1/reports/abi2/runs", {"as_of": "2027-04-30", "org": B["kitos_uuid"]})
            err = (json.loads(b or b"{}").get("error")) or {}
            ok(st == 409 and err.get("code") == "bad_settings" and pointer_named(err.get("message"), ptr),
               f"over HTTP ({what}): a run is refused with 409 bad_settings naming {ptr}", (st, b[:500]))
            eq(env.scalar("SELECT COUNT(*) FROM runs"), before, f"over HTTP ({what}): no run is made")
        finally:
            srv.stop()
    write_config(env)


def test_check_config(env, orgs, state):
    """The header: the configuration's settings are checked against the
    plugin's declarations when the configuration is loaded (check-config)."""
    settings, ptr, what = BAD_SETTINGS[4]
    write_config(env, settings)
    r = env.run("check-config")
    ok(r.returncode != 0 and pointer_named(r.stdout + r.stderr, ptr),
       f"check-config refuses an invalid setting ({what}) naming {ptr}", r.stdout + r.stderr)
    write_config(env)


def test_abi():
    with Env("abi2", {"plugin_dir": PLUGIN_DIR}) as env:
        orgs = setup(env)
        state = {}
        for f in (test_cli, test_many_bullets, test_misbehaviour_cli, test_settings_cli, test_http, test_check_config):
            print(f"# {f.__name__}", flush=True)
            try:
                f(env, orgs, state)
            except Exception:
                import traceback
                ok(False, f"{f.__name__} raised", traceback.format_exc())


run_tests(test_abi)
