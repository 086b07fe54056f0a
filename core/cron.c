/* cron.c - 5-field cron expressions and their fire times in local time.
 * The DST rules are described in cron.h. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "cron.h"
#include "util.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define DEFAULT_TZ "Europe/Copenhagen"
#define MAX_COUNT 10000
/* A 5-year window holds at most 5 * 365 + 2 days. */
#define HORIZON_DAYS (5 * 365 + 2)

enum names { NAMES_NONE, NAMES_MONTH, NAMES_DAY };

struct field {
	const char *name;
	int lo, hi;
	enum names names;
};

static const struct field fields[5] = {
	{"minute", 0, 59, NAMES_NONE},
	{"hour", 0, 23, NAMES_NONE},
	{"day-of-month", 1, 31, NAMES_NONE},
	{"month", 1, 12, NAMES_MONTH},
	{"day-of-week", 0, 7, NAMES_DAY},
};

static const char *const month_names[12] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
					    "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const day_names[7] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

static const struct {
	const char *name;
	const char *expr;
} nicknames[] = {
	{"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
	{"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
	{"@annually", "0 0 1 1 *"},
};

/* One parse in progress: the whole expression for error sentences. */
struct parse {
	const char *expr;
	const struct field *f;
	const char *text; /* the field's text, NUL-terminated */
	struct ob_err *err;
};

/* Reads a value token (a number or, where the field allows, a name) at *pp.
 * is_sun is set when the token was the name SUN. */
static int parse_value(struct parse *ps, const char **pp, int *val, int *is_sun)
{
	const char *p = *pp, *start = p;
	char tok[16];
	size_t len;

	*is_sun = 0;
	while (isalnum((unsigned char)*p))
		p++;
	len = (size_t)(p - start);
	if (len == 0) {
		if (*p == '\0')
			ob_err_set(ps->err, "\"%s\": %s \"%s\" ends too early", ps->expr, ps->f->name,
				   ps->text);
		else
			ob_err_set(ps->err, "\"%s\": unexpected \"%c\" in %s \"%s\"", ps->expr, *p,
				   ps->f->name, ps->text);
		return -1;
	}
	snprintf(tok, sizeof(tok), "%.*s", (int)(len < 15 ? len : 15), start);
	if (isdigit((unsigned char)*start)) {
		long v = 0;
		for (const char *q = start; q < p; q++) {
			if (!isdigit((unsigned char)*q)) {
				ob_err_set(ps->err, "\"%s\": %s \"%.*s\" is not a number", ps->expr,
					   ps->f->name, (int)len, start);
				return -1;
			}
			if (v < 100000)
				v = v * 10 + (*q - '0');
		}
		if (v < ps->f->lo || v > ps->f->hi) {
			ob_err_set(ps->err, "\"%s\": %s %.*s is out of range %d-%d", ps->expr, ps->f->name,
				   (int)len, start, ps->f->lo, ps->f->hi);
			return -1;
		}
		*val = (int)v;
		*pp = p;
		return 0;
	}
	if (ps->f->names == NAMES_MONTH && len == 3) {
		for (int i = 0; i < 12; i++)
			if (strcasecmp(tok, month_names[i]) == 0) {
				*val = i + 1;
				*pp = p;
				return 0;
			}
	} else if (ps->f->names == NAMES_DAY && len == 3) {
		for (int i = 0; i < 7; i++)
			if (strcasecmp(tok, day_names[i]) == 0) {
				*val = i;
				*is_sun = i == 0;
				*pp = p;
				return 0;
			}
	}
	if (ps->f->names == NAMES_MONTH)
		ob_err_set(ps->err, "\"%s\": unknown month name \"%.*s\"", ps->expr, (int)len, start);
	else if (ps->f->names == NAMES_DAY)
		ob_err_set(ps->err, "\"%s\": unknown day name \"%.*s\"", ps->expr, (int)len, start);
	else
		ob_err_set(ps->err, "\"%s\": %s \"%.*s\" is not a number", ps->expr, ps->f->name,
			   (int)len, start);
	return -1;
}

/* Parses one list item ("*", "N", "A-B", each with an optional "/S") and
 * sets its bits in *mask. */
static int parse_item(struct parse *ps, const char *item, uint64_t *mask)
{
	const struct field *f = ps->f;
	const char *p = item;
	int a, b, step = 1, is_sun, ranged = 0;

	if (*p == '*') {
		a = f->lo;
		b = f->hi;
		ranged = 1;
		p++;
	} else {
		if (parse_value(ps, &p, &a, &is_sun) < 0)
			return -1;
		b = a;
		if (*p == '-') {
			p++;
			if (parse_value(ps, &p, &b, &is_sun) < 0)
				return -1;
			/* "SAT-SUN": a range ending in the name SUN ends on day 7. */
			if (f->names == NAMES_DAY && is_sun)
				b = 7;
			ranged = 1;
		}
	}
	if (*p == '/') {
		const char *s = ++p;
		long v = 0;
		while (isdigit((unsigned char)*p)) {
			if (v < 100000)
				v = v * 10 + (*p - '0');
			p++;
		}
		if (p == s) {
			if (*p == '\0')
				ob_err_set(ps->err, "\"%s\": %s \"%s\" ends too early", ps->expr, f->name,
					   ps->text);
			else
				ob_err_set(ps->err, "\"%s\": unexpected \"%c\" in %s \"%s\"", ps->expr,
					   *p, f->name, ps->text);
			return -1;
		}
		if (v == 0) {
			ob_err_set(ps->err, "\"%s\": step 0 in %s", ps->expr, f->name);
			return -1;
		}
		if (v > f->hi - f->lo + 1) {
			ob_err_set(ps->err, "\"%s\": step %.*s in %s is larger than its range %d-%d",
				   ps->expr, (int)(p - s), s, f->name, f->lo, f->hi);
			return -1;
		}
		step = (int)v;
		if (!ranged) /* "5/10" = 5 to the maximum, every 10th */
			b = f->hi;
	}
	if (*p != '\0') {
		ob_err_set(ps->err, "\"%s\": unexpected \"%c\" in %s \"%s\"", ps->expr, *p, f->name,
			   ps->text);
		return -1;
	}
	if (a > b) {
		ob_err_set(ps->err, "\"%s\": range \"%s\" in %s runs backwards", ps->expr, item,
			   f->name);
		return -1;
	}
	for (int v = a; v <= b; v += step)
		*mask |= UINT64_C(1) << v;
	return 0;
}

/* Parses one field's comma list (ps->text) into *mask. */
static int parse_field(struct parse *ps, uint64_t *mask)
{
	char *copy = ob_xstrdup(ps->text);
	char *item = copy;
	int rc = -1;

	*mask = 0;
	for (;;) {
		char *comma = strchr(item, ',');
		if (comma)
			*comma = '\0';
		if (*item == '\0') {
			ob_err_set(ps->err, "\"%s\": empty item in %s list \"%s\"", ps->expr,
				   ps->f->name, ps->text);
			goto out;
		}
		if (parse_item(ps, item, mask) < 0)
			goto out;
		if (comma == NULL)
			break;
		item = comma + 1;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

static int parse_fields(const char *expr, const char *text, struct ob_cron *out, struct ob_err *err)
{
	char *copy = ob_xstrdup(text);
	char *tok[5] = {NULL};
	char *p = copy;
	int n = 0, rc = -1;
	uint64_t masks[5];
	struct parse ps = {.expr = expr, .err = err};

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (n < 5)
			tok[n] = p;
		n++;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	if (n != 5) {
		ob_err_set(err,
			   "\"%s\": cron needs 5 fields (minute hour day-of-month month day-of-week), "
			   "got %d",
			   expr, n);
		goto out;
	}
	for (int i = 0; i < 5; i++) {
		ps.f = &fields[i];
		ps.text = tok[i];
		if (parse_field(&ps, &masks[i]) < 0)
			goto out;
	}
	memset(out, 0, sizeof(*out));
	out->minutes = masks[0];
	out->hours = (uint32_t)masks[1];
	out->dom = (uint32_t)masks[2];
	out->months = (uint16_t)masks[3];
	/* 7 is Sunday, like 0. */
	out->dow = (uint8_t)((masks[4] | (masks[4] >> 7)) & 0x7f);
	/* Vixie cron: a field whose text starts with '*' (also "*" "/2") does
	 * not take part in the either-day rule. */
	out->dom_restricted = tok[2][0] != '*';
	out->dow_restricted = tok[4][0] != '*';
	rc = 0;
out:
	free(copy);
	return rc;
}

int ob_cron_parse(const char *expr, struct ob_cron *out, struct ob_err *err)
{
	const char *p = expr;
	size_t len;

	if (expr == NULL) {
		ob_err_set(err, "no cron expression given");
		return -1;
	}
	while (isspace((unsigned char)*p))
		p++;
	len = strlen(p);
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		len--;
	if (*p == '@') {
		for (size_t i = 0; i < OB_ARRAY_LEN(nicknames); i++)
			if (strlen(nicknames[i].name) == len &&
			    strncasecmp(p, nicknames[i].name, len) == 0)
				return parse_fields(expr, nicknames[i].expr, out, err);
		ob_err_set(err,
			   "\"%s\": unknown nickname \"%.*s\" (known: @hourly @daily @midnight @weekly "
			   "@monthly @yearly @annually)",
			   expr, (int)len, p);
		return -1;
	}
	return parse_fields(expr, expr, out, err);
}

/* Wall-clock seconds: the local date and time counted as if it were UTC. */
static int64_t wall_seconds(int y, int mo, int d, int h, int mi, int s)
{
	return (int64_t)ob_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* The local UTC offset in seconds at instant t. */
static int local_offset(time_t t, int64_t *off)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return -1;
	*off = wall_seconds(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			    tm.tm_sec) -
	       (int64_t)t;
	return 0;
}

/* Maps wall-clock seconds g to the first instant t whose local time is g or
 * later: for a time that exists once, that instant; for a repeated time, its
 * first occurrence; for a time in a gap, the end of the gap. */
static int wall_to_instant(int64_t g, time_t *out)
{
	/* Offsets in force within a day either side of g; any instant showing
	 * local time g must use one of them. */
	static const int64_t probes[] = {-93600, -43200, 0, 43200, 93600};
	int64_t offs[OB_ARRAY_LEN(probes)], min_off = 0, max_off = 0, lo, hi;
	int found = 0;
	time_t best = 0;

	for (size_t i = 0; i < OB_ARRAY_LEN(probes); i++) {
		int64_t o;
		if (local_offset((time_t)(g + probes[i]), &offs[i]) < 0)
			return -1;
		if (i == 0 || offs[i] < min_off)
			min_off = offs[i];
		if (i == 0 || offs[i] > max_off)
			max_off = offs[i];
		if (local_offset((time_t)(g - offs[i]), &o) < 0)
			return -1;
		if (o == offs[i] && (!found || (time_t)(g - offs[i]) < best)) {
			best = (time_t)(g - offs[i]);
			found = 1;
		}
	}
	if (found) {
		*out = best;
		return 0;
	}
	/* A gap: local time jumps over g. Before the jump, t + offset(t) < g;
	 * from the jump on it is > g. Search for the jump's instant. */
	lo = g - max_off; /* t + offset(t) <= g here, and != g, so < g */
	hi = g - min_off; /* t + offset(t) >= g here */
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2, o;
		if (local_offset((time_t)mid, &o) < 0)
			return -1;
		if (mid + o >= g)
			hi = mid;
		else
			lo = mid;
	}
	*out = (time_t)hi;
	return 0;
}

static int weekday(int y, int m, int d)
{
	int32_t days = ob_days_from_civil(y, m, d);
	return (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
}

static int day_matches(const struct ob_cron *c, int y, int m, int d)
{
	int dom_ok = (c->dom >> d) & 1;
	int dow_ok = (c->dow >> weekday(y, m, d)) & 1;

	if (c->dom_restricted && c->dow_restricted)
		return dom_ok || dow_ok;
	return dom_ok && dow_ok;
}

int ob_cron_can_fire(const struct ob_cron *c, char *why, size_t whysz)
{
	static const int most[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	static const char *const name[13] = {"", "January", "February", "March", "April", "May", "June",
					     "July", "August", "September", "October", "November", "December"};
	int first_dom = 0, nmonths = 0, only = 0;

	if (c->dom_restricted && c->dow_restricted)
		return 1; /* either field: some weekday it names comes every week */
	for (int d = 31; d >= 1; d--)
		if (c->dom & (1u << d))
			first_dom = d;
	for (int m = 1; m <= 12; m++) {
		if (!(c->months & (1u << m)))
			continue;
		nmonths++;
		only = m;
		if (first_dom && first_dom <= most[m])
			return 1;
	}
	if (nmonths == 1)
		snprintf(why, whysz, "never fires: %s has no day %d", name[only], first_dom);
	else
		snprintf(why, whysz, "never fires: none of its months has day %d", first_dom);
	return 0;
}

int ob_cron_next(const struct ob_cron *c, time_t after, time_t *next)
{
	struct tm tm;
	int y, mo, d, h, mi;
	int32_t limit;

	if (localtime_r(&after, &tm) == NULL)
		return -1;
	y = tm.tm_year + 1900;
	mo = tm.tm_mon + 1;
	d = tm.tm_mday;
	h = tm.tm_hour;
	mi = tm.tm_min + 1;
	limit = ob_days_from_civil(y, mo, d) + HORIZON_DAYS;

	/* Walk wall-clock minutes in order, skipping months, days and hours
	 * that cannot match. Wall time maps to instants without going
	 * backwards, so the first match whose instant is after `after` is the
	 * answer; matches at or before it occur only in a repeated hour. */
	for (;;) {
		uint32_t hmask;
		uint64_t mmask;
		time_t t;

		if (mi > 59) {
			mi = 0;
			h++;
		}
		if (h > 23) {
			h = 0;
			d++;
		}
		if (mo > 12) { /* after skipping a month */
			mo = 1;
			y++;
		}
		if (d > ob_days_in_month(y, mo)) {
			d = 1;
			if (++mo > 12) {
				mo = 1;
				y++;
			}
		}
		if (ob_days_from_civil(y, mo, d) > limit)
			return -1;
		if (!((c->months >> mo) & 1)) {
			mo++;
			d = 1;
			h = mi = 0;
			continue;
		}
		if (!day_matches(c, y, mo, d)) {
			d++;
			h = mi = 0;
			continue;
		}
		hmask = c->hours & (UINT32_C(0xffffffff) << h);
		if (hmask == 0) {
			d++;
			h = mi = 0;
			continue;
		}
		if (__builtin_ctz(hmask) != h) {
			h = __builtin_ctz(hmask);
			mi = 0;
		}
		mmask = c->minutes & (UINT64_MAX << mi);
		if (mmask == 0) {
			h++;
			mi = 0;
			continue;
		}
		mi = __builtin_ctzll(mmask);
		if (wall_to_instant(wall_seconds(y, mo, d, h, mi, 0), &t) < 0)
			return -1;
		if (t > after) {
			*next = t;
			return 0;
		}
		mi++;
	}
}

int ob_cron_format_time(time_t t, char *buf, size_t n)
{
	struct tm tm;
	int64_t off, a;
	int len;

	if (localtime_r(&t, &tm) == NULL || local_offset(t, &off) < 0)
		return -1;
	a = off < 0 ? -off : off;
	if (a % 60 == 0)
		len = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", tm.tm_year + 1900,
			       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			       off < 0 ? '-' : '+', (int)(a / 3600), (int)(a / 60 % 60));
	else /* local mean time before 1900 and such */
		len = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d:%02d",
			       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			       tm.tm_sec, off < 0 ? '-' : '+', (int)(a / 3600), (int)(a / 60 % 60),
			       (int)(a % 60));
	if (len < 0 || (size_t)len >= n)
		return -1;
	return 0;
}

/* Reads exactly n digits. */
static int read_digits(const char **pp, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*pp)[i]))
			return -1;
		v = v * 10 + ((*pp)[i] - '0');
	}
	*pp += n;
	*out = v;
	return 0;
}

