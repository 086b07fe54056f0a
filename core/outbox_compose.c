/* outbox_compose.c - a run's notices become one digest per recipient,
 * rendered from the templates and written into the outbox in the run's
 * own transaction, each item claimed for its recipient once, ever. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "map.h"
#include "mime.h"
#include "outbox.h"
#include "outbox_int.h"
#include "template.h"

/* Danish names of the roles, for salutations and the data-quality mail. */
static const char *const role_titles[OB_MAIL_NROLES] = {
	"Administrations- og Servicechefgruppen (ASG)",
	"Direktionen",
	"I-sikkerhedskoordinatoren",
	"Indkøb og Udbud",
	"Innovation og Digitalisering (IOD)",
	"IT-støttefunktionen",
};

/* An item is deduped per recipient: (organisation, rcpt, key) is unique
 * among the items that count as mailed (migration 004). rcpt is whom the
 * item is for: "owner:ID" for an owner, the person (not the address: a
 * changed address does not resend, a new owner gets it); the role's name
 * ("asg", "indkoeb", ...) for a role (not its addresses). An owner's item
 * routed to it_support because the owner has no usable address stays the
 * owner's, "owner:ID", under the key "no_email:KEY": IT support hears of it
 * once per owner and key (two owners without an address on one contract
 * are two findings), and the owner's own KEY stays free, so the owner gets
 * the item once the address is fixed. A plugin's own notice to it_support
 * is for "it_support". */
struct item {
	const cJSON *notice;  /* {recipient, dedupe_key, template, kv} */
	const char *rcpt;     /* whom it is deduped for (see above) */
	char *key;            /* the dedupe key used: the notice's, or "no_email:" + it */
	long long owner;      /* no_email: the owner */
	const char *owner_name;
};

struct rcpt {
	const char *name, *email;
};

struct rowset;

/* A message that waits for the digest (mail.digest_at), to be written
 * with the run's others: what it borrows lives as long as the compose. */
struct pdraft {
	const char *kind, *recipient;
	struct rcpt *rcpts;   /* copied */
	size_t nrcpt;
	struct item *items;   /* copied */
	size_t nitems;
	int with_pdf;
};

struct compose {
	const struct ob_config *cfg;
	struct ob_db *db;
	const struct ob_outbox_run *run;
	struct ob_outbox_composed *out;
	char *pdf;            /* the attachment, read once */
	size_t pdf_len;
	const char *pdf_name;
	char domain[191];     /* of the Message-IDs (they fit the column's 255) */
	unsigned seq;         /* messages composed in this run */
	const struct rowset *people; /* the owners' names and addresses: id, name, email */
	const struct ob_map *person; /* owner id -> its row in people (chunk << 32 | row) */
	struct pdraft *pd;    /* the pending messages, written together at the end (pending_flush) */
	size_t npd;
};

static const char *nstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* templates/da/<report>/<kind>.<ext>, else templates/da/mail/<kind>.<ext>. */
static int render_kind(const struct compose *c, const char *kind, const char *ext, const cJSON *ctx,
		       enum ob_tpl_escape esc, struct ob_buf *out, struct ob_err *err)
{
	char name[300], *path;
	int own;

	snprintf(name, sizeof(name), "%s/%s", c->run->report, kind);
	path = ob_xasprintf("%s/%s.%s", c->cfg->template_dir, name, ext);
	own = access(path, R_OK) == 0;
	free(path);
	if (!own)
		snprintf(name, sizeof(name), "mail/%s", kind);
	return ob_tpl_render_file(c->cfg->template_dir, name, ext, ctx, esc, out, err);
}

/* An item's own text: its template's .txt, and .html (or the text, escaped). */
static int render_item(const struct compose *c, const struct item *it, cJSON *into, struct ob_err *err)
{
	const cJSON *kv = cJSON_GetObjectItemCaseSensitive(it->notice, "kv");
	const char *tpl = nstr(it->notice, "template");
	struct ob_buf txt, html;
	char *path;
	int rc = -1;

	ob_buf_init(&txt, 1 << 20);
	ob_buf_init(&html, 1 << 20);
	/* The values, for the digest's templates; "text" and "html" are the
	 * rendered item's (a value by that name must not reach {{{html}}}). */
	for (const cJSON *e = kv ? kv->child : NULL; e; e = e->next)
		if (strcmp(e->string, "text") != 0 && strcmp(e->string, "html") != 0)
			cJSON_AddItemToObject(into, e->string, cJSON_Duplicate(e, 1));
	if (ob_tpl_render_file(c->cfg->template_dir, tpl, "txt", kv, OB_TPL_TEXT, &txt, err) < 0)
		goto out;
	path = ob_xasprintf("%s/%s.html", c->cfg->template_dir, tpl);
	if (access(path, R_OK) == 0) {
		free(path);
		if (ob_tpl_render_file(c->cfg->template_dir, tpl, "html", kv, OB_TPL_HTML, &html, err) < 0)
			goto out;
	} else {
		free(path);
		for (size_t i = 0; i < txt.len; i++) {
			const char *ent = ob_tpl_html_entity(txt.data[i]);
			if (ent)
				ob_buf_adds(&html, ent);
			else if (txt.data[i] == '\n' && i + 1 < txt.len)
				ob_buf_adds(&html, "<br>\n");
			else
				ob_buf_addc(&html, txt.data[i]);
		}
	}
	/* Trailing newlines of the files are not part of the item. */
	while (txt.len && (txt.data[txt.len - 1] == '\n' || txt.data[txt.len - 1] == '\r'))
		txt.data[--txt.len] = '\0';
	while (html.len && (html.data[html.len - 1] == '\n' || html.data[html.len - 1] == '\r'))
		html.data[--html.len] = '\0';
	cJSON_AddStringToObject(into, "text", txt.data ? txt.data : "");
	cJSON_AddStringToObject(into, "html", html.data ? html.data : "");
	rc = 0;
out:
	ob_buf_free(&txt);
	ob_buf_free(&html);
	return rc;
}

void ob_outbox_random_hex(char *out, size_t n)
{
	unsigned char rnd[16] = {0};
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (n > sizeof(rnd))
		n = sizeof(rnd);
	if (fd >= 0) {
		ssize_t got = read(fd, rnd, n);
		(void)got;
		close(fd);
	}
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
}

/* Whom a notice's item is deduped for: its recipient, an owner's id
 * without leading zeros ("owner:012" is "owner:12": one person, one digest,
 * one key; migration 004 writes the old rows so). */
static char *dedupe_recipient(const char *recipient)
{
	if (strncmp(recipient, "owner:", 6) == 0) {
		const char *d = recipient + 6;
		while (d[0] == '0' && d[1] != '\0')
			d++;
		return ob_xasprintf("owner:%s", d);
	}
	return ob_xstrdup(recipient);
}

static void message_id(struct compose *c, char *out, size_t n)
{
	char rnd[13];
	ob_outbox_random_hex(rnd, 6);
	snprintf(out, n, "overblik.%llu.%u.%s@%s", c->run->run_id, ++c->seq, rnd, c->domain);
}

/* Few round trips: the digest is written a batch of recipients at a
 * time, up to DIGEST_BATCH recipients of one organisation per transaction,
 * their pending messages, items and recipients read with a few queries
 * over "IN (...)" lists and the digests written with bulk statements (so a
 * digest of thousands of recipients is not thousands of transactions of a
 * dozen round trips each); a run reads its owners' addresses with one
 * query, writes its pending messages (mail.digest_at) all together
 * (pending_flush) and claims a queued message's items with one bulk
 * statement. */
#define DIGEST_BATCH 250      /* recipients per transaction (at most IN_LIST) */
#define IN_LIST 250           /* values per "IN (...)"; a shorter list repeats its last value */
#define BULK_ROWS 1000        /* rows per bulk statement */
_Static_assert(DIGEST_BATCH <= IN_LIST, "a batch's recipients are one IN list");
#define BULK_BYTES (4u << 20) /* digests' text per bulk INSERT: far below max_allowed_packet */

/* head + " (?, ?, ...)" with IN_LIST placeholders + tail: one statement
 * text whatever the list's length (the prepared statements are cached by
 * their text). */
static char *in_sql(const char *head, const char *tail)
{
	char *h = ob_xasprintf("%s (", head), *t = ob_xasprintf(")%s", tail);
	char *sql = ob_db_sql_list(h, IN_LIST, t);

	free(h);
	free(t);
	return sql;
}

/* One outbox_items row of a bulk claim (8 columns: message, seq, org_id,
 * dedupe_rcpt, dedupe_key, live_key, template, kv) into q; returns its kv,
 * which q points into (the caller frees it after the statement). */
static char *item_row(struct ob_db_param *q, unsigned long long msg, size_t seq, long long org, const struct item *it)
{
	char *kv = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(it->notice, "kv"));

	q[0] = ob_p_int((long long)msg);
	q[1] = ob_p_int((long long)seq);
	q[2] = ob_p_int(org);
	q[3] = ob_p_str(it->rcpt);
	q[4] = ob_p_str(it->key);
	q[5] = ob_p_str(it->key);
	q[6] = ob_p_str(nstr(it->notice, "template"));
	q[7] = ob_p_str(kv ? kv : "{}");
	return kv;
}

/* The rows of a query run over a list of values IN_LIST at a time. */
struct rowset {
	struct ob_db_rows **r;
	size_t n;
};

static void rowset_free(struct rowset *s)
{
	for (size_t i = 0; i < s->n; i++)
		ob_db_rows_free(s->r[i]);
	free(s->r);
	s->r = NULL;
	s->n = 0;
}

/* Runs sql (made by in_sql) with pre[0..npre) and then vals[0..n), IN_LIST
 * values at a time; the chunks' rows are appended to out. */
