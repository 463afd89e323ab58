/*
 * msgparse - parse and validate Nlets NIEM XML messages (see msgparse.h).
 *
 * msgparse_message runs in four stages and keeps going after an error so
 * that an integrator sees every problem at once:
 *
 *   1. byte pre-scan: size limit, empty input, NUL bytes, something that
 *      is not XML, any "<!DOCTYPE", an XML declaration naming another
 *      encoding than UTF-8. A refusal here stops: nothing else runs.
 *   2. libxml2 parse (no network, no entity substitution, no DTD loading,
 *      declared encoding ignored, default size limits); errors go to a
 *      per-context structured handler, never to stderr. Not well-formed
 *      stops here, and so do a root that is not n2:NLETS (the old
 *      un-namespaced dialect among them) and nesting deeper than
 *      MSG_MAX_DEPTH.
 *   3. XSD validation of the tree, every schema error kept as a diag with
 *      the ER number of where it is (msgparse_where).
 *   4. the header and field rules the schema cannot express, skipping a
 *      node the schema already complained about (no double reports).
 *
 * The validation context is created once per schema and is used by one
 * call at a time; a concurrent call on the same schema (another thread)
 * gets a private context for that call, correct but slower.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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
#include "msgparse.h"
#include "util.h"
#include "xscan.h"
#include "xtree.h"

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

struct msgparse_schema {
	xmlSchemaPtr		 schema;
	xmlSchemaValidCtxtPtr	 vctxt;		/* used by the busy holder */
	xmlParserCtxtPtr	 pctxt;		/* used by the busy holder */
	int			 puses;		/* messages parsed with pctxt */
	atomic_flag		 busy;
	/* MailMessageText's length facets, read from MSG_TEXT_XSD by
	 * msgparse_schema_text_facets; text_cut 0: its text is never cut. A
	 * cut text is replaced by "#0" and '#'s, text_ph characters in all:
	 * the least the schema accepts. */
	int			 text_cut;
	size_t			 text_min;
	size_t			 text_max;
	size_t			 text_ph;
};

/*
 * Spans of the input that libxml2 never sees (msgparse_elide_scan): the
 * text of a long comment, the base64 text of every BinaryBase64Object,
 * and the long plain text of a MailMessageText. They are most of a large
 * message's bytes and none needs a tree: a comment means nothing, the
 * photo text is checked by util_b64_check on the input bytes, and the
 * MailMessageText's only rules are the schema's length facets, which
 * msgparse_check_text applies to the input bytes with the limits read
 * from the schema. libxml2 then parses and validates a copy with those
 * texts cut out. Any diagnostic on that copy, or a cut span the checks
 * did not meet where they expected it, sends the parse back to the input
 * itself, so what is reported (and its line and column) never depends on
 * the cut.
 */
#define MSG_ELIDE_MIN	256	/* shorter comments and texts are left in */
#define MSG_MAXELIDE	64	/* spans cut from one message */
#define MSG_TEXT_EL	"MailMessageText"
#define MSG_TEXT_XSD	"nlets.xsd"	/* the schema file that declares it */
enum msg_spankind {
	MSG_SPAN_COMMENT,		/* comment text: dropped */
	MSG_SPAN_PHOTO,			/* BinaryBase64Object text: "#k" */
	MSG_SPAN_TEXT			/* MailMessageText text: "#0###..." */
};
struct msg_span {
	size_t			 off;	/* in the input */
	size_t			 len;
	enum msg_spankind	 kind;
};

#define MSG_UNEXP_NAMES	256	/* "Expected is" names kept, prefixed */
#define MSG_UNEXP_PROBES	4	/* unexpected elements probed per message */
#define MSG_UNEXP_SIBLINGS	16	/* siblings at most, for a probe */
#define MSG_UNEXP_PROBE_MAX	(64 * 1024)	/* larger messages: no probe */

/* State of one parse; the libxml2 error handlers get it. */
struct msg_pctx {
	struct msg_diags	*diags;
	int			 nparse;	/* parser errors */
	int			 flags;
	/* Photo texts kept out of libxml2 (msgparse_elide_scan): the
	 * parsed copy holds "#k" where the input has raw[photo[k].off..+len).
	 * photo_seen counts the ones the checks resolved. */
	const char		*raw;
	const struct msg_span	*photo;
	int			 nphoto;
	int			 photo_seen;
	/* The MailMessageText text kept out (at most one): the parsed copy
	 * holds "#0" and '#'s (schema->text_ph characters) where the input
	 * has raw[text->off..+len). */
	const struct msg_span	*text;
	int			 text_seen;	/* msgparse_check_text found it */
	const struct msgparse_schema *schema;	/* its length facets */
	/* Schema errors "This element is not expected": put in words once
	 * validation is over (msgparse_unexpected_fix), when the tree can
	 * be probed. expected: the names libxml2 listed, prefixed. */
	struct msg_unexp {
		xmlNodePtr	 node;
		int		 diag;
		char		 expected[MSG_UNEXP_NAMES];
	}			 unexp[MSG_MAXDIAG];
	int			 nunexp;
};

static void	msgparse_parser_error_cb(void *, xmlErrorPtr);
static void	msgparse_schema_error_cb(void *, xmlErrorPtr);
static void	msgparse_load_error_cb(void *, xmlErrorPtr);

#define MP_N2	MSG_NS_ID_N2
#define MP_NH2	MSG_NS_ID_NH2
#define MP_NC	MSG_NS_ID_NC
#define MP_J	MSG_NS_ID_J
#define MP_N2C	MSG_NS_ID_N2C
#define MP_PSP	MSG_NS_ID_PSP
#define MP_AA	MSG_NS_ID_AA

static int
msg_is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
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
		xtree_xpath(node, d->xpath, sizeof d->xpath);
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

/*
 * The nodes the schema flagged are marked in their _private (the tree is
 * msgparse's own and freed after the checks), each with every element
 * around it, so that the checks skip them however many there are.
 */
#define MSG_FLAG_SELF	((uintptr_t)1)	/* the schema flagged the node */
#define MSG_FLAG_WITHIN	((uintptr_t)2)	/* it or something inside it */

static void
msg_flag(xmlNodePtr node)
{
	xmlNodePtr	 n;

	node->_private = (void *)((uintptr_t)node->_private | MSG_FLAG_SELF);
	for (n = node; n != NULL && (n == node ||
	    n->type == XML_ELEMENT_NODE); n = n->parent)
		n->_private = (void *)((uintptr_t)n->_private |
		    MSG_FLAG_WITHIN);
}

/* 1 if the schema flagged node itself. */
static int
msg_flagged(struct msg_pctx *pc, xmlNodePtr node)
{
	return node != NULL && ((uintptr_t)node->_private & MSG_FLAG_SELF);
}

/* 1 if the schema flagged node or anything inside it. */
static int
msg_flagged_within(struct msg_pctx *pc, xmlNodePtr node)
{
	return node != NULL && ((uintptr_t)node->_private & MSG_FLAG_WITHIN);
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

/* A body container: n2:NLETSInquiryData, ResponseData or MailData. */
static int
msg_is_body(xmlNodePtr n)
{
	int	 b;

	for (b = MSG_BODY_INQUIRY; b <= MSG_BODY_MAIL; b++)
		if (xtree_is(n, MP_N2, msg_body_name((enum msg_body)b)))
			return b;
	return MSG_BODY_NONE;
}

/*
 * Schema errors in plain words.
 *
 * libxml2 says an element out of place as "Element '{uri}X': This element
 * is not expected. Expected is ( {uri}Y )." (or "one of ( ... )"). The
 * diagnostic says instead what to do, with the names as prefixed names:
 * "nc:PersonSurName must come before nc:PersonGivenName". The order is
 * found by trying the element elsewhere among its siblings in a copy of
 * its parent (msg_probe), or from a name libxml2 expected that comes
 * later in the document; else the sentence says where the element is
 * not allowed and what is.
 */
#define MSG_UNEXP_TEXT	"This element is not expected."

/* The usual prefix of a namespace URI, or NULL. */
static const char *
msg_ns_prefix(const char *uri, size_t len)
{
	static const struct {
		const char	*uri;
		const char	*prefix;
	} t[] = {
		{ MSG_NS_N2, "n2" }, { MSG_NS_NH2, "nh2" },
		{ MSG_NS_N2C, "n2c" }, { MSG_NS_AA, "aa" },
		{ MSG_NS_NC, "nc" }, { MSG_NS_J, "j" }, { MSG_NS_J40, "j" },
		{ MSG_NS_PSP, "psp" },
	};
	size_t	 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strlen(t[i].uri) == len && memcmp(t[i].uri, uri, len) == 0)
			return t[i].prefix;
	return NULL;
}

