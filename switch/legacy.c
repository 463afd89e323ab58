/*
 * legacy - legacy text <-> Nlets XML (see legacy.h and docs/legacy.md).
 *
 * Text to XML runs in two steps: legacy_scan() reads the header and the
 * fields into a struct legacy_doc (slices of the input with their
 * offsets, every syntax error recorded with its position), then
 * legacy_emit() writes the XML with the msgbuild.h builders.
 * legacy_locate() scans again to map an xpath from msgparse back to the
 * text.
 *
 * XML to text reads the document with libxml2 (xtree.h) after msgparse
 * has validated it, so element order is the schema's.
 *
 * Field terminator: a value ends at the end of its line, or earlier at
 * the first '.' that is followed, after optional blanks, by the end of
 * the line, the end of the text or another PREFIX/ (2 to 4 capital
 * letters and a slash). So "100 EXAMPLE ST." and "ST. LOUIS" are both
 * fine, "OLN/X1.OLS/CA" needs no blank and the last field no period.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "legacy.h"
#include "msg.h"
#include "msgbuild.h"
#include "msgparse.h"
#include "util.h"
#include "xtree.h"

#define K(k)		(1u << (k))
#define LK_DQKQ		(K(MSG_KEY_DQ) | K(MSG_KEY_KQ))
#define LK_Q		(LK_DQKQ | K(MSG_KEY_DNQ) | K(MSG_KEY_DQG))
/* The image request and its purpose: every query but a DQG (which asks
 * by name, DOB and sex only). */
#define LK_PHOTO	(LK_DQKQ | K(MSG_KEY_DNQ))
#define LK_R		(K(MSG_KEY_DR) | K(MSG_KEY_KR) | K(MSG_KEY_DNR))
#define LK_KR		K(MSG_KEY_KR)
#define LK_TEXT		(K(MSG_KEY_AM) | K(MSG_KEY_AML) | K(MSG_KEY_AA) | \
			 K(MSG_KEY_SM) | K(MSG_KEY_ER))
/* Hit confirmation: the request's fields, those its response echoes. */
#define LK_YQ		K(MSG_KEY_YQ)
#define LK_Y		(K(MSG_KEY_YQ) | K(MSG_KEY_YR))
#define LEGACY_HIT	"n2:QueryRequestActivity/"

#define LEGACY_MAXTOK	16		/* header destinations kept */
#define LEGACY_IMG_NOTE	"NOT AVAILABLE IN TEXT FORMAT"
#define LEGACY_LIC	"j:PersonAugmentation/nc:DriverLicense/"
#define LEGACY_ADR	"nc:ContactInformation/nc:ContactMailingAddress/" \
			"nc:StructuredAddress/"
#define LEGACY_PSP	"psp:PhotoPurpose/"

/*
 * The field table. Order matters twice: it is the order legacy_from_xml
 * writes fields in, and the element paths are what legacy_locate matches
 * msgparse's xpaths against (the prefixes are the ones msgbuild writes).
 *
 * Photo purpose (psp:PhotoPurpose, schemas/photo-sharing.xsd,
 * docs/policy.md): IPU/CATEGORY,USE carries PurposeCategoryCode and
 * PurposeUseCode; ICI/ ICN/ IVF/ IWN/ ISP/ the rest. Renaming a prefix is
 * a change to its row here (and to docs/legacy.md). IMQ/ and the purpose
 * are fields of every query but a DQG, DNQ included: a DNQ that asks for
 * images is the photo-sharing policy's to refuse (P114), not a format
 * error.
 */
static const struct legacy_field legacy_fields[] = {
	{ "RTY", LK_Y, LEGACY_F_DOT, 0, 2, LEGACY_HIT "n2:QueryRequestTypeCode",
	    "hit confirmation request type: WP PO MP SV SL SG SA SS SB SP" },
	{ "RNO", LK_Y, LEGACY_F_DOT, 0, 1,
	    LEGACY_HIT "n2:QueryRequestSequenceNumber",
	    "hit confirmation request number: 1, 2 or 3" },
	{ "PRI", LK_YQ, LEGACY_F_DOT, 0, 1,
	    LEGACY_HIT "n2:QueryRequestPriorityCode",
	    "hit confirmation priority: U urgent (10 minutes), R routine "
	    "(1 hour)" },
	{ "OCA", LK_Y, LEGACY_F_DOT, 0, MSG_HIT_OCA_LEN,
	    LEGACY_HIT "n2:CaseNumberText", "agency case number (20 at most)" },
	{ "NIC", LK_Y, LEGACY_F_DOT, 0, MSG_HIT_NIC_LEN,
	    LEGACY_HIT "n2:NCICNumberText", "NCIC number, or NONE" },
	{ "NAM", LK_Q | LK_R | LK_YQ, LEGACY_F_DOT, 1, 30, "nc:PersonName",
	    "name: LAST,FIRST MIDDLE SUFFIX (30 at most)" },
	{ "DOB", LK_Q | LK_R | LK_YQ, LEGACY_F_DOT, 1, 10,
	    "nc:PersonBirthDate", "date of birth: ccyymmdd or mmddyy" },
	{ "SEX", LK_Q | LK_R | LK_YQ, LEGACY_F_DOT, 1, 0, "nc:PersonSexCode",
	    "sex: M, F or U" },
	{ "LIC", LK_YQ, LEGACY_F_DOT, 0, 10,
	    LEGACY_HIT "n2:LicensePlateNumberText", "license plate number" },
	{ "LIS", LK_YQ, LEGACY_F_DOT, 0, 2,
	    LEGACY_HIT "n2:LicensePlateStateCode", "license plate state" },
	{ "VIN", LK_YQ, LEGACY_F_DOT, 0, MSG_HIT_ID_LEN,
	    LEGACY_HIT "n2:VehicleIdentificationNumberText",
	    "vehicle identification number" },
	{ "SER", LK_YQ, LEGACY_F_DOT, 0, MSG_HIT_ID_LEN,
	    LEGACY_HIT "n2:ItemSerialNumberText",
	    "serial number of a gun, article, security, boat or part" },
	{ "CON", K(MSG_KEY_YR), LEGACY_F_DOT, 0, 1,
	    "n2:HitConfirmationStatusCode",
	    "hit confirmation: Y confirmed, N not confirmed, P pending (the "
	    "time it will come in MIS/)" },
	{ "OLN", LK_DQKQ | LK_R, LEGACY_F_DOT, 1, 20,
	    LEGACY_LIC "nc:DriverLicenseIdentification/nc:IdentificationID",
	    "operator license number (20 at most)" },
	{ "OLS", LK_DQKQ | LK_R, LEGACY_F_DOT, 1, 2,
	    LEGACY_LIC "nc:DriverLicenseIdentification/"
	    "nc:IdentificationJurisdictionText", "operator license state" },
	{ "RSN", LK_Q, LEGACY_F_DOT, 0, 0, "n2:ReasonCode",
	    "reason code: N F V T S H I" },
	{ "PUR", LK_Q, LEGACY_F_DOT, 0, 0, "n2:PurposeCode",
	    "III purpose code: C F E D J S" },
	{ "ATN", LK_Q, LEGACY_F_DOT, 0, 0,
	    "n2:ResponseAttentionDescriptionText",
	    "attention: who the answer is for (30 at most)" },
	{ "IMQ", LK_PHOTO, LEGACY_F_DOT, 0, 1, "n2:ImageRequestIndicator",
	    "image request: Y asks for the photo" },
	{ "IPU", LK_PHOTO, LEGACY_F_DOT, 0, 0,
	    LEGACY_PSP "psp:PurposeCategoryCode",
	    "photo purpose: CATEGORY,USE (IDENTIFICATION,TRAFFIC-STOP)" },
	{ "ICI", LK_PHOTO, LEGACY_F_DOT, 0, 0, LEGACY_PSP "psp:CircumstanceText",
	    "photo: the circumstance that justifies the request" },
	{ "ICN", LK_PHOTO, LEGACY_F_DOT, 0, 0, LEGACY_PSP "psp:CaseNumberText",
	    "photo: the case number" },
	{ "IVF", LK_PHOTO, LEGACY_F_DOT, 0, 0, LEGACY_PSP "psp:VerifierName",
	    "photo: who verifies the identity (public disclosure)" },
	{ "IWN", LK_PHOTO, LEGACY_F_DOT, 0, 0,
	    LEGACY_PSP "psp:ArrestWarrantNumber",
	    "photo: arrest warrant number (public disclosure of a suspect)" },
	{ "ISP", LK_PHOTO, LEGACY_F_DOT, 0, 1,
	    LEGACY_PSP "psp:SubjectSuspectIndicator",
	    "photo: Y, the subject is a suspect" },
	{ "ADR", LK_R, LEGACY_F_DOT, 1, 0,
	    LEGACY_ADR "nc:LocationStreet/nc:StreetFullText", "street address" },
	{ "CTY", LK_R, LEGACY_F_DOT, 1, 0, LEGACY_ADR "nc:LocationCityName",
	    "city" },
	{ "STA", LK_R, LEGACY_F_DOT, 1, 0,
	    LEGACY_ADR "nc:LocationStateUSPostalServiceCode",
	    "state of the address" },
	{ "ZIP", LK_R, LEGACY_F_DOT, 1, 0, LEGACY_ADR "nc:LocationPostalCode",
	    "postal code" },
	{ "CLS", LK_R, LEGACY_F_DOT, 1, 0,
	    LEGACY_LIC "nc:DriverLicenseNonCommercialClassText",
	    "license class" },
	{ "LST", LK_R, LEGACY_F_DOT, 1, 0,
	    LEGACY_LIC "nc:DriverLicenseNonCommercialStatusText",
	    "license status (VALID, SUSPENDED, ...)" },
	{ "EXP", LK_R, LEGACY_F_DOT, 1, 10,
	    LEGACY_LIC "nc:DriverLicenseExpirationDate",
	    "license expiration date ccyymmdd" },
	{ "IMG", LK_R, LEGACY_F_DOT, 1, 0, "nc:PersonDigitalImage",
	    "photo note: the image itself never travels in text" },
	{ "HST", LK_KR, LEGACY_F_DOT, 1, 0,
	    "j:PersonAugmentation/j:PersonDrivingIncident",
	    "history event: ccyymmdd,CODE,STATE,DESCRIPTION (or NONE)" },
	{ "MIS", LK_R | K(MSG_KEY_YR), LEGACY_F_TAIL, 0, 0, "n2:ResponseText",
	    "free text from the state, to the end of the message" },
};
#define LEGACY_NFIELDS	(sizeof legacy_fields / sizeof legacy_fields[0])

/* A slice of the input. */
struct legacy_tok {
	const char	*s;
	size_t		 len;
	size_t		 off;		/* offset in the text */
};

