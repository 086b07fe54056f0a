/* json.c - strict JSON in (see json.h).
 *
 * One pass over the text checks what cJSON lets through, then cJSON builds
 * the tree. The pass keeps, per open object, where its keys start; when the
 * object closes they are sorted, so a body of a million keys costs
 * n log n, not n^2. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

struct key {
	const char *s; /* the key's text as written, or its decoded copy */
	size_t len;
	size_t off; /* where its opening quote is */
	char *owned;
};

struct scan {
	char *t; /* text (written to only with OB_JSON_MARK_NUL) */
	size_t n, i;
	unsigned flags, max_depth;
	struct ob_json_error *e;
	struct key *keys;
	size_t nkeys, capkeys;
};

static void where(const char *t, size_t off, long *line, long *col)
{
	long l = 1, c = 1;
	for (size_t i = 0; i < off; i++) {
		if (t[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)t[i] & 0xC0) != 0x80)
			c++;
	}
	*line = l;
	*col = c;
}

static int failc(struct scan *s, enum ob_json_code code, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int failc(struct scan *s, enum ob_json_code code, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (s->e->what[0])
		return -1;
	s->e->code = code;
	s->e->offset = off;
	where(s->t, off, &s->e->line, &s->e->col);
	va_start(ap, fmt);
	vsnprintf(s->e->what, sizeof(s->e->what), fmt, ap);
	va_end(ap);
	return -1;
}

#define fail(s, off, ...) failc(s, OB_JSON_E_SYNTAX, off, __VA_ARGS__)

static void skip_ws(struct scan *s)
{
	while (s->i < s->n && (s->t[s->i] == ' ' || s->t[s->i] == '\t' || s->t[s->i] == '\n' || s->t[s->i] == '\r'))
		s->i++;
}

static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		char c = p[k];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static void put_utf8(struct ob_buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80)
		u[0] = (char)cp, n = 1;
	else if (cp < 0x800)
		u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	else if (cp < 0x10000)
		u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
		u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	else
		u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
	ob_buf_add(b, u, n);
}

/* A string at s->i (its opening quote). With key, its decoded text is kept
 * for the duplicate check. */
