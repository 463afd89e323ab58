/*
 * msg - the message model's tables and rules (see msg.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.h"
#include "xscan.h"

/* What the switch knows of each key. */
struct msg_keyinfo {
	const char	*name;
	enum msg_body	 body;
	/* ER .22.: the field combinations the key accepts. */
	const char	*options;
};

static const struct msg_keyinfo msg_keys[MSG_KEY_MAX] = {
	[MSG_KEY_NONE] = { NULL, MSG_BODY_NONE, NULL },
	[MSG_KEY_DQ] = { "DQ", MSG_BODY_INQUIRY,
	    "1. OLN\n2. NAM, DOB, SEX" },
	[MSG_KEY_DR] = { "DR", MSG_BODY_RESPONSE,
	    "1. DRIVER RECORDS (NAM, DOB, SEX, OLN, OLS)\n2. FREE TEXT" },
	[MSG_KEY_KQ] = { "KQ", MSG_BODY_INQUIRY,
	    "1. OLN\n2. NAM, DOB, SEX" },
	[MSG_KEY_KR] = { "KR", MSG_BODY_RESPONSE,
	    "1. DRIVER RECORDS (NAM, DOB, SEX, OLN, OLS)\n2. FREE TEXT" },
	[MSG_KEY_DNQ] = { "DNQ", MSG_BODY_INQUIRY,
	    "1. NAM\n2. NAM, DOB\n3. NAM, SEX\n4. NAM, DOB, SEX" },
	[MSG_KEY_DNR] = { "DNR", MSG_BODY_RESPONSE,
	    "1. DRIVER RECORDS (NAM, DOB, SEX, OLN, OLS)\n2. FREE TEXT" },
	[MSG_KEY_AM] = { "AM", MSG_BODY_MAIL, "1. TEXT" },
	[MSG_KEY_AML] = { "AML", MSG_BODY_MAIL, "1. TEXT" },
	[MSG_KEY_AA] = { "AA", MSG_BODY_MAIL,
	    "1. TEXT\n2. CATEGORY, TEXT\n3. STANDARDIZED AMBER ALERT" },
	[MSG_KEY_SM] = { "SM", MSG_BODY_MAIL, "1. TEXT" },
	[MSG_KEY_ER] = { "ER", MSG_BODY_RESPONSE, NULL },
	[MSG_KEY_DQG] = { "DQG", MSG_BODY_INQUIRY, "1. NAM, DOB, SEX" },
	[MSG_KEY_YQ] = { "YQ", MSG_BODY_INQUIRY,
	    "1. RTY, RNO, PRI, OCA, NIC, NAM, DOB (WP PO MP)\n"
	    "2. RTY, RNO, PRI, OCA, NIC, LIC, LIS or VIN (SV SL)\n"
	    "3. RTY, RNO, PRI, OCA, NIC, SER (SG SA SS SB SP)" },
	[MSG_KEY_YR] = { "YR", MSG_BODY_RESPONSE,
	    "1. RTY, RNO, OCA, NIC, CON" },
};

static const char *const msg_bodies[] = {
	[MSG_BODY_NONE] = NULL,
	[MSG_BODY_INQUIRY] = "NLETSInquiryData",
	[MSG_BODY_RESPONSE] = "NLETSResponseData",
	[MSG_BODY_MAIL] = "NLETSMailData",
};

static const struct {
	const char	*uri;
	enum msg_ns	 ns;
} msg_nss[] = {
	{ MSG_NS_N2, MSG_NS_ID_N2 },
	{ MSG_NS_NH2, MSG_NS_ID_NH2 },
	{ MSG_NS_NC, MSG_NS_ID_NC },
	{ MSG_NS_J, MSG_NS_ID_J },
	{ MSG_NS_J40, MSG_NS_ID_J },
	{ MSG_NS_N2C, MSG_NS_ID_N2C },
	{ MSG_NS_PSP, MSG_NS_ID_PSP },
	{ MSG_NS_AA, MSG_NS_ID_AA },
};

static const char *const msg_stamps[MSG_NSTAMPS] = {
	"MessageReceiveDate", "MessageReceiveTime", "MessageSendDate",
	"MessageSendTime", "ReceiveMessageNumeric", "SendMessageNumeric"
};

