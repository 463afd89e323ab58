/*
 * strmap - see strmap.h.
 *
 * slot[i] is empty when its key is NULL. The capacity is a power of two,
 * so a hash is reduced with a mask; the table is at most half full, so
 * a probe ends at an empty slot after a couple of steps on average.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "util.h"

#define STRMAP_MIN_CAP	16

struct strmap_slot {
	const char	*key;
	void		*val;
	uint32_t	 hash;
};

struct strmap {
	size_t			 cap;	/* a power of two */
	size_t			 n;
	struct strmap_slot	*slot;
};

/* FNV-1a, 32 bits: short keys (codes, names), good enough spread. */
static uint32_t
strmap_hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 16777619u;
	}
	return h;
}

/* The slot of key (hash h): where it is, or the empty one it would take. */
static struct strmap_slot *
strmap_find(const struct strmap *m, const char *key, uint32_t h)
{
	size_t			 i = h & (m->cap - 1);
	struct strmap_slot	*s;

	for (;;) {
		s = &m->slot[i];
		if (s->key == NULL ||
		    (s->hash == h && strcmp(s->key, key) == 0))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

/* Twice the capacity, every entry placed again. */
static void
strmap_grow(struct strmap *m)
{
	struct strmap_slot	*old = m->slot, *s;
	size_t			 oldcap = m->cap, i;

	m->cap *= 2;
	m->slot = xcalloc(m->cap, sizeof *m->slot);
	for (i = 0; i < oldcap; i++) {
		if (old[i].key == NULL)
			continue;
		s = strmap_find(m, old[i].key, old[i].hash);
		*s = old[i];
	}
	free(old);
}

struct strmap *
strmap_new(size_t n)
{
	struct strmap	*m = xcalloc(1, sizeof *m);

	m->cap = STRMAP_MIN_CAP;
	while (m->cap < 2 * n)
		m->cap *= 2;
	m->slot = xcalloc(m->cap, sizeof *m->slot);
	return m;
}

void
strmap_free(struct strmap *m)
{
	if (m == NULL)
		return;
	free(m->slot);
	free(m);
}

int
strmap_add(struct strmap *m, const char *key, void *val, void **prev)
{
	uint32_t		 h = strmap_hash(key);
	struct strmap_slot	*s = strmap_find(m, key, h);

	if (s->key != NULL) {
		if (prev != NULL)
			*prev = s->val;
		return -1;
	}
	if (2 * (m->n + 1) > m->cap) {
		strmap_grow(m);
		s = strmap_find(m, key, h);
	}
	s->key = key;
	s->val = val;
	s->hash = h;
	m->n++;
	return 0;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	const struct strmap_slot *s;

	if (m == NULL)
		return NULL;
	s = strmap_find(m, key, strmap_hash(key));
	return s->key != NULL ? s->val : NULL;
}

size_t
strmap_count(const struct strmap *m)
{
	return m != NULL ? m->n : 0;
}
