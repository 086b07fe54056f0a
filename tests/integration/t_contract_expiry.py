#!/usr/bin/python3
"""contract_expiry (issue 10, "What it must show" 2-4) on the demo
municipality, in a private mariadbd, with the real overblik and overblikd:
REPORT.json's figures are the counts of its rows, and its rows are what
REPORTS.md's rules give for the database's contracts (computed here, in
Python, from the rules, not from the plugin); the PDF; a second run for the
same date sends nothing; a run 100 days later sends only the milestones
reached since; one digest per owner; two organisations in one database see
nothing of each other (orgiso.py); the mail over a real SMTP server: an
owner's digest in Danish without the PDF, ASG's and Indkøb's with it; bad and
custom settings."""

import calendar
import datetime
import email
import email.policy
import glob
import json
import os
import re
import subprocess
import time

import obtest
from obtest import Env, ok, eq, run_tests, OVERBLIK
from orgiso import assert_org_isolation, flat, outbox_messages, message_text, run_files
from t_server import Server, base_config, free_port, write_config
from t_mail import Smtpd, body_text, attachment

REPORT = "contract_expiry"
PLUGINS = os.path.join(obtest.TOP_BUILDDIR, "plugins", ".libs")
D0 = "2026-11-26"                                   # the demo data's as_of
D1 = "2026-11-26"                                   # the first run
D2 = str(datetime.date(2026, 11, 26) + datetime.timedelta(days=100))  # 2027-03-06
MILESTONES = [365, 180, 90, 30]
LEADS = {"A": 12, "B": 9, "C": 6}
MONTHS_DA = ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
             "november", "december"]
ROLES = {"asg": [{"name": "Administrations- og Servicechefgruppen", "email": "asg@kommune.test"}],
         "indkoeb": [{"name": "Indkøb og Udbud", "email": "indkoeb@kommune.test"}],
         "it_support": [{"name": "IT-støttefunktionen", "email": "it@kommune.test"}],
         "isk": ["isk@kommune.test"], "iod": ["iod@kommune.test"]}
MAIL = {"from": {"name": "overblik", "email": "overblik@kommune.test"}, "roles": ROLES}


# ---- the calendar and the rules, from REPORTS.md ----

def d(s):
    return None if s in (None, "NULL", "") else datetime.date.fromisoformat(s)


def iso(x):
    return None if x is None else x.isoformat()


def last_day(y, m):
    return calendar.monthrange(y, m)[1]


def add_months(day, n):
    """Calendar months; the last day of a month stays the last day."""
    y, m = divmod(day.year * 12 + day.month - 1 + n, 12)
    m += 1
    if day.day == last_day(day.year, day.month):
        return datetime.date(y, m, last_day(y, m))
    return datetime.date(y, m, min(day.day, last_day(y, m)))


def end_of(day, p):
    if p == "month":
        return datetime.date(day.year, day.month, last_day(day.year, day.month))
    if p == "quarter":
        m = (day.month - 1) // 3 * 3 + 3
        return datetime.date(day.year, m, last_day(day.year, m))
    if p == "year":
        return datetime.date(day.year, 12, 31)
    return day


def date_da(x):
    return f"{x.day}. {MONTHS_DA[x.month - 1]} {x.year}"


def nul(v):
    return None if v == "NULL" else v


