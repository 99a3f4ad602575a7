#!/usr/bin/env bash
# Executable handed to @temporalio/testing's createTimeSkipping(): it is called with the port
# and any extra arguments, exactly as the SDK calls its own downloaded test server.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib="$here/../../.tools/temporal-test-server/lib"
exec java -cp "$lib/*" io.temporal.testserver.TestServer "$@"
