/* outbox_compose.c - a run's notices become one digest per recipient,
 * rendered from the templates and written into the outbox in the run's
 * own transaction, each item claimed for its recipient once, ever. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* One message: claims the items' keys, renders, builds and stores it. */
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
	for (size_t i = 0; i < dr->nitems; i++) {
		if (claim_item(c, dr, i, &dr->kept[i], err) < 0)
			return -1;
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
	if (dr->with_pdf) {
		int wants = 0;
		for (size_t i = 0; i < dr->nitems; i++)
			wants |= dr->kept[i] && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dr->items[i].notice, "no_pdf"));
		dr->with_pdf = wants;
	}
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
	for (size_t i = 0; r == 0 && i < dr->nrcpt; i++) {
		struct ob_db_param p[4] = {ob_p_int((long long)dr->id), ob_p_int((long long)i + 1),
					   ob_p_str(dr->rcpts[i].email), ob_p_str(dr->rcpts[i].name)};
		r = ob_db_exec(c->db, "INSERT INTO outbox_rcpts (message, seq, email, name) VALUES (?, ?, ?, ?)", p, 4, NULL,
			       err);
	}
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

/* With mail.digest_at: the message waits, pending, its items claimed, for
 * the digest (ob_outbox_digest); its subject is the report's title, its
 * pdf_path the PDF the digest attaches. */
