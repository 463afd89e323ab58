/*
 * avatar - see avatar.h.
 *
 * The portrait is a painter's-algorithm scene evaluated per sample: for a
 * point of the 240x300 virtual canvas, avatar_shade() returns the colour of
 * the topmost shape covering it (background, back hair, neck, shirt, ears,
 * head, front hair, eyes, brows, lines of age, nose, beard, mouth,
 * moustache, glasses). Each pixel averages 2x2 samples for smooth edges,
 * then gets a little seeded grain, and the raster goes through
 * libjpeg-turbo's memory destination.
 *
 * The seed's choices are drawn first, in a fixed order, exactly as before
 * sex and age existed (a person of ANY sex and age keeps the old face);
 * then avatar_face_traits() bends them to the person's row of
 * avatar_rules with further draws from the same stream.
 */
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "avatar.h"
#include "util.h"

#define AVATAR_VW	240.0	/* virtual canvas the layout is written for */
#define AVATAR_VH	300.0
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct avatar_rgb {
	double	r, g, b;
};

enum avatar_mouth {
	AVATAR_MOUTH_SMILE,
	AVATAR_MOUTH_GRIN,
	AVATAR_MOUTH_FLAT,
	AVATAR_MOUTH_NSTYLES
};

/* Every choice the seed makes, resolved once before drawing. */
struct avatar_face {
	struct avatar_rgb	bg_top, bg_bot;
	struct avatar_rgb	skin, hair, brow, iris, lip, shirt, frame;
	double			cx, cy, rx, ry;		/* head ellipse */
	double			eye_dx, eye_dy, eye_rx, eye_ry, iris_r, look;
	double			brow_tilt, brow_th;
	double			nose_w;
	double			mouth_w, mouth_dy, mouth_curve;
	double			neck_w, shirt_rx, shirt_ry;
	double			part;			/* hair parting, -1..1 */
	enum avatar_hair	hair_style;
	enum avatar_mouth	mouth_style;
	enum avatar_beard	beard;
	int			vneck;
	int			glasses;
	int			blush;
	int			grey;			/* grey or white hair */
	int			lines;			/* lines of age */
};

/*
 * What a sex and an age bracket allow; the seed chooses within. One row
 * per (sex, age); tests/test_avatar.c holds the same table as the
 * expectation.
 */
struct avatar_rule {
	unsigned	hairs;		/* bit (1 << enum avatar_hair) allowed */
	unsigned	beards;		/* bit (1 << enum avatar_beard) allowed */
	int		grey_pct;	/* chance of grey or white hair */
	int		lines;		/* 1: lines of age */
	int		glasses_pct;
	double		rx_lo, rx_hi;	/* head half-width */
	double		ry_lo, ry_hi;	/* head half-height */
	double		eye_k;		/* eye size, times the seed's */
	double		brow_lo, brow_hi;
	double		shirt_lo, shirt_hi;	/* shoulders' half-width */
};

#define AVATAR_H(x)	(1u << AVATAR_HAIR_##x)
#define AVATAR_B(x)	(1u << AVATAR_BEARD_##x)

static const struct avatar_rule avatar_rules[2][4] = {
	{	/* male: child, young adult, adult, senior */
		{ AVATAR_H(SHORT) | AVATAR_H(CURLY), AVATAR_B(NONE), 0, 0, 8,
		  48, 53, 54, 60, 1.25, 1.6, 2.2, 92, 104 },
		{ AVATAR_H(SHORT) | AVATAR_H(CURLY) | AVATAR_H(LONG),
		  AVATAR_B(NONE) | AVATAR_B(STUBBLE) | AVATAR_B(MOUSTACHE),
		  0, 0, 15, 53, 60, 66, 74, 1.0, 2.3, 3.1, 120, 132 },
		{ AVATAR_H(SHORT) | AVATAR_H(CURLY) | AVATAR_H(RECEDING),
		  AVATAR_B(NONE) | AVATAR_B(STUBBLE) | AVATAR_B(MOUSTACHE) |
		  AVATAR_B(FULL), 25, 0, 30, 54, 61, 66, 74, 1.0, 2.3, 3.1,
		  120, 132 },
		{ AVATAR_H(SHORT) | AVATAR_H(RECEDING),
		  AVATAR_B(NONE) | AVATAR_B(MOUSTACHE) | AVATAR_B(FULL),
		  100, 1, 60, 54, 61, 66, 74, 0.92, 2.5, 3.3, 114, 126 },
	},
	{	/* female: child, young adult, adult, senior */
		{ AVATAR_H(LONG) | AVATAR_H(BOB) | AVATAR_H(CURLY),
		  AVATAR_B(NONE), 0, 0, 8, 48, 53, 54, 60, 1.25, 1.3, 1.8,
		  92, 104 },
		{ AVATAR_H(LONG) | AVATAR_H(BOB) | AVATAR_H(CURLY),
		  AVATAR_B(NONE), 0, 0, 15, 49, 56, 64, 72, 1.05, 1.4, 2.0,
		  108, 120 },
		{ AVATAR_H(LONG) | AVATAR_H(BOB) | AVATAR_H(CURLY) |
		  AVATAR_H(SHORT), AVATAR_B(NONE), 25, 0, 30, 49, 56, 64, 72,
		  1.0, 1.4, 2.0, 108, 120 },
		{ AVATAR_H(BOB) | AVATAR_H(CURLY) | AVATAR_H(SHORT),
		  AVATAR_B(NONE), 100, 1, 60, 49, 56, 64, 72, 0.92, 1.4, 2.0,
		  104, 116 },
	},
};

