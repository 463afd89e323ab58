/*
 * test_legacy - CUnit suite for switch/legacy.c, the Nlets legacy text
 * format and its Nlets NIEM XML counterpart: the field table, every
 * field prefix, the XML each legacy message becomes, the field
 * terminator (the last field needs no period, a line end ends a field),
 * CR, LF and DEL ignored, DOB/ ccyymmdd and mmddyy (the century rule),
 * the NAM/ split, headers and fields in error with their ER number and
 * their position in the text, several errors in one message and their
 * order, the output header of a delivered message, XML -> legacy
 * rendering and round trips both ways for every message key, the photo
 * note, free-text responses, ER texts, every legacy fixture, and mapping
 * msgparse's xpaths back to the text.
 *
 * The validator's verdicts on the fixtures (and the --policy dry-run)
 * are tested on the real binary in tests/it_validate.c.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "legacy.h"
#include "msg.h"
#include "msgbuild.h"
#include "msgparse.h"
#include "unit.h"
#include "util.h"

int	test_legacy_register(void);

static struct msgparse_schema	*tl_schema;

/* Every message key, as a mask of 1 << key. */
#define TL_ALL_KEYS	(((1u << MSG_KEY_MAX) - 1) & ~1u)

/*
 * XML documents written by hand (not by msgbuild): the envelope with the
 * prefixes Nlets uses, a header, text elements.
 */
#define TL_NS	" xmlns:n2=\"" MSG_NS_N2 "\" xmlns:nh2=\"" MSG_NS_NH2 "\"" \
		" xmlns:n2c=\"" MSG_NS_N2C "\" xmlns:nc=\"" MSG_NS_NC "\"" \
		" xmlns:j=\"" MSG_NS_J "\" xmlns:psp=\"" MSG_NS_PSP "\""
#define TL_ROOT	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
		"<n2:NLETS" TL_NS " n2:version=\"4.00\">\n"
#define TL_END	"</n2:NLETS>\n"
#define TL_E(el, v)	"<" el ">" v "</" el ">"
#define TL_H(k, ori)	"<n2:NLETSMessageHeader>" \
		TL_E("nh2:MessageKeyCodeText", k) \
		TL_E("nh2:OriginatingORIID", ori)
#define TL_D(d)		TL_E("nh2:DestinationORIID", d)
#define TL_C(c)		TL_E("nh2:DocumentControlFieldText", c)
#define TL_HEND		"</n2:NLETSMessageHeader>\n"
#define TL_DATE(el, v)	"<" el "><nc:Date>" v "</nc:Date></" el ">"
#define TL_NAME(g, m, s) "<nc:PersonName>" TL_E("nc:PersonGivenName", g) \
		TL_E("nc:PersonMiddleName", m) TL_E("nc:PersonSurName", s) \
		"</nc:PersonName>"
#define TL_LIC(oln, st)	"<nc:DriverLicenseIdentification>" \
		TL_E("nc:IdentificationID", oln) \
		TL_E("nc:IdentificationJurisdictionText", st) \
		"</nc:DriverLicenseIdentification>"
#define TL_AUG(x)	"<j:PersonAugmentation><nc:DriverLicense>" x \
		"</nc:DriverLicense></j:PersonAugmentation>"
#define TL_Q(x)		"<n2:NLETSInquiryData>" x "</n2:NLETSInquiryData>\n"
#define TL_R(x)		"<n2:NLETSResponseData>" x "</n2:NLETSResponseData>\n"
#define TL_M(k, x)	"<n2:NLETSMailData n2:key=\"" k "\">" x \
		"</n2:NLETSMailData>\n"
/* A photo of 12 bytes (not a real JPEG: msgparse checks base64, size). */
#define TL_PHOTO	"<nc:PersonDigitalImage>" \
		TL_E("nc:BinaryBase64Object", "/9j/4AAQSkZJRgABAQ==") \
		TL_E("nc:BinaryFormatID", "image/jpeg") \
		TL_E("nc:BinarySizeValue", "0.01") "</nc:PersonDigitalImage>"
#define TL_PHOTO_NOTE	"IMG/NOT AVAILABLE IN TEXT FORMAT - 13 BYTES JPEG."

/*
 * Helpers.
 */

static int
tl_init(void)
{
	tl_schema = unit_schema_load("test_legacy");
	return tl_schema == NULL;
}

static int
tl_cleanup(void)
{
	msgparse_schema_free(tl_schema);
	tl_schema = NULL;
	return 0;
}

static void
tl_dump(const char *what, const struct msg_diags *d)
{
	int	 i;

	for (i = 0; i < d->n; i++)
		fprintf(stderr, "\n  %s: %d:%d %s: %s [ER .%02d.]", what,
		    d->d[i].line, d->d[i].col, d->d[i].xpath, d->d[i].text,
		    d->d[i].code);
}

/* The text of a buffer (a ubuf keeps a NUL after its bytes), "" when
 * nothing was ever added. */
static const char *
tl_str(const struct ubuf *b)
{
	return b->data != NULL ? b->data : "";
}

/* legacy_parse of a NUL-terminated text, no size limit. */
static int
tl_parse(const char *text, int flags, struct ubuf *x, struct msg *m,
    struct msg_diags *d)
{
	return legacy_parse(tl_schema, text, strlen(text), 0, flags, x, m, d);
}

/* The legacy rendering of xml (new string), or NULL after a failure. */
static char *
tl_render(const char *what, const char *xml, size_t len, const char *recv)
{
	struct ubuf	 t;
	char		*cause = NULL;

	ubuf_init(&t);
	if (legacy_from_xml(tl_schema, xml, len, recv, &t, &cause) != 0) {
		fprintf(stderr, "\n  %s: legacy_from_xml: %s", what, cause);
		free(cause);
		ubuf_free(&t);
		CU_FAIL("legacy_from_xml refused the message");
		return NULL;
	}
	return ubuf_take(&t, NULL);
}

/*
 * want without the period that ends its last field (Nlets: a message does
 * not end with a period; the renderer leaves it out), a new string.
 */
static char *
tl_no_last_period(const char *want)
{
	char	*c = xstrdup(want);
	size_t	 n = strlen(c);

	while (n > 0 && c[n - 1] == '\n')
		n--;
	if (n >= 2 && c[n - 1] == '.' && c[n - 2] != '.')
		memmove(c + n - 1, c + n, strlen(c + n) + 1);
	return c;
}

/*
 * Compare a rendering with the text it should be; print both when they
 * differ. The text may be written with the last field's period: the
 * rendering has none (test_legacy_no_final_period checks that it never
 * has one).
 */
static int
tl_same_text(const char *what, const char *want, const char *got)
{
	char	*w;
	int	 same;

	if (want != NULL && got != NULL && strcmp(want, got) == 0)
		return 1;
	if (want != NULL && got != NULL) {
		w = tl_no_last_period(want);
		same = strcmp(w, got) == 0;
		free(w);
		if (same)
			return 1;
	}
	fprintf(stderr, "\n  %s: want\n%s\n  got\n%s", what,
	    want ? want : "(null)", got ? got : "(null)");
	return 0;
}

/*
 * Two parses of one message say the same: everything struct msg carries
 * (the photo fields only when photo is set: text loses the photo).
 */
static void
tl_same_msg(const char *what, const struct msg *a, const struct msg *b,
    int photo)
{
	const struct msg_purpose	*p = &a->purpose, *q = &b->purpose;
	int				 i, same;

	same = a->key == b->key && strcmp(a->ori, b->ori) == 0 &&
	    a->ndest == b->ndest && strcmp(a->ctl, b->ctl) == 0 &&
	    memcmp(&a->person, &b->person, sizeof a->person) == 0 &&
	    a->imq == b->imq && strcmp(a->rsn, b->rsn) == 0 &&
	    strcmp(a->pur, b->pur) == 0 && strcmp(a->atn, b->atn) == 0 &&
	    a->not_on_file == b->not_on_file &&
	    a->nrecords == b->nrecords && a->status == b->status;
	same = same && p->present == q->present &&
	    strcmp(p->category, q->category) == 0 &&
	    strcmp(p->use, q->use) == 0 &&
	    strcmp(p->circumstance, q->circumstance) == 0 &&
	    strcmp(p->case_number, q->case_number) == 0 &&
	    strcmp(p->verifier, q->verifier) == 0 &&
	    strcmp(p->warrant, q->warrant) == 0 && p->suspect == q->suspect;
	if (photo)
		same = same && a->has_photo == b->has_photo &&
		    a->photo_len == b->photo_len && a->nphotos == b->nphotos;
	for (i = 0; same && i < a->ndest; i++)
		same = strcmp(a->dest[i], b->dest[i]) == 0;
	if (!same)
		fprintf(stderr, "\n  %s: the two parses differ", what);
	CU_ASSERT(same);
}

/* Files of a fixture directory with the given suffix (NULL-terminated). */
static char **
tl_list(const char *rel, const char *suffix)
{
	DIR		*dir;
	struct dirent	*de;
	char		**v = NULL;
	size_t		 n = 0, l;

	if ((dir = opendir(unit_path(rel))) == NULL)
		return xcalloc(1, sizeof *v);
	while ((de = readdir(dir)) != NULL) {
		l = strlen(de->d_name);
		if (l <= strlen(suffix) ||
		    strcmp(de->d_name + l - strlen(suffix), suffix) != 0)
			continue;
		v = xrealloc(v, (n + 2) * sizeof *v);
		v[n++] = xasprintf("%s/%s", rel, de->d_name);
	}
	closedir(dir);
	if (v == NULL)
		v = xcalloc(1, sizeof *v);
	v[n] = NULL;
	return v;
}

