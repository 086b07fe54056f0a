/* pdf_floor.c - the floor for bench/pdf_bench: the sample's long table
 * ("Alle systemer", the same rows as core/sample.c) drawn by a bare libharu
 * loop, as cheaply as libharu allows with the same output features as
 * overblik's renderer: DejaVu Sans and Sans Bold embedded through
 * HPDF_UseUTFEncodings + HPDF_LoadTTFontFromFile(..., HPDF_TRUE) and the
 * UTF-8 encoder, every stream compressed (HPDF_COMP_ALL), A4 portrait.
 * It draws the cells row by row (numbers and dates the Danish way), the
 * header row on every page and nothing else: no wrapping, no status marks,
 * no heading, no footer, no table of contents, no outline.
 *
 * Build: gcc -O2 bench/pdf_floor.c -lhpdf -o bench/out/pdf_floor
 * Usage: pdf_floor ROWS OUTPUT.pdf   (prints "OUTPUT: N pages") */
#include <hpdf.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT_REGULAR "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define FONT_BOLD "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Geometry: core/render_pdf.c's for a table (margins, 8.5 pt text, 10.5 pt
 * lines with 2.5 pt above and below, 4 pt at the sides), so that the pages
 * hold about as many rows as overblik's; the same in bench/reportlab_table.py. */
#define PAGE_W 595.276f
#define PAGE_H 841.89f
#define MARGIN_X 56.7f
#define CONTENT_TOP 64.0f /* below the top edge */
#define CONTENT_BOT 60.0f /* above the bottom edge */
#define FONT_SIZE 8.5f
#define ROW_H 15.5f
#define PAD 4.0f
#define BASELINE 5.0f /* from the bottom of a row */

static const char *const systems[] = {"SBSYS", "KMD Nexus", "Aula", "Cura", "ØS Indsigt", "Momentum",
				      "AutoCAD", "Økonomistyring (Prisme)", "Børneintra", "Læsetest"};
static const char *const suppliers[] = {"KMD", "Netcompany", "Systematic", "EG", "Fujitsu", "Atea", "Schultz"};
static const char *const departments[] = {"Børn og Skole", "Sundhed og Ældre", "Teknik og Miljø",
					  "Økonomi og Personale", "Job og Arbejdsmarked", "Kultur og Fritid"};

enum align { LEFT, RIGHT, CENTER };
static const struct {
	const char *header;
	float width;
	enum align align;
} cols[] = {
	{"Nr.", 1, RIGHT},	       {"System", 3, LEFT}, {"Forvaltning", 2.5f, LEFT}, {"Leverandør", 1.5f, LEFT},
	{"Brugere", 1.2f, RIGHT}, {"Gennemgået", 1.7f, CENTER},
};

static jmp_buf fail;

static void on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
	(void)user_data;
	fprintf(stderr, "pdf_floor: libharu error 0x%04x (detail %u)\n", (unsigned)error_no, (unsigned)detail_no);
	longjmp(fail, 1);
}

/* 1234567 -> "1.234.567" */
static void danish_int(long v, char *out)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%ld", v), j = 0;
	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[j++] = '.';
		out[j++] = tmp[i];
	}
	out[j] = 0;
}

/* Days since 1970-01-01 -> "DD.MM.YYYY" (Howard Hinnant's civil_from_days). */
static void danish_date(long z, char *out)
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
	snprintf(out, 16, "%02ld.%02ld.%04ld", d, m, y + (m <= 2));
}

static void cell(HPDF_Page page, float x, float w, float y, enum align align, const char *s)
{
	float tx = x + PAD;
	if (align != LEFT) {
		float tw = HPDF_Page_TextWidth(page, s);
		tx = align == RIGHT ? x + w - PAD - tw : x + (w - tw) / 2;
	}
	HPDF_Page_TextOut(page, tx, y + BASELINE, s);
}

int main(int argc, char **argv)
{
	long rows;
	volatile int pages = 0;
	HPDF_Doc pdf;
	HPDF_Font regular, bold;
	float x[N(cols)], w[N(cols)], total = 0, avail = PAGE_W - 2 * MARGIN_X;

	if (argc != 3 || (rows = strtol(argv[1], NULL, 10)) < 0) {
		fprintf(stderr, "usage: pdf_floor ROWS OUTPUT.pdf\n");
		return 2;
	}
	for (size_t c = 0; c < N(cols); c++)
		total += cols[c].width;
	for (size_t c = 0; c < N(cols); c++) {
		w[c] = avail * cols[c].width / total;
		x[c] = c ? x[c - 1] + w[c - 1] : MARGIN_X;
	}

	pdf = HPDF_New(on_error, NULL);
	if (pdf == NULL)
		return 1;
	if (setjmp(fail)) {
		HPDF_Free(pdf);
		return 1;
	}
	HPDF_SetCompressionMode(pdf, HPDF_COMP_ALL);
	HPDF_UseUTFEncodings(pdf);
	HPDF_SetCurrentEncoder(pdf, "UTF-8");
	regular = HPDF_GetFont(pdf, HPDF_LoadTTFontFromFile(pdf, FONT_REGULAR, HPDF_TRUE), "UTF-8");
	bold = HPDF_GetFont(pdf, HPDF_LoadTTFontFromFile(pdf, FONT_BOLD, HPDF_TRUE), "UTF-8");

	long i = 0;
	do {
		HPDF_Page page = HPDF_AddPage(pdf);
		float y = PAGE_H - CONTENT_TOP - ROW_H;
		HPDF_Page_SetSize(page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
		pages++;
		/* the header row: a grey band, bold text, a rule under it */
		HPDF_Page_SetGrayFill(page, 0.9f);
		HPDF_Page_Rectangle(page, MARGIN_X, y, avail, ROW_H);
		HPDF_Page_Fill(page);
		HPDF_Page_SetGrayFill(page, 0);
		HPDF_Page_SetLineWidth(page, 0.5f);
		HPDF_Page_MoveTo(page, MARGIN_X, y);
		HPDF_Page_LineTo(page, MARGIN_X + avail, y);
		HPDF_Page_Stroke(page);
		HPDF_Page_BeginText(page);
		HPDF_Page_SetFontAndSize(page, bold, FONT_SIZE);
		for (size_t c = 0; c < N(cols); c++)
			cell(page, x[c], w[c], y, cols[c].align, cols[c].header);
		HPDF_Page_SetFontAndSize(page, regular, FONT_SIZE);
		for (y -= ROW_H; i < rows && y >= CONTENT_BOT; i++, y -= ROW_H) {
			char nr[32], users[32], date[16];
			danish_int(i + 1, nr);
			danish_int((i * 7919) % 20000 + 1, users);
			danish_date(19723 + i % 1000, date); /* 2024-01-01 + i % 1000 days */
			const char *v[] = {nr, systems[i % N(systems)], departments[i % N(departments)],
					   suppliers[i % N(suppliers)], users, date};
			for (size_t c = 0; c < N(cols); c++)
				cell(page, x[c], w[c], y, cols[c].align, v[c]);
		}
		HPDF_Page_EndText(page);
	} while (i < rows);

	HPDF_SaveToFile(pdf, argv[2]);
	HPDF_Free(pdf);
	printf("%s: %d pages\n", argv[2], pages);
	return 0;
}
