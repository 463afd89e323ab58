/*
 * test_util - base64 (table-driven, both the fast and the slow path, and
 * every byte at every place of a run against a byte-at-a-time oracle),
 * the growable buffer and its XML/JSON escaping, big-endian helpers.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "util.h"

static void
test_b64_table(void)
{
	static const struct {
		const char	*in;
		long		 want;	/* decoded length, -1 invalid */
	} cases[] = {
		{ "TWFu", 3 },
		{ "TWE=", 2 },
		{ "TQ==", 1 },
		{ "TQ===", -1 },			/* three pads */
		{ "TQ=a", -1 },				/* data after padding */
		{ "TWFuTWFuTWFuTWFu", 12 },		/* fast path only */
		{ "TWFuTWFu\nTWFuTWFu", 12 },		/* newline in a chunk */
		{ " TWFu TWFu\r\n\tTWFuTWFu ", 12 },
		{ "TWFuTWFuTWFuTW==", 10 },		/* pad at chunk end */
		{ "TWFuTWFuTWE=TWFu", -1 },		/* pad mid-stream */
		{ "TWFuTWFuTW!uTWFu", -1 },		/* bad char in a chunk */
		{ "TWFuTWFuTWFuTWF", -1 },		/* not a multiple of 4 */
		{ "", -1 },
		{ "    ", -1 },
		{ "TWFu\x80TWF", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long got = util_b64_check(cases[i].in, strlen(cases[i].in));

		if (got != cases[i].want)
			CU_FAIL(cases[i].in);
		CU_ASSERT_EQUAL(got, cases[i].want);
	}
}

/*
 * The rule, one byte at a time, as the tests' oracle: letters of the
 * alphabet count, blanks (space, tab, CR, LF) are skipped, at most two
 * '=' end the text, nothing but blanks after them, and a whole number of
 * 4-letter groups. The decoded length, or -1.
 */
static long
b64_oracle(const unsigned char *p, size_t len)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t	chars = 0, pad = 0, i;

	for (i = 0; i < len; i++) {
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
		    p[i] == '\n')
			continue;
		if (p[i] == '=')
			pad++;
		else if (p[i] != '\0' && strchr(alpha, p[i]) != NULL) {
			if (pad > 0)
				return -1;
		} else
			return -1;
		chars++;
	}
	if (pad > 2 || chars == 0 || chars % 4 != 0)
		return -1;
	return (long)(chars / 4 * 3 - pad);
}

/*
 * The fast path tests 32 bytes at once: each of the 256 byte values at
 * each place of texts that span three such runs and a tail, ending
 * with no padding, one '=' and two, must be judged as the oracle does.
 */
