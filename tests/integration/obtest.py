"""obtest - the integration tests' harness: TAP output, a private MariaDB in a
temporary state directory (a copy of a data directory made once by
mariadb-install-db), and the real overblik binaries.

Each test file is a script that prints TAP (automake's tap-driver reads it).
OB_TEST_KEEP=1 keeps the temporary directories for debugging."""

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

TOP_BUILDDIR = os.environ.get("OB_TOP_BUILDDIR", os.getcwd())
TOP_SRCDIR = os.environ.get("OB_TOP_SRCDIR", TOP_BUILDDIR)
SHARED_DIR = os.environ.get("OB_SHARED_DIR", os.path.join(TOP_SRCDIR, "..", "shared"))
OVERBLIK = os.path.join(TOP_BUILDDIR, "overblik")
OVERBLIKD = os.path.join(TOP_BUILDDIR, "overblikd")
INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
MARIADB = shutil.which("mariadb") or "/usr/bin/mariadb"

def _sanitized():
    try:
        with open(os.path.join(TOP_BUILDDIR, "Makefile")) as f:
            return any(line.startswith("SAN_CFLAGS = -fsanitize") for line in f)
    except OSError:
        return False


# A --enable-sanitizers build: memory and time figures mean nothing there.
SANITIZED = _sanitized()

# In a --enable-sanitizers build ASan would catch a plugin's SIGSEGV and exit 1;
# the tests want what production does: the worker dies of the signal.
os.environ.setdefault("ASAN_OPTIONS", "handle_segv=0")

_n = 0
_failed = 0


def ok(cond, desc, diag=None):
    """One TAP line; diag (any text) is printed as comments on failure."""
    global _n, _failed
    _n += 1
    desc = desc.replace("\n", " ")
    if cond:
        print(f"ok {_n} - {desc}", flush=True)
    else:
        _failed += 1
        print(f"not ok {_n} - {desc}", flush=True)
        if diag is not None:
            for line in str(diag).rstrip().splitlines()[-40:]:
                print(f"#   {line}", flush=True)
    return cond


def eq(got, want, desc, diag=None):
    extra = "" if diag is None else f"\n{diag}"
    return ok(got == want, desc, f"got:  {got!r}\nwant: {want!r}{extra}")


def skip(desc, why):
    """A check that cannot run here, reported as skipped (never as passed)."""
    global _n
    _n += 1
    print(f"ok {_n} - {desc} # SKIP {why}", flush=True)


def done():
    print(f"1..{_n}", flush=True)
    sys.exit(1 if _failed else 0)


def run_tests(*funcs):
    """Runs each test function; an exception fails that test, not the file."""
    for f in funcs:
        print(f"# {f.__name__}", flush=True)
        try:
            f()
        except Exception:
            ok(False, f"{f.__name__} raised", traceback.format_exc())
    done()


def _tmp_root():
    root = os.path.join(TOP_BUILDDIR, "tests", "tmp")
    os.makedirs(root, exist_ok=True)
    return root


def template_datadir():
    """A data directory made once by mariadb-install-db, shared by all tests
    (copying it takes a fraction of the install's time)."""
    root = _tmp_root()
    tmpl = os.path.join(root, "template-datadir")
    with open(os.path.join(root, "template.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isdir(os.path.join(tmpl, "mysql")):
            shutil.rmtree(tmpl, ignore_errors=True)
            user = "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody")
            subprocess.run([INSTALL_DB, "--no-defaults", f"--datadir={tmpl}.new", f"--user={user}",
                            "--skip-test-db", "--auth-root-authentication-method=socket"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            os.rename(tmpl + ".new", tmpl)
    return tmpl


class Env:
    """A state directory with its own managed MariaDB and a config for it."""

    def __init__(self, name, config=None, seed_datadir=True):
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=_tmp_root())
        self.state = os.path.join(self.dir, "var")
        os.makedirs(os.path.join(self.state, "db"))
        if seed_datadir:
            shutil.copytree(template_datadir(), os.path.join(self.state, "db", "data"))
        # The Danish texts, and the test plugins' own (tests/templates).
        self.templates = os.path.join(self.dir, "templates")
        shutil.copytree(os.path.join(TOP_SRCDIR, "templates", "da"), self.templates)
        shutil.copytree(os.path.join(TOP_SRCDIR, "tests", "templates"), self.templates, dirs_exist_ok=True)
        cfg = {"state_dir": self.state, "template_dir": self.templates}
        cfg.update(config or {})
        self.config = os.path.join(self.dir, "overblik.json")
        with open(self.config, "w") as f:
            json.dump(cfg, f)
        self.socket = os.path.join(self.state, "db", "mysqld.sock")
        self.started = False

    def run(self, *args, input=None, timeout=300):
        """Runs overblik -c CONFIG ARGS; returns CompletedProcess (text)."""
        return subprocess.run([OVERBLIK, "-c", self.config, *args], input=input, capture_output=True,
                              text=True, errors="backslashreplace", timeout=timeout)

    def start_db(self):
        """Keeps the server up between commands (they attach to it)."""
        r = self.run("db", "start")
        if r.returncode != 0:
            raise RuntimeError("overblik db start failed:\n" + r.stdout + r.stderr)
        self.started = True
        return r

    def sql(self, query):
        """Rows of a query, through the mariadb client on the private socket."""
        r = subprocess.run([MARIADB, "--no-defaults", "-S", self.socket, "-u",
                            "root" if os.geteuid() == 0 else os.environ.get("USER", ""),
                            "-N", "-B", "--default-character-set=utf8mb4", "-e", query, "overblik"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"mariadb: {query}: {r.stderr}")
        return [line.split("\t") for line in r.stdout.splitlines()]

    def scalar(self, query):
        rows = self.sql(query)
        return rows[0][0] if rows else None

    def snapshot(self, tables):
        """Every row of every table, for 'nothing changed' checks."""
        snap = {}
        for t in tables:
            snap[t] = self.sql(f"SELECT * FROM {t} ORDER BY 1")
        return snap

    def close(self):
        if self.started:
            self.run("db", "stop")
        if not os.environ.get("OB_TEST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


PORTFOLIO_TABLES = ["organisations", "org_units", "people", "systems", "contracts", "contract_systems",
                    "data_processing", "data_processing_systems", "data_processing_contracts",
                    "gdpr_assessments", "incidents", "future_pictures", "future_needs", "target_pictures",
                    "target_actions", "target_action_systems", "shared_solutions",
                    "shared_solution_maturity"]


def portfolio_snapshot(env):
    """The portfolio without the timestamps that a no-op statement may not touch anyway."""
    return env.snapshot(PORTFOLIO_TABLES)
