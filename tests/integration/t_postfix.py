#!/usr/bin/python3
"""Mail through a real MTA: Debian's Postfix, a private instance of its own
(postfix -c DIR: its own main.cf and master.cf, queue and data directories,
one smtpd on a free loopback port, STARTTLS with a certificate from a test CA,
delivery by Postfix's virtual agent to a maildir per recipient). overblik
sends a run's digests to it by IP address (mail.smtp.host 127.0.0.1, the
certificate naming IP:127.0.0.1) with starttls "required" and the test CA as
ca_file; the test reads them back from the maildirs. A message over Postfix's
message_size_limit ends dead with its 552 reply while the others arrive.

Postfix's master must be started by root; scripts/install-deps installs the
package (preseeded to "No configuration": no system Postfix runs). Where the
package is missing or the test does not run as root, it is skipped, saying
why. The instance's directory is under /tmp: Postfix's daemons run as the
postfix user, which must reach the queue (a checkout under /root would not
do), and its sockets' paths must stay short."""

import email
import email.policy
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

from obtest import Env, ok, eq, run_tests, skip, done
from testca import TestCA
from t_mail import seed, mail_config, attachment, AS_OF
from t_server import free_port, write_config

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTCONF = shutil.which("postconf") or "/usr/sbin/postconf"
OWNERS = 4
# Every address the runs mail: the owners, ASG's two, IT support's.
ADDRESSES = [f"ejer{i}@nvk.dk" for i in range(1, OWNERS + 1)] + ["asg1@nvk.dk", "asg2@nvk.dk", "it@nvk.dk"]

MASTER_CF = """\
# service type private unpriv chroot wakeup maxproc command
{listen} inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
tlsmgr unix - - n 1000? 1 tlsmgr
postlog unix-dgram n - n - 1 postlogd
"""


def why_not():
    """Why Postfix cannot run here, or None."""
    if not os.path.exists(POSTFIX):
        return "Debian's postfix is not installed (scripts/install-deps installs it)"
    if os.geteuid() != 0:
        return f"Postfix's master must be started by root; this test runs as uid {os.geteuid()}"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "the postfix user is missing (the package is not configured)"
    return None


