#!/usr/bin/python3
"""The digest composes many recipients per transaction (issue 15: batches
of one organisation's recipients, read and written set-wise). Two
organisations of 570 owners each, every owner with pending messages of two
runs, the roles and IT support's list of owners without an address, written
straight into a private mariadbd; then `overblik outbox compose`:

- an item whose template is missing ends the compose with an error that
  names the recipient and the organisation; the recipients before it are
  composed, it and those after it stay pending;
- a database error while a batch is written (a trigger refusing one
  recipient's address) rolls that whole batch back, and only it: the
  batch before it stays composed, and the error names the organisation;
- the next compose finishes the rest: nothing pending, each (organisation,
  recipient) one message, every item in exactly one of them, of its own
  organisation, none twice;
- a run whose items were partly mailed before writes its pending messages
  with the items it kept (a message left with none is not written), and
  counts the others as mailed before."""

import email
import email.policy

from obtest import Env, ok, eq, run_tests
from t_mail import AS_OF, mail_config, seed as seed_one
from t_server import free_port, write_config

B = 250  # recipients per transaction: DIGEST_BATCH in core/outbox_compose.c
N = 2 * B + 70  # owners per organisation: three batches
FROM = {"name": "overblik", "email": "overblik@kommune.test"}
ROLES = {"asg": [{"name": "ASG", "email": "asg@kommune.test"}]}
BAD_TEMPLATE = "notify/no_such_template"


def seed(env):
    """Two organisations, N owners each, two runs each; every owner has one
    pending message per run with two items; asg one per run; it_support
    one (a list of owners without an address). Returns {org: [person ids]}."""
    env.sql("INSERT INTO organisations (id, name) VALUES (1, 'Kommune Et'), (2, 'Kommune To')")
    people = {}
    for org in (1, 2):
        env.sql(f"INSERT INTO people (org_id, kitos_uuid, name, email) "
                f"SELECT {org}, CONCAT('u{org}-', seq), CONCAT('Ejer {org}-', seq), "
                f"CONCAT('p{org}_', seq, '@kommune.test') FROM seq_1_to_{N}")
        people[org] = [int(r[0]) for r in env.sql(f"SELECT id FROM people WHERE org_id = {org} ORDER BY id")]
    for org in (1, 2):
        for rep in ("contract_expiry", "gdpr_coverage"):
            env.sql(f"INSERT INTO runs (report, org_id, trigger_kind, as_of, params, status) "
                    f"VALUES ('{rep}', {org}, 'cli', '2026-11-26', '{{}}', 'succeeded')")
            run = int(env.scalar("SELECT MAX(id) FROM runs"))
            env.sql(f"INSERT INTO outbox (run_id, org_id, recipient, kind, subject, message_id, mail_from, mime, "
                    f"items, status) SELECT {run}, {org}, CONCAT('owner:', p.id), 'owner', '{rep}', "
                    f"CONCAT('m.{run}.', p.id, '@test'), 'overblik@kommune.test', '', 2, 'pending' "
                    f"FROM people p WHERE p.org_id = {org} ORDER BY p.id")
            env.sql(f"INSERT INTO outbox (run_id, org_id, recipient, kind, subject, message_id, mail_from, mime, "
                    f"items, status) VALUES ({run}, {org}, 'asg', 'role', '{rep}', 'm.{run}.asg@test', "
                    f"'overblik@kommune.test', '', 2, 'pending')")
            env.sql(f"INSERT INTO outbox_rcpts (message, seq, email, name) "
                    f"SELECT o.id, 1, p.email, p.name FROM outbox o JOIN people p "
                    f"ON o.recipient = CONCAT('owner:', p.id) WHERE o.run_id = {run}")
            env.sql(f"INSERT INTO outbox_rcpts (message, seq, email, name) SELECT id, 1, 'asg@kommune.test', "
                    f"'ASG' FROM outbox WHERE run_id = {run} AND recipient = 'asg'")
            for seq in (1, 2):
                env.sql(f"INSERT INTO outbox_items (message, seq, org_id, dedupe_rcpt, dedupe_key, live_key, "
                        f"template, kv) SELECT id, {seq}, {org}, recipient, CONCAT('k{run}.{seq}'), "
                        f"CONCAT('k{run}.{seq}'), 'notify/item', "
                        f"CONCAT('{{\"system\": \"Kontrakt ', recipient, ' {rep} {seq}\", \"due\": \"1. december\"}}') "
                        f"FROM outbox WHERE run_id = {run}")
        # IT support's list of owners without an address: two owners' items
        env.sql(f"INSERT INTO outbox (run_id, org_id, recipient, kind, subject, message_id, mail_from, mime, "
                f"items, status) VALUES ({run}, {org}, 'it_support', 'no_email', 'gdpr_coverage', "
                f"'m.{run}.its@test', 'overblik@kommune.test', '', 2, 'pending')")
        env.sql(f"INSERT INTO outbox_rcpts (message, seq, email, name) SELECT id, 1, 'its@kommune.test', 'IT' "
                f"FROM outbox WHERE message_id = 'm.{run}.its@test'")
        for seq, person in ((1, people[org][0]), (2, people[org][1])):
            env.sql(f"INSERT INTO outbox_items (message, seq, org_id, dedupe_rcpt, dedupe_key, live_key, template, "
                    f"kv) SELECT id, {seq}, {org}, 'owner:{person}', 'no_email:x{seq}', 'no_email:x{seq}', "
                    f"'notify/item', '{{\"system\": \"Uden adresse {org} {seq}\", \"due\": \"1. december\"}}' "
                    f"FROM outbox WHERE message_id = 'm.{run}.its@test'")
    return people


