#!/usr/bin/env bash
# Adds every symbol the build reports as missing from the declared public API (RS0016) to the project's
# PublicAPI.Unshipped.txt, sorted. For use after adding public API on purpose: review the diff it makes.
#   build/add-public-api.sh Muxado.Reactive/Muxado.Reactive.csproj
set -euo pipefail
project="$1"
unshipped="$(dirname "$project")/PublicAPI.Unshipped.txt"
missing=$(dotnet build "$project" --no-incremental 2>&1 | grep 'RS0016' | sed -n "s/.*Symbol '\(.*\)' is not part of the declared public API.*/\1/p" | sort -u)
[ -n "$missing" ] || { echo "nothing to add"; exit 0; }
{ head -n 1 "$unshipped"; { tail -n +2 "$unshipped"; echo "$missing"; } | grep -v '^$' | LC_ALL=C sort -u; } > "$unshipped.new"
mv "$unshipped.new" "$unshipped"
echo "added $(echo "$missing" | wc -l) symbols to $unshipped"
