#!/usr/bin/python3
"""target_picture (issue 13, "What it must show" 2-3) on the demo
municipality, in a private mariadbd, with the real overblik: REPORT.json's
figures are the counts of its rows, and its rows and items are what
REPORTS.md's rules give for the database's målbilleder, shared solutions and
contracts (computed here, in Python, from the rules, not from the plugin);
the PDF; a rerun sends nothing new; a new målbillede version imported as IT
support would (a CSV file) shows in the next run's diff, and the report is no
longer due; two organisations in one database see nothing of each other and
--org all makes one run each."""

import datetime
import json
import os
import re
import subprocess

from obtest import Env, ok, eq, run_tests
from orgiso import flat, org_data, outbox_messages, message_text, run_files
from t_contract_expiry import (setup_demo, config, add_months, d, iso, db_contracts, expect_row, outbox_items,
                               date_da)

REPORT = "target_picture"
D0 = "2026-11-26"          # the demo data's as_of and the first run
D1 = "2026-12-03"          # a week later, after a new målbillede
NEW_ADOPTED = "2026-12-01"
WINDOW = 24


def nul(v):
    return None if v == "NULL" else v


def natural(code):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", code or "")]


def latest_two(versions, as_of):
    """The latest two versions adopted on or before as_of, by (adopted_on, id)."""
    vs = sorted((v for v in versions if v["adopted_on"] <= as_of), key=lambda v: (v["adopted_on"], v["id"]))
    return (vs[-1] if vs else None), (vs[-2] if len(vs) > 1 else None)


