#!/bin/bash
# Docker's health check: GET /ready on the node's management port (DBP_MANAGEMENT_PORT, which the image sets):
# healthy once the node is an Up member of its cluster. The image has no curl; bash's /dev/tcp is enough.
set -u
exec 3<>"/dev/tcp/127.0.0.1/${DBP_MANAGEMENT_PORT:-8558}" || exit 1
printf 'GET /ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
IFS= read -r -t 5 status <&3 || exit 1
case $status in
  "HTTP/1."?" 200"*) exit 0 ;;
  *) exit 1 ;;
esac
