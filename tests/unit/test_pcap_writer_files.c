/* The proxy's pcap writer as a file maker: file modes, names and name
 * collisions, refused paths and write errors. Split from test_pcap_writer.c. */
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

static void check_mode(mode_t mask)
{
	char *dir = make_tmpdir();
	char err[256];
	mode_t old = umask(mask);
	struct rw_pcapw *w = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
	umask(old);
	assert_non_null(w);
	struct stat st;
	assert_int_equal(stat(rw_pcapw_path(w), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(rw_pcapw_close(w), 0);
	remove_tmpdir(dir);
}

static void test_file_mode(void **state)
{
	(void)state;
	check_mode(0);
	check_mode(022);
	check_mode(0777);
}

static void test_names(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char err[256], want[4096];
	struct rw_pcapw *w = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	snprintf(want, sizeof(want),
	         "%s/rdpwhy-20231114T221320.123456Z-192.0.2.10_50000-198.51.100.7_3389.pcap", dir);
	assert_string_equal(rw_pcapw_path(w), want);
	assert_int_equal(rw_pcapw_close(w), 0);

	/* a whole second, microseconds zero-padded */
	w = rw_pcapw_open(dir, &cli4, &srv4, 1700000000000042ull, err, sizeof(err));
	assert_non_null(w);
	assert_non_null(strstr(rw_pcapw_path(w), "/rdpwhy-20231114T221320.000042Z-192.0.2.10_"));
	assert_int_equal(rw_pcapw_close(w), 0);

	/* IPv4-mapped client, IPv4 server: written (and named) as IPv4 */
	struct rw_endpoint mapped = {
	        .family = AF_INET6,
	        .addr = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 10},
	        .port = 50001};
	w = rw_pcapw_open(dir, &mapped, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	assert_non_null(strstr(rw_pcapw_path(w), "Z-192.0.2.10_50001-198.51.100.7_3389.pcap"));
	char path[4096];
	snprintf(path, sizeof(path), "%s", rw_pcapw_path(w));
	assert_int_equal(rw_pcapw_close(w), 0);
	struct rw_endpoint c4 = cli4;
	c4.port = 50001;
	struct conv c;
	conv_init(&c, &c4, &srv4);
	size_t n;
	struct pkt *v = check_file(path, &c, &n);
	assert_int_equal(n, 3);
	free(v);
	conv_free(&c);

	/* IPv6 client, IPv4 server: the server becomes ::ffff:198.51.100.7 */
	w = rw_pcapw_open(dir, &cli6, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	assert_non_null(
	        strstr(rw_pcapw_path(w), "Z-2001-db8--10_50000---ffff-198.51.100.7_3389.pcap"));
	snprintf(path, sizeof(path), "%s", rw_pcapw_path(w));
	assert_int_equal(rw_pcapw_close(w), 0);
	struct rw_endpoint s6 = {
	        .family = AF_INET6, .addr = {[10] = 0xff, 0xff, 198, 51, 100, 7}, .port = 3389};
	conv_init(&c, &cli6, &s6);
	v = check_file(path, &c, &n);
	assert_int_equal(n, 3);
	free(v);
	conv_free(&c);
	remove_tmpdir(dir);
}

/* Same endpoints, same microsecond: "-1", "-2" ... before ".pcap"; an
 * existing file or symlink is never opened; after 100 names, a clean error. */
static void test_name_collisions(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char err[256], base[1024], name[4096];
	snprintf(base, sizeof(base),
	         "%s/rdpwhy-20231114T221320.123456Z-192.0.2.10_50000-198.51.100.7_3389", dir);
	struct rw_pcapw *w[3];
	for (int i = 0; i < 3; i++) {
		w[i] = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
		assert_non_null(w[i]);
		if (i == 0)
			snprintf(name, sizeof(name), "%s.pcap", base);
		else
			snprintf(name, sizeof(name), "%s-%d.pcap", base, i);
		assert_string_equal(rw_pcapw_path(w[i]), name);
	}
	for (int i = 0; i < 3; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s", rw_pcapw_path(w[i]));
		assert_int_equal(rw_pcapw_close(w[i]), 0);
		struct conv c;
		conv_init(&c, &cli4, &srv4);
		size_t n;
		free(check_file(path, &c, &n));
		assert_int_equal(n, 3);
		conv_free(&c);
	}
	remove_files(dir, "rdpwhy-");

	/* a symlink planted at the name is left alone, and so is its target */
	char target[4096];
	snprintf(target, sizeof(target), "%s/target", dir);
	FILE *f = fopen(target, "w");
	assert_non_null(f);
	fputs("keep", f);
	fclose(f);
	snprintf(name, sizeof(name), "%s.pcap", base);
	assert_int_equal(symlink(target, name), 0);
	struct rw_pcapw *s = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(s);
	snprintf(name, sizeof(name), "%s-1.pcap", base);
	assert_string_equal(rw_pcapw_path(s), name);
	assert_int_equal(rw_pcapw_close(s), 0);
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 4);
	remove_files(dir, "rdpwhy-");

	/* every name taken */
	for (int i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(name, sizeof(name), "%s.pcap", base);
		else
			snprintf(name, sizeof(name), "%s-%d.pcap", base, i);
		int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	err[0] = '\0';
	assert_null(rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err)));
	assert_non_null(strstr(err, "File exists"));
	remove_tmpdir(dir);
}

static void test_errors(void **state)
{
	(void)state;
	char err[512];
	err[0] = '\0';
	assert_null(rw_pcapw_open("/nonexistent/rdpwhy-pcaps", &cli4, &srv4, T0, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/rdpwhy-pcaps/rdpwhy-"));
	assert_non_null(strstr(err, "No such file or directory"));

	char *dir = make_tmpdir();
	char file[4096];
	snprintf(file, sizeof(file), "%s/plain", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	err[0] = '\0';
	assert_null(rw_pcapw_open(file, &cli4, &srv4, T0, err, sizeof(err)));
	assert_non_null(strstr(err, "Not a directory"));

	struct rw_endpoint bad = cli4;
	bad.family = 1;
	err[0] = '\0';
	assert_null(rw_pcapw_open(dir, &bad, &srv4, T0, err, sizeof(err)));
	assert_non_null(strstr(err, "family"));
	assert_null(rw_pcapw_open(NULL, &cli4, &srv4, T0, err, sizeof(err)));
	assert_null(rw_pcapw_open(dir, &cli4, NULL, T0, NULL, 0)); /* no message buffer */

	/* a name too long for the file system's limit */
	char deep[600];
	memset(deep, 'd', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	memcpy(deep, dir, strlen(dir));
	deep[strlen(dir)] = '/';
	assert_null(rw_pcapw_open(deep, &cli4, &srv4, T0, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot create"));

	/* nothing was left behind by the failures */
	remove_files(dir, "plain");
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		assert_true(e->d_name[0] == '.');
	closedir(d);

	struct rw_pcapw *w = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	uint8_t b = 0;
	assert_int_equal(rw_pcapw_data(w, (enum rw_dir)5, T0, &b, 1), -1);
	assert_int_equal(rw_pcapw_fin(w, (enum rw_dir) - 1, T0), -1);
	assert_int_equal(rw_pcapw_data(w, RW_C2S, T0, NULL, 1), -1);
	assert_int_equal(rw_pcapw_data(NULL, RW_C2S, T0, &b, 1), -1);
	assert_int_equal(rw_pcapw_close(w), 0);
	assert_int_equal(rw_pcapw_close(NULL), 0);
	assert_null(rw_pcapw_path(NULL));
	remove_tmpdir(dir);
}

/* A full disk, simulated with RLIMIT_FSIZE: the failing call returns -1
 * (EFBIG), every later one too, and close reports it. */
static void test_write_error(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
	char err[256];
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
	struct rw_pcapw *w = rw_pcapw_open(dir, &cli4, &srv4, T0, err, sizeof(err));
	assert_non_null(w);
	lim = old;
	lim.rlim_cur = 64 * 1024;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	uint8_t *p = pattern(10000, 7);
	int rc = 0, i;
	for (i = 0; i < 40 && rc == 0; i++)
		rc = rw_pcapw_data(w, RW_C2S, T0 + (uint64_t)i, p, 10000);
	int e = errno;
	assert_int_equal(rc, -1);
	assert_int_equal(e, EFBIG);
	assert_true(i > 1);
	errno = 0;
	assert_int_equal(rw_pcapw_data(w, RW_S2C, T0 + 100, p, 10), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(rw_pcapw_fin(w, RW_C2S, T0 + 100), -1);
	assert_int_equal(rw_pcapw_close(w), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	free(p);
	remove_tmpdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_file_mode),       cmocka_unit_test(test_names),
	        cmocka_unit_test(test_name_collisions), cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_write_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
