#!/usr/bin/env bash
# Lighthouse's mobile audit (performance and accessibility) of the buyer's pages: the order page and the lookup.
#
#   npm install --prefix /tmp/lh lighthouse          # once
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/shipshape_bench_1m bench/lighthouse.sh [token]
#
# Serves the project with `manage.py runserver` (DEBUG, so static files are served too) on a free port,
# audits with Debian's chromium (CHROME_PATH=/usr/bin/chromium, headless) and prints each page's scores.
# Without a token it picks a shipped order with two parcels. Reports go to $LH_OUT (default /tmp/lighthouse).
set -euo pipefail
cd "$(dirname "$0")/.."
LH="${LH:-/tmp/lh/node_modules/.bin/lighthouse}"
PORT="${PORT:-8766}"
OUT="${LH_OUT:-/tmp/lighthouse}"
export CHROME_PATH="${CHROME_PATH:-/usr/bin/chromium}"
export DEBUG=true
mkdir -p "$OUT"

TOKEN="${1:-}"
if [ -z "$TOKEN" ]; then
  TOKEN=$(.venv/bin/python -c "
import django, os
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')
django.setup()
from django.db.models import Count
from orders.models import Order
print(Order.objects.filter(status='shipped').annotate(n=Count('shipments')).filter(n=2)
      .order_by('id').values_list('public_token', flat=True).first())")
fi

.venv/bin/python manage.py runserver --noreload "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -fs "http://127.0.0.1:$PORT/track/" >/dev/null && break; sleep 0.5; done

audit() {
  local name=$1 url=$2
  "$LH" "$url" --quiet --only-categories=performance,accessibility --form-factor=mobile \
    --chrome-flags="--headless=new --no-sandbox" --output=json --output-path="$OUT/$name.json" >/dev/null
  .venv/bin/python - "$OUT/$name.json" "$name" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
cats = report["categories"]
audits = report["audits"]
print(f"{sys.argv[2]:<8} performance {cats['performance']['score'] * 100:.0f}  accessibility "
      f"{cats['accessibility']['score'] * 100:.0f}  FCP {audits['first-contentful-paint']['displayValue']}  "
      f"LCP {audits['largest-contentful-paint']['displayValue']}  TBT {audits['total-blocking-time']['displayValue']}  "
      f"CLS {audits['cumulative-layout-shift']['displayValue']}  bytes {audits['total-byte-weight']['numericValue']:.0f}")
for key, audit in audits.items():
    if audit.get("score") is not None and audit["score"] < 1 and key in {
        ref["id"] for ref in cats["accessibility"]["auditRefs"] if ref.get("weight")
    }:
        print(f"  accessibility: {key}: {audit['title']}")
PY
}

audit order "http://127.0.0.1:$PORT/track/$TOKEN/"
audit lookup "http://127.0.0.1:$PORT/track/"
