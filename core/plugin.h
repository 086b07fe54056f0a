/* plugin.h - the loader of report plugins (the ABI is include/overblik/plugin.h). */
#ifndef OB_PLUGIN_LOADER_H
#define OB_PLUGIN_LOADER_H

#include <stddef.h>
#include <stdio.h>

#include "util.h"

struct ob_plugin;

struct ob_loaded_plugin {
	char *name;     /* the descriptor's, equal to the file stem */
	char *version;
	char *path;     /* the .so */
	unsigned abi_major, abi_minor;
	void *handle;   /* dlopen's, while loaded */
	const struct ob_plugin *desc;
};

struct ob_plugin_set {
	struct ob_loaded_plugin *v;
	size_t n;
	size_t failures;   /* files refused at the last load */
	char **refused;    /* their file names ... */
	char **reasons;    /* ... and why */
};

/* The plugins of dir, for overblikd, without loading any into it: a
 * plugin's constructor that crashes or hangs must not take the server
 * down. A file that cannot be used is refused with a log line naming it and
 * why (no descriptor, another ABI major, a size that cannot hold run(), no
 * run(), a name that is not the file stem or is taken, or its loading
 * crashed or hung) and the rest are listed. It runs "self --list-plugins
 * dir" (ob_plugins_list in a fresh process) and reads what it found; a file
 * whose loading kills or hangs that process (20 s) is refused and the
 * inventory is taken again without it. The set has no handles (a run loads
 * its plugin in its worker). Blocks until done. 0, or -1 when the directory
 * cannot be read. */
int ob_plugins_inventory(const char *self, const char *dir, struct ob_plugin_set *set, struct ob_err *err);
/* overblikd --list-plugins: loads every .so in dir but those in skip and
 * prints a line per file to out ("try", then "ok" or "refused"). */
int ob_plugins_list(const char *dir, char *const *skip, size_t nskip, FILE *out);
/* Loads the one plugin named name from dir (a run's worker). 1 found, 0 not, -1 error. */
int ob_plugin_load_one(const char *dir, const char *name, struct ob_loaded_plugin *out, struct ob_err *err);
const struct ob_loaded_plugin *ob_plugins_find(const struct ob_plugin_set *set, const char *name);
void ob_plugins_free(struct ob_plugin_set *set);
void ob_plugin_unload(struct ob_loaded_plugin *p);

#endif
