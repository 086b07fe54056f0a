#include "config.h"

/* render_pdf.c - the run's document model (doc.h, valid by construction:
 * checked where it was built or read) as an A4 PDF: libharu 2.3 with its
 * UTF-8 encoder and embedded DejaVu Sans (regular and bold; italic is a
 * sheared text matrix, as fonts-dejavu-core has no oblique face). The only
 * file that includes hpdf.h.
 *
 * Layout is a single pass over the model. The table of contents is
 * reserved on page 1 (its size is known from the sections) and filled at
 * the end, when section page numbers are known; headers and footers ("Side
 * X af Y") are drawn last, on the kept page handles.
 *
 * Text is measured here, not with HPDF_*_MeasureText (which counts bytes
 * and can split a UTF-8 letter): widths come from a per-code-point cache
 * filled by HPDF_Font_GetUnicodeWidth, the same widths libharu writes in
 * the font's /W array. Text is first copied to a scratch buffer as UTF-8
 * that libharu's encoder and our measuring read the same way (malformed
 * bytes and characters past U+FFFF become U+FFFD, control characters
 * spaces). Scratch arrays are reused, so a table row costs no malloc.
 *
 * libharu errors go to a handler that records them and longjmps back to
 * ob_render_pdf, which frees the document: everything allocated here lives
 * in struct pdf, so nothing leaks on that path.
 *
 * Fonts: a document whose every character is in OB_FONT_SUBSET (Latin,
 * punctuation, common symbols: Makefile.am, which has fontTools cut
 * DejaVu Sans down to them at build time) is set in that subset; libharu's
 * per-font cost (a lookup of all 65,536 code points in the font's cmap, the
 * font compressed into every PDF) is a third of the whole font's. put_text
 * notes a character outside it, and the document is then made again with
 * the whole fonts: the reader sees the same glyphs either way. */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hpdf.h>

#include "doc.h"
#include "render_pdf.h"
#include "util.h"

#define FONT_DIR "/usr/share/fonts/truetype/dejavu"
#ifndef OB_FONT_SUBSET
#define OB_FONT_SUBSET ""
#endif
#define FONT_REGULAR "DejaVuSans.ttf"
#define FONT_BOLD "DejaVuSans-Bold.ttf"

/* Page geometry, in points (1/72 in). */
#define MARGIN_X 56.7f     /* 2 cm */
#define CONTENT_TOP 64.0f  /* below the top edge */
#define CONTENT_BOT 60.0f  /* above the bottom edge */
#define HEADER_BASE 38.0f  /* header baseline, below the top edge */
#define HEADER_RULE 45.0f
#define FOOTER_RULE 44.0f  /* above the bottom edge */
#define FOOTER_BASE 31.0f
#define SHEAR 0.21f        /* tan 12 degrees: the synthetic oblique */
#define MAX_LINE_BYTES 2000 /* a line of zero-width characters still ends */
#define MAX_DECIMALS 6

enum { F_REG = 0, F_BOLD = 1 };
enum { AL_LEFT = OB_DOC_LEFT, AL_RIGHT = OB_DOC_RIGHT, AL_CENTER = OB_DOC_CENTER };
enum { FMT_TEXT = OB_DOC_TEXT, FMT_NUMBER = OB_DOC_NUMBER, FMT_DATE = OB_DOC_DATE, FMT_PERCENT = OB_DOC_PERCENT };

struct rgb {
	float r, g, b;
};
#define HEX(h) {(float)((h) >> 16 & 0xff) / 255.0f, (float)((h) >> 8 & 0xff) / 255.0f, (float)((h)&0xff) / 255.0f}

static const struct rgb C_BLUE = HEX(0x1f3a5f);    /* headings */
static const struct rgb C_TEXT = HEX(0x222222);
static const struct rgb C_GREY = HEX(0x5f6b76);    /* secondary text */
static const struct rgb C_RULE = HEX(0xc5ccd3);
static const struct rgb C_GRID = HEX(0xe3e7ec);
static const struct rgb C_HEAD_BG = HEX(0xe6ecf2); /* table header */
static const struct rgb C_ZEBRA = HEX(0xf5f7fa);
static const struct rgb C_TILE = HEX(0xf1f4f8);
static const struct rgb C_STATUS[4] = {HEX(0x000000), HEX(0x2e8b57), HEX(0xe0a020), HEX(0xc0392b)};
static const struct rgb C_TINT[4] = {HEX(0xffffff), HEX(0xdcefe2), HEX(0xfcefcf), HEX(0xf7dad6)};

/* Chart series colours, and a text colour readable on each. */
static const struct {
	struct rgb fill, on;
} PALETTE[] = {
	{HEX(0x1f3a5f), HEX(0xffffff)}, /* dark blue */
	{HEX(0x2a9d8f), HEX(0xffffff)}, /* teal */
	{HEX(0xe9a23b), HEX(0x222222)}, /* amber */
	{HEX(0x8d99a6), HEX(0x222222)}, /* grey */
	{HEX(0x7fa7d1), HEX(0x222222)}, /* light blue */
	{HEX(0xb5523b), HEX(0xffffff)}, /* brick */
};

/* Text sizes and line heights. */
#define SZ_TITLE 20.0f
#define SZ_SUBTITLE 11.0f
#define SZ_H1 15.0f
#define SZ_H2 11.5f
#define SZ_BODY 10.0f
#define LH_BODY 14.0f
#define SZ_NOTE 8.5f
#define LH_NOTE 11.5f
#define SZ_TABLE 8.5f
#define LH_TABLE 10.5f
#define PAD_TV 2.5f /* table cell padding, vertical */
#define PAD_TH 4.0f /* and horizontal */
#define SZ_SMALL 7.5f
#define SZ_FURN 7.5f /* header and footer */

struct toc_entry {
	const char *title; /* borrowed from the model */
	int level;
	int page;          /* the section's page, an index into pages */
	HPDF_Destination dst;
	int toc_page;      /* where its line in the contents goes */
	float toc_y;       /* top of that line */
};

/* Text in the scratch buffer: a run of one style, a piece of a line, a line. */
struct run {
	uint32_t off, len;
	uint8_t font, italic;
};
struct seg {
	uint32_t off, len;
	int32_t w; /* font units: 1/1000 of the size */
	uint8_t font, italic;
};
struct line {
	uint32_t seg, nseg;
	int32_t w;
};

struct col {
	const char *header;
	float x, w, pad_l;
	int align, fmt, dec;
};
struct cell {
	uint32_t line, nline;
};
/* A table page's drawing, queued so that it can be written compactly: all
 * rectangles of a colour in one path, all text in one text object. */
struct qrect {
	float x, y, w, h;
	int color; /* into QCOLOR */
};
struct qtext {
	float x, y;
	uint32_t off, len;
};

struct pdf {
	const struct ob_doc *d;
	HPDF_Doc doc;
	jmp_buf jb;
	HPDF_STATUS hpdf_no, hpdf_detail;
	int hpdf_errno;
	int saving;             /* in HPDF_SaveToFile: errno says more */
	struct ob_err *err;
	int el;                 /* the element being drawn, for libharu errors; -1 none */
	const char *el_type;

	/* The meta, with defaults applied; borrowed strings. */
	const char *org_name, *report_title, *as_of, *creator, *author, *font_dir;
	unsigned long long run_id;
	const char *fingerprint; /* NULL = none */
	time_t created;
	const char *title, *subtitle;
	char as_of_da[32];

	uint8_t *subset; /* set in the subset fonts (font_dir is theirs): the code points they have, or NULL */
	int uncovered; /* put_text met a character the subset has not */
	HPDF_Font font[2];
	uint16_t *wc; /* [2][65536] glyph widths in font units; 0xffff = not yet asked */

	HPDF_Page *pages;
	size_t npages, pages_cap;
	HPDF_Page page;
	float pw, ph;        /* page size */
	float x0, x1;        /* content left and right */
	float top, bottom;   /* content top and bottom */
	float y;             /* the cursor: the next free y, going down */
	int landscape;       /* of the current level-1 section */
	int page_landscape;
	int page_used;       /* something was drawn on the page */

	/* Graphics state we track to skip redundant operators; reset per page. */
	int in_text, cur_font, fill_known, sheared;
	float cur_size;
	struct rgb cur_fill;

	struct toc_entry *toc;
	size_t ntoc, toc_cap, itoc;
	HPDF_Outline outline_l1;

	/* Scratch, reused by every element and row. */
	char *txt;
	size_t txt_len, txt_cap;
	struct run *runs;
	size_t nruns, runs_cap;
	struct seg *segs;
	size_t nsegs, segs_cap;
	struct line *lines;
	size_t nlines, lines_cap;
	struct col *cols;
	struct cell *cells, *hcells;
	size_t cols_cap;
	struct qrect *qrects;
	size_t nqrects, qrects_cap;
	struct qtext *qtexts;
	size_t nqtexts, qtexts_cap;

	char *font_path; /* being loaded, for libharu errors */
	const char *tmp_path;
	FILE *out;
};

#define GROW(arr, n, cap)                                                                          \
	do {                                                                                       \
		if ((n) >= (cap)) {                                                                \
			(cap) = (cap) ? 2 * (cap) : 64;                                            \
			(arr) = ob_xrealloc((arr), (cap) * sizeof(*(arr)));                        \
		}                                                                                  \
	} while (0)

static void scratch_reset(struct pdf *p)
{
	p->txt_len = 0;
	p->nruns = 0;
	p->nsegs = 0;
	p->nlines = 0;
}

static void txt_reserve(struct pdf *p, size_t n)
{
	/* One byte more than asked: show_range() puts a NUL after any range. */
	if (p->txt_len + n + 1 > p->txt_cap) {
		size_t cap = p->txt_cap ? p->txt_cap : 4096;
		while (cap < p->txt_len + n + 1)
			cap *= 2;
		p->txt = ob_xrealloc(p->txt, cap);
		p->txt_cap = cap;
	}
}

/* ---- errors ---- */

static void on_hpdf_error(HPDF_STATUS no, HPDF_STATUS detail, void *data)
{
	struct pdf *p = data;

	p->hpdf_errno = errno;
	p->hpdf_no = no;
	p->hpdf_detail = detail;
	/* Saving is left to return its error, so that libharu closes its file. */
	if (!p->saving)
		longjmp(p->jb, 1);
}

