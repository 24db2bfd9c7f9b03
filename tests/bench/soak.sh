#!/usr/bin/env bash
# tests/bench/soak.sh [MINUTES] [BUILD_DIR] — soak the aneforge element.
#
# Runs the camera-shaped pipeline of tests/bench/soak.c (a live 30 fps
# source, JPEG decode, aneforge, aneforgeoverlay, JPEG encode, fakesink) for
# MINUTES (default 60, fractions allowed), in live and in offline mode at
# once (two processes), with the face detector of pipelines/common.sh, and
# samples each every few seconds into OUT/soak-MODE.csv (RSS, fds, threads,
# the element's counters, the load average, per-frame latency, result age and
# capture-to-sink delay percentiles; OUT/soak-MODE.raw has every per-frame
# value). Then prints, per mode, the pass criteria and exits 1 if one fails:
#   rss      the least-squares slope of RSS after the warm-up (a quarter of
#            the run, 30 s .. 5 min) below 1 MiB per hour, scaled as
#            1 MiB/h * 60 / MINUTES for runs shorter than an hour (the same
#            ~1 MiB of growth over the run that a one-hour run allows);
#   sustained  RSS growth per frame in each third of the measured span: the
#            median of the three at most 32 bytes per frame (a one-time step
#            of the allocator or a cache lands in one third, a leak grows all
#            three; over 2 minutes this catches leaks that the scaled slope,
#            ~290 bytes per frame at 30 fps, lets through);
#   fds, threads  no more at the end than at the end of the warm-up;
#   latency, age, e2e  flat: p99 of the second half of the measured span at
#            most 1.5 x the first half's p99 plus one frame interval; the 1.5
#            grows with the load average when the second half ran on a busier
#            machine (1.5 x load2 / load1), since on a shared machine every
#            latency follows the load.
# and, with gnuplot, a plot (OUT/soak.png, or $AF_SOAK_PLOT; AF_SOAK_PLOT=
# for none). BUILD_DIR defaults to build; OUT to BUILD_DIR/soak
# ($AF_SOAK_OUT). AF_SOAK_EVERY sets the sampling period (default 5 s, 2 s
# for runs under 10 minutes), AF_SOAK_SIZE the frame size (default 320x240).
# AF_SOAK_REPORT=1 runs nothing: it judges and plots the CSVs already in OUT.
# A benchmark: on a loaded machine the source drops frames (the CSV's frames
# column falls below t * 30) and the latencies follow the load (load1 column).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
minutes=${1:-60}
build=$(cd "${2:-$root/build}" && pwd)
out=${AF_SOAK_OUT:-$build/soak}
plot=${AF_SOAK_PLOT-$out/soak.png}
size=${AF_SOAK_SIZE:-320x240}
fps=30
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60 + 0.5); print (s < 10 ? 10 : s) }')
every=${AF_SOAK_EVERY:-$(awk -v s="$seconds" 'BEGIN { print (s < 600 ? 2 : 5) }')}
warm=$(awk -v s="$seconds" 'BEGIN { w = int(s / 4); print (w < 30 ? 30 : (w > 300 ? 300 : w)) }')
soak="$build/tests/gst/soak"
[ -x "$soak" ] || { echo "soak.sh: $soak not built (ninja -C $build)" >&2; exit 1; }
mkdir -p "$out"

. "$root/pipelines/common.sh"
AF_BUILD_ROOT=$build af_setup "$root"
export GST_PLUGIN_PATH="$build/gst"
export GST_REGISTRY="$out/registry.bin"
af_face_model
model=$af_model

echo "soak.sh: $minutes min ($seconds s, sampled every $every s, warm-up $warm s), $size at $fps fps,"
echo "  model $model ($af_face_kind), live and offline in parallel, output in $out"
pids=()
[ -z "${AF_SOAK_REPORT:-}" ] || modes_to_run=
for mode in ${modes_to_run-live offline}; do
  "$soak" --model "$model" --mode "$mode" --seconds "$seconds" --every "$every" \
    --width "${size%x*}" --height "${size#*x}" --fps "$fps" \
    --csv "$out/soak-$mode.csv" --raw "$out/soak-$mode.raw" >"$out/soak-$mode.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "soak.sh: the $([ "$i" = 0 ] && echo live || echo offline) run failed:" >&2
    tail -5 "$out/soak-$([ "$i" = 0 ] && echo live || echo offline).log" >&2
    status=1
  fi
