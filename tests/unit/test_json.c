/* test_json.c - the strict JSON parser: what cJSON lets through is refused
 * by name and place. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "../tap.h"

/* Parses a copy of text; returns the message ("L:C: what") or "ok". */
static const char *parse(const char *text, size_t len, unsigned flags, unsigned depth)
{
	static char out[400];
	struct ob_json_error e;
	char *copy = malloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	cJSON *root = ob_json_parse(copy, len, flags, depth, &e);
	if (root)
		snprintf(out, sizeof(out), "ok");
	else
		snprintf(out, sizeof(out), "%ld:%ld: %s", e.line, e.col, e.what);
	cJSON_Delete(root);
	free(copy);
	return out;
}
#define P(s) parse(s, strlen(s), 0, 0)

DEF_TEST(accepts)
{
	EXPECT_EQ_STR("ok", P("{\"a\": 1, \"b\": [true, false, null, \"x\", -1.5e3]}"));
	EXPECT_EQ_STR("ok", P("  [ ]  \n"));
	EXPECT_EQ_STR("ok", P("\xEF\xBB\xBF{\"navn\": \"Nørre Vesterå\"}"));
	EXPECT_EQ_STR("ok", P("{\"a\": {\"x\": 1}, \"b\": {\"x\": 2}}")); /* same key, other objects */
	EXPECT_EQ_STR("ok", P("\"\\ud83d\\ude00 \\u00e6\""));
	EXPECT_EQ_STR("ok", P("{\"a\": 1, \"A\": 2, \"a \": 3}")); /* keys are bytes */
}

DEF_TEST(duplicates)
{
	EXPECT_EQ_STR("1:19: duplicate key \"dry_run\" (first at line 1, column 2)",
		      P("{\"dry_run\": true, \"dry_run\": false}"));
	/* an escaped spelling of the same key is the same key */
	EXPECT_EQ_STR("1:11: duplicate key \"ab\" (first at line 1, column 2)", P("{\"ab\": 1, \"a\\u0062\": 2}"));
	EXPECT_EQ_STR("2:3: duplicate key \"x\" (first at line 1, column 8)", P("{\"a\": {\"x\": 1,\n  \"x\": 2}}"));
	/* many keys: the first repeated one in text order */
	char big[200000];
	size_t o = 0;
	o += (size_t)sprintf(big + o, "{");
	for (int i = 0; i < 10000; i++)
		o += (size_t)sprintf(big + o, "\"k%d\":%d,", i, i);
	o += (size_t)sprintf(big + o, "\"k17\":1}");
	EXPECT_CONTAINS("duplicate key \"k17\" (first at line 1, column ", parse(big, o, 0, 0));
	struct ob_json_error e;
	char dup[] = "{\"a\": 1, \"b\": 2, \"a\": 3}";
	OK(ob_json_parse(dup, strlen(dup), 0, 0, &e) == NULL);
	EXPECT_EQ_INT(OB_JSON_E_DUPLICATE, e.code);
	EXPECT_EQ_INT(1, e.first_offset);
	EXPECT_EQ_INT(17, e.offset);
}

DEF_TEST(trailing_and_syntax)
{
	EXPECT_EQ_STR("1:19: data after the JSON value", P("{\"dry_run\": true} xyz"));
	EXPECT_EQ_STR("1:3: data after the JSON value", P("{}{}"));
	EXPECT_EQ_STR("1:1: object not closed before the end", P("{\"a\": 1"));
	EXPECT_EQ_STR("1:7: expected a value", P("{\"a\": }"));
	EXPECT_EQ_STR("1:1: unexpected end, expected a value", P(""));
	EXPECT_EQ_STR("1:9: expected ',' or '}'", P("{\"a\": 1 \"b\": 2}"));
	EXPECT_EQ_STR("1:2: expected a key in double quotes", P("{a: 1}"));
	EXPECT_EQ_STR("1:3: expected a digit after the decimal point", P("1.e5"));
}

DEF_TEST(depth)
{
	char deep[3000];
	memset(deep, '[', 1500);
	memset(deep + 1500, ']', 1500);
	EXPECT_EQ_STR("1:65: nested deeper than 64 levels", parse(deep, 3000, 0, 0));
	EXPECT_EQ_STR("ok", parse(deep + 1500 - 64, 128, 0, 0));
	EXPECT_EQ_STR("1:3: nested deeper than 2 levels", parse("[[[]]]", 6, 0, 2));
}

