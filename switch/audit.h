/*
 * audit - the records of the durable audit trail (DESIGN.md section 4
 * and 5, docs/policy.md): one JSON object per record, written by the
 * queue in the same LMDB transaction as the change it describes
 * (queue_op.audit), read back with queue_walk_audit and exported by
 * bin/nlaudit as JSON lines.
 *
 * A record holds metadata only - never a message body, never image
 * bytes. Every record starts with
 *   {"t":<us since the epoch>,"time":"YYYY-MM-DDTHH:MM:SS.uuuuuuZ",
 *    "component":"server|line|queue","event":"..."
 * and the fields of its event follow (docs/policy.md lists them).
 * Field names are unique at the top level of a record, so a reader can
 * pick one with audit_field() without a JSON parser.
 */
#ifndef NLSWITCH_AUDIT_H
#define NLSWITCH_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "util.h"

/** Open a record: "{" time, component and event. */
void	 audit_begin(struct ubuf *, uint64_t t_us, const char *component,
	    const char *event);
/** ,"name":"value" (JSON-escaped); nothing when value is NULL. */
void	 audit_str(struct ubuf *, const char *name, const char *value);
/** ,"name":n */
void	 audit_num(struct ubuf *, const char *name, unsigned long long n);
/** ,"dest":[...] of a message. */
void	 audit_dests(struct ubuf *, const struct msg *);
/** ,"purpose":{...} with the fields that are set; nothing if none. */
void	 audit_purpose(struct ubuf *, const struct msg_purpose *);
/** Close the record and hand it over (caller frees). */
char	*audit_end(struct ubuf *);

/**
 * The value of a top-level field of a record: a string (unescaped), a
 * number or true/false as text. Nested objects and arrays are skipped.
 * @return 1 and the value in buf, or 0 if the record has no such field.
 */
int	 audit_field(const char *rec, size_t len, const char *name, char *buf,
	    size_t sz);

#endif
