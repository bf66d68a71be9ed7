#!/usr/bin/env bash
# Copy the front-end packages installed by npm into portal/static (served by Flask).
# Every asset is required: the pages need DSFR and htmx, the dashboards the chart library, the
# browser tests axe-core. A missing one stops here with its name, not later with a blank chart.
set -euo pipefail
cd "$(dirname "$0")/.."
need() {
  for path in "$@"; do
    [ -e "$path" ] || { echo "copy_assets : « $path » manque (npm ci a-t-il réussi ?)" >&2; exit 1; }
  done
}
need node_modules/@gouvfr/dsfr/dist/dsfr.min.css node_modules/htmx.org/dist/htmx.min.js \
  node_modules/chart.js/dist/chart.umd.min.js node_modules/axe-core/axe.min.js
rm -rf portal/static/dsfr portal/static/vendor
mkdir -p portal/static/dsfr portal/static/vendor
cp -r node_modules/@gouvfr/dsfr/dist/. portal/static/dsfr/
cp node_modules/htmx.org/dist/htmx.min.js portal/static/vendor/htmx.min.js
cp node_modules/chart.js/dist/chart.umd.min.js portal/static/vendor/chart.umd.min.js
cp node_modules/axe-core/axe.min.js portal/static/vendor/axe.min.js
