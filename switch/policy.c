/*
 * policy - see policy.h. Three tables drive the decision: the
 * authorization each message key needs, the rules (code, name, ER code,
 * what a destination gets when it is a state's rule, English text) and
 * the uses of a photo (category, flags). The checks below only pick the
 * row; every word an agency reads comes from a table.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

/* The authorization a sender needs per message key (0: none). */
static const struct {
	int		 key;
	unsigned int	 auth;
	const char	*what;
} policy_key_auth[] = {
	{ MSG_KEY_DQ,  ORIDIR_AUTH_DMV,   "DMV data" },
	{ MSG_KEY_KQ,  ORIDIR_AUTH_DMV,   "DMV data" },
	{ MSG_KEY_DNQ, ORIDIR_AUTH_DMV,   "DMV data" },
	{ MSG_KEY_DQG, ORIDIR_AUTH_DMV,   "DMV data" },
	{ MSG_KEY_AM,  ORIDIR_AUTH_ADMIN, "administrative message" },
	{ MSG_KEY_AML, ORIDIR_AUTH_ADMIN, "administrative message" },
	{ MSG_KEY_AA,  ORIDIR_AUTH_ADMIN, "Amber Alert" },
};

enum policy_rule_id {
	PR_ALLOWED,
	PR_ORI_UNKNOWN,
	PR_LINE,
	PR_AUTH,
	PR_CJ_ONLY,
	PR_NO_PHOTOS,
	PR_FISHING,
	PR_UNKNOWN,
	PR_MISMATCH,
	PR_USE_MISSING,
	PR_ID_CIRCUMSTANCE,
	PR_ID_USE,
	PR_SUSPECT_CJ,
	PR_RETENTION,
	PR_PUBLIC_REFUSED,
	PR_VERIFIER,
	PR_WARRANT,
	PR_FILLER,
	PR_LINEUP_SUSPECT,
	PR_LIST_PHOTO,
	PR_SUSPECT_CASE,
	PR_CJ_ONLY_MAIL,
	PR_FISHING_MAIL,
	PR_AA_PUBLIC
};

/*
 * Every rule; the text is a printf format fed by policy_set's caller.
 * dest is what a destination gets when the rule is its state's (decided
 * per destination); 0 for the sender's rules, which refuse the message.
 */
