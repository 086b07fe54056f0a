/* test_conf.c - configuration validation: every error names the file and
 * the JSON pointer. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "conf.h"

static char path[] = "/tmp/ob-test-conf-XXXXXX";

static const char *load(const char *json, struct ob_config **cfg)
{
	static struct ob_err err;
	FILE *f = fopen(path, "w");
	fputs(json, f);
	fclose(f);
	err.msg[0] = '\0';
	*cfg = NULL;
	if (ob_config_load(path, 1, cfg, &err) == 0)
		return NULL;
	return err.msg + strlen(path) + 2; /* past "PATH: " */
}

DEF_TEST(defaults)
{
	struct ob_config *c = NULL;
	struct ob_err err = {{0}};
	EXPECT_EQ_INT(0, ob_config_load("/nonexistent/overblik.json", 0, &c, &err));
	EXPECT_EQ_STR("var", c->state_dir);
	EXPECT_EQ_INT(1, c->db.managed);
	EXPECT_EQ_STR("Systemejer", c->owner_role);
	EXPECT_EQ_STR("Europe/Copenhagen", c->timezone);
	ob_config_free(c);
	EXPECT_EQ_INT(-1, ob_config_load("/nonexistent/overblik.json", 1, &c, &err));
	EXPECT_CONTAINS("/nonexistent/overblik.json: cannot read", err.msg);
}

DEF_TEST(valid)
{
	struct ob_config *c;
	EXPECT_EQ_STR(NULL, load("{\"database\": {\"host\": \"db.kommune.dk\", \"port\": 3307, \"user\": "
				 "\"overblik\", \"password_file\": \"/etc/pw\"}, \"import\": {\"owner_role\": "
				 "\"Systemansvarlig\"}}",
				 &c));
	EXPECT_EQ_INT(0, c->db.managed);
	EXPECT_EQ_STR("db.kommune.dk", c->db.host);
	EXPECT_EQ_INT(3307, c->db.port);
	EXPECT_EQ_STR("Systemansvarlig", c->owner_role);
	ob_config_free(c);
	EXPECT_EQ_STR(NULL, load("{\"reports\": {\"contract_expiry\": {\"schedule\": \"0 7 * * 1-5\", "
				 "\"timeout\": 120, \"settings\": {\"lead_months_a\": 12, \"milestones\": [365, 180]}}}, "
				 "\"http\": {\"listen\": \"127.0.0.1:9000\", \"tokens\": [{\"name\": \"ci\", \"sha256\": "
				 "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", \"role\": "
				 "\"operator\"}]}}",
				 &c));
	EXPECT_EQ_INT(1, c->nreports);
	EXPECT_EQ_INT(120, ob_config_report(c, "contract_expiry")->timeout);
	EXPECT_EQ_STR("12", ob_config_setting(ob_config_report(c, "contract_expiry"), "lead_months_a"));
	EXPECT_EQ_STR("[365,180]", ob_config_setting(ob_config_report(c, "contract_expiry"), "milestones"));
	EXPECT_EQ_INT(0x9f, c->tokens[0].sha256[0]);
	EXPECT_EQ_INT(OB_ROLE_OPERATOR, c->tokens[0].role);
	ob_config_free(c);
}

