/* outbox_deliver.c - the outbox's delivery: claims what is due, hands it
 * to the configured transport (transport.h: SMTP or a maildir) and records
 * every reply as it comes, with retries, backoff and a lock that tells other
 * deliveries this one is alive. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "outbox.h"
#include "outbox_int.h"
#include "transport.h"

struct dmsg {
	unsigned long long id;
	char *from;               /* the envelope sender it was made with */
	unsigned attempts;
	long long expires;        /* unix time */
	char *mime;
	size_t len;
	struct ob_transport_rcpt *rcpt;
	int *rcpt_seq;
	size_t nrcpt;
};

/* A message an idempotent transport reported taken by every recipient,
 * waiting to be recorded with the rest of its batch. */
struct held {
	struct dmsg *m;
	char *reply;
};

struct deliver {
	const struct ob_config *cfg;
	struct ob_db *db;
	struct ob_outbox_counts *counts;
	const char *claim;         /* this delivery's claimed_by */
	int db_failed;
	struct ob_err dberr;
	int defer;                 /* the transport is idempotent: what all took is recorded per batch */
	struct held *held;         /* those, until the batch is through */
	size_t nheld;
};

static long backoff(const struct ob_config *cfg, unsigned attempts)
{
	long d = cfg->mail.retry_initial;
	for (unsigned i = 1; i < attempts && d < cfg->mail.retry_max; i++)
		d *= 2;
	return d < cfg->mail.retry_max ? d : cfg->mail.retry_max;
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Records one message's outcome: each recipient of this attempt sent,
 * dead or still pending; then the message, from all its recipients (some
 * may have taken it in an earlier attempt): queued again with backoff while
 * any is pending and it is young enough, else sent if anyone took it, else
 * dead. One transaction per message, right after the server's reply; the
 * recipients in one statement when they all had the same answer. */
static void record_once(struct deliver *d, struct dmsg *m, int data_code, const char *data_reply, const char *why)
{
	struct ob_err err = {{0}};
	struct ob_db_rows *r = NULL;
	int pending = 0, took = 0, took_now = 0, perm, same = 1;
	unsigned long dead_now = 0;
	char reply[1100] = "";
	time_t now = time(NULL);
	struct ob_db_param idp[1] = {ob_p_int((long long)m->id)};
	const char **st = ob_xcalloc(m->nrcpt + 1, sizeof(*st)), **rrs = ob_xcalloc(m->nrcpt + 1, sizeof(*rrs));

	if (d->db_failed)
		goto out;
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
	for (size_t k = 0; k < m->nrcpt; k++) {
		struct ob_transport_rcpt *rc = &m->rcpt[k];
		int accepted = rc->code >= 200 && rc->code < 300;
		if (accepted && data_code >= 200 && data_code < 300) {
			st[k] = "sent";
			rrs[k] = data_reply;
			took_now++;
		} else if (rc->code >= 500 || (accepted && perm)) {
			st[k] = "dead";
			rrs[k] = rc->code >= 500 ? rc->reply : data_reply;
			dead_now++;
		} else {
			st[k] = "pending";
			rrs[k] = rc->code >= 400 ? rc->reply : data_code ? data_reply : why;
			if (!pending)
				snprintf(reply, sizeof(reply), "%s: %s", rc->email, rrs[k]);
			pending++;
		}
		same &= k == 0 || (st[k] == st[0] && same_str(rrs[k], rrs[0]));
	}
	if (ob_db_begin(d->db, &err) < 0)
		goto fail;
	if (m->nrcpt > 1 && same) {
		/* All had the same answer: one statement. */
		struct ob_db_param *p = ob_xcalloc(m->nrcpt + 3, sizeof(*p));
		char *sql = ob_db_sql_list("UPDATE outbox_rcpts SET status = ?, reply = ?, "
				     "done_at = IF(status = 'pending', NULL, NOW(3)) WHERE message = ? AND seq IN (",
				     m->nrcpt, ")");
		int rc;
		p[0] = ob_p_str(st[0]);
		p[1] = ob_p_str(rrs[0]);
		p[2] = ob_p_int((long long)m->id);
		for (size_t k = 0; k < m->nrcpt; k++)
			p[3 + k] = ob_p_int(m->rcpt_seq[k]);
		rc = ob_db_exec(d->db, sql, p, m->nrcpt + 3, NULL, &err);
		free(sql);
		free(p);
		if (rc < 0)
			goto fail;
	} else
		for (size_t k = 0; k < m->nrcpt; k++) {
			struct ob_db_param p[4] = {ob_p_str(st[k]), ob_p_str(rrs[k]), ob_p_int((long long)m->id),
						   ob_p_int(m->rcpt_seq[k])};
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
		dead_now += (unsigned long)pending;
		pending = 0;
		snprintf(tail, sizeof(tail), " (gave up after %u attempts: older than %d h)", m->attempts + 1,
			 d->cfg->mail.max_age / 3600);
		if (rl + strlen(tail) >= sizeof(reply))
			rl = sizeof(reply) - strlen(tail) - 1;
		memcpy(reply + rl, tail, strlen(tail) + 1);
	}
	/* Who has it, this attempt or an earlier one: asked only when nobody
	 * took it this time. */
	if (took_now)
		took = 1;
	else {
		if (ob_db_query(d->db, "SELECT COUNT(*) FROM outbox_rcpts WHERE message = ? AND status = 'sent'", idp, 1,
				&r, &err) < 0)
			goto fail;
		took = atoi(ob_db_cell(r, 0, 0));
		ob_db_rows_free(r);
	}
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
		if (!pending && !took) {
			/* Nothing of it arrived: its items may go out with a later run. */
			if (ob_db_exec(d->db, "UPDATE outbox_items SET live_key = NULL WHERE message = ?", idp, 1, NULL, &err) < 0)
				goto fail;
		}
		if (ob_db_commit(d->db, &err) < 0)
			goto fail;
		/* Counted once committed: a retry after a deadlock counts once. */
		d->counts->rcpt_dead += dead_now;
		if (pending) {
			d->counts->retry++;
			ob_log(OB_LOG_NOTICE, "outbox %llu: not delivered (attempt %u): %s; next try in %ld s", m->id,
			       m->attempts + 1, reply, delay);
		} else if (took) {
			d->counts->sent++;
			ob_debug("outbox %llu: sent: %s", m->id, reply);
		} else {
			d->counts->dead++;
			ob_log(OB_LOG_WARNING, "outbox %llu: dead: %s", m->id, reply);
		}
	}
	goto out;
lost:
	/* Another delivery took this message over (it thought this one
	 * dead): it records it; this one stops sending. */
	ob_err_set(&err, "outbox %llu is no longer claimed by this delivery (%s): another took it over; stopping",
		   m->id, d->claim);
fail:
	ob_db_rollback(d->db);
	d->db_failed = 1;
	d->dberr = err;
out:
	free(st);
	free(rrs);
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

/* 1 when every recipient of the message took it, and the message too. */
static int taken_by_all(const struct ob_transport_msg *tm)
{
	if (tm->code < 200 || tm->code >= 300 || tm->reply == NULL || tm->nrcpt == 0)
		return 0;
	for (size_t k = 0; k < tm->nrcpt; k++)
		if (tm->rcpt[k].code < 200 || tm->rcpt[k].code >= 300)
			return 0;
	return 1;
}

/* A message through the transport: recorded at once (a crash after that
 * sends nothing twice); one the transport did not reach is queued again.
 * With an idempotent transport one that everybody took waits for
 * record_held(), with the rest of the batch. */
static int sent_one(struct ob_transport_msg *tm, void *arg)
{
	struct deliver *d = arg;
	struct dmsg *m = tm->arg;
	if (tm->unreached)
		unreached(d, m);
	else if (d->defer && taken_by_all(tm)) {
		d->held[d->nheld].m = m;
		d->held[d->nheld++].reply = ob_xstrdup(tm->reply);
	} else
		record(d, m, tm->code, tm->reply, tm->why);
	return d->db_failed ? -1 : 0; /* what cannot be recorded must not be sent */
}

/* Records the held messages as sent in one transaction: every pending
 * recipient of theirs sent, then each message sent, checking that the
 * statements met exactly those rows. 0 recorded; 1 when they met other
 * rows than expected (rolled back: the caller records them one by one,
 * which tells what happened); -1 on a database failure (d->dberr). */
static int record_held_once(struct deliver *d)
{
	size_t n = d->nheld, nrcpt = 0, np = 0;
	struct ob_db_param *p = ob_xcalloc(3 * n + 2, sizeof(*p));
	struct ob_err err = {{0}};
	unsigned long long got = 0;
	char *sql = NULL, *cases = ob_xcalloc(n * 16 + 1, 1);
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		memcpy(cases + i * 16, " WHEN ? THEN ? ", 15);
		cases[i * 16 + 15] = ' ';
		nrcpt += d->held[i].m->nrcpt;
	}
	if (ob_db_begin(d->db, &err) < 0)
		goto fail;
	/* The replies by message (CASE), then the messages (IN). */
	for (size_t i = 0; i < n; i++) {
		p[np++] = ob_p_int((long long)d->held[i].m->id);
		p[np++] = ob_p_str(d->held[i].reply);
	}
	for (size_t i = 0; i < n; i++)
		p[np++] = ob_p_int((long long)d->held[i].m->id);
	{
		char *head = ob_xasprintf("UPDATE outbox_rcpts SET status = 'sent', reply = CASE message%sEND, "
					  "done_at = NOW(3) WHERE status = 'pending' AND message IN (",
					  cases);
		sql = ob_db_sql_list(head, n, ")");
		free(head);
	}
	if (ob_db_exec(d->db, sql, p, np, &got, &err) < 0)
		goto fail;
	free(sql);
	sql = NULL;
	if (got != nrcpt) {
		ob_log(OB_LOG_NOTICE, "outbox: recording %zu messages at once met %llu of their %zu pending recipients: "
				      "recording them one by one",
		       n, got, nrcpt);
		rc = 1;
		goto fail;
	}
	p[np++] = ob_p_str(d->claim);
	{
		char *head = ob_xasprintf("UPDATE outbox SET status = 'sent', attempts = attempts + 1, next_attempt_at = NULL, "
					  "last_reply = CASE id%sEND, sent_at = NOW(3), claimed_by = NULL, claimed_at = NULL "
					  "WHERE id IN (",
					  cases);
		sql = ob_db_sql_list(head, n, ") AND status = 'sending' AND claimed_by = ?");
		free(head);
	}
	if (ob_db_exec(d->db, sql, p, np, &got, &err) < 0)
		goto fail;
	if (got != n) {
		ob_log(OB_LOG_NOTICE, "outbox: recording %zu messages at once found %llu of them still claimed by this "
				      "delivery: recording them one by one",
		       n, got);
		rc = 1;
		goto fail;
	}
	if (ob_db_commit(d->db, &err) < 0)
		goto fail;
	free(sql);
	free(cases);
	free(p);
	d->counts->sent += n;
	for (size_t i = 0; i < n; i++)
		ob_debug("outbox %llu: sent: %s", d->held[i].m->id, d->held[i].reply);
	return 0;
fail:
	ob_db_rollback(d->db);
	if (rc < 0)
		d->dberr = err;
	free(sql);
	free(cases);
	free(p);
	return rc;
}

