/* outbox.c - the durable outbox: composing a run's digests in the run's
 * transaction, and delivering them by SMTP (mail_smtp.c) or as .eml files
 * in a maildir, with retries, backoff and every reply recorded. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "mail_smtp.h"
#include "map.h"
#include "mime.h"
#include "outbox.h"
#include "template.h"

const char *const ob_outbox_status_names[OB_OUTBOX_NSTATUS] = {"queued", "sending", "sent", "dead", "dry_run"};

/* Danish names of the roles, for salutations and the data-quality mail. */
static const char *const role_titles[OB_MAIL_NROLES] = {
	"Administrations- og Servicechefgruppen (ASG)",
	"Direktionen",
	"I-sikkerhedskoordinatoren",
	"Indkøb og Udbud",
	"Innovation og Digitalisering (IOD)",
	"IT-støttefunktionen",
};

/* ---- composing ---- */

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

/* n random bytes as 2n hex digits into out (2n + 1 bytes). */
static void random_hex(char *out, size_t n)
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
	random_hex(rnd, 6);
	snprintf(out, n, "overblik.%llu.%u.%s@%s", c->run->run_id, ++c->seq, rnd, c->domain);
}

/* One message: claims the items' keys, renders, builds and stores it. */
static int compose_one(struct compose *c, const char *kind, const char *recipient, const struct rcpt *rcpts,
		       size_t nrcpt, const char *rcpt_name, const char *role, struct item *items, size_t nitems,
		       struct ob_err *err)
{
	const struct ob_outbox_run *run = c->run;
	char mid[400], asof[11];
	unsigned long long id, affected;
	int *kept = ob_xcalloc(nitems + 1, sizeof(int)), rc = -1;
	size_t nkept = 0;
	cJSON *ctx = NULL, *list, *owners = NULL;
	struct ob_buf subject, text, html, mime;
	struct ob_mime_addr *to = NULL;
	char *subj = NULL;
	const char *last_reply = NULL;
	const char *status;
	/* The roles' briefings carry the run's PDF; an owner's digest (and IT
	 * support's list of owners without an address) its items, unless
	 * mail.attach_pdf is "all". */
	int with_pdf = c->pdf && (c->cfg->mail.attach_pdf == OB_ATTACH_PDF_ALL ||
				  (c->cfg->mail.attach_pdf == OB_ATTACH_PDF_ROLES && strcmp(kind, "role") == 0));

	ob_buf_init(&subject, 4096);
	ob_buf_init(&text, 4 << 20);
	ob_buf_init(&html, 8 << 20);
	ob_buf_init(&mime, 0);
	message_id(c, mid, sizeof(mid));
	{
		struct ob_db_param p[6] = {ob_p_int((long long)run->run_id), run->org_id ? ob_p_int(run->org_id) : ob_p_null(),
					   ob_p_str(recipient), ob_p_str(kind), ob_p_str(mid),
					   ob_p_str(c->cfg->mail.from.email)};
		if (ob_db_exec(c->db,
			       "INSERT INTO outbox (run_id, org_id, recipient, kind, message_id, mail_from, mime, status) "
			       "VALUES (?, ?, ?, ?, ?, ?, '', 'queued')",
			       p, 6, NULL, err) < 0)
			goto out;
		id = ob_db_insert_id(c->db);
	}
	for (size_t i = 0; i < nitems; i++) {
		char *kv = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(items[i].notice, "kv"));
		struct ob_db_param p[8] = {ob_p_int((long long)id),
					   ob_p_int((long long)i + 1),
					   ob_p_int(run->org_id),
					   ob_p_str(items[i].rcpt),
					   ob_p_str(items[i].key),
					   run->dry_run ? ob_p_null() : ob_p_str(items[i].key),
					   ob_p_str(nstr(items[i].notice, "template")),
					   ob_p_str(kv ? kv : "{}")};
		int r;
		affected = 0;
		if (run->dry_run) {
			/* A dry run shows what would go out: not what went out before. */
			struct ob_db_rows *rows = NULL;
			struct ob_db_param q[3] = {ob_p_int(run->org_id), ob_p_str(items[i].rcpt), ob_p_str(items[i].key)};
			r = ob_db_query(c->db,
					"SELECT 1 FROM outbox_items WHERE org_id = ? AND dedupe_rcpt = ? AND live_key = ? LIMIT 1",
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
		if (r < 0)
			goto out;
		kept[i] = affected == 1;
		nkept += (size_t)kept[i];
		if (!kept[i])
			c->out->skipped++;
	}
	if (nkept == 0) {
		struct ob_db_param p[1] = {ob_p_int((long long)id)};
		rc = ob_db_exec(c->db, "DELETE FROM outbox WHERE id = ?", p, 1, NULL, err);
		goto out;
	}

	/* A message whose every item asks for no PDF (OB_NOTICE_NO_PDF: a
	 * summary that stands alone) carries none. */
	if (with_pdf) {
		int wants = 0;
		for (size_t i = 0; i < nitems; i++)
			wants |= kept[i] && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(items[i].notice, "no_pdf"));
		with_pdf = wants;
	}

	/* What the templates see. */
	ob_date_format_da(run->as_of, asof, sizeof(asof));
	ctx = cJSON_CreateObject();
	cJSON_AddStringToObject(ctx, "org", run->org_name ? run->org_name : "");
	cJSON_AddStringToObject(ctx, "report", run->report);
	cJSON_AddStringToObject(ctx, "report_title", run->report_title ? run->report_title : run->report);
	cJSON_AddStringToObject(ctx, "as_of", asof);
	cJSON_AddNumberToObject(ctx, "run_id", (double)run->run_id);
	cJSON_AddNumberToObject(ctx, "count", (double)nkept);
	cJSON_AddBoolToObject(ctx, "one", nkept == 1);
	if (with_pdf && c->pdf_name)
		cJSON_AddStringToObject(ctx, "pdf", c->pdf_name);
	{
		cJSON *r = cJSON_AddObjectToObject(ctx, "recipient");
		cJSON_AddStringToObject(r, "name", rcpt_name ? rcpt_name : "");
		if (role) {
			cJSON_AddStringToObject(r, "role", role);
			cJSON_AddStringToObject(r, "role_name", role_titles[ob_mail_role(role)]);
		}
	}
	list = cJSON_AddArrayToObject(ctx, "items");
	if (strcmp(kind, "no_email") == 0)
		owners = cJSON_AddArrayToObject(ctx, "owners");
	for (size_t i = 0; i < nitems; i++) {
		cJSON *o;
		if (!kept[i])
			continue;
		o = cJSON_CreateObject();
		if (render_item(c, &items[i], o, err) < 0) {
			cJSON_Delete(o);
			goto out;
		}
		if (owners) {
			/* Grouped by owner, in the order met. */
			cJSON *ow = NULL, *e;
			cJSON_ArrayForEach(e, owners)
			if ((long long)cJSON_GetObjectItem(e, "id")->valuedouble == items[i].owner)
				ow = e;
			if (ow == NULL) {
				ow = cJSON_CreateObject();
				cJSON_AddNumberToObject(ow, "id", (double)items[i].owner);
				cJSON_AddStringToObject(ow, "name", items[i].owner_name ? items[i].owner_name : "");
				cJSON_AddArrayToObject(ow, "items");
				cJSON_AddItemToArray(owners, ow);
			}
			cJSON_AddItemToArray(cJSON_GetObjectItem(ow, "items"), cJSON_Duplicate(o, 1));
		}
		cJSON_AddItemToArray(list, o);
	}
	if (render_kind(c, kind, "subject", ctx, OB_TPL_TEXT, &subject, err) < 0 ||
	    render_kind(c, kind, "txt", ctx, OB_TPL_TEXT, &text, err) < 0 ||
	    render_kind(c, kind, "html", ctx, OB_TPL_HTML, &html, err) < 0)
		goto out;
	subj = ob_trim(subject.data ? subject.data : (char *)"");