static int query_in(struct ob_db *db, const char *sql, const struct ob_db_param *pre, size_t npre,
		    const struct ob_db_param *vals, size_t n, struct rowset *out, struct ob_err *err)
{
	struct ob_db_param *p = ob_xcalloc(npre + IN_LIST, sizeof(*p));
	int rc = 0;

	if (npre)
		memcpy(p, pre, npre * sizeof(*p));
	for (size_t at = 0; rc == 0 && at < n; at += IN_LIST) {
		struct ob_db_rows *r = NULL;
		for (size_t k = 0; k < IN_LIST; k++)
			p[npre + k] = vals[at + k < n ? at + k : n - 1];
		rc = ob_db_query(db, sql, p, npre + IN_LIST, &r, err);
		if (rc == 0) {
			out->r = ob_xrealloc(out->r, (out->n + 1) * sizeof(*out->r));
			out->r[out->n++] = r;
		}
	}
	free(p);
	return rc;
}

/* Consecutive rows of one chunk sharing column 0 (a message id). */
struct span {
	const struct ob_db_rows *r;
	size_t first, n;
};

/* For each chunk's runs of rows with one value in column 0: *spans[k] for
 * the k that ids maps the value to. */
static void spans_of(const struct rowset *s, const struct ob_map *ids, struct span *spans)
{
	for (size_t c = 0; c < s->n; c++) {
		const struct ob_db_rows *r = s->r[c];
		for (size_t i = 0; i < r->nrows; i++) {
			uint64_t k;
			if (!ob_map_get(ids, ob_db_cell(r, i, 0), &k))
				continue;
			if (spans[k].r == NULL || spans[k].r != r) {
				spans[k].r = r;
				spans[k].first = i;
				spans[k].n = 0;
			}
			spans[k].n++;
		}
	}
}

/* Runs a one-row statement over rows[0..n) of ncols values each, BULK_ROWS
 * at a time. */
static int exec_bulk(struct ob_db *db, const char *sql, const struct ob_db_param *rows, size_t ncols, size_t n,
		     struct ob_err *err)
{
	for (size_t at = 0; at < n; at += BULK_ROWS)
		if (ob_db_exec_bulk(db, sql, rows + at * ncols, ncols, n - at < BULK_ROWS ? n - at : BULK_ROWS, err) < 0)
			return -1;
	return 0;
}

/* One message being composed: what compose_one's parts share. */
struct draft {
	const char *kind;       /* "owner", "role", "no_email": the templates' name */
	const char *recipient;  /* the outbox's recipient: "owner:ID" or a role */
	const struct rcpt *rcpts;
	size_t nrcpt;
	const char *rcpt_name;  /* for the salutation */
	const char *role;       /* NULL for an owner */
	struct item *items;
	size_t nitems;
	int *kept;              /* items[i] is this message's (its key was free) */
	size_t nkept;
	unsigned long long id;  /* in the outbox */
	char mid[400];          /* its Message-ID */
	int with_pdf;
	char *subject;          /* rendered, trimmed (points into a buffer) */
};

/* Whether any of the items (the kept ones, kept NULL: all) wants the PDF:
 * one whose every item asks for none (OB_NOTICE_NO_PDF: a summary that
 * stands alone) carries none. */
static int wants_pdf(const struct draft *dr, const int *kept)
{
	for (size_t i = 0; i < dr->nitems; i++)
		if ((kept == NULL || kept[i]) && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dr->items[i].notice, "no_pdf")))
			return 1;
	return 0;
}

/* The message's row, queued with no text yet: its items refer to it. */
static int draft_insert(struct compose *c, struct draft *dr, struct ob_err *err)
{
	const struct ob_outbox_run *run = c->run;
	struct ob_db_param p[6];

	message_id(c, dr->mid, sizeof(dr->mid));
	p[0] = ob_p_int((long long)run->run_id);
	p[1] = run->org_id ? ob_p_int(run->org_id) : ob_p_null();
	p[2] = ob_p_str(dr->recipient);
	p[3] = ob_p_str(dr->kind);
	p[4] = ob_p_str(dr->mid);
	p[5] = ob_p_str(c->cfg->mail.from.email);
	if (ob_db_exec(c->db,
		       "INSERT INTO outbox (run_id, org_id, recipient, kind, message_id, mail_from, mime, status) "
		       "VALUES (?, ?, ?, ?, ?, ?, '', 'queued')",
		       p, 6, NULL, err) < 0)
		return -1;
	dr->id = ob_db_insert_id(c->db);
	return 0;
}

/* Claims the keys of all the items at once (not a dry run): one bulk
 * statement, each row as claim_item's INSERT, in the items' order; then
 * which rows are this message's (its seq) says which were kept. */
static int claim_all(struct compose *c, struct draft *dr, struct ob_err *err)
{
	const struct ob_outbox_run *run = c->run;
	struct ob_db_param *p = ob_xcalloc(8 * dr->nitems + 1, sizeof(*p));
	char **kv = ob_xcalloc(dr->nitems + 1, sizeof(char *));
	struct ob_db_rows *rows = NULL;
	int r;

	for (size_t i = 0; i < dr->nitems; i++) {
		const struct item *it = &dr->items[i];
		struct ob_db_param *q = p + 8 * i;
		kv[i] = item_row(q, dr->id, i + 1, run->org_id, it);
	}
	/* As claim_item: the unique (org_id, dedupe_rcpt, live_key) decides,
	 * row by row; a key held by another run is not ours (no row of this
	 * message then). */
	r = exec_bulk(c->db,
		      "INSERT INTO outbox_items (message, seq, org_id, dedupe_rcpt, dedupe_key, live_key, template, kv) "
		      "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE seq = seq",
		      p, 8, dr->nitems, err);
	for (size_t i = 0; i < dr->nitems; i++)
		cJSON_free(kv[i]);
	free(kv);
	free(p);
	if (r == 0) {
		struct ob_db_param q[1] = {ob_p_int((long long)dr->id)};
		r = ob_db_query(c->db, "SELECT seq FROM outbox_items WHERE message = ?", q, 1, &rows, err);
	}
	for (size_t i = 0; r == 0 && i < rows->nrows; i++) {
		long long seq = atoll(ob_db_cell(rows, i, 0));
		if (seq >= 1 && (size_t)seq <= dr->nitems)
			dr->kept[seq - 1] = 1;
	}
	ob_db_rows_free(rows);
	return r;
}

/* Writes the message's recipients, in one statement. */
static int draft_rcpts(struct compose *c, struct draft *dr, struct ob_err *err)
{
	struct ob_db_param *p = ob_xcalloc(4 * dr->nrcpt + 1, sizeof(*p));
	int r;

	for (size_t i = 0; i < dr->nrcpt; i++) {
		p[4 * i] = ob_p_int((long long)dr->id);
		p[4 * i + 1] = ob_p_int((long long)i + 1);
		p[4 * i + 2] = ob_p_str(dr->rcpts[i].email);
		p[4 * i + 3] = ob_p_str(dr->rcpts[i].name);
	}
	r = exec_bulk(c->db, "INSERT INTO outbox_rcpts (message, seq, email, name) VALUES (?, ?, ?, ?)", p, 4, dr->nrcpt,
		      err);
	free(p);
	return r;
}

/* Claims item i's key for its recipient: *kept 1 when it was free (the
 * item is this message's), 0 when another message holds it. */
static int claim_item(struct compose *c, struct draft *dr, size_t i, int *kept, struct ob_err *err)
{
	const struct ob_outbox_run *run = c->run;
	const struct item *it = &dr->items[i];
	char *kv = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(it->notice, "kv"));
	struct ob_db_param p[8] = {ob_p_int((long long)dr->id),
				   ob_p_int((long long)i + 1),
				   ob_p_int(run->org_id),
				   ob_p_str(it->rcpt),
				   ob_p_str(it->key),
				   run->dry_run ? ob_p_null() : ob_p_str(it->key),
				   ob_p_str(nstr(it->notice, "template")),
				   ob_p_str(kv ? kv : "{}")};
	unsigned long long affected = 0;
	int r;

	if (run->dry_run) {
		/* A dry run shows what would go out: not what went out before. */
		struct ob_db_rows *rows = NULL;
		struct ob_db_param q[3] = {ob_p_int(run->org_id), ob_p_str(it->rcpt), ob_p_str(it->key)};
		r = ob_db_query(c->db, "SELECT 1 FROM outbox_items WHERE org_id = ? AND dedupe_rcpt = ? AND live_key = ? LIMIT 1",
				q, 3, &rows, err);
		int taken = r == 0 && rows->nrows > 0;
		ob_db_rows_free(rows);
		if (r == 0 && !taken)
			r = ob_db_exec(c->db,
				       "INSERT INTO outbox_items (message, seq, org_id, dedupe_rcpt, dedupe_key, live_key, "
				       "template, kv) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				       p, 8, &affected, err);
	} else
		/* The unique (org_id, dedupe_rcpt, live_key) decides: a key
		 * another run holds for this recipient (committed, or committing:
		 * we wait for it) is not ours; 0 rows affected then. (Not INSERT
		 * IGNORE: that would hide real errors.) */
		r = ob_db_exec(c->db,
			       "INSERT INTO outbox_items (message, seq, org_id, dedupe_rcpt, dedupe_key, live_key, template, "
			       "kv) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE seq = seq",
			       p, 8, &affected, err);
	cJSON_free(kv);
	*kept = affected == 1;
	return r;
}

/* Claims the items' keys; a message left with no item is deleted. */
static int draft_claim(struct compose *c, struct draft *dr, struct ob_err *err)
{
	if (!c->run->dry_run && dr->nitems > 1) {
		if (claim_all(c, dr, err) < 0)
			return -1;
	} else
		for (size_t i = 0; i < dr->nitems; i++)
			if (claim_item(c, dr, i, &dr->kept[i], err) < 0)
				return -1;
	for (size_t i = 0; i < dr->nitems; i++) {
		dr->nkept += (size_t)dr->kept[i];
		if (!dr->kept[i])
			c->out->skipped++;
	}
	if (dr->nkept == 0) {
		struct ob_db_param p[1] = {ob_p_int((long long)dr->id)};
		return ob_db_exec(c->db, "DELETE FROM outbox WHERE id = ?", p, 1, NULL, err);
	}
	/* A message whose every item asks for no PDF (OB_NOTICE_NO_PDF: a
	 * summary that stands alone) carries none. */
	if (dr->with_pdf)
		dr->with_pdf = wants_pdf(dr, dr->kept);
	return 0;
}

