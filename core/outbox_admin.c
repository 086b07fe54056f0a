/* outbox_admin.c - the operators' view of the outbox: list, show, retry
 * (overblik outbox ..., the admin API's /outbox) and the figures of
 * /metrics and /healthz. */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "outbox.h"

const char *const ob_outbox_status_names[OB_OUTBOX_NSTATUS] = {"queued", "sending", "sent", "dead", "dry_run",
								   "pending"};

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
				   strcmp(status, "sent") == 0      ? ": it was delivered"
				   : strcmp(status, "pending") == 0 ? ": it waits for the digest (mail.digest_at; "
								      "overblik outbox compose composes it now)"
								    : ": a dry run's message is never sent");
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
	rc = 2;
	goto end;
fail:
	rc = -1;
end:
	ob_db_rows_free(r);
	ob_db_rollback(db);
	return rc;
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

static cJSON *rcpt_json(const struct ob_db_rows *r, size_t i)
{
	static const char *const names[] = {"email", "name", "status", "reply", "done_at"};
	cJSON *x = cJSON_CreateObject();
	for (size_t k = 0; k < OB_ARRAY_LEN(names); k++)
		add_cell(x, names[k], ob_db_cell(r, i, k), 0);
	return x;
}

static cJSON *item_json(const struct ob_db_rows *r, size_t i)
{
	cJSON *x = cJSON_CreateObject(), *kv = cJSON_Parse(ob_db_cell(r, i, 2));
	add_cell(x, "dedupe_key", ob_db_cell(r, i, 0), 0);
	add_cell(x, "dedupe_recipient", ob_db_cell(r, i, 4), 0);
	add_cell(x, "template", ob_db_cell(r, i, 1), 0);
	cJSON_AddItemToObject(x, "values", kv ? kv : cJSON_CreateObject());
	cJSON_AddBoolToObject(x, "holds_key", atoi(ob_db_cell(r, i, 3)) != 0);
	return x;
}

/* Adds o[name]: one row_json() for each row sql finds for the message. */
static int add_rows(struct ob_db *db, const char *sql, const struct ob_db_param *id, cJSON *o, const char *name,
		    cJSON *(*row_json)(const struct ob_db_rows *, size_t), struct ob_err *err)
{
	struct ob_db_rows *r = NULL;
	cJSON *a;

	if (ob_db_query(db, sql, id, 1, &r, err) < 0)
		return -1;
	a = cJSON_AddArrayToObject(o, name);
	for (size_t i = 0; i < r->nrows; i++)
		cJSON_AddItemToArray(a, row_json(r, i));
	ob_db_rows_free(r);
	return 0;
}

int ob_outbox_show(struct ob_db *db, unsigned long long id, int with_mime, cJSON **out, struct ob_err *err)
{
	char *base = msg_select(), *sql = ob_xasprintf("%sWHERE o.id = ?", base);
	struct ob_db_rows *r = NULL;
	struct ob_db_param p[1] = {ob_p_int((long long)id)};
	cJSON *o;
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
	if (add_rows(db,
		     "SELECT email, name, status, reply, DATE_FORMAT(done_at, '%Y-%m-%dT%H:%i:%sZ') FROM outbox_rcpts "
		     "WHERE message = ? ORDER BY seq",
		     p, o, "recipients", rcpt_json, err) < 0 ||
	    add_rows(db,
		     "SELECT dedupe_key, template, kv, live_key IS NOT NULL, dedupe_rcpt FROM outbox_items WHERE message = ? "
		     "ORDER BY seq",
		     p, o, "item_list", item_json, err) < 0 ||
	    (with_mime && ob_db_query(db, "SELECT mime FROM outbox WHERE id = ?", p, 1, &r, err) < 0)) {
		cJSON_Delete(o);
		goto out;
	}
	if (with_mime && r->nrows)
		add_cell(o, "mime", ob_db_cell(r, 0, 0), 0);
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
