/*
 * msg - the nlswitch message model: parse + validate XML messages (libxml2
 * + XSD from schemas/), extract the header and the fields the switch routes
 * and decides on, build switch-generated messages (ER, SM) and the bodies
 * the simulators send, and stamp the output header on delivery.
 *
 * Parsing is hardened: no network access, no entity substitution, any
 * DOCTYPE is refused before the parser sees it, input size and element
 * depth are bounded. The photo is checked with util_b64_check(), not with
 * the xs:base64Binary schema type (8x cheaper on a 48 KB image).
 *
 * XML shape (our independent reconstruction of the Nlets shape, no
 * namespace):
 *
 *   <NLETS version="1.0">
 *     <NLETSMessageHeader>
 *       <MessageKeyCodeText>DQ</MessageKeyCodeText>
 *       <OriginatingORIID>WA0340000</OriginatingORIID>
 *       <DestinationORIID>CA</DestinationORIID>          (1 to 5)
 *       <DocumentControlFieldText>T42</DocumentControlFieldText> (optional)
 *       ... stamped by the switch on delivery, never by a sender:
 *       <SwitchMessageID>000000000000002a.0</SwitchMessageID>
 *       <NLETSReceiveDate/> <NLETSReceiveTime/> <NLETSInputSequenceNumeric/>
 *       <NLETSSendDate/> <NLETSSendTime/> <NLETSOutputSequenceNumeric/>
 *       <ReceivingORIID/>
 *     </NLETSMessageHeader>
 *     <NLETSInquiryData> ... </NLETSInquiryData>    (DQ KQ DNQ AM)
 *     <NLETSResponseData> ... </NLETSResponseData>  (DR KR DNR SM ER)
 *   </NLETS>
 */
#ifndef NLSWITCH_MSG_H
#define NLSWITCH_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define MSG_MAXDEST	5
#define MSG_ORI_LEN	9
#define MSG_CTL_LEN	10
#define MSG_SWITCH_ORI	"NL0000000"
#define MSG_MAX_DEPTH	32		/* element nesting limit */
#define MSG_ER_INPUT_LEN 100		/* ER quotes this much of the input */

enum msg_key {
	MSG_KEY_NONE = 0,
	MSG_KEY_DQ,
	MSG_KEY_DR,
	MSG_KEY_KQ,
	MSG_KEY_KR,
	MSG_KEY_DNQ,
	MSG_KEY_DNR,
	MSG_KEY_AM,
	MSG_KEY_SM,
	MSG_KEY_ER,
	MSG_KEY_MAX
};

/* Switch error (ER) codes; docs/messages.md lists them. */
enum msg_er {
	MSG_ER_NONE		= 0,
	MSG_ER_HEADER		= 101,	/* invalid header */
	MSG_ER_NOT_ALLOWED	= 102,	/* message type not allowed to destination */
	MSG_ER_MALFORMED	= 103,	/* TXT missing / malformed XML */
	MSG_ER_DOB		= 104,	/* invalid or missing DOB */
	MSG_ER_REQUIRED		= 105,	/* required fields missing */
	MSG_ER_DEST		= 106,	/* invalid destination ORI */
	MSG_ER_FORMAT		= 107,	/* invalid message format (schema) */
	MSG_ER_ORI		= 108,	/* line may not originate for this ORI */
	MSG_ER_TOO_LARGE	= 109,	/* message exceeds the size limit */
	MSG_ER_QUEUE_FULL	= 110,	/* store full: try again later */
	MSG_ER_UNAVAILABLE	= 111,	/* switch draining / not accepting */
	MSG_ER_POLICY		= 120	/* photo-sharing policy denial */
};

/* SM status codes (per destination and message key). */
enum msg_sm {
	MSG_SM_NOT_ACCEPTED	= 1,	/* .01 destination does not accept MKE */
	MSG_SM_HELD		= 2,	/* .02 out of service, held, forwarded later */
	MSG_SM_REMOVED		= 4,	/* .04 removed from service, not stored */
	MSG_SM_EXPIRED		= 8	/* .08 held message expired, dead-lettered */
};

