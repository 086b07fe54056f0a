#!/usr/bin/python3
"""overblikd under faults (issue 9), against a real private mariadbd:
plugins that exit, crash or hang while they load are refused by name and the
rest load; the inventory runs off the loop (the endpoint answers while a
plugin hangs, at start and on SIGHUP); a job on the database thread that
began under the old configuration keeps it alive through SIGHUP; SIGHUP
refuses a state_dir that does not exist; /healthz reports a database outage
while the managed mariadbd is started again, and the killed one is reaped;
a run that fails after writing files leaves none behind."""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import obtest
from obtest import Env, ok, eq, run_tests, OVERBLIKD
from t_server import (PLUGIN_DIR, VIEWER, OPERATOR, Server, base_config, free_port, request, parse_metrics,
                      write_config, wait_for)

LOADFAIL_DIR = os.path.join(obtest.TOP_BUILDDIR, "tests/plugins/loadfail/.libs")
INVENTORY_TIMEOUT = 20  # plugin.c: a plugin that has not loaded by then is refused


def plugin_dir(env, good, bad):
    """A plugin_dir of its own with the good fixtures and the bad ones."""
    d = os.path.join(env.dir, "plugins")
    os.makedirs(d, exist_ok=True)
    for name in good:
        shutil.copy(os.path.join(PLUGIN_DIR, name + ".so"), d)
    for name in bad:
        src = os.path.join(LOADFAIL_DIR, name + ".so")
        if not os.path.exists(src):
            src = os.path.join(PLUGIN_DIR, name + ".so")
        shutil.copy(src, d)
    return d


def label(v):
    """A Prometheus label value unescaped (\\\\, \\", \\n), as a scraper reads it."""
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def refused_lines(text):
    """{file: reason} of /metrics' overblik_plugin_refused lines, unescaped."""
    return {label(m.group(1)): label(m.group(2))
            for m in re.finditer(r'^overblik_plugin_refused\{file="((?:[^"\\]|\\.)*)",reason="((?:[^"\\]|\\.)*)"\} 1$',
                                 text, re.M)}


def start_raw(env, port, name="overblikd"):
    """Starts overblikd without waiting for anything."""
    srv = Server(env, port, name=name)
    srv.logf = open(srv.logpath, "ab")
    srv.proc = subprocess.Popen([OVERBLIKD, "-c", env.config], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=srv.logf)
    return srv


def probe_health(port, seconds, step=0.1):
    """GET /healthz every step for seconds: [(elapsed, status or error)]."""
    out = []
    end = time.time() + seconds
    while time.time() < end:
        t0 = time.time()
        try:
            st = request(port, "GET", "/healthz", timeout=3).status
        except OSError as e:
            st = type(e).__name__
        out.append((round(time.time() - t0, 3), st))
        time.sleep(step)
    return out


# ---- point 2: a plugin that exits, crashes or dies while loading ----

