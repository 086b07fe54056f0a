/* conf.c - the JSON configuration, validated into struct ob_config.
 *
 * Every error names the file and the JSON pointer of the offending value:
 * "etc/overblik.json: /database/port: expected an integer from 1 to 65535". */
#include "config.h"

#include <cjson/cJSON.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "cron.h"
#include "json.h"
#include "log.h"
#include "mime.h"

const char *const ob_mail_role_names[OB_MAIL_NROLES] = {"asg", "direktion", "isk", "indkoeb", "iod", "it_support"};

int ob_mail_role(const char *name)
{
	for (int i = 0; name && i < OB_MAIL_NROLES; i++)
		if (strcmp(name, ob_mail_role_names[i]) == 0)
			return i;
	return -1;
}

struct ob_config *ob_config_defaults(void)
{
	struct ob_config *c = ob_xcalloc(1, sizeof(*c));

	c->path = ob_xstrdup("(defaults)");
	c->state_dir = ob_xstrdup("var");
	c->timezone = ob_xstrdup("Europe/Copenhagen");
	c->log_level = ob_xstrdup("info");
	c->db.managed = 1;
	c->db.port = 3306;
	c->db.database = ob_xstrdup("overblik");
	c->db.mariadbd = ob_xstrdup(OB_MARIADBD);
	c->db.install_db = ob_xstrdup(OB_MARIADB_INSTALL_DB);
	c->db.connect_timeout = 10;
	c->owner_role = ob_xstrdup("Systemejer");
	/* Run from a built source tree, its plugins and templates; installed,
	 * the package's. */
	c->plugin_dir = ob_xstrdup(access("plugins/.libs/contract_expiry.so", R_OK) == 0 ? "plugins/.libs" : OB_PLUGINDIR);
	c->template_dir = ob_xstrdup(access("templates/da/mail", R_OK) == 0 ? "templates/da"
									   : OB_PKGDATADIR "/templates/da");
	c->mail.from.name = ob_xstrdup("overblik");
	c->mail.from.email = ob_xstrdup("overblik@localhost");
	for (int i = 0; i < OB_MAIL_NROLES; i++)
		c->mail.roles[i] = ob_xcalloc(1, sizeof(struct ob_config_addr));
	c->mail.attach_pdf = OB_ATTACH_PDF_ROLES;
	c->mail.retry_initial = 60;
	c->mail.retry_max = 3600;
	c->mail.max_age = 5 * 86400;
	c->mail.poll_interval = 30;
	c->mail.batch = 50;
	c->mail.keep_days = 90;
	c->mail.smtp_port = 25;
	c->mail.starttls = OB_STARTTLS_REQUIRED;
	c->mail.tls_verify = 1;
	c->mail.connect_timeout = 30;
	c->mail.command_timeout = 300;
	c->max_runs = 2;
	c->grace_period = 30;
	c->http_listen = ob_xstrdup("127.0.0.1:8470");
	return c;
}

void ob_config_free(struct ob_config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->text);
	free(c->state_dir);
	free(c->timezone);
	free(c->log_level);
	free(c->db.host);
	free(c->db.socket);
	free(c->db.user);
	free(c->db.password_file);
	free(c->db.database);
	free(c->db.mariadbd);
	free(c->db.install_db);
	free(c->owner_role);
	free(c->plugin_dir);
	free(c->template_dir);
	free(c->http_listen);
	free(c->mail.from.name);
	free(c->mail.from.email);
	free(c->mail.reply_to.name);
	free(c->mail.reply_to.email);
	for (int i = 0; i < OB_MAIL_NROLES; i++) {
		for (size_t k = 0; c->mail.roles[i] && k < c->mail.nroles[i]; k++) {
			free(c->mail.roles[i][k].name);
			free(c->mail.roles[i][k].email);
		}
		free(c->mail.roles[i]);
	}
	free(c->mail.message_id_domain);
	free(c->mail.outbox_dir);
	free(c->mail.digest_at);
	free(c->mail.smtp_host);
	free(c->mail.ca_file);
	free(c->mail.username);
	free(c->mail.password_file);
	free(c->mail.helo);
	for (size_t i = 0; i < c->ntokens; i++)
		free(c->tokens[i].name);
	free(c->tokens);
	for (size_t i = 0; i < c->nreports; i++) {
		struct ob_config_report *r = &c->reports[i];
		free(r->name);
		free(r->schedule);
		for (size_t k = 0; k < r->nsettings * 2; k++)
			free(r->settings[k]);
		free(r->settings);
		cJSON_Delete(r->settings_json);
	}
	free(c->reports);
	free(c);
}

/* No value in a configuration is longer: paths, names, addresses. */
#define MAX_STRING 4096

