#!/usr/bin/python3
"""One mail per person per day (issue 15): with mail.digest_at the runs of
the four reports leave their items pending in the outbox, and the digest
(`overblik outbox compose`, or overblikd at digest_at, live or, a missed
one, caught up at start) gives each recipient one message with every report's items,
the roles' briefings with the runs' PDFs. The demo municipality in a
private mariadbd, the real plugins, the real SMTP server (smtpd.py), the
real overblikd."""

import collections
import os
import signal
import time

from obtest import Env, ok, eq, run_tests
from t_server import Server, base_config, free_port, write_config
from t_mail import Smtpd, body_text
from t_contract_expiry import setup_demo, MAIL, PLUGINS, D0

REPORTS = ["contract_expiry", "gdpr_coverage", "portfolio_status", "target_picture"]
NEVER = "0 3 1 1 *"  # far away: only compose and the catch-up make digests


def cfg(env, port, smtpd, digest_at):
    mail = dict(MAIL, smtp={"host": "127.0.0.1", "port": smtpd.port, "starttls": "off"}, poll_interval=1)
    if digest_at:
        mail["digest_at"] = digest_at
    write_config(env.config, env, base_config(port, plugin_dir=PLUGINS, mail=mail))


def run_reports(env):
    for rep in REPORTS:
        r = env.run("run", rep, "--as-of", D0)
        eq(r.returncode, 0, f"overblik run {rep} succeeds", r.stdout[-500:] + r.stderr[-1500:])


def pending(env):
    """{(kind, recipient): {reports}} and {(kind, recipient): {pdf paths}} of the pending messages."""
    reps, pdfs = collections.defaultdict(set), collections.defaultdict(set)
    for kind, rcpt, rep, pdf in env.sql("SELECT o.kind, o.recipient, r.report, IFNULL(o.pdf_path, '') FROM outbox o "
                                        "JOIN runs r ON r.id = o.run_id WHERE o.status = 'pending'"):
        reps[(kind, rcpt)].add(rep)
        if pdf:
            pdfs[(kind, rcpt)].add(os.path.basename(pdf))
    return reps, pdfs


