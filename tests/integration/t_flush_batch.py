#!/usr/bin/python3
"""t_flush_batch - `overblik outbox flush` into the maildir (no SMTP) writes a
batch of .eml files, syncs them and records the batch in one transaction:
many messages give one file each, all recorded sent with the right counts,
in a few commits rather than one per message; a maildir whose new/ cannot be
written leaves every message queued with a reply saying why and nothing
sent; kill -9 in the middle of a large flush, then flushing again, leaves
every message exactly once in new/ and all sent."""

import glob
import os
import signal
import subprocess
import time

import obtest
from obtest import Env, ok, eq, run_tests, skip

BATCH = 50  # mail.batch's default
CONFIG = {"mail": {"from": {"name": "overblik", "email": "overblik@nvk.dk"}, "retry_initial": 1, "retry_max": 2}}


def setup(env):
    env.start_db()
    r = env.run("migrate")
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    env.sql("INSERT INTO runs (id, report, trigger_kind, as_of, params, status) "
            "VALUES (1, 'notify', 'cli', '2026-11-26', '{}', 'succeeded')")


def queue(env, n):
    """n queued messages, due now; the even ones to two recipients."""
    first = int(env.scalar("SELECT IFNULL(MAX(id), 0) + 1 FROM outbox"))
    env.sql("INSERT INTO outbox (id, run_id, recipient, kind, message_id, mail_from, mime, status, "
            "next_attempt_at, expires_at) "
            f"SELECT {first - 1} + seq, 1, CONCAT('owner:', seq), 'owner', CONCAT('m', {first - 1} + seq, '@test'), "
            "'overblik@nvk.dk', CONCAT('Subject: besked ', {first - 1} + seq, '\\r\\n\\r\\nHej ', {first - 1} + seq, "
            "'\\r\\n'), 'queued', NOW(3) - INTERVAL 1 SECOND, NOW(3) + INTERVAL 1 DAY "
            f"FROM seq_1_to_{n}".replace("{first - 1}", str(first - 1)))
    env.sql(f"INSERT INTO outbox_rcpts (message, seq, email) SELECT id, 1, CONCAT('a', id, '@nvk.dk') FROM outbox "
            f"WHERE id >= {first}")
    env.sql(f"INSERT INTO outbox_rcpts (message, seq, email) SELECT id, 2, CONCAT('b', id, '@nvk.dk') FROM outbox "
            f"WHERE id >= {first} AND id % 2 = 0")
    return list(range(first, first + n))


def new_files(env):
    return sorted(os.path.basename(f) for f in glob.glob(os.path.join(env.state, "outbox", "new", "*")))


def names(ids):
    return sorted(f"outbox-{i}.eml" for i in ids)


def status_counts(env):
    return dict((s, int(c)) for s, c in env.sql("SELECT status, COUNT(*) FROM outbox GROUP BY status"))


def global_status(env, name):
    return int(env.sql(f"SHOW GLOBAL STATUS LIKE '{name}'")[0][1])


def test_many_in_batches():
    """400 messages: 400 files with their text, all sent with their
    recipients, counted; recorded in a few transactions, not 400."""
    with Env("flush-batch", config=CONFIG) as env:
        setup(env)
        ids = queue(env, 400)
        c0, u0 = global_status(env, "Com_commit"), global_status(env, "Com_update")
        r = env.run("outbox", "flush")
        c1, u1 = global_status(env, "Com_commit"), global_status(env, "Com_update")
        eq(r.returncode, 0, "flush succeeds", r.stdout + r.stderr)
        ok("sent 400, to retry 0, dead 0" in r.stdout, "flush counts 400 sent", r.stdout)
        eq(new_files(env), names(ids), "one file per message in new/")
        eq(glob.glob(os.path.join(env.state, "outbox", "tmp", "*")), [], "nothing left in tmp/")
        bad = [i for i in ids if open(os.path.join(env.state, "outbox", "new", f"outbox-{i}.eml"), "rb").read()
               != f"Subject: besked {i}\r\n\r\nHej {i}\r\n".encode()]
        eq(bad, [], "every file holds its message's text")
        eq(status_counts(env), {"sent": 400}, "every message is recorded sent")
        eq(env.sql("SELECT COUNT(*), SUM(attempts = 1), SUM(sent_at IS NOT NULL), SUM(claimed_by IS NULL), "
                   "SUM(last_reply = CONCAT('250 written to ', "
                   f"'{os.path.join(env.state, 'outbox', 'new')}/outbox-', id, '.eml')) FROM outbox"),
           [["400", "400", "400", "400", "400"]], "one attempt each, sent_at set, claim released, its own reply")
        eq(env.sql("SELECT status, COUNT(*), SUM(done_at IS NOT NULL), SUM(reply LIKE CONCAT('%/outbox-', message, "
                   "'.eml')) FROM outbox_rcpts GROUP BY status"),
           [["sent", "600", "600", "600"]], "all 600 recipients recorded sent, with the message's reply")
        batches = (400 + BATCH - 1) // BATCH
        ok(c1 - c0 <= 2 * batches + 5, f"recorded in few transactions ({c1 - c0} commits for {batches} batches, "
           "not one per message)")
        ok(u1 - u0 <= 4 * batches + 10, f"with few statements ({u1 - u0} UPDATEs for 400 messages)")
        r = env.run("outbox", "flush")
        ok("sent 0," in r.stdout, "a second flush sends nothing", r.stdout)
        eq(len(new_files(env)), 400, "and writes nothing")