/* Append "{uri}local" (or "local") of p[0..n) as a prefixed name. */
static void
msg_names_add(char *out, size_t sz, const char *p, size_t n)
{
	const char	*close, *pfx = NULL;
	size_t		 o = strlen(out);
	int		 r;

	if (n == 0 || *p == '#')	/* a wildcard (##other...) */
		return;
	if (*p == '{' && (close = memchr(p, '}', n)) != NULL) {
		pfx = msg_ns_prefix(p + 1, (size_t)(close - p - 1));
		n -= (size_t)(close + 1 - p);
		p = close + 1;
	}
	r = snprintf(out + o, sz - o, "%s%s%s%.*s", o > 0 ? " " : "",
	    pfx != NULL ? pfx : "", pfx != NULL ? ":" : "", (int)n, p);
	if (r < 0 || (size_t)r >= sz - o)
		out[o] = '\0';		/* a name cut short is no name */
}

void
msgparse_expected_names(const char *msg, char *out, size_t sz)
{
	const char	*p, *end, *q;

	if (sz == 0)
		return;
	out[0] = '\0';
	if ((p = strstr(msg, "Expected is ")) == NULL ||
	    (p = strchr(p, '(')) == NULL)
		return;
	if ((end = strchr(++p, ')')) == NULL)
		end = p + strlen(p);
	while (p < end) {
		while (p < end && (*p == ' ' || *p == ','))
			p++;
		for (q = p; q < end && *q != ',' && *q != ' '; q++)
			;
		msg_names_add(out, sz, p, (size_t)(q - p));
		p = q;
	}
}

/* 1 if name (prefixed or not) is a word of the space-separated list. */
static int
msg_names_has(const char *list, const char *name, size_t n)
{
	const char	*p = list, *q;

	while (list != NULL && *p != '\0') {
		if ((q = strchr(p, ' ')) == NULL)
			q = p + strlen(p);
		if ((size_t)(q - p) == n && memcmp(p, name, n) == 0)
			return 1;
		p = *q == ' ' ? q + 1 : q;
	}
	return 0;
}

/* "A", "A or B", "A, B or C", "A, B, C or 2 more" of a name list. */
static void
msg_names_or(const char *list, char *out, size_t sz)
{
	const char	*p = list, *q;
	size_t		 k = 0, total = 0, o;

	for (q = list; *q != '\0'; q++)
		total += *q == ' ';
	total += *list != '\0';
	out[0] = '\0';
	while (*p != '\0' && k < 3) {
		if ((q = strchr(p, ' ')) == NULL)
			q = p + strlen(p);
		o = strlen(out);
		snprintf(out + o, sz - o, "%s%.*s", k == 0 ? "" :
		    k + 1 == total ? " or " : ", ", (int)(q - p), p);
		k++;
		p = *q == ' ' ? q + 1 : q;
	}
	if (total > k) {
		o = strlen(out);
		snprintf(out + o, sz - o, " or %zu more", total - k);
	}
}

int
msgparse_unexpected_words(const char *name, const char *parent,
    const char *prev, const char *later, const char *expected,
    const char *before, char *out, size_t sz)
{
	const char	*p, *q;
	char		 list[200];

	if (before != NULL) {
		snprintf(out, sz, "%s must come before %s", name, before);
		return 0;
	}
	/* A name libxml2 wanted here that the sender wrote later. */
	for (p = expected != NULL ? expected : ""; *p != '\0';
	    p = *q == ' ' ? q + 1 : q) {
		if ((q = strchr(p, ' ')) == NULL)
			q = p + strlen(p);
		if (msg_names_has(later, p, (size_t)(q - p))) {
			snprintf(out, sz, "%.*s must come before %s",
			    (int)(q - p), p, name);
			return 0;
		}
	}
	if (expected == NULL || *expected == '\0') {
		if (prev != NULL)
			snprintf(out, sz, "%s is not allowed in %s after %s",
			    name, parent, prev);
		else
			snprintf(out, sz, "%s is not allowed in %s", name,
			    parent);
		return 0;
	}
	msg_names_or(expected, list, sizeof list);
	if (prev != NULL)
		snprintf(out, sz, "%s may not follow %s in %s; expected "
		    "there: %s", name, prev, parent, list);
	else
		snprintf(out, sz, "%s may not come first in %s; expected "
		    "there: %s", name, parent, list);
	return 0;
}

/* An element's name as written ("nc:PersonName"). */
static void
msg_qname(xmlNodePtr n, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s%s%s", n->ns != NULL && n->ns->prefix != NULL ?
	    (const char *)n->ns->prefix : "", n->ns != NULL &&
	    n->ns->prefix != NULL ? ":" : "", (const char *)n->name);
}

static void
msg_quiet_cb(void *arg, xmlErrorPtr e)
{
	(void)arg;
	(void)e;
}

/* The element before n among its siblings, or NULL. */
static xmlNodePtr
msg_prev_element(xmlNodePtr n)
{
	for (n = n->prev; n != NULL && n->type != XML_ELEMENT_NODE;
	    n = n->prev)
		;
	return n;
}

/* The element child number k (0-based) of n, or NULL. */
static xmlNodePtr
msg_nth_element(xmlNodePtr n, int k)
{
	for (n = xtree_first(n); n != NULL && k > 0; n = xtree_next(n))
		k--;
	return n;
}

/* What moving an unexpected element showed (msg_probe). */
enum msg_probe_res {
	MSG_PROBE_NONE = 0,	/* nothing made its parent valid */
	MSG_PROBE_BEFORE,	/* it fits before sibling *at */
	MSG_PROBE_AFTER,	/* it fits after sibling *at */
	MSG_PROBE_REMOVE	/* its parent is valid without it */
};

/*
 * Where node makes its parent valid: a copy of the parent with node
 * moved to each other place among its siblings in turn, earlier ones
 * first, then without node, is validated against the schema. The
 * parent's other errors make every try fail: MSG_PROBE_NONE.
 */
static enum msg_probe_res
msg_probe(xmlSchemaPtr schema, xmlNodePtr node, xmlNodePtr *at)
{
	xmlSchemaValidCtxtPtr	 v;
	xmlDocPtr		 doc;
	xmlNodePtr		 parent = node->parent, n, copy, moved, ref;
	enum msg_probe_res	 res = MSG_PROBE_NONE;
	int			 idx = -1, nel = 0, k;

	if (parent == NULL || parent->type != XML_ELEMENT_NODE)
		return MSG_PROBE_NONE;
	for (n = xtree_first(parent); n != NULL; n = xtree_next(n)) {
		if (n == node)
			idx = nel;
		nel++;
	}
	if (idx == -1 || nel > MSG_UNEXP_SIBLINGS)
		return MSG_PROBE_NONE;
	if ((v = xmlSchemaNewValidCtxt(schema)) == NULL)
		return MSG_PROBE_NONE;
	xmlSchemaSetValidStructuredErrors(v, msg_quiet_cb, NULL);
	if ((doc = xmlNewDoc((const xmlChar *)"1.0")) == NULL) {
		xmlSchemaFreeValidCtxt(v);
		return MSG_PROBE_NONE;
	}
	/* k: the place among the other nel - 1 siblings (nel - 1: last),
	 * then nel: left out. */
	for (k = 0; k <= nel && res == MSG_PROBE_NONE; k++) {
		if (k == idx)
			continue;
		/* The copy declares the namespaces it uses from above. */
		if ((copy = xmlDocCopyNode(parent, doc, 1)) == NULL)
			break;
		xmlFreeNode(xmlDocSetRootElement(doc, copy));
		if ((moved = msg_nth_element(copy, idx)) == NULL)
			break;
		xmlUnlinkNode(moved);
		ref = k < nel - 1 ? msg_nth_element(copy, k) : NULL;
		if (k == nel)
			xmlFreeNode(moved);
		else if ((ref != NULL ? xmlAddPrevSibling(ref, moved) :
		    xmlAddChild(copy, moved)) == NULL) {
			xmlFreeNode(moved);
			break;
		}
		if (xmlSchemaValidateOneElement(v, copy) != 0)
			continue;
		if (k == nel)
			res = MSG_PROBE_REMOVE;
		else if (k < idx) {
			res = MSG_PROBE_BEFORE;
			*at = msg_nth_element(parent, k);
		} else {
			/* After the sibling now just before it. */
			res = MSG_PROBE_AFTER;
			*at = msg_nth_element(parent, k);
		}
	}
	xmlFreeDoc(doc);
	xmlSchemaFreeValidCtxt(v);
	return res;
}

