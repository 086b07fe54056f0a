/* template.c - the Danish texts of reports and mails (a mustache subset).
 *
 * A template is first cut into tokens (literal text, values, section
 * tags), which checks the whole of it, then the tokens are rendered
 * against a stack of cJSON contexts. Nothing is cached: the texts are a
 * few hundred bytes and a run renders a handful of them. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "template.h"
#include "util.h"

#define TPL_MAX_DEPTH 32 /* nested sections */
#define TPL_MAX_NAME 255 /* bytes in a name */
#define TPL_SHOW 60      /* bytes of a bad tag quoted in an error */

enum tok_kind {
	TOK_TEXT,     /* literal text */
	TOK_VAR,      /* {{name}} */
	TOK_RAW,      /* {{{name}}}, {{&name}} */
	TOK_SECTION,  /* {{#name}} */
	TOK_INVERTED, /* {{^name}} */
	TOK_CLOSE,    /* {{/name}} */
};

struct tok {
	enum tok_kind kind;
	const char *text; /* TOK_TEXT: borrowed from the template */
	size_t len;
	char *key;     /* the other kinds: the name, owned */
	unsigned line; /* where the text or the tag starts */
	size_t end;    /* TOK_SECTION, TOK_INVERTED: index of the matching TOK_CLOSE */
};

struct tpl {
	const char *name; /* for errors */
	struct tok *toks;
	size_t n, cap;
};

/* Line counting while the parser moves forward through the text. */
struct lines {
	const char *pos;
	unsigned line;
};

static unsigned line_at(struct lines *l, const char *p)
{
	for (; l->pos < p; l->pos++)
		if (*l->pos == '\n')
			l->line++;
	return l->line;
}

static struct tok *tpl_push(struct tpl *t, enum tok_kind kind, unsigned line)
{
	struct tok *k;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->toks = ob_xrealloc(t->toks, t->cap * sizeof(*t->toks));
	}
	k = &t->toks[t->n++];
	memset(k, 0, sizeof(*k));
	k->kind = kind;
	k->line = line;
	return k;
}

static void tpl_free(struct tpl *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->toks[i].key);
	free(t->toks);
	t->toks = NULL;
	t->n = t->cap = 0;
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* "." or parts of name characters joined by single dots. */
static int name_ok(const char *s, size_t n)
{
	size_t part = 0;

	if (n == 1 && s[0] == '.')
		return 1;
	if (n == 0 || n > TPL_MAX_NAME)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (part == 0)
				return 0;
			part = 0;
		} else if (is_name_char(s[i])) {
			part++;
		} else {
			return 0;
		}
	}
	return part > 0;
}

static char sigil_of(enum tok_kind kind)
{
	return kind == TOK_INVERTED ? '^' : '#';
}

