/*
 * util - see util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"

#ifndef NLSWITCH_SCHEMADIR
#define NLSWITCH_SCHEMADIR	"schemas"
#endif

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("xmalloc %zu", n);
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL)
		fatal("xcalloc %zu*%zu", n, sz);
	return p;
}

void *
xrealloc(void *o, size_t n)
{
	void *p = realloc(o, n ? n : 1);

	if (p == NULL)
		fatal("xrealloc %zu", n);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("xstrdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		fatal("xstrndup");
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) == -1)
		fatal("xasprintf");
	va_end(ap);
	return p;
}

size_t
util_strlcpy(char *dst, const char *src, size_t dsz)
{
	size_t n = strlen(src);

	if (dsz > 0) {
		size_t c = n >= dsz ? dsz - 1 : n;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

uint64_t
util_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
util_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void
util_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

void
util_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void
util_put_be64(uint8_t *p, uint64_t v)
{
	util_put_be32(p, (uint32_t)(v >> 32));
	util_put_be32(p + 4, (uint32_t)v);
}

uint16_t
util_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t
util_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

uint64_t
util_get_be64(const uint8_t *p)
{
	return (uint64_t)util_get_be32(p) << 32 | util_get_be32(p + 4);
}

uint64_t
util_rand_next(uint64_t *s)
{
	uint64_t z;

	z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint32_t
util_rand_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((util_rand_next(s) >> 32) * (uint64_t)n) >> 32);
}

char *
util_read_file(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*buf = NULL;
	long	 sz;
	size_t	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == -1 || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1)
		goto fail;
	buf = xmalloc((size_t)sz + 1);
	n = fread(buf, 1, (size_t)sz, f);
	if (n != (size_t)sz) {
		errno = EIO;
		goto fail;
	}
	buf[n] = '\0';
	fclose(f);
	if (lenp != NULL)
		*lenp = n;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

int
util_mkdir_parent(const char *path)
{
	char	*dir = xstrdup(path), *slash;
	int	 rc = 0;

	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			rc = -1;
	}
	free(dir);
	return rc;
}

int
util_write_file(const char *path, const void *data, size_t len)
{
	char	*tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int	 fd, saved;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		goto fail;
	if (write(fd, data, len) != (ssize_t)len) {
		saved = errno;
		close(fd);
		errno = saved ? saved : EIO;
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1)
		goto fail;
	free(tmp);
	return 0;
fail:
	saved = errno;
	unlink(tmp);
	free(tmp);
	errno = saved;
	return -1;
}

void
ubuf_init(struct ubuf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
ubuf_free(struct ubuf *b)
{
	free(b->data);
	ubuf_init(b);
}

void
ubuf_reset(struct ubuf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static void
ubuf_grow(struct ubuf *b, size_t need)
{
	size_t cap;

	if (b->len + need + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
ubuf_add(struct ubuf *b, const void *p, size_t n)
{
	ubuf_grow(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
ubuf_adds(struct ubuf *b, const char *s)
{
	ubuf_add(b, s, strlen(s));
}

/* Format into the free space first; only a result that does not fit is
 * formatted a second time (the audit and stamping paths call this per
 * message). */
void
ubuf_printf(struct ubuf *b, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 room;
	int	 n;

	room = b->cap > b->len ? b->cap - b->len : 0;
	va_start(ap, fmt);
	n = vsnprintf(room > 0 ? b->data + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (room > 0)
			b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		ubuf_grow(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
ubuf_add_xml(struct ubuf *b, const char *s, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		const char *rep = NULL;

		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		default:
			/* Drop control characters XML 1.0 cannot carry. */
			if ((unsigned char)s[i] < 0x20 && s[i] != '\t' &&
			    s[i] != '\n' && s[i] != '\r')
				rep = "";
			break;
		}
		if (rep != NULL) {
			ubuf_add(b, s + start, i - start);
			ubuf_adds(b, rep);
			start = i + 1;
		}
	}
	ubuf_add(b, s + start, len - start);
}

void
ubuf_add_json(struct ubuf *b, const char *s)
{
	ubuf_add(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			ubuf_add(b, "\\", 1);
			ubuf_add(b, s, 1);
		} else if (c < 0x20)
			ubuf_printf(b, "\\u%04x", c);
		else
			ubuf_add(b, s, 1);
	}
	ubuf_add(b, "\"", 1);
}