DEF_TEST(errors)
{
	struct ob_config *c;
	EXPECT_EQ_STR("/statedir: unknown key (known here: state_dir, timezone, log_level, database, import, "
		      "plugin_dir, template_dir, max_runs, grace_period, http, reports, mail)",
		      load("{\"statedir\": \"x\"}", &c));
	EXPECT_EQ_STR("/timezone: \"Europe/Kobenhavn\": no such time zone (expected an IANA name like "
		      "Europe/Copenhagen; install tzdata)",
		      load("{\"timezone\": \"Europe/Kobenhavn\"}", &c));
	EXPECT_EQ_STR("/reports/contract_expiry/timeout: expected an integer from 1 to 86400",
		      load("{\"reports\": {\"contract_expiry\": {\"timeout\": 0}}}", &c));
	EXPECT_EQ_STR("/reports/contract_expiry/scheudle: unknown key (known here: schedule, timeout, "
		      "catch_up_hours, enabled, settings)",
		      load("{\"reports\": {\"contract_expiry\": {\"scheudle\": \"0 7 * * *\"}}}", &c));
	EXPECT_CONTAINS("/reports/contract_expiry/schedule: \"0 7 * *\": cron needs 5 fields",
			load("{\"reports\": {\"contract_expiry\": {\"schedule\": \"0 7 * *\"}}}", &c));
	EXPECT_CONTAINS("/http/tokens/0/sha256: expected the token's SHA-256 as 64 hex digits",
			load("{\"http\": {\"tokens\": [{\"sha256\": \"abc\", \"role\": \"viewer\"}]}}", &c));
	EXPECT_EQ_STR("/http/tokens/0/role: expected \"viewer\" or \"operator\"",
		      load("{\"http\": {\"tokens\": [{\"sha256\": \"0000000000000000000000000000000000000000"
			   "000000000000000000000000\", \"role\": \"admin\"}]}}",
			   &c));
	EXPECT_EQ_STR("/database/port: expected an integer from 1 to 65535",
		      load("{\"database\": {\"host\": \"h\", \"user\": \"u\", \"port\": 70000}}", &c));
	EXPECT_EQ_STR("/database/user: required when connecting to a server",
		      load("{\"database\": {\"host\": \"h\"}}", &c));
	EXPECT_EQ_STR("/database: managed is false, so host or socket must name the server",
		      load("{\"database\": {\"managed\": false}}", &c));
	EXPECT_EQ_STR("/state_dir: expected a non-empty string", load("{\"state_dir\": \"\"}", &c));
	EXPECT_EQ_STR("(top level): expected an object", load("[1, 2]", &c));
	EXPECT_CONTAINS("/database/sockt: unknown key", load("{\"database\": {\"sockt\": \"/x\"}}", &c));
	const char *m = load("{\n  \"state_dir\": \"var\",\n  \"log_level\": \n", &c);
	EXPECT_CONTAINS(":4:1: JSON syntax error: unexpected end, expected a value", m ? m - strlen(path) - 2 : NULL);
}

