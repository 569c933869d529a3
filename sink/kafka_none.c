/* kafka:// in a build without librdkafka: the output exists in the
 * configuration language (so a config file stays valid everywhere) but
 * cannot be opened. See kafka.h. */
#include "kafka.h"

#include <stdio.h>

int rw_kafka_available(const char *target, char *err, size_t errlen)
{
	snprintf(err, errlen,
	         "output %s: kafka:// not built in: install librdkafka-dev and rebuild", target);
	return -1;
}

struct rw_kafka *rw_kafka_new(struct event_base *base, const struct rw_output_spec *spec,
                              const char *user, struct rw_log *log, char *err, size_t errlen)
{
	(void)base;
	(void)user;
	(void)log;
	rw_kafka_available(spec->target, err, errlen);
	return NULL;
}

/* Unreachable: no rw_kafka is ever made. */
void rw_kafka_submit(struct rw_kafka *k, const char *key, size_t keylen, const char *value,
                     size_t len)
{
	(void)k;
	(void)key;
	(void)keylen;
	(void)value;
	(void)len;
}

void rw_kafka_stats(const struct rw_kafka *k, struct rw_sender_stats *out)
{
	(void)k;
	*out = (struct rw_sender_stats){0};
}

void rw_kafka_free(struct rw_kafka *k)
{
	(void)k;
}
