#!/usr/bin/python3
"""Small SMTP server for overblik's integration tests.

Built on aiosmtpd (Debian's python3-aiosmtpd, 1.4.x).  Integration tests start
it as a subprocess, wait for --ready-file to appear, and then read what it
received from --dir:

  DIR/NNNNNN.eml   raw message bytes as received (after SMTP dot-unstuffing,
                   CRLF line ends kept)
  DIR/NNNNNN.json  {"mail_from": str, "rcpt_tos": [str, ...], "tls": bool,
                    "auth": str or null, "peer": "ip"}

Both files are written atomically (temporary file + rename), the .eml first
and the .json last, so a test that counts *.json files only ever sees complete
messages.  Numbers are 6 digits and continue after the highest number already
present in DIR, so restarting the server on the same DIR never reuses a name.
A message is stored before the 250 reply to end-of-DATA is sent.

The null reverse-path (MAIL FROM:<>) is recorded as "mail_from": "".

Runs until SIGTERM or SIGINT, then exits 0.
"""

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import ssl
import sys
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# --------------------------------------------------------------------------
# Reply texts

RCPT_TEXTS = {
    421: "4.3.0 <{addr}>: service not available",
    450: "4.2.0 <{addr}>: mailbox unavailable, try again later",
    451: "4.3.0 <{addr}>: try again later",
    452: "4.2.2 <{addr}>: insufficient storage, try again later",
    550: "5.1.1 <{addr}>: mailbox unavailable",
    551: "5.1.6 <{addr}>: user not local",
    552: "5.2.2 <{addr}>: mailbox full",
    553: "5.1.3 <{addr}>: mailbox name not allowed",
    554: "5.7.1 <{addr}>: rejected",
}
DATA_TEXTS = {
    421: "4.3.0 service not available",
    450: "4.2.0 mailbox unavailable, try again later",
    451: "4.3.0 try again later",
    452: "4.3.1 insufficient storage, try again later",
    550: "5.7.1 message rejected",
    552: "5.3.4 message too big",
    554: "5.6.0 transaction failed",
}


def reply(code, table, **kw):
    text = table.get(code)
    if text is None:
        if code >= 500:
            text = "5.0.0 {what}rejected"
        else:
            text = "4.0.0 {what}try again later"
        what = "<{addr}>: ".format(**kw) if "addr" in kw else ""
        return "%d %s" % (code, text.format(what=what))
    return "%d %s" % (code, text.format(**kw))


def log(fmt, *args):
    """One line per event on stderr (for debugging failing tests)."""
    msg = fmt % args if args else fmt
    sys.stderr.write("smtpd %s %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


# --------------------------------------------------------------------------
# Argument parsing

def _code(s):
    if not re.fullmatch(r"[45]\d\d", s):
        raise argparse.ArgumentTypeError(
            "%r is not a 4xx/5xx SMTP reply code" % s)
    return int(s)


def _code_count(s):
    """CODE[:COUNT] -> (code, count or None for 'always')."""
    code, sep, count = s.partition(":")
    code = _code(code)
    if not sep:
        return code, None
    if not count.isdigit():
        raise argparse.ArgumentTypeError("COUNT in %r must be a number" % s)
    return code, int(count)


def _rcpt_fail(s):
    """ADDR=CODE[:COUNT] -> (addr lowercased, code, count or None)."""
    addr, sep, rest = s.rpartition("=")
    if not sep or not addr:
        raise argparse.ArgumentTypeError(
            "%r: expected ADDR=CODE[:COUNT]" % s)
    code, count = _code_count(rest)
    return addr.strip("<>").lower(), code, count


def _user_password(s):
    user, sep, password = s.partition(":")
    if not sep or not user:
        raise argparse.ArgumentTypeError("%r: expected USER:PASSWORD" % s)
    return user, password


def _seconds(s):
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number" % s)
    if v < 0:
        raise argparse.ArgumentTypeError("delay must be >= 0")
    return v


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="SMTP server for integration tests: stores every accepted "
        "message as DIR/NNNNNN.eml (raw bytes) plus DIR/NNNNNN.json "
        "(envelope, tls, auth, peer).  Runs until SIGTERM/SIGINT.",
        epilog="Example: %(prog)s --port 0 --dir /tmp/mails "
        "--ready-file /tmp/mails.port --rcpt-fail bad@x=550 "
        "--rcpt-fail flaky@x=451:1 --data-fail 451:1")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, required=True,
                   help="TCP port to listen on; 0 picks a free port "
                   "(see --ready-file)")
    p.add_argument("--dir", required=True,
                   help="directory where received messages are stored "
                   "(created if missing)")
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"),
                   help="offer STARTTLS using this PEM certificate chain "
                   "and private key")
    p.add_argument("--require-starttls", action="store_true",
                   help="refuse everything but EHLO/NOOP/STARTTLS/QUIT "
                   "before STARTTLS (530 5.7.0); needs --starttls")
    p.add_argument("--auth", type=_user_password, metavar="USER:PASSWORD",
                   help="advertise AUTH PLAIN LOGIN (also without TLS), "
                   "accept only this pair (else 535) and require AUTH "
                   "before MAIL (else 530)")
    p.add_argument("--rcpt-fail", type=_rcpt_fail, action="append",
                   default=[], metavar="ADDR=CODE[:COUNT]",
                   help="answer RCPT TO:<ADDR> (case-insensitive) with CODE "
                   "the first COUNT times (default: always), then accept. "
                   "Repeatable.  E.g. a@x=550, b@x=451:1")
    p.add_argument("--data-fail", type=_code_count, metavar="CODE[:COUNT]",
                   help="answer end-of-DATA with CODE for the first COUNT "
                   "messages (default: always) instead of 250; "
                   "refused messages are not stored")
    p.add_argument("--delay-data", type=_seconds, default=0.0,
                   metavar="SECONDS",
                   help="wait this long before answering end-of-DATA; the "
                   "message is stored only if the client is still there")
    p.add_argument("--drop-data", metavar="ADDR", action="append", default=[],
                   help="hang up, without a reply, at the end of DATA of a "
                   "message for ADDR (a server that breaks the session on "
                   "one message); repeatable")
    p.add_argument("--ready-file", metavar="FILE",
                   help="once listening, write the actual port number and a "
                   "newline here (atomically)")
    p.add_argument("--verbose", action="store_true",
                   help="also show aiosmtpd's own debug log on stderr")
    args = p.parse_args(argv)
    if args.require_starttls and not args.starttls:
        p.error("--require-starttls needs --starttls CERT KEY")
    if not 0 <= args.port <= 65535:
        p.error("--port must be 0..65535")
    return args


