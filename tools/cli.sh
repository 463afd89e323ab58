# cli.sh - --help and --version for nlswitch's shell scripts, sourced by
# each of them before it does anything:
#
#   . "$(dirname "$0")/cli.sh"      (tests/run-it: ../tools/cli.sh)
#   cli_options "NAME ARGS" "$@"
#
# With -h or --help first it prints "usage: NAME ARGS" and the script's
# header comment on stdout and exits 0; with --version it prints "NAME
# VERSION", VERSION being the Makefile's (the one place the version is
# kept), and exits 0. Anything else returns and the script goes on.
# Every script lives one directory below the top of the tree.

cli_options() {
	_cli_usage=$1
	shift
	case "${1:-}" in
	-h|--help)
		echo "usage: $_cli_usage"
		echo
		# The header: the comment lines after "#!", up to the first
		# line that is not a comment.
		sed -n '2,/^[^#]/{/^#/!d;s/^# \{0,1\}//;p;}' "$0"
		exit 0 ;;
	--version)
		_cli_top=$(cd "$(dirname "$0")/.." && pwd)
		_cli_v=$(sed -n 's/^VERSION[[:space:]]*=[[:space:]]*//p' \
		    "$_cli_top/Makefile")
		[ -n "$_cli_v" ] || { echo "${_cli_usage%% *}: no VERSION in" \
		    "$_cli_top/Makefile" >&2; exit 2; }
		echo "${_cli_usage%% *} $_cli_v"
		exit 0 ;;
	esac
}
