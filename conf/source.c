/* The configuration from its sources: defaults, the file, the command-line
 * flags. The proxy keeps the sources and builds the configuration again on
 * SIGHUP (see config.h). */
#include "config.h"

int rw_config_source_add(struct rw_config_source *src, const char *key, const char *value)
{
	if (src->n >= RW_CONF_MAX_FLAGS)
		return -1;
	src->keys[src->n] = key;
	src->values[src->n] = value;
	src->n++;
	return 0;
}

int rw_config_build(const struct rw_config_source *src, struct rw_proxy_config *c, char *err,
                    size_t errlen)
{
	rw_config_defaults(c);
	if (src->path && rw_config_load(src->path, c, err, errlen) < 0)
		return -1;
	if (rw_config_apply_flags(c, src->keys, src->values, src->n, err, errlen) < 0)
		return -1;
	return rw_config_validate(c, err, errlen);
}