#define PD_NOIMQ	POLICY_DEST_NOIMQ
#define PD_OMIT		POLICY_DEST_OMIT
static const struct {
	const char	*code;
	const char	*name;
	int		 er;
	const char	*text;
	int		 dest;
} policy_rules[] = {
	[PR_ALLOWED] = { "P000", "allowed", 0, "allowed" },
	[PR_ORI_UNKNOWN] = { "P001", "ori-unknown", MSG_ER_POLICY,
	    "originating ORI %s is not in the ORI directory" },
	[PR_LINE] = { "P002", "line-not-entitled", MSG_ER_ORI,
	    "this line may not originate messages for ORI %s" },
	[PR_AUTH] = { "P003", "not-authorized", MSG_ER_POLICY,
	    "agency %s has no %s authorization, which %s messages need" },
	[PR_CJ_ONLY] = { "P101", "photo-cj-only", MSG_ER_POLICY,
	    "only criminal-justice agencies may request driver photos; "
	    "%s is a non-criminal-justice agency" },
	[PR_NO_PHOTOS] = { "P102", "state-no-photos", MSG_ER_POLICY,
	    "state %s does not share driver photos", PD_NOIMQ },
	[PR_FISHING] = { "P110", "fishing-expedition", MSG_ER_POLICY,
	    "a photo request must state its purpose (psp:PhotoPurpose, "
	    "legacy IPU/: category and use); a request without one is a "
	    "fishing expedition" },
	[PR_UNKNOWN] = { "P111", "purpose-unknown", MSG_ER_POLICY,
	    "unknown photo purpose %s" },
	[PR_MISMATCH] = { "P112", "purpose-mismatch", MSG_ER_POLICY,
	    "use %s is a %s purpose, not %s" },
	[PR_USE_MISSING] = { "P113", "purpose-use-missing", MSG_ER_POLICY,
	    "a %s photo request must name its specific use "
	    "(psp:PurposeUseCode, legacy IPU/CATEGORY,USE)" },
	[PR_ID_CIRCUMSTANCE] = { "P120", "identification-circumstance",
	    MSG_ER_POLICY,
	    "identification requires the circumstance or the suspicion of "
	    "criminal activity that justifies it (psp:CircumstanceText, "
	    "legacy ICI/); "
	    "without one the request is a fishing expedition" },
	[PR_ID_USE] = { "P121", "identification-use", MSG_ER_POLICY,
	    "identification requires one of the listed circumstances "
	    "(traffic stop without photo ID, suspected false ID, border or "
	    "immigration check, unidentified body, amnesia) or a stated "
	    "suspicion of criminal activity (psp:SubjectSuspectIndicator "
	    "true, legacy ISP/Y)" },
	[PR_SUSPECT_CJ] = { "P130", "suspect-cj-only", MSG_ER_POLICY,
	    "suspect purposes are for criminal-justice personnel only, never "
	    "the public; %s is a non-criminal-justice agency" },
	[PR_RETENTION] = { "P131", "record-retention-precluded", MSG_ER_POLICY,
	    "state %s precludes retention of its photos: use %s (attach to "
	    "a record) is not allowed", PD_OMIT },
	[PR_PUBLIC_REFUSED] = { "P140", "public-disclosure-refused",
	    MSG_ER_POLICY,
	    "state %s does not allow public-disclosure purposes", PD_OMIT },
	[PR_VERIFIER] = { "P141", "verifier-required", MSG_ER_POLICY,
	    "public disclosure requires the identity to be verified by "
	    "someone who can identify the person: name the verifier "
	    "(psp:VerifierName, legacy IVF/)" },
	[PR_WARRANT] = { "P142", "warrant-required", MSG_ER_POLICY,
	    "public disclosure of a suspect requires an issued arrest "
	    "warrant: give its number (psp:ArrestWarrantNumber, legacy "
	    "IWN/)" },
	[PR_FILLER] = { "P150", "lineup-filler", MSG_ER_POLICY,
	    "driver photos may never be used as photo-lineup fillers" },
	[PR_LINEUP_SUSPECT] = { "P151", "lineup-suspect", MSG_ER_POLICY,
	    "only the one identified suspect may be placed in a photo "
	    "lineup (psp:SubjectSuspectIndicator true, legacy ISP/Y), not "
	    "people picked at random" },
	[PR_LIST_PHOTO] = { "P114", "list-query-photo", MSG_ER_POLICY,
	    "a name-only query (%s) answers with a list of possible matches "
	    "and may not ask for their images (IMQ/Y): a fishing expedition; "
	    "identify the person, then ask for the photo in a DQ or KQ" },
	[PR_SUSPECT_CASE] = { "P132", "suspect-case-or-circumstance",
	    MSG_ER_POLICY,
	    "a suspect purpose requires a case number (psp:CaseNumberText, "
	    "legacy ICN/) or the circumstance (psp:CircumstanceText, legacy "
	    "ICI/); without either the request is a fishing expedition" },
	/* The same rules in the words of a mail that carries a picture. */
	[PR_CJ_ONLY_MAIL] = { "P101", "photo-cj-only", MSG_ER_POLICY,
	    "only criminal-justice agencies may send driver photos; %s is a "
	    "non-criminal-justice agency" },
	[PR_FISHING_MAIL] = { "P110", "fishing-expedition", MSG_ER_POLICY,
	    "a picture in an %s must state its purpose (psp:PhotoPurpose in "
	    "n2:NLETSMailData: category and use); a picture sent without one "
	    "is a fishing expedition" },
	[PR_AA_PUBLIC] = { "P143", "amber-alert-public", MSG_ER_POLICY,
	    "the picture of an Amber Alert is a public disclosure: its purpose "
	    "is PUBLIC-DISCLOSURE (MISSING-CHILD when none is stated), not %s" },
};

static const char *const policy_cat_names[] = {
	[POLICY_CAT_NONE] = "",
	[POLICY_CAT_ID] = "IDENTIFICATION",
	[POLICY_CAT_SUSPECT] = "SUSPECT",
	[POLICY_CAT_PUBLIC] = "PUBLIC-DISCLOSURE",
	[POLICY_CAT_LINEUP] = "PHOTO-LINEUP",
};

