#!/usr/bin/env bash
# fuzz-options.sh - the libFuzzer flags a target's .options file asks for, one per line.
#
#   scripts/fuzz-options.sh FILE.options
#
# Every "key = value" of the [libfuzzer] section (or of a file without sections) becomes
# -key=value, as ClusterFuzz passes them; a dict is resolved against the file's directory.
# A missing file prints nothing. Used by fuzz-campaign.sh, bench-fuzz.sh and
# test-oss-fuzz-build.sh, so the three read the options the same way.
#
# Exit status: 0, or 2 for bad usage.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 FILE.options" >&2; exit 2; }
file=$1
[ -f "$file" ] || exit 0
dir=$(dirname "$file")
section='[libfuzzer]'
while IFS='=' read -r key value || [ -n "$key" ]; do
    key=$(echo "$key" | tr -d '[:space:]') value=$(echo "${value:-}" | tr -d '[:space:]')
    case $key in
    '' | '#'*) continue ;;
    '['*) section=$key; continue ;;
    esac
    [ "$section" = '[libfuzzer]' ] || continue
    [ "$key" = dict ] && value=$dir/$value
    echo "-$key=$value"
done <"$file"