static int set_string(const char *file, const char *ptr, const cJSON *v, char **dst, int allow_empty,
		      struct ob_err *err)
{
	if (!cJSON_IsString(v) || (!allow_empty && v->valuestring[0] == '\0')) {
		ob_err_set(err, "%s: %s: expected a%s string", file, ptr, allow_empty ? "" : " non-empty");
		return -1;
	}
	if (strlen(v->valuestring) >= MAX_STRING) {
		ob_err_set(err, "%s: %s: a string of %zu bytes; at most %d", file, ptr, strlen(v->valuestring),
			   MAX_STRING - 1);
		return -1;
	}
	free(*dst);
	*dst = ob_xstrdup(v->valuestring);
	return 0;
}

static int set_int(const char *file, const char *ptr, const cJSON *v, long lo, long hi, long *dst,
		   struct ob_err *err)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble || v->valuedouble < lo ||
	    v->valuedouble > hi) {
		ob_err_set(err, "%s: %s: expected an integer from %ld to %ld", file, ptr, lo, hi);
		return -1;
	}
	*dst = (long)v->valuedouble;
	return 0;
}

static int set_bool(const char *file, const char *ptr, const cJSON *v, int *dst, struct ob_err *err)
{
	if (!cJSON_IsBool(v)) {
		ob_err_set(err, "%s: %s: expected true or false", file, ptr);
		return -1;
	}
	*dst = cJSON_IsTrue(v);
	return 0;
}

static int expect_object(const char *file, const char *ptr, const cJSON *v, struct ob_err *err)
{
	if (!cJSON_IsObject(v)) {
		ob_err_set(err, "%s: %s: expected an object", file, ptr);
		return -1;
	}
	return 0;
}

static int unknown_key(const char *file, const char *parent, const cJSON *item, const char *known,
		       struct ob_err *err)
{
	char shown[200];
	ob_json_quote_for_message(item->string, strlen(item->string), 64, shown, sizeof(shown));
	ob_err_set(err, "%s: %s/%s: unknown key (known here: %s)", file, parent, shown, known);
	return -1;
}

static int load_database(const char *file, const cJSON *o, struct ob_config_db *db, struct ob_err *err)
{
	const cJSON *it;
	int managed_given = 0, server_given = 0;
	long n;

	if (expect_object(file, "/database", o, err) < 0)
		return -1;
	cJSON_ArrayForEach(it, o)
	{
		char ptr[128];
		snprintf(ptr, sizeof(ptr), "/database/%s", it->string);
		if (strcmp(it->string, "managed") == 0) {
			if (set_bool(file, ptr, it, &db->managed, err) < 0)
				return -1;
			managed_given = 1;
		} else if (strcmp(it->string, "host") == 0) {
			if (set_string(file, ptr, it, &db->host, 0, err) < 0)
				return -1;
			server_given = 1;
		} else if (strcmp(it->string, "port") == 0) {
			if (set_int(file, ptr, it, 1, 65535, &n, err) < 0)
				return -1;
			db->port = (unsigned)n;
		} else if (strcmp(it->string, "socket") == 0) {
			if (set_string(file, ptr, it, &db->socket, 0, err) < 0)
				return -1;
			server_given = 1;
		} else if (strcmp(it->string, "user") == 0) {
			if (set_string(file, ptr, it, &db->user, 0, err) < 0)
				return -1;
		} else if (strcmp(it->string, "password_file") == 0) {
			if (set_string(file, ptr, it, &db->password_file, 0, err) < 0)
				return -1;
		} else if (strcmp(it->string, "database") == 0) {
			if (set_string(file, ptr, it, &db->database, 0, err) < 0)
				return -1;
			for (const char *q = db->database; *q; q++)
				if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
				      *q == '_' || *q == '$') ||
				    q - db->database >= 64) {
					ob_err_set(err, "%s: %s: \"%s\": a database name is up to 64 letters, digits, "
							"_ and $",
						   file, ptr, db->database);
					return -1;
				}
		} else if (strcmp(it->string, "mariadbd") == 0) {
			if (set_string(file, ptr, it, &db->mariadbd, 0, err) < 0)
				return -1;
		} else if (strcmp(it->string, "install_db") == 0) {
			if (set_string(file, ptr, it, &db->install_db, 0, err) < 0)
				return -1;
		} else if (strcmp(it->string, "connect_timeout") == 0) {
			if (set_int(file, ptr, it, 1, 3600, &n, err) < 0)
				return -1;
			db->connect_timeout = (int)n;
		} else if (it->string[0] == '_') {
			/* "_comment" keys document a file */
		} else
			return unknown_key(file, "/database", it,
					   "managed, host, port, socket, user, password_file, database, "
					   "mariadbd, install_db, connect_timeout",
					   err);
	}
	if (server_given) {
		if (managed_given && db->managed) {
			ob_err_set(err, "%s: /database/managed: true, but host or socket names a server: "
					"choose one",
				   file);
			return -1;
		}
		db->managed = 0;
	} else if (managed_given && !db->managed) {
		ob_err_set(err, "%s: /database: managed is false, so host or socket must name the server",
			   file);
		return -1;
	}
	if (!db->managed && db->user == NULL) {
		ob_err_set(err, "%s: /database/user: required when connecting to a server", file);
		return -1;
	}
	return 0;
}