/* libjpeg error manager that returns to the caller instead of exit(). */
struct avatar_jerr {
	struct jpeg_error_mgr	pub;
	jmp_buf			jb;
};

/*
 * Encoder state lives in the caller's frame, not in the function that calls
 * setjmp(), so nothing it needs after a longjmp is an indeterminate local.
 */
struct avatar_enc {
	struct jpeg_compress_struct	 c;
	struct avatar_jerr		 jerr;
	const uint8_t			*rgb;
	int				 w, h, q;
	unsigned char			*buf;
	unsigned long			 len;
};

struct avatar_dec {
	struct jpeg_decompress_struct	c;
	struct avatar_jerr		jerr;
	int				w, h;
};

static const struct avatar_rgb avatar_skins[] = {
	{ 255, 224, 196 }, { 241, 198, 163 }, { 228, 178, 138 },
	{ 206, 150, 110 }, { 178, 124, 86 }, { 146, 98, 66 },
	{ 116, 76, 52 }, { 88, 58, 42 },
};

static const struct avatar_rgb avatar_hairs[] = {
	{ 28, 24, 24 }, { 58, 40, 30 }, { 96, 64, 40 }, { 146, 106, 66 },
	{ 214, 184, 118 }, { 138, 62, 32 }, { 176, 84, 42 }, { 148, 148, 150 },
	{ 222, 222, 216 },
};

static const struct avatar_rgb avatar_irises[] = {
	{ 96, 60, 30 }, { 58, 36, 22 }, { 64, 116, 186 }, { 66, 126, 80 },
	{ 128, 108, 52 }, { 112, 124, 138 },
};

static const struct avatar_rgb avatar_shirts[] = {
	{ 34, 52, 96 }, { 168, 40, 44 }, { 46, 112, 70 }, { 110, 30, 50 },
	{ 110, 112, 118 }, { 30, 120, 128 }, { 232, 232, 226 }, { 32, 32, 36 },
	{ 196, 150, 50 }, { 92, 60, 130 }, { 80, 130, 190 },
};

static const struct avatar_rgb avatar_bgs[] = {
	{ 200, 216, 236 }, { 226, 226, 226 }, { 212, 228, 212 },
	{ 236, 226, 206 }, { 188, 200, 216 }, { 230, 214, 222 },
};

static const struct avatar_rgb avatar_frames[] = {
	{ 20, 20, 24 }, { 110, 70, 40 }, { 160, 160, 170 }, { 40, 60, 120 },
};

/* Uniform in [lo, hi). */
static double
avatar_range(uint64_t *s, double lo, double hi)
{
	return lo + (hi - lo) * (double)(util_rand_next(s) >> 11) *
	    (1.0 / 9007199254740992.0);
}

static struct avatar_rgb
avatar_mix(struct avatar_rgb a, struct avatar_rgb b, double t)
{
	struct avatar_rgb c;

	c.r = a.r + (b.r - a.r) * t;
	c.g = a.g + (b.g - a.g) * t;
	c.b = a.b + (b.b - a.b) * t;
	return c;
}

static struct avatar_rgb
avatar_scale(struct avatar_rgb a, double k)
{
	a.r *= k;
	a.g *= k;
	a.b *= k;
	return a;
}

/* Squared normalised distance to an ellipse centre: <= 1 is inside. */
static double
avatar_ell(double x, double y, double cx, double cy, double rx, double ry)
{
	double dx = (x - cx) / rx, dy = (y - cy) / ry;

	return dx * dx + dy * dy;
}

/* Distance from (x, y) to the segment (ax, ay)-(bx, by). */
static double
avatar_seg(double x, double y, double ax, double ay, double bx, double by)
{
	double	 vx = bx - ax, vy = by - ay, wx = x - ax, wy = y - ay, t;

	t = (wx * vx + wy * vy) / (vx * vx + vy * vy);
	if (t < 0)
		t = 0;
	else if (t > 1)
		t = 1;
	wx -= t * vx;
	wy -= t * vy;
	return sqrt(wx * wx + wy * wy);
}

/* One of the bits set in mask, drawn uniformly. */
static unsigned
avatar_pick(uint64_t *s, unsigned mask)
{
	unsigned	 n = 0, k, i;

	for (i = 0; i < 32; i++)
		n += mask >> i & 1;
	k = util_rand_below(s, n);
	for (i = 0; i < 32; i++)
		if ((mask >> i & 1) && k-- == 0)
			break;
	return i;
}

/*
 * Bend the seed's face to a sex and an age bracket (avatar_rules): the
 * hair style, beard, grey hair, lines, glasses, head, eyes, brows and
 * shoulders; features laid out relative to the head move with it.
 */
