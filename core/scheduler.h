/* scheduler.h - the schedules: a timer per report with a cron expression, each
 * fire claimed in the database (so that several overblikd on one database
 * run it once) together with its runs, and the catch-up of fires missed
 * while no server ran. The server owns it and hands it what it needs
 * (struct ob_sched_host); the runs it makes go back through runs_made. */
#ifndef OB_SCHEDULER_H
#define OB_SCHEDULER_H

#include <stddef.h>

struct event_base;
struct ob_config;
struct ob_cron;
struct ob_dbq;
struct ob_plugin_set;
struct ob_scheduler;

struct ob_sched_host {
	struct event_base *base;
	struct ob_dbq *dbq;
	const char *runner;                /* "host:pid", recorded with each claim */
	void *ctx;                         /* the hooks' first argument */
	int (*stopping)(void *ctx);        /* no new fires once true */
	/* Runs were made for report (in the database): queue them. */
	void (*runs_made)(void *ctx, const char *report, const unsigned long long *ids, size_t n);
	/* For the mail digest (mail.digest_at; both may be NULL: no digest):
	 * the configuration in force, and the outbox has new messages due. */
	const struct ob_config *(*config)(void *ctx);
	void (*outbox_changed)(void *ctx);
};

/* The mail digest's schedule is named this in schedule_fires: claimed per
 * fire like a report's, missed fires caught up at the first start (the
 * last one always: pending items do not wait another day). */
#define OB_SCHED_DIGEST "@digest"

struct ob_scheduler *ob_sched_new(const struct ob_sched_host *host);
/* Sets the schedules of cfg's enabled reports that have a plugin in
 * plugins, and the mail digest's (mail.digest_at) (the old ones go). */
void ob_sched_set(struct ob_scheduler *s, const struct ob_config *cfg, const struct ob_plugin_set *plugins);
/* Drops every schedule (at shutdown). */
void ob_sched_clear(struct ob_scheduler *s);
/* At the first start: each schedule's missed fires are recorded; the last
 * one runs if it lies within the report's catch-up window. */
void ob_sched_catch_up(struct ob_scheduler *s);
/* The cron expression of report's schedule, or NULL when it has none. */
const struct ob_cron *ob_sched_cron(const struct ob_scheduler *s, const char *report);
void ob_sched_free(struct ob_scheduler *s);

#endif