DEF_TEST(mail)
{
	struct ob_config *c;
	EXPECT_EQ_STR(NULL, load("{}", &c));
	EXPECT_EQ_STR(NULL, c->mail.smtp_host); /* no SMTP: .eml files */
	EXPECT_EQ_INT(OB_STARTTLS_REQUIRED, c->mail.starttls);
	EXPECT_EQ_INT(60, c->mail.retry_initial);
	EXPECT_EQ_INT(3600, c->mail.retry_max);
	EXPECT_EQ_INT(5 * 86400, c->mail.max_age);
	EXPECT_EQ_STR("overblik@localhost", c->mail.from.email);
	ob_config_free(c);
	EXPECT_EQ_STR(NULL, load("{\"mail\": {\"from\": {\"name\": \"overblik · Hjørring\", \"email\": \"ob@hjoerring.dk\"}, "
				 "\"roles\": {\"asg\": [\"a@hjoerring.dk\", {\"name\": \"Åse\", \"email\": \"b@hjoerring.dk\"}]}, "
				 "\"smtp\": {\"host\": \"smtp.hjoerring.dk\", \"port\": 587, \"starttls\": \"opportunistic\"}, "
				 "\"max_age_hours\": 48}}",
				 &c));
	EXPECT_EQ_STR("smtp.hjoerring.dk", c->mail.smtp_host);
	EXPECT_EQ_INT(587, c->mail.smtp_port);
	EXPECT_EQ_INT(OB_STARTTLS_OPPORTUNISTIC, c->mail.starttls);
	EXPECT_EQ_INT(2, c->mail.nroles[ob_mail_role("asg")]);
	EXPECT_EQ_STR("Åse", c->mail.roles[ob_mail_role("asg")][1].name);
	EXPECT_EQ_STR("b@hjoerring.dk", c->mail.roles[ob_mail_role("asg")][1].email);
	EXPECT_EQ_INT(0, c->mail.nroles[ob_mail_role("direktion")]);
	EXPECT_EQ_INT(48 * 3600, c->mail.max_age);
	ob_config_free(c);
	EXPECT_EQ_STR("/mail/roles/asg/1: expected an e-mail address (\"it@kommune.dk\") or {\"name\": ..., \"email\": "
		      "...}; \"x y@z\" is not a plain address",
		      load("{\"mail\": {\"roles\": {\"asg\": [\"a@b.dk\", \"x y@z\"]}}}", &c));
	EXPECT_EQ_STR("/mail/from: expected an e-mail address (\"it@kommune.dk\") or {\"name\": ..., \"email\": "
		      "...}; \"a@b\\r\\nBcc: c@d\" is not a plain address",
		      load("{\"mail\": {\"from\": \"a@b\\r\\nBcc: c@d\"}}", &c));
	EXPECT_CONTAINS("/mail/roles/board: unknown key (known here: asg, direktion, isk, indkoeb, iod, it_support)",
			load("{\"mail\": {\"roles\": {\"board\": []}}}", &c));
	EXPECT_EQ_STR("/mail/smtp/starttls: expected \"required\", \"opportunistic\" or \"off\"",
		      load("{\"mail\": {\"smtp\": {\"host\": \"h\", \"starttls\": \"yes\"}}}", &c));
	EXPECT_CONTAINS("/mail/smtp/host: required when /mail/smtp is given",
			load("{\"mail\": {\"smtp\": {\"port\": 25}}}", &c));
	EXPECT_EQ_STR("/mail/smtp/starttls: AUTH (username) needs \"required\": the password would otherwise go in clear",
		      load("{\"mail\": {\"smtp\": {\"host\": \"h\", \"starttls\": \"off\", \"username\": \"u\", "
			   "\"password_file\": \"/etc/passwd\"}}}",
			   &c));
	EXPECT_EQ_STR("/mail/smtp/password_file: cannot read /nonexistent/pw: No such file or directory",
		      load("{\"mail\": {\"smtp\": {\"host\": \"h\", \"username\": \"u\", \"password_file\": "
			   "\"/nonexistent/pw\"}}}",
			   &c));
	EXPECT_EQ_STR(NULL, load("{\"mail\": {\"smtp\": {\"host\": \"h\", \"username\": \"u\", \"password_file\": "
				 "\"/etc/passwd\"}}}",
				 &c));
	ob_config_free(c);
	EXPECT_CONTAINS("/mail/smtp/host: \"::1\": give a host name or an IPv4 address",
			load("{\"mail\": {\"smtp\": {\"host\": \"::1\"}}}", &c));
	EXPECT_CONTAINS("/mail/smtp: username and password_file go together",
			load("{\"mail\": {\"smtp\": {\"host\": \"h\", \"username\": \"u\"}}}", &c));
	EXPECT_EQ_STR("/mail/retry_max: 10 is less than retry_initial (60)", load("{\"mail\": {\"retry_max\": 10}}", &c));
	EXPECT_EQ_STR("/mail/smtp/port: expected an integer from 1 to 65535",
		      load("{\"mail\": {\"smtp\": {\"host\": \"h\", \"port\": 0}}}", &c));
}

/* mail.digest_at: one digest per recipient at a time of day (issue 15). */
DEF_TEST(digest_at)
{
	struct ob_config *c;

	EXPECT_EQ_STR(NULL, load("{}", &c));
	OK(c && c->mail.digest_at == NULL); /* unset: mail per run */
	ob_config_free(c);
	EXPECT_EQ_STR(NULL, load("{\"mail\": {\"digest_at\": null}}", &c));
	OK(c && c->mail.digest_at == NULL);
	ob_config_free(c);
	EXPECT_EQ_STR(NULL, load("{\"mail\": {\"digest_at\": \"30 7 * * 1-5\"}}", &c));
	EXPECT_EQ_STR("30 7 * * 1-5", c ? c->mail.digest_at : NULL);
	ob_config_free(c);
	EXPECT_EQ_STR("/mail/digest_at: \"0 7 30 2 *\" never fires: February has no day 30",
		      load("{\"mail\": {\"digest_at\": \"0 7 30 2 *\"}}", &c));
	EXPECT_CONTAINS("/mail/digest_at: ", load("{\"mail\": {\"digest_at\": \"7:30\"}}", &c));
	EXPECT_CONTAINS("/mail/digest_at: ", load("{\"mail\": {\"digest_at\": 730}}", &c));
}