	/* The message. */
	{
		struct ob_mime_addr from = {c->cfg->mail.from.name, c->cfg->mail.from.email};
		struct ob_mime_addr reply_to = {c->cfg->mail.reply_to.name, c->cfg->mail.reply_to.email};
		struct ob_mime_attachment att = {c->pdf_name, "application/pdf", c->pdf, c->pdf_len};
		struct ob_mime_message m;
		size_t nto = nrcpt;

		to = ob_xcalloc(nrcpt + 1, sizeof(*to));
		for (size_t i = 0; i < nrcpt; i++) {
			to[i].name = rcpts[i].name;
			to[i].email = rcpts[i].email;
		}
		if (nrcpt == 0) { /* nobody to send it to: kept, dead, for the record */
			to[0] = from;
			nto = 1;
		}
		memset(&m, 0, sizeof(m));
		m.from = from;
		m.to = to;
		m.nto = nto;
		m.reply_to = reply_to.email ? &reply_to : NULL;
		m.subject = subj;
		m.message_id = mid;
		m.date = time(NULL);
		m.text = text.data ? text.data : "";
		m.html = html.data;
		m.att = with_pdf ? &att : NULL;
		m.natt = with_pdf ? 1 : 0;
		if (ob_mime_build(&m, &mime, err) < 0)
			goto out;
	}
	if (run->dry_run)
		status = "dry_run";
	else if (nrcpt == 0) {
		status = "dead";
		last_reply = "no address";
	} else
		status = "queued";
	{
		/* The column keeps the first 250 characters (the message has all). */
		size_t cut = 0, chars = 0;
		while (subj[cut] && chars < 250) {
			cut++;
			while ((subj[cut] & 0xC0) == 0x80)
				cut++;
			chars++;
		}
		subj[cut] = '\0';
	}
	{
		char *reply = last_reply && role ? ob_xasprintf("no address: /mail/roles/%s in the configuration is empty", role)
			      : last_reply ? ob_xstrdup(last_reply)
					   : NULL;
		struct ob_db_param p[7] = {ob_p_str(subj),
					   ob_p_str(mime.data),
					   ob_p_int((long long)nkept),
					   ob_p_str(status),
					   ob_p_int(c->cfg->mail.max_age),
					   ob_p_str(reply),
					   ob_p_int((long long)id)};
		int r = ob_db_exec(c->db,
				   "UPDATE outbox SET subject = ?, mime = ?, items = ?, status = ?, next_attempt_at = NOW(3), "
				   "expires_at = NOW(3) + INTERVAL ? SECOND, last_reply = ? WHERE id = ?",
				   p, 7, NULL, err);
		if (r == 0 && nrcpt == 0 && !run->dry_run) {
			ob_log(OB_LOG_WARNING, "run %llu: mail to %s: %s: the message is kept as dead (outbox %llu)",
			       run->run_id, recipient, reply, id);
			struct ob_db_param q[1] = {ob_p_int((long long)id)};
			r = ob_db_exec(c->db, "UPDATE outbox_items SET live_key = NULL WHERE message = ?", q, 1, NULL, err);
		}
		free(reply);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < nrcpt; i++) {
		struct ob_db_param p[4] = {ob_p_int((long long)id), ob_p_int((long long)i + 1), ob_p_str(rcpts[i].email),
					   ob_p_str(rcpts[i].name)};
		if (ob_db_exec(c->db, "INSERT INTO outbox_rcpts (message, seq, email, name) VALUES (?, ?, ?, ?)", p, 4,
			       NULL, err) < 0)
			goto out;
	}
	c->out->messages++;
	c->out->items += (unsigned)nkept;
	rc = 0;
out:
	free(kept);
	free(to);
	cJSON_Delete(ctx);
	ob_buf_free(&subject);
	ob_buf_free(&text);
	ob_buf_free(&html);
	ob_buf_free(&mime);
	return rc;
}