/*
 * The unexpected-element diagnostics of this parse in words, the names
 * of the element, its parent and siblings as the sender wrote them. With
 * MSGPARSE_RAW, libxml2's message follows the sentence. probe 0: no
 * copies of the tree (a large message; the first MSG_UNEXP_PROBES
 * elements only in any case), the words come from the names alone.
 */
static void
msgparse_unexpected_fix(struct msg_pctx *pc, xmlSchemaPtr schema, int probe)
{
	struct msg_unexp	*u;
	struct msg_diag		*d;
	enum msg_probe_res	 res;
	xmlNodePtr		 n, at = NULL;
	char			 name[128], parent[128], prev[128];
	char			 later[MSG_UNEXP_NAMES], text[512], q[128];
	size_t			 o;
	int			 i;

	for (i = 0; i < pc->nunexp; i++) {
		u = &pc->unexp[i];
		d = &pc->diags->d[u->diag];
		msg_qname(u->node, name, sizeof name);
		parent[0] = prev[0] = later[0] = '\0';
		if (u->node->parent != NULL &&
		    u->node->parent->type == XML_ELEMENT_NODE)
			msg_qname(u->node->parent, parent, sizeof parent);
		if ((n = msg_prev_element(u->node)) != NULL)
			msg_qname(n, prev, sizeof prev);
		for (n = xtree_next(u->node); n != NULL; n = xtree_next(n)) {
			msg_qname(n, q, sizeof q);
			o = strlen(later);
			if (o + strlen(q) + 2 > sizeof later)
				break;
			snprintf(later + o, sizeof later - o, "%s%s",
			    o > 0 ? " " : "", q);
		}
		res = probe && i < MSG_UNEXP_PROBES ?
		    msg_probe(schema, u->node, &at) : MSG_PROBE_NONE;
		if (res == MSG_PROBE_BEFORE || res == MSG_PROBE_AFTER)
			msg_qname(at, q, sizeof q);
		if (res == MSG_PROBE_AFTER)
			snprintf(text, sizeof text, "%s must come before %s",
			    q, name);
		else if (res == MSG_PROBE_REMOVE)
			msgparse_unexpected_words(name, parent[0] ? parent :
			    "the document", NULL, NULL, NULL, NULL, text,
			    sizeof text);
		else
			msgparse_unexpected_words(name, parent[0] ? parent :
			    "the document", prev[0] ? prev : NULL, later,
			    u->expected, res == MSG_PROBE_BEFORE ? q : NULL,
			    text, sizeof text);
		if (pc->flags & MSGPARSE_RAW) {
			o = strlen(text);
			snprintf(text + o, sizeof text - o, " [libxml2: %s]",
			    d->text);
		}
		msg_cpy(d->text, sizeof d->text, text, strlen(text));
	}
	pc->nunexp = 0;
}

/* Move *p to end, counting lines and columns (characters) on the way. */
static void
msg_advance(const char **p, const char *end, int *line, int *col)
{
	const char	*q;

	for (q = *p; q < end; q++) {
		if (*q == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)*q & 0xc0) != 0x80)
			(*col)++;
	}
	*p = end;
}

/*
 * Columns of the diagnostics that have none: schema and rule errors,
 * libxml2 keeping only a node's line. That line is where the element's
 * start tag ends; its start tag is found there by name (the xpath's last
 * step) with xscan, and the diagnostic gets the line and column of its
 * '<'. Columns count characters, as libxml2's do. One pass over buf.
 */
static void
msg_diag_columns(const char *buf, size_t len, struct msg_diags *ds)
{
	struct xscan		 sc;
	struct xscan_tok	 t;
	const char		*p = buf, *local;
	int			 line = 1, col = 1, sline, scol, i, todo = 0;
	size_t			 n;

	for (i = 0; i < ds->n; i++)
		todo += ds->d[i].col == 0 && ds->d[i].line > 0 &&
		    ds->d[i].xpath[0] != '\0';
	if (todo == 0)
		return;
	xscan_init(&sc, buf, len);
	while (todo > 0 && xscan_next(&sc, &t) != XSCAN_EOF) {
		if (t.kind != XSCAN_START && t.kind != XSCAN_EMPTY)
			continue;
		/* line and col follow p: every byte is looked at once. */
		msg_advance(&p, t.p, &line, &col);
		sline = line;
		scol = col;
		msg_advance(&p, t.p + t.len, &line, &col);	/* its end */
		for (i = 0; i < ds->n; i++) {
			struct msg_diag *d = &ds->d[i];

			if (d->col != 0 || d->line != line ||
			    d->xpath[0] == '\0')
				continue;
			/* The xpath's last step: [prefix:]local[k]. */
			if ((local = strrchr(d->xpath, '/')) == NULL)
				continue;
			local++;
			if (strchr(local, ':') != NULL)
				local = strchr(local, ':') + 1;
			n = strcspn(local, "[");
			if (n != t.locallen || memcmp(local, t.local, n) != 0)
				continue;
			d->line = sline;
			d->col = scol;
			todo--;
		}
	}
}

/*
 * libxml2 error handlers. Warnings are ignored; errors become diags.
 */

static void
msgparse_parser_error_cb(void *arg, xmlErrorPtr e)
{
	xmlParserCtxtPtr	 ctxt = arg;
	struct msg_pctx		*pc = ctxt->_private;

	if (pc == NULL || e == NULL || e->level < XML_ERR_ERROR)
		return;
	pc->nparse++;
	msg_diag(pc, NULL, e->line, e->int2, MSG_ER_MALFORMED,
	    "malformed XML: %s", e->message != NULL ? e->message : "?");
}

/*
 * The ER number of a schema error at node, by where node is (see
 * msgparse.h): a destination .19., anything else in the header .01., a
 * birth date .05., the attention field .16., a body container with
 * nothing in it .03. (TXT missing), the rest .22.
 */
static int
msgparse_where(xmlNodePtr node)
{
	xmlNodePtr	 n;

	if (node == NULL || node->type != XML_ELEMENT_NODE)
		return MSG_ER_FORMAT;
	if (msg_is_body(node) && xtree_first(node) == NULL)
		return MSG_ER_MALFORMED;
	for (n = node; n != NULL && n->type == XML_ELEMENT_NODE; n = n->parent) {
		if (xtree_is(n, MP_NH2, "DestinationORIID"))
			return MSG_ER_DEST;
		if (xtree_is(n, MP_N2, "NLETSMessageHeader"))
			return MSG_ER_HEADER;
		if (xtree_is(n, MP_NC, "PersonBirthDate"))
			return MSG_ER_DOB;
		if (xtree_is(n, MP_N2, "ResponseAttentionDescriptionText"))
			return MSG_ER_ATN;
	}
	return MSG_ER_FORMAT;
}

/*
 * A birth date xs:date refuses is told in the switch's own words ("no
 * such day in that month") rather than libxml2's, when they say more.
 * @return 1 if the diagnostic was recorded here.
 */
static int
msgparse_dob_words(struct msg_pctx *pc, xmlNodePtr node, int line)
{
	const char	*why;
	char		 t[32];
	size_t		 n;

	if (!xtree_is(node, MP_NC, "Date") ||
	    !xtree_is(node->parent, MP_NC, "PersonBirthDate"))
		return 0;
	n = xtree_text(node, t, sizeof t);
	why = n >= 16 ? "not a YYYY-MM-DD date" : msg_dob_check(t);
	if (why == NULL)
		return 0;
	msg_diag(pc, node, line, 0, MSG_ER_DOB, "birth date \"%.16s\": %s", t,
	    why);
	return 1;
}

static void
msgparse_schema_error_cb(void *arg, xmlErrorPtr e)
{
	struct msg_pctx		*pc = arg;
	struct msg_unexp	*u;
	xmlNodePtr		 node;
	int			 n0;

	if (e == NULL || e->level < XML_ERR_ERROR)
		return;
	node = e->node;
	if (node != NULL && node->type == XML_ATTRIBUTE_NODE)
		node = node->parent;
	if (node != NULL)
		msg_flag(node);
	if (msgparse_dob_words(pc, node, e->line))
		return;
	n0 = pc->diags->n;
	msg_diag(pc, node, e->line, 0, msgparse_where(node), "%s",
	    e->message != NULL ? e->message : "schema error");
	/* Only a diagnostic recorded (not one beyond MSG_MAXDIAG). */
	if (node != NULL && e->message != NULL && pc->nunexp < MSG_MAXDIAG &&
	    pc->diags->n > n0 && strstr(e->message, MSG_UNEXP_TEXT) != NULL) {
		u = &pc->unexp[pc->nunexp++];
		u->node = node;
		u->diag = pc->diags->n - 1;
		msgparse_expected_names(e->message, u->expected,
		    sizeof u->expected);
	}
}

