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
	struct cJSON *settings_json; /* the object as given, or NULL: checked against the plugin's
	                                declared settings (ob_settings_resolve) */
};

enum ob_starttls { OB_STARTTLS_OFF = 0, OB_STARTTLS_OPPORTUNISTIC = 1, OB_STARTTLS_REQUIRED = 2 };
/* Which messages carry the run's PDF: the roles' briefings only (the
 * default), every message, or none. */
enum ob_attach_pdf { OB_ATTACH_PDF_NONE = 0, OB_ATTACH_PDF_ROLES = 1, OB_ATTACH_PDF_ALL = 2 };

struct ob_config_addr {
	char *name;             /* display name, or NULL */
	char *email;
};

/* The roles a plugin can notify, in the order of enum ob_mail_role. */
#define OB_MAIL_NROLES 6
extern const char *const ob_mail_role_names[OB_MAIL_NROLES]; /* "asg", "direktion", ... */

struct ob_config_mail {
	struct ob_config_addr from;        /* "overblik" <overblik@localhost> */
	struct ob_config_addr reply_to;    /* email NULL: none */
	struct ob_config_addr *roles[OB_MAIL_NROLES]; /* each a list ending in {NULL, NULL} */
	size_t nroles[OB_MAIL_NROLES];
	char *message_id_domain;           /* default: the From address's domain */
	char *outbox_dir;                  /* maildir for .eml files; default state_dir/outbox */
	enum ob_attach_pdf attach_pdf;     /* who gets the run's PDF; default roles */
	int retry_initial;                 /* seconds before the first retry; default 60 */
	int retry_max;                     /* the backoff's cap; default 3600 */
	int max_age;                       /* seconds a message may keep failing; default 5 days */
	int poll_interval;                 /* seconds between overblikd's looks at the outbox; default 30 */
	int batch;                         /* messages per SMTP session; default 50 */
	int keep_days;                     /* a sent message's text is kept this long; default 90 */
	/* A cron expression (local time): runs leave their items pending and
	 * at these times each recipient gets one digest of all of them
	 * (outbox.h: ob_outbox_digest). NULL: mail goes per run. */
	char *digest_at;
	/* SMTP; host NULL: write .eml files into outbox_dir instead. */
	char *smtp_host;
	unsigned smtp_port;                /* 25 */
	enum ob_starttls starttls;         /* default required */
	char *ca_file;                     /* certificates to trust; default the system's */
	int tls_verify;                    /* check the server's certificate and name; default 1 */
	char *username;                    /* AUTH; NULL: none */
	char *password_file;
	char *helo;                        /* default the host name */
	int connect_timeout;               /* seconds; default 30 */
	int command_timeout;               /* seconds; default 300 */
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
	char *template_dir;   /* the Danish texts: templates/da */
	int max_runs;         /* runs at once; default 2 */
	int grace_period;     /* seconds SIGTERM waits for running runs; default 30 */
	char *http_listen;    /* "127.0.0.1:8470"; "" or "off" disables */
	struct ob_config_token *tokens;
	size_t ntokens;
	struct ob_config_report *reports;
	size_t nreports;
	struct ob_config_mail mail;
};

/* The mail role's index, or -1. */
int ob_mail_role(const char *name);

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
