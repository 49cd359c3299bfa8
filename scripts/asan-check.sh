#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer (CMakeLists.txt ALEXNET_SANITIZE)
# in its own folder (build-asan/, the Release build is left alone) and runs the kernel tests against it:
# node loads the sanitized addon through ALEXNET_CLI_ADDON, with libasan preloaded (node itself is not
# built with ASan). Exit status: the tests', non-zero on any sanitizer report (halt_on_error).
#   scripts/asan-check.sh [test files...]     default: dist/test/kernels.test.js dist/test/plan.test.js
set -euo pipefail
cd "$(dirname "$0")/.."
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(dist/test/kernels.test.js dist/test/plan.test.js)

npx cmake-js compile --out build-asan --CDALEXNET_SANITIZE=ON --CDALEXNET_CUDA=OFF --parallel "${ASAN_JOBS:-2}"
addon="$PWD/build-asan/Release/alexnet_native.node"
libasan=$(g++ -print-file-name=libasan.so)
libubsan=$(g++ -print-file-name=libubsan.so)
[ -f "$libasan" ] || { echo "asan-check: libasan.so not found (g++ -print-file-name)" >&2; exit 1; }
npm run build:ts

# detect_leaks=0: V8 and Node keep allocations until exit by design; the kernels' own leaks would show
# as growth in the tests' RSS, not here. halt_on_error: the first report fails the run.
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=86"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87"
export ALEXNET_CLI_ADDON="$addon"
LD_PRELOAD="$libasan $libubsan" node --test --test-concurrency=1 "${tests[@]}"
echo "asan-check: no sanitizer report in ${tests[*]}"
