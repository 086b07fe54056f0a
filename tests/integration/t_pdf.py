#!/usr/bin/python3
"""The PDF renderer through real tools: the sample document (every element,
built through the plugin ABI) passes qpdf --check; pdftotext gives back the
Danish text in reading order with "Side X af Y"; pdfinfo's page count is the
renderer's; the outline lists every section; two renders are byte-identical;
a 33,000-row table repeats its header on every page; a report run through the
real worker gets its PDF."""

import json
import os
import re
import subprocess

from obtest import Env, ok, eq, run_tests, OVERBLIK, TOP_BUILDDIR, TOP_SRCDIR

SECTIONS = ["Nøgletal", "Tekst", "Afsnit med fremhævninger", "Et langt afsnit", "Tabeller", "Diagrammer",
            "Bred oversigt"]


def render(path, *args):
    return subprocess.run([OVERBLIK, "render-sample", "--as-of", "2026-11-26", "--templates",
                           os.path.join(TOP_SRCDIR, "templates", "da"), *args, path], capture_output=True,
                          text=True, timeout=600)


def pdfinfo(path, *args):
    out = subprocess.run(["pdfinfo", *args, path], capture_output=True, text=True).stdout
    return dict((k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line))


def text(path, *args):
    return subprocess.run(["pdftotext", *args, path, "-"], capture_output=True, text=True).stdout


def outline_titles(path):
    """(level, title) of every outline entry, depth first, from qpdf's JSON."""
    j = json.loads(subprocess.run(["qpdf", "--json", "--json-key=outlines", path], capture_output=True,
                                  text=True).stdout)
    found = []

    def walk(items, level):
        for it in items:
            found.append((level, it["title"]))
            walk(it.get("kids", []), level + 1)
    walk(j.get("outlines", []), 1)
    return found


def test_sample():
    with Env("pdf", seed_datadir=False) as env:
        a, b = os.path.join(env.dir, "a.pdf"), os.path.join(env.dir, "b.pdf")
        r = render(a)
        ok(r.returncode == 0, "render-sample writes the sample", r.stderr)
        m = re.search(r"(\d+) pages", r.stdout)
        pages = int(m.group(1)) if m else -1
        q = subprocess.run(["qpdf", "--check", a], capture_output=True, text=True)
        ok(q.returncode in (0, 3) and "No syntax or stream encoding errors found" in q.stdout,
           "qpdf --check finds no errors", q.stdout + q.stderr)
        info = pdfinfo(a)
        eq(int(info.get("Pages", "0")), pages, f"pdfinfo counts the renderer's {pages} pages")
        eq(info.get("Title"), "Eksempel på en rapport", "document info: Title")
        eq(info.get("Creator"), "overblik 0.1.0", "document info: Creator")
        ok("Nørre Vesterå Kommune" in info.get("Author", ""), "document info: Author", info)
        ok("2026" in info.get("CreationDate", ""), "document info: CreationDate from the run", info)
        t = text(a)
        for s in ["æøå ÆØÅ", "Æble, østers og ål", "Systemejeren", "højst 12 måneder gammel",
                  "opgjort 2026-11-26"]:
            ok(s in t, f"pdftotext gives back {s!r}")
        ok(f"Side 2 af {pages}" in t and f"Side {pages} af {pages}" in t, "the footer says Side X af Y", t[-500:])
        ok("26.11.2026" in t, "the footer carries as_of the Danish way")
        # "Tabeller" is a section with OB_SECTION_NEW_PAGE: its page starts
        # with it (after the running header line), though the page before
        # had room left.
        starts = [[l.strip() for l in pg.splitlines() if l.strip()][2:3] for pg in t.split("\f")]
        ok(["Tabeller"] in starts, "a section marked new_page starts its page", starts)
        ok("1.234.567,50" in t and "31.03.2027" in t and "98,5 %" in t,
           "numbers, dates and percentages are written the Danish way", t)
        # After the table of contents (which lists them too), each heading
        # comes after the one before it.
        body = t.find("Overblik over it-porteføljen")
        positions, at = [], body
        for s in SECTIONS:
            at = t.find(s, at + 1) if at >= 0 else -1
            positions.append(at)
        ok(body >= 0 and all(p > 0 for p in positions), "the sections come out in reading order", positions)
        ok("Indhold" in t, "there is a table of contents")
        ok("▲ 3 siden sidst" in t and "▼ 2 siden sidst" in t and "61,5" in t,
           "key figures show their value and the change with an up or down mark", t[:2000])
        ok("Systemer med persondata pr. forvaltning" in t and "Med risikovurdering" in t and "Fagsystemer" in t,
           "both bar charts are there with their legend and labels")
        ok("Note: tallene er fra demo-kommunen" in t, "the note is there")
        ok("Aftal med leverandøren, hvordan og hvornår data leveres tilbage." in t
           and t.find("Afklar, hvad der skal arkiveres") > t.find("Aftal med leverandøren")
           and "opsigelsesfristen, så der er tid til et udbud" in t,
           "the bullet list's items come out in order, a long one wrapped", t[:3000])
        titles = outline_titles(a)
        eq([x for _, x in titles], ["Nøgletal", "Tekst", "Afsnit med fremhævninger", "Et langt afsnit",
                                    "En punktliste", "Tabeller", "Diagrammer", "Bred oversigt"], "the outline lists every section")
        eq([lvl for lvl, x in titles if x.startswith(("Afsnit", "Et langt"))], [2, 2],
           "level-2 sections are nested in the outline")
        sizes = []
        for p in range(1, pages + 1):
            line = next((v for k, v in pdfinfo(a, "-f", str(p), "-l", str(p)).items()
                         if k.startswith("Page") and k.endswith("size")), "")
            m2 = re.match(r"([\d.]+) x ([\d.]+)", line)
            sizes.append((float(m2.group(1)), float(m2.group(2))) if m2 else (0, 0))
        portrait = [p + 1 for p, (w, h) in enumerate(sizes) if round(w) == 595 and round(h) == 842]
        landscape = [p + 1 for p, (w, h) in enumerate(sizes) if round(w) == 842 and round(h) == 595]
        ok(portrait and portrait[0] == 1 and landscape and len(portrait) + len(landscape) == pages,
           "A4 portrait pages, and landscape pages for the landscape section", sizes)
        ok(landscape and "Bred oversigt" in text(a, "-f", str(landscape[0]), "-l", str(landscape[0])),
           "the landscape pages hold that section", landscape)
        r2 = render(b)
        ok(open(a, "rb").read() == open(b, "rb").read(), "two renders are byte-identical")


