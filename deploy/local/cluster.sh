#!/usr/bin/env bash
# Runs a dbp cluster on this machine: one parameter-server node (or several: one active, the others standing
# by) and N worker nodes, each a process on 127.0.0.1 with its own log. The training arguments go to every
# server; when they end, their standard output (the JSON lines) is printed, in the order they were started,
# and the exit code of the servers this script did not kill is this script's. Every process the script starts is stopped when
# the script ends, however it ends (normally, on an error, on --timeout, on Ctrl-C or SIGTERM), through the
# process ids it recorded: each node runs in its own process group, so whatever a node started goes too.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: deploy/local/cluster.sh [OPTIONS] -- train regression|fashion-mnist [TRAINING FLAGS]

Starts one parameter-server node (or --servers N: the first is active, the others stand by and take over
if it is lost) and N worker nodes on 127.0.0.1, waits for the servers to finish, prints their standard
output and exits with their exit code. Only the servers' output goes to standard output; the script's own
messages go to standard error.

  --workers N                 worker nodes (default 2)
  --servers N                 parameter-server nodes with the same job (default 1), on ports P, P+1, ...
  --port P                    the first parameter server's port (default 4053); refused if something listens on it
  --logs DIR                  where the logs go (default deploy/local/logs/<timestamp>)
  --build                     build the CLI in Release first (dotnet build src/DistributedBackprop.Cli -c Release)
  --timeout SECONDS           the longest the build and the training may take together (default 600)
  --kill-worker-after SECONDS kill -9 the first worker that many seconds after every worker has joined
  --kill-server-after SECONDS kill -9 the active (first) server that many seconds after the nodes start
  --tls-cert FILE             the cluster's certificate (dbp cert); by default a new one is made in the logs folder
  --insecure                  no TLS (the nodes are on 127.0.0.1 only, the one place dbp allows it)
  -h, --help                  this text

DBP_CMD, when set, is the command that runs dbp (split on spaces; default
"dotnet src/DistributedBackprop.Cli/bin/Release/net10.0/dbp.dll").

example: deploy/local/cluster.sh --workers 3 -- train regression --steps 600 --json
         deploy/local/cluster.sh --servers 2 --kill-server-after 8 -- train regression --steps 20000 --json
EOF
}

die() { echo "cluster: $*" >&2; exit 2; }
is_count() { [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 > 0)); }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

workers=2
servers=1
kill_server_after=""
port=4053
logs=""
build=0
timeout=600
kill_worker_after=""
tls_cert=""
insecure=0
while (($# > 0)); do
  case $1 in
    --workers | --servers | --port | --logs | --timeout | --kill-worker-after | --kill-server-after | --tls-cert)
      (($# >= 2)) || die "$1 needs a value (see --help)"
      case $1 in
        --workers) workers=$2 ;;
        --servers) servers=$2 ;;
        --kill-server-after) kill_server_after=$2 ;;
        --port) port=$2 ;;
        --logs) logs=$2 ;;
        --timeout) timeout=$2 ;;
        --kill-worker-after) kill_worker_after=$2 ;;
        --tls-cert) tls_cert=$2 ;;
      esac
      shift 2
      ;;
    --build) build=1; shift ;;
    --insecure) insecure=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) die "unknown option '$1'; the training arguments go after '--' (see --help)" ;;
  esac
