/*
 * msg - the nlswitch message model: message keys and the body each one
 * travels in, the Nlets ER and SM numbers and words, the namespaces of
 * Nlets NIEM XML, identifier and date rules, and struct msg, what the
 * switch reads out of a message to route it and decide on it.
 *
 * No XML library here. Parsing and validation are in msgparse.c,
 * building (ER, SM, the output-header stamp, photo rewriting) in
 * msgbuild.c, the legacy text format in legacy.c.
 *
 * The XML shape (docs/messages.md has every key, schemas/ the XSDs):
 *
 *   <n2:NLETS n2:version="4.00" xmlns:n2=... xmlns:nh2=... ...>
 *     <n2:NLETSMessageHeader>
 *       <nh2:MessageKeyCodeText>DQ</nh2:MessageKeyCodeText>
 *       <nh2:OriginatingORIID>WA0340000</nh2:OriginatingORIID>
 *       <nh2:DestinationORIID>CA</nh2:DestinationORIID>     (1 to 5)
 *       <nh2:DocumentControlFieldText>T42</...>             (optional)
 *       ... stamped by the switch on delivery:
 *       <nh2:MessageReceiveDate>MM/DD/CCYY</...> <nh2:MessageReceiveTime>HH:MM</...>
 *       <nh2:MessageSendDate/> <nh2:MessageSendTime/>
 *       <nh2:ReceiveMessageNumeric>00000</...> <nh2:SendMessageNumeric/>
 *     </n2:NLETSMessageHeader>
 *     <n2:NLETSInquiryData> ... </n2:NLETSInquiryData>   (DQ KQ DNQ DQG)
 *     <n2:NLETSResponseData> ... </n2:NLETSResponseData> (DR KR DNR ER)
 *     <n2:NLETSMailData n2:key="AM"> ... </n2:NLETSMailData> (AM AML AA SM)
 *   </n2:NLETS>
 */
#ifndef NLSWITCH_MSG_H
#define NLSWITCH_MSG_H

#include <stddef.h>
#include <stdint.h>

#define MSG_MAXDEST	5
#define MSG_ORI_LEN	9
#define MSG_CTL_LEN	10
#define MSG_ATN_LEN	30		/* legacy ATN/, XML attention text */
#define MSG_SWITCH_ORI	"NL0000000"
#define MSG_MAX_DEPTH	32		/* element nesting limit */
#define MSG_ER_INPUT_LEN 100		/* ER quotes this many characters of
					   the input */
