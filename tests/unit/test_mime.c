/* test_mime.c - the message builder: encoded words, folding, quoted-printable,
 * base64, multipart structure, header injection, addresses, speed. The
 * decoders here are written apart from the encoder, and checked first
 * against encodings made by Python's email.header and base64 modules. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tap.h"
#include "mime.h"
#include "util.h"

/* TAP lines must stay one line: show CR, LF and other controls escaped. */
static const char *esc(const char *s, char *buf, size_t size)
{
	size_t j = 0;
	if (s == NULL)
		return "(null)";
	for (; *s && j + 8 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\r' || c == '\n')
			j += (size_t)snprintf(buf + j, size - j, "\\%c", c == '\r' ? 'r' : 'n');
		else if (c < 0x20 || c == 0x7f)
			j += (size_t)snprintf(buf + j, size - j, "\\x%02x", c);
		else
			buf[j++] = (char)c;
	}
	buf[j] = '\0';
	return buf;
}

#define EXPECT_HAS(needle, hay)                                                          \
	do {                                                                             \
		const char *n_ = (needle), *h_ = (hay);                                  \
		char e1_[800], e2_[800];                                                 \
		int ok_ = h_ != NULL && strstr(h_, n_) != NULL;                          \
		TAP_RESULT(ok_, "%s contains \"%s\"%s%s%s (line %d)", #hay,              \
			   esc(n_, e1_, sizeof(e1_)), ok_ ? "" : ", got \"",               \
			   ok_ ? "" : esc(h_, e2_, sizeof(e2_)), ok_ ? "" : "\"", __LINE__);  \
	} while (0)

#define EXPECT_STR(want, got)                                                            \
	do {                                                                             \
		const char *w_ = (want), *g_ = (got);                                    \
		char e1_[800], e2_[800];                                                 \
		int ok_ = g_ != NULL && strcmp(w_, g_) == 0;                             \
		TAP_RESULT(ok_, "%s = \"%s\"%s%s%s (line %d)", #got,                     \
			   esc(g_, e1_, sizeof(e1_)), ok_ ? "" : ", want \"",              \
			   ok_ ? "" : esc(w_, e2_, sizeof(e2_)), ok_ ? "" : "\"", __LINE__); \
	} while (0)

/* ---- independent decoders ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int b64val(int c)
{
	const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(a, c) : NULL;
	return p ? (int)(p - a) : -1;
}

/* Decodes base64 from s[0..n), skipping CR and LF; -1 on a bad character. */
static int b64_decode(const char *s, size_t n, struct ob_buf *out)
{
	unsigned v = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int d;
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (s[i] == '=')
			break;
		if ((d = b64val((unsigned char)s[i])) < 0)
			return -1;
		v = (v << 6) | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			ob_buf_addc(out, (char)((v >> bits) & 0xff));
		}
	}
	return 0;
}

/* Decodes quoted-printable: soft breaks go, =XX becomes the byte, CRLF
 * becomes LF (as the text went in). -1 on a bad escape. */
static int qp_decode(const char *s, size_t n, struct ob_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=') {
			if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
				i += 2;
				continue;
			}
			if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return -1;
			ob_buf_addc(out, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		} else if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
			ob_buf_addc(out, '\n');
			i++;
		} else {
			ob_buf_addc(out, s[i]);
		}
	}
	return 0;
}

/* Decodes one RFC 2047 encoded word at s (length n); -1 if it is not one. */
static int ew_decode(const char *s, size_t n, struct ob_buf *out)
{
	const char *q1, *q2;
	if (n < 8 || strncmp(s, "=?", 2) != 0 || strncmp(s + n - 2, "?=", 2) != 0)
		return -1;
	q1 = memchr(s + 2, '?', n - 4);
	if (q1 == NULL || q1 + 3 > s + n - 2 || q1[2] != '?')
		return -1;
	if (!(q1 - (s + 2) == 5 && strncasecmp(s + 2, "utf-8", 5) == 0))
		return -1;
	q2 = q1 + 3;
	size_t plen = (size_t)(s + n - 2 - q2);
	if (q1[1] == 'B' || q1[1] == 'b')
		return b64_decode(q2, plen, out);
	if (q1[1] != 'Q' && q1[1] != 'q')
		return -1;
	for (size_t i = 0; i < plen; i++) {
		if (q2[i] == '_') {
			ob_buf_addc(out, ' ');
		} else if (q2[i] == '=') {
			if (i + 2 >= plen || hexval(q2[i + 1]) < 0 || hexval(q2[i + 2]) < 0)
				return -1;
			ob_buf_addc(out, (char)(hexval(q2[i + 1]) * 16 + hexval(q2[i + 2])));
			i += 2;
		} else {
			ob_buf_addc(out, q2[i]);
		}
	}
	return 0;
}

/* Unfolds (CRLF before white space goes) and decodes an unstructured header
 * value: encoded words decoded, white space between two of them dropped.
 * Returns an owned string, or NULL on a malformed encoded word. */
static char *hdr_decode(const char *v)
{
	struct ob_buf u, out, ws;
	size_t i = 0;
	int prev_ew = 0, bad = 0;

	ob_buf_init(&u, 0);
	ob_buf_init(&out, 0);
	ob_buf_init(&ws, 0);
	for (const char *p = v; *p; p++) {
		if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t'))
			p++;
		else
			ob_buf_addc(&u, *p);
	}
	while (i < u.len && u.data[i] == ' ')
		i++;
	while (i < u.len) {
		size_t e = i;
		if (u.data[i] == ' ' || u.data[i] == '\t') {
			while (e < u.len && (u.data[e] == ' ' || u.data[e] == '\t'))
				e++;
			ob_buf_add(&ws, u.data + i, e - i);
			i = e;
			continue;
		}
		while (e < u.len && u.data[e] != ' ' && u.data[e] != '\t')
			e++;
		if (e - i >= 8 && strncmp(u.data + i, "=?", 2) == 0 && strncmp(u.data + e - 2, "?=", 2) == 0) {
			if (!prev_ew)
				ob_buf_add(&out, ws.data ? ws.data : "", ws.len);
			if (ew_decode(u.data + i, e - i, &out) < 0)
				bad = 1;
			prev_ew = 1;
		} else {
			ob_buf_add(&out, ws.data ? ws.data : "", ws.len);
			ob_buf_add(&out, u.data + i, e - i);
			prev_ew = 0;
		}
		ob_buf_reset(&ws);
		i = e;
	}
	ob_buf_free(&u);
	ob_buf_free(&ws);
	if (bad) {
		ob_buf_free(&out);
		return NULL;
	}
	return ob_buf_steal(&out);
}

