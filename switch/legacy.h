/*
 * legacy - the network's legacy text format <-> nlswitch XML messages.
 *
 * A legacy message is a header line and PREFIX/value. fields:
 *
 *   DQ.WA0340000.CA.OR.*T42.TXT
 *   NAM/SAMPLE,ALEX J. DOB/19800229. SEX/F. RSN/TRAFFIC STOP.
 *
 * legacy_to_xml turns it into the XML document the rest of the switch
 * handles (msg_parse validates it); legacy_from_xml renders any valid
 * message, delivered (switch-stamped) ones included, back to text. A
 * photo cannot travel in legacy text: a record that carries one renders
 * as "IMG/NOT AVAILABLE IN TEXT FORMAT - <N> BYTES JPEG." docs/legacy.md
 * is the full grammar, the field table and examples of every key.
 */
#ifndef NLSWITCH_LEGACY_H
#define NLSWITCH_LEGACY_H

#include <stddef.h>

#include "msg.h"
#include "util.h"

/* Field kinds. */
#define LEGACY_F_DOT	1	/* PREFIX/value. */
#define LEGACY_F_TAIL	2	/* PREFIX/ then everything to the end */

/* One field prefix of the legacy format (see legacy_field_table). */
struct legacy_field {
	const char	*prefix;	/* "OLN" */
	unsigned int	 keys;		/* 1 << enum msg_key, per key allowed */
	int		 kind;		/* LEGACY_F_* */
	int		 record;	/* 1: belongs to a DriverRecord */
	const char	*element;	/* XML element, relative to the body
					   (or to the DriverRecord) */
	const char	*doc;		/* one line for docs and --help */
};

/**
 * The field table: every prefix, for which keys, which XML element.
 * A prefix may appear twice with different keys (RSN/ is ReasonText in a
 * query and ErrorReasonText in an ER).
 * @param n set to the number of entries.
 */
const struct legacy_field *legacy_field_table(size_t *n);

/**
 * 1 if buf holds legacy text rather than XML: XML starts with '<' after
 * an optional UTF-8 BOM and whitespace, anything else is legacy text.
 */
int	 legacy_is_text(const char *buf, size_t len);

/**
 * Convert legacy text to an nlswitch XML document (appended to xml).
 * Checks the legacy syntax only: the header (known key, 9-character ORI,
 * 1 to 5 destinations, control field of 1 to 10 printable characters,
 * TXT), field prefixes allowed for the key, '.'-terminated values, no
 * duplicate field, records starting with NAM/. Values are carried over
 * as written (DOB/YYYYMMDD becomes YYYY-MM-DD) and the XML is meant to
 * be checked by msg_parse, which judges their content; legacy_parse does
 * both.
 * A document is produced whenever the key is known and TXT was found,
 * even when other errors were recorded (best effort, so that msg_parse
 * can report the rest); nothing is appended otherwise.
 * @param diags every legacy syntax error, with the line and column in
 *	text, the xpath of the XML element it concerns, and its ER code
 *	(may be NULL).
 * @return 0 if the syntax is valid, else the ER code of the first error.
 */
int	 legacy_to_xml(const char *text, size_t len, struct ubuf *xml,
	    struct msg_diags *diags);

/**
 * legacy_to_xml + msg_parse_flags on the result: the legacy counterpart
 * of msg_parse, for the switch and for nlvalidate. Diagnostics from both
 * are merged (a msg_parse complaint about an element the legacy parser
 * already reported is dropped) and carry positions in text (not in the
 * generated XML). Legacy syntax errors come first, then the content
 * errors, each sorted by position: text the switch could not read
 * decides the ER before what it says.
 * m->raw points into xml, which must outlive m. An ER sent for a legacy
 * input should quote text (the input), not xml.
 * @param maxlen refuse text longer than this (ER 109); 0: no limit.
 * @param flags MSG_PARSE_* (MSG_PARSE_STAMPED accepts an output header).
 * @return 0 if valid, else the ER code of the first error.
 */
int	 legacy_parse(struct msg_schema *, const char *text, size_t len,
	    size_t maxlen, int flags, struct ubuf *xml, struct msg *m,
	    struct msg_diags *diags);

/**
 * Render an XML message (validated first with msg_parse_flags and
 * MSG_PARSE_STAMPED, so delivered messages render with their output
 * header) as legacy text, appended to text. Lossy only where the text
 * format cannot carry something: a photo becomes an IMG/ note, an empty
 * NotOnFileIndicator false disappears, line breaks inside a short field
 * become spaces.
 * @return 0, or -1 with *cause set (caller frees) when the XML is not a
 *	valid message.
 */
int	 legacy_from_xml(struct msg_schema *, const char *xml, size_t len,
	    struct ubuf *text, char **cause);

/**
 * Where in legacy text the element named by xpath (as msg_parse reports
 * it, e.g. /NLETS/NLETSInquiryData/DriverQuery/PersonBirthDate) was
 * written: the field, the header token, or the start of the body.
 * Sets *line and *col (1-based); 1:1 when nothing better is known.
 */
void	 legacy_locate(const char *text, size_t len, const char *xpath,
	    int *line, int *col);

#endif
