/*
 * parser - message parsing and XSD validation off the event loop.
 *
 * At 50 KB a message costs the loop thread more to parse than anything
 * else it does for it. A parser thread takes inbound messages in arrival
 * order (one thread: per-line order is kept), runs msgparse_message or,
 * for a message in legacy text, legacy_parse, and hands each job back to the loop thread
 * through an event, where the acceptance path goes on (routing, policy,
 * the durable PUT). The thread owns its compiled schema; a reload hands
 * it a new one with parser_set_schema().
 */
#ifndef NLSWITCH_PARSER_H
#define NLSWITCH_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "util.h"

struct event_base;
struct session;
struct parser;
struct msgparse_schema;

struct parser_job {
	/* In: what arrived. */
	struct session	*sess;		/* referenced while the job lives */
	uint64_t	 tag;
	char		*payload;	/* owned by the job */
	size_t		 len;
	size_t		 maxlen;
	int		 legacy;	/* 1: payload is legacy text */
	uint64_t	 cookie;	/* the submitter's; the parser keeps it */

	/* Out: the parser's answer. For legacy input xml holds the XML made
	 * of the text (m.raw points into it). */
	int		 code;
	struct msg	 m;
	struct msg_diags diags;
	struct ubuf	 xml;

	struct msgparse_schema *swap;	/* internal: a schema swap marker */
	struct parser_job *next;	/* internal */
};

/** Called in the loop thread for each parsed job, in submission order. */
typedef void (*parser_done_cb)(struct parser_job *, void *arg);

/**
 * Start the parser thread with schema (taken over). Completions arrive on
 * base, which must be thread-aware (evthread_use_pthreads()).
 */
struct parser	*parser_new(struct event_base *, struct msgparse_schema *,
		    parser_done_cb, void *arg);
/** Queue one job (loop thread). */
void		 parser_submit(struct parser *, struct parser_job *);
/** Use this schema (taken over) for the jobs submitted from now on. */
void		 parser_set_schema(struct parser *, struct msgparse_schema *);
/** Jobs submitted and not yet completed. */
int		 parser_pending(struct parser *);
/**
 * Stop: parse what is queued, run the remaining completions in the
 * caller, join the thread, free the schema.
 */
void		 parser_free(struct parser *);

#endif
