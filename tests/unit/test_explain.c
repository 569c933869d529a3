/* rdpwhy explain's data: every cause has its page in docs/causes.md (as built
 * into the binary) and every page names a cause; the mstsc code tables are
 * sorted, unique and point only at causes that exist; the section cutter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "docs_embedded.h"
#include "mstsc_codes.h"

static bool is_cause(const char *name)
{
	for (int c = 0; c < RW_CAUSE_COUNT; c++)
		if (!strcmp(name, rw_cause_name((enum rw_cause)c)))
			return true;
	return false;
}

static void test_every_cause_has_a_page(void **state)
{
	(void)state;
	const struct rw_doc *d = rw_doc_find("causes");
	assert_non_null(d);
	int missing = 0;
	for (int c = 0; c < RW_CAUSE_COUNT; c++) {
		size_t b, e;
		const char *name = rw_cause_name((enum rw_cause)c);
		if (!rw_doc_section(d, name, &b, &e)) {
			fprintf(stderr, "docs/causes.md has no ### `%s` section\n", name);
			missing++;
			continue;
		}
		assert_true(e > b + 1); /* the heading and some text */
		char gloss[512];
		rw_doc_summary(d, b, e, gloss, sizeof(gloss));
		if (!gloss[0]) {
			fprintf(stderr, "docs/causes.md: ### `%s` has no first bullet\n", name);
			missing++;
		}
	}
	assert_int_equal(missing, 0);
}

static void test_every_page_names_a_cause(void **state)
{
	(void)state;
	const struct rw_doc *d = rw_doc_find("causes");
	assert_non_null(d);
	int pages = 0, strays = 0;
	for (size_t i = 0; i < d->n_lines; i++) {
		char name[128];
		if (!strncmp(d->lines[i], "### ", 4) &&
		    !rw_doc_heading_name(d->lines[i], 0, name, sizeof(name))) {
			fprintf(stderr, "docs/causes.md:%zu: a ### heading without a `cause`\n",
			        i + 1);
			strays++;
		}
		for (size_t k = 0; rw_doc_heading_name(d->lines[i], k, name, sizeof(name)); k++) {
			pages++;
			if (!is_cause(name)) {
				fprintf(stderr, "docs/causes.md:%zu: ### `%s` is no cause code\n",
				        i + 1, name);
				strays++;
			}
		}
	}
	assert_int_equal(strays, 0);
	assert_true(pages >= RW_CAUSE_COUNT);
}

/* Every cause's section has a "#### Fix" subsection with a body (what
 * `replay --fix` prints), and every "#### Fix" sits inside a ### section that
 * names causes (test_every_page_names_a_cause checks those names). */
static void test_every_cause_has_a_fix(void **state)
{
	(void)state;
	const struct rw_doc *d = rw_doc_find("causes");
	assert_non_null(d);
	int missing = 0;
	for (int c = 0; c < RW_CAUSE_COUNT; c++) {
		const char *name = rw_cause_name((enum rw_cause)c);
		size_t b, e, fb, fe;
		if (!rw_doc_section(d, name, &b, &e))
			continue; /* test_every_cause_has_a_page says so */
		if (!rw_doc_subsection(d, b, e, "Fix", &fb, &fe) || fe < fb + 2) {
			fprintf(stderr, "docs/causes.md: ### `%s` has no #### Fix subsection\n",
			        name);
			missing++;
		}
	}
	int strays = 0;
	bool in_cause = false, fenced = false;
	for (size_t i = 0; i < d->n_lines; i++) {
		const char *l = d->lines[i];
		char name[128];
		if (!strncmp(l, "```", 3))
			fenced = !fenced;
		if (fenced)
			continue;
		if (!strncmp(l, "# ", 2) || !strncmp(l, "## ", 3) || !strncmp(l, "### ", 4))
			in_cause = rw_doc_heading_name(l, 0, name, sizeof(name)) && is_cause(name);
		if (!strcmp(l, "#### Fix") && !in_cause) {
			fprintf(stderr, "docs/causes.md:%zu: #### Fix outside a cause's section\n",
			        i + 1);
			strays++;
		}
	}
	assert_int_equal(missing, 0);
	assert_int_equal(strays, 0);
}

static const char *const fix_lines[] = {
        "### `a`",   "- **Wire:** x", "#### Fix", "- one", "```",
        "#### Fix",  "```",           "- two",    "",      "#### Other",
        "- not fix", "### `b`",       "#### Fix", "",      "## End",
        NULL,
};
static const struct rw_doc fix_sample = {"fix", fix_lines, 15};

static void test_subsection(void **state)
{
	(void)state;
	size_t b, e, fb, fe;
	assert_true(rw_doc_section(&fix_sample, "a", &b, &e));
	assert_true(rw_doc_subsection(&fix_sample, b, e, "Fix", &fb, &fe));
	assert_int_equal(fb, 2);
	assert_int_equal(fe, 8); /* the fenced #### is text; the blank before #### Other dropped */
	assert_false(rw_doc_subsection(&fix_sample, b, e, "Nope", &fb, &fe));
	assert_false(rw_doc_subsection(&fix_sample, b, e, "Fi", &fb, &fe));
	assert_true(rw_doc_section(&fix_sample, "b", &b, &e));
	assert_true(rw_doc_subsection(&fix_sample, b, e, "Fix", &fb, &fe));
	assert_int_equal(fb, 12);
	assert_int_equal(fe, 13); /* the heading alone: the section ends at ## End */
}

