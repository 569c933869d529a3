/* A kafka://BROKERS/TOPIC output on the output thread's event loop, through
 * librdkafka.
 *
 * Every record is spooled first (spool.h: the same at-least-once spool as
 * the syslog streams), then produced from the spool in order, keyed by its
 * record id, with acks=all and enable.idempotence=true. A record leaves the
 * spool only when librdkafka's delivery report says the brokers took it, and
 * the spool is acknowledged in order: only up to the oldest record not yet
 * reported delivered. While the brokers are down librdkafka keeps retrying
 * what it holds (no message timeout) and the spool keeps the rest; a record
 * the brokers refuse for itself (too large) goes to the spool's rejected/
 * directory; any other failed delivery sends again from the oldest record
 * not delivered: duplicates possible (the key lets a consumer de-duplicate),
 * losses not.
 *
 * Threads: librdkafka runs its own; its delivery reports, errors and log
 * lines wait in its main queue, which wakes the loop through a pipe
 * (rd_kafka_queue_io_event_enable) and is served there, so everything here,
 * the spool included, runs on the thread that runs base.
 *
 * Built without librdkafka (kafka_none.c), rw_kafka_new fails with a message
 * saying so. */
#ifndef RW_KAFKA_H
#define RW_KAFKA_H

#include <stddef.h>

#include <event2/event.h>

#include "log.h"
#include "output_spec.h"
#include "sender.h"

struct rw_kafka;
/* 0 when kafka:// outputs can be made here (the library loads), else -1
 * with the message rw_kafka_new would give for the output named target:
 * what `proxy --check-config` asks, as start would. */
int rw_kafka_available(const char *target, char *err, size_t errlen);
/* spec: a resolved kafka:// output. user: as rw_sender_new. NULL with a
 * message (bad options librdkafka refuses, the spool). */
struct rw_kafka *rw_kafka_new(struct event_base *base, const struct rw_output_spec *spec,
                              const char *user, struct rw_log *log, char *err, size_t errlen);
/* One record: key (its id) and value (the JSON record, no newline). */
void rw_kafka_submit(struct rw_kafka *k, const char *key, size_t keylen, const char *value,
                     size_t len);
/* The syslog streams' counters (reconnects: broker connections lost). */
void rw_kafka_stats(const struct rw_kafka *k, struct rw_sender_stats *out);
/* Commits the spool's batch, drops what librdkafka still holds (it stays
 * spooled for the next start) and frees. NULL is a no-op. */
void rw_kafka_free(struct rw_kafka *k);

#endif
