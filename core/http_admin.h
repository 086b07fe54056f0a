/* http_admin.h - the admin endpoint: a table of routes (http_admin.c), each
 * a method, a path pattern, the least role, the work on the database thread
 * and the reply. The server owns it and hands it what it needs (struct
 * ob_http_host); it calls nothing else of the server's. The only part of
 * overblikd that includes libevent's evhttp headers. */
#ifndef OB_HTTP_ADMIN_H
#define OB_HTTP_ADMIN_H

#include <stddef.h>
#include <time.h>

#include "run.h" /* enum ob_run_status */

struct event_base;
struct ob_buf;
struct ob_config;
struct ob_cron;
struct ob_dbq;
struct ob_err;
struct ob_http;
struct ob_plugin_set;

/* What /healthz shows. */
struct ob_health {
	const char *status;       /* "ok", "starting", "degraded", "stopping" */
	const char *reason;       /* why it is not ok, or NULL */
	int db_ok;                /* the last check passed and is recent */
	time_t db_checked;        /* when, 0 not yet */
	const char *db_error;     /* what is wrong with the database (never its own text), or NULL */
	int running, queued, stopping;
};

struct ob_http_host {
	struct event_base *base;
	struct ob_dbq *dbq;
	void *ctx;                                        /* the hooks' first argument */
	const struct ob_config *(*config)(void *ctx);     /* the configuration in force */
	const struct ob_plugin_set *(*plugins)(void *ctx);
	const struct ob_cron *(*schedule)(void *ctx, const char *report); /* NULL: none */
	int (*stopping)(void *ctx);
	void (*health)(void *ctx, struct ob_health *h);
	void (*metrics)(void *ctx, struct ob_buf *b);     /* /metrics's text */
	/* Runs were made for report (in the database): queue them. */
	void (*runs_made)(void *ctx, const char *report, const unsigned long long *ids, size_t n);
	void (*outbox_changed)(void *ctx);                /* look at the outbox now */
};

/* Listens on the configuration's /http/listen: 0 and *out (NULL when the
 * endpoint is off), or -1 with err. */
int ob_http_start(const struct ob_http_host *host, struct ob_http **out, struct ob_err *err);
/* Stops taking connections (at shutdown); requests under way are answered. */
void ob_http_stop(struct ob_http *h);
void ob_http_free(struct ob_http *h);

#endif