static void
avatar_face_traits(struct avatar_face *f, uint64_t *s,
    const struct avatar_person *p, uint32_t hi)
{
	const struct avatar_rule	*r;
	enum avatar_sex			 sex = p->sex;
	enum avatar_age			 age = p->age;
	double				 kx, ky;

	if (sex == AVATAR_SEX_ANY)
		sex = (enum avatar_sex)(AVATAR_SEX_MALE + util_rand_below(s, 2));
	if (age == AVATAR_AGE_ANY)
		age = (enum avatar_age)(AVATAR_AGE_CHILD + util_rand_below(s, 4));
	r = &avatar_rules[sex - AVATAR_SEX_MALE][age - AVATAR_AGE_CHILD];

	f->hair_style = (enum avatar_hair)avatar_pick(s, r->hairs);
	f->beard = (enum avatar_beard)avatar_pick(s, r->beards);
	/* avatar_hairs[7] and [8] are grey and white. */
	f->grey = (int)util_rand_below(s, 100) < r->grey_pct;
	if (f->grey && age == AVATAR_AGE_SENIOR)
		hi = 7 + util_rand_below(s, 2);
	else if (!f->grey && hi >= 7)
		hi = util_rand_below(s, 7);
	f->hair = avatar_hairs[hi];
	if (f->grey && hi < 7)		/* salt and pepper */
		f->hair = avatar_mix(f->hair, avatar_hairs[7], 0.55);
	f->brow = avatar_scale(f->hair, f->grey ? 0.6 : hi == 4 ? 0.7 : 0.9);
	f->lines = r->lines;
	f->glasses = (int)util_rand_below(s, 100) < r->glasses_pct;
	if (sex == AVATAR_SEX_FEMALE)
		f->lip = avatar_mix(avatar_scale(f->skin, 0.62),
		    (struct avatar_rgb){ 186, 52, 64 }, 0.55);
	if (age == AVATAR_AGE_CHILD) {
		f->blush = 1;
		f->nose_w *= 0.8;
		f->mouth_w *= 0.85;
		f->neck_w *= 0.8;
	}

	kx = avatar_range(s, r->rx_lo, r->rx_hi) / f->rx;
	ky = avatar_range(s, r->ry_lo, r->ry_hi) / f->ry;
	f->rx *= kx;
	f->ry *= ky;
	f->eye_dx *= kx;
	f->eye_dy *= ky;
	f->mouth_dy *= ky;
	f->eye_rx *= r->eye_k;
	f->eye_ry *= r->eye_k;
	f->iris_r *= r->eye_k;
	f->brow_th = avatar_range(s, r->brow_lo, r->brow_hi);
	f->shirt_rx = avatar_range(s, r->shirt_lo, r->shirt_hi);
	if (age == AVATAR_AGE_CHILD)	/* a high forehead */
		f->eye_dy += f->ry * 0.1;
}

/*
 * Resolve every choice of the portrait: the seed's, then (unless sex and
 * age are both ANY, which draws the seed's face as it always was) what
 * the person's sex and age allow.
 */
static void
avatar_face_init(struct avatar_face *f, const struct avatar_person *p)
{
	uint64_t		s;
	struct avatar_rgb	bg;
	uint32_t		hi, seed = p->seed;

	memset(f, 0, sizeof *f);
	s = 0x61766174617221ULL ^ ((uint64_t)seed << 17) ^ seed;
	(void)util_rand_next(&s);

	bg = avatar_bgs[util_rand_below(&s, NELEM(avatar_bgs))];
	f->bg_top = avatar_mix(bg, (struct avatar_rgb){ 255, 255, 255 }, 0.35);
	f->bg_bot = avatar_scale(bg, 0.82);

	f->skin = avatar_skins[util_rand_below(&s, NELEM(avatar_skins))];
	hi = util_rand_below(&s, NELEM(avatar_hairs));
	f->hair = avatar_hairs[hi];
	/* Light hair keeps visibly darker brows. */
	f->brow = hi >= 7 ? avatar_scale(f->hair, 0.6) :
	    hi == 4 ? avatar_scale(f->hair, 0.7) : avatar_scale(f->hair, 0.9);
	f->iris = avatar_irises[util_rand_below(&s, NELEM(avatar_irises))];
	f->lip = avatar_mix(avatar_scale(f->skin, 0.62),
	    (struct avatar_rgb){ 170, 60, 60 }, 0.35);
	f->shirt = avatar_shirts[util_rand_below(&s, NELEM(avatar_shirts))];
	f->frame = avatar_frames[util_rand_below(&s, NELEM(avatar_frames))];

	f->cx = 120 + avatar_range(&s, -4, 4);
	f->cy = 126 + avatar_range(&s, -5, 5);
	f->rx = avatar_range(&s, 50, 60);
	f->ry = avatar_range(&s, 64, 74);

	f->eye_dx = avatar_range(&s, 0.36, 0.42) * f->rx;
	f->eye_dy = avatar_range(&s, -0.04, 0.06) * f->ry;
	f->eye_rx = avatar_range(&s, 9.5, 12);
	f->eye_ry = avatar_range(&s, 5.5, 7.5);
	f->iris_r = f->eye_ry * avatar_range(&s, 0.8, 0.95);
	f->look = avatar_range(&s, -2, 2);
	f->brow_tilt = avatar_range(&s, -2.5, 2.5);
	f->brow_th = avatar_range(&s, 1.6, 3.0);
	f->nose_w = avatar_range(&s, 5.5, 8.5);
	f->mouth_w = avatar_range(&s, 13, 20);
	f->mouth_dy = avatar_range(&s, 0.52, 0.6) * f->ry;
	f->mouth_curve = avatar_range(&s, 3, 6.5);
	f->neck_w = avatar_range(&s, 20, 27);
	f->shirt_rx = avatar_range(&s, 112, 130);
	f->shirt_ry = avatar_range(&s, 100, 110);
	f->part = avatar_range(&s, -1, 1);

	f->hair_style = (enum avatar_hair)util_rand_below(&s,
	    AVATAR_HAIR_NSTYLES);
	f->mouth_style = (enum avatar_mouth)util_rand_below(&s,
	    AVATAR_MOUTH_NSTYLES);
	f->vneck = util_rand_below(&s, 2);
	f->glasses = util_rand_below(&s, 100) < 22;
	f->blush = util_rand_below(&s, 100) < 30;
	if (p->sex != AVATAR_SEX_ANY || p->age != AVATAR_AGE_ANY)
		avatar_face_traits(f, &s, p, hi);
}