/* Records what record_held_once() could not: again once after a passing
 * hitch (as record()), one by one when the rows were not as expected. */
static void record_held(struct deliver *d)
{
	int rc = 0;

	if (d->nheld && !d->db_failed) {
		rc = record_held_once(d);
		if (rc < 0 && (d->dberr.code == OB_E_DEADLOCK || d->dberr.code == OB_E_LOCK_TIMEOUT ||
			       d->dberr.code == OB_E_DB_LOST)) {
			ob_log(OB_LOG_NOTICE, "outbox: %zu message%s written: recording met %s: trying again", d->nheld,
			       d->nheld == 1 ? "" : "s", d->dberr.msg);
			ob_err_clear(&d->dberr);
			rc = record_held_once(d);
		}
		if (rc < 0)
			d->db_failed = 1;
		else if (rc > 0)
			for (size_t i = 0; i < d->nheld && !d->db_failed; i++)
				record(d, d->held[i].m, 250, d->held[i].reply, d->held[i].reply);
	}
	for (size_t i = 0; i < d->nheld; i++)
		free(d->held[i].reply);
	d->nheld = 0;
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

/* One delivery pass: what it holds from start to end. */
struct pass {
	const struct ob_config *cfg;
	struct ob_db *db;
	char claim[300];  /* "host:pid:L<nonce>" ("N" without a lock) */
	char lock[80];    /* the user lock held while sending */
	int locks;        /* the server has user locks and this pass holds one */
	long batch;       /* messages a claim takes */
};

/* 1 when the user lock was free and is now this connection's, 0 when not
 * (err says why when the server refused). */
static int lock_take(struct ob_db *db, const char *lock, struct ob_err *err)
{
	struct ob_db_rows *l = NULL;
	struct ob_db_param q[1] = {ob_p_str(lock)};
	int got = ob_db_query(db, "SELECT GET_LOCK(?, 0)", q, 1, &l, err) == 0 && l->nrows && ob_db_cell(l, 0, 0) &&
		  atoi(ob_db_cell(l, 0, 0)) == 1;
	ob_db_rows_free(l);
	return got;
}

/* Takes the lock and names the claim; then gives back what dead
 * deliveries left claimed and lets old messages' text go. */
static int pass_begin(struct pass *p, struct ob_outbox_counts *counts, struct ob_err *err)
{
	char host[200] = "", rnd[17];
	struct ob_err lerr = {{0}};

	gethostname(host, sizeof(host) - 1);
	ob_outbox_random_hex(rnd, 8);
	snprintf(p->lock, sizeof(p->lock), CLAIM_LOCK_PREFIX "L%s", rnd);
	/* Held while this process sends: others see its claims are alive. */
	p->locks = lock_take(p->db, p->lock, &lerr);
	if (!p->locks)
		ob_debug("outbox: no user lock on this database server (%s): claims are checked by host, "
			 "process and lease",
			 lerr.msg[0] ? lerr.msg : "GET_LOCK refused");
	/* The claim names the host, the process and the lock ("L...", or
	 * "N..." without one). */
	snprintf(p->claim, sizeof(p->claim), "%s:%ld:%c%s", host, (long)getpid(), p->locks ? 'L' : 'N',
		 p->lock + strlen(CLAIM_LOCK_PREFIX) + 1);
	if (release_stale(p->cfg, p->db, p->claim, p->locks, &counts->requeued, err) < 0)
		return -1;
	{
		/* A sent message's text (its PDF, mostly) is kept keep_days; the
		 * row, its recipients and items (the dedupe keys) stay. */
		struct ob_db_param q[1] = {ob_p_int(p->cfg->mail.keep_days)};
		unsigned long long n = 0;
		if (ob_db_exec(p->db,
			       "UPDATE outbox SET mime = '' WHERE status IN ('sent', 'dry_run') "
			       "AND created_at < NOW(3) - INTERVAL ? DAY AND mime <> ''",
			       q, 1, &n, err) < 0)
			return -1;
		if (n)
			ob_info("outbox: the text of %llu message%s older than %d days let go (mail.keep_days)", n,
				n == 1 ? "" : "s", p->cfg->mail.keep_days);
	}
	return 0;
}

/* A reconnect (ob_db does one, silently) drops the lock: then others
 * would think this delivery dead. Takes it again before each batch. */
static int pass_keep_lock(struct pass *p, struct ob_err *err)
{
	struct ob_db_rows *l = NULL;
	struct ob_db_param q[1] = {ob_p_str(p->lock)};
	int held;

	if (!p->locks)
		return 0;
	held = ob_db_query(p->db, "SELECT IS_USED_LOCK(?) = CONNECTION_ID()", q, 1, &l, err) == 0 && l->nrows &&
	       ob_db_cell(l, 0, 0) && atoi(ob_db_cell(l, 0, 0)) == 1;
	ob_db_rows_free(l);
	if (!held && !lock_take(p->db, p->lock, err)) {
		ob_err_set(err, "outbox: lost the delivery's database lock %s and cannot take it again", p->lock);
		return -1;
	}
	return 0;
}

static void pass_end(struct pass *p)
{
	if (p->locks) {
		struct ob_db_param q[1] = {ob_p_str(p->lock)};
		struct ob_db_rows *l = NULL;
		struct ob_err lerr = {{0}};
		if (ob_db_query(p->db, "SELECT RELEASE_LOCK(?)", q, 1, &l, &lerr) == 0)
			ob_db_rows_free(l);
	}
}

/* The claimed messages (r) with their pending recipients (rr), both by id. */
static struct dmsg *dmsgs_load(const struct ob_config *cfg, const struct ob_db_rows *r, const struct ob_db_rows *rr)
{
	size_t n = r->nrows;
	struct dmsg *ms = ob_xcalloc(n + 1, sizeof(*ms));

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
	return ms;
}

/* Fewest attempts first: a message that keeps breaking sessions does not
 * stand in front of the others. */
static const char due_sql[] = "SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= NOW(3) "
			      "ORDER BY attempts, next_attempt_at, id LIMIT ?";
static const char claimed_sql[] = "SELECT id, attempts, UNIX_TIMESTAMP(expires_at), mime, mail_from FROM outbox "
				  "WHERE status = 'sending' AND claimed_by = ? ORDER BY id";
static const char claimed_rcpts_sql[] =
	"SELECT r.message, r.seq, r.email FROM outbox_rcpts r JOIN outbox o ON o.id = r.message "
	"WHERE o.status = 'sending' AND o.claimed_by = ? AND r.status = 'pending' ORDER BY r.message, r.seq";

/* Claims a batch of what is due. Returns its size (0: nothing is due), or
 * -1 with err. */
static long pass_claim(struct pass *p, struct dmsg **out, struct ob_err *err)
{
	struct ob_db_rows *r = NULL, *rr = NULL;
	struct ob_db_param q[1] = {ob_p_str(p->claim)};
	unsigned long long claimed = 0;
	long n;

	/* Which are due, in order, by a query that reads only the columns it
	 * names (an UPDATE ... ORDER BY ... LIMIT reads every queued row
	 * whole, the messages' text with it, for every batch); then those
	 * claimed, each only if still queued: one another delivery took
	 * meanwhile is not. All of them taken: look again. */
	for (int tries = 0; claimed == 0 && tries < 10; tries++) {
		struct ob_db_param lim[1] = {ob_p_int(p->batch)};
		struct ob_db_param *cp;
		char *sql;
		int rc;

		if (ob_db_query(p->db, due_sql, lim, 1, &r, err) < 0)
			return -1;
		if (r->nrows == 0) {
			ob_db_rows_free(r);
			return 0;
		}
		cp = ob_xcalloc(r->nrows + 1, sizeof(*cp));
		cp[0] = ob_p_str(p->claim);
		for (size_t i = 0; i < r->nrows; i++)
			cp[i + 1] = ob_p_int(atoll(ob_db_cell(r, i, 0)));
		sql = ob_db_sql_list("UPDATE outbox SET status = 'sending', claimed_by = ?, claimed_at = NOW(3) "
			       "WHERE status = 'queued' AND next_attempt_at <= NOW(3) AND id IN (",
			       r->nrows, ")");
		rc = ob_db_exec(p->db, sql, cp, r->nrows + 1, &claimed, err);
		free(sql);
		free(cp);
		ob_db_rows_free(r);
		r = NULL;
		if (rc < 0)
			return -1;
	}
	if (claimed == 0)
		return 0;
	if (ob_db_query(p->db, claimed_sql, q, 1, &r, err) < 0 || ob_db_query(p->db, claimed_rcpts_sql, q, 1, &rr, err) < 0) {
		ob_db_rows_free(r);
		return -1;
	}
	*out = dmsgs_load(p->cfg, r, rr);
	n = (long)r->nrows;
	ob_db_rows_free(r);
	ob_db_rows_free(rr);
	return n;
}

/* Hands a batch to the transport; a message with nobody left to send to
 * is settled first. Returns -1 when the transport failed as a whole (the
 * rest would meet the same: they wait), else 0; a database failure is in
 * d->db_failed. */
static int pass_send(const struct ob_transport *tp, void *tstate, struct deliver *d, struct dmsg *ms, size_t n)
{
	struct ob_transport_msg *tm = ob_xcalloc(n + 1, sizeof(*tm));
	struct ob_err serr = {{0}};
	size_t nt = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (ms[i].nrcpt == 0) {
			record(d, &ms[i], 0, NULL, "no recipient is left to send to");
			continue;
		}
		tm[nt].id = ms[i].id;
		tm[nt].from = ms[i].from;
		tm[nt].data = ms[i].mime;
		tm[nt].len = ms[i].len;
		tm[nt].rcpt = ms[i].rcpt;
		tm[nt].nrcpt = ms[i].nrcpt;
		tm[nt].arg = &ms[i];
		nt++;
	}
	/* sent_one() records each message as soon as the transport has its
	 * answer (an idempotent transport's taken ones: all at once, after);
	 * what it did not reach waits, with the transport's error. */
	d->defer = tp->idempotent;
	d->held = ob_xcalloc(nt + 1, sizeof(*d->held));
	if (nt && !d->db_failed && tp->send(tstate, tm, nt, sent_one, d, &serr) < 0) {
		ob_log(OB_LOG_WARNING, "outbox: %s: %zu message%s wait for the next try", serr.msg, nt, nt == 1 ? "" : "s");
		rc = -1;
	}
	record_held(d);
	free(d->held);
	d->held = NULL;
	free(tm);
	return rc;
}

