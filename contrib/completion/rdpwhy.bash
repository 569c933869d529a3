# bash completion for rdpwhy                                   -*- shell-script -*-
# Installed as share/bash-completion/completions/rdpwhy. Self-contained (no
# bash-completion helpers needed). tests/man_pages.sh checks that every option
# of `rdpwhy COMMAND --help` is offered here and every config key for --set.
# COMPREPLY=($(compgen ...)): completion words hold no blanks.
# shellcheck disable=SC2207

_rdpwhy_config_keys="listen upstream transparent tproxy output format json_style pcap_dir
pcap_max_file pcap_max_total pcap_queue_max user syslog connect_timeout
x224_timeout tls_timeout nla_timeout rdp_timeout idle_timeout prompt_timeout
keepalive_idle keepalive_interval keepalive_count user_timeout grace max_buffer
max_connections workers expected_cert_sha256 inspect_cert inspect_key keylog siem_ca_file siem_cert_file siem_key_file
siem_spool_dir siem_spool_max siem_spool_policy siem_format siem_flush_timeout"

# Words for a file argument: directories, and files matching the glob $2 (all if empty).
_rdpwhy_files()
{
	local cur=$1 pat=$2 f
	local IFS=$'\n'
	for f in $(compgen -d -- "$cur"); do
		COMPREPLY+=("$f/")
	done
	for f in $(compgen -f -- "$cur"); do
		[[ -d $f ]] && continue
		# [[ == ]] matches extended patterns whatever extglob says (bash >= 4.1).
		# shellcheck disable=SC2053
		if [[ -z $pat || ${f,,} == $pat ]]; then
			COMPREPLY+=("$f")
		fi
	done
	compopt -o filenames -o nospace 2>/dev/null
	# A lone file name gets its space back.
	if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} != */ ]]; then
		compopt +o nospace 2>/dev/null
	fi
}

_rdpwhy()
{
	local cur prev cmd i
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*)
			cmd=${COMP_WORDS[i]}
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--help --version -h -V" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "replay capture proxy probe explain" -- "$cur"))
		fi
		return 0
	fi

	# --opt=value: complete the value as for --opt value. bash splits the word
	# at '=' (COMP_WORDBREAKS): '--format' '=' 'j'.
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		prev=${cur%%=*}
		cur=${cur#*=}
	fi

	local common="-f --format --json-style -o --output -c --config --set -p --port --only-ports
		-F --filter --max-flows --idle-timeout --expected-cert --summary --fix -h --help"
	local opts
	case $cmd in
	replay) opts="$common -j --jobs" ;;
	capture) opts="$common -i --interface -s --snaplen --no-promisc -Z --user" ;;
	proxy)
		opts="-c --config --check-config -l --listen -u --upstream --transparent
			--tproxy -o --output -f --format --json-style --pcap-dir --user --syslog --idle-timeout
			--prompt-timeout --keepalive-idle --keepalive-interval --keepalive-count
			--user-timeout --inspect-cert --inspect-key --keylog --workers --set -v --verbose -h --help"
		;;
	probe)
		opts="--format --json-style --timeout --pace --max-connections --profiles
			--server-name --ca -h --help"
		;;
	explain) opts="--list-causes --list-codes -h --help" ;;
	*) return 0 ;;
	esac

	case $prev in
	--json-style)
		COMPREPLY=($(compgen -W "nested flat" -- "$cur"))
		return 0
		;;
	-f | --format)
		if [[ $cmd == replay || $cmd == capture ]]; then
			COMPREPLY=($(compgen -W "text json html" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "text json" -- "$cur"))
		fi
		return 0
		;;
	-c | --config)
		_rdpwhy_files "$cur" "*.conf"
		return 0
		;;
	-o | --output)
		COMPREPLY=($(compgen -W "- syslog tcp:// tls:// udp:// kafka://" -- "$cur"))
		[[ ${#COMPREPLY[@]} -gt 0 ]] && compopt -o nospace 2>/dev/null
		_rdpwhy_files "$cur" ""
		return 0
		;;
	--pcap-dir | --profiles)
		local IFS=$'\n'
		COMPREPLY=($(compgen -d -- "$cur"))
		compopt -o filenames 2>/dev/null
		return 0
		;;
	--ca)
		_rdpwhy_files "$cur" "*.@(pem|crt|cer)"
		return 0
		;;
	-i | --interface)
		COMPREPLY=($(compgen -W "any $(ls /sys/class/net 2>/dev/null)" -- "$cur"))
		return 0
		;;
	-Z | --user)
		COMPREPLY=($(compgen -u -- "$cur"))
		return 0
		;;
	--set)
		local k
		for k in $_rdpwhy_config_keys; do
			[[ $k == "$cur"* ]] && COMPREPLY+=("$k=")
		done
		compopt -o nospace 2>/dev/null
		return 0
		;;
	-p | --port | -F | --filter | --max-flows | --idle-timeout | --expected-cert | -j | --jobs | \
		-s | --snaplen | -l | --listen | -u | --upstream | --prompt-timeout | \
		--keepalive-idle | --keepalive-interval | --keepalive-count | --user-timeout | \
		--timeout | --pace | --max-connections | --server-name)
		return 0 # a value only the user knows
		;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return 0
	fi
	case $cmd in
	replay)
		# Captures, also as tcpdump -C/-W and -z leave them (x.pcap3.gz).
		_rdpwhy_files "$cur" "*.@(pcap|pcapng|cap)*([0-9])?(.gz|.zst)"
		;;
	explain)
		# The causes, from the binary itself when it can list them.
		COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" explain --list-causes 2>/dev/null)" -- "$cur"))
		;;
	esac
	return 0
}
complete -F _rdpwhy rdpwhy
