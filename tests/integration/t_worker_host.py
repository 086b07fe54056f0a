#!/usr/bin/python3
"""overblikd's run workers come from its worker host (core/worker_host.c):
a run's worker is a child of "overblikd --worker-host", in a process group
of its own, and runs the plugin as an executed worker would; a worker that
passes its timeout is killed with its group; kill -9 of the host fails only
the run whose worker it took down, and the next run gets a new host; when
overblikd stops, the host goes too. The real overblikd over HTTP and a
private mariadbd."""

import os
import re
import signal
import time

from obtest import Env, ok, eq, run_tests
from t_server import Server, base_config, free_port, write_config


def ppid(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def pgid(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[2])


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def worker_pid(srv, rid):
    m = re.search(rf"run {rid}: \S+ started \(pid (\d+)", srv.log())
    return int(m.group(1)) if m else None


def test_worker_host():
    with Env("whost") as env:
        env.start_db()
        port = free_port()
        write_config(env.config, env, base_config(port, max_runs=2, reports={"hang": {"timeout": 30}}))
        srv = Server(env, port).start()
        host = None
        try:
            _, e1 = srv.trigger("echo")
            run = srv.wait_status(e1, ("succeeded", "failed", "crashed", "timeout"))
            eq(run and run.get("status"), "succeeded", "an echo run succeeds with a forked worker", run)
            _, h1 = srv.trigger("hang")
            eq((srv.wait_status(h1, ("running",)) or {}).get("status"), "running", "hang 1 runs")
            ok(srv.wait_log(f"run {h1}: hang started", 10), "its start is logged with the pid", srv.log()[-1500:])
            w = worker_pid(srv, h1)
            host = ppid(w) if w and alive(w) else None
            ok(host is not None and "--worker-host" in cmdline(host),
               "the worker's parent is overblikd's worker host", (w, host, host and cmdline(host)))
            eq(host and ppid(host), srv.proc.pid, "the host is overblikd's child")
            eq(w and pgid(w), w, "the worker leads a process group of its own")
            ok("--run-worker" not in cmdline(w) if w else False,
               "it was forked, not executed (no --run-worker command line of its own)", w and cmdline(w))
            # kill -9 of the host: its worker dies with it; only that run fails.
            os.kill(host, signal.SIGKILL)
            run = srv.wait_status(h1, ("failed", "crashed", "timeout"), timeout=20)
            ok(run is not None and run.get("status") in ("crashed", "failed"),
               "the run whose worker the host took down ends crashed", run)
            ok(w is not None and not alive(w), "and its worker is gone")
            _, e2 = srv.trigger("echo")
            run = srv.wait_status(e2, ("succeeded", "failed", "crashed", "timeout"))
            eq(run and run.get("status"), "succeeded", "the next run succeeds", run)
            hosts = [p for p in os.listdir("/proc") if p.isdigit() and "--worker-host" in cmdline(int(p))
                     and alive(int(p)) and ppid(int(p)) == srv.proc.pid]
            eq(len(hosts), 1, "with a new worker host", hosts)
            new_host = int(hosts[0]) if hosts else None
            ok(new_host is not None and new_host != host, "not the one killed", (host, new_host))
            eq(srv.stop(), 0, "overblikd stops (exit 0)")
            time.sleep(0.5)
            ok(new_host is not None and not alive(new_host), "and its worker host is gone with it")
            srv = None
        finally:
            if srv:
                srv.stop()


def test_timeout_kills_group():
    """A forked worker past its timeout is killed, with its group."""
    with Env("whost-timeout") as env:
        env.start_db()
        port = free_port()
        write_config(env.config, env, base_config(port, reports={"hang": {"timeout": 2}}))
        srv = Server(env, port).start()
        try:
            _, h = srv.trigger("hang")
            eq((srv.wait_status(h, ("running",)) or {}).get("status"), "running", "hang runs")
            srv.wait_log(f"run {h}: hang started", 10)
            w = worker_pid(srv, h)
            run = srv.wait_status(h, ("timeout", "failed", "crashed"), timeout=20)
            eq(run and run.get("status"), "timeout", "it ends timeout", run)
            time.sleep(0.3)
            ok(w is not None and not alive(w), "its worker is gone")
            leftover = [p for p in os.listdir("/proc") if p.isdigit() and w and alive(int(p))
                        and pgid(int(p)) == w]
            eq(leftover, [], "nothing is left in its process group")
        finally:
            srv.stop()


run_tests(test_worker_host, test_timeout_kills_group)
