/*
 * recorder - see recorder.h; the format is in docs/capture.md.
 *
 * Record layout (big-endian), after the 32-byte file header:
 *
 *   u32 len      bytes after this 8-byte prefix (36 + line + cn + data)
 *   u32 crc      CRC-32 (zlib) of those len bytes
 *   u8  type     enum recorder_type
 *   u8  flags    RECORDER_R_*
 *   u16 copy     copy index (DLV), else 0
 *   u32 datalen
 *   u64 time_us  wall clock
 *   u64 sess     switch session number
 *   u64 id       tag (MSG ACK NAK) or message ID (DLV)
 *   u8  linelen, u8 cnlen, u16 0
 *   line, cn, data
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "config.h"
#include "log.h"
#include "recorder.h"
#include "util.h"
#include "xscan.h"

/* The photo element: its text is redacted unless images="yes". */
#define RECORDER_B64_EL		"BinaryBase64Object"

#define RECORDER_BUF_FLUSH	(64 * 1024)	/* write out at this much */
#define RECORDER_PH_MAGIC	"NLREPLAY"	/* replay placeholder photo */

static void	recorder_flush_cb(evutil_socket_t, short, void *);

/* The capture being written (one per process). */
struct recorder {
	char		*path;
	int		 fd;
	int		 images;
	size_t		 max_bytes;
	int		 max_files;
	uint32_t	 seq;		/* file number in this run, from 1 */
	int		 next_rot;	/* next path.N to rotate to */
	uint64_t	 file_bytes;	/* written to the current file */
	struct ubuf	 buf;		/* not written yet */
	struct event	*ev_flush;
	uint64_t	 records;
};

static struct recorder *rec;

static const char *const recorder_names[] = {
	"?", "UP", "DOWN", "MSG", "ACK", "NAK", "DLV"
};

const char *
recorder_type_name(enum recorder_type t)
{
	return (t >= RECORDER_UP && t <= RECORDER_DLV) ? recorder_names[t] :
	    recorder_names[0];
}

/* write(2) all of it. */
static int
recorder_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
recorder_stop(const char *why)
{
	if (rec == NULL)
		return;
	if (why != NULL)
		log_warn("recorder: %s: %s; recording stopped", rec->path, why);
	else
		log_info("recorder: %s: closed records=%llu", rec->path,
		    (unsigned long long)rec->records);
	if (rec->fd != -1)
		close(rec->fd);
	if (rec->ev_flush != NULL)
		event_free(rec->ev_flush);
	ubuf_free(&rec->buf);
	free(rec->path);
	free(rec);
	rec = NULL;
}

/* Write out the buffer. @return 0, -1 (recording stopped). */
static int
recorder_flush(void)
{
	if (rec == NULL || rec->buf.len == 0)
		return 0;
	if (recorder_write_all(rec->fd, rec->buf.data, rec->buf.len) == -1) {
		recorder_stop("write");
		return -1;
	}
	rec->file_bytes += rec->buf.len;
	ubuf_reset(&rec->buf);
	return 0;
}

static void
recorder_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	recorder_flush();
}