def db_contracts(env, org_id):
    """{uuid: contract} of an organisation, with its covered systems and their owners."""
    out = {}
    for (cid, uuid, name, supplier, segment, end, cont, notice, by_end_of, irrev, term, auto, cost,
         decision) in env.sql(
            "SELECT id, kitos_uuid, name, IFNULL(supplier, 'NULL'), IFNULL(segment, 'NULL'), IFNULL(end_date, 'NULL'),"
            " continuous, IFNULL(notice_months, 'NULL'), IFNULL(notice_by_end_of, 'NULL'),"
            " IFNULL(irrevocable_until, 'NULL'), IFNULL(terminated_at, 'NULL'), IFNULL(auto_renewal, 'NULL'),"
            " IFNULL(annual_cost, 'NULL'), exit_decision"
            f" FROM contracts WHERE org_id = {org_id}"):
        out[uuid] = {"id": cid, "uuid": uuid, "name": name, "supplier": nul(supplier), "segment": nul(segment),
                     "end": d(end), "continuous": cont == "1",
                     "notice": None if notice == "NULL" else int(notice), "by_end_of": nul(by_end_of),
                     "irrevocable": d(irrev), "terminated": d(term),
                     "auto_renewal": None if auto == "NULL" else auto == "1",
                     "cost": None if cost == "NULL" else float(cost), "decision": decision, "systems": []}
    by_id = {c["id"]: c for c in out.values()}
    for cid, suuid, life, phase, owner in env.sql(
            "SELECT cs.contract_id, s.kitos_uuid, IFNULL(s.kitos_lifecycle, 'NULL'), IFNULL(s.lifecycle_phase, 'NULL'),"
            " IFNULL(p.id, 'NULL') FROM contract_systems cs JOIN systems s ON s.id = cs.system_id"
            " LEFT JOIN people p ON p.id = s.owner_id AND p.org_id = s.org_id"
            f" WHERE cs.contract_id IN (SELECT id FROM contracts WHERE org_id = {org_id})"):
        by_id[cid]["systems"].append({"uuid": suuid, "life": nul(life), "phase": nul(phase), "owner": nul(owner)})
    return out


def expect_row(c, as_of, milestones=MILESTONES):
    """A contract's row by REPORTS.md "contract_expiry" and its Readings."""
    as_of = d(as_of)
    kind = "terminated" if c["terminated"] else "continuous" if c["continuous"] or c["end"] is None else "fixed"
    n, p, e = c["notice"], c["by_end_of"], c["end"]
    in_op = any(s["life"] != "not_in_use" for s in c["systems"])   # unknown counts as in operation
    in_exit = any(s["phase"] == "exit" for s in c["systems"])
    undecided = c["decision"] == "undecided"
    r = {"uuid": c["uuid"], "name": c["name"], "supplier": c["supplier"], "segment": c["segment"], "kind": kind,
         "end": iso(e), "notice_months": n, "notice_by_end_of": p, "notice_deadline": None, "days_left": None, "earliest_end": None,
         "ends_on": None, "milestone": None, "expired": False, "expired_in_use": False, "escalate": False,
         "exit_start": None, "exit_due": False, "decision": c["decision"], "auto_renewal": c["auto_renewal"],
         "annual_cost": c["cost"], "systems": sorted(s["uuid"] for s in c["systems"])}
    if kind == "fixed":
        r["expired"] = e < as_of
        r["expired_in_use"] = r["expired"] and in_op
        if n is not None:
            nd = add_months(e, -n)
            left = (nd - as_of).days
            r["notice_deadline"], r["days_left"] = iso(nd), left
            if 0 <= left <= max(milestones):
                r["milestone"] = min(m for m in milestones if m >= left)
            elif left < 0 and e >= as_of:
                r["milestone"] = "passed"
            r["escalate"] = 0 <= left <= 90 and undecided
            if c["segment"] in LEADS:
                xs = add_months(nd, -LEADS[c["segment"]])
                r["exit_start"] = iso(xs)
                r["exit_due"] = as_of >= xs and left >= 0 and undecided and not in_exit
    elif kind == "continuous":
        if n is not None:
            start = add_months(as_of, n)
            if c["irrevocable"] and c["irrevocable"] > start:
                start = c["irrevocable"]
            r["earliest_end"] = iso(end_of(start, p))
    else:
        if n is not None:
            x = end_of(add_months(c["terminated"], n), p)
            r["ends_on"] = iso(min(x, e) if e else x)
        else:
            r["ends_on"] = iso(e)
    return r


