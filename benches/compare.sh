#!/usr/bin/env bash
# A/B comparison of discordgateway against twilight-gateway on the same emulator workload.
#
# For every compression (none zlib zstd) and delivery mode (all = delivered raw, none =
# every event dropped by the library's own filter) it runs ours and theirs alternately,
# A B A B ..., PAIRS times; each run gets a fresh emulator process with the same seed as its
# partner, so both see the identical byte stream. It prints, per cell, the median of the
# per-pair ratios ours/theirs of events/s and of CPU time per event (theirs/ours), plus
# medians of the raw figures. All JSON lines are kept in $OUT/runs.jsonl.
#
# Then, for every compression, RSS_PAIRS pairs of idle runs with RSS_SHARDS shards
# (--events 0): memory per idle shard and startup time, medians per side.
#
# Last, FLOOR_RUNS runs of `discordgateway bench` (its own emulator) per compressed codec and
# delivery mode: decompression-only floor, in-process core, and the pipeline against both.
#
# Usage: benches/compare.sh            (env: PAIRS=5 EVENTS=200000 SHARDS=1 FLOOR_RUNS=3
#                                       COMPRESS="none zlib zstd" SUBSCRIBE="all none"
#                                       RSS_PAIRS=3 RSS_SHARDS=1000
#                                       OUT=target/compare CARGO_TARGET_DIR=...
#                                       SKIP_BUILD=1 reuses the binaries in $OUT)
set -euo pipefail
cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-5}
RSS_PAIRS=${RSS_PAIRS:-3}
RSS_SHARDS=${RSS_SHARDS:-1000}
FLOOR_RUNS=${FLOOR_RUNS:-3}
EVENTS=${EVENTS:-200000}
SHARDS=${SHARDS:-1}
COMPRESS=${COMPRESS:-"none zlib zstd"}
SUBSCRIBE=${SUBSCRIBE:-"all none"}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=${OUT:-$TARGET/compare}
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)" || true

DG="$OUT/discordgateway"
if [ -z "${SKIP_BUILD:-}" ]; then
    echo "== building (release)" >&2
    cargo build --release -q -p discordgateway-cli
    cp "$TARGET/release/discordgateway" "$DG"
    for c in $COMPRESS; do
        features=""
        [ "$c" != none ] && features="--features $c"
        # shellcheck disable=SC2086
        cargo build --release -q -p discordgateway-peer-twilight $features
        cp "$TARGET/release/peer-twilight" "$OUT/peer-twilight-$c"
    done
fi

