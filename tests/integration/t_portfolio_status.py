#!/usr/bin/python3
"""portfolio_status (Systemoverblik) on the demo municipality, imported
through the real import paths into a private mariadbd, run by the real
overblik: its figures equal the counts of its rows and of the database, the
departments sum to the total, each owner gets one digest with all of the
owner's systems, a rerun sends nothing new, a review recorded by IT support
(a CSV systems file with last_data_review) drops the system out of the next
run's items, and two organisations in one database never see each other."""

import collections
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
NEXT = "2027-01-05"  # the next quarter: open gaps are reminded again
FIELDS = ["owner", "category", "department", "supplier", "operations_model", "personal_data", "contract",
          "risk_assessment"]
MAIL = {"mail": {"from": {"name": "overblik", "email": "overblik@nvk.dk"},
                 "roles": {"asg": ["asg@nvk.dk"], "it_support": ["it@nvk.dk"], "direktion": ["dir@nvk.dk"]}}}


def load_demo(env, *args):
    out = os.path.join(env.dir, "demo")
    r = subprocess.run([OVERBLIK, "demo-data", "--as-of", AS_OF, *args, out], capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    env.start_db()
    for kind, pat in (("kitos", "kitos/*.json"), ("csv", "csv/*.csv")):
        r = env.run("import", kind, *sorted(glob.glob(os.path.join(out, pat))))
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
    return out


def run(env, as_of, *args):
    r = env.run("run", "portfolio_status", "--as-of", as_of, *args)
    rids = [int(m) for m in re.findall(r"^run (\d+): portfolio_status", r.stdout, re.M)]
    return r, rids


def report(env, rid):
    with open(os.path.join(env.state, "runs", str(rid), "portfolio_status.json"), encoding="utf-8") as f:
        return json.load(f)


def items(env, rid):
    """(message recipient, message kind, dedupe_rcpt, dedupe key, message id) of a run's items."""
    return env.sql("SELECT o.recipient, o.kind, i.dedupe_rcpt, i.dedupe_key, o.id FROM outbox_items i "
                   f"JOIN outbox o ON o.id = i.message WHERE o.run_id = {rid} ORDER BY o.id, i.seq")


def half_up_pct(num, den):
    """num / den × 100 with one decimal, half up, from the exact ratio."""
    if den == 0:
        return None
    tenths = Fraction(num * 1000, den)
    return float(int(tenths + Fraction(1, 2))) / 10


def expected_keys(rows, q):
    """{uuid: set of keys} per REPORTS.md."""
    out = collections.defaultdict(set)
    for s in rows:
        if s["review"] in ("never", "overdue"):
            out[s["uuid"]].add(f"portfolio:{s['uuid']}:review:{s['review_due'] or 'never'}:{q}")
        elif s["review"] == "due_soon":
            out[s["uuid"]].add(f"portfolio:{s['uuid']}:review_due:{s['review_due']}")
        if s["missing"]:
            out[s["uuid"]].add(f"portfolio:{s['uuid']}:missing:{'+'.join(sorted(s['missing']))}:{q}")
    return out


def check_figures(env, rep, org_id, what):
    rows, fig = rep["systems"], rep["figures"]
    n = len(rows)
    eq(fig["systems"], n, f"{what}: systems = the rows ({n})")
    db = int(env.scalar(f"SELECT COUNT(*) FROM systems WHERE org_id = {org_id}"))
    eq(n, db, f"{what}: the rows are the organisation's systems in the database")
    eq(fig["in_operation"], sum(s["in_operation"] for s in rows), f"{what}: in_operation = the rows in operation")
    eq(fig["in_operation"], int(env.scalar(f"SELECT COUNT(*) FROM systems WHERE org_id = {org_id} AND "
                                           "kitos_lifecycle <=> 'not_in_use' = 0")),
       f"{what}: in_operation = the database's systems not 'not_in_use'")
    cats = collections.Counter(s["category"] or "unknown" for s in rows)
    eq(fig["by_category"], {k: cats.get(k, 0) for k in ("foundation", "cross_cutting", "line_of_business", "unknown")},
       f"{what}: by_category = the rows' categories")
    dbcat = dict(env.sql(f"SELECT IFNULL(category, 'unknown'), COUNT(*) FROM systems WHERE org_id = {org_id} "
                         "GROUP BY 1"))
    eq({k: v for k, v in fig["by_category"].items() if v}, {k: int(v) for k, v in dbcat.items()},
       f"{what}: by_category = the database's")
    phases = collections.Counter(s["lifecycle_phase"] or "unknown" for s in rows)
    eq(fig["by_phase"], {k: phases.get(k, 0) for k in ("needs", "procurement", "contract_followup", "exit", "unknown")},
       f"{what}: by_phase = the rows' phases")
    deps = collections.Counter(s["department"] for s in rows)
    eq({d["name"]: d["systems"] for d in fig["by_department"]}, dict(deps),
       f"{what}: by_department = the rows' departments")
    eq(sum(d["systems"] for d in fig["by_department"]), fig["systems"], f"{what}: the departments sum to the total")
    st = collections.Counter(s["owner_status"] for s in rows)
    eq((fig["without_owner"], fig["owner_unknown"], fig["owner_without_email"]),
       (st["none"], st["unknown"], st["no_email"]), f"{what}: owner figures = the rows' owner statuses")
    eq(fig["without_owner"], int(env.scalar(f"SELECT COUNT(*) FROM systems WHERE org_id = {org_id} AND "
                                            "owner_id IS NULL AND owner_kitos_uuid IS NULL")),
       f"{what}: without_owner = the database's systems naming no owner")
    eq(fig["owner_unknown"], int(env.scalar(f"SELECT COUNT(*) FROM systems s LEFT JOIN people p ON p.id = s.owner_id "
                                            f"AND p.org_id = s.org_id WHERE s.org_id = {org_id} AND p.id IS NULL "
                                            "AND s.owner_kitos_uuid IS NOT NULL")),
       f"{what}: owner_unknown = the database's owners not among the organisation's people")
    eq(fig["complete"], sum(1 for s in rows if s["complete"]), f"{what}: complete = the complete rows")
    ok(all(s["complete"] == (s["missing"] == []) for s in rows), f"{what}: complete iff nothing missing")
    ok(all(s["missing"] == [f for f in FIELDS if f in s["missing"]] for s in rows),
       f"{what}: missing in REPORTS.md's field order")
    present = sum(8 - len(s["missing"]) for s in rows)
    eq(fig["completeness_pct"], half_up_pct(present, 8 * n), f"{what}: completeness_pct from the rows ({present}/{8 * n})")
    rv = collections.Counter(s["review"] for s in rows)
    eq((fig["review_never"], fig["review_overdue"], fig["review_due_soon"]),
       (rv["never"], rv["overdue"], rv["due_soon"]), f"{what}: review figures = the rows' review states")
    eq(rv["n/a"], n - fig["in_operation"], f"{what}: n/a exactly for the systems not in operation")
    eq(fig["citizen_facing"], sum(1 for s in rows if s["citizen_facing"]), f"{what}: citizen_facing = the rows")
    eq(fig["with_personal_data"], sum(1 for s in rows if s["personal_data"]), f"{what}: with_personal_data = the rows")


def test_demo():
    with Env("portfolio", config=MAIL) as env:
        load_demo(env)
        r, rids = run(env, AS_OF)
        ok(r.returncode == 0 and len(rids) == 1, "the run succeeds", r.stdout + r.stderr[-3000:])
        rid = rids[0]
        rep = report(env, rid)
        eq(rep["report"], "portfolio_status", "REPORT.json is portfolio_status.json")
        rows = rep["systems"]
        ok(len(rows) > 300, f"the demo's systems are rows ({len(rows)})")
        keys = {"uuid", "name", "category", "lifecycle_phase", "department", "owner", "owner_email", "missing",
                "complete", "last_data_review", "review_due", "review"}
        ok(all(keys <= set(s) for s in rows), "every row has the required keys")
        check_figures(env, rep, 1, "demo")
        f = rep["figures"]
        ok(f["review_never"] > 0 and f["review_overdue"] > 0 and f["without_owner"] > 0 and f["owner_unknown"] > 0
           and f["owner_without_email"] > 0 and f["complete"] < f["systems"],
           "the demo has every kind of gap", f)
        # review_due = last_data_review + 12 months, checked against MariaDB's own arithmetic.
        due = dict(env.sql("SELECT kitos_uuid, IFNULL(last_data_review + INTERVAL 12 MONTH, 'NULL') FROM systems"))
        ok(all((s["review_due"] or "NULL") == due[s["uuid"]] for s in rows if s["last_data_review"]),
           "review_due is last_data_review + 12 months for every row")

        # Items: exact keys, each owner one digest with all of the owner's systems.
        it = items(env, rid)
        want = expected_keys(rows, "2026Q4")
        owner_of = dict(env.sql("SELECT s.kitos_uuid, IFNULL(p.id, 0) FROM systems s LEFT JOIN people p "
                                "ON p.id = s.owner_id AND p.org_id = s.org_id"))
        got = collections.defaultdict(set)
        per_owner_msgs = collections.defaultdict(set)
        for rcpt, kind, drcpt, key, mid in it:
            if key.startswith(("portfolio:briefing:", "portfolio:summary:")):
                continue
            k = key[len("no_email:"):] if key.startswith("no_email:") else key
            uuid = k.split(":")[1]
            got[uuid].add(k)
            want_rcpt = f"owner:{owner_of[uuid]}" if owner_of[uuid] != "0" else "it_support"
            if drcpt != want_rcpt:
                ok(False, f"item {k} is for {want_rcpt}", (rcpt, kind, drcpt))
            if drcpt.startswith("owner:"):
                per_owner_msgs[drcpt].add(mid)
        eq(dict(got), dict(want), f"the items' keys are exactly REPORTS.md's ({sum(len(v) for v in want.values())})")
        eq({o: len(m) for o, m in per_owner_msgs.items() if len(m) != 1}, {}, "each owner's items are one digest")
        by_owner = collections.defaultdict(set)
        for u in want:
            if owner_of[u] != "0":
                by_owner[f"owner:{owner_of[u]}"].add(u)
        got_by_owner = collections.defaultdict(set)
        for rcpt, kind, drcpt, key, mid in it:
            if drcpt.startswith("owner:"):
                got_by_owner[drcpt].add(key.replace("no_email:", "").split(":")[1])
        eq(dict(got_by_owner), dict(by_owner), f"each of {len(by_owner)} owners' digest carries all of the owner's "
           "systems with a gap")
        msgs = env.sql(f"SELECT recipient, kind FROM outbox WHERE run_id = {rid} AND kind = 'owner'")
        eq(len(msgs), len({m[0] for m in msgs}), "one message per owner", msgs)
        roles = env.sql(f"SELECT o.recipient, i.dedupe_key FROM outbox_items i JOIN outbox o ON o.id = i.message "
                        f"WHERE o.run_id = {rid} AND o.recipient IN ('asg', 'direktion') ORDER BY 1")
        eq(roles, [["asg", f"portfolio:briefing:{AS_OF}"]], "the briefing goes to ASG only (direktion not configured)")
        pdf = env.scalar(f"SELECT COUNT(*) FROM outbox WHERE run_id = {rid} AND recipient = 'asg' "
                         "AND mime LIKE '%application/pdf%'")
        eq(pdf, "1", "ASG's briefing carries the PDF")

        # A rerun sends nothing new.
        n_items = env.scalar("SELECT COUNT(*) FROM outbox_items")
        r2, rids2 = run(env, AS_OF)
        ok(r2.returncode == 0 and "mail: nothing new" in r2.stdout, "a rerun succeeds and mails nothing new",
           r2.stdout + r2.stderr[-2000:])
        eq(env.scalar("SELECT COUNT(*) FROM outbox_items"), n_items, "no item is added by the rerun")
        eq(report(env, rids2[0])["previous"]["run"], rid, "the rerun's previous is the first run")

        # IT support records a review (CSV systems file, last_data_review).
        cand = [s for s in rows if s["review"] in ("overdue", "never") and owner_of[s["uuid"]] != "0"]
        ok(len(cand) >= 2, "systems with the review overdue or never done and an owner", len(cand))
        fixed, other = cand[0], cand[1]
        csv = os.path.join(env.dir, "review.csv")
        with open(csv, "w", encoding="utf-8") as fh:
            fh.write(f"system_uuid;last_data_review\n{fixed['uuid']};20.11.2026\n")
        r = env.run("import", "csv", csv)
        ok(r.returncode == 0, "the review is imported from CSV", r.stderr)
        r3, rids3 = run(env, NEXT)
        ok(r3.returncode == 0, "the next quarter's run succeeds", r3.stderr[-2000:])
        rep3 = report(env, rids3[0])
        row = next(s for s in rep3["systems"] if s["uuid"] == fixed["uuid"])
        eq((row["last_data_review"], row["review_due"], row["review"]), ("2026-11-20", "2027-11-20", "ok"),
           "the recorded review is in the row: due in a year, ok")
        keys3 = [x[3].replace("no_email:", "") for x in items(env, rids3[0])]
        eq([k for k in keys3 if k.startswith(f"portfolio:{fixed['uuid']}:review")], [],
           "the reviewed system drops out of the next run's items")
        ok(any(k.startswith(f"portfolio:{other['uuid']}:review:") and k.endswith(":2027Q1") for k in keys3),
           "while another overdue system is reminded again in the new quarter", keys3[:20])
        eq(rep3["previous"]["run"], rids2[0], "previous is the latest earlier run")
        check_figures(env, rep3, 1, "next quarter")


def test_summary_only_for():
    cfg = dict(MAIL, reports={"portfolio_status": {"settings": {"summary_only_for": ["direktion"]}}})
    with Env("portfolio-dir", config=cfg) as env:
        load_demo(env)
        r, rids = run(env, AS_OF)
        ok(r.returncode == 0, "a run with summary_only_for direktion succeeds", r.stdout + r.stderr[-3000:])
        roles = env.sql(f"SELECT o.recipient, i.dedupe_key, i.template FROM outbox_items i JOIN outbox o "
                        f"ON o.id = i.message WHERE o.run_id = {rids[0]} AND o.recipient IN ('asg', 'direktion') ORDER BY 1")
        eq(roles, [["asg", f"portfolio:briefing:{AS_OF}", "portfolio_status/briefing"],
                   ["direktion", f"portfolio:summary:{AS_OF}", "portfolio_status/summary"]],
           "ASG gets the briefing, direktion the one-page summary", roles)
        r = env.run("outbox", "flush")
        ok(r.returncode == 0, "the outbox is flushed (as .eml files)", r.stdout + r.stderr)
        msgs = []
        for fn in glob.glob(os.path.join(env.state, "outbox", "new", "*.eml")):
            with open(fn, "rb") as fh:
                msgs.append(email.message_from_bytes(fh.read(), policy=email.policy.default))
        dirmsg = [m for m in msgs if "dir@nvk.dk" in str(m["To"])]
        eq(len(dirmsg), 1, "direktion gets one message")
        mime = dirmsg[0].as_string() if dirmsg else ""
        msg = dirmsg[0] if dirmsg else email.message_from_string("", policy=email.policy.default)
        body = msg.get_body(("plain",)).get_content() if msg.get_body(("plain",)) else ""
        ok("kort fortalt" in body and "Komplethed:" in body, "direktion's mail carries the one-page summary as text",
           body[:1500])
        eq([p.get_content_type() for p in msg.iter_attachments()], [],
           "and no PDF: the summary is enough for them (OB_NOTICE_NO_PDF)")
        asgmsg = [m for m in msgs if any(r[0] == "asg" for r in roles) and m["Subject"] and "asg" in
                  env.scalar("SELECT recipient FROM outbox WHERE message_id = '%s'" % m["Message-ID"].strip("<>"))]
        eq([p.get_content_type() for p in asgmsg[0].iter_attachments()] if asgmsg else None, ["application/pdf"],
           "ASG's briefing carries the whole report as its PDF")
        r = env.run("check-config")
        ok(r.returncode == 0, "check-config accepts the setting", r.stdout + r.stderr)
        # A list of roles (ABI 2.1's CHOICE_LIST): a role that is not one, a
        # role twice, the text of before: refused by pointer, no run made.
        with open(env.config, encoding="utf-8") as f:
            conf = json.load(f)
        for value, want in [(["direktionen"], "/reports/portfolio_status/settings/summary_only_for/0: expected one of"),
                            (["asg", "asg"], "/reports/portfolio_status/settings/summary_only_for/1: \"asg\" is in the list twice"),
                            ("direktion", "/reports/portfolio_status/settings/summary_only_for: expected a list")]:
            conf["reports"]["portfolio_status"]["settings"]["summary_only_for"] = value
            with open(env.config, "w", encoding="utf-8") as f:
                json.dump(conf, f)
            r = env.run("check-config")
            ok(r.returncode == 1 and want in r.stderr, f"check-config refuses summary_only_for {value!r}", r.stderr)
            before = env.scalar("SELECT COUNT(*) FROM runs")
            r = env.run("run", "portfolio_status", "--as-of", AS_OF)
            ok(r.returncode == 1 and want in r.stderr and env.scalar("SELECT COUNT(*) FROM runs") == before,
               f"and overblik run refuses it before making a run ({value!r})", r.stdout + r.stderr[-1500:])


def test_two_organisations():
    with Env("portfolio-two", config=MAIL) as env:
        load_demo(env, "--municipalities", "2")
        orgs = env.sql("SELECT id, name FROM organisations ORDER BY id")
        eq(len(orgs), 2, "two organisations in one database", orgs)
        r, rids = run(env, AS_OF, "--org", "all")
        ok(r.returncode == 0 and len(rids) == 2, "--org all makes one run each", r.stdout + r.stderr[-3000:])
        uu = {}
        for rid in rids:
            oid = env.scalar(f"SELECT org_id FROM runs WHERE id = {rid}")
            rep = report(env, rid)
            name = dict(orgs)[oid]
            eq(rep["organisation"]["name"], name, f"run {rid} is {name}'s")
            mine = {x[0] for x in env.sql(f"SELECT kitos_uuid FROM systems WHERE org_id = {oid}")}
            uu[oid] = {s["uuid"] for s in rep["systems"]}
            eq(uu[oid], mine, f"run {rid}'s rows are exactly {name}'s systems")
            check_figures(env, rep, oid, name)
            keys = [x[3].replace("no_email:", "") for x in items(env, rid)]
            item_uuids = {k.split(":")[1] for k in keys if not k.startswith("portfolio:briefing")}
            ok(item_uuids and item_uuids <= mine, f"run {rid}'s items are of {name}'s systems only")
            people = {f"owner:{x[0]}" for x in env.sql(f"SELECT id FROM people WHERE org_id = {oid}")}
            owners = {x[2] for x in items(env, rid) if x[2].startswith("owner:")}
            ok(owners and owners <= people, f"run {rid} mails {name}'s people only", owners - people)
            eq(env.sql(f"SELECT DISTINCT org_id FROM outbox WHERE run_id = {rid}"), [[oid]],
               f"run {rid}'s messages are keyed under {name}")
            other = [o for o in dict(orgs) if o != oid][0]
            dnames = {d["name"] for d in rep["figures"]["by_department"]} - {None}
            theirs = {x[0] for x in env.sql(f"SELECT name FROM org_units WHERE org_id = {other}")}
            mineu = {x[0] for x in env.sql(f"SELECT name FROM org_units WHERE org_id = {oid}")}
            ok(dnames <= mineu, f"run {rid}'s departments are {name}'s units", dnames - mineu)
        eq(uu[orgs[0][0]] & uu[orgs[1][0]], set(), "no system appears in both runs")


run_tests(test_demo, test_summary_only_for, test_two_organisations)
