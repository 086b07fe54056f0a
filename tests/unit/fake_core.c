/* fake_core.c - the core's calendar (core/util.h) behind the plugin API's
 * signatures, for fake_api.c, and its template renderer for tests that
 * render a plugin's item templates. Apart because util.h and plugin.h both
 * declare enum ob_period, so no file includes both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fake_core.h"
#include "template.h"
#include "util.h"


/* Only "YYYY-MM-DD", a real date, as the API promises. */
static int parse(const char *s, int32_t *d)
{
	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	return ob_date_parse(s, d) == 1 ? 0 : -1;
}

/* A date out, years 1000 to 9999 (what fits "YYYY-MM-DD"). */
static int emit(int32_t d, char *out)
{
	int y, m, day;
	ob_civil_from_days(d, &y, &m, &day);
	if (y < 1000 || y > 9999)
		return -1;
	ob_date_format(d, out);
	return 0;
}

int fake_cal_add_months(const char *date, int months, char *out)
{
	int32_t d;
	if (parse(date, &d) < 0 || months > 12 * 9000 || months < -12 * 9000)
		return -1;
	return emit(ob_add_months(d, months), out);
}

int fake_cal_end_of(const char *date, int period, char *out)
{
	int32_t d;
	if (parse(date, &d) < 0 || period < OB_PERIOD_NONE || period > OB_PERIOD_YEAR)
		return -1;
	return emit(ob_end_of(d, (enum ob_period)period), out);
}

int fake_cal_days(const char *from, const char *to, long *out)
{
	int32_t a, b;
	if (parse(from, &a) < 0 || parse(to, &b) < 0)
		return -1;
	*out = (long)b - (long)a;
	return 0;
}

int fake_cal_date_da(const char *date, char *out, size_t size)
{
	int32_t d;
	char tmp[32];
	if (parse(date, &d) < 0)
		return -1;
	ob_date_format_da_long(d, tmp, sizeof(tmp));
	if (strlen(tmp) + 1 > size)
		return -1;
	memcpy(out, tmp, strlen(tmp) + 1);
	return (int)strlen(tmp);
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