static const char *hpdf_error_name(HPDF_STATUS no)
{
	switch (no) {
	case HPDF_FAILD_TO_ALLOC_MEM: return "out of memory";
	case HPDF_FILE_IO_ERROR: return "file I/O error";
	case HPDF_FILE_OPEN_ERROR: return "cannot open file";
	case HPDF_INVALID_DATE_TIME: return "invalid date";
	case HPDF_INVALID_PARAMETER: return "invalid parameter";
	case HPDF_INVALID_FONT_NAME: return "invalid font name";
	case HPDF_INVALID_TTC_FILE: return "invalid TrueType collection";
	case HPDF_PAGE_OUT_OF_RANGE: return "position out of range";
	case HPDF_REAL_OUT_OF_RANGE: return "number out of range";
	case HPDF_STRING_OUT_OF_RANGE: return "string too long";
	case HPDF_TTF_CANNOT_EMBEDDING_FONT: return "the font does not allow embedding";
	case HPDF_TTF_INVALID_CMAP: return "invalid TrueType cmap";
	case HPDF_TTF_INVALID_FOMAT: return "invalid TrueType font";
	case HPDF_TTF_MISSING_TABLE: return "TrueType table missing";
	case HPDF_ZLIB_ERROR: return "zlib error";
	case HPDF_PAGE_INVALID_FONT_SIZE: return "invalid font size";
	case HPDF_PAGE_INVALID_GMODE: return "operator in the wrong graphics mode";
	default: return "error";
	}
}

/* ---- text: sanitising, measuring ---- */

static void put_fffd(char **o)
{
	*(*o)++ = (char)0xef;
	*(*o)++ = (char)0xbf;
	*(*o)++ = (char)0xbd;
}

/* OB_FONT_SUBSET ("U+XXXX" and "U+XXXX-YYYY" joined by commas) as a bitmap
 * of the BMP's code points, read once per document, not per character. */
static uint8_t *subset_bits(void)
{
	uint8_t *bits = ob_xcalloc(0x10000 / 8, 1);
	const char *s = OB_FONT_SUBSET;

	while (strncmp(s, "U+", 2) == 0) {
		char *e;
		unsigned long lo, hi;

		lo = hi = strtoul(s + 2, &e, 16);
		if (*e == '-')
			hi = strtoul(e + 1, &e, 16);
		for (unsigned long cp = lo; cp <= hi && cp < 0x10000; cp++)
			bits[cp >> 3] |= (uint8_t)(1u << (cp & 7));
		if (*e != ',')
			break;
		s = e + 1;
	}
	return bits;
}

/* Appends s[0..n) to the scratch text as clean UTF-8 (see the top comment);
 * a newline is kept if keep_nl, else it becomes a space. Returns the
 * offset; the length is p->txt_len - offset. */
static uint32_t put_text(struct pdf *p, const char *s, size_t n, int keep_nl)
{
	uint32_t off;
	char *o;
	size_t i = 0;

	txt_reserve(p, 3 * n);
	off = (uint32_t)p->txt_len;
	o = p->txt + p->txt_len;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		unsigned cp, min;
		size_t len, k;

		if (c < 0x80) {
			if (c == '\n' && keep_nl)
				*o++ = '\n';
			else
				*o++ = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			len = 2, cp = c & 0x1fu, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			len = 3, cp = c & 0x0fu, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			len = 4, cp = c & 0x07u, min = 0x10000;
		else {
			put_fffd(&o);
			i++;
			continue;
		}
		for (k = 1; k < len; k++) {
			if (i + k >= n || ((unsigned char)s[i + k] & 0xc0) != 0x80)
				break;
			cp = cp << 6 | ((unsigned char)s[i + k] & 0x3fu);
		}
		if (k < len) { /* truncated sequence: replace what we have */
			put_fffd(&o);
			i += k;
			continue;
		}
		if (cp < min || cp > 0xffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			put_fffd(&o);
		} else if (cp < 0xa0) { /* C1 controls */
			*o++ = ' ';
		} else {
			if (p->subset && !(p->subset[cp >> 3] & (1u << (cp & 7))))
				p->uncovered = 1;
			memcpy(o, s + i, len);
			o += len;
		}
		i += len;
	}
	p->txt_len = (size_t)(o - p->txt);
	p->txt[p->txt_len] = '\0';
	return off;
}

static uint32_t put_str(struct pdf *p, const char *s)
{
	return put_text(p, s, strlen(s), 0);
}

/* Decodes one character of clean UTF-8 (at most three bytes). */
static inline unsigned utf8_next(const unsigned char *s, size_t *i)
{
	unsigned c = s[*i];

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if (c < 0xe0) {
		c = (c & 0x1f) << 6 | (s[*i + 1] & 0x3fu);
		*i += 2;
		return c;
	}
	c = (c & 0x0f) << 12 | (s[*i + 1] & 0x3fu) << 6 | (s[*i + 2] & 0x3fu);
	*i += 3;
	return c;
}

static inline int32_t char_w(struct pdf *p, int f, unsigned cp)
{
	uint16_t *w = &p->wc[(size_t)f << 16 | (cp & 0xffff)];

	if (*w == 0xffff) {
		HPDF_INT v = HPDF_Font_GetUnicodeWidth(p->font[f], (HPDF_UNICODE)cp);
		*w = (uint16_t)(v < 0 ? 0 : v > 0xfffe ? 0xfffe : v);
	}
	return *w;
}

/* The width of scratch text [off, off + len) in font units. */
static int32_t text_w(struct pdf *p, int f, uint32_t off, uint32_t len)
{
	const unsigned char *s = (const unsigned char *)p->txt + off;
	size_t i = 0;
	int32_t w = 0;

	while (i < len)
		w += char_w(p, f, utf8_next(s, &i));
	return w;
}

static float pts(int32_t units, float size)
{
	return (float)units * size / 1000.0f;
}

/* Cuts scratch text [off, off + *len) so that it fits maxw at size, ending
 * it with an ellipsis if it had to be cut; the text must be the last thing
 * in the scratch buffer. Sets *len and returns the width in font units. */
static int32_t fit_last(struct pdf *p, int f, float size, float maxw, uint32_t off, uint32_t *len)
{
	const unsigned char *s = (const unsigned char *)p->txt + off;
	int32_t limit = (int32_t)(maxw * 1000.0f / size), w = text_w(p, f, off, *len), ell, acc = 0;
	size_t i = 0, cut = 0;

	if (w <= limit)
		return w;
	ell = char_w(p, f, 0x2026);
	while (i < *len) {
		size_t k = i;
		int32_t c = char_w(p, f, utf8_next(s, &k));
		if (acc + c + ell > limit)
			break;
		acc += c;
		i = k;
		if (s[i - 1] != ' ')
			cut = i;
	}
	/* Drop the spaces before the ellipsis. */
	acc = text_w(p, f, off, (uint32_t)cut);
	p->txt_len = off + cut;
	txt_reserve(p, 3);
	memcpy(p->txt + p->txt_len, "\xe2\x80\xa6", 3);
	p->txt_len += 3;
	p->txt[p->txt_len] = '\0';
	*len = (uint32_t)(cut + 3);
	return acc + ell;
}

/* ---- line breaking ---- */

struct pos {
	size_t r;
	uint32_t i;
};

static void pos_norm(const struct pdf *p, struct pos *q)
{
	while (q->r < p->nruns && q->i >= p->runs[q->r].len) {
		q->r++;
		q->i = 0;
	}
}

/* Appends the line [a, b) of the runs as segments, without trailing spaces. */
static void emit_line(struct pdf *p, struct pos a, struct pos b)
{
	struct line ln = {(uint32_t)p->nsegs, 0, 0};

	for (size_t r = a.r; r < p->nruns && r <= b.r; r++) {
		const struct run *rn = &p->runs[r];
		uint32_t from = r == a.r ? a.i : 0, to = r == b.r ? b.i : rn->len;
		if (to <= from)
			continue;
		GROW(p->segs, p->nsegs, p->segs_cap);
		p->segs[p->nsegs++] = (struct seg){rn->off + from, to - from, 0, rn->font, rn->italic};
		ln.nseg++;
	}
	/* Trailing spaces take no room at the end of a line. */
	while (ln.nseg > 0) {
		struct seg *sg = &p->segs[ln.seg + ln.nseg - 1];
		while (sg->len > 0 && p->txt[sg->off + sg->len - 1] == ' ')
			sg->len--;
		if (sg->len > 0)
			break;
		ln.nseg--;
		p->nsegs--;
	}
	for (uint32_t k = 0; k < ln.nseg; k++) {
		struct seg *sg = &p->segs[ln.seg + k];
		sg->w = text_w(p, sg->font, sg->off, sg->len);
		ln.w += sg->w;
	}
	GROW(p->lines, p->nlines, p->lines_cap);
	p->lines[p->nlines++] = ln;
}

/* Breaks the runs p->runs[0..nruns) into lines at most maxw wide at size,
 * appended to p->lines. Greedy: a line ends after the last space, hyphen or
 * slash that fits, or inside a word that alone is too wide; a newline ends
 * a line. */
static void break_lines(struct pdf *p, float size, float maxw)
{
	int32_t limit = (int32_t)(maxw * 1000.0f / size);
	struct pos cur = {0, 0};
	int wrapped = 0;

	pos_norm(p, &cur);
	while (cur.r < p->nruns) {
		struct pos start, end, next, brk_end = {0, 0}, brk_next = {0, 0};
		int have_brk = 0, hard = 0;
		int32_t w = 0;
		size_t nbytes = 0;

		if (wrapped) { /* a wrapped line does not start with spaces */
			while (cur.r < p->nruns && p->txt[p->runs[cur.r].off + cur.i] == ' ') {
				cur.i++;
				pos_norm(p, &cur);
			}
			if (cur.r >= p->nruns)
				break;
		}
		start = cur;
		for (;;) {
			const struct run *rn;
			size_t k;
			unsigned cp;
			int32_t c;
			struct pos after;

			if (cur.r >= p->nruns) {
				end = next = cur;
				break;
			}
			rn = &p->runs[cur.r];
			k = cur.i;
			cp = utf8_next((const unsigned char *)p->txt + rn->off, &k);
			after = (struct pos){cur.r, (uint32_t)k};
			if (cp == '\n') {
				end = cur;
				next = after;
				pos_norm(p, &next);
				hard = 1;
				break;
			}
			c = char_w(p, rn->font, cp);
			if ((w + c > limit || nbytes >= MAX_LINE_BYTES) && nbytes > 0) {
				if (have_brk) {
					end = brk_end;
					next = brk_next;
				} else {
					end = next = cur;
				}
				break;
			}
			if (cp == ' ' && nbytes > 0) {
				have_brk = 1;
				brk_end = cur;
				brk_next = after;
				pos_norm(p, &brk_next);
			} else if ((cp == '-' || cp == '/') && nbytes > 0) {
				have_brk = 1;
				brk_end = after;
				brk_next = after;
				pos_norm(p, &brk_next);
			}
			w += c;
			nbytes += k - cur.i;
			cur = after;
			pos_norm(p, &cur);
		}
		emit_line(p, start, end);
		cur = next;
		wrapped = !hard;
	}
}

/* Scratch text [off, off + len) as one run, broken into lines. */
static void break_text(struct pdf *p, uint32_t off, uint32_t len, int font, float size, float maxw)
{
	p->nruns = 0;
	GROW(p->runs, p->nruns, p->runs_cap);
	p->runs[p->nruns++] = (struct run){off, len, (uint8_t)font, 0};
	break_lines(p, size, maxw);
}

