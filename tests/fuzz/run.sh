#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD_DIR [SECONDS]: fuzzes the stanza path for a
# bounded time (default 60 s) from the committed corpus; any crash, leak,
# sanitizer report, timeout or broken one-reply invariant fails the run and
# leaves the input under BUILD_DIR/fuzz-artifacts/.  New interesting
# inputs go to BUILD_DIR/fuzz-corpus (merge them into tests/fuzz/corpus
# with -merge=1 when they are worth keeping).
set -u -o pipefail
build=$1
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/fuzz-corpus" "$build/fuzz-artifacts"
exec "$build/tests/fuzz/fuzz_stanza" -max_total_time="$secs" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/" \
    "$build/fuzz-corpus" "$here/corpus"
