/* TTLs in the flow table: a SYN proxy's handshake and window update from
 * its own hop distance, and an RST nearer than the SYN-ACK (a firewall's). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include "flow_frames.h"

/* A SYN proxy (iptables SYNPROXY, a balancer, SYN cookies on a firewall)
 * answers the SYN from its own hop distance; the host's own packets and its
 * own RST come from further away. That RST is the host's, not injected
 * (issue #10 item 4), and the record says a SYN proxy answered. */
static void test_syn_proxy_ttl(void **state)
{
	(void)state;
	struct conn c = conn4(15, 59100, 3389);
	seg(&c, true, RW_TCP_SYN, NULL, 0);
	c.sttl = 64; /* the proxy's SYN-ACK */
	seg(&c, false, RW_TCP_SYN | RW_TCP_ACK, NULL, 0);
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	c.sttl = 61; /* the host, three hops further */
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	seg_at(&c, false, RW_TCP_RST, c.sseq, 0, NULL, 0, 61);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	assert_int_equal(r->syn_ttl[RW_S2C], 64);
	assert_int_equal(r->ttl_lo[RW_S2C], 61);
	assert_int_equal(r->verdict.cause, RW_CAUSE_RESET_BY_SERVER);
	bool said = false;
	for (size_t i = 0; i < r->verdict.n_evidence; i++)
		said |= strstr(r->verdict.evidence[i], "SYN-ACK has TTL 64, the server's other "
		                                       "packets TTL 61: a SYN proxy") != NULL;
	assert_true(said);
	/* And a reset forged by a device nearer than the host is still one. */
	struct conn d = conn4(16, 59101, 3389);
	d.sttl = 61;
	handshake(&d);
	seg(&d, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&d, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	seg_at(&d, false, RW_TCP_RST, d.sseq, 0, NULL, 0, 63);
	assert_int_equal(n_recs, 2);
	assert_int_equal(recs[1].verdict.cause, RW_CAUSE_RESET_INJECTED);
}

/* iptables SYNPROXY also sends the window update that ends its handshake with
 * the host, a bare ACK from the host's address and its own hop distance. Bare
 * ACKs are not the baseline once the host sent data: its data and its own
 * RST share one TTL, and the SYN-ACK's differs (the lab's 14_synproxy_path). */
static void test_synproxy_window_update(void **state)
{
	(void)state;
	struct conn c = conn4(17, 59102, 3389);
	seg(&c, true, RW_TCP_SYN, NULL, 0);
	c.sttl = 64; /* the middlebox's SYN-ACK */
	seg(&c, false, RW_TCP_SYN | RW_TCP_ACK, NULL, 0);
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	seg(&c, false, RW_TCP_ACK, NULL, 0); /* its window update */
	c.sttl = 63;                         /* the host, one router further */
	seg(&c, false, RW_TCP_ACK, NULL, 0);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	seg(&c, false, RW_TCP_PSH, cc_ssl, sizeof(cc_ssl));
	seg(&c, true, RW_TCP_ACK, NULL, 0);
	seg(&c, false, RW_TCP_RST, NULL, 0);
	assert_int_equal(n_recs, 1);
	const struct rw_record *r = &recs[0];
	assert_int_equal(r->ttl_lo[RW_S2C], 63);
	assert_int_equal(r->ttl_hi[RW_S2C], 63);
	assert_int_equal(r->verdict.cause, RW_CAUSE_RESET_BY_SERVER);
	assert_true(has_evidence(
	        r, "SYN-ACK has TTL 64, the server's other packets TTL 63: a SYN proxy"));
}

/* An RDP-aware firewall (iptables -m string "Cookie: mstshash" -j REJECT
 * --reject-with tcp-reset) resets right after the request: the host sent only
 * its SYN-ACK, from further away than the firewall's RST (the lab's
 * 15_rdp_firewall_path). Nearer than what answered the handshake: injected.
 * An RST from further away than the SYN-ACK is not (a SYN proxy answered). */
static void test_rst_nearer_than_synack(void **state)
{
	(void)state;
	struct conn c = conn4(18, 59103, 3389);
	c.sttl = 63;
	handshake(&c);
	seg(&c, true, RW_TCP_PSH, cr, sizeof(cr));
	seg_at(&c, false, RW_TCP_RST, c.sseq, 0, NULL, 0, 64);
	assert_int_equal(n_recs, 1);
	assert_int_equal(recs[0].ttl_lo[RW_S2C], -1);
	assert_int_equal(recs[0].verdict.cause, RW_CAUSE_RESET_INJECTED);
	assert_int_equal(recs[0].verdict.phase, RW_PHASE_X224);
	assert_true(has_evidence(&recs[0], "TTL 64, its SYN-ACK TTL 63: sent from nearer"));
	struct conn d = conn4(19, 59104, 3389);
	d.sttl = 64;
	handshake(&d);
	seg(&d, true, RW_TCP_PSH, cr, sizeof(cr));
	seg_at(&d, false, RW_TCP_RST, d.sseq, 0, NULL, 0, 61);
	assert_int_equal(n_recs, 2);
	assert_int_not_equal(recs[1].verdict.cause, RW_CAUSE_RESET_INJECTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_syn_proxy_ttl, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_synproxy_window_update, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rst_nearer_than_synack, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
