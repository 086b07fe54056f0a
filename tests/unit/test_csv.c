/* test_csv.c - the CSV reader and the value parsers (no database). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "../tap.h"

/* Reads every record of text into one string: records joined by " / ",
 * fields by "|", each record prefixed with its line ("3:a|b"); a field
 * whose bytes are bad is followed by "{utf8@LINE}" or "{nul@LINE}". On
 * error, the error message. The caller frees. */
static char *dump(const char *text, size_t len)
{
	struct ob_csv *r = ob_csv_open("t.csv", text, len);
	struct ob_err err;
	struct ob_buf b;
	char **f;
	size_t n;
	unsigned long line;
	int rc;

	ob_err_clear(&err);
	ob_buf_init(&b, 0);
	while ((rc = ob_csv_next(r, &f, &n, &line, &err)) == 1) {
		ob_buf_printf(&b, "%s%lu:", b.len ? " / " : "", line);
		for (size_t i = 0; i < n; i++) {
			unsigned long at = 0;
			const char *p = ob_csv_problem(r, i, &at);
			ob_buf_printf(&b, "%s%s", i ? "|" : "", p && strstr(p, "UTF-8") ? "" : f[i]);
			if (p)
				ob_buf_printf(&b, "{%s@%lu}", strstr(p, "UTF-8") ? "utf8" : "nul", at);
		}
	}
	if (rc < 0) {
		ob_buf_reset(&b);
		ob_buf_adds(&b, err.msg);
	}
	ob_csv_free(r);
	return ob_buf_steal(&b);
}

#define DUMP(s) dump((s), sizeof(s) - 1)

#define EXPECT_DUMP(want, text)                                                          \
	do {                                                                             \
		char *got_ = DUMP(text);                                                 \
		EXPECT_EQ_STR(want, got_);                                               \
		free(got_);                                                              \
	} while (0)

static char sep_of(const char *text)
{
	struct ob_csv *r = ob_csv_open("t.csv", text, strlen(text));
	struct ob_err err;
	char **f;
	size_t n;
	unsigned long line;
	char c;

	ob_err_clear(&err);
	ob_csv_next(r, &f, &n, &line, &err);
	c = ob_csv_separator(r);
	ob_csv_free(r);
	return c;
}

DEF_TEST(separator)
{
	EXPECT_EQ_INT(';', sep_of("a;b;c\n1;2;3\n"));
	EXPECT_EQ_INT(',', sep_of("a,b,c\n1;2;3\n"));
	/* Commas inside quotes do not count. */
	EXPECT_EQ_INT(';', sep_of("\"a,b,c\";d\n"));
	EXPECT_EQ_INT(',', sep_of("\"a;b;c\",d,e\n"));
	EXPECT_EQ_INT('\t', sep_of("a\tb\tc\n"));
	/* One column: ';' by default. */
	EXPECT_EQ_INT(';', sep_of("system_uuid\nx\n"));
	/* A tie goes to ';' (Danish Excel). */
	EXPECT_EQ_INT(';', sep_of("a;b,c\n"));
	EXPECT_DUMP("1:a|b,c / 2:1|2,5", "a;b,c\n1;2,5\n");
	EXPECT_DUMP("1:a|b;c|d / 2:1|2;5", "a,b;c,d\n1,2;5\n");
}

DEF_TEST(bom_and_line_ends)
{
	EXPECT_DUMP("1:system_uuid|kind / 2:x|y", "\xEF\xBB\xBFsystem_uuid;kind\r\nx;y\r\n");
	EXPECT_DUMP("1:a|b / 2:1|2", "a;b\n1;2");
	EXPECT_DUMP("1:a|b / 2:1|2", "a;b\r1;2\r");
	/* Trailing empty lines, and empty lines in between (still counted). */
	EXPECT_DUMP("1:a|b / 2:1|2", "a;b\n1;2\n\n\r\n\n");
	EXPECT_DUMP("1:a|b / 4:1|2", "a;b\n\r\n\n1;2\n");
	/* Empty fields, at the end too. */
	EXPECT_DUMP("1:a|b|c / 2:||", "a;b;c\n;;\n");
	EXPECT_DUMP("1:a||c / 2:|x|", "a;;c\n;x;\n");
	EXPECT_DUMP("", "");
	EXPECT_DUMP("", "\xEF\xBB\xBF");
	EXPECT_DUMP("", "\n\n");
}

