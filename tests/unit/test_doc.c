/* test_doc.c - the typed document model (core/doc.c): the ABI's calls refuse
 * a bad argument and add nothing; document.json is in cJSON_Print's layout;
 * ob_doc_from_json reads it back to the same model (the same JSON, the same
 * PDF) and names what is wrong in a bad one, as the renderer did. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "doc.h"
#include "overblik/plugin.h"
#include "render_pdf.h"
#include "run.h"
#include "sample.h"
#include "util.h"
#include "../tap.h"

static char *to_json(const struct ob_doc *d)
{
	struct ob_buf b;

	ob_buf_init(&b, 0);
	ob_doc_to_json(d, &b);
	return ob_buf_steal(&b);
}

/* The loader's message for text, or "ok". */
static const char *load(const char *text)
{
	static struct ob_err err;
	cJSON *root = cJSON_Parse(text);
	struct ob_doc *d = NULL;

	ob_err_clear(&err);
	if (root == NULL)
		return "unparsable test input";
	if (ob_doc_from_json(root, &d, &err) == 0)
		snprintf(err.msg, sizeof err.msg, "ok");
	ob_doc_free(d);
	cJSON_Delete(root);
	return err.msg;
}

#define EL(x) "{\"title\": \"T\", \"elements\": [" x "]}"

/* A bad document.json and what the loader says of it. */
static const struct {
	const char *json, *msg;
} BAD[] = {
	{EL("{\"type\": \"note\", \"text\": \"x\"}"),
	 "ok"},
	{"[]",
	 "document: is not an object"},
	{"{\"title\": \"T\"}",
	 "document: elements is missing"},
	{"{\"title\": 1, \"elements\": []}",
	 "document: title is not a string"},
	{EL("1"),
	 "element 0 (?): is not an object"},
	{EL("{\"type\": \"note\", \"text\": \"\"}, {}"),
	 "element 1 (?): type is missing"},
	{EL("{\"type\": \"box\"}"),
	 "element 0 (?): type \"box\" is not section, para, kpi, table, chart, note or list"},
	{EL("{\"type\": \"section\", \"level\": 3, \"title\": \"x\"}"),
	 "element 0 (section): level 3 is not a whole number from 1 to 2"},
	{EL("{\"type\": \"section\", \"level\": 1, \"title\": \"x\", \"landscape\": 1}"),
	 "element 0 (section): landscape is not true or false"},
	{EL("{\"type\": \"para\", \"runs\": [{\"text\": \"a\"}, {}]}"),
	 "element 0 (para): run 1: text is missing"},
	{EL("{\"type\": \"list\", \"items\": [\"a\", 2]}"),
	 "element 0 (list): item 1: is not a string"},
	{EL("{\"type\": \"kpi\", \"label\": \"x\"}"),
	 "element 0 (kpi): value is missing"},
	{EL("{\"type\": \"kpi\", \"label\": \"x\", \"value\": 1, \"decimals\": 7}"),
	 "element 0 (kpi): decimals 7 is not a whole number from 0 to 6"},
	{EL("{\"type\": \"kpi\", \"label\": \"x\", \"value\": 1, \"previous\": \"2\"}"),
	 "element 0 (kpi): previous is not a number"},
	{EL("{\"type\": \"table\", \"columns\": [{\"header\": \"a\"}, {\"header\": \"b\", \"align\": " "\"middle\"}], \"rows\": []}"),
	 "element 0 (table): column 1: align \"middle\" is not left, right or center"},
	{EL("{\"type\": \"table\", \"columns\": [{\"header\": \"a\", \"width\": -1}], \"rows\": []}"),
	 "element 0 (table): column 0: width -1 is negative"},
	{EL("{\"type\": \"table\", \"columns\": [{\"header\": \"a\", \"format\": \"money\"}], " "\"rows\": []}"),
	 "element 0 (table): column 0: format \"money\" is not text, number, date or percent"},
	{EL("{\"type\": \"table\", \"columns\": [], \"rows\": []}"),
	 "element 0 (table): columns is empty"},
	{EL("{\"type\": \"table\", \"columns\": [{\"header\": \"a\"}], \"rows\": [{\"cells\": " "[\"x\"]}, {\"cells\": [\"x\", null]}]}"),
	 "element 0 (table): row 1: 2 cells for 1 columns"},
	{EL("{\"type\": \"table\", \"columns\": [{\"header\": \"a\"}], \"rows\": [{\"cells\": [1]}]}"),
	 "element 0 (table): row 0: cell 0 is not a string or null"},
	{EL("{\"type\": \"table\", \"columns\": [{\"header\": \"a\"}], \"rows\": [{\"cells\": [\"x\"], " "\"status\": \"blue\"}]}"),
	 "element 0 (table): row 0: status \"blue\" is not green, amber or red"},
	{EL("{\"type\": \"table\", \"columns\": [{\"header\": \"a\"}, {\"header\": \"b\"}], \"rows\": " "[{\"cells\": [\"x\", \"y\"], \"cell_status\": [null, \"pink\"]}]}"),
	 "element 0 (table): row 0: cell_status 1 \"pink\" is not green, amber or red"},
	{EL("{\"type\": \"table\", \"columns\": [{\"header\": \"a\"}], \"rows\": [{\"cells\": [\"x\"], " "\"cell_status\": [\"red\", null]}]}"),
	 "element 0 (table): row 0: cell_status has 2 entries for 1 columns"},
	{EL("{\"type\": \"chart\", \"labels\": [\"a\", \"b\"], \"series\": [{\"values\": [1]}]}"),
	 "element 0 (chart): series 0: 1 values for 2 labels"},
	{EL("{\"type\": \"chart\", \"labels\": [\"a\", \"b\"], \"series\": [{\"values\": [1, " "\"2\"]}]}"),
	 "element 0 (chart): series 0: value 1 is not a number"},
	{EL("{\"type\": \"chart\", \"labels\": [1], \"series\": []}"),
	 "element 0 (chart): label 0 is not a string"},
	{EL("{\"type\": \"note\"}"),
	 "element 0 (note): text is missing"},
};