def expected(env, org_id, as_of, previous_as_of=None, months=WINDOW):
    """REPORT.json's figures, rows and items by REPORTS.md, from the database."""
    day = d(as_of)
    targets = [{"id": int(i), "version": v, "adopted_on": d(a), "future": int(f)} for i, v, a, f in env.sql(
        f"SELECT id, version, adopted_on, future_picture_id FROM target_pictures WHERE org_id = {org_id}")]
    futures = [{"id": int(i), "version": v, "adopted_on": d(a)} for i, v, a in env.sql(
        f"SELECT id, version, adopted_on FROM future_pictures WHERE org_id = {org_id}")]
    cur, prev = latest_two(targets, day)
    newest, _ = latest_two(futures, day)
    based = next((f for f in futures if cur and f["id"] == cur["future"]), None)
    reasons = []
    if cur is None:
        reasons.append("none")
    else:
        if cur["adopted_on"] < add_months(day, -12):
            reasons.append("older_than_12_months")
        if newest and (based is None or (based["adopted_on"], based["id"]) < (newest["adopted_on"], newest["id"])):
            reasons.append("older_future_picture")

    def actions_of(t):
        if t is None:
            return {}
        acts = {}
        for aid, code, title, change in env.sql(
                f"SELECT id, code, title, IFNULL(change_kind, 'NULL') FROM target_actions "
                f"WHERE target_picture_id = {t['id']}"):
            acts[code] = {"id": aid, "code": code, "title": title, "change": nul(change), "systems": []}
        by_id = {a["id"]: a for a in acts.values()}
        for aid, sid, uuid, name, pid, pname in env.sql(
                "SELECT tas.action_id, s.id, s.kitos_uuid, s.name, IFNULL(p.id, 'NULL'), IFNULL(p.name, 'NULL') "
                "FROM target_action_systems tas JOIN systems s ON s.id = tas.system_id "
                "LEFT JOIN people p ON p.id = s.owner_id AND p.org_id = s.org_id "
                f"WHERE tas.action_id IN (SELECT id FROM target_actions WHERE target_picture_id = {t['id']})"):
            by_id[aid]["systems"].append({"id": sid, "uuid": uuid, "name": name, "owner_id": nul(pid),
                                          "owner": nul(pname)})
        for a in acts.values():
            a["systems"].sort(key=lambda s: s["uuid"])
        return acts

    cur_acts, prev_acts = actions_of(cur), actions_of(prev)
    rows = [{"code": a["code"], "title": a["title"], "change": a["change"],
             "changes_something": a["change"] != "keep",
             "systems": [{"uuid": s["uuid"], "name": s["name"], "owner": s["owner"]} for s in a["systems"]]}
            for a in sorted(cur_acts.values(), key=lambda a: natural(a["code"]))]

    diff = []
    if prev is not None:
        for code in sorted(set(cur_acts) | set(prev_acts), key=natural):
            c, p = cur_acts.get(code), prev_acts.get(code)
            cs = [s["uuid"] for s in c["systems"]] if c else []
            ps = [s["uuid"] for s in p["systems"]] if p else []
            if c and p:
                changed = [k for k, same in (("title", c["title"] == p["title"]), ("change", c["change"] == p["change"]),
                                             ("systems", cs == ps)) if not same]
                if not changed:
                    continue
                status = "changed"
            else:
                status, changed = ("added" if c else "removed"), []
            diff.append({"code": code, "status": status, "changed": changed,
                         "systems_added": [u for u in cs if u not in ps],
                         "systems_removed": [u for u in ps if u not in cs]})

    # Maturity: from = before the window, to = latest ≤ as_of.
    if previous_as_of:
        start, inclusive = d(previous_as_of), False
    else:
        start, inclusive = add_months(day, -12), True
    hist = {}
    for name, on, m in env.sql("SELECT ss.name, m.changed_on, m.maturity FROM shared_solutions ss "
                               "JOIN shared_solution_maturity m ON m.solution_id = ss.id "
                               f"WHERE ss.org_id = {org_id}"):
        hist.setdefault(name, []).append((d(on), m))
    mat = []
    for name, rs in hist.items():
        rs = sorted(r for r in rs if r[0] <= day)
        before = [r for r in rs if r[0] < start or (r[0] == start and not inclusive)]
        inside = [r for r in rs if r not in before]
        frm = before[-1][1] if before else None
        to = rs[-1][1] if rs else None
        if inside and to != frm:
            mat.append({"solution": name, "from": frm, "to": to, "changed_on": iso(rs[-1][0]),
                        "to_green": to == "green", "yellow_to_green": to == "green" and frm == "yellow"})

    # Contracts on systems concerned by a non-keep action, ending in the window.
    until = add_months(day, months)
    concerned = {}
    for a in cur_acts.values():
        if a["change"] != "keep":
            for s in a["systems"]:
                concerned.setdefault(s["uuid"], set()).add(a["code"])
    contracts = []
    for u, c in db_contracts(env, org_id).items():
        sys_here = sorted(s["uuid"] for s in c["systems"] if s["uuid"] in concerned)
        if not sys_here:
            continue
        r = expect_row(c, as_of)
        end = r["end"] if r["kind"] == "fixed" else r["ends_on"] if r["kind"] == "terminated" else None
        if end is None or not (day <= d(end) <= until):
            continue
        contracts.append({"uuid": u, "kind": r["kind"], "ends": end, "days_left": (d(end) - day).days,
                          "systems": sys_here,
                          "actions": sorted({k for s in sys_here for k in concerned[s]}, key=natural)})

    seen = {s["uuid"] for a in cur_acts.values() for s in a["systems"]}
    figures = {
        "target_version": cur["version"] if cur else None,
        "target_adopted_on": iso(cur["adopted_on"]) if cur else None,
        "based_on_future_version": based["version"] if based else None,
        "newest_future_version": newest["version"] if newest else None,
        "due": bool(reasons), "due_reasons": reasons,
        "actions": len(cur_acts),
        "actions_added": sum(x["status"] == "added" for x in diff),
        "actions_removed": sum(x["status"] == "removed" for x in diff),
        "actions_changed": sum(x["status"] == "changed" for x in diff),
        "systems_concerned": len(seen),
        "maturity_changes": len(mat), "to_green": sum(m["to_green"] for m in mat),
        "contracts_ending_on_concerned": len(contracts),
    }
    version = cur["version"] if cur else "none"
    items = set()
    if reasons:
        items.add(("iod", f"target:due:{version}:{'+'.join(reasons)}"))
    for a in cur_acts.values():
        if a["change"] == "keep":
            continue
        for s in a["systems"]:
            items.add((f"owner:{s['owner_id']}" if s["owner_id"] else "it_support",
                       f"target:{version}:{a['code']}:{s['uuid']}"))
    for role in ("iod", "asg"):
        items.add((role, f"target:briefing:{as_of}"))
    return {"figures": figures, "actions": rows, "diff": diff, "maturity": mat, "contracts": contracts,
            "items": items, "prev_version": prev["version"] if prev else None}