def test_new_not_writable():
    """new/ is a file: nothing is recorded sent; every message stays queued,
    its reply naming the directory; once new/ is back, all go."""
    with Env("flush-nonew", config=CONFIG) as env:
        setup(env)
        md = os.path.join(env.state, "outbox")
        os.makedirs(os.path.join(md, "tmp"))
        with open(os.path.join(md, "new"), "w") as f:
            f.write("not a directory\n")
        ids = queue(env, 120)
        r = env.run("outbox", "flush")
        eq(r.returncode, 0, "flush itself succeeds", r.stdout + r.stderr)
        ok("sent 0, to retry 120" in r.stdout, "none sent, all 120 to retry", r.stdout)
        eq(status_counts(env), {"queued": 120}, "all stay queued")
        eq(env.sql("SELECT COUNT(*) FROM outbox_rcpts WHERE status <> 'pending'"), [["0"]],
           "no recipient is recorded sent")
        eq(env.sql("SELECT COUNT(*) FROM outbox WHERE attempts = 1 AND last_reply = CONCAT('a', id, '@nvk.dk: ', "
                   f"'cannot open the maildir''s directory {md}/new: Not a directory')"), [["120"]],
           "each counts an attempt, its reply naming new/ and why")
        eq(os.listdir(os.path.join(md, "tmp")), [], "no file is left in tmp/")
        os.unlink(os.path.join(md, "new"))
        env.sql("UPDATE outbox SET next_attempt_at = NOW(3)")
        r = env.run("outbox", "flush")
        ok("sent 120, to retry 0" in r.stdout, "with new/ back, all 120 go", r.stdout)
        eq(new_files(env), names(ids), "one file each")
        eq(status_counts(env), {"sent": 120}, "all sent")


def test_kill_mid_flush():
    """kill -9 during a flush of 3000: what is recorded sent has its file;
    flushing again leaves each message exactly once in new/, all sent."""
    with Env("flush-kill", config=CONFIG) as env:
        setup(env)
        ids = queue(env, 3000)
        newd = os.path.join(env.state, "outbox", "new")
        p = subprocess.Popen([obtest.OVERBLIK, "-c", env.config, "outbox", "flush"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        killed = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            if os.path.isdir(newd) and len(os.listdir(newd)) >= 300:
                p.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.01)
        p.communicate()
        if not killed:
            skip("the flush is killed in the middle", "it ended before 300 files were written")
        sent = [int(x[0]) for x in env.sql("SELECT id FROM outbox WHERE status = 'sent'")]
        have = set(new_files(env))
        eq([i for i in sent if f"outbox-{i}.eml" not in have], [], "every message recorded sent has its file")
        ok(len(sent) < 3000, f"the kill came in the middle ({len(sent)} recorded sent)")
        counts = status_counts(env)
        for _ in range(5):
            env.sql("UPDATE outbox SET next_attempt_at = NOW(3) WHERE status = 'queued'")
            r = env.run("outbox", "flush")
            if r.returncode != 0 or status_counts(env) == {"sent": 3000}:
                break
            time.sleep(1.1)
        eq(r.returncode, 0, "flushing again succeeds", r.stdout + r.stderr)
        eq(status_counts(env), {"sent": 3000}, "then all 3000 are sent", counts)
        eq(new_files(env), names(ids), "each exactly once in new/")
        eq(glob.glob(os.path.join(env.state, "outbox", "tmp", "*")), [], "nothing left in tmp/")
        bad = [i for i in ids if open(os.path.join(newd, f"outbox-{i}.eml"), "rb").read()
               != f"Subject: besked {i}\r\n\r\nHej {i}\r\n".encode()]
        eq(bad, [], "every file holds its message's text, whole")
        eq(env.sql("SELECT COUNT(*) FROM outbox_rcpts WHERE status <> 'sent'"), [["0"]], "every recipient sent")


if __name__ == "__main__":
    run_tests(test_many_in_batches, test_new_not_writable, test_kill_mid_flush)
