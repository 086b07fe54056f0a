/* mailer.h - overblikd's side of the outbox: looks at it off the loop and
 * starts one delivery process at a time when something is due. The server
 * owns it and hands it what it needs (struct ob_mailer_host); the mailer
 * calls nothing else of the server's. */
#ifndef OB_MAILER_H
#define OB_MAILER_H

#include <sys/types.h>

struct event_base;
struct ob_buf;
struct ob_config;
struct ob_dbq;
struct ob_mailer;

struct ob_mailer_host {
	struct event_base *base;
	struct ob_dbq *dbq;
	void *ctx;                                       /* the hooks' first argument */
	const struct ob_config *(*config)(void *ctx);    /* the configuration in force */
	/* Starts "overblikd MODE ARG" (ob_server_spawn): its pid, or -1 (errno). */
	pid_t (*spawn)(void *ctx, const char *mode, const char *arg, int fail_code);
	void (*idle)(void *ctx);                         /* a look or a delivery ended */
};

/* Makes the mailer and looks at the outbox at once. */
struct ob_mailer *ob_mailer_new(const struct ob_mailer_host *host);
/* Looks at the outbox now (after a run, a retry, SIGHUP) and starts a delivery when something is due. */
void ob_mailer_look(struct ob_mailer *m);
/* After SIGCHLD: reaps the delivery process if it ended. */
void ob_mailer_reap(struct ob_mailer *m);
void ob_mailer_stop(struct ob_mailer *m);  /* at shutdown: SIGTERM, it stops between batches */
void ob_mailer_kill(struct ob_mailer *m);  /* after the grace period */
/* A delivery process runs. */
int ob_mailer_busy(const struct ob_mailer *m);
/* Its lines of /metrics (Prometheus text). */
void ob_mailer_metrics(const struct ob_mailer *m, struct ob_buf *b);
void ob_mailer_free(struct ob_mailer *m);

/* overblikd --deliver: sends what is due and returns the exit code: 0,
 * 1 (database), or this when the SMTP server could not be used. */
#define OB_DELIVER_EXIT_SMTP_DOWN 3
int ob_mailer_deliver(const struct ob_config *cfg);

#endif