#define MSG_VERSION	"4.00"		/* the n2:version nlswitch writes */
#define MSG_TEXT_MAX	10000		/* characters of a MailMessageText
					   (schemas/nlets.xsd's maxLength) */

/* Namespaces of Nlets NIEM XML (and the prefixes nlswitch writes). */
#define MSG_NS_N2	"http://www.nlets.org/niem/1.0"
#define MSG_NS_NH2	"http://www.nlets.org/niem/nlets-hdr/1.0"
#define MSG_NS_N2C	"http://www.nlets.org/niem/nlets-core/1.0"
#define MSG_NS_AA	"http://www.nlets.org/niem/nlets-amber-alert/1.0"
#define MSG_NS_NC	"http://niem.gov/niem/niem-core/2.0"
#define MSG_NS_J	"http://niem.gov/niem/domains/jxdm/4.1"
#define MSG_NS_J40	"http://niem.gov/niem/domains/jxdm/4.0"
#define MSG_NS_PSP	"urn:nlswitch:photo-sharing:1.0"

/* The namespaces the switch reads, by identity. */
enum msg_ns {
	MSG_NS_OTHER = 0,
	MSG_NS_ID_N2,
	MSG_NS_ID_NH2,
	MSG_NS_ID_N2C,
	MSG_NS_ID_AA,
	MSG_NS_ID_NC,		/* NIEM Core 2.0 */
	MSG_NS_ID_J,		/* JXDM 4.0 or 4.1 */
	MSG_NS_ID_PSP
};

enum msg_key {
	MSG_KEY_NONE = 0,
	MSG_KEY_DQ,
	MSG_KEY_DR,
	MSG_KEY_KQ,
	MSG_KEY_KR,
	MSG_KEY_DNQ,
	MSG_KEY_DNR,
	MSG_KEY_AM,
	MSG_KEY_AML,
	MSG_KEY_AA,
	MSG_KEY_SM,
	MSG_KEY_ER,
	/*
	 * A DQ by name, birth date and sex to a region (or NL), which the
	 * switch turns into a DQ for the states at a lower priority; no
	 * state ever receives one (docs/messages.md, "DQG"). Last, so that
	 * the numbers of the other keys, kept in the store, stay as they
	 * were.
	 */
	MSG_KEY_DQG,
	/*
	 * Hit confirmation request and response (docs/messages.md, "YQ",
	 * "YR"): a YQ asks the agency that entered an NCIC record to
	 * confirm it, within the time of its priority; the switch pairs the
	 * YR with it and sends the second request when none comes
	 * (hitconf.h).
	 */
	MSG_KEY_YQ,
	MSG_KEY_YR,
	MSG_KEY_MAX
};

/* The body element a key travels in. */
enum msg_body {
	MSG_BODY_NONE = 0,
	MSG_BODY_INQUIRY,	/* n2:NLETSInquiryData: DQ KQ DNQ DQG YQ */
	MSG_BODY_RESPONSE,	/* n2:NLETSResponseData: DR KR DNR ER YR */
	MSG_BODY_MAIL		/* n2:NLETSMailData: AM AML AA SM */
};

/*
 * Switch error (ER) numbers: Nlets' own where Nlets documents one, ours
 * (90 and up) for what Nlets has none for. docs/messages.md lists them.
 */
enum msg_er {
	MSG_ER_NONE		= 0,
	MSG_ER_HEADER		= 1,	/* invalid header */
	MSG_ER_NOT_ALLOWED	= 2,	/* message type not allowed to dest */
	MSG_ER_MALFORMED	= 3,	/* TXT not found / malformed XML */
	MSG_ER_DOB		= 5,	/* DOB invalid or missing */
	MSG_ER_REQUIRED		= 14,	/* fields missing */
	MSG_ER_ATN		= 16,	/* ATN field invalid */
	MSG_ER_DEST		= 19,	/* invalid destination ORIs */
	MSG_ER_FORMAT		= 22,	/* invalid message format */
	MSG_ER_ORI		= 90,	/* line may not originate for the ORI */
	MSG_ER_TOO_LARGE	= 91,	/* message exceeds the size limit */
	MSG_ER_QUEUE_FULL	= 92,	/* store full: try again later */
	MSG_ER_UNAVAILABLE	= 93,	/* switch draining / not accepting */
	MSG_ER_POLICY		= 94	/* photo-sharing policy denial */
};
#define MSG_ER_CODES	100		/* every code is below this */

/* SM status numbers (per destination and message key). */
enum msg_sm {
	MSG_SM_NOT_ACCEPTED	= 1,	/* .01. destination does not take MKE */
	MSG_SM_HELD		= 2,	/* .02. out of service, held, forwarded */
	MSG_SM_REMOVED		= 4,	/* .04. removed from service, not stored */
	MSG_SM_EXPIRED		= 8,	/* .08. held message expired (ours) */
	MSG_SM_DAMAGED		= 9,	/* .09. stored message unreadable
					   (ours) */
	MSG_SM_PHOTO_WITHHELD	= 10,	/* .10. photo request withheld from some
					   destinations by the photo-sharing
					   policy (ours) */
	MSG_SM_HIT_SECOND	= 11,	/* .11. no YR in the priority's time:
					   second request sent (ours) */
	MSG_SM_HIT_NONE		= 12	/* .12. no YR to the second request
					   either (ours) */
};

/* One person as it appears in a query or a record. Empty string = absent. */
struct msg_person {
	char	surname[41];
	char	given[41];
	char	middle[41];
	char	suffix[41];
	char	dob[11];		/* YYYY-MM-DD */
	char	sex[2];			/* M, F or U */
	char	oln[26];		/* driver license number */
	char	olstate[3];		/* issuing state of the license */
};

/*
 * The stated purpose of a photo request (psp:PhotoPurpose; legacy IPU/
 * ICI/ ICN/ IVF/ IWN/ ISP/, docs/policy.md). Empty string = absent. The
 * texts are cut at MSG_PURPOSE_TEXT_LEN bytes (the schema allows 200).
 */
#define MSG_PURPOSE_TEXT_LEN	200
struct msg_purpose {
	int	present;		/* 1: a PhotoPurpose element was sent */
	char	category[24];		/* IDENTIFICATION, SUSPECT, ... */
	char	use[33];		/* TRAFFIC-STOP, WANTED-POSTER, ... */
	char	circumstance[MSG_PURPOSE_TEXT_LEN + 1];
	char	case_number[MSG_PURPOSE_TEXT_LEN + 1];
	char	verifier[MSG_PURPOSE_TEXT_LEN + 1];
	char	warrant[MSG_PURPOSE_TEXT_LEN + 1];
	int	suspect;		/* -1 absent, 0 false, 1 true */
};

/*
 * The hit confirmation fields of a YQ or YR (n2:QueryRequestActivity;
 * legacy RTY/ RNO/ PRI/ OCA/ NIC/ and the data sets, CON/ of a YR).
 * Empty string = absent.
 */
#define MSG_HIT_OCA_LEN	20
#define MSG_HIT_NIC_LEN	10
#define MSG_HIT_ID_LEN	20		/* LIC/ VIN/ SER/ */
struct msg_hit {
	int	present;		/* 1: a QueryRequestActivity was sent */
	char	rty[3];			/* request type: WP SV PO MP SL ... */
	int	rno;			/* request number 1..3; 0 absent */
	char	pri[2];			/* priority U or R */
	char	oca[MSG_HIT_OCA_LEN + 1];	/* agency case number */
	char	nic[MSG_HIT_NIC_LEN + 1];	/* NCIC number (or NONE) */
	char	lic[MSG_HIT_ID_LEN + 1];	/* license plate */
	char	lis[3];				/* its state */
	char	vin[MSG_HIT_ID_LEN + 1];	/* vehicle identification */
	char	ser[MSG_HIT_ID_LEN + 1];	/* serial number of an item */
	char	con[2];			/* YR: Y confirmed, N not, P pending */
};

/*
 * A parsed message. Fixed-size fields are NUL-terminated; raw points into
 * the caller's buffer (not owned), which must outlive the struct.
 */
struct msg {
	enum msg_key	key;
	char		ori[MSG_ORI_LEN + 1];		/* originating ORI */
	int		ndest;
	char		dest[MSG_MAXDEST][MSG_ORI_LEN + 1];
	char		ctl[MSG_CTL_LEN + 1];

	/* Queries (DQ KQ DNQ). */
	struct msg_person person;
	int		imq;			/* 1: photo requested (IMQ/Y) */
	char		rsn[2];			/* reason code N F V T S H I */
	char		pur[2];			/* III purpose code C F E D J S */
	char		atn[MSG_ATN_LEN + 1];	/* attention */
	struct msg_purpose purpose;		/* psp:PhotoPurpose (of a photo
						   request, or of the picture
						   a mail carries) */
	struct msg_hit	hit;			/* YQ YR */

	/* Responses (DR KR DNR). */
	int		not_on_file;		/* 1: NOT ON FILE response */
	int		nrecords;		/* driver records carried */
	int		has_photo;		/* at least one PersonDigitalImage
						   (a mail: any picture, a
						   standardized AA's binaries
						   included) */
	size_t		photo_len;		/* decoded bytes of the first photo */
	int		nphotos;		/* PersonDigitalImage elements */
	int		nphotos_noretain;	/* of them with a true
						   psp:DoNotRetainIndicator */

	/* SM / ER: the number their text starts with (".02."). */
	int		status;

	/*
	 * Where the switch stamps the output header: raw[stamp_off..hdr_end)
	 * is replaced by the six stamped elements (msgbuild_stamp). stamp_off
	 * is just after the last element a sender writes (the control field,
	 * else the last destination), hdr_end the "</" of the header's end
	 * tag; stamps a sender wrote lie between the two and are dropped.
	 */
	const char	*raw;
	size_t		 rawlen;
	size_t		 stamp_off;
	size_t		 hdr_end;
	/* Input bytes msgparse kept out of libxml2 (comment, photo and
	 * MailMessageText texts); 0 when libxml2 parsed the whole input. */
	size_t		 cut;
};

/* One diagnostic; the parsers keep them all (up to MSG_MAXDIAG). */
#define MSG_MAXDIAG	32
struct msg_diag {
	int	line;			/* 1-based; 0 when unknown */
	int	col;			/* 1-based; 0 when unknown */
	int	code;			/* enum msg_er */
	char	xpath[256];		/* /n2:NLETS/n2:NLETSMessageHeader/... */
	char	text[256];		/* English reason */
};
struct msg_diags {
	int		n;		/* diagnostics recorded (<= MSG_MAXDIAG) */
	int		dropped;	/* diagnostics beyond MSG_MAXDIAG */
	struct msg_diag	d[MSG_MAXDIAG];
};

/** Message key <-> name ("DQ"); MSG_KEY_NONE if unknown. */
const char	*msg_key_name(enum msg_key);
enum msg_key	 msg_key_lookup(const char *name);
/** The body element a key travels in. */
enum msg_body	 msg_key_body(enum msg_key);
/** The local name of that body element ("NLETSInquiryData"), or NULL. */
const char	*msg_body_name(enum msg_body);
/** 1 for DR, KR, DNR: responses that route back to the requesting ORI. */
int	 msg_key_is_response(enum msg_key);
/** 1 for DQ, KQ, DNQ, DQG: queries answered by a state. */
int	 msg_key_is_query(enum msg_key);
/** The key that answers a query key (DQ and DQG -> DR, KQ -> KR, DNQ ->
 * DNR); MSG_KEY_NONE for any other key. */
enum msg_key	 msg_key_answer(enum msg_key);
/**
 * The key a destination receives a message of this key as: DQ for a DQG
 * (Nlets changes the type; states never see a DQG), the key itself for
 * every other. The state's service state and accept list for that key
 * apply.
 */
enum msg_key	 msg_key_delivered(enum msg_key);
/**
 * Why m breaks a DQG's rules (Nlets: "Only queries on NAM/DOB may be
 * used for a DQG", OLN "not valid for DQG", IMQ "for DQ only"): its
 * license (OLN/, OLS/), a photo request or a photo purpose. For a
 * message the switch handles as a DQG (a legacy DQ to a region); a DQG
 * itself is checked where it is parsed, field by field.
 * @return 0 when it keeps them, else the ER code (.22.) with the words
 *	in why[wsz], naming the field and what to send instead.
 */
int	 msg_dqg_check(const struct msg *m, char *why, size_t wsz);
/* The words of those refusals: what a DQG is, what to send instead. */
#define MSG_DQG_HOWTO	"a DQG asks by NAM/ DOB/ SEX/ only; send a query " \
			"by OLN/ or with IMQ/ as a DQ to one state"

/**
 * The data set a YQ of request type rty identifies its record by
 * (Nlets: "one of the sets of data elements", and no other).
 * @return 'P' a person (name and birth date: WP PO MP), 'V' a vehicle
 *	(plate and state, or VIN: SV SL), 'S' an item's serial number
 *	(SG SA SS SB SP), 0 if rty is no request type.
 */
int	 msg_hit_set(const char *rty);

/** Nlets' words for an ER number ("INVALID DESTINATION ORIs"). */
const char	*msg_er_reason(int code);
/**
 * For ER .22.: the field combinations key accepts, one per line
 * ("1. OLN\n2. NAM, DOB, SEX"), or NULL when the key has none to list.
 */
const char	*msg_er_options(enum msg_key key);
/** Nlets' words for an SM number ("USER OUT OF SERVICE FOR MSG TYPE, NLETS
 * WILL FORWARD"). */
const char	*msg_sm_text(int status);
/**
 * The number a status or error text starts with: ".02. ..." or "02 ..."
 * @return the number (0 to 99), or -1.
 */
int	 msg_text_number(const char *text);

/* The parts of an ER's text (msgbuild_er_text); pointers into it. */
struct msg_er_parts {
	int		 code;		/* -1: not an ER text */
	const char	*reason;	/* the words after ".NN. " */
	size_t		 reasonlen;
	const char	*detail;	/* the line before ORIGINAL MESSAGE */
	size_t		 detaillen;
	const char	*input;		/* what follows ORIGINAL MESSAGE */
	size_t		 inputlen;
};
/**
 * Split an ER's text into its parts (absent parts: NULL, length 0).
 * @return 0, or -1 if it does not start with a number (p->code -1).
 */
int	 msg_er_split(const char *text, size_t len, struct msg_er_parts *p);

/** The namespace a URI names (MSG_NS_OTHER for any other). */
enum msg_ns	 msg_ns_lookup(const char *uri);

/** 1 if s is a well-formed 9-character ORI ([A-Z]{2}[A-Z0-9]{7}). */
int	 msg_ori_is_valid(const char *s);
/** 1 if s is a destination: a 2-character member or region code
 * ([A-Z][A-Z0-9]) or a valid ORI. */
int	 msg_dest_is_valid(const char *s);
/**
 * Calendar check of a YYYY-MM-DD birth date: a real date (leap years),
 * not before 1800, not after today (UTC).
 * @return NULL if valid, else the English reason.
 */
const char	*msg_dob_check(const char *s);
/**
 * 1 if s (trimmed) is 1 to MSG_CTL_LEN printable ASCII characters other
 * than '.' (a control field must fit the legacy header, whose fields a
 * period separates).
 */
int	 msg_ctl_is_valid(const char *s);

/** Bytes of the first n characters of s[0..len) (UTF-8; a byte that
 * starts no sequence counts as one character). */
size_t	 msg_utf8_chars(const char *s, size_t len, size_t n);
/** Largest n' <= n that does not end inside a UTF-8 sequence of s. */
size_t	 msg_utf8_cut(const char *s, size_t len, size_t n);
/** Copy src (len bytes) into dst[dsz], NUL-terminated, cut on a UTF-8
 * boundary. */
void	 msg_cpy(char *dst, size_t dsz, const char *src, size_t len);
/** Keep the bytes of s in [lo, hi], at most max of them, into dst[dsz]. */
void	 msg_filter(char *dst, size_t dsz, const char *s, int lo, int hi,
	    size_t max);

/** The six header elements the switch stamps on delivery, in their order
 * (nh2 local names): i from 0 to MSG_NSTAMPS - 1; NULL past them. */
#define MSG_NSTAMPS	6
const char	*msg_stamp_name(int i);

/**
 * The stamping offsets of a document msgparse accepted (stored messages
 * keep only stamp_off): the end of the sender's part of the header and
 * the "</" of the header's end tag (see struct msg).
 * @param from where to start looking (0, or a known stamp_off).
 * @return 0, or -1 if raw has no header end tag.
 */
int	 msg_hdr_span(const char *raw, size_t len, size_t from,
	    size_t *stamp_off, size_t *hdr_end);

#endif
