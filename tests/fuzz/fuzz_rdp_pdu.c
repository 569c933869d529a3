/* The RDP PDUs after CredSSP (analyzers/rdp_pdu.c): Set Error Info, Save
 * Session Info, the MCS Disconnect Provider Ultimatum, fast-path framing.
 * Input: byte 0 picks how much of the packet the decoder sees (its head),
 * the rest is one TPKT packet (or garbage). Checks: results are the
 * documented statuses; a head that decodes gives the same answer as the
 * whole packet; RW_E_NEED_MORE only for a head shorter than the packet;
 * names are C strings; every errorInfo maps to a cause in range. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "rdp_pdu.h"
#include "rw_types.h"

static int parse(const uint8_t *src, size_t n, size_t total, struct rw_rdp_pdu *pdu)
{
	uint8_t *p = fuzz_dup(src, n);
	int r = rw_rdp_pdu_parse(p, n, total, pdu);
	FUZZ_CHECK(r == 0 || r == RW_E_NEED_MORE || r == RW_E_LENGTH || r == RW_E_TYPE ||
	           r == RW_E_VERSION || r == RW_E_VALUE);
	free(p);
	return r;
}

static void names(const struct rw_rdp_pdu *p)
{
	const char *s[] = {rw_mcs_reason_name(p->reason), rw_errinfo_name(p->error_info),
	                   rw_save_info_type_name(p->info_type),
	                   rw_logon_error_type_name(p->logon_error_type),
	                   rw_logon_error_data_name(p->logon_error_data)};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (s[i])
			fuzz_touch(s[i], strlen(s[i]));
	FUZZ_CHECK(rw_errinfo_cause(p->error_info) < RW_CAUSE_COUNT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t head = data[0];
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	struct rw_rdp_pdu whole, part;
	int r = parse(p, n, n, &whole);
	FUZZ_CHECK(r != RW_E_NEED_MORE);
	if (r == 0)
		names(&whole);
	if (head < n) {
		int k = parse(p, head, n, &part);
		if (k == 0) {
			names(&part);
			FUZZ_CHECK(r == 0 && part.kind == whole.kind);
			FUZZ_CHECK(part.error_info == whole.error_info &&
			           part.reason == whole.reason);
		}
	}
	int f = rw_fastpath_length(p, n);
	FUZZ_CHECK(f == RW_E_NEED_MORE || f == RW_E_TYPE || f == RW_E_LENGTH ||
	           (f > 2 && f < 0x8000));
	return 0;
}
