#!/usr/bin/python3
"""The demo municipality: the generator is deterministic and makes what the
reports need; it imports through the real import paths with only the
intended data-quality findings; scripts/demo runs end to end and a second run
reuses its data directory."""

import email
import email.policy
import email.utils
import filecmp
import glob
import json
import re
import os
import subprocess

from obtest import Env, ok, eq, skip, run_tests, OVERBLIK, TOP_SRCDIR, TOP_BUILDDIR

AS_OF = "2026-11-26"
CSV_ORDER = ["org_units", "people", "systems", "contracts", "assessments", "incidents", "future_picture",
             "target_picture", "shared_solutions"]


def gen(out, *args):
    return subprocess.run([OVERBLIK, "demo-data", "--as-of", AS_OF, *args, out], capture_output=True,
                          text=True, timeout=300)


def test_generator_deterministic():
    with Env("gen", seed_datadir=False) as env:
        a, b, c = (os.path.join(env.dir, x) for x in "abc")
        ok(gen(a).returncode == 0 and gen(b).returncode == 0, "demo-data runs twice")
        gen(c, "--seed", "7")
        files = sorted(os.path.relpath(p, a) for p in glob.glob(os.path.join(a, "**", "*.*"), recursive=True))
        ok(len(files) >= 13, f"it writes the KITOS and CSV files ({len(files)})", files)
        _, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
        eq(mismatch + errors, [], "the same seed and as_of give byte-identical files")
        _, mismatch, _ = filecmp.cmpfiles(a, c, files, shallow=False)
        ok(len(mismatch) > 5, "another seed gives another municipality", mismatch)
        usages = json.load(open(os.path.join(a, "kitos", "it-system-usages.json"), encoding="utf-8"))
        contracts = json.load(open(os.path.join(a, "kitos", "it-contracts.json"), encoding="utf-8"))
        users = json.load(open(os.path.join(a, "kitos", "organization-users.json"), encoding="utf-8"))
        ok(300 <= len(usages) <= 360, f"about 330 systems ({len(usages)})")
        ok(280 <= len(contracts) <= 340, f"about 300 contracts ({len(contracts)})")
        ok(110 <= len(users) <= 140, f"about 120 people ({len(users)})")
        names = " ".join(u["systemContext"]["name"] for u in usages) + " ".join(
            x.get("firstName", "") + x.get("lastName", "") for x in users)
        ok(any(ch in names for ch in "æøå") and any(ch in names for ch in "ÆØÅ"), "names carry æøå and ÆØÅ")
        orgs = {u["organizationContext"]["name"] for u in usages}
        eq(orgs, {"Nørre Vesterå Kommune"}, "one municipality, Nørre Vesterå Kommune")
        d = os.path.join(env.dir, "many")
        r = gen(d, "--municipalities", "3")
        usages3 = json.load(open(os.path.join(d, "kitos", "it-system-usages.json"), encoding="utf-8"))
        eq(len({u["organizationContext"]["uuid"] for u in usages3}), 3, "--municipalities 3 makes three")
        eq(len({u["uuid"] for u in usages3}), len(usages3), "uuids are unique across municipalities")


def test_demo_imports_with_findings():
    with Env("demoimport") as env:
        env.start_db()
        out = os.path.join(env.dir, "demo")
        gen(out)
        r = env.run("import", "kitos", "--json", *sorted(glob.glob(os.path.join(out, "kitos", "*.json"))))
        ok(r.returncode == 0, "the demo's KITOS files import", r.stderr)
        s = json.loads(r.stdout)
        ok(s["systems"]["created"] >= 300 and s["contracts"]["created"] >= 280, "systems and contracts created",
           s)
        bad = [w for w in s["warnings"] if w["field"] != "roles"]
        eq(bad, [], "the only warnings are the intended owner findings")
        ok(any("no e-mail" in w["message"] for w in s["warnings"]), "owners without e-mail are found", s["warnings"])
        for f in CSV_ORDER:
            r = env.run("import", "csv", os.path.join(out, "csv", f + ".csv"))
            ok(r.returncode == 0, f"{f}.csv imports", r.stderr)
        q = env.scalar
        ok(int(q("SELECT COUNT(DISTINCT department_id) FROM systems")) >= 6, "systems sit in at least 6 departments")
        depth = q("WITH RECURSIVE t AS (SELECT id, 1 AS d FROM org_units WHERE parent_id IS NULL UNION ALL "
                  "SELECT u.id, t.d + 1 FROM org_units u JOIN t ON u.parent_id = t.id) SELECT MAX(d) FROM t")
        ok(int(depth) >= 4, f"the organisation plan has at least four levels ({depth})")
        eq(q("SELECT COUNT(*) FROM systems WHERE category IS NULL"), "0", "every system has a category")
        ok(30 <= int(q("SELECT COUNT(*) FROM systems WHERE category = 'cross_cutting'")) <= 50,
           "about 40 cross-cutting systems")
        ok(int(q(f"SELECT COUNT(*) FROM contracts WHERE end_date < '{AS_OF}'")) >= 5, "some contracts expired")
        soon = q(f"SELECT COUNT(*) FROM contracts WHERE end_date - INTERVAL notice_months MONTH "
                 f"BETWEEN '{AS_OF}' AND '{AS_OF}' + INTERVAL 90 DAY")
        ok(int(soon) >= 5, f"some notice deadlines fall within 90 days ({soon})")
        ok(int(q("SELECT COUNT(*) FROM contracts WHERE continuous = 1 AND end_date IS NULL")) >= 10,
           "continuous contracts without an end date")
        eq(q("SELECT COUNT(*) FROM target_pictures"), "2", "two target-picture versions")
        eq(q("SELECT COUNT(DISTINCT maturity) FROM shared_solution_maturity"), "3", "shared solutions of each maturity")
        ok(int(q(f"SELECT COUNT(*) FROM systems WHERE last_data_review < '{AS_OF}' - INTERVAL 12 MONTH")) > 10,
           "some annual reviews are overdue")
        ok(int(q("SELECT COUNT(*) FROM systems WHERE personal_data IN ('ordinary','sensitive') AND "
                 f"COALESCE(ra_date, '1000-01-01') < '{AS_OF}' - INTERVAL 12 MONTH")) > 10,
           "GDPR records have gaps")
        ok(int(q("SELECT COUNT(*) FROM incidents")) >= 3, "incidents are recorded")
        r = env.run("summary")
        ok(r.returncode == 0 and "Nørre Vesterå Kommune" in r.stdout and "Systems:" in r.stdout,
           "summary prints the municipality", r.stdout + r.stderr)


