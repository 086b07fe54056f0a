/* util.c - allocation, bounded buffers, error sentences, dates. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static void oom(size_t n)
{
	ob_log(OB_LOG_ERR, "out of memory allocating %zu bytes", n);
	abort();
}

void *ob_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom(n);
	return p;
}

void *ob_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom(n * size);
	return p;
}

void *ob_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom(n);
	return q;
}

char *ob_xstrdup(const char *s)
{
	return ob_xstrndup(s, strlen(s));
}

char *ob_xstrndup(const char *s, size_t n)
{
	char *p = ob_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *ob_xasprintf(const char *fmt, ...)
{
	struct ob_buf b;
	va_list ap;

	ob_buf_init(&b, 0);
	va_start(ap, fmt);
	ob_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return ob_buf_steal(&b);
}

void ob_buf_init(struct ob_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static int buf_reserve(struct ob_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t ncap;

	if (b->max != 0 && b->len + extra > b->max)
		return -1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap *= 2;
	b->data = ob_xrealloc(b->data, ncap);
	b->cap = ncap;
	return 0;
}

int ob_buf_add(struct ob_buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int ob_buf_adds(struct ob_buf *b, const char *s)
{
	return ob_buf_add(b, s, strlen(s));
}

int ob_buf_addc(struct ob_buf *b, char c)
{
	return ob_buf_add(b, &c, 1);
}

int ob_buf_vprintf(struct ob_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0 || buf_reserve(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int ob_buf_printf(struct ob_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = ob_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void ob_buf_reset(struct ob_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *ob_buf_steal(struct ob_buf *b)
{
	char *p = b->data ? b->data : ob_xstrdup("");
	ob_buf_init(b, b->max);
	return p;
}

void ob_buf_free(struct ob_buf *b)
{
	free(b->data);
	ob_buf_init(b, b->max);
}

static void err_vset(struct ob_err *err, enum ob_err_code code, unsigned sqlerrno, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static void err_vset(struct ob_err *err, enum ob_err_code code, unsigned sqlerrno, const char *fmt, va_list ap)
{
	if (err == NULL || err->msg[0] != '\0')
		return;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	err->code = code;
	err->sqlerrno = sqlerrno;
}

void ob_err_set(struct ob_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, OB_E_NONE, 0, fmt, ap);
	va_end(ap);
}

void ob_err_setc(struct ob_err *err, enum ob_err_code code, unsigned sqlerrno, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, code, sqlerrno, fmt, ap);
	va_end(ap);
}

void ob_err_clear(struct ob_err *err)
{
	if (err) {
		err->msg[0] = '\0';
		err->code = OB_E_NONE;
		err->sqlerrno = 0;
	}
}

/* Howard Hinnant's civil calendar algorithms. */
int32_t ob_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int32_t)doe - 719468;
}

void ob_civil_from_days(int32_t z, int *y, int *m, int *d)
{
	z += 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int yy = (int)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yy + (*m <= 2);
}

int ob_days_in_month(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

int32_t ob_add_months(int32_t days, int n)
{
	int y, m, d;
	long total;

	ob_civil_from_days(days, &y, &m, &d);
	int last = d == ob_days_in_month(y, m);
	total = (long)y * 12 + (m - 1) + n;
	y = (int)(total >= 0 ? total / 12 : -((-total + 11) / 12));
	m = (int)(total - (long)y * 12) + 1;
	int dim = ob_days_in_month(y, m);
	if (last || d > dim)
		d = dim;
	return ob_days_from_civil(y, m, d);
}

int32_t ob_end_of(int32_t days, enum ob_period p)
{
	int y, m, d;

	ob_civil_from_days(days, &y, &m, &d);
	switch (p) {
	case OB_PERIOD_MONTH:
		break;
	case OB_PERIOD_QUARTER:
		m = (m + 2) / 3 * 3;
		break;
	case OB_PERIOD_YEAR:
		m = 12;
		break;
	default:
		return days;
	}
	return ob_days_from_civil(y, m, ob_days_in_month(y, m));
}

void ob_date_format_da_long(int32_t days, char *out, size_t outsz)
{
	static const char *const month[12] = {"januar", "februar", "marts",     "april",   "maj",      "juni",
					      "juli",   "august",  "september", "oktober", "november", "december"};
	int y, m, d;

	ob_civil_from_days(days, &y, &m, &d);
	snprintf(out, outsz, "%d. %s %d", d, month[m - 1], y);
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int ob_date_parse(const char *s, int32_t *days)
{
	int y, m, d;
	size_t len;

	if (s == NULL)
		return 0;
	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0)
		return 0;
	if (len >= 10 && s[4] == '-' && s[7] == '-') {
		if (digits(s, 4, &y) < 0 || digits(s + 5, 2, &m) < 0 || digits(s + 8, 2, &d) < 0)
			return -1;
		if (len > 10) {
			/* A timestamp: "T" then HH:MM:SS[.fff][Z|+hh:mm]. */
			const char *t = s + 10;
			int hh, mi, ss;
			if (*t != 'T' && *t != ' ')
				return -1;
			t++;
			if ((size_t)(t - s) + 8 > len || digits(t, 2, &hh) < 0 || t[2] != ':' ||
			    digits(t + 3, 2, &mi) < 0 || t[5] != ':' || digits(t + 6, 2, &ss) < 0 ||
			    hh > 23 || mi > 59 || ss > 60)
				return -1;
			t += 8;
			if (*t == '.') {
				t++;
				if (!isdigit((unsigned char)*t))
					return -1;
				while (isdigit((unsigned char)*t))
					t++;
			}
			if (*t == 'Z')
				t++;
			else if (*t == '+' || *t == '-') {
				int oh, om;
				if (digits(t + 1, 2, &oh) < 0 || t[3] != ':' || digits(t + 4, 2, &om) < 0)
					return -1;
				t += 6;
			}
			if ((size_t)(t - s) != len)
				return -1;
		}
	} else if (len == 10 && (s[2] == '-' || s[2] == '.' || s[2] == '/') && s[5] == s[2]) {
		if (digits(s, 2, &d) < 0 || digits(s + 3, 2, &m) < 0 || digits(s + 6, 4, &y) < 0)
			return -1;
	} else
		return -1;
	if (y == 1 && m == 1 && d == 1)
		return 0; /* KITOS's DateTime.MinValue: no date */
	if (y < 1000 || m < 1 || m > 12 || d < 1 || d > ob_days_in_month(y, m))
		return -1;
	*days = ob_days_from_civil(y, m, d);
	return 1;
}

void ob_date_format(int32_t days, char out[11])
{
	int y, m, d;
	ob_civil_from_days(days, &y, &m, &d);
	char tmp[48];
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", y, m, d);
	memcpy(out, tmp, 10);
	out[10] = '\0';
}

int32_t ob_date_today(void)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	return ob_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int ob_read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct ob_buf b;
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return -1;
	ob_buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ob_buf_add(&b, chunk, n);
	if (ferror(f)) {
		int e = errno;
		fclose(f);
		ob_buf_free(&b);
		errno = e;
		return -1;
	}
	fclose(f);
	if (len)
		*len = b.len;
	*out = ob_buf_steal(&b);
	return 0;
}