done
[ "$status" = 0 ] || exit 1

# p99 of one kind of per-frame value over [from, to) seconds of a raw file
p99 () {
  awk -F, -v k="$2" -v a="$3" -v b="$4" '$2 == k && $1 >= a && $1 < b { print $3 }' "$1" |
    sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "nan"; exit }
      r = int(0.99 * NR + 0.999999); print v[r < 1 ? 1 : r] }'
}

# judge MODE: prints the criteria of one run; returns 1 if one fails
judge () {
  local csv="$out/soak-$1.csv" raw="$out/soak-$1.raw" fail=0 end mid
  end=$(awk -F, 'NR > 1 { t = $1 } END { print t }' "$csv")
  mid=$(awk -v w="$warm" -v e="$end" 'BEGIN { print (w + e) / 2 }')
  # RSS slope after the warm-up, fds and threads at its end and at the end
  awk -F, -v w="$warm" -v e="$end" -v m="$minutes" -v mode="$1" -v fps="$fps" 'NR > 1 && $1 >= w {
      n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2
      k = e > w ? int(3 * ($1 - w) / (e - w)) : 0; k = k > 2 ? 2 : k
      if (!(k in ra)) { ra[k] = $2; fa[k] = $5 }
      rb[k] = $2; fb[k] = $5
      if (n == 1) { f0 = $3; t0 = $4; r0 = $2; fr0 = $5 }
      f1 = $3; t1 = $4; r1 = $2; fr1 = $5; load += $8; lmax = $8 > lmax ? $8 : lmax
    } END {
      if (n < 3) { print mode ": FAIL too few samples after the warm-up"; exit 1 }
      slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)   # KiB per second
      mib_h = slope * 3600 / 1024
      limit = m < 60 ? 60 / m : 1
      span = $1 - w
      printf "%s: %d frames, %d after the warm-up (%.1f fps of %d), load average %.1f mean, %.1f max\n",
        mode, fr1, fr1 - fr0, (fr1 - fr0) / (span > 0 ? span : 1), fps, load / n, lmax
      bad = 0
      ok = mib_h < limit
      printf "%s: %s rss slope %+.3f MiB/h (limit %.2f), %d -> %d KiB after the warm-up, %+.1f bytes/frame\n",
        mode, ok ? "PASS" : "FAIL", mib_h, limit, r0, r1, (r1 - r0) * 1024 / (fr1 > fr0 ? fr1 - fr0 : 1)
      bad += !ok
      # sustained growth: the median growth per frame of the three thirds (a
      # one-time cache or arena step lands in one third, a leak in all three;
      # the median, not the smallest, since a fragmented heap can absorb a
      # leak for a while)
      for (k = 0; k < 3; k++) {
        g[k] = (k in ra) && fb[k] > fa[k] ? (rb[k] - ra[k]) * 1024 / (fb[k] - fa[k]) : 0
        thirds = thirds sprintf("%s%+.1f", k ? " " : "", g[k])
      }
      sus = g[0] > g[1] ? (g[1] > g[2] ? g[1] : (g[0] > g[2] ? g[2] : g[0])) \
                        : (g[0] > g[2] ? g[0] : (g[1] > g[2] ? g[2] : g[1]))
      ok = sus <= 32
      printf "%s: %s rss sustained growth %+.1f bytes/frame (limit 32; thirds %s)\n",
        mode, ok ? "PASS" : "FAIL", sus, thirds
      bad += !ok
      printf "%s: %s fds %d -> %d\n", mode, f1 <= f0 ? "PASS" : "FAIL", f0, f1
      bad += f1 > f0
      printf "%s: %s threads %d -> %d\n", mode, t1 <= t0 ? "PASS" : "FAIL", t0, t1
      bad += t1 > t0
      exit bad > 0
    }' "$csv" || fail=1
  local kind a b ok slack
  slack=$(awk -v f="$fps" 'BEGIN { print 1000 / f }')
  # the load average of each half: on a shared machine latencies follow it
  local la lb ratio
  la=$(awk -F, -v a="$warm" -v b="$mid" 'NR > 1 && $1 >= a && $1 < b { s += $8; n++ } END { print n ? s / n : 0 }' "$csv")
  lb=$(awk -F, -v a="$mid" 'NR > 1 && $1 >= a { s += $8; n++ } END { print n ? s / n : 0 }' "$csv")
  ratio=$(awk -v a="$la" -v b="$lb" 'BEGIN { r = a > 0 && b > a ? 1.5 * b / a : 1.5; printf "%.2f", r }')
  for kind in latency age e2e; do
    a=$(p99 "$raw" "$kind" "$warm" "$mid")
    b=$(p99 "$raw" "$kind" "$mid" 1e18)
    ok=$(awk -v a="$a" -v b="$b" -v r="$ratio" -v s="$slack" \
      'BEGIN { print (a != "nan" && b != "nan" && b <= r * a + s) }')
    printf "%s: %s %s p99 %s ms -> %s ms (halves %s..%s..%s s; limit %sx + %.1f ms)\n" \
      "$1" "$([ "$ok" = 1 ] && echo PASS || echo FAIL)" "$kind" "$a" "$b" "$warm" "$mid" "$end" \
      "$ratio" "$slack"
    [ "$ok" = 1 ] || fail=1
  done
  printf "%s: load average %.1f in the first half, %.1f in the second\n" "$1" "$la" "$lb"
  return $fail
}