static void
tl_list_free(char **v)
{
	size_t	 i;

	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * A legacy fixture: its text after the leading '#' comment lines, and
 * the expectation of its first line ("# expect: 05 maxlen: 64", "#
 * expect: valid"): want -1 when there is none, 0 valid, else the ER.
 */
struct tl_fixture {
	char		*buf;
	const char	*text;
	int		 want;
	size_t		 maxlen;
};

static int
tl_fixture_read(const char *rel, struct tl_fixture *f)
{
	const char	*p;
	size_t		 len;

	memset(f, 0, sizeof *f);
	f->want = -1;
	if ((f->buf = util_read_file(unit_path(rel), &len)) == NULL)
		return -1;
	p = strstr(f->buf, "expect: ");
	if (p != NULL && p - f->buf < 200 && f->buf[0] == '#') {
		f->want = strncmp(p + 8, "valid", 5) == 0 ? 0 : atoi(p + 8);
		if ((p = strstr(p, "maxlen: ")) != NULL && p - f->buf < 200)
			f->maxlen = (size_t)atol(p + 8);
	}
	for (p = f->buf; *p == '#'; p++)
		if ((p = strchr(p, '\n')) == NULL) {
			p = f->buf + len;
			break;
		}
	f->text = p;
	return 0;
}

/*
 * The field table.
 */

/* Every prefix of the format: which keys, what kind, which limit. */
static void
test_field_table(void)
{
#define Q	((1u << MSG_KEY_DQ) | (1u << MSG_KEY_KQ) | (1u << MSG_KEY_DNQ) | \
		 (1u << MSG_KEY_DQG))
#define DK	((1u << MSG_KEY_DQ) | (1u << MSG_KEY_KQ))
#define PH	(DK | (1u << MSG_KEY_DNQ))	/* a DQG asks for no photo */
#define R	((1u << MSG_KEY_DR) | (1u << MSG_KEY_KR) | (1u << MSG_KEY_DNR))
#define YQ	(1u << MSG_KEY_YQ)
#define YR	(1u << MSG_KEY_YR)
	static const struct {
		const char	*prefix;
		unsigned int	 keys;
		int		 kind, record;
		size_t		 max;
		const char	*doc;		/* the doc line names it */
	} want[] = {
		{ "RTY", YQ | YR, LEGACY_F_DOT, 0, 2, "WP PO MP SV SL" },
		{ "RNO", YQ | YR, LEGACY_F_DOT, 0, 1, "1, 2 or 3" },
		{ "PRI", YQ, LEGACY_F_DOT, 0, 1, "U urgent (10 minutes)" },
		{ "OCA", YQ | YR, LEGACY_F_DOT, 0, 20, "case number" },
		{ "NIC", YQ | YR, LEGACY_F_DOT, 0, 10, "NCIC number" },
		{ "NAM", Q | R | YQ, LEGACY_F_DOT, 1, 30, "30" },
		{ "DOB", Q | R | YQ, LEGACY_F_DOT, 1, 10,
		    "ccyymmdd or mmddyy" },
		{ "SEX", Q | R | YQ, LEGACY_F_DOT, 1, 0, "M, F or U" },
		{ "LIC", YQ, LEGACY_F_DOT, 0, 10, "plate" },
		{ "LIS", YQ, LEGACY_F_DOT, 0, 2, "plate state" },
		{ "VIN", YQ, LEGACY_F_DOT, 0, 20, "vehicle identification" },
		{ "SER", YQ, LEGACY_F_DOT, 0, 20, "serial number" },
		{ "CON", YR, LEGACY_F_DOT, 0, 1, "Y confirmed" },
		{ "OLN", DK | R, LEGACY_F_DOT, 1, 20, "20" },
		{ "OLS", DK | R, LEGACY_F_DOT, 1, 2, "state" },
		{ "RSN", Q, LEGACY_F_DOT, 0, 0, "N F V T S H I" },
		{ "PUR", Q, LEGACY_F_DOT, 0, 0, "C F E D J S" },
		{ "ATN", Q, LEGACY_F_DOT, 0, 0, "30" },
		{ "IMQ", PH, LEGACY_F_DOT, 0, 1, "Y" },
		{ "IPU", PH, LEGACY_F_DOT, 0, 0, "CATEGORY,USE" },
		{ "ICI", PH, LEGACY_F_DOT, 0, 0, "circumstance" },
		{ "ICN", PH, LEGACY_F_DOT, 0, 0, "case number" },
		{ "IVF", PH, LEGACY_F_DOT, 0, 0, "verifies" },
		{ "IWN", PH, LEGACY_F_DOT, 0, 0, "warrant" },
		{ "ISP", PH, LEGACY_F_DOT, 0, 1, "suspect" },
		{ "ADR", R, LEGACY_F_DOT, 1, 0, "address" },
		{ "CTY", R, LEGACY_F_DOT, 1, 0, "city" },
		{ "STA", R, LEGACY_F_DOT, 1, 0, "state" },
		{ "ZIP", R, LEGACY_F_DOT, 1, 0, "postal" },
		{ "CLS", R, LEGACY_F_DOT, 1, 0, "class" },
		{ "LST", R, LEGACY_F_DOT, 1, 0, "status" },
		{ "EXP", R, LEGACY_F_DOT, 1, 10, "ccyymmdd" },
		{ "IMG", R, LEGACY_F_DOT, 1, 0, "photo" },
		{ "HST", 1u << MSG_KEY_KR, LEGACY_F_DOT, 1, 0,
		    "ccyymmdd,CODE,STATE,DESCRIPTION" },
		{ "MIS", R | YR, LEGACY_F_TAIL, 0, 0, "free text" },
	};
#undef YQ
#undef YR
#undef Q
#undef DK
#undef PH
#undef R
	const struct legacy_field	*tab;
	size_t				 n, i, j;

	tab = legacy_field_table(&n);
	CU_ASSERT_EQUAL_FATAL(n, sizeof want / sizeof want[0]);
	for (i = 0; i < n; i++) {
		if (strcmp(tab[i].prefix, want[i].prefix) != 0 ||
		    tab[i].keys != want[i].keys ||
		    tab[i].kind != want[i].kind ||
		    tab[i].record != want[i].record ||
		    tab[i].max != want[i].max ||
		    strstr(tab[i].doc, want[i].doc) == NULL)
			fprintf(stderr, "\n  field table row %zu: %s/ is not "
			    "%s/ as expected", i, tab[i].prefix,
			    want[i].prefix);
		CU_ASSERT_STRING_EQUAL(tab[i].prefix, want[i].prefix);
		CU_ASSERT_EQUAL(tab[i].keys, want[i].keys);
		CU_ASSERT_EQUAL(tab[i].kind, want[i].kind);
		CU_ASSERT_EQUAL(tab[i].record, want[i].record);
		CU_ASSERT_EQUAL(tab[i].max, want[i].max);
		CU_ASSERT_PTR_NOT_NULL(strstr(tab[i].doc, want[i].doc));
		/* An element in one of the namespaces the switch writes. */
		CU_ASSERT(strncmp(tab[i].element, "nc:", 3) == 0 ||
		    strncmp(tab[i].element, "n2:", 3) == 0 ||
		    strncmp(tab[i].element, "j:", 2) == 0 ||
		    strncmp(tab[i].element, "psp:", 4) == 0);
		/* Three capitals, once. */
		CU_ASSERT(strlen(tab[i].prefix) == 3 &&
		    isupper((unsigned char)tab[i].prefix[0]) &&
		    isupper((unsigned char)tab[i].prefix[1]) &&
		    isupper((unsigned char)tab[i].prefix[2]));
		for (j = 0; j < i; j++)
			CU_ASSERT(strcmp(tab[i].prefix, tab[j].prefix) != 0);
		/* No field for the keys whose text is free. */
		CU_ASSERT((tab[i].keys & ((1u << MSG_KEY_AM) |
		    (1u << MSG_KEY_AML) | (1u << MSG_KEY_AA) |
		    (1u << MSG_KEY_SM) | (1u << MSG_KEY_ER))) == 0);
	}
	/* The limits of the table are the message model's. */
	CU_ASSERT_EQUAL(MSG_ATN_LEN, 30);
	CU_ASSERT_EQUAL(MSG_CTL_LEN, 10);
}

/*
 * Every field prefix of the table: its value lands in its element, the
 * message reads without error, and (canonical text) comes back as it
 * was written.
 */
static void
test_every_prefix(void)
{
	static const char *const msgs[] = {
		"DQ.WA0340000.CA.*F1.TXT\n"
		"NAM/SAMPLE,ALEX J. DOB/19800229. SEX/F.\n"
		"OLN/S1234567. OLS/CA.\n"
		"IMQ/Y. IPU/SUSPECT,LOCATE-SUSPECT. ICI/ARMED. ICN/24-1. "
		"IVF/DET. SAMPLE. IWN/W-1. ISP/Y.\n"
		"RSN/V. PUR/C. ATN/DESK 4.\n",
		"DNQ.WA0340000.CA.TXT\n"
		"NAM/SAMPLE,ALEX. DOB/19800229. SEX/M.\n"
		"RSN/T. PUR/C. ATN/DESK 5.\n",
		"KR.ORDMV0000.WA0340000.*K1.TXT\n"
		"NAM/EXAMPLE,JORDAN. DOB/19751231. SEX/M.\n"
		"OLN/ORX0001. OLS/OR.\n"
		"ADR/1 MAIN ST. CTY/SALEM. STA/OR. ZIP/97301.\n"
		"CLS/C. LST/SUSPENDED. EXP/20300101.\n"
		"HST/20190601,SPD,OR,SPEEDING 15 OVER.\n"
		"MIS/END OF RECORD\n",
		/* IMG/ is a note: read, never turned into an image. */
		"DR.CAOLN0000.WA0340000.TXT\n"
		"NAM/A,B. DOB/19800101. SEX/M.\nOLN/1. OLS/CA.\n"
		"IMG/NOT AVAILABLE IN TEXT FORMAT - 10 BYTES JPEG.\n",
		/* Hit confirmation: every data set, and the response. */
		"YQ.WA0340000.CAOLN0000.*H1.TXT\n"
		"RTY/SV. RNO/2. PRI/R. OCA/26-1. NIC/V000012345.\n"
		"LIC/EXA1234. LIS/CA. VIN/1EXAMPLE0000001\n",
		"YQ.WA0340000.CAOLN0000.*H2.TXT\n"
		"RTY/SG. RNO/1. PRI/U. OCA/26-2. NIC/G000012345.\n"
		"SER/SN-0001\n",
		"YR.CAOLN0000.WA0340000.*H2.TXT\n"
		"RTY/SG. RNO/1. OCA/26-2. NIC/G000012345.\n"
		"CON/P.\n"
		"MIS/CONFIRMATION BY 1430\n",
	};
	const struct legacy_field	*tab;
	struct ubuf			 x;
	struct msg			 m;
	struct msg_diags		 d;
	char				 pfx[8], *el, *t;
	const char			*e;
	size_t				 n, i, j;
	int				 seen, img;

	tab = legacy_field_table(&n);
	for (i = 0; i < n; i++) {
		snprintf(pfx, sizeof pfx, "%s/", tab[i].prefix);
		img = strcmp(tab[i].prefix, "IMG") == 0;
		seen = 0;
		for (j = 0; j < sizeof msgs / sizeof msgs[0] && !seen; j++) {
			if (strstr(msgs[j], pfx) == NULL)
				continue;
			ubuf_init(&x);
			if (tl_parse(msgs[j], 0, &x, &m, &d) != 0) {
				tl_dump(pfx, &d);
				CU_FAIL("every-prefix message refused");
				ubuf_free(&x);
				continue;
			}
			seen = 1;
			CU_ASSERT(tab[i].keys & (1u << m.key));
			/* Its element is there (IMG/ never makes one). */
			e = strrchr(tab[i].element, '/');
			el = xasprintf("<%s>", e ? e + 1 : tab[i].element);
			if (strstr(tl_str(&x), el) == NULL && !img)
				fprintf(stderr, "\n  %s: no %s", pfx, el);
			CU_ASSERT(img ? strstr(tl_str(&x),
			    "PersonDigitalImage") == NULL :
			    strstr(tl_str(&x), el) != NULL);
			free(el);
			t = tl_render(pfx, x.data, x.len, NULL);
			CU_ASSERT(t == NULL || (strstr(t, pfx) != NULL) != img);
			/* Canonical: the text comes back. */
			if (t != NULL && !img)
				CU_ASSERT(tl_same_text(pfx, msgs[j], t));
			free(t);
			ubuf_free(&x);
		}
		if (!seen)
			fprintf(stderr, "\n  prefix %s not exercised", pfx);
		CU_ASSERT(seen);
	}
}

/*
 * The XML a legacy message becomes, element for element (the person of
 * a KQ is n2c:Driver, of a DQ or DNQ n2:Person; a response's records are
 * n2c:Driver; free text is n2:ResponseText, n2:MailMessageText or
 * n2:StatusMessageText).
 */
#define TL_WROOT "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\"\n" \
	"    xmlns:nh2=\"" MSG_NS_NH2 "\"\n" \
	"    xmlns:n2c=\"" MSG_NS_N2C "\"\n" \
	"    xmlns:nc=\"" MSG_NS_NC "\"\n" \
	"    xmlns:j=\"" MSG_NS_J "\"\n" \
	"    xmlns:psp=\"" MSG_NS_PSP "\"\n" \
	"    n2:version=\"4.00\">\n<n2:NLETSMessageHeader>\n"
#define TL_WH(k, ori, rest) TL_WROOT \
	"<nh2:MessageKeyCodeText>" k "</nh2:MessageKeyCodeText>\n" \
	"<nh2:OriginatingORIID>" ori "</nh2:OriginatingORIID>\n" rest \
	"</n2:NLETSMessageHeader>\n"
#define TL_WD(d)	"<nh2:DestinationORIID>" d "</nh2:DestinationORIID>\n"
#define TL_WC(c)	"<nh2:DocumentControlFieldText>" c \
	"</nh2:DocumentControlFieldText>\n"

static void
test_xml_of_legacy(void)
{
	static const struct {
		const char	*text;
		const char	*xml;
	} t[] = {
		{ "DQ.WA0340000.CA.OR.*T43.TXT\n"
		  "NAM/SAMPLE,ALEX J JR.DOB/19800229.SEX/F.RSN/T.ATN/DESK 4",
		  TL_WH("DQ", "WA0340000", TL_WD("CA") TL_WD("OR")
		  TL_WC("T43"))
		  "<n2:NLETSInquiryData>\n"
		  "<n2:ReasonCode>T</n2:ReasonCode>\n"
		  "<n2:ResponseAttentionDescriptionText>DESK 4"
		  "</n2:ResponseAttentionDescriptionText>\n"
		  "<n2:Person>\n"
		  "<nc:PersonBirthDate><nc:Date>1980-02-29</nc:Date>"
		  "</nc:PersonBirthDate>\n"
		  "<nc:PersonName>\n"
		  "<nc:PersonGivenName>ALEX</nc:PersonGivenName>\n"
		  "<nc:PersonMiddleName>J</nc:PersonMiddleName>\n"
		  "<nc:PersonSurName>SAMPLE</nc:PersonSurName>\n"
		  "<nc:PersonNameSuffixText>JR</nc:PersonNameSuffixText>\n"
		  "</nc:PersonName>\n"
		  "<nc:PersonSexCode>F</nc:PersonSexCode>\n"
		  "</n2:Person>\n"
		  "</n2:NLETSInquiryData>\n</n2:NLETS>\n" },
		{ "KQ.WA0340000.OR.TXTOLN/ORX0001.OLS/OR.PUR/C.IMQ/N."
		  "IPU/IDENTIFICATION,FALSE-ID.ISP/N",
		  TL_WH("KQ", "WA0340000", TL_WD("OR"))
		  "<n2:NLETSInquiryData>\n"
		  "<n2:PurposeCode>C</n2:PurposeCode>\n"
		  "<n2c:Driver>\n"
		  "<j:PersonAugmentation>\n<nc:DriverLicense>\n"
		  "<nc:DriverLicenseIdentification>\n"
		  "<nc:IdentificationID>ORX0001</nc:IdentificationID>\n"
		  "<nc:IdentificationJurisdictionText>OR"
		  "</nc:IdentificationJurisdictionText>\n"
		  "</nc:DriverLicenseIdentification>\n"
		  "</nc:DriverLicense>\n</j:PersonAugmentation>\n"
		  "</n2c:Driver>\n"
		  "<n2:ImageRequestIndicator>false"
		  "</n2:ImageRequestIndicator>\n"
		  "<psp:PhotoPurpose>\n"
		  "<psp:PurposeCategoryCode>IDENTIFICATION"
		  "</psp:PurposeCategoryCode>\n"
		  "<psp:PurposeUseCode>FALSE-ID</psp:PurposeUseCode>\n"
		  "<psp:SubjectSuspectIndicator>false"
		  "</psp:SubjectSuspectIndicator>\n"
		  "</psp:PhotoPurpose>\n"
		  "</n2:NLETSInquiryData>\n</n2:NLETS>\n" },
		{ "KR.ORDMV0000.WA0340000.TXT\n"
		  "NAM/EXAMPLE,JORDAN.DOB/19751231.SEX/M.OLN/ORX0001.OLS/OR\n"
		  "ADR/1 MAIN ST..CTY/SALEM.EXP/20300101\n"
		  "HST/20190601,SPD,OR,SPEEDING 15 OVER\nMIS/SEE NOTES",
		  TL_WH("KR", "ORDMV0000", TL_WD("WA0340000"))
		  "<n2:NLETSResponseData>\n"
		  "<n2:ResponseText>SEE NOTES</n2:ResponseText>\n"
		  "<n2c:Driver>\n"
		  "<nc:PersonBirthDate><nc:Date>1975-12-31</nc:Date>"
		  "</nc:PersonBirthDate>\n"
		  "<nc:PersonName>\n"
		  "<nc:PersonGivenName>JORDAN</nc:PersonGivenName>\n"
		  "<nc:PersonSurName>EXAMPLE</nc:PersonSurName>\n"
		  "</nc:PersonName>\n"
		  "<nc:PersonSexCode>M</nc:PersonSexCode>\n"
		  "<nc:ContactInformation>\n<nc:ContactMailingAddress>\n"
		  "<nc:StructuredAddress>\n<nc:LocationStreet>\n"
		  "<nc:StreetFullText>1 MAIN ST.</nc:StreetFullText>\n"
		  "</nc:LocationStreet>\n"
		  "<nc:LocationCityName>SALEM</nc:LocationCityName>\n"
		  "</nc:StructuredAddress>\n</nc:ContactMailingAddress>\n"
		  "</nc:ContactInformation>\n"
		  "<j:PersonAugmentation>\n<nc:DriverLicense>\n"
		  "<nc:DriverLicenseIdentification>\n"
		  "<nc:IdentificationID>ORX0001</nc:IdentificationID>\n"
		  "<nc:IdentificationJurisdictionText>OR"
		  "</nc:IdentificationJurisdictionText>\n"
		  "</nc:DriverLicenseIdentification>\n"
		  "<nc:DriverLicenseExpirationDate><nc:Date>2030-01-01"
		  "</nc:Date></nc:DriverLicenseExpirationDate>\n"
		  "</nc:DriverLicense>\n"
		  "<j:PersonDrivingIncident>\n"
		  "<nc:ActivityCategoryText>SPD</nc:ActivityCategoryText>\n"
		  "<nc:ActivityDate><nc:Date>2019-06-01</nc:Date>"
		  "</nc:ActivityDate>\n"
		  "<nc:ActivityDescriptionText>SPEEDING 15 OVER"
		  "</nc:ActivityDescriptionText>\n"
		  "<j:DrivingIncidentJurisdiction>\n"
		  "<nc:LocationStateUSPostalServiceCode>OR"
		  "</nc:LocationStateUSPostalServiceCode>\n"
		  "</j:DrivingIncidentJurisdiction>\n"
		  "</j:PersonDrivingIncident>\n"
		  "</j:PersonAugmentation>\n"
		  "</n2c:Driver>\n"
		  "</n2:NLETSResponseData>\n</n2:NLETS>\n" },
		{ "DR.CAOLN0000.WA0340000.*T42.TXT\nNOT ON FILE\n",
		  TL_WH("DR", "CAOLN0000", TL_WD("WA0340000") TL_WC("T42"))
		  "<n2:NLETSResponseData>\n"
		  "<n2:ResponseText>NOT ON FILE</n2:ResponseText>\n"
		  "</n2:NLETSResponseData>\n</n2:NLETS>\n" },
		{ "AA.WA0340000.WR.TXT\nAMBER ALERT <CHILD> & CAR\n",
		  TL_WH("AA", "WA0340000", TL_WD("WR"))
		  "<n2:NLETSMailData n2:key=\"AA\">\n"
		  "<n2:MailMessageText>AMBER ALERT &lt;CHILD&gt; &amp; CAR"
		  "</n2:MailMessageText>\n"
		  "</n2:NLETSMailData>\n</n2:NLETS>\n" },
		{ "SM.CAOLN0000.WA0340000.OR0260000.TXT\nCA DMV DOWN\n",
		  TL_WH("SM", "CAOLN0000", TL_WD("WA0340000")
		  TL_WD("OR0260000"))
		  "<n2:NLETSMailData n2:key=\"SM\">\n"
		  "<n2:StatusMessageText>CA DMV DOWN</n2:StatusMessageText>\n"
		  "</n2:NLETSMailData>\n</n2:NLETS>\n" },
		{ "ER.NL0000000.WA0340000.TXT\n.03. TXT NOT FOUND OR "
		  "IMPROPERLY FORMED XML\nORIGINAL MESSAGE\nDQ.WA0340000.CA\n",
		  TL_WH("ER", "NL0000000", TL_WD("WA0340000"))
		  "<n2:NLETSResponseData>\n"
		  "<n2:ResponseText>.03. TXT NOT FOUND OR IMPROPERLY FORMED "
		  "XML\nORIGINAL MESSAGE\nDQ.WA0340000.CA</n2:ResponseText>\n"
		  "</n2:NLETSResponseData>\n</n2:NLETS>\n" },
	};
	struct ubuf	 x;
	struct msg	 m;
	struct msg_diags d;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ubuf_init(&x);
		rc = tl_parse(t[i].text, 0, &x, &m, &d);
		if (rc != 0)
			tl_dump(t[i].text, &d);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT(tl_same_text(t[i].text, t[i].xml, tl_str(&x)));
		ubuf_free(&x);
	}
}

