/* kitos.c - KITOS API v2 JSON into typed records (see kitos.h).
 *
 * One cJSON tree per file, walked once: every value the database needs is
 * copied into the batch and the tree is freed before returning. Problems
 * with one object become warnings naming the object and the JSON path of
 * the field; only a file that is not JSON, or not KITOS data, is fatal, and
 * those are found before anything is appended, so a fatal error leaves the
 * batch as it was. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kitos.h"

#define DEFAULT_OWNER_ROLE "Systemejer"
#define SNIPPET_CHARS 20   /* characters of context in a syntax error */
#define VALUE_MAX 60       /* bytes of a bad value quoted in a warning */

/* Appends one zeroed slot to a growable array, doubling its capacity. */
#define GROW(arr, n, cap)                                                                \
	do {                                                                             \
		if ((n) == (cap)) {                                                      \
			(cap) = (cap) ? (cap)*2 : 16;                                    \
			(arr) = ob_xrealloc((arr), (cap) * sizeof(*(arr)));              \
		}                                                                        \
	} while (0)

static const char *const kind_names[OB_KITOS_NKINDS] = {
	"it-system-usage", "it-contract", "data-processing-registration", "user"};

/* What a warning needs to name the object it is about. */
struct ctx {
	struct ob_kitos_batch *b;
	const char *file;       /* the batch's copy */
	long index;
	const char *uuid;       /* the object's uuid once known (borrowed from the tree) */
	const char *what;       /* its kind: "it-system-usage" */
	int bad;                /* a string it holds cannot be stored: skip the object */
	const char *owner_role; /* trimmed */
	size_t owner_role_len;
};

/* ---------------------------------------------------------------- warnings */

static char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *xvasprintf(const char *fmt, va_list ap)
{
	va_list aq;
	int n;
	char *s;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return ob_xstrdup("");
	s = ob_xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

static void kitos_vwarn(struct ob_kitos_batch *b, const char *file, long index, const char *uuid,
			const char *field, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));
static void kitos_vwarn(struct ob_kitos_batch *b, const char *file, long index, const char *uuid,
			const char *field, const char *fmt, va_list ap)
{
	struct ob_kitos_warning *w;

	GROW(b->warnings, b->n_warnings, b->cap_warnings);
	w = &b->warnings[b->n_warnings++];
	w->file = file ? ob_xstrdup(file) : NULL;
	w->index = index;
	w->uuid = uuid ? ob_xstrdup(uuid) : NULL;
	w->field = ob_xstrdup(field ? field : "");
	w->message = xvasprintf(fmt, ap);
}

void ob_kitos_warn(struct ob_kitos_batch *b, const char *file, long index, const char *uuid,
		   const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kitos_vwarn(b, file, index, uuid, field, fmt, ap);
	va_end(ap);
}

static void cwarn(struct ctx *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cwarn(struct ctx *c, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kitos_vwarn(c->b, c->file, c->index, c->uuid, field, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------- batch */

void ob_kitos_batch_init(struct ob_kitos_batch *b)
{
	memset(b, 0, sizeof(*b));
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_org(struct ob_kitos_org *o)
{
	free(o->uuid);
	free(o->cvr);
	free(o->name);
}

static void free_usage(struct ob_kitos_usage *u)
{
	free(u->uuid);
	free_org(&u->org);
	free(u->name);
	free(u->local_name);
	free(u->owner_uuid);
	free(u->owner_name);
	free(u->department_uuid);
	free(u->department_name);
	free(u->main_contract_uuid);
	free_list(u->dpr_uuids, u->n_dpr_uuids);
}

static void free_contract(struct ob_kitos_contract *k)
{
	free(k->uuid);
	free_org(&k->org);
	free(k->name);
	free(k->contract_number);
	free(k->supplier);
	free(k->supplier_cvr);
	free(k->responsible_unit_uuid);
	free(k->responsible_unit_name);
	free(k->extension_options);
	free_list(k->usage_uuids, k->n_usage_uuids);
	free_list(k->dpr_uuids, k->n_dpr_uuids);
}

static void free_dpr(struct ob_kitos_dpr *d)
{
	free(d->uuid);
	free_org(&d->org);
	free(d->name);
	free(d->processors);
	free_list(d->usage_uuids, d->n_usage_uuids);
	free_list(d->contract_uuids, d->n_contract_uuids);
}

static void free_user(struct ob_kitos_user *u)
{
	free(u->uuid);
	free_org(&u->org);
	free(u->name);
	free(u->email);
}

void ob_kitos_batch_free(struct ob_kitos_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n_usages; i++)
		free_usage(&b->usages[i]);
	for (size_t i = 0; i < b->n_contracts; i++)
		free_contract(&b->contracts[i]);
	for (size_t i = 0; i < b->n_dprs; i++)
		free_dpr(&b->dprs[i]);
	for (size_t i = 0; i < b->n_users; i++)
		free_user(&b->users[i]);
	for (size_t i = 0; i < b->n_warnings; i++) {
		free(b->warnings[i].file);
		free(b->warnings[i].uuid);
		free(b->warnings[i].field);
		free(b->warnings[i].message);
	}
	free(b->usages);
	free(b->contracts);
	free(b->dprs);
	free(b->users);
	free(b->warnings);
	free_list(b->files, b->n_files);
	ob_kitos_batch_init(b);
}

/* Appends src's arrays to dst's, moving what they own. */
#define MOVE(field, n, cap)                                                               \
	do {                                                                              \
		if (src->n > 0) {                                                          \
			if (dst->n + src->n > dst->cap) {                                  \
				dst->cap = dst->n + src->n;                                \
				dst->field = ob_xrealloc(dst->field, dst->cap * sizeof(*dst->field)); \
			}                                                                  \
			memcpy(dst->field + dst->n, src->field, src->n * sizeof(*src->field)); \
			dst->n += src->n;                                                  \
		}                                                                          \
		free(src->field);                                                          \
	} while (0)

void ob_kitos_batch_move(struct ob_kitos_batch *dst, struct ob_kitos_batch *src)
{
	MOVE(usages, n_usages, cap_usages);
	MOVE(contracts, n_contracts, cap_contracts);
	MOVE(dprs, n_dprs, cap_dprs);
	MOVE(users, n_users, cap_users);
	MOVE(warnings, n_warnings, cap_warnings);
	MOVE(files, n_files, cap_files);
	for (int k = 0; k < OB_KITOS_NKINDS; k++)
		dst->skipped[k] += src->skipped[k];
	dst->skipped_unknown += src->skipped_unknown;
	ob_kitos_batch_init(src);
}
#undef MOVE

/* ------------------------------------------------------------ text helpers */

static int is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Trimmed bounds of s: *start and the length. */
static size_t trim_bounds(const char *s, const char **start)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	n = strlen(s);
	while (n > 0 && is_ws(s[n - 1]))
		n--;
	*start = s;
	return n;
}

/* One byte folded for a case-insensitive comparison: ASCII letters, and the
 * second byte of the UTF-8 Latin-1 letters (Æ/æ, Ø/ø, Å/å share the lead
 * byte 0xC3 and differ by 0x20 in the second). */
static unsigned char fold(const unsigned char *s, size_t i)
{
	unsigned char ch = s[i];

	if (ch >= 'A' && ch <= 'Z')
		return (unsigned char)(ch + 32);
	if (i > 0 && s[i - 1] == 0xC3 && ch >= 0x80 && ch <= 0x9E && ch != 0x97)
		return (unsigned char)(ch + 0x20);
	return ch;
}

static int eq_ci(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++)
		if (fold((const unsigned char *)a, i) != fold((const unsigned char *)b, i))
			return 0;
	return 1;
}

static int is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* 8-4-4-4-12 hexadecimal digits. */
static int is_uuid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!is_hex(s[i]))
			return 0;
	}
	return s[36] == '\0';
}

#define NUL_MARK "\xC0\x80\xC0\x80\xC0\x80" /* "\u0000" as OB_JSON_MARK_NUL writes it */

char *ob_kitos_printable(const char *s, size_t n)
{
	struct ob_buf out;
	size_t i = 0, bad;

	ob_buf_init(&out, 0);
	while (i < n) {
		if (ob_utf8_check(s + i, n - i, &bad) == 0) {
			ob_buf_add(&out, s + i, n - i);
			break;
		}
		ob_buf_add(&out, s + i, bad);
		i += bad;
		if (n - i >= 6 && memcmp(s + i, NUL_MARK, 6) == 0) {
			ob_buf_adds(&out, "\\u0000");
			i += 6;
		} else {
			ob_buf_printf(&out, "\\x%02X", (unsigned char)s[i]);
			i++;
		}
	}
	if (out.data == NULL)
		return ob_xstrdup("");
	return ob_buf_steal(&out);
}

/* A JSON value quoted for a warning: compact JSON, cut at VALUE_MAX bytes,
 * printable whatever bytes it holds. */
static char *show_value(const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	char *out, *p;
	size_t n;

	if (s == NULL)
		return ob_xstrdup("(unprintable)");
	n = strlen(s);
	if (n <= VALUE_MAX) {
		out = ob_kitos_printable(s, n);
	} else {
		n = VALUE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--; /* do not cut a UTF-8 sequence */
		p = ob_kitos_printable(s, n);
		out = ob_xasprintf("%s...", p);
		free(p);
	}
	cJSON_free(s);
	return out;
}

static const char *type_name(const cJSON *j)
{
	if (cJSON_IsObject(j))
		return "an object";
	if (cJSON_IsArray(j))
		return "an array";
	if (cJSON_IsString(j))
		return "a string";
	if (cJSON_IsNumber(j))
		return "a number";
	if (cJSON_IsBool(j))
		return "a boolean";
	if (cJSON_IsNull(j))
		return "null";
	return "an unknown JSON value";
}

/* ------------------------------------------------------------ JSON helpers */

