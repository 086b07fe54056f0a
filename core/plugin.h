/* plugin.h - the loader of report plugins (the ABI is include/overblik/plugin.h). */
#ifndef OB_PLUGIN_LOADER_H
#define OB_PLUGIN_LOADER_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "util.h"

struct ob_plugin;

struct ob_loaded_plugin {
	char *name;     /* the descriptor's, equal to the file stem */
	char *version;
	char *path;     /* the .so */
	unsigned abi_major, abi_minor;
	void *handle;   /* dlopen's, while loaded */
	const struct ob_plugin *desc;
	char *settings_spec;  /* from an inventory: its declared settings (ob_settings_describe), or NULL */
	char *settings_error; /* overblikd: why the configuration's settings for it are refused, or NULL */
};

struct ob_plugin_set {
	struct ob_loaded_plugin *v;
	size_t n;
	size_t failures;   /* files refused at the last load */
	char **refused;    /* their file names ... */
	char **reasons;    /* ... and why */
};

/* The plugins of dir, for overblikd, without loading any into it and
 * without blocking its loop: a plugin's constructor that crashes, calls
 * exit() or hangs must not take the server down, nor hold its requests.
 * "self --list-plugins dir" (ob_plugins_list in a fresh process) loads each
 * file and says so on a pipe, a line before and one after each; a file
 * whose loading ends that process (a signal, an exit of any status, or no
 * line for OB_INVENTORY_TIMEOUT seconds: killed) is refused with how, and
 * the inventory is taken again without it. The others are refused as the
 * loader says (no descriptor, another ABI major, a size that cannot hold
 * run(), no run(), a name that is not the file stem or is taken).
 *
 * The caller's loop drives it: ob_inventory_start(); whenever
 * ob_inventory_fd() (it changes between rounds; -1: none) is readable,
 * ob_inventory_read() (then arm a timer of OB_INVENTORY_TIMEOUT s when it
 * returned 1: progress); on SIGCHLD ob_inventory_poll(inv, 0), at the
 * timer ob_inventory_poll(inv, 1); once poll returns 1,
 * ob_inventory_finish() gives the set (no handles: a run loads its plugin
 * in its worker) and logs each file once. ob_inventory_cancel() kills and
 * reaps its process and frees it. */
#define OB_INVENTORY_TIMEOUT 20
struct ob_inventory;
/* NULL with err when no process could be started. */
struct ob_inventory *ob_inventory_start(const char *self, const char *dir, struct ob_err *err);
int ob_inventory_fd(const struct ob_inventory *inv);
/* The running round's process, or 0. */
pid_t ob_inventory_pid(const struct ob_inventory *inv);
/* The plugin directory it reads. */
const char *ob_inventory_dir(const struct ob_inventory *inv);
/* Reads what is there: 1 something came, 0 nothing yet, -1 end of file
 * (stop watching the fd). The fd stays open until ob_inventory_poll() or
 * ob_inventory_cancel(): stop watching it before either. */
int ob_inventory_read(struct ob_inventory *inv);
/* 1 when the inventory is over (finish it), 0 while it goes on, perhaps in
 * a new round with a new fd. timed_out: the round hangs, kill it. */
int ob_inventory_poll(struct ob_inventory *inv, int timed_out);
/* Frees inv; 0 with *set owned by the caller, or -1 with err (the plugin
 * directory cannot be read, the inventory itself failed). */
int ob_inventory_finish(struct ob_inventory *inv, struct ob_plugin_set *set, struct ob_err *err);
void ob_inventory_cancel(struct ob_inventory *inv);
/* overblikd --list-plugins: loads every .so in dir but those in skip and
 * prints a line per file to out ("try", then "ok" or "refused"), flushed,
 * and "done" at the end. */
int ob_plugins_list(const char *dir, char *const *skip, size_t nskip, FILE *out);
/* Loads the one plugin named name from dir (a run's worker). 1 found, 0 not, -1 error. */
int ob_plugin_load_one(const char *dir, const char *name, struct ob_loaded_plugin *out, struct ob_err *err);
const struct ob_loaded_plugin *ob_plugins_find(const struct ob_plugin_set *set, const char *name);
void ob_plugins_free(struct ob_plugin_set *set);
void ob_plugin_unload(struct ob_loaded_plugin *p);

/* A plugin's declared settings (ABI 2: struct ob_plugin's settings). */
struct cJSON;
size_t ob_plugin_nsettings(const struct ob_plugin *d);
/* Its Danish title, or NULL. */
const char *ob_plugin_title(const struct ob_plugin *d);
/* Checks the configured settings of report (given: the object of
 * /reports/NAME/settings, or NULL) against d's declarations: a key it does
 * not declare, a value of the wrong type or out of range, is an error
 * naming its JSON pointer ("/reports/contract_expiry/settings/milestones/2:
 * expected a whole number from 0 to 3650"). 0 and *out: every declared
 * setting, given or defaulted (cJSON_Delete it); -1 with err. Also checks
 * the declarations themselves (a malformed plugin). */
int ob_settings_resolve(const struct ob_plugin *d, const char *report, const struct cJSON *given,
			struct cJSON **out, struct ob_err *err);
/* One value against its declaration; err says why after ptr (for a fake
 * of the API in unit tests, too). */
struct ob_setting;
int ob_setting_check_value(const struct ob_setting *s, const struct cJSON *v, const char *ptr, struct ob_err *err);
/* The same, against declarations carried as ob_settings_describe's text
 * (overblikd has them from the inventory, without loading the plugin). */
int ob_settings_resolve_described(const char *described, const char *report, const struct cJSON *given,
				  struct cJSON **out, struct ob_err *err);
/* check-config: every configured report's settings against its plugin in
 * cfg's plugin_dir, each plugin loaded in a process of its own (one that
 * crashes or hangs is named, not fatal). Writes one line per problem to
 * out ("/reports/x/settings/y: ...", or a warning for a report without a
 * plugin, prefixed "warning: "); returns the number of errors. */
struct ob_config;
int ob_settings_check_config(const struct ob_config *cfg, FILE *out);
/* The plugins of reports names[0..n) in cfg's plugin_dir, each loaded and
 * its configured settings resolved in a process of its own (spawn.h; one
 * whose loading crashes, exits or hangs for OB_INVENTORY_TIMEOUT s ends it
 * and is named): res[i] says how each went. 0, or -1 with err when no
 * process could be started. Free with ob_plugins_check_free(). */
enum ob_plugin_verdict {
	OB_PLUGIN_UNCHECKED, /* not reached: one before it ended the process */
	OB_PLUGIN_MISSING,   /* no NAME.so */
	OB_PLUGIN_REFUSED,   /* msg: the loader's "plugin PATH refused: why" */
	OB_PLUGIN_BAD_SETTINGS, /* msg: the setting's JSON pointer and why */
	OB_PLUGIN_OK,
	OB_PLUGIN_ENDED      /* its loading ended the process: status, hung (killed at the timeout) */
};
struct ob_plugin_check {
	int verdict;
	char *msg;
	int status, hung;
};
int ob_plugins_check(const struct ob_config *cfg, const char *const *names, size_t n, struct ob_plugin_check *res,
		     struct ob_err *err);
void ob_plugins_check_free(struct ob_plugin_check *res, size_t n);
/* The declarations as a JSON array, for listings: [{name, type, type_code, default, min?, max?, choices?, help?}]. */
struct cJSON *ob_settings_describe(const struct ob_plugin *d);

#endif
