#!/usr/bin/env bash
# Accessibility audit of a Valvo binary.
#
# Usage: a11y/run.sh PATH_TO_VALVO_BINARY [extra audit.mjs arguments, e.g. --max-pages 50]
#
# Installs Chromium (Debian package) and the npm packages if they are missing,
# starts `valvo demo` on a free loopback port with a throw-away SQLite
# database, waits for /healthz, runs audit.mjs against it and exits with the
# audit's status. The server is stopped on exit; its log tail is printed if
# anything failed.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 PATH_TO_VALVO_BINARY [audit.mjs arguments]" >&2
  exit 2
fi
BIN=$1
shift
if [[ ! -x $BIN ]]; then
  echo "error: $BIN is not an executable file" >&2
  exit 2
fi
# Absolute path, so it does not depend on the working directory.
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

A11Y_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# --- tools --------------------------------------------------------------
missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [[ ! -d $A11Y_DIR/node_modules/playwright-core || ! -d $A11Y_DIR/node_modules/@axe-core/playwright ]]; then
  (cd "$A11Y_DIR" && npm ci --no-audit --no-fund)
fi

# --- server -------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/valvo-a11y.XXXXXX")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null ||
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
VALVO_DEMO_PASSWORD=$(node -e 'console.log(require("crypto").randomBytes(18).toString("base64url"))')
export VALVO_DEMO_PASSWORD
BASE="http://127.0.0.1:$PORT"
SERVER_PID=""

cleanup() {
  local status=$?
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -f $TMP/server.log ]]; then
    echo "--- last 50 lines of the server log ($TMP/server.log) ---" >&2
    tail -n 50 "$TMP/server.log" >&2 || true
    echo "--- end of server log; $TMP kept for inspection ---" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "starting $BIN demo on $BASE (data in $TMP)"
"$BIN" demo --addr "127.0.0.1:$PORT" --database-url "sqlite://$TMP/valvo.db" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

ready=0
for _ in $(seq 1 120); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "error: the server exited before answering /healthz" >&2
    exit 1
  fi
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$BASE/healthz" || true)
  if [[ $code == 200 ]]; then
    ready=1
    break
  fi
  sleep 0.5
done
if [[ $ready -ne 1 ]]; then
  echo "error: $BASE/healthz did not answer 200 within 60 s" >&2
  exit 1
fi
echo "server is up"

# --- audit --------------------------------------------------------------
status=0
# Screenshots of the public pages are kept (a CI artefact) under
# a11y/screenshots, or where VALVO_SCREENSHOTS says.
SHOTS=${VALVO_SCREENSHOTS:-$A11Y_DIR/screenshots}
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
# Every page kind (two of each), the error pages, and a form with a validation error.
node "$A11Y_DIR/audit.mjs" --base "$BASE" --email admin@valvo.demo --password "$VALVO_DEMO_PASSWORD" \
  --per-kind 2 \
  --error-page /org/999999 \
  --error-page "/org/2/plan/2024?period=2024Q9" \
  --invalid-form "/indicators/1/follow-up?period=2024T3#value=abc" \
  --invalid-form "/org/2/goals/new?year=2024#title_fi=" \
  --invalid-form "/report/asiakas-ja-resurssikeskus#description=" \
  --error-page "/receipt?code=AAAA-BBBB-CCCC-DDDD" \
  --invalid-form "/receipt#code=" \
  --invalid-form "/feedback/asiakas-ja-resurssikeskus#text=" \
  --invalid-form "/org/2/feedback/cases/new#case_text=" \
  --invalid-form "/feedback/survey#statement_key=Bad key!" \
  --error-page "/feedback/i/unknown-token" \
  --invalid-form "/incidents/event-types/new#type_code=Ä" \
  --invalid-form "/incidents/event-types/medication/edit#sort_order=abc" \
  --invalid-form "/org/2/figures?period=2024H1#value_2=abc" \
  --invalid-form "/indicators/1/edit#baseline=abc" \
  --error-page "/org/2/figures?period=kevät" \
  --invalid-form "/ombudsman#contacted_on=" \
  --invalid-form "/supervision#finding1_due=2020-01-01" \
  --invalid-form "/settings/branding/1#brand_colour=ffcc00" \
  --invalid-form "/users/new#email=not an address" \
  --invalid-form "/account#token_label=" \
  --error-page "/password/no-such-link" \
  --screenshots "$SHOTS" \
  "$@" || status=$?
# The national role's pages (statistics of every county, nothing else).
node "$A11Y_DIR/audit.mjs" --base "$BASE" --email thl@valvo.demo --password "$VALVO_DEMO_PASSWORD" \
  --per-kind 2 --logged-in-only || status=$?
echo "screenshots of the public pages (390 and 1280 px, fi and sv): $SHOTS"
exit "$status"
