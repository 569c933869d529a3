/* The end of a proxied connection, the same whether it was relayed blind
 * (relay.c) or inspected (inspect.c): its capture file finished, its record
 * closed, logged and handed to the outputs. */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "pcap_writer.h"
#include "proxy.h"

void rw_proxy_conn_report(struct rw_proxy *px, const struct rw_conn_end *e)
{
	if (*e->pcap) {
		/* The closes rdpwhy made itself (a timeout, a peer's RST passed on,
		 * shutdown) belong in the file, or it replays as a connection still
		 * open: the client's leg first, as the client saw it. The writer
		 * ignores a close the side already made. */
		struct rw_pcapw *w = *e->pcap;
		if (e->reset_client)
			rw_pcapw_rst(w, RW_S2C, e->t);
		else
			rw_pcapw_fin(w, RW_S2C, e->t);
		if (e->reset_server)
			rw_pcapw_rst(w, RW_C2S, e->t);
		else
			rw_pcapw_fin(w, RW_C2S, e->t);
		if (rw_pcapw_close(w) < 0)
			rw_logx(&px->log, LOG_WARNING, "conn %llu: pcap file incomplete",
			        (unsigned long long)e->id);
		*e->pcap = NULL;
	}
	struct rw_record *rec = rw_session_record(e->session);
	size_t pin = strnlen(px->cfg.expected_cert_sha256, sizeof(rec->expected_cert_sha256) - 1);
	memcpy(rec->expected_cert_sha256, px->cfg.expected_cert_sha256, pin);
	rec->expected_cert_sha256[pin] = '\0';
	rw_session_close(e->session, e->t);
	rec->id = e->id;
	rw_logx(&px->log, LOG_INFO, "conn %llu: %s -> %s closed (%s%s): %s by %s, %s, phase %s",
	        (unsigned long long)e->id, e->peer, e->dst, e->why,
	        e->inspected ? ", inspected" : "", rw_cause_name(rec->verdict.cause),
	        rw_side_name(rec->verdict.closed_by), rw_close_kind_name(rec->verdict.close_kind),
	        rw_phase_name(rec->verdict.phase));
	rw_outputs_write_session(px->outputs, e->session); /* the session goes with it */
}