static int load_import(const char *file, const cJSON *o, struct ob_config *c, struct ob_err *err)
{
	const cJSON *it;

	if (expect_object(file, "/import", o, err) < 0)
		return -1;
	cJSON_ArrayForEach(it, o)
	{
		if (strcmp(it->string, "owner_role") == 0) {
			if (set_string(file, "/import/owner_role", it, &c->owner_role, 0, err) < 0)
				return -1;
		} else if (it->string[0] != '_')
			return unknown_key(file, "/import", it, "owner_role", err);
	}
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* "127.0.0.1:8470", "[::1]:8470", "localhost:8470": an address the
 * endpoint can bind, and a port from 1 to 65535 (0 would be a random one). */
static int listen_valid(const char *v)
{
	const char *colon = strrchr(v, ':'), *p;
	char host[256];
	unsigned char addr[16];
	long port = 0;

	if (colon == NULL || colon == v || colon[1] == '\0' || (size_t)(colon - v) >= sizeof(host))
		return 0;
	for (p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9' || p - colon > 5)
			return 0;
		port = port * 10 + (*p - '0');
	}
	if (port < 1 || port > 65535)
		return 0;
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = '\0';
	if (host[0] == '[') {
		size_t l = strlen(host);
		if (l < 3 || host[l - 1] != ']')
			return 0;
		host[l - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, addr) == 1;
	}
	if (inet_pton(AF_INET, host, addr) == 1)
		return 1;
	for (p = host; *p; p++) /* a host name */
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '.'))
			return 0;
	return 1;
}

/* The SHA-256 of the empty token: a configuration that names it lets in
 * "Authorization: Bearer " with nothing after it. */
static const unsigned char empty_sha256[32] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};

static int load_http(const char *file, const cJSON *o, struct ob_config *c, struct ob_err *err)
{
	const cJSON *it, *t;
	size_t i = 0;

	if (expect_object(file, "/http", o, err) < 0)
		return -1;
	cJSON_ArrayForEach(it, o)
	{
		if (strcmp(it->string, "listen") == 0) {
			if (set_string(file, "/http/listen", it, &c->http_listen, 1, err) < 0)
				return -1;
			if (c->http_listen[0] && strcmp(c->http_listen, "off") != 0 && !listen_valid(c->http_listen)) {
				char shown[200];
				ob_json_quote_for_message(c->http_listen, strlen(c->http_listen), 60, shown, sizeof(shown));
				ob_err_set(err, "%s: /http/listen: \"%s\": expected ADDRESS:PORT with a port from 1 to "
						"65535, e.g. 127.0.0.1:8470 or [::1]:8470, or \"off\"",
					   file, shown);
				return -1;
			}
		} else if (strcmp(it->string, "tokens") == 0) {
			if (!cJSON_IsArray(it)) {
				ob_err_set(err, "%s: /http/tokens: expected an array of {name, sha256, role}", file);
				return -1;
			}
			c->ntokens = (size_t)cJSON_GetArraySize(it);
			c->tokens = ob_xcalloc(c->ntokens ? c->ntokens : 1, sizeof(*c->tokens));
			i = 0;
			cJSON_ArrayForEach(t, it)
			{
				struct ob_config_token *tok = &c->tokens[i];
				char ptr[96];
				const cJSON *f;
				int have_hash = 0;
				snprintf(ptr, sizeof(ptr), "/http/tokens/%zu", i);
				if (expect_object(file, ptr, t, err) < 0)
					return -1;
				cJSON_ArrayForEach(f, t)
				{
					char fptr[128];
					snprintf(fptr, sizeof(fptr), "%s/%s", ptr, f->string);
					if (strcmp(f->string, "name") == 0) {
						if (set_string(file, fptr, f, &tok->name, 0, err) < 0)
							return -1;
						if (!ob_utf8_printable(tok->name) || ob_utf8_len(tok->name) > 64) {
							ob_err_set(err, "%s: %s: a token's name is up to 64 "
									"characters without control characters "
									"(it is logged)",
								   file, fptr);
							return -1;
						}
					} else if (strcmp(f->string, "sha256") == 0) {
						const char *h = cJSON_IsString(f) ? f->valuestring : "";
						if (strlen(h) != 64) {
							ob_err_set(err, "%s: %s: expected the token's SHA-256 as 64 hex "
									"digits (printf %%s TOKEN | sha256sum)",
								   file, fptr);
							return -1;
						}
						for (int k = 0; k < 32; k++) {
							int hi = hexval(h[2 * k]), lo = hexval(h[2 * k + 1]);
							if (hi < 0 || lo < 0) {
								ob_err_set(err, "%s: %s: not a hex digit at position %d",
									   file, fptr, 2 * k + (hi < 0 ? 1 : 2));
								return -1;
							}
							tok->sha256[k] = (unsigned char)(hi * 16 + lo);
						}
						if (memcmp(tok->sha256, empty_sha256, 32) == 0) {
							ob_err_set(err, "%s: %s: the SHA-256 of an empty token: anyone "
									"would get in",
								   file, fptr);
							return -1;
						}
						have_hash = 1;
					} else if (strcmp(f->string, "role") == 0) {
						const char *r = cJSON_IsString(f) ? f->valuestring : "";
						if (strcmp(r, "viewer") == 0)
							tok->role = OB_ROLE_VIEWER;
						else if (strcmp(r, "operator") == 0)
							tok->role = OB_ROLE_OPERATOR;
						else {
							ob_err_set(err, "%s: %s: expected \"viewer\" or \"operator\"", file,
								   fptr);
							return -1;
						}
					} else if (f->string[0] != '_')
						return unknown_key(file, ptr, f, "name, sha256, role", err);
				}
				if (!have_hash || tok->role == 0) {
					ob_err_set(err, "%s: %s: a token needs sha256 and role", file, ptr);
					return -1;
				}
				if (tok->name == NULL)
					tok->name = ob_xasprintf("token %zu", i);
				for (size_t k = 0; k < i; k++)
					if (memcmp(c->tokens[k].sha256, tok->sha256, sizeof(tok->sha256)) == 0) {
						ob_err_set(err, "%s: %s/sha256: the same token as /http/tokens/%zu (\"%s\"): "
								"a token has one name and one role",
							   file, ptr, k, c->tokens[k].name);
						return -1;
					}
				i++;
			}
		} else if (it->string[0] != '_')
			return unknown_key(file, "/http", it, "listen, tokens", err);
	}
	return 0;
}

