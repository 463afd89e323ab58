/*
 * test_xscan - CUnit suite for switch/xscan.c: token sequences for a
 * table of inputs (prefixes, attributes with '>' and '/' in quotes, CDATA
 * holding markup, comments, PIs, empty elements, every kind of input the
 * scanner must refuse to follow), xscan_find and xscan_text.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "xscan.h"

int	test_xscan_register(void);

/*
 * One input and its tokens written as a string: one letter a token (T
 * text, S start, E end, M empty, C comment, D CDATA, P PI, X decl, B bad)
 * followed, for tags, by the local name in brackets.
 */
struct tx_case {
	const char	*in;
	const char	*want;
};

static const struct tx_case tx_cases[] = {
	{ "", "" },
	{ "abc", "T" },
	{ "<a>x</a>", "S[a]TE[a]" },
	{ "<n2:NLETS n2:version=\"4.00\"><nh2:K>DQ</nh2:K></n2:NLETS>",
	    "S[NLETS]S[K]TE[K]E[NLETS]" },
	{ "<a x='1>2' y=\"/>\">t</a>", "S[a]TE[a]" },
	{ "<a/><b />", "M[a]M[b]" },
	{ "<a x=\"1\"/>", "M[a]" },
	{ "<?xml version=\"1.0\"?>\n<a/>", "PTM[a]" },
	{ "<a><!-- <b> --></a>", "S[a]CE[a]" },
	{ "<a><![CDATA[<b>&]]></a>", "S[a]DE[a]" },
	{ "<a>1<?pi x?>2</a>", "S[a]TPTE[a]" },
	{ "<!DOCTYPE a><a/>", "X" },
	{ "<a><!-- open", "S[a]B" },
	{ "<a><![CDATA[ open", "S[a]B" },
	{ "<a x=\"open>", "B" },
	{ "<a <b>", "B" },
	{ "<a", "B" },
	{ "< >", "B" },
	{ "<a>text", "S[a]T" },
	{ "</a:b:c>", "E[c]" },
};

static void
tx_render(const char *in, char *out, size_t osz)
{
	struct xscan		 s;
	struct xscan_tok	 t;
	size_t			 o = 0;
	int			 n;
	char			 c;

	out[0] = '\0';
	xscan_init(&s, in, strlen(in));
	while (xscan_next(&s, &t) != XSCAN_EOF && o + 1 < osz) {
		switch (t.kind) {
		case XSCAN_TEXT: c = 'T'; break;
		case XSCAN_START: c = 'S'; break;
		case XSCAN_END: c = 'E'; break;
		case XSCAN_EMPTY: c = 'M'; break;
		case XSCAN_COMMENT: c = 'C'; break;
		case XSCAN_CDATA: c = 'D'; break;
		case XSCAN_PI: c = 'P'; break;
		case XSCAN_DECL: c = 'X'; break;
		case XSCAN_BAD: c = 'B'; break;
		default: c = '?'; break;
		}
		if (t.kind == XSCAN_START || t.kind == XSCAN_END ||
		    t.kind == XSCAN_EMPTY)
			n = snprintf(out + o, osz - o, "%c[%.*s]", c,
			    (int)t.locallen, t.local);
		else
			n = snprintf(out + o, osz - o, "%c", c);
		if (n < 0 || (size_t)n >= osz - o)
			break;
		o += (size_t)n;
	}
}

static void
test_xscan_tokens(void)
{
	char	 got[256];
	size_t	 i;

	for (i = 0; i < sizeof tx_cases / sizeof tx_cases[0]; i++) {
		tx_render(tx_cases[i].in, got, sizeof got);
		if (strcmp(got, tx_cases[i].want) != 0)
			fprintf(stderr, "\n  xscan: \"%s\": got %s, want %s",
			    tx_cases[i].in, got, tx_cases[i].want);
		CU_ASSERT_STRING_EQUAL(got, tx_cases[i].want);
	}
}

