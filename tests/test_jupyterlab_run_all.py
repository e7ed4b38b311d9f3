"""Real JupyterLab 4, headless Chromium, "Run All" on a notebook with a bug (issue 23).

The release notebook with the solution's answers and a transposed dW (the catalog's
linear_dW_transposed) is opened in `jupyter lab`; the menu's Run → Run All Cells runs it. Then:
JupyterLab went on past the failing cells (they carry the `raises-exception` tag) up to the last
visible test, which names Linear.backward as the cause; the Linear test shows the short Japanese
message (見立て: 転置) and the heatmap picture, no traceback. A screenshot of the Linear test is
written (its path printed) to look at.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests import editors
from tests.bugs.catalog import BUGS
from tests.submissions import RELEASE, SOLUTION, make_submission

pytestmark = pytest.mark.slow
RUN_ALL_WAIT = 120.0  # seconds: kernel start and every cell


def answers() -> dict[str, str]:
    bug = next(e for e in BUGS if e.name == "linear_dW_transposed")
    ids = ("linear", "sigmoid", "relu", "tanh", "mse", "softmax_ce", "exercise_8_1", "exercise_8_2")
    from tests.submissions import answer_source

    return {gid: answer_source(gid, SOLUTION) for gid in ids} | {bug.cell: bug.source}


def outputs_of(path: Path, gid: str) -> list[dict[str, Any]]:
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid:
            return list(cell.get("outputs", []))
    raise KeyError(gid)


def test_run_all_in_jupyterlab_shows_the_short_message_and_the_picture(chromium, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium
    folder = tmp_path / "work"
    nb = make_submission(folder / RELEASE.name, answers(), base=RELEASE)
    with editors.jupyter_server("lab", folder, tmp_path / "home") as url:
        base, token = url.split("/?token=")
        driver.set_window_size(1400, 1000)
        driver.get(f"{base}/lab/tree/{nb.name}?token={token}")
        wait = WebDriverWait(driver, RUN_ALL_WAIT)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-CodeCell"))
        wait.until(lambda d: "Idle" in d.find_element(By.CSS_SELECTOR, "body").text or True)

        def menu(label: str) -> Any:
            for item in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel"):
                if item.text == label:
                    return item
            return False

        wait.until(lambda _: menu("Run")).click()
        run_all = wait.until(
            lambda d: next(
                (m for m in d.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel") if m.text == "Run All Cells"), False
            )
        )
        run_all.click()

        # Run All is done when the last visible test has its output: save and read the file
        start, last = time.monotonic(), []
        while time.monotonic() - start < RUN_ALL_WAIT:
            time.sleep(2)
            driver.find_element(By.CSS_SELECTOR, ".jp-Notebook").send_keys(Keys.ESCAPE, Keys.CONTROL, "s")
            last = outputs_of(nb, "test_exercise_8_2")
            if last:
                break
        assert last, f"Run All did not reach the last visible test in {RUN_ALL_WAIT:g} s"
        errors = [o for o in last if o["output_type"] == "error"]
        assert errors and "原因は Linear.backward" in errors[0]["evalue"], last

        # the Linear test's output as the student sees it
        def linear_test(d: Any) -> Any:
            for cell in d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-CodeCell"):
                if "nb74.check_linear(Linear)" in cell.text and cell.find_elements(
                    By.CSS_SELECTOR, ".jp-OutputArea-output"
                ):
                    return cell
            driver.execute_script("document.querySelector('.jp-WindowedPanel-outer').scrollBy(0, 600)")
            return False

        driver.execute_script("document.querySelector('.jp-WindowedPanel-outer').scrollTo(0, 0)")
        cell = WebDriverWait(driver, 60).until(linear_test)
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", cell)
        time.sleep(1)
        shot = tmp_path / "jupyterlab-linear-test.png"
        driver.save_screenshot(str(shot))
        print(f"\nscreenshot: {shot}")
        text = cell.find_element(By.CSS_SELECTOR, ".jp-OutputArea").text
        assert "Linear.backward: 可視テストに不合格" in text and "見立て" in text and "転置" in text, text
        assert "Traceback" not in text and "nb74" not in text, text
        shown = [ln for ln in text.splitlines() if ln.strip()]
        assert len(shown) <= 9, shown  # the message (at most 8 lines) and nothing else in text
        images = cell.find_elements(By.CSS_SELECTOR, ".jp-OutputArea img")
        assert images and "あなたの勾配" in (images[0].get_attribute("alt") or ""), [
            i.get_attribute("alt") for i in images
        ]
        assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 300", images[0])
