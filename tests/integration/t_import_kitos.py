#!/usr/bin/python3
"""overblik import kitos against a real private mariadbd: every KITOS fixture
imports with its problems named; importing twice changes nothing; a JSON
syntax error, a truncated file and JSON that is not KITOS data each fail with
file and position and leave every table as it was, also after valid files in
the same command; string and integer enums give the same rows; owners, their
e-mail and the configured owner role. Every string field of every kind, too
long (cut to its column, named), not UTF-8 or holding NUL (that object skipped,
named), never fails the import; neither do a raw control character or half an
emoji in one object; a duplicate key fails the file by line and column."""

import glob
import json
import os
import subprocess

import obtest
from obtest import Env, ok, eq, skip, run_tests, portfolio_snapshot, SHARED_DIR, OVERBLIK

FIXTURES = sorted(glob.glob(os.path.join(SHARED_DIR, "kitos", "fixtures", "**", "*.json"), recursive=True))
ORG = {"cvr": "29189587", "uuid": "0b1c3a52-6f0e-4e8e-9d6a-3c3f5b8a0001", "name": "Testrup Kommune"}


def usage(uuid, name, owner=None, **over):
    u = {
        "uuid": uuid,
        "systemContext": {"uuid": "9c8ddc3f-ffdd-47e5-9e46-1d37826d2000", "name": name},
        "organizationContext": ORG,
        "general": {"localCallName": name, "numberOfExpectedUsers": {"lowerBound": 10, "upperBound": 50},
                    "validity": {"lifeCycleStatus": "Operational"}, "hostedAt": "External"},
        "roles": [],
        "organizationUsage": {"responsibleOrganizationUnit": {"uuid": "5e0d8f2c-1111-4a4a-9b9b-000000000001",
                                                              "name": "Børn og Skole"}},
        "gdpr": {"dataSensitivityLevels": ["PersonData", "SensitiveData"], "riskAssessmentConducted": "Yes",
                 "riskAssessmentConductedDate": "2025-03-01T00:00:00Z", "riskAssessmentResult": "Medium",
                 "plannedRiskAssessmentDate": "0001-01-01T00:00:00Z", "dpiaConducted": "No"},
    }
    if owner:
        u["roles"].append({"user": {"uuid": owner[0], "name": owner[1]},
                           "role": {"uuid": "2b66627d-93d7-4c2d-b84d-cbf1b7040000", "name": owner[2]}})
    for k, v in over.items():
        u[k] = v
    return u


def write(env, name, data):
    path = os.path.join(env.dir, name)
    with open(path, "w", encoding="utf-8") as f:
        if isinstance(data, str):
            f.write(data)
        else:
            json.dump(data, f, ensure_ascii=False, indent=1)
    return path


def import_json(env, *files):
    r = env.run("import", "kitos", "--json", *files)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, None


def test_every_fixture_imports():
    ok(len(FIXTURES) >= 20, f"the shared KITOS fixtures are there ({len(FIXTURES)} files)")
    with Env("fixtures") as env:
        env.start_db()
        for path in FIXTURES:
            name = os.path.relpath(path, os.path.join(SHARED_DIR, "kitos", "fixtures"))
            r, s = import_json(env, path)
            ok(r.returncode == 0 and s is not None, f"{name} imports", r.stderr)
            if s is None:
                continue
            total = sum(s[k]["created"] + s[k]["updated"] + s[k]["unchanged"] + s[k]["skipped"]
                        for k in ("systems", "contracts", "people", "data_processing"))
            ok(total + s["unknown_objects"] > 0, f"{name}: every object is counted", r.stdout)
            for w in s["warnings"]:
                ok(w["file"] == path and w["message"] and "index" in w and "uuid" in w and "field" in w,
                   f"{name}: warning names file, index, uuid and field", w)


