#include "testutil.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static unsigned next_rand(unsigned *state)
{
	*state = *state * 1103515245u + 12345u;
	return (*state >> 16) & 0x7fff;
}

struct rw_session *rw_test_run_ex(const struct rw_step *steps, enum rw_split split, unsigned seed,
                                  bool midstream)
{
	struct rw_session *s = rw_session_new(NULL);
	assert_non_null(s);
	struct rw_endpoint c = {.family = 2, .addr = {10, 0, 0, 1}, .port = 50000};
	struct rw_endpoint v = {.family = 2, .addr = {10, 0, 0, 2}, .port = 3389};
	uint64_t ts = 1700000000ull * 1000000ull;
	rw_session_open(s, ts, &c, &v);
	if (!midstream) {
		rw_session_syn(s, RW_C2S, ts);
		rw_session_syn(s, RW_S2C, ts + 100);
	}
	for (const struct rw_step *st = steps; st->kind != STEP_END; st++) {
		ts += 1000;
		switch (st->kind) {
		case STEP_DATA: {
			size_t off = 0;
			while (off < st->n) {
				size_t len = st->n - off;
				if (split == SPLIT_BYTES)
					len = 1;
				else if (split == SPLIT_RANDOM)
					len = 1 + next_rand(&seed) % (len < 97 ? len : 97);
				rw_session_data(s, st->dir, ts, st->p + off, len);
				off += len;
			}
			break;
		}
		case STEP_FIN:
			rw_session_fin(s, st->dir, ts);
			break;
		case STEP_RST:
			rw_session_rst(s, st->dir, ts, st->arg);
			break;
		case STEP_TIMEOUT:
			rw_session_timeout(s, ts);
			break;
		case STEP_SLEEP:
			ts += (uint64_t)st->arg * 1000u;
			break;
		case STEP_CONNECT_FAILED:
			rw_session_connect_failed(s, ts, (enum rw_close_kind)st->arg);
			break;
		case STEP_END:
			break;
		}
	}
	rw_session_close(s, ts + 1000);
	return s;
}

uint8_t *rw_test_read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
	assert_non_null(buf);
	*n = fread(buf, 1, (size_t)len, f);
	fclose(f);
	return buf;
}

size_t rw_test_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (; *hex; hex++) {
		int v;
		if (*hex >= '0' && *hex <= '9')
			v = *hex - '0';
		else if (*hex >= 'a' && *hex <= 'f')
			v = *hex - 'a' + 10;
		else if (*hex >= 'A' && *hex <= 'F')
			v = *hex - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < cap);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

struct rw_session *rw_test_run(const struct rw_step *steps, enum rw_split split, unsigned seed)
{
	return rw_test_run_ex(steps, split, seed, false);
}

void rw_test_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void rw_test_put32(uint8_t *p, uint32_t v)
{
	rw_test_put16(p, (uint16_t)(v >> 16));
	rw_test_put16(p + 2, (uint16_t)v);
}