DEF_TEST(quotes)
{
	EXPECT_DUMP("1:a|b / 2:x;y|z", "a;b\n\"x;y\";z\n");
	EXPECT_DUMP("1:a|b / 2:say \"hi\"|\"", "a;b\n\"say \"\"hi\"\"\";\"\"\"\"\n");
	EXPECT_DUMP("1:a|b / 2:|z", "a;b\n\"\";z\n");
	/* Embedded newlines: the record starts on line 2, the next on 5. */
	EXPECT_DUMP("1:a|b / 2:one\ntwo\nthree|z / 5:1|2", "a;b\n\"one\ntwo\nthree\";z\n1;2\n");
	/* A CRLF inside quotes is one newline and one line. */
	EXPECT_DUMP("1:a|b / 2:one\ntwo|z / 4:1|2", "a;b\r\n\"one\r\ntwo\";z\r\n1;2\r\n");
	/* Quoted fields with UTF-8. */
	EXPECT_DUMP("1:navn / 2:Grundlæggende; ÆØÅ", "navn\n\"Grundlæggende; ÆØÅ\"\n");
	/* Comma-separated with quoted commas. */
	EXPECT_DUMP("1:a|b / 2:1,5|x", "a,b\n\"1,5\",x\n");
}

DEF_TEST(errors)
{
	char *got;

	got = DUMP("a;b\n1;2\n\"open;x\ny;z\n");
	EXPECT_EQ_STR("t.csv:3: unterminated quoted field (the quote opened here is never closed)",
		      got);
	free(got);
	/* The line after an embedded newline. */
	got = DUMP("a;b\n\"x\ny\";2\n3;\"open\n");
	EXPECT_CONTAINS("t.csv:4: unterminated quoted field", got);
	free(got);
	got = DUMP("a;b\n1;2\nab\"c;d\n");
	EXPECT_CONTAINS("t.csv:3: field 1: quote inside an unquoted field", got);
	free(got);
	got = DUMP("a;b\n1;\"x\"y\n");
	EXPECT_CONTAINS("t.csv:2: field 2: 'y' after the closing quote", got);
	free(got);
}

/* Invalid UTF-8 and NUL bytes no longer stop the reader: the field is
 * marked with the line of the bad byte, the record and the next ones are
 * read, and ob_csv_problem() says which field. */
DEF_TEST(bad_bytes)
{
	/* Latin-1 (Excel's "CSV (semikolonsepareret)") is not UTF-8. */
	EXPECT_DUMP("1:a|b / 2:1|{utf8@2} / 3:x|y", "a;b\n1;Gr\xF8n\nx;y\n");
	/* Inside a quoted field on its second line. */
	EXPECT_DUMP("1:a|b / 2:1|{utf8@3} / 4:z|w", "a;b\n1;\"x\n\xC3\"\nz;w\n");
	/* A sequence cut short at the end of the field. */
	EXPECT_DUMP("1:a / 2:{utf8@2}", "a\n\xC3\xA6\xE2\x82\n");
	/* NUL, unquoted and quoted: left out of the text, the field marked. */
	EXPECT_DUMP("1:a / 2:xy{nul@2} / 3:ok", "a\nx\0y\nok\n");
	EXPECT_DUMP("1:a|b / 2:p|q\nr{nul@3} / 4:ok|ok", "a;b\np;\"q\nr\0\"\nok;ok\n");
	/* Both in one field: the NUL is named. */
	EXPECT_DUMP("1:a / 2:\xFF{nul@2}", "a\n\xFF\0\n");
	/* Only the bad field is marked. */
	EXPECT_DUMP("1:a|b|c / 2:ok|{utf8@2}|fine", "a;b;c\nok;\xC0\xAF;fine\n");
	/* Valid UTF-8 with emoji and æøå is fine. */
	EXPECT_DUMP("1:a / 2:bl\xC3\xA5 \xF0\x9F\x98\x80", "a\nbl\xC3\xA5 \xF0\x9F\x98\x80\n");
}

DEF_TEST(utf8)
{
	size_t bad = 99;
	EXPECT_EQ_INT(0, ob_utf8_check("blåbærgrød", strlen("blåbærgrød"), NULL));
	EXPECT_EQ_INT(-1, ob_utf8_check("ab\xC0\xAF", 4, &bad)); /* overlong '/' */
	EXPECT_EQ_INT(2, bad);
	EXPECT_EQ_INT(-1, ob_utf8_check("\xED\xA0\x80", 3, NULL)); /* surrogate */
	EXPECT_EQ_INT(-1, ob_utf8_check("\xF4\x90\x80\x80", 4, NULL)); /* > U+10FFFF */
	EXPECT_EQ_INT(0, ob_utf8_check("\xF0\x9F\x98\x80", 4, NULL));
	EXPECT_EQ_INT(-1, ob_utf8_check("\xE2\x82", 2, NULL));
	EXPECT_EQ_INT(10, ob_utf8_len("blåbærgrød"));
}