int ob_outbox_compose(const struct ob_config *cfg, struct ob_db *db, const struct ob_outbox_run *run,
		      struct ob_outbox_composed *out, struct ob_err *err)
{
	struct compose c;
	struct ob_map seen, groups;
	size_t n = (size_t)cJSON_GetArraySize(run->notices), ngroups = 0, nnoemail = 0;
	struct item *items = NULL, *noemail = NULL;
	size_t *order = NULL; /* items sorted by group, stable */
	char **gname = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	if (n == 0)
		return 0;
	c.cfg = cfg;
	c.db = db;
	c.run = run;
	c.out = out;
	{
		const char *d = cfg->mail.message_id_domain;
		if (d == NULL)
			d = strchr(cfg->mail.from.email, '@') ? strchr(cfg->mail.from.email, '@') + 1 : "localhost";
		snprintf(c.domain, sizeof(c.domain), "%s", d);
	}
	if (cfg->mail.attach_pdf != OB_ATTACH_PDF_NONE && run->pdf_path) {
		if (ob_read_file(run->pdf_path, &c.pdf, &c.pdf_len) < 0) {
			ob_err_set(err, "mail: cannot read the run's PDF %s to attach it: %s", run->pdf_path, strerror(errno));
			return -1;
		}
		c.pdf_name = strrchr(run->pdf_path, '/') ? strrchr(run->pdf_path, '/') + 1 : run->pdf_path;
	}
	ob_map_init(&seen);
	ob_map_init(&groups);
	items = ob_xcalloc(n + 1, sizeof(*items));
	noemail = ob_xcalloc(n + 1, sizeof(*noemail));
	gname = ob_xcalloc(n + 1, sizeof(char *));
	order = ob_xcalloc(n + 1, sizeof(size_t));
	/* One group per recipient, in the order first notified; a key twice in
	 * one run to one recipient is one item (to two recipients: one each). */
	size_t nitems = 0;
	for (size_t i = 0; i < n; i++) {
		const cJSON *nt = cJSON_GetArrayItem(run->notices, (int)i);
		const char *key = nstr(nt, "dedupe_key");
		char *rcpt = dedupe_recipient(nstr(nt, "recipient"));
		/* A recipient has no space: "RCPT KEY" is unambiguous. */
		char *pair = ob_xasprintf("%s %s", rcpt, key);
		uint64_t g;
		int dup = ob_map_get(&seen, pair, &g);
		if (!dup)
			ob_map_put(&seen, pair, 1);
		free(pair);
		if (dup) {
			free(rcpt);
			continue;
		}
		if (!ob_map_get(&groups, rcpt, &g)) {
			g = ngroups;
			gname[ngroups++] = rcpt;
			ob_map_put(&groups, rcpt, g);
		} else
			free(rcpt);
		items[nitems].notice = nt;
		items[nitems].rcpt = gname[g];
		items[nitems].key = ob_xstrdup(key);
		order[nitems++] = (size_t)g;
	}
	for (size_t g = 0; g < ngroups; g++) {
		const char *rcpt = gname[g];
		struct item *gi = ob_xcalloc(nitems + 1, sizeof(*gi));
		size_t ng = 0;
		int r = 0;
		for (size_t i = 0; i < nitems; i++)
			if (order[i] == g)
				gi[ng++] = items[i];
		if (strncmp(rcpt, "owner:", 6) == 0) {
			long long owner = atoll(rcpt + 6);
			struct ob_db_rows *p = NULL;
			struct ob_db_param q[2] = {ob_p_int(owner), ob_p_int(run->org_id)};
			r = ob_db_query(db, "SELECT name, email FROM people WHERE id = ? AND org_id <=> NULLIF(?, 0)", q, 2, &p,
					err);
			if (r == 0) {
				const char *name = p->nrows ? ob_db_cell(p, 0, 0) : NULL;
				const char *email = p->nrows ? ob_db_cell(p, 0, 1) : NULL;
				if (email && ob_mime_addr_valid(email)) {
					struct rcpt one = {name, email};
					r = compose_one(&c, "owner", rcpt, &one, 1, name, NULL, gi, ng, err);
				} else {
					/* No usable address: IT support hears of it, under keys of
					 * its own, so the owner still gets the item once fixed. */
					char *oname = name ? ob_xstrdup(name) : ob_xasprintf("ukendt ejer (id %lld)", owner);
					for (size_t k = 0; k < ng; k++) {
						noemail[nnoemail] = gi[k];
						noemail[nnoemail].key = ob_xasprintf("no_email:%s", gi[k].key);
						noemail[nnoemail].owner = owner;
						noemail[nnoemail].owner_name = oname;
						nnoemail++;
					}
					out->no_email += (unsigned)ng;
					ob_log(OB_LOG_NOTICE, "run %llu: owner %lld (%s) has %s: %zu item%s to it_support",
					       run->run_id, owner, name ? name : "not found", email ? "no valid e-mail address" : "no e-mail address",
					       ng, ng == 1 ? "" : "s");
					/* the name is freed with the owner's last item below */
				}
			}
			ob_db_rows_free(p);
		} else {
			int role = ob_mail_role(rcpt);
			struct rcpt *rs = ob_xcalloc(cfg->mail.nroles[role] + 1, sizeof(*rs));
			for (size_t k = 0; k < cfg->mail.nroles[role]; k++) {
				rs[k].name = cfg->mail.roles[role][k].name;
				rs[k].email = cfg->mail.roles[role][k].email;
			}
			r = compose_one(&c, "role", rcpt, rs, cfg->mail.nroles[role], role_titles[role], rcpt, gi, ng, err);
			free(rs);
		}
		free(gi);
		if (r < 0)
			goto out;
	}
	if (nnoemail) {
		int role = ob_mail_role("it_support");
		struct rcpt *rs = ob_xcalloc(cfg->mail.nroles[role] + 1, sizeof(*rs));
		for (size_t k = 0; k < cfg->mail.nroles[role]; k++) {
			rs[k].name = cfg->mail.roles[role][k].name;
			rs[k].email = cfg->mail.roles[role][k].email;
		}
		int r = compose_one(&c, "no_email", "it_support", rs, cfg->mail.nroles[role], role_titles[role],
				    "it_support", noemail, nnoemail, err);
		free(rs);
		if (r < 0)
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < nitems; i++)
		free(items[i].key);
	for (size_t i = 0; i < nnoemail; i++) {
		free(noemail[i].key);
		if (i + 1 == nnoemail || noemail[i + 1].owner_name != noemail[i].owner_name)
			free((char *)noemail[i].owner_name);
	}
	free(items);
	free(noemail);
	for (size_t g = 0; g < ngroups; g++)
		free(gname[g]);
	free(gname);
	free(order);
	free(c.pdf);
	ob_map_free(&seen);
	ob_map_free(&groups);
	return rc;
}

/* ---- delivering ---- */

struct dmsg {
	unsigned long long id;
	char *from;               /* the envelope sender it was made with */
	unsigned attempts;
	long long expires;        /* unix time */
	char *mime;
	size_t len;
	struct ob_smtp_rcpt *rcpt;
	int *rcpt_seq;
	size_t nrcpt;
};

struct deliver {
	const struct ob_config *cfg;
	struct ob_db *db;
	struct ob_outbox_counts *counts;
	const struct ob_err *serr; /* the session's error, for messages it did not reach */
	const char *claim;         /* this delivery's claimed_by */
	int db_failed;
	struct ob_err dberr;
};

static long backoff(const struct ob_config *cfg, unsigned attempts)
{
	long d = cfg->mail.retry_initial;
	for (unsigned i = 1; i < attempts && d < cfg->mail.retry_max; i++)
		d *= 2;
	return d < cfg->mail.retry_max ? d : cfg->mail.retry_max;
}

/* Records one message's outcome: each recipient of this attempt sent,
 * dead or still pending; then the message, from all its recipients (some
 * may have taken it in an earlier attempt): queued again with backoff while
 * any is pending and it is young enough, else sent if anyone took it, else
 * dead. One transaction per message, right after the server's reply. */
