# shellcheck shell=bash
# rdp_peers.sh — the real peers' setup shared by the scripts that run xrdp,
# xfreerdp or openssl s_server (sourced, not run): tests/lab/lib.sh,
# tests/proxy/rdp_e2e.sh, tests/proxy_tls_test.sh, tests/captures/make_captures.sh,
# tests/probe/probe_xrdp.sh, tests/probe/probe_nla.sh.
# The functions never exit: they return non-zero on failure (after writing
# what went wrong to stderr or to the given log) and the caller dies its own way.
#
#   rp_ca DIR NAME CN          a CA for rp_cert --ca: DIR/NAME.pem, DIR/NAME.key
#                              (RSA 2048, SHA-256, self-signed, 10 years, subject CN,
#                              basicConstraints critical CA:TRUE, keyUsage keyCertSign,
#                              cRLSign).
#   rp_cert DIR NAME CN SAN [--expired] [--ca CA]
#                              DIR/NAME.pem and NAME.key (RSA 2048, SHA-256, subject CN,
#                              subjectAltName SAN, e.g. IP:127.0.0.1) and NAME.sha256 (SHA-256
#                              of the DER certificate, lower-case hex, no colons); mode 644.
#                              Self-signed (issuer = subject), or signed by DIR/CA.pem and
#                              DIR/CA.key with --ca CA. Valid 2025-01-01 to 2045-12-31;
#                              --expired: 2020-01-01 to 2021-01-01 (openssl 3.0 `req` cannot
#                              set dates, `ca` can). Scratch files in DIR/ca-NAME/.
#   rp_xrdp_ini OUT KEY=VALUE...
#                              an xrdp.ini for `xrdp --nodaemon --config OUT`: [Globals],
#                              [Logging], [LoggingPerLogger] and [Channels] of the stock
#                              /etc/xrdp/xrdp.ini with these keys, and a single session section
#                              [dead-session] (libvnc to a closed port, so that a logon fails
#                              fast and no xrdp-sesman is needed). Keys (default):
#                              listen (required: ADDR:PORT, or :PORT for every address),
#                              certificate, key_file (required), security_layer (tls),
#                              crypt_level (high), ssl_protocols ("TLSv1.2, TLSv1.3"),
#                              tls_ciphers (HIGH), log (the directory of OUT/xrdp.log),
#                              dead_ip (127.0.0.1), dead_port (required: nothing may listen
#                              there). fork=false, LogLevel=DEBUG, no syslog, no console.
#   rp_xrdp_keys               xrdp 0.9 reads /etc/xrdp/rsakeys.ini (compiled-in path; the
#                              RDP standard-security keys) even with security_layer=tls; the
#                              package's postinst normally creates it: xrdp-keygen xrdp auto
#                              when it is missing or empty (its output on stderr).
#   rp_xvfb_start FIRST LAST LOG [PREFIX...]
#                              Xvfb on the first free display number in FIRST..LAST (no
#                              /tmp/.XN-lock nor /tmp/.X11-unix/XN), -nolisten tcp, screen
#                              1024x768x24, started as PREFIX... Xvfb (e.g. ip netns exec NS)
#                              in the background with its output in LOG; waits up to 5 s for
#                              its socket. Sets RP_DISPLAY (the number, also on failure once
#                              chosen) and RP_XVFB_PID (the caller stops it).
#   rp_sslscan DIR HOST:PORT   sslscan --rdp (no groups, heartbleed, renegotiation,
#                              compression or fallback checks) into DIR/sslscan.xml, its
#                              output in DIR/sslscan.out; a second try when it fails or its
#                              XML does not parse (sslscan 2.0 now and then dies without a
#                              word: once in a CI run with cases in parallel), the first
#                              failure said on stderr. Non-zero when both failed.

rp_ca() { # DIR NAME CN
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout "$1/$2.key" -out "$1/$2.pem" \
        -subj "/CN=$3" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || { echo "rp_ca $2 failed" >&2; return 1; }
}

rp_cert() { # DIR NAME CN SAN [--expired] [--ca CA]
    local dir=$1 name=$2 cn=$3 san=$4 ca="" start=20250101000000Z end=20451231000000Z
    shift 4
    while (($#)); do
        case $1 in
        --expired) start=20200101000000Z end=20210101000000Z; shift ;;
        --ca) ca=$2; shift 2 ;;
        *) echo "rp_cert: unknown option $1" >&2; return 1 ;;
        esac
    done
    (
        cd "$dir" || exit 1
        mkdir -p "ca-$name"
        : >"ca-$name/index.txt"
        echo 01 >"ca-$name/serial"
        cat >"ca-$name/ca.cnf" <<EOF
[ ca ]
default_ca = rp
[ rp ]
database = ./ca-$name/index.txt
serial = ./ca-$name/serial
new_certs_dir = ./ca-$name
default_md = sha256
policy = pol
copy_extensions = copy
unique_subject = no
[ pol ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = $cn
EOF
        openssl req -new -newkey rsa:2048 -nodes -keyout "$name.key" -out "ca-$name/req.csr" \
            -config "ca-$name/ca.cnf" -addext "subjectAltName=$san" 2>/dev/null || exit 1
        if [[ -z $ca ]]; then
            openssl ca -batch -config "ca-$name/ca.cnf" -selfsign -keyfile "$name.key" -in "ca-$name/req.csr" \
                -out "$name.pem" -startdate "$start" -enddate "$end" -notext 2>/dev/null || exit 1
        else
            openssl ca -batch -config "ca-$name/ca.cnf" -cert "$ca.pem" -keyfile "$ca.key" -in "ca-$name/req.csr" \
                -out "$name.pem" -startdate "$start" -enddate "$end" -notext 2>/dev/null || exit 1
        fi
        openssl x509 -in "$name.pem" -outform DER | sha256sum | cut -d' ' -f1 >"$name.sha256"
        chmod 644 "$name.pem" "$name.key"
    ) || { echo "rp_cert $name failed" >&2; return 1; }
}