def figures_of(rows, milestones=MILESTONES):
    """The figures REPORTS.md names, counted from rows."""
    def within(r, n):
        return r["days_left"] is not None and 0 <= r["days_left"] <= n
    f = {"contracts": len(rows)}
    for k in ("fixed", "continuous", "terminated"):
        f[k] = sum(r["kind"] == k for r in rows)
    f["without_notice_period"] = sum(r["kind"] != "terminated" and r["notice_months"] is None for r in rows)
    for k in ("expired", "expired_in_use", "exit_due"):
        f[k] = sum(r[k] is True for r in rows)
    f["passed"] = sum(r["milestone"] == "passed" for r in rows)
    f["escalations"] = sum(r["escalate"] is True for r in rows)
    for n in (30, 90, 180, 365):
        f[f"deadline_within_{n}"] = sum(within(r, n) for r in rows)
    f["annual_cost_deadline_within_365"] = round(sum(r["annual_cost"] or 0 for r in rows if within(r, 365)), 2)
    f["milestones"] = {str(m): sum(r["milestone"] == m for r in rows) for m in milestones}
    f["milestones"]["passed"] = f["passed"]
    return f


def notices_of(rows, contracts):
    """{(recipient, key)} the rows' items go to (REPORTS.md "Items")."""
    out = set()
    for r in rows:
        c = contracts[r["uuid"]]
        owners = []
        for s in c["systems"]:
            if s["owner"] and s["owner"] not in owners:
                owners.append(s["owner"])

        def to_owners(key, indkoeb=False):
            out.update((f"owner:{o}", key) for o in owners)
            if indkoeb or not owners:
                out.add(("indkoeb", key))
        u, nd = r["uuid"], r["notice_deadline"]
        if isinstance(r["milestone"], int):
            to_owners(f"contract:{u}:deadline:{nd}:{r['milestone']}")
        elif r["milestone"] == "passed":
            to_owners(f"contract:{u}:deadline:{nd}:passed")
        if r["exit_due"]:
            to_owners(f"contract:{u}:exit:{nd}")
        if r["expired_in_use"]:
            to_owners(f"contract:{u}:expired:{r['end']}", indkoeb=True)
        if r["escalate"]:
            out.add(("asg", f"contract:{u}:deadline:{nd}:asg"))
    return out


def outbox_items(env, where):
    """{(recipient, key)} of the outbox's items; an owner's item routed to
    it_support (no e-mail) is the owner's, key without "no_email:"."""
    return {(r, k[len("no_email:"):] if k.startswith("no_email:") else k)
            for r, k in env.sql("SELECT i.dedupe_rcpt, i.dedupe_key FROM outbox_items i JOIN outbox o "
                                f"ON o.id = i.message WHERE {where}")}


def norm(row):
    """A REPORT.json row for comparison: systems as a sorted list."""
    r = dict(row)
    r["systems"] = sorted(r.get("systems") or [])
    return r


def check_rows(env, org_id, j, as_of, tag, milestones=MILESTONES):
    """REPORT.json's rows and figures against the database and REPORTS.md."""
    contracts = db_contracts(env, org_id)
    rows = j.get("contracts") or []
    eq(sorted(r.get("uuid") for r in rows), sorted(contracts),
       f"{tag}: one row per contract of the organisation, each with its KITOS uuid")
    fields = ["uuid", "name", "supplier", "segment", "kind", "end", "notice_months", "notice_by_end_of",
              "notice_deadline", "days_left", "earliest_end", "ends_on", "milestone", "expired", "expired_in_use",
              "escalate", "exit_start", "exit_due", "decision", "auto_renewal", "annual_cost", "systems"]
    missing = sorted({f for r in rows for f in fields if f not in r})
    eq(missing, [], f"{tag}: every row has every field REPORTS.md names")
    want = {u: expect_row(c, as_of, milestones) for u, c in contracts.items()}
    for f in fields:
        bad = [(r["uuid"], r.get(f), want[r["uuid"]][f]) for r in map(norm, rows)
               if r.get("uuid") in want and r.get(f) != want[r["uuid"]][f]
               and not (f == "annual_cost" and r.get(f) is not None and want[r["uuid"]][f] is not None
                        and abs(r[f] - want[r["uuid"]][f]) < 0.005)]
        eq(bad[:3], [], f"{tag}: every row's {f} is REPORTS.md's for the database's contract",
           f"{len(bad)} rows differ (uuid, got, want)")
    eq(sorted(str(type(r.get("days_left")).__name__) for r in rows if r.get("days_left") is not None)[:1] or ["int"],
       ["int"], f"{tag}: days_left is a JSON number")
    f = j.get("figures") or {}
    counted = figures_of([norm(r) for r in rows], milestones)
    for k in counted:
        if k == "annual_cost_deadline_within_365":
            ok(isinstance(f.get(k), (int, float)) and abs(f[k] - counted[k]) < 0.01,
               f"{tag}: figure {k} = the sum over its rows ({counted[k]})", f"got {f.get(k)!r}")
        else:
            eq(f.get(k), counted[k], f"{tag}: figure {k} = the count of its rows")
    eq(figures_of(list(want.values()), milestones), counted,
       f"{tag}: and the figures REPORTS.md gives for the database's contracts")
    return rows, contracts


