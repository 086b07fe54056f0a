/* test_template.c - the template engine: values, sections, escaping,
 * errors with their lines, the standalone rule, the output cap and the
 * sample templates under templates/da (found through OB_TOP_SRCDIR). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "template.h"
#include "util.h"
#include "../tap.h"

/* Parses json with ' for " (so the tests stay readable); NULL stays NULL. */
static cJSON *json_of(const char *json)
{
	char *s;
	cJSON *j;

	if (json == NULL)
		return NULL;
	s = ob_xstrdup(json);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = cJSON_Parse(s);
	free(s);
	return j;
}

/* Renders text as template "t" (or name) and returns the output, or
 * "error: " and the message. The caller frees. */
static char *render_as(const char *name, const char *text, const char *json,
		       enum ob_tpl_escape esc)
{
	cJSON *ctx = json_of(json);
	struct ob_buf b;
	struct ob_err err;

	if (json != NULL && ctx == NULL)
		return ob_xasprintf("bad test JSON: %s", json);
	ob_err_clear(&err);
	ob_buf_init(&b, 0);
	if (ob_tpl_render(name, text, ctx, esc, &b, &err) < 0) {
		if (b.len != 0)
			ob_buf_adds(&b, " [output not rolled back]");
		ob_buf_printf(&b, "error: %s", err.msg);
	} else if (err.msg[0] != '\0') {
		ob_buf_printf(&b, " [error set on success: %s]", err.msg);
	}
	cJSON_Delete(ctx);
	return ob_buf_steal(&b);
}

#define EXPECT_RENDER_AS(want, name, text, json, esc)                                    \
	do {                                                                             \
		char *got_ = render_as((name), (text), (json), (esc));                   \
		EXPECT_EQ_STR(want, got_);                                               \
		free(got_);                                                              \
	} while (0)
#define EXPECT_RENDER(want, text, json) EXPECT_RENDER_AS(want, "t", text, json, OB_TPL_TEXT)
#define EXPECT_HTML(want, text, json) EXPECT_RENDER_AS(want, "t", text, json, OB_TPL_HTML)

DEF_TEST(values)
{
	EXPECT_RENDER("Hej Ada!", "Hej {{name}}!", "{'name':'Ada'}");
	EXPECT_RENDER("Hej Ada!", "Hej {{ name }}!", "{'name':'Ada'}");
	EXPECT_RENDER("Ada Ada", "{{name}} {{name}}", "{'name':'Ada'}");
	EXPECT_RENDER("a-b_c", "{{a-b_c}}", "{'a-b_c':'a-b_c'}");
	EXPECT_RENDER("[]", "[{{x}}]", "{'x':''}");
	EXPECT_RENDER("[]", "[{{x}}]", "{'x':null}");
	EXPECT_RENDER("ingen data", "ingen data", NULL);
	EXPECT_RENDER("", "", "{}");
	EXPECT_RENDER("Name", "{{Name}}", "{'name':'x','Name':'Name'}");
	EXPECT_RENDER("a } b { c", "a } b { c", "{}");
}

DEF_TEST(dotted_names)
{
	const char *j = "{'owner':{'name':'Bo','email':'bo@x.dk','unit':{'name':'IT'}}}";

	EXPECT_RENDER("Bo <bo@x.dk>", "{{owner.name}} <{{owner.email}}>", j);
	EXPECT_RENDER("IT", "{{owner.unit.name}}", j);
	EXPECT_RENDER("error: template t:1: no value for \"owner.phone\"", "{{owner.phone}}", j);
	EXPECT_RENDER("error: template t:1: no value for \"owner.name.first\"",
		      "{{owner.name.first}}", j);
	/* Mustache: only the first part looks outward; the rest stays inside. */
	EXPECT_RENDER("error: template t:1: no value for \"owner.email\"",
		      "{{#inner}}{{owner.email}}{{/inner}}",
		      "{'owner':{'email':'a'},'inner':{'owner':{'name':'b'}}}");
	EXPECT_RENDER("a", "{{#inner}}{{owner.email}}{{/inner}}",
		      "{'owner':{'email':'a'},'inner':{'x':1}}");
}