/* Back hair: the part of the hairdo that shows behind the head. */
static int
avatar_hair_back(const struct avatar_face *f, double x, double y)
{
	double a, r, u, v;

	switch (f->hair_style) {
	case AVATAR_HAIR_LONG:
		if (y < f->cy)
			return avatar_ell(x, y, f->cx, f->cy - 6, f->rx * 1.2,
			    f->ry * 1.1) <= 1;
		/* Hangs straight to the shoulders, corners rounded. */
		u = (x - f->cx) / (f->rx * 1.2);
		v = (y - f->cy - f->ry * 0.25) / (f->ry * 1.1);
		return u * u * u * u + v * v * v * v <= 1;
	case AVATAR_HAIR_CURLY:
		a = atan2(y - (f->cy - 14), x - f->cx);
		r = f->rx * 1.38 * (1 + 0.05 * sin(9 * a));
		return avatar_ell(x, y, f->cx, f->cy - 14, r, r * 1.05) <= 1;
	case AVATAR_HAIR_BOB:
		return avatar_ell(x, y, f->cx, f->cy - 4, f->rx * 1.22,
		    f->ry * 1.1) <= 1 && y < f->cy + f->ry * 0.6;
	default:
		return 0;
	}
}

/*
 * Front hair: the cap over the forehead and temples.
 * @return 0 where there is none, 1 for full hair, 2 for thinning hair.
 */
static int
avatar_hair_front(const struct avatar_face *f, double x, double y)
{
	double	 u = (x - f->cx) / f->rx, line;

	if (avatar_ell(x, y, f->cx, f->cy - f->ry * 0.08, f->rx * 1.08,
	    f->ry * 1.03) > 1)
		return 0;
	switch (f->hair_style) {
	case AVATAR_HAIR_RECEDING:
		/* Full at the temples, a high bare forehead, thin crown. */
		line = f->cy - f->ry * 0.45 + f->ry * 0.55 * u * u * u * u;
		if (y >= line)
			return 0;
		if (avatar_ell(x, y, f->cx, f->cy - f->ry * 0.7, f->rx * 0.66,
		    f->ry * 0.5) > 1)
			return 1;
		u /= 0.66;
		return y < f->cy - f->ry * (0.72 + 0.18 * (1 - u * u)) ? 2 : 0;
	case AVATAR_HAIR_CURLY:
		/* Scalloped curls along the hairline. */
		line = f->cy - f->ry * 0.5 + f->ry * 0.55 * u * u * u * u +
		    4 * fabs(sin(x * 0.3));
		return y < line;
	case AVATAR_HAIR_BOB:
		/* Straight fringe with a gentle wave. */
		line = f->cy - f->ry * 0.36 + 1.5 * sin(x * 0.25) +
		    f->ry * 0.9 * u * u * u * u;
		return y < line;
	default:
		/* Side parting: the hairline dips on one side. */
		line = f->cy - f->ry * 0.48 + f->ry * 0.6 * u * u * u * u +
		    f->part * u * f->ry * 0.12;
		return y < line;
	}
}

/* The eye at (ex, ey); returns 1 and sets *c when (x, y) falls in it. */
static int
avatar_eye(const struct avatar_face *f, double x, double y, double ex,
    double ey, struct avatar_rgb *c)
{
	double	 d, ix = ex + f->look, r;

	d = avatar_ell(x, y, ex, ey, f->eye_rx, f->eye_ry);
	/* Upper lid and lashes: a dark rim over the top half. */
	if (d > 1 && d <= 1.45 && y < ey + 1) {
		*c = avatar_scale(f->hair, 0.4);
		if (y > ey - f->eye_ry * 0.3)
			*c = avatar_mix(f->skin, *c, 0.5);
		return 1;
	}
	if (d > 1)
		return 0;
	r = sqrt((x - ix) * (x - ix) + (y - ey) * (y - ey));
	if (r < 1.3 && x > ix + 1 && y < ey - 1) {
		*c = (struct avatar_rgb){ 255, 255, 255 };
	} else if (sqrt((x - ix - 1.8) * (x - ix - 1.8) +
	    (y - ey + 1.8) * (y - ey + 1.8)) < 1.4) {
		*c = (struct avatar_rgb){ 250, 250, 250 };
	} else if (r < f->iris_r * 0.45) {
		*c = (struct avatar_rgb){ 14, 12, 12 };
	} else if (r < f->iris_r) {
		*c = avatar_scale(f->iris, 1.15 - 0.45 * r / f->iris_r);
	} else {
		*c = (struct avatar_rgb){ 246, 244, 240 };
		/* Lid shadow on the white. */
		if (y < ey - f->eye_ry * 0.5)
			*c = avatar_scale(*c, 0.88);
	}
	return 1;
}

/* The mouth; returns 1 and sets *c when (x, y) falls in it. */
static int
avatar_mouth(const struct avatar_face *f, double x, double y,
    struct avatar_rgb *c)
{
	double	 mx = f->cx, my = f->cy + f->mouth_dy, t, bend, up, lo;

