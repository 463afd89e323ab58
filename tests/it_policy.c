/*
 * it_policy - the photo-sharing policy through the running switch
 * (docs/policy.md): every denial is an ER with the policy code and reason
 * and the state receives nothing; every allowed request gets its photo;
 * an unsolicited photo, or one answering a request without IMQ/Y, is
 * removed; a precluding state's photo carries the do-not-retain
 * indicator; a request to several states is decided per state (the
 * states that share get it with IMQ, one that shares no photos without,
 * one that refuses the purpose not at all, and the sender one SM .10.
 * naming them), also across a restart between accept and delivery; an
 * allowed request survives a restart; bin/nlaudit shows the decisions;
 * and after delivery no photo is left in data.mdb.
 *
 * The states are test clients (not nlstate) so the test sees exactly
 * what reached them and can answer with any photo it likes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "it_util.h"
#include "msg.h"
#include "msgbuild.h"
#include "util.h"

#define WAIT		15000
#define TP_PHOTO	24000		/* photo bytes: LMDB overflow pages */

static struct it_env	*env;
static struct it_client	*agy, *ca, *az, *nv, *tx, *ut;
static char		*photo_b64[16];	/* every photo a state sent */
static int		 nphoto;

/* Lines: WAAGY (a criminal-justice ORI, a non-criminal-justice one, one
 * missing from the directory), ORAGY, and five states: CA and AZ share
 * photos freely, NV refuses public disclosure and precludes retention,
 * TX shares no photos, nor does UT, whose line speaks legacy text. */
static const char tp_conf[] =
    "<?xml version=\"1.0\"?>\n"
    "<nlswitch version=\"1\">\n"
    "  <listen address=\"127.0.0.1\" port=\"0\"/>\n"
    "  <portfile>port</portfile>\n"
    "  <datadir>data</datadir>\n"
    "  <pki ca=\"pki/ca.pem\" cert=\"pki/switch.pem\" key=\"pki/switch.key\"/>\n"
    "  <limits heartbeat=\"2\" ack-timeout=\"5\"/>\n"
    "  <admin socket=\"control.sock\" address=\"127.0.0.1\" port=\"0\""
    " portfile=\"admin.port\"/>\n"
    "  <line code=\"WAAGY\" cn=\"waagy\">\n"
    "    <ori>WA0340000</ori><ori>WA034015Y</ori><ori>WA0349999</ori>\n"
    "    <accept>DR KR DNR AM</accept>\n"
    "  </line>\n"
    "  <line code=\"ORAGY\" cn=\"oragy\">\n"
    "    <ori>OR0260000</ori><accept>DR KR DNR AM</accept>\n"
    "  </line>\n"
    "  <line code=\"CADMV\" cn=\"cadmv\" member=\"CA\">\n"
    "    <ori>CAOLN0000</ori><accept>DQ KQ DNQ AM</accept>\n"
    "  </line>\n"
    "  <line code=\"AZDMV\" cn=\"azdmv\" member=\"AZ\">\n"
    "    <ori>AZOLN0000</ori><accept>DQ KQ DNQ</accept>\n"
    "  </line>\n"
    "  <line code=\"NVDMV\" cn=\"nvdmv\" member=\"NV\">\n"
    "    <ori>NVOLN0000</ori><accept>DQ KQ DNQ</accept>\n"
    "    <photo-policy public-disclosure=\"no\" retention=\"precluded\"/>\n"
    "  </line>\n"
    "  <line code=\"TXDMV\" cn=\"txdmv\" member=\"TX\">\n"
    "    <ori>TXOLN0000</ori><accept>DQ KQ DNQ</accept>\n"
    "    <photo-policy share=\"no\"/>\n"
    "  </line>\n"
    "  <line code=\"UTDMV\" cn=\"utdmv\" member=\"UT\" format=\"legacy\">\n"
    "    <ori>UTOLN0000</ori><accept>DQ KQ DNQ</accept>\n"
    "    <photo-policy share=\"no\"/>\n"
    "  </line>\n"
    "  <oridir>oridir.xml</oridir>\n"
    "</nlswitch>\n";

static const char tp_oridir[] =
    "<?xml version=\"1.0\"?>\n"
    "<oridir version=\"1\">\n"
    "  <agency ori=\"WA0340000\" name=\"SEATTLE PD\" type=\"criminal-justice\""
    " auth=\"admin criminal-history dmv\"/>\n"
    "  <agency ori=\"WA034015Y\" name=\"WA LICENSING AUDIT\""
    " type=\"non-criminal-justice\" auth=\"admin dmv\"/>\n"
    "  <agency ori=\"OR0260000\" name=\"PORTLAND PB\" type=\"criminal-justice\""
    " auth=\"admin dmv\"/>\n"
    "  <agency ori=\"CAOLN0000\" name=\"CA DMV\" type=\"non-criminal-justice\""
    " auth=\"admin dmv\"/>\n"
    "  <agency ori=\"AZOLN0000\" name=\"AZ DMV\" type=\"non-criminal-justice\""
    " auth=\"admin dmv\"/>\n"
    "  <agency ori=\"NVOLN0000\" name=\"NV DMV\" type=\"non-criminal-justice\""
    " auth=\"admin dmv\"/>\n"
    "  <agency ori=\"TXOLN0000\" name=\"TX DMV\" type=\"non-criminal-justice\""
    " auth=\"admin dmv\"/>\n"
    "  <agency ori=\"UTOLN0000\" name=\"UT DMV\" type=\"non-criminal-justice\""
    " auth=\"admin dmv\"/>\n"
    "</oridir>\n";