DEF_TEST(lists)
{
	EXPECT_RENDER("A:1;B:2;", "{{#items}}{{title}}:{{n}};{{/items}}",
		      "{'items':[{'title':'A','n':1},{'title':'B','n':2}]}");
	EXPECT_RENDER("[a][b][c]", "{{#tags}}[{{.}}]{{/tags}}", "{'tags':['a','b','c']}");
	EXPECT_RENDER("1,2.5,", "{{#n}}{{.}},{{/n}}", "{'n':[1,2.5]}");
	EXPECT_RENDER("<>", "<{{#items}}x{{/items}}>", "{'items':[]}");
	EXPECT_RENDER("<>", "<{{#items}}x{{/items}}>", "{}");
	EXPECT_RENDER("<>", "<{{#items}}x{{/items}}>", "{'items':null}");
	/* {{.}} on the root object: an object is not a value. */
	EXPECT_RENDER("error: template t:1: \".\" is an object, not a value", "{{.}}", "{}");
	EXPECT_RENDER("error: template t:1: \"items\" is a list, not a value", "{{items}}",
		      "{'items':[1]}");
	EXPECT_RENDER("error: template t:1: no value for \".\"", "{{.}}", NULL);
}

DEF_TEST(inverted)
{
	const char *t = "{{^items}}Ingen punkter.{{/items}}";

	EXPECT_RENDER("Ingen punkter.", t, "{}");
	EXPECT_RENDER("Ingen punkter.", t, "{'items':null}");
	EXPECT_RENDER("Ingen punkter.", t, "{'items':false}");
	EXPECT_RENDER("Ingen punkter.", t, "{'items':[]}");
	EXPECT_RENDER("Ingen punkter.", t, "{'items':{}}");
	EXPECT_RENDER("Ingen punkter.", t, "{'items':''}");
	EXPECT_RENDER("Ingen punkter.", t, "{'items':0}");
	EXPECT_RENDER("", t, "{'items':[1]}");
	EXPECT_RENDER("", t, "{'items':true}");
	EXPECT_RENDER("", t, "{'items':'x'}");
	EXPECT_RENDER("", t, "{'items':{'a':1}}");
	/* The body of an inverted section sees the same context. */
	EXPECT_RENDER("ingen hos IT", "{{^items}}ingen hos {{org}}{{/items}}", "{'org':'IT'}");
	EXPECT_RENDER("a", "{{#items}}a{{/items}}{{^items}}b{{/items}}", "{'items':[0]}");
}

DEF_TEST(nested_sections)
{
	const char *j = "{'org':'Kommunen','contracts':["
			"{'name':'K1','owners':[{'name':'Bo'},{'name':'Li','org':'Skolen'}]},"
			"{'name':'K2','owners':[]}]}";
	const char *t = "{{#contracts}}{{name}}@{{org}}:"
			"{{#owners}} {{name}}/{{org}}{{/owners}}"
			"{{^owners}} ingen{{/owners}};{{/contracts}}";

	EXPECT_RENDER("K1@Kommunen: Bo/Kommunen Li/Skolen;K2@Kommunen: ingen;", t, j);
	/* The same list nested in itself, the inner one from the element. */
	EXPECT_RENDER("a(1 2)b()", "{{#l}}{{n}}({{#l}}{{.}}{{/l}}){{/l}}",
		      "{'l':[{'n':'a','l':['1 ','2']},{'n':'b','l':[]}]}");
}

DEF_TEST(booleans_and_objects)
{
	const char *t = "{{#aktiv}}ja{{/aktiv}}{{^aktiv}}nej{{/aktiv}}";

	EXPECT_RENDER("ja", t, "{'aktiv':true}");
	EXPECT_RENDER("nej", t, "{'aktiv':false}");
	EXPECT_RENDER("nej", t, "{}");
	EXPECT_RENDER("true/false", "{{a}}/{{b}}", "{'a':true,'b':false}");
	/* A true section keeps the outer names. */
	EXPECT_RENDER("x=1", "{{#on}}x={{x}}{{/on}}", "{'on':true,'x':1}");
	/* A non-empty object renders once with itself as context. */
	EXPECT_RENDER("Bo (IT)", "{{#owner}}{{name}} ({{org}}){{/owner}}",
		      "{'owner':{'name':'Bo'},'org':'IT'}");
	EXPECT_RENDER("", "{{#owner}}x{{/owner}}", "{'owner':{}}");
	/* A string section: once, with {{.}} the string. */
	EXPECT_RENDER("Mail: a@b.dk", "{{#email}}Mail: {{.}}{{/email}}", "{'email':'a@b.dk'}");
	EXPECT_RENDER("", "{{#email}}Mail: {{.}}{{/email}}", "{'email':''}");
}

