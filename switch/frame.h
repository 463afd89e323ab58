/*
 * frame - the nlswitch wire framing (docs/protocol.md), shared by the
 * switch, the adapters and the tools.
 *
 * Every frame is a 16-byte header followed by len payload bytes:
 *
 *   0       4      5       6       8                      16
 *   | len   | type | vers  | copy  | id (64 bits)          | payload...
 *
 * all big-endian. A receiver refuses a frame whose version or type is
 * unknown or whose len exceeds its configured maximum, before reading the
 * payload.
 */
#ifndef NLSWITCH_FRAME_H
#define NLSWITCH_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define FRAME_HDR_LEN	16
#define FRAME_VERSION	1
#define FRAME_DEFAULT_MAX (4u * 1024 * 1024)

enum frame_type {
	FRAME_HELLO = 1,	/* switch -> endpoint: line=, window=, heartbeat= */
	FRAME_MSG,		/* endpoint -> switch: id = sender's tag */
	FRAME_ACK,		/* switch -> endpoint: id = tag, payload = msgid */
	FRAME_NAK,		/* switch -> endpoint: id = tag, payload = ER XML */
	FRAME_DLV,		/* switch -> endpoint: id = msgid, copy, XML */
	FRAME_DACK,		/* endpoint -> switch: id = msgid, copy */
	FRAME_HB,		/* either way: heartbeat, empty */
	FRAME_ERROR,		/* either way: fatal protocol error text, then close */
	FRAME_TYPE_MAX
};

struct frame {
	uint32_t	 len;
	uint8_t		 type;
	uint8_t		 version;
	uint16_t	 copy;
	uint64_t	 id;
	char		*payload;	/* len bytes + NUL, heap; NULL if len 0 */
};

enum frame_err {
	FRAME_E_OK = 0,
	FRAME_E_VERSION,	/* unknown protocol version */
	FRAME_E_TYPE,		/* unknown frame type */
	FRAME_E_SIZE		/* len above the receiver's maximum */
};
const char	*frame_strerror(int);
const char	*frame_type_name(int);
/**
 * Say why a header was refused, naming the field and its value: "bad
 * protocol version 7, expected 1", "unknown frame type 42", "MSG length
 * 4294967295 exceeds max-frame 1048576". This is the text of the ERROR
 * frame a receiver sends before it closes (docs/protocol.md).
 * @param err what frame_decode or frame_pull returned (FRAME_E_*)
 * @param f the header as frame_decode filled it
 * @param maxlen the maximum the header was checked against
 * @return 0, -1 if buf is too small (the text is cut, NUL-terminated)
 */
int	 frame_reason(int err, const struct frame *f, size_t maxlen, char *buf,
	    size_t sz);

/** Encode a header into hdr[FRAME_HDR_LEN]. */
void	 frame_encode(uint8_t *hdr, uint8_t type, uint16_t copy, uint64_t id,
	    uint32_t len);
/**
 * Decode and check a header.
 * @return FRAME_E_OK, or the reason the frame must be refused.
 */
int	 frame_decode(const uint8_t *hdr, size_t maxlen, struct frame *f);
/** Append one frame to an evbuffer. @return 0, -1 on allocation failure. */
int	 frame_add(struct evbuffer *, uint8_t type, uint16_t copy, uint64_t id,
	    const void *payload, size_t len);
/**
 * Take one complete frame off the front of an evbuffer.
 * @return 1 and *f filled (caller frees f->payload with frame_clear), 0 when
 *	more bytes are needed, -1 with *err set when the stream is invalid.
 */
int	 frame_pull(struct evbuffer *, size_t maxlen, struct frame *f, int *err);
void	 frame_clear(struct frame *);

#endif