/*
 * The field terminator: a value ends at a '.' followed (after blanks) by
 * the line end, the text end or another PREFIX/, or at its line end; a
 * '.' inside a value is text. And the writer keeps a value whole.
 */
static void
test_terminator(void)
{
	static const struct {
		const char	*fields;	/* after the header */
		const char	*elem;		/* expected in the XML */
	} t[] = {
		{ "OLN/S1.OLS/CA",
		  "<nc:IdentificationJurisdictionText>CA<" },
		{ "OLN/S1.OLS/CA", "<nc:IdentificationID>S1<" },
		{ "OLN/S1.ATN/ST. LOUIS DESK",
		  "<n2:ResponseAttentionDescriptionText>ST. LOUIS DESK<" },
		{ "OLN/S1.ATN/ST..",
		  "<n2:ResponseAttentionDescriptionText>ST.<" },
		{ "OLN/S1.ATN/A.B.C.",
		  "<n2:ResponseAttentionDescriptionText>A.B.C<" },
		{ "OLN/S1.ATN/1/2 TIME",
		  "<n2:ResponseAttentionDescriptionText>1/2 TIME<" },
		{ "OLN/S1\nATN/DESK 4.  \nRSN/T",
		  "<n2:ResponseAttentionDescriptionText>DESK 4<" },
		{ "OLN/S1   \r\nRSN/T\r\n", "<nc:IdentificationID>S1<" },
		{ "OLN/S1   \r\nRSN/T\r\n", "<n2:ReasonCode>T<" },
		{ "OLN/S1. RSN/T.   PUR/C", "<n2:PurposeCode>C<" },
		{ "OLN/S1.\n.RSN/T", "<n2:ReasonCode>T<" },
		{ "NAM/VAN DYKE,MARY ANN LOU.DOB/19800101.SEX/F",
		  "<nc:PersonMiddleName>ANN LOU<" },
		{ "NAM/VAN DYKE,MARY ANN LOU.DOB/19800101.SEX/F",
		  "<nc:PersonSurName>VAN DYKE<" },
		{ "NAM/VAN DYKE,MARY ANN LOU.DOB/19800101.SEX/F",
		  "<nc:PersonSexCode>F<" },
		/* IPU/ with a use only: the policy infers the category */
		{ "OLN/S1.IMQ/Y.IPU/AMNESIA",
		  "<psp:PhotoPurpose>\n<psp:PurposeUseCode>AMNESIA<" },
		{ "OLN/S1.IMQ/Y.IPU/,AMNESIA",
		  "<psp:PhotoPurpose>\n<psp:PurposeUseCode>AMNESIA<" },
		{ "OLN/S1.IMQ/Y.IPU/SUSPECT", "<psp:PhotoPurpose>\n"
		  "<psp:PurposeCategoryCode>SUSPECT</psp:PurposeCategoryCode>\n"
		  "</psp:PhotoPurpose>" },
		{ "OLN/S1.IMQ/Y.ICN/24-1.IVF/DET. R. SAMPLE",
		  "<psp:VerifierName>DET. R. SAMPLE<" },
	};
	struct ubuf	 x, b;
	struct msg	 m;
	struct msg_diags d;
	char		*s, *r;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ubuf_init(&x);
		s = xasprintf("DQ.WA0340000.CA.TXT %s", t[i].fields);
		rc = tl_parse(s, 0, &x, &m, &d);
		if (rc != 0)
			tl_dump(t[i].fields, &d);
		CU_ASSERT_EQUAL(rc, 0);
		if (strstr(tl_str(&x), t[i].elem) == NULL)
			fprintf(stderr, "\n  \"%s\": no %s in\n%s", t[i].fields,
			    t[i].elem, tl_str(&x));
		CU_ASSERT_PTR_NOT_NULL(strstr(tl_str(&x), t[i].elem));
		free(s);
		ubuf_free(&x);
	}

	/* A value the reader would cut is written so that it is not. */
	ubuf_init(&b);
	ubuf_init(&x);
	msgbuild_begin(&b, MSG_KEY_DQ, "WA0340000",
	    (const char *const []){ "CA" }, 1, NULL);
	msgbuild_text(&b, "n2:ResponseAttentionDescriptionText",
	    "SEE NOTE. OLN/ WRONG\nLINE 2.");
	msgbuild_person(&b, "n2:Person", &(struct msgbuild_person){
	    .oln = "S1" });
	msgbuild_end(&b, MSG_KEY_DQ);
	r = tl_render("writer", b.data, b.len, NULL);
	CU_ASSERT(r != NULL && tl_same_text("writer",
	    "DQ.WA0340000.CA.TXT\nOLN/S1.\n"
	    "ATN/SEE NOTE, OLN/ WRONG LINE 2..\n", r));
	CU_ASSERT_EQUAL(r ? tl_parse(r, 0, &x, &m, &d) : -1, 0);
	CU_ASSERT_STRING_EQUAL(m.atn, "SEE NOTE, OLN/ WRONG LINE 2.");
	CU_ASSERT_STRING_EQUAL(m.person.oln, "S1");
	free(r);
	ubuf_free(&x);
	ubuf_free(&b);
}

/* CR, LF and DEL are not part of any value: anywhere in the text. */
static void
test_ctl_chars(void)
{
	static const struct {
		const char	*noisy, *clean;
		int		 flags;
	} t[] = {
		{ "DQ.WA0340000.CA.TXT\r\n\x7fNAM/SAMPLE,ALEX.\r\n"
		  "DOB/19800229.SEX/M\r\n",
		  "DQ.WA0340000.CA.TXT\nNAM/SAMPLE,ALEX.\n"
		  "DOB/19800229.SEX/M\n", 0 },
		{ "DQ.WA0340000.CA.TXT\nNAM/SAM\x7fPLE,ALEX.DOB/1980\x7f"
		  "0229.SEX/M\x7f.IMQ/\x7fY\x7f",
		  "DQ.WA0340000.CA.TXT\nNAM/SAMPLE,ALEX.DOB/19800229.SEX/M."
		  "IMQ/Y", 0 },
		{ "DQ.WA0340000.CA.TXT\x7f\r\nOLN/S12\r34567\x7f\r\n"
		  "\x7f\x7f\r\nRSN/T\r",
		  "DQ.WA0340000.CA.TXT\nOLN/S1234567\nRSN/T", 0 },
		{ "AM.WA0340000.CA.TXT\r\n\x7fLINE ONE\r\nLINE\x7f TWO\r\n",
		  "AM.WA0340000.CA.TXT\nLINE ONE\nLINE TWO\n", 0 },
		{ "ER.NL0000000.WA0340000.TXT\r\n\x7f.05. DOB INVALID or "
		  "MISSING\r\nORIGINAL MESSAGE\r\nDQ.WA0340000.CA.TXT\r\n",
		  "ER.NL0000000.WA0340000.TXT\n.05. DOB INVALID or MISSING\n"
		  "ORIGINAL MESSAGE\nDQ.WA0340000.CA.TXT\n", 0 },
		{ "DR.CAOLN0000.*T1\r\n14:02 05/01/2024 00001\r\n"
		  "14:02 05/01/2024 00002 WA0340000\r\nTXT\r\n\x7f"
		  "NOT ON FILE\r\n",
		  "DR.CAOLN0000.*T1\n14:02 05/01/2024 00001\n"
		  "14:02 05/01/2024 00002 WA0340000\nTXT\nNOT ON FILE\n",
		  LEGACY_STAMPED },
	};
	struct ubuf	 a, b;
	struct msg	 ma, mb;
	struct msg_diags d;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ubuf_init(&a);
		ubuf_init(&b);
		rc = tl_parse(t[i].noisy, t[i].flags, &a, &ma, &d);
		if (rc != 0)
			tl_dump("noisy", &d);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(tl_parse(t[i].clean, t[i].flags, &b, &mb, &d),
		    0);
		if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			fprintf(stderr, "\n  case %zu: noisy and clean "
			    "differ:\n%.*s\n%.*s", i, (int)a.len, a.data,
			    (int)b.len, b.data);
		CU_ASSERT(a.len == b.len && memcmp(a.data, b.data,
		    a.len) == 0);
		tl_same_msg("ctl chars", &ma, &mb, 1);
		ubuf_free(&a);
		ubuf_free(&b);
	}
}

/*
 * DOB/: ccyymmdd, mmddyy and YYYY-MM-DD. A 2-digit year is the latest
 * date not in the future (UTC): this century's when that day has come.
 */
static void
test_dob(void)
{
	static const struct {
		const char	*dob;
		const char	*want;		/* YYYY-MM-DD, or NULL */
		int		 code;
	} fixed[] = {
		{ "19800229", "1980-02-29", 0 },
		{ "022980", "1980-02-29", 0 },
		{ "010100", "2000-01-01", 0 },
		{ "123199", "1999-12-31", 0 },
		{ "1980-02-29", "1980-02-29", 0 },
		{ "19810229", NULL, MSG_ER_DOB },
		{ "022981", NULL, MSG_ER_DOB },
		{ "1980229", NULL, MSG_ER_DOB },
		{ "19800229X", NULL, MSG_ER_DOB },
		{ "FEB 29 1980", NULL, MSG_ER_DOB },
		{ "29990101", NULL, MSG_ER_DOB },
		{ "17990101", NULL, MSG_ER_DOB },
		{ "", NULL, MSG_ER_DOB },
	};
	struct tm	 tm;
	time_t		 now = time(NULL), day;
	struct ubuf	 x;
	struct msg	 m;
	struct msg_diags d;
	char		 today[16], dob[16], want[16], c20[16], *s, *el;
	int		 i, k, n, rc, cases;

	CU_ASSERT_PTR_NOT_NULL_FATAL(gmtime_r(&now, &tm));
	strftime(today, sizeof today, "%Y-%m-%d", &tm);
	/* The fixed cases, then mmddyy of days around today. */
	n = (int)(sizeof fixed / sizeof fixed[0]);
	cases = n + 7;
	for (i = 0; i < cases; i++) {
		if (i < n) {
			snprintf(dob, sizeof dob, "%s", fixed[i].dob);
			snprintf(want, sizeof want, "%s", fixed[i].want ?
			    fixed[i].want : "");
		} else {
			/* Yesterday, today, tomorrow, a year ago, next
			 * year, January 1 and December 31 of this year. */
			k = i - n;
			day = now + (k == 0 ? -86400 : k == 2 ? 86400 :
			    k == 3 ? -366 * 86400 : k == 4 ? 366 * 86400 : 0);
			CU_ASSERT_PTR_NOT_NULL_FATAL(gmtime_r(&day, &tm));
			if (k == 5) {
				tm.tm_mon = 0;
				tm.tm_mday = 1;
			} else if (k == 6) {
				tm.tm_mon = 11;
				tm.tm_mday = 31;
			}
			strftime(dob, sizeof dob, "%m%d", &tm);
			snprintf(dob + 4, sizeof dob - 4, "%02d",
			    (tm.tm_year + 1900) % 100);
			/* 20yy unless that is after today. */
			snprintf(c20, sizeof c20, "20%.2s-%.2s-%.2s", dob + 4,
			    dob, dob + 2);
			snprintf(want, sizeof want, "%s%s", strcmp(c20,
			    today) > 0 ? "19" : "20", c20 + 2);
		}
		ubuf_init(&x);
		s = xasprintf("DQ.WA0340000.CA.TXT\nNAM/SAMPLE,ALEX.DOB/%s."
		    "SEX/M", dob);
		rc = tl_parse(s, 0, &x, &m, &d);
		if (rc != (i < n ? fixed[i].code : 0)) {
			fprintf(stderr, "\n  DOB/%s: want ER %d, got %d", dob,
			    i < n ? fixed[i].code : 0, rc);
			tl_dump(dob, &d);
		}
		CU_ASSERT_EQUAL(rc, i < n ? fixed[i].code : 0);
		if (want[0] != '\0') {
			el = xasprintf("<nc:PersonBirthDate><nc:Date>%s"
			    "</nc:Date>", want);
			if (strstr(tl_str(&x), el) == NULL)
				fprintf(stderr, "\n  DOB/%s: want %s", dob,
				    want);
			CU_ASSERT_PTR_NOT_NULL(strstr(tl_str(&x), el));
			CU_ASSERT_STRING_EQUAL(m.person.dob, want);
			free(el);
		} else if (d.n > 0) {
			/* At DOB/, line 2 column 17. */
			CU_ASSERT_EQUAL(d.d[0].line, 2);
			CU_ASSERT_EQUAL(d.d[0].col, 17);
		}
		free(s);
		ubuf_free(&x);
	}
}