static void record_once(struct deliver *d, struct dmsg *m, int data_code, const char *data_reply, const char *why)
{
	struct ob_err err = {{0}};
	struct ob_db_rows *r = NULL;
	int pending = 0, took = 0, perm;
	char reply[1100] = "";
	time_t now = time(NULL);
	struct ob_db_param idp[1] = {ob_p_int((long long)m->id)};

	if (d->db_failed)
		return;
	if (why == NULL)
		why = "no reply";
	{
		/* With no recipient accepted the DATA reply ("503 need RCPT") says
		 * nothing about the message: the recipients' replies do. */
		int any = 0;
		for (size_t k = 0; k < m->nrcpt; k++)
			any |= m->rcpt[k].code >= 200 && m->rcpt[k].code < 300;
		if (!any && data_code >= 300) {
			data_code = 0;
			data_reply = NULL;
		}
	}
	perm = data_code >= 500;
	if (ob_db_begin(d->db, &err) < 0)
		goto fail;
	for (size_t k = 0; k < m->nrcpt; k++) {
		struct ob_smtp_rcpt *rc = &m->rcpt[k];
		int accepted = rc->code >= 200 && rc->code < 300;
		const char *st, *rr;
		if (accepted && data_code >= 200 && data_code < 300) {
			st = "sent";
			rr = data_reply;
		} else if (rc->code >= 500 || (accepted && perm)) {
			st = "dead";
			rr = rc->code >= 500 ? rc->reply : data_reply;
			d->counts->rcpt_dead++;
		} else {
			st = "pending";
			rr = rc->code >= 400 ? rc->reply : data_code ? data_reply : why;
			if (!pending)
				snprintf(reply, sizeof(reply), "%s: %s", rc->email, rr);
			pending++;
		}
		struct ob_db_param p[4] = {ob_p_str(st), ob_p_str(rr), ob_p_int((long long)m->id), ob_p_int(m->rcpt_seq[k])};
		if (ob_db_exec(d->db,
			       "UPDATE outbox_rcpts SET status = ?, reply = ?, done_at = IF(status = 'pending', NULL, NOW(3)) "
			       "WHERE message = ? AND seq = ?",
			       p, 4, NULL, &err) < 0)
			goto fail;
	}
	if (!pending) {
		/* The reply worth keeping: the DATA reply, else a refused
		 * recipient's, else why. */
		snprintf(reply, sizeof(reply), "%s", data_code ? data_reply : why);
		if (!data_code)
			for (size_t k = 0; k < m->nrcpt; k++)
				if (m->rcpt[k].code >= 500) {
					snprintf(reply, sizeof(reply), "%s: %s", m->rcpt[k].email, m->rcpt[k].reply);
					break;
				}
	}
	if (pending && now >= m->expires) {
		/* Failing for too long: give up, with the last reply. */
		char tail[100];
		size_t rl = strlen(reply);
		struct ob_db_param p[2] = {ob_p_str(reply), ob_p_int((long long)m->id)};
		if (ob_db_exec(d->db,
			       "UPDATE outbox_rcpts SET status = 'dead', reply = ?, done_at = NOW(3) "
			       "WHERE message = ? AND status = 'pending'",
			       p, 2, NULL, &err) < 0)
			goto fail;
		d->counts->rcpt_dead += (unsigned long)pending;
		pending = 0;
		snprintf(tail, sizeof(tail), " (gave up after %u attempts: older than %d h)", m->attempts + 1,
			 d->cfg->mail.max_age / 3600);
		if (rl + strlen(tail) >= sizeof(reply))
			rl = sizeof(reply) - strlen(tail) - 1;
		memcpy(reply + rl, tail, strlen(tail) + 1);
	}
	/* Who has it, this attempt or an earlier one. */
	if (ob_db_query(d->db, "SELECT COUNT(*) FROM outbox_rcpts WHERE message = ? AND status = 'sent'", idp, 1, &r,
			&err) < 0)
		goto fail;
	took = atoi(ob_db_cell(r, 0, 0));
	ob_db_rows_free(r);
	{
		/* One statement for the three ends; the assignments go left to
		 * right, so sent_at and next_attempt_at see the new status. */
		const char *status = pending ? "queued" : took ? "sent" : "dead";
		long delay = pending ? backoff(d->cfg, m->attempts + 1) : 0;
		struct ob_db_param p[5] = {ob_p_str(status), ob_p_int(delay), ob_p_str(reply), ob_p_int((long long)m->id),
					   ob_p_str(d->claim)};
		unsigned long long n = 0;
		if (ob_db_exec(d->db,
			       "UPDATE outbox SET status = ?, attempts = attempts + 1, "
			       "next_attempt_at = IF(status = 'queued', NOW(3) + INTERVAL ? SECOND, NULL), last_reply = ?, "
			       "sent_at = IF(status = 'sent', NOW(3), NULL), claimed_by = NULL, claimed_at = NULL "
			       "WHERE id = ? AND status = 'sending' AND claimed_by = ?",
			       p, 5, &n, &err) < 0)
			goto fail;
		if (n != 1)
			goto lost;
		if (pending) {
			d->counts->retry++;
			ob_log(OB_LOG_NOTICE, "outbox %llu: not delivered (attempt %u): %s; next try in %ld s", m->id,
			       m->attempts + 1, reply, delay);
		} else if (took) {
			d->counts->sent++;
			ob_debug("outbox %llu: sent: %s", m->id, reply);
		} else {
			/* Nothing of it arrived: its items may go out with a later run. */
			if (ob_db_exec(d->db, "UPDATE outbox_items SET live_key = NULL WHERE message = ?", idp, 1, NULL, &err) < 0)
				goto fail;
			d->counts->dead++;
			ob_log(OB_LOG_WARNING, "outbox %llu: dead: %s", m->id, reply);
		}
	}
	if (ob_db_commit(d->db, &err) < 0)
		goto fail;
	return;
lost:
	/* Another delivery took this message over (it thought this one
	 * dead): it records it; this one stops sending. */
	ob_err_set(&err, "outbox %llu is no longer claimed by this delivery (%s): another took it over; stopping",
		   m->id, d->claim);
fail:
	ob_db_rollback(d->db);
	d->db_failed = 1;
	d->dberr = err;
}

/* record_once(), again once after a deadlock, a lock wait or a lost
 * connection (the server's reply must not be lost to a passing hitch). */
static void record(struct deliver *d, struct dmsg *m, int data_code, const char *data_reply, const char *why)
{
	record_once(d, m, data_code, data_reply, why);
	if (d->db_failed && (d->dberr.code == OB_E_DEADLOCK || d->dberr.code == OB_E_LOCK_TIMEOUT ||
			     d->dberr.code == OB_E_DB_LOST)) {
		ob_log(OB_LOG_NOTICE, "outbox %llu: recording met %s: trying again", m->id, d->dberr.msg);
		d->db_failed = 0;
		ob_err_clear(&d->dberr);
		record_once(d, m, data_code, data_reply, why);
	}
}

/* A message the session did not reach (an earlier one broke it) is no
 * fault of its own: queued again at once, no attempt counted. */
static void unreached(struct deliver *d, struct dmsg *m)
{
	struct ob_err err = {{0}};
	struct ob_db_param p[2] = {ob_p_int((long long)m->id), ob_p_str(d->claim)};
	if (d->db_failed)
		return;
	if (ob_db_exec(d->db,
		       "UPDATE outbox SET status = 'queued', claimed_by = NULL, claimed_at = NULL, next_attempt_at = NOW(3) "
		       "WHERE id = ? AND status = 'sending' AND claimed_by = ?",
		       p, 2, NULL, &err) < 0) {
		d->db_failed = 1;
		d->dberr = err;
	}
}

static int smtp_done(struct ob_smtp_msg *sm, void *arg)
{
	struct deliver *d = arg;
	struct dmsg *m = sm->arg;
	/* MAIL FROM refused (sm->code set, no recipient tried): the sender is
	 * the problem, not the message; try again later, like a 4xx. */
	int mail_refused = sm->code >= 400 && m->nrcpt && m->rcpt[0].code == 0;
	if (sm->unreached)
		unreached(d, m);
	else
		record(d, m, mail_refused ? 0 : sm->code, sm->reply,
		       mail_refused ? sm->reply : d->serr && d->serr->msg[0] ? d->serr->msg : "not reached in the SMTP session");
	return d->db_failed ? -1 : 0; /* what cannot be recorded must not be sent */
}

/* Writes a message into the maildir: tmp/, then atomically into new/.
 * The name is the outbox id, so writing it twice leaves one file. */
