/* map.h - a string-keyed hash map of 64-bit values (open addressing), for
 * the imports' uuid -> id lookups. Keys are copied. */
#ifndef OB_MAP_H
#define OB_MAP_H

#include <stddef.h>
#include <stdint.h>

struct ob_map_block;

struct ob_map {
	char **keys;
	uint64_t *vals;
	uint64_t *hashes;            /* of each key: growing rehashes nothing */
	size_t cap, len;
	struct ob_map_block *blocks; /* the keys' copies, many to an allocation */
};

void ob_map_init(struct ob_map *m);
void ob_map_free(struct ob_map *m);
/* Sets key to val (replacing an earlier value). */
void ob_map_put(struct ob_map *m, const char *key, uint64_t val);
/* 1 and *val when found, 0 when not. */
int ob_map_get(const struct ob_map *m, const char *key, uint64_t *val);
/* FNV-1a, 64-bit. */
uint64_t ob_hash64(const void *p, size_t n, uint64_t h);
/* FNV-1a's low bits mixed (murmur3's finaliser) before they pick a slot:
 * keys that differ near their end ("org:uuid") then spread. */
uint64_t ob_hash_mix(uint64_t h);
#define OB_HASH64_INIT 0xcbf29ce484222325ULL

#endif