/* NAM/LAST,FIRST MIDDLE SUFFIX: the parts, and the text written back. */
static void
test_name_split(void)
{
	static const struct {
		const char	*nam;
		const char	*sur, *giv, *mid, *sfx;
		const char	*back;		/* NAM/ as rendered */
	} t[] = {
		{ "SMITH,JOHN", "SMITH", "JOHN", "", "", "SMITH,JOHN" },
		{ "SMITH,JOHN JR", "SMITH", "JOHN", "", "JR",
		  "SMITH,JOHN JR" },
		{ "SMITH,JOHN Q III", "SMITH", "JOHN", "Q", "III",
		  "SMITH,JOHN Q III" },
		{ "VAN DYKE,MARY ANN LOU", "VAN DYKE", "MARY", "ANN LOU", "",
		  "VAN DYKE,MARY ANN LOU" },
		{ "VAN DYKE ,MARY ANN LOU SR", "VAN DYKE", "MARY",
		  "ANN LOU", "SR", "VAN DYKE,MARY ANN LOU SR" },
		{ "SMITH, JOHN  JR", "SMITH", "JOHN", "", "JR",
		  "SMITH,JOHN JR" },
		{ "SMITH,JR", "SMITH", "JR", "", "", "SMITH,JR" },
		{ "O'NEIL-SMITH,ANNE-MARIE", "O'NEIL-SMITH", "ANNE-MARIE", "",
		  "", "O'NEIL-SMITH,ANNE-MARIE" },
	};
	struct ubuf	 x;
	struct msg	 m;
	struct msg_diags d;
	char		*s, *r, *want;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ubuf_init(&x);
		s = xasprintf("DQ.WA0340000.CA.TXT\nNAM/%s.DOB/19800101."
		    "SEX/M", t[i].nam);
		rc = tl_parse(s, 0, &x, &m, &d);
		if (rc != 0)
			tl_dump(t[i].nam, &d);
		CU_ASSERT_EQUAL(rc, 0);
		if (strcmp(m.person.surname, t[i].sur) != 0 ||
		    strcmp(m.person.given, t[i].giv) != 0 ||
		    strcmp(m.person.middle, t[i].mid) != 0 ||
		    strcmp(m.person.suffix, t[i].sfx) != 0)
			fprintf(stderr, "\n  NAM/%s: \"%s\" \"%s\" \"%s\" "
			    "\"%s\"", t[i].nam, m.person.surname,
			    m.person.given, m.person.middle, m.person.suffix);
		CU_ASSERT_STRING_EQUAL(m.person.surname, t[i].sur);
		CU_ASSERT_STRING_EQUAL(m.person.given, t[i].giv);
		CU_ASSERT_STRING_EQUAL(m.person.middle, t[i].mid);
		CU_ASSERT_STRING_EQUAL(m.person.suffix, t[i].sfx);
		r = tl_render(t[i].nam, x.data, x.len, NULL);
		want = xasprintf("DQ.WA0340000.CA.TXT\nNAM/%s. DOB/19800101. "
		    "SEX/M.\n", t[i].back);
		CU_ASSERT(tl_same_text(t[i].nam, want, r));
		free(want);
		free(r);
		free(s);
		ubuf_free(&x);
	}
}

/*
 * The documented Nlets examples read as they are: the DQ of the DL
 * legacy article, the output headers of the HELP and ER articles (a
 * delivered message).
 */
static void
test_nlets_examples(void)
{
	static const char dq[] = "DQ.AZNLETS20.CA.TXT\n"
	    "NAM/SMITH,JOHN.DOB/19500101.SEX/M";
	static const char am[] = "AM.NLNLEHELP\n"
	    "10:01 08/22/2011 35048\n"
	    "10:01 08/22/2011 08374 AZNLETS20\n"
	    "TXT\n"
	    "NEW HELP MESSAGE\n";
	static const char er[] = "ER.NL0000000\n"
	    "08:00 01/01/2010 01239\n"
	    "08:00 01/01/2011 01233 AZNLETS20\n"
	    "TXT\n"
	    ".22. INVALID MESSAGE FORMAT - REFER TO RQ MKE OPTIONS BELOW\n"
	    "1. LIC, LIY, LIT\n"
	    "ORIGINAL MESSAGE\n"
	    "RQ.AZNLETS20.CA.TXT\n";
	struct ubuf	 x;
	struct msg	 m;
	struct msg_diags d;
	char		*r;
	int		 rc;

	ubuf_init(&x);
	rc = tl_parse(dq, 0, &x, &m, &d);
	if (rc != 0)
		tl_dump("Nlets DQ", &d);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_DQ);
	CU_ASSERT_STRING_EQUAL(m.ori, "AZNLETS20");
	CU_ASSERT(m.ndest == 1 && strcmp(m.dest[0], "CA") == 0);
	CU_ASSERT_STRING_EQUAL(m.person.surname, "SMITH");
	CU_ASSERT_STRING_EQUAL(m.person.given, "JOHN");
	CU_ASSERT_STRING_EQUAL(m.person.dob, "1950-01-01");
	CU_ASSERT_STRING_EQUAL(m.person.sex, "M");
	CU_ASSERT_EQUAL(m.ctl[0], '\0');
	ubuf_reset(&x);

	/* The output header as Nlets prints it, and back the same. */
	rc = tl_parse(am, LEGACY_STAMPED, &x, &m, &d);
	if (rc != 0)
		tl_dump("Nlets AM", &d);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_AM);
	CU_ASSERT_STRING_EQUAL(m.ori, "NLNLEHELP");
	CU_ASSERT(m.ndest == 1 && strcmp(m.dest[0], "AZNLETS20") == 0);
	r = tl_render("Nlets AM", x.data, x.len, "AZNLETS20");
	CU_ASSERT(tl_same_text("Nlets AM", am, r));
	free(r);
	/* A sender may not write it. */
	ubuf_reset(&x);
	CU_ASSERT_EQUAL(tl_parse(am, 0, &x, &m, &d), MSG_ER_HEADER);
	ubuf_reset(&x);

	rc = tl_parse(er, LEGACY_STAMPED, &x, &m, &d);
	if (rc != 0)
		tl_dump("Nlets ER", &d);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_ER);
	CU_ASSERT_EQUAL(m.status, MSG_ER_FORMAT);
	r = tl_render("Nlets ER", x.data, x.len, NULL);
	CU_ASSERT(tl_same_text("Nlets ER", er, r));
	free(r);
	ubuf_free(&x);
}

/*
 * Errors.
 */

/* Headers and fields in error: the ER number and where it points. */
static void
test_malformed(void)
{
	static const struct {
		const char	*text;
		int		 flags;
		size_t		 maxlen;
		int		 code, line, col;
	} t[] = {
		/* header */
		{ "DQ.WA0340000.CA.*T1\nOLN/S1", 0, 0, MSG_ER_MALFORMED, 1,
		  20 },
		{ "DQ.WA0340000.CA", 0, 0, MSG_ER_MALFORMED, 1, 16 },
		{ "", 0, 0, MSG_ER_MALFORMED, 1, 1 },
		{ "\n  \n", 0, 0, MSG_ER_MALFORMED, 1, 1 },
		{ "DQ.WA034.CA.TXT OLN/S1", 0, 0, MSG_ER_HEADER, 1, 4 },
		{ "DQ.WA0340000.TXT OLN/S1", 0, 0, MSG_ER_DEST, 1, 13 },
		{ "DQ.WA0340000.*T.TXT OLN/S1", 0, 0, MSG_ER_DEST, 1, 13 },
		{ "DQ.WA0340000.CA.OR.ID.NV.AZ.UT.TXT OLN/S1", 0, 0,
		  MSG_ER_DEST, 1, 29 },
		{ "DQ.WA0340000.C.TXT OLN/S1", 0, 0, MSG_ER_DEST, 1, 14 },
		{ "DQ.WA0340000..CA.TXT OLN/S1", 0, 0, MSG_ER_DEST, 1, 14 },
		{ "DQ.WA0340000.CA.*.TXT OLN/S1", 0, 0, MSG_ER_HEADER, 1, 17 },
		{ "DQ.WA0340000.CA.*12345678901.TXT OLN/S1", 0, 0,
		  MSG_ER_HEADER, 1, 17 },
		{ "DQ.WA0340000.CA.*A.*B.TXT OLN/S1", 0, 0, MSG_ER_HEADER, 1,
		  20 },
		{ "DQ.WA0340000.*A.CA.TXT OLN/S1", 0, 0, MSG_ER_HEADER, 1,
		  17 },
		{ "ZZ.WA0340000.CA.TXT OLN/S1", 0, 0, MSG_ER_HEADER, 1, 1 },
		{ "DQX.WA0340000.CA.TXT OLN/S1", 0, 0, MSG_ER_HEADER, 1, 1 },
		{ "  dq.WA0340000.CA.TXT OLN/S1", 0, 0, MSG_ER_HEADER, 1, 3 },
		{ "OLN/S1234567", 0, 0, MSG_ER_HEADER, 1, 1 },
		{ "ER.WA0340000.CA.TXT\n.01. INVALID HEADER INFORMATION", 0, 0,
		  MSG_ER_HEADER, 1, 4 },
		/* the output header: the switch's, and two lines */
		{ "DR.CAOLN0000\n14:02 05/01/2024 00123\n"
		  "14:02 05/01/2024 00045 WA0340000\nTXT\nNOT ON FILE", 0, 0,
		  MSG_ER_HEADER, 2, 1 },
		{ "DR.CAOLN0000\n\n14:02 05/01/2024 00123\nTXT\nNOT ON FILE",
		  LEGACY_STAMPED, 0, MSG_ER_HEADER, 3, 1 },
		{ "DR.CAOLN0000\n14:02 05/01/2024 00123\n"
		  "14:02 05/01/2024 00045 WA03\nTXT\nNOT ON FILE",
		  LEGACY_STAMPED, 0, MSG_ER_HEADER, 2, 1 },
		/* fields */
		{ "DQ.WA0340000.CA.TXT\nOLN/S1.QQQ/1", 0, 0, MSG_ER_FORMAT,
		  2, 8 },
		{ "DQ.WA0340000.CA.TXT OLN/S1.OLN/S2", 0, 0, MSG_ER_FORMAT, 1,
		  28 },
		{ "DQ.WA0340000.CA.TXT OLN/.RSN/T", 0, 0, MSG_ER_FORMAT, 1,
		  21 },
		{ "DQ.WA0340000.CA.TXT\nhello", 0, 0, MSG_ER_FORMAT, 2, 1 },
		{ "DQ.WA0340000.CA.TXT\nOLN/S1\n  hello", 0, 0, MSG_ER_FORMAT,
		  3, 3 },
		{ "DNQ.WA0340000.CA.TXT NAM/A,B.OLN/S1", 0, 0, MSG_ER_FORMAT,
		  1, 30 },
		{ "DR.CAOLN0000.WA0340000.TXT OLS/CA", 0, 0, MSG_ER_FORMAT, 1,
		  28 },
		{ "DQ.WA0340000.CA.TXT OLN/S1.IMQ/YES", 0, 0, MSG_ER_FORMAT, 1,
		  28 },
		{ "DQ.WA0340000.CA.TXT OLN/S1.RSN/TRAFFIC", 0, 0,
		  MSG_ER_FORMAT, 1, 28 },
		{ "DQ.WA0340000.CA.TXT OLN/S1.PUR/X", 0, 0, MSG_ER_FORMAT, 1,
		  28 },
		{ "DQ.WA0340000.CA.TXT OLN/S1.CIR/ARMED", 0, 0, MSG_ER_FORMAT,
		  1, 28 },
		{ "DQ.WA0340000.CA.TXT OLN/S1.IMQ/Y.IPU/IDENTIFICATION,BOGUS",
		  0, 0, MSG_ER_FORMAT, 1, 34 },
		{ "DQ.WA0340000.CA.TXT OLN/S1.IMQ/Y.IPU/CURIOSITY", 0, 0,
		  MSG_ER_FORMAT, 1, 34 },
		{ "DQ.WA0340000.CA.TXT\nNAM/ABCDEFGHIJKLMNOPQRSTUVWXYZ,ALEX."
		  "DOB/19800101.SEX/M", 0, 0, MSG_ER_FORMAT, 2, 1 },
		{ "DQ.WA0340000.CA.TXT\nOLN/S12345678901234567890", 0, 0,
		  MSG_ER_FORMAT, 2, 1 },
		{ "DQ.WA0340000.CA.TXT\nOLN/S1.ATN/123456789012345678901234567"
		  "8901", 0, 0, MSG_ER_ATN, 2, 8 },
		{ "DQ.WA0340000.CA.TXT NAM/A,B.DOB/19800101.SEX/MALE", 0, 0,
		  MSG_ER_FORMAT, 1, 42 },
		{ "KR.ORDMV0000.WA0340000.TXT\nNAM/A,B.DOB/19800101.SEX/M\n"
		  "HST/20190601,spd,OR,X", 0, 0, MSG_ER_FORMAT, 3, 1 },
		{ "ER.NL0000000.WA0340000.TXT\nNO NUMBER HERE", 0, 0,
		  MSG_ER_FORMAT, 1, 24 },
		/* what the key needs: at the body */
		{ "DQ.WA0340000.CA.TXT NAM/A.DOB/19800101.SEX/M", 0, 0,
		  MSG_ER_REQUIRED, 1, 17 },
		{ "DQ.WA0340000.CA.TXT RSN/T", 0, 0, MSG_ER_REQUIRED, 1, 17 },
		{ "DNQ.WA0340000.CA.TXT SEX/M", 0, 0, MSG_ER_REQUIRED, 1, 18 },
		/* birth dates: at DOB/ */
		{ "DQ.WA0340000.CA.TXT NAM/A,B.DOB/19810229.SEX/M", 0, 0,
		  MSG_ER_DOB, 1, 29 },
		{ "DQ.WA0340000.CA.TXT\nNAM/A,B.DOB/1980229.SEX/M", 0, 0,
		  MSG_ER_DOB, 2, 9 },
		{ "DQ.WA0340000.CA.TXT\nNAM/A,B.DOB/.SEX/M", 0, 0,
		  MSG_ER_DOB, 2, 9 },
		{ "DQ.WA0340000.CA.TXT NAM/A,B.SEX/M", 0, 0, MSG_ER_DOB, 1,
		  17 },
		/* nothing after TXT */
		{ "AM.WA0340000.CA.TXT\n\n", 0, 0, MSG_ER_MALFORMED, 1, 17 },
		{ "DQ.WA0340000.CA.TXT\n \r\n\x7f", 0, 0, MSG_ER_MALFORMED, 1,
		  17 },
		{ "DR.CAOLN0000.WA0340000.TXT", 0, 0, MSG_ER_MALFORMED, 1,
		  24 },
		/* too large */
		{ "AM.WA0340000.CA.TXT\nHELLO", 0, 24, MSG_ER_TOO_LARGE, 1,
		  1 },
	};
	struct ubuf	 x;
	struct msg	 m;
	struct msg_diags d;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ubuf_init(&x);
		rc = legacy_parse(tl_schema, t[i].text, strlen(t[i].text),
		    t[i].maxlen, t[i].flags, &x, &m, &d);
		if (rc != t[i].code || d.n < 1 || d.d[0].line != t[i].line ||
		    d.d[0].col != t[i].col) {
			fprintf(stderr, "\n  case %zu \"%s\": want ER %d at "
			    "%d:%d, got %d", i, t[i].text, t[i].code,
			    t[i].line, t[i].col, rc);
			tl_dump("malformed", &d);
		}
		CU_ASSERT_EQUAL(rc, t[i].code);
		CU_ASSERT(d.n >= 1);
		if (d.n >= 1) {
			CU_ASSERT_EQUAL(d.d[0].code, rc);
			CU_ASSERT_EQUAL(d.d[0].line, t[i].line);
			CU_ASSERT_EQUAL(d.d[0].col, t[i].col);
			CU_ASSERT(d.d[0].text[0] != '\0');
			CU_ASSERT(rc == MSG_ER_TOO_LARGE ||
			    strncmp(d.d[0].xpath, "/n2:NLETS", 9) == 0);
		}
		ubuf_free(&x);
	}
}

/*
 * A DQG (Nlets: "Only queries on NAM/DOB may be used for a DQG", OLN
 * "Not valid for DQG", IMQ "for DQ only, not for DQG"): each mistake
 * gets the ER that names it, at the field, and says what to send.
 */
