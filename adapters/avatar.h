/*
 * avatar - synthetic JPEG "licence photos" drawn in code.
 *
 * A cartoon head-and-shoulders portrait (background gradient, shirt,
 * neck, ears, head, hair, eyes, eyebrows, nose, mouth, sometimes glasses,
 * a beard, lines of age) whose palette and proportions are chosen by a
 * 32-bit seed, within what the person's sex and age bracket allow (a
 * senior has grey hair and lines, a child a round face, large eyes and
 * narrow shoulders, only men have beards: avatar_rules in avatar.c),
 * plus a mild deterministic grain so the JPEG weighs what a real DMV
 * photo does (about 16-19 KB at the defaults). No real person is
 * depicted. The same (person, width, height, quality) always yields the
 * same bytes for a given libjpeg build.
 */
#ifndef NLSWITCH_AVATAR_H
#define NLSWITCH_AVATAR_H

#include <stddef.h>
#include <stdint.h>

/** Default portrait size and JPEG quality (a 4:5 licence photo). */
#define AVATAR_WIDTH	240
#define AVATAR_HEIGHT	300
#define AVATAR_QUALITY	85

/** Accepted bounds for avatar_jpeg() dimensions. */
#define AVATAR_DIM_MIN	16
#define AVATAR_DIM_MAX	4096

/** The sex drawn; AVATAR_SEX_ANY lets the seed decide. */
enum avatar_sex {
	AVATAR_SEX_ANY = 0,
	AVATAR_SEX_MALE,
	AVATAR_SEX_FEMALE
};

/** The age bracket drawn (avatar_age_bracket); ANY lets the seed decide. */
enum avatar_age {
	AVATAR_AGE_ANY = 0,
	AVATAR_AGE_CHILD,	/* under 18 */
	AVATAR_AGE_YOUNG,	/* young adult, 18 to 29 */
	AVATAR_AGE_ADULT,	/* 30 to 64 */
	AVATAR_AGE_SENIOR	/* 65 and over */
};

enum avatar_hair {
	AVATAR_HAIR_SHORT,	/* side parting */
	AVATAR_HAIR_LONG,
	AVATAR_HAIR_RECEDING,
	AVATAR_HAIR_CURLY,
	AVATAR_HAIR_BOB,
	AVATAR_HAIR_NSTYLES
};

enum avatar_beard {
	AVATAR_BEARD_NONE,
	AVATAR_BEARD_STUBBLE,
	AVATAR_BEARD_MOUSTACHE,
	AVATAR_BEARD_FULL,
	AVATAR_BEARD_NSTYLES
};

/** Whom to draw: the seed (dmv_record.photo_seed) and who it is. */
struct avatar_person {
	uint32_t	seed;
	enum avatar_sex	sex;
	enum avatar_age	age;
};

/**
 * What a person's sex and age decided in the portrait (the rest is the
 * seed's): for tests and for anyone who wants to know what was drawn.
 * Lengths are in pixels of the 240x300 layout canvas.
 */
struct avatar_look {
	enum avatar_hair	hair;
	enum avatar_beard	beard;
	int			grey;		/* 1: grey or white hair */
	int			lines;		/* 1: lines of age on the face */
	int			glasses;	/* 1: wears glasses */
	double			head_w;		/* head half-width */
	double			head_h;		/* head half-height */
	double			eye_w;		/* eye half-width */
	double			brow;		/* eyebrow thickness */
	double			shoulders;	/* shoulders' half-width */
};

/**
 * The age bracket of someone aged years.
 * @return AVATAR_AGE_CHILD .. AVATAR_AGE_SENIOR, AVATAR_AGE_ANY when
 *	years is negative (unknown).
 */
enum avatar_age	avatar_age_bracket(int years);

/**
 * Fill p for a driver: seed, sex code ("M", "F"; anything else: ANY) and
 * age in years (negative: unknown, ANY).
 */
void	avatar_person_init(struct avatar_person *p, uint32_t seed,
	    const char *sex, int years);

/*
 * The pool: AVATAR_POOL portraits per sex and age bracket, so that a
 * simulator draws each at most once and answers from its cache (drawing
 * one costs milliseconds). A record keeps its sex and age bracket and
 * always gets the same portrait of the pool (by its seed).
 */
#define AVATAR_POOL		16
#define AVATAR_POOL_SLOTS	(3 * 5 * AVATAR_POOL)	/* sexes x ages */

/**
 * The pool's portrait for p: out has p's sex and age and one of
 * AVATAR_POOL seeds chosen by p's; *slot (may be NULL) gets its index in
 * [0, AVATAR_POOL_SLOTS), the key of a cache of drawn portraits.
 */
void	avatar_pool_person(const struct avatar_person *p,
	    struct avatar_person *out, int *slot);

/**
 * The portrait of pool slot slot: the out of avatar_pool_person for every
 * person it puts in that slot. What a simulator draws to fill its cache
 * before it answers anything.
 * @param out receives the slot's sex, age and (pool) seed.
 * @return 0, -1 if slot is not in [0, AVATAR_POOL_SLOTS) or out is NULL.
 */
int	avatar_pool_slot(int slot, struct avatar_person *out);

/**
 * What avatar_person_jpeg() draws for p.
 * @return 0, -1 if p or look is NULL or p's sex or age is out of range.
 */
int	avatar_look(const struct avatar_person *p, struct avatar_look *look);

/**
 * Draw the portrait of p and encode it as a baseline JPEG (YCbCr 4:2:0).
 * Arguments and result as avatar_jpeg(); also -1 for a p out of range.
 * With sex and age both ANY the portrait is avatar_jpeg(p->seed, ...)'s.
 */
int	avatar_person_jpeg(const struct avatar_person *p, int width,
	    int height, int quality, uint8_t **out, size_t *outlen);

/**
 * Draw the portrait for seed, of any sex and age, and encode it as a
 * baseline JPEG (YCbCr 4:2:0). The drawing is laid out on a 240x300 canvas scaled to width x height,
 * so other aspect ratios stretch it.
 * @param seed selects every random choice (dmv_record.photo_seed).
 * @param width, height in [AVATAR_DIM_MIN, AVATAR_DIM_MAX].
 * @param quality libjpeg quality, 1-100.
 * @param out receives a malloc'd buffer the caller frees with free().
 * @param outlen receives its length.
 * @return 0, or -1 on bad arguments or an encoder failure (*out untouched).
 */
int	avatar_jpeg(uint32_t seed, int width, int height, int quality,
	    uint8_t **out, size_t *outlen);

/**
 * Check that p..p+n holds a JPEG whose header libjpeg can read.
 * Only the header is decoded; a truncated scan still passes.
 * @param w, h receive the dimensions when non-NULL and the data is valid.
 * @return 1 if valid, 0 otherwise (libjpeg errors are caught, not printed).
 */
int	avatar_is_jpeg(const uint8_t *p, size_t n, int *w, int *h);

#endif
