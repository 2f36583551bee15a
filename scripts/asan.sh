#!/usr/bin/env bash
# npm run test:asan [-- test/api/async.test.js ...]
#
# Runs the test suite against the addon built with AddressSanitizer and
# UndefinedBehaviorSanitizer, without touching this checkout's build/ or
# dist/ (other processes may be loading them): a throwaway copy of the
# package is made in a temporary directory (dist/ compiled there, native/,
# binding.gyp, test/, examples/, esm/, scripts/, node_modules as a symlink),
# the addon is compiled there with -fsanitize=address,undefined, and mocha
# runs there with the ASan runtime preloaded into node (node itself is not
# instrumented) and inherited by every child process the tests start.
#
# Leak detection is off: V8 and Node keep memory until exit by design, and
# the leak report would be theirs. Leaks of the addon are what
# `npm run test:valgrind` looks for. UBSan errors are fatal
# (-fno-sanitize-recover), ASan errors always are.
#
# Without arguments, every test file of `npm test` but test/build/pack.test.js
# (it packs and installs the package, a prebuild included, which says nothing
# about the addon's memory) and test/process/memory.test.js (ASan's
# quarantine of freed memory makes RSS grow by design). POSIX_SEMAPHORE_ASAN_KEEP=1 keeps the temporary copy.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
compiler="${CXX:-g++}"
asan_runtime="$("$compiler" -print-file-name=libasan.so)"
if [ ! -e "$asan_runtime" ]; then
  echo "asan: no libasan.so for $compiler (install gcc's libasan, or set CXX)" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/posix-semaphore-asan.XXXXXX")"
chmod 755 "$work" # some tests run a child as another user
cleanup() {
  if [ "${POSIX_SEMAPHORE_ASAN_KEEP:-}" = 1 ]; then
    echo "asan: kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

echo "asan: copying the package to $work"
cp "$root/package.json" "$root/binding.gyp" "$root/tsconfig.json" "$root/.mocharc.js" "$work/"
cp -r "$root/native" "$root/src" "$root/test" "$root/scripts" "$work/"
for optional in examples esm; do
  if [ -d "$root/$optional" ]; then cp -r "$root/$optional" "$work/"; fi
done
ln -s "$root/node_modules" "$work/node_modules"

echo "asan: compiling TypeScript"
(cd "$work" && node node_modules/typescript/bin/tsc -p tsconfig.json)

echo "asan: building the addon with -fsanitize=address,undefined"
# No vptr check: it reads an object's type through a pipe (to learn whether
# the memory is readable), which fails in the EMFILE test, where the process
# has no descriptor left, and reports a valid shared_ptr as "invalid vptr".
sanitize="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
(
  cd "$work"
  CXX="$compiler" CXXFLAGS="$sanitize" CFLAGS="$sanitize" LDFLAGS="-fsanitize=address,undefined" \
    node scripts/lib/build.js node-gyp .
)
addon="$work/build/Release/posix_semaphore.node"
if ! nm -D "$addon" | grep __asan_init >/dev/null; then
  echo "asan: $addon has no ASan instrumentation (CXXFLAGS ignored?)" >&2
  exit 1
fi

if [ "$#" -gt 0 ]; then
  tests=("$@")
else
  tests=()
  while IFS= read -r file; do
    case "$file" in
      test/build/pack.test.js | test/process/memory.test.js) ;;
      *) tests+=("$file") ;;
    esac
  done < <(cd "$work" && find test/unit test/api test/process test/build -name '*.test.js' | sort)
fi

log="$work/asan.log"
echo "asan: running ${#tests[@]} test file(s) with $asan_runtime preloaded"
status=0
(
  cd "$work"
  export LD_PRELOAD="$asan_runtime"
  # detect_leaks=0: V8's by design. handle_segv=0 and allow_user_segv_handler: V8's own handlers.
  export ASAN_OPTIONS="detect_leaks=0:handle_segv=0:allow_user_segv_handler=1:abort_on_error=1:print_summary=1:log_path=$work/asan-report"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$work/ubsan-report"
  node node_modules/mocha/bin/mocha.js --no-config --require test/support/setup.js --timeout 60000 --slow 10000 --reporter dot "${tests[@]}"
) 2>&1 | tee "$log" || status=$?

reports=$(ls "$work"/asan-report.* "$work"/ubsan-report.* 2>/dev/null || true)
if [ -n "$reports" ]; then
  echo "asan: sanitizer reports:" >&2
  for report in $reports; do
    echo "----- $report" >&2
    cat "$report" >&2
  done
  status=1
fi
if grep -qE "ERROR: AddressSanitizer|runtime error:" "$log"; then status=1; fi
if [ "$status" = 0 ]; then
  echo "asan: clean (no AddressSanitizer or UndefinedBehaviorSanitizer report)"
else
  echo "asan: FAILED (status $status)" >&2
fi
exit "$status"
