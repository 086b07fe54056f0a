#!/usr/bin/python3
"""The renderer's output, byte for byte: the sample (render-sample, with its
document.json, and its 33,000-row form) and the four reports on the demo
municipality (overblik demo-data, import, overblik run REPORT --out DIR: the
PDF and document.json) against SHA-256 sums checked in
(tests/integration/pdf_identity.sha256), made with the renderer that read a
cJSON tree, before the document model became typed C (core/doc.c).

A report's PDF carries the run's queued_at as its CreationDate
("D:YYYYMMDDHHMMSSZ00'00'") and nothing else of
the clock: the date is overwritten with a fixed one of the same length (the
cross-reference offsets stay right) before the sum is taken; the sums cover
every other byte, the page content streams and fonts included. The sample's
CreationDate is its as_of, so it is summed as written.

With --update the sums file is written from the binaries of this build
(only ever with the renderer the sums are meant to hold)."""

import glob
import hashlib
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


def test_identity():
    got = {}
    with Env("pdfsame") as env:
        sample(env, got, "sample")
        sample(env, got, "sample-33000", "--rows", "33000")
        reports(env, got)
    if UPDATE:
        with open(SUMS, "w", encoding="utf-8") as f:
            f.write("# SHA-256 of the renderer's output (tests/integration/t_pdf_identity.py --update);\n"
                    "# report PDFs with their CreationDate set to D:20000101000000Z00'00'.\n")
            for k in sorted(got):
                f.write(f"{got[k]}  {k}\n")
        ok(True, f"wrote {len(got)} sums to {SUMS}")
        return
    want = want_sums()
    eq(sorted(want), sorted(got), "the sums file names every output")
    for k in sorted(got):
        eq(got[k], want.get(k), f"{k} is byte-identical to the checked-in sum")


run_tests(test_identity)