/* ---- drawing primitives ---- */

static void gfx_mode(struct pdf *p)
{
	if (p->in_text) {
		HPDF_Page_EndText(p->page);
		p->in_text = 0;
	}
}

static void set_fill(struct pdf *p, struct rgb c)
{
	if (p->fill_known && c.r == p->cur_fill.r && c.g == p->cur_fill.g && c.b == p->cur_fill.b)
		return;
	HPDF_Page_SetRGBFill(p->page, c.r, c.g, c.b);
	p->cur_fill = c;
	p->fill_known = 1;
}

/* Draws NUL-terminated clean UTF-8 with its baseline starting at x, y. */
static void show(struct pdf *p, int f, float size, int italic, struct rgb color, float x, float y, const char *s)
{
	if (!p->in_text) {
		HPDF_Page_BeginText(p->page);
		p->in_text = 1;
		p->sheared = 0; /* BT resets the text matrix */
	}
	if (p->cur_font != f || p->cur_size != size) {
		HPDF_Page_SetFontAndSize(p->page, p->font[f], size);
		p->cur_font = f;
		p->cur_size = size;
	}
	set_fill(p, color);
	p->page_used = 1;
	if (italic || p->sheared) {
		/* TextOut positions relative to the current matrix, which must not
		 * be sheared; so italic text and the text after it set the matrix. */
		HPDF_Page_SetTextMatrix(p->page, 1, 0, italic ? SHEAR : 0, 1, x, y);
		p->sheared = italic;
		HPDF_Page_ShowText(p->page, s);
	} else {
		HPDF_Page_TextOut(p->page, x, y, s);
	}
}

static void show_range(struct pdf *p, int f, float size, int italic, struct rgb color, float x, float y,
		       uint32_t off, uint32_t len)
{
	char save = p->txt[off + len];

	p->txt[off + len] = '\0';
	show(p, f, size, italic, color, x, y, p->txt + off);
	p->txt[off + len] = save;
}

/* Draws s (any UTF-8) cut to maxw; align is where x is: left, right or
 * center of the text. Returns the drawn width in points. */
static float draw_str(struct pdf *p, int f, float size, struct rgb color, float x, float y, int align,
		      float maxw, const char *s)
{
	size_t mark = p->txt_len;
	uint32_t off = put_str(p, s), len = (uint32_t)(p->txt_len - off);
	float w = pts(fit_last(p, f, size, maxw, off, &len), size);

	if (align == AL_RIGHT)
		x -= w;
	else if (align == AL_CENTER)
		x -= w / 2;
	if (len > 0)
		show_range(p, f, size, 0, color, x, y, off, len);
	p->txt_len = mark;
	return w;
}

static void fill_rect(struct pdf *p, struct rgb c, float x, float y, float w, float h)
{
	if (w <= 0 || h <= 0)
		return;
	gfx_mode(p);
	set_fill(p, c);
	HPDF_Page_Rectangle(p->page, x, y, w, h);
	HPDF_Page_Fill(p->page);
	p->page_used = 1;
}

static void line(struct pdf *p, struct rgb c, float width, float xa, float ya, float xb, float yb)
{
	gfx_mode(p);
	HPDF_Page_SetRGBStroke(p->page, c.r, c.g, c.b);
	HPDF_Page_SetLineWidth(p->page, width);
	HPDF_Page_MoveTo(p->page, xa, ya);
	HPDF_Page_LineTo(p->page, xb, yb);
	HPDF_Page_Stroke(p->page);
	p->page_used = 1;
}

/* The baseline of text of size in a line box whose top is y: capitals
 * centred in the box. */
static float baseline(float y, float size, float lh)
{
	return y - lh / 2 - 0.36f * size;
}

/* Draws the lines [first, first + n) at the cursor, lh apart, starting at
 * x, breaking pages as needed. */
static void draw_lines(struct pdf *p, size_t first, size_t n, float x, float size, float lh, struct rgb color);

/* ---- pages ---- */

static void page_geometry(struct pdf *p)
{
	p->pw = HPDF_Page_GetWidth(p->page);
	p->ph = HPDF_Page_GetHeight(p->page);
	p->x0 = MARGIN_X;
	p->x1 = p->pw - MARGIN_X;
	p->top = p->ph - CONTENT_TOP;
	p->bottom = CONTENT_BOT;
	p->y = p->top;
}

static void switch_page(struct pdf *p, size_t k)
{
	gfx_mode(p);
	p->page = p->pages[k];
	p->cur_font = -1;
	p->fill_known = 0;
	p->sheared = 0;
	p->pw = HPDF_Page_GetWidth(p->page);
	p->ph = HPDF_Page_GetHeight(p->page);
}

static void new_page(struct pdf *p, int landscape)
{
	gfx_mode(p);
	if (p->page != NULL && !p->page_used) {
		/* Nothing on it yet: turn it rather than leave it blank. */
		if (landscape != p->page_landscape) {
			HPDF_Page_SetSize(p->page, HPDF_PAGE_SIZE_A4,
					  landscape ? HPDF_PAGE_LANDSCAPE : HPDF_PAGE_PORTRAIT);
			p->page_landscape = landscape;
		}
		page_geometry(p);
		return;
	}
	p->page = HPDF_AddPage(p->doc);
	HPDF_Page_SetSize(p->page, HPDF_PAGE_SIZE_A4, landscape ? HPDF_PAGE_LANDSCAPE : HPDF_PAGE_PORTRAIT);
	GROW(p->pages, p->npages, p->pages_cap);
	p->pages[p->npages++] = p->page;
	p->page_landscape = landscape;
	p->page_used = 0;
	p->cur_font = -1;
	p->fill_known = 0;
	p->sheared = 0;
	page_geometry(p);
}

/* Makes room for h points, starting a page unless already at the top. */
static void ensure(struct pdf *p, float h)
{
	if (p->y - h < p->bottom && p->y < p->top)
		new_page(p, p->landscape);
}

/* Vertical space between blocks; none at the top of a page. */
static void gap(struct pdf *p, float g)
{
	if (p->y < p->top)
		p->y -= g;
}

static void draw_lines(struct pdf *p, size_t first, size_t n, float x, float size, float lh, struct rgb color)
{
	for (size_t l = first; l < first + n; l++) {
		const struct line *ln = &p->lines[l];
		float xx = x, by;

		ensure(p, lh);
		by = baseline(p->y, size, lh);
		for (uint32_t k = 0; k < ln->nseg; k++) {
			const struct seg *sg = &p->segs[ln->seg + k];
			show_range(p, sg->font, size, sg->italic, color, xx, by, sg->off, sg->len);
			xx += pts(sg->w, size);
		}
		p->y -= lh;
	}
}

/* ---- numbers and dates, the Danish way ---- */

/* Writes the decimal s ("-1234.5", "3e4", " 42 "; '.' or ',' as the
 * decimal mark) rounded half away from zero to dec decimals as "-1.234,5"
 * into out (at least 128 bytes). Exact: no binary floating point. Returns
 * 0, or -1 (out untouched) if s is not a plain number. */
static int fmt_decimal(const char *s, int dec, char *out)
{
	char d[64], r[96];
	int nd = 0, pp = 0, neg = 0, seen_point = 0, any = 0, nr, hi, t, first, nint, zero = 1;
	size_t o = 0;

	while (*s == ' ')
		s++;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	/* d: the significant digits; the value is 0.d * 10^pp. */
	for (;; s++) {
		if (*s >= '0' && *s <= '9') {
			any = 1;
			if (nd == 0 && *s == '0') {
				if (seen_point)
					pp--;
				continue;
			}
			if (nd >= (int)sizeof(d))
				return -1;
			d[nd++] = *s;
			if (!seen_point)
				pp++;
		} else if ((*s == '.' || *s == ',') && !seen_point) {
			seen_point = 1;
		} else {
			break;
		}
	}
	if (!any)
		return -1;
	if (*s == 'e' || *s == 'E') {
		int en = 0, eneg = 0, ed = 0;
		s++;
		if (*s == '-' || *s == '+')
			eneg = *s++ == '-';
		for (; *s >= '0' && *s <= '9'; s++, ed++)
			if (en < 1000)
				en = en * 10 + (*s - '0');
		if (ed == 0)
			return -1;
		pp += eneg ? -en : en;
	}
	while (*s == ' ')
		s++;
	if (*s != '\0' || dec < 0 || dec > MAX_DECIMALS)
		return -1;
	if (nd == 0)
		pp = 0;
	if (pp > 40 || pp < -40)
		return -1;
	/* r: the digits of round(value * 10^dec), for 10^hi down to 10^-dec,
	 * after a slot for a carry; d[t] is the digit of 10^(pp-1-t). */
	hi = pp > 1 ? pp - 1 : 0;
	nr = 0;
	r[nr++] = '0';
	for (int x = hi; x >= -dec; x--) {
		t = pp - 1 - x;
		r[nr++] = (t >= 0 && t < nd) ? d[t] : '0';
	}
	t = pp + dec; /* the first digit dropped: half away from zero */
	if (t >= 0 && t < nd && d[t] >= '5') {
		int k = nr - 1;
		while (r[k] == '9')
			r[k--] = '0';
		r[k]++;
	}
	nint = nr - dec;
	for (first = 0; first < nint - 1 && r[first] == '0'; first++)
		;
	for (int k = first; k < nr; k++)
		if (r[k] != '0')
			zero = 0;
	if (neg && !zero)
		out[o++] = '-';
	for (int k = first; k < nint; k++) {
		out[o++] = r[k];
		if (k < nint - 1 && (nint - 1 - k) % 3 == 0)
			out[o++] = '.';
	}
	if (dec > 0) {
		out[o++] = ',';
		for (int k = nint; k < nr; k++)
			out[o++] = r[k];
	}
	out[o] = '\0';
	return 0;
}

/* A double with dec decimals, the Danish way. */
static void fmt_double(double v, int dec, char *out)
{
	char tmp[64];

	snprintf(tmp, sizeof tmp, "%.15g", v);
	if (fmt_decimal(tmp, dec, out) < 0)
		snprintf(out, 128, "%s", tmp);
}

int ob_format_number_da(double v, int dec, char *out, size_t size)
{
	char tmp[64], buf[128];
	size_t n;

	if (dec < 0 || dec > MAX_DECIMALS)
		return -1;
	snprintf(tmp, sizeof tmp, "%.15g", v);
	if (fmt_decimal(tmp, dec, buf) < 0) /* inf, nan */
		return -1;
	n = strlen(buf);
	if (n + 1 > size)
		return -1;
	memcpy(out, buf, n + 1);
	return (int)n;
}

/* The fewest decimals (at most 2) that show every value exactly. */
static int auto_decimals(const double *v, size_t n)
{
	int dec = 0;

	for (size_t i = 0; i < n && dec < 2; i++) {
		double x = fabs(v[i]);
		while (dec < 2 && fabs(x * pow(10, dec) - round(x * pow(10, dec))) > 1e-6 * pow(10, dec))
			dec++;
	}
	return dec;
}

