#!/usr/bin/python3
"""overblik import csv while another mariadbd starts on the same machine.

Every mariadbd deletes, when it starts, the "#sql*" files in its tmpdir (by
default /tmp, shared by every server on the machine), whichever server made
them. The CSV import staged the systems and contracts files in a temporary
Aria table, whose files live there: a server started meanwhile (another
test, another user's import) deleted them, and the import failed at the
table's DROP with "Unknown table 'overblik.csv_stage'" (2 of 80 runs of the
test suite on a busy machine). Here a thread does what such a start does,
for this test's own server only: it deletes that server's files in its
tmpdir as soon as they appear, while the nine demo files of 20
municipalities import; the import must not notice, and must not have needed
any file there.

The bulk writes run on a second thread while the next rows are checked: a
database error in one of them still names the file and the lines of its
rows, and nothing of any file changes."""

import glob
import os
import re
import subprocess
import threading

from obtest import Env, ok, eq, run_tests, OVERBLIK

ORDER = ["org_units", "people", "systems", "contracts", "assessments", "incidents", "future_picture",
         "target_picture", "shared_solutions"]


class Deleter(threading.Thread):
    """Deletes the server's temporary files in its tmpdir, as a starting
    mariadbd would, until stopped; counts what it found."""

    def __init__(self, tmpdir, pid):
        super().__init__(daemon=True)
        self.pattern = os.path.join(tmpdir, f"#sql*-{pid:x}-*")
        self.stop = threading.Event()
        self.seen = set()

    def run(self):
        while not self.stop.is_set():
            for f in glob.glob(self.pattern):
                self.seen.add(os.path.basename(f))
                try:
                    os.unlink(f)
                except OSError:
                    pass
            self.stop.wait(0.0005)


def test_import_survives_a_server_starting():
    with Env("csvtmpdir") as env:
        demo = os.path.join(env.dir, "demo")
        r = subprocess.run([OVERBLIK, "demo-data", "--municipalities", "20", "--as-of", "2026-11-26", demo],
                           capture_output=True, text=True, timeout=300)
        ok(r.returncode == 0, "demo-data for 20 municipalities runs", r.stderr)
        env.start_db()
        r = env.run("import", "kitos", *sorted(glob.glob(os.path.join(demo, "kitos", "*.json"))))
        ok(r.returncode == 0, "their KITOS files import", r.stderr)
        tmpdir = env.scalar("SELECT @@tmpdir")
        with open(os.path.join(env.state, "db", "mysqld.pid")) as f:
            pid = int(f.read().strip())
        ok(os.path.isdir(tmpdir), f"the server's tmpdir {tmpdir} is a directory")
        eq(os.path.realpath(tmpdir), os.path.realpath(os.path.join(env.state, "db", "tmp")),
           "the managed server has a tmpdir of its own (another mariadbd starting does not empty it)")
        before = int(env.scalar("SELECT COUNT(*) FROM systems WHERE last_data_review IS NOT NULL"))

        d = Deleter(tmpdir, pid)
        d.start()
        try:
            r = env.run("import", "csv", *[os.path.join(demo, "csv", f + ".csv") for f in ORDER])
        finally:
            d.stop.set()
            d.join()
        eq(r.returncode, 0, "the nine files import while the server's files in its tmpdir are deleted",
           r.stdout[-2000:] + r.stderr[-2000:])
        ok("Unknown table" not in r.stderr and "csv_stage" not in r.stderr, "no error about the staging table",
           r.stderr[-2000:])
        eq(sorted(d.seen), [], "the import keeps no file in the server's tmpdir")
        after = int(env.scalar("SELECT COUNT(*) FROM systems WHERE last_data_review IS NOT NULL"))
        ok(after > before, f"the systems file was applied ({before} -> {after} systems with a data review)")
        eq(env.scalar("SELECT COUNT(*) FROM imports WHERE kind = 'csv'"), "9", "nine files logged")


