/*
 * fuzz_msg - libFuzzer target for everything that reads untrusted bytes at
 * the switch: the frame header decoder, the XML message parser and
 * validator (msgparse_message), the legacy text parser (legacy_parse) and
 * the renderers that run on what they accept (the output-header stamp,
 * legacy_from_xml). The switch must answer any input with an error, never
 * a crash (make fuzz); msgparse must give the same results with and
 * without its cut.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "frame.h"
#include "legacy.h"
#include "msg.h"
#include "msgbuild.h"
#include "msgparse.h"
#include "util.h"

static struct msgparse_schema *fuzz_schema;

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
	if ((fuzz_schema = msgparse_schema_load(dir ? dir : "schemas", &cause)) ==
	    NULL)
		abort();
	return 0;
}

/*
 * msgparse cuts long comments, photo texts and a long MailMessageText out of
 * what libxml2 parses: the verdict, every diagnostic and the fields must
 * be what the whole input gives, or the fuzzer stops here.
 */
static void
fuzz_cut_whole(const char *buf, size_t size)
{
	static struct msg_diags	 d1, d2;
	struct msg		 m1, m2;
	int			 r1, r2, i;

	r1 = msgparse_message(fuzz_schema, buf, size, 1 << 20, 0, &m1, &d1);
	r2 = msgparse_message(fuzz_schema, buf, size, 1 << 20, MSGPARSE_WHOLE,
	    &m2, &d2);
	if (r1 != r2 || d1.n != d2.n || d1.dropped != d2.dropped ||
	    m1.key != m2.key || strcmp(m1.ori, m2.ori) != 0 ||
	    m1.ndest != m2.ndest || m1.nphotos != m2.nphotos ||
	    m1.photo_len != m2.photo_len || m1.stamp_off != m2.stamp_off ||
	    m1.hdr_end != m2.hdr_end)
		abort();
	for (i = 0; i < d1.n; i++)
		if (d1.d[i].line != d2.d[i].line ||
		    d1.d[i].col != d2.d[i].col ||
		    d1.d[i].code != d2.d[i].code ||
		    strcmp(d1.d[i].xpath, d2.d[i].xpath) != 0 ||
		    strcmp(d1.d[i].text, d2.d[i].text) != 0)
			abort();
}

/*
 * An accepted message goes on to what the switch does with it: the
 * stamped delivery must parse again as the same message, and the legacy
 * rendering must not fail.
 */
static void
fuzz_accepted(const char *buf, size_t size, const struct msg *m)
{
	struct msgbuild_stamp	 st = { 1796000000000000ULL, 12, 1796000000000000ULL,
	    34, "WA0340000" };
	struct ubuf		 out, text;
	struct msg		 m2;
	char			*cause = NULL;

	ubuf_init(&out);
	msgbuild_stamp(&out, buf, size, m->stamp_off, &st);
	if (msgparse_message(fuzz_schema, out.data, out.len, 0, 0, &m2,
	    NULL) != 0 || m2.key != m->key || strcmp(m2.ctl, m->ctl) != 0)
		abort();
	ubuf_init(&text);
	if (legacy_from_xml(fuzz_schema, out.data, out.len, NULL, &text,
	    &cause) != 0)
		abort();
	ubuf_free(&text);
	ubuf_free(&out);
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
	if (msgparse_message(fuzz_schema, buf, size, 1 << 20, 0, &m,
	    NULL) == 0)
		fuzz_accepted(buf, size, &m);
	memset(&m, 0, sizeof m);
	ubuf_init(&xml);
	if (legacy_parse(fuzz_schema, buf, size, 1 << 20, 0, &xml, &m,
	    &diags) == 0)
		fuzz_accepted(xml.data, xml.len, &m);
	ubuf_free(&xml);
	free(buf);
	return 0;
}