/* mail.attach_pdf: who gets the run's PDF (issue 10). */
DEF_TEST(attach_pdf)
{
	struct ob_config *c;
	static const struct {
		const char *json;
		enum ob_attach_pdf want;
	} ok[] = {
		{"{}", OB_ATTACH_PDF_ROLES},
		{"{\"mail\": {\"attach_pdf\": \"roles\"}}", OB_ATTACH_PDF_ROLES},
		{"{\"mail\": {\"attach_pdf\": \"all\"}}", OB_ATTACH_PDF_ALL},
		{"{\"mail\": {\"attach_pdf\": \"none\"}}", OB_ATTACH_PDF_NONE},
		{"{\"mail\": {\"attach_pdf\": true}}", OB_ATTACH_PDF_ROLES}, /* the old spelling, the old default */
		{"{\"mail\": {\"attach_pdf\": false}}", OB_ATTACH_PDF_NONE},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		EXPECT_EQ_STR(NULL, load(ok[i].json, &c));
		EXPECT_EQ_INT(ok[i].want, c ? (int)c->mail.attach_pdf : -1);
		ob_config_free(c);
	}
	EXPECT_EQ_STR("/mail/attach_pdf: \"owners\": expected \"roles\" (the roles' briefings carry the run's PDF, the "
		      "owners' digests not), \"all\" or \"none\" (true means \"roles\", false \"none\")",
		      load("{\"mail\": {\"attach_pdf\": \"owners\"}}", &c));
	EXPECT_EQ_STR("/mail/attach_pdf: expected \"roles\" (the roles' briefings carry the run's PDF, the "
		      "owners' digests not), \"all\" or \"none\" (true means \"roles\", false \"none\")",
		      load("{\"mail\": {\"attach_pdf\": 1}}", &c));
	EXPECT_CONTAINS("/mail/attach_pdf: expected", load("{\"mail\": {\"attach_pdf\": null}}", &c));
	EXPECT_CONTAINS("/mail/attach_pdf: \"ALL\": expected", load("{\"mail\": {\"attach_pdf\": \"ALL\"}}", &c));
	EXPECT_CONTAINS("/mail/attach_pdf: \"a\\x1B[2J\": expected",
			load("{\"mail\": {\"attach_pdf\": \"a\\u001b[2J\"}}", &c));
}

