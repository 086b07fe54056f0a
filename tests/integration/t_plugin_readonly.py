#!/usr/bin/python3
"""A plugin reads the portfolio and cannot change it: its queries run in a
read-only transaction and must be single SELECT or WITH statements
(tests/plugins/readonly.c tries every way to write it knows)."""

import os

import obtest
from obtest import Env, eq, ok, run_tests

PLUGIN_DIR = os.path.join(obtest.TOP_BUILDDIR, "tests/plugins/readonly/.libs")
DEMO = os.path.join(obtest.TOP_SRCDIR, "..", "shared", "kitos", "fixtures")


def test_plugin_cannot_write():
    with Env("readonly", {"plugin_dir": PLUGIN_DIR}) as env:
        r = env.run("demo-data", os.path.join(env.dir, "demo"))
        ok(r.returncode == 0, "demo data generated", r.stderr)
        kitos = os.path.join(env.dir, "demo", "kitos")
        files = sorted(os.path.join(kitos, f) for f in os.listdir(kitos)) if os.path.isdir(kitos) else []
        env.start_db()
        r = env.run("import", "kitos", *files)
        ok(r.returncode == 0, "the demo municipality imported", r.stderr)
        env.sql("DELIMITER //\nCREATE FUNCTION ob_test_write() RETURNS INT MODIFIES SQL DATA "
                "BEGIN DELETE FROM contract_systems; DELETE FROM contracts; RETURN 1; END //")
        before = obtest.portfolio_snapshot(env)
        ok(len(before["systems"]) > 300, "it has its systems", len(before["systems"]))
        leak = "/tmp/ob-readonly-leak"
        if os.path.exists(leak):
            os.unlink(leak)
        r = env.run("run", "readonly", "--as-of", "2026-11-26")
        eq(r.returncode, 0, "the run succeeds: every write was refused and the read worked", r.stdout + r.stderr)
        log = r.stdout + r.stderr
        ok("got through" not in log.replace("0 writes got through", ""), "no write got through", log)
        ok(f"read {len(before['systems'])} systems" in log, "a SELECT still reads the portfolio", log)
        for why in ("must start with SELECT or WITH", "may not read or write the database server's files"):
            ok(why in log, f"refusals are logged: {why}", log)
        ok(any("READ ONLY transaction" in line and "ob_test_write" in line for line in log.splitlines()),
           "the database's read-only transaction refuses what passes the check (a function that deletes)", log)
        eq(obtest.portfolio_snapshot(env), before, "the portfolio is unchanged")
        ok(not os.path.exists(leak), "no file written by the database server")


run_tests(test_plugin_cannot_write)
