#!/usr/bin/env bash
# Copy the front-end packages installed by npm into portal/static (served by Flask).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf portal/static/dsfr portal/static/vendor
mkdir -p portal/static/dsfr portal/static/vendor
cp -r node_modules/@gouvfr/dsfr/dist/. portal/static/dsfr/
cp node_modules/htmx.org/dist/htmx.min.js portal/static/vendor/htmx.min.js
cp node_modules/chart.js/dist/chart.umd.min.js portal/static/vendor/chart.umd.min.js 2>/dev/null || true
cp node_modules/axe-core/axe.min.js portal/static/vendor/axe.min.js 2>/dev/null || true
