/* cli.c - overblik, the command line: migrate, import, summary, demo-data,
 * db, check-config. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "db_server.h"
#include "demo.h"
#include "import.h"
#include "log.h"
#include "summary.h"
#include "util.h"
#include "cron.h"
#include "run.h"
#include "doc.h"
#include "run_worker.h"
#include "spawn.h"
#include "render_pdf.h"
#include "sample.h"
#include "plugin.h"
#include "outbox.h"
#include <cjson/cJSON.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define DEFAULT_CONFIG "etc/overblik.json"

static const char usage_text[] =
	"Usage: overblik [-c FILE] [-v|-q] COMMAND [ARGS...]\n"
	"\n"
	"The command line of overblik, which keeps a municipality's IT portfolio\n"
	"(systems, owners, contracts, GDPR work, the target picture) in MariaDB and\n"
	"reports on it. The server is overblikd(8).\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE   configuration (default " DEFAULT_CONFIG ", else\n"
	"                      " OB_SYSCONFDIR "/overblik.json; when neither exists,\n"
	"                      the embedded defaults: a private MariaDB under var/db,\n"
	"                      started and stopped as needed)\n"
	"  -v, --verbose       log more (debug)\n"
	"  -q, --quiet         log only warnings and errors\n"
	"  -h, --help          this text\n"
	"  -V, --version       print the version\n"
	"\n"
	"Commands:\n"
	"  migrate             apply the schema migrations this overblik knows and the\n"
	"                      database has not had yet; print the schema version\n"
	"  import kitos [--json] [--org ORG] FILE...\n"
	"                      import KITOS API v2 JSON (it-system-usages, it-contracts,\n"
	"                      data-processing-registrations, organisation users); one\n"
	"                      transaction for all files; prints created, updated,\n"
	"                      unchanged and skipped objects by kind, and every problem\n"
	"                      with file, index, uuid and field (--json: as one object)\n"
	"  import csv [--json] [--org ORG] FILE...\n"
	"                      import CSV files of the kinds in the README (category,\n"
	"                      segments, review dates, incidents, target picture, ...);\n"
	"                      several files are one transaction, applied in dependency\n"
	"                      order (org units, people, systems, contracts, ...); one\n"
	"                      result line per file (--json: one object per file)\n"
	"  summary [--org ORG] print a summary of each organisation's portfolio\n"
	"  run REPORT [--as-of DATE] [--param KEY=VALUE]... [--org ORG] [--dry-run]\n"
	"      [--out DIR]     run one report now, in a process of its own, through the\n"
	"                      same code as the server (killed at the report's timeout);\n"
	"                      prints its status and files, copies them to DIR;\n"
	"                      --org all: one run per organisation in the database,\n"
	"                      made together, run one after another, each printed\n"
	"                      with its organisation (files to DIR/RUN-ID); exit 1\n"
	"                      when any failed\n"
	"  next-fires CRON [--from ISO-TIME] [--count N] [--tz ZONE]\n"
	"                      print the next fire times of a cron expression, one ISO\n"
	"                      8601 time with its UTC offset a line (default 5, from now,\n"
	"                      in the configured time zone)\n"
	"  demo-data [--municipalities N] [--seed S] [--as-of DATE] DIR\n"
	"                      write the fictional demo municipality (or N of them) as\n"
	"                      KITOS JSON under DIR/kitos and CSV under DIR/csv\n"
	"  outbox list [--status S] [--limit N] [--before ID] [--json]\n"
	"                      the outbox, newest first: id, status, attempts, when it\n"
	"                      was made, recipient, addresses, subject (S: queued,\n"
	"                      sending, sent, dead, dry_run, pending; --before pages on)\n"
	"  outbox show [--mime] [--json] ID\n"
	"                      one message: its recipients with each one's reply, its\n"
	"                      items; --mime prints the message itself (RFC 5322)\n"
	"  outbox retry ID     queue a dead or waiting message for delivery now; a dead\n"
	"                      message's refused recipients are tried again\n"
	"  outbox flush        deliver every message that is due now (SMTP, or .eml\n"
	"                      files in the outbox folder when no SMTP server is\n"
	"                      configured) and print what happened to them\n"
	"  outbox compose      the digest now (mail.digest_at): every recipient's pending\n"
	"                      items of every report become one message, queued\n"
	"  db start|stop|status\n"
	"                      the managed MariaDB: start it and keep it running, stop\n"
	"                      it, or tell whether it runs\n"
	"  check-config [FILE] validate a configuration without starting anything\n"
	"  render-sample [--rows N] [--as-of DATE] [--run-id N] [--json FILE]\n"
	"      [--templates DIR] FILE\n"
	"                      write the sample PDF: every element of the document\n"
	"                      model, built through the plugin ABI (--rows adds a table\n"
	"                      of N rows; --json also writes the model; the fonts come\n"
	"                      from OB_FONT_DIR, default Debian's DejaVu directory)\n"
	"\n"
	"Schedules are 5-field cron expressions (minute hour day-of-month month\n"
	"day-of-week; lists, ranges, steps, month and day names, @daily and friends)\n"
	"in the configured time zone. A time that does not exist when clocks go\n"
	"forward fires at the first instant after the gap; a time that occurs twice\n"
	"when they go back fires once, at its first occurrence.\n"
	"\n"
	"ORG is an organisation's KITOS uuid or CVR number (run also takes \"all\").\n"
	"DATE is YYYY-MM-DD.\n"
	"\n"
	"Exit status: 0 on success, 1 when the command failed (the error names what\n"
	"and where), 2 on a usage error.\n"
	"\n"
	"Files: the configuration's state_dir (default var/) holds the managed\n"
	"database (db/), each run's files (runs/ID/) and, with no SMTP server\n"
	"configured, the mail as .eml files (outbox/new/).\n";

/* ---- errors for the terminal ----
 * An error may carry an argument, a file's or the database's bytes: each
 * message is made safe before it is printed, bytes that are not UTF-8 and
 * control characters written as \xHH, so that nothing reaches a terminal
 * raw (an escape sequence, a byte the terminal takes for another). */