	t = (x - mx) / f->mouth_w;
	if (fabs(t) > 1.05)
		return 0;
	bend = 1 - t * t;
	switch (f->mouth_style) {
	case AVATAR_MOUTH_GRIN:
		up = my - 1 + f->mouth_curve * 0.25 * bend;
		lo = my + f->mouth_curve * 1.5 * bend;
		if (y < up - 1.2 || y > lo + 1.8)
			return 0;
		if (y < up || y > lo)
			*c = f->lip;
		else if (y < up + (lo - up) * 0.45 && fabs(t) < 0.85)
			*c = (struct avatar_rgb){ 245, 242, 232 };
		else
			*c = (struct avatar_rgb){ 90, 30, 34 };
		return 1;
	case AVATAR_MOUTH_FLAT:
		lo = my + 1.2 * bend;
		if (fabs(y - lo) > 1.3 * (0.5 + 0.5 * bend) + 0.4)
			return 0;
		*c = avatar_scale(f->lip, 0.85);
		return 1;
	default:
		lo = my + f->mouth_curve * bend;
		if (fabs(y - lo) > 1.1 + 1.2 * bend)
			return 0;
		*c = f->lip;
		return 1;
	}
}

/* Lines of age: forehead, crow's feet, nose to mouth. 1 if at (x, y). */
static int
avatar_lines(const struct avatar_face *f, double x, double y,
    struct avatar_rgb *c)
{
	double	 ex, ey = f->cy + f->eye_dy, gy = f->cy + f->ry * 0.3;
	double	 my = f->cy + f->mouth_dy, fy;
	int	 side, i;

	for (i = 0; i < 2; i++) {
		fy = f->cy - f->ry * (0.40 + 0.09 * i);
		if (avatar_seg(x, y, f->cx - f->rx * 0.35, fy, f->cx +
		    f->rx * 0.35, fy) < 0.7)
			goto hit;
	}
	for (side = -1; side <= 1; side += 2) {
		ex = f->cx + side * (f->eye_dx + f->eye_rx + 2);
		if (avatar_seg(x, y, ex, ey, ex + side * 5, ey - 3) < 0.6 ||
		    avatar_seg(x, y, ex, ey + 1, ex + side * 5, ey + 4) < 0.6 ||
		    avatar_seg(x, y, f->cx + side * f->nose_w * 1.2, gy + 1,
		    f->cx + side * (f->mouth_w + 3), my + 1) < 0.8)
			goto hit;
	}
	return 0;
hit:
	*c = avatar_scale(f->skin, 0.78);
	return 1;
}

/* Stubble or a full beard on the jaw and chin (a moustache is drawn
 * over the mouth by avatar_moustache). */
static void
avatar_beard(const struct avatar_face *f, double x, double y,
    struct avatar_rgb *c)
{
	int	 jaw;

	if (f->beard != AVATAR_BEARD_STUBBLE && f->beard != AVATAR_BEARD_FULL)
		return;
	jaw = y > f->cy + f->ry * 0.1 && (avatar_ell(x, y, f->cx,
	    f->cy - f->ry * 0.05, f->rx * 0.8, f->ry * 0.72) > 1 ||
	    (fabs(x - f->cx) < f->mouth_w * 1.3 &&
	    y > f->cy + f->ry * 0.3 + 6));
	if (!jaw)
		return;
	if (f->beard == AVATAR_BEARD_STUBBLE)
		*c = avatar_mix(*c, avatar_scale(f->hair, 0.5), 0.28);
	else
		*c = avatar_scale(f->hair, 0.85);
}

static int
avatar_moustache(const struct avatar_face *f, double x, double y,
    struct avatar_rgb *c)
{
	double my = f->cy + f->mouth_dy;

	if ((f->beard != AVATAR_BEARD_MOUSTACHE &&
	    f->beard != AVATAR_BEARD_FULL) || y > my - 2.2 ||
	    avatar_ell(x, y, f->cx, my - 5.5, f->mouth_w * 1.05, 3.4) > 1)
		return 0;
	*c = avatar_scale(f->hair, 0.8);
	return 1;
}

