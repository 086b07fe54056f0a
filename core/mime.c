/* mime.c - the message builder: headers with RFC 2047 encoded words and
 * folding, quoted-printable text parts, base64 attachments with RFC 2231
 * file names, and boundaries that cannot occur in the content. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mime.h"

/* Header lines are folded at 76 columns: RFC 2047 caps lines that hold
 * encoded words at 76, RFC 5322 asks for 78, so 76 serves both. */
#define HDR_FOLD 76
#define EW_MAX 75      /* an encoded word, "=?UTF-8?Q?...?=", at most (RFC 2047) */
#define EW_OVERHEAD 12 /* "=?UTF-8?Q?" + "?=" */
#define EW_MIN 24      /* overhead + the widest character in Q (4 bytes, 12 chars) */
#define ASCII_WORD_MAX 66 /* a longer plain word could not be folded under HDR_FOLD */
#define NAME_QUOTED_MAX 60
#define FILENAME_MAX_ASCII 60
#define QP_LINE 76  /* quoted-printable lines, the soft-break '=' included */
#define B64_IN 57   /* 57 bytes make one 76-character base64 line */
#define ADDR_MAX 254
#define MSGID_MAX 250

static const char hexdig[] = "0123456789ABCDEF";
static const char b64dig[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---- small character helpers ---- */

static int is_alnum(unsigned c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 5322 atext. */
static int is_atext(unsigned c)
{
	return is_alnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", (int)c) != NULL);
}

/* RFC 2045 token characters (tspecials and controls excluded). */
static int is_token(unsigned c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", (int)c) == NULL;
}

/* RFC 2231 attribute-char, what a percent-encoded value may show as is. */
static int is_attr_char(unsigned c)
{
	return is_alnum(c) || (c != 0 && strchr("!#$&+-.^_`|~", (int)c) != NULL);
}

/* Q encoding (RFC 2047 5(3)): the set that is safe in a phrase as well as
 * in unstructured text; everything else is =XX, a space is '_'. */
static int is_q_literal(unsigned c)
{
	return is_alnum(c) || c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
			       (p[3] & 0xc0) == 0x80
			   ? 4
			   : 0;
	}
	return 0;
}

/* Length of the character at p in text already cleaned (valid UTF-8). */
static size_t char_len(unsigned c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* A copy of s fit for a header: invalid UTF-8 becomes U+FFFD, each run of
 * control characters (C0, DEL, C1, U+2028/2029: CR and LF among them)
 * becomes one space, and white space at both ends goes. Caller frees. */
static char *clean_text(const char *s, size_t *lenp)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), i = 0, j = 0, a = 0;
	char *o = ob_xmalloc(n * 3 + 1);
	int ctl = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t l = utf8_len(p + i, n - i);
		int is_ctl = c < 0x20 || c == 0x7f || (l == 2 && c == 0xc2 && p[i + 1] < 0xa0) ||
			     (l == 3 && c == 0xe2 && p[i + 1] == 0x80 &&
			      (p[i + 2] == 0xa8 || p[i + 2] == 0xa9));
		if (is_ctl) {
			if (!ctl)
				o[j++] = ' ';
			ctl = 1;
			i += l ? l : 1;
			continue;
		}
		ctl = 0;
		if (l == 0) {
			memcpy(o + j, "\xef\xbf\xbd", 3);
			j += 3;
			i++;
			continue;
		}
		memcpy(o + j, p + i, l);
		j += l;
		i += l;
	}
	while (j > 0 && o[j - 1] == ' ')
		j--;
	while (a < j && o[a] == ' ')
		a++;
	memmove(o, o + a, j - a);
	j -= a;
	o[j] = '\0';
	*lenp = j;
	return o;
}

/* Shows a caller's value in an error sentence: at most 64 characters,
 * anything unprintable as \xNN, so the log stays one line. */
static const char *show(const char *s, char *buf, size_t size)
{
	size_t j = 0;
	if (s == NULL)
		return "(null)";
	for (size_t i = 0; s[i] && j + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i == 64) {
			memcpy(buf + j, "...", 3);
			j += 3;
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"')
			j += (size_t)snprintf(buf + j, size - j, "\\x%02x", c);
		else
			buf[j++] = (char)c;
	}
	buf[j] = '\0';
	return buf;
}

/* ---- checks ---- */

int ob_mime_addr_valid(const char *email)
{
	const char *at, *p;
	size_t n;

	if (email == NULL)
		return 0;
	n = strlen(email);
	at = strchr(email, '@');
	if (n > ADDR_MAX || at == NULL || at == email || (size_t)(at - email) > 64 || at[1] == '\0')
		return 0;
	/* Local part: a dot-atom. */
	if (email[0] == '.' || at[-1] == '.')
		return 0;
	for (p = email; p < at; p++) {
		if (*p == '.') {
			if (p[1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)*p)) {
			return 0;
		}
	}
	/* Domain: labels of letters, digits and '-', not starting or ending in '-'. */
	for (p = at + 1;;) {
		const char *label = p;
		while (is_alnum((unsigned char)*p) || *p == '-')
			p++;
		if (p == label || *label == '-' || p[-1] == '-' || p - label > 63)
			return 0;
		if (*p == '\0')
			return 1;
		if (*p != '.')
			return 0; /* a second '@', a space, CR, LF, '>', ... */
		p++;
	}
}