/* Cuts text into t->toks and checks it. Returns 0, or -1 with err. */
static int tpl_parse(struct tpl *t, const char *text, struct ob_err *err)
{
	struct lines lines = {text, 1};
	size_t open[TPL_MAX_DEPTH];
	size_t depth = 0;
	const char *lit = text; /* start of the literal text not yet pushed */
	const char *o;

	while ((o = strstr(lit, "{{")) != NULL) {
		unsigned lit_line = line_at(&lines, lit);
		unsigned line = line_at(&lines, o);
		const char *c = o + 2, *e, *after, *name, *name_end;
		const char *ls = o, *le;
		int triple = 0, standalone = 0;
		char sigil = '\0';
		struct tok *k;

		if (*c == '{') {
			triple = 1;
			c++;
		} else if (*c != '\0' && strchr("#^/!&>=", *c) != NULL) {
			sigil = *c++;
		}
		/* A tag other than a comment stays on its line, so a forgotten
		 * "}}" is reported where it is, not at some later tag. */
		if (sigil == '!') {
			e = strstr(c, "}}");
		} else {
			for (e = c; *e != '\0' && *e != '\n' && !(e[0] == '}' && e[1] == '}'); e++)
				;
			if (*e != '}')
				e = NULL;
		}
		if (e == NULL) {
			ob_err_set(err, "template %s:%u: unterminated tag: \"%.*s\" without \"}}\"",
				   t->name, line, triple ? 3 : 2, o);
			return -1;
		}
		after = e + 2;
		if (triple) {
			if (*after != '}') {
				ob_err_set(err, "template %s:%u: \"{{{\" closed by \"}}\", not \"}}}\"",
					   t->name, line);
				return -1;
			}
			after++;
		}
		if (sigil == '>' || sigil == '=') {
			ob_err_set(err, "template %s:%u: %s (\"{{%c\") are not supported", t->name, line,
				   sigil == '>' ? "partials" : "delimiter changes", sigil);
			return -1;
		}

		name = c;
		name_end = e;
		while (name < name_end && (*name == ' ' || *name == '\t'))
			name++;
		while (name_end > name && (name_end[-1] == ' ' || name_end[-1] == '\t'))
			name_end--;
		if (sigil != '!' && !name_ok(name, (size_t)(name_end - name))) {
			int n = (int)(after - o);
			if (name == name_end)
				ob_err_set(err, "template %s:%u: empty tag \"%.*s\"", t->name, line, n, o);
			else
				ob_err_set(err, "template %s:%u: bad name in tag \"%.*s%s\"", t->name,
					   line, n > TPL_SHOW ? TPL_SHOW : n, o, n > TPL_SHOW ? "..." : "");
			return -1;
		}

		/* Mustache's standalone rule: a section tag or a comment alone
		 * on its line takes the line's blanks and newline with it. */
		le = after;
		if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!') {
			while (ls > text && (ls[-1] == ' ' || ls[-1] == '\t'))
				ls--;
			if (ls == text || ls[-1] == '\n') {
				while (*le == ' ' || *le == '\t')
					le++;
				if (*le == '\n') {
					le++;
					standalone = 1;
				} else if (le[0] == '\r' && le[1] == '\n') {
					le += 2;
					standalone = 1;
				} else if (*le == '\0') {
					standalone = 1;
				}
			}
		}
		if (!standalone) {
			ls = o;
			le = after;
		}
		if (ls > lit) {
			k = tpl_push(t, TOK_TEXT, lit_line);
			k->text = lit;
			k->len = (size_t)(ls - lit);
		}
		lit = le;

		switch (sigil) {
		case '!':
			continue;
		case '#':
		case '^':
			if (depth == TPL_MAX_DEPTH) {
				ob_err_set(err, "template %s:%u: sections nested deeper than %d",
					   t->name, line, TPL_MAX_DEPTH);
				return -1;
			}
			open[depth++] = t->n;
			k = tpl_push(t, sigil == '#' ? TOK_SECTION : TOK_INVERTED, line);
			break;
		case '/':
			if (depth == 0) {
				ob_err_set(err, "template %s:%u: \"{{/%.*s}}\" closes no section", t->name,
					   line, (int)(name_end - name), name);
				return -1;
			}
			if (strlen(t->toks[open[depth - 1]].key) != (size_t)(name_end - name) ||
			    memcmp(t->toks[open[depth - 1]].key, name, (size_t)(name_end - name)) != 0) {
				const struct tok *s = &t->toks[open[depth - 1]];
				ob_err_set(err,
					   "template %s:%u: \"{{/%.*s}}\" closes \"{{%c%s}}\" "
					   "opened on line %u",
					   t->name, line, (int)(name_end - name), name, sigil_of(s->kind),
					   s->key, s->line);
				return -1;
			}
			t->toks[open[--depth]].end = t->n;
			k = tpl_push(t, TOK_CLOSE, line);
			break;
		default: /* '\0', '&' */
			k = tpl_push(t, triple || sigil == '&' ? TOK_RAW : TOK_VAR, line);
			break;
		}
		k->key = ob_xstrndup(name, (size_t)(name_end - name));
	}
	if (*lit != '\0') {
		struct tok *k = tpl_push(t, TOK_TEXT, line_at(&lines, lit));
		k->text = lit;
		k->len = strlen(lit);
	}
	if (depth > 0) {
		const struct tok *s = &t->toks[open[depth - 1]];
		ob_err_set(err, "template %s:%u: \"{{%c%s}}\" is not closed", t->name, s->line,
			   sigil_of(s->kind), s->key);
		return -1;
	}
	return 0;
}

struct render {
	const struct tpl *t;
	enum ob_tpl_escape esc;
	struct ob_buf *out;
	struct ob_err *err;
	const cJSON *stack[TPL_MAX_DEPTH + 1]; /* the root and one per open section */
	size_t depth;
};

/* Finds name through the context stack (mustache: the first part in the
 * innermost context that has it, the other parts inside that value only).
 * Returns 1 with *out, 0 if not found. */
static int lookup(const struct render *r, const char *name, const cJSON **out)
{
	char buf[TPL_MAX_NAME + 1];
	char *part = buf, *rest;
	const cJSON *v = NULL;

	if (strcmp(name, ".") == 0) {
		if (r->depth == 0)
			return 0;
		*out = r->stack[r->depth - 1];
		return 1;
	}
	snprintf(buf, sizeof(buf), "%s", name); /* the parser bounds names */
	if ((rest = strchr(part, '.')) != NULL)
		*rest++ = '\0';
	for (size_t i = r->depth; i-- > 0 && v == NULL;)
		if (cJSON_IsObject(r->stack[i]))
			v = cJSON_GetObjectItemCaseSensitive(r->stack[i], part);
	if (v == NULL)
		return 0;
	while (rest != NULL) {
		part = rest;
		if ((rest = strchr(part, '.')) != NULL)
			*rest++ = '\0';
		if (!cJSON_IsObject(v) || (v = cJSON_GetObjectItemCaseSensitive(v, part)) == NULL)
			return 0;
	}
	*out = v;
	return 1;
}

