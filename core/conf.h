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

struct ob_config {
	char *path;           /* the file read, or "(defaults)" */
	char *state_dir;      /* "var" */
	char *timezone;       /* "Europe/Copenhagen" */
	char *log_level;      /* "info" */
	struct ob_config_db db;
	char *owner_role;     /* import.owner_role: "Systemejer" */
};

/* Loads and validates path. A missing file at the default path gives the
 * embedded defaults; a missing file named with -c is an error. The caller
 * frees with ob_config_free(). */
int ob_config_load(const char *path, int explicit_path, struct ob_config **out, struct ob_err *err);
struct ob_config *ob_config_defaults(void);
void ob_config_free(struct ob_config *cfg);

#endif
