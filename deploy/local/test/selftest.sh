#!/usr/bin/env bash
# Tests cluster.sh's handling of processes with fake-dbp.sh standing in for `dbp node`: the server's output
# and exit code come through, the logs are written, and no process it started (nor any child of one) is left
# after a normal end, a failing server, Ctrl-C, SIGTERM, --timeout, nodes that ignore SIGTERM and
# --kill-worker-after; a port in use and bad arguments are refused. About a minute; ends with
# "N passed, N failed".
set -uo pipefail
set -m # each background job in its own process group, and not ignoring SIGINT: as a terminal runs a job

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cluster="$here/../cluster.sh"
export DBP_CMD="$here/fake-dbp.sh"
unset FAKE_SERVER_SECONDS FAKE_EXIT FAKE_WORKERS_EXIT FAKE_IGNORE_TERM
work=$(mktemp -d)
listener=""
# Should cluster.sh leave anything behind, the test still does not: it kills what the check found.
cleanup() {
  local e p
  if [[ -n $listener ]]; then kill "$listener" 2>/dev/null; fi
  for e in "$work"/*.err; do
    [[ -f $e ]] || continue
    for p in $(leftover_pids "$e" "${e%.err}-logs"); do kill -9 "$p" 2>/dev/null; done
  done
  rm -rf "$work"
}
trap cleanup EXIT

passed=0 failed=0
check() { # check DESCRIPTION COMMAND...: one test
  if "${@:2}"; then
    passed=$((passed + 1)); echo "ok      $1"
  else
    failed=$((failed + 1)); echo "FAILED  $1"
  fi
}
port_free() { [[ -z $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }
port=47000
next_port() { # a port nothing listens on, different for every run so that no two runs meet
  port=$((port + 1))
  while ! port_free "$port"; do port=$((port + 1)); done
}
# Every process still there whose pid (or process group) cluster.sh said it started, or whose pid a fake node
# wrote in its log (its child: left behind if only the node's own pid were killed). leftover_pids ERR LOGS
leftover_pids() {
  local p
  cat "$1" "$2"/*.log 2>/dev/null | grep -o '(pid [0-9]*)' | grep -o '[0-9]*' | sort -u | while read -r p; do
    ps -eo pid=,pgid= | awk -v p="$p" '$1 == p || $2 == p { print $1 }'
  done
}
leftovers() {
  local p
  for p in $(leftover_pids "$1" "$logs"); do ps -o pid=,pgid=,stat=,args= -p "$p"; done
}
none_left() { local left; left=$(leftovers "$1"); [[ -z $left ]] || { echo "$left"; false; }; }
started() { grep -c '^cluster: started' "$1"; }

# run NAME [SIGNAL AFTER_SECONDS] -- CLUSTER_ARGS...: runs cluster.sh in the background (optionally sending it
# SIGNAL after AFTER_SECONDS), waits, and leaves $rc, $out, $err and $logs.
run() {
  local name=$1 sig="" after=0 job
  shift
  if [[ $1 != -- ]]; then sig=$1 after=$2; shift 2; fi
  shift
  next_port
  out="$work/$name.out" err="$work/$name.err" logs="$work/$name-logs"
  SECONDS=0
  "$cluster" --port "$port" --logs "$logs" "$@" >"$out" 2>"$err" &
  job=$!
  if [[ -n $sig ]]; then
    sleep "$after"
    kill "-$sig" "$job"
  fi
  rc=0
  wait "$job" || rc=$?
  took=$SECONDS
}

run normal -- --workers 3 -- train regression --steps 600 --json
check "a normal end exits 0" test "$rc" -eq 0
check "it prints the server's JSON lines on stdout, and nothing else" \
  test "$(cat "$out")" = $'{"step": 1, "loss": 0.5}\n{"final_loss": 0.01, "train_args": "train regression --steps 600 --json"}'
check "it starts one server and 3 workers" test "$(started "$err")" -eq 4
check "the fake nodes' children are seen by the check" test "$(cat "$logs"/*.log | grep -c "child sleep (pid")" -eq 4
check "every node has its log" test -s "$logs/parameter-server.log" -a -s "$logs/worker-1.log" -a -s "$logs/worker-3.log"
check "the server is told the worker count and the training arguments" \
  grep -q -- "--role parameter-server --hostname 127.0.0.1 --port $port --min-workers 3 -- train regression --steps 600 --json" "$logs/parameter-server.log"
check "the workers are told the seed node" grep -q -- "--seed-nodes akka.ssl.tcp://dbp@127.0.0.1:$port" "$logs/worker-2.log"
check "every node is given the certificate made for the run" \
  test "$(grep -l -- "--tls-cert $logs/cluster.pfx" "$logs"/*.log | wc -l)" -eq 4 -a -s "$logs/cluster.pfx"
check "nothing is left after a normal end (workers still running are stopped)" none_left "$err"

export FAKE_WORKERS_EXIT=1 FAKE_SERVER_SECONDS=1
run leaving -- -- train regression --json
check "workers that leave by themselves are reported with exit code 0" \
  test "$(grep -c 'worker-[12] (pid [0-9]*) ended with exit code 0' "$err")" -eq 2
check "nothing is left when the workers leave by themselves" none_left "$err"

FAKE_EXIT=3 run failing -- -- train regression --json
check "a failing server's exit code is the script's" test "$rc" -eq 3
check "a failing server's log is shown" grep -q 'the end of its log' "$err"
check "nothing is left after a failing server" none_left "$err"

FAKE_SERVER_SECONDS=6 run killing -- --workers 3 --kill-worker-after 2 -- train regression --json
check "--kill-worker-after kills the first worker with SIGKILL (exit 137)" grep -q 'worker-1 (pid [0-9]*) ended with exit code 137' "$err"
check "training goes on to the end after a worker is killed" test "$rc" -eq 0
check "nothing is left after --kill-worker-after" none_left "$err"
unset FAKE_WORKERS_EXIT

FAKE_SERVER_SECONDS=5 run standby -- --servers 2 --kill-server-after 2 -- train regression --json
check "--servers 2 starts two servers and two workers" test "$(started "$err")" -eq 4
check "every server is given every server as a seed" \
  grep -q -- "--seed-nodes akka.ssl.tcp://dbp@127.0.0.1:$port,akka.ssl.tcp://dbp@127.0.0.1:$((port + 1))" "$logs/parameter-server-2.log"
check "--kill-server-after kills the first server with SIGKILL (exit 137)" grep -q 'parameter-server ended with exit code 137' "$err"
check "the run's code is the standby's once the script has killed the active one" test "$rc" -eq 0
check "the standby's JSON lines are printed" grep -q final_loss "$out"
check "nothing is left after --kill-server-after" none_left "$err"
port=$((port + 1)) # the second server's

export FAKE_SERVER_SECONDS=100
run interrupted INT 2 -- -- train regression --json
check "Ctrl-C (SIGINT) exits 130" test "$rc" -eq 130
check "Ctrl-C stops everything within a few seconds" test "$took" -le 6
check "nothing is left after Ctrl-C" none_left "$err"

run terminated TERM 2 -- -- train regression --json
check "SIGTERM exits 143" test "$rc" -eq 143
check "nothing is left after SIGTERM" none_left "$err"

run timeout -- --timeout 3 -- train regression --json
check "--timeout exits 124" test "$rc" -eq 124
check "--timeout stops everything on time" test "$took" -le 7
check "nothing is left after --timeout" none_left "$err"

FAKE_IGNORE_TERM=worker run stubborn -- --timeout 2 -- train regression --json
check "nodes that ignore SIGTERM get SIGKILL" test "$(grep -c 'SIGKILL' "$err")" -eq 2
check "nothing is left after nodes that ignore SIGTERM" none_left "$err"
unset FAKE_SERVER_SECONDS

next_port
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(60)' "$port" &
listener=$!
for _ in $(seq 50); do port_free "$port" || break; sleep 0.1; done
rc=0
"$cluster" --port "$port" --logs "$work/busy-logs" -- train regression >"$work/busy.out" 2>"$work/busy.err" || rc=$?
check "a port in use is refused with exit code 2" test "$rc" -eq 2
check "a port in use is refused with a message naming it" grep -q "port $port is in use" "$work/busy.err"
check "a refused start starts nothing" test "$(started "$work/busy.err")" -eq 0
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null
listener=""

for bad in "--workers 0 -- train regression" "--port 70000 -- train regression" "--timeout" "--what" "--workers 2"; do
  rc=0
  # shellcheck disable=SC2086 # the words are the arguments
  "$cluster" $bad >/dev/null 2>"$work/bad.err" || rc=$?
  check "bad arguments ($bad) exit 2 with one line" test "$rc" -eq 2 -a "$(wc -l <"$work/bad.err")" -eq 1
done

echo "$passed passed, $failed failed"
((failed == 0))