def setup_demo(env, municipalities=1):
    env.start_db()
    r = env.run("migrate")
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    out = os.path.join(env.dir, "demo")
    r = subprocess.run([OVERBLIK, "demo-data", "--municipalities", str(municipalities), "--as-of", D0, out],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    for kind, pat in (("kitos", "kitos/*.json"), ("csv", "csv/*.csv")):
        r = env.run("import", kind, *sorted(glob.glob(os.path.join(out, pat))))
        if r.returncode != 0:
            raise RuntimeError(f"import {kind}: {r.stderr[-2000:]}")


def config(env, **over):
    cfg = {"plugin_dir": PLUGINS, "mail": dict(MAIL)}
    cfg.update(over)
    write_config(env.config, env, cfg)


def cli_run(env, as_of, *more):
    """overblik run contract_expiry; (CompletedProcess, [run ids])."""
    r = env.run("run", REPORT, "--as-of", as_of, *more)
    return r, [int(x) for x in re.findall(r"^run (\d+): ", r.stdout, re.M)]


def check_pdf(env, rid, org, as_of, tag):
    pdf = os.path.join(env.state, "runs", str(rid), REPORT + ".pdf")
    q = subprocess.run(["qpdf", "--check", pdf], capture_output=True, text=True)
    ok(q.returncode in (0, 3) and "No syntax or stream encoding errors found" in q.stdout,
       f"{tag}: the PDF passes qpdf --check", q.stdout + q.stderr)
    text = flat(subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True).stdout)
    ok(org in text, f"{tag}: pdftotext gives back the organisation {org}")
    ok(all(ch in text for ch in "æøå"), f"{tag}: and æ, ø, å")
    ok("Side 1 af" in text, f"{tag}: and \"Side 1 af\"")
    labels = ["Kontrakter", "Frist inden 90 dage", "Kræver beslutning", "Frist overskredet", "Udløbet, men i drift",
              "Exit bør være i gang", "Årlig udgift, frist inden 12 mdr."]
    eq([x for x in labels if x not in text], [], f"{tag}: and the key figures' labels")
    ok(date_da(d(as_of)) in text, f"{tag}: and as_of as a Danish date ({date_da(d(as_of))})")
    return text


# ---- point 2: the demo municipality ----

