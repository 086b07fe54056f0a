/* main.c - overblikd, the server: one libevent loop that owns the admin
 * endpoint, the schedules' timers and the supervision of runs, each run in
 * a worker process of its own. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <event2/http.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "dbq.h"
#include "log.h"
#include "run.h"
#include "server.h"

static const char usage_text[] =
	"Usage: overblikd [-c FILE] [-v] [-t]\n"
	"\n"
	"The overblik server. One event loop that\n"
	"  - keeps the portfolio database (a private MariaDB under state_dir/db unless\n"
	"    the configuration names a server) and applies schema migrations at start;\n"
	"  - loads the report plugins (every .so in plugin_dir; one built for another\n"
	"    ABI, malformed, or whose loading crashes, exits or hangs for 20 s, is\n"
	"    refused and named in the log and in /metrics), in a process of its own\n"
	"    while the endpoint answers (/healthz says \"starting\" until they are in);\n"
	"  - fires each report on its cron schedule in the configured time zone,\n"
	"    claiming every fire in the database so that several overblikd on one\n"
	"    database run it once; a fire missed while the server was down runs once\n"
	"    at start if it lies within the report's catch-up window (default 24 h),\n"
	"    and is recorded as missed otherwise;\n"
	"  - runs each report in a process of its own (killed at its timeout; a crash\n"
	"    fails only that run), at most max_runs at once, the rest queued in order;\n"
	"  - serves the admin endpoint (default 127.0.0.1:8470):\n"
	"      GET  /healthz                        no token\n"
	"      GET  /metrics                        Prometheus text, no token\n"
	"      GET  /api/v1/reports                 viewer\n"
	"      POST /api/v1/reports/NAME/runs       operator; body {\"as_of\", \"params\",\n"
	"                                           \"dry_run\", \"org\"}; 202 + Location\n"
	"      GET  /api/v1/runs?report=&status=&limit=&offset=   viewer\n"
	"      GET  /api/v1/runs/ID                 viewer\n"
	"      GET  /api/v1/runs/ID/files/NAME      viewer\n"
	"      GET  /api/v1/outbox?status=&limit=&before=   viewer; newest first\n"
	"      GET  /api/v1/outbox/ID               viewer; recipients, replies, items\n"
	"      POST /api/v1/outbox/ID/retry         operator; deliver it now\n"
	"    with \"Authorization: Bearer TOKEN\"; the configuration keeps each token's\n"
	"    SHA-256 (printf %s TOKEN | sha256sum) and its role, viewer or operator.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE  configuration (default etc/overblik.json, else the\n"
	"                     installed one, else the embedded defaults)\n"
	"  -t, --test-config  validate the configuration and exit\n"
	"  -v, --verbose      log debug messages\n"
	"  -h, --help         this text\n"
	"  -V, --version      print the version\n"
	"  --run-worker ID    (internal) execute run ID and exit; overblikd starts\n"
	"                     itself this way for every run\n"
	"  --list-plugins DIR (internal) load every plugin in DIR and print what was\n"
	"                     found; overblikd reads its plugins this way, so a plugin\n"
	"                     that crashes, exits or hangs while loading cannot take\n"
	"                     it down\n"
	"  --deliver          (internal) deliver the outbox's due messages and exit;\n"
	"                     overblikd starts itself this way when mail is due\n"
	"\n"
	"Signals: SIGHUP re-reads the configuration and the plugins (a broken new\n"
	"configuration, or one whose state_dir does not exist, is refused and logged,\n"
	"and the old one kept; the endpoint, running runs and the plugins in force go\n"
	"on until the new plugins are read). SIGTERM and SIGINT stop taking work, let running runs\n"
	"and the mail delivery (which stops after the batch it is sending) finish\n"
	"for up to grace_period seconds (default 30), and exit 0.\n"
	"\n"
	"Mail: a run's notices become one message per recipient in the outbox (in\n"
	"the database, with the run). When something is due, overblikd starts a\n"
	"delivery process that sends it over SMTP (mail.smtp in the configuration),\n"
	"or, with no SMTP server configured, writes each message as an .eml file\n"
	"into state_dir/outbox/new. Failures are retried after 1, 2, 4 ... minutes,\n"
	"at most an hour apart, until the message is 5 days old; then it is dead,\n"
	"with the server's last reply (see overblik outbox).\n"
	"\n"
	"Logs go to stderr, one line each, prefixed <N> with the syslog level when\n"
	"stderr is not a terminal (journald reads it). Tokens never appear in them.\n";

static struct ob_server srv;

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	ob_log(OB_LOG_NOTICE, "overblikd: %s received: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	ob_server_shutdown(&srv);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct ob_config *cfg = NULL;
	struct ob_err err = {{0}};

	if (ob_config_load(srv.config_path, srv.explicit_path, &cfg, &err) < 0) {
		ob_log(OB_LOG_ERR, "overblikd: SIGHUP: the new configuration is refused, the old one stays: %s", err.msg);
		return;
	}
	{
		/* At start a missing state_dir is made; on a reload it is a
		 * mistake (a typo would move the runs, the outbox and the managed
		 * database somewhere new): refused. */
		struct stat st;
		const char *why = NULL;
		if (stat(cfg->state_dir, &st) < 0)
			why = strerror(errno);
		else if (!S_ISDIR(st.st_mode))
			why = "not a directory";
		else if (access(cfg->state_dir, W_OK | X_OK) < 0)
			why = "not writable for this user";
		if (why) {
			ob_log(OB_LOG_ERR,
			       "overblikd: SIGHUP: the new configuration is refused, the old one stays: config %s: "
			       "/state_dir: %s: %s (a running server does not create it: make it, then send SIGHUP again)",
			       cfg->path, cfg->state_dir, why);
			ob_config_free(cfg);
			return;
		}
	}
	if (strcmp(cfg->http_listen, srv.cfg->http_listen) != 0) {
		ob_log(OB_LOG_WARNING, "overblikd: SIGHUP: /http/listen changed to %s; that takes a restart, "
				       "still listening on %s",
		       cfg->http_listen, srv.cfg->http_listen);
		free(cfg->http_listen);
		cfg->http_listen = ob_xstrdup(srv.cfg->http_listen);
	}
	if (strcmp(cfg->timezone, srv.cfg->timezone) != 0) {
		/* TZ is the process's: changing it under the database and mail
		 * threads' feet is not safe (setenv races getenv). */
		ob_log(OB_LOG_WARNING, "overblikd: SIGHUP: /timezone changed to %s; that takes a restart, "
				       "still using %s",
		       cfg->timezone, srv.cfg->timezone);
		free(cfg->timezone);
		cfg->timezone = ob_xstrdup(srv.cfg->timezone);
		/* The workers read the configuration's text: the zone in force there too. */
		cJSON *root = cfg->text ? cJSON_Parse(cfg->text) : NULL;
		if (root) {
			char *text;
			cJSON_DeleteItemFromObjectCaseSensitive(root, "timezone");
			cJSON_AddStringToObject(root, "timezone", cfg->timezone);
			text = cJSON_Print(root);
			free(cfg->text);
			cfg->text = ob_xstrdup(text);
			cJSON_free(text);
			cJSON_Delete(root);
		}
	}
	ob_server_set_config(&srv, cfg); /* the old one lives until the database jobs queued before are done */
	ob_log_threshold = ob_log_level_parse(cfg->log_level);
	/* The plugins are read off the loop; the reload is logged when they are in. */
	ob_server_configure(&srv, 1);
	ob_mailer_look(&srv); /* a new SMTP server or address may let waiting mail go */
}