/*
 * Schema.
 */

/* Collects the first error while loading the schemas. */
struct msg_loaderr {
	char	 text[512];
};

static void
msgparse_load_error_cb(void *arg, xmlErrorPtr e)
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
 * Read MailMessageText's length facets from MSG_TEXT_XSD, so that
 * msg_check_text applies the schema's own limits to a cut text. The cut
 * stays off (s->text_cut 0) unless the file declares exactly one
 * MailMessageText, without type, fixed, default or nillable, as an anonymous
 * restriction of xs:string whose only facets are minLength and maxLength:
 * anything else (a pattern, an enumeration, a named type) is left for
 * libxml2 to check on the whole text.
 */
static void
msgparse_schema_text_facets(struct msgparse_schema *s, const char *dir)
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

size_t
msgparse_text_max(const struct msgparse_schema *s)
{
	return s != NULL && s->text_cut ? s->text_max : MSG_TEXT_MAX;
}

struct msgparse_schema *
msgparse_schema_load(const char *dir, char **cause)
{
	struct msgparse_schema	*s = NULL;
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
	xmlSchemaSetParserStructuredErrors(pctxt, msgparse_load_error_cb, &le);
	/* The XSD files' own XML parse reports through the global handler. */
	oldf = xmlStructuredError;
	oldc = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(&le, msgparse_load_error_cb);
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
	msgparse_schema_text_facets(s, dir);
	return s;
fail:
	if (pctxt != NULL)
		xmlSchemaFreeParserCtxt(pctxt);
	msgparse_schema_free(s);
	free(path);
	return NULL;
}

void
msgparse_schema_free(struct msgparse_schema *s)
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

int	msgparse_plain_simd = 1;

/* Length of the plain text of kind k at the start of s[0..n): up to the
 * first byte that is not plain (n if none). */
static size_t
msg_plain_run(const char *s, size_t n, enum msg_plain k)
{
#ifdef MSG_HAVE_AVX2
	if (msgparse_plain_simd && __builtin_cpu_supports("avx2"))
		return msg_plain_run_avx2(s, n, k);
#endif
	return msg_plain_from(s, 0, n, n, k);
}

/*
 * 1 if the element opened by t (bare: nothing after the name, no
 * attribute, no namespace declaration; any prefix) has character data
 * only, free of '<' and '&', and ends with its own end tag; *text gets
 * the text token (len 0 if empty).
 */
static int
msg_elide_el(struct xscan *sc, const struct xscan_tok *t,
    struct xscan_tok *text)
{
	struct xscan_tok	 e;

	if (t->kind != XSCAN_START || t->datalen != 0)
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
 *    be written <p:BinaryBase64Object>TEXT</p:BinaryBase64Object> (any
 *    prefix or none, no attribute) with TEXT free of '<' and '&';
 *  - when texts is set, the text of the one MailMessageText, written the
 *    same way, if it is MSG_ELIDE_MIN bytes or more of plain element text
 *    (MSG_PLAIN_TEXT); with a second one, none.
 * Elements are matched by local name: the checks afterwards make sure
 * each cut text was where they expected it (NIEM's BinaryBase64Object,
 * Nlets' MailMessageText), else the whole input is parsed.
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
 * text becomes "#k", the MailMessageText text "#0" and '#'s, ph characters. */
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


/* Append s to dst[dsz], cut if it does not fit. */
static void
msg_cat(char *dst, size_t dsz, const char *s)
{
	size_t	 n = strlen(dst);

	if (n + 1 < dsz)
		snprintf(dst + n, dsz - n, "%s", s);
}

/*
 * Checks.
 */

/* Header rules; fills key, ori, dest, ctl. */
/*
 * Nlets: a YQ goes to up to three 9-character ORIs (the agencies that
 * entered the record); a YR goes back to the one ORI that asked, which
 * is how the switch pairs it with its YQ (hitconf.h).
 */
static void
msg_check_hit_dests(struct msg_pctx *pc, xmlNodePtr hdr, struct msg *m,
    int nd)
{
	int	 i, max = m->key == MSG_KEY_YQ ? 3 : 1;

	if (nd > max) {
		msg_diag(pc, hdr, 0, 0, MSG_ER_DEST, "a %s goes to %s",
		    msg_key_name(m->key), m->key == MSG_KEY_YQ ? "up to three "
		    "9-character ORIs" : "the one ORI whose YQ it answers");
		return;
	}
	for (i = 0; i < m->ndest; i++)
		if (msg_dest_is_valid(m->dest[i]) &&
		    !msg_ori_is_valid(m->dest[i])) {
			msg_diag(pc, hdr, 0, 0, MSG_ER_DEST, "a %s is "
			    "addressed to 9-character ORIs, not to \"%s\"",
			    msg_key_name(m->key), m->dest[i]);
			return;
		}
}

static void
msg_check_header(struct msg_pctx *pc, xmlNodePtr hdr, struct msg *m)
{
	xmlNodePtr	 c, ori = NULL, key = NULL;
	char		 t[128];
	size_t		 n;
	int		 nd = 0;

	for (c = xtree_first(hdr); c != NULL; c = xtree_next(c)) {
		if (xtree_ns(c) != MP_NH2)
			continue;	/* the schema reported it */
		n = xtree_text(c, t, sizeof t);
		if (xtree_is(c, MP_NH2, "MessageKeyCodeText")) {
			key = c;
			m->key = n < sizeof t ? msg_key_lookup(t) : MSG_KEY_NONE;
			if (m->key == MSG_KEY_NONE && !msg_flagged(pc, c))
				msg_diag(pc, c, 0, 0, MSG_ER_HEADER,
				    "unknown message key \"%.20s\"", t);
		} else if (xtree_is(c, MP_NH2, "OriginatingORIID")) {
			ori = c;
			msg_cpy(m->ori, sizeof m->ori, t, strlen(t));
			if ((n >= sizeof t || !msg_ori_is_valid(t)) &&
			    !msg_flagged(pc, c))
				msg_diag(pc, c, 0, 0, MSG_ER_HEADER,
				    "originating ORI \"%.20s\" is not a "
				    "9-character ORI", t);
		} else if (xtree_is(c, MP_NH2, "DestinationORIID")) {
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
				    "or region code nor an ORI", t);
			else if (nd > MSG_MAXDEST)
				msg_diag(pc, c, 0, 0, MSG_ER_DEST,
				    "more than %d destinations", MSG_MAXDEST);
		} else if (xtree_is(c, MP_NH2, "DocumentControlFieldText")) {
			msg_cpy(m->ctl, sizeof m->ctl, t, strlen(t));
			if (!msg_flagged(pc, c) && (n >= sizeof t ||
			    !msg_ctl_is_valid(t)))
				msg_diag(pc, c, 0, 0, MSG_ER_HEADER,
				    "control field \"%.20s\" is not 1 to %d "
				    "printable characters other than '.'", t,
				    MSG_CTL_LEN);
		}
	}
	if (msg_flagged_within(pc, hdr))
		return;
	if (key == NULL)
		msg_diag(pc, hdr, 0, 0, MSG_ER_HEADER, "no MessageKeyCodeText");
	if (ori == NULL)
		msg_diag(pc, hdr, 0, 0, MSG_ER_HEADER, "no OriginatingORIID");
	if (nd == 0)
		msg_diag(pc, hdr, 0, 0, MSG_ER_DEST, "no DestinationORIID "
		    "(1 to %d)", MSG_MAXDEST);
	if (m->key == MSG_KEY_ER && ori != NULL && msg_ori_is_valid(m->ori) &&
	    strcmp(m->ori, MSG_SWITCH_ORI) != 0)
		msg_diag(pc, ori, 0, 0, MSG_ER_HEADER,
		    "only the switch (%s) sends ER messages", MSG_SWITCH_ORI);
	if (m->key == MSG_KEY_YQ || m->key == MSG_KEY_YR)
		msg_check_hit_dests(pc, hdr, m, nd);
}

/* Check a birth date element (nc:PersonBirthDate). */
static void
msg_check_dob(struct msg_pctx *pc, xmlNodePtr bd, char *dob, size_t dsz)
{
	xmlNodePtr	 d = xtree_child(bd, MP_NC, "Date");
	const char	*why;
	char		 t[32];
	size_t		 n;

	if (d == NULL || msg_flagged_within(pc, bd))
		return;		/* the schema said so */
	n = xtree_text(d, t, sizeof t);
	why = n >= 16 ? "not a YYYY-MM-DD date" : msg_dob_check(t);
	if (why != NULL)
		msg_diag(pc, d, 0, 0, MSG_ER_DOB, "birth date \"%.16s\": %s",
		    t, why);
	if (dob != NULL)
		msg_cpy(dob, dsz, t, strlen(t));
}

/* NAM/ style "LAST,FIRST MIDDLE SUFFIX" (nc:PersonFullName) into p's
 * empty name parts. */
static void
msg_full_name(const char *full, struct msg_person *p)
{
	char		 buf[128], *given, *rest;
	const char	*comma = strchr(full, ',');
	size_t		 n;

	if (comma == NULL)
		return;
	if (p->surname[0] == '\0')
		msg_cpy(p->surname, sizeof p->surname, full,
		    (size_t)(comma - full));
	msg_cpy(buf, sizeof buf, comma + 1, strlen(comma + 1));
	given = buf + strspn(buf, " ");
	if ((rest = strchr(given, ' ')) != NULL)
		*rest++ = '\0';
	if (p->given[0] == '\0')
		msg_cpy(p->given, sizeof p->given, given, strlen(given));
	if (rest != NULL && p->middle[0] == '\0') {
		rest += strspn(rest, " ");
		n = strcspn(rest, " ");
		msg_cpy(p->middle, sizeof p->middle, rest, n);
	}
}

/* nc:PersonName into p. */
static void
msg_get_name(xmlNodePtr pn, struct msg_person *p)
{
	xmlNodePtr	 g;
	char		 t[128];

	for (g = xtree_first(pn); g != NULL; g = xtree_next(g)) {
		xtree_text(g, t, sizeof t);
		if (xtree_is(g, MP_NC, "PersonGivenName") && !p->given[0])
			msg_cpy(p->given, sizeof p->given, t, strlen(t));
		else if (xtree_is(g, MP_NC, "PersonMiddleName") &&
		    !p->middle[0])
			msg_cpy(p->middle, sizeof p->middle, t, strlen(t));
		else if (xtree_is(g, MP_NC, "PersonSurName"))
			msg_cpy(p->surname, sizeof p->surname, t, strlen(t));
		else if (xtree_is(g, MP_NC, "PersonNameSuffixText"))
			msg_cpy(p->suffix, sizeof p->suffix, t, strlen(t));
		else if (xtree_is(g, MP_NC, "PersonFullName"))
			msg_full_name(t, p);
	}
}

/*
 * The person fields of el (n2:Person or n2c:Driver) into p when fill is
 * set; every birth date is checked either way.
 */
static void
msg_get_person(struct msg_pctx *pc, xmlNodePtr el, struct msg_person *p,
    int fill)
{
	xmlNodePtr	 c, id;
	char		 t[128];

	for (c = xtree_first(el); c != NULL; c = xtree_next(c)) {
		if (xtree_is(c, MP_NC, "PersonBirthDate")) {
			msg_check_dob(pc, c, fill ? p->dob : NULL,
			    sizeof p->dob);
			continue;
		}
		if (!fill)
			continue;
		if (xtree_is(c, MP_NC, "PersonName"))
			msg_get_name(c, p);
		else if (xtree_is(c, MP_NC, "PersonSexCode")) {
			xtree_text(c, t, sizeof t);
			msg_cpy(p->sex, sizeof p->sex, t, strlen(t));
		} else if (xtree_is(c, MP_J, "PersonAugmentation") &&
		    (id = xtree_path(c, MP_NC, "DriverLicense", MP_NC,
		    "DriverLicenseIdentification", MSG_NS_OTHER)) != NULL) {
			xtree_text(xtree_child(id, MP_NC, "IdentificationID"),
			    t, sizeof t);
			msg_cpy(p->oln, sizeof p->oln, t, strlen(t));
			xtree_text(xtree_child(id, MP_NC,
			    "IdentificationJurisdictionText"), t, sizeof t);
			msg_cpy(p->olstate, sizeof p->olstate, t, strlen(t));
		}
	}
}

/* psp:PhotoPurpose: the fields the photo-sharing policy decides on. */
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
	for (c = xtree_first(el); c != NULL; c = xtree_next(c)) {
		if (xtree_ns(c) != MP_PSP)
			continue;
		xtree_text(c, t, sizeof t);
		if (xtree_is(c, MP_PSP, "SubjectSuspectIndicator")) {
			pp->suspect = strcmp(t, "true") == 0 ||
			    strcmp(t, "1") == 0;
			continue;
		}
		for (i = 0; i < sizeof fields / sizeof fields[0]; i++)
			if (strcmp((const char *)c->name, fields[i].name) == 0)
				msg_cpy((char *)pp + fields[i].off,
				    fields[i].size, t, strlen(t));
	}
}

