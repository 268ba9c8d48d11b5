#!/usr/bin/env bash
# Regenerates testdata/profiles/*.pb.gz (see testdata/README.md).
# Run from the repo root: npm run testdata   (or: bash testdata/make.sh)
# Go profiles and Node profiles differ run to run; synthetic-large.pb.gz is
# byte-for-byte deterministic. folded.txt is hand-written and not regenerated.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/testdata/profiles"
mkdir -p "$out"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== Go runtime/pprof profiles"
if command -v go >/dev/null 2>&1; then
  go version
  # Offline build: stdlib only, no module downloads, throwaway caches.
  (cd testdata/go && GOPROXY=off GOFLAGS=-mod=mod GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath" \
    go build -o "$tmp/kiln-testdata-go" .)
  "$tmp/kiln-testdata-go" -out "$out" -duration 2s
else
  echo "go not found on PATH: keeping the committed go-*.pb.gz" >&2
fi

echo "== Node profiles (@datadog/pprof)"
node --version
node testdata/node/make-profiles.cjs "$out" 1500

echo "== Synthetic large profile"
node testdata/synthetic/make-synthetic.mjs "$out"

ls -l "$out"
