/*
 * control - the operator's control channel: a command set (status, lines,
 * queues, show, hold/release, remove/restore, purge, deadletters, audit,
 * quarantine, reload, drain) executed in the loop thread, reached through a Unix
 * socket (bin/nlctl) and through the admin HTTP listener's JSON API
 * (admin.c). Both are off the message path: a busy switch still answers.
 *
 * Unix socket protocol (one request per connection): the client writes
 * "NLCTL/1 json|text\n", one argument per line, an empty line, then any
 * input (IDs for mass operations) and shuts down its write side. The
 * switch answers "EXIT n\n" followed by the output, and closes.
 */
#ifndef NLSWITCH_CONTROL_H
#define NLSWITCH_CONTROL_H

#include "util.h"

struct event_base;
struct server;

/* Exit codes, stable for scripts (nlctl passes them through). */
#define CONTROL_OK		0
#define CONTROL_EFAIL		1	/* the command failed */
#define CONTROL_EUSAGE		2	/* bad command or arguments */
#define CONTROL_ENOTFOUND	3	/* no such line / message */
#define CONTROL_ECONNECT	4	/* (nlctl) cannot reach the switch */

/**
 * Open the control socket at path (mode 0660, a stale socket is
 * replaced). fatal() on failure: start-up only.
 */
void	control_init(struct event_base *, struct server *, const char *path);
void	control_shutdown(void);

/**
 * Run one command (command.h's table names them). Output goes to out
 * as JSON (json=1: one object, fields in order, a newline) or as text.
 * @param input IDs for mass operations, one per line (may be NULL).
 * @return a CONTROL_* exit code.
 */
int	control_exec(struct server *, int argc, char **argv, const char *input,
	    int json, struct ubuf *out);

#endif
