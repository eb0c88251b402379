#!/usr/bin/env bash
# The work of the GitHub Action (action.yml at the repository root), kept in a script so that
# it also runs outside GitHub: scripts/install-check.sh runs it against a loopback server.
#
#   setup-rtctl.sh resolve    which version, target, archive, URLs and directories
#   setup-rtctl.sh install    fetch the archive (or take the cached one), verify its sha256,
#                             unpack it: on every run, a cache hit included
#   setup-rtctl.sh activate   check the binary runs, put its directory on PATH
#
# The expected sha256 is never the mirror's: it is the sha256 input, or the ARCHIVE.sha256 of
# the GitHub release the version names (fetched on every run), so a mirror (download-url) or
# a cache that serves another archive is refused, whatever checksum it serves beside it.
#
# Inputs come as environment variables, as action.yml passes them:
#   INPUT_VERSION       "0.1.0" or "v0.1.0"; "latest"; empty: the version in the Cargo.toml
#                       next to this script (for the Action: the ref named in `uses:`)
#   INPUT_REPOSITORY    OWNER/REPO of the releases; empty: Cargo.toml's `repository`
#   INPUT_TARGET        a target triple; empty: the runner's (RUNNER_OS, RUNNER_ARCH)
#   INPUT_SHA256        the archive's expected sha256; empty: the GitHub release's
#                       ARCHIVE.sha256 (never the mirror's)
#   INPUT_DOWNLOAD_URL  the directory holding the release's archives, instead of the GitHub
#                       release (a mirror; the loopback server of the install check)
#   RTCTL_GITHUB_URL    where GitHub is (default https://github.com): GitHub Enterprise, or
#                       the install check's loopback copy of the release layout. It is where
#                       the expected checksums come from, so it must be https (plain http
#                       only on loopback, for the install check), and the log names it
# and, from the runner: RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP, RUNNER_TOOL_CACHE, GITHUB_OUTPUT,
# GITHUB_PATH. `install` and `activate` read what `resolve` printed from RTCTL_* variables
# (action.yml passes them from the resolve step's outputs).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# A message as a workflow command's data: %, CR and LF escaped, so text from an input (a
# version with a line break in it) stays in the message and cannot start a command of its own.
escaped() {
  local text="$*"
  text=${text//'%'/'%25'}
  text=${text//$'\r'/'%0D'}
  text=${text//$'\n'/'%0A'}
  printf '%s' "$text"
}

fail() {
  echo "::error title=setup rtctl::$(escaped "$*")" >&2
  exit 1
}

output() {
  echo "$1=$2" >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
}

# A Windows path for the runner (cache paths, GITHUB_PATH); a Unix one for bash itself.
native_path() {
  if command -v cygpath >/dev/null 2>&1; then cygpath -w "$1"; else printf '%s\n' "$1"; fi
}
unix_path() {
  if command -v cygpath >/dev/null 2>&1; then cygpath -u "$1"; else printf '%s\n' "$1"; fi
}

# The first `KEY = "value"` of Cargo.toml: `version` and `repository` are in [package], first.
cargo_field() {
  sed -n "s/^$1 = \"\\(.*\\)\"\$/\\1/p" "$here/Cargo.toml" | head -n 1
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  else
    shasum -a 256 "$1" | cut -d ' ' -f 1
  fi
}

download() {
  curl --fail --silent --show-error --location --retry 3 --output "$2" "$1" ||
    fail "could not download $1"
}

resolve() {
  local repository="${INPUT_REPOSITORY:-}"
  if [ -z "$repository" ]; then
    repository=$(cargo_field repository)
    repository=${repository#https://github.com/}
    repository=${repository%.git}
  fi
  [[ "$repository" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] ||
    fail "repository must be OWNER/REPO, not '$repository'"

  local github="${RTCTL_GITHUB_URL:-https://github.com}"
  github=${github%/}
  # The trust root for the checksums: https, or plain http on this machine only.
  [[ "$github" =~ ^https://[^[:space:][:cntrl:]]+$ ||
    "$github" =~ ^http://(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?(/[^[:space:][:cntrl:]]*)?$ ]] ||
    fail "RTCTL_GITHUB_URL must be an https URL (the checksums come from it), not '$github'"
  if [ -n "${RTCTL_GITHUB_URL:-}" ]; then
    echo "checksums and releases from $github (RTCTL_GITHUB_URL)"
  fi
  local version="${INPUT_VERSION:-}"
  if [ -z "$version" ]; then
    version=$(cargo_field version)
  elif [ "$version" = latest ]; then
    # github.com answers /releases/latest with a redirect to /releases/tag/vX.Y.Z.
    local url
    url=$(curl --fail --silent --show-error --location --retry 3 --output /dev/null \
      --write-out '%{url_effective}' "$github/$repository/releases/latest") ||
      fail "could not find the latest release of $repository"
    version=${url##*/}
  fi
  version=${version#v}
  [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] ||
    fail "version must look like 1.2.3, not '$version'"

  local target="${INPUT_TARGET:-}"
  if [ -z "$target" ]; then
    case "${RUNNER_OS:-}-${RUNNER_ARCH:-}" in
      Linux-X64) target=x86_64-unknown-linux-musl ;;
      Linux-ARM64) target=aarch64-unknown-linux-musl ;;
      macOS-ARM64) target=aarch64-apple-darwin ;;
      macOS-X64) target=x86_64-apple-darwin ;;
      Windows-X64) target=x86_64-pc-windows-msvc ;;
      *) fail "rtctl has no release build for ${RUNNER_OS:-?} on ${RUNNER_ARCH:-?}" ;;
    esac
  fi
  # It names files and directories, and reaches a shell: a target triple and nothing else.
  [[ "$target" =~ ^[a-z0-9_]+(-[a-z0-9_]+){2,3}$ ]] ||
    fail "target must be a target triple such as x86_64-unknown-linux-musl, not '$target'"
  local archive exe=rtctl
  case "$target" in
    *-windows-*) archive="rtctl-$target.zip" exe=rtctl.exe ;;
    *) archive="rtctl-$target.tar.xz" ;;
  esac

  local release="$github/$repository/releases/download/v$version"
  local base="${INPUT_DOWNLOAD_URL:-$release}"
  # URLs become step outputs, one line each: no space or control character in them.
  for url in "$github" "$base"; do
    [[ "$url" =~ ^https?://[^[:space:][:cntrl:]]+$ ]] || fail "'$url' is not an http(s) URL"
  done
  local cache_root="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:?RUNNER_TEMP is not set}}"
  local dir archives
  dir=$(native_path "$(unix_path "$cache_root")/rtctl/$version/$target")
  archives=$(native_path "$(unix_path "$cache_root")/rtctl-archives/$version/$target")

  output version "$version"
  output target "$target"
  output archive "$archive"
  output exe "$exe"
  output url "${base%/}/$archive"
  output checksum-url "$release/$archive.sha256"
  output dir "$dir"
  output archive-dir "$archives"
  output cache-key "rtctl-archive-$version-$target"
  echo "rtctl $version for $target from ${base%/}/$archive"
}

install() {
  local url="${RTCTL_URL:?}" checksum_url="${RTCTL_CHECKSUM_URL:?}" archive="${RTCTL_ARCHIVE:?}"
  local dir archives
  dir=$(unix_path "${RTCTL_DIR:?}")
  archives=$(unix_path "${RTCTL_ARCHIVE_DIR:?}")
  # Global, for the EXIT trap.
  work=$(mktemp -d "$(unix_path "${RUNNER_TEMP:?RUNNER_TEMP is not set}")/rtctl.XXXXXX")
  trap 'rm -rf "$work"' EXIT

  # What the archive must hash to: pinned by the sha256 input, or the release's own file.
  # Never the mirror's: whoever can change an archive there can change its checksum too.
  local expected="${INPUT_SHA256:-}" source="the sha256 input"
  if [ -z "$expected" ]; then
    download "$checksum_url" "$work/$archive.sha256"
    expected=$(cut -d ' ' -f 1 <"$work/$archive.sha256")
    source="$checksum_url"
  fi
  expected=$(printf '%s' "$expected" | tr 'A-F' 'a-f')
  [[ "$expected" =~ ^[0-9a-f]{64}$ ]] || fail "$source holds no sha256: '$expected'"

  # The archive: the cached one (restored by the cache step), else a download. Either way it
  # is verified before anything in it runs. A cached one that fails is downloaded afresh: the
  # cache entry stays (an action cannot evict it), and must not fail every later run.
  local from="$url" actual
  mkdir -p "$archives"
  if [ -f "$archives/$archive" ]; then
    from="the cache"
    actual=$(sha256_of "$archives/$archive")
    if [ "$actual" != "$expected" ]; then
      echo "::warning title=setup rtctl::$(escaped "sha256 mismatch for $archive from the cache: expected $expected ($source), got $actual; downloading it afresh")" >&2
      rm -f "$archives/$archive"
      from="$url"
    fi
  fi
  if [ "$from" = "$url" ]; then
    download "$url" "$work/$archive"
    mv "$work/$archive" "$archives/$archive"
  fi
  actual=$(sha256_of "$archives/$archive")
  if [ "$actual" != "$expected" ]; then
    rm -f "$archives/$archive"
    fail "sha256 mismatch for $archive from $from: expected $expected ($source), got $actual"
  fi
  echo "sha256 verified: $actual  $archive (from $from)"

  rm -rf "$dir"
  mkdir -p "$dir"
  case "$archive" in
    *.zip)
      # dist's zip holds the files at its root.
      if command -v unzip >/dev/null 2>&1; then
        unzip -q "$archives/$archive" -d "$dir"
      else
        # The paths are arguments of a script file, never text inside PowerShell code.
        pwsh -NoProfile -NonInteractive -File "$(native_path "$here/scripts/expand-zip.ps1")" \
          "$(native_path "$archives/$archive")" "$(native_path "$dir")"
      fi
      ;;
    *)
      # The tarball holds rtctl-TARGET/: its contents go straight into the directory.
      tar -xJf "$archives/$archive" -C "$dir" --strip-components=1
      ;;
  esac
}

activate() {
  local dir exe="${RTCTL_EXE:?}"
  dir=$(unix_path "${RTCTL_DIR:?}")
  [ -f "$dir/$exe" ] || fail "$dir/$exe is missing: the archive or the cache is not rtctl's"
  local line
  line=$("$dir/$exe" --version) || fail "$dir/$exe --version failed"
  echo "$line"
  [ "$line" = "rtctl ${RTCTL_VERSION:?}" ] || fail "expected rtctl $RTCTL_VERSION, got '$line'"
  native_path "$dir" >>"${GITHUB_PATH:?GITHUB_PATH is not set}"
  output path "$(native_path "$dir")"
  output bin "$(native_path "$dir/$exe")"
}

case "${1:-}" in
  resolve) resolve ;;
  install) install ;;
  activate) activate ;;
  *)
    echo "usage: $0 resolve|install|activate" >&2
    exit 2
    ;;
esac