def test_demo_two_dates():
    with Env("ce-demo") as env:
        setup_demo(env)
        config(env)
        org_id, name, cvr, ouuid = env.sql("SELECT id, name, cvr, kitos_uuid FROM organisations")[0]

        r, rids = cli_run(env, D1)
        eq(r.returncode, 0, f"overblik run {REPORT} --as-of {D1} succeeds", r.stdout + r.stderr)
        rid1 = rids[0]
        j1, _ = run_files(env, REPORT, rid1)
        eq({k: j1.get(k) for k in ("report", "format", "as_of", "run", "organisation")},
           {"report": REPORT, "format": 1, "as_of": D1, "run": rid1,
            "organisation": {"name": name, "cvr": cvr, "kitos_uuid": ouuid}},
           "REPORT.json: report, format, as_of, run and the database's organisation")
        eq(j1.get("previous"), None, "the first run has no previous")
        rows1, contracts = check_rows(env, org_id, j1, D1, f"as of {D1}")
        f1 = j1["figures"]
        ok(f1["escalations"] > 0 and f1["expired_in_use"] > 0 and f1["exit_due"] > 0 and f1["continuous"] > 0
           and f1["terminated"] > 0 and f1["deadline_within_30"] > 0,
           "the demo has escalations, expired contracts in use, exits due, continuous and terminated ones", f1)
        check_pdf(env, rid1, name, D1, f"run {rid1}")

        # The mail of the first run: every item REPORTS.md gives, one digest per owner.
        sent1 = outbox_items(env, f"o.run_id = {rid1}")
        want1 = notices_of(rows1, contracts)
        eq(sorted(want1 - sent1)[:5], [], f"run {rid1}: every item REPORTS.md gives is in the outbox",
           f"{len(want1 - sent1)} missing")
        eq(sorted(sent1 - want1)[:5], [], f"run {rid1}: and no other", f"{len(sent1 - want1)} extra")
        msgs = env.sql(f"SELECT recipient, items FROM outbox WHERE run_id = {rid1} AND kind = 'owner'")
        per_owner = {}
        for rc, k in env.sql(f"SELECT recipient, dedupe_key FROM run_notices WHERE run_id = {rid1} "
                             "AND recipient LIKE 'owner:%'"):
            per_owner.setdefault(rc, []).append(k)
        rc_list = [m[0] for m in msgs]
        eq(len(rc_list), len(set(rc_list)), f"run {rid1}: one digest per owner ({len(rc_list)} owners)")
        bad = [(rc, int(n), len(per_owner.get(rc, []))) for rc, n in msgs if int(n) != len(per_owner.get(rc, []))]
        eq(bad, [], f"run {rid1}: each owner's digest has as many items as the owner's notices")
        many = {rc: ks for rc, ks in per_owner.items() if rc in rc_list
                and len({k.split(":")[1] for k in ks}) >= 3}
        ok(many, f"run {rid1}: some owner has items on three or more contracts", per_owner)
        if many:
            rc, ks = max(many.items(), key=lambda kv: len(kv[1]))
            m = [x for x in outbox_messages(env, rid1) if x[1] == rc]
            eq(len(m), 1, f"run {rid1}: {rc} (items on {len(set(k.split(':')[1] for k in ks))} contracts) "
                          "gets one message")
            text = message_text(m[0][3]) if m else ""
            names = {contracts[k.split(":")[1]]["name"] for k in ks}
            eq(sorted(n for n in names if n not in text), [], f"run {rid1}: which names each of their contracts")
            ok(f"{len(ks)} punkter til dig" in text, f"run {rid1}: and counts {len(ks)} items in its subject",
               text[:300])

        # The same date again: nothing new goes out.
        n_msgs = env.scalar("SELECT COUNT(*) FROM outbox")
        n_items = env.scalar("SELECT COUNT(*) FROM outbox_items")
        r, rids = cli_run(env, D1)
        eq(r.returncode, 0, f"a second run for {D1} succeeds", r.stdout + r.stderr)
        rid2 = rids[0]
        eq((env.scalar("SELECT COUNT(*) FROM outbox"), env.scalar("SELECT COUNT(*) FROM outbox_items")),
           (n_msgs, n_items), "it queues no message and no item")
        ok(re.search(rf"run {rid2}: 0 messages with 0 items queued in the outbox; {n_items} items mailed before",
                     r.stderr), f"its log says 0 messages, 0 items, {n_items} mailed before", r.stderr[-1500:])
        j2, _ = run_files(env, REPORT, rid2)
        eq(j2.get("figures"), f1, "the same date gives the same figures")
        eq((j2.get("previous") or {}).get("run"), rid1, "its previous is the first run")
        eq((j2.get("previous") or {}).get("figures"), f1, "with that run's figures")

        # 100 days later: only the milestones reached since.
        r, rids = cli_run(env, D2)
        eq(r.returncode, 0, f"a run {D2} (100 days later) succeeds", r.stdout + r.stderr)
        rid3 = rids[0]
        j3, _ = run_files(env, REPORT, rid3)
        prev = j3.get("previous") or {}
        eq((prev.get("as_of"), prev.get("run") in (rid1, rid2), prev.get("figures")), (D1, True, f1),
           "its previous is the run of 100 days before, with its figures")
        rows3, _ = check_rows(env, org_id, j3, D2, f"as of {D2}")
        check_pdf(env, rid3, name, D2, f"run {rid3}")
        before = outbox_items(env, f"o.run_id IN ({rid1}, {rid2})")
        new = outbox_items(env, f"o.run_id = {rid3}")
        want_new = notices_of(rows3, contracts) - notices_of(rows1, contracts)
        ok(new, f"run {rid3} sends new items ({len(new)})")
        eq(sorted(new - want_new)[:5], [], f"run {rid3}: every new item is one REPORT.json's rows did not give "
                                            f"{D1}", f"{len(new - want_new)} unexpected")
        eq(sorted(want_new - new)[:5], [], f"run {rid3}: and each of those is sent", f"{len(want_new - new)} missing")
        eq(sorted(new & before)[:5], [], f"run {rid3}: no item is sent again")
        again = []
        ms_new = 0
        for rc, k in new:
            mm = re.match(r"contract:([^:]+):deadline:([^:]+):(\d+|passed)$", k)
            if not mm:
                continue
            ms_new += 1
            prior = {k2.rsplit(":", 1)[1] for rc2, k2 in before
                     if rc2 == rc and k2.startswith(f"contract:{mm.group(1)}:deadline:{mm.group(2)}:")}
            if mm.group(3) in prior:
                again.append((rc, k))
        ok(ms_new > 0, f"run {rid3}: some of them are milestones reached since {D1} ({ms_new})")
        eq(again, [], f"run {rid3}: each new milestone differs from those sent before for that contract and recipient")
        moved = [r["uuid"] for r in rows3 if isinstance(r["milestone"], int)
                 and any(r1["uuid"] == r["uuid"] and r1["milestone"] == r["milestone"] for r1 in rows1)]
        ok(moved and not any(k.startswith(f"contract:{u}:deadline:") and not k.endswith(":asg")
                             for u in moved for _, k in new),
           f"run {rid3}: a contract whose milestone did not change gets no new deadline item ({len(moved)} such)")
        ok(re.search(rf"run {rid3}: \d+ messages? with {len(new)} items? queued", r.stderr),
           f"run {rid3}'s log counts the {len(new)} items", r.stderr[-1500:])

        # A careless operator: bad settings; a custom list of milestones.
        config(env, reports={REPORT: {"settings": {"milestones": [365, "x"]}}})
        runs = env.scalar("SELECT COUNT(*) FROM runs")
        r, _ = cli_run(env, D1)
        ok(r.returncode != 0, "milestones [365, \"x\"]: overblik run fails", r.stdout + r.stderr)
        ok(f"/reports/{REPORT}/settings/milestones/1" in r.stderr,
           "naming /reports/contract_expiry/settings/milestones/1", r.stderr)
        # overblikd refuses such a report with 409 bad_settings and makes no run
        # (t_plugin_abi); the command line must not record a run either.
        eq(env.scalar("SELECT COUNT(*) FROM runs"), runs, "and makes no run, as overblikd makes none")
        config(env, reports={REPORT: {"settings": {"milestones": [60, 14]}}})
        out = os.path.join(env.dir, "custom")
        r, rids = cli_run(env, D1, "--dry-run", "--out", out)
        eq(r.returncode, 0, "milestones [60, 14]: the run succeeds", r.stdout + r.stderr)
        jc = json.load(open(os.path.join(out, REPORT + ".json"), encoding="utf-8"))
        eq(sorted((jc.get("figures") or {}).get("milestones", {})), ["14", "60", "passed"],
           "the milestone figures are keyed 60, 14 and passed")
        check_rows(env, org_id, jc, D1, "milestones [60, 14]", milestones=[60, 14])