/* The member k of o; NULL when o is not an object, k is absent or null. */
static const cJSON *jget(const cJSON *o, const char *k)
{
	const cJSON *j;

	if (!cJSON_IsObject(o))
		return NULL;
	j = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNull(j) ? NULL : j;
}

/* Whether o has member k at all (null counts: it names the shape). */
static int jhas(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) && cJSON_GetObjectItemCaseSensitive(o, k) != NULL;
}

/* 1, with a warning naming path, when a string the object holds cannot be
 * stored: it holds "\u0000" (marked by ob_json_parse) or bytes that are
 * not UTF-8. The object is then skipped: c->bad. */
static int unusable(struct ctx *c, const char *s, const char *path)
{
	size_t bad;

	if (ob_utf8_check(s, strlen(s), &bad) == 0)
		return 0;
	if (ob_json_has_nul(s + bad)) /* the mark is C0 80: not UTF-8 either */
		cwarn(c, path, "contains NUL (\\u0000); %s skipped", c->what);
	else
		cwarn(c, path, "not valid UTF-8 (byte 0x%02X at byte %zu); %s skipped", (unsigned char)s[bad], bad,
		      c->what);
	c->bad = 1;
	return 1;
}

/* Fits v (owned, valid UTF-8) to a column of max characters, warning under
 * path when it is cut; max 0 leaves it. Returns v. */
static char *fit(struct ctx *c, char *v, size_t max, const char *path)
{
	size_t chars;

	if (v == NULL || max == 0 || strlen(v) <= max)
		return v; /* no more characters than bytes */
	chars = ob_utf8_fit(v, max);
	if (chars > max)
		cwarn(c, path, "%zu characters, cut to %zu", chars, max);
	return v;
}

/* Control characters ("\n", "\u001b" ...) in a value meant for a PDF, a
 * mail or a terminal become spaces, with a warning under path. Returns v. */
static char *no_controls(struct ctx *c, char *v, const char *path)
{
	int n = 0;

	for (char *p = v; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*p = ' ';
			n++;
		}
	if (n)
		cwarn(c, path, "%d control character%s replaced by spaces", n, n == 1 ? "" : "s");
	return v;
}

/* An owned trimmed copy of a string member; NULL if absent, null or blank,
 * or unusable (NUL, not UTF-8: the object is skipped). Longer than max
 * characters it is cut (max 0: any length). A number is taken as its
 * decimal text (a CVR or contract id written as a number); anything else
 * is warned about under path. */
static char *str_dup(struct ctx *c, const cJSON *o, const char *k, const char *path, size_t max)
{
	const cJSON *j = jget(o, k);
	const char *s;
	size_t n;

	if (j == NULL)
		return NULL;
	if (cJSON_IsString(j)) {
		if (unusable(c, j->valuestring, path))
			return NULL;
		n = trim_bounds(j->valuestring, &s);
		return n ? fit(c, no_controls(c, ob_xstrndup(s, n), path), max, path) : NULL;
	}
	if (cJSON_IsNumber(j) && j->valuedouble == floor(j->valuedouble) &&
	    fabs(j->valuedouble) < 1e15)
		return fit(c, ob_xasprintf("%.0f", j->valuedouble), max, path);
	cwarn(c, path, "expected a string, got %s", type_name(j));
	return NULL;
}

/* A uuid member: a valid uuid is copied; blank is NULL; anything else is
 * warned about under path and NULL. */
static char *uuid_dup(struct ctx *c, const cJSON *o, const char *k, const char *path)
{
	const cJSON *j = jget(o, k);
	char *v;

	if (j == NULL)
		return NULL;
	if (cJSON_IsString(j) && unusable(c, j->valuestring, path))
		return NULL;
	if (cJSON_IsString(j) && is_uuid(j->valuestring))
		return ob_xstrdup(j->valuestring);
	if (cJSON_IsString(j) && j->valuestring[0] == '\0')
		return NULL;
	v = show_value(j);
	cwarn(c, path, "not a UUID: %s", v);
	free(v);
	return NULL;
}

/* A date member: OB_NO_DATE when absent, null or KITOS's 0001-01-01; a
 * malformed date is warned about. */
static int32_t date_get(struct ctx *c, const cJSON *o, const char *k, const char *path)
{
	const cJSON *j = jget(o, k);
	int32_t days;
	char *v;

	if (j == NULL)
		return OB_NO_DATE;
	if (cJSON_IsString(j) && unusable(c, j->valuestring, path))
		return OB_NO_DATE;
	if (cJSON_IsString(j)) {
		switch (ob_date_parse(j->valuestring, &days)) {
		case 1:
			return days;
		case 0:
			return OB_NO_DATE;
		default:
			break;
		}
	}
	v = show_value(j);
	cwarn(c, path, "malformed date %s", v);
	free(v);
	return OB_NO_DATE;
}

/* A boolean member: 1, 0, or -1 when absent or null. Also takes 0/1. */
static int bool_get(struct ctx *c, const cJSON *o, const char *k, const char *path)
{
	const cJSON *j = jget(o, k);
	char *v;

	if (j == NULL)
		return -1;
	if (cJSON_IsBool(j))
		return cJSON_IsTrue(j) ? 1 : 0;
	if (cJSON_IsNumber(j) && (j->valuedouble == 0 || j->valuedouble == 1))
		return (int)j->valuedouble;
	v = show_value(j);
	cwarn(c, path, "expected true or false, got %s", v);
	free(v);
	return -1;
}

/* A whole number 0..max: the value, or -1 when absent, null or bad (warned). */
static int int_get(struct ctx *c, const cJSON *o, const char *k, const char *path, int max)
{
	const cJSON *j = jget(o, k);
	char *v;

	if (j == NULL)
		return -1;
	if (cJSON_IsNumber(j) && j->valuedouble == floor(j->valuedouble) && j->valuedouble >= 0 &&
	    j->valuedouble <= max)
		return (int)j->valuedouble;
	v = show_value(j);
	cwarn(c, path, "expected a whole number from 0 to %d, got %s", max, v);
	free(v);
	return -1;
}

/* -------------------------------------------------------------------- enums */

/* Names match case-insensitively; an integer is the index into vals, for
 * the first nint entries (the order of the KITOS enum). Later entries are
 * names only. */
struct enum_val {
	const char *name;
	const char *out; /* the database's ENUM value, NULL for "not known" */
	int iv;          /* for tri-state flags */
};
struct enum_def {
	const struct enum_val *vals;
	size_t n, nint;
};
#define ENUM_DEF(v, nint) {(v), OB_ARRAY_LEN(v), (nint)}

/* HostingChoice */
static const struct enum_val hosted_vals[] = {
	{"Undecided", NULL, -1}, {"OnPremise", "internal", -1},
	{"External", "supplier_hosted", -1}, {"Hybrid", "hybrid", -1}};
/* LifeCycleStatusChoice (+ Pilot, in newer versions) */
static const struct enum_val lifecycle_vals[] = {
	{"Undecided", "undecided", -1},     {"NotInUse", "not_in_use", -1},
	{"PhasingIn", "phasing_in", -1},    {"Operational", "operational", -1},
	{"PhasingOut", "phasing_out", -1},  {"Pilot", "pilot", -1}};
/* YesNoDontKnowChoice (+ Irrelevant for riskAssessmentConducted) */
static const struct enum_val ra_conducted_vals[] = {
	{"No", "no", 0},		{"Yes", "yes", 1},	     {"DontKnow", "dont_know", -1},
	{"Undecided", "undecided", -1}, {"Irrelevant", "irrelevant", -1}};
/* YesNoDontKnowChoice */
static const struct enum_val yes_no_dont_know_vals[] = {
	{"No", "no", 0}, {"Yes", "yes", 1}, {"DontKnow", "dont_know", -1}, {"Undecided", "undecided", -1}};
/* RiskLevelChoice */
static const struct enum_val risk_vals[] = {
	{"Low", "low", -1}, {"Medium", "medium", -1}, {"High", "high", -1}, {"Undecided", "undecided", -1}};
/* DataSensitivityLevelChoice */
enum { SENS_NONE, SENS_PERSON, SENS_SENSITIVE, SENS_LEGAL };
static const struct enum_val sensitivity_vals[] = {
	{"None", NULL, -1}, {"PersonData", NULL, -1}, {"SensitiveData", NULL, -1}, {"LegalData", NULL, -1}};
/* IsDataProcessingAgreementRequiredChoice; DontKnow/Undecided from older
 * versions mean "not known" */
static const struct enum_val dpa_vals[] = {
	{"No", "no", -1},	   {"Yes", "yes", -1},	{"DecidedByLaw", "decided_by_law", -1},
	{"DontKnow", NULL, -1}, {"Undecided", NULL, -1}};
/* YearSegmentChoice: EndOfCalendarYear = 0, EndOfQuarter = 1, EndOfMonth = 2 */
static const struct enum_val year_segment_vals[] = {
	{"EndOfCalendarYear", "year", -1}, {"EndOfQuarter", "quarter", -1}, {"EndOfMonth", "month", -1}};
/* YesNoIrrelevantChoice */
static const struct enum_val yes_no_irrelevant_vals[] = {
	{"No", "no", -1}, {"Yes", "yes", -1}, {"Irrelevant", "irrelevant", -1}, {"Undecided", "undecided", -1}};
/* YesNoUndecidedChoice (No = 0, Yes = 1, Undecided = 2); DontKnow by name */
static const struct enum_val yes_no_undecided_vals[] = {
	{"No", "no", -1}, {"Yes", "yes", -1}, {"Undecided", "undecided", -1}, {"DontKnow", "dont_know", -1}};

