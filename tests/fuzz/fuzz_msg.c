/*
 * fuzz_msg - libFuzzer target for everything that reads untrusted bytes at
 * the switch: the frame header decoder, the XML message parser and
 * validator (msg_parse), and the legacy text parser (legacy_parse). The
 * switch must answer any input with an error, never a crash (make fuzz);
 * msg_parse must give the same results with and without its cut.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "frame.h"
#include "legacy.h"
#include "msg.h"
#include "util.h"

static struct msg_schema *fuzz_schema;

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*dir = getenv("NLSWITCH_SCHEMADIR");
	char		*cause = NULL;

	(void)argc;
	(void)argv;
	xmlInitParser();
	if ((fuzz_schema = msg_schema_load(dir ? dir : "schemas", &cause)) ==
	    NULL)
		abort();
	return 0;
}

/*
 * msg_parse cuts long comments, photo texts and a long MessageText out of
 * what libxml2 parses: the verdict, every diagnostic and the fields must
 * be what the whole input gives, or the fuzzer stops here.
 */
static void
fuzz_cut_whole(const char *buf, size_t size)
{
	static struct msg_diags	 d1, d2;
	struct msg		 m1, m2;
	int			 r1, r2, i;

	r1 = msg_parse_flags(fuzz_schema, buf, size, 1 << 20, 0, &m1, &d1);
	r2 = msg_parse_flags(fuzz_schema, buf, size, 1 << 20, MSG_PARSE_WHOLE,
	    &m2, &d2);
	if (r1 != r2 || d1.n != d2.n || d1.dropped != d2.dropped ||
	    m1.key != m2.key || strcmp(m1.ori, m2.ori) != 0 ||
	    m1.ndest != m2.ndest || m1.nphotos != m2.nphotos ||
	    m1.photo_len != m2.photo_len || m1.hdr_end != m2.hdr_end)
		abort();
	for (i = 0; i < d1.n; i++)
		if (d1.d[i].line != d2.d[i].line ||
		    d1.d[i].col != d2.d[i].col ||
		    d1.d[i].code != d2.d[i].code ||
		    strcmp(d1.d[i].xpath, d2.d[i].xpath) != 0 ||
		    strcmp(d1.d[i].text, d2.d[i].text) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame		 f;
	struct msg		 m;
	struct msg_diags	 diags;
	struct ubuf		 xml;
	char			*buf;

	if (size >= FRAME_HDR_LEN)
		(void)frame_decode(data, 1 << 20, &f);
	/* The switch hands the parsers NUL-terminated payloads. */
	buf = xmalloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	fuzz_cut_whole(buf, size);
	memset(&m, 0, sizeof m);
	ubuf_init(&xml);
	(void)legacy_parse(fuzz_schema, buf, size, 1 << 20, 0, &xml, &m,
	    &diags);
	ubuf_free(&xml);
	free(buf);
	return 0;
}