static void terminal_safe(const char *s, char *out, size_t outsz)
{
	size_t len = strlen(s), i = 0, o = 0;

	while (i < len) {
		size_t bad, end = ob_utf8_check(s + i, len - i, &bad) == 0 ? len : i + bad;
		while (i < end) { /* UTF-8: whole characters, control characters escaped */
			unsigned char c = (unsigned char)s[i];
			size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
			if (c < 0x20 || c == 0x7f) {
				if (o + 5 > outsz)
					goto full;
				o += (size_t)snprintf(out + o, outsz - o, "\\x%02X", c);
			} else {
				if (o + n + 1 > outsz)
					goto full;
				memcpy(out + o, s + i, n);
				o += n;
			}
			i += n;
		}
		if (i < len) { /* the byte that is not UTF-8 */
			if (o + 5 > outsz)
				goto full;
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02X", (unsigned char)s[i++]);
		}
	}
full:
	out[o] = '\0';
}

static void vsafe(char *out, size_t outsz, const char *fmt, va_list ap)
{
	char raw[4096];
	vsnprintf(raw, sizeof(raw), fmt, ap);
	terminal_safe(raw, out, outsz);
}

/* msg: the caller's printf-style arguments, made safe for a terminal. */
#define SAFE_MESSAGE(msg, fmt)                                                                                 \
	char msg[4096];                                                                                        \
	do {                                                                                                   \
		va_list ap_;                                                                                   \
		va_start(ap_, fmt);                                                                            \
		vsafe(msg, sizeof(msg), fmt, ap_);                                                             \
		va_end(ap_);                                                                                   \
	} while (0)

/* An error line through the log ("error: ..."). */
static void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void cli_err(const char *fmt, ...)
{
	SAFE_MESSAGE(msg, fmt);
	ob_log(OB_LOG_ERR, "%s", msg);
}

static void cli_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void cli_fatal(const char *fmt, ...)
{
	SAFE_MESSAGE(msg, fmt);
	ob_log(OB_LOG_ERR, "%s", msg);
	exit(1);
}

/* A warning with strerror(errno) after it, as ob_warn. */
static void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void cli_warn(const char *fmt, ...)
{
	int e = errno;
	SAFE_MESSAGE(msg, fmt);
	ob_log(OB_LOG_WARNING, "%s: %s", msg, strerror(e));
	errno = e;
}

/* A line to stderr as it is written (the caller's "overblik: " prefix). */
static void cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void cli_say(const char *fmt, ...)
{
	SAFE_MESSAGE(msg, fmt);
	fprintf(stderr, "%s\n", msg);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	SAFE_MESSAGE(msg, fmt);
	fprintf(stderr, "overblik: %s\nTry 'overblik --help'.\n", msg);
	exit(2);
}

static struct ob_db *open_db(const struct ob_config *cfg)
{
	struct ob_err err = {{0}};
	struct ob_db *db = NULL;
	int applied;

	if (ob_db_open(cfg, &db, &err) < 0)
		cli_fatal("%s", err.msg);
	if (ob_db_migrate(db, &applied, &err) < 0) {
		cli_err("%s", err.msg);
		ob_db_close(db);
		exit(1);
	}
	return db;
}

static int cmd_migrate(const struct ob_config *cfg, int argc, char **argv)
{
	struct ob_err err = {{0}};
	struct ob_db *db = NULL;
	int applied, rc = 1;

	if (argc > 1)
		usage_error("migrate takes no arguments, got '%s'", argv[1]);
	if (ob_db_open(cfg, &db, &err) < 0)
		cli_fatal("%s", err.msg);
	if (ob_db_migrate(db, &applied, &err) < 0)
		cli_err("%s", err.msg);
	else {
		printf("schema at version %d: %d migration%s applied\n", ob_db_schema_version_known(),
		       applied, applied == 1 ? "" : "s");
		rc = 0;
	}
	ob_db_close(db);
	return rc;
}

