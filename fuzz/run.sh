#!/bin/sh
# Runs one fuzz target on one core: fuzz/run.sh TARGET SECONDS
#
# New inputs go to a scratch corpus ($FUZZ_WORK, default /tmp/discordgateway-fuzz) so the
# seeds committed in fuzz/corpus/TARGET stay small; libFuzzer's log (fuzz-0.log, written
# because of -jobs=1) and any crash artifacts land there too. Needs cargo-fuzz; the stable
# toolchain accepts cargo-fuzz's -Z flags (AddressSanitizer) under RUSTC_BOOTSTRAP=1.
set -eu
target=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
work=${FUZZ_WORK:-/tmp/discordgateway-fuzz}
mkdir -p "$work/corpus/$target" "$work/artifacts/$target" "$work/logs/$target"
cd "$work/logs/$target"
RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir "$here" "$target" \
    "$work/corpus/$target" "$here/corpus/$target" -- \
    -max_total_time="$seconds" -jobs=1 -workers=1 \
    -artifact_prefix="$work/artifacts/$target/"
cp fuzz-0.log "run-$(date +%Y%m%dT%H%M%S)-${seconds}s.log"
grep -E '^#[0-9]+[[:space:]]+DONE|^Done|^stat::|SUMMARY|panicked' fuzz-0.log || true
