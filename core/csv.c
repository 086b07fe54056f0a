/* csv.c - a CSV reader over text in memory, and the value parsers of the
 * documented CSV import. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv.h"

struct ob_csv {
	char *name;
	const char *text;
	size_t len;
	size_t pos;
	unsigned long line;  /* physical line at pos, 1-based */
	char sep;
	int sep_known;
	int failed;
	struct ob_buf data;  /* the fields of the current record, each NUL-terminated */
	size_t *offs;
	char **fields;
	const char **prob;   /* per field: NULL, or what is wrong with its bytes */
	unsigned long *probline;
	size_t nfields, cap;
};

static const char PROB_UTF8[] = "invalid UTF-8 (save the file as \"CSV UTF-8\")";
static const char PROB_NUL[] = "a NUL byte (0x00), which no text holds";

struct ob_csv *ob_csv_open(const char *name, const char *text, size_t len)
{
	struct ob_csv *r = ob_xcalloc(1, sizeof(*r));

	r->name = ob_xstrdup(name ? name : "(csv)");
	r->text = text;
	r->len = len;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		r->pos = 3;
	r->line = 1;
	r->sep = ';';
	ob_buf_init(&r->data, 0);
	return r;
}

void ob_csv_free(struct ob_csv *r)
{
	if (r == NULL)
		return;
	free(r->name);
	ob_buf_free(&r->data);
	free(r->offs);
	free(r->fields);
	free(r->prob);
	free(r->probline);
	free(r);
}

char ob_csv_separator(const struct ob_csv *r)
{
	return r->sep;
}

/* Counts the candidate separators outside quotes up to the end of the
 * first record and picks the most frequent. */
static void detect_separator(struct ob_csv *r)
{
	size_t semi = 0, comma = 0, tab = 0;
	int quoted = 0;

	for (size_t i = r->pos; i < r->len; i++) {
		char c = r->text[i];
		if (c == '"')
			quoted = !quoted;
		else if (quoted)
			continue;
		else if (c == '\n' || c == '\r')
			break;
		else if (c == ';')
			semi++;
		else if (c == ',')
			comma++;
		else if (c == '\t')
			tab++;
	}
	r->sep = ';';
	if (comma > semi && comma >= tab)
		r->sep = ',';
	else if (tab > semi && tab > comma)
		r->sep = '\t';
	r->sep_known = 1;
}

static int fail(struct ob_csv *r, struct ob_err *err, unsigned long line, const char *what)
{
	r->failed = 1;
	ob_err_set(err, "%s:%lu: %s", r->name, line, what);
	return -1;
}

static void end_field(struct ob_csv *r)
{
	ob_buf_addc(&r->data, '\0');
}

static void start_field(struct ob_csv *r)
{
	if (r->nfields == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->offs = ob_xrealloc(r->offs, r->cap * sizeof(*r->offs));
		r->fields = ob_xrealloc(r->fields, r->cap * sizeof(*r->fields));
		r->prob = ob_xrealloc(r->prob, r->cap * sizeof(*r->prob));
		r->probline = ob_xrealloc(r->probline, r->cap * sizeof(*r->probline));
	}
	r->prob[r->nfields] = NULL;
	r->probline[r->nfields] = 0;
	r->offs[r->nfields++] = r->data.len;
}

/* Marks the current field: a NUL byte on line (its first problem wins). */
static void mark_nul(struct ob_csv *r, unsigned long line)
{
	if (r->prob[r->nfields - 1] == NULL) {
		r->prob[r->nfields - 1] = PROB_NUL;
		r->probline[r->nfields - 1] = line;
	}
}

/* Checks the field just read is UTF-8; line is where it started. A bad
 * field is marked, not fatal: the caller skips its record. */
static void check_field(struct ob_csv *r, unsigned long line)
{
	size_t off = r->offs[r->nfields - 1];
	const char *f = r->data.data + off;
	size_t flen = r->data.len - off, bad;

	if (r->prob[r->nfields - 1] != NULL || ob_utf8_check(f, flen, &bad) == 0)
		return;
	for (size_t i = 0; i < bad; i++)
		if (f[i] == '\n')
			line++;
	r->prob[r->nfields - 1] = PROB_UTF8;
	r->probline[r->nfields - 1] = line;
}

const char *ob_csv_problem(const struct ob_csv *r, size_t i, unsigned long *line)
{
	if (i >= r->nfields || r->prob[i] == NULL)
		return NULL;
	if (line)
		*line = r->probline[i];
	return r->prob[i];
}

