#!/usr/bin/env bash
# The release, end to end, for the build host's target, without leaving this machine:
#
#  1. `dist build` (host mode) builds the release archive for the host, the shell installer,
#     the Homebrew formula and the checksums, as the release workflow does for each target;
#  2. the archive: its sha256 files check out; the binary runs `--version`; completions/ and
#     man/ are inside and equal to the checked-in ones; README, CHANGELOG and the licences too;
#  3. the files are served by `python3 -m http.server` on 127.0.0.1, and the shell installer
#     installs from there (RTCTL_DOWNLOAD_URL, and the GitHub layout through
#     RTCTL_INSTALLER_GITHUB_BASE_URL) into temporary prefixes; a tampered archive is refused;
#  4. the GitHub Action (action.yml, run by scripts/run_action.py) installs from a mirror,
#     verifying the sha256 of the release (the GitHub layout, through RTCTL_GITHUB_URL), then
#     again from its cache; a tampered mirror (with its own matching sha256) and a wrong
#     sha256 input are refused, and a poisoned cache is replaced by a fresh download;
#  5. every installed rtctl runs `--local tokens list` with its directories in a temp dir.
#
# Cross targets, the container image, Homebrew and the PowerShell installer (it comes with a
# Windows build) need other machines or github.com: the release workflow does them, and
# verify-release.yml installs the published release every way the README shows
# (.github/workflows/).
#
# Needs dist 0.34.0 on PATH (`.ci/run` installs it), python3 with PyYAML, curl, tar, xz.
# Usage: bash scripts/install-check.sh     (from anywhere in the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
passed=0
step() { printf '\n== %s\n' "$*" >&2; }
ok() {
  passed=$((passed + 1))
  printf 'ok: %s\n' "$*" >&2
}
die() {
  printf 'install-check: FAILED: %s\n' "$*" >&2
  printf 'install-check: %d passed, 1 failed\n' "$passed"
  exit 1
}

want_dist=$(sed -n 's/^cargo-dist-version = "\(.*\)"$/\1/p' dist-workspace.toml)
have_dist=$(dist --version 2>/dev/null | sed -n 's/^cargo-dist //p' || true)
[ "$have_dist" = "$want_dist" ] ||
  die "dist $want_dist is needed (found: ${have_dist:-none}): cargo install cargo-dist --version $want_dist --locked"
python3 -c 'import yaml' 2>/dev/null || die "python3 needs PyYAML: python3 -m pip install pyyaml"

host=$(rustc -vV | sed -n 's/^host: //p')
case "$host" in
  *-linux-* | *-apple-darwin) ;;
  *) die "this check runs on Linux or macOS hosts (this is $host)" ;;
esac
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
archive="rtctl-$host.tar.xz"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtctl-install-check.XXXXXX")
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Nothing of the caller's setup leaks in: no proxy for loopback, no GitHub runner files.
unset GITHUB_PATH GITHUB_OUTPUT GITHUB_ENV http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1

