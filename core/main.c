/* main.c - overblikd, the server: one libevent loop that owns the admin
 * endpoint, the schedules' timers and the supervision of runs, each run in
 * a worker process of its own. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "mailer.h"
#include "plugin.h"
#include "run.h"
#include "run_worker.h"
#include "worker_host.h"
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
	"  --worker-host      (internal) fork a worker for each run overblikd asks\n"
	"                     for on stdin; overblikd starts one of these at start,\n"
	"                     so a run's worker does not load its libraries anew\n"
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

/* What the command line asks for. */
struct options {
	const char *config_path;
	int explicit_path;
	int test_only, verbose, deliver, worker_host;
	const char *list_dir;
	char **skip;
	size_t nskip;
	unsigned long long worker;
};

/* -1 when it goes on, else the exit code (help, version, a usage error). */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"test-config", no_argument, NULL, 't'},
					     {"verbose", no_argument, NULL, 'v'},
					     {"help", no_argument, NULL, 'h'},
					     {"version", no_argument, NULL, 'V'},
					     {"run-worker", required_argument, NULL, 'W'},
					     {"deliver", no_argument, NULL, 'D'},
					     {"worker-host", no_argument, NULL, 'H'},
					     {"list-plugins", required_argument, NULL, 'L'},
					     {"skip", required_argument, NULL, 'S'},
					     {NULL, 0, NULL, 0}};
	int c;

	o->config_path = "etc/overblik.json";
	while ((c = getopt_long(argc, argv, "c:tvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config_path = optarg; o->explicit_path = 1; break;
		case 't': o->test_only = 1; break;
		case 'v': o->verbose = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("overblikd %s\n", PACKAGE_VERSION); return 0;
		case 'W': o->worker = strtoull(optarg, NULL, 10); break;
		case 'D': o->deliver = 1; break;
		case 'H': o->worker_host = 1; break;
		case 'L': o->list_dir = optarg; break;
		case 'S':
			o->skip = ob_xrealloc(o->skip, (o->nskip + 1) * sizeof(char *));
			o->skip[o->nskip++] = optarg;
			break;
		default: fprintf(stderr, "Try 'overblikd --help'.\n"); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "overblikd: unexpected argument '%s'\nTry 'overblikd --help'.\n", argv[optind]);
		return 2;
	}
	return -1;
}

/* --list-plugins DIR: the plugin inventory, for overblikd itself; no
 * configuration needed. Its lines go on a descriptor of their own; what a
 * plugin prints to stdout goes to stderr, not into the lines: overblikd
 * hands a memory file as stderr and logs it per plugin, cut and escaped. */
static int list_plugins(const struct options *o)
{
	int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
	int code;

	if (out == NULL) {
		fprintf(stderr, "overblikd: --list-plugins: %s\n", strerror(errno));
		return 1;
	}
	dup2(STDERR_FILENO, STDOUT_FILENO);
	code = ob_plugins_list(o->list_dir, o->skip, o->nskip, out);
	fclose(out);
	return code;
}

/* The server: the database opened and migrated, then the loop until it
 * is told to stop. */
static int serve(const struct options *o, struct ob_config *cfg)
{
	struct ob_err err = {{0}};
	struct ob_db *db = NULL;
	struct ob_server *srv;
	char *exe = ob_self_exe(&err);
	int applied, rc = 0;

	if (exe == NULL)
		ob_fatalx("overblikd: %s", err.msg);
	if (ob_db_open(cfg, &db, &err) < 0)
		ob_fatalx("%s", err.msg);
	if (ob_db_migrate(db, &applied, &err) < 0) {
		ob_log(OB_LOG_ERR, "%s", err.msg);
		ob_db_close(db);
		ob_config_free(cfg);
		return 1;
	}
	srv = ob_server_new(o->config_path, o->explicit_path, cfg, exe);
	free(exe);
	if (ob_server_start(srv, db, &err) < 0) {
		ob_log(OB_LOG_ERR, "%s", err.msg);
		rc = 1;
	} else
		ob_server_run(srv);
	ob_server_free(srv);
	if (rc == 0)
		ob_log(OB_LOG_NOTICE, "overblikd: stopped");
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct ob_config *cfg = NULL;
	struct ob_err err = {{0}};
	int code = parse_options(argc, argv, &o);

	if (code >= 0) {
		free(o.skip);
		return code;
	}
	if (o.list_dir) {
		code = list_plugins(&o);
		free(o.skip);
		return code;
	}
	free(o.skip);
	if (o.worker_host)
		return ob_worker_host_main();
	if (o.worker) /* as "overblik --run-worker" does */
		return ob_run_worker_main(o.config_path, o.explicit_path, o.verbose, o.worker);
	if (ob_config_load(o.config_path, o.explicit_path, &cfg, &err) < 0) {
		ob_log(OB_LOG_ERR, "%s", err.msg);
		return 1;
	}
	setenv("TZ", cfg->timezone, 1);
	tzset();
	ob_log_threshold = o.verbose ? OB_LOG_DEBUG : ob_log_level_parse(cfg->log_level);
	if (o.test_only) {
		printf("%s: ok\n", cfg->path);
		code = 0;
	} else if (o.deliver)
		code = ob_mailer_deliver(cfg);
	else
		return serve(&o, cfg); /* the server owns cfg */
	ob_config_free(cfg);
	return code;
}
