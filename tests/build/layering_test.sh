#!/usr/bin/env bash
# cmake/check_layering.cmake: the source tree passes, and a copy in which
# sim/ includes models/ (or models/ includes app/) fails with the file named.
set -euo pipefail
root=$1
script=$root/cmake/check_layering.cmake
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake -DROOT="$root" -DSTAMP="$work/ok.stamp" -P "$script"
test -f "$work/ok.stamp" || { echo "FAIL: the source tree did not pass"; exit 1; }

check_rejects() {  # layer file include expected-message [open close]
  rm -rf "$work/tree" && mkdir -p "$work/tree/sim" "$work/tree/models"
  printf '#pragma once\n#include %s%s%s\n' "${5:-\"}" "$3" "${6:-\"}" > "$work/tree/$1/$2"
  if cmake -DROOT="$work/tree" -DSTAMP="$work/bad.stamp" -P "$script" > "$work/out" 2>&1; then
    echo "FAIL: $1/$2 including $3 was accepted"; exit 1
  fi
  grep -qF "$4" "$work/out" || { echo "FAIL: message lacks '$4':"; cat "$work/out"; exit 1; }
  test ! -f "$work/bad.stamp" || { echo "FAIL: stamp written on failure"; exit 1; }
}
check_rejects sim clock.h models/objects.h 'sim/clock.h includes "models/objects.h": sim/ may include only sim/'
check_rejects models pod.h app/scenario.h 'models/pod.h includes "app/scenario.h": models/ may include only sim/ and models/'
check_rejects sim queue.h app/main.h 'sim/queue.h includes "app/main.h"' '<' '>'
echo "layering: ok"
