/*
 * xmlfile - see xmlfile.h.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "util.h"
#include "xmlfile.h"

struct xmlfile_errs {
	const char	*path;
	char		*first;		/* "FILE:LINE: reason" */
};

static void
xmlfile_error_cb(void *arg, xmlErrorPtr e)
{
	struct xmlfile_errs	*errs = arg;
	char			*msg, *nl;

	/* Warnings are not errors: a recorded warning would both mask the
	 * real first error and leak on success. */
	if (errs->first != NULL || e == NULL || e->level == XML_ERR_WARNING)
		return;
	msg = xstrdup(e->message ? e->message : "error");
	if ((nl = strchr(msg, '\n')) != NULL)
		*nl = '\0';
	errs->first = xasprintf("%s:%d: %s", errs->path, e->line, msg);
	free(msg);
}

/* 1-based line number of p inside data. */
static int
xmlfile_lineof(const char *data, const char *p)
{
	int line = 1;

	for (; data < p; data++)
		line += *data == '\n';
	return line;
}

xmlDocPtr
xmlfile_load(const char *path, const char *xsd, const char *what,
    char **cause)
{
	struct xmlfile_errs	 errs = { path, NULL }, sxerrs = { xsd, NULL };
	xmlSchemaParserCtxtPtr	 pctx = NULL;
	xmlSchemaPtr		 schema = NULL;
	xmlSchemaValidCtxtPtr	 vctx = NULL;
	xmlDocPtr		 doc = NULL;
	char			*data, *dt, *base;
	size_t			 len;

	*cause = NULL;
	if ((data = util_read_file(path, &len)) == NULL) {
		*cause = xasprintf("%s:0: cannot read the %s: %s", path, what,
		    strerror(errno));
		return NULL;
	}
	/* libxml2 would print schema loading errors on stderr: keep the
	 * first one for the cause instead. */
	xmlSetStructuredErrorFunc(&sxerrs, xmlfile_error_cb);
	if ((pctx = xmlSchemaNewParserCtxt(xsd)) == NULL ||
	    (schema = xmlSchemaParse(pctx)) == NULL) {
		*cause = sxerrs.first != NULL ? sxerrs.first :
		    xasprintf("%s: cannot load the %s schema", xsd, what);
		sxerrs.first = NULL;
		goto out;
	}
	free(sxerrs.first);
	/* Refused before the parser sees it: no internal subset, no
	 * entities, whatever they would expand to. */
	if ((dt = strstr(data, "<!DOCTYPE")) != NULL) {
		errs.first = xasprintf("%s:%d: DOCTYPE is not allowed", path,
		    xmlfile_lineof(data, dt));
		goto bad;
	}
	xmlSetStructuredErrorFunc(&errs, xmlfile_error_cb);
	doc = xmlReadMemory(data, (int)len, path, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || errs.first != NULL) {
		if (errs.first == NULL)
			errs.first = xasprintf("%s:0: not well-formed XML", path);
		goto bad;
	}
	vctx = xmlSchemaNewValidCtxt(schema);
	xmlSchemaSetValidStructuredErrors(vctx, xmlfile_error_cb, &errs);
	if (xmlSchemaValidateDoc(vctx, doc) != 0) {
		if (errs.first == NULL) {
			base = xstrdup(xsd);
			errs.first = xasprintf("%s:0: does not match %s", path,
			    basename(base));
			free(base);
		}
		goto bad;
	}
	goto out;
bad:
	*cause = errs.first;
	errs.first = NULL;
	if (doc != NULL) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
out:
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (vctx != NULL)
		xmlSchemaFreeValidCtxt(vctx);
	if (schema != NULL)
		xmlSchemaFree(schema);
	if (pctx != NULL)
		xmlSchemaFreeParserCtxt(pctx);
	free(errs.first);
	free(data);
	return doc;
}