static double amount(const char *s, int *rc)
{
	double d = -1;
	*rc = ob_csv_parse_amount(s, &d, NULL);
	return d;
}

#define EXPECT_AMOUNT(want, s)                                                           \
	do {                                                                             \
		int rc_;                                                                 \
		double d_ = amount((s), &rc_);                                           \
		TAP_RESULT(rc_ == 1 && d_ - (want) < 0.001 && (want) - d_ < 0.001,                        \
			   "amount \"%s\" = %.2f (rc %d), want %.2f", (s), d_, rc_,        \
			   (double)(want));                                              \
	} while (0)

#define EXPECT_NOT_AMOUNT(s)                                                             \
	do {                                                                             \
		int rc_;                                                                 \
		(void)amount((s), &rc_);                                                 \
		TAP_RESULT(rc_ == -1, "amount \"%s\" refused (rc %d)", (s), rc_);        \
	} while (0)

DEF_TEST(amounts)
{
	int rc;
	const char *why = NULL;
	double d;

	EXPECT_AMOUNT(1234567.50, "1234567,50");
	EXPECT_AMOUNT(1234567.50, "1.234.567,50");
	EXPECT_AMOUNT(1234567.50, "1234567.50");
	EXPECT_AMOUNT(1234567.50, "1 234 567,50");
	EXPECT_AMOUNT(1234567.50, "1\xC2\xA0" "234\xC2\xA0" "567,50"); /* no-break spaces */
	EXPECT_AMOUNT(1234567.50, "1,234,567.50");
	EXPECT_AMOUNT(1234567.00, "1.234.567");
	EXPECT_AMOUNT(1234567.00, "1234567");
	EXPECT_AMOUNT(1234567.50, "  1.234.567,50 kr. ");
	EXPECT_AMOUNT(1234567.50, "DKK 1.234.567,50");
	EXPECT_AMOUNT(1234.5, "1234,5");
	EXPECT_AMOUNT(0.5, "0,5");
	EXPECT_AMOUNT(-250.25, "-250,25");
	EXPECT_AMOUNT(1234.0, "1234");
	EXPECT_AMOUNT(1234.56, "1.234,56");
	EXPECT_EQ_INT(0, amount("", &rc) > -2 ? rc : 9);
	EXPECT_EQ_INT(0, amount("   ", &rc) > -2 ? rc : 9);
	EXPECT_NOT_AMOUNT("1.234");         /* thousands or decimals? */
	EXPECT_NOT_AMOUNT("1,234");
	EXPECT_NOT_AMOUNT("123,456");
	EXPECT_NOT_AMOUNT("12.345");
	EXPECT_NOT_AMOUNT("1234,567");      /* three decimals */
	EXPECT_NOT_AMOUNT("12,3456");
	EXPECT_NOT_AMOUNT("12.34.567");     /* bad grouping */
	EXPECT_NOT_AMOUNT("1.2345.678,00");
	EXPECT_NOT_AMOUNT("1.234 567,00");  /* mixed grouping */
	EXPECT_NOT_AMOUNT("1,234.567,00");
	EXPECT_NOT_AMOUNT("1,23,45");
	EXPECT_NOT_AMOUNT("abc");
	EXPECT_NOT_AMOUNT("12abc");
	EXPECT_NOT_AMOUNT("1..2");
	EXPECT_NOT_AMOUNT(",50");
	EXPECT_NOT_AMOUNT("50,");
	EXPECT_NOT_AMOUNT("-");
	EXPECT_NOT_AMOUNT("1234567890123");  /* 13 integer digits */
	EXPECT_NOT_AMOUNT("1e6");
	rc = ob_csv_parse_amount("1.234", &d, &why);
	EXPECT_EQ_INT(-1, rc);
	EXPECT_CONTAINS("ambiguous", why);
	rc = ob_csv_parse_amount("1234,567", &d, &why);
	EXPECT_CONTAINS("decimals", why);
	rc = ob_csv_parse_amount("12.34.567", &d, &why);
	EXPECT_CONTAINS("grouping", why);
}

static int yesno(const char *s)
{
	int v = 42;
	int rc = ob_csv_parse_bool(s, &v);
	return rc == 1 ? v : rc == 0 ? 7 : -1;
}

