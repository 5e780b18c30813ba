"""The chat's HTTP surface (no browser): bounded requests, uploads and queue, Host allow-list,
vote handlers outside the public API, the /ask API, and app.py starting behind a proxy."""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from regqa import ui

from .conftest import ROOT, write_toy_corpus
from .test_ui_browser import free_port, serve, wait_for_page
from .ui_fakes import FakeQA


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    app, url = serve(FakeQA(), tmp_path_factory.mktemp("fb") / "feedback.jsonl")
    yield app, url
    app.close()
    os.environ.pop("REGQA_FEEDBACK", None)


def request(url, data=None, headers=None, method=None):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def declare(url, path, length, content_type="application/json", body=b""):
    """POST announcing `length` bytes but sending only `body`: the refusal must come from the
    Content-Length alone (sending 20 MB would only test the socket buffers)."""
    import http.client
    from urllib.parse import urlparse

    parts = urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("POST", path)
    connection.putheader("Content-Type", content_type)
    connection.putheader("Content-Length", str(length))
    connection.endheaders()
    if body:
        connection.send(body)
    try:
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_huge_request_body_is_refused_before_gradio_reads_it(served):
    _, url = served
    assert declare(url, "/gradio_api/queue/join", 10_000_000) == 413
    small = json.dumps({"data": ["x" * 3000, [], []], "fn_index": 0, "session_hash": "a"}).encode()
    assert declare(url, "/gradio_api/queue/join", len(small), body=small) != 413


def test_a_chunked_huge_body_is_refused_too():
    import asyncio

    seen = []

    async def inner(scope, receive, send):
        seen.append(await receive())

    sent = []

    async def send(message):
        sent.append(message)

    chunks = [{"type": "http.request", "body": b"x" * 1000, "more_body": True}] * 300

    async def receive():
        return chunks.pop()

    asyncio.run(ui.BodyLimit(inner, max_bytes=100_000)(
        {"type": "http", "method": "POST", "headers": []}, receive, send))
    assert sent[0]["status"] == 413 and not seen


def test_uploads_are_refused(served):
    _, url = served
    boundary = "regqaboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\n{'y' * 10_000}\r\n--{boundary}--\r\n").encode()
    status, _ = request(url + "gradio_api/upload", body,
                        {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status in (400, 413)
    # a 20 MB upload is refused from its Content-Length, before a byte of it is read
    assert declare(url, "/gradio_api/upload", 20 * 1024 * 1024,
                   f"multipart/form-data; boundary={boundary}") == 413


def test_queue_cache_and_upload_limits_are_set(served):
    app, _ = served
    assert app._queue.max_size == ui.QUEUE_MAX
    assert app.delete_cache == ui.DELETE_CACHE
    assert app.max_file_size == 1024


def test_unknown_host_header_is_refused(served):
    _, url = served
    status, _ = request(url, headers={"Host": "evil.example"})
    assert status == 400
    status, _ = request(url, headers={"Host": "localhost"})
    assert status == 200


def test_only_ask_is_public_api_and_it_answers_with_history(served):
    from gradio_client import Client

    _, url = served
    status, body = request(url + "gradio_api/info")
    assert status == 200
    info = json.loads(body)
    assert set(info["named_endpoints"]) == {"/ask"}
    assert info["unnamed_endpoints"] == {}
    client = Client(url, verbose=False)
    _, messages, answer = client.predict("and for minors?",
                                         [{"role": "user", "content": "Can users switch off it?"},
                                          {"role": "assistant", "content": "Yes [1]."}], [],
                                         api_name="/ask")
    assert messages[-1]["role"] == "assistant" and messages[-2]["content"] == "and for minors?"
    assert answer["citations"][0]["label"] == "Algorithmic Recommendation Provisions, Art. 17"


def test_the_ask_api_passes_the_filter_on_and_reports_a_wrong_history(served):
    # Regression (bug hunt): unknown regulation ids were dropped, so every regulation was
    # searched; now the engine gets the filter as sent and says what is wrong with it (its
    # checks: tests/test_inputs.py). A number as the history crashed with an empty error.
    from gradio_client import Client

    app, url = served
    fake = app.regqa_engine.get()
    client = Client(url, verbose=False)
    client.predict("labelling", [], ["bogus"], api_name="/ask")
    assert fake.calls[-1]["regulations"] == ["bogus"]
    client.predict("labelling", [], [], api_name="/ask")
    assert fake.calls[-1]["regulations"] is None
    calls = len(fake.calls)
    _, _, answer = client.predict("labelling", 5, [], api_name="/ask")
    assert answer["error"].startswith("history must be a list of turns")
    assert len(fake.calls) == calls


def test_the_ask_api_reads_user_assistant_pairs_as_the_python_api_does(served):
    # Regression (bug hunt): pairs were dropped without a word, so the follow-up lost its subject
    from gradio_client import Client

    app, url = served
    fake = app.regqa_engine.get()
    client = Client(url, verbose=False)
    client.predict("and for minors?", [["Can users switch off it?", "Yes [1]."]], [],
                   api_name="/ask")
    assert fake.calls[-1]["history"] == [{"role": "user", "content": "Can users switch off it?"},
                                         {"role": "assistant", "content": "Yes [1]."}]
    _, _, answer = client.predict("and for minors?", [7], [], api_name="/ask")
    assert answer["error"].startswith("each history turn must be")


def test_allowed_hosts():
    assert set(ui.LOOPBACK) <= set(ui.allowed_hosts("127.0.0.1"))
    os.environ["REGQA_ALLOWED_HOSTS"] = "regqa.example.org, other"
    try:
        assert {"regqa.example.org", "other"} <= set(ui.allowed_hosts("127.0.0.1"))
        assert ui.allowed_hosts("0.0.0.0") != ["*"]
    finally:
        del os.environ["REGQA_ALLOWED_HOSTS"]
    assert ui.allowed_hosts("0.0.0.0") == ["*"]


def test_app_serves_the_page_first_even_behind_a_dead_proxy(tmp_path):
    """Regression: HTTP(S)_PROXY made Gradio's start-up self-check go through the proxy and the
    app never started. Also: the page answers before the index is loaded."""
    home = tmp_path / "home"
    write_toy_corpus(home / "corpus")
    port = free_port()
    dead = "http://127.0.0.1:9"
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "REGQA_HOME": str(home), "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "ALL_PROXY": dead,
           "http_proxy": dead, "https_proxy": dead, "NO_PROXY": "", "no_proxy": ""}
    log = tmp_path / "app.log"
    started = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        page_s = wait_for_page(f"http://127.0.0.1:{port}/", process, seconds=120)
        ready = None
        deadline = time.perf_counter() + 240
        while ready is None and time.perf_counter() < deadline and process.poll() is None:
            if "index ready" in log.read_text():
                ready = time.perf_counter() - started
            time.sleep(0.2)
        assert ready is not None, log.read_text()[-2000:]
        assert page_s < ready  # served first
        print(f"page {page_s:.1f} s, index ready {ready:.1f} s")
    finally:
        process.terminate()
        process.wait(timeout=30)