/* Parses "YYYY-MM-DD[(T| )HH:MM[:SS][Z|+HH:MM|+HHMM|+HH]]"; without an
 * offset the time is local (see cron.h for gaps and repeats). */
static int parse_iso(const char *s, time_t *out)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, has_off = 0;
	int64_t off = 0, g;

	if (read_digits(&p, 4, &y) < 0 || *p++ != '-' || read_digits(&p, 2, &mo) < 0 ||
	    *p++ != '-' || read_digits(&p, 2, &d) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > ob_days_in_month(y, mo))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (read_digits(&p, 2, &h) < 0 || *p++ != ':' || read_digits(&p, 2, &mi) < 0)
			return -1;
		if (*p == ':') {
			p++;
			if (read_digits(&p, 2, &sec) < 0)
				return -1;
		}
		if (h > 23 || mi > 59 || sec > 59)
			return -1;
		if (*p == 'Z' || *p == 'z') {
			p++;
			has_off = 1;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
			if (read_digits(&p, 2, &oh) < 0)
				return -1;
			if (*p == ':') {
				p++;
				if (read_digits(&p, 2, &om) < 0)
					return -1;
			} else if (isdigit((unsigned char)*p) && read_digits(&p, 2, &om) < 0)
				return -1;
			if (oh > 23 || om > 59)
				return -1;
			off = sign * (oh * 3600 + om * 60);
			has_off = 1;
		}
	}
	if (*p != '\0')
		return -1;
	g = wall_seconds(y, mo, d, h, mi, sec);
	if (has_off) {
		*out = (time_t)(g - off);
		return 0;
	}
	return wall_to_instant(g, out);
}