DEF_TEST(bools)
{
	EXPECT_EQ_INT(1, yesno("ja"));
	EXPECT_EQ_INT(1, yesno("JA"));
	EXPECT_EQ_INT(1, yesno(" Ja "));
	EXPECT_EQ_INT(1, yesno("yes"));
	EXPECT_EQ_INT(1, yesno("1"));
	EXPECT_EQ_INT(1, yesno("True"));
	EXPECT_EQ_INT(1, yesno("j"));
	EXPECT_EQ_INT(1, yesno("x"));
	EXPECT_EQ_INT(1, yesno("X"));
	EXPECT_EQ_INT(0, yesno("nej"));
	EXPECT_EQ_INT(0, yesno("NEJ"));
	EXPECT_EQ_INT(0, yesno("no"));
	EXPECT_EQ_INT(0, yesno("0"));
	EXPECT_EQ_INT(0, yesno("false"));
	EXPECT_EQ_INT(0, yesno("n"));
	EXPECT_EQ_INT(7, yesno(""));
	EXPECT_EQ_INT(7, yesno("  "));
	EXPECT_EQ_INT(-1, yesno("måske"));
	EXPECT_EQ_INT(-1, yesno("2"));
	EXPECT_EQ_INT(-1, yesno("jaa"));
	EXPECT_EQ_INT(-1, yesno("yes please"));
}

static const struct ob_csv_enum category[] = {
	{"foundation", {"grundlæggende"}},
	{"cross_cutting", {"tværgående"}},
	{"line_of_business", {"fagsystem"}},
};
static const struct ob_csv_enum maturity[] = {
	{"green", {"grøn"}},
	{"yellow", {"gul"}},
	{"red", {"rød"}},
};
static const struct ob_csv_enum phase[] = {
	{"needs", {"behovsopgørelse"}},
	{"contract_followup", {"kontraktopfølgning", "drift"}},
};

static const char *en(const char *s, const struct ob_csv_enum *t, size_t n)
{
	const char *id = "(unset)";
	int rc = ob_csv_parse_enum(s, t, n, &id);
	return rc == 1 ? id : rc == 0 ? "(empty)" : "(none)";
}
#define CAT(s) en((s), category, OB_ARRAY_LEN(category))
#define MAT(s) en((s), maturity, OB_ARRAY_LEN(maturity))
#define PHASE(s) en((s), phase, OB_ARRAY_LEN(phase))

DEF_TEST(enums)
{
	char *exp;

	EXPECT_EQ_STR("foundation", CAT("foundation"));
	EXPECT_EQ_STR("foundation", CAT("Foundation"));
	EXPECT_EQ_STR("foundation", CAT("Grundlæggende"));
	EXPECT_EQ_STR("foundation", CAT("GRUNDLÆGGENDE"));
	EXPECT_EQ_STR("cross_cutting", CAT("Tværgående"));
	EXPECT_EQ_STR("cross_cutting", CAT("TVÆRGÅENDE"));
	EXPECT_EQ_STR("cross_cutting", CAT("cross cutting"));
	EXPECT_EQ_STR("cross_cutting", CAT("Cross-Cutting"));
	EXPECT_EQ_STR("line_of_business", CAT(" fagsystem "));
	EXPECT_EQ_STR("(empty)", CAT(""));
	EXPECT_EQ_STR("(empty)", CAT("  "));
	EXPECT_EQ_STR("(none)", CAT("grundlaeggende"));
	EXPECT_EQ_STR("(none)", CAT("fag"));
	EXPECT_EQ_STR("green", MAT("GRØN"));
	EXPECT_EQ_STR("green", MAT("grøn"));
	EXPECT_EQ_STR("green", MAT("Grøn"));
	EXPECT_EQ_STR("red", MAT("RØD"));
	EXPECT_EQ_STR("yellow", MAT("Gul"));
	EXPECT_EQ_STR("(none)", MAT("gron"));
	EXPECT_EQ_STR("needs", PHASE("BEHOVSOPGØRELSE"));
	EXPECT_EQ_STR("contract_followup", PHASE("Kontraktopfølgning"));
	EXPECT_EQ_STR("contract_followup", PHASE("DRIFT"));
	EXPECT_EQ_INT(1, ob_csv_streq_fold("ÆØÅ", "æøå"));
	EXPECT_EQ_INT(1, ob_csv_streq_fold("Årlig", "årlig"));
	EXPECT_EQ_INT(0, ob_csv_streq_fold("æ", "ø"));
	EXPECT_EQ_INT(0, ob_csv_streq_fold("\xC3\x97", "\xC3\xB7")); /* × is no capital of ÷ */
	exp = ob_csv_enum_expected(phase, OB_ARRAY_LEN(phase));
	EXPECT_EQ_STR("needs (behovsopgørelse), contract_followup (kontraktopfølgning, drift)", exp);
	free(exp);
}

int main(void)
{
	RUN_TEST(separator);
	RUN_TEST(bom_and_line_ends);
	RUN_TEST(quotes);
	RUN_TEST(errors);
	RUN_TEST(bad_bytes);
	RUN_TEST(utf8);
	RUN_TEST(amounts);
	RUN_TEST(bools);
	RUN_TEST(enums);
	END_TEST;
}