# ---- point 3: two organisations ----

def test_two_organisations():
    with Env("ce-orgs") as env:
        setup_demo(env, municipalities=2)
        config(env)
        orgs = env.sql("SELECT id, name, cvr, kitos_uuid FROM organisations ORDER BY id")
        eq(len(orgs), 2, "demo-data --municipalities 2 imports two organisations", orgs)
        (o1, n1, c1, u1), (o2, n2, c2, u2) = orgs
        eq(env.sql("SELECT COUNT(*) FROM contract_systems cs JOIN contracts c ON c.id = cs.contract_id "
                   "JOIN systems s ON s.id = cs.system_id WHERE c.org_id <> s.org_id"), [["0"]],
           "no contract covers another organisation's system")

        r, rids = cli_run(env, D1, "--org", "all")
        eq(r.returncode, 0, "--org all succeeds", r.stdout + r.stderr)
        eq(len(rids), 2, "and makes two runs", r.stdout)
        eq(env.sql(f"SELECT org_id FROM runs WHERE id IN ({','.join(map(str, rids))}) ORDER BY org_id"),
           [[o1], [o2]], "exactly one for each organisation")
        ok("2 of 2 runs succeeded" in r.stdout, "and says so", r.stdout)
        all_runs = dict(env.sql(f"SELECT org_id, id FROM runs WHERE id IN ({','.join(map(str, rids))})"))
        js = assert_org_isolation(env, REPORT, {int(k): int(v) for k, v in all_runs.items()}, "contracts", "contracts")
        for oid, j in js.items():
            check_rows(env, oid, j, D1, f"--org all, organisation {oid}")

        r1, ra = cli_run(env, D2, "--org", u1)
        r2, rb = cli_run(env, D2, "--org", c2)
        eq((r1.returncode, r2.returncode), (0, 0), "a run by KITOS uuid and one by CVR succeed", r1.stderr + r2.stderr)
        eq(env.sql(f"SELECT org_id FROM runs WHERE id IN ({ra[0]}, {rb[0]}) ORDER BY id"), [[o1], [o2]],
           "--org UUID runs the first organisation, --org CVR the second")
        js = assert_org_isolation(env, REPORT, {int(o1): ra[0], int(o2): rb[0]}, "contracts", "contracts")
        for oid, j in js.items():
            check_rows(env, oid, j, D2, f"--org, organisation {oid}")
            eq((j.get("previous") or {}).get("run"), int(all_runs[str(oid)]),
               f"organisation {oid}'s previous is its own --org all run")


