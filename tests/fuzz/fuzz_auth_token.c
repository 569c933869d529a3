/* The authentication token reader (analyzers/kerberos.c): SPNEGO, GSS-API
 * framing, Kerberos AP-REQ/AP-REP/KRB-ERROR, NTLM message types.
 * Input: a token (or its prefix). Besides the sanitizers, checks: an inner
 * NTLM message lies inside the input; a KRB-ERROR's stime is only set with a
 * KRB-ERROR; names of what was read are C strings; the result on the whole
 * input never depends on bytes past it (each parse gets an exact-size copy);
 * and a prefix never gives another error-code than the whole token. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "kerberos.h"
#include "ntlm.h"
#include "rw_types.h"

static int parse(const uint8_t *src, size_t n, struct rw_auth_token_info *t)
{
	uint8_t *p = fuzz_dup(src, n);
	int r = rw_auth_token_parse(p, n, t);
	FUZZ_CHECK(r == 0 || r == RW_E_TYPE || r == RW_E_LENGTH || r == RW_E_VALUE);
	FUZZ_CHECK(t->kind <= RW_AUTH_SPNEGO);
	if (t->ntlm) {
		FUZZ_CHECK(t->ntlm >= p && t->ntlm + t->ntlm_len <= p + n);
		fuzz_touch(t->ntlm, t->ntlm_len);
		struct rw_ntlm_challenge c;
		if (t->ntlm_type == 2)
			(void)rw_ntlm_challenge_parse(t->ntlm, t->ntlm_len, &c);
		t->ntlm = NULL; /* p is freed */
	}
	FUZZ_CHECK(!t->has_stime || t->kind == RW_AUTH_KRB_ERROR);
	const char *name = rw_krb_error_name(t->krb_error);
	if (name)
		fuzz_touch(name, strlen(name));
	name = rw_ntlm_type_name(t->ntlm_type);
	if (name)
		fuzz_touch(name, strlen(name));
	int m = rw_ntlm_message_type(p, n);
	FUZZ_CHECK(m == RW_E_NEED_MORE || m == RW_E_TYPE || (m >= 1 && m <= 3));
	free(p);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rw_auth_token_info t, u;
	parse(data, size, &t);
	if (size > 1) {
		parse(data, size / 2, &u);
		if (u.kind == RW_AUTH_KRB_ERROR && t.kind == RW_AUTH_KRB_ERROR &&
		    u.krb_error >= 0 && !u.truncated)
			FUZZ_CHECK(u.krb_error == t.krb_error);
	}
	int64_t s;
	if (size >= 15)
		(void)rw_krb_time_parse(data, 15, &s);
	return 0;
}