/* Characters (not bytes) of the UTF-8 string s. */
static size_t
msg_chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* What a query by this key still needs; "" when nothing. */
static void
msg_query_missing(const struct msg *m, char *miss, size_t msz)
{
	const struct msg_person	*p = &m->person;

	miss[0] = '\0';
	/* A license number is a DQ's or KQ's other way; never a DQG's. */
	if (m->key != MSG_KEY_DNQ && m->key != MSG_KEY_DQG &&
	    p->oln[0] != '\0')
		return;
	if (p->surname[0] == '\0')
		msg_cat(miss, msz, " PersonSurName");
	if (p->given[0] == '\0')
		msg_cat(miss, msz, " PersonGivenName");
	if (m->key != MSG_KEY_DNQ && p->sex[0] == '\0')
		msg_cat(miss, msz, " PersonSexCode");
}

/*
 * What a DQG may not carry (Nlets: only NAM/DOB queries, OLN "not valid
 * for DQG", IMQ "for DQ only"), each refused at its element with ER .22.
 * and what to send instead; photo purposes go with the photo request.
 */
static void
msg_check_dqg(struct msg_pctx *pc, xmlNodePtr person, xmlNodePtr imq,
    xmlNodePtr purpose)
{
	xmlNodePtr	 aug = NULL;

	if (person != NULL)
		aug = xtree_child(person, MP_J, "PersonAugmentation");
	if (aug != NULL && !msg_flagged_within(pc, aug))
		msg_diag(pc, aug, 0, 0, MSG_ER_FORMAT, "the driver license "
		    "(OLN/ OLS/, nc:DriverLicense) is not valid for a DQG: %s",
		    MSG_DQG_HOWTO);
	if (imq != NULL && !msg_flagged(pc, imq))
		msg_diag(pc, imq, 0, 0, MSG_ER_FORMAT, "n2:ImageRequestIndicator "
		    "is for a DQ only, not for a DQG: %s", MSG_DQG_HOWTO);
	if (purpose != NULL && !msg_flagged_within(pc, purpose))
		msg_diag(pc, purpose, 0, 0, MSG_ER_FORMAT, "psp:PhotoPurpose "
		    "goes with a photo request, which a DQG cannot make: %s",
		    MSG_DQG_HOWTO);
}

/* The fields of an n2:QueryRequestActivity (YQ, YR). */
static void
msg_get_hit(xmlNodePtr act, struct msg_hit *h)
{
	static const struct {
		const char	*name;
		size_t		 off, sz;
	} f[] = {
#define MH(n, fld) { n, offsetof(struct msg_hit, fld), \
		    sizeof ((struct msg_hit *)0)->fld }
		MH("QueryRequestTypeCode", rty),
		MH("QueryRequestPriorityCode", pri),
		MH("CaseNumberText", oca),
		MH("NCICNumberText", nic),
		MH("LicensePlateNumberText", lic),
		MH("LicensePlateStateCode", lis),
		MH("VehicleIdentificationNumberText", vin),
		MH("ItemSerialNumberText", ser),
#undef MH
	};
	xmlNodePtr	 c;
	char		 t[64];
	size_t		 i;

	h->present = 1;
	for (c = xtree_first(act); c != NULL; c = xtree_next(c)) {
		xtree_text(c, t, sizeof t);
		if (xtree_is(c, MP_N2, "QueryRequestSequenceNumber")) {
			h->rno = strlen(t) == 1 && t[0] >= '1' && t[0] <= '3' ?
			    t[0] - '0' : 0;
			continue;
		}
		for (i = 0; i < sizeof f / sizeof f[0]; i++)
			if (xtree_is(c, MP_N2, f[i].name))
				msg_cpy((char *)h + f[i].off, f[i].sz, t,
				    strlen(t));
	}
}

/*
 * A YQ: the request fields (ER .14. when one is missing), the data set
 * its request type names and no other (.14. / .22.), no photo request.
 */