/* ---- helpers over a built message ---- */

static size_t header_block_len(const struct ob_buf *b)
{
	const char *e = strstr(b->data, "\r\n\r\n");
	return e ? (size_t)(e - b->data) + 2 : 0;
}

/* The value of header name in the top header block, folded lines joined
 * raw (CRLF kept); NULL if absent. Owned. */
static char *header_raw(const struct ob_buf *b, const char *name)
{
	size_t hl = header_block_len(b), nl = strlen(name), i = 0;
	while (i < hl) {
		const char *eol = strstr(b->data + i, "\r\n");
		if (strncasecmp(b->data + i, name, nl) == 0 && b->data[i + nl] == ':') {
			size_t s = i + nl + 1, e = (size_t)(eol - b->data);
			while (e + 2 < hl && (b->data[e + 2] == ' ' || b->data[e + 2] == '\t'))
				e = (size_t)(strstr(b->data + e + 2, "\r\n") - b->data);
			return ob_xstrndup(b->data + s, e - s);
		}
		i = (size_t)(eol - b->data) + 2;
	}
	return NULL;
}

/* Counts header fields (lines not starting with white space) in the top
 * header block. */
static int header_count(const struct ob_buf *b)
{
	size_t hl = header_block_len(b);
	int n = 0;
	for (size_t i = 0; i < hl;) {
		if (b->data[i] != ' ' && b->data[i] != '\t')
			n++;
		i = (size_t)(strstr(b->data + i, "\r\n") - b->data) + 2;
	}
	return n;
}

/* Lines anywhere in the message that start with prefix (case-insensitive). */
static int lines_starting(const struct ob_buf *b, const char *prefix)
{
	size_t pl = strlen(prefix);
	int n = 0;
	for (size_t i = 0; i < b->len;) {
		const char *eol = strstr(b->data + i, "\r\n");
		if (strncasecmp(b->data + i, prefix, pl) == 0)
			n++;
		if (eol == NULL)
			break;
		i = (size_t)(eol - b->data) + 2;
	}
	return n;
}

/* Every LF has a CR before it and every CR an LF after it; the message
 * ends in CRLF. */
static int crlf_only(const struct ob_buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\n' && (i == 0 || b->data[i - 1] != '\r'))
			return 0;
		if (b->data[i] == '\r' && (i + 1 >= b->len || b->data[i + 1] != '\n'))
			return 0;
	}
	return b->len >= 2 && b->data[b->len - 2] == '\r' && b->data[b->len - 1] == '\n';
}

/* Longest line in data[from..to), CRLF not counted. */
static size_t longest_line(const char *d, size_t from, size_t to)
{
	size_t max = 0, start = from;
	for (size_t i = from; i < to; i++) {
		if (d[i] == '\r' && i + 1 < to && d[i + 1] == '\n') {
			if (i - start > max)
				max = i - start;
			start = i + 2;
			i++;
		}
	}
	if (to - start > max && to > start)
		max = to - start;
	return max;
}

static int utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t l = p[i] < 0x80 ? 1 : p[i] >= 0xc2 && p[i] < 0xe0 ? 2 : p[i] >= 0xe0 && p[i] < 0xf0 ? 3
						: p[i] >= 0xf0 && p[i] < 0xf5				? 4
													: 0;
		if (l == 0 || i + l > n)
			return 0;
		for (size_t k = 1; k < l; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
		i += l;
	}
	return 1;
}

/* Unfolds in place: a CRLF before white space goes. */
static char *unfold(char *v)
{
	size_t j = 0;
	if (v == NULL)
		return NULL;
	for (size_t i = 0; v[i]; i++) {
		if (v[i] == '\r' && v[i + 1] == '\n' && (v[i + 2] == ' ' || v[i + 2] == '\t'))
			i++;
		else
			v[j++] = v[i];
	}
	v[j] = '\0';
	return v;
}

/* The boundary parameter of a Content-Type value (owned), or NULL. */
static char *boundary_of(const char *ct)
{
	const char *p = ct ? strstr(ct, "boundary=\"") : NULL, *e;
	if (p == NULL)
		return NULL;
	p += 10;
	e = strchr(p, '"');
	return e ? ob_xstrndup(p, (size_t)(e - p)) : NULL;
}

static const struct ob_mime_addr to1[] = {{"Jens Hansen", "jens@kommune.example.dk"}};

static void base_message(struct ob_mime_message *m)
{
	memset(m, 0, sizeof(*m));
	m->from.name = "Overblik";
	m->from.email = "overblik@kommune.example.dk";
	m->to = to1;
	m->nto = 1;
	m->subject = "Reminder";
	m->message_id = "<outbox-42.20261126@overblik.example.dk>";
	m->date = 1795683600; /* 2026-11-26 09:00 UTC */
	m->text = "Hej\n";
}

static const char dk_subject[] = "P\xc3\xa5mindelse: opsigelsesfrist for \xc3\x98konomisystem";

/* ---- tests ---- */

DEF_TEST(decoders_on_python_encodings)
{
	/* From Python: email.header.Header(s, "utf-8").encode(), QP and B. */
	char *d = hdr_decode("=?utf-8?q?P=C3=A5mindelse=3A_opsigelsesfrist_for_=C3=98konomisystem?=");
	EXPECT_STR(dk_subject, d);
	free(d);
	d = hdr_decode("=?utf-8?b?UMOlbWluZGVsc2U6IG9wc2lnZWxzZXNmcmlzdCBmb3Igw5hrb25vbWlzeXN0ZW0=?=");
	EXPECT_STR(dk_subject, d);
	free(d);
	d = hdr_decode("=?UTF-8?Q?a?= \r\n =?UTF-8?Q?b?= c  =?UTF-8?B?w6Y=?=");
	EXPECT_STR("ab c  \xc3\xa6", d);
	free(d);
	d = hdr_decode("=?UTF-8?Q?=ZZ?=");
	OK(d == NULL);
	free(d);

	struct ob_buf b;
	ob_buf_init(&b, 0);
	/* base64.b64encode(b"Sp\xc3\xb8rgsm\xc3\xa5l om \xc3\x86bler og \xc3\x98l p\xc3\xa5 \xc3\x85en") */
	OK(b64_decode("U3DDuHJnc23DpWwgb20gw4ZibGVyIG9n\r\nIMOYbCBww6Ugw4Vlbg==", 54, &b) == 0);
	EXPECT_STR("Sp\xc3\xb8rgsm\xc3\xa5l om \xc3\x86" "bler og \xc3\x98l p\xc3\xa5 \xc3\x85" "en", b.data);
	ob_buf_reset(&b);
	/* quopri.encodestring(...) with CRLF for LF. */
	const char *qp = "Linje med =3D tegn og =C3=A6=C3=B8=C3=A5 =20\r\n";
	OK(qp_decode(qp, strlen(qp), &b) == 0);
	EXPECT_STR("Linje med = tegn og \xc3\xa6\xc3\xb8\xc3\xa5  \n", b.data);
	ob_buf_free(&b);
}