/* One field as written. */
struct legacy_fld {
	const struct legacy_field *def;
	struct legacy_tok	 val;
	size_t			 off;	/* offset of the prefix */
	int			 rec;	/* record number, 1-based; 0 outside */
	int			 nth;	/* HST: event number in the record */
};

/* A scanned legacy message. */
struct legacy_doc {
	const char		*text;
	size_t			 len;
	int			 flags;
	struct msg_diags	*diags;
	int			 first_code;	/* code of the first diag */
	int			 hdr_errors;

	enum msg_key		 key;
	struct legacy_tok	 mke, ori, ctl;
	int			 has_ori, has_ctl;
	int			 ndest;		/* counted, may exceed kept */
	struct legacy_tok	 dest[LEGACY_MAXTOK];
	size_t			 hdr_eol;	/* end of the header line */

	int			 stamped;	/* output header present */
	struct legacy_tok	 in, out;	/* its two lines */
	struct legacy_tok	 rori;		/* receiving ORI (out line) */

	int			 has_txt;
	size_t			 txt_off;
	struct legacy_tok	 body;		/* after TXT */
	int			 freetext;	/* the body is free text */

	struct legacy_fld	*f;
	int			 nf, fcap;
	int			 nrec;
};

/*
 * Small helpers.
 */

static int
legacy_is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* Whitespace, and DEL, which the format ignores like CR and LF. */
static int
legacy_is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0x7f;
}

/* Line and column (1-based) of offset off. */
static void
legacy_pos(const char *text, size_t len, size_t off, int *line, int *col)
{
	size_t	 i, bol = 0;
	int	 l = 1;

	if (off > len)
		off = len;
	for (i = 0; i < off; i++)
		if (text[i] == '\n') {
			l++;
			bol = i + 1;
		}
	*line = l;
	*col = (int)(off - bol) + 1;
}

/* Offset of the end of the line at off (the '\n' or len). */
static size_t
legacy_eol(const char *t, size_t len, size_t off)
{
	const char	*q = memchr(t + off, '\n', len - off);

	return q != NULL ? (size_t)(q - t) : len;
}

/* Length of a PREFIX/ at t[off..end): 2-4 capitals and '/', or 0. */
static size_t
legacy_prefix_at(const char *t, size_t end, size_t off)
{
	size_t	 i;

	for (i = 0; off + i < end && i < 4 && t[off + i] >= 'A' &&
	    t[off + i] <= 'Z'; i++)
		;
	if (i >= 2 && off + i < end && t[off + i] == '/')
		return i + 1;
	return 0;
}

static const struct legacy_field *
legacy_field_lookup(const char *p, size_t n, enum msg_key key)
{
	size_t	 i;

	for (i = 0; i < LEGACY_NFIELDS; i++)
		if (strlen(legacy_fields[i].prefix) == n &&
		    memcmp(legacy_fields[i].prefix, p, n) == 0 &&
		    (legacy_fields[i].keys & K(key)))
			return &legacy_fields[i];
	return NULL;
}

const struct legacy_field *
legacy_field_table(size_t *n)
{
	*n = LEGACY_NFIELDS;
	return legacy_fields;
}

int
legacy_is_text(const char *buf, size_t len)
{
	size_t	 i = 0;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && legacy_is_ws((unsigned char)buf[i]))
		i++;
	return !(i < len && buf[i] == '<');
}

/* Trim blanks (and CR/LF/DEL) around a token. */
static void
legacy_trim(struct legacy_tok *t)
{
	while (t->len > 0 && legacy_is_ws((unsigned char)t->s[0])) {
		t->s++;
		t->len--;
		t->off++;
	}
	while (t->len > 0 && legacy_is_ws((unsigned char)t->s[t->len - 1]))
		t->len--;
}

/* A token as a new string, without CR and DEL. */
static char *
legacy_tokdup(const struct legacy_tok *t)
{
	char	*s = xstrndup(t->s != NULL ? t->s : "", t->len), *p, *q;

	for (p = q = s; *p != '\0'; p++)
		if (*p != '\r' && *p != 0x7f)
			*q++ = *p;
	*q = '\0';
	return s;
}

/*
 * XPaths, in the shape msgparse reports them for the XML legacy_emit
 * writes (an index only when there are several siblings of that name).
 */

#define LEGACY_ROOT	"/n2:NLETS"
#define LEGACY_HDR	LEGACY_ROOT "/n2:NLETSMessageHeader"

static void
legacy_hdr_xpath(char *dst, size_t dsz, const char *el)
{
	if (el == NULL)
		snprintf(dst, dsz, "%s", LEGACY_HDR);
	else
		snprintf(dst, dsz, "%s/nh2:%s", LEGACY_HDR, el);
}

/* 1 for a key whose body carries one person (queries, YQ), not
 * records. */
static int
legacy_has_person(enum msg_key key)
{
	return msg_key_is_query(key) || key == MSG_KEY_YQ;
}

/* The element a query's person travels in. */
static const char *
legacy_person_el(enum msg_key key)
{
	return key == MSG_KEY_KQ ? "n2c:Driver" : "n2:Person";
}

/* The body container of a key ("/n2:NLETS/n2:NLETSInquiryData"). */
static void
legacy_body_xpath(enum msg_key key, char *dst, size_t dsz)
{
	const char *b = msg_body_name(msg_key_body(key));

	if (b == NULL)
		snprintf(dst, dsz, "%s", LEGACY_ROOT);
	else
		snprintf(dst, dsz, "%s/n2:%s", LEGACY_ROOT, b);
}

/* HST/ events in record rec. */
static int
legacy_nhst(const struct legacy_doc *d, int rec)
{
	int	 i, n = 0;

	for (i = 0; i < d->nf; i++)
		if (d->f[i].rec == rec && d->f[i].def != NULL &&
		    strcmp(d->f[i].def->prefix, "HST") == 0)
			n++;
	return n;
}

/* XPath of field f's element (or of the body when f is NULL). */
static void
legacy_fld_xpath(const struct legacy_doc *d, const struct legacy_fld *f,
    char *dst, size_t dsz)
{
	char	 body[64], el[200], rec[32];

	legacy_body_xpath(d->key, body, sizeof body);
	if (f == NULL || f->def == NULL) {
		snprintf(dst, dsz, "%s", body);
		return;
	}
	snprintf(el, sizeof el, "%s", f->def->element);
	if (strcmp(f->def->prefix, "HST") == 0 && legacy_nhst(d, f->rec) > 1)
		snprintf(el, sizeof el, "j:PersonAugmentation/"
		    "j:PersonDrivingIncident[%d]", f->nth);
	rec[0] = '\0';
	if (f->def->record && legacy_has_person(d->key))
		snprintf(rec, sizeof rec, "/%s", legacy_person_el(d->key));
	else if (f->def->record && f->rec > 0 && d->nrec > 1)
		snprintf(rec, sizeof rec, "/n2c:Driver[%d]", f->rec);
	else if (f->def->record && f->rec > 0)
		snprintf(rec, sizeof rec, "/n2c:Driver");
	snprintf(dst, dsz, "%s%s/%s", body, rec, el);
}

/* Record one diagnostic at offset off. */
static void __attribute__((format(printf, 5, 6)))
legacy_diag(struct legacy_doc *d, size_t off, int code, const char *xpath,
    const char *fmt, ...)
{
	struct msg_diag	*g;
	va_list		 ap;

	if (d->first_code == 0)
		d->first_code = code;
	if (d->diags == NULL)
		return;
	if (d->diags->n >= MSG_MAXDIAG) {
		d->diags->dropped++;
		return;
	}
	g = &d->diags->d[d->diags->n++];
	memset(g, 0, sizeof *g);
	g->code = code;
	legacy_pos(d->text, d->len, off, &g->line, &g->col);
	snprintf(g->xpath, sizeof g->xpath, "%s", xpath != NULL ? xpath : "");
	va_start(ap, fmt);
	vsnprintf(g->text, sizeof g->text, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 5, 6)))
legacy_hdr_diag(struct legacy_doc *d, size_t off, int code, const char *el,
    const char *fmt, ...)
{
	char		 xp[128], text[256];
	va_list		 ap;

	legacy_hdr_xpath(xp, sizeof xp, el);
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	d->hdr_errors++;
	legacy_diag(d, off, code, xp, "%s", text);
}

/*
 * Header.
 */

/* "HH:MM MM/DD/CCYY NNNNN[ ORI]": 1 if the line has that shape. */
static int
legacy_is_stamp(const char *s, size_t n)
{
	static const char	 shape[] = "99:99 99/99/9999 99999";
	size_t			 i;

	if (n < sizeof shape - 1)
		return 0;
	for (i = 0; i < sizeof shape - 1; i++) {
		if (shape[i] == '9' ? !isdigit((unsigned char)s[i]) :
		    s[i] != shape[i])
			return 0;
	}
	return n == sizeof shape - 1 || s[sizeof shape - 1] == ' ';
}

/* The line after off that is not blank; its [start, end) trimmed. */
static int
legacy_next_line(const char *t, size_t len, size_t *off, size_t *s,
    size_t *e)
{
	size_t	 p = *off, eol;

	while (p < len) {
		eol = legacy_eol(t, len, p);
		*s = p;
		*e = eol;
		while (*s < *e && legacy_is_ws((unsigned char)t[*s]))
			(*s)++;
		while (*e > *s && legacy_is_ws((unsigned char)t[*e - 1]))
			(*e)--;
		*off = eol < len ? eol + 1 : len;
		if (*e > *s)
			return 1;
		p = *off;
	}
	return 0;
}

/* TXT found at s: the body follows it (on its line or the next ones). */
static void
legacy_set_txt(struct legacy_doc *d, size_t s)
{
	d->has_txt = 1;
	d->txt_off = s;
	d->body.s = d->text + s + 3;
	d->body.off = s + 3;
	d->body.len = d->len - (s + 3);
}

/* The message key token. */
static void
legacy_hdr_key(struct legacy_doc *d, const struct legacy_tok *tok)
{
	char	 name[8];

	d->mke = *tok;
	snprintf(name, sizeof name, "%.*s", (int)(tok->len < 7 ? tok->len : 7),
	    tok->s);
	d->key = tok->len <= 3 ? msg_key_lookup(name) : MSG_KEY_NONE;
	if (d->key == MSG_KEY_NONE)
		legacy_hdr_diag(d, tok->off, MSG_ER_HEADER, "MessageKeyCodeText",
		    "unknown message key \"%.*s\" (the header starts with "
		    "MKE.ORI.)", (int)(tok->len > 20 ? 20 : tok->len), tok->s);
}

