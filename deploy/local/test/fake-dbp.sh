#!/usr/bin/env bash
# A stand-in for `dbp node`, for testing cluster.sh's handling of processes without the real cluster.
# The parameter server prints two JSON lines after FAKE_SERVER_SECONDS (default 3) and exits with FAKE_EXIT
# (default 0). A worker exits 0 a second after the server would have when FAKE_WORKERS_EXIT is set; otherwise
# it waits on a child `sleep` until killed, so a grandchild is left behind if only the worker's own pid were
# killed. FAKE_IGNORE_TERM=worker|parameter-server makes that role (and its child) ignore SIGTERM.
role=""
all=("$@")
if [[ ${1:-} == cert ]]; then # dbp cert --out FILE
  echo "fake certificate" >"$3"
  exit 0
fi
while (($# > 0)); do
  case $1 in
    --role) role=$2; shift 2 ;;
    --) shift; break ;;
    *) shift ;;
  esac
done
echo "fake $role, pid $$, args: ${all[*]}" >&2
if [[ ${FAKE_IGNORE_TERM:-} == "$role" ]]; then trap '' TERM; fi
seconds=${FAKE_SERVER_SECONDS:-3}
case $role in
  parameter-server)
    echo "dbp: parameter server at (fake), waiting for workers; the active parameter server, from step 0" >&2
    sleep "$seconds" &
    echo "fake server's child sleep (pid $!)" >&2
    wait $!
    echo '{"step": 1, "loss": 0.5}'
    echo "{\"final_loss\": 0.01, \"train_args\": \"$*\"}"
    exit "${FAKE_EXIT:-0}"
    ;;
  worker)
    echo "dbp: worker (fake) joined (no TLS)" >&2
    if [[ -n ${FAKE_WORKERS_EXIT:-} ]]; then
      sleep $((seconds + 1))
      exit 0
    fi
    sleep 100000 &
    echo "fake worker's child sleep (pid $!)" >&2
    wait $!
    ;;
  *) echo "fake-dbp: no --role" >&2; exit 2 ;;
esac
