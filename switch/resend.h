/*
 * resend - recognise a message its sender sends again (docs/protocol.md,
 * "Resends").
 *
 * An endpoint that sees no ACK (a timeout, a dropped connection) sends
 * the message again; the network must not carry it twice. A message is a
 * resend when the same line sends the same bytes (same originating ORI,
 * control field and body: the body holds both) within the window after
 * the first was acknowledged. The switch then acknowledges the resend
 * with the first message's id and stores nothing.
 *
 * The table holds a 64-bit hash of each acknowledged message per line
 * (XXH3, with the length as a second check), in memory: at most max
 * entries, the oldest forgotten first (also before their window ends, so
 * memory stays bounded at any rate); a restart starts it empty. It
 * starts at RESEND_START entries and doubles when full, up to max. Loop
 * thread only.
 */
#ifndef NLSWITCH_RESEND_H
#define NLSWITCH_RESEND_H

#include <stddef.h>
#include <stdint.h>

struct resend;

#define RESEND_START	1024	/* entries the table starts with */

/** window_us: how long after its ACK a message counts as resent; max:
 * entries kept at most (> 0). */
struct resend	*resend_new(uint64_t window_us, size_t max);
void		 resend_free(struct resend *);
/** Change the window (a reload); entries are kept. */
void		 resend_set_window(struct resend *, uint64_t window_us);
/** The key of a message as a line sent it. */
uint64_t	 resend_hash(const char *line, const void *body, size_t len);
/** line's message (hash, len) was acknowledged as msgid at now_us. */
void		 resend_add(struct resend *, uint64_t hash, size_t len,
		    uint64_t msgid, uint64_t now_us);
/** The msgid a message (hash, len) was acknowledged with within the
 * window, or 0. */
uint64_t	 resend_find(struct resend *, uint64_t hash, size_t len,
		    uint64_t now_us);
/** Forget what is past the window (periodic). */
void		 resend_expire(struct resend *, uint64_t now_us);
size_t		 resend_count(const struct resend *);
/** Entries the table has room for now (RESEND_START .. max). */
size_t		 resend_capacity(const struct resend *);

#endif