/* The originating ORI token. */
static void
legacy_hdr_ori(struct legacy_doc *d, const struct legacy_tok *tok)
{
	char	 id[MSG_ORI_LEN + 2];

	d->ori = *tok;
	d->has_ori = 1;
	snprintf(id, sizeof id, "%.*s", (int)(tok->len < sizeof id ?
	    tok->len : sizeof id - 1), tok->s);
	if (tok->len != MSG_ORI_LEN || !msg_ori_is_valid(id))
		legacy_hdr_diag(d, tok->off, MSG_ER_HEADER, "OriginatingORIID",
		    "originating ORI \"%.*s\" is not a 9-character ORI",
		    (int)(tok->len > 20 ? 20 : tok->len), tok->s);
}

/* A control field token ("*CTL"). */
static void
legacy_hdr_ctl(struct legacy_doc *d, const struct legacy_tok *tok)
{
	size_t	 q;

	if (d->has_ctl) {
		legacy_hdr_diag(d, tok->off, MSG_ER_HEADER,
		    "DocumentControlFieldText", "a second control field");
		return;
	}
	d->ctl = *tok;
	d->ctl.s++;
	d->ctl.len--;
	d->ctl.off++;
	d->has_ctl = 1;
	for (q = 0; q < d->ctl.len; q++)
		if (d->ctl.s[q] < ' ' || d->ctl.s[q] > '~')
			break;
	if (d->ctl.len == 0 || d->ctl.len > MSG_CTL_LEN || q < d->ctl.len)
		legacy_hdr_diag(d, tok->off, MSG_ER_HEADER,
		    "DocumentControlFieldText", "control field \"*%.*s\" is "
		    "not 1 to %d printable characters", (int)(d->ctl.len > 20 ?
		    20 : d->ctl.len), d->ctl.s, MSG_CTL_LEN);
}

/* A destination token. */
static void
legacy_hdr_dest(struct legacy_doc *d, const struct legacy_tok *tok)
{
	char	 id[MSG_ORI_LEN + 2];

	if (d->ndest < LEGACY_MAXTOK)
		d->dest[d->ndest] = *tok;
	d->ndest++;
	if (d->has_ctl)
		legacy_hdr_diag(d, tok->off, MSG_ER_HEADER, "DestinationORIID",
		    "destination after the control field");
	else if (tok->len == 0)
		legacy_hdr_diag(d, tok->off, MSG_ER_DEST, "DestinationORIID",
		    "empty destination");
	else if ((tok->len != 2 && tok->len != MSG_ORI_LEN) ||
	    (snprintf(id, sizeof id, "%.*s", (int)tok->len, tok->s),
	    !msg_dest_is_valid(id)))
		legacy_hdr_diag(d, tok->off, MSG_ER_DEST, "DestinationORIID",
		    "destination \"%.*s\" is neither a member or region code "
		    "nor an ORI", (int)(tok->len > 20 ? 20 : tok->len), tok->s);
	else if (d->ndest == MSG_MAXDEST + 1)
		legacy_hdr_diag(d, tok->off, MSG_ER_DEST, "DestinationORIID",
		    "more than %d destinations", MSG_MAXDEST);
}

/* 1 if the token at t[s..e) is TXT (what follows it is the text). */
static int
legacy_is_txt(const char *t, size_t s, size_t e)
{
	return e - s >= 3 && memcmp(t + s, "TXT", 3) == 0;
}

/* The tokens of the first line: MKE.ORI.DEST...[.*CTL][.TXT]. */
static void
legacy_scan_hdr_line(struct legacy_doc *d, size_t p, size_t end)
{
	const char		*t = d->text;
	struct legacy_tok	 tok;
	size_t			 s, e;
	int			 idx = 0;

	for (s = p; s <= end; s = e + 1, idx++) {
		for (e = s; e < end && t[e] != '.'; e++)
			;
		tok.s = t + s;
		tok.len = e - s;
		tok.off = s;
		if (idx == 0)
			legacy_hdr_key(d, &tok);
		else if (idx == 1)
			legacy_hdr_ori(d, &tok);
		else if (legacy_is_txt(t, s, e)) {
			legacy_set_txt(d, s);
			return;
		} else if (tok.len > 0 && tok.s[0] == '*')
			legacy_hdr_ctl(d, &tok);
		else if (!(tok.len == 0 && e >= end))	/* a final '.' */
			legacy_hdr_dest(d, &tok);
	}
}

/*
 * After a first line without TXT: TXT alone on the next line, or the
 * output header's two stamp lines and then TXT (a delivered message).
 */
static void
legacy_scan_stamps(struct legacy_doc *d, size_t q)
{
	const char	*t = d->text;
	size_t		 ls, le, o;
	int		 nstamp = 0;

	while (legacy_next_line(t, d->len, &q, &ls, &le)) {
		if (legacy_is_txt(t, ls, le)) {
			legacy_set_txt(d, ls);
			break;
		}
		if (!legacy_is_stamp(t + ls, le - ls) || nstamp == 2)
			break;
		if (nstamp++ == 0) {
			d->in.s = t + ls;
			d->in.len = le - ls;
			d->in.off = ls;
			continue;
		}
		d->out.s = t + ls;
		d->out.len = le - ls;
		d->out.off = ls;
		o = ls + 22;
		d->rori.s = t + o;
		d->rori.len = le - o;
		d->rori.off = o;
		legacy_trim(&d->rori);
	}
	if (nstamp == 0)
		return;
	d->stamped = 1;
	if (!(d->flags & LEGACY_STAMPED))
		legacy_hdr_diag(d, d->in.off, MSG_ER_HEADER,
		    "MessageReceiveDate", "the output header (receive and send "
		    "lines) is the switch's: a sender writes MKE.ORI.DEST.TXT");
	else if (nstamp != 2 || d->rori.len != MSG_ORI_LEN)
		legacy_hdr_diag(d, d->in.off, MSG_ER_HEADER,
		    "MessageReceiveDate", "an output header is two lines: "
		    "HH:MM MM/DD/CCYY NNNNN, then the same and the receiving "
		    "ORI");
}

/*
 * Read the header: MKE.ORI.DEST[.DEST...][.*CTL].TXT, or the delivered
 * form (MKE.ORI[.*CTL], the output header lines, then TXT).
 * @return 0, or -1 when there is no body to read.
 */
static int
legacy_scan_header(struct legacy_doc *d)
{
	const char	*t = d->text;
	size_t		 len = d->len, p = 0, eol, end;

	if (len >= 3 && memcmp(t, "\xef\xbb\xbf", 3) == 0)
		p = 3;
	while (p < len && legacy_is_ws((unsigned char)t[p]))
		p++;
	if (p >= len) {
		legacy_diag(d, 0, MSG_ER_MALFORMED, LEGACY_ROOT, "TXT missing "
		    "(empty message)");
		return -1;
	}
	eol = legacy_eol(t, len, p);
	end = eol;
	while (end > p && legacy_is_ws((unsigned char)t[end - 1]))
		end--;
	d->hdr_eol = end;
	legacy_scan_hdr_line(d, p, end);
	if (!d->has_txt)
		legacy_scan_stamps(d, eol < len ? eol + 1 : len);
	if (!d->has_ori && d->key != MSG_KEY_NONE)
		legacy_hdr_diag(d, end, MSG_ER_HEADER, "OriginatingORIID",
		    "no originating ORI (MKE.ORI.DEST...)");
	else if (d->ndest == 0 && d->has_ori && !d->stamped)
		legacy_hdr_diag(d, d->ori.off + d->ori.len, MSG_ER_DEST,
		    "DestinationORIID", "no destination (1 to %d after the "
		    "ORI)", MSG_MAXDEST);
	if (d->has_txt)
		return 0;
	legacy_hdr_diag(d, end, MSG_ER_MALFORMED, NULL, "TXT missing: the "
	    "header ends with .TXT");
	return -1;
}

/*
 * Body.
 */

static struct legacy_fld *
legacy_fld_add(struct legacy_doc *d)
{
	if (d->nf == d->fcap) {
		d->fcap = d->fcap ? d->fcap * 2 : 16;
		d->f = xrealloc(d->f, (size_t)d->fcap * sizeof *d->f);
	}
	memset(&d->f[d->nf], 0, sizeof d->f[d->nf]);
	return &d->f[d->nf++];
}

/*
 * End of the dot field value starting at v, on the line ending at eol:
 * the offset of its terminating '.', or eol when there is none.
 */
static size_t
legacy_value_end(const char *t, size_t eol, size_t v)
{
	size_t	 r, a;

	for (r = v; r < eol; r++) {
		if (t[r] != '.')
			continue;
		for (a = r + 1; a < eol && legacy_is_ws((unsigned char)t[a]);
		    a++)
			;
		if (a >= eol || legacy_prefix_at(t, eol, a) > 0)
			return r;
	}
	return eol;
}

/* Is another field with def already in this scope (record or message)? */
static int
legacy_dup(const struct legacy_doc *d, const struct legacy_field *def,
    int rec)
{
	int	 i;

	for (i = 0; i < d->nf - 1; i++)
		if (d->f[i].def == def && d->f[i].rec == rec)
			return 1;
	return 0;
}

/*
 * The checks of one dot field's value (its length, its form), on the
 * value as legacy_emit carries it over: without CR and DEL.
 */
static void
legacy_check_value(struct legacy_doc *d, const struct legacy_fld *f)
{
	const char	*p = f->def->prefix, *v;
	char		*clean, xp[320];
	size_t		 n, i;

	legacy_fld_xpath(d, f, xp, sizeof xp);
	v = clean = legacy_tokdup(&f->val);
	n = strlen(clean);
	if (n == 0) {
		legacy_diag(d, f->off, strcmp(p, "DOB") == 0 ? MSG_ER_DOB :
		    MSG_ER_FORMAT, xp, "empty field %s/", p);
		free(clean);
		return;
	}
	if (strcmp(p, "DOB") == 0) {
		for (i = 0; i < n && isdigit((unsigned char)v[i]); i++)
			;
		if (!(i == n && (n == 6 || n == 8)) && !(n == 10 &&
		    v[4] == '-' && v[7] == '-'))
			legacy_diag(d, f->off, MSG_ER_DOB, xp, "DOB/%.*s: a "
			    "date of birth is ccyymmdd or mmddyy", (int)(n > 20 ?
			    20 : n), v);
	} else if (strcmp(p, "ATN") == 0 && n > MSG_ATN_LEN)
		legacy_diag(d, f->off, MSG_ER_ATN, xp, "ATN/ has %zu "
		    "characters, %d at most", n, MSG_ATN_LEN);
	else if ((strcmp(p, "IMQ") == 0 || strcmp(p, "ISP") == 0) &&
	    !(n == 1 && (v[0] == 'Y' || v[0] == 'N')))
		legacy_diag(d, f->off, MSG_ER_FORMAT, xp, "%s/ is Y or N", p);
	else if (f->def->max > 0 && n > f->def->max)
		legacy_diag(d, f->off, MSG_ER_FORMAT, xp, "%s/ has %zu "
		    "characters, %zu at most", p, n, f->def->max);
	free(clean);
}

