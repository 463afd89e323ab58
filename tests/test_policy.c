/*
 * test_policy - the photo-sharing policy (switch/policy.c) as a table:
 * every use of docs/policy.md allowed, and each rule's denial, with the
 * policy code and the words of the reason an agency reads.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "policy.h"

/* Agencies of the table. */
enum { TP_CJ, TP_NONCJ, TP_NODMV, TP_NOADMIN, TP_UNKNOWN };

static const struct oridir_entry tp_agencies[] = {
	[TP_CJ] = { "WA0340000", "SEATTLE PD", "WA", ORIDIR_CJ,
	    ORIDIR_AUTH_ADMIN | ORIDIR_AUTH_CHRI | ORIDIR_AUTH_DMV, 1 },
	[TP_NONCJ] = { "WA0349001", "WA LICENSING BOARD", "WA", ORIDIR_NONCJ,
	    ORIDIR_AUTH_ADMIN | ORIDIR_AUTH_DMV, 2 },
	[TP_NODMV] = { "WA0349002", "WA PAROLE OFFICE", "WA", ORIDIR_CJ,
	    ORIDIR_AUTH_ADMIN | ORIDIR_AUTH_CHRI, 3 },
	[TP_NOADMIN] = { "WA0349003", "WA SHERIFF", "WA", ORIDIR_CJ,
	    ORIDIR_AUTH_DMV, 4 },
};

/* States of the table. */
enum { TS_OPEN, TS_NOSHARE, TS_NOPUBLIC, TS_NORETAIN, TS_NONE };

static const struct policy_state tp_states[] = {
	[TS_OPEN] = { "CA", 1, 1, 0 },
	[TS_NOSHARE] = { "TX", 0, 1, 0 },
	[TS_NOPUBLIC] = { "NV", 1, 0, 0 },
	[TS_NORETAIN] = { "OR", 1, 1, 1 },
};

struct tp_case {
	const char	*name;
	int		 agency;
	int		 entitled;
	int		 key;
	int		 imq;
	int		 state;
	/* purpose: category, use, circumstance, verifier, warrant, suspect
	 * (-1 absent); NULL category and use with has_purpose 0 = none */
	int		 has_purpose;
	const char	*cat;
	const char	*use;
	const char	*cir;
	const char	*ver;
	const char	*war;
	int		 sus;
	/* expected */
	const char	*code;
	int		 er;
	const char	*words;		/* must appear in the reason */
	int		 noretain;
};

#define ID	"IDENTIFICATION"
#define SU	"SUSPECT"
#define PD	"PUBLIC-DISCLOSURE"
#define LU	"PHOTO-LINEUP"
#define DQ	MSG_KEY_DQ
#define KQ	MSG_KEY_KQ
#define OK	"P000", 0, "allowed"

