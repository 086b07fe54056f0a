#!/usr/bin/python3
"""The admin endpoint against bad input and a tampered state directory
(issue 9), on a real overblikd with a private mariadbd and the fixture
plugins: a run's file replaced by a FIFO, a symbolic link, a directory, an
empty, resized or hard-linked file is refused in JSON and logged, without
blocking the loop or leaking a descriptor; NUL and bytes that are not UTF-8
in the body, path and query are a 400 naming the field; database errors
are a 503 without SQL; strict JSON bodies (duplicate keys, trailing data,
nesting, numbers); numbers past their range in the path and query;
libevent's own 400/413/417/501 pages are JSON; raw bytes are escaped in
replies and in the command line's errors."""

import hashlib
import json
import os
import re
import socket
import subprocess
import threading
import time

import obtest
from obtest import Env, ok, eq, run_tests
from t_server import (Server, request, base_config, write_config, free_port, check_error, subtests, Ctx,
                      OPERATOR)

SQL_WORDS = re.compile(rb"\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE)\b")


# ---- helpers ----

def raw_http(port, data, timeout=10):
    """Sends data as it is on one connection and reads the reply until the
    server closes it or it is complete: (status, headers, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before all was sent: read the answer
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            buf += chunk
            head, sep, body = buf.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
                if m and len(body) >= int(m.group(1)):
                    break
    finally:
        s.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0] if lines else b"")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    return (int(m.group(1)) if m else None), headers, body


def json_error_body(body):
    """The {"error": {"code", "message"}} of a body, or None."""
    try:
        j = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    e = j.get("error") if isinstance(j, dict) else None
    if isinstance(e, dict) and isinstance(e.get("code"), str) and isinstance(e.get("message"), str):
        return e
    return None


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def runs_count(env):
    return int(env.scalar("SELECT COUNT(*) FROM runs"))


# ---- point 1: a run's file ----

def part_files(c):
    srv, env = c.srv, c.env
    r, rid = srv.trigger("echo", {"as_of": "2025-03-01"})
    eq(r.status, 202, "files: the echo run is accepted")
    run = srv.wait_run(rid)
    eq(run and run.get("status"), "succeeded", "files: the echo run succeeds")
    files = {f["name"]: f for f in (run or {}).get("files", [])}
    doc = files.get("document.json", {})
    path = os.path.join(env.state, "runs", str(rid), "document.json")
    url = f"/api/v1/runs/{rid}/files/document.json"
    with open(path, "rb") as fh:
        original = fh.read()
    eq(srv.get(url).status, 200, "files: the untouched file is served")
    ok(srv.wait_idle(), "files: the server is idle")
    pid = srv.proc.pid
    fds_before = fd_count(pid)

    def refused(desc, words):
        t0 = time.time()
        resp = srv.get(url, timeout=5)
        took = time.time() - t0
        e = check_error(resp, 409, f"{desc}: answered 409 in JSON", "file_changed")
        ok(all(w in e.get("message", "") for w in words) and "document.json" in e.get("message", "")
           and str(rid) in e.get("message", ""),
           f"{desc}: the message names the run, the file and why ({', '.join(words)})", e)
        ok(b"root:" not in resp.body, f"{desc}: nothing of another file is sent", resp)
        ok(took < 2, f"{desc}: answered at once ({took:.2f} s)")
        return resp

    # A FIFO: open() of it used to block the loop until a writer came.
    os.remove(path)
    os.mkfifo(path)
    result = {}

    def fetch():
        try:
            result["r"] = srv.get(url, timeout=8)
        except OSError as ex:
            result["r"] = ex
    t = threading.Thread(target=fetch)
    t.start()
    time.sleep(0.3)
    health = []
    for _ in range(3):
        t0 = time.time()
        try:
            h = request(srv.port, "GET", "/healthz", timeout=1)
            health.append((h.status, time.time() - t0))
        except OSError as ex:
            health.append((repr(ex), time.time() - t0))
    ok(all(s == 200 and d < 1 for s, d in health), "fifo: /healthz answers within a second meanwhile", health)
    t.join(9)
    while t.is_alive() or not hasattr(result.get("r"), "status"):
        # unblock a server that waits in open() for a writer (the old code)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass
        t.join(2)
        if not t.is_alive():
            break
    resp = result.get("r")
    ok(hasattr(resp, "status") and resp.status == 409 and json_error_body(resp.body) is not None,
       "fifo: the file request is answered 409 in JSON", resp)
    ok(hasattr(resp, "status") and "FIFO" in (json_error_body(resp.body) or {}).get("message", ""),
       "fifo: the message says it is a FIFO", resp)
    ok(srv.wait_log(f"run {rid}, file document.json") and "FIFO" in srv.log(),
       "fifo: the log names the run and the file", srv.log()[-2000:])
    os.remove(path)

    # A symbolic link to /etc/passwd: never followed.
    os.symlink("/etc/passwd", path)
    refused("symlink to /etc/passwd", ["symbolic link"])
    os.remove(path)

    # A directory.
    os.mkdir(path)
    refused("directory", ["directory"])
    os.rmdir(path)

    # An empty file, and one that grew.
    open(path, "wb").close()
    refused("empty file", ["0 bytes", str(doc.get("size"))])
    with open(path, "wb") as fh:
        fh.write(original + b" ")
    refused("resized file", [f"{len(original) + 1} bytes"])

    # The right bytes, but a second name for them (a hard link).
    with open(path, "wb") as fh:
        fh.write(original)
    other = os.path.join(env.dir, "second-link")
    os.link(path, other)
    refused("hard-linked file", ["hard links"])
    os.remove(other)

    # Other bytes of the same size: the SHA-256 tells.
    os.remove(path)
    with open(path, "wb") as fh:
        fh.write(bytes(len(original)))
    refused("same-size replacement", ["other bytes", "SHA-256"])

    # The run's folder replaced by a link to a folder with a file of that size.
    rundir = os.path.dirname(path)
    elsewhere = os.path.join(env.dir, "elsewhere")
    os.rename(rundir, elsewhere)
    fake = os.path.join(env.dir, "fake")
    os.mkdir(fake)
    with open(os.path.join(fake, "document.json"), "wb") as fh:
        fh.write(bytes(len(original)))
    os.symlink(fake, rundir)
    refused("run folder linked elsewhere", ["symbolic link"])
    os.remove(rundir)
    os.rename(elsewhere, rundir)

    # Many bad requests leak no descriptor.
    os.remove(path)
    os.mkdir(path)
    for _ in range(60):
        srv.get(url)
    os.rmdir(path)
    open(path, "wb").close()
    for _ in range(60):
        srv.get(url)
    os.remove(path)
    for _ in range(20):
        srv.get(url)  # gone: 410
    time.sleep(0.3)
    fds_after = fd_count(pid)
    ok(fds_after <= fds_before + 2, f"files: 140 refused requests leak no descriptor ({fds_before} before, "
                                    f"{fds_after} after)")
    check_error(srv.get(url), 410, "files: a file that is gone: 410", "gone")

    # Put back, it is served again, byte for byte.
    with open(path + ".tmp", "wb") as fh:
        fh.write(original)
    os.rename(path + ".tmp", path)
    r = srv.get(url)
    ok(r.status == 200 and hashlib.sha256(r.body).hexdigest() == doc.get("sha256"),
       "files: the file put back is served with its sha256", r)
    ok(srv.get("/healthz").status == 200, "files: the server still answers")


# ---- points 4, 5, 6: the request body ----

def part_body(c):
    srv, env = c.srv, c.env
    p = "/api/v1/reports/echo/runs"
    before = runs_count(env)

    r = srv.post(p, '{"dry_run": true, "dry_run": false}')
    e = check_error(r, 400, "duplicate key: 400", "bad_json")
    ok('duplicate key' in e.get("message", "") and "dry_run" in e.get("message", "")
       and "line 1, column" in e.get("message", ""), "duplicate key: the message names the key and where", e)

    r = srv.post(p, '{"dry_run": true} xyz')
    e = check_error(r, 400, "data after the object: 400", "bad_json")
    ok("line 1, column 19" in e.get("message", ""), "data after the object: the message says where", e)

    deep = '{"params": ' + '{"a": ' * 100 + '"x"' + '}' * 100 + '}'
    r = srv.post(p, deep)
    e = check_error(r, 400, "nesting 100 deep: 400", "bad_json")
    ok("nested deeper than" in e.get("message", ""), "nesting: the message says it is too deep", e)

    r = srv.post(p, '{"as_of": 1e999}')
    e = check_error(r, 400, "a number past a double: 400", "bad_json")
    ok("number" in e.get("message", ""), "a number past a double: the message says so", e)

    # NUL in every string that comes in
    for body, field in [('{"params": {"x": "a\\u0000b"}}', "/params/x"),
                        ('{"org": "12345678\\u0000"}', "/org"),
                        ('{"as_of": "2025-01-01\\u0000"}', "/as_of"),
                        ('{"params": {"a\\u0000b": "x"}}', "/params")]:
        r = srv.post(p, body)
        e = check_error(r, 400, f"NUL in {field}: 400", "bad_request")
        ok(field in e.get("message", "") and "NUL" in e.get("message", ""),
           f"NUL in {field}: the message names the field", e)

    # bytes that are not UTF-8: a 400 naming the field, never a 503 with SQL
    for body, field in [(b'{"params": {"x": "a\xffb"}}', "/params/x"),
                        (b'{"org": "\xff\xfe"}', "/org"),
                        (b'{"params": {"\xc3": "x"}}', "/params"),
                        (b'{"as_of": "2025-01-0\xff"}', "/as_of")]:
        r = srv.post(p, body)
        e = check_error(r, 400, f"invalid UTF-8 in {field}: 400", "bad_request")
        ok(field in e.get("message", "") and "UTF-8" in e.get("message", ""),
           f"invalid UTF-8 in {field}: the message names the field", e)
        ok(not SQL_WORDS.search(r.body) and b"\xff" not in r.body, f"invalid UTF-8 in {field}: no SQL, no raw byte",
           r)
    eq(runs_count(env), before, "body: no refused request made a run")

    # a valid request still works, and its dry_run is what it says
    r, rid = srv.trigger("echo", {"dry_run": True, "params": {"message": "æøå"}})
    eq(r.status, 202, "body: a valid trigger is accepted")
    run = srv.wait_run(rid)
    eq((run or {}).get("params"), {"message": "æøå"}, "body: its params are kept whole")
    eq((run or {}).get("dry_run"), True, "body: its dry_run is kept")


# ---- points 4, 5, 6: path and query ----

def part_path_and_query(c):
    srv, env = c.srv, c.env
    r = srv.get("/api/v1/runs/99999999999999999999")
    e = check_error(r, 400, "a run id past 64 bits: 400", "bad_request")
    ok(re.search(r"run id: 99999999999999999999 is not a number from 1 to \d+", e.get("message", "")) is not None
       and "18446744073709551615" not in e.get("message", ""), "a run id past 64 bits: says the range", e)
    r = srv.get("/api/v1/runs/9223372036854775808")
    check_error(r, 400, "a run id past the signed range: 400", "bad_request")
    r = srv.get("/api/v1/runs/0")
    check_error(r, 400, "run id 0: 400", "bad_request")
    r = srv.get("/api/v1/runs/9223372036854775807")
    check_error(r, 404, "the largest run id: an ordinary 404", "not_found")
    r = srv.get("/api/v1/outbox/99999999999999999999")
    e = check_error(r, 400, "an outbox id past 64 bits: 400", "bad_request")
    ok("outbox message id" in e.get("message", ""), "an outbox id past 64 bits: names it", e)
    for q, name in [("/api/v1/runs?offset=99999999999999999999", "offset"),
                    ("/api/v1/runs?limit=18446744073709551617", "limit"),
                    ("/api/v1/runs?offset=%2B5", "offset"),
                    ("/api/v1/outbox?before=99999999999999999999", "before"),
                    ("/api/v1/outbox?limit=4294967297", "limit")]:
        e = check_error(srv.get(q), 400, f"{q}: 400", "bad_request")
        ok(e.get("message", "").startswith(name + "="), f"{q}: names {name}", e)
    e = check_error(srv.get("/api/v1/runs?limit=5&limit=500"), 400, "a query name given twice: 400")
    ok("limit" in e.get("message", "") and "twice" in e.get("message", ""), "a name given twice: says so", e)

    # NUL in the query and in the path
    r = srv.get("/api/v1/runs?report=echo%00x")
    e = check_error(r, 400, "NUL in ?report: 400", "bad_request")
    ok("report" in e.get("message", "") and "NUL" in e.get("message", ""), "NUL in ?report: names it", e)
    rid = c.echo_id
    r = srv.get(f"/api/v1/runs/{rid}/files/document.json%00.pdf")
    e = check_error(r, 400, "NUL in the path: 400", "bad_request")
    ok("path" in e.get("message", "") and "NUL" in e.get("message", ""), "NUL in the path: says so", e)

    # bytes that are not UTF-8 in the query and path: 400, no SQL, escaped
    r = srv.get("/api/v1/runs?report=%FF")
    e = check_error(r, 400, "invalid UTF-8 in ?report: 400", "bad_request")
    ok("report" in e.get("message", "") and "UTF-8" in e.get("message", ""), "invalid UTF-8 in ?report: names it", e)
    ok(not SQL_WORDS.search(r.body), "invalid UTF-8 in ?report: no SQL", r)
    r = srv.get(f"/api/v1/runs/{rid}/files/%FFx.pdf")
    e = check_error(r, 400, "invalid UTF-8 in a file name: 400", "bad_request")
    ok(b"\xff" not in r.body and "\\xFF" in e.get("message", "") and not SQL_WORDS.search(r.body),
       "invalid UTF-8 in a file name: the byte is escaped, no SQL", r)
    r = srv.get("/api/v1/nothing%FF%1B%5B2J")
    e = check_error(r, 400, "raw bytes in an unknown path: 400 in JSON")
    ok(b"\xff" not in r.body and "\x1b" not in e.get("message", ""), "raw bytes in a path are not echoed raw", r)
    r = srv.get("/api/v1/nothing%1B%5B2J")
    e = check_error(r, 404, "an escape sequence in an unknown path: 404")
    ok("\x1b" not in e.get("message", "") and ("\\x1B" in e.get("message", "") or "?" in e.get("message", "")),
       "an escape sequence in a path is not echoed raw", e)
    r = srv.post("/api/v1/reports/echo/runs", '{"\\u001b[31mred": 1}')
    e = check_error(r, 400, "an escape sequence in an unknown key: 400")
    ok("\x1b" not in e.get("message", "") and "\\x1B[31mred" in e.get("message", ""),
       "an escape sequence in a key is escaped in the message", e)
    r = srv.get("/api/v1/runs?status=%1B%5B2J")
    e = check_error(r, 400, "an escape sequence in ?status: 400")
    ok("\x1b" not in e.get("message", ""), "an escape sequence in ?status is escaped in the message", e)


# ---- point 5: database errors carry no SQL ----

def part_database_errors(c):
    srv, env = c.srv, c.env
    rid = c.echo_id
    env.sql("RENAME TABLE run_files TO run_files_away")
    try:
        r = srv.get(f"/api/v1/runs/{rid}/files/document.json")
        e = check_error(r, 503, "a database error: 503", "database")
        ok(not SQL_WORDS.search(r.body) and "run_files" not in e.get("message", ""),
           "a database error: the reply carries no SQL", r)
        ok("database unavailable" in e.get("message", ""), "a database error: says the database is unavailable", e)
    finally:
        env.sql("RENAME TABLE run_files_away TO run_files")
    ok(srv.wait_log("run_files"), "a database error: the details are in the log")
    env.sql("RENAME TABLE outbox TO outbox_away")
    try:
        r = srv.get("/api/v1/outbox")
        check_error(r, 503, "an outbox database error: 503", "database")
        ok(not SQL_WORDS.search(r.body), "an outbox database error: no SQL", r)
    finally:
        env.sql("RENAME TABLE outbox_away TO outbox")
    eq(srv.get("/api/v1/outbox").status, 200, "the outbox answers again")


# ---- point 9: libevent's own error pages ----

def part_libevent_pages(c):
    srv = c.srv
    port = srv.port
    cases = [
        # libevent 2.1 answers headers over the limit 400
        ("a header line over 16 KiB", b"GET /api/v1/runs HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000
         + b"\r\n\r\n", (400, 413)),
        ("40 headers of 500 bytes", b"GET /api/v1/runs HTTP/1.1\r\nHost: x\r\n"
         + b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 500) for i in range(40)) + b"\r\n", (400, 413)),
        ("a request line over 16 KiB", b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", (400, 413)),
        ("a chunked body over 1 MiB", b"POST /api/v1/reports/echo/runs HTTP/1.1\r\nHost: x\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n200000\r\n", 413),  # a chunk of 2 MiB announced
        ("a body over 1 MiB", b"POST /api/v1/reports/echo/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
         + OPERATOR.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n", 413),
        ("a request line that is not HTTP", b"GARBAGE\r\n\r\n", 400),
        ("an unknown Expect", b"POST /api/v1/reports/echo/runs HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n"
         b"Content-Length: 2\r\n\r\n{}", 417),
        ("a method not allowed", b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    ]
    for desc, data, status in cases:
        st, headers, body = raw_http(port, data)
        want = status if isinstance(status, tuple) else (status,)
        ok(st in want, f"{desc}: answered {' or '.join(map(str, want))}", st)
        e = json_error_body(body)
        ok(e is not None and e.get("code") and e.get("message"), f"{desc}: the body is the JSON error", body[:300])
        ok(headers.get("content-type", "").startswith("application/json"), f"{desc}: Content-Type is JSON",
           headers)
        ok(b"<HTML" not in body.upper(), f"{desc}: no HTML", body[:300])
    ok(request(port, "GET", "/healthz").status == 200, "libevent pages: the server still answers")
    # ordinary replies on a kept-alive connection are untouched
    st, headers, body = raw_http(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    ok(st == 200 and json.loads(body).get("status") == "ok", "libevent pages: /healthz is untouched", body)


# ---- point 9: the command line's errors ----

def part_cli(c):
    env = c.env
    cases = [
        ("a usage error", ["run", "echo", "--as-of", b"\xff\x1b[2Jx"], 2),
        ("an unknown report", ["run", b"nosuch\xff\x1b]0;pwned\x07"], 1),
        ("a --param that is not UTF-8", ["run", "echo", "--param", b"x=a\xffb"], 2),
        ("an --org that is not UTF-8", ["run", "echo", "--org", b"\xff"], 2),
        ("a configuration that cannot be read", ["-c", env.dir.encode() + b"/nope\xff\x1b[1m.json", "summary"], 1),
    ]
    for desc, args, code in cases:
        argv = [obtest.OVERBLIK] + (["-c", env.config] if args[0] != "-c" else []) + args
        r = subprocess.run(argv, capture_output=True, timeout=60)
        eq(r.returncode, code, f"cli, {desc}: exit status {code}", r.stderr)
        ok(b"\xff" not in r.stderr and b"\x1b" not in r.stderr and b"\x07" not in r.stderr,
           f"cli, {desc}: no raw byte reaches the terminal", r.stderr)
        ok(b"\\xFF" in r.stderr, f"cli, {desc}: the byte is shown escaped", r.stderr)
        ok(not SQL_WORDS.search(r.stderr), f"cli, {desc}: no SQL", r.stderr)


def test_http_hardening():
    with Env("httphard") as env:
        env.start_db()
        c = Ctx()
        c.env = env
        port = free_port()
        write_config(env.config, env, base_config(port))
        c.srv = Server(env, port)
        try:
            c.srv.start()
            r, c.echo_id = c.srv.trigger("echo", {})
            c.srv.wait_run(c.echo_id)
            subtests(c, part_files, part_body, part_path_and_query, part_database_errors, part_libevent_pages,
                     part_cli)
        finally:
            rc = c.srv.stop()
        eq(rc, 0, "overblikd exits 0 on SIGTERM")


if __name__ == "__main__":
    run_tests(test_http_hardening)