/*
 * A response's body is fields when it starts with one of the key's
 * prefixes, else it is free text (NOT ON FILE, a state's own layout).
 */
static int
legacy_is_freetext(const struct legacy_doc *d)
{
	const struct legacy_field	*def;
	const char			*t = d->text;
	size_t				 p = d->body.off, pl;

	if (K(d->key) & LK_TEXT)
		return 1;
	if (!(K(d->key) & LK_R))
		return 0;
	while (p < d->len && legacy_is_ws((unsigned char)t[p]))
		p++;
	pl = legacy_prefix_at(t, d->len, p);
	if (pl == 0 ||
	    (def = legacy_field_lookup(t + p, pl - 1, d->key)) == NULL)
		return 1;
	/* The photo note of a free-text answer that has no text (what
	 * legacy_response_out writes for it): no record to belong to. */
	return strcmp(def->prefix, "IMG") == 0;
}

/* One PREFIX/value at p (pl: the prefix's length); the next offset. */
static size_t
legacy_scan_field(struct legacy_doc *d, size_t p, size_t pl, size_t eol)
{
	const char			*t = d->text;
	const struct legacy_field	*def;
	struct legacy_fld		*f;
	size_t				 r;
	char				 xp[320];
	int				 resp = (K(d->key) & LK_R) != 0;

	def = legacy_field_lookup(t + p, pl - 1, d->key);
	if (def == NULL) {
		legacy_fld_xpath(d, NULL, xp, sizeof xp);
		/* A DQ's field in a DQG: say what a DQG is instead. */
		if (d->key == MSG_KEY_DQG &&
		    legacy_field_lookup(t + p, pl - 1, MSG_KEY_DQ) != NULL)
			legacy_diag(d, p, MSG_ER_FORMAT, xp, "field %.*s is "
			    "not valid for a DQG: %s", (int)pl, t + p,
			    MSG_DQG_HOWTO);
		else
			legacy_diag(d, p, MSG_ER_FORMAT, xp, "field %.*s is "
			    "not part of a %s", (int)pl, t + p,
			    msg_key_name(d->key));
		r = legacy_value_end(t, eol, p + pl);
		return r < eol ? r + 1 : eol;
	}
	f = legacy_fld_add(d);
	f->def = def;
	f->off = p;
	if (def->record && resp) {
		if (strcmp(def->prefix, "NAM") == 0)
			d->nrec++;
		f->rec = d->nrec;
		if (strcmp(def->prefix, "HST") == 0)
			f->nth = legacy_nhst(d, f->rec);
	}
	f->val.s = t + p + pl;
	f->val.off = p + pl;
	if (def->kind == LEGACY_F_TAIL) {
		f->val.len = d->len - f->val.off;
		legacy_trim(&f->val);
		r = d->len;
	} else {
		r = legacy_value_end(t, eol, p + pl);
		f->val.len = r - (p + pl);
		legacy_trim(&f->val);
		r = r < eol ? r + 1 : eol;
	}
	legacy_fld_xpath(d, f, xp, sizeof xp);
	if (def->record && resp && f->rec == 0) {
		legacy_diag(d, f->off, MSG_ER_FORMAT, LEGACY_ROOT
		    "/n2:NLETSResponseData", "%s/ before the first NAM/ "
		    "(every record starts with NAM/)", def->prefix);
		d->nf--;
		return r;
	}
	if (strcmp(def->prefix, "HST") != 0 && legacy_dup(d, def, f->rec))
		legacy_diag(d, f->off, MSG_ER_FORMAT, xp, "field %s/ given "
		    "twice%s", def->prefix, f->rec ? " in one record" : "");
	else if (def->kind == LEGACY_F_DOT)
		legacy_check_value(d, f);
	return r;
}

static void
legacy_scan_body(struct legacy_doc *d)
{
	const char	*t = d->text;
	size_t		 p, eol, pl;
	char		 xp[128];
	int		 any = 0;

	if ((d->freetext = legacy_is_freetext(d))) {
		legacy_trim(&d->body);
		if (d->body.len == 0) {
			legacy_body_xpath(d->key, xp, sizeof xp);
			legacy_diag(d, d->txt_off, MSG_ER_MALFORMED, xp, "TXT "
			    "missing: nothing after TXT");
		}
		return;
	}
	p = d->body.off;
	for (;;) {
		while (p < d->len && (legacy_is_ws((unsigned char)t[p]) ||
		    t[p] == '.'))
			p++;
		if (p >= d->len)
			break;
		any = 1;
		eol = legacy_eol(t, d->len, p);
		if ((pl = legacy_prefix_at(t, eol, p)) == 0) {
			legacy_fld_xpath(d, NULL, xp, sizeof xp);
			legacy_diag(d, p, MSG_ER_FORMAT, xp, "expected a "
			    "PREFIX/value field, found \"%.*s\"",
			    (int)(eol - p > 20 ? 20 : eol - p), t + p);
			p = eol;
			continue;
		}
		p = legacy_scan_field(d, p, pl, eol);
	}
	/* Text that is no field is an invalid format (reported above),
	 * not a missing TXT. */
	if (!any) {
		legacy_body_xpath(d->key, xp, sizeof xp);
		legacy_diag(d, d->txt_off, MSG_ER_MALFORMED, xp, "TXT missing: "
		    "no field after TXT");
	}
}

/* Scan the whole text; d->diags set by the caller. */
static void
legacy_scan(struct legacy_doc *d, const char *text, size_t len, int flags,
    struct msg_diags *diags)
{
	memset(d, 0, sizeof *d);
	d->text = text != NULL ? text : "";
	d->len = text != NULL ? len : 0;
	d->flags = flags;
	d->diags = diags;
	if (diags != NULL)
		diags->n = diags->dropped = 0;
	if (legacy_scan_header(d) == -1 || d->key == MSG_KEY_NONE)
		return;
	legacy_scan_body(d);
}

static void
legacy_doc_free(struct legacy_doc *d)
{
	free(d->f);
	d->f = NULL;
}

/*
 * XML output.
 */

static const struct legacy_fld *
legacy_get(const struct legacy_doc *d, const char *prefix, int rec)
{
	int	 i;

	for (i = 0; i < d->nf; i++)
		if (d->f[i].rec == rec &&
		    strcmp(d->f[i].def->prefix, prefix) == 0)
			return &d->f[i];
	return NULL;
}

/* Value of a field as a new string ("" when absent). */
static char *
legacy_val(const struct legacy_doc *d, const char *prefix, int rec)
{
	const struct legacy_fld	*f = legacy_get(d, prefix, rec);

	return f != NULL ? legacy_tokdup(&f->val) : xstrdup("");
}

/*
 * ccyymmdd and mmddyy become YYYY-MM-DD; anything else is left to the
 * schema. The century of a 2-digit year: for a birth date (past) the
 * latest date not in the future; for any other date (an expiration, a
 * history event) the year nearest to this one.
 */
static char *
legacy_date_in(const char *v, int past)
{
	struct tm	 tm;
	time_t		 now = time(NULL);
	size_t		 i, n = strlen(v);
	int		 yy, cy, md, today, older;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)v[i]))
			return xstrdup(v);
	if (n == 8)
		return xasprintf("%.4s-%.2s-%.2s", v, v + 4, v + 6);
	if (n != 6)
		return xstrdup(v);
	memset(&tm, 0, sizeof tm);
	if (gmtime_r(&now, &tm) == NULL)
		tm.tm_year = 100;
	cy = (tm.tm_year + 1900) % 100;
	today = (tm.tm_mon + 1) * 100 + tm.tm_mday;
	yy = atoi(v + 4);
	md = atoi(v) / 100;
	if (past)
		older = yy > cy || (yy == cy && md > today);
	else
		older = yy - cy > 50;
	return xasprintf("%s%.2s-%.2s-%.2s", older ? "19" : "20", v + 4, v,
	    v + 2);
}

/* Y/N in legacy, true/false in an xs:boolean. */
static const char *
legacy_bool_in(const char *v)
{
	return strcmp(v, "Y") == 0 ? "true" : strcmp(v, "N") == 0 ? "false" :
	    v;
}

/* The parts of NAM/LAST,FIRST MIDDLE SUFFIX (pointers into nam). */
struct legacy_name {
	char	*surname;
	char	*given;
	char	*middle;
	char	*suffix;
};

static int
legacy_is_suffix(const char *w)
{
	static const char *const sfx[] = {
		"JR", "SR", "II", "III", "IV", "V", NULL
	};
	int	 i;

	for (i = 0; sfx[i] != NULL; i++)
		if (strcmp(w, sfx[i]) == 0)
			return 1;
	return 0;
}

static char *
legacy_word(char **p)
{
	char	*w;

	while (legacy_is_blank((unsigned char)**p))
		(*p)++;
	if (**p == '\0')
		return NULL;
	w = *p;
	*p += strcspn(*p, " \t");
	if (**p != '\0')
		*(*p)++ = '\0';
	return w;
}

/*
 * Split nam in place. Without a comma it is all surname; after it the
 * given name, then every middle name, then a suffix if the last word is
 * one ("VAN DYKE,MARY ANN LOU JR").
 */
static void
legacy_split_name(char *nam, struct legacy_name *n)
{
	char	*comma, *rest, *e, *last;

	memset(n, 0, sizeof *n);
	n->surname = nam;
	if ((comma = strchr(nam, ',')) == NULL)
		return;
	*comma = '\0';
	for (e = comma; e > nam && legacy_is_blank((unsigned char)e[-1]); e--)
		e[-1] = '\0';
	rest = comma + 1;
	if ((n->given = legacy_word(&rest)) == NULL)
		return;
	while (legacy_is_blank((unsigned char)*rest))
		rest++;
	e = rest + strlen(rest);
	while (e > rest && legacy_is_blank((unsigned char)e[-1]))
		*--e = '\0';
	if (*rest == '\0')
		return;
	for (last = e; last > rest &&
	    !legacy_is_blank((unsigned char)last[-1]); last--)
		;
	if (legacy_is_suffix(last)) {
		n->suffix = last;
		if (last == rest)
			return;
		for (e = last; e > rest &&
		    legacy_is_blank((unsigned char)e[-1]); e--)
			e[-1] = '\0';
	}
	n->middle = rest;
}

/* The person of a query (rec 0) or of record rec: NAM DOB SEX OLN OLS. */
struct legacy_person {
	char			*nam, *dob, *sex, *oln, *ols;
	struct legacy_name	 name;
	struct msgbuild_person	 p;
};

static void
legacy_person_get(const struct legacy_doc *d, int rec,
    struct legacy_person *lp)
{
	char	*dob;

