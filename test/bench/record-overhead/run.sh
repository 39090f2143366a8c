#!/usr/bin/env bash
# Overhead of `cpath record` on the traced workload's own run time (root, bpftrace, gcc, a built
# cpath). Each workload reports its own wall time (start-up of cpath/bpftrace excluded), runs
# alternate between plain and recorded, RUNS times each; prints every run and the medians.
#   sudo test/bench/record-overhead/run.sh [RUNS=5]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
runs="${1:-5}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -pthread -o "$tmp/busy" "$here/busy.c"
gcc -O1 -g -fno-omit-frame-pointer -pthread -o "$tmp/handoff" "$root/samples/threads/handoff.c"
rec() { node "$root/bin/cpath.js" record "$@" 2>"$tmp/rec.err"; }
h="$tmp/handoff"
hprobes=(--uprobe "$h:serve_order" --uprobe "$h:validate" --uprobe "$h:query" --uprobe "$h:encode_row")
# handoff: the sum of its 20 serve_order times (ms).
hsum() { awk '{s += $3} END {printf "%.1f\n", s}'; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

bench() { # name, plain command, recorded command (each prints one number)
  local name="$1" plain="$2" recorded="$3" p=() r=()
  for i in $(seq "$runs"); do
    p+=("$(eval "$plain")")
    r+=("$(eval "$recorded")")
  done
  local pm rm
  pm="$(printf '%s\n' "${p[@]}" | median)"
  rm="$(printf '%s\n' "${r[@]}" | median)"
  printf '%-42s plain %-40s recorded %-40s median %s -> %s ms (%+.1f%%)\n' "$name" "${p[*]}" "${r[*]}" "$pm" "$rm" "$(echo "($rm - $pm) * 100 / $pm" | bc -l)"
}

echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) CPUs, bpftrace $(bpftrace --version | awk '{print $2}'), load $(cut -d' ' -f1-3 /proc/loadavg)"
bench "busy, 1 thread, system-wide" "$tmp/busy 1" "rec -o $tmp/b.log -- $tmp/busy 1"
bench "busy, 2 threads (all CPUs), system-wide" "$tmp/busy 2" "rec -o $tmp/b.log -- $tmp/busy 2"
bench "busy, 2 threads, --target-only" "$tmp/busy 2" "rec --target-only -o $tmp/b.log -- $tmp/busy 2"
bench "handoff 20, system-wide + 4 uprobes" "$h 20 | hsum" "rec ${hprobes[*]} -o $tmp/h.log -- $h 20 | hsum"
bench "handoff 20, + --stacks" "$h 20 | hsum" "rec --stacks ${hprobes[*]} -o $tmp/h.log -- $h 20 | hsum"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