DEF_TEST(encode_word)
{
	struct ob_buf b;
	ob_buf_init(&b, 0);

	/* Same as Python's email.header (bar the case of "UTF-8?Q"). */
	OK(ob_mime_encode_word(dk_subject, &b) == 0);
	TAP_RESULT(strcasecmp(b.data, "=?utf-8?q?P=C3=A5mindelse=3A_opsigelsesfrist_for_=C3=98konomisystem?=") == 0,
		   "encode_word(dk subject) = \"%s\"", b.data);
	char *d = hdr_decode(b.data);
	EXPECT_STR(dk_subject, d);
	free(d);

	ob_buf_reset(&b);
	OK(ob_mime_encode_word("Plain ASCII  subject, (with) specials: 100%", &b) == 0);
	EXPECT_STR("Plain ASCII  subject, (with) specials: 100%", b.data);

	/* "=?" in ASCII must not pass as it could be read as an encoded word. */
	ob_buf_reset(&b);
	ob_mime_encode_word("a =?x?= b", &b);
	OK(strncmp(b.data, "=?UTF-8?", 8) == 0);
	d = hdr_decode(b.data);
	EXPECT_STR("a =?x?= b", d);
	free(d);

	/* Q must encode '=', '?' and '_' (and turn ' ' into '_'). */
	ob_buf_reset(&b);
	ob_mime_encode_word("Fristen? = 30 dage_netto for \xc3\x98konomisystemet", &b);
	EXPECT_STR("=?UTF-8?Q?Fristen=3F_=3D_30_dage=5Fnetto_for_=C3=98konomisystemet?=", b.data);
	d = hdr_decode(b.data);
	EXPECT_STR("Fristen? = 30 dage_netto for \xc3\x98konomisystemet", d);
	free(d);

	/* Mostly non-ASCII: base64 is shorter and chosen. */
	ob_buf_reset(&b);
	ob_mime_encode_word("\xc3\xa6\xc3\xb8\xc3\xa5\xc3\x86\xc3\x98\xc3\x85", &b);
	EXPECT_STR("=?UTF-8?B?w6bDuMOlw4bDmMOF?=", b.data);

	/* Long text: words <= 75, lines <= 76, each word whole characters. */
	struct ob_buf in;
	ob_buf_init(&in, 0);
	for (int i = 0; i < 12; i++)
		ob_buf_adds(&in, "\xc3\x86ndring af k\xc3\xb8replan \xe2\x80\x94 \xf0\x9f\x93\x85 ");
	ob_buf_adds(&in, "slut");
	ob_buf_reset(&b);
	OK(ob_mime_encode_word(in.data, &b) == 0);
	d = hdr_decode(b.data);
	EXPECT_STR(in.data, d);
	free(d);
	OK(longest_line(b.data, 0, b.len) <= 76);
	{
		int words = 0, wl_ok = 1, whole = 1, at_space = 1;
		const char *p = b.data;
		while ((p = strstr(p, "=?UTF-8?")) != NULL) {
			const char *e = strstr(p + 10, "?=");
			struct ob_buf w;
			ob_buf_init(&w, 0);
			if (e == NULL || e + 2 - p > 75)
				wl_ok = 0;
			if (e == NULL || ew_decode(p, (size_t)(e + 2 - p), &w) < 0 || !utf8_valid(w.data, w.len))
				whole = 0;
			/* split between words: each later word starts with the space */
			if (words > 0 && (w.len == 0 || w.data[0] != ' '))
				at_space = 0;
			ob_buf_free(&w);
			words++;
			p = e ? e + 2 : p + 2;
		}
		TAP_RESULT(words > 3, "long text gives %d encoded words", words);
		OK(wl_ok);
		OK(whole);
		OK(at_space);
	}
	OK(strstr(b.data, "\r\n ") != NULL);

	/* Control characters become a space; invalid UTF-8 U+FFFD. */
	ob_buf_reset(&b);
	ob_mime_encode_word("X\r\nBcc: a@b", &b);
	EXPECT_STR("X Bcc: a@b", b.data);
	ob_buf_reset(&b);
	ob_mime_encode_word(" \t Hej  \r\n", &b);
	EXPECT_STR("Hej", b.data);
	ob_buf_reset(&b);
	ob_mime_encode_word("a\xff", &b);
	d = hdr_decode(b.data);
	EXPECT_STR("a\xef\xbf\xbd", d);
	free(d);

	ob_buf_free(&in);
	ob_buf_free(&b);
}

