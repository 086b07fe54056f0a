#!/usr/bin/python3
"""The renderer's output, byte for byte: the sample (render-sample, with its
document.json, and its 33,000-row form) and the four reports on the demo
municipality (overblik demo-data, import, overblik run REPORT --out DIR: the
PDF and document.json) against SHA-256 sums checked in
(tests/integration/pdf_identity.sha256), made with the renderer that read a
cJSON tree, before the document model became typed C (core/doc.c); made
again when the PDFs moved to the subset fonts (Makefile.am's OB_FONT_SUBSET),
after every page's content stream was found the same with the whole fonts
(same widths, same layout: only the embedded font programs differ). The
sums hold for a build with fontTools (python3-fonttools, which
scripts/install-deps installs); without it the PDFs embed the whole fonts.

A report's PDF carries the run's queued_at as its CreationDate
("D:YYYYMMDDHHMMSSZ00'00'") and nothing else of
the clock: the date is overwritten with a fixed one of the same length (the
cross-reference offsets stay right) before the sum is taken; the sums cover
every other byte, the page content streams and fonts included. The sample's
CreationDate is its as_of, so it is summed as written.

The report PDFs' footers carry the run and the data's fingerprint ("Kørsel 3
· data 3f2a9c1b0d4e", core/run.c's report_fingerprint): checked against the
fingerprint computed here from the run's REPORT.json, on every page; two runs
on the same data give the same one, a changed contract another.

With --update the sums file is written from the binaries of this build
(only ever with the renderer the sums are meant to hold)."""

import glob
import hashlib
import json
import os
import re
import subprocess
import sys

from obtest import Env, ok, eq, run_tests, OVERBLIK, TOP_BUILDDIR, TOP_SRCDIR
from t_server import write_config

AS_OF = "2026-11-26"
REPORTS = ["contract_expiry", "gdpr_coverage", "portfolio_status", "target_picture"]
PLUGINS = os.path.join(TOP_BUILDDIR, "plugins", ".libs")
SUMS = os.path.join(TOP_SRCDIR, "tests", "integration", "pdf_identity.sha256")
UPDATE = "--update" in sys.argv
CREATION = re.compile(rb"/CreationDate \(D:\d{14}Z00'00'\)")


def sha(path, fixed_date=False):
    data = open(path, "rb").read()
    if fixed_date:
        data, n = CREATION.subn(b"/CreationDate (D:20000101000000Z00'00')", data)
        if n != 1:
            return f"no single CreationDate ({n})"
    return hashlib.sha256(data).hexdigest()


def want_sums():
    if not os.path.exists(SUMS):
        return {}
    with open(SUMS, encoding="utf-8") as f:
        return dict(reversed(line.split()) for line in f if line.strip() and not line.startswith("#"))


def sample(env, got, name, *args):
    pdf, js = os.path.join(env.dir, name + ".pdf"), os.path.join(env.dir, name + ".json")
    r = subprocess.run([OVERBLIK, "render-sample", "--as-of", AS_OF, "--templates",
                        os.path.join(TOP_SRCDIR, "templates", "da"), "--json", js, *args, pdf],
                       capture_output=True, text=True, timeout=600)
    ok(r.returncode == 0, f"render-sample {' '.join(args)} writes {name}.pdf", r.stderr)
    got[f"{name}.pdf"] = sha(pdf)
    got[f"{name}.document.json"] = sha(js)


def reports(env, got):
    env.start_db()
    r = env.run("migrate")
    ok(r.returncode == 0, "migrate", r.stderr)
    demo = os.path.join(env.dir, "demo")
    r = subprocess.run([OVERBLIK, "demo-data", "--as-of", AS_OF, demo], capture_output=True, text=True, timeout=300)
    ok(r.returncode == 0, "demo-data", r.stderr)
    for kind, pat in (("kitos", "kitos/*.json"), ("csv", "csv/*.csv")):
        r = env.run("import", kind, *sorted(glob.glob(os.path.join(demo, pat))))
        ok(r.returncode == 0, f"import {kind}", r.stderr[-2000:])
    write_config(env.config, env, {"plugin_dir": PLUGINS,
                                   "mail": {"from": {"name": "overblik", "email": "overblik@kommune.test"}}})
    for rep in REPORTS:
        out = os.path.join(env.dir, "out", rep)
        r = env.run("run", rep, "--as-of", AS_OF, "--out", out)
        ok(r.returncode == 0, f"overblik run {rep}", r.stdout + r.stderr)
        pdf, js = os.path.join(out, rep + ".pdf"), os.path.join(out, "document.json")
        got[f"{rep}.pdf"] = sha(pdf, fixed_date=True) if os.path.exists(pdf) else "missing"
        got[f"{rep}.document.json"] = sha(js) if os.path.exists(js) else "missing"


def fingerprint(report_json_path):
    """README.md, "The reports": SHA-256 of REPORT.json without "run" and
    "previous", as compact JSON in the file's order; the first 12 hex digits."""
    with open(report_json_path, encoding="utf-8") as f:
        obj = json.load(f)
    obj.pop("run", None)
    obj.pop("previous", None)
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def footers(pdf):
    """The footer fingerprint of each page ("data XXXXXXXXXXXX"), None where
    a page has none; and the run ids ("Kørsel N") seen."""
    r = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return None, r.stderr
    pages = r.stdout.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    out = []
    for pg in pages:
        m = re.search(r"Kørsel (\d+) · data ([0-9a-f]{12})\b", pg)
        out.append((int(m.group(1)), m.group(2)) if m else None)
    return out, ""