/* The header elements a sender writes, in order. */
static const char *const msg_hdr_sender[] = {
	"MessageKeyCodeText", "OriginatingORIID", "DestinationORIID",
	"DocumentControlFieldText", NULL
};

static int
msg_is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
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

enum msg_body
msg_key_body(enum msg_key key)
{
	if (key <= MSG_KEY_NONE || key >= MSG_KEY_MAX)
		return MSG_BODY_NONE;
	return msg_keys[key].body;
}

const char *
msg_body_name(enum msg_body body)
{
	if (body <= MSG_BODY_NONE || body > MSG_BODY_MAIL)
		return NULL;
	return msg_bodies[body];
}

int
msg_key_is_response(enum msg_key key)
{
	return key == MSG_KEY_DR || key == MSG_KEY_KR || key == MSG_KEY_DNR;
}

int
msg_key_is_query(enum msg_key key)
{
	return key == MSG_KEY_DQ || key == MSG_KEY_KQ || key == MSG_KEY_DNQ ||
	    key == MSG_KEY_DQG;
}

enum msg_key
msg_key_answer(enum msg_key key)
{
	switch (key) {
	case MSG_KEY_DQ:
	case MSG_KEY_DQG:
		return MSG_KEY_DR;
	case MSG_KEY_KQ:
		return MSG_KEY_KR;
	case MSG_KEY_DNQ:
		return MSG_KEY_DNR;
	default:
		return MSG_KEY_NONE;
	}
}

enum msg_key
msg_key_delivered(enum msg_key key)
{
	return key == MSG_KEY_DQG ? MSG_KEY_DQ : key;
}

int
msg_dqg_check(const struct msg *m, char *why, size_t wsz)
{
	const char *what;

	if (m->person.oln[0] != '\0' || m->person.olstate[0] != '\0')
		what = "OLN/ and OLS/ are not valid for a DQG";
	else if (m->imq)
		what = "IMQ/ is for a DQ only, not for a DQG";
	else if (m->purpose.present)
		what = "a photo purpose (IPU/) goes with IMQ/, which a DQG "
		    "cannot have";
	else
		return 0;
	snprintf(why, wsz, "%s: %s", what, MSG_DQG_HOWTO);
	return MSG_ER_FORMAT;
}

const char *
msg_er_reason(int code)
{
	switch (code) {
	case MSG_ER_HEADER:
		return "INVALID HEADER INFORMATION";
	case MSG_ER_NOT_ALLOWED:
		return "MESSAGE TYPE NOT ALLOWED TO DESTINATION";
	case MSG_ER_MALFORMED:
		return "TXT NOT FOUND OR IMPROPERLY FORMED XML";
	case MSG_ER_DOB:
		return "DOB INVALID or MISSING";
	case MSG_ER_REQUIRED:
		return "FIELDS MISSING";
	case MSG_ER_ATN:
		return "ATN FIELD INVALID";
	case MSG_ER_DEST:
		return "INVALID DESTINATION ORIs";
	case MSG_ER_FORMAT:
		return "INVALID MESSAGE FORMAT";
	case MSG_ER_ORI:
		return "LINE NOT AUTHORIZED FOR ORIGINATING ORI";
	case MSG_ER_TOO_LARGE:
		return "MESSAGE TOO LARGE";
	case MSG_ER_QUEUE_FULL:
		return "QUEUE FULL, RESEND LATER";
	case MSG_ER_UNAVAILABLE:
		return "SWITCH NOT ACCEPTING MESSAGES, RESEND LATER";
	case MSG_ER_POLICY:
		return "DENIED BY PHOTO-SHARING POLICY";
	}
	return "UNKNOWN ERROR";
}

const char *
msg_stamp_name(int i)
{
	return i >= 0 && i < MSG_NSTAMPS ? msg_stamps[i] : NULL;
}

const char *
msg_er_options(enum msg_key key)
{
	if (key <= MSG_KEY_NONE || key >= MSG_KEY_MAX)
		return NULL;
	return msg_keys[key].options;
}

/*
 * The data set a hit confirmation request of type rty identifies its
 * record by (Nlets: "one of the sets of data elements", and no other):
 * 'P' a person (n2:Person: name and birth date), 'V' a vehicle (plate
 * and its state, or VIN), 'S' an item's serial number; 0 if rty is no
 * request type.
 */
