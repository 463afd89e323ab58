/*
 * jsonutil - see jsonutil.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "log.h"
#include "util.h"

/*
 * The length of the UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 when p starts none. Stops at
 * the first byte that does not continue the sequence, so it never reads
 * past the NUL.
 */
static size_t
jsonutil_utf8_len(const unsigned char *p)
{
	size_t	 n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

char *
jsonutil_utf8_clean(const char *s)
{
	const unsigned char	*p;
	struct ubuf		 b;
	size_t			 n;

	ubuf_init(&b);
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		if ((n = jsonutil_utf8_len(p)) > 0)
			ubuf_add(&b, p, n);
		else {
			ubuf_adds(&b, "\xef\xbf\xbd");
			n = 1;
		}
	}
	ubuf_add(&b, "", 1);
	return b.data;
}

json_t *
jsonutil_str(const char *s)
{
	json_t	*v;
	char	*clean;

	if (s == NULL)
		s = "";
	if ((v = json_string(s)) != NULL)
		return v;
	/* Not UTF-8 (or out of memory, which the second try reports). */
	clean = jsonutil_utf8_clean(s);
	v = json_string(clean);
	free(clean);
	if (v == NULL)
		fatalx("jsonutil: out of memory");
	return v;
}

json_t *
jsonutil_real(double v, int decimals)
{
	double	 scale = pow(10, decimals);
	json_t	*r;

	if (!isfinite(v))
		return json_null();
	if (fabs(v) * scale < 1e15)
		v = round(v * scale) / scale;
	if ((r = json_real(v)) == NULL)
		fatalx("jsonutil: out of memory");
	return r;
}

void
jsonutil_set(json_t *obj, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(obj, key, v) == -1)
		fatalx("jsonutil: cannot set \"%s\" (out of memory)", key);
}

void
jsonutil_set_str(json_t *obj, const char *key, const char *s)
{
	jsonutil_set(obj, key, jsonutil_str(s));
}

void
jsonutil_set_int(json_t *obj, const char *key, json_int_t n)
{
	jsonutil_set(obj, key, json_integer(n));
}

void
jsonutil_set_real(json_t *obj, const char *key, double v, int decimals)
{
	jsonutil_set(obj, key, jsonutil_real(v, decimals));
}

void
jsonutil_append(json_t *arr, json_t *v)
{
	if (v == NULL || json_array_append_new(arr, v) == -1)
		fatalx("jsonutil: cannot append (out of memory)");
}

char *
jsonutil_dump(const json_t *v, size_t flags)
{
	char *s;

	/* Every value was checked when it was set: NULL is out of memory. */
	if ((s = json_dumps(v, flags | JSON_ENCODE_ANY)) == NULL)
		fatalx("jsonutil: cannot dump (out of memory)");
	return s;
}

int
jsonutil_write(const json_t *v, size_t flags, FILE *f)
{
	char	*s = jsonutil_dump(v, flags);
	size_t	 len = strlen(s);
	int	 rc = 0;

	if (fwrite(s, 1, len, f) != len || fputc('\n', f) == EOF ||
	    fflush(f) == EOF)
		rc = -1;
	free(s);
	return rc;
}