def test_fixture_problems_named():
    with Env("problems") as env:
        env.start_db()
        fx = os.path.join(SHARED_DIR, "kitos", "fixtures")
        r, s = import_json(env, os.path.join(fx, "it-system-usage", "gdpr", "it-system-usage-risk-assessment.json"))
        fields = [w["field"] for w in s["warnings"]]
        ok("gdpr.plannedRiskAssessmentDate" in fields,
           "the malformed date 2024-01-15T00:00:000Z is named by its field", s["warnings"])
        eq(s["systems"]["created"], 1, "and the usage is still imported")
        r, s = import_json(env, os.path.join(fx, "it-contracts", "it-contract.json"))
        ws = {w["field"]: w for w in s["warnings"]}
        ok("systemUsages" in ws and "3e9ebd8b-b37e-4019-9b33-906cac65011b" in ws["systemUsages"]["message"],
           "a contract naming an unknown usage is reported with that usage's uuid", s["warnings"])
        ok(ws.get("systemUsages", {}).get("uuid") == "ffcdc85f-9448-4355-b519-e2dd89b76758",
           "the warning carries the contract's uuid", s["warnings"])
        eq(s["contracts"]["created"], 1, "and the contract is imported")
        eq(env.sql("SELECT notice_months, notice_by_end_of, extension_options, extension_total, "
                   "extensions_used, irrevocable_until, terminated_at, continuous FROM contracts "
                   "WHERE kitos_uuid = 'ffcdc85f-9448-4355-b519-e2dd89b76758'"),
           [["3", "year", "1 x ½ år", "1", "20", "2024-04-18", "2024-04-11", "0"]],
           "the contract's terms are stored as KITOS gives them")
        r, s = import_json(env, os.path.join(fx, "dpr", "it-system-usage-data-processing-registrations.json"))
        eq(s["data_processing"]["created"] + s["data_processing"]["skipped"], 2,
           "the minimal data processing registrations are recognised as such")


def test_import_twice_changes_nothing():
    with Env("twice") as env:
        env.start_db()
        r, first = import_json(env, *FIXTURES)
        ok(r.returncode == 0, "all fixtures in one command import", r.stderr)
        before = portfolio_snapshot(env)
        r, second = import_json(env, *FIXTURES)
        ok(r.returncode == 0, "the same files import again", r.stderr)
        for kind in ("systems", "contracts", "people", "data_processing"):
            eq(second[kind]["created"] + second[kind]["updated"], 0, f"{kind}: nothing created or updated")
            eq(second[kind]["unchanged"], first[kind]["created"] + first[kind]["updated"],
               f"{kind}: everything unchanged the second time")
        eq(portfolio_snapshot(env), before, "every table holds the same rows after the second import")


def test_fatal_errors_change_nothing():
    with Env("fatal") as env:
        env.start_db()
        good = write(env, "good.json", [usage("11111111-2222-4333-8444-555555555501", "Aula")])
        env.run("import", "kitos", good)
        before = portfolio_snapshot(env)
        other = write(env, "other.json", [usage("11111111-2222-4333-8444-555555555502", "Cura")])
        cases = [
            ("syntax.json", '[\n  {"uuid": "x",\n   "name" "Cura"}\n]\n', "syntax.json:3:", "JSON syntax error"),
            ("truncated.json", json.dumps([usage("11111111-2222-4333-8444-555555555503", "SBSYS")])[:300],
             "truncated.json:", "unexpected end of file"),
            ("number.json", "42\n", "number.json", "not KITOS data"),
            ("strings.json", '[\n  "it-system",\n  "contract"\n]\n', "strings.json", "not KITOS data"),
        ]
        for name, text, where, what in cases:
            bad = write(env, name, text)
            r = env.run("import", "kitos", good, other, bad)
            eq(r.returncode, 1, f"{name}: the import fails")
            ok(where in r.stderr and what in r.stderr, f"{name}: the error names {where} and says {what}",
               r.stderr)
            ok("nothing was changed" in r.stderr, f"{name}: the error says nothing was changed", r.stderr)
            eq(portfolio_snapshot(env), before, f"{name}: every table is as it was, despite the valid files "
               "before it")
        r = env.run("import", "kitos", good, os.path.join(env.dir, "absent.json"))
        ok(r.returncode == 1 and "absent.json: cannot read" in r.stderr, "an unreadable file is named", r.stderr)
        strings = write(env, "strings2.json", '[\n  {"uuid": "11111111-2222-4333-8444-555555555509"},\n  "x"\n]\n')
        r = env.run("import", "kitos", strings)
        ok(r.returncode == 1 and "element 1" in r.stderr, "the offending array element is named", r.stderr)


