/*
 * frame - see frame.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "frame.h"
#include "util.h"

static const char *const frame_names[FRAME_TYPE_MAX] = {
	"?", "HELLO", "MSG", "ACK", "NAK", "DLV", "DACK", "HB", "ERROR"
};

const char *
frame_strerror(int e)
{
	switch (e) {
	case FRAME_E_OK:
		return "no error";
	case FRAME_E_VERSION:
		return "unsupported frame version";
	case FRAME_E_TYPE:
		return "unknown frame type";
	case FRAME_E_SIZE:
		return "frame exceeds the maximum size";
	}
	return "unknown frame error";
}

const char *
frame_type_name(int t)
{
	if (t <= 0 || t >= FRAME_TYPE_MAX)
		return "?";
	return frame_names[t];
}

int
frame_reason(int err, const struct frame *f, size_t maxlen, char *buf,
    size_t sz)
{
	int	n;

	switch (err) {
	case FRAME_E_VERSION:
		n = snprintf(buf, sz, "bad protocol version %u, expected %u",
		    (unsigned)f->version, (unsigned)FRAME_VERSION);
		break;
	case FRAME_E_TYPE:
		n = snprintf(buf, sz, "unknown frame type %u",
		    (unsigned)f->type);
		break;
	case FRAME_E_SIZE:
		n = snprintf(buf, sz, "%s length %lu exceeds max-frame %zu",
		    frame_type_name(f->type), (unsigned long)f->len, maxlen);
		break;
	default:
		n = snprintf(buf, sz, "%s", frame_strerror(err));
		break;
	}
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

void
frame_encode(uint8_t *hdr, uint8_t type, uint16_t copy, uint64_t id,
    uint32_t len)
{
	util_put_be32(hdr, len);
	hdr[4] = type;
	hdr[5] = FRAME_VERSION;
	util_put_be16(hdr + 6, copy);
	util_put_be64(hdr + 8, id);
}

int
frame_decode(const uint8_t *hdr, size_t maxlen, struct frame *f)
{
	memset(f, 0, sizeof *f);
	f->len = util_get_be32(hdr);
	f->type = hdr[4];
	f->version = hdr[5];
	f->copy = util_get_be16(hdr + 6);
	f->id = util_get_be64(hdr + 8);
	if (f->version != FRAME_VERSION)
		return FRAME_E_VERSION;
	if (f->type == 0 || f->type >= FRAME_TYPE_MAX)
		return FRAME_E_TYPE;
	if (f->len > maxlen)
		return FRAME_E_SIZE;
	return FRAME_E_OK;
}

int
frame_add(struct evbuffer *out, uint8_t type, uint16_t copy, uint64_t id,
    const void *payload, size_t len)
{
	uint8_t hdr[FRAME_HDR_LEN];

	/* The header carries 32 bits of length: a longer payload would
	 * desynchronise the stream. */
	if (len > UINT32_MAX)
		return -1;
	frame_encode(hdr, type, copy, id, (uint32_t)len);
	if (evbuffer_add(out, hdr, sizeof hdr) == -1)
		return -1;
	if (len > 0 && evbuffer_add(out, payload, len) == -1)
		return -1;
	return 0;
}

int
frame_pull(struct evbuffer *in, size_t maxlen, struct frame *f, int *err)
{
	uint8_t	hdr[FRAME_HDR_LEN];
	int	e;

	*err = FRAME_E_OK;
	if (evbuffer_get_length(in) < FRAME_HDR_LEN)
		return 0;
	evbuffer_copyout(in, hdr, sizeof hdr);
	if ((e = frame_decode(hdr, maxlen, f)) != FRAME_E_OK) {
		*err = e;
		return -1;
	}
	if (evbuffer_get_length(in) < FRAME_HDR_LEN + (size_t)f->len)
		return 0;
	evbuffer_drain(in, FRAME_HDR_LEN);
	f->payload = NULL;
	if (f->len > 0) {
		f->payload = xmalloc((size_t)f->len + 1);
		evbuffer_remove(in, f->payload, f->len);
		f->payload[f->len] = '\0';
	}
	return 1;
}

void
frame_clear(struct frame *f)
{
	free(f->payload);
	f->payload = NULL;
	f->len = 0;
}
