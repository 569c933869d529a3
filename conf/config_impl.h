/* What conf/config.c shares with the other config_*.c files and nobody else:
 * the key table (config.c sets keys from it, config_format.c prints the
 * durations from it) and the upstream address parser (config_addr.c). */
#ifndef RDPWHY_CONF_CONFIG_IMPL_H
#define RDPWHY_CONF_CONFIG_IMPL_H

#include "config.h"

#include <stddef.h>

enum key_kind {
	K_LISTEN,
	K_UPSTREAM,
	K_MODE, /* yes/no switch for a mode (arg = the mode) */
	K_OUTPUT,
	K_FORMAT,
	K_STRING, /* char[] at off, size cap; "" allowed */
	K_BOOL,
	K_DURATION, /* unsigned ms, at most arg ms (0 = no limit but the type's) */
	K_SECONDS,  /* unsigned ms, whole seconds, 0 or cap..arg seconds */
	K_SIZE,     /* size_t bytes, at least arg */
	K_COUNT,    /* unsigned, cap..arg (arg 0 = no upper limit) */
	K_SHA256,
	K_CHOICE, /* unsigned: index of the value in choices[arg] */
};

struct key {
	const char *name;
	enum key_kind kind;
	size_t off, cap;
	unsigned arg;
};

/* The length of the line, without its newline, on which rw_config_format
 * writes key = "v" back (config_format.c): config.c refuses a value whose
 * line would be too long to load again. */
size_t rw_conf_quoted_len(const char *key, const char *v);

extern const struct key *const rw_conf_keys;
extern const size_t rw_conf_n_keys;
/* Values of the K_CHOICE keys, in the order of their numbers. */
extern const char *const (*const rw_conf_choices)[4];

/* "HOST:PORT" or "[V6]:PORT"; the host is stored without brackets and the
 * port as a plain decimal number. */
int rw_conf_parse_upstream(const char *v, char host_out[256], char port_out[16], char *err,
                           size_t errlen);

#endif