DEF_TEST(addr_valid)
{
	OK(ob_mime_addr_valid("a@b") == 1);
	OK(ob_mime_addr_valid("first.last+tag@kommune.example.dk") == 1);
	OK(ob_mime_addr_valid("o'brien@x-y.dk") == 1);
	const char *bad[] = {NULL,
			     "",
			     "a",
			     "@b.dk",
			     "a@",
			     "a@b@c.dk",
			     "a b@c.dk",
			     "a@b.dk\r\nBcc: c@d.dk",
			     "a@b.dk\n",
			     "<a@b.dk>",
			     "Jens <a@b.dk>",
			     "a..b@c.dk",
			     ".a@c.dk",
			     "a.@c.dk",
			     "a@-b.dk",
			     "a@b-.dk",
			     "a@b..dk",
			     "a@.b.dk",
			     "a@b.dk.",
			     "\"a b\"@c.dk",
			     "a@[127.0.0.1]",
			     "\xc3\xa6@b.dk",
			     "a@k\xc3\xb8ge.dk",
			     "a(c)@b.dk",
			     "a,b@c.dk"};
	for (size_t i = 0; i < OB_ARRAY_LEN(bad); i++) {
		char shown[80];
		snprintf(shown, sizeof(shown), "%s", bad[i] ? bad[i] : "(null)");
		for (char *p = shown; *p; p++)
			if (*p == '\r' || *p == '\n')
				*p = '~';
		TAP_RESULT(ob_mime_addr_valid(bad[i]) == 0, "addr_valid(\"%s\") = 0", shown);
	}
	char longlocal[80], longaddr[300];
	memset(longlocal, 'a', 65);
	strcpy(longlocal + 65, "@b.dk");
	OK(ob_mime_addr_valid(longlocal) == 0);
	memset(longaddr, 'b', 255);
	memcpy(longaddr, "a@", 2);
	for (int i = 60; i < 255; i += 60)
		longaddr[i] = '.';
	longaddr[255] = '\0';
	OK(ob_mime_addr_valid(longaddr) == 0);
}

DEF_TEST(build_refuses)
{
	struct ob_mime_message m;
	struct ob_buf out;
	struct ob_err err;
	struct ob_mime_addr to[] = {{"A", "a@b.dk"}, {"Eve", "x@y.dk\r\nBcc: z@w.dk"}};

	ob_buf_init(&out, 0);
	ob_buf_adds(&out, "before");

	base_message(&m);
	m.to = to;
	m.nto = 2;
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_mime_build(&m, &out, &err));
	EXPECT_STR("mime: To[1]: \"x@y.dk\\x0d\\x0aBcc: z@w.dk\" is not an e-mail address", err.msg);
	EXPECT_STR("before", out.data);

	base_message(&m);
	m.from.email = "overblik";
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_mime_build(&m, &out, &err));
	EXPECT_HAS("From: \"overblik\" is not an e-mail address", err.msg);

	base_message(&m);
	struct ob_mime_addr rt = {NULL, "a b@c.dk"};
	m.reply_to = &rt;
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_mime_build(&m, &out, &err));
	EXPECT_HAS("Reply-To:", err.msg);

	base_message(&m);
	struct ob_mime_addr cc[] = {{NULL, "ok@b.dk"}, {NULL, "bad@"}};
	m.cc = cc;
	m.ncc = 2;
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_mime_build(&m, &out, &err));
	EXPECT_HAS("Cc[1]:", err.msg);

	base_message(&m);
	m.nto = 0;
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_mime_build(&m, &out, &err));
	EXPECT_STR("mime: no To recipient", err.msg);

	/* Message ids that could carry a header, or are not ids. */
	const char *ids[] = {"<a@b.dk>\r\nBcc: x@y.dk", "<a@b.dk\r\nBcc: x@y.dk>", "a@b.dk>", "<a b@c.dk>",
			     "<nobody>", "<@b.dk>", "<a@>", NULL, "<a@b@c>"};
	for (size_t i = 0; i < OB_ARRAY_LEN(ids); i++) {
		base_message(&m);
		m.message_id = ids[i];
		ob_err_clear(&err);
		int rc = ob_mime_build(&m, &out, &err);
		TAP_RESULT(rc == -1 && strstr(err.msg, "message id") != NULL && strchr(err.msg, '\n') == NULL,
			   "message id %zu refused: %s", i, err.msg);
	}

	base_message(&m);
	struct ob_mime_attachment att = {"a.pdf", "application/pdf\r\nBcc: x@y.dk", "x", 1};
	m.att = &att;
	m.natt = 1;
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_mime_build(&m, &out, &err));
	EXPECT_HAS("attachment 0:", err.msg);
	EXPECT_STR("before", out.data);

	/* The size cap: refused, and out left as it was. */
	struct ob_buf small;
	static unsigned char big[100 * 1024];
	ob_buf_init(&small, 4096);
	base_message(&m);
	struct ob_mime_attachment batt = {"r.pdf", "application/pdf", big, sizeof(big)};
	m.att = &batt;
	m.natt = 1;
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_mime_build(&m, &small, &err));
	EXPECT_HAS("4096-byte cap", err.msg);
	EXPECT_EQ_INT(0, small.len);
	ob_buf_free(&small);
	ob_buf_free(&out);
}

DEF_TEST(text_only)
{
	struct ob_mime_message m;
	struct ob_buf out;
	struct ob_err err;

	ob_buf_init(&out, 0);
	base_message(&m);
	ob_err_clear(&err);
	EXPECT_EQ_INT(0, ob_mime_build(&m, &out, &err));
	EXPECT_STR("Date: Thu, 26 Nov 2026 09:00:00 +0000\r\n"
		      "Message-ID: <outbox-42.20261126@overblik.example.dk>\r\n"
		      "From: Overblik <overblik@kommune.example.dk>\r\n"
		      "To: Jens Hansen <jens@kommune.example.dk>\r\n"
		      "Subject: Reminder\r\n"
		      "MIME-Version: 1.0\r\n"
		      "Auto-Submitted: auto-generated\r\n"
		      "Content-Type: text/plain; charset=UTF-8\r\n"
		      "Content-Transfer-Encoding: quoted-printable\r\n"
		      "\r\n"
		      "Hej\r\n",
		      out.data);

	/* No trailing line end in the text: the message still ends in CRLF. */
	ob_buf_reset(&out);
	m.text = "Hej";
	m.message_id = "outbox-1@x.dk"; /* brackets are added */
	EXPECT_EQ_INT(0, ob_mime_build(&m, &out, &err));
	OK(crlf_only(&out));
	EXPECT_HAS("\r\nMessage-ID: <outbox-1@x.dk>\r\n", out.data);
	EXPECT_HAS("\r\n\r\nHej\r\n", out.data);
	ob_buf_free(&out);
}

