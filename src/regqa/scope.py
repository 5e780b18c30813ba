"""Questions the corpus cannot answer even when they share its vocabulary.

Similarity alone cannot tell "GDPR fines" from the corpus's own penalty articles. A question
that names another jurisdiction, or a law, instrument or body of rules that is not in the
corpus, and names none of the corpus's regulations, is out of scope: regqa says so rather
than answer it with the nearest Chinese article.
"""

from __future__ import annotations

import re

from .corpus import Corpus
from .lookup import commentator_mentions, regulation_mentions

FOREIGN = re.compile(
    r"\b(EU|E\.U\.|European|GDPR|Brussels|U\.S\.|USA|United States|American?|Congress|White House|"
    r"UK|U\.K\.|United Kingdom|Britain|British|England|Canada|Canadian|Singapore\w*|Japan\w*|"
    r"Korea\w*|India\w*|Australia\w*|Brazil\w*|Germany|German|France|French|California\w*|"
    r"Hong Kong|Taiwan\w*|Macau|OECD|UNESCO|G7|NIST|Council of Europe)\b"
    r"|欧盟|欧洲|美国|英国|加拿大|新加坡|日本|韩国|印度|澳大利亚|香港|台湾|澳门")
CHINA = re.compile(r"\b(China|Chinese|PRC|mainland|Beijing|CAC)\b|中国|国内|境内|我国", re.I)
# Named instruments that are not one of the corpus's regulations. A law the corpus cites as
# a legal basis (e.g. the Cybersecurity Law) is still another instrument: questions about its
# own rules are out of scope unless they also name a corpus regulation.
OTHER_INSTRUMENT = re.compile(
    r"\b(AI Act|Artificial Intelligence Act|executive order|white paper|(?<!AI )framework|"
    r"Personal Information Protection Law|PIPL|Data Security Law|DSL|Cybersecurity Law|"
    r"Anti-Monopoly Law|E-?commerce Law|Copyright Law|Export Control Law|Civil Code|"
    r"Criminal Law|Labou?r (Contract )?Law|Advertising Law|standard contract|"
    r"critical information infrastructure|cross-border data|data export\w*|exporting .{0,30}data|"
    r"important data|core data|copyright registration|registering copyright|"
    r"(income|value.added|corporate) tax|VAT|visa|stock exchange)\b"
    r"|个人信息保护法|数据安全法|网络安全法|反垄断法|电子商务法|著作权法|出口管制|数据出境|标准合同|"
    r"关键信息基础设施|个人所得税|增值税|签证", re.I)


def out_of_scope_reason(question: str, corpus: Corpus) -> str | None:
    """Why the question is outside the corpus, or None if it may be inside."""
    if regulation_mentions(question, corpus) or commentator_mentions(question, corpus):
        return None
    if (match := FOREIGN.search(question)) and not CHINA.search(question):
        return f"it is about {match.group(0)}, and the corpus holds only Chinese regulations"
    if match := OTHER_INSTRUMENT.search(question):
        names = ", ".join(r.short_title for r in corpus.regulations)
        return f"it is about {match.group(0)}, which is not in the corpus ({names})"
    return None