static int
tp_write(const char *name, const char *text)
{
	char	 path[400];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", env->dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, f);
	fclose(f);
	return 0;
}

static int
tp_connect(void)
{
	agy = it_client_new(env, "waagy", WAIT);
	ca = it_client_new(env, "cadmv", WAIT);
	az = it_client_new(env, "azdmv", WAIT);
	nv = it_client_new(env, "nvdmv", WAIT);
	tx = it_client_new(env, "txdmv", WAIT);
	ut = it_client_new(env, "utdmv", WAIT);
	if (!(agy->up && ca->up && az->up && nv->up && tx->up && ut->up))
		fprintf(stderr, "it_policy: connect: %d%d%d%d%d%d %s %s\n",
		    agy->up, ca->up, az->up, nv->up, tx->up, ut->up, agy->why,
		    tx->why);
	return agy->up && ca->up && az->up && nv->up && tx->up && ut->up ?
	    0 : -1;
}

/* The states go away (their copies are then held for them). */
static void
tp_disconnect_states(void)
{
	it_client_free(ca);
	it_client_free(az);
	it_client_free(nv);
	it_client_free(tx);
	it_client_free(ut);
	ca = az = nv = tx = ut = NULL;
}

static void
tp_disconnect(void)
{
	tp_disconnect_states();
	it_client_free(agy);
	agy = NULL;
}

static int
suite_init(void)
{
	char cmd[800];

	if ((env = it_env_new("policy", "")) == NULL)
		return -1;
	snprintf(cmd, sizeof cmd, "%s/tools/nlpki %s txdmv azdmv utdmv "
	    ">/dev/null", env->root, env->pki);
	if (system(cmd) != 0 || tp_write("nlswitch.xml", tp_conf) == -1 ||
	    tp_write("oridir.xml", tp_oridir) == -1)
		return -1;
	if (it_switch_start(env) == -1)
		return -1;
	return tp_connect();
}

static int
suite_clean(void)
{
	int i;

	tp_disconnect();
	it_env_free(env);
	for (i = 0; i < nphoto; i++)
		free(photo_b64[i]);
	return 0;
}

/* A DQ from ori to dest; purpose is the psp:PhotoPurpose body or NULL. */
static const char *
tp_dq(const char *ori, const char *dest, const char *ctl, int imq,
    const char *purpose)
{
	static char buf[4096];

	snprintf(buf, sizeof buf, "%s<n2:ImageRequestIndicator>%s"
	    "</n2:ImageRequestIndicator>%s%s%s", it_oln("X1234567"),
	    imq ? "true" : "false", purpose ? "<psp:PhotoPurpose>" : "",
	    purpose ? purpose : "", purpose ? "</psp:PhotoPurpose>" : "");
	return it_msg("DQ", ori, dest, ctl, buf);
}

#define P(cat, use) "<psp:PurposeCategoryCode>" cat \
	"</psp:PurposeCategoryCode><psp:PurposeUseCode>" use \
	"</psp:PurposeUseCode>"

/* A DR from state sori to ori with CTL; photo adds a new photo. */
static char *
tp_dr(const char *sori, const char *ori, const char *ctl, int photo)
{
	struct msgbuild_driver	 d;
	struct ubuf		 b;
	uint8_t			*img;
	char			*b64;
	size_t			 i, n;

	memset(&d, 0, sizeof d);
	d.person.given = "ANA";
	d.person.surname = "TEST";
	d.person.dob = "1980-01-02";
	d.person.sex = "F";
	d.person.oln = "X1234567";
	d.person.olstate = "CA";
	if (photo && nphoto < 16) {
		img = xmalloc(TP_PHOTO);
		for (i = 0; i < TP_PHOTO; i++)
			img[i] = (uint8_t)(random() >> 7);
		b64 = util_b64_encode(img, TP_PHOTO, &n);
		free(img);
		d.photo_b64 = b64;
		d.photo_b64len = n;
		d.photo_bytes = TP_PHOTO;
		photo_b64[nphoto++] = b64;
	}
	ubuf_init(&b);
	msgbuild_begin(&b, MSG_KEY_DR, sori, &ori, 1, ctl);
	msgbuild_driver(&b, &d);
	msgbuild_end(&b, MSG_KEY_DR);
	return ubuf_take(&b, NULL);
}

/* State st (answering as sori) answers ctl, with a new photo or not;
 * @return the photo's base64 text, or NULL. */
static const char *
tp_answer(struct it_client *st, const char *sori, const char *ctl, int photo)
{
	char		*dr = tp_dr(sori, "WA0340000", ctl, photo);
	uint64_t	 tag = it_client_send(st, dr);

	free(dr);
	CU_ASSERT_EQUAL_FATAL(it_client_wait(st, tag, WAIT), 1);
	return photo ? photo_b64[nphoto - 1] : NULL;
}

/* Send a request; expect a NAK with ER code er naming policy code. */
static void
tp_denied(const char *xml, int er, const char *code, const char *words)
{
	size_t		 nca = ca->ndlv, naz = az->ndlv, nnv = nv->ndlv;
	size_t		 ntx = tx->ndlv;
	uint64_t	 tag = it_client_send(agy, xml);
	const char	*reply;

	CU_ASSERT_EQUAL_FATAL(it_client_wait(agy, tag, WAIT), 2);
	reply = agy->reply[tag];
	CU_ASSERT_EQUAL(it_er(reply), er);
	if (strstr(reply, code) == NULL || strstr(reply, words) == NULL)
		fprintf(stderr, "\nER for %s: %s\n", code, reply);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, code));
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, words));
	/* The request never reached a state. */
	it_pump(env, 150);
	CU_ASSERT_EQUAL(ca->ndlv, nca);
	CU_ASSERT_EQUAL(az->ndlv, naz);
	CU_ASSERT_EQUAL(nv->ndlv, nnv);
	CU_ASSERT_EQUAL(tx->ndlv, ntx);
}