	lp->nam = legacy_val(d, "NAM", rec);
	dob = legacy_val(d, "DOB", rec);
	lp->dob = legacy_date_in(dob, 1);
	free(dob);
	lp->sex = legacy_val(d, "SEX", rec);
	lp->oln = legacy_val(d, "OLN", rec);
	lp->ols = legacy_val(d, "OLS", rec);
	legacy_split_name(lp->nam, &lp->name);
	memset(&lp->p, 0, sizeof lp->p);
	lp->p.surname = lp->name.surname;
	lp->p.given = lp->name.given;
	lp->p.middle = lp->name.middle;
	lp->p.suffix = lp->name.suffix;
	lp->p.dob = lp->dob;
	lp->p.sex = lp->sex;
	lp->p.oln = lp->oln;
	lp->p.olstate = lp->ols;
}

static void
legacy_person_free(struct legacy_person *lp)
{
	free(lp->nam);
	free(lp->dob);
	free(lp->sex);
	free(lp->oln);
	free(lp->ols);
}

/* <name>value</name> of a field. */
static void
legacy_put(struct ubuf *b, const struct legacy_doc *d, const char *prefix,
    int rec, const char *name)
{
	char	*v = legacy_val(d, prefix, rec);

	msgbuild_text(b, name, v);
	free(v);
}

/* 1 if v is a photo purpose category (PurposeCategoryType). */
static int
legacy_is_category(const char *v)
{
	return strcmp(v, "IDENTIFICATION") == 0 ||
	    strcmp(v, "SUSPECT") == 0 ||
	    strcmp(v, "PUBLIC-DISCLOSURE") == 0 ||
	    strcmp(v, "PHOTO-LINEUP") == 0;
}

/* IPU/ ICI/ ICN/ IVF/ IWN/ ISP/ as psp:PhotoPurpose. */
static void
legacy_put_purpose(struct ubuf *b, const struct legacy_doc *d)
{
	char		*v, *use;
	const char	*cat;

	if (!legacy_get(d, "IPU", 0) && !legacy_get(d, "ICI", 0) &&
	    !legacy_get(d, "ICN", 0) && !legacy_get(d, "IVF", 0) &&
	    !legacy_get(d, "IWN", 0) && !legacy_get(d, "ISP", 0))
		return;
	msgbuild_open(b, "psp:PhotoPurpose");
	/* CATEGORY,USE; a lone value that is no category is the use
	 * (IPU/AMNESIA, docs/policy.md). */
	v = legacy_val(d, "IPU", 0);
	cat = v;
	if ((use = strchr(v, ',')) != NULL)
		*use++ = '\0';
	else if (!legacy_is_category(v)) {
		use = v;
		cat = "";
	}
	msgbuild_text(b, "psp:PurposeCategoryCode", cat);
	msgbuild_text(b, "psp:PurposeUseCode", use);
	free(v);
	legacy_put(b, d, "ICI", 0, "psp:CircumstanceText");
	legacy_put(b, d, "ICN", 0, "psp:CaseNumberText");
	legacy_put(b, d, "IVF", 0, "psp:VerifierName");
	legacy_put(b, d, "IWN", 0, "psp:ArrestWarrantNumber");
	v = legacy_val(d, "ISP", 0);
	msgbuild_text(b, "psp:SubjectSuspectIndicator", legacy_bool_in(v));
	free(v);
	msgbuild_close(b, "psp:PhotoPurpose");
}

/* A query body (DQ KQ DNQ). */
static void
legacy_put_query(struct ubuf *b, const struct legacy_doc *d)
{
	struct legacy_person	 lp;
	char			*v;

	legacy_put(b, d, "RSN", 0, "n2:ReasonCode");
	legacy_put(b, d, "PUR", 0, "n2:PurposeCode");
	legacy_put(b, d, "ATN", 0, "n2:ResponseAttentionDescriptionText");
	legacy_person_get(d, 0, &lp);
	msgbuild_person(b, legacy_person_el(d->key), &lp.p);
	legacy_person_free(&lp);
	v = legacy_val(d, "IMQ", 0);
	msgbuild_text(b, "n2:ImageRequestIndicator", legacy_bool_in(v));
	free(v);
	legacy_put_purpose(b, d);
}

/*
 * A hit confirmation body: n2:QueryRequestActivity in the schema's
 * order, then a YQ's person or a YR's status and free text.
 */
static void
legacy_put_hit(struct ubuf *b, const struct legacy_doc *d)
{
	static const char *const act[][2] = {
		{ "RNO", "n2:QueryRequestSequenceNumber" },
		{ "PRI", "n2:QueryRequestPriorityCode" },
		{ "RTY", "n2:QueryRequestTypeCode" },
		{ "OCA", "n2:CaseNumberText" },
		{ "NIC", "n2:NCICNumberText" },
		{ "LIC", "n2:LicensePlateNumberText" },
		{ "LIS", "n2:LicensePlateStateCode" },
		{ "VIN", "n2:VehicleIdentificationNumberText" },
		{ "SER", "n2:ItemSerialNumberText" },
	};
	struct legacy_person	 lp;
	size_t			 i;

	msgbuild_open(b, "n2:QueryRequestActivity");
	for (i = 0; i < sizeof act / sizeof act[0]; i++)
		legacy_put(b, d, act[i][0], 0, act[i][1]);
	msgbuild_close(b, "n2:QueryRequestActivity");
	if (d->key == MSG_KEY_YR) {
		legacy_put(b, d, "CON", 0, "n2:HitConfirmationStatusCode");
		legacy_put(b, d, "MIS", 0, "n2:ResponseText");
		return;
	}
	if (legacy_get(d, "NAM", 0) || legacy_get(d, "DOB", 0) ||
	    legacy_get(d, "SEX", 0)) {
		legacy_person_get(d, 0, &lp);
		msgbuild_person(b, "n2:Person", &lp.p);
		legacy_person_free(&lp);
	}
}

/* HST/ccyymmdd,CODE,STATE,DESCRIPTION of record rec; NONE means none. */
static int
legacy_events(const struct legacy_doc *d, int rec,
    struct msgbuild_event *ev, char **keep, int max)
{
	char	*v, *part[4], *p;
	int	 i, k, n = 0;

	for (i = 0; i < d->nf && n < max; i++) {
		if (d->f[i].rec != rec || strcmp(d->f[i].def->prefix, "HST"))
			continue;
		v = legacy_tokdup(&d->f[i].val);
		if (strcmp(v, "NONE") == 0) {
			free(v);
			continue;
		}
		for (p = v, k = 0; k < 3; k++) {
			part[k] = p;
			p += strcspn(p, ",");
			if (*p == ',')
				*p++ = '\0';
		}
		part[3] = p;
		keep[2 * n] = v;
		keep[2 * n + 1] = legacy_date_in(part[0], 0);
		ev[n].date = keep[2 * n + 1];
		ev[n].code = part[1];
		ev[n].state = part[2];
		ev[n].text = part[3];
		n++;
	}
	return n;
}

#define LEGACY_MAXEV	64

static void
legacy_put_record(struct ubuf *b, const struct legacy_doc *d, int rec)
{
	struct legacy_person	 lp;
	struct msgbuild_driver	 drv;
	struct msgbuild_event	 ev[LEGACY_MAXEV];
	char			*keep[2 * LEGACY_MAXEV], *adr, *cty, *sta, *zip;
	char			*cls, *lst, *exp, *e;
	int			 i, nev;

	memset(&drv, 0, sizeof drv);
	legacy_person_get(d, rec, &lp);
	drv.person = lp.p;
	drv.street = adr = legacy_val(d, "ADR", rec);
	drv.city = cty = legacy_val(d, "CTY", rec);
	drv.state = sta = legacy_val(d, "STA", rec);
	drv.zip = zip = legacy_val(d, "ZIP", rec);
	drv.lic_class = cls = legacy_val(d, "CLS", rec);
	drv.lic_status = lst = legacy_val(d, "LST", rec);
	e = legacy_val(d, "EXP", rec);
	drv.lic_expires = exp = legacy_date_in(e, 0);
	free(e);
	/* IMG/ is a note only: the image never travels in text. */
	nev = legacy_events(d, rec, ev, keep, LEGACY_MAXEV);
	drv.events = ev;
	drv.nevents = nev;
	msgbuild_driver(b, &drv);
	for (i = 0; i < 2 * nev; i++)
		free(keep[i]);
	free(adr);
	free(cty);
	free(sta);
	free(zip);
	free(cls);
	free(lst);
	free(exp);
	legacy_person_free(&lp);
}

/* The body of the scanned message into b (between begin and end). */
static void
legacy_emit_body(struct ubuf *b, const struct legacy_doc *d)
{
	const char	*el = NULL;
	char		*v;
	int		 i;

	if (d->freetext) {
		switch (d->key) {
		case MSG_KEY_SM:
			el = "n2:StatusMessageText";
			break;
		case MSG_KEY_AM:
		case MSG_KEY_AML:
		case MSG_KEY_AA:
			el = "n2:MailMessageText";
			break;
		default:
			el = "n2:ResponseText";
			break;
		}
		v = legacy_tokdup(&d->body);
		msgbuild_text(b, el, v);
		free(v);
		return;
	}
	if (msg_key_is_query(d->key)) {
		legacy_put_query(b, d);
		return;
	}
	if (d->key == MSG_KEY_YQ || d->key == MSG_KEY_YR) {
		legacy_put_hit(b, d);
		return;
	}
	legacy_put(b, d, "MIS", 0, "n2:ResponseText");
	for (i = 1; i <= d->nrec; i++)
		legacy_put_record(b, d, i);
}

/* Insert the output header's six stamps, as written in the text. */
static void
legacy_emit_stamps(struct ubuf *xml, const char *doc, size_t len,
    const struct legacy_doc *d)
{
	const char	*v[MSG_NSTAMPS];
	size_t		 so, he, n[MSG_NSTAMPS];
	int		 i;

	/* HH:MM MM/DD/CCYY NNNNN */
	v[0] = d->in.s + 6;	n[0] = 10;
	v[1] = d->in.s;		n[1] = 5;
	v[2] = d->out.s + 6;	n[2] = 10;
	v[3] = d->out.s;	n[3] = 5;
	v[4] = d->in.s + 17;	n[4] = 5;
	v[5] = d->out.s + 17;	n[5] = 5;
	if (msg_hdr_span(doc, len, 0, &so, &he) == -1) {
		ubuf_add(xml, doc, len);
		return;
	}
	ubuf_add(xml, doc, so);
	for (i = 0; i < MSG_NSTAMPS; i++) {
		ubuf_printf(xml, "\n<nh2:%s>", msg_stamp_name(i));
		ubuf_add(xml, v[i], n[i]);
		ubuf_printf(xml, "</nh2:%s>", msg_stamp_name(i));
	}
	ubuf_add(xml, doc + so, len - so);
}

