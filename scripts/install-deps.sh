#!/usr/bin/env bash
# Install the Debian/Ubuntu packages llmcap needs, when any is missing.
# Usage: scripts/install-deps.sh [--with-tools]   (--with-tools adds clang, clang-tidy,
# cppcheck, the sqlite3 shell, Chromium (the report's render test), xmllint (the JUnit
# schema check) and shellcheck (deploy/scripts) for CI). Needs root or sudo; does nothing when all
# packages are already installed.
set -euo pipefail

pkgs=(build-essential cmake pkg-config libgsl-dev libyaml-dev libcjson-dev libsqlite3-dev
      zlib1g-dev libzstd-dev libcriterion-dev gnuplot-nox)
if [[ "${1:-}" == "--with-tools" ]]; then
  pkgs+=(clang clang-tidy cppcheck sqlite3 chromium libxml2-utils shellcheck)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "llmcap: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "llmcap: error: need root (or sudo) to install: ${missing[*]}" >&2
    exit 3
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