def test_plugins_that_end_the_inventory():
    with Env("loaddeath") as env:
        env.start_db()
        port = free_port()
        bad = ["abi_future", "ctor_crash", "ctor_exit", "ctor_exit0"]
        good = ["echo", "fails"]
        d = plugin_dir(env, good, bad)
        write_config(env.config, env, base_config(port, plugin_dir=d))
        srv = Server(env, port)
        try:
            srv.start()
            ok(wait_for(lambda: "plugins_loaded" in srv.metrics_text()
                        and srv.metrics().get("overblik_plugins_loaded", 0) > 0, 30),
               "the inventory finishes", srv.log())
            text = srv.metrics_text()
            m = parse_metrics(text)
            eq(m.get("overblik_plugins_loaded"), 2.0, "/metrics: the two good plugins are loaded", text)
            eq(m.get("overblik_plugin_load_failures"), 4.0, "/metrics: four plugins refused", text)
            ref = refused_lines(text)
            eq(sorted(ref), sorted(b + ".so" for b in bad), "/metrics: each bad file is named", text)
            ok("exit" in ref.get("ctor_exit.so", "") and "status 1" in ref.get("ctor_exit.so", ""),
               "/metrics: ctor_exit.so is refused for ending the process with status 1", ref)
            ok("exit" in ref.get("ctor_exit0.so", "") and "status 0" in ref.get("ctor_exit0.so", ""),
               "/metrics: ctor_exit0.so is refused for ending the process with status 0", ref)
            ok(re.search(r"Segmentation|SIGSEGV|status 1", ref.get("ctor_crash.so", "")) is not None,
               "/metrics: ctor_crash.so is refused for crashing the process (or ASan's exit)", ref)
            log = srv.log()
            for f in bad:
                n = len(re.findall("/" + re.escape(f) + r"\.so refused", log))
                eq(n, 1, f"the log names {f} refused, once", log)
            for g in good:
                n = len(re.findall(r"plugins: loaded " + g + " ", log))
                eq(n, 1, f"the log says {g} is loaded, once", log)
            ok("loaded zzz" not in log and "zzz" not in text,
               "what a plugin prints to stdout is not taken for the inventory's lines", log)
            r = srv.get("/api/v1/reports")
            names = sorted(x.get("name") for x in (r.json() or {}).get("reports", []))
            eq(names, good, "GET /api/v1/reports lists the good plugins")
            r, rid = srv.trigger("echo")
            eq(r.status, 202, "a good report is triggered (202)", repr(r))
            run = srv.wait_run(rid) if rid else None
            eq(run and run.get("status"), "succeeded", "and its run succeeds", run)
            r = srv.post("/api/v1/reports/ctor_exit/runs", {})
            eq(r.status, 404, "the refused ctor_exit answers 404")
            # The same on SIGHUP.
            srv.signal(signal.SIGHUP)
            ok(srv.wait_log("SIGHUP: configuration", timeout=30), "SIGHUP: the plugins are read again", srv.log())
            m = srv.metrics()
            eq((m.get("overblik_plugins_loaded"), m.get("overblik_plugin_load_failures")), (2.0, 4.0),
               "SIGHUP: the same two loaded and four refused")
        finally:
            eq(srv.stop(), 0, "overblikd exits 0")


# ---- point 8: the inventory off the loop ----

def test_inventory_off_the_loop():
    with Env("loadhang") as env:
        env.start_db()
        port = free_port()
        d = plugin_dir(env, ["echo"], ["ctor_hang"])
        write_config(env.config, env, base_config(port, plugin_dir=d))
        srv = start_raw(env, port)
        try:
            t0 = time.time()
            # The endpoint listens once the database is up; the plugins load meanwhile.
            first = wait_for(lambda: _answers(port), 15, step=0.05)
            ok(first, f"start: /healthz answers while ctor_hang.so hangs the inventory "
                      f"({time.time() - t0:.1f} s after start)", srv.log())
            probes = probe_health(port, 3)
            ok(probes and all(isinstance(s, int) and dt < 1.0 for dt, s in probes),
               f"start: every /healthz answers within a second during the inventory ({len(probes)})", probes)
            h = request(port, "GET", "/healthz").json() or {}
            ok(h.get("status") == "starting" and "plugin" in (h.get("reason") or ""),
               "start: /healthz says the plugins are still loading", h)
            ok(wait_for(lambda: "ctor_hang.so refused" in srv.log(), INVENTORY_TIMEOUT + 15),
               "start: ctor_hang.so is refused at the inventory's timeout", srv.log())
            text = request(port, "GET", "/metrics").body.decode()
            ref = refused_lines(text)
            ok("did not finish" in ref.get("ctor_hang.so", ""), "start: /metrics names ctor_hang.so and why", text)
            eq(parse_metrics(text).get("overblik_plugins_loaded"), 1.0, "start: echo is loaded", text)
            eq(request(port, "GET", "/healthz").status, 200, "start: /healthz 200 once the plugins are in")
            # SIGHUP: the old plugins serve while the new inventory hangs.
            srv.signal(signal.SIGHUP)
            time.sleep(0.3)
            probes = probe_health(port, 3)
            ok(probes and all(isinstance(s, int) and dt < 1.0 for dt, s in probes),
               f"SIGHUP: every /healthz answers within a second during the inventory ({len(probes)})", probes)
            r = request(port, "POST", "/api/v1/reports/echo/runs", body={}, token=OPERATOR, timeout=3)
            eq(r.status, 202, "SIGHUP: a trigger during the inventory is taken with the plugins in force", repr(r))
            ok(wait_for(lambda: "SIGHUP: configuration" in srv.log() and "1 plugin loaded" in srv.log(),
                        INVENTORY_TIMEOUT + 15),
               "SIGHUP: the inventory ends, ctor_hang.so refused again", srv.log())
            eq(srv.log().count("ctor_hang.so refused"), 2, "SIGHUP: the log names ctor_hang.so once per inventory")
        finally:
            eq(srv.stop(), 0, "overblikd exits 0")


