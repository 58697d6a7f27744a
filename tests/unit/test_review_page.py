"""The owner's review page in a real browser (Debian's Chromium, driven by Playwright), by
keyboard: it lists the held lessons, approves one, shows why the filter refuses an edit and
keeps the lesson waiting, rejects with a reason, and keeps the history of decisions.

With SOCIALLEARN_SCREENSHOTS=1 its screenshots replace docs/images/review-*.png (the docs
show them); otherwise they go to a temporary folder.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from owner_reviews import Waiting, held, reviewing_service, teach

from sociallearn.apps.review_app import review_app
from sociallearn.apps.service_cli import free_port
from sociallearn.core.lm import ScriptedLM
from sociallearn.engine import ModelPool
from sociallearn.teaching.service import TeacherService

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
LESSONS = [
    "Spam offers prizes or money and asks for a quick reply; ham is everyday talk.",
    "Spam pushes you to call 07700 900123 for a free gift; ham is about plans, family and work.",
    "Messages about winning, cash or urgent claims are spam; the rest is ham.",
]
EDIT = "Spam promises prizes and urges a quick reply; ham is ordinary chat between people."

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
)


@pytest.fixture
def owner_page(sms_file: Path, tmp_path: Path) -> Iterator[tuple[str, TeacherService]]:
    """The review page of a service holding one lesson from each of three runs."""
    running = reviewing_service(sms_file, tmp_path)
    server = uvicorn.Server(
        uvicorn.Config(
            review_app(lambda: running.review), host="127.0.0.1", port=free_port(),
            log_level="warning",
        )
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline, "the review app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}", running
    server.should_exit = True
    thread.join(timeout=10)


def test_the_owner_reviews_by_keyboard(owner_page, tmp_path):
    url, running = owner_page
    requests = []
    for number, text in enumerate(LESSONS, start=1):
        running.models = ModelPool.fixed(ScriptedLM(lambda prompt, call, text=text: text))
        requests.append(Waiting(lambda n=number: teach(running, run_id=f"run-{n}")))
        held(running, count=number)
    first, second, third = (lesson.id for lesson in running.review.pending())
    shots = DOCS_IMAGES if os.environ.get("SOCIALLEARN_SCREENSHOTS") == "1" else tmp_path
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1100, "height": 900},
        )  # fmt: skip
        page = browser.new_page()
        page.goto(f"{url}/review")
        waiting = page.locator("#pending > li")
        sync_api.expect(waiting).to_have_count(3)
        sync_api.expect(page.locator(f"#lesson-{first} pre")).to_have_text(LESSONS[0])
        sync_api.expect(page.locator(f"#lesson-{first}")).to_contain_text("alice")
        sync_api.expect(page.locator(f"#lesson-{first}")).to_contain_text("passed")
        redacted = page.locator(f"#lesson-{second}")  # the filter took out a phone number
        sync_api.expect(redacted).to_contain_text("passed, redacted phone ×1")
        sync_api.expect(redacted.locator("pre")).to_contain_text("call [PHONE] for a free gift")
        page.screenshot(path=str(shots / "review-pending.png"), full_page=True)

        page.keyboard.press("Tab")  # the first control of the page: the first lesson's Approve
        focused = page.evaluate(
            "[document.activeElement.textContent, document.activeElement.closest('li').id]"
        )
        assert focused == ["Approve", f"lesson-{first}"]
        page.keyboard.press("Enter")
        sync_api.expect(page.locator("#status")).to_have_text(f"Lesson {first} approved.")
        sync_api.expect(waiting).to_have_count(2)
        assert [c.text for c in requests[0].result()["candidates"]] == [LESSONS[0]]
        # the focus moves on to the next lesson's Approve
        assert page.evaluate("document.activeElement.closest('li').id") == f"lesson-{second}"

        leaky = f"Spam reads like this: {running.examples[0].input}"
        page.locator(f"#edit-{second}").fill(leaky)
        page.keyboard.press("Tab")  # to "Save edit"
        page.keyboard.press("Space")
        error = page.locator(f"#error-{second}")
        sync_api.expect(error).to_contain_text("the privacy filter refuses the edit: near copy")
        sync_api.expect(waiting).to_have_count(2)
        assert [held.id for held in running.review.pending()] == [second, third]
        page.screenshot(path=str(shots / "review-edit-refused.png"), full_page=True)

        page.locator(f"#reason-{second}").fill("Too close to one of our customers' messages")
        page.keyboard.press("Tab")  # to "Reject"
        page.keyboard.press("Enter")
        sync_api.expect(page.locator("#status")).to_have_text(f"Lesson {second} rejected.")
        rejected = requests[1].result()
        assert rejected["candidates"] == []
        assert rejected["dropped"][-1].reasons == ["the data owner rejected 1 lessons"]

        page.locator(f"#edit-{third}").fill(EDIT)
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        sync_api.expect(page.locator("#none-pending")).to_be_visible()
        assert [c.text for c in requests[2].result()["candidates"]] == [EDIT]
        history = page.locator("#history-rows > tr")
        sync_api.expect(history).to_have_count(3)
        sync_api.expect(history.first).to_contain_text("edited")
        sync_api.expect(page.locator("#history-rows")).to_contain_text("customers' messages")
        page.screenshot(path=str(shots / "review-history.png"), full_page=True)
        browser.close()
