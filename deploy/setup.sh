#!/usr/bin/env bash
# Installs what vox needs on a fresh machine; safe to run again (each step skips what is there).
#   deploy/setup.sh        Python environment (.venv), the compiled sentiment reader (native/,
#                          where cargo is found) and the local Kafka broker (Maven Central)
#   deploy/setup.sh test   the same, plus what the tests start: a real ClickHouse server
#                          (Debian clickhouse-server, 18.16), promtool (Debian prometheus) and
#                          a headless browser for the dashboard (Debian chromium) and a
#                          Compose client to check docker-compose.yml (Debian docker-compose)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

# bold only on a terminal: in a CI log or a pipe, escape codes are noise
if [ -t 1 ]; then say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }; else say() { printf '[setup] %s\n' "$*"; }; fi

need_apt=()
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
if [ "${1:-}" = "test" ]; then
  command -v clickhouse-server >/dev/null || need_apt+=(clickhouse-server)
  command -v promtool >/dev/null || need_apt+=(prometheus)
  command -v chromium >/dev/null || need_apt+=(chromium)  # the dashboard's test loads it headless
  command -v docker-compose >/dev/null || need_apt+=(docker-compose)  # `config` checks docker-compose.yml
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

stamp="$VENV/.vox-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "creating the Python environment in $VENV"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[test]"
  touch "$stamp"
fi

# the compiled text sentiment reader (native/, Rust, crates from crates.io): the same readings
# as the Python reference, about nine times faster; without cargo vox reads in Python
native_stamp="$VENV/.vox-native-installed"
if command -v cargo >/dev/null; then
  if [ ! -f "$native_stamp" ] || [ -n "$(find native -newer "$native_stamp" -not -path 'native/target*' -print -quit)" ]; then
    say "building the compiled sentiment reader (native/, Rust)"
    "$VENV/bin/python" -m pip install -q ./native
    touch "$native_stamp"
  fi
else
  say "no Rust toolchain (cargo): text sentiment reads in Python, the same scores about nine times slower"
fi

if [ ! -f deploy/kafka/dist/.complete ]; then
  say "installing the local Kafka broker from Maven Central"
  "$VENV/bin/vox" kafka install >/dev/null
fi
say "ready"