done
(($# > 0)) || die "no training arguments: give them after '--', e.g. -- train regression --steps 600 --json"
train_args=("$@")

is_count "$workers" || die "--workers must be a whole number above 0, not '$workers'"
is_count "$servers" && ((10#$servers <= 8)) || die "--servers must be a whole number from 1 to 8, not '$servers'"
if ! is_count "$port" || ((10#$port > 65535)); then die "--port must be between 1 and 65535, not '$port'"; fi
is_count "$timeout" || die "--timeout must be a whole number of seconds above 0, not '$timeout'"
[[ -z $kill_worker_after ]] || [[ $kill_worker_after =~ ^[0-9]+$ ]] ||
  die "--kill-worker-after must be a whole number of seconds, not '$kill_worker_after'"
[[ -z $kill_server_after ]] || [[ $kill_server_after =~ ^[0-9]+$ ]] ||
  die "--kill-server-after must be a whole number of seconds, not '$kill_server_after'"
workers=$((10#$workers)) servers=$((10#$servers)) port=$((10#$port)) timeout=$((10#$timeout))
((port + servers - 1 <= 65535)) || die "--port $port leaves no room for $servers servers"
if [[ -n $tls_cert ]]; then
  ((!insecure)) || die "--tls-cert and --insecure contradict each other"
  [[ -f $tls_cert ]] || die "--tls-cert: $tls_cert is not a file"
  tls_cert=$(cd "$(dirname "$tls_cert")" && pwd)/$(basename "$tls_cert")
fi

# The nodes get every address, role and certificate from their flags; a DBP_* variable left in this shell
# would override them (dbp node reads DBP_HOSTNAME, DBP_PORT, DBP_SEED_NODES, DBP_ROLE and DBP_TLS_*).
unset DBP_HOSTNAME DBP_PORT DBP_SEED_NODES DBP_ROLE DBP_TLS_CERT DBP_TLS_PASSWORD_FILE

dll="$root/src/DistributedBackprop.Cli/bin/Release/net10.0/dbp.dll"
if [[ -n ${DBP_CMD:-} ]]; then
  read -r -a dbp_cmd <<<"$DBP_CMD"
else
  dbp_cmd=(dotnet "$dll")
fi

need_dll() {
  if [[ -z ${DBP_CMD:-} && ! -f $dll ]]; then
    die "$dll not found: build it first (add --build, or: dotnet build src/DistributedBackprop.Cli -c Release)"
  fi
}
if ((!build)); then need_dll; fi

port_in_use() {
  if command -v ss >/dev/null && [[ -n $(ss -Hltn "sport = :$1") ]]; then return 0; fi
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null # connects only if something listens
}
for ((k = 0; k < servers; k++)); do
  p=$((port + k))
  port_in_use "$p" && die "port $p is in use (see: ss -ltnp 'sport = :$p'); pick another with --port"
done

if [[ -z $logs ]]; then logs="$here/logs/$(date +%Y%m%d-%H%M%S)-$$"; fi
mkdir -p "$logs"
logs=$(cd "$logs" && pwd)
echo "cluster: logs in $logs" >&2

# Each process runs under setsid: its pid is also its process-group id, the group holds whatever it starts,
# and a Ctrl-C in the terminal reaches only this script, which then stops the groups itself.
launcher=()
if command -v setsid >/dev/null; then launcher=(setsid); fi
pids=()   # every process started, in order
names=()  # their names, same order
reaped=() # 1 once its exit code has been collected
grace=10  # seconds a process gets to stop after SIGTERM before SIGKILL

start() { # start NAME STDOUT STDERR COMMAND... (STDERR may be STDOUT: one file, written in order)
  local name=$1 out=$2 err=$3
  shift 3
  if [[ $err == "$out" ]]; then
    "${launcher[@]}" "$@" </dev/null >"$out" 2>&1 &
  else
    "${launcher[@]}" "$@" </dev/null >"$out" 2>"$err" &
  fi
  pids+=("$!") names+=("$name") reaped+=(0)
  echo "cluster: started $name (pid $!)" >&2
}
# shellcheck disable=SC2317 # used by stop_all, which the EXIT trap calls
running() { kill -0 "$1" 2>/dev/null; }                          # the process itself
# shellcheck disable=SC2317
group_alive() { kill -0 -- "-$1" 2>/dev/null || running "$1"; }    # the process or anything it started
signal() { kill "-$1" -- "-$2" 2>/dev/null || kill "-$1" "$2" 2>/dev/null || true; }
reap() { # reap INDEX: collects the exit code of a process that has ended, once, into $code
  code=0
  wait "${pids[$1]}" 2>/dev/null || code=$?
  reaped[$1]=1
}

# shellcheck disable=SC2317
wait_for_groups() { # wait_for_groups SECONDS: until no group is left, or that many seconds have passed
  local i any until=$((SECONDS + $1))
  while :; do
    any=0
    for i in "${!pids[@]}"; do
      if group_alive "${pids[i]}"; then any=1; fi
    done
    ((any && SECONDS < until)) || return 0
    sleep 0.2 # bash also reaps ended children here, so they stop counting as alive
  done
}

# shellcheck disable=SC2317
stop_all() {
  local i
  for i in "${!pids[@]}"; do
    if group_alive "${pids[i]}"; then signal TERM "${pids[i]}"; fi
  done
  wait_for_groups "$grace"
  for i in "${!pids[@]}"; do
    if group_alive "${pids[i]}"; then
      echo "cluster: ${names[i]} (pid ${pids[i]}) did not stop within ${grace}s of SIGTERM: SIGKILL" >&2
      signal KILL "${pids[i]}"
      disown "${pids[i]}" 2>/dev/null || true # its exit code says nothing more; spare the "Killed" notice
      reaped[i]=1
    fi
  done
  wait_for_groups 5
  for i in "${!pids[@]}"; do
    if ((!reaped[i])) && ! running "${pids[i]}"; then reap "$i"; fi
  done
}

# shellcheck disable=SC2317 # the EXIT trap
on_exit() {
  local status=$?
  trap '' INT TERM HUP # the stop below is bounded; let it finish
  if ((${#pids[@]} > 0)); then stop_all; fi
  if [[ -n $logs ]]; then echo "cluster: logs in $logs" >&2; fi
  exit "$status"
}
trap on_exit EXIT
trap 'echo "cluster: interrupted; stopping every node" >&2; exit 130' INT
trap 'echo "cluster: terminated; stopping every node" >&2; exit 143' TERM
trap 'echo "cluster: hung up; stopping every node" >&2; exit 129' HUP

deadline=$((SECONDS + timeout))
wait_or_time_out() { # wait_or_time_out INDEX WHAT: waits for the process to end; times out at the deadline
  while running "${pids[$1]}"; do
    if ((SECONDS >= deadline)); then
      echo "cluster: timed out after ${timeout}s $2; stopping every node" >&2
      exit 124
    fi
    sleep 0.2
  done
}

if ((build)); then
  echo "cluster: building the CLI in Release (log: $logs/build.log)" >&2
  start build "$logs/build.log" "$logs/build.log" \
    dotnet build "$root/src/DistributedBackprop.Cli" -c Release -nologo --disable-build-servers
  wait_or_time_out 0 "building the CLI"
  reap 0
  if ((code != 0)); then
    tail -n 20 "$logs/build.log" >&2
    die "the build failed (exit $code); see $logs/build.log"
  fi
  need_dll
fi

# Every node holds the same certificate and accepts only peers that present it (mutual TLS).
if ((insecure)); then
  tls=(--insecure)
  scheme="akka.tcp"
else
  if [[ -z $tls_cert ]]; then
    tls_cert="$logs/cluster.pfx"
    "${dbp_cmd[@]}" cert --out "$tls_cert" >"$logs/cert.log" 2>&1 || {
      cat "$logs/cert.log" >&2
      die "could not make a cluster certificate (see $logs/cert.log)"
    }
    echo "cluster: made the cluster certificate $tls_cert" >&2
  fi
  tls=(--tls-cert "$tls_cert")
  scheme="akka.ssl.tcp"
fi
# Every server node is a seed: a worker (re)joins through whichever is up.
seed="$scheme://dbp@127.0.0.1:$port"
for ((k = 1; k < servers; k++)); do seed+=",$scheme://dbp@127.0.0.1:$((port + k))"; done
server_seeds=()
if ((servers > 1)); then server_seeds=(--seed-nodes "$seed"); fi
server_ids=() # indices into pids of the servers, in the order they started
for ((k = 0; k < servers; k++)); do
  name=parameter-server
  if ((k > 0)); then name="parameter-server-$((k + 1))"; fi
  start "$name" "$logs/$name.stdout" "$logs/$name.log" \
    "${dbp_cmd[@]}" node "${tls[@]}" --role parameter-server --hostname 127.0.0.1 --port "$((port + k))" "${server_seeds[@]}" \
    --min-workers "$workers" -- "${train_args[@]}"
  server_ids+=($((${#pids[@]} - 1)))
  # The first server must be the oldest (so the active one) before the others join.
  if ((k == 0 && servers > 1)); then
    while ! grep -q "active parameter server" "$logs/$name.log" 2>/dev/null; do
      running "${pids[-1]}" || die "the first parameter server ended before it became active; see $logs/$name.log"
      ((SECONDS < deadline)) || die "timed out waiting for the first parameter server"
      sleep 0.2
    done
  fi
done
server=${server_ids[0]}
first_worker=${#pids[@]}
for ((w = 1; w <= workers; w++)); do
  start "worker-$w" "$logs/worker-$w.log" "$logs/worker-$w.log" \
    "${dbp_cmd[@]}" node "${tls[@]}" --role worker --seed-nodes "$seed" --hostname 127.0.0.1 --port 0
done
echo "cluster: waiting for the parameter server (at most ${timeout}s); follow it with: tail -f $logs/parameter-server.log" >&2

# Workers that end while the server trains are reported (a worker's failure is the trainer's to handle).
report_ended_workers() {
  local i
  for ((i = first_worker; i < ${#pids[@]}; i++)); do
    if ((!reaped[i])) && ! running "${pids[i]}"; then
      reap "$i"
      echo "cluster: ${names[i]} (pid ${pids[i]}) ended with exit code $code" >&2
    fi
  done
}

servers_running() {
  local i
  for i in "${server_ids[@]}"; do if running "${pids[i]}"; then return 0; fi; done
  return 1
}
# Every worker has said it joined: the run has its workers (a worker killed before that is not one of them).
workers_joined() {
  local w
  for ((w = 1; w <= workers; w++)); do grep -q " joined (" "$logs/worker-$w.log" 2>/dev/null || return 1; done
}
started=$SECONDS
joined_at=""
killed=0
server_killed=0
while servers_running; do
  if ((SECONDS >= deadline)); then
    echo "cluster: timed out after ${timeout}s waiting for the parameter server; stopping every node" >&2
    exit 124
  fi
  if [[ -n $kill_worker_after && -z $joined_at ]] && workers_joined; then joined_at=$SECONDS; fi
  if [[ -n $joined_at ]] && ((!killed && SECONDS - joined_at >= kill_worker_after)); then
    killed=1
    if running "${pids[first_worker]}"; then
      echo "cluster: kill -9 ${names[first_worker]} (pid ${pids[first_worker]}) after ${kill_worker_after}s" >&2
      signal KILL "${pids[first_worker]}"
    fi
  fi
  if [[ -n $kill_server_after ]] && ((!server_killed && SECONDS - started >= kill_server_after)); then
    server_killed=1
    if running "${pids[server]}"; then
      echo "cluster: kill -9 ${names[server]} (pid ${pids[server]}) after ${kill_server_after}s" >&2
      signal KILL "${pids[server]}"
    fi
  fi
  report_ended_workers
  sleep 0.2
done
server_code=0
for i in "${server_ids[@]}"; do
  reap "$i"
  echo "cluster: ${names[i]} ended with exit code $code" >&2
  if ((i == server && server_killed)); then continue; fi # killed here: its code is ours, not the run's
  if ((code > server_code)); then server_code=$code; fi
done
# The workers leave by themselves once the server has left the cluster; give them a little while.
worker_deadline=$((SECONDS + grace))
((worker_deadline < deadline)) || worker_deadline=$deadline
while :; do
  report_ended_workers
  left=0
  for ((i = first_worker; i < ${#pids[@]}; i++)); do
    if ((!reaped[i])); then left=$((left + 1)); fi
  done
  ((left > 0 && SECONDS < worker_deadline)) || break
  sleep 0.2
done
if ((left > 0)); then echo "cluster: $left worker(s) still running ${grace}s after the server ended; stopping them" >&2; fi

for i in "${server_ids[@]}"; do cat "$logs/${names[i]}.stdout"; done
if ((server_code != 0)); then
  echo "cluster: the parameter server failed (exit $server_code); the end of its log:" >&2
  for i in "${server_ids[@]}"; do
    if ((servers > 1)); then echo "cluster: ${names[i]}:" >&2; fi
    tail -n 20 "$logs/${names[i]}.log" >&2
  done
fi
exit "$server_code"