/* The document of a scanned message (header known, TXT found). */
static void
legacy_emit(const struct legacy_doc *d, struct ubuf *xml)
{
	struct ubuf	 b;
	const char	*dests[LEGACY_MAXTOK];
	char		*ori, *ctl, *dv[LEGACY_MAXTOK];
	int		 i, nd;

	ubuf_init(&b);
	ori = legacy_tokdup(&d->ori);
	ctl = d->has_ctl ? legacy_tokdup(&d->ctl) : xstrdup("");
	nd = d->ndest < LEGACY_MAXTOK ? d->ndest : LEGACY_MAXTOK;
	for (i = 0; i < nd; i++)
		dests[i] = dv[i] = legacy_tokdup(&d->dest[i]);
	if (nd == 0 && d->stamped && d->rori.len > 0) {
		dests[0] = dv[0] = legacy_tokdup(&d->rori);
		nd = 1;
	}
	msgbuild_begin(&b, d->key, ori, dests, nd, ctl);
	legacy_emit_body(&b, d);
	msgbuild_end(&b, d->key);
	if (d->stamped && d->in.s != NULL && d->out.s != NULL)
		legacy_emit_stamps(xml, b.data, b.len, d);
	else
		ubuf_add(xml, b.data, b.len);
	for (i = 0; i < nd; i++)
		free(dv[i]);
	free(ori);
	free(ctl);
	ubuf_free(&b);
}

int
legacy_to_xml(const char *text, size_t len, int flags, struct ubuf *xml,
    struct msg_diags *diags)
{
	struct legacy_doc	 d;
	int			 code;

	legacy_scan(&d, text, len, flags, diags);
	if (d.key != MSG_KEY_NONE && d.has_txt)
		legacy_emit(&d, xml);
	code = d.first_code;
	if (diags != NULL && diags->n > 0)
		code = diags->d[0].code;
	legacy_doc_free(&d);
	return code;
}

/*
 * Locating an xpath in the text.
 */

/* Copy xpath without "[n]" indexes. */
static void
legacy_xpath_plain(const char *xp, char *dst, size_t dsz)
{
	size_t	 o = 0;

	for (; *xp != '\0' && o + 1 < dsz; xp++) {
		if (*xp == '[') {
			while (*xp != '\0' && *xp != ']')
				xp++;
			if (*xp == '\0')
				break;
			continue;
		}
		dst[o++] = *xp;
	}
	dst[o] = '\0';
}

/* The index written after component name in xp ("n2c:Driver[3]"). */
static int
legacy_xpath_index(const char *xp, const char *name)
{
	const char	*p = strstr(xp, name);

	if (p == NULL)
		return 0;
	p += strlen(name);
	return *p == '[' ? atoi(p + 1) : 1;
}

/* A header xpath: the token of the first line (or a stamp line). */
static void
legacy_locate_hdr(const struct legacy_doc *d, const char *xpath,
    const char *rel, size_t *off)
{
	int	 idx;

	*off = d->mke.off;
	if (strcmp(rel, "/nh2:OriginatingORIID") == 0 && d->has_ori)
		*off = d->ori.off;
	else if (strcmp(rel, "/nh2:DestinationORIID") == 0 && d->ndest > 0) {
		idx = legacy_xpath_index(xpath, "DestinationORIID");
		if (idx < 1 || idx > d->ndest || idx > LEGACY_MAXTOK)
			idx = 1;
		*off = d->dest[idx - 1].off;
	} else if (strcmp(rel, "/nh2:DocumentControlFieldText") == 0 &&
	    d->has_ctl)
		*off = d->ctl.off;
	else if ((strncmp(rel, "/nh2:MessageReceive", 19) == 0 ||
	    strcmp(rel, "/nh2:ReceiveMessageNumeric") == 0) && d->in.s)
		*off = d->in.off;
	else if ((strncmp(rel, "/nh2:MessageSend", 16) == 0 ||
	    strcmp(rel, "/nh2:SendMessageNumeric") == 0) && d->out.s)
		*off = d->out.off;
}

/* The field of rec (and event nth) whose element rel is or contains. */
static int
legacy_locate_field(const struct legacy_doc *d, const char *rel, int rec,
    int nth, size_t *off)
{
	const char	*el;
	size_t		 n;
	int		 i;

	for (i = 0; i < d->nf; i++) {
		if (d->f[i].rec != rec)
			continue;
		el = d->f[i].def->element;
		n = strlen(el);
		if (strncmp(rel, el, n) == 0 && (rel[n] == '\0' ||
		    rel[n] == '/') && (nth == 0 || d->f[i].nth == nth)) {
			*off = d->f[i].off;
			return 0;
		}
		/* "psp:PhotoPurpose" or an address: its first field. */
		if (strncmp(el, rel, strlen(rel)) == 0 &&
		    el[strlen(rel)] == '/') {
			*off = d->f[i].off;
			return 0;
		}
	}
	return -1;
}

static int
legacy_locate_doc(const struct legacy_doc *d, const char *xpath,
    size_t *off)
{
	const char	*rel;
	char		 plain[320], body[96];
	int		 i, rec = 0, nth = 0;

	legacy_xpath_plain(xpath, plain, sizeof plain);
	if (strncmp(plain, LEGACY_HDR, strlen(LEGACY_HDR)) == 0) {
		legacy_locate_hdr(d, xpath, plain + strlen(LEGACY_HDR), off);
		return 0;
	}
	if (d->key == MSG_KEY_NONE || !d->has_txt)
		return -1;
	*off = d->txt_off;
	legacy_body_xpath(d->key, body, sizeof body);
	if (strncmp(plain, body, strlen(body)) != 0 ||
	    plain[strlen(body)] != '/')
		return 0;
	rel = plain + strlen(body) + 1;
	if (strncmp(rel, "n2c:Driver", 10) == 0 ||
	    strncmp(rel, "n2:Person", 9) == 0) {
		if (!legacy_has_person(d->key)) {
			rec = legacy_xpath_index(xpath, "n2c:Driver");
			if (rec < 1)
				rec = 1;
			/* The record's NAM/ if nothing better. */
			for (i = 0; i < d->nf; i++)
				if (d->f[i].rec == rec) {
					*off = d->f[i].off;
					break;
				}
		}
		if ((rel = strchr(rel, '/')) == NULL)
			return 0;
		rel++;
		if (strstr(rel, "PersonDrivingIncident") != NULL)
			nth = legacy_xpath_index(xpath,
			    "PersonDrivingIncident");
	}
	/* IPU/CATEGORY,USE carries the use code too. */
	if (strcmp(rel, LEGACY_PSP "psp:PurposeUseCode") == 0)
		rel = LEGACY_PSP "psp:PurposeCategoryCode";
	if (*rel != '\0')
		legacy_locate_field(d, rel, rec, nth, off);
	return 0;
}

void
legacy_locate(const char *text, size_t len, const char *xpath, int *line,
    int *col)
{
	struct legacy_doc	 d;
	size_t			 off = 0;

	legacy_scan(&d, text, len, LEGACY_STAMPED, NULL);
	if (xpath == NULL || legacy_locate_doc(&d, xpath, &off) == -1)
		off = d.mke.off;
	legacy_pos(d.text, d.len, off, line, col);
	legacy_doc_free(&d);
}

/*
 * legacy_parse: both steps, diagnostics merged.
 */

/*
 * 1 if a is b or an element inside b. Only element-level paths count
 * (below the body or the header): a legacy complaint about the body as a
 * whole must not hide msgparse's findings inside it.
 */
static int
legacy_xpath_within(const char *a, const char *b)
{
	size_t	 n = strlen(b), i;
	int	 depth = 0;

	for (i = 0; i < n; i++)
		depth += b[i] == '/';
	if (depth < 3 && strcmp(b, LEGACY_HDR) != 0)
		return 0;
	return n > 0 && strncmp(a, b, n) == 0 &&
	    (a[n] == '\0' || a[n] == '/' || a[n] == '[');
}

/* Sort diags [from, n) by position (stable). */
static void
legacy_diag_sort(struct msg_diags *ds, int from)
{
	struct msg_diag	 t;
	int		 i, j;

	for (i = from + 1; i < ds->n; i++) {
		t = ds->d[i];
		for (j = i; j > from && (ds->d[j - 1].line > t.line ||
		    (ds->d[j - 1].line == t.line && ds->d[j - 1].col > t.col));
		    j--)
			ds->d[j] = ds->d[j - 1];
		ds->d[j] = t;
	}
}

/* Add msgparse's diagnostics md to diags, at their places in the text. */
static void
legacy_merge(const struct legacy_doc *d, struct msg_diags *diags,
    struct msg_diags *md)
{
	struct msg_diag	*g;
	size_t		 off;
	int		 i, j, keep, hdr = d->hdr_errors > 0, nsyn = diags->n;

	for (i = 0; i < md->n; i++) {
		g = &md->d[i];
		keep = !(hdr && legacy_xpath_within(g->xpath, LEGACY_HDR));
		for (j = 0; keep && j < nsyn; j++)
			if (diags->d[j].xpath[0] != '\0' &&
			    legacy_xpath_within(g->xpath, diags->d[j].xpath))
				keep = 0;
		if (!keep)
			continue;
		off = d->mke.off;
		legacy_locate_doc(d, g->xpath, &off);
		legacy_pos(d->text, d->len, off, &g->line, &g->col);
		if (diags->n < MSG_MAXDIAG)
			diags->d[diags->n++] = *g;
		else
			diags->dropped++;
	}
	diags->dropped += md->dropped;
	legacy_diag_sort(diags, nsyn);
}

int
legacy_parse(struct msgparse_schema *s, const char *text, size_t len,
    size_t maxlen, int flags, struct ubuf *xml, struct msg *m,
    struct msg_diags *diags)
{
	struct legacy_doc	 d;
	struct msg_diags	 scratch, md;
	struct msg_diag		*g;
	size_t			 start = xml->len;

	if (diags == NULL)
		diags = &scratch;
	memset(m, 0, sizeof *m);
	diags->n = diags->dropped = 0;
	if (maxlen != 0 && len > maxlen) {
		g = &diags->d[diags->n++];
		memset(g, 0, sizeof *g);
		g->code = MSG_ER_TOO_LARGE;
		g->line = g->col = 1;
		snprintf(g->text, sizeof g->text, "message of %zu bytes "
		    "exceeds the limit of %zu bytes", len, maxlen);
		return MSG_ER_TOO_LARGE;
	}
	legacy_scan(&d, text, len, flags, diags);
	if (d.key != MSG_KEY_NONE && d.has_txt) {
		legacy_diag_sort(diags, 0);
		legacy_emit(&d, xml);
		msgparse_message(s, xml->data + start, xml->len - start, 0, 0,
		    m, &md);
		legacy_merge(&d, diags, &md);
	}
	legacy_doc_free(&d);
	if (diags->n == 0)
		return diags->dropped ? MSG_ER_FORMAT : 0;
	return diags->d[0].code;
}

