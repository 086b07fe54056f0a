#!/usr/bin/python3
"""`overblik run` supervises a run as overblikd does: the run executes in a
fresh `overblik --run-worker ID` process in a group of its own (not a fork
of the CLI), killed as a group at the report's timeout or at a Ctrl-C, a
crash recorded with its signal; and the plugin is checked before any run
is made in a process of its own, so a constructor that crashes is named
and does not take the CLI down."""

import os
import re
import signal
import subprocess
import time

import obtest
from obtest import Env, eq, ok, run_tests

PLUGIN_DIR = os.path.join(obtest.TOP_BUILDDIR, "tests/plugins/.libs")
CONFIG = {"plugin_dir": PLUGIN_DIR, "reports": {"hang": {"timeout": 3}}}


def workers():
    """{pid: (pgid, cmdline)} of the run workers running now."""
    out = {}
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            if b"--run-worker" in cmd:
                out[int(pid)] = (os.getpgid(int(pid)), [c.decode(errors="replace") for c in cmd if c])
        except (OSError, ValueError):
            pass
    return out


def start_hang(env):
    p = subprocess.Popen([obtest.OVERBLIK, "-c", env.config, "run", "hang"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline, seen = time.time() + 15, {}
    while time.time() < deadline and not seen and p.poll() is None:
        seen = {k: v for k, v in workers().items() if env.config in v[1]}
        time.sleep(0.05)
    return p, seen


def test_plugin_check_in_a_child():
    with Env("cli-run", CONFIG) as env:
        env.start_db()
        r = env.run("run", "ctor_crash")
        eq(r.returncode, 1, "run ctor_crash: exit 1", r.stdout + r.stderr)
        ok(re.search(r"ctor_crash\.so crashed while loading \(killed by SIGSEGV\)", r.stderr),
           "it says the plugin crashed while loading, and the signal", r.stderr)
        eq(env.scalar("SELECT COUNT(*) FROM runs"), "0", "no run is made (none left queued)")
        r = env.run("run", "nosuch")
        ok(r.returncode == 1 and "no plugin nosuch.so in" in r.stderr, "a missing plugin is named", r.stderr)
        eq(env.scalar("SELECT COUNT(*) FROM runs"), "0", "and no run is made for it")


def test_worker_supervised():
    with Env("cli-run", CONFIG) as env:
        env.start_db()
        r = env.run("run", "crash")
        ok(r.returncode == 1 and re.search(r"^run \d+: crash as of \S+: crashed in [\d.]+ s: killed by SIGSEGV "
                                           r"\(signal 11\)", r.stdout, re.M),
           "a crashing plugin's run ends crashed with its signal; the CLI survives", r.stdout + r.stderr)
        t0 = time.time()
        p, seen = start_hang(env)
        eq(len(seen), 1, "the run executes in a worker process: overblik --run-worker ID", workers())
        for pid, (pgid, cmd) in seen.items():
            eq((pgid, os.path.basename(cmd[0]), cmd[-2]), (pid, "overblik", "--run-worker"),
               "exec'd as overblik -c CONFIG --run-worker ID, leading a process group of its own", cmd)
            ok(pgid != os.getpgid(p.pid), "not the CLI's group (a Ctrl-C at the terminal is the CLI's to handle)")
        out, err = p.communicate(timeout=30)
        ok(re.search(r"^run \d+: hang as of \S+: timeout in [\d.]+ s: killed at its timeout of 3 s", out, re.M),
           "the hanging run is killed at the report's timeout and recorded as timeout", out + err)
        ok(p.returncode == 1 and time.time() - t0 < 15, "exit 1, soon after the timeout", p.returncode)
        ok(not any(pid in workers() for pid in seen), "its worker is gone", workers())
        # A Ctrl-C (SIGINT to the CLI) stops the worker and records the run as interrupted.
        p, seen = start_hang(env)
        ok(len(seen) == 1, "a second hang run has its worker", seen)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        ok(p.returncode == 1 and re.search(r"^run \d+: hang as of \S+: failed in [\d.]+ s: interrupted", out, re.M),
           "a Ctrl-C ends the run failed: interrupted", out + err)
        ok(not any(pid in workers() for pid in seen), "and its worker is gone", workers())
        eq(env.scalar("SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')"), "0", "no run left open")


if __name__ == "__main__":
    run_tests(test_plugin_check_in_a_child, test_worker_supervised)
