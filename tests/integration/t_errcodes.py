#!/usr/bin/python3
"""Errors told apart by their code, not their text (issue 14): struct
ob_err carries the MariaDB error number db.c had, and run.c and the outbox
test it. Triggers in the private mariadbd raise the server's errors with a
message that names none of the words the old code looked for, so the tests
fail where the text, not the number, decides; the notify.so fixture plugin
makes the mail, written as .eml files."""

import os
import subprocess

import obtest
from obtest import Env, ok, eq, run_tests
from t_mail import seed, mail_config, outbox, AS_OF
from t_server import free_port, write_config


def sql_script(env, script):
    """Runs a script with DELIMITER lines (triggers) through the client."""
    r = subprocess.run([obtest.MARIADB, "--no-defaults", "-S", env.socket, "-u",
                        "root" if os.geteuid() == 0 else os.environ.get("USER", ""), "overblik"],
                       input=script, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"mariadb: {script}: {r.stderr}")


def raise_once(env, name, table, event, errno, sqlstate, text):
    """A trigger that fails the first matching statement with errno (its
    count kept in a non-transactional table: a rollback keeps it)."""
    sql_script(env, f"""CREATE TABLE IF NOT EXISTS fired (name VARCHAR(64)) ENGINE=MyISAM;
DELIMITER //
CREATE TRIGGER {name} {event} ON {table} FOR EACH ROW
BEGIN
  IF (SELECT COUNT(*) FROM fired WHERE fired.name = '{name}') = 0 THEN
    INSERT INTO fired VALUES ('{name}');
    SIGNAL SQLSTATE '{sqlstate}' SET MYSQL_ERRNO = {errno}, MESSAGE_TEXT = '{text}';
  END IF;
END//
DELIMITER ;
""")


def notify_env(env):
    """One organisation with an owner; mail as .eml files."""
    seed(env, owners=1)
    write_config(env.config, env, mail_config(free_port()))


def test_run_deadlock_by_number():
    """A run whose recording meets errno 1213 (whatever its text) tries again."""
    with Env("err-deadlock") as env:
        notify_env(env)
        raise_once(env, "dl", "run_notices", "BEFORE INSERT", 1213, "40001", "chosen as the victim (test)")
        r = env.run("run", "notify", "--as-of", AS_OF)
        eq(r.returncode, 0, "the run succeeds on its second try", r.stderr)
        ok("recording met another run's lock (database: chosen as the victim (test)" in r.stderr,
           "after saying it met a lock and tries again", r.stderr)
        eq(env.scalar("SELECT COUNT(*) FROM fired"), "1", "the trigger fired once")
        eq(env.scalar("SELECT status FROM runs ORDER BY id DESC LIMIT 1"), "succeeded", "recorded succeeded")
        ok(len(outbox(env)) >= 1, "with its mail", outbox(env))


def test_run_other_error_not_retried():
    """Another server error (1644, a plain SIGNAL) is not tried again: the run fails with it."""
    with Env("err-other") as env:
        notify_env(env)
        raise_once(env, "other", "run_notices", "BEFORE INSERT", 1644, "45000", "Deadlock in the text only")
        r = env.run("run", "notify", "--as-of", AS_OF)
        ok(r.returncode != 0, "the run fails", r.stderr)
        ok("trying again" not in r.stderr and "cannot record its result: database: Deadlock in the text only" in r.stderr,
           "at once, naming the error: the word Deadlock alone decides nothing", r.stderr)
        eq(outbox(env), [], "no mail")


def test_run_ended_meanwhile():
    """A run that overblikd ended meanwhile keeps nothing (OB_E_RUN_GONE)."""
    with Env("err-gone") as env:
        notify_env(env)
        env.sql("CREATE TRIGGER gone AFTER INSERT ON run_notices FOR EACH ROW "
                "UPDATE runs SET status = 'timeout', error = 'ended by the test' WHERE id = NEW.run_id")
        r = env.run("run", "notify", "--as-of", AS_OF)
        ok(r.returncode != 0, "the run fails", r.stderr)
        ok("is no longer running (ended by overblikd meanwhile): nothing of it is kept" in r.stderr,
           "saying it was ended meanwhile", r.stderr)
        ok("cannot record its result" not in r.stderr, "not as a failure to record", r.stderr)
        eq(outbox(env), [], "no mail")


def test_delivery_lock_wait_by_number():
    """Recording a delivery that meets errno 1205 (whatever its text) tries again."""
    with Env("err-lockwait") as env:
        notify_env(env)
        r = env.run("run", "notify", "--as-of", AS_OF)
        eq(r.returncode, 0, "the run succeeds", r.stderr)
        raise_once(env, "lw", "outbox_rcpts", "BEFORE UPDATE", 1205, "HY000", "waited too long (test)")
        r = env.run("outbox", "flush")
        eq(r.returncode, 0, "flush succeeds", r.stdout + r.stderr)
        ok("recording met database: waited too long (test)" in r.stderr and "trying again" in r.stderr,
           "after trying the record again", r.stderr)
        eq(sorted(set(x[2] for x in outbox(env))), ["sent"], "every message is sent", outbox(env))


def test_retry_taken_key():
    """Retrying a dead message whose items went out with a later one is
    refused, naming that one (the unique key's 1062, OB_E_DUPLICATE)."""
    with Env("err-dup") as env:
        notify_env(env)
        eq(env.run("run", "notify", "--as-of", AS_OF).returncode, 0, "a run")
        first = outbox(env)
        env.sql("UPDATE outbox SET status = 'dead'; UPDATE outbox_items SET live_key = NULL")
        eq(env.run("run", "notify", "--as-of", AS_OF).returncode, 0, "a second run mails the freed keys again")
        later = [x for x in outbox(env) if x not in first and x[0] not in [f[0] for f in first]]
        ok(len(later) == len(first), "as new messages", outbox(env))
        r = env.run("outbox", "retry", first[0][0])
        ok(r.returncode != 0, "retrying the first dead one is refused", r.stdout + r.stderr)
        ok(f"its items went out again with outbox {later[0][0]}; retrying it would send them twice" in r.stderr,
           "naming the message that has its items", r.stderr)
        eq(env.scalar(f"SELECT status FROM outbox WHERE id = {first[0][0]}"), "dead", "it stays dead")


run_tests(test_run_deadlock_by_number, test_run_other_error_not_retried, test_run_ended_meanwhile,
          test_delivery_lock_wait_by_number, test_retry_taken_key)