static int draft_pending(struct compose *c, struct draft *dr, struct ob_err *err)
{
	const struct ob_outbox_run *run = c->run;
	char *title = ob_xstrdup(run->report_title ? run->report_title : run->report);
	int r;

	ob_utf8_fit(title, 250);
	{
		struct ob_db_param p[4] = {ob_p_str(title), ob_p_int((long long)dr->nkept),
					   dr->with_pdf ? ob_p_str(run->pdf_path) : ob_p_null(), ob_p_int((long long)dr->id)};
		r = ob_db_exec(c->db, "UPDATE outbox SET subject = ?, items = ?, pdf_path = ?, status = 'pending' WHERE id = ?",
			       p, 4, NULL, err);
	}
	free(title);
	for (size_t i = 0; r == 0 && i < dr->nrcpt; i++) {
		struct ob_db_param p[4] = {ob_p_int((long long)dr->id), ob_p_int((long long)i + 1),
					   ob_p_str(dr->rcpts[i].email), ob_p_str(dr->rcpts[i].name)};
		r = ob_db_exec(c->db, "INSERT INTO outbox_rcpts (message, seq, email, name) VALUES (?, ?, ?, ?)", p, 4, NULL,
			       err);
	}
	if (r == 0) {
		c->out->messages++;
		c->out->items += (unsigned)dr->nkept;
	}
	return r;
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
	rc = draft_insert(c, &dr, err);
	if (rc == 0)
		rc = draft_claim(c, &dr, err);
	if (rc == 0 && dr.nkept > 0 && c->cfg->mail.digest_at && !c->run->dry_run && nrcpt > 0)
		rc = draft_pending(c, &dr, err);
	else if (rc == 0 && dr.nkept > 0)
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
	struct ob_db_rows *p = NULL;
	struct ob_db_param q[2] = {ob_p_int(owner), ob_p_int(c->run->org_id)};
	int r = ob_db_query(c->db, "SELECT name, email FROM people WHERE id = ? AND org_id <=> NULLIF(?, 0)", q, 2, &p,
			    err);

	if (r == 0) {
		const char *name = p->nrows ? ob_db_cell(p, 0, 0) : NULL;
		const char *email = p->nrows ? ob_db_cell(p, 0, 1) : NULL;
		if (email && ob_mime_addr_valid(email)) {
			struct rcpt one = {name, email};
			r = compose_one(c, "owner", rcpt, &one, 1, name, NULL, gi, ng, err);
		} else
			to_it_support(c, g, owner, name, email, gi, ng);
	}
	ob_db_rows_free(p);
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

int ob_outbox_compose(const struct ob_config *cfg, struct ob_db *db, const struct ob_outbox_run *run,
		      struct ob_outbox_composed *out, struct ob_err *err)
{
	struct compose c;
	struct groups g;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	memset(&g, 0, sizeof(g));
	if (cJSON_GetArraySize(run->notices) == 0)
		return 0;
	c.cfg = cfg;
	c.db = db;
	c.run = run;
	c.out = out;
	if (compose_init(&c, err) < 0)
		return -1;
	groups_make(run->notices, &g);
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
	rc = 0;
out:
	groups_free(&g);
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

/* Moves a pending message's items into the digest (message id) from seq
 * *seq on, and renders them into their report's part. */
static int digest_take(struct digest *d, unsigned long long id, unsigned long long from, cJSON *sec, unsigned *seq,
		       struct ob_err *err)
{
	struct ob_db_rows *r = NULL;
	struct ob_db_param p[1] = {ob_p_int((long long)from)};
	int rc = -1;

	if (ob_db_query(d->c.db, "SELECT seq, dedupe_rcpt, template, kv FROM outbox_items WHERE message = ? ORDER BY seq",
			p, 1, &r, err) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows; i++) {
		cJSON *notice = cJSON_CreateObject(), *o = cJSON_CreateObject();
		cJSON *kv = cJSON_Parse(ob_db_cell(r, i, 3));
		struct item it = {.notice = notice};
		struct ob_db_param q[4] = {ob_p_int((long long)id), ob_p_int((long long)++*seq), ob_p_int((long long)from),
					   ob_p_int(atoll(ob_db_cell(r, i, 0)))};
		int ok;

		cJSON_AddStringToObject(notice, "template", ob_db_cell(r, i, 2));
		cJSON_AddItemToObject(notice, "kv", kv ? kv : cJSON_CreateObject());
		ok = ob_db_exec(d->c.db, "UPDATE outbox_items SET message = ?, seq = ? WHERE message = ? AND seq = ?", q,
				4, NULL, err) == 0 &&
		     render_item(&d->c, &it, o, err) == 0;
		if (ok && cJSON_IsTrue(cJSON_GetObjectItem(sec, "no_email"))) {
			/* IT support's list, by owner: the item is the owner's (owner:ID) */
			const char *rcpt = ob_db_cell(r, i, 1);
			struct ob_db_rows *pr = NULL;
			it.owner = strncmp(rcpt, "owner:", 6) == 0 ? atoll(rcpt + 6) : 0;
			struct ob_db_param pq[1] = {ob_p_int(it.owner)};
			ok = ob_db_query(d->c.db, "SELECT name FROM people WHERE id = ?", pq, 1, &pr, err) == 0;
			char *name = ok && pr->nrows && ob_db_cell(pr, 0, 0) ? ob_xstrdup(ob_db_cell(pr, 0, 0))
									     : ob_xasprintf("ukendt ejer (id %lld)", it.owner);
			it.owner_name = name;
			if (ok)
				add_to_owner(cJSON_GetObjectItem(sec, "owners"), &it, o);
			free(name);
			ob_db_rows_free(pr);
		}
		if (ok)
			cJSON_AddItemToArray(cJSON_GetObjectItem(sec, "items"), o);
		else
			cJSON_Delete(o);
		cJSON_Delete(notice);
		if (!ok)
			goto out;
		d->items++;
	}
	rc = 0;
out:
	ob_db_rows_free(r);
	return rc;
}

/* The digest's text, built and stored into message id, queued. */
static int digest_store(struct digest *d, unsigned long long id, const char *mid, const struct ob_db_rows *rc,
			const char *org_name, const char *rcpt_name, const char *role, struct ob_err *err)
{
	const struct ob_config *cfg = d->c.cfg;
	struct ob_buf subject, text, html, mime;
	cJSON *ctx = cJSON_CreateObject(), *r, *sec;
	char name[64], today[11], asof[11];
	struct ob_mime_addr from = {cfg->mail.from.name, cfg->mail.from.email};
	struct ob_mime_addr reply_to = {cfg->mail.reply_to.name, cfg->mail.reply_to.email};
	struct ob_mime_addr *to = ob_xcalloc(rc->nrows + 1, sizeof(*to));
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
		for (size_t i = 0; i < rc->nrows; i++) {
			to[i].email = ob_db_cell(rc, i, 0);
			to[i].name = ob_db_cell(rc, i, 1);
		}
		memset(&m, 0, sizeof(m));
		m.from = from;
		m.to = to;
		m.nto = rc->nrows;
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
			struct ob_db_param p[5] = {ob_p_str(subj), ob_p_str(mime.data), ob_p_int(d->items),
						   ob_p_int(cfg->mail.max_age), ob_p_int((long long)id)};
			ok = ob_db_exec(d->c.db,
					"UPDATE outbox SET subject = ?, mime = ?, items = ?, status = 'queued', "
					"next_attempt_at = NOW(3), expires_at = NOW(3) + INTERVAL ? SECOND WHERE id = ?",
					p, 5, NULL, err) == 0;
		}
	}
	for (size_t i = 0; ok && i < rc->nrows; i++) {
		struct ob_db_param p[4] = {ob_p_int((long long)id), ob_p_int((long long)i + 1),
					   ob_p_str(ob_db_cell(rc, i, 0)), ob_p_str(ob_db_cell(rc, i, 1))};
		ok = ob_db_exec(d->c.db, "INSERT INTO outbox_rcpts (message, seq, email, name) VALUES (?, ?, ?, ?)", p, 4,
				NULL, err) == 0;
	}
	cJSON_Delete(ctx);
	free(to);
	ob_buf_free(&subject);
	ob_buf_free(&text);
	ob_buf_free(&html);
	ob_buf_free(&mime);
	return ok ? 0 : -1;
}

