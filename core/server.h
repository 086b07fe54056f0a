/* server.h - overblikd, the server: one event loop that owns its parts
 * (the database thread, the scheduler, the mailer, the admin endpoint) and
 * hands each a small interface of hooks; the run queue, the workers, the
 * plugin inventory, the health checks and the metrics are its own. main.c
 * sees only this. */
#ifndef OB_SERVER_H
#define OB_SERVER_H

struct ob_config;
struct ob_db;
struct ob_err;
struct ob_server;

/* A server for cfg (loaded and checked; the server owns it from here),
 * read from config_path (explicit_path: named with -c); self_exe is the
 * executable it starts for workers. */
struct ob_server *ob_server_new(const char *config_path, int explicit_path, struct ob_config *cfg,
				 const char *self_exe);
/* Starts its parts on db (migrated; the database thread owns it from
 * here): the signals, the plugin inventory, the endpoint, the health
 * checks, the runs left by a previous start, the mailer. -1 with err. */
int ob_server_start(struct ob_server *srv, struct ob_db *db, struct ob_err *err);
/* Runs the loop until SIGTERM or SIGINT and the grace period end it. */
void ob_server_run(struct ob_server *srv);
/* Stops what is left and frees it all. */
void ob_server_free(struct ob_server *srv);

#endif
