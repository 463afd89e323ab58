/*
 * region - Nlets' regions, built into the switch: a destination may be a
 * regional code, and the switch knows these without any config (a
 * config <region> with the same code replaces one's members, a new code
 * adds one; config.c merges them, docs/configuration.md).
 *
 * What the public Nlets documentation says, and where (docs/messages.md,
 * "Regions", has the whole account):
 *   - "Organizationally, Nlets is comprised of eight regions. Each region
 *     represents six or seven states and several federal agencies"
 *     (User Guide, Introductory Information,
 *     https://service.nlets.org/support/solutions/articles/21003080288);
 *   - a destination is "up to five 2-character state codes or regional
 *     codes", and regional and state codes "may be intermixed" (Legacy
 *     Text Examples - Driver's License Transactions, article 21003096528;
 *     General Information - Administrative Message, article 21002881130);
 *   - Nlets "has divided the country into eight regions and assigned each
 *     region a two-character code"; Wisconsin's region is "E1" (a state's
 *     manual: Wisconsin DOJ TIME System, "NLETS Regional Broadcasts",
 *     http://www.doj.state.wi.us/dles/cibmanuals/files/TIME/HTML/nletsregionalbroadcasts.htm).
 * None of the pages we could read lists the codes of the eight regions
 * or their members. So the codes follow the one shape shown (letter and
 * digit, E1): A1 to H1 for the eight regions, and the members are the
 * simulator's choice, not Nlets' table: neighbouring states, six or
 * seven per region, Wisconsin in E1, DC and the territories with the
 * region nearest them. A deployment that knows the real table overrides
 * them in its config.
 */
#ifndef NLSWITCH_REGION_H
#define NLSWITCH_REGION_H

/* One built-in region. */
struct region_builtin {
	const char	*code;		/* two characters: A1 ... H1 */
	const char	*name;		/* what the simulator calls it */
	const char	*members;	/* member codes, space separated */
};

/**
 * The i-th built-in region, from 0.
 * @return it, or NULL past the last one.
 */
const struct region_builtin	*region_builtin_at(int i);
/**
 * The built-in region of a code ("E1").
 * @return it, or NULL if code is none of them.
 */
const struct region_builtin	*region_builtin_lookup(const char *code);

#endif