/* What the templates see of the run and the recipient. */
static cJSON *draft_context(const struct compose *c, const struct draft *dr)
{
	const struct ob_outbox_run *run = c->run;
	char asof[11];
	cJSON *ctx = cJSON_CreateObject(), *r;

	ob_date_format_da(run->as_of, asof, sizeof(asof));
	cJSON_AddStringToObject(ctx, "org", run->org_name ? run->org_name : "");
	cJSON_AddStringToObject(ctx, "report", run->report);
	cJSON_AddStringToObject(ctx, "report_title", run->report_title ? run->report_title : run->report);
	cJSON_AddStringToObject(ctx, "as_of", asof);
	cJSON_AddNumberToObject(ctx, "run_id", (double)run->run_id);
	cJSON_AddNumberToObject(ctx, "count", (double)dr->nkept);
	cJSON_AddBoolToObject(ctx, "one", dr->nkept == 1);
	if (dr->with_pdf && c->pdf_name)
		cJSON_AddStringToObject(ctx, "pdf", c->pdf_name);
	r = cJSON_AddObjectToObject(ctx, "recipient");
	cJSON_AddStringToObject(r, "name", dr->rcpt_name ? dr->rcpt_name : "");
	if (dr->role) {
		cJSON_AddStringToObject(r, "role", dr->role);
		cJSON_AddStringToObject(r, "role_name", role_titles[ob_mail_role(dr->role)]);
	}
	return ctx;
}

/* Adds a rendered item to its owner's list in owners, in the order met. */
static void add_to_owner(cJSON *owners, const struct item *it, const cJSON *o)
{
	cJSON *ow = NULL, *e;
	cJSON_ArrayForEach(e, owners)
	if ((long long)cJSON_GetObjectItem(e, "id")->valuedouble == it->owner)
		ow = e;
	if (ow == NULL) {
		ow = cJSON_CreateObject();
		cJSON_AddNumberToObject(ow, "id", (double)it->owner);
		cJSON_AddStringToObject(ow, "name", it->owner_name ? it->owner_name : "");
		cJSON_AddArrayToObject(ow, "items");
		cJSON_AddItemToArray(owners, ow);
	}
	cJSON_AddItemToArray(cJSON_GetObjectItem(ow, "items"), cJSON_Duplicate(o, 1));
}

/* The message's items, rendered, into ctx's "items" (and for IT support's
 * list of owners without an address, grouped by owner into "owners"). */
static int draft_items(const struct compose *c, const struct draft *dr, cJSON *ctx, struct ob_err *err)
{
	cJSON *list = cJSON_AddArrayToObject(ctx, "items"), *owners = NULL;

	if (strcmp(dr->kind, "no_email") == 0)
		owners = cJSON_AddArrayToObject(ctx, "owners");
	for (size_t i = 0; i < dr->nitems; i++) {
		cJSON *o;
		if (!dr->kept[i])
			continue;
		o = cJSON_CreateObject();
		if (render_item(c, &dr->items[i], o, err) < 0) {
			cJSON_Delete(o);
			return -1;
		}
		if (owners)
			add_to_owner(owners, &dr->items[i], o);
		cJSON_AddItemToArray(list, o);
	}
	return 0;
}

/* The message itself, from the rendered subject, text and html. */
static int draft_mime(const struct compose *c, const struct draft *dr, const struct ob_buf *text,
		      const struct ob_buf *html, struct ob_buf *mime, struct ob_err *err)
{
	struct ob_mime_addr from = {c->cfg->mail.from.name, c->cfg->mail.from.email};
	struct ob_mime_addr reply_to = {c->cfg->mail.reply_to.name, c->cfg->mail.reply_to.email};
	struct ob_mime_attachment att = {c->pdf_name, "application/pdf", c->pdf, c->pdf_len};
	struct ob_mime_addr *to = ob_xcalloc(dr->nrcpt + 1, sizeof(*to));
	struct ob_mime_message m;
	size_t nto = dr->nrcpt;
	int rc;

	for (size_t i = 0; i < dr->nrcpt; i++) {
		to[i].name = dr->rcpts[i].name;
		to[i].email = dr->rcpts[i].email;
	}
	if (dr->nrcpt == 0) { /* nobody to send it to: kept, dead, for the record */
		to[0] = from;
		nto = 1;
	}
	memset(&m, 0, sizeof(m));
	m.from = from;
	m.to = to;
	m.nto = nto;
	m.reply_to = reply_to.email ? &reply_to : NULL;
	m.subject = dr->subject;
	m.message_id = dr->mid;
	m.date = time(NULL);
	m.text = text->data ? text->data : "";
	m.html = html->data;
	m.att = dr->with_pdf ? &att : NULL;
	m.natt = dr->with_pdf ? 1 : 0;
	rc = ob_mime_build(&m, mime, err);
	free(to);
	return rc;
}

/* Writes the message's text, status and recipients into its row: queued
 * (dry_run in a dry run), or dead when there is nobody to send it to. */
static int draft_store(struct compose *c, struct draft *dr, const char *mime, struct ob_err *err)
{
	const struct ob_outbox_run *run = c->run;
	const char *status = run->dry_run ? "dry_run" : dr->nrcpt == 0 ? "dead" : "queued";
	char *reply = NULL, *subj = dr->subject;
	size_t cut = 0, chars = 0;
	int r;

	if (!run->dry_run && dr->nrcpt == 0)
		reply = dr->role ? ob_xasprintf("no address: /mail/roles/%s in the configuration is empty", dr->role)
				 : ob_xstrdup("no address");
	/* The column keeps the first 250 characters (the message has all). */
	while (subj[cut] && chars < 250) {
		cut++;
		while ((subj[cut] & 0xC0) == 0x80)
			cut++;
		chars++;
	}
	subj[cut] = '\0';
	{
		struct ob_db_param p[7] = {ob_p_str(subj),       ob_p_str(mime),
					   ob_p_int((long long)dr->nkept), ob_p_str(status),
					   ob_p_int(c->cfg->mail.max_age), ob_p_str(reply),
					   ob_p_int((long long)dr->id)};
		r = ob_db_exec(c->db,
			       "UPDATE outbox SET subject = ?, mime = ?, items = ?, status = ?, next_attempt_at = NOW(3), "
			       "expires_at = NOW(3) + INTERVAL ? SECOND, last_reply = ? WHERE id = ?",
			       p, 7, NULL, err);
	}
	if (r == 0 && reply) {
		struct ob_db_param q[1] = {ob_p_int((long long)dr->id)};
		ob_log(OB_LOG_WARNING, "run %llu: mail to %s: %s: the message is kept as dead (outbox %llu)", run->run_id,
		       dr->recipient, reply, dr->id);
		r = ob_db_exec(c->db, "UPDATE outbox_items SET live_key = NULL WHERE message = ?", q, 1, NULL, err);
	}
	free(reply);
	if (r == 0)
		r = draft_rcpts(c, dr, err);
	return r;
}

/* Renders and stores a message whose items are claimed. */
static int draft_finish(struct compose *c, struct draft *dr, struct ob_err *err)
{
	struct ob_buf subject, text, html, mime;
	cJSON *ctx = draft_context(c, dr);
	int rc = -1;

	ob_buf_init(&subject, 4096);
	ob_buf_init(&text, 4 << 20);
	ob_buf_init(&html, 8 << 20);
	ob_buf_init(&mime, 0);
	if (draft_items(c, dr, ctx, err) < 0 ||
	    render_kind(c, dr->kind, "subject", ctx, OB_TPL_TEXT, &subject, err) < 0 ||
	    render_kind(c, dr->kind, "txt", ctx, OB_TPL_TEXT, &text, err) < 0 ||
	    render_kind(c, dr->kind, "html", ctx, OB_TPL_HTML, &html, err) < 0)
		goto out;
	dr->subject = ob_trim(subject.data ? subject.data : (char *)"");
	if (draft_mime(c, dr, &text, &html, &mime, err) < 0 || draft_store(c, dr, mime.data, err) < 0)
		goto out;
	c->out->messages++;
	c->out->items += (unsigned)dr->nkept;
	rc = 0;
out:
	cJSON_Delete(ctx);
	ob_buf_free(&subject);
	ob_buf_free(&text);
	ob_buf_free(&html);
	ob_buf_free(&mime);
	return rc;
}

/* One message: claims the items' keys, renders, builds and stores it. */
static int compose_one(struct compose *c, const char *kind, const char *recipient, const struct rcpt *rcpts,
		       size_t nrcpt, const char *rcpt_name, const char *role, struct item *items, size_t nitems,
		       struct ob_err *err)
{
	struct draft dr = {.kind = kind, .recipient = recipient, .rcpts = rcpts, .nrcpt = nrcpt, .rcpt_name = rcpt_name,
			   .role = role, .items = items, .nitems = nitems, .kept = ob_xcalloc(nitems + 1, sizeof(int))};
	int rc;

	/* The roles' briefings carry the run's PDF; an owner's digest (and IT
	 * support's list of owners without an address) its items, unless
	 * mail.attach_pdf is "all". */
	dr.with_pdf = c->pdf && (c->cfg->mail.attach_pdf == OB_ATTACH_PDF_ALL ||
				 (c->cfg->mail.attach_pdf == OB_ATTACH_PDF_ROLES && strcmp(kind, "role") == 0));
	if (c->cfg->mail.digest_at && !c->run->dry_run && nrcpt > 0) {
		/* With mail.digest_at the message waits, pending, its items
		 * claimed, for the digest (ob_outbox_digest): written with the
		 * run's other pending messages (pending_flush). */
		struct pdraft *pd;
		c->pd = ob_xrealloc(c->pd, (c->npd + 1) * sizeof(*c->pd));
		pd = &c->pd[c->npd++];
		pd->kind = kind;
		pd->recipient = recipient;
		pd->rcpts = ob_xcalloc(nrcpt + 1, sizeof(*rcpts));
		memcpy(pd->rcpts, rcpts, nrcpt * sizeof(*rcpts));
		pd->nrcpt = nrcpt;
		pd->items = ob_xcalloc(nitems + 1, sizeof(*items));
		memcpy(pd->items, items, nitems * sizeof(*items));
		pd->nitems = nitems;
		pd->with_pdf = dr.with_pdf;
		free(dr.kept);
		return 0;
	}
	rc = draft_insert(c, &dr, err);
	if (rc == 0)
		rc = draft_claim(c, &dr, err);
	if (rc == 0 && dr.nkept > 0)
		rc = draft_finish(c, &dr, err);
	free(dr.kept);
	return rc;
}