/* A string of the document; "" for an absent one. */
static const char *S(const struct pdf *p, uint32_t off)
{
	return off == OB_DOC_NONE ? "" : p->d->str + off;
}

/* A string of the document; NULL for an absent one. */
static const char *S0(const struct pdf *p, uint32_t off)
{
	return off == OB_DOC_NONE ? NULL : p->d->str + off;
}

/* The width of s in points at size, measured in the scratch text (which it
 * leaves as it was). */
static float str_w(struct pdf *p, int f, float size, const char *s)
{
	size_t mark = p->txt_len;
	uint32_t off = put_str(p, s);
	float w = pts(text_w(p, f, off, (uint32_t)(p->txt_len - off)), size);

	p->txt_len = mark;
	return w;
}

/* ---- title block, contents, sections ---- */

static void heading(struct pdf *p, const char *s, int font, float size, float lh, struct rgb color, float maxw)
{
	uint32_t off;

	scratch_reset(p);
	off = put_str(p, s);
	break_text(p, off, (uint32_t)(p->txt_len - off), font, size, maxw);
	draw_lines(p, 0, p->nlines, p->x0, size, lh, color);
}

static void title_block(struct pdf *p)
{
	float w = p->x1 - p->x0;

	heading(p, p->title, F_BOLD, SZ_TITLE, 25, C_BLUE, w);
	if (p->subtitle) {
		p->y -= 2;
		heading(p, p->subtitle, F_REG, SZ_SUBTITLE, 15, C_GREY, w);
	}
	p->y -= 8;
	line(p, C_BLUE, 1.2f, p->x0, p->y, p->x1, p->y);
	p->y -= 16;
}

#define TOC_LH 15.0f

static void reserve_toc(struct pdf *p)
{
	if (p->ntoc == 0)
		return;
	heading(p, "Indhold", F_BOLD, 13, 19, C_BLUE, p->x1 - p->x0);
	p->y -= 3;
	for (size_t i = 0; i < p->ntoc; i++) {
		ensure(p, TOC_LH);
		p->toc[i].toc_page = (int)p->npages - 1;
		p->toc[i].toc_y = p->y;
		p->page_used = 1;
		p->y -= TOC_LH;
	}
	p->y -= 18;
}

static void fill_toc(struct pdf *p)
{
	for (size_t i = 0; i < p->ntoc; i++) {
		const struct toc_entry *t = &p->toc[i];
		int f = t->level == 1 ? F_BOLD : F_REG;
		float size = t->level == 1 ? 10.0f : 9.5f, indent = t->level == 1 ? 0 : 14.0f;
		float by, x0, x1, tw, nw, dots_w;
		char num[16];
		HPDF_Annotation a;
		HPDF_Rect rect;

		switch_page(p, (size_t)t->toc_page);
		x0 = MARGIN_X;
		x1 = p->pw - MARGIN_X;
		by = baseline(t->toc_y, size, TOC_LH);
		snprintf(num, sizeof num, "%d", t->page + 1);
		scratch_reset(p);
		nw = draw_str(p, f, size, C_TEXT, x1, by, AL_RIGHT, 40, num);
		tw = draw_str(p, f, size, C_TEXT, x0 + indent, by, AL_LEFT, x1 - x0 - indent - nw - 24, t->title);
		/* Dot leaders between the title and the number. */
		dots_w = pts(char_w(p, F_REG, '.'), size);
		{
			float from = x0 + indent + tw + 6, to = x1 - nw - 6;
			int n = dots_w > 0 ? (int)((to - from) / dots_w) : 0;
			if (n > 2) {
				uint32_t off;
				txt_reserve(p, (size_t)n);
				off = (uint32_t)p->txt_len;
				memset(p->txt + off, '.', (size_t)n);
				p->txt_len += (size_t)n;
				show_range(p, F_REG, size, 0, C_RULE, to - (float)n * dots_w, by, off, (uint32_t)n);
			}
		}
		gfx_mode(p);
		rect.left = x0 + indent;
		rect.right = x1;
		rect.top = t->toc_y;
		rect.bottom = t->toc_y - TOC_LH;
		a = HPDF_Page_CreateLinkAnnot(p->page, rect, t->dst);
		HPDF_LinkAnnot_SetBorderStyle(a, 0, 0, 0);
	}
}

static void place_section(struct pdf *p, const struct ob_doc_el *e)
{
	int level = e->u.section.level;
	const char *title = S(p, e->u.section.title);
	float size = level == 1 ? SZ_H1 : SZ_H2, lh = level == 1 ? 20.0f : 16.0f;
	struct toc_entry *t = p->itoc < p->ntoc ? &p->toc[p->itoc++] : NULL;
	HPDF_Outline o;
	float top;

	if (level == 1) {
		int want = e->u.section.landscape;
		p->landscape = want;
		if (want != p->page_landscape || (e->u.section.new_page && p->y < p->top))
			new_page(p, want);
	} else if (e->u.section.new_page && p->y < p->top)
		new_page(p, p->landscape);
	/* Keep the heading with some of what follows it. */
	ensure(p, (level == 1 ? 16 : 10) + lh + 48);
	gap(p, level == 1 ? 16 : 10);
	top = p->y;
	heading(p, title, F_BOLD, size, lh, C_BLUE, p->x1 - p->x0);
	if (level == 1) {
		p->y -= 2;
		line(p, C_RULE, 0.6f, p->x0, p->y, p->x1, p->y);
		p->y -= 8;
	} else {
		p->y -= 4;
	}
	if (t == NULL)
		return;
	t->page = (int)p->npages - 1;
	t->dst = HPDF_Page_CreateDestination(p->page);
	HPDF_Destination_SetFitH(t->dst, top + 6 < p->ph ? top + 6 : p->ph);
	scratch_reset(p);
	put_text(p, title, strnlen(title, 1000), 0);
	o = HPDF_CreateOutline(p->doc, level == 2 ? p->outline_l1 : NULL, p->txt, HPDF_GetEncoder(p->doc, "UTF-8"));
	HPDF_Outline_SetDestination(o, t->dst);
	if (level == 1) {
		HPDF_Outline_SetOpened(o, HPDF_TRUE);
		p->outline_l1 = o;
	}
}

/* ---- paragraphs and notes ---- */

static void place_para(struct pdf *p, const struct ob_doc_el *e)
{
	scratch_reset(p);
	for (size_t i = 0; i < e->u.para.n; i++) {
		const struct ob_doc_run *r = &e->u.para.runs[i];
		const char *s = S(p, r->text);
		uint32_t off = put_text(p, s, strlen(s), 1);
		GROW(p->runs, p->nruns, p->runs_cap);
		p->runs[p->nruns++] =
			(struct run){off, (uint32_t)(p->txt_len - off), (uint8_t)(r->bold ? F_BOLD : F_REG), r->italic};
	}
	break_lines(p, SZ_BODY, p->x1 - p->x0);
	ensure(p, LH_BODY * (p->nlines < 2 ? (float)p->nlines : 2)); /* no lone first line */
	draw_lines(p, 0, p->nlines, p->x0, SZ_BODY, LH_BODY, C_TEXT);
	p->y -= 6;
}

static void place_note(struct pdf *p, const struct ob_doc_el *e)
{
	const char *s = S(p, e->u.note);
	uint32_t off;
	size_t l = 0;

	scratch_reset(p);
	off = put_text(p, s, strlen(s), 1);
	break_text(p, off, (uint32_t)(p->txt_len - off), F_REG, SZ_NOTE, p->x1 - p->x0 - 10);
	while (l < p->nlines) {
		/* The grey bar beside each page's part of the note. */
		float top, n;
		size_t fit;
		ensure(p, LH_NOTE);
		top = p->y;
		fit = (size_t)((p->y - p->bottom) / LH_NOTE);
		if (fit < 1)
			fit = 1;
		if (fit > p->nlines - l)
			fit = p->nlines - l;
		n = (float)fit;
		fill_rect(p, C_RULE, p->x0, top - n * LH_NOTE + 1, 2, n * LH_NOTE - 1);
		draw_lines(p, l, fit, p->x0 + 10, SZ_NOTE, LH_NOTE, C_GREY);
		l += fit;
	}
	p->y -= 6;
}

/* A bullet list: a small square before each item, its lines indented. */
static void place_list(struct pdf *p, const struct ob_doc_el *e)
{
	for (size_t i = 0; i < e->u.list.n; i++) {
		const char *s = S(p, e->u.list.items[i]);
		uint32_t off;

		scratch_reset(p);
		off = put_text(p, s, strlen(s), 1);
		break_text(p, off, (uint32_t)(p->txt_len - off), F_REG, SZ_BODY, p->x1 - p->x0 - 14);
		ensure(p, LH_BODY * (p->nlines < 2 ? (float)p->nlines : 2)); /* the mark with its text */
		fill_rect(p, C_TEXT, p->x0 + 4, baseline(p->y, SZ_BODY, LH_BODY) + SZ_BODY * 0.28f, 3, 3);
		draw_lines(p, 0, p->nlines, p->x0 + 14, SZ_BODY, LH_BODY, C_TEXT);
		p->y -= 2;
	}
	p->y -= 4;
}

/* ---- KPI tiles ---- */

#define TILE_GAP 10.0f