def test_enums_as_strings_or_integers():
    with Env("enums") as env:
        env.start_db()
        a = usage("11111111-2222-4333-8444-5555555555a1", "Som tekst")
        b = usage("11111111-2222-4333-8444-5555555555b1", "Som tal")
        b["general"]["hostedAt"] = 2
        b["general"]["validity"]["lifeCycleStatus"] = 3
        b["gdpr"]["dataSensitivityLevels"] = [1, 2]
        b["gdpr"]["riskAssessmentConducted"] = 1
        b["gdpr"]["riskAssessmentResult"] = 1
        b["gdpr"]["dpiaConducted"] = 0
        r, s = import_json(env, write(env, "enums.json", [a, b]))
        eq(s["systems"]["created"], 2, "both usages import")
        eq(s["warnings"], [], "no warnings for either encoding")
        cols = ("operations_model, kitos_lifecycle, lifecycle_phase, personal_data, ra_conducted, ra_result, "
                "ra_date, ra_planned, dpia_conducted")
        rows = env.sql(f"SELECT {cols} FROM systems ORDER BY name")
        eq(rows[0], rows[1], "strings and integers give the same row")
        eq(rows[0], ["supplier_hosted", "operational", "contract_followup", "sensitive", "yes", "medium",
                     "2025-03-01", "NULL", "no"], "the values mean what KITOS says (0001-01-01 is no date)")
        c = usage("11111111-2222-4333-8444-5555555555c1", "Ukendt")
        c["gdpr"]["riskAssessmentResult"] = "Maybe"
        del c["uuid"]
        d = usage("11111111-2222-4333-8444-5555555555d1", "Forkert enum")
        d["gdpr"]["riskAssessmentResult"] = "Maybe"
        r, s = import_json(env, write(env, "bad-enum.json", [c, d]))
        ok(r.returncode == 0, "an import with object problems still commits", r.stderr)
        w = {x["field"]: x for x in s["warnings"]}
        ok("uuid" in w and w["uuid"]["index"] == 0, "a missing uuid is named with its index", s["warnings"])
        ok("gdpr.riskAssessmentResult" in w and "Maybe" in w["gdpr.riskAssessmentResult"]["message"]
           and w["gdpr.riskAssessmentResult"]["uuid"] == "11111111-2222-4333-8444-5555555555d1",
           "an unknown enum value is named with uuid, field and value", s["warnings"])
        eq(s["systems"]["skipped"], 1, "the object without uuid is skipped")
        eq(env.scalar("SELECT ra_result IS NULL FROM systems WHERE name = 'Forkert enum'"), "1",
           "the other imports with that field empty")


def test_owners_and_email():
    with Env("owners") as env:
        env.start_db()
        owner = ("7c0d5264-cbe4-493a-8f62-4bbdb1260001", "Søren Ærø", "Systemejer")
        noemail = ("7c0d5264-cbe4-493a-8f62-4bbdb1260002", "Åse Bøgh", "Systemejer")
        ghost = ("7c0d5264-cbe4-493a-8f62-4bbdb1260003", "Ukendt Person", "Systemejer")
        usages = [usage("11111111-2222-4333-8444-000000000001", "Med ejer", owner),
                  usage("11111111-2222-4333-8444-000000000002", "Ejer uden e-mail", noemail),
                  usage("11111111-2222-4333-8444-000000000003", "Ejer ukendt", ghost),
                  usage("11111111-2222-4333-8444-000000000004", "Kun kontaktperson",
                        ("7c0d5264-cbe4-493a-8f62-4bbdb1260001", "Søren Ærø", "Kontaktperson"))]
        users = [{"uuid": owner[0], "firstName": "Søren", "lastName": "Ærø", "email": "soeren.aeroe@testrup.dk"},
                 {"uuid": noemail[0], "firstName": "Åse", "lastName": "Bøgh", "email": ""}]
        r, s = import_json(env, write(env, "usages.json", usages), write(env, "users.json", users))
        ok(r.returncode == 0, "usages and users import together", r.stderr)
        eq(s["people"]["created"], 2, "the two users become people of the usages' organisation")
        eq(env.sql("SELECT s.name, p.name, p.email FROM systems s JOIN people p ON p.id = s.owner_id "
                   "ORDER BY s.name"),
           [["Ejer uden e-mail", "Åse Bøgh", "NULL"], ["Med ejer", "Søren Ærø", "soeren.aeroe@testrup.dk"]],
           "owners resolve to people, æøå intact")
        msgs = " | ".join(w["message"] for w in s["warnings"])
        ok("Åse Bøgh" in msgs and "no e-mail" in msgs, "an owner without e-mail is reported", msgs)
        ok("Ukendt Person" in msgs and "not among the organisation's users" in msgs,
           "an owner missing from the users is reported", msgs)
        eq(env.scalar("SELECT owner_kitos_uuid IS NULL FROM systems WHERE name = 'Kun kontaktperson'"), "1",
           "another role is not taken for the owner")
    with Env("ownerrole", {"import": {"owner_role": "Kontaktperson"}}) as env:
        env.start_db()
        r, s = import_json(env, write(env, "usages.json", [usage(
            "11111111-2222-4333-8444-000000000004", "Kun kontaktperson",
            ("7c0d5264-cbe4-493a-8f62-4bbdb1260001", "Søren Ærø", "Kontaktperson"))]))
        eq(env.scalar("SELECT owner_name FROM systems"), "Søren Ærø", "import.owner_role picks the owner role")