/* The message id without its brackets, id-left "@" id-right, both dot-atom
 * text; 1 if fine. */
static int msgid_valid(const char *s, size_t n)
{
	size_t at = n, i;

	if (n == 0 || n > MSGID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '@') {
			if (at != n)
				return 0;
			at = i;
		} else if (c != '.' && !is_atext(c)) {
			return 0;
		}
	}
	return at > 0 && at + 1 < n;
}

static int content_type_valid(const char *s)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	if (slash == NULL || slash == s || slash[1] == '\0' || strlen(s) > 100)
		return 0;
	for (const char *p = s; *p; p++)
		if (p != slash && !is_token((unsigned char)*p))
			return 0;
	return 1;
}

/* ---- header writer: tokens separated by spaces, folded at HDR_FOLD ---- */

struct hdr {
	struct ob_buf *b;
	size_t col;
	int ntok; /* tokens on this header so far */
	int bare; /* ob_mime_encode_word: no space before the first token */
	int rc;   /* -1 once the buffer refused (size cap) */
};

static void hdr_put(struct hdr *h, const char *s, size_t n)
{
	if (h->rc == 0 && ob_buf_add(h->b, s, n) < 0)
		h->rc = -1;
}

static void hdr_begin(struct hdr *h, const char *name)
{
	h->ntok = 0;
	h->bare = 0;
	h->col = strlen(name) + 1;
	hdr_put(h, name, h->col - 1);
	hdr_put(h, ":", 1);
}

static void hdr_end(struct hdr *h)
{
	hdr_put(h, "\r\n", 2);
}

/* Room for the next token on this line, after its separating space. */
static size_t hdr_room(const struct hdr *h)
{
	size_t used = h->col + ((h->ntok > 0 || !h->bare) ? 1 : 0);
	return used >= HDR_FOLD ? 0 : HDR_FOLD - used;
}

/* Adds a token; folds before it when it does not fit and something is on
 * the line already. An empty token never folds (a folded line must not be
 * white space only), it just keeps a second space. */
static void hdr_token(struct hdr *h, const char *s, size_t n)
{
	if (h->ntok > 0 && n > 0 && n > hdr_room(h)) {
		hdr_put(h, "\r\n", 2);
		h->col = 0;
	}
	if (h->ntok > 0 || !h->bare) {
		hdr_put(h, " ", 1);
		h->col++;
	}
	hdr_put(h, s, n);
	h->col += n;
	h->ntok++;
}

static void hdr_tokens(struct hdr *h, const char *s, size_t n)
{
	size_t i = 0;
	for (;;) {
		const char *sp = memchr(s + i, ' ', n - i);
		size_t e = sp ? (size_t)(sp - s) : n;
		hdr_token(h, s + i, e - i);
		if (sp == NULL)
			break;
		i = e + 1;
	}
}

static size_t q_cost(unsigned c)
{
	return (is_q_literal(c) || c == ' ') ? 1 : 3;
}

/* The payload length of s[from..to) as one encoded word's text. */
static size_t ew_cost(const unsigned char *p, size_t from, size_t to, int q)
{
	size_t c = 0;
	if (!q)
		return (to - from + 2) / 3 * 4;
	for (size_t i = from; i < to; i++)
		c += q_cost(p[i]);
	return c;
}

/* Q costs less than B for text that is mostly ASCII letters (Danish). */
static int ew_use_q(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	return ew_cost(p, 0, n, 1) <= ew_cost(p, 0, n, 0);
}

/* Where one encoded word starting at p[start] with at most room payload
 * characters ends: on a character boundary, and, when the text goes on,
 * before a space if the word holds one, so the space opens the next word.
 * A decoder drops the white space between encoded words (RFC 2047 6.2);
 * some (Python's address parser, a few MUAs) keep it, and then split
 * words at spaces cost them a doubled space rather than a broken word. */
static size_t ew_span(const unsigned char *p, size_t n, size_t start, int q, size_t room)
{
	size_t i = start, used = 0, brk = 0;

	if (!q)
		room = room / 4 * 3; /* bytes that fit as base64 */
	while (i < n) {
		size_t l = char_len(p[i]), cost = q ? ew_cost(p, i, i + l, 1) : l;
		if (used + cost > room)
			break;
		if (p[i] == ' ' && i > start)
			brk = i;
		used += cost;
		i += l;
	}
	if (i < n && p[i] != ' ' && brk > start)
		i = brk;
	return i;
}

