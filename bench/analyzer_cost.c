/* What the analyzers cost on a stream they read, measured apart from any
 * relay (issue #14, "analyzers on vs off"): the byte stream of
 * `loadgen bulk --tls` (an X.224 request with RDP_NEG_REQ, a Confirm that
 * selects TLS, then TLS-shaped application-data records of 16 KiB that no
 * handshake preceded, so the analyzers keep parsing every record) fed to one
 * session in reads of --read bytes, as the proxy's fast relay hands them
 * over, and the thread's CPU time per GiB. bench/relay_bench.sh builds it
 * against the proxy's own analyzers library and sets it beside the proxy's
 * CPU per GiB on the same stream (bulk-tls).
 *
 *   analyzer_cost [--mib N] [--read BYTES] [--record BYTES]
 *                 (defaults 4096 MiB, reads of 262144, records of 16384: the
 *                 largest TLS allows; smaller ones mean more headers to parse)
 *
 * Output: one JSON line. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session.h"

static const uint8_t CR_NEG[19] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00};
static const uint8_t CC_SSL[19] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34,
                                   0x00, 0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00};

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint64_t mib = 4096;
	size_t rd = 262144, payload = 16384;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--mib"))
			mib = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--read"))
			rd = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--record"))
			payload = strtoull(argv[i + 1], NULL, 10);
	}
	size_t rec_len = 5 + payload;
	if (payload < 1 || payload > 16384 || rd < rec_len || mib == 0) {
		fprintf(stderr, "analyzer_cost: --record 1-16384, --read at least the record, "
		                "--mib at least 1\n");
		return 2;
	}
	/* A read's worth of records; reads then start at a record boundary
	 * or inside one, as they fall. */
	size_t span = (rd / rec_len + 2) * rec_len;
	uint8_t *stream = malloc(span);
	if (!stream)
		return 1;
	srand(1);
	for (size_t off = 0; off + rec_len <= span; off += rec_len) {
		uint8_t *r = stream + off;
		r[0] = 0x17, r[1] = 0x03, r[2] = 0x03;
		r[3] = (uint8_t)(payload >> 8), r[4] = (uint8_t)(payload & 0xff);
		for (size_t k = 5; k < rec_len; k++)
			r[k] = (uint8_t)rand();
	}
	struct rw_session_config cfg = {0};
	struct rw_session *s = rw_session_new(&cfg);
	if (!s)
		return 1;
	struct rw_endpoint c = {.family = 2, .addr = {127, 0, 0, 1}, .port = 50000};
	struct rw_endpoint h = {.family = 2, .addr = {127, 0, 0, 1}, .port = 3389};
	uint64_t t = 1700000000000000u;
	rw_session_open(s, t, &c, &h);
	rw_session_syn(s, RW_C2S, t);
	rw_session_syn(s, RW_S2C, t);
	rw_session_data(s, RW_C2S, t, CR_NEG, sizeof(CR_NEG));
	rw_session_data(s, RW_S2C, t, CC_SSL, sizeof(CC_SSL));
	uint64_t total = mib << 20, fed = 0;
	size_t phase = 0; /* where in a record the next read begins */
	double t0 = cpu_s();
	while (fed < total) {
		size_t n = total - fed < rd ? (size_t)(total - fed) : rd;
		rw_session_data(s, RW_C2S, ++t, stream + phase, n);
		phase = (phase + n) % rec_len;
		fed += n;
	}
	double cpu = cpu_s() - t0;
	struct rw_record *rec = rw_session_record(s);
	printf("{\"mib\": %llu, \"read\": %zu, \"record\": %zu, \"cpu_s\": %.4f, "
	       "\"cpu_s_per_gib\": %.4f, "
	       "\"still_inspecting\": %s, \"phase\": \"%s\", \"bytes_c2s\": %llu, "
	       "\"records_seen\": %u, \"framing_error\": %s}\n",
	       (unsigned long long)mib, rd, payload, cpu, cpu * 1024.0 / (double)mib,
	       rw_session_inspecting(s) ? "true" : "false", rw_phase_name(rw_session_phase(s)),
	       (unsigned long long)rec->bytes[RW_C2S], rec->encrypted_records[RW_C2S],
	       rec->tls_framing_error[RW_C2S] ? "true" : "false");
	rw_session_free(s);
	free(stream);
	return 0;
}
