#!/usr/bin/env bash
# Screenshots of `likely ui` on a real run for the tracking tutorial: the browser test of
# the suite trains a small run, serves it with `likely ui` and photographs the runs table
# and the run's page in headless Chromium; LIKELY_SCREENSHOT_DIR keeps the pictures.
set -euo pipefail
cd "$(dirname "$0")/../.."
LIKELY_SCREENSHOT_DIR="$PWD/docs/assets" python -m pytest -q -p no:cacheprovider \
    tests/cli/test_tracking_cli.py -k chromium
