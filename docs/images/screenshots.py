"""The README's screenshots of the Dagster UI, as a data engineer sees it (headless Chromium through Playwright).

Run `make demo`, then `make ui` (port 3000), then: `uv run python docs/images/screenshots.py 3000 docs/images`.
Chromium is Debian's (`apt-get install chromium`); the Playwright package drives it.
"""

import sys

from playwright.sync_api import sync_playwright

port, out = sys.argv[1], sys.argv[2]
PAGES = {
    "asset-graph": "/asset-groups",
    "runs-rejected": "/runs?q%5B0%5D=tag%3Areturns%2Foutcome%3DRejected",
    "partitions-accepted-return": "/assets/accepted_return?view=partitions",
    "partition-rejected-return": "/assets/provider_validation?view=partitions&partition=C01%7C2017-07-01",
    "validation-checks": "/assets/provider_validation?view=checks",
    "automation": "/automation",
}
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"http://127.0.0.1:{port}/")
    page.wait_for_timeout(4000)
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.first.click()
    for name, path in PAGES.items():
        page.goto(f"http://127.0.0.1:{port}{path}")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(4000)
        page.screenshot(path=f"{out}/{name}.png")
        print(name)
    browser.close()