static const struct enum_def hosted_def = ENUM_DEF(hosted_vals, 4);
static const struct enum_def lifecycle_def = ENUM_DEF(lifecycle_vals, 6);
static const struct enum_def ra_conducted_def = ENUM_DEF(ra_conducted_vals, 5);
static const struct enum_def yes_no_dont_know_def = ENUM_DEF(yes_no_dont_know_vals, 4);
static const struct enum_def risk_def = ENUM_DEF(risk_vals, 4);
static const struct enum_def sensitivity_def = ENUM_DEF(sensitivity_vals, 4);
static const struct enum_def dpa_def = ENUM_DEF(dpa_vals, 3);
static const struct enum_def year_segment_def = ENUM_DEF(year_segment_vals, 3);
static const struct enum_def yes_no_irrelevant_def = ENUM_DEF(yes_no_irrelevant_vals, 4);
static const struct enum_def yes_no_undecided_def = ENUM_DEF(yes_no_undecided_vals, 3);

/* Looks a JSON value up in def: its index, or -1 when it is not there. */
static int enum_lookup(const cJSON *j, const struct enum_def *def)
{
	if (cJSON_IsString(j)) {
		const char *s;
		size_t n = trim_bounds(j->valuestring, &s);
		for (size_t i = 0; i < def->n; i++)
			if (eq_ci(s, n, def->vals[i].name, strlen(def->vals[i].name)))
				return (int)i;
		return -1;
	}
	if (cJSON_IsNumber(j) && j->valuedouble == floor(j->valuedouble) && j->valuedouble >= 0 &&
	    j->valuedouble < (double)def->nint)
		return (int)j->valuedouble;
	return -1;
}

static void enum_warn(struct ctx *c, const char *path, const cJSON *j, const struct enum_def *def)
{
	struct ob_buf buf;
	char *v = show_value(j);

	ob_buf_init(&buf, 0);
	for (size_t i = 0; i < def->n; i++) {
		if (i > 0)
			ob_buf_adds(&buf, i + 1 == def->n ? " or " : ", ");
		ob_buf_adds(&buf, def->vals[i].name);
	}
	if (def->nint > 0 && !cJSON_IsString(j))
		ob_buf_printf(&buf, ", or 0 to %zu", def->nint - 1);
	cwarn(c, path, "unknown value %s (expected %s)", v, buf.data);
	ob_buf_free(&buf);
	free(v);
}

/* An enum member: its index in def; -1 when absent or null; -2 when the
 * value is unknown (warned about under path). */
static int enum_get(struct ctx *c, const cJSON *o, const char *k, const char *path,
		    const struct enum_def *def)
{
	const cJSON *j = jget(o, k);
	int i;

	if (j == NULL)
		return -1;
	if (cJSON_IsString(j) && unusable(c, j->valuestring, path))
		return -2;
	i = enum_lookup(j, def);
	if (i < 0) {
		enum_warn(c, path, j, def);
		return -2;
	}
	return i;
}

/* The ENUM value of an enum member, NULL when absent or unknown. */
static const char *enum_str(struct ctx *c, const cJSON *o, const char *k, const char *path,
			    const struct enum_def *def)
{
	int i = enum_get(c, o, k, path, def);
	return i >= 0 ? def->vals[i].out : NULL;
}

/* ----------------------------------------------------------- shared parts */

static void org_get(struct ctx *c, const cJSON *o, struct ob_kitos_org *org)
{
	const cJSON *oc = jget(o, "organizationContext");

	if (oc == NULL)
		return;
	if (!cJSON_IsObject(oc)) {
		cwarn(c, "organizationContext", "expected an object, got %s", type_name(oc));
		return;
	}
	org->uuid = uuid_dup(c, oc, "uuid", "organizationContext.uuid");
	org->cvr = str_dup(c, oc, "cvr", "organizationContext.cvr", OB_KITOS_CVR_MAX);
	org->name = str_dup(c, oc, "name", "organizationContext.name", OB_KITOS_NAME_MAX);
	for (const char *p = org->cvr; p && *p; p++)
		if ((unsigned char)*p >= 0x80) { /* the column is ASCII: a CVR number is digits */
			char *v = show_value(jget(oc, "cvr"));
			cwarn(c, "organizationContext.cvr", "not a CVR number: %s; left out", v);
			free(v);
			free(org->cvr);
			org->cvr = NULL;
			break;
		}
}

static void list_add_unique(char ***v, size_t *n, size_t *cap, const char *s)
{
	/* The lists are a handful of links per object, so a scan is cheapest. */
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return;
	GROW(*v, *n, *cap);
	(*v)[(*n)++] = ob_xstrdup(s);
}

/* The uuids of an array of {uuid, name} references, deduplicated. */
static void uuid_list(struct ctx *c, const cJSON *arr, const char *path, char ***v, size_t *n,
		      size_t *cap)
{
	const cJSON *e;
	long i = 0;
	char field[160];

	if (arr == NULL)
		return;
	if (!cJSON_IsArray(arr)) {
		cwarn(c, path, "expected an array, got %s", type_name(arr));
		return;
	}
	cJSON_ArrayForEach(e, arr)
	{
		/* {uuid, name} references; a bare uuid string in some exports */
		const cJSON *u = cJSON_IsString(e) ? e : jget(e, "uuid");
		snprintf(field, sizeof(field), "%s[%ld].uuid", path, i);
		if (u != NULL && cJSON_IsString(u) && unusable(c, u->valuestring, field)) {
			i++;
			continue;
		}
		if (u != NULL && cJSON_IsString(u) && is_uuid(u->valuestring)) {
			list_add_unique(v, n, cap, u->valuestring);
		} else if (!cJSON_IsNull(e)) {
			char *s = show_value(u ? u : e);
			cwarn(c, field, "not a UUID: %s", s);
			free(s);
		}
		i++;
	}
}

/* -------------------------------------------------------------------- usage */

static const char *phase_of(const char *lifecycle)
{
	if (lifecycle == NULL)
		return NULL;
	if (strcmp(lifecycle, "undecided") == 0)
		return "needs";
	if (strcmp(lifecycle, "pilot") == 0 || strcmp(lifecycle, "phasing_in") == 0)
		return "procurement";
	if (strcmp(lifecycle, "operational") == 0)
		return "contract_followup";
	return "exit"; /* phasing_out, not_in_use */
}

static void owner_get(struct ctx *c, const cJSON *o, struct ob_kitos_usage *u)
{
	const cJSON *roles = jget(o, "roles"), *r, *first = NULL;
	const char *first_user_uuid = NULL;
	size_t matches = 0, others = 0;
	long i = -1;
	char field[64];

	if (roles == NULL)
		return;
	if (!cJSON_IsArray(roles)) {
		cwarn(c, "roles", "expected an array, got %s", type_name(roles));
		return;
	}
	cJSON_ArrayForEach(r, roles)
	{
		const cJSON *name = jget(jget(r, "role"), "name");
		const cJSON *uu;
		const char *s;
		size_t n;

		i++;
		if (!cJSON_IsString(name))
			continue;
		snprintf(field, sizeof(field), "roles[%ld].role.name", i);
		if (unusable(c, name->valuestring, field))
			continue;
		n = trim_bounds(name->valuestring, &s);
		if (!eq_ci(s, n, c->owner_role, c->owner_role_len))
			continue;
		uu = jget(jget(r, "user"), "uuid");
		matches++;
		if (first == NULL) {
			first = r;
			first_user_uuid = cJSON_IsString(uu) ? uu->valuestring : NULL;
		} else if (!cJSON_IsString(uu) || first_user_uuid == NULL ||
			   strcmp(uu->valuestring, first_user_uuid) != 0) {
			others++; /* the same person twice is no conflict */
		}
	}
	if (first == NULL)
		return; /* no owner: the database import reports it */
	u->owner_uuid = uuid_dup(c, jget(first, "user"), "uuid", "roles.user.uuid");
	u->owner_name = str_dup(c, jget(first, "user"), "name", "roles.user.name", OB_KITOS_NAME_MAX);
	if (others > 0)
		cwarn(c, "roles", "%zu roles are \"%.*s\"; using the first, %s", matches,
		      (int)c->owner_role_len, c->owner_role, u->owner_name ? u->owner_name : "(no name)");
}

static void sensitivity_get(struct ctx *c, const cJSON *gdpr, struct ob_kitos_usage *u)
{
	static const char path[] = "gdpr.dataSensitivityLevels";
	const cJSON *arr = jget(gdpr, "dataSensitivityLevels"), *e;
	int seen[4] = {0, 0, 0, 0}, unknown = 0;
	long i = 0;
	char field[64];

	if (arr == NULL)
		return;
	if (!cJSON_IsArray(arr)) {
		cwarn(c, path, "expected an array, got %s", type_name(arr));
		return;
	}
	cJSON_ArrayForEach(e, arr)
	{
		int k;
		snprintf(field, sizeof(field), "%s[%ld]", path, i);
		if (cJSON_IsString(e) && unusable(c, e->valuestring, field)) {
			unknown = 1;
			i++;
			continue;
		}
		k = enum_lookup(e, &sensitivity_def);
		if (k >= 0) {
			seen[k] = 1;
		} else {
			enum_warn(c, field, e, &sensitivity_def);
			unknown = 1;
		}
		i++;
	}
	if (seen[SENS_SENSITIVE])
		u->personal_data = "sensitive";
	else if (seen[SENS_PERSON] || seen[SENS_LEGAL])
		u->personal_data = "ordinary";
	else if (!unknown)
		u->personal_data = "none";
	if (seen[SENS_LEGAL])
		u->legal_data = 1;
	else if (!unknown)
		u->legal_data = 0;
}

/* general.isBusinessCritical, or gdpr.businessCritical in older versions. */
static int business_critical_get(struct ctx *c, const cJSON *o, const char *k, const char *path,
				 int *found)
{
	const cJSON *j = jget(o, k);
	int i;

	*found = j != NULL;
	if (j == NULL)
		return -1;
	if (cJSON_IsBool(j))
		return cJSON_IsTrue(j) ? 1 : 0;
	i = enum_get(c, o, k, path, &yes_no_dont_know_def);
	return i >= 0 ? yes_no_dont_know_vals[i].iv : -1;
}