/* One person as it appears in a query or a record. Empty string = absent. */
struct msg_person {
	char	surname[41];
	char	given[41];
	char	middle[41];
	char	dob[11];		/* YYYY-MM-DD */
	char	sex[2];			/* M, F or U */
	char	oln[26];		/* driver license number */
	char	olstate[3];		/* issuing state of the license */
};

/*
 * The stated purpose of a photo request (DriverQuery/PhotoPurpose; legacy
 * PUR/ CIR/ CAS/ VER/ WAR/ SUS/, docs/policy.md). Empty string = absent.
 * The texts are cut at MSG_PURPOSE_TEXT_LEN bytes (the schema allows 200).
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
 * A parsed message. Fixed-size fields are NUL-terminated; raw points into
 * the caller's buffer (not owned), which must outlive the struct.
 */
struct msg {
	enum msg_key	key;
	char		ori[MSG_ORI_LEN + 1];		/* originating ORI */
	int		ndest;
	char		dest[MSG_MAXDEST][MSG_ORI_LEN + 1];
	char		ctl[MSG_CTL_LEN + 1];

	/* Inquiries (DQ KQ DNQ). */
	struct msg_person person;
	int		imq;			/* 1: photo requested (IMQ/Y) */
	char		rsn[81];		/* reason */
	char		atn[81];		/* attention */
	struct msg_purpose purpose;		/* DQ/KQ PhotoPurpose */

	/* Responses (DR KR DNR). */
	int		not_on_file;		/* 1: NOT ON FILE response */
	int		nrecords;		/* driver records carried */
	int		has_photo;		/* at least one PersonDigitalImage */
	size_t		photo_len;		/* decoded bytes of the first photo */
	int		nphotos;		/* PersonDigitalImage elements */
	int		nphotos_noretain;	/* of them with DoNotRetainIndicator
						   true */

	/* SM / ER. */
	int		status;			/* SM status or ER code */

	/* Where the switch inserts the stamped output header: offset in raw
	 * of the "</" of the NLETSMessageHeader end tag. */
	const char	*raw;
	size_t		 rawlen;
	size_t		 hdr_end;
	/* Input bytes msg_parse kept out of libxml2 (comment, photo and
	 * MessageText texts); 0 when libxml2 parsed the whole input. */
	size_t		 cut;
};

/* One diagnostic; msg_parse keeps them all (up to MSG_MAXDIAG). */
#define MSG_MAXDIAG	32
struct msg_diag {
	int	line;			/* 1-based; 0 when unknown */
	int	col;			/* 1-based; 0 when unknown */
	int	code;			/* enum msg_er */
	char	xpath[128];		/* e.g. /NLETS/NLETSMessageHeader/OriginatingORIID */
	char	text[256];		/* English reason */
};
struct msg_diags {
	int		n;		/* diagnostics recorded (<= MSG_MAXDIAG) */
	int		dropped;	/* diagnostics beyond MSG_MAXDIAG */
	struct msg_diag	d[MSG_MAXDIAG];
};

struct msg_schema;

/**
 * Load and compile schemas/nlets.xsd from dir. Done once at start-up; the
 * compiled schema is read-only and may be shared by threads that each use
 * their own msg_parse call.
 *
 * Threads: the schema keeps one parser context and one validation
 * context that msg_parse reuses; they are meant to be used by one thread
 * (load one schema per parsing thread). A msg_parse that finds them busy
 * (another thread parsing with the same schema) builds private ones for
 * that call: still correct, but slower.
 * @return schema, or NULL with *cause set (caller frees).
 */
struct msg_schema *msg_schema_load(const char *dir, char **cause);
void	 msg_schema_free(struct msg_schema *);