static void on_chld(evutil_socket_t sig, short what, void *arg)
{
	ob_server_reap(&srv);
}

static void on_dbq_idle(void *arg)
{
	ob_server_maybe_exit(&srv);
}

static void on_health(evutil_socket_t fd, short what, void *arg)
{
	ob_server_check_db(&srv);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"test-config", no_argument, NULL, 't'},
					     {"verbose", no_argument, NULL, 'v'},
					     {"help", no_argument, NULL, 'h'},
					     {"version", no_argument, NULL, 'V'},
					     {"run-worker", required_argument, NULL, 'W'},
					     {"deliver", no_argument, NULL, 'D'},
					     {"list-plugins", required_argument, NULL, 'L'},
					     {"skip", required_argument, NULL, 'S'},
					     {NULL, 0, NULL, 0}};
	struct ob_err err = {{0}};
	struct ob_db *db = NULL;
	struct event *ev_term, *ev_int, *ev_hup, *ev_chld;
	struct timeval every = {10, 0};
	char exe[PATH_MAX];
	ssize_t n;
	int c, test_only = 0, verbose = 0, applied, deliver = 0;
	const char *list_dir = NULL;
	char *db_address = NULL;
	char **skip = NULL;
	size_t nskip = 0;
	unsigned long long worker = 0;

	srv.config_path = "etc/overblik.json";
	while ((c = getopt_long(argc, argv, "c:tvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': srv.config_path = optarg; srv.explicit_path = 1; break;
		case 't': test_only = 1; break;
		case 'v': verbose = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("overblikd %s\n", PACKAGE_VERSION); return 0;
		case 'W': worker = strtoull(optarg, NULL, 10); break;
		case 'D': deliver = 1; break;
		case 'L': list_dir = optarg; break;
		case 'S':
			skip = ob_xrealloc(skip, (nskip + 1) * sizeof(char *));
			skip[nskip++] = optarg;
			break;
		default: fprintf(stderr, "Try 'overblikd --help'.\n"); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "overblikd: unexpected argument '%s'\nTry 'overblikd --help'.\n", argv[optind]);
		return 2;
	}
	if (list_dir) { /* the plugin inventory, for overblikd itself: no configuration needed */
		/* Its lines go on a descriptor of their own; what a plugin prints
		 * to stdout goes to stderr, not into the lines: overblikd hands
		 * a memory file as stderr and logs it per plugin, cut and escaped. */
		int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
		int code;
		if (out == NULL) {
			fprintf(stderr, "overblikd: --list-plugins: %s\n", strerror(errno));
			return 1;
		}
		dup2(STDERR_FILENO, STDOUT_FILENO);
		code = ob_plugins_list(list_dir, skip, nskip, out);
		fclose(out);
		free(skip);
		return code;
	}
	free(skip);
	if (ob_config_load(srv.config_path, srv.explicit_path, &srv.cfg, &err) < 0) {
		ob_log(OB_LOG_ERR, "%s", err.msg);
		/* A worker that cannot read its configuration recorded nothing. */
		return worker ? OB_RUN_EXIT_UNRECORDED : 1;
	}
	setenv("TZ", srv.cfg->timezone, 1);
	tzset();
	ob_log_threshold = verbose ? OB_LOG_DEBUG : ob_log_level_parse(srv.cfg->log_level);
	if (test_only) {
		printf("%s: ok\n", srv.cfg->path);
		ob_config_free(srv.cfg);
		return 0;
	}
	if (worker) {
		int code = ob_run_execute(srv.cfg, worker);
		ob_config_free(srv.cfg);
		return code;
	}
	if (deliver) {
		int code = ob_mailer_deliver(srv.cfg);
		ob_config_free(srv.cfg);
		return code;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		ob_fatalx("overblikd: cannot find its own executable: %s", strerror(errno));
	exe[n] = '\0';
	srv.self_exe = exe;
	{
		char host[256] = "";
		gethostname(host, sizeof(host) - 1);
		snprintf(srv.runner, sizeof(srv.runner), "%s:%ld", host, (long)getpid());
	}
	srv.started_at = time(NULL);
	if (ob_db_open(srv.cfg, &db, &err) < 0)
		ob_fatalx("%s", err.msg);
	if (ob_db_migrate(db, &applied, &err) < 0) {
		ob_log(OB_LOG_ERR, "%s", err.msg);
		ob_db_close(db);
		return 1;
	}
	{
		/* Batch the loop's epoll changes: evhttp turns reading and writing
		 * off and on around every request. */
		struct event_config *ec = event_config_new();
		event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
		srv.base = event_base_new_with_config(ec);
		event_config_free(ec);
	}
	if (srv.base == NULL)
		ob_fatalx("overblikd: cannot create the event loop");
	/* A connection found lost shows on /healthz at once, not after the
	 * managed server was started again. */
	ob_db_set_watch(db, ob_server_db_watch, &srv);
	db_address = ob_xstrdup(ob_db_address(db)); /* db is the database thread's from here on */
	srv.dbq = ob_dbq_start(srv.base, db);
	if (srv.dbq == NULL)
		ob_fatalx("overblikd: cannot start the database thread");
	srv.db_ok = 1;
	ob_dbq_on_idle(srv.dbq, on_dbq_idle, NULL);
	signal(SIGPIPE, SIG_IGN);
	ev_term = evsignal_new(srv.base, SIGTERM, on_stop, NULL);
	ev_int = evsignal_new(srv.base, SIGINT, on_stop, NULL);
	ev_hup = evsignal_new(srv.base, SIGHUP, on_hup, NULL);
	ev_chld = evsignal_new(srv.base, SIGCHLD, on_chld, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);
	evsignal_add(ev_chld, NULL);
	ob_server_configure(&srv, 0); /* the plugins come in off the loop; then the schedules and their catch-up */
	if (ob_http_start(&srv, &err) < 0) {
		ob_log(OB_LOG_ERR, "%s", err.msg);
		return 1;
	}
	srv.health_timer = event_new(srv.base, -1, EV_PERSIST, on_health, NULL);
	evtimer_add(srv.health_timer, &every);
	ob_server_check_db(&srv);
	ob_server_recover(&srv);
	ob_mailer_start(&srv);
	ob_log(OB_LOG_NOTICE, "overblikd %s: serving (database at %s, schema version %d; the plugins are being read)",
	       PACKAGE_VERSION, db_address, ob_db_schema_version_known());
	free(db_address);
	event_base_dispatch(srv.base);
	ob_server_stop_inventory(&srv);
	ob_dbq_stop(srv.dbq);
	if (srv.http)
		evhttp_free(srv.http);
	event_free(srv.health_timer);
	ob_mailer_free(&srv);
	if (srv.grace_timer)
		event_free(srv.grace_timer);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_free(ev_chld);
	event_base_free(srv.base);
	ob_plugins_free(&srv.plugins);
	for (size_t i = 0; i < srv.m.nreports; i++)
		free(srv.m.reports[i].report);
	free(srv.m.reports);
	ob_config_free(srv.cfg);
	free(srv.worker_config);
	ob_log(OB_LOG_NOTICE, "overblikd: stopped");
	return 0;
}