static int string(struct scan *s, struct key *key)
{
	size_t start = s->i, from;
	int escaped = 0;

	s->i++;
	from = s->i;
	for (;;) {
		if (s->i >= s->n)
			return fail(s, start, "string not closed before the end");
		unsigned char c = (unsigned char)s->t[s->i];
		if (c == '"')
			break;
		if (c < 0x20)
			return failc(s, c == 0 ? OB_JSON_E_NUL : OB_JSON_E_CONTROL, s->i, c == 0 ? "NUL byte in a string" : "control character 0x%02X in a string "
							   "(write it as \\u00%02X)", c, c);
		if (c == '\\') {
			escaped = 1;
			if (s->i + 1 >= s->n)
				return fail(s, start, "string not closed before the end");
			char x = s->t[s->i + 1];
			if (x == 'u') {
				unsigned v, lo;
				if (s->i + 6 > s->n || hex4(s->t + s->i + 2, &v) < 0)
					return fail(s, s->i, "\\u needs four hex digits");
				if (v == 0) {
					if (!(s->flags & OB_JSON_MARK_NUL))
						return failc(s, OB_JSON_E_NUL, s->i, "\\u0000 (NUL) in a string");
					memcpy(s->t + s->i, "\xC0\x80\xC0\x80\xC0\x80", 6);
					s->i += 6;
					continue;
				}
				if (v >= 0xDC00 && v <= 0xDFFF)
					return failc(s, OB_JSON_E_SURROGATE, s->i, "\\u%04X: a lone UTF-16 low surrogate", v);
				if (v >= 0xD800 && v <= 0xDBFF) {
					if (s->i + 12 > s->n || s->t[s->i + 6] != '\\' || s->t[s->i + 7] != 'u' ||
					    hex4(s->t + s->i + 8, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
						return failc(s, OB_JSON_E_SURROGATE, s->i, "\\u%04X: a UTF-16 high surrogate without its low half",
							    v);
					s->i += 12;
				} else
					s->i += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", x) || x == 0)
				return fail(s, s->i, "unknown escape \\%c in a string", x >= 0x20 && x < 0x7F ? x : '?');
			s->i += 2;
			continue;
		}
		if (c < 0x80) {
			s->i++;
			continue;
		}
		size_t l = ob_utf8_seq((const unsigned char *)s->t + s->i, s->n - s->i);
		if (l == 0) {
			if (!(s->flags & OB_JSON_LAX_UTF8))
				return failc(s, OB_JSON_E_UTF8, s->i, "byte 0x%02X in a string is not UTF-8", c);
			l = 1;
		}
		s->i += l;
	}
	if (key) {
		key->off = start;
		key->owned = NULL;
		if (!escaped) {
			key->s = s->t + from;
			key->len = s->i - from;
		} else {
			struct ob_buf b;
			ob_buf_init(&b, 0);
			for (size_t k = from; k < s->i;) {
				if (s->t[k] != '\\') {
					ob_buf_addc(&b, s->t[k++]);
					continue;
				}
				char x = s->t[k + 1];
				unsigned v, lo;
				if (x != 'u') {
					static const char from_c[] = "\"\\/bfnrt", to_c[] = "\"\\/\b\f\n\r\t";
					ob_buf_addc(&b, to_c[strchr(from_c, x) - from_c]);
					k += 2;
					continue;
				}
				hex4(s->t + k + 2, &v);
				k += 6;
				if (v >= 0xD800 && v <= 0xDBFF) {
					hex4(s->t + k + 2, &lo);
					v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
					k += 6;
				}
				put_utf8(&b, v);
			}
			key->len = b.len;
			key->owned = ob_buf_steal(&b);
			key->s = key->owned;
		}
	}
	s->i++; /* the closing quote */
	return 0;
}

static int number(struct scan *s)
{
	size_t start = s->i;
	char small[64], *copy = small;
	double d;

	if (s->t[s->i] == '-')
		s->i++;
	if (s->i < s->n && s->t[s->i] == '0')
		s->i++;
	else if (s->i < s->n && s->t[s->i] >= '1' && s->t[s->i] <= '9')
		while (s->i < s->n && s->t[s->i] >= '0' && s->t[s->i] <= '9')
			s->i++;
	else
		return fail(s, start, "expected a value");
	if (s->i < s->n && s->t[s->i] == '.') {
		s->i++;
		if (s->i >= s->n || s->t[s->i] < '0' || s->t[s->i] > '9')
			return fail(s, s->i, "expected a digit after the decimal point");
		while (s->i < s->n && s->t[s->i] >= '0' && s->t[s->i] <= '9')
			s->i++;
	}
	if (s->i < s->n && (s->t[s->i] == 'e' || s->t[s->i] == 'E')) {
		s->i++;
		if (s->i < s->n && (s->t[s->i] == '+' || s->t[s->i] == '-'))
			s->i++;
		if (s->i >= s->n || s->t[s->i] < '0' || s->t[s->i] > '9')
			return fail(s, s->i, "expected a digit in the exponent");
		while (s->i < s->n && s->t[s->i] >= '0' && s->t[s->i] <= '9')
			s->i++;
	}
	size_t len = s->i - start;
	if (len >= sizeof(small))
		copy = ob_xmalloc(len + 1);
	memcpy(copy, s->t + start, len);
	copy[len] = '\0';
	d = strtod(copy, NULL);
	if (copy != small)
		free(copy);
	if (isinf(d))
		return failc(s, OB_JSON_E_RANGE, start, "number %.*s%s is out of range", (int)(len > 24 ? 24 : len), s->t + start,
			    len > 24 ? "..." : "");
	return 0;
}

static int literal(struct scan *s, const char *word)
{
	size_t l = strlen(word);
	if (s->n - s->i < l || memcmp(s->t + s->i, word, l) != 0)
		return fail(s, s->i, "expected a value");
	s->i += l;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	size_t l = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, l);
	if (c == 0)
		c = (x->len > y->len) - (x->len < y->len);
	if (c == 0)
		c = (x->off > y->off) - (x->off < y->off);
	return c;
}

/* The keys of the object just closed, keys[base..]: the first key written
 * twice (in text order) is an error. */
static int check_keys(struct scan *s, size_t base)
{
	size_t k = s->nkeys - base;
	struct key *v = s->keys + base, *dup = NULL, *first = NULL;
	int rc = 0;

	if (k > 1) {
		qsort(v, k, sizeof(*v), cmp_key);
		for (size_t j = 1; j < k; j++)
			if (v[j].len == v[j - 1].len && memcmp(v[j].s, v[j - 1].s, v[j].len) == 0 &&
			    (dup == NULL || v[j].off < dup->off)) {
				dup = &v[j];
				first = &v[j - 1];
				while (first > v && first[-1].len == dup->len && memcmp(first[-1].s, dup->s, dup->len) == 0)
					first--;
			}
	}
	if (dup) {
		char name[200];
		long l, c;
		ob_json_quote_for_message(dup->s, dup->len, 60, name, sizeof(name));
		where(s->t, first->off, &l, &c);
		if (!s->e->what[0])
			s->e->first_offset = first->off;
		rc = failc(s, OB_JSON_E_DUPLICATE, dup->off, "duplicate key \"%s\" (first at line %ld, column %ld)", name, l, c);
	}
	for (size_t j = base; j < s->nkeys; j++)
		free(s->keys[j].owned);
	s->nkeys = base;
	return rc;
}

static int value(struct scan *s, unsigned depth)
{
	skip_ws(s);
	if (s->i >= s->n)
		return fail(s, s->i, "unexpected end, expected a value");
	char c = s->t[s->i];
	if (c == '{' || c == '[') {
		size_t open = s->i, base = s->nkeys;
		char close = c == '{' ? '}' : ']';
		if (depth >= s->max_depth)
			return failc(s, OB_JSON_E_DEPTH, s->i, "nested deeper than %u levels", s->max_depth);
		s->i++;
		skip_ws(s);
		if (s->i < s->n && s->t[s->i] == close) {
			s->i++;
			return 0;
		}
		for (;;) {
			if (c == '{') {
				skip_ws(s);
				if (s->i >= s->n || s->t[s->i] != '"') {
					check_keys(s, base);
					return fail(s, s->i, s->i >= s->n ? "unexpected end, expected a key"
									  : "expected a key in double quotes");
				}
				if (s->nkeys == s->capkeys) {
					s->capkeys = s->capkeys ? 2 * s->capkeys : 64;
					s->keys = ob_xrealloc(s->keys, s->capkeys * sizeof(*s->keys));
				}
				if (string(s, &s->keys[s->nkeys]) < 0) {
					check_keys(s, base);
					return -1;
				}
				s->nkeys++;
				skip_ws(s);
				if (s->i >= s->n || s->t[s->i] != ':') {
					check_keys(s, base);
					return fail(s, s->i, "expected ':' after the key");
				}
				s->i++;
			}
			if (value(s, depth + 1) < 0) {
				if (c == '{')
					check_keys(s, base);
				return -1;
			}
			skip_ws(s);
			if (s->i < s->n && s->t[s->i] == ',') {
				s->i++;
				continue;
			}
			if (s->i < s->n && s->t[s->i] == close) {
				s->i++;
				break;
			}
			if (c == '{')
				check_keys(s, base);
			if (s->i >= s->n)
				return fail(s, open, "%s not closed before the end", c == '{' ? "object" : "array");
			return fail(s, s->i, "expected ',' or '%c'", close);
		}
		return c == '{' ? check_keys(s, base) : 0;
	}
	if (c == '"')
		return string(s, NULL);
	if (c == '-' || (c >= '0' && c <= '9'))
		return number(s);
	if (c == 't')
		return literal(s, "true");
	if (c == 'f')
		return literal(s, "false");
	if (c == 'n')
		return literal(s, "null");
	return fail(s, s->i, "expected a value");
}

cJSON *ob_json_parse(char *text, size_t len, unsigned flags, unsigned max_depth, struct ob_json_error *e)
{
	struct scan s = {.t = text, .n = len, .flags = flags, .max_depth = max_depth ? max_depth : OB_JSON_MAX_DEPTH,
			 .e = e};
	cJSON *root;
	size_t from = 0;
	const char *end = NULL;

	memset(e, 0, sizeof(*e));
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		s.i = from = 3;
	if (value(&s, 0) < 0)
		goto bad;
	skip_ws(&s);
	if (s.i < s.n) {
		failc(&s, OB_JSON_E_TRAILING, s.i, "data after the JSON value");
		goto bad;
	}
	free(s.keys);
	root = cJSON_ParseWithLengthOpts(text + from, len - from, &end, 0);
	if (root == NULL) /* not expected after the pass above */
		fail(&s, end && end >= text ? (size_t)(end - text) : len, "syntax error");
	return root;
bad:
	free(s.keys);
	return NULL;
}

int ob_json_has_nul(const char *s)
{
	return s != NULL && strstr(s, "\xC0\x80") != NULL;
}

void ob_json_quote_for_message(const char *s, size_t slen, size_t max, char *out, size_t outsz)
{
	size_t o = 0, chars = 0, i = 0;

	if (outsz == 0)
		return;
	while (i < slen) {
		unsigned char c = (unsigned char)s[i];
		char tmp[8];
		size_t tl, l = 1;
		if (chars == max) {
			if (o + 4 <= outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (c == '"' || c == '\\')
			tmp[0] = '\\', tmp[1] = (char)c, tl = 2;
		else if (c < 0x20 || c == 0x7F)
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02X", c);
		else if (c < 0x80)
			tmp[0] = (char)c, tl = 1;
		else if ((l = ob_utf8_seq((const unsigned char *)s + i, slen - i)) == 0)
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02X", c), l = 1;
		else
			memcpy(tmp, s + i, l), tl = l;
		if (o + tl + 1 > outsz)
			break;
		memcpy(out + o, tmp, tl);
		o += tl;
		i += l;
		chars++;
	}
	out[o] = '\0';
}
