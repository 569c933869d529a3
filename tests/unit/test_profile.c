/* probe/profile.c: every key, every error message (NAME:LINE), the suite
 * table against OpenSSL's names, the directory loader, and the shipped
 * profiles in conf/profiles/. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <openssl/ssl.h>

#include "profile.h"
#include "x224.h"

/* CMake gives the absolute tests/data directory; a direct build runs from the
 * repository root. */
#ifdef RW_TEST_DATA
#define REPO_DIR RW_TEST_DATA "/../.."
#else
#define REPO_DIR "."
#endif
#define PROFILES_DIR REPO_DIR "/conf/profiles"

static struct rw_profile pr;
static char err[512];

/* The smallest valid profile; tests append or replace lines. */
#define BASE                                                                                       \
	"name = \"Test client\"\n"                                                                 \
	"source = \"https://example.org/doc\"\n"                                                   \
	"requested_protocols = ssl, hybrid\n"                                                      \
	"tls_versions = 1.2\n"                                                                     \
	"suites = TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"

static int parse(const char *text)
{
	err[0] = 0;
	return rw_profile_parse("t", text, strlen(text), &pr, err, sizeof(err));
}

static void expect_ok(const char *text)
{
	if (parse(text) != 0)
		fail_msg("should parse: %s\n---\n%s", err, text);
}

static void expect_err(const char *text, const char *msg)
{
	if (parse(text) == 0)
		fail_msg("should fail with: %s\n---\n%s", msg, text);
	assert_string_equal(err, msg);
}

static void test_minimal(void **state)
{
	(void)state;
	expect_ok(BASE);
	assert_string_equal(pr.id, "t");
	assert_string_equal(pr.name, "Test client");
	assert_string_equal(pr.source, "https://example.org/doc");
	assert_int_equal(pr.requested_protocols, RW_PROTO_SSL | RW_PROTO_HYBRID);
	assert_int_equal(pr.n_tls_versions, 1);
	assert_int_equal(pr.tls_versions[0], 0x0303);
	assert_int_equal(pr.n_suites, 1);
	assert_int_equal(pr.suites[0], 0xC02F);
	assert_string_equal(pr.groups, "");
	assert_string_equal(pr.sigalgs, "");
	assert_false(pr.kerberos);
	assert_int_equal(pr.cert_policy, RW_CERT_PROMPT);
}

static void test_syntax(void **state)
{
	(void)state;
	/* comments, blank lines, CRLF, tabs, a BOM, quoted values with escapes */
	expect_ok("\xef\xbb\xbf# a profile\r\n"
	          "\r\n"
	          "\tname\t=\t\"A \\\"quoted\\\" \\\\ name\"  # comment\r\n"
	          "source = a#b   # the '#' after a space starts a comment\n"
	          "requested_protocols = ssl\n"
	          "tls_versions = 1.3\n"
	          "suites = TLS_AES_128_GCM_SHA256");
	assert_string_equal(pr.name, "A \"quoted\" \\ name");
	assert_string_equal(pr.source, "a#b");
	expect_err(BASE "name\n", "t:6: missing '=' after 'name' (lines are key = value)");
	expect_err(BASE " = x\n", "t:6: missing key before '='");
	expect_err(BASE "groups = \"X25519\n", "t:6: groups: missing closing quote");
	expect_err(BASE "groups = \"X25519\\\n", "t:6: groups: missing closing quote");
	expect_err(BASE "groups = \"a\\nb\"\n",
	           "t:6: groups: unknown escape '\\n' in quoted value (only \\\" and \\\\)");
	expect_err(BASE "groups = \"X25519\" x\n", "t:6: groups: text after the closing quote");
	expect_err(BASE "colour = blue\n",
	           "t:6: unknown key 'colour' (keys: name, source, requested_protocols, "
	           "tls_versions, suites, groups, sigalgs, kerberos, cert_policy)");
	expect_err(BASE "groups = a\x01z\n", "t:6: control character 0x01 in line");
	char nul[] = BASE "# x\0y\n";
	err[0] = 0;
	assert_int_equal(rw_profile_parse("t", nul, sizeof(nul) - 1, &pr, err, sizeof(err)), -1);
	assert_string_equal(err, "t:6: NUL byte in line");
	char *long_line = malloc(5000);
	assert_non_null(long_line);
	memset(long_line, '#', 4097);
	strcpy(long_line + 4097, "\n" BASE);
	expect_err(long_line, "t:1: line too long (max 4096 characters)");
	memset(long_line, '#', 4096);
	strcpy(long_line + 4096, "\r\n" BASE);
	expect_ok(long_line);
	free(long_line);
}