int ob_mkdir_p(const char *path)
{
	char *p = ob_xstrdup(path);
	int rc = -1;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0750) < 0 && errno != EEXIST)
			goto out;
		*s = '/';
	}
	if (mkdir(p, 0750) < 0 && errno != EEXIST)
		goto out;
	rc = 0;
out:
	free(p);
	return rc;
}

char *ob_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	if (b[0] == '/' || la == 0)
		return ob_xstrdup(b);
	if (a[la - 1] == '/')
		return ob_xasprintf("%s%s", a, b);
	return ob_xasprintf("%s/%s", a, b);
}

size_t ob_utf8_seq(const unsigned char *p, size_t avail)
{
	unsigned c = p[0], cp, min;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n > avail)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((p[k] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[k] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

int ob_utf8_check(const char *str, size_t len, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0, n; i < len; i += n)
		if ((n = ob_utf8_seq(s + i, len - i)) == 0) {
			if (bad)
				*bad = i;
			return -1;
		}
	return 0;
}

int ob_utf8_printable(const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return 0;
	return ob_utf8_check(s, strlen(s), NULL) == 0;
}

size_t ob_utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

size_t ob_utf8_fit(char *s, size_t max)
{
	size_t n = 0, cut = 0;

	for (size_t i = 0; s[i]; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80 && n++ == max)
			cut = i;
	if (n > max)
		s[cut] = '\0';
	return n;
}

char *ob_trim(char *s)
{
	size_t n;
	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int ob_streq_ci(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

void ob_date_format_da(const char *iso, char *out, size_t outsz)
{
	int32_t days;
	int rc = ob_date_parse(iso, &days);

	if (rc == 1 && outsz >= 11) {
		int y, m, d;
		ob_civil_from_days(days, &y, &m, &d);
		if (y < 0 || y > 9999)
			y = 0;
		/* By hand: snprintf is most of a PDF table's date cost. */
		out[0] = (char)('0' + d / 10);
		out[1] = (char)('0' + d % 10);
		out[2] = '.';
		out[3] = (char)('0' + m / 10);
		out[4] = (char)('0' + m % 10);
		out[5] = '.';
		out[6] = (char)('0' + y / 1000);
		out[7] = (char)('0' + y / 100 % 10);
		out[8] = (char)('0' + y / 10 % 10);
		out[9] = (char)('0' + y % 10);
		out[10] = '\0';
	} else if (rc == 0) {
		out[0] = '\0';
	} else {
		snprintf(out, outsz, "%s", iso ? iso : "");
	}
}

int ob_write_atomic(const char *tmp, const char *path, const void *data, size_t len, struct ob_err *err)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	char *dir = ob_xstrdup(path), *slash = strrchr(dir, '/');

	if (fd < 0) {
		ob_err_set(err, "cannot write %s: %s", tmp, strerror(errno));
		free(dir);
		return -1;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, (const char *)data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ob_err_set(err, "cannot write %s: %s", tmp, strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		ob_err_set(err, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		ob_err_set(err, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		ob_err_set(err, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	/* The rename is only durable once the directory is. */
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		ob_err_set(err, "cannot sync the directory of %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(dir);
		return -1;
	}
	close(fd);
	free(dir);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(dir);
	return -1;
}