static int maildir_write(const char *dir, const struct dmsg *m, char *why, size_t whylen)
{
	char *tmpd = ob_path_join(dir, "tmp"), *newd = ob_path_join(dir, "new"), *curd = ob_path_join(dir, "cur");
	char name[64], *tmp, *dst;
	struct ob_err err = {{0}};
	int rc = -1;

	snprintf(name, sizeof(name), "outbox-%llu.eml", m->id);
	tmp = ob_path_join(tmpd, name);
	dst = ob_path_join(newd, name);
	if (ob_mkdir_p(tmpd) < 0 || ob_mkdir_p(newd) < 0 || ob_mkdir_p(curd) < 0)
		snprintf(why, whylen, "cannot create the maildir %s: %s", dir, strerror(errno));
	else if (ob_write_atomic(tmp, dst, m->mime, m->len, &err) < 0)
		snprintf(why, whylen, "%.500s", err.msg);
	else {
		snprintf(why, whylen, "250 written to %s", dst);
		rc = 0;
	}
	free(tmpd);
	free(newd);
	free(curd);
	free(tmp);
	free(dst);
	return rc;
}

#define CLAIM_LOCK_PREFIX "overblik.outbox."

/* The user lock a delivery holds on its database connection while it
 * sends: the connection (and the lock) goes when the process does. */
static void claim_lock_name(const char *claim, char *out, size_t n)
{
	const char *nonce = claim ? strrchr(claim, ':') : NULL;
	snprintf(out, n, CLAIM_LOCK_PREFIX "%s", nonce ? nonce + 1 : "");
}

/* Claims back what a delivery that is gone left 'sending': one whose
 * database lock is free (when the server has user locks; Galera has not),
 * one on this host whose process is gone, or one past a long lease. They
 * count an attempt (a message that kills its delivery does not loop
 * forever) and wait the backoff; past max_age they are dead. */
static int release_stale(const struct ob_config *cfg, struct ob_db *db, const char *own, int locks,
			 unsigned long *requeued, struct ob_err *err)
{
	struct ob_db_rows *r = NULL;
	char host[256] = "";
	size_t hl;
	long lease = 2L * cfg->mail.command_timeout + 3600;

	gethostname(host, sizeof(host) - 1);
	hl = strlen(host);
	if (ob_db_query(db, "SELECT claimed_by, TIMESTAMPDIFF(SECOND, MIN(claimed_at), NOW(3)) FROM outbox "
			    "WHERE status = 'sending' GROUP BY claimed_by",
			NULL, 0, &r, err) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows; i++) {
		const char *by = ob_db_cell(r, i, 0), *why = NULL;
		long age = ob_db_cell(r, i, 1) ? atol(ob_db_cell(r, i, 1)) : 0;
		unsigned long long n = 0;

		if (by && own && strcmp(by, own) == 0)
			continue;
		/* A claimer that held a user lock ("...:L<nonce>") is judged by it
		 * alone when this server has locks; others by host and process. */
		const char *nonce = by ? strrchr(by, ':') : NULL;
		int by_lock = locks && nonce && nonce[1] == 'L';
		if (!by_lock && by && strncmp(by, host, hl) == 0 && by[hl] == ':') {
			pid_t pid = (pid_t)atol(by + hl + 1);
			if (pid == getpid() || (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH))
				why = "its process is gone";
		}
		if (why == NULL && by_lock) {
			struct ob_db_rows *l = NULL;
			char name[80];
			claim_lock_name(by, name, sizeof(name));
			struct ob_db_param q[1] = {ob_p_str(name)};
			if (ob_db_query(db, "SELECT IS_USED_LOCK(?) IS NULL", q, 1, &l, err) < 0) {
				ob_db_rows_free(r);
				return -1;
			}
			if (l->nrows && atoi(ob_db_cell(l, 0, 0)) == 1)
				why = "its database connection is gone";
			ob_db_rows_free(l);
		}
		if (why == NULL && (by == NULL || age >= lease))
			why = "it is past its lease";
		if (why == NULL)
			continue; /* still sending, elsewhere */
		struct ob_db_param p[4] = {ob_p_int(cfg->mail.retry_initial), ob_p_int(cfg->mail.retry_max),
					   ob_p_str("the delivery sending it stopped (crashed, killed, or lost its "
						    "database) before it recorded the server's reply"),
					   ob_p_str(by)};
		/* Assignments go left to right: attempts is the old count in the backoff. */
		if (ob_db_exec(db,
			       "UPDATE outbox SET next_attempt_at = IF(expires_at < NOW(3), NULL, "
			       "NOW(3) + INTERVAL LEAST(? * POW(2, LEAST(attempts, 30)), ?) SECOND), "
			       "status = IF(expires_at >= NOW(3), 'queued', IF(EXISTS (SELECT 1 FROM outbox_rcpts x "
			       "WHERE x.message = outbox.id AND x.status = 'sent'), 'sent', 'dead')), "
			       "sent_at = IF(status = 'sent', NOW(3), NULL), attempts = attempts + 1, "
			       "last_reply = ?, claimed_by = NULL, claimed_at = NULL "
			       "WHERE status = 'sending' AND claimed_by <=> ?",
			       p, 4, &n, err) < 0) {
			ob_db_rows_free(r);
			return -1;
		}
		if (n) {
			ob_log(OB_LOG_NOTICE, "outbox: %llu message%s left being sent by %s, where %s: queued again "
					      "(one the server had taken may arrive twice, with the same Message-ID)",
			       n, n == 1 ? "" : "s", by ? by : "?", why);
			*requeued += n;
		}
	}
	ob_db_rows_free(r);
	/* Those that were too old to queue again end as dead ones do. */
	if (ob_db_exec(db,
		       "UPDATE outbox_rcpts x JOIN outbox o ON o.id = x.message SET x.status = 'dead', "
		       "x.reply = o.last_reply, x.done_at = NOW(3) WHERE o.status IN ('dead', 'sent') AND x.status = 'pending'",
		       NULL, 0, NULL, err) < 0 ||
	    ob_db_exec(db,
		       "UPDATE outbox_items i JOIN outbox o ON o.id = i.message SET i.live_key = NULL "
		       "WHERE o.status = 'dead' AND i.live_key IS NOT NULL AND NOT EXISTS "
		       "(SELECT 1 FROM outbox_rcpts x WHERE x.message = o.id AND x.status = 'sent')",
		       NULL, 0, NULL, err) < 0)
		return -1;
	return 0;
}

static void dmsgs_free(struct dmsg *ms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < ms[i].nrcpt; k++)
			free((char *)ms[i].rcpt[k].email);
		free(ms[i].mime);
		free(ms[i].from);
		free(ms[i].rcpt);
		free(ms[i].rcpt_seq);
	}
	free(ms);
}

int ob_outbox_deliver(const struct ob_config *cfg, struct ob_db *db, int (*stop)(void),
		      struct ob_outbox_counts *counts, struct ob_err *err)
{
	char host[200] = "", claim[300], lock[80], rnd[17];
	int locks = 0;
	struct ob_smtp_conf sc;
	char *outbox_dir = cfg->mail.outbox_dir ? ob_xstrdup(cfg->mail.outbox_dir) : ob_path_join(cfg->state_dir, "outbox");
	int rc = -1, session_failed = 0;