static int load_report(const char *file, const cJSON *o, struct ob_config_report *r, struct ob_err *err)
{
	char ptr[160];
	const cJSON *f;
	long n;

	snprintf(ptr, sizeof(ptr), "/reports/%s", r->name);
	if (expect_object(file, ptr, o, err) < 0)
		return -1;
	cJSON_ArrayForEach(f, o)
	{
		char fptr[256];
		snprintf(fptr, sizeof(fptr), "%s/%s", ptr, f->string);
		if (strcmp(f->string, "schedule") == 0) {
			struct ob_cron cron;
			struct ob_err cerr = {{0}};
			if (set_string(file, fptr, f, &r->schedule, 0, err) < 0)
				return -1;
			if (ob_cron_parse(r->schedule, &cron, &cerr) < 0) {
				ob_err_set(err, "%s: %s: %s", file, fptr, cerr.msg);
				return -1;
			}
			char why[160];
			if (!ob_cron_can_fire(&cron, why, sizeof(why))) {
				ob_err_set(err, "%s: %s: \"%s\" %s", file, fptr, r->schedule, why);
				return -1;
			}
		} else if (strcmp(f->string, "timeout") == 0) {
			if (set_int(file, fptr, f, 1, 86400, &n, err) < 0)
				return -1;
			r->timeout = (int)n;
		} else if (strcmp(f->string, "catch_up_hours") == 0) {
			if (set_int(file, fptr, f, 0, 24 * 366, &n, err) < 0)
				return -1;
			r->catch_up = (int)n * 3600;
		} else if (strcmp(f->string, "enabled") == 0) {
			if (set_bool(file, fptr, f, &r->enabled, err) < 0)
				return -1;
		} else if (strcmp(f->string, "settings") == 0) {
			const cJSON *s;
			size_t k = 0;
			if (expect_object(file, fptr, f, err) < 0)
				return -1;
			cJSON_Delete(r->settings_json);
			r->settings_json = cJSON_Duplicate(f, 1);
			r->nsettings = (size_t)cJSON_GetArraySize(f);
			r->settings = ob_xcalloc(r->nsettings * 2 + 1, sizeof(char *));
			cJSON_ArrayForEach(s, f)
			{
				char sptr[320];
				snprintf(sptr, sizeof(sptr), "%s/%s", fptr, s->string);
				r->settings[k++] = ob_xstrdup(s->string);
				char *v = NULL;
				if (cJSON_IsString(s))
					v = ob_xstrdup(s->valuestring);
				else if (cJSON_IsNumber(s) || cJSON_IsBool(s) || cJSON_IsArray(s)) {
					char *t = cJSON_PrintUnformatted(s); /* a list, as JSON text */
					v = ob_xstrdup(t);
					cJSON_free(t);
				} else {
					r->settings[k++] = ob_xstrdup("");
					ob_err_set(err, "%s: %s: expected a string, number, boolean or list", file,
						   sptr);
					return -1;
				}
				r->settings[k++] = v;
				if (strlen(v) >= MAX_STRING) {
					ob_err_set(err, "%s: %s: %zu bytes; at most %d", file, sptr, strlen(v),
						   MAX_STRING - 1);
					return -1;
				}
			}
		} else if (f->string[0] != '_')
			return unknown_key(file, ptr, f, "schedule, timeout, catch_up_hours, enabled, settings",
					   err);
	}
	return 0;
}