/* A role's configured addresses (mail.roles), as recipients; caller frees. */
static struct rcpt *role_rcpts(const struct ob_config *cfg, int role)
{
	struct rcpt *rs = ob_xcalloc(cfg->mail.nroles[role] + 1, sizeof(*rs));
	for (size_t k = 0; k < cfg->mail.nroles[role]; k++) {
		rs[k].name = cfg->mail.roles[role][k].name;
		rs[k].email = cfg->mail.roles[role][k].email;
	}
	return rs;
}

/* A role's digest (kind "role"), or IT support's of owners without an
 * address (kind "no_email"). */
static int compose_role(struct compose *c, const char *kind, const char *role, struct item *items, size_t nitems,
			struct ob_err *err)
{
	int r = ob_mail_role(role);
	struct rcpt *rs = role_rcpts(c->cfg, r);
	int rc = compose_one(c, kind, role, rs, c->cfg->mail.nroles[r], role_titles[r], role, items, nitems, err);
	free(rs);
	return rc;
}

/* The notices grouped by recipient, in the order first notified; a key
 * twice in one run to one recipient is one item (to two recipients: one
 * each). */
struct groups {
	struct item *items;     /* the notices, deduped */
	size_t nitems;
	size_t *of;             /* items[i]'s group */
	char **name;            /* a group's recipient (dedupe_recipient()) */
	size_t n;
	struct item *noemail;   /* items of owners without an address, for it_support */
	size_t nnoemail;
};

static void groups_make(const cJSON *notices, struct groups *g)
{
	size_t n = (size_t)cJSON_GetArraySize(notices);
	struct ob_map seen, byname;

	ob_map_init(&seen);
	ob_map_init(&byname);
	g->items = ob_xcalloc(n + 1, sizeof(*g->items));
	g->noemail = ob_xcalloc(n + 1, sizeof(*g->noemail));
	g->name = ob_xcalloc(n + 1, sizeof(char *));
	g->of = ob_xcalloc(n + 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		const cJSON *nt = cJSON_GetArrayItem(notices, (int)i);
		const char *key = nstr(nt, "dedupe_key");
		char *rcpt = dedupe_recipient(nstr(nt, "recipient"));
		/* A recipient has no space: "RCPT KEY" is unambiguous. */
		char *pair = ob_xasprintf("%s %s", rcpt, key);
		uint64_t k;
		int dup = ob_map_get(&seen, pair, &k);
		if (!dup)
			ob_map_put(&seen, pair, 1);
		free(pair);
		if (dup) {
			free(rcpt);
			continue;
		}
		if (!ob_map_get(&byname, rcpt, &k)) {
			k = g->n;
			g->name[g->n++] = rcpt;
			ob_map_put(&byname, rcpt, k);
		} else
			free(rcpt);
		g->items[g->nitems].notice = nt;
		g->items[g->nitems].rcpt = g->name[k];
		g->items[g->nitems].key = ob_xstrdup(key);
		g->of[g->nitems++] = (size_t)k;
	}
	ob_map_free(&seen);
	ob_map_free(&byname);
}

static void groups_free(struct groups *g)
{
	for (size_t i = 0; i < g->nitems; i++)
		free(g->items[i].key);
	free(g->items);
	free(g->of);
	for (size_t k = 0; k < g->n; k++)
		free(g->name[k]);
	free(g->name);
	for (size_t i = 0; i < g->nnoemail; i++) {
		free(g->noemail[i].key);
		if (i + 1 == g->nnoemail || g->noemail[i + 1].owner_name != g->noemail[i].owner_name)
			free((char *)g->noemail[i].owner_name);
	}
	free(g->noemail);
}

/* An owner's items without a usable address: IT support hears of them,
 * under keys of their own, so the owner still gets the items once fixed. */
static void to_it_support(struct compose *c, struct groups *g, long long owner, const char *name, const char *email,
			  const struct item *gi, size_t ng)
{
	/* the name is freed with the owner's last item (groups_free) */
	char *oname = name ? ob_xstrdup(name) : ob_xasprintf("ukendt ejer (id %lld)", owner);
	for (size_t k = 0; k < ng; k++) {
		g->noemail[g->nnoemail] = gi[k];
		g->noemail[g->nnoemail].key = ob_xasprintf("no_email:%s", gi[k].key);
		g->noemail[g->nnoemail].owner = owner;
		g->noemail[g->nnoemail].owner_name = oname;
		g->nnoemail++;
	}
	c->out->no_email += (unsigned)ng;
	ob_log(OB_LOG_NOTICE, "run %llu: owner %lld (%s) has %s: %zu item%s to it_support", c->run->run_id, owner,
	       name ? name : "not found", email ? "no valid e-mail address" : "no e-mail address", ng, ng == 1 ? "" : "s");
}

/* An owner's digest, to the owner's address in people. */
static int compose_owner(struct compose *c, struct groups *g, const char *rcpt, struct item *gi, size_t ng,
			 struct ob_err *err)
{
	long long owner = atoll(rcpt + 6);
	const char *name = NULL, *email = NULL;
	char key[32];
	uint64_t at;
	int r = 0;

	snprintf(key, sizeof(key), "%lld", owner);
	if (ob_map_get(c->person, key, &at)) {
		const struct ob_db_rows *p = c->people->r[at >> 32];
		name = ob_db_cell(p, at & 0xffffffffu, 1);
		email = ob_db_cell(p, at & 0xffffffffu, 2);
	}
	if (email && ob_mime_addr_valid(email)) {
		struct rcpt one = {name, email};
		r = compose_one(c, "owner", rcpt, &one, 1, name, NULL, gi, ng, err);
	} else
		to_it_support(c, g, owner, name, email, gi, ng);
	return r;
}

/* Reads the domain of the Message-IDs and the PDF to attach. */
static int compose_init(struct compose *c, struct ob_err *err)
{
	const struct ob_config *cfg = c->cfg;
	const char *d = cfg->mail.message_id_domain;

	if (d == NULL)
		d = strchr(cfg->mail.from.email, '@') ? strchr(cfg->mail.from.email, '@') + 1 : "localhost";
	snprintf(c->domain, sizeof(c->domain), "%s", d);
	if (cfg->mail.attach_pdf != OB_ATTACH_PDF_NONE && c->run->pdf_path) {
		if (ob_read_file(c->run->pdf_path, &c->pdf, &c->pdf_len) < 0) {
			ob_err_set(err, "mail: cannot read the run's PDF %s to attach it: %s", c->run->pdf_path,
				   strerror(errno));
			return -1;
		}
		c->pdf_name = strrchr(c->run->pdf_path, '/') ? strrchr(c->run->pdf_path, '/') + 1 : c->run->pdf_path;
	}
	return 0;
}

/* Writes the run's pending messages (mail.digest_at) together: their rows
 * in one bulk INSERT, complete as if every item were kept; their ids by
 * their Message-IDs; every item's claim in one bulk statement, each row as
 * claim_item's INSERT in the order the messages were composed; which items
 * were kept from the rows that are theirs; then the messages left with no
 * item deleted, the others' counts and PDFs corrected where items were
 * skipped, and their recipients written. A few round trips per run, not a
 * few per message. */
