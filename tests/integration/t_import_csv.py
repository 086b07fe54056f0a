#!/usr/bin/python3
"""overblik import csv against a real private mariadbd, as README "CSV"
documents it: every kind imports from files saved the way Danish Excel saves
them (';', BOM, CRLF, quoting, Danish aliases, dates and amounts) and from a
',' file; æøå survive byte-exact; importing twice changes nothing; in systems
and contracts files an absent column keeps the stored value and an empty cell
clears it; the org unit tree; target pictures and their future pictures and
systems; bad input names FILE:LINE: column and changes nothing; the
organisation column and --org; --json; several files in one command (one
transaction, dependency order, a result line per file)."""

import glob
import json
import os
import re
import subprocess

from obtest import Env, ok, eq, run_tests, portfolio_snapshot, OVERBLIK

ORG_A = {"cvr": "29189587", "uuid": "0b1c3a52-6f0e-4e8e-9d6a-3c3f5b8a0001", "name": "Testrup Kommune"}
ORG_B = {"cvr": "29188548", "uuid": "0b1c3a52-6f0e-4e8e-9d6a-3c3f5b8a0002", "name": "Nørreby Kommune"}


def U(prefix, n):
    return f"{prefix}-0000-4000-8000-{n:012x}"


SA = [U("aaaaaaaa", i) for i in range(1, 41)]   # org A's system usages
SB = [U("bbbbbbbb", i) for i in range(1, 4)]    # org B's
CA = [U("cccccccc", i) for i in range(1, 5)]    # org A's contracts
DEP = {"A": U("dddddddd", 1), "B": U("dddddddd", 2)}  # the units KITOS names


def usage(org, uuid, name, unit):
    return {"uuid": uuid, "systemContext": {"uuid": "9c8ddc3f-ffdd-47e5-9e46-1d37826d2000", "name": name},
            "organizationContext": org, "general": {"validity": {"lifeCycleStatus": "Operational"}},
            "organizationUsage": {"responsibleOrganizationUnit": {"uuid": unit, "name": "Børn og Skole"}}}


def contract(org, uuid, name, systems):
    return {"uuid": uuid, "name": name, "organizationContext": org,
            "general": {"validity": {"validFrom": "2022-01-01T00:00:00Z", "validTo": "2027-12-31T00:00:00Z"}},
            "supplier": {"organization": {"name": "KMD A/S"}},
            "systemUsages": [{"uuid": s, "name": "System"} for s in systems],
            "agreementPeriod": {"isContinuous": False},
            "termination": {"terms": {"noticePeriodMonths": {"name": "6"}, "noticeByEndOf": "EndOfMonth"}}}