DEF_TEST(date_local_offset)
{
	struct ob_mime_message m;
	struct ob_buf out;
	struct ob_err err;
	char *old = getenv("TZ") ? ob_xstrdup(getenv("TZ")) : NULL;

	setenv("TZ", "Europe/Copenhagen", 1);
	tzset();
	ob_buf_init(&out, 0);
	base_message(&m);
	ob_err_clear(&err);
	ob_mime_build(&m, &out, &err);
	EXPECT_HAS("Date: Thu, 26 Nov 2026 10:00:00 +0100\r\n", out.data);
	ob_buf_reset(&out);
	m.date = 1782460800;
	ob_mime_build(&m, &out, &err);
	EXPECT_HAS("Date: Fri, 26 Jun 2026 10:00:00 +0200\r\n", out.data);
	ob_buf_reset(&out);
	setenv("TZ", "America/St_Johns", 1); /* a half-hour offset, negative */
	tzset();
	ob_mime_build(&m, &out, &err);
	EXPECT_HAS("Date: Fri, 26 Jun 2026 05:30:00 -0230\r\n", out.data);
	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
	ob_buf_free(&out);
}

DEF_TEST(subject_and_names)
{
	struct ob_mime_message m;
	struct ob_buf out, in;
	struct ob_err err;
	struct ob_mime_addr to[] = {{"Hansen, Mette (IT)", "mette@b.dk"},
				     {"\xc3\x86rl\xc3\xb8s \"Team\"", "team@b.dk"},
				     {NULL, "it@b.dk"},
				     {"", "tom@b.dk"},
				     {"Anne O'Hara", "anne@b.dk"},
				     {"Hansen \"Mette\" \\ IT", "hm@b.dk"}};
	char *v, *d;

	ob_buf_init(&out, 0);
	ob_buf_init(&in, 0);
	for (int i = 0; i < 6; i++)
		ob_buf_adds(&in, "P\xc3\xa5mindelse: opsigelsesfrist for \xc3\x98konomisystem, ");
	ob_buf_adds(&in, "slut");
	base_message(&m);
	m.subject = in.data;
	m.to = to;
	m.nto = OB_ARRAY_LEN(to);
	ob_err_clear(&err);
	EXPECT_EQ_INT(0, ob_mime_build(&m, &out, &err));

	v = header_raw(&out, "Subject");
	d = v ? hdr_decode(v) : NULL;
	EXPECT_STR(in.data, d);
	free(d);
	OK(v && strstr(v, "\r\n ") != NULL); /* it was folded */
	free(v);
	size_t hl = header_block_len(&out);
	TAP_RESULT(longest_line(out.data, 0, hl) <= 78, "longest header line %zu <= 78",
		   longest_line(out.data, 0, hl));

	v = unfold(header_raw(&out, "To"));
	EXPECT_HAS("\"Hansen, Mette (IT)\" <mette@b.dk>,", v);
	EXPECT_HAS(" it@b.dk,", v);
	EXPECT_HAS(" tom@b.dk,", v);
	EXPECT_HAS("Anne O'Hara <anne@b.dk>,", v);
	EXPECT_HAS(" \"Hansen \\\"Mette\\\" \\\\ IT\" <hm@b.dk>", v);
	/* The non-ASCII name is an encoded word that decodes to the name. */
	{
		const char *s = v ? strstr(v, "=?UTF-8?") : NULL, *e = s ? strstr(s, "?= <team@b.dk>") : NULL;
		struct ob_buf w;
		ob_buf_init(&w, 0);
		OK(e != NULL && ew_decode(s, (size_t)(e + 2 - s), &w) == 0);
		EXPECT_STR("\xc3\x86rl\xc3\xb8s \"Team\"", w.data);
		ob_buf_free(&w);
	}
	free(v);

	/* A name that fits one encoded word stays one, even late on a line. */
	struct ob_mime_addr two[] = {{"Jens Hansen", "j@b.dk"},
				     {"\xc3\x98konomi og L\xc3\xb8n, K\xc3\xb8" "benhavns Kommune", "ol@b.dk"}};
	base_message(&m);
	m.to = two;
	m.nto = 2;
	ob_buf_reset(&out);
	EXPECT_EQ_INT(0, ob_mime_build(&m, &out, &err));
	v = header_raw(&out, "To");
	{
		int n = 0;
		for (const char *p = v; p && (p = strstr(p, "=?UTF-8?")) != NULL; p++)
			n++;
		EXPECT_EQ_INT(1, n);
	}
	EXPECT_HAS(",\r\n =?UTF-8?Q?=C3=98konomi_og_L=C3=B8n=2C_K=C3=B8benhavns_Kommune?= <ol@b.dk>", v);
	free(v);
	ob_buf_free(&in);
	ob_buf_free(&out);
}

DEF_TEST(header_injection)
{
	struct ob_mime_message m;
	struct ob_buf out;
	struct ob_err err;
	struct ob_mime_addr to[] = {{"Eve\r\nBcc: eve@evil.example", "jens@b.dk"},
				     {"\xc3\x86ve\nBcc: eve@evil.example\r\n\r\nbody", "mette@b.dk"}};
	struct ob_mime_addr cc[] = {{"C\rBcc: c@evil.example", "c@b.dk"}};
	struct ob_mime_addr rt = {"R\nBcc: r@evil.example", "r@b.dk"};
	struct ob_mime_attachment att[] = {
		{"f\r\nBcc: f@evil.example\r\nX: \".pdf", "application/pdf", "%PDF", 4},
		{"\xc3\xb8\r\nBcc: g@evil.example.pdf", "application/pdf", "%PDF", 4}};

	ob_buf_init(&out, 0);
	base_message(&m);
	m.from.name = "Overblik\r\nBcc: from@evil.example";
	m.to = to;
	m.nto = 2;
	m.cc = cc;
	m.ncc = 1;
	m.reply_to = &rt;
	m.subject = "X\r\nBcc: a@b";
	m.att = att;
	m.natt = 2;
	ob_err_clear(&err);
	EXPECT_EQ_INT(0, ob_mime_build(&m, &out, &err));
	EXPECT_EQ_INT(0, lines_starting(&out, "Bcc:"));
	EXPECT_EQ_INT(0, lines_starting(&out, "X:"));
	/* Date Message-ID From To Cc Reply-To Subject MIME-Version
	 * Auto-Submitted Content-Type */
	EXPECT_EQ_INT(10, header_count(&out));
	EXPECT_HAS("\r\nSubject: X Bcc: a@b\r\n", out.data);
	EXPECT_HAS("\r\nFrom: \"Overblik Bcc: from@evil.example\" <overblik@kommune.example.dk>\r\n",
			out.data);
	EXPECT_HAS("\r\nReply-To: \"R Bcc: r@evil.example\" <r@b.dk>\r\n", out.data);
	/* Each attachment's header block has exactly its three fields. */
	{
		int ok = 1, parts = 0;
		const char *p = out.data;
		while ((p = strstr(p, "\r\nContent-Type: application/pdf")) != NULL) {
			const char *end = strstr(p + 2, "\r\n\r\n");
			int fields = 0;
			/* A field starts after each CRLF not followed by white space. */
			for (const char *l = p; l < end; l = strstr(l + 2, "\r\n"))
				if (l[2] != ' ' && l[2] != '\t')
					fields++;
			if (fields != 3)
				ok = 0;
			parts++;
			p = end;
		}
		EXPECT_EQ_INT(2, parts);
		OK(ok);
	}
	EXPECT_HAS("name=\"f Bcc_ f@evil.example X_ _.pdf\"", out.data);
	OK(crlf_only(&out));
	ob_buf_free(&out);
}

