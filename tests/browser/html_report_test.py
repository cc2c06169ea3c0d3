#!/usr/bin/python3
"""report.html in a real browser: headless Chromium (Debian's chromium and
chromium-driver, driven by Debian's python3-selenium; the Makefile's
TEST_PACKAGES) opens the page `epsim run --out` wrote, from disk, and checks
that it works as an SRE would use it:

  - the console has no errors (SEVERE entries of the browser log);
  - every chart the page's data lists is drawn, with its series' lines on the
    canvas (opaque pixels of a series colour);
  - clicking a window row shows that window's explain chain and zooms every
    chart to the window (plus the margin the page adds: 10% of its length, at
    least 5 s), read back through the page's window.epsimReport hook and
    compared with the window's start and end in report.json;
  - clicking a storm row zooms every chart to the storm the same way;
  - the SIG Scalability SLO table shows, per cluster-day, report.json's
    "slis": the p99 of the worst (resource, verb) of the mutating API calls,
    the network programming p99, met or missed, and the minutes the 5-minute
    SLI was over 30 s; clicking an interval it was over zooms every chart to
    that interval of report.json;
  - dragging across a chart zooms all charts to the same range, and
    shift-dragging pans them together.

If Chromium or chromedriver cannot start, the test fails; it never skips.
Run by ctest (tests/CMakeLists.txt).

Usage: html_report_test.py EPSIM [SCENARIO] [--screenshot PNG]
With --screenshot, also saves the page (the README image, docs/images/).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def padded(start, end):
    """The x range the page zooms to for [start, end] (app/html_report_template.html)."""
    pad = max(0.1 * (end - start), 5.0)
    return start - pad, end + pad


def check_ranges(driver, expected, what):
    ranges = driver.execute_script("return window.epsimReport.xRanges();")
    if not ranges:
        fail("the page has no charts to zoom")
    for i, (lo, hi) in enumerate(ranges):
        if abs(lo - expected[0]) > 1e-6 or abs(hi - expected[1]) > 1e-6:
            fail(f"after clicking {what}, chart {i} shows [{lo}, {hi}], expected [{expected[0]}, {expected[1]}]")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("epsim")
    parser.add_argument("scenario", nargs="?")
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    for tool in (CHROMEDRIVER, CHROMIUM):
        if not os.access(tool, os.X_OK):
            fail(f"{tool} is missing (make deps-test installs chromium and chromium-driver)")

    work = tempfile.mkdtemp(prefix="epsim_html_")
    driver = None
    try:
        out = os.path.join(work, "out")
        command = [args.epsim, "run"] + ([args.scenario] if args.scenario else []) + ["--out", out]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "report.json")) as f:
            report = json.load(f)
        windows = report["windows"]
        storms = [s for c in report["clusters"] for kind in ("resyncs", "startups") for s in c[kind]]
        if not windows or not storms:
            fail("the scenario must give at least one window and one storm")

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1600,1200", "--user-data-dir=" + os.path.join(work, "profile")):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.get("file://" + os.path.join(out, "report.html"))
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return !!window.epsimReport;"))

        # Every chart drawn, with its lines.
        charts = driver.execute_script("return window.epsimReport.data.charts.map(c => c.id);")
        if len(charts) < 3:
            fail(f"expected at least the workqueue, PUT and in-flight charts, the page lists {charts}")
        drawn = driver.execute_script("return window.epsimReport.charts.length;")
        if drawn != len(charts):
            fail(f"{drawn} charts drawn of {len(charts)}")
        for i, chart in enumerate(charts):
            pixels = driver.execute_script(f"return window.epsimReport.seriesPixels({i});")
            if pixels < 50:
                fail(f"chart {chart} has {pixels} pixels of its series' colours: not drawn")

        # Every window and storm is a row.
        window_rows = driver.find_elements(By.CSS_SELECTOR, "#window-table tbody tr")
        storm_rows = driver.find_elements(By.CSS_SELECTOR, "#storm-table tbody tr")
        if len(window_rows) != len(windows) or len(storm_rows) != len(storms):
            fail(f"{len(window_rows)} window rows for {len(windows)} windows, "
                 f"{len(storm_rows)} storm rows for {len(storms)} storms")

        # A window: its chain, and the charts zoomed to it. The longest but the
        # first row (when there are two), so a page that always shows the first
        # window's chain or range fails.
        longest = max(range(len(windows)), key=lambda i: windows[i]["duration_s"])
        k = max(range(1, len(windows)), key=lambda i: windows[i]["duration_s"]) if len(windows) > 1 else 0
        w = windows[k]
        window_rows[k].click()
        chain = driver.find_element(By.ID, "chain").text
        for needle in (f"504 window {k + 1} of {len(windows)}: {w['service']} in cluster {w['cluster']}",
                       "the window opens", "the window closes"):
            if needle not in chain:
                fail(f"after clicking window {k + 1}, the chain lacks {needle!r}:\n{chain}")
        check_ranges(driver, padded(w["start_s"], w["end_s"]), f"window {k + 1}")

        # A storm (the table is in start order, as the page sorts it).
        storms.sort(key=lambda s: s["at_s"])
        s = storms[-1]
        storm_rows[-1].click()
        check_ranges(driver, padded(s["at_s"], s["at_s"] + s["duration_s"]), "the last storm")

        # The SLO table: one row per cluster-day of report.json's "slis".
        slis = report["slis"]
        days = []
        for e in slis["mutating_api_call_latency"] + slis["network_programming_latency"]:
            if (e["cluster"], e["day"]) not in days:
                days.append((e["cluster"], e["day"]))
        sli_rows = driver.find_elements(By.CSS_SELECTOR, "#sli-summary-table tbody tr")
        if len(sli_rows) != len(days):
            fail(f"{len(sli_rows)} SLO rows for {len(days)} cluster-days in report.json")
        for row, (cluster, day) in zip(sli_rows, days):
            cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
            if cells[0] != cluster or cells[1] != str(day):
                fail(f"SLO row {cells} is not {cluster} day {day}")
            api = [e for e in slis["mutating_api_call_latency"] if e["cluster"] == cluster and e["day"] == day]
            if api:
                worst = max(api, key=lambda e: e["p99_s"])
                expected = f"{worst['p99_s']:.2f} s"
                if not cells[2].startswith(expected) or ("met" if worst["met"] else "missed") not in cells[2]:
                    fail(f"{cluster} day {day}: API call p99 cell {cells[2]!r}, report.json says {worst}")
                if cells[3] != f"{worst['verb']} {worst['resource']}":
                    fail(f"{cluster} day {day}: worst call {cells[3]!r}, report.json says {worst}")
            net = [e for e in slis["network_programming_latency"] if e["cluster"] == cluster and e["day"] == day]
            if net:
                e = net[0]
                verdict = "missed" if e["p99_s"] > e["slo_s"] else "met"
                if not cells[4].startswith(f"{e['p99_s']:.1f} s") or not cells[4].endswith(verdict):
                    fail(f"{cluster} day {day}: network programming cell {cells[4]!r}, report.json says {e}")
                broken_min = sum(b - a for a, b in e["sli_broken"]) / 60
                expected = f"for {round(broken_min, 1):g} min" if broken_min > 0 else "never"
                if cells[5] != expected:
                    fail(f"{cluster} day {day}: SLI-over-30-s cell {cells[5]!r}, expected {expected!r}")

        # Every interval the 5-minute SLI was over 30 s is a row; the last one
        # zooms the charts to it.
        broken = [(e["cluster"], e["day"], b) for e in slis["network_programming_latency"] for b in e["sli_broken"]]
        broken_rows = driver.find_elements(By.CSS_SELECTOR, "#sli-table tbody tr")
        if len(broken_rows) != len(broken):
            fail(f"{len(broken_rows)} SLI interval rows for {len(broken)} intervals in report.json")
        if not broken:
            fail("the scenario must break the network programming SLI at least once")
        broken_rows[-1].click()
        check_ranges(driver, padded(broken[-1][2][0], broken[-1][2][1]), "the last broken SLI interval")

        # Drag across the middle half of the first chart: every chart follows.
        before = driver.execute_script("return window.epsimReport.xRanges()[0];")
        plot = driver.find_element(By.CSS_SELECTOR, ".chart")
        width = plot.size["width"]
        ActionChains(driver).move_to_element_with_offset(plot, -width // 4, 0).click_and_hold() \
            .move_by_offset(width // 2, 0).release().perform()
        ranges = driver.execute_script("return window.epsimReport.xRanges();")
        if not ranges[0][1] - ranges[0][0] < 0.8 * (before[1] - before[0]):
            fail(f"dragging over the first chart did not zoom it: {before} -> {ranges[0]}")
        if any(abs(r[0] - ranges[0][0]) > 1e-6 or abs(r[1] - ranges[0][1]) > 1e-6 for r in ranges):
            fail(f"the charts did not follow the first one's zoom: {ranges}")

        # Shift-drag pans: the same span, earlier, on every chart.
        zoomed = ranges[0]
        ActionChains(driver).key_down(Keys.SHIFT).move_to_element_with_offset(plot, 0, 0).click_and_hold() \
            .move_by_offset(width // 4, 0).release().key_up(Keys.SHIFT).perform()
        ranges = driver.execute_script("return window.epsimReport.xRanges();")
        span = zoomed[1] - zoomed[0]
        if not (ranges[0][0] < zoomed[0] - 0.1 * span and abs((ranges[0][1] - ranges[0][0]) - span) < 1e-6 * span):
            fail(f"shift-dragging right did not pan the first chart to earlier times: {zoomed} -> {ranges[0]}")
        if any(abs(r[0] - ranges[0][0]) > 1e-6 or abs(r[1] - ranges[0][1]) > 1e-6 for r in ranges):
            fail(f"the charts did not follow the first one's pan: {ranges}")

        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        if severe:
            fail("console errors:\n" + "\n".join(e.get("message", "") for e in severe))

        if args.screenshot:
            # The longest window selected, in a viewport as tall as the page.
            window_rows[longest].click()
            page = driver.execute_script(
                "return Math.ceil(document.body.getBoundingClientRect().bottom) + 16;")
            inner = driver.execute_script("return window.innerHeight;")
            size = driver.get_window_size()
            driver.set_window_size(size["width"], size["height"] - inner + page)
            driver.execute_script("window.scrollTo(0, 0);")
            driver.save_screenshot(args.screenshot)
        print(f"ok: {len(charts)} charts, {len(windows)} windows, {len(storms)} storms; "
              f"report.html {os.path.getsize(os.path.join(out, 'report.html'))} bytes")
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
