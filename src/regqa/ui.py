"""Stage 6: the Gradio chat. Everything from the user, the corpus or a model is escaped
before display, so HTML or Markdown in it shows as text.

The page is served before the models and the index are loaded (`Engine` loads them in a
thread; the page says "loading the index…" until they are ready). Each answer keeps its own
sources: the panel shows the sources of the answer last clicked, `[n]` in an answer opens
source n scrolled to the quoted sentence. Votes go through `Chatbot.like`, one per answer.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from .errors import InputError
from .feedback import AlreadyVoted, record_feedback
from .inputs import MAX_QUESTION_CHARS, bad_turn, clean_history, clean_question
from .text import zh_number
from .version import __version__

MAX_TURNS = 40  # per conversation; then the user is asked to start a new one
MAX_HISTORY_TURNS = 12  # user/assistant messages passed to the engine as context
MAX_COMMENT_CHARS = 1000
MAX_REQUEST_BYTES = 256 * 1024  # any HTTP request body; questions are capped at 2,000 characters
MAX_FILE_SIZE = "1kb"  # the app takes no uploads; Gradio's upload route is kept tiny
QUEUE_MAX = 64  # waiting requests beyond this are refused at once ("queue full")
CONCURRENCY = 8
DELETE_CACHE = (3600, 3600)  # Gradio's temporary files (exports) are deleted after an hour
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
CJK = re.compile(r"[\u3400-\u9fff]")
EN, ZH = "English", "中文"

T = {
    "en": {
        "title": "# regqa\n",
        "intro": "Ask about China's AI rules — {names}. Every answer quotes and cites the "
                 "articles it rests on.",
        "intro_loading": "Ask about China's AI regulations. Every answer quotes and cites the "
                         "articles it rests on.",
        "notice": "**Note:** The English texts are regqa's unofficial translations of the official "
                  "Chinese regulations; where they differ, the Chinese text prevails. This is not "
                  "legal advice.",
        "notice_plain": "The English texts are regqa's unofficial translations of the official "
                        "Chinese regulations; where they differ, the Chinese text prevails. This "
                        "is not legal advice.",
        "loading": "⏳ Loading the index… you can type your question now; it is answered as soon "
                   "as the index is ready.",
        "failed": "⚠️ The index could not be loaded: {error}",
        "filter": "Limit to regulations", "filter_info": "Empty means all {count}",
        "chat": "Answers", "box": "Your question",
        "box_info": "Enter sends · Shift+Enter for a new line",
        "placeholder": "e.g. Must deepfakes be labelled?", "send": "Ask",
        "new": "New conversation", "download": "Download conversation",
        "examples": "Examples — click to ask", "sources": "Sources",
        "sources_empty": "Cited articles appear here. Click [n] in an answer to open its source; "
                         "click an earlier answer to see its sources.",
        "wrong": "Wrong citation? (optional, then 👍/👎 on the answer)",
        "comment": "Comment (optional, sent with your 👍/👎)",
        "feedback_hint": "Rate an answer with 👍/👎 under it.",
        "thanks": "Thanks — your {vote} on answer {n} was saved.",
        "already": "Answer {n} already has your vote.",
        "not_rateable": "Only answers can be rated.",
        "flag_other": " (the wrong-citation flag was for answer {m}, so it was not attached)",
        "cut": "*(Your message was cut to its first {n} characters.)*",
        "too_long": "This conversation is long; click “New conversation” to ask more.",
        "official": "Official Chinese text", "official_link": "official text",
        "in_force": "in force {date}", "art": "Art. {n}", "copy": "Copy citation",
        "copied": "Copied", "commentary": "Commentary by {author}, not law",
        "closest": "No provision answers this; the closest ones (not an answer):",
        "export_closest": "Closest provisions (not an answer)",
        "no_sources": "No sources for this message.", "answer_n": "Answer {n}",
    },
    "zh": {
        "title": "# regqa\n",
        "intro": "询问中国人工智能相关规定——{names}。每个回答都引用并标注所依据的条款。",
        "intro_loading": "询问中国人工智能相关规定。每个回答都引用并标注所依据的条款。",
        "notice": "**注意：** 英文文本为 regqa 的非官方译文；如有出入，以中文官方文本为准。本工具不构成法律意见。",
        "notice_plain": "英文文本为 regqa 的非官方译文；如有出入，以中文官方文本为准。本工具不构成法律意见。",
        "loading": "⏳ 正在加载索引…… 现在即可输入问题，索引就绪后立即回答。",
        "failed": "⚠️ 索引加载失败：{error}",
        "filter": "限定规定范围", "filter_info": "留空表示全部 {count} 部",
        "chat": "回答", "box": "您的问题", "box_info": "Enter 发送 · Shift+Enter 换行",
        "placeholder": "例如：深度合成内容需要标识吗？", "send": "提问",
        "new": "新对话", "download": "下载对话",
        "examples": "示例（点击即提问）", "sources": "来源",
        "sources_empty": "引用的条款显示在这里。点击回答中的 [n] 打开对应来源；点击较早的回答可查看其来源。",
        "wrong": "引用有误？（可选，然后对回答点 👍/👎）", "comment": "意见（可选，随 👍/👎 一起提交）",
        "feedback_hint": "可在回答下方点 👍/👎 评价。",
        "thanks": "谢谢——您对第 {n} 个回答的{vote}已保存。",
        "already": "您已评价过第 {n} 个回答。", "not_rateable": "只能评价回答。",
        "flag_other": "（“引用有误”标记属于第 {m} 个回答，未随本次评价保存）",
        "cut": "*（您的消息已截取前 {n} 个字符。）*",
        "too_long": "本次对话已较长，请点击“新对话”继续提问。",
        "official": "官方中文文本", "official_link": "官方文本",
        "in_force": "{date} 起施行", "art": "第{n}条", "copy": "复制引用", "copied": "已复制",
        "commentary": "{author} 的评论，非法律文本",
        "closest": "没有条款回答此问题；最接近的条款（并非答案）：",
        "export_closest": "最接近的条款（并非答案）",
        "no_sources": "此消息没有来源。", "answer_n": "第 {n} 个回答",
    },
}
EXAMPLES = {
    "en": ["Do AI-generated images have to be labelled?",
           "What does Article 17 of the deep synthesis provisions require?",
           "Can users switch off personalized recommendations?",
           "How do the genAI measures and the deep synthesis provisions differ on filing?",
           "训练数据需要合法来源吗？",
           "What did Matt Sheehan argue about China's AI regulations?"],
    "zh": ["人工智能生成的图片需要标识吗？",
           "深度合成规定第十七条有什么要求？",
           "用户可以关闭个性化推荐吗？",
           "训练数据需要合法来源吗？",
           "Do AI-generated images have to be labelled?"],
}
MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~$:@])")


def md_text(text: str) -> str:
    """Markdown that displays `text` literally: no markup, no HTML, no KaTeX ($), and no
    auto-links (an escaped ':' or '@' stops a bare URL or e-mail becoming a link whose text
    shows the escaping backslashes)."""
    return MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def lang_code(choice: str | None) -> str:
    return "zh" if choice == ZH else "en"


def answer_lang(answer, question: str) -> str:
    lang = getattr(answer, "lang", None)
    if lang in ("zh", "en"):
        return lang
    return "zh" if CJK.search(question) else "en"


# -- the engine, loaded behind the page --------------------------------------------------------
class Engine:
    """A RegQA, or the promise of one: `loader` runs in a thread so the page can be served first."""

    def __init__(self, qa=None, loader: Callable | None = None) -> None:
        self._qa, self._loader, self.error = qa, loader, None
        self._ready = threading.Event()
        self.seconds: float | None = None
        if qa is not None:
            self._ready.set()

    def start(self) -> Engine:
        if not self._ready.is_set():
            threading.Thread(target=self._load, name="regqa-load", daemon=True).start()
        return self

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            self._qa = self._loader()
        except Exception as exc:  # shown on the page and to every question
            self.error = exc
        finally:
            self.seconds = time.perf_counter() - started
            self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self.error is None

    @property
    def corpus(self):
        return self._qa.corpus if self.ready else None

    def get(self, timeout: float = 600):
        if not self._ready.wait(timeout):
            raise InputError("the index is still loading; try again in a moment")
        if self.error is not None:
            raise InputError(f"the index could not be loaded: {self.error}")
        return self._qa


# -- rendering ---------------------------------------------------------------------------------
def citation_link(markdown: str, turn: int, numbers: set[int]) -> str:
    """Every [n] marker that names a citation becomes a link that opens source n of this answer.
    The offline answer writes markers unescaped (corpus text is escaped); model prose is
    escaped as a whole, so there the escaped form is the marker."""
    def link(match: re.Match) -> str:
        n = int(match.group(1))
        return f"[\\[{n}\\]](#regqa-a{turn}-c{n})" if n in numbers else match.group(0)

    plain = re.compile(r"(?<!\\)\[(\d+)\](?!\()")
    if plain.search(markdown):
        return plain.sub(link, markdown)
    return re.sub(r"\\\[(\d+)\\\]", link, markdown)


def mark_quotes(text: str, quotes) -> str:
    """`text` as escaped HTML paragraphs, each quoted sentence wrapped in <mark>."""
    spans = []
    for quote in quotes or ():
        quote = (quote or "").strip()
        start = text.find(quote) if quote and "\n\n" not in quote else -1
        if start >= 0:
            spans.append((start, start + len(quote)))
    pieces, at = [], 0
    for start, end in sorted(spans):
        if start < at:
            continue
        pieces.append(html.escape(text[at:start]))
        pieces.append(f"<mark class='regqa-quote'>{html.escape(text[start:end])}</mark>")
        at = end
    pieces.append(html.escape(text[at:]))
    return "".join(f"<p>{p}</p>" for p in "".join(pieces).split("\n\n") if p.strip())


def safe_url(url: str) -> str:
    return url if re.match(r"^https?://[^\s\"'<>]+$", url or "") else ""


def full_citation(hit, lang: str = "en") -> str:
    """e.g. 'Provisions on …, Art. 17 (in force 2023-01-10), unofficial translation by regqa;
    official text: URL'."""
    if hit.kind != "article":
        who = ", ".join(x for x in (hit.author, getattr(hit, "affiliation", "")) if x)
        when = getattr(hit, "published", "")
        return (f"{hit.label} — commentary by {who}" + (f" ({when})" if when else "")
                + ", not law")
    url = hit.official_url or ""
    if lang == "zh" and getattr(hit, "regulation_title_zh", ""):
        return (f"《{hit.regulation_title_zh}》第{zh_number(hit.article)}条（{hit.effective} 起施行）；"
                f"英文为 regqa 非官方译文；官方文本：{url}")
    return (f"{hit.regulation_title or hit.label}, Art. {hit.article} (in force {hit.effective}), "
            f"unofficial translation by regqa; official text: {url}")