rp_xrdp_ini() { # OUT KEY=VALUE...
    local out=$1 kv
    shift
    local -A o=([listen]="" [certificate]="" [key_file]="" [security_layer]=tls [crypt_level]=high
        [ssl_protocols]="TLSv1.2, TLSv1.3" [tls_ciphers]=HIGH [log]="$(dirname "$out")/xrdp.log"
        [dead_ip]=127.0.0.1 [dead_port]="")
    for kv in "$@"; do
        [[ $kv == *=* && -v o[${kv%%=*}] ]] || { echo "rp_xrdp_ini: not a KEY=VALUE it knows: $kv" >&2; return 1; }
        o[${kv%%=*}]=${kv#*=}
    done
    for kv in listen certificate key_file dead_port; do
        [[ -n ${o[$kv]} ]] || { echo "rp_xrdp_ini: $kv= is required" >&2; return 1; }
    done
    awk '/^\[Xorg\]/ { exit } { print }' /etc/xrdp/xrdp.ini |
        sed -E '/^#?(fork|port|security_layer|crypt_level|certificate|key_file|ssl_protocols|tls_ciphers|autorun|LogFile|LogLevel|EnableSyslog|EnableConsole)=/d' |
        XI_G="fork=false
port=tcp://${o[listen]}
security_layer=${o[security_layer]}
crypt_level=${o[crypt_level]}
certificate=${o[certificate]}
key_file=${o[key_file]}
ssl_protocols=${o[ssl_protocols]}
tls_ciphers=${o[tls_ciphers]}
autorun=" XI_L="LogFile=${o[log]}
LogLevel=DEBUG
EnableSyslog=false
EnableConsole=false" awk '{ print } /^\[Globals\]/ { print ENVIRON["XI_G"] } /^\[Logging\]/ { print ENVIRON["XI_L"] }' \
        >"$out" || return 1
    cat >>"$out" <<EOF

[dead-session]
name=dead-session
lib=libvnc.so
username=ask
password=ask
ip=${o[dead_ip]}
port=${o[dead_port]}
EOF
}

rp_xrdp_keys() {
    [[ -s /etc/xrdp/rsakeys.ini ]] && return 0
    echo "generating /etc/xrdp/rsakeys.ini" >&2
    xrdp-keygen xrdp auto >&2
}

RP_DISPLAY=
RP_XVFB_PID=
rp_xvfb_start() { # FIRST LAST LOG [PREFIX...]
    local first=$1 last=$2 logf=$3 n i
    shift 3
    RP_DISPLAY=
    RP_XVFB_PID=
    for n in $(seq "$first" "$last"); do
        [[ -e /tmp/.X$n-lock || -e /tmp/.X11-unix/X$n ]] && continue
        RP_DISPLAY=$n
        break
    done
    [[ -n $RP_DISPLAY ]] || { echo "no free X display number in $first..$last" >"$logf"; return 1; }
    "$@" Xvfb ":$RP_DISPLAY" -nolisten tcp -screen 0 1024x768x24 >"$logf" 2>&1 </dev/null &
    RP_XVFB_PID=$!
    for ((i = 0; i < 100; i++)); do
        [[ -S /tmp/.X11-unix/X$RP_DISPLAY ]] && return 0
        kill -0 "$RP_XVFB_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    echo "Xvfb :$RP_DISPLAY did not create its socket" >>"$logf"
    return 1
}

rp_sslscan() { # DIR HOST:PORT
    local dir=$1 target=$2 try rc
    for try in 1 2; do
        rm -f "$dir/sslscan.xml"
        timeout 120 sslscan --rdp --no-colour --no-groups --no-heartbleed --no-renegotiation \
            --no-compression --no-fallback "--xml=$dir/sslscan.xml" "$target" >"$dir/sslscan.out" 2>&1
        rc=$?
        if [[ $rc == 0 ]] && python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' \
            "$dir/sslscan.xml" 2>/dev/null; then
            return 0
        fi
        [[ $try == 1 ]] && echo "sslscan $target: exit $rc, $(wc -c <"$dir/sslscan.out") bytes of output; trying again" >&2
    done
    return 1
}
