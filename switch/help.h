/*
 * help - Nlets HELP files, generated from the running configuration
 * (docs/messages.md, "HELP files").
 *
 * On the network a HELP file is read with an AM to a single destination
 * "ssfffHELP": ss the member (NL for Nlets' own files), fff the file
 * (OLN operator's license, NOQ name-only queries, ...). The switch
 * answers with an AM from its own ORI. Its files are not kept by anyone:
 * they say what the switch routes - which members answer which keys, and
 * their photo rules - so they cannot go stale. A file the switch does
 * not have gets Nlets' "NO fff HELP INFORMATION AVAILABLE FOR THIS USER".
 * The update functions (ssfffUPDT, APND, CNCL) are refused: there is
 * nothing to update.
 *
 * Pure: no I/O; the caller gives the effective service state of a line.
 */
#ifndef NLSWITCH_HELP_H
#define NLSWITCH_HELP_H

#include "config.h"
#include "util.h"

/* What a destination ORI is to the HELP files. */
enum help_dest {
	HELP_NONE = 0,		/* not a HELP destination */
	HELP_QUERY,		/* ssfffHELP */
	HELP_UPDATE		/* ssfffUPDT, APND or CNCL */
};

/** Effective service state of a line for a key (enum config_svc). */
typedef int (*help_svc_cb)(const struct config_line *, int key, void *arg);

/** What dest is (a 9-character ORI: 2 letters, 3 letters, a function). */
int	 help_dest(const char *dest);
/**
 * The text of the file dest names (a HELP_QUERY destination), for the
 * AM's MailMessageText, one line per fact, upper case as Nlets writes.
 */
void	 help_file(const struct config *, const char *dest, help_svc_cb svc,
	    void *arg, struct ubuf *out);

#endif