int
msg_hit_set(const char *rty)
{
	static const char *const person = "WP PO MP", *vehicle = "SV SL",
	    *item = "SG SA SS SB SP";

	if (rty == NULL || strlen(rty) != 2)
		return 0;
	if (strstr(person, rty) != NULL)
		return 'P';
	if (strstr(vehicle, rty) != NULL)
		return 'V';
	if (strstr(item, rty) != NULL)
		return 'S';
	return 0;
}

const char *
msg_sm_text(int status)
{
	switch (status) {
	case MSG_SM_NOT_ACCEPTED:
		return "USER DOES NOT RESPOND TO MSG TYPE, NLETS WILL NOT "
		    "FORWARD";
	case MSG_SM_HELD:
		return "USER OUT OF SERVICE FOR MSG TYPE, NLETS WILL FORWARD";
	case MSG_SM_REMOVED:
		return "USER OUT OF SERVICE FOR MSG TYPE, NLETS WILL NOT "
		    "FORWARD";
	case MSG_SM_EXPIRED:
		return "HELD MESSAGE EXPIRED, NLETS WILL NOT FORWARD";
	case MSG_SM_DAMAGED:
		return "HELD MESSAGE DAMAGED IN STORAGE, NLETS WILL NOT FORWARD";
	case MSG_SM_PHOTO_WITHHELD:
		return "PHOTO REQUEST PARTLY DENIED BY PHOTO-SHARING POLICY";
	case MSG_SM_HIT_SECOND:
		return "NO HIT CONFIRMATION RESPONSE IN TIME, NLETS SENT "
		    "SECOND REQUEST";
	case MSG_SM_HIT_NONE:
		return "NO HIT CONFIRMATION RESPONSE TO SECOND REQUEST";
	}
	return "UNKNOWN STATUS";
}

int
msg_text_number(const char *text)
{
	const char	*p = text;
	int		 n = 0, digits = 0;

	if (p == NULL)
		return -1;
	while (msg_is_ws((unsigned char)*p))
		p++;
	if (*p == '.')
		p++;
	while (*p >= '0' && *p <= '9' && digits < 3) {
		n = n * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || digits > 2)
		return -1;
	if (*p != '.' && *p != ' ' && *p != '\0')
		return -1;
	return n;
}

enum msg_ns
msg_ns_lookup(const char *uri)
{
	size_t	 i;

	if (uri == NULL)
		return MSG_NS_OTHER;
	for (i = 0; i < sizeof msg_nss / sizeof msg_nss[0]; i++)
		if (strcmp(uri, msg_nss[i].uri) == 0)
			return msg_nss[i].ns;
	return MSG_NS_OTHER;
}

/*
 * Rules.
 */

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
	if (s[0] >= 'A' && s[0] <= 'Z' && ((s[1] >= 'A' && s[1] <= 'Z') ||
	    (s[1] >= '0' && s[1] <= '9')) && s[2] == '\0')
		return 1;
	return msg_ori_is_valid(s);
}

const char *
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

int
msg_ctl_is_valid(const char *s)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < ' ' || s[i] > '~' || s[i] == '.' || i >= MSG_CTL_LEN)
			return 0;
	return 1;
}

/*
 * Strings.
 */

size_t
msg_utf8_chars(const char *s, size_t len, size_t n)
{
	size_t		 i = 0, k;
	unsigned char	 c;

	while (n > 0 && i < len) {
		c = (unsigned char)s[i];
		k = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		if (k > len - i)
			k = len - i;
		while (k > 1 && ((unsigned char)s[i + k - 1] & 0xc0) != 0x80)
			k--;	/* a sequence cut short: its lead alone */
		i += k;
		n--;
	}
	return i;
}

size_t
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