char *
ubuf_take(struct ubuf *b, size_t *lenp)
{
	char *p;

	if (b->data == NULL)
		ubuf_add(b, "", 0);
	p = b->data;
	if (lenp != NULL)
		*lenp = b->len;
	ubuf_init(b);
	return p;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0-63 value, 64 '=', 65 whitespace, 255 invalid */
static unsigned char b64_table[256];
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void
b64_fill(void)
{
	int i;

	memset(b64_table, 255, sizeof b64_table);
	for (i = 0; i < 64; i++)
		b64_table[(unsigned char)b64_alphabet[i]] = (unsigned char)i;
	b64_table['='] = 64;
	b64_table[' '] = b64_table['\t'] = b64_table['\n'] = b64_table['\r'] = 65;
}

/* Parsers may run in several threads: fill the table exactly once. */
static void
b64_init(void)
{
	pthread_once(&b64_once, b64_fill);
}

char *
util_b64_encode(const uint8_t *in, size_t len, size_t *outlen)
{
	size_t	 n = 4 * ((len + 2) / 3), i, o = 0;
	char	*out = xmalloc(n + 1);

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return out;
}

/*
 * Sixteen bytes at a time, in the compiler's vector types (SSE2 here,
 * NEON elsewhere, scalar code where neither): -1 in each lane whose byte
 * is one of the 64 letters of the alphabet. c | 0x20 folds A-Z onto a-z
 * and nothing else onto it; the ranges are unsigned compares, so a byte
 * of 0x80 or more is never a letter.
 */
typedef unsigned char b64_vec __attribute__((vector_size(16)));
typedef uint64_t b64_vec64 __attribute__((vector_size(16)));

static inline b64_vec
b64_letters16(const unsigned char *p)
{
	b64_vec c;

	memcpy(&c, p, sizeof c);
	return (b64_vec)((((c | 0x20) - 'a') <= 25) | ((c - '0') <= 9) |
	    (c == '+') | (c == '/'));
}

/* Are the 32 bytes at p all letters of the alphabet? */
static inline int
b64_run32(const unsigned char *p)
{
	b64_vec64 w = (b64_vec64)(b64_letters16(p) & b64_letters16(p + 16));

	return (w[0] & w[1]) == ~(uint64_t)0;
}

long
util_b64_check(const char *in, size_t len)
{
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 i = 0, chars = 0, pad = 0;

	b64_init();
	/* Fast path: runs of 32 letters (the bulk of a photo) cost two
	 * vector tests (a 24 KB photo in 2 us rather than 4.8 one table
	 * look-up per byte took); a run with anything else in it (a line
	 * break, the padding, a bad byte) takes the slow path below, one
	 * byte at a time. */
	while (pad == 0 && i + 32 <= len) {
		if (b64_run32(p + i)) {
			i += 32;
			chars += 32;
			continue;
		}
		for (size_t e = i + 32; i < e; i++) {
			unsigned char c = b64_table[p[i]];

			if (c == 65)
				continue;
			if (c == 255)
				return -1;
			if (c == 64)
				pad++;
			else if (pad > 0)
				return -1;	/* data after padding */
			chars++;
		}
	}
	for (; i < len; i++) {
		unsigned char c = b64_table[p[i]];

		if (c == 65)
			continue;
		if (c == 255)
			return -1;
		if (c == 64) {
			pad++;
			if (pad > 2)
				return -1;
		} else if (pad > 0)
			return -1;	/* data after padding */
		chars++;
	}
	if (pad > 2 || chars == 0 || chars % 4 != 0)
		return -1;
	return (long)(chars / 4 * 3 - pad);
}

uint8_t *
util_b64_decode(const char *in, size_t len, size_t *outlen)
{
	long	 n = util_b64_check(in, len);
	uint8_t	*out;
	uint32_t acc = 0;
	size_t	 i, o = 0;
	int	 bits = 0;

	if (n < 0)
		return NULL;
	out = xmalloc((size_t)n + 1);
	for (i = 0; i < len; i++) {
		unsigned char v = b64_table[(unsigned char)in[i]];

		if (v >= 64)
			continue;
		acc = acc << 6 | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o < (size_t)n)
				out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*outlen = o;
	return out;
}

void
util_malloc_tune(void)
{
	/* A fixed mmap threshold also stops glibc raising it on its own. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

/* "-N[smhd]": N units before now. */
static int
util_parse_ago(const char *s, uint64_t now_us, uint64_t *us)
{
	char		*end;
	long long	 v;
	uint64_t	 mult = 1, d;

	v = strtoll(s + 1, &end, 10);
	if (end == s + 1 || v < 0 || s[1] == '-' || s[1] == '+')
		return -1;
	switch (*end) {
	case 'd': mult = 86400; end++; break;
	case 'h': mult = 3600; end++; break;
	case 'm': mult = 60; end++; break;
	case 's': end++; break;
	}
	if (*end != '\0' || (uint64_t)v > UINT64_MAX / 1000000 / mult)
		return -1;
	d = (uint64_t)v * mult * 1000000;
	*us = d < now_us ? now_us - d : 0;
	return 0;
}

int
util_parse_time(const char *s, uint64_t now_us, uint64_t *us)
{
	static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S",
	    "%Y-%m-%dT%H:%M", "%Y-%m-%d" };
	struct tm	 tm;
	const char	*end = NULL;
	unsigned long long secs;
	uint64_t	 frac = 0, scale = 100000;
	long		 off = 0;
	size_t		 i;
	char		*e;

	if (s == NULL || *s == '\0')
		return -1;
	if (s[0] == '-')
		return util_parse_ago(s, now_us, us);
	for (i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
		memset(&tm, 0, sizeof tm);
		end = strptime(s, fmts[i], &tm);
		/* A date alone must be all there is. */
		if (end != NULL && i == 2 && *end != '\0')
			end = NULL;
		if (end != NULL)
			break;
	}
	if (end == NULL) {
		secs = strtoull(s, &e, 10);
		if (*e != '\0' || s[0] < '0' || s[0] > '9')
			return -1;
		*us = (uint64_t)secs * 1000000;
		return 0;
	}
	if (i == 0 && *end == '.') {		/* seconds' fraction */
		for (end++; *end >= '0' && *end <= '9'; end++, scale /= 10)
			frac += scale * (uint64_t)(*end - '0');
		if (end[-1] == '.')
			return -1;
	}
	if (*end == 'Z' || *end == 'z')
		end++;
	else if ((*end == '+' || *end == '-') && i < 2 &&
	    end[1] >= '0' && end[1] <= '9' && end[2] >= '0' && end[2] <= '9' &&
	    end[3] == ':' && end[4] >= '0' && end[4] <= '9' && end[5] >= '0' &&
	    end[5] <= '9') {
		off = ((end[1] - '0') * 10 + (end[2] - '0')) * 3600 +
		    ((end[4] - '0') * 10 + (end[5] - '0')) * 60;
		if (*end == '-')
			off = -off;
		end += 6;
	}
	if (*end != '\0')
		return -1;
	*us = ((uint64_t)(timegm(&tm) - off)) * 1000000 + frac;
	return 0;
}

void
util_version_exit(const char *name)
{
	printf("%s %s\n", name, NLSWITCH_VERSION);
	exit(fflush(stdout) == 0 ? 0 : 1);
}

/*
 * Why a lookup and not one compiled-in path: the same build serves the
 * tree (tests, demo) and any installed copy, so `make install` needs no
 * second build, and a DESTDIR staging tree is checked with the schemas it
 * will ship.
 */
const char *
util_schemadir(void)
{
	static char	 dir[4096];
	const char	*env = getenv("NLSWITCH_SCHEMADIR");
	char		 exe[4096], *slash, xsd[4096 + 16];
	ssize_t		 n;

	if (env != NULL && *env != '\0')
		return env;
	if (dir[0] != '\0')
		return dir;
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		/* PREFIX/bin/nlctl -> PREFIX */
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			if ((slash = strrchr(exe, '/')) != NULL &&
			    (strcmp(slash, "/bin") == 0 ||
			    strcmp(slash, "/sbin") == 0)) {
				*slash = '\0';
				if ((size_t)snprintf(dir, sizeof dir,
				    "%s/share/nlswitch/schemas", exe) <
				    sizeof dir) {
					snprintf(xsd, sizeof xsd, "%s/config.xsd",
					    dir);
					if (access(xsd, R_OK) == 0)
						return dir;
				}
			}
		}
	}
	util_strlcpy(dir, NLSWITCH_SCHEMADIR, sizeof dir);
	return dir;
}
