/*
 * tmpl - copies of a message template with varied fields, for load and
 * demos (nlagency -n N).
 *
 * Copy k of a template gets its own control field (the template's, cut
 * to leave room for the copy number, and the number, zero padded to the
 * width of the last copy's: "T42" makes T420000 .. T420999 for 1000
 * copies; a template without one gets "N" and the number) and, where the
 * template has them, the name (surname, given and middle), sex, date of
 * birth and license number of synthetic record k of the state of the
 * template's first destination (adapters/dmv.c), so that a state
 * simulator with enough records finds the driver. Nothing else changes.
 * A legacy-text template makes legacy-text copies: it is varied as the
 * XML it stands for and rendered back as text. Every copy is checked as
 * the switch checks it before it is handed out.
 */
#ifndef NLSWITCH_TMPL_H
#define NLSWITCH_TMPL_H

#include <stddef.h>

struct msgparse_schema;
struct ubuf;
struct tmpl;

/** Copies a template may make (the copy number fits the control field). */
#define TMPL_MAX_COPIES	1000000u

/**
 * Read a template: one valid message, Nlets XML or legacy text.
 * @param schema for the checks (not owned; must outlive the template).
 * @param n copies to be made, 1 to TMPL_MAX_COPIES (sets the width of
 *	the copy number).
 * @return the template, or NULL with *cause set (caller frees) when the
 *	message is not valid or n is out of range.
 */
struct tmpl	*tmpl_new(struct msgparse_schema *schema, const char *data,
		    size_t len, unsigned n, char **cause);

/**
 * Append copy k (0 to n - 1) of t to out.
 * @return 0, or -1 with *cause set (caller frees) when k is out of range
 *	or the copy is not a valid message.
 */
int		 tmpl_copy(const struct tmpl *t, unsigned k, struct ubuf *out,
		    char **cause);

/** The control field of copy k (ctl has room for MSG_CTL_LEN + 1). */
void		 tmpl_ctl(const struct tmpl *t, unsigned k, char *ctl,
		    size_t sz);

void		 tmpl_free(struct tmpl *);

#endif
