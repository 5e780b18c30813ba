import pytest

from regqa.evaluation import bootstrap_ci, calibrate, per_query_scores


def test_metrics_match_hand_computed_values():
    gold = {"q1": ["a"], "q2": ["b", "c"], "q3": ["z"]}
    ranked = {"q1": ["a", "x"], "q2": ["x", "c", "y", "b"], "q3": ["x"]}
    scores = per_query_scores(gold, ranked)
    assert scores["hit_rate@1"] == {"q1": 1.0, "q2": 0.0, "q3": 0.0}
    assert scores["recall@5"] == {"q1": 1.0, "q2": 1.0, "q3": 0.0}
    assert scores["mrr@10"] == {"q1": 1.0, "q2": 0.5, "q3": 0.0}
    # q2: DCG = 1/log2(3) + 1/log2(5); ideal = 1 + 1/log2(3)
    assert scores["ndcg@10"]["q2"] == pytest.approx((1 / 1.5849625 + 1 / 2.3219281) / (1 + 1 / 1.5849625), abs=1e-6)


def test_calibrate_keeps_false_abstention_within_bound():
    relevance = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05] * 2 + [0.2, 0.1]
    in_scope = [True] * 20 + [False, False]
    threshold = calibrate(relevance, in_scope, max_false_abstention=0.05)
    # 5% of 20 in-scope questions = 1 may fall below; the sorted in-scope scores are
    # [0.05, 0.05, 0.1, ...], so the threshold is the 2nd lowest: 0.05.
    assert threshold == 0.05
    assert calibrate([0.3, 0.6, 0.9, 0.2], [True, True, True, False], 0.34) == 0.6


def test_bootstrap_interval_brackets_the_mean():
    low, high = bootstrap_ci([0.0, 1.0] * 50)
    assert low < 0.5 < high and high - low < 0.25
    assert bootstrap_ci([1.0] * 10) == (1.0, 1.0)