DEF_TEST(strings)
{
	EXPECT_EQ_STR("1:6: \\u0000 (NUL) in a string", P("[\"nul\\u0000byte\"]"));
	EXPECT_EQ_STR("1:4: NUL byte in a string", parse("[\"a\0b\"]", 7, 0, 0));
	EXPECT_EQ_STR("1:4: control character 0x0A in a string (write it as \\u000A)", P("[\"a\nb\"]"));
	EXPECT_EQ_STR("1:4: byte 0xFF in a string is not UTF-8", P("[\"a\xff\"]"));
	EXPECT_EQ_STR("1:4: byte 0xC3 in a string is not UTF-8", P("[\"a\xc3\"]"));      /* truncated */
	EXPECT_EQ_STR("1:4: byte 0xED in a string is not UTF-8", P("[\"a\xed\xa0\x80\"]")); /* surrogate */
	EXPECT_EQ_STR("1:4: byte 0xC0 in a string is not UTF-8", P("[\"a\xc0\xaf\"]"));     /* overlong */
	EXPECT_EQ_STR("ok", parse("[\"a\xff\"]", 6, OB_JSON_LAX_UTF8, 0));
	EXPECT_EQ_STR("1:3: \\uD800: a UTF-16 high surrogate without its low half", P("[\"\\ud800x\"]"));
	EXPECT_EQ_STR("1:3: \\uDC00: a lone UTF-16 low surrogate", P("[\"\\udc00\"]"));
	EXPECT_EQ_STR("1:3: unknown escape \\x in a string", P("[\"\\x41\"]"));
	EXPECT_EQ_STR("1:2: string not closed before the end", P("[\"abc"));
	EXPECT_EQ_STR("1:11: duplicate key \"a\\\"\\xFF\" (first at line 1, column 2)",
		      parse("{\"a\\\"\xff\":1,\"a\\\"\xff\":2}", 19, OB_JSON_LAX_UTF8, 0));
}

DEF_TEST(mark_nul)
{
	char text[] = "{\"name\": \"nul\\u0000byte\", \"ok\": \"fine\"}";
	struct ob_json_error e;
	cJSON *root = ob_json_parse(text, strlen(text), OB_JSON_MARK_NUL, 0, &e);
	OK(root != NULL);
	if (root == NULL)
		return;
	const char *name = cJSON_GetObjectItemCaseSensitive(root, "name")->valuestring;
	EXPECT_EQ_INT(1, ob_json_has_nul(name));
	EXPECT_EQ_INT(0, ob_json_has_nul(cJSON_GetObjectItemCaseSensitive(root, "ok")->valuestring));
	EXPECT_EQ_INT(13, strlen(name)); /* "nul" + 6 marker bytes + "byte": not cut */
	cJSON_Delete(root);
}

DEF_TEST(numbers)
{
	EXPECT_EQ_STR("1:2: number 1e999 is out of range", P("[1e999]"));
	EXPECT_EQ_STR("ok", P("[99999999999999999999]")); /* a double; the caller checks its range */
	EXPECT_EQ_STR("1:3: expected ',' or ']'", P("[01]"));
	EXPECT_EQ_STR("1:2: expected a value", P("[+1]"));
	EXPECT_EQ_STR("1:2: expected a value", P("[NaN]"));
}

DEF_TEST(quote_for_message)
{
	char out[64];
	ob_json_quote_for_message("a\xff\"b\\\x01ø", 8, 60, out, sizeof(out));
	EXPECT_EQ_STR("a\\xFF\\\"b\\\\\\x01ø", out);
	ob_json_quote_for_message("æøåæøå", strlen("æøåæøå"), 3, out, sizeof(out));
	EXPECT_EQ_STR("æøå...", out);
	ob_json_quote_for_message("abcdefgh", 8, 60, out, 5);
	EXPECT_EQ_STR("abcd", out);
}

int main(void)
{
	RUN_TEST(accepts);
	RUN_TEST(duplicates);
	RUN_TEST(trailing_and_syntax);
	RUN_TEST(depth);
	RUN_TEST(strings);
	RUN_TEST(mark_nul);
	RUN_TEST(numbers);
	RUN_TEST(quote_for_message);
	END_TEST;
}