/* Writes into w the encoded word for p[from..to); returns its length. */
static size_t ew_make(const unsigned char *p, size_t from, size_t to, int q, char *w)
{
	size_t j = 10;

	memcpy(w, q ? "=?UTF-8?Q?" : "=?UTF-8?B?", 10);
	for (size_t k = from; k < to; k += q ? 1 : 3) {
		unsigned c = p[k];
		if (q && c == ' ') {
			w[j++] = '_';
		} else if (q && is_q_literal(c)) {
			w[j++] = (char)c;
		} else if (q) {
			w[j++] = '=';
			w[j++] = hexdig[c >> 4];
			w[j++] = hexdig[c & 15];
		} else {
			size_t left = to - k;
			unsigned v = c << 16 | (left > 1 ? (unsigned)p[k + 1] << 8 : 0) | (left > 2 ? p[k + 2] : 0);
			w[j++] = b64dig[(v >> 18) & 63];
			w[j++] = b64dig[(v >> 12) & 63];
			w[j++] = left > 1 ? b64dig[(v >> 6) & 63] : '=';
			w[j++] = left > 2 ? b64dig[v & 63] : '=';
		}
	}
	w[j++] = '?';
	w[j++] = '=';
	return j;
}

/* Adds s (clean) as encoded words: one word when it fits in one (folding
 * first if need be), else words that fill the line each starts on. */
static void hdr_encoded(struct hdr *h, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	int q = ew_use_q(s, n);
	size_t pos = 0;
	char w[EW_MAX + 1];

	while (pos < n) {
		size_t room = hdr_room(h), rest = EW_OVERHEAD + ew_cost(p, pos, n, q), end;
		if (h->ntok > 0 && (room < EW_MIN || (rest <= EW_MAX && rest > room))) {
			hdr_put(h, "\r\n", 2);
			h->col = 0;
			room = hdr_room(h);
		}
		if (room > EW_MAX)
			room = EW_MAX;
		if (room < EW_MIN)
			room = EW_MIN; /* only after a very long header name */
		end = ew_span(p, n, pos, q, room - EW_OVERHEAD);
		hdr_token(h, w, ew_make(p, pos, end, q, w));
		pos = end;
	}
}

/* Printable ASCII in words short enough to fold, with nothing a decoder
 * could take for an encoded word. */
static int plain_ascii(const char *s, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || (c == '=' && i + 1 < n && s[i + 1] == '?'))
			return 0;
		w = c == ' ' ? 0 : w + 1;
		if (w > ASCII_WORD_MAX)
			return 0;
	}
	return 1;
}

/* Unstructured text (the subject). */
static void hdr_text(struct hdr *h, const char *utf8)
{
	size_t n;
	char *s = clean_text(utf8, &n);

	if (n == 0)
		; /* nothing: "Subject:" alone */
	else if (plain_ascii(s, n))
		hdr_tokens(h, s, n);
	else
		hdr_encoded(h, s, n);
	free(s);
}

/* A display name: atoms as they are, other ASCII as a quoted string,
 * anything else (or long) as encoded words. */