static int cmd_import(const struct ob_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"org", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct ob_import_opts io = {NULL, cfg->owner_role, 0, stdout};
	struct ob_err err = {{0}};
	struct ob_db *db;
	const char *kind;
	int c, rc;

	if (argc < 2)
		usage_error("import needs a kind: kitos or csv");
	kind = argv[1];
	if (strcmp(kind, "kitos") != 0 && strcmp(kind, "csv") != 0)
		usage_error("import: unknown kind '%s' (expected kitos or csv)", kind);
	argc--;
	argv++;
	optind = 0; /* 0: GNU getopt starts afresh, so options may follow the files */
	while ((c = getopt_long(argc, argv, "jo:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': io.json = 1; break;
		case 'o': io.org = optarg; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: exit(2);
		}
	}
	if (optind >= argc)
		usage_error("import %s needs at least one FILE", kind);
	db = open_db(cfg);
	if (strcmp(kind, "kitos") == 0)
		rc = ob_import_kitos(db, argv + optind, (size_t)(argc - optind), &io, &err);
	else
		rc = ob_import_csv(db, argv + optind, (size_t)(argc - optind), &io, &err);
	if (rc < 0)
		cli_err("import %s: %s; nothing was changed", kind, err.msg);
	ob_db_close(db);
	return rc < 0 ? 1 : 0;
}

static int cmd_summary(const struct ob_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {{"org", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
	struct ob_err err = {{0}};
	const char *org = NULL;
	struct ob_db *db;
	int c, rc;

	optind = 0; /* 0: GNU getopt starts afresh, so options may follow the files */
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (c == 'o')
			org = optarg;
		else
			exit(2);
	}
	if (optind < argc)
		usage_error("summary: unexpected argument '%s'", argv[optind]);
	db = open_db(cfg);
	rc = ob_summary_print(db, stdout, org, &err);
	if (rc < 0)
		cli_err("summary: %s", err.msg);
	ob_db_close(db);
	return rc < 0 ? 1 : 0;
}

static int cmd_demo_data(int argc, char **argv)
{
	static const struct option opts[] = {{"municipalities", required_argument, NULL, 'n'},
					     {"seed", required_argument, NULL, 's'},
					     {"as-of", required_argument, NULL, 'a'},
					     {NULL, 0, NULL, 0}};
	struct ob_err err = {{0}};
	unsigned long n = 1;
	unsigned long long seed = 2026;
	int32_t as_of = ob_date_today();
	char *end;
	int c;

	optind = 0; /* 0: GNU getopt starts afresh, so options may follow the files */
	while ((c = getopt_long(argc, argv, "n:s:a:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = strtoul(optarg, &end, 10);
			if (*end || n < 1 || n > 1000)
				usage_error("--municipalities: '%s': expected a number from 1 to 1000", optarg);
			break;
		case 's':
			seed = strtoull(optarg, &end, 10);
			if (*end || !*optarg)
				usage_error("--seed: '%s': expected a whole number", optarg);
			break;
		case 'a':
			if (ob_date_parse(optarg, &as_of) != 1)
				usage_error("--as-of: '%s': expected a date YYYY-MM-DD", optarg);
			break;
		default: exit(2);
		}
	}
	if (argc - optind != 1)
		usage_error("demo-data needs one output directory");
	if (ob_demo_write(argv[optind], (unsigned)n, seed, as_of, &err) < 0) {
		cli_err("demo-data: %s", err.msg);
		return 1;
	}
	return 0;
}

static int cmd_db(const struct ob_config *cfg, int argc, char **argv)
{
	struct ob_err err = {{0}};
	long pid;

	if (argc != 2)
		usage_error("db needs one of start, stop, status");
	if (!cfg->db.managed) {
		cli_say("overblik: db %s: %s configures a server of its own (%s), not the managed "
				"one",
			argv[1], cfg->path, cfg->db.host ? cfg->db.host : cfg->db.socket);
		return 1;
	}
	if (strcmp(argv[1], "start") == 0) {
		struct ob_db *db = open_db(cfg);
		int rc = 0;
		/* Pinned: the server outlives this command until "db stop". */
		if (ob_db_pin_server(db, &err) < 0) {
			cli_err("%s", err.msg);
			rc = 1;
		} else
			printf("managed MariaDB running under %s/db, schema at version %d\n", cfg->state_dir,
			       ob_db_schema_version_known());
		ob_db_close(db);
		return rc;
	}
	if (strcmp(argv[1], "stop") == 0) {
		if (ob_dbserver_stop(cfg, &err) < 0) {
			cli_err("%s", err.msg);
			return 1;
		}
		printf("managed MariaDB under %s/db is stopped\n", cfg->state_dir);
		return 0;
	}
	if (strcmp(argv[1], "status") == 0) {
		int st = ob_dbserver_status(cfg, &pid, &err);
		if (st < 0) {
			cli_err("%s", err.msg);
			return 1;
		}
		if (st == 1)
			printf("running (pid %ld) under %s/db\n", pid, cfg->state_dir);
		else
			printf("not running (%s/db)\n", cfg->state_dir);
		return st == 1 ? 0 : 3;
	}
	usage_error("db: unknown action '%s' (expected start, stop or status)", argv[1]);
}

static volatile sig_atomic_t interrupted;
static int cli_verbosity; /* -v 1, -q -1: a run's worker gets the same */

static void on_interrupt(int sig)
{
	interrupted = sig;
}

static int copy_file(const char *from, const char *to)
{
	char *text = NULL;
	size_t len;
	FILE *f;
	int rc = -1;

	if (ob_read_file(from, &text, &len) < 0)
		return -1;
	f = fopen(to, "wb");
	if (f && fwrite(text, 1, len, f) == len)
		rc = 0;
	if (f && fclose(f) != 0)
		rc = -1;
	free(text);
	return rc;
}

static void print_json(const cJSON *o)
{
	char *text = cJSON_Print(o);
	printf("%s\n", text);
	cJSON_free(text);
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static unsigned long long parse_id(const char *what, const char *s)
{
	char *end;
	unsigned long long v;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v == 0 || s[0] == '-')
		usage_error("%s: '%s': expected a message id (a positive number)", what, s);
	return v;
}

static int cmd_outbox(const struct ob_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {{"status", required_argument, NULL, 's'},
					     {"limit", required_argument, NULL, 'l'},
					     {"before", required_argument, NULL, 'b'},
					     {"json", no_argument, NULL, 'j'},
					     {"mime", no_argument, NULL, 'm'},
					     {NULL, 0, NULL, 0}};
	const char *sub, *status = NULL;
	struct ob_err err = {{0}};
	struct ob_db *db;
	unsigned long long before = 0, id = 0;
	int c, limit = 50, json = 0, mime = 0, rc = 1;
	cJSON *o = NULL;

	if (argc < 2)
		usage_error("outbox needs list, show ID, retry ID, flush or compose");
	sub = argv[1];
	optind = 0;
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "s:l:b:jm", opts, NULL)) != -1) {
		switch (c) {
		case 's': {
			int known = 0;
			for (int i = 0; i < OB_OUTBOX_NSTATUS; i++)
				known |= strcmp(optarg, ob_outbox_status_names[i]) == 0;
			if (!known)
				usage_error("--status: '%s': expected queued, sending, sent, dead, dry_run or pending", optarg);
			status = optarg;
			break;
		}
		case 'l':
			limit = atoi(optarg);
			if (limit < 1 || limit > 1000)
				usage_error("--limit: '%s': expected 1 to 1000", optarg);
			break;
		case 'b': before = parse_id("--before", optarg); break;
		case 'j': json = 1; break;
		case 'm': mime = 1; break;
		default: exit(2);
		}
	}
	if (strcmp(sub, "list") == 0) {
		if (optind != argc)
			usage_error("outbox list takes no arguments, got '%s'", argv[optind]);
	} else if (strcmp(sub, "show") == 0 || strcmp(sub, "retry") == 0) {
		if (argc - optind != 1)
			usage_error("outbox %s needs one message ID", sub);
		id = parse_id(sub, argv[optind]);
	} else if (strcmp(sub, "flush") == 0 || strcmp(sub, "compose") == 0) {
		if (optind != argc)
			usage_error("outbox %s takes no arguments, got '%s'", sub, argv[optind]);
	} else
		usage_error("outbox: unknown command '%s' (list, show, retry, flush, compose)", sub);
	db = open_db(cfg);
	if (strcmp(sub, "list") == 0) {
		const cJSON *m;
		if (ob_outbox_list(db, status, before, limit, &o, &err) < 0)
			goto fail;
		if (json)
			print_json(o);
		else {
			printf("%-6s %-8s %4s %-20s %-16s %-30s %s\n", "ID", "STATUS", "TRY", "CREATED", "RECIPIENT", "TO",
			       "SUBJECT");
			cJSON_ArrayForEach(m, cJSON_GetObjectItem(o, "messages"))
			printf("%-6.0f %-8s %4.0f %-20s %-16s %-30s %s\n", cJSON_GetObjectItem(m, "id")->valuedouble,
			       jstr(m, "status"), cJSON_GetObjectItem(m, "attempts")->valuedouble, jstr(m, "created_at"),
			       jstr(m, "recipient"), jstr(m, "to"), jstr(m, "subject"));
			if (cJSON_IsNumber(cJSON_GetObjectItem(o, "next_before")))
				printf("(more: --before %.0f)\n", cJSON_GetObjectItem(o, "next_before")->valuedouble);
		}
		rc = 0;
	} else if (strcmp(sub, "show") == 0) {
		const cJSON *x;
		if (ob_outbox_show(db, id, mime, &o, &err) < 0)
			goto fail;
		if (o == NULL) {
			cli_err("outbox show: no message %llu", id);
			goto out;
		}
		if (mime && !json)
			fputs(jstr(o, "mime"), stdout);
		else if (json)
			print_json(o);
		else {
			static const char *const keys[] = {"status",	 "recipient",  "kind",	     "subject",
							   "created_at", "next_attempt_at", "sent_at", "last_reply",
							   "message_id", "claimed_by", "claimed_at"};
			printf("message %llu of run %.0f (%s), %.0f bytes, %.0f attempt%s\n", id,
			       cJSON_GetObjectItem(o, "run_id")->valuedouble, jstr(o, "report"),
			       cJSON_GetObjectItem(o, "size")->valuedouble, cJSON_GetObjectItem(o, "attempts")->valuedouble,
			       cJSON_GetObjectItem(o, "attempts")->valuedouble == 1 ? "" : "s");
			for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
				if (jstr(o, keys[i])[0])
					printf("  %-16s %s\n", keys[i], jstr(o, keys[i]));
			printf("recipients:\n");
			cJSON_ArrayForEach(x, cJSON_GetObjectItem(o, "recipients"))
			printf("  %-30s %-8s %s\n", jstr(x, "email"), jstr(x, "status"), jstr(x, "reply"));
			printf("items:\n");
			cJSON_ArrayForEach(x, cJSON_GetObjectItem(o, "item_list"))
			printf("  %s (%s)\n", jstr(x, "dedupe_key"), jstr(x, "template"));
		}
		rc = 0;
	} else if (strcmp(sub, "retry") == 0) {
		int r = ob_outbox_retry(cfg, db, id, &err);
		if (r < 0)
			goto fail;
		if (r == 1)
			cli_err("outbox retry: no message %llu", id);
		else if (r == 2)
			cli_err("outbox retry: %s", err.msg);
		else {
			printf("outbox %llu: queued for delivery now\n", id);
			rc = 0;
		}
	} else if (strcmp(sub, "compose") == 0) {
		struct ob_outbox_digested d;
		if (ob_outbox_digest(cfg, db, &d, &err) < 0)
			goto fail;
		printf("composed %u message%s with %u item%s from %u pending%s\n", d.messages, d.messages == 1 ? "" : "s",
		       d.items, d.items == 1 ? "" : "s", d.pending,
		       cfg->mail.digest_at ? "" : " (mail.digest_at is not set: runs compose their own mail)");
		rc = 0;
	} else {
		struct ob_outbox_counts n;
		struct ob_outbox_stats st;
		if (ob_outbox_deliver(cfg, db, NULL, &n, &err) < 0)
			goto fail;
		printf("sent %lu, to retry %lu, dead %lu (recipients refused: %lu)%s", n.sent, n.retry, n.dead,
		       n.rcpt_dead, n.requeued ? "" : "\n");
		if (n.requeued)
			printf(", %lu left by a delivery that died were queued again\n", n.requeued);
		if (ob_outbox_stats(db, &st, &err) < 0)
			goto fail;
		if (st.count[0])
			printf("queued: %lu, the next due in %ld s\n", st.count[0], st.next_due_in < 0 ? 0 : st.next_due_in);
		else
			printf("queued: 0\n");
		if (!cfg->mail.smtp_host)
			printf("(no SMTP server configured: messages are written as .eml files to %s%s/new)\n",
			       cfg->mail.outbox_dir ? cfg->mail.outbox_dir : cfg->state_dir, cfg->mail.outbox_dir ? "" : "/outbox");
		rc = 0;
	}
	goto out;
fail:
	cli_err("outbox %s: %s", sub, err.msg);
out:
	cJSON_Delete(o);
	ob_db_close(db);
	return rc;
}