DEF_TEST(numbers)
{
	EXPECT_RENDER("7", "{{n}}", "{'n':7}");
	EXPECT_RENDER("7", "{{n}}", "{'n':7.0}");
	EXPECT_RENDER("-3", "{{n}}", "{'n':-3}");
	EXPECT_RENDER("0", "{{n}}", "{'n':0}");
	EXPECT_RENDER("0", "{{n}}", "{'n':-0.0}");
	EXPECT_RENDER("2.5", "{{n}}", "{'n':2.5}");
	EXPECT_RENDER("0.1", "{{n}}", "{'n':0.1}");
	EXPECT_RENDER("-1.25", "{{n}}", "{'n':-1.25}");
	EXPECT_RENDER("1250000", "{{n}}", "{'n':1250000}");
	EXPECT_RENDER("9007199254740991", "{{n}}", "{'n':9007199254740991}");
	EXPECT_RENDER("1e+20", "{{n}}", "{'n':1e20}");
	EXPECT_RENDER("0.30000000000000004", "{{n}}", "{'n':0.30000000000000004}");
	EXPECT_RENDER("nul", "{{#n}}x{{/n}}{{^n}}nul{{/n}}", "{'n':0}");
	EXPECT_RENDER("x", "{{#n}}x{{/n}}{{^n}}nul{{/n}}", "{'n':0.5}");
}

DEF_TEST(html_escaping)
{
	/* \u0027 is ', which json_of() would turn into ". */
	const char *j = "{'x':'<script>&\\\"\\u0027'}";

	EXPECT_HTML("<p>&lt;script&gt;&amp;&quot;&#39;</p>", "<p>{{x}}</p>", j);
	EXPECT_RENDER("<p><script>&\"'</p>", "<p>{{x}}</p>", j);
	EXPECT_HTML("&lt;b&gt;", "{{#l}}{{.}}{{/l}}", "{'l':['<b>']}");
	EXPECT_HTML("Ærø &amp; Å", "{{x}}", "{'x':'Ærø & Å'}");
	/* Numbers and booleans have nothing to escape, but go the same way. */
	EXPECT_HTML("1 true", "{{n}} {{b}}", "{'n':1,'b':true}");
	/* The template's own text is never escaped. */
	EXPECT_HTML("<a href=\"x\">&amp;</a>", "<a href=\"x\">&amp;</a>", "{}");
}

DEF_TEST(raw)
{
	const char *j = "{'x':'<b>&</b>'}";

	EXPECT_HTML("<b>&</b>", "{{{x}}}", j);
	EXPECT_HTML("<b>&</b>", "{{{ x }}}", j);
	EXPECT_HTML("<b>&</b>", "{{&x}}", j);
	EXPECT_RENDER("<b>&</b>", "{{{x}}}", j);
	EXPECT_HTML("<b>&</b>|&lt;b&gt;&amp;&lt;/b&gt;", "{{{x}}}|{{x}}", j);
	EXPECT_RENDER("error: template t:1: no value for \"y\"", "{{{y}}}", j);
	EXPECT_RENDER("error: template t:2: \"{{{\" closed by \"}}\", not \"}}}\"", "a\n{{{x}} b", j);
}

DEF_TEST(comments)
{
	EXPECT_RENDER("ab", "a{{! skjult }}b", "{}");
	EXPECT_RENDER("ab", "a{{!}}b", "{}");
	EXPECT_RENDER("ab", "a{{! over\nflere {{linjer\n}}b", "{}");
	/* A comment may name missing keys and hold any text. */
	EXPECT_RENDER("x", "{{! {{nothing }}x", "{}");
	/* Lines after a multi-line comment are still counted. */
	EXPECT_RENDER("error: template t:4: no value for \"y\"", "{{! 1\n2\n3 }}\n{{y}}", "{}");
}