def test_supplier_from_contract():
    with Env("supplier") as env:
        env.start_db()
        u1 = usage("11111111-2222-4333-8444-0000000000e1", "Først uden kontrakt")
        u2 = usage("11111111-2222-4333-8444-0000000000e2", "Med kontrakt")
        contract = lambda uuid, sup, us: {
            "uuid": uuid, "name": "Kontrakt " + sup, "organizationContext": ORG,
            "general": {"contractId": "K-1", "validity": {"validFrom": "2024-01-01T00:00:00Z",
                                                          "validTo": "2027-12-31T00:00:00Z"}},
            "supplier": {"organization": {"uuid": "3dc52c64-3706-40f4-bf58-000000000001", "name": sup}},
            "systemUsages": [{"uuid": x, "name": "x"} for x in us],
            "agreementPeriod": {"isContinuous": False},
            "termination": {"terms": {"noticePeriodMonths": {"name": "6"}, "noticeByEndOf": "EndOfMonth"}}}
        env.run("import", "kitos", write(env, "u1.json", [u1]))
        r, s = import_json(env, write(env, "c.json", [u2, contract("22222222-2222-4333-8444-0000000000c1",
                                                                    "Netcompany", [u1["uuid"], u2["uuid"]])]))
        eq(env.sql("SELECT name, supplier FROM systems ORDER BY name"),
           [["Først uden kontrakt", "Netcompany"], ["Med kontrakt", "Netcompany"]],
           "a system takes its contract's supplier, also when imported before the contract")
        eq(env.sql("SELECT COUNT(*) FROM contract_systems"), [["2"]], "the contract covers both systems")
        r, s = import_json(env, write(env, "c2.json", [contract("22222222-2222-4333-8444-0000000000c1",
                                                                 "Netcompany", [u2["uuid"]])]))
        eq(s["contracts"]["updated"], 1, "a contract that drops a system is updated")
        eq(env.sql("SELECT s.name FROM contract_systems cs JOIN systems s ON s.id = cs.system_id"),
           [["Med kontrakt"]], "and the dropped system is no longer covered")


def with_(obj, path, value):
    """obj with value set at the dotted path (dicts made on the way)."""
    o = obj
    keys = path.split(".")
    for k in keys[:-1]:
        o = o.setdefault(k, {})
    o[keys[-1]] = value
    return obj


def contract_obj(uuid, name="Kontrakt"):
    return {"uuid": uuid, "name": name, "organizationContext": ORG, "general": {"contractId": "K-1"},
            "agreementPeriod": {"isContinuous": False}}


def dpr_obj(uuid, name="Databehandling"):
    return {"uuid": uuid, "name": name, "organizationContext": ORG, "oversight": {},
            "general": {"isAgreementConcluded": "Yes"}}


def user_obj(uuid, **kv):
    u = {"uuid": uuid, "organizationContext": ORG, "firstName": "Anne", "lastName": "Berg", "email": "a@b.dk"}
    u.update(kv)
    return u


UNIT_UUID = "5e0d8f2c-1111-4a4a-9b9b-%012d"
ORG_UUID = "0b1c3a52-6f0e-4e8e-9d6a-%012d"

