/* csv.h - a CSV reader over text in memory (RFC 4180 as Excel writes it),
 * and the parsers for the values of the documented CSV (README "CSV"):
 * yes/no, amounts and enum identifiers with Danish aliases. */
#ifndef OB_CSV_H
#define OB_CSV_H

#include <stddef.h>

#include "util.h"

struct ob_csv;

/* Opens a reader over text[0..len). The text is borrowed and must outlive
 * the reader; name (copied) is the file name errors start with. A UTF-8
 * BOM is skipped. The separator is detected from the first record: ';',
 * ',' or tab, whichever occurs most outside quotes (';' on a tie, and when
 * there is none). Free with ob_csv_free(). */
struct ob_csv *ob_csv_open(const char *name, const char *text, size_t len);
void ob_csv_free(struct ob_csv *r);

/* Reads the next record. Returns 1 with *fields (n NUL-terminated strings,
 * owned by the reader and valid until the next call or ob_csv_free; the
 * caller may change their bytes in place, e.g. to shorten them) and *line,
 * the 1-based physical line the record starts on; 0 at the end; -1 with
 * err "NAME:LINE: problem" for an unterminated quote, a quote inside an
 * unquoted field or text after a closing quote: the structure of the file
 * is lost. After -1 the reader only returns -1.
 *
 * A field that is not valid UTF-8 or holds a NUL byte does not stop the
 * reader: the record is returned and ob_csv_problem() names the field (a
 * NUL is left out of the field's text, invalid bytes are kept as they
 * are; never echo them).
 *
 * Lines end in LF or CRLF (a lone CR too); quoted fields may hold
 * separators, newlines and "" for a quote. Empty lines are skipped (they
 * still count for line numbers), so trailing empty lines are no records.
 * Fields are returned as written, without trimming. */
int ob_csv_next(struct ob_csv *r, char ***fields, size_t *n, unsigned long *line,
		struct ob_err *err);

/* What is wrong with the bytes of field i of the record just read: NULL
 * if nothing, else a static phrase ("invalid UTF-8 (...)", "a NUL byte
 * ...") and *line (may be NULL), the physical line of the first bad byte. */
const char *ob_csv_problem(const struct ob_csv *r, size_t i, unsigned long *line);

/* The separator in use: ';', ',' or '\t'; detected on the first
 * ob_csv_next() (';' before that). */
char ob_csv_separator(const struct ob_csv *r);


/* Value parsers. Each ignores white space around the value and returns 1
 * with *out set, 0 for an empty value (SQL NULL; *out untouched), -1 if
 * the value is not one. */

/* yes/no: ja/nej, yes/no, j/n, y/n, 1/0, true/false, sand/falsk, and "x"
 * for yes (a ticked box); case-insensitive. */
int ob_csv_parse_bool(const char *s, int *out);

/* An amount in DKK: "1234567,50", "1.234.567,50", "1234567.50",
 * "1 234 567,50", "1,234,567.50", optionally with a sign and "kr."/"DKK".
 * At most 2 decimals and 12 integer digits. Ambiguous forms such as
 * "1.234" or "1,234" (thousands or decimals?) and malformed grouping
 * ("12.34.567") are refused. On -1, *why (may be NULL) gets a static
 * phrase saying what is wrong. */
int ob_csv_parse_amount(const char *s, double *out, const char **why);

/* One enum value: the identifier stored in the database, then up to five
 * aliases (Danish names), unused ones NULL. */
struct ob_csv_enum {
	const char *id;
	const char *alias[5];
};

/* Maps s to an identifier by comparing it with each id and alias with
 * ob_csv_streq_fold(). Returns 1 and *id (a static string from the
 * table), 0 for empty, -1 if nothing matches. */
int ob_csv_parse_enum(const char *s, const struct ob_csv_enum *table, size_t n, const char **id);

/* "id (alias), id (alias), ..." for messages; the caller frees. */
char *ob_csv_enum_expected(const struct ob_csv_enum *table, size_t n);

/* Compares two UTF-8 strings ignoring case, white space at both ends, and
 * the difference between ' ', '_' and '-'. Case folding covers ASCII and
 * the Latin-1 letters, so "GRØN" equals "grøn", "Grundlæggende" equals
 * "grundlæggende", "Årlig" equals "årlig". Returns 1 if equal, else 0. */
int ob_csv_streq_fold(const char *a, const char *b);

#endif
