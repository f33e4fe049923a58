#!/usr/bin/python3
"""Render `clv evaluate --report` in headless Chromium and check that every
chart rendered: each <svg class="chart"> has a size and its data elements
(polyline points, bars, markers), nothing was fetched, nothing logged an
error to the console, and the screenshot is not blank.

    render-report.py CLV_TOOL OUT_DIR

Exits 77 (skipped) when Chromium, chromedriver or selenium is absent.
The screenshot is left at OUT_DIR/report.png for a look.
"""
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"


# Models that predict a horizon total, no weekly path: one point each.
HORIZON_ONLY = {"xgboost", "ziln"}

def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def fail(why):
    print("FAIL: " + why)
    sys.exit(1)


def main():
    clv, out_dir = sys.argv[1], sys.argv[2]
    for path in (CHROMIUM, DRIVER):
        if not os.access(path, os.X_OK):
            skip(path + " is not installed (Debian: chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        skip("python3-selenium is not installed for " + sys.executable)
    try:
        from PIL import Image
    except ImportError:
        skip("python3-pil is not installed for " + sys.executable)

    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="clv-render-")
    try:
        log = os.path.join(work, "log.csv")
        report = os.path.join(out_dir, "report.html")
        subprocess.run([clv, "simulate", "--customers", "400", "--seed", "1", "--out", log, "--quiet"], check=True)
        subprocess.run([clv, "evaluate", "--data", log, "--cutoff", "1997-09-30", "--holdout-end", "1998-06-30",
                        "--report", report, "--quiet"], check=True, stdout=subprocess.DEVNULL)
        check(webdriver, Service, Image, report, os.path.join(out_dir, "report.png"), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# Everything the checks need from the page, in one DOM query.
QUERY = """
const charts = [...document.querySelectorAll('svg.chart')].map(s => {
  const r = s.getBoundingClientRect();
  const lines = [...s.querySelectorAll('polyline.series')];
  return {
    kind: s.dataset.chart, model: s.dataset.model || '', width: r.width, height: r.height,
    series: lines.map(p => ({model: p.dataset.model, points: p.points.numberOfItems})),
    bars: [...s.querySelectorAll('rect.bar')].filter(b => b.height.baseVal.value > 0).length,
    dots: s.querySelectorAll('circle.point').length,
  };
});
return {
  charts: charts,
  models: [...document.querySelectorAll('table.scores tbody tr td:first-child')].map(td => td.textContent),
  resources: performance.getEntriesByType('resource').length,
  scripts: document.scripts.length,
  height: document.documentElement.scrollHeight,
};
"""


def check(webdriver, Service, Image, report, png, work):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + os.path.join(work, "profile"),
              "--window-size=1100,1000"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=opts)
    try:
        driver.set_page_load_timeout(60)
        driver.get("file://" + report)
        page = driver.execute_script(QUERY)
        # The whole page in one screenshot.
        driver.set_window_size(1100, page["height"] + 40)
        page = driver.execute_script(QUERY)
        if not driver.save_screenshot(png):
            fail("no screenshot")
        console = driver.get_log("browser")
    finally:
        driver.quit()

    errors = [e for e in console if e.get("level") in ("SEVERE", "ERROR")]
    if errors:
        fail("console errors: %s" % errors)
    if page["resources"] or page["scripts"]:
        fail("the report loads %d resources and has %d scripts; it must be self-contained"
             % (page["resources"], page["scripts"]))
    models = page["models"]
    if len(models) < 4:
        fail("the scores table lists %d models: %s" % (len(models), models))

    charts = page["charts"]
    kinds = [c["kind"] for c in charts]
    want = {"learning-curve": 1, "deciles": len(models), "gain": 1, "tracking": 1, "tracking-weekly": 1}
    for kind, n in want.items():
        if kinds.count(kind) != n:
            fail("%d '%s' charts, expected %d (charts: %s)" % (kinds.count(kind), kind, n, kinds))
    for c in charts:
        name = c["kind"] + (" " + c["model"] if c["model"] else "")
        if c["width"] < 200 or c["height"] < 150:
            fail("%s: rendered %gx%g px" % (name, c["width"], c["height"]))
        empty = [s["model"] for s in c["series"] if s["points"] < 2]
        if empty:
            fail("%s: series without points: %s" % (name, empty))
        drawn = {s["model"] for s in c["series"]}
        if c["kind"] == "learning-curve" and (len(c["series"]) < 2 or c["dots"] < 1):
            fail("%s: %d loss curves, %d validation points" % (name, len(c["series"]), c["dots"]))
        if c["kind"] == "deciles" and c["bars"] < 15:
            fail("%s: %d of 20 bars have a height" % (name, c["bars"]))
        if c["kind"] == "gain" and not {"perfect", "random", *models} <= drawn:
            fail("%s: curves %s, expected perfect, random and %s" % (name, sorted(drawn), models))
        if c["kind"].startswith("tracking"):
            weekly = [m for m in models if m not in HORIZON_ONLY]
            if not {"actual", *weekly} <= drawn:
                fail("%s: curves %s, expected actual and %s" % (name, sorted(drawn), weekly))
            actual = [s["points"] for s in c["series"] if s["model"] == "actual"][0]
            if actual < 40:   # 39 calibration + 39 holdout weeks
                fail("%s: the actual curve has %d points" % (name, actual))
            if c["kind"] == "tracking" and HORIZON_ONLY & set(models) and c["dots"] < len(HORIZON_ONLY & set(models)):
                fail("%s: no point for the horizon totals of %s" % (name, sorted(HORIZON_ONLY & set(models))))

    # Not blank: the whole page and every chart show the palette's colours.
    img = Image.open(png).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 20) or []
    if len(colours) < 50:
        fail("screenshot %s has %d distinct colours: blank?" % (png, len(colours)))
    present = {rgb for _, rgb in colours}
    palette = [(0x1f, 0x77, 0xb4), (0xd6, 0x27, 0x28), (0x2c, 0xa0, 0x2c), (0xff, 0x7f, 0x0e), (0x22, 0x22, 0x22)]
    missing = [p for p in palette[:min(len(models), 4)] + [palette[4]] if p not in present]
    if missing:
        fail("screenshot %s lacks the series colours %s" % (png, missing))
    print("ok: %d charts rendered (%s), %d models, screenshot %s (%dx%d, %d colours)"
          % (len(charts), ", ".join(sorted(set(kinds))), len(models), png, img.size[0], img.size[1], len(colours)))


if __name__ == "__main__":
    main()