def test_missing_font():
    with Env("pdffont", seed_datadir=False) as env:
        r = subprocess.run([OVERBLIK, "render-sample", "--templates", os.path.join(TOP_SRCDIR, "templates", "da"),
                            os.path.join(env.dir, "x.pdf")], capture_output=True, text=True,
                           env=dict(os.environ, OB_FONT_DIR=os.path.join(env.dir, "nofonts")))
        ok(r.returncode == 1 and "DejaVuSans.ttf" in r.stderr and "fonts-dejavu-core" in r.stderr,
           "a missing font is an error that names the file and the Debian package", r.stderr)
        ok(not os.path.exists(os.path.join(env.dir, "x.pdf")), "and no PDF is left behind")


def test_long_table():
    with Env("pdflong", seed_datadir=False) as env:
        a = os.path.join(env.dir, "long.pdf")
        r = render(a, "--rows", "33000")
        ok(r.returncode == 0, "a 33,000-row table renders", r.stderr)
        m = re.search(r"(\d+) pages", r.stdout)
        pages = int(m.group(1)) if m else -1
        info = pdfinfo(a)
        eq(int(info.get("Pages", "0")), pages, f"pdfinfo's page count matches the renderer's ({pages})")
        ok(pages > 300, "it takes hundreds of pages")
        q = subprocess.run(["qpdf", "--check", a], capture_output=True, text=True)
        ok(q.returncode in (0, 3) and "No syntax or stream encoding errors found" in q.stdout, "qpdf --check passes")
        # pdftotext ends every page with a form feed: page by page, where the
        # long table runs (from the page of its first row on) each has its header.
        pages_text = text(a).split("\f")[:pages]
        start = next((i for i, t in enumerate(pages_text) if "Alle systemer" in t and "Gennemgået" in t), None)
        ok(start is not None, "the long table starts under its section heading")
        table_pages = pages_text[start:] if start is not None else []
        missing = [start + 1 + i for i, t in enumerate(table_pages)
                   if not ("System" in t and "Forvaltning" in t and "Leverandør" in t and "Gennemgået" in t)]
        ok(len(table_pages) > 300 and not missing,
           f"the header row is on every page of the table ({len(table_pages)} pages)", missing[:10])
        ok(re.search(r"\b33\.?000\b", pages_text[-1] if pages_text else "") is not None,
           "the last row is on the last page", (pages_text[-1] if pages_text else "")[-300:])


