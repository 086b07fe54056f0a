/* scheduler.c - the schedules: a timer per report, each fire claimed in the
 * database with its runs (one transaction), and the catch-up of fires
 * missed while no server ran. Runs on the loop; SQL goes through the
 * database thread. The runs a fire makes go to the server's runs_made. */
#include "config.h"

#include <event2/event.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "cron.h"
#include "db.h"
#include "dbq.h"
#include "log.h"
#include "outbox.h"
#include "plugin.h"
#include "run.h"
#include "scheduler.h"
#include "util.h"

struct schedule {
	char *report;
	struct ob_cron cron;
	int catch_up;         /* seconds */
	time_t next;          /* the next fire */
	struct event *timer;
	struct ob_scheduler *owner;
};

struct ob_scheduler {
	struct ob_sched_host host;
	char *runner;
	struct schedule *v;
	size_t n;
};

struct fire {
	struct ob_scheduler *s;
	char *report;
	time_t at;
	int missed;          /* record as missed, do not run */
	unsigned long long *ids;
	size_t nids;
	int claimed;
	int failed;          /* its runs could not be made: left unclaimed (logged) */
	const struct ob_config *cfg; /* the digest's: freed after this job (server.c) */
	struct ob_outbox_digested digested;
};

static int is_digest(const char *report)
{
	return strcmp(report, OB_SCHED_DIGEST) == 0;
}

/* On the database thread: the digest of a claimed fire. The claim is
 * committed first: a crash in between leaves the pending items to the
 * catch-up at the next start (catch_up_work). */
static void digest_work(struct ob_db *db, struct fire *f)
{
	struct ob_err err = {{0}};

	if (f->cfg == NULL)
		return;
	if (ob_outbox_digest(f->cfg, db, &f->digested, &err) < 0)
		ob_log(OB_LOG_ERR, "mail digest: %s (what was composed stays; the rest waits for the next digest)",
		       err.msg);
}

/* On the database thread: claim the fire; whoever inserts the row runs it,
 * one run per organisation (or one without, when there is none). The claim
 * and the runs are one transaction: a fire is claimed with all its runs or
 * not at all (a failure leaves it to the catch-up at the next start). */
static void fire_work(struct ob_db *db, void *arg)
{
	struct fire *f = arg;
	struct ob_err err = {{0}};
	unsigned long long affected = 0;
	struct ob_db_param p[4] = {ob_p_str(f->report), ob_p_int((long long)f->at),
				   ob_p_str(f->missed ? "missed" : "claimed"), ob_p_str(f->s->host.runner)};
	char as_of[11];
	struct tm tm;
	int32_t day;

	if (ob_db_begin(db, &err) < 0 ||
	    ob_db_exec(db,
		       "INSERT IGNORE INTO schedule_fires (report, fire_at, outcome, claimed_by) "
		       "VALUES (?, FROM_UNIXTIME(?), ?, ?)",
		       p, 4, &affected, &err) < 0) {
		ob_db_rollback(db);
		ob_log(OB_LOG_ERR, "schedule %s: cannot claim the fire: %s", f->report, err.msg);
		return;
	}
	if (affected == 0 || f->missed || is_digest(f->report)) {
		if (ob_db_commit(db, &err) < 0) {
			ob_db_rollback(db);
			ob_log(OB_LOG_ERR, "schedule %s: cannot record the fire: %s", f->report, err.msg);
			affected = 0;
		}
		f->claimed = affected > 0;
		if (f->claimed && !f->missed && is_digest(f->report))
			digest_work(db, f);
		return;
	}
	localtime_r(&f->at, &tm);
	day = ob_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	ob_date_format(day, as_of);
	{
		struct ob_run_request rq = {f->report, 0, "schedule", f->at, as_of, "{}", 0};
		int r = ob_run_create_each_org(db, &rq, &f->ids, &f->nids, &err);
		if (r == 0 && f->nids == 0) { /* no organisation: one run without one, as always */
			free(f->ids);
			f->ids = ob_xcalloc(1, sizeof(*f->ids));
			r = ob_run_create(db, &rq, &f->ids[0], &err);
			f->nids = r == 0 ? 1 : 0;
		}
		if (r < 0 || ob_db_commit(db, &err) < 0) {
			ob_db_rollback(db);
			ob_log(OB_LOG_ERR, "schedule %s: cannot create its runs (the fire stays unclaimed): %s",
			       f->report, err.msg);
			free(f->ids);
			f->ids = NULL;
			f->nids = 0;
			f->failed = 1;
			return;
		}
	}
	f->claimed = 1;
}