/*
 * Send a request to state st (answering as sori); the state answers with
 * a photo when photo; return the DR the agency got (static copy).
 */
static const char *
tp_exchange(const char *xml, struct it_client *st, const char *sori,
    const char *ctl, int photo)
{
	static char	*got;
	size_t		 nst = st->ndlv, nagy = agy->ndlv;
	uint64_t	 tag = it_client_send(agy, xml);
	char		*dr;

	free(got);
	got = NULL;
	CU_ASSERT_EQUAL_FATAL(it_client_wait(agy, tag, WAIT), 1);
	CU_ASSERT_EQUAL_FATAL(it_client_wait_dlv(st, nst + 1, WAIT), 0);
	CU_ASSERT_STRING_EQUAL(it_field(st->dlv[nst].xml,
	    "DocumentControlFieldText"), ctl);
	dr = tp_dr(sori, "WA0340000", ctl, photo);
	tag = it_client_send(st, dr);
	free(dr);
	CU_ASSERT_EQUAL_FATAL(it_client_wait(st, tag, WAIT), 1);
	CU_ASSERT_EQUAL_FATAL(it_client_wait_dlv(agy, nagy + 1, WAIT), 0);
	got = xstrdup(agy->dlv[nagy].xml);
	return got;
}

static void
test_policy_denials(void)
{
	tp_denied(tp_dq("WA0340000", "CA", "FISH", 1, NULL), MSG_ER_POLICY, "P110",
	    "fishing expedition");
	tp_denied(tp_dq("WA0340000", "CA", "FISH2", 1,
	    P("IDENTIFICATION", "TRAFFIC-STOP")), MSG_ER_POLICY, "P120",
	    "fishing expedition");
	tp_denied(tp_dq("WA0340000", "CA", "WANT1", 1,
	    P("PUBLIC-DISCLOSURE", "WANTED-POSTER")
	    "<psp:VerifierName>DET. J. SMITH</psp:VerifierName>"
	    "<psp:SubjectSuspectIndicator>true</psp:SubjectSuspectIndicator>"), MSG_ER_POLICY,
	    "P142", "arrest warrant");
	tp_denied(tp_dq("WA0340000", "CA", "WANT2", 1,
	    P("PUBLIC-DISCLOSURE", "WANTED-POSTER")
	    "<psp:ArrestWarrantNumber>W-1</psp:ArrestWarrantNumber>"), MSG_ER_POLICY, "P141",
	    "VerifierName");
	tp_denied(tp_dq("WA0340000", "CA", "FILL", 1,
	    P("PHOTO-LINEUP", "LINEUP-FILLER")), MSG_ER_POLICY, "P150", "fillers");
	tp_denied(tp_dq("WA034015Y", "CA", "NONCJ", 1,
	    P("IDENTIFICATION", "AMNESIA")
	    "<psp:CircumstanceText>FOUND</psp:CircumstanceText>"), MSG_ER_POLICY, "P101",
	    "only criminal-justice agencies");
	tp_denied(tp_dq("WA0349999", "CA", "UNK", 0, NULL), MSG_ER_POLICY, "P001",
	    "not in the ORI directory");
	tp_denied(tp_dq("OR0260000", "CA", "LINE", 0, NULL), MSG_ER_ORI, "P002",
	    "may not originate");
	tp_denied(tp_dq("WA0340000", "TX", "TXNO", 1,
	    P("IDENTIFICATION", "TRAFFIC-STOP")
	    "<psp:CircumstanceText>NO ID</psp:CircumstanceText>"), MSG_ER_POLICY, "P102",
	    "state TX does not share driver photos");
	tp_denied(tp_dq("WA0340000", "NV", "NVPUB", 1,
	    P("PUBLIC-DISCLOSURE", "MISSING-PERSON")
	    "<psp:VerifierName>SISTER</psp:VerifierName>"), MSG_ER_POLICY, "P140",
	    "state NV does not allow public-disclosure");
	tp_denied(tp_dq("WA0340000", "NV", "NVREC", 1,
	    P("SUSPECT", "RECORD-RMS")
	    "<psp:CaseNumberText>24-000123</psp:CaseNumberText>"),
	    MSG_ER_POLICY, "P131", "precludes retention");
	/* No state may receive the photo request: refused as a whole, the
	 * ER names every state's rule. */
	tp_denied(tp_dq("WA0340000", "TX NV", "NONE", 1,
	    P("PUBLIC-DISCLOSURE", "MISSING-PERSON")
	    "<psp:VerifierName>SISTER</psp:VerifierName>"), MSG_ER_POLICY,
	    "P102", "also NV P140 public-disclosure-refused");
	/* A suspect purpose with neither a case number nor a
	 * circumstance, to states that share: a fishing expedition. */
	tp_denied(tp_dq("WA0340000", "CA AZ", "SUSP", 1,
	    P("SUSPECT", "LOCATE-SUSPECT")
	    "<psp:SubjectSuspectIndicator>true</psp:SubjectSuspectIndicator>"),
	    MSG_ER_POLICY, "P132", "case number");
	/* A name-only query asking for images: the policy's denial with its
	 * code, not a format error, XML and legacy text alike. */
	tp_denied(it_msg("DNQ", "WA0340000", "CA AZ", "DNQ1",
	    "<n2:Person><nc:PersonName><nc:PersonGivenName>ALEX"
	    "</nc:PersonGivenName><nc:PersonSurName>SAMPLE</nc:PersonSurName>"
	    "</nc:PersonName></n2:Person>"
	    "<n2:ImageRequestIndicator>true</n2:ImageRequestIndicator>"),
	    MSG_ER_POLICY, "P114", "fishing expedition");
	tp_denied("DNQ.WA0340000.CA.AZ.*DNQ2.TXT\nNAM/SAMPLE,ALEX.IMQ/Y",
	    MSG_ER_POLICY, "P114", "list-query-photo");
}

