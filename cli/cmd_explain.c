/* rdpwhy explain: what mstsc's codes mean in rdpwhy's causes, and each
 * cause's page, printed from the copy of docs/causes.md built into the binary. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "docs_embedded.h"
#include "mstsc_codes.h"

#define WIDTH 78

static void usage(FILE *f)
{
	fprintf(f, "usage: rdpwhy explain [CODE [EXTENDED_CODE] | CAUSE]\n"
	           "       rdpwhy explain --list-causes | --list-codes\n"
	           "\n"
	           "CODE EXTENDED_CODE: the two codes mstsc shows (\"error code 0x904, extended\n"
	           "error code 0x7\"), in hex with 0x or in decimal (2308 7): what they mean,\n"
	           "the rdpwhy causes that fit, most likely first, and which record fields or\n"
	           "probe results tell them apart. A disconnect reason may be given alone.\n"
	           "\n"
	           "CAUSE: a cause code (tls_cipher_mismatch, ...): its page from\n"
	           "docs/causes.md: what the wire shows, how rdpwhy decides, how sure it is, the\n"
	           "alternatives and the fix.\n"
	           "\n"
	           "Without an argument: the causes and the code tables, briefly.\n"
	           "\n"
	           "options:\n"
	           "  --list-causes   the cause codes, one per line\n"
	           "  --list-codes    every documented disconnect and extended reason\n"
	           "\n"
	           "Exit status: 0 explained, 2 usage error (an unknown code or cause: the\n"
	           "message names what is allowed).\n");
}

/* Prints TEXT wrapped at WIDTH: the first line indented by INDENT spaces,
 * the others by HANG. */
static void print_hanging(const char *text, int indent, int hang)
{
	const char *p = text;
	for (bool first = true; *p; first = false) {
		if (!first)
			indent = hang;
		while (*p == ' ')
			p++;
		size_t room = (size_t)(WIDTH - indent), n = strlen(p);
		if (n > room) {
			n = room;
			while (n > 0 && p[n] != ' ')
				n--;
			if (n == 0) /* one word longer than a line: let it overflow */
				n = strcspn(p, " ");
		}
		printf("%*s%.*s\n", indent, "", (int)n, p);
		p += n;
	}
}

static void print_wrapped(const char *text, int indent)
{
	print_hanging(text, indent, indent);
}

/* "0x904" / "0X904" (hex, 1 to 8 digits) or "2308" (decimal, < 2^32).
 * 1 parsed, 0 not a number at all (maybe a cause), -1 a malformed number. */
static int parse_code(const char *s, uint32_t *out)
{
	if (s[0] < '0' || s[0] > '9')
		return 0;
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	const char *digits = hex ? s + 2 : s;
	size_t n = strlen(digits);
	if (n == 0 || strspn(digits, hex ? "0123456789abcdefABCDEF" : "0123456789") != n)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned c = (unsigned char)digits[i];
		unsigned d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
		v = v * (hex ? 16 : 10) + d;
		if (v > UINT32_MAX)
			return -1;
	}
	*out = (uint32_t)v;
	return 1;
}

static void print_code(const char *what, uint32_t v, const struct rw_mstsc_code *c)
{
	printf("%s 0x%X (%u): ", what, (unsigned)v, (unsigned)v);
	if (c->name && c->alt_name)
		printf("%s (%s)\n", c->name, c->alt_name);
	else
		printf("%s\n", c->name ? c->name : c->alt_name);
	print_wrapped(c->meaning, 2);
}

static void print_sources(const struct rw_mstsc_code *d, const struct rw_mstsc_code *e)
{
	printf("\nSources:\n");
	if (d)
		printf("  disconnect reasons: %s\n", RW_MSTSC_SRC_DISC);
	if (e && e->name)
		printf("  errorInfo (MS-RDPBCGR 2.2.5.1.1): %s\n", RW_MSTSC_SRC_ERRINFO);
	if (e && e->alt_name)
		printf("  ExtendedDisconnectReasonCode: %s\n", RW_MSTSC_SRC_EXDISC);
}

/* The causes of the extended reason first (the server's own word), then the
 * disconnect reason's, each once. */
static void print_causes(const struct rw_mstsc_reading *first,
                         const struct rw_mstsc_reading *second)
{
	enum rw_cause seen[2 * RW_MSTSC_MAX_CAUSES];
	size_t n = 0;
	const struct rw_mstsc_reading *r[2] = {first, second};
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; r[k] && i < r[k]->n_causes; i++) {
			size_t j = 0;
			while (j < n && seen[j] != r[k]->causes[i])
				j++;
			if (j == n)
				seen[n++] = r[k]->causes[i];
		}
	}
	printf("\nLikely rdpwhy causes, most likely first:\n");
	if (n == 0) {
		print_wrapped("none follows from the code alone (see above).", 2);
		return;
	}
	const struct rw_doc *doc = rw_doc_find("causes");
	for (size_t i = 0; i < n; i++) {
		const char *name = rw_cause_name(seen[i]);
		char line[640];
		size_t b, e;
		char gloss[512] = "";
		if (doc && rw_doc_section(doc, name, &b, &e))
			rw_doc_summary(doc, b, e, gloss, sizeof(gloss));
		snprintf(line, sizeof(line), "%zu. %s%s%s", i + 1, name, gloss[0] ? ": " : "",
		         gloss);
		print_hanging(line, 2, 6);
	}
}

