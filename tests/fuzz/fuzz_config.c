/* The config file parser and the output specifications (conf/config.c,
 * conf/output_spec.c). Not wire bytes, but text an operator (or a template
 * engine) writes, parsed at start and on every SIGHUP by a running proxy:
 * it must refuse anything with a message, never crash.
 * Input: the text of a config file. Contracts: an accepted file formats
 * back to text that parses to the same outputs; every output line parses on
 * its own as a spec; a refused file leaves a message. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_util.h"
#include "output_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rw_proxy_config c, back;
	char err[RW_CONF_ERR];
	char *text = (char *)fuzz_dup(data, size);
	rw_config_defaults(&c);
	err[0] = 0;
	if (rw_config_parse("fuzz.conf", text, size, &c, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0] != 0 && memchr(err, 0, sizeof(err)));
		free(text);
		return 0;
	}
	FUZZ_CHECK(c.n_outputs <= RW_CONF_MAX_OUTPUTS);
	for (size_t i = 0; i < c.n_outputs; i++) {
		struct rw_output_spec s;
		FUZZ_CHECK(rw_output_spec_parse(c.outputs[i], &s, err, sizeof(err)) == 0);
		FUZZ_CHECK(s.target[0] != 0);
		if (rw_output_spec_resolve(&s, &c, err, sizeof(err)) == 0)
			FUZZ_CHECK(s.format != RW_OUTF_DEFAULT);
	}
	(void)rw_config_validate_outputs(&c, err, sizeof(err));
	size_t need = rw_config_format(&c, NULL, 0);
	char *out = malloc(need + 1);
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(rw_config_format(&c, out, need + 1) == need);
	rw_config_defaults(&back);
	if (rw_config_parse("formatted", out, need, &back, err, sizeof(err)) != 0)
		fuzz_fail(__FILE__, __LINE__, err);
	FUZZ_CHECK(back.n_outputs == c.n_outputs);
	for (size_t i = 0; i < c.n_outputs; i++)
		FUZZ_CHECK(!strcmp(back.outputs[i], c.outputs[i]));
	FUZZ_CHECK(back.siem_flush_ms == c.siem_flush_ms && back.json == c.json);
	free(out);
	free(text);
	return 0;
}