def _answers(port):
    try:
        request(port, "GET", "/healthz", timeout=1)
        return True
    except OSError:
        return False


# ---- point 8: SIGHUP while a database job uses the configuration ----

class LockHolder:
    """A mariadb client session holding a row lock until release()."""

    def __init__(self, env, sql):
        user = "root" if os.geteuid() == 0 else os.environ.get("USER", "")
        self.p = subprocess.Popen([obtest.MARIADB, "--no-defaults", "-S", env.socket, "-u", user, "-N", "-B", "-n",
                                   "overblik"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.p.stdin.write("BEGIN;\n" + sql + "\nSELECT 'locked';\n")
        self.p.stdin.flush()
        line = ""
        while line.strip() != "locked":
            line = self.p.stdout.readline()
            if line == "":
                raise RuntimeError("mariadb: " + self.p.stderr.read())

    def release(self):
        self.p.stdin.write("COMMIT;\n")
        self.p.stdin.close()
        self.p.wait(timeout=20)


def test_sighup_during_a_database_job():
    """An outbox retry reads mail.max_age on the database thread; SIGHUP frees
    the old configuration on the loop. The retry is held on a row lock
    after it took the configuration, SIGHUP comes, the lock goes: the retry
    must still see a live configuration. Freed memory is filled with 0x5a
    (glibc's perturb, the thread cache off) so a read after free shows."""
    saved = os.environ.get("GLIBC_TUNABLES")
    os.environ["GLIBC_TUNABLES"] = "glibc.malloc.tcache_count=0:glibc.malloc.perturb=90"
    with Env("hupjob") as env:
        env.start_db()
        port = free_port()
        cfg = base_config(port, plugin_dir=PLUGIN_DIR, mail={"max_age_hours": 48})
        write_config(env.config, env, cfg)
        srv = Server(env, port)
        try:
            srv.start()
            env.sql("INSERT INTO runs (id, report, trigger_kind, as_of, params, status) "
                    "VALUES (1, 'echo', 'api', '2026-11-26', '{}', 'succeeded')")
            env.sql("INSERT INTO outbox (id, run_id, recipient, kind, message_id, mail_from, mime, status) "
                    "VALUES (1, 1, 'asg', 'role', 'x1@test', 'a@b', 'x', 'dead')")
            env.sql("INSERT INTO outbox_rcpts (message, seq, email, status) VALUES (1, 1, 'c@d', 'dead')")
            lock = LockHolder(env, "SELECT id FROM outbox WHERE id = 1 FOR UPDATE;")
            res = {}

            def retry():
                try:
                    res["r"] = request(port, "POST", "/api/v1/outbox/1/retry", token=OPERATOR, timeout=60)
                except OSError as e:
                    res["r"] = e

            th = threading.Thread(target=retry)
            th.start()
            time.sleep(1.0)  # the retry waits for the lock on the database thread
            cfg["mail"] = {"max_age_hours": 1}
            write_config(env.config, env, cfg)
            srv.signal(signal.SIGHUP)
            ok(srv.wait_log("SIGHUP: configuration", timeout=20), "SIGHUP: the new configuration is loaded",
               srv.log())
            time.sleep(0.5)
            lock.release()
            th.join(60)
            r = res.get("r")
            ok(getattr(r, "status", None) == 200, "the retry that began before SIGHUP answers 200", repr(r))
            left = env.scalar("SELECT TIMESTAMPDIFF(SECOND, NOW(3), expires_at) FROM outbox WHERE id = 1")
            ok(left is not None and left != "NULL" and 3000 <= int(left) <= 48 * 3600 + 60,
               f"its expiry uses a configuration's max_age (1 or 48 h), not freed memory ({left} s)",
               srv.log()[-2000:])
            ok(srv.proc.poll() is None, "overblikd still runs")
        finally:
            if saved is None:
                os.environ.pop("GLIBC_TUNABLES", None)
            else:
                os.environ["GLIBC_TUNABLES"] = saved
            eq(srv.stop(), 0, "overblikd exits 0")


# ---- point 7: SIGHUP and a state_dir that does not exist ----

def test_sighup_state_dir():
    with Env("hupstate") as env:
        env.start_db()
        port = free_port()
        cfg = base_config(port, plugin_dir=PLUGIN_DIR)
        write_config(env.config, env, cfg)
        srv = Server(env, port)
        try:
            srv.start()
            missing = os.path.join(env.dir, "no-such", "var")
            with open(env.config, "w") as f:
                json.dump(dict(cfg, state_dir=missing, template_dir=env.templates), f)
            srv.signal(signal.SIGHUP)
            ok(srv.wait_log("the new configuration is refused"), "SIGHUP: the configuration is refused", srv.log())
            line = [l for l in srv.log().splitlines() if "configuration is refused" in l]
            ok(line and "/state_dir" in line[-1] and missing in line[-1],
               "SIGHUP: the refusal names /state_dir and the directory", line)
            ok(not os.path.exists(missing), "SIGHUP: the directory was not created")
            with open(os.path.join(env.state, "overblikd.json")) as f:
                eq(json.load(f).get("state_dir"), env.state, "SIGHUP: the workers keep the state_dir in force")
            r, rid = srv.trigger("echo")
            run = srv.wait_run(rid) if rid else None
            eq(run and run.get("status"), "succeeded", "SIGHUP: a run after the refusal succeeds", run)
            ok(os.path.isdir(os.path.join(env.state, "runs", str(rid))), "SIGHUP: its files are in the old state_dir")
        finally:
            eq(srv.stop(), 0, "overblikd exits 0")
            write_config(env.config, env, cfg)  # so that closing the Env stops its database


# ---- point 9: a database outage on /healthz; killed servers reaped ----

def zombies_of(pid):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(")") + 2:].split()
        if int(rest[1]) == pid and rest[0] == "Z":
            out.append((int(p), st[st.find("(") + 1:st.rfind(")")]))
    return out


def test_database_outage():
    with Env("outage") as env:
        port = free_port()
        write_config(env.config, env, base_config(port, plugin_dir=PLUGIN_DIR))
        srv = Server(env, port)  # overblikd starts the managed mariadbd itself: its child
        pidfile = os.path.join(env.state, "db", "mysqld.pid")
        try:
            srv.start()
            for round_ in (1, 2):
                with open(pidfile) as f:
                    db_pid = int(f.read().strip())
                seen = []
                stop = threading.Event()

                def poll():
                    while not stop.is_set():
                        try:
                            r = request(port, "GET", "/healthz", timeout=2)
                            seen.append((time.time(), r.status, r.json() or {}))
                        except OSError as e:
                            seen.append((time.time(), type(e).__name__, {}))
                        time.sleep(0.02)

                th = threading.Thread(target=poll)
                th.start()
                t0 = time.time()
                os.kill(db_pid, signal.SIGKILL)
                down = wait_for(lambda: next((s for s in seen if s[1] == 503), None), 20, step=0.05)
                back = wait_for(lambda: down and next((s for s in seen if s[0] > down[0] and s[1] == 200), None),
                                60, step=0.1)
                stop.set()
                th.join()
                ok(down is not None, f"outage {round_}: /healthz answers 503 while the database is down "
                                     f"({(down[0] - t0) if down else 0:.1f} s after the kill)",
                   [(round(t - t0, 2), s) for t, s, _ in seen][-20:])
                j = down[2] if down else {}
                ok(j.get("status") == "degraded" and (j.get("database") or {}).get("ok") is False
                   and (j.get("database") or {}).get("error"),
                   f"outage {round_}: its body says degraded, with the database's error", j)
                ok(back is not None, f"outage {round_}: /healthz is 200 again once mariadbd is back",
                   srv.log()[-1500:])
                z = wait_for(lambda: not zombies_of(srv.proc.pid), 5) or zombies_of(srv.proc.pid)
                eq(z, True, f"outage {round_}: no zombie left under overblikd", zombies_of(srv.proc.pid))
            r, rid = srv.trigger("echo")
            run = srv.wait_run(rid) if rid else None
            eq(run and run.get("status"), "succeeded", "after the outages a run succeeds", run)
        finally:
            eq(srv.stop(), 0, "overblikd exits 0")
            env.started = True  # stop the server if overblikd left it


# ---- point 9: a run that fails after writing files ----

def test_failed_run_leaves_no_files():
    with Env("runfiles") as env:
        env.start_db()
        port = free_port()
        # The echo plugin's notice needs the template echo/notice: without it
        # the run's mail cannot be made after its files are written.
        os.remove(os.path.join(env.templates, "echo", "notice.txt"))
        write_config(env.config, env, base_config(port, plugin_dir=PLUGIN_DIR))
        srv = Server(env, port)
        try:
            srv.start()
            r, rid = srv.trigger("echo")
            run = srv.wait_run(rid) if rid else None
            eq(run and run.get("status"), "failed", "the echo run fails (its mail cannot be made)", run)
            eq(env.scalar(f"SELECT COUNT(*) FROM run_files WHERE run_id = {rid}"), "0", "it has no run_files rows")
            d = os.path.join(env.state, "runs", str(rid))
            left = os.listdir(d) if os.path.isdir(d) else []
            eq(left, [], f"no file of it is left in state_dir/runs/{rid}")
            ok(not os.path.exists(d), "its folder is gone too")
            ok(f"run {rid}: removed" in srv.log(), "the log says its files were removed", srv.log()[-1500:])
            # A worker killed after writing (here: a file put where the next
            # run writes, and a plugin that crashes): overblikd removes them.
            nxt = os.path.join(env.state, "runs", str(rid + 1))
            os.makedirs(nxt)
            with open(os.path.join(nxt, "crash.pdf"), "wb") as f:
                f.write(b"%PDF-1.4 half")
            r, cid = srv.trigger("crash")
            eq(cid, rid + 1, "the crash run has the next id")
            run = srv.wait_run(cid) if cid else None
            eq(run and run.get("status"), "crashed", "the crash run ends crashed", run)
            ok(wait_for(lambda: not os.path.exists(nxt), 5), f"state_dir/runs/{cid} of the crashed run is removed")
        finally:
            eq(srv.stop(), 0, "overblikd exits 0")


# ---- plugin file names and what plugins print while they load ----

def test_plugin_names_and_output():
    """A file name with a newline, a tab or a byte that is not UTF-8 is
    refused by its escaped name, unloaded, and the rest load; what a plugin
    prints while it loads is logged once per inventory (though each round
    loads it again), cut, prefixed with its file and escaped."""
    with Env("loadnames") as env:
        env.start_db()
        port = free_port()
        d = plugin_dir(env, ["echo"], ["ctor_noisy", "ctor_exit0"])
        echo = os.path.join(PLUGIN_DIR, "echo.so")
        shutil.copy(echo, os.path.join(d, "zz\nz.so").encode())
        shutil.copy(echo, os.path.join(d, "tab\there").encode() + b"\xff.so")
        # Sorts after ctor_noisy: its exit(1) ends the round, so ctor_noisy
        # loads (and prints) twice in this inventory.
        shutil.copy(os.path.join(LOADFAIL_DIR, "ctor_exit.so"), os.path.join(d, "zz_exit.so"))
        write_config(env.config, env, base_config(port, plugin_dir=d))
        srv = Server(env, port)
        try:
            srv.start()
            ok(wait_for(lambda: "plugins: 2 loaded" in srv.log(), 30), "names: the inventory ends", srv.log()[-3000:])
            text = srv.metrics_text()
            m = parse_metrics(text)
            eq(m.get("overblik_plugins_loaded"), 2.0, "names: echo and ctor_noisy are loaded", text)
            ref = refused_lines(text)
            ok(set(ref) >= {"zz\\x0Az.so", "tab\\x09here\\xFF.so", "ctor_exit0.so", "zz_exit.so"},
               "names: /metrics names the bad file names escaped, and the two that exit", ref)
            ok("not UTF-8" in ref.get("zz\\x0Az.so", ""), "names: the refusal says why", ref)
            log = srv.log()
            ok("zz\\x0Az.so refused" in log and "tab\\x09here\\xFF.so refused" in log,
               "names: the log refuses each bad name by its escaped name", log[-3000:])
            ok("giving up" not in log, "names: the inventory did not give up", log[-3000:])
            eq(srv.post("/api/v1/reports/echo/runs", {}).status, 202, "names: echo runs")
            # Output: small, once, prefixed, escaped.
            size = os.path.getsize(srv.logpath)
            ok(size < 64 * 1024, f"output: the log stays small ({size} bytes for 100,000 lines printed in each of two rounds)")
            eq(log.count("ctor_noisy line 0 of 100000"), 1, "output: ctor_noisy's output is logged once")
            noisy = [l for l in log.splitlines() if "ctor_noisy line" in l]
            ok(noisy and all("/ctor_noisy.so printed: ctor_noisy line" in l for l in noisy)
               and len(noisy) <= 40, f"output: each of its {len(noisy)} lines is prefixed with the file", noisy[:3])
            ok(re.search(r"ctor_noisy\.so printed \d+ more bytes while loading", log) is not None,
               "output: the log says how much more it printed", log[-3000:])
            ok("ctor_noisy.so printed: raw \\xFF byte" in log, "output: a byte that is not UTF-8 is escaped",
               [l for l in log.splitlines() if "raw" in l])
            ok("ok\tforged.so" not in log and "ctor_noisy.so printed: ok\\x09forged.so" in log,
               "output: a forged inventory line on stderr is prefixed and escaped", log[-3000:])
            ok("ok\tzzz.so" not in log and "ctor_exit0.so printed: ok\\x09zzz.so" in log,
               "output: what ctor_exit0 printed before its exit(0) is prefixed and escaped", log[-3000:])
        finally:
            eq(srv.stop(), 0, "names: overblikd exits 0")


def test_sighup_after_giving_up():
    """64 plugins in a row that end the inventory: it gives up, and the
    SIGHUP line says the plugins read before stay, not that they loaded."""
    with Env("giveup") as env:
        env.start_db()
        port = free_port()
        d = plugin_dir(env, ["echo"], [])
        write_config(env.config, env, base_config(port, plugin_dir=d))
        srv = Server(env, port)
        try:
            srv.start()
            ok(wait_for(lambda: "plugins: 1 loaded" in srv.log(), 30), "giveup: echo loads", srv.log()[-2000:])
            for i in range(64):
                shutil.copy(os.path.join(LOADFAIL_DIR, "ctor_exit.so"), os.path.join(d, f"x{i:02d}.so"))
            mark = len(srv.log())
            srv.signal(signal.SIGHUP)
            ok(wait_for(lambda: "SIGHUP: configuration" in srv.log()[mark:], 120), "giveup: the SIGHUP is done",
               srv.log()[mark:][-2000:])
            after = srv.log()[mark:]
            ok("giving up" in after, "giveup: the inventory gave up", after[-2000:])
            ok("plugin loaded" not in after and "plugins loaded" not in after,
               "giveup: the log does not say the plugins loaded", after[-1000:])
            ok("loaded, but not the plugins (see above): the 1 read before stay in force" in after,
               "giveup: the log says the plugins read before stay", after[-1000:])
            eq(srv.post("/api/v1/reports/echo/runs", {}).status, 202, "giveup: echo still runs")
        finally:
            eq(srv.stop(), 0, "giveup: overblikd exits 0")


def test_sighups_faster_than_a_hang():
    """A SIGHUP every 8 s while a plugin hangs the inventory for 20 s: the
    inventory under way is not dropped, so the new plugin set applies."""
    with Env("hupstorm") as env:
        env.start_db()
        port = free_port()
        d = plugin_dir(env, ["echo"], [])
        write_config(env.config, env, base_config(port, plugin_dir=d))
        srv = Server(env, port)
        try:
            srv.start()
            ok(wait_for(lambda: "plugins: 1 loaded" in srv.log(), 30), "hupstorm: echo loads", srv.log()[-2000:])
            plugin_dir(env, ["fails"], ["ctor_hang"])
            mark = len(srv.log())
            t0 = time.time()
            applied = None
            while time.time() - t0 < 60 and applied is None:
                srv.signal(signal.SIGHUP)
                end = time.time() + 8
                while time.time() < end:
                    if "plugins: 2 loaded, 1 refused" in srv.log()[mark:]:
                        applied = time.time() - t0
                        break
                    time.sleep(0.2)
            ok(applied is not None, f"hupstorm: the new plugin set applies though a SIGHUP comes every 8 s "
                                    f"({applied and round(applied, 1)} s)", srv.log()[mark:][-2000:])
            ok("it finishes first, then the plugins are read again" in srv.log()[mark:],
               "hupstorm: the log says the inventory under way finishes first", srv.log()[mark:][-2000:])
            eq(parse_metrics(srv.metrics_text()).get("overblik_plugins_loaded"), 2.0, "hupstorm: echo and fails load")
        finally:
            eq(srv.stop(), 0, "hupstorm: overblikd exits 0")


if __name__ == "__main__":
    run_tests(test_plugins_that_end_the_inventory, test_inventory_off_the_loop, test_sighup_during_a_database_job,
              test_sighup_state_dir, test_database_outage, test_failed_run_leaves_no_files,
              test_plugin_names_and_output, test_sighup_after_giving_up, test_sighups_faster_than_a_hang)