static const struct tp_case tp_cases[] = {
	/* Identification: every listed circumstance, allowed. */
	{ "traffic stop, no photo ID", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    "TRAFFIC-STOP", "NO PHOTO ID OFFERED", "", "", -1, OK, 0 },
	{ "suspected false ID", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID, "FALSE-ID",
	    "LICENSE LOOKS ALTERED", "", "", -1, OK, 0 },
	{ "border check", TP_CJ, 1, KQ, 1, TS_OPEN, 1, ID, "BORDER-CHECK",
	    "PORT OF ENTRY", "", "", -1, OK, 0 },
	{ "unidentified body", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    "UNIDENTIFIED-BODY", "BODY FOUND, LICENSE NEARBY", "", "", -1, OK,
	    0 },
	{ "amnesia", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID, "AMNESIA",
	    "MAN AT HOSPITAL, NO MEMORY", "", "", -1, OK, 0 },
	{ "use given, category implied", TP_CJ, 1, DQ, 1, TS_OPEN, 1, NULL,
	    "AMNESIA", "WOMAN FOUND WANDERING", "", "", -1, OK, 0 },
	{ "stated suspicion, no listed use", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    NULL, "SEEN LEAVING BURGLARY SCENE", "", "", 1, OK, 0 },
	/* Identification denied. */
	{ "fishing: no purpose at all", TP_CJ, 1, DQ, 1, TS_OPEN, 0, NULL,
	    NULL, NULL, NULL, NULL, -1, "P110", MSG_ER_POLICY,
	    "fishing expedition", 0 },
	{ "fishing: empty purpose", TP_CJ, 1, DQ, 1, TS_OPEN, 1, NULL, NULL,
	    "", "", "", -1, "P110", MSG_ER_POLICY, "fishing expedition", 0 },
	{ "fishing: no circumstance", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    "TRAFFIC-STOP", "", "", "", -1, "P120", MSG_ER_POLICY,
	    "fishing expedition", 0 },
	{ "no listed use, no suspicion", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    NULL, "JUST CURIOUS", "", "", 0, "P121", MSG_ER_POLICY,
	    "listed circumstances", 0 },
	{ "use of another category", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    "WANTED-POSTER", "X", "", "", -1, "P112", MSG_ER_POLICY,
	    "WANTED-POSTER is a PUBLIC-DISCLOSURE purpose", 0 },
	{ "unknown use", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID, "CURIOSITY", "X",
	    "", "", -1, "P111", MSG_ER_POLICY, "unknown photo purpose", 0 },
	{ "unknown category", TP_CJ, 1, DQ, 1, TS_OPEN, 1, "GOSSIP", NULL,
	    "X", "", "", -1, "P111", MSG_ER_POLICY, "GOSSIP", 0 },

	/* Suspect uses, allowed. */
	{ "locate suspect", TP_CJ, 1, DQ, 1, TS_OPEN, 1, SU, "LOCATE-SUSPECT",
	    "ROBBERY 24-1", "", "", 1, OK, 0 },
	{ "judicial proceeding", TP_CJ, 1, DQ, 1, TS_OPEN, 1, SU,
	    "JUDICIAL-PROCEEDING", "", "", "", -1, OK, 0 },
	{ "sentence program", TP_CJ, 1, DQ, 1, TS_OPEN, 1, SU,
	    "SENTENCE-PROGRAM", "", "", "", -1, OK, 0 },
	{ "corrections / transport", TP_CJ, 1, KQ, 1, TS_OPEN, 1, SU,
	    "CORRECTIONS", "TRANSPORT", "", "", -1, OK, 0 },
	{ "attach to RMS, retaining state", TP_CJ, 1, DQ, 1, TS_OPEN, 1, SU,
	    "RECORD-RMS", "", "", "", -1, OK, 0 },
	{ "attach to CHRI, retaining state", TP_CJ, 1, DQ, 1, TS_OPEN, 1, SU,
	    "RECORD-CRIMINAL-HISTORY", "", "", "", -1, OK, 0 },
	{ "attach to intelligence, retaining state", TP_CJ, 1, DQ, 1, TS_OPEN,
	    1, SU, "RECORD-INTELLIGENCE", "", "", "", -1, OK, 0 },
	{ "locate suspect, precluding state: allowed, do-not-retain", TP_CJ,
	    1, DQ, 1, TS_NORETAIN, 1, SU, "LOCATE-SUSPECT", "", "", "", 1,
	    "P000", 0, "allowed", 1 },
	/* Suspect denied. */
	{ "attach to RMS, precluding state", TP_CJ, 1, DQ, 1, TS_NORETAIN, 1,
	    SU, "RECORD-RMS", "", "", "", -1, "P131", MSG_ER_POLICY,
	    "state OR precludes retention", 0 },
	{ "attach to CHRI, precluding state", TP_CJ, 1, DQ, 1, TS_NORETAIN, 1,
	    SU, "RECORD-CRIMINAL-HISTORY", "", "", "", -1, "P131",
	    MSG_ER_POLICY, "RECORD-CRIMINAL-HISTORY", 0 },
	{ "attach to intelligence, precluding state", TP_CJ, 1, DQ, 1,
	    TS_NORETAIN, 1, SU, "RECORD-INTELLIGENCE", "", "", "", -1, "P131",
	    MSG_ER_POLICY, "precludes retention", 0 },
	{ "suspect use by non-criminal-justice", TP_NONCJ, 1, DQ, 1, TS_OPEN,
	    1, SU, "LOCATE-SUSPECT", "", "", "", 1, "P130", MSG_ER_POLICY,
	    "criminal-justice personnel only", 0 },
	{ "suspect category without use", TP_CJ, 1, DQ, 1, TS_OPEN, 1, SU,
	    NULL, "", "", "", 1, "P113", MSG_ER_POLICY, "specific use", 0 },

	/* Public disclosure, allowed. */
	{ "wanted poster with verifier and warrant", TP_CJ, 1, DQ, 1, TS_OPEN,
	    1, PD, "WANTED-POSTER", "", "DET. J. SMITH", "W-2024-0042", 1, OK,
	    0 },
	{ "missing person", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD, "MISSING-PERSON",
	    "", "SISTER OF THE MISSING", "", 0, OK, 0 },
	{ "missing child (Amber Alert)", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD,
	    "MISSING-CHILD", "AMBER ALERT 24-7", "MOTHER", "", -1, OK, 0 },
	{ "show to locate", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD, "SHOW-TO-LOCATE",
	    "", "NEIGHBOR A. JONES", "", -1, OK, 0 },
	{ "sex-offender website", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD,
	    "SEX-OFFENDER-SITE", "", "REGISTRY OFFICER B. LEE", "", -1, OK, 0 },
	{ "show to locate a suspect with warrant", TP_CJ, 1, DQ, 1, TS_OPEN,
	    1, PD, "SHOW-TO-LOCATE", "", "VICTIM", "W-77", 1, OK, 0 },
	/* Public disclosure denied. */
	{ "wanted poster without warrant", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD,
	    "WANTED-POSTER", "", "DET. J. SMITH", "", 1, "P142", MSG_ER_POLICY,
	    "arrest warrant", 0 },
	{ "wanted poster without verifier", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD,
	    "WANTED-POSTER", "", "", "W-2024-0042", 1, "P141", MSG_ER_POLICY,
	    "verifier", 0 },
	{ "wanted poster, suspect flag absent: still needs warrant", TP_CJ, 1,
	    DQ, 1, TS_OPEN, 1, PD, "WANTED-POSTER", "", "DET. J. SMITH", "",
	    -1, "P142", MSG_ER_POLICY, "ArrestWarrantNumber", 0 },
	{ "show to locate a suspect without warrant", TP_CJ, 1, DQ, 1,
	    TS_OPEN, 1, PD, "SHOW-TO-LOCATE", "", "VICTIM", "", 1, "P142",
	    MSG_ER_POLICY, "arrest warrant", 0 },
	{ "missing child without verifier", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD,
	    "MISSING-CHILD", "", "", "", -1, "P141", MSG_ER_POLICY,
	    "VerifierName", 0 },
	{ "public disclosure to a refusing state", TP_CJ, 1, DQ, 1,
	    TS_NOPUBLIC, 1, PD, "MISSING-PERSON", "", "SISTER", "", 0, "P140",
	    MSG_ER_POLICY, "state NV does not allow public-disclosure", 0 },
	{ "sex-offender site to a refusing state", TP_CJ, 1, DQ, 1,
	    TS_NOPUBLIC, 1, PD, "SEX-OFFENDER-SITE", "", "OFFICER", "", -1,
	    "P140", MSG_ER_POLICY, "public-disclosure", 0 },

	/* Photo lineup. */
	{ "lineup, the identified suspect", TP_CJ, 1, DQ, 1, TS_OPEN, 1, LU,
	    "LINEUP-SUSPECT", "CASE 24-9", "", "", 1, OK, 0 },
	{ "lineup filler", TP_CJ, 1, DQ, 1, TS_OPEN, 1, LU, "LINEUP-FILLER",
	    "CASE 24-9", "", "", 0, "P150", MSG_ER_POLICY, "fillers", 0 },
	{ "lineup filler even if flagged suspect", TP_CJ, 1, DQ, 1, TS_OPEN,
	    1, LU, "LINEUP-FILLER", "", "", "", 1, "P150", MSG_ER_POLICY,
	    "never", 0 },
	{ "lineup, subject not the suspect", TP_CJ, 1, DQ, 1, TS_OPEN, 1, LU,
	    "LINEUP-SUSPECT", "", "", "", 0, "P151", MSG_ER_POLICY,
	    "picked at random", 0 },

	/* Agency and state. */
	{ "non-criminal-justice agency", TP_NONCJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    "TRAFFIC-STOP", "NO ID", "", "", -1, "P101", MSG_ER_POLICY,
	    "only criminal-justice agencies", 0 },
	{ "non-criminal-justice without photo: allowed", TP_NONCJ, 1, DQ, 0,
	    TS_OPEN, 0, NULL, NULL, NULL, NULL, NULL, -1, OK, 0 },
	{ "criminal-justice without DMV authorization", TP_NODMV, 1, DQ, 1,
	    TS_OPEN, 1, ID, "TRAFFIC-STOP", "NO ID", "", "", -1, "P003",
	    MSG_ER_POLICY, "no DMV data authorization", 0 },
	{ "no DMV authorization, no photo either", TP_NODMV, 1, KQ, 0,
	    TS_OPEN, 0, NULL, NULL, NULL, NULL, NULL, -1, "P003",
	    MSG_ER_POLICY, "KQ messages", 0 },
	{ "AM without admin authorization", TP_NOADMIN, 1, MSG_KEY_AM, 0,
	    TS_NONE, 0, NULL, NULL, NULL, NULL, NULL, -1, "P003",
	    MSG_ER_POLICY, "administrative message", 0 },
	{ "response from a known ORI", TP_NOADMIN, 1, MSG_KEY_DR, 0, TS_NONE,
	    0, NULL, NULL, NULL, NULL, NULL, -1, OK, 0 },
	{ "unknown ORI", TP_UNKNOWN, 1, DQ, 0, TS_OPEN, 0, NULL, NULL, NULL,
	    NULL, NULL, -1, "P001", MSG_ER_POLICY,
	    "WA0349999 is not in the ORI directory", 0 },
	{ "unknown ORI with a good purpose", TP_UNKNOWN, 1, DQ, 1, TS_OPEN, 1,
	    ID, "TRAFFIC-STOP", "NO ID", "", "", -1, "P001", MSG_ER_POLICY,
	    "ORI directory", 0 },
	{ "line not entitled to the ORI", TP_CJ, 0, DQ, 1, TS_OPEN, 1, ID,
	    "TRAFFIC-STOP", "NO ID", "", "", -1, "P002", MSG_ER_ORI,
	    "may not originate messages for ORI WA0340000", 0 },
	{ "state not sharing photos", TP_CJ, 1, DQ, 1, TS_NOSHARE, 1, ID,
	    "TRAFFIC-STOP", "NO ID", "", "", -1, "P102", MSG_ER_POLICY,
	    "state TX does not share driver photos", 0 },
	{ "state not sharing, query without photo", TP_CJ, 1, DQ, 0,
	    TS_NOSHARE, 0, NULL, NULL, NULL, NULL, NULL, -1, OK, 0 },
	{ "no destination rules: defaults", TP_CJ, 1, DQ, 1, TS_NONE, 1, PD,
	    "MISSING-PERSON", "", "MOTHER", "", 0, OK, 0 },
};