/* A database error without the statement it names (no message shows SQL). */
static const char *no_sql(char *msg)
{
	char *in = strstr(msg, " (in: ");
	if (in)
		*in = '\0';
	return msg;
}

/* What the runs of one "overblik run" share. */
struct cli_run {
	const struct ob_config *cfg;
	struct ob_db *db;
	const char *report, *as_of, *out;
	int timeout;
	int several; /* --org all: each run names its organisation, files go to out/ID */
	char *exe;   /* this executable: each run's worker is "overblik --run-worker ID" */
};

/* What run id put in the outbox, by kind: "mail: 63 owners, 2 roles (asg,
 * indkoeb), 1 to it_support (owners without an address); 175 items" ("mail
 * (pending: ...)" when they wait for the digest, mail.digest_at), and which recipients had no address (their messages kept as dead). */
static void print_run_mail(const struct cli_run *cr, unsigned long long id)
{
	struct ob_err err = {{0}};
	struct ob_db_rows *r = NULL;
	struct ob_db_param p[1] = {ob_p_int((long long)id)};
	unsigned long owners = 0, roles = 0, noemail = 0, items = 0, ndead = 0;
	int dry = 0, pending = 0;
	struct ob_buf names, dead;

	if (ob_db_query(cr->db, "SELECT kind, recipient, items, status FROM outbox WHERE run_id = ? ORDER BY id", p, 1, &r,
			&err) < 0) {
		cli_warn("run %llu: cannot read its mail: %s", id, err.msg);
		return;
	}
	ob_buf_init(&names, 0);
	ob_buf_init(&dead, 0);
	for (size_t i = 0; i < r->nrows; i++) {
		const char *kind = ob_db_cell(r, i, 0), *status = ob_db_cell(r, i, 3);
		if (strcmp(status, "dead") == 0) { /* made without an address */
			ob_buf_printf(&dead, "%s%s", ndead++ ? ", " : "", ob_db_cell(r, i, 1));
			continue;
		}
		items += strtoul(ob_db_cell(r, i, 2), NULL, 10);
		dry |= strcmp(status, "dry_run") == 0;
		pending |= strcmp(status, "pending") == 0;
		if (strcmp(kind, "owner") == 0)
			owners++;
		else if (strcmp(kind, "role") == 0) {
			ob_buf_printf(&names, "%s%s", roles ? ", " : "", ob_db_cell(r, i, 1));
			roles++;
		} else
			noemail++;
	}
	if (r->nrows == ndead)
		printf("  mail: nothing new (every item was mailed before, or there was none)\n");
	else
		printf("  mail%s: %lu owner%s, %lu role%s%s%s%s, %lu to it_support (owners without an address); %lu item%s\n",
		       dry	 ? " (dry run: stored, not sent)"
		       : pending ? " (pending until the digest, mail.digest_at, or 'overblik outbox compose', "
				   "one message per recipient with every report's items)"
				 : "",
		       owners, owners == 1 ? "" : "s", roles,
		       roles == 1 ? "" : "s", roles ? " (" : "", roles ? names.data : "", roles ? ")" : "", noemail,
		       items, items == 1 ? "" : "s");
	if (ndead)
		printf("  not sent: %s: no address in /mail/roles (kept as dead; mailed by a run after it is set)\n",
		       dead.data);
	ob_buf_free(&names);
	ob_buf_free(&dead);
	ob_db_rows_free(r);
}

