#!/usr/bin/python3
"""smtplib_send.py - the Python client for the mail benchmarks: sends prebuilt
messages to an SMTP server on 127.0.0.1 with the standard library's smtplib.

Every DIR/*.eml (RFC 5322 messages with CRLF line ends) is read into memory
first, in name order; --count messages are sent, going round the files again
if there are fewer of them (default: each file once). Each message goes out
with smtp.sendmail(FROM, [RCPT], raw_bytes), which dot-stuffs it.

  --mode one   a new session per message: connect, EHLO, MAIL, RCPT, DATA, QUIT
  --mode many  all the messages in one session, QUIT at the end

Prints one line of JSON: mode, messages, bytes (of the messages as read,
before dot-stuffing), seconds (wall clock of the sending loop), cpu_seconds
(user + system time of this process during the loop), msg_per_s and
cpu_ms_per_msg.

Usage: smtplib_send.py --port P --dir DIR --mode one|many [--count N]
                       [--from ADDR] [--rcpt ADDR]"""

import argparse
import glob
import json
import os
import resource
import smtplib
import sys
import time


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser(description="Send DIR/*.eml to 127.0.0.1:PORT with smtplib.")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--mode", choices=("one", "many"), required=True)
    ap.add_argument("--count", type=int, default=None, help="messages to send (default: one per file)")
    ap.add_argument("--from", dest="sender", default="overblik@bench.invalid")
    ap.add_argument("--rcpt", default="owner@bench.invalid")
    args = ap.parse_args()

    paths = sorted(glob.glob(os.path.join(args.dir, "*.eml")))
    if not paths:
        sys.exit("smtplib_send.py: no *.eml in %s" % args.dir)
    messages = []
    for p in paths:
        with open(p, "rb") as f:
            messages.append(f.read())
    count = len(messages) if args.count is None else args.count
    if count < 0:
        sys.exit("smtplib_send.py: --count must not be negative")
    batch = [messages[i % len(messages)] for i in range(count)]
    nbytes = sum(len(m) for m in batch)
    host, sender, rcpts = "127.0.0.1", args.sender, [args.rcpt]

    def check(refused):
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    if args.mode == "one":
        for msg in batch:
            smtp = smtplib.SMTP(host, args.port)
            try:
                smtp.ehlo()
                check(smtp.sendmail(sender, rcpts, msg))
                smtp.quit()
            finally:
                smtp.close()
    else:
        smtp = smtplib.SMTP(host, args.port)
        try:
            smtp.ehlo()
            for msg in batch:
                check(smtp.sendmail(sender, rcpts, msg))
            smtp.quit()
        finally:
            smtp.close()
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0

    print(json.dumps({
        "mode": args.mode,
        "messages": count,
        "bytes": nbytes,
        "seconds": round(wall, 6),
        "cpu_seconds": round(cpu, 6),
        "msg_per_s": round(count / wall, 1) if wall > 0 else None,
        "cpu_ms_per_msg": round(1000 * cpu / count, 4) if count else None,
    }), flush=True)


if __name__ == "__main__":
    main()
