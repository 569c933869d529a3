/* Inspection: the plaintext an inspecting proxy relays inside TLS (it
 * terminated the client's TLS with the host's own certificate and key).
 * The session feeds it to a per-session decoder, allocated only when
 * inspection is on, that finds the CredSSP TSRequests (errorCode, NTLM
 * message types, SPNEGO/Kerberos KRB-ERROR) and the RDP PDUs after them
 * (Set Error Info, Save Session Info, MCS Disconnect Provider Ultimatum).
 * Pure: no I/O; bounded buffering; never keeps credentials, hashes or
 * tickets (only codes and message types reach the record). */
#ifndef RW_INSPECT_H
#define RW_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rw_types.h"

struct rw_session;

/* Plaintext the inspecting proxy relayed inside TLS, in order, per direction
 * (RW_C2S from the client, RW_S2C from the host). Any chunking; the decoder
 * buffers what it needs (bounded) and never keeps credentials. */
void rw_session_plaintext(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, const uint8_t *p,
                          size_t n);
/* The proxy terminated TLS with the host's key on this connection. */
void rw_session_set_inspected(struct rw_session *s, bool on);

#endif
