/*
 * test_policy - the photo-sharing policy (switch/policy.c) as tables:
 * every use of docs/policy.md allowed, and each rule's denial, with the
 * policy code and the words of the reason an agency reads (one state);
 * then requests to several states, each decided on its own
 * (policy_decide_dests).
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
	const char	*cn;		/* case number, NULL: none */
	int		 action;	/* a state's rule: what the state gets
					   (enum policy_dest_action) */
};

#define ID	"IDENTIFICATION"
#define SU	"SUSPECT"
#define PD	"PUBLIC-DISCLOSURE"
#define LU	"PHOTO-LINEUP"
#define DQ	MSG_KEY_DQ
#define KQ	MSG_KEY_KQ
#define DNQ	MSG_KEY_DNQ
#define OK	"P000", 0, "allowed"
#define NOIMQ	POLICY_DEST_NOIMQ
#define OMIT	POLICY_DEST_OMIT
#define NOIMG	POLICY_DEST_NOIMAGE
#define AM	MSG_KEY_AM
#define AML	MSG_KEY_AML
#define AA	MSG_KEY_AA
/* A mail carrying a picture: the key with TP_IMAGE (policy_request.image). */
#define TP_IMAGE	0x100
#define TP_KEY(k)	((k) & ~TP_IMAGE)
#define TP_IMG(k)	(((k) & TP_IMAGE) != 0)
#define AMI	(MSG_KEY_AM | TP_IMAGE)
#define AMLI	(MSG_KEY_AML | TP_IMAGE)
#define AAI	(MSG_KEY_AA | TP_IMAGE)

