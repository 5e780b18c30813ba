"""`make run` starts this: the regqa chat on http://127.0.0.1:7860.

The page is served first; the models and the index load behind it (the page says so until the
first answer can be given). A missing or stale index is built; a damaged one is rebuilt.
Host and port follow GRADIO_SERVER_NAME and GRADIO_SERVER_PORT; REGQA_ALLOWED_HOSTS adds host
names to the Host header allow-list."""

import os
import sys
import time

STARTED = time.perf_counter()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
for _name in ("NO_PROXY", "no_proxy"):  # before anything imports httpx: never proxy loopback
    _hosts = [h for h in os.environ.get(_name, "").split(",") if h.strip()]
    os.environ[_name] = ",".join(dict.fromkeys([*_hosts, "127.0.0.1", "localhost", "::1"]))

from regqa.ui import Engine, build_app, launch  # noqa: E402


def load_healing():
    """regqa.load(), rebuilding the index when it is damaged instead of refusing to start."""
    import regqa
    from regqa.errors import IndexCorruptError, IndexStaleError

    try:
        qa = regqa.load(progress=False)
    except (IndexCorruptError, IndexStaleError) as exc:
        print(f"regqa: rebuilding the index ({exc})", file=sys.stderr, flush=True)
        qa = regqa.load(progress=False, rebuild=True)
    print(f"regqa: index ready {time.perf_counter() - STARTED:.1f} s after start", flush=True)
    return qa


def main() -> None:
    engine = Engine(loader=load_healing)
    app = build_app(engine)
    engine.start()
    launch(app, server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
           server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))


if __name__ == "__main__":
    main()