	memset(counts, 0, sizeof(*counts));
	memset(&sc, 0, sizeof(sc));
	gethostname(host, sizeof(host) - 1);
	random_hex(rnd, 8);
	snprintf(lock, sizeof(lock), CLAIM_LOCK_PREFIX "L%s", rnd);
	{
		/* Held while this process sends: others see its claims are alive. */
		struct ob_db_rows *l = NULL;
		struct ob_err lerr = {{0}};
		struct ob_db_param q[1] = {ob_p_str(lock)};
		if (ob_db_query(db, "SELECT GET_LOCK(?, 0)", q, 1, &l, &lerr) == 0 && l->nrows && ob_db_cell(l, 0, 0) &&
		    atoi(ob_db_cell(l, 0, 0)) == 1)
			locks = 1;
		else
			ob_debug("outbox: no user lock on this database server (%s): claims are checked by host, "
				 "process and lease",
				 lerr.msg[0] ? lerr.msg : "GET_LOCK refused");
		ob_db_rows_free(l);
	}
	/* The claim names the host, the process and the lock ("L...", or
	 * "N..." without one). */
	snprintf(claim, sizeof(claim), "%s:%ld:%c%s", host, (long)getpid(), locks ? 'L' : 'N',
		 lock + strlen(CLAIM_LOCK_PREFIX) + 1);
	if (release_stale(cfg, db, claim, locks, &counts->requeued, err) < 0)
		goto out;
	{
		/* A sent message's text (its PDF, mostly) is kept keep_days; the
		 * row, its recipients and items (the dedupe keys) stay. */
		struct ob_db_param q[1] = {ob_p_int(cfg->mail.keep_days)};
		unsigned long long n = 0;
		if (ob_db_exec(db,
			       "UPDATE outbox SET mime = '' WHERE status IN ('sent', 'dry_run') "
			       "AND created_at < NOW(3) - INTERVAL ? DAY AND mime <> ''",
			       q, 1, &n, err) < 0)
			goto out;
		if (n)
			ob_info("outbox: the text of %llu message%s older than %d days let go (mail.keep_days)", n,
				n == 1 ? "" : "s", cfg->mail.keep_days);
	}
	if (cfg->mail.smtp_host && ob_smtp_conf_from(&cfg->mail, &sc, err) < 0) {
		/* A configuration problem: nothing is claimed, everything waits. */
		goto out;
	}
	while (stop == NULL || !stop()) {
		struct ob_db_rows *r = NULL, *rr = NULL;
		struct ob_db_param p[2] = {ob_p_str(claim), ob_p_int(cfg->mail.batch)};
		unsigned long long claimed = 0;
		struct dmsg *ms;
		size_t n;
		struct ob_err serr = {{0}};
		struct deliver d = {cfg, db, counts, &serr, claim, 0, {{0}}};

		if (locks) {
			/* A reconnect (ob_db does one, silently) drops the lock: then
			 * others would think this delivery dead. Take it again first. */
			struct ob_db_rows *l = NULL;
			struct ob_db_param q[1] = {ob_p_str(lock)};
			int held = ob_db_query(db, "SELECT IS_USED_LOCK(?) = CONNECTION_ID()", q, 1, &l, err) == 0 &&
				   l->nrows && ob_db_cell(l, 0, 0) && atoi(ob_db_cell(l, 0, 0)) == 1;
			ob_db_rows_free(l);
			l = NULL;
			if (!held && (ob_db_query(db, "SELECT GET_LOCK(?, 0)", q, 1, &l, err) < 0 || !l->nrows ||
				      !ob_db_cell(l, 0, 0) || atoi(ob_db_cell(l, 0, 0)) != 1)) {
				ob_db_rows_free(l);
				ob_err_set(err, "outbox: lost the delivery's database lock %s and cannot take it again", lock);
				goto out;
			}
			ob_db_rows_free(l);
		}
		/* Fewest attempts first: a message that keeps breaking sessions
		 * does not stand in front of the others. */
		if (ob_db_exec(db,
			       "UPDATE outbox SET status = 'sending', claimed_by = ?, claimed_at = NOW(3) "
			       "WHERE status = 'queued' AND next_attempt_at <= NOW(3) ORDER BY attempts, next_attempt_at, id "
			       "LIMIT ?",
			       p, 2, &claimed, err) < 0)
			goto out;
		if (claimed == 0)
			break;
		if (ob_db_query(db,
				"SELECT id, attempts, UNIX_TIMESTAMP(expires_at), mime, mail_from FROM outbox "
				"WHERE status = 'sending' AND claimed_by = ? ORDER BY id",
				p, 1, &r, err) < 0)
			goto out;
		if (ob_db_query(db,
				"SELECT r.message, r.seq, r.email FROM outbox_rcpts r JOIN outbox o ON o.id = r.message "
				"WHERE o.status = 'sending' AND o.claimed_by = ? AND r.status = 'pending' "
				"ORDER BY r.message, r.seq",
				p, 1, &rr, err) < 0) {
			ob_db_rows_free(r);
			goto out;
		}
		n = r->nrows;
		ms = ob_xcalloc(n + 1, sizeof(*ms));
		for (size_t i = 0, k = 0; i < n; i++) {
			ms[i].id = strtoull(ob_db_cell(r, i, 0), NULL, 10);
			ms[i].attempts = (unsigned)atoi(ob_db_cell(r, i, 1));
			ms[i].expires = ob_db_cell(r, i, 2) ? atoll(ob_db_cell(r, i, 2)) : 0;
			ms[i].mime = ob_xstrdup(ob_db_cell(r, i, 3) ? ob_db_cell(r, i, 3) : "");
			ms[i].len = strlen(ms[i].mime);
			ms[i].from = ob_xstrdup(ob_db_cell(r, i, 4) ? ob_db_cell(r, i, 4) : cfg->mail.from.email);
			ms[i].rcpt = ob_xcalloc(rr->nrows + 1, sizeof(*ms[i].rcpt));
			ms[i].rcpt_seq = ob_xcalloc(rr->nrows + 1, sizeof(int));
			while (k < rr->nrows && strtoull(ob_db_cell(rr, k, 0), NULL, 10) < ms[i].id)
				k++;
			while (k < rr->nrows && strtoull(ob_db_cell(rr, k, 0), NULL, 10) == ms[i].id) {
				ms[i].rcpt[ms[i].nrcpt].email = ob_xstrdup(ob_db_cell(rr, k, 2));
				ms[i].rcpt_seq[ms[i].nrcpt++] = atoi(ob_db_cell(rr, k, 1));
				k++;
			}
		}
		ob_db_rows_free(r);
		ob_db_rows_free(rr);
		if (cfg->mail.smtp_host == NULL) {
			for (size_t i = 0; i < n && !d.db_failed; i++) {
				char why[OB_SMTP_REPLY];
				int ok = maildir_write(outbox_dir, &ms[i], why, sizeof(why)) == 0;
				for (size_t k = 0; k < ms[i].nrcpt; k++) {
					ms[i].rcpt[k].code = ok ? 250 : 0;
					snprintf(ms[i].rcpt[k].reply, sizeof(ms[i].rcpt[k].reply), "%s", why);
				}
				record(&d, &ms[i], ok ? 250 : 0, why, why);
				if (!ok)
					ob_log(OB_LOG_ERR, "outbox %llu: %s", ms[i].id, why);
			}
		} else {
			struct ob_smtp_msg *sm = ob_xcalloc(n + 1, sizeof(*sm));
			size_t nsm = 0;
			for (size_t i = 0; i < n; i++) {
				if (ms[i].nrcpt == 0) { /* nobody left to send to: settle it */
					record(&d, &ms[i], 0, NULL, "no recipient is left to send to");
					continue;
				}
				sm[nsm].from = ms[i].from;
				sm[nsm].rcpt = ms[i].rcpt;
				sm[nsm].nrcpt = ms[i].nrcpt;
				sm[nsm].data = ms[i].mime;
				sm[nsm].len = ms[i].len;
				sm[nsm].arg = &ms[i];
				nsm++;
			}
			/* smtp_done() records each message as soon as its DATA is
			 * answered (a crash after that sends nothing twice); what the
			 * session did not reach is recorded with the session's error. */
			if (nsm && ob_smtp_send(&sc, sm, nsm, smtp_done, &d, &serr) < 0) {
				ob_log(OB_LOG_WARNING, "outbox: %s: %zu message%s wait for the next try", serr.msg, nsm,
				       nsm == 1 ? "" : "s");
				session_failed = 1; /* the rest would meet the same: they wait too */
			}
			free(sm);
		}
		dmsgs_free(ms, n);
		if (d.db_failed) {
			*err = d.dberr;
			goto out;
		}
		if (session_failed) {
			counts->smtp_down = 1;
			break;
		}
	}
	rc = 0;
out:
	if (locks) {
		struct ob_db_param q[1] = {ob_p_str(lock)};
		struct ob_db_rows *l = NULL;
		struct ob_err lerr = {{0}};
		if (ob_db_query(db, "SELECT RELEASE_LOCK(?)", q, 1, &l, &lerr) == 0)
			ob_db_rows_free(l);
	}
	ob_smtp_conf_clear(&sc);
	free(outbox_dir);
	return rc;
}