static void
msg_check_yq(struct msg_pctx *pc, xmlNodePtr body, xmlNodePtr act,
    xmlNodePtr person, xmlNodePtr photo, struct msg *m)
{
	const struct msg_hit	*h = &m->hit;
	char			 miss[160];
	int			 set;

	if (photo != NULL && !msg_flagged(pc, photo))
		msg_diag(pc, photo, 0, 0, MSG_ER_FORMAT, "a hit confirmation "
		    "request (YQ) asks for no photo");
	if (msg_flagged_within(pc, body))
		return;
	if (act == NULL) {
		msg_diag(pc, body, 0, 0, MSG_ER_REQUIRED, "a YQ needs "
		    "n2:QueryRequestActivity (RTY, RNO, PRI, OCA, NIC)");
		return;
	}
	miss[0] = '\0';
	if (h->rty[0] == '\0')
		msg_cat(miss, sizeof miss, " QueryRequestTypeCode");
	if (h->rno == 0)
		msg_cat(miss, sizeof miss, " QueryRequestSequenceNumber");
	if (h->pri[0] == '\0')
		msg_cat(miss, sizeof miss, " QueryRequestPriorityCode");
	if (h->oca[0] == '\0')
		msg_cat(miss, sizeof miss, " CaseNumberText");
	if (h->nic[0] == '\0')
		msg_cat(miss, sizeof miss, " NCICNumberText");
	if (miss[0] != '\0') {
		msg_diag(pc, act, 0, 0, MSG_ER_REQUIRED, "a YQ needs the "
		    "request type, number, priority, case number and NCIC "
		    "number; missing:%s", miss);
		return;
	}
	set = msg_hit_set(h->rty);
	if ((set != 'P' && person != NULL) || (set != 'V' && (h->lic[0] ||
	    h->lis[0] || h->vin[0])) || (set != 'S' && h->ser[0])) {
		msg_diag(pc, act, 0, 0, MSG_ER_FORMAT, "a YQ of request type "
		    "%s carries only the %s", h->rty, set == 'P' ? "person "
		    "(n2:Person)" : set == 'V' ? "plate and its state, or "
		    "the VIN" : "serial number");
		return;
	}
	if (set == 'P' && (m->person.surname[0] == '\0' ||
	    m->person.dob[0] == '\0'))
		msg_diag(pc, person != NULL ? person : act, 0, 0,
		    MSG_ER_REQUIRED, "a YQ of request type %s needs n2:Person "
		    "with nc:PersonName and nc:PersonBirthDate", h->rty);
	else if (set == 'V' && h->vin[0] == '\0' && (h->lic[0] == '\0' ||
	    h->lis[0] == '\0'))
		msg_diag(pc, act, 0, 0, MSG_ER_REQUIRED, "a YQ of request type "
		    "%s needs LicensePlateNumberText with "
		    "LicensePlateStateCode, or VehicleIdentificationNumberText",
		    h->rty);
	else if (set == 'S' && h->ser[0] == '\0')
		msg_diag(pc, act, 0, 0, MSG_ER_REQUIRED, "a YQ of request type "
		    "%s needs ItemSerialNumberText", h->rty);
}

/* A YR: the request it answers (RTY RNO OCA NIC) and its status. */
static void
msg_check_yr(struct msg_pctx *pc, xmlNodePtr body, xmlNodePtr act,
    struct msg *m)
{
	const struct msg_hit	*h = &m->hit;
	char			 miss[160];

	if (msg_flagged_within(pc, body))
		return;
	miss[0] = '\0';
	if (act == NULL)
		msg_cat(miss, sizeof miss, " QueryRequestActivity");
	else {
		if (h->rty[0] == '\0')
			msg_cat(miss, sizeof miss, " QueryRequestTypeCode");
		if (h->rno == 0)
			msg_cat(miss, sizeof miss,
			    " QueryRequestSequenceNumber");
		if (h->oca[0] == '\0')
			msg_cat(miss, sizeof miss, " CaseNumberText");
		if (h->nic[0] == '\0')
			msg_cat(miss, sizeof miss, " NCICNumberText");
	}
	if (h->con[0] == '\0')
		msg_cat(miss, sizeof miss, " HitConfirmationStatusCode");
	if (miss[0] != '\0')
		msg_diag(pc, act != NULL ? act : body, 0, 0, MSG_ER_REQUIRED,
		    "a YR names the request it answers (type, number, case "
		    "and NCIC number) and its status; missing:%s", miss);
}

/* DQ, KQ, DNQ, DQG, YQ bodies (n2:NLETSInquiryData). */
static void
msg_check_query(struct msg_pctx *pc, xmlNodePtr body, struct msg *m)
{
	xmlNodePtr	 c, person = NULL, imq = NULL, purpose = NULL;
	xmlNodePtr	 act = NULL;
	char		 t[256], miss[128];
	size_t		 n;

	for (c = xtree_first(body); c != NULL; c = xtree_next(c)) {
		n = xtree_text(c, t, sizeof t);
		if (xtree_is(c, MP_N2, "Person") ||
		    xtree_is(c, MP_N2C, "Driver")) {
			if (person == NULL)
				person = c;
		} else if (xtree_is(c, MP_N2, "ImageRequestIndicator")) {
			imq = c;
			m->imq = strcmp(t, "true") == 0 || strcmp(t, "1") == 0;
		} else if (xtree_is(c, MP_N2, "ReasonCode"))
			msg_cpy(m->rsn, sizeof m->rsn, t, strlen(t));
		else if (xtree_is(c, MP_N2, "PurposeCode"))
			msg_cpy(m->pur, sizeof m->pur, t, strlen(t));
		else if (xtree_is(c, MP_N2,
		    "ResponseAttentionDescriptionText")) {
			msg_cpy(m->atn, sizeof m->atn, t, strlen(t));
			/* Characters of the trimmed text (t is not cut). */
			if (n < sizeof t)
				n = msg_chars(t);
			if (n > MSG_ATN_LEN && !msg_flagged(pc, c))
				msg_diag(pc, c, 0, 0, MSG_ER_ATN, "the "
				    "attention field has %zu characters, %d at "
				    "most", n, MSG_ATN_LEN);
		} else if (xtree_is(c, MP_PSP, "PhotoPurpose")) {
			purpose = c;
			msg_get_purpose(c, &m->purpose);
		} else if (xtree_is(c, MP_N2, "QueryRequestActivity")) {
			act = c;
			msg_get_hit(c, &m->hit);
		}
	}
	if (person != NULL)
		msg_get_person(pc, person, &m->person, 1);
	if (m->key == MSG_KEY_YQ) {
		msg_check_yq(pc, body, act, person, imq != NULL ? imq :
		    purpose, m);
		return;
	}
	if (act != NULL && m->key != MSG_KEY_NONE && !msg_flagged(pc, act))
		msg_diag(pc, act, 0, 0, MSG_ER_FORMAT, "n2:QueryRequestActivity "
		    "is for a hit confirmation request (YQ), not a %s",
		    msg_key_name(m->key));
	if (m->key == MSG_KEY_DQG)
		msg_check_dqg(pc, person, imq, purpose);
	if (msg_flagged_within(pc, body))
		return;
	msg_query_missing(m, miss, sizeof miss);
	if (m->key == MSG_KEY_DNQ) {
		if (miss[0] != '\0')
			msg_diag(pc, person != NULL ? person : body, 0, 0,
			    MSG_ER_REQUIRED, "a name query needs surname and "
			    "given name; missing:%s", miss);
	} else if (miss[0] != '\0' && m->key == MSG_KEY_DQG)
		msg_diag(pc, person != NULL ? person : body, 0, 0,
		    MSG_ER_REQUIRED, "a DQG needs nc:PersonName (surname and "
		    "given name) with nc:PersonBirthDate and nc:PersonSexCode; "
		    "missing:%s%s", miss, m->person.dob[0] == '\0' ?
		    " PersonBirthDate" : "");
	else if (miss[0] != '\0')
		msg_diag(pc, person != NULL ? person : body, 0, 0,
		    MSG_ER_REQUIRED, "a %s needs the license number "
		    "(nc:DriverLicenseIdentification/nc:IdentificationID), or "
		    "nc:PersonName (surname and given name) with "
		    "nc:PersonBirthDate and nc:PersonSexCode; missing:%s%s",
		    msg_key_name(m->key), miss, m->person.dob[0] == '\0' ?
		    " PersonBirthDate" : "");
	else if ((m->person.oln[0] == '\0' || m->key == MSG_KEY_DQG) &&
	    m->person.dob[0] == '\0')
		msg_diag(pc, person, 0, 0, MSG_ER_DOB, "a %s by name needs "
		    "nc:PersonBirthDate", msg_key_name(m->key));
}

