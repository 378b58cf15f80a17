#!/usr/bin/env bash
# Issues 10 two-name certificates against one local Pebble (PEBBLE_VA_NOSLEEP=1, no nonce rejection, no authz
# reuse), first with CertAgent, then with lego (Debian's package) on the same Pebble in the same run, one
# invocation per certificate for both, and prints wall time, CPU time, peak RSS and ACME requests (from Pebble's
# log) for each, with CertAgent/lego ratios. A benchmark, not a test: numbers vary with the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "bench: GNU time is needed (apt-get install time)" >&2; exit 1; }
count=${BENCH_CERTIFICATES:-10}
out=$PWD/bench/out
rm -rf "$out" && mkdir -p "$out"
swift build -c release --product certagent 2>&1 | tail -1
certagent=$(swift build -c release --show-bin-path)/certagent

PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 scripts/testbed start "$out/testbed" >/dev/null
trap 'scripts/testbed stop "$out/testbed"' EXIT
# shellcheck disable=SC1091
. "$out/testbed/testbed.env"
requests() { grep -c -- '-> calling handler()' "$TESTBED_PEBBLE_LOG"; }

# Runs "$@" once per certificate under GNU time; sums wall and CPU seconds, keeps the largest peak RSS.
measure() { # measure LABEL COMMAND-TEMPLATE (with %N for the certificate number)
  local label=$1 template=$2 before after wall=0 cpu=0 rss=0
  before=$(requests)
  for n in $(seq 1 "$count"); do
    local command=${template//%N/$n}
    /usr/bin/time -f '%e %U %S %M' -o "$out/time.txt" bash -c "$command" >>"$out/$label.log" 2>&1 \
      || { echo "bench: $label failed on certificate $n; see $out/$label.log" >&2; exit 1; }
    read -r e u s m <"$out/time.txt"
    wall=$(echo "$wall + $e" | bc); cpu=$(echo "$cpu + $u + $s" | bc)
    [ "$m" -gt "$rss" ] && rss=$m
  done
  after=$(requests)
  echo "$label $wall $cpu $rss $((after - before))"
}

# CertAgent: one config with every certificate; one `certagent issue NAME` per certificate.
{
  printf '{ "email": "bench@example.com", "acceptTermsOfService": true, "directory": "%s", "caFile": "%s",\n' "$TESTBED_DIRECTORY_URL" "$TESTBED_CA_FILE"
  printf '  "storage": "%s", "certificates": [\n' "$out/certagent-store"
  for n in $(seq 1 "$count"); do
    mkdir -p "$TESTBED_SITES/ca$n.test/public_html"
    sep=","; [ "$n" = "$count" ] && sep=""
    printf '    { "name": "c%s", "domains": ["ca%s.test", "www.ca%s.test"], "webroot": "%s" }%s\n' "$n" "$n" "$n" "$TESTBED_SITES/ca$n.test/public_html" "$sep"
  done
  printf '] }\n'
} >"$out/config.json"
certagent_line=$(measure certagent "$certagent issue --config $out/config.json c%N")

# lego: the same two names per certificate, the same webroot layout, HTTP-01 through the same nginx.
for n in $(seq 1 "$count"); do mkdir -p "$TESTBED_SITES/lg$n.test/public_html"; done
export LEGO_CA_CERTIFICATES=$TESTBED_CA_FILE
lego_line=$(measure lego "lego --accept-tos --email bench@example.com --server $TESTBED_DIRECTORY_URL --path $out/lego --key-type ec256 --domains lg%N.test --domains www.lg%N.test --http --http.webroot $TESTBED_SITES/lg%N.test/public_html run")

read -r _ cw cc cr cq <<<"$certagent_line"
read -r _ lw lc lr lq <<<"$lego_line"
ratio() { echo "scale=2; $1 / $2" | bc; }
printf '\n%s certificates, 2 names each, one invocation per certificate, local Pebble (no validation sleep)\n' "$count"
printf '%-10s %12s %12s %14s %14s\n' tool "wall (s)" "CPU (s)" "peak RSS (MB)" "ACME requests"
printf '%-10s %12s %12s %14s %14s\n' certagent "$cw" "$cc" "$((cr / 1024))" "$cq"
printf '%-10s %12s %12s %14s %14s\n' lego "$lw" "$lc" "$((lr / 1024))" "$lq"
printf '%-10s %12s %12s %14s %14s\n' "ratio" "$(ratio "$cw" "$lw")" "$(ratio "$cc" "$lc")" "$(ratio "$cr" "$lr")" "$(ratio "$cq" "$lq")"