static const struct tp_case tp_cases[] = {
	/* Identification: every listed circumstance, allowed. */
	{ "traffic stop, no photo ID", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    "TRAFFIC-STOP", "NO PHOTO ID OFFERED", "", "", -1, OK, 0, NULL, 0 },
	{ "suspected false ID", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID, "FALSE-ID",
	    "LICENSE LOOKS ALTERED", "", "", -1, OK, 0, NULL, 0 },
	{ "border check", TP_CJ, 1, KQ, 1, TS_OPEN, 1, ID, "BORDER-CHECK",
	    "PORT OF ENTRY", "", "", -1, OK, 0, NULL, 0 },
	{ "unidentified body", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    "UNIDENTIFIED-BODY", "BODY FOUND, LICENSE NEARBY", "", "", -1, OK,
	    0, NULL, 0 },
	{ "amnesia", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID, "AMNESIA",
	    "MAN AT HOSPITAL, NO MEMORY", "", "", -1, OK, 0, NULL, 0 },
	{ "use given, category implied", TP_CJ, 1, DQ, 1, TS_OPEN, 1, NULL,
	    "AMNESIA", "WOMAN FOUND WANDERING", "", "", -1, OK, 0, NULL, 0 },
	{ "stated suspicion, no listed use", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    NULL, "SEEN LEAVING BURGLARY SCENE", "", "", 1, OK, 0, NULL, 0 },
	/* Identification denied. */
	{ "fishing: no purpose at all", TP_CJ, 1, DQ, 1, TS_OPEN, 0, NULL,
	    NULL, NULL, NULL, NULL, -1, "P110", MSG_ER_POLICY,
	    "fishing expedition", 0, NULL, 0 },
	{ "fishing: empty purpose", TP_CJ, 1, DQ, 1, TS_OPEN, 1, NULL, NULL,
	    "", "", "", -1, "P110", MSG_ER_POLICY, "fishing expedition", 0,
	    NULL, 0 },
	{ "fishing: no circumstance", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    "TRAFFIC-STOP", "", "", "", -1, "P120", MSG_ER_POLICY,
	    "fishing expedition", 0, NULL, 0 },
	{ "no listed use, no suspicion", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    NULL, "JUST CURIOUS", "", "", 0, "P121", MSG_ER_POLICY,
	    "listed circumstances", 0, NULL, 0 },
	{ "use of another category", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    "WANTED-POSTER", "X", "", "", -1, "P112", MSG_ER_POLICY,
	    "WANTED-POSTER is a PUBLIC-DISCLOSURE purpose", 0, NULL, 0 },
	{ "unknown use", TP_CJ, 1, DQ, 1, TS_OPEN, 1, ID, "CURIOSITY", "X",
	    "", "", -1, "P111", MSG_ER_POLICY, "unknown photo purpose", 0,
	    NULL, 0 },
	{ "unknown category", TP_CJ, 1, DQ, 1, TS_OPEN, 1, "GOSSIP", NULL,
	    "X", "", "", -1, "P111", MSG_ER_POLICY, "GOSSIP", 0, NULL, 0 },

	/* Suspect uses, allowed. */
	{ "locate suspect", TP_CJ, 1, DQ, 1, TS_OPEN, 1, SU, "LOCATE-SUSPECT",
	    "ROBBERY 24-1", "", "", 1, OK, 0, NULL, 0 },
	{ "judicial proceeding, case number only", TP_CJ, 1, DQ, 1, TS_OPEN,
	    1, SU, "JUDICIAL-PROCEEDING", "", "", "", -1, OK, 0,
	    "24-CR-0042", 0 },
	{ "sentence program, case number only", TP_CJ, 1, DQ, 1, TS_OPEN, 1,
	    SU, "SENTENCE-PROGRAM", "", "", "", -1, OK, 0, "S-2024-7", 0 },
	{ "corrections / transport", TP_CJ, 1, KQ, 1, TS_OPEN, 1, SU,
	    "CORRECTIONS", "TRANSPORT", "", "", -1, OK, 0, NULL, 0 },
	{ "attach to RMS, retaining state", TP_CJ, 1, DQ, 1, TS_OPEN, 1, SU,
	    "RECORD-RMS", "", "", "", -1, OK, 0, "24-000123", 0 },
	{ "attach to CHRI, retaining state", TP_CJ, 1, DQ, 1, TS_OPEN, 1, SU,
	    "RECORD-CRIMINAL-HISTORY", "BOOKED FOR BURGLARY", "", "", -1, OK,
	    0, NULL, 0 },
	{ "attach to intelligence, retaining state", TP_CJ, 1, DQ, 1, TS_OPEN,
	    1, SU, "RECORD-INTELLIGENCE", "", "", "", -1, OK, 0, "INT-9", 0 },
	{ "locate suspect, precluding state: allowed, do-not-retain", TP_CJ,
	    1, DQ, 1, TS_NORETAIN, 1, SU, "LOCATE-SUSPECT", "", "", "", 1,
	    "P000", 0, "allowed", 1, "24-000777", 0 },
	/* Suspect: neither a case number nor a circumstance. */
	{ "locate suspect, no case, no circumstance", TP_CJ, 1, DQ, 1,
	    TS_OPEN, 1, SU, "LOCATE-SUSPECT", "", "", "", 1, "P132",
	    MSG_ER_POLICY, "case number", 0, NULL, 0 },
	{ "judicial proceeding, no case, no circumstance", TP_CJ, 1, KQ, 1,
	    TS_OPEN, 1, SU, "JUDICIAL-PROCEEDING", NULL, NULL, NULL, -1,
	    "P132", MSG_ER_POLICY, "fishing expedition", 0, NULL, 0 },
	{ "attach to RMS, nothing stated", TP_CJ, 1, DQ, 1, TS_OPEN, 1, SU,
	    "RECORD-RMS", "", "", "", -1, "P132", MSG_ER_POLICY,
	    "psp:CaseNumberText", 0, NULL, 0 },
	{ "corrections, circumstance only", TP_CJ, 1, DQ, 1, TS_OPEN, 1, SU,
	    "CORRECTIONS", "TRANSPORT TO COURT", "", "", -1, OK, 0, NULL, 0 },
	/* The sender's rule before the state's: P132, not P131. */
	{ "attach to RMS, precluding state, nothing stated", TP_CJ, 1, DQ, 1,
	    TS_NORETAIN, 1, SU, "RECORD-RMS", "", "", "", -1, "P132",
	    MSG_ER_POLICY, "legacy ICI/", 0, NULL, 0 },
	/* Suspect denied. */
	{ "attach to RMS, precluding state", TP_CJ, 1, DQ, 1, TS_NORETAIN, 1,
	    SU, "RECORD-RMS", "", "", "", -1, "P131", MSG_ER_POLICY,
	    "state OR precludes retention", 0, "24-1", OMIT },
	{ "attach to CHRI, precluding state", TP_CJ, 1, DQ, 1, TS_NORETAIN, 1,
	    SU, "RECORD-CRIMINAL-HISTORY", "BOOKED", "", "", -1, "P131",
	    MSG_ER_POLICY, "RECORD-CRIMINAL-HISTORY", 0, NULL, OMIT },
	{ "attach to intelligence, precluding state", TP_CJ, 1, DQ, 1,
	    TS_NORETAIN, 1, SU, "RECORD-INTELLIGENCE", "", "", "", -1, "P131",
	    MSG_ER_POLICY, "precludes retention", 0, "INT-9", OMIT },
	{ "suspect use by non-criminal-justice", TP_NONCJ, 1, DQ, 1, TS_OPEN,
	    1, SU, "LOCATE-SUSPECT", "", "", "", 1, "P130", MSG_ER_POLICY,
	    "criminal-justice personnel only", 0, NULL, 0 },
	{ "suspect category without use", TP_CJ, 1, DQ, 1, TS_OPEN, 1, SU,
	    NULL, "", "", "", 1, "P113", MSG_ER_POLICY, "specific use", 0,
	    NULL, 0 },

	/* Public disclosure, allowed. */
	{ "wanted poster with verifier and warrant", TP_CJ, 1, DQ, 1, TS_OPEN,
	    1, PD, "WANTED-POSTER", "", "DET. J. SMITH", "W-2024-0042", 1, OK,
	    0, NULL, 0 },
	{ "missing person", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD, "MISSING-PERSON",
	    "", "SISTER OF THE MISSING", "", 0, OK, 0, NULL, 0 },
	{ "missing child (Amber Alert)", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD,
	    "MISSING-CHILD", "AMBER ALERT 24-7", "MOTHER", "", -1, OK, 0,
	    NULL, 0 },
	{ "show to locate", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD, "SHOW-TO-LOCATE",
	    "", "NEIGHBOR A. JONES", "", -1, OK, 0, NULL, 0 },
	{ "sex-offender website", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD,
	    "SEX-OFFENDER-SITE", "", "REGISTRY OFFICER B. LEE", "", -1, OK,
	    0, NULL, 0 },
	{ "show to locate a suspect with warrant", TP_CJ, 1, DQ, 1, TS_OPEN,
	    1, PD, "SHOW-TO-LOCATE", "", "VICTIM", "W-77", 1, OK, 0, NULL, 0 },
	/* Public disclosure denied. */
	{ "wanted poster without warrant", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD,
	    "WANTED-POSTER", "", "DET. J. SMITH", "", 1, "P142", MSG_ER_POLICY,
	    "arrest warrant", 0, NULL, 0 },
	{ "wanted poster without verifier", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD,
	    "WANTED-POSTER", "", "", "W-2024-0042", 1, "P141", MSG_ER_POLICY,
	    "verifier", 0, NULL, 0 },
	{ "wanted poster, suspect flag absent: still needs warrant", TP_CJ, 1,
	    DQ, 1, TS_OPEN, 1, PD, "WANTED-POSTER", "", "DET. J. SMITH", "",
	    -1, "P142", MSG_ER_POLICY, "ArrestWarrantNumber", 0, NULL, 0 },
	{ "show to locate a suspect without warrant", TP_CJ, 1, DQ, 1,
	    TS_OPEN, 1, PD, "SHOW-TO-LOCATE", "", "VICTIM", "", 1, "P142",
	    MSG_ER_POLICY, "arrest warrant", 0, NULL, 0 },
	{ "missing child without verifier", TP_CJ, 1, DQ, 1, TS_OPEN, 1, PD,
	    "MISSING-CHILD", "", "", "", -1, "P141", MSG_ER_POLICY,
	    "VerifierName", 0, NULL, 0 },
	{ "public disclosure to a refusing state", TP_CJ, 1, DQ, 1,
	    TS_NOPUBLIC, 1, PD, "MISSING-PERSON", "", "SISTER", "", 0, "P140",
	    MSG_ER_POLICY, "state NV does not allow public-disclosure", 0,
	    NULL, OMIT },
	{ "sex-offender site to a refusing state", TP_CJ, 1, DQ, 1,
	    TS_NOPUBLIC, 1, PD, "SEX-OFFENDER-SITE", "", "OFFICER", "", -1,
	    "P140", MSG_ER_POLICY, "public-disclosure", 0, NULL, OMIT },
	/* The sender's rule before the state's: P141, not P140. */
	{ "no verifier, to a refusing state", TP_CJ, 1, DQ, 1, TS_NOPUBLIC,
	    1, PD, "MISSING-PERSON", "", "", "", 0, "P141", MSG_ER_POLICY,
	    "verifier", 0, NULL, 0 },

	/* Photo lineup. */
	{ "lineup, the identified suspect", TP_CJ, 1, DQ, 1, TS_OPEN, 1, LU,
	    "LINEUP-SUSPECT", "CASE 24-9", "", "", 1, OK, 0, NULL, 0 },
	{ "lineup filler", TP_CJ, 1, DQ, 1, TS_OPEN, 1, LU, "LINEUP-FILLER",
	    "CASE 24-9", "", "", 0, "P150", MSG_ER_POLICY, "fillers", 0,
	    NULL, 0 },
	{ "lineup filler even if flagged suspect", TP_CJ, 1, DQ, 1, TS_OPEN,
	    1, LU, "LINEUP-FILLER", "", "", "", 1, "P150", MSG_ER_POLICY,
	    "never", 0, NULL, 0 },
	{ "lineup, subject not the suspect", TP_CJ, 1, DQ, 1, TS_OPEN, 1, LU,
	    "LINEUP-SUSPECT", "", "", "", 0, "P151", MSG_ER_POLICY,
	    "picked at random", 0, NULL, 0 },

	/* Agency and state. */
	{ "non-criminal-justice agency", TP_NONCJ, 1, DQ, 1, TS_OPEN, 1, ID,
	    "TRAFFIC-STOP", "NO ID", "", "", -1, "P101", MSG_ER_POLICY,
	    "only criminal-justice agencies", 0, NULL, 0 },
	{ "non-criminal-justice without photo: allowed", TP_NONCJ, 1, DQ, 0,
	    TS_OPEN, 0, NULL, NULL, NULL, NULL, NULL, -1, OK, 0, NULL, 0 },
	{ "criminal-justice without DMV authorization", TP_NODMV, 1, DQ, 1,
	    TS_OPEN, 1, ID, "TRAFFIC-STOP", "NO ID", "", "", -1, "P003",
	    MSG_ER_POLICY, "no DMV data authorization", 0, NULL, 0 },
	{ "no DMV authorization, no photo either", TP_NODMV, 1, KQ, 0,
	    TS_OPEN, 0, NULL, NULL, NULL, NULL, NULL, -1, "P003",
	    MSG_ER_POLICY, "KQ messages", 0, NULL, 0 },
	{ "AM without admin authorization", TP_NOADMIN, 1, MSG_KEY_AM, 0,
	    TS_NONE, 0, NULL, NULL, NULL, NULL, NULL, -1, "P003",
	    MSG_ER_POLICY, "administrative message", 0, NULL, 0 },
	{ "response from a known ORI", TP_NOADMIN, 1, MSG_KEY_DR, 0, TS_NONE,
	    0, NULL, NULL, NULL, NULL, NULL, -1, OK, 0, NULL, 0 },
	{ "unknown ORI", TP_UNKNOWN, 1, DQ, 0, TS_OPEN, 0, NULL, NULL, NULL,
	    NULL, NULL, -1, "P001", MSG_ER_POLICY,
	    "WA0349999 is not in the ORI directory", 0, NULL, 0 },
	{ "unknown ORI with a good purpose", TP_UNKNOWN, 1, DQ, 1, TS_OPEN, 1,
	    ID, "TRAFFIC-STOP", "NO ID", "", "", -1, "P001", MSG_ER_POLICY,
	    "ORI directory", 0, NULL, 0 },
	{ "line not entitled to the ORI", TP_CJ, 0, DQ, 1, TS_OPEN, 1, ID,
	    "TRAFFIC-STOP", "NO ID", "", "", -1, "P002", MSG_ER_ORI,
	    "may not originate messages for ORI WA0340000", 0, NULL, 0 },
	{ "state not sharing photos", TP_CJ, 1, DQ, 1, TS_NOSHARE, 1, ID,
	    "TRAFFIC-STOP", "NO ID", "", "", -1, "P102", MSG_ER_POLICY,
	    "state TX does not share driver photos", 0, NULL, NOIMQ },
	/* The sender's rule before the state's: P110, not P102. */
	{ "no purpose, to a state not sharing", TP_CJ, 1, DQ, 1, TS_NOSHARE,
	    0, NULL, NULL, NULL, NULL, NULL, -1, "P110", MSG_ER_POLICY,
	    "fishing expedition", 0, NULL, 0 },
	{ "non-criminal-justice, to a state not sharing", TP_NONCJ, 1, KQ, 1,
	    TS_NOSHARE, 1, ID, "TRAFFIC-STOP", "NO ID", "", "", -1, "P101",
	    MSG_ER_POLICY, "non-criminal-justice", 0, NULL, 0 },

	/* Name-only list queries (DNQ) never ask for images. */
	{ "DNQ asking for images", TP_CJ, 1, DNQ, 1, TS_OPEN, 0, NULL, NULL,
	    NULL, NULL, NULL, -1, "P114", MSG_ER_POLICY,
	    "a name-only query (DNQ) answers with a list", 0, NULL, 0 },
	{ "DNQ asking for images with a good purpose", TP_CJ, 1, DNQ, 1,
	    TS_OPEN, 1, ID, "TRAFFIC-STOP", "NO PHOTO ID OFFERED", "", "", -1,
	    "P114", MSG_ER_POLICY, "fishing expedition", 0, NULL, 0 },
	{ "DNQ asking for images, state not sharing", TP_CJ, 1, DNQ, 1,
	    TS_NOSHARE, 0, NULL, NULL, NULL, NULL, NULL, -1, "P114",
	    MSG_ER_POLICY, "DQ or KQ", 0, NULL, 0 },
	{ "DNQ asking for images, non-criminal-justice", TP_NONCJ, 1, DNQ, 1,
	    TS_OPEN, 0, NULL, NULL, NULL, NULL, NULL, -1, "P114",
	    MSG_ER_POLICY, "list-query-photo", 0, NULL, 0 },
	{ "DNQ asking for images without DMV authorization", TP_NODMV, 1, DNQ,
	    1, TS_OPEN, 0, NULL, NULL, NULL, NULL, NULL, -1, "P003",
	    MSG_ER_POLICY, "DNQ messages", 0, NULL, 0 },
	{ "DNQ without images: allowed", TP_CJ, 1, DNQ, 0, TS_NOSHARE, 0,
	    NULL, NULL, NULL, NULL, NULL, -1, OK, 0, NULL, 0 },
	{ "state not sharing, query without photo", TP_CJ, 1, DQ, 0,
	    TS_NOSHARE, 0, NULL, NULL, NULL, NULL, NULL, -1, OK, 0, NULL, 0 },
	{ "no destination rules: defaults", TP_CJ, 1, DQ, 1, TS_NONE, 1, PD,
	    "MISSING-PERSON", "", "MOTHER", "", 0, OK, 0, NULL, 0 },

	/* An Amber Alert's picture: a public disclosure (issue 13, 4). */
	{ "AA picture, verifier named: missing child", TP_CJ, 1, AAI, 0,
	    TS_OPEN, 1, NULL, NULL, NULL, "DET. J. SMITH", "", -1, OK, 0, NULL,
	    0 },
	{ "AA picture, category without use: missing child", TP_CJ, 1, AAI, 0,
	    TS_OPEN, 1, PD, NULL, NULL, "SGT. A. SAMPLE", "", 0, OK, 0, NULL,
	    0 },
	{ "AA picture, no purpose: the verifier is missing", TP_CJ, 1, AAI, 0,
	    TS_OPEN, 0, NULL, NULL, NULL, NULL, NULL, -1, "P141",
	    MSG_ER_POLICY, "name the verifier", 0, NULL, 0 },
	{ "AA picture, purpose without verifier", TP_CJ, 1, AAI, 0, TS_OPEN, 1,
	    PD, "MISSING-CHILD", "ABDUCTED AT PARK", "", "", 0, "P141",
	    MSG_ER_POLICY, "verified", 0, NULL, 0 },
	{ "AA picture of a suspect without warrant", TP_CJ, 1, AAI, 0, TS_OPEN,
	    1, NULL, NULL, NULL, "DET. J. SMITH", "", 1, "P142", MSG_ER_POLICY,
	    "arrest warrant", 0, NULL, 0 },
	{ "AA picture of a suspect with warrant", TP_CJ, 1, AAI, 0, TS_OPEN, 1,
	    PD, "WANTED-POSTER", NULL, "DET. J. SMITH", "W-2024-0042", 1, OK,
	    0, NULL, 0 },
	{ "AA wanted poster without warrant", TP_CJ, 1, AAI, 0, TS_OPEN, 1,
	    NULL, "WANTED-POSTER", NULL, "DET. J. SMITH", "", -1, "P142",
	    MSG_ER_POLICY, "warrant", 0, NULL, 0 },
	{ "AA picture stated as a suspect purpose", TP_CJ, 1, AAI, 0, TS_OPEN,
	    1, SU, "LOCATE-SUSPECT", "ABDUCTOR", "DET. J. SMITH", "", 1, "P143",
	    MSG_ER_POLICY, "public disclosure", 0, NULL, 0 },
	{ "AA picture, use of another category only", TP_CJ, 1, AAI, 0,
	    TS_OPEN, 1, NULL, "FALSE-ID", "X", "DET. J. SMITH", "", -1, "P143",
	    MSG_ER_POLICY, "not IDENTIFICATION", 0, NULL, 0 },
	{ "AA picture, unknown use", TP_CJ, 1, AAI, 0, TS_OPEN, 1, NULL,
	    "BILLBOARD", NULL, "DET. J. SMITH", "", -1, "P111", MSG_ER_POLICY,
	    "BILLBOARD", 0, NULL, 0 },
	{ "AA picture from a non-criminal-justice agency", TP_NONCJ, 1, AAI, 0,
	    TS_OPEN, 1, NULL, NULL, NULL, "DET. J. SMITH", "", -1, "P101",
	    MSG_ER_POLICY, "may send driver photos", 0, NULL, 0 },
	{ "AA picture, state refusing public disclosure: no picture", TP_CJ,
	    1, AAI, 0, TS_NOPUBLIC, 1, NULL, NULL, NULL, "DET. J. SMITH", "",
	    -1, "P140", MSG_ER_POLICY, "state NV does not allow", 0, NULL,
	    NOIMG },
	{ "AA picture, state not sharing photos: no picture", TP_CJ, 1, AAI, 0,
	    TS_NOSHARE, 1, NULL, NULL, NULL, "DET. J. SMITH", "", -1, "P102",
	    MSG_ER_POLICY, "state TX does not share", 0, NULL, NOIMG },
	{ "AA picture, precluding state: allowed, no do-not-retain", TP_CJ, 1,
	    AAI, 0, TS_NORETAIN, 1, NULL, NULL, NULL, "DET. J. SMITH", "", -1,
	    OK, 0, NULL, 0 },
	{ "AA without a picture: no purpose needed", TP_CJ, 1, AA, 0,
	    TS_NOPUBLIC, 0, NULL, NULL, NULL, NULL, NULL, -1, OK, 0, NULL, 0 },
	{ "AA picture without admin authorization", TP_NOADMIN, 1, AAI, 0,
	    TS_OPEN, 1, NULL, NULL, NULL, "DET. J. SMITH", "", -1, "P003",
	    MSG_ER_POLICY, "Amber Alert", 0, NULL, 0 },
	/* An AM's or AML's picture: the photo policy on its purpose. */
	{ "AM picture, no purpose: fishing", TP_CJ, 1, AMI, 0, TS_OPEN, 0,
	    NULL, NULL, NULL, NULL, NULL, -1, "P110", MSG_ER_POLICY,
	    "a picture in an AM must state its purpose", 0, NULL, 0 },
	{ "AML picture, no purpose: fishing", TP_CJ, 1, AMLI, 0, TS_OPEN, 0,
	    NULL, NULL, NULL, NULL, NULL, -1, "P110", MSG_ER_POLICY,
	    "a picture in an AML", 0, NULL, 0 },
	{ "AM picture, unidentified body: allowed", TP_CJ, 1, AMI, 0, TS_OPEN,
	    1, ID, "UNIDENTIFIED-BODY", "BODY FOUND AT MP 12", "", "", -1, OK,
	    0, NULL, 0 },
	{ "AM picture, identification without circumstance", TP_CJ, 1, AMI, 0,
	    TS_OPEN, 1, ID, "UNIDENTIFIED-BODY", "", "", "", -1, "P120",
	    MSG_ER_POLICY, "fishing expedition", 0, NULL, 0 },
	{ "AML picture, show to locate without verifier", TP_CJ, 1, AMLI, 0,
	    TS_OPEN, 1, PD, "SHOW-TO-LOCATE", NULL, "", "", 0, "P141",
	    MSG_ER_POLICY, "verifier", 0, NULL, 0 },
	{ "AML picture, locate suspect: allowed", TP_CJ, 1, AMLI, 0, TS_OPEN,
	    1, SU, "LOCATE-SUSPECT", "ARMED ROBBERY", "", "", 1, OK, 0, NULL,
	    0 },
	{ "AM picture, lineup filler", TP_CJ, 1, AMI, 0, TS_OPEN, 1, LU,
	    "LINEUP-FILLER", NULL, NULL, NULL, -1, "P150", MSG_ER_POLICY,
	    "filler", 0, NULL, 0 },
	{ "AM picture, record use, precluding state: no picture", TP_CJ, 1,
	    AMI, 0, TS_NORETAIN, 1, SU, "RECORD-RMS", "", "", "", -1, "P131",
	    MSG_ER_POLICY, "precludes retention", 0, "24-000123", NOIMG },
	{ "AM picture, state not sharing: no picture", TP_CJ, 1, AMI, 0,
	    TS_NOSHARE, 1, ID, "AMNESIA", "MAN AT HOSPITAL", "", "", -1, "P102",
	    MSG_ER_POLICY, "does not share", 0, NULL, NOIMG },
	{ "AM picture from a non-criminal-justice agency, suspect", TP_NONCJ,
	    1, AMI, 0, TS_OPEN, 1, SU, "LOCATE-SUSPECT", "X", "", "", 1, "P130",
	    MSG_ER_POLICY, "never the public", 0, NULL, 0 },
	{ "AM without a picture, state not sharing", TP_CJ, 1, AM, 0,
	    TS_NOSHARE, 0, NULL, NULL, NULL, NULL, NULL, -1, OK, 0, NULL, 0 },
	{ "AML picture without admin authorization", TP_NOADMIN, 1, AMLI, 0,
	    TS_OPEN, 0, NULL, NULL, NULL, NULL, NULL, -1, "P003",
	    MSG_ER_POLICY, "administrative message", 0, NULL, 0 },
};