/* Splits the quoted-printable body of a text-only message and checks it. */
DEF_TEST(quoted_printable)
{
	struct ob_mime_message m;
	struct ob_buf out, dec, text;
	struct ob_err err;

	ob_buf_init(&out, 0);
	ob_buf_init(&dec, 0);
	ob_buf_init(&text, 0);
	ob_buf_adds(&text, "Linje med = tegn og \xc3\xa6\xc3\xb8\xc3\xa5  \n"
			   "tab\t\n"
			   "From the start\n"
			   ".\n"
			   "CRLF line\r\n"
			   "lone CR\r"
			   "end\n\n");
	for (int i = 0; i < 30; i++)
		ob_buf_adds(&text, "Fristen for \xc3\x98konomisystem udl\xc3\xb8" "ber; x=y ");
	ob_buf_adds(&text, "\n");
	for (int i = 0; i < 200; i++)
		ob_buf_adds(&text, "\xc3\xa6");
	ob_buf_adds(&text, "\n");
	for (int i = 0; i < 80; i++)
		ob_buf_adds(&text, " ");
	ob_buf_adds(&text, "\nslut   ");

	base_message(&m);
	m.text = text.data;
	ob_err_clear(&err);
	EXPECT_EQ_INT(0, ob_mime_build(&m, &out, &err));
	size_t hl = header_block_len(&out) + 2;
	const char *body = out.data + hl;
	size_t blen = out.len - hl;

	EXPECT_HAS("Linje med =3D tegn og =C3=A6=C3=B8=C3=A5 =20\r\ntab=09\r\n=46rom the start\r\n=2E\r\n"
			"CRLF line\r\nlone CR\r\nend\r\n\r\n",
			body);
	TAP_RESULT(longest_line(body, 0, blen) <= 76, "longest QP line %zu <= 76", longest_line(body, 0, blen));
	{
		int trailing_ws = 0, soft = 0, bad_byte = 0;
		for (size_t i = 0; i + 1 < blen; i++) {
			if (i > 0 && body[i] == '\r' && (body[i - 1] == ' ' || body[i - 1] == '\t'))
				trailing_ws = 1;
			if (body[i] == '=' && body[i + 1] == '\r')
				soft++;
			if ((unsigned char)body[i] >= 0x7f)
				bad_byte = 1;
		}
		OK(!trailing_ws);
		TAP_RESULT(soft >= 20, "%d soft line breaks", soft);
		OK(!bad_byte);
	}
	/* Decoded, it is the text with LF line ends (a lone CR became one). */
	OK(qp_decode(body, blen, &dec) == 0);
	{
		struct ob_buf want;
		ob_buf_init(&want, 0);
		for (size_t i = 0; i < text.len; i++) {
			if (text.data[i] == '\r') {
				ob_buf_addc(&want, '\n');
				if (text.data[i + 1] == '\n')
					i++;
			} else {
				ob_buf_addc(&want, text.data[i]);
			}
		}
		ob_buf_addc(&want, '\n'); /* the message's final CRLF */
		OK(dec.len == want.len && memcmp(dec.data, want.data, want.len) == 0);
		ob_buf_free(&want);
	}
	ob_buf_free(&out);
	ob_buf_free(&dec);
	ob_buf_free(&text);
}

static unsigned char att_data[100 * 1024];