/*
 * XML to text.
 */

#define LX_N2	MSG_NS_ID_N2
#define LX_NH2	MSG_NS_ID_NH2
#define LX_NC	MSG_NS_ID_NC
#define LX_J	MSG_NS_ID_J
#define LX_N2C	MSG_NS_ID_N2C
#define LX_PSP	MSG_NS_ID_PSP
#define LX_AA	MSG_NS_ID_AA
#define LX_END	MSG_NS_OTHER

/* Trimmed text of element n (new string, "" when n is NULL). */
static char *
legacy_text(xmlNodePtr n)
{
	xmlChar	*c;
	char	*s, *p, *e;

	if (n == NULL || (c = xmlNodeGetContent(n)) == NULL)
		return xstrdup("");
	for (p = (char *)c; legacy_is_ws((unsigned char)*p); p++)
		;
	e = p + strlen(p);
	while (e > p && legacy_is_ws((unsigned char)e[-1]))
		e--;
	s = xstrndup(p, (size_t)(e - p));
	xmlFree(c);
	return s;
}

/* A line of fields being written: blanks between fields. */
struct legacy_line {
	struct ubuf	*b;
	int		 n;		/* fields on the line so far */
};

/*
 * Write a dot field. Line breaks become blanks; a '.' that the reader
 * would take for the terminator (followed by blanks and a PREFIX/)
 * becomes ','. A value ending in '.' reads back fine ("ST.." -> "ST.").
 */
static void
legacy_field_out(struct legacy_line *l, const char *prefix, const char *v)
{
	char	*c;
	size_t	 i, a, n;

	if (v == NULL || v[0] == '\0')
		return;
	c = xstrdup(v);
	n = strlen(c);
	for (i = 0; i < n; i++)
		if (c[i] == '\r' || c[i] == '\n' || c[i] == '\t')
			c[i] = ' ';
	for (i = 0; i + 1 < n; i++) {
		if (c[i] != '.')
			continue;
		for (a = i + 1; a < n && c[a] == ' '; a++)
			;
		if (a < n && legacy_prefix_at(c, n, a) > 0)
			c[i] = ',';
	}
	ubuf_printf(l->b, "%s%s/%s.", l->n++ ? " " : "", prefix, c);
	free(c);
}

static void
legacy_line_end(struct legacy_line *l)
{
	if (l->n > 0)
		ubuf_adds(l->b, "\n");
	l->n = 0;
}

/* YYYY-MM-DD -> ccyymmdd (anything else unchanged). */
static char *
legacy_date_out(char *v)
{
	if (strlen(v) == 10 && v[4] == '-' && v[7] == '-') {
		memmove(v + 4, v + 5, 2);
		memmove(v + 6, v + 8, 3);
	}
	return v;
}

/* Write field prefix with the text of n (a NIEM date when date). */
static void
legacy_el_out(struct legacy_line *l, const char *prefix, xmlNodePtr n,
    int date)
{
	char	*v;

	if (date && n != NULL)
		n = xtree_child(n, LX_NC, "Date");
	v = legacy_text(n);
	legacy_field_out(l, prefix, date ? legacy_date_out(v) : v);
	free(v);
}

/* NAM/LAST,FIRST MIDDLE SUFFIX of an nc:PersonName. */
static void
legacy_name_out(struct legacy_line *l, xmlNodePtr pn)
{
	char	*sur, *giv, *mid, *sfx, *full, *nam;

	sur = legacy_text(xtree_child(pn, LX_NC, "PersonSurName"));
	giv = legacy_text(xtree_child(pn, LX_NC, "PersonGivenName"));
	mid = legacy_text(xtree_child(pn, LX_NC, "PersonMiddleName"));
	sfx = legacy_text(xtree_child(pn, LX_NC, "PersonNameSuffixText"));
	full = legacy_text(xtree_child(pn, LX_NC, "PersonFullName"));
	if (sur[0] == '\0' && giv[0] == '\0' && full[0] != '\0')
		nam = xstrdup(full);
	else
		nam = xasprintf("%s%s%s%s%s%s%s", sur, giv[0] || mid[0] ?
		    "," : "", giv, mid[0] ? " " : "", mid, sfx[0] ? " " : "",
		    sfx);
	legacy_field_out(l, "NAM", nam);
	free(nam);
	free(full);
	free(sfx);
	free(mid);
	free(giv);
	free(sur);
}

/* NAM/ DOB/ SEX/ (OLN/ OLS/ on their own line) of a person or record. */
static void
legacy_person_out(struct legacy_line *l, xmlNodePtr p)
{
	xmlNodePtr	 pn, id;

	if ((pn = xtree_child(p, LX_NC, "PersonName")) != NULL)
		legacy_name_out(l, pn);
	legacy_el_out(l, "DOB", xtree_child(p, LX_NC, "PersonBirthDate"), 1);
	legacy_el_out(l, "SEX", xtree_child(p, LX_NC, "PersonSexCode"), 0);
	legacy_line_end(l);
	id = xtree_path(p, LX_J, "PersonAugmentation", LX_NC, "DriverLicense",
	    LX_NC, "DriverLicenseIdentification", LX_END);
	legacy_el_out(l, "OLN", xtree_child(id, LX_NC, "IdentificationID"), 0);
	legacy_el_out(l, "OLS", xtree_child(id, LX_NC,
	    "IdentificationJurisdictionText"), 0);
	legacy_line_end(l);
}

/* IMG/NOT AVAILABLE IN TEXT FORMAT - N BYTES JPEG. */
static void
legacy_img_out(struct legacy_line *l, xmlNodePtr img)
{
	char	*b64, *v;
	long	 n;

	b64 = legacy_text(xtree_child(img, LX_NC, "BinaryBase64Object"));
	n = util_b64_check(b64, strlen(b64));
	free(b64);
	v = xasprintf(LEGACY_IMG_NOTE " - %ld BYTES JPEG", n < 0 ? 0 : n);
	legacy_field_out(l, "IMG", v);
	legacy_line_end(l);
	free(v);
}

/* HST/ lines of a record's driving incidents. */
static void
legacy_events_out(struct legacy_line *l, xmlNodePtr aug)
{
	xmlNodePtr	 e;
	char		*date, *code, *st, *desc, *v;

	for (e = xtree_first(aug); e != NULL; e = xtree_next(e)) {
		if (!xtree_is(e, LX_J, "PersonDrivingIncident"))
			continue;
		date = legacy_text(xtree_path(e, LX_NC, "ActivityDate", LX_NC,
		    "Date", LX_END));
		code = legacy_text(xtree_child(e, LX_NC,
		    "ActivityCategoryText"));
		st = legacy_text(xtree_path(e, LX_J,
		    "DrivingIncidentJurisdiction", LX_NC,
		    "LocationStateUSPostalServiceCode", LX_END));
		desc = legacy_text(xtree_child(e, LX_NC,
		    "ActivityDescriptionText"));
		v = xasprintf("%s,%s,%s,%s", legacy_date_out(date), code, st,
		    desc);
		legacy_field_out(l, "HST", v);
		legacy_line_end(l);
		free(v);
		free(desc);
		free(st);
		free(code);
		free(date);
	}
}

static void
legacy_record_out(struct legacy_line *l, xmlNodePtr r)
{
	xmlNodePtr	 a, lic, img;

	legacy_person_out(l, r);
	a = xtree_path(r, LX_NC, "ContactInformation", LX_NC,
	    "ContactMailingAddress", LX_NC, "StructuredAddress", LX_END);
	if (a != NULL) {
		legacy_el_out(l, "ADR", xtree_path(a, LX_NC, "LocationStreet",
		    LX_NC, "StreetFullText", LX_END), 0);
		legacy_el_out(l, "CTY", xtree_child(a, LX_NC,
		    "LocationCityName"), 0);
		legacy_el_out(l, "STA", xtree_child(a, LX_NC,
		    "LocationStateUSPostalServiceCode"), 0);
		legacy_el_out(l, "ZIP", xtree_child(a, LX_NC,
		    "LocationPostalCode"), 0);
		legacy_line_end(l);
	}
	lic = xtree_path(r, LX_J, "PersonAugmentation", LX_NC,
	    "DriverLicense", LX_END);
	legacy_el_out(l, "CLS", xtree_child(lic, LX_NC,
	    "DriverLicenseNonCommercialClassText"), 0);
	legacy_el_out(l, "LST", xtree_child(lic, LX_NC,
	    "DriverLicenseNonCommercialStatusText"), 0);
	legacy_el_out(l, "EXP", xtree_child(lic, LX_NC,
	    "DriverLicenseExpirationDate"), 1);
	legacy_line_end(l);
	if ((img = xtree_child(r, LX_NC, "PersonDigitalImage")) != NULL)
		legacy_img_out(l, img);
	legacy_events_out(l, xtree_child(r, LX_J, "PersonAugmentation"));
}

/* The fields of a query body. */
static void
legacy_query_out(struct legacy_line *l, xmlNodePtr body)
{
	xmlNodePtr	 p, c;
	char		*v, *w, *u;

	if ((p = xtree_child(body, LX_N2, "Person")) == NULL)
		p = xtree_child(body, LX_N2C, "Driver");
	if (p != NULL)
		legacy_person_out(l, p);
	v = legacy_text(xtree_child(body, LX_N2, "ImageRequestIndicator"));
	legacy_field_out(l, "IMQ", strcmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0 ? "Y" : v[0] != '\0' ? "N" : "");
	free(v);
	if ((c = xtree_child(body, LX_PSP, "PhotoPurpose")) != NULL) {
		v = legacy_text(xtree_child(c, LX_PSP, "PurposeCategoryCode"));
		w = legacy_text(xtree_child(c, LX_PSP, "PurposeUseCode"));
		u = xasprintf("%s%s%s", v, v[0] && w[0] ? "," : "", w);
		legacy_field_out(l, "IPU", u);
		free(u);
		free(w);
		free(v);
		legacy_el_out(l, "ICI", xtree_child(c, LX_PSP,
		    "CircumstanceText"), 0);
		legacy_el_out(l, "ICN", xtree_child(c, LX_PSP,
		    "CaseNumberText"), 0);
		legacy_el_out(l, "IVF", xtree_child(c, LX_PSP, "VerifierName"),
		    0);
		legacy_el_out(l, "IWN", xtree_child(c, LX_PSP,
		    "ArrestWarrantNumber"), 0);
		v = legacy_text(xtree_child(c, LX_PSP,
		    "SubjectSuspectIndicator"));
		legacy_field_out(l, "ISP", strcmp(v, "true") == 0 ||
		    strcmp(v, "1") == 0 ? "Y" : v[0] ? "N" : "");
		free(v);
	}
	legacy_line_end(l);
	legacy_el_out(l, "RSN", xtree_child(body, LX_N2, "ReasonCode"), 0);
	legacy_el_out(l, "PUR", xtree_child(body, LX_N2, "PurposeCode"), 0);
	legacy_el_out(l, "ATN", xtree_child(body, LX_N2,
	    "ResponseAttentionDescriptionText"), 0);
	legacy_line_end(l);
}