/* A stated purpose; NULL texts are empty. */
static void
tp_purpose(struct msg_purpose *p, const char *cat, const char *use,
    const char *cir, const char *cn, const char *ver, const char *war,
    int sus)
{
	memset(p, 0, sizeof *p);
	p->present = 1;
	p->suspect = sus;
	snprintf(p->category, sizeof p->category, "%s", cat ? cat : "");
	snprintf(p->use, sizeof p->use, "%s", use ? use : "");
	snprintf(p->circumstance, sizeof p->circumstance, "%s",
	    cir ? cir : "");
	snprintf(p->case_number, sizeof p->case_number, "%s", cn ? cn : "");
	snprintf(p->verifier, sizeof p->verifier, "%s", ver ? ver : "");
	snprintf(p->warrant, sizeof p->warrant, "%s", war ? war : "");
}

static void
tp_fill(struct msg_purpose *p, const struct tp_case *c)
{
	tp_purpose(p, c->cat, c->use, c->cir, c->cn, c->ver, c->war, c->sus);
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
		r.key = TP_KEY(c->key);
		r.imq = c->imq;
		r.image = TP_IMG(c->key);
		if (c->has_purpose || c->cn != NULL) {
			tp_fill(&p, c);
			r.purpose = &p;
		}
		r.state = c->state == TS_NONE ? NULL : &tp_states[c->state];
		rc = policy_decide(&r, &d);
		if (d.per_dest != (c->action != 0) ||
		    d.dest_action != c->action)
			fprintf(stderr, "\npolicy case \"%s\": per_dest=%d "
			    "action=%d\n", c->name, d.per_dest, d.dest_action);
		CU_ASSERT_EQUAL(d.per_dest, c->action != 0);
		CU_ASSERT_EQUAL(d.dest_action, c->action);
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
		CU_ASSERT_EQUAL(d.image, c->er == 0 &&
		    policy_is_photo_mail(TP_KEY(c->key), TP_IMG(c->key)));
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
	CU_ASSERT(policy_is_photo_mail(MSG_KEY_AA, 1));
	CU_ASSERT(policy_is_photo_mail(MSG_KEY_AML, 1));
	CU_ASSERT(!policy_is_photo_mail(MSG_KEY_AM, 0));
	CU_ASSERT(!policy_is_photo_mail(MSG_KEY_DR, 1));
	CU_ASSERT(!policy_is_photo_mail(MSG_KEY_SM, 1));
}