static void test_name_and_source(void **state)
{
	(void)state;
	expect_err(BASE "name = x\n", "t:6: name: already set on line 1");
	expect_err("name = \"\"\n", "t:1: name: empty");
	char text[512];
	snprintf(text, sizeof(text), "name = %0*d\n", 96, 0);
	expect_err(text, "t:1: name: '0000000000000000000000000000000000000000000000000000000000"
	                 "00...' is too long (max 95 characters)");
	expect_ok(BASE "source = MS-RDPBCGR 2.2.1.1.1\nsource = \"FreeRDP nego.c\"\n");
	assert_string_equal(pr.source,
	                    "https://example.org/doc; MS-RDPBCGR 2.2.1.1.1; FreeRDP nego.c");
	expect_err(BASE "source = \"\"\n", "t:6: source: empty (name a URL or a document)");
	/* 1023 characters in all fit, 1024 do not */
	char *big = malloc(4096);
	assert_non_null(big);
	int n = snprintf(big, 4096, "%s", BASE);
	n += snprintf(big + n, (size_t)(4096 - n), "source = %0*d\n",
	              1023 - (int)strlen("https://example.org/doc; "), 0);
	expect_ok(big);
	assert_int_equal(strlen(pr.source), 1023);
	snprintf(big + n, (size_t)(4096 - n), "source = x\n");
	expect_err(big, "t:7: source: too long (max 1023 characters for all source lines "
	                "together)");
	free(big);
}

static void test_protocols(void **state)
{
	(void)state;
	const struct {
		const char *v;
		uint32_t bits;
	} ok[] = {
	        {"rdp", RW_PROTO_RDP},
	        {"ssl", RW_PROTO_SSL},
	        {"ssl,hybrid,hybrid_ex", 0xB},
	        {"  hybrid ,ssl  hybrid_ex", 0xB},
	        {"rdstls", RW_PROTO_RDSTLS},
	        {"ssl, hybrid, rdsaad", RW_PROTO_SSL | RW_PROTO_HYBRID | RW_PROTO_RDSAAD},
	};
	char text[512];
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "%srequested_protocols = %s\n",
		         "name = n\nsource = s\ntls_versions = 1.2\nsuites = 0xC02F\n", ok[i].v);
		expect_ok(text);
		assert_int_equal(pr.requested_protocols, ok[i].bits);
	}
	const char *head = "name = n\nsource = s\ntls_versions = 1.2\nsuites = 0xC02F\n";
	const struct {
		const char *v, *msg;
	} bad[] = {
	        {"ssl, tls",
	         "t:5: requested_protocols: unknown protocol 'tls' (use rdp, ssl, hybrid, "
	         "hybrid_ex, rdstls, rdsaad)"},
	        {"ssl, ssl", "t:5: requested_protocols: 'ssl' listed twice"},
	        {"rdp, rdp", "t:5: requested_protocols: 'rdp' listed twice"},
	        {"\"\"", "t:5: requested_protocols: empty (e.g. ssl, hybrid, hybrid_ex)"},
	        {"ssl,,hybrid", "t:5: requested_protocols: empty item in 'ssl,,hybrid'"},
	        {"ssl,", "t:5: requested_protocols: empty item in 'ssl,'"},
	        {"rdp, ssl",
	         "t:5: requested_protocols: 'rdp' is the value 0 (Standard RDP Security only) "
	         "and cannot be combined with other protocols"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%srequested_protocols = %s\n", head, bad[i].v);
		expect_err(text, bad[i].msg);
	}
	expect_err(BASE "requested_protocols = ssl\n",
	           "t:6: requested_protocols: already set on line 3");
}

static void test_versions(void **state)
{
	(void)state;
	const char *head = "name = n\nsource = s\nrequested_protocols = ssl\nsuites = 0xC02F\n";
	char text[512];
	snprintf(text, sizeof(text), "%stls_versions = 1.3, 1.0 1.2,1.1\n", head);
	expect_ok(text);
	assert_int_equal(pr.n_tls_versions, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pr.tls_versions[i], 0x0301 + i);
	const struct {
		const char *v, *msg;
	} bad[] = {
	        {"1.2, 1.4", "t:5: tls_versions: unknown version '1.4' (use 1.0, 1.1, 1.2, 1.3)"},
	        {"TLSv1.2",
	         "t:5: tls_versions: unknown version 'TLSv1.2' (use 1.0, 1.1, 1.2, 1.3)"},
	        {"1.2 1.2", "t:5: tls_versions: '1.2' listed twice"},
	        {"\"\"", "t:5: tls_versions: empty (e.g. 1.2, 1.3)"},
	        {"1.2,,1.3", "t:5: tls_versions: empty item in '1.2,,1.3'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%stls_versions = %s\n", head, bad[i].v);
		expect_err(text, bad[i].msg);
	}
}