const struct policy_use policy_uses[] = {
	{ "TRAFFIC-STOP", POLICY_CAT_ID, 0,
	    "routine traffic stop, no photo ID offered" },
	{ "FALSE-ID", POLICY_CAT_ID, 0, "a false ID is suspected" },
	{ "BORDER-CHECK", POLICY_CAT_ID, 0,
	    "border or immigration status check" },
	{ "UNIDENTIFIED-BODY", POLICY_CAT_ID, 0, "unidentified body" },
	{ "AMNESIA", POLICY_CAT_ID, 0, "person with amnesia" },
	{ "LOCATE-SUSPECT", POLICY_CAT_SUSPECT, 0,
	    "locate or apprehend a suspect" },
	{ "JUDICIAL-PROCEEDING", POLICY_CAT_SUSPECT, 0,
	    "verify identity in a judicial proceeding" },
	{ "SENTENCE-PROGRAM", POLICY_CAT_SUSPECT, 0,
	    "verify identity in a sentence program" },
	{ "CORRECTIONS", POLICY_CAT_SUSPECT, 0,
	    "correctional activity, including transport" },
	{ "RECORD-RMS", POLICY_CAT_SUSPECT, POLICY_USE_RECORD,
	    "attach to a records-management record" },
	{ "RECORD-CRIMINAL-HISTORY", POLICY_CAT_SUSPECT, POLICY_USE_RECORD,
	    "attach to a criminal-history record" },
	{ "RECORD-INTELLIGENCE", POLICY_CAT_SUSPECT, POLICY_USE_RECORD,
	    "attach to an intelligence record" },
	{ "WANTED-POSTER", POLICY_CAT_PUBLIC, POLICY_USE_WARRANT,
	    "wanted poster or flyer" },
	{ "MISSING-PERSON", POLICY_CAT_PUBLIC, 0, "missing person flyer" },
	{ "MISSING-CHILD", POLICY_CAT_PUBLIC, 0,
	    "missing child flyer (Amber Alert)" },
	{ "SHOW-TO-LOCATE", POLICY_CAT_PUBLIC, 0,
	    "show the photo to someone to locate the person" },
	{ "SEX-OFFENDER-SITE", POLICY_CAT_PUBLIC, 0, "sex-offender website" },
	{ "LINEUP-SUSPECT", POLICY_CAT_LINEUP, 0,
	    "photo lineup, the identified suspect" },
	{ "LINEUP-FILLER", POLICY_CAT_LINEUP, POLICY_USE_FILLER,
	    "photo lineup filler" },
	{ NULL, POLICY_CAT_NONE, 0, NULL }
};

/* Defaults for a destination without <photo-policy>. */
static const struct policy_state policy_state_default = { "", 1, 1, 0 };

int
policy_is_photo_request(int key, int imq)
{
	return imq && (key == MSG_KEY_DQ || key == MSG_KEY_KQ);
}

int
policy_is_photo_mail(int key, int image)
{
	return image && (key == MSG_KEY_AM || key == MSG_KEY_AML ||
	    key == MSG_KEY_AA);
}

int
policy_is_list_query(int key)
{
	return key == MSG_KEY_DNQ;
}

const char *
policy_dest_action_name(int action)
{
	switch (action) {
	case POLICY_DEST_NOIMQ:
	case POLICY_DEST_NOIMAGE:
		return "withheld";
	case POLICY_DEST_OMIT:
		return "left-out";
	}
	return "send";
}

const struct policy_use *
policy_use_lookup(const char *code)
{
	const struct policy_use *u;

	if (code == NULL)
		return NULL;
	for (u = policy_uses; u->code != NULL; u++)
		if (strcmp(u->code, code) == 0)
			return u;
	return NULL;
}

int
policy_cat_lookup(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		return POLICY_CAT_NONE;
	for (i = 1; i < sizeof policy_cat_names / sizeof policy_cat_names[0];
	    i++)
		if (strcmp(policy_cat_names[i], name) == 0)
			return (int)i;
	return POLICY_CAT_NONE;
}

const char *
policy_cat_name(int cat)
{
	if (cat < 0 || (size_t)cat >= sizeof policy_cat_names /
	    sizeof policy_cat_names[0])
		return "";
	return policy_cat_names[cat];
}