EMU_PID=""
cleanup() { [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null || true; }
trap cleanup EXIT

# Starts an emulator for one run (seed $1, shards $2, events $3); sets EMU_PID and URL.
start_emulator() {
    local url_file="$OUT/emulator.url"
    : >"$url_file"
    "$DG" emulate --shards "$2" --guilds $(($2 * 4)) --max-concurrency "$2" \
        --identify-window-ms 100 --events-per-shard "$3" --rate max --seed "$1" \
        --cache-mb $(( $2 * $3 * 4 / 1024 + 256 )) >"$url_file" 2>/dev/null &
    EMU_PID=$!
    for _ in $(seq 100); do
        URL=$(head -n1 "$url_file")
        [ -n "$URL" ] && return 0
        sleep 0.05
    done
    echo "the emulator did not print its URL" >&2
    exit 1
}

# One run: side ($1 ours|theirs), compression ($2), subscribe ($3), pair ($4), shards ($5),
# events ($6), output file ($7). The same client runs twice against one emulator and the
# second run is kept: the first fills the emulator's stream cache and pre-built frames (for
# that client's intents), so the kept run measures the client, not the emulator's first pass.
run_one() {
    start_emulator "$4" "$5" "$6"
    local line
    [ "$6" -gt 0 ] && run_client "$@" >/dev/null
    line=$(run_client "$@")
    kill "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
    EMU_PID=""
    echo "{\"side\":\"$1\",\"pair\":$4,\"run\":$line}" >>"$7"
    echo "$1 $2 $3 x$5 pair $4: $(echo "$line" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("%s ev/s, %s cpu-ns/ev, %.0f B/idle shard, startup %.2f s" % (r["events_per_sec"], r["cpu_ns_per_event"], r["rss_bytes_per_idle_shard"], r["startup_seconds"]))')" >&2
}

# One client run (arguments as run_one's) against $URL; prints its JSON line.
run_client() {
    local line
    if [ "$1" = ours ]; then
        line=$("$DG" bench --url "$URL" --shards "$5" --events "$6" --compress "$2" \
            --subscribe "$3" --no-floor --json | tail -n1)
    else
        line=$("$OUT/peer-twilight-$2" --url "$URL" --shards "$5" --events "$6" \
            --compress "$2" --subscribe "$3" --json | tail -n1)
    fi
    echo "$line"
}

: >"$OUT/runs.jsonl"
: >"$OUT/rss.jsonl"
for c in $COMPRESS; do
    for s in $SUBSCRIBE; do
        for p in $(seq "$PAIRS"); do
            run_one ours "$c" "$s" "$p" "$SHARDS" "$EVENTS" "$OUT/runs.jsonl"
            run_one theirs "$c" "$s" "$p" "$SHARDS" "$EVENTS" "$OUT/runs.jsonl"
        done
    done
done
for c in $COMPRESS; do
    for p in $(seq "$RSS_PAIRS"); do
        run_one ours "$c" none "$p" "$RSS_SHARDS" 0 "$OUT/rss.jsonl"
        run_one theirs "$c" none "$p" "$RSS_SHARDS" 0 "$OUT/rss.jsonl"
    done
done
: >"$OUT/floor.jsonl"
for c in $COMPRESS; do
    [ "$c" = none ] && continue
    for s in $SUBSCRIBE; do
        for i in $(seq "$FLOOR_RUNS"); do
            "$DG" bench --shards "$SHARDS" --events "$EVENTS" --compress "$c" --subscribe "$s" \
                --seed "$i" --json | tail -n1 >>"$OUT/floor.jsonl"
            echo "floor $c $s run $i done" >&2
        done
    done
done

python3 - "$OUT/runs.jsonl" "$OUT/rss.jsonl" "$OUT/floor.jsonl" <<'PY'
import json, statistics, sys
from collections import defaultdict
runs = defaultdict(dict)
for line in open(sys.argv[1]):
    r = json.loads(line)
    key = (r["run"]["compress"], r["run"]["subscribe"])
    runs[key].setdefault(r["pair"], {})[r["side"]] = r["run"]
med = statistics.median
print(f"{'compress':8} {'mode':9} {'pairs':>5} {'eps ratio':>9} {'cpu ratio':>9} "
      f"{'ours ev/s':>10} {'theirs ev/s':>11} {'ours ns/ev':>10} {'theirs ns/ev':>12} "
      f"{'ours alloc/ev':>13} {'theirs alloc/ev':>15} {'emu ns/ev':>9} {'headroom':>8}")
for (c, s), pairs in sorted(runs.items()):
    full = [p for p in pairs.values() if "ours" in p and "theirs" in p]
    o = [p["ours"] for p in full]
    t = [p["theirs"] for p in full]
    eps = med(p["ours"]["events_per_sec"] / p["theirs"]["events_per_sec"] for p in full)
    cpu = med(p["theirs"]["cpu_ns_per_event"] / p["ours"]["cpu_ns_per_event"] for p in full)
    field = "allocs_per_dropped_event" if s == "none" else "allocs_per_delivered_event"
    mode = "dropped" if s == "none" else "delivered"
    print(f"{c:8} {mode:9} {len(full):5} {eps:9.2f} {cpu:9.2f} "
          f"{med(r['events_per_sec'] for r in o):10.0f} {med(r['events_per_sec'] for r in t):11.0f} "
          f"{med(r['cpu_ns_per_event'] for r in o):10.0f} {med(r['cpu_ns_per_event'] for r in t):12.0f} "
          f"{med(r[field] for r in o):13.4f} {med(r[field] for r in t):15.4f} "
          f"{med(r.get('emulator_cpu_ns_per_event') or 0 for r in o + t):9.0f} "
          f"{min(r.get('emulator_headroom') or 0 for r in o + t):8.1f}")
print("eps ratio: median over pairs of ours/theirs events per second; "
      "cpu ratio: median over pairs of theirs/ours client CPU ns per event; "
      "emu ns/ev: median emulator CPU per event over both sides' runs; "
      "headroom: the lowest client/emulator CPU-per-event ratio of the cell's runs")
rss = defaultdict(lambda: defaultdict(dict))
for line in open(sys.argv[2]):
    r = json.loads(line)
    rss[r["run"]["compress"]][r["pair"]][r["side"]] = r["run"]
print()
print(f"{'compress':8} {'pairs':>5} {'shards':>6} {'ours B/shard':>12} {'theirs B/shard':>14} "
      f"{'ratio':>6} {'ours startup s':>14} {'theirs startup s':>16}")
for c, pairs in sorted(rss.items()):
    full = [p for p in pairs.values() if "ours" in p and "theirs" in p]
    if not full:
        continue
    o = [p["ours"] for p in full]
    t = [p["theirs"] for p in full]
    ratio = med(p["ours"]["rss_bytes_per_idle_shard"] / p["theirs"]["rss_bytes_per_idle_shard"] for p in full)
    print(f"{c:8} {len(full):5} {o[0]['shards']:6} {med(r['rss_bytes_per_idle_shard'] for r in o):12.0f} "
          f"{med(r['rss_bytes_per_idle_shard'] for r in t):14.0f} {ratio:6.2f} "
          f"{med(r['startup_seconds'] for r in o):14.2f} {med(r['startup_seconds'] for r in t):16.2f}")
print("ratio: median over pairs of ours/theirs RSS growth per idle shard")
floor = defaultdict(list)
for line in open(sys.argv[3]):
    r = json.loads(line)
    floor[(r["compress"], r["subscribe"])].append(r)
print()
print(f"{'compress':8} {'mode':9} {'runs':>4} {'floor ns/ev':>11} {'floor MB/s':>10} {'core ns/ev':>10} "
      f"{'core/floor':>10} {'pipe ns/ev':>10} {'pipe/floor':>10}")
for (c, s), rs in sorted(floor.items()):
    mode = "dropped" if s == "none" else "delivered"
    print(f"{c:8} {mode:9} {len(rs):4} {med(r['floor_ns_per_event'] for r in rs):11.0f} "
          f"{med(r['floor_mb_out_per_sec'] for r in rs):10.0f} {med(r['core_ns_per_event'] for r in rs):10.0f} "
          f"{med(r['core_fraction_of_floor'] for r in rs):10.2f} {med(r['cpu_ns_per_event'] for r in rs):10.0f} "
          f"{med(r['pipeline_fraction_of_floor'] for r in rs):10.2f}")
print("x/floor: floor ns per event / x ns per event (1.0 = as fast as decompression alone); "
      "pipe = client CPU per event over sockets")
PY
