/*
 * test_avatar - CUnit suite for adapters/avatar.c: determinism, seed
 * sensitivity, valid JPEG of the requested size, argument checks, and
 * rejection of non-JPEG data.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "avatar.h"

int	test_avatar_register(void);

static void
test_avatar_determinism(void)
{
	uint8_t	*a = NULL, *b = NULL;
	size_t	 na = 0, nb = 0;

	CU_ASSERT_EQUAL_FATAL(avatar_jpeg(42, AVATAR_WIDTH, AVATAR_HEIGHT,
	    AVATAR_QUALITY, &a, &na), 0);
	CU_ASSERT_EQUAL_FATAL(avatar_jpeg(42, AVATAR_WIDTH, AVATAR_HEIGHT,
	    AVATAR_QUALITY, &b, &nb), 0);
	CU_ASSERT_EQUAL(na, nb);
	if (na == nb)
		CU_ASSERT_EQUAL(memcmp(a, b, na), 0);
	free(a);
	free(b);
}

static void
test_avatar_seeds_differ(void)
{
	static const uint32_t	 seeds[] = { 0, 1, 2, 3, 0x80000000u,
	    0xffffffffu };
	enum { N = sizeof(seeds) / sizeof(seeds[0]) };
	uint8_t			*p[N];
	size_t			 n[N], i, j;

	for (i = 0; i < N; i++)
		CU_ASSERT_EQUAL_FATAL(avatar_jpeg(seeds[i], AVATAR_WIDTH,
		    AVATAR_HEIGHT, AVATAR_QUALITY, &p[i], &n[i]), 0);
	for (i = 0; i < N; i++)
		for (j = i + 1; j < N; j++)
			CU_ASSERT(n[i] != n[j] ||
			    memcmp(p[i], p[j], n[i]) != 0);
	for (i = 0; i < N; i++)
		free(p[i]);
}

static void
test_avatar_is_valid_jpeg(void)
{
	static const struct {
		int	w, h, q;
	} t[] = {
		{ AVATAR_WIDTH, AVATAR_HEIGHT, AVATAR_QUALITY },
		{ 120, 150, 75 }, { 16, 16, 1 }, { 333, 101, 100 },
		{ 480, 600, 90 },
	};
	uint8_t	*p;
	size_t	 n, i;
	int	 w, h;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		p = NULL;
		CU_ASSERT_EQUAL_FATAL(avatar_jpeg((uint32_t)i * 7919, t[i].w,
		    t[i].h, t[i].q, &p, &n), 0);
		w = h = -1;
		CU_ASSERT_EQUAL(avatar_is_jpeg(p, n, &w, &h), 1);
		CU_ASSERT_EQUAL(w, t[i].w);
		CU_ASSERT_EQUAL(h, t[i].h);
		/* Ends with EOI, so the scan was written out in full. */
		CU_ASSERT(n > 4 && p[n - 2] == 0xff && p[n - 1] == 0xd9);
		/* w, h are optional. */
		CU_ASSERT_EQUAL(avatar_is_jpeg(p, n, NULL, NULL), 1);
		free(p);
	}
}

/* A default portrait weighs what a real licence photo does. */
static void
test_avatar_size(void)
{
	uint8_t		*p;
	size_t		 n;
	uint32_t	 seed;

	for (seed = 100; seed < 110; seed++) {
		CU_ASSERT_EQUAL_FATAL(avatar_jpeg(seed, AVATAR_WIDTH,
		    AVATAR_HEIGHT, AVATAR_QUALITY, &p, &n), 0);
		CU_ASSERT(n >= 10 * 1024 && n <= 60 * 1024);
		free(p);
	}
}

