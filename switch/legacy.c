/*
 * legacy - legacy text <-> XML (see legacy.h and docs/legacy.md).
 *
 * Text to XML runs in two steps: legacy_scan() reads the header and the
 * fields into a struct legacy_doc (slices of the input with their
 * offsets, every syntax error recorded with its position), then
 * legacy_emit() writes the XML with the msg.h builders. legacy_locate()
 * scans again to map an xpath from msg_parse back to the text.
 *
 * XML to text reads the document with libxml2 after msg_parse_flags has
 * validated it, so element order is the schema's.
 *
 * Field terminator: a value ends at the first '.' that is followed, after
 * optional blanks, by the end of the line, the end of the text or another
 * PREFIX/ (2 to 4 capital letters and a slash). So "100 EXAMPLE ST."
 * and "ST. LOUIS" are both fine, and "OLN/X1.OLS/CA." needs no blank.
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
#include "util.h"

#define K(k)		(1u << (k))
#define LK_Q		(K(MSG_KEY_DQ) | K(MSG_KEY_KQ))
#define LK_N		K(MSG_KEY_DNQ)
#define LK_R		(K(MSG_KEY_DR) | K(MSG_KEY_KR) | K(MSG_KEY_DNR))
#define LK_KR		K(MSG_KEY_KR)
#define LK_SM		K(MSG_KEY_SM)
#define LK_ER		K(MSG_KEY_ER)

#define LEGACY_MAXTOK	16		/* header destinations kept */
#define LEGACY_IMG_NOTE	"NOT AVAILABLE IN TEXT FORMAT"

/*
 * The field table. Order matters twice: it is the order legacy_from_xml
 * writes fields in, and the element paths are what legacy_locate matches
 * msg_parse's xpaths against.
 *
 * Photo purpose (DESIGN.md section 4, PhotoPurpose in schemas/dq.xsd,
 * docs/policy.md): PUR/CATEGORY,USE carries PurposeCategoryCode and
 * PurposeUseCode; CIR/ CAS/ VER/ WAR/ SUS/ the rest of PhotoPurpose.
 * Renaming a prefix is a change to its row here (and to docs/legacy.md).
 */
static const struct legacy_field legacy_fields[] = {
	{ "NAM", LK_Q | LK_N | LK_R, LEGACY_F_DOT, 1, "PersonName",
	    "name: SURNAME,GIVEN MIDDLE" },
	{ "DOB", LK_Q | LK_N | LK_R, LEGACY_F_DOT, 1, "PersonBirthDate",
	    "date of birth YYYYMMDD (YYYY-MM-DD accepted)" },
	{ "SEX", LK_Q | LK_N | LK_R, LEGACY_F_DOT, 1, "PersonSexCode",
	    "sex: M, F or U" },
	{ "OLN", LK_Q | LK_R, LEGACY_F_DOT, 1, "DriverLicenseID",
	    "operator license number" },
	{ "OLS", LK_Q | LK_R, LEGACY_F_DOT, 1, "IssuingStateCode",
	    "operator license state" },
	{ "IMQ", LK_Q, LEGACY_F_DOT, 0, "ImageRequestIndicator",
	    "image request: Y asks for the photo" },
	{ "PUR", LK_Q, LEGACY_F_DOT, 0, "PhotoPurpose/PurposeCategoryCode",
	    "photo purpose: CATEGORY,USE (IDENTIFICATION,TRAFFIC-STOP)" },
	{ "CIR", LK_Q, LEGACY_F_DOT, 0, "PhotoPurpose/CircumstanceText",
	    "circumstance justifying the photo request" },
	{ "CAS", LK_Q, LEGACY_F_DOT, 0, "PhotoPurpose/CaseNumberText",
	    "case number" },
	{ "VER", LK_Q, LEGACY_F_DOT, 0, "PhotoPurpose/VerifierName",
	    "who verifies the identity (public disclosure)" },
	{ "WAR", LK_Q, LEGACY_F_DOT, 0, "PhotoPurpose/ArrestWarrantNumber",
	    "arrest warrant number (public disclosure of a suspect)" },
	{ "SUS", LK_Q, LEGACY_F_DOT, 0,
	    "PhotoPurpose/SubjectSuspectIndicator",
	    "Y: the subject is the identified suspect (photo lineup)" },
	{ "RSN", LK_Q | LK_N, LEGACY_F_DOT, 0, "ReasonText",
	    "reason for the inquiry" },
	{ "ATN", LK_Q | LK_N, LEGACY_F_DOT, 0, "AttentionText",
	    "attention: who the answer is for" },
	{ "ADR", LK_R, LEGACY_F_DOT, 1, "LocationAddress/LocationStreetText",
	    "street address" },
	{ "CTY", LK_R, LEGACY_F_DOT, 1, "LocationAddress/LocationCityName",
	    "city" },
	{ "STA", LK_R, LEGACY_F_DOT, 1, "LocationAddress/LocationStateCode",
	    "state of the address" },
	{ "ZIP", LK_R, LEGACY_F_DOT, 1, "LocationAddress/LocationPostalCode",
	    "postal code" },
	{ "CLS", LK_R, LEGACY_F_DOT, 1, "LicenseClassCode",
	    "license class" },
	{ "LST", LK_R, LEGACY_F_DOT, 1, "LicenseStatusCode",
	    "license status (VALID, SUSPENDED, ...)" },
	{ "EXP", LK_R, LEGACY_F_DOT, 1, "LicenseExpirationDate",
	    "license expiration date YYYYMMDD" },
	{ "IMG", LK_R, LEGACY_F_DOT, 1, "PersonDigitalImage",
	    "photo note: the image itself never travels in text" },
	{ "HST", LK_KR, LEGACY_F_DOT, 1, "DriverHistory/HistoryEntry",
	    "history entry: YYYYMMDD,CODE,STATE,DESCRIPTION (or NONE)" },
	{ "MIS", LK_R, LEGACY_F_TAIL, 0, "ResponseText",
	    "free text from the state, to the end of the message" },
	{ "STS", LK_SM, LEGACY_F_DOT, 0, "StatusCode",
	    "status code (01 02 04 08)" },
	{ "DST", LK_SM, LEGACY_F_DOT, 0, "AboutDestinationORIID",
	    "the destination the status is about" },
	{ "MKE", LK_SM, LEGACY_F_DOT, 0, "AboutMessageKeyCodeText",
	    "the message key the status is about" },
	{ "REF", LK_SM, LEGACY_F_DOT, 0, "ReferenceMessageID",
	    "switch message ID of the message it is about" },
	{ "MIS", LK_SM, LEGACY_F_TAIL, 0, "StatusText",
	    "status text, to the end of the message" },
	{ "ERR", LK_ER, LEGACY_F_DOT, 0, "ErrorCode", "error code" },
	{ "RSN", LK_ER, LEGACY_F_DOT, 0, "ErrorReasonText",
	    "English reason for the code" },
	{ "DTL", LK_ER, LEGACY_F_DOT, 0, "ErrorDetailText",
	    "detail: which field, which rule" },
	{ "INP", LK_ER, LEGACY_F_TAIL, 0, "OffendingInputText",
	    "first 100 characters of the input, to the end of the message" },
};
#define LEGACY_NFIELDS	(sizeof legacy_fields / sizeof legacy_fields[0])