/* The ORI directory reloads with the config, all or nothing. */
static void
test_policy_oridir_reload(void)
{
	char		*with, *p, *out = NULL;
	struct ubuf	 b;
	uint64_t	 tag;
	size_t		 nca;

	tp_denied(tp_dq("WA0349999", "CA", "UNK2", 0, NULL), MSG_ER_POLICY, "P001",
	    "not in the ORI directory");
	/* A broken directory: refused with its FILE:LINE, nothing changes. */
	CU_ASSERT_EQUAL(tp_write("oridir.xml", "<?xml version=\"1.0\"?>\n"
	    "<oridir version=\"1\">\n  <agency ori=\"WA03\"/>\n</oridir>\n"), 0);
	CU_ASSERT_EQUAL(it_sh(env, "bin/nlctl reload", NULL, &out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "oridir.xml:3:"));
	free(out);
	tp_denied(tp_dq("WA0349999", "CA", "UNK3", 0, NULL), MSG_ER_POLICY, "P001",
	    "not in the ORI directory");
	/* The agency joins the directory: its queries now pass. */
	with = xstrdup(tp_oridir);
	p = strstr(with, "</oridir>");
	ubuf_init(&b);
	ubuf_add(&b, with, (size_t)(p - with));
	ubuf_adds(&b, "  <agency ori=\"WA0349999\" name=\"NEW UNIT\" "
	    "type=\"criminal-justice\" auth=\"admin dmv\"/>\n</oridir>\n");
	CU_ASSERT_EQUAL(tp_write("oridir.xml", b.data), 0);
	ubuf_free(&b);
	free(with);
	CU_ASSERT_EQUAL(it_sh(env, "bin/nlctl reload", NULL, &out), 0);
	free(out);
	nca = ca->ndlv;
	tag = it_client_send(agy, tp_dq("WA0349999", "CA", "NEW1", 0, NULL));
	CU_ASSERT_EQUAL(it_client_wait(agy, tag, WAIT), 1);
	CU_ASSERT_EQUAL(it_client_wait_dlv(ca, nca + 1, WAIT), 0);
	CU_ASSERT_EQUAL(tp_write("oridir.xml", tp_oridir), 0);
	CU_ASSERT_EQUAL(it_sh(env, "bin/nlctl reload", NULL, &out), 0);
	free(out);
}

static void
test_policy_allowed(void)
{
	const char *dr;

	dr = tp_exchange(tp_dq("WA0340000", "CA", "ID1", 1,
	    P("IDENTIFICATION", "TRAFFIC-STOP")
	    "<psp:CircumstanceText>NO PHOTO ID OFFERED</psp:CircumstanceText>"
	    "<psp:CaseNumberText>24-1</psp:CaseNumberText>"), ca, "CAOLN0000", "ID1",
	    1);
	CU_ASSERT_PTR_NOT_NULL(strstr(dr, photo_b64[nphoto - 1]));
	CU_ASSERT_PTR_NULL(strstr(dr, "DoNotRetainIndicator"));

	dr = tp_exchange(tp_dq("WA0340000", "CA", "WANT3", 1,
	    P("PUBLIC-DISCLOSURE", "WANTED-POSTER")
	    "<psp:VerifierName>DET. J. SMITH</psp:VerifierName>"
	    "<psp:ArrestWarrantNumber>W-2024-42</psp:ArrestWarrantNumber>"
	    "<psp:SubjectSuspectIndicator>true</psp:SubjectSuspectIndicator>"), ca,
	    "CAOLN0000", "WANT3", 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(dr, photo_b64[nphoto - 1]));

	dr = tp_exchange(tp_dq("WA0340000", "CA", "REC1", 1,
	    P("SUSPECT", "RECORD-RMS")
	    "<psp:CaseNumberText>24-000123</psp:CaseNumberText>"), ca,
	    "CAOLN0000", "REC1", 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(dr, photo_b64[nphoto - 1]));

	dr = tp_exchange(tp_dq("WA0340000", "CA", "LINE1", 1,
	    P("PHOTO-LINEUP", "LINEUP-SUSPECT")
	    "<psp:SubjectSuspectIndicator>true</psp:SubjectSuspectIndicator>"), ca,
	    "CAOLN0000", "LINE1", 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(dr, photo_b64[nphoto - 1]));

	/* A precluding state: the switch adds the do-not-retain indicator. */
	dr = tp_exchange(tp_dq("WA0340000", "NV", "NVLOC", 1,
	    P("SUSPECT", "LOCATE-SUSPECT")
	    "<psp:CircumstanceText>ARMED ROBBERY</psp:CircumstanceText>"), nv,
	    "NVOLN0000", "NVLOC", 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(dr, photo_b64[nphoto - 1]));
	CU_ASSERT_PTR_NOT_NULL(strstr(dr, "</nc:PersonDigitalImage>"
	    "<psp:DoNotRetainIndicator xmlns:psp=\"" MSG_NS_PSP "\">true"
	    "</psp:DoNotRetainIndicator>"));
}