/**
 * Parse and validate one message: well-formedness, XSD, then the header
 * and field rules (ORI format, 1-5 destinations of 2 or 9 characters, CTL
 * length, known key, body matching the key, DQ needs OLN or NAM+DOB+SEX,
 * DOB a real date, photo base64, no switch-stamped elements from a sender).
 * @param maxlen refuse input longer than this (MSG_ER_TOO_LARGE).
 * @param m filled on success, and as far as parsed on failure.
 * @param diags every problem found (may be NULL); the first one decides the
 *	ER code.
 * @return 0 if valid; otherwise the ER code (enum msg_er) of the first error.
 */
int	 msg_parse(struct msg_schema *, const char *buf, size_t len,
	    size_t maxlen, struct msg *m, struct msg_diags *diags);

/* msg_parse_flags flags. */
#define MSG_PARSE_STAMPED	0x01	/* accept switch-stamped header
					   elements: a delivered message */
#define MSG_PARSE_WHOLE		0x02	/* give libxml2 the whole input,
					   long comments, photo and
					   MessageText texts included
					   (tests compare) */

/**
 * msg_parse with flags: msg_parse(...) is msg_parse_flags(..., 0, ...).
 * MSG_PARSE_STAMPED is for endpoints reading what the switch delivered
 * (and tools reading captures); the switch itself parses with 0.
 * maxlen 0 means no limit of ours (libxml2's still apply).
 * Long comment texts, photo base64 texts and a long plain MessageText
 * are cut out of what libxml2 parses (the photo and the text's length are
 * checked on the input bytes); any error sends the parse back to the
 * whole input, so results never depend on the cut.
 * MSG_PARSE_WHOLE skips the cut: same results, slower.
 * Schema errors carry the ER code of where they are: DestinationORIID
 * MSG_ER_DEST, elsewhere in the header MSG_ER_HEADER, PersonBirthDate
 * MSG_ER_DOB, no body MSG_ER_MALFORMED, a missing child element in the
 * body MSG_ER_REQUIRED, anything else MSG_ER_FORMAT. Diags are sorted by
 * line (document order). Only NL0000000 may originate an ER.
 */
int	 msg_parse_flags(struct msg_schema *, const char *buf, size_t len,
	    size_t maxlen, int flags, struct msg *m, struct msg_diags *diags);

/* 1 (default): scan comment and element texts with AVX2 where the CPU
 * has it; 0: one byte at a time (tests run both). */
extern int	 msg_plain_simd;

/** Message key <-> name ("DQ"); MSG_KEY_NONE if unknown. */
const char	*msg_key_name(enum msg_key);
enum msg_key	 msg_key_lookup(const char *name);
/** 1 for DR, KR, DNR: responses that route back to the requesting ORI. */
int	 msg_key_is_response(enum msg_key);
/** English reason for an ER code ("invalid destination ORI"). */
const char	*msg_er_reason(int code);
/** English text for an SM status ("destination out of service, message held"). */
const char	*msg_sm_text(int status);

/** 1 if s is a well-formed 9-character ORI ([A-Z]{2}[A-Z0-9]{7}). */
int	 msg_ori_is_valid(const char *s);
/** 1 if s is a destination: a [A-Z]{2} member/region code or a valid ORI. */
int	 msg_dest_is_valid(const char *s);

/*
 * Builders. Each appends one complete XML document to b.
 */

/** Open a message: header + opening body element for the key. */
void	 msg_begin(struct ubuf *b, enum msg_key key, const char *ori,
	    const char *const *dests, int ndest, const char *ctl);
/** Close the body element and the root opened by msg_begin. */
void	 msg_end(struct ubuf *b, enum msg_key key);

/**
 * Append <name>value</name> and a newline, value XML-escaped (invalid
 * UTF-8 and characters XML cannot carry become '?'); nothing when value
 * is NULL or empty. For the body fields between msg_begin and msg_end.
 */
