"""`regqa corpus check`: every rule the engine, the evals and outside tools rely on."""

from __future__ import annotations

from pathlib import Path

from .corpus import Corpus, Problem, read_corpus
from .errors import CorpusError


def check_corpus(corpus: Corpus) -> list[Problem]:
    """Problems found while parsing plus cross-file checks, in file order."""
    problems = list(corpus.problems)
    ids = set(corpus.regulation_ids)
    if not any((Path(corpus.root) / "regulations").glob("*.md")):
        problems.append(Problem(f"{corpus.root}/regulations", 0, "no regulation files (*.md)"))
    seen: dict[str, str] = {}
    for regulation in corpus.regulations:
        if regulation.id in seen:
            problems.append(Problem(regulation.path, 2, f"id '{regulation.id}' is also used by "
                                                        f"{seen[regulation.id]}"))
        seen[regulation.id] = regulation.path
        for role, numbers in regulation.key_articles:
            for number in numbers:
                if regulation.article(number) is None:
                    problems.append(Problem(regulation.path, 2, f"key_articles.{role}: "
                                            f"{regulation.id} has no Article {number}"))
        for ref in regulation.references:
            if regulation.article(ref.from_article) is None:
                problems.append(Problem(regulation.path, 2, f"reference from Article "
                                        f"{ref.from_article}: {regulation.id} has no such article"))
            target = corpus.regulation(ref.regulation)
            if target is None:
                known = ", ".join(sorted(ids))
                problems.append(Problem(regulation.path, 2, f"reference from Article "
                                        f"{ref.from_article} to unknown regulation "
                                        f"'{ref.regulation}' (known: {known})"))
            elif ref.article is not None and target.article(ref.article) is None:
                problems.append(Problem(regulation.path, 2, f"reference from Article "
                                        f"{ref.from_article} to {ref.regulation} Article "
                                        f"{ref.article}, which does not exist (it has "
                                        f"{len(target.articles)} articles)"))
    for doc in corpus.commentary:
        if doc.id in seen:
            problems.append(Problem(doc.path, 2, f"id '{doc.id}' is also used by {seen[doc.id]}"))
        seen[doc.id] = doc.path
        if doc.id and doc.path and not doc.path.endswith(f"/{doc.id}.md"):
            problems.append(Problem(doc.path, 2, f"id '{doc.id}' must equal the file name"))
        for regulation_id in doc.regulations:
            if regulation_id not in ids:
                known = ", ".join(sorted(ids))
                problems.append(Problem(doc.path, 2, f"commentary names unknown regulation "
                                                     f"'{regulation_id}' (known: {known})"))
    return problems


def check_corpus_dir(root: str) -> list[Problem]:
    return check_corpus(read_corpus(root))


def load_corpus(root: str | Path) -> Corpus:
    """Parse and validate; raise CorpusError listing every problem if there is any."""
    corpus = read_corpus(root)
    problems = check_corpus(corpus)
    if problems:
        listing = "\n".join(f"  {p}" for p in problems)
        raise CorpusError(f"the corpus at {root} has {len(problems)} problem(s):\n{listing}\n"
                          "Fix them, then run `regqa corpus check`.")
    return corpus