static void
test_policy_strip(void)
{
	const char	*dr;
	size_t		 n;

	/* Answer to a request without IMQ/Y: the photo is removed. */
	dr = tp_exchange(tp_dq("WA0340000", "CA", "NOIMQ", 0, NULL), ca,
	    "CAOLN0000", "NOIMQ", 1);
	CU_ASSERT_PTR_NULL(strstr(dr, "PersonDigitalImage"));
	CU_ASSERT_PTR_NULL(strstr(dr, photo_b64[nphoto - 1]));
	CU_ASSERT_PTR_NOT_NULL(strstr(dr, "<nc:IdentificationID>X1234567"));

	/* Unsolicited: nobody asked. */
	n = agy->ndlv;
	tp_answer(ca, "CAOLN0000", "UNSOL", 1);
	CU_ASSERT_EQUAL_FATAL(it_client_wait_dlv(agy, n + 1, WAIT), 0);
	CU_ASSERT_PTR_NULL(strstr(agy->dlv[n].xml, "PersonDigitalImage"));
	CU_ASSERT_STRING_EQUAL(it_field(agy->dlv[n].xml,
	    "DocumentControlFieldText"), "UNSOL");

	/* A second answer to an answered request: unsolicited too. */
	n = agy->ndlv;
	tp_answer(ca, "CAOLN0000", "ID1", 1);
	CU_ASSERT_EQUAL_FATAL(it_client_wait_dlv(agy, n + 1, WAIT), 0);
	CU_ASSERT_PTR_NULL(strstr(agy->dlv[n].xml, "PersonDigitalImage"));
}

static int
tp_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/*
 * nlaudit output with at least min lines, asked again (the loop running
 * meanwhile) until the time is up: a delivery is audited when the
 * switch commits its DACK, a moment after the endpoint sent it.
 */
static char *
tp_nlaudit_min(const char *args, int min)
{
	uint64_t	 end = util_mono_us() + (uint64_t)WAIT * 1000;
	char		*out = it_nlaudit(env, args);

	while (tp_lines(out) < min && util_mono_us() < end) {
		free(out);
		it_pump(env, 50);
		out = it_nlaudit(env, args);
	}
	return out;
}

/*
 * The record nlaudit args prints that holds n1 and n2, asked again until
 * the time is up (a delivery is audited when its DACK commits); static
 * copy, "" if none.
 */
static const char *
tp_audit_rec(const char *args, const char *n1, const char *n2)
{
	static char	 rec[8192];
	uint64_t	 end = util_mono_us() + (uint64_t)WAIT * 1000;
	char		*out, *p, *e;

	for (;;) {
		out = it_nlaudit(env, args);
		for (p = out; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
			if ((e = strchr(p, '\n')) == NULL)
				e = p + strlen(p);
			if ((size_t)(e - p) >= sizeof rec)
				continue;
			memcpy(rec, p, (size_t)(e - p));
			rec[e - p] = '\0';
			if (strstr(rec, n1) != NULL &&
			    strstr(rec, n2) != NULL) {
				free(out);
				return rec;
			}
		}
		free(out);
		rec[0] = '\0';
		if (util_mono_us() >= end)
			return rec;
		it_pump(env, 50);
	}
}

/* The SM of status code with control field ctl that t got, waiting up
 * to WAIT for it; NULL if none came. */
static struct it_dlv *
tp_find_sm(struct it_client *t, const char *ctl, int code)
{
	uint64_t	end = util_mono_us() + (uint64_t)WAIT * 1000;
	size_t		i;

	for (;;) {
		for (i = 0; i < t->ndlv; i++)
			if (it_sm(t->dlv[i].xml) == code &&
			    strcmp(it_field(t->dlv[i].xml,
			    "DocumentControlFieldText"), ctl) == 0)
				return &t->dlv[i];
		if (util_mono_us() >= end)
			return NULL;
		it_pump(env, 20);
	}
}

/* How many SMs of status code with control field ctl t got so far. */
static int
tp_count_sm(struct it_client *t, const char *ctl, int code)
{
	size_t	i;
	int	n = 0;

	for (i = 0; i < t->ndlv; i++)
		if (it_sm(t->dlv[i].xml) == code && strcmp(it_field(
		    t->dlv[i].xml, "DocumentControlFieldText"), ctl) == 0)
			n++;
	return n;
}

/*
 * The DQ with ctl that state st got: with the image request and its
 * purpose (imq), or without either; the rest of the query as sent.
 */
static void
tp_got_query(struct it_client *st, const char *ctl, int imq)
{
	struct it_dlv *d = it_find(st, "DQ", ctl, WAIT);

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	if ((strstr(d->xml, "ImageRequestIndicator") != NULL) != imq)
		fprintf(stderr, "\n%s got:\n%s\n", ctl, d->xml);
	CU_ASSERT_EQUAL(strstr(d->xml, "<n2:ImageRequestIndicator>true"
	    "</n2:ImageRequestIndicator>") != NULL, imq);
	CU_ASSERT_EQUAL(strstr(d->xml, "ImageRequestIndicator") != NULL, imq);
	CU_ASSERT_EQUAL(strstr(d->xml, "PhotoPurpose") != NULL, imq);
	CU_ASSERT_EQUAL(strstr(d->xml, "CircumstanceText") != NULL, imq);
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "IdentificationID"),
	    "X1234567");
}