def test_database_error_in_a_bulk_write():
    with Env("csvbulkerr") as env:
        demo = os.path.join(env.dir, "demo")
        r = subprocess.run([OVERBLIK, "demo-data", "--municipalities", "20", "--as-of", "2026-11-26", demo],
                           capture_output=True, text=True, timeout=300)
        ok(r.returncode == 0, "demo-data for 20 municipalities runs", r.stderr)
        env.start_db()
        r = env.run("import", "kitos", *sorted(glob.glob(os.path.join(demo, "kitos", "*.json"))))
        ok(r.returncode == 0, "their KITOS files import", r.stderr)
        files = [os.path.join(demo, "csv", f + ".csv") for f in ORDER]
        # The 5000th assessment (line 5001, the third chunk of 2000) is refused
        # by the server, through a trigger: the check before the SQL passes it.
        with open(files[4], encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        hdr = [h.strip().lower().lstrip("\ufeff") for h in lines[0].split(";")]
        row = lines[5000].split(";")
        row[hdr.index("note")] = "boom"
        lines[5000] = ";".join(row)
        with open(files[4], "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
        env.sql("CREATE TRIGGER boom BEFORE INSERT ON gdpr_assessments FOR EACH ROW "
                "SET NEW.system_id = IF(NEW.note = 'boom', NULL, NEW.system_id)")
        before = [env.sql(f"SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', {cols}))), 0) FROM {t}")
                  for t, cols in (("people", "id, name, email, org_unit_id"),
                                  ("systems", "id, category, last_data_review, uses_ai"),
                                  ("contracts", "id, segment, annual_cost"), ("gdpr_assessments", "id"),
                                  ("org_units", "id, parent_id"))]
        r = env.run("import", "csv", *files)
        eq(r.returncode, 1, "a database error in a bulk write fails the command", r.stdout[-2000:])
        m = re.search(re.escape(files[4]) + r":(\d+)-(\d+): database: Column 'system_id' cannot be null", r.stderr)
        ok(m is not None, "the error names the file and the lines of the rows written", r.stderr[-2000:])
        ok(m is not None and int(m.group(1)) <= 5001 <= int(m.group(2)),
           "the lines named hold the refused row (line 5001)", m and m.group(0))
        ok("nothing was changed" in r.stderr, "the message says nothing changed", r.stderr[-2000:])
        after = [env.sql(f"SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', {cols}))), 0) FROM {t}")
                 for t, cols in (("people", "id, name, email, org_unit_id"),
                                 ("systems", "id, category, last_data_review, uses_ai"),
                                 ("contracts", "id, segment, annual_cost"), ("gdpr_assessments", "id"),
                                 ("org_units", "id, parent_id"))]
        eq(after, before, "no file changed anything (people, systems, contracts, assessments, org units)")
        eq(env.scalar("SELECT COUNT(*) FROM imports WHERE kind = 'csv'"), "0", "no file logged")

        # The staged systems are applied while the contracts file is read: the
        # server refusing one of them fails the command, naming the systems
        # file, and nothing changes.
        env.sql("DROP TRIGGER boom")
        with open(files[2], encoding="utf-8") as fh:
            sys_uuid = fh.read().split("\n")[3000].split(";")[0]
        env.sql("CREATE TRIGGER boom BEFORE UPDATE ON systems FOR EACH ROW "
                f"SET NEW.org_id = IF(NEW.kitos_uuid = '{sys_uuid}', NULL, NEW.org_id)")
        r = env.run("import", "csv", *files)
        eq(r.returncode, 1, "a database error applying the staged systems fails the command", r.stdout[-2000:])
        ok(re.search(re.escape(files[2]) + r":\d+: database: Column 'org_id' cannot be null", r.stderr),
           "the error names the systems file", r.stderr[-2000:])
        ok("nothing was changed" in r.stderr, "the message says nothing changed", r.stderr[-2000:])
        after = [env.sql(f"SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', {cols}))), 0) FROM {t}")
                 for t, cols in (("people", "id, name, email, org_unit_id"),
                                 ("systems", "id, category, last_data_review, uses_ai"),
                                 ("contracts", "id, segment, annual_cost"), ("gdpr_assessments", "id"),
                                 ("org_units", "id, parent_id"))]
        eq(after, before, "no file changed anything")
        eq(env.scalar("SELECT COUNT(*) FROM imports WHERE kind = 'csv'"), "0", "no file logged")


if __name__ == "__main__":
    run_tests(test_import_survives_a_server_starting, test_database_error_in_a_bulk_write)