/* One recipient's digest, in one transaction. */
static int digest_one(struct digest *d, const char *org, const char *recipient, struct ob_outbox_digested *out,
		      struct ob_err *err)
{
	struct ob_db *db = d->c.db;
	struct ob_db_rows *pend = NULL, *rc = NULL, *on = NULL;
	struct ob_db_param p[2] = {org ? ob_p_int(atoll(org)) : ob_p_null(), ob_p_str(recipient)};
	unsigned long long id = 0, newest_run = 0, newest = 0;
	unsigned seq = 0;
	char mid[400], rnd[13];
	int ok;

	if (ob_db_begin(db, err) < 0)
		return -1;
	ok = ob_db_query(db,
			 "SELECT o.id, o.run_id, r.report, o.subject, DATE_FORMAT(r.as_of, '%Y-%m-%d'), o.pdf_path, o.kind "
			 "FROM outbox o JOIN runs r ON r.id = o.run_id "
			 "WHERE o.status = 'pending' AND o.org_id <=> ? AND o.recipient = ? "
			 "ORDER BY o.id FOR UPDATE",
			 p, 2, &pend, err) == 0;
	if (ok && pend->nrows == 0) { /* another digest took them */
		ob_db_rows_free(pend);
		ob_db_rollback(db);
		return 0;
	}
	if (ok) {
		newest = strtoull(ob_db_cell(pend, pend->nrows - 1, 0), NULL, 10);
		newest_run = strtoull(ob_db_cell(pend, pend->nrows - 1, 1), NULL, 10);
		struct ob_db_param q[1] = {ob_p_int((long long)newest)};
		ok = ob_db_query(db, "SELECT email, name FROM outbox_rcpts WHERE message = ? ORDER BY seq", q, 1, &rc,
				 err) == 0 &&
		     ob_db_query(db, "SELECT name FROM organisations WHERE id <=> ?", p, 1, &on, err) == 0;
	}
	if (ok) {
		struct ob_db_param q[6] = {ob_p_int((long long)newest_run), p[0], ob_p_str(recipient), ob_p_str(d->kind),
					   ob_p_str(mid), ob_p_str(d->c.cfg->mail.from.email)};
		ob_outbox_random_hex(rnd, 6);
		snprintf(mid, sizeof(mid), "overblik.%llu.digest.%s@%s", newest_run, rnd, d->c.domain);
		ok = ob_db_exec(db,
				"INSERT INTO outbox (run_id, org_id, recipient, kind, message_id, mail_from, mime, status) "
				"VALUES (?, ?, ?, ?, ?, ?, '', 'queued')",
				q, 6, NULL, err) == 0;
		id = ob_db_insert_id(db);
	}
	for (size_t i = 0; ok && i < pend->nrows; i++) {
		unsigned long long from = strtoull(ob_db_cell(pend, i, 0), NULL, 10);
		int noemail = strcmp(ob_db_cell(pend, i, 6), "no_email") == 0;
		cJSON *sec = digest_section(d, ob_db_cell(pend, i, 2), ob_db_cell(pend, i, 3), ob_db_cell(pend, i, 4),
					    strtoull(ob_db_cell(pend, i, 1), NULL, 10), noemail);
		struct ob_db_param q[1] = {ob_p_int((long long)from)};
		ok = digest_take(d, id, from, sec, &seq, err) == 0 &&
		     ob_db_exec(db, "DELETE FROM outbox WHERE id = ?", q, 1, NULL, err) == 0;
		if (ok && ob_db_cell(pend, i, 5))
			digest_attach(d, ob_db_cell(pend, i, 5));
	}
	if (ok) {
		const char *role = strcmp(d->kind, "owner") == 0 ? NULL : recipient;
		const char *rname = role ? role_titles[ob_mail_role(role)] : rc->nrows ? ob_db_cell(rc, 0, 1) : NULL;
		ok = digest_store(d, id, mid, rc, on->nrows ? ob_db_cell(on, 0, 0) : NULL, rname, role, err) == 0 &&
		     ob_db_commit(db, err) == 0;
	}
	if (!ok) {
		ob_db_rollback(db);
		ob_err_set(err, "mail digest to %s (%s%s%s): %s", recipient, d->kind, org ? ", organisation " : "",
			   org ? org : "", err->msg);
	} else {
		out->messages++;
		out->pending += (unsigned)pend->nrows;
		out->items += d->items;
	}
	ob_db_rows_free(pend);
	ob_db_rows_free(rc);
	ob_db_rows_free(on);
	return ok ? 0 : -1;
}

