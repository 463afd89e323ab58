/*
 * policy - admission and photo-sharing policy (docs/policy.md, sections
 * 1 to 4). Pure: no I/O, no clock, no globals but the constant
 * tables; the server feeds it the sender's ORI-directory entry, the
 * message and the destination state's photo rules, and it answers allow
 * or deny with a policy code and an English reason naming the rule.
 *
 * Rules, in the order they are checked (the first that fails decides):
 *   P002 line-not-entitled           the line may not originate for the
 *                                    ORI (ER .90., also the router's check)
 *   P001 ori-unknown                 the ORI is not in the ORI directory
 *   P003 not-authorized              the agency lacks the authorization
 *                                    the message key needs (DMV data for
 *                                    DQ KQ DNQ, administrative for AM)
 *   photo requests (DQ/KQ with IMQ/Y) only:
 *   P101 photo-cj-only               non-criminal-justice agency
 *   P130 suspect-cj-only             same, for a suspect purpose
 *   P102 state-no-photos             the state shares no photos
 *   P110 fishing-expedition          no purpose stated
 *   P111 purpose-unknown             unknown category or use
 *   P112 purpose-mismatch            the use is not of that category
 *   P113 purpose-use-missing         category without a use (other than
 *                                    identification)
 *   P120 identification-circumstance no circumstance / suspicion text
 *   P121 identification-use          no listed circumstance and no stated
 *                                    suspicion
 *   P131 record-retention-precluded  attach to a record, state precludes
 *                                    retention
 *   P140 public-disclosure-refused   the state refuses public disclosure
 *   P141 verifier-required           no verifier named
 *   P142 warrant-required            suspect (or wanted poster) without an
 *                                    arrest warrant number
 *   P150 lineup-filler               a lineup filler
 *   P151 lineup-suspect              lineup subject not the identified
 *                                    suspect
 *   P000 allowed
 * Every denial is ER .94. except P002 (ER .90.).
 */
#ifndef NLSWITCH_POLICY_H
#define NLSWITCH_POLICY_H

#include "msg.h"
#include "oridir.h"

enum policy_cat {
	POLICY_CAT_NONE = 0,
	POLICY_CAT_ID,			/* IDENTIFICATION */
	POLICY_CAT_SUSPECT,		/* SUSPECT */
	POLICY_CAT_PUBLIC,		/* PUBLIC-DISCLOSURE */
	POLICY_CAT_LINEUP		/* PHOTO-LINEUP */
};

/* Per-use flags (the uses table in policy.c). */
#define POLICY_USE_RECORD	0x01	/* attaches the photo to a record */
#define POLICY_USE_WARRANT	0x02	/* always about a wanted suspect */
#define POLICY_USE_FILLER	0x04	/* a lineup filler */

struct policy_use {
	const char	*code;		/* PurposeUseCode, e.g. "WANTED-POSTER" */
	int		 cat;		/* enum policy_cat */
	unsigned int	 flags;		/* POLICY_USE_* */
	const char	*text;		/* English description */
};

/* The photo rules of one source state (config <photo-policy>). */
struct policy_state {
	char	member[3];
	int	share;			/* shares driver photos */
	int	public_ok;		/* allows public-disclosure purposes */
	int	noretain;		/* precludes retention */
};

struct policy_request {
	int				 line_entitled;
	const struct oridir_entry	*agency;	/* NULL: unknown ORI */
	const char			*ori;		/* the sender's ORI */
	int				 key;		/* enum msg_key */
	int				 imq;		/* photo requested */
	const struct msg_purpose	*purpose;	/* NULL: none */
	const struct policy_state	*state;		/* NULL: defaults */
};

struct policy_decision {
	int		 allow;
	int		 er;		/* deny: MSG_ER_POLICY or MSG_ER_ORI */
	const char	*code;		/* "P000", "P110", ... */
	const char	*rule;		/* "allowed", "fishing-expedition", ... */
	int		 photo;		/* allowed photo request */
	int		 noretain;	/* allowed, but the state precludes
					   retention: the answer carries the
					   do-not-retain indicator */
	char		 reason[320];	/* "P110 fishing-expedition: ..." */
};

/**
 * Decide on one request. Fills *d completely.
 * @return 0 if allowed, else the ER code (d->er).
 */
int	 policy_decide(const struct policy_request *, struct policy_decision *);

/** 1 if the key with imq is a photo request (DQ or KQ with IMQ/Y). */
int	 policy_is_photo_request(int key, int imq);
/** The use entry of code, or NULL. */
const struct policy_use	*policy_use_lookup(const char *code);
/** Category by name ("PUBLIC-DISCLOSURE"), POLICY_CAT_NONE if unknown. */
int	 policy_cat_lookup(const char *name);
const char	*policy_cat_name(int cat);
/** Every use, NULL-terminated by a zero entry (code NULL). */
extern const struct policy_use policy_uses[];

#endif