def card_record(hit, number: int | None, quotes=(), quotes_zh=()) -> dict:
    """What a source card and the export need, kept per answer in the session."""
    return {
        "number": number, "source_id": hit.source_id, "kind": hit.kind, "label": hit.label,
        "regulation_title": hit.regulation_title, "chapter": hit.chapter or "",
        "article": hit.article, "effective": hit.effective or "",
        "official_url": hit.official_url or "", "author": hit.author or "",
        "text": hit.text or "", "text_zh": hit.text_zh or "",
        "quotes": list(quotes or ()), "quotes_zh": list(quotes_zh or ()),
        "citation": full_citation(hit), "citation_zh": full_citation(hit, "zh"),
    }


def render_card(card: dict, lang: str, open_zh: bool) -> str:
    t = T[lang]
    number = card["number"]
    head = f"[{number}] " if number is not None else ""
    if card["kind"] == "article":
        bits = [card["regulation_title"], card["chapter"],
                t["art"].format(n=card["article"]) if card["article"] is not None else "",
                t["in_force"].format(date=card["effective"]) if card["effective"] else ""]
        meta = " · ".join(html.escape(b) for b in bits if b)
        url = safe_url(card["official_url"])
        if url:
            meta += (f" · <a href='{html.escape(url)}' target='_blank' rel='noopener noreferrer'>"
                     f"{t['official_link']}</a>")
        zh = ""
        if card["text_zh"]:
            zh = (f"<details class='regqa-zh'{' open' if open_zh else ''}><summary>{t['official']}"
                  f"</summary>{mark_quotes(card['text_zh'], card['quotes_zh'])}</details>")
    else:
        meta, zh = html.escape(t["commentary"].format(author=card["author"])), ""
    citation = card["citation_zh"] if lang == "zh" else card["citation"]
    cite_attr = f" data-cite='{number}'" if number is not None else ""
    return (f"<div class='regqa-source'{cite_attr} data-source='{html.escape(card['source_id'])}'>"
            f"<h4>{head}{html.escape(card['label'])}</h4><div class='regqa-meta'>{meta}</div>"
            f"<div class='regqa-en'>{mark_quotes(card['text'], card['quotes'])}</div>{zh}"
            f"<button class='regqa-copy' type='button' data-citation='{html.escape(citation)}' "
            f"data-done='{t['copied']}'>{t['copy']}</button></div>")


