import pytest
from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback

from regqa.answer import Answerer, units
from regqa.llm import REMOVED, synthesise


class ScriptedLLM(CustomLLM):
    """Returns a fixed text (or raises), so the real verification code runs with no network."""

    reply: str = ""
    fail: bool = False

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="scripted")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponse:
        if self.fail:
            raise TimeoutError("endpoint timed out")
        return CompletionResponse(text=self.reply)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs):
        yield self.complete(prompt)


def test_offline_answer_quotes_the_cited_article_verbatim(toy_qa):
    answer = toy_qa.ask("How long does a seller have to refund a broken toy robot?")
    assert answer.status == "grounded"
    first = answer.citations[0]
    assert (first.number, first.hit.source_id) == (1, "toy-2024#3")
    assert first.quotes == ("Sellers shall refund customers within fourteen days when a toy "
                            "robot breaks.",)
    assert f"> {first.quotes[0]} [1]" in answer.text
    assert answer.source_nodes[0] is first.hit


def test_unrelated_question_is_no_match_listing_the_closest(toy_qa):
    answer = toy_qa.ask("What is the capital of Peru and its population?")
    assert answer.status == "no_match"
    assert answer.citations == ()
    assert "could not find a provision" in answer.text
    assert answer.hits[0].label in answer.text


def test_follow_up_uses_the_previous_turn(toy_qa):
    history = [{"role": "user", "content": "What is the fine for an unlabelled toy robot?"},
               {"role": "assistant", "content": "..."}]
    answer = toy_qa.ask("and the refund?", history=history)
    cited = {c.hit.source_id for c in answer.citations}
    assert "toy-2024#3" in cited


def test_units_keep_numbered_items_whole():
    text = "Lead in:\n\n(1) first item; and\n\n(2) second item.\n\nOne. Two."
    assert units(text) == ["Lead in:", "(1) first item; and", "(2) second item.", "One.", "Two."]


def _llm_answer(toy_qa, reply, fail=False):
    offline = toy_qa.ask("What is the fine for selling an unlabelled toy robot?")
    assert offline.status == "grounded"
    return offline, synthesise(ScriptedLLM(reply=reply, fail=fail), offline, toy_qa.corpus)


def test_llm_citations_to_retrieved_sources_are_kept_and_renumbered(toy_qa):
    offline, answer = _llm_answer(toy_qa, "Selling without the label is fined [2]. See Article 4 [2].")
    numbers = {c.hit.source_id: c.number for c in offline.citations}
    assert numbers["toy-2024#4"] in (1, 2)
    _, answer = _llm_answer(toy_qa, f"It is fined [{numbers['toy-2024#4']}] under Article 4.")
    assert answer.text == "It is fined [1] under Article 4."
    assert [c.hit.source_id for c in answer.citations] == ["toy-2024#4"]
    assert answer.flags == ()


def test_llm_invented_citations_are_removed_and_flagged(toy_qa):
    offline, answer = _llm_answer(
        toy_qa, f"Fines apply [{offline_number(toy_qa)}]. Also [9] and Article 40 and 第九条.")
    body, warning = answer.text.split("\n\n⚠️ ")
    assert body == f"Fines apply [1]. Also {REMOVED} and {REMOVED} and {REMOVED}."
    assert "removed 'Article 40'" in warning
    assert "removed citation [9]: there is no source [9]" in answer.flags
    assert "removed 'Article 40': no regulation in the corpus has it" in answer.flags


def offline_number(toy_qa):
    offline = toy_qa.ask("What is the fine for selling an unlabelled toy robot?")
    return next(c.number for c in offline.citations if c.hit.source_id == "toy-2024#4")


def test_failing_llm_falls_back_to_the_offline_answer(toy_qa):
    offline, answer = _llm_answer(toy_qa, "", fail=True)
    assert answer.status == "llm_unavailable"
    assert answer.text == offline.text
    assert answer.citations == offline.citations
    assert "could not be reached (TimeoutError)" in answer.flags[-1]


def test_answerer_thresholds_are_calibrated_values(toy_qa):
    thresholds = Answerer(toy_qa.corpus).thresholds
    assert 0 < thresholds["en"] < 1 and 0 < thresholds["zh"] < 1


@pytest.mark.parametrize("bad", ["", "  "])
def test_empty_question_to_ask_is_an_input_error(toy_qa, bad):
    from regqa import InputError

    with pytest.raises(InputError):
        toy_qa.ask(bad)


@pytest.mark.parametrize("question", [
    "What fines does the GDPR allow for a data breach?",
    "How does the EU AI Act classify high-risk systems?",
    "Under China's Personal Information Protection Law, how is consent withdrawn?",
    "数据出境标准合同怎么备案？",
])
def test_questions_about_other_laws_are_out_of_scope(toy_qa, question):
    from regqa.scope import out_of_scope_reason

    assert out_of_scope_reason(question, toy_qa.corpus) is not None
    answer = toy_qa.ask(question)
    assert (answer.status, answer.citations) == ("no_match", ())
    assert "not in the corpus" in answer.text or "only Chinese regulations" in answer.text


@pytest.mark.parametrize("question", [
    "Does the toy robot provisions' fine apply to US sellers?",
    "Do Chinese rules on toy robots cover American brands sold in China?",
    "What does Smith think about the EU approach?",
])
def test_naming_a_corpus_regulation_china_or_a_commentator_keeps_it_in_scope(toy_qa, question):
    from regqa.scope import out_of_scope_reason

    assert out_of_scope_reason(question, toy_qa.corpus) is None


def test_chat_rendering_escapes_corpus_text_and_keeps_warnings(toy_qa):
    from dataclasses import replace

    from regqa.ui import render_answer

    answer = toy_qa.ask("How long does a seller have to refund a broken toy robot?")
    shown = render_answer(answer)
    assert "Toy Robot Provisions, Art\\. 3 [1]" in shown
    assert "> Sellers shall refund customers within fourteen days when a toy robot breaks\\. [1]" \
        in shown
    fallback = replace(answer, status="llm_unavailable", flags=("the model timed out",))
    assert render_answer(fallback).endswith("⚠️ the model timed out")
    llm_text = replace(answer, text="<b>Refund</b> in **14** days [1]")
    assert render_answer(llm_text) == "&lt;b&gt;Refund&lt;/b&gt; in \\*\\*14\\*\\* days \\[1\\]"