static void users_get(struct ctx *c, const cJSON *general, struct ob_kitos_usage *u)
{
	const cJSON *n = jget(general, "numberOfExpectedUsers");

	if (n == NULL)
		return;
	if (!cJSON_IsObject(n)) {
		cwarn(c, "general.numberOfExpectedUsers", "expected an object, got %s", type_name(n));
		return;
	}
	u->users_min = int_get(c, n, "lowerBound", "general.numberOfExpectedUsers.lowerBound", INT_MAX);
	u->users_max = int_get(c, n, "upperBound", "general.numberOfExpectedUsers.upperBound", INT_MAX);
}

static void usage_fill(struct ctx *c, const cJSON *o, struct ob_kitos_usage *u)
{
	const cJSON *general = jget(o, "general");
	const cJSON *gdpr = jget(o, "gdpr");
	const cJSON *validity = jget(general, "validity");
	const cJSON *unit = jget(jget(o, "organizationUsage"), "responsibleOrganizationUnit");
	const cJSON *dprs = jget(o, "dataProcessingRegistrations");
	size_t cap = 0;
	int found, i;

	org_get(c, o, &u->org);
	u->local_name = str_dup(c, general, "localCallName", "general.localCallName", OB_KITOS_NAME_MAX);
	owner_get(c, o, u);
	u->department_uuid = uuid_dup(c, unit, "uuid", "organizationUsage.responsibleOrganizationUnit.uuid");
	u->department_name = str_dup(c, unit, "name", "organizationUsage.responsibleOrganizationUnit.name",
				     OB_KITOS_NAME_MAX);
	u->users_min = u->users_max = -1;
	users_get(c, general, u);

	i = enum_get(c, general, "hostedAt", "general.hostedAt", &hosted_def);
	if (i == -1)
		i = enum_get(c, gdpr, "hostedAt", "gdpr.hostedAt", &hosted_def);
	u->operations_model = i >= 0 ? hosted_vals[i].out : NULL;

	u->kitos_lifecycle = enum_str(c, validity, "lifeCycleStatus", "general.validity.lifeCycleStatus",
				      &lifecycle_def);
	u->lifecycle_phase = phase_of(u->kitos_lifecycle);

	u->legal_data = -1;
	sensitivity_get(c, gdpr, u);

	u->business_critical = business_critical_get(c, general, "isBusinessCritical",
						     "general.isBusinessCritical", &found);
	if (!found)
		u->business_critical = business_critical_get(c, gdpr, "businessCritical",
							     "gdpr.businessCritical", &found);

	u->ra_conducted = enum_str(c, gdpr, "riskAssessmentConducted", "gdpr.riskAssessmentConducted",
				   &ra_conducted_def);
	u->ra_date = date_get(c, gdpr, "riskAssessmentConductedDate", "gdpr.riskAssessmentConductedDate");
	u->ra_result = enum_str(c, gdpr, "riskAssessmentResult", "gdpr.riskAssessmentResult", &risk_def);
	u->ra_planned = date_get(c, gdpr, "plannedRiskAssessmentDate", "gdpr.plannedRiskAssessmentDate");
	u->dpia_conducted = enum_str(c, gdpr, "dpiaConducted", "gdpr.dpiaConducted", &yes_no_dont_know_def);
	u->dpia_date = date_get(c, gdpr, "dpiaDate", "gdpr.dpiaDate");
	u->dpa_required = enum_str(c, gdpr, "isDataProcessingAgreementRequired",
				   "gdpr.isDataProcessingAgreementRequired", &dpa_def);

	u->main_contract_uuid = uuid_dup(c, jget(general, "mainContract"), "uuid", "general.mainContract.uuid");
	uuid_list(c, dprs, "dataProcessingRegistrations", &u->dpr_uuids, &u->n_dpr_uuids, &cap);
}

/* ----------------------------------------------------------------- contract */

/* "3" -> 3; -1 with a warning for anything but a whole number. */
static int notice_months_get(struct ctx *c, const cJSON *terms)
{
	static const char path[] = "termination.terms.noticePeriodMonths.name";
	const cJSON *npm = jget(terms, "noticePeriodMonths");
	const cJSON *j;
	const char *s;
	char *v;
	size_t n;

	if (npm == NULL)
		return -1;
	if (cJSON_IsNumber(npm)) /* a bare number in some exports */
		return int_get(c, terms, "noticePeriodMonths", "termination.terms.noticePeriodMonths", 65535);
	j = jget(npm, "name");
	if (j == NULL)
		return -1;
	if (cJSON_IsString(j) && unusable(c, j->valuestring, path))
		return -1;
	if (cJSON_IsString(j)) {
		long m = 0;
		size_t k;
		n = trim_bounds(j->valuestring, &s);
		for (k = 0; k < n && s[k] >= '0' && s[k] <= '9' && m <= 65535; k++)
			m = m * 10 + (s[k] - '0');
		if (n > 0 && k == n && m <= 65535)
			return (int)m;
	} else if (cJSON_IsNumber(j)) {
		return int_get(c, npm, "name", path, 65535);
	}
	v = show_value(j);
	cwarn(c, path, "not a whole number of months: %s", v);
	free(v);
	return -1;
}

/* The leading count of "2 x 1 år"; -1 when the text starts otherwise. */
static int leading_int(const char *s)
{
	long m = 0;
	int any = 0;

	while (is_ws(*s))
		s++;
	for (; *s >= '0' && *s <= '9'; s++) {
		m = m * 10 + (*s - '0');
		any = 1;
		if (m > 65535)
			return -1;
	}
	return any ? (int)m : -1;
}

static void contract_fill(struct ctx *c, const cJSON *o, struct ob_kitos_contract *k)
{
	const cJSON *general = jget(o, "general");
	const cJSON *validity = jget(general, "validity");
	const cJSON *supplier_org = jget(jget(o, "supplier"), "organization");
	const cJSON *unit = jget(jget(o, "responsible"), "organizationUnit");
	const cJSON *period = jget(o, "agreementPeriod");
	const cJSON *termination = jget(o, "termination");
	const cJSON *terms = jget(termination, "terms");
	size_t cap = 0;

	org_get(c, o, &k->org);
	k->contract_number = str_dup(c, general, "contractId", "general.contractId", OB_KITOS_CONTRACT_NUMBER_MAX);
	k->supplier = str_dup(c, supplier_org, "name", "supplier.organization.name", OB_KITOS_NAME_MAX);
	k->supplier_cvr = str_dup(c, supplier_org, "cvr", "supplier.organization.cvr", OB_KITOS_CVR_MAX);
	k->responsible_unit_uuid = uuid_dup(c, unit, "uuid", "responsible.organizationUnit.uuid");
	k->responsible_unit_name = str_dup(c, unit, "name", "responsible.organizationUnit.name", OB_KITOS_NAME_MAX);
	k->start_date = date_get(c, validity, "validFrom", "general.validity.validFrom");
	k->end_date = date_get(c, validity, "validTo", "general.validity.validTo");
	k->enforced_valid = bool_get(c, validity, "enforcedValid", "general.validity.enforcedValid");
	k->continuous = bool_get(c, period, "isContinuous", "agreementPeriod.isContinuous");
	k->notice_months = notice_months_get(c, terms);
	k->notice_by_end_of = enum_str(c, terms, "noticeByEndOf", "termination.terms.noticeByEndOf",
				       &year_segment_def);
	k->extension_options = str_dup(c, jget(period, "extensionOptions"), "name",
				       "agreementPeriod.extensionOptions.name", OB_KITOS_EXTENSION_MAX);
	k->extension_total = k->extension_options ? leading_int(k->extension_options) : -1;
	k->extensions_used = int_get(c, period, "extensionOptionsUsed", "agreementPeriod.extensionOptionsUsed",
				     65535);
	k->irrevocable_until = date_get(c, period, "irrevocableUntil", "agreementPeriod.irrevocableUntil");
	k->terminated_at = date_get(c, termination, "terminatedAt", "termination.terminatedAt");
	uuid_list(c, jget(o, "systemUsages"), "systemUsages", &k->usage_uuids, &k->n_usage_uuids, &cap);
	cap = 0;
	uuid_list(c, jget(o, "dataProcessingRegistrations"), "dataProcessingRegistrations", &k->dpr_uuids,
		  &k->n_dpr_uuids, &cap);
}

/* ---------------------------------------------------------------------- DPR */

static char *processors_get(struct ctx *c, const cJSON *general)
{
	const cJSON *arr = jget(general, "dataProcessors"), *e;
	struct ob_buf buf;
	long i = -1;
	char field[64];

	if (arr == NULL)
		return NULL;
	if (!cJSON_IsArray(arr)) {
		cwarn(c, "general.dataProcessors", "expected an array, got %s", type_name(arr));
		return NULL;
	}
	ob_buf_init(&buf, 0);
	cJSON_ArrayForEach(e, arr)
	{
		const cJSON *name = jget(e, "name");
		const char *s;
		size_t n;

		i++;
		if (!cJSON_IsString(name))
			continue;
		snprintf(field, sizeof(field), "general.dataProcessors[%ld].name", i);
		if (unusable(c, name->valuestring, field))
			continue;
		n = trim_bounds(name->valuestring, &s);
		if (n == 0)
			continue;
		if (buf.len > 0)
			ob_buf_adds(&buf, "; ");
		ob_buf_add(&buf, s, n);
	}
	if (buf.len == 0) {
		ob_buf_free(&buf);
		return NULL;
	}
	return fit(c, ob_buf_steal(&buf), OB_KITOS_PROCESSORS_MAX, "general.dataProcessors");
}