static void	legacy_header_out(struct ubuf *, xmlNodePtr, enum msg_key,
		    const char *);
static void	legacy_body_out(struct legacy_line *, xmlNodePtr,
		    enum msg_key);

/*
 * One member's answer inside a merged multi-state answer (an
 * n2:StateResponse's n2:NLETS): after a blank line, the answer as its
 * member wrote it, header line and body.
 */
static void
legacy_state_out(struct legacy_line *l, xmlNodePtr root)
{
	xmlNodePtr	 hdr;
	char		*v;
	enum msg_key	 key;

	if (root == NULL || (hdr = xtree_child(root, LX_N2,
	    "NLETSMessageHeader")) == NULL)
		return;
	v = legacy_text(xtree_child(hdr, LX_NH2, "MessageKeyCodeText"));
	key = msg_key_lookup(v);
	free(v);
	if (key == MSG_KEY_NONE)
		return;
	ubuf_adds(l->b, "\n");
	legacy_header_out(l->b, hdr, key, NULL);
	legacy_body_out(l, xtree_next(hdr), key);
}

/*
 * The fields of a hit confirmation body (YQ, YR): the request's line,
 * then a YQ's record identifiers and person, a YR's status and text.
 * @return 1 if the text ends with a field.
 */
static int
legacy_hit_out(struct legacy_line *l, xmlNodePtr body)
{
	static const char *const req[][2] = {
		{ "RTY", "QueryRequestTypeCode" },
		{ "RNO", "QueryRequestSequenceNumber" },
		{ "PRI", "QueryRequestPriorityCode" },
		{ "OCA", "CaseNumberText" },
		{ "NIC", "NCICNumberText" },
	};
	static const char *const ids[][2] = {
		{ "LIC", "LicensePlateNumberText" },
		{ "LIS", "LicensePlateStateCode" },
		{ "VIN", "VehicleIdentificationNumberText" },
		{ "SER", "ItemSerialNumberText" },
	};
	xmlNodePtr	 act = xtree_child(body, LX_N2, "QueryRequestActivity");
	xmlNodePtr	 p;
	char		*v;
	size_t		 i;
	int		 fields = 1;

	for (i = 0; i < sizeof req / sizeof req[0]; i++)
		legacy_el_out(l, req[i][0], xtree_child(act, LX_N2,
		    req[i][1]), 0);
	legacy_line_end(l);
	for (i = 0; i < sizeof ids / sizeof ids[0]; i++)
		legacy_el_out(l, ids[i][0], xtree_child(act, LX_N2,
		    ids[i][1]), 0);
	legacy_line_end(l);
	if ((p = xtree_child(body, LX_N2, "Person")) != NULL)
		legacy_person_out(l, p);
	legacy_el_out(l, "CON", xtree_child(body, LX_N2,
	    "HitConfirmationStatusCode"), 0);
	legacy_line_end(l);
	v = legacy_text(xtree_child(body, LX_N2, "ResponseText"));
	if (v[0] != '\0') {
		ubuf_printf(l->b, "MIS/%s\n", v);
		fields = 0;
	}
	free(v);
	return fields;
}

/* The records (and free text) of a response body. @return 1 if the
 * text ends with a field (records and no free text). */
static int
legacy_response_out(struct legacy_line *l, xmlNodePtr body)
{
	xmlNodePtr	 c;
	char		*v;
	int		 nrec = 0, fields;

	for (c = xtree_first(body); c != NULL; c = xtree_next(c)) {
		if (!xtree_is(c, LX_N2C, "Driver"))
			continue;
		if (nrec++ > 0)
			ubuf_adds(l->b, "\n");
		legacy_record_out(l, c);
	}
	v = legacy_text(xtree_child(body, LX_N2, "ResponseText"));
	fields = nrec > 0 && v[0] == '\0';
	if (v[0] != '\0')
		ubuf_printf(l->b, "%s%s\n", nrec > 0 ? "MIS/" : "", v);
	free(v);
	if (nrec == 0 && (c = xtree_child(body, LX_NC, "PersonDigitalImage")))
		legacy_img_out(l, c);
	for (c = xtree_first(body); c != NULL; c = xtree_next(c))
		if (xtree_is(c, LX_N2, "StateResponse")) {
			legacy_state_out(l, xtree_first(c));
			fields = 0;
		}
	return fields;
}

/* The free text of mail data (AM AML AA SM). */
static void
legacy_mail_out(struct legacy_line *l, xmlNodePtr body)
{
	xmlNodePtr	 c;
	char		*v;

	for (c = xtree_first(body); c != NULL; c = xtree_next(c)) {
		if (xtree_is(c, LX_N2, "StatusMessageText") ||
		    xtree_is(c, LX_N2, "AmberAlertCategoryText") ||
		    xtree_is(c, LX_N2, "MailMessageText")) {
			v = legacy_text(c);
			ubuf_printf(l->b, "%s\n", v);
			free(v);
		} else if (xtree_is(c, LX_NC, "PersonDigitalImage") ||
		    xtree_is(c, LX_NC, "Image"))
			legacy_img_out(l, c);
		else if (xtree_is(c, LX_AA, "AmberAlert"))
			ubuf_adds(l->b, "STANDARDIZED AMBER ALERT "
			    LEGACY_IMG_NOTE "\n");
	}
}

/* The header lines, with the output header when the XML is stamped. */
static void
legacy_header_out(struct ubuf *text, xmlNodePtr hdr, enum msg_key key,
    const char *recv_ori)
{
	xmlNodePtr	 c;
	char		*v, *ctl = NULL, *rd, *rt, *sd, *st, *rn, *sn, *dest0;

	ubuf_adds(text, msg_key_name(key));
	c = xtree_child(hdr, LX_NH2, "OriginatingORIID");
	v = legacy_text(c);
	ubuf_printf(text, ".%s", v);
	free(v);
	rd = legacy_text(xtree_child(hdr, LX_NH2, "MessageReceiveDate"));
	rt = legacy_text(xtree_child(hdr, LX_NH2, "MessageReceiveTime"));
	sd = legacy_text(xtree_child(hdr, LX_NH2, "MessageSendDate"));
	st = legacy_text(xtree_child(hdr, LX_NH2, "MessageSendTime"));
	rn = legacy_text(xtree_child(hdr, LX_NH2, "ReceiveMessageNumeric"));
	sn = legacy_text(xtree_child(hdr, LX_NH2, "SendMessageNumeric"));
	dest0 = legacy_text(xtree_child(hdr, LX_NH2, "DestinationORIID"));
	if ((c = xtree_child(hdr, LX_NH2, "DocumentControlFieldText")))
		ctl = legacy_text(c);
	if (rd[0] && rt[0] && sd[0] && st[0] && rn[0] && sn[0]) {
		if (ctl != NULL && ctl[0] != '\0')
			ubuf_printf(text, ".*%s", ctl);
		ubuf_printf(text, "\n%s %s %s\n%s %s %s %s\nTXT\n", rt, rd,
		    rn, st, sd, sn, recv_ori != NULL ? recv_ori : dest0);
	} else {
		for (c = xtree_first(hdr); c != NULL; c = xtree_next(c))
			if (xtree_is(c, LX_NH2, "DestinationORIID")) {
				v = legacy_text(c);
				ubuf_printf(text, ".%s", v);
				free(v);
			}
		if (ctl != NULL && ctl[0] != '\0')
			ubuf_printf(text, ".*%s", ctl);
		ubuf_adds(text, ".TXT\n");
	}
	free(ctl);
	free(dest0);
	free(sn);
	free(rn);
	free(st);
	free(sd);
	free(rt);
	free(rd);
}

/*
 * Nlets: the last character of a message should not be a period. Drop
 * the one that ends the last field (not the second of a value's own
 * "..": that one is part of the value).
 */
static void
legacy_last_period(struct ubuf *text)
{
	size_t	 n = text->len;

	while (n > 0 && text->data[n - 1] == '\n')
		n--;
	if (n >= 2 && text->data[n - 1] == '.' && text->data[n - 2] != '.') {
		memmove(text->data + n - 1, text->data + n, text->len - n);
		text->len--;
		text->data[text->len] = '\0';
	}
}

/* The validated message as a tree; NULL with *cause set. */
static xmlDocPtr
legacy_xml_read(const char *xml, size_t len, char **cause)
{
	xmlDocPtr	 doc;

	/* Validated by the caller: no DOCTYPE, UTF-8, well-formed. */
	doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOCDATA | XML_PARSE_IGNORE_ENC | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
	if (doc != NULL && xmlDocGetRootElement(doc) != NULL)
		return doc;
	*cause = xstrdup("cannot read the XML");
	if (doc != NULL)
		xmlFreeDoc(doc);
	return NULL;
}

/* The body by its kind; the last period goes where Nlets wants it. */
static void
legacy_body_out(struct legacy_line *l, xmlNodePtr body, enum msg_key key)
{
	if (key == MSG_KEY_YQ || key == MSG_KEY_YR) {
		if (legacy_hit_out(l, body))
			legacy_last_period(l->b);
		return;
	}
	switch (msg_key_body(key)) {
	case MSG_BODY_INQUIRY:
		legacy_query_out(l, body);
		legacy_last_period(l->b);
		break;
	case MSG_BODY_RESPONSE:
		if (legacy_response_out(l, body))
			legacy_last_period(l->b);
		break;
	default:
		legacy_mail_out(l, body);
		break;
	}
}

int
legacy_from_xml(struct msgparse_schema *s, const char *xml, size_t len,
    const char *recv_ori, struct ubuf *text, char **cause)
{
	struct msg		 m;
	struct msg_diags	 md;
	struct legacy_line	 l;
	xmlDocPtr		 doc;
	xmlNodePtr		 hdr;
	int			 code;

	if ((code = msgparse_message(s, xml, len, 0, 0, &m, &md)) != 0) {
		*cause = xasprintf("not a valid message: ER .%02d. (%s): "
		    "%d:%d: %s", code, msg_er_reason(code), md.n ?
		    md.d[0].line : 0, md.n ? md.d[0].col : 0, md.n ?
		    md.d[0].text : "");
		return -1;
	}
	if ((doc = legacy_xml_read(xml, len, cause)) == NULL)
		return -1;
	l.b = text;
	l.n = 0;
	hdr = xtree_child(xmlDocGetRootElement(doc), LX_N2,
	    "NLETSMessageHeader");
	legacy_header_out(text, hdr, m.key, recv_ori);
	legacy_body_out(&l, xtree_next(hdr), m.key);
	xmlFreeDoc(doc);
	return 0;
}