static void test_suites(void **state)
{
	(void)state;
	expect_ok(BASE "suites = TLS_AES_256_GCM_SHA384, 0x009c 0XC030\n"
	               "suites = TLS_RSA_WITH_RC4_128_MD5,TLS_DHE_DSS_WITH_AES_256_CBC_SHA\n"
	               "suites = 0x1234\n");
	const uint16_t want[] = {0xC02F, 0x1302, 0x009C, 0xC030, 0x0004, 0x0038, 0x1234};
	assert_int_equal(pr.n_suites, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < pr.n_suites; i++)
		assert_int_equal(pr.suites[i], want[i]);
	expect_err(BASE "suites = TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA512\n",
	           "t:6: suites: unknown cipher suite 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA512' (use "
	           "its IANA name, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, or its code point, "
	           "e.g. 0xC02F)");
	expect_err(BASE "suites = ECDHE-RSA-AES128-GCM-SHA256\n",
	           "t:6: suites: unknown cipher suite 'ECDHE-RSA-AES128-GCM-SHA256' (use its IANA "
	           "name, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, or its code point, e.g. "
	           "0xC02F)");
	expect_err(BASE "suites = 0xC02\n",
	           "t:6: suites: '0xC02' is not a code point (use 4 hex digits, e.g. 0xC02F)");
	expect_err(BASE "suites = 0xC02G\n",
	           "t:6: suites: '0xC02G' is not a code point (use 4 hex digits, e.g. 0xC02F)");
	expect_err(BASE "suites = 0x00FF\n",
	           "t:6: suites: 0x00FF is a signalling value, not a cipher suite (OpenSSL adds "
	           "it itself)");
	expect_err(BASE "suites = 0x5600\n",
	           "t:6: suites: 0x5600 is a signalling value, not a cipher suite (OpenSSL adds "
	           "it itself)");
	expect_err(BASE "suites = 0xc02f\n",
	           "t:6: suites: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (0xC02F) listed twice");
	expect_err(BASE "suites = 0x1234 0x1234\n", "t:6: suites: 0x1234 listed twice");
	expect_err(BASE "suites = \"\"\n", "t:6: suites: empty line (name at least one suite)");
	expect_err(BASE "suites = 0x0001,,0x0002\n", "t:6: suites: empty item in '0x0001,,0x0002'");
	/* RW_PROFILE_MAX_SUITES fit, one more does not */
	char *text = malloc(16384);
	assert_non_null(text);
	int n = snprintf(text, 16384, "%s", BASE);
	for (int i = 1; i < RW_PROFILE_MAX_SUITES; i++)
		n += snprintf(text + n, (size_t)(16384 - n), "suites = 0x%04X\n", 0x2000 + i);
	expect_ok(text);
	assert_int_equal(pr.n_suites, RW_PROFILE_MAX_SUITES);
	snprintf(text + n, (size_t)(16384 - n), "suites = 0x3000\n");
	expect_err(text, "t:101: suites: too many (max 96)");
	free(text);
}

