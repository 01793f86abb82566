#!/usr/bin/env bash
# Smoke-test the install a user gets: build the wheel and sdist, install the wheel alone (no dev extras) into a
# clean virtualenv, then run `dlrhub --version`, `dlrhub migrate` and `dlrhub serve` until /healthz answers 200,
# and the dashboard's login page, its vendored static files and /docs answer from the wheel.
# Usage: scripts/smoke_wheel.sh [PYTHON]. PYTHON (default .venv/bin/python) needs `build` (the dev extras have
# it). Called by `make smoke` and .ci/run. Any failure ends it with status 1 and says which step failed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
work=$(mktemp -d "${TMPDIR:-/tmp}/dlrhub-smoke.XXXXXX")
server=""

cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -KILL "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "smoke: FAILED: $*" >&2
  for log in "$work"/*.log; do
    [ -s "$log" ] && { echo "--- ${log##*/}" >&2; tail -n 40 "$log" >&2; }
  done
  exit 1
}

echo "smoke: building the sdist and wheel"
"$PY" -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 || fail "python -m build"
shopt -s nullglob
wheels=("$work"/dist/dlrhub-*.whl)
sdists=("$work"/dist/dlrhub-*.tar.gz)
[ ${#wheels[@]} -eq 1 ] || fail "expected one wheel in dist/, found ${#wheels[@]}"
[ ${#sdists[@]} -eq 1 ] || fail "expected one sdist in dist/, found ${#sdists[@]}"
wheel=${wheels[0]}
built=$(basename "$wheel" | cut -d- -f2)

echo "smoke: installing $(basename "$wheel") into a clean virtualenv (runtime dependencies only)"
"$PY" -m venv "$work/venv" || fail "python -m venv"
"$work/venv/bin/python" -m pip install --quiet "$wheel" >"$work/pip.log" 2>&1 || fail "pip install the wheel"
dlrhub="$work/venv/bin/dlrhub"

# Run from the work directory, with no settings but the ones given here, so nothing in the checkout is read.
cd "$work"
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^DLRHUB_' || true)
export DLRHUB_DATABASE_URL="sqlite:///$work/smoke.sqlite3"

said=$("$dlrhub" --version 2>"$work/version.log") || fail "dlrhub --version"
[ "$said" = "dlrhub $built" ] || fail "dlrhub --version said '$said', the wheel is $built"
echo "smoke: $said"

"$dlrhub" migrate >"$work/migrate.log" 2>&1 || fail "dlrhub migrate"
"$dlrhub" migrate >"$work/migrate-again.log" 2>&1 || fail "dlrhub migrate (a second time)"
grep -q "up to date" "$work/migrate-again.log" || fail "a second dlrhub migrate did not find the schema up to date"
echo "smoke: dlrhub migrate applied the schema"

port=$("$work/venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DLRHUB_HOST=127.0.0.1 DLRHUB_PORT=$port DLRHUB_ADMIN_TOKEN=smoke-admin-token-0123456789 "$dlrhub" serve >"$work/serve.log" 2>&1 &
server=$!
healthy=""
for _ in $(seq 1 150); do
  kill -0 "$server" 2>/dev/null || fail "dlrhub serve exited before /healthz answered"
  if "$work/venv/bin/python" - "$port" <<'PY' 2>/dev/null; then
import sys
import urllib.request

with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2) as answer:
    sys.exit(0 if answer.status == 200 else 1)
PY
    healthy=yes
    break
  fi
  sleep 0.2
done
[ -n "$healthy" ] || fail "/healthz did not answer 200 within 30 s"
echo "smoke: dlrhub serve answered /healthz on port $port"

# The dashboard's templates and vendored files ship in the wheel: the login page, htmx and Swagger UI answer.
"$work/venv/bin/python" - "$port" <<'PY' || fail "the wheel does not serve the dashboard's pages and static files"
import sys
import urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
for path, needle in (
    ("/ui/login", b'name="token"'),
    ("/static/vendor/htmx.min.js", b"htmx"),
    ("/static/dashboard.css", b"body"),
    ("/docs", b"/static/vendor/swagger-ui-bundle.js"),
    ("/static/vendor/swagger-ui-bundle.js", b"SwaggerUI"),
):
    with urllib.request.urlopen(base + path, timeout=5) as answer:
        assert answer.status == 200 and needle in answer.read(), path
PY
echo "smoke: the wheel serves the dashboard, its static files and /docs offline"

kill -TERM "$server"
for _ in $(seq 1 150); do
  kill -0 "$server" 2>/dev/null || break
  sleep 0.2
done
kill -0 "$server" 2>/dev/null && fail "dlrhub serve did not stop within 30 s of SIGTERM"
status=0
wait "$server" || status=$?
server=""
[ "$status" -eq 0 ] || fail "dlrhub serve exited with status $status after SIGTERM"
echo "smoke: passed"