# --- 1. build ---------------------------------------------------------------------------
step "dist build for $host"
built=$SECONDS
# dist writes to target/distrib in the repository, whatever CARGO_TARGET_DIR says; its JSON
# names the files.
rm -rf target/distrib
dist build --output-format=json >"$tmp/dist-manifest.json" 2>"$tmp/dist-build.log" || {
  cat "$tmp/dist-build.log" >&2
  die "dist build failed"
}
ok "dist build ($((SECONDS - built)) s)"
distrib=$(python3 -c 'import json, os, sys
files = json.load(open(sys.argv[1]))["upload_files"]
print(next(os.path.dirname(f) for f in files if os.path.basename(f) == sys.argv[2]))' \
  "$tmp/dist-manifest.json" "$archive") || die "dist build made no $archive"
# (The PowerShell installer comes with a Windows target: the release workflow builds it.)
for file in "$archive" "$archive.sha256" rtctl-installer.sh rtctl.rb sha256.sum; do
  [ -f "$distrib/$file" ] || die "dist build did not make $file (in $distrib)"
done
ok "archive, installers, formula and checksums are in $distrib"

# --- 2. the archive -----------------------------------------------------------------------
step "the archive"
(cd "$distrib" && sha256sum --check --strict --quiet "$archive.sha256") || die "$archive.sha256 does not match"
(cd "$distrib" && sha256sum --check --strict --quiet --ignore-missing sha256.sum) || die "sha256.sum does not match"
grep -q " \*\?$archive\$" "$distrib/sha256.sum" || die "sha256.sum does not list $archive"
ok "sha256 of $archive checks out (its .sha256 file and sha256.sum)"

mkdir "$tmp/unpacked"
tar -xJf "$distrib/$archive" -C "$tmp/unpacked"
root="$tmp/unpacked/rtctl-$host"
[ -d "$root" ] || die "the archive does not hold rtctl-$host/"
line=$("$root/rtctl" --version) || die "the archived rtctl does not run"
[ "$line" = "rtctl $version" ] || die "the archived rtctl says '$line', not 'rtctl $version'"
ok "the archived binary runs: $line"
diff -r completions "$root/completions" >&2 || die "the archive's completions/ differ from the repository's"
diff -r man "$root/man" >&2 || die "the archive's man/ differ from the repository's"
ok "completions/ ($(ls completions | wc -l) files) and man/ ($(ls man | wc -l) pages) are inside, as checked in"
for file in README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE; do
  cmp -s "$file" "$root/$file" || die "the archive's $file is missing or differs"
done
ok "README.md, CHANGELOG.md, LICENSE-MIT and LICENSE-APACHE are inside"

# --- 3. serve, and the shell installer ---------------------------------------------------------
step "the shell installer against a loopback server"
serve() { # DIR: serve it on 127.0.0.1, an ephemeral port; sets $server and $port
  python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$1" >"$tmp/http.log" 2>&1 &
  server=$!
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/^Serving HTTP on .* port \([0-9]*\) .*/\1/p' "$tmp/http.log")
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || die "the HTTP server did not start: $(cat "$tmp/http.log")"
}
unserve() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}

# Runs an installed rtctl as a user would, with its own directories.
try_installed() { # BIN LABEL
  local home
  home=$(mktemp -d "$tmp/run.XXXXXX")
  local line
  line=$("$1" --version) || die "$2: $1 --version failed"
  [ "$line" = "rtctl $version" ] || die "$2: installed rtctl says '$line'"
  RTCTL_DATA_DIR="$home/data" RTCTL_CONFIG_DIR="$home/config" "$1" --local tokens list >"$home/list" 2>"$home/err" ||
    die "$2: rtctl --local tokens list failed: $(cat "$home/err")"
  [ -s "$home/list" ] || die "$2: rtctl --local tokens list printed nothing"
  ok "$2: $line; --local tokens list printed $(wc -l <"$home/list") tokens"
}

# A fresh HOME for each installer run, so nothing touches the caller's shell files.
installer() { # HOME-DIR VAR=VALUE...: run the served installer with these variables
  local home=$1
  shift
  mkdir -p "$home"
  env -u XDG_BIN_HOME -u XDG_DATA_HOME -u CARGO_HOME HOME="$home" XDG_CONFIG_HOME="$home/.config" \
    "$@" sh "$tmp/rtctl-installer.sh" ${installer_quiet:+--quiet}
}
installer_quiet=1

serve "$distrib"
curl -fsS -o "$tmp/rtctl-installer.sh" "http://127.0.0.1:$port/rtctl-installer.sh" || die "could not fetch the installer"
ok "the installer is served at http://127.0.0.1:$port/rtctl-installer.sh"

installer "$tmp/home-unmanaged" RTCTL_DOWNLOAD_URL="http://127.0.0.1:$port" RTCTL_UNMANAGED_INSTALL="$tmp/prefix" ||
  die "the installer failed (RTCTL_DOWNLOAD_URL, RTCTL_UNMANAGED_INSTALL)"
cmp -s "$tmp/prefix/rtctl" "$root/rtctl" || die "the installer did not install the archive's rtctl into $tmp/prefix"
try_installed "$tmp/prefix/rtctl" "installer into a prefix (RTCTL_UNMANAGED_INSTALL)"

