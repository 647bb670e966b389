#!/usr/bin/env bash
# The whole test suite, from a fresh machine with only the .NET 10 SDK:
# installs what the tests need (scripts/bootstrap-tools.sh), builds with warnings as errors,
# and runs every test project. Extra arguments go to `dotnet test` (e.g. --filter Name~Stores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

scripts/bootstrap-tools.sh

echo "[test] building"
dotnet build Storefleet.slnx -c Debug -nologo -clp:NoSummary -warnaserror

echo "[test] running tests"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
dotnet test Storefleet.slnx -c Debug --no-build -nologo "$@" 2>&1 | tee "$log" || status=$?

# One closing line for CI and people: totals over every test assembly.
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "[test] no tests ran" >&2
  status=1
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
