/* The captured hellos of tls_vectors.h and their parsers. */
#include "tls_vectors.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

const char ch_tls13[] = /* 327 bytes */
        "03 03 fb 28 e1 9a d0 37 94 e6 5c 61 a7 1d 0a 19 0b 1a ec 64 c4 88 63 c8 "
        "71 56 c5 7b 12 47 2c 5f df 22 20 d6 2f 3f 75 ad ef d7 57 fe a0 e4 26 3b "
        "3d 47 20 a0 c3 a9 75 1b 08 cf 70 37 f1 de b6 9e 89 8d 89 00 3e 13 02 13 "
        "03 13 01 c0 2c c0 30 00 9f cc a9 cc a8 cc aa c0 2b c0 2f 00 9e c0 24 c0 "
        "28 00 6b c0 23 c0 27 00 67 c0 0a c0 14 00 39 c0 09 c0 13 00 33 00 9d 00 "
        "9c 00 3d 00 3c 00 35 00 2f 00 ff 01 00 00 c0 00 00 00 11 00 0f 00 00 0c "
        "65 78 61 6d 70 6c 65 2e 74 65 73 74 00 0b 00 04 03 00 01 02 00 0a 00 16 "
        "00 14 00 1d 00 17 00 1e 00 19 00 18 01 00 01 01 01 02 01 03 01 04 00 23 "
        "00 00 00 10 00 0e 00 0c 02 68 32 08 68 74 74 70 2f 31 2e 31 00 16 00 00 "
        "00 17 00 00 00 0d 00 2a 00 28 04 03 05 03 06 03 08 07 08 08 08 09 08 0a "
        "08 0b 08 04 08 05 08 06 04 01 05 01 06 01 03 03 03 01 03 02 04 02 05 02 "
        "06 02 00 2b 00 09 08 03 04 03 03 03 02 03 01 00 2d 00 02 01 01 00 33 00 "
        "26 00 24 00 1d 00 20 d5 ea e5 67 53 71 24 12 2f b9 ee 80 33 f3 a9 6c 73 "
        "56 9b 43 9a 19 89 37 e7 f4 fe f0 ad 50 6e 3d";

const char sh_tls13[] = /* 118 bytes */
        "03 03 55 14 46 6f b3 cf 67 42 8a f5 96 bc a7 e3 df c9 db be a3 c6 ae a0 "
        "95 63 19 f8 be c4 a1 8e 22 00 20 d6 2f 3f 75 ad ef d7 57 fe a0 e4 26 3b "
        "3d 47 20 a0 c3 a9 75 1b 08 cf 70 37 f1 de b6 9e 89 8d 89 13 02 00 00 2e "
        "00 2b 00 02 03 04 00 33 00 24 00 1d 00 20 d2 3a b9 75 83 52 85 e1 95 5c "
        "d2 56 71 bc c5 98 79 4e 8c d8 c9 cd 47 c6 5d 83 2f 8d f6 5e f5 0d";

const char ch_tls12[] = /* 218 bytes */
        "03 03 d2 26 64 3b c6 63 9e 8e 8b 3c 88 33 6f 98 c0 90 cd c8 06 00 d4 04 "
        "50 ee c8 ac 86 76 29 34 a1 e7 00 00 38 c0 2c c0 30 00 9f cc a9 cc a8 cc "
        "aa c0 2b c0 2f 00 9e c0 24 c0 28 00 6b c0 23 c0 27 00 67 c0 0a c0 14 00 "
        "39 c0 09 c0 13 00 33 00 9d 00 9c 00 3d 00 3c 00 35 00 2f 00 ff 01 00 00 "
        "79 00 00 00 11 00 0f 00 00 0c 65 78 61 6d 70 6c 65 2e 74 65 73 74 00 0b "
        "00 04 03 00 01 02 00 0a 00 0c 00 0a 00 1d 00 17 00 1e 00 19 00 18 00 23 "
        "00 00 00 10 00 0e 00 0c 02 68 32 08 68 74 74 70 2f 31 2e 31 00 16 00 00 "
        "00 17 00 00 00 0d 00 2a 00 28 04 03 05 03 06 03 08 07 08 08 08 09 08 0a "
        "08 0b 08 04 08 05 08 06 04 01 05 01 06 01 03 03 03 01 03 02 04 02 05 02 "
        "06 02";

const char sh_tls12[] = /* 70 bytes */
        "03 03 f7 6f bb a2 f2 bf 08 09 b5 e5 19 a6 7e d9 91 05 d8 c7 1f 2b 7e c5 "
        "00 c0 44 4f 57 4e 47 52 44 01 00 c0 2c 00 00 1e ff 01 00 01 00 00 0b 00 "
        "04 03 00 01 02 00 23 00 00 00 10 00 05 00 03 02 68 32 00 17 00 00";

