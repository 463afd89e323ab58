/*
 * command - see command.h.
 */
#include <stddef.h>
#include <string.h>

#include "command.h"

#define COMMAND_TIME	"(T: -N[smhd] ago, YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM] " \
			    "or epoch seconds)"

static const struct command command_table[] = {
	{ .id = COMMAND_STATUS, .name = "status", .usage = "status",
	  .help = "the switch at a glance: version, uptime, connections, "
	    "queue totals, commits, store use" },
	{ .id = COMMAND_LINES, .name = "lines", .usage = "lines",
	  .help = "each line: connected or not, peer, queued, in flight, "
	    "service per key" },
	{ .id = COMMAND_QUEUES, .name = "queues", .usage = "queues",
	  .help = "each destination: depth, bytes, oldest age, in flight" },
	{ .id = COMMAND_SHOW, .name = "show", .usage = "show MSGID",
	  .help = "one message: metadata and where its copies are (never "
	    "the body)" },
	{ .id = COMMAND_HOLD, .name = "hold", .usage = "hold LINE [MKE...]",
	  .help = "keep a line's messages (every key without MKE); senders "
	    "get SM .02.", .mutates = 1 },
	{ .id = COMMAND_RELEASE, .name = "release",
	  .usage = "release LINE [MKE...]",
	  .help = "back in service after hold: held messages are delivered",
	  .mutates = 1 },
	{ .id = COMMAND_REMOVE, .name = "remove",
	  .usage = "remove LINE [MKE...]",
	  .help = "refuse a line's messages, not stored; senders get SM .04.",
	  .mutates = 1 },
	{ .id = COMMAND_RESTORE, .name = "restore",
	  .usage = "restore LINE [MKE...]",
	  .help = "back in service after remove", .mutates = 1 },
	{ .id = COMMAND_PURGE, .name = "purge",
	  .usage = "purge LINE ALL | purge LINE < IDS",
	  .help = "drop a line's queued copies (not those in flight)",
	  .mutates = 1, .all_at = 2 },
	{ .id = COMMAND_DEAD_LIST, .name = "deadletters", .sub = "list",
	  .sub_default = 1, .usage = "deadletters [list]",
	  .help = "the dead letters: id, line, dest, key, queued at, "
	    "attempts, size" },
	{ .id = COMMAND_DEAD_REQUEUE, .name = "deadletters", .sub = "requeue",
	  .usage = "deadletters requeue ALL | deadletters requeue < IDS",
	  .help = "dead letters back to their destinations' queues",
	  .mutates = 1, .all_at = 2 },
	{ .id = COMMAND_DEAD_PURGE, .name = "deadletters", .sub = "purge",
	  .usage = "deadletters purge ALL | deadletters purge < IDS",
	  .help = "dead letters gone for good (audited)",
	  .mutates = 1, .all_at = 2 },
	{ .id = COMMAND_AUDIT, .name = "audit",
	  .usage = "audit [--ori ORI] [--mke MKE] [--decision D] [--since T] "
	    "[--until T] [--limit N]",
	  .help = "audit records: the newest N (1000), oldest of them first "
	    COMMAND_TIME },
	{ .id = COMMAND_QUARANTINE, .name = "quarantine",
	  .usage = "quarantine [--since T] [--limit N]",
	  .help = "stored entries found corrupt: when, where, why, what was "
	    "done " COMMAND_TIME },
	{ .id = COMMAND_RELOAD, .name = "reload", .usage = "reload",
	  .help = "re-read the config, certificates and schemas; connections "
	    "stay", .mutates = 1 },
	{ .id = COMMAND_DRAIN, .name = "drain",
	  .usage = "drain [GRACE_SECONDS]",
	  .help = "refuse new messages, deliver what is queued, exit "
	    "(default 30 s)", .mutates = 1 },
	{ .id = COMMAND_PENDING, .name = "pending", .usage = "pending",
	  .help = "what waits for an answer: multi-state queries (each "
	    "member's state) and hit confirmations (when the next request "
	    "is due)" },
};

#define COMMAND_N	(sizeof command_table / sizeof command_table[0])

const struct command *
command_next(const struct command *prev, const char *name)
{
	const struct command *c = prev == NULL ? command_table : prev + 1;

	for (; c < command_table + COMMAND_N; c++)
		if (name == NULL || strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Does entry c take this command line (its name already matches)? */
static int
command_is_match(const struct command *c, int argc, char *const *argv)
{
	if (c->sub == NULL)
		return 1;
	if (argc < 2)
		return c->sub_default;
	return strcmp(argv[1], c->sub) == 0;
}

const struct command *
command_lookup(int argc, char *const *argv)
{
	const struct command *c = NULL;

	if (argc < 1 || argv[0] == NULL)
		return NULL;
	while ((c = command_next(c, argv[0])) != NULL)
		if (command_is_match(c, argc, argv))
			return c;
	return NULL;
}

int
command_is_mutating(int argc, char *const *argv)
{
	const struct command *c = command_lookup(argc, argv);

	if (c != NULL)
		return c->mutates;
	if (argc < 1 || argv[0] == NULL)
		return 0;
	/* An unknown subcommand: changing if any of its name's is. */
	for (c = command_next(NULL, argv[0]); c != NULL;
	    c = command_next(c, argv[0]))
		if (c->mutates)
			return 1;
	return 0;
}

int
command_is_reading_ids(int argc, char *const *argv)
{
	const struct command *c = command_lookup(argc, argv);

	return c != NULL && c->all_at > 0 && argc == c->all_at;
}
