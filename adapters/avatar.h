/*
 * avatar - synthetic JPEG "licence photos" drawn in code.
 *
 * A cartoon head-and-shoulders portrait (background gradient, shirt,
 * neck, ears, head, hair, eyes, eyebrows, nose, mouth, sometimes glasses)
 * whose palette and proportions are chosen by a 32-bit seed, plus a mild
 * deterministic grain so the JPEG weighs what a real DMV photo does
 * (about 16-19 KB at the defaults). No real person is depicted. The
 * same (seed, width, height, quality) always yields the same bytes for a
 * given libjpeg build.
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

/**
 * Draw the portrait for seed and encode it as a baseline JPEG (YCbCr 4:2:0).
 * The drawing is laid out on a 240x300 canvas scaled to width x height,
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
