/*
 * msg - parse, validate and build nlswitch XML messages (see msg.h).
 *
 * msg_parse runs in four stages and keeps going after an error so that an
 * integrator sees every problem at once:
 *
 *   1. byte pre-scan: size limit, empty input, NUL bytes, something that
 *      is not XML, any "<!DOCTYPE", an XML declaration naming another
 *      encoding than UTF-8. A refusal here stops: nothing else runs.
 *   2. libxml2 parse (no network, no entity substitution, no DTD loading,
 *      declared encoding ignored, default size limits); errors go to a
 *      per-context structured handler, never to stderr. Not well-formed
 *      stops here, and so does nesting deeper than MSG_MAX_DEPTH.
 *   3. XSD validation of the tree, every schema error kept as a diag.
 *   4. the header and field rules the schema cannot express, skipping a
 *      node the schema already complained about (no double reports).
 *
 * Schema errors get the ER code of where they happened: DestinationORIID
 * 106, anything else in the header 101, PersonBirthDate 104, a missing
 * body 103, a missing child element in the body 105, the rest 107.
 *
 * The validation context is created once per schema and is used by one
 * msg_parse at a time; a concurrent call on the same schema (another
 * thread) gets a private context for that call, correct but slower.
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MSG_HAVE_AVX2	1
#endif

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "log.h"
#include "msg.h"
#include "util.h"
#include "xscan.h"

/*
 * Never XML_PARSE_NOENT (entity substitution), XML_PARSE_DTDLOAD or
 * XML_PARSE_HUGE. The byte scan for "<!DOCTYPE" is authoritative because
 * no other encoding than UTF-8 can be in effect: the pre-scan refuses NUL
 * bytes (UTF-16/32), a first byte other than '<' (EBCDIC, UTF-16 BOMs)
 * and a declaration naming another encoding, and IGNORE_ENC makes libxml2
 * ignore the declaration anyway. (Passing "UTF-8" as the encoding instead
 * costs a transcoding copy: +30% on a 50 KB photo response.)
 */
#define MSG_XML_OPTIONS	(XML_PARSE_NONET | XML_PARSE_NOBLANKS | \
			 XML_PARSE_NOCDATA | XML_PARSE_IGNORE_ENC | \
			 XML_PARSE_COMPACT)

/*
 * The parser context is kept from one message to the next (its
 * allocations and its dictionary of names are reused); it is replaced
 * after MSG_PCTXT_USES messages or once its dictionary holds
 * MSG_PCTXT_NAMES names, so that senders inventing element names cannot
 * make it grow without bound.
 */
#define MSG_PCTXT_USES	10000
#define MSG_PCTXT_NAMES	4096

struct msg_schema {
	xmlSchemaPtr		 schema;
	xmlSchemaValidCtxtPtr	 vctxt;		/* used by the busy holder */
	xmlParserCtxtPtr	 pctxt;		/* used by the busy holder */
	int			 puses;		/* messages parsed with pctxt */
	atomic_flag		 busy;
	/* MessageText's length facets, read from MSG_TEXT_XSD by
	 * msg_schema_text_facets; text_cut 0: its text is never cut. A cut
	 * text is replaced by "#0" and '#'s, text_ph characters in all:
	 * the least the schema accepts. */
	int			 text_cut;
	size_t			 text_min;
	size_t			 text_max;
	size_t			 text_ph;
};

/*
 * Spans of the input that libxml2 never sees (msg_elide_scan): the text of
 * a long comment, the base64 text of every BinaryBase64Object, and the
 * long plain text of an AM's MessageText. They are most of a large
 * message's bytes and none needs a tree: a comment means nothing, the
 * photo text is checked by util_b64_check on the input bytes, and the
 * MessageText's only rules are the schema's length facets, which
 * msg_check_text applies to the input bytes with the limits read from the
 * schema. libxml2 then parses and validates a copy with those texts cut
 * out. Any diagnostic on that copy sends msg_parse back to the input
 * itself, so what is reported (and its line and column) never depends on
 * the cut.
 */
#define MSG_ELIDE_MIN	256	/* shorter comments and texts are left in */
#define MSG_MAXELIDE	64	/* spans cut from one message */
#define MSG_TEXT_EL	"MessageText"
#define MSG_TEXT_XSD	"am.xsd"	/* the schema file that declares it */
enum msg_spankind {
	MSG_SPAN_COMMENT,		/* comment text: dropped */
	MSG_SPAN_PHOTO,			/* BinaryBase64Object text: "#k" */
	MSG_SPAN_TEXT			/* MessageText text: "#0###..." */
};
struct msg_span {
	size_t			 off;	/* in the input */
	size_t			 len;
	enum msg_spankind	 kind;
};

/* State of one msg_parse call; the libxml2 error handlers get it. */
struct msg_pctx {
	struct msg_diags	*diags;
	int			 nparse;	/* parser errors */
	int			 nbad;		/* schema-flagged nodes */
	xmlNodePtr		 bad[MSG_MAXDIAG];
	int			 flags;
	/* Photo texts kept out of libxml2 (msg_elide_scan): the parsed
	 * copy holds "#k" where the input has raw[photo[k].off..+len). */
	const char		*raw;
	const struct msg_span	*photo;
	int			 nphoto;
	/* The MessageText text kept out (at most one): the parsed copy
	 * holds "#0" and '#'s (schema->text_ph characters) where the input
	 * has raw[text->off..+len). */
	const struct msg_span	*text;
	int			 text_seen;	/* msg_check_text found it */
	const struct msg_schema	*schema;	/* its length facets */
};

/* Where each key's body lives. */
struct msg_keyinfo {
	const char	*name;
	const char	*container;
	const char	*body;
};

static const struct msg_keyinfo msg_keys[MSG_KEY_MAX] = {
	[MSG_KEY_NONE] = { NULL, NULL, NULL },
	[MSG_KEY_DQ] = { "DQ", "NLETSInquiryData", "DriverQuery" },
	[MSG_KEY_DR] = { "DR", "NLETSResponseData", "DriverResponse" },
	[MSG_KEY_KQ] = { "KQ", "NLETSInquiryData", "DriverQuery" },
	[MSG_KEY_KR] = { "KR", "NLETSResponseData", "DriverHistoryResponse" },
	[MSG_KEY_DNQ] = { "DNQ", "NLETSInquiryData", "DriverNameQuery" },
	[MSG_KEY_DNR] = { "DNR", "NLETSResponseData", "DriverNameResponse" },
	[MSG_KEY_AM] = { "AM", "NLETSInquiryData", "AdministrativeMessage" },
	[MSG_KEY_SM] = { "SM", "NLETSResponseData", "StatusMessage" },
	[MSG_KEY_ER] = { "ER", "NLETSResponseData", "ErrorMessage" },
};

/* Header elements only the switch writes, in schema order. */
static const char *const msg_stamped[] = {
	"SwitchMessageID", "NLETSReceiveDate", "NLETSReceiveTime",
	"NLETSInputSequenceNumeric", "NLETSSendDate", "NLETSSendTime",
	"NLETSOutputSequenceNumeric", "ReceivingORIID", NULL
};

static void	msg_parser_error_cb(void *, xmlErrorPtr);
static void	msg_schema_error_cb(void *, xmlErrorPtr);
static void	msg_load_error_cb(void *, xmlErrorPtr);

/*
 * Small string helpers.
 */