/*
 * The base64 text of the binary object b64, *n bytes: the input's own
 * bytes when the pre-pass cut it (counted as resolved), else the tree's
 * (*content, which the caller frees, when it had to be copied).
 * @return the text, or NULL when a cut text cannot be found.
 */
static const char *
msg_b64_text(struct msg_pctx *pc, xmlNodePtr b64, xmlChar **content,
    size_t *n)
{
	xmlNodePtr	 c;
	const char	*p;
	char		*ep;
	unsigned long	 k;

	*content = NULL;
	c = b64->children;
	if (c != NULL && c->next == NULL && c->type == XML_TEXT_NODE &&
	    c->content != NULL)
		p = (const char *)c->content;	/* the usual case: no copy */
	else {
		if ((*content = xmlNodeGetContent(b64)) == NULL)
			*content = xmlStrdup((const xmlChar *)"");
		p = (const char *)*content;
	}
	*n = p != NULL ? strlen(p) : 0;
	if (pc->nphoto > 0) {
		/* Every photo text was cut: p is the "#k" put in its place. */
		errno = 0;
		k = p != NULL && p[0] == '#' ? strtoul(p + 1, &ep, 10) : 0;
		if (p != NULL && p[0] == '#' && errno == 0 && *ep == '\0' &&
		    k < (unsigned long)pc->nphoto) {
			p = pc->raw + pc->photo[k].off;
			*n = pc->photo[k].len;
			pc->photo_seen++;
		} else
			p = NULL;	/* cannot be: reported, then reparsed */
	}
	return p;
}

/*
 * Every binary object inside a standardized Amber Alert (content the
 * switch carries unchecked, of other NIEM versions): each is a picture
 * for the photo policy, whatever its namespace (fail closed: the switch
 * cannot see what a binary shows). Counted, not checked.
 */
static void
msg_count_binaries(struct msg_pctx *pc, xmlNodePtr el, struct msg *m)
{
	xmlNodePtr	 c;
	xmlChar		*content;
	const char	*p;
	size_t		 n;
	long		 dec;

	for (c = xtree_first(el); c != NULL; c = xtree_next(c)) {
		if (strcmp((const char *)c->name, "BinaryBase64Object") != 0) {
			msg_count_binaries(pc, c, m);
			continue;
		}
		p = msg_b64_text(pc, c, &content, &n);
		dec = p != NULL ? util_b64_check(p, n) : -1;
		if (!m->has_photo) {
			m->has_photo = 1;
			m->photo_len = dec > 0 ? (size_t)dec : 0;
		}
		m->nphotos++;
		if (content != NULL)
			xmlFree(content);
	}
}

/*
 * One photo (nc:PersonDigitalImage or nc:Image): base64 valid, size as
 * stated (kilobytes, within 1 KB), psp:DoNotRetainIndicator after it.
 */
static void
msg_check_photo(struct msg_pctx *pc, xmlNodePtr img, struct msg *m)
{
	xmlNodePtr	 b64, szn, c;
	xmlChar		*content = NULL;
	const char	*p;
	char		 t[32], *ep;
	size_t		 n;
	long		 dec;
	double		 kb;

	if ((b64 = xtree_child(img, MP_NC, "BinaryBase64Object")) == NULL)
		return;
	p = msg_b64_text(pc, b64, &content, &n);
	dec = p != NULL ? util_b64_check(p, n) : -1;
	if (dec < 0 && !msg_flagged(pc, b64))
		msg_diag(pc, b64, 0, 0, MSG_ER_FORMAT,
		    "BinaryBase64Object is not valid base64");
	if (dec >= 0 && (szn = xtree_child(img, MP_NC, "BinarySizeValue")) !=
	    NULL && !msg_flagged(pc, szn) &&
	    xtree_text(szn, t, sizeof t) < sizeof t) {
		errno = 0;
		kb = strtod(t, &ep);
		if (errno != 0 || *ep != '\0' || kb * 1024.0 - dec >= 1024.0 ||
		    dec - kb * 1024.0 >= 1024.0)
			msg_diag(pc, szn, 0, 0, MSG_ER_FORMAT,
			    "BinarySizeValue %.20s KB is not the %.2f KB the "
			    "image decodes to", t, dec / 1024.0);
	}
	if (!m->has_photo) {
		m->has_photo = 1;
		m->photo_len = dec > 0 ? (size_t)dec : 0;
	}
	m->nphotos++;
	if ((c = xtree_next(img)) != NULL &&
	    xtree_is(c, MP_PSP, "DoNotRetainIndicator") &&
	    xtree_text(c, t, sizeof t) < sizeof t &&
	    (strcmp(t, "true") == 0 || strcmp(t, "1") == 0))
		m->nphotos_noretain++;
	if (content != NULL)
		xmlFree(content);
}

/*
 * MailMessageText: when its text was cut (pc->text), the length facets
 * the schema gives it, applied to the input bytes (plain text: one byte,
 * one character). Out of range is reported here and then again by
 * libxml2 on the whole input; so is a cut text not found here.
 */
static void
msg_check_text(struct msg_pctx *pc, xmlNodePtr el)
{
	xmlNodePtr	c = el->children;

	if (pc->text == NULL || c == NULL || c->next != NULL ||
	    c->type != XML_TEXT_NODE || c->content == NULL ||
	    strncmp((const char *)c->content, "#0", 2) != 0 ||
	    strlen((const char *)c->content) != pc->schema->text_ph)
		return;
	pc->text_seen = 1;
	if (pc->text->len < pc->schema->text_min ||
	    pc->text->len > pc->schema->text_max)
		msg_diag(pc, el, 0, 0, MSG_ER_FORMAT, "MailMessageText has %zu "
		    "characters, not %zu to %zu", pc->text->len,
		    pc->schema->text_min, pc->schema->text_max);
}

/* 1 if the driver record el names its license number (not blank). */
static int
msg_has_oln(xmlNodePtr el)
{
	xmlNodePtr	 id;
	char		 t[8];

	id = xtree_path(el, MP_J, "PersonAugmentation", MP_NC, "DriverLicense",
	    MP_NC, "DriverLicenseIdentification", MP_NC, "IdentificationID",
	    MSG_NS_OTHER);
	xtree_text(id, t, sizeof t);
	return t[0] != '\0';
}

/* DR, KR, DNR and ER bodies (n2:NLETSResponseData). */
static void
msg_check_response(struct msg_pctx *pc, xmlNodePtr body, struct msg *m)
{
	xmlNodePtr	 c, img, act = NULL, con = NULL;
	char		 t[64];

	for (c = xtree_first(body); c != NULL; c = xtree_next(c)) {
		if (xtree_is(c, MP_N2, "QueryRequestActivity")) {
			act = c;
			msg_get_hit(c, &m->hit);
		} else if (xtree_is(c, MP_N2, "HitConfirmationStatusCode")) {
			con = c;
			xtree_text(c, t, sizeof t);
			msg_cpy(m->hit.con, sizeof m->hit.con, t, strlen(t));
		} else if (xtree_is(c, MP_N2, "ResponseText")) {
			xtree_text(c, t, sizeof t);
			if (strncmp(t, "NOT ON FILE", 11) == 0)
				m->not_on_file = 1;
			if (m->key == MSG_KEY_ER)
				m->status = msg_text_number(t);
		} else if (xtree_is(c, MP_N2C, "Driver")) {
			msg_get_person(pc, c, &m->person, m->nrecords == 0);
			m->nrecords++;
			/* A record is the license it describes (ER .14.). */
			if (msg_key_is_response(m->key) && !msg_has_oln(c) &&
			    !msg_flagged_within(pc, c))
				msg_diag(pc, c, 0, 0, MSG_ER_REQUIRED, "a "
				    "driver record needs its license number "
				    "(j:PersonAugmentation/nc:DriverLicense/"
				    "nc:DriverLicenseIdentification/"
				    "nc:IdentificationID)");
			if ((img = xtree_child(c, MP_NC,
			    "PersonDigitalImage")) != NULL)
				msg_check_photo(pc, img, m);
		} else if (xtree_is(c, MP_NC, "PersonDigitalImage"))
			msg_check_photo(pc, c, m);
	}
	if (m->key == MSG_KEY_YR) {
		msg_check_yr(pc, body, act, m);
		return;
	}
	c = act != NULL ? act : con;
	if (c != NULL && m->key != MSG_KEY_NONE && !msg_flagged(pc, c))
		msg_diag(pc, c, 0, 0, MSG_ER_FORMAT, "n2:%s is for a hit "
		    "confirmation response (YR), not a%s %s", (const char *)
		    c->name, m->key == MSG_KEY_ER ? "n" : "",
		    msg_key_name(m->key));
	if (m->key == MSG_KEY_ER && m->status <= 0 &&
	    !msg_flagged_within(pc, body))
		msg_diag(pc, body, 0, 0, MSG_ER_FORMAT, "an ER's ResponseText "
		    "starts with its number (.NN.)");
}

