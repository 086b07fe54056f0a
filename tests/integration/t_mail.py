#!/usr/bin/python3
"""Mail that arrives: the outbox against a real SMTP server on 127.0.0.1
(Debian's aiosmtpd, tests/integration/smtpd.py: plain, STARTTLS with a
self-signed certificate, AUTH), the real overblikd over HTTP and the CLI, and
what arrived read back with Python's email package."""

import email
import email.policy
import glob
import json
import os
import re
import signal
import subprocess
import time

import obtest
from obtest import Env, ok, eq, run_tests, skip
from testca import TestCA
from t_server import Server, base_config, free_port, request, write_config, VIEWER

SMTPD = os.path.join(obtest.TOP_SRCDIR, "tests", "integration", "smtpd.py")
ORG = "Nørre Vesterå Kommune"
AS_OF = "2026-11-26"


# ---- helpers ----

class Smtpd:
    """tests/integration/smtpd.py on 127.0.0.1, storing what it accepts."""

    def __init__(self, env, name, *opts, port=None):
        self.env = env
        self.dir = os.path.join(env.dir, name)
        self.port = port or free_port()
        self.opts = [str(o) for o in opts]
        self.proc = None
        self.logpath = os.path.join(env.dir, name + ".log")

    def start(self):
        ready = os.path.join(self.env.dir, f"smtpd-{self.port}.ready")
        if os.path.exists(ready):
            os.unlink(ready)
        self.logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen(["/usr/bin/python3", SMTPD, "--port", str(self.port), "--dir", self.dir,
                                      "--ready-file", ready, *self.opts],
                                     stdout=subprocess.DEVNULL, stderr=self.logf)
        deadline = time.time() + 20
        while time.time() < deadline and not os.path.exists(ready):
            if self.proc.poll() is not None:
                raise RuntimeError("smtpd.py exited:\n" + self.log())
            time.sleep(0.05)
        if not os.path.exists(ready):
            raise RuntimeError("smtpd.py did not start:\n" + self.log())
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()
        self.proc = None

    def log(self):
        try:
            with open(self.logpath, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def count(self):
        return len(glob.glob(os.path.join(self.dir, "*.json")))

    def messages(self):
        """[{'env': envelope dict, 'raw': bytes, 'msg': EmailMessage}] in arrival order."""
        out = []
        for j in sorted(glob.glob(os.path.join(self.dir, "*.json"))):
            with open(j) as f:
                envl = json.load(f)
            with open(j[:-5] + ".eml", "rb") as f:
                raw = f.read()
            out.append({"env": envl, "raw": raw, "msg": email.message_from_bytes(raw, policy=email.policy.default)})
        return out

    def wait_count(self, n, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline and self.count() < n:
            time.sleep(0.1)
        return self.count()


def seed(env, owners, systems_per_owner=1, extra_sql=""):
    """One organisation; owners people (owner i: ejer{i}@nvk.dk) with their systems."""
    env.start_db()
    r = env.run("migrate")
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    env.sql("; ".join(portfolio_sql(owners, systems_per_owner, extra_sql)))


def portfolio_sql(owners, systems_per_owner=1, extra_sql=""):
    sql = [f"INSERT INTO organisations (id, kitos_uuid, cvr, name) VALUES (1, UUID(), '29189919', '{ORG}')"]
    names = ["Åse Ørum", "Søren Bæk", "Jens Ærø", "Mette Hansen", "Bjørn Sønderby"]
    people, systems = [], []
    for i in range(1, owners + 1):
        people.append(f"({i}, 1, UUID(), '{names[i % len(names)]} {i}', 'ejer{i}@nvk.dk')")
        for k in range(systems_per_owner):
            systems.append(f"(1, UUID(), 'System {i}.{k} – Økonomi', {i})")
    sql.append("INSERT INTO people (id, org_id, kitos_uuid, name, email) VALUES " + ", ".join(people))
    sql.append("INSERT INTO systems (org_id, kitos_uuid, name, owner_id) VALUES " + ", ".join(systems))
    if extra_sql:
        sql.append(extra_sql)
    return sql


def mail_config(port, smtp=None, **mail):
    m = {"from": {"name": "overblik · Nørre Vesterå Kommune", "email": "overblik@nvk.dk"},
         "roles": {"asg": [{"name": "Åse Ørum", "email": "asg1@nvk.dk"}, "asg2@nvk.dk"],
                   "it_support": [{"name": "IT-støttefunktionen", "email": "it@nvk.dk"}]},
         "poll_interval": 1, "retry_initial": 1, "retry_max": 2}
    if smtp is not None:
        m["smtp"] = smtp
    m.update(mail)
    return base_config(port, mail=m)


def outbox(env):
    return env.sql("SELECT id, recipient, status, attempts, IFNULL(last_reply, '') FROM outbox ORDER BY id")


def wait_outbox(env, pred, timeout=30):
    deadline = time.time() + timeout
    rows = outbox(env)
    while time.time() < deadline:
        rows = outbox(env)
        if pred(rows):
            return rows
        time.sleep(0.2)
    return rows


def body_text(msg, kind):
    part = msg.get_body((kind,))
    return part.get_content() if part else ""


def attachment(msg):
    for part in msg.iter_attachments():
        if part.get_content_type() == "application/pdf":
            return part.get_filename(), part.get_content()
    return None, None


# ---- tests ----

def test_digests_over_smtp():
    """Plain SMTP: one digest per owner and per role, Danish subject, both
    bodies, the run's PDF byte for byte; a second run sends nothing new; a
    name or system with CR LF adds no header."""
    with Env("mail") as env:
        port = free_port()
        smtpd = Smtpd(env, "smtp", "--rcpt-fail", "asg2@nvk.dk=550").start()
        inject = ("INSERT INTO people (id, org_id, kitos_uuid, name, email) VALUES "
                  "(50, 1, UUID(), CONCAT('Eva', CHAR(13), CHAR(10), 'Bcc: a@b'), 'eva@nvk.dk'); "
                  "INSERT INTO systems (org_id, kitos_uuid, name, owner_id) VALUES "
                  "(1, UUID(), CONCAT('X', CHAR(13), CHAR(10), 'Bcc: a@b'), 50), "
                  "(1, UUID(), 'Ordinært system', 50)")
        seed(env, owners=4, systems_per_owner=2, extra_sql=inject)
        write_config(env.config, env, mail_config(port, {"host": "127.0.0.1", "port": smtpd.port,
                                                         "starttls": "off"}))
        srv = Server(env, port).start()
        try:
            r, rid = srv.trigger("notify", {"as_of": AS_OF, "params": {"roles": "asg"}})
            run = srv.wait_run(rid)
            eq(run and run["status"], "succeeded", "the run succeeds")
            got = smtpd.wait_count(6)
            eq(got, 6, "six messages arrive: one per owner (5) and one for ASG")
            msgs = smtpd.messages()
            owners = [m for m in msgs if m["env"]["rcpt_tos"][0].startswith(("ejer", "eva"))]
            eq(sorted(m["env"]["rcpt_tos"][0] for m in owners),
               ["ejer1@nvk.dk", "ejer2@nvk.dk", "ejer3@nvk.dk", "ejer4@nvk.dk", "eva@nvk.dk"],
               "one digest per owner, to the owner's address")
            m1 = next(m for m in owners if m["env"]["rcpt_tos"] == ["ejer1@nvk.dk"])["msg"]
            eq(str(m1["Subject"]), "Påmindelser (test): 2 punkter til dig pr. 26.11.2026",
               "the Subject decodes to the Danish text")
            ok(b"=?UTF-8?" in next(m for m in owners if m["env"]["rcpt_tos"] == ["ejer1@nvk.dk"])["raw"]
               .split(b"\r\n\r\n")[0], "the Subject is RFC 2047 encoded on the wire")
            txt, html = body_text(m1, "plain"), body_text(m1, "html")
            ok("System 1.0 – Økonomi" in txt and "System 1.1 – Økonomi" in txt,
               "the text part lists the owner's two systems", txt)
            ok("System 2.0" not in txt, "and no other owner's", txt)
            ok("<b>System 1.0 – Økonomi</b>" in html and "<b>System 1.1 – Økonomi</b>" in html,
               "the HTML part lists them", html)
            ok("Kære Søren Bæk 1" in txt, "the text greets the owner by name", txt[:200])
            eq(str(m1["From"]), "overblik · Nørre Vesterå Kommune <overblik@nvk.dk>", "From is the configured sender")
            eq(m1["Auto-Submitted"], "auto-generated", "Auto-Submitted: auto-generated")
            pdf = srv.get(f"/api/v1/runs/{rid}/files/notify.pdf")
            eq([attachment(m["msg"])[0] for m in owners], [None] * 5,
               "no owner's digest carries the PDF (mail.attach_pdf defaults to roles)")
            ok("vedhæftet" not in txt and "vedhæftet" not in html, "and the digest does not say it is attached", txt)
            mid = env.scalar("SELECT message_id FROM outbox WHERE recipient = 'owner:1'")
            eq(m1["Message-ID"], f"<{mid}>", "the Message-ID is the outbox's, stable per message")
            asg = [m for m in msgs if "asg1@nvk.dk" in m["env"]["rcpt_tos"]]
            eq(len(asg), 1, "ASG gets one briefing")
            name, data = attachment(asg[0]["msg"])
            eq(name, "notify.pdf", "ASG's briefing carries the PDF by its name")
            ok(data == pdf.body and len(data) > 1000, "the attachment equals the run's PDF byte for byte",
               f"{len(data or b'')} vs {len(pdf.body)}")
            ok("Rapporten er vedhæftet som notify.pdf" in body_text(asg[0]["msg"], "plain"),
               "and the briefing says so", body_text(asg[0]["msg"], "plain"))
            eq(asg[0]["env"]["rcpt_tos"], ["asg1@nvk.dk"], "only the address that took it (asg2 refused with 550)")
            ok("Administrations- og Servicechefgruppen" in body_text(asg[0]["msg"], "plain"),
               "the briefing is addressed to ASG")
            eq(str(asg[0]["msg"]["To"]), "Åse Ørum <asg1@nvk.dk>, asg2@nvk.dk", "its To lists the role's addresses")
            rows = env.sql("SELECT r.email, r.status, IFNULL(r.reply, '') FROM outbox_rcpts r JOIN outbox o "
                           "ON o.id = r.message WHERE o.recipient = 'asg' ORDER BY r.seq")
            eq([x[:2] for x in rows], [["asg1@nvk.dk", "sent"], ["asg2@nvk.dk", "dead"]],
               "the refused recipient is dead, the other sent")
            ok(rows[1][2].startswith("550"), "the dead recipient keeps the server's reply", rows)
            eq(env.scalar("SELECT status FROM outbox WHERE recipient = 'asg'"), "sent", "and the message is sent")

            # Header injection: the name and the system with CR LF.
            eva = next(m for m in owners if m["env"]["rcpt_tos"] == ["eva@nvk.dk"])
            for m in msgs:
                head = m["raw"].split(b"\r\n\r\n")[0]
                ok(not re.search(rb"(?im)^bcc:", head), "no Bcc header in any message",
                   head.decode(errors="replace")[:800])
                ok("a@b" not in m["env"]["rcpt_tos"], "a@b is never an envelope recipient")
            to = eva["msg"]["To"].addresses
            eq([(a.display_name, a.addr_spec) for a in to], [("Eva Bcc: a@b", "eva@nvk.dk")],
               "the owner's name with CR LF is one display name of one address")
            heads = [k.lower() for k in eva["msg"].keys()]
            eq(sorted(heads), sorted(["date", "message-id", "from", "to", "subject", "mime-version",
                                      "auto-submitted", "content-type"]), "and the headers are the usual ones")
            ok("X\nBcc: a@b" in body_text(eva["msg"], "plain") or "X\r\nBcc: a@b" in body_text(eva["msg"], "plain")
               or "X Bcc: a@b" in body_text(eva["msg"], "plain"), "the system's name is in the body, harmless")

            # Operations: list, show, metrics.
            lst = srv.get("/api/v1/outbox?status=sent").json()
            eq(len(lst["messages"]), 6, "GET /api/v1/outbox?status=sent lists the six")
            page = srv.get("/api/v1/outbox?limit=4").json()
            eq(len(page["messages"]), 4, "limit=4 gives four")
            page2 = srv.get(f"/api/v1/outbox?limit=4&before={page['next_before']}").json()
            eq(len(page2["messages"]) + 4, 6, "before= gives the rest")
            one = srv.get(f"/api/v1/outbox/{lst['messages'][0]['id']}").json()["message"]
            ok(one["recipients"] and one["item_list"], "GET /api/v1/outbox/ID has recipients and items", one)
            eq(srv.post(f"/api/v1/outbox/{one['id']}/retry", token=VIEWER).status, 403, "a viewer cannot retry")
            r = srv.post(f"/api/v1/outbox/{one['id']}/retry")
            eq(r.status, 409, "a sent message cannot be retried", r)
            eq(srv.get("/api/v1/outbox?status=bogus").status, 400, "a bad status is a 400")
            eq(srv.get("/api/v1/outbox/999999").status, 404, "an unknown message is a 404")
            time.sleep(1.5)
            met = request(port, "GET", "/metrics").body.decode()
            ok('overblik_outbox_messages{status="sent"} 6' in met, "/metrics counts the sent messages", met[-900:])
            ok("overblik_outbox_oldest_queued_seconds 0" in met, "/metrics: nothing is waiting")

            # The same as_of again: every item was mailed, nothing new goes out.
            r, rid2 = srv.trigger("notify", {"as_of": AS_OF, "params": {"roles": "asg"}})
            run2 = srv.wait_run(rid2)
            eq(run2 and run2["status"], "succeeded", "a second run for the same as_of succeeds")
            time.sleep(3)
            eq(smtpd.count(), 6, "and sends nothing new")
            eq(env.scalar(f"SELECT COUNT(*) FROM outbox WHERE run_id = {rid2}"), "0", "it made no message")
            eq(env.scalar(f"SELECT COUNT(*) FROM run_notices WHERE run_id = {rid2}"), "11",
               "though the plugin notified all eleven items again")
        finally:
            srv.stop()
            smtpd.stop()


def test_smtp_down_then_up():
    """No SMTP server: messages wait, with the reason; once it starts they arrive."""
    with Env("mail-down") as env:
        port, sport = free_port(), free_port()
        seed(env, owners=3)
        write_config(env.config, env, mail_config(port, {"host": "127.0.0.1", "port": sport, "starttls": "off",
                                                         "connect_timeout": 2}))
        srv = Server(env, port).start()
        smtpd = Smtpd(env, "smtp", port=sport)
        try:
            r, rid = srv.trigger("notify", {"as_of": AS_OF})
            eq((srv.wait_run(rid) or {}).get("status"), "succeeded", "the run succeeds with the SMTP server down")
            rows = wait_outbox(env, lambda rs: rs and all(int(x[3]) >= 2 for x in rs))
            ok(rows and all(x[2] in ("queued", "sending") for x in rows), "its messages stay queued", rows)
            ok(rows and all(int(x[3]) >= 2 for x in rows), "and are retried (attempts counted)", rows)
            ok(rows and "Connection refused" in rows[0][4] and str(sport) in rows[0][4],
               "last_reply names the server and the refusal", rows)
            met = request(port, "GET", "/metrics").body.decode()
            m = re.search(r"overblik_outbox_oldest_queued_seconds (\d+)", met)
            ok(m and int(m.group(1)) >= 1, "/metrics shows the age of the oldest queued message", met[-600:])
            smtpd.start()
            eq(smtpd.wait_count(3, timeout=30), 3, "once the server is up, all three arrive")
            rows = wait_outbox(env, lambda rs: all(x[2] == "sent" for x in rs))
            ok(all(x[2] == "sent" for x in rows), "and are marked sent", rows)
            time.sleep(2.5)
            eq(smtpd.count(), 3, "each once")
        finally:
            srv.stop()
            smtpd.stop()


def test_connect_timeout():
    """A server that never completes the TCP handshake (a listener whose
    queue is full) costs connect_timeout, not the kernel's two minutes."""
    import socket
    with Env("mail-timeout") as env:
        seed(env, owners=1)
        lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsn.bind(("127.0.0.1", 0))
        lsn.listen(0)
        port = lsn.getsockname()[1]
        fillers = []
        for _ in range(4):  # fill the accept queue: later SYNs are dropped
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            fillers.append(c)
        time.sleep(0.3)
        try:
            write_config(env.config, env, mail_config(free_port(), {"host": "127.0.0.1", "port": port,
                                                                    "starttls": "off", "connect_timeout": 2}))
            eq(env.run("run", "notify", "--as-of", AS_OF).returncode, 0, "the run succeeds")
            t0 = time.time()
            r = env.run("outbox", "flush", timeout=60)
            took = time.time() - t0
            ok("to retry 1" in r.stdout, "the message waits for a retry", r.stdout + r.stderr)
            ok(took < 20, f"flush gives up after the connect timeout of 2 s ({took:.1f} s)")
            reply = env.scalar("SELECT last_reply FROM outbox")
            ok("timed out" in reply.lower(), "the reply says the connection timed out", reply)
        finally:
            for c in fillers:
                c.close()
            lsn.close()


def due_in(env, recipient):
    """Seconds until the message to recipient is tried again."""
    return float(env.scalar("SELECT TIMESTAMPDIFF(MICROSECOND, NOW(3), next_attempt_at) / 1e6 FROM outbox "
                            f"WHERE recipient = '{recipient}'"))


def make_due(env):
    env.sql("UPDATE outbox SET next_attempt_at = NOW(3) WHERE status = 'queued'")


def test_4xx_and_5xx():
    """A 4xx is retried later; a 5xx is dead with its reply while the others arrive."""
    with Env("mail-codes") as env:
        port = free_port()
        smtpd = Smtpd(env, "smtp", "--rcpt-fail", "ejer1@nvk.dk=451:1", "--rcpt-fail", "ejer2@nvk.dk=550",
                      "--data-fail", "452:1").start()
        try:
            seed(env, owners=4)
            write_config(env.config, env, mail_config(port, {"host": "127.0.0.1", "port": smtpd.port,
                                                             "starttls": "off"}, retry_initial=60, retry_max=3600))
            r = env.run("run", "notify", "--as-of", AS_OF)
            eq(r.returncode, 0, "overblik run notify succeeds", r.stderr)
            r = env.run("outbox", "flush")
            eq(r.returncode, 0, "overblik outbox flush exits 0", r.stderr)
            ok(re.search(r"sent 1, to retry 2, dead 1", r.stdout),
               "flush prints its counts: sent 1, to retry 2, dead 1", r.stdout)
            rows = {x[1]: x for x in outbox(env)}
            eq(rows["owner:1"][2:4], ["queued", "1"], "the 451 to ejer1 is queued for later, one attempt")
            ok("451 4.3.0" in rows["owner:1"][4] and "ejer1@nvk.dk" in rows["owner:1"][4],
               "with the 451 as last reply", rows["owner:1"])
            wait = due_in(env, "owner:1")
            ok(55 <= wait <= 61, f"and is tried again after retry_initial, 60 s ({wait:.1f} s)")
            eq(rows["owner:2"][2], "dead", "the 550 to ejer2 is dead")
            ok("550" in rows["owner:2"][4] and "ejer2@nvk.dk" in rows["owner:2"][4], "with the 550 reply",
               rows["owner:2"])
            eq(sorted(x[2] for k, x in rows.items() if k in ("owner:3", "owner:4")), ["queued", "sent"],
               "of the others, one got through and one met the DATA 452")
            r = env.run("outbox", "flush")
            ok(re.search(r"sent 0, to retry 0, dead 0", r.stdout) and "next due in" in r.stdout,
               "a flush right away sends nothing: the retries are not due yet", r.stdout)
            make_due(env)
            r = env.run("outbox", "flush")
            ok(re.search(r"sent 2, to retry 0, dead 0", r.stdout), "once due, both are delivered", r.stdout)
            eq(sorted(m["env"]["rcpt_tos"][0] for m in smtpd.messages()),
               ["ejer1@nvk.dk", "ejer3@nvk.dk", "ejer4@nvk.dk"], "ejer1, ejer3 and ejer4 each got theirs once")
            eq(env.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND sent_at IS NOT NULL"), "3",
               "each sent message has its sent time")
            dead_id = rows["owner:2"][0]
            r = env.run("outbox", "show", dead_id)
            ok("dead" in r.stdout and "550" in r.stdout, "outbox show names the dead recipient and the reply",
               r.stdout)
            eq(env.scalar(f"SELECT COUNT(*) FROM outbox_items WHERE message = {dead_id} AND live_key IS NULL"), "1",
               "the dead message gave its item's key back")
            r = env.run("outbox", "retry", dead_id)
            eq(r.returncode, 0, "outbox retry of the dead message", r.stderr)
            eq(env.scalar(f"SELECT COUNT(*) FROM outbox_items WHERE message = {dead_id} AND live_key IS NULL"), "0",
               "the retried message holds its item's key again")
            r = env.run("outbox", "flush")
            eq(env.scalar(f"SELECT status FROM outbox WHERE id = {dead_id}"), "dead", "still refused: dead again")
            eq(env.scalar(f"SELECT attempts FROM outbox WHERE id = {dead_id}"), "2", "after a second attempt")
            r = env.run("outbox", "retry", "99999")
            eq(r.returncode, 1, "retry of an unknown message exits 1", r.stderr)
            ok("no message 99999" in r.stderr, "and says so", r.stderr)
            sent_id = rows["owner:1"][0]
            r = env.run("outbox", "retry", sent_id)
            ok(r.returncode == 1 and "delivered" in r.stderr, "retry of a sent message is refused, saying why",
               r.stderr)
            r = env.run("outbox", "list", "--status", "dead")
            ok(r.returncode == 0 and "owner:2" in r.stdout and "owner:1" not in r.stdout,
               "outbox list --status dead shows the dead one", r.stdout)
            # Past max_age a failing message is given up.
            env.sql("UPDATE outbox SET status = 'queued', next_attempt_at = NOW(), "
                    f"expires_at = NOW() - INTERVAL 1 SECOND WHERE id = {dead_id}")
            env.sql(f"UPDATE outbox_rcpts SET status = 'pending' WHERE message = {dead_id}")
            smtpd.stop()
            r = env.run("outbox", "flush")
            ok("dead 1" in r.stdout, "a message failing past max_age is dead", r.stdout)
            ok("gave up after" in env.scalar(f"SELECT last_reply FROM outbox WHERE id = {dead_id}"),
               "its last reply says it gave up")
        finally:
            smtpd.stop()


def test_partial_and_keys():
    """A role message one address took in an earlier attempt stays sent,
    and no one gets it twice; dedupe keys compare byte for byte."""
    with Env("mail-partial") as env:
        smtpd = Smtpd(env, "smtp", "--rcpt-fail", "asg2@nvk.dk=451:1").start()
        try:
            seed(env, owners=1)
            write_config(env.config, env, mail_config(free_port(), {"host": "127.0.0.1", "port": smtpd.port,
                                                                    "starttls": "off"}))
            eq(env.run("run", "notify", "--as-of", AS_OF, "--param", "roles=asg").returncode, 0, "a run")
            r = env.run("outbox", "flush")
            ok("to retry 1" in r.stdout, "the ASG message waits for asg2 (451)", r.stdout)
            eq(env.sql("SELECT x.email, x.status FROM outbox_rcpts x JOIN outbox o ON o.id = x.message "
                       "WHERE o.recipient = 'asg' ORDER BY x.seq"),
               [["asg1@nvk.dk", "sent"], ["asg2@nvk.dk", "pending"]], "asg1 has it, asg2 is pending")
            make_due(env)
            r = env.run("outbox", "flush")
            ok("sent 1," in r.stdout, "the second attempt delivers to asg2", r.stdout)
            eq(env.scalar("SELECT status FROM outbox WHERE recipient = 'asg'"), "sent", "the message is sent")
            got = [m["env"]["rcpt_tos"] for m in smtpd.messages() if "owner" not in m["env"]["rcpt_tos"][0]
                   and not m["env"]["rcpt_tos"][0].startswith("ejer")]
            eq(got, [["asg1@nvk.dk"], ["asg2@nvk.dk"]], "asg1 got it once, asg2 once")
            eq(env.run("run", "notify", "--as-of", AS_OF, "--param", "roles=asg").returncode, 0, "the same run again")
            eq(env.scalar("SELECT COUNT(*) FROM outbox"), "2", "makes no new message: its items were mailed")

            # Keys are bytes: upper and lower case are two items.
            for key in ("Kvartal-A", "kvartal-a", "kvartal-a "):
                eq(env.run("run", "notify", "--as-of", AS_OF, "--param", f"key={key}").returncode, 0,
                   f"a run with key {key!r}")
            eq(env.scalar("SELECT COUNT(*) FROM outbox WHERE recipient = 'owner:1'"), "4",
               "keys differing in case or a trailing space are different items")
        finally:
            smtpd.stop()


def test_session_breakers():
    """A message on which the server hangs up does not hold back the others;
    a database failure mid-session cuts it (nothing is sent that cannot be
    recorded); a dead delivery's messages come back, even past max_age or
    with a huge attempt count."""
    with Env("mail-break") as env:
        smtpd = Smtpd(env, "smtp", "--drop-data", "ejer1@nvk.dk").start()
        try:
            seed(env, owners=4)
            write_config(env.config, env, mail_config(free_port(), {"host": "127.0.0.1", "port": smtpd.port,
                                                                    "starttls": "off"}, retry_initial=60,
                                                      retry_max=3600))
            eq(env.run("run", "notify", "--as-of", AS_OF).returncode, 0, "a run for four owners")
            r = env.run("outbox", "flush")
            eq(sorted(m["env"]["rcpt_tos"][0] for m in smtpd.messages()),
               ["ejer2@nvk.dk", "ejer3@nvk.dk", "ejer4@nvk.dk"],
               "the server hangs up on ejer1's message: the other three arrive in the same flush", r.stdout)
            rows = {x[1]: x for x in outbox(env)}
            eq(rows["owner:1"][2:4], ["queued", "1"], "ejer1's message waits, one attempt counted")
            eq([rows[f"owner:{i}"][2:4] for i in (2, 3, 4)], [["sent", "1"]] * 3,
               "the others were sent, one attempt each (not charged for the broken session)")
            smtpd.stop()

            # A database failure while the session runs.
            smtpd = Smtpd(env, "smtp2").start()
            write_config(env.config, env, mail_config(free_port(), {"host": "127.0.0.1", "port": smtpd.port,
                                                                    "starttls": "off"}, retry_initial=1,
                                                      retry_max=1))
            eq(env.run("run", "notify", "--as-of", AS_OF, "--param", "key=k2").returncode, 0, "a second run")
            env.sql("DELIMITER //\nCREATE TRIGGER refuse_ejer2 BEFORE UPDATE ON outbox_rcpts FOR EACH ROW BEGIN "
                    "IF NEW.email = 'ejer2@nvk.dk' AND NEW.status = 'sent' THEN "
                    "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'test: refused'; END IF; END //\nDELIMITER ;")
            env.sql("UPDATE outbox SET next_attempt_at = NOW(3) + INTERVAL 1 HOUR WHERE recipient = 'owner:1'")
            r = env.run("outbox", "flush")
            ok(r.returncode == 1 and "test: refused" in r.stderr, "flush stops on the database error, naming it",
               r.stdout + r.stderr)
            got = sorted(m["env"]["rcpt_tos"][0] for m in smtpd.messages())
            eq(got, ["ejer2@nvk.dk"], "the session was cut after the message it could not record", got)
            env.sql("DROP TRIGGER refuse_ejer2")
            time.sleep(1.2)
            r = env.run("outbox", "flush")
            ok("left being sent by" in r.stderr, "the next flush puts back what the failed one held", r.stderr)
            make_due(env)
            env.sql("UPDATE outbox SET next_attempt_at = NOW(3) + INTERVAL 1 HOUR WHERE recipient = 'owner:1'")
            r = env.run("outbox", "flush")
            got = sorted(m["env"]["rcpt_tos"][0] for m in smtpd.messages())
            eq(got, ["ejer2@nvk.dk", "ejer2@nvk.dk", "ejer3@nvk.dk", "ejer4@nvk.dk"],
               "then all arrive: the one in flight twice (same Message-ID), the rest once", got)
            ids = [m["msg"]["Message-ID"] for m in smtpd.messages() if m["env"]["rcpt_tos"] == ["ejer2@nvk.dk"]]
            eq(len(set(ids)), 1, "the copy has the same Message-ID")

            # Left 'sending' by a delivery that is gone: past max_age with one
            # recipient served it ends sent; a huge attempt count is no problem.
            env.sql("UPDATE outbox SET status = 'sending', claimed_by = 'elsewhere:1:Nfeedfeedfeedfeed', "
                    "claimed_at = NOW() - INTERVAL 2 DAY, attempts = 5000 WHERE recipient = 'owner:1'")
            r = env.run("outbox", "flush")
            eq(r.returncode, 0, "a claim past its lease with 5000 attempts is put back", r.stderr)
            eq(env.scalar("SELECT CONCAT(status, ' ', attempts) FROM outbox WHERE recipient = 'owner:1'"),
               "queued 5001", "queued again, the attempt counted")
            mid = env.scalar("SELECT id FROM outbox WHERE recipient = 'owner:3' AND status = 'sent' LIMIT 1")
            env.sql(f"INSERT INTO outbox_rcpts (message, seq, email, status) VALUES ({mid}, 2, 'x@nvk.dk', 'pending')")
            env.sql("UPDATE outbox SET status = 'sending', claimed_by = 'elsewhere:1:Nfeedfeedfeedfeed', "
                    f"claimed_at = NOW() - INTERVAL 2 DAY, expires_at = NOW() - INTERVAL 1 HOUR WHERE id = {mid}")
            env.run("outbox", "flush")
            eq(env.sql(f"SELECT status FROM outbox WHERE id = {mid}") + env.sql(
                f"SELECT status FROM outbox_rcpts WHERE message = {mid} ORDER BY seq"),
               [["sent"], ["sent"], ["dead"]], "expired with one recipient served: sent, the other recipient dead")
        finally:
            smtpd.stop()


def test_slow_server():
    """A server that takes 2.5 s to answer the end of DATA (content
    scanning) gets the default command timeout, not a hang-up and a copy."""
    with Env("mail-slow") as env:
        smtpd = Smtpd(env, "smtp", "--delay-data", "2.5").start()
        try:
            seed(env, owners=1)
            write_config(env.config, env, mail_config(free_port(), {"host": "127.0.0.1", "port": smtpd.port,
                                                                    "starttls": "off"}))
            eq(env.run("run", "notify", "--as-of", AS_OF).returncode, 0, "a run")
            r = env.run("outbox", "flush")
            ok("sent 1," in r.stdout, "flush waits for the slow reply and records it sent", r.stdout + r.stderr)
            make_due(env)
            env.run("outbox", "flush")
            eq(smtpd.count(), 1, "the server has it once: nothing is left to send it again")
        finally:
            smtpd.stop()


def tls_files(env):
    d = os.path.join(env.dir, "tls")
    os.makedirs(d, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1", "-days", "2",
                    "-keyout", os.path.join(d, "key.pem"), "-out", os.path.join(d, "cert.pem")],
                   check=True, capture_output=True)
    return os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")


def test_starttls_and_auth():
    """STARTTLS with a self-signed certificate, AUTH with the password from a file."""
    with Env("mail-tls") as env:
        cert, key = tls_files(env)
        pwfile = os.path.join(env.dir, "smtp-password")
        with open(pwfile, "w") as f:
            f.write("hemmeligt-kodeord\n")
        smtpd = Smtpd(env, "smtp", "--starttls", cert, key, "--require-starttls",
                      "--auth", "overblik:hemmeligt-kodeord").start()
        plain = None
        try:
            seed(env, owners=2)
            smtp = {"host": "127.0.0.1", "port": smtpd.port, "starttls": "required", "ca_file": cert,
                    "username": "overblik", "password_file": pwfile}
            write_config(env.config, env, mail_config(free_port(), smtp))
            eq(env.run("run", "notify", "--as-of", AS_OF).returncode, 0, "the run succeeds")
            r = env.run("outbox", "flush")
            ok("sent 2," in r.stdout, "flush over STARTTLS with AUTH sends both", r.stdout + r.stderr)
            msgs = smtpd.messages()
            eq([(m["env"]["tls"], m["env"]["auth"]) for m in msgs], [(True, "overblik")] * 2,
               "both came under TLS, authenticated as overblik")
            ok(msgs and str(msgs[0]["msg"]["Subject"]).startswith("Påmindelser"), "and read back right")

            # Wrong password: waits (a configuration problem is not the message's fault).
            with open(pwfile, "w") as f:
                f.write("forkert")
            eq(env.run("run", "notify", "--as-of", AS_OF, "--param", "key=k2").returncode, 0, "a second run")
            r = env.run("outbox", "flush")
            ok("to retry 2" in r.stdout and "dead 0" in r.stdout, "a wrong password: both wait for a retry",
               r.stdout + r.stderr)
            reply = env.scalar("SELECT last_reply FROM outbox ORDER BY id DESC LIMIT 1")
            ok("AUTH" in reply and "535" in reply, "the reply says AUTH was refused, with the server's 535", reply)

            # An untrusted certificate: nothing is sent in clear or to the wrong server.
            with open(pwfile, "w") as f:
                f.write("hemmeligt-kodeord")
            smtp2 = dict(smtp)
            smtp2.pop("ca_file")
            write_config(env.config, env, mail_config(free_port(), smtp2))
            env.sql("UPDATE outbox SET next_attempt_at = NOW() WHERE status = 'queued'")
            r = env.run("outbox", "flush")
            ok("to retry 2" in r.stdout, "with the system's CAs the self-signed certificate is refused", r.stdout)
            reply = env.scalar("SELECT last_reply FROM outbox ORDER BY id DESC LIMIT 1")
            ok("certificate" in reply, "and the reply says why", reply)
            eq(smtpd.count(), 2, "nothing more arrived")
            smtpd.stop()

            # STARTTLS required against a server without it.
            plain = Smtpd(env, "plain").start()
            smtp3 = {"host": "127.0.0.1", "port": plain.port, "starttls": "required"}
            write_config(env.config, env, mail_config(free_port(), smtp3))
            env.sql("UPDATE outbox SET next_attempt_at = NOW() WHERE status = 'queued'")
            r = env.run("outbox", "flush")
            reply = env.scalar("SELECT last_reply FROM outbox ORDER BY id DESC LIMIT 1")
            ok("to retry 2" in r.stdout and "STARTTLS" in reply, "starttls required: a server without it gets nothing",
               r.stdout + reply)
            eq(plain.count(), 0, "not a message in clear")
            smtp3["starttls"] = "opportunistic"
            write_config(env.config, env, mail_config(free_port(), smtp3))
            env.sql("UPDATE outbox SET next_attempt_at = NOW() WHERE status = 'queued'")
            r = env.run("outbox", "flush")
            ok("sent 2," in r.stdout, "opportunistic: sent without TLS", r.stdout + r.stderr)
            eq([m["env"]["tls"] for m in plain.messages()], [False, False], "in clear, as configured")
            plain.stop()
        finally:
            smtpd.stop()
            if plain:
                plain.stop()

def test_certificate_names():
    """starttls "required" with a certificate from a test CA: a relay named by
    its IP address is checked against the certificate's IP addresses, a name
    against its DNS names; the reply says which was checked. (An IPv6 literal
    cannot be configured: libesmtp takes "host:port" up to the first colon.)"""
    with Env("mail-certnames") as env:
        ca = TestCA(os.path.join(env.dir, "ca"))
        with_ip = ca.issue("with-ip", "mx.nvk.test", ["DNS:mx.nvk.test", "IP:127.0.0.1", "IP:::1"])
        # The address as a DNS name, as libesmtp's own check accepted: not an IP address.
        dns_only = ca.issue("dns-only", "127.0.0.1", ["DNS:mx.nvk.test", "DNS:127.0.0.1", "DNS:localhost"])
        other_ip = ca.issue("other-ip", "mx.nvk.test", ["DNS:mx.nvk.test", "IP:10.1.2.3"])
        seed(env, owners=2)
        servers = []

        def server(cert, host="127.0.0.1"):
            srv = Smtpd(env, "smtp%d" % len(servers), "--host", host, "--starttls", *cert,
                        "--require-starttls").start()
            servers.append(srv)
            return srv

        def flush(host, srv):
            smtp = {"host": host, "port": srv.port, "starttls": "required", "ca_file": ca.cert}
            write_config(env.config, env, mail_config(free_port(), smtp))
            env.sql("UPDATE outbox SET next_attempt_at = NOW() WHERE status = 'queued'")
            r = env.run("outbox", "flush")
            reply = env.scalar("SELECT IFNULL(MAX(last_reply), '') FROM outbox WHERE status = 'queued'")
            return r.stdout + r.stderr, reply

        try:
            write_config(env.config, env, mail_config(free_port(), {"host": "127.0.0.1", "port": free_port(),
                                                                    "starttls": "required", "ca_file": ca.cert}))
            eq(env.run("run", "notify", "--as-of", AS_OF).returncode, 0, "the run succeeds")
            srv = server(with_ip)
            out, reply = flush("127.0.0.1", srv)
            ok("sent 2," in out, "127.0.0.1 with IP:127.0.0.1 in the certificate: both sent under STARTTLS", out + reply)
            eq([m["env"]["tls"] for m in srv.messages()], [True, True], "both came under TLS")

            # A name that is not among its DNS names: refused, the reply lists them.
            eq(env.run("run", "notify", "--as-of", AS_OF, "--param", "key=k2").returncode, 0, "a second run")
            out, reply = flush("localhost", srv)
            ok("to retry 2" in out, "localhost against a certificate for mx.nvk.test: both wait", out)
            ok('the server\'s certificate is not for the name "localhost" (checked its DNS names: mx.nvk.test)'
               in reply, "the reply names the name and the DNS names checked", reply)
            srv.stop()

            # The address only as a DNS name: not an IP address of the certificate.
            srv = server(dns_only)
            out, reply = flush("127.0.0.1", srv)
            ok("to retry 2" in out, "127.0.0.1 against a certificate with DNS:127.0.0.1 but no IP address: refused",
               out)
            ok("the server's certificate has no IP address 127.0.0.1 (checked its IP addresses: none; an address is "
               "not checked against its DNS names: mx.nvk.test, 127.0.0.1, localhost)" in reply,
               "the reply says the IP addresses were checked, and that it has none", reply)
            eq(srv.count(), 0, "nothing arrived")
            out, reply = flush("localhost", srv)
            ok("sent 2," in out, "the same certificate by its DNS name localhost: both sent", out + reply)
            srv.stop()

            eq(env.run("run", "notify", "--as-of", AS_OF, "--param", "key=k3").returncode, 0, "a third run")
            srv = server(other_ip)
            out, reply = flush("127.0.0.1", srv)
            ok("to retry 2" in out and "the server's certificate has no IP address 127.0.0.1 (checked its IP "
               "addresses: 10.1.2.3; an address is not checked against its DNS names: mx.nvk.test)" in reply,
               "another IP address in the certificate: refused, the reply lists the addresses checked", out + reply)
            srv.stop()

        finally:
            for srv in servers:
                srv.stop()


def test_kill_during_delivery():
    """kill -9 of overblikd while 200 messages go out: after a restart all 200
    arrive; the duplicates (the message in flight) are counted."""
    with Env("mail-kill") as env:
        port = free_port()
        smtpd = Smtpd(env, "smtp", "--delay-data", "0.03").start()
        seed(env, owners=200)
        write_config(env.config, env, mail_config(port, {"host": "127.0.0.1", "port": smtpd.port, "starttls": "off"},
                                                  batch=20))
        srv = Server(env, port).start()
        try:
            r, rid = srv.trigger("notify", {"as_of": AS_OF})
            eq((srv.wait_run(rid) or {}).get("status"), "succeeded", "a run with 200 owners succeeds")
            n = smtpd.wait_count(60, timeout=60)
            ok(60 <= n < 200, f"delivery is under way ({n} of 200)")
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
            srv.logf.close()
            time.sleep(0.5)
            at_kill = smtpd.count()
            ok(at_kill < 200, f"killed with {at_kill} of 200 delivered")
            waiting = int(env.scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')"))
            ok(waiting > 0, f"{waiting} messages were left queued or being sent")
            sending = int(env.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sending'"))
            srv = Server(env, port).start()
            deadline = time.time() + 90
            while time.time() < deadline:
                ids = set(m["msg"]["Message-ID"] for m in smtpd.messages())
                if len(ids) >= 200:
                    break
                time.sleep(0.3)
            rows = wait_outbox(env, lambda rs: all(x[2] == "sent" for x in rs), timeout=30)
            msgs = smtpd.messages()
            ids = [m["msg"]["Message-ID"] for m in msgs]
            eq(len(set(ids)), 200, "after the restart all 200 arrived")
            eq(sum(1 for x in rows if x[2] == "sent"), 200, "and all 200 are marked sent")
            dups = len(ids) - len(set(ids))
            print(f"# kill -9 during delivery: {len(ids)} messages received for 200, {dups} duplicate(s)")
            ok(dups <= 1, f"at most the message in flight arrives twice ({dups})")
            if sending:
                ok("left being sent by" in srv.log(), f"the restart logs the {sending} messages it put back",
                   srv.log()[-1500:])
            else:
                skip("the restart logs the messages it put back", "killed between two batches: none was being sent")
        finally:
            srv.stop()
            smtpd.stop()


def test_maildir_default_and_dry_run():
    """No SMTP server configured: each message is an .eml file in
    state_dir/outbox/new; a dry run stores its messages and sends none; an
    owner without an address goes to IT support; a broken template fails the
    run with no mail at all."""
    with Env("mail-eml") as env:
        extra = ("INSERT INTO people (id, org_id, kitos_uuid, name, email) VALUES (60, 1, UUID(), 'Uden Adresse', NULL);"
                 "INSERT INTO systems (org_id, kitos_uuid, name, owner_id) VALUES (1, UUID(), 'Løn & Personale', 60)")
        seed(env, owners=2, extra_sql=extra)
        write_config(env.config, env, mail_config(free_port()))
        r = env.run("run", "notify", "--as-of", AS_OF, "--dry-run")
        eq(r.returncode, 0, "a dry run succeeds", r.stderr)
        rows = outbox(env)
        eq(sorted(x[2] for x in rows), ["dry_run"] * 3, "its three messages are stored as dry_run", rows)
        r = env.run("outbox", "flush")
        ok("sent 0," in r.stdout, "flush sends none of them", r.stdout)
        eq(glob.glob(os.path.join(env.state, "outbox", "new", "*")), [], "no .eml file is written for a dry run")
        r = env.run("outbox", "show", "--mime", rows[0][0])
        ok(r.stdout.startswith("Date: ") and "Message-ID: <" in r.stdout, "outbox show --mime prints the message",
           r.stdout[:300])

        r = env.run("run", "notify", "--as-of", AS_OF)
        eq(r.returncode, 0, "the real run succeeds", r.stderr)
        ok("3 messages with 3 items queued" in r.stderr, "the dry run held no dedupe key: all three are queued",
           r.stderr)
        r = env.run("outbox", "flush")
        ok("sent 3," in r.stdout, "flush writes all three", r.stdout)
        files = sorted(glob.glob(os.path.join(env.state, "outbox", "new", "*.eml")))
        eq(len(files), 3, "three .eml files in state_dir/outbox/new")
        eq(glob.glob(os.path.join(env.state, "outbox", "tmp", "*")), [], "nothing left in tmp/")
        parsed = [email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default) for f in files]
        it = [m for m in parsed if "it@nvk.dk" in str(m["To"])]
        eq(len(it), 1, "the owner without an address goes to it_support")
        ok(str(it[0]["Subject"]).startswith("Datakvalitet"), "as a data-quality finding", str(it[0]["Subject"]))
        t = body_text(it[0], "plain")
        ok("Uden Adresse" in t and "Løn & Personale" in t, "naming the owner and the item", t)
        ok("Løn &amp; Personale" in body_text(it[0], "html"), "the HTML part escapes the values")
        ok(all(all(line.endswith(b"\r\n") for line in open(f, "rb").read().splitlines(True)) for f in files),
           "every .eml file has CRLF line ends")

        # keep_days: a sent message's text goes, the record stays.
        env.sql("UPDATE outbox SET created_at = NOW() - INTERVAL 91 DAY WHERE status = 'sent' ORDER BY id LIMIT 1")
        r = env.run("outbox", "flush")
        eq(env.sql("SELECT status, LENGTH(mime) = 0, items FROM outbox WHERE created_at < NOW() - INTERVAL 90 DAY"),
           [["sent", "1", "1"]], "after keep_days a sent message keeps its row but not its text")
        eq(env.scalar("SELECT COUNT(*) FROM outbox WHERE LENGTH(mime) > 0"), "5", "the others keep theirs")

        # A template that cannot render fails the run, and no message is made.
        before = env.scalar("SELECT COUNT(*) FROM outbox")
        os.unlink(os.path.join(env.templates, "notify", "item.txt"))
        r = env.run("run", "notify", "--as-of", AS_OF, "--param", "key=new")
        ok(r.returncode != 0, "a run whose item template is missing fails", r.stdout + r.stderr)
        ok("notify/item.txt" in r.stderr, "naming the template", r.stderr)
        eq(env.scalar("SELECT COUNT(*) FROM outbox"), before, "and leaves no message: all or none")
        eq(env.scalar("SELECT status FROM runs ORDER BY id DESC LIMIT 1"), "failed", "the run is recorded failed")


# ---- who gets the PDF (issue 10) ----

def test_attach_pdf_modes():
    """mail.attach_pdf: "roles" (the default, and the old true) attaches the
    run's PDF to the roles' briefings only, not to owners' digests nor to IT
    support's list of owners without an address; "all" to every message;
    "none" (and false) to none. A digest says "vedhæftet" only with it."""
    with Env("mail-attach") as env:
        extra = ("INSERT INTO people (id, org_id, kitos_uuid, name, email) VALUES (60, 1, UUID(), 'Uden Adresse', NULL);"
                 "INSERT INTO systems (org_id, kitos_uuid, name, owner_id) VALUES (1, UUID(), 'Løn & Personale', 60)")
        seed(env, owners=2, extra_sql=extra)
        seen = set()
        for i, (mode, want) in enumerate([(None, {"owner", "no_email"}), ("roles", {"owner", "no_email"}),
                                          (True, {"owner", "no_email"}), ("all", set()), ("none", None),
                                          (False, None)]):
            label = "default" if mode is None else json.dumps(mode)
            cfg = mail_config(free_port()) if mode is None else mail_config(free_port(), attach_pdf=mode)
            write_config(env.config, env, cfg)
            r = env.run("run", "notify", "--as-of", AS_OF, "--param", "roles=asg", "--param", f"key=k{i}")
            eq(r.returncode, 0, f"attach_pdf {label}: the run succeeds", r.stdout + r.stderr)
            rid = env.scalar("SELECT MAX(id) FROM runs")
            r = env.run("outbox", "flush")
            eq(r.returncode, 0, f"attach_pdf {label}: flush", r.stdout + r.stderr)
            kinds = dict((int(x[0]), x[1]) for x in env.sql(f"SELECT id, kind FROM outbox WHERE run_id = {rid}"))
            eq(sorted(kinds.values()), ["no_email", "owner", "owner", "role"],
               f"attach_pdf {label}: two owners' digests, ASG's briefing, IT support's no-address list", kinds)
            pdf = open(env.sql(f"SELECT path FROM run_files WHERE run_id = {rid} AND name = 'notify.pdf'")[0][0],
                       "rb").read()
            for mid, kind in sorted(kinds.items()):
                f = os.path.join(env.state, "outbox", "new", f"outbox-{mid}.eml")
                m = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
                name, data = attachment(m)
                attached = want is not None and kind not in want
                if attached:
                    eq(name, "notify.pdf", f"attach_pdf {label}: the {kind} message carries the PDF")
                    ok(data == pdf, f"attach_pdf {label}: the {kind} message's PDF is the run's, byte for byte")
                else:
                    eq(name, None, f"attach_pdf {label}: the {kind} message carries no PDF")
                txt, html = body_text(m, "plain"), body_text(m, "html")
                if kind in ("owner", "role"):
                    eq("vedhæftet som notify.pdf" in txt, attached,
                       f"attach_pdf {label}: the {kind} text says \"vedhæftet\" only with the PDF", txt)
                    eq("vedhæftet som <i>notify.pdf</i>" in html, attached,
                       f"attach_pdf {label}: and the {kind} HTML likewise", html)
                seen.add((label, kind, attached))
        eq(len(seen), 6 * 3, "every mode and kind was seen", sorted(seen))


# ---- dedupe per recipient (issue 10) ----

def shared_run(env, key, shared, *more):
    """notify with only the shared notice: key KEY to each of SHARED."""
    r = env.run("run", "notify", "--as-of", AS_OF, "--param", "limit=0", "--param", f"key={key}",
                "--param", f"shared={shared}", *more)
    if r.returncode != 0:
        raise RuntimeError(r.stdout + r.stderr)
    return r


def holders(env, key):
    """The recipients of the messages holding KEY (notify's shared key), in order."""
    return [x[0] for x in env.sql(
        "SELECT o.recipient FROM outbox o JOIN outbox_items i ON i.message = o.id "
        f"WHERE i.live_key = 'notify:shared:{key}' ORDER BY o.id")]


def test_dedupe_per_recipient():
    """One key notified to two owners and a role reaches each of them once;
    a second run sends it to none again; an owner added later gets it; two
    owners without an address are two findings for IT support, once."""
    with Env("mail-dedupe") as env:
        extra = ("INSERT INTO people (id, org_id, kitos_uuid, name, email) VALUES "
                 "(60, 1, UUID(), 'Uden Adresse', NULL), (61, 1, UUID(), 'Heller Ingen', 'ikke-en-adresse')")
        seed(env, owners=2, extra_sql=extra)
        write_config(env.config, env, mail_config(free_port()))

        shared_run(env, "K", "owner:1,owner:2,asg")
        eq(holders(env, "K"), ["owner:1", "owner:2", "asg"],
           "one run: the key shared by two owners and ASG goes to each of them")
        eq(env.sql("SELECT recipient, items FROM outbox ORDER BY id"),
           [["owner:1", "1"], ["owner:2", "1"], ["asg", "1"]], "one message each, with the one item")
        r = shared_run(env, "K", "owner:2,owner:1,asg")
        eq(holders(env, "K"), ["owner:1", "owner:2", "asg"], "a second run: none of them gets it again")
        eq(env.scalar("SELECT COUNT(*) FROM outbox"), "3", "the second run makes no message")
        ok("3 items mailed before" in r.stderr, "and says its 3 items were mailed before", r.stderr)

        env.sql("INSERT INTO people (id, org_id, kitos_uuid, name, email) VALUES (3, 1, UUID(), 'Ny Ejer', "
                "'ejer3@nvk.dk'); INSERT INTO systems (org_id, kitos_uuid, name, owner_id) VALUES "
                "(1, UUID(), 'Nyt system', 3)")
        shared_run(env, "K", "owner:01,owner:2,owner:3")
        eq(holders(env, "K"), ["owner:1", "owner:2", "asg", "owner:3"],
           "an owner added later gets it; owner:01 is owner 1, who had it")

        # Owners without a usable address: each is a finding, once.
        shared_run(env, "N", "owner:60,owner:61,owner:1")
        rows = env.sql("SELECT o.recipient, i.dedupe_rcpt, i.live_key FROM outbox o "
                       "JOIN outbox_items i ON i.message = o.id WHERE i.dedupe_key LIKE '%notify:shared:N' "
                       "ORDER BY o.id, i.seq")
        eq(rows, [["owner:1", "owner:1", "notify:shared:N"],
                  ["it_support", "owner:60", "no_email:notify:shared:N"],
                  ["it_support", "owner:61", "no_email:notify:shared:N"]],
           "IT support gets one finding per owner without an address, deduped for that owner")
        before = env.scalar("SELECT MAX(id) FROM outbox")
        shared_run(env, "N", "owner:61,owner:60,owner:1")
        eq(env.scalar("SELECT MAX(id) FROM outbox"), before, "again: IT support hears of neither a second time")
        env.sql("UPDATE people SET email = 'ejer60@nvk.dk' WHERE id = 60")
        shared_run(env, "N", "owner:60,owner:61")
        eq(env.sql(f"SELECT recipient, items FROM outbox WHERE id > {before} ORDER BY id"), [["owner:60", "1"]],
           "with an address, the owner gets the item itself; IT support nothing")

        # What arrives: each address once per key.
        r = env.run("outbox", "flush")
        ok(r.returncode == 0, "flush writes the messages", r.stdout + r.stderr)
        got = {}
        for f in glob.glob(os.path.join(env.state, "outbox", "new", "*.eml")):
            m = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
            for a in m["To"].addresses:
                got[a.addr_spec] = got.get(a.addr_spec, 0) + body_text(m, "plain").count("Fælles kontrakt")
        eq(got, {"ejer1@nvk.dk": 2, "ejer2@nvk.dk": 1, "ejer3@nvk.dk": 1, "ejer60@nvk.dk": 1,
                 "asg1@nvk.dk": 1, "asg2@nvk.dk": 1, "it@nvk.dk": 2},
           "the mail: each address has each key once (ejer1: K and N; IT support: N for 60 and 61)")


def test_migration_keeps_sent():
    """A database at schema 3 with mail sent under the old per-organisation
    keys: migration 004 keeps each sent item deduped for the recipient it
    went to (an item routed to IT support: for its owner); what the old keys
    kept from a second owner now reaches that owner."""
    with Env("mail-migrate4") as env:
        env.start_db()  # it migrates: start again from an empty database
        env.sql("DROP DATABASE overblik; CREATE DATABASE overblik CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        env.sql("CREATE TABLE IF NOT EXISTS schema_migrations (version INT UNSIGNED NOT NULL PRIMARY KEY, "
                "name VARCHAR(200) NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB")
        for v, name in [(1, "001_portfolio"), (2, "002_runs"), (3, "003_outbox")]:
            with open(os.path.join(obtest.TOP_SRCDIR, "core", "sql", name + ".sql")) as f:
                env.sql(f.read())
            env.sql(f"INSERT INTO schema_migrations (version, name) VALUES ({v}, '{name}')")
        extra = ("INSERT INTO people (id, org_id, kitos_uuid, name, email) VALUES (60, 1, UUID(), 'Uden Adresse', NULL)")
        env.sql("; ".join(portfolio_sql(3, extra_sql=extra)))
        # What 003's outbox made of two runs. Run 1: owner 60 (no address)
        # first with key Q, so IT support got it and owner 1 (the same key)
        # nothing; ASG its briefing. Run 2: owner 2 got Q, owner 3 not; owner
        # 3's D died. Run 3, a dry run, held no key.
        env.sql("""
INSERT INTO runs (id, report, org_id, trigger_kind, as_of, params, dry_run, status) VALUES
 (1, 'notify', 1, 'cli', '2026-08-26', '{}', 0, 'succeeded'),
 (2, 'notify', 1, 'cli', '2026-09-26', '{}', 0, 'succeeded'),
 (3, 'notify', 1, 'cli', '2026-10-26', '{}', 1, 'succeeded');
INSERT INTO run_notices (run_id, seq, recipient, dedupe_key, template, kv) VALUES
 (1, 1, 'owner:60', 'notify:shared:Q', 'notify/item', '{}'),
 (1, 2, 'owner:1', 'notify:shared:Q', 'notify/item', '{}'),
 (1, 3, 'asg', 'notify:briefing:asg:Q', 'notify/briefing', '{}'),
 (2, 1, 'owner:2', 'notify:shared:Q', 'notify/item', '{}'),
 (2, 2, 'owner:3', 'notify:shared:Q', 'notify/item', '{}'),
 (2, 3, 'owner:3', 'notify:shared:D', 'notify/item', '{}'),
 (3, 1, 'owner:1', 'notify:shared:Q', 'notify/item', '{}');
INSERT INTO outbox (id, run_id, org_id, recipient, kind, message_id, mail_from, mime, items, status) VALUES
 (1, 1, 1, 'it_support', 'no_email', 'm1@nvk.dk', 'overblik@nvk.dk', 'x', 1, 'sent'),
 (2, 1, 1, 'asg', 'role', 'm2@nvk.dk', 'overblik@nvk.dk', 'x', 1, 'sent'),
 (3, 2, 1, 'owner:2', 'owner', 'm3@nvk.dk', 'overblik@nvk.dk', 'x', 1, 'sent'),
 (4, 2, 1, 'owner:3', 'owner', 'm4@nvk.dk', 'overblik@nvk.dk', 'x', 1, 'dead'),
 (5, 3, 1, 'owner:1', 'owner', 'm5@nvk.dk', 'overblik@nvk.dk', 'x', 1, 'dry_run');
INSERT INTO outbox_items (message, seq, org_id, dedupe_key, live_key, template, kv) VALUES
 (1, 1, 1, 'no_email:notify:shared:Q', 'no_email:notify:shared:Q', 'notify/item', '{}'),
 (2, 1, 1, 'notify:briefing:asg:Q', 'notify:briefing:asg:Q', 'notify/briefing', '{}'),
 (3, 1, 1, 'notify:shared:Q', 'notify:shared:Q', 'notify/item', '{}'),
 (4, 1, 1, 'notify:shared:D', NULL, 'notify/item', '{}'),
 (5, 1, 1, 'notify:shared:Q', NULL, 'notify/item', '{}')""")
        r = env.run("migrate")
        ok(r.returncode == 0 and "004_outbox_dedupe_recipient" in r.stderr, "migrate applies 004 to schema 3",
           r.stdout + r.stderr)
        eq(env.sql("SELECT message, dedupe_rcpt, dedupe_key, IFNULL(live_key, '-') FROM outbox_items ORDER BY message"),
           [["1", "owner:60", "no_email:notify:shared:Q", "no_email:notify:shared:Q"],
            ["2", "asg", "notify:briefing:asg:Q", "notify:briefing:asg:Q"],
            ["3", "owner:2", "notify:shared:Q", "notify:shared:Q"],
            ["4", "owner:3", "notify:shared:D", "-"],
            ["5", "owner:1", "notify:shared:Q", "-"]],
           "each old item is for the recipient it went to; the routed one for its owner; keys as they were")
        eq(env.sql("SELECT seq_in_index, column_name FROM information_schema.statistics WHERE table_schema = "
                   "'overblik' AND table_name = 'outbox_items' AND index_name = 'uq_item_live' ORDER BY seq_in_index"),
           [["1", "org_id"], ["2", "dedupe_rcpt"], ["3", "live_key"]], "the unique key is (org, recipient, key)")

        write_config(env.config, env, mail_config(free_port()))
        shared_run(env, "Q", "owner:60,owner:1,owner:2,owner:3", "--param", "roles=asg")
        eq(env.sql("SELECT recipient, items FROM outbox WHERE id > 5 ORDER BY id"), [["owner:1", "1"], ["owner:3", "1"]],
           "the same key again: owners 1 and 3, whom the old keys kept from it, get it; "
           "owner 2, IT support (for owner 60) and ASG do not again")
        shared_run(env, "D", "owner:3")
        eq(env.sql("SELECT recipient, items FROM outbox WHERE id > 5 ORDER BY id"),
           [["owner:1", "1"], ["owner:3", "1"], ["owner:3", "1"]], "the dead message's item is tried again")


if __name__ == "__main__":
    run_tests(test_digests_over_smtp, test_smtp_down_then_up, test_connect_timeout, test_4xx_and_5xx,
              test_partial_and_keys, test_session_breakers, test_slow_server, test_starttls_and_auth,
              test_certificate_names,
              test_kill_during_delivery, test_maildir_default_and_dry_run, test_attach_pdf_modes,
              test_dedupe_per_recipient, test_migration_keeps_sent)