static int load_reports(const char *file, const cJSON *o, struct ob_config *c, struct ob_err *err)
{
	const cJSON *it;
	size_t i = 0;

	if (expect_object(file, "/reports", o, err) < 0)
		return -1;
	c->reports = ob_xcalloc((size_t)cJSON_GetArraySize(o) + 1, sizeof(*c->reports));
	cJSON_ArrayForEach(it, o)
	{
		struct ob_config_report *r;
		if (it->string[0] == '_')
			continue;
		for (const char *p = it->string; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_') || p - it->string >= 64) {
				char shown[200];
				ob_json_quote_for_message(it->string, strlen(it->string), 64, shown, sizeof(shown));
				ob_err_set(err, "%s: /reports/%s: a report name is up to 64 lower-case letters, digits "
						"and _",
					   file, shown);
				return -1;
			}
		r = &c->reports[i];
		r->name = ob_xstrdup(it->string);
		r->timeout = 600;
		r->catch_up = 86400;
		r->enabled = 1;
		c->nreports = ++i;
		if (load_report(file, it, r, err) < 0)
			return -1;
	}
	return 0;
}

const struct ob_config_report *ob_config_report(const struct ob_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nreports; i++)
		if (strcmp(cfg->reports[i].name, name) == 0)
			return &cfg->reports[i];
	return NULL;
}

const char *ob_config_setting(const struct ob_config_report *r, const char *key)
{
	for (size_t i = 0; r && i < r->nsettings; i++)
		if (strcmp(r->settings[2 * i], key) == 0)
			return r->settings[2 * i + 1];
	return NULL;
}

