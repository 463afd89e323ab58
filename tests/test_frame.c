/*
 * test_frame - CUnit suite for switch/frame.c: header layout byte by byte,
 * encode/decode round trips for every type, refusal reasons, and
 * frame_pull on an evbuffer (partial input consumes nothing, frames come
 * off in order, payloads are NUL-terminated).
 */
#include <stdint.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <event2/buffer.h>

#include "frame.h"

int	test_frame_register(void);

/* The header of every valid type survives encode + decode. */
static void
test_frame_roundtrip(void)
{
	static const struct {
		uint16_t	copy;
		uint64_t	id;
		uint32_t	len;
	} v[] = {
		{ 0, 0, 0 },
		{ 1, 42, 17 },
		{ 0xffff, UINT64_MAX, FRAME_DEFAULT_MAX },
		{ 0x1234, 0x0123456789abcdefULL, 1 },
	};
	uint8_t		 hdr[FRAME_HDR_LEN];
	struct frame	 f;
	size_t		 i;
	int		 t;

	for (t = 1; t < FRAME_TYPE_MAX; t++)
		for (i = 0; i < sizeof v / sizeof v[0]; i++) {
			frame_encode(hdr, (uint8_t)t, v[i].copy, v[i].id,
			    v[i].len);
			CU_ASSERT_EQUAL(frame_decode(hdr, FRAME_DEFAULT_MAX,
			    &f), FRAME_E_OK);
			CU_ASSERT_EQUAL(f.type, t);
			CU_ASSERT_EQUAL(f.version, FRAME_VERSION);
			CU_ASSERT_EQUAL(f.copy, v[i].copy);
			CU_ASSERT(f.id == v[i].id);
			CU_ASSERT_EQUAL(f.len, v[i].len);
			CU_ASSERT_PTR_NULL(f.payload);
		}
}

/* len | type | version | copy | id, all big-endian (frame.h). */
static void
test_frame_layout(void)
{
	static const uint8_t want[FRAME_HDR_LEN] = {
		0x01, 0x02, 0x03, 0x04,			/* len */
		FRAME_DLV,				/* type */
		FRAME_VERSION,				/* version */
		0xa1, 0xb2,				/* copy */
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88	/* id */
	};
	uint8_t	 hdr[FRAME_HDR_LEN];
	int	 i;

	memset(hdr, 0xee, sizeof hdr);
	frame_encode(hdr, FRAME_DLV, 0xa1b2, 0x1122334455667788ULL,
	    0x01020304);
	for (i = 0; i < FRAME_HDR_LEN; i++)
		CU_ASSERT_EQUAL(hdr[i], want[i]);
	CU_ASSERT_EQUAL(FRAME_HDR_LEN, 16);
}

/* Refusals, in the order frame_decode checks them. */
static void
test_frame_decode_errors(void)
{
	static const struct {
		uint8_t		 type;
		uint8_t		 version;
		uint32_t	 len;
		size_t		 max;
		int		 want;
	} t[] = {
		{ FRAME_MSG, 0, 0, 1024, FRAME_E_VERSION },
		{ FRAME_MSG, FRAME_VERSION + 1, 0, 1024, FRAME_E_VERSION },
		{ FRAME_MSG, 0xff, 0, 1024, FRAME_E_VERSION },
		{ 0, 0xff, 0, 1024, FRAME_E_VERSION },	/* version first */
		{ 0, FRAME_VERSION, 0, 1024, FRAME_E_TYPE },
		{ FRAME_TYPE_MAX, FRAME_VERSION, 0, 1024, FRAME_E_TYPE },
		{ 0xff, FRAME_VERSION, 0, 1024, FRAME_E_TYPE },
		/* type is checked before size */
		{ 0, FRAME_VERSION, 5000, 1024, FRAME_E_TYPE },
		{ FRAME_MSG, FRAME_VERSION, 1025, 1024, FRAME_E_SIZE },
		{ FRAME_MSG, FRAME_VERSION, UINT32_MAX, 1024, FRAME_E_SIZE },
		{ FRAME_MSG, FRAME_VERSION, 1, 0, FRAME_E_SIZE },
		{ FRAME_MSG, FRAME_VERSION, 1024, 1024, FRAME_E_OK }, /* max */
		{ FRAME_MSG, FRAME_VERSION, 0, 0, FRAME_E_OK },
		{ FRAME_ERROR, FRAME_VERSION, 0, 0, FRAME_E_OK },
	};
	uint8_t		 hdr[FRAME_HDR_LEN];
	struct frame	 f;
	size_t		 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		frame_encode(hdr, t[i].type, 7, 9, t[i].len);
		hdr[5] = t[i].version;
		CU_ASSERT_EQUAL(frame_decode(hdr, t[i].max, &f), t[i].want);
		/* The fields are reported even when the frame is refused. */
		CU_ASSERT_EQUAL(f.type, t[i].type);
		CU_ASSERT_EQUAL(f.version, t[i].version);
		CU_ASSERT_EQUAL(f.len, t[i].len);
	}
}

