/* The proxy's pcap writer against the golden captures: every committed
 * capture is rewritten through the writer (its payload stream, FINs and RSTs
 * at the original times), checked by pcapw_check.c's independent decoder and
 * must give the same verdict. The rewrites are left in RW_PCAPW_SAMPLE_DIR
 * (default /tmp/rdpwhy-pcapw-test) for tests/pcap_writer_tshark.sh, which runs
 * this program. The packet-by-packet tests are in test_pcap_writer_frames.c,
 * the file tests in test_pcap_writer_files.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "pcapw_check.h"

/* ---- golden captures rewritten ------------------------------------------- */

/* Turns one connection of a real capture into writer calls: the in-order
 * new bytes of each direction (retransmissions and keep-alive probes
 * dropped), each side's first FIN, the first RST, at the original times. */
struct rewrite {
	const char *dir;
	struct rw_pcapw *w;
	bool have_client, done;
	struct rw_endpoint client, server;
	uint32_t nxt[2];
	bool fin[2];
	char path[4096];
};

static void ep_from(struct rw_endpoint *e, int family, const uint8_t *a, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	e->family = family;
	memcpy(e->addr, a, 16);
	e->port = port;
}

static void rewrite_packet(struct rewrite *rw, const struct rw_packet *k)
{
	if (rw->done)
		return;
	bool syn = k->flags & RW_TCP_SYN, ack = k->flags & RW_TCP_ACK;
	char err[256];
	if (syn && !ack && !rw->have_client) {
		ep_from(&rw->client, k->family, k->src, k->sport);
		ep_from(&rw->server, k->family, k->dst, k->dport);
		rw->have_client = true;
		rw->w = rw_pcapw_open_syn(rw->dir, &rw->client, &rw->server, k->ts_us, err,
		                          sizeof(err));
		if (!rw->w)
			fail_msg("%s", err);
		snprintf(rw->path, sizeof(rw->path), "%s", rw_pcapw_path(rw->w));
		rw->nxt[RW_C2S] = k->seq + 1;
		return;
	}
	assert_true(rw->have_client); /* the golden captures all begin with the SYN */
	enum rw_dir d = k->sport == rw->client.port ? RW_C2S : RW_S2C;
	if (syn) {
		if (d == RW_S2C && ack) {
			assert_int_equal(rw_pcapw_synack(rw->w, k->ts_us), 0);
			rw->nxt[RW_S2C] = k->seq + 1;
		}
		return;
	}
	if (k->flags & RW_TCP_RST) {
		assert_int_equal(rw_pcapw_rst(rw->w, d, k->ts_us), 0);
		rw->done = true;
		return;
	}
	uint32_t off = rw->nxt[d] - k->seq;
	if (k->seg_len) {
		assert_true((int32_t)off >= 0); /* no holes in these captures */
		if (off < k->seg_len) {
			assert_int_equal(k->payload_len, k->seg_len);
			assert_int_equal(rw_pcapw_data(rw->w, d, k->ts_us, k->payload + off,
			                               k->seg_len - off),
			                 0);
			rw->nxt[d] = k->seq + (uint32_t)k->seg_len;
		}
	}
	if ((k->flags & RW_TCP_FIN) && !rw->fin[d] && k->seq + (uint32_t)k->seg_len == rw->nxt[d]) {
		assert_int_equal(rw_pcapw_fin(rw->w, d, k->ts_us), 0);
		rw->fin[d] = true;
	}
}

static void rewrite_capture(const char *in, const char *outdir, char *out, size_t outlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(in, ebuf);
	if (!p)
		fail_msg("%s: %s", in, ebuf);
	int dlt = pcap_datalink(p);
	struct rewrite rw = {.dir = outdir};
	struct pcap_pkthdr *h;
	const u_char *d;
	while (pcap_next_ex(p, &h, &d) == 1) {
		struct rw_packet k;
		if (rw_decode_packet(dlt, d, h->caplen, &k) != RW_DECODE_OK)
			continue;
		k.ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		rewrite_packet(&rw, &k);
	}
	pcap_close(p);
	assert_non_null(rw.w);
	assert_int_equal(rw_pcapw_close(rw.w), 0);
	snprintf(out, outlen, "%s", rw.path);

	/* the rewrite is a well-formed conversation by the checker's rules */
	struct conv c;
	conv_init(&c, &rw.client, &rw.server);
	size_t n;
	free(check_file(out, &c, &n));
	conv_free(&c);
}

