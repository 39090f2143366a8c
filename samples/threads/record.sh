#!/usr/bin/env bash
# Rebuilds the thread workloads and re-records the fixtures of samples/threads/ with `cpath record`
# (see README.md here). Needs root, bpftrace (apt-get install -y bpftrace), gcc, python3, and a
# built cpath (npm run build in the repository root). Optional: systemtap-sdt-dev, for handoff's
# USDT probe.
#
#   sudo samples/threads/record.sh            (both)
#   sudo samples/threads/record.sh handoff    (one)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cpath=(node "$root/bin/cpath.js")
[ -f "$root/dist/src/cli/main.js" ] || { echo "record.sh: cpath is not built: run npm run build in $root" >&2; exit 1; }
which="${1:-all}"

if [ "$which" = all ] || [ "$which" = handoff ]; then
  mkdir -p "$here/build"
  gcc -O1 -g -fno-omit-frame-pointer -pthread -Wall -Wextra -o "$here/build/handoff" "$here/handoff.c"
  bin="$here/build/handoff"
  usdt=()
  if bpftrace -l "usdt:$bin:*" 2>/dev/null | grep -q request_done; then usdt=(--usdt "$bin:handoff:request_done"); fi
  "${cpath[@]}" record --stacks \
    --uprobe "$bin:serve_order" --uprobe "$bin:validate" --uprobe "$bin:query" --uprobe "$bin:encode_row" "${usdt[@]}" \
    -o "$here/handoff.events.log.gz" -- "$bin" 20 > "$here/build/handoff.stdout"
fi

if [ "$which" = all ] || [ "$which" = node-pool ]; then
  node="$(node -p process.execPath)"
  "${cpath[@]}" record \
    --uprobe "$node:uv_queue_work" --uprobe "$node:uv__queue_work" --uprobe "$node:uv__work_done" --uprobe "$node:uv__fs_work" \
    -o "$here/node-pool.events.log.gz" -- "$node" "$here/node-pool.mjs" "$here/node-pool.otlp.jsonl" 30 > "$here/build/node-pool.stdout"
fi
ls -l "$here"/*.events.log.gz "$here"/*.otlp.jsonl 2>/dev/null