/* What a careless operator writes (issue 9): each refused, naming where. */
DEF_TEST(strict)
{
	struct ob_config *c;
	const char *m;
#define FULL(m) ((m) ? (m)-strlen(path) - 2 : NULL) /* "PATH:L:C: ..." */
	m = load("{\"state_dir\": \"a\", \"state_dir\": \"b\"}", &c);
	EXPECT_CONTAINS(":1:20: JSON syntax error: duplicate key \"state_dir\" (first at line 1, column 2)", FULL(m));
	m = load("{\"http\": {\"listen\": \"off\"}} {\"http\": {}}", &c);
	EXPECT_CONTAINS(":1:29: JSON syntax error: data after the JSON value", FULL(m));
	m = load("{\"state_dir\": \"var\\u0000/../../tmp\"}", &c);
	EXPECT_CONTAINS(":1:19: JSON syntax error: \\u0000 (NUL) in a string", FULL(m));
	m = load("{\"state_dir\": \"v\xff\"}", &c);
	EXPECT_CONTAINS(":1:17: JSON syntax error: byte 0xFF in a string is not UTF-8", FULL(m));
	char deep[400] = "{\"_comment\": ";
	for (int i = 0; i < 100; i++)
		strcat(deep, "[");
	m = load(deep, &c);
	EXPECT_CONTAINS("JSON syntax error: nested deeper than 64 levels", FULL(m));

	char *big = malloc(1100000);
	strcpy(big, "{\"plugin_dir\": \"");
	memset(big + strlen(big), 'x', 1048576);
	strcpy(big + 16 + 1048576, "\"}");
	EXPECT_EQ_STR("/plugin_dir: a string of 1048576 bytes; at most 4095", load(big, &c));
	free(big);

	EXPECT_EQ_STR("/reports/quarterly/schedule: \"* * 31 2 *\" never fires: February has no day 31",
		      load("{\"reports\": {\"quarterly\": {\"schedule\": \"* * 31 2 *\"}}}", &c));
	EXPECT_EQ_STR(NULL, load("{\"reports\": {\"leap\": {\"schedule\": \"0 6 29 2 *\"}}}", &c));
	ob_config_free(c);

	EXPECT_EQ_STR("/http/tokens/1/sha256: the same token as /http/tokens/0 (\"ci\"): a token has one name and "
		      "one role",
		      load("{\"http\": {\"tokens\": [{\"name\": \"ci\", \"sha256\": \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", "
			   "\"role\": \"viewer\"}, {\"name\": \"ops\", \"sha256\": \"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\", "
			   "\"role\": \"operator\"}]}}",
			   &c));
	EXPECT_EQ_STR("/reports/x\\x0Ay: a report name is up to 64 lower-case letters, digits and _",
		      load("{\"reports\": {\"x\\ny\": {}}}", &c));
	EXPECT_EQ_STR("/st\\x1Bate: unknown key (known here: state_dir, timezone, log_level, database, import, "
		      "plugin_dir, template_dir, max_runs, grace_period, http, reports, mail)",
		      load("{\"st\\u001bate\": 1}", &c));
	/* listen addresses that cannot work: the port would wrap or be random */
	static const char *const bad_listen[] = {"127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:", ":", "[::1:80",
						 "not a host:80", "127.0.0.1:80x", ":8470"};
	for (size_t i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++) {
		char json[200];
		snprintf(json, sizeof(json), "{\"http\": {\"listen\": \"%s\"}}", bad_listen[i]);
		EXPECT_CONTAINS("/http/listen: ", load(json, &c));
		EXPECT_CONTAINS("expected ADDRESS:PORT with a port from 1 to 65535", load(json, &c));
	}
	static const char *const good_listen[] = {"127.0.0.1:8470", "[::1]:8470", "localhost:1", "0.0.0.0:65535", "off"};
	for (size_t i = 0; i < sizeof(good_listen) / sizeof(good_listen[0]); i++) {
		char json[200];
		snprintf(json, sizeof(json), "{\"http\": {\"listen\": \"%s\"}}", good_listen[i]);
		EXPECT_EQ_STR(NULL, load(json, &c));
		ob_config_free(c);
	}
	EXPECT_EQ_STR("/http/tokens/0/sha256: the SHA-256 of an empty token: anyone would get in",
		      load("{\"http\": {\"tokens\": [{\"sha256\": \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\", "
			   "\"role\": \"viewer\"}]}}",
			   &c));
	EXPECT_EQ_STR("/http/tokens/0/name: a token's name is up to 64 characters without control characters (it is logged)",
		      load("{\"http\": {\"tokens\": [{\"name\": \"ci\\nfake log line\", \"sha256\": "
			   "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", \"role\": \"viewer\"}]}}",
			   &c));
	big = malloc(1100000);
	strcpy(big, "{\"reports\": {\"x\": {\"settings\": {\"s\": \"");
	size_t at = strlen(big);
	memset(big + at, 'x', 1048576);
	strcpy(big + at + 1048576, "\"}}}}");
	EXPECT_EQ_STR("/reports/x/settings/s: 1048576 bytes; at most 4095", load(big, &c));
	free(big);
#undef FULL
}

int main(void)
{
	int fd = mkstemp(path);
	close(fd);
	RUN_TEST(defaults);
	RUN_TEST(valid);
	RUN_TEST(errors);
	RUN_TEST(mail);
	RUN_TEST(digest_at);
	RUN_TEST(attach_pdf);
	RUN_TEST(strict);
	unlink(path);
	END_TEST;
}