void	 msg_add_text(struct ubuf *b, const char *name, const char *value);
/**
 * Append the person fields that are set, in the order both DriverQuery
 * and DriverRecord use: PersonName (given, middle, surname),
 * PersonBirthDate, PersonSexCode, DriverLicenseID, IssuingStateCode.
 * (A DriverNameQuery has no DriverLicenseID/IssuingStateCode: leave oln
 * and olstate empty there.)
 */
void	 msg_add_person(struct ubuf *b, const struct msg_person *p);

/**
 * ER from NL0000000 to ori, CTL echoed, with the code, the English reason,
 * a detail text (may be NULL) and the first MSG_ER_INPUT_LEN characters of
 * the offending input.
 * The output always validates: the input quote is cut on a UTF-8 boundary
 * (at most MSG_ER_INPUT_LEN bytes), control characters are dropped and
 * invalid UTF-8 becomes '?'; the detail is cut at 1000 bytes; a CTL keeps
 * its printable ASCII (at most 10); an ori that is not a valid
 * destination (the input was too broken to name one) addresses the ER to
 * NL0000000 and the caller delivers it on the line the input came from.
 */
void	 msg_build_er(struct ubuf *b, const char *ori, const char *ctl,
	    int code, const char *detail, const char *input, size_t inlen);

/**
 * SM from NL0000000 to ori (the sender), CTL echoed: status code for the
 * destination about_dest and message key about_key; msgid is the switch
 * message ID of the message it is about (text, may be NULL).
 */
void	 msg_build_sm(struct ubuf *b, const char *ori, const char *ctl,
	    int status, const char *about_dest, enum msg_key about_key,
	    const char *msgid);

/* Output header stamped by the switch on delivery. */
struct msg_stamp {
	const char	*msgid;		/* "000000000000002a.0" */
	uint64_t	 recv_us;	/* receive time, us since the epoch (UTC) */
	uint64_t	 in_seq;	/* input sequence number on the sending line */
	uint64_t	 send_us;	/* send time */
	uint64_t	 out_seq;	/* output sequence number on the receiving line */
	const char	*recv_ori;	/* receiving ORI (the destination as routed) */
};

/**
 * Copy raw[0..len) into b with the stamped elements inserted at hdr_end
 * (the offset msg_parse reported). Dates are YYYY-MM-DD, times HH:MM:SS
 * UTC. raw must not be stamped already (msg_parse refuses stamped input
 * from senders). A NULL/invalid msgid or recv_ori leaves that element out;
 * hdr_end >= len copies raw unchanged.
 */
void	 msg_stamp(struct ubuf *b, const char *raw, size_t len, size_t hdr_end,
	    const struct msg_stamp *st);

/* msg_photo_rewrite modes. */
#define MSG_PHOTO_STRIP		1	/* remove every PersonDigitalImage */
#define MSG_PHOTO_NORETAIN	2	/* DoNotRetainIndicator true in each */

/**
 * Rewrite the photos of a response that msg_parse accepted: remove every
 * PersonDigitalImage (MSG_PHOTO_STRIP), or make each one carry
 * DoNotRetainIndicator true, inserting it where the state left it out or
 * said false (MSG_PHOTO_NORETAIN). Everything else is kept byte for
 * byte, so the result validates and its header end moves only if a
 * photo came before it (never: photos are in the body).
 * @return the number of photos changed (0: out is a plain copy), or -1
 *	if raw does not look like a parsed message (out is then empty).
 */
int	 msg_photo_rewrite(struct ubuf *out, const char *raw, size_t len,
	    int mode);

/**
 * Only the elements msg_stamp inserts (for writers that send the body's
 * two halves by reference around them).
 */
void	 msg_stamp_elements(struct ubuf *b, const char *raw, size_t len,
	    size_t hdr_end, const struct msg_stamp *st);

/**
 * Find the header end offset in a document msg_parse already accepted
 * (used for stored messages). @return offset, or (size_t)-1.
 */
size_t	 msg_find_hdr_end(const char *raw, size_t len);

#endif