DEF_TEST(danish)
{
	EXPECT_RENDER("Kære Søren Ærø, din kontrakt på «Løn» udløber 2025-03-31.",
		      "Kære {{navn}}, din kontrakt på «{{kontrakt}}» udløber {{dato}}.",
		      "{'navn':'Søren Ærø','kontrakt':'Løn','dato':'2025-03-31'}");
	EXPECT_RENDER("æøåÆØÅ €", "æøå{{x}}", "{'x':'ÆØÅ €'}");
	/* Escaped JSON (\u00f8) arrives as UTF-8. */
	EXPECT_RENDER("ø", "{{x}}", "{'x':'\\u00f8'}");
	/* Names are ASCII: a typo with æøå is a clear error. */
	EXPECT_RENDER("error: template t:1: bad name in tag \"{{navn på}}\"", "{{navn på}}", "{}");
}

DEF_TEST(missing_key)
{
	EXPECT_RENDER_AS("error: template contract_expiry/reminder:3: no value for \"owner.email\"",
			 "contract_expiry/reminder", "Kære {{owner.name}}\n\nSkriv til {{owner.email}}.\n",
			 "{'owner':{'name':'Bo'}}", OB_TPL_TEXT);
	EXPECT_RENDER("error: template t:2: no value for \"x\"", "{{#l}}\n{{x}}{{/l}}",
		      "{'l':[{'x':1},{'y':2}]}");
	/* Missing in a section is false, not an error. */
	EXPECT_RENDER("-", "{{#nope}}x{{/nope}}-{{#a.b.c}}y{{/a.b.c}}", "{'a':{}}");
	/* A missing key in a section that is not rendered is no error either. */
	EXPECT_RENDER("", "{{#l}}{{x}}{{/l}}", "{'l':[]}");
	EXPECT_RENDER_AS("error: template (unnamed):1: no value for \"x\"", NULL, "{{x}}", "{}", OB_TPL_TEXT);
}

DEF_TEST(syntax_errors)
{
	EXPECT_RENDER("error: template t:2: \"{{#x}}\" is not closed", "a\n{{#x}}\nb\n", "{'x':1}");
	EXPECT_RENDER("error: template t:2: \"{{^x}}\" is not closed", "{{#y}}{{/y}}\n{{^x}}",
		      "{}");
	/* The innermost unclosed section is named. */
	EXPECT_RENDER("error: template t:3: \"{{#b}}\" is not closed", "{{#a}}\n\n{{#b}}\n",
		      "{}");
	EXPECT_RENDER("error: template t:3: \"{{/b}}\" closes \"{{#a}}\" opened on line 1",
		      "{{#a}}\n\n{{/b}}\n", "{}");
	EXPECT_RENDER("error: template t:2: \"{{/a}}\" closes \"{{^b}}\" opened on line 2",
		      "{{#a}}\nx{{^b}}{{/a}}{{/b}}", "{}");
	EXPECT_RENDER("error: template t:2: \"{{/a}}\" closes no section", "x\n{{/a}}", "{}");
	EXPECT_RENDER("error: template t:2: unterminated tag: \"{{\" without \"}}\"",
		      "Hej\n{{name\nmere tekst {{x}}\n", "{'name':1,'x':1}");
	EXPECT_RENDER("error: template t:1: unterminated tag: \"{{\" without \"}}\"", "{{", "{}");
	EXPECT_RENDER("error: template t:1: unterminated tag: \"{{{\" without \"}}\"", "{{{x", "{}");
	EXPECT_RENDER("error: template t:3: unterminated tag: \"{{\" without \"}}\"",
		      "a\n\n{{! no end", "{}");
	EXPECT_RENDER("error: template t:1: empty tag \"{{ }}\"", "{{ }}", "{}");
	EXPECT_RENDER("error: template t:1: empty tag \"{{#}}\"", "{{#}}{{/}}", "{}");
	EXPECT_RENDER("error: template t:1: bad name in tag \"{{a..b}}\"", "{{a..b}}", "{}");
	EXPECT_RENDER("error: template t:1: bad name in tag \"{{.a}}\"", "{{.a}}", "{}");
	EXPECT_RENDER("error: template t:1: partials (\"{{>\") are not supported", "{{>x}}", "{}");
	EXPECT_RENDER("error: template t:1: delimiter changes (\"{{=\") are not supported",
		      "{{=<% %>=}}", "{}");
	/* The whole template is checked, also sections that are not rendered. */
	EXPECT_RENDER("error: template t:2: bad name in tag \"{{x y}}\"", "{{#no}}\n{{x y}}{{/no}}",
		      "{}");
	{
		/* Nesting is bounded; the bound is no problem for real texts. */
		struct ob_buf t;
		char *got;

		ob_buf_init(&t, 0);
		for (int i = 0; i < 33; i++)
			ob_buf_adds(&t, "{{#a}}");
		for (int i = 0; i < 33; i++)
			ob_buf_adds(&t, "{{/a}}");
		got = render_as("t", t.data, "{'a':true}", OB_TPL_TEXT);
		EXPECT_EQ_STR("error: template t:1: sections nested deeper than 32", got);
		free(got);
		ob_buf_reset(&t);
		for (int i = 0; i < 32; i++)
			ob_buf_adds(&t, "{{#a}}");
		ob_buf_adds(&t, "x");
		for (int i = 0; i < 32; i++)
			ob_buf_adds(&t, "{{/a}}");
		got = render_as("t", t.data, "{'a':true}", OB_TPL_TEXT);
		EXPECT_EQ_STR("x", got);
		free(got);
		ob_buf_free(&t);
	}
}