/* The DR from state sori with ctl the agency got, waiting; NULL if none. */
static const char *
tp_find_dr(const char *ctl, const char *sori)
{
	uint64_t	end = util_mono_us() + (uint64_t)WAIT * 1000;
	size_t		i;

	for (;;) {
		for (i = 0; i < agy->ndlv; i++)
			if (strcmp(it_field(agy->dlv[i].xml,
			    "MessageKeyCodeText"), "DR") == 0 &&
			    strcmp(it_field(agy->dlv[i].xml,
			    "DocumentControlFieldText"), ctl) == 0 &&
			    strcmp(it_field(agy->dlv[i].xml,
			    "OriginatingORIID"), sori) == 0)
				return agy->dlv[i].xml;
		if (util_mono_us() >= end)
			return NULL;
		it_pump(env, 20);
	}
}

/* The legacy delivery st got whose first line starts with head, waiting
 * for it (static copy, "" if none came). */
static const char *
tp_legacy_dlv(struct it_client *st, const char *head)
{
	static char	 text[8192];
	uint64_t	 end = util_mono_us() + (uint64_t)WAIT * 1000;
	size_t		 i;

	for (;;) {
		for (i = 0; i < st->ndlv; i++)
			if (strncmp(st->dlv[i].xml, head, strlen(head)) == 0) {
				util_strlcpy(text, st->dlv[i].xml, sizeof text);
				return text;
			}
		if (util_mono_us() >= end)
			break;
		it_pump(env, 20);
	}
	text[0] = '\0';
	CU_FAIL("no legacy delivery");
	return text;
}

/* The text of the SM .10. with ctl the agency got (static copy). */
static const char *
tp_notice(const char *ctl)
{
	static char	 text[8192];
	struct it_dlv	*d = tp_find_sm(agy, ctl, 10);

	text[0] = '\0';
	CU_ASSERT_PTR_NOT_NULL(d);
	if (d != NULL)
		util_strlcpy(text, it_field(d->xml, "StatusMessageText"),
		    sizeof text);
	return text;
}

/*
 * The three-state exchange of ctl: CA and AZ got the request with IMQ
 * and answer with photos, which reach the agency; TX got it without and
 * answers, with a photo when tx_photo: the switch removes it (TX owes
 * none), so the agency gets TX's answer without a photo either way.
 */
static void
tp_three_states(const char *ctl, int tx_photo)
{
	const struct {
		struct it_client	*st;
		const char		*ori;
		int			 imq;
	} s[] = { { ca, "CAOLN0000", 1 }, { az, "AZOLN0000", 1 },
	    { tx, "TXOLN0000", 0 } };
	const char	*photo[3], *dr;
	size_t		 i;

	for (i = 0; i < 3; i++)
		tp_got_query(s[i].st, ctl, s[i].imq);
	for (i = 0; i < 3; i++)
		photo[i] = tp_answer(s[i].st, s[i].ori, ctl, s[i].imq ||
		    tx_photo);
	for (i = 0; i < 3; i++) {
		dr = tp_find_dr(ctl, s[i].ori);
		CU_ASSERT_PTR_NOT_NULL_FATAL(dr);
		CU_ASSERT_STRING_EQUAL(it_field(dr, "IdentificationID"),
		    "X1234567");
		if (s[i].imq) {
			CU_ASSERT_PTR_NOT_NULL(strstr(dr, photo[i]));
		} else {
			CU_ASSERT_PTR_NULL(strstr(dr, "PersonDigitalImage"));
		}
	}
}

#define TP_ID_PURPOSE	P("IDENTIFICATION", "TRAFFIC-STOP") \
	"<psp:CircumstanceText>NO PHOTO ID OFFERED</psp:CircumstanceText>" \
	"<psp:CaseNumberText>24-7</psp:CaseNumberText>"

/*
 * A photo request to three states, two that share photos and one that
 * does not: CA and AZ get it with IMQ and answer with photos, TX gets
 * the query without the image request and answers without a photo; the
 * agency gets the ACK, the three answers and one SM .10. naming TX and
 * why. Then public disclosure to CA and NV: NV (refusing it) is left
 * out.
 */
