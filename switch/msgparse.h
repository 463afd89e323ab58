/*
 * msgparse - parse and validate one Nlets NIEM XML message: well-formedness,
 * the XSDs in schemas/ (libxml2), then the rules a schema cannot say, and
 * fill a struct msg with what the switch routes and decides on.
 *
 * Parsing is hardened: no network access, no entity substitution, any
 * DOCTYPE is refused before the parser sees it, input size and element
 * depth are bounded. The photo is checked with util_b64_check(), not with
 * the xs:base64Binary schema type (8x cheaper on a 48 KB image).
 *
 * Every problem found becomes a diagnostic with the Nlets ER number it
 * is answered with, chosen by where it is, never by the words of a
 * libxml2 message:
 *
 *   not XML, not well-formed, no body, not the n2:NLETS envelope   .03.
 *   in the header: unknown key, bad ORI, control field, stamps      .01.
 *   a destination: none, more than 5, not a code or an ORI         .19.
 *   a birth date: missing (query by name), not a date, future       .05.
 *   what the key needs is missing (OLN or NAM+DOB+SEX, a name...)   .14.
 *   an attention field over 30 characters                           .16.
 *   anything else: schema violations, the body not the key's,
 *   a photo that is not base64 or not its stated size                .22.
 *   larger than the limit                                           .91.
 */
#ifndef NLSWITCH_MSGPARSE_H
#define NLSWITCH_MSGPARSE_H

#include <stddef.h>

#include "msg.h"

struct msgparse_schema;

/**
 * Load and compile schemas/nlets.xsd (and what it imports) from dir. Done
 * once at start-up; the compiled schema is read-only.
 *
 * Threads: the schema keeps one parser context and one validation
 * context that msgparse_message reuses; they are meant to be used by one
 * thread (load one schema per parsing thread). A call that finds them
 * busy (another thread parsing with the same schema) builds private
 * ones for that call: still correct, but slower.
 * @return schema, or NULL with *cause set (caller frees).
 */
struct msgparse_schema *msgparse_schema_load(const char *dir, char **cause);
void	 msgparse_schema_free(struct msgparse_schema *);
/**
 * The characters an n2:MailMessageText may have: the maxLength the
 * schema gives it, or MSG_TEXT_MAX when its declaration could not be
 * read (msgparse then leaves the check to libxml2).
 */
size_t	 msgparse_text_max(const struct msgparse_schema *);

/* msgparse_message flags. */
#define MSGPARSE_WHOLE	0x01	/* give libxml2 the whole input: long
				   comments, photo and MailMessageText
				   texts included (tests compare) */
#define MSGPARSE_RAW	0x02	/* after a schema error put in words,
				   libxml2's own message in [brackets] */

/**
 * Parse and validate one message.
 * Long comment texts, photo base64 texts and a long plain MailMessageText
 * are cut out of what libxml2 parses (the photo and the text's length
 * are checked on the input bytes); any diagnostic sends the parse back
 * to the whole input, so results never depend on the cut.
 * Header stamps (receive and send date, time and sequence) a sender
 * wrote are accepted: the switch replaces them on delivery.
 * @param maxlen refuse input longer than this (MSG_ER_TOO_LARGE); 0
 *	means no limit of ours (libxml2's still apply).
 * @param m filled on success, and as far as parsed on failure.
 * @param diags every problem found (may be NULL), sorted by line
 *	(document order); the first one decides the ER number.
 * @return 0 if valid; otherwise the ER number (enum msg_er) of the first
 *	error.
 */
int	 msgparse_message(struct msgparse_schema *, const char *buf,
	    size_t len, size_t maxlen, int flags, struct msg *m,
	    struct msg_diags *diags);

/**
 * The names in libxml2's "Expected is ( {uri}A, {uri}B )." of msg, each
 * with the usual prefix of its namespace ("n2:A nc:B"; a name of another
 * namespace without one, wildcards left out), space-separated into out.
 * "" when msg has no such list.
 */
void	 msgparse_expected_names(const char *msg, char *out, size_t sz);
/**
 * An element libxml2 did not expect, in plain words, into out:
 *   "B must come before NAME"	before is B (the element fits there), or
 *				a name expected is among later;
 *   "NAME may not follow PREV in PARENT; expected there: A, B or C"
 *   "NAME may not come first in PARENT; expected there: A"
 *   "NAME is not allowed in PARENT [after PREV]"	nothing expected.
 * @param name, parent, prev the element, its parent, the element before
 *	it (NULL: none), as written ("nc:PersonSurName").
 * @param later the elements after it, space-separated ("" or NULL).
 * @param expected msgparse_expected_names' list ("" or NULL: none).
 * @param before the sibling the element fits before, or NULL.
 * @return 0.
 */
int	 msgparse_unexpected_words(const char *name, const char *parent,
	    const char *prev, const char *later, const char *expected,
	    const char *before, char *out, size_t sz);

/* 1 (default): scan comment and element texts with AVX2 where the CPU
 * has it; 0: one byte at a time (tests run both). */
extern int	 msgparse_plain_simd;

#endif
