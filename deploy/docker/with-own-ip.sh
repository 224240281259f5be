#!/bin/sh
# Runs dbp with DBP_HOSTNAME set to this container's own IP address, unless DBP_HOSTNAME is set already.
# A replica of a service has no name of its own that the other nodes can reach, and an Akka node must
# advertise an address the others can connect to. Usage: with-own-ip DBP-ARGUMENTS...
set -eu
if [ -z "${DBP_HOSTNAME:-}" ]; then
  ip=$(hostname -i 2>/dev/null || true)
  if [ -z "$ip" ]; then ip=$(getent hosts "$(cat /etc/hostname)" || true); fi
  ip=${ip%% *} # the first address; both commands can print more than one
  if [ -z "$ip" ]; then
    echo "with-own-ip: cannot tell this container's IP address; set DBP_HOSTNAME" >&2
    exit 1
  fi
  case $ip in 127.* | ::1) echo "with-own-ip: $ip is a loopback address: no other machine can reach it" >&2 ;; esac
  DBP_HOSTNAME=$ip
  export DBP_HOSTNAME
fi
exec dotnet /app/dbp.dll "$@"