static void
tp_fill(struct msg_purpose *p, const struct tp_case *c)
{
	memset(p, 0, sizeof *p);
	p->present = 1;
	p->suspect = c->sus;
	snprintf(p->category, sizeof p->category, "%s", c->cat ? c->cat : "");
	snprintf(p->use, sizeof p->use, "%s", c->use ? c->use : "");
	snprintf(p->circumstance, sizeof p->circumstance, "%s",
	    c->cir ? c->cir : "");
	snprintf(p->verifier, sizeof p->verifier, "%s", c->ver ? c->ver : "");
	snprintf(p->warrant, sizeof p->warrant, "%s", c->war ? c->war : "");
}

static void
test_policy_table(void)
{
	struct policy_request	 r;
	struct policy_decision	 d;
	struct msg_purpose	 p;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof tp_cases / sizeof tp_cases[0]; i++) {
		const struct tp_case *c = &tp_cases[i];

		memset(&r, 0, sizeof r);
		r.line_entitled = c->entitled;
		r.agency = c->agency == TP_UNKNOWN ? NULL :
		    &tp_agencies[c->agency];
		r.ori = c->agency == TP_UNKNOWN ? "WA0349999" :
		    tp_agencies[c->agency].ori;
		r.key = c->key;
		r.imq = c->imq;
		if (c->has_purpose) {
			tp_fill(&p, c);
			r.purpose = &p;
		}
		r.state = c->state == TS_NONE ? NULL : &tp_states[c->state];
		rc = policy_decide(&r, &d);
		if (strcmp(d.code, c->code) != 0 || rc != c->er ||
		    strstr(d.reason, c->words) == NULL ||
		    d.noretain != c->noretain ||
		    strncmp(d.reason, c->code, 4) != 0)
			fprintf(stderr, "\npolicy case \"%s\": got %s er=%d "
			    "noretain=%d \"%s\"\n", c->name, d.code, rc,
			    d.noretain, d.reason);
		CU_ASSERT_STRING_EQUAL(d.code, c->code);
		CU_ASSERT_EQUAL(rc, c->er);
		CU_ASSERT_EQUAL(d.er, c->er);
		CU_ASSERT_EQUAL(d.allow, c->er == 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, c->words));
		CU_ASSERT_EQUAL(d.noretain, c->noretain);
		/* The reason starts with the code and names the rule. */
		CU_ASSERT_EQUAL(strncmp(d.reason, c->code, 4), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(d.reason, d.rule));
		CU_ASSERT_EQUAL(d.photo, c->er == 0 &&
		    policy_is_photo_request(c->key, c->imq));
	}
}