/* Executes queued run id in its worker process (run_worker.h, as overblikd
 * does), killed at the report's timeout or at a Ctrl-C, and records how it
 * ended when the worker could not. */
static void cli_supervise(const struct cli_run *cr, unsigned long long id)
{
	struct ob_err err = {{0}};
	struct ob_run_worker w = {.id = id, .timeout = cr->timeout};
	int tty = isatty(STDERR_FILENO);
	char *status, *error = NULL;

	fflush(NULL);
	if (ob_run_worker_start(&w, cr->exe, cr->cfg->text ? cr->cfg->path : NULL, cli_verbosity, &err) < 0) {
		cli_err("run %llu: %s", id, err.msg);
		ob_run_record_end(cr->db, id, "failed", "could not start a process for it", &err);
		return;
	}
	while (!ob_run_worker_reap(&w, 0)) {
		double el = ob_run_worker_seconds(&w);
		if (interrupted && !w.stopped)
			ob_run_worker_stop(&w, "interrupted");
		else if (el >= cr->timeout && !w.timed_out && !w.stopped)
			ob_run_worker_timeout(&w);
		if (tty)
			fprintf(stderr, "\rrun %llu: %s as of %s: running %.0f s ", id, cr->report, cr->as_of, el);
		ob_spawn_wait(w.pid, 100); /* back at once when it ends */
	}
	if (tty)
		fprintf(stderr, "\r\033[K");
	status = ob_run_worker_finish(cr->db, &w, cr->cfg->state_dir, &error);
	if (WIFEXITED(w.wstatus) && WEXITSTATUS(w.wstatus) == OB_RUN_EXIT_NOT_QUEUED)
		ob_log(OB_LOG_NOTICE, "run %llu: an overblikd took it first; see its status there", id);
	free(status);
	free(error);
}

/* Runs queued run id and prints its status and files (copied to out).
 * 0 when it succeeded, 1 not. */