static void dpr_fill(struct ctx *c, const cJSON *o, struct ob_kitos_dpr *d)
{
	const cJSON *general = jget(o, "general");
	const cJSON *validity = jget(general, "validity");
	size_t cap = 0;
	char *main_uuid;

	org_get(c, o, &d->org);
	d->agreement_concluded = enum_str(c, general, "isAgreementConcluded", "general.isAgreementConcluded",
					  &yes_no_irrelevant_def);
	d->concluded_on = date_get(c, general, "agreementConcludedAt", "general.agreementConcludedAt");
	if (jget(validity, "valid") != NULL)
		d->valid = bool_get(c, validity, "valid", "general.validity.valid");
	else
		d->valid = bool_get(c, general, "valid", "general.valid"); /* older shape */
	d->third_country = enum_str(c, general, "transferToInsecureThirdCountries",
				    "general.transferToInsecureThirdCountries", &yes_no_undecided_def);
	d->processors = processors_get(c, general);
	d->oversight_next = date_get(c, jget(o, "oversight"), "oversightScheduledInspectionDate",
				     "oversight.oversightScheduledInspectionDate");
	uuid_list(c, jget(o, "systemUsages"), "systemUsages", &d->usage_uuids, &d->n_usage_uuids, &cap);
	cap = 0;
	main_uuid = uuid_dup(c, jget(general, "mainContract"), "uuid", "general.mainContract.uuid");
	if (main_uuid != NULL) {
		list_add_unique(&d->contract_uuids, &d->n_contract_uuids, &cap, main_uuid);
		free(main_uuid);
	}
	uuid_list(c, jget(general, "associatedContracts"), "general.associatedContracts", &d->contract_uuids,
		  &d->n_contract_uuids, &cap);
}

/* --------------------------------------------------------------------- user */

static void user_fill(struct ctx *c, const cJSON *o, struct ob_kitos_user *u)
{
	const cJSON *j = jget(o, "email");
	const char *s;
	size_t n, chars;
	char *v;

	org_get(c, o, &u->org);
	if (j == NULL)
		return;
	if (!cJSON_IsString(j)) {
		cwarn(c, "email", "expected a string, got %s", type_name(j));
		return;
	}
	if (unusable(c, j->valuestring, "email"))
		return;
	n = trim_bounds(j->valuestring, &s);
	if (n == 0)
		return;
	if (memchr(s, '@', n) == NULL || memchr(s, ' ', n) != NULL) {
		v = show_value(j);
		cwarn(c, "email", "not an e-mail address: %s", v);
		free(v);
		return;
	}
	v = ob_xstrndup(s, n);
	if (n > OB_KITOS_EMAIL_MAX && (chars = ob_utf8_len(v)) > OB_KITOS_EMAIL_MAX) {
		/* not cut: that would be somebody else's address */
		cwarn(c, "email", "not an e-mail address: %zu characters, more than %d; left out", chars,
		      OB_KITOS_EMAIL_MAX);
		free(v);
		return;
	}
	u->email = v;
}

/* "firstName lastName", or name; NULL when there is neither. */
static char *user_name(struct ctx *c, const cJSON *o)
{
	char *first = str_dup(c, o, "firstName", "firstName", 0);
	char *last = str_dup(c, o, "lastName", "lastName", 0);
	char *name;

	if (first != NULL && last != NULL)
		name = fit(c, ob_xasprintf("%s %s", first, last), OB_KITOS_NAME_MAX, "firstName, lastName");
	else if (first != NULL || last != NULL)
		name = fit(c, ob_xstrdup(first ? first : last), OB_KITOS_NAME_MAX, first ? "firstName" : "lastName");
	else
		name = str_dup(c, o, "name", "name", OB_KITOS_NAME_MAX);
	free(first);
	free(last);
	return name;
}

/* -------------------------------------------------------------- one object */

/* The kinds whose marker keys an object has at its top level, found in one
 * pass over its members (a lookup per marker would scan them a dozen
 * times, for every object of a large export). */
enum { HAS_USAGE = 1, HAS_CONTRACT = 2, HAS_DPR = 4, HAS_USER = 8 };

static unsigned top_markers(const cJSON *o)
{
	static const struct {
		const char *key;
		unsigned kind;
	} markers[] = {
		{"systemContext", HAS_USAGE},	 {"gdpr", HAS_USAGE},	       {"organizationUsage", HAS_USAGE},
		{"archiving", HAS_USAGE},	 {"oversight", HAS_DPR},       {"agreementPeriod", HAS_CONTRACT},
		{"termination", HAS_CONTRACT}, {"supplier", HAS_CONTRACT}, {"procurement", HAS_CONTRACT},
		{"email", HAS_USER},		 {"firstName", HAS_USER},      {"lastName", HAS_USER},
	};
	const cJSON *m;
	unsigned found = 0;

	for (m = o->child; m != NULL; m = m->next) {
		if (m->string == NULL)
			continue;
		for (size_t i = 0; i < OB_ARRAY_LEN(markers); i++)
			if (m->string[0] == markers[i].key[0] && strcmp(m->string, markers[i].key) == 0) {
				found |= markers[i].kind;
				break;
			}
	}
	return found;
}

static int kind_of(const cJSON *o)
{
	unsigned m = top_markers(o);
	const cJSON *general;

	if (m & HAS_USAGE)
		return OB_KITOS_USAGE;
	/* Before contracts: a minimal DPR is {name, uuid, general: {validity:
	 * {valid, enforceInvalidity}}}. */
	general = jget(o, "general");
	if ((m & HAS_DPR) || jhas(general, "isAgreementConcluded") || jhas(general, "dataProcessors") ||
	    jhas(jget(general, "validity"), "enforceInvalidity"))
		return OB_KITOS_DPR;
	if ((m & HAS_CONTRACT) || jhas(general, "contractId") || jhas(general, "contractType"))
		return OB_KITOS_CONTRACT;
	if (m & HAS_USER)
		return OB_KITOS_USER;
	return -1;
}

static void parse_object(struct ctx *c, const cJSON *o)
{
	struct ob_kitos_batch *b = c->b;
	const cJSON *ju = jget(o, "uuid");
	int kind = kind_of(o);
	char *name = NULL;

	c->uuid = cJSON_IsString(ju) && is_uuid(ju->valuestring) ? ju->valuestring : NULL;
	c->bad = 0;
	if (kind < 0) {
		cwarn(c, "", "object of unknown kind (not an it-system-usage, it-contract, "
			     "data-processing-registration or user)");
		b->skipped_unknown++;
		return;
	}
	c->what = kind_names[kind];
	if (c->uuid == NULL) {
		if (ju == NULL || (cJSON_IsString(ju) && ju->valuestring[0] == '\0')) {
			cwarn(c, "uuid", "missing uuid; %s skipped", c->what);
		} else if (!cJSON_IsString(ju) || !unusable(c, ju->valuestring, "uuid")) {
			char *v = show_value(ju);
			cwarn(c, "uuid", "not a UUID: %s; %s skipped", v, c->what);
			free(v);
		}
		b->skipped[kind]++;
		return;
	}

	switch (kind) {
	case OB_KITOS_USAGE:
		name = str_dup(c, jget(o, "systemContext"), "name", "systemContext.name", OB_KITOS_NAME_MAX);
		if (name == NULL && !c->bad)
			name = str_dup(c, jget(o, "general"), "localCallName", "general.localCallName",
				       OB_KITOS_NAME_MAX);
		if (name == NULL) {
			if (!c->bad)
				cwarn(c, "systemContext.name", "no name (neither systemContext.name nor "
							       "general.localCallName); %s skipped", c->what);
			break;
		}
		GROW(b->usages, b->n_usages, b->cap_usages);
		{
			struct ob_kitos_usage *u = &b->usages[b->n_usages++];
			memset(u, 0, sizeof(*u));
			u->file = c->file;
			u->index = c->index;
			u->uuid = ob_xstrdup(c->uuid);
			u->name = name;
			usage_fill(c, o, u);
			if (c->bad) {
				free_usage(u);
				b->n_usages--;
				break;
			}
		}
		return;
	case OB_KITOS_CONTRACT:
	case OB_KITOS_DPR:
		name = str_dup(c, o, "name", "name", OB_KITOS_NAME_MAX);
		if (name == NULL) {
			if (!c->bad)
				cwarn(c, "name", "no name; %s skipped", c->what);
			break;
		}
		if (kind == OB_KITOS_CONTRACT) {
			struct ob_kitos_contract *k;
			GROW(b->contracts, b->n_contracts, b->cap_contracts);
			k = &b->contracts[b->n_contracts++];
			memset(k, 0, sizeof(*k));
			k->file = c->file;
			k->index = c->index;
			k->uuid = ob_xstrdup(c->uuid);
			k->name = name;
			contract_fill(c, o, k);
			if (c->bad) {
				free_contract(k);
				b->n_contracts--;
				break;
			}
		} else {
			struct ob_kitos_dpr *d;
			GROW(b->dprs, b->n_dprs, b->cap_dprs);
			d = &b->dprs[b->n_dprs++];
			memset(d, 0, sizeof(*d));
			d->file = c->file;
			d->index = c->index;
			d->uuid = ob_xstrdup(c->uuid);
			d->name = name;
			dpr_fill(c, o, d);
			if (c->bad) {
				free_dpr(d);
				b->n_dprs--;
				break;
			}
		}
		return;
	case OB_KITOS_USER:
		name = user_name(c, o);
		if (name == NULL || c->bad) {
			if (!c->bad)
				cwarn(c, "name", "no firstName, lastName or name; %s skipped", c->what);
			free(name);
			break;
		}
		GROW(b->users, b->n_users, b->cap_users);
		{
			struct ob_kitos_user *u = &b->users[b->n_users++];
			memset(u, 0, sizeof(*u));
			u->file = c->file;
			u->index = c->index;
			u->uuid = ob_xstrdup(c->uuid);
			u->name = name;
			user_fill(c, o, u);
			if (c->bad) {
				free_user(u);
				b->n_users--;
				break;
			}
		}
		return;
	}
	b->skipped[kind]++;
}

/* ------------------------------------------------------------ fatal errors */