static void test_groups_sigalgs(void **state)
{
	(void)state;
	expect_ok(BASE "groups = X25519:P-256:secp384r1:ffdhe2048\n"
	               "sigalgs = RSA+SHA256:ECDSA+SHA384:rsa_pss_rsae_sha256:ed25519\n");
	assert_string_equal(pr.groups, "X25519:P-256:secp384r1:ffdhe2048");
	assert_string_equal(pr.sigalgs, "RSA+SHA256:ECDSA+SHA384:rsa_pss_rsae_sha256:ed25519");
	expect_ok(BASE "groups = \"\"\nsigalgs = \"\"\n");
	assert_string_equal(pr.groups, "");
	expect_err(BASE "groups = X25519,P-256\n",
	           "t:6: groups: bad character ',' in 'X25519,P-256' (an OpenSSL list: names "
	           "joined by ':')");
	expect_err(BASE "groups = \"X25519 P-256\"\n",
	           "t:6: groups: bad character '?' in 'X25519 P-256' (an OpenSSL list: names "
	           "joined by ':')");
	expect_err(BASE "groups = RSA+SHA256\n",
	           "t:6: groups: bad character '+' in 'RSA+SHA256' (an OpenSSL list: names joined "
	           "by ':')");
	expect_err(BASE "sigalgs = RSA+SHA256;x\n",
	           "t:6: sigalgs: bad character ';' in 'RSA+SHA256;x' (an OpenSSL list: names "
	           "joined by ':')");
	expect_err(BASE "groups = X25519::P-256\n", "t:6: groups: empty item in 'X25519::P-256'");
	expect_err(BASE "sigalgs = :RSA+SHA256\n", "t:6: sigalgs: empty item in ':RSA+SHA256'");
	char text[1024];
	snprintf(text, sizeof(text), BASE "groups = %0*d\n", 256, 0);
	expect_err(text,
	           "t:6: groups: '000000000000000000000000000000000000000000000000000000000000"
	           "...' is too long (max 255 characters)");
	snprintf(text, sizeof(text), BASE "groups = %0*d\n", 255, 0);
	expect_ok(text);
	expect_err(BASE "groups = X25519\ngroups = P-256\n", "t:7: groups: already set on line 6");
}

static void test_kerberos_cert_policy(void **state)
{
	(void)state;
	expect_ok(BASE "kerberos = yes\ncert_policy = refuse\n");
	assert_true(pr.kerberos);
	assert_int_equal(pr.cert_policy, RW_CERT_REFUSE);
	expect_ok(BASE "kerberos = off\ncert_policy = prompt\n");
	assert_false(pr.kerberos);
	assert_int_equal(pr.cert_policy, RW_CERT_PROMPT);
	expect_err(BASE "kerberos = maybe\n", "t:6: kerberos: expected yes or no, not 'maybe'");
	expect_err(BASE "cert_policy = ignore\n",
	           "t:6: cert_policy: expected prompt or refuse, not 'ignore'");
	expect_err(BASE "kerberos = no\nkerberos = no\n", "t:7: kerberos: already set on line 6");
}

static void test_missing(void **state)
{
	(void)state;
	expect_err("",
	           "t: missing key 'name' (the client's name, e.g. name = \"Windows 11 mstsc\")");
	expect_err("name = n\n", "t: missing key 'source' (where the values come from: a URL or a "
	                         "document)");
	expect_err("name = n\nsource = s\n",
	           "t: missing key 'requested_protocols' (the RDP_NEG_REQ protocols, e.g. ssl, "
	           "hybrid, hybrid_ex)");
	expect_err("name = n\nsource = s\nrequested_protocols = ssl\n",
	           "t: missing key 'tls_versions' (the TLS versions offered, e.g. 1.2, 1.3)");
	expect_err("name = n\nsource = s\nrequested_protocols = ssl\ntls_versions = 1.2\n",
	           "t: missing key 'suites' (the cipher suites offered, in order)");
	/* the id */
	err[0] = 0;
	assert_int_equal(rw_profile_parse("", BASE, strlen(BASE), &pr, err, sizeof(err)), -1);
	assert_string_equal(err, ": the profile id '' must have 1 to 39 characters");
	err[0] = 0;
	const char *long_id = "a_profile_id_of_forty_characters_or_more";
	assert_int_equal(rw_profile_parse(long_id, BASE, strlen(BASE), &pr, err, sizeof(err)), -1);
	assert_string_equal(err, "a_profile_id_of_forty_characters_or_more: the profile id "
	                         "'a_profile_id_of_forty_characters_or_more' must have 1 to 39 "
	                         "characters");
	/* a short error buffer gets a cut, terminated message */
	char small[8];
	assert_int_equal(rw_profile_parse("t", "x", 1, &pr, small, sizeof(small)), -1);
	assert_string_equal(small, "t:1: mi");
}

/* Every name in the table is OpenSSL's standard (IANA) name for its code
 * point, wherever this OpenSSL knows the suite. */
