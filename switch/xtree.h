/*
 * xtree - reading a libxml2 tree of an Nlets message: elements compared by
 * namespace and local name (the prefixes a writer chose do not matter),
 * element children in order, trimmed text content. msgparse.c and
 * legacy.c both walk trees with it.
 */
#ifndef NLSWITCH_XTREE_H
#define NLSWITCH_XTREE_H

#include <stddef.h>

#include <libxml/tree.h>

#include "msg.h"

/** The namespace of element n (MSG_NS_OTHER for none or another one). */
enum msg_ns	 xtree_ns(xmlNodePtr n);
/** 1 if n is an element named local in namespace ns. */
int		 xtree_is(xmlNodePtr n, enum msg_ns ns, const char *local);
/** The first element child of p, or NULL. */
xmlNodePtr	 xtree_first(xmlNodePtr p);
/** The next element sibling of n, or NULL. */
xmlNodePtr	 xtree_next(xmlNodePtr n);
/** The first element child of p named (ns, local), or NULL. */
xmlNodePtr	 xtree_child(xmlNodePtr p, enum msg_ns ns, const char *local);
/**
 * Follow a path of element children from p: pairs of (enum msg_ns, const
 * char *local) ending with MSG_NS_OTHER. The first match at each step.
 * @return the element at the end of the path, or NULL.
 */
xmlNodePtr	 xtree_path(xmlNodePtr p, ...);
/**
 * Text content of element n (text and CDATA children), leading and
 * trailing whitespace trimmed, into dst[dsz] (cut on a UTF-8 boundary).
 * n may be NULL (dst gets "").
 * @return the untrimmed length of the whole content; >= dsz means cut.
 */
size_t		 xtree_text(xmlNodePtr n, char *dst, size_t dsz);
/** A node's path for diagnostics (/n2:NLETS/n2:NLETSMessageHeader/...),
 * with the prefixes the writer used, into dst[dsz]. */
void		 xtree_xpath(xmlNodePtr n, char *dst, size_t dsz);

#endif