static const char *const sample_lines[] = {
        "# Title",
        "",
        "## Group",
        "",
        "### `a` / `b`",
        "- **Wire:** the first. The second.",
        "  more",
        "#### Fix",
        "- do it",
        "```",
        "### `not_a_heading`",
        "```",
        "",
        "### `c`",
        "- **Wire (capture only):** a long aside (which goes on and on and on) then (70); x",
        "## Next",
        "### `d`",
        "text",
        NULL,
};
static const struct rw_doc sample = {"sample", sample_lines, 18};

static void test_sections(void **state)
{
	(void)state;
	size_t b, e;
	assert_true(rw_doc_section(&sample, "b", &b, &e));
	assert_int_equal(b, 4);
	assert_int_equal(e, 13); /* #### stays in; the fenced ### is no heading */
	assert_true(rw_doc_section(&sample, "a", &b, &e));
	assert_int_equal(b, 4);
	assert_false(rw_doc_section(&sample, "not_a_heading", &b, &e));
	assert_false(rw_doc_section(&sample, "Group", &b, &e));
	assert_true(rw_doc_section(&sample, "c", &b, &e));
	assert_int_equal(e, 15); /* ends at a level-2 heading */
	char buf[128];
	rw_doc_summary(&sample, b, e, buf, sizeof(buf));
	assert_string_equal(buf, "a long aside then (70)");
	assert_true(rw_doc_section(&sample, "a", &b, &e));
	rw_doc_summary(&sample, b, e, buf, sizeof(buf));
	assert_string_equal(buf, "the first");
	assert_true(rw_doc_section(&sample, "d", &b, &e));
	assert_int_equal(e, 18); /* the last section ends with the page */
	rw_doc_summary(&sample, b, e, buf, sizeof(buf));
	assert_string_equal(buf, "");
	char name[8];
	assert_false(rw_doc_heading_name("### `toolongname`", 0, name, sizeof(name)));
	assert_false(rw_doc_heading_name("#### `a`", 0, name, sizeof(name)));
	assert_false(rw_doc_heading_name("### `unclosed", 0, name, sizeof(name)));
	assert_null(rw_doc_find("no such page"));
}

static void check_table(const struct rw_mstsc_code *t, size_t n)
{
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			assert_true(t[i - 1].code < t[i].code); /* sorted, unique: binary search */
		assert_true(t[i].name || t[i].alt_name);
		assert_non_null(t[i].meaning);
		assert_non_null(t[i].reading);
		const struct rw_mstsc_reading *r = t[i].reading;
		assert_non_null(r->wire);
		assert_non_null(r->tell);
		assert_true(r->n_causes <= RW_MSTSC_MAX_CAUSES);
		for (size_t k = 0; k < r->n_causes; k++) {
			assert_true(r->causes[k] < RW_CAUSE_COUNT);
			for (size_t j = 0; j < k; j++)
				assert_true(r->causes[j] != r->causes[k]);
		}
	}
}

static void test_code_tables(void **state)
{
	(void)state;
	size_t n;
	const struct rw_mstsc_code *t = rw_mstsc_disc_table(&n);
	check_table(t, n);
	assert_int_equal(n, 47); /* every row of IMsTscAxEvents::OnDisconnected */
	t = rw_mstsc_ext_table(&n);
	check_table(t, n);
	for (size_t i = 0; i < n; i++)
		assert_ptr_equal(rw_mstsc_ext_lookup(t[i].code), &t[i]);
}

static void test_lookups(void **state)
{
	(void)state;
	const struct rw_mstsc_code *c = rw_mstsc_disc_lookup(0x904);
	assert_non_null(c);
	assert_string_equal(c->name, "disconnectReasonAtClientWinsockFDCLOSE");
	assert_int_equal(c->reading->n_causes, 12);
	assert_int_equal(c->reading->causes[0], RW_CAUSE_TLS_REJECTED_WITHOUT_ALERT);
	assert_non_null(rw_mstsc_disc_lookup(2308));
	assert_null(rw_mstsc_disc_lookup(0x905));
	assert_null(rw_mstsc_disc_lookup(0x7));

	c = rw_mstsc_ext_lookup(0x7);
	assert_non_null(c);
	assert_string_equal(c->name, "ERRINFO_SERVER_DENIED_CONNECTION");
	assert_string_equal(c->alt_name, "exDiscReasonServerDeniedConnection");
	assert_int_equal(c->reading->n_causes, 2);
	assert_int_equal(c->reading->causes[0], RW_CAUSE_RDP_CLOSED_BY_SERVER);
	assert_int_equal(c->reading->causes[1], RW_CAUSE_SERVER_DENIED_CONNECTION);
	c = rw_mstsc_ext_lookup(0x8); /* only in ExtendedDisconnectReasonCode */
	assert_null(c->name);
	assert_string_equal(c->alt_name, "exDiscReasonServerDeniedConnectionFips");
	assert_string_equal(rw_mstsc_ext_lookup(0x10C9)->name, "ERRINFO_UNKNOWNPDUTYPE2");
	assert_string_equal(rw_mstsc_ext_lookup(0x1195)->name, "ERRINFO_DECRYPTFAILED2");
	/* the protocol range: documented as a range, not value by value */
	c = rw_mstsc_ext_lookup(0x1500);
	assert_non_null(c);
	assert_null(c->name);
	assert_ptr_equal(rw_mstsc_ext_lookup(0x7FFF), c);
	assert_null(rw_mstsc_ext_lookup(0x8000));
	assert_null(rw_mstsc_ext_lookup(0xD));
	assert_null(rw_mstsc_ext_lookup(0xFFFFFFFFu));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_cause_has_a_page),
	        cmocka_unit_test(test_every_page_names_a_cause),
	        cmocka_unit_test(test_sections),
	        cmocka_unit_test(test_every_cause_has_a_fix),
	        cmocka_unit_test(test_subsection),
	        cmocka_unit_test(test_code_tables),
	        cmocka_unit_test(test_lookups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