DEF_TEST(standalone)
{
	const char *j = "{'items':['a','b'],'none':[]}";

	EXPECT_RENDER("Punkter:\n- a\n- b\nSlut\n", "Punkter:\n{{#items}}\n- {{.}}\n{{/items}}\nSlut\n",
		      j);
	EXPECT_RENDER("Punkter:\nIngen.\nSlut\n",
		      "Punkter:\n{{#none}}\n- {{.}}\n{{/none}}\n{{^none}}\nIngen.\n{{/none}}\nSlut\n", j);
	/* Indented tags with trailing blanks, CRLF lines. */
	EXPECT_RENDER("x\r\n  - a\r\n  - b\r\n", "x\r\n  {{#items}}  \r\n  - {{.}}\r\n\t{{/items}}\r\n",
		      j);
	/* First line, last line without a newline. */
	EXPECT_RENDER("a\nb\n", "{{#items}}\n{{.}}\n{{/items}}", j);
	/* Comment lines go too; value tags are never standalone. */
	EXPECT_RENDER("a\nb\n", "{{! kommentar }}\na\n  {{! mere }}\nb\n", j);
	EXPECT_RENDER("[\n\n]\n", "[\n{{x}}\n]\n", "{'x':''}");
	/* A tag sharing its line with text or another tag is not standalone. */
	EXPECT_RENDER(" ab\n", " {{#items}}{{.}}{{/items}}\n", j);
	EXPECT_RENDER("x ab\n", "x {{#items}}{{.}}{{/items}}\n", j);
	EXPECT_RENDER("\n", "{{#none}}{{/none}}\n", j);
	/* Lines are still counted right after removed lines. */
	EXPECT_RENDER("error: template t:4: no value for \"y\"", "{{#items}}\n{{/items}}\n\n{{y}}",
		      j);
}

DEF_TEST(output_cap)
{
	cJSON *ctx = json_of("{'x':'0123456789','y':'&&&&','l':[1,2,3]}");
	struct ob_buf b;
	struct ob_err err;

	ob_buf_init(&b, 16);
	ob_err_clear(&err);
	ob_buf_adds(&b, "før ");
	EXPECT_EQ_INT(0, ob_tpl_render("t", "{{x}}", ctx, OB_TPL_TEXT, &b, &err));
	EXPECT_EQ_STR("før 0123456789", b.data); /* appended; 15 bytes */
	EXPECT_EQ_INT(-1, ob_tpl_render("t", "\n{{x}}", ctx, OB_TPL_TEXT, &b, &err));
	EXPECT_EQ_STR("template t:2: output exceeds 16 bytes", err.msg);
	EXPECT_EQ_STR("før 0123456789", b.data); /* rolled back */
	EXPECT_EQ_INT(15, b.len);

	/* Escaping that grows past the cap, and a long list. */
	ob_buf_reset(&b);
	ob_err_clear(&err);
	EXPECT_EQ_INT(0, ob_tpl_render("t", "{{y}}", ctx, OB_TPL_TEXT, &b, &err));
	ob_buf_reset(&b);
	EXPECT_EQ_INT(-1, ob_tpl_render("t", "{{y}}", ctx, OB_TPL_HTML, &b, &err));
	EXPECT_EQ_STR("template t:1: output exceeds 16 bytes", err.msg);
	EXPECT_EQ_INT(0, b.len);
	ob_err_clear(&err);
	EXPECT_EQ_INT(-1, ob_tpl_render("t", "{{#l}}{{x}}{{/l}}", ctx, OB_TPL_HTML, &b, &err));
	EXPECT_EQ_INT(0, b.len);
	/* Exactly at the cap is fine. */
	ob_err_clear(&err);
	EXPECT_EQ_INT(0, ob_tpl_render("t", "{{x}}{{#l}}{{.}}{{/l}}abc", ctx, OB_TPL_HTML, &b, &err));
	EXPECT_EQ_INT(16, b.len);
	ob_buf_free(&b);
	cJSON_Delete(ctx);
}

