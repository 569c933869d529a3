/* What mstsc's disconnect codes mean, and which rdpwhy causes can leave them.
 * Pure data and a lookup: no I/O. `rdpwhy explain 0x904 0x7` prints it. */
#ifndef RW_MSTSC_CODES_H
#define RW_MSTSC_CODES_H

#include <stddef.h>
#include <stdint.h>

#include "rw_types.h"

/* Where a code's name and meaning were read (printed beside the code). */
#define RW_MSTSC_SRC_DISC                                                                          \
	"https://learn.microsoft.com/en-us/windows/win32/termserv/imstscaxevents-ondisconnected"
#define RW_MSTSC_SRC_EXDISC                                                                        \
	"https://learn.microsoft.com/en-us/windows/win32/termserv/extendeddisconnectreasoncode"
#define RW_MSTSC_SRC_ERRINFO                                                                       \
	"https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rdpbcgr/"                \
	"a21a1bd9-2303-49c1-90ec-3932435c248c"

#define RW_MSTSC_MAX_CAUSES 12

/* rdpwhy's reading of a group of codes: what the code says about the wire,
 * the causes that fit, most likely first, and what in rdpwhy tells them apart.
 * No causes means rdpwhy cannot see it (nothing reached the network). */
struct rw_mstsc_reading {
	const char *wire;
	const char *tell;
	size_t n_causes;
	enum rw_cause causes[RW_MSTSC_MAX_CAUSES];
};

/* One documented code. An extended code may have an errorInfo name
 * (MS-RDPBCGR 2.2.5.1.1), an ExtendedDisconnectReasonCode name, or both. */
struct rw_mstsc_code {
	uint32_t code;
	const char *name;     /* disconnect reason or ERRINFO_ name; NULL if none */
	const char *alt_name; /* extended: the exDiscReason name; NULL if none */
	const char *meaning;  /* the documentation's words, shortened */
	const struct rw_mstsc_reading *reading;
};

/* The documented disconnect reason (IMsTscAxEvents::OnDisconnected), or NULL. */
const struct rw_mstsc_code *rw_mstsc_disc_lookup(uint32_t code);
/* The documented extended reason (errorInfo / ExtendedDisconnectReasonCode),
 * or, for an undocumented code in 0x1000..0x7FFF, the protocol-range entry
 * (exDiscReasonProtocolRangeStart: "check the server event log"); else NULL. */
const struct rw_mstsc_code *rw_mstsc_ext_lookup(uint32_t code);
/* The tables, in ascending code order (for listing and tests). */
const struct rw_mstsc_code *rw_mstsc_disc_table(size_t *n);
const struct rw_mstsc_code *rw_mstsc_ext_table(size_t *n);

#endif
