/*
 * msgbuild - write Nlets NIEM XML: the messages the switch itself sends
 * (ER, SM), the bodies the simulators and the legacy converter build, the
 * output header the switch stamps on delivery, and the photo rewriting
 * of the photo-sharing policy (a response's photos, a query's image
 * request).
 *
 * Every document starts with the n2:NLETS envelope declaring the
 * prefixes nlswitch writes (n2 nh2 n2c nc j psp; j is JXDM 4.1), so
 * element names passed to these functions carry one of those prefixes.
 * Text values are escaped here, and whatever bytes a caller passes the
 * output stays well-formed (invalid UTF-8 and characters XML cannot
 * carry become '?').
 */
#ifndef NLSWITCH_MSGBUILD_H
#define NLSWITCH_MSGBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "util.h"

/**
 * Open a message: the envelope, the header (key, ori, dests, ctl when
 * not empty) and the key's body element (n2:key on mail data).
 */
void	 msgbuild_begin(struct ubuf *b, enum msg_key key, const char *ori,
	    const char *const *dests, int ndest, const char *ctl);
/** Close the body element and the envelope msgbuild_begin opened. */
void	 msgbuild_end(struct ubuf *b, enum msg_key key);

/** <name> and a newline. */
void	 msgbuild_open(struct ubuf *b, const char *name);
/** </name> and a newline. */
void	 msgbuild_close(struct ubuf *b, const char *name);
/**
 * <name>value</name> and a newline, value escaped; nothing when value is
 * NULL or empty.
 */
void	 msgbuild_text(struct ubuf *b, const char *name, const char *value);
/** The same for value[0..len), which need not be NUL-terminated. */
void	 msgbuild_text_len(struct ubuf *b, const char *name, const char *value,
	    size_t len);
/** The same as a NIEM date: <name><nc:Date>value</nc:Date></name>. */
void	 msgbuild_date(struct ubuf *b, const char *name, const char *value);

/* A person's parts as strings; NULL or "": absent. */
struct msgbuild_person {
	const char	*given;
	const char	*middle;
	const char	*surname;
	const char	*suffix;
	const char	*dob;		/* YYYY-MM-DD */
	const char	*sex;
	const char	*oln;		/* driver license number */
	const char	*olstate;	/* its issuing state */
};

/** The strings of a struct msg_person (pointers into p). */
void	 msgbuild_person_of(const struct msg_person *p,
	    struct msgbuild_person *out);

/**
 * The person of a query, wrapped in el ("n2:Person" for a DQ or DNQ,
 * "n2c:Driver" for a KQ): birth date, name, sex, and the license number
 * (with its state) in j:PersonAugmentation; the parts that are set.
 */
void	 msgbuild_person(struct ubuf *b, const char *el,
	    const struct msgbuild_person *p);

/* One event of a driver history. */
struct msgbuild_event {
	const char	*date;		/* YYYY-MM-DD */
	const char	*code;		/* SPD, SUSP */
	const char	*state;		/* where, 2 letters; may be "" */
	const char	*text;		/* description; may be "" */
};

/* A driver record of a standardized DR, KR or DNR. Empty or NULL: absent. */
struct msgbuild_driver {
	struct msgbuild_person	 person;
	const char		*photo_b64;	/* base64, not escaped */
	size_t			 photo_b64len;
	size_t			 photo_bytes;	/* what it decodes to */
	int			 noretain;	/* 1: psp:DoNotRetainIndicator
						   true after the photo */
	const char		*street;
	const char		*city;
	const char		*state;
	const char		*zip;
	const char		*lic_class;
	const char		*lic_status;
	const char		*lic_expires;	/* YYYY-MM-DD */
	const struct msgbuild_event *events;
	int			 nevents;
};

/** One n2c:Driver record. */
void	 msgbuild_driver(struct ubuf *b, const struct msgbuild_driver *d);

/**
 * ER from NL0000000 to ori, CTL echoed. Its n2:ResponseText is the text
 * msgbuild_er_text makes. The output always validates: an ori that is not
 * a valid destination (the input was too broken to name one) addresses
 * the ER to NL0000000 and the caller delivers it on the line the input
 * came from.
 */
void	 msgbuild_er(struct ubuf *b, const char *ori, const char *ctl,
	    int code, enum msg_key key, const char *detail, const char *input,
	    size_t inlen);