/* Where each key's body lives (msg.c's table is private). */
static const char *const legacy_bodies[MSG_KEY_MAX][2] = {
	[MSG_KEY_DQ] = { "NLETSInquiryData", "DriverQuery" },
	[MSG_KEY_DR] = { "NLETSResponseData", "DriverResponse" },
	[MSG_KEY_KQ] = { "NLETSInquiryData", "DriverQuery" },
	[MSG_KEY_KR] = { "NLETSResponseData", "DriverHistoryResponse" },
	[MSG_KEY_DNQ] = { "NLETSInquiryData", "DriverNameQuery" },
	[MSG_KEY_DNR] = { "NLETSResponseData", "DriverNameResponse" },
	[MSG_KEY_AM] = { "NLETSInquiryData", "AdministrativeMessage" },
	[MSG_KEY_SM] = { "NLETSResponseData", "StatusMessage" },
	[MSG_KEY_ER] = { "NLETSResponseData", "ErrorMessage" },
};

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
	int			 nth;	/* HST: entry number in the record */
};

/* A scanned legacy message. */
struct legacy_doc {
	const char		*text;
	size_t			 len;
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
	struct legacy_tok	 in, out, mid;

	int			 has_txt;
	size_t			 txt_off;
	struct legacy_tok	 body;		/* after TXT (AM text) */

	int			 notonfile;
	size_t			 nof_off;
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

static int
legacy_is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
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

/* Trim blanks (and CR/LF) around a token. */
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

static char *
legacy_tokdup(const struct legacy_tok *t)
{
	return xstrndup(t->s != NULL ? t->s : "", t->len);
}

/*
 * XPaths, in the shape libxml2's xmlGetNodePath gives them (an index only
 * when there are several siblings of that name).
 */

static void
legacy_hdr_xpath(char *dst, size_t dsz, const char *el, int idx, int n)
{
	if (el == NULL)
		snprintf(dst, dsz, "/NLETS/NLETSMessageHeader");
	else if (n > 1)
		snprintf(dst, dsz, "/NLETS/NLETSMessageHeader/%s[%d]", el, idx);
	else
		snprintf(dst, dsz, "/NLETS/NLETSMessageHeader/%s", el);
}

/* HST/ entries in record rec. */
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
	const char	*cont, *body;
	char		 el[96], path[320];

	if (d->key <= MSG_KEY_NONE || d->key >= MSG_KEY_MAX) {
		snprintf(dst, dsz, "/NLETS");
		return;
	}
	cont = legacy_bodies[d->key][0];
	body = legacy_bodies[d->key][1];
	if (f == NULL || f->def == NULL) {
		snprintf(dst, dsz, "/NLETS/%s/%s", cont, body);
		return;
	}
	snprintf(el, sizeof el, "%s", f->def->element);
	if (strcmp(f->def->prefix, "HST") == 0 && legacy_nhst(d, f->rec) > 1)
		snprintf(el, sizeof el, "DriverHistory/HistoryEntry[%d]",
		    f->nth);
	if (f->def->record && f->rec > 0 && d->nrec > 1)
		snprintf(path, sizeof path, "/NLETS/%s/%s/DriverRecord[%d]/%s",
		    cont, body, f->rec, el);
	else if (f->def->record && f->rec > 0)
		snprintf(path, sizeof path, "/NLETS/%s/%s/DriverRecord/%s",
		    cont, body, el);
	else
		snprintf(path, sizeof path, "/NLETS/%s/%s/%s", cont, body, el);
	util_strlcpy(dst, path, dsz);
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

	legacy_hdr_xpath(xp, sizeof xp, el, 0, 0);
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	d->hdr_errors++;
	legacy_diag(d, off, code, xp, "%s", text);
}

/*
 * Header.
 */