DEF_TEST(loader_messages)
{
	for (size_t i = 0; i < OB_ARRAY_LEN(BAD); i++)
		EXPECT_EQ_STR(BAD[i].msg, load(BAD[i].json));
}

/* The ABI's calls: a bad argument is refused, with a message, and adds nothing. */
DEF_TEST(refused_at_the_call)
{
	struct ob_doc *d = ob_doc_new();
	struct ob_err err = {{0}};
	struct ob_kpi k = {sizeof(k), "Andel", 1.5, "%", 9, 0, 0};
	struct ob_column cols[2] = {{sizeof(struct ob_column), "A", 1, OB_ALIGN_LEFT, OB_FMT_NUMBER, 2},
				    {sizeof(struct ob_column), "B", 0, OB_ALIGN_RIGHT, OB_FMT_NUMBER, 7}};
	const double bad[2] = {1, NAN};
	const char *labels[2] = {"x", "y"};
	struct ob_series s = {sizeof(s), "S", bad};
	struct ob_chart ch = {.size = sizeof(ch), .labels = labels, .nlabels = 2, .series = &s, .nseries = 1};
	const char *cells[2] = {"1", NULL};
	struct ob_table *t;

	EXPECT_EQ_INT(-1, ob_doc_add_kpi(d, &k, &err));
	EXPECT_EQ_STR("kpi \"Andel\": decimals 9 is not from 0 to 6", err.msg);
	ob_err_clear(&err);
	k.decimals = 1;
	k.value = INFINITY;
	EXPECT_EQ_INT(-1, ob_doc_add_kpi(d, &k, &err));
	EXPECT_EQ_STR("kpi \"Andel\": value is not a finite number", err.msg);
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_doc_add_section(d, 3, "Tre", 0, 0, &err));
	EXPECT_EQ_STR("section \"Tre\": level 3 is not 1 or 2", err.msg);
	ob_err_clear(&err);
	OK(ob_doc_add_table(d, cols, 2, &err) == NULL);
	EXPECT_EQ_STR("table: column 1: decimals 7 is not from 0 to 6", err.msg);
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_doc_add_chart(d, &ch, &s, &err));
	EXPECT_EQ_STR("chart: series 0: value 1 is not a finite number", err.msg);
	ob_err_clear(&err);
	EXPECT_EQ_INT(0, (int)d->nels);

	cols[1].decimals = 0;
	t = ob_doc_add_table(d, cols, 2, &err);
	OK(t != NULL);
	EXPECT_EQ_INT(-1, ob_doc_cell_status(t, 0, OB_DOC_ST_RED, &err));
	EXPECT_EQ_STR("cell_status: the table has no row yet", err.msg);
	ob_err_clear(&err);
	EXPECT_EQ_INT(0, ob_doc_add_row(t, cells, OB_DOC_ST_AMBER, &err));
	EXPECT_EQ_INT(-1, ob_doc_cell_status(t, 2, OB_DOC_ST_RED, &err));
	EXPECT_EQ_INT(0, ob_doc_cell_status(t, 1, OB_DOC_ST_RED, &err));
	EXPECT_EQ_INT(-1, ob_doc_add_row(t, NULL, OB_DOC_ST_NONE, &err));
	EXPECT_EQ_INT(1, (int)t->nrows);
	EXPECT_EQ_INT(1, (int)d->nels);
	ob_doc_free(d);
}

/* document.json is what cJSON_Print makes of it, for awkward strings and
 * numbers too; and it reads back to the same JSON. */