/**
 * The text of an ER, the same in XML and in legacy text:
 *
 *   .NN. NLETS WORDS[ - REFER TO MKE MKE OPTIONS BELOW]
 *   [the field combinations of that key, for .22.]
 *   detail (one line, at most 1000 bytes; may be absent)
 *   ORIGINAL MESSAGE
 *   the first MSG_ER_INPUT_LEN characters of the input
 *
 * Control characters other than newline and tab are dropped from the
 * quote and invalid UTF-8 becomes '?'.
 */
void	 msgbuild_er_text(struct ubuf *b, int code, enum msg_key key,
	    const char *detail, const char *input, size_t inlen);

/**
 * SM from NL0000000 to ori (the sender), CTL echoed, status number for
 * the destination about_dest and message key about_key; msgid is the
 * switch's message ID of the message it is about (may be NULL). The
 * n2:StatusMessageText is what msgbuild_sm_text makes.
 */
void	 msgbuild_sm(struct ubuf *b, const char *ori, const char *ctl,
	    int status, const char *about_dest, enum msg_key about_key,
	    const char *msgid);
/**
 * The same, with more lines of text after msgbuild_sm_text's (more may
 * be NULL; control characters other than newline and tab are dropped): the
 * SM .10. that lists each destination the photo request was withheld
 * from, with the policy code and reason.
 */
void	 msgbuild_sm_more(struct ubuf *b, const char *ori, const char *ctl,
	    int status, const char *about_dest, enum msg_key about_key,
	    const char *msgid, const char *more);
/**
 * The text of the switch's SM:
 *
 *   .02. USER OUT OF SERVICE FOR MSG TYPE, NLETS WILL FORWARD
 *   DESTINATION CA, MSG TYPE DQ, MESSAGE 000000000000002a.0
 */
void	 msgbuild_sm_text(struct ubuf *b, int status, const char *about_dest,
	    enum msg_key about_key, const char *msgid);

/* The output header the switch stamps on delivery. */
struct msgbuild_stamp {
	uint64_t	 recv_us;	/* receive time, us since the epoch */
	uint64_t	 in_seq;	/* input sequence number, sending line */
	uint64_t	 send_us;	/* send time */
	uint64_t	 out_seq;	/* output sequence number, receiving line */
	const char	*recv_ori;	/* the receiving ORI; NULL: keep the
					   destinations as sent */
};

/**
 * The stamped head of a delivery: out gets the bytes that replace
 * raw[0..*resume), so that the delivered message is out +
 * raw[*resume..len). That is the message up to its destinations, one
 * nh2:DestinationORIID naming the receiving ORI (as the legacy output
 * header's third line does), the rest of the sender's header (its
 * control field), then the six stamped elements (nh2:MessageReceiveDate,
 * ...Time, MessageSendDate, ...Time, ReceiveMessageNumeric,
 * SendMessageNumeric): dates MM/DD/CCYY and times HH:MM in the switch's
 * local time (TZ), sequence numbers modulo 100000 in 5 digits. Stamps the
 * sender wrote are replaced. Everything from *resume on, the body, is
 * the stored bytes unchanged.
 * @param stamp_off the offset msgparse reported (struct msg; past len it
 *	counts as len).
 * @return 0, or -1 if raw has no header end after stamp_off (out is then
 *	raw[0..stamp_off) and *resume stamp_off: the message goes as it is).
 */
int	 msgbuild_stamp_head(struct ubuf *out, const char *raw, size_t len,
	    size_t stamp_off, const struct msgbuild_stamp *st, size_t *resume);
/** The whole stamped message into b (see msgbuild_stamp_head). */
void	 msgbuild_stamp(struct ubuf *b, const char *raw, size_t len,
	    size_t stamp_off, const struct msgbuild_stamp *st);
/** Date MM/DD/CCYY and time HH:MM of a microsecond timestamp, local time
 * (the stamp's format). */
void	 msgbuild_stamp_time(uint64_t us, char date[11], char hhmm[6]);

/**
 * An AM from ori to dests whose MailMessageText is text (the switch's
 * answers: HELP files).
 */
void	 msgbuild_am(struct ubuf *b, const char *ori,
	    const char *const *dests, int ndest, const char *ctl,
	    const char *text, size_t len);

/**
 * The number an SM or ER this module built carries (".08." -> 8): the
 * start of its StatusMessageText / ResponseText.
 * @return 0..99, or -1 if xml is not such a notice.
 */