static void
test_policy_per_dest(void)
{
	const char	*text, *dr, *pca;
	uint64_t	 tag;

	tag = it_client_send(agy, tp_dq("WA0340000", "CA AZ TX", "PD1", 1,
	    TP_ID_PURPOSE));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(agy, tag, WAIT), 1);

	text = tp_notice("PD1");
	if (strstr(text, "TX SENT WITHOUT THE IMAGE REQUEST: P102 "
	    "state-no-photos: state TX does not share driver photos") == NULL)
		fprintf(stderr, "\nSM .10.: %s\n", text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, ".10. PHOTO REQUEST PARTLY "
	    "DENIED BY PHOTO-SHARING POLICY"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "MSG TYPE DQ, MESSAGE "));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "TX SENT WITHOUT THE IMAGE "
	    "REQUEST: P102 state-no-photos: state TX does not share driver "
	    "photos"));
	CU_ASSERT_PTR_NULL(strstr(text, "\nCA "));
	CU_ASSERT_PTR_NULL(strstr(text, "\nAZ "));
	tp_three_states("PD1", 0);
	/* One notice, and only the one. */
	CU_ASSERT_EQUAL(tp_count_sm(agy, "PD1", 10), 1);

	/* NV refuses public disclosure: left out, CA gets the request. */
	tag = it_client_send(agy, tp_dq("WA0340000", "CA NV", "PD2", 1,
	    P("PUBLIC-DISCLOSURE", "MISSING-PERSON")
	    "<psp:VerifierName>SISTER OF THE MISSING</psp:VerifierName>"));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(agy, tag, WAIT), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(it_find(ca, "DQ", "PD2", WAIT));
	text = tp_notice("PD2");
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "NV NOT SENT: P140 "
	    "public-disclosure-refused: state NV does not allow "
	    "public-disclosure purposes"));
	pca = tp_answer(ca, "CAOLN0000", "PD2", 1);
	dr = tp_find_dr("PD2", "CAOLN0000");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dr);
	CU_ASSERT_PTR_NOT_NULL(strstr(dr, pca));
	CU_ASSERT_EQUAL(it_count(nv, "DQ", "PD2"), 0);

	/* A state whose line speaks legacy text: the rendering has no IMQ/
	 * and no photo-purpose field either. */
	tag = it_client_send(agy, tp_dq("WA0340000", "CA UT", "PD3", 1,
	    TP_ID_PURPOSE));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(agy, tag, WAIT), 1);
	tp_got_query(ca, "PD3", 1);
	text = tp_legacy_dlv(ut, "DQ.WA0340000.*PD3");
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "OLN/X1234567"));
	CU_ASSERT_PTR_NULL(strstr(text, "IMQ/"));
	CU_ASSERT_PTR_NULL(strstr(text, "IPU/"));
	CU_ASSERT_PTR_NULL(strstr(text, "ICI/"));
	CU_ASSERT_PTR_NULL(strstr(text, "ICN/"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tp_notice("PD3"), "UT SENT WITHOUT THE "
	    "IMAGE REQUEST: P102 state-no-photos: state UT does not share "
	    "driver photos"));

	/* The audit: one decision per destination, the lines that owe a
	 * photo, the notice; TX's delivery without the image request. */
	text = tp_audit_rec("--event accepted --mke DQ", "\"ctl\":\"PD1\"",
	    "\"decisions\"");
	if (strstr(text, "\"copies\":3") == NULL)
		fprintf(stderr, "\naccepted PD1: %s\n", text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"decisions\":["
	    "{\"dest\":\"CA\",\"line\":\"CADMV\",\"decision\":\"allow\","
	    "\"code\":\"P000\",\"rule\":\"allowed\"},"
	    "{\"dest\":\"AZ\",\"line\":\"AZDMV\",\"decision\":\"allow\","
	    "\"code\":\"P000\",\"rule\":\"allowed\"},"
	    "{\"dest\":\"TX\",\"line\":\"TXDMV\",\"decision\":\"withheld\","
	    "\"code\":\"P102\",\"rule\":\"state-no-photos\"}]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"notice\":\"SM .10.\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"await\":\"CADMV AZDMV\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"copies\":3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"reason\":\"photo request "
	    "allowed for 2 of 3 destinations; TX without the image request "
	    "(P102)\""));
	text = tp_audit_rec("--event accepted --mke DQ", "\"ctl\":\"PD2\"",
	    "\"decisions\"");
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "{\"dest\":\"NV\",\"line\":"
	    "\"NVDMV\",\"decision\":\"left-out\",\"code\":\"P140\","
	    "\"rule\":\"public-disclosure-refused\"}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"await\":\"CADMV\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"copies\":1"));
	text = tp_audit_rec("--event delivered --mke DQ", "\"ctl\":\"PD1\"",
	    "\"line\":\"TXDMV\"");
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"imq\":\"withheld\""));
	text = tp_audit_rec("--event delivered --mke DQ", "\"ctl\":\"PD1\"",
	    "\"line\":\"CADMV\"");
	CU_ASSERT_PTR_NOT_NULL(text[0] != '\0' ? text : NULL);
	CU_ASSERT_PTR_NULL(strstr(text, "\"imq\""));
	/* nlaudit finds them by a destination's decision too. */
	text = tp_audit_rec("--decision withheld", "\"ctl\":\"PD1\"",
	    "\"event\":\"accepted\"");
	CU_ASSERT_STRING_NOT_EQUAL(text, "");
	text = tp_audit_rec("--decision left-out", "\"ctl\":\"PD2\"",
	    "\"event\":\"accepted\"");
	CU_ASSERT_STRING_NOT_EQUAL(text, "");
}

/*
 * A restart between accept and delivery changes nothing: with the
 * states down the request is stored (SM .02. for each, and the SM .10.),
 * the switch is killed, and after the restart CA and AZ get it with
 * IMQ, TX without; the photo TX sends anyway is removed (only CA and AZ
 * owe one), and no second notice comes.
 */
static void
test_policy_per_dest_restart(void)
{
	char		*out;
	uint64_t	 tag;
	int		 nsm;

	tp_disconnect_states();
	out = it_nlaudit(env, "--event delivered --mke SM");
	nsm = tp_lines(out);
	free(out);
	tag = it_client_send(agy, tp_dq("WA0340000", "CA AZ TX", "PDR", 1,
	    TP_ID_PURPOSE));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(agy, tag, WAIT), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(tp_notice("PDR"), "TX SENT WITHOUT "
	    "THE IMAGE REQUEST: P102"));
	CU_ASSERT_EQUAL(tp_count_sm(agy, "PDR", MSG_SM_HELD), 3);
	/* The notices' deliveries are committed: none comes back after the
	 * restart as a redelivery. */
	out = tp_nlaudit_min("--event delivered --mke SM", nsm + 4);
	CU_ASSERT(tp_lines(out) >= nsm + 4);
	free(out);

	it_switch_stop(env, SIGKILL);
	tp_disconnect();
	CU_ASSERT_EQUAL_FATAL(it_switch_start(env), 0);
	CU_ASSERT_EQUAL_FATAL(tp_connect(), 0);
	tp_three_states("PDR", 1);
	CU_ASSERT_EQUAL(tp_count_sm(agy, "PDR", 10), 0);
}

