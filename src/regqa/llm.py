"""Optional LLM synthesis through any OpenAI-compatible endpoint, with verified citations.

Configured by environment variables (nothing is read at import):
  REGQA_LLM_BASE_URL  e.g. http://127.0.0.1:11434/v1 for a local Ollama
  REGQA_LLM_MODEL     model name at that endpoint
  REGQA_LLM_API_KEY   optional; never logged
  REGQA_LLM_TIMEOUT   seconds, default 20
"""

from __future__ import annotations

import os
import re
from dataclasses import replace

from .answer import Answer, Citation
from .corpus import Corpus, chinese_numeral

BRACKET = re.compile(r"\[(\d+)\]")
ARTICLE_MENTION = re.compile(
    r"\b(?:Article|Art\.?)\s*(\d{1,3})\b|第([零一二三四五六七八九十百]+|\d{1,3})条")
REMOVED = "[unsupported reference removed]"

PROMPT = """You answer questions about regulations using ONLY the numbered sources below.
Cite every statement with its source number in square brackets, like [1] or [2].
Do not cite any article that is not among the sources. If the sources do not answer the
question, say so. Be concise and plain.

Sources:
{sources}

Question: {question}
Answer:"""


def llm_from_env():
    base_url = os.environ.get("REGQA_LLM_BASE_URL")
    model = os.environ.get("REGQA_LLM_MODEL")
    if not base_url or not model:
        return None
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(model=model, api_base=base_url,
                      api_key=os.environ.get("REGQA_LLM_API_KEY") or "not-needed",
                      timeout=float(os.environ.get("REGQA_LLM_TIMEOUT", "20")),
                      max_retries=0, is_chat_model=True)


def build_prompt(answer: Answer) -> str:
    sources = "\n\n".join(f"[{c.number}] {c.label}\n{c.hit.text}" for c in answer.citations)
    return PROMPT.format(sources=sources, question=answer.question)


def verify(text: str, citations: tuple[Citation, ...], corpus: Corpus) -> tuple[str, list[str],
                                                                               list[int]]:
    """Remove [n] that name no source and article mentions that were not retrieved.

    Returns the cleaned text, a flag per removal, and the source numbers used in order.
    """
    flags: list[str] = []
    numbers = {c.number for c in citations}
    used: list[int] = []

    def bracket(match: re.Match) -> str:
        n = int(match.group(1))
        if n not in numbers:
            flags.append(f"removed citation [{n}]: there is no source [{n}]")
            return REMOVED
        if n not in used:
            used.append(n)
        return match.group(0)

    retrieved = {(c.hit.regulation, c.hit.article) for c in citations if c.hit.article}

    def mention(match: re.Match) -> str:
        raw = match.group(1) or match.group(2)
        number = int(raw) if raw.isdigit() else chinese_numeral(raw)
        if any(article == number for _, article in retrieved):
            return match.group(0)
        exists = [r.short_title for r in corpus.regulations if r.article(number)]
        reason = ("it was not among the retrieved sources" if exists
                  else "no regulation in the corpus has it")
        flags.append(f"removed '{match.group(0)}': {reason}")
        return REMOVED

    text = BRACKET.sub(bracket, text)
    text = ARTICLE_MENTION.sub(mention, text)
    return text, flags, used


def synthesise(llm, offline: Answer, corpus: Corpus) -> Answer:
    try:
        raw = llm.complete(build_prompt(offline)).text
    except Exception as exc:  # any endpoint failure falls back; the key is never in the message
        note = f"the language model could not be reached ({type(exc).__name__}); " \
               "this is the offline answer"
        return replace(offline, status="llm_unavailable", flags=(*offline.flags, note))
    text, flags, used = verify(raw.strip(), offline.citations, corpus)
    by_number = {c.number: c for c in offline.citations}
    cited = tuple(by_number[n] for n in used)
    if not cited:
        flags.append("the model's answer cited no source; showing the offline answer")
        return replace(offline, flags=(*offline.flags, *flags))
    renumber = {old: new for new, old in enumerate(used, start=1)}
    text = BRACKET.sub(lambda m: f"[{renumber[int(m.group(1))]}]", text)
    citations = tuple(Citation(renumber[c.number], c.hit, c.quotes) for c in cited)
    if flags:
        text += "\n\n⚠️ " + " ".join(flags)
    return replace(offline, text=text, citations=citations, flags=tuple(flags))