int	 msgbuild_notice_code(const char *xml, size_t len);

/**
 * Give a document msgparse accepted another message key: the content of
 * its nh2:MessageKeyCodeText (text, CDATA, blanks) becomes key's name,
 * everything else is kept byte for byte. The switch turns a DQG into the
 * DQ its states receive this way. The header is that much shorter or
 * longer: stamp offsets must be taken again (msg_hdr_span).
 * @return 0, or -1 if raw has no such element with content (out is then
 *	empty).
 */
int	 msgbuild_rekey(struct ubuf *out, const char *raw, size_t len,
	    enum msg_key key);

/* msgbuild_photo_rewrite modes. */
#define MSGBUILD_PHOTO_STRIP	1	/* remove every nc:PersonDigitalImage */
#define MSGBUILD_PHOTO_NORETAIN	2	/* psp:DoNotRetainIndicator true after
					   each one */

/**
 * Rewrite the photos of a response that msgparse accepted: remove every
 * nc:PersonDigitalImage with the psp:DoNotRetainIndicator after it
 * (STRIP), or make each one followed by a true psp:DoNotRetainIndicator,
 * inserting it where the state left it out or setting it where the state
 * said false (NORETAIN). Everything else is kept byte for byte, so the
 * result validates and the header is unchanged.
 * @return the number of photos changed (0: out is a plain copy), or -1
 *	if raw does not look like a parsed message (out is then empty).
 */
int	 msgbuild_photo_rewrite(struct ubuf *out, const char *raw, size_t len,
	    int mode);

/**
 * A query without its image request, for a destination the photo policy
 * withholds the photo from (docs/policy.md): every n2:ImageRequestIndicator
 * and psp:PhotoPurpose of a query that msgparse accepted is removed,
 * with the blanks before it; everything else is kept byte for byte, so
 * the result validates, the header (and its stamp offset) is unchanged,
 * and its legacy rendering has no IMQ/ nor any photo-purpose field.
 * @return the number of elements removed (0: out is a plain copy), or -1
 *	if raw does not look like a parsed message (out is then empty).
 */
int	 msgbuild_imq_strip(struct ubuf *out, const char *raw, size_t len);

/*
 * The caveat the switch puts on the first line of every AML's text
 * (Nlets, General Information - Administrative Message (AM/AML): "Nlets
 * will insert the caveat ... within the body of the message prior to
 * sending"; docs/messages.md, "AML").
 */
#define MSGBUILD_AML_CAVEAT	"FOR LAW ENFORCEMENT DISSEMINATION ONLY"

/**
 * A mail whose n2:MailMessageText starts with caveat: unless the text's
 * first line that is not blank already is it (any case, trailing blanks
 * allowed), caveat and a newline are inserted after the blanks the
 * element's content starts with, as plain text (before a CDATA section,
 * never inside one). Everything else is kept byte for byte: the header
 * and its stamp offsets are unchanged, the result validates when raw
 * did and the text fits, and its legacy rendering starts with the
 * caveat too.
 * @param max the characters MailMessageText may have (the schema's
 *	maxLength).
 * @param chars out: the characters of the text with the caveat (counted
 *	as XML reads them: a reference or a CR LF is one); 0 when raw has
 *	no MailMessageText.
 * @return 1 inserted, 0 already there (out is a plain copy), or -1: no
 *	MailMessageText (or markup inside it), or with the caveat the text
 *	would have more than max characters (*chars > max); out is then
 *	empty.
 */
int	 msgbuild_caveat(struct ubuf *out, const char *raw, size_t len,
	    const char *caveat, size_t max, size_t *chars);

/**
 * A mail without its pictures, for a destination the photo policy
 * withholds a mail's picture from (docs/policy.md): after the header,
 * every element that holds a BinaryBase64Object (nc:Image,
 * nc:PersonDigitalImage, or whatever holds one inside a standardized
 * AA), with a psp:DoNotRetainIndicator that follows it, and every
 * psp:PhotoPurpose are removed, with the blanks before them. Elements
 * are matched by local name. Everything else is kept byte for byte, so
 * the result validates and the header is unchanged.
 * @return the number of pictures removed (0: out has no picture), or -1
 *	if raw does not look like a parsed message (out is then empty).
 */
int	 msgbuild_image_strip(struct ubuf *out, const char *raw, size_t len);

#endif
