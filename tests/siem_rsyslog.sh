#!/bin/sh
# SIEM output with a real rsyslog receiver on loopback: see siem_rsyslog.py.
# usage: siem_rsyslog.sh RDPWHY_BINARY
# (rsyslogd, rsyslog-gnutls or openssl missing fails; 77 = a partial run, SIEM_ONLY)
exec python3 "$(dirname "$0")/siem_rsyslog.py" "$@"
