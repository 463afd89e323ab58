# rabbit.sh - the pieces of a private RabbitMQ node, sourced by
# tools/rabbitpeer (one node) and tools/rabbitcluster (N clustered nodes)
# after tools/cli.sh:
#
#   rabbit_me=NAME                  the prefix of the messages (stderr)
#   . "$(dirname "$0")/rabbit.sh"
#
# A node is the system's rabbitmq-server run as this user with every
# file of its own in one directory NODEDIR: NODEDIR/mnesia, NODEDIR/log
# (server.out: the start script's output), NODEDIR/pid (the Erlang VM's
# pid, written by the VM once it runs), NODEDIR/server.spid (the start
# script's pid), NODEDIR/port (its AMQP port), its config
# (NODEDIR/rabbitmq.conf, written by the caller; no plugins) and an
# empty rabbitmq-env.conf, so /etc/rabbitmq is never read. Every port is
# on 127.0.0.1 only; the epmd the node registers with is one started
# here (rabbit_epmd_start), never the system's, and the Erlang cookie is
# HOME's (.erlang.cookie). Everything started here is stopped by its
# pid; the system's rabbitmq-server service, if any, is neither used nor
# touched.

rabbit_me=${rabbit_me:-$(basename "$0")}

# rabbit_server [PATH]: the server's start script: PATH if not empty,
# else Debian's /usr/lib/rabbitmq/bin/rabbitmq-server, else
# rabbitmq-server on PATH; 1 and nothing if there is none. The start
# script itself, not a wrapper that changes user (/usr/sbin's): HOME
# and the files must stay ours.
rabbit_server() {
	if [ -n "${1:-}" ]; then
		echo "$1"
	elif [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
		echo /usr/lib/rabbitmq/bin/rabbitmq-server
	else
		PATH=$PATH:/usr/sbin:/usr/local/sbin command -v rabbitmq-server
	fi
}

# rabbit_ctl SERVER: rabbitmqctl beside SERVER's start script, or 1.
rabbit_ctl() {
	_c=$(dirname "$1")/rabbitmqctl
	[ -x "$_c" ] && echo "$_c"
}

# rabbit_epmd_path: epmd's path: on PATH or beside the Erlang runtime.
rabbit_epmd_path() {
	command -v epmd 2>/dev/null && return 0
	for _e in /usr/lib/erlang/erts-*/bin/epmd /usr/lib/erlang/bin/epmd; do
		[ -x "$_e" ] && { echo "$_e"; return 0; }
	done
	return 1
}

# rabbit_free_port N: a TCP port from N up that nothing listens on (IPv4
# or 6). Nothing is reserved: a caller wanting several ports asks for
# the next one from the last one's + 1.
rabbit_free_port() {
	_p=$1
	while [ "$_p" -lt 65000 ]; do
		_hex=$(printf '%04X' "$_p")
		awk -v h=":$_hex" 'NR > 1 && $4 == "0A" &&
		    substr($2, length($2) - 4) == h { f = 1 }
		    END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null ||
		    { echo "$_p"; return 0; }
		_p=$((_p + 1))
	done
	return 1
}

# rabbit_alive PID: 0 if PID runs. A zombie does not: a start script
# or VM that ended (or was killed) is one until its parent reaps it, for
# an orphan init, which may take seconds.
rabbit_alive() {
	case $(ps -o stat= -p "$1" 2>/dev/null) in
	''|Z*) return 1 ;;
	esac
	return 0
}