/*
 * Requests to several states: each state is decided on its own. acts
 * has one letter per state, what it gets: S the request as sent, N the
 * query without the image request, O nothing; codes its policy codes.
 * A sender's rule, or no state that may receive the photo request,
 * refuses the whole (er, code and words of the whole decision).
 */
struct tp_multi {
	const char	*name;
	int		 agency;
	int		 key;
	int		 imq;
	int		 has_purpose;
	const char	*cat, *use, *cir, *cn, *ver;
	int		 sus;
	int		 states[4];
	int		 n;
	/* expected */
	int		 er;
	const char	*code;
	const char	*words;
	const char	*acts;
	const char	*codes;
	int		 photo;
};

static const struct tp_multi tp_multis[] = {
	{ "CA, OR share, TX does not: TX without IMQ", TP_CJ, DQ, 1, 1, ID,
	    "TRAFFIC-STOP", "NO PHOTO ID OFFERED", NULL, NULL, -1,
	    { TS_OPEN, TS_NOSHARE, TS_NORETAIN }, 3, 0, "P000", "allowed",
	    "SNS", "P000 P102 P000", 1 },
	{ "public disclosure: NV left out", TP_CJ, KQ, 1, 1, PD,
	    "MISSING-PERSON", "", NULL, "SISTER", 0,
	    { TS_OPEN, TS_NOPUBLIC, TS_NOSHARE }, 3, 0, "P000", "allowed",
	    "SON", "P000 P140 P102", 1 },
	{ "record attachment: precluding OR left out", TP_CJ, DQ, 1, 1, SU,
	    "RECORD-RMS", "", "24-000123", NULL, -1,
	    { TS_NORETAIN, TS_OPEN }, 2, 0, "P000", "allowed", "OS",
	    "P131 P000", 1 },
	{ "the one state does not share: refused whole", TP_CJ, DQ, 1, 1, ID,
	    "AMNESIA", "FOUND WANDERING", NULL, NULL, -1, { TS_NOSHARE }, 1,
	    MSG_ER_POLICY, "P102", "state TX does not share driver photos",
	    "N", "P102", 0 },
	{ "no state may receive the photo request: refused whole", TP_CJ, DQ,
	    1, 1, PD, "SHOW-TO-LOCATE", "", NULL, "NEIGHBOR", 0,
	    { TS_NOSHARE, TS_NOPUBLIC }, 2, MSG_ER_POLICY, "P102",
	    "also NV P140 public-disclosure-refused", "NO", "P102 P140", 0 },
	{ "the sender's rule refuses whole: no purpose", TP_CJ, DQ, 1, 0,
	    NULL, NULL, NULL, NULL, NULL, -1, { TS_OPEN, TS_NOSHARE }, 2,
	    MSG_ER_POLICY, "P110", "fishing expedition", NULL, NULL, 0 },
	{ "the sender's rule refuses whole: suspect without a case", TP_CJ,
	    DQ, 1, 1, SU, "LOCATE-SUSPECT", "", NULL, NULL, 1,
	    { TS_OPEN, TS_NOSHARE }, 2, MSG_ER_POLICY, "P132", "case number",
	    NULL, NULL, 0 },
	{ "the sender's rule refuses whole: non-criminal-justice", TP_NONCJ,
	    DQ, 1, 1, ID, "TRAFFIC-STOP", "NO ID", NULL, NULL, -1,
	    { TS_OPEN, TS_OPEN }, 2, MSG_ER_POLICY, "P101", "criminal-justice",
	    NULL, NULL, 0 },
	{ "a DNQ asking for images to three states: refused whole", TP_CJ,
	    DNQ, 1, 0, NULL, NULL, NULL, NULL, NULL, -1,
	    { TS_OPEN, TS_NOSHARE, TS_NOPUBLIC }, 3, MSG_ER_POLICY, "P114",
	    "fishing expedition", NULL, NULL, 0 },
	{ "no photo asked: every state gets it", TP_CJ, DQ, 0, 0, NULL, NULL,
	    NULL, NULL, NULL, -1, { TS_OPEN, TS_NOSHARE, TS_NOPUBLIC }, 3, 0,
	    "P000", "allowed", "SSS", "P000 P000 P000", 0 },
	{ "no state reached (SM .01 everywhere)", TP_CJ, DQ, 1, 1, ID,
	    "FALSE-ID", "ALTERED", NULL, NULL, -1, { 0 }, 0, 0, "P000",
	    "allowed", "", "", 0 },
	/* A mail's picture: a state's rule withholds the picture alone
	 * (I); the text goes everywhere, never refused by a state. */
	{ "AA to CA, NV, TX: the picture to CA only", TP_CJ, AAI, 0, 1, NULL,
	    NULL, NULL, NULL, "DET. J. SMITH", -1,
	    { TS_OPEN, TS_NOPUBLIC, TS_NOSHARE }, 3, 0, "P000", "allowed",
	    "SII", "P000 P140 P102", 0 },
	{ "AA to NV alone: sent without the picture, not refused", TP_CJ,
	    AAI, 0, 1, NULL, NULL, NULL, NULL, "DET. J. SMITH", -1, { TS_NOPUBLIC },
	    1, 0, "P000", "allowed", "I", "P140", 0 },
	{ "AA without verifier to three states: refused whole", TP_CJ, AAI, 0,
	    0, NULL, NULL, NULL, NULL, NULL, -1,
	    { TS_OPEN, TS_NOPUBLIC, TS_NORETAIN }, 3, MSG_ER_POLICY, "P141",
	    "verifier", NULL, NULL, 0 },
	{ "AM with a record use: OR without the picture", TP_CJ, AMI, 0, 1, SU,
	    "RECORD-RMS", "", "24-000123", NULL, -1,
	    { TS_NORETAIN, TS_OPEN }, 2, 0, "P000", "allowed", "IS",
	    "P131 P000", 0 },
	{ "AM without a picture: every state gets it", TP_CJ, AM, 0, 0, NULL,
	    NULL, NULL, NULL, NULL, -1, { TS_NOSHARE, TS_NOPUBLIC }, 2, 0,
	    "P000", "allowed", "SS", "P000 P000", 0 },
};