static size_t skip_bom(const char *s, size_t len)
{
	return len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

/* 1-based line and column (in characters) of byte offset pos. */
static void line_col(const char *s, size_t len, size_t pos, long *line, long *col)
{
	size_t i = skip_bom(s, len), start;

	*line = 1;
	if (pos > len)
		pos = len;
	start = i;
	for (; i < pos; i++)
		if (s[i] == '\n') {
			(*line)++;
			start = i + 1;
		}
	*col = 1;
	for (i = start; i < pos; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			(*col)++;
}

/* Up to SNIPPET_CHARS characters from pos, on one line, printable; caller frees. */
static char *snippet(const char *s, size_t len, size_t pos)
{
	char out[4 * SNIPPET_CHARS + 8];
	size_t o = 0, chars = 0;

	for (size_t i = pos; i < len && o + 5 < sizeof(out); i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\n' || ch == '\r')
			break;
		if ((ch & 0xC0) != 0x80 && chars++ == SNIPPET_CHARS)
			break;
		out[o++] = (ch < 0x20 || ch == 0x7F) ? ' ' : (char)ch;
	}
	while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) != 0x00 && (unsigned char)out[o - 1] >= 0xC0)
		o--; /* a lead byte whose sequence the buffer cut */
	return ob_kitos_printable(out, o);
}

/* A small JSON checker, run over the whole file only after the parse has
 * failed, to say where and why in the words users know: "unexpected end of
 * file" for a truncated file (ob_json_parse names the string or object not
 * closed), "expected ',' or '}'" where a comma is missing. Lenient (numbers
 * go through strtod, strings may hold control characters): what only the
 * strict parse refuses is named by ob_json_parse's message. */
enum { X_VALUE, X_ARR_FIRST, X_ARR_NEXT, X_OBJ_FIRST, X_OBJ_KEY, X_COLON, X_OBJ_NEXT, X_DONE };

struct jerr {
	size_t pos;
	int eof;
	const char *expected;
	size_t max_depth;
};

static int scan_string(const char *s, size_t len, size_t *i, struct jerr *e)
{
	size_t p = *i + 1;

	while (p < len) {
		char ch = s[p];
		if (ch == '"') {
			*i = p + 1;
			return 0;
		}
		if (ch == '\\') {
			if (++p >= len)
				break;
			if (s[p] == 'u') {
				for (int k = 1; k <= 4; k++) {
					if (p + (size_t)k >= len)
						goto eof;
					if (!is_hex(s[p + (size_t)k])) {
						e->pos = p + (size_t)k;
						e->expected = "four hexadecimal digits after \\u";
						return -1;
					}
				}
				p += 5;
				continue;
			}
			if (strchr("\"\\/bfnrt", s[p]) == NULL || s[p] == '\0') {
				e->pos = p - 1;
				e->expected = "a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)";
				return -1;
			}
		}
		p++;
	}
eof:
	e->pos = len;
	e->eof = 1;
	return -1;
}

static int scan_number(const char *s, size_t len, size_t *i, struct jerr *e)
{
	char tmp[64], *end;
	size_t p = *i, n = 0, used;

	while (p < len && n < sizeof(tmp) - 1 && strchr("0123456789+-eE.", s[p]) != NULL && s[p] != '\0')
		tmp[n++] = s[p++];
	tmp[n] = '\0';
	(void)strtod(tmp, &end);
	used = (size_t)(end - tmp);
	if (used == 0) {
		if (p == len) {
			e->pos = len;
			e->eof = 1;
		} else {
			e->pos = *i;
			e->expected = "a number";
		}
		return -1;
	}
	if (used < n && p == len) { /* "1.5e" at the end: cut off mid-number */
		e->pos = len;
		e->eof = 1;
		return -1;
	}
	*i += used;
	return 0;
}

static int scan_literal(const char *s, size_t len, size_t *i, struct jerr *e)
{
	static const char *const lits[] = {"true", "false", "null"};

	for (size_t k = 0; k < OB_ARRAY_LEN(lits); k++) {
		size_t n = strlen(lits[k]), avail = len - *i;
		if (s[*i] != lits[k][0])
			continue;
		if (avail < n && memcmp(s + *i, lits[k], avail) == 0) {
			e->pos = len;
			e->eof = 1;
			return -1;
		}
		if (avail >= n && memcmp(s + *i, lits[k], n) == 0) {
			*i += n;
			return 0;
		}
	}
	e->pos = *i;
	e->expected = "a value (object, array, string, number, true, false or null)";
	return -1;
}

/* Returns 1 with e set when the text is not JSON, 0 when it is. */
static int json_check(const char *s, size_t len, struct jerr *e)
{
	char *stack = NULL;
	size_t depth = 0, cap = 0, i = skip_bom(s, len);
	int state = X_VALUE, rc = 1;

	memset(e, 0, sizeof(*e));
	for (;;) {
		while (i < len && is_ws(s[i]))
			i++;
		if (i == len) {
			if (state == X_DONE)
				rc = 0;
			else {
				e->pos = len;
				e->eof = 1;
			}
			goto out;
		}
		switch (state) {
		case X_VALUE:
		case X_ARR_FIRST:
			if (state == X_ARR_FIRST && s[i] == ']') {
				i++;
				depth--;
				break;
			}
			if (s[i] == '{' || s[i] == '[') {
				GROW(stack, depth, cap);
				stack[depth++] = s[i];
				if (depth > e->max_depth)
					e->max_depth = depth;
				state = s[i] == '{' ? X_OBJ_FIRST : X_ARR_FIRST;
				i++;
				continue;
			}
			if (s[i] == '"') {
				if (scan_string(s, len, &i, e) < 0)
					goto out;
			} else if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
				if (scan_number(s, len, &i, e) < 0)
					goto out;
			} else if (scan_literal(s, len, &i, e) < 0) {
				goto out;
			}
			break;
		case X_OBJ_FIRST:
		case X_OBJ_KEY:
			if (state == X_OBJ_FIRST && s[i] == '}') {
				i++;
				depth--;
				break;
			}
			if (s[i] != '"') {
				e->pos = i;
				e->expected = state == X_OBJ_FIRST ? "a member name in double quotes or '}'"
								   : "a member name in double quotes";
				goto out;
			}
			if (scan_string(s, len, &i, e) < 0)
				goto out;
			state = X_COLON;
			continue;
		case X_COLON:
			if (s[i] != ':') {
				e->pos = i;
				e->expected = "':'";
				goto out;
			}
			i++;
			state = X_VALUE;
			continue;
		case X_ARR_NEXT:
			if (s[i] == ',') {
				i++;
				state = X_VALUE;
				continue;
			}
			if (s[i] != ']') {
				e->pos = i;
				e->expected = "',' or ']'";
				goto out;
			}
			i++;
			depth--;
			break;
		case X_OBJ_NEXT:
			if (s[i] == ',') {
				i++;
				state = X_OBJ_KEY;
				continue;
			}
			if (s[i] != '}') {
				e->pos = i;
				e->expected = "',' or '}'";
				goto out;
			}
			i++;
			depth--;
			break;
		default: /* X_DONE with text left */
			e->pos = i;
			e->expected = "the end of the file after the JSON value";
			goto out;
		}
		/* a value is complete */
		if (depth == 0)
			state = X_DONE;
		else
			state = stack[depth - 1] == '[' ? X_ARR_NEXT : X_OBJ_NEXT;
	}
out:
	free(stack);
	return rc;
}

/* Why a file was refused, found while reading it; the message is made from
 * the whole text afterwards (fatal_message). */
enum fatal_kind { F_NONE, F_EMPTY, F_READ, F_SYNTAX, F_TOP, F_ELEMENT };

struct fatal {
	enum fatal_kind kind;
	size_t off;          /* byte of the problem in the file */
	long index;          /* F_ELEMENT: which element */
	const char *type;    /* F_TOP, F_ELEMENT: "a number" */
	int read_errno;      /* F_READ */
	char what[320];      /* F_SYNTAX: ob_json_parse's words, positions made absolute */
	enum ob_json_code code; /* F_SYNTAX: which problem */
	size_t first;        /* OB_JSON_E_DUPLICATE: the key's first place in the file */
};

/* ob_json_parse's positions count from the start of the element it was
 * given: a duplicate key's first place is said from the file's start
 * (text, when it could be read again), and the depth as the file's limit. */
static void what_in_file(struct fatal *f, const char *text, size_t len)
{
	char *p = strstr(f->what, " (first at line ");
	size_t room;
	long l, c;

	if (f->code == OB_JSON_E_DEPTH)
		snprintf(f->what, sizeof(f->what), "nested deeper than %d arrays and objects", OB_JSON_MAX_DEPTH);
	else if (f->code == OB_JSON_E_DUPLICATE && p != NULL && text != NULL) {
		line_col(text, len, f->first, &l, &c);
		room = sizeof(f->what) - (size_t)(p - f->what);
		snprintf(p, room, " (first at line %ld, column %ld)", l, c);
	}
}

/* err for f, from the whole text of the file (NULL if it could not be read
 * again: then without line and column). */
static void fatal_message(const struct fatal *f, const char *file, const char *text, size_t len,
			  struct ob_err *err)
{
	struct jerr e;
	long line = 0, col = 0;
	char *near = NULL;