def check_digests(env, smtpd, reps, pdfs, what):
    n = len({r for _, r in reps})
    eq(smtpd.wait_count(n, timeout=60), n, f"{what}: one message per recipient arrives ({n})")
    eq(env.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"), "0", f"{what}: nothing is left pending")
    msgs = smtpd.messages()
    per_to = collections.Counter(a for m in msgs for a in m["env"]["rcpt_tos"])
    eq([a for a, c in per_to.items() if c != 1], [], f"{what}: no address gets two messages", per_to)
    rows = env.sql("SELECT kind, recipient, message_id FROM outbox WHERE status = 'sent'")
    eq(len(rows), n, f"{what}: {n} messages sent")
    eq(len({r for k, r, _ in rows}), n, f"{what}: one per recipient (IT support's list of owners without an address in it)")
    allreps = collections.defaultdict(set)
    allpdfs = collections.defaultdict(set)
    for (k, r), v in reps.items():
        allreps[r] |= {(k == "no_email", x) for x in v}
        allpdfs[r] |= pdfs.get((k, r), set())
    by_mid = {m["msg"]["Message-ID"].strip("<>"): m["msg"] for m in msgs}
    titles = {}
    multi = 0
    for kind, rcpt, mid in rows:
        msg = by_mid.get(mid)
        ok(msg is not None, f"{what}: {rcpt}'s message arrived", mid)
        if msg is None:
            continue
        text = body_text(msg, "plain")
        heads = [l for l in text.splitlines() if l.startswith("== ")]
        eq(len(heads), len(allreps[rcpt]), f"{what}: {kind} {rcpt}: one part per report it had items of",
           (heads, allreps[rcpt]))
        multi += len(heads) > 1
        att = sorted(p.get_filename() for p in msg.iter_attachments())
        eq(att, sorted(allpdfs[rcpt]), f"{what}: {kind} {rcpt}: the PDFs of the runs it covers", att)
        if kind == "role":
            titles[rcpt] = att
    ok(multi > 0, f"{what}: some recipients have items of several reports in one message ({multi})")
    ok(any(len(a) > 1 for a in titles.values()), f"{what}: a role's briefing carries several runs' PDFs", titles)
    return msgs


def test_digest_compose():
    with Env("digest-cli") as env:
        setup_demo(env)
        smtpd = Smtpd(env, "smtp").start()
        try:
            cfg(env, free_port(), smtpd, NEVER)
            run_reports(env)
            eq(env.scalar("SELECT COUNT(*) FROM outbox WHERE status <> 'pending'"), "0",
               "with digest_at the runs compose no message")
            reps, pdfs = pending(env)
            ok(len(reps) > 10, f"their items wait, pending ({len(reps)} recipients)")
            ok(any(k == "owner" and len(v) > 1 for (k, _), v in reps.items()),
               "some owners have items of several reports")
            r = env.run("outbox", "flush")
            eq(r.returncode, 0, "outbox flush succeeds", r.stderr)
            time.sleep(0.5)
            eq(smtpd.count(), 0, "a flush before the digest sends nothing")
            r = env.run("outbox", "list", "--status", "pending")
            ok(r.returncode == 0 and "pending" in r.stdout, "outbox list --status pending lists them", r.stderr)
            pid = env.scalar("SELECT MIN(id) FROM outbox WHERE status = 'pending'")
            r = env.run("outbox", "retry", pid)
            ok(r.returncode != 0 and "digest" in r.stderr, "a pending message cannot be retried: it waits for the digest",
               r.stderr)
            items = env.scalar("SELECT COUNT(*) FROM outbox_items")
            r = env.run("outbox", "compose")
            eq(r.returncode, 0, "outbox compose succeeds", r.stderr)
            ok(f"composed {len({x for _, x in reps})} messages" in r.stdout, "it says how many", r.stdout)
            eq(env.scalar("SELECT COUNT(*) FROM outbox_items"), items, "every item is kept, moved into the digests")
            env.run("outbox", "flush")
            check_digests(env, smtpd, reps, pdfs, "compose")
            n = smtpd.count()
            # Nothing new: a second digest sends nothing; a rerun's items were mailed.
            r = env.run("outbox", "compose")
            ok(r.returncode == 0 and "composed 0 messages" in r.stdout, "a second compose has nothing", r.stdout)
            run_reports(env)
            eq(env.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"), "0",
               "the reports run again leave nothing pending (every item was mailed)")
            env.run("outbox", "compose")
            env.run("outbox", "flush")
            time.sleep(1)
            eq(smtpd.count(), n, "and nothing more is sent")
            # Without digest_at: per run, as before.
            cfg(env, free_port(), smtpd, None)
            env.sql("DELETE FROM outbox")
            r = env.run("run", "portfolio_status", "--as-of", D0)
            ok(env.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'queued'") != "0" and
               env.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'") == "0",
               "without digest_at a run queues its own messages")
        finally:
            smtpd.stop()


def test_kill9_and_catch_up():
    with Env("digest-srv") as env:
        setup_demo(env)
        smtpd = Smtpd(env, "smtp").start()
        port = free_port()
        srv = None
        try:
            cfg(env, port, smtpd, NEVER)
            srv = Server(env, port).start()
            run_reports(env)
            reps, pdfs = pending(env)
            npend = env.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
            srv = None
            eq(env.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"), npend,
               "kill -9 of overblikd loses no pending message")
            eq(smtpd.count(), 0, "and nothing was sent")
            # A digest time missed while no server ran: the last fire recorded
            # two days ago, digest_at daily: two fires missed, the last caught up.
            env.sql("INSERT INTO schedule_fires (report, fire_at, outcome, claimed_by) VALUES "
                    "('@digest', NOW() - INTERVAL 3 DAY, 'claimed', 'test')")
            cfg(env, port, smtpd, "0 3 * * *")
            srv = Server(env, port).start()
            check_digests(env, smtpd, reps, pdfs, "catch-up")
            fires = env.sql("SELECT outcome, COUNT(*) FROM schedule_fires WHERE report = '@digest' "
                            "AND claimed_by <> 'test' GROUP BY outcome ORDER BY outcome")
            eq(dict(fires).get("claimed"), "1", "the missed digest is caught up once", fires)
            ok(int(dict(fires).get("missed", "0")) >= 1, "the fires before it are recorded missed", fires)
            n = smtpd.count()
            srv.stop()
            srv = Server(env, port).start()
            time.sleep(3)
            eq(smtpd.count(), n, "a restart catches nothing up again and sends nothing twice")
        finally:
            if srv:
                srv.stop()
            smtpd.stop()


def test_live_fire():
    """The digest time while overblikd runs (not a catch-up at start): runs
    made before leave their items pending, and at digest_at (a minute 20-80 s
    ahead, in the configured zone) overblikd composes and sends them, one
    message per recipient, and records the fire."""
    import datetime
    import zoneinfo
    with Env("digest-live") as env:
        setup_demo(env)
        smtpd = Smtpd(env, "smtp").start()
        port = free_port()
        srv = None
        try:
            cfg(env, port, smtpd, NEVER)
            run_reports(env)
            reps, pdfs = pending(env)
            ok(len(reps) > 0, "the runs leave their items pending")
            at = (int(time.time()) // 60 + 1) * 60
            if at - time.time() < 20:
                at += 60
            local = datetime.datetime.fromtimestamp(at, zoneinfo.ZoneInfo("Europe/Copenhagen"))
            # No fire recorded yet: nothing is missed at start; the first is live.
            cfg(env, port, smtpd, f"{local.minute} {local.hour} * * *")
            srv = Server(env, port).start()
            time.sleep(1)
            eq(smtpd.count(), 0, "nothing is sent before the digest time")
            while time.time() < at - 0.5:
                time.sleep(0.5)
            eq(smtpd.count(), 0, "nor until it")
            check_digests(env, smtpd, reps, pdfs, "live fire")
            fires = env.sql("SELECT UNIX_TIMESTAMP(fire_at), outcome FROM schedule_fires WHERE report = '@digest'")
            eq([(int(float(f)), o) for f, o in fires], [(at, "claimed")], "the fire is recorded, claimed", fires)
            ok(f"schedule @digest: fire at {local.strftime('%Y-%m-%dT%H:%M:%S')}" in srv.log(),
               "the log says the digest fired at its time", srv.log()[-2000:])
        finally:
            if srv:
                srv.stop()
            smtpd.stop()


run_tests(test_digest_compose, test_kill9_and_catch_up, test_live_fire)
