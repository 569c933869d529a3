/* Loads librdkafka (see kafka_lib.h for why it is not linked). */
#define RW_KAFKA_LIB_NO_NAMES
#include "kafka_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

struct rw_kafka_lib rw_kafka_lib;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];

static void load(void)
{
	/* Never closed: librdkafka's threads may outlive any one output. */
	void *h = dlopen(RW_RDKAFKA_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		snprintf(load_error, sizeof(load_error),
		         "cannot load %s, which kafka:// outputs need (Debian: apt-get install "
		         "librdkafka1): %s",
		         RW_RDKAFKA_SONAME, why ? why : "unknown error");
		return;
	}
	struct rw_kafka_lib l;
#define RW_KAFKA_FIND(f)                                                                           \
	l.p_##f = (__typeof__(f) *)dlsym(h, #f);                                                   \
	if (!l.p_##f) {                                                                            \
		snprintf(load_error, sizeof(load_error),                                           \
		         "%s has no %s: a librdkafka too old for kafka:// outputs (1.0 or later "  \
		         "is needed)",                                                             \
		         RW_RDKAFKA_SONAME, #f);                                                   \
		return;                                                                            \
	}
	RW_KAFKA_FUNCTIONS(RW_KAFKA_FIND)
#undef RW_KAFKA_FIND
	rw_kafka_lib = l;
}

int rw_kafka_lib_load(char *err, size_t errlen)
{
	pthread_once(&once, load);
	if (!load_error[0])
		return 0;
	snprintf(err, errlen, "%s", load_error);
	return -1;
}
