/*
 * test_avatar - CUnit suite for adapters/avatar.c: determinism, seed
 * sensitivity, valid JPEG of the requested size, argument checks, and
 * rejection of non-JPEG data; a person's sex and age bracket (from a
 * DMV record's DOB) decide the look, by a table, and a record always
 * draws the same face.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "avatar.h"
#include "dmv.h"

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

/* The age on DMV_TODAY (2025-01-01) and its bracket, at the edges. */
static void
test_avatar_age_bracket(void)
{
	static const struct {
		const char	*dob;
		int		 age;
		enum avatar_age	 bracket;
	} t[] = {
		{ "2008-12-31", 16, AVATAR_AGE_CHILD },
		{ "2007-01-02", 17, AVATAR_AGE_CHILD },
		{ "2007-01-01", 18, AVATAR_AGE_YOUNG },
		{ "1995-01-02", 29, AVATAR_AGE_YOUNG },
		{ "1995-01-01", 30, AVATAR_AGE_ADULT },
		{ "1960-01-02", 64, AVATAR_AGE_ADULT },
		{ "1960-01-01", 65, AVATAR_AGE_SENIOR },
		{ "1940-01-01", 85, AVATAR_AGE_SENIOR },
		{ "2025-01-01", 0, AVATAR_AGE_CHILD },
		{ "2025-01-02", -1, AVATAR_AGE_ANY },	/* not born yet */
		{ "1999-02-30", -1, AVATAR_AGE_ANY },
		{ "1999-2-3", -1, AVATAR_AGE_ANY },
		{ "", -1, AVATAR_AGE_ANY },
		{ NULL, -1, AVATAR_AGE_ANY },
	};
	struct avatar_person	 p;
	size_t			 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		CU_ASSERT_EQUAL(dmv_age(t[i].dob), t[i].age);
		CU_ASSERT_EQUAL(avatar_age_bracket(dmv_age(t[i].dob)),
		    t[i].bracket);
	}
	avatar_person_init(&p, 9, "M", 40);
	CU_ASSERT(p.seed == 9 && p.sex == AVATAR_SEX_MALE &&
	    p.age == AVATAR_AGE_ADULT);
	avatar_person_init(&p, 9, "F", 12);
	CU_ASSERT(p.sex == AVATAR_SEX_FEMALE && p.age == AVATAR_AGE_CHILD);
	avatar_person_init(&p, 9, "X", -1);
	CU_ASSERT(p.sex == AVATAR_SEX_ANY && p.age == AVATAR_AGE_ANY);
	avatar_person_init(&p, 9, NULL, 70);
	CU_ASSERT(p.sex == AVATAR_SEX_ANY && p.age == AVATAR_AGE_SENIOR);
}

#define HAIR(x)		(1u << AVATAR_HAIR_##x)
#define BEARD(x)	(1u << AVATAR_BEARD_##x)
#define EITHER		2

/*
 * (sex, age) -> what nlstate's avatars look like: the hair styles and
 * beards the seed may choose from, grey hair (0 never, 1 always, EITHER),
 * lines of age, how often glasses (percent), and the ranges of the head,
 * eyes, brows and shoulders (pixels of the 240x300 layout).
 */