static void
test_frame_names(void)
{
	static const char *const names[FRAME_TYPE_MAX] = {
		[FRAME_HELLO] = "HELLO", [FRAME_MSG] = "MSG",
		[FRAME_ACK] = "ACK", [FRAME_NAK] = "NAK", [FRAME_DLV] = "DLV",
		[FRAME_DACK] = "DACK", [FRAME_HB] = "HB",
		[FRAME_ERROR] = "ERROR",
	};
	static const int errs[] = { FRAME_E_OK, FRAME_E_VERSION, FRAME_E_TYPE,
	    FRAME_E_SIZE };
	const char	*unknown;
	size_t		 i, j;
	int		 t;

	for (t = 1; t < FRAME_TYPE_MAX; t++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(names[t]);
		CU_ASSERT_STRING_EQUAL(frame_type_name(t), names[t]);
	}
	CU_ASSERT_STRING_EQUAL(frame_type_name(0), "?");
	CU_ASSERT_STRING_EQUAL(frame_type_name(-1), "?");
	CU_ASSERT_STRING_EQUAL(frame_type_name(FRAME_TYPE_MAX), "?");
	CU_ASSERT_STRING_EQUAL(frame_type_name(256), "?");

	unknown = frame_strerror(-1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(unknown);
	CU_ASSERT_STRING_EQUAL(frame_strerror(FRAME_E_SIZE + 1), unknown);
	/* Every error has its own, non-empty text. */
	for (i = 0; i < sizeof errs / sizeof errs[0]; i++) {
		const char *s = frame_strerror(errs[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT(s[0] != '\0');
		CU_ASSERT_STRING_NOT_EQUAL(s, unknown);
		for (j = 0; j < i; j++)
			CU_ASSERT_STRING_NOT_EQUAL(s, frame_strerror(errs[j]));
	}
}

/* The ERROR text names the field at fault and its value. */
static void
test_frame_reason(void)
{
	static const struct {
		uint8_t		 type;
		uint8_t		 version;
		uint32_t	 len;
		size_t		 max;
		const char	*want;
	} t[] = {
		{ FRAME_MSG, 7, 0, 1024, "bad protocol version 7, expected 1" },
		{ FRAME_MSG, 0, 0, 1024, "bad protocol version 0, expected 1" },
		{ 42, FRAME_VERSION, 0, 1024, "unknown frame type 42" },
		{ 0, FRAME_VERSION, 0, 1024, "unknown frame type 0" },
		{ 255, FRAME_VERSION, 0, 1024, "unknown frame type 255" },
		{ FRAME_MSG, FRAME_VERSION, UINT32_MAX, 1048576,
		    "MSG length 4294967295 exceeds max-frame 1048576" },
		{ FRAME_DACK, FRAME_VERSION, 1025, 1024,
		    "DACK length 1025 exceeds max-frame 1024" },
	};
	uint8_t		 hdr[FRAME_HDR_LEN];
	struct frame	 f;
	char		 buf[128];
	size_t		 i;
	int		 err;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		frame_encode(hdr, t[i].type, 0, 1, t[i].len);
		hdr[5] = t[i].version;
		err = frame_decode(hdr, t[i].max, &f);
		CU_ASSERT_NOT_EQUAL_FATAL(err, FRAME_E_OK);
		memset(buf, 'x', sizeof buf);
		CU_ASSERT_EQUAL(frame_reason(err, &f, t[i].max, buf,
		    sizeof buf), 0);
		CU_ASSERT_STRING_EQUAL(buf, t[i].want);
	}
	/* Bytes that are no frame at all: the version is checked first. */
	memset(hdr, 0xee, sizeof hdr);
	err = frame_decode(hdr, 1024, &f);
	CU_ASSERT_EQUAL(frame_reason(err, &f, 1024, buf, sizeof buf), 0);
	CU_ASSERT_STRING_EQUAL(buf, "bad protocol version 238, expected 1");
	/* Other codes fall back to frame_strerror. */
	CU_ASSERT_EQUAL(frame_reason(FRAME_E_OK, &f, 1024, buf, sizeof buf),
	    0);
	CU_ASSERT_STRING_EQUAL(buf, frame_strerror(FRAME_E_OK));
	CU_ASSERT_EQUAL(frame_reason(-1, &f, 1024, buf, sizeof buf), 0);
	CU_ASSERT_STRING_EQUAL(buf, frame_strerror(-1));
	/* A short buffer: -1, the text cut and terminated. */
	CU_ASSERT_EQUAL(frame_reason(FRAME_E_VERSION, &f, 1024, buf, 8), -1);
	CU_ASSERT_STRING_EQUAL(buf, "bad pro");
}

/* frame_add writes the header then the payload, nothing else. */
static void
test_frame_add(void)
{
	struct evbuffer	*b = evbuffer_new();
	uint8_t		 want[FRAME_HDR_LEN], got[FRAME_HDR_LEN + 3];

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(frame_add(b, FRAME_ACK, 3, 77, "abc", 3), 0);
	CU_ASSERT_EQUAL(evbuffer_get_length(b), FRAME_HDR_LEN + 3);
	frame_encode(want, FRAME_ACK, 3, 77, 3);
	CU_ASSERT_EQUAL(evbuffer_remove(b, got, sizeof got), (int)sizeof got);
	CU_ASSERT_EQUAL(memcmp(got, want, FRAME_HDR_LEN), 0);
	CU_ASSERT_EQUAL(memcmp(got + FRAME_HDR_LEN, "abc", 3), 0);

	/* Empty payload: a header only; NULL payload allowed. */
	CU_ASSERT_EQUAL(frame_add(b, FRAME_HB, 0, 0, NULL, 0), 0);
	CU_ASSERT_EQUAL(evbuffer_get_length(b), FRAME_HDR_LEN);
	evbuffer_drain(b, evbuffer_get_length(b));

	/* The header has 32 bits of length: refuse more, write nothing. */
	if (SIZE_MAX > UINT32_MAX) {
		CU_ASSERT_EQUAL(frame_add(b, FRAME_MSG, 0, 1, "x",
		    (size_t)UINT32_MAX + 1), -1);
		CU_ASSERT_EQUAL(evbuffer_get_length(b), 0);
	}
	evbuffer_free(b);
}

/* Partial header or payload: 0 and nothing consumed. */
static void
test_frame_pull_partial(void)
{
	static const char payload[] = "<NLETS version=\"1.0\"/>";
	const size_t	 plen = sizeof payload - 1;
	struct evbuffer	*full = evbuffer_new(), *b = evbuffer_new();
	struct frame	 f;
	size_t		 n, total;
	int		 err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(full);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL_FATAL(frame_add(full, FRAME_MSG, 0, 5, payload, plen),
	    0);
	total = evbuffer_get_length(full);
	CU_ASSERT_EQUAL_FATAL(total, FRAME_HDR_LEN + plen);

	memset(&f, 0, sizeof f);
	/* Feed one byte at a time: no frame until the last byte. */
	for (n = 0; n < total; n++) {
		err = -1;
		CU_ASSERT_EQUAL(frame_pull(b, FRAME_DEFAULT_MAX, &f, &err), 0);
		CU_ASSERT_EQUAL(err, FRAME_E_OK);
		CU_ASSERT_EQUAL(evbuffer_get_length(b), n);
		CU_ASSERT_PTR_NULL(f.payload);
		CU_ASSERT_EQUAL_FATAL(evbuffer_remove_buffer(full, b, 1), 1);
	}
	CU_ASSERT_EQUAL_FATAL(frame_pull(b, FRAME_DEFAULT_MAX, &f, &err), 1);
	CU_ASSERT_EQUAL(err, FRAME_E_OK);
	CU_ASSERT_EQUAL(f.type, FRAME_MSG);
	CU_ASSERT(f.id == 5);
	CU_ASSERT_EQUAL(f.len, plen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f.payload);
	CU_ASSERT_EQUAL(memcmp(f.payload, payload, plen), 0);
	CU_ASSERT_EQUAL(f.payload[plen], '\0');
	CU_ASSERT_EQUAL(evbuffer_get_length(b), 0);
	frame_clear(&f);
	CU_ASSERT_PTR_NULL(f.payload);
	CU_ASSERT_EQUAL(f.len, 0);
	evbuffer_free(full);
	evbuffer_free(b);
}

/* Back-to-back frames come off in order; an empty payload is NULL. */
static void
test_frame_pull_sequence(void)
{
	static const struct {
		uint8_t		 type;
		uint16_t	 copy;
		uint64_t	 id;
		const char	*payload;
	} t[] = {
		{ FRAME_HELLO, 0, 0, "line=WAAGY window=64 heartbeat=10" },
		{ FRAME_HB, 0, 0, "" },
		{ FRAME_DLV, 2, 0x2a, "<NLETS/>" },
		{ FRAME_DACK, 2, 0x2a, "" },
		{ FRAME_ERROR, 0, 0, "bye" },
	};
	struct evbuffer	*b = evbuffer_new();
	struct frame	 f;
	size_t		 i, len;
	int		 err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		CU_ASSERT_EQUAL_FATAL(frame_add(b, t[i].type, t[i].copy,
		    t[i].id, t[i].payload, strlen(t[i].payload)), 0);
	/* And the first bytes of one more. */
	CU_ASSERT_EQUAL_FATAL(evbuffer_add(b, "\0\0\0", 3), 0);

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		len = strlen(t[i].payload);
		CU_ASSERT_EQUAL_FATAL(frame_pull(b, 64, &f, &err), 1);
		CU_ASSERT_EQUAL(f.type, t[i].type);
		CU_ASSERT_EQUAL(f.copy, t[i].copy);
		CU_ASSERT(f.id == t[i].id);
		CU_ASSERT_EQUAL(f.len, len);
		if (len == 0) {
			CU_ASSERT_PTR_NULL(f.payload);
		} else {
			CU_ASSERT_PTR_NOT_NULL_FATAL(f.payload);
			CU_ASSERT_STRING_EQUAL(f.payload, t[i].payload);
		}
		frame_clear(&f);
	}
	CU_ASSERT_EQUAL(frame_pull(b, 64, &f, &err), 0);
	CU_ASSERT_EQUAL(evbuffer_get_length(b), 3);
	evbuffer_free(b);
}

/* A bad header is refused as soon as the header is in: -1, err set. */
static void
test_frame_pull_errors(void)
{
	static const struct {
		uint8_t		 type;
		uint8_t		 version;
		uint32_t	 len;
		int		 want;
	} t[] = {
		{ FRAME_MSG, 2, 0, FRAME_E_VERSION },
		{ 0, FRAME_VERSION, 0, FRAME_E_TYPE },
		{ FRAME_TYPE_MAX, FRAME_VERSION, 0, FRAME_E_TYPE },
		{ FRAME_MSG, FRAME_VERSION, 1025, FRAME_E_SIZE },
	};
	struct evbuffer	*b;
	uint8_t		 hdr[FRAME_HDR_LEN];
	struct frame	 f;
	size_t		 i;
	int		 err;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		b = evbuffer_new();
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		frame_encode(hdr, t[i].type, 0, 1, t[i].len);
		hdr[5] = t[i].version;
		/* Header only: the size check must not wait for a payload. */
		CU_ASSERT_EQUAL_FATAL(evbuffer_add(b, hdr, sizeof hdr), 0);
		err = FRAME_E_OK;
		CU_ASSERT_EQUAL(frame_pull(b, 1024, &f, &err), -1);
		CU_ASSERT_EQUAL(err, t[i].want);
		CU_ASSERT_PTR_NULL(f.payload);
		evbuffer_free(b);
	}
}

int
test_frame_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("frame", NULL, NULL)) == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_frame_roundtrip) == NULL ||
	    CU_ADD_TEST(s, test_frame_layout) == NULL ||
	    CU_ADD_TEST(s, test_frame_decode_errors) == NULL ||
	    CU_ADD_TEST(s, test_frame_names) == NULL ||
	    CU_ADD_TEST(s, test_frame_reason) == NULL ||
	    CU_ADD_TEST(s, test_frame_add) == NULL ||
	    CU_ADD_TEST(s, test_frame_pull_partial) == NULL ||
	    CU_ADD_TEST(s, test_frame_pull_sequence) == NULL ||
	    CU_ADD_TEST(s, test_frame_pull_errors) == NULL)
		return -1;
	return 0;
}