DEF_TEST(multipart_and_base64)
{
	struct ob_mime_message m;
	struct ob_buf out, dec;
	struct ob_err err;
	unsigned x = 2463534242u;
	struct ob_mime_attachment att[] = {
		{"P\xc3\xa5mindelse \xc3\x98konomisystem.pdf", "application/pdf", att_data, sizeof(att_data)},
		{"r.pdf", "application/pdf", att_data, 2}};

	for (size_t i = 0; i < sizeof(att_data); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		att_data[i] = (unsigned char)x;
	}
	ob_buf_init(&out, 0);
	ob_buf_init(&dec, 0);
	base_message(&m);
	m.subject = dk_subject;
	m.html = "<p>Hej</p>\n";
	m.att = att;
	m.natt = 2;
	ob_err_clear(&err);
	EXPECT_EQ_INT(0, ob_mime_build(&m, &out, &err));
	OK(crlf_only(&out));
	EXPECT_EQ_INT(8, header_count(&out));

	char *ct = header_raw(&out, "Content-Type");
	char *mix = boundary_of(ct);
	EXPECT_HAS(" multipart/mixed;", ct);
	free(ct);
	OK(mix != NULL);
	if (mix == NULL)
		mix = ob_xstrdup("(none)");
	char delim[100], close[100];
	snprintf(delim, sizeof(delim), "--%s", mix);
	snprintf(close, sizeof(close), "--%s--", mix);
	/* Three parts: the alternative and two attachments; one close, last. */
	EXPECT_EQ_INT(4, lines_starting(&out, delim)); /* 3 delimiters + the close */
	EXPECT_EQ_INT(1, lines_starting(&out, close));
	{
		size_t cl = strlen(close);
		OK(out.len > cl + 2 && memcmp(out.data + out.len - cl - 2, close, cl) == 0);
	}
	/* The boundary occurs only on its delimiter lines. */
	{
		int n = 0;
		for (const char *p = out.data; (p = strstr(p, mix)) != NULL; p++)
			n++;
		EXPECT_EQ_INT(5, n); /* Content-Type + 4 lines */
	}
	/* The alternative: its own boundary, text then html, closed. */
	const char *alt = strstr(out.data, "Content-Type: multipart/alternative; boundary=\"");
	char *altb = boundary_of(alt);
	OK(altb != NULL && strcmp(altb, mix) != 0);
	if (altb) {
		char a1[200], a2[200];
		snprintf(a1, sizeof(a1), "\r\n--%s\r\nContent-Type: text/plain; charset=UTF-8\r\n", altb);
		snprintf(a2, sizeof(a2), "\r\n--%s\r\nContent-Type: text/html; charset=UTF-8\r\n", altb);
		const char *p1 = strstr(out.data, a1), *p2 = strstr(out.data, a2);
		OK(p1 != NULL && p2 != NULL && p1 < p2);
		snprintf(a1, sizeof(a1), "\r\n--%s--\r\n%s\r\n", altb, delim);
		EXPECT_HAS(a1, out.data);
	}
	free(altb);

	/* The PDF: header, 76-character lines, the bytes back. */
	const char *h = strstr(out.data, "\r\nContent-Type: application/pdf; name=\"Paamindelse Oekonomisystem.pdf\"\r\n");
	OK(h != NULL);
	EXPECT_HAS("Content-Disposition: attachment;\r\n filename*=UTF-8''P%C3%A5mindelse%20%C3%98konomisystem.pdf\r\n",
			out.data);
	EXPECT_HAS("Content-Type: application/pdf; name=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\n"
			"Content-Disposition: attachment; filename=\"r.pdf\"\r\n\r\n",
			out.data);
	if (h) {
		const char *b = strstr(h, "\r\n\r\n") + 4;
		const char *e = strstr(b, "\r\n--");
		size_t lines = 0, bad = 0;
		for (const char *l = b; l < e;) {
			const char *eol = strstr(l, "\r\n");
			size_t len = (size_t)((eol && eol < e ? eol : e) - l);
			lines++;
			if (len != 76 && !(len <= 76 && (eol == NULL || eol >= e)))
				bad++;
			l += len + 2;
		}
		EXPECT_EQ_INT((sizeof(att_data) + 56) / 57, lines);
		EXPECT_EQ_INT(0, bad);
		OK(b64_decode(b, (size_t)(e - b), &dec) == 0);
		EXPECT_EQ_INT(sizeof(att_data), dec.len);
		OK(dec.len == sizeof(att_data) && memcmp(dec.data, att_data, sizeof(att_data)) == 0);
	}
	/* The 2-byte attachment is "=="-padded. */
	{
		char want[16];
		static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		snprintf(want, sizeof(want), "\r\n\r\n%c%c%c=\r\n", a[att_data[0] >> 2],
			 a[((att_data[0] & 3) << 4) | (att_data[1] >> 4)], a[(att_data[1] & 15) << 2]);
		EXPECT_HAS(want, out.data);
	}

	/* Deterministic: the same message builds to the same bytes. */
	{
		struct ob_buf again;
		ob_buf_init(&again, 0);
		ob_mime_build(&m, &again, &err);
		OK(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
		/* Another message id gives other boundaries. */
		ob_buf_reset(&again);
		m.message_id = "<outbox-43.20261126@overblik.example.dk>";
		ob_mime_build(&m, &again, &err);
		OK(strstr(again.data, mix) == NULL);
		/* A boundary found in the content is skipped: put the first
		 * one in a file name and build again with the first id. */
		ob_buf_reset(&again);
		m.message_id = "<outbox-42.20261126@overblik.example.dk>";
		att[1].filename = delim;
		ob_mime_build(&m, &again, &err);
		char *ct2 = header_raw(&again, "Content-Type"), *mix2 = boundary_of(ct2);
		OK(mix2 != NULL && strcmp(mix2, mix) != 0);
		if (mix2) {
			char d2[100];
			snprintf(d2, sizeof(d2), "--%s", mix2);
			EXPECT_EQ_INT(4, lines_starting(&again, d2));
			EXPECT_HAS(delim, again.data); /* the name is still there */
		}
		free(ct2);
		free(mix2);
		att[1].filename = "r.pdf";
		ob_buf_free(&again);
	}

	/* html, no attachments: multipart/alternative at the top. */
	ob_buf_reset(&out);
	m.natt = 0;
	EXPECT_EQ_INT(0, ob_mime_build(&m, &out, &err));
	ct = header_raw(&out, "Content-Type");
	EXPECT_HAS(" multipart/alternative;", ct);
	altb = boundary_of(ct);
	if (altb) {
		snprintf(close, sizeof(close), "--%s--", altb);
		EXPECT_EQ_INT(1, lines_starting(&out, close));
		snprintf(delim, sizeof(delim), "--%s\r\n", altb);
		EXPECT_EQ_INT(2, lines_starting(&out, delim));
	}
	OK(crlf_only(&out));
	free(altb);
	free(ct);

	/* Attachment, no html: mixed with a text part first. */
	ob_buf_reset(&out);
	m.html = NULL;
	m.natt = 1;
	EXPECT_EQ_INT(0, ob_mime_build(&m, &out, &err));
	OK(strstr(out.data, "multipart/alternative") == NULL);
	ct = header_raw(&out, "Content-Type");
	free(mix);
	mix = boundary_of(ct);
	if (mix) {
		snprintf(delim, sizeof(delim), "\r\n\r\n--%s\r\nContent-Type: text/plain; charset=UTF-8\r\n", mix);
		EXPECT_HAS(delim, out.data);
	}
	free(ct);
	free(mix);
	ob_buf_free(&out);
	ob_buf_free(&dec);
}

/* Percent-decodes the RFC 2231 filename* value(s) of the first
 * Content-Disposition, segments joined; owned, NULL if there is none. */
static char *filename_star(const char *msg)
{
	const char *cd = strstr(msg, "Content-Disposition:"), *end = cd ? strstr(cd, "\r\n\r\n") : NULL;
	struct ob_buf v;
	int segs = 0;

	if (cd == NULL || end == NULL)
		return NULL;
	ob_buf_init(&v, 0);
	for (const char *p = cd; (p = strstr(p, "filename*")) != NULL && p < end; segs++) {
		const char *eq = strchr(p, '=');
		p = eq + 1;
		if (strncmp(p, "UTF-8''", 7) == 0)
			p += 7;
		for (; *p != ';' && *p != '\r'; p++) {
			if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
				ob_buf_addc(&v, (char)(hexval(p[1]) * 16 + hexval(p[2])));
				p += 2;
			} else {
				ob_buf_addc(&v, *p);
			}
		}
	}
	if (segs == 0) {
		ob_buf_free(&v);
		return NULL;
	}
	return ob_buf_steal(&v);
}

