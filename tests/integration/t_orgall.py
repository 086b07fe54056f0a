#!/usr/bin/python3
"""One run per organisation (issue 10, REPORTS.md "Common to all four"):
`overblik run --org all`, `"org": "all"` over the admin endpoint and a
schedule fire each make one run per organisation in the database, together
or not at all; each run's items and mail belong to its organisation only.
Two organisations in one private mariadbd, the fixture plugin notify.so (an
item per system with an owner, a briefing per role), the real overblikd."""

import email
import email.policy
import glob
import json
import os
import re
import time

from obtest import Env, ok, eq, run_tests
from t_server import Server, base_config, free_port, write_config
from t_mail import body_text, attachment

AS_OF = "2026-11-26"
ORGS = {1: ("Nørre Vesterå Kommune", "29189919", "nvk.dk", "NVK"),
        2: ("Søby Kommune", "11223344", "soeby.dk", "Søby")}
# A trigger that makes the second organisation's run fail to be created:
# whatever made the first must be undone with it.
# (A NULL report is refused: "Column 'report' cannot be null".)
BREAK_ORG2 = ("CREATE TRIGGER break_org2 BEFORE INSERT ON runs FOR EACH ROW "
              "SET NEW.report = IF(NEW.org_id = 2, NULL, NEW.report)")


def seed_two(env, migrate=True):
    """Two organisations, two owners with two systems each in each."""
    if migrate:
        r = env.run("migrate")
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
    sql = []
    for oid, (name, cvr, dom, tag) in ORGS.items():
        sql.append(f"INSERT INTO organisations (id, kitos_uuid, cvr, name) VALUES ({oid}, UUID(), '{cvr}', '{name}')")
        for k in (1, 2):
            pid = oid * 10 + k
            sql.append(f"INSERT INTO people (id, org_id, kitos_uuid, name, email) VALUES "
                       f"({pid}, {oid}, UUID(), 'Ejer {tag} {k}', 'ejer{k}@{dom}')")
            sql.append(f"INSERT INTO systems (org_id, kitos_uuid, name, owner_id) VALUES "
                       f"({oid}, UUID(), '{tag} system {k}.a', {pid}), ({oid}, UUID(), '{tag} system {k}.b', {pid})")
    env.sql("; ".join(sql))


def mail_cfg(port, **over):
    return base_config(port, mail={"from": {"name": "overblik", "email": "overblik@nvk.dk"},
                                   "roles": {"asg": ["asg@nvk.dk"], "it_support": ["it@nvk.dk"]},
                                   "poll_interval": 1}, **over)


def check_runs_own_their_mail(env, rids, what):
    """Each run: its org_id, its outbox rows and items of its organisation only."""
    rows = env.sql("SELECT id, IFNULL(org_id, 'NULL') FROM runs WHERE id IN (%s) ORDER BY id" %
                   ",".join(str(r) for r in rids))
    eq([x[1] for x in rows], ["1", "2"], f"{what}: the two runs are for organisation 1 and 2, in id order", rows)
    for rid, oid in rows:
        tag = ORGS[int(oid)][3]
        other = ORGS[3 - int(oid)][3]
        msgs = env.sql(f"SELECT recipient, IFNULL(org_id, 'NULL') FROM outbox WHERE run_id = {rid} ORDER BY recipient")
        eq(sorted(m[0] for m in msgs), sorted(["asg", f"owner:{int(oid) * 10 + 1}", f"owner:{int(oid) * 10 + 2}"]),
           f"{what}: run {rid} mails ASG and its own organisation's two owners", msgs)
        eq({m[1] for m in msgs}, {oid}, f"{what}: run {rid}'s messages carry org_id {oid}", msgs)
        kv = [json.loads(x[0]) for x in env.sql(
            f"SELECT i.kv FROM outbox_items i JOIN outbox o ON o.id = i.message WHERE o.run_id = {rid} "
            f"AND o.recipient LIKE 'owner:%'")]
        eq(len(kv), 4, f"{what}: run {rid} has four owner items (two systems per owner)", kv)
        ok(all(k.get("system", "").startswith(tag + " ") for k in kv),
           f"{what}: run {rid}'s items name only {tag}'s systems", kv)
        ok(not any(k.get("system", "").startswith(other + " ") for k in kv),
           f"{what}: and none of {other}'s", kv)
        eq(env.sql(f"SELECT DISTINCT i.org_id FROM outbox_items i JOIN outbox o ON o.id = i.message "
                   f"WHERE o.run_id = {rid}"), [[oid]], f"{what}: run {rid}'s items are keyed under org {oid}")