# rabbit_stop_pid WHAT SPIDFILE [VMPIDFILE]: TERM the pid in SPIDFILE
# (for a node its start script, which stops the VM cleanly), KILL it
# after 30 s, and then the VM in VMPIDFILE too; SPIDFILE is removed.
# Nothing if SPIDFILE is missing or empty. Always 0.
rabbit_stop_pid() {
	[ -s "$2" ] || return 0
	_pid=$(cat "$2")
	kill -TERM "$_pid" 2>/dev/null
	_i=0
	while rabbit_alive "$_pid" && [ $_i -lt 300 ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	if rabbit_alive "$_pid"; then
		echo "$rabbit_me: $1 (pid $_pid) still up after 30 s: KILL" >&2
		kill -KILL "$_pid" 2>/dev/null
		# The VM itself, if its start script is gone first.
		[ -n "${3:-}" ] && [ -s "$3" ] &&
		    kill -KILL "$(cat "$3")" 2>/dev/null
	fi
	rm -f "$2"
	return 0
}

# rabbit_stop_vm VMPIDFILE: the VM, should it outlive its start script
# (it should not): TERM, KILL 2 s later. Always 0.
rabbit_stop_vm() {
	if [ -s "$1" ] && rabbit_alive "$(cat "$1")"; then
		kill -TERM "$(cat "$1")" 2>/dev/null; sleep 2
		kill -KILL "$(cat "$1")" 2>/dev/null
	fi
	return 0
}

# rabbit_stop_node NODEDIR: the node's start script (then its VM if
# need be) by rabbit_stop_pid, then rabbit_stop_vm. Always 0.
rabbit_stop_node() {
	rabbit_stop_pid server "$1/server.spid" "$1/pid"
	rabbit_stop_vm "$1/pid"
}

# rabbit_epmd_start EPMD PORT LOG SPIDFILE: our own epmd on 127.0.0.1:
# PORT, in the background, its pid in SPIDFILE. Started before any node:
# a VM would otherwise start one as a daemon that outlives it.
rabbit_epmd_start() {
	"$1" -address 127.0.0.1 -port "$2" >"$3" 2>&1 </dev/null &
	echo $! >"$4"
}

# rabbit_node_start SERVER NODEDIR NAME AMQP DIST EPMDPORT HOME:
# start the node NAME (NAME@localhost) in the background on the ports
# AMQP and DIST (Erlang distribution) with the epmd on EPMDPORT and the
# cookie of HOME/.erlang.cookie (made by the VM if missing).
# NODEDIR/rabbitmq.conf must exist; the
# rest of NODEDIR's files are made here; NODEDIR/server.spid and
# NODEDIR/port are written at once, NODEDIR/pid by the VM later
# (rabbit_node_wait). NODEDIR must be absolute.
rabbit_node_start() {
	mkdir -p "$2/mnesia" "$2/log" || return 1
	echo '[].' >"$2/enabled_plugins"
	: >"$2/rabbitmq-env.conf"
	env HOME="$7" \
	    RABBITMQ_NODENAME="$3" \
	    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
	    RABBITMQ_NODE_PORT="$4" \
	    RABBITMQ_DIST_PORT="$5" \
	    ERL_EPMD_ADDRESS=127.0.0.1 \
	    ERL_EPMD_PORT="$6" \
	    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
	    RABBITMQ_MNESIA_BASE="$2/mnesia" \
	    RABBITMQ_LOG_BASE="$2/log" \
	    RABBITMQ_PID_FILE="$2/pid" \
	    RABBITMQ_CONFIG_FILE="$2/rabbitmq.conf" \
	    RABBITMQ_CONF_ENV_FILE="$2/rabbitmq-env.conf" \
	    RABBITMQ_ADVANCED_CONFIG_FILE="$2/advanced.config" \
	    RABBITMQ_ENABLED_PLUGINS_FILE="$2/enabled_plugins" \
	    ERL_CRASH_DUMP="$2/erl_crash.dump" \
	    "$1" >"$2/log/server.out" 2>&1 </dev/null &
	echo $! >"$2/server.spid"
	echo "$4" >"$2/port"
}

# rabbit_node_wait RMQBENCH NODEDIR SECONDS: 0 once the node takes AMQP
# logins as guest (RMQBENCH -A) and its VM has written NODEDIR/pid; 1,
# with the reason and the tail of its start script's output on stderr,
# if the node exits or is not up after SECONDS. Nothing is stopped.
rabbit_node_wait() {
	_i=0
	while [ $_i -lt "$3" ]; do
		if ! rabbit_alive "$(cat "$2/server.spid" 2>/dev/null)"; then
			echo "$rabbit_me: the node exited; $2/log/server.out:" >&2
			tail -5 "$2/log/server.out" >&2
			return 1
		fi
		if "$1" -P "$(cat "$2/port")" -A 2 2>/dev/null &&
		    [ -s "$2/pid" ]; then
			return 0
		fi
		_i=$((_i + 2))
	done
	echo "$rabbit_me: the node not up after $3 s; $2/log/server.out:" >&2
	tail -5 "$2/log/server.out" >&2
	return 1
}