/* A zone name is a relative path to a TZif file under ZONEINFO_DIR. */
static int zone_exists(const char *tz)
{
	char *path;
	char magic[4];
	struct stat st;
	FILE *f;
	int ok = 0;

	if (tz[0] == '/' || strstr(tz, "..") != NULL || strchr(tz, ',') != NULL)
		return 0;
	path = ob_path_join(ZONEINFO_DIR, tz);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (f = fopen(path, "rb")) != NULL) {
		ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
		fclose(f);
	}
	free(path);
	return ok;
}

int ob_cron_next_fires(const char *expr, const char *tz, const char *from_iso, int count,
		       struct ob_buf *out, struct ob_err *err)
{
	struct ob_cron c;
	char *old_tz = NULL;
	int had_tz = 0, tz_set = 0, rc = -1;
	time_t t, n;
	char when[40];

	if (tz == NULL || tz[0] == '\0')
		tz = DEFAULT_TZ;
	if (count < 1 || count > MAX_COUNT) {
		ob_err_set(err, "--count %d: must be between 1 and %d", count, MAX_COUNT);
		goto out;
	}
	if (!zone_exists(tz)) {
		ob_err_set(err, "--tz \"%s\": no such time zone in " ZONEINFO_DIR, tz);
		goto out;
	}
	if (ob_cron_parse(expr, &c, err) < 0)
		goto out;