/* Colour of the topmost shape at virtual point (x, y). */
static struct avatar_rgb
avatar_shade(const struct avatar_face *f, double x, double y)
{
	struct avatar_rgb	 c, skin_dark;
	double			 d, top, ex, ey, k, gx, gy;
	int			 side, hf;

	skin_dark = avatar_scale(f->skin, 0.8);

	/* Background: vertical gradient with a soft vignette. */
	c = avatar_mix(f->bg_top, f->bg_bot, y / AVATAR_VH);
	d = avatar_ell(x, y, AVATAR_VW / 2, AVATAR_VH * 0.45, AVATAR_VW * 0.8,
	    AVATAR_VH * 0.75);
	if (d > 0.5)
		c = avatar_scale(c, 1 - 0.12 * (d - 0.5));

	if (avatar_hair_back(f, x, y))
		c = avatar_scale(f->hair, 0.8);

	/* Neck, shadowed under the chin. */
	if (fabs(x - f->cx) < f->neck_w && y > f->cy + f->ry * 0.5 &&
	    y < AVATAR_VH) {
		k = y < f->cy + f->ry * 1.15 ? 0.78 : 0.86;
		c = avatar_scale(f->skin, k);
	}

	/* Shoulders and shirt. */
	top = AVATAR_VH + 22 - f->shirt_ry;
	d = avatar_ell(x, y, f->cx, AVATAR_VH + 22, f->shirt_rx, f->shirt_ry);
	if (d <= 1) {
		/* Folds: darker towards the arms. */
		c = avatar_scale(f->shirt, 1 - 0.25 * fabs(x - f->cx) /
		    f->shirt_rx);
		if (f->vneck) {
			if (y - top < 34 && fabs(x - f->cx) <
			    f->neck_w * 0.95 * (1 - (y - top) / 34))
				c = avatar_scale(f->skin, 0.86);
			else if (y - top < 38 && fabs(x - f->cx) <
			    f->neck_w * 1.15 * (1 - (y - top) / 38))
				c = avatar_scale(f->shirt, 0.7);
		} else if (avatar_ell(x, y, f->cx, top, f->neck_w * 1.2,
		    12) <= 1) {
			/* Crew neck: a ribbed band round the neck. */
			c = avatar_ell(x, y, f->cx, top, f->neck_w, 8) <= 1 ?
			    avatar_scale(f->skin, 0.75) :
			    avatar_scale(f->shirt, 0.75);
		}
	}

	/* Ears, with a darker inner fold. */
	for (side = -1; side <= 1; side += 2) {
		ex = f->cx + side * f->rx * 0.97;
		ey = f->cy + f->ry * 0.05;
		if (avatar_ell(x, y, ex, ey, 9, 15) <= 1)
			c = avatar_ell(x, y, ex + side * 1.5, ey, 5, 9) <= 1 ?
			    skin_dark : avatar_scale(f->skin, 0.95);
	}

	/* Head, lit from the upper left and darker at the rim. */
	d = avatar_ell(x, y, f->cx, f->cy, f->rx, f->ry);
	if (d <= 1) {
		k = 1.02 - 0.05 * (x - f->cx) / f->rx;
		if (d > 0.6)
			k -= 0.2 * (d - 0.6);
		c = avatar_scale(f->skin, k);
		if (f->blush) {
			for (side = -1; side <= 1; side += 2) {
				gx = f->cx + side * f->eye_dx * 1.1;
				gy = f->cy + f->ry * 0.3;
				d = avatar_ell(x, y, gx, gy, 11, 7);
				if (d < 1)
					c = avatar_mix(c, (struct avatar_rgb){
					    230, 110, 110 }, 0.18 * (1 - d));
			}
		}
	}

	if ((hf = avatar_hair_front(f, x, y)) != 0) {
		c = hf == 2 ? avatar_mix(f->hair, f->skin, 0.55) : f->hair;
		/* A highlight band gives the hair some volume. */
		d = avatar_ell(x, y, f->cx - f->rx * 0.3, f->cy - f->ry * 0.8,
		    f->rx * 0.35, f->ry * 0.12);
		if (d < 1)
			c = avatar_mix(c, (struct avatar_rgb){ 255, 255, 255 },
			    0.12 * (1 - d));
		return c;	/* nothing of the face is drawn over hair */
	}
	if (avatar_ell(x, y, f->cx, f->cy, f->rx, f->ry) > 1)
		return c;

	for (side = -1; side <= 1; side += 2) {
		ex = f->cx + side * f->eye_dx;
		ey = f->cy + f->eye_dy;
		if (avatar_eye(f, x, y, ex, ey, &c))
			break;
		/* Brow: inner end tilted by brow_tilt, mirrored per side. */
		if (avatar_seg(x, y, ex - side * f->eye_rx * 0.9,
		    ey - 12 + f->brow_tilt, ex + side * f->eye_rx * 1.1,
		    ey - 13 - f->brow_tilt * 0.3) < f->brow_th) {
			c = f->brow;
			break;
		}
	}

	if (f->lines)
		(void)avatar_lines(f, x, y, &c);

	/* Nose: a soft ridge, a shaded tip and two nostrils. */
	gy = f->cy + f->ry * 0.3;
	if (avatar_seg(x, y, f->cx + 2, f->cy + f->eye_dy + 5, f->cx + 4,
	    gy - 3) < 1.2)
		c = avatar_scale(f->skin, 0.86);
	d = avatar_ell(x, y, f->cx, gy, f->nose_w, 5);
	if (d <= 1 && y > gy - 1)
		c = avatar_scale(f->skin, 0.9 - 0.05 * (1 - d));
	for (side = -1; side <= 1; side += 2)
		if (avatar_ell(x, y, f->cx + side * f->nose_w * 0.5, gy + 2.5,
		    2.2, 1.4) <= 1)
			c = avatar_scale(f->skin, 0.5);

	avatar_beard(f, x, y, &c);
	(void)avatar_mouth(f, x, y, &c);
	(void)avatar_moustache(f, x, y, &c);

	if (f->glasses) {
		for (side = -1; side <= 1; side += 2) {
			ex = f->cx + side * f->eye_dx;
			ey = f->cy + f->eye_dy;
			d = avatar_ell(x, y, ex, ey, f->eye_rx + 5,
			    f->eye_ry + 6);
			if (d > 1 && d < 1.25)
				c = f->frame;
			else if (d <= 1)	/* a faint lens tint */
				c = avatar_mix(c, (struct avatar_rgb){
				    200, 220, 240 }, 0.1);
		}
		if (avatar_seg(x, y, f->cx - f->eye_dx + f->eye_rx + 5,
		    f->cy + f->eye_dy - 2, f->cx + f->eye_dx - f->eye_rx - 5,
		    f->cy + f->eye_dy - 2) < 1.3)
			c = f->frame;
	}
	return c;
}