static void build_with_file(const char *filename, struct ob_buf *out)
{
	struct ob_mime_message m;
	struct ob_err err;
	struct ob_mime_attachment att = {filename, "application/pdf", "%PDF", 4};

	base_message(&m);
	m.att = &att;
	m.natt = 1;
	ob_buf_reset(out);
	ob_err_clear(&err);
	if (ob_mime_build(&m, out, &err) < 0)
		ob_buf_adds(out, err.msg);
}

DEF_TEST(filenames)
{
	struct ob_buf out;
	char *f;

	ob_buf_init(&out, 0);
	build_with_file("\xc3\x85rsrapport for \xc3\x86\xc3\x98\xc3\x85.pdf", &out);
	EXPECT_HAS("Content-Type: application/pdf; name=\"Aarsrapport for AeOeAa.pdf\"\r\n", out.data);
	/* urllib.parse.quote("Årsrapport for ÆØÅ.pdf") */
	EXPECT_HAS("Content-Disposition: attachment;\r\n filename*=UTF-8''%C3%85rsrapport%20for%20%C3%86%C3%98%C3%85.pdf\r\n",
		   out.data);

	/* A path is not a name. */
	build_with_file("../../etc/passwd", &out);
	EXPECT_HAS("Content-Disposition: attachment; filename=\"_._.._etc_passwd\"\r\n\r\n", out.data);
	OK(strstr(out.data, "filename*") == NULL);

	/* Long: the ASCII name is cut to 60 with its extension, the RFC 2231
	 * name is split into lines of at most 76 on character boundaries. */
	struct ob_buf in;
	ob_buf_init(&in, 0);
	for (int i = 0; i < 5; i++)
		ob_buf_adds(&in, "Opsigelse af \xc3\x98konomisystem \xe2\x80\x94 ");
	ob_buf_adds(&in, "bilag.pdf");
	build_with_file(in.data, &out);
	EXPECT_HAS("name=\"Opsigelse af Oekonomisystem _ Opsigelse af Oekonomisyste.pdf\"\r\n", out.data);
	EXPECT_HAS("\r\n filename*0*=UTF-8''Opsigelse%20af%20%C3%98konomisystem", out.data);
	EXPECT_HAS(";\r\n filename*1*=", out.data);
	f = filename_star(out.data);
	EXPECT_STR(in.data, f);
	free(f);
	{
		const char *cd = strstr(out.data, "Content-Disposition:");
		size_t e = (size_t)(strstr(cd, "\r\n\r\n") - out.data);
		TAP_RESULT(longest_line(out.data, (size_t)(cd - out.data), e) <= 76, "attachment header lines <= 76");
		/* no segment ends inside a character: each decodes to UTF-8 */
		int whole = 1;
		for (const char *p = cd; (p = strstr(p, "filename*")) != NULL && p < out.data + e; p++) {
			const char *v = strchr(p, '=') + 1, *x;
			struct ob_buf seg;
			ob_buf_init(&seg, 0);
			if (strncmp(v, "UTF-8''", 7) == 0)
				v += 7;
			for (x = v; *x != ';' && *x != '\r'; x++) {
				if (*x == '%') {
					ob_buf_addc(&seg, (char)(hexval(x[1]) * 16 + hexval(x[2])));
					x += 2;
				} else {
					ob_buf_addc(&seg, *x);
				}
			}
			if (!utf8_valid(seg.data ? seg.data : "", seg.len))
				whole = 0;
			ob_buf_free(&seg);
		}
		OK(whole);
	}
	ob_buf_free(&in);

	/* No name: no parameters. */
	build_with_file(NULL, &out);
	EXPECT_HAS("Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
		   "Content-Disposition: attachment\r\n\r\nJVBERg==\r\n",
		   out.data);
	ob_buf_free(&out);
}

/* Timing means nothing under valgrind or the sanitizers: report, skip. */
#if defined(__SANITIZE_ADDRESS__)
#define OB_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OB_TEST_SANITIZED 1
#endif
#endif
#ifndef OB_TEST_SANITIZED
#define OB_TEST_SANITIZED 0
#endif

static const char *slow_reason(void)
{
	const char *pre = getenv("LD_PRELOAD");
	if (getenv("VALGRIND") != NULL || (pre && strstr(pre, "vgpreload")))
		return "valgrind";
	return OB_TEST_SANITIZED ? "the sanitizers" : NULL;
}

DEF_TEST(speed)
{
	struct ob_mime_message m;
	struct ob_err err;
	struct ob_mime_attachment att = {"P\xc3\xa5mindelse.pdf", "application/pdf", att_data, sizeof(att_data)};
	struct timespec t0, t1;
	const char *slow = slow_reason();
	int n = slow && strcmp(slow, "valgrind") == 0 ? 10 : 1000, ok = 1;

	base_message(&m);
	m.subject = dk_subject;
	m.html = "<p>Hej</p>\n";
	m.att = &att;
	m.natt = 1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (int i = 0; i < n; i++) {
		struct ob_buf out;
		ob_buf_init(&out, 0);
		if (ob_mime_build(&m, &out, &err) < 0 || out.len < sizeof(att_data))
			ok = 0;
		ob_buf_free(&out);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / n;
	printf("# %d messages with a 100 KB attachment: %.1f us CPU each\n", n, us);
	OK(ok);
	if (slow)
		TAP_RESULT(1, "# SKIP timing under %s", slow);
	else
		TAP_RESULT(us < 1000.0, "%.1f us per message < 1000 us", us);
}

int main(void)
{
	RUN_TEST(decoders_on_python_encodings);
	RUN_TEST(encode_word);
	RUN_TEST(addr_valid);
	RUN_TEST(build_refuses);
	RUN_TEST(text_only);
	RUN_TEST(date_local_offset);
	RUN_TEST(subject_and_names);
	RUN_TEST(header_injection);
	RUN_TEST(quoted_printable);
	RUN_TEST(multipart_and_base64);
	RUN_TEST(filenames);
	RUN_TEST(speed);
	END_TEST;
}