	switch (f->kind) {
	case F_EMPTY:
		ob_err_set(err, "%s: empty file, expected KITOS JSON", file);
		return;
	case F_READ:
		ob_err_set(err, "%s: cannot read: %s", file, strerror(f->read_errno));
		return;
	default:
		break;
	}
	if (text == NULL) {
		ob_err_set(err, "%s: byte %zu: %s", file, f->off,
			   f->kind == F_SYNTAX ? f->what : "not KITOS data (an object or an array of objects)");
		return;
	}
	if (f->kind == F_TOP || f->kind == F_ELEMENT) {
		line_col(text, len, f->off, &line, &col);
		if (f->kind == F_TOP)
			ob_err_set(err, "%s:%ld:%ld: not KITOS data: top-level JSON is %s, expected an object or an "
					"array of objects", file, line, col, f->type);
		else
			ob_err_set(err, "%s:%ld:%ld: not KITOS data: element %ld of the top-level array is %s, "
					"expected an object", file, line, col, f->index, f->type);
		return;
	}
	/* A syntax error the lenient checker finds first, or a file cut short
	 * (ob_json_parse names the string or object left open), is said its way. */
	if (json_check(text, len, &e) != 0 && (e.eof || e.pos <= f->off)) {
		line_col(text, len, e.pos, &line, &col);
		if (e.eof) {
			ob_err_set(err, "%s:%ld:%ld: JSON syntax error: unexpected end of file", file, line, col);
			return;
		}
		near = snippet(text, len, e.pos);
		if (e.expected)
			ob_err_set(err, "%s:%ld:%ld: JSON syntax error near '%s': expected %s", file, line, col, near,
				   e.expected);
		else
			ob_err_set(err, "%s:%ld:%ld: JSON syntax error near '%s'", file, line, col, near);
		free(near);
		return;
	}
	line_col(text, len, f->off, &line, &col);
	if (f->off >= len) {
		ob_err_set(err, "%s:%ld:%ld: JSON syntax error: unexpected end of file", file, line, col);
		return;
	}
	near = snippet(text, len, f->off);
	ob_err_set(err, "%s:%ld:%ld: JSON syntax error near '%s': %s", file, line, col, near, f->what);
	free(near);
}

/* ------------------------------------------------------------------- arena */

/* cJSON makes one malloc() per value and per string, and cJSON_Delete one
 * free() each: for a 60 MB export that is millions of calls and about half
 * the time of the parse. While ob_kitos_parse runs, this thread's cJSON
 * allocations come from an arena, emptied after each object instead. The
 * hooks are installed once for the process; outside an arena (other
 * threads, other callers) they are plain malloc() and free(). Should
 * someone else replace the hooks, the tree is not in the arena and is
 * freed with cJSON_Delete. */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	alignas(max_align_t) unsigned char data[];
};

#define ARENA_FIRST ((size_t)64 * 1024)
#define ARENA_MAX ((size_t)16 * 1024 * 1024)

static _Thread_local struct arena_chunk *arena;
static _Thread_local int arena_on;
static int hooks_installed;

static void *hook_alloc(size_t n)
{
	size_t a = alignof(max_align_t), cap;
	struct arena_chunk *ch;
	void *p;

	if (!arena_on)
		return malloc(n);
	n = (n + a - 1) & ~(a - 1);
	if (arena == NULL || arena->cap - arena->used < n) {
		cap = arena ? arena->cap * 2 : ARENA_FIRST;
		if (cap > ARENA_MAX)
			cap = ARENA_MAX;
		if (cap < n)
			cap = n;
		ch = malloc(sizeof(*ch) + cap);
		if (ch == NULL)
			return NULL; /* cJSON reports it as a failed parse */
		ch->next = arena;
		ch->used = 0;
		ch->cap = cap;
		arena = ch;
	}
	p = arena->data + arena->used;
	arena->used += n;
	return p;
}

static void hook_free(void *p)
{
	if (!arena_on)
		free(p);
	/* else: the arena's, released by arena_reset() and arena_end() */
}

static void arena_begin(void)
{
	if (!__atomic_load_n(&hooks_installed, __ATOMIC_ACQUIRE)) {
		cJSON_Hooks h = {hook_alloc, hook_free};
		cJSON_InitHooks(&h);
		__atomic_store_n(&hooks_installed, 1, __ATOMIC_RELEASE);
	}
	arena_on = 1;
}

/* Whether p lies in this thread's arena (a tree parsed into it need not be
 * taken apart node by node). */
static int arena_owns(const void *p)
{
	uintptr_t q = (uintptr_t)p;

	if (p == NULL)
		return 1;
	for (const struct arena_chunk *ch = arena; ch != NULL; ch = ch->next)
		if (q >= (uintptr_t)ch->data && q < (uintptr_t)ch->data + ch->used)
			return 1;
	return 0;
}

/* Frees a tree: empties the arena for the next one, keeping its newest
 * (largest) chunk. */
static void tree_free(cJSON *root)
{
	if (!arena_owns(root))
		cJSON_Delete(root); /* the hooks were replaced: the tree is malloc()'s */
	if (arena == NULL)
		return;
	while (arena->next != NULL) {
		struct arena_chunk *next = arena->next->next;
		free(arena->next);
		arena->next = next;
	}
	arena->used = 0;
}

static void arena_end(void)
{
	while (arena != NULL) {
		struct arena_chunk *next = arena->next;
		free(arena);
		arena = next;
	}
	arena_on = 0;
}

/* ------------------------------------------------------------------ reader */

/* The text being parsed: file bytes [base, base + len) are in t. In memory
 * t is the caller's whole text; from a file, a buffer that holds the
 * element being parsed and is refilled CHUNK bytes at a time, dropping the
 * elements done. */
#define CHUNK ((size_t)1 << 20)

struct reader {
	FILE *f;           /* NULL: t holds the whole text */
	char *buf;         /* t, when read from f */
	size_t cap;
	const char *t;
	size_t len, base;
	int eof;
	int read_errno;
	/* t[lc - base] is at line:col (lc never moves back), for warnings */
	size_t lc;
	long line, col;
};

#define AT(r, off) ((r)->t[(off) - (r)->base])

/* Moves the line:col mark forward to off (held in t). */
static void mark_to(struct reader *r, size_t off)
{
	const char *p = r->t + (r->lc - r->base), *end = r->t + (off - r->base), *nl;

	if (off <= r->lc)
		return;
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		r->line++;
		r->col = 1;
		p = nl + 1;
	}
	for (; p < end; p++)
		if (((unsigned char)*p & 0xC0) != 0x80)
			r->col++;
	r->lc = off;
}

/* Reads more, dropping what lies before keep. 1 if it got bytes, 0 at the
 * end of the file, -1 on a read error. */
static int fill(struct reader *r, size_t keep)
{
	size_t drop = keep - r->base, n;

	if (r->f == NULL || r->eof) {
		r->eof = 1;
		return 0;
	}
	if (drop > 0) {
		mark_to(r, keep);
		memmove(r->buf, r->buf + drop, r->len - drop);
		r->len -= drop;
		r->base = keep;
	}
	if (r->cap - r->len < CHUNK / 2) {
		r->cap = r->cap ? r->cap * 2 : CHUNK;
		r->buf = ob_xrealloc(r->buf, r->cap);
	}
	r->t = r->buf;
	n = fread(r->buf + r->len, 1, r->cap - r->len, r->f);
	if (n == 0) {
		if (ferror(r->f)) {
			r->read_errno = errno ? errno : EIO;
			return -1;
		}
		r->eof = 1;
		return 0;
	}
	r->len += n;
	return 1;
}

/* 1 when byte off is in t (reading on, keeping keep and after), 0 past the
 * end, -1 on a read error. */
static int has(struct reader *r, size_t off, size_t keep)
{
	while (off >= r->base + r->len) {
		int rc = fill(r, keep);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

/* Skips blank space from *off; then has(). */
static int skip_blank(struct reader *r, size_t *off)
{
	int rc;

	while ((rc = has(r, *off, *off)) == 1 && is_ws(AT(r, *off)))
		(*off)++;
	return rc;
}

/* Where the JSON value starting at byte start ends, found by matching
 * brackets outside strings (a number or literal ends at a delimiter). Not a
 * check: ob_json_parse then parses just that much. At the end of the file
 * the value ends there. 0, or -1 on a read error. */
static int value_end(struct reader *r, size_t start, size_t *end)
{
	char first = AT(r, start);
	size_t i = start;
	int depth = 0, in_str = 0, rc;

	if (first != '{' && first != '[' && first != '"') {
		while ((rc = has(r, i, start)) == 1) {
			char ch = AT(r, i);
			if (ch == ',' || ch == ']' || ch == '}' || is_ws(ch))
				break;
			i++;
		}
		*end = i;
		return rc < 0 ? -1 : 0;
	}
	for (;;) {
		const char *p = r->t + (i - r->base), *e = r->t + r->len;
		for (; p < e; p++) {
			char ch = *p;
			if (in_str) {
				if (ch == '\\') {
					if (p + 1 == e)
						break; /* the escaped byte is in the next read */
					p++;
				} else if (ch == '"') {
					in_str = 0;
					if (depth == 0) { /* a string value */
						*end = r->base + (size_t)(p - r->t) + 1;
						return 0;
					}
				}
			} else if (ch == '"') {
				in_str = 1;
			} else if (ch == '{' || ch == '[') {
				depth++;
			} else if (ch == '}' || ch == ']') {
				if (--depth == 0) {
					*end = r->base + (size_t)(p - r->t) + 1;
					return 0;
				}
			}
		}
		i = r->base + (size_t)(p - r->t); /* the end of t, or a backslash that ends it */
		if ((rc = fill(r, start)) <= 0) {
			*end = r->base + r->len;
			return rc;
		}
	}
}

/* ------------------------------------------------------------------- parse */

/* What a value that only the strict parse refuses is: a problem of one
 * object, not of the file's structure. */
static int value_problem(enum ob_json_code code)
{
	return code == OB_JSON_E_CONTROL || code == OB_JSON_E_NUL || code == OB_JSON_E_SURROGATE ||
	       code == OB_JSON_E_RANGE;
}

static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		if (!is_hex(p[k]))
			return -1;
		*v = *v << 4 | (unsigned)(p[k] <= '9' ? p[k] - '0' : (p[k] | 0x20) - 'a' + 10);
	}
	return 0;
}

/* Lone UTF-16 surrogates in t[0..n) written as \uFFFD, so that cJSON can
 * build the tree of an object being skipped, to name its kind and uuid. */
