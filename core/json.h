/* json.h - strict JSON in: cJSON's parser behind the checks it does not make.
 *
 * cJSON takes the last of two equal keys as well as the first (and a lookup
 * finds the first), cuts a string at "\u0000", accepts raw control
 * characters and bytes that are not UTF-8 inside strings, and reports a
 * nesting past its limit as a syntax error. Everything that reaches overblik
 * as JSON (the configuration, request bodies, KITOS files) goes through
 * ob_json_parse() instead, which refuses each of these by name and place:
 *
 *   line 1, column 22: duplicate key "dry_run" (first at line 1, column 2)
 */
#ifndef OB_JSON_H
#define OB_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define OB_JSON_MAX_DEPTH 64 /* objects and arrays nested deeper are refused */

enum {
	/* Bytes that are not UTF-8 inside strings are left for the caller
	 * (a KITOS import skips the one object that has them). */
	OB_JSON_LAX_UTF8 = 1 << 0,
	/* Each "\u0000" is rewritten in the (mutable) text as the bytes
	 * C0 80 C0 80 C0 80, which are not UTF-8 and so survive cJSON: the
	 * caller finds them with ob_json_has_nul() and names the value,
	 * instead of the whole text being refused. */
	OB_JSON_MARK_NUL = 1 << 1,
};

enum ob_json_code {
	OB_JSON_E_SYNTAX = 1, /* not JSON */
	OB_JSON_E_TRAILING,   /* data after the value */
	OB_JSON_E_DUPLICATE,  /* a key twice in one object: first_offset is the first */
	OB_JSON_E_DEPTH,      /* nested deeper than max_depth */
	OB_JSON_E_NUL,        /* "\u0000", or a raw NUL byte, in a string */
	OB_JSON_E_CONTROL,    /* a raw control character in a string */
	OB_JSON_E_SURROGATE,  /* a lone UTF-16 surrogate */
	OB_JSON_E_UTF8,       /* bytes that are not UTF-8 in a string */
	OB_JSON_E_RANGE,      /* a number past a double */
};

struct ob_json_error {
	enum ob_json_code code;
	size_t offset;       /* byte of the problem in text */
	size_t first_offset; /* OB_JSON_E_DUPLICATE: where the key was first */
	long line, col; /* 1-based; col counts characters */
	char what[320]; /* "duplicate key \"dry_run\" (first at line 1, column 2)" */
};

/* Parses text[0..len): one JSON value, optionally after a UTF-8 byte order
 * mark and with blank space around it. Refused, with e filled: syntax
 * errors, data after the value, a key twice in one object, nesting deeper
 * than max_depth (0: OB_JSON_MAX_DEPTH), "\u0000" or a raw control
 * character in a string, lone UTF-16 surrogates, bytes that are not UTF-8
 * (unless OB_JSON_LAX_UTF8), numbers that overflow a double. Returns the
 * tree (cJSON_Delete it) or NULL. With OB_JSON_MARK_NUL text is written to
 * and must not be a literal. */
cJSON *ob_json_parse(char *text, size_t len, unsigned flags, unsigned max_depth, struct ob_json_error *e);

/* 1 if s holds a "\u0000" marked by OB_JSON_MARK_NUL. */
int ob_json_has_nul(const char *s);

/* Appends s to out as a JSON string's contents for a message: quotes and
 * backslashes escaped, control characters and bytes that are not UTF-8 as
 * \xHH, at most max characters (then "..."). out has outsz bytes. */
void ob_json_quote_for_message(const char *s, size_t slen, size_t max, char *out, size_t outsz);

#endif