def counted(j):
    """The figures REPORTS.md names that are counts, from REPORT.json's rows."""
    diff = j.get("diff") or []
    return {
        "actions": len(j.get("actions") or []),
        "actions_added": sum(x["status"] == "added" for x in diff),
        "actions_removed": sum(x["status"] == "removed" for x in diff),
        "actions_changed": sum(x["status"] == "changed" for x in diff),
        "systems_concerned": len({s["uuid"] for a in j.get("actions") or [] for s in a["systems"]}),
        "maturity_changes": len(j.get("maturity_changes") or []),
        "to_green": sum(m["to"] == "green" for m in j.get("maturity_changes") or []),
        "contracts_ending_on_concerned": len(j.get("contracts") or []),
    }


def check_report(env, org_id, j, as_of, tag, previous_as_of=None):
    """REPORT.json's figures and rows against the database and REPORTS.md."""
    want = expected(env, org_id, as_of, previous_as_of)
    f = j.get("figures") or {}
    eq(f, want["figures"], f"{tag}: the figures are REPORTS.md's for the database")
    c = counted(j)
    eq({k: f.get(k) for k in c}, c, f"{tag}: the count figures equal the counts of the rows")
    eq(f.get("due"), bool(f.get("due_reasons")), f"{tag}: due exactly when there are reasons")
    eq(j.get("actions"), want["actions"], f"{tag}: actions rows: the current version's, with systems and owners")
    got_diff = [{k: x.get(k) for k in ("code", "status", "changed", "systems_added", "systems_removed")}
                for x in j.get("diff") or []]
    eq(got_diff, want["diff"], f"{tag}: diff rows by action code")
    got_mat = sorted(({k: m.get(k) for k in ("solution", "from", "to", "changed_on", "to_green", "yellow_to_green")}
                      for m in j.get("maturity_changes") or []), key=lambda m: m["solution"])
    eq(got_mat, sorted(want["maturity"], key=lambda m: m["solution"]), f"{tag}: maturity_changes rows")
    got_c = sorted(({k: x.get(k) for k in ("uuid", "kind", "ends", "days_left", "systems", "actions")}
                    for x in j.get("contracts") or []), key=lambda x: x["uuid"])
    eq(got_c, sorted(want["contracts"], key=lambda x: x["uuid"]), f"{tag}: contracts rows")
    eq(j.get("previous_target_version"), want["prev_version"], f"{tag}: the version the diff is from")
    return want


def cli_run(env, as_of, *more):
    r = env.run("run", REPORT, "--as-of", as_of, *more)
    return r, [int(x) for x in re.findall(r"^run (\d+): ", r.stdout, re.M)]


def pdf_text(env, rid):
    pdf = os.path.join(env.state, "runs", str(rid), REPORT + ".pdf")
    q = subprocess.run(["qpdf", "--check", pdf], capture_output=True, text=True)
    ok(q.returncode in (0, 3) and "No syntax or stream encoding errors found" in q.stdout,
       f"run {rid}: the PDF passes qpdf --check", q.stdout + q.stderr)
    return flat(subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True).stdout)


