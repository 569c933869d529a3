/* The record's key table (record_keys.h): the rows of RW_RECORD_KEYS, the
 * names of their types, and the table as markdown (the README's copy,
 * checked by tests/readme_keys.py). record_json.c writes the keys. */
#include "record_keys.h"

#include <stddef.h>

const struct rw_record_key rw_record_keys[RW_K_COUNT] = {
#define RW_KEY_ROW(id, name, type, presence, when, unit, meaning)                                  \
	[RW_K_##id] = {name, RW_KT_##type, RW_KP_##presence, when, unit, meaning},
        RW_RECORD_KEYS(RW_KEY_ROW)
#undef RW_KEY_ROW
};

const char *rw_key_type_name(enum rw_key_type t)
{
	switch (t) {
	case RW_KT_STRING:
		return "string";
	case RW_KT_DATE:
		return "date";
	case RW_KT_INT:
		return "integer";
	case RW_KT_BOOL:
		return "boolean";
	case RW_KT_STRINGS:
		return "array of strings";
	}
	return "?";
}

/* A table cell: '|' would end it, a newline the row. */
static int cell(struct rw_buf *out, const char *s)
{
	for (; *s; s++) {
		int rc = *s == '|'    ? rw_buf_puts(out, "\\|")
		         : *s == '\n' ? rw_buf_putc(out, ' ')
		                      : rw_buf_putc(out, *s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int rw_record_keys_markdown(struct rw_buf *out)
{
	size_t mark = out->len;
	if (rw_buf_puts(out, "| key | type | present when | unit | meaning |\n"
	                     "|---|---|---|---|---|\n") < 0)
		goto oom;
	for (size_t i = 0; i < RW_K_COUNT; i++) {
		const struct rw_record_key *k = &rw_record_keys[i];
		const char *when = k->presence == RW_KP_ALWAYS   ? "always"
		                   : k->presence == RW_KP_OUTPUT ? "always"
		                                                 : k->when;
		if (rw_buf_printf(out, "| `%s` | %s | ", k->name, rw_key_type_name(k->type)) < 0 ||
		    cell(out, when) < 0 || rw_buf_puts(out, " | ") < 0 || cell(out, k->unit) < 0 ||
		    rw_buf_puts(out, " | ") < 0 ||
		    cell(out, k->meaning[0] ? k->meaning : "as above") < 0 ||
		    rw_buf_puts(out, " |\n") < 0)
			goto oom;
	}
	return 0;
oom:
	rw_buf_truncate(out, mark);
	return -1;
}