/* The sample templates, read from the source tree. */
static char *render_file(const char *name, const char *json, enum ob_tpl_escape esc)
{
	const char *top = getenv("OB_TOP_SRCDIR");
	char *dir = ob_xasprintf("%s/templates/da", top && *top ? top : ".");
	cJSON *ctx = json_of(json);
	struct ob_buf b;
	struct ob_err err;

	ob_err_clear(&err);
	ob_buf_init(&b, 64 * 1024);
	if (ob_tpl_render_file(dir, name, "txt", ctx, esc, &b, &err) < 0) {
		ob_buf_reset(&b);
		/* The directory varies; keep the tests' strings short. */
		if (strncmp(err.msg, "template ", 9) == 0 && strstr(err.msg, dir) != NULL) {
			char *p = strstr(err.msg, dir);
			ob_buf_printf(&b, "error: %.*sDIR%s", (int)(p - err.msg), err.msg,
				      p + strlen(dir));
		} else {
			ob_buf_printf(&b, "error: %s", err.msg);
		}
	}
	free(dir);
	cJSON_Delete(ctx);
	return ob_buf_steal(&b);
}

DEF_TEST(render_file)
{
	char *got;

	got = render_file("sample/intro",
			  "{'org':'Eksempel Kommune','as_of':'2025-01-31','items':["
			  "{'title':'Tabeller','text':'kontrakter og løsninger'},"
			  "{'title':'Diagrammer','text':'søjler & forklaringer'}]}",
			  OB_TPL_TEXT);
	EXPECT_CONTAINS("Overblik over it-porteføljen\nEksempel Kommune, opgjort 2025-01-31\n", got);
	EXPECT_CONTAINS("hos Eksempel Kommune.", got);
	EXPECT_CONTAINS("Dokumentet indeholder:\n- Tabeller: kontrakter og løsninger\n"
			"- Diagrammer: søjler & forklaringer\n",
			got);
	OK(got != NULL && strncmp(got, "Overblik", 8) == 0); /* the comment lines are gone */
	OK(got != NULL && strstr(got, "{{") == NULL && strstr(got, "Ingen afsnit") == NULL);
	OK(got != NULL && strlen(got) > 0 && got[strlen(got) - 1] == '\n' && strstr(got, "\n\n\n") == NULL);
	free(got);

	got = render_file("sample/intro", "{'org':'X','as_of':'2025-01-31','items':[]}", OB_TPL_TEXT);
	EXPECT_CONTAINS("Dokumentet indeholder:\nIngen afsnit.\n", got);
	free(got);

	got = render_file("sample/empty", "{'heading':'Udløbne kontrakter','items':[]}", OB_TPL_TEXT);
	EXPECT_EQ_STR("Udløbne kontrakter\nIngen punkter.\n", got);
	free(got);
	got = render_file("sample/empty", "{'heading':'Udløbne kontrakter'}", OB_TPL_TEXT);
	EXPECT_EQ_STR("Udløbne kontrakter\nIngen punkter.\n", got);
	free(got);
	got = render_file("sample/empty", "{'heading':'<Tom>','items':['a & b','c']}", OB_TPL_HTML);
	EXPECT_EQ_STR("&lt;Tom&gt;\n- a &amp; b\n- c\n", got);
	free(got);

	got = render_file("sample/legend",
			  "{'legend':[{'label':'Udløber','color':'rød','meaning':'inden 90 dage'},"
			  "{'label':'Aktiv','color':'grøn','meaning':'løber videre'}]}",
			  OB_TPL_TEXT);
	EXPECT_EQ_STR("Signaturforklaring:\nUdløber (rød): inden 90 dage\nAktiv (grøn): løber videre\n",
		      got);
	free(got);

	/* Errors name the file's template. */
	got = render_file("sample/empty", "{'items':[]}", OB_TPL_TEXT);
	EXPECT_EQ_STR("error: template sample/empty.txt:2: no value for \"heading\"", got);
	free(got);
	got = render_file("sample/nope", "{}", OB_TPL_TEXT);
	EXPECT_EQ_STR("error: template sample/nope.txt: cannot read DIR/sample/nope.txt: "
		      "No such file or directory",
		      got);
	free(got);
	got = render_file("../da/sample/empty", "{}", OB_TPL_TEXT);
	EXPECT_EQ_STR("error: template ../da/sample/empty.txt: bad template name", got);
	free(got);
	got = render_file("/etc/passwd", "{}", OB_TPL_TEXT);
	EXPECT_EQ_STR("error: template /etc/passwd.txt: bad template name", got);
	free(got);
	got = render_file("sample//empty", "{}", OB_TPL_TEXT);
	EXPECT_EQ_STR("error: template sample//empty.txt: bad template name", got);
	free(got);
}

