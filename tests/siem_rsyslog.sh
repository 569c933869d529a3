#!/bin/sh
# SIEM output with a real rsyslog receiver on loopback: see siem_rsyslog.py.
# usage: siem_rsyslog.sh RDPWHY_BINARY   (77 = skipped: rsyslogd missing)
exec python3 "$(dirname "$0")/siem_rsyslog.py" "$@"
