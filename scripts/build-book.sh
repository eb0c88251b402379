#!/usr/bin/env bash
# Builds the user guide (docs/, an mdBook) into target/book/, as CI (.ci/run) and the release's
# publish-book job do. mdBook is pinned here and compiled only when that version is missing
# (with the search feature only: no server, no file watcher), as dist is in .ci/run.
#
# mdBook does not check links: tests/cli/book.rs does (`cargo test --test cli book`), and
# keeps the generated reference pages fresh.
set -euo pipefail
cd "$(dirname "$0")/.."
mdbook_version=0.5.2
if [ "$(mdbook --version 2>/dev/null || true)" != "mdbook v$mdbook_version" ]; then
  echo "installing mdbook $mdbook_version: cargo install mdbook --version =$mdbook_version --locked --no-default-features --features search" >&2
  mdbook_build="${TMPDIR:-/tmp}/rtctl-ci-mdbook-build"
  CARGO_TARGET_DIR="$mdbook_build" cargo install mdbook --version "=$mdbook_version" --locked \
    --no-default-features --features search --force
  rm -rf "$mdbook_build"
fi
# book.toml's build-dir puts the site in target/book, which is not committed.
mdbook build docs
