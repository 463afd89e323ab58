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
 *   P114 list-query-photo            a name-only list query (DNQ) asks for
 *                                    images: a fishing expedition
 *   photo requests (DQ/KQ with IMQ/Y) only, the sender's rules first:
 *   P111 purpose-unknown             unknown category or use
 *   P101 photo-cj-only               non-criminal-justice agency
 *   P130 suspect-cj-only             same, for a suspect purpose
 *   P110 fishing-expedition          no purpose stated
 *   P112 purpose-mismatch            the use is not of that category
 *   P113 purpose-use-missing         category without a use (other than
 *                                    identification)
 *   P120 identification-circumstance no circumstance / suspicion text
 *   P121 identification-use          no listed circumstance and no stated
 *                                    suspicion
 *   P132 suspect-case-or-circumstance suspect purpose with neither a case
 *                                    number nor a circumstance
 *   P141 verifier-required           no verifier named
 *   P142 warrant-required            suspect (or wanted poster) without an
 *                                    arrest warrant number
 *   P150 lineup-filler               a lineup filler
 *   P151 lineup-suspect              lineup subject not the identified
 *                                    suspect
 *   then the destination state's rules (decided per destination):
 *   P102 state-no-photos             the state shares no photos: it gets
 *                                    the query without the image request
 *   P131 record-retention-precluded  attach to a record, state precludes
 *                                    retention: the state is left out
 *   P140 public-disclosure-refused   the state refuses public disclosure:
 *                                    the state is left out
 *   P000 allowed
 * A picture in an AM, AML or AA (nc:PersonDigitalImage or nc:Image in
 * n2:NLETSMailData, or a binary in a standardized AA: policy_is_photo_mail)
 * is decided by the same rules on its psp:PhotoPurpose, with two
 * differences: an AA's picture is a public disclosure (no purpose stated:
 * PUBLIC-DISCLOSURE, MISSING-CHILD; another category stated:
 *   P143 amber-alert-public        refused whole), and a state's rule
 * never leaves a destination out: it gets the message without the
 * picture (POLICY_DEST_NOIMAGE), so the text always goes.
 * A sender's rule refuses the whole message. A state's rule decides only
 * what that destination gets (policy_decide_dests); the message is
 * refused whole only when no destination may receive the photo request.
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
	int				 image;		/* AM/AML/AA: carries a
							   picture */
	const struct msg_purpose	*purpose;	/* NULL: none */
	const struct policy_state	*state;		/* NULL: defaults */
};

/* What one destination of a request gets (policy_decide_dests). */
enum policy_dest_action {
	POLICY_DEST_SEND = 0,	/* the request as sent */
	POLICY_DEST_NOIMQ,	/* the query without its image request (and
				   without its photo purpose) */
	POLICY_DEST_OMIT,	/* nothing: the purpose is denied there */
	POLICY_DEST_NOIMAGE	/* a mail without its picture (and without
				   its photo purpose) */
};

struct policy_decision {
	int		 allow;
	int		 er;		/* deny: MSG_ER_POLICY or MSG_ER_ORI */
	const char	*code;		/* "P000", "P110", ... */
	const char	*rule;		/* "allowed", "fishing-expedition", ... */
	int		 photo;		/* allowed photo request */
	int		 image;		/* allowed picture in a mail (AM, AML,
					   AA): the destination gets it */
	int		 noretain;	/* allowed, but the state precludes
					   retention: the answer carries the
					   do-not-retain indicator */
	int		 per_dest;	/* deny: a destination state's rule,
					   which decides only what that
					   destination gets (dest_action);
					   0: the sender's, the message is
					   refused whole */
	int		 dest_action;	/* enum policy_dest_action */
	char		 reason[512];	/* "P110 fishing-expedition: ..." */
};

/* One destination state of a request (policy_decide_dests). */
struct policy_dest {
	const struct policy_state	*state;	/* in; NULL: defaults */
	const char			*dest;	/* in: as addressed ("TX") */
	struct policy_decision		 d;	/* out */
};

/**
 * Decide on one request. Fills *d completely.
 * @return 0 if allowed, else the ER code (d->er).
 */
int	 policy_decide(const struct policy_request *, struct policy_decision *);

/**
 * Decide on a request to n destination states, each on its own (the
 * destinations the message reaches; n may be 0). Fills every dests[i].d
 * and *whole. A sender's rule that fails refuses the whole message; a
 * state's rule only sets what that destination gets (d.dest_action:
 * P102 the query without the image request, P131 and P140 nothing; for
 * a mail with a picture, each of them the mail without the picture).
 * When no destination may receive the photo request the message is
 * refused whole with the first destination's denial, its reason naming
 * the others; a mail is never refused by a state's rule (its text goes
 * everywhere).
 * @return 0 if the message goes (*whole allows it; whole->photo when at
 *	least one destination gets the photo request, whole->image when at
 *	least one gets a mail's picture), else the ER code (whole->er).
 */
int	 policy_decide_dests(const struct policy_request *,
	    struct policy_dest *dests, int n, struct policy_decision *whole);

/** 1 if the key with imq is a photo request (DQ or KQ with IMQ/Y). */
int	 policy_is_photo_request(int key, int imq);
/** 1 if a message of key carrying a picture (image) is a mail whose
 * picture the photo policy decides on (AM, AML, AA). */
int	 policy_is_photo_mail(int key, int image);
/** 1 if key is a name-only query answered with a list of possible
 * matches (DNQ), which may never ask for images (P114). */
int	 policy_is_list_query(int key);
/** "send", "withheld" (POLICY_DEST_NOIMQ and POLICY_DEST_NOIMAGE: the
 * photo part withheld), "left-out" (the audit's words). */
const char	*policy_dest_action_name(int action);
/** The use entry of code, or NULL. */
const struct policy_use	*policy_use_lookup(const char *code);
/** Category by name ("PUBLIC-DISCLOSURE"), POLICY_CAT_NONE if unknown. */
int	 policy_cat_lookup(const char *name);
const char	*policy_cat_name(int cat);
/** Every use, NULL-terminated by a zero entry (code NULL). */
extern const struct policy_use policy_uses[];

#endif