failed=0
for mode in live offline; do
  judge "$mode" || failed=1
done

if [ -n "$plot" ]; then
  if command -v gnuplot >/dev/null; then
    gnuplot <<EOF
set terminal pngcairo size 1200,900 font ",10"
set output "$plot"
set datafile separator ","
set key top left
set multiplot layout 3,1 title "aneforge soak: $minutes min, $size at $fps fps, $af_face_kind, live and offline in parallel"
set xlabel "minutes"
set ylabel "RSS (MiB)"
set offsets 0, 0, 0.5, 0.5
plot "$out/soak-live.csv" every ::1 using (\$1/60):(\$2/1024) with lines title "live RSS", \
     "$out/soak-offline.csv" every ::1 using (\$1/60):(\$2/1024) with lines title "offline RSS"
set ylabel "ms"
set offsets 0, 0, 0, 0
set logscale y
plot "$out/soak-live.csv" every ::1 using (\$1/60):10 with lines title "live latency p99", \
     "$out/soak-offline.csv" every ::1 using (\$1/60):10 with lines title "offline latency p99", \
     "$out/soak-live.csv" every ::1 using (\$1/60):13 with lines title "live age p99", \
     "$out/soak-live.csv" every ::1 using (\$1/60):16 with lines title "live e2e p99", \
     "$out/soak-offline.csv" every ::1 using (\$1/60):16 with lines title "offline e2e p99"
unset logscale y
set offsets 0, 0, 1, 0
set yrange [0:*]
set ylabel "count / load"
plot "$out/soak-live.csv" every ::1 using (\$1/60):3 with steps title "live fds", \
     "$out/soak-live.csv" every ::1 using (\$1/60):4 with steps title "live threads", \
     "$out/soak-offline.csv" every ::1 using (\$1/60):3 with steps title "offline fds", \
     "$out/soak-offline.csv" every ::1 using (\$1/60):4 with steps title "offline threads", \
     "$out/soak-live.csv" every ::1 using (\$1/60):8 with lines title "load average (1 min)"
unset multiplot
EOF
    echo "soak.sh: plot $plot"
  else
    echo "soak.sh: gnuplot not installed (apt-get install gnuplot-nox): no plot"
  fi
fi
if [ "$failed" = 0 ]; then
  echo "soak.sh: PASS"
else
  echo "soak.sh: FAIL"
fi
exit "$failed"
