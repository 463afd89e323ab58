/*
 * unit - what the unit suites share, defined in tests/unit_main.c: where
 * the repository's files are, and the message schemas under it.
 */
#ifndef NLSWITCH_UNIT_H
#define NLSWITCH_UNIT_H

struct msgparse_schema;

/** ROOT/rel, ROOT being $NLSWITCH_ROOT or "." (static buffer). */
const char		*unit_path(const char *rel);
/**
 * The message schemas of ROOT/schemas for a suite's init; NULL after
 * saying why on stderr as "suite: reason".
 */
struct msgparse_schema	*unit_schema_load(const char *suite);

#endif