void
msg_cpy(char *dst, size_t dsz, const char *src, size_t len)
{
	size_t	 n;

	if (dsz == 0)
		return;
	n = len < dsz - 1 ? len : msg_utf8_cut(src, len, dsz - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void
msg_filter(char *dst, size_t dsz, const char *s, int lo, int hi, size_t max)
{
	size_t	 o = 0;

	for (; s != NULL && *s != '\0' && o < max && o + 1 < dsz; s++)
		if ((unsigned char)*s >= lo && (unsigned char)*s <= hi)
			dst[o++] = *s;
	dst[o] = '\0';
}

/*
 * Header offsets.
 */

static int
msg_is_sender_el(const struct xscan_tok *t)
{
	int	 i;

	for (i = 0; msg_hdr_sender[i] != NULL; i++)
		if (xscan_is(t, msg_hdr_sender[i]))
			return 1;
	return 0;
}

/*
 * Walk the header's children: stamp_off follows the last child a sender
 * writes, hdr_end is the header's end tag. From a known stamp_off, only
 * the end tag is looked for.
 */
int
msg_hdr_span(const char *raw, size_t len, size_t from, size_t *stamp_off,
    size_t *hdr_end)
{
	struct xscan		 sc;
	struct xscan_tok	 t;
	int			 depth = 0, sender = 0;
	size_t			 after = 0;

	if (raw == NULL)
		return -1;
	xscan_init_at(&sc, raw, len, from);
	if (from == 0) {
		if (xscan_find(&sc, "NLETSMessageHeader", 0, &t) == -1 ||
		    t.kind == XSCAN_EMPTY)
			return -1;
		after = xscan_off(&sc, &t) + t.len;
	} else
		after = from;
	for (;;) {
		switch (xscan_next(&sc, &t)) {
		case XSCAN_EOF:
		case XSCAN_BAD:
		case XSCAN_DECL:
			return -1;
		case XSCAN_START:
			if (depth++ == 0)
				sender = from == 0 && msg_is_sender_el(&t);
			break;
		case XSCAN_EMPTY:
			if (depth == 0 && from == 0 && msg_is_sender_el(&t))
				after = xscan_off(&sc, &t) + t.len;
			break;
		case XSCAN_END:
			if (depth == 0) {
				if (!xscan_is(&t, "NLETSMessageHeader"))
					return -1;
				*stamp_off = after;
				*hdr_end = xscan_off(&sc, &t);
				return 0;
			}
			if (--depth == 0 && sender)
				after = xscan_off(&sc, &t) + t.len;
			break;
		default:
			break;
		}
	}
}

/*
 * ER text.
 */

/* 1 if the line [s, e) is an option line of ER .22.: "N. ..." */
static int
msg_is_option(const char *s, const char *e)
{
	const char *p = s;

	while (p < e && *p >= '0' && *p <= '9')
		p++;
	return p > s && p + 1 < e && p[0] == '.' && p[1] == ' ';
}

int
msg_er_split(const char *text, size_t len, struct msg_er_parts *p)
{
	static const char	 orig[] = "ORIGINAL MESSAGE";
	const char		*end = text + len, *nl, *line, *prev = NULL;
	const char		*q;
	char			 num[8];

	memset(p, 0, sizeof *p);
	p->code = -1;
	if (text == NULL)
		return -1;
	while (text < end && msg_is_ws((unsigned char)*text))
		text++;
	msg_cpy(num, sizeof num, text, (size_t)(end - text) < 6 ?
	    (size_t)(end - text) : 6);
	if ((p->code = msg_text_number(num)) < 0)
		return -1;
	nl = memchr(text, '\n', (size_t)(end - text));
	q = memchr(text, ' ', (size_t)((nl != NULL ? nl : end) - text));
	if (q != NULL) {
		p->reason = q + 1;
		p->reasonlen = (size_t)((nl != NULL ? nl : end) - p->reason);
		if (p->reasonlen > 0 && p->reason[p->reasonlen - 1] == '\r')
			p->reasonlen--;
	}
	for (line = text; nl != NULL; ) {
		prev = line;
		line = nl + 1;
		nl = memchr(line, '\n', (size_t)(end - line));
		if ((size_t)(end - line) >= sizeof orig - 1 &&
		    memcmp(line, orig, sizeof orig - 1) == 0) {
			q = line + sizeof orig - 1;
			if (q < end && *q == '\r')
				q++;
			if (q < end && *q == '\n')
				q++;
			p->input = q;
			p->inputlen = (size_t)(end - q);
			if (prev != text && !msg_is_option(prev, line - 1)) {
				p->detail = prev;
				p->detaillen = (size_t)(line - 1 - prev);
				if (p->detaillen > 0 &&
				    prev[p->detaillen - 1] == '\r')
					p->detaillen--;
			}
			break;
		}
	}
	return 0;
}
