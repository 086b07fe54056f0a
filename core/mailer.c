/* mailer.c - overblikd's side of the outbox: it looks at the outbox off
 * the loop (on the database thread) every poll_interval and when a run or
 * an operator adds mail, and when something is due it starts a delivery
 * process ("overblikd --deliver"), one at a time, which sends what is due
 * and exits. SMTP never runs in overblikd itself: a hanging server or a
 * crash in the TLS stack costs one delivery, not the loop. */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "dbq.h"
#include "log.h"
#include "mailer.h"
#include "spawn.h"
#include "outbox.h"
#include "util.h"

struct ob_mailer {
	struct ob_mailer_host host;
	struct event *timer;
	pid_t pid;                    /* the delivery process, or 0 */
	struct timespec started;
	int look_pending;
	int kicked;                   /* look again when the delivery ends */
	int failing;                  /* deliveries in a row that failed */
	int stopping;
	struct ob_outbox_stats stats; /* at the last look */
	time_t stats_at;
	int stats_ok;
	unsigned long deliveries_total;         /* delivery processes that ended */
	unsigned long delivery_failures_total;  /* ... and did not exit 0 */
};

struct look {
	struct ob_mailer *m;
	int after_delivery;          /* a delivery just ended */
	struct ob_outbox_stats st;
	int ok;
	char error[1024];
};

static void arm(struct ob_mailer *m, long seconds)
{
	struct timeval tv = {seconds, 0};
	if (m->timer && !m->stopping)
		evtimer_add(m->timer, &tv);
}

static void spawn(struct ob_mailer *m)
{
	pid_t pid = m->host.spawn(m->host.ctx, "--deliver", NULL, 1);

	if (pid < 0) {
		ob_warn("outbox: fork");
		return;
	}
	m->pid = pid;
	clock_gettime(CLOCK_MONOTONIC, &m->started);
	ob_debug("outbox: delivery started (pid %ld)", (long)pid);
}

static void look_work(struct ob_db *db, void *arg)
{
	struct look *l = arg;
	struct ob_err err = {{0}};
	l->ok = ob_outbox_stats(db, &l->st, &err) == 0;
	snprintf(l->error, sizeof(l->error), "%s", err.msg);
}

static void look_done(void *arg)
{
	struct look *l = arg;
	struct ob_mailer *m = l->m;
	long next = m->host.config(m->host.ctx)->mail.poll_interval;

	m->look_pending = 0;
	if (!l->ok) {
		ob_log(OB_LOG_WARNING, "outbox: cannot look at the outbox: %s", l->error);
	} else {
		m->stats = l->st;
		m->stats_at = time(NULL);
		m->stats_ok = 1;
		/* Messages left 'sending' by a delivery that died are put back by
		 * the next delivery: start one for them too, but not right after
		 * one ended (they may be another server's, still sending). */
		if ((l->st.due > 0 || (l->st.count[1] > 0 && !l->after_delivery)) && m->pid == 0 && !m->stopping)
			spawn(m);
		else if (l->st.next_due_in >= 0 && l->st.next_due_in < next)
			next = l->st.next_due_in > 0 ? l->st.next_due_in : 1;
	}
	free(l);
	if (m->pid == 0)
		arm(m, next);
	m->host.idle(m->host.ctx);
}

static void look(struct ob_mailer *m, int after_delivery)
{
	struct look *l;

	if (m->stopping || m->look_pending)
		return;
	if (m->pid) { /* look again when this delivery is done */
		m->kicked = 1;
		return;
	}
	l = ob_xcalloc(1, sizeof(*l));
	l->m = m;
	l->after_delivery = after_delivery;
	m->look_pending = 1;
	if (m->timer)
		evtimer_del(m->timer);
	ob_dbq_submit(m->host.dbq, look_work, look_done, l);
}

void ob_mailer_look(struct ob_mailer *m)
{
	look(m, 0);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	ob_mailer_look(arg);
}

struct ob_mailer *ob_mailer_new(const struct ob_mailer_host *host)
{
	struct ob_mailer *m = ob_xcalloc(1, sizeof(*m));

	m->host = *host;
	m->timer = evtimer_new(host->base, on_timer, m);
	ob_mailer_look(m);
	return m;
}

int ob_mailer_busy(const struct ob_mailer *m)
{
	return m && m->pid != 0;
}

/* How a delivery ended, in the log: failures when they start, then every
 * 20th time, until it works. */
static void log_end(struct ob_mailer *m, int status)
{
	struct timespec t;
	int fine = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == OB_DELIVER_EXIT_SMTP_DOWN);

	clock_gettime(CLOCK_MONOTONIC, &t);
	if (fine)
		ob_debug("outbox: delivery done in %.2f s%s",
			 (double)(t.tv_sec - m->started.tv_sec) + (t.tv_nsec - m->started.tv_nsec) / 1e9,
			 WEXITSTATUS(status) ? " (the SMTP server was not usable: the rest waits)" : "");
	else {
		int level = m->failing % 20 == 0 ? OB_LOG_WARNING : OB_LOG_DEBUG;
		m->delivery_failures_total++;
		m->failing++;
		if (WIFSIGNALED(status))
			ob_log(level, "outbox: the delivery process was killed by %s (%d time%s in a row)",
			       strsignal(WTERMSIG(status)), m->failing, m->failing == 1 ? "" : "s");
		else
			ob_log(level, "outbox: the delivery process failed (exit %d, %d time%s in a row; its error is above)",
			       WEXITSTATUS(status), m->failing, m->failing == 1 ? "" : "s");
	}
	if (fine && m->failing) {
		ob_log(OB_LOG_NOTICE, "outbox: the delivery works again after %d failure%s", m->failing,
		       m->failing == 1 ? "" : "s");
		m->failing = 0;
	}
}

