/* fake_core.c - the core's parts fake_api.c uses: the plugin API's
 * calendar and Danish formatting (the very functions a run gets), the
 * check of a setting against its declaration, and the template renderer
 * for tests that render a plugin's item templates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fake_core.h"
#include "plugin.h"
#include "run.h"
#include "template.h"
#include "util.h"


/* The calendar and the Danish formatting are the core's own functions
 * (ob_run_api()), so a unit test computes dates exactly as a run does. */
int fake_cal_add_months(const char *date, int months, char *out)
{
	return ob_run_api()->add_months(date, months, out);
}

int fake_cal_end_of(const char *date, int period, char *out)
{
	return ob_run_api()->end_of(date, (enum ob_period)period, out);
}

int fake_cal_days(const char *from, const char *to, long *out)
{
	return ob_run_api()->days(from, to, out);
}

int fake_cal_date_da(const char *date, char *out, size_t size)
{
	return ob_run_api()->date_da(date, out, size);
}

int fake_number_da(double value, int decimals, char *out, size_t size)
{
	return ob_run_api()->number_da(value, decimals, out, size);
}

int fake_check_setting(const struct ob_setting *decl, const char *json, char *why, size_t whysz)
{
	cJSON *v = cJSON_Parse(json);
	struct ob_err err = {{0}};
	int rc = v ? ob_setting_check_value(decl, v, decl->name, &err) : -1;

	snprintf(why, whysz, "%s", v ? err.msg : "not JSON");
	cJSON_Delete(v);
	return rc;
}

int fake_render(const char *dir, const char *name, const char *ext, const char *const *kv, char **out, char *err,
		size_t errsz)
{
	cJSON *ctx = cJSON_CreateObject();
	struct ob_buf b;
	struct ob_err e = {{0}};
	int rc;

	for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2)
		cJSON_AddStringToObject(ctx, kv[i], kv[i + 1]);
	ob_buf_init(&b, 1 << 20);
	rc = ob_tpl_render_file(dir, name, ext, ctx, strcmp(ext, "html") == 0 ? OB_TPL_HTML : OB_TPL_TEXT, &b, &e);
	cJSON_Delete(ctx);
	if (rc < 0) {
		snprintf(err, errsz, "%s", e.msg);
		ob_buf_free(&b);
		*out = NULL;
		return -1;
	}
	*out = b.data ? ob_buf_steal(&b) : ob_xstrdup("");
	ob_buf_free(&b);
	err[0] = '\0';
	return 0;
}
