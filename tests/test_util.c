/*
 * test_util - base64 (table-driven, both the fast and the slow path),
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
	    CU_ADD_TEST(s, test_b64_roundtrip) == NULL ||
	    CU_ADD_TEST(s, test_ubuf) == NULL ||
	    CU_ADD_TEST(s, test_be) == NULL ||
	    CU_ADD_TEST(s, test_parse_time) == NULL)
		return -1;
	return 0;
}
