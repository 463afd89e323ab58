/*
 * command - the operator's command set as one table (tmux's cmd_entry,
 * smtpctl's cmd_install): for each command line its name and subcommand,
 * usage, a one-line description, whether it changes the switch, whether
 * it reads message IDs from standard input, and the identifier its
 * handler is bound to.
 *
 * Three readers: control.c dispatches on it (handlers bound by
 * COMMAND_* identifier, so this module holds data only and the client
 * links nothing of the server), admin.c decides GET or POST from it, and
 * bin/nlctl prints its usage and --help from it and knows when to read
 * standard input.
 */
#ifndef NLSWITCH_COMMAND_H
#define NLSWITCH_COMMAND_H

/* What a handler is bound to; one per table entry. */
enum command_id {
	COMMAND_STATUS,
	COMMAND_LINES,
	COMMAND_QUEUES,
	COMMAND_SHOW,
	COMMAND_HOLD,
	COMMAND_RELEASE,
	COMMAND_REMOVE,
	COMMAND_RESTORE,
	COMMAND_PURGE,
	COMMAND_DEAD_LIST,
	COMMAND_DEAD_REQUEUE,
	COMMAND_DEAD_PURGE,
	COMMAND_AUDIT,
	COMMAND_QUARANTINE,
	COMMAND_RELOAD,
	COMMAND_DRAIN,
	COMMAND_PENDING,
	COMMAND_MAX
};

struct command {
	enum command_id	 id;
	const char	*name;		/* argv[0] */
	const char	*sub;		/* argv[1], or NULL: none */
	int		 sub_default;	/* the name alone means this sub */
	const char	*usage;		/* without the "usage: " */
	const char	*help;		/* one line */
	int		 mutates;	/* changes the switch: POST only */
	/*
	 * Mass operations: the word ALL at argv[all_at] selects every
	 * copy; without it (argc == all_at) the IDs come on standard
	 * input, one per line. 0: the command reads no input.
	 */
	int		 all_at;
};

/**
 * The entry for a command line: argv[0] names the command, argv[1] its
 * subcommand where the name has several.
 * @return the entry, or NULL for an unknown command or subcommand.
 */
const struct command	*command_lookup(int argc, char *const *argv);

/**
 * Walk the table in order.
 * @param prev NULL for the first entry.
 * @param name only entries of this name, or NULL for all.
 * @return the next entry, or NULL at the end.
 */
const struct command	*command_next(const struct command *prev,
			    const char *name);

/**
 * Does this command line change the switch? An unknown subcommand of a
 * name that has a changing one counts as changing (ask for POST rather
 * than guess); an unknown name does not.
 * @return 1 or 0.
 */
int	command_is_mutating(int argc, char *const *argv);

/**
 * Does this command line read message IDs from standard input (a mass
 * operation without ALL: "purge LINE", "deadletters requeue")?
 * @return 1 or 0.
 */
int	command_is_reading_ids(int argc, char *const *argv);

#endif
