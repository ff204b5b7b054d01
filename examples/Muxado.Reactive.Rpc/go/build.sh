#!/usr/bin/env bash
# Builds the Go side of the RPC example against ngrok's muxado-go, offline.
#
#   MUXADO_GO_REPO=/path/to/muxado-go build.sh OUTDIR    -> OUTDIR/muxrpc
#
# MUXADO_GO_REPO: a git repository of github.com/ngrok/muxado-go (bare or not);
# MUXADO_GO_REV: the revision to export (default HEAD). Needs Go 1.19 or later.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: MUXADO_GO_REPO=DIR $0 OUTDIR" >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="${MUXADO_GO_REPO:?set MUXADO_GO_REPO to a git repository of github.com/ngrok/muxado-go}"
rev="${MUXADO_GO_REV:-HEAD}"
mkdir -p "$1"
out="$(cd "$1" && pwd)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/main.go" "$here/go.mod" "$work/"
# go.mod's replace directive points at ./muxado: the library's files at that revision.
mkdir "$work/muxado"
git -C "$repo" archive "$rev" | tar -x -C "$work/muxado"
echo "muxado-go $(git -C "$repo" rev-parse "$rev")"

cd "$work/muxado"
# The library's tests pull in modules we cannot fetch (yamux, x/crypto); the package itself needs none.
find . -name '*_test.go' -delete
rm -f go.sum
printf 'module golang.ngrok.com/muxado/v2\n\ngo 1.19\n' > go.mod
# muxado-go declares Go 1.21 for maps.Clone alone; give an older Go a copy of it (nil in, nil out, as Clone).
if grep -q '"maps"' stream_map.go && [ "$(go env GOVERSION | sed 's/^go1\.\([0-9]*\).*/\1/')" -lt 21 ]; then
    sed -i -e '/^[[:space:]]*"maps"$/d' -e 's/maps\.Clone(/cloneStreams(/' stream_map.go
    cat > clone_go119.go <<'GO'
package muxado

import "golang.ngrok.com/muxado/v2/frame"

func cloneStreams(m map[frame.StreamId]streamPrivate) map[frame.StreamId]streamPrivate {
	if m == nil {
		return nil
	}
	c := make(map[frame.StreamId]streamPrivate, len(m))
	for id, str := range m {
		c[id] = str
	}
	return c
}
GO
fi

cd "$work"
GO111MODULE=on GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local CGO_ENABLED=0 \
    go build -trimpath -o "$out/muxrpc" .
echo "built $out/muxrpc ($(go version))"
