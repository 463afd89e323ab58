/*
 * xtree - libxml2 tree helpers for Nlets messages (see xtree.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>

#include "msg.h"
#include "xtree.h"

static int
xtree_is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

enum msg_ns
xtree_ns(xmlNodePtr n)
{
	if (n == NULL || n->ns == NULL || n->ns->href == NULL)
		return MSG_NS_OTHER;
	return msg_ns_lookup((const char *)n->ns->href);
}

int
xtree_is(xmlNodePtr n, enum msg_ns ns, const char *local)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, local) == 0 && xtree_ns(n) == ns;
}

xmlNodePtr
xtree_next(xmlNodePtr n)
{
	for (n = n != NULL ? n->next : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

xmlNodePtr
xtree_first(xmlNodePtr p)
{
	xmlNodePtr n;

	for (n = p != NULL ? p->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

xmlNodePtr
xtree_child(xmlNodePtr p, enum msg_ns ns, const char *local)
{
	xmlNodePtr c;

	for (c = xtree_first(p); c != NULL; c = xtree_next(c))
		if (xtree_is(c, ns, local))
			return c;
	return NULL;
}

xmlNodePtr
xtree_path(xmlNodePtr p, ...)
{
	va_list		 ap;
	enum msg_ns	 ns;
	const char	*local;

	va_start(ap, p);
	while (p != NULL && (ns = (enum msg_ns)va_arg(ap, int)) !=
	    MSG_NS_OTHER) {
		local = va_arg(ap, const char *);
		p = xtree_child(p, ns, local);
	}
	va_end(ap);
	return p;
}

size_t
xtree_text(xmlNodePtr n, char *dst, size_t dsz)
{
	xmlNodePtr	 c;
	size_t		 total = 0, o = 0, l, k, s;
	int		 cut = 0;

	if (dsz == 0)
		return 0;
	dst[0] = '\0';
	if (n == NULL)
		return 0;
	for (c = n->children; c != NULL; c = c->next) {
		if ((c->type != XML_TEXT_NODE &&
		    c->type != XML_CDATA_SECTION_NODE) || c->content == NULL)
			continue;
		l = strlen((const char *)c->content);
		total += l;
		/* Nothing after a part that was cut: dst stays a prefix. */
		if (o + 1 < dsz && !cut) {
			msg_cpy(dst + o, dsz - o, (const char *)c->content, l);
			k = strlen(dst + o);
			cut = k < l;
			o += k;
		}
	}
	dst[o] = '\0';
	while (o > 0 && xtree_is_ws((unsigned char)dst[o - 1]))
		dst[--o] = '\0';
	for (s = 0; s < o && xtree_is_ws((unsigned char)dst[s]); s++)
		;
	if (s > 0)
		memmove(dst, dst + s, o - s + 1);
	return total;
}

/* 1-based position of n among its siblings of the same name and
 * namespace, 0 when it is the only one. */
static int
xtree_index(xmlNodePtr n)
{
	xmlNodePtr	 c;
	int		 k = 0, pos = 0;

	if (n->parent == NULL || n->parent->type != XML_ELEMENT_NODE)
		return 0;
	for (c = xtree_first(n->parent); c != NULL; c = xtree_next(c)) {
		if (strcmp((const char *)c->name, (const char *)n->name) != 0 ||
		    c->ns != n->ns)
			continue;
		k++;
		if (c == n)
			pos = k;
	}
	return k > 1 ? pos : 0;
}

void
xtree_xpath(xmlNodePtr n, char *dst, size_t dsz)
{
	xmlNodePtr	 chain[MSG_MAX_DEPTH + 2];
	size_t		 o = 0;
	int		 depth = 0, k, r;

	if (dsz == 0)
		return;
	dst[0] = '\0';
	for (; n != NULL && n->type == XML_ELEMENT_NODE; n = n->parent) {
		if (depth == MSG_MAX_DEPTH + 2)
			return;
		chain[depth++] = n;
	}
	while (depth-- > 0) {
		n = chain[depth];
		k = xtree_index(n);
		r = snprintf(dst + o, dsz - o, "/%s%s%s", n->ns != NULL &&
		    n->ns->prefix != NULL ? (const char *)n->ns->prefix : "",
		    n->ns != NULL && n->ns->prefix != NULL ? ":" : "",
		    (const char *)n->name);
		if (r < 0 || (size_t)r >= dsz - o)
			return;
		o += (size_t)r;
		if (k > 0) {
			r = snprintf(dst + o, dsz - o, "[%d]", k);
			if (r < 0 || (size_t)r >= dsz - o)
				return;
			o += (size_t)r;
		}
	}
}
