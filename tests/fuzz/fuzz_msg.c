/*
 * fuzz_msg - libFuzzer target for everything that reads untrusted bytes at
 * the switch: the frame header decoder, the XML message parser and
 * validator (msg_parse), and the legacy text parser (legacy_parse). The
 * switch must answer any input with an error, never a crash (make fuzz).
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
	memset(&m, 0, sizeof m);
	(void)msg_parse(fuzz_schema, buf, size, 1 << 20, &m, &diags);
	memset(&m, 0, sizeof m);
	ubuf_init(&xml);
	(void)legacy_parse(fuzz_schema, buf, size, 1 << 20, 0, &xml, &m,
	    &diags);
	ubuf_free(&xml);
	free(buf);
	return 0;
}
