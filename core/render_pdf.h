/* render_pdf.h - the run's document (core/doc.h: a typed model, built by
 * the plugin ABI's document calls and checked there, or read back from a
 * document.json by ob_doc_from_json) rendered as an A4 PDF with libharu.
 *
 * Output is reproducible: the same document and meta give the same bytes
 * (the only date written is meta->created). */
#ifndef OB_RENDER_PDF_H
#define OB_RENDER_PDF_H

#include <time.h>

struct ob_doc;
struct ob_err;

struct ob_render_meta {
	const char *org_name;      /* header, left; may be NULL */
	const char *report_title;  /* header, right; NULL = the document's title */
	const char *as_of;         /* "2026-11-26": footer, shown as 26.11.2026; may be NULL */
	unsigned long long run_id; /* footer "Kørsel 17"; 0 = none */
	time_t created;            /* CreationDate (UTC); 0 = none. Never the clock. */
	const char *creator;       /* "overblik 0.1.0"; may be NULL */
	const char *author;        /* Author, e.g. the organisation; may be NULL */
	const char *font_dir;      /* NULL = /usr/share/fonts/truetype/dejavu */
	const char *fingerprint;   /* footer "Kørsel 17 · data 3f2a9c1b0d4e": the data's
				    * fingerprint (core/run.c, report_fingerprint);
				    * NULL or "" = none. At most 32 characters shown. */
};

struct ob_render_stats {
	int pages;
};

/* Renders doc to path, written as path.tmp and renamed into place (the
 * directory must exist). meta may be NULL (all defaults); every pointer is
 * borrowed for the call only. Returns 0 and fills *stats (may be NULL), or
 * -1 with err naming the element, the font or the file that failed
 * ("document: title is missing" when neither the document nor meta has a
 * title); on error path is left untouched. */
int ob_render_pdf(const struct ob_doc *doc, const struct ob_render_meta *meta, const char *path,
		  struct ob_render_stats *stats, struct ob_err *err);

/* value with dec (0 to 6) decimals the Danish way, rounded half away from
 * zero from its shortest decimal form: 1234567.5 with 1 is "1.234.567,5".
 * The length written to out, or -1 (not finite, dec out of range, or size
 * too small). */
#include <stddef.h>
int ob_format_number_da(double value, int dec, char *out, size_t size);

#endif
