/*
 * line - the runtime side of one configured line: whether an endpoint is
 * connected, the copies waiting for it (in memory, mirrored from the
 * durable queue), the deliveries in flight, sequence numbers and the
 * operator's service state per message key.
 *
 * Copies enter a line only after their commit; they leave it when the
 * endpoint's DACK is committed (at-least-once). Unacknowledged deliveries
 * go back to the front of their list on disconnect or ack timeout, with
 * exponential backoff between retry-min and retry-max.
 */
#ifndef NLSWITCH_LINE_H
#define NLSWITCH_LINE_H

#include <stdint.h>
#include <sys/queue.h>

#include "config.h"
#include "msg.h"
#include "queue.h"

struct server;
struct session;

/*
 * A committed message body kept in memory for delivery, shared by the
 * copies of one message (reference counted). Deliveries send it by
 * reference, so it is never copied or read back from the store while the
 * destination is connected; a copy without one is read from the store.
 */
struct line_body {
	int		 refs;
	uint64_t	 recv_us;
	uint64_t	 in_seq;
	uint32_t	 stamp_off;
	size_t		 len;
	char		*data;
	struct server	*srv;
	/* Of the stored message, for the audit record of the delivery. */
	char		 ori[MSG_ORI_LEN + 1];
	char		 ctl[MSG_CTL_LEN + 1];
	uint8_t		 flags;		/* QUEUE_MSG_* */
};

/** Wrap a committed body (takes data); one reference. */
struct line_body *line_body_new(struct server *, char *data, size_t len,
	    uint32_t stamp_off, uint64_t recv_us, uint64_t in_seq);
void	 line_body_ref(struct line_body *);
void	 line_body_unref(struct line_body *);

struct line_pend {
	TAILQ_ENTRY(line_pend)	 entry;
	struct queue_copy	 c;
	struct line_body	*body;		/* or NULL: read from the store */
	uint64_t		 not_before;	/* monotonic us; backoff */
	uint64_t		 deadline;	/* monotonic us; ack timeout */
	uint32_t		 attempts;
	int			 inflight;
};
TAILQ_HEAD(line_plist, line_pend);

struct line {
	const struct config_line *cfg;
	struct server		*srv;
	struct session		*sess;		/* connected endpoint or NULL */
	struct line_plist	 pending[MSG_KEY_MAX];	/* msgid order per key */
	struct line_plist	 inflight;
	int			 ninflight;
	uint64_t		 npending;
	/* Copies held for the line (pending + in flight): the quota's. */
	uint64_t		 qmsgs;
	uint64_t		 qbytes;
	/* Copies held anywhere of messages this line sent: its quota as a
	 * sender (queue_copy.from_line). */
	uint64_t		 sqmsgs;
	uint64_t		 sqbytes;
	uint8_t			 svc[MSG_KEY_MAX];	/* enum config_svc */
	struct server_ctr	*in_seq;
	struct server_ctr	*out_seq;
};

void	 line_init(struct line *, struct server *, const struct config_line *);
void	 line_free(struct line *);
/** Effective service state for routing (router_svc_cb). */
int	 line_svc_cb(const struct config_line *, int key, void *arg);
/** A committed copy is ready for this line (body may be NULL). */
void	 line_add(struct line *, const struct queue_copy *);
void	 line_add_body(struct line *, const struct queue_copy *,
	    struct line_body *);
/** Free a pending copy and its body reference. */
void	 line_pend_free(struct line_pend *);
/** A copy leaves the line for good (delivered, expired, purged): free it
 * and take it off the line's held count. */
void	 line_pend_drop(struct line *, struct line_pend *);
/** An endpoint authenticated as this line (replaces an older one). */
void	 line_attach(struct line *, struct session *);
/** The line's session went away: in-flight copies go back to pending. */
void	 line_detach(struct line *, struct session *);
/** Deliver as much as the window allows. */
void	 line_pump(struct line *);
/** The endpoint acknowledged a delivery. */
void	 line_dack(struct line *, uint64_t msgid, uint16_t copy);
/** Copies queued or in flight: count, bytes, oldest enqueue time (us). */
void	 line_depth(struct line *, uint64_t *n, uint64_t *bytes,
	    uint64_t *oldest);
/** 1 if a copy is waiting in a key that is in service. */
int	 line_has_deliverable(struct line *);
/** Periodic (1 s): ack timeouts and TTL expiry. */
void	 line_tick(struct line *, uint64_t now_mono, uint64_t now_us);

#endif