	if (getenv("TZ") != NULL) {
		old_tz = ob_xstrdup(getenv("TZ"));
		had_tz = 1;
	}
	if (setenv("TZ", tz, 1) < 0) {
		ob_err_set(err, "--tz \"%s\": cannot set TZ", tz);
		goto out;
	}
	tzset();
	tz_set = 1;

	if (from_iso == NULL)
		t = time(NULL);
	else if (parse_iso(from_iso, &t) < 0) {
		ob_err_set(err,
			   "--from \"%s\": not an ISO 8601 time (want 2027-03-27T12:00:00+01:00, "
			   "2027-03-27T11:00:00Z, or local 2027-03-27T12:00)",
			   from_iso);
		goto out;
	}
	for (int i = 0; i < count; i++) {
		if (ob_cron_next(&c, t, &n) < 0) {
			if (ob_cron_format_time(t, when, sizeof(when)) < 0)
				snprintf(when, sizeof(when), "%lld", (long long)t);
			ob_err_set(err, "\"%s\": never fires within 5 years after %s", expr, when);
			goto out;
		}
		if (ob_cron_format_time(n, when, sizeof(when)) < 0 ||
		    ob_buf_printf(out, "%s\n", when) < 0) {
			ob_err_set(err, "\"%s\": fire time %d does not fit the output", expr, i + 1);
			goto out;
		}
		t = n;
	}
	rc = 0;
out:
	if (tz_set) {
		if (had_tz)
			setenv("TZ", old_tz, 1);
		else
			unsetenv("TZ");
		tzset();
	}
	free(old_tz);
	return rc;
}
