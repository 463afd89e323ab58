/*
 * photo - see photo.h. The table is a plain array searched linearly:
 * it holds the photo requests in flight (a few per agency terminal), and
 * a search costs less than the XML parse of the response it serves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
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

/* Entry of reqid for line, consumed (rebuild). */
static void
photo_table_take_id(struct photo_table *t, const char *reqid,
    const char *line)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->e[i].reqid, reqid) == 0 &&
		    strcmp(t->e[i].line, line) == 0) {
			photo_table_del(t, i);
			return;
		}
}

struct photo_rebuild {
	struct photo_table	*t;
	uint64_t		 ttl_us;
};

static int
photo_rebuild_cb(uint64_t t_us, const char *rec, size_t len, void *arg)
{
	struct photo_rebuild	*rb = arg;
	char			 id[24], ori[16], ctl[32], lines[512], line[16];

	if (audit_field(rec, len, "await", lines, sizeof lines) &&
	    audit_field(rec, len, "msgid", id, sizeof id) &&
	    audit_field(rec, len, "ori", ori, sizeof ori)) {
		if (!audit_field(rec, len, "ctl", ctl, sizeof ctl))
			ctl[0] = '\0';
		photo_table_add(rb->t, id, ori, ctl, lines, t_us + rb->ttl_us);
	} else if (audit_field(rec, len, "answers", id, sizeof id) &&
	    audit_field(rec, len, "line", line, sizeof line))
		photo_table_take_id(rb->t, id, line);
	return 0;
}

size_t
photo_table_rebuild(struct photo_table *t, struct queue *q, uint64_t now_us,
    uint64_t ttl_us)
{
	struct photo_rebuild rb = { t, ttl_us };

	if (queue_walk_audit(q, now_us > ttl_us ? now_us - ttl_us : 0,
	    photo_rebuild_cb, &rb) != QUEUE_E_OK)
		log_warnx("photo: audit trail unreadable, photo requests in "
		    "flight before the restart are forgotten");
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