# ---- point 4: the mail over SMTP ----

def test_mail_over_smtp():
    with Env("ce-smtp") as env:
        setup_demo(env)
        port = free_port()
        smtpd = Smtpd(env, "smtp").start()
        mail = dict(MAIL, smtp={"host": "127.0.0.1", "port": smtpd.port, "starttls": "off"}, poll_interval=1)
        write_config(env.config, env, base_config(port, plugin_dir=PLUGINS, mail=mail))
        org_id, org = env.sql("SELECT id, name FROM organisations")[0]
        srv = Server(env, port).start()
        try:
            r, rid = srv.trigger(REPORT, {"as_of": D1})
            eq(r.status, 202, f"POST /api/v1/reports/{REPORT}/runs: 202", r)
            run = srv.wait_run(rid, timeout=60)
            eq(run and run.get("status"), "succeeded", "the run succeeds in overblikd")
            n = int(env.scalar(f"SELECT COUNT(*) FROM outbox WHERE run_id = {rid}"))
            eq(smtpd.wait_count(n, timeout=60), n, f"all {n} messages arrive at the SMTP server")
            j, _ = run_files(env, REPORT, rid)
            contracts = db_contracts(env, org_id)
            rows = {r["uuid"]: r for r in j["contracts"]}
            with open(os.path.join(env.state, "runs", str(rid), REPORT + ".pdf"), "rb") as f:
                pdf = f.read()
            msgs = smtpd.messages()
            owners = dict(env.sql("SELECT LOWER(email), id FROM people WHERE email IS NOT NULL"))
            names = dict(env.sql("SELECT id, name FROM people"))

            # An owner's digest with a deadline item on a contract whose name has æ, ø or å.
            notices = env.sql(f"SELECT recipient, dedupe_key FROM run_notices WHERE run_id = {rid} "
                              "AND recipient LIKE 'owner:%'")
            by_owner = {}
            for rc, k in notices:
                by_owner.setdefault(rc[6:], []).append(k)
            pick = None
            for m in msgs:
                to = m["env"]["rcpt_tos"]
                pid = owners.get(to[0].lower()) if len(to) == 1 else None
                if pid is None:
                    continue
                for k in by_owner.get(pid, []):
                    mm = re.match(r"contract:([^:]+):deadline:[^:]+:\d+$", k)
                    if mm and re.search("[æøåÆØÅ]", contracts[mm.group(1)]["name"]) and \
                            rows[mm.group(1)]["days_left"] > 1:
                        pick = (m, pid, rows[mm.group(1)])
                        break
                if pick:
                    break
            ok(pick, "an owner's digest has a deadline item on a contract named with æ, ø or å")
            if pick:
                m, pid, row = pick
                msg = m["msg"]
                nitems = len(by_owner[pid])
                txt = body_text(msg, "plain")
                eq(str(msg["Subject"]), f"Kontraktudløb: {nitems} punkt{'' if nitems == 1 else 'er'} til dig pr. "
                                        f"{d(D1).strftime('%d.%m.%Y')}", "its Subject decodes to Danish")
                ok(txt.startswith(f"Kære {names[pid]}"), "its text greets the owner by name", txt[:200])
                ok(row["name"] in txt, f"it names the contract {row['name']!r}", txt)
                ok(date_da(d(row["notice_deadline"])) in txt,
                   f"and its deadline as a Danish date ({date_da(d(row['notice_deadline']))})", txt)
                ok(f"om {row['days_left']} dage" in txt, f"and the days left (om {row['days_left']} dage)", txt)
                ok(org in txt and "ø" in txt and "å" in txt, "the text is Danish, æøå decoded", txt[:400])
                ok(row["name"] in body_text(msg, "html"), "the HTML part names the contract too")
                eq(attachment(msg), (None, None), "the owner's digest carries no PDF")
                eq([p.get_content_type() for p in msg.iter_attachments()], [], "nor any attachment")
            owner_msgs = [m for m in msgs if len(m["env"]["rcpt_tos"]) == 1
                          and m["env"]["rcpt_tos"][0].lower() in owners]
            ok(owner_msgs and all(attachment(m["msg"]) == (None, None) for m in owner_msgs),
               f"none of the {len(owner_msgs)} owners' digests carries the PDF")

            for role, what in (("asg", "escalations"), ("indkoeb", "contracts without an owned system or expired "
                                                                   "in use")):
                addr = ROLES[role][0]["email"]
                got = [m for m in msgs if addr in m["env"]["rcpt_tos"]]
                eq(len(got), 1, f"{role} gets one briefing ({what})")
                if not got:
                    continue
                msg = got[0]["msg"]
                fname, data = attachment(msg)
                eq(fname, REPORT + ".pdf", f"{role}'s briefing carries {REPORT}.pdf")
                ok(data == pdf, f"{role}'s attachment equals the run's PDF byte for byte",
                   f"{len(data or b'')} vs {len(pdf)}")
                ok(org in str(msg["Subject"]) and "Kontraktudløb" in str(msg["Subject"]),
                   f"{role}'s Subject is Danish and names the organisation", str(msg["Subject"]))
                keys = [k for rc, k in env.sql(f"SELECT recipient, dedupe_key FROM run_notices WHERE run_id = {rid} "
                                               f"AND recipient = '{role}'")]
                txt = body_text(msg, "plain")
                listed = {contracts[k.split(":")[1]]["name"] for k in keys}
                eq(sorted(x for x in listed if x not in txt), [], f"{role}'s briefing names its {len(keys)} contracts")
            esc = [r for r in j["contracts"] if r["escalate"]]
            eq(len([k for rc, k in env.sql(f"SELECT recipient, dedupe_key FROM run_notices WHERE run_id = {rid} "
                                           "AND recipient = 'asg'")]), len(esc),
               "ASG's items are the escalations")
            time.sleep(1.5)
            eq(env.sql(f"SELECT DISTINCT status FROM outbox WHERE run_id = {rid}"), [["sent"]],
               "every message is marked sent")
        finally:
            rc = srv.stop()
            smtpd.stop()
        eq(rc, 0, "overblikd exits 0")


if __name__ == "__main__":
    run_tests(test_demo_two_dates, test_two_organisations, test_mail_over_smtp)