static int	policy_set(struct policy_decision *, enum policy_rule_id, ...);

/* Fill d for rule id; the arguments feed the rule's text. */
static int
policy_set(struct policy_decision *d, enum policy_rule_id id, ...)
{
	va_list	 ap;
	char	 text[256];

	d->code = policy_rules[id].code;
	d->rule = policy_rules[id].name;
	d->er = policy_rules[id].er;
	d->allow = id == PR_ALLOWED;
	d->per_dest = policy_rules[id].dest != 0;
	d->dest_action = policy_rules[id].dest;
	va_start(ap, id);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(text, sizeof text, policy_rules[id].text, ap);
#pragma GCC diagnostic pop
	va_end(ap);
	snprintf(d->reason, sizeof d->reason, "%s %s: %s", d->code, d->rule,
	    text);
	return d->er;
}

/* A purpose nobody stated (an Amber Alert's picture may have none). */
static const struct msg_purpose policy_no_purpose = { .suspect = -1 };

/*
 * The photo rules proper, for an agency already known and authorized:
 * the sender's rules first, then the destination state's, so that a
 * state's rule (decided per destination) never hides the sender's fault
 * (which refuses the whole message). A photo request, or a mail's
 * picture (mail): an Amber Alert's is a public disclosure, of the
 * missing child unless the sender says otherwise.
 */
static int
policy_photo(const struct policy_request *r, struct policy_decision *d,
    int mail)
{
	const struct policy_state	*st = r->state ? r->state :
					    &policy_state_default;
	const struct msg_purpose	*p = r->purpose != NULL ? r->purpose :
					    &policy_no_purpose;
	const struct policy_use		*u = NULL;
	const char			*state = st->member[0] ? st->member :
					    "(destination)";
	int				 cat = POLICY_CAT_NONE;

	if (p->category[0] != '\0' &&
	    (cat = policy_cat_lookup(p->category)) == POLICY_CAT_NONE)
		return policy_set(d, PR_UNKNOWN, p->category);
	if (p->use[0] != '\0' && (u = policy_use_lookup(p->use)) == NULL)
		return policy_set(d, PR_UNKNOWN, p->use);
	if (cat == POLICY_CAT_NONE && u != NULL)
		cat = u->cat;

	if (r->agency->type != ORIDIR_CJ)
		return policy_set(d, cat == POLICY_CAT_SUSPECT ? PR_SUSPECT_CJ :
		    mail ? PR_CJ_ONLY_MAIL : PR_CJ_ONLY, r->agency->ori);
	if (mail && r->key == MSG_KEY_AA) {
		if (cat != POLICY_CAT_NONE && cat != POLICY_CAT_PUBLIC)
			return policy_set(d, PR_AA_PUBLIC,
			    policy_cat_name(cat));
		cat = POLICY_CAT_PUBLIC;
		if (u == NULL)
			u = policy_use_lookup("MISSING-CHILD");
	}
	if (cat == POLICY_CAT_NONE)
		return mail ? policy_set(d, PR_FISHING_MAIL,
		    msg_key_name((enum msg_key)r->key)) :
		    policy_set(d, PR_FISHING);
	if (u != NULL && u->cat != cat)
		return policy_set(d, PR_MISMATCH, u->code,
		    policy_cat_name(u->cat), policy_cat_name(cat));
	if (u == NULL && cat != POLICY_CAT_ID)
		return policy_set(d, PR_USE_MISSING, policy_cat_name(cat));

	switch (cat) {
	case POLICY_CAT_ID:
		if (p->circumstance[0] == '\0')
			return policy_set(d, PR_ID_CIRCUMSTANCE);
		if (u == NULL && p->suspect != 1)
			return policy_set(d, PR_ID_USE);
		break;
	case POLICY_CAT_SUSPECT:
		if (p->case_number[0] == '\0' && p->circumstance[0] == '\0')
			return policy_set(d, PR_SUSPECT_CASE);
		break;
	case POLICY_CAT_PUBLIC:
		if (p->verifier[0] == '\0')
			return policy_set(d, PR_VERIFIER);
		if (((u->flags & POLICY_USE_WARRANT) || p->suspect == 1) &&
		    p->warrant[0] == '\0')
			return policy_set(d, PR_WARRANT);
		break;
	case POLICY_CAT_LINEUP:
		if (u->flags & POLICY_USE_FILLER)
			return policy_set(d, PR_FILLER);
		if (p->suspect != 1)
			return policy_set(d, PR_LINEUP_SUSPECT);
		break;
	}

	/* The destination state's rules. */
	if (!st->share)
		return policy_set(d, PR_NO_PHOTOS, state);
	if (cat == POLICY_CAT_SUSPECT && (u->flags & POLICY_USE_RECORD) &&
	    st->noretain)
		return policy_set(d, PR_RETENTION, state, u->code);
	if (cat == POLICY_CAT_PUBLIC && !st->public_ok)
		return policy_set(d, PR_PUBLIC_REFUSED, state);
	policy_set(d, PR_ALLOWED);
	d->photo = 1;
	d->noretain = st->noretain;
	return 0;
}

