"""Reliability numbers for eval/bench.md (issue 13): memory growth of huge questions and the
LLM deadline under a trickling endpoint.

    .venv/bin/python eval/bench_reliability.py            # prints and updates eval/bench.md

1. Memory: the real corpus and index are loaded; a 3 MB and a 10 MB question (built before
   the baseline is taken, so the input itself is not counted) go through `qa.ask` while a
   thread samples this process's RSS every 2 ms. Growth = peak RSS during the call minus RSS
   just before it.
2. LLM deadline: a fake OpenAI-compatible server on 127.0.0.1 sends its reply one byte every
   1.5 s (the audit's endpoint). With REGQA_LLM_TIMEOUT=10 we time one call, then 8 at once
   (REGQA_LLM_CONCURRENCY=2), and an offline question asked while those 8 are running.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["REGQA_LLM_TIMEOUT"] = "10"
os.environ["REGQA_LLM_CONCURRENCY"] = "2"
for name in ("REGQA_LLM_BASE_URL", "REGQA_LLM_MODEL", "REGQA_LLM_API_KEY"):
    os.environ.pop(name, None)

BENCH = Path(__file__).resolve().parent / "bench.md"
START, END = "<!-- reliability:start -->", "<!-- reliability:end -->"
PAGE = os.sysconf("SC_PAGE_SIZE")
QUESTION = "Must AI-generated images be labelled, and who must add the label? "


def rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


def peak_growth(call) -> tuple[float, float]:
    """(MB of RSS growth at peak, seconds) for call()."""
    base, peak, done = rss(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    call()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return max(0, max(peak[0], rss()) - base) / 1e6, elapsed


class Trickle(BaseHTTPRequestHandler):
    interval = 1.5

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content":
                              "Providers must label generated images [1]."}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        for byte in payload:
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:
                return
            time.sleep(self.interval)


def main() -> int:
    import regqa
    from regqa.llm import OpenAICompatible, synthesise

    rows_memory = []
    qa = regqa.load(progress=False, llm=None)
    qa.ask(QUESTION)  # warm up: models, caches
    for megabytes in (0, 3, 10):
        question = QUESTION * max(1, megabytes * 1_000_000 // len(QUESTION))
        runs = [peak_growth(lambda q=question: qa.ask(q)) for _ in range(3)]
        rows_memory.append((megabytes, len(question), [g for g, _ in runs],
                            max(t for _, t in runs)))
        del question
    print("memory:", rows_memory, file=sys.stderr)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    client = OpenAICompatible(f"http://127.0.0.1:{server.server_port}/v1", "trickle",
                              timeout=float(os.environ["REGQA_LLM_TIMEOUT"]))
    offline = qa.ask(QUESTION)

    def one():
        started = time.perf_counter()
        answer = synthesise(client, offline, qa.corpus)
        return time.perf_counter() - started, answer.status, answer.flags[-1]

    single = one()
    with ThreadPoolExecutor(max_workers=9) as pool:
        started = time.perf_counter()
        futures = [pool.submit(one) for _ in range(8)]
        time.sleep(0.5)
        ask_started = time.perf_counter()
        qa.ask("How long must logs of generated content be kept?")
        offline_seconds = time.perf_counter() - ask_started
        eight = [f.result() for f in futures]
        wall = time.perf_counter() - started
    server.shutdown()
    print("single:", single, "eight:", eight, file=sys.stderr)

    statuses = {}
    for _, status, flag in eight:
        key = f"{status} ({'all LLM slots busy' if 'busy' in flag else 'deadline'})"
        statuses[key] = statuses.get(key, 0) + 1
    lines = [
        START,
        "## Reliability (issue 13)",
        "",
        f"Measured by `eval/bench_reliability.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
        f"({os.cpu_count()} cores, shared; real corpus and index, no LLM for the memory rows).",
        "",
        "**Memory growth of one huge question** (`qa.ask`, peak RSS during the call minus RSS "
        "just before; the question string itself exists before the baseline). The raw text is "
        "cut to 8,000 characters before NFKC or any other processing, then to 2,000.",
        "",
        "| question | characters | RSS growth at peak, 3 runs | slowest run |",
        "|---|---:|---:|---:|",
        *[f"| {'short (warm)' if mb == 0 else f'{mb} MB'} | {chars:,} | "
          f"{' / '.join(f'{g:.1f}' for g in growth)} MB | {seconds:.2f} s |"
          for mb, chars, growth, seconds in rows_memory],
        "",
        "Before the fix the audit measured 4.8 GB in-process (45 s) for one 10 MB question.",
        "",
        "**LLM deadline under a trickling endpoint** (fake OpenAI-compatible server on "
        "127.0.0.1 sending one byte every 1.5 s; `REGQA_LLM_TIMEOUT=10`, "
        "`REGQA_LLM_CONCURRENCY=2`, queue wait 1 s).",
        "",
        "| case | result |",
        "|---|---|",
        f"| one call | {single[1]} after {single[0]:.1f} s (deadline 10 s; before the fix: "
        "60 s and accepted) |",
        f"| 8 calls at once | slowest {max(e[0] for e in eight):.1f} s, all done in "
        f"{wall:.1f} s; " + ", ".join(f"{n} × {k}" for k, n in sorted(statuses.items())) + " |",
        f"| an offline question asked while those 8 ran | answered in {offline_seconds:.2f} s |",
        "",
        END,
    ]
    section = "\n".join(lines)
    print(section)
    text = BENCH.read_text(encoding="utf-8") if BENCH.exists() else "# regqa benchmark\n"
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: section, text,
                      flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    BENCH.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