static void
test_dqg(void)
{
	static const struct {
		const char	*text;
		int		 code, line, col;
		const char	*why;		/* in the first diagnostic */
	} t[] = {
		{ "DQG.WA0340000.H1.TXT NAM/A,B.DOB/19800101.SEX/M", 0, 0, 0,
		  NULL },
		{ "DQG.WA0340000.H1.E1.CA.NL.TXT\nNAM/A,B.DOB/022980.SEX/F",
		  0, 0, 0, NULL },
		{ "DQG.WA0340000.H1.TXT NAM/A,B.DOB/19800101.SEX/M.OLN/S1",
		  MSG_ER_FORMAT, 1, 49,
		  "field OLN/ is not valid for a DQG: " MSG_DQG_HOWTO },
		{ "DQG.WA0340000.H1.TXT\nOLN/S1234567", MSG_ER_FORMAT, 2, 1,
		  "field OLN/ is not valid for a DQG" },
		{ "DQG.WA0340000.H1.TXT NAM/A,B.DOB/19800101.SEX/M.OLS/CA",
		  MSG_ER_FORMAT, 1, 49, "field OLS/ is not valid for a DQG" },
		{ "DQG.WA0340000.H1.TXT NAM/A,B.DOB/19800101.SEX/M.IMQ/Y",
		  MSG_ER_FORMAT, 1, 49, "field IMQ/ is not valid for a DQG" },
		{ "DQG.WA0340000.H1.TXT NAM/A,B.DOB/19800101.SEX/M.IMQ/N",
		  MSG_ER_FORMAT, 1, 49, "field IMQ/ is not valid for a DQG" },
		{ "DQG.WA0340000.H1.TXT NAM/A,B.DOB/19800101.SEX/M.IPU/"
		  "IDENTIFICATION,TRAFFIC-STOP", MSG_ER_FORMAT, 1, 49,
		  "field IPU/ is not valid for a DQG" },
		{ "DQG.WA0340000.H1.TXT NAM/A,B.DOB/19800101.SEX/M.XYZ/1",
		  MSG_ER_FORMAT, 1, 49, "field XYZ/ is not part of a DQG" },
		{ "DQG.WA0340000.H1.TXT NAM/A,B.DOB/19800101", MSG_ER_REQUIRED,
		  1, 18, "a DQG needs nc:PersonName (surname and given name) "
		  "with nc:PersonBirthDate and nc:PersonSexCode; missing: "
		  "PersonSexCode" },
		{ "DQG.WA0340000.H1.TXT NAM/A.DOB/19800101.SEX/M",
		  MSG_ER_REQUIRED, 1, 18, "missing: PersonGivenName" },
		{ "DQG.WA0340000.H1.TXT NAM/A,B.SEX/M", MSG_ER_DOB, 1, 18,
		  "a DQG by name needs nc:PersonBirthDate" },
		{ "DQG.WA0340000.H1.TXT NAM/A,B.DOB/19810229.SEX/M",
		  MSG_ER_DOB, 1, 30, "no such day" },
		{ "DQG.WA0340000.H1.TXT RSN/T", MSG_ER_REQUIRED, 1, 18,
		  "a DQG needs" },
	};
	struct ubuf	 x;
	struct msg	 m;
	struct msg_diags d;
	size_t		 i;
	int		 rc, ok;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ubuf_init(&x);
		rc = legacy_parse(tl_schema, t[i].text, strlen(t[i].text), 0,
		    0, &x, &m, &d);
		ok = rc == t[i].code;
		if (ok && rc != 0)
			ok = d.n >= 1 && d.d[0].code == rc &&
			    d.d[0].line == t[i].line &&
			    d.d[0].col == t[i].col &&
			    strstr(d.d[0].text, t[i].why) != NULL;
		if (ok && rc == 0)
			ok = m.key == MSG_KEY_DQG &&
			    strstr(tl_str(&x), ">DQG</") != NULL;
		if (!ok) {
			fprintf(stderr, "\n  DQG case %zu \"%s\": want ER %d "
			    "at %d:%d \"%s\", got %d", i, t[i].text,
			    t[i].code, t[i].line, t[i].col,
			    t[i].why ? t[i].why : "", rc);
			tl_dump("dqg", &d);
		}
		CU_ASSERT(ok);
		ubuf_free(&x);
	}
}

/*
 * Several errors in one message are all reported: the legacy syntax
 * errors first (header, fields), then the content errors msgparse found
 * in the XML, each group in text order.
 */
static void
test_multi_error(void)
{
	static const char s[] = "DQ.WA034.C.*ABCDEFGHIJKL.TXT\n"
	    "NAM/SAMPLE.DOB/19810229.SEX/X.RSN/Q.ATN/RECORDS UNIT DESK 4 "
	    "NIGHT SHIFT\n"
	    "XYZ/1\n";
	static const struct {
		int		 code, line, col;
		const char	*xpath;		/* its end */
	} want[] = {
		{ MSG_ER_HEADER, 1, 4, "/nh2:OriginatingORIID" },
		{ MSG_ER_DEST, 1, 10, "/nh2:DestinationORIID" },
		{ MSG_ER_HEADER, 1, 12, "/nh2:DocumentControlFieldText" },
		{ MSG_ER_ATN, 2, 37, "/n2:ResponseAttentionDescriptionText" },
		{ MSG_ER_FORMAT, 3, 1, "/n2:NLETSInquiryData" },
		{ MSG_ER_DOB, 2, 12, "/nc:PersonBirthDate/nc:Date" },
		{ MSG_ER_FORMAT, 2, 25, "/nc:PersonSexCode" },
		{ MSG_ER_FORMAT, 2, 31, "/n2:ReasonCode" },
	};
	struct ubuf	 x;
	struct msg	 m;
	struct msg_diags d;
	size_t		 i, n = sizeof want / sizeof want[0], l;
	int		 ok = 1;

	ubuf_init(&x);
	CU_ASSERT_EQUAL(tl_parse(s, 0, &x, &m, &d), MSG_ER_HEADER);
	CU_ASSERT_EQUAL(d.n, (int)n);
	for (i = 0; i < n && i < (size_t)d.n; i++) {
		l = strlen(d.d[i].xpath);
		if (d.d[i].code != want[i].code ||
		    d.d[i].line != want[i].line ||
		    d.d[i].col != want[i].col || l < strlen(want[i].xpath) ||
		    strcmp(d.d[i].xpath + l - strlen(want[i].xpath),
		    want[i].xpath) != 0)
			ok = 0;
	}
	if (!ok || d.n != (int)n)
		tl_dump("multi-error", &d);
	CU_ASSERT(ok);
	/* The legacy reader's complaints hide msgparse's about the same
	 * element: one diagnostic for the ATN/, none twice. */
	for (i = 0; i < (size_t)d.n; i++)
		for (l = 0; l < i; l++)
			CU_ASSERT(strcmp(d.d[i].xpath, d.d[l].xpath) != 0 ||
			    d.d[i].line != d.d[l].line);
	ubuf_free(&x);
}

/*
 * XML <-> legacy.
 */

/*
 * Every message key: the XML (written by hand, as a state's interface
 * would) renders exactly as the text; the text reads back to an
 * equivalent message, and its XML renders the same text again.
 */
