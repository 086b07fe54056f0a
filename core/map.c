/* map.c - a string-keyed hash map of 64-bit values. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "util.h"

uint64_t ob_hash64(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void ob_map_init(struct ob_map *m)
{
	memset(m, 0, sizeof(*m));
}

void ob_map_free(struct ob_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	ob_map_init(m);
}

/* FNV-1a's low bits vary little between keys that differ near their end
 * ("org:uuid" keys): mixed (murmur3's finaliser) before they pick a slot,
 * probes stay short. ob_hash64 itself is unchanged (stored hashes use it). */
static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static size_t slot(const struct ob_map *m, const char *key)
{
	size_t i = (size_t)mix(ob_hash64(key, strlen(key), OB_HASH64_INIT)) & (m->cap - 1);
	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void grow(struct ob_map *m)
{
	struct ob_map n;
	n.cap = m->cap ? m->cap * 2 : 64;
	n.len = m->len;
	n.keys = ob_xcalloc(n.cap, sizeof(char *));
	n.vals = ob_xcalloc(n.cap, sizeof(uint64_t));
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == NULL)
			continue;
		size_t j = slot(&n, m->keys[i]);
		n.keys[j] = m->keys[i];
		n.vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	*m = n;
}

void ob_map_put(struct ob_map *m, const char *key, uint64_t val)
{
	size_t i;

	if ((m->len + 1) * 2 > m->cap)
		grow(m);
	i = slot(m, key);
	if (m->keys[i] == NULL) {
		m->keys[i] = ob_xstrdup(key);
		m->len++;
	}
	m->vals[i] = val;
}

int ob_map_get(const struct ob_map *m, const char *key, uint64_t *val)
{
	size_t i;

	if (m->cap == 0)
		return 0;
	i = slot(m, key);
	if (m->keys[i] == NULL)
		return 0;
	if (val)
		*val = m->vals[i];
	return 1;
}