static void test_suite_table(void **state)
{
	(void)state;
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());
	assert_non_null(ctx);
	SSL *ssl = SSL_new(ctx);
	assert_non_null(ssl);
	size_t i = 0, known = 0;
	uint16_t code;
	const char *name;
	while ((name = rw_profile_suite_at(i++, &code)) != NULL) {
		uint16_t back;
		assert_int_equal(rw_profile_suite_code(name, &back), 0);
		assert_int_equal(back, code);
		assert_string_equal(rw_profile_suite_name(code), name);
		unsigned char id[2] = {(unsigned char)(code >> 8), (unsigned char)code};
		const SSL_CIPHER *c = SSL_CIPHER_find(ssl, id);
		if (c) {
			known++;
			assert_int_equal(SSL_CIPHER_get_protocol_id(c), code);
			if (strcmp(SSL_CIPHER_standard_name(c), name))
				fail_msg("0x%04X: table says %s, OpenSSL %s", code, name,
				         SSL_CIPHER_standard_name(c));
		}
	}
	assert_true(known >= 40);
	assert_null(rw_profile_suite_name(0x1234));
	assert_int_equal(rw_profile_suite_code("TLS_NOPE", &code), -1);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

/* ---- the loader --------------------------------------------------------------- */

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void rm_file(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
}