/* s for an error message: control characters as \r, \n, \xHH. */
static void printable(const char *s, char *out, size_t n)
{
	size_t o = 0;
	for (; s && *s && o + 5 < n; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '\r' || ch == '\n' || ch == '\t')
			o += (size_t)snprintf(out + o, n - o, "\\%c", ch == '\r' ? 'r' : ch == '\n' ? 'n' : 't');
		else if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(out + o, n - o, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
}

/* "a@b.dk" or {"name": "...", "email": "a@b.dk"}. */
static int load_addr(const char *file, const char *ptr, const cJSON *v, struct ob_config_addr *a,
		     struct ob_err *err)
{
	const cJSON *it;

	free(a->name);
	free(a->email);
	a->name = a->email = NULL;
	if (cJSON_IsString(v)) {
		a->email = ob_xstrdup(v->valuestring);
	} else if (cJSON_IsObject(v)) {
		cJSON_ArrayForEach(it, v)
		{
			char p[256];
			snprintf(p, sizeof(p), "%s/%s", ptr, it->string);
			if (strcmp(it->string, "name") == 0) {
				if (set_string(file, p, it, &a->name, 1, err) < 0)
					return -1;
			} else if (strcmp(it->string, "email") == 0) {
				if (set_string(file, p, it, &a->email, 0, err) < 0)
					return -1;
			} else if (it->string[0] != '_')
				return unknown_key(file, ptr, it, "name, email", err);
		}
	}
	if (a->email == NULL || !ob_mime_addr_valid(a->email)) {
		char shown[300];
		printable(a->email, shown, sizeof(shown));
		ob_err_set(err, "%s: %s: expected an e-mail address (\"it@kommune.dk\") or {\"name\": ..., "
				"\"email\": ...}%s%s%s",
			   file, ptr, a->email ? "; \"" : "", shown, a->email ? "\" is not a plain address" : "");
		return -1;
	}
	return 0;
}

static int load_mail_roles(const char *file, const cJSON *o, struct ob_config_mail *m, struct ob_err *err)
{
	const cJSON *it;

	if (expect_object(file, "/mail/roles", o, err) < 0)
		return -1;
	cJSON_ArrayForEach(it, o)
	{
		char ptr[128];
		int role = ob_mail_role(it->string);
		size_t n = 0;
		const cJSON *a;

		if (it->string[0] == '_')
			continue;
		if (role < 0)
			return unknown_key(file, "/mail/roles", it, "asg, direktion, isk, indkoeb, iod, it_support", err);
		snprintf(ptr, sizeof(ptr), "/mail/roles/%s", it->string);
		if (!cJSON_IsArray(it)) {
			ob_err_set(err, "%s: %s: expected an array of addresses", file, ptr);
			return -1;
		}
		for (size_t k = 0; k < m->nroles[role]; k++) {
			free(m->roles[role][k].name);
			free(m->roles[role][k].email);
		}
		free(m->roles[role]);
		m->roles[role] = ob_xcalloc((size_t)cJSON_GetArraySize(it) + 1, sizeof(struct ob_config_addr));
		m->nroles[role] = 0;
		cJSON_ArrayForEach(a, it)
		{
			char p[160];
			snprintf(p, sizeof(p), "%s/%zu", ptr, n);
			m->nroles[role] = ++n;
			if (load_addr(file, p, a, &m->roles[role][n - 1], err) < 0)
				return -1;
		}
	}
	return 0;
}

static int load_mail_smtp(const char *file, const cJSON *o, struct ob_config_mail *m, struct ob_err *err)
{
	const cJSON *it;
	long n;

	if (expect_object(file, "/mail/smtp", o, err) < 0)
		return -1;
	cJSON_ArrayForEach(it, o)
	{
		char ptr[128];
		snprintf(ptr, sizeof(ptr), "/mail/smtp/%s", it->string);
		if (strcmp(it->string, "host") == 0) {
			if (set_string(file, ptr, it, &m->smtp_host, 0, err) < 0)
				return -1;
		} else if (strcmp(it->string, "port") == 0) {
			if (set_int(file, ptr, it, 1, 65535, &n, err) < 0)
				return -1;
			m->smtp_port = (unsigned)n;
		} else if (strcmp(it->string, "starttls") == 0) {
			if (!cJSON_IsString(it) ||
			    (strcmp(it->valuestring, "required") != 0 && strcmp(it->valuestring, "opportunistic") != 0 &&
			     strcmp(it->valuestring, "off") != 0)) {
				ob_err_set(err, "%s: %s: expected \"required\", \"opportunistic\" or \"off\"", file, ptr);
				return -1;
			}
			if (strcmp(it->valuestring, "required") == 0)
				m->starttls = OB_STARTTLS_REQUIRED;
			else if (strcmp(it->valuestring, "opportunistic") == 0)
				m->starttls = OB_STARTTLS_OPPORTUNISTIC;
			else
				m->starttls = OB_STARTTLS_OFF;
		} else if (strcmp(it->string, "ca_file") == 0) {
			if (set_string(file, ptr, it, &m->ca_file, 0, err) < 0)
				return -1;
		} else if (strcmp(it->string, "tls_verify") == 0) {
			if (set_bool(file, ptr, it, &m->tls_verify, err) < 0)
				return -1;
		} else if (strcmp(it->string, "username") == 0) {
			if (set_string(file, ptr, it, &m->username, 0, err) < 0)
				return -1;
		} else if (strcmp(it->string, "password_file") == 0) {
			if (set_string(file, ptr, it, &m->password_file, 0, err) < 0)
				return -1;
		} else if (strcmp(it->string, "helo") == 0) {
			if (set_string(file, ptr, it, &m->helo, 0, err) < 0)
				return -1;
		} else if (strcmp(it->string, "connect_timeout") == 0) {
			if (set_int(file, ptr, it, 1, 3600, &n, err) < 0)
				return -1;
			m->connect_timeout = (int)n;
		} else if (strcmp(it->string, "command_timeout") == 0) {
			if (set_int(file, ptr, it, 1, 3600, &n, err) < 0)
				return -1;
			m->command_timeout = (int)n;
		} else if (it->string[0] != '_')
			return unknown_key(file, "/mail/smtp", it,
					   "host, port, starttls, ca_file, tls_verify, username, password_file, helo, "
					   "connect_timeout, command_timeout",
					   err);
	}
	if (m->smtp_host == NULL) {
		ob_err_set(err, "%s: /mail/smtp/host: required when /mail/smtp is given (leave out /mail/smtp "
				"to write .eml files instead)",
			   file);
		return -1;
	}
	if ((m->username == NULL) != (m->password_file == NULL)) {
		ob_err_set(err, "%s: /mail/smtp: username and password_file go together (AUTH needs both)", file);
		return -1;
	}
	if (m->username && m->starttls != OB_STARTTLS_REQUIRED) {
		ob_err_set(err, "%s: /mail/smtp/starttls: AUTH (username) needs \"required\": the password would "
				"otherwise go in clear",
			   file);
		return -1;
	}
	if (m->password_file && access(m->password_file, R_OK) < 0) {
		ob_err_set(err, "%s: /mail/smtp/password_file: cannot read %s: %s", file, m->password_file,
			   strerror(errno));
		return -1;
	}
	if (strchr(m->smtp_host, ':') || strchr(m->smtp_host, '[')) {
		ob_err_set(err, "%s: /mail/smtp/host: \"%s\": give a host name or an IPv4 address (libesmtp cannot "
				"take an IPv6 literal; a name that resolves to it works)",
			   file, m->smtp_host);
		return -1;
	}
	return 0;
}

static int load_mail(const char *file, const cJSON *o, struct ob_config *c, struct ob_err *err)
{
	struct ob_config_mail *m = &c->mail;
	const cJSON *it;
	long n;

	if (expect_object(file, "/mail", o, err) < 0)
		return -1;
	cJSON_ArrayForEach(it, o)
	{
		char ptr[128];
		snprintf(ptr, sizeof(ptr), "/mail/%s", it->string);
		if (strcmp(it->string, "from") == 0) {
			if (load_addr(file, ptr, it, &m->from, err) < 0)
				return -1;
		} else if (strcmp(it->string, "reply_to") == 0) {
			if (load_addr(file, ptr, it, &m->reply_to, err) < 0)
				return -1;
		} else if (strcmp(it->string, "roles") == 0) {
			if (load_mail_roles(file, it, m, err) < 0)
				return -1;
		} else if (strcmp(it->string, "message_id_domain") == 0) {
			if (set_string(file, ptr, it, &m->message_id_domain, 0, err) < 0)
				return -1;
			for (const char *q = m->message_id_domain; *q; q++)
				if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
				      *q == '-' || *q == '.') ||
				    q - m->message_id_domain >= 190) {
					ob_err_set(err, "%s: %s: \"%s\": expected a domain name (letters, digits, - and ., at most 190)",
						   file, ptr, m->message_id_domain);
					return -1;
				}
		} else if (strcmp(it->string, "outbox_dir") == 0) {
			if (set_string(file, ptr, it, &m->outbox_dir, 0, err) < 0)
				return -1;
		} else if (strcmp(it->string, "attach_pdf") == 0) {
			/* true, the old default (then: every message), reads as
			 * "roles": an old configuration never sends the whole
			 * organisation's report to more people than the new default. */
			if (cJSON_IsTrue(it) || (cJSON_IsString(it) && strcmp(it->valuestring, "roles") == 0))
				m->attach_pdf = OB_ATTACH_PDF_ROLES;
			else if (cJSON_IsString(it) && strcmp(it->valuestring, "all") == 0)
				m->attach_pdf = OB_ATTACH_PDF_ALL;
			else if (cJSON_IsFalse(it) || (cJSON_IsString(it) && strcmp(it->valuestring, "none") == 0))
				m->attach_pdf = OB_ATTACH_PDF_NONE;
			else {
				char shown[200] = "";
				if (cJSON_IsString(it)) {
					char q[190];
					ob_json_quote_for_message(it->valuestring, strlen(it->valuestring), 64, q, sizeof(q));
					snprintf(shown, sizeof(shown), "\"%s\": ", q);
				}
				ob_err_set(err, "%s: %s: %sexpected \"roles\" (the roles' briefings carry the run's PDF, the "
						"owners' digests not), \"all\" or \"none\" (true means \"roles\", false \"none\")",
					   file, ptr, shown);
				return -1;
			}
		} else if (strcmp(it->string, "retry_initial") == 0) {
			if (set_int(file, ptr, it, 1, 86400, &n, err) < 0)
				return -1;
			m->retry_initial = (int)n;
		} else if (strcmp(it->string, "retry_max") == 0) {
			if (set_int(file, ptr, it, 1, 7 * 86400, &n, err) < 0)
				return -1;
			m->retry_max = (int)n;
		} else if (strcmp(it->string, "max_age_hours") == 0) {
			if (set_int(file, ptr, it, 0, 24 * 365, &n, err) < 0)
				return -1;
			m->max_age = (int)n * 3600;
		} else if (strcmp(it->string, "poll_interval") == 0) {
			if (set_int(file, ptr, it, 1, 3600, &n, err) < 0)
				return -1;
			m->poll_interval = (int)n;
		} else if (strcmp(it->string, "batch") == 0) {
			if (set_int(file, ptr, it, 1, 10000, &n, err) < 0)
				return -1;
			m->batch = (int)n;
		} else if (strcmp(it->string, "keep_days") == 0) {
			if (set_int(file, ptr, it, 1, 36500, &n, err) < 0)
				return -1;
			m->keep_days = (int)n;
		} else if (strcmp(it->string, "digest_at") == 0) {
			struct ob_cron cron;
			struct ob_err cerr = {{0}};
			char why[160];
			if (cJSON_IsNull(it))
				continue; /* null: per run, as without it */
			if (set_string(file, ptr, it, &m->digest_at, 0, err) < 0)
				return -1;
			if (ob_cron_parse(m->digest_at, &cron, &cerr) < 0) {
				ob_err_set(err, "%s: %s: %s", file, ptr, cerr.msg);
				return -1;
			}
			if (!ob_cron_can_fire(&cron, why, sizeof(why))) {
				ob_err_set(err, "%s: %s: \"%s\" %s", file, ptr, m->digest_at, why);
				return -1;
			}
		} else if (strcmp(it->string, "smtp") == 0) {
			if (load_mail_smtp(file, it, m, err) < 0)
				return -1;
		} else if (it->string[0] != '_')
			return unknown_key(file, "/mail", it,
					   "from, reply_to, roles, message_id_domain, outbox_dir, attach_pdf, "
					   "retry_initial, retry_max, max_age_hours, poll_interval, batch, keep_days, digest_at, smtp",
					   err);
	}
	if (m->retry_max < m->retry_initial) {
		ob_err_set(err, "%s: /mail/retry_max: %d is less than retry_initial (%d)", file, m->retry_max,
			   m->retry_initial);
		return -1;
	}
	return 0;
}