static int pending_flush(struct compose *c, struct ob_err *err)
{
	static char *ids_sql, *kept_sql;
	const struct ob_outbox_run *run = c->run;
	size_t n = c->npd, nit = 0;
	char (*mid)[400] = ob_xcalloc(n + 1, sizeof(*mid));
	unsigned long long *id = ob_xcalloc(n + 1, sizeof(*id));
	size_t *base = ob_xcalloc(n + 1, sizeof(*base));
	int *written = ob_xcalloc(n + 1, sizeof(int)), *kept;
	char *title = ob_xstrdup(run->report_title ? run->report_title : run->report), **kv;
	struct ob_db_param *p, *v;
	struct rowset got = {0};
	struct ob_map ids;
	int rc;

	if (ids_sql == NULL) {
		ids_sql = in_sql("SELECT id, message_id FROM outbox WHERE message_id IN", "");
		kept_sql = in_sql("SELECT message, seq FROM outbox_items WHERE message IN", "");
	}
	ob_utf8_fit(title, 250);
	p = ob_xcalloc(9 * (n + 1), sizeof(*p));
	v = ob_xcalloc(n + 1, sizeof(*v));
	for (size_t k = 0; k < n; k++) {
		const struct pdraft *d = &c->pd[k];
		struct ob_db_param *q = p + 9 * k;
		message_id(c, mid[k], sizeof(mid[k]));
		base[k] = nit;
		nit += d->nitems;
		written[k] = d->with_pdf;
		if (written[k]) {
			written[k] = 0;
			for (size_t i = 0; i < d->nitems; i++)
				if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d->items[i].notice, "no_pdf")))
					written[k] = 1;
		}
		q[0] = ob_p_int((long long)run->run_id);
		q[1] = run->org_id ? ob_p_int(run->org_id) : ob_p_null();
		q[2] = ob_p_str(d->recipient);
		q[3] = ob_p_str(d->kind);
		q[4] = ob_p_str(mid[k]);
		q[5] = ob_p_str(c->cfg->mail.from.email);
		q[6] = ob_p_str(title);
		q[7] = ob_p_int((long long)d->nitems);
		q[8] = written[k] ? ob_p_str(run->pdf_path) : ob_p_null();
		v[k] = ob_p_str(mid[k]);
	}
	rc = exec_bulk(c->db,
		       "INSERT INTO outbox (run_id, org_id, recipient, kind, message_id, mail_from, mime, status, subject, "
		       "items, pdf_path) VALUES (?, ?, ?, ?, ?, ?, '', 'pending', ?, ?, ?)",
		       p, 9, n, err);
	free(p);
	/* their ids */
	ob_map_init(&ids);
	if (rc == 0)
		rc = query_in(c->db, ids_sql, NULL, 0, v, n, &got, err);
	for (size_t ch = 0; rc == 0 && ch < got.n; ch++)
		for (size_t i = 0; i < got.r[ch]->nrows; i++)
			ob_map_put(&ids, ob_db_cell(got.r[ch], i, 1), strtoull(ob_db_cell(got.r[ch], i, 0), NULL, 10));
	for (size_t k = 0; rc == 0 && k < n; k++) {
		uint64_t x;
		if (!ob_map_get(&ids, mid[k], &x)) {
			ob_err_set(err, "run %llu: mail to %s: the message's row (Message-ID %s) is not found after it was "
				   "written", run->run_id, c->pd[k].recipient, mid[k]);
			rc = -1;
		}
		id[k] = x;
	}
	ob_map_free(&ids);
	rowset_free(&got);
	/* the items' claims */
	p = ob_xcalloc(8 * (nit + 1), sizeof(*p));
	kv = ob_xcalloc(nit + 1, sizeof(char *));
	for (size_t k = 0; rc == 0 && k < n; k++)
		for (size_t i = 0; i < c->pd[k].nitems; i++) {
			const struct item *it = &c->pd[k].items[i];
			size_t at = base[k] + i;
			struct ob_db_param *q = p + 8 * at;
			kv[at] = item_row(q, id[k], i + 1, run->org_id, it);
		}
	/* As claim_item: the unique (org_id, dedupe_rcpt, live_key) decides,
	 * row by row; a key another run holds for the recipient (committed,
	 * or committing: we wait for it) is not ours, and the row is not
	 * written (not INSERT IGNORE: that would hide real errors). */
	if (rc == 0)
		rc = exec_bulk(c->db,
			       "INSERT INTO outbox_items (message, seq, org_id, dedupe_rcpt, dedupe_key, live_key, template, "
			       "kv) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE seq = seq",
			       p, 8, nit, err);
	for (size_t i = 0; i < nit; i++)
		cJSON_free(kv[i]);
	free(kv);
	free(p);
	/* which were kept: the rows that are the messages' own */
	kept = ob_xcalloc(nit + 1, sizeof(int));
	ob_map_init(&ids);
	for (size_t k = 0; k < n; k++) {
		char key[32];
		snprintf(key, sizeof(key), "%llu", id[k]);
		ob_map_put(&ids, key, k);
		v[k] = ob_p_int((long long)id[k]);
	}
	if (rc == 0)
		rc = query_in(c->db, kept_sql, NULL, 0, v, n, &got, err);
	for (size_t ch = 0; rc == 0 && ch < got.n; ch++)
		for (size_t i = 0; i < got.r[ch]->nrows; i++) {
			uint64_t k;
			long long seq = atoll(ob_db_cell(got.r[ch], i, 1));
			if (ob_map_get(&ids, ob_db_cell(got.r[ch], i, 0), &k) && seq >= 1 && (size_t)seq <= c->pd[k].nitems)
				kept[base[k] + (size_t)seq - 1] = 1;
		}
	ob_map_free(&ids);
	rowset_free(&got);
	/* messages with no item go; counts and PDFs follow what was kept */
	{
		struct ob_db_param *del = ob_xcalloc(n + 1, sizeof(*del)), *upd = ob_xcalloc(3 * (n + 1), sizeof(*upd));
		struct ob_db_param *rp;
		size_t ndel = 0, nupd = 0, nrp = 0;
		for (size_t k = 0; k < n; k++)
			nrp += c->pd[k].nrcpt;
		rp = ob_xcalloc(4 * (nrp + 1), sizeof(*rp));
		nrp = 0;
		for (size_t k = 0; rc == 0 && k < n; k++) {
			const struct pdraft *d = &c->pd[k];
			size_t nkept = 0;
			int pdf = 0;
			for (size_t i = 0; i < d->nitems; i++) {
				if (!kept[base[k] + i]) {
					c->out->skipped++;
					continue;
				}
				nkept++;
				pdf |= d->with_pdf &&
				       !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d->items[i].notice, "no_pdf"));
			}
			if (nkept == 0) {
				del[ndel++] = ob_p_int((long long)id[k]);
				continue;
			}
			if (nkept != d->nitems || pdf != written[k]) {
				upd[3 * nupd] = ob_p_int((long long)nkept);
				upd[3 * nupd + 1] = pdf ? ob_p_str(run->pdf_path) : ob_p_null();
				upd[3 * nupd + 2] = ob_p_int((long long)id[k]);
				nupd++;
			}
			for (size_t i = 0; i < d->nrcpt; i++, nrp++) {
				rp[4 * nrp] = ob_p_int((long long)id[k]);
				rp[4 * nrp + 1] = ob_p_int((long long)i + 1);
				rp[4 * nrp + 2] = ob_p_str(d->rcpts[i].email);
				rp[4 * nrp + 3] = ob_p_str(d->rcpts[i].name);
			}
			c->out->messages++;
			c->out->items += (unsigned)nkept;
		}
		if (rc == 0)
			rc = exec_bulk(c->db, "DELETE FROM outbox WHERE id = ?", del, 1, ndel, err);
		if (rc == 0)
			rc = exec_bulk(c->db, "UPDATE outbox SET items = ?, pdf_path = ? WHERE id = ?", upd, 3, nupd, err);
		if (rc == 0)
			rc = exec_bulk(c->db, "INSERT INTO outbox_rcpts (message, seq, email, name) VALUES (?, ?, ?, ?)", rp, 4,
				       nrp, err);
		free(del);
		free(upd);
		free(rp);
	}
	free(kept);
	free(v);
	free(title);
	free(written);
	free(base);
	free(id);
	free(mid);
	return rc;
}

int ob_outbox_compose(const struct ob_config *cfg, struct ob_db *db, const struct ob_outbox_run *run,
		      struct ob_outbox_composed *out, struct ob_err *err)
{
	struct compose c;
	struct groups g;
	struct rowset people = {0};
	struct ob_map person;
	int rc = -1, r0;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	memset(&g, 0, sizeof(g));
	ob_map_init(&person);
	if (cJSON_GetArraySize(run->notices) == 0)
		return 0;
	c.cfg = cfg;
	c.db = db;
	c.run = run;
	c.out = out;
	if (compose_init(&c, err) < 0)
		return -1;
	groups_make(run->notices, &g);
	/* the owners' names and addresses, in one query (IN_LIST at a time) */
	{
		static char *sql;
		struct ob_db_param *v = ob_xcalloc(g.n + 1, sizeof(*v)), pre[1] = {ob_p_int(run->org_id)};
		size_t nv = 0;
		if (sql == NULL)
			sql = in_sql("SELECT id, name, email FROM people WHERE org_id <=> NULLIF(?, 0) AND id IN", "");
		for (size_t k = 0; k < g.n; k++)
			if (strncmp(g.name[k], "owner:", 6) == 0)
				v[nv++] = ob_p_int(atoll(g.name[k] + 6));
		r0 = nv ? query_in(db, sql, pre, 1, v, nv, &people, err) : 0;
		free(v);
		for (size_t ch = 0; r0 == 0 && ch < people.n; ch++)
			for (size_t i = 0; i < people.r[ch]->nrows; i++)
				ob_map_put(&person, ob_db_cell(people.r[ch], i, 0), ((uint64_t)ch << 32) | i);
		c.people = &people;
		c.person = &person;
		if (r0 < 0)
			goto out;
	}
	for (size_t k = 0; k < g.n; k++) {
		struct item *gi = ob_xcalloc(g.nitems + 1, sizeof(*gi));
		size_t ng = 0;
		int r;
		for (size_t i = 0; i < g.nitems; i++)
			if (g.of[i] == k)
				gi[ng++] = g.items[i];
		if (strncmp(g.name[k], "owner:", 6) == 0)
			r = compose_owner(&c, &g, g.name[k], gi, ng, err);
		else
			r = compose_role(&c, "role", g.name[k], gi, ng, err);
		free(gi);
		if (r < 0)
			goto out;
	}
	if (g.nnoemail && compose_role(&c, "no_email", "it_support", g.noemail, g.nnoemail, err) < 0)
		goto out;
	if (c.npd && pending_flush(&c, err) < 0)
		goto out;
	rc = 0;
out:
	for (size_t k = 0; k < c.npd; k++) {
		free(c.pd[k].rcpts);
		free(c.pd[k].items);
	}
	free(c.pd);
	groups_free(&g);
	rowset_free(&people);
	ob_map_free(&person);
	free(c.pdf);
	return rc;
}

/* ---- the digest: every recipient's pending messages become one ---- */

struct digest {
	struct compose c;       /* cfg, db, domain: for render_item */
	const char *kind;       /* "owner", "role" (it_support's list of owners without an address too) */
	cJSON *reports;         /* [{report, report_title, as_of, run_id, count, one, items, owners}] */
	struct ob_mime_attachment *att;
	size_t natt;
	unsigned items;
};

/* The report's part of the digest, made when first met. */
static cJSON *digest_section(struct digest *d, const char *report, const char *title, const char *as_of,
			     unsigned long long run_id, int noemail)
{
	cJSON *sec;
	char asof[11];

	ob_date_format_da(as_of, asof, sizeof(asof));
	cJSON_ArrayForEach(sec, d->reports)
	if (strcmp(cJSON_GetObjectItem(sec, "report")->valuestring, report) == 0 &&
	    cJSON_IsTrue(cJSON_GetObjectItem(sec, "no_email")) == noemail) {
		/* Two runs of a report: the newest's title and date head it. */
		cJSON_ReplaceItemInObject(sec, "report_title", cJSON_CreateString(title));
		cJSON_ReplaceItemInObject(sec, "as_of", cJSON_CreateString(asof));
		cJSON_ReplaceItemInObject(sec, "run_id", cJSON_CreateNumber((double)run_id));
		return sec;
	}
	sec = cJSON_CreateObject();
	cJSON_AddStringToObject(sec, "report", report);
	cJSON_AddStringToObject(sec, "report_title", title);
	cJSON_AddStringToObject(sec, "as_of", asof);
	cJSON_AddNumberToObject(sec, "run_id", (double)run_id);
	cJSON_AddArrayToObject(sec, "items");
	cJSON_AddBoolToObject(sec, "no_email", noemail);
	if (noemail)
		cJSON_AddArrayToObject(sec, "owners");
	cJSON_AddItemToArray(d->reports, sec);
	return sec;
}