static const struct {
	enum avatar_sex	 sex;
	enum avatar_age	 age;
	unsigned	 hairs, beards;
	int		 grey, lines, glasses_pct;
	double		 head_w[2], head_h[2], eye_w[2], brow[2], shoulders[2];
} avatar_table[] = {
	{ AVATAR_SEX_MALE, AVATAR_AGE_CHILD, HAIR(SHORT) | HAIR(CURLY),
	  BEARD(NONE), 0, 0, 8,
	  { 48, 53 }, { 54, 60 }, { 11.8, 15.0 }, { 1.6, 2.2 }, { 92, 104 } },
	{ AVATAR_SEX_MALE, AVATAR_AGE_YOUNG,
	  HAIR(SHORT) | HAIR(CURLY) | HAIR(LONG),
	  BEARD(NONE) | BEARD(STUBBLE) | BEARD(MOUSTACHE), 0, 0, 15,
	  { 53, 60 }, { 66, 74 }, { 9.5, 12 }, { 2.3, 3.1 }, { 120, 132 } },
	{ AVATAR_SEX_MALE, AVATAR_AGE_ADULT,
	  HAIR(SHORT) | HAIR(CURLY) | HAIR(RECEDING), BEARD(NONE) |
	  BEARD(STUBBLE) | BEARD(MOUSTACHE) | BEARD(FULL), EITHER, 0, 30,
	  { 54, 61 }, { 66, 74 }, { 9.5, 12 }, { 2.3, 3.1 }, { 120, 132 } },
	{ AVATAR_SEX_MALE, AVATAR_AGE_SENIOR, HAIR(SHORT) | HAIR(RECEDING),
	  BEARD(NONE) | BEARD(MOUSTACHE) | BEARD(FULL), 1, 1, 60,
	  { 54, 61 }, { 66, 74 }, { 8.7, 11.1 }, { 2.5, 3.3 }, { 114, 126 } },
	{ AVATAR_SEX_FEMALE, AVATAR_AGE_CHILD,
	  HAIR(LONG) | HAIR(BOB) | HAIR(CURLY), BEARD(NONE), 0, 0, 8,
	  { 48, 53 }, { 54, 60 }, { 11.8, 15.0 }, { 1.3, 1.8 }, { 92, 104 } },
	{ AVATAR_SEX_FEMALE, AVATAR_AGE_YOUNG,
	  HAIR(LONG) | HAIR(BOB) | HAIR(CURLY), BEARD(NONE), 0, 0, 15,
	  { 49, 56 }, { 64, 72 }, { 9.9, 12.6 }, { 1.4, 2.0 }, { 108, 120 } },
	{ AVATAR_SEX_FEMALE, AVATAR_AGE_ADULT,
	  HAIR(LONG) | HAIR(BOB) | HAIR(CURLY) | HAIR(SHORT), BEARD(NONE),
	  EITHER, 0, 30,
	  { 49, 56 }, { 64, 72 }, { 9.5, 12 }, { 1.4, 2.0 }, { 108, 120 } },
	{ AVATAR_SEX_FEMALE, AVATAR_AGE_SENIOR,
	  HAIR(BOB) | HAIR(CURLY) | HAIR(SHORT), BEARD(NONE), 1, 1, 60,
	  { 49, 56 }, { 64, 72 }, { 8.7, 11.1 }, { 1.4, 2.0 }, { 104, 116 } },
};

#define IN(v, r)	((v) >= (r)[0] && (v) <= (r)[1])
#define NSEEDS		400

/* Every look of a row's (sex, age) is within the row, and the row is
 * tight: every style it allows is drawn for some seed. */
static void
test_avatar_look_table(void)
{
	struct avatar_person	 p;
	struct avatar_look	 l;
	unsigned		 hairs, beards;
	size_t			 i;
	int			 k, greys, glasses;

	for (i = 0; i < sizeof avatar_table / sizeof avatar_table[0]; i++) {
		hairs = beards = 0;
		greys = glasses = 0;
		for (k = 0; k < NSEEDS; k++) {
			p.seed = (uint32_t)k * 2654435761u;
			p.sex = avatar_table[i].sex;
			p.age = avatar_table[i].age;
			CU_ASSERT_EQUAL_FATAL(avatar_look(&p, &l), 0);
			CU_ASSERT(avatar_table[i].hairs & 1u << l.hair);
			CU_ASSERT(avatar_table[i].beards & 1u << l.beard);
			CU_ASSERT(avatar_table[i].grey == EITHER ||
			    l.grey == avatar_table[i].grey);
			CU_ASSERT_EQUAL(l.lines, avatar_table[i].lines);
			CU_ASSERT(IN(l.head_w, avatar_table[i].head_w));
			CU_ASSERT(IN(l.head_h, avatar_table[i].head_h));
			CU_ASSERT(IN(l.eye_w, avatar_table[i].eye_w));
			CU_ASSERT(IN(l.brow, avatar_table[i].brow));
			CU_ASSERT(IN(l.shoulders, avatar_table[i].shoulders));
			hairs |= 1u << l.hair;
			beards |= 1u << l.beard;
			greys += l.grey;
			glasses += l.glasses;
		}
		CU_ASSERT_EQUAL(hairs, avatar_table[i].hairs);
		CU_ASSERT_EQUAL(beards, avatar_table[i].beards);
		if (avatar_table[i].grey == EITHER)
			CU_ASSERT(greys > 0 && greys < NSEEDS);
		/* Glasses as often as the row says, give or take 8 %. */
		CU_ASSERT(abs(glasses * 100 / NSEEDS -
		    avatar_table[i].glasses_pct) <= 8);
	}
}