def run_report(env, rep, out):
    r = env.run("run", rep, "--as-of", AS_OF, "--out", out)
    ok(r.returncode == 0, f"overblik run {rep} --out {os.path.basename(out)}", r.stdout + r.stderr)
    pdf, js = os.path.join(out, rep + ".pdf"), os.path.join(out, rep + ".json")
    pages, why = footers(pdf)
    return pages, why, js


def check_fingerprints(env):
    prints = {}
    for rep in REPORTS:
        out = os.path.join(env.dir, "out", rep)
        pages, why, js = run_report(env, rep, os.path.join(env.dir, "fp1", rep))
        ok(pages, f"{rep}: pdftotext reads its pages", why)
        want = fingerprint(js)
        eq([p and p[1] for p in pages or []], [want] * len(pages or []),
           f"{rep}: every page ({len(pages or [])}) shows 'data {want}', from its REPORT.json's rows")
        run = json.load(open(js, encoding="utf-8"))["run"]
        eq(sorted({p and p[0] for p in pages or []}), [run], f"{rep}: every page shows 'Kørsel {run}'")
        prints[rep] = want
        first = os.path.join(out, rep + ".json")
        if rep != "target_picture":
            eq(fingerprint(first), want, f"{rep}: the first run's REPORT.json (previous null) has the same one")
        else:
            # Its maturity changes are those since the previous run
            # (maturity_window): the second run's rows differ, so does it.
            ok(fingerprint(first) != want, f"{rep}: the first run (maturity changes of a year) has another one")
    eq(len(set(prints.values())), len(REPORTS), "the four reports have four fingerprints", prints)

    # A second run of the same report and as_of on the same data: its
    # REPORT.json differs ("run", "previous"); its fingerprint does not.
    rep = "contract_expiry"
    pages, why, js = run_report(env, rep, os.path.join(env.dir, "fp2", rep))
    j1 = json.load(open(os.path.join(env.dir, "fp1", rep, rep + ".json"), encoding="utf-8"))
    j2 = json.load(open(js, encoding="utf-8"))
    ok(j2["run"] != j1["run"] and (j2.get("previous") or {}).get("run") == j1["run"],
       f"{rep}: the second run ({j2['run']}) is another run, its previous the first ({j1['run']})")
    eq(fingerprint(js), prints[rep], f"{rep}: the second run's REPORT.json gives the same fingerprint")
    eq({p and p[1] for p in pages or [None]}, {prints[rep]}, f"{rep}: and every page of its PDF shows it")

    # One contract changed (a CSV contracts file: a new exit decision and
    # annual cost): another fingerprint, matching its REPORT.json.
    rows = j1.get("rows") or j1.get("contracts") or []
    row = next((r for r in rows if isinstance(r, dict) and r.get("uuid")), None)
    ok(row, f"{rep}: REPORT.json has a contract row", sorted(j1))
    if not row:
        return
    csv = os.path.join(env.dir, "change.csv")
    with open(csv, "w", encoding="utf-8") as f:
        f.write("contract_uuid;exit_decision;annual_cost\n")
        f.write(f"{row['uuid']};retender;987654,32\n")
    r = env.run("import", "csv", csv)
    ok(r.returncode == 0, f"import csv: contract {row['uuid']} gets another decision and cost", r.stderr[-2000:])
    pages, why, js = run_report(env, rep, os.path.join(env.dir, "fp3", rep))
    new = fingerprint(js)
    ok(new != prints[rep], f"{rep}: after the change its fingerprint differs ({prints[rep]} -> {new})")
    eq({p and p[1] for p in pages or [None]}, {new}, f"{rep}: every page of the new PDF shows data {new}")


def test_identity():
    got = {}
    with Env("pdfsame") as env:
        sample(env, got, "sample")
        sample(env, got, "sample-33000", "--rows", "33000")
        reports(env, got)
        r = subprocess.run(["pdftotext", os.path.join(env.dir, "sample.pdf"), "-"], capture_output=True,
                           text=True, timeout=120)
        ok(r.returncode == 0 and "Side 1 af" in r.stdout and not re.search(r"data [0-9a-f]{12}", r.stdout),
           "the sample (no run, no REPORT.json) shows no fingerprint", r.stderr)
        if not UPDATE:
            check_fingerprints(env)
    if UPDATE:
        with open(SUMS, "w", encoding="utf-8") as f:
            f.write("# SHA-256 of the renderer's output (tests/integration/t_pdf_identity.py --update);\n"
                    "# report PDFs with their CreationDate set to D:20000101000000Z00'00'.\n")
            for k in sorted(got):
                f.write(f"{got[k]}  {k}\n")
        ok(True, f"wrote {len(got)} sums to {SUMS}")
        return
    want = want_sums()
    ok(os.path.exists(os.path.join(TOP_BUILDDIR, "fonts", "DejaVuSans.ttf")),
       "this build has the subset fonts the sums were made with (configure found python3-fonttools; "
       "without it every PDF below differs in its embedded fonts)")
    eq(sorted(want), sorted(got), "the sums file names every output")
    for k in sorted(got):
        eq(got[k], want.get(k), f"{k} is byte-identical to the checked-in sum")


run_tests(test_identity)