class Postfix:
    """A private Postfix instance in a directory of its own under /tmp."""

    def __init__(self, cert, key, message_size_limit=10240000):
        self.dir = tempfile.mkdtemp(prefix="overblik-postfix-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.etc = os.path.join(self.dir, "etc")
        self.mail = os.path.join(self.dir, "mail")
        self.queue = os.path.join(self.dir, "queue")
        self.maillog = os.path.join(self.dir, "maillog")
        self.port = free_port()
        for d in (self.etc, self.queue):
            os.makedirs(d, mode=0o755)
        os.makedirs(self.mail, mode=0o755)
        pw = pwd.getpwnam("postfix")
        # The virtual agent writes the maildirs as the postfix user.
        os.chown(self.mail, pw.pw_uid, pw.pw_gid)
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            for a in ADDRESSES + ["overblik@nvk.dk"]:
                f.write(f"{a} {a.split('@')[0]}/\n")
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": os.path.join(self.dir, "data"),
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.dir,
            "myhostname": "mx.nvk.test",
            "mydomain": "nvk.test",
            "myorigin": "nvk.test",
            "mydestination": "",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "virtual_mailbox_domains": "nvk.dk",
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": "texthash:" + os.path.join(self.etc, "vmailbox"),
            "virtual_uid_maps": f"static:{pw.pw_uid}",
            "virtual_gid_maps": f"static:{pw.pw_gid}",
            "virtual_minimum_uid": str(min(pw.pw_uid, 100)),
            "message_size_limit": str(message_size_limit),
            # STARTTLS, and nothing in clear: a message sent without TLS is refused.
            "smtpd_tls_cert_file": cert,
            "smtpd_tls_key_file": key,
            "smtpd_tls_security_level": "encrypt",
            "smtpd_tls_received_header": "yes",
            "smtpd_tls_loglevel": "1",
        }
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write(f"{k} = {v}\n")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen=f"127.0.0.1:{self.port}"))

    def postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", self.etc, *args], capture_output=True, text=True, timeout=60)

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def start(self):
        # check creates the queue's directories with their owners and modes.
        r = self.postfix("check")
        if r.returncode != 0:
            raise RuntimeError("postfix check failed:\n" + r.stdout + r.stderr + self.log())
        r = self.postfix("start")
        if r.returncode != 0:
            raise RuntimeError("postfix start failed:\n" + r.stdout + r.stderr + self.log())
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Postfix does not listen on 127.0.0.1:%d:\n%s" % (self.port, self.log()))

    def set(self, name, value):
        """Changes main.cf and has the running instance read it again."""
        subprocess.run([POSTCONF, "-c", self.etc, "-e", f"{name} = {value}"], check=True, capture_output=True)
        r = self.postfix("reload")
        if r.returncode != 0:
            raise RuntimeError("postfix reload failed:\n" + r.stdout + r.stderr)

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.master_pid()
        self.postfix("stop")
        # postfix stop signals the master; wait until it and its children are gone.
        deadline = time.time() + 15
        while pid and time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            if pid:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
        if not os.environ.get("OB_TEST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def messages(self, local):
        """The messages in maildir DIR/mail/LOCAL/new, as [(raw, EmailMessage)]."""
        out = []
        for p in sorted(glob.glob(os.path.join(self.mail, local, "new", "*"))):
            with open(p, "rb") as f:
                raw = f.read()
            out.append((raw, email.message_from_bytes(raw, policy=email.policy.default)))
        return out

    def count(self):
        return sum(len(self.messages(a.split("@")[0])) for a in ADDRESSES)

    def wait_count(self, n, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline and self.count() < n:
            time.sleep(0.1)
        return self.count()


def received_by_postfix(msg):
    """The Received header Postfix added (its own host name in "by")."""
    for h in msg.get_all("Received") or []:
        if "by mx.nvk.test (Postfix)" in str(h):
            return " ".join(str(h).split())
    return ""


def outbox_rows(env, run_id):
    return env.sql(f"SELECT id, recipient, status, subject, message_id, LENGTH(mime), IFNULL(last_reply, '') "
                   f"FROM outbox WHERE run_id = {run_id} ORDER BY id")


def test_postfix():
    with Env("postfix") as env:
        ca = TestCA(os.path.join(env.dir, "ca"))
        cert, key = ca.issue("mx", "mx.nvk.test", ["DNS:mx.nvk.test", "IP:127.0.0.1"])
        pf = Postfix(cert, key)
        try:
            pf.start()
            seed(env, owners=OWNERS, systems_per_owner=2)
            smtp = {"host": "127.0.0.1", "port": pf.port, "starttls": "required", "ca_file": ca.cert}
            write_config(env.config, env, mail_config(free_port(), smtp, attach_pdf="all"))

            # A run's digests, each with the run's PDF: one per recipient.
            r = env.run("run", "notify", "--as-of", AS_OF, "--param", "roles=asg,it_support")
            eq(r.returncode, 0, "the run succeeds", r.stdout + r.stderr)
            rid = env.scalar("SELECT MAX(id) FROM runs")
            rows = outbox_rows(env, rid)
            t0 = time.time()
            r = env.run("outbox", "flush")
            n = len(rows)
            ok(f"sent {n}," in r.stdout and "dead 0" in r.stdout,
               f"flush sends all {n} messages through Postfix with STARTTLS required, by IP address",
               r.stdout + r.stderr + pf.log()[-3000:])
            want = len(ADDRESSES)
            eq(pf.wait_count(want), want, f"{want} messages reach the maildirs, one per recipient address",
               pf.log()[-3000:])
            print(f"# {n} messages to {want} addresses: flushed and delivered in {time.time() - t0:.2f} s",
                  flush=True)
            pdf = open(env.sql(f"SELECT path FROM run_files WHERE run_id = {rid} AND name = 'notify.pdf'")[0][0],
                       "rb").read()
            by_mid = {row[4]: row for row in rows}
            for a in ADDRESSES:
                got = pf.messages(a.split("@")[0])
                if not eq(len(got), 1, f"{a}: one message in its maildir"):
                    continue
                raw, msg = got[0]
                eq(msg["Delivered-To"], a, f"{a}: delivered to that address")
                row = by_mid.get(str(msg["Message-ID"]).strip("<>"))
                ok(row is not None, f"{a}: its Message-ID is one of the run's outbox messages", msg["Message-ID"])
                if row is None:
                    continue
                head = raw.split(b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n")[0]
                ok(b"Subject: =?UTF-8?" in head, f"{a}: the Subject is RFC 2047 encoded on the wire")
                eq(str(msg["Subject"]), row[3], f"{a}: the Subject decodes to the outbox's Danish text")
                ok(any(c in row[3] for c in "æøåÆØÅ"), f"{a}: a subject with Danish letters", row[3])
                name, data = attachment(msg)
                eq(name, "notify.pdf", f"{a}: it carries notify.pdf")
                ok(data == pdf, f"{a}: the PDF is the run's file, byte for byte",
                   f"{len(data or b'')} vs {len(pdf)} bytes")
                rec = received_by_postfix(msg)
                ok(" with ESMTPS id " in rec, f"{a}: Postfix's Received header says ESMTPS", rec)
                ok("using TLS" in rec, f"{a}: and names the TLS it used", rec)
            ok("Trusted TLS connection established" in pf.log() or "TLS connection established" in pf.log(),
               "Postfix's log shows the TLS connections")
            eq([x[2] for x in outbox_rows(env, rid)], ["sent"] * n, "every outbox message is sent")

            # A message over message_size_limit: dead with Postfix's 552, the others arrive.
            write_config(env.config, env, mail_config(free_port(), smtp))  # attach_pdf "roles"
            r = env.run("run", "notify", "--as-of", AS_OF, "--param", "roles=asg", "--param", "key=k2")
            eq(r.returncode, 0, "a second run (the PDF for ASG's briefing only)", r.stdout + r.stderr)
            rid2 = env.scalar("SELECT MAX(id) FROM runs")
            rows2 = outbox_rows(env, rid2)
            sizes = {row[1]: int(row[5]) for row in rows2}
            small = max(v for k, v in sizes.items() if k != "asg")
            big = sizes.get("asg", 0)
            ok(big - small > 4000, "ASG's briefing (with the PDF) is well over the owners' digests", sizes)
            limit = (small + big) // 2
            pf.set("message_size_limit", limit)
            before = pf.count()
            r = env.run("outbox", "flush")
            ok(f"sent {len(rows2) - 1}," in r.stdout and "dead 1" in r.stdout,
               f"with message_size_limit {limit}: {len(rows2) - 1} sent, one dead", r.stdout + r.stderr)
            rows2 = outbox_rows(env, rid2)
            asg = next(row for row in rows2 if row[1] == "asg")
            eq(asg[2], "dead", "ASG's briefing is dead")
            ok(asg[6].startswith("552") and "size" in asg[6].lower(), "with Postfix's 552 reply", asg[6])
            eq(sorted(row[2] for row in rows2 if row[1] != "asg"), ["sent"] * (len(rows2) - 1),
               "the owners' digests are sent")
            eq(pf.wait_count(before + OWNERS) - before, OWNERS, f"the {OWNERS} owners' digests arrive",
               pf.log()[-3000:])
            time.sleep(1)
            eq([len(pf.messages(a.split("@")[0])) for a in ADDRESSES], [2] * OWNERS + [1, 1, 1],
               "ASG's maildirs got nothing more")
            ok("message size" in pf.log() or "exceeds" in pf.log() or "552" in pf.log(),
               "Postfix's log shows the refusal", pf.log()[-2000:])
        finally:
            pf.stop()


if __name__ == "__main__":
    reason = why_not()
    if reason:
        skip("mail through a private Postfix", reason)
        done()
    run_tests(test_postfix)
