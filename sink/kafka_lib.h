/* librdkafka, loaded when the first kafka:// output is made rather than
 * linked: mapping and relocating it (and SASL, which only it needs) cost
 * about 2.4 ms at every start of every command, most of which never send
 * to Kafka (a replay of a small capture takes 17 ms). kafka.c calls the
 * functions by their usual names, which this header maps to the pointers
 * dlsym found. */
#ifndef RW_KAFKA_LIB_H
#define RW_KAFKA_LIB_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

/* The SONAME the package depends on (librdkafka1); a build may define
 * another (-DRW_RDKAFKA_SONAME=...). */
#ifndef RW_RDKAFKA_SONAME
#define RW_RDKAFKA_SONAME "librdkafka.so.1"
#endif

#define RW_KAFKA_FUNCTIONS(X)                                                                      \
	X(rd_kafka_conf_destroy)                                                                   \
	X(rd_kafka_conf_new)                                                                       \
	X(rd_kafka_conf_set)                                                                       \
	X(rd_kafka_conf_set_dr_msg_cb)                                                             \
	X(rd_kafka_conf_set_error_cb)                                                              \
	X(rd_kafka_conf_set_log_cb)                                                                \
	X(rd_kafka_conf_set_opaque)                                                                \
	X(rd_kafka_destroy)                                                                        \
	X(rd_kafka_err2str)                                                                        \
	X(rd_kafka_fatal_error)                                                                    \
	X(rd_kafka_new)                                                                            \
	X(rd_kafka_opaque)                                                                         \
	X(rd_kafka_poll)                                                                           \
	X(rd_kafka_producev)                                                                       \
	X(rd_kafka_purge)                                                                          \
	X(rd_kafka_queue_destroy)                                                                  \
	X(rd_kafka_queue_get_main)                                                                 \
	X(rd_kafka_queue_io_event_enable)                                                          \
	X(rd_kafka_set_log_queue)

struct rw_kafka_lib {
#define RW_KAFKA_POINTER(f) __typeof__(f) *p_##f;
	RW_KAFKA_FUNCTIONS(RW_KAFKA_POINTER)
#undef RW_KAFKA_POINTER
};
extern struct rw_kafka_lib rw_kafka_lib;

/* Loads the library and finds every function, once per process: 0, or -1
 * with why in err (the library missing or too old) each time it is asked. */
int rw_kafka_lib_load(char *err, size_t errlen);

#ifndef RW_KAFKA_LIB_NO_NAMES
#define rd_kafka_conf_destroy          (*rw_kafka_lib.p_rd_kafka_conf_destroy)
#define rd_kafka_conf_new              (*rw_kafka_lib.p_rd_kafka_conf_new)
#define rd_kafka_conf_set              (*rw_kafka_lib.p_rd_kafka_conf_set)
#define rd_kafka_conf_set_dr_msg_cb    (*rw_kafka_lib.p_rd_kafka_conf_set_dr_msg_cb)
#define rd_kafka_conf_set_error_cb     (*rw_kafka_lib.p_rd_kafka_conf_set_error_cb)
#define rd_kafka_conf_set_log_cb       (*rw_kafka_lib.p_rd_kafka_conf_set_log_cb)
#define rd_kafka_conf_set_opaque       (*rw_kafka_lib.p_rd_kafka_conf_set_opaque)
#define rd_kafka_destroy               (*rw_kafka_lib.p_rd_kafka_destroy)
#define rd_kafka_err2str               (*rw_kafka_lib.p_rd_kafka_err2str)
#define rd_kafka_fatal_error           (*rw_kafka_lib.p_rd_kafka_fatal_error)
#define rd_kafka_new                   (*rw_kafka_lib.p_rd_kafka_new)
#define rd_kafka_opaque                (*rw_kafka_lib.p_rd_kafka_opaque)
#define rd_kafka_poll                  (*rw_kafka_lib.p_rd_kafka_poll)
#define rd_kafka_producev              (*rw_kafka_lib.p_rd_kafka_producev)
#define rd_kafka_purge                 (*rw_kafka_lib.p_rd_kafka_purge)
#define rd_kafka_queue_destroy         (*rw_kafka_lib.p_rd_kafka_queue_destroy)
#define rd_kafka_queue_get_main        (*rw_kafka_lib.p_rd_kafka_queue_get_main)
#define rd_kafka_queue_io_event_enable (*rw_kafka_lib.p_rd_kafka_queue_io_event_enable)
#define rd_kafka_set_log_queue         (*rw_kafka_lib.p_rd_kafka_set_log_queue)
#endif

#endif