/* For one seed, each (sex, age) draws another face; ANY is the seed's
 * own face, as avatar_jpeg() draws it. */
static void
test_avatar_traits_change_face(void)
{
	enum { N = 8 };
	struct avatar_person	 p;
	uint8_t			*img[N], *any, *plain;
	size_t			 n[N], nany, nplain;
	int			 i, j;

	p.seed = 4242;
	for (i = 0; i < N; i++) {
		p.sex = (enum avatar_sex)(AVATAR_SEX_MALE + i / 4);
		p.age = (enum avatar_age)(AVATAR_AGE_CHILD + i % 4);
		CU_ASSERT_EQUAL_FATAL(avatar_person_jpeg(&p, AVATAR_WIDTH,
		    AVATAR_HEIGHT, AVATAR_QUALITY, &img[i], &n[i]), 0);
		CU_ASSERT_EQUAL(avatar_is_jpeg(img[i], n[i], NULL, NULL), 1);
	}
	for (i = 0; i < N; i++)
		for (j = i + 1; j < N; j++)
			CU_ASSERT(n[i] != n[j] ||
			    memcmp(img[i], img[j], n[i]) != 0);
	p.sex = AVATAR_SEX_ANY;
	p.age = AVATAR_AGE_ANY;
	CU_ASSERT_EQUAL_FATAL(avatar_person_jpeg(&p, AVATAR_WIDTH,
	    AVATAR_HEIGHT, AVATAR_QUALITY, &any, &nany), 0);
	CU_ASSERT_EQUAL_FATAL(avatar_jpeg(p.seed, AVATAR_WIDTH,
	    AVATAR_HEIGHT, AVATAR_QUALITY, &plain, &nplain), 0);
	CU_ASSERT(nany == nplain && memcmp(any, plain, nany) == 0);
	free(any);
	free(plain);
	for (i = 0; i < N; i++)
		free(img[i]);
}

/*
 * A DMV record always draws the same face (nlstate's photo: the record's
 * photo seed, sex and age on DMV_TODAY), and the face fits the record.
 */
static void
test_avatar_record_same_face(void)
{
	struct dmv_record	 r, again;
	struct avatar_person	 p, q;
	struct avatar_look	 l;
	uint8_t			*a, *b;
	size_t			 na, nb;
	uint32_t		 i;
	int			 age;

	for (i = 0; i < 200; i++) {
		CU_ASSERT_EQUAL_FATAL(dmv_record("CA", i, &r), 0);
		age = dmv_age(r.dob);
		CU_ASSERT(age >= 16 && age <= 85);
		avatar_person_init(&p, r.photo_seed, r.sex, age);
		CU_ASSERT_EQUAL_FATAL(avatar_look(&p, &l), 0);
		if (strcmp(r.sex, "F") == 0 || age < 18)
			CU_ASSERT_EQUAL(l.beard, AVATAR_BEARD_NONE);
		CU_ASSERT_EQUAL(l.grey && l.lines, age >= 65);
		if (age < 30)
			CU_ASSERT_EQUAL(l.grey, 0);
		if (i >= 3)
			continue;
		/* Drawing is slow: the bytes of the first few, twice. */
		CU_ASSERT_EQUAL_FATAL(dmv_record("CA", i, &again), 0);
		avatar_person_init(&q, again.photo_seed, again.sex,
		    dmv_age(again.dob));
		CU_ASSERT_EQUAL_FATAL(avatar_person_jpeg(&p, AVATAR_WIDTH,
		    AVATAR_HEIGHT, AVATAR_QUALITY, &a, &na), 0);
		CU_ASSERT_EQUAL_FATAL(avatar_person_jpeg(&q, AVATAR_WIDTH,
		    AVATAR_HEIGHT, AVATAR_QUALITY, &b, &nb), 0);
		CU_ASSERT(na == nb && memcmp(a, b, na) == 0);
		free(a);
		free(b);
	}
}