static int truthy(const cJSON *v)
{
	if (cJSON_IsTrue(v))
		return 1;
	if (cJSON_IsNumber(v))
		return v->valuedouble != 0;
	if (cJSON_IsString(v))
		return v->valuestring != NULL && v->valuestring[0] != '\0';
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		return v->child != NULL;
	return 0; /* false, null, raw */
}

/* Whole numbers as integers, others in the shortest form that reads back
 * the same value. */
static void format_number(double d, char *out, size_t size)
{
	/* Whole and exact in a double; NaN and the infinities fail the test. */
	if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double)(long long)d) {
		snprintf(out, size, "%lld", (long long)d);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(out, size, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

static int put(struct render *r, const struct tok *k, const char *s, size_t n)
{
	if (ob_buf_add(r->out, s, n) == 0)
		return 0;
	ob_err_set(r->err, "template %s:%u: output exceeds %zu bytes", r->t->name, k->line,
		   r->out->max);
	return -1;
}

const char *ob_tpl_html_entity(int c)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	default: return NULL;
	}
}

static int put_html(struct render *r, const struct tok *k, const char *s, size_t n)
{
	size_t from = 0;

	for (size_t i = 0; i < n; i++) {
		const char *ent = ob_tpl_html_entity(s[i]);
		if (ent == NULL)
			continue;
		if (put(r, k, s + from, i - from) < 0 || put(r, k, ent, strlen(ent)) < 0)
			return -1;
		from = i + 1;
	}
	return put(r, k, s + from, n - from);
}

static int render_value(struct render *r, const struct tok *k)
{
	const cJSON *v;
	const char *s;
	char num[64];

	if (!lookup(r, k->key, &v)) {
		ob_err_set(r->err, "template %s:%u: no value for \"%s\"", r->t->name, k->line, k->key);
		return -1;
	}
	if (cJSON_IsString(v)) {
		s = v->valuestring ? v->valuestring : "";
	} else if (cJSON_IsNumber(v)) {
		format_number(v->valuedouble, num, sizeof(num));
		s = num;
	} else if (cJSON_IsBool(v)) {
		s = cJSON_IsTrue(v) ? "true" : "false";
	} else if (cJSON_IsNull(v)) {
		s = "";
	} else {
		ob_err_set(r->err, "template %s:%u: \"%s\" is %s, not a value", r->t->name, k->line,
			   k->key, cJSON_IsArray(v) ? "a list" : "an object");
		return -1;
	}
	if (k->kind == TOK_VAR && r->esc == OB_TPL_HTML)
		return put_html(r, k, s, strlen(s));
	return put(r, k, s, strlen(s));
}

static int render_range(struct render *r, size_t from, size_t to);

/* The section starting at token i; its body is i+1 .. end-1. */
static int render_section(struct render *r, size_t i)
{
	const struct tok *k = &r->t->toks[i];
	const cJSON *v = NULL;
	int on = lookup(r, k->key, &v) && truthy(v);
	int rc = 0;

	if (k->kind == TOK_INVERTED)
		return on ? 0 : render_range(r, i + 1, k->end);
	if (!on)
		return 0;
	if (cJSON_IsArray(v)) {
		const cJSON *e;

		cJSON_ArrayForEach(e, v)
		{
			r->stack[r->depth++] = e;
			rc = render_range(r, i + 1, k->end);
			r->depth--;
			if (rc < 0)
				return -1;
		}
		return 0;
	}
	r->stack[r->depth++] = v;
	rc = render_range(r, i + 1, k->end);
	r->depth--;
	return rc;
}

static int render_range(struct render *r, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		const struct tok *k = &r->t->toks[i];

		switch (k->kind) {
		case TOK_TEXT:
			if (put(r, k, k->text, k->len) < 0)
				return -1;
			break;
		case TOK_VAR:
		case TOK_RAW:
			if (render_value(r, k) < 0)
				return -1;
			break;
		case TOK_SECTION:
		case TOK_INVERTED:
			if (render_section(r, i) < 0)
				return -1;
			i = k->end; /* past the body and the closing tag */
			break;
		case TOK_CLOSE: /* skipped by the section */
			break;
		}
	}
	return 0;
}

int ob_tpl_render(const char *name, const char *text, const cJSON *ctx, enum ob_tpl_escape esc,
		  struct ob_buf *out, struct ob_err *err)
{
	struct tpl t = {.name = name ? name : "(unnamed)"};
	struct render r;
	size_t start = out->len;
	int rc = -1;

