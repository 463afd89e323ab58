/*
 * util - allocation that dies on OOM, bounded strings, time, a growable
 * byte buffer, and small encoders shared by every nlswitch program.
 */
#ifndef NLSWITCH_UTIL_H
#define NLSWITCH_UTIL_H

/* The version: the Makefile's VERSION (builds without it say so). */
#ifndef NLSWITCH_VERSION
#define NLSWITCH_VERSION	"unknown"
#endif

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Allocators: fatal() on out-of-memory, never return NULL. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
/** asprintf that dies on OOM. */
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/**
 * Copy src into dst of size dsz, always NUL-terminated.
 * @return strlen(src); truncation happened when the result is >= dsz.
 */
size_t	 util_strlcpy(char *dst, const char *src, size_t dsz);

/** Wall clock in microseconds since the epoch. */
uint64_t util_now_us(void);
/** Monotonic clock in microseconds. */
uint64_t util_mono_us(void);

/** Big-endian load/store. */
void	 util_put_be16(uint8_t *, uint16_t);
void	 util_put_be32(uint8_t *, uint32_t);
void	 util_put_be64(uint8_t *, uint64_t);
uint16_t util_get_be16(const uint8_t *);
uint32_t util_get_be32(const uint8_t *);
uint64_t util_get_be64(const uint8_t *);

/*
 * Native-order load/store at any alignment: LMDB's own pages (mdbcheck.c
 * and the tools and tests that damage them). Inline: mdbcheck reads every
 * page of the store with them at start-up.
 */
static inline uint16_t
util_get_ne16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

static inline uint32_t
util_get_ne32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

static inline uint64_t
util_get_ne64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

static inline void
util_put_ne16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof v);
}

/**
 * splitmix64: a small, seedable, reproducible pseudo-random stream for
 * synthetic data (DMV records, avatars); never for secrets.
 * util_rand_below draws in [0, n) (multiply-shift; the bias is far below
 * anything visible).
 */
uint64_t util_rand_next(uint64_t *state);
uint32_t util_rand_below(uint64_t *state, uint32_t n);

/** Read a whole file into a NUL-terminated heap buffer; NULL + errno on failure. */
char	*util_read_file(const char *path, size_t *lenp);
/**
 * A time an operator writes, the same for nlctl and nlaudit: relative
 * "-N" with s, m, h or d (default s) before now_us; absolute RFC 3339
 * "YYYY-MM-DDTHH:MM[:SS[.frac]]" with "Z" or "+HH:MM"/"-HH:MM" (none:
 * UTC; the audit records' own "time" is one), "YYYY-MM-DD" (midnight
 * UTC), or seconds since the epoch.
 * @return 0 with *us set, or -1 if s is none of these.
 */
int	 util_parse_time(const char *s, uint64_t now_us, uint64_t *us);
#define UTIL_TIME_HELP	"TIME: -N[smhd] (ago), YYYY-MM-DD[THH:MM[:SS[.f]]][Z|+HH:MM] or epoch seconds"

/** Create the directory holding path if it is missing (one level). */
int	 util_mkdir_parent(const char *path);
/** Write a file atomically (tmp + rename); 0 or -1 with errno. */
int	 util_write_file(const char *path, const void *data, size_t len);

/* A growable byte buffer. */
struct ubuf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};
void	 ubuf_init(struct ubuf *);
void	 ubuf_free(struct ubuf *);
void	 ubuf_reset(struct ubuf *);
void	 ubuf_add(struct ubuf *, const void *, size_t);
void	 ubuf_adds(struct ubuf *, const char *);
void	 ubuf_printf(struct ubuf *, const char *, ...) __attribute__((format(printf, 2, 3)));
/** Append s with XML character escaping (&, <, >, ", '). */
void	 ubuf_add_xml(struct ubuf *, const char *s, size_t len);
/** Append s as a JSON string literal (quotes included). */
void	 ubuf_add_json(struct ubuf *, const char *s);
/** Detach the NUL-terminated contents; the buffer is reset. */
char	*ubuf_take(struct ubuf *, size_t *lenp);

/** Base64 (RFC 4648, no line breaks) encode; the result is NUL-terminated. */
char	*util_b64_encode(const uint8_t *in, size_t len, size_t *outlen);
/**
 * Fast base64 check for large payloads (a photo), ignoring XML whitespace.
 * @return decoded length, or -1 when the text is not valid base64.
 */
long	 util_b64_check(const char *in, size_t len);

/**
 * Tune malloc for a process that allocates and frees message-sized
 * buffers (up to 1 MB) at a high rate: they come from the heap, not from
 * mmap, and freed memory stays in the heap instead of going back to the
 * kernel to be faulted in again a moment later. Call once, first thing.
 */
void	 util_malloc_tune(void);
/** Decode base64 (whitespace ignored) into a new buffer; NULL if invalid. */
uint8_t	*util_b64_decode(const char *in, size_t len, size_t *outlen);

/**
 * The answer to --version: "NAME VERSION" on stdout, then exit 0.
 * @param name the program's name (nlctl, not argv[0]).
 */
void	 util_version_exit(const char *name) __attribute__((noreturn));

/**
 * The directory of the XML schemas every program validates with:
 * $NLSWITCH_SCHEMADIR when set; else PREFIX/share/nlswitch/schemas when
 * the running executable sits in PREFIX/bin or PREFIX/sbin and that
 * directory holds config.xsd (an installed copy, wherever `make install`
 * put it, DESTDIR staging included); else the build tree's schemas/
 * (NLSWITCH_SCHEMADIR, compiled in).
 * @return a string valid for the life of the process; never NULL.
 */
const char *util_schemadir(void);

#endif