def eml_files(env):
    """{outbox id: EmailMessage} of the .eml files written so far."""
    out = {}
    for f in glob.glob(os.path.join(env.state, "outbox", "new", "outbox-*.eml")):
        mid = int(re.search(r"outbox-(\d+)\.eml$", f).group(1))
        with open(f, "rb") as fh:
            out[mid] = email.message_from_bytes(fh.read(), policy=email.policy.default)
    return out


# ---- the CLI ----

def test_cli_org_all():
    with Env("orgall-cli") as env:
        env.start_db()
        env.run("migrate")
        write_config(env.config, env, mail_cfg(free_port()))

        # No organisation: a clear error, and no run.
        r = env.run("run", "notify", "--org", "all", "--as-of", AS_OF)
        eq(r.returncode, 1, "--org all with no organisation exits 1", r.stdout + r.stderr)
        ok("holds no organisation" in r.stderr, "and says the database holds none", r.stderr)
        eq(env.scalar("SELECT COUNT(*) FROM runs"), "0", "no run is made")

        seed_two(env, migrate=False)

        # All or none: the second organisation's run cannot be created.
        env.sql(BREAK_ORG2)
        r = env.run("run", "notify", "--org", "all", "--as-of", AS_OF)
        eq(r.returncode, 1, "--org all exits 1 when a run cannot be created", r.stdout + r.stderr)
        ok("--org all" in r.stderr and "SELECT" not in r.stderr and "INSERT" not in r.stderr,
           "the error names --org all and shows no SQL", r.stderr)
        eq(env.scalar("SELECT COUNT(*) FROM runs"), "0", "the first organisation's run is not kept either")
        env.sql("DROP TRIGGER break_org2")

        out = os.path.join(env.dir, "out")
        r = env.run("run", "notify", "--org", "all", "--as-of", AS_OF, "--param", "roles=asg", "--out", out)
        eq(r.returncode, 0, "--org all: both runs succeed, exit 0", r.stdout + r.stderr)
        rids = [int(x) for x in env.sql("SELECT id FROM runs ORDER BY id") for x in x]
        eq(len(rids), 2, "two runs are made, one per organisation", rids)
        lines = [l for l in r.stdout.splitlines() if l.startswith("run ")]
        eq(len(lines), 2, "two result lines", r.stdout)
        for rid, line, oid in zip(rids, lines, (1, 2)):
            ok(line.startswith(f"run {rid}: notify as of {AS_OF} for {ORGS[oid][0]} (organisation {oid}): "
                               "succeeded"), f"run {rid}'s line names its organisation and outcome", line)
            ok(os.path.isfile(os.path.join(out, str(rid), "notify.pdf")), f"--out: run {rid}'s PDF in out/{rid}/")
        ok(f"notify as of {AS_OF}: 2 runs, one per organisation: {rids[0]} {rids[1]}" in r.stdout,
           "the runs' ids are printed first", r.stdout)
        ok("2 of 2 runs succeeded" in r.stdout, "and a summary last", r.stdout)
        check_runs_own_their_mail(env, rids, "--org all")

        # The mail that is written: owners' digests without the PDF, ASG's with it.
        r = env.run("outbox", "flush")
        eq(r.returncode, 0, "outbox flush writes the messages", r.stdout + r.stderr)
        emls = eml_files(env)
        rows = env.sql("SELECT id, recipient, org_id FROM outbox ORDER BY id")
        eq(len(emls), len(rows), "one .eml per message", (sorted(emls), rows))
        for mid, rcpt, oid in rows:
            m = emls.get(int(mid))
            if m is None:
                continue
            name, data = attachment(m)
            txt = body_text(m, "plain")
            org_name = ORGS[int(oid)][0]
            ok(org_name in txt, f"message {mid} ({rcpt}) names its organisation {org_name}", txt[:300])
            ok(ORGS[3 - int(oid)][0] not in txt, f"message {mid} ({rcpt}) does not name the other one", txt[:300])
            if rcpt == "asg":
                eq(name, "notify.pdf", f"ASG's briefing {mid} carries the run's PDF")
            else:
                eq(name, None, f"owner digest {mid} ({rcpt}) carries no PDF")
                ok("vedhæftet" not in txt, f"and does not say it is attached", txt)

        # A dry run for all is dry for each.
        r = env.run("run", "notify", "--org", "all", "--as-of", AS_OF, "--param", "key=dry", "--dry-run")
        eq(r.returncode, 0, "--org all --dry-run succeeds", r.stdout + r.stderr)
        dry = env.sql("SELECT id, org_id, dry_run FROM runs WHERE id > %d ORDER BY id" % rids[1])
        eq([x[1:] for x in dry], [["1", "1"], ["2", "1"]], "two dry runs, one per organisation", dry)
        eq(env.sql("SELECT DISTINCT o.status FROM outbox o JOIN runs r ON r.id = o.run_id WHERE r.dry_run = 1"),
           [["dry_run"]], "their messages are dry_run only")

        # Without --org and several organisations: as before, one run with no organisation.
        r = env.run("run", "echo", "--as-of", AS_OF)
        eq(r.returncode, 0, "run without --org still runs", r.stdout + r.stderr)
        eq(env.sql("SELECT IFNULL(org_id, 'NULL') FROM runs ORDER BY id DESC LIMIT 1"), [["NULL"]],
           "without --org and two organisations the run has no organisation (unchanged)")
        r = env.run("run", "echo", "--as-of", AS_OF, "--org", "11223344")
        eq(r.returncode, 0, "--org CVR runs for that organisation", r.stdout + r.stderr)
        ok(re.match(r"run \d+: echo as of 2026-11-26: succeeded", r.stdout), "with the one-run line as before",
           r.stdout)
        eq(env.scalar("SELECT org_id FROM runs ORDER BY id DESC LIMIT 1"), "2", "for organisation 2")

        # Any failed: exit 1, each named.
        r = env.run("run", "fails", "--org", "all", "--as-of", AS_OF)
        eq(r.returncode, 1, "--org all exits 1 when a run failed", r.stdout + r.stderr)
        eq(len(re.findall(r"\(organisation [12]\): failed", r.stdout)), 2, "each failed run is printed", r.stdout)
        ok("0 of 2 runs succeeded" in r.stdout, "and counted", r.stdout)