def new_version_csv(env, org_id, path):
    """Målbillede 3.0, adopted NEW_ADOPTED on fremtidsbillede 1.1, as IT support
    would write it: 2.0's actions with the first non-keep action's title
    changed, the last removed, and a new action H99 on a system."""
    cvr = env.scalar(f"SELECT cvr FROM organisations WHERE id = {org_id}")
    cur = env.scalar(f"SELECT id FROM target_pictures WHERE org_id = {org_id} AND version = '2.0'")
    acts = env.sql(f"SELECT a.code, a.title, IFNULL(a.change_kind, ''), IFNULL(GROUP_CONCAT(s.kitos_uuid "
                   f"ORDER BY s.kitos_uuid SEPARATOR '|'), '') FROM target_actions a "
                   f"LEFT JOIN target_action_systems tas ON tas.action_id = a.id "
                   f"LEFT JOIN systems s ON s.id = tas.system_id WHERE a.target_picture_id = {cur} "
                   f"GROUP BY a.id ORDER BY a.id")
    retitled = next(a[0] for a in acts if a[2] not in ("keep", ""))
    removed = acts[-1][0]
    sysu = env.scalar(f"SELECT kitos_uuid FROM systems WHERE org_id = {org_id} ORDER BY id LIMIT 1")
    lines = ["target_version;adopted_on;future_version;action_code;action;change;system_uuids;organisation"]
    for code, title, change, systems in acts:
        if code == removed:
            continue
        if code == retitled:
            title = title + " (revideret)"
        lines.append(f"3.0;{NEW_ADOPTED};1.1;{code};{title};{change};{systems};{cvr}")
    lines.append(f"3.0;{NEW_ADOPTED};1.1;H99;Indfør fælles AI-retningslinjer;align;{sysu};{cvr}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return retitled, removed, sysu


# ---- point 2: the demo municipality ----

def test_demo():
    with Env("tp-demo") as env:
        setup_demo(env)
        config(env)
        org_id, name, cvr, ouuid = env.sql("SELECT id, name, cvr, kitos_uuid FROM organisations")[0]

        r, rids = cli_run(env, D0)
        eq(r.returncode, 0, f"overblik run {REPORT} --as-of {D0} succeeds", r.stdout + r.stderr)
        rid1 = rids[0]
        j1, _ = run_files(env, REPORT, rid1)
        eq({k: j1.get(k) for k in ("report", "format", "as_of", "run", "organisation", "previous")},
           {"report": REPORT, "format": 1, "as_of": D0, "run": rid1,
            "organisation": {"name": name, "cvr": cvr, "kitos_uuid": ouuid}, "previous": None},
           "REPORT.json: report, format, as_of, run, the organisation, no previous")
        want = check_report(env, org_id, j1, D0, f"run {rid1}")
        f1 = j1["figures"]
        eq((f1["target_version"], f1["due_reasons"]), ("2.0", ["older_than_12_months", "older_future_picture"]),
           "the demo's målbillede 2.0 is due: over 12 months old and based on fremtidsbillede 1.0, not 1.1")
        ok(f1["actions_added"] > 0 and f1["actions_removed"] > 0 and f1["actions_changed"] > 0,
           "the demo's diff 1.0 -> 2.0 has added, removed and changed actions", f1)
        # Without a previous run the window is the 12 months before as_of:
        # Borgerblikket's yellow (300 days ago) is inside it, so red -> green.
        mc = {m["solution"]: m for m in j1["maturity_changes"]}
        ok(f1["to_green"] >= 2 and mc.get("Borgerblikket", {}).get("from") == "red"
           and mc["Borgerblikket"]["to"] == "green" and any(m["yellow_to_green"] for m in mc.values()),
           "solutions went green (Borgerblikket red -> green), a yellow -> green one flagged", mc)
        ok(f1["contracts_ending_on_concerned"] > 0, "contracts on concerned systems end within 24 months", f1)

        sent = outbox_items(env, f"o.run_id = {rid1}")
        eq(sorted(want["items"] - sent)[:5], [], f"run {rid1}: every item REPORTS.md gives is in the outbox",
           f"{len(want['items'] - sent)} missing")
        eq(sorted(sent - want["items"])[:5], [], f"run {rid1}: and no other", f"{len(sent - want['items'])} extra")
        ok(sum(1 for rc, k in sent if rc.startswith("owner:")) > 10, f"run {rid1}: owners get items", len(sent))
        briefed = env.sql(f"SELECT o.recipient FROM outbox o JOIN outbox_items i ON i.message = o.id "
                          f"WHERE o.run_id = {rid1} AND o.kind = 'role' AND i.dedupe_key = 'target:briefing:{D0}' "
                          f"ORDER BY o.recipient")
        eq(briefed, [["asg"], ["iod"]], f"run {rid1}: the briefing goes to IOD and ASG, one message each")

        text = pdf_text(env, rid1)
        for s in (name, "Målbillede", "Skal opdateres.", "Handlinger i målbilledet", "Berørte systemer",
                  "Ændret modenhed", "Blevet grønne", "Kontrakter udløber på berørte systemer",
                  "Ændringer fra version 1.0 til 2.0", "Handlinger i målbillede 2.0", "Borgerblikket",
                  "Gul→grøn", "Sådan er tallene beregnet", date_da(d(D0)), "Side 1 af"):
            ok(s in text, f"run {rid1}: the PDF says \"{s}\"")

        # The same date again: nothing new goes out.
        n = (env.scalar("SELECT COUNT(*) FROM outbox"), env.scalar("SELECT COUNT(*) FROM outbox_items"))
        r, rids = cli_run(env, D0)
        eq(r.returncode, 0, f"a second run for {D0} succeeds", r.stdout + r.stderr)
        rid2 = rids[0]
        eq((env.scalar("SELECT COUNT(*) FROM outbox"), env.scalar("SELECT COUNT(*) FROM outbox_items")), n,
           "it queues no message and no item")
        ok("mail: nothing new" in r.stdout, "and says so", r.stdout)
        j2, _ = run_files(env, REPORT, rid2)
        eq((j2.get("previous") or {}).get("run"), rid1, "its previous is the first run")
        check_report(env, org_id, j2, D0, f"run {rid2}", previous_as_of=D0)
        eq(j2["figures"]["maturity_changes"], 0, "no maturity changed since the previous run (the same date)")

        # IT support imports målbillede 3.0 on fremtidsbillede 1.1.
        csv = os.path.join(env.dir, "maalbillede-3.0.csv")
        retitled, removed, sysu = new_version_csv(env, org_id, csv)
        r = env.run("import", "csv", csv)
        eq(r.returncode, 0, "the new målbillede version imports", r.stdout + r.stderr)
        r, rids = cli_run(env, D1)
        eq(r.returncode, 0, f"the next run ({D1}) succeeds", r.stdout + r.stderr)
        rid3 = rids[0]
        j3, _ = run_files(env, REPORT, rid3)
        want3 = check_report(env, org_id, j3, D1, f"run {rid3}", previous_as_of=D0)
        f3 = j3["figures"]
        eq((f3["target_version"], f3["target_adopted_on"], f3["based_on_future_version"], f3["due"],
            f3["due_reasons"]), ("3.0", NEW_ADOPTED, "1.1", False, []),
           "the current målbillede is 3.0, on fremtidsbillede 1.1, and no longer due")
        eq([(x["code"], x["status"], x["changed"]) for x in j3["diff"]],
           sorted([(retitled, "changed", ["title"]), (removed, "removed", []), ("H99", "added", [])],
                  key=lambda x: natural(x[0])),
           "its diff 2.0 -> 3.0 shows exactly the retitled, the removed and the added action")
        eq(j3["previous_target_version"], "2.0", "the diff is from 2.0")
        sent3 = outbox_items(env, f"o.run_id = {rid3}")
        eq([k for rc, k in sent3 if k.startswith("target:due:")], [], "IOD gets no due item")
        eq(sent3, want3["items"] - outbox_items(env, f"o.run_id IN ({rid1}, {rid2})"),
           "the new version's items are sent: each owner's actions under 3.0, and the briefing")
        text = pdf_text(env, rid3)
        ok("Ændringer fra version 2.0 til 3.0" in text and "Er opdateret." in text and "(revideret)" in text,
           f"run {rid3}: the PDF shows the diff 2.0 -> 3.0 and that the målbillede is up to date")


# ---- point 3: two organisations ----

def uuids_in(j):
    out = {x["uuid"] for x in j.get("contracts") or []}
    out |= {s for x in j.get("contracts") or [] for s in x["systems"]}
    out |= {s["uuid"] for a in j.get("actions") or [] for s in a["systems"]}
    out |= {s for x in j.get("diff") or [] for s in x["systems_added"] + x["systems_removed"]}
    return out


def test_two_organisations():
    with Env("tp-orgs") as env:
        setup_demo(env, municipalities=2)
        config(env)
        orgs = env.sql("SELECT id, name FROM organisations ORDER BY id")
        eq(len(orgs), 2, "demo-data --municipalities 2 imports two organisations", orgs)
        r, rids = cli_run(env, D0, "--org", "all")
        eq(r.returncode, 0, "--org all succeeds", r.stdout + r.stderr)
        eq(len(rids), 2, "and makes two runs", r.stdout)
        runs = {int(o): int(rid) for o, rid in env.sql(
            f"SELECT org_id, id FROM runs WHERE id IN ({','.join(map(str, rids))})")}
        eq(sorted(runs), sorted(int(o) for o, _ in orgs), "one for each organisation")
        data = {oid: org_data(env, oid, "systems") for oid in runs}
        for oid, rid in runs.items():
            me = data[oid]
            other = data[next(o for o in runs if o != oid)]
            tag = f"run {rid} ({me['name']})"
            j, pdf = run_files(env, REPORT, rid)
            pdf = flat(pdf)
            eq(j.get("organisation", {}).get("name"), me["name"], f"{tag}: REPORT.json's organisation is its own")
            want = check_report(env, oid, j, D0, tag)
            ok(j["figures"]["actions"] > 0 and uuids_in(j), f"{tag}: it has rows")
            eq(sorted(uuids_in(j) - me["uuids"])[:3], [], f"{tag}: every uuid in its rows is its organisation's")
            jtext = json.dumps(j, ensure_ascii=False)
            eq(sorted(u for u in other["uuids"] if u in jtext)[:3], [], f"{tag}: REPORT.json has none of the other's")
            ok(other["name"] not in jtext and other["name"] not in pdf and me["name"] in pdf,
               f"{tag}: neither REPORT.json nor the PDF names {other['name']}; the PDF names its own")
            sent = outbox_items(env, f"o.run_id = {rid}")
            eq(sent, want["items"], f"{tag}: its items are REPORTS.md's for its organisation")
            owners = {rc[6:] for rc, _ in sent if rc.startswith("owner:")}
            ok(owners and owners <= me["people"], f"{tag}: every owner it mails is its organisation's person")
            kvs = " ".join(k for k, in env.sql(f"SELECT i.kv FROM outbox_items i JOIN outbox o ON o.id = i.message "
                                              f"WHERE o.run_id = {rid}"))
            eq(sorted(u for u in other["uuids"] if u in kvs)[:3], [], f"{tag}: no item carries the other's uuids")
            msgs = outbox_messages(env, rid)
            ok(msgs and all(me["name"] in message_text(m[3]) and other["name"] not in message_text(m[3])
                            for m in msgs), f"{tag}: its {len(msgs)} messages name its organisation, not the other")
        eq(env.sql(f"SELECT COUNT(DISTINCT org_id) FROM outbox WHERE run_id IN ({','.join(map(str, rids))})"),
           [["2"]], "the two runs' messages belong to two organisations")


if __name__ == "__main__":
    run_tests(test_demo, test_two_organisations)
