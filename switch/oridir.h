/*
 * oridir - the ORI directory (the simulator's ORION): every agency ORI
 * that may send through the switch, with its name, state, agency type
 * (criminal-justice or not) and authorizations. The photo-sharing policy
 * (policy.h) decides on these entries.
 *
 * A directory is loaded once into a read-only struct oridir: config_load
 * parses it with the config (cfg->directory) and the server takes it
 * over (srv->oridir). Reloading is loading a new one and swapping the
 * pointer; an invalid file keeps the old one. The file format is
 * schemas/oridir.xsd, documented in docs/policy.md; every error is
 * reported as "FILE:LINE: reason".
 */
#ifndef NLSWITCH_ORIDIR_H
#define NLSWITCH_ORIDIR_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"


/* Authorizations (bit mask). */
#define ORIDIR_AUTH_ADMIN	0x01	/* administrative messages (AM) */
#define ORIDIR_AUTH_CHRI	0x02	/* criminal history */
#define ORIDIR_AUTH_DMV		0x04	/* DMV data: DQ KQ DNQ, photos */

enum oridir_type {
	ORIDIR_NONCJ = 0,	/* non-criminal-justice */
	ORIDIR_CJ		/* criminal-justice */
};

struct oridir_entry {
	char		ori[MSG_ORI_LEN + 1];
	char		name[81];
	char		state[3];
	int		type;		/* enum oridir_type */
	unsigned int	auth;		/* ORIDIR_AUTH_* */
	int		lineno;		/* where it is defined (0: implicit) */
};

struct oridir {
	char			*path;		/* NULL: built from the config */
	int			 n;
	struct oridir_entry	*e;		/* sorted by ori */
};

/**
 * Load and check a directory file.
 * @param schemadir where oridir.xsd lives.
 * @return 0 and *dirp set, or -1 and *cause = "FILE:LINE: reason"
 *	(caller frees).
 */
int	 oridir_load(const char *path, const char *schemadir,
	    struct oridir **dirp, char **cause);
/**
 * A directory of the n entries e, distinct ORIs (e, from malloc, is taken
 * over). The implicit directory of a config without <oridir> is built so
 * (config_directory_implicit).
 */
struct oridir	*oridir_new(struct oridir_entry *e, int n);
void	 oridir_free(struct oridir *);

/** The entry of ori, or NULL when it is not in the directory. */
const struct oridir_entry *oridir_lookup(const struct oridir *,
	    const char *ori);

/** "criminal-justice" / "non-criminal-justice". */
const char	*oridir_type_name(int type);
/** Authorizations as text ("admin dmv"), into buf. */
const char	*oridir_auth_text(unsigned int auth, char *buf, size_t sz);

#endif
