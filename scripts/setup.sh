#!/usr/bin/env bash
# Installs the Debian packages dbp uses, where they are missing and this user may install them:
# OpenBLAS (fast matrix products; without it dbp falls back to managed code and says so) and Graphviz
# (renders graph pictures to SVG/PNG; without it dbp writes DOT text only), and DejaVu fonts (the plots'
# text; the Skia build ScottPlot uses reads font files directly, and without any draws no text at all).
set -euo pipefail
packages=(libopenblas0 graphviz fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "setup: not installing ${missing[*]} (needs root and apt-get); dbp works without them, more slowly or with fewer pictures" >&2
fi
