/* conf.h - the JSON configuration (etc/overblik.json), validated into a
 * typed struct. Unknown keys and wrong types are errors naming the file
 * and the JSON pointer. */
#ifndef OB_CONF_H
#define OB_CONF_H

#include "util.h"

struct ob_config_db {
	int managed;          /* 1: private mariadbd under state_dir/db */
	char *host;           /* NULL with socket or managed */
	unsigned port;        /* 3306 */
	char *socket;
	char *user;
	char *password_file;
	char *database;       /* "overblik" */
	char *mariadbd;       /* managed: the server binary */
	char *install_db;     /* managed: mariadb-install-db */
	int connect_timeout;  /* seconds */
};

enum ob_role { OB_ROLE_VIEWER = 1, OB_ROLE_OPERATOR = 2 };

struct ob_config_token {
	char *name;             /* for logs: never the token itself */
	unsigned char sha256[32];
	enum ob_role role;
};

struct ob_config_report {
	char *name;             /* the plugin's name */
	char *schedule;         /* cron expression, or NULL: on demand only */
	int timeout;            /* seconds; default 600 */
	int catch_up;           /* seconds a missed fire may be late and still run; default 86400 */
	int enabled;            /* 0: not scheduled, refused on demand */
	char **settings;        /* "key", "value", ..., NULL */
	size_t nsettings;
};

struct ob_config {
	char *path;           /* the file read, or "(defaults)" */
	char *text;           /* its text as read (NULL for the defaults) */
	char *state_dir;      /* "var" */
	char *timezone;       /* "Europe/Copenhagen" */
	char *log_level;      /* "info" */
	struct ob_config_db db;
	char *owner_role;     /* import.owner_role: "Systemejer" */
	char *plugin_dir;     /* where the report plugins are */
	int max_runs;         /* runs at once; default 2 */
	int grace_period;     /* seconds SIGTERM waits for running runs; default 30 */
	char *http_listen;    /* "127.0.0.1:8470"; "" or "off" disables */
	struct ob_config_token *tokens;
	size_t ntokens;
	struct ob_config_report *reports;
	size_t nreports;
};

/* The report's configuration, or NULL when the config names none. */
const struct ob_config_report *ob_config_report(const struct ob_config *cfg, const char *name);
/* A report setting, or NULL. */
const char *ob_config_setting(const struct ob_config_report *r, const char *key);

/* Loads and validates path. A missing file at the default path gives the
 * embedded defaults; a missing file named with -c is an error. The caller
 * frees with ob_config_free(). */
int ob_config_load(const char *path, int explicit_path, struct ob_config **out, struct ob_err *err);
struct ob_config *ob_config_defaults(void);
void ob_config_free(struct ob_config *cfg);

#endif
