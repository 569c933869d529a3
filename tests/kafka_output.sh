#!/bin/bash
# kafka:// against a real implementation of the Kafka protocol on loopback:
# librdkafka's mock cluster (tests/kafka/mock_broker.c, 3 brokers on
# 127.0.0.1, topic rdpwhy in 3 partitions replicated 3 times), consumed with
# kcat. Checked by tests/kafka/check_records.py: every record arrives, keyed by
# its record id, the value valid JSON equal to `replay --format json`.
#   1. brokers up: every record exactly once;
#   2. brokers down: the records stay spooled (counted) when replay gives up
#      after siem_flush_timeout; brokers up: the next run sends them first;
#   3. brokers down while one replay waits; up again: it delivers them all
#      and exits;
#   4. options librdkafka or the spec parser refuse: a clear message; a
#      broken librdkafka: refused with the library's name (and not loaded
#      at all without a kafka:// output), by proxy --check-config too;
#   5. ssl and sasl_plaintext reach librdkafka (the mock speaks neither:
#      the handshake fails, the warning says why, the record stays spooled);
#   6. a batch refused for its records (MSG_SIZE_TOO_LARGE): set aside in
#      rejected/, the rest delivered; 7. a batch refused for another reason
#      (topic authorization): sent again, nothing lost.
# usage: kafka_output.sh RDPWHY MOCK_BROKER DATA_DIR  (kcat missing: 77)
set -u
bin=$1
mock=$2
data=$3
# shellcheck source=lib/rdpwhy_run.sh
. "$(dirname "$0")/lib/rdpwhy_run.sh"
check="python3 $(dirname "$0")/kafka/check_records.py"
if ! command -v kcat >/dev/null; then
	echo "SKIP: kcat not installed (scripts/setup.sh --test installs it)"
	exit 77