int ob_csv_next(struct ob_csv *r, char ***fields, size_t *n, unsigned long *line,
		struct ob_err *err)
{
	const char *t = r->text;
	unsigned long start;

	if (r->failed) {
		ob_err_set(err, "%s: the reader failed before", r->name);
		return -1;
	}
	if (!r->sep_known)
		detect_separator(r);
	/* Empty lines are no records. */
	while (r->pos < r->len && (t[r->pos] == '\n' || t[r->pos] == '\r')) {
		if (t[r->pos] == '\r' && r->pos + 1 < r->len && t[r->pos + 1] == '\n')
			r->pos++;
		r->pos++;
		r->line++;
	}
	if (r->pos >= r->len)
		return 0;

	start = r->line;
	ob_buf_reset(&r->data);
	r->nfields = 0;
	for (;;) {
		unsigned long fline = r->line;

		start_field(r);
		if (r->pos < r->len && t[r->pos] == '"') {
			r->pos++;
			for (;;) {
				char c;
				if (r->pos >= r->len)
					return fail(r, err, fline,
						    "unterminated quoted field (the quote opened here is never closed)");
				c = t[r->pos];
				if (c == '"') {
					if (r->pos + 1 < r->len && t[r->pos + 1] == '"') {
						ob_buf_addc(&r->data, '"');
						r->pos += 2;
						continue;
					}
					r->pos++;
					break;
				}
				if (c == '\0') {
					mark_nul(r, r->line);
					r->pos++;
					continue;
				}
				if (c == '\r') {
					/* A line end inside quotes is part of the value, as "\n". */
					if (r->pos + 1 < r->len && t[r->pos + 1] == '\n')
						r->pos++;
					c = '\n';
				}
				if (c == '\n')
					r->line++;
				ob_buf_addc(&r->data, c);
				r->pos++;
			}
			if (r->pos < r->len && t[r->pos] != r->sep && t[r->pos] != '\n' &&
			    t[r->pos] != '\r') {
				char msg[160];
				unsigned char c = (unsigned char)t[r->pos];
				if (c >= 0x20 && c < 0x7F)
					snprintf(msg, sizeof(msg),
						 "field %zu: '%c' after the closing quote (a quote inside a quoted field is written \"\")",
						 r->nfields, c);
				else
					snprintf(msg, sizeof(msg),
						 "field %zu: text after the closing quote (a quote inside a quoted field is written \"\")",
						 r->nfields);
				return fail(r, err, r->line, msg);
			}
		} else {
			while (r->pos < r->len) {
				char c = t[r->pos];
				if (c == r->sep || c == '\n' || c == '\r')
					break;
				if (c == '"') {
					char msg[160];
					snprintf(msg, sizeof(msg),
						 "field %zu: quote inside an unquoted field (quote the whole field and write the quote as \"\")",
						 r->nfields);
					return fail(r, err, r->line, msg);
				}
				if (c == '\0') {
					mark_nul(r, r->line);
					r->pos++;
					continue;
				}
				ob_buf_addc(&r->data, c);
				r->pos++;
			}
		}
		check_field(r, fline);
		end_field(r);
		if (r->pos < r->len && t[r->pos] == r->sep) {
			r->pos++;
			continue;
		}
		/* End of the record: consume the line end. */
		if (r->pos < r->len) {
			if (t[r->pos] == '\r' && r->pos + 1 < r->len && t[r->pos + 1] == '\n')
				r->pos++;
			r->pos++;
			r->line++;
		}
		break;
	}
	for (size_t i = 0; i < r->nfields; i++)
		r->fields[i] = r->data.data + r->offs[i];
	*fields = r->fields;
	*n = r->nfields;
	*line = start;
	return 1;
}

/* ---- values ---- */

/* Trims ASCII white space: [*b, *e) is the value. */
static void span_trim(const char *s, const char **b, const char **e)
{
	const char *end = s + strlen(s);
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*b = s;
	*e = end;
}

int ob_csv_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"ja", "j", "yes", "y", "1", "true", "sand", "x"};
	static const char *const no[] = {"nej", "n", "no", "0", "false", "falsk"};
	const char *b, *e;
	char v[8];
	size_t len;

	if (s == NULL)
		return 0;
	span_trim(s, &b, &e);
	len = (size_t)(e - b);
	if (len == 0)
		return 0;
	if (len >= sizeof(v))
		return -1;
	for (size_t i = 0; i < len; i++)
		v[i] = (char)tolower((unsigned char)b[i]);
	v[len] = '\0';
	for (size_t i = 0; i < OB_ARRAY_LEN(yes); i++)
		if (strcmp(v, yes[i]) == 0) {
			*out = 1;
			return 1;
		}
	for (size_t i = 0; i < OB_ARRAY_LEN(no); i++)
		if (strcmp(v, no[i]) == 0) {
			*out = 0;
			return 1;
		}
	return -1;
}