static int explain_codes(const struct rw_mstsc_code *d, uint32_t dv, const struct rw_mstsc_code *e,
                         uint32_t ev)
{
	if (d)
		print_code("mstsc disconnect reason", dv, d);
	if (e)
		print_code("extended reason", ev, e);
	printf("\nWhat it says:\n");
	char para[1024];
	if (e) {
		snprintf(para, sizeof(para), "extended 0x%X: %s", (unsigned)ev, e->reading->wire);
		print_hanging(para, 2, 4);
	}
	if (d) {
		snprintf(para, sizeof(para), "0x%X: %s", (unsigned)dv, d->reading->wire);
		print_hanging(para, 2, 4);
	}
	print_causes(e ? e->reading : NULL, d ? d->reading : NULL);
	printf("\nHow to tell them apart with rdpwhy:\n");
	if (e && (!d || ev != 0)) { /* extended 0 only says: see the disconnect reason */
		snprintf(para, sizeof(para), "extended 0x%X: %s", (unsigned)ev, e->reading->tell);
		print_hanging(para, 2, 4);
	}
	if (d) {
		snprintf(para, sizeof(para), "0x%X: %s", (unsigned)dv, d->reading->tell);
		print_hanging(para, 2, 4);
	}
	print_sources(d, e);
	printf("\n'rdpwhy explain CAUSE' prints a cause's page.\n");
	return 0;
}

/* Edit distance, for naming the causes closest to a mistyped one. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 64;
	size_t row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* Every '_'-separated word of ARG (3 letters or more) is in NAME. */
static bool words_in(const char *arg, const char *name)
{
	bool any = false;
	for (const char *p = arg; *p;) {
		size_t n = strcspn(p, "_");
		if (n >= 3) {
			char word[64];
			if (n >= sizeof(word))
				return false;
			memcpy(word, p, n);
			word[n] = '\0';
			if (!strstr(name, word))
				return false;
			any = true;
		}
		p += n;
		p += *p == '_';
	}
	return any;
}

static int unknown_word(const char *arg)
{
	enum rw_cause best[3];
	size_t dist[3], n = 0;
	for (int c = 0; c < RW_CAUSE_COUNT; c++) {
		size_t dc = distance(arg, rw_cause_name((enum rw_cause)c));
		if (words_in(arg, rw_cause_name((enum rw_cause)c)))
			dc = 0; /* "cipher", "tls_mismatch" find the tls_*_mismatch */
		size_t k = n < 3 ? n++ : 3;
		while (k > 0 && dist[k - 1] > dc) {
			if (k < 3) {
				best[k] = best[k - 1];
				dist[k] = dist[k - 1];
			}
			k--;
		}
		if (k < 3) {
			best[k] = (enum rw_cause)c;
			dist[k] = dc;
		}
	}
	fprintf(stderr,
	        "rdpwhy explain: '%s' is neither a cause code nor an mstsc code; closest causes:",
	        arg);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s %s", i ? "," : "", rw_cause_name(best[i]));
	fprintf(stderr, " ('rdpwhy explain --list-causes' lists them all; codes are numbers such "
	                "as 0x904 or 2308)\n");
	return 2;
}

static int unknown_code(const char *what, const char *arg, bool disc)
{
	fprintf(stderr, "rdpwhy explain: %s is not a documented mstsc %s", arg, what);
	/* "904" typed for 0x904: the dialog shows hex. */
	uint32_t as_hex;
	char hex[16];
	snprintf(hex, sizeof(hex), "0x%s", arg);
	if (arg[0] != '0' && parse_code(hex, &as_hex) == 1 &&
	    (disc ? rw_mstsc_disc_lookup(as_hex) != NULL : rw_mstsc_ext_lookup(as_hex) != NULL))
		fprintf(stderr, "; did you mean 0x%X?", (unsigned)as_hex);
	fprintf(stderr, " ('rdpwhy explain --list-codes' lists them)\n");
	return 2;
}

