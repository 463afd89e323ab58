/*
 * audit - the records of the durable audit trail (docs/policy.md,
 * "6. The audit trail"; docs/durability.md, "The contract": a record is
 * committed with the change it describes): one JSON object per record,
 * written by the
 * queue in the same LMDB transaction as the change it describes
 * (queue_op.audit), read back with queue_walk_audit and exported by
 * bin/nlaudit as JSON lines.
 *
 * A record holds metadata only - never a message body, never image
 * bytes. Every record starts with
 *   {"t":<us since the epoch>,"time":"YYYY-MM-DDTHH:MM:SS.uuuuuuZ",
 *    "component":"server|line|queue|control","event":"..."
 * and the fields of its event follow in the order they were added
 * (docs/policy.md lists them). Records are compact JSON on one line,
 * written by yajl's streaming generator (strings checked for UTF-8,
 * escaped as RFC 8259 asks) and read with jansson. Field names are unique at the top level of
 * a record, so a reader can pick one with audit_field().
 *
 * Writing one: audit_begin(), then audit_str() and friends, then
 * audit_end() for the text.
 */
#ifndef NLSWITCH_AUDIT_H
#define NLSWITCH_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/* A record being written (private to audit.c). */
struct audit_rec;

/**
 * Open a record: "t", "time", "component" and "event", in that order.
 * @param t_us the time of the record, us since the epoch.
 * @return the record, never NULL (out of memory is fatal); audit_end()
 *	releases it.
 */
struct audit_rec *audit_begin(uint64_t t_us, const char *component,
	    const char *event);
/** "name":"value"; nothing when value is NULL. Bytes that are not
 * UTF-8 become U+FFFD. */
void	 audit_str(struct audit_rec *, const char *name, const char *value);
/** "name":n (a value above 2^63-1 is written as 2^63-1). */
void	 audit_num(struct audit_rec *, const char *name, unsigned long long n);
/** "dest":[...] of a message. */
void	 audit_dests(struct audit_rec *, const struct msg *);
/** "purpose":{...} with the fields that are set, when the message has a
 * purpose at all; nothing otherwise. */
void	 audit_purpose(struct audit_rec *, const struct msg_purpose *);
/* What the photo policy decided for one destination (audit_decisions). */
struct audit_decision {
	const char	*dest;		/* as routed: "TX", "CAOLN0000" */
	const char	*line;		/* the line that serves it */
	const char	*decision;	/* allow, withheld, left-out, deny */
	const char	*code;		/* "P000", "P102", ... */
	const char	*rule;		/* "allowed", "state-no-photos", ... */
};
/** "name":[{"dest":..,"line":..,"decision":..,"code":..,"rule":..}, ...],
 * one object per destination, in the order given. */
void	 audit_decisions(struct audit_rec *, const char *name,
	    const struct audit_decision *, int n);
/**
 * Close the record and release it.
 * @return the record's text, compact JSON without a newline (caller
 *	frees), never NULL.
 */
char	*audit_end(struct audit_rec *);

/**
 * The value of a top-level field of a record, parsed as JSON: a string
 * unescaped (\u escapes decoded; cut at a NUL it holds), anything else
 * (number, true, false, null, an array or object) as its compact JSON
 * text. A value longer than sz - 1 bytes is cut at a UTF-8 character
 * boundary. Fields of nested objects are not looked at.
 * @param rec, len the record's text (need not be NUL-terminated).
 * @param buf, sz where the value goes, always NUL-terminated (sz > 0).
 * @return 1 and the value in buf, or 0 (buf "") when the record has no
 *	such field or is not a JSON object.
 */
int	 audit_field(const char *rec, size_t len, const char *name, char *buf,
	    size_t sz);

#endif