/* Strips a currency word at either end of [*b, *e). */
static void strip_currency(const char **b, const char **e)
{
	static const char *const words[] = {"kr.", "kr", "dkk"};
	for (size_t i = 0; i < OB_ARRAY_LEN(words); i++) {
		size_t wl = strlen(words[i]);
		if ((size_t)(*e - *b) > wl && strncasecmp(*e - wl, words[i], wl) == 0) {
			*e -= wl;
			while (*e > *b && isspace((unsigned char)(*e)[-1]))
				(*e)--;
			break;
		}
	}
	for (size_t i = 0; i < OB_ARRAY_LEN(words); i++) {
		size_t wl = strlen(words[i]);
		if ((size_t)(*e - *b) > wl && strncasecmp(*b, words[i], wl) == 0 &&
		    !isalpha((unsigned char)(*b)[wl])) {
			*b += wl;
			while (*b < *e && isspace((unsigned char)**b))
				(*b)++;
			break;
		}
	}
}

#define AMOUNT_MAX_GROUPS 16

/* Checks thousands grouping: the first group 1-3 digits, every other 3. */
static int grouping_ok(const size_t *glen, size_t ngroups)
{
	if (glen[0] < 1 || glen[0] > 3)
		return 0;
	for (size_t i = 1; i < ngroups; i++)
		if (glen[i] != 3)
			return 0;
	return 1;
}

