/* A Kafka cluster on loopback for tests: librdkafka's mock cluster (the
 * Kafka protocol as librdkafka's own test suite serves it), listening on
 * 127.0.0.1.
 *
 *   mock_broker [BROKERS [TOPIC [PARTITIONS]]]    (defaults: 3 rdpwhy 3)
 *
 * Prints its bootstrap servers on one line, then reads commands on stdin,
 * one a line, answering each with "ok" (so a script knows it took effect):
 *
 *   down   every broker refuses and drops connections (an outage)
 *   up     they take connections again
 *   produce_error CODE COUNT   the next COUNT Produce requests (to any
 *          broker) fail with Kafka error CODE (10 MSG_SIZE_TOO_LARGE,
 *          29 TOPIC_AUTHORIZATION_FAILED, ...), every record in them
 *   quit   (or end of input, or SIGTERM/SIGINT) stop
 *
 * The brokers keep their ports across down/up, as a restarted broker would. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int set_all(rd_kafka_mock_cluster_t *mc, int n, int up)
{
	for (int id = 1; id <= n; id++) {
		rd_kafka_resp_err_t e = up ? rd_kafka_mock_broker_set_up(mc, id)
		                           : rd_kafka_mock_broker_set_down(mc, id);
		if (e) {
			fprintf(stderr, "mock_broker: broker %d: %s\n", id, rd_kafka_err2str(e));
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	const char *topic = argc > 2 ? argv[2] : "rdpwhy";
	int parts = argc > 3 ? atoi(argv[3]) : 3;
	if (n < 1 || n > 16 || parts < 1 || parts > 64) {
		fprintf(stderr, "usage: mock_broker [BROKERS 1-16 [TOPIC [PARTITIONS 1-64]]]\n");
		return 2;
	}
	char err[512];
	char brokers[8];
	snprintf(brokers, sizeof(brokers), "%d", n);
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	/* The handle only hosts the cluster (librdkafka creates it and points
	 * the handle at it); quiet, as its connections fail on "down". */
	if (rd_kafka_conf_set(conf, "test.mock.num.brokers", brokers, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err))) {
		fprintf(stderr, "mock_broker: %s\n", err);
		return 1;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "mock_broker: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(rk);
	if (!mc) {
		fprintf(stderr, "mock_broker: cannot start the mock cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}
	/* Replicated to every broker, so that acks=all means something. */
	rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, topic, parts, n);
	if (e) {
		fprintf(stderr, "mock_broker: topic %s: %s\n", topic, rd_kafka_err2str(e));
		rd_kafka_destroy(rk);
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: fgets returns */
	sigaction(SIGINT, &sa, NULL);
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	char line[64];
	int rc = 0, code, count;
	while (!stop && fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = 0;
		if (!strcmp(line, "quit"))
			break;
		if (!strcmp(line, "down") || !strcmp(line, "up")) {
			if (set_all(mc, n, line[0] == 'u') < 0) {
				rc = 1;
				break;
			}
			printf("ok\n");
		} else if (sscanf(line, "produce_error %d %d", &code, &count) == 2 && count > 0 &&
		           count <= 16) {
			rd_kafka_resp_err_t errs[16];
			for (int i = 0; i < count; i++)
				errs[i] = (rd_kafka_resp_err_t)code;
			/* 0: Produce's API key in the Kafka protocol (librdkafka's
			 * name for it, RD_KAFKAP_Produce, is not in its public headers). */
			rd_kafka_mock_push_request_errors_array(mc, 0, (size_t)count, errs);
			printf("ok\n");
		} else {
			printf("unknown command '%s' (down, up, produce_error CODE COUNT, quit)\n",
			       line);
		}
		fflush(stdout);
	}
	rd_kafka_destroy(rk); /* and its cluster with it */
	return rc;
}