static const struct tl_keycase {
	const char	*name;
	const char	*xml;
	const char	*text;
	const char	*recv;		/* receiving ORI of a delivered one */
	int		 flags;		/* to read the text back */
} tl_keycases[] = {
	{ "YQ",
	  TL_ROOT TL_H("YQ", "WA0340000") TL_D("CAOLN0000") TL_D("ORDMV0000")
	  TL_C("HIT1") TL_HEND TL_Q(
	  "<n2:QueryRequestActivity>"
	  TL_E("n2:QueryRequestSequenceNumber", "1")
	  TL_E("n2:QueryRequestPriorityCode", "U")
	  TL_E("n2:QueryRequestTypeCode", "WP")
	  TL_E("n2:CaseNumberText", "2026-000123")
	  TL_E("n2:NCICNumberText", "W123456789")
	  "</n2:QueryRequestActivity>"
	  "<n2:Person>" TL_DATE("nc:PersonBirthDate", "1975-12-31")
	  "<nc:PersonName>" TL_E("nc:PersonGivenName", "JORDAN")
	  TL_E("nc:PersonSurName", "EXAMPLE") "</nc:PersonName>"
	  TL_E("nc:PersonSexCode", "M") "</n2:Person>") TL_END,
	  "YQ.WA0340000.CAOLN0000.ORDMV0000.*HIT1.TXT\n"
	  "RTY/WP. RNO/1. PRI/U. OCA/2026-000123. NIC/W123456789.\n"
	  "NAM/EXAMPLE,JORDAN. DOB/19751231. SEX/M\n", NULL, 0 },
	{ "YR",
	  TL_ROOT TL_H("YR", "CAOLN0000") TL_D("WA0340000") TL_C("HIT1")
	  TL_HEND TL_R(
	  "<n2:QueryRequestActivity>"
	  TL_E("n2:QueryRequestSequenceNumber", "1")
	  TL_E("n2:QueryRequestTypeCode", "WP")
	  TL_E("n2:CaseNumberText", "2026-000123")
	  TL_E("n2:NCICNumberText", "W123456789")
	  "</n2:QueryRequestActivity>"
	  TL_E("n2:HitConfirmationStatusCode", "N")) TL_END,
	  "YR.CAOLN0000.WA0340000.*HIT1.TXT\n"
	  "RTY/WP. RNO/1. OCA/2026-000123. NIC/W123456789.\n"
	  "CON/N\n", NULL, 0 },
	{ "DQ",
	  TL_ROOT TL_H("DQ", "WA0340000") TL_D("CA") TL_D("NV") TL_C("T1")
	  TL_HEND TL_Q(
	  TL_E("n2:ReasonCode", "T") TL_E("n2:PurposeCode", "C")
	  TL_E("n2:ResponseAttentionDescriptionText", "DESK 4")
	  "<n2:Person>" TL_DATE("nc:PersonBirthDate", "1980-02-29")
	  "<nc:PersonName>" TL_E("nc:PersonGivenName", "ALEX")
	  TL_E("nc:PersonMiddleName", "J") TL_E("nc:PersonSurName", "SAMPLE")
	  TL_E("nc:PersonNameSuffixText", "JR") "</nc:PersonName>"
	  TL_E("nc:PersonSexCode", "F")
	  TL_AUG(TL_LIC("S1234567", "CA")) "</n2:Person>"
	  TL_E("n2:ImageRequestIndicator", "true")
	  "<psp:PhotoPurpose>"
	  TL_E("psp:PurposeCategoryCode", "IDENTIFICATION")
	  TL_E("psp:PurposeUseCode", "TRAFFIC-STOP")
	  TL_E("psp:CircumstanceText", "NO PHOTO ID OFFERED")
	  TL_E("psp:CaseNumberText", "24-000123")
	  "</psp:PhotoPurpose>") TL_END,
	  "DQ.WA0340000.CA.NV.*T1.TXT\n"
	  "NAM/SAMPLE,ALEX J JR. DOB/19800229. SEX/F.\n"
	  "OLN/S1234567. OLS/CA.\n"
	  "IMQ/Y. IPU/IDENTIFICATION,TRAFFIC-STOP. ICI/NO PHOTO ID OFFERED. "
	  "ICN/24-000123.\n"
	  "RSN/T. PUR/C. ATN/DESK 4.\n", NULL, 0 },
	{ "DQG",
	  TL_ROOT TL_H("DQG", "WA0340000") TL_D("H1") TL_D("ID") TL_C("G1")
	  TL_HEND TL_Q(
	  TL_E("n2:ReasonCode", "V")
	  TL_E("n2:ResponseAttentionDescriptionText", "DESK 4")
	  "<n2:Person>" TL_DATE("nc:PersonBirthDate", "1980-02-29")
	  TL_NAME("ALEX", "J", "SAMPLE") TL_E("nc:PersonSexCode", "M")
	  "</n2:Person>") TL_END,
	  "DQG.WA0340000.H1.ID.*G1.TXT\n"
	  "NAM/SAMPLE,ALEX J. DOB/19800229. SEX/M.\n"
	  "RSN/V. ATN/DESK 4.\n", NULL, 0 },
	{ "DR",
	  TL_ROOT TL_H("DR", "CAOLN0000") TL_D("WA0340000") TL_C("T1")
	  TL_HEND TL_R(
	  TL_E("n2:ResponseText", "SYNTHETIC RECORD")
	  "<n2c:Driver>" TL_DATE("nc:PersonBirthDate", "1980-02-29")
	  TL_NAME("ALEX", "J", "SAMPLE") TL_E("nc:PersonSexCode", "F")
	  "<nc:ContactInformation><nc:ContactMailingAddress>"
	  "<nc:StructuredAddress><nc:LocationStreet>"
	  TL_E("nc:StreetFullText", "100 EXAMPLE ST.") "</nc:LocationStreet>"
	  TL_E("nc:LocationCityName", "SAMPLEVILLE")
	  TL_E("nc:LocationStateUSPostalServiceCode", "CA")
	  TL_E("nc:LocationPostalCode", "90000")
	  "</nc:StructuredAddress></nc:ContactMailingAddress>"
	  "</nc:ContactInformation>"
	  TL_AUG(TL_LIC("S1234567", "CA")
	  TL_DATE("nc:DriverLicenseExpirationDate", "2029-02-28")
	  TL_E("nc:DriverLicenseNonCommercialClassText", "C")
	  TL_E("nc:DriverLicenseNonCommercialStatusText", "VALID"))
	  "</n2c:Driver>") TL_END,
	  "DR.CAOLN0000.WA0340000.*T1.TXT\n"
	  "NAM/SAMPLE,ALEX J. DOB/19800229. SEX/F.\n"
	  "OLN/S1234567. OLS/CA.\n"
	  "ADR/100 EXAMPLE ST.. CTY/SAMPLEVILLE. STA/CA. ZIP/90000.\n"
	  "CLS/C. LST/VALID. EXP/20290228.\n"
	  "MIS/SYNTHETIC RECORD\n", NULL, 0 },
	{ "DR not on file",
	  TL_ROOT TL_H("DR", "CAOLN0000") TL_D("WA0340000") TL_C("T42")
	  TL_HEND TL_R(TL_E("n2:ResponseText",
	  "NOT ON FILE\nNO RECORD FOR OLN/S7654321.")) TL_END,
	  "DR.CAOLN0000.WA0340000.*T42.TXT\n"
	  "NOT ON FILE\nNO RECORD FOR OLN/S7654321.\n", NULL, 0 },
	{ "DR delivered",
	  TL_ROOT TL_H("DR", "CAOLN0000") TL_D("WA0340000") TL_C("T42")
	  TL_E("nh2:MessageReceiveDate", "05/01/2024")
	  TL_E("nh2:MessageReceiveTime", "14:02")
	  TL_E("nh2:MessageSendDate", "05/01/2024")
	  TL_E("nh2:MessageSendTime", "14:03")
	  TL_E("nh2:ReceiveMessageNumeric", "00123")
	  TL_E("nh2:SendMessageNumeric", "00045")
	  TL_HEND TL_R(TL_E("n2:ResponseText", "FILE NOT AVAILABLE")) TL_END,
	  "DR.CAOLN0000.*T42\n"
	  "14:02 05/01/2024 00123\n"
	  "14:03 05/01/2024 00045 WA0340000\n"
	  "TXT\n"
	  "FILE NOT AVAILABLE\n", "WA0340000", LEGACY_STAMPED },
	{ "KQ",
	  TL_ROOT TL_H("KQ", "WA0340000") TL_D("OR") TL_C("K2") TL_HEND TL_Q(
	  TL_E("n2:PurposeCode", "C")
	  TL_E("n2:ResponseAttentionDescriptionText", "DET SAMPLE RECORDS")
	  "<n2c:Driver>" TL_AUG(TL_LIC("ORX0001", "OR")) "</n2c:Driver>")
	  TL_END,
	  "KQ.WA0340000.OR.*K2.TXT\n"
	  "OLN/ORX0001. OLS/OR.\n"
	  "PUR/C. ATN/DET SAMPLE RECORDS.\n", NULL, 0 },
	{ "KR",
	  TL_ROOT TL_H("KR", "ORDMV0000") TL_D("WA0340000") TL_C("K1")
	  TL_HEND TL_R(
	  "<n2c:Driver>" TL_DATE("nc:PersonBirthDate", "1975-12-31")
	  "<nc:PersonName>" TL_E("nc:PersonGivenName", "JORDAN")
	  TL_E("nc:PersonSurName", "EXAMPLE") "</nc:PersonName>"
	  TL_E("nc:PersonSexCode", "M")
	  "<j:PersonAugmentation><nc:DriverLicense>"
	  TL_LIC("ORX0001", "OR")
	  TL_E("nc:DriverLicenseNonCommercialStatusText", "SUSPENDED")
	  "</nc:DriverLicense>"
	  "<j:PersonDrivingIncident>"
	  TL_E("nc:ActivityCategoryText", "SPD")
	  TL_DATE("nc:ActivityDate", "2019-06-01")
	  TL_E("nc:ActivityDescriptionText", "SPEEDING 15 OVER")
	  "<j:DrivingIncidentJurisdiction>"
	  TL_E("nc:LocationStateUSPostalServiceCode", "OR")
	  "</j:DrivingIncidentJurisdiction></j:PersonDrivingIncident>"
	  "<j:PersonDrivingIncident>"
	  TL_E("nc:ActivityCategoryText", "SUSP")
	  TL_DATE("nc:ActivityDate", "2021-03-15")
	  "</j:PersonDrivingIncident>"
	  "</j:PersonAugmentation></n2c:Driver>") TL_END,
	  "KR.ORDMV0000.WA0340000.*K1.TXT\n"
	  "NAM/EXAMPLE,JORDAN. DOB/19751231. SEX/M.\n"
	  "OLN/ORX0001. OLS/OR.\n"
	  "LST/SUSPENDED.\n"
	  "HST/20190601,SPD,OR,SPEEDING 15 OVER.\n"
	  "HST/20210315,SUSP,,.\n", NULL, 0 },
	{ "DNQ",
	  TL_ROOT TL_H("DNQ", "WA0340000") TL_D("CA") TL_D("ID") TL_D("NV")
	  TL_HEND TL_Q(TL_E("n2:ReasonCode", "V")
	  "<n2:Person>" TL_DATE("nc:PersonBirthDate", "1980-02-29")
	  "<nc:PersonName>" TL_E("nc:PersonGivenName", "ALEX")
	  TL_E("nc:PersonSurName", "SAMPLE") "</nc:PersonName>"
	  TL_E("nc:PersonSexCode", "M") "</n2:Person>") TL_END,
	  "DNQ.WA0340000.CA.ID.NV.TXT\n"
	  "NAM/SAMPLE,ALEX. DOB/19800229. SEX/M.\n"
	  "RSN/V.\n", NULL, 0 },
	{ "DNR",
	  TL_ROOT TL_H("DNR", "CAOLN0000") TL_D("WA0340000") TL_HEND TL_R(
	  "<n2c:Driver>" TL_DATE("nc:PersonBirthDate", "1980-02-29")
	  "<nc:PersonName>" TL_E("nc:PersonGivenName", "ALEX")
	  TL_E("nc:PersonSurName", "SAMPLE") "</nc:PersonName>"
	  TL_E("nc:PersonSexCode", "M") TL_AUG(TL_LIC("S1234567", "CA"))
	  "</n2c:Driver>"
	  "<n2c:Driver>" TL_DATE("nc:PersonBirthDate", "2000-01-01")
	  "<nc:PersonName>" TL_E("nc:PersonGivenName", "ALEXANDER")
	  TL_E("nc:PersonSurName", "SAMPLE") "</nc:PersonName>"
	  TL_E("nc:PersonSexCode", "M") TL_AUG(TL_LIC("S8888888", "CA"))
	  "</n2c:Driver>") TL_END,
	  "DNR.CAOLN0000.WA0340000.TXT\n"
	  "NAM/SAMPLE,ALEX. DOB/19800229. SEX/M.\n"
	  "OLN/S1234567. OLS/CA.\n"
	  "\n"
	  "NAM/SAMPLE,ALEXANDER. DOB/20000101. SEX/M.\n"
	  "OLN/S8888888. OLS/CA.\n", NULL, 0 },
	/* Any prefix: the reader goes by namespace. */
	{ "AM",
	  "<x:NLETS xmlns:x=\"" MSG_NS_N2 "\" xmlns:h=\"" MSG_NS_NH2 "\""
	  " x:version=\"4.00\"><x:NLETSMessageHeader>"
	  TL_E("h:MessageKeyCodeText", "AM")
	  TL_E("h:OriginatingORIID", "WA0340000")
	  TL_E("h:DestinationORIID", "ORPDX0000")
	  TL_E("h:DocumentControlFieldText", "<![CDATA[ A1 ]]>")
	  "</x:NLETSMessageHeader><x:NLETSMailData>"
	  TL_E("x:MailMessageText", "ATTN RECORDS: CONFIRM RECEIPT. "
	  "REPLY TO WA0340000.\nSECOND LINE, WITH A/SLASH &amp; MORE.")
	  "</x:NLETSMailData></x:NLETS>",
	  "AM.WA0340000.ORPDX0000.*A1.TXT\n"
	  "ATTN RECORDS: CONFIRM RECEIPT. REPLY TO WA0340000.\n"
	  "SECOND LINE, WITH A/SLASH & MORE.\n", NULL, 0 },
	{ "AML",
	  TL_ROOT TL_H("AML", "WA0340000") TL_D("CA") TL_D("OR") TL_HEND
	  TL_M("AML", TL_E("n2:MailMessageText", "SURVEILLANCE DETAIL "
	  "MONDAY 0600-1400")) TL_END,
	  "AML.WA0340000.CA.OR.TXT\n"
	  "SURVEILLANCE DETAIL MONDAY 0600-1400\n", NULL, 0 },
	{ "AA",
	  TL_ROOT TL_H("AA", "WA0340000") TL_D("WR") TL_C("AA1") TL_HEND
	  TL_M("AA", TL_E("n2:MailMessageText", "AMBER ALERT - CHILD "
	  "ABDUCTION\nLAST SEEN 1400 HRS NEAR SAMPLEVILLE")) TL_END,
	  "AA.WA0340000.WR.*AA1.TXT\n"
	  "AMBER ALERT - CHILD ABDUCTION\n"
	  "LAST SEEN 1400 HRS NEAR SAMPLEVILLE\n", NULL, 0 },
	{ "SM",
	  TL_ROOT TL_H("SM", "CAOLN0000") TL_D("WA0340000") TL_HEND
	  TL_M("SM", TL_E("n2:StatusMessageText", "CA DMV DRIVER FILES OUT "
	  "OF SERVICE UNTIL 0400 PST")) TL_END,
	  "SM.CAOLN0000.WA0340000.TXT\n"
	  "CA DMV DRIVER FILES OUT OF SERVICE UNTIL 0400 PST\n", NULL, 0 },
	{ "ER",
	  TL_ROOT TL_H("ER", "NL0000000") TL_D("WA0340000") TL_C("T22")
	  TL_HEND TL_R(TL_E("n2:ResponseText", "<![CDATA["
	  ".22. INVALID MESSAGE FORMAT - REFER TO DQ MKE OPTIONS BELOW\n"
	  "1. OLN\n2. NAM, DOB, SEX\nfield XYZ/ is not part of a DQ\n"
	  "ORIGINAL MESSAGE\nDQ.WA0340000.CA.*T22.TXT\nOLN/S1234567.XYZ/1"
	  "]]>")) TL_END,
	  "ER.NL0000000.WA0340000.*T22.TXT\n"
	  ".22. INVALID MESSAGE FORMAT - REFER TO DQ MKE OPTIONS BELOW\n"
	  "1. OLN\n2. NAM, DOB, SEX\nfield XYZ/ is not part of a DQ\n"
	  "ORIGINAL MESSAGE\nDQ.WA0340000.CA.*T22.TXT\nOLN/S1234567.XYZ/1\n",
	  NULL, 0 },
};

static void
test_keys_roundtrip(void)
{
	const struct tl_keycase	*c;
	struct ubuf		 x2, x3;
	struct msg		 m1, m2, m3;
	struct msg_diags	 d;
	char			*t1, *t2;
	size_t			 i;
	unsigned int		 keys = 0;
	int			 rc;

	for (i = 0; i < sizeof tl_keycases / sizeof tl_keycases[0]; i++) {
		c = &tl_keycases[i];
		ubuf_init(&x2);
		ubuf_init(&x3);
		rc = msgparse_message(tl_schema, c->xml, strlen(c->xml), 0, 0,
		    &m1, &d);
		if (rc != 0)
			tl_dump(c->name, &d);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		keys |= 1u << m1.key;
		/* XML -> text: exactly the text. */
		t1 = tl_render(c->name, c->xml, strlen(c->xml), c->recv);
		CU_ASSERT(tl_same_text(c->name, c->text, t1));
		free(t1);
		/* text -> XML: an equivalent message ... */
		rc = tl_parse(c->text, c->flags, &x2, &m2, &d);
		if (rc != 0)
			tl_dump(c->name, &d);
		CU_ASSERT_EQUAL(rc, 0);
		tl_same_msg(c->name, &m1, &m2, 1);
		/* ... that msgparse accepts as it is ... */
		CU_ASSERT_EQUAL(msgparse_message(tl_schema, x2.data, x2.len,
		    0, 0, &m3, &d), 0);
		tl_same_msg(c->name, &m2, &m3, 1);
		/* ... and that renders the same text again. */
		t2 = tl_render(c->name, x2.data, x2.len, c->recv);
		CU_ASSERT(tl_same_text(c->name, c->text, t2));
		/* That text reads to the same XML, byte for byte. */
		CU_ASSERT_EQUAL(t2 ? tl_parse(t2, c->flags, &x3, &m3, &d) :
		    -1, 0);
		CU_ASSERT(x2.len == x3.len && memcmp(x2.data, x3.data,
		    x2.len) == 0);
		free(t2);
		ubuf_free(&x2);
		ubuf_free(&x3);
	}
	CU_ASSERT_EQUAL(keys, TL_ALL_KEYS);
}

/*
 * The output header: a stamped message renders MKE.ORI[.*CTL], the
 * receive line, the send line with the receiving ORI, TXT; read back
 * (LEGACY_STAMPED only) it carries the same stamps.
 */
static void
test_output_header(void)
{
	const char *const	 dests[] = { "CA", "NV" };
	struct msgbuild_stamp	 st = { 1714572131000000ULL, 123,
				    1714572192000000ULL, 100045, NULL };
	struct ubuf		 q, stamped, x, er;
	struct msg		 m, m2;
	struct msg_diags	 d;
	char			 rdate[11], rtime[6], sdate[11], stime[6];
	char			*t, *want, *el;
	int			 rc;

	ubuf_init(&q);
	ubuf_init(&stamped);
	ubuf_init(&x);
	ubuf_init(&er);
	msgbuild_stamp_time(st.recv_us, rdate, rtime);
	msgbuild_stamp_time(st.send_us, sdate, stime);
	msgbuild_begin(&q, MSG_KEY_DQ, "WA0340000", dests, 2, "T42");
	msgbuild_person(&q, "n2:Person", &(struct msgbuild_person){
	    .oln = "S1234567" });
	msgbuild_end(&q, MSG_KEY_DQ);
	CU_ASSERT_EQUAL_FATAL(msgparse_message(tl_schema, q.data, q.len, 0,
	    0, &m, &d), 0);
	msgbuild_stamp(&stamped, q.data, q.len, m.stamp_off, &st);

	/* The receiving ORI on the third line; the output sequence mod
	 * 100000 in 5 digits. */
	t = tl_render("stamped", stamped.data, stamped.len, "CAOLN0000");
	want = xasprintf("DQ.WA0340000.*T42\n"
	    "%s %s 00123\n"
	    "%s %s 00045 CAOLN0000\n"
	    "TXT\n"
	    "OLN/S1234567.\n", rtime, rdate, stime, sdate);
	CU_ASSERT(tl_same_text("stamped", want, t));
	free(want);

	/* Back: accepted as delivered, with the same stamps. */
	rc = t ? tl_parse(t, LEGACY_STAMPED, &x, &m2, &d) : -1;
	if (rc != 0)
		tl_dump("stamped", &d);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(m2.key, MSG_KEY_DQ);
	CU_ASSERT_STRING_EQUAL(m2.ori, "WA0340000");
	CU_ASSERT_STRING_EQUAL(m2.ctl, "T42");
	CU_ASSERT(m2.ndest == 1 && strcmp(m2.dest[0], "CAOLN0000") == 0);
	CU_ASSERT_STRING_EQUAL(m2.person.oln, "S1234567");
	el = xasprintf("<nh2:MessageReceiveDate>%s</nh2:MessageReceiveDate>"
	    "\n<nh2:MessageReceiveTime>%s</nh2:MessageReceiveTime>\n"
	    "<nh2:MessageSendDate>%s</nh2:MessageSendDate>\n"
	    "<nh2:MessageSendTime>%s</nh2:MessageSendTime>\n"
	    "<nh2:ReceiveMessageNumeric>00123</nh2:ReceiveMessageNumeric>\n"
	    "<nh2:SendMessageNumeric>00045</nh2:SendMessageNumeric>\n"
	    "</n2:NLETSMessageHeader>", rdate, rtime, sdate, stime);
	CU_ASSERT_PTR_NOT_NULL(strstr(tl_str(&x), el));
	free(el);
	/* Rendered again (the first destination is now the receiver). */
	free(t);
	t = tl_render("stamped again", x.data, x.len, NULL);
	want = xasprintf("DQ.WA0340000.*T42\n%s %s 00123\n"
	    "%s %s 00045 CAOLN0000\nTXT\nOLN/S1234567.\n", rtime, rdate,
	    stime, sdate);
	CU_ASSERT(tl_same_text("stamped again", want, t));
	free(want);
	/* A sender may not write the output header: ER .01. at line 2. */
	ubuf_reset(&x);
	CU_ASSERT_EQUAL(t ? tl_parse(t, 0, &x, &m2, &d) : -1, MSG_ER_HEADER);
	CU_ASSERT(d.n >= 1 && d.d[0].line == 2 && d.d[0].col == 1);
	free(t);

	/* No receiving ORI given: the first destination. */
	t = tl_render("no recv", stamped.data, stamped.len, NULL);
	CU_ASSERT(t != NULL && strstr(t, " 00045 CA\nTXT\n") != NULL);
	free(t);
	/* Not stamped: the sender's form, every destination. */
	t = tl_render("sender", q.data, q.len, "CAOLN0000");
	CU_ASSERT(tl_same_text("sender", "DQ.WA0340000.CA.NV.*T42.TXT\n"
	    "OLN/S1234567.\n", t));
	free(t);

	/* An ER as the switch delivers it (input sequence 00000). */
	ubuf_reset(&stamped);
	msgbuild_er(&er, "WA0340000", "T42", MSG_ER_DEST, MSG_KEY_DQ,
	    "unknown destination ZZ", "DQ.WA0340000.ZZ.*T42.TXT OLN/S1",
	    31);
	CU_ASSERT_EQUAL_FATAL(msgparse_message(tl_schema, er.data, er.len,
	    0, 0, &m, &d), 0);
	st.in_seq = 0;
	msgbuild_stamp(&stamped, er.data, er.len, m.stamp_off, &st);
	t = tl_render("ER stamped", stamped.data, stamped.len, "WA0340000");
	want = xasprintf("ER.NL0000000.*T42\n%s %s 00000\n"
	    "%s %s 00045 WA0340000\nTXT\n"
	    ".19. INVALID DESTINATION ORIs\nunknown destination ZZ\n"
	    "ORIGINAL MESSAGE\nDQ.WA0340000.ZZ.*T42.TXT OLN/S1\n", rtime,
	    rdate, stime, sdate);
	CU_ASSERT(tl_same_text("ER stamped", want, t));
	free(want);
	ubuf_reset(&x);
	CU_ASSERT_EQUAL(t ? tl_parse(t, LEGACY_STAMPED, &x, &m2, &d) : -1, 0);
	CU_ASSERT_EQUAL(m2.key, MSG_KEY_ER);
	CU_ASSERT_EQUAL(m2.status, MSG_ER_DEST);
	free(t);
	ubuf_free(&q);
	ubuf_free(&stamped);
	ubuf_free(&x);
	ubuf_free(&er);
}