static int cli_run_one(const struct cli_run *cr, unsigned long long id)
{
	struct ob_err err = {{0}};
	struct ob_db_rows *r = NULL;
	int rc = 1;
	char *out = NULL;

	cli_supervise(cr, id);
	{
		struct ob_db_param p[1] = {ob_p_int((long long)id)};
		if (ob_db_query(cr->db,
				"SELECT r.status, r.error, TIMESTAMPDIFF(MICROSECOND, r.started_at, r.finished_at) / 1e6, "
				"f.name, f.size, f.sha256, f.path, r.org_id, o.name FROM runs r "
				"LEFT JOIN run_files f ON f.run_id = r.id LEFT JOIN organisations o ON o.id = r.org_id "
				"WHERE r.id = ? ORDER BY f.name",
				p, 1, &r, &err) < 0 || r->nrows == 0) {
			cli_err("run %llu: %s", id, err.msg[0] ? err.msg : "the run is gone");
			ob_db_rows_free(r);
			return 1;
		}
	}
	printf("run %llu: %s as of %s", id, cr->report, cr->as_of);
	if (cr->several)
		printf(" for %s (organisation %s)", ob_db_cell(r, 0, 8) ? ob_db_cell(r, 0, 8) : "?",
		       ob_db_cell(r, 0, 7) ? ob_db_cell(r, 0, 7) : "none");
	printf(": %s", ob_db_cell(r, 0, 0));
	if (ob_db_cell(r, 0, 2))
		printf(" in %.2f s", atof(ob_db_cell(r, 0, 2)));
	if (ob_db_cell(r, 0, 1))
		printf(": %s", ob_db_cell(r, 0, 1));
	printf("\n");
	if (cr->out) {
		char sub[32];
		snprintf(sub, sizeof(sub), "%llu", id);
		out = cr->several ? ob_path_join(cr->out, sub) : ob_xstrdup(cr->out);
		if (ob_mkdir_p(out) < 0)
			cli_warn("run %llu: cannot create %s", id, out);
	}
	for (size_t i = 0; i < r->nrows; i++) {
		const char *name = ob_db_cell(r, i, 3);
		if (name == NULL)
			continue;
		printf("  %s  %s bytes  sha256 %s\n", ob_db_cell(r, i, 6), ob_db_cell(r, i, 4), ob_db_cell(r, i, 5));
		if (out) {
			char *to = ob_path_join(out, name);
			if (copy_file(ob_db_cell(r, i, 6), to) < 0)
				cli_warn("run %llu: cannot copy %s to %s", id, name, to);
			free(to);
		}
	}
	rc = strcmp(ob_db_cell(r, 0, 0), "succeeded") == 0 ? 0 : 1;
	if (rc == 0)
		print_run_mail(cr, id);
	free(out);
	ob_db_rows_free(r);
	return rc;
}

/* The report's plugin and its settings, checked before any run is made (as
 * overblikd refuses one), in a process of its own: a plugin whose loading
 * crashes or hangs is named, and does not take this process down. 0 when
 * it can run, -1 when not (said). */
static int cli_check_plugin(const struct ob_config *cfg, const char *report)
{
	struct ob_plugin_check res;
	struct ob_err err = {{0}};
	char shown[64];
	int rc = -1;

	if (ob_plugins_check(cfg, &report, 1, &res, &err) < 0) {
		cli_say("overblik: run: cannot check the plugin %s: %s", report, err.msg);
		return -1;
	}
	switch (res.verdict) {
	case OB_PLUGIN_MISSING:
		cli_say("overblik: run: no report %s: no plugin %s.so in %s", report, report, cfg->plugin_dir);
		break;
	case OB_PLUGIN_REFUSED: cli_say("overblik: run: %s", res.msg); break;
	case OB_PLUGIN_BAD_SETTINGS:
		cli_say("overblik: run: report %s cannot run: %s: %s", report, cfg->path, res.msg);
		break;
	case OB_PLUGIN_ENDED:
		if (res.hung)
			cli_say("overblik: run: plugin %s/%s.so: loading it did not finish within %d s (a constructor that "
				"hangs?); no run made", cfg->plugin_dir, report, OB_INVENTORY_TIMEOUT);
		else
			cli_say("overblik: run: plugin %s/%s.so %s while loading (%s): its constructor or a library it "
				"pulls in; no run made", cfg->plugin_dir, report,
				WIFSIGNALED(res.status) ? "crashed" : "ended the process",
				ob_spawn_status_text(res.status, shown, sizeof(shown)));
		break;
	case OB_PLUGIN_OK: rc = 0; break;
	default: cli_say("overblik: run: the plugin %s could not be checked", report); break;
	}
	ob_plugins_check_free(&res, 1);
	return rc;
}

static int cmd_run(const struct ob_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {{"as-of", required_argument, NULL, 'a'},
					     {"param", required_argument, NULL, 'p'},
					     {"org", required_argument, NULL, 'o'},
					     {"dry-run", no_argument, NULL, 'd'},
					     {"out", required_argument, NULL, 'O'},
					     {NULL, 0, NULL, 0}};
	const struct ob_config_report *rcfg;
	struct ob_run_request rq = {NULL, 0, "cli", 0, NULL, NULL, 0};
	struct ob_err err = {{0}};
	struct cli_run cr = {cfg, NULL, NULL, NULL, NULL, 600, 0, NULL};
	cJSON *params = cJSON_CreateObject();
	const char *org = NULL;
	char today[11], *params_text;
	unsigned long long one, *ids = &one;
	size_t nids = 0, failed = 0, done = 0;
	int c, rc = 1;
	int32_t d;

	ob_run_today(today);
	rq.as_of = today;
	optind = 0;
	while ((c = getopt_long(argc, argv, "a:p:o:dO:", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (ob_date_parse(optarg, &d) != 1)
				usage_error("--as-of: '%s': expected a date YYYY-MM-DD", optarg);
			rq.as_of = optarg;
			break;
		case 'p': {
			char *eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg)
				usage_error("--param: '%s': expected KEY=VALUE", optarg);
			if (ob_utf8_check(optarg, strlen(optarg), NULL) < 0)
				usage_error("--param: '%s': not valid UTF-8", optarg);
			*eq = '\0';
			cJSON_AddStringToObject(params, optarg, eq + 1);
			break;
		}
		case 'o':
			if (ob_utf8_check(optarg, strlen(optarg), NULL) < 0)
				usage_error("--org: '%s': not valid UTF-8", optarg);
			org = optarg;
			break;
		case 'd': rq.dry_run = 1; break;
		case 'O': cr.out = optarg; break;
		default: exit(2);
		}
	}
	if (argc - optind != 1)
		usage_error("run needs one REPORT");
	rq.report = argv[optind];
	cr.report = rq.report;
	cr.as_of = rq.as_of;
	cr.several = org && strcmp(org, "all") == 0;
	rcfg = ob_config_report(cfg, rq.report);
	cr.timeout = rcfg ? rcfg->timeout : 600;
	if (cli_check_plugin(cfg, rq.report) < 0 || (cr.exe = ob_self_exe(&err)) == NULL) {
		if (cr.exe == NULL && err.msg[0])
			cli_say("overblik: run: %s", err.msg);
		cJSON_Delete(params);
		return 1;
	}
	if (rcfg && !rcfg->enabled) {
		cli_say("overblik: run: report %s is disabled in %s", rq.report, cfg->path);
		cJSON_Delete(params);
		free(cr.exe);
		return 1;
	}
	params_text = cJSON_PrintUnformatted(params);
	rq.params_json = params_text;
	cr.db = open_db(cfg);
	if (cr.several) {
		/* One run per organisation, created together or not at all. */
		if (ob_db_begin(cr.db, &err) < 0 || ob_run_create_each_org(cr.db, &rq, &ids, &nids, &err) < 0 ||
		    (nids > 0 && ob_db_commit(cr.db, &err) < 0)) {
			ob_db_rollback(cr.db);
			cli_err("run: --org all: no run made: %s", no_sql(err.msg));
			goto out;
		}
		if (nids == 0) {
			ob_db_rollback(cr.db);
			cli_err("run: --org all: the database holds no organisation (import one first); no run made");
			goto out;
		}
	} else {
		if (org) {
			unsigned long oid;
			int f = ob_import_find_org(cr.db, org, &oid, &err);
			if (f <= 0) {
				cli_err("run: --org %s: %s", org, f < 0 ? err.msg : "no such organisation");
				goto out;
			}
			rq.org_id = (long long)oid;
		}
		if (ob_run_create(cr.db, &rq, &one, &err) < 0) {
			cli_err("run: %s", no_sql(err.msg));
			goto out;
		}
		nids = 1;
	}
	if (cr.several) {
		printf("%s as of %s: %zu run%s, one per organisation:", rq.report, rq.as_of, nids, nids == 1 ? "" : "s");
		for (size_t i = 0; i < nids; i++)
			printf(" %llu", ids[i]);
		printf("\n");
	}
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);
	for (; done < nids && !interrupted; done++)
		failed += (size_t)cli_run_one(&cr, ids[done]);
	/* Interrupted: the runs not started are not left for an overblikd. */
	for (size_t i = done; i < nids; i++) {
		ob_run_record_end(cr.db, ids[i], "failed", "interrupted before it started", &err);
		printf("run %llu: %s as of %s: failed: interrupted before it started\n", ids[i], rq.report, rq.as_of);
		failed++;
	}
	if (cr.several)
		printf("%zu of %zu runs succeeded\n", nids - failed, nids);
	rc = failed ? 1 : 0;
