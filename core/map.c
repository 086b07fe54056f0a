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

struct ob_map_block {
	struct ob_map_block *next;
	size_t used, cap;
	char data[];
};

void ob_map_init(struct ob_map *m)
{
	memset(m, 0, sizeof(*m));
}

void ob_map_free(struct ob_map *m)
{
	while (m->blocks) {
		struct ob_map_block *next = m->blocks->next;
		free(m->blocks);
		m->blocks = next;
	}
	free(m->keys);
	free(m->vals);
	free(m->hashes);
	ob_map_init(m);
}

/* A copy of key (n bytes with its NUL) in the map's blocks. */
static char *key_copy(struct ob_map *m, const char *key, size_t n)
{
	struct ob_map_block *b = m->blocks;

	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > 32768 ? n : 32768;
		b = ob_xmalloc(sizeof(*b) + cap);
		b->next = m->blocks;
		b->used = 0;
		b->cap = cap;
		m->blocks = b;
	}
	memcpy(b->data + b->used, key, n);
	b->used += n;
	return b->data + b->used - n;
}

/* FNV-1a's low bits vary little between keys that differ near their end
 * ("org:uuid" keys): mixed (murmur3's finaliser) before they pick a slot,
 * probes stay short. ob_hash64 itself is unchanged (stored hashes use it). */
uint64_t ob_hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static size_t slot(const struct ob_map *m, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);
	while (m->keys[i] && (m->hashes[i] != h || strcmp(m->keys[i], key) != 0))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void grow(struct ob_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	char **keys = ob_xcalloc(cap, sizeof(char *));
	uint64_t *vals = ob_xcalloc(cap, sizeof(uint64_t));
	uint64_t *hashes = ob_xcalloc(cap, sizeof(uint64_t));

	for (size_t i = 0; i < m->cap; i++) {
		size_t j;
		if (m->keys[i] == NULL)
			continue;
		for (j = (size_t)m->hashes[i] & (cap - 1); keys[j]; j = (j + 1) & (cap - 1))
			;
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
		hashes[j] = m->hashes[i];
	}
	free(m->keys);
	free(m->vals);
	free(m->hashes);
	m->keys = keys;
	m->vals = vals;
	m->hashes = hashes;
	m->cap = cap;
}

void ob_map_put(struct ob_map *m, const char *key, uint64_t val)
{
	size_t n = strlen(key), i;
	uint64_t h = ob_hash_mix(ob_hash64(key, n, OB_HASH64_INIT));

	if ((m->len + 1) * 2 > m->cap)
		grow(m);
	i = slot(m, key, h);
	if (m->keys[i] == NULL) {
		m->keys[i] = key_copy(m, key, n + 1);
		m->hashes[i] = h;
		m->len++;
	}
	m->vals[i] = val;
}

int ob_map_get(const struct ob_map *m, const char *key, uint64_t *val)
{
	size_t i;

	if (m->cap == 0)
		return 0;
	i = slot(m, key, ob_hash_mix(ob_hash64(key, strlen(key), OB_HASH64_INIT)));
	if (m->keys[i] == NULL)
		return 0;
	if (val)
		*val = m->vals[i];
	return 1;
}