/* Every use of the table is covered, allowed at least once. */
static void
test_policy_every_use(void)
{
	const struct policy_use	*u;
	size_t			 i;
	int			 allowed, seen;

	for (u = policy_uses; u->code != NULL; u++) {
		allowed = seen = 0;
		for (i = 0; i < sizeof tp_cases / sizeof tp_cases[0]; i++) {
			if (tp_cases[i].use == NULL ||
			    strcmp(tp_cases[i].use, u->code) != 0)
				continue;
			seen = 1;
			if (tp_cases[i].er == 0)
				allowed = 1;
		}
		if (!seen)
			fprintf(stderr, "\nno case for use %s\n", u->code);
		CU_ASSERT(seen);
		/* A lineup filler is the one use that is never allowed. */
		CU_ASSERT(allowed == !(u->flags & POLICY_USE_FILLER));
		CU_ASSERT_PTR_EQUAL(policy_use_lookup(u->code), u);
		CU_ASSERT_STRING_NOT_EQUAL(policy_cat_name(u->cat), "");
	}
	CU_ASSERT_PTR_NULL(policy_use_lookup("NOPE"));
	CU_ASSERT_EQUAL(policy_cat_lookup("PHOTO-LINEUP"), POLICY_CAT_LINEUP);
	CU_ASSERT_EQUAL(policy_cat_lookup("x"), POLICY_CAT_NONE);
	CU_ASSERT(policy_is_photo_request(MSG_KEY_KQ, 1));
	CU_ASSERT(!policy_is_photo_request(MSG_KEY_DNQ, 1));
	CU_ASSERT(!policy_is_photo_request(MSG_KEY_DQ, 0));
}

int
test_policy_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("policy", NULL, NULL)) == NULL ||
	    CU_ADD_TEST(s, test_policy_table) == NULL ||
	    CU_ADD_TEST(s, test_policy_every_use) == NULL)
		return -1;
	return 0;
}