/* Start a new file at rec->path with its header. */
static int
recorder_open_file(void)
{
	uint8_t	hdr[RECORDER_FILE_HDR];

	rec->fd = open(rec->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	if (rec->fd == -1)
		return -1;
	memset(hdr, 0, sizeof hdr);
	memcpy(hdr, RECORDER_MAGIC, 8);
	util_put_be16(hdr + 8, RECORDER_VERSION);
	util_put_be16(hdr + 10, RECORDER_FILE_HDR);
	util_put_be32(hdr + 12, rec->images ? RECORDER_F_IMAGES : 0);
	util_put_be64(hdr + 16, util_now_us());
	util_put_be32(hdr + 24, ++rec->seq);
	ubuf_add(&rec->buf, hdr, sizeof hdr);
	rec->file_bytes = 0;
	return 0;
}

/* Move the file at path to path.N (the next free N, oldest first). */
static int
recorder_rotate_out(void)
{
	struct stat	 st;
	char		*to, *old;

	if (stat(rec->path, &st) == -1)
		return 0;
	for (;;) {
		to = xasprintf("%s.%d", rec->path, rec->next_rot);
		if (stat(to, &st) == -1)
			break;
		free(to);
		rec->next_rot++;
	}
	if (rename(rec->path, to) == -1) {
		free(to);
		return -1;
	}
	log_info("recorder: rotated %s -> %s", rec->path, to);
	free(to);
	if (rec->max_files > 0 && rec->next_rot - rec->max_files >= 1) {
		old = xasprintf("%s.%d", rec->path,
		    rec->next_rot - rec->max_files);
		unlink(old);
		free(old);
	}
	rec->next_rot++;
	return 0;
}

/* The current file is full: close it, rotate it out, start the next. */
static int
recorder_rotate(void)
{
	if (recorder_flush() == -1)
		return -1;
	close(rec->fd);
	rec->fd = -1;
	if (recorder_rotate_out() == -1 || recorder_open_file() == -1) {
		recorder_stop("rotate");
		return -1;
	}
	return 0;
}

int
recorder_configure(struct event_base *base, const struct config *cfg,
    char **cause)
{
	struct timeval	one = { 1, 0 };

	*cause = NULL;
	if (rec != NULL && cfg->record_path != NULL &&
	    strcmp(rec->path, cfg->record_path) == 0 &&
	    rec->images == cfg->record_images) {
		rec->max_bytes = cfg->record_max_bytes;
		rec->max_files = cfg->record_max_files;
		return 0;
	}
	if (rec != NULL) {
		recorder_flush();
		recorder_stop(NULL);
	}
	if (cfg->record_path == NULL)
		return 0;
	rec = xcalloc(1, sizeof *rec);
	rec->fd = -1;
	rec->path = xstrdup(cfg->record_path);
	rec->images = cfg->record_images;
	rec->max_bytes = cfg->record_max_bytes;
	rec->max_files = cfg->record_max_files;
	rec->next_rot = 1;
	ubuf_init(&rec->buf);
	if (util_mkdir_parent(rec->path) == -1 ||
	    recorder_rotate_out() == -1 || recorder_open_file() == -1) {
		*cause = xasprintf("record %s: %s", cfg->record_path,
		    strerror(errno));
		recorder_stop(NULL);
		return -1;
	}
	rec->ev_flush = event_new(base, -1, EV_PERSIST, recorder_flush_cb,
	    NULL);
	event_add(rec->ev_flush, &one);
	log_info("recorder: recording to %s max-bytes=%zu images=%s",
	    rec->path, rec->max_bytes, rec->images ? "yes" : "no");
	return 0;
}

void
recorder_shutdown(void)
{
	if (rec == NULL)
		return;
	if (recorder_flush() == 0)
		recorder_stop(NULL);
}

/*
 * Append one record. data is given in up to three parts (a delivery is a
 * body with the stamped elements in the middle).
 */
static void
recorder_put(enum recorder_type type, uint8_t flags, uint16_t copy,
    uint64_t sess, uint64_t id, const char *line, const char *cn,
    const char *d0, size_t l0, const char *d1, size_t l1, const char *d2,
    size_t l2)
{
	uint8_t		 f[RECORDER_REC_PREFIX + RECORDER_REC_FIXED];
	size_t		 ll = strlen(line), cl = strlen(cn), start, n;
	uint32_t	 crc;

	if (ll > 255)
		ll = 255;
	if (cl > 255)
		cl = 255;
	n = RECORDER_REC_FIXED + ll + cl + l0 + l1 + l2;
	if (n > RECORDER_REC_MAX) {
		log_warnx("recorder: %s record of %zu bytes not recorded",
		    recorder_type_name(type), n);
		return;
	}
	if (rec->max_bytes > 0 && rec->file_bytes + rec->buf.len >
	    RECORDER_FILE_HDR && rec->file_bytes + rec->buf.len +
	    RECORDER_REC_PREFIX + n > rec->max_bytes && recorder_rotate() == -1)
		return;
	util_put_be32(f, (uint32_t)n);
	util_put_be32(f + 4, 0);
	f[8] = (uint8_t)type;
	f[9] = flags;
	util_put_be16(f + 10, copy);
	util_put_be32(f + 12, (uint32_t)(l0 + l1 + l2));
	util_put_be64(f + 16, util_now_us());
	util_put_be64(f + 24, sess);
	util_put_be64(f + 32, id);
	f[40] = (uint8_t)ll;
	f[41] = (uint8_t)cl;
	f[42] = f[43] = 0;
	start = rec->buf.len;
	ubuf_add(&rec->buf, f, sizeof f);
	ubuf_add(&rec->buf, line, ll);
	ubuf_add(&rec->buf, cn, cl);
	if (l0 > 0)
		ubuf_add(&rec->buf, d0, l0);
	if (l1 > 0)
		ubuf_add(&rec->buf, d1, l1);
	if (l2 > 0)
		ubuf_add(&rec->buf, d2, l2);
	crc = (uint32_t)crc32(0L, (const Bytef *)rec->buf.data + start +
	    RECORDER_REC_PREFIX, (uInt)n);
	util_put_be32((uint8_t *)rec->buf.data + start + 4, crc);
	rec->records++;
	if (rec->buf.len >= RECORDER_BUF_FLUSH)
		recorder_flush();
}

/* Record a message body, its photos redacted unless images="yes". */
static void
recorder_put_body(enum recorder_type type, uint16_t copy, uint64_t sess,
    uint64_t id, const char *line, const char *cn, const char *xml,
    size_t len)
{
	struct ubuf	b;

	if (!rec->images && xml != NULL &&
	    memmem(xml, len, RECORDER_B64_EL, strlen(RECORDER_B64_EL)) != NULL) {
		ubuf_init(&b);
		recorder_redact(&b, xml, len);
		recorder_put(type, RECORDER_R_REDACTED, copy, sess, id, line,
		    cn, b.data, b.len, NULL, 0, NULL, 0);
		ubuf_free(&b);
		return;
	}
	recorder_put(type, 0, copy, sess, id, line, cn, xml, len, NULL, 0,
	    NULL, 0);
}

void
recorder_msg(const struct recorder_who *w, uint64_t tag, const char *xml,
    size_t len)
{
	if (rec == NULL)
		return;
	recorder_put_body(RECORDER_MSG, 0, w->sess, tag, w->line, w->cn, xml,
	    len);
}

void
recorder_ack(const struct recorder_who *w, uint64_t tag, const char *msgid)
{
	if (rec == NULL)
		return;
	recorder_put(RECORDER_ACK, 0, 0, w->sess, tag, w->line, w->cn, msgid,
	    strlen(msgid), NULL, 0, NULL, 0);
}

void
recorder_nak(const struct recorder_who *w, uint64_t tag, const char *er,
    size_t len)
{
	if (rec == NULL)
		return;
	recorder_put(RECORDER_NAK, 0, 0, w->sess, tag, w->line, w->cn, er, len,
	    NULL, 0, NULL, 0);
}

void
recorder_dlv(const struct recorder_who *w, uint64_t msgid, uint16_t copy,
    const char *head, size_t headlen, const char *tail, size_t taillen)
{
	struct ubuf	b;

	if (rec == NULL)
		return;
	if (!rec->images && tail != NULL && memmem(tail, taillen, RECORDER_B64_EL,
	    strlen(RECORDER_B64_EL)) != NULL) {
		ubuf_init(&b);
		ubuf_add(&b, head, headlen);
		ubuf_add(&b, tail, taillen);
		recorder_put_body(RECORDER_DLV, copy, w->sess, msgid, w->line,
		    w->cn, b.data, b.len);
		ubuf_free(&b);
		return;
	}
	recorder_put(RECORDER_DLV, 0, copy, w->sess, msgid, w->line, w->cn,
	    head, headlen, tail, taillen, NULL, 0);
}

void
recorder_line(const struct recorder_who *w, const char *peer, int up)
{
	if (rec == NULL)
		return;
	recorder_put(up ? RECORDER_UP : RECORDER_DOWN, 0, 0, w->sess, 0,
	    w->line, w->cn, peer, strlen(peer), NULL, 0, NULL, 0);
}

/*
 * Photo privacy.
 */

#define RECORDER_REDACTED	"redacted len="

static void
recorder_hex(char *out, const uint8_t *h, size_t n)
{
	static const char x[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = x[h[i] >> 4];
		out[2 * i + 1] = x[h[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Replace the text of each photo element in xml by what fn makes of it. */
static int
recorder_photos(struct ubuf *out, const char *xml, size_t len,
    int (*fn)(struct ubuf *, const char *, size_t))
{
	struct xscan		 sc;
	struct xscan_tok	 t;
	size_t			 at = 0, o, c;
	int			 n = 0;

	xscan_init(&sc, xml, len);
	while (xscan_find(&sc, RECORDER_B64_EL, 0, &t) == 0) {
		if (t.kind == XSCAN_EMPTY)
			continue;
		o = xscan_off(&sc, &t) + t.len;
		if (xscan_find(&sc, RECORDER_B64_EL, 1, &t) == -1)
			break;
		c = xscan_off(&sc, &t);
		ubuf_add(out, xml + at, o - at);
		n += fn(out, xml + o, c - o);
		at = c;
	}
	ubuf_add(out, xml + at, len - at);
	return n;
}

static int
recorder_redact_one(struct ubuf *out, const char *b64, size_t len)
{
	uint8_t		*bin, h[32];
	unsigned int	 hl = 0;
	size_t		 n;
	char		 hex[65];

	if (len >= strlen(RECORDER_REDACTED) &&
	    memcmp(b64, RECORDER_REDACTED, strlen(RECORDER_REDACTED)) == 0) {
		ubuf_add(out, b64, len);	/* already */
		return 0;
	}
	if ((bin = util_b64_decode(b64, len, &n)) == NULL) {
		/* Not base64: hash the text itself, say so. */
		EVP_Digest(b64, len, h, &hl, EVP_sha256(), NULL);
		recorder_hex(hex, h, 32);
		ubuf_printf(out, "redacted len=%zu sha256=%s text", len, hex);
		return 1;
	}
	if (n >= 8 + 32 && memcmp(bin, RECORDER_PH_MAGIC, 8) == 0)
		memcpy(h, bin + 8, 32);
	else
		EVP_Digest(bin, n, h, &hl, EVP_sha256(), NULL);
	recorder_hex(hex, h, 32);
	ubuf_printf(out, "redacted len=%zu sha256=%s", n, hex);
	free(bin);
	return 1;
}

int
recorder_redact(struct ubuf *out, const char *xml, size_t len)
{
	return recorder_photos(out, xml, len, recorder_redact_one);
}

static int
recorder_placeholder_one(struct ubuf *out, const char *t, size_t len)
{
	char		 buf[160], *b64;
	unsigned long	 n;
	uint8_t		*bin;
	size_t		 i, ol;
	const char	*h;

	if (len >= sizeof buf || len < strlen(RECORDER_REDACTED) ||
	    memcmp(t, RECORDER_REDACTED, strlen(RECORDER_REDACTED)) != 0) {
		ubuf_add(out, t, len);
		return 0;
	}
	memcpy(buf, t, len);
	buf[len] = '\0';
	n = strtoul(buf + strlen(RECORDER_REDACTED), NULL, 10);
	if (n > RECORDER_REC_MAX)
		n = 0;
	bin = xcalloc(1, n + 1);
	if (n >= 8 + 32 && (h = strstr(buf, "sha256=")) != NULL &&
	    strlen(h + 7) >= 64) {
		memcpy(bin, RECORDER_PH_MAGIC, 8);
		for (i = 0; i < 32; i++) {
			char x[3] = { h[7 + 2 * i], h[8 + 2 * i], 0 };

			bin[8 + i] = (uint8_t)strtoul(x, NULL, 16);
		}
	}
	b64 = util_b64_encode(bin, n, &ol);
	ubuf_add(out, b64, ol);
	free(b64);
	free(bin);
	return 1;
}

int
recorder_placeholder(struct ubuf *out, const char *xml, size_t len)
{
	return recorder_photos(out, xml, len, recorder_placeholder_one);
}

/*
 * Reading.
 */

struct recorder_reader {
	FILE		*f;
	char		*path;
	uint32_t	 flags;
	uint64_t	 created;
	uint64_t	 off;
	uint8_t		*buf;
	size_t		 cap;
};

struct recorder_reader *
recorder_reader_open(const char *path, char **cause)
{
	struct recorder_reader	*r;
	uint8_t			 hdr[RECORDER_FILE_HDR];
	FILE			*f;
	uint16_t		 hl;

	*cause = NULL;
	if ((f = fopen(path, "rb")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr ||
	    memcmp(hdr, RECORDER_MAGIC, 8) != 0) {
		*cause = xasprintf("%s: not an nlswitch capture", path);
		fclose(f);
		return NULL;
	}
	if (util_get_be16(hdr + 8) != RECORDER_VERSION) {
		*cause = xasprintf("%s: capture version %u, this build reads %d",
		    path, util_get_be16(hdr + 8), RECORDER_VERSION);
		fclose(f);
		return NULL;
	}
	hl = util_get_be16(hdr + 10);
	if (hl < RECORDER_FILE_HDR || fseek(f, hl, SEEK_SET) != 0) {
		*cause = xasprintf("%s: bad header length %u", path, hl);
		fclose(f);
		return NULL;
	}
	r = xcalloc(1, sizeof *r);
	r->f = f;
	r->path = xstrdup(path);
	r->flags = util_get_be32(hdr + 12);
	r->created = util_get_be64(hdr + 16);
	r->off = hl;
	return r;
}

uint32_t
recorder_reader_flags(const struct recorder_reader *r)
{
	return r->flags;
}

uint64_t
recorder_reader_created(const struct recorder_reader *r)
{
	return r->created;
}

int
recorder_read(struct recorder_reader *r, struct recorder_rec *out,
    char **cause)
{
	uint8_t		 pre[RECORDER_REC_PREFIX], *p;
	size_t		 got, ll, cl, dl;
	uint32_t	 n, crc;

	*cause = NULL;
	if ((got = fread(pre, 1, sizeof pre, r->f)) == 0)
		return 0;
	if (got < sizeof pre)
		goto torn;
	n = util_get_be32(pre);
	if (n < RECORDER_REC_FIXED || n > RECORDER_REC_MAX) {
		*cause = xasprintf("%s: offset %llu: bad record length %u",
		    r->path, (unsigned long long)r->off, n);
		return -1;
	}
	if (r->cap < (size_t)n + 1) {
		r->cap = (size_t)n + 1;
		r->buf = xrealloc(r->buf, r->cap);
	}
	if (fread(r->buf, 1, n, r->f) != n)
		goto torn;
	crc = (uint32_t)crc32(0L, r->buf, n);
	if (crc != util_get_be32(pre + 4)) {
		*cause = xasprintf("%s: offset %llu: checksum mismatch",
		    r->path, (unsigned long long)r->off);
		return -1;
	}
	p = r->buf;
	memset(out, 0, sizeof *out);
	out->type = (enum recorder_type)p[0];
	out->flags = p[1];
	out->copy = util_get_be16(p + 2);
	dl = util_get_be32(p + 4);
	out->time_us = util_get_be64(p + 8);
	out->sess = util_get_be64(p + 16);
	out->id = util_get_be64(p + 24);
	ll = p[32];
	cl = p[33];
	if (RECORDER_REC_FIXED + ll + cl + dl != n) {
		*cause = xasprintf("%s: offset %llu: inconsistent record",
		    r->path, (unsigned long long)r->off);
		return -1;
	}
	p += RECORDER_REC_FIXED;
	memcpy(out->line, p, ll < sizeof out->line ? ll : sizeof out->line - 1);
	p += ll;
	memcpy(out->cn, p, cl < sizeof out->cn ? cl : sizeof out->cn - 1);
	p += cl;
	out->data = (const char *)p;
	out->len = dl;
	r->buf[n] = '\0';
	out->offset = r->off;
	r->off += sizeof pre + n;
	return 1;
torn:
	*cause = xasprintf("%s: offset %llu: torn record at the end (the "
	    "switch stopped while writing it)", r->path,
	    (unsigned long long)r->off);
	return -1;
}

void
recorder_reader_close(struct recorder_reader *r)
{
	if (r == NULL)
		return;
	fclose(r->f);
	free(r->path);
	free(r->buf);
	free(r);
}