static void
test_policy_dests(void)
{
	struct policy_request	 r;
	struct policy_decision	 whole;
	struct policy_dest	 dd[4];
	struct msg_purpose	 p;
	char			 acts[8], codes[40];
	size_t			 i, k, n;
	int			 rc;

	for (i = 0; i < sizeof tp_multis / sizeof tp_multis[0]; i++) {
		const struct tp_multi *c = &tp_multis[i];

		memset(&r, 0, sizeof r);
		r.line_entitled = 1;
		r.agency = &tp_agencies[c->agency];
		r.ori = r.agency->ori;
		r.key = TP_KEY(c->key);
		r.imq = c->imq;
		r.image = TP_IMG(c->key);
		if (c->has_purpose) {
			tp_purpose(&p, c->cat, c->use, c->cir, c->cn, c->ver,
			    NULL, c->sus);
			r.purpose = &p;
		}
		memset(dd, 0, sizeof dd);
		for (k = 0; k < (size_t)c->n; k++) {
			dd[k].state = &tp_states[c->states[k]];
			dd[k].dest = tp_states[c->states[k]].member;
		}
		rc = policy_decide_dests(&r, dd, c->n, &whole);
		acts[0] = codes[0] = '\0';
		for (k = 0; c->acts != NULL && k < (size_t)c->n; k++) {
			n = strlen(acts);
			acts[n] = dd[k].d.allow ? 'S' :
			    dd[k].d.dest_action == NOIMQ ? 'N' :
			    dd[k].d.dest_action == OMIT ? 'O' :
			    dd[k].d.dest_action == NOIMG ? 'I' : '?';
			acts[n + 1] = '\0';
			n = strlen(codes);
			snprintf(codes + n, sizeof codes - n, "%s%s",
			    k ? " " : "", dd[k].d.code);
		}
		if (rc != c->er || strcmp(whole.code, c->code) != 0 ||
		    strstr(whole.reason, c->words) == NULL ||
		    (c->acts != NULL && (strcmp(acts, c->acts) != 0 ||
		    strcmp(codes, c->codes) != 0)) || whole.photo != c->photo)
			fprintf(stderr, "\npolicy dests \"%s\": got er=%d %s "
			    "\"%s\" acts=%s codes=%s photo=%d\n", c->name, rc,
			    whole.code, whole.reason, acts, codes, whole.photo);
		CU_ASSERT_EQUAL(rc, c->er);
		CU_ASSERT_EQUAL(whole.er, c->er);
		CU_ASSERT_EQUAL(whole.allow, c->er == 0);
		CU_ASSERT_STRING_EQUAL(whole.code, c->code);
		CU_ASSERT_PTR_NOT_NULL(strstr(whole.reason, c->words));
		CU_ASSERT_EQUAL(whole.photo, c->photo);
		/* An allowed mail's picture reaches a state or none. */
		CU_ASSERT_EQUAL(whole.image, c->er == 0 && c->acts != NULL &&
		    strchr(c->acts, 'S') != NULL && TP_IMG(c->key));
		if (c->acts != NULL) {
			CU_ASSERT_STRING_EQUAL(acts, c->acts);
			CU_ASSERT_STRING_EQUAL(codes, c->codes);
		}
	}
	CU_ASSERT_STRING_EQUAL(policy_dest_action_name(NOIMQ), "withheld");
	CU_ASSERT_STRING_EQUAL(policy_dest_action_name(OMIT), "left-out");
	CU_ASSERT_STRING_EQUAL(policy_dest_action_name(NOIMG), "withheld");
	CU_ASSERT_STRING_EQUAL(policy_dest_action_name(POLICY_DEST_SEND),
	    "send");
	CU_ASSERT(policy_is_list_query(MSG_KEY_DNQ));
	CU_ASSERT(!policy_is_list_query(MSG_KEY_DQ));
}

int
test_policy_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("policy", NULL, NULL)) == NULL ||
	    CU_ADD_TEST(s, test_policy_table) == NULL ||
	    CU_ADD_TEST(s, test_policy_every_use) == NULL ||
	    CU_ADD_TEST(s, test_policy_dests) == NULL)
		return -1;
	return 0;
}
