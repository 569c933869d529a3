#!/bin/sh
# replay/capture outputs, per-output options, SIGHUP, a stuck output: see
# siem_outputs.py. usage: siem_outputs.sh RDPWHY_BINARY
# (rsyslogd missing fails; 77 = a partial run, SIEM_ONLY=NAME)
exec python3 "$(dirname "$0")/siem_outputs.py" "$@"