int ob_outbox_digest(const struct ob_config *cfg, struct ob_db *db, struct ob_outbox_digested *out,
		     struct ob_err *err)
{
	struct ob_db_rows *g = NULL;
	const char *dom = cfg->mail.message_id_domain;
	char domain[191];
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
	for (size_t i = 0; rc == 0 && i < g->nrows; i++) {
		struct digest d;
		memset(&d, 0, sizeof(d));
		d.c.cfg = cfg;
		d.c.db = db;
		memcpy(d.c.domain, domain, sizeof(domain));
		/* IT support's own items and its list of owners without an
		 * address are one message (kind role). */
		d.kind = strncmp(ob_db_cell(g, i, 1), "owner:", 6) == 0 ? "owner" : "role";
		d.reports = cJSON_CreateArray();
		rc = digest_one(&d, ob_db_cell(g, i, 0), ob_db_cell(g, i, 1), out, err);
		cJSON_Delete(d.reports);
		for (size_t k = 0; k < d.natt; k++) {
			free((void *)d.att[k].filename);
			free((void *)d.att[k].data);
		}
		free(d.att);
	}
	ob_db_rows_free(g);
	if (out->messages)
		ob_info("mail digest: %u message%s with %u item%s from %u pending", out->messages,
			out->messages == 1 ? "" : "s", out->items, out->items == 1 ? "" : "s", out->pending);
	return rc;
}
