/* sample.c - the sample document (overblik render-sample), built through
 * ctx->api exactly as a plugin builds its report: title, sections on two
 * levels and a landscape one, paragraphs with bold and italic runs, key
 * figures with their change, tables with every format and status, bar
 * charts both ways, notes, and optionally a very long table. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>
#include <string.h>

#include "overblik/plugin.h"
#include "sample.h"
#include "template.h"
#include "util.h"

static const char *const systems[] = {"SBSYS", "KMD Nexus", "Aula", "Cura", "ØS Indsigt", "Momentum",
				      "AutoCAD", "Økonomistyring (Prisme)", "Børneintra", "Læsetest"};
static const char *const suppliers[] = {"KMD", "Netcompany", "Systematic", "EG", "Fujitsu", "Atea", "Schultz"};
static const char *const departments[] = {"Børn og Skole", "Sundhed og Ældre", "Teknik og Miljø",
					  "Økonomi og Personale", "Job og Arbejdsmarked", "Kultur og Fritid"};

/* The fixed Danish text of the introduction, from its template: one
 * paragraph per block of lines. */
static int intro(struct ob_ctx *ctx, const char *dir, struct ob_err *err)
{
	const struct ob_api *a = ctx->api;
	cJSON *data = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(data, "items");
	static const char *const parts[][2] = {{"Nøgletal", "fire nøgletal med udviklingen siden sidst"},
					       {"Tekst", "brødtekst med fed og kursiv"},
					       {"Tabeller", "tal, datoer og status i farver"},
					       {"Diagrammer", "søjler vandret og lodret"}};
	struct ob_buf out;
	int rc = -1;

	cJSON_AddStringToObject(data, "org", a->org_name(ctx) ? a->org_name(ctx) : "kommunen");
	cJSON_AddStringToObject(data, "as_of", a->as_of(ctx));
	for (size_t i = 0; i < OB_ARRAY_LEN(parts); i++) {
		cJSON *it = cJSON_CreateObject();
		cJSON_AddStringToObject(it, "title", parts[i][0]);
		cJSON_AddStringToObject(it, "text", parts[i][1]);
		cJSON_AddItemToArray(items, it);
	}
	ob_buf_init(&out, 64 * 1024);
	if (ob_tpl_render_file(dir, "sample/intro", "txt", data, OB_TPL_TEXT, &out, err) < 0)
		goto done;
	/* Blocks separated by blank lines; the first line is the heading. */
	for (char *p = out.data, *block; p && *p; p = block) {
		char *end = strstr(p, "\n\n");
		block = end ? end + 2 : NULL;
		if (end)
			*end = '\0';
		for (char *q = p; *q; q++)
			if (*q == '\n')
				*q = ' ';
		if (*p && a->para(a->doc(ctx), "%s", p) < 0)
			goto done;
	}
	rc = 0;
done:
	ob_buf_free(&out);
	cJSON_Delete(data);
	return rc;
}

