/*
 * oridir - load and look up the ORI directory (see oridir.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "log.h"
#include "oridir.h"
#include "util.h"
#include "xmlfile.h"

/* The first error of a load, "FILE:LINE: reason". */
static int
oridir_cmp(const void *a, const void *b)
{
	return strcmp(((const struct oridir_entry *)a)->ori,
	    ((const struct oridir_entry *)b)->ori);
}

static unsigned int
oridir_auth_parse(const char *s)
{
	char		*dup = xstrdup(s), *tok, *save = NULL;
	unsigned int	 auth = 0;

	for (tok = strtok_r(dup, " \t\r\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (strcmp(tok, "admin") == 0)
			auth |= ORIDIR_AUTH_ADMIN;
		else if (strcmp(tok, "criminal-history") == 0)
			auth |= ORIDIR_AUTH_CHRI;
		else if (strcmp(tok, "dmv") == 0)
			auth |= ORIDIR_AUTH_DMV;
	}
	free(dup);
	return auth;
}

/* Attribute value into dst (empty when absent). */
static void
oridir_attr(xmlNodePtr n, const char *name, char *dst, size_t sz)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);

	util_strlcpy(dst, v != NULL ? (const char *)v : "", sz);
	xmlFree(v);
}

int
oridir_load(const char *path, const char *schemadir, struct oridir **dirp,
    char **cause)
{
	char			*err = NULL;	/* "FILE:LINE: reason" */
	struct oridir		*dir = NULL;
	xmlDocPtr		 doc = NULL;
	xmlNodePtr		 root, n;
	char			*xsd, auth[128];
	int			 i, nagency = 0;

	*dirp = NULL;
	*cause = NULL;
	xsd = xasprintf("%s/oridir.xsd", schemadir);
	if ((doc = xmlfile_load(path, xsd, "ORI directory", cause)) == NULL) {
		free(xsd);
		return -1;
	}

	root = xmlDocGetRootElement(doc);
	for (n = root->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			nagency++;
	dir = xcalloc(1, sizeof *dir);
	dir->path = xstrdup(path);
	dir->e = xcalloc(nagency > 0 ? (size_t)nagency : 1, sizeof *dir->e);
	for (n = root->children; n != NULL; n = n->next) {
		struct oridir_entry *e;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		e = &dir->e[dir->n++];
		e->lineno = (int)xmlGetLineNo(n);
		oridir_attr(n, "ori", e->ori, sizeof e->ori);
		oridir_attr(n, "name", e->name, sizeof e->name);
		oridir_attr(n, "state", e->state, sizeof e->state);
		oridir_attr(n, "type", auth, sizeof auth);
		e->type = strcmp(auth, "criminal-justice") == 0 ? ORIDIR_CJ :
		    ORIDIR_NONCJ;
		oridir_attr(n, "auth", auth, sizeof auth);
		e->auth = oridir_auth_parse(auth);
		if (e->state[0] == '\0')
			memcpy(e->state, e->ori, 2);
		else if (memcmp(e->state, e->ori, 2) != 0) {
			err = xasprintf("%s:%d: ORI %s: state %s is not "
			    "the ORI's state %.2s", path, e->lineno, e->ori,
			    e->state, e->ori);
			goto fail;
		}
	}
	qsort(dir->e, (size_t)dir->n, sizeof *dir->e, oridir_cmp);
	for (i = 1; i < dir->n; i++)
		if (strcmp(dir->e[i].ori, dir->e[i - 1].ori) == 0) {
			struct oridir_entry *a = &dir->e[i - 1], *b = &dir->e[i];

			if (a->lineno > b->lineno) {
				struct oridir_entry *t = a;
				a = b;
				b = t;
			}
			err = xasprintf("%s:%d: ORI %s listed twice "
			    "(first at line %d)", path, b->lineno, b->ori,
			    a->lineno);
			goto fail;
		}

	xmlFreeDoc(doc);
	free(xsd);
	*dirp = dir;
	return 0;

fail:
	*cause = err != NULL ? err :
	    xasprintf("%s:0: invalid ORI directory", path);
	xmlFreeDoc(doc);
	oridir_free(dir);
	free(xsd);
	return -1;
}

struct oridir *
oridir_new(struct oridir_entry *e, int n)
{
	struct oridir *dir = xcalloc(1, sizeof *dir);

	dir->e = e;
	dir->n = n;
	qsort(dir->e, (size_t)dir->n, sizeof *dir->e, oridir_cmp);
	return dir;
}

void
oridir_free(struct oridir *dir)
{
	if (dir == NULL)
		return;
	free(dir->e);
	free(dir->path);
	free(dir);
}

const struct oridir_entry *
oridir_lookup(const struct oridir *dir, const char *ori)
{
	struct oridir_entry key;

	if (dir == NULL || ori == NULL || dir->n == 0)
		return NULL;
	if (util_strlcpy(key.ori, ori, sizeof key.ori) >= sizeof key.ori)
		return NULL;
	return bsearch(&key, dir->e, (size_t)dir->n, sizeof *dir->e,
	    oridir_cmp);
}

const char *
oridir_type_name(int type)
{
	return type == ORIDIR_CJ ? "criminal-justice" : "non-criminal-justice";
}

const char *
oridir_auth_text(unsigned int auth, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s%s%s%s%s",
	    auth & ORIDIR_AUTH_ADMIN ? "admin" : "",
	    (auth & ORIDIR_AUTH_ADMIN) && (auth & ~ORIDIR_AUTH_ADMIN &
	    (ORIDIR_AUTH_CHRI | ORIDIR_AUTH_DMV)) ? " " : "",
	    auth & ORIDIR_AUTH_CHRI ? "criminal-history" : "",
	    (auth & ORIDIR_AUTH_CHRI) && (auth & ORIDIR_AUTH_DMV) ? " " : "",
	    auth & ORIDIR_AUTH_DMV ? "dmv" : "");
	return buf;
}
