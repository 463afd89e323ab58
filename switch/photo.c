/*
 * photo - see photo.h. The table is a plain array searched linearly:
 * it holds the photo requests in flight (a few per agency terminal), and
 * a search costs less than the XML parse of the response it serves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "photo.h"
#include "queue.h"
#include "util.h"

struct photo_entry {
	char		reqid[24];
	char		ori[MSG_ORI_LEN + 1];
	char		ctl[MSG_CTL_LEN + 1];
	char		line[QUEUE_LINE_LEN + 1];
	uint64_t	until_us;
};

struct photo_table {
	struct photo_entry	*e;
	size_t			 n, cap;
};

struct photo_table *
photo_table_new(void)
{
	return xcalloc(1, sizeof(struct photo_table));
}

void
photo_table_free(struct photo_table *t)
{
	if (t == NULL)
		return;
	free(t->e);
	free(t);
}

void
photo_table_add(struct photo_table *t, const char *reqid, const char *ori,
    const char *ctl, const char *lines, uint64_t until_us)
{
	char	*dup = xstrdup(lines), *tok, *save = NULL;

	for (tok = strtok_r(dup, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		struct photo_entry *e;

		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 16;
			t->e = xrealloc(t->e, t->cap * sizeof *t->e);
		}
		e = &t->e[t->n++];
		util_strlcpy(e->reqid, reqid, sizeof e->reqid);
		util_strlcpy(e->ori, ori, sizeof e->ori);
		util_strlcpy(e->ctl, ctl, sizeof e->ctl);
		util_strlcpy(e->line, tok, sizeof e->line);
		e->until_us = until_us;
	}
	free(dup);
}

/* Remove entry i, keeping the order (oldest first). */
static void
photo_table_del(struct photo_table *t, size_t i)
{
	memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof *t->e);
	t->n--;
}

void
photo_table_expire(struct photo_table *t, uint64_t now_us)
{
	size_t i = 0;

	while (i < t->n)
		if (t->e[i].until_us <= now_us)
			photo_table_del(t, i);
		else
			i++;
}

size_t
photo_table_count(const struct photo_table *t)
{
	return t->n;
}

/* The oldest live entry for (ori, ctl, line), consumed; 0 if none. */
static int
photo_table_take(struct photo_table *t, const char *ori, const char *ctl,
    const char *line, uint64_t now_us, char *reqid, size_t sz)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct photo_entry *e = &t->e[i];

		if (e->until_us <= now_us || strcmp(e->ori, ori) != 0 ||
		    strcmp(e->ctl, ctl) != 0 || strcmp(e->line, line) != 0)
			continue;
		util_strlcpy(reqid, e->reqid, sz);
		photo_table_del(t, i);
		return 1;
	}
	return 0;
}

/*
 * The table's durable copy: one state record per (request, line) that
 * owes an answer, key "photo/REQID/LINE", value "UNTIL_US ORI CTL".
 */
#define PHOTO_STATE_PREFIX	"photo/"

void
photo_states_add(struct queue_states *ps, const char *reqid, const char *ori,
    const char *ctl, const char *lines, uint64_t until_us)
{
	char	*dup = xstrdup(lines), *tok, *save = NULL;

	for (tok = strtok_r(dup, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save))
		queue_states_push(ps, xasprintf(PHOTO_STATE_PREFIX "%s/%s",
		    reqid, tok), xasprintf("%llu %s %s",
		    (unsigned long long)until_us, ori, ctl));
	free(dup);
}

void
photo_states_del(struct queue_states *ps, const char *reqid, const char *line)
{
	queue_states_push(ps, xasprintf(PHOTO_STATE_PREFIX "%s/%s", reqid,
	    line), NULL);
}

struct photo_load {
	struct photo_table	*t;
	struct queue_states	*expired;
	uint64_t		 now_us;
};

static int
photo_load_cb(const char *key, size_t klen, const void *val, size_t len,
    void *arg)
{
	struct photo_load	*pl = arg;
	char			 k[128], v[128], ori[16], ctl[32];
	char			*reqid, *line;
	unsigned long long	 until;

	if (klen >= sizeof k || len >= sizeof v)
		return 0;
	memcpy(k, key, klen);
	k[klen] = '\0';
	memcpy(v, val, len);
	v[len] = '\0';
	ctl[0] = '\0';
	reqid = k + strlen(PHOTO_STATE_PREFIX);
	if ((line = strchr(reqid, '/')) == NULL ||
	    sscanf(v, "%llu %15s %31s", &until, ori, ctl) < 2) {
		log_warnx("photo: unreadable state record %s, dropped", k);
		if (pl->expired != NULL)
			queue_states_push(pl->expired, xstrdup(k), NULL);
		return 0;
	}
	*line++ = '\0';
	if (until <= pl->now_us) {
		if (pl->expired != NULL)
			photo_states_del(pl->expired, reqid, line);
		return 0;
	}
	if (pl->t != NULL)
		photo_table_add(pl->t, reqid, ori, ctl, line, until);
	return 0;
}

size_t
photo_table_load(struct photo_table *t, struct queue *q, uint64_t now_us,
    struct queue_states *expired)
{
	struct photo_load pl = { t, expired, now_us };

	if (queue_walk_state(q, PHOTO_STATE_PREFIX, photo_load_cb, &pl) !=
	    QUEUE_E_OK)
		log_warnx("photo: the store's photo requests are unreadable; "
		    "those in flight before the restart are forgotten");
	if (t == NULL)
		return 0;
	photo_table_expire(t, now_us);
	return t->n;
}

static void
photo_set(struct photo_decision *d, int action, const char *code,
    const char *rule, const char *reason)
{
	d->action = action;
	d->code = code;
	d->rule = rule;
	if (code != NULL)
		snprintf(d->reason, sizeof d->reason, "%s %s: %s", code, rule,
		    reason);
}

void
photo_response(struct photo_table *t, const struct msg *m, const char *line,
    int noretain, uint64_t now_us, struct photo_decision *d)
{
	int matched = 0;

	memset(d, 0, sizeof *d);
	if (m->ndest == 1 && msg_ori_is_valid(m->dest[0]))
		matched = photo_table_take(t, m->dest[0], m->ctl, line, now_us,
		    d->answers, sizeof d->answers);
	if (!m->has_photo) {
		photo_set(d, PHOTO_NONE, NULL, NULL, NULL);
		return;
	}
	if (m->ndest != 1 || !msg_ori_is_valid(m->dest[0]))
		photo_set(d, PHOTO_STRIP, "P202", "photo-one-ori",
		    "a response carrying a photo must be addressed to the "
		    "one ORI that requested it; photo removed");
	else if (!matched)
		photo_set(d, PHOTO_STRIP, "P201", "photo-unsolicited",
		    "no allowed photo request (IMQ/Y) of this ORI with this "
		    "control field is awaiting an answer from this state; "
		    "photo removed");
	else if (noretain && m->nphotos_noretain < m->nphotos)
		photo_set(d, PHOTO_NORETAIN, "P203", "do-not-retain",
		    "the source state precludes retention; "
		    "DoNotRetainIndicator added");
	else
		photo_set(d, PHOTO_KEEP, "P000", "allowed",
		    "photo answers an allowed request");
}