int ob_csv_parse_amount(const char *s, double *out, const char **why)
{
	const char *b, *e, *p;
	const char *gstart[AMOUNT_MAX_GROUPS];
	size_t glen[AMOUNT_MAX_GROUPS];
	char seps[AMOUNT_MAX_GROUPS];
	size_t ngroups = 0, nint, intdigits = 0, ndec = 0;
	size_t cnt_dot = 0, cnt_comma = 0;
	char last, group = 0, num[64];
	size_t k = 0;
	int neg = 0;
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	*why = "not an amount";
	if (s == NULL)
		return 0;
	span_trim(s, &b, &e);
	if (b == e)
		return 0;
	strip_currency(&b, &e);
	if (b < e && (*b == '-' || *b == '+')) {
		neg = *b == '-';
		b++;
	}
	p = b;
	for (;;) {
		const char *d = p;
		while (p < e && isdigit((unsigned char)*p))
			p++;
		if (p == d)
			return -1; /* a separator not between digits, or no digits */
		if (ngroups == AMOUNT_MAX_GROUPS)
			return -1;
		gstart[ngroups] = d;
		glen[ngroups] = (size_t)(p - d);
		ngroups++;
		if (p == e)
			break;
		/* One separator: '.', ',', a space, a no-break space (U+00A0) or
		 * a narrow no-break space (U+202F). */
		if (*p == '.' || *p == ',' || *p == ' ') {
			seps[ngroups - 1] = *p;
			p++;
		} else if (e - p >= 2 && (unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0) {
			seps[ngroups - 1] = ' ';
			p += 2;
		} else if (e - p >= 3 && (unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
			   (unsigned char)p[2] == 0xAF) {
			seps[ngroups - 1] = ' ';
			p += 3;
		} else
			return -1;
	}
	for (size_t i = 0; i + 1 < ngroups; i++) {
		if (seps[i] == '.')
			cnt_dot++;
		else if (seps[i] == ',')
			cnt_comma++;
	}
	nint = ngroups;
	if (ngroups > 1) {
		last = seps[ngroups - 2];
		if (last != ' ' && (last == '.' ? cnt_dot : cnt_comma) == 1) {
			/* The last separator may be the decimal one. */
			size_t dl = glen[ngroups - 1];
			if (dl == 3 && ngroups == 2 && glen[0] <= 3) {
				*why = "ambiguous amount (thousands or decimals?)";
				return -1;
			}
			if (dl > 2) {
				*why = "more than 2 decimals";
				return -1;
			}
			nint = ngroups - 1;
			ndec = dl;
		}
		/* The separators inside the integer part group thousands: all the same. */
		for (size_t i = 0; i + 1 < nint; i++) {
			if (group == 0)
				group = seps[i];
			else if (seps[i] != group) {
				*why = "mixed thousands separators";
				return -1;
			}
		}
		if (nint > 1 && !grouping_ok(glen, nint)) {
			*why = "malformed thousands grouping";
			return -1;
		}
	}
	for (size_t i = 0; i < nint; i++)
		intdigits += glen[i];
	if (intdigits > 12) {
		*why = "too large";
		return -1;
	}
	if (neg)
		num[k++] = '-';
	for (size_t i = 0; i < nint; i++) {
		memcpy(num + k, gstart[i], glen[i]);
		k += glen[i];
	}
	if (ndec) {
		num[k++] = '.';
		memcpy(num + k, gstart[ngroups - 1], ndec);
		k += ndec;
	}
	num[k] = '\0';
	*out = strtod(num, NULL);
	return 1;
}

/* Writes the folded form of s into out[0..outsz) for comparison: trimmed,
 * lower case (ASCII and the Latin-1 letters: ÆØÅ become æøå), '_' and '-'
 * as ' '. Returns its length, or -1 if it does not fit. */
static long fold_into(const char *s, char *out, size_t outsz)
{
	const char *b, *e;
	char *o = out;

	span_trim(s, &b, &e);
	if ((size_t)(e - b) >= outsz)
		return -1;
	for (const char *p = b; p < e; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == 0xC3 && p + 1 < e) {
			/* U+00C0..U+00DE except U+00D7 (x): the capital is 0x20 below
			 * the small letter (Æ C3 86 / æ C3 A6, Ø C3 98 / ø C3 B8,
			 * Å C3 85 / å C3 A5). */
			unsigned char c2 = (unsigned char)p[1];
			if (c2 >= 0x80 && c2 <= 0x9E && c2 != 0x97)
				c2 += 0x20;
			*o++ = (char)c;
			*o++ = (char)c2;
			p++;
			continue;
		}
		if (c == '_' || c == '-')
			c = ' ';
		*o++ = (char)tolower(c);
	}
	*o = '\0';
	return (long)(o - out);
}

/* A folded copy of s (see fold_into). Caller frees. */
static char *fold(const char *s)
{
	size_t n = strlen(s) + 1;
	char *out = ob_xmalloc(n);

	fold_into(s, out, n);
	return out;
}

int ob_csv_streq_fold(const char *a, const char *b)
{
	char *fa = fold(a), *fb = fold(b);
	int eq = strcmp(fa, fb) == 0;
	free(fa);
	free(fb);
	return eq;
}

/* Whether table text t folds to fs (t is one of the short ids and aliases). */
static int folds_to(const char *t, const char *fs)
{
	char buf[128];

	if (fold_into(t, buf, sizeof(buf)) < 0) {
		char *f = fold(t);
		int eq = strcmp(f, fs) == 0;
		free(f);
		return eq;
	}
	return strcmp(buf, fs) == 0;
}

int ob_csv_parse_enum(const char *s, const struct ob_csv_enum *table, size_t n, const char **id)
{
	char buf[128], *fs = buf, *heap = NULL;
	int rc = -1;

	if (s == NULL)
		return 0;
	/* Called for every cell of a file: no allocation for the short values
	 * (a long one cannot match and is folded on the heap). */
	if (fold_into(s, buf, sizeof(buf)) < 0)
		fs = heap = fold(s);
	if (fs[0] == '\0') {
		rc = 0;
		goto out;
	}
	for (size_t i = 0; i < n && rc < 0; i++) {
		if (folds_to(table[i].id, fs))
			rc = 1;
		for (size_t k = 0; k < OB_ARRAY_LEN(table[i].alias) && table[i].alias[k] && rc < 0; k++)
			if (folds_to(table[i].alias[k], fs))
				rc = 1;
		if (rc == 1)
			*id = table[i].id;
	}
out:
	free(heap);
	return rc;
}

char *ob_csv_enum_expected(const struct ob_csv_enum *table, size_t n)
{
	struct ob_buf b;

	ob_buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		ob_buf_printf(&b, "%s%s", i ? ", " : "", table[i].id);
		for (size_t k = 0; k < OB_ARRAY_LEN(table[i].alias) && table[i].alias[k]; k++)
			ob_buf_printf(&b, "%s%s", k ? ", " : " (", table[i].alias[k]);
		if (table[i].alias[0])
			ob_buf_addc(&b, ')');
	}
	return ob_buf_steal(&b);
}
