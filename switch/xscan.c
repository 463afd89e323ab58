/*
 * xscan - byte-level XML tokenizer (see xscan.h).
 *
 * memchr() finds the next '<' and memmem() the end of a comment, CDATA
 * section or PI: both stride over long texts (a 40 KB photo) many bytes
 * at a time, so a scan costs little more than reading the input once.
 */
#include <string.h>

#include "xscan.h"

static int
xscan_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void
xscan_init(struct xscan *s, const char *buf, size_t len)
{
	xscan_init_at(s, buf, len, 0);
}

void
xscan_init_at(struct xscan *s, const char *buf, size_t len, size_t off)
{
	s->buf = buf;
	s->p = buf + (off < len ? off : len);
	s->end = buf + len;
	s->stopped = 0;
}

/* Stop the scan at p with kind (BAD or DECL). */
static enum xscan_kind
xscan_stop(struct xscan *s, struct xscan_tok *t, const char *p,
    enum xscan_kind kind)
{
	t->kind = kind;
	t->p = p;
	t->len = (size_t)(s->end - p);
	s->p = s->end;
	s->stopped = 1;
	return kind;
}

/* A delimited token: open at p (olen bytes), data up to close. */
static enum xscan_kind
xscan_delim(struct xscan *s, struct xscan_tok *t, const char *p, size_t olen,
    const char *close, size_t clen, enum xscan_kind kind)
{
	const char	*d = p + olen, *e;

	e = memmem(d, (size_t)(s->end - d), close, clen);
	if (e == NULL)
		return xscan_stop(s, t, p, XSCAN_BAD);
	t->kind = kind;
	t->p = p;
	t->len = (size_t)(e + clen - p);
	t->data = d;
	t->datalen = (size_t)(e - d);
	s->p = e + clen;
	return kind;
}

/* A start, empty or end tag at p. */
static enum xscan_kind
xscan_tag(struct xscan *s, struct xscan_tok *t, const char *p)
{
	const char	*q = p + 1, *end = s->end, *n, *e, *a;
	int		 closing = 0;

	if (q < end && *q == '/') {
		closing = 1;
		q++;
	}
	n = q;
	while (q < end && !xscan_blank((unsigned char)*q) && *q != '>' &&
	    *q != '/' && *q != '<')
		q++;
	t->name = n;
	t->namelen = (size_t)(q - n);
	for (e = q; e > n && e[-1] != ':'; e--)
		;
	t->local = e;
	t->locallen = (size_t)(q - e);
	a = q;
	t->attrs = 0;
	while (q < end && *q != '>') {
		if (*q == '"' || *q == '\'') {
			e = memchr(q + 1, *q, (size_t)(end - q - 1));
			if (e == NULL)
				return xscan_stop(s, t, p, XSCAN_BAD);
			q = e + 1;
			t->attrs = 1;
			continue;
		}
		if (*q == '<')
			return xscan_stop(s, t, p, XSCAN_BAD);
		if (!xscan_blank((unsigned char)*q) && !(*q == '/' &&
		    q + 1 < end && q[1] == '>'))
			t->attrs = 1;
		q++;
	}
	if (q >= end || t->namelen == 0)
		return xscan_stop(s, t, p, XSCAN_BAD);
	t->p = p;
	t->len = (size_t)(q + 1 - p);
	t->data = a;
	if (closing)
		t->kind = XSCAN_END;
	else if (q > a && q[-1] == '/') {
		t->kind = XSCAN_EMPTY;
		q--;
	} else
		t->kind = XSCAN_START;
	t->datalen = (size_t)(q - a);
	s->p = p + t->len;
	return t->kind;
}

enum xscan_kind
xscan_next(struct xscan *s, struct xscan_tok *t)
{
	const char	*p = s->p, *end = s->end, *q;
	size_t		 left;

	memset(t, 0, sizeof *t);
	if (s->stopped || p >= end) {
		t->p = end;
		return t->kind = XSCAN_EOF;
	}
	if (*p != '<') {
		q = memchr(p, '<', (size_t)(end - p));
		if (q == NULL)
			q = end;
		t->kind = XSCAN_TEXT;
		t->p = t->data = p;
		t->len = t->datalen = (size_t)(q - p);
		s->p = q;
		return XSCAN_TEXT;
	}
	left = (size_t)(end - p);
	if (left >= 4 && memcmp(p, "<!--", 4) == 0)
		return xscan_delim(s, t, p, 4, "-->", 3, XSCAN_COMMENT);
	if (left >= 9 && memcmp(p, "<![CDATA[", 9) == 0)
		return xscan_delim(s, t, p, 9, "]]>", 3, XSCAN_CDATA);
	if (left >= 2 && p[1] == '?')
		return xscan_delim(s, t, p, 2, "?>", 2, XSCAN_PI);
	if (left >= 2 && p[1] == '!')
		return xscan_stop(s, t, p, XSCAN_DECL);
	return xscan_tag(s, t, p);
}

int
xscan_is(const struct xscan_tok *t, const char *local)
{
	size_t n;

	if (t->kind != XSCAN_START && t->kind != XSCAN_EMPTY &&
	    t->kind != XSCAN_END)
		return 0;
	n = strlen(local);
	return t->locallen == n && memcmp(t->local, local, n) == 0;
}

int
xscan_is_tag(const struct xscan_tok *t, const char *local, int closing)
{
	if (closing ? t->kind != XSCAN_END :
	    t->kind != XSCAN_START && t->kind != XSCAN_EMPTY)
		return 0;
	return xscan_is(t, local);
}

size_t
xscan_off(const struct xscan *s, const struct xscan_tok *t)
{
	return (size_t)(t->p - s->buf);
}

int
xscan_find(struct xscan *s, const char *local, int closing,
    struct xscan_tok *t)
{
	struct xscan_tok	 tmp;
	struct xscan_tok	*tt = t != NULL ? t : &tmp;

	for (;;) {
		switch (xscan_next(s, tt)) {
		case XSCAN_EOF:
		case XSCAN_BAD:
		case XSCAN_DECL:
			return -1;
		default:
			if (xscan_is_tag(tt, local, closing))
				return 0;
		}
	}
}

char *
xscan_text(const char *buf, size_t len, const char *local, char *dst,
    size_t dsz)
{
	struct xscan		 s;
	struct xscan_tok	 t;
	size_t			 o = 0, n, b;

	if (dsz == 0)
		return dst;
	dst[0] = '\0';
	if (buf == NULL)
		return dst;
	xscan_init(&s, buf, len);
	if (xscan_find(&s, local, 0, &t) == -1 || t.kind == XSCAN_EMPTY)
		return dst;
	while (xscan_next(&s, &t) == XSCAN_TEXT || t.kind == XSCAN_CDATA) {
		n = t.datalen;
		if (n > dsz - 1 - o)
			n = dsz - 1 - o;
		memcpy(dst + o, t.data, n);
		o += n;
	}
	dst[o] = '\0';
	while (o > 0 && xscan_blank((unsigned char)dst[o - 1]))
		dst[--o] = '\0';
	for (b = 0; b < o && xscan_blank((unsigned char)dst[b]); b++)
		;
	if (b > 0)
		memmove(dst, dst + b, o - b + 1);
	return dst;
}
