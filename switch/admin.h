/*
 * admin - the admin HTTP listener (libevent evhttp), loopback only and off
 * the message path:
 *
 *   GET  /healthz        liveness: 200 while the process runs (cheap)
 *   GET  /readyz         200 when recovery is done and listeners are up
 *                        and the switch is not draining and its store is
 *                        not damaged, else 503 with the reason
 *   GET  /metrics        Prometheus text format
 *   GET  /api/CMD[/ARG]  JSON of the nlctl command (status, lines,
 *                        queues, show/ID, deadletters, audit?ori=..)
 *   POST /api/CMD[/ARG]  commands that change the switch (those the
 *                        command table, command.h, marks mutating:
 *                        hold, release, remove, restore, purge,
 *                        deadletters/requeue|purge, reload, drain); GET
 *                        gets 405; the body carries IDs
 *   GET  /api/denials, /api/throughput   recent refusals, per-second totals
 *   GET  /api/history?window=S   the last S s (up to an hour) of the
 *                        charts' series (history.h)
 *   GET  /api/line/CODE  a line's page: state, service, its recent
 *                        deliveries and refusals
 *   GET  /               the live dashboard (#line/CODE: a line's page)
 */
#ifndef NLSWITCH_ADMIN_H
#define NLSWITCH_ADMIN_H

#include "util.h"

struct event_base;
struct server;
struct admin;

/** Start listening; fatal() on failure (start-up only). */
struct admin	*admin_new(struct event_base *, struct server *,
		    const char *address, const char *port,
		    const char *portfile);
void		 admin_free(struct admin *);
/** Render every metric in the Prometheus text format. */
void		 admin_metrics(struct server *, struct ubuf *);

#endif