int
policy_decide(const struct policy_request *r, struct policy_decision *d)
{
	const char	*ori = r->ori != NULL ? r->ori :
			    r->agency != NULL ? r->agency->ori : "?";
	char		 who[128];
	size_t		 i;

	memset(d, 0, sizeof *d);
	if (!r->line_entitled)
		return policy_set(d, PR_LINE, ori);
	if (r->agency == NULL)
		return policy_set(d, PR_ORI_UNKNOWN, ori);
	snprintf(who, sizeof who, "%s (%s)", r->agency->ori,
	    r->agency->name);
	for (i = 0; i < sizeof policy_key_auth / sizeof policy_key_auth[0];
	    i++)
		if (policy_key_auth[i].key == r->key &&
		    !(r->agency->auth & policy_key_auth[i].auth))
			return policy_set(d, PR_AUTH, who,
			    policy_key_auth[i].what,
			    msg_key_name((enum msg_key)r->key));
	if (r->imq && policy_is_list_query(r->key))
		return policy_set(d, PR_LIST_PHOTO,
		    msg_key_name((enum msg_key)r->key));
	if (policy_is_photo_request(r->key, r->imq))
		return policy_photo(r, d, 0);
	if (policy_is_photo_mail(r->key, r->image)) {
		/* The same rules; what a state's rule denies is the picture
		 * alone, and the picture is not a state's photo to answer
		 * for (no do-not-retain, no answer awaited). */
		policy_photo(r, d, 1);
		if (d->per_dest)
			d->dest_action = POLICY_DEST_NOIMAGE;
		d->image = d->photo;
		d->photo = d->noretain = 0;
		return d->er;
	}
	return policy_set(d, PR_ALLOWED);
}

int
policy_decide_dests(const struct policy_request *r, struct policy_dest *dests,
    int n, struct policy_decision *whole)
{
	struct policy_request	 rq = *r;
	const char		*sep = "; also ";
	size_t			 len;
	int			 i, first = -1, photo = 0, image = 0;

	rq.state = NULL;
	if (policy_decide(&rq, whole) != 0 && !whole->per_dest)
		return whole->er;	/* the sender's: no state decides */
	for (i = 0; i < n; i++) {
		rq.state = dests[i].state;
		if (policy_decide(&rq, &dests[i].d) == 0) {
			photo |= dests[i].d.photo;
			image |= dests[i].d.image;
			continue;
		}
		if (!dests[i].d.per_dest) {
			/* Cannot happen (the sender's rules passed above),
			 * but a sender's rule always refuses the whole. */
			*whole = dests[i].d;
			return whole->er;
		}
		if (first == -1)
			first = i;
	}
	policy_set(whole, PR_ALLOWED);
	whole->photo = photo;
	whole->image = image;
	if (first == -1 || photo || !policy_is_photo_request(r->key, r->imq))
		return 0;
	/* No destination may receive the photo request: refused whole, as
	 * the first destination's denial naming the others. */
	*whole = dests[first].d;
	for (i = first + 1; i < n; i++) {
		len = strlen(whole->reason);
		if (len + 1 >= sizeof whole->reason)
			break;
		snprintf(whole->reason + len, sizeof whole->reason - len,
		    "%s%s %s %s", sep, dests[i].dest != NULL ? dests[i].dest :
		    "?", dests[i].d.code, dests[i].d.rule);
		sep = ", ";
	}
	return whole->er;
}
