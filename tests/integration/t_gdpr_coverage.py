#!/usr/bin/python3
"""gdpr_coverage (issue 11) on the demo municipality, through the real
import, the real `overblik run` and the outbox in a private mariadbd:
REPORT.json's figures are the counts of its rows and the departments sum to
them; every gap of an in-scope row is one item to its owner under the key of
REPORTS.md; a second run sends nothing new, a run in the next quarter
reminds the open gaps once more, a new incident (imported as a CSV file, as
IT support would) makes that system's assessment "after_incident" and mails
its owner. Two municipalities in one database: nothing of one reaches the
other's REPORT.json, PDF or mail, and --org all makes one run each."""

import email
import email.policy
import glob
import json
import os
import re
import subprocess
from fractions import Fraction

from obtest import Env, ok, eq, run_tests, OVERBLIK

AS_OF = "2026-11-26"
NEXT_Q = "2027-01-05"
MAIL = {"mail": {"from": {"name": "overblik", "email": "overblik@nvk.dk"},
                 "roles": {"isk": ["isk@nvk.dk"], "asg": ["asg@nvk.dk"], "it_support": ["it@nvk.dk"]}}}


def setup(env, *gen_args):
    env.start_db()
    demo = os.path.join(env.dir, "demo")
    r = subprocess.run([OVERBLIK, "demo-data", "--as-of", AS_OF, *gen_args, demo], capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    for kind, pat in (("kitos", "kitos/*.json"), ("csv", "csv/*.csv")):
        r = env.run("import", kind, *sorted(glob.glob(os.path.join(demo, pat))))
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
    return demo


def run(env, as_of, out, *more):
    r = env.run("run", "gdpr_coverage", "--as-of", as_of, "--out", out, *more)
    if not ok(r.returncode == 0, f"gdpr_coverage runs as of {as_of} {' '.join(more)}", r.stdout + r.stderr):
        return r, None, None
    m = re.search(r"run (\d+): gdpr_coverage", r.stdout)
    rid = int(m.group(1)) if m else None
    with open(os.path.join(out, "gdpr_coverage.json"), encoding="utf-8") as f:
        return r, rid, json.load(f)


def pct(num, den):
    """One decimal, rounded half up from the exact ratio; None for 0/0."""
    if den == 0:
        return None
    t = Fraction(num * 1000, den)
    return float((t + Fraction(1, 2)) // 1) / 10


def check_figures(rep, what):
    rows, fig = rep["systems"], rep["figures"]
    ins = [r for r in rows if r["in_scope"]]
    want = {
        "systems": len(rows), "in_scope": len(ins),
        "risk_current": sum(r["risk"] == "current" for r in ins),
        "risk_after_incident": sum(r["risk"] == "after_incident" for r in ins),
        "risk_overdue": sum(r["risk"] == "overdue" for r in ins),
        "risk_missing": sum(r["risk"] == "missing" for r in ins),
        "risk_due_soon": sum(bool(r["risk_due_soon"]) for r in ins),
        "dpia_needed": sum(r["dpia_needed"] for r in ins),
        "dpia_missing": sum(r["dpia_needed"] and not r["dpia_present"] for r in ins),
        "dpa_needed": sum(r["dpa_needed"] for r in ins),
        "dpa_missing": sum(r["dpa_needed"] and not r["dpa_present"] for r in ins),
        "ethics_needed": sum(r["ethics_needed"] for r in ins),
        "ethics_missing": sum(r["ethics_needed"] and not r["ethics_present"] for r in ins),
        "covered": sum(r["covered"] for r in ins),
        "citizen_facing_in_scope": sum(r["citizen_facing"] for r in ins),
        "citizen_facing_covered": sum(r["citizen_facing"] and r["covered"] for r in ins),
    }
    want["coverage_pct"] = pct(want["covered"], want["in_scope"])
    eq({k: fig.get(k) for k in want}, want, f"{what}: REPORT.json's figures are the counts of its rows")
    deps = fig["departments"]
    eq((sum(d["in_scope"] for d in deps), sum(d["covered"] for d in deps)), (fig["in_scope"], fig["covered"]),
       f"{what}: the departments' in_scope and covered sum to the totals")
    bydep = {}
    for r in ins:
        b = bydep.setdefault(r["department"], [0, 0])
        b[0] += 1
        b[1] += r["covered"]
    eq({d["name"]: [d["in_scope"], d["covered"], d["coverage_pct"]] for d in deps if d["in_scope"]},
       {k: [v[0], v[1], pct(v[1], v[0])] for k, v in bydep.items()},
       f"{what}: each department's figures are the counts of its rows")
    ok(not any(r["covered"] for r in rows if not r["in_scope"]), f"{what}: no system out of scope is covered")
    ok(all(r["risk"] == "current" and (not r["dpia_needed"] or r["dpia_present"]) and
           (not r["dpa_needed"] or r["dpa_present"]) and (not r["ethics_needed"] or r["ethics_present"])
           for r in ins if r["covered"]), f"{what}: every covered row has each needed element")


def expected_keys(rep, q):
    """The owner items REPORTS.md asks for, from the rows."""
    keys = set()
    for r in rep["systems"]:
        if not r["in_scope"]:
            continue
        u = r["uuid"]
        if r["risk"] == "after_incident":
            keys.add(f"gdpr:{u}:incident:{r['incident_date']}")
        elif r["risk"] != "current":
            keys.add(f"gdpr:{u}:risk:{r['risk_due'] or 'missing'}:{q}")
        if r["risk_due_soon"]:
            keys.add(f"gdpr:{u}:risk_due:{r['risk_due']}")
        for k in ("dpia", "dpa", "ethics"):
            if r[f"{k}_needed"] and not r[f"{k}_present"]:
                keys.add(f"gdpr:{u}:{k}:{q}")
    return keys


def run_items(env, rid):
    """(recipient, key) of a run's items."""
    return {(x[0], x[1]) for x in env.sql(
        "SELECT o.recipient, CAST(i.dedupe_key AS CHAR) FROM outbox_items i JOIN outbox o ON o.id = i.message "
        f"WHERE o.run_id = {rid}")}


def owner_of(env):
    """usage uuid -> (recipient, key prefix) of its items: the owner; an owner
    without an e-mail: it_support, as the outbox routes it ("no_email:"); no
    resolved owner: it_support, as the plugin sends it."""
    out = {}
    for u, o, mail in env.sql("SELECT s.kitos_uuid, IFNULL(p.id, 'NULL'), IFNULL(p.email, '') FROM systems s "
                              "LEFT JOIN people p ON p.id = s.owner_id AND p.org_id = s.org_id"):
        out[u] = ("it_support", "") if o == "NULL" else ("it_support", "no_email:") if not mail else (f"owner:{o}", "")
    return out


def routed(owners, keys):
    return {(owners[k.split(":")[1]][0], owners[k.split(":")[1]][1] + k) for k in keys}


def test_demo_municipality():
    with Env("gdpr", config=MAIL) as env:
        setup(env)
        out1 = os.path.join(env.dir, "out1")
        r1, rid1, rep = run(env, AS_OF, out1)
        if rep is None:
            return
        ok(rep["figures"]["in_scope"] > 100 and 0 < rep["figures"]["covered"] < rep["figures"]["in_scope"],
           "the demo has in-scope systems, some covered and some not", rep["figures"])
        f = rep["figures"]
        ok(all(f[k] > 0 for k in ("risk_after_incident", "risk_overdue", "risk_missing", "dpia_missing",
                                  "dpa_missing", "ethics_missing", "citizen_facing_in_scope")),
           "and each kind of gap", f)
        check_figures(rep, "first run")
        ok(os.path.getsize(os.path.join(out1, "gdpr_coverage.pdf")) > 10000, "the PDF is there")

        # Every gap is one item to the system's owner (it_support without one), plus the briefing.
        keys = expected_keys(rep, "2026Q4")
        owners = owner_of(env)
        items1 = run_items(env, rid1)
        want = routed(owners, keys) | {("isk", "gdpr:briefing:2026Q4"),
                                                                ("asg", "gdpr:briefing:2026Q4")}
        eq(items1, want, f"run {rid1}'s items are the rows' gaps, each to its owner, and the briefing",
           f"{len(items1)} items, {len(want)} expected")
        briefs = env.sql(f"SELECT recipient, id FROM outbox WHERE run_id = {rid1} AND recipient IN ('isk', 'asg') "
                         "ORDER BY recipient")
        eq([m[0] for m in briefs], ["asg", "isk"], "isk and ASG get a briefing")
        first = next(iter(sorted(k for k in keys if ":risk:" in k and "missing" not in k)))
        kv = json.loads(env.scalar("SELECT kv FROM outbox_items WHERE CAST(dedupe_key AS CHAR) = '%s'" % first))
        ok(kv["risk_date"] and kv["risk_due"] and kv["system"], "an overdue item names the system and its dates", kv)

        # The same day again: nothing new.
        r2, rid2, rep2 = run(env, AS_OF, os.path.join(env.dir, "out2"))
        eq(env.scalar(f"SELECT COUNT(*) FROM outbox WHERE run_id = {rid2}"), "0", "a second run sends nothing new",
           r2.stdout)
        ok("mail: nothing new" in r2.stdout, "and says so", r2.stdout)
        eq(rep2["figures"], rep["figures"], "with the same figures")
        ok(rep2["previous"] and rep2["previous"]["run"] == rid1, "its previous is the first run", rep2["previous"])

        # The next quarter: the open gaps once more, keyed 2027Q1; nothing of 2026Q4 twice.
        r3, rid3, rep3 = run(env, NEXT_Q, os.path.join(env.dir, "out3"))
        check_figures(rep3, "next quarter")
        items3 = run_items(env, rid3)
        keys3 = expected_keys(rep3, "2027Q1")
        periodic = {k for k in keys3 if k.endswith(":2027Q1")}
        ok(len(periodic) > 50, f"the next quarter has open gaps ({len(periodic)})")
        eq({x for x in items3 if x[1].endswith(":2027Q1") and not x[1].startswith("gdpr:briefing")},
           routed(owners, periodic), "a run in the next quarter reminds every open gap once more, to its owner")
        eq({(rc, k) for rc, k in items3 if ":incident:" in k or ":risk_due:" in k} & items1, set(),
           "incident and due-soon items already sent are not sent again")
        ok(("isk", "gdpr:briefing:2027Q1") in items3, "isk gets the new quarter's briefing")
        ok(all(k.removeprefix("no_email:") in keys3 or k.startswith("gdpr:briefing:") for _, k in items3),
           "every item of the next quarter is a gap of its rows")

        # A new incident on a covered system with an owner, imported as IT support would.
        cands = [r for r in rep3["systems"] if r["covered"] and r["risk_date"] < "2027-01-01"
                 and owners[r["uuid"]][0].startswith("owner:")]
        ok(cands, "a covered system with an owner to have an incident")
        if not cands:
            return
        s = cands[0]
        csvf = os.path.join(env.dir, "incidents-new.csv")
        with open(csvf, "w", encoding="utf-8") as fh:
            fh.write("system_uuid;occurred_on;severity;title\n")
            fh.write(f"{s['uuid']};03.01.2027;høj;Phishing ramte en systembruger\n")
        r = env.run("import", "csv", csvf)
        ok(r.returncode == 0 and "1 incident" in r.stdout + r.stderr, "the incident file imports", r.stdout + r.stderr)
        out4 = os.path.join(env.dir, "out4")
        r4, rid4, rep4 = run(env, NEXT_Q, out4)
        row = next(x for x in rep4["systems"] if x["uuid"] == s["uuid"])
        eq((row["risk"], row["incident_date"], row["covered"]), ("after_incident", "2027-01-03", False),
           f"{s['name']} is now after_incident and not covered")
        eq(rep4["figures"]["covered"], rep3["figures"]["covered"] - 1, "coverage drops by one")
        check_figures(rep4, "after the incident")
        items4 = run_items(env, rid4)
        eq(items4, {(owners[s["uuid"]][0], f"gdpr:{s['uuid']}:incident:2027-01-03")},
           "the run mails that system's owner the incident, and nothing else is new", r4.stdout)
        r = env.run("outbox", "flush")
        ok(r.returncode == 0, "outbox flush writes the messages", r.stdout + r.stderr)
        mid = env.scalar(f"SELECT id FROM outbox WHERE run_id = {rid4}")
        emls = glob.glob(os.path.join(env.state, "outbox", "new", f"outbox-{mid}.eml"))
        ok(emls, "the owner's message is written", mid)
        if emls:
            with open(emls[0], "rb") as fh:
                m = email.message_from_bytes(fh.read(), policy=email.policy.default)
            txt = m.get_body(("plain",)).get_content()
            ok("Phishing ramte en systembruger" in txt and "3. januar 2027" in txt and s["name"] in txt,
               "its text names the incident, its date and the system", txt[:1500])
            ok(not list(m.iter_attachments()), "an owner's digest carries no PDF")
        pdf1 = open(os.path.join(out1, "gdpr_coverage.pdf"), "rb").read()
        for rcpt, mid in briefs:
            fn = os.path.join(env.state, "outbox", "new", f"outbox-{mid}.eml")
            if not ok(os.path.exists(fn), f"{rcpt}'s briefing is written"):
                continue
            with open(fn, "rb") as fh:
                m = email.message_from_bytes(fh.read(), policy=email.policy.default)
            pdfs = [p.get_content() for p in m.iter_attachments() if p.get_content_type() == "application/pdf"]
            eq(pdfs, [pdf1], f"{rcpt}'s briefing carries the first run's PDF")
            ok("GDPR-dækning pr. 26. november 2026" in m.get_body(("plain",)).get_content(),
               f"{rcpt}'s briefing summarises the coverage")


def test_two_organisations():
    with Env("gdpr2", config=MAIL) as env:
        setup(env, "--municipalities", "2")
        out = os.path.join(env.dir, "out")
        r = env.run("run", "gdpr_coverage", "--as-of", AS_OF, "--org", "all", "--out", out)
        ok(r.returncode == 0 and "2 runs, one per organisation" in r.stdout, "--org all makes one run each",
           r.stdout + r.stderr)
        runs = env.sql("SELECT r.id, r.org_id, o.name FROM runs r JOIN organisations o ON o.id = r.org_id "
                       "WHERE r.report = 'gdpr_coverage' ORDER BY r.id")
        eq(len(runs), 2, "two runs, one per organisation", runs)
        eq(sorted(x[1] for x in runs), sorted(x[0] for x in env.sql("SELECT id FROM organisations")),
           "for each organisation")
        uuids = {oid: {x[0] for x in env.sql(f"SELECT kitos_uuid FROM systems WHERE org_id = {oid}")}
                 for _, oid, _ in runs}
        # The names an organisation knows: its people, and its systems' owners as KITOS names them.
        people = {oid: {x[0] for x in env.sql(f"SELECT name FROM people WHERE org_id = {oid} UNION "
                                              f"SELECT owner_name FROM systems WHERE org_id = {oid} AND "
                                              "owner_name IS NOT NULL")} for _, oid, _ in runs}
        for rid, oid, name in runs:
            other = next(x for x in runs if x[1] != oid)
            oo = other[1]
            js = os.path.join(out, rid, "gdpr_coverage.json")
            pdf = os.path.join(out, rid, "gdpr_coverage.pdf")
            with open(js, encoding="utf-8") as fh:
                text = fh.read()
            rep = json.loads(text)
            eq(rep["organisation"]["name"], name, f"run {rid}'s REPORT.json is {name}'s")
            eq({x["uuid"] for x in rep["systems"]}, uuids[oid], f"run {rid}: its rows are {name}'s systems, all")
            check_figures(rep, f"run {rid}")
            leaks = [u for u in uuids[oo] if u in text]
            eq(leaks, [], f"run {rid}: no uuid of {other[2]}'s systems in its REPORT.json")
            ok(other[2] not in text, f"run {rid}: {other[2]} is not named in its REPORT.json")
            only_other = people[oo] - people[oid]
            pt = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True).stdout
            ok(name in pt and other[2] not in pt, f"run {rid}: its PDF names {name}, not {other[2]}")
            ok(len(only_other) > 20, f"{other[2]} has people of its own ({len(only_other)})")
            eq([p for p in only_other if p in pt or p in text], [],
               f"run {rid}: none of {other[2]}'s own people appear in its PDF or REPORT.json")
            # The mail: recipients of this organisation, items of its systems.
            msgs = env.sql(f"SELECT id, recipient, IFNULL(org_id, 'NULL') FROM outbox WHERE run_id = {rid}")
            ok(len(msgs) > 10, f"run {rid} mails ({len(msgs)} messages)")
            eq({m[2] for m in msgs}, {oid}, f"run {rid}'s messages carry its org_id")
            own = {f"owner:{x[0]}" for x in env.sql(f"SELECT id FROM people WHERE org_id = {oid}")}
            eq([m[1] for m in msgs if m[1].startswith("owner:") and m[1] not in own], [],
               f"run {rid}: every owner it mails is of {name}")
            kvs = [json.loads(x[0]) for x in env.sql(
                f"SELECT i.kv FROM outbox_items i JOIN outbox o ON o.id = i.message WHERE o.run_id = {rid} "
                "AND i.template <> 'gdpr_coverage/briefing'")]
            eq([k["uuid"] for k in kvs if k["uuid"] not in uuids[oid]], [],
               f"run {rid}: every item is about one of {name}'s systems ({len(kvs)})")
            flushed = env.run("outbox", "flush")
            texts = []
            for mid, _, _ in msgs:
                for fn in glob.glob(os.path.join(env.state, "outbox", "new", f"outbox-{mid}.eml")):
                    with open(fn, "rb") as fh:
                        m = email.message_from_bytes(fh.read(), policy=email.policy.default)
                    texts.append(m.get_body(("plain",)).get_content() + m.get_body(("html",)).get_content()
                                 + str(m["Subject"]))
            eq(len(texts), len(msgs), f"run {rid}: its messages are written as .eml files", flushed.stdout)
            mail = "\n".join(texts)
            ok(name in mail and other[2] not in mail, f"run {rid}: its mail names {name}, never {other[2]}")
            eq([p for p in only_other if p in mail], [], f"run {rid}: none of {other[2]}'s own people in its mail")


run_tests(test_demo_municipality, test_two_organisations)