/*
 * What text cannot carry: a photo becomes an IMG/ note (never the
 * image), the category of an Amber Alert a first text line, a
 * standardized Amber Alert a note.
 */
static void
test_lossy(void)
{
	static const struct {
		const char	*name;
		const char	*xml;
		const char	*text;
		int		 nrecords;	/* of the text read back */
	} t[] = {
		{ "DR record with photo",
		  TL_ROOT TL_H("DR", "CAOLN0000") TL_D("WA0340000") TL_HEND
		  TL_R("<n2c:Driver>" TL_DATE("nc:PersonBirthDate",
		  "1980-02-29") TL_PHOTO
		  TL_E("psp:DoNotRetainIndicator", "true")
		  TL_NAME("ALEX", "J", "SAMPLE")
		  TL_AUG(TL_LIC("S1234567", "CA")) "</n2c:Driver>") TL_END,
		  "DR.CAOLN0000.WA0340000.TXT\n"
		  "NAM/SAMPLE,ALEX J. DOB/19800229.\n"
		  "OLN/S1234567. OLS/CA.\n" TL_PHOTO_NOTE "\n", 1 },
		{ "DR free text with photo",
		  TL_ROOT TL_H("DR", "CAOLN0000") TL_D("WA0340000") TL_HEND
		  TL_R(TL_E("n2:ResponseText", "RECORD ON FILE, PHOTO BELOW")
		  TL_PHOTO) TL_END,
		  "DR.CAOLN0000.WA0340000.TXT\n"
		  "RECORD ON FILE, PHOTO BELOW\n" TL_PHOTO_NOTE "\n", 0 },
		{ "DR photo only",
		  TL_ROOT TL_H("KR", "CAOLN0000") TL_D("WA0340000") TL_HEND
		  TL_R(TL_PHOTO) TL_END,
		  "KR.CAOLN0000.WA0340000.TXT\n" TL_PHOTO_NOTE "\n", 0 },
		{ "AM with image",
		  TL_ROOT TL_H("AM", "WA0340000") TL_D("CA") TL_HEND
		  TL_M("AM", TL_E("n2:MailMessageText", "SEE ATTACHED")
		  "<nc:Image>" TL_E("nc:BinaryBase64Object",
		  "/9j/4AAQSkZJRgABAQ==") "</nc:Image>") TL_END,
		  "AM.WA0340000.CA.TXT\nSEE ATTACHED\n" TL_PHOTO_NOTE "\n",
		  0 },
		{ "AA with category",
		  TL_ROOT TL_H("AA", "WA0340000") TL_D("WR") TL_HEND
		  TL_M("AA", TL_E("n2:AmberAlertCategoryText",
		  "CHILD ABDUCTION") TL_E("n2:MailMessageText",
		  "LAST SEEN 1400 HRS")) TL_END,
		  "AA.WA0340000.WR.TXT\nCHILD ABDUCTION\nLAST SEEN 1400 HRS\n",
		  0 },
		{ "AA standardized",
		  TL_ROOT TL_H("AA", "WA0340000") TL_D("WR") TL_HEND
		  "<n2:NLETSMailData><n2-aa:AmberAlert xmlns:n2-aa=\""
		  MSG_NS_AA "\"><n2-aa:Anything>X</n2-aa:Anything>"
		  "</n2-aa:AmberAlert></n2:NLETSMailData>" TL_END,
		  "AA.WA0340000.WR.TXT\n"
		  "STANDARDIZED AMBER ALERT NOT AVAILABLE IN TEXT FORMAT\n", 0 },
	};
	struct ubuf	 x;
	struct msg	 m1, m2;
	struct msg_diags d;
	char		*r, *r2;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ubuf_init(&x);
		rc = msgparse_message(tl_schema, t[i].xml, strlen(t[i].xml),
		    0, 0, &m1, &d);
		if (rc != 0)
			tl_dump(t[i].name, &d);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		r = tl_render(t[i].name, t[i].xml, strlen(t[i].xml), NULL);
		CU_ASSERT(tl_same_text(t[i].name, t[i].text, r));
		/* Never the image itself. */
		CU_ASSERT(r == NULL || strstr(r, "/9j/") == NULL);
		/* The text reads back, without any photo. */
		rc = r ? tl_parse(r, 0, &x, &m2, &d) : -1;
		if (rc != 0)
			tl_dump(t[i].name, &d);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(m2.has_photo, 0);
		CU_ASSERT_EQUAL(m2.nrecords, t[i].nrecords);
		tl_same_msg(t[i].name, &m1, &m2, 0);
		/* And is a fixed point: the same text again. */
		r2 = tl_render(t[i].name, x.data, x.len, NULL);
		if (r2 != NULL && strstr(t[i].name, "record") != NULL) {
			/* The note of a record is not data: gone. */
			CU_ASSERT_PTR_NULL(strstr(r2, "IMG/"));
		} else
			CU_ASSERT(tl_same_text(t[i].name, t[i].text, r2));
		free(r2);
		free(r);
		ubuf_free(&x);
	}
}

/*
 * Responses: fields when the text starts with a prefix of the key, else
 * free text (n2:ResponseText), "NOT ON FILE" first marking not on file.
 */
static void
test_freetext(void)
{
	static const struct {
		const char	*body;
		int		 freetext, not_on_file, nrecords;
	} t[] = {
		{ "NOT ON FILE", 1, 1, 0 },
		{ "NOT ON FILE\nMIS/NO RECORD FOR OLN/S7654321.", 1, 1, 0 },
		{ "  NOT ON FILE - CHECK OLN", 1, 1, 0 },
		{ "FILE NOT AVAILABLE", 1, 0, 0 },
		{ "TEMPORARILY UNAVAILABLE", 1, 0, 0 },
		{ "PID/ EXP/ ISS/ IN THE STATE OWN LAYOUT", 1, 0, 0 },
		{ "RSN/T IS NOT A RESPONSE FIELD", 1, 0, 0 },
		{ "HST/20190601,SPD,OR,X", 1, 0, 0 },	/* KR only */
		{ "NAM/SAMPLE,ALEX.DOB/19800229.SEX/M.OLN/S1", 0, 0, 1 },
		{ "NAM/A,B.SEX/M.OLN/S1\nNAM/C,D.SEX/F.OLN/S2\n"
		  "MIS/TWO. NOT ON FILE", 0, 0, 2 },
		{ "MIS/NOT ON FILE", 0, 1, 0 },
	};
	struct ubuf	 x;
	struct msg	 m;
	struct msg_diags d;
	char		*s, *el;
	size_t		 i;
	int		 rc, records;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ubuf_init(&x);
		s = xasprintf("DR.CAOLN0000.WA0340000.TXT\n%s", t[i].body);
		rc = tl_parse(s, 0, &x, &m, &d);
		if (rc != 0)
			tl_dump(t[i].body, &d);
		CU_ASSERT_EQUAL(rc, 0);
		records = strstr(tl_str(&x), "<n2c:Driver>") != NULL;
		if (t[i].freetext) {
			/* All of it, lines and all, is the text. */
			el = xasprintf("<n2:ResponseText>%s<", t[i].body +
			    strspn(t[i].body, " "));
			CU_ASSERT_PTR_NOT_NULL(strstr(tl_str(&x), el));
			free(el);
		}
		CU_ASSERT_EQUAL(records, !t[i].freetext && t[i].nrecords);
		CU_ASSERT_EQUAL(m.not_on_file, t[i].not_on_file);
		CU_ASSERT_EQUAL(m.nrecords, t[i].nrecords);
		free(s);
		ubuf_free(&x);
	}
}

/*
 * ER: the words, the detail, ORIGINAL MESSAGE and exactly the first 100
 * characters of the input, the same in XML and in text, and msg_er_split
 * finds each part again in the text read back.
 */
static void
test_er_text(void)
{
	static const char in[] = "DQ.WA0340000.CA.*T4.TXT\n"
	    "NAM/SAMPLE,ALEX.DOB/19810229.SEX/M.ATN/THE DESK NAME LONG ENOUGH "
	    "TO PUSH THIS INPUT PAST ONE HUNDRED CHARACTERS";
	static const char detail[] = "birth date \"1981-02-29\": no such "
	    "day in that month";
	struct msg_er_parts	 p;
	struct ubuf		 er, x;
	struct msg		 m;
	struct msg_diags	 d;
	const char		*body;
	char			*t, *want;

	CU_ASSERT_FATAL(strlen(in) > MSG_ER_INPUT_LEN);
	CU_ASSERT(in[MSG_ER_INPUT_LEN - 1] != ' ');
	ubuf_init(&er);
	ubuf_init(&x);
	msgbuild_er(&er, "WA0340000", "T4", MSG_ER_DOB, MSG_KEY_DQ, detail,
	    in, strlen(in));
	t = tl_render("ER", er.data, er.len, NULL);
	want = xasprintf("ER.NL0000000.WA0340000.*T4.TXT\n"
	    ".05. DOB INVALID or MISSING\n%s\nORIGINAL MESSAGE\n%.*s\n",
	    detail, MSG_ER_INPUT_LEN, in);
	CU_ASSERT(tl_same_text("ER", want, t));
	free(want);
	CU_ASSERT_EQUAL_FATAL(t ? tl_parse(t, 0, &x, &m, &d) : -1, 0);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_ER);
	CU_ASSERT_EQUAL(m.status, MSG_ER_DOB);
	CU_ASSERT_STRING_EQUAL(m.ori, MSG_SWITCH_ORI);
	CU_ASSERT_STRING_EQUAL(m.ctl, "T4");
	CU_ASSERT_PTR_NOT_NULL(strstr(tl_str(&x), "ORIGINAL MESSAGE\n"
	    "DQ.WA0340000.CA.*T4.TXT\nNAM/SAMPLE,ALEX.DOB/19810229."));
	CU_ASSERT_PTR_NOT_NULL(strstr(tl_str(&x), "PUSH THI"
	    "</n2:ResponseText>"));
	body = strstr(t, "TXT\n") + 4;
	CU_ASSERT_EQUAL(msg_er_split(body, strlen(body), &p), 0);
	CU_ASSERT_EQUAL(p.code, MSG_ER_DOB);
	CU_ASSERT(p.reasonlen == strlen(msg_er_reason(MSG_ER_DOB)) &&
	    memcmp(p.reason, msg_er_reason(MSG_ER_DOB), p.reasonlen) == 0);
	CU_ASSERT(p.detaillen == strlen(detail) &&
	    memcmp(p.detail, detail, p.detaillen) == 0);
	/* The input quoted and the newline the rendering ends with. */
	CU_ASSERT(p.inputlen == MSG_ER_INPUT_LEN + 1 &&
	    memcmp(p.input, in, MSG_ER_INPUT_LEN) == 0);
	free(t);

	/* .22.: the key's options after the words, then the detail. */
	ubuf_reset(&er);
	msgbuild_er(&er, "WA0340000", NULL, MSG_ER_FORMAT, MSG_KEY_DNQ,
	    "field OLN/ is not part of a DNQ", "DNQ.WA0340000.CA.TXT "
	    "NAM/A,B.OLN/X", 34);
	t = tl_render("ER .22.", er.data, er.len, NULL);
	CU_ASSERT(tl_same_text("ER .22.", "ER.NL0000000.WA0340000.TXT\n"
	    ".22. INVALID MESSAGE FORMAT - REFER TO DNQ MKE OPTIONS BELOW\n"
	    "1. NAM\n2. NAM, DOB\n3. NAM, SEX\n4. NAM, DOB, SEX\n"
	    "field OLN/ is not part of a DNQ\n"
	    "ORIGINAL MESSAGE\nDNQ.WA0340000.CA.TXT NAM/A,B.OLN/X\n", t));
	body = t ? strstr(t, "TXT\n") + 4 : "";
	CU_ASSERT_EQUAL(msg_er_split(body, strlen(body), &p), 0);
	CU_ASSERT_EQUAL(p.code, MSG_ER_FORMAT);
	CU_ASSERT(p.detaillen == 31 && memcmp(p.detail, "field OLN/", 10) ==
	    0);
	free(t);
	ubuf_free(&er);
	ubuf_free(&x);
}

/*
 * Fixtures.
 */

