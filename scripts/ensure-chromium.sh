#!/bin/sh
# Headless Chromium for the HTML report test (tests/test_clerk_reports.py).
exec sh "$(dirname "$0")/apt-ensure.sh" ensure-chromium chromium 'command -v chromium || command -v chromium-browser'
