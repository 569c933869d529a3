/* Captures as they are kept: tcpdump -z gzip rotates into .gz files, and
 * archives are often zstd. Such a file is read through a FILE that
 * decompresses on the fly (zlib, libzstd), so libpcap sees a plain capture
 * and nothing is unpacked to disk. */
#ifndef RW_COMPRESSED_H
#define RW_COMPRESSED_H

#include <stddef.h>
#include <stdio.h>

enum rw_compression { RW_COMP_NONE, RW_COMP_GZIP, RW_COMP_ZSTD };

/* Opens path; when it starts with the gzip or zstd magic, returns a FILE
 * that reads the decompressed bytes (*kind says which), else NULL with
 * *kind RW_COMP_NONE and no error (the caller opens it as it is). NULL with
 * err set when it cannot be opened or decompressed. A damaged compressed
 * stream reads as an early end of file after a message in the FILE's error
 * (ferror) that rw_compressed_error returns. */
FILE *rw_compressed_open(const char *path, enum rw_compression *kind, char *err, size_t errlen);
/* Why the decompression stopped early ("" when it did not). */
const char *rw_compressed_error(FILE *fp);
const char *rw_compression_name(enum rw_compression k);

#endif