def kitos(env, nsys=3, org_b=False):
    """Org A (and B) with systems and contracts, through the real KITOS import."""
    objs = [usage(ORG_A, u, f"System A{i + 1}", DEP["A"]) for i, u in enumerate(SA[:nsys])]
    objs += [contract(ORG_A, c, f"Kontrakt {i + 1}", [SA[0]]) for i, c in enumerate(CA)]
    if org_b:
        objs += [usage(ORG_B, u, f"System B{i + 1}", DEP["B"]) for i, u in enumerate(SB)]
    path = os.path.join(env.dir, "kitos.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(objs, f, ensure_ascii=False)
    r = env.run("import", "kitos", path)
    if r.returncode != 0:
        raise RuntimeError("KITOS setup import failed:\n" + r.stdout + r.stderr)


def cell(v, sep):
    v = str(v)
    if any(c in v for c in (sep, '"', "\n", "\r")):
        return '"' + v.replace('"', '""') + '"'
    return v


def write_csv(env, name, rows, sep=";", bom=True, eol="\r\n"):
    """Writes rows the way Danish Excel saves "CSV UTF-8": BOM, ';', CRLF."""
    text = eol.join(sep.join(cell(v, sep) for v in row) for row in rows) + eol
    return write_raw(env, name, (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def write_raw(env, name, data):
    path = os.path.join(env.dir, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def imp(env, path, *opts):
    return env.run("import", "csv", *opts, path)


def state(env):
    """Every portfolio table, and the import log's length."""
    s = portfolio_snapshot(env)
    s["imports"] = env.scalar("SELECT COUNT(*) FROM imports")
    return s


def hexeq(env, query, text, desc):
    """The bytes in the database are text's UTF-8 bytes."""
    eq(env.scalar(query), text.encode("utf-8").hex().upper(), desc)


def test_every_kind_as_excel_saves_it():
    with Env("csvkinds") as env:
        env.start_db()
        kitos(env, nsys=5)
        S1, S2, S3, S4, S5 = SA[:5]
        U1, U2, P1, P2 = U("dddddddd", 11), U("dddddddd", 12), U("eeeeeeee", 1), U("eeeeeeee", 2)
        files = [
            ("units.csv", [["unit_uuid", "name", "parent_uuid"],
                           [U2, "Skole; Dagtilbud", U1],
                           [U1, "Børn og Skole", ""]]),
            ("people.csv", [["person_uuid", "name", "email", "unit_uuid"],
                            [P1, "Søren Ærø", "soeren.aeroe@testrup.dk", U2],
                            [P2, 'Åse "Bøgh" Hansen', "", ""]]),
            ("systems.csv", [["System_UUID", "Category", "lifecycle_phase", "department_uuid", "supplier",
                              "last_data_review", "citizen_facing", "ai", "algorithmic_decision_support", "rpa",
                              "data_matching"],
                             [S1, "grundlæggende", "drift", U2, 'KMD; "Nexus" A/S', "26-11-2026", "selvbetjening",
                              "ja", "nej", "1", "false"],
                             [S2, "tværgående", "behovsopgørelse", "", "Netcompany", "26.11.2026",
                              "udstilling af data", "nej", "ja", "0", "true"],
                             [S3, "fagsystem", "exit", "", "Fujitsu\nDanmark", "2026-11-26", "", "yes", "no",
                              "true", "0"],
                             [S4, "", "kontraktopfølgning", "", "", "", "information/portal", "", "", "", ""],
                             [S5, "", "anskaffelse", "", "", "", "digital kommunikation", "", "", "", ""]]),
            ("contracts.csv", [["contract_uuid", "segment", "exit_decision", "annual_cost", "auto_renewal"],
                               [CA[0], "A", "uafklaret", "1.234.567,50", "ja"],
                               [CA[1], "B", "forlæng", "1234567,50", "nej"],
                               [CA[2], "C", "opsig", "1234567.50", "1"],
                               [CA[3], "", "genudbud", "", ""]]),
            ("assessments.csv", [["system_uuid", "kind", "done_on", "result", "reason", "next_due", "note"],
                                 [S1, "risikovurdering", "26-11-2026", "høj", "annual", "26.11.2027",
                                  'Gennemgået; se "bilag 3"\nmed DPO'],
                                 [S1, "konsekvensanalyse", "2026-01-15", "lav", "acquisition", "", ""],
                                 [S2, "risikovurdering", "01.03.2026", "middel", "change", "2027-03-01",
                                  "Åbent Arkiv"],
                                 [S2, "dataetisk vurdering", "01.03.2026", "", "other", "", ""]]),
            ("incidents.csv", [["system_uuid", "occurred_on", "severity", "title"],
                               [S1, "03-02-2026", "kritisk", 'Nedbrud; "Aula" utilgængelig'],
                               [S2, "2026-02-04", "lav", "Langsom login"],
                               [S3, "05.02.2026", "middel", "Fejl i print"],
                               [S3, "2026-02-06", "høj", "Datalæk"]]),
            ("future.csv", [["future_version", "adopted_on", "need_code", "need"],
                            ["2030", "01.02.2026", "B1", "Åbent Arkiv for borgerne"],
                            ["2030", "01.02.2026", "B2", 'Digital post; "sikker"']]),
            ("target.csv", [["target_version", "adopted_on", "future_version", "action_code", "action", "change",
                             "system_uuids"],
                            ["T1", "15-03-2026", "2030", "H1", "Udfas gammelt ESDH", "phase_out", f"{S1}|{S2}"],
                            ["T1", "15-03-2026", "2030", "H2", "Konsolider", "consolidate", f"{S1} {S3}"]]),
        ]
        paths = []
        for name, rows in files:
            path = write_csv(env, name, rows)
            paths.append(path)
            r = imp(env, path)
            ok(r.returncode == 0 and r.stdout.startswith(path), f"{name} (';', BOM, CRLF) imports", r.stderr)
        shared = write_csv(env, "shared.csv", [["solution", "maturity", "changed_on"],
                                               ["Fælles Sprog på Tværs, FSIII", "grøn", "2026-01-01"],
                                               ["Fælles Sprog på Tværs, FSIII", "gul", "15.06.2026"],
                                               ["Min Log", "rød", "01-02-2026"]], sep=",", bom=False, eol="\n")
        paths.append(shared)
        r = imp(env, shared)
        ok(r.returncode == 0, "shared.csv (',', no BOM, LF) imports", r.stderr)

        eq(env.sql("SELECT c.kitos_uuid, p.kitos_uuid, c.name FROM org_units c "
                   f"LEFT JOIN org_units p ON p.id = c.parent_id WHERE c.kitos_uuid IN ('{U1}', '{U2}') "
                   "ORDER BY c.kitos_uuid"),
           [[U1, "NULL", "Børn og Skole"], [U2, U1, "Skole; Dagtilbud"]],
           "org units: names and the parent given on a later line")
        eq(env.sql("SELECT p.kitos_uuid, p.email, u.kitos_uuid FROM people p LEFT JOIN org_units u "
                   "ON u.id = p.org_unit_id ORDER BY p.kitos_uuid"),
           [[P1, "soeren.aeroe@testrup.dk", U2], [P2, "NULL", "NULL"]], "people: e-mail and unit")
        eq(env.sql("SELECT s.kitos_uuid, category, lifecycle_phase, u.kitos_uuid, last_data_review, citizen_facing, "
                   "uses_ai, algorithmic_support, uses_rpa, data_matching FROM systems s "
                   "LEFT JOIN org_units u ON u.id = s.department_id ORDER BY s.kitos_uuid"),
           [[S1, "foundation", "contract_followup", U2, "2026-11-26", "self_service", "1", "0", "1", "0"],
            [S2, "cross_cutting", "needs", "NULL", "2026-11-26", "data_display", "0", "1", "0", "1"],
            [S3, "line_of_business", "exit", "NULL", "2026-11-26", "NULL", "1", "0", "1", "0"],
            [S4, "NULL", "contract_followup", "NULL", "NULL", "information", "NULL", "NULL", "NULL", "NULL"],
            [S5, "NULL", "procurement", "NULL", "NULL", "digital_communication", "NULL", "NULL", "NULL", "NULL"]],
           "systems: Danish aliases, three date forms, yes/no forms, empty cells")
        hexeq(env, f"SELECT HEX(supplier) FROM systems WHERE kitos_uuid = '{S1}'", 'KMD; "Nexus" A/S',
              "systems: a quoted supplier with ';' and doubled quotes")
        hexeq(env, f"SELECT HEX(supplier) FROM systems WHERE kitos_uuid = '{S3}'", "Fujitsu\nDanmark",
              "systems: a quoted supplier with an embedded newline (CRLF file)")
        eq(env.sql("SELECT kitos_uuid, segment, exit_decision, annual_cost, auto_renewal FROM contracts "
                   "ORDER BY kitos_uuid"),
           [[CA[0], "A", "undecided", "1234567.50", "1"], [CA[1], "B", "extend", "1234567.50", "0"],
            [CA[2], "C", "terminate", "1234567.50", "1"], [CA[3], "NULL", "retender", "NULL", "NULL"]],
           "contracts: segment, uafklaret/forlæng/opsig/genudbud, Danish amounts, yes/no")
        eq(env.sql("SELECT s.kitos_uuid, a.kind, done_on, result, reason, next_due FROM gdpr_assessments a "
                   "JOIN systems s ON s.id = a.system_id ORDER BY s.kitos_uuid, done_on, CAST(a.kind AS CHAR)"),
           [[S1, "dpia", "2026-01-15", "low", "acquisition", "NULL"],
            [S1, "risk_assessment", "2026-11-26", "high", "annual", "2027-11-26"],
            [S2, "data_ethics", "2026-03-01", "NULL", "other", "NULL"],
            [S2, "risk_assessment", "2026-03-01", "medium", "change", "2027-03-01"]],
           "assessments: risikovurdering/konsekvensanalyse/dataetisk vurdering, lav/middel/høj, dates")
        hexeq(env, "SELECT HEX(note) FROM gdpr_assessments WHERE result = 'high'",
              'Gennemgået; se "bilag 3"\nmed DPO', "assessments: a note with ';', quotes and a newline")
        eq(env.sql("SELECT s.kitos_uuid, occurred_on, severity FROM incidents i JOIN systems s ON s.id = i.system_id "
                   "ORDER BY occurred_on"),
           [[S1, "2026-02-03", "critical"], [S2, "2026-02-04", "low"], [S3, "2026-02-05", "medium"],
            [S3, "2026-02-06", "high"]], "incidents: dates and kritisk/lav/middel/høj")
        hexeq(env, "SELECT HEX(title) FROM incidents WHERE severity = 'critical'", 'Nedbrud; "Aula" utilgængelig',
              "incidents: a quoted title")
        eq(env.sql("SELECT f.version, f.adopted_on, n.code FROM future_pictures f JOIN future_needs n "
                   "ON n.future_picture_id = f.id ORDER BY n.code"),
           [["2030", "2026-02-01", "B1"], ["2030", "2026-02-01", "B2"]], "future picture: version and needs")
        hexeq(env, "SELECT HEX(title) FROM future_needs WHERE code = 'B2'", 'Digital post; "sikker"',
              "future picture: a quoted need")
        eq(env.sql("SELECT t.version, t.adopted_on, f.version, a.code, a.change_kind, "
                   "GROUP_CONCAT(s.kitos_uuid ORDER BY s.kitos_uuid SEPARATOR ' ') FROM target_pictures t "
                   "JOIN future_pictures f ON f.id = t.future_picture_id JOIN target_actions a "
                   "ON a.target_picture_id = t.id JOIN target_action_systems x ON x.action_id = a.id "
                   "JOIN systems s ON s.id = x.system_id GROUP BY a.id ORDER BY a.code"),
           [["T1", "2026-03-15", "2030", "H1", "phase_out", f"{S1} {S2}"],
            ["T1", "2026-03-15", "2030", "H2", "consolidate", f"{S1} {S3}"]],
           "target picture: version, its future picture, actions and their systems")
        eq(env.sql("SELECT s.name, m.changed_on, m.maturity FROM shared_solutions s JOIN shared_solution_maturity m "
                   "ON m.solution_id = s.id ORDER BY m.changed_on"),
           [["Fælles Sprog på Tværs, FSIII", "2026-01-01", "green"], ["Min Log", "2026-02-01", "red"],
            ["Fælles Sprog på Tværs, FSIII", "2026-06-15", "yellow"]],
           "shared solutions from a ',' file: a quoted name with ',', grøn/gul/rød")

        # æøå byte-exact
        hexeq(env, f"SELECT HEX(name) FROM people WHERE kitos_uuid = '{P1}'", "Søren Ærø", "æøå: Søren Ærø")
        hexeq(env, f"SELECT HEX(name) FROM people WHERE kitos_uuid = '{P2}'", 'Åse "Bøgh" Hansen',
              "æøå: Åse \"Bøgh\" Hansen")
        hexeq(env, f"SELECT HEX(name) FROM org_units WHERE kitos_uuid = '{U1}'", "Børn og Skole",
              "æøå: Børn og Skole")
        hexeq(env, "SELECT HEX(note) FROM gdpr_assessments WHERE result = 'medium'", "Åbent Arkiv",
              "æøå: Åbent Arkiv")
        hexeq(env, "SELECT HEX(name) FROM shared_solutions WHERE name LIKE 'F%'", "Fælles Sprog på Tværs, FSIII",
              "æøå: Fælles Sprog på Tværs (from the file without BOM)")

        # the same files again
        before = state(env)
        for path in paths:
            r = imp(env, path)
            name = os.path.basename(path)
            ok(r.returncode == 0 and "unchanged" in r.stdout and "created" not in r.stdout
               and "updated" not in r.stdout, f"{name} again: exit 0, the summary says unchanged",
               r.stdout + r.stderr)
        after = state(env)
        eq(after["imports"], str(int(before["imports"]) + len(paths)), "each import is logged")
        before.pop("imports"), after.pop("imports")
        eq(after, before, "every table holds the same rows after importing every file again")


def test_absent_column_keeps_empty_cell_clears():
    with Env("csvsemantics") as env:
        env.start_db()
        kitos(env)
        S1, S2 = SA[:2]
        cols = "category, lifecycle_phase, supplier, last_data_review, citizen_facing, uses_ai, uses_rpa"
        full = write_csv(env, "full.csv", [
            ["system_uuid", "category", "lifecycle_phase", "supplier", "last_data_review", "citizen_facing", "ai",
             "rpa"],
            [S1, "foundation", "procurement", "KMD", "2026-01-02", "digitalt møde", "ja", "ja"],
            [S2, "foundation", "procurement", "KMD", "2026-01-02", "digitalt møde", "ja", "ja"]])
        r = imp(env, full)
        ok(r.returncode == 0, "systems with every column import", r.stderr)
        s2 = env.sql(f"SELECT {cols} FROM systems WHERE kitos_uuid = '{S2}'")
        r = imp(env, write_csv(env, "supplier.csv", [["system_uuid", "supplier"], [S1, "Ny leverandør ApS"]]))
        ok(r.returncode == 0 and "1 updated" in r.stdout, "a file with one column updates one system",
           r.stdout + r.stderr)
        eq(env.sql(f"SELECT {cols}, name FROM systems WHERE kitos_uuid = '{S1}'"),
           [["foundation", "procurement", "Ny leverandør ApS", "2026-01-02", "digital_meeting", "1", "1",
             "System A1"]], "systems: the absent columns (and KITOS's name) keep their values")
        r = imp(env, write_csv(env, "clear.csv", [["system_uuid", "category", "supplier", "ai"], [S1, "", "", ""]]))
        ok(r.returncode == 0, "a file with empty cells imports", r.stderr)
        eq(env.sql(f"SELECT {cols} FROM systems WHERE kitos_uuid = '{S1}'"),
           [["NULL", "procurement", "NULL", "2026-01-02", "digital_meeting", "NULL", "1"]],
           "systems: empty cells clear, absent columns stay")
        eq(env.sql(f"SELECT {cols} FROM systems WHERE kitos_uuid = '{S2}'"), s2,
           "systems: a system not in the file is untouched")

        C1 = CA[0]
        ccols = "segment, exit_decision, annual_cost, auto_renewal, supplier, end_date, notice_months"
        r = imp(env, write_csv(env, "cfull.csv", [["contract_uuid", "segment", "exit_decision", "annual_cost",
                                                  "auto_renewal"], [C1, "B", "opsig", "2.500.000,00", "nej"]]))
        ok(r.returncode == 0, "contracts with every column import", r.stderr)
        r = imp(env, write_csv(env, "cseg.csv", [["contract_uuid", "segment"], [C1, ""]]))
        eq(env.sql(f"SELECT {ccols} FROM contracts WHERE kitos_uuid = '{C1}'"),
           [["NULL", "terminate", "2500000.00", "0", "KMD A/S", "2027-12-31", "6"]],
           "contracts: an empty segment clears it; the absent columns and KITOS's stay")
        r = imp(env, write_csv(env, "ccost.csv", [["contract_uuid", "annual_cost", "auto_renewal"], [C1, "", ""]]))
        eq(env.sql(f"SELECT {ccols} FROM contracts WHERE kitos_uuid = '{C1}'"),
           [["NULL", "terminate", "NULL", "NULL", "KMD A/S", "2027-12-31", "6"]],
           "contracts: empty amount and yes/no clear them; exit_decision stays")

        P, D1, D2 = U("eeeeeeee", 1), U("dddddddd", 21), U("dddddddd", 22)
        imp(env, write_csv(env, "units.csv", [["unit_uuid", "name", "parent_uuid"], [D1, "Rod", ""], [D2, "Blad", D1]]))
        imp(env, write_csv(env, "p1.csv", [["person_uuid", "name", "email", "unit_uuid"], [P, "Søren", "s@t.dk", D2]]))
        pq = f"SELECT p.name, p.email, u.kitos_uuid FROM people p LEFT JOIN org_units u ON u.id = p.org_unit_id " \
             f"WHERE p.kitos_uuid = '{P}'"
        r = imp(env, write_csv(env, "p2.csv", [["person_uuid", "name"], [P, "Søren Ærø"]]))
        eq(env.sql(pq), [["Søren Ærø", "s@t.dk", D2]], "people: absent email and unit_uuid keep their values")
        r = imp(env, write_csv(env, "p3.csv", [["person_uuid", "name", "email"], [P, "Søren Ærø", ""]]))
        eq(env.sql(pq), [["Søren Ærø", "NULL", D2]], "people: an empty email clears it, the absent unit stays")
        uq = f"SELECT c.name, p.kitos_uuid FROM org_units c LEFT JOIN org_units p ON p.id = c.parent_id " \
             f"WHERE c.kitos_uuid = '{D2}'"
        r = imp(env, write_csv(env, "u2.csv", [["unit_uuid", "name"], [D2, "Blad 2"]]))
        eq(env.sql(uq), [["Blad 2", D1]], "org units: an absent parent_uuid keeps the parent")
        r = imp(env, write_csv(env, "u3.csv", [["unit_uuid", "name", "parent_uuid"], [D2, "Blad 2", ""]]))
        eq(env.sql(uq), [["Blad 2", "NULL"]], "org units: an empty parent_uuid makes it a root")


def test_org_unit_tree():
    with Env("csvunits") as env:
        env.start_db()
        kitos(env)
        L = [U("dddddddd", 0x100 + i) for i in range(5)]
        path = write_csv(env, "tree.csv", [["unit_uuid", "name", "parent_uuid"],
                                           [L[4], "Team Sydhavn", L[3]],
                                           [L[3], "Afdeling Skoler", L[2]],
                                           [L[2], "Børn og Skole", L[1]],
                                           [L[1], "Testrup Kommune", ""]])
        r = imp(env, path)
        ok(r.returncode == 0 and "4 created" in r.stdout, "a 4-level tree, children before parents, imports",
           r.stdout + r.stderr)
        eq(env.sql("SELECT u4.name, u3.name, u2.name, u1.name, u1.parent_id IS NULL FROM org_units u4 "
                   "JOIN org_units u3 ON u3.id = u4.parent_id JOIN org_units u2 ON u2.id = u3.parent_id "
                   f"JOIN org_units u1 ON u1.id = u2.parent_id WHERE u4.kitos_uuid = '{L[4]}'"),
           [["Team Sydhavn", "Afdeling Skoler", "Børn og Skole", "Testrup Kommune", "1"]],
           "the tree reads back 4 levels deep with the root at the top")
        before = state(env)
        ghost = U("dddddddd", 0x999)
        bad = write_csv(env, "orphan.csv", [["unit_uuid", "name", "parent_uuid"],
                                            [L[0], "Ny enhed", L[1]],
                                            [L[1], "Testrup Kommune (omdøbt)", ""],
                                            [U("dddddddd", 0x200), "Forældreløs", ghost]])
        r = imp(env, bad)
        eq(r.returncode, 1, "an unknown parent_uuid fails the import")
        ok(f"{bad}:4: parent_uuid:" in r.stderr and ghost in r.stderr,
           "the error names FILE:4: parent_uuid and the unknown uuid", r.stderr)
        ok("nothing was changed" in r.stderr, "and says nothing was changed", r.stderr)
        eq(state(env), before, "every table is as it was (the good rows before it too)")


def test_pictures():
    with Env("csvpictures") as env:
        env.start_db()
        kitos(env)
        S1, S2, S3 = SA[:3]
        hdr = ["target_version", "adopted_on", "future_version", "action_code", "action", "change", "system_uuids"]
        target = write_csv(env, "target.csv", [hdr,
                                               ["2031", "2026-03-15", "2035", "H1", "Ét ESDH", "consolidate",
                                                f"{S1}|{S2} {S3}"],
                                               ["2031", "2026-03-15", "2035", "H2", "Ny portal", "new", f"{S1} {S2}"]])
        before = state(env)
        r = imp(env, target)
        eq(r.returncode, 1, "a target picture before its future picture fails")
        ok(f"{target}:2: future_version:" in r.stderr and "2035" in r.stderr,
           "the error names FILE:2: future_version and the missing version 2035", r.stderr)
        eq(state(env), before, "and nothing changed")
        future = write_csv(env, "future.csv", [["future_version", "adopted_on", "need_code", "need"],
                                               ["2035", "2026-01-10", "B1", "Én sag, ét sted"]])
        r = imp(env, future)
        ok(r.returncode == 0, "the future picture imports", r.stderr)
        r = imp(env, target)
        ok(r.returncode == 0 and "2 created" in r.stdout, "then the target picture imports", r.stdout + r.stderr)
        q = ("SELECT a.code, GROUP_CONCAT(s.kitos_uuid ORDER BY s.kitos_uuid SEPARATOR ' ') FROM target_actions a "
             "LEFT JOIN target_action_systems x ON x.action_id = a.id LEFT JOIN systems s ON s.id = x.system_id "
             "GROUP BY a.id ORDER BY a.code")
        eq(env.sql(q), [["H1", f"{S1} {S2} {S3}"], ["H2", f"{S1} {S2}"]],
           "system_uuids separated by '|' and spaces link every system")
        eq(env.scalar("SELECT f.version FROM target_pictures t JOIN future_pictures f ON f.id = t.future_picture_id "
                      "WHERE t.version = '2031'"), "2035", "the target picture refers to its future picture")
        fewer = write_csv(env, "target2.csv", [hdr,
                                               ["2031", "2026-03-15", "2035", "H1", "Ét ESDH", "consolidate", S2],
                                               ["2031", "2026-03-15", "2035", "H2", "Ny portal", "new", f"{S1} {S2}"]])
        r = imp(env, fewer)
        ok(r.returncode == 0 and "1 updated" in r.stdout and "1 unchanged" in r.stdout,
           "a re-import with fewer systems counts one action updated", r.stdout + r.stderr)
        eq(env.sql(q), [["H1", S2], ["H2", f"{S1} {S2}"]], "and replaces that action's set of systems")
        # A new picture's actions are written in bulk; two codes the database
        # takes for one (its collation folds case: Æ1, æ1) end as one action
        # with the later row's title and systems, as row by row.
        merged = write_csv(env, "target3.csv", [hdr,
                                                ["2032", "2026-04-01", "2035", "Æ1", "Først", "new", S1],
                                                ["2032", "2026-04-01", "2035", "æ1", "Siden", "keep", S2]])
        r = imp(env, merged)
        ok(r.returncode == 0 and "1 created" in r.stdout and "1 updated" in r.stdout,
           "two codes equal under the collation in a new picture: 1 created, 1 updated", r.stdout + r.stderr)
        eq(env.sql("SELECT a.title, a.change_kind, GROUP_CONCAT(s.kitos_uuid) FROM target_actions a "
                   "JOIN target_pictures t ON t.id = a.target_picture_id LEFT JOIN target_action_systems x "
                   "ON x.action_id = a.id LEFT JOIN systems s ON s.id = x.system_id WHERE t.version = '2032' "
                   "GROUP BY a.id"), [["Siden", "keep", S2]], "one action: the later row's title, change and systems")

        # --json
        inc = [["system_uuid", "occurred_on", "severity", "title"], [S1, "2026-05-01", "høj", "Nedbrud"],
               [S2, "2026-05-02", "lav", "Fejl i login"]]
        path = write_csv(env, "incidents.csv", inc)
        runs = []
        for _ in range(2):
            r = imp(env, path, "--json")
            try:
                runs.append(json.loads(r.stdout))
            except ValueError:
                runs.append(None)
        ok(runs[0] is not None, "--json prints one JSON object", r.stdout + r.stderr)
        want = {"file": path, "kind": "incidents", "created": 2, "updated": 0, "unchanged": 0}
        eq({k: (runs[0] or {}).get(k) for k in want}, want, "--json: file, kind and counts of the first import")
        eq({k: (runs[1] or {}).get(k) for k in ("created", "updated", "unchanged")},
           {"created": 0, "updated": 0, "unchanged": 2}, "--json: the second import counts both unchanged")
        inc[1][2] = "kritisk"
        r = imp(env, write_csv(env, "incidents.csv", inc), "--json")
        try:
            s = json.loads(r.stdout)
        except ValueError:
            s = {}
        eq([s.get("created"), s.get("updated"), s.get("unchanged")], [0, 1, 1], "--json: one row changed is updated")


def test_bad_input_changes_nothing():
    with Env("csvbad") as env:
        env.start_db()
        kitos(env, nsys=40)
        S1 = SA[0]
        r = imp(env, write_csv(env, "seed.csv", [["system_uuid", "occurred_on", "severity", "title"],
                                                 [S1, "2025-01-01", "lav", "Gammel hændelse"]]))
        ok(r.returncode == 0, "a first incidents file imports", r.stderr)
        r = imp(env, write_csv(env, "seedsol.csv", [["solution", "maturity", "changed_on"],
                                                    ["Min Log", "gul", "2025-01-01"]]))
        ok(r.returncode == 0, "a first shared solutions file imports", r.stderr)
        before = state(env)
        ghost = U("aaaaaaaa", 0xfff)
        inc = ["system_uuid", "occurred_on", "severity", "title"]
        many_sys = [[u, f"Leverandør {i}"] for i, u in enumerate(SA)]
        many_inc = [[u, "2026-01-05", "middel", f"Hændelse {i}"] for i, u in enumerate(SA)]
        note = ["system_uuid", "kind", "done_on", "result", "reason", "next_due", "note"]
        cases = [
            ("unknown-system.csv", write_csv(env, "unknown-system.csv",
                                             [["system_uuid", "supplier"]] + many_sys + [[ghost, "X"]]),
             [":42: system_uuid:", ghost]),
            ("bad-date.csv", write_csv(env, "bad-date.csv", [inc] + many_inc + [[S1, "31-02-2026", "lav", "Ny"]]),
             [":42: occurred_on:", "31-02-2026"]),
            ("bad-enum.csv", write_csv(env, "bad-enum.csv",
                                       [["solution", "maturity", "changed_on"]]
                                       + [[f"Løsning {i}", "grøn", "2026-01-01"] for i in range(30)]
                                       + [["Min Log", "lilla", "2026-02-01"]]),
             [":32: maturity:", "lilla"]),
            ("unknown-column.csv", write_csv(env, "unknown-column.csv",
                                             [["solution", "maturity", "changed_on", "farve"],
                                              ["Min Log", "grøn", "2026-01-01", "blå"]]),
             [":1:", "farve"]),
            ("missing-column.csv", write_csv(env, "missing-column.csv",
                                             [["system_uuid", "occurred_on", "severity"], [S1, "2026-01-01", "lav"]]),
             [":1:", "title"]),
            ("unterminated.csv", write_raw(env, "unterminated.csv", (
                "\ufeffsystem_uuid;occurred_on;severity;title\r\n"
                f"{S1};2026-03-01;lav;Første\r\n{S1};2026-03-02;lav;Anden\r\n"
                f"{S1};2026-03-03;lav;\"Tredje; uden slut\r\n{S1};2026-03-04;lav;Fjerde\r\n").encode()),
             [":4:"]),
            ("latin1.csv", write_raw(env, "latin1.csv", (
                f"system_uuid;occurred_on;severity;title\r\n{S1};2026-03-01;lav;Foerste\r\n"
                f"{S1};2026-03-02;lav;Nedbrud hos Ærø\r\n").encode("latin-1")),
             [":3:", "UTF-8"]),
            ("several.csv", write_csv(env, "several.csv", [inc,
                                                           [SA[1], "2026-04-01", "lav", "God"],
                                                           [ghost, "2026-04-02", "lav", "Ukendt system"],
                                                           [SA[2], "2026-04-03", "lav", "God"],
                                                           [SA[3], "30.02.2026", "lav", "Dato"],
                                                           [SA[4], "2026-04-05", "lav", "God"],
                                                           [SA[5], "2026-04-06", "lilla", "Alvor"]]),
             [":3: system_uuid:", ":5: occurred_on:", ":7: severity:"]),
            ("twelve.csv", write_csv(env, "twelve.csv", [inc] + [[u, "2026/01/13", "lav", f"H{i}"]
                                                                 for i, u in enumerate(SA[:12])]),
             [f":{n}: occurred_on:" for n in range(2, 14)]),
            ("after-newline.csv", write_csv(env, "after-newline.csv", [note,
                                                                       [S1, "dpia", "2026-01-01", "lav", "annual", "",
                                                                        "To\nlinjer"],
                                                                       [S1, "ukendt", "2026-01-02", "", "", "", ""]]),
             [":4: kind:", "ukendt"]),
        ]
        for name, path, wants in cases:
            r = imp(env, path)
            eq(r.returncode, 1, f"{name}: the import fails")
            ok(all((path + w if w.startswith(":") else w) in r.stderr for w in wants),
               f"{name}: stderr names " + ", ".join("FILE" + w if w.startswith(":") else w for w in wants),
               r.stderr)
            ok("nothing was changed" in r.stderr, f"{name}: says nothing was changed", r.stderr)
            eq(state(env), before, f"{name}: every table is as it was")
        latin1 = cases[6][1]
        r = imp(env, latin1)
        ok(f"{latin1}:3: title:" in r.stderr or f"{latin1}:3: field 4:" in r.stderr,
           "latin1.csv: the error names the column of the bad bytes", r.stderr)


def test_organisation_column_and_org():
    with Env("csvorgs") as env:
        env.start_db()
        kitos(env, org_b=True)
        eq(env.scalar("SELECT COUNT(*) FROM organisations"), "2", "two organisations are imported from KITOS")
        q = ("SELECT o.cvr, s.name FROM shared_solutions s JOIN organisations o ON o.id = s.org_id "
             "ORDER BY s.name, o.cvr")
        path = write_csv(env, "both.csv", [["Organisation", "solution", "maturity", "changed_on"],
                                           [ORG_A["cvr"], "Min Log A", "grøn", "2026-01-01"],
                                           [ORG_B["uuid"], "Min Log B", "rød", "2026-01-01"]])
        r = imp(env, path)
        ok(r.returncode == 0, "a file with rows for two organisations (CVR, KITOS uuid) imports", r.stderr)
        eq(env.sql(q), [[ORG_A["cvr"], "Min Log A"], [ORG_B["cvr"], "Min Log B"]],
           "each row lands in its own organisation")
        path = write_csv(env, "incidents.csv", [["system_uuid", "occurred_on", "title", "organisation"],
                                                [SA[0], "2026-01-01", "A-hændelse", ORG_A["uuid"]],
                                                [SB[0], "2026-01-01", "B-hændelse", ORG_B["cvr"]]])
        r = imp(env, path)
        ok(r.returncode == 0, "incidents for systems of two organisations import", r.stderr)
        eq(env.sql("SELECT i.title, o.cvr FROM incidents i JOIN systems s ON s.id = i.system_id "
                   "JOIN organisations o ON o.id = s.org_id ORDER BY i.title"),
           [["A-hændelse", ORG_A["cvr"]], ["B-hændelse", ORG_B["cvr"]]],
           "each incident is on its organisation's system")
        before = state(env)
        path = write_csv(env, "crossed.csv", [["system_uuid", "occurred_on", "title", "organisation"],
                                              [SB[1], "2026-01-02", "Forkert kommune", ORG_A["cvr"]]])
        r = imp(env, path)
        ok(r.returncode == 1 and f"{path}:2: system_uuid:" in r.stderr,
           "a system of the other organisation is not found (FILE:2: system_uuid)", r.stderr)
        sol = ["solution", "maturity", "changed_on"]
        plain = write_csv(env, "plain.csv", [sol, ["Fælles Sag", "gul", "2026-03-01"]])
        r = imp(env, plain)
        eq(r.returncode, 1, "without the column and with two organisations the import fails")
        ok("--org" in r.stderr and "organisation column" in r.stderr and f"{plain}:2:" in r.stderr,
           "the error names the line and says to give --org or an organisation column", r.stderr)
        eq(state(env), before, "and nothing changed")
        r = imp(env, plain, "--org", ORG_B["cvr"])
        ok(r.returncode == 0, "with --org CVR it imports", r.stderr)
        eq(env.scalar("SELECT o.cvr FROM shared_solutions s JOIN organisations o ON o.id = s.org_id "
                      "WHERE s.name = 'Fælles Sag'"), ORG_B["cvr"], "into the organisation --org names")
        other = write_csv(env, "plain2.csv", [sol, ["Fælles Sag", "rød", "2026-04-01"]])
        r = env.run("import", "csv", other, "--org", ORG_A["uuid"])
        ok(r.returncode == 0, "the README's form `import csv FILE --org UUID` works", r.stderr)
        eq(env.sql("SELECT o.cvr, m.maturity FROM shared_solutions s JOIN organisations o ON o.id = s.org_id "
                   "JOIN shared_solution_maturity m ON m.solution_id = s.id WHERE s.name = 'Fælles Sag' "
                   "ORDER BY o.cvr"),
           sorted([[ORG_A["cvr"], "red"], [ORG_B["cvr"], "yellow"]]),
           "and lands in the organisation --org UUID names")


# ---- issue 9: bad values per field ----

LONG = ("Ærø😀xy" * 2000)[:10000]          # 10,000 characters, emoji (4 bytes in UTF-8) included
BAD = {"utf8": b"Gr\xf8n", "nul": b"nul\x00byte"}
WANT = {"utf8": "invalid UTF-8", "nul": "a NUL byte"}


def raw_csv(rows):
    """';' CSV as bytes; a bytes cell is written as it is (its bad bytes too)."""
    out = []
    for row in rows:
        out.append(b";".join(c if isinstance(c, bytes) else cell(c, ";").encode("utf-8") for c in row))
    return b"\r\n".join(out) + b"\r\n"


def hx(text):
    return text.encode("utf-8").hex().upper()


def field_kinds(unit, cvr):
    """Per kind: its header, a good row for (case c, row i), its text columns
    (size, a query counting a stored value with HEX {h}), and a query counting
    the case's rows in the database."""
    org = cvr
    return {
        "assessments": (
            ["system_uuid", "kind", "done_on", "result", "reason", "next_due", "note", "organisation"],
            lambda c, i: [SA[i], "risikovurdering", f"{2030 + c}-01-{i + 1:02d}", "høj", "annual", "2031-01-01",
                          f"Note {i} ø", org],
            {"note": (1000, "SELECT COUNT(*) FROM gdpr_assessments WHERE HEX(note) = '{h}'")},
            "SELECT COUNT(*) FROM gdpr_assessments WHERE YEAR(done_on) = {y}"),
        "incidents": (
            ["system_uuid", "occurred_on", "severity", "title", "organisation"],
            lambda c, i: [SA[i], f"{2030 + c}-02-{i + 1:02d}", "høj", f"Hændelse {i}", org],
            {"title": (255, "SELECT COUNT(*) FROM incidents WHERE HEX(title) = '{h}'")},
            "SELECT COUNT(*) FROM incidents WHERE YEAR(occurred_on) = {y}"),
        "future picture": (
            ["future_version", "adopted_on", "need_code", "need", "organisation"],
            lambda c, i: ["F1", "2026-01-01", f"Z{c}-{i}", f"Behov {i} ø", org],
            {"future_version": (32, "SELECT COUNT(*) FROM future_needs n JOIN future_pictures f ON "
                                    "f.id = n.future_picture_id WHERE HEX(f.version) = '{h}' AND n.code LIKE 'Z{c}-%'"),
             "need_code": (32, "SELECT COUNT(*) FROM future_needs WHERE HEX(code) = '{h}'"),
             "need": (500, "SELECT COUNT(*) FROM future_needs WHERE HEX(title) = '{h}'")},
            "SELECT COUNT(*) FROM future_needs WHERE code LIKE 'Z{c}-%'"),
        "target picture": (
            ["target_version", "adopted_on", "future_version", "action_code", "action", "change", "system_uuids",
             "organisation"],
            lambda c, i: ["T1", "2026-03-01", "F1", f"Z{c}-{i}", f"Handling {i} ø", "new", f"{SA[0]}|{SA[1]}", org],
            {"target_version": (32, "SELECT COUNT(*) FROM target_pictures WHERE HEX(version) = '{h}'"),
             "future_version": (32, "SELECT COUNT(*) FROM target_pictures t JOIN future_pictures f ON "
                                    "f.id = t.future_picture_id WHERE t.version = 'TF' AND HEX(f.version) = '{h}'"),
             "action_code": (32, "SELECT COUNT(*) FROM target_actions WHERE HEX(code) = '{h}'"),
             "action": (500, "SELECT COUNT(*) FROM target_actions WHERE HEX(title) = '{h}'")},
            "SELECT COUNT(*) FROM target_actions WHERE code LIKE 'Z{c}-%'"),
        "shared solutions": (
            ["solution", "maturity", "changed_on", "organisation"],
            lambda c, i: [f"Løsning {i}", "grøn", f"{2030 + c}-03-01", org],
            {"solution": (255, "SELECT COUNT(*) FROM shared_solutions WHERE HEX(name) = '{h}'")},
            "SELECT COUNT(*) FROM shared_solution_maturity WHERE YEAR(changed_on) = {y}"),
        "people": (
            ["person_uuid", "name", "email", "unit_uuid", "organisation"],
            lambda c, i: [U(f"ffff{c:04x}", i), f"Person {i} ø", f"p{i}@testrup.dk", unit, org],
            {"name": (255, "SELECT COUNT(*) FROM people WHERE HEX(name) = '{h}'")},
            "SELECT COUNT(*) FROM people WHERE kitos_uuid LIKE 'ffff{c:04x}%'"),
        "org units": (
            ["unit_uuid", "name", "parent_uuid", "organisation"],
            lambda c, i: [U(f"fffe{c:04x}", i), f"Enhed {i} ø", unit, org],
            {"name": (255, "SELECT COUNT(*) FROM org_units WHERE HEX(name) = '{h}'")},
            "SELECT COUNT(*) FROM org_units WHERE kitos_uuid LIKE 'fffe{c:04x}%'"),
        "contracts": (
            ["contract_uuid", "segment", "exit_decision", "annual_cost", "auto_renewal", "organisation"],
            lambda c, i: [CA[i], "A", "forlæng", f"{c + 1}.000,77", "ja", org],
            {},
            "SELECT COUNT(*) FROM contracts WHERE annual_cost = {c1}000.77"),
        "systems": (
            ["system_uuid", "category", "lifecycle_phase", "department_uuid", "supplier", "last_data_review",
             "citizen_facing", "ai", "algorithmic_decision_support", "rpa", "data_matching", "organisation"],
            lambda c, i: [SA[i], "fagsystem", "drift", unit, f"Mærke {c}", "2026-01-01", "selvbetjening", "ja",
                          "nej", "ja", "nej", org],
            {"supplier": (255, "SELECT COUNT(*) FROM systems WHERE HEX(supplier) = '{h}'")},
            "SELECT COUNT(*) FROM systems WHERE supplier = 'Mærke {c}'"),
    }


def test_bad_values_per_field():
    """Every column of every kind: invalid UTF-8 and a NUL skip their row with
    a warning naming FILE:LINE: column, the rest imports; a text longer than its
    column is cut at a character boundary (characters as MariaDB counts them)
    with a warning; any other value of 10,000 characters is an error naming
    FILE:LINE: column, never a raw database error."""
    with Env("csvfields") as env:
        env.start_db()
        objs = [usage(ORG_A, u, f"System A{i + 1}", DEP["A"]) for i, u in enumerate(SA[:20])]
        extra = [U("cccccccc", i) for i in range(5, 13)]
        objs += [contract(ORG_A, c, f"Kontrakt {i + 1}", [SA[0]]) for i, c in enumerate(CA + extra)]
        path = os.path.join(env.dir, "kitos.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(objs, f, ensure_ascii=False)
        r = env.run("import", "kitos", path)
        ok(r.returncode == 0, "KITOS setup: 20 systems, 12 contracts", r.stdout + r.stderr)
        CA.extend(extra)
        unit = U("dddddddd", 0x50)
        r = imp(env, write_csv(env, "unit.csv", [["unit_uuid", "name"], [unit, "Rod"]]))
        ok(r.returncode == 0, "setup: an org unit", r.stderr)
        r = imp(env, write_csv(env, "fut.csv", [["future_version", "adopted_on", "need_code", "need"],
                                                ["F1", "2026-01-01", "B1", "Behov"],
                                                [LONG[:32], "2026-01-01", "B1", "Behov"]]))
        ok(r.returncode == 0, "setup: future pictures F1 and one named as the cut of the long value", r.stderr)
        kinds = field_kinds(unit, ORG_A["cvr"])
        c = 0
        for kname, (hdr, good, texts, witness) in kinds.items():
            for case in ("utf8", "nul", "long", "long-other"):
                c += 1
                cols = [h for h in hdr if (h in texts) == (case == "long")] if case.startswith("long") else hdr
                rows, lines = [hdr], {}
                for i, col in enumerate(cols):
                    row = good(c, i)
                    if kname == "target picture" and col == "future_version":
                        row[0] = "TF"   # a target version of its own: one future version per version
                    row[hdr.index(col)] = BAD[case] if case in BAD else LONG
                    rows.append(row)
                    lines[col] = len(rows)
                rows.append(good(c, len(cols)))
                fname = f"{kname.replace(' ', '_')}-{case}.csv"
                path = write_raw(env, fname, raw_csv(rows))
                before = state(env)
                r = imp(env, path)
                q = witness.format(c=c, y=2030 + c, c1=c + 1)
                if case in BAD:
                    ok(r.returncode == 0, f"{kname}, {case}: the import succeeds", r.stdout + r.stderr)
                    for col, line in lines.items():
                        ok(f"{path}:{line}: {col}: {WANT[case]}" in r.stderr,
                           f"{kname}, {case} in {col}: a warning names FILE:{line}: {col}", r.stderr)
                    eq(env.scalar(q), "1", f"{kname}, {case}: the good row is imported, the {len(cols)} bad ones are not")
                    ok(f"{len(cols)} rows skipped" in r.stdout, f"{kname}, {case}: the summary counts the skipped rows",
                       r.stdout)
                elif case == "long":
                    if not texts:
                        continue
                    ok(r.returncode == 0, f"{kname}, 10,000 characters in a text: the import succeeds",
                       r.stdout + r.stderr)
                    for col, line in lines.items():
                        size, check = texts[col]
                        ok(f"{path}:{line}: {col}: 10000 characters, cut to the column's {size}" in r.stderr,
                           f"{kname}: {col} of 10,000 characters: a warning names FILE:{line}: {col}", r.stderr)
                        eq(env.scalar(check.format(h=hx(LONG[:size]), c=c)), "1",
                           f"{kname}: {col} holds its first {size} characters (emoji count as one)")
                    keyed = [col for col in cols if col in ("need_code", "action_code", "supplier")]  # the witness column cut
                    eq(env.scalar(q), str(len(cols) + 1 - len(keyed)), f"{kname}: every row of the file is imported")
                else:
                    eq(r.returncode, 1, f"{kname}: 10,000 characters in the other columns fail the import")
                    for col, line in lines.items():
                        ok(f"{path}:{line}: {col}: " in r.stderr,
                           f"{kname}: {col} of 10,000 characters: the error names FILE:{line}: {col}", r.stderr)
                    ok(": database:" not in r.stderr and "Data too long" not in r.stderr and "INSERT" not in r.stderr,
                       f"{kname}: no database error", r.stderr)
                    eq(state(env), before, f"{kname}: nothing changed")

DEMO_ORDER = ["org_units", "people", "systems", "contracts", "assessments", "incidents", "future_picture",
              "target_picture", "shared_solutions"]


def test_several_files_in_one_command():
    """The nine demo files in one command, given in reverse order, leave the
    tables that nine commands leave; one result line per file, in dependency
    order; a bad file among them fails the command and changes nothing of any
    file; a file that cannot be read refuses the command before it writes."""
    with Env("csvmulti1") as one, Env("csvmulti9") as nine, Env("csvmultibad") as bads:
        demo = os.path.join(one.dir, "demo")
        r = subprocess.run([OVERBLIK, "demo-data", "--as-of", "2026-11-26", demo], capture_output=True, text=True,
                           timeout=300)
        ok(r.returncode == 0, "demo-data runs", r.stderr)
        kfiles = sorted(glob.glob(os.path.join(demo, "kitos", "*.json")))
        files = [os.path.join(demo, "csv", f + ".csv") for f in DEMO_ORDER]
        for env in (one, nine, bads):
            env.start_db()
            r = env.run("import", "kitos", *kfiles)
            ok(r.returncode == 0, "the demo's KITOS files import", r.stderr)
        for f in files:
            r = imp(nine, f)
            ok(r.returncode == 0, f"one command per file: {os.path.basename(f)} imports", r.stderr)

        # A bad value in the assessments file: the command fails, its error
        # names FILE:LINE: column, the other files are checked too, nothing changes
        # (in an Env of its own: a rolled-back import uses up AUTO_INCREMENT ids).
        with open(files[4], encoding="utf-8") as fh:
            text = fh.read()
        lines = text.splitlines()
        bad_line = lines[1].split(";") if ";" in lines[1] else lines[1].split(",")
        sep = ";" if ";" in lines[1] else ","
        hdr = [h.strip().lower().lstrip("\ufeff") for h in lines[0].split(sep)]
        bad_line[hdr.index("done_on")] = "2026-13-45"
        bad = write_raw(bads, "assessments-bad.csv", (lines[0] + "\n" + sep.join(bad_line) + "\n").encode())
        # a second bad file, an incidents file with a bad severity
        with open(files[5], encoding="utf-8") as fh:
            ilines = fh.read().splitlines()
        ihdr = [h.strip().lower().lstrip("\ufeff") for h in ilines[0].split(sep)]
        irow = ilines[1].split(sep)
        irow[ihdr.index("severity")] = "enormous"
        ibad = write_raw(bads, "incidents-bad.csv", (ilines[0] + "\n" + sep.join(irow) + "\n").encode())
        before = state(bads)
        given = files[:4] + [bad, ibad] + files[6:]
        r = bads.run("import", "csv", *reversed(given))
        eq(r.returncode, 1, "a bad file among nine: the command fails", r.stdout + r.stderr)
        ok(f"{bad}:2: done_on: " in r.stderr, "the bad file's error names FILE:LINE: column", r.stderr)
        ok(f"{ibad}:2: severity: " in r.stderr, "the second bad file's error is listed too", r.stderr)
        ok("2 of 9 files have errors" in r.stderr and "nothing was changed" in r.stderr,
           "the message counts the bad files and says nothing changed", r.stderr)
        eq(r.stdout, "", "no result line when nothing was imported")
        eq(state(bads), before, "a bad file among nine: no file changed anything (one transaction)")

        # A file that cannot be read: refused before anything is written.
        missing = os.path.join(bads.dir, "no-such.csv")
        r = bads.run("import", "csv", files[0], missing)
        eq(r.returncode, 1, "a missing file among two: the command fails", r.stderr)
        ok(f"{missing}: cannot read" in r.stderr, "the missing file is named", r.stderr)
        eq(state(bads), before, "a missing file: nothing changed")

        # The good nine in reverse order: applied in dependency order.
        r = one.run("import", "csv", *reversed(files))
        ok(r.returncode == 0, "the nine demo files import in one command, given in reverse order",
           r.stdout[-2000:] + r.stderr[-2000:])
        out = r.stdout.splitlines()
        eq(len(out), 9, "one result line per file", r.stdout)
        eq([ln.split(": ", 1)[0] for ln in out], files, "each result line names its file, in dependency order",
           r.stdout)
        # Times of day (created/changed stamps) differ between two databases; every other cell counts.
        stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
        s1, s9 = ({t: [[("TIME" if stamp.match(c) else c) for c in row] for row in rows] for t, rows in
                   portfolio_snapshot(e).items()} for e in (one, nine))
        eq({t: s1[t] for t in s1 if s1[t] != s9[t]}, {},
           "one command of nine files leaves the tables nine commands leave",
           {t: s9[t] for t in s1 if s1[t] != s9[t]})
        eq(one.scalar("SELECT COUNT(*) FROM imports WHERE kind = 'csv'"), "9", "each file is logged as an import")

        # Again, with --json: one object per file, all unchanged.
        r = one.run("import", "csv", "--json", *files)
        ok(r.returncode == 0, "the nine files again, --json", r.stderr[-2000:])
        objs = [json.loads(x) for x in r.stdout.splitlines()]
        eq([o["file"] for o in objs], files, "--json: one object per file")
        eq(sum(o["created"] + o["updated"] for o in objs), 0, "the second import changes nothing")


run_tests(test_every_kind_as_excel_saves_it, test_absent_column_keeps_empty_cell_clears, test_org_unit_tree,
          test_pictures, test_bad_input_changes_nothing, test_organisation_column_and_org,
          test_bad_values_per_field, test_several_files_in_one_command)