# Every string a KITOS object carries that reaches a column: (field named in
# the warning, column width, object with value v and uuid u, the SQL that
# reads it back, what the column holds for a stored value s).
FIELDS = [
    ("systemContext.name", 255, lambda u, v, i: usage(u, v),
     lambda u, i: f"SELECT name FROM systems WHERE kitos_uuid = '{u}'", None),
    ("general.localCallName", 255, lambda u, v, i: with_(usage(u, "L"), "general.localCallName", v),
     lambda u, i: f"SELECT local_name FROM systems WHERE kitos_uuid = '{u}'", None),
    ("roles.user.name", 255, lambda u, v, i: usage(u, "R", ("7c0d5264-cbe4-493a-8f62-4bbdb1260001", v, "Systemejer")),
     lambda u, i: f"SELECT owner_name FROM systems WHERE kitos_uuid = '{u}'", None),
    ("organizationUsage.responsibleOrganizationUnit.name", 255,
     lambda u, v, i: with_(usage(u, "U"), "organizationUsage.responsibleOrganizationUnit",
                           {"uuid": UNIT_UUID % i, "name": v}),
     lambda u, i: f"SELECT name FROM org_units WHERE kitos_uuid = '{UNIT_UUID % i}'", None),
    ("organizationContext.name", 255,
     lambda u, v, i: with_(usage(u, "O"), "organizationContext", {"uuid": ORG_UUID % i, "name": v}),
     lambda u, i: f"SELECT name FROM organisations WHERE kitos_uuid = '{ORG_UUID % i}'", None),
    ("organizationContext.cvr", 16,
     lambda u, v, i: with_(usage(u, "C"), "organizationContext", {"uuid": ORG_UUID % i, "name": "X", "cvr": v}),
     lambda u, i: f"SELECT cvr FROM organisations WHERE kitos_uuid = '{ORG_UUID % i}'",
     lambda s: s if s.isascii() else "NULL"),  # an ASCII column: a CVR of other letters is left out
    ("name", 255, lambda u, v, i: contract_obj(u, v),
     lambda u, i: f"SELECT name FROM contracts WHERE kitos_uuid = '{u}'", None),
    ("general.contractId", 100, lambda u, v, i: with_(contract_obj(u), "general.contractId", v),
     lambda u, i: f"SELECT contract_number FROM contracts WHERE kitos_uuid = '{u}'", None),
    ("supplier.organization.name", 255, lambda u, v, i: with_(contract_obj(u), "supplier.organization.name", v),
     lambda u, i: f"SELECT supplier FROM contracts WHERE kitos_uuid = '{u}'", None),
    ("supplier.organization.cvr", 16, lambda u, v, i: with_(contract_obj(u), "supplier.organization.cvr", v),
     lambda u, i: f"SELECT supplier_cvr FROM contracts WHERE kitos_uuid = '{u}'", None),
    ("responsible.organizationUnit.name", 255,
     lambda u, v, i: with_(contract_obj(u), "responsible.organizationUnit", {"uuid": UNIT_UUID % i, "name": v}),
     lambda u, i: f"SELECT name FROM org_units WHERE kitos_uuid = '{UNIT_UUID % i}'", None),
    ("agreementPeriod.extensionOptions.name", 100,
     lambda u, v, i: with_(contract_obj(u), "agreementPeriod.extensionOptions.name", v),
     lambda u, i: f"SELECT extension_options FROM contracts WHERE kitos_uuid = '{u}'", None),
    ("name", 255, lambda u, v, i: dpr_obj(u, v),
     lambda u, i: f"SELECT name FROM data_processing WHERE kitos_uuid = '{u}'", None),
    ("general.dataProcessors", 1000, lambda u, v, i: with_(dpr_obj(u), "general.dataProcessors", [{"name": v}]),
     lambda u, i: f"SELECT processors FROM data_processing WHERE kitos_uuid = '{u}'", None),
    ("name", 255, lambda u, v, i: user_obj(u, name=v, firstName=None, lastName=None),
     lambda u, i: f"SELECT name FROM people WHERE kitos_uuid = '{u}'", None),
    ("firstName, lastName", 255, lambda u, v, i: user_obj(u, firstName=v),
     lambda u, i: f"SELECT name FROM people WHERE kitos_uuid = '{u}'", None),
    ("email", 320, lambda u, v, i: user_obj(u, email=v + "@x.dk"),
     lambda u, i: f"SELECT IFNULL(email, 'NULL') FROM people WHERE kitos_uuid = '{u}'",
     lambda s: "NULL"),  # an address is not cut: it would be somebody else's
]
BAD = "BAD-UTF-8"  # written as bytes that are not UTF-8
VALUES = {
    "333 characters with emoji": "Æ😀x" * 111,
    "10,000 characters": "x" * 9999 + "😀",
    "invalid UTF-8": BAD,
    "NUL": "nul\x00byte",
}


