#!/usr/bin/env bash
# npm run test:valgrind
#
# Runs scripts/valgrind-smoke.js (sync and async paths, timeouts, aborts,
# close() with waiters, dropped handles, a worker terminated mid-wait,
# releaseOnExit at exit) under valgrind's memcheck with --leak-check=full,
# against this checkout's build/Release addon, and fails when memcheck blames
# the addon: a definite or indirect leak of a block the addon allocated, or an
# invalid read, write or free, or a use of uninitialised memory, whose stack
# goes through posix_semaphore.node. Node's and V8's own reports (they keep
# memory until exit by design) are counted and shown, not judged.
#
# node runs with --jitless (no generated code for valgrind to translate; the
# addon is the same) and --expose-gc (the smoke collects dropped handles).
# The full memcheck log is left in $TMPDIR/posix-semaphore-valgrind.log.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
if ! command -v valgrind >/dev/null; then
  echo "valgrind: not installed (apt-get install valgrind)" >&2
  exit 1
fi
addon="$root/build/Release/posix_semaphore.node"
if [ ! -f "$addon" ]; then
  echo "valgrind: $addon is missing; build it first (npm run build:native)" >&2
  exit 1
fi
log="${TMPDIR:-/tmp}/posix-semaphore-valgrind.log"

echo "valgrind: memcheck of scripts/valgrind-smoke.js (node --jitless; 15 s or so)"
status=0
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --num-callers=40 --track-origins=no \
  --log-file="$log" \
  node --jitless --expose-gc "$root/scripts/valgrind-smoke.js" || status=$?
if [ "$status" != 0 ]; then
  echo "valgrind: the smoke failed (status $status); see $log" >&2
  exit 1
fi

# Split the log into records (blank "==PID== " lines separate them) and sort
# them. A leak is the addon's when the addon itself allocated the block (the
# first frame under the allocator is in posix_semaphore.node); blocks that
# Node-API allocates on its behalf (napi_create_external's reference for a
# handle still in the heap at exit, which Node does not free then) are
# Node's, and are listed apart. A memory error is the addon's when any frame
# of it is.
node - "$log" "$root/native" <<'EOF'
const fs = require('node:fs');
const log = fs.readFileSync(process.argv[2], 'utf8');
const records = log
  .split(/\n==\d+==\s*\n/)
  .map((r) => r.replace(/^==\d+== ?/gm, '').trim())
  .filter(Boolean);
// The addon, or a frame in one of native/'s sources ("(wait_thread.cc:42)").
const SOURCES = fs
  .readdirSync(process.argv[3], { recursive: true })
  .map((f) => require('node:path').basename(f))
  .filter((f) => /\.(cc|h)$/.test(f));
const ADDON = new RegExp(`posix_semaphore\\.node|\\((${SOURCES.map((f) => f.replace('.', '\\.')).join('|')}):\\d+\\)`);
const frames = (r) => r.split('\n').filter((l) => /^\s*(at|by) 0x/.test(l));
const allocatedBy = (r) => frames(r).find((f) => !/vg_replace_malloc|vgpreload_memcheck/.test(f)) || '';
const leaks = records.filter((r) => /are (definitely|indirectly) lost/.test(r));
const ourLeaks = leaks.filter((r) => ADDON.test(allocatedBy(r)));
const napiLeaks = leaks.filter((r) => !ourLeaks.includes(r) && ADDON.test(r));
const errors = records.filter((r) => /^(Invalid (read|write|free)|Mismatched free|Conditional jump|Use of uninitialised|Syscall param|Source and destination overlap)/m.test(r));
const ourErrors = errors.filter((r) => ADDON.test(r));
const bytes = (rs) => rs.reduce((n, r) => n + Number((/^([\d,]+) (\([\d,]+ direct, [\d,]+ indirect\) )?bytes/.exec(r) || [0, '0'])[1].replace(/,/g, '')), 0);
const summary = (/LEAK SUMMARY:[\s\S]*?suppressed:[^\n]*/.exec(log) || ['(no leak summary)'])[0];
console.log(summary.replace(/^/gm, '  '));
console.log(`valgrind: ${leaks.length} definite/indirect leak record(s) in all (${bytes(leaks)} bytes)`);
console.log(`valgrind:   allocated by the addon itself: ${ourLeaks.length} (${bytes(ourLeaks)} bytes)`);
const via = [...new Set(napiLeaks.map((r) => allocatedBy(r).replace(/^.*?: /, '').replace(/ \(in .*$/, '')))].join(', ');
console.log(`valgrind:   allocated by Node-API for the addon's handles still in the heap at exit: ${napiLeaks.length} (${bytes(napiLeaks)} bytes${via ? `, in ${via}` : ''})`);
console.log(`valgrind: ${errors.length} memory error record(s) in all (V8's conservative stack scan, mostly), ${ourErrors.length} through the addon`);
for (const r of [...ourLeaks, ...ourErrors]) console.log(`----\n${r}`);
if (ourLeaks.length + ourErrors.length > 0) {
  console.log(`valgrind: FAILED: the addon leaks or misuses memory (log: ${process.argv[2]})`);
  process.exit(1);
}
console.log(`valgrind: clean: no definite or indirect leak allocated by posix_semaphore.node, no memory error through it (log: ${process.argv[2]})`);
EOF