/* AM, AML, AA, SM bodies (n2:NLETSMailData). */
static void
msg_check_mail(struct msg_pctx *pc, xmlNodePtr body, struct msg *m)
{
	xmlNodePtr	 c;
	xmlChar		*key;
	char		 t[16];

	key = xmlGetNsProp(body, (const xmlChar *)"key",
	    (const xmlChar *)MSG_NS_N2);
	if (key != NULL && m->key != MSG_KEY_NONE &&
	    strcmp((const char *)key, msg_key_name(m->key)) != 0 &&
	    !msg_flagged(pc, body))
		msg_diag(pc, body, 0, 0, MSG_ER_FORMAT, "n2:key \"%.8s\" is "
		    "not the message key %s", (const char *)key,
		    msg_key_name(m->key));
	xmlFree(key);
	for (c = xtree_first(body); c != NULL; c = xtree_next(c)) {
		if (xtree_is(c, MP_N2, "StatusMessageText")) {
			xtree_text(c, t, sizeof t);
			if ((m->status = msg_text_number(t)) < 0)
				m->status = 0;
		} else if (xtree_is(c, MP_N2, "MailMessageText"))
			msg_check_text(pc, c);
		else if (xtree_is(c, MP_NC, "PersonDigitalImage") ||
		    xtree_is(c, MP_NC, "Image"))
			msg_check_photo(pc, c, m);
		else if (xtree_is(c, MP_AA, "AmberAlert"))
			msg_count_binaries(pc, c, m);
		else if (xtree_is(c, MP_PSP, "PhotoPurpose"))
			msg_get_purpose(c, &m->purpose);
	}
	if (msg_flagged_within(pc, body) || m->key == MSG_KEY_NONE)
		return;
	c = xtree_first(body);
	if (m->key == MSG_KEY_SM && !xtree_is(c, MP_N2, "StatusMessageText"))
		msg_diag(pc, c, 0, 0, MSG_ER_FORMAT, "an SM carries "
		    "n2:StatusMessageText");
	else if (m->key != MSG_KEY_SM && xtree_is(c, MP_N2,
	    "StatusMessageText"))
		msg_diag(pc, c, 0, 0, MSG_ER_FORMAT, "n2:StatusMessageText is "
		    "for SM, an %s carries n2:MailMessageText",
		    msg_key_name(m->key));
	else if (m->key != MSG_KEY_AA && (xtree_is(c, MP_AA, "AmberAlert") ||
	    xtree_is(c, MP_N2, "AmberAlertCategoryText")))
		msg_diag(pc, c, 0, 0, MSG_ER_FORMAT, "Amber Alert content in "
		    "an %s", msg_key_name(m->key));
}

/* Header and field rules over the whole (possibly schema-invalid) tree. */
static void
msg_check(struct msg_pctx *pc, xmlNodePtr root, struct msg *m)
{
	xmlNodePtr	 c, hdr = NULL, body = NULL;
	enum msg_body	 want;
	int		 kind = MSG_BODY_NONE;

	for (c = xtree_first(root); c != NULL; c = xtree_next(c)) {
		if (hdr == NULL && xtree_is(c, MP_N2, "NLETSMessageHeader"))
			hdr = c;
		else if (body == NULL && (kind = msg_is_body(c)) !=
		    MSG_BODY_NONE)
			body = c;
	}
	if (hdr != NULL)
		msg_check_header(pc, hdr, m);
	else if (!msg_flagged_within(pc, root))
		msg_diag(pc, root, 0, 0, MSG_ER_HEADER, "no "
		    "n2:NLETSMessageHeader");
	if (body == NULL) {
		if (!msg_flagged_within(pc, root))
			msg_diag(pc, root, 0, 0, MSG_ER_MALFORMED, "TXT missing: "
			    "no n2:NLETSInquiryData, n2:NLETSResponseData or "
			    "n2:NLETSMailData");
		return;
	}
	if (xtree_first(body) == NULL) {
		if (!msg_flagged(pc, body))
			msg_diag(pc, body, 0, 0, MSG_ER_MALFORMED, "TXT missing: "
			    "the body is empty");
		return;
	}
	want = msg_key_body(m->key);
	if (want != MSG_BODY_NONE && (int)want != kind)
		msg_diag(pc, body, 0, 0, MSG_ER_FORMAT, "message key %s "
		    "travels in n2:%s, not n2:%s", msg_key_name(m->key),
		    msg_body_name(want), (const char *)body->name);
	/* Check the body for what it is, so that every error shows. */
	if (kind == MSG_BODY_INQUIRY)
		msg_check_query(pc, body, m);
	else if (kind == MSG_BODY_RESPONSE)
		msg_check_response(pc, body, m);
	else
		msg_check_mail(pc, body, m);
}

/* The root must be the Nlets envelope; the old dialect gets told which. */
static int
msg_check_root(struct msg_pctx *pc, xmlNodePtr root)
{
	if (xtree_is(root, MP_N2, "NLETS"))
		return 0;
	if (root->ns == NULL || root->ns->href == NULL)
		msg_diag(pc, root, 0, 0, MSG_ER_MALFORMED, "the root element "
		    "%s has no namespace: a message is n2:NLETS in namespace "
		    "%s", (const char *)root->name, MSG_NS_N2);
	else
		msg_diag(pc, root, 0, 0, MSG_ER_MALFORMED, "the root element "
		    "is %s in namespace %.100s: a message is n2:NLETS in "
		    "namespace %s", (const char *)root->name,
		    (const char *)root->ns->href, MSG_NS_N2);
	return -1;
}

/*
 * Parse and check xbuf, which is buf itself or buf with spans cut
 * (pc->nphoto photo texts among them). m->raw and the header offsets are
 * always about buf.
 */
static void
msg_parse_doc(struct msgparse_schema *s, struct msg_pctx *pc,
    const char *xbuf, size_t xlen, const char *buf, size_t len, struct msg *m)
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
				fatalx("msgparse: xmlNewParserCtxt: out of "
				    "memory");
			s->puses = 0;
		}
		s->puses++;
		ctxt = s->pctxt;
		vctxt = s->vctxt;
	} else {
		if ((ctxt = xmlNewParserCtxt()) == NULL)
			fatalx("msgparse: xmlNewParserCtxt: out of memory");
		if ((vctxt = xmlSchemaNewValidCtxt(s->schema)) == NULL)
			fatalx("msgparse: xmlSchemaNewValidCtxt: out of "
			    "memory");
		own = 1;
	}
	ctxt->_private = pc;
	ctxt->sax->serror = msgparse_parser_error_cb;
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
	if (msg_check_root(pc, root) == -1)
		goto out;
	if ((deep = msg_too_deep(root)) != NULL) {
		msg_diag(pc, deep, 0, 0, MSG_ER_FORMAT, "elements nested "
		    "deeper than %d", MSG_MAX_DEPTH);
		goto out;
	}

	xmlSchemaSetValidStructuredErrors(vctxt, msgparse_schema_error_cb, pc);
	if (xmlSchemaValidateDoc(vctxt, doc) < 0 && pc->diags->n == 0)
		msg_diag(pc, root, 0, 0, MSG_ER_FORMAT,
		    "schema validation failed (internal error)");
	xmlSchemaSetValidStructuredErrors(vctxt, NULL, NULL);
	msgparse_unexpected_fix(pc, s->schema, len <= MSG_UNEXP_PROBE_MAX);

	msg_check(pc, root, m);
	if (pc->diags->n == 0 && ((pc->text != NULL && !pc->text_seen) ||
	    pc->photo_seen != pc->nphoto))
		msg_diag(pc, root, 0, 0, MSG_ER_FORMAT, "a cut text is not "
		    "where it was expected");
	if (msg_hdr_span(buf, len, 0, &m->stamp_off, &m->hdr_end) == -1) {
		m->stamp_off = m->hdr_end = 0;
		if (pc->diags->n == 0)
			msg_diag(pc, root, 0, 0, MSG_ER_HEADER,
			    "no n2:NLETSMessageHeader end tag");
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
msgparse_message(struct msgparse_schema *s, const char *buf, size_t len,
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

	if ((flags & MSGPARSE_WHOLE) == 0 && (nsp = msg_elide_scan(buf, len,
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
		pc.nparse = pc.nphoto = pc.photo_seen = 0;
		pc.text_seen = 0;
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
	msg_diag_columns(buf, len, pc.diags);
	msg_diag_sort(pc.diags);
	return pc.diags->d[0].code;
}
