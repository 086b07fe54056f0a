#!/usr/bin/python3
"""The database layer against a real private mariadbd: migrations from empty
and again, a newer schema refused, the managed server's life cycle (first
start, reuse, stale pid file after a crash, one server per data directory,
stopped when the last user exits), an unreachable server named, and config
errors named by file and JSON pointer."""

import glob
import json
import os
import signal
import socket
import subprocess
import time

import obtest
from obtest import Env, ok, eq, run_tests, OVERBLIK, OVERBLIKD

# Every migration in core/sql (a file left out of MIGRATIONS in Makefile.am
# is missed by migrate, and this test says so).
MIGRATIONS = [[str(int(n.split("_")[0])), n] for n in
              sorted(os.path.basename(f)[:-4] for f in glob.glob(os.path.join(obtest.TOP_SRCDIR, "core", "sql", "*.sql")))]
LAST = len(MIGRATIONS)
VERSION = MIGRATIONS[-1][0]


def servers_on(datadir):
    """mariadbd processes whose command line names this data directory."""
    out = subprocess.run(["pgrep", "-f", "--", f"--datadir={datadir}"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def schema(env):
    tables = [r[0] for r in env.sql("SHOW TABLES")]
    return {t: env.sql(f"SHOW CREATE TABLE {t}")[0][1] for t in tables}


def test_migrate_from_empty_and_again():
    with Env("migrate") as env:
        r = env.run("migrate")
        ok(r.returncode == 0, "migrate on an empty database exits 0", r.stderr)
        ok(f"schema at version {VERSION}: {LAST} migrations applied" in r.stdout,
           f"migrate says it applied migrations 1 to {VERSION}", r.stdout + r.stderr)
        ok(all(m[1] in r.stderr for m in MIGRATIONS), "migrate logs each migration it applies", r.stderr)
        env.start_db()
        tables = set(x[0] for x in env.sql("SHOW TABLES"))
        for t in ["organisations", "org_units", "people", "systems", "contracts", "contract_systems",
                  "data_processing", "gdpr_assessments", "incidents", "future_pictures", "target_pictures",
                  "target_actions", "target_action_systems", "shared_solutions", "shared_solution_maturity",
                  "schema_migrations", "runs", "run_files", "run_notices", "schedule_fires",
                  "outbox", "outbox_rcpts", "outbox_items"]:
            ok(t in tables, f"table {t} exists")
        eq(env.sql("SELECT version, name FROM schema_migrations ORDER BY version"),
           MIGRATIONS,
           "schema_migrations records each migration once")
        engines = env.sql("SELECT DISTINCT engine, table_collation FROM information_schema.tables "
                          "WHERE table_schema = 'overblik'")
        eq(engines, [["InnoDB", "utf8mb4_unicode_ci"]], "every table is InnoDB and utf8mb4")
        fks = int(env.scalar("SELECT COUNT(*) FROM information_schema.referential_constraints "
                             "WHERE constraint_schema = 'overblik'"))
        ok(fks >= 20, f"foreign keys are declared ({fks})")
        before = schema(env)
        r = env.run("migrate")
        ok(r.returncode == 0 and "0 migrations applied" in r.stdout, "a second migrate applies nothing",
           r.stdout + r.stderr)
        eq(schema(env), before, "a second migrate changes no table")
        eq(env.scalar("SELECT COUNT(*) FROM schema_migrations"), str(LAST), f"still {LAST} migrations recorded")


def test_newer_database_refused():
    with Env("newer") as env:
        env.start_db()
        env.run("migrate")
        env.sql("INSERT INTO schema_migrations (version, name) VALUES (77, '077_from_the_future')")
        r = env.run("migrate")
        ok(r.returncode == 1, "migrate against a newer schema exits 1", r.stdout + r.stderr)
        ok(f"version 77 (077_from_the_future), newer than this overblik knows ({VERSION})" in r.stderr,
           "the error names both versions", r.stderr)
        r = env.run("summary")
        ok(r.returncode == 1 and "newer than this overblik" in r.stderr,
           "other commands refuse it too (migrations run at start)", r.stderr)


def test_first_start_creates_datadir_and_second_reuses():
    with Env("firststart", seed_datadir=False) as env:
        datadir = os.path.join(env.state, "db", "data")
        r = env.run("migrate")
        ok(r.returncode == 0, "migrate with no data directory exits 0", r.stderr)
        ok("creating the data directory" in r.stderr, "the first start runs mariadb-install-db", r.stderr)
        ok(os.path.isdir(os.path.join(datadir, "mysql")), "the data directory exists afterwards")
        eq(servers_on(datadir), [], "the server is stopped when the command exits")
        ok(not os.path.exists(env.socket), "no socket is left behind")
        r = env.run("migrate")
        ok(r.returncode == 0 and "creating the data directory" not in r.stderr,
           "the second start reuses the data directory", r.stderr)
        ok("0 migrations applied" in r.stdout, "and finds its schema there", r.stdout)


def test_stale_server_after_crash():
    with Env("stale") as env:
        env.start_db()
        env.run("migrate")
        datadir = os.path.join(env.state, "db", "data")
        pids = servers_on(datadir)
        eq(len(pids), 1, "one server runs on the data directory")
        os.kill(pids[0], signal.SIGKILL)
        for _ in range(200):  # until it is gone or a zombie nobody reaps
            try:
                with open(f"/proc/{pids[0]}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] in "ZX":
                        break
            except OSError:
                break
            time.sleep(0.05)
        ok(os.path.exists(os.path.join(env.state, "db", "mysqld.pid")), "the crash left its pid file")
        r = env.run("migrate")
        ok(r.returncode == 0, "the next command starts a new server", r.stderr)
        ok("stale" in r.stderr, "and says it removed the stale pid file and socket", r.stderr)
        ok("0 migrations applied" in r.stdout, "the data survived the crash", r.stdout)


def test_one_server_per_datadir():
    with Env("oneserver") as env:
        env.start_db()
        datadir = os.path.join(env.state, "db", "data")
        first = servers_on(datadir)
        procs = [subprocess.Popen([OVERBLIK, "-c", env.config, "migrate"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        outs = [p.communicate(timeout=120) for p in procs]
        ok(all(p.returncode == 0 for p in procs), "four commands at once all succeed",
           "\n".join(o[1] for o in outs))
        eq(servers_on(datadir), first, "they all used the one running server")
        r = env.run("db", "status")
        ok(r.returncode == 0 and "running" in r.stdout, "db status says it runs", r.stdout)
    with Env("racestart") as env:
        datadir = os.path.join(env.state, "db", "data")
        procs = [subprocess.Popen([OVERBLIK, "-c", env.config, "summary"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
        outs = [p.communicate(timeout=120) for p in procs]
        ok(all(p.returncode == 0 for p in procs), "three commands racing to start the server succeed",
           "\n".join(o[1] for o in outs))
        starts = sum(o[1].count("starting") for o in outs)
        eq(starts, 1, "exactly one of them started a server")
        eq(servers_on(datadir), [], "and the last one out stopped it")


def test_unreachable_server_named():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with Env("unreach", {"database": {"host": "127.0.0.1", "port": port, "user": "overblik",
                                      "connect_timeout": 3}}, seed_datadir=False) as env:
        r = env.run("migrate")
        eq(r.returncode, 1, "migrate against a closed port exits 1")
        ok(f"127.0.0.1:{port}" in r.stderr, "the error names the address", r.stderr)
        ok("Can't connect" in r.stderr, "the error carries the server's message", r.stderr)
        ok("check that the server runs" in r.stderr and "/database" in r.stderr,
           "the error says what to check", r.stderr)


def test_config_errors():
    with Env("config") as env:
        cases = [
            ({"databse": {}}, "/databse: unknown key"),
            ({"database": {"port": "3306", "host": "x", "user": "u"}},
             "/database/port: expected an integer from 1 to 65535"),
            ({"database": {"managed": True, "host": "db"}}, "/database/managed: true, but host"),
            ({"log_level": "loud"}, "/log_level: \"loud\": expected error, warning"),
            ({"import": {"owner_role": 3}}, "/import/owner_role: expected a non-empty string"),
        ]
        for cfg, want in cases:
            path = os.path.join(env.dir, "bad.json")
            with open(path, "w") as f:
                import json
                json.dump(cfg, f)
            r = subprocess.run([OVERBLIK, "check-config", path], capture_output=True, text=True)
            ok(r.returncode == 1 and f"{path}: {want}" in r.stderr, f"check-config names {want.split(':')[0]}",
               r.stderr)
        path = os.path.join(env.dir, "syntax.json")
        with open(path, "w") as f:
            f.write('{\n  "state_dir": "var",\n  "log_level" "info"\n}\n')
        r = subprocess.run([OVERBLIK, "-c", path, "migrate"], capture_output=True, text=True)
        ok(r.returncode == 1 and f"{path}:3:" in r.stderr, "a JSON syntax error names file and line",
           r.stderr)
        r = subprocess.run([OVERBLIK, "-c", os.path.join(env.dir, "missing.json"), "migrate"],
                           capture_output=True, text=True)
        ok(r.returncode == 1 and "missing.json: cannot read" in r.stderr,
           "a missing -c file is an error, not the defaults", r.stderr)
        r = subprocess.run([OVERBLIK, "check-config", env.config], capture_output=True, text=True)
        ok(r.returncode == 0 and "ok" in r.stdout, "a good config checks ok", r.stderr)
        path = os.path.join(env.dir, "elsewhere.json")
        with open(path, "w") as f:
            f.write('{"plugin_dir": "/nonexistent/plugins"}')
        r = subprocess.run([OVERBLIK, "check-config", path], capture_output=True, text=True)
        ok(r.returncode == 0 and "ok" in r.stdout and "warning: /plugin_dir: /nonexistent/plugins: No such file"
           in r.stderr and "no report can run" in r.stderr,
           "check-config accepts a plugin_dir that is not here, with a warning", r.stdout + r.stderr)
        # Report settings against what the plugin declares (tests/plugins/echo.c).
        plugins = os.path.join(obtest.TOP_BUILDDIR, "tests/plugins/.libs")
        for settings, want in [({"greeting": 5}, "/reports/echo/settings/greeting: expected a string"),
                               ({"greeting": "x" * 201}, "/reports/echo/settings/greeting: at most 200 characters"),
                               ({"greetings": "Hej"},
                                "/reports/echo/settings/greetings: echo has no such setting; it has greeting, new_setting")]:
            path = os.path.join(env.dir, "settings.json")
            with open(path, "w") as f:
                json.dump({"plugin_dir": plugins, "reports": {"echo": {"settings": settings}}}, f)
            r = subprocess.run([OVERBLIK, "check-config", path], capture_output=True, text=True)
            ok(r.returncode == 1 and f"{path}: {want}" in r.stderr, f"check-config refuses a report setting: {want}",
               r.stdout + r.stderr)
        with open(path, "w") as f:
            json.dump({"plugin_dir": plugins, "reports": {"echo": {"settings": {"greeting": "Hej"}},
                                                          "nosuch": {"settings": {"a": 1}}}}, f)
        r = subprocess.run([OVERBLIK, "check-config", path], capture_output=True, text=True)
        ok(r.returncode == 0 and "ok" in r.stdout and "warning: /reports/nosuch: no plugin nosuch.so" in r.stderr,
           "check-config accepts good settings, and warns of a report without its plugin", r.stdout + r.stderr)
        # What a careless operator writes (issue 9): refused by check-config, naming where.
        sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        texts = [
            ('{"max_runs": 2, "max_runs": 64}', ":1:17: JSON syntax error: duplicate key \"max_runs\""),
            ('{"max_runs": 2}\n{"max_runs": 3}\n', ":2:1: JSON syntax error: data after the JSON value"),
            ('{"state_dir": "var\\u0000x"}', ":1:19: JSON syntax error: \\u0000 (NUL) in a string"),
            ('{"reports": {"echo": {"schedule": "* * 31 2 *"}}}',
             ': /reports/echo/schedule: "* * 31 2 *" never fires: February has no day 31'),
            ('{"http": {"tokens": [{"sha256": "%s", "role": "viewer"}, {"sha256": "%s", "role": "operator"}]}}'
             % (sha, sha), ": /http/tokens/1/sha256: the same token as /http/tokens/0"),
            ('{"template_dir": "%s"}' % ("x" * (1 << 20)), ": /template_dir: a string of 1048576 bytes; at most 4095"),
        ]
        for text, want in texts:
            path = os.path.join(env.dir, "careless.json")
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run([OVERBLIK, "check-config", path], capture_output=True, text=True)
            ok(r.returncode == 1 and f"{path}{want}" in r.stderr and len(r.stderr) < 1000,
               f"check-config refuses: {want.split(': ', 1)[1][:60]}", r.stderr[:2000])


def test_help():
    r = subprocess.run([OVERBLIK, "--help"], capture_output=True, text=True)
    ok(r.returncode == 0 and "import kitos" in r.stdout and "-c, --config FILE" in r.stdout,
       "overblik --help lists the commands and -c", r.stdout)
    r = subprocess.run([OVERBLIK, "frobnicate"], capture_output=True, text=True)
    ok(r.returncode == 2 and "unknown command 'frobnicate'" in r.stderr, "an unknown command is a usage error",
       r.stderr)
    r = subprocess.run([OVERBLIKD, "--help"], capture_output=True, text=True)
    ok(r.returncode == 0 and "SIGTERM" in r.stdout, "overblikd --help documents its signals", r.stdout)


run_tests(test_migrate_from_empty_and_again, test_newer_database_refused,
          test_first_start_creates_datadir_and_second_reuses, test_stale_server_after_crash,
          test_one_server_per_datadir, test_unreachable_server_named, test_config_errors, test_help)