/* Per-pixel grain hash, independent of drawing order. */
static uint32_t
avatar_hash(uint32_t seed, uint32_t x, uint32_t y)
{
	uint32_t h = seed * 0x9e3779b1u ^ x * 0x85ebca6bu ^ y * 0xc2b2ae35u;

	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	h *= 0x846ca68bu;
	h ^= h >> 16;
	return h;
}

static uint8_t
avatar_clamp(double v)
{
	if (v <= 0)
		return 0;
	if (v >= 255)
		return 255;
	return (uint8_t)(v + 0.5);
}

/* Render the portrait into rgb (w * h * 3 bytes). */
static void
avatar_draw(const struct avatar_person *who, int w, int h, uint8_t *rgb)
{
	struct avatar_face	 f;
	uint32_t		 seed = who->seed;
	struct avatar_rgb	 c, s;
	double			 sx = AVATAR_VW / w, sy = AVATAR_VH / h, n;
	uint32_t		 g;
	int			 x, y, i;
	uint8_t			*p = rgb;
	static const double	 off[4][2] = {
		{ 0.25, 0.25 }, { 0.75, 0.25 }, { 0.25, 0.75 }, { 0.75, 0.75 }
	};

	avatar_face_init(&f, who);
	for (y = 0; y < h; y++) {
		for (x = 0; x < w; x++) {
			c = (struct avatar_rgb){ 0, 0, 0 };
			for (i = 0; i < 4; i++) {
				s = avatar_shade(&f, (x + off[i][0]) * sx,
				    (y + off[i][1]) * sy);
				c.r += s.r;
				c.g += s.g;
				c.b += s.b;
			}
			/* Triangular luminance grain plus a little chroma. */
			g = avatar_hash(seed, (uint32_t)x, (uint32_t)y);
			n = (double)(g & 0xff) + (double)(g >> 8 & 0xff) - 255;
			n *= 14.0 / 255;
			*p++ = avatar_clamp(c.r / 4 + n +
			    ((double)(g >> 16 & 0xf) - 7.5) * 0.3);
			*p++ = avatar_clamp(c.g / 4 + n);
			*p++ = avatar_clamp(c.b / 4 + n +
			    ((double)(g >> 20 & 0xf) - 7.5) * 0.3);
		}
	}
}

static void
avatar_error_exit_cb(j_common_ptr cinfo)
{
	struct avatar_jerr *jerr = (struct avatar_jerr *)cinfo->err;

	longjmp(jerr->jb, 1);
}

/* libjpeg warnings and traces would go to stderr; callers get 0/-1. */
static void
avatar_output_message_cb(j_common_ptr cinfo)
{
	(void)cinfo;
}

/*
 * Compress e->rgb into e->buf / e->len, which arrive preallocated.
 * @return 0, or -1 after a libjpeg error (e->buf still the caller's).
 */
static int
avatar_encode(struct avatar_enc *e)
{
	JSAMPROW row;

	e->c.err = jpeg_std_error(&e->jerr.pub);
	e->jerr.pub.error_exit = avatar_error_exit_cb;
	e->jerr.pub.output_message = avatar_output_message_cb;
	if (setjmp(e->jerr.jb)) {
		jpeg_destroy_compress(&e->c);
		return -1;
	}
	jpeg_create_compress(&e->c);
	jpeg_mem_dest(&e->c, &e->buf, &e->len);
	e->c.image_width = (JDIMENSION)e->w;
	e->c.image_height = (JDIMENSION)e->h;
	e->c.input_components = 3;
	e->c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&e->c);
	jpeg_set_quality(&e->c, e->q, TRUE);
	jpeg_start_compress(&e->c, TRUE);
	while (e->c.next_scanline < e->c.image_height) {
		row = (JSAMPROW)(e->rgb +
		    (size_t)e->c.next_scanline * (size_t)e->w * 3);
		(void)jpeg_write_scanlines(&e->c, &row, 1);
	}
	jpeg_finish_compress(&e->c);
	jpeg_destroy_compress(&e->c);
	return 0;
}

/* 1 if p names a sex and an age bracket drawable (ANY included). */
static int
avatar_person_is_valid(const struct avatar_person *p)
{
	return p != NULL && p->sex >= AVATAR_SEX_ANY &&
	    p->sex <= AVATAR_SEX_FEMALE && p->age >= AVATAR_AGE_ANY &&
	    p->age <= AVATAR_AGE_SENIOR;
}

enum avatar_age
avatar_age_bracket(int years)
{
	if (years < 0)
		return AVATAR_AGE_ANY;
	if (years < 18)
		return AVATAR_AGE_CHILD;
	if (years < 30)
		return AVATAR_AGE_YOUNG;
	if (years < 65)
		return AVATAR_AGE_ADULT;
	return AVATAR_AGE_SENIOR;
}

void
avatar_person_init(struct avatar_person *p, uint32_t seed, const char *sex,
    int years)
{
	p->seed = seed;
	p->sex = AVATAR_SEX_ANY;
	if (sex != NULL && strcmp(sex, "M") == 0)
		p->sex = AVATAR_SEX_MALE;
	else if (sex != NULL && strcmp(sex, "F") == 0)
		p->sex = AVATAR_SEX_FEMALE;
	p->age = avatar_age_bracket(years);
}