static void draw_tile(struct pdf *p, const struct ob_doc_el *e, float x, float top, float w, float h)
{
	const char *label = S(p, e->u.kpi.label), *unit = S0(p, e->u.kpi.unit);
	double value = e->u.kpi.value;
	int dec = e->u.kpi.decimals;
	float inner = w - 20, vsize = 20, uw = 0, vw, base;
	char num[128], txt[160];

	fill_rect(p, C_TILE, x, top - h, w, h);
	fill_rect(p, C_BLUE, x, top - h, 3, h);
	x += 11;
	/* The label: two lines at most. */
	scratch_reset(p);
	{
		uint32_t off = put_str(p, label);
		break_text(p, off, (uint32_t)(p->txt_len - off), F_REG, 8.5f, inner);
	}
	for (size_t l = 0; l < p->nlines && l < 2; l++) {
		const struct line *ln = &p->lines[l];
		float by = baseline(top - 6 - 10.5f * (float)l, 8.5f, 10.5f);
		if (ln->nseg == 0)
			continue;
		if (l == 1 && p->nlines > 2) {
			/* The rest of the label (the end of the scratch text), cut to
			 * one line. */
			uint32_t off = p->segs[ln->seg].off, len = (uint32_t)(p->txt_len - off);
			fit_last(p, F_REG, 8.5f, inner, off, &len);
			show_range(p, F_REG, 8.5f, 0, C_GREY, x, by, off, len);
		} else {
			show_range(p, F_REG, 8.5f, 0, C_GREY, x, by, p->segs[ln->seg].off,
				   p->segs[ln->seg + ln->nseg - 1].off + p->segs[ln->seg + ln->nseg - 1].len -
					   p->segs[ln->seg].off);
		}
	}
	/* The value, smaller if it must be to fit. */
	fmt_double(value, dec, num);
	base = top - 47;
	scratch_reset(p);
	{
		uint32_t off = put_str(p, num);
		vw = (float)text_w(p, F_BOLD, off, (uint32_t)(p->txt_len - off));
		if (unit && *unit) {
			uint32_t uoff = put_str(p, unit);
			uw = pts(text_w(p, F_REG, uoff, (uint32_t)(p->txt_len - uoff)) + char_w(p, F_REG, ' '), 10);
		}
		while (vsize > 9 && pts((int32_t)vw, vsize) + uw > inner)
			vsize -= 1;
		show_range(p, F_BOLD, vsize, 0, C_BLUE, x, base, off, (uint32_t)strlen(num));
		if (unit && *unit)
			draw_str(p, F_REG, 10, C_BLUE, x + pts((int32_t)vw, vsize) + pts(char_w(p, F_REG, ' '), 10), base,
				 AL_LEFT, inner - pts((int32_t)vw, vsize), unit);
	}
	/* The change since the previous run. */
	{
		if (e->u.kpi.has_previous) {
			double diff = value - e->u.kpi.previous;
			char zero[128];
			fmt_double(fabs(diff), dec, num);
			fmt_double(0, dec, zero);
			if (strcmp(num, zero) == 0)
				snprintf(txt, sizeof txt, "Uændret siden sidst");
			else
				snprintf(txt, sizeof txt, "%s %s siden sidst", diff > 0 ? "\xe2\x96\xb2" : "\xe2\x96\xbc",
					 num);
			draw_str(p, F_REG, 8, C_GREY, x, top - 63, AL_LEFT, inner, txt);
		}
	}
}

static void place_kpis(struct pdf *p, const struct ob_doc_el *first, int n)
{
	int cols = (n > 3 && (n % 4 == 0 || n % 4 == 3)) ? 4 : 3;
	float tw = (p->x1 - p->x0 - (float)(cols - 1) * TILE_GAP) / (float)cols, h = 58;
	const struct ob_doc_el *e = first;

	for (int i = 0; i < n; i++)
		if (first[i].u.kpi.has_previous)
			h = 72;
	gap(p, 4);
	for (int i = 0; i < n; i += cols) {
		ensure(p, h);
		for (int k = 0; k < cols && i + k < n; k++, e++)
			draw_tile(p, e, p->x0 + (float)k * (tw + TILE_GAP), p->y, tw, h);
		p->y -= h + TILE_GAP;
	}
	p->y -= 4;
}

/* ---- tables ---- */

/* Lays out the cells of one row into p->lines; out[c] says which lines
 * are column c's. Returns the number of lines of the tallest cell (>= 1).
 * cells is the row's cells, or NULL for the header row. */
static uint32_t layout_row(struct pdf *p, size_t ncols, const uint32_t *cells, int font, struct cell *out)
{
	uint32_t most = 1;

	for (size_t c = 0; c < ncols; c++) {
		const struct col *col = &p->cols[c];
		const char *s = cells ? S(p, cells[c]) : col->header;
		char buf[160];
		uint32_t off, len;
		int32_t w;
		float avail = col->w - col->pad_l - PAD_TH;

		if (cells && *s) {
			switch (col->fmt) {
			case FMT_NUMBER:
				if (fmt_decimal(s, col->dec, buf) == 0)
					s = buf;
				break;
			case FMT_PERCENT:
				if (fmt_decimal(s, col->dec, buf) == 0) {
					strcat(buf, " %");
					s = buf;
				}
				break;
			case FMT_DATE:
				ob_date_format_da(s, buf, sizeof buf);
				if (strlen(buf) < sizeof buf - 1)
					s = buf;
				break;
			default:
				break;
			}
		}
		out[c].line = (uint32_t)p->nlines;
		if (*s == '\0') {
			out[c].nline = 0;
			continue;
		}
		off = put_text(p, s, strlen(s), 1);
		len = (uint32_t)(p->txt_len - off);
		w = text_w(p, font, off, len);
		if (pts(w, SZ_TABLE) <= avail && memchr(p->txt + off, '\n', len) == NULL) {
			/* The common case: one line, no breaking. */
			GROW(p->segs, p->nsegs, p->segs_cap);
			p->segs[p->nsegs] = (struct seg){off, len, w, (uint8_t)font, 0};
			GROW(p->lines, p->nlines, p->lines_cap);
			p->lines[p->nlines++] = (struct line){(uint32_t)p->nsegs++, 1, w};
		} else {
			break_text(p, off, len, font, SZ_TABLE, avail);
		}
		out[c].nline = (uint32_t)p->nlines - out[c].line;
		if (out[c].nline > most)
			most = out[c].nline;
	}
	return most;
}

/* Table positions sit on a quarter-point grid: exact in binary, so the
 * content stream gets short operands ("24.25 0 Td"), which is most of what
 * a big table costs to compress. */
static float snap(float v)
{
	return roundf(v * 4) / 4;
}

/* Draws lines [from, to) of a laid-out row with its top at the cursor, or
 * queues them (queue) for table_flush(). */
static void draw_row_text(struct pdf *p, size_t ncols, const struct cell *cells, int font, struct rgb color,
			  uint32_t from, uint32_t to, int queue)
{
	for (size_t c = 0; c < ncols; c++) {
		const struct col *col = &p->cols[c];
		for (uint32_t l = from; l < to && l < cells[c].nline; l++) {
			const struct line *ln = &p->lines[cells[c].line + l];
			const struct seg *sg;
			float w, x, by;
			if (ln->nseg == 0)
				continue;
			sg = &p->segs[ln->seg];
			w = pts(ln->w, SZ_TABLE);
			x = col->align == AL_RIGHT ? col->x + col->w - PAD_TH - w
			    : col->align == AL_CENTER ? col->x + (col->w - w) / 2
						      : col->x + col->pad_l;
			by = snap(baseline(p->y - PAD_TV - LH_TABLE * (float)(l - from), SZ_TABLE, LH_TABLE));
			x = snap(x);
			if (queue) {
				GROW(p->qtexts, p->nqtexts, p->qtexts_cap);
				p->qtexts[p->nqtexts++] = (struct qtext){x, by, sg->off, sg->len};
			} else {
				show_range(p, font, SZ_TABLE, 0, color, x, by, sg->off, sg->len);
			}
		}
	}
}

/* The header row at the cursor, laid out after whatever is in the scratch
 * (which it leaves as it was). */
static void table_header(struct pdf *p, size_t ncols)
{
	size_t tl = p->txt_len, ns = p->nsegs, nl = p->nlines;
	uint32_t n = layout_row(p, ncols, NULL, F_BOLD, p->hcells);
	float h = (float)n * LH_TABLE + 2 * PAD_TV;

	p->y = floorf(p->y * 4) / 4;
	fill_rect(p, C_HEAD_BG, p->x0, p->y - h, p->x1 - p->x0, h);
	draw_row_text(p, ncols, p->hcells, F_BOLD, C_BLUE, 0, n, 0);
	p->y -= h;
	line(p, C_BLUE, 0.8f, p->x0, p->y, p->x1, p->y);
	p->txt_len = tl;
	p->nsegs = ns;
	p->nlines = nl;
}

static float header_height(struct pdf *p, size_t ncols)
{
	size_t tl = p->txt_len, ns = p->nsegs, nl = p->nlines;
	uint32_t n = layout_row(p, ncols, NULL, F_BOLD, p->hcells);

	p->txt_len = tl;
	p->nsegs = ns;
	p->nlines = nl;
	return (float)n * LH_TABLE + 2 * PAD_TV;
}

enum { Q_ZEBRA, Q_TINT = 1, Q_STATUS = 4, Q_N = 7 };

static void queue_rect(struct pdf *p, int color, float x, float y, float w, float h)
{
	GROW(p->qrects, p->nqrects, p->qrects_cap);
	p->qrects[p->nqrects++] = (struct qrect){x, y, w, h, color};
	p->page_used = 1;
}

static void table_flush(struct pdf *p)
{
	for (int c = 0; c < Q_N; c++) {
		struct rgb color = c == Q_ZEBRA ? C_ZEBRA : c < Q_STATUS ? C_TINT[c - Q_TINT + 1] : C_STATUS[c - Q_STATUS + 1];
		int any = 0;
		for (size_t k = 0; k < p->nqrects; k++) {
			const struct qrect *q = &p->qrects[k];
			if (q->color != c)
				continue;
			if (!any) {
				gfx_mode(p);
				set_fill(p, color);
				any = 1;
			}
			HPDF_Page_Rectangle(p->page, q->x, q->y, q->w, q->h);
		}
		if (any)
			HPDF_Page_Fill(p->page);
	}
	for (size_t k = 0; k < p->nqtexts; k++)
		show_range(p, F_REG, SZ_TABLE, 0, C_TEXT, p->qtexts[k].x, p->qtexts[k].y, p->qtexts[k].off,
			   p->qtexts[k].len);
	p->nqrects = 0;
	p->nqtexts = 0;
}

static void table_page_break(struct pdf *p, size_t ncols)
{
	table_flush(p);
	line(p, C_RULE, 0.5f, p->x0, p->y, p->x1, p->y);
	new_page(p, p->landscape);
	table_header(p, ncols);
}

/* The table's columns into p->cols, placed across the content width. */
static void table_columns(struct pdf *p, const struct ob_table *t)
{
	size_t ncols = t->ncols;
	double total = 0;
	float x = p->x0, w = p->x1 - p->x0;

	if (ncols > p->cols_cap) {
		p->cols_cap = ncols;
		p->cols = ob_xrealloc(p->cols, ncols * sizeof(*p->cols));
		p->cells = ob_xrealloc(p->cells, ncols * sizeof(*p->cells));
		p->hcells = ob_xrealloc(p->hcells, ncols * sizeof(*p->hcells));
	}
	for (size_t k = 0; k < ncols; k++) {
		const struct ob_doc_col *dc = &t->cols[k];
		p->cols[k] = (struct col){S(p, dc->header), 0, (float)dc->width, 0, dc->align, dc->format, dc->decimals};
		total += p->cols[k].w;
	}
	for (size_t k = 0; k < ncols; k++) {
		float next = k + 1 == ncols ? p->x1 : snap(x + (float)(p->cols[k].w / total) * w);
		p->cols[k].x = x;
		p->cols[k].w = next - x;
		p->cols[k].pad_l = PAD_TH + (k == 0 && t->has_status ? 6.0f : 0.0f);
		x = next;
	}
}

/* A page break before row r, whose text was laid out after the page's: the
 * page's text is written now, so the row is laid out again at the start of
 * the scratch, which thus holds one page's text at most. Returns its lines. */
