#!/usr/bin/env bash
# Regenerates docs/dashboard.png, docs/store.png, docs/dashboard-phone.png and docs/overview.png from a real run: the
# control plane on redis-server and the Kubernetes API test double, three stores created through the
# API and provisioned by the engine with the real helm, the dashboard signed in as a member in
# Debian's Chromium (Playwright). Needs what ./test.sh installs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap-tools.sh
dotnet build Storefleet.slnx -c Debug -nologo -clp:NoSummary
STOREFLEET_SCREENSHOTS="$PWD/docs" dotnet test tests/Storefleet.Dashboard.Tests -c Debug --no-build -nologo \
  --filter "FullyQualifiedName~Screenshots|FullyQualifiedName~TheFleetOverview"
ls -l docs/*.png
