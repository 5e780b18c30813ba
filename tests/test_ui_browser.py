"""A real headless Chromium (Debian's package, driven by Playwright) against the running app."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(qa, tmp_path_factory):
    """Start app.py on a free loopback port (the index is already built by the qa fixture)."""
    port = free_port()
    feedback = tmp_path_factory.mktemp("feedback") / "feedback.jsonl"
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "REGQA_FEEDBACK": str(feedback)}
    log = open(tmp_path_factory.mktemp("applog") / "app.log", "w")
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"app did not start; see {log.name}") from None
                time.sleep(0.5)
        yield url, feedback
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "install Debian's chromium: apt-get install -y chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def ask(page, question):
    page.locator("#regqa-input textarea").fill(question)
    page.locator("#regqa-send").click()


def test_question_gets_a_cited_answer_and_the_article_in_the_sources_panel(app_url, browser,
                                                                           tmp_path):
    url, feedback = app_url
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    assert "unofficial translations" in page.locator("#regqa-notice").inner_text()
    ask(page, "What does Article 17 of the deep synthesis provisions require?")
    page.wait_for_selector("#regqa-sources .regqa-source", timeout=30000)
    chat = page.locator("#regqa-chat").inner_text()
    assert "Deep Synthesis Provisions, Art. 17 [1]" in chat
    source = page.locator("#regqa-sources .regqa-source").first
    assert source.get_attribute("data-source") == "deep-synthesis-2022#17"
    assert "label conspicuously" in source.inner_text()
    assert "in force 2023-01-10" in source.inner_text()
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)
    assert (tmp_path / "answer.png").stat().st_size > 10_000

    page.locator("#regqa-down").click()
    page.wait_for_function("document.body.innerText.includes('feedback was saved')")
    assert '"rating": "down"' in feedback.read_text()


def test_markup_in_a_question_is_shown_as_text(app_url, browser):
    url, _ = app_url
    page = browser.new_page()
    page.goto(url)
    ask(page, "<img src=x onerror=alert(1)> **bold** labelling of deepfakes")
    chat = page.locator("#regqa-chat")
    chat.locator(".message", has_text="onerror").first.wait_for(timeout=30000)
    page.wait_for_function("document.querySelectorAll('#regqa-chat .message').length >= 2")
    assert "<img src=x onerror=alert(1)> **bold**" in chat.inner_text()
    assert chat.locator("img[src=x]").count() == 0
    assert chat.locator("strong", has_text="bold").count() == 0


def test_empty_message_gets_a_friendly_prompt(app_url, browser):
    url, _ = app_url
    page = browser.new_page()
    page.goto(url)
    ask(page, "   ")
    page.wait_for_function(
        "document.querySelector('#regqa-chat').innerText.includes('the question is empty')")


def test_two_users_do_not_share_history(app_url, browser):
    url, _ = app_url
    first, second = browser.new_page(), browser.new_page()
    first.goto(url)
    second.goto(url)
    ask(first, "genai art. 9")
    first.wait_for_selector("#regqa-sources .regqa-source", timeout=30000)
    assert "Art. 9" in first.locator("#regqa-chat").inner_text()
    assert "Art. 9" not in second.locator("#regqa-chat").inner_text()
