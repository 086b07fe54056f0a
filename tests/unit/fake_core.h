/* fake_core.h - the core's parts a fake api uses (fake_core.c), with
 * plain signatures: the fake includes only the plugin ABI. */
#ifndef OB_FAKE_CORE_H
#define OB_FAKE_CORE_H

#include <stddef.h>

/* The calendar of the plugin API, over core/util.h: "YYYY-MM-DD" in and
 * out (11 bytes), -1 for anything else. period is an enum ob_period. */
int fake_cal_add_months(const char *date, int months, char *out);
int fake_cal_end_of(const char *date, int period, char *out);
int fake_cal_days(const char *from, const char *to, long *out);
int fake_cal_date_da(const char *date, char *out, size_t size);
int fake_number_da(double value, int decimals, char *out, size_t size);
/* json against decl by the core's rules: 0, or -1 with why. */
struct ob_setting;
int fake_check_setting(const struct ob_setting *decl, const char *json, char *why, size_t whysz);

/* Renders template dir/name.ext (core/template.c) with kv ("key", "value",
 * ..., NULL) as a notice's values reach the outbox: 0 and *out (caller
 * frees), or -1 and err. */
int fake_render(const char *dir, const char *name, const char *ext, const char *const *kv, char **out, char *err,
		size_t errsz);

#endif