def render_sources(turns: list[dict], lang: str, active: int | None = None) -> str:
    """The panel: one section per answer (only the active one shown; the page's script switches
    sections when an answer or an [n] is clicked)."""
    t = T[lang]
    if not turns:
        return f"<p class='regqa-empty'>{t['sources_empty']}</p>"
    active = len(turns) - 1 if active is None else active
    sections = []
    for i, turn in enumerate(turns):
        cards = turn.get("cards") or []
        open_zh = turn.get("lang") == "zh"
        if cards and turn.get("status") == "no_match":
            body = (f"<p class='regqa-closest'>{t['closest']}</p>"
                    + "".join(render_card(c, lang, open_zh) for c in cards))
        elif cards:
            body = "".join(render_card(c, lang, open_zh) for c in cards)
        else:
            body = f"<p class='regqa-empty'>{t['no_sources']}</p>"
        sections.append(f"<section class='regqa-answer{' regqa-active' if i == active else ''}' "
                        f"data-answer='{i}'><h3>{t['answer_n'].format(n=i + 1)}</h3>{body}</section>")
    return "".join(sections)


def export_markdown(turns: list[dict], lang: str = "en") -> str:
    """The conversation as Markdown: every question, answer, quote and full citation."""
    t = T[lang]
    lines = ["# regqa conversation", "", f"Exported {time.strftime('%Y-%m-%d %H:%M')}, regqa "
             f"{__version__}.", "", f"> {t['notice_plain']}", ""]
    for i, turn in enumerate(turns, 1):
        lines += [f"## {i}. {turn['question']}", ""]
        if turn.get("status"):
            lines += [f"*Status: {turn['status']}*", ""]
        lines += [turn.get("text") or "", ""]
        cards = turn.get("cards") or []
        if cards:
            lines += [f"### {t['export_closest' if turn.get('status') == 'no_match' else 'sources']}",
                      ""]
        for card in cards:
            prefix = f"[{card['number']}] " if card["number"] is not None else "- "
            # regression (bug hunt): a Chinese export cited in English while "Copy citation"
            # gave the Chinese form
            citation = card.get("citation_zh") if lang == "zh" else None
            lines.append(f"{prefix}{citation or card['citation']}")
            lines += [f"> {q}" for q in card["quotes"]]
            lines += [f"> {q}" for q in card["quotes_zh"]]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# one folder per user, never shared: another user's (or an older, world-readable) folder