static uint32_t table_row_break(struct pdf *p, const struct ob_table *t, size_t r)
{
	table_page_break(p, t->ncols);
	p->txt_len = 0;
	p->nsegs = 0;
	p->nlines = 0;
	return layout_row(p, t->ncols, &t->cells[r * t->ncols], F_REG, p->cells);
}

/* Row r of t at the cursor, on as many pages as it takes; hh is the header's height. */
static void table_row(struct pdf *p, const struct ob_table *t, size_t r, float hh)
{
	size_t ncols = t->ncols;
	int status = t->status[r];
	float w = p->x1 - p->x0;
	uint32_t n, from = 0;

	/* The scratch text holds the queued rows' text until the flush. */
	if (p->nqtexts == 0)
		p->txt_len = 0;
	p->nsegs = 0;
	p->nlines = 0;
	n = layout_row(p, ncols, &t->cells[r * ncols], F_REG, p->cells);
	if (p->y - ((float)n * LH_TABLE + 2 * PAD_TV) < p->bottom &&
	    (float)n * LH_TABLE + 2 * PAD_TV <= p->top - p->bottom - hh)
		n = table_row_break(p, t, r); /* the row fits on a fresh page */
	while (from < n) {
		/* A row taller than a page is split by lines. */
		uint32_t fit = (uint32_t)fmaxf(0, floorf((p->y - p->bottom - 2 * PAD_TV) / LH_TABLE)), to;
		float h;
		if (fit == 0 && p->y < p->top - hh - 1) {
			if (from == 0)
				n = table_row_break(p, t, r);
			else
				table_page_break(p, ncols);
			continue;
		}
		if (fit == 0)
			fit = 1; /* a header taller than the page: still make progress */
		to = from + fit < n ? from + fit : n;
		h = (float)(to - from) * LH_TABLE + 2 * PAD_TV;
		if (r % 2 == 1)
			queue_rect(p, Q_ZEBRA, p->x0, p->y - h, w, h);
		if (t->cstat[r] != OB_DOC_NONE) {
			for (size_t k = 0; k < ncols; k++) {
				int s = t->cs[t->cstat[r] + k];
				if (s > 0)
					queue_rect(p, Q_TINT + s - 1, p->cols[k].x, p->y - h, p->cols[k].w, h);
			}
		}
		if (status > 0)
			queue_rect(p, Q_STATUS + status - 1, p->x0, p->y - h + 0.75f, 3.5f, h - 1.5f);
		draw_row_text(p, ncols, p->cells, F_REG, C_TEXT, from, to, 1);
		p->y -= h;
		from = to;
		if (from < n)
			table_page_break(p, ncols);
	}
}

static void place_table(struct pdf *p, const struct ob_doc_el *e)
{
	const struct ob_table *t = e->u.table;
	float hh;

	table_columns(p, t);
	scratch_reset(p);
	hh = header_height(p, t->ncols);
	ensure(p, hh + LH_TABLE + 2 * PAD_TV);
	gap(p, 2);
	table_header(p, t->ncols);
	for (size_t r = 0; r < t->nrows; r++)
		table_row(p, t, r, hh);
	table_flush(p);
	line(p, C_RULE, 0.5f, p->x0, p->y, p->x1, p->y);
	p->y -= 10;
}

/* ---- charts ---- */

static void nice_scale(double lo, double hi, double *vmin, double *vmax, double *step)
{
	double range, rough, mag, m, s;

	if (lo > 0)
		lo = 0;
	if (hi < 0)
		hi = 0;
	if (hi - lo <= 0)
		hi = lo + 1;
	range = hi - lo;
	rough = range / 5;
	mag = pow(10, floor(log10(rough)));
	m = rough / mag;
	s = m <= 1.0 ? 1 : m <= 2.0 ? 2 : m <= 5.0 ? 5 : 10;
	*step = s * mag;
	*vmin = floor(lo / *step + 1e-9) * *step;
	*vmax = ceil(hi / *step - 1e-9) * *step;
	if (*vmax <= *vmin)
		*vmax = *vmin + *step;
}

static int step_decimals(double step)
{
	int d = 0;
	while (d < MAX_DECIMALS && fabs(step * pow(10, d) - round(step * pow(10, d))) > 1e-9 * pow(10, d))
		d++;
	return d;
}

/* The legend at the cursor; returns its height. */
static float legend(struct pdf *p, const struct ob_doc_chart *c, int draw)
{
	float x = p->x0, y = p->y, lh = 12;

	for (size_t k = 0; k < c->nseries; k++) {
		const char *name = S(p, c->names[k]);
		size_t mark = p->txt_len;
		uint32_t off = put_str(p, name), len = (uint32_t)(p->txt_len - off);
		float nw = pts(fit_last(p, F_REG, 8, p->x1 - p->x0 - 14, off, &len), 8);
		if (x > p->x0 && x + 12 + nw > p->x1) {
			x = p->x0;
			y -= lh;
		}
		if (draw) {
			fill_rect(p, PALETTE[k % OB_ARRAY_LEN(PALETTE)].fill, x, y - 9.5f, 7, 7);
			show_range(p, F_REG, 8, 0, C_TEXT, x + 11, y - 9, off, len);
		}
		x += 11 + nw + 14;
		p->txt_len = mark;
	}
	return p->y - y + lh + 4;
}

/* Where bar segment v runs, from a to b: on a stacked chart it continues
 * the positive or the negative stack (pos, neg); otherwise it starts at 0. */
static void bar_span(int stacked, double v, double *pos, double *neg, double *a, double *b)
{
	if (!stacked) {
		*a = 0;
		*b = v;
		return;
	}
	*a = v >= 0 ? *pos : *neg;
	*b = *a + v;
	if (v >= 0)
		*pos = *b;
	else
		*neg = *b;
}

/* A chart being placed: the element, its scale and its plot's size. */
struct chart {
	const struct ob_doc_chart *c;
	const double *vals; /* series k's value i: vals[k * n + i] */
	const char *vaxis, *laxis;
	size_t n, m;
	int stacked, show_values, vdec, tdec, nticks;
	double vmin, vmax, step;
	float w, plot_h, band;
};

/* Where v falls between lo (at vmin) and lo + span (at vmax). */
static float chart_at(const struct chart *ch, double v, float lo, float span)
{
	return lo + (float)((v - ch->vmin) / (ch->vmax - ch->vmin)) * span;
}

/* The value scale: the bars' extent rounded out to nice ticks. */
static void chart_scale(struct chart *ch)
{
	double lo = 0, hi = 0;

	for (size_t i = 0; i < ch->n; i++) {
		double pos = 0, neg = 0;
		for (size_t k = 0; k < ch->m; k++) {
			double v = ch->vals[k * ch->n + i];
			if (ch->stacked) {
				if (v > 0)
					pos += v;
				else
					neg += v;
			} else {
				pos = fmax(pos, v);
				neg = fmin(neg, v);
			}
		}
		hi = fmax(hi, pos);
		lo = fmin(lo, neg);
	}
	ch->vdec = auto_decimals(ch->vals, ch->n * ch->m);
	nice_scale(lo, hi, &ch->vmin, &ch->vmax, &ch->step);
	if (ch->vdec == 0 && ch->step < 1) { /* whole numbers: whole ticks */
		ch->step = 1;
		ch->vmin = floor(ch->vmin);
		ch->vmax = ceil(ch->vmax);
	}
	ch->nticks = (int)lround((ch->vmax - ch->vmin) / ch->step);
	ch->tdec = step_decimals(ch->step);
}

/* Label i's bars of a vertical chart, bw wide from left, the plot from
 * bottom to top; labels every lstep-th. */
static void vbar_group(struct pdf *p, const struct chart *ch, size_t i, float left, float bw, float gw, float bottom,
		       float top, size_t lstep)
{
	float bx = left + bw * (float)i + (bw - gw) / 2;
	double pos = 0, neg = 0;
	size_t m = ch->m;
	char num[128];

	for (size_t k = 0; k < m; k++) {
		double v = ch->vals[k * ch->n + i], a, b;
		float ya, yb, xx = ch->stacked ? bx : bx + gw / (float)m * (float)k;
		float ww = ch->stacked ? gw : gw / (float)m - (m > 1 ? 1.0f : 0.0f);
		bar_span(ch->stacked, v, &pos, &neg, &a, &b);
		ya = chart_at(ch, fmin(a, b), bottom, top - bottom);
		yb = chart_at(ch, fmax(a, b), bottom, top - bottom);
		fill_rect(p, PALETTE[k % OB_ARRAY_LEN(PALETTE)].fill, xx, ya, ww, yb - ya);
		if (!ch->show_values || v == 0)
			continue;
		fmt_double(v, ch->vdec, num);
		if (ch->stacked) {
			if (yb - ya >= 9)
				draw_str(p, F_REG, 7, PALETTE[k % OB_ARRAY_LEN(PALETTE)].on, xx + ww / 2, (ya + yb) / 2 - 2.5f,
					 AL_CENTER, ww, num);
		} else {
			draw_str(p, F_REG, 7, C_TEXT, xx + ww / 2, v >= 0 ? yb + 2.5f : ya - 8, AL_CENTER, fmaxf(ww + 8, 30),
				 num);
		}
	}
	if (ch->show_values && ch->stacked && m > 1) {
		fmt_double(pos + neg, ch->vdec, num);
		draw_str(p, F_BOLD, 7, C_TEXT, bx + gw / 2, chart_at(ch, pos, bottom, top - bottom) + 2.5f, AL_CENTER,
			 fmaxf(gw + 8, 30), num);
	}
	if (i % lstep == 0)
		draw_str(p, F_REG, SZ_SMALL, C_TEXT, left + bw * (float)i + bw / 2, bottom - 10, AL_CENTER,
			 bw * (float)lstep - 4, S(p, ch->c->labels[i]));
}

/* Bars that grow upwards: the value axis on the left, labels below. */
static void chart_vertical(struct pdf *p, const struct chart *ch)
{
	float tick_w = 0, left, right = p->x1, bottom, top, pw, bw, gw, lw = 0;
	size_t lstep;
	char num[128];

	for (int t = 0; t <= ch->nticks; t++) {
		fmt_double(ch->vmin + t * ch->step, ch->tdec, num);
		tick_w = fmaxf(tick_w, str_w(p, F_REG, SZ_SMALL, num));
	}
	left = p->x0 + tick_w + 6;
	if (ch->vaxis) {
		draw_str(p, F_REG, SZ_SMALL, C_GREY, p->x0, p->y - 8, AL_LEFT, ch->w, ch->vaxis);
		p->y -= 12;
	} else {
		p->y -= 4;
	}
	top = p->y - 4;
	bottom = p->y - ch->plot_h;
	pw = right - left;
	for (int t = 0; t <= ch->nticks; t++) {
		double v = ch->vmin + t * ch->step;
		float yy = chart_at(ch, v, bottom, top - bottom);
		int zero = fabs(v) < ch->step * 1e-9;
		line(p, zero ? C_RULE : C_GRID, zero ? 0.8f : 0.4f, left, yy, right, yy);
		fmt_double(v, ch->tdec, num);
		draw_str(p, F_REG, SZ_SMALL, C_GREY, left - 4, yy - 2.6f, AL_RIGHT, tick_w + 2, num);
	}
	bw = pw / (float)ch->n;
	gw = fminf(bw * 0.72f, ch->stacked ? 60 : 26 * (float)ch->m);
	/* Labels too wide for their bars: label every lstep-th bar. */
	for (size_t i = 0; i < ch->n; i++)
		lw = fmaxf(lw, str_w(p, F_REG, SZ_SMALL, S(p, ch->c->labels[i])));
	lw = fminf(lw, 70);
	lstep = (size_t)ceilf((lw + 4) / bw);
	if (lstep < 1)
		lstep = 1;
	for (size_t i = 0; i < ch->n; i++)
		vbar_group(p, ch, i, left, bw, gw, bottom, top, lstep);
	p->y = bottom - 14;
	if (ch->laxis) {
		draw_str(p, F_REG, SZ_SMALL, C_GREY, left + pw / 2, p->y - 8, AL_CENTER, ch->w, ch->laxis);
		p->y -= 13;
	}
}