int ob_outbox_deliver(const struct ob_config *cfg, struct ob_db *db, int (*stop)(void),
		      struct ob_outbox_counts *counts, struct ob_err *err)
{
	struct pass p;
	const struct ob_transport *tp = ob_transport_for(cfg);
	void *tstate = NULL;
	int rc = -1, opened = 0;

	memset(counts, 0, sizeof(*counts));
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.db = db;
	/* mail.batch is messages per SMTP session; a transport that records
	 * a batch in one transaction (the maildir) takes four times that per
	 * claim: a quarter of the commits. */
	p.batch = tp->idempotent ? 4L * cfg->mail.batch : cfg->mail.batch;
	if (pass_begin(&p, counts, err) < 0)
		goto out;
	/* A configuration problem: nothing is claimed, everything waits. */
	if (tp->open(cfg, &tstate, err) < 0)
		goto out;
	opened = 1;
	while (stop == NULL || !stop()) {
		struct deliver d = {.cfg = cfg, .db = db, .counts = counts, .claim = p.claim};
		struct dmsg *ms = NULL;
		long n;
		int session_failed;

		if (pass_keep_lock(&p, err) < 0 || (n = pass_claim(&p, &ms, err)) < 0)
			goto out;
		if (n == 0)
			break;
		session_failed = pass_send(tp, tstate, &d, ms, (size_t)n) < 0;
		dmsgs_free(ms, (size_t)n);
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
	pass_end(&p);
	if (opened)
		tp->close(tstate);
	return rc;
}
