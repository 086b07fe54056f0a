/* mime.h - builds an Internet message (RFC 5322, MIME RFC 2045-2047, RFC
 * 2231 parameters): a reminder with a text and an HTML body and PDF
 * attachments, with CRLF line ends, ready for SMTP or an .eml file.
 *
 * No value that reaches a header can start a new header: addresses and the
 * message id are checked and refused, text (subject, display names, file
 * names) has its control characters (CR, LF, TAB, ...) replaced by spaces and
 * is written as RFC 2047 encoded words when it is not plain ASCII. */
#ifndef OB_MIME_H
#define OB_MIME_H

#include <stddef.h>
#include <time.h>

#include "util.h"

/* Everything below is borrowed: ob_mime_build reads it and keeps nothing. */
struct ob_mime_addr {
	const char *name;  /* display name, UTF-8; NULL or "" = none */
	const char *email; /* a plain addr-spec, see ob_mime_addr_valid */
};

struct ob_mime_attachment {
	const char *filename;     /* UTF-8; NULL = no file name */
	const char *content_type; /* "application/pdf" (type/subtype, no
				     parameters); NULL = application/octet-stream */
	const void *data;
	size_t len;
};

struct ob_mime_message {
	struct ob_mime_addr from;
	const struct ob_mime_addr *to; /* at least one */
	size_t nto;
	const struct ob_mime_addr *cc;
	size_t ncc;
	const struct ob_mime_addr *reply_to; /* NULL = none */
	const char *subject;                 /* UTF-8; NULL = empty */
	/* "<outbox-42.20261126@overblik.example.dk>" (the brackets may be left
	 * out): stable per outbox message, made by the caller; it also seeds
	 * the MIME boundaries, so a message builds to the same bytes twice. */
	const char *message_id;
	time_t date; /* the Date header, local time with its offset; 0 = now */
	const char *text; /* text/plain body, UTF-8, LF or CRLF line ends; NULL = "" */
	const char *html; /* text/html body, UTF-8; NULL = text only */
	const struct ob_mime_attachment *att;
	size_t natt;
};

/* Appends the whole message to out: headers (Date, Message-ID, From, To,
 * Cc if any, Reply-To if set, Subject, MIME-Version, Auto-Submitted,
 * Content-Type) and a body that is
 *   text/plain                                     with no html, no attachments
 *   multipart/alternative (text/plain, text/html)  with html, no attachments
 *   multipart/mixed (the above, attachment, ...)   with attachments
 * Text parts are UTF-8 in quoted-printable, attachments base64 in 76-column
 * lines. An attachment's name is Content-Type name="ASCII fallback" (æ ->
 * ae, ø -> oe, å -> aa, other non-ASCII -> '_', at most 60 characters) and
 * Content-Disposition filename="name" when the name is plain ASCII, else
 * filename*=UTF-8''%XX (RFC 2231, split as filename*0*=... when long).
 * Boundaries derive from the message id and are checked against the
 * content. Header lines are folded at 76 characters (a single address or
 * message id that is longer stays on one line). Every line ends in CRLF.
 * Returns 0, or -1 with err ("mime: To[1]: \"x y\" is not an e-mail
 * address", a bad message id or content type, no To, or out's size cap);
 * on -1 out is left as it was. */
int ob_mime_build(const struct ob_mime_message *m, struct ob_buf *out, struct ob_err *err);

/* Appends utf8 as header text. Control characters (CR, LF, TAB, ...)
 * become one space per run, invalid UTF-8 becomes U+FFFD, white space at
 * both ends goes. Then printable ASCII in words of at most 66 characters
 * with no "=?" passes unchanged (folded with "\r\n " before a word that
 * would end past column 76); anything else becomes RFC 2047 encoded words
 * (=?UTF-8?Q?...?= or =?UTF-8?B?...?=, whichever is shorter), each at most
 * 75 characters, holding whole UTF-8 characters and split before a space
 * where possible, the second and later ones on folded lines, so no line is
 * longer than 76. Returns 0, -1 past out's size cap. */
int ob_mime_encode_word(const char *utf8, struct ob_buf *out);

/* 1 if email is a plain addr-spec we are willing to put in a header:
 * local@domain, at most 254 characters, a dot-atom local part of at most
 * 64 characters and a domain of letters, digits, '-' and dots (IDNs must
 * be punycode already). No CR, LF, NUL, space, <>, quotes, comments or
 * domain literals. 0 otherwise (NULL included). */
int ob_mime_addr_valid(const char *email);

#endif