# --------------------------------------------------------------------------
# Storage

NAME_RE = re.compile(r"^(\d{6})\.(?:eml|json)$")


def write_atomic(path, data):
    d, base = os.path.split(path)
    tmp = os.path.join(d, ".%s.%d.tmp" % (base, os.getpid()))
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Store:
    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        highest = 0
        for name in os.listdir(directory):
            m = NAME_RE.match(name)
            if m:
                highest = max(highest, int(m.group(1)))
        self.next = highest + 1

    def save(self, raw, meta):
        while True:
            n = self.next
            self.next += 1
            stem = os.path.join(self.dir, "%06d" % n)
            if not (os.path.exists(stem + ".eml")
                    or os.path.exists(stem + ".json")):
                break
        write_atomic(stem + ".eml", raw)
        write_atomic(stem + ".json",
                     (json.dumps(meta, indent=1) + "\n").encode("utf-8"))
        return "%06d" % n


# --------------------------------------------------------------------------
# aiosmtpd handler

class Handler:
    def __init__(self, args, store):
        self.store = store
        self.auth = args.auth
        self.delay = args.delay_data
        self.drop = [a.lower() for a in args.drop_data]
        # addr -> [code, remaining or None]
        self.rcpt_fail = {a: [c, n] for a, c, n in args.rcpt_fail}
        self.data_fail = list(args.data_fail) if args.data_fail else None

    # aiosmtpd >= 1.3 new-style (5 argument) EHLO hook.  With it, aiosmtpd
    # no longer sets session.host_name itself, so we must.
    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        if not self.auth:
            # Don't advertise AUTH at all (aiosmtpd would otherwise print an
            # empty "250-AUTH " line, or one that always fails after TLS).
            responses = [r for r in responses if not r.startswith("250-AUTH")]
        log("EHLO %s from %s tls=%s", hostname, _peer(session),
            session.ssl is not None)
        return responses

    async def handle_MAIL(self, server, session, envelope, address,
                          mail_options):
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        log("MAIL FROM:<%s>%s -> 250 (tls=%s auth=%s)",
            "" if address == "<>" else address,
            "".join(" " + o for o in mail_options),
            session.ssl is not None, _auth_user(session))
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        rule = self.rcpt_fail.get(address.lower())
        if rule is not None and (rule[1] is None or rule[1] > 0):
            if rule[1] is not None:
                rule[1] -= 1
            status = reply(rule[0], RCPT_TEXTS, addr=address)
        else:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
            status = "250 OK"
        log("RCPT TO:<%s> -> %s", address, status)
        server.logged_reply = status
        return status

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        if self.delay:
            log("DATA %d bytes received, delaying reply %gs",
                len(raw), self.delay)
            try:
                await asyncio.sleep(self.delay)
            except asyncio.CancelledError:
                log("DATA client went away during delay; not stored")
                raise
        if any(r.lower() in self.drop for r in envelope.rcpt_tos):
            log("DATA %d bytes for %s -> hang up (--drop-data)", len(raw), ",".join(envelope.rcpt_tos))
            server.transport.abort()
            raise asyncio.CancelledError()
        if self.data_fail and (self.data_fail[1] is None
                               or self.data_fail[1] > 0):
            if self.data_fail[1] is not None:
                self.data_fail[1] -= 1
            status = reply(self.data_fail[0], DATA_TEXTS)
            log("DATA %d bytes -> %s", len(raw), status)
            server.logged_reply = status
            return status
        mail_from = envelope.mail_from
        meta = {
            "mail_from": "" if mail_from == "<>" else mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": session.ssl is not None,
            "auth": _auth_user(session),
            "peer": _peer(session),
        }
        n = self.store.save(raw, meta)
        status = "250 OK stored as %s" % n
        log("DATA %d bytes -> %s", len(raw), status)
        return status

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = False
        if self.auth and isinstance(auth_data, LoginPassword):
            user, password = self.auth
            ok = (auth_data.login == user.encode("utf-8")
                  and auth_data.password == password.encode("utf-8"))
        login = getattr(auth_data, "login", b"")
        log("AUTH %s user=%r -> %s", mechanism,
            login.decode("utf-8", "replace"), "235" if ok else "535")
        # handled=False: let aiosmtpd send "535 5.7.8 Authentication
        # credentials invalid" on failure.
        if not ok:
            server.logged_reply = "535 5.7.8 Authentication credentials invalid"
        return AuthResult(success=ok, handled=False, auth_data=auth_data)