/* "HH:MM:SS MM/DD/YYYY SEQ [ORI]": 1 if line looks like a stamp line. */
static int
legacy_is_stamp(const char *s, size_t n)
{
	static const char	 shape[] = "99:99:99 99/99/9999 9";
	size_t			 i;

	if (n < sizeof shape - 1)
		return 0;
	for (i = 0; i < sizeof shape - 1; i++) {
		if (shape[i] == '9' ? !isdigit((unsigned char)s[i]) :
		    s[i] != shape[i])
			return 0;
	}
	return 1;
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

/* 1 if t[s..e) starts with the word TXT. */
static int
legacy_is_txt(const char *t, size_t s, size_t e)
{
	return e - s >= 3 && memcmp(t + s, "TXT", 3) == 0 &&
	    (e - s == 3 || legacy_is_ws((unsigned char)t[s + 3]));
}

/*
 * Read MKE.ORI.DEST[.DEST...][.*CTL].TXT, or the delivered form (the same
 * line without .TXT, the output header lines, then TXT).
 * @return 0, or -1 when there is no body to read.
 */
static int
legacy_scan_header(struct legacy_doc *d)
{
	const char		*t = d->text;
	size_t			 len = d->len, p = 0, eol, end, s, e, q, ls, le;
	struct legacy_tok	 tok;
	char			 name[8], id[MSG_ORI_LEN + 2];
	int			 idx = 0, nstamp = 0, ctl_seen = 0;

	if (len >= 3 && memcmp(t, "\xef\xbb\xbf", 3) == 0)
		p = 3;
	while (p < len && legacy_is_ws((unsigned char)t[p]))
		p++;
	if (p >= len) {
		legacy_diag(d, 0, MSG_ER_MALFORMED, "/NLETS", "TXT missing "
		    "(empty message)");
		return -1;
	}
	eol = legacy_eol(t, len, p);
	end = eol;
	while (end > p && legacy_is_ws((unsigned char)t[end - 1]))
		end--;
	d->hdr_eol = end;

	for (s = p; s <= end; s = e + 1, idx++) {
		for (e = s; e < end && t[e] != '.'; e++)
			;
		tok.s = t + s;
		tok.len = e - s;
		tok.off = s;
		if (idx == 0) {
			d->mke = tok;
			snprintf(name, sizeof name, "%.*s",
			    (int)(tok.len < 7 ? tok.len : 7), tok.s);
			d->key = tok.len <= 3 ? msg_key_lookup(name) :
			    MSG_KEY_NONE;
			if (d->key == MSG_KEY_NONE)
				legacy_hdr_diag(d, s, MSG_ER_HEADER,
				    "MessageKeyCodeText", "unknown message "
				    "key \"%.*s\" (the header starts with "
				    "MKE.ORI.)", (int)(tok.len > 20 ? 20 :
				    tok.len), tok.s);
		} else if (idx == 1) {
			d->ori = tok;
			d->has_ori = 1;
			snprintf(id, sizeof id, "%.*s", (int)(tok.len <
			    sizeof id ? tok.len : sizeof id - 1), tok.s);
			if (tok.len != MSG_ORI_LEN || !msg_ori_is_valid(id)) {
				legacy_hdr_diag(d, s, MSG_ER_HEADER,
				    "OriginatingORIID", "originating ORI "
				    "\"%.*s\" is not a 9-character ORI",
				    (int)(tok.len > 20 ? 20 : tok.len), tok.s);
			}
		} else if (legacy_is_txt(t, s, e)) {
			d->has_txt = 1;
			d->txt_off = s;
			d->body.s = t + s + 3;
			d->body.off = s + 3;
			d->body.len = len - (s + 3);
			break;
		} else if (tok.len > 0 && tok.s[0] == '*') {
			if (ctl_seen++) {
				legacy_hdr_diag(d, s, MSG_ER_HEADER,
				    "DocumentControlFieldText", "a second "
				    "control field");
				continue;
			}
			d->ctl = tok;
			d->ctl.s++;
			d->ctl.len--;
			d->ctl.off++;
			d->has_ctl = 1;
			for (q = 0; q < d->ctl.len; q++)
				if (d->ctl.s[q] < ' ' || d->ctl.s[q] > '~')
					break;
			if (d->ctl.len == 0 || d->ctl.len > MSG_CTL_LEN ||
			    q < d->ctl.len)
				legacy_hdr_diag(d, s, MSG_ER_HEADER,
				    "DocumentControlFieldText", "control "
				    "field \"*%.*s\" is not 1 to %d printable "
				    "characters", (int)(d->ctl.len > 20 ? 20 :
				    d->ctl.len), d->ctl.s, MSG_CTL_LEN);
		} else if (tok.len == 0 && e >= end) {
			/* The line ends with '.': nothing more. */
		} else {
			if (d->ndest < LEGACY_MAXTOK)
				d->dest[d->ndest] = tok;
			d->ndest++;
			if (ctl_seen)
				legacy_hdr_diag(d, s, MSG_ER_HEADER,
				    "DestinationORIID", "destination after "
				    "the control field");
			else if (tok.len == 0)
				legacy_hdr_diag(d, s, MSG_ER_DEST,
				    "DestinationORIID", "empty destination");
			else if ((tok.len != 2 && tok.len != MSG_ORI_LEN) ||
			    (snprintf(id, sizeof id, "%.*s", (int)tok.len,
			    tok.s), !msg_dest_is_valid(id)))
				legacy_hdr_diag(d, s, MSG_ER_DEST,
				    "DestinationORIID", "destination \"%.*s\" "
				    "is neither a member code nor an ORI",
				    (int)(tok.len > 20 ? 20 : tok.len), tok.s);
			else if (d->ndest == MSG_MAXDEST + 1)
				legacy_hdr_diag(d, s, MSG_ER_DEST,
				    "DestinationORIID", "more than %d "
				    "destinations", MSG_MAXDEST);
		}
	}
	if (!d->has_ori && d->key != MSG_KEY_NONE)
		legacy_hdr_diag(d, end, MSG_ER_HEADER, "OriginatingORIID",
		    "no originating ORI (MKE.ORI.DEST...)");
	else if (d->ndest == 0 && d->has_ori)
		legacy_hdr_diag(d, d->ori.off + d->ori.len, MSG_ER_DEST,
		    "DestinationORIID", "no destination (1 to %d after the "
		    "ORI)", MSG_MAXDEST);
	if (d->has_txt)
		return 0;

	/* Delivered form: output header lines, then TXT on its own. */
	q = eol < len ? eol + 1 : len;
	while (legacy_next_line(t, len, &q, &ls, &le)) {
		if (legacy_is_txt(t, ls, le)) {
			d->has_txt = 1;
			d->txt_off = ls;
			d->body.s = t + ls + 3;
			d->body.off = ls + 3;
			d->body.len = len - (ls + 3);
			break;
		}
		tok.s = t + ls;
		tok.len = le - ls;
		tok.off = ls;
		if (le - ls > 4 && memcmp(t + ls, "MID/", 4) == 0) {
			d->mid = tok;
			d->mid.s += 4;
			d->mid.len -= 4;
			d->mid.off += 4;
		} else if (legacy_is_stamp(t + ls, le - ls) && nstamp < 2) {
			if (nstamp++ == 0)
				d->in = tok;
			else
				d->out = tok;
		} else
			break;
	}
	if (!d->has_txt) {
		legacy_hdr_diag(d, end, MSG_ER_MALFORMED, NULL, "TXT missing: "
		    "the header line ends with .TXT");
		return -1;
	}
	if (nstamp > 0 || d->mid.s != NULL) {
		d->stamped = 1;
		if (nstamp != 2)
			legacy_hdr_diag(d, d->hdr_eol, MSG_ER_HEADER,
			    "NLETSReceiveDate", "an output header needs the "
			    "input line and the output line "
			    "(HH:MM:SS MM/DD/YYYY SEQ [ORI])");
	}
	return 0;
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
		for (a = r + 1; a < eol && legacy_is_blank((unsigned char)t[a]);
		    a++)
			;
		if (a >= eol || t[a] == '\r' || legacy_prefix_at(t, eol, a) > 0)
			return r;
	}
	return eol;
}