# could be read or have its exports swapped
_EXPORTS = Path(tempfile.gettempdir()) / f"regqa-exports-{getattr(os, 'getuid', lambda: 0)()}"


def write_export(turns: list[dict], lang: str, root: Path | None = None) -> str | None:
    """The conversation as a Markdown file for the download button. Each answer writes one, in
    a folder of its own readable by this user only; those over an hour old are deleted."""
    if not turns:
        return None
    root = root or _EXPORTS
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if hasattr(os, "getuid") and root.stat().st_uid != os.getuid():
        root = Path(tempfile.mkdtemp(prefix="regqa-exports-"))  # someone else's: not ours to use
    root.chmod(0o700)
    cutoff = time.time() - 3600
    # Regression: the sweep looked for *.md at the top level while every export lives in a
    # folder of its own, so no conversation was ever deleted
    for folder in root.iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                for old in folder.iterdir():
                    old.unlink()
                folder.rmdir()
        except OSError:
            pass
    folder = root / uuid.uuid4().hex
    folder.mkdir(mode=0o700)
    path = folder / "regqa-conversation.md"
    path.write_text(export_markdown(turns, lang), encoding="utf-8")
    path.chmod(0o600)
    return str(path)


def _messages(history: list) -> list[dict]:
    """The /ask API's history as messages: (user, assistant) pairs, which the Python API takes,
    become two messages (they were dropped without a word, so the follow-up lost its subject)."""
    messages = []
    for turn in history:
        if isinstance(turn, dict):
            messages.append(turn)
        elif isinstance(turn, list | tuple) and len(turn) == 2:
            messages += [{"role": "user", "content": turn[0]},
                         {"role": "assistant", "content": turn[1] or ""}]
        else:
            raise bad_turn(turn)
    return messages


def engine_history(turns: list[dict]) -> list[dict]:
    """The raw conversation for the engine: the exact text the user typed, never the escaped
    Markdown the chat displays; only the last MAX_HISTORY_TURNS messages."""
    history = []
    for turn in turns:
        if turn.get("status"):
            history.append({"role": "user", "content": turn["question"]})
            history.append({"role": "assistant", "content": turn.get("text") or ""})
    return history[-MAX_HISTORY_TURNS:]


def build_turn(answer, question: str, lang: str) -> dict:
    citations = list(answer.citations)
    if citations:
        cards = [card_record(c.hit, c.number, c.quotes, getattr(c, "quotes_zh", ()))
                 for c in citations]
    elif answer.status == "no_match":
        cards = [card_record(h, None) for h in list(answer.hits)[:3]]
    else:
        cards = []
    return {"answer_id": uuid.uuid4().hex, "question": question, "text": answer.text,
            "status": answer.status, "lang": lang, "cards": cards, "voted": None,
            "citations": [{"number": c.number, "label": c.label, "source_id": c.hit.source_id,
                           "quotes": list(c.quotes)} for c in citations]}