void
avatar_pool_person(const struct avatar_person *p, struct avatar_person *out,
    int *slot)
{
	int k = (int)(p->seed % AVATAR_POOL);
	int s = (int)p->sex % 3, a = (int)p->age % 5;

	out->sex = p->sex;
	out->age = p->age;
	/* A fixed, well-mixed seed per (sex, age, k): the same pool in every
	 * simulator and every run. */
	out->seed = ((uint32_t)(s * 5 + a) * AVATAR_POOL + (uint32_t)k + 1) *
	    2654435761u;
	if (slot != NULL)
		*slot = (s * 5 + a) * AVATAR_POOL + k;
}

int
avatar_pool_slot(int slot, struct avatar_person *out)
{
	struct avatar_person p;

	if (slot < 0 || slot >= AVATAR_POOL_SLOTS || out == NULL)
		return -1;
	/* Slot (s * 5 + a) * AVATAR_POOL + k: a person of that sex and age
	 * whose seed picks k. */
	p.sex = (enum avatar_sex)(slot / AVATAR_POOL / 5);
	p.age = (enum avatar_age)(slot / AVATAR_POOL % 5);
	p.seed = (uint32_t)(slot % AVATAR_POOL);
	avatar_pool_person(&p, out, NULL);
	return 0;
}

int
avatar_look(const struct avatar_person *p, struct avatar_look *look)
{
	struct avatar_face f;

	if (!avatar_person_is_valid(p) || look == NULL)
		return -1;
	avatar_face_init(&f, p);
	look->hair = f.hair_style;
	look->beard = f.beard;
	look->grey = f.grey;
	look->lines = f.lines;
	look->glasses = f.glasses;
	look->head_w = f.rx;
	look->head_h = f.ry;
	look->eye_w = f.eye_rx;
	look->brow = f.brow_th;
	look->shoulders = f.shirt_rx;
	return 0;
}

int
avatar_jpeg(uint32_t seed, int width, int height, int quality,
    uint8_t **out, size_t *outlen)
{
	struct avatar_person p = { seed, AVATAR_SEX_ANY, AVATAR_AGE_ANY };

	return avatar_person_jpeg(&p, width, height, quality, out, outlen);
}

int
avatar_person_jpeg(const struct avatar_person *who, int width, int height,
    int quality, uint8_t **out, size_t *outlen)
{
	struct avatar_enc	 e;
	uint8_t			*rgb, *shrunk;
	unsigned char		*mine;
	int			 rc = -1;

	if (!avatar_person_is_valid(who) || out == NULL || outlen == NULL ||
	    width < AVATAR_DIM_MIN ||
	    width > AVATAR_DIM_MAX || height < AVATAR_DIM_MIN ||
	    height > AVATAR_DIM_MAX || quality < 1 || quality > 100)
		return -1;

	rgb = xmalloc((size_t)width * (size_t)height * 3);
	avatar_draw(who, width, height, rgb);

	memset(&e, 0, sizeof(e));
	e.rgb = rgb;
	e.w = width;
	e.h = height;
	e.q = quality;
	/*
	 * Hand jpeg_mem_dest a buffer of libjpeg-turbo's worst-case size
	 * (tjBufSize for 4:4:4) so it never has to grow it: a buffer the
	 * library grew itself would leak if compression then failed.
	 */
	e.len = (unsigned long)(((size_t)width + 15) / 16 * 16) *
	    (((size_t)height + 15) / 16 * 16) * 6 + 4096;
	e.buf = mine = xmalloc(e.len);
	if (avatar_encode(&e) == -1) {
		free(mine);
		goto out;
	}
	if (e.buf != mine)
		free(mine);	/* grew after all; the new buffer is ours */
	shrunk = realloc(e.buf, e.len ? e.len : 1);
	*out = shrunk != NULL ? shrunk : e.buf;
	*outlen = e.len;
	rc = 0;
out:
	free(rgb);
	return rc;
}

/* Header-only decode inside the longjmp guard; see avatar_is_jpeg(). */
static int
avatar_header(struct avatar_dec *dc, const uint8_t *p, size_t n)
{
	dc->c.err = jpeg_std_error(&dc->jerr.pub);
	dc->jerr.pub.error_exit = avatar_error_exit_cb;
	dc->jerr.pub.output_message = avatar_output_message_cb;
	if (setjmp(dc->jerr.jb)) {
		jpeg_destroy_decompress(&dc->c);
		return 0;
	}
	jpeg_create_decompress(&dc->c);
	jpeg_mem_src(&dc->c, p, (unsigned long)n);
	if (jpeg_read_header(&dc->c, TRUE) != JPEG_HEADER_OK ||
	    dc->c.image_width == 0 || dc->c.image_height == 0) {
		jpeg_destroy_decompress(&dc->c);
		return 0;
	}
	dc->w = (int)dc->c.image_width;
	dc->h = (int)dc->c.image_height;
	jpeg_destroy_decompress(&dc->c);
	return 1;
}

int
avatar_is_jpeg(const uint8_t *p, size_t n, int *w, int *h)
{
	struct avatar_dec dc;

	/* SOI first: libjpeg would reject it too, but noisily and slower. */
	if (p == NULL || n < 4 || p[0] != 0xff || p[1] != 0xd8)
		return 0;
	memset(&dc, 0, sizeof(dc));
	if (!avatar_header(&dc, p, n))
		return 0;
	if (w != NULL)
		*w = dc.w;
	if (h != NULL)
		*h = dc.h;
	return 1;
}