/* An allowed request still gets its photo when the switch restarted
 * between the request and the answer. */
static void
test_policy_restart(void)
{
	uint64_t	 tag;
	size_t		 n;

	n = ca->ndlv;
	tag = it_client_send(agy, tp_dq("WA0340000", "CA", "RST1", 1,
	    P("IDENTIFICATION", "UNIDENTIFIED-BODY")
	    "<psp:CircumstanceText>BODY AT PIER 4</psp:CircumstanceText>"));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(agy, tag, WAIT), 1);
	CU_ASSERT_EQUAL_FATAL(it_client_wait_dlv(ca, n + 1, WAIT), 0);
	it_pump(env, 300);
	tp_disconnect();
	it_switch_stop(env, SIGTERM);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(env), 0);
	CU_ASSERT_EQUAL_FATAL(tp_connect(), 0);
	n = agy->ndlv;
	tp_answer(ca, "CAOLN0000", "RST1", 1);
	CU_ASSERT_EQUAL_FATAL(it_client_wait_dlv(agy, n + 1, WAIT), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(agy->dlv[n].xml,
	    photo_b64[nphoto - 1]));
}

static void
test_policy_audit(void)
{
	char	*out;
	int	 i;

	/* While the switch runs: LMDB readers do not block the writer. */
	/* 15 denials of test_policy_denials, 2 of the reload test. */
	out = it_nlaudit(env, "--decision deny");
	CU_ASSERT_EQUAL(tp_lines(out), 17);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"code\":\"P110\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"code\":\"P142\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"reason\":\"P102 state-no-photos"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"code\":\"P114\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"code\":\"P132\""));
	/* Refused whole because no state may get it: each state's rule. */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "{\"dest\":\"NV\",\"line\":"
	    "\"NVDMV\",\"decision\":\"deny\",\"code\":\"P140\","));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"outcome\":\"nak\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out,
	    "\"purpose\":{\"category\":\"PUBLIC-DISCLOSURE\""));
	free(out);

	out = it_nlaudit(env, "--event accepted --mke DQ --decision allow");
	CU_ASSERT(tp_lines(out) >= 6);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"await\":\"CADMV\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"use\":\"WANTED-POSTER\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"warrant\":\"W-2024-42\""));
	free(out);

	/* 3 of test_policy_strip, TX's of test_policy_per_dest_restart. */
	out = it_nlaudit(env, "--event photo-stripped");
	CU_ASSERT_EQUAL(tp_lines(out), 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "P201 photo-unsolicited"));
	free(out);

	/* The requests reached the states, the answers the agency. */
	out = tp_nlaudit_min("--ori WA0340000 --event delivered --mke DQ", 7);
	CU_ASSERT(tp_lines(out) >= 7);
	free(out);
	out = tp_nlaudit_min("--event delivered --mke DR", 9);
	CU_ASSERT(tp_lines(out) >= 9);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "the switch keeps no copy"));
	free(out);

	/* The whole trail: no image bytes anywhere. */
	out = it_nlaudit(env, "--since 2000-01-01");
	CU_ASSERT(tp_lines(out) > 30);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"event\":\"audit-pruned\""));
	for (i = 0; i < nphoto; i++)
		CU_ASSERT_PTR_NULL(strstr(out, photo_b64[i] + 1000));
	free(out);
	out = it_nlaudit(env, "--until 2000-01-01");
	CU_ASSERT_EQUAL(tp_lines(out), 0);
	free(out);
}

/* 1 if the file holds any 64-byte piece of any photo (base64 text). */
static int
tp_file_has_photo(const char *name)
{
	char	 path[400], *data;
	size_t	 len, off;
	int	 i, found = 0;

	snprintf(path, sizeof path, "%s/%s", env->dir, name);
	if ((data = util_read_file(path, &len)) == NULL)
		return -1;
	for (i = 0; i < nphoto && !found; i++)
		for (off = 0; off + 64 <= strlen(photo_b64[i]) && !found;
		    off += 4096)
			found = memmem(data, len, photo_b64[i] + off, 64) !=
			    NULL;
	free(data);
	return found;
}

static void
test_policy_no_photo_left(void)
{
	/* Every delivery was acknowledged; let the deletes commit. */
	it_pump(env, 500);
	CU_ASSERT_EQUAL(tp_file_has_photo("data/data.mdb"), 0);
	CU_ASSERT_EQUAL(tp_file_has_photo("nlswitchd.log"), 0);
	tp_disconnect();
	it_switch_stop(env, SIGTERM);
	CU_ASSERT_EQUAL(tp_file_has_photo("data/data.mdb"), 0);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("it_policy", suite_init, suite_clean);
	if (s == NULL ||
	    CU_ADD_TEST(s, test_policy_denials) == NULL ||
	    CU_ADD_TEST(s, test_policy_oridir_reload) == NULL ||
	    CU_ADD_TEST(s, test_policy_allowed) == NULL ||
	    CU_ADD_TEST(s, test_policy_strip) == NULL ||
	    CU_ADD_TEST(s, test_policy_per_dest) == NULL ||
	    CU_ADD_TEST(s, test_policy_per_dest_restart) == NULL ||
	    CU_ADD_TEST(s, test_policy_restart) == NULL ||
	    CU_ADD_TEST(s, test_policy_audit) == NULL ||
	    CU_ADD_TEST(s, test_policy_no_photo_left) == NULL)
		return 1;
	return it_run_suites();
}