/* Attaches the run's PDF once; one that is gone meanwhile is left out
 * (said in the log): the items still go. */
static void digest_attach(struct digest *d, const char *path)
{
	char *data;
	size_t len;

	for (size_t i = 0; i < d->natt; i++)
		if (strcmp(d->att[i].content_type, "application/pdf") == 0 && d->att[i].filename &&
		    strcmp((const char *)d->att[i].filename + strlen(d->att[i].filename) + 1, path) == 0)
			return;
	if (ob_read_file(path, &data, &len) < 0) {
		ob_log(OB_LOG_WARNING, "mail digest: cannot read the run's PDF %s to attach it: %s; it goes without",
		       path, strerror(errno));
		return;
	}
	{
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		/* the file name, then the path (to find it again), in one block */
		size_t bl = strlen(base), pl = strlen(path);
		char *names = ob_xcalloc(bl + pl + 2, 1);
		memcpy(names, base, bl);
		memcpy(names + bl + 1, path, pl);
		d->att = ob_xrealloc(d->att, (d->natt + 1) * sizeof(*d->att));
		d->att[d->natt++] = (struct ob_mime_attachment){names, "application/pdf", data, len};
	}
}

/* err's sentence, prefixed (ob_err_set keeps a first error: it is redone). */
static void err_prefix(struct ob_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void err_prefix(struct ob_err *err, const char *fmt, ...)
{
	char pre[512], msg[sizeof(err->msg)];
	enum ob_err_code code = err->code;
	unsigned sqlerrno = err->sqlerrno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s", err->msg);
	ob_err_clear(err);
	ob_err_setc(err, code, sqlerrno, "%s: %s", pre, msg[0] ? msg : "failed");
}

/* One recipient of a batch. */
struct drcpt {
	const char *recipient;    /* as the pending messages have it */
	const char *kind;         /* of the digest: "owner", or "role" (it_support's list of owners too) */
	size_t *pend;             /* its pending messages: rows of the batch's query, oldest first */
	size_t npend;
	char mid[400];
	unsigned long long newest_run;
	char *subject;            /* rendered, as stored (250 characters) */
	char *mime;
	unsigned items;
	unsigned long long id;    /* the digest's row */
};

/* An item moving from a pending message into recipient rc's digest. */
struct move {
	size_t rc;
	long long from, from_seq, seq;
};

/* What a batch reads and makes. */
struct dbatch {
	const struct ob_config *cfg;
	struct ob_db *db;
	const char *domain;
	const char *org;          /* the organisation's id as text; NULL: none */
	struct ob_db_param orgp;
	struct drcpt *rc;
	size_t nrc;
	struct ob_db_rows *pend;  /* id, run_id, report, subject, as_of, pdf_path, kind, recipient */
	struct rowset items;      /* message, seq, dedupe_rcpt, template, kv */
	struct span *ispan;       /* per pending row */
	struct rowset rcpts;      /* message, email, name */
	struct span *rspan;       /* per recipient: its newest pending message's */
	struct rowset people;     /* id, name */
	struct ob_map names;      /* people id -> row (chunk << 32 | row) */
	const char *org_name;
	struct ob_db_rows *on;
	struct move *mv;
	size_t nmv;
};

/* The item rows and IT support's owners' names of the batch's pending
 * messages, and the recipients of each recipient's newest one. */
static int batch_read(struct dbatch *b, struct ob_err *err)
{
	static char *items_sql, *rcpts_sql, *people_sql;
	struct ob_db_param *v = ob_xcalloc(b->pend->nrows + b->nrc + 1, sizeof(*v));
	struct ob_map ids;
	size_t n = 0;
	int rc;

	if (items_sql == NULL) {
		items_sql = in_sql("SELECT message, seq, dedupe_rcpt, template, kv FROM outbox_items WHERE message IN",
				   " ORDER BY message, seq");
		rcpts_sql = in_sql("SELECT message, email, name FROM outbox_rcpts WHERE message IN", " ORDER BY message, seq");
		people_sql = in_sql("SELECT id, name FROM people WHERE id IN", "");
	}
	ob_map_init(&ids);
	for (size_t i = 0; i < b->pend->nrows; i++) {
		v[i] = ob_p_int(atoll(ob_db_cell(b->pend, i, 0)));
		ob_map_put(&ids, ob_db_cell(b->pend, i, 0), i);
	}
	b->ispan = ob_xcalloc(b->pend->nrows + 1, sizeof(*b->ispan));
	rc = query_in(b->db, items_sql, NULL, 0, v, b->pend->nrows, &b->items, err);
	if (rc == 0)
		spans_of(&b->items, &ids, b->ispan);
	ob_map_free(&ids);

	/* the newest pending message's recipients are the digest's */
	ob_map_init(&ids);
	for (size_t k = 0; k < b->nrc; k++)
		if (b->rc[k].npend) {
			size_t i = b->rc[k].pend[b->rc[k].npend - 1];
			v[n++] = ob_p_int(atoll(ob_db_cell(b->pend, i, 0)));
			ob_map_put(&ids, ob_db_cell(b->pend, i, 0), k);
		}
	b->rspan = ob_xcalloc(b->nrc + 1, sizeof(*b->rspan));
	if (rc == 0 && n)
		rc = query_in(b->db, rcpts_sql, NULL, 0, v, n, &b->rcpts, err);
	if (rc == 0)
		spans_of(&b->rcpts, &ids, b->rspan);
	ob_map_free(&ids);

	/* the owners in IT support's list of owners without an address */
	n = 0;
	for (size_t i = 0; rc == 0 && i < b->pend->nrows; i++) {
		const struct span *s = &b->ispan[i];
		if (strcmp(ob_db_cell(b->pend, i, 6), "no_email") != 0)
			continue;
		for (size_t k = 0; k < s->n; k++) {
			const char *rcpt = ob_db_cell(s->r, s->first + k, 2);
			if (strncmp(rcpt, "owner:", 6) == 0) {
				v = ob_xrealloc(v, (n + 1) * sizeof(*v) + sizeof(*v) * (b->pend->nrows + b->nrc + 1));
				v[n++] = ob_p_int(atoll(rcpt + 6));
			}
		}
	}
	ob_map_init(&b->names);
	if (rc == 0 && n)
		rc = query_in(b->db, people_sql, NULL, 0, v, n, &b->people, err);
	for (size_t c = 0; rc == 0 && c < b->people.n; c++)
		for (size_t i = 0; i < b->people.r[c]->nrows; i++)
			ob_map_put(&b->names, ob_db_cell(b->people.r[c], i, 0), ((uint64_t)c << 32) | i);
	free(v);
	if (rc == 0) {
		struct ob_db_param p[1] = {b->orgp};
		rc = ob_db_query(b->db, "SELECT name FROM organisations WHERE id <=> ?", p, 1, &b->on, err);
		b->org_name = rc == 0 && b->on->nrows ? ob_db_cell(b->on, 0, 0) : NULL;
	}
	return rc;
}

/* Renders a pending message's items into its report's part of the digest
 * and notes where they move: recipient k's digest from seq *seq on. */
static int digest_take(struct dbatch *b, struct digest *d, size_t k, size_t i, cJSON *sec, unsigned *seq,
		       struct ob_err *err)
{
	const struct span *s = &b->ispan[i];
	long long from = atoll(ob_db_cell(b->pend, i, 0));
	int noemail = cJSON_IsTrue(cJSON_GetObjectItem(sec, "no_email"));

	for (size_t j = 0; j < s->n; j++) {
		size_t row = s->first + j;
		cJSON *notice = cJSON_CreateObject(), *o = cJSON_CreateObject();
		cJSON *kv = cJSON_Parse(ob_db_cell(s->r, row, 4));
		struct item it = {.notice = notice};
		int ok;

		cJSON_AddStringToObject(notice, "template", ob_db_cell(s->r, row, 3));
		cJSON_AddItemToObject(notice, "kv", kv ? kv : cJSON_CreateObject());
		ok = render_item(&d->c, &it, o, err) == 0;
		if (ok && noemail) {
			/* IT support's list, by owner: the item is the owner's (owner:ID) */
			const char *rcpt = ob_db_cell(s->r, row, 2);
			char key[32];
			uint64_t at;
			const char *pname = NULL;
			char *name;
			it.owner = strncmp(rcpt, "owner:", 6) == 0 ? atoll(rcpt + 6) : 0;
			snprintf(key, sizeof(key), "%lld", it.owner);
			if (ob_map_get(&b->names, key, &at))
				pname = ob_db_cell(b->people.r[at >> 32], at & 0xffffffffu, 1);
			name = pname ? ob_xstrdup(pname) : ob_xasprintf("ukendt ejer (id %lld)", it.owner);
			it.owner_name = name;
			add_to_owner(cJSON_GetObjectItem(sec, "owners"), &it, o);
			free(name);
		}
		if (ok)
			cJSON_AddItemToArray(cJSON_GetObjectItem(sec, "items"), o);
		else
			cJSON_Delete(o);
		cJSON_Delete(notice);
		if (!ok)
			return -1;
		b->mv = ob_xrealloc(b->mv, (b->nmv + 1) * sizeof(*b->mv));
		b->mv[b->nmv++] = (struct move){k, from, atoll(ob_db_cell(s->r, row, 1)), (long long)++*seq};
		d->items++;
	}
	return 0;
}

/* The digest's subject and text (the whole message) for its recipients. */
static int digest_render(struct digest *d, const char *mid, const struct span *rs, const char *org_name,
			 const char *rcpt_name, const char *role, char **subject_out, char **mime_out,
			 struct ob_err *err)
{
	const struct ob_config *cfg = d->c.cfg;
	struct ob_buf subject, text, html, mime;
	cJSON *ctx = cJSON_CreateObject(), *r, *sec;
	char name[64], today[11], asof[11];
	struct ob_mime_addr from = {cfg->mail.from.name, cfg->mail.from.email};
	struct ob_mime_addr reply_to = {cfg->mail.reply_to.name, cfg->mail.reply_to.email};
	struct ob_mime_addr *to = ob_xcalloc(rs->n + 1, sizeof(*to));
	struct ob_mime_message m;
	time_t now = time(NULL);
	struct tm tm;
	int ok;

	localtime_r(&now, &tm);
	ob_date_format(ob_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday), today);
	ob_date_format_da(today, asof, sizeof(asof));
	cJSON_ArrayForEach(sec, d->reports)
	{
		int n = cJSON_GetArraySize(cJSON_GetObjectItem(sec, "items"));
		cJSON_AddNumberToObject(sec, "count", n);
		cJSON_AddBoolToObject(sec, "one", n == 1);
	}
	cJSON_AddStringToObject(ctx, "org", org_name ? org_name : "");
	cJSON_AddStringToObject(ctx, "as_of", asof);
	cJSON_AddNumberToObject(ctx, "count", d->items);
	cJSON_AddBoolToObject(ctx, "one", d->items == 1);
	cJSON_AddNumberToObject(ctx, "nreports", cJSON_GetArraySize(d->reports));
	cJSON_AddBoolToObject(ctx, "one_report", cJSON_GetArraySize(d->reports) == 1);
	cJSON_AddItemReferenceToObject(ctx, "reports", d->reports);
	r = cJSON_AddArrayToObject(ctx, "pdfs");
	for (size_t i = 0; i < d->natt; i++)
		cJSON_AddItemToArray(r, cJSON_CreateString(d->att[i].filename));
	r = cJSON_AddObjectToObject(ctx, "recipient");
	cJSON_AddStringToObject(r, "name", rcpt_name ? rcpt_name : "");
	if (role) {
		cJSON_AddStringToObject(r, "role", role);
		cJSON_AddStringToObject(r, "role_name", role_titles[ob_mail_role(role)]);
	}
	ob_buf_init(&subject, 4096);
	ob_buf_init(&text, 4 << 20);
	ob_buf_init(&html, 8 << 20);
	ob_buf_init(&mime, 0);
	snprintf(name, sizeof(name), "mail/digest_%s", d->kind);
	ok = ob_tpl_render_file(cfg->template_dir, name, "subject", ctx, OB_TPL_TEXT, &subject, err) == 0 &&
	     ob_tpl_render_file(cfg->template_dir, name, "txt", ctx, OB_TPL_TEXT, &text, err) == 0 &&
	     ob_tpl_render_file(cfg->template_dir, name, "html", ctx, OB_TPL_HTML, &html, err) == 0;
	if (ok) {
		char *subj = ob_trim(subject.data ? subject.data : (char *)"");
		for (size_t i = 0; i < rs->n; i++) {
			to[i].email = ob_db_cell(rs->r, rs->first + i, 1);
			to[i].name = ob_db_cell(rs->r, rs->first + i, 2);
		}
		memset(&m, 0, sizeof(m));
		m.from = from;
		m.to = to;
		m.nto = rs->n;
		m.reply_to = reply_to.email ? &reply_to : NULL;
		m.subject = subj;
		m.message_id = mid;
		m.date = now;
		m.text = text.data ? text.data : "";
		m.html = html.data;
		m.att = d->att;
		m.natt = d->natt;
		ok = ob_mime_build(&m, &mime, err) == 0;
		ob_utf8_fit(subj, 250);
		if (ok) {
			*subject_out = ob_xstrdup(subj);
			*mime_out = mime.data ? ob_buf_steal(&mime) : ob_xstrdup("");
		}
	}
	cJSON_Delete(ctx);
	free(to);
	ob_buf_free(&subject);
	ob_buf_free(&text);
	ob_buf_free(&html);
	ob_buf_free(&mime);
	return ok ? 0 : -1;
}

