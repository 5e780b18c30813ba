"""Stage 6: the Gradio chat. Everything from the user, the corpus or a model is escaped
before display, so HTML or Markdown in it shows as text."""

from __future__ import annotations

import html
import re

import gradio as gr

from .answer import Answer
from .api import MAX_QUESTION_CHARS, RegQA, clean_question
from .errors import InputError
from .feedback import record_feedback

NOTICE = ("The English texts are regqa's unofficial translations of the official Chinese "
          "regulations; where they differ, the Chinese text prevails. This is not legal advice.")
EXAMPLES = [
    "Do AI-generated images have to be labelled?",
    "What does Article 17 of the deep synthesis provisions require?",
    "Can users switch off personalized recommendations?",
    "How do the three rules differ on labelling AI-generated content?",
    "训练数据需要合法来源吗？",
    "What did Matt Sheehan argue about China's AI regulations?",
]
MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")


def md_text(text: str) -> str:
    """Markdown that displays `text` literally (no markup, no HTML)."""
    return MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def render_answer(answer: Answer) -> str:
    """The offline answer is re-rendered with escaped corpus text; any other text (an LLM's
    prose, a no_match message) is shown literally."""
    return answer.markdown(escape=md_text)


def render_sources(answer: Answer | None) -> str:
    if answer is None or not answer.citations:
        return "<p class='regqa-empty'>Cited articles appear here.</p>"
    blocks = []
    for citation in answer.citations:
        hit = citation.hit
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in hit.text.split("\n\n"))
        if hit.kind == "article":
            meta = (f"{html.escape(hit.regulation_title)} · {html.escape(hit.chapter)} · "
                    f"in force {html.escape(hit.effective)}")
            zh = "".join(f"<p>{html.escape(p)}</p>" for p in hit.text_zh.split("\n\n"))
            original = (f"<details><summary>Official Chinese text</summary>{zh}</details>"
                        if hit.text_zh else "")
        else:
            meta, original = f"Commentary by {html.escape(hit.author)}", ""
        blocks.append(f"<div class='regqa-source' data-source='{html.escape(hit.source_id)}'>"
                      f"<h4>[{citation.number}] {html.escape(hit.label)}</h4>"
                      f"<div class='regqa-meta'>{meta}</div>{paragraphs}{original}</div>")
    return "\n".join(blocks)


def build_app(qa: RegQA) -> gr.Blocks:
    choices = [(r.short_title, r.id) for r in qa.corpus.regulations]

    def respond(message, history, regulations, _last):
        history = list(history or [])
        raw = message if isinstance(message, str) else ""
        try:
            question = clean_question(raw)
        except InputError as exc:
            history.append({"role": "assistant", "content": md_text(str(exc))})
            return "", history, render_sources(None), "", None
        note = ""
        if len(" ".join(raw.split())) > MAX_QUESTION_CHARS:
            note = (f"\n\n*(Your message was cut to its first {MAX_QUESTION_CHARS} characters.)*")
        answer = qa.ask(question, history=history, regulations=regulations or None)
        history.append({"role": "user", "content": md_text(question)})
        history.append({"role": "assistant", "content": render_answer(answer) + note})
        labels = "\n".join(f"[{c.number}] {c.label}" for c in answer.citations)
        return "", history, render_sources(answer), labels, answer.to_dict()

    def vote(rating, wrong, comment, last):
        if not last:
            return "Ask a question first, then rate the answer."
        record_feedback(rating, last, wrong_citation=wrong, comment=comment or "")
        return "Thanks — your feedback was saved."

    with gr.Blocks(title="regqa — China AI regulations") as app:
        gr.Markdown("# regqa\nAsk about China's generative AI, deep synthesis and algorithmic "
                    "recommendation rules. Every answer quotes and cites the articles it rests on.")
        gr.Markdown(f"**Note:** {NOTICE}", elem_id="regqa-notice")
        last = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                regulations = gr.Dropdown(choices, multiselect=True, label="Limit to regulations",
                                          info="Empty means all three", elem_id="regqa-filter")
                chat = gr.Chatbot(label="Answers", height=520, elem_id="regqa-chat",
                                  sanitize_html=True, feedback_options=None)
                box = gr.Textbox(label="Your question", placeholder="e.g. Must deepfakes be labelled?",
                                 lines=2, elem_id="regqa-input")
                with gr.Row():
                    send = gr.Button("Ask", variant="primary", elem_id="regqa-send")
                    clear = gr.Button("New conversation")
                gr.Examples(EXAMPLES, inputs=box)
                with gr.Row():
                    up = gr.Button("👍 Helpful", elem_id="regqa-up")
                    down = gr.Button("👎 Not helpful", elem_id="regqa-down")
                    wrong = gr.Checkbox(label="Wrong citation")
                    comment = gr.Textbox(label="Comment (optional)", lines=1)
                status = gr.Markdown("")
            with gr.Column(scale=2):
                labels = gr.Textbox(label="Citations (copy)", lines=3, interactive=False,
                                    buttons=["copy"], elem_id="regqa-labels")
                sources = gr.HTML(render_sources(None), label="Sources", elem_id="regqa-sources")
        outputs = [box, chat, sources, labels, last]
        box.submit(respond, [box, chat, regulations, last], outputs, api_name=False)
        send.click(respond, [box, chat, regulations, last], outputs, api_name="ask")
        clear.click(lambda: ([], render_sources(None), "", None), None,
                    [chat, sources, labels, last])
        up.click(lambda w, c, s: vote("up", w, c, s), [wrong, comment, last], status)
        down.click(lambda w, c, s: vote("down", w, c, s), [wrong, comment, last], status)
    return app
