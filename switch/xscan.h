/*
 * xscan - the one byte-level XML tokenizer of nlswitch.
 *
 * Everything that looks at a message's bytes without building a tree uses
 * it: the parser's pre-pass that keeps long texts out of libxml2
 * (msgparse.c), the header offsets the switch stamps at (msg.c), the photo
 * rewriting on the response side (msgbuild.c), the recorder's photo
 * redaction, the message key of a refused message (server.c) and the
 * simulators and tools that pick one field out of a delivery.
 *
 * It is a tokenizer, not a parser: it splits the input into character
 * data, start and end tags, comments, CDATA sections and processing
 * instructions, steps over quoted attribute values, and checks nothing
 * else (no well-formedness, no entities, no namespaces beyond splitting
 * a qualified name at its colon). Element names are compared by their
 * local part, so that a message is read the same whatever prefixes its
 * writer chose. Whatever it cannot follow (an unterminated comment, tag
 * or CDATA section, a '<' inside a tag) ends the scan with XSCAN_BAD; a
 * DOCTYPE or other "<!" declaration is returned as XSCAN_DECL and also
 * ends it (messages may not have one: msgparse refuses them).
 */
#ifndef NLSWITCH_XSCAN_H
#define NLSWITCH_XSCAN_H

#include <stddef.h>

enum xscan_kind {
	XSCAN_EOF = 0,		/* end of the input */
	XSCAN_BAD,		/* markup the scanner cannot follow: stop */
	XSCAN_TEXT,		/* character data up to the next '<' */
	XSCAN_START,		/* <name attrs> */
	XSCAN_EMPTY,		/* <name attrs/> */
	XSCAN_END,		/* </name> */
	XSCAN_COMMENT,		/* <!--data--> */
	XSCAN_CDATA,		/* <![CDATA[data]]> */
	XSCAN_PI,		/* <?data?>, the XML declaration included */
	XSCAN_DECL		/* <!DOCTYPE ...> and the like: stop */
};

/* One token. Pointers are into the scanned buffer. */
struct xscan_tok {
	enum xscan_kind	 kind;
	const char	*p;		/* first byte of the token */
	size_t		 len;		/* bytes of the whole token */
	/* START, EMPTY, END: the qualified name and its local part. */
	const char	*name;
	size_t		 namelen;
	const char	*local;
	size_t		 locallen;
	/* TEXT: the text; COMMENT, CDATA, PI: what is between the
	 * delimiters; START, EMPTY: what is between the name and the
	 * closing '>' or "/>" (the attributes). */
	const char	*data;
	size_t		 datalen;
	int		 attrs;		/* START, EMPTY: data is not all blanks */
};

struct xscan {
	const char	*buf;
	const char	*p;		/* next byte to read */
	const char	*end;
	int		 stopped;	/* after BAD or DECL */
};

/** Start scanning buf[0..len). */
void		 xscan_init(struct xscan *, const char *buf, size_t len);
/** Scan from buf + off instead of its start. */
void		 xscan_init_at(struct xscan *, const char *buf, size_t len,
		    size_t off);
/**
 * The next token into *t. After XSCAN_EOF, XSCAN_BAD or XSCAN_DECL every
 * further call returns XSCAN_EOF (BAD and DECL: t->p is where the scan
 * stopped).
 * @return t->kind.
 */
enum xscan_kind	 xscan_next(struct xscan *, struct xscan_tok *t);
/** 1 if t is a START, EMPTY or END tag whose local name is local. */
int		 xscan_is(const struct xscan_tok *t, const char *local);
/** 1 if t is a START or EMPTY tag (closing 0) or an END tag (closing 1)
 * whose local name is local. */
int		 xscan_is_tag(const struct xscan_tok *t, const char *local,
		    int closing);
/** Offset of t in the buffer s scans. */
size_t		 xscan_off(const struct xscan *, const struct xscan_tok *t);
/**
 * The next START/EMPTY (closing 0) or END (closing 1) tag named local at
 * or after the scanner's position, into *t (which may be NULL).
 * @return 0 if found, -1 at the end of the input or where the scan stops.
 */
int		 xscan_find(struct xscan *, const char *local, int closing,
		    struct xscan_tok *t);
/**
 * The text content of the first element named local in buf[0..len):
 * its character data and CDATA sections up to the first markup that is
 * neither, leading and trailing blanks trimmed, cut to fit dst[dsz]
 * (entities are not decoded: "&amp;" stays as written). "" when there is
 * no such element.
 * @return dst.
 */
char		*xscan_text(const char *buf, size_t len, const char *local,
		    char *dst, size_t dsz);

#endif
