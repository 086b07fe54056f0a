/* main.c - overblikd, the server: one libevent loop. This version opens the
 * database (starting the managed one), applies migrations, and serves
 * until SIGTERM; the schedules, runs and admin endpoint come next. */
#include "config.h"

#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "log.h"

static const char usage_text[] =
	"Usage: overblikd [-c FILE] [-v] [-t]\n"
	"\n"
	"The overblik server: keeps the portfolio database (a private MariaDB under\n"
	"state_dir/db unless the configuration names a server), applies schema\n"
	"migrations at start, and runs until SIGTERM or SIGINT.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE  configuration (default etc/overblik.json; the embedded\n"
	"                     defaults when that file does not exist)\n"
	"  -t, --test-config  validate the configuration and exit\n"
	"  -v, --verbose      log debug messages\n"
	"  -h, --help         this text\n"
	"  -V, --version      print the version\n"
	"\n"
	"Signals: SIGTERM and SIGINT stop the server cleanly (exit 0); SIGHUP re-reads\n"
	"the configuration and logs whether it is valid.\n"
	"\n"
	"Logs go to stderr, one line each, prefixed <N> with the syslog level when\n"
	"stderr is not a terminal (journald reads it).\n";

struct server {
	struct event_base *base;
	const char *config_path;
	int explicit_path;
};

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;
	ob_log(OB_LOG_NOTICE, "overblikd: %s received, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopbreak(s->base);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;
	struct ob_config *cfg = NULL;
	struct ob_err err = {{0}};

	if (ob_config_load(s->config_path, s->explicit_path, &cfg, &err) < 0)
		ob_log(OB_LOG_ERR, "overblikd: SIGHUP: new configuration refused, keeping the old one: %s",
		       err.msg);
	else
		ob_log(OB_LOG_NOTICE, "overblikd: SIGHUP: configuration %s is valid", cfg->path);
	ob_config_free(cfg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"test-config", no_argument, NULL, 't'},
					     {"verbose", no_argument, NULL, 'v'},
					     {"help", no_argument, NULL, 'h'},
					     {"version", no_argument, NULL, 'V'},
					     {NULL, 0, NULL, 0}};
	struct server s = {NULL, "etc/overblik.json", 0};
	struct ob_config *cfg = NULL;
	struct ob_err err = {{0}};
	struct ob_db *db = NULL;
	struct event *ev_term, *ev_int, *ev_hup;
	int c, test_only = 0, verbose = 0, applied;

	while ((c = getopt_long(argc, argv, "c:tvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': s.config_path = optarg; s.explicit_path = 1; break;
		case 't': test_only = 1; break;
		case 'v': verbose = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("overblikd %s\n", PACKAGE_VERSION); return 0;
		default: fprintf(stderr, "Try 'overblikd --help'.\n"); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "overblikd: unexpected argument '%s'\nTry 'overblikd --help'.\n", argv[optind]);
		return 2;
	}
	if (ob_config_load(s.config_path, s.explicit_path, &cfg, &err) < 0)
		ob_fatalx("%s", err.msg);
	if (test_only) {
		printf("%s: ok\n", cfg->path);
		ob_config_free(cfg);
		return 0;
	}
	ob_log_threshold = verbose ? OB_LOG_DEBUG : ob_log_level_parse(cfg->log_level);
	if (ob_db_open(cfg, &db, &err) < 0)
		ob_fatalx("%s", err.msg);
	if (ob_db_migrate(db, &applied, &err) < 0) {
		ob_log(OB_LOG_ERR, "%s", err.msg);
		ob_db_close(db);
		return 1;
	}
	s.base = event_base_new();
	if (s.base == NULL)
		ob_fatalx("overblikd: cannot create the event loop");
	ev_term = evsignal_new(s.base, SIGTERM, on_stop, &s);
	ev_int = evsignal_new(s.base, SIGINT, on_stop, &s);
	ev_hup = evsignal_new(s.base, SIGHUP, on_hup, &s);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);
	ob_log(OB_LOG_NOTICE, "overblikd %s: serving (database at %s, schema version %d)", PACKAGE_VERSION,
	       ob_db_address(db), ob_db_schema_version_known());
	event_base_dispatch(s.base);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(s.base);
	ob_db_close(db);
	ob_config_free(cfg);
	ob_log(OB_LOG_NOTICE, "overblikd: stopped");
	return 0;
}
