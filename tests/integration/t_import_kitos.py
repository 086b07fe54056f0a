#!/usr/bin/python3
"""overblik import kitos against a real private mariadbd: every KITOS fixture
imports with its problems named; importing twice changes nothing; a JSON
syntax error, a truncated file and JSON that is not KITOS data each fail with
file and position and leave every table as it was, also after valid files in
the same command; string and integer enums give the same rows; owners, their
e-mail and the configured owner role."""

import glob
import json
import os

from obtest import Env, ok, eq, run_tests, portfolio_snapshot, SHARED_DIR

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


run_tests(test_supplier_from_contract, test_every_fixture_imports, test_fixture_problems_named, test_import_twice_changes_nothing,
          test_fatal_errors_change_nothing, test_enums_as_strings_or_integers, test_owners_and_email)