static int explain_args(const char *a, const char *b)
{
	uint32_t dv = 0, ev = 0;
	int ka = parse_code(a, &dv);
	if (ka == 0 && !b) {
		for (int c = 0; c < RW_CAUSE_COUNT; c++)
			if (!strcmp(a, rw_cause_name((enum rw_cause)c)))
				return -1; /* a cause: the caller prints its page */
		return unknown_word(a);
	}
	if (ka != 1) {
		fprintf(stderr,
		        "rdpwhy explain: '%s' is not a code: give hex with 0x (0x904) or "
		        "decimal (2308), below 2^32\n",
		        a);
		return 2;
	}
	if (b && parse_code(b, &ev) != 1) {
		fprintf(stderr,
		        "rdpwhy explain: '%s' is not an extended code: give hex with 0x (0x7) "
		        "or decimal (7), below 2^32\n",
		        b);
		return 2;
	}
	const struct rw_mstsc_code *d = rw_mstsc_disc_lookup(dv);
	if (!b && !d) {
		/* One number that only the extended table knows: explain it as such. */
		const struct rw_mstsc_code *e = rw_mstsc_ext_lookup(dv);
		if (!e)
			return unknown_code("disconnect reason or extended reason", a, true);
		printf("(0x%X is not a disconnect reason; it is an extended reason.)\n\n",
		       (unsigned)dv);
		return explain_codes(NULL, 0, e, dv);
	}
	if (!d)
		return unknown_code("disconnect reason", a, true);
	const struct rw_mstsc_code *e = NULL;
	if (b) {
		e = rw_mstsc_ext_lookup(ev);
		if (!e)
			return unknown_code("extended reason", b, false);
	}
	return explain_codes(d, dv, e, ev);
}

static int print_page(const char *cause)
{
	const struct rw_doc *doc = rw_doc_find("causes");
	size_t b, e;
	if (!doc || !rw_doc_section(doc, cause, &b, &e)) {
		fprintf(stderr, "rdpwhy explain: no page for %s in this build's docs/causes.md\n",
		        cause);
		return 1;
	}
	while (e > b + 1 && doc->lines[e - 1][0] == '\0')
		e--; /* the blank lines before the next heading */
	for (size_t i = b; i < e; i++)
		printf("%s\n", doc->lines[i]);
	return 0;
}

static void list_codes(void)
{
	size_t n;
	const struct rw_mstsc_code *t = rw_mstsc_disc_table(&n);
	printf("Disconnect reasons (%s):\n", RW_MSTSC_SRC_DISC);
	for (size_t i = 0; i < n; i++)
		printf("  0x%-5X %5u  %s: %s\n", (unsigned)t[i].code, (unsigned)t[i].code,
		       t[i].name, t[i].meaning);
	t = rw_mstsc_ext_table(&n);
	printf("\nExtended reasons (errorInfo, %s;\n  ExtendedDisconnectReasonCode, %s):\n",
	       RW_MSTSC_SRC_ERRINFO, RW_MSTSC_SRC_EXDISC);
	for (size_t i = 0; i < n; i++)
		printf("  0x%-5X %5u  %s: %s\n", (unsigned)t[i].code, (unsigned)t[i].code,
		       t[i].name ? t[i].name : t[i].alt_name, t[i].meaning);
	printf("  0x1000-0x7FFF otherwise: exDiscReasonProtocolRange, an internal protocol error "
	       "(the server event log)\n");
}

static void overview(void)
{
	usage(stdout);
	printf("\nCauses ('rdpwhy explain CAUSE'):\n");
	char line[2048] = "";
	size_t len = 0;
	for (int c = 0; c < RW_CAUSE_COUNT && len + 40 < sizeof(line); c++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", c ? " " : "",
		                        rw_cause_name((enum rw_cause)c));
	print_wrapped(line, 2);
	size_t nd, ne;
	rw_mstsc_disc_table(&nd);
	rw_mstsc_ext_table(&ne);
	printf("\nmstsc codes ('rdpwhy explain CODE [EXTENDED_CODE]', all: --list-codes):\n");
	printf("  %zu disconnect reasons (IMsTscAxEvents::OnDisconnected), e.g. 0x904 socket\n"
	       "    closed, 0x204 connect failed, 0x108 timed out, 0x807 logon failed\n",
	       nd);
	printf("  %zu extended reasons (the server's errorInfo, MS-RDPBCGR 2.2.5.1.1, and\n"
	       "    ExtendedDisconnectReasonCode), e.g. 0x7 server denied the connection\n",
	       ne);
}

int cmd_explain(int argc, char **argv)
{
	const char *pos[2];
	int npos = 0;
	bool dashdash = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!dashdash && a[0] == '-' && a[1]) {
			if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
				usage(stdout);
				return 0;
			} else if (!strcmp(a, "--list-causes")) {
				for (int c = 0; c < RW_CAUSE_COUNT; c++)
					printf("%s\n", rw_cause_name((enum rw_cause)c));
				return 0;
			} else if (!strcmp(a, "--list-codes")) {
				list_codes();
				return 0;
			} else if (!strcmp(a, "--")) {
				dashdash = true;
				continue;
			}
			fprintf(stderr,
			        "rdpwhy explain: unknown option '%s' (allowed: --list-causes, "
			        "--list-codes, --help)\n",
			        a);
			return 2;
		}
		if (npos == 2) {
			fprintf(stderr,
			        "rdpwhy explain: at most two codes (CODE EXTENDED_CODE) or one "
			        "cause, not '%s' too\n",
			        a);
			return 2;
		}
		pos[npos++] = a;
	}
	if (npos == 0) {
		overview();
		return 0;
	}
	int rc = explain_args(pos[0], npos == 2 ? pos[1] : NULL);
	return rc < 0 ? print_page(pos[0]) : rc;
}
