/* db_server.h - the managed private mariadbd under state_dir/db.
 *
 * Layout: state_dir/db/data (datadir, made by mariadb-install-db on first
 * start), mysqld.sock, mysqld.pid, mariadbd.log, and two lock files:
 * start.lock serialises start and stop between processes, users.lock is
 * held shared by every process using the server, so the last one out stops
 * it (unless "db start" pinned it with the file "keep"). One data directory
 * never gets two servers: a running one is attached to, a dead one's pid
 * file and socket are cleaned up before a new start. */
#ifndef OB_DB_SERVER_H
#define OB_DB_SERVER_H

#include "util.h"

struct ob_config;
struct ob_dbserver;

/* Starts the server, or attaches to the one running on this data directory.
 * Returns 0 with *out owned by the caller (ob_dbserver_release()). */
int ob_dbserver_acquire(const struct ob_config *cfg, struct ob_dbserver **out, struct ob_err *err);
/* The socket to connect to; the OS user name to connect as (unix_socket auth). */
const char *ob_dbserver_socket(const struct ob_dbserver *s);
const char *ob_dbserver_user(const struct ob_dbserver *s);
/* Stops using the server; stops the server too when no other process uses
 * it and it is not pinned. */
void ob_dbserver_release(struct ob_dbserver *s);
/* Pins the server to keep running after this process exits (or unpins it). */
int ob_dbserver_pin(struct ob_dbserver *s, int pin, struct ob_err *err);
/* Reaps the servers this process started that have exited (overblikd's
 * SIGCHLD): a server killed while in use is no zombie. Thread-safe with
 * the thread that starts or stops one. */
void ob_dbserver_reap(void);
/* Status for "overblik db status": 1 running (pid set), 0 not running, -1 error. */
int ob_dbserver_status(const struct ob_config *cfg, long *pid, struct ob_err *err);
/* Stops a running server regardless of pins and users ("overblik db stop"). */
int ob_dbserver_stop(const struct ob_config *cfg, struct ob_err *err);

#endif