/* Recipient k's digest: its pending messages' items rendered, grouped by
 * report, with their PDFs. */
static int batch_render(struct dbatch *b, size_t k, struct ob_err *err)
{
	struct drcpt *r = &b->rc[k];
	struct digest d;
	unsigned seq = 0;
	size_t newest = r->pend[r->npend - 1];
	const char *role = strcmp(r->kind, "owner") == 0 ? NULL : r->recipient;
	const struct span *rs = &b->rspan[k];
	const char *rname;
	char rnd[13];
	int rc = 0;

	memset(&d, 0, sizeof(d));
	d.c.cfg = b->cfg;
	d.c.db = b->db;
	snprintf(d.c.domain, sizeof(d.c.domain), "%s", b->domain);
	d.kind = r->kind;
	d.reports = cJSON_CreateArray();
	r->newest_run = strtoull(ob_db_cell(b->pend, newest, 1), NULL, 10);
	ob_outbox_random_hex(rnd, 6);
	snprintf(r->mid, sizeof(r->mid), "overblik.%llu.digest.%s@%s", r->newest_run, rnd, b->domain);
	for (size_t j = 0; rc == 0 && j < r->npend; j++) {
		size_t i = r->pend[j];
		int noemail = strcmp(ob_db_cell(b->pend, i, 6), "no_email") == 0;
		cJSON *sec = digest_section(&d, ob_db_cell(b->pend, i, 2), ob_db_cell(b->pend, i, 3),
					    ob_db_cell(b->pend, i, 4), strtoull(ob_db_cell(b->pend, i, 1), NULL, 10),
					    noemail);
		rc = digest_take(b, &d, k, i, sec, &seq, err);
		if (rc == 0 && ob_db_cell(b->pend, i, 5))
			digest_attach(&d, ob_db_cell(b->pend, i, 5));
	}
	rname = role ? role_titles[ob_mail_role(role)] : rs->n ? ob_db_cell(rs->r, rs->first, 2) : NULL;
	if (rc == 0)
		rc = digest_render(&d, r->mid, rs, b->org_name, rname, role, &r->subject, &r->mime, err);
	r->items = d.items;
	cJSON_Delete(d.reports);
	for (size_t a = 0; a < d.natt; a++) {
		free((void *)d.att[a].filename);
		free((void *)d.att[a].data);
	}
	free(d.att);
	return rc;
}

/* Writes the digests of recipients [0, n): their rows, their items moved
 * into them, their recipients; the pending messages they took deleted. */
static int batch_write(struct dbatch *b, size_t n, struct ob_err *err)
{
	static char *ids_sql;
	struct ob_db_param *p = NULL, *v = ob_xcalloc(n + 1, sizeof(*v));
	struct ob_map mids;
	struct rowset got = {0};
	size_t rows = 0, nv = 0, at;
	int rc = 0;

	if (ids_sql == NULL)
		ids_sql = in_sql("SELECT id, message_id FROM outbox WHERE message_id IN", "");
	/* the digests' rows, complete: BULK_BYTES of text per statement */
	p = ob_xcalloc(10 * (n + 1), sizeof(*p));
	at = 0;
	for (size_t k = 0; rc == 0 && k <= n; k++) {
		const struct drcpt *r = k < n ? &b->rc[k] : NULL;
		if (r && r->npend == 0)
			continue;
		if (rows && (r == NULL || rows == BULK_ROWS || at + strlen(r->mime) > BULK_BYTES)) {
			rc = ob_db_exec_bulk(b->db,
					     "INSERT INTO outbox (run_id, org_id, recipient, kind, message_id, mail_from, "
					     "subject, mime, items, status, next_attempt_at, expires_at) VALUES "
					     "(?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', NOW(3), NOW(3) + INTERVAL ? SECOND)",
					     p, 10, rows, err);
			rows = 0;
			at = 0;
		}
		if (r == NULL)
			break;
		struct ob_db_param *q = p + 10 * rows++;
		q[0] = ob_p_int((long long)r->newest_run);
		q[1] = b->orgp;
		q[2] = ob_p_str(r->recipient);
		q[3] = ob_p_str(r->kind);
		q[4] = ob_p_str(r->mid);
		q[5] = ob_p_str(b->cfg->mail.from.email);
		q[6] = ob_p_str(r->subject);
		q[7] = ob_p_str(r->mime);
		q[8] = ob_p_int(r->items);
		q[9] = ob_p_int(b->cfg->mail.max_age);
		at += strlen(r->mime);
		v[nv++] = ob_p_str(r->mid);
	}
	free(p);
	p = NULL;
	/* their ids */
	ob_map_init(&mids);
	if (rc == 0 && nv)
		rc = query_in(b->db, ids_sql, NULL, 0, v, nv, &got, err);
	for (size_t c = 0; rc == 0 && c < got.n; c++)
		for (size_t i = 0; i < got.r[c]->nrows; i++)
			ob_map_put(&mids, ob_db_cell(got.r[c], i, 1), strtoull(ob_db_cell(got.r[c], i, 0), NULL, 10));
	for (size_t k = 0; rc == 0 && k < n; k++) {
		uint64_t id;
		if (b->rc[k].npend == 0)
			continue;
		if (!ob_map_get(&mids, b->rc[k].mid, &id)) {
			ob_err_set(err, "the digest's row (Message-ID %s) is not found after it was written", b->rc[k].mid);
			rc = -1;
		}
		b->rc[k].id = id;
	}
	ob_map_free(&mids);
	rowset_free(&got);
	free(v);
	/* the items move into their digests */
	rows = 0;
	p = ob_xcalloc(4 * (b->nmv + 1), sizeof(*p));
	for (size_t m = 0; rc == 0 && m < b->nmv; m++) {
		const struct move *mv = &b->mv[m];
		struct ob_db_param *q;
		if (mv->rc >= n)
			continue;
		q = p + 4 * rows++;
		q[0] = ob_p_int((long long)b->rc[mv->rc].id);
		q[1] = ob_p_int(mv->seq);
		q[2] = ob_p_int(mv->from);
		q[3] = ob_p_int(mv->from_seq);
	}
	if (rc == 0)
		rc = exec_bulk(b->db, "UPDATE outbox_items SET message = ?, seq = ? WHERE message = ? AND seq = ?", p, 4,
			       rows, err);
	free(p);
	/* their recipients */
	rows = 0;
	for (size_t k = 0; k < n; k++)
		rows += b->rc[k].npend ? b->rspan[k].n : 0;
	p = ob_xcalloc(4 * (rows + 1), sizeof(*p));
	rows = 0;
	for (size_t k = 0; rc == 0 && k < n; k++) {
		const struct span *s = &b->rspan[k];
		for (size_t i = 0; b->rc[k].npend && i < s->n; i++) {
			struct ob_db_param *q = p + 4 * rows++;
			q[0] = ob_p_int((long long)b->rc[k].id);
			q[1] = ob_p_int((long long)i + 1);
			q[2] = ob_p_str(ob_db_cell(s->r, s->first + i, 1));
			q[3] = ob_p_str(ob_db_cell(s->r, s->first + i, 2));
		}
	}
	if (rc == 0)
		rc = exec_bulk(b->db, "INSERT INTO outbox_rcpts (message, seq, email, name) VALUES (?, ?, ?, ?)", p, 4, rows,
			       err);
	free(p);
	/* the pending messages they took (their recipients go with them) */
	rows = 0;
	p = ob_xcalloc(b->pend->nrows + 1, sizeof(*p));
	for (size_t k = 0; rc == 0 && k < n; k++)
		for (size_t j = 0; j < b->rc[k].npend; j++)
			p[rows++] = ob_p_int(atoll(ob_db_cell(b->pend, b->rc[k].pend[j], 0)));
	if (rc == 0)
		rc = exec_bulk(b->db, "DELETE FROM outbox WHERE id = ?", p, 1, rows, err);
	free(p);
	return rc;
}

