/* test_conf.c - configuration validation: every error names the file and
 * the JSON pointer. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
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
	EXPECT_CONTAINS("unexpected end of file", m ? m - strlen(path) - 2 : NULL);
}

int main(void)
{
	int fd = mkstemp(path);
	close(fd);
	RUN_TEST(defaults);
	RUN_TEST(valid);
	RUN_TEST(errors);
	unlink(path);
	END_TEST;
}