static void
test_b64_every_byte(void)
{
	static const char *ends[] = { "TWFu", "TWE=", "TQ==" };
	unsigned char	 buf[112];
	size_t		 len, pos, e;
	unsigned	 b;
	long		 got, want;
	int		 bad = 0;

	for (e = 0; e < sizeof ends / sizeof ends[0]; e++) {
		for (len = 0; len + 4 < sizeof buf; len++)
			buf[len] = (unsigned char)"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789+/"[
			    (len * 7) % 64];
		memcpy(buf + len, ends[e], 4);
		len += 4;
		CU_ASSERT_EQUAL(util_b64_check((char *)buf, len),
		    b64_oracle(buf, len));
		for (pos = 0; pos < len; pos++) {
			unsigned char keep = buf[pos];

			for (b = 0; b < 256; b++) {
				buf[pos] = (unsigned char)b;
				got = util_b64_check((char *)buf, len);
				want = b64_oracle(buf, len);
				if (got != want && bad++ < 5)
					fprintf(stderr, "\nb64: byte 0x%02x at "
					    "%zu of %zu (end %s): %ld, want "
					    "%ld\n", b, pos, len, ends[e], got,
					    want);
				CU_ASSERT_EQUAL(got, want);
			}
			buf[pos] = keep;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void
test_b64_roundtrip(void)
{
	uint8_t	 data[3000], *back;
	char	*enc;
	size_t	 n, elen, blen;

	for (n = 0; n < sizeof data; n++)
		data[n] = (uint8_t)(n * 37 + 11);
	for (n = 1; n < sizeof data; n += 97) {
		enc = util_b64_encode(data, n, &elen);
		CU_ASSERT_EQUAL(elen, 4 * ((n + 2) / 3));
		CU_ASSERT_EQUAL(util_b64_check(enc, elen), (long)n);
		back = util_b64_decode(enc, elen, &blen);
		CU_ASSERT_PTR_NOT_NULL_FATAL(back);
		CU_ASSERT_EQUAL(blen, n);
		CU_ASSERT_EQUAL(memcmp(back, data, n), 0);
		free(back);
		free(enc);
	}
}

static void
test_ubuf(void)
{
	struct ubuf	 b;
	char		*s;
	size_t		 len;
	int		 i;

	ubuf_init(&b);
	for (i = 0; i < 1000; i++)
		ubuf_printf(&b, "%d,", i);
	CU_ASSERT_EQUAL(strncmp(b.data, "0,1,2,", 6), 0);
	CU_ASSERT_EQUAL(b.len, strlen(b.data));
	ubuf_reset(&b);
	ubuf_add_xml(&b, "a<b>&\"c'\x01", 9);
	CU_ASSERT_STRING_EQUAL(b.data, "a&lt;b&gt;&amp;&quot;c&apos;");
	ubuf_reset(&b);
	ubuf_add_json(&b, "q\"\\\n");
	CU_ASSERT_STRING_EQUAL(b.data, "\"q\\\"\\\\\\u000a\"");
	s = ubuf_take(&b, &len);
	CU_ASSERT_EQUAL(len, strlen(s));
	CU_ASSERT_PTR_NULL(b.data);
	free(s);
}

static void
test_be(void)
{
	uint8_t p[8];

	util_put_be64(p, 0x0102030405060708ULL);
	CU_ASSERT_EQUAL(p[0], 1);
	CU_ASSERT_EQUAL(p[7], 8);
	CU_ASSERT_EQUAL(util_get_be64(p), 0x0102030405060708ULL);
	util_put_be16(p, 0xabcd);
	CU_ASSERT_EQUAL(util_get_be16(p), 0xabcd);
}

/* The one time syntax of nlctl and nlaudit (util_parse_time). */
static void
test_parse_time(void)
{
	/* now: 2026-12-02T16:48:29.5Z */
	const uint64_t	 now = 1796230109500000ULL;
	static const struct {
		const char	*in;
		int		 ok;
		uint64_t	 us;
	} rows[] = {
		{ "-1h", 1, 1796230109500000ULL - 3600000000ULL },
		{ "-90", 1, 1796230109500000ULL - 90000000ULL },
		{ "-2d", 1, 1796230109500000ULL - 172800000000ULL },
		{ "-5m", 1, 1796230109500000ULL - 300000000ULL },
		{ "2026-12-02T16:48:29.872311Z", 1, 1796230109872311ULL },
		{ "2026-12-02T16:48:29Z", 1, 1796230109000000ULL },
		{ "2026-12-02T16:48:29", 1, 1796230109000000ULL },
		{ "2026-12-02T16:48", 1, 1796230080000000ULL },
		{ "2026-12-02T17:48:29+01:00", 1, 1796230109000000ULL },
		{ "2026-12-02T11:48:29.5-05:00", 1, 1796230109500000ULL },
		{ "2026-12-02", 1, 1796169600000000ULL },
		{ "1796230109", 1, 1796230109000000ULL },
		{ "", 0, 0 },
		{ "-", 0, 0 },
		{ "-1y", 0, 0 },
		{ "--1h", 0, 0 },
		{ "yesterday", 0, 0 },
		{ "2026-12-02 junk", 0, 0 },
		{ "2026-12-02T16:48:29.Z", 0, 0 },
		{ "2026-12-02T16:48:29+0100", 0, 0 },
		{ "12abc", 0, 0 },
	};
	uint64_t	 us;
	size_t		 i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int ok = util_parse_time(rows[i].in, now, &us) == 0;

		if (ok != rows[i].ok || (ok && us != rows[i].us))
			fprintf(stderr, "\n  \"%s\": ok=%d us=%llu", rows[i].in,
			    ok, (unsigned long long)us);
		CU_ASSERT_EQUAL(ok, rows[i].ok);
		if (ok && rows[i].ok)
			CU_ASSERT_EQUAL(us, rows[i].us);
	}
}

int
test_util_register(void)
{
	CU_pSuite s = CU_add_suite("util", NULL, NULL);

	if (s == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_b64_table) == NULL ||
	    CU_ADD_TEST(s, test_b64_every_byte) == NULL ||
	    CU_ADD_TEST(s, test_b64_roundtrip) == NULL ||
	    CU_ADD_TEST(s, test_ubuf) == NULL ||
	    CU_ADD_TEST(s, test_be) == NULL ||
	    CU_ADD_TEST(s, test_parse_time) == NULL)
		return -1;
	return 0;
}
