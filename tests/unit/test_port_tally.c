/* capture/port_tally.c: the busiest server ports in bounded memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "port_tally.h"

static void test_exact_when_few_ports(void **state)
{
	(void)state;
	struct rw_port_tally t = {0};
	for (int i = 0; i < 5; i++)
		rw_port_tally_add(&t, 443);
	for (int i = 0; i < 9; i++)
		rw_port_tally_add(&t, 3390);
	rw_port_tally_add(&t, 22);
	struct rw_port_count top[4];
	size_t n = rw_port_tally_top(&t, top, 4);
	assert_int_equal(n, 3);
	assert_int_equal(top[0].port, 3390);
	assert_int_equal(top[0].count, 9);
	assert_int_equal(top[1].port, 443);
	assert_int_equal(top[1].count, 5);
	assert_int_equal(top[2].port, 22);
	assert_int_equal(t.total, 15);
	/* max smaller than the ports held */
	assert_int_equal(rw_port_tally_top(&t, top, 1), 1);
	assert_int_equal(top[0].port, 3390);
}

static void test_heavy_port_survives_a_scan(void **state)
{
	(void)state;
	/* A port scan touches 60,000 ports once each, interleaved with a real
	 * service on 3390 that has well over 1/16 of the hits: it stays on top. */
	struct rw_port_tally t = {0};
	for (unsigned p = 1; p <= 60000; p++) {
		rw_port_tally_add(&t, (uint16_t)p);
		if (p % 4 == 0)
			rw_port_tally_add(&t, 3390);
	}
	struct rw_port_count top[1];
	assert_int_equal(rw_port_tally_top(&t, top, 1), 1);
	assert_int_equal(top[0].port, 3390);
	assert_true(top[0].count >= 15000);
	assert_int_equal(t.used, RW_TALLY_SLOTS);
}

static void test_ties_lower_port_first(void **state)
{
	(void)state;
	struct rw_port_tally t = {0};
	rw_port_tally_add(&t, 8443);
	rw_port_tally_add(&t, 443);
	struct rw_port_count top[2];
	assert_int_equal(rw_port_tally_top(&t, top, 2), 2);
	assert_int_equal(top[0].port, 443);
	assert_int_equal(top[1].port, 8443);
	struct rw_port_tally empty = {0};
	assert_int_equal(rw_port_tally_top(&empty, top, 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_exact_when_few_ports),
	        cmocka_unit_test(test_heavy_port_survives_a_scan),
	        cmocka_unit_test(test_ties_lower_port_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