const char ch_hrr[] = /* 293 bytes */
        "03 03 d1 35 d3 04 03 13 69 c5 d8 f5 8a 99 3b 4f c4 55 e0 38 df 9d 1d ac "
        "e9 b7 39 2c f0 00 ed 62 60 cf 20 ab 6c 4e d6 ca 4e 29 48 16 ca 01 08 54 "
        "2b ce b5 1a 8b a7 10 54 b9 bb ee 46 5f 4c 20 55 a3 6f c1 00 3e 13 02 13 "
        "03 13 01 c0 2c c0 30 00 9f cc a9 cc a8 cc aa c0 2b c0 2f 00 9e c0 24 c0 "
        "28 00 6b c0 23 c0 27 00 67 c0 0a c0 14 00 39 c0 09 c0 13 00 33 00 9d 00 "
        "9c 00 3d 00 3c 00 35 00 2f 00 ff 01 00 00 9e 00 00 00 11 00 0f 00 00 0c "
        "65 78 61 6d 70 6c 65 2e 74 65 73 74 00 0b 00 04 03 00 01 02 00 0a 00 06 "
        "00 04 00 1d 00 17 00 23 00 00 00 16 00 00 00 17 00 00 00 0d 00 2a 00 28 "
        "04 03 05 03 06 03 08 07 08 08 08 09 08 0a 08 0b 08 04 08 05 08 06 04 01 "
        "05 01 06 01 03 03 03 01 03 02 04 02 05 02 06 02 00 2b 00 09 08 03 04 03 "
        "03 03 02 03 01 00 2d 00 02 01 01 00 33 00 26 00 24 00 1d 00 20 c9 be 6e "
        "b7 89 78 df 78 6a a6 92 54 60 8d 8c 41 3c d7 9e be 26 6f 8b b1 0a bf 6e "
        "4c e3 6a b5 5e";

const char sh_hrr[] = /* 84 bytes */
        "03 03 cf 21 ad 74 e5 9a 61 11 be 1d 8c 02 1e 65 b8 91 c2 a2 11 16 7a bb "
        "8c 5e 07 9e 09 e2 c8 a8 33 9c 20 ab 6c 4e d6 ca 4e 29 48 16 ca 01 08 54 "
        "2b ce b5 1a 8b a7 10 54 b9 bb ee 46 5f 4c 20 55 a3 6f c1 13 02 00 00 0c "
        "00 2b 00 02 03 04 00 33 00 02 00 17";

const char ch_tls11[] = /* 123 bytes */
        "03 02 73 2f a7 a2 8c a8 3f d1 e8 47 01 67 64 c4 2d 0e 74 bc b8 d0 8b f3 "
        "06 c0 6a 23 b7 5c d2 9c 33 61 00 00 2e c0 0a c0 14 00 39 00 38 00 88 00 "
        "87 c0 19 00 3a 00 89 c0 09 c0 13 00 33 00 32 00 45 00 44 c0 18 00 34 00 "
        "46 00 35 00 84 00 2f 00 41 00 ff 01 00 00 24 00 0b 00 04 03 00 01 02 00 "
        "0a 00 0c 00 0a 00 1d 00 17 00 1e 00 19 00 18 00 23 00 00 00 16 00 00 00 "
        "17 00 00";

const char sh_tls11[] = /* 65 bytes */
        "03 02 69 05 14 dc 2c 5b 12 09 1e 61 07 9c 18 57 6e 60 17 10 0a a7 fd 93 "
        "84 ed 44 4f 57 4e 47 52 44 00 00 c0 0a 00 00 19 ff 01 00 01 00 00 0b 00 "
        "04 03 00 01 02 00 23 00 00 00 16 00 00 00 17 00 00";

struct rw_tls_client_hello rw_test_client_hello(const char *hex)
{
	uint8_t buf[1024];
	size_t n = rw_test_hex(hex, buf, sizeof(buf));
	struct rw_tls_client_hello ch;
	assert_int_equal(rw_tls_client_hello_parse(buf, n, &ch), (int)n);
	return ch;
}

struct rw_tls_server_hello rw_test_server_hello(const char *hex)
{
	uint8_t buf[1024];
	size_t n = rw_test_hex(hex, buf, sizeof(buf));
	struct rw_tls_server_hello sh;
	assert_int_equal(rw_tls_server_hello_parse(buf, n, &sh), (int)n);
	return sh;
}