def test_scripts_demo_twice():
    demo = os.path.join(TOP_SRCDIR, "scripts", "demo")
    if os.path.realpath(TOP_SRCDIR) != os.path.realpath(TOP_BUILDDIR) or not os.access(TOP_SRCDIR, os.W_OK):
        skip("scripts/demo runs end to end", "it builds in the source tree; this is a VPATH build (distcheck)")
        return
    with Env("scriptsdemo", seed_datadir=False) as env:
        envv = dict(os.environ, OB_CONFIG=env.config, OB_DEMO_DIR=os.path.join(env.dir, "demo"),
                    OB_DEMO_SKIP_BUILD="1")
        r1 = subprocess.run([demo], cwd=TOP_SRCDIR, env=envv, capture_output=True, text=True, timeout=600)
        ok(r1.returncode == 0, "scripts/demo succeeds", r1.stdout[-2000:] + r1.stderr[-3000:])
        ok("creating the data directory" in r1.stderr, "the first run creates the private database", r1.stderr)
        ok("Nørre Vesterå Kommune" in r1.stdout and "Contracts:" in r1.stdout, "and prints the summary",
           r1.stdout[-2000:])
        r2 = subprocess.run([demo], cwd=TOP_SRCDIR, env=envv, capture_output=True, text=True, timeout=600)
        ok(r2.returncode == 0, "a second scripts/demo succeeds", r2.stderr[-3000:])
        ok("creating the data directory" not in r2.stderr, "and reuses the data directory", r2.stderr)
        ok("created 0, updated 0" in r2.stdout, "its import finds everything already there", r2.stdout[-3000:])
        s1 = r1.stdout[r1.stdout.index("== the portfolio"):r1.stdout.index("== the sample report")]
        s2 = r2.stdout[r2.stdout.index("== the portfolio"):r2.stdout.index("== the sample report")]
        eq(s2, s1, "both runs print the same portfolio")
        # The reports: each one's PDF and JSON where the demo says, its mail
        # as .eml files; the second run mails nothing twice.
        reports = ["contract_expiry", "gdpr_coverage", "portfolio_status", "target_picture"]
        eq(re.findall(r"^run \d+: (\w+) as of", r1.stdout, re.M), reports, "the demo runs every report")
        rows = {"contract_expiry": "contracts", "gdpr_coverage": "systems", "portfolio_status": "systems",
                "target_picture": "actions"}
        for rep in reports:
            rdir = os.path.join(env.dir, "demo", rep)
            pdf, js = os.path.join(rdir, rep + ".pdf"), os.path.join(rdir, rep + ".json")
            ok(f"  {pdf}\n" in r1.stdout and f"  {js}\n" in r1.stdout,
               f"scripts/demo says where {rep}'s PDF and JSON are", r1.stdout[-1500:])
            ok(os.path.exists(pdf) and open(pdf, "rb").read(5) == b"%PDF-", f"{rep}'s PDF is there")
            with open(js, encoding="utf-8") as f:
                j = json.load(f)
            n = len(j.get(rows[rep]) or [])
            ok(j.get("report") == rep and n > (10 if rep == "target_picture" else 250) and j.get("organisation", {}).get("name") == "Nørre Vesterå Kommune",
               f"{rep}'s JSON is the report's, with its {rows[rep]}", str(j.get("figures"))[:500])
        ok(0 < json.load(open(os.path.join(env.dir, "demo", "gdpr_coverage", "gdpr_coverage.json")))["figures"]["covered"],
           "gdpr_coverage finds covered systems in the demo")
        # The runs leave their items for the digest (the demo's own config
        # sets mail.digest_at and the roles' addresses); the digest gives
        # each recipient one message with every report's items.
        conf = json.load(open(os.path.join(env.dir, "demo", "overblik.json"), encoding="utf-8"))
        ok(conf["mail"].get("digest_at") and conf.get("state_dir") == env.state and "smtp" not in conf["mail"],
           "the demo writes a config of its own: the test's state_dir, a digest time, no SMTP server", conf)
        roles = {a: r for r, addrs in conf["mail"]["roles"].items() for a in addrs}
        eq(sorted(conf["mail"]["roles"]), ["asg", "direktion", "indkoeb", "iod", "isk", "it_support"],
           "with an address for each role")
        mails = re.findall(r"^  mail \(pending until the digest[^)]*\): (\d+) owners, (\d+) roles? \(([^)]*)\), "
                           r"(\d+) to it_support", r1.stdout, re.M)
        eq(len(mails), len(reports), "each report says its mail waits for the digest", r1.stdout[-3000:])
        ok(all(int(m[0]) > 5 for m in mails), "each report has items for more than five owners", mails)
        ok({"iod", "asg"} <= set(mails[3][2].split(", ")) and "not sent:" not in r1.stdout,
           "target_picture's briefing for IOD and ASG waits for the digest, none is kept dead", mails[3])
        ok(re.search(r"^composed (\d+) messages", r1.stdout, re.M), "the demo composes the digest", r1.stdout[-2000:])
        for rep in reports:
            block = r1.stdout[r1.stdout.rindex(f"\n{rep}:\n"):]
            ok(re.match(rf"\n{rep}:\n  \S+\.pdf\n  \S+\.json\n  counts: \w+ \d+, ", block),
               f"the summary gives {rep}'s PDF, JSON and counts", block[:600])
        summ = re.search(r"^mail: (\d+) recipients, (\d+) messages \(1 each\); (\d+) roles' briefings with (\d+) PDFs",
                         r1.stdout, re.M)
        ok(summ, "the demo says how many people got how many mails: one each", r1.stdout[-1500:])
        nrcpt, nmsg, nroles, npdfs = (int(x) for x in summ.groups()) if summ else (0, 0, 0, 0)
        outbox = os.path.join(env.state, "outbox", "new")
        emls = sorted(os.listdir(outbox)) if os.path.isdir(outbox) else []
        ok(f"written as .eml files to {env.state}/outbox/new" in r1.stdout, "the flush says where the .eml files are")
        eq(len(emls), nmsg, "one .eml file per message the demo counts")
        ok(nrcpt == nmsg > 50, f"more than 50 recipients ({nrcpt})")
        per_addr, pdfs, role_msgs, owner_pdfs, multi = {}, 0, 0, 0, 0
        for name in emls:
            with open(os.path.join(outbox, name), "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
            tos = [a for _, a in email.utils.getaddresses(msg.get_all("To", []))]
            for a in tos:
                per_addr[a] = per_addr.get(a, 0) + 1
            att = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
            text = msg.get_body(("plain",)).get_content()
            multi += sum(1 for l in text.splitlines() if l.startswith("== ")) > 1
            if any(a in roles for a in tos):
                role_msgs += 1
                pdfs += len(att)
                ok(len(att) >= 1, f"{name}: the briefing for {tos} carries PDFs", len(att))
            else:
                owner_pdfs += len(att)
        eq([a for a, n in per_addr.items() if n != 1], [], "every address gets exactly one .eml")
        eq((role_msgs, pdfs), (nroles, npdfs), "the roles' briefings and their PDFs are as many as the demo says")
        ok(npdfs > nroles, f"a briefing carries the PDFs of several reports ({npdfs} PDFs in {nroles} briefings)")
        eq(owner_pdfs, 0, "owners' messages carry their items, not the PDFs")
        ok(multi > 10, f"messages hold the items of several reports ({multi})")
        eq(re.findall(r"^  mail[^:\n]*: (\d+) owners", r2.stdout, re.M), [],
           "the second run mails no owner twice", r2.stdout[-3000:])
        ok(re.search(r"^composed 0 messages", r2.stdout, re.M) and re.search(r"^mail: nothing new", r2.stdout, re.M),
           "its digest has nothing new", r2.stdout[-1500:])
        eq(len(os.listdir(outbox)), len(emls), "and writes no new .eml file")


run_tests(test_generator_deterministic, test_demo_imports_with_findings, test_scripts_demo_twice)