# ---- the admin endpoint ----

def test_api_org_all():
    with Env("orgall-api") as env:
        env.start_db()
        env.run("migrate")
        port = free_port()
        write_config(env.config, env, mail_cfg(port))
        srv = Server(env, port).start()
        try:
            r = srv.post("/api/v1/reports/notify/runs", {"org": "all", "as_of": AS_OF})
            eq(r.status, 409, '"org": "all" with no organisation is a 409', r)
            eq((r.json() or {}).get("error", {}).get("code"), "no_organisation", "code no_organisation", r)
            ok("no organisation" in ((r.json() or {}).get("error", {}).get("message") or ""),
               "and says the database holds none", r)
            eq(env.scalar("SELECT COUNT(*) FROM runs"), "0", "and no run is made")

            seed_two(env, migrate=False)
            env.sql(BREAK_ORG2)
            r = srv.post("/api/v1/reports/notify/runs", {"org": "all", "as_of": AS_OF})
            eq(r.status, 503, "a run that cannot be created: 503", r)
            ok(b"INSERT" not in r.body and b"cannot be null" not in r.body, "the reply shows no SQL or its error", r)
            eq(env.scalar("SELECT COUNT(*) FROM runs"), "0", "all or none: no run kept for organisation 1")
            env.sql("DROP TRIGGER break_org2")

            r = srv.post("/api/v1/reports/notify/runs", {"org": "all", "as_of": AS_OF,
                                                         "params": {"roles": "asg"}})
            eq(r.status, 202, '"org": "all": 202', r)
            j = r.json() or {}
            runs = j.get("runs") or []
            eq(len(runs), 2, "the reply lists two runs", j)
            eq("run" in j, False, "as a list, not the single run's object", j)
            eq(r.headers.get("Location"), None, "and without a Location header")
            eq([(x.get("organisation") or {}).get("id") for x in runs], [1, 2],
               "each with its organisation's id, in id order", runs)
            eq([(x.get("organisation") or {}).get("name") for x in runs], [ORGS[1][0], ORGS[2][0]],
               "and name", runs)
            eq([x.get("url") for x in runs], [f"/api/v1/runs/{x.get('id')}" for x in runs], "and its url", runs)
            ok(all(x.get("report") == "notify" and x.get("trigger") == "api" and x.get("as_of") == AS_OF
                   and x.get("params") == {"roles": "asg"} and x.get("dry_run") is False and "files" in x
                   for x in runs), "each as GET /api/v1/runs/ID shows a run", runs)
            rids = [x["id"] for x in runs]
            done = [srv.wait_run(i) for i in rids]
            eq([d and d.get("status") for d in done], ["succeeded"] * 2, "both runs succeed", done)
            for d in done:
                ok(d and any(f.get("url") == f"/api/v1/runs/{d['id']}/files/notify.pdf" for f in d.get("files", [])),
                   f"run {d and d['id']} lists its PDF by url", d)
            check_runs_own_their_mail(env, rids, '"org": "all"')

            r = srv.post("/api/v1/reports/notify/runs", {"org": "all", "as_of": AS_OF, "dry_run": True,
                                                         "params": {"key": "dry"}})
            eq(r.status, 202, 'a dry run with "org": "all": 202', r)
            druns = (r.json() or {}).get("runs") or []
            eq([x.get("dry_run") for x in druns], [True, True], "dry for each organisation", druns)
            for x in druns:
                srv.wait_run(x["id"])
            eq(env.sql("SELECT DISTINCT o.status FROM outbox o WHERE o.run_id IN (%s)" %
                       ",".join(str(x["id"]) for x in druns)), [["dry_run"]], "their messages are dry_run only")

            # The single-organisation reply keeps its shape.
            r = srv.post("/api/v1/reports/echo/runs", {"org": "11223344", "as_of": AS_OF})
            eq(r.status, 202, "one organisation by CVR: 202", r)
            one = (r.json() or {}).get("run") or {}
            eq(sorted((r.json() or {}).keys()), ["run"], "the reply is {\"run\": ...} as before", r)
            eq(r.headers.get("Location"), f"/api/v1/runs/{one.get('id')}", "with its Location", r)
            eq(one.get("organisation"), {"id": 2, "name": ORGS[2][0]}, "for organisation 2", one)
            srv.wait_run(one.get("id"))

            # Errors.
            for body, want in (({"org": ""}, 400), ({"org": 7}, 400), ({"org": "ALL-of-them"}, 404)):
                r = srv.post("/api/v1/reports/echo/runs", body)
                eq(r.status, want, f"org {body['org']!r}: {want}", r)
            r = srv.post("/api/v1/reports/echo/runs", {"org": 7})
            ok('"all"' in ((r.json() or {}).get("error", {}).get("message") or ""),
               "the 400 names \"all\" among what org takes", r)
            r = srv.post("/api/v1/reports/nosuch/runs", {"org": "all"})
            eq(r.status, 404, "an unknown report with org all: 404", r)
            srv.wait_idle()
        finally:
            rc = srv.stop()
        eq(rc, 0, "overblikd exits 0")


