import numpy as np
import pytest

from autodistiller.tasks import compute_metrics, majority_baseline


def test_classification_metrics():
    logits = np.array([[2, 0], [0, 1], [3, 1], [0, 2]], dtype=float)  # predicts 0, 1, 0, 1
    labels = np.array([0, 1, 1, 1])
    m = compute_metrics("single", logits, labels)
    assert m["accuracy"] == 0.75
    # class 0: P=1/2 R=1 F1=2/3; class 1: P=1 R=2/3 F1=0.8 -> macro 0.733333; positive-class F1 0.8
    assert m["macro_f1"] == pytest.approx(0.733333, abs=1e-6)
    assert m["f1"] == pytest.approx(0.8)
    # MCC = (TP*TN - FP*FN) / sqrt(...) = (2*1 - 0*1) / sqrt(2*3*1*2) = 0.57735
    assert m["mcc"] == pytest.approx(0.577350, abs=1e-6)


def test_regression_metrics():
    m = compute_metrics("regression", np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.5]))
    assert m["spearman"] == pytest.approx(1.0)
    assert 0.99 < m["pearson"] < 1.0
    assert compute_metrics("regression", np.ones(3), np.array([1.0, 2.0, 3.0]))["pearson"] == 0.0


def test_majority_baseline():
    m = majority_baseline("single", np.array([0, 0, 1]), np.array([0, 1, 1, 1]))
    assert m["accuracy"] == 0.25 and m["mcc"] == 0.0