static void test_load(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/rw_test_profile.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	struct rw_profile *ps = NULL;
	size_t n = 99;
	char msg[512];

	assert_int_equal(rw_profiles_load(tmpdir, &ps, &n, msg, sizeof(msg)), -1);
	char want[512];
	snprintf(want, sizeof(want), "%s: no profile (*.conf) in the directory", tmpdir);
	assert_string_equal(msg, want);

	write_file("b_second.conf", BASE);
	write_file("a_first.conf", "name = \"First\"\nsource = s\nrequested_protocols = rdp\n"
	                           "tls_versions = 1.0\nsuites = 0x002F\n");
	write_file("README.md", "not a profile");
	write_file(".hidden.conf", "not a profile either");
	write_file("c.conf.orig", "nor this");
	assert_int_equal(rw_profiles_load(tmpdir, &ps, &n, msg, sizeof(msg)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ps[0].id, "a_first");
	assert_string_equal(ps[0].name, "First");
	assert_string_equal(ps[1].id, "b_second");
	assert_string_equal(ps[1].name, "Test client");
	free(ps);

	/* a bad profile stops the load with its path and line */
	write_file("c_bad.conf", BASE "kerberos = perhaps\n");
	assert_int_equal(rw_profiles_load(tmpdir, &ps, &n, msg, sizeof(msg)), -1);
	assert_null(ps);
	assert_int_equal(n, 0);
	snprintf(want, sizeof(want), "%s/c_bad.conf:6: kerberos: expected yes or no, not 'perhaps'",
	         tmpdir);
	assert_string_equal(msg, want);
	rm_file("c_bad.conf");

	write_file("c_nosuites.conf", "name = x\nsource = s\nrequested_protocols = ssl\n"
	                              "tls_versions = 1.2\n");
	assert_int_equal(rw_profiles_load(tmpdir, &ps, &n, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want),
	         "%s/c_nosuites.conf: missing key 'suites' (the cipher suites offered, in order)",
	         tmpdir);
	assert_string_equal(msg, want);
	rm_file("c_nosuites.conf");

	/* two profiles with one name */
	write_file("c_same.conf", BASE);
	assert_int_equal(rw_profiles_load(tmpdir, &ps, &n, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want),
	         "%s/c_same.conf: name 'Test client' is already the name of profile b_second",
	         tmpdir);
	assert_string_equal(msg, want);
	rm_file("c_same.conf");

	/* the size cap: 64 KiB of comments is accepted, one byte more is not */
	char *big = malloc(70000);
	assert_non_null(big);
	size_t base_len = strlen(BASE);
	memcpy(big, BASE, base_len);
	for (size_t i = base_len; i < 65536; i++)
		big[i] = (i - base_len) % 100 == 99 ? '\n' : '#';
	big[65535] = '\n';
	big[65536] = 0;
	/* its name must differ from b_second's */
	memcpy(big, "name = \"Big\"        ", 20);
	big[19] = '\n';
	write_file("d_big.conf", big);
	assert_int_equal(rw_profiles_load(tmpdir, &ps, &n, msg, sizeof(msg)), 0);
	assert_int_equal(n, 3);
	free(ps);
	big[65536] = '\n';
	big[65537] = 0;
	write_file("d_big.conf", big);
	assert_int_equal(rw_profiles_load(tmpdir, &ps, &n, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want), "%s/d_big.conf: too large (65537 bytes, max 65536)", tmpdir);
	assert_string_equal(msg, want);
	rm_file("d_big.conf");
	free(big);

	/* a directory named *.conf, an unreadable file */
	char path[256];
	snprintf(path, sizeof(path), "%s/e_dir.conf", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(rw_profiles_load(tmpdir, &ps, &n, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want), "%s/e_dir.conf: not a regular file", tmpdir);
	assert_string_equal(msg, want);
	rmdir(path);
	if (geteuid() != 0) {
		write_file("f_secret.conf", BASE);
		snprintf(path, sizeof(path), "%s/f_secret.conf", tmpdir);
		chmod(path, 0);
		assert_int_equal(rw_profiles_load(tmpdir, &ps, &n, msg, sizeof(msg)), -1);
		snprintf(want, sizeof(want), "%s/f_secret.conf: cannot open: Permission denied",
		         tmpdir);
		assert_string_equal(msg, want);
		rm_file("f_secret.conf");
	}

	rm_file("a_first.conf");
	rm_file("b_second.conf");
	rm_file("README.md");
	rm_file(".hidden.conf");
	rm_file("c.conf.orig");
	assert_int_equal(rmdir(tmpdir), 0);

	assert_int_equal(rw_profiles_load("/nonexistent/rdpwhy", &ps, &n, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "/nonexistent/rdpwhy: cannot open the profile directory: No such "
	                         "file or directory");
}

/* ---- the shipped profiles ---------------------------------------------------- */

static const struct rw_profile *find(const struct rw_profile *ps, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ps[i].id, id))
			return &ps[i];
	fail_msg("profile %s missing from conf/profiles", id);
	return NULL;
}

static void test_shipped(void **state)
{
	(void)state;
	struct rw_profile *ps = NULL;
	size_t n = 0;
	char msg[512];
	if (rw_profiles_load(PROFILES_DIR, &ps, &n, msg, sizeof(msg)) != 0)
		fail_msg("%s", msg);
	static const char *const required[] = {"windows11_mstsc", "windows10_mstsc",
	                                       "windows2012r2_mstsc", "freerdp2", "freerdp3"};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		(void)find(ps, n, required[i]);
	for (size_t i = 0; i < n; i++) {
		const struct rw_profile *p = &ps[i];
		assert_true(p->name[0] != 0);
		assert_true(strlen(p->source) > 20);
		assert_true(p->n_suites >= 1);
		assert_true(p->n_tls_versions >= 1);
		/* every shipped suite has a name: the probe's report prints it */
		for (size_t k = 0; k < p->n_suites; k++)
			if (!rw_profile_suite_name(p->suites[k]))
				fail_msg("%s: suite 0x%04X has no name", p->id, p->suites[k]);
		/* TLS 1.3 suites only with TLS 1.3, and TLS 1.3 with its suites */
		bool tls13 = p->tls_versions[p->n_tls_versions - 1] == 0x0304, s13 = false,
		     s12 = false;
		for (size_t k = 0; k < p->n_suites; k++) {
			if ((p->suites[k] >> 8) == 0x13)
				s13 = true;
			else
				s12 = true;
		}
		assert_int_equal(tls13, s13);
		assert_true(s12 || p->tls_versions[0] == 0x0304);
	}
	/* the facts the profiles' sources give */
	const struct rw_profile *w11 = find(ps, n, "windows11_mstsc");
	assert_int_equal(w11->requested_protocols, 0xB);
	assert_int_equal(w11->n_tls_versions, 4);
	assert_int_equal(w11->suites[0], 0x1302);
	assert_true(w11->kerberos);
	const struct rw_profile *w10 = find(ps, n, "windows10_mstsc");
	assert_int_equal(w10->tls_versions[w10->n_tls_versions - 1], 0x0303);
	const struct rw_profile *w12 = find(ps, n, "windows2012r2_mstsc");
	assert_int_equal(w12->suites[0], 0xC028);
	for (size_t k = 0; k < w12->n_suites; k++)
		assert_true(w12->suites[k] != 0xC02F && w12->suites[k] != 0xC030);
	const struct rw_profile *f3 = find(ps, n, "freerdp3");
	assert_int_equal(f3->requested_protocols, RW_PROTO_SSL | RW_PROTO_HYBRID);
	assert_int_equal(f3->tls_versions[0], 0x0303);
	free(ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_minimal),
	        cmocka_unit_test(test_syntax),
	        cmocka_unit_test(test_name_and_source),
	        cmocka_unit_test(test_protocols),
	        cmocka_unit_test(test_versions),
	        cmocka_unit_test(test_suites),
	        cmocka_unit_test(test_groups_sigalgs),
	        cmocka_unit_test(test_kerberos_cert_policy),
	        cmocka_unit_test(test_missing),
	        cmocka_unit_test(test_suite_table),
	        cmocka_unit_test(test_load),
	        cmocka_unit_test(test_shipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