# ---- a schedule fire ----

def test_schedule_fire_two_orgs():
    """A fire claimed at start (catch-up of the latest missed hour) makes one
    run per organisation and one schedule_fires row; a fire whose runs cannot
    all be created is not claimed (and a restart catches it up)."""
    with Env("orgall-sched") as env:
        env.start_db()
        seed_two(env)
        now = time.time()
        if (int(now) // 3600 + 1) * 3600 - now < 60:  # do not straddle the next hourly fire
            time.sleep((int(now) // 3600 + 1) * 3600 - now + 2)
        h0 = int(time.time()) // 3600 * 3600
        env.sql(f"INSERT INTO schedule_fires (report, fire_at, outcome, claimed_by) "
                f"VALUES ('notify', FROM_UNIXTIME({h0 - 3600}), 'claimed', 'the test')")
        env.sql(BREAK_ORG2)
        port = free_port()
        write_config(env.config, env, mail_cfg(port, reports={"notify": {"schedule": "0 * * * *"}}))
        srv = Server(env, port, name="broken").start()
        try:
            deadline = time.time() + 15
            while time.time() < deadline and "cannot create its runs" not in srv.log():
                time.sleep(0.2)
            ok("schedule notify: cannot create its runs" in srv.log(), "the failed fire is logged", srv.log())
            ok("fire at" not in srv.log(), "and not as a fire with runs", srv.log())
            eq(env.scalar(f"SELECT COUNT(*) FROM schedule_fires WHERE fire_at = FROM_UNIXTIME({h0})"), "0",
               "a fire whose runs cannot all be made is not claimed")
            eq(env.scalar("SELECT COUNT(*) FROM runs"), "0", "and keeps no run for organisation 1")
        finally:
            srv.stop()
        env.sql("DROP TRIGGER break_org2")
        srv = Server(env, port, name="good").start()
        try:
            deadline = time.time() + 30
            while time.time() < deadline and env.scalar(
                    "SELECT COUNT(*) FROM runs WHERE status IN ('succeeded','failed','timeout','crashed')") != "2":
                time.sleep(0.2)
            fires = env.sql(f"SELECT outcome FROM schedule_fires WHERE report = 'notify' AND fire_at = FROM_UNIXTIME({h0})")
            eq(fires, [["claimed"]], "one schedule_fires row for the fire, claimed")
            runs = env.sql("SELECT id, org_id, trigger_kind, UNIX_TIMESTAMP(scheduled_for), status FROM runs ORDER BY id")
            eq([x[1:] for x in runs], [["1", "schedule", str(h0), "succeeded"], ["2", "schedule", str(h0), "succeeded"]],
               "two scheduled runs for the fire, one per organisation, both succeeded", runs)
            ok(re.search(r"schedule notify: fire at \S+: 2 runs", srv.log()), "the log says: 2 runs", srv.log())
            rids = [int(x[0]) for x in runs]
            for rid, oid in zip(rids, (1, 2)):
                tag = ORGS[oid][3]
                kv = [json.loads(x[0]) for x in env.sql(
                    f"SELECT i.kv FROM outbox_items i JOIN outbox o ON o.id = i.message WHERE o.run_id = {rid}")]
                ok(len(kv) == 4 and all(k["system"].startswith(tag + " ") for k in kv),
                   f"scheduled run {rid}: its four items, all {tag}'s", kv)
            srv.wait_idle()
        finally:
            eq(srv.stop(), 0, "overblikd exits 0")


if __name__ == "__main__":
    run_tests(test_cli_org_all, test_api_org_all, test_schedule_fire_two_orgs)
