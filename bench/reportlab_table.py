#!/usr/bin/python3
"""reportlab_table.py - the peer for bench/pdf_bench: the sample's long table
("Alle systemer", the same rows as core/sample.c and bench/pdf_floor.c) laid
out with ReportLab (Debian's python3-reportlab; run it with /usr/bin/python3),
DejaVu Sans and Sans Bold registered as TrueType fonts (embedded, subset by
ReportLab), page compression on, A4 portrait, numbers and dates the Danish
way. Two modes:

  platypus  SimpleDocTemplate + one Table(repeatRows=1) with a TableStyle,
            the way ReportLab's users write a long table;
  canvas    the low-level canvas: a drawString loop with manual pagination,
            the same geometry as bench/pdf_floor.c.

Usage: reportlab_table.py platypus|canvas ROWS OUTPUT.pdf   (prints
"OUTPUT: N pages")."""

import datetime
import sys

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import SimpleDocTemplate, Table, TableStyle

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
SYSTEMS = ["SBSYS", "KMD Nexus", "Aula", "Cura", "ØS Indsigt", "Momentum", "AutoCAD", "Økonomistyring (Prisme)",
           "Børneintra", "Læsetest"]
SUPPLIERS = ["KMD", "Netcompany", "Systematic", "EG", "Fujitsu", "Atea", "Schultz"]
DEPARTMENTS = ["Børn og Skole", "Sundhed og Ældre", "Teknik og Miljø", "Økonomi og Personale",
               "Job og Arbejdsmarked", "Kultur og Fritid"]
# header, relative width, alignment: core/sample.c's columns
COLUMNS = [("Nr.", 1, "RIGHT"), ("System", 3, "LEFT"), ("Forvaltning", 2.5, "LEFT"),
           ("Leverandør", 1.5, "LEFT"), ("Brugere", 1.2, "RIGHT"), ("Gennemgået", 1.7, "CENTER")]

# Geometry: bench/pdf_floor.c's, which is core/render_pdf.c's for a table.
MARGIN_X = 56.7
CONTENT_TOP = 64.0  # below the top edge
CONTENT_BOT = 60.0  # above the bottom edge
FONT_SIZE = 8.5
ROW_H = 15.5
PAD = 4
BASELINE = 5
FRAME_PAD = 6  # platypus's Frame default padding, inside the margins


def danish_int(v):
    return f"{v:,}".replace(",", ".")


def rows(n):
    day0 = datetime.date(2024, 1, 1)
    for i in range(n):
        yield [danish_int(i + 1), SYSTEMS[i % len(SYSTEMS)], DEPARTMENTS[i % len(DEPARTMENTS)],
               SUPPLIERS[i % len(SUPPLIERS)], danish_int((i * 7919) % 20000 + 1),
               (day0 + datetime.timedelta(days=i % 1000)).strftime("%d.%m.%Y")]


def col_widths(avail=A4[0] - 2 * MARGIN_X):
    total = sum(w for _, w, _ in COLUMNS)
    return [avail * w / total for _, w, _ in COLUMNS]


def platypus(n, out):
    pages = []
    # the margins less the frame's padding: the table gets the same area as the others
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=MARGIN_X - FRAME_PAD, rightMargin=MARGIN_X - FRAME_PAD,
                            topMargin=CONTENT_TOP - FRAME_PAD, bottomMargin=CONTENT_BOT - FRAME_PAD,
                            pageCompression=1, title="Alle systemer")
    data = [[h for h, _, _ in COLUMNS]] + list(rows(n))
    style = [
        ("FONT", (0, 0), (-1, 0), "DejaVuSans-Bold", FONT_SIZE),
        ("FONT", (0, 1), (-1, -1), "DejaVuSans", FONT_SIZE),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), BASELINE),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
    ]
    for c, (_, _, align) in enumerate(COLUMNS):
        style.append(("ALIGN", (c, 0), (c, -1), align))
    table = Table(data, colWidths=col_widths(doc.width - 2 * FRAME_PAD), rowHeights=ROW_H, repeatRows=1)
    table.setStyle(TableStyle(style))
    doc.build([table], onFirstPage=lambda c, d: pages.append(1), onLaterPages=lambda c, d: pages.append(1))
    return len(pages)


def low_level(n, out):
    c = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    c.setTitle("Alle systemer")
    widths = col_widths()
    xs = [MARGIN_X + sum(widths[:k]) for k in range(len(widths))]
    avail = A4[0] - 2 * MARGIN_X
    draw = {"LEFT": lambda c_, x, w, y, s: c_.drawString(x + PAD, y, s),
            "RIGHT": lambda c_, x, w, y, s: c_.drawRightString(x + w - PAD, y, s),
            "CENTER": lambda c_, x, w, y, s: c_.drawCentredString(x + w / 2, y, s)}
    aligns = [draw[a] for _, _, a in COLUMNS]
    it = rows(n)
    pending = next(it, None)
    pages = 0
    while True:
        pages += 1
        y = A4[1] - CONTENT_TOP - ROW_H
        c.setFillGray(0.9)
        c.rect(MARGIN_X, y, avail, ROW_H, stroke=0, fill=1)
        c.setFillGray(0)
        c.setLineWidth(0.5)
        c.line(MARGIN_X, y, MARGIN_X + avail, y)
        c.setFont("DejaVuSans-Bold", FONT_SIZE)
        for k, (h, _, _) in enumerate(COLUMNS):
            aligns[k](c, xs[k], widths[k], y + BASELINE, h)
        c.setFont("DejaVuSans", FONT_SIZE)
        y -= ROW_H
        while pending is not None and y >= CONTENT_BOT:
            for k, v in enumerate(pending):
                aligns[k](c, xs[k], widths[k], y + BASELINE, v)
            y -= ROW_H
            pending = next(it, None)
        c.showPage()
        if pending is None:
            break
    c.save()
    return pages


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("platypus", "canvas"):
        sys.exit("usage: reportlab_table.py platypus|canvas ROWS OUTPUT.pdf")
    pdfmetrics.registerFont(TTFont("DejaVuSans", FONT_DIR + "DejaVuSans.ttf"))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", FONT_DIR + "DejaVuSans-Bold.ttf"))
    n, out = int(sys.argv[2]), sys.argv[3]
    pages = (platypus if sys.argv[1] == "platypus" else low_level)(n, out)
    print(f"{out}: {pages} pages")


if __name__ == "__main__":
    main()