void ob_mailer_reap(struct ob_mailer *m)
{
	int status;

	if (m->pid <= 0 || ob_spawn_reap(m->pid, &status, 0) != 1)
		return;
	m->pid = 0;
	m->deliveries_total++;
	log_end(m, status);
	if (m->stopping) {
		m->host.idle(m->host.ctx);
		return;
	}
	/* What it left due (a failure's retry is later) is looked at now after
	 * a clean exit, at the next interval after a failed one or when the
	 * SMTP server could not be used (no busy loop against a dead server). */
	if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) || m->kicked) {
		look(m, !m->kicked);
		m->kicked = 0;
	} else
		arm(m, m->host.config(m->host.ctx)->mail.poll_interval);
}

void ob_mailer_stop(struct ob_mailer *m)
{
	m->stopping = 1;
	if (m->timer)
		evtimer_del(m->timer);
	if (m->pid > 0) {
		ob_log(OB_LOG_NOTICE, "outbox: asking the delivery (pid %ld) to stop after the messages it is sending",
		       (long)m->pid);
		ob_spawn_signal(m->pid, SIGTERM); /* then SIGKILL at the grace period's end: ob_mailer_kill */
	}
}

void ob_mailer_kill(struct ob_mailer *m)
{
	if (m->pid > 0) {
		ob_log(OB_LOG_WARNING, "outbox: the delivery (pid %ld) is still sending after the grace period: killing it",
		       (long)m->pid);
		ob_spawn_signal(m->pid, SIGKILL);
	}
}

void ob_mailer_metrics(const struct ob_mailer *m, struct ob_buf *b)
{
	if (m->stats_ok) {
		const struct ob_outbox_stats *st = &m->stats;
		double age = st->count[0] ? st->oldest_queued_age + difftime(time(NULL), m->stats_at) : 0;
		ob_buf_adds(b, "# HELP overblik_outbox_messages Messages in the outbox by status (at the last look).\n"
			       "# TYPE overblik_outbox_messages gauge\n");
		for (int k = 0; k < OB_OUTBOX_NSTATUS; k++)
			ob_buf_printf(b, "overblik_outbox_messages{status=\"%s\"} %lu\n", ob_outbox_status_names[k],
				      st->count[k]);
		ob_buf_printf(b,
			      "# HELP overblik_outbox_oldest_queued_seconds Age of the oldest message waiting to be sent.\n"
			      "# TYPE overblik_outbox_oldest_queued_seconds gauge\n"
			      "overblik_outbox_oldest_queued_seconds %.0f\n"
			      "# HELP overblik_outbox_last_look_seconds Seconds since overblikd last looked at the outbox.\n"
			      "# TYPE overblik_outbox_last_look_seconds gauge\n"
			      "overblik_outbox_last_look_seconds %.0f\n",
			      age, difftime(time(NULL), m->stats_at));
	}
	ob_buf_printf(b,
		      "# HELP overblik_outbox_deliveries_total Delivery processes that ended, since start.\n"
		      "# TYPE overblik_outbox_deliveries_total counter\noverblik_outbox_deliveries_total %lu\n"
		      "# HELP overblik_outbox_delivery_failures_total Delivery processes that failed (database, crash).\n"
		      "# TYPE overblik_outbox_delivery_failures_total counter\noverblik_outbox_delivery_failures_total %lu\n"
		      "# HELP overblik_outbox_delivering Whether a delivery process is running.\n"
		      "# TYPE overblik_outbox_delivering gauge\noverblik_outbox_delivering %d\n",
		      m->deliveries_total, m->delivery_failures_total, m->pid > 0);
}

void ob_mailer_free(struct ob_mailer *m)
{
	if (m == NULL)
		return;
	if (m->timer)
		event_free(m->timer);
	free(m);
}

/* ---- the delivery process ---- */

static sigset_t stop_set;

/* SIGTERM stays blocked while sending (a signal would break libesmtp's
 * poll() mid-session); it is seen here, between batches. */
static int stop_requested(void)
{
	sigset_t pending;
	return sigpending(&pending) == 0 && (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT));
}

int ob_mailer_deliver(const struct ob_config *cfg)
{
	struct ob_db *db = NULL;
	struct ob_err err = {{0}};
	struct ob_outbox_counts n;
	int rc = 1;

	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGTERM);
	sigaddset(&stop_set, SIGINT);
	sigprocmask(SIG_BLOCK, &stop_set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (ob_db_open(cfg, &db, &err) < 0) {
		ob_log(OB_LOG_ERR, "outbox: %s", err.msg);
		return 1;
	}
	if (ob_outbox_deliver(cfg, db, stop_requested, &n, &err) < 0)
		ob_log(OB_LOG_ERR, "outbox: delivery stopped: %s", err.msg);
	else
		rc = n.smtp_down ? OB_DELIVER_EXIT_SMTP_DOWN : 0;
	if (n.sent || n.retry || n.dead || n.rcpt_dead)
		ob_info("outbox: %lu sent, %lu to retry, %lu dead, %lu recipient%s refused", n.sent, n.retry, n.dead,
			n.rcpt_dead, n.rcpt_dead == 1 ? "" : "s");
	ob_db_close(db);
	return rc;
}
