#!/bin/sh
# Generates the cipher-suite name table of analyzers/tls_names.c.
#
#   scripts/gen_tls_names.sh                         print the table
#   scripts/gen_tls_names.sh analyzers/tls_names.c   rewrite the table in place
#
# Source: every suite the local OpenSSL knows (TLS 1.2 and below through
# 'ALL:COMPLEMENTOFALL:@SECLEVEL=0', all five TLS 1.3 suites through
# -ciphersuites), with their IANA names (-stdname), plus the IANA suites
# OpenSSL 3 no longer builds (RC4, DES, 3DES, IDEA, export grade, SM4) and the
# signalling values, which old clients and hosts still put on the wire.
# The output is sorted by code with duplicates removed (OpenSSL's name wins).
set -eu
export LC_ALL=C

TLS13='TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256'
TLS13="$TLS13:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256"

extras() {
	cat <<'LIST'
0x0000 TLS_NULL_WITH_NULL_NULL
0x0003 TLS_RSA_EXPORT_WITH_RC4_40_MD5
0x0004 TLS_RSA_WITH_RC4_128_MD5
0x0005 TLS_RSA_WITH_RC4_128_SHA
0x0006 TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5
0x0007 TLS_RSA_WITH_IDEA_CBC_SHA
0x0008 TLS_RSA_EXPORT_WITH_DES40_CBC_SHA
0x0009 TLS_RSA_WITH_DES_CBC_SHA
0x000A TLS_RSA_WITH_3DES_EDE_CBC_SHA
0x0011 TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA
0x0012 TLS_DHE_DSS_WITH_DES_CBC_SHA
0x0013 TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA
0x0014 TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA
0x0015 TLS_DHE_RSA_WITH_DES_CBC_SHA
0x0016 TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA
0x0017 TLS_DH_anon_EXPORT_WITH_RC4_40_MD5
0x0018 TLS_DH_anon_WITH_RC4_128_MD5
0x0019 TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA
0x001A TLS_DH_anon_WITH_DES_CBC_SHA
0x001B TLS_DH_anon_WITH_3DES_EDE_CBC_SHA
0x008A TLS_PSK_WITH_RC4_128_SHA
0x008B TLS_PSK_WITH_3DES_EDE_CBC_SHA
0x008E TLS_DHE_PSK_WITH_RC4_128_SHA
0x008F TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA
0x0092 TLS_RSA_PSK_WITH_RC4_128_SHA
0x0093 TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA
0x00C6 TLS_SM4_GCM_SM3
0x00C7 TLS_SM4_CCM_SM3
0x00FF TLS_EMPTY_RENEGOTIATION_INFO_SCSV
0x5600 TLS_FALLBACK_SCSV
0xC002 TLS_ECDH_ECDSA_WITH_RC4_128_SHA
0xC003 TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA
0xC007 TLS_ECDHE_ECDSA_WITH_RC4_128_SHA
0xC008 TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA
0xC00C TLS_ECDH_RSA_WITH_RC4_128_SHA
0xC00D TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA
0xC011 TLS_ECDHE_RSA_WITH_RC4_128_SHA
0xC012 TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA
0xC016 TLS_ECDH_anon_WITH_RC4_128_SHA
0xC017 TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA
0xC01A TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA
0xC01B TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA
0xC01C TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA
0xC033 TLS_ECDHE_PSK_WITH_RC4_128_SHA
0xC034 TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA
0xC0B4 TLS_SHA256_SHA256
0xC0B5 TLS_SHA384_SHA384
LIST
}

table() {
	{
		openssl ciphers -V -stdname -ciphersuites "$TLS13" 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' |
			awk '{ split($1, b, ","); printf "%s%s %s\n", toupper(b[1]), substr(toupper(b[2]), 3), $3 }' |
			sed 's/^0X/0x/'
		extras
	} | awk '!seen[$1]++' | sort -k1,1 |
		awk '{ printf "\t{%s, \"%s\"},\n", $1, $2 }'
}

if [ $# -eq 0 ]; then
	table
	exit 0
fi

file=$1
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.t"' EXIT
table >"$tmp.t"
awk -v t="$tmp.t" -v ver="$(openssl version | cut -d' ' -f1-2)" '
	/BEGIN GENERATED CIPHER TABLE/ {
		print; print "\t/* " ver ", scripts/gen_tls_names.sh */"
		while ((getline l < t) > 0) print l
		skip = 1; next
	}
	/END GENERATED CIPHER TABLE/ { skip = 0 }
	!skip { print }
' "$file" >"$tmp"
cat "$tmp" >"$file"