/* The room of a horizontal chart's parts. */
struct hgeom {
	float lab_w, left, top, pw, val_room, gh, fs;
};

/* Label i's bars of a horizontal chart. */
static void hbar_group(struct pdf *p, const struct chart *ch, const struct hgeom *g, size_t i)
{
	float by = g->top - ch->band * (float)i - (ch->band - g->gh) / 2; /* the group's top */
	double pos = 0, neg = 0;
	size_t m = ch->m;
	char num[128];

	draw_str(p, F_REG, g->fs, C_TEXT, p->x0, g->top - ch->band * (float)i - ch->band / 2 - 0.36f * g->fs, AL_LEFT,
		 g->lab_w, S(p, ch->c->labels[i]));
	for (size_t k = 0; k < m; k++) {
		double v = ch->vals[k * ch->n + i], a, b;
		float xa, xb, hh = ch->stacked ? g->gh : g->gh / (float)m;
		float yy = ch->stacked ? by - g->gh : by - hh * (float)(k + 1);
		float bh = hh - (ch->stacked || m == 1 ? 0.0f : 0.8f), vs;
		bar_span(ch->stacked, v, &pos, &neg, &a, &b);
		xa = chart_at(ch, fmin(a, b), g->left, g->pw);
		xb = chart_at(ch, fmax(a, b), g->left, g->pw);
		fill_rect(p, PALETTE[k % OB_ARRAY_LEN(PALETTE)].fill, xa, yy, xb - xa, bh);
		if (!ch->show_values || v == 0)
			continue;
		vs = fminf(7, bh * 0.85f);
		fmt_double(v, ch->vdec, num);
		if (ch->stacked) {
			if (str_w(p, F_REG, vs, num) + 4 <= xb - xa && vs >= 5)
				draw_str(p, F_REG, vs, PALETTE[k % OB_ARRAY_LEN(PALETTE)].on, (xa + xb) / 2,
					 yy + bh / 2 - 0.36f * vs, AL_CENTER, xb - xa, num);
		} else if (vs >= 4) {
			if (v >= 0)
				draw_str(p, F_REG, vs, C_TEXT, xb + 3, yy + bh / 2 - 0.36f * vs, AL_LEFT, g->val_room, num);
			else
				draw_str(p, F_REG, vs, C_TEXT, xa - 3, yy + bh / 2 - 0.36f * vs, AL_RIGHT, g->lab_w, num);
		}
	}
	if (ch->show_values && ch->stacked && m > 1 && g->gh >= 5) {
		float vs = fminf(7, g->gh * 0.85f);
		fmt_double(pos + neg, ch->vdec, num);
		draw_str(p, F_BOLD, vs, C_TEXT, chart_at(ch, pos, g->left, g->pw) + 3, by - g->gh / 2 - 0.36f * vs, AL_LEFT,
			 g->val_room, num);
	}
}

/* Bars that grow to the right: labels on the left, the value axis below. */
static void chart_horizontal(struct pdf *p, const struct chart *ch)
{
	struct hgeom g = {0};
	float right, bottom;
	char num[128];

	g.fs = fminf(SZ_SMALL, ch->band * 0.75f);
	for (size_t i = 0; i < ch->n; i++)
		g.lab_w = fmaxf(g.lab_w, str_w(p, F_REG, g.fs, S(p, ch->c->labels[i])));
	g.lab_w = fminf(g.lab_w, ch->w * 0.35f);
	if (ch->show_values) {
		for (size_t i = 0; i < ch->n * ch->m; i++) {
			fmt_double(ch->vals[i], ch->vdec, num);
			g.val_room = fmaxf(g.val_room, str_w(p, F_BOLD, 7, num) + 6);
		}
		if (ch->stacked)
			g.val_room *= 1.5f; /* totals */
	}
	if (ch->laxis) {
		draw_str(p, F_REG, SZ_SMALL, C_GREY, p->x0, p->y - 8, AL_LEFT, ch->w, ch->laxis);
		p->y -= 12;
	} else {
		p->y -= 2;
	}
	g.left = p->x0 + g.lab_w + 8;
	right = p->x1 - fmaxf(g.val_room, 8);
	g.pw = right - g.left;
	g.top = p->y;
	bottom = g.top - ch->plot_h;
	for (int t = 0; t <= ch->nticks; t++) {
		double v = ch->vmin + t * ch->step;
		float xx = chart_at(ch, v, g.left, g.pw);
		int zero = fabs(v) < ch->step * 1e-9;
		line(p, zero ? C_RULE : C_GRID, zero ? 0.8f : 0.4f, xx, g.top, xx, bottom);
		fmt_double(v, ch->tdec, num);
		draw_str(p, F_REG, SZ_SMALL, C_GREY, xx, bottom - 10, AL_CENTER, 60, num);
	}
	g.gh = ch->band * 0.72f;
	for (size_t i = 0; i < ch->n; i++)
		hbar_group(p, ch, &g, i);
	p->y = bottom - 14;
	if (ch->vaxis) {
		draw_str(p, F_REG, SZ_SMALL, C_GREY, g.left + g.pw / 2, p->y - 8, AL_CENTER, ch->w, ch->vaxis);
		p->y -= 12;
	}
}

static void place_chart(struct pdf *p, const struct ob_doc_el *e)
{
	const struct ob_doc_chart *c = e->u.chart;
	const char *title = S0(p, c->title);
	struct chart ch = {.c = c, .vals = c->values, .vaxis = S0(p, c->value_axis), .laxis = S0(p, c->label_axis),
			   .n = c->nlabels, .m = c->nseries, .stacked = c->stacked, .show_values = c->show_values};
	float title_h = title ? 17.0f : 0, legend_h, total;
	float avail_page = p->top - p->bottom;
	size_t n = ch.n, m = ch.m;

	ch.w = p->x1 - p->x0;
	scratch_reset(p);
	chart_scale(&ch);
	legend_h = m > 1 ? legend(p, c, 0) : 0;
	if (n == 0 || m == 0) {
		ensure(p, title_h + 16);
		gap(p, 6);
		if (title)
			heading(p, title, F_BOLD, 10, 17, C_BLUE, ch.w);
		draw_str(p, F_REG, 8.5f, C_GREY, p->x0, baseline(p->y, 8.5f, 12), AL_LEFT, ch.w, "Ingen data.");
		p->y -= 18;
		return;
	}
	if (!c->horizontal) {
		ch.plot_h = p->page_landscape ? 150 : 170;
		total = title_h + legend_h + (ch.vaxis ? 12 : 4) + ch.plot_h + 14 + (ch.laxis ? 13 : 0) + 8;
	} else {
		float over = title_h + legend_h + (ch.laxis ? 12 : 2) + 14 + (ch.vaxis ? 12 : 0) + 8;
		ch.band = (m > 1 && !ch.stacked) ? fmaxf(15, 7 * (float)m + 6) : 17;
		if (over + ch.band * (float)n > avail_page)
			ch.band = fmaxf(2, (avail_page - over) / (float)n);
		ch.plot_h = ch.band * (float)n;
		total = over + ch.plot_h;
	}
	ensure(p, fminf(total, avail_page));
	gap(p, 6);
	if (title)
		heading(p, title, F_BOLD, 10, 17, C_BLUE, ch.w);
	if (m > 1) {
		scratch_reset(p);
		legend(p, c, 1);
		p->y -= legend_h;
	}
	scratch_reset(p);
	if (!c->horizontal)
		chart_vertical(p, &ch);
	else
		chart_horizontal(p, &ch);
	p->y -= 8;
}

/* ---- headers and footers ---- */

static void furniture(struct pdf *p)
{
	char side[64], run[96];

	for (size_t k = 0; k < p->npages; k++) {
		float x0, x1, half, ty, by;

		switch_page(p, k);
		x0 = MARGIN_X;
		x1 = p->pw - MARGIN_X;
		half = (x1 - x0) / 2 - 8;
		ty = p->ph - HEADER_BASE;
		scratch_reset(p);
		if (p->org_name)
			draw_str(p, F_BOLD, SZ_FURN, C_GREY, x0, ty, AL_LEFT, half, p->org_name);
		if (p->report_title)
			draw_str(p, F_REG, SZ_FURN, C_GREY, x1, ty, AL_RIGHT, half, p->report_title);
		line(p, C_RULE, 0.5f, x0, p->ph - HEADER_RULE, x1, p->ph - HEADER_RULE);
		line(p, C_RULE, 0.5f, x0, FOOTER_RULE, x1, FOOTER_RULE);
		by = FOOTER_BASE;
		if (p->as_of_da[0])
			draw_str(p, F_REG, SZ_FURN, C_GREY, x0, by, AL_LEFT, half - 40, p->as_of_da);
		/* "Kørsel 17 · data 3f2a9c1b0d4e": about 130 pt, centred in
		 * 180 pt, clear of the date (left) and the page (right) on
		 * portrait and landscape pages alike. */
		if (p->run_id || p->fingerprint) {
			int n = 0;
			run[0] = '\0';
			if (p->run_id)
				n = snprintf(run, sizeof run, "Kørsel %llu", p->run_id);
			if (p->fingerprint)
				snprintf(run + n, sizeof run - (size_t)n, "%sdata %.32s", n ? " · " : "",
					 p->fingerprint);
			draw_str(p, F_REG, SZ_FURN, C_GREY, (x0 + x1) / 2, by, AL_CENTER, 180, run);
		}
		snprintf(side, sizeof side, "Side %zu af %zu", k + 1, p->npages);
		draw_str(p, F_REG, SZ_FURN, C_GREY, x1, by, AL_RIGHT, half - 40, side);
		gfx_mode(p);
	}
}

/* ---- the document ---- */

