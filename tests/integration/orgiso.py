"""orgiso - the two-organisations check every report's integration test makes
(issue 10, "What it must show" 3): runs of one report for two or more
organisations in one database, and nothing of one organisation in another's
run: not in its REPORT.json (uuids of any of the other's objects, its name,
CVR, figures), not in its PDF (pdftotext: the other's name and row names),
not in its outbox (recipients, addresses, items, the messages' text).

    from orgiso import assert_org_isolation
    assert_org_isolation(env, "contract_expiry", {1: run_a, 2: run_b},
                         rows_key="contracts", row_table="contracts")

Everything is read back from what the run left (state_dir/runs/ID/, the
outbox tables) and compared with the database's own rows, so the check knows
nothing of the report's rules."""

import email
import email.policy
import json
import os
import re
import subprocess

from obtest import ok, eq

# Tables whose rows carry an organisation's KITOS uuids.
UUID_TABLES = ["org_units", "people", "systems", "contracts", "data_processing"]


def _null(v):
    return None if v == "NULL" else v


def org_data(env, org_id, row_table):
    """What belongs to one organisation in the database."""
    name, cvr, uuid = (_null(x) for x in env.sql(
        f"SELECT name, IFNULL(cvr, 'NULL'), IFNULL(kitos_uuid, 'NULL') FROM organisations WHERE id = {org_id}")[0])
    uuids = {uuid} if uuid else set()
    for t in UUID_TABLES:
        uuids |= {r[0] for r in env.sql(f"SELECT kitos_uuid FROM {t} WHERE org_id = {org_id}")}
    return {
        "id": org_id, "name": name, "cvr": cvr, "kitos_uuid": uuid, "uuids": uuids,
        "row_uuids": {r[0] for r in env.sql(f"SELECT kitos_uuid FROM {row_table} WHERE org_id = {org_id}")},
        "row_names": {r[0] for r in env.sql(f"SELECT name FROM {row_table} WHERE org_id = {org_id}")},
        "people": {r[0] for r in env.sql(f"SELECT id FROM people WHERE org_id = {org_id}")},
        "emails": {r[0].lower() for r in env.sql(f"SELECT email FROM people WHERE org_id = {org_id} "
                                                 f"AND email IS NOT NULL")},
    }


def run_files(env, report, run_id):
    """(REPORT.json as an object, the PDF's text) of a run, from state_dir/runs/ID/."""
    d = os.path.join(env.state, "runs", str(run_id))
    with open(os.path.join(d, report + ".json"), encoding="utf-8") as f:
        j = json.load(f)
    text = subprocess.run(["pdftotext", os.path.join(d, report + ".pdf"), "-"], capture_output=True,
                          text=True).stdout
    return j, text


def flat(text):
    """Whitespace collapsed: a table cell's name wrapped over lines reads as one."""
    return re.sub(r"\s+", " ", text)


def outbox_messages(env, run_id):
    """[(id, recipient, org_id, EmailMessage)] of a run's outbox."""
    out = []
    for mid, rcpt, oid, hexmime in env.sql(f"SELECT id, recipient, IFNULL(org_id, 'NULL'), HEX(mime) FROM outbox "
                                           f"WHERE run_id = {run_id} ORDER BY id"):
        msg = email.message_from_bytes(bytes.fromhex(hexmime), policy=email.policy.default)
        out.append((int(mid), rcpt, oid, msg))
    return out


def message_text(msg):
    """Subject, To and every text part, decoded."""
    parts = [str(msg.get("Subject", "")), str(msg.get("To", ""))]
    for p in msg.walk():
        if p.get_content_maintype() == "text":
            parts.append(p.get_content())
    return "\n".join(parts)


def _strings(v):
    """Every string value in a JSON value."""
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from _strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from _strings(x)


