/*
 * xmlfile - load one of the switch's own XML files (the config, the ORI
 * directory): read it, refuse any DOCTYPE before the parser sees it, parse
 * with no network access and no entity substitution, and validate it
 * against its XSD. Every failure is reported as "FILE:LINE: reason", the
 * first error only, and libxml2 prints nothing.
 */
#ifndef NLSWITCH_XMLFILE_H
#define NLSWITCH_XMLFILE_H

#include <libxml/tree.h>

/**
 * @param path the file.
 * @param xsd the schema file that describes it.
 * @param what what the file is, for messages ("config file").
 * @return the validated document (caller xmlFreeDoc), or NULL with *cause
 *	set (caller frees).
 */
xmlDocPtr	xmlfile_load(const char *path, const char *xsd, const char *what,
		    char **cause);

#endif