static void hdr_name(struct hdr *h, const char *name)
{
	size_t n, i;
	char *s = clean_text(name, &n);
	int atoms = 1;

	if (n == 0)
		goto out;
	if (!plain_ascii(s, n)) {
		hdr_encoded(h, s, n);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (s[i] != ' ' && !is_atext((unsigned char)s[i]))
			atoms = 0;
	if (atoms) {
		hdr_tokens(h, s, n);
	} else if (n > NAME_QUOTED_MAX) {
		hdr_encoded(h, s, n); /* a quoted string cannot be folded safely */
	} else {
		char q[2 * NAME_QUOTED_MAX + 3];
		size_t j = 0;
		q[j++] = '"';
		for (i = 0; i < n; i++) {
			if (s[i] == '"' || s[i] == '\\')
				q[j++] = '\\';
			q[j++] = s[i];
		}
		q[j++] = '"';
		hdr_token(h, q, j);
	}
out:
	free(s);
}

/* An address list; each mailbox is "name <addr>" or, without a name (or
 * with one that cleans to nothing), the bare addr-spec. Addresses are
 * checked before. */
static void hdr_addrlist(struct hdr *h, const char *name, const struct ob_mime_addr *a, size_t n)
{
	hdr_begin(h, name);
	for (size_t i = 0; i < n; i++) {
		char tok[ADDR_MAX + 4];
		int before = h->ntok, k;
		if (a[i].name != NULL)
			hdr_name(h, a[i].name);
		k = snprintf(tok, sizeof(tok), h->ntok > before ? "<%s>%s" : "%s%s", a[i].email,
			     i + 1 == n ? "" : ",");
		hdr_token(h, tok, (size_t)k);
	}
	hdr_end(h);
}

static void hdr_fixed(struct hdr *h, const char *line)
{
	hdr_put(h, line, strlen(line));
	hdr_put(h, "\r\n", 2);
}

int ob_mime_encode_word(const char *utf8, struct ob_buf *out)
{
	struct hdr h = {.b = out, .col = 0, .ntok = 0, .bare = 1, .rc = 0};
	hdr_text(&h, utf8);
	return h.rc;
}

/* ---- bodies ---- */

/* Quoted-printable (RFC 2045 6.7) of UTF-8 text: LF, CRLF and lone CR end
 * lines as CRLF; '=', controls and non-ASCII are =XX (a character's bytes
 * kept on one line); a space or tab before a line end is =20/=09; a line
 * starting with "From " or "." gets its first character encoded (mbox and
 * SMTP transports mangle those); soft breaks keep lines at 76 characters.
 * The last line gets no CRLF: the caller ends the part. */
static int qp_encode(const char *text, struct ob_buf *out)
{
	const unsigned char *p = (const unsigned char *)(text ? text : "");
	size_t n = strlen((const char *)p), i = 0, col = 0;
	char line[QP_LINE + 16];

	while (i < n) {
		unsigned c = p[i];
		char tok[12];
		size_t tl = 0, clen = 1, next;
		int eol_next;

		if (c == '\r' || c == '\n') {
			line[col++] = '\r';
			line[col++] = '\n';
			if (ob_buf_add(out, line, col) < 0)
				return -1;
			col = 0;
			i += (c == '\r' && i + 1 < n && p[i + 1] == '\n') ? 2 : 1;
			continue;
		}
		if (c >= 0x80) {
			clen = utf8_len(p + i, n - i);
			if (clen == 0)
				clen = 1;
		}
		next = i + clen;
		eol_next = next >= n || p[next] == '\r' || p[next] == '\n';
		for (int pass = 0; pass < 2; pass++) {
			tl = 0;
			for (size_t k = 0; k < clen; k++) {
				unsigned b = p[i + k];
				int lit = b >= 33 && b <= 126 && b != '=';
				if ((b == ' ' || b == '\t') && !eol_next)
					lit = 1;
				if (col == 0 && b == '.')
					lit = 0;
				if (col == 0 && b == 'F' && n - i >= 5 && memcmp(p + i, "From ", 5) == 0)
					lit = 0;
				if (lit) {
					tok[tl++] = (char)b;
				} else {
					tok[tl++] = '=';
					tok[tl++] = hexdig[b >> 4];
					tok[tl++] = hexdig[b & 15];
				}
			}
			/* 75 characters and a soft-break '=', or 76 when the line
			 * ends right after this character. */
			if (col + tl <= QP_LINE - 1 || (eol_next && col + tl <= QP_LINE))
				break;
			line[col++] = '=';
			line[col++] = '\r';
			line[col++] = '\n';
			if (ob_buf_add(out, line, col) < 0)
				return -1;
			col = 0; /* and encode again: the line-start rules may apply */
		}
		memcpy(line + col, tok, tl);
		col += tl;
		i = next;
	}
	return ob_buf_add(out, line, col);
}

/* Base64 digit pairs for 12 bits, so a 3-byte group takes two look-ups
 * (attachments are most of a message's bytes). Built by the preprocessor. */
#define B64C(x)                                                                          \
	((char)((x) < 26 ? 'A' + (x) : (x) < 52 ? 'a' + (x)-26 : (x) < 62 ? '0' + (x)-52 : (x) == 62 ? '+' : '/'))
#define B64_PAIR(a, b) {B64C(a), B64C(b)},
#define B64_R8(m, a, o) m(a, o) m(a, o + 1) m(a, o + 2) m(a, o + 3) m(a, o + 4) m(a, o + 5) m(a, o + 6) m(a, o + 7)
#define B64_ROW(a)                                                                       \
	B64_R8(B64_PAIR, a, 0) B64_R8(B64_PAIR, a, 8) B64_R8(B64_PAIR, a, 16) B64_R8(B64_PAIR, a, 24) \
	B64_R8(B64_PAIR, a, 32) B64_R8(B64_PAIR, a, 40) B64_R8(B64_PAIR, a, 48) B64_R8(B64_PAIR, a, 56)
#define B64_ROWS8(o)                                                                     \
	B64_ROW(o) B64_ROW(o + 1) B64_ROW(o + 2) B64_ROW(o + 3) B64_ROW(o + 4) B64_ROW(o + 5) B64_ROW(o + 6) B64_ROW(o + 7)
static const char b64pair[4096][2] = {B64_ROWS8(0) B64_ROWS8(8) B64_ROWS8(16) B64_ROWS8(24)
					  B64_ROWS8(32) B64_ROWS8(40) B64_ROWS8(48) B64_ROWS8(56)};

/* Base64 in 76-character lines joined by CRLF, no CRLF after the last. */
static int b64_encode(const unsigned char *p, size_t n, struct ob_buf *out)
{
	char chunk[64 * 78];
	size_t cl = 0, i = 0;

	while (i < n) {
		size_t take = n - i < B64_IN ? n - i : B64_IN, full = take / 3 * 3;
		const unsigned char *s = p + i, *e = s + full;
		char *o;

		if (i > 0) {
			chunk[cl++] = '\r';
			chunk[cl++] = '\n';
		}
		for (o = chunk + cl; s < e; s += 3, o += 4) {
			unsigned v = (unsigned)s[0] << 16 | (unsigned)s[1] << 8 | s[2];
			memcpy(o, b64pair[v >> 12], 2);
			memcpy(o + 2, b64pair[v & 0xfff], 2);
		}
		cl = (size_t)(o - chunk);
		if (take - full) {
			unsigned v = (unsigned)s[0] << 16;
			if (take - full == 2)
				v |= (unsigned)s[1] << 8;
			chunk[cl++] = b64dig[v >> 18];
			chunk[cl++] = b64dig[(v >> 12) & 63];
			chunk[cl++] = take - full == 2 ? b64dig[(v >> 6) & 63] : '=';
			chunk[cl++] = '=';
		}
		i += take;
		if (cl > sizeof(chunk) - 80) {
			if (ob_buf_add(out, chunk, cl) < 0)
				return -1;
			cl = 0;
		}
	}
	return ob_buf_add(out, chunk, cl);
}

/* ---- attachment file names ---- */

/* ASCII for U+00C0..U+00FF, Danish style (å = aa); NULL = use '_'. */
static const char *const latin1_ascii[64] = {
	"A",  "A", "A", "A", "Ae", "Aa", "Ae", "C", "E", "E", "E", "E", "I", "I", "I",  "I",
	"D",  "N", "O", "O", "O",  "O",  "Oe", "x", "Oe", "U", "U", "U", "Ue", "Y", "Th", "ss",
	"a",  "a", "a", "a", "ae", "aa", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
	"d",  "n", "o", "o", "o",  "o",  "oe", NULL, "oe", "u", "u", "u", "ue", "y", "th", "y",
};

/* The ASCII file name for name="..." (and filename="..." when it is the
 * name): transliterated, with quotes, backslashes, path and
 * Windows-hostile characters as '_', no leading dot, at most FILENAME_MAX_ASCII characters with the extension kept. */
static void filename_ascii(const char *s, size_t n, char *o, size_t osize)
{
	struct ob_buf b;
	size_t i = 0;

	ob_buf_init(&b, 0);
	while (i < n) {
		unsigned c = (unsigned char)s[i];
		size_t l = char_len(c);
		if (c < 0x80) {
			ob_buf_addc(&b, (c < 0x20 || strchr("\"\\/:*?<>|", (int)c) || (b.len == 0 && c == '.'))
					    ? '_'
					    : (char)c);
		} else {
			const char *t = NULL;
			if (l == 2 && c == 0xc3)
				t = latin1_ascii[(unsigned char)s[i + 1] & 0x3f]; /* U+00C0 + low bits */
			ob_buf_adds(&b, t ? t : "_");
		}
		i += l;
	}
	if (b.len >= osize || b.len > FILENAME_MAX_ASCII) {
		const char *dot = strrchr(b.data, '.');
		size_t ext = dot ? strlen(dot) : 0;
		if (ext > 10)
			ext = 0;
		size_t keep = FILENAME_MAX_ASCII - ext;
		memmove(b.data + keep, b.data + b.len - ext, ext);
		b.len = keep + ext;
		b.data[b.len] = '\0';
	}
	memcpy(o, b.data ? b.data : "", b.len + 1);
	ob_buf_free(&b);
}

/* Content-Disposition: attachment; filename="name" when the name is
 * plain ASCII; otherwise filename*=UTF-8''%XX... (RFC 2231), split into
 * filename*0*=, filename*1*=, ... on character boundaries when long. The
 * ASCII fallback is not repeated here as filename="...": a parameter given
 * twice is a defect to Python's email package (it then keeps the fallback),
 * so the fallback lives in Content-Type's name= only, where MUAs without
 * RFC 2231 look. */
static void hdr_disposition(struct hdr *h, const char *name, size_t n, const char *ascii)
{
	char tok[FILENAME_MAX_ASCII + 16];
	const unsigned char *p = (const unsigned char *)name;
	size_t i = 0, total = 0;
	int seg = 0;

	hdr_begin(h, "Content-Disposition");
	if (strlen(ascii) == n && memcmp(ascii, name, n) == 0) {
		hdr_token(h, "attachment;", 11);
		snprintf(tok, sizeof(tok), "filename=\"%s\"", ascii);
		hdr_token(h, tok, strlen(tok));
		goto out;
	}
	hdr_token(h, "attachment;", 11);
	for (i = 0; i < n; i++)
		total += is_attr_char(p[i]) ? 1 : 3;
	if (17 + total <= HDR_FOLD - 1) { /* "filename*=UTF-8''" + value fits a line */
		char w[HDR_FOLD + 1];
		size_t j = (size_t)snprintf(w, sizeof(w), "filename*=UTF-8''");
		for (i = 0; i < n; i++) {
			if (is_attr_char(p[i])) {
				w[j++] = (char)p[i];
			} else {
				w[j++] = '%';
				w[j++] = hexdig[p[i] >> 4];
				w[j++] = hexdig[p[i] & 15];
			}
		}
		hdr_token(h, w, j);
		goto out;
	}
	for (i = 0; i < n; seg++) {
		char w[HDR_FOLD + 1];
		size_t j = (size_t)snprintf(w, sizeof(w), seg == 0 ? "filename*%d*=UTF-8''" : "filename*%d*=",
					    seg);
		/* ";" ends all but the last; the line holds " " + token. */
		while (i < n) {
			size_t l = char_len(p[i]), cost = 0;
			for (size_t k = 0; k < l; k++)
				cost += is_attr_char(p[i + k]) ? 1 : 3;
			if (j + cost + 1 > HDR_FOLD - 1)
				break;
			for (size_t k = 0; k < l; k++) {
				unsigned c = p[i + k];
				if (is_attr_char(c)) {
					w[j++] = (char)c;
				} else {
					w[j++] = '%';
					w[j++] = hexdig[c >> 4];
					w[j++] = hexdig[c & 15];
				}
			}
			i += l;
		}
		if (i < n)
			w[j++] = ';';
		hdr_token(h, w, j);
	}
out:
	hdr_end(h);
}

/* ---- the message ---- */

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t x = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		x = (x ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return x;
}

static int found_in(const struct ob_buf *b, const char *needle)
{
	return b->len > 0 && memmem(b->data, b->len, needle, strlen(needle)) != NULL;
}

/* "=_ob_<hash of the message id>_<counter>": deterministic; "=_" never
 * occurs in quoted-printable ('=' is followed by hex or CRLF there) nor in
 * base64, so only the part headers could hold it, and they are checked
 * (with the text parts, to be sure). The fixed-width counter keeps one
 * boundary from being a prefix of another. Returns the next counter, or
 * -1 if none of 10000 is free. */
static int pick_boundary(uint64_t seed, int from, const struct ob_buf *const *scan, size_t nscan,
			 char b[40])
{
	for (int c = from; c < 10000; c++) {
		char delim[48];
		size_t k;
		snprintf(b, 40, "=_ob_%016llx_%04d", (unsigned long long)seed, c);
		snprintf(delim, sizeof(delim), "--%s", b);
		for (k = 0; k < nscan; k++)
			if (found_in(scan[k], delim))
				break;
		if (k == nscan)
			return c + 1;
	}
	return -1;
}

static const char text_part_headers[] = "Content-Type: text/plain; charset=UTF-8\r\n"
					"Content-Transfer-Encoding: quoted-printable\r\n";
static const char html_part_headers[] = "Content-Type: text/html; charset=UTF-8\r\n"
					"Content-Transfer-Encoding: quoted-printable\r\n";

static int format_date(time_t t, char *buf, size_t size)
{
	static const char wday[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	long off;

	if (localtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11)
		return -1;
	off = tm.tm_gmtoff / 60;
	snprintf(buf, size, "%s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld", wday[tm.tm_wday],
		 tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
	return 0;
}

static int check_addr(const struct ob_mime_addr *a, const char *what, struct ob_err *err)
{
	char shown[300];
	if (ob_mime_addr_valid(a->email))
		return 0;
	ob_err_set(err, "mime: %s: \"%s\" is not an e-mail address", what,
		   show(a->email, shown, sizeof(shown)));
	return -1;
}

static int check_message(const struct ob_mime_message *m, struct ob_err *err)
{
	char what[32], shown[300];

	if (check_addr(&m->from, "From", err) < 0)
		return -1;
	if (m->nto == 0 || m->to == NULL) {
		ob_err_set(err, "mime: no To recipient");
		return -1;
	}
	for (size_t i = 0; i < m->nto; i++) {
		snprintf(what, sizeof(what), "To[%zu]", i);
		if (check_addr(&m->to[i], what, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < m->ncc && m->cc; i++) {
		snprintf(what, sizeof(what), "Cc[%zu]", i);
		if (check_addr(&m->cc[i], what, err) < 0)
			return -1;
	}
	if (m->reply_to && check_addr(m->reply_to, "Reply-To", err) < 0)
		return -1;
	if (m->natt > 0 && m->att == NULL) {
		ob_err_set(err, "mime: %zu attachments and no array", m->natt);
		return -1;
	}
	for (size_t i = 0; i < m->natt; i++) {
		const char *ct = m->att[i].content_type;
		if (ct != NULL && !content_type_valid(ct)) {
			ob_err_set(err, "mime: attachment %zu: \"%s\" is not a content type (type/subtype)",
				   i, show(ct, shown, sizeof(shown)));
			return -1;
		}
		if (m->att[i].data == NULL && m->att[i].len > 0) {
			ob_err_set(err, "mime: attachment %zu: no data", i);
			return -1;
		}
	}
	return 0;
}

/* The message id without its angle brackets (*id, *idlen) and the Date
 * header's value; -1 with err when either cannot be had. */
static int id_and_date(const struct ob_mime_message *m, const char **id, size_t *idlen, char *date, size_t datesz,
		       struct ob_err *err)
{
	char shown[300];

	*id = m->message_id;
	*idlen = *id ? strlen(*id) : 0;
	if (*idlen >= 2 && (*id)[0] == '<' && (*id)[*idlen - 1] == '>') {
		(*id)++;
		*idlen -= 2;
	}
	if (*id == NULL || !msgid_valid(*id, *idlen)) {
		ob_err_set(err, "mime: message id \"%s\" is not <left@right>",
			   show(m->message_id, shown, sizeof(shown)));
		return -1;
	}
	if (format_date(m->date ? m->date : time(NULL), date, datesz) < 0) {
		ob_err_set(err, "mime: message <%.*s>: cannot format the date", (int)*idlen, *id);
		return -1;
	}
	return 0;
}

/* One attachment's part headers, appended to ahdr; -1 past its cap. */
static int attachment_headers(const struct ob_mime_attachment *a, struct ob_buf *ahdr)
{
	struct hdr ah = {.b = ahdr};
	size_t fn;
	char *fname = clean_text(a->filename, &fn);
	const char *ctype = a->content_type ? a->content_type : "application/octet-stream";
	char ascii[FILENAME_MAX_ASCII + 16], tok[128];

	/* A name, not a path: no separators, no hidden file. */
	for (size_t k = 0; k < fn; k++)
		if (fname[k] == '/' || fname[k] == '\\')
			fname[k] = '_';
	if (fn > 0 && fname[0] == '.')
		fname[0] = '_';
	filename_ascii(fname, fn, ascii, sizeof(ascii));
	hdr_begin(&ah, "Content-Type");
	if (fn == 0) {
		hdr_token(&ah, ctype, strlen(ctype));
	} else {
		snprintf(tok, sizeof(tok), "%s;", ctype);
		hdr_token(&ah, tok, strlen(tok));
		snprintf(tok, sizeof(tok), "name=\"%s\"", ascii);
		hdr_token(&ah, tok, strlen(tok));
	}
	hdr_end(&ah);
	hdr_fixed(&ah, "Content-Transfer-Encoding: base64");
	if (fn == 0)
		hdr_fixed(&ah, "Content-Disposition: attachment");
	else
		hdr_disposition(&ah, fname, fn, ascii);
	free(fname);
	return ah.rc;
}

/* The encoded parts, made before the headers: the boundaries must avoid them. */
struct parts {
	struct ob_buf text, html;
	struct ob_buf ahdr; /* the attachments' part headers, one after another */
	size_t *aoff;       /* where attachment i's begin in ahdr; [natt]: the end */
	char bmix[40], balt[40];
};

/* Encodes the text parts and the attachments' headers; -1 past the cap. */
static int parts_encode(const struct ob_mime_message *m, struct parts *p)
{
	if (qp_encode(m->text, &p->text) < 0 || (m->html && qp_encode(m->html, &p->html) < 0))
		return -1;
	p->aoff = ob_xcalloc(m->natt + 1, sizeof(*p->aoff));
	for (size_t i = 0; i < m->natt; i++) {
		p->aoff[i] = p->ahdr.len;
		if (attachment_headers(&m->att[i], &p->ahdr) < 0)
			return -1;
	}
	p->aoff[m->natt] = p->ahdr.len;
	return 0;
}

/* The message's headers, up to the body's Content-Type; -1 past the cap. */
static int message_headers(const struct ob_mime_message *m, struct ob_buf *out, const char *date, const char *id,
			   size_t idlen)
{
	struct hdr h = {.b = out};
	char tok[MSGID_MAX + 3];

	hdr_begin(&h, "Date");
	hdr_token(&h, date, strlen(date));
	hdr_end(&h);
	hdr_begin(&h, "Message-ID");
	snprintf(tok, sizeof(tok), "<%.*s>", (int)idlen, id);
	hdr_token(&h, tok, idlen + 2);
	hdr_end(&h);
	hdr_addrlist(&h, "From", &m->from, 1);
	hdr_addrlist(&h, "To", m->to, m->nto);
	if (m->ncc > 0 && m->cc)
		hdr_addrlist(&h, "Cc", m->cc, m->ncc);
	if (m->reply_to)
		hdr_addrlist(&h, "Reply-To", m->reply_to, 1);
	hdr_begin(&h, "Subject");
	hdr_text(&h, m->subject);
	hdr_end(&h);
	hdr_fixed(&h, "MIME-Version: 1.0");
	hdr_fixed(&h, "Auto-Submitted: auto-generated");
	return h.rc;
}

/* The body of a multipart message: Content-Type, the blank line, then
 * each delimiter as "\r\n--b\r\n" (the CRLF before "--" belongs to the
 * delimiter, RFC 2046 5.1.1). -1 past the cap. */
static int multipart_body(const struct ob_mime_message *m, const struct parts *p, struct ob_buf *out)
{
	const char *text = p->text.data ? p->text.data : "", *html = p->html.data ? p->html.data : "";

	if (m->natt > 0 && ob_buf_printf(out, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n",
					 p->bmix, p->bmix) < 0)
		return -1;
	if (m->html) {
		if (ob_buf_printf(out, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", p->balt) < 0 ||
		    ob_buf_printf(out, "--%s\r\n%s\r\n", p->balt, text_part_headers) < 0 ||
		    ob_buf_add(out, text, p->text.len) < 0 ||
		    ob_buf_printf(out, "\r\n--%s\r\n%s\r\n", p->balt, html_part_headers) < 0 ||
		    ob_buf_add(out, html, p->html.len) < 0 || ob_buf_printf(out, "\r\n--%s--", p->balt) < 0)
			return -1;
	} else if (ob_buf_printf(out, "%s\r\n", text_part_headers) < 0 || ob_buf_add(out, text, p->text.len) < 0)
		return -1;
	for (size_t i = 0; i < m->natt; i++)
		if (ob_buf_printf(out, "\r\n--%s\r\n", p->bmix) < 0 ||
		    ob_buf_add(out, p->ahdr.data + p->aoff[i], p->aoff[i + 1] - p->aoff[i]) < 0 ||
		    ob_buf_adds(out, "\r\n") < 0 || b64_encode(m->att[i].data, m->att[i].len, out) < 0)
			return -1;
	if (m->natt > 0 && ob_buf_printf(out, "\r\n--%s--", p->bmix) < 0)
		return -1;
	return ob_buf_adds(out, "\r\n") < 0 ? -1 : 0;
}

/* The body after the headers; -1 past the cap. */
static int message_body(const struct ob_mime_message *m, const struct parts *p, struct ob_buf *out)
{
	if (m->natt == 0 && m->html == NULL) {
		/* The message ends in CRLF; text that ends in a line end has it. */
		int ends = p->text.len >= 2 && p->text.data[p->text.len - 1] == '\n';
		if (ob_buf_adds(out, text_part_headers) < 0 || ob_buf_adds(out, "\r\n") < 0 ||
		    ob_buf_add(out, p->text.data ? p->text.data : "", p->text.len) < 0 ||
		    (!ends && ob_buf_adds(out, "\r\n") < 0))
			return -1;
		return 0;
	}
	return multipart_body(m, p, out);
}

int ob_mime_build(const struct ob_mime_message *m, struct ob_buf *out, struct ob_err *err)
{
	int rc = -1, next = 0;
	size_t start = out->len, idlen = 0;
	struct parts p;
	const char *id = NULL;
	char date[64];

	memset(&p, 0, sizeof(p));
	ob_buf_init(&p.text, out->max);
	ob_buf_init(&p.html, out->max);
	ob_buf_init(&p.ahdr, out->max);

	if (check_message(m, err) < 0 || id_and_date(m, &id, &idlen, date, sizeof(date), err) < 0)
		goto out;
	if (parts_encode(m, &p) < 0)
		goto cap;
	{
		uint64_t seed = fnv1a(id, idlen);
		const struct ob_buf *scan[] = {&p.text, &p.html, &p.ahdr};
		if ((m->natt > 0 && (next = pick_boundary(seed, next, scan, 3, p.bmix)) < 0) ||
		    (m->html && (next = pick_boundary(seed, next, scan, 3, p.balt)) < 0)) {
			ob_err_set(err, "mime: message <%.*s>: no MIME boundary is free of the content", (int)idlen, id);
			goto out;
		}
	}
	if (message_headers(m, out, date, id, idlen) < 0 || message_body(m, &p, out) < 0)
		goto cap;
	rc = 0;
	goto out;
cap:
	ob_err_set(err, "mime: message <%.*s>: larger than the %zu-byte cap", (int)idlen, id ? id : "", out->max);
out:
	if (rc < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	free(p.aoff);
	ob_buf_free(&p.text);
	ob_buf_free(&p.html);
	ob_buf_free(&p.ahdr);
	return rc;
}