/* Token bounds and fields. */
static void
test_xscan_fields(void)
{
	static const char	 in[] = "<p:el  a=\"1\">ab<![CDATA[x]]></p:el>";
	struct xscan		 s;
	struct xscan_tok	 t;

	xscan_init(&s, in, sizeof in - 1);
	CU_ASSERT_EQUAL(xscan_next(&s, &t), XSCAN_START);
	CU_ASSERT_EQUAL(t.namelen, 4);
	CU_ASSERT_EQUAL(strncmp(t.name, "p:el", 4), 0);
	CU_ASSERT_EQUAL(t.locallen, 2);
	CU_ASSERT_EQUAL(t.len, 13);
	CU_ASSERT_TRUE(t.attrs);
	CU_ASSERT_EQUAL(xscan_off(&s, &t), 0);
	CU_ASSERT_EQUAL(xscan_next(&s, &t), XSCAN_TEXT);
	CU_ASSERT_EQUAL(t.datalen, 2);
	CU_ASSERT_EQUAL(xscan_off(&s, &t), 13);
	CU_ASSERT_EQUAL(xscan_next(&s, &t), XSCAN_CDATA);
	CU_ASSERT_EQUAL(t.datalen, 1);
	CU_ASSERT_EQUAL(t.data[0], 'x');
	CU_ASSERT_EQUAL(xscan_next(&s, &t), XSCAN_END);
	CU_ASSERT_TRUE(xscan_is(&t, "el"));
	CU_ASSERT_TRUE(xscan_is_tag(&t, "el", 1));
	CU_ASSERT_FALSE(xscan_is_tag(&t, "el", 0));
	CU_ASSERT_FALSE(xscan_is(&t, "e"));
	CU_ASSERT_EQUAL(xscan_next(&s, &t), XSCAN_EOF);
	CU_ASSERT_EQUAL(xscan_next(&s, &t), XSCAN_EOF);

	/* Nothing but blanks after the name: no attributes. */
	xscan_init(&s, "<a \n/>", 6);
	CU_ASSERT_EQUAL(xscan_next(&s, &t), XSCAN_EMPTY);
	CU_ASSERT_FALSE(t.attrs);
	/* After a stop, only EOF. */
	xscan_init(&s, "<a x=\"", 6);
	CU_ASSERT_EQUAL(xscan_next(&s, &t), XSCAN_BAD);
	CU_ASSERT_EQUAL(xscan_next(&s, &t), XSCAN_EOF);
}

static void
test_xscan_find_text(void)
{
	static const char	 in[] =
	    "<n2:NLETS><!-- <nh2:K>no</nh2:K> --><n2:H><nh2:K>\n"
	    "  <![CDATA[ DQ ]]> </nh2:K></n2:H><b>a&amp;b</b><e/></n2:NLETS>";
	struct xscan		 s;
	struct xscan_tok	 t;
	char			 buf[16];
	size_t			 off;

	CU_ASSERT_STRING_EQUAL(xscan_text(in, sizeof in - 1, "K", buf,
	    sizeof buf), "DQ");
	CU_ASSERT_STRING_EQUAL(xscan_text(in, sizeof in - 1, "b", buf,
	    sizeof buf), "a&amp;b");
	CU_ASSERT_STRING_EQUAL(xscan_text(in, sizeof in - 1, "e", buf,
	    sizeof buf), "");
	CU_ASSERT_STRING_EQUAL(xscan_text(in, sizeof in - 1, "none", buf,
	    sizeof buf), "");
	CU_ASSERT_STRING_EQUAL(xscan_text(NULL, 0, "K", buf, sizeof buf), "");
	/* Cut to the buffer. */
	CU_ASSERT_STRING_EQUAL(xscan_text(in, sizeof in - 1, "b", buf, 4),
	    "a&a");

	xscan_init(&s, in, sizeof in - 1);
	CU_ASSERT_EQUAL(xscan_find(&s, "H", 1, &t), 0);
	CU_ASSERT_EQUAL(t.kind, XSCAN_END);
	CU_ASSERT_EQUAL(strncmp(t.p, "</n2:H>", 7), 0);
	off = xscan_off(&s, &t);
	CU_ASSERT_EQUAL(xscan_find(&s, "H", 1, &t), -1);
	/* From an offset. */
	xscan_init_at(&s, in, sizeof in - 1, off);
	CU_ASSERT_EQUAL(xscan_find(&s, "NLETS", 1, NULL), 0);
}

int
test_xscan_register(void)
{
	CU_pSuite	s;

	if ((s = CU_add_suite("xscan", NULL, NULL)) == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_xscan_tokens) == NULL ||
	    CU_ADD_TEST(s, test_xscan_fields) == NULL ||
	    CU_ADD_TEST(s, test_xscan_find_text) == NULL)
		return -1;
	return 0;
}