out:
	if (ids != &one)
		free(ids);
	ob_db_close(cr.db);
	free(cr.exe);
	cJSON_free(params_text);
	cJSON_Delete(params);
	return rc;
}

static int cmd_next_fires(const char *tz_default, int argc, char **argv)
{
	static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
					     {"count", required_argument, NULL, 'n'},
					     {"tz", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	const char *from = NULL, *tz = tz_default;
	struct ob_err err = {{0}};
	struct ob_buf out;
	int c, count = 5;
	char *end;

	optind = 0;
	while ((c = getopt_long(argc, argv, "f:n:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': from = optarg; break;
		case 't': tz = optarg; break;
		case 'n':
			count = (int)strtol(optarg, &end, 10);
			if (*end || count < 1 || count > 10000)
				usage_error("--count: '%s': expected a number from 1 to 10000", optarg);
			break;
		default: exit(2);
		}
	}
	if (argc - optind != 1)
		usage_error("next-fires needs one cron expression (quote it: \"0 7 * * 1-5\")");
	ob_buf_init(&out, 0);
	if (ob_cron_next_fires(argv[optind], tz, from, count, &out, &err) < 0) {
		fputs(out.data ? out.data : "", stdout);
		cli_say("overblik: next-fires: %s", err.msg);
		ob_buf_free(&out);
		return 1;
	}
	fputs(out.data ? out.data : "", stdout);
	ob_buf_free(&out);
	return 0;
}

static int cmd_render_sample(int argc, char **argv)
{
	static const struct option opts[] = {{"rows", required_argument, NULL, 'r'},
					     {"templates", required_argument, NULL, 't'},
					     {"as-of", required_argument, NULL, 'a'},
					     {"run-id", required_argument, NULL, 'i'},
					     {"json", required_argument, NULL, 'j'},
					     {NULL, 0, NULL, 0}};
	struct ob_render_meta meta = {0};
	struct ob_render_stats stats = {0};
	struct ob_err err = {{0}};
	struct ob_ctx *ctx;
	const char *json = NULL, *templates = NULL;
	char as_of[11], *end;
	long rows = 0;
	int32_t day = ob_date_today();
	int c, rc = 1;

	optind = 0;
	meta.run_id = 1;
	while ((c = getopt_long(argc, argv, "r:t:a:i:j:", opts, NULL)) != -1) {
		switch (c) {
		case 't': templates = optarg; break;
		case 'r':
			rows = strtol(optarg, &end, 10);
			if (*end || rows < 0 || rows > 10000000)
				usage_error("--rows: '%s': expected a number from 0", optarg);
			break;
		case 'a':
			if (ob_date_parse(optarg, &day) != 1)
				usage_error("--as-of: '%s': expected a date YYYY-MM-DD", optarg);
			break;
		case 'i':
			meta.run_id = strtoull(optarg, &end, 10);
			if (*end)
				usage_error("--run-id: '%s': expected a number", optarg);
			break;
		case 'j': json = optarg; break;
		default: exit(2);
		}
	}
	if (argc - optind != 1)
		usage_error("render-sample needs one output FILE");
	ob_date_format(day, as_of);
	if (templates == NULL)
		templates = access("templates/da", R_OK) == 0 ? "templates/da" : OB_PKGDATADIR "/templates/da";
	ctx = ob_ctx_standalone(as_of, "Nørre Vesterå Kommune");
	if (ob_sample_build(ctx, templates, rows, &err) < 0) {
		cli_say("overblik: render-sample: %s", err.msg);
		goto out;
	}
	meta.org_name = "Nørre Vesterå Kommune";
	meta.author = "Nørre Vesterå Kommune";
	meta.as_of = as_of;
	meta.created = (time_t)day * 86400; /* the as_of date: the same sample gives the same bytes */
	meta.creator = "overblik " PACKAGE_VERSION;
	meta.font_dir = getenv("OB_FONT_DIR"); /* NULL: Debian's fonts-dejavu-core */
	if (json) {
		struct ob_buf text;
		FILE *f = fopen(json, "w");
		ob_buf_init(&text, 0);
		ob_doc_to_json(ob_ctx_document(ctx), &text);
		if (f == NULL || fwrite(text.data, 1, text.len, f) != text.len || fclose(f) != 0)
			cli_say("overblik: render-sample: cannot write %s: %s", json, strerror(errno));
		ob_buf_free(&text);
	}
	if (ob_render_pdf(ob_ctx_document(ctx), &meta, argv[optind], &stats, &err) < 0) {
		cli_say("overblik: render-sample: %s", err.msg);
		goto out;
	}
	printf("%s: %d pages\n", argv[optind], stats.pages);
	rc = 0;
out:
	ob_ctx_free(ctx);
	return rc;
}

static int cmd_check_config(const char *path, int explicit_path, int argc, char **argv)
{
	struct ob_err err = {{0}};
	struct ob_config *cfg = NULL;

	if (argc > 2)
		usage_error("check-config takes at most one FILE, got '%s' too", argv[2]);
	if (argc == 2) {
		path = argv[1];
		explicit_path = 1;
	}
	if (ob_config_load(path, explicit_path, &cfg, &err) < 0) {
		cli_say("%s", err.msg);
		return 1;
	}
	/* Valid, but perhaps written for another machine: what is not here is
	 * said, without failing the check. */
	struct {
		const char *ptr, *dir, *then;
	} dirs[] = {{"/plugin_dir", cfg->plugin_dir, "no report can run"},
		    {"/template_dir", cfg->template_dir, "no run can compose its mail"}};
	for (size_t i = 0; i < OB_ARRAY_LEN(dirs); i++) {
		struct stat st;
		int rc = stat(dirs[i].dir, &st);
		if (rc < 0 || !S_ISDIR(st.st_mode))
			cli_say("%s: warning: %s: %s: %s here (%s)", cfg->path, dirs[i].ptr, dirs[i].dir,
				rc < 0 ? strerror(errno) : "not a directory", dirs[i].then);
	}
	/* Each report's settings against what its plugin declares. */
	{
		char *text = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);
		int errors = ob_settings_check_config(cfg, m);
		fclose(m);
		for (char *line = text, *next; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			cli_say("%s: %s", cfg->path, line);
		}
		free(text);
		if (errors) {
			ob_config_free(cfg);
			return 1;
		}
	}
	printf("%s: ok\n", cfg->path);
	ob_config_free(cfg);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"verbose", no_argument, NULL, 'v'},
					     {"quiet", no_argument, NULL, 'q'},
					     {"help", no_argument, NULL, 'h'},
					     {"version", no_argument, NULL, 'V'},
					     {"run-worker", required_argument, NULL, 'W'},
					     {NULL, 0, NULL, 0}};
	const char *path = DEFAULT_CONFIG, *cmd;
	unsigned long long worker = 0;
	int explicit_path = 0, c, rc, verbosity = 0;
	struct ob_config *cfg = NULL;
	struct ob_err err = {{0}};

	while ((c = getopt_long(argc, argv, "+c:vqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; explicit_path = 1; break;
		case 'v': verbosity = 1; break;
		case 'q': verbosity = -1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("overblik %s\n", PACKAGE_VERSION); return 0;
		case 'W': worker = strtoull(optarg, NULL, 10); break;
		default: fprintf(stderr, "Try 'overblik --help'.\n"); return 2;
		}
	}
	if (worker) /* (internal) a run's worker, started by "overblik run" */
		return ob_run_worker_main(path, explicit_path, verbosity, worker);
	if (optind >= argc)
		usage_error("no command given");
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(cmd, "check-config") == 0)
		return cmd_check_config(path, explicit_path, argc, argv);
	if (strcmp(cmd, "demo-data") == 0)
		return cmd_demo_data(argc, argv);
	if (strcmp(cmd, "render-sample") == 0)
		return cmd_render_sample(argc, argv);
	if (strcmp(cmd, "next-fires") == 0) {
		/* The configured zone is the default, but a broken config is no reason to refuse. */
		int nrc;
		if (ob_config_load(path, explicit_path, &cfg, &err) < 0) {
			cfg = NULL;
			ob_err_clear(&err);
		}
		nrc = cmd_next_fires(cfg ? cfg->timezone : "Europe/Copenhagen", argc, argv);
		ob_config_free(cfg);
		return nrc;
	}
	if (ob_config_load(path, explicit_path, &cfg, &err) < 0)
		cli_fatal("%s", err.msg);
	setenv("TZ", cfg->timezone, 1);
	tzset();
	ob_log_threshold = ob_log_level_parse(cfg->log_level);
	cli_verbosity = verbosity;
	if (verbosity > 0)
		ob_log_threshold = OB_LOG_DEBUG;
	else if (verbosity < 0)
		ob_log_threshold = OB_LOG_WARNING;
	if (strcmp(cmd, "migrate") == 0)
		rc = cmd_migrate(cfg, argc, argv);
	else if (strcmp(cmd, "import") == 0)
		rc = cmd_import(cfg, argc, argv);
	else if (strcmp(cmd, "summary") == 0)
		rc = cmd_summary(cfg, argc, argv);
	else if (strcmp(cmd, "db") == 0)
		rc = cmd_db(cfg, argc, argv);
	else if (strcmp(cmd, "run") == 0)
		rc = cmd_run(cfg, argc, argv);
	else if (strcmp(cmd, "outbox") == 0)
		rc = cmd_outbox(cfg, argc, argv);
	else {
		ob_config_free(cfg);
		usage_error("unknown command '%s'", cmd);
	}
	ob_config_free(cfg);
	return rc;
}