/* 1 if "NOT ON FILE" (optional '.') is all there is on the line at p. */
static int
legacy_is_nof(const char *t, size_t eol, size_t p)
{
	static const char	 nof[] = "NOT ON FILE";
	size_t			 n = sizeof nof - 1;

	if (eol - p < n || memcmp(t + p, nof, n) != 0)
		return 0;
	p += n;
	if (p < eol && t[p] == '.')
		p++;
	while (p < eol && legacy_is_ws((unsigned char)t[p]))
		p++;
	return p == eol;
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

static void
legacy_scan_body(struct legacy_doc *d)
{
	const char			*t = d->text;
	const struct legacy_field	*def;
	struct legacy_fld		*f;
	size_t				 p, eol, pl, r;
	char				 xp[128];
	int				 resp, nhst = 0;

	if (d->key == MSG_KEY_AM) {
		d->body.len = d->len - d->body.off;
		legacy_trim(&d->body);
		if (d->body.len == 0)
			legacy_diag(d, d->txt_off, MSG_ER_MALFORMED,
			    "/NLETS/NLETSInquiryData/AdministrativeMessage",
			    "TXT missing: an AM carries its text after TXT");
		return;
	}
	resp = (K(d->key) & LK_R) != 0;
	p = d->body.off;
	for (;;) {
		while (p < d->len && legacy_is_ws((unsigned char)t[p]))
			p++;
		if (p >= d->len)
			break;
		eol = legacy_eol(t, d->len, p);
		if (resp && legacy_is_nof(t, eol, p)) {
			if (d->notonfile++)
				legacy_diag(d, p, MSG_ER_FORMAT, NULL,
				    "NOT ON FILE twice");
			d->nof_off = p;
			p = eol;
			continue;
		}
		if ((pl = legacy_prefix_at(t, eol, p)) == 0) {
			legacy_fld_xpath(d, NULL, xp, sizeof xp);
			legacy_diag(d, p, MSG_ER_FORMAT, xp, "expected a "
			    "PREFIX/value. field, found \"%.*s\"",
			    (int)(eol - p > 20 ? 20 : eol - p), t + p);
			p = eol;
			continue;
		}
		def = legacy_field_lookup(t + p, pl - 1, d->key);
		if (def == NULL) {
			legacy_fld_xpath(d, NULL, xp, sizeof xp);
			legacy_diag(d, p, MSG_ER_FORMAT, xp, "field %.*s "
			    "is not part of a %s", (int)pl, t + p,
			    msg_key_name(d->key));
			r = legacy_value_end(t, eol, p + pl);
			p = r < eol ? r + 1 : eol;
			continue;
		}
		f = legacy_fld_add(d);
		f->def = def;
		f->off = p;
		if (def->record) {
			if (strcmp(def->prefix, "NAM") == 0 && resp) {
				d->nrec++;
				nhst = 0;
			}
			f->rec = resp ? d->nrec : 0;
			if (strcmp(def->prefix, "HST") == 0)
				f->nth = ++nhst;
		}
		f->val.s = t + p + pl;
		f->val.off = p + pl;
		if (def->kind == LEGACY_F_TAIL) {
			f->val.len = d->len - f->val.off;
			legacy_trim(&f->val);
			if (legacy_dup(d, def, f->rec))
				goto dup;
			break;
		}
		r = legacy_value_end(t, eol, p + pl);
		f->val.len = r - (p + pl);
		legacy_trim(&f->val);
		p = r < eol ? r + 1 : eol;
		if (def->record && resp && f->rec == 0) {
			legacy_diag(d, f->off, MSG_ER_FORMAT,
			    "/NLETS/NLETSResponseData", "%s/ before the first "
			    "NAM/ (every record starts with NAM/)",
			    def->prefix);
			d->nf--;
			continue;
		}
		legacy_fld_xpath(d, f, xp, sizeof xp);
		if (r >= eol)
			legacy_diag(d, f->off, MSG_ER_FORMAT, xp, "unterminated "
			    "field %s/: no '.' before the end of the line",
			    def->prefix);
		else if (f->val.len == 0)
			legacy_diag(d, f->off, MSG_ER_FORMAT, xp, "empty field "
			    "%s/", def->prefix);
		if (strcmp(def->prefix, "HST") != 0 &&
		    legacy_dup(d, def, f->rec))
			goto dup;
		continue;
dup:
		legacy_fld_xpath(d, f, xp, sizeof xp);
		legacy_diag(d, f->off, MSG_ER_FORMAT, xp, "field %s/ given "
		    "twice%s", def->prefix, f->rec ? " in one record" : "");
		if (def->kind == LEGACY_F_TAIL)
			break;
	}
}

/* Scan the whole text; d->diags set by the caller. */
static void
legacy_scan(struct legacy_doc *d, const char *text, size_t len,
    struct msg_diags *diags)
{
	memset(d, 0, sizeof *d);
	d->text = text != NULL ? text : "";
	d->len = text != NULL ? len : 0;
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

/* <name>value</name> of a field. */
static void
legacy_put(struct ubuf *b, const struct legacy_doc *d, const char *prefix,
    int rec, const char *name)
{
	char	*v = legacy_val(d, prefix, rec);

	msg_add_text(b, name, v);
	free(v);
}

/* YYYYMMDD becomes YYYY-MM-DD; anything else is left to the schema. */
static char *
legacy_date_in(const char *v)
{
	size_t	 i;

	if (strlen(v) != 8)
		return xstrdup(v);
	for (i = 0; i < 8; i++)
		if (!isdigit((unsigned char)v[i]))
			return xstrdup(v);
	return xasprintf("%.4s-%.2s-%.2s", v, v + 4, v + 6);
}

static void
legacy_put_date(struct ubuf *b, const struct legacy_doc *d,
    const char *prefix, int rec, const char *name)
{
	char	*v = legacy_val(d, prefix, rec), *iso;

	iso = legacy_date_in(v);
	msg_add_text(b, name, iso);
	free(iso);
	free(v);
}

/* Y/N in legacy, true/false in an xs:boolean. */
static void
legacy_put_bool(struct ubuf *b, const struct legacy_doc *d,
    const char *prefix, int rec, const char *name)
{
	char	*v = legacy_val(d, prefix, rec);

	msg_add_text(b, name, strcmp(v, "Y") == 0 ? "true" :
	    strcmp(v, "N") == 0 ? "false" : v);
	free(v);
}

/* A number without leading zeros when it is one ("02" -> "2"). */
static void
legacy_put_num(struct ubuf *b, const struct legacy_doc *d,
    const char *prefix, int rec, const char *name)
{
	char	*v = legacy_val(d, prefix, rec), *s = v;

	if (*s != '\0' && strspn(s, "0123456789") == strlen(s)) {
		while (s[0] == '0' && s[1] != '\0')
			s++;
	}
	msg_add_text(b, name, s);
	free(v);
}

/* NAM/SURNAME,GIVEN MIDDLE + DOB SEX [OLN OLS] of a query or record. */
static void
legacy_put_person(struct ubuf *b, const struct legacy_doc *d, int rec,
    int license)
{
	char	*nam = legacy_val(d, "NAM", rec), *comma, *given, *mid;

	if (nam[0] != '\0') {
		ubuf_adds(b, "<PersonName>\n");
		if ((comma = strchr(nam, ',')) != NULL) {
			*comma = '\0';
			given = comma + 1;
			while (legacy_is_blank((unsigned char)*given))
				given++;
			mid = given + strcspn(given, " \t");
			if (*mid != '\0') {
				*mid++ = '\0';
				while (legacy_is_blank((unsigned char)*mid))
					mid++;
			}
			msg_add_text(b, "PersonGivenName", given);
			msg_add_text(b, "PersonMiddleName", mid);
		}
		comma = nam + strlen(nam);
		while (comma > nam && legacy_is_blank((unsigned char)comma[-1]))
			*--comma = '\0';
		msg_add_text(b, "PersonSurName", nam);
		ubuf_adds(b, "</PersonName>\n");
	}
	free(nam);
	legacy_put_date(b, d, "DOB", rec, "PersonBirthDate");
	legacy_put(b, d, "SEX", rec, "PersonSexCode");
	if (license) {
		legacy_put(b, d, "OLN", rec, "DriverLicenseID");
		legacy_put(b, d, "OLS", rec, "IssuingStateCode");
	}
}

/* One HST/date,code,state,description. as a HistoryEntry. */
static void
legacy_put_history(struct ubuf *b, const struct legacy_fld *f)
{
	char	*v = legacy_tokdup(&f->val), *part[4], *p = v, *date;
	int	 i;

	if (strcmp(v, "NONE") == 0) {
		free(v);
		return;
	}
	for (i = 0; i < 3; i++) {
		part[i] = p;
		p += strcspn(p, ",");
		if (*p == ',')
			*p++ = '\0';
	}
	part[3] = p;
	ubuf_adds(b, "<HistoryEntry>\n");
	date = legacy_date_in(part[0]);
	/* EventDate and EventCode are required: an empty one still gets an
	 * element so that the schema names what is missing. */
	ubuf_adds(b, "<EventDate>");
	ubuf_add_xml(b, date, strlen(date));
	ubuf_adds(b, "</EventDate>\n<EventCode>");
	ubuf_add_xml(b, part[1], strlen(part[1]));
	ubuf_adds(b, "</EventCode>\n");
	msg_add_text(b, "EventDescriptionText", part[3]);
	msg_add_text(b, "EventStateCode", part[2]);
	ubuf_adds(b, "</HistoryEntry>\n");
	free(date);
	free(v);
}

static void
legacy_put_record(struct ubuf *b, const struct legacy_doc *d, int rec)
{
	int	 i, hist = 0;

	ubuf_adds(b, "<DriverRecord>\n");
	legacy_put_person(b, d, rec, 1);
	if (legacy_get(d, "ADR", rec) || legacy_get(d, "CTY", rec) ||
	    legacy_get(d, "STA", rec) || legacy_get(d, "ZIP", rec)) {
		ubuf_adds(b, "<LocationAddress>\n");
		legacy_put(b, d, "ADR", rec, "LocationStreetText");
		legacy_put(b, d, "CTY", rec, "LocationCityName");
		legacy_put(b, d, "STA", rec, "LocationStateCode");
		legacy_put(b, d, "ZIP", rec, "LocationPostalCode");
		ubuf_adds(b, "</LocationAddress>\n");
	}
	legacy_put(b, d, "CLS", rec, "LicenseClassCode");
	legacy_put(b, d, "LST", rec, "LicenseStatusCode");
	legacy_put_date(b, d, "EXP", rec, "LicenseExpirationDate");
	/* IMG/ is a note only: the image never travels in text. */
	for (i = 0; i < d->nf; i++) {
		if (d->f[i].rec != rec || strcmp(d->f[i].def->prefix, "HST"))
			continue;
		if (!hist++)
			ubuf_adds(b, "<DriverHistory>\n");
		legacy_put_history(b, &d->f[i]);
	}
	if (hist)
		ubuf_adds(b, "</DriverHistory>\n");
	ubuf_adds(b, "</DriverRecord>\n");
}

/* Microseconds of "HH:MM:SS MM/DD/YYYY"; 0 when it is no such time. */
static uint64_t
legacy_stamp_us(const char *s)
{
	struct tm	 tm;
	time_t		 t;

	memset(&tm, 0, sizeof tm);
	tm.tm_hour = atoi(s);
	tm.tm_min = atoi(s + 3);
	tm.tm_sec = atoi(s + 6);
	tm.tm_mon = atoi(s + 9) - 1;
	tm.tm_mday = atoi(s + 12);
	tm.tm_year = atoi(s + 15) - 1900;
	if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || (t = timegm(&tm)) == (time_t)-1)
		return 0;
	return (uint64_t)t * 1000000;
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

/* The document of a scanned message (header known, TXT found). */
static void
legacy_emit(const struct legacy_doc *d, struct ubuf *xml)
{
	struct ubuf		 b;
	struct msg_stamp	 st;
	const char		*dests[LEGACY_MAXTOK];
	char			*ori, *ctl, *dv[LEGACY_MAXTOK], *v, *id = NULL;
	char			*rori = NULL, *seq, *use;
	const char		*cat;
	int			 i, nd, key = d->key;
	size_t			 hend;

	ubuf_init(&b);
	ori = legacy_tokdup(&d->ori);
	ctl = d->has_ctl ? legacy_tokdup(&d->ctl) : xstrdup("");
	nd = d->ndest < LEGACY_MAXTOK ? d->ndest : LEGACY_MAXTOK;
	for (i = 0; i < nd; i++) {
		dv[i] = legacy_tokdup(&d->dest[i]);
		dests[i] = dv[i];
	}
	msg_begin(&b, key, ori, dests, nd, ctl);
	switch (key) {
	case MSG_KEY_DQ:
	case MSG_KEY_KQ:
		legacy_put_person(&b, d, 0, 1);
		legacy_put(&b, d, "IMQ", 0, "ImageRequestIndicator");
		if (legacy_get(d, "PUR", 0) || legacy_get(d, "CIR", 0) ||
		    legacy_get(d, "CAS", 0) || legacy_get(d, "VER", 0) ||
		    legacy_get(d, "WAR", 0) || legacy_get(d, "SUS", 0)) {
			ubuf_adds(&b, "<PhotoPurpose>\n");
			/* CATEGORY,USE; a lone value that is no category is
			 * the use (PUR/AMNESIA., docs/policy.md). */
			v = legacy_val(d, "PUR", 0);
			cat = v;
			if ((use = strchr(v, ',')) != NULL)
				*use++ = '\0';
			else if (!legacy_is_category(v)) {
				use = v;
				cat = "";
			}
			msg_add_text(&b, "PurposeCategoryCode", cat);
			msg_add_text(&b, "PurposeUseCode", use);
			free(v);
			legacy_put(&b, d, "CIR", 0, "CircumstanceText");
			legacy_put(&b, d, "CAS", 0, "CaseNumberText");
			legacy_put(&b, d, "VER", 0, "VerifierName");
			legacy_put(&b, d, "WAR", 0, "ArrestWarrantNumber");
			legacy_put_bool(&b, d, "SUS", 0,
			    "SubjectSuspectIndicator");
			ubuf_adds(&b, "</PhotoPurpose>\n");
		}
		legacy_put(&b, d, "RSN", 0, "ReasonText");
		legacy_put(&b, d, "ATN", 0, "AttentionText");
		break;
	case MSG_KEY_DNQ:
		legacy_put_person(&b, d, 0, 0);
		legacy_put(&b, d, "RSN", 0, "ReasonText");
		legacy_put(&b, d, "ATN", 0, "AttentionText");
		break;
	case MSG_KEY_AM:
		v = legacy_tokdup(&d->body);
		msg_add_text(&b, "MessageText", v);
		free(v);
		break;
	case MSG_KEY_DR:
	case MSG_KEY_KR:
	case MSG_KEY_DNR:
		if (d->notonfile)
			msg_add_text(&b, "NotOnFileIndicator", "true");
		for (i = 1; i <= d->nrec; i++)
			legacy_put_record(&b, d, i);
		legacy_put(&b, d, "MIS", 0, "ResponseText");
		break;
	case MSG_KEY_SM:
		legacy_put_num(&b, d, "STS", 0, "StatusCode");
		legacy_put(&b, d, "MIS", 0, "StatusText");
		legacy_put(&b, d, "DST", 0, "AboutDestinationORIID");
		legacy_put(&b, d, "MKE", 0, "AboutMessageKeyCodeText");
		legacy_put(&b, d, "REF", 0, "ReferenceMessageID");
		break;
	case MSG_KEY_ER:
		legacy_put_num(&b, d, "ERR", 0, "ErrorCode");
		legacy_put(&b, d, "RSN", 0, "ErrorReasonText");
		legacy_put(&b, d, "DTL", 0, "ErrorDetailText");
		legacy_put(&b, d, "INP", 0, "OffendingInputText");
		break;
	default:
		break;
	}
	msg_end(&b, key);

	if (d->stamped && d->in.s != NULL && d->out.s != NULL &&
	    (hend = msg_find_hdr_end(b.data, b.len)) != (size_t)-1) {
		memset(&st, 0, sizeof st);
		v = legacy_tokdup(&d->in);
		st.recv_us = legacy_stamp_us(v);
		seq = v + 20;
		st.in_seq = strtoull(seq, NULL, 10);
		free(v);
		v = legacy_tokdup(&d->out);
		st.send_us = legacy_stamp_us(v);
		seq = v + 20;
		st.out_seq = strtoull(seq, &seq, 10);
		while (legacy_is_blank((unsigned char)*seq))
			seq++;
		rori = xstrdup(seq);
		free(v);
		st.recv_ori = rori;
		id = d->mid.s != NULL ? legacy_tokdup(&d->mid) : NULL;
		st.msgid = id;
		msg_stamp(xml, b.data, b.len, hend, &st);
	} else
		ubuf_add(xml, b.data, b.len);
	free(id);
	free(rori);
	for (i = 0; i < nd; i++)
		free(dv[i]);
	free(ori);
	free(ctl);
	ubuf_free(&b);
}

int
legacy_to_xml(const char *text, size_t len, struct ubuf *xml,
    struct msg_diags *diags)
{
	struct legacy_doc	 d;
	int			 code;

	legacy_scan(&d, text, len, diags);
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

/* Copy xpath without "[n]" indexes; return the index of component comp
 * (1 when it has none). */
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

/* The index written after component name in xp ("DriverRecord[3]"). */
static int
legacy_xpath_index(const char *xp, const char *name)
{
	const char	*p = strstr(xp, name);

	if (p == NULL)
		return 0;
	p += strlen(name);
	return *p == '[' ? atoi(p + 1) : 1;
}

static int
legacy_locate_doc(const struct legacy_doc *d, const char *xpath,
    size_t *off)
{
	const char	*rel, *hdr = "/NLETS/NLETSMessageHeader";
	char		 plain[256];
	int		 i, idx, rec = 0, nth = 0;
	size_t		 n;

	legacy_xpath_plain(xpath, plain, sizeof plain);
	if (strncmp(plain, hdr, strlen(hdr)) == 0) {
		rel = plain + strlen(hdr);
		*off = d->mke.off;
		if (strcmp(rel, "/OriginatingORIID") == 0 && d->has_ori)
			*off = d->ori.off;
		else if (strcmp(rel, "/DestinationORIID") == 0 &&
		    d->ndest > 0) {
			idx = legacy_xpath_index(xpath, "DestinationORIID");
			if (idx < 1 || idx > d->ndest || idx > LEGACY_MAXTOK)
				idx = 1;
			*off = d->dest[idx - 1].off;
		} else if (strcmp(rel, "/DocumentControlFieldText") == 0 &&
		    d->has_ctl)
			*off = d->ctl.off;
		else if (strcmp(rel, "/SwitchMessageID") == 0 && d->mid.s)
			*off = d->mid.off;
		else if (strncmp(rel, "/NLETSReceive", 13) == 0 && d->in.s)
			*off = d->in.off;
		else if (strncmp(rel, "/NLETSInput", 11) == 0 && d->in.s)
			*off = d->in.off;
		else if ((strncmp(rel, "/NLETSSend", 10) == 0 ||
		    strncmp(rel, "/NLETSOutput", 12) == 0 ||
		    strcmp(rel, "/ReceivingORIID") == 0) && d->out.s)
			*off = d->out.off;
		return 0;
	}
	if (d->key == MSG_KEY_NONE || !d->has_txt)
		return -1;
	*off = d->txt_off;
	/* Strip /NLETS/<container>/<body>/ and an optional DriverRecord. */
	rel = plain;
	for (i = 0; i < 3 && rel != NULL; i++)
		rel = strchr(rel + 1, '/');
	if (rel == NULL)
		return 0;
	rel++;
	if (strncmp(rel, "DriverRecord", 12) == 0) {
		rec = legacy_xpath_index(xpath, "DriverRecord");
		if (rec < 1)
			rec = 1;
		/* The record's NAM/ if nothing better. */
		for (i = 0; i < d->nf; i++)
			if (d->f[i].rec == rec) {
				*off = d->f[i].off;
				break;
			}
		rel = strchr(rel, '/');
		if (rel == NULL)
			return 0;
		rel++;
		if (strncmp(rel, "DriverHistory/HistoryEntry", 26) == 0)
			nth = legacy_xpath_index(xpath, "HistoryEntry");
	}
	if (*rel == '\0')
		return 0;
	for (i = 0; i < d->nf; i++) {
		if (d->f[i].rec != rec)
			continue;
		n = strlen(d->f[i].def->element);
		if (strncmp(rel, d->f[i].def->element, n) == 0 &&
		    (rel[n] == '\0' || rel[n] == '/') &&
		    (nth == 0 || d->f[i].nth == nth)) {
			*off = d->f[i].off;
			return 0;
		}
		/* "PhotoPurpose" or "LocationAddress": its first field. */
		if (strncmp(d->f[i].def->element, rel, strlen(rel)) == 0 &&
		    d->f[i].def->element[strlen(rel)] == '/') {
			*off = d->f[i].off;
			return 0;
		}
	}
	if (strcmp(rel, "NotOnFileIndicator") == 0 && d->notonfile)
		*off = d->nof_off;
	return 0;
}

void
legacy_locate(const char *text, size_t len, const char *xpath, int *line,
    int *col)
{
	struct legacy_doc	 d;
	size_t			 off = 0;

	legacy_scan(&d, text, len, NULL);
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
 * (/NLETS/container/body/element...): a legacy complaint about the body
 * as a whole must not hide msg_parse's findings inside it.
 */
static int
legacy_xpath_within(const char *a, const char *b)
{
	size_t	 n = strlen(b), i;
	int	 depth = 0;

	for (i = 0; i < n; i++)
		depth += b[i] == '/';
	if (depth < 4 && strcmp(b, "/NLETS/NLETSMessageHeader") != 0)
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

int
legacy_parse(struct msg_schema *s, const char *text, size_t len,
    size_t maxlen, int flags, struct ubuf *xml, struct msg *m,
    struct msg_diags *diags)
{
	struct legacy_doc	 d;
	struct msg_diags	 scratch, md;
	struct msg_diag		*g;
	size_t			 off, start = xml->len;
	int			 i, j, keep, hdr, nsyn = 0;

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
	legacy_scan(&d, text, len, diags);
	if (d.key == MSG_KEY_NONE || !d.has_txt)
		goto out;
	legacy_diag_sort(diags, 0);
	nsyn = diags->n;
	legacy_emit(&d, xml);
	msg_parse_flags(s, xml->data + start, xml->len - start, 0, flags, m,
	    &md);
	hdr = d.hdr_errors > 0;
	for (i = 0; i < md.n; i++) {
		g = &md.d[i];
		keep = !(hdr && legacy_xpath_within(g->xpath,
		    "/NLETS/NLETSMessageHeader"));
		for (j = 0; keep && j < diags->n; j++)
			if (diags->d[j].xpath[0] != '\0' &&
			    legacy_xpath_within(g->xpath, diags->d[j].xpath))
				keep = 0;
		if (!keep)
			continue;
		off = d.mke.off;
		legacy_locate_doc(&d, g->xpath, &off);
		legacy_pos(d.text, d.len, off, &g->line, &g->col);
		if (diags->n < MSG_MAXDIAG)
			diags->d[diags->n++] = *g;
		else
			diags->dropped++;
	}
	diags->dropped += md.dropped;
out:
	legacy_doc_free(&d);
	if (diags->n == 0)
		return diags->dropped ? MSG_ER_FORMAT : 0;
	legacy_diag_sort(diags, nsyn);
	return diags->d[0].code;
}

/*
 * XML to text.
 */

static int
legacy_el_is(xmlNodePtr n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr
legacy_el_next(xmlNodePtr n)
{
	for (; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

#define LEGACY_EL_FIRST(p)	legacy_el_next((p)->children)
#define LEGACY_EL_NEXT(n)	legacy_el_next((n)->next)

static xmlNodePtr
legacy_el_child(xmlNodePtr p, const char *name)
{
	xmlNodePtr	 c;

	if (p == NULL)
		return NULL;
	for (c = LEGACY_EL_FIRST(p); c != NULL; c = LEGACY_EL_NEXT(c))
		if (legacy_el_is(c, name))
			return c;
	return NULL;
}

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

/* Text of child name of p. */
static char *
legacy_child_text(xmlNodePtr p, const char *name)
{
	return legacy_text(legacy_el_child(p, name));
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

/* YYYY-MM-DD -> YYYYMMDD (anything else unchanged). */
static char *
legacy_date_out(char *v)
{
	if (strlen(v) == 10 && v[4] == '-' && v[7] == '-') {
		memmove(v + 4, v + 5, 2);
		memmove(v + 6, v + 8, 3);
	}
	return v;
}

/* Write field prefix with the text of child name of p. */
static void
legacy_child_out(struct legacy_line *l, const char *prefix, xmlNodePtr p,
    const char *name, int date)
{
	char	*v = legacy_child_text(p, name);

	legacy_field_out(l, prefix, date ? legacy_date_out(v) : v);
	free(v);
}

/* NAM/ DOB/ SEX/ (OLN/ OLS/ on their own line) of a query or record. */
static void
legacy_person_out(struct legacy_line *l, xmlNodePtr p)
{
	xmlNodePtr	 pn = legacy_el_child(p, "PersonName");
	char		*sur, *giv, *mid, *nam;

	if (pn != NULL) {
		sur = legacy_child_text(pn, "PersonSurName");
		giv = legacy_child_text(pn, "PersonGivenName");
		mid = legacy_child_text(pn, "PersonMiddleName");
		nam = xasprintf("%s%s%s%s%s", sur,
		    giv[0] || mid[0] ? "," : "", giv, mid[0] ? " " : "", mid);
		legacy_field_out(l, "NAM", nam);
		free(nam);
		free(sur);
		free(giv);
		free(mid);
	}
	legacy_child_out(l, "DOB", p, "PersonBirthDate", 1);
	legacy_child_out(l, "SEX", p, "PersonSexCode", 0);
	legacy_line_end(l);
	legacy_child_out(l, "OLN", p, "DriverLicenseID", 0);
	legacy_child_out(l, "OLS", p, "IssuingStateCode", 0);
	legacy_line_end(l);
}

static void
legacy_record_out(struct legacy_line *l, xmlNodePtr r)
{
	xmlNodePtr	 a, img, h, e;
	char		*fmt, *sz, *b64, *v, *code, *st, *desc;
	long		 n;
	size_t		 i;

	legacy_person_out(l, r);
	if ((a = legacy_el_child(r, "LocationAddress")) != NULL) {
		legacy_child_out(l, "ADR", a, "LocationStreetText", 0);
		legacy_child_out(l, "CTY", a, "LocationCityName", 0);
		legacy_child_out(l, "STA", a, "LocationStateCode", 0);
		legacy_child_out(l, "ZIP", a, "LocationPostalCode", 0);
		legacy_line_end(l);
	}
	legacy_child_out(l, "CLS", r, "LicenseClassCode", 0);
	legacy_child_out(l, "LST", r, "LicenseStatusCode", 0);
	legacy_child_out(l, "EXP", r, "LicenseExpirationDate", 1);
	legacy_line_end(l);
	if ((img = legacy_el_child(r, "PersonDigitalImage")) != NULL) {
		fmt = legacy_child_text(img, "BinaryFormatID");
		sz = legacy_child_text(img, "BinarySizeValue");
		if (sz[0] != '\0')
			n = atol(sz);
		else {
			b64 = legacy_child_text(img, "BinaryBase64Object");
			n = util_b64_check(b64, strlen(b64));
			free(b64);
		}
		for (i = 0; fmt[i] != '\0'; i++)
			fmt[i] = (char)toupper((unsigned char)fmt[i]);
		v = xasprintf(LEGACY_IMG_NOTE " - %ld BYTES %s", n < 0 ? 0 : n,
		    fmt);
		legacy_field_out(l, "IMG", v);
		legacy_line_end(l);
		free(v);
		free(fmt);
		free(sz);
	}
	if ((h = legacy_el_child(r, "DriverHistory")) != NULL) {
		if (LEGACY_EL_FIRST(h) == NULL)
			legacy_field_out(l, "HST", "NONE");
		legacy_line_end(l);
		for (e = LEGACY_EL_FIRST(h); e != NULL; e = LEGACY_EL_NEXT(e)) {
			v = legacy_date_out(legacy_child_text(e, "EventDate"));
			code = legacy_child_text(e, "EventCode");
			st = legacy_child_text(e, "EventStateCode");
			desc = legacy_child_text(e, "EventDescriptionText");
			sz = xasprintf("%s,%s,%s,%s", v, code, st, desc);
			legacy_field_out(l, "HST", sz);
			legacy_line_end(l);
			free(sz);
			free(v);
			free(code);
			free(st);
			free(desc);
		}
	}
}

/* A tail field: PREFIX/ then the text as it is, to the end. */
static void
legacy_tail_out(struct ubuf *b, const char *prefix, const char *v)
{
	if (v == NULL || v[0] == '\0')
		return;
	ubuf_printf(b, "%s/", prefix);
	ubuf_adds(b, v);
	ubuf_adds(b, "\n");
}

/* "HH:MM:SS MM/DD/YYYY SEQ" from the stamped elements (0 if absent). */
static int
legacy_stamp_out(struct ubuf *b, xmlNodePtr hdr, const char *dname,
    const char *tname, const char *sname, const char *oname)
{
	char	*d = legacy_child_text(hdr, dname);
	char	*t = legacy_child_text(hdr, tname);
	char	*s = legacy_child_text(hdr, sname);
	char	*o = oname ? legacy_child_text(hdr, oname) : xstrdup("");
	int	 ok = strlen(d) == 10 && strlen(t) == 8 && s[0] != '\0';

	if (ok)
		ubuf_printf(b, "%s %.2s/%.2s/%.4s %s%s%s\n", t, d + 5, d + 8,
		    d, s, o[0] ? " " : "", o);
	free(d);
	free(t);
	free(s);
	free(o);
	return ok;
}

int
legacy_from_xml(struct msg_schema *s, const char *xml, size_t len,
    struct ubuf *text, char **cause)
{
	struct msg		 m;
	struct msg_diags	 md;
	struct legacy_line	 l;
	xmlDocPtr		 doc = NULL;
	xmlNodePtr		 root, hdr, data, body, c;
	char			*v, *w, *u;
	int			 rc = -1, code, stamped = 0, nrec = 0;

	l.b = text;
	l.n = 0;
	if ((code = msg_parse_flags(s, xml, len, 0, MSG_PARSE_STAMPED, &m,
	    &md)) != 0) {
		*cause = xasprintf("not a valid message: ER %d (%s): %d:%d: %s",
		    code, msg_er_reason(code), md.n ? md.d[0].line : 0,
		    md.n ? md.d[0].col : 0, md.n ? md.d[0].text : "");
		return -1;
	}
	/* Validated above: no DOCTYPE, UTF-8, well-formed. */
	doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOCDATA | XML_PARSE_IGNORE_ENC | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING);
	if (doc == NULL || (root = xmlDocGetRootElement(doc)) == NULL) {
		*cause = xstrdup("cannot read the XML");
		goto out;
	}
	hdr = legacy_el_child(root, "NLETSMessageHeader");
	data = legacy_el_next(hdr->next);
	body = data != NULL ? LEGACY_EL_FIRST(data) : NULL;

	/* Header line: MKE.ORI.DEST... */
	ubuf_adds(text, msg_key_name(m.key));
	for (c = LEGACY_EL_FIRST(hdr); c != NULL; c = LEGACY_EL_NEXT(c)) {
		if (legacy_el_is(c, "OriginatingORIID") ||
		    legacy_el_is(c, "DestinationORIID")) {
			v = legacy_text(c);
			ubuf_printf(text, ".%s", v);
			free(v);
		} else if (legacy_el_is(c, "DocumentControlFieldText")) {
			v = legacy_text(c);
			ubuf_printf(text, ".*%s", v);
			free(v);
		} else if (!legacy_el_is(c, "MessageKeyCodeText"))
			stamped = 1;
	}
	if (stamped) {
		ubuf_adds(text, "\n");
		legacy_stamp_out(text, hdr, "NLETSReceiveDate",
		    "NLETSReceiveTime", "NLETSInputSequenceNumeric", NULL);
		legacy_stamp_out(text, hdr, "NLETSSendDate", "NLETSSendTime",
		    "NLETSOutputSequenceNumeric", "ReceivingORIID");
		v = legacy_child_text(hdr, "SwitchMessageID");
		if (v[0] != '\0')
			ubuf_printf(text, "MID/%s\n", v);
		free(v);
		ubuf_adds(text, "TXT\n");
	} else
		ubuf_adds(text, ".TXT\n");

	switch (m.key) {
	case MSG_KEY_DQ:
	case MSG_KEY_KQ:
	case MSG_KEY_DNQ:
		legacy_person_out(&l, body);
		legacy_child_out(&l, "IMQ", body, "ImageRequestIndicator", 0);
		if ((c = legacy_el_child(body, "PhotoPurpose")) != NULL) {
			v = legacy_child_text(c, "PurposeCategoryCode");
			w = legacy_child_text(c, "PurposeUseCode");
			u = xasprintf("%s%s%s", v, w[0] ? "," : "", w);
			legacy_field_out(&l, "PUR", u);
			free(u);
			free(w);
			free(v);
			legacy_child_out(&l, "CIR", c, "CircumstanceText", 0);
			legacy_child_out(&l, "CAS", c, "CaseNumberText", 0);
			legacy_child_out(&l, "VER", c, "VerifierName", 0);
			legacy_child_out(&l, "WAR", c, "ArrestWarrantNumber", 0);
			v = legacy_child_text(c, "SubjectSuspectIndicator");
			legacy_field_out(&l, "SUS", strcmp(v, "true") == 0 ||
			    strcmp(v, "1") == 0 ? "Y" : v[0] ? "N" : "");
			free(v);
		}
		legacy_line_end(&l);
		legacy_child_out(&l, "RSN", body, "ReasonText", 0);
		legacy_child_out(&l, "ATN", body, "AttentionText", 0);
		legacy_line_end(&l);
		break;
	case MSG_KEY_AM:
		v = legacy_child_text(body, "MessageText");
		ubuf_printf(text, "%s\n", v);
		free(v);
		break;
	case MSG_KEY_DR:
	case MSG_KEY_KR:
	case MSG_KEY_DNR:
		if (m.not_on_file)
			ubuf_adds(text, "NOT ON FILE\n");
		for (c = LEGACY_EL_FIRST(body); c != NULL;
		    c = LEGACY_EL_NEXT(c)) {
			if (!legacy_el_is(c, "DriverRecord"))
				continue;
			if (nrec++ > 0)
				ubuf_adds(text, "\n");
			legacy_record_out(&l, c);
		}
		v = legacy_child_text(body, "ResponseText");
		legacy_tail_out(text, "MIS", v);
		free(v);
		break;
	case MSG_KEY_SM:
		v = legacy_child_text(body, "StatusCode");
		w = xasprintf("%02d", atoi(v));
		legacy_field_out(&l, "STS", w);
		free(w);
		free(v);
		legacy_child_out(&l, "DST", body, "AboutDestinationORIID", 0);
		legacy_child_out(&l, "MKE", body, "AboutMessageKeyCodeText",
		    0);
		legacy_child_out(&l, "REF", body, "ReferenceMessageID", 0);
		legacy_line_end(&l);
		v = legacy_child_text(body, "StatusText");
		legacy_tail_out(text, "MIS", v);
		free(v);
		break;
	case MSG_KEY_ER:
		legacy_child_out(&l, "ERR", body, "ErrorCode", 0);
		legacy_child_out(&l, "RSN", body, "ErrorReasonText", 0);
		legacy_line_end(&l);
		legacy_child_out(&l, "DTL", body, "ErrorDetailText", 0);
		legacy_line_end(&l);
		v = legacy_child_text(body, "OffendingInputText");
		legacy_tail_out(text, "INP", v);
		free(v);
		break;
	default:
		break;
	}
	rc = 0;
out:
	if (doc != NULL)
		xmlFreeDoc(doc);
	return rc;
}
