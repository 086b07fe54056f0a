/* dbq.h - the event loop's way to the database: a worker thread that owns
 * one connection and runs jobs in order; each job's done() runs back on the
 * loop thread. The loop never blocks on SQL. */
#ifndef OB_DBQ_H
#define OB_DBQ_H

struct event_base;
struct ob_db;
struct ob_dbq;

typedef void (*ob_dbq_work_fn)(struct ob_db *db, void *arg); /* on the worker thread */
typedef void (*ob_dbq_done_fn)(void *arg);                   /* on the loop thread */

/* Starts the worker; it takes ownership of db. NULL on failure. */
struct ob_dbq *ob_dbq_start(struct event_base *base, struct ob_db *db);
/* Queues a job. work or done may be NULL. Jobs run in the order queued,
 * one at a time: a job's done() runs after the work of every job queued
 * before it, so a job with no work can free what those jobs may still read
 * (the configuration a SIGHUP replaced). */
void ob_dbq_submit(struct ob_dbq *q, ob_dbq_work_fn work, ob_dbq_done_fn done, void *arg);
/* From the worker thread, inside a job: runs fn(arg) on the loop thread
 * soon, without waiting for the job to end (a database found down while a
 * job starts it again, for the health endpoint). */
void ob_dbq_post(struct ob_dbq *q, ob_dbq_done_fn fn, void *arg);
/* Called on the loop thread whenever the last pending job's done() has run. */
void ob_dbq_on_idle(struct ob_dbq *q, void (*cb)(void *arg), void *arg);
/* Jobs queued or running. */
int ob_dbq_pending(const struct ob_dbq *q);
/* Runs every queued job, stops the worker, closes the connection. */
void ob_dbq_stop(struct ob_dbq *q);

#endif