static void assert_same_record(const char *name, const struct rec *a, const struct rec *b)
{
	if (a->cause != b->cause || a->closed_by != b->closed_by ||
	    a->close_kind != b->close_kind || a->phase != b->phase)
		fail_msg("%s: original %s/%s/%s/%s, rewrite %s/%s/%s/%s", name,
		         rw_cause_name(a->cause), rw_side_name(a->closed_by),
		         rw_close_kind_name(a->close_kind), rw_phase_name(a->phase),
		         rw_cause_name(b->cause), rw_side_name(b->closed_by),
		         rw_close_kind_name(b->close_kind), rw_phase_name(b->phase));
	assert_endpoint(&a->client, &b->client);
	assert_endpoint(&a->server, &b->server);
	assert_int_equal(a->n_evidence, b->n_evidence);
	for (size_t i = 0; i < a->n_evidence; i++)
		assert_string_equal(a->evidence[i], b->evidence[i]);
	for (int d = 0; d < 2; d++) {
		assert_int_equal(a->bytes[d], b->bytes[d]);
		assert_int_equal(a->fin_seen[d], b->fin_seen[d]);
		assert_int_equal(a->rst_seen[d], b->rst_seen[d]);
		assert_int_equal(b->retransmits[d], 0);
		assert_int_equal(b->gaps[d], 0);
	}
	assert_int_equal(a->saw_syn, b->saw_syn);
	assert_int_equal(a->saw_synack, b->saw_synack);
	assert_int_equal(a->connect_failed, b->connect_failed);
	assert_int_equal(a->cr_seen, b->cr_seen);
	assert_int_equal(a->cc_seen, b->cc_seen);
	assert_int_equal(a->requested_protocols, b->requested_protocols);
	assert_int_equal(a->selected_protocol, b->selected_protocol);
	assert_int_equal(a->tls13, b->tls13);
	assert_int_equal(a->tls_established, b->tls_established);
	assert_int_equal(a->client_hello_seen, b->client_hello_seen);
	assert_int_equal(a->server_hello_seen, b->server_hello_seen);
	assert_string_equal(a->ja3_md5, b->ja3_md5);
	assert_string_equal(a->ja3s_md5, b->ja3s_md5);
	assert_string_equal(a->ja4, b->ja4);
	assert_int_equal(a->ts_open, b->ts_open);
}

static void mkdir_ok(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", path, strerror(errno));
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void test_golden_rewrites(void **state)
{
	(void)state;
	const char *sample = getenv("RW_PCAPW_SAMPLE_DIR");
	if (!sample || !*sample)
		sample = "/tmp/rdpwhy-pcapw-test";
	mkdir_ok(sample);
	char index[4096];
	snprintf(index, sizeof(index), "%s/index.tsv", RW_TEST_DATA);
	FILE *f = fopen(index, "r");
	if (!f)
		fail_msg("%s: %s", index, strerror(errno));
	char line[8192];
	size_t done = 0;
	assert_non_null(fgets(line, sizeof(line), f)); /* header */
	while (fgets(line, sizeof(line), f)) {
		char file[256], cause[64];
		if (sscanf(line, "%255[^\t]\t%63[^\t]", file, cause) != 2)
			continue;
		char in[4096], outdir[4096], out[4096];
		snprintf(in, sizeof(in), "%s/%s", RW_TEST_DATA, file);
		char stem[256];
		snprintf(stem, sizeof(stem), "%s", file);
		char *dot = strrchr(stem, '.');
		if (dot)
			*dot = '\0';
		snprintf(outdir, sizeof(outdir), "%s/%s", sample, stem);
		mkdir_ok(outdir);
		remove_files(outdir, "rdpwhy-");
		rewrite_capture(in, outdir, out, sizeof(out));

		struct recs a, b;
		replay(in, &a);
		replay(out, &b);
		assert_int_equal(a.n, 1);
		assert_int_equal(b.n, 1);
		assert_string_equal(rw_cause_name(a.r[0].cause), cause);
		assert_same_record(file, &a.r[0], &b.r[0]);
		done++;
	}
	fclose(f);
	assert_true(done >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_golden_rewrites),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
