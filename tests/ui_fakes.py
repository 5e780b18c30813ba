"""A stand-in for the engine that keeps to its contract (qa.ask, Answer, Citation, Hit fields), so
the chat's behaviour is tested exactly, whatever the retrieval does today. It records every call."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Hit:
    source_id: str
    kind: str
    regulation: str | None
    article: int | None
    label: str
    text: str
    text_zh: str = ""
    chapter: str = ""
    regulation_title: str = ""
    regulation_title_zh: str = ""
    effective: str = ""
    official_url: str = ""
    author: str = ""


@dataclass(frozen=True)
class Citation:
    number: int
    hit: Hit
    quotes: tuple = ()
    quotes_zh: tuple = ()

    @property
    def label(self) -> str:
        return self.hit.label


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    status: str
    citations: tuple
    hits: tuple = ()
    flags: tuple = ()
    lang: str = "en"

    def markdown(self, escape=str) -> str:
        if self.status != "grounded":
            return escape(self.text)
        lines = ["The governing provisions are " + "; ".join(
            f"{escape(c.label)} [{c.number}]" for c in self.citations) + "."]
        for c in self.citations:
            quotes = c.quotes_zh if self.lang == "zh" and c.quotes_zh else c.quotes
            lines += [f"\n> {escape(q)} [{c.number}]" for q in quotes]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"question": self.question, "text": self.text, "status": self.status,
                "citations": [{"number": c.number, "label": c.label} for c in self.citations]}


@dataclass(frozen=True)
class Regulation:
    id: str
    short_title: str
    title: str
    title_zh: str
    effective: str
    official_url: str


DS17 = Hit(
    "deep-synthesis-2022#17", "article", "deep-synthesis-2022", 17,
    "Deep Synthesis Provisions, Art. 17",
    "Deep synthesis service providers shall add labels.\n\nWhere services may cause confusion "
    "or misidentification by the public, they shall label conspicuously the generated content. "
    "Other rules apply to text.",
    "深度合成服务提供者应当添加标识。\n\n可能导致公众混淆或者误认的，应当进行显著标识。",
    "Chapter 3: Data and Technical Management", "Provisions on the Administration of Deep "
    "Synthesis of Internet Information Services", "互联网信息服务深度合成管理规定", "2023-01-10",
    "https://www.cac.gov.cn/2022-12/11/c_1672221949354811.htm")
GENAI12 = Hit(
    "genai-2023#12", "article", "genai-2023", 12, "Generative AI Measures, Art. 12",
    "Providers shall label generated content such as images and videos in accordance with "
    "the Provisions on Deep Synthesis.",
    "提供者应当按照《互联网信息服务深度合成管理规定》对图片、视频等生成内容进行标识。",
    "Chapter 2", "Interim Measures for the Management of Generative AI Services",
    "生成式人工智能服务管理暂行办法", "2023-08-15", "https://www.cac.gov.cn/genai")
ALGO17 = Hit(
    "algorithmic-recommendation-2021#17", "article", "algorithmic-recommendation-2021", 17,
    "Algorithmic Recommendation Provisions, Art. 17",
    "Providers shall offer users a convenient option to switch off algorithmic recommendation "
    "services.", "应当向用户提供便捷的关闭算法推荐服务的选项。", "Chapter 3",
    "Provisions on the Administration of Algorithmic Recommendation",
    "互联网信息服务算法推荐管理规定", "2022-03-01", "https://www.cac.gov.cn/algo")


class FakeCorpus:
    regulations = (
        Regulation("genai-2023", "Generative AI Measures", "Interim Measures …", "生成式人工智能服务管理暂行办法",
                   "2023-08-15", "https://www.cac.gov.cn/genai"),
        Regulation("deep-synthesis-2022", "Deep Synthesis Provisions", "Provisions …",
                   "互联网信息服务深度合成管理规定", "2023-01-10", "https://www.cac.gov.cn/ds"),
        Regulation("algorithmic-recommendation-2021", "Algorithmic Recommendation Provisions",
                   "Provisions …", "互联网信息服务算法推荐管理规定", "2022-03-01", "https://x"),
        Regulation("labeling-measures-2025", "Labeling Measures", "Measures …",
                   "人工智能生成合成内容标识办法", "2025-09-01", "https://y"),
    )


@dataclass
class FakeQA:
    corpus: FakeCorpus = field(default_factory=FakeCorpus)
    calls: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ask(self, question, history=None, regulations=None):
        with self.lock:
            self.calls.append({"question": question, "history": [dict(t) for t in history or []],
                               "regulations": regulations})
        if "nothing" in question.lower():
            return Answer(question, "I could not find a provision that answers this.", "no_match",
                          (), (GENAI12, ALGO17))
        if CJK.search(question):
            return Answer(question, "需要标识 [1]。", "grounded",
                          (Citation(1, DS17, (DS17.text.split("\n\n")[1].split(". ")[0] + ".",),
                                    ("可能导致公众混淆或者误认的，应当进行显著标识。",)),), (DS17,), lang="zh")
        if "in full" in question.lower():  # an answer taller than the chat
            return Answer(question, "Long [1].", "grounded",
                          (Citation(1, DS17, tuple(f"Quote {i}." for i in range(40))),), (DS17,))
        if "switch off" in question.lower() or (history and "minors" in question.lower()):
            return Answer(question, "Yes [1].", "grounded", (Citation(1, ALGO17, (ALGO17.text,)),),
                          (ALGO17,))
        quote = ("Where services may cause confusion or misidentification by the public, they "
                 "shall label conspicuously the generated content.")
        return Answer(question, "Yes [1] [2].", "grounded",
                      (Citation(1, DS17, (quote,), ("可能导致公众混淆或者误认的，应当进行显著标识。",)),
                       Citation(2, GENAI12, (GENAI12.text,))), (DS17, GENAI12))