# The default: ~/.local/bin, with PATH added to the shell's startup files.
installer "$tmp/home-default" RTCTL_DOWNLOAD_URL="http://127.0.0.1:$port" || die "the installer failed (default install path)"
[ -x "$tmp/home-default/.local/bin/rtctl" ] || die "the installer did not put rtctl in ~/.local/bin"
# A new login shell finds it: the installer hooked ~/.profile.
found=$(env -i HOME="$tmp/home-default" PATH=/usr/bin:/bin sh -l -c 'command -v rtctl' 2>/dev/null || true)
[ "$found" = "$tmp/home-default/.local/bin/rtctl" ] ||
  die "a login shell does not find the installed rtctl (found '$found'): ~/.profile is not set up"
try_installed "$tmp/home-default/.local/bin/rtctl" "installer with its defaults (~/.local/bin)"
unserve

# The GitHub layout: OWNER/REPO/releases/download/vVERSION under a base URL.
slug=$(sed -n 's|^repository = "https://github.com/\(.*\)"$|\1|p' Cargo.toml)
slug=${slug%.git}
mkdir -p "$tmp/www/$slug/releases/download"
cp -r "$distrib" "$tmp/www/$slug/releases/download/v$version"
serve "$tmp/www"
installer "$tmp/home-github" RTCTL_INSTALLER_GITHUB_BASE_URL="http://127.0.0.1:$port" \
  RTCTL_UNMANAGED_INSTALL="$tmp/prefix-github" || die "the installer failed (RTCTL_INSTALLER_GITHUB_BASE_URL)"
try_installed "$tmp/prefix-github/rtctl" "installer from the GitHub layout ($slug/releases/download/v$version)"
unserve

# A tampered archive: the checksum built into the installer refuses it.
cp -r "$distrib" "$tmp/tampered"
(cd "$tmp/unpacked" && printf 'tampered\n' >>"rtctl-$host/README.md" && tar -cJf "$tmp/tampered/$archive" "rtctl-$host")
serve "$tmp/tampered"
# (Not quiet: with --quiet the installer keeps its errors to itself too.)
installer_quiet=""
if installer "$tmp/home-tampered" RTCTL_DOWNLOAD_URL="http://127.0.0.1:$port" \
  RTCTL_UNMANAGED_INSTALL="$tmp/prefix-tampered" >"$tmp/tampered.log" 2>&1; then
  die "the installer installed a tampered archive"
fi
installer_quiet=1
[ ! -e "$tmp/prefix-tampered/rtctl" ] || die "the installer left a tampered rtctl behind"
grep -qi 'checksum' "$tmp/tampered.log" || die "the installer failed, but not on the checksum: $(cat "$tmp/tampered.log")"
ok "the installer refuses a tampered archive: $(grep -io -m 1 'checksum mismatch.*' "$tmp/tampered.log")"

# --- 4. the GitHub Action ----------------------------------------------------------------------
step "the GitHub Action (action.yml) against a loopback server"
action() { # WORK-DIR INPUT=VALUE...: run action.yml as a Linux x64 runner would
  local work=$1
  shift
  mkdir -p "$work"
  RUNNER_OS=Linux RUNNER_ARCH=X64 python3 scripts/run_action.py . "$tmp/action-caches" "$work" "$@" \
    >"$work/outputs.json" 2>"$work/log"
}
output_of() { # OUTPUTS-JSON NAME: one output (a list prints a line per item)
  python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print("\n".join(v) if isinstance(v, list) else v)' "$@"
}
mkdir -p "$tmp/action-caches"

# With no version, the Action installs the version of its own Cargo.toml (the ref in `uses:`);
# on a Linux x64 runner it picks the static musl build.
action "$tmp/action-resolve" download-url="http://127.0.0.1:1" cache=false >/dev/null 2>&1 || true
grep -q "rtctl $version for x86_64-unknown-linux-musl from http://127.0.0.1:1/rtctl-x86_64-unknown-linux-musl.tar.xz" \
  "$tmp/action-resolve/log" || die "the Action did not pick x86_64-unknown-linux-musl $version: $(cat "$tmp/action-resolve/log")"
ok "the Action picks rtctl $version for x86_64-unknown-linux-musl on a Linux x64 runner"