# -- the page ----------------------------------------------------------------------------------
CSS = """
#regqa-sources .regqa-answer { display: none; }
#regqa-sources .regqa-answer.regqa-active { display: block; }
#regqa-sources h3 { margin: 0 0 4px; font-size: 0.95em; }
.regqa-source { border: 1px solid var(--border-color-primary); border-radius: 8px;
                padding: 6px 12px; margin: 8px 0; scroll-margin-top: 8px; }
.regqa-source h4 { margin: 4px 0; }
.regqa-meta { font-size: 0.85em; opacity: 0.8; }
mark.regqa-quote { background: #fff3b0; color: inherit; }
mark.regqa-quote.regqa-hl { background: #ffc94d; outline: 2px solid #e08a00; }
.regqa-source.regqa-hl-card { border-color: #e08a00; }
#regqa-status:empty { display: none; }
@media (max-width: 640px) { #regqa-chat { height: 55vh !important; } }
"""

HEAD = """
<script>
(() => {
  function chatRows() { return [...document.querySelectorAll('#regqa-chat .bot-row')]; }
  function showAnswer(k, n) {
    const panel = document.querySelector('#regqa-sources');
    if (!panel) return;
    let target = null;
    panel.querySelectorAll('.regqa-answer').forEach((s) => {
      const on = s.dataset.answer === String(k);
      s.classList.toggle('regqa-active', on);
      if (on) target = s;
    });
    if (!target || n === null) return;
    panel.querySelectorAll('.regqa-hl').forEach((m) => m.classList.remove('regqa-hl'));
    panel.querySelectorAll('.regqa-hl-card').forEach((m) => m.classList.remove('regqa-hl-card'));
    const card = target.querySelector('.regqa-source[data-cite="' + n + '"]');
    if (!card) return;
    // remembered so the scroll to a new answer, which can land after this click on a slow
    // machine, does not scroll the quote the reader just opened out of view
    window.regqaCitedRow = chatRows().at(-1);
    card.classList.add('regqa-hl-card');
    const zhOpen = card.querySelector('details.regqa-zh[open]');
    const marks = [...card.querySelectorAll('.regqa-en mark.regqa-quote')]
      .concat(zhOpen ? [...zhOpen.querySelectorAll('mark.regqa-quote')] : []);
    marks.forEach((m) => m.classList.add('regqa-hl'));
    const acc = document.querySelector('#regqa-sources-box');
    if (card.offsetParent === null && acc) {
      const toggle = acc.querySelector('button');
      if (toggle) toggle.click();
    }
    setTimeout(() => (marks[0] || card).scrollIntoView({block: 'center'}), 50);
  }
  window.regqaShowAnswer = showAnswer;
  window.regqaScrollToAnswer = () => {
    // the question box in view, then the start of the newest answer at the top of the chat
    const rows = chatRows();
    const row = rows[rows.length - 1];
    if (!row || window.regqaCitedRow === row) return;
    const input = document.querySelector('#regqa-input');
    if (input) input.scrollIntoView({block: 'nearest'});
    let box = row.parentElement;
    while (box && !(box.scrollHeight > box.clientHeight + 2 &&
                    /(auto|scroll)/.test(getComputedStyle(box).overflowY))) box = box.parentElement;
    if (!box) return;
    const top = Math.max(box.getBoundingClientRect().top, 0);
    box.scrollTop += row.getBoundingClientRect().top - top - 4;
  };
  document.addEventListener('click', (e) => {
    const el = e.target instanceof Element ? e.target : null;
    if (!el) return;
    const link = el.closest('a[href^="#regqa-a"]');
    if (link) {
      e.preventDefault();
      e.stopPropagation();
      const m = link.getAttribute('href').match(/^#regqa-a(\\d+)-c(\\d+)$/);
      if (m) showAnswer(m[1], m[2]);
      return;
    }
    const copy = el.closest('button.regqa-copy');
    if (copy) {
      const text = copy.dataset.citation;
      const done = () => { copy.textContent = copy.dataset.done; };
      const fallback = () => {
        const area = document.createElement('textarea');
        area.value = text; document.body.appendChild(area); area.select();
        try { document.execCommand('copy'); } finally { area.remove(); }
        done();
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, fallback);
      } else fallback();
      return;
    }
    const row = el.closest('#regqa-chat .bot-row');
    if (row && !el.closest('button')) showAnswer(chatRows().indexOf(row), null);
  }, true);
})();
</script>
"""
SCROLL_JS = ("() => { for (const ms of [50, 250]) setTimeout(() => window.regqaScrollToAnswer && "
             "window.regqaScrollToAnswer(), ms); }")
BROWSER_LANG_JS = ("(choice) => ((navigator.languages && navigator.languages[0]) || navigator.language"
                   f" || '').toLowerCase().startsWith('zh') ? '{ZH}' : '{EN}'")