int ob_sample_build(struct ob_ctx *ctx, const char *template_dir, long table_rows, struct ob_err *err)
{
	const struct ob_api *a = ctx->api;
	struct ob_doc *d = a->doc(ctx);
	int rc = 0;

	rc |= a->title(d, "Eksempel på en rapport", "Alle elementer i overbliks dokumentmodel — æøå ÆØÅ");
	if (intro(ctx, template_dir, err) < 0)
		return -1;
	rc |= a->section(d, 1, "Nøgletal", 0);
	rc |= a->para(d, "Denne rapport viser hvert element, som en rapport kan bruge. Den er dannet pr. %s "
			 "gennem de samme kald, som et rapport-plugin bruger.",
		      a->as_of(ctx));
	rc |= a->kpi(d, &OB_INIT(ob_kpi, .label = "Systemer i alt", .value = 331, .unit = "stk.", .decimals = 0, .has_previous = 1, .previous = 328));
	rc |= a->kpi(d, &OB_INIT(ob_kpi, .label = "Uden systemejer", .value = 7, .unit = "stk.", .decimals = 0, .has_previous = 1, .previous = 9));
	rc |= a->kpi(d, &OB_INIT(ob_kpi, .label = "Risikovurderet inden for 12 mdr.", .value = 61.5, .unit = "%", .decimals = 1, .has_previous = 1, .previous = 58.25));
	rc |= a->kpi(d, &OB_INIT(ob_kpi, .label = "Årlig kontraktsum", .value = 48312500.5, .unit = "kr.", .decimals = 0, .has_previous = 0, .previous = 0));

	rc |= a->section(d, 1, "Tekst", 0);
	rc |= a->section(d, 2, "Afsnit med fremhævninger", 0);
	{
		struct ob_text_run runs[] = {
			{"Systemejeren ", 0},
			{"skal", OB_TEXT_BOLD},
			{" sikre, at risikovurderingen er ", 0},
			{"højst 12 måneder gammel", OB_TEXT_ITALIC},
			{", og at databehandleraftalen med leverandøren er på plads. ", 0},
			{"Fælleskommunale løsninger i grøn", OB_TEXT_BOLD | OB_TEXT_ITALIC},
			{" skal kræves ved nye anskaffelser. Æble, østers og ål: æøå ÆØÅ skal komme rigtigt ud.", 0},
		};
		rc |= a->para_runs(d, runs, OB_ARRAY_LEN(runs));
	}
	rc |= a->section(d, 2, "Et langt afsnit", 0);
	for (int i = 0; i < 3; i++)
		rc |= a->para(d, "Exit-fasen bør sættes i gang i god tid, inden kontraktperioden udløber. Da skal der "
				 "tages stilling til, om kontrakten skal forlænges, opsiges eller genudbydes, og om data "
				 "skal leveres tilbage og arkiveres. Opsigelsesfristen er den sidste dag, hvor det kan "
				 "ske rettidigt (afsnit %d).",
			      i + 1);
	rc |= a->section(d, 2, "En punktliste", 0);
	{
		static const char *const steps[] = {
			"Aftal med leverandøren, hvordan og hvornår data leveres tilbage.",
			"Afklar, hvad der skal arkiveres, og hvornår arkivet skal have det.",
			"Beslut, om kontrakten skal forlænges, opsiges eller genudbydes — og gør det i god tid før "
			"opsigelsesfristen, så der er tid til et udbud, hvis det bliver nødvendigt.",
		};
		rc |= a->bullets(d, steps, OB_ARRAY_LEN(steps));
	}
	rc |= a->note(d, "Note: tallene er fra demo-kommunen og viser kun layoutet.");

	rc |= a->section(d, 1, "Tabeller", OB_SECTION_NEW_PAGE);
	{
		const struct ob_column cols[] = {
			OB_INIT(ob_column, "System", 3, OB_ALIGN_LEFT, OB_FMT_TEXT, 0),
			OB_INIT(ob_column, "Leverandør", 2, OB_ALIGN_LEFT, OB_FMT_TEXT, 0),
			OB_INIT(ob_column, "Brugere", 1.2, OB_ALIGN_RIGHT, OB_FMT_NUMBER, 0),
			OB_INIT(ob_column, "Årlig pris", 1.5, OB_ALIGN_RIGHT, OB_FMT_NUMBER, 2),
			OB_INIT(ob_column, "Dækning", 1.2, OB_ALIGN_RIGHT, OB_FMT_PERCENT, 1),
			OB_INIT(ob_column, "Opsigelsesfrist", 1.8, OB_ALIGN_CENTER, OB_FMT_DATE, 0),
		};
		struct ob_table *t = a->table(d, cols, OB_ARRAY_LEN(cols));
		rc |= t == NULL;
		rc |= a->row(t, (const char *[]){"SBSYS", "KMD", "1234", "1234567.5", "98.5", "2027-03-31"}, OB_STATUS_GREEN);
		rc |= a->row(t, (const char *[]){"Økonomistyring med et meget langt navn, der må brydes over flere linjer",
						 "Netcompany", "87", "250000", "61.25", "2026-12-31"},
			     OB_STATUS_AMBER);
		rc |= a->row(t, (const char *[]){"Aula", "Netcompany", "15000", "0.5", "42", "2026-11-30"}, OB_STATUS_RED);
		rc |= a->cell_status(t, 5, OB_STATUS_RED);
		rc |= a->row(t, (const char *[]){"Cura", NULL, NULL, NULL, NULL, NULL}, OB_STATUS_NONE);
	}

	rc |= a->section(d, 1, "Diagrammer", 0);
	{
		static const double ok[] = {45, 38, 52, 29, 33, 21}, gaps[] = {8, 14, 6, 11, 4, 9};
		struct ob_series series[] = {OB_INIT(ob_series, "Med risikovurdering", ok), OB_INIT(ob_series, "Uden", gaps)};
		struct ob_chart c = OB_INIT(ob_chart, "Systemer med persondata pr. forvaltning", 1, 1, departments,
					    OB_ARRAY_LEN(departments), series, 2, "Systemer", "Forvaltning", 1);
		rc |= a->chart(d, &c);
		static const double n[] = {15, 40, 276};
		static const char *const cats[] = {"Grundlæggende", "Tværgående", "Fagsystemer"};
		struct ob_series one[] = {OB_INIT(ob_series, "Systemer", n)};
		struct ob_chart v = OB_INIT(ob_chart, "Systemer pr. kategori", 0, 0, cats, 3, one, 1, "Antal", NULL, 1);
		rc |= a->chart(d, &v);
	}

	rc |= a->section(d, 1, "Bred oversigt", OB_SECTION_LANDSCAPE);
	rc |= a->para(d, "Dette afsnit står på liggende sider, fordi tabellen er bred.");
	{
		const struct ob_column cols[] = {
			OB_INIT(ob_column, "Kontrakt", 3, OB_ALIGN_LEFT, OB_FMT_TEXT, 0),   OB_INIT(ob_column, "Segment", 1, OB_ALIGN_CENTER, OB_FMT_TEXT, 0),
			OB_INIT(ob_column, "Start", 1.3, OB_ALIGN_CENTER, OB_FMT_DATE, 0),   OB_INIT(ob_column, "Slut", 1.3, OB_ALIGN_CENTER, OB_FMT_DATE, 0),
			OB_INIT(ob_column, "Varsel (mdr.)", 1, OB_ALIGN_RIGHT, OB_FMT_NUMBER, 0),
			OB_INIT(ob_column, "Frist", 1.3, OB_ALIGN_CENTER, OB_FMT_DATE, 0),   OB_INIT(ob_column, "Beslutning", 1.5, OB_ALIGN_LEFT, OB_FMT_TEXT, 0),
			OB_INIT(ob_column, "Årlig pris", 1.5, OB_ALIGN_RIGHT, OB_FMT_NUMBER, 2),
		};
		struct ob_table *t = a->table(d, cols, OB_ARRAY_LEN(cols));
		rc |= t == NULL;
		rc |= a->row(t, (const char *[]){"Drift af SBSYS", "A", "2021-07-01", "2027-06-30", "6", "2026-12-31",
						 "uafklaret", "1850000"},
			     OB_STATUS_RED);
		rc |= a->row(t, (const char *[]){"Licenser Office 365", "B", "2023-01-01", "2027-12-31", "3", "2027-09-30",
						 "forlæng", "2400000"},
			     OB_STATUS_GREEN);
	}

	if (table_rows > 0) {
		const struct ob_column cols[] = {
			OB_INIT(ob_column, "Nr.", 1, OB_ALIGN_RIGHT, OB_FMT_NUMBER, 0), OB_INIT(ob_column, "System", 3, OB_ALIGN_LEFT, OB_FMT_TEXT, 0),
			OB_INIT(ob_column, "Forvaltning", 2.5, OB_ALIGN_LEFT, OB_FMT_TEXT, 0), OB_INIT(ob_column, "Leverandør", 1.5, OB_ALIGN_LEFT, OB_FMT_TEXT, 0),
			OB_INIT(ob_column, "Brugere", 1.2, OB_ALIGN_RIGHT, OB_FMT_NUMBER, 0), OB_INIT(ob_column, "Gennemgået", 1.7, OB_ALIGN_CENTER, OB_FMT_DATE, 0),
		};
		struct ob_table *t;
		rc |= a->section(d, 1, "Alle systemer", 0);
		t = a->table(d, cols, OB_ARRAY_LEN(cols));
		rc |= t == NULL;
		for (long i = 0; i < table_rows && rc == 0; i++) {
			char nr[24], users[24], date[11];
			snprintf(nr, sizeof(nr), "%ld", i + 1);
			snprintf(users, sizeof(users), "%ld", (i * 7919) % 20000 + 1);
			ob_date_format(ob_days_from_civil(2024, 1, 1) + (int32_t)(i % 1000), date);
			rc |= a->row(t,
				     (const char *[]){nr, systems[i % OB_ARRAY_LEN(systems)],
						      departments[i % OB_ARRAY_LEN(departments)],
						      suppliers[i % OB_ARRAY_LEN(suppliers)], users, date},
				     i % 17 == 0 ? OB_STATUS_RED : i % 5 == 0 ? OB_STATUS_AMBER : OB_STATUS_NONE);
		}
	}
	if (rc)
		ob_err_set(err, "a document call failed while building the sample");
	return rc ? -1 : 0;
}