/* One legacy fixture directory: valid, invalid or policy. */
static void
tl_fixture_dir(const char *dir, int flags, unsigned int *keys, int *nfile)
{
	char			**files = tl_list(dir, ".txt");
	struct tl_fixture	 f;
	struct ubuf		 x1, x2;
	struct msg		 m1, m2;
	struct msg_diags	 d;
	char			*t2, *t3;
	size_t			 i;
	int			 rc, valid = strstr(dir, "invalid") == NULL;

	for (i = 0; files[i] != NULL; i++, (*nfile)++) {
		CU_ASSERT_EQUAL_FATAL(tl_fixture_read(files[i], &f), 0);
		ubuf_init(&x1);
		ubuf_init(&x2);
		rc = legacy_parse(tl_schema, f.text, strlen(f.text), f.maxlen,
		    flags, &x1, &m1, &d);
		if (valid) {
			/* policy/: a valid message; the switch's policy
			 * decides the rest (it_validate). */
			if (rc != 0)
				tl_dump(files[i], &d);
			CU_ASSERT_EQUAL(rc, 0);
		} else {
			if (rc != f.want || f.want <= 0) {
				fprintf(stderr, "\n  %s: want ER %d, got %d",
				    files[i], f.want, rc);
				tl_dump(files[i], &d);
			}
			CU_ASSERT(f.want > 0);
			CU_ASSERT_EQUAL(rc, f.want);
			CU_ASSERT(d.n > 0 && d.d[0].code == rc);
		}
		if (rc != 0)
			goto next;
		*keys |= 1u << m1.key;
		/* text -> XML -> text -> XML: the same XML, and the second
		 * text is the canonical rendering (a fixed point). */
		t2 = tl_render(files[i], x1.data, x1.len, NULL);
		rc = t2 ? tl_parse(t2, flags, &x2, &m2, &d) : -1;
		if (rc != 0)
			tl_dump(files[i], &d);
		CU_ASSERT_EQUAL(rc, 0);
		tl_same_msg(files[i], &m1, &m2, 1);
		if (x1.len != x2.len || memcmp(x1.data, x2.data, x1.len)) {
			fprintf(stderr, "\n  %s: XML differs:\n%.*s\n%.*s",
			    files[i], (int)x1.len, x1.data, (int)x2.len,
			    x2.data);
			CU_FAIL("legacy round trip");
		}
		t3 = tl_render(files[i], x2.data, x2.len, NULL);
		CU_ASSERT(tl_same_text(files[i], t2, t3));
		free(t3);
		free(t2);
next:
		ubuf_free(&x1);
		ubuf_free(&x2);
		free(f.buf);
	}
	tl_list_free(files);
}

static void
test_fixtures(void)
{
	unsigned int	 keys = 0, skeys = 0, none = 0;
	int		 n = 0, nd = 0, ni = 0, np = 0;

	tl_fixture_dir("fixtures/legacy/valid", 0, &keys, &n);
	tl_fixture_dir("fixtures/legacy/delivered", LEGACY_STAMPED, &skeys,
	    &nd);
	tl_fixture_dir("fixtures/legacy/invalid", 0, &none, &ni);
	tl_fixture_dir("fixtures/legacy/policy", 0, &none, &np);
	CU_ASSERT(n >= 30);
	CU_ASSERT(nd >= 3);
	CU_ASSERT(ni >= 40);
	CU_ASSERT(np >= 8);
	/* Every key has a valid example; delivered ones of both kinds. */
	CU_ASSERT_EQUAL(keys, TL_ALL_KEYS);
	CU_ASSERT(skeys & (1u << MSG_KEY_DR));
	CU_ASSERT(skeys & (1u << MSG_KEY_ER));
	CU_ASSERT(skeys & (1u << MSG_KEY_SM));
}

/*
 * The ER examples: one per ER number, named after it, each with Nlets'
 * words, a detail line, ORIGINAL MESSAGE and at most 100 characters of
 * an input that is a legacy message.
 */
static void
test_er_fixtures(void)
{
	static const int	 codes[] = { 1, 2, 3, 5, 14, 16, 19, 22, 90,
				    91, 92, 93, 94 };
	struct tl_fixture	 f;
	struct msg_er_parts	 p;
	struct ubuf		 x;
	struct msg		 m;
	struct msg_diags	 d;
	char			 rel[64];
	const char		*body;
	size_t			 i, n;

	for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		snprintf(rel, sizeof rel, "fixtures/legacy/valid/er-%02d.txt",
		    codes[i]);
		if (tl_fixture_read(rel, &f) != 0) {
			fprintf(stderr, "\n  no %s", rel);
			CU_FAIL("ER fixture missing");
			continue;
		}
		ubuf_init(&x);
		CU_ASSERT_EQUAL(tl_parse(f.text, 0, &x, &m, &d), 0);
		CU_ASSERT_EQUAL(m.key, MSG_KEY_ER);
		CU_ASSERT_EQUAL(m.status, codes[i]);
		CU_ASSERT_STRING_EQUAL(m.ori, MSG_SWITCH_ORI);
		body = strstr(f.text, ".TXT\n");
		CU_ASSERT_PTR_NOT_NULL_FATAL(body);
		body += 5;
		CU_ASSERT_EQUAL(msg_er_split(body, strlen(body), &p), 0);
		CU_ASSERT_EQUAL(p.code, codes[i]);
		n = strlen(msg_er_reason(codes[i]));
		CU_ASSERT(p.reasonlen >= n && memcmp(p.reason,
		    msg_er_reason(codes[i]), n) == 0);
		CU_ASSERT(p.detaillen > 0);
		/* The input, one newline after it at most. */
		n = p.inputlen;
		if (n > 0 && p.input[n - 1] == '\n')
			n--;
		CU_ASSERT(n > 0 && n <= MSG_ER_INPUT_LEN);
		CU_ASSERT(p.input != NULL && legacy_is_text(p.input, n) &&
		    isupper((unsigned char)p.input[0]));
		ubuf_free(&x);
		free(f.buf);
	}
}

/*
 * Positions.
 */

/* msgparse's xpaths (of the XML the text became) back in the text. */
static void
test_locate(void)
{
	static const char dr[] = "DR.CAOLN0000.WA0340000.TXT\n"
	    "NAM/A,B.DOB/19800101.SEX/M.OLN/1.OLS/CA\n\n"
	    "NAM/C,D.DOB/19800101.SEX/M.OLN/2.OLS/CA\n"
	    "EXP/20300101\n";
	static const char dq[] = "DQ.WA0340000.CA.*T1.TXT\n"
	    "NAM/A,B.DOB/19800101.SEX/M\n"
	    "IMQ/Y.IPU/IDENTIFICATION,TRAFFIC-STOP.ICI/X";
	static const char kr[] = "KR.ORDMV0000.WA0340000.TXT\n"
	    "NAM/A,B.DOB/19800101.SEX/M\n"
	    "HST/20190601,SPD,OR,X\nHST/20200101,SPD,OR,Y";
	static const char del[] = "DR.CAOLN0000.*T42\n"
	    "14:02 05/01/2024 00123\n"
	    "14:02 05/01/2024 00045 WA0340000\n"
	    "TXT\nNOT ON FILE\n";
#define RD	"/n2:NLETS/n2:NLETSResponseData"
#define IQ	"/n2:NLETS/n2:NLETSInquiryData"
#define HD	"/n2:NLETS/n2:NLETSMessageHeader"
#define LIC	"/j:PersonAugmentation/nc:DriverLicense/"
	static const struct {
		const char	*text, *xpath;
		int		 line, col;
	} t[] = {
		{ dr, RD "/n2c:Driver[2]" LIC
		  "nc:DriverLicenseExpirationDate/nc:Date", 5, 1 },
		{ dr, RD "/n2c:Driver[2]/nc:PersonName/nc:PersonSurName", 4,
		  1 },
		{ dr, RD "/n2c:Driver[2]", 4, 1 },
		{ dr, RD "/n2c:Driver[1]" LIC "nc:DriverLicenseIdentification/"
		  "nc:IdentificationJurisdictionText", 2, 34 },
		{ dr, RD "/n2c:Driver[1]/nc:PersonSexCode", 2, 22 },
		{ dr, HD "/nh2:DestinationORIID", 1, 14 },
		{ dr, HD "/nh2:OriginatingORIID", 1, 4 },
		{ dr, HD "/nh2:MessageKeyCodeText", 1, 1 },
		{ dr, RD, 1, 24 },
		{ dr, "/n2:NLETS", 1, 24 },	/* the body: at TXT */
		{ dr, NULL, 1, 1 },
		{ dq, HD "/nh2:DocumentControlFieldText", 1, 18 },
		{ dq, IQ "/n2:Person/nc:PersonBirthDate/nc:Date", 2, 9 },
		{ dq, IQ "/n2:Person/nc:PersonName/nc:PersonGivenName", 2, 1 },
		{ dq, IQ "/n2:ImageRequestIndicator", 3, 1 },
		{ dq, IQ "/psp:PhotoPurpose/psp:PurposeUseCode", 3, 7 },
		{ dq, IQ "/psp:PhotoPurpose/psp:CircumstanceText", 3, 39 },
		{ dq, IQ "/psp:PhotoPurpose", 3, 7 },
		{ dq, IQ "/n2:Person", 1, 21 },
		{ kr, RD "/n2c:Driver/j:PersonAugmentation/"
		  "j:PersonDrivingIncident[2]/nc:ActivityCategoryText", 4, 1 },
		{ kr, RD "/n2c:Driver/j:PersonAugmentation/"
		  "j:PersonDrivingIncident[1]/nc:ActivityDate/nc:Date", 3, 1 },
		{ del, HD "/nh2:MessageReceiveDate", 2, 1 },
		{ del, HD "/nh2:ReceiveMessageNumeric", 2, 1 },
		{ del, HD "/nh2:SendMessageNumeric", 3, 1 },
		{ del, HD "/nh2:DocumentControlFieldText", 1, 15 },
		{ del, RD "/n2:ResponseText", 4, 1 },
	};
#undef RD
#undef IQ
#undef HD
#undef LIC
	size_t	 i;
	int	 line, col;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		line = col = 0;
		legacy_locate(t[i].text, strlen(t[i].text), t[i].xpath, &line,
		    &col);
		if (line != t[i].line || col != t[i].col)
			fprintf(stderr, "\n  locate %zu %s: want %d:%d, got "
			    "%d:%d", i, t[i].xpath ? t[i].xpath : "NULL",
			    t[i].line, t[i].col, line, col);
		CU_ASSERT_EQUAL(line, t[i].line);
		CU_ASSERT_EQUAL(col, t[i].col);
	}
}

/* Format detection; XML that is not a valid message is not rendered. */
static void
test_misc(void)
{
	static const char old[] = "<NLETS version=\"1.0\"><NLETSMessageHeader>"
	    "<MessageKeyCodeText>DQ</MessageKeyCodeText></NLETSMessageHeader>"
	    "</NLETS>";
	struct ubuf	 t;
	char		*cause = NULL;

	CU_ASSERT(legacy_is_text("DQ.X", 4));
	CU_ASSERT(legacy_is_text("", 0));
	CU_ASSERT(legacy_is_text("\r\n\x7f" "DQ.X", 7));
	CU_ASSERT(!legacy_is_text("  \n<n2:NLETS/>", 14));
	CU_ASSERT(!legacy_is_text("\xef\xbb\xbf<n2:NLETS/>", 15));
	CU_ASSERT(!legacy_is_text("\xef\xbb\xbf\r\n<?xml?>", 12));

	ubuf_init(&t);
	CU_ASSERT_EQUAL(legacy_from_xml(tl_schema, "<NLETS/>", 8, NULL, &t,
	    &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(cause);
	CU_ASSERT_EQUAL(t.len, 0);
	free(cause);
	/* The old, un-namespaced dialect: ER .03., nothing rendered. */
	cause = NULL;
	CU_ASSERT_EQUAL(legacy_from_xml(tl_schema, old, strlen(old), NULL,
	    &t, &cause), -1);
	CU_ASSERT(cause != NULL && strstr(cause, "ER .03.") != NULL);
	CU_ASSERT_EQUAL(t.len, 0);
	free(cause);
	ubuf_free(&t);
}

/*
 * Nlets: the last character of a message should not be a period. What
 * the switch writes for a field body leaves the last field's out, keeps a
 * value's own final period (written "..") and reads back to the same XML;
 * free text keeps its periods.
 */
static void
test_no_final_period(void)
{
	static const struct {
		const char	*text;
		const char	*end;		/* how the rendering ends */
	} t[] = {
		{ "DQ.WA0340000.CA.TXT\nOLN/S1234567.", "OLN/S1234567\n" },
		{ "DQ.WA0340000.CA.TXT\nNAM/A,B.DOB/19800101.SEX/M.RSN/T.",
		  "RSN/T\n" },
		{ "KQ.WA0340000.CA.TXT\nOLN/S1.PUR/C.ATN/DET SAMPLE.",
		  "ATN/DET SAMPLE\n" },
		{ "DNQ.WA0340000.CA.TXT\nNAM/A,B.", "NAM/A,B\n" },
		{ "DR.CAOLN0000.WA0340000.TXT\nNAM/A,B.DOB/19800101.SEX/M."
		  "OLN/S1.ADR/100 MAIN ST..", "ADR/100 MAIN ST..\n" },
		{ "DR.CAOLN0000.WA0340000.TXT\nNAM/A,B.DOB/19800101.SEX/M."
		  "OLN/S1.MIS/NO MORE.", "MIS/NO MORE.\n" },
		{ "AM.WA0340000.CA.TXT\nTHE END.", "THE END.\n" },
	};
	struct ubuf	 x, y;
	struct msg	 m, m2;
	struct msg_diags d;
	char		*r;
	size_t		 i, n;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ubuf_init(&x);
		CU_ASSERT_EQUAL_FATAL(tl_parse(t[i].text, 0, &x, &m, &d), 0);
		r = tl_render(t[i].text, x.data, x.len, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		n = strlen(r);
		if (n < strlen(t[i].end) || strcmp(r + n - strlen(t[i].end),
		    t[i].end) != 0)
			fprintf(stderr, "\n  %s: rendered\n%s", t[i].text, r);
		CU_ASSERT(n >= strlen(t[i].end) && strcmp(r + n -
		    strlen(t[i].end), t[i].end) == 0);
		/* And it reads back as the same message. */
		ubuf_init(&y);
		CU_ASSERT_EQUAL(tl_parse(r, 0, &y, &m2, &d), 0);
		tl_same_msg(t[i].text, &m, &m2, 0);
		ubuf_free(&y);
		free(r);
		ubuf_free(&x);
	}
}

int
test_legacy_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("legacy", tl_init, tl_cleanup)) == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_field_table) == NULL ||
	    CU_ADD_TEST(s, test_every_prefix) == NULL ||
	    CU_ADD_TEST(s, test_xml_of_legacy) == NULL ||
	    CU_ADD_TEST(s, test_terminator) == NULL ||
	    CU_ADD_TEST(s, test_ctl_chars) == NULL ||
	    CU_ADD_TEST(s, test_dob) == NULL ||
	    CU_ADD_TEST(s, test_name_split) == NULL ||
	    CU_ADD_TEST(s, test_nlets_examples) == NULL ||
	    CU_ADD_TEST(s, test_dqg) == NULL ||
	    CU_ADD_TEST(s, test_malformed) == NULL ||
	    CU_ADD_TEST(s, test_multi_error) == NULL ||
	    CU_ADD_TEST(s, test_keys_roundtrip) == NULL ||
	    CU_ADD_TEST(s, test_output_header) == NULL ||
	    CU_ADD_TEST(s, test_lossy) == NULL ||
	    CU_ADD_TEST(s, test_freetext) == NULL ||
	    CU_ADD_TEST(s, test_er_text) == NULL ||
	    CU_ADD_TEST(s, test_fixtures) == NULL ||
	    CU_ADD_TEST(s, test_er_fixtures) == NULL ||
	    CU_ADD_TEST(s, test_locate) == NULL ||
	    CU_ADD_TEST(s, test_no_final_period) == NULL ||
	    CU_ADD_TEST(s, test_misc) == NULL)
		return -1;
	return 0;
}