def build_app(engine) -> gr.Blocks:
    """The chat. `engine` is an Engine, or a loaded RegQA (wrapped in a ready Engine)."""
    if not isinstance(engine, Engine):
        engine = Engine(qa=engine)

    def regulation_names(lang: str) -> tuple[list, str, int]:
        corpus = engine.corpus
        if corpus is None:
            return [], T[lang]["intro_loading"], 0
        regs = list(corpus.regulations)
        if lang == "zh":
            names = "、".join(f"《{r.title_zh}》" if r.title_zh else r.short_title for r in regs)
        else:
            names = ", ".join(r.short_title for r in regs)
        return ([(r.short_title, r.id) for r in regs], T[lang]["intro"].format(names=names),
                len(regs))

    def status_text(lang: str) -> str:
        if engine.error is not None:
            return T[lang]["failed"].format(error=html.escape(str(engine.error))[:500])
        return "" if engine.ready else T[lang]["loading"]

    def refresh(choice, current):
        """Page load and the loading timer: intro, regulation filter and the loading notice."""
        lang = lang_code(choice)
        choices, intro, count = regulation_names(lang)
        value = [v for v in (current or []) if v in {c[1] for c in choices}]
        done = engine.ready or engine.error is not None
        return (status_text(lang), intro,
                gr.Dropdown(choices=choices, value=value, label=T[lang]["filter"],
                            info=T[lang]["filter_info"].format(count=count or "")),
                gr.Timer(active=not done))

    def relabel(choice, turns):
        lang = lang_code(choice)
        t = T[lang]
        return (gr.Chatbot(label=t["chat"]),
                gr.Textbox(label=t["box"], info=t["box_info"], placeholder=t["placeholder"]),
                gr.Button(t["send"]), gr.Button(t["new"]), gr.DownloadButton(t["download"]),
                gr.Dataset(samples=[[e] for e in EXAMPLES[lang]], label=t["examples"]),
                gr.Accordion(label=t["sources"]), render_sources(turns, lang),
                gr.Dropdown(label=t["wrong"]), gr.Textbox(label=t["comment"]), t["notice"])

    def show_question(message, chat, turns, choice):
        """Step 1: the question appears at once and the box empties; step 2 answers it."""
        message = message if isinstance(message, str) else ""
        chat = list(chat or [])
        if len(turns or []) >= MAX_TURNS:
            return "", chat, None, T[lang_code(choice)]["too_long"]
        shown = message[: MAX_QUESTION_CHARS]
        chat.append({"role": "user", "content": md_text(" ".join(shown.split())) or "…"})
        return "", chat, message[: MAX_QUESTION_CHARS + 1], ""

    def answer_question(pending, chat, turns, regulations, choice):
        """Step 2. Returns chat, turns, sources, wrong-citation choices, export file."""
        lang_ui = lang_code(choice)
        chat, turns = list(chat or []), list(turns or [])
        if pending is None:  # refused in step 1 (conversation too long)
            return chat, turns, gr.skip(), gr.skip(), gr.skip()
        raw = pending[:MAX_QUESTION_CHARS + 1]  # cut before any processing
        note = ""
        if len(raw) > MAX_QUESTION_CHARS:
            raw = raw[:MAX_QUESTION_CHARS]
            note = "\n\n" + T[lang_ui]["cut"].format(n=MAX_QUESTION_CHARS)
        try:
            clean_question(raw)
            qa = engine.get()
            valid = {r.id for r in qa.corpus.regulations}
            chosen = [r for r in (regulations or []) if r in valid] or None
            answer = qa.ask(raw, history=engine_history(turns), regulations=chosen)
        except InputError as exc:
            turns.append({"answer_id": uuid.uuid4().hex, "question": raw, "text": str(exc),
                          "status": None, "cards": [], "citations": [], "voted": None,
                          "lang": lang_ui})
            chat.append({"role": "assistant", "content": md_text(str(exc))})
            turns[-1]["message"] = len(chat) - 1
            return (chat, turns, render_sources(turns, lang_ui), wrong_choices(turns, lang_ui),
                    gr.DownloadButton(value=write_export(turns, lang_ui)))
        lang = answer_lang(answer, raw)
        turn = build_turn(answer, raw, lang)
        numbers = {c["number"] for c in turn["citations"]}
        body = citation_link(answer.markdown(md_text), len(turns), numbers) + note
        chat.append({"role": "assistant", "content": body})
        turn["message"] = len(chat) - 1
        turns.append(turn)
        return (chat, turns, render_sources(turns, lang_ui), wrong_choices(turns, lang_ui),
                gr.DownloadButton(value=write_export(turns, lang_ui)))

    def wrong_choices(turns, lang):
        t = T[lang]
        choices = []
        for i in range(len(turns) - 1, -1, -1):
            for c in turns[i]["citations"]:
                choices.append((f"{t['answer_n'].format(n=i + 1)} · [{c['number']}] {c['label']}",
                                f"{i}:{c['number']}"))
        return gr.Dropdown(choices=choices, value=None)

    def on_like(turns, wrong, comment, choice, data: gr.LikeData):
        lang = lang_code(choice)
        t = T[lang]
        turns = list(turns or [])
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        turn_no = next((i for i, tr in enumerate(turns) if tr.get("message") == index), None)
        liked = data.liked
        rating = "up" if liked in (True, "Like") else "down" if liked in (False, "Dislike") else None
        reset = (gr.Dropdown(value=None), gr.Textbox(value=""))
        if turn_no is None or rating is None or not turns[turn_no].get("status"):
            return (t["not_rateable"] if rating else gr.skip(), *reset, turns)
        turn = turns[turn_no]
        if turn.get("voted"):
            return (t["already"].format(n=turn_no + 1), *reset, turns)
        flag, note = None, ""
        if wrong:
            k, _, n = str(wrong).partition(":")
            if k == str(turn_no):
                flag = next((c for c in turn["citations"] if str(c["number"]) == n), None)
            elif k.isdigit():
                note = t["flag_other"].format(m=int(k) + 1)
        record = {key: turn.get(key) for key in ("answer_id", "question", "text", "status",
                                                 "citations", "lang")}
        try:
            record_feedback(rating, record, wrong_citation=flag,
                            comment=(comment or "")[:MAX_COMMENT_CHARS])
        except AlreadyVoted:
            return (t["already"].format(n=turn_no + 1), *reset, turns)
        turns[turn_no] = {**turn, "voted": rating}
        vote = "👍" if rating == "up" else "👎"
        return (t["thanks"].format(vote=vote, n=turn_no + 1) + note, *reset, turns)

    def new_conversation(choice):
        lang = lang_code(choice)
        return ([], [], render_sources([], lang), gr.Dropdown(choices=[], value=None), "", "", "",
                gr.DownloadButton(value=None), None)

    private = {"api_visibility": "private"}
    with gr.Blocks(title="regqa — China AI regulations", delete_cache=DELETE_CACHE) as app:
        t = T["en"]
        turns = gr.State([])  # per session: raw questions, answers, cards, votes
        pending = gr.State(None)
        with gr.Row():
            gr.Markdown("# regqa", elem_id="regqa-title")
            lang = gr.Radio([EN, ZH], value=EN, show_label=False, container=False,
                            elem_id="regqa-lang", scale=0, min_width=160)
        intro = gr.Markdown(t["intro_loading"], elem_id="regqa-intro")
        notice = gr.Markdown(t["notice"], elem_id="regqa-notice")
        status = gr.Markdown(status_text("en"), elem_id="regqa-status")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                regulations = gr.Dropdown([], multiselect=True, label=t["filter"],
                                          info=t["filter_info"].format(count=""),
                                          elem_id="regqa-filter")
                chat = gr.Chatbot(label=t["chat"], height=520, elem_id="regqa-chat",
                                  sanitize_html=True, autoscroll=False, latex_delimiters=[],
                                  feedback_options=("Like", "Dislike"), buttons=["copy"])
                box = gr.Textbox(label=t["box"], info=t["box_info"], placeholder=t["placeholder"],
                                 lines=1, max_lines=8, max_length=MAX_QUESTION_CHARS,
                                 elem_id="regqa-input")
                with gr.Row():
                    send = gr.Button(t["send"], variant="primary", elem_id="regqa-send", min_width=80)
                    clear = gr.Button(t["new"], elem_id="regqa-new", min_width=80)
                    download = gr.DownloadButton(t["download"], value=None, elem_id="regqa-download",
                                                 min_width=80)
                examples = gr.Dataset(components=[box], samples=[[e] for e in EXAMPLES["en"]],
                                      label=t["examples"], elem_id="regqa-examples")
                with gr.Row():
                    wrong = gr.Dropdown([], value=None, label=t["wrong"], elem_id="regqa-wrong",
                                        min_width=200)
                    comment = gr.Textbox(label=t["comment"], lines=1, max_length=MAX_COMMENT_CHARS,
                                         elem_id="regqa-comment", min_width=200)
                vote_status = gr.Markdown("", elem_id="regqa-vote-status")
            with gr.Column(scale=2, min_width=300), \
                    gr.Accordion(t["sources"], open=True, elem_id="regqa-sources-box") as sources_box:
                sources = gr.HTML(render_sources([], "en"), elem_id="regqa-sources")
        timer = gr.Timer(1.0, active=not engine.ready)

        app.load(refresh, [lang, regulations], [status, intro, regulations, timer], **private)
        app.load(lambda c: c, [lang], [lang], js=BROWSER_LANG_JS, **private)
        timer.tick(refresh, [lang, regulations], [status, intro, regulations, timer], **private)
        lang.change(relabel, [lang, turns],
                    [chat, box, send, clear, download, examples, sources_box, sources, wrong, comment,
                     notice],
                    **private).then(refresh, [lang, regulations],
                                    [status, intro, regulations, timer], **private)

        ask_in = [pending, chat, turns, regulations, lang]
        ask_out = [chat, turns, sources, wrong, download]
        for trigger in (box.submit, send.click):
            trigger(show_question, [box, chat, turns, lang], [box, chat, pending, vote_status],
                    **private).then(answer_question, ask_in, ask_out, **private
                                    ).then(None, js=SCROLL_JS, **private)
        examples.click(lambda sample: sample[0] if sample else "", [examples], [box], **private
                       ).then(show_question, [box, chat, turns, lang],
                              [box, chat, pending, vote_status], **private
                              ).then(answer_question, ask_in, ask_out, **private
                                     ).then(None, js=SCROLL_JS, **private)
        chat.like(on_like, [turns, wrong, comment, lang], [vote_status, wrong, comment, turns],
                  **private)
        reset_out = [chat, turns, sources, wrong, comment, vote_status, box, download, pending]
        clear.click(new_conversation, [lang], reset_out, **private)
        chat.clear(new_conversation, [lang], reset_out, **private)

        def api_ask(question: str, history: list, regulations: list) -> tuple:
            """The HTTP API: question, prior messages [{role, content}] (raw text), regulation
            ids. Returns ("", messages with the answer appended, the answer as a dict)."""
            qa = engine.get()
            question = (question if isinstance(question, str) else "")[:MAX_QUESTION_CHARS]
            prior = []
            try:
                # a filter the caller got wrong is an error listing the valid ids, never a
                # silent search of every regulation
                prior = _messages(clean_history(history) or [])[-MAX_HISTORY_TURNS:]
                answer = qa.ask(question, history=prior, regulations=regulations or None)
            except InputError as exc:
                return "", [*prior, {"role": "user", "content": question},
                            {"role": "assistant", "content": str(exc)}], {"error": str(exc)}
            return "", [*prior, {"role": "user", "content": question},
                        {"role": "assistant", "content": answer.text}], answer.to_dict()

        gr.api(api_ask, api_name="ask")
    app.regqa_engine = engine
    return app