static void
test_avatar_bad_args(void)
{
	uint8_t	*p = NULL;
	size_t	 n = 0;

	CU_ASSERT_EQUAL(avatar_jpeg(1, 0, AVATAR_HEIGHT, 85, &p, &n), -1);
	CU_ASSERT_EQUAL(avatar_jpeg(1, AVATAR_WIDTH, AVATAR_DIM_MIN - 1, 85,
	    &p, &n), -1);
	CU_ASSERT_EQUAL(avatar_jpeg(1, AVATAR_DIM_MAX + 1, AVATAR_HEIGHT, 85,
	    &p, &n), -1);
	CU_ASSERT_EQUAL(avatar_jpeg(1, -240, AVATAR_HEIGHT, 85, &p, &n), -1);
	CU_ASSERT_EQUAL(avatar_jpeg(1, AVATAR_WIDTH, AVATAR_HEIGHT, 0, &p, &n),
	    -1);
	CU_ASSERT_EQUAL(avatar_jpeg(1, AVATAR_WIDTH, AVATAR_HEIGHT, 101, &p,
	    &n), -1);
	CU_ASSERT_EQUAL(avatar_jpeg(1, AVATAR_WIDTH, AVATAR_HEIGHT, 85, NULL,
	    &n), -1);
	CU_ASSERT_EQUAL(avatar_jpeg(1, AVATAR_WIDTH, AVATAR_HEIGHT, 85, &p,
	    NULL), -1);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(n, 0);
}

static void
test_avatar_garbage(void)
{
	uint8_t		 junk[4096], *p;
	size_t		 n, i;
	uint32_t	 x = 12345;
	int		 w = -1, h = -1;

	for (i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (uint8_t)(x >> 16);
	}
	CU_ASSERT_EQUAL(avatar_is_jpeg(junk, sizeof(junk), &w, &h), 0);
	CU_ASSERT_EQUAL(w, -1);
	CU_ASSERT_EQUAL(h, -1);
	CU_ASSERT_EQUAL(avatar_is_jpeg(NULL, 100, &w, &h), 0);
	CU_ASSERT_EQUAL(avatar_is_jpeg(junk, 0, &w, &h), 0);
	CU_ASSERT_EQUAL(avatar_is_jpeg((const uint8_t *)"GIF89a", 6, &w, &h),
	    0);
	/* A JPEG signature followed by noise. */
	junk[0] = 0xff;
	junk[1] = 0xd8;
	CU_ASSERT_EQUAL(avatar_is_jpeg(junk, sizeof(junk), &w, &h), 0);
	junk[2] = 0xff;
	junk[3] = 0xe0;
	CU_ASSERT_EQUAL(avatar_is_jpeg(junk, sizeof(junk), &w, &h), 0);

	/* A real portrait cut before its frame header, or just after SOI. */
	CU_ASSERT_EQUAL_FATAL(avatar_jpeg(7, AVATAR_WIDTH, AVATAR_HEIGHT,
	    AVATAR_QUALITY, &p, &n), 0);
	CU_ASSERT_EQUAL(avatar_is_jpeg(p, 2, &w, &h), 0);
	CU_ASSERT_EQUAL(avatar_is_jpeg(p, 20, &w, &h), 0);
	CU_ASSERT_EQUAL(avatar_is_jpeg(p, 100, &w, &h), 0);
	CU_ASSERT_EQUAL(w, -1);
	/* Damage the SOI marker. */
	p[1] = 0x00;
	CU_ASSERT_EQUAL(avatar_is_jpeg(p, n, &w, &h), 0);
	free(p);
}

int
test_avatar_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("avatar", NULL, NULL)) == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_avatar_determinism) == NULL ||
	    CU_ADD_TEST(s, test_avatar_seeds_differ) == NULL ||
	    CU_ADD_TEST(s, test_avatar_is_valid_jpeg) == NULL ||
	    CU_ADD_TEST(s, test_avatar_size) == NULL ||
	    CU_ADD_TEST(s, test_avatar_bad_args) == NULL ||
	    CU_ADD_TEST(s, test_avatar_garbage) == NULL)
		return -1;
	return 0;
}