/* Up to DIGEST_BATCH recipients (g's rows which[0..n), one organisation)
 * in one transaction. A recipient whose digest fails to render ends the
 * batch: the digests before it are written, it and those after it are
 * not (and -1 names it); a database error rolls the whole batch back. */
static int digest_batch(const struct ob_config *cfg, struct ob_db *db, const char *domain,
			const struct ob_db_rows *g, const size_t *which, size_t n, struct ob_outbox_digested *out,
			struct ob_err *err)
{
	static char *pend_sql;
	struct dbatch b;
	struct ob_db_param *p = ob_xcalloc(n + 2, sizeof(*p));
	struct ob_map byname;
	size_t failed = n, done = 0;
	int named = 0;
	unsigned npend = 0, nitems = 0;
	int rc;

	if (pend_sql == NULL)
		pend_sql = in_sql("SELECT o.id, o.run_id, r.report, o.subject, DATE_FORMAT(r.as_of, '%Y-%m-%d'), "
				  "o.pdf_path, o.kind, o.recipient "
				  "FROM outbox o JOIN runs r ON r.id = o.run_id "
				  "WHERE o.status = 'pending' AND o.org_id <=> ? AND o.recipient IN",
				  " ORDER BY o.id FOR UPDATE");
	memset(&b, 0, sizeof(b));
	b.cfg = cfg;
	b.db = db;
	b.domain = domain;
	b.org = ob_db_cell(g, which[0], 0);
	b.orgp = b.org ? ob_p_int(atoll(b.org)) : ob_p_null();
	b.rc = ob_xcalloc(n + 1, sizeof(*b.rc));
	b.nrc = n;
	ob_map_init(&byname);
	for (size_t k = 0; k < n; k++) {
		b.rc[k].recipient = ob_db_cell(g, which[k], 1);
		/* IT support's own items and its list of owners without an
		 * address are one message (kind role). */
		b.rc[k].kind = strncmp(b.rc[k].recipient, "owner:", 6) == 0 ? "owner" : "role";
		ob_map_put(&byname, b.rc[k].recipient, k);
		p[k] = ob_p_str(b.rc[k].recipient);
	}
	if ((rc = ob_db_begin(db, err)) < 0) {
		err_prefix(err, "mail digest%s%s", b.org ? " of organisation " : "", b.org ? b.org : "");
		goto out;
	}
	{
		struct rowset s = {0};
		rc = query_in(db, pend_sql, &b.orgp, 1, p, n, &s, err);
		if (rc == 0) {
			b.pend = s.r[0]; /* n <= IN_LIST: one chunk */
			free(s.r);
		} else
			rowset_free(&s);
	}
	/* each recipient's pending messages, oldest first; another digest may
	 * have taken some recipients' (they have none) */
	for (size_t i = 0; rc == 0 && i < b.pend->nrows; i++) {
		uint64_t k;
		if (!ob_map_get(&byname, ob_db_cell(b.pend, i, 7), &k)) {
			/* the column's collation matched what strcmp does not */
			for (k = 0; k < n && strcasecmp(b.rc[k].recipient, ob_db_cell(b.pend, i, 7)) != 0; k++)
				;
			if (k == n)
				continue;
		}
		b.rc[k].pend = ob_xrealloc(b.rc[k].pend, (b.rc[k].npend + 1) * sizeof(size_t));
		b.rc[k].pend[b.rc[k].npend++] = i;
	}
	if (rc == 0 && b.pend->nrows == 0) {
		ob_db_rollback(db);
		goto out;
	}
	if (rc == 0)
		rc = batch_read(&b, err);
	for (size_t k = 0; rc == 0 && k < n; k++)
		if (b.rc[k].npend && batch_render(&b, k, err) < 0) {
			failed = k;
			break;
		}
	if (rc == 0) {
		struct ob_err werr = {{0}};
		for (size_t k = 0; k < failed; k++)
			if (b.rc[k].npend) {
				done++;
				npend += (unsigned)b.rc[k].npend;
				nitems += b.rc[k].items;
			}
		if (done == 0)
			ob_db_rollback(db);
		else if (batch_write(&b, failed, &werr) < 0 || ob_db_commit(db, &werr) < 0) {
			/* the whole batch is rolled back: the write's error wins */
			ob_db_rollback(db);
			ob_err_clear(err);
			ob_err_setc(err, werr.code, werr.sqlerrno, "%s", werr.msg);
			done = 0;
			rc = -1;
		}
		if (rc == 0 && failed < n) {
			rc = -1;
			err_prefix(err, "mail digest to %s (%s%s%s)", b.rc[failed].recipient, b.rc[failed].kind,
				   b.org ? ", organisation " : "", b.org ? b.org : "");
			named = 1;
		}
	} else
		ob_db_rollback(db);
	if (rc < 0 && !named)
		err_prefix(err, "mail digest of %zu recipient%s (%s%s%s%s%s)", n, n == 1 ? "" : "s", b.rc[0].recipient,
			   n > 1 ? " ... " : "", n > 1 ? b.rc[n - 1].recipient : "", b.org ? ", organisation " : "",
			   b.org ? b.org : "");
	out->messages += (unsigned)done;
	out->pending += npend * (done > 0);
	out->items += nitems * (done > 0);
out:
	ob_map_free(&byname);
	ob_map_free(&b.names);
	for (size_t k = 0; k < n; k++) {
		free(b.rc[k].pend);
		free(b.rc[k].subject);
		free(b.rc[k].mime);
	}
	free(b.rc);
	free(b.ispan);
	free(b.rspan);
	free(b.mv);
	rowset_free(&b.items);
	rowset_free(&b.rcpts);
	rowset_free(&b.people);
	ob_db_rows_free(b.pend);
	ob_db_rows_free(b.on);
	free(p);
	return rc;
}

int ob_outbox_digest(const struct ob_config *cfg, struct ob_db *db, struct ob_outbox_digested *out,
		     struct ob_err *err)
{
	struct ob_db_rows *g = NULL;
	const char *dom = cfg->mail.message_id_domain;
	char domain[191];
	size_t *which, *order;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (dom == NULL)
		dom = strchr(cfg->mail.from.email, '@') ? strchr(cfg->mail.from.email, '@') + 1 : "localhost";
	snprintf(domain, sizeof(domain), "%s", dom);
	if (ob_db_query(db,
			"SELECT org_id, recipient FROM outbox WHERE status = 'pending' "
			"GROUP BY org_id, recipient ORDER BY MIN(id)",
			NULL, 0, &g, err) < 0)
		return -1;
	/* Batches of one organisation's recipients, in the order their first
	 * pending message was written. */
	which = ob_xcalloc(DIGEST_BATCH + 1, sizeof(*which));
	order = ob_xcalloc(g->nrows + 1, sizeof(*order));
	{
		/* rows grouped by organisation, each group in g's order */
		struct ob_map orgs;
		size_t *first = ob_xcalloc(g->nrows + 1, sizeof(*first)), *next = ob_xcalloc(g->nrows + 1, sizeof(*next));
		size_t *last = ob_xcalloc(g->nrows + 1, sizeof(*last)), norg = 0, o = 0;
		ob_map_init(&orgs);
		for (size_t i = 0; i < g->nrows; i++) {
			const char *org = ob_db_cell(g, i, 0);
			uint64_t k;
			if (!ob_map_get(&orgs, org ? org : "", &k)) {
				k = norg++;
				ob_map_put(&orgs, org ? org : "", k);
				first[k] = i;
			} else
				next[last[k]] = i + 1;
			last[k] = i;
			next[i] = 0;
		}
		for (size_t k = 0; k < norg; k++)
			for (size_t i = first[k] + 1; i; i = next[i - 1])
				order[o++] = i - 1;
		ob_map_free(&orgs);
		free(first);
		free(next);
		free(last);
	}
	for (size_t at = 0; rc == 0 && at < g->nrows;) {
		size_t n = 0;
		const char *org = ob_db_cell(g, order[at], 0);
		while (at < g->nrows && n < DIGEST_BATCH) {
			const char *o2 = ob_db_cell(g, order[at], 0);
			if ((org == NULL) != (o2 == NULL) || (org && strcmp(org, o2) != 0))
				break;
			which[n++] = order[at++];
		}
		rc = digest_batch(cfg, db, domain, g, which, n, out, err);
	}
	free(which);
	free(order);
	ob_db_rows_free(g);
	if (out->messages)
		ob_info("mail digest: %u message%s with %u item%s from %u pending", out->messages,
			out->messages == 1 ? "" : "s", out->items, out->items == 1 ? "" : "s", out->pending);
	return rc;
}