static void
test_avatar_person_bad(void)
{
	struct avatar_person	 p = { 1, AVATAR_SEX_MALE, AVATAR_AGE_ADULT };
	struct avatar_look	 l;
	uint8_t			*img = NULL;
	size_t			 n = 0;

	CU_ASSERT_EQUAL(avatar_look(NULL, &l), -1);
	CU_ASSERT_EQUAL(avatar_look(&p, NULL), -1);
	p.sex = (enum avatar_sex)7;
	CU_ASSERT_EQUAL(avatar_look(&p, &l), -1);
	CU_ASSERT_EQUAL(avatar_person_jpeg(&p, AVATAR_WIDTH, AVATAR_HEIGHT,
	    AVATAR_QUALITY, &img, &n), -1);
	p.sex = AVATAR_SEX_FEMALE;
	p.age = (enum avatar_age)-1;
	CU_ASSERT_EQUAL(avatar_look(&p, &l), -1);
	CU_ASSERT_EQUAL(avatar_person_jpeg(NULL, AVATAR_WIDTH, AVATAR_HEIGHT,
	    AVATAR_QUALITY, &img, &n), -1);
	CU_ASSERT_PTR_NULL(img);
	CU_ASSERT_EQUAL(n, 0);
}

/*
 * The pool: a record keeps its sex and age bracket; each (sex, age) has
 * AVATAR_POOL portraits, every slot one of them, and a record always
 * gets the same one.
 */
static void
test_avatar_pool(void)
{
	static int		 used[AVATAR_POOL_SLOTS];
	struct avatar_person	 p, q, r;
	int			 s, a, slot, slot2, n = 0;
	uint32_t		 seed;

	memset(used, 0, sizeof used);
	for (s = AVATAR_SEX_ANY; s <= AVATAR_SEX_FEMALE; s++)
		for (a = AVATAR_AGE_ANY; a <= AVATAR_AGE_SENIOR; a++)
			for (seed = 1000; seed < 1000 + 4 * AVATAR_POOL;
			    seed++) {
				p.seed = seed;
				p.sex = (enum avatar_sex)s;
				p.age = (enum avatar_age)a;
				avatar_pool_person(&p, &q, &slot);
				CU_ASSERT_EQUAL(q.sex, p.sex);
				CU_ASSERT_EQUAL(q.age, p.age);
				CU_ASSERT(slot >= 0 && slot < AVATAR_POOL_SLOTS);
				if (slot >= 0 && slot < AVATAR_POOL_SLOTS &&
				    !used[slot]++)
					n++;
				avatar_pool_person(&p, &r, &slot2);
				CU_ASSERT_EQUAL(r.seed, q.seed);
				CU_ASSERT_EQUAL(slot2, slot);
			}
	/* Every slot of the pool is reached, none shared by two kinds. */
	CU_ASSERT_EQUAL(n, AVATAR_POOL_SLOTS);
}

/*
 * avatar_pool_slot gives the portrait of a slot: what avatar_pool_person
 * gives every person of that slot (what nlstate -D draws is what the
 * answers show).
 */
static void
test_avatar_pool_slot(void)
{
	struct avatar_person	 p, who, q;
	int			 slot, back;
	uint32_t		 seed;

	for (slot = 0; slot < AVATAR_POOL_SLOTS; slot++) {
		CU_ASSERT_EQUAL_FATAL(avatar_pool_slot(slot, &p), 0);
		who.sex = (enum avatar_sex)(slot / AVATAR_POOL / 5);
		who.age = (enum avatar_age)(slot / AVATAR_POOL % 5);
		for (seed = 7; seed < 7 + 2 * AVATAR_POOL; seed++) {
			who.seed = seed;
			avatar_pool_person(&who, &q, &back);
			if (back != slot)
				continue;
			CU_ASSERT_EQUAL(q.seed, p.seed);
			CU_ASSERT_EQUAL(q.sex, p.sex);
			CU_ASSERT_EQUAL(q.age, p.age);
		}
	}
	CU_ASSERT_EQUAL(avatar_pool_slot(-1, &p), -1);
	CU_ASSERT_EQUAL(avatar_pool_slot(AVATAR_POOL_SLOTS, &p), -1);
	CU_ASSERT_EQUAL(avatar_pool_slot(0, NULL), -1);
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
	    CU_ADD_TEST(s, test_avatar_garbage) == NULL ||
	    CU_ADD_TEST(s, test_avatar_age_bracket) == NULL ||
	    CU_ADD_TEST(s, test_avatar_look_table) == NULL ||
	    CU_ADD_TEST(s, test_avatar_traits_change_face) == NULL ||
	    CU_ADD_TEST(s, test_avatar_record_same_face) == NULL ||
	    CU_ADD_TEST(s, test_avatar_person_bad) == NULL ||
	    CU_ADD_TEST(s, test_avatar_pool) == NULL ||
	    CU_ADD_TEST(s, test_avatar_pool_slot) == NULL)
		return -1;
	return 0;
}