static int load_tree(const char *file, const cJSON *root, struct ob_config *c, struct ob_err *err)
{
	const cJSON *it;

	if (expect_object(file, "(top level)", root, err) < 0)
		return -1;
	cJSON_ArrayForEach(it, root)
	{
		char ptr[128];
		snprintf(ptr, sizeof(ptr), "/%s", it->string);
		if (strcmp(it->string, "state_dir") == 0) {
			if (set_string(file, ptr, it, &c->state_dir, 0, err) < 0)
				return -1;
		} else if (strcmp(it->string, "timezone") == 0) {
			char *zpath;
			if (set_string(file, ptr, it, &c->timezone, 0, err) < 0)
				return -1;
			zpath = ob_xasprintf("/usr/share/zoneinfo/%s", c->timezone);
			if (strstr(c->timezone, "..") || access(zpath, R_OK) < 0) {
				ob_err_set(err, "%s: /timezone: \"%s\": no such time zone (expected an IANA name like "
						"Europe/Copenhagen; install tzdata)",
					   file, c->timezone);
				free(zpath);
				return -1;
			}
			free(zpath);
		} else if (strcmp(it->string, "log_level") == 0) {
			if (set_string(file, ptr, it, &c->log_level, 0, err) < 0)
				return -1;
			if (ob_log_level_parse(c->log_level) < 0) {
				ob_err_set(err, "%s: /log_level: \"%s\": expected error, warning, notice, info "
						"or debug",
					   file, c->log_level);
				return -1;
			}
		} else if (strcmp(it->string, "database") == 0) {
			if (load_database(file, it, &c->db, err) < 0)
				return -1;
		} else if (strcmp(it->string, "import") == 0) {
			if (load_import(file, it, c, err) < 0)
				return -1;
		} else if (strcmp(it->string, "plugin_dir") == 0) {
			if (set_string(file, ptr, it, &c->plugin_dir, 0, err) < 0)
				return -1;
		} else if (strcmp(it->string, "template_dir") == 0) {
			if (set_string(file, ptr, it, &c->template_dir, 0, err) < 0)
				return -1;
		} else if (strcmp(it->string, "mail") == 0) {
			if (load_mail(file, it, c, err) < 0)
				return -1;
		} else if (strcmp(it->string, "max_runs") == 0) {
			long n;
			if (set_int(file, ptr, it, 1, 64, &n, err) < 0)
				return -1;
			c->max_runs = (int)n;
		} else if (strcmp(it->string, "grace_period") == 0) {
			long n;
			if (set_int(file, ptr, it, 0, 3600, &n, err) < 0)
				return -1;
			c->grace_period = (int)n;
		} else if (strcmp(it->string, "http") == 0) {
			if (load_http(file, it, c, err) < 0)
				return -1;
		} else if (strcmp(it->string, "reports") == 0) {
			if (load_reports(file, it, c, err) < 0)
				return -1;
		} else if (it->string[0] == '_' || strcmp(it->string, "comment") == 0) {
			/* "_comment" keys document a file */
		} else
			return unknown_key(file, "", it,
					   "state_dir, timezone, log_level, database, import, plugin_dir, template_dir, "
					   "max_runs, grace_period, http, reports, mail",
					   err);
	}
	return 0;
}