def stored_as(field, width, v, fix):
    if field == "firstName, lastName":
        v = v + " Berg"
    if field == "email":
        v = v + "@x.dk"
    s = v[:width]  # MariaDB counts code points, as Python does
    return fix(s) if fix else s


def test_every_string_field_per_object():
    with Env("fields") as env:
        env.start_db()
        for vi, (vname, value) in enumerate(VALUES.items()):
            objs, uuids = [], []
            for i, (field, width, make, sql, fix) in enumerate(FIELDS):
                k = (vi + 1) * 100 + i  # each value's objects their own, in one database
                u = "11111111-2222-4333-8444-%012d" % k
                objs.append(make(u, value, k))
                uuids.append(u)
            good = usage("11111111-2222-4333-8444-999999999999", "Aula")
            objs.append(good)
            for o in objs:  # None: a member left out
                for k in [k for k, x in o.items() if x is None]:
                    del o[k]
            path = os.path.join(env.dir, "fields.json")
            with open(path, "wb") as f:
                f.write(json.dumps(objs, ensure_ascii=False, indent=1).encode().replace(BAD.encode(),
                                                                                       b"bad\xff\xfevalue"))
            r, s = import_json(env, path)
            ok(r.returncode == 0 and s is not None, f"{vname}: the import commits", r.stderr)
            ok("database" not in r.stderr and "database" not in r.stdout, f"{vname}: no database error", r.stderr)
            eq(env.scalar("SELECT name FROM systems WHERE kitos_uuid = '11111111-2222-4333-8444-999999999999'"),
               "Aula", f"{vname}: the object after them imports")
            if s is None:
                continue
            for i, (field, width, make, sql, fix) in enumerate(FIELDS):
                u = uuids[i]
                k = (vi + 1) * 100 + i
                ws = [w for w in s["warnings"] if w["index"] == i and w["uuid"] == u and w["file"] == path]
                msgs = " | ".join(w["field"] + ": " + w["message"] for w in ws)
                got = env.sql(sql(u, k))
                if value in (BAD, "nul\x00byte"):
                    what = "not valid UTF-8" if value == BAD else "contains NUL (\\u0000)"
                    ok(any(what in w["message"] and "skipped" in w["message"] for w in ws),
                       f"{vname} in {field}: warning {os.path.basename(path)}[{i}] {u} names the field and says "
                       f"'{what}'", msgs)
                    eq(got, [], f"{vname} in {field}: that object is not imported")
                    continue
                want = stored_as(field, width, value, fix)
                eq(got, [[want]], f"{vname} in {field}: stored as its first {width} characters"
                   if want != "NULL" else f"{vname} in {field}: left out")
                n = len(value) + (5 if field in ("firstName, lastName", "email") else 0)
                if field == "email":
                    ok(any(w["field"] == "email" and "not an e-mail address" in w["message"] for w in ws),
                       f"{vname} in email: the address is named as left out", msgs)
                elif n > width:
                    ok(any(w["field"] == field and w["message"] == f"{n} characters, cut to {width}" for w in ws),
                       f"{vname} in {field}: warning [{i}] {u} {field}: {n} characters, cut to {width}", msgs)
                else:
                    ok(not any(w["field"] == field for w in ws), f"{vname} in {field}: fits, no warning", msgs)