DEF_TEST(json_layout)
{
	struct ob_doc *d = ob_doc_new(), *back = NULL;
	struct ob_err err = {{0}};
	struct ob_text_run runs[3] = {{"tab\there \"q\" back\\slash \x01\x1f\x7f æøå", 0},
				      {"", OB_TEXT_BOLD},
				      {"line\nbreak\r\b\f", OB_TEXT_BOLD | OB_TEXT_ITALIC}};
	const double vals[6] = {0.1, 1.0 / 3, -0.0, 2147483648.0, 1e300, -2147483648.0};
	const char *labels[6] = {"a", "b", "c", "d", "e", "f"}, *items[2] = {"x", NULL};
	struct ob_series s[2] = {{sizeof(struct ob_series), "S", vals}, {sizeof(struct ob_series), NULL, NULL}};
	struct ob_chart ch = {sizeof(ch), NULL, 1, 0, labels, 6, s, 2, "v", NULL, 1};
	struct ob_kpi k = {sizeof(k), "K", 12345.678, NULL, 2, 1, 0.1 + 0.2};
	struct ob_column cols[1] = {{sizeof(struct ob_column), "H", 2.5, 7, 5, 1}};
	const char *cells[1] = {"1,5"};
	struct ob_table *t;
	char *a, *b;
	cJSON *root;

	OK(ob_doc_set_title(d, "Titel", NULL, &err) == 0);
	OK(ob_doc_add_section(d, 2, "Sek", 1, 1, &err) == 0);
	OK(ob_doc_add_para(d, runs, 3, &err) == 0);
	OK(ob_doc_add_list(d, items, 2, &err) == 0);
	OK(ob_doc_add_list(d, NULL, 0, &err) == 0);
	OK(ob_doc_add_kpi(d, &k, &err) == 0);
	OK(ob_doc_add_chart(d, &ch, s, &err) == 0);
	t = ob_doc_add_table(d, cols, 1, &err);
	OK(t != NULL && ob_doc_add_row(t, cells, OB_DOC_ST_GREEN, &err) == 0);
	OK(ob_doc_add_note(d, "n", &err) == 0);
	a = to_json(d);
	root = cJSON_Parse(a);
	OK(root != NULL);
	b = cJSON_Print(root);
	EXPECT_EQ_STR(b, a);
	EXPECT_CONTAINS("\"align\":\t\"right\"", a); /* 7 % 3, as the ABI always mapped it */
	OK(ob_doc_from_json(root, &back, &err) == 0);
	free(b);
	b = back ? to_json(back) : NULL;
	EXPECT_EQ_STR(a, b);
	free(a);
	free(b);
	cJSON_Delete(root);
	ob_doc_free(back);
	ob_doc_free(d);
}

static char *slurp(const char *path, size_t *n)
{
	char *data = NULL;
	FILE *f = fopen(path, "rb");
	long len;

	if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)len + 1);
		*n = fread(data, 1, (size_t)len, f);
	}
	if (f)
		fclose(f);
	return data;
}

/* The sample, built through the ABI, and the same sample read back from
 * its document.json: the same JSON, and the same PDF byte for byte. */
DEF_TEST(sample_round_trip)
{
	const char *src = getenv("OB_TOP_SRCDIR");
	char *templates = ob_xasprintf("%s/templates/da", src ? src : ".");
	char pa[] = "/tmp/test_doc_a_XXXXXX", pb[] = "/tmp/test_doc_b_XXXXXX";
	struct ob_render_meta meta = {"Nørre Vesterå Kommune", NULL, "2026-11-26", 7, 1795651200, "overblik", NULL,
				      NULL, NULL};
	struct ob_ctx *ctx = ob_ctx_standalone("2026-11-26", "Nørre Vesterå Kommune");
	struct ob_err err = {{0}};
	struct ob_doc *back = NULL;
	char *a = NULL, *b = NULL, *pdf_a, *pdf_b;
	size_t na = 0, nb = 0;
	cJSON *root;

	OK(ob_sample_build(ctx, templates, 120, &err) == 0);
	a = to_json(ob_ctx_document(ctx));
	root = cJSON_Parse(a);
	OK(ob_doc_from_json(root, &back, &err) == 0);
	b = back ? to_json(back) : NULL;
	EXPECT_EQ_STR(a, b);
	close(mkstemp(pa));
	close(mkstemp(pb));
	OK(ob_render_pdf(ob_ctx_document(ctx), &meta, pa, NULL, &err) == 0);
	OK(back && ob_render_pdf(back, &meta, pb, NULL, &err) == 0);
	EXPECT_EQ_STR("", err.msg);
	pdf_a = slurp(pa, &na);
	pdf_b = slurp(pb, &nb);
	OK(na > 10000 && na == nb && memcmp(pdf_a, pdf_b, na) == 0);
	unlink(pa);
	unlink(pb);
	free(pdf_a);
	free(pdf_b);
	free(a);
	free(b);
	free(templates);
	cJSON_Delete(root);
	ob_doc_free(back);
	ob_ctx_free(ctx);
}

/* Without a title, the renderer takes the report's; with neither it says so. */
DEF_TEST(title_missing)
{
	struct ob_doc *d = ob_doc_new();
	struct ob_err err = {{0}};
	char path[] = "/tmp/test_doc_t_XXXXXX";

	close(mkstemp(path));
	EXPECT_EQ_INT(-1, ob_render_pdf(d, NULL, path, NULL, &err));
	EXPECT_EQ_STR("document: title is missing", err.msg);
	unlink(path);
	ob_doc_free(d);
}

int main(void)
{
	RUN_TEST(loader_messages);
	RUN_TEST(refused_at_the_call);
	RUN_TEST(json_layout);
	RUN_TEST(sample_round_trip);
	RUN_TEST(title_missing);
	END_TEST;
}