def assert_org_isolation(env, report, runs, rows_key, row_table):
    """runs: {organisation id: run id}, one succeeded run of report per
    organisation. rows_key is REPORT.json's rows of the objects in row_table
    (e.g. "contracts" and the contracts table): each run's rows are exactly its
    organisation's. Prints TAP lines; returns {org id: REPORT.json}."""
    data = {oid: org_data(env, oid, row_table) for oid in runs}
    files = {oid: run_files(env, report, rid) for oid, rid in runs.items()}
    for oid, rid in runs.items():
        me = data[oid]
        j, pdf = files[oid]
        tag = f"{report} run {rid} ({me['name']})"
        eq(env.sql(f"SELECT org_id, status FROM runs WHERE id = {rid}"), [[str(oid), "succeeded"]],
           f"{tag}: the run is of organisation {oid} and succeeded")
        eq(j.get("organisation"), {"name": me["name"], "cvr": me["cvr"], "kitos_uuid": me["kitos_uuid"]},
           f"{tag}: REPORT.json's organisation is its own")
        rows = j.get(rows_key) or []
        got = [r.get("uuid") for r in rows]
        eq(len(got), len(set(got)), f"{tag}: each row once")
        eq(set(got), me["row_uuids"], f"{tag}: its {rows_key} rows are exactly its organisation's {row_table}",
           f"missing {sorted(me['row_uuids'] - set(got))[:5]}, foreign {sorted(set(got) - me['row_uuids'])[:5]}")
        names_here = me["row_names"] | {me["name"]}
        text_pdf = flat(pdf)
        ok(me["name"] in text_pdf, f"{tag}: its PDF names its organisation")
        own_unique = [n for n in me["row_names"] if not any(n in o["row_names"] for k, o in data.items() if k != oid)]
        ok(any(flat(n) in text_pdf for n in own_unique), f"{tag}: its PDF names some of its own {row_table}",
           own_unique[:5])
        msgs = outbox_messages(env, rid)
        items = env.sql(f"SELECT i.org_id, i.dedupe_rcpt, i.kv FROM outbox_items i JOIN outbox o "
                        f"ON o.id = i.message WHERE o.run_id = {rid}")
        rcpts = [r[0].lower() for r in env.sql(f"SELECT r.email FROM outbox_rcpts r JOIN outbox o "
                                               f"ON o.id = r.message WHERE o.run_id = {rid}")]
        eq({m[2] for m in msgs} - {str(oid)}, set(), f"{tag}: its {len(msgs)} messages are keyed to organisation {oid}")
        eq({i[0] for i in items} - {str(oid)}, set(), f"{tag}: and its {len(items)} items")
        owners = {m[1][6:] for m in msgs if m[1].startswith("owner:")} | \
                 {i[1][6:] for i in items if i[1].startswith("owner:")}
        eq(owners - me["people"], set(), f"{tag}: every owner it mails or dedupes for is its organisation's person")
        ok(all(me["name"] in message_text(m[3]) for m in msgs), f"{tag}: every message names its organisation")
        texts = [message_text(m[3]) for m in msgs]
        kvs = " ".join(i[2] for i in items)
        jtext = json.dumps(j, ensure_ascii=False)
        for other_id, other in data.items():
            if other_id == oid:
                continue
            on = other["name"]
            theirs = [n for n in other["row_names"] if not any(n in h for h in names_here)]
            foreign = sorted(u for u in other["uuids"] if u in jtext)
            eq(foreign, [], f"{tag}: REPORT.json holds no uuid of {on}'s objects")
            ok(on not in jtext, f"{tag}: REPORT.json does not name {on}")
            ok(other["cvr"] not in set(_strings(j)), f"{tag}: nor carries its CVR")
            ok(on not in text_pdf, f"{tag}: the PDF does not name {on}")
            eq(sorted(n for n in theirs if flat(n) in text_pdf), [],
               f"{tag}: the PDF names none of {on}'s {len(theirs)} {row_table} that {me['name']} lacks")
            eq(sorted(set(rcpts) & other["emails"]), [], f"{tag}: no message goes to an address of {on}'s people")
            eq(sorted(u for u in other["uuids"] if u in kvs), [], f"{tag}: no item carries a uuid of {on}'s")
            ok(not any(on in t for t in texts), f"{tag}: no message names {on}")
            eq(sorted({n for n in theirs for t in texts if n in t}), [],
               f"{tag}: no message names one of {on}'s {row_table}")
            ok(j.get("figures") != files[other_id][0].get("figures"),
               f"{tag}: its figures are not {on}'s (the data differ)")
    return {oid: files[oid][0] for oid in runs}