static void mend_surrogates(char *t, size_t n)
{
	int in_str = 0;
	unsigned v, lo;

	for (size_t i = 0; i < n; i++) {
		if (t[i] == '"') {
			in_str = !in_str;
		} else if (in_str && t[i] == '\\' && i + 1 < n) {
			if (t[i + 1] == 'u' && i + 6 <= n && hex4(t + i + 2, &v) == 0) {
				if (v >= 0xD800 && v <= 0xDBFF && i + 12 <= n && t[i + 6] == '\\' && t[i + 7] == 'u' &&
				    hex4(t + i + 8, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
					i += 11;
					continue;
				}
				if (v >= 0xD800 && v <= 0xDFFF)
					memcpy(t + i + 2, "FFFD", 4);
				i += 5;
			} else
				i++;
		}
	}
}

/* One element that holds a value the strict parse refused (a raw control
 * character, a lone surrogate, a number out of range): skipped with a
 * warning, named by kind and uuid when cJSON can read it. */
static void skip_element(struct ctx *c, struct reader *r, char *t, size_t n, size_t start,
			 const struct ob_json_error *e)
{
	cJSON *root;
	int kind = -1;

	mark_to(r, start + e->offset);
	mend_surrogates(t, n);
	root = cJSON_ParseWithLength(t, n);
	c->uuid = NULL;
	if (cJSON_IsObject(root)) {
		const cJSON *ju = jget(root, "uuid");
		kind = kind_of(root);
		if (cJSON_IsString(ju) && is_uuid(ju->valuestring))
			c->uuid = ju->valuestring;
	}
	cwarn(c, "", "line %ld, column %ld: %s; %s skipped", r->line, r->col, e->what,
	      kind >= 0 ? kind_names[kind] : "object");
	if (kind >= 0)
		c->b->skipped[kind]++;
	else
		c->b->skipped_unknown++;
	tree_free(root);
	c->uuid = NULL;
}

/* The value at [start, end): parsed and, when an object, turned into
 * records. Returns 0, or -1 with f set. */
static int element(struct ctx *c, struct reader *r, size_t start, size_t end, unsigned depth,
		   struct ob_buf *scratch, struct fatal *f)
{
	struct ob_json_error e;
	size_t n = end - start;
	cJSON *root;

	/* A copy: ob_json_parse marks "\u0000" in the text it parses. */
	ob_buf_reset(scratch);
	ob_buf_add(scratch, r->t + (start - r->base), n);
	root = ob_json_parse(scratch->data ? scratch->data : (char *)"", n, OB_JSON_LAX_UTF8 | OB_JSON_MARK_NUL,
			     depth, &e);
	if (root == NULL) {
		if (AT(r, start) == '{' && value_problem(e.code)) {
			ob_buf_reset(scratch);
			ob_buf_add(scratch, r->t + (start - r->base), n);
			skip_element(c, r, scratch->data, n, start, &e);
			return 0;
		}
		f->kind = F_SYNTAX;
		f->off = start + e.offset;
		snprintf(f->what, sizeof(f->what), "%s", e.what);
		f->code = e.code;
		f->first = start + e.first_offset;
		return -1;
	}
	if (!cJSON_IsObject(root)) {
		f->kind = c->index < 0 ? F_TOP : F_ELEMENT;
		f->off = start;
		f->index = c->index;
		f->type = type_name(root);
		tree_free(root);
		return -1;
	}
	parse_object(c, root);
	tree_free(root);
	c->uuid = NULL;
	return 0;
}

/* The whole file: one value, an object or an array of objects. */
static int parse_all(struct ctx *c, struct reader *r, struct fatal *f)
{
	struct ob_buf scratch;
	size_t pos = 0, end;
	int h;

	ob_buf_init(&scratch, 0);
	if ((h = has(r, 2, 0)) < 0)
		goto read_error;
	if (h == 1 && memcmp(r->t, "\xEF\xBB\xBF", 3) == 0)
		pos = r->lc = 3;
	if ((h = skip_blank(r, &pos)) < 0)
		goto read_error;
	if (h == 0) {
		f->kind = F_EMPTY;
		goto fail;
	}
	if (AT(r, pos) != '[') {
		/* A lone object (or not KITOS data): all of the rest is the value. */
		size_t start = pos;
		while ((h = fill(r, start)) == 1)
			;
		if (h < 0)
			goto read_error;
		c->index = -1;
		if (element(c, r, start, r->base + r->len, 0, &scratch, f) < 0)
			goto fail;
		ob_buf_free(&scratch);
		return 0;
	}
	pos++;
	for (c->index = 0;; c->index++) {
		if ((h = skip_blank(r, &pos)) < 0)
			goto read_error;
		if (h == 0)
			goto syntax;
		if (c->index == 0 && AT(r, pos) == ']')
			break;
		if (value_end(r, pos, &end) < 0)
			goto read_error;
		if (element(c, r, pos, end, OB_JSON_MAX_DEPTH - 1, &scratch, f) < 0)
			goto fail;
		pos = end;
		if ((h = skip_blank(r, &pos)) < 0)
			goto read_error;
		if (h == 0)
			goto syntax;
		if (AT(r, pos) == ']')
			break;
		if (AT(r, pos) != ',')
			goto syntax;
		pos++;
	}
	pos++;
	if ((h = skip_blank(r, &pos)) < 0)
		goto read_error;
	if (h == 1) {
		snprintf(f->what, sizeof(f->what), "data after the JSON value");
		goto syntax_at;
	}
	ob_buf_free(&scratch);
	return 0;
syntax:
	snprintf(f->what, sizeof(f->what), h == 0 ? "unexpected end of file" : "expected ',' or ']'");
syntax_at:
	f->kind = F_SYNTAX;
	f->off = pos;
	goto fail;
read_error:
	f->kind = F_READ;
	f->read_errno = r->read_errno;
fail:
	ob_buf_free(&scratch);
	return -1;
}

/* Counts that a failed file must leave as they were. */
struct mark {
	size_t usages, contracts, dprs, users, warnings, files, skipped[OB_KITOS_NKINDS], skipped_unknown;
};

static void mark_batch(const struct ob_kitos_batch *b, struct mark *m)
{
	m->usages = b->n_usages;
	m->contracts = b->n_contracts;
	m->dprs = b->n_dprs;
	m->users = b->n_users;
	m->warnings = b->n_warnings;
	m->files = b->n_files;
	memcpy(m->skipped, b->skipped, sizeof(m->skipped));
	m->skipped_unknown = b->skipped_unknown;
}

/* Drops everything appended to b since m. */
static void rollback(struct ob_kitos_batch *b, const struct mark *m)
{
	while (b->n_usages > m->usages)
		free_usage(&b->usages[--b->n_usages]);
	while (b->n_contracts > m->contracts)
		free_contract(&b->contracts[--b->n_contracts]);
	while (b->n_dprs > m->dprs)
		free_dpr(&b->dprs[--b->n_dprs]);
	while (b->n_users > m->users)
		free_user(&b->users[--b->n_users]);
	while (b->n_warnings > m->warnings) {
		struct ob_kitos_warning *w = &b->warnings[--b->n_warnings];
		free(w->file);
		free(w->uuid);
		free(w->field);
		free(w->message);
	}
	while (b->n_files > m->files)
		free(b->files[--b->n_files]);
	memcpy(b->skipped, m->skipped, sizeof(m->skipped));
	b->skipped_unknown = m->skipped_unknown;
}

/* Parses r into b as file (its name). On a fatal error the message is made
 * from the whole text: text, or the file read again from path. */
static int parse(struct ob_kitos_batch *b, const char *file, struct reader *r, const char *path,
		 const struct ob_kitos_opts *opts, struct ob_err *err)
{
	struct fatal f;
	struct mark m;
	struct ctx c;
	const char *role;
	int rc;

	memset(&f, 0, sizeof(f));
	mark_batch(b, &m);
	GROW(b->files, b->n_files, b->cap_files);
	b->files[b->n_files++] = ob_kitos_printable(file, strlen(file));
	memset(&c, 0, sizeof(c));
	c.b = b;
	c.file = b->files[b->n_files - 1];
	role = opts && opts->owner_role ? opts->owner_role : DEFAULT_OWNER_ROLE;
	c.owner_role_len = trim_bounds(role, &c.owner_role);
	r->line = r->col = 1;
	arena_begin();
	rc = parse_all(&c, r, &f);
	arena_end();
	if (rc == 0)
		return 0;
	{
		char *name = ob_xstrdup(c.file), *whole = NULL;
		const char *text = NULL;
		size_t len = 0;

		rollback(b, &m);
		if (r->f == NULL) {
			text = r->t;
			len = r->len;
		} else if (f.kind != F_EMPTY && f.kind != F_READ && ob_read_file(path, &whole, &len) == 0) {
			text = whole;
		}
		if (f.kind == F_SYNTAX)
			what_in_file(&f, text, len);
		fatal_message(&f, name, text, len, err);
		free(whole);
		free(name);
	}
	return -1;
}

int ob_kitos_parse(struct ob_kitos_batch *b, const char *file, const char *text, size_t len,
		   const struct ob_kitos_opts *opts, struct ob_err *err)
{
	struct reader r;

	memset(&r, 0, sizeof(r));
	r.t = text ? text : "";
	r.len = text ? len : 0;
	r.eof = 1;
	return parse(b, file ? file : "(input)", &r, NULL, opts, err);
}

int ob_kitos_parse_file(struct ob_kitos_batch *b, const char *path, const struct ob_kitos_opts *opts,
			struct ob_err *err)
{
	struct reader r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.f = fopen(path, "rb");
	if (r.f == NULL) {
		char *name = ob_kitos_printable(path, strlen(path));
		ob_err_set(err, "%s: cannot read: %s", name, strerror(errno));
		free(name);
		return -1;
	}
	r.t = "";
	rc = parse(b, path, &r, path, opts, err);
	fclose(r.f);
	free(r.buf);
	return rc;
}