# -- serving -----------------------------------------------------------------------------------
class BodyLimit:
    """ASGI middleware: refuse any request body over `max_bytes` with 413, before Gradio reads it."""

    def __init__(self, app, max_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                too_big = True
            if too_big:
                return await self._refuse(send)
            return await self.app(scope, receive, send)
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        messages, size = [], 0  # chunked body: read it (up to the limit), then replay it
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return await self._refuse(send)
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        return await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send) -> None:
        body = b'{"detail": "request too large"}'
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def allowed_hosts(server_name: str) -> list[str]:
    """Host headers the app answers: loopback names, the bound name, and REGQA_ALLOWED_HOSTS
    (comma-separated). Bound to all interfaces with no list given, any host is accepted."""
    extra = [h.strip() for h in os.environ.get("REGQA_ALLOWED_HOSTS", "").split(",") if h.strip()]
    if server_name in ("0.0.0.0", "::") and not extra:
        print("regqa: listening on all interfaces; set REGQA_ALLOWED_HOSTS to the host names "
              "clients use to turn on the Host header check", flush=True)
        return ["*"]
    return list(dict.fromkeys([*LOOPBACK, server_name, *extra]))


def no_proxy_for_loopback() -> None:
    """Gradio checks its own URL over HTTP at start-up; an HTTP(S)_PROXY must not catch it."""
    for name in ("NO_PROXY", "no_proxy"):
        present = [h for h in os.environ.get(name, "").split(",") if h.strip()]
        os.environ[name] = ",".join(dict.fromkeys([*present, "127.0.0.1", "localhost", "::1"]))


def launch(app: gr.Blocks, server_name: str = "127.0.0.1", server_port: int = 7860,
           block: bool = True):
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    no_proxy_for_loopback()
    app.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_MAX)
    middleware = [Middleware(BodyLimit, max_bytes=MAX_REQUEST_BYTES),
                  Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(server_name))]
    return app.launch(server_name=server_name, server_port=server_port, css=CSS, head=HEAD,
                      max_file_size=MAX_FILE_SIZE, app_kwargs={"middleware": middleware},
                      prevent_thread_lock=not block, quiet=not block)


__all__ = ["Engine", "build_app", "export_markdown", "full_citation", "launch", "md_text"]
