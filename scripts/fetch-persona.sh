#!/usr/bin/env bash
# Fetches Runtype's chat widget (@runtypelabs/persona, MIT) from the npm registry for the
# browser test (tests/cli/browser.rs), pinned to one version and its registry integrity hash.
# Plain HTTP with curl: a fresh machine may have no node. Idempotent: a folder that holds
# the verified package is left as it is.
#
#   bash scripts/fetch-persona.sh            # into .cache/persona/4.17.0/package
set -euo pipefail
cd "$(dirname "$0")/.."

version="4.17.0"
integrity="sha512-vHlOIJzPyr/8x/lx1KewKCRNV5mCpw08FkuRtPMHDgNwxetJTuZ+XiEKO+MjvcqRi7IaASA5i2GEsUPvQL821Q=="
url="https://registry.npmjs.org/@runtypelabs/persona/-/persona-${version}.tgz"
dest=".cache/persona/${version}"

if [ -f "$dest/package/dist/install.global.js" ] && [ -f "$dest/.verified" ]; then
  exit 0
fi
rm -rf "$dest"
mkdir -p "$dest"
tarball="$dest/persona-${version}.tgz"
echo "fetching @runtypelabs/persona ${version} from the npm registry" >&2
curl --fail --silent --show-error --location --retry 3 --max-time 120 -o "$tarball" "$url"
actual="sha512-$(python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tarball")"
if [ "$actual" != "$integrity" ]; then
  echo "error: $url does not match its pinned integrity hash" >&2
  echo "  expected $integrity" >&2
  echo "  got      $actual" >&2
  rm -rf "$dest"
  exit 1
fi
tar -xzf "$tarball" -C "$dest"
rm -f "$tarball"
touch "$dest/.verified"
echo "verified and unpacked into $dest/package" >&2
