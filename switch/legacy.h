/*
 * legacy - the network's legacy text format <-> Nlets NIEM XML.
 *
 * A message a sender writes is a header line and PREFIX/value fields,
 * separated by periods; the last field needs no period, CR, LF and DEL
 * are not part of any value:
 *
 *   DQ.WA0340000.CA.OR.*T42.TXT
 *   NAM/SAMPLE,ALEX J.DOB/19800229.SEX/F.RSN/T
 *
 * What a line receives carries the output header the switch stamps:
 *
 *   DR.CAOLN0000.*T42
 *   14:02 05/01/2024 00123
 *   14:02 05/01/2024 00045 WA0340000
 *   TXT
 *   NAM/SAMPLE,ALEX J. DOB/19800229. SEX/F.
 *
 * (receive time and date with the input sequence number, send time and
 * date with the output sequence number and the receiving ORI). AM, AML,
 * AA, SM and ER carry free text after TXT; a response whose text does
 * not start with a field is free text too ("NOT ON FILE").
 *
 * legacy_to_xml turns text into the XML document the rest of the switch
 * handles (msgparse validates it); legacy_from_xml renders any valid
 * message, delivered ones included, back to text. A photo cannot travel
 * in legacy text: a record that carries one renders as
 * "IMG/NOT AVAILABLE IN TEXT FORMAT - <N> BYTES JPEG." docs/legacy.md is
 * the full grammar, the field table and examples of every key.
 */
#ifndef NLSWITCH_LEGACY_H
#define NLSWITCH_LEGACY_H

#include <stddef.h>

#include "msg.h"
#include "util.h"

struct msgparse_schema;

/* Field kinds. */
#define LEGACY_F_DOT	1	/* PREFIX/value. */
#define LEGACY_F_TAIL	2	/* PREFIX/ then everything to the end */

/* One field prefix of the legacy format (see legacy_field_table). */
struct legacy_field {
	const char	*prefix;	/* "OLN" */
	unsigned int	 keys;		/* 1 << enum msg_key, per key allowed */
	int		 kind;		/* LEGACY_F_* */
	int		 record;	/* 1: belongs to the person (query) or
					   to a driver record (response) */
	size_t		 max;		/* longest value, 0: the schema's */
	const char	*element;	/* XML element, relative to the body
					   (or to the person / n2c:Driver) */
	const char	*doc;		/* one line for docs and --help */
};

/**
 * The field table: every prefix, for which keys, which XML element.
 * @param n set to the number of entries.
 */
const struct legacy_field *legacy_field_table(size_t *n);

/**
 * 1 if buf holds legacy text rather than XML: XML starts with '<' after
 * an optional UTF-8 BOM and whitespace, anything else is legacy text.
 */
int	 legacy_is_text(const char *buf, size_t len);

/* legacy_to_xml / legacy_parse flags. */
#define LEGACY_STAMPED	0x01	/* accept the output header (a delivered
				   message); a sender may not write it */

/**
 * Convert legacy text to an Nlets XML document (appended to xml).
 * Checks the legacy syntax only: the header (known key, 9-character ORI,
 * 1 to 5 destinations, control field of 1 to 10 printable characters,
 * TXT), field prefixes allowed for the key, value lengths, no duplicate
 * field, records starting with NAM/. Values are carried over as written
 * (DOB/mmddyy and ccyymmdd become YYYY-MM-DD) and the XML is meant to be
 * checked by msgparse, which judges their content; legacy_parse does
 * both.
 * A document is produced whenever the key is known and TXT was found,
 * even when other errors were recorded (best effort, so that msgparse
 * can report the rest); nothing is appended otherwise.
 * @param diags every legacy syntax error, with the line and column in
 *	text, the xpath of the XML element it concerns, and its ER number
 *	(may be NULL).
 * @return 0 if the syntax is valid, else the ER number of the first error.
 */
int	 legacy_to_xml(const char *text, size_t len, int flags,
	    struct ubuf *xml, struct msg_diags *diags);

/**
 * legacy_to_xml + msgparse_message on the result: the legacy counterpart
 * of msgparse_message, for the switch and for nlvalidate. Diagnostics
 * from both are merged (a msgparse complaint about an element the legacy
 * reader already reported is dropped) and carry positions in text (not
 * in the generated XML). Legacy syntax errors come first, then the
 * content errors, each sorted by position: text the switch could not
 * read decides the ER before what it says.
 * m->raw points into xml, which must outlive m. An ER sent for a legacy
 * input quotes the text (the input), not the xml.
 * @param maxlen refuse text longer than this (ER .91.); 0: no limit.
 * @return 0 if valid, else the ER number of the first error.
 */
int	 legacy_parse(struct msgparse_schema *, const char *text, size_t len,
	    size_t maxlen, int flags, struct ubuf *xml, struct msg *m,
	    struct msg_diags *diags);

/**
 * Render an XML message (validated first with msgparse_message) as
 * legacy text, appended to text: with the output header when the XML
 * carries the switch's stamps (recv_ori on its third line; NULL: the
 * first destination), else as a sender writes it. Lossy only where the
 * text format cannot carry something: a photo becomes an IMG/ note, the
 * category of an Amber Alert a first text line, line breaks inside a
 * short field become spaces.
 * @return 0, or -1 with *cause set (caller frees) when the XML is not a
 *	valid message.
 */
int	 legacy_from_xml(struct msgparse_schema *, const char *xml, size_t len,
	    const char *recv_ori, struct ubuf *text, char **cause);

/**
 * Where in legacy text the element named by xpath (as msgparse reports
 * it for the XML legacy_to_xml made, e.g.
 * /n2:NLETS/n2:NLETSInquiryData/n2:Person/nc:PersonBirthDate) was
 * written: the field, the header token, or the start of the body.
 * Sets *line and *col (1-based); 1:1 when nothing better is known.
 */
void	 legacy_locate(const char *text, size_t len, const char *xpath,
	    int *line, int *col);

#endif