static int
msg_is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Largest n' <= n that does not end inside a UTF-8 sequence of s. */
static size_t
msg_utf8_cut(const char *s, size_t len, size_t n)
{
	size_t	 k = n;

	if (n >= len)
		return len;
	/* s[n] is the first byte left out; back off while it continues. */
	while (k > 0 && n - k < 3 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	if (((unsigned char)s[k] & 0xc0) == 0x80)
		return n;		/* not UTF-8 at all; cut anywhere */
	return k;
}

/* Copy src (len bytes) into dst[dsz], NUL-terminated, cut on a UTF-8
 * boundary. */
static void
msg_cpy(char *dst, size_t dsz, const char *src, size_t len)
{
	size_t	 n;

	if (dsz == 0)
		return;
	n = len < dsz - 1 ? len : msg_utf8_cut(src, len, dsz - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * Length of the valid UTF-8 sequence at s that XML 1.0 may carry (no
 * surrogates, no U+FFFE/U+FFFF, nothing past U+10FFFF), or 0.
 */
static size_t
msg_utf8_len(const unsigned char *s, size_t len)
{
	unsigned char	 c = s[0], lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (c == 0xef && s[1] == 0xbf && (s[2] == 0xbe || s[2] == 0xbf))
		return 0;		/* U+FFFE, U+FFFF */
	return n;
}

/*
 * Append s as XML character data: escaped, control characters dropped,
 * invalid UTF-8 and characters XML cannot carry replaced by '?'. Whatever
 * the input, the output is well-formed.
 */
static void
msg_add_xml(struct ubuf *b, const char *s, size_t len)
{
	size_t	 i = 0, start = 0, n;

	while (i < len) {
		n = msg_utf8_len((const unsigned char *)s + i, len - i);
		if (n == 0) {
			ubuf_add_xml(b, s + start, i - start);
			ubuf_add(b, "?", 1);
			start = ++i;
			continue;
		}
		i += n;
	}
	ubuf_add_xml(b, s + start, len - start);
}

/* Keep the bytes of s in [lo, hi], at most max of them, into dst[dsz]. */
static void
msg_filter(char *dst, size_t dsz, const char *s, int lo, int hi, size_t max)
{
	size_t	 o = 0;

	for (; s != NULL && *s != '\0' && o < max && o + 1 < dsz; s++)
		if ((unsigned char)*s >= lo && (unsigned char)*s <= hi)
			dst[o++] = *s;
	dst[o] = '\0';
}

/*
 * Tables.
 */

const char *
msg_key_name(enum msg_key key)
{
	if (key <= MSG_KEY_NONE || key >= MSG_KEY_MAX)
		return NULL;
	return msg_keys[key].name;
}

enum msg_key
msg_key_lookup(const char *name)
{
	int	 k;

	if (name == NULL)
		return MSG_KEY_NONE;
	for (k = MSG_KEY_NONE + 1; k < MSG_KEY_MAX; k++)
		if (strcmp(msg_keys[k].name, name) == 0)
			return (enum msg_key)k;
	return MSG_KEY_NONE;
}

int
msg_key_is_response(enum msg_key key)
{
	return key == MSG_KEY_DR || key == MSG_KEY_KR || key == MSG_KEY_DNR;
}

const char *
msg_er_reason(int code)
{
	switch (code) {
	case MSG_ER_HEADER:
		return "invalid header";
	case MSG_ER_NOT_ALLOWED:
		return "message type not allowed to destination";
	case MSG_ER_MALFORMED:
		return "TXT missing or malformed XML";
	case MSG_ER_DOB:
		return "invalid or missing DOB";
	case MSG_ER_REQUIRED:
		return "required fields missing";
	case MSG_ER_DEST:
		return "invalid destination ORI";
	case MSG_ER_FORMAT:
		return "invalid message format";
	case MSG_ER_ORI:
		return "originating ORI not authorized for this line";
	case MSG_ER_TOO_LARGE:
		return "message too large";
	case MSG_ER_QUEUE_FULL:
		return "queue full";
	case MSG_ER_UNAVAILABLE:
		return "switch not accepting messages";
	case MSG_ER_POLICY:
		return "denied by photo-sharing policy";
	}
	return "unknown error";
}

const char *
msg_sm_text(int status)
{
	switch (status) {
	case MSG_SM_NOT_ACCEPTED:
		return "destination does not accept this message key, "
		    "message not forwarded";
	case MSG_SM_HELD:
		return "destination out of service, message held";
	case MSG_SM_REMOVED:
		return "destination removed from service, message not stored";
	case MSG_SM_EXPIRED:
		return "held message expired, message not delivered";
	}
	return "unknown status";
}

int
msg_ori_is_valid(const char *s)
{
	int	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < MSG_ORI_LEN; i++) {
		if (i < 2 ? !(s[i] >= 'A' && s[i] <= 'Z') :
		    !((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9')))
			return 0;
	}
	return s[MSG_ORI_LEN] == '\0';
}

int
msg_dest_is_valid(const char *s)
{
	if (s == NULL)
		return 0;
	if (s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
	    s[2] == '\0')
		return 1;
	return msg_ori_is_valid(s);
}

/*
 * Calendar check of a YYYY-MM-DD birth date: a real date (leap years),
 * not before 1800, not after today (UTC).
 * @return NULL if valid, else the English reason.
 */
static const char *
msg_dob_check(const char *s)
{
	static const int mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	struct tm	 tm;
	time_t		 now;
	int		 i, y, mo, d, dim;

	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (s[i] != '-')
				return "not a YYYY-MM-DD date";
		} else if (s[i] < '0' || s[i] > '9')
			return "not a YYYY-MM-DD date";
	}
	if (s[10] != '\0')
		return "not a YYYY-MM-DD date";
	y = atoi(s);
	mo = atoi(s + 5);
	d = atoi(s + 8);
	if (mo < 1 || mo > 12)
		return "no such month";
	dim = mdays[mo - 1];
	if (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		dim = 29;
	if (d < 1 || d > dim)
		return "no such day in that month";
	if (y < 1800)
		return "year before 1800";
	now = time(NULL);
	if (gmtime_r(&now, &tm) == NULL)
		return NULL;
	if (y > tm.tm_year + 1900 || (y == tm.tm_year + 1900 &&
	    (mo > tm.tm_mon + 1 || (mo == tm.tm_mon + 1 && d > tm.tm_mday))))
		return "date in the future";
	return NULL;
}

/*
 * Diagnostics.
 */

/* Record one diagnostic; node (may be NULL) gives the xpath and the line. */
static void __attribute__((format(printf, 6, 7)))
msg_diag(struct msg_pctx *pc, xmlNodePtr node, int line, int col, int code,
    const char *fmt, ...)
{
	struct msg_diag	*d;
	va_list		 ap;
	char		 text[512];
	xmlChar		*path;
	int		 n;

	if (pc->diags->n >= MSG_MAXDIAG) {
		pc->diags->dropped++;
		return;
	}
	d = &pc->diags->d[pc->diags->n++];
	memset(d, 0, sizeof *d);
	d->code = code;
	d->col = col;
	d->line = line;
	if (node != NULL) {
		if (d->line <= 0)
			d->line = (int)xmlGetLineNo(node);
		if ((path = xmlGetNodePath(node)) != NULL) {
			msg_cpy(d->xpath, sizeof d->xpath, (char *)path,
			    strlen((char *)path));
			xmlFree(path);
		}
	}
	if (d->line < 0)
		d->line = 0;
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof text)
		n = sizeof text - 1;
	while (n > 0 && msg_is_ws((unsigned char)text[n - 1]))
		n--;		/* libxml2 messages end with a newline */
	msg_cpy(d->text, sizeof d->text, text, (size_t)n);
}

/* 1 if the schema flagged node itself. */
static int
msg_flagged(struct msg_pctx *pc, xmlNodePtr node)
{
	int	 i;

	for (i = 0; i < pc->nbad; i++)
		if (pc->bad[i] == node)
			return 1;
	return 0;
}

/* 1 if the schema flagged node or anything inside it. */
static int
msg_flagged_within(struct msg_pctx *pc, xmlNodePtr node)
{
	xmlNodePtr	 n;
	int		 i;

	for (i = 0; i < pc->nbad; i++)
		for (n = pc->bad[i]; n != NULL; n = n->parent)
			if (n == node)
				return 1;
	return 0;
}

/* Stable sort by line: the first diagnostic in document order decides. */
static void
msg_diag_sort(struct msg_diags *ds)
{
	struct msg_diag	 t;
	int		 i, j;

	for (i = 1; i < ds->n; i++) {
		if (ds->d[i].line >= ds->d[i - 1].line)
			continue;
		t = ds->d[i];
		for (j = i; j > 0 && ds->d[j - 1].line > t.line; j--)
			ds->d[j] = ds->d[j - 1];
		ds->d[j] = t;
	}
}

static int
msg_el_is(xmlNodePtr n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr
msg_el_next(xmlNodePtr n)
{
	for (; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

#define MSG_EL_FIRST(p)	msg_el_next((p)->children)
#define MSG_EL_NEXT(n)	msg_el_next((n)->next)

static xmlNodePtr
msg_el_child(xmlNodePtr p, const char *name)
{
	xmlNodePtr	 c;

	for (c = MSG_EL_FIRST(p); c != NULL; c = MSG_EL_NEXT(c))
		if (msg_el_is(c, name))
			return c;
	return NULL;
}

/*
 * Text content of element n (text and CDATA children), leading and
 * trailing whitespace trimmed, into dst[dsz] (cut on a UTF-8 boundary).
 * @return the untrimmed length of the whole content; >= dsz means cut.
 */
static size_t
msg_text(xmlNodePtr n, char *dst, size_t dsz)
{
	xmlNodePtr	 c;
	size_t		 total = 0, o = 0, l, s;

	for (c = n->children; c != NULL; c = c->next) {
		if ((c->type != XML_TEXT_NODE &&
		    c->type != XML_CDATA_SECTION_NODE) || c->content == NULL)
			continue;
		l = strlen((const char *)c->content);
		total += l;
		if (o + 1 < dsz) {
			msg_cpy(dst + o, dsz - o, (const char *)c->content, l);
			o += strlen(dst + o);
		}
	}
	dst[o] = '\0';
	while (o > 0 && msg_is_ws((unsigned char)dst[o - 1]))
		dst[--o] = '\0';
	for (s = 0; s < o && msg_is_ws((unsigned char)dst[s]); s++)
		;
	if (s > 0)
		memmove(dst, dst + s, o - s + 1);
	return total;
}

/*
 * libxml2 error handlers. Warnings are ignored; errors become diags.
 */

static void
msg_parser_error_cb(void *arg, xmlErrorPtr e)
{
	xmlParserCtxtPtr	 ctxt = arg;
	struct msg_pctx		*pc = ctxt->_private;

	if (pc == NULL || e == NULL || e->level < XML_ERR_ERROR)
		return;
	pc->nparse++;
	msg_diag(pc, NULL, e->line, e->int2, MSG_ER_MALFORMED,
	    "malformed XML: %s", e->message != NULL ? e->message : "?");
}

/* ER code of a schema error at node (see the top of the file). */
static int
msg_schema_code(xmlNodePtr node, const char *text)
{
	xmlNodePtr	 n;
	int		 in_hdr = 0, missing;

	if (node == NULL || node->type != XML_ELEMENT_NODE)
		return MSG_ER_FORMAT;
	for (n = node; n != NULL && n->type == XML_ELEMENT_NODE; n = n->parent)
		if (msg_el_is(n, "NLETSMessageHeader"))
			in_hdr = 1;
	/* A missing element shows either as "Missing child element(s)" on
	 * the parent or as "not expected. Expected is ( X )" on whatever
	 * came in its place. */
	missing = strstr(text, "Missing child element") != NULL;
	if (msg_el_is(node, "DestinationORIID") || (in_hdr &&
	    strstr(text, "Expected is ( DestinationORIID )") != NULL))
		return MSG_ER_DEST;
	if (in_hdr || strstr(text, "Expected is ( NLETSMessageHeader )"))
		return MSG_ER_HEADER;
	if (msg_el_is(node, "PersonBirthDate"))
		return MSG_ER_DOB;
	if (node->parent != NULL && node->parent->type == XML_DOCUMENT_NODE) {
		/* The root: no body at all (TXT missing). */
		if (missing)
			return MSG_ER_MALFORMED;
		return MSG_ER_FORMAT;
	}
	if (missing && (msg_el_is(node, "NLETSInquiryData") ||
	    msg_el_is(node, "NLETSResponseData")))
		return MSG_ER_MALFORMED;
	if (missing)
		return MSG_ER_REQUIRED;
	return MSG_ER_FORMAT;
}

static void
msg_schema_error_cb(void *arg, xmlErrorPtr e)
{
	struct msg_pctx	*pc = arg;
	xmlNodePtr	 node;
	const char	*text;

	if (e == NULL || e->level < XML_ERR_ERROR)
		return;
	node = e->node;
	if (node != NULL && node->type == XML_ATTRIBUTE_NODE)
		node = node->parent;
	text = e->message != NULL ? e->message : "schema error";
	if (node != NULL && pc->nbad < MSG_MAXDIAG)
		pc->bad[pc->nbad++] = node;
	msg_diag(pc, node, e->line, 0, msg_schema_code(node, text), "%s",
	    text);
}

/* Collects the first error while loading the schemas. */
struct msg_loaderr {
	char	 text[512];
};

static void
msg_load_error_cb(void *arg, xmlErrorPtr e)
{
	struct msg_loaderr	*le = arg;
	size_t			 n;

	if (e == NULL || e->level < XML_ERR_ERROR || le->text[0] != '\0')
		return;
	snprintf(le->text, sizeof le->text, "%s:%d: %s",
	    e->file != NULL ? e->file : "?", e->line,
	    e->message != NULL ? e->message : "error");
	n = strlen(le->text);
	while (n > 0 && msg_is_ws((unsigned char)le->text[n - 1]))
		le->text[--n] = '\0';
}

/*
 * Schema.
 */

#define MSG_XSD_NS	"http://www.w3.org/2001/XMLSchema"

/* 1 if n is the XSD element xs:name. */
static int
msg_xsd_is(xmlNodePtr n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    xmlStrEqual(n->ns->href, (const xmlChar *)MSG_XSD_NS) &&
	    xmlStrEqual(n->name, (const xmlChar *)name);
}

/* The only XSD child of n other than xs:annotation, or NULL (none, more
 * than one, or any other child element). */
static xmlNodePtr
msg_xsd_only_child(xmlNodePtr n)
{
	xmlNodePtr	 c, one = NULL;

	for (c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || msg_xsd_is(c, "annotation"))
			continue;
		if (one != NULL)
			return NULL;
		one = c;
	}
	return one;
}

/* Count the xs:element declarations named name under n; *found gets one. */
static int
msg_xsd_find_el(xmlNodePtr n, const char *name, xmlNodePtr *found)
{
	xmlNodePtr	 c;
	xmlChar		*v;
	int		 count = 0;

	for (c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (msg_xsd_is(c, "element") &&
		    (v = xmlGetNoNsProp(c, (const xmlChar *)"name")) != NULL) {
			if (xmlStrEqual(v, (const xmlChar *)name)) {
				*found = c;
				count++;
			}
			xmlFree(v);
		}
		count += msg_xsd_find_el(c, name, found);
	}
	return count;
}

/* A facet's value attribute as a count, or -1. */
static long
msg_xsd_count(xmlNodePtr facet)
{
	xmlChar		*v;
	char		*ep;
	long		 n = -1;

	if ((v = xmlGetNoNsProp(facet, (const xmlChar *)"value")) == NULL)
		return -1;
	errno = 0;
	if (v[0] >= '0' && v[0] <= '9') {
		n = strtol((const char *)v, &ep, 10);
		if (errno != 0 || *ep != '\0')
			n = -1;
	}
	xmlFree(v);
	return n;
}

/*
 * Read MessageText's length facets from MSG_TEXT_XSD, so that
 * msg_check_text applies the schema's own limits to a cut text. The cut
 * stays off (s->text_cut 0) unless the file declares exactly one
 * MessageText, without type, fixed, default or nillable, as an anonymous
 * restriction of xs:string whose only facets are minLength and maxLength:
 * anything else (a pattern, an enumeration, a named type) is left for
 * libxml2 to check on the whole text.
 */
static void
msg_schema_text_facets(struct msg_schema *s, const char *dir)
{
	static const char *const	 no[] = { "type", "fixed", "default",
					    "nillable", "ref" };
	xmlDocPtr			 doc;
	xmlNodePtr			 el = NULL, r, c;
	xmlNsPtr			 ns;
	xmlChar				*base = NULL, *prefix = NULL;
	const xmlChar			*local;
	char				*path;
	long				 v, min = 0, max = LONG_MAX;
	size_t				 i;

	path = xasprintf("%s/%s", dir, MSG_TEXT_XSD);
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING);
	free(path);
	if (doc == NULL)
		return;
	if (xmlDocGetRootElement(doc) == NULL ||
	    msg_xsd_find_el(xmlDocGetRootElement(doc), MSG_TEXT_EL, &el) != 1)
		goto out;
	for (i = 0; i < sizeof no / sizeof no[0]; i++)
		if (xmlHasProp(el, (const xmlChar *)no[i]) != NULL)
			goto out;
	if (!msg_xsd_is(r = msg_xsd_only_child(el), "simpleType") ||
	    !msg_xsd_is(r = msg_xsd_only_child(r), "restriction") ||
	    (base = xmlGetNoNsProp(r, (const xmlChar *)"base")) == NULL)
		goto out;
	/* No prefix: the default namespace. */
	if ((local = xmlSplitQName2(base, &prefix)) == NULL)
		local = xmlStrdup(base);
	ns = xmlSearchNs(doc, r, prefix);
	if (ns == NULL || !xmlStrEqual(ns->href, (const xmlChar *)MSG_XSD_NS) ||
	    !xmlStrEqual(local, (const xmlChar *)"string")) {
		xmlFree((xmlChar *)local);
		goto out;
	}
	xmlFree((xmlChar *)local);
	for (c = r->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || msg_xsd_is(c, "annotation"))
			continue;
		if (msg_xsd_is(c, "minLength") && (v = msg_xsd_count(c)) >= 0)
			min = v;
		else if (msg_xsd_is(c, "maxLength") &&
		    (v = msg_xsd_count(c)) >= 0)
			max = v;
		else
			goto out;
	}
	/* A text short enough for the maximum is too short to cut. */
	if ((size_t)max < MSG_ELIDE_MIN || min > max)
		goto out;
	s->text_min = (size_t)min;
	s->text_max = (size_t)max;
	s->text_ph = min > 2 ? (size_t)min : 2;
	s->text_cut = 1;
out:
	xmlFree(base);
	xmlFree(prefix);
	xmlFreeDoc(doc);
}

struct msg_schema *
msg_schema_load(const char *dir, char **cause)
{
	struct msg_schema	*s = NULL;
	xmlSchemaParserCtxtPtr	 pctxt = NULL;
	xmlStructuredErrorFunc	 oldf;
	void			*oldc;
	struct msg_loaderr	 le;
	char			*path;

	xmlInitParser();
	memset(&le, 0, sizeof le);
	path = xasprintf("%s/nlets.xsd", dir);
	if (access(path, R_OK) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	s = xcalloc(1, sizeof *s);
	atomic_flag_clear(&s->busy);
	if ((pctxt = xmlSchemaNewParserCtxt(path)) == NULL) {
		*cause = xasprintf("%s: cannot create schema parser", path);
		goto fail;
	}
	xmlSchemaSetParserStructuredErrors(pctxt, msg_load_error_cb, &le);
	/* The XSD files' own XML parse reports through the global handler. */
	oldf = xmlStructuredError;
	oldc = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(&le, msg_load_error_cb);
	s->schema = xmlSchemaParse(pctxt);
	xmlSetStructuredErrorFunc(oldc, oldf);
	if (s->schema == NULL) {
		*cause = xasprintf("%s", le.text[0] != '\0' ? le.text :
		    "cannot compile the schema");
		goto fail;
	}
	if ((s->vctxt = xmlSchemaNewValidCtxt(s->schema)) == NULL) {
		*cause = xasprintf("%s: cannot create validation context",
		    path);
		goto fail;
	}
	xmlSchemaFreeParserCtxt(pctxt);
	free(path);
	msg_schema_text_facets(s, dir);
	return s;
fail:
	if (pctxt != NULL)
		xmlSchemaFreeParserCtxt(pctxt);
	msg_schema_free(s);
	free(path);
	return NULL;
}

void
msg_schema_free(struct msg_schema *s)
{
	if (s == NULL)
		return;
	if (s->vctxt != NULL)
		xmlSchemaFreeValidCtxt(s->vctxt);
	if (s->pctxt != NULL)
		xmlFreeParserCtxt(s->pctxt);
	if (s->schema != NULL)
		xmlSchemaFree(s->schema);
	free(s);
}

/*
 * Header end scanner.
 */

size_t
msg_find_hdr_end(const char *raw, size_t len)
{
	struct xscan		 sc;
	struct xscan_tok	 t;

	if (raw == NULL)
		return (size_t)-1;
	xscan_init(&sc, raw, len);
	if (xscan_find(&sc, "NLETSMessageHeader", 1, &t) == -1)
		return (size_t)-1;
	return xscan_off(&sc, &t);
}

/*
 * Photo rewriting (response side of the photo-sharing policy).
 */

/*
 * The value of the DoNotRetainIndicator in raw[from..to), if there is one
 * written <X>value</X>: *vfrom and *vto get the value's offsets.
 * @return 1 found, 0 none, -1 an empty <X/> element.
 */
static int
msg_noretain_at(const char *raw, size_t to, size_t from, size_t *vfrom,
    size_t *vto)
{
	static const char	 dnr[] = "DoNotRetainIndicator";
	struct xscan		 sc;
	struct xscan_tok	 t;

	xscan_init_at(&sc, raw, to, from);
	if (xscan_find(&sc, dnr, 0, &t) == -1)
		return 0;
	if (t.kind == XSCAN_EMPTY)
		return -1;
	*vfrom = xscan_off(&sc, &t) + t.len;
	if (xscan_find(&sc, dnr, 1, &t) == -1)
		return 0;
	*vto = xscan_off(&sc, &t);
	return 1;
}

int
msg_photo_rewrite(struct ubuf *out, const char *raw, size_t len, int mode)
{
	static const char	 img[] = "PersonDigitalImage";
	struct xscan		 sc;
	struct xscan_tok	 t;
	size_t			 at = 0, s, e, gt, vf = 0, vt = 0;
	char			 val[16];
	const char		*v;
	int			 changed = 0, r;

	ubuf_reset(out);
	if (msg_find_hdr_end(raw, len) == (size_t)-1)
		return -1;
	xscan_init(&sc, raw, len);
	while (xscan_find(&sc, img, 0, &t) == 0) {
		s = xscan_off(&sc, &t);
		if (xscan_find(&sc, img, 1, &t) == -1) {
			ubuf_reset(out);
			return -1;
		}
		e = xscan_off(&sc, &t);
		gt = e + t.len;
		if (mode == MSG_PHOTO_STRIP) {
			ubuf_add(out, raw + at, s - at);
			at = gt;
			changed++;
			continue;
		}
		/* NORETAIN: the indicator is the last child of the image. */
		r = msg_noretain_at(raw, e, s, &vf, &vt);
		if (r == 0) {
			ubuf_add(out, raw + at, e - at);
			ubuf_adds(out, "<DoNotRetainIndicator>true"
			    "</DoNotRetainIndicator>");
			ubuf_add(out, raw + e, gt - e);
			changed++;
		} else if (r == 1) {
			msg_cpy(val, sizeof val, raw + vf, vt - vf < sizeof val ?
			    vt - vf : 0);
			v = val + strspn(val, " \t\r\n");
			r = (int)strlen(v);
			while (r > 0 && msg_is_ws((unsigned char)v[r - 1]))
				r--;
			if ((r == 4 && strncmp(v, "true", 4) == 0) ||
			    (r == 1 && v[0] == '1'))
				ubuf_add(out, raw + at, gt - at);
			else {
				ubuf_add(out, raw + at, vf - at);
				ubuf_adds(out, "true");
				ubuf_add(out, raw + vt, gt - vt);
				changed++;
			}
		} else {
			/* <DoNotRetainIndicator/>: not schema-valid as a
			 * boolean, so not seen here; keep it as it is. */
			ubuf_add(out, raw + at, gt - at);
		}
		at = gt;
	}
	ubuf_add(out, raw + at, len - at);
	return changed;
}

/*
 * Parsing.
 */

/* Line number (1-based) of offset off in buf. */
static int
msg_line_at(const char *buf, size_t off)
{
	const char	*p = buf, *end = buf + off;
	int		 line = 1;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		line++;
		p++;
	}
	return line;
}

/*
 * Byte-level refusals before libxml2 sees the input.
 * @return 0 to go on parsing, -1 when refused (diag recorded).
 */
static int
msg_prescan(struct msg_pctx *pc, const char *buf, size_t len)
{
	const char	*p = buf, *end = buf + len, *q, *decl_end, *e;
	char		 enc[32];
	size_t		 n;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;		/* UTF-8 byte order mark */
	while (p < end && msg_is_ws((unsigned char)*p))
		p++;
	if (p == end) {
		msg_diag(pc, NULL, 0, 0, MSG_ER_MALFORMED, "TXT missing");
		return -1;
	}
	if ((q = memchr(buf, '\0', len)) != NULL) {
		msg_diag(pc, NULL, msg_line_at(buf, (size_t)(q - buf)), 0,
		    MSG_ER_MALFORMED, "NUL byte in the message (not UTF-8 XML)");
		return -1;
	}
	if (*p != '<') {
		msg_diag(pc, NULL, msg_line_at(buf, (size_t)(p - buf)), 0,
		    MSG_ER_MALFORMED, "TXT is not XML");
		return -1;
	}
	/* memchr for '<' rather than memmem: it strides over a photo
	 * (base64 has no '<') several times faster. */
	for (q = buf; (q = memchr(q, '<', (size_t)(end - q))) != NULL; q++) {
		if ((size_t)(end - q) >= 9 && memcmp(q, "<!DOCTYPE", 9) == 0) {
			msg_diag(pc, NULL, msg_line_at(buf, (size_t)(q - buf)),
			    0, MSG_ER_FORMAT, "DOCTYPE is not allowed (no DTD, "
			    "no entity declarations)");
			return -1;
		}
	}
	/* An XML declaration may only name UTF-8. */
	if ((size_t)(end - p) >= 6 && memcmp(p, "<?xml", 5) == 0 &&
	    msg_is_ws((unsigned char)p[5]) &&
	    (decl_end = memmem(p, (size_t)(end - p), "?>", 2)) != NULL &&
	    (q = memmem(p, (size_t)(decl_end - p), "encoding", 8)) != NULL) {
		q += 8;
		while (q < decl_end && (msg_is_ws((unsigned char)*q) ||
		    *q == '='))
			q++;
		if (q < decl_end && (*q == '"' || *q == '\'') &&
		    (e = memchr(q + 1, *q, (size_t)(decl_end - q - 1))) != NULL) {
			n = (size_t)(e - q - 1);
			msg_cpy(enc, sizeof enc, q + 1, n);
			if (n >= sizeof enc || strcasecmp(enc, "UTF-8") != 0) {
				msg_diag(pc, NULL, msg_line_at(buf,
				    (size_t)(q - buf)), 0, MSG_ER_FORMAT,
				    "encoding \"%s\" is not allowed, "
				    "messages are UTF-8", enc);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * Plain text: bytes that certainly mean themselves where they stand, so
 * that a run of them can be cut without libxml2 looking. Comment text:
 * printable ASCII, tab, CR and LF, but no "--". Element text: printable
 * ASCII, tab and LF, but no '<', no '&' and no "]]>" (no CR: the parser
 * turns CR LF into LF, and then bytes would no longer count characters).
 */
enum msg_plain {
	MSG_PLAIN_COMMENT,
	MSG_PLAIN_TEXT
};

/* 1 if s[i] (of s[0..n)) is plain text of kind k. */
static inline int
msg_plain_at(const char *s, size_t i, size_t n, enum msg_plain k)
{
	unsigned char	c = (unsigned char)s[i];

	if (c < 0x20)
		return c == '\t' || c == '\n' ||
		    (c == '\r' && k == MSG_PLAIN_COMMENT);
	if (c > 0x7e)
		return 0;
	if (k == MSG_PLAIN_COMMENT)
		return c != '-' || i + 1 == n || s[i + 1] != '-';
	if (c == '<' || c == '&')
		return 0;
	return c != '>' || i < 2 || s[i - 1] != ']' || s[i - 2] != ']';
}

/* The first i in [from, to) where s[0..n) is not plain, or to. */
static inline size_t
msg_plain_from(const char *s, size_t from, size_t to, size_t n,
    enum msg_plain k)
{
	for (; from < to; from++)
		if (!msg_plain_at(s, from, n, k))
			return from;
	return to;
}

#ifdef MSG_HAVE_AVX2
/*
 * msg_plain_run with AVX2, 64 bytes a turn. Each byte is classified by
 * its two nibbles: lo[c & 15] & hi[c >> 4] is not 0 for a
 * byte that may end the run: a control character other than tab and LF
 * (and CR in a comment), 0x7f, a byte above 0x7f, '-' in a comment, '<'
 * '&' '>' in element text. A block holding one is looked at byte by byte.
 */
__attribute__((target("avx2")))
static size_t
msg_plain_run_avx2(const char *s, size_t n, enum msg_plain k)
{
	const int	 com = k == MSG_PLAIN_COMMENT;
	uint8_t		 lo[32], hi[32];
	__m256i		 vlo, vhi, v, w, bad;
	const __m256i	 nib = _mm256_set1_epi8(0x0f);
	size_t		 i, e;
	int		 c;

	for (c = 0; c < 16; c++) {
		lo[c] = (uint8_t)((c != '\t' && c != '\n' &&
		    (c != '\r' || !com) ? 0x01 : 0) |	/* controls */
		    0x02 |				/* 0x10-0x1f, 0x80- */
		    (c == 0x0f ? 0x04 : 0) |		/* 0x7f */
		    (c == (com ? 0x0d : 0x06) ? 0x08 : 0) |	/* '-' '&' */
		    (!com && (c == 0x0c || c == 0x0e) ?		/* '<' '>' */
		    0x10 : 0));
		hi[c] = (uint8_t)((c == 0 ? 0x01 : 0) |
		    (c == 1 || c >= 8 ? 0x02 : 0) | (c == 7 ? 0x04 : 0) |
		    (c == 2 ? 0x08 : 0) | (c == 3 ? 0x10 : 0));
		lo[c + 16] = lo[c];
		hi[c + 16] = hi[c];
	}
	vlo = _mm256_loadu_si256((const __m256i *)lo);
	vhi = _mm256_loadu_si256((const __m256i *)hi);
#define MSG_PLAIN_BAD(v) _mm256_and_si256(				\
	_mm256_shuffle_epi8(vlo, _mm256_and_si256((v), nib)),		\
	_mm256_shuffle_epi8(vhi,					\
	    _mm256_and_si256(_mm256_srli_epi16((v), 4), nib)))
	/* Two independent blocks a turn keep the CPU busy. */
	for (i = 0; i + 64 <= n; i += 64) {
		v = _mm256_loadu_si256((const __m256i *)(s + i));
		w = _mm256_loadu_si256((const __m256i *)(s + i + 32));
		bad = _mm256_or_si256(MSG_PLAIN_BAD(v), MSG_PLAIN_BAD(w));
		if (!_mm256_testz_si256(bad, bad) &&
		    (e = msg_plain_from(s, i, i + 64, n, k)) < i + 64)
			return e;
	}
	if (i + 32 <= n) {
		v = _mm256_loadu_si256((const __m256i *)(s + i));
		bad = MSG_PLAIN_BAD(v);
		if (!_mm256_testz_si256(bad, bad) &&
		    (e = msg_plain_from(s, i, i + 32, n, k)) < i + 32)
			return e;
		i += 32;
	}
#undef MSG_PLAIN_BAD
	return msg_plain_from(s, i, n, n, k);
}
#endif

int	msg_plain_simd = 1;

/* Length of the plain text of kind k at the start of s[0..n): up to the
 * first byte that is not plain (n if none). */
static size_t
msg_plain_run(const char *s, size_t n, enum msg_plain k)
{
#ifdef MSG_HAVE_AVX2
	if (msg_plain_simd && __builtin_cpu_supports("avx2"))
		return msg_plain_run_avx2(s, n, k);
#endif
	return msg_plain_from(s, 0, n, n, k);
}

/*
 * 1 if the element opened by t (bare: no prefix, no attribute, nothing
 * after the name) has character data only, free of '<' and '&', and
 * ends with its own end tag; *text gets the text token (len 0 if empty).
 */
static int
msg_elide_el(struct xscan *sc, const struct xscan_tok *t,
    struct xscan_tok *text)
{
	struct xscan_tok	 e;

	if (t->kind != XSCAN_START || t->local != t->name || t->datalen != 0)
		return 0;
	if (xscan_next(sc, text) == XSCAN_TEXT) {
		if (memchr(text->data, '&', text->datalen) != NULL)
			return 0;
		xscan_next(sc, &e);
	} else {
		e = *text;
		text->kind = XSCAN_TEXT;
		text->data = e.p;
		text->datalen = 0;
	}
	return e.kind == XSCAN_END && e.namelen == t->namelen &&
	    memcmp(e.name, t->name, t->namelen) == 0 && e.datalen == 0;
}

/*
 * Find what msg_parse keeps out of libxml2 (struct msg_span):
 *  - the text of every comment of MSG_ELIDE_MIN bytes or more that is
 *    plain (MSG_PLAIN_COMMENT);
 *  - the text of every BinaryBase64Object, all of them or none: each must
 *    be written <BinaryBase64Object>TEXT</BinaryBase64Object> (no prefix,
 *    no attribute) with TEXT free of '<' and '&';
 *  - when texts is set, the text of the one MessageText, written the same
 *    way, if it is MSG_ELIDE_MIN bytes or more of plain element text
 *    (MSG_PLAIN_TEXT); with a second MessageText, none.
 * The tokens come from xscan; at anything it cannot follow nothing is cut.
 * @return the number of spans written to sp (in input order), 0 for none.
 */
static int
msg_elide_scan(const char *buf, size_t len, int texts, struct msg_span *sp,
    int max)
{
	struct xscan		 sc;
	struct xscan_tok	 t, x;
	enum msg_spankind	 kind;
	int			 n = 0, i, k, photo_ok = 1, text_ok = 1;
	int			 ntext = 0;

	xscan_init(&sc, buf, len);
	for (;;) {
		switch (xscan_next(&sc, &t)) {
		case XSCAN_EOF:
			goto done;
		case XSCAN_BAD:
		case XSCAN_DECL:
			return 0;
		case XSCAN_COMMENT:
			/* A '-' just before "-->" makes "--": not plain. */
			if (t.datalen >= MSG_ELIDE_MIN && n < max &&
			    t.data[t.datalen - 1] != '-' &&
			    msg_plain_run(t.data, t.datalen,
			    MSG_PLAIN_COMMENT) == t.datalen) {
				sp[n].off = (size_t)(t.data - buf);
				sp[n].len = t.datalen;
				sp[n++].kind = MSG_SPAN_COMMENT;
			}
			continue;
		case XSCAN_START:
			break;
		default:
			continue;
		}
		if (xscan_is(&t, "BinaryBase64Object"))
			kind = MSG_SPAN_PHOTO;
		else if (texts && xscan_is(&t, MSG_TEXT_EL))
			kind = MSG_SPAN_TEXT;
		else
			continue;
		if (n >= max || !msg_elide_el(&sc, &t, &x)) {
			if (kind == MSG_SPAN_PHOTO)
				photo_ok = 0;
			else
				text_ok = 0;
			continue;
		}
		if (kind == MSG_SPAN_TEXT && (ntext++ > 0 ||
		    x.datalen < MSG_ELIDE_MIN || msg_plain_run(x.data,
		    x.datalen, MSG_PLAIN_TEXT) != x.datalen)) {
			text_ok = 0;
			continue;
		}
		sp[n].off = (size_t)(x.data - buf);
		sp[n].len = x.datalen;
		sp[n++].kind = kind;
	}
done:
	if (!photo_ok || !text_ok) {
		for (i = k = 0; i < n; i++)
			if ((sp[i].kind != MSG_SPAN_PHOTO || photo_ok) &&
			    (sp[i].kind != MSG_SPAN_TEXT || text_ok))
				sp[k++] = sp[i];
		n = k;
	}
	return n;
}

/* The input with the spans cut: a comment's text goes, the k-th photo
 * text becomes "#k", the MessageText text "#0" and '#'s, ph characters. */
static void
msg_elide_build(struct ubuf *out, const char *buf, size_t len,
    const struct msg_span *sp, int n, size_t ph)
{
	size_t	at = 0, j;
	int	i, k = 0;

	for (i = 0; i < n; i++) {
		ubuf_add(out, buf + at, sp[i].off - at);
		if (sp[i].kind == MSG_SPAN_PHOTO)
			ubuf_printf(out, "#%d", k++);
		else if (sp[i].kind == MSG_SPAN_TEXT) {
			ubuf_adds(out, "#0");
			for (j = 2; j < ph; j++)
				ubuf_adds(out, "#");
		}
		at = sp[i].off + sp[i].len;
	}
	ubuf_add(out, buf + at, len - at);
}

/* The first element nested deeper than MSG_MAX_DEPTH, or NULL. */
static xmlNodePtr
msg_too_deep(xmlNodePtr root)
{
	xmlNodePtr	 n = root;
	int		 depth = 1;

	for (;;) {
		if (n->type == XML_ELEMENT_NODE) {
			if (depth > MSG_MAX_DEPTH)
				return n;
			if (n->children != NULL) {
				n = n->children;
				depth++;
				continue;
			}
		}
		while (n != root && n->next == NULL) {
			n = n->parent;
			depth--;
		}
		if (n == root)
			return NULL;
		n = n->next;
	}
}

/* Header rules; fills key, ori, dest, ctl. */
static void
msg_check_header(struct msg_pctx *pc, xmlNodePtr hdr, struct msg *m)
{
	xmlNodePtr	 c, ori = NULL;
	char		 t[128];
	size_t		 n, i;
	int		 nd = 0, k;

	for (c = MSG_EL_FIRST(hdr); c != NULL; c = MSG_EL_NEXT(c)) {
		n = msg_text(c, t, sizeof t);
		if (msg_el_is(c, "MessageKeyCodeText")) {
			m->key = n < sizeof t ? msg_key_lookup(t) : MSG_KEY_NONE;
			if (m->key == MSG_KEY_NONE && !msg_flagged(pc, c))
				msg_diag(pc, c, 0, 0, MSG_ER_HEADER,
				    "unknown message key \"%.20s\"", t);
		} else if (msg_el_is(c, "OriginatingORIID")) {
			ori = c;
			msg_cpy(m->ori, sizeof m->ori, t, strlen(t));
			if ((n >= sizeof t || !msg_ori_is_valid(t)) &&
			    !msg_flagged(pc, c))
				msg_diag(pc, c, 0, 0, MSG_ER_HEADER,
				    "originating ORI \"%.20s\" is not a valid "
				    "ORI", t);
		} else if (msg_el_is(c, "DestinationORIID")) {
			if (nd < MSG_MAXDEST) {
				msg_cpy(m->dest[nd], sizeof m->dest[nd], t,
				    strlen(t));
				m->ndest = nd + 1;
			}
			nd++;
			if (msg_flagged(pc, c))
				continue;
			if (n >= sizeof t || !msg_dest_is_valid(t))
				msg_diag(pc, c, 0, 0, MSG_ER_DEST,
				    "destination \"%.20s\" is neither a member "
				    "code nor an ORI", t);
			else if (nd > MSG_MAXDEST)
				msg_diag(pc, c, 0, 0, MSG_ER_DEST,
				    "more than %d destinations", MSG_MAXDEST);
		} else if (msg_el_is(c, "DocumentControlFieldText")) {
			msg_cpy(m->ctl, sizeof m->ctl, t, strlen(t));
			if (msg_flagged(pc, c))
				continue;
			for (i = 0; t[i] != '\0'; i++)
				if (t[i] < ' ' || t[i] > '~')
					break;
			if (n > MSG_CTL_LEN || t[i] != '\0')
				msg_diag(pc, c, 0, 0, MSG_ER_HEADER,
				    "control field longer than %d characters "
				    "or not printable ASCII", MSG_CTL_LEN);
		} else if (!(pc->flags & MSG_PARSE_STAMPED)) {
			for (k = 0; msg_stamped[k] != NULL; k++)
				if (msg_el_is(c, msg_stamped[k]))
					break;
			if (msg_stamped[k] != NULL)
				msg_diag(pc, c, 0, 0, MSG_ER_HEADER,
				    "%s is stamped by the switch, a sender may "
				    "not write it", msg_stamped[k]);
		}
	}
	if (nd == 0 && !msg_flagged_within(pc, hdr))
		msg_diag(pc, hdr, 0, 0, MSG_ER_DEST, "no destination");
	if (m->key == MSG_KEY_ER && ori != NULL && msg_ori_is_valid(m->ori) &&
	    strcmp(m->ori, MSG_SWITCH_ORI) != 0)
		msg_diag(pc, ori, 0, 0, MSG_ER_HEADER,
		    "only the switch (%s) sends ER messages", MSG_SWITCH_ORI);
}

/* Check a PersonBirthDate element. */
static void
msg_check_dob(struct msg_pctx *pc, xmlNodePtr c, const char *t, size_t n)
{
	const char	*why;

	if (msg_flagged(pc, c))
		return;
	why = n >= 16 ? "not a YYYY-MM-DD date" : msg_dob_check(t);
	if (why != NULL)
		msg_diag(pc, c, 0, 0, MSG_ER_DOB, "birth date \"%.16s\": %s",
		    t, why);
}

/*
 * Person fields of a query or a driver record (children of el) into p
 * when fill is set; every birth date is checked either way.
 */
static void
msg_get_person(struct msg_pctx *pc, xmlNodePtr el, struct msg_person *p,
    int fill)
{
	xmlNodePtr	 c, g;
	char		 t[128];
	size_t		 n;

	for (c = MSG_EL_FIRST(el); c != NULL; c = MSG_EL_NEXT(c)) {
		if (msg_el_is(c, "PersonName")) {
			if (!fill)
				continue;
			for (g = MSG_EL_FIRST(c); g != NULL; g = MSG_EL_NEXT(g)) {
				msg_text(g, t, sizeof t);
				if (msg_el_is(g, "PersonGivenName"))
					msg_cpy(p->given, sizeof p->given, t,
					    strlen(t));
				else if (msg_el_is(g, "PersonMiddleName"))
					msg_cpy(p->middle, sizeof p->middle, t,
					    strlen(t));
				else if (msg_el_is(g, "PersonSurName"))
					msg_cpy(p->surname, sizeof p->surname,
					    t, strlen(t));
			}
			continue;
		}
		if (msg_el_is(c, "PersonBirthDate")) {
			n = msg_text(c, t, sizeof t);
			msg_check_dob(pc, c, t, n);
			if (fill)
				msg_cpy(p->dob, sizeof p->dob, t, strlen(t));
			continue;
		}
		if (!fill)
			continue;
		if (msg_el_is(c, "PersonSexCode")) {
			msg_text(c, t, sizeof t);
			msg_cpy(p->sex, sizeof p->sex, t, strlen(t));
		} else if (msg_el_is(c, "DriverLicenseID")) {
			msg_text(c, t, sizeof t);
			msg_cpy(p->oln, sizeof p->oln, t, strlen(t));
		} else if (msg_el_is(c, "IssuingStateCode")) {
			msg_text(c, t, sizeof t);
			msg_cpy(p->olstate, sizeof p->olstate, t, strlen(t));
		}
	}
}

/* PhotoPurpose: the fields the photo-sharing policy decides on. */
static void
msg_get_purpose(xmlNodePtr el, struct msg_purpose *pp)
{
	static const struct {
		const char	*name;
		size_t		 off;
		size_t		 size;
	} fields[] = {
#define MSG_PF(n, f) { n, offsetof(struct msg_purpose, f), \
	sizeof(((struct msg_purpose *)0)->f) }
		MSG_PF("PurposeCategoryCode", category),
		MSG_PF("PurposeUseCode", use),
		MSG_PF("CircumstanceText", circumstance),
		MSG_PF("CaseNumberText", case_number),
		MSG_PF("VerifierName", verifier),
		MSG_PF("ArrestWarrantNumber", warrant),
#undef MSG_PF
	};
	xmlNodePtr	 c;
	char		 t[MSG_PURPOSE_TEXT_LEN + 8];
	size_t		 i;

	memset(pp, 0, sizeof *pp);
	pp->present = 1;
	pp->suspect = -1;
	for (c = MSG_EL_FIRST(el); c != NULL; c = MSG_EL_NEXT(c)) {
		msg_text(c, t, sizeof t);
		if (msg_el_is(c, "SubjectSuspectIndicator")) {
			pp->suspect = strcmp(t, "true") == 0 ||
			    strcmp(t, "1") == 0;
			continue;
		}
		for (i = 0; i < sizeof fields / sizeof fields[0]; i++)
			if (msg_el_is(c, fields[i].name))
				msg_cpy((char *)pp + fields[i].off,
				    fields[i].size, t, strlen(t));
	}
}

/* DQ/KQ (DriverQuery) and DNQ (DriverNameQuery) bodies. */
static void
msg_check_query(struct msg_pctx *pc, xmlNodePtr body, struct msg *m)
{
	struct msg_person	*p = &m->person;
	xmlNodePtr		 c;
	char			 t[128], miss[128];
	int			 dnq = msg_el_is(body, "DriverNameQuery");

	msg_get_person(pc, body, p, 1);
	for (c = MSG_EL_FIRST(body); c != NULL; c = MSG_EL_NEXT(c)) {
		if (msg_el_is(c, "ImageRequestIndicator")) {
			msg_text(c, t, sizeof t);
			m->imq = strcmp(t, "Y") == 0;
		} else if (msg_el_is(c, "ReasonText")) {
			msg_text(c, t, sizeof t);
			msg_cpy(m->rsn, sizeof m->rsn, t, strlen(t));
		} else if (msg_el_is(c, "AttentionText")) {
			msg_text(c, t, sizeof t);
			msg_cpy(m->atn, sizeof m->atn, t, strlen(t));
		} else if (msg_el_is(c, "PhotoPurpose"))
			msg_get_purpose(c, &m->purpose);
	}
	if (!dnq && p->oln[0] != '\0')
		return;
	miss[0] = '\0';
	if (p->surname[0] == '\0')
		strcat(miss, " PersonSurName");
	if (p->given[0] == '\0')
		strcat(miss, " PersonGivenName");
	if (dnq) {
		if (miss[0] != '\0')
			msg_diag(pc, body, 0, 0, MSG_ER_REQUIRED,
			    "a name query needs surname and given name; "
			    "missing:%s", miss);
		return;
	}
	if (p->sex[0] == '\0')
		strcat(miss, " PersonSexCode");
	if (miss[0] != '\0') {
		if (p->dob[0] == '\0')
			strcat(miss, " PersonBirthDate");
		msg_diag(pc, body, 0, 0, MSG_ER_REQUIRED, "a driver query "
		    "needs DriverLicenseID, or PersonName (surname and given "
		    "name) with PersonBirthDate and PersonSexCode; missing:%s",
		    miss);
	} else if (p->dob[0] == '\0')
		msg_diag(pc, body, 0, 0, MSG_ER_DOB, "a driver query by name "
		    "needs PersonBirthDate");
}

/* One PersonDigitalImage: base64 valid, size consistent. */
static void
msg_check_photo(struct msg_pctx *pc, xmlNodePtr img, struct msg *m)
{
	xmlNodePtr	 b64, szn, c;
	xmlChar		*content = NULL;
	const char	*p;
	char		 t[32], *ep;
	size_t		 n;
	long		 dec;
	unsigned long	 sz;

	if ((b64 = msg_el_child(img, "BinaryBase64Object")) == NULL)
		return;		/* the schema said so */
	c = b64->children;
	if (c != NULL && c->next == NULL && c->type == XML_TEXT_NODE &&
	    c->content != NULL)
		p = (const char *)c->content;	/* the usual case: no copy */
	else {
		if ((content = xmlNodeGetContent(b64)) == NULL)
			content = xmlStrdup((const xmlChar *)"");
		p = (const char *)content;
	}
	n = p != NULL ? strlen(p) : 0;
	if (pc->nphoto > 0) {
		/* Every photo text was cut: p is the "#k" put in its place. */
		errno = 0;
		sz = p != NULL && p[0] == '#' ? strtoul(p + 1, &ep, 10) : 0;
		if (p != NULL && p[0] == '#' && errno == 0 && *ep == '\0' &&
		    sz < (unsigned long)pc->nphoto) {
			p = pc->raw + pc->photo[sz].off;
			n = pc->photo[sz].len;
		} else
			p = NULL;	/* cannot be: reported, then reparsed */
	}
	dec = p != NULL ? util_b64_check(p, n) : -1;
	if (dec < 0 && !msg_flagged(pc, b64))
		msg_diag(pc, b64, 0, 0, MSG_ER_FORMAT,
		    "BinaryBase64Object is not valid base64");
	if (dec >= 0 && (szn = msg_el_child(img, "BinarySizeValue")) != NULL &&
	    !msg_flagged(pc, szn) && msg_text(szn, t, sizeof t) < sizeof t) {
		errno = 0;
		sz = strtoul(t, &ep, 10);
		if (errno != 0 || *ep != '\0' || sz != (unsigned long)dec)
			msg_diag(pc, szn, 0, 0, MSG_ER_FORMAT,
			    "BinarySizeValue %.20s is not the %ld bytes the "
			    "image decodes to", t, dec);
	}
	if (!m->has_photo) {
		m->has_photo = 1;
		m->photo_len = dec > 0 ? (size_t)dec : 0;
	}
	m->nphotos++;
	if ((szn = msg_el_child(img, "DoNotRetainIndicator")) != NULL &&
	    msg_text(szn, t, sizeof t) < sizeof t &&
	    (strcmp(t, "true") == 0 || strcmp(t, "1") == 0))
		m->nphotos_noretain++;
	if (content != NULL)
		xmlFree(content);
}

/*
 * AM: when the MessageText text was cut (pc->text), the length facets the
 * schema gives it, applied to the input bytes (plain text: one byte, one
 * character). Out of range is reported here and then again by libxml2 on
 * the whole input (msg_parse_flags); so is a cut text not found here.
 */
static void
msg_check_text(struct msg_pctx *pc, xmlNodePtr body)
{
	xmlNodePtr	el, c;

	if (pc->text == NULL || (el = msg_el_child(body, MSG_TEXT_EL)) == NULL)
		return;
	c = el->children;
	if (c == NULL || c->next != NULL || c->type != XML_TEXT_NODE ||
	    c->content == NULL || strncmp((const char *)c->content, "#0", 2) ||
	    strlen((const char *)c->content) != pc->schema->text_ph)
		return;
	pc->text_seen = 1;
	if (pc->text->len < pc->schema->text_min ||
	    pc->text->len > pc->schema->text_max)
		msg_diag(pc, el, 0, 0, MSG_ER_FORMAT, "MessageText has %zu "
		    "characters, not %zu to %zu", pc->text->len,
		    pc->schema->text_min, pc->schema->text_max);
}

/* DR, KR, DNR bodies. */
static void
msg_check_response(struct msg_pctx *pc, xmlNodePtr body, struct msg *m)
{
	xmlNodePtr	 c, img;
	char		 t[16];

	for (c = MSG_EL_FIRST(body); c != NULL; c = MSG_EL_NEXT(c)) {
		if (msg_el_is(c, "NotOnFileIndicator")) {
			msg_text(c, t, sizeof t);
			m->not_on_file = strcmp(t, "true") == 0 ||
			    strcmp(t, "1") == 0;
		} else if (msg_el_is(c, "DriverRecord")) {
			msg_get_person(pc, c, &m->person, m->nrecords == 0);
			m->nrecords++;
			if ((img = msg_el_child(c, "PersonDigitalImage")) != NULL)
				msg_check_photo(pc, img, m);
		}
	}
}

/* SM / ER: the status or error code. */
static void
msg_get_status(xmlNodePtr body, const char *name, struct msg *m)
{
	xmlNodePtr	 c;
	char		 t[16];

	if ((c = msg_el_child(body, name)) != NULL &&
	    msg_text(c, t, sizeof t) < sizeof t)
		m->status = atoi(t);
}

/* Header and field rules over the whole (possibly schema-invalid) tree. */
static void
msg_check(struct msg_pctx *pc, xmlNodePtr root, struct msg *m)
{
	const struct msg_keyinfo	*ki;
	xmlNodePtr			 c, hdr = NULL, data = NULL, body = NULL;

	if (!msg_el_is(root, "NLETS"))
		return;		/* the schema reported it */
	for (c = MSG_EL_FIRST(root); c != NULL; c = MSG_EL_NEXT(c)) {
		if (hdr == NULL && msg_el_is(c, "NLETSMessageHeader"))
			hdr = c;
		else if (data == NULL && (msg_el_is(c, "NLETSInquiryData") ||
		    msg_el_is(c, "NLETSResponseData")))
			data = c;
	}
	if (hdr != NULL)
		msg_check_header(pc, hdr, m);
	if (data == NULL || (body = MSG_EL_FIRST(data)) == NULL)
		return;		/* TXT missing: the schema reported it */
	if (m->key != MSG_KEY_NONE) {
		ki = &msg_keys[m->key];
		if (!msg_el_is(data, ki->container) ||
		    !msg_el_is(body, ki->body))
			msg_diag(pc, body, 0, 0, MSG_ER_FORMAT,
			    "message key %s needs %s/%s, not %s/%s", ki->name,
			    ki->container, ki->body, (const char *)data->name,
			    (const char *)body->name);
	}
	/* Check the body for what it is, so that every error shows. */
	if (msg_el_is(body, "DriverQuery") ||
	    msg_el_is(body, "DriverNameQuery"))
		msg_check_query(pc, body, m);
	else if (msg_el_is(body, "DriverResponse") ||
	    msg_el_is(body, "DriverHistoryResponse") ||
	    msg_el_is(body, "DriverNameResponse"))
		msg_check_response(pc, body, m);
	else if (msg_el_is(body, "StatusMessage"))
		msg_get_status(body, "StatusCode", m);
	else if (msg_el_is(body, "ErrorMessage"))
		msg_get_status(body, "ErrorCode", m);
	else if (msg_el_is(body, "AdministrativeMessage"))
		msg_check_text(pc, body);
}

int
msg_parse(struct msg_schema *s, const char *buf, size_t len, size_t maxlen,
    struct msg *m, struct msg_diags *diags)
{
	return msg_parse_flags(s, buf, len, maxlen, 0, m, diags);
}

/*
 * Parse and check xbuf, which is buf itself or buf with spans cut
 * (pc->nphoto photo texts among them). m->raw and the header end are
 * always about buf.
 */
static void
msg_parse_doc(struct msg_schema *s, struct msg_pctx *pc, const char *xbuf,
    size_t xlen, const char *buf, size_t len, struct msg *m)
{
	xmlParserCtxtPtr	 ctxt;
	xmlSchemaValidCtxtPtr	 vctxt;
	xmlDocPtr		 doc;
	xmlNodePtr		 root, deep;
	int			 own = 0;

	/* The shared contexts for the common case, private ones if busy. */
	if (!atomic_flag_test_and_set_explicit(&s->busy,
	    memory_order_acquire)) {
		if (s->pctxt != NULL && (s->puses >= MSG_PCTXT_USES ||
		    (s->pctxt->dict != NULL &&
		    xmlDictSize(s->pctxt->dict) >= MSG_PCTXT_NAMES))) {
			xmlFreeParserCtxt(s->pctxt);
			s->pctxt = NULL;
		}
		if (s->pctxt == NULL) {
			if ((s->pctxt = xmlNewParserCtxt()) == NULL)
				fatalx("msg: xmlNewParserCtxt: out of memory");
			s->puses = 0;
		}
		s->puses++;
		ctxt = s->pctxt;
		vctxt = s->vctxt;
	} else {
		if ((ctxt = xmlNewParserCtxt()) == NULL)
			fatalx("msg: xmlNewParserCtxt: out of memory");
		if ((vctxt = xmlSchemaNewValidCtxt(s->schema)) == NULL)
			fatalx("msg: xmlSchemaNewValidCtxt: out of memory");
		own = 1;
	}
	ctxt->_private = pc;
	ctxt->sax->serror = msg_parser_error_cb;
	doc = xmlCtxtReadMemory(ctxt, xbuf, (int)xlen, NULL, NULL,
	    MSG_XML_OPTIONS);
	if (doc == NULL || pc->nparse > 0) {
		if (pc->diags->n == 0)
			msg_diag(pc, NULL, 0, 0, MSG_ER_MALFORMED,
			    "malformed XML");
		goto out;
	}
	if ((root = xmlDocGetRootElement(doc)) == NULL) {
		msg_diag(pc, NULL, 0, 0, MSG_ER_MALFORMED, "TXT missing");
		goto out;
	}
	if ((deep = msg_too_deep(root)) != NULL) {
		msg_diag(pc, deep, 0, 0, MSG_ER_FORMAT, "elements nested "
		    "deeper than %d", MSG_MAX_DEPTH);
		goto out;
	}

	xmlSchemaSetValidStructuredErrors(vctxt, msg_schema_error_cb, pc);
	if (xmlSchemaValidateDoc(vctxt, doc) < 0 && pc->diags->n == 0)
		msg_diag(pc, root, 0, 0, MSG_ER_FORMAT,
		    "schema validation failed (internal error)");
	xmlSchemaSetValidStructuredErrors(vctxt, NULL, NULL);

	msg_check(pc, root, m);
	if (pc->text != NULL && !pc->text_seen && pc->diags->n == 0)
		msg_diag(pc, root, 0, 0, MSG_ER_FORMAT, "the cut MessageText "
		    "is not the AM's");
	if ((m->hdr_end = msg_find_hdr_end(buf, len)) == (size_t)-1) {
		m->hdr_end = 0;
		if (pc->diags->n == 0)
			msg_diag(pc, root, 0, 0, MSG_ER_HEADER,
			    "no NLETSMessageHeader end tag");
	}
out:
	if (doc != NULL)
		xmlFreeDoc(doc);
	ctxt->_private = NULL;
	if (own) {
		xmlFreeParserCtxt(ctxt);
		xmlSchemaFreeValidCtxt(vctxt);
	} else
		atomic_flag_clear_explicit(&s->busy, memory_order_release);
}

int
msg_parse_flags(struct msg_schema *s, const char *buf, size_t len,
    size_t maxlen, int flags, struct msg *m, struct msg_diags *diags)
{
	struct msg_diags	 scratch;
	struct msg_pctx		 pc;
	struct msg_span		 sp[MSG_MAXELIDE], photo[MSG_MAXELIDE];
	struct ubuf		 cut;
	size_t			 ncut = 0;
	int			 i, nsp;

	memset(&pc, 0, sizeof pc);
	pc.diags = diags != NULL ? diags : &scratch;
	pc.diags->n = pc.diags->dropped = 0;
	pc.flags = flags;
	memset(m, 0, sizeof *m);
	m->raw = buf;
	m->rawlen = len;

	if (maxlen == 0 || maxlen > INT_MAX)
		maxlen = INT_MAX;
	if (len > maxlen) {
		msg_diag(&pc, NULL, 0, 0, MSG_ER_TOO_LARGE, "message of %zu "
		    "bytes exceeds the limit of %zu bytes", len, maxlen);
		goto out;
	}
	if (buf == NULL || len == 0) {
		msg_diag(&pc, NULL, 0, 0, MSG_ER_MALFORMED, "TXT missing");
		goto out;
	}
	if (msg_prescan(&pc, buf, len) == -1)
		goto out;

	if ((flags & MSG_PARSE_WHOLE) == 0 && (nsp = msg_elide_scan(buf, len,
	    s->text_cut, sp, MSG_MAXELIDE)) > 0) {
		pc.raw = buf;
		pc.photo = photo;
		pc.schema = s;
		for (i = 0; i < nsp; i++) {
			ncut += sp[i].len;
			if (sp[i].kind == MSG_SPAN_PHOTO)
				photo[pc.nphoto++] = sp[i];
			else if (sp[i].kind == MSG_SPAN_TEXT)
				pc.text = &sp[i];
		}
		ubuf_init(&cut);
		msg_elide_build(&cut, buf, len, sp, nsp, s->text_ph);
		msg_parse_doc(s, &pc, cut.data, cut.len, buf, len, m);
		ubuf_free(&cut);
		if (pc.diags->n == 0 && pc.diags->dropped == 0) {
			m->cut = ncut;
			return 0;
		}
		/* Report on what the sender wrote, not on the cut copy. */
		pc.diags->n = pc.diags->dropped = 0;
		pc.nparse = pc.nbad = pc.nphoto = pc.text_seen = 0;
		pc.raw = NULL;
		pc.photo = NULL;
		pc.text = NULL;
		memset(m, 0, sizeof *m);
		m->raw = buf;
		m->rawlen = len;
	}
	msg_parse_doc(s, &pc, buf, len, buf, len, m);
out:
	if (pc.diags->n == 0)
		return pc.diags->dropped ? MSG_ER_FORMAT : 0;
	msg_diag_sort(pc.diags);
	return pc.diags->d[0].code;
}

/*
 * Builders.
 */

void
msg_add_text(struct ubuf *b, const char *name, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	ubuf_printf(b, "<%s>", name);
	msg_add_xml(b, value, strlen(value));
	ubuf_printf(b, "</%s>\n", name);
}

void
msg_add_person(struct ubuf *b, const struct msg_person *p)
{
	if (p->given[0] != '\0' || p->middle[0] != '\0' ||
	    p->surname[0] != '\0') {
		ubuf_adds(b, "<PersonName>\n");
		msg_add_text(b, "PersonGivenName", p->given);
		msg_add_text(b, "PersonMiddleName", p->middle);
		msg_add_text(b, "PersonSurName", p->surname);
		ubuf_adds(b, "</PersonName>\n");
	}
	msg_add_text(b, "PersonBirthDate", p->dob);
	msg_add_text(b, "PersonSexCode", p->sex);
	msg_add_text(b, "DriverLicenseID", p->oln);
	msg_add_text(b, "IssuingStateCode", p->olstate);
}

void
msg_begin(struct ubuf *b, enum msg_key key, const char *ori,
    const char *const *dests, int ndest, const char *ctl)
{
	const struct msg_keyinfo	*ki;
	char				 c[MSG_CTL_LEN + 1];
	int				 i;

	if (key <= MSG_KEY_NONE || key >= MSG_KEY_MAX)
		fatalx("msg_begin: bad message key %d", (int)key);
	ki = &msg_keys[key];
	ubuf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<NLETS version=\"1.0\">\n  <NLETSMessageHeader>\n");
	ubuf_printf(b, "    <MessageKeyCodeText>%s</MessageKeyCodeText>\n",
	    ki->name);
	ubuf_adds(b, "    <OriginatingORIID>");
	msg_add_xml(b, ori != NULL ? ori : "", ori != NULL ? strlen(ori) : 0);
	ubuf_adds(b, "</OriginatingORIID>\n");
	for (i = 0; i < ndest; i++) {
		ubuf_adds(b, "    <DestinationORIID>");
		msg_add_xml(b, dests[i], strlen(dests[i]));
		ubuf_adds(b, "</DestinationORIID>\n");
	}
	msg_filter(c, sizeof c, ctl, ' ', '~', MSG_CTL_LEN);
	if (c[0] != '\0') {
		ubuf_adds(b, "    <DocumentControlFieldText>");
		msg_add_xml(b, c, strlen(c));
		ubuf_adds(b, "</DocumentControlFieldText>\n");
	}
	ubuf_printf(b, "  </NLETSMessageHeader>\n  <%s>\n    <%s>\n",
	    ki->container, ki->body);
}

void
msg_end(struct ubuf *b, enum msg_key key)
{
	const struct msg_keyinfo	*ki;

	if (key <= MSG_KEY_NONE || key >= MSG_KEY_MAX)
		fatalx("msg_end: bad message key %d", (int)key);
	ki = &msg_keys[key];
	ubuf_printf(b, "    </%s>\n  </%s>\n</NLETS>\n", ki->body,
	    ki->container);
}

void
msg_build_er(struct ubuf *b, const char *ori, const char *ctl, int code,
    const char *detail, const char *input, size_t inlen)
{
	const char	*dest;
	char		 num[16];
	size_t		 n;

	dest = msg_dest_is_valid(ori) ? ori : MSG_SWITCH_ORI;
	msg_begin(b, MSG_KEY_ER, MSG_SWITCH_ORI, &dest, 1, ctl);
	snprintf(num, sizeof num, "%d", code);
	msg_add_text(b, "ErrorCode", num);
	msg_add_text(b, "ErrorReasonText", msg_er_reason(code));
	if (detail != NULL && detail[0] != '\0') {
		n = msg_utf8_cut(detail, strlen(detail), 1000);
		ubuf_adds(b, "<ErrorDetailText>");
		msg_add_xml(b, detail, n);
		ubuf_adds(b, "</ErrorDetailText>\n");
	}
	if (input != NULL && inlen > 0) {
		n = msg_utf8_cut(input, inlen, MSG_ER_INPUT_LEN);
		ubuf_adds(b, "<OffendingInputText>");
		msg_add_xml(b, input, n);
		ubuf_adds(b, "</OffendingInputText>\n");
	}
	msg_end(b, MSG_KEY_ER);
}

void
msg_build_sm(struct ubuf *b, const char *ori, const char *ctl, int status,
    const char *about_dest, enum msg_key about_key, const char *msgid)
{
	const char	*dest;
	char		 num[16], id[41];

	dest = msg_dest_is_valid(ori) ? ori : MSG_SWITCH_ORI;
	msg_begin(b, MSG_KEY_SM, MSG_SWITCH_ORI, &dest, 1, ctl);
	snprintf(num, sizeof num, "%d", status);
	msg_add_text(b, "StatusCode", num);
	msg_add_text(b, "StatusText", msg_sm_text(status));
	if (msg_dest_is_valid(about_dest))
		msg_add_text(b, "AboutDestinationORIID", about_dest);
	msg_add_text(b, "AboutMessageKeyCodeText", msg_key_name(about_key));
	msg_filter(id, sizeof id, msgid, '!', '~', sizeof id - 1);
	msg_add_text(b, "ReferenceMessageID", id);
	msg_end(b, MSG_KEY_SM);
}

/*
 * Stamping.
 */

/* One stamped element, indented like its siblings when the input is. */
static void
msg_stamp_el(struct ubuf *b, const char *name, const char *value,
    const char *ind, size_t il)
{
	size_t	 nl = strlen(name);

	/* Runs for every element of every delivery: no printf. */
	ubuf_add(b, ind, il);
	ubuf_add(b, "<", 1);
	ubuf_add(b, name, nl);
	ubuf_add(b, ">", 1);
	msg_add_xml(b, value, strlen(value));
	ubuf_add(b, "</", 2);
	ubuf_add(b, name, nl);
	ubuf_add(b, ">", 1);
	if (il > 0) {
		ubuf_add(b, "\n", 1);
		ubuf_add(b, ind, il);
	}
}

/* Date and time elements of a microsecond timestamp. */
static void
msg_stamp_time(struct ubuf *b, const char *dname, const char *tname,
    uint64_t us, const char *ind, size_t il)
{
	struct tm	 tm;
	time_t		 t = (time_t)(us / 1000000);
	char		 d[32], h[32];

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
	snprintf(d, sizeof d, "%04d-%02d-%02d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday);
	snprintf(h, sizeof h, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min,
	    tm.tm_sec);
	msg_stamp_el(b, dname, d, ind, il);
	msg_stamp_el(b, tname, h, ind, il);
}

void
msg_stamp(struct ubuf *b, const char *raw, size_t len, size_t hdr_end,
    const struct msg_stamp *st)
{
	if (hdr_end >= len) {
		ubuf_add(b, raw, len);
		return;
	}
	ubuf_add(b, raw, hdr_end);
	msg_stamp_elements(b, raw, len, hdr_end, st);
	ubuf_add(b, raw + hdr_end, len - hdr_end);
}

void
msg_stamp_elements(struct ubuf *b, const char *raw, size_t len,
    size_t hdr_end, const struct msg_stamp *st)
{
	char	 num[32], id[41];
	size_t	 i, il = 0;

	if (hdr_end >= len)
		return;
	/* The end tag's indentation, if it sits alone on its line. */
	for (i = hdr_end; i > 0 && (raw[i - 1] == ' ' || raw[i - 1] == '\t');
	    i--)
		;
	if (i > 0 && raw[i - 1] == '\n')
		il = hdr_end - i;

	msg_filter(id, sizeof id, st->msgid, '!', '~', sizeof id - 1);
	if (id[0] != '\0')
		msg_stamp_el(b, "SwitchMessageID", id, raw + i, il);
	msg_stamp_time(b, "NLETSReceiveDate", "NLETSReceiveTime", st->recv_us,
	    raw + i, il);
	snprintf(num, sizeof num, "%llu", (unsigned long long)st->in_seq);
	msg_stamp_el(b, "NLETSInputSequenceNumeric", num, raw + i, il);
	msg_stamp_time(b, "NLETSSendDate", "NLETSSendTime", st->send_us,
	    raw + i, il);
	snprintf(num, sizeof num, "%llu", (unsigned long long)st->out_seq);
	msg_stamp_el(b, "NLETSOutputSequenceNumeric", num, raw + i, il);
	if (msg_dest_is_valid(st->recv_ori))
		msg_stamp_el(b, "ReceivingORIID", st->recv_ori, raw + i, il);
}