/* ---- operations ---- */

int ob_outbox_retry(const struct ob_config *cfg, struct ob_db *db, unsigned long long id, struct ob_err *err)
{
	struct ob_db_rows *r = NULL;
	struct ob_db_param p[1] = {ob_p_int((long long)id)};
	char status[16];
	int rc;

	if (ob_db_begin(db, err) < 0)
		return -1;
	if (ob_db_query(db,
			"SELECT o.status, IFNULL(o.claimed_by, ''), IFNULL(DATE_FORMAT(o.claimed_at, '%Y-%m-%dT%H:%i:%sZ'), ''), "
			"(SELECT COUNT(*) FROM outbox_rcpts x WHERE x.message = o.id), o.recipient "
			"FROM outbox o WHERE o.id = ? FOR UPDATE",
			p, 1, &r, err) < 0)
		goto fail;
	if (r->nrows == 0) {
		ob_db_rows_free(r);
		ob_db_rollback(db);
		return 1;
	}
	snprintf(status, sizeof(status), "%s", ob_db_cell(r, 0, 0));
	if (strcmp(status, "queued") != 0 && strcmp(status, "dead") != 0) {
		if (strcmp(status, "sending") == 0)
			ob_err_set(err, "outbox %llu is being sent right now, by %s since %s", id, ob_db_cell(r, 0, 1),
				   ob_db_cell(r, 0, 2));
		else
			ob_err_set(err, "outbox %llu is %s%s", id, status,
				   strcmp(status, "sent") == 0 ? ": it was delivered" : ": a dry run's message is never sent");
		goto refuse;
	}
	if (atoi(ob_db_cell(r, 0, 3)) == 0) {
		ob_err_set(err, "outbox %llu has no address to send to (%s had none configured when it was made): "
				"fix /mail/roles in the configuration; the next run's mail includes its items",
			   id, ob_db_cell(r, 0, 4));
		goto refuse;
	}
	ob_db_rows_free(r);
	r = NULL;
	{
		/* A dead message gave its items' keys back; it takes them again,
		 * unless a later message has them (then that one carries them). */
		struct ob_err kerr = {{0}};
		struct ob_db_param q[2] = {ob_p_int(cfg->mail.max_age), ob_p_int((long long)id)};
		if (strcmp(status, "dead") == 0 &&
		    ob_db_exec(db, "UPDATE outbox_items SET live_key = dedupe_key WHERE message = ? AND live_key IS NULL",
			       p, 1, NULL, &kerr) < 0) {
			struct ob_db_rows *h = NULL;
			ob_db_rollback(db);
			if (kerr.code != OB_E_DUPLICATE) { /* not a taken key: a database failure */
				*err = kerr;
				return -1;
			}
			if (ob_db_query(db,
					"SELECT MIN(o.message) FROM outbox_items o JOIN outbox_items d ON d.org_id = o.org_id "
					"AND d.dedupe_rcpt = o.dedupe_rcpt AND d.dedupe_key = o.live_key WHERE d.message = ?",
					p, 1, &h, err) == 0 && h->nrows && ob_db_cell(h, 0, 0))
				ob_err_set(err, "outbox %llu: its items went out again with outbox %s; retrying it would "
						"send them twice",
					   id, ob_db_cell(h, 0, 0));
			else
				ob_err_set(err, "outbox %llu: %s", id, kerr.msg);
			ob_db_rows_free(h);
			return 2;
		}
		if (ob_db_exec(db, "UPDATE outbox_rcpts SET status = 'pending', done_at = NULL WHERE message = ? AND status = 'dead'",
			       p, 1, NULL, err) < 0 ||
		    ob_db_exec(db,
			       "UPDATE outbox SET status = 'queued', next_attempt_at = NOW(3), "
			       "expires_at = NOW(3) + INTERVAL ? SECOND WHERE id = ?",
			       q, 2, NULL, err) < 0)
			goto fail;
	}
	rc = ob_db_commit(db, err);
	return rc < 0 ? -1 : 0;
refuse:
	ob_db_rows_free(r);
	ob_db_rollback(db);
	return 2;
fail:
	ob_db_rows_free(r);
	ob_db_rollback(db);
	return -1;
}

static void add_cell(cJSON *o, const char *name, const char *v, int number)
{
	if (v == NULL)
		cJSON_AddNullToObject(o, name);
	else if (number)
		cJSON_AddNumberToObject(o, name, strtod(v, NULL));
	else
		cJSON_AddStringToObject(o, name, v);
}

/* Columns of a message in lists: name, SQL, is a number. */
static const struct {
	const char *name, *sql;
	int number;
} msg_cols[] = {
	{"id", "o.id", 1},
	{"run_id", "o.run_id", 1},
	{"report", "r.report", 0},
	{"recipient", "o.recipient", 0},
	{"kind", "o.kind", 0},
	{"to", "(SELECT GROUP_CONCAT(x.email ORDER BY x.seq SEPARATOR ', ') FROM outbox_rcpts x WHERE x.message = o.id)", 0},
	{"subject", "o.subject", 0},
	{"items", "o.items", 1},
	{"status", "o.status", 0},
	{"attempts", "o.attempts", 1},
	{"created_at", "DATE_FORMAT(o.created_at, '%Y-%m-%dT%H:%i:%sZ')", 0},
	{"next_attempt_at", "IF(o.status = 'queued', DATE_FORMAT(o.next_attempt_at, '%Y-%m-%dT%H:%i:%sZ'), NULL)", 0},
	{"sent_at", "DATE_FORMAT(o.sent_at, '%Y-%m-%dT%H:%i:%sZ')", 0},
	{"last_reply", "o.last_reply", 0},
	{"message_id", "o.message_id", 0},
	{"claimed_by", "IF(o.status = 'sending', o.claimed_by, NULL)", 0},
	{"claimed_at", "IF(o.status = 'sending', DATE_FORMAT(o.claimed_at, '%Y-%m-%dT%H:%i:%sZ'), NULL)", 0},
	{"size", "LENGTH(o.mime)", 1},
};