def test_run_gets_pdf():
    plugins = os.path.join(TOP_BUILDDIR, "tests", "plugins", ".libs")
    with Env("pdfrun", {"plugin_dir": plugins}) as env:
        env.start_db()
        out = os.path.join(env.dir, "out")
        r = env.run("run", "echo", "--as-of", "2026-11-26", "--out", out)
        ok(r.returncode == 0, "overblik run echo succeeds", r.stdout + r.stderr)
        pdf = os.path.join(out, "echo.pdf")
        ok(os.path.exists(pdf), "the run has its PDF", os.listdir(out) if os.path.isdir(out) else out)
        if os.path.exists(pdf):
            t = text(pdf)
            ok("Ekko" in t and "Prøve på æøå" in t and "Kørsel" in t, "with the plugin's document in it", t)
            eq(env.sql("SELECT name FROM run_files ORDER BY name"), [["document.json"], ["echo.pdf"]],
               "both files are recorded with the run")


def embedded_cmaps(pdf):
    """The code points of every TrueType font embedded in pdf (FontFile2),
    read back with fontTools."""
    from fontTools.ttLib import TTFont
    import io
    j = json.loads(subprocess.run(["qpdf", "--json=2", "--json-key=qpdf", pdf], capture_output=True,
                                  text=True).stdout)
    found = []
    for obj in j["qpdf"][1].values():
        d = (obj.get("value") or (obj.get("stream") or {}).get("dict")) if isinstance(obj, dict) else None
        ff = d.get("/FontFile2") if isinstance(d, dict) else None
        if not ff:
            continue
        num = ff.split()[0]
        data = subprocess.run(["qpdf", f"--show-object={num}", "--filtered-stream-data", pdf],
                              capture_output=True).stdout
        font = TTFont(io.BytesIO(data))
        found.append(set(font.getBestCmap() or {}))
    return found


def test_subset_fonts():
    """A document in Danish is set in the subset fonts (the build's fonts/,
    when fontTools made them); one with a Greek or Cyrillic name falls back
    to the whole DejaVu fonts, so its letters are drawn, not boxes."""
    plugins = os.path.join(TOP_BUILDDIR, "tests", "plugins", ".libs")
    subset = os.path.exists(os.path.join(TOP_BUILDDIR, "fonts", "DejaVuSans.ttf"))
    with Env("pdfsubset", {"plugin_dir": plugins}) as env:
        env.start_db()
        cm = {}
        for tag, msg in (("da", "Prøve på æøå – “citat” → 5 €"), ("el", "Ωμέγα og Кириллица")):
            out = os.path.join(env.dir, "out-" + tag)
            r = env.run("run", "echo", "--as-of", "2026-11-26", "--param", "message=" + msg, "--out", out)
            ok(r.returncode == 0, f"overblik run echo with {msg!r}", r.stdout + r.stderr)
            pdf = os.path.join(out, "echo.pdf")
            t = text(pdf) if os.path.exists(pdf) else ""
            ok(msg in t, f"pdftotext gives back {msg!r}", t[:400])
            cm[tag] = embedded_cmaps(pdf) if os.path.exists(pdf) else []
            eq(len(cm[tag]), 2, f"{tag}: two fonts are embedded (regular and bold)")
        ok(cm["el"] and all(0x3A9 in c and 0x41A in c for c in cm["el"]),
           "the Greek and Cyrillic document embeds fonts that have Ω and К")
        ok(cm["da"] and all(0xF8 in c and 0x2192 in c and 0x20AC in c for c in cm["da"]),
           "the Danish document's fonts have ø, → and €")
        if subset:
            ok(cm["da"] and all(0x3A9 not in c for c in cm["da"]),
               "and they are the subset (no Greek): the cheaper fonts")


run_tests(test_sample, test_missing_font, test_long_table, test_run_gets_pdf, test_subset_fonts)