def message(env, where):
    """The queued message WHERE ... as an email.message."""
    raw = bytes.fromhex(env.scalar(f"SELECT HEX(mime) FROM outbox WHERE status = 'queued' AND {where}"))
    return email.message_from_bytes(raw, policy=email.policy.default)


def pending_of(env, org, person):
    return int(env.scalar(f"SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND org_id = {org} "
                          f"AND recipient = 'owner:{person}'"))


def queued_of(env, org, person):
    return int(env.scalar(f"SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND org_id = {org} "
                          f"AND recipient = 'owner:{person}'"))


def test_batches():
    mail = {"from": FROM, "roles": ROLES, "digest_at": "0 3 1 1 *"}
    with Env("digest_batch", config={"mail": mail}) as env:
        env.start_db()
        r = env.run("migrate")
        eq(r.returncode, 0, "migrate", r.stderr)
        people = seed(env)
        groups = 2 * (N + 2)  # per organisation: the owners, asg, it_support
        total_items = int(env.scalar("SELECT COUNT(*) FROM outbox_items"))
        eq(total_items, 2 * (2 * 2 * (N + 1) + 2), "the items are seeded")

        # 1. A template missing for one owner of organisation 2, in its second batch.
        first_bad = B + 49  # in organisation 2's second batch
        bad = people[2][first_bad]
        env.sql(f"UPDATE outbox_items i JOIN outbox o ON o.id = i.message SET i.template = '{BAD_TEMPLATE}' "
                f"WHERE o.recipient = 'owner:{bad}' AND o.org_id = 2 AND i.seq = 2")
        r = env.run("outbox", "compose")
        ok(r.returncode != 0, "a digest that cannot be rendered fails the compose", r.stdout + r.stderr)
        ok(f"mail digest to owner:{bad} (owner, organisation 2)" in r.stderr,
           "the error names the recipient and the organisation", r.stderr)
        ok("no_such_template" in r.stderr, "and what failed (the template)", r.stderr)
        ok("SELECT" not in r.stderr and "INSERT" not in r.stderr, "and shows no SQL", r.stderr)
        eq([p for p in people[1] if queued_of(env, 1, p) != 1], [],
           "organisation 1's owners (composed before) have their digests")
        eq(int(env.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND org_id = 1")), 0,
           "nothing of organisation 1 is left pending")
        eq([p for p in people[2][:first_bad] if queued_of(env, 2, p) != 1], [],
           "organisation 2's owners before it (its first batch and its own batch) have theirs")
        eq([p for p in people[2][first_bad:] if pending_of(env, 2, p) != 2 or queued_of(env, 2, p) != 0], [],
           "it and the owners after it are untouched: both pending messages each, no digest")
        env.sql(f"UPDATE outbox_items SET template = 'notify/item' WHERE template = '{BAD_TEMPLATE}'")

        # 2. The database refuses one recipient while a batch is written: that batch, and only it, rolls back.
        # the next compose: a batch of B owners from the one that failed, then the rest, asg, it_support
        second = first_bad + B
        refused = people[2][second + 10]
        env.sql("DELIMITER //\nCREATE TRIGGER t_refuse BEFORE INSERT ON outbox_rcpts FOR EACH ROW "
                f"IF NEW.email = 'p2_{second + 11}@kommune.test' THEN "
                "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF//")
        r = env.run("outbox", "compose")
        ok(r.returncode != 0, "a batch the database refuses fails the compose", r.stdout + r.stderr)
        ok("refused by the test" in r.stderr and "organisation 2" in r.stderr and f"owner:{people[2][second]}" in r.stderr,
           "the error says why and names the organisation and the batch's first recipient", r.stderr)
        eq([p for p in people[2][first_bad:second] if queued_of(env, 2, p) != 1 or pending_of(env, 2, p) != 0], [],
           "the batch before it is composed")
        eq([p for p in people[2][second:] if pending_of(env, 2, p) != 2 or queued_of(env, 2, p) != 0], [],
           "every recipient of the refused batch is still pending, none has a digest (the whole batch rolled back)")
        ok(refused in people[2][second:], "the refused owner was in that batch")
        eq(env.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND org_id = 2 "
                      "AND recipient IN ('asg', 'it_support')"), "3", "and so are the roles' of organisation 2")
        env.sql("DROP TRIGGER t_refuse")

        # 3. The next compose finishes the rest, nothing twice, nothing across organisations.
        r = env.run("outbox", "compose")
        eq(r.returncode, 0, "the next compose succeeds", r.stderr)
        ok(f"composed {N - second + 2} messages" in r.stdout, "it composes the rest", r.stdout)
        eq(env.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"), "0", "nothing is left pending")
        rows = env.sql("SELECT org_id, recipient, COUNT(*) FROM outbox WHERE status = 'queued' "
                       "GROUP BY org_id, recipient")
        eq(len(rows), groups, f"one digest per organisation and recipient ({groups})")
        eq([x for x in rows if x[2] != "1"], [], "none has two")
        eq(env.scalar("SELECT COUNT(*) FROM outbox_items"), str(total_items), "no item is lost")
        eq(env.scalar("SELECT COUNT(*) FROM outbox_items i JOIN outbox o ON o.id = i.message "
                      "WHERE o.status = 'queued'"), str(total_items), "every item is in a digest")
        eq(env.scalar("SELECT COUNT(*) FROM outbox_items i JOIN outbox o ON o.id = i.message "
                      "WHERE i.org_id <> o.org_id"), "0", "no item is in another organisation's digest")
        eq(env.scalar("SELECT COUNT(*) FROM outbox_items i JOIN outbox o ON o.id = i.message "
                      "WHERE o.kind = 'owner' AND i.dedupe_rcpt <> o.recipient"), "0",
           "an owner's digest holds only the owner's items")
        eq(env.scalar("SELECT SUM(items) FROM outbox WHERE status = 'queued'"), str(total_items),
           "the digests count their items")
        seqs = env.sql("SELECT message, COUNT(*), MIN(seq), MAX(seq) FROM outbox_items GROUP BY message")
        eq([s for s in seqs if s[2] != "1" or s[3] != s[1]], [], "each digest's items are numbered 1..n")
        eq(env.scalar("SELECT COUNT(*) FROM outbox_rcpts r JOIN outbox o ON o.id = r.message "
                      "WHERE o.kind = 'owner' AND r.email <> (SELECT email FROM people p "
                      "WHERE CONCAT('owner:', p.id) = o.recipient)"), "0",
           "each owner's digest goes to the owner's address")
        # The texts: an owner of each organisation, and organisation 2's IT support list.
        for org, person in ((1, people[1][5]), (2, people[2][N - 5])):
            mid = env.scalar(f"SELECT id FROM outbox WHERE org_id = {org} AND recipient = 'owner:{person}'")
            msg = message(env, f"id = {mid}")
            text = msg.get_body(("plain",)).get_content()
            ok(f"Kontrakt owner:{person} contract_expiry 1" in text and
               f"Kontrakt owner:{person} gdpr_coverage 2" in text,
               f"organisation {org}: the owner's digest lists its items of both reports", text[:1500])
            ok("Kontrakt owner:" + str(people[3 - org][5]) not in text, "and none of the other organisation's")
            eq(msg["To"].addresses[0].addr_spec, f"p{org}_{person - people[org][0] + 1}@kommune.test",
               f"organisation {org}: to the owner")
        text = message(env, "org_id = 2 AND recipient = 'it_support'").get_body(("plain",)).get_content()
        ok("Uden adresse 2 1" in text and f"Ejer 2-1" in text and "Ejer 2-2" in text and "Uden adresse 1" not in text,
           "IT support's list names organisation 2's owners without an address, and only those", text[:1500])
        r = env.run("outbox", "compose")
        ok(r.returncode == 0 and "composed 0 messages" in r.stdout, "a compose after it has nothing", r.stdout)


def test_runs_partly_mailed_before():
    with Env("digest_partial") as env:
        seed_one(env, owners=3, systems_per_owner=2)  # owner i has systems 2i-1 and 2i
        write_config(env.config, env, mail_config(free_port(), digest_at="0 3 1 1 *"))

        def run(limit):
            r = env.run("run", "notify", "--as-of", AS_OF, "--param", f"limit={limit}", "--param", "key=K",
                        "--param", "roles=asg")
            eq(r.returncode, 0, f"notify limit={limit} runs", r.stdout + r.stderr)
            return r, int(env.scalar("SELECT MAX(id) FROM runs"))

        def pending(run_id):
            return env.sql(f"SELECT o.recipient, o.items, (SELECT COUNT(*) FROM outbox_items i WHERE i.message = o.id) "
                           f"FROM outbox o WHERE o.run_id = {run_id} AND o.status = 'pending' ORDER BY o.recipient")

        r, run1 = run(3)
        eq(pending(run1), [["asg", "1", "1"], ["owner:1", "2", "2"], ["owner:2", "1", "1"]],
           "the first run: systems 1-3 pending for their owners, the briefing for asg")
        r, run2 = run(6)
        eq(pending(run2), [["owner:2", "1", "1"], ["owner:3", "2", "2"]],
           "the second run: owner 1 (all mailed before) and asg get no message, owner 2 one item of two")
        ok("4 items mailed before" in r.stderr, "it counts the 4 items mailed before", r.stderr)
        eq(env.scalar("SELECT COUNT(*) FROM outbox_rcpts r JOIN outbox o ON o.id = r.message "
                      f"WHERE o.run_id = {run2}"), "2", "its messages have their recipients, one each")
        eq(env.scalar("SELECT COUNT(*) FROM outbox_items WHERE live_key LIKE 'notify:system:%'"), "6",
           "each system's key is held once")
        r = env.run("outbox", "compose")
        eq(r.returncode, 0, "compose", r.stderr)
        eq(env.sql("SELECT recipient, items FROM outbox WHERE status = 'queued' ORDER BY recipient"),
           [["asg", "1"], ["owner:1", "2"], ["owner:2", "2"], ["owner:3", "2"]],
           "the digest: one message each, with every item of both runs")


run_tests(test_batches, test_runs_partly_mailed_before)