static char *msg_select(void)
{
	struct ob_buf b;
	ob_buf_init(&b, 0);
	ob_buf_adds(&b, "SELECT ");
	for (size_t i = 0; i < OB_ARRAY_LEN(msg_cols); i++)
		ob_buf_printf(&b, "%s%s", i ? ", " : "", msg_cols[i].sql);
	ob_buf_adds(&b, " FROM outbox o JOIN runs r ON r.id = o.run_id ");
	return ob_buf_steal(&b);
}

static cJSON *msg_json(const struct ob_db_rows *r, size_t row)
{
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; i < OB_ARRAY_LEN(msg_cols); i++)
		add_cell(o, msg_cols[i].name, ob_db_cell(r, row, i), msg_cols[i].number);
	return o;
}

int ob_outbox_list(struct ob_db *db, const char *status, unsigned long long before, int limit, cJSON **out,
		   struct ob_err *err)
{
	char *base = msg_select(), *sql;
	struct ob_db_rows *r = NULL;
	struct ob_db_param p[3] = {ob_p_str(status), ob_p_int((long long)before), ob_p_int(limit + 1)};
	cJSON *list;

	sql = ob_xasprintf("%sWHERE (? IS NULL OR o.status = ?) AND (? = 0 OR o.id < ?) ORDER BY o.id DESC LIMIT ?", base);
	free(base);
	{
		struct ob_db_param q[5] = {p[0], p[0], p[1], p[1], p[2]};
		if (ob_db_query(db, sql, q, 5, &r, err) < 0) {
			free(sql);
			return -1;
		}
	}
	free(sql);
	*out = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(*out, "messages");
	for (size_t i = 0; i < r->nrows && (int)i < limit; i++)
		cJSON_AddItemToArray(list, msg_json(r, i));
	if ((int)r->nrows > limit)
		cJSON_AddNumberToObject(*out, "next_before", strtod(ob_db_cell(r, (size_t)limit - 1, 0), NULL));
	else
		cJSON_AddNullToObject(*out, "next_before");
	ob_db_rows_free(r);
	return 0;
}

int ob_outbox_show(struct ob_db *db, unsigned long long id, int with_mime, cJSON **out, struct ob_err *err)
{
	char *base = msg_select(), *sql = ob_xasprintf("%sWHERE o.id = ?", base);
	struct ob_db_rows *r = NULL;
	struct ob_db_param p[1] = {ob_p_int((long long)id)};
	cJSON *o, *a;
	int rc = -1;

	*out = NULL;
	free(base);
	if (ob_db_query(db, sql, p, 1, &r, err) < 0)
		goto out;
	if (r->nrows == 0) {
		rc = 0;
		goto out;
	}
	o = msg_json(r, 0);
	ob_db_rows_free(r);
	r = NULL;
	if (ob_db_query(db,
			"SELECT email, name, status, reply, DATE_FORMAT(done_at, '%Y-%m-%dT%H:%i:%sZ') FROM outbox_rcpts "
			"WHERE message = ? ORDER BY seq",
			p, 1, &r, err) < 0) {
		cJSON_Delete(o);
		goto out;
	}
	a = cJSON_AddArrayToObject(o, "recipients");
	for (size_t i = 0; i < r->nrows; i++) {
		cJSON *x = cJSON_CreateObject();
		add_cell(x, "email", ob_db_cell(r, i, 0), 0);
		add_cell(x, "name", ob_db_cell(r, i, 1), 0);
		add_cell(x, "status", ob_db_cell(r, i, 2), 0);
		add_cell(x, "reply", ob_db_cell(r, i, 3), 0);
		add_cell(x, "done_at", ob_db_cell(r, i, 4), 0);
		cJSON_AddItemToArray(a, x);
	}
	ob_db_rows_free(r);
	r = NULL;
	if (ob_db_query(db,
			"SELECT dedupe_key, template, kv, live_key IS NOT NULL, dedupe_rcpt FROM outbox_items WHERE message = ? "
			"ORDER BY seq",
			p, 1, &r, err) < 0) {
		cJSON_Delete(o);
		goto out;
	}
	a = cJSON_AddArrayToObject(o, "item_list");
	for (size_t i = 0; i < r->nrows; i++) {
		cJSON *x = cJSON_CreateObject(), *kv = cJSON_Parse(ob_db_cell(r, i, 2));
		add_cell(x, "dedupe_key", ob_db_cell(r, i, 0), 0);
		add_cell(x, "dedupe_recipient", ob_db_cell(r, i, 4), 0);
		add_cell(x, "template", ob_db_cell(r, i, 1), 0);
		cJSON_AddItemToObject(x, "values", kv ? kv : cJSON_CreateObject());
		cJSON_AddBoolToObject(x, "holds_key", atoi(ob_db_cell(r, i, 3)) != 0);
		cJSON_AddItemToArray(a, x);
	}
	ob_db_rows_free(r);
	r = NULL;
	if (with_mime) {
		if (ob_db_query(db, "SELECT mime FROM outbox WHERE id = ?", p, 1, &r, err) < 0) {
			cJSON_Delete(o);
			goto out;
		}
		if (r->nrows)
			add_cell(o, "mime", ob_db_cell(r, 0, 0), 0);
	}
	*out = o;
	rc = 0;
out:
	ob_db_rows_free(r);
	free(sql);
	return rc;
}

int ob_outbox_stats(struct ob_db *db, struct ob_outbox_stats *st, struct ob_err *err)
{
	struct ob_db_rows *r = NULL;

	memset(st, 0, sizeof(*st));
	st->next_due_in = -1;
	if (ob_db_query(db,
			"SELECT status, COUNT(*), "
			"TIMESTAMPDIFF(MICROSECOND, MIN(created_at), NOW(3)) / 1e6, "
			"SUM(next_attempt_at <= NOW(3)), "
			"GREATEST(0, TIMESTAMPDIFF(SECOND, NOW(3), MIN(next_attempt_at))) "
			"FROM outbox GROUP BY status",
			NULL, 0, &r, err) < 0)
		return -1;
	for (size_t i = 0; i < r->nrows; i++) {
		for (int k = 0; k < OB_OUTBOX_NSTATUS; k++)
			if (strcmp(ob_db_cell(r, i, 0), ob_outbox_status_names[k]) == 0)
				st->count[k] = strtoul(ob_db_cell(r, i, 1), NULL, 10);
		if (strcmp(ob_db_cell(r, i, 0), "queued") == 0) {
			st->oldest_queued_age = ob_db_cell(r, i, 2) ? strtod(ob_db_cell(r, i, 2), NULL) : 0;
			st->due = ob_db_cell(r, i, 3) ? strtoul(ob_db_cell(r, i, 3), NULL, 10) : 0;
			st->next_due_in = ob_db_cell(r, i, 4) ? atol(ob_db_cell(r, i, 4)) : -1;
		}
	}
	ob_db_rows_free(r);
	return 0;
}