def _peer(session):
    p = session.peer
    if isinstance(p, (tuple, list)) and p:
        return p[0]
    return None if p is None else str(p)


def _auth_user(session):
    # Don't use session.login_data: deprecated in 1.4 and logs a warning.
    if not session.authenticated:
        return None
    login = getattr(session.auth_data, "login", None)
    if isinstance(login, bytes):
        return login.decode("utf-8", "replace")
    return login


class TestSMTP(SMTP):
    logged_reply = None

    async def push(self, status):
        # aiosmtpd 1.4 answers "530 Must issue a STARTTLS command first"
        # without an enhanced status code; add RFC 3207's 5.7.0.
        if status == "530 Must issue a STARTTLS command first":
            status = "530 5.7.0 Must issue a STARTTLS command first"
        # Log refusals made by aiosmtpd itself (530 need STARTTLS/AUTH, 503
        # bad sequence, 535 bad credentials, 552 too big, ...); the handler
        # already logged its own.
        if (isinstance(status, str) and status[:1] in ("4", "5")
                and status != self.logged_reply and self.session is not None):
            log("reply to %s: %s", _peer(self.session), status)
        self.logged_reply = None
        await super().push(status)

    def connection_made(self, transport):
        first = self.transport is None
        super().connection_made(transport)
        if first:
            log("connect from %s", _peer(self.session))
        else:
            log("STARTTLS done for %s", _peer(self.session))

    def connection_lost(self, error):
        log("disconnect %s", _peer(self.session))
        super().connection_lost(error)


# --------------------------------------------------------------------------
# Main

async def serve(args):
    loop = asyncio.get_running_loop()
    store = Store(args.dir)
    handler = Handler(args, store)

    tls_context = None
    if args.starttls:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(args.starttls[0], args.starttls[1])

    kwargs = dict(
        data_size_limit=32 * 1024 * 1024,
        decode_data=False,
        hostname="localhost",   # avoid a slow socket.getfqdn() per connection
        tls_context=tls_context,
        require_starttls=args.require_starttls,
        timeout=300,
        loop=loop,
    )
    if args.auth:
        kwargs.update(auth_required=True, auth_require_tls=False,
                      authenticator=handler.authenticate)
    else:
        kwargs.update(auth_exclude_mechanism=["PLAIN", "LOGIN"])

    server = await loop.create_server(lambda: TestSMTP(handler, **kwargs),
                                      host=args.host, port=args.port)
    port = server.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    if args.ready_file:
        write_atomic(args.ready_file, b"%d\n" % port)
    print("listening on %s:%d" % (args.host, port), flush=True)

    await stop.wait()
    log("signal received, shutting down")
    server.close()
    await server.wait_closed()


def main(argv=None):
    args = parse_args(argv)
    # auth_required without auth_require_tls makes aiosmtpd warn (via both
    # warnings and logging); that is intended here.
    warnings.simplefilter("ignore")
    logging.basicConfig(stream=sys.stderr,
                        format="aiosmtpd %(levelname)s %(message)s")
    logging.getLogger("mail.log").setLevel(
        logging.DEBUG if args.verbose else logging.ERROR)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