	if (text == NULL) {
		ob_err_set(err, "template %s: no text", t.name);
		return -1;
	}
	if (tpl_parse(&t, text, err) < 0)
		goto out;
	memset(&r, 0, sizeof(r));
	r.t = &t;
	r.esc = esc;
	r.out = out;
	r.err = err;
	if (ctx != NULL)
		r.stack[r.depth++] = ctx;
	if (render_range(&r, 0, t.n) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
	}
	tpl_free(&t);
	return rc;
}

/* Relative, not empty, no empty, "." or ".." parts: the name cannot leave dir. */
static int file_name_ok(const char *name)
{
	const char *p = name;

	if (*name == '\0' || *name == '/')
		return 0;
	while (*p != '\0') {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
		if (*p == '/' && *++p == '\0')
			return 0;
	}
	return 1;
}

/* Template files as last read, by path: a digest renders the same few
 * templates for thousands of items. An entry is used only while the file's
 * inode, size and mtime are what they were, so an edited template is read
 * again at once; one stat() instead of open, read and close. */
#define TPL_CACHE 64
static struct tpl_cached {
	char *path, *text;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
} tpl_cache[TPL_CACHE];
static size_t tpl_ncached;
static pthread_mutex_t tpl_lock = PTHREAD_MUTEX_INITIALIZER;

static int same_file(const struct tpl_cached *c, const struct stat *st)
{
	return c->dev == st->st_dev && c->ino == st->st_ino && c->size == st->st_size &&
	       c->mtime.tv_sec == st->st_mtim.tv_sec && c->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* A copy of path's text (the caller frees), from the cache when the file
 * is unchanged; -1 with errno when it cannot be read. */
static int tpl_read(const char *path, char **text, size_t *len)
{
	struct stat st, st2;
	size_t i;
	int rc;

	if (stat(path, &st) < 0)
		return -1;
	pthread_mutex_lock(&tpl_lock);
	for (i = 0; i < tpl_ncached; i++)
		if (strcmp(tpl_cache[i].path, path) == 0)
			break;
	if (i < tpl_ncached && same_file(&tpl_cache[i], &st)) {
		*len = (size_t)st.st_size;
		*text = ob_xmalloc(*len + 1);
		memcpy(*text, tpl_cache[i].text, *len + 1);
		pthread_mutex_unlock(&tpl_lock);
		return 0;
	}
	pthread_mutex_unlock(&tpl_lock);
	rc = ob_read_file(path, text, len);
	/* Kept only when the file did not change while it was read. */
	if (rc == 0 && S_ISREG(st.st_mode) && stat(path, &st2) == 0 && same_file(&(struct tpl_cached){
		    .dev = st.st_dev, .ino = st.st_ino, .size = st.st_size, .mtime = st.st_mtim}, &st2) &&
	    (off_t)*len == st.st_size) {
		pthread_mutex_lock(&tpl_lock);
		for (i = 0; i < tpl_ncached; i++)
			if (strcmp(tpl_cache[i].path, path) == 0)
				break;
		if (i == tpl_ncached && tpl_ncached < TPL_CACHE)
			tpl_cache[tpl_ncached++].path = ob_xstrdup(path);
		if (i < tpl_ncached) {
			struct tpl_cached *c = &tpl_cache[i];
			free(c->text);
			c->text = ob_xmalloc(*len + 1);
			memcpy(c->text, *text, *len + 1);
			c->dev = st.st_dev;
			c->ino = st.st_ino;
			c->size = st.st_size;
			c->mtime = st.st_mtim;
		}
		pthread_mutex_unlock(&tpl_lock);
	}
	return rc;
}

int ob_tpl_render_file(const char *dir, const char *name, const char *ext, const cJSON *ctx,
		       enum ob_tpl_escape esc, struct ob_buf *out, struct ob_err *err)
{
	char *label = NULL, *path = NULL, *text = NULL;
	size_t len;
	int rc = -1;

	if (dir == NULL || name == NULL || ext == NULL || !file_name_ok(name) || *ext == '\0' ||
	    strchr(ext, '/') != NULL) {
		ob_err_set(err, "template %s.%s: bad template name", name ? name : "(null)",
			   ext ? ext : "(null)");
		return -1;
	}
	label = ob_xasprintf("%s.%s", name, ext);
	path = ob_xasprintf("%s/%s", dir, label);
	if (tpl_read(path, &text, &len) < 0) {
		ob_err_set(err, "template %s: cannot read %s: %s", label, path, strerror(errno));
		goto out;
	}
	if (strlen(text) != len) {
		ob_err_set(err, "template %s: %s holds a NUL byte", label, path);
		goto out;
	}
	rc = ob_tpl_render(label, text, ctx, esc, out, err);
out:
	free(text);
	free(path);
	free(label);
	return rc;
}