int ob_config_load(const char *path, int explicit_path, struct ob_config **out, struct ob_err *err)
{
	struct ob_config *c = ob_config_defaults();
	char *text = NULL;
	size_t len;
	cJSON *root = NULL;
	struct ob_json_error jerr;
	int rc = -1;

	if (ob_read_file(path, &text, &len) < 0 && errno == ENOENT && !explicit_path) {
		/* Installed: the file make install put under sysconfdir. */
		path = OB_SYSCONFDIR "/overblik.json";
		if (ob_read_file(path, &text, &len) < 0 && errno == ENOENT) {
			*out = c; /* the embedded defaults */
			return 0;
		}
	}
	if (text == NULL) {
		ob_err_set(err, "%s: cannot read the configuration: %s", path, strerror(errno));
		goto out;
	}
	free(c->path);
	c->path = ob_xstrdup(path);
	root = ob_json_parse(text, len, 0, 0, &jerr);
	if (root == NULL) {
		ob_err_set(err, "%s:%ld:%ld: JSON syntax error: %s", path, jerr.line, jerr.col, jerr.what);
		goto out;
	}
	if (load_tree(path, root, c, err) < 0)
		goto out;
	c->text = text;
	text = NULL;
	*out = c;
	c = NULL;
	rc = 0;
out:
	cJSON_Delete(root);
	free(text);
	ob_config_free(c);
	return rc;
}