fi
tmp=$(mktemp -d)
mock_pids=()
cleanup() {
	for p in "${mock_pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
caps=("$data"/*.pcap)

# start_mock NAME: a cluster reading commands from $tmp/NAME.in (held open
# on fd mock_fd[NAME]); sets boot[NAME] to its bootstrap servers.
declare -A mock_fd boot
start_mock() {
	local n=$1 fd
	mkfifo "$tmp/$n.in"
	"$mock" 3 rdpwhy 3 <"$tmp/$n.in" >"$tmp/$n.out" 2>"$tmp/$n.err" &
	mock_pids+=($!)
	exec {fd}>"$tmp/$n.in"
	mock_fd[$n]=$fd
	for _ in $(seq 100); do
		[[ -s $tmp/$n.out ]] && break
		sleep 0.1
	done
	boot[$n]=$(head -n 1 "$tmp/$n.out")
	if [[ ! ${boot[$n]} =~ ^127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+)*$ ]]; then
		echo "FAIL mock cluster $n did not start: '${boot[$n]}'"
		cat "$tmp/$n.err"
		exit 1
	fi
}
# mock_cmd NAME down|up: waits for the helper's "ok".
mock_cmd() {
	local n=$1 before
	before=$(grep -c '^ok$' "$tmp/$n.out")
	echo "$2" >&"${mock_fd[$n]}"
	for _ in $(seq 50); do
		(($(grep -c '^ok$' "$tmp/$n.out") > before)) && return 0
		sleep 0.1
	done
	echo "FAIL mock cluster $n: no answer to $2"
	exit 1
}
consume() { # NAME OUT
	timeout 60 kcat -b "${boot[$1]}" -t rdpwhy -C -e -q -f '%k\t%s\n' >"$2" 2>"$2.err" ||
		bad "kcat could not consume from $1: $(tail -n 2 "$2.err")"
}
judge() { # DESC ARGS-for-check_records
	local desc=$1 out
	shift
	if out=$($check "$@"); then ok "$desc: $out"; else bad "$desc: $out"; fi
}

rw_run 0 "$tmp/all.json" "$tmp/all.err" "$bin" replay --format json "${caps[@]}" ||
	exit 1
rw_run 0 "$tmp/one.json" "$tmp/one.err" "$bin" replay --format json "$data/tls_ok.pcap" ||
	exit 1
want=$(wc -l <"$tmp/all.json")
((want > 0)) || { echo "FAIL no records from ${caps[*]}"; exit 1; }

# 1. Brokers up.
start_mock up
if rw_run 0 /dev/null "$tmp/c1.err" "$bin" replay \
	-o "kafka://${boot[up]}/rdpwhy spool_dir=$tmp/spool1" "${caps[@]}"; then
	grep -q "records not delivered yet" "$tmp/c1.err" && bad "brokers up: records left undelivered"
	consume up "$tmp/c1.got"
	judge "brokers up, $want records" --exact "$tmp/c1.got" "$tmp/all.json"
else
	bad "brokers up: replay"
fi

# 2. Brokers down for a whole run; the next run delivers.
start_mock out
mock_cmd out down
if rw_run 0 /dev/null "$tmp/c2.err" "$bin" replay --set siem_flush_timeout=2s \
	-o "kafka://${boot[out]}/rdpwhy spool_dir=$tmp/spool2" "${caps[@]}"; then
	if grep -q "outputs: $want records not delivered yet" "$tmp/c2.err"; then
		ok "brokers down: $want records spooled"
	else
		bad "brokers down: expected '$want records not delivered yet' in: $(cat "$tmp/c2.err")"
	fi
else
	bad "brokers down: replay"
fi
mock_cmd out up
if rw_run 0 /dev/null "$tmp/c2b.err" "$bin" replay --set siem_flush_timeout=60s \
	-o "kafka://${boot[out]}/rdpwhy spool_dir=$tmp/spool2" "$data/tls_ok.pcap"; then
	grep -q "$want records left in the spool" "$tmp/c2b.err" ||
		bad "brokers back: the spool's $want records not announced: $(cat "$tmp/c2b.err")"
	grep -q "records not delivered yet" "$tmp/c2b.err" && bad "brokers back: records left undelivered"
	consume out "$tmp/c2.got"
	judge "brokers back, next run" "$tmp/c2.got" "$tmp/all.json" "$tmp/one.json"
	judge "brokers back, next run's own record" "$tmp/c2.got" "$tmp/one.json" "$tmp/all.json"
else
	bad "brokers back: replay"
fi

# 3. An outage under one running process.
start_mock live
mock_cmd live down
"$bin" replay --set siem_flush_timeout=120s \
	-o "kafka://${boot[live]}/rdpwhy spool_dir=$tmp/spool3" "${caps[@]}" \
	>/dev/null 2>"$tmp/c3.err" &
pid=$!
for _ in $(seq 200); do
	grep -q "brokers are down" "$tmp/c3.err" && break
	sleep 0.1
done
grep -q "brokers are down" "$tmp/c3.err" || bad "live outage: the outage was not logged"
sleep 1
mock_cmd live up
rc=0
for _ in $(seq 600); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	bad "live outage: replay still waiting 60 s after the brokers came back"
	kill "$pid"
fi
wait "$pid" || rc=$?
if rw_check_end "replay through an outage" "$rc" 0 "$tmp/c3.err"; then
	grep -q "records not delivered yet" "$tmp/c3.err" && bad "live outage: records left undelivered"
	consume live "$tmp/c3.got"
	judge "live outage" "$tmp/c3.got" "$tmp/all.json"
else
	bad "live outage: replay"
fi

# 4. Refused options: the message names the problem.
refused() { # WANT-IN-STDERR SPEC
	if rw_run "1|2" /dev/null "$tmp/c4.err" "$bin" replay -o "$2" "$data/tls_ok.pcap" &&
		grep -q -- "$1" "$tmp/c4.err"; then
		ok "refused: $2"
	else
		bad "refused: $2: expected '$1' in: $(cat "$tmp/c4.err")"
	fi
}
refused "sasl_\* options need security_protocol=sasl_ssl" \
	"kafka://${boot[up]}/rdpwhy security_protocol=plaintext sasl_username=u sasl_password=p"
refused "expected kafka://HOST:PORT" "kafka://${boot[up]}"
refused "ssl.ca.location" \
	"kafka://${boot[up]}/rdpwhy ca_file=$tmp/missing.pem spool_dir=$tmp/spool4"

# 4b. librdkafka is loaded when a kafka:// output is made, not at start
# (sink/kafka_lib.h): with a broken copy first on the library path, a replay
# without one runs, and one with a kafka:// output stops, saying which
# library and how to get it, before creating its spool.
mkdir -p "$tmp/badlib"
: >"$tmp/badlib/librdkafka.so.1"
if LD_LIBRARY_PATH=$tmp/badlib rw_run 0 "$tmp/c4b.out" "$tmp/c4b.err" "$bin" replay \
	--format json "$data/tls_ok.pcap" && [[ -s $tmp/c4b.out ]]; then
	ok "no kafka:// output: librdkafka not loaded"
else
	bad "no kafka:// output, broken librdkafka on the path: $(cat "$tmp/c4b.err")"
fi
if LD_LIBRARY_PATH=$tmp/badlib rw_run "1|2" /dev/null "$tmp/c4b.err" "$bin" replay \
	-o "kafka://${boot[up]}/rdpwhy spool_dir=$tmp/spool4b" "$data/tls_ok.pcap" &&
	grep -q "cannot load librdkafka.so.1, which kafka:// outputs need (Debian: apt-get install librdkafka1)" \
		"$tmp/c4b.err" && [[ ! -e $tmp/spool4b ]]; then
	ok "librdkafka broken: a kafka:// output is refused and says why"
else
	bad "librdkafka broken: expected the load error and no spool in: $(cat "$tmp/c4b.err")"
fi
# proxy --check-config says what start would: the library is checked too.
px_check=(proxy --listen 127.0.0.1:1 --upstream 127.0.0.1:2
	--output "kafka://${boot[up]}/rdpwhy spool_dir=$tmp/spool4c" --check-config)
if rw_run 0 "$tmp/c4c.out" "$tmp/c4c.err" "$bin" "${px_check[@]}" &&
	grep -q "configuration ok" "$tmp/c4c.out" &&
	LD_LIBRARY_PATH=$tmp/badlib rw_run 2 /dev/null "$tmp/c4c.err" "$bin" "${px_check[@]}" &&
	grep -q "cannot load librdkafka.so.1" "$tmp/c4c.err"; then
	ok "proxy --check-config: a kafka:// output's library checked (ok, then refused when broken)"
else
	bad "proxy --check-config with a kafka:// output: $(cat "$tmp/c4c.out" "$tmp/c4c.err")"
fi

# 5. TLS and SASL reach librdkafka: the mock cluster speaks neither, so the
# handshake fails, the warning says why, and the record stays spooled.
secured() { # WANT-IN-STDERR (ERE) OPTIONS
	if rw_run 0 /dev/null "$tmp/c5.err" "$bin" replay --set siem_flush_timeout=3s \
		-o "kafka://${boot[up]}/rdpwhy spool_dir=$tmp/spool5_$RANDOM $2" \
		"$data/tls_ok.pcap" && grep -qE -- "$1" "$tmp/c5.err" &&
		grep -q "outputs: 1 records not delivered yet" "$tmp/c5.err"; then
		ok "$2: refused by the plaintext brokers, said why, kept spooled"
	else
		bad "$2: expected '$1' and the record kept in: $(cat "$tmp/c5.err")"
	fi
}
secured "brokers are down \(last: ssl://.*(SSL handshake|SSL_HANDSHAKE)" "security_protocol=ssl"
secured "brokers are down \(last: sasl_plaintext://.*SASL" \
	"security_protocol=sasl_plaintext sasl_username=u sasl_password=p"

# 6. A batch the brokers refuse for its records (MSG_SIZE_TOO_LARGE): those
# go to the spool's rejected/, logged; every other record is delivered.
start_mock errs
mock_cmd errs "produce_error 10 1"
if rw_run 0 /dev/null "$tmp/c6.err" "$bin" replay --set siem_flush_timeout=30s \
	-o "kafka://${boot[errs]}/rdpwhy spool_dir=$tmp/spool6" "${caps[@]}"; then
	consume errs "$tmp/c6.got"
	nrej=$(find "$tmp/spool6/rejected" -type f 2>/dev/null | wc -l)
	ngot=$(cut -f 1 "$tmp/c6.got" | sort -u | wc -l)
	logged=$(grep -c "refuse record .* for itself; moved to" "$tmp/c6.err")
	if ((nrej > 0 && nrej + ngot == want && logged == nrej)); then
		ok "refused batch: $nrej records set aside (logged), $ngot delivered"
	else
		bad "refused batch: $nrej set aside, $logged logged, $ngot delivered, want $want"
	fi
	grep -q "records not delivered yet" "$tmp/c6.err" && bad "refused batch: records left spooled"
else
	bad "refused batch: replay"
fi

# 7. A batch failed for a reason not its records' own (the topic refused):
# sent again from the spool; nothing lost, duplicates allowed.
start_mock retry
mock_cmd retry "produce_error 29 1"
if rw_run 0 /dev/null "$tmp/c7.err" "$bin" replay --set siem_flush_timeout=30s \
	-o "kafka://${boot[retry]}/rdpwhy spool_dir=$tmp/spool7" "${caps[@]}"; then
	grep -q "not delivered: .*; sending again from the spool" "$tmp/c7.err" ||
		bad "failed batch: the failure was not logged: $(cat "$tmp/c7.err")"
	grep -q "records not delivered yet" "$tmp/c7.err" && bad "failed batch: left spooled"
	consume retry "$tmp/c7.got"
	judge "failed batch sent again" "$tmp/c7.got" "$tmp/all.json"
else
	bad "failed batch: replay"
fi

exit $fail