static void fire_done(void *arg)
{
	struct fire *f = arg;
	char when[64];

	ob_cron_format_time(f->at, when, sizeof(when));
	if (f->missed)
		ob_log(OB_LOG_NOTICE, "schedule %s: the fire at %s was missed (past its catch-up window)%s", f->report,
		       when, f->claimed ? "" : "; already recorded");
	else if (!f->claimed && !f->failed)
		ob_debug("schedule %s: the fire at %s was claimed by another server", f->report, when);
	else if (f->claimed && is_digest(f->report))
		ob_info("schedule %s: fire at %s: %u message%s", f->report, when, f->digested.messages,
			f->digested.messages == 1 ? "" : "s");
	else if (f->claimed)
		ob_info("schedule %s: fire at %s: %zu run%s", f->report, when, f->nids, f->nids == 1 ? "" : "s");
	if (f->digested.messages && f->s->host.outbox_changed)
		f->s->host.outbox_changed(f->s->host.ctx);
	if (f->nids)
		f->s->host.runs_made(f->s->host.ctx, f->report, f->ids, f->nids);
	free(f->ids);
	free(f->report);
	free(f);
}

static void fire(struct ob_scheduler *s, const char *report, time_t at, int missed)
{
	struct fire *f = ob_xcalloc(1, sizeof(*f));
	f->s = s;
	f->report = ob_xstrdup(report);
	f->at = at;
	f->missed = missed;
	f->cfg = s->host.config ? s->host.config(s->host.ctx) : NULL;
	ob_dbq_submit(s->host.dbq, fire_work, fire_done, f);
}

static void arm(struct schedule *s)
{
	time_t now = time(NULL);
	struct timeval tv;

	if (ob_cron_next(&s->cron, now, &s->next) < 0) {
		ob_log(OB_LOG_WARNING, "schedule %s: never fires again", s->report);
		return;
	}
	tv.tv_sec = s->next - now;
	tv.tv_usec = 0;
	evtimer_add(s->timer, &tv);
}

static void on_fire(evutil_socket_t fd, short what, void *arg)
{
	struct schedule *s = arg;
	time_t now = time(NULL);

	if (now < s->next) { /* woke early (clock changes): wait the rest */
		struct timeval tv = {s->next - now, 0};
		evtimer_add(s->timer, &tv);
		return;
	}
	if (!s->owner->host.stopping(s->owner->host.ctx))
		fire(s->owner, s->report, s->next, 0);
	arm(s);
}

struct catch_up {
	struct ob_scheduler *s;
	char *report;
	struct ob_cron cron;
	int window;
	time_t *fires;   /* found on the database thread */
	size_t nfires;
	int stale;       /* the digest: items pending from before its last fire */
};

static void catch_up_work(struct ob_db *db, void *arg)
{
	struct catch_up *c = arg;
	struct ob_err err = {{0}};
	struct ob_db_rows *r = NULL;
	struct ob_db_param p[1] = {ob_p_str(c->report)};
	time_t t, now = time(NULL);

	if (ob_db_query(db, "SELECT UNIX_TIMESTAMP(MAX(fire_at)) FROM schedule_fires WHERE report = ?", p, 1, &r,
			&err) < 0) {
		ob_log(OB_LOG_ERR, "schedule %s: catch-up: %s", c->report, err.msg);
		return;
	}
	/* With no fire ever recorded there is nothing this server missed. */
	if (r->nrows == 1 && ob_db_cell(r, 0, 0)) {
		t = (time_t)atoll(ob_db_cell(r, 0, 0));
		while (c->nfires < 1000 && ob_cron_next(&c->cron, t, &t) == 0 && t <= now) {
			c->fires = ob_xrealloc(c->fires, (c->nfires + 1) * sizeof(time_t));
			c->fires[c->nfires++] = t;
		}
		/* A digest that claimed its fire and died before composing left
		 * what was pending then: it goes now, once. */
		if (c->nfires == 0 && is_digest(c->report)) {
			struct ob_db_rows *q = NULL;
			struct ob_db_param pp[1] = {ob_p_int(atoll(ob_db_cell(r, 0, 0)))};
			if (ob_db_query(db, "SELECT 1 FROM outbox WHERE status = 'pending' AND created_at < FROM_UNIXTIME(?) LIMIT 1",
					pp, 1, &q, &err) == 0)
				c->stale = q->nrows > 0;
			ob_db_rows_free(q);
		}
	}
	ob_db_rows_free(r);
}