/* A template read before (and kept) is read again once it changes: an
 * edited file, one of the same size, one replaced by a rename, one removed. */
static char *render_tmp(const char *dir, const char *json)
{
	cJSON *ctx = json_of(json);
	struct ob_buf b;
	struct ob_err err;

	ob_err_clear(&err);
	ob_buf_init(&b, 4096);
	if (ob_tpl_render_file(dir, "t", "txt", ctx, OB_TPL_TEXT, &b, &err) < 0) {
		ob_buf_reset(&b);
		ob_buf_printf(&b, "error: %s", strstr(err.msg, ": ") ? strstr(err.msg, ": ") + 2 : err.msg);
	}
	cJSON_Delete(ctx);
	return ob_buf_steal(&b);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

DEF_TEST(file_changes)
{
	char dir[] = "/tmp/ob-tpl-XXXXXX", *path, *other, *got;

	OK(mkdtemp(dir) != NULL);
	path = ob_xasprintf("%s/t.txt", dir);
	other = ob_xasprintf("%s/u.txt", dir);
	put(path, "Hej {{name}}\n");
	got = render_tmp(dir, "{'name':'Åse'}");
	EXPECT_EQ_STR("Hej Åse\n", got);
	free(got);
	got = render_tmp(dir, "{'name':'Bo'}"); /* from the cache */
	EXPECT_EQ_STR("Hej Bo\n", got);
	free(got);
	put(path, "Goddag {{name}}, velkommen\n"); /* longer */
	got = render_tmp(dir, "{'name':'Bo'}");
	EXPECT_EQ_STR("Goddag Bo, velkommen\n", got);
	free(got);
	usleep(20000);
	put(path, "Farvel {{name}}, velkommen\n"); /* the same size, a later mtime */
	got = render_tmp(dir, "{'name':'Bo'}");
	EXPECT_EQ_STR("Farvel Bo, velkommen\n", got);
	free(got);
	put(other, "Ny {{name}}\n");
	OK(rename(other, path) == 0); /* another inode */
	got = render_tmp(dir, "{'name':'Bo'}");
	EXPECT_EQ_STR("Ny Bo\n", got);
	free(got);
	OK(unlink(path) == 0);
	got = render_tmp(dir, "{'name':'Bo'}");
	EXPECT_EQ_STR("error: cannot read", got != NULL && strlen(got) > 18 ? (got[18] = '\0', got) : got);
	free(got);
	rmdir(dir);
	free(path);
	free(other);
}

int main(void)
{
	RUN_TEST(values);
	RUN_TEST(dotted_names);
	RUN_TEST(lists);
	RUN_TEST(inverted);
	RUN_TEST(nested_sections);
	RUN_TEST(booleans_and_objects);
	RUN_TEST(numbers);
	RUN_TEST(html_escaping);
	RUN_TEST(raw);
	RUN_TEST(comments);
	RUN_TEST(danish);
	RUN_TEST(missing_key);
	RUN_TEST(syntax_errors);
	RUN_TEST(standalone);
	RUN_TEST(output_cap);
	RUN_TEST(render_file);
	RUN_TEST(file_changes);
	END_TEST;
}
