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
#include "outbox.h"
#include "server.h"

struct look {
	struct ob_server *srv;
	int after_delivery;          /* a delivery just ended */
	struct ob_outbox_stats st;
	int ok;
	char error[1024];
};

static void arm(struct ob_server *srv, long seconds)
{
	struct timeval tv = {seconds, 0};
	if (srv->mail_timer && !srv->stopping)
		evtimer_add(srv->mail_timer, &tv);
}

static void spawn(struct ob_server *srv)
{
	pid_t pid = ob_server_spawn(srv, "--deliver", NULL, 1);

	if (pid < 0) {
		ob_warn("outbox: fork");
		return;
	}
	srv->mail_pid = pid;
	clock_gettime(CLOCK_MONOTONIC, &srv->mail_started);
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
	struct ob_server *srv = l->srv;
	long next = srv->cfg->mail.poll_interval;

	srv->mail_look_pending = 0;
	if (!l->ok) {
		ob_log(OB_LOG_WARNING, "outbox: cannot look at the outbox: %s", l->error);
	} else {
		srv->mail_stats = l->st;
		srv->mail_stats_at = time(NULL);
		srv->mail_stats_ok = 1;
		/* Messages left 'sending' by a delivery that died are put back by
		 * the next delivery: start one for them too, but not right after
		 * one ended (they may be another server's, still sending). */
		if ((l->st.due > 0 || (l->st.count[1] > 0 && !l->after_delivery)) && srv->mail_pid == 0 &&
		    !srv->stopping)
			spawn(srv);
		else if (l->st.next_due_in >= 0 && l->st.next_due_in < next)
			next = l->st.next_due_in > 0 ? l->st.next_due_in : 1;
	}
	free(l);
	if (srv->mail_pid == 0)
		arm(srv, next);
	ob_server_maybe_exit(srv);
}

static void look(struct ob_server *srv, int after_delivery)
{
	struct look *l;

	if (srv->stopping || srv->mail_look_pending)
		return;
	if (srv->mail_pid) { /* look again when this delivery is done */
		srv->mail_kicked = 1;
		return;
	}
	l = ob_xcalloc(1, sizeof(*l));
	l->srv = srv;
	l->after_delivery = after_delivery;
	srv->mail_look_pending = 1;
	if (srv->mail_timer)
		evtimer_del(srv->mail_timer);
	ob_dbq_submit(srv->dbq, look_work, look_done, l);
}

void ob_mailer_look(struct ob_server *srv)
{
	look(srv, 0);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	ob_mailer_look(arg);
}

void ob_mailer_start(struct ob_server *srv)
{
	srv->mail_timer = evtimer_new(srv->base, on_timer, srv);
	ob_mailer_look(srv);
}

void ob_mailer_reap(struct ob_server *srv)
{
	int status;
	struct timespec t;

	if (srv->mail_pid <= 0 || waitpid(srv->mail_pid, &status, WNOHANG) != srv->mail_pid)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	srv->mail_pid = 0;
	srv->m.deliveries_total++;
	if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == OB_DELIVER_EXIT_SMTP_DOWN))
		ob_debug("outbox: delivery done in %.2f s%s",
			 (double)(t.tv_sec - srv->mail_started.tv_sec) + (t.tv_nsec - srv->mail_started.tv_nsec) / 1e9,
			 WEXITSTATUS(status) ? " (the SMTP server was not usable: the rest waits)" : "");
	else {
		/* Logged when it starts failing, then every 20th time, until it works. */
		int level = srv->mail_failing % 20 == 0 ? OB_LOG_WARNING : OB_LOG_DEBUG;
		srv->m.delivery_failures_total++;
		srv->mail_failing++;
		if (WIFSIGNALED(status))
			ob_log(level, "outbox: the delivery process was killed by %s (%d time%s in a row)",
			       strsignal(WTERMSIG(status)), srv->mail_failing, srv->mail_failing == 1 ? "" : "s");
		else
			ob_log(level, "outbox: the delivery process failed (exit %d, %d time%s in a row; its error is above)",
			       WEXITSTATUS(status), srv->mail_failing, srv->mail_failing == 1 ? "" : "s");
	}
	if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == OB_DELIVER_EXIT_SMTP_DOWN) &&
	    srv->mail_failing) {
		ob_log(OB_LOG_NOTICE, "outbox: the delivery works again after %d failure%s", srv->mail_failing,
		       srv->mail_failing == 1 ? "" : "s");
		srv->mail_failing = 0;
	}
	if (srv->stopping) {
		ob_server_maybe_exit(srv);
		return;
	}
	/* What it left due (a failure's retry is later) is looked at now after
	 * a clean exit, at the next interval after a failed one or when the
	 * SMTP server could not be used (no busy loop against a dead server). */
	if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) || srv->mail_kicked) {
		look(srv, !srv->mail_kicked);
		srv->mail_kicked = 0;
	} else
		arm(srv, srv->cfg->mail.poll_interval);
}

void ob_mailer_stop(struct ob_server *srv)
{
	if (srv->mail_timer)
		evtimer_del(srv->mail_timer);
	if (srv->mail_pid > 0) {
		ob_log(OB_LOG_NOTICE, "outbox: asking the delivery (pid %ld) to stop after the messages it is sending",
		       (long)srv->mail_pid);
		kill(srv->mail_pid, SIGTERM);
	}
}

void ob_mailer_kill(struct ob_server *srv)
{
	if (srv->mail_pid > 0) {
		ob_log(OB_LOG_WARNING, "outbox: the delivery (pid %ld) is still sending after the grace period: killing it",
		       (long)srv->mail_pid);
		kill(srv->mail_pid, SIGKILL);
	}
}

void ob_mailer_free(struct ob_server *srv)
{
	if (srv->mail_timer)
		event_free(srv->mail_timer);
	srv->mail_timer = NULL;
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