/* On the database thread: the digest of stale pending items, unclaimed. */
static void stale_work(struct ob_db *db, void *arg)
{
	digest_work(db, arg);
}

static void catch_up_done(void *arg)
{
	struct catch_up *c = arg;
	time_t now = time(NULL);

	/* Every missed fire is recorded; only the last runs, and only within the window. */
	for (size_t i = 0; i < c->nfires; i++) {
		int last = i + 1 == c->nfires;
		fire(c->s, c->report, c->fires[i], !(last && now - c->fires[i] <= c->window));
	}
	if (c->stale) {
		struct fire *f = ob_xcalloc(1, sizeof(*f));
		f->s = c->s;
		f->report = ob_xstrdup(c->report);
		f->at = now;
		f->claimed = 1;
		f->cfg = c->s->host.config ? c->s->host.config(c->s->host.ctx) : NULL;
		ob_log(OB_LOG_NOTICE, "schedule %s: items pending from before the last digest: composing them now",
		       c->report);
		ob_dbq_submit(c->s->host.dbq, stale_work, fire_done, f);
	}
	free(c->fires);
	free(c->report);
	free(c);
}

void ob_sched_catch_up(struct ob_scheduler *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct catch_up *c = ob_xcalloc(1, sizeof(*c));
		c->s = s;
		c->report = ob_xstrdup(s->v[i].report);
		c->cron = s->v[i].cron;
		c->window = s->v[i].catch_up;
		ob_dbq_submit(s->host.dbq, catch_up_work, catch_up_done, c);
	}
}

const struct ob_cron *ob_sched_cron(const struct ob_scheduler *s, const char *report)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (strcmp(s->v[i].report, report) == 0)
			return &s->v[i].cron;
	return NULL;
}

void ob_sched_clear(struct ob_scheduler *s)
{
	for (size_t i = 0; i < s->n; i++) {
		event_free(s->v[i].timer);
		free(s->v[i].report);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

void ob_sched_set(struct ob_scheduler *s, const struct ob_config *cfg, const struct ob_plugin_set *plugins)
{
	struct ob_err err = {{0}};

	ob_sched_clear(s);
	s->v = ob_xcalloc(cfg->nreports + 2, sizeof(*s->v));
	if (cfg->mail.digest_at && s->host.config && ob_cron_parse(cfg->mail.digest_at, &s->v[0].cron, &err) == 0) {
		struct schedule *e = &s->v[s->n++];
		char when[64];
		e->report = ob_xstrdup(OB_SCHED_DIGEST);
		e->catch_up = INT_MAX;
		e->owner = s;
		e->timer = evtimer_new(s->host.base, on_fire, e);
		arm(e);
		ob_cron_format_time(e->next, when, sizeof(when));
		ob_info("mail digest: \"%s\", next at %s", cfg->mail.digest_at, when);
	}
	for (size_t i = 0; i < cfg->nreports; i++) {
		const struct ob_config_report *r = &cfg->reports[i];
		struct schedule *e = &s->v[s->n];
		char when[64];
		if (r->schedule == NULL || !r->enabled || !ob_plugins_find(plugins, r->name))
			continue;
		if (ob_cron_parse(r->schedule, &e->cron, &err) < 0)
			continue; /* the config was validated: not reached */
		e->report = ob_xstrdup(r->name);
		e->catch_up = r->catch_up;
		e->owner = s;
		e->timer = evtimer_new(s->host.base, on_fire, e);
		s->n++;
		arm(e);
		ob_cron_format_time(e->next, when, sizeof(when));
		ob_info("schedule %s: \"%s\", next at %s", e->report, r->schedule, when);
	}
}

struct ob_scheduler *ob_sched_new(const struct ob_sched_host *host)
{
	struct ob_scheduler *s = ob_xcalloc(1, sizeof(*s));

	s->host = *host;
	s->runner = ob_xstrdup(host->runner); /* the database thread reads it */
	s->host.runner = s->runner;
	return s;
}

void ob_sched_free(struct ob_scheduler *s)
{
	if (s == NULL)
		return;
	ob_sched_clear(s);
	free(s->runner);
	free(s);
}