static void load_font(struct pdf *p, int f, const char *file)
{
	const char *name;

	/* Kept in p so that the cleanup frees it after a libharu error. */
	p->font_path = ob_path_join(p->font_dir, file);
	name = HPDF_LoadTTFontFromFile(p->doc, p->font_path, HPDF_TRUE);
	p->font[f] = HPDF_GetFont(p->doc, name, "UTF-8");
	free(p->font_path);
	p->font_path = NULL;
}

static void set_info(struct pdf *p, HPDF_InfoType type, const char *s)
{
	if (s == NULL || *s == '\0')
		return;
	scratch_reset(p);
	put_text(p, s, strnlen(s, 4000), 0);
	HPDF_SetInfoAttr(p->doc, type, p->txt);
}

static const char *const EL_TYPE[] = {"section", "para", "list", "kpi", "table", "chart", "note"};

static void render(struct pdf *p)
{
	const struct ob_doc *doc = p->d;

	HPDF_SetCompressionMode(p->doc, HPDF_COMP_ALL);
	HPDF_UseUTFEncodings(p->doc);
	HPDF_SetCurrentEncoder(p->doc, "UTF-8");
	load_font(p, F_REG, FONT_REGULAR);
	load_font(p, F_BOLD, FONT_BOLD);

	set_info(p, HPDF_INFO_TITLE, p->title);
	set_info(p, HPDF_INFO_AUTHOR, p->author);
	set_info(p, HPDF_INFO_SUBJECT, p->subtitle ? p->subtitle : p->report_title);
	set_info(p, HPDF_INFO_CREATOR, p->creator);
	if (p->created != 0) {
		struct tm tm;
		HPDF_Date d;
		if (gmtime_r(&p->created, &tm) != NULL) {
			memset(&d, 0, sizeof d);
			d.year = tm.tm_year + 1900;
			d.month = tm.tm_mon + 1;
			d.day = tm.tm_mday;
			d.hour = tm.tm_hour;
			d.minutes = tm.tm_min;
			d.seconds = tm.tm_sec > 59 ? 59 : tm.tm_sec;
			d.ind = 'Z';
			HPDF_SetInfoDateAttr(p->doc, HPDF_INFO_CREATION_DATE, d);
		}
	}
	if (p->ntoc > 0)
		HPDF_SetPageMode(p->doc, HPDF_PAGE_MODE_USE_OUTLINE);

	new_page(p, 0);
	title_block(p);
	reserve_toc(p);

	for (size_t i = 0; i < doc->nels;) {
		const struct ob_doc_el *e = &doc->els[i];
		size_t n = 1;
		p->el = (int)i;
		p->el_type = EL_TYPE[e->type];
		switch (e->type) {
		case OB_DOC_KPI:
			/* Consecutive tiles form rows. */
			while (i + n < doc->nels && doc->els[i + n].type == OB_DOC_KPI)
				n++;
			place_kpis(p, e, (int)n);
			break;
		case OB_DOC_SECTION: place_section(p, e); break;
		case OB_DOC_PARA: place_para(p, e); break;
		case OB_DOC_TABLE: place_table(p, e); break;
		case OB_DOC_CHART: place_chart(p, e); break;
		case OB_DOC_NOTE: place_note(p, e); break;
		case OB_DOC_LIST: place_list(p, e); break;
		default: break;
		}
		i += n;
	}
	p->el = -1;
	gfx_mode(p);
	fill_toc(p);
	furniture(p);
}

/* Writes the finished document to p->tmp_path, straight from libharu to the
 * file (no second copy in memory), then makes it durable before the rename. */
static int write_out(struct pdf *p)
{
	int fd;

	/* Opened here first for a useful error; libharu only says "cannot open". */
	p->out = fopen(p->tmp_path, "wb");
	if (p->out == NULL) {
		ob_err_set(p->err, "pdf %s: %s", p->tmp_path, strerror(errno));
		return -1;
	}
	fclose(p->out);
	p->out = NULL;
	p->saving = 1;
	if (HPDF_SaveToFile(p->doc, p->tmp_path) != HPDF_OK) {
		ob_err_set(p->err, "pdf %s: libharu error 0x%04X (%s): %s", p->tmp_path, (unsigned)p->hpdf_no,
			   hpdf_error_name(p->hpdf_no), strerror(p->hpdf_errno));
		return -1;
	}
	p->saving = 0;
	fd = open(p->tmp_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		ob_err_set(p->err, "pdf %s: %s", p->tmp_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The table of contents: the sections, in order. */
static void collect_toc(struct pdf *p)
{
	for (size_t i = 0; i < p->d->nels; i++) {
		const struct ob_doc_el *e = &p->d->els[i];
		if (e->type != OB_DOC_SECTION)
			continue;
		GROW(p->toc, p->ntoc, p->toc_cap);
		p->toc[p->ntoc++] = (struct toc_entry){S(p, e->u.section.title), e->u.section.level, 0, NULL, 0, 0};
	}
}

/* One try: in the subset fonts in subset_dir (not NULL), or in the whole
 * ones. Returns 0, -1 with err, or 1 when the document has a character the
 * subset has not (nothing written: try again with the whole fonts). */
static int render_try(const struct ob_doc *doc, const struct ob_render_meta *meta, const char *path,
		      const char *subset_dir, struct ob_render_stats *stats, struct ob_err *err)
{
	static const struct ob_render_meta none;
	struct pdf *p = ob_xcalloc(1, sizeof(*p));
	volatile int rc = -1;
	struct stat st;
	char *tmp = NULL;

	if (meta == NULL)
		meta = &none;
	p->err = err;
	p->el = -1;
	p->org_name = meta->org_name && *meta->org_name ? meta->org_name : NULL;
	p->report_title = meta->report_title && *meta->report_title ? meta->report_title : NULL;
	p->as_of = meta->as_of;
	p->creator = meta->creator;
	p->author = meta->author;
	p->font_dir = subset_dir ? subset_dir : meta->font_dir ? meta->font_dir : FONT_DIR;
	p->subset = subset_dir ? subset_bits() : NULL;
	p->run_id = meta->run_id;
	p->fingerprint = meta->fingerprint && *meta->fingerprint ? meta->fingerprint : NULL;
	p->created = meta->created;
	if (path == NULL || *path == '\0') {
		ob_err_set(err, "pdf: no output path");
		goto out;
	}
	if (doc == NULL) {
		ob_err_set(err, "document: is not an object");
		goto out;
	}
	p->d = doc;
	p->title = ob_doc_str(doc, doc->title);
	p->subtitle = ob_doc_str(doc, doc->subtitle);
	if (p->title == NULL)
		p->title = p->report_title;
	if (p->title == NULL) {
		ob_err_set(err, "document: title is missing");
		goto out;
	}
	collect_toc(p);
	if (p->report_title == NULL)
		p->report_title = p->title;
	if (p->as_of && *p->as_of) {
		char d[64];
		ob_date_format_da(p->as_of, d, sizeof d);
		snprintf(p->as_of_da, sizeof p->as_of_da, "Opgjort pr. %.19s", d);
	}
	{
		const char *files[] = {FONT_REGULAR, FONT_BOLD};
		for (size_t i = 0; i < OB_ARRAY_LEN(files); i++) {
			char *fp = ob_path_join(p->font_dir, files[i]);
			int ok = stat(fp, &st) == 0 && S_ISREG(st.st_mode);
			if (!ok)
				ob_err_set(err,
					   "font %s not found: install the Debian package fonts-dejavu-core (or set "
					   "font_dir)",
					   fp);
			free(fp);
			if (!ok)
				goto out;
		}
	}
	p->wc = ob_xmalloc((size_t)2 << 16 << 1);
	memset(p->wc, 0xff, (size_t)2 << 16 << 1);
	tmp = ob_xasprintf("%s.tmp", path);

	if (setjmp(p->jb) != 0) {
		if (p->font_path != NULL)
			ob_err_set(err, "font %s: libharu error 0x%04X (%s), detail %u", p->font_path,
				   (unsigned)p->hpdf_no, hpdf_error_name(p->hpdf_no), (unsigned)p->hpdf_detail);
		else if (p->el >= 0)
			ob_err_set(err, "element %d (%s): libharu error 0x%04X (%s), detail %u", p->el, p->el_type,
				   (unsigned)p->hpdf_no, hpdf_error_name(p->hpdf_no), (unsigned)p->hpdf_detail);
		else
			ob_err_set(err, "pdf %s: libharu error 0x%04X (%s), detail %u", path, (unsigned)p->hpdf_no,
				   hpdf_error_name(p->hpdf_no), (unsigned)p->hpdf_detail);
		goto out;
	}
	p->doc = HPDF_New(on_hpdf_error, p);
	if (p->doc == NULL) {
		ob_err_set(err, "pdf: libharu cannot create a document (out of memory)");
		goto out;
	}
	render(p);
	if (p->uncovered) {
		rc = 1;
		goto out;
	}
	p->tmp_path = tmp;
	if (write_out(p) < 0)
		goto out;
	if (rename(tmp, path) != 0) {
		ob_err_set(err, "pdf %s: rename from %s: %s", path, tmp, strerror(errno));
		goto out;
	}
	if (stats)
		stats->pages = (int)p->npages;
	rc = 0;
out:
	if (p->out != NULL)
		fclose(p->out);
	if (rc != 0 && tmp != NULL)
		unlink(tmp);
	if (p->doc != NULL)
		HPDF_Free(p->doc);
	free(p->font_path);
	free(tmp);
	free(p->wc);
	free(p->subset);
	free(p->pages);
	free(p->toc);
	free(p->txt);
	free(p->runs);
	free(p->segs);
	free(p->lines);
	free(p->cols);
	free(p->cells);
	free(p->hcells);
	free(p->qrects);
	free(p->qtexts);
	free(p);
	return rc;
}

/* The subset fonts (Makefile.am makes them): from a built source tree its
 * fonts/, installed the package's; NULL when there are none, or when the
 * caller chose a font_dir. */
static const char *subset_dir(const struct ob_render_meta *meta)
{
	static const char *const dirs[] = {"fonts", OB_PKGDATADIR "/fonts"};

	if ((meta && meta->font_dir) || OB_FONT_SUBSET[0] == '\0')
		return NULL;
	for (size_t i = 0; i < OB_ARRAY_LEN(dirs); i++) {
		char *r = ob_path_join(dirs[i], FONT_REGULAR), *b = ob_path_join(dirs[i], FONT_BOLD);
		int ok = access(r, R_OK) == 0 && access(b, R_OK) == 0;
		free(r);
		free(b);
		if (ok)
			return dirs[i];
	}
	return NULL;
}

int ob_render_pdf(const struct ob_doc *doc, const struct ob_render_meta *meta, const char *path,
		  struct ob_render_stats *stats, struct ob_err *err)
{
	const char *sub = subset_dir(meta);
	int rc = sub ? render_try(doc, meta, path, sub, stats, err) : 1;

	if (rc == 1)
		rc = render_try(doc, meta, path, NULL, stats, err);
	return rc;
}