def test_bad_json_in_one_object():
    with Env("strict") as env:
        env.start_db()
        good = usage("11111111-2222-4333-8444-555555555501", "Aula")
        text = json.dumps([usage("11111111-2222-4333-8444-555555555502", "TAB"),
                           usage("11111111-2222-4333-8444-555555555503", "SURROGATE"), good],
                          ensure_ascii=False, indent=1)
        path = write(env, "strict.json", text.replace("TAB", "tab\there").replace("SURROGATE", "half \\ud83d"))
        r, s = import_json(env, path)
        ok(r.returncode == 0, "raw control characters and lone surrogates do not fail the file", r.stderr)
        eq(env.sql("SELECT name FROM systems"), [["Aula"]], "the other object imports")
        ws = {w["index"]: w for w in (s or {}).get("warnings", [])}
        ok(0 in ws and "control character 0x09" in ws[0]["message"] and
           ws[0]["uuid"] == "11111111-2222-4333-8444-555555555502" and "line " in ws[0]["message"],
           "the object with a tab is skipped, named by index, uuid and line", ws)
        ok(1 in ws and "surrogate" in ws[1]["message"] and ws[1]["uuid"] == "11111111-2222-4333-8444-555555555503",
           "the object with half an emoji is skipped, named", ws)
        before = portfolio_snapshot(env)
        dup = write(env, "dup.json", '[{"uuid": "11111111-2222-4333-8444-555555555504",\n'
                                      ' "systemContext": {"name": "A"}, "systemContext": {"name": "B"}}]')
        r = env.run("import", "kitos", path, dup)
        ok(r.returncode == 1 and "dup.json:2:34: JSON syntax error" in r.stderr and
           'duplicate key "systemContext" (first at line 2, column 2)' in r.stderr,
           "a duplicate key fails the file, naming file:line:column of both", r.stderr)
        eq(portfolio_snapshot(env), before, "and nothing changes")


def test_names_that_are_not_utf8():
    with Env("names") as env:
        env.start_db()
        d = env.dir.encode()
        path = os.path.join(d, b"caf\xe9.json")
        with open(path, "w") as f:
            json.dump([usage("11111111-2222-4333-8444-555555555501", "Aula")], f)
        r = subprocess.run([OVERBLIK.encode(), b"-c", env.config.encode(), b"import", b"kitos", path],
                           capture_output=True)
        ok(r.returncode == 0, "a file whose name is not UTF-8 imports", r.stderr)
        eq(env.scalar("SELECT RIGHT(files, 12) = CONCAT('caf', CHAR(92), 'xE9.json') FROM imports"), "1",
           "the import names it printably (\\xE9)", env.sql("SELECT files FROM imports"))
        for org in (b"\xff\xfe", "Ø".encode(), b"x" * 5000):
            r = subprocess.run([OVERBLIK.encode(), b"-c", env.config.encode(), b"import", b"kitos", b"--org", org,
                                path], capture_output=True)
            err = r.stderr.decode("utf-8", "replace")
            ok(r.returncode == 1 and "no organisation with that KITOS uuid or CVR" in err and "database" not in err
               and b"\xff" not in r.stderr, f"--org {org[:8]!r}...: no such organisation, not a database error", err)


def test_memory_of_100_municipalities():
    """The importer holds records, not the files' trees: 100 demo
    municipalities (78 MB of KITOS JSON) import in under 150 MB."""
    with Env("memory") as env:
        env.start_db()
        data = os.path.join(env.dir, "demo")
        r = env.run("demo-data", "--municipalities", "100", "--as-of", "2026-11-26", data)
        ok(r.returncode == 0, "demo-data for 100 municipalities", r.stderr)
        files = sorted(glob.glob(os.path.join(data, "kitos", "*.json")))
        size = sum(os.path.getsize(f) for f in files)
        pid = os.fork()
        if pid == 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.execv(OVERBLIK, [OVERBLIK, "-q", "-c", env.config, "import", "kitos"] + files)
        _, status, ru = os.wait4(pid, 0)
        eq(os.waitstatus_to_exitcode(status), 0, f"{len(files)} files, {size / 1e6:.0f} MB, import")
        if obtest.SANITIZED:
            skip("the importer's peak resident set is under 150 MB",
                 f"ASan's shadow memory and quarantine ({ru.ru_maxrss / 1024:.0f} MB here)")
        else:
            ok(ru.ru_maxrss < 150 * 1024, f"the importer's peak resident set is under 150 MB "
               f"({ru.ru_maxrss / 1024:.0f} MB)")
        ok(int(env.scalar("SELECT COUNT(*) FROM systems")) > 30000, "and every system is there")


run_tests(test_supplier_from_contract, test_every_fixture_imports, test_fixture_problems_named, test_import_twice_changes_nothing,
          test_fatal_errors_change_nothing, test_enums_as_strings_or_integers, test_owners_and_email,
          test_every_string_field_per_object, test_bad_json_in_one_object, test_names_that_are_not_utf8,
          test_memory_of_100_municipalities)
