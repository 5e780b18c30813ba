"""`make run` starts this: the regqa chat on http://127.0.0.1:7860.

Host and port follow Gradio's GRADIO_SERVER_NAME and GRADIO_SERVER_PORT variables."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import regqa
from regqa.ui import build_app


def main() -> None:
    qa = regqa.load()
    app = build_app(qa)
    app.queue(default_concurrency_limit=8)
    app.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
               server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))


if __name__ == "__main__":
    main()