# The GitHub layout ($tmp/www) stands for github.com (RTCTL_GITHUB_URL): the Action takes the
# expected sha256 from the release there, whatever mirror serves the archive, and checks it
# again on a cache hit.
mkdir -p "$tmp/www/mirror" "$tmp/www/tampered-mirror"
cp "$distrib/$archive" "$tmp/www/mirror/"
cp "$tmp/tampered/$archive" "$tmp/www/tampered-mirror/"
(cd "$tmp/www/tampered-mirror" && sha256sum "$archive" >"$archive.sha256")
serve "$tmp/www"
export RTCTL_GITHUB_URL="http://127.0.0.1:$port"
inputs=(target="$host" download-url="http://127.0.0.1:$port/mirror")
action "$tmp/action-1" "${inputs[@]}" || die "the Action failed: $(cat "$tmp/action-1/log")"
grep -q "sha256 verified" "$tmp/action-1/log" || die "the Action did not verify the sha256"
[ "$(output_of "$tmp/action-1/outputs.json" cache-hit)" = false ] || die "the first run was a cache hit"
[ "$(output_of "$tmp/action-1/outputs.json" version)" = "$version" ] || die "the Action's version output is wrong"
bin=$(output_of "$tmp/action-1/outputs.json" bin)
path=$(output_of "$tmp/action-1/outputs.json" path)
[ "$bin" = "$path/rtctl" ] || die "the Action's bin output ($bin) is not in its path output ($path)"
output_of "$tmp/action-1/outputs.json" '(GITHUB_PATH)' | grep -qxF "$path" ||
  die "the Action did not add $path to GITHUB_PATH"
cmp -s "$bin" "$root/rtctl" || die "the Action did not install the archive's rtctl"
try_installed "$bin" "the Action (download, sha256 verified against the release)"

action "$tmp/action-2" "${inputs[@]}" || die "the Action failed on its second run: $(cat "$tmp/action-2/log")"
[ "$(output_of "$tmp/action-2/outputs.json" cache-hit)" = true ] || die "the second run was not a cache hit"
grep -q "sha256 verified: .*(from the cache)" "$tmp/action-2/log" || die "the cached archive was not verified"
try_installed "$(output_of "$tmp/action-2/outputs.json" bin)" "the Action (from its cache, verified again)"

if action "$tmp/action-tampered" target="$host" download-url="http://127.0.0.1:$port/tampered-mirror" cache=false; then
  die "the Action installed a mirror's tampered archive (the mirror served its own matching sha256)"
fi
grep -q "sha256 mismatch" "$tmp/action-tampered/log" || die "the Action failed, but not on the sha256: $(cat "$tmp/action-tampered/log")"
ok "the Action refuses a mirror's tampered archive, whatever checksum the mirror serves"

printf 'tampered' >>"$tmp/action-caches/rtctl-archive-$version-$host/$archive"
action "$tmp/action-poisoned" "${inputs[@]}" ||
  die "the Action failed on a poisoned cache instead of downloading afresh: $(cat "$tmp/action-poisoned/log")"
grep -q "sha256 mismatch for $archive from the cache" "$tmp/action-poisoned/log" ||
  die "the Action did not notice the poisoned cache: $(cat "$tmp/action-poisoned/log")"
cmp -s "$(output_of "$tmp/action-poisoned/outputs.json" bin)" "$root/rtctl" ||
  die "the Action did not install the release's rtctl after a poisoned cache"
ok "the Action never runs a cached archive that no longer matches the release: it downloads it afresh"

wrong=$(printf '0%.0s' $(seq 64))
if action "$tmp/action-3" "${inputs[@]}" sha256="$wrong" cache=false; then
  die "the Action installed an archive whose sha256 is not the one given"
fi
grep -q "sha256 mismatch" "$tmp/action-3/log" || die "the Action failed, but not on the sha256: $(cat "$tmp/action-3/log")"
ok "the Action refuses an archive whose sha256 is not the sha256 input"
right=$(cut -d ' ' -f 1 <"$distrib/$archive.sha256")
action "$tmp/action-4" "${inputs[@]}" sha256="$right" cache=false || die "the Action refused the right sha256 input"
ok "the Action accepts the archive with the right sha256 input"
unset RTCTL_GITHUB_URL
unserve

printf '\ninstall-check: done in %d s\n' "$((SECONDS - started))" >&2
printf 'install-check: %d passed, 0 failed\n' "$passed"
