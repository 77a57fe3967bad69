"""Confusion matrix and IoU: hand cases, a direct numpy definition, and cityscapesScripts' own formula."""

import numpy as np
import pytest

from gald_viz.data.labels import TRAINID_TO_LABELID
from gald_viz.metrics.confusion import (
    LabelMapError,
    confusion_matrix,
    iou_per_class,
    iou_stats,
    mean_iou,
    pixel_accuracy,
)


def random_maps(rng, h=40, w=50, num_classes=19):
    gt = rng.integers(0, num_classes, size=(h, w)).astype(np.uint8)
    gt[rng.random((h, w)) < 0.1] = 255
    gt[gt == 5] = 7  # class 5 never in GT
    pred = np.where(rng.random((h, w)) < 0.6, gt, rng.integers(0, num_classes, size=(h, w))).astype(np.uint8)
    pred[pred == 5] = 6
    pred[pred == 9] = 4  # class 9 only as GT
    pred[rng.random((h, w)) < 0.03] = 255  # "no class" predictions are wrong
    pred[gt == 255] = 3  # class 3 predicted on ignored pixels too
    return pred, gt


def test_hand_example():
    gt = np.array([[0, 0, 1, 1, 255, 2]])
    pred = np.array([[0, 1, 1, 255, 1, 0]])
    cm = confusion_matrix(pred, gt, num_classes=3)
    assert cm.tolist() == [[1, 1, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0]]
    tp, fp, fn = iou_stats(cm)
    assert (tp.tolist(), fp.tolist(), fn.tolist()) == ([1, 1, 0], [1, 1, 0], [1, 1, 1])
    assert iou_per_class(cm).tolist() == [1 / 3, 1 / 3, 0.0]
    assert pixel_accuracy(cm) == 2 / 5
    assert mean_iou(cm) == pytest.approx(2 / 9)


def test_nan_for_classes_without_gt_and_prediction():
    gt = np.array([[0, 1, 255]])
    pred = np.array([[0, 1, 2]])  # class 2 predicted only on an ignored pixel
    iou = iou_per_class(confusion_matrix(pred, gt, num_classes=4))
    assert iou[:2].tolist() == [1.0, 1.0] and np.isnan(iou[2:]).all()
    assert mean_iou(confusion_matrix(pred, gt, num_classes=4)) == 1.0
    empty = confusion_matrix(np.zeros((2, 2), np.uint8), np.full((2, 2), 255, np.uint8), num_classes=3)
    assert np.isnan(mean_iou(empty)) and np.isnan(pixel_accuracy(empty))


def test_iou_equals_direct_numpy_definition():
    rng = np.random.default_rng(0)
    pairs = [random_maps(rng), random_maps(rng)]
    cm = sum(confusion_matrix(a, b) for a, b in pairs)  # data-set IoU: summed matrices
    p = np.concatenate([a.ravel() for a, _ in pairs]).astype(int)
    g = np.concatenate([b.ravel() for _, b in pairs]).astype(int)
    valid = g < 19
    expected = []
    for c in range(19):
        tp = np.sum((p == c) & (g == c) & valid)
        fp = np.sum((p == c) & (g != c) & valid)
        fn = np.sum((g == c) & (p != c) & valid)
        expected.append(tp / (tp + fp + fn) if tp + fp + fn else np.nan)
    np.testing.assert_array_equal(iou_per_class(cm), np.array(expected))
    assert np.isnan(expected[5]) and expected[9] == 0.0
    assert mean_iou(cm) == pytest.approx(np.nanmean(expected), abs=1e-15)
    assert pixel_accuracy(cm) == np.sum((p == g) & valid) / valid.sum()


def test_iou_equals_cityscapesscripts_formula():
    """Feed the same pixels, as labelIds, to cityscapesScripts' getIouScoreForLabel / getScoreAverage."""
    cs = pytest.importorskip("cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling")
    rng = np.random.default_rng(3)
    pred, gt = random_maps(rng)
    pred[0, :5] = [19, 100, 254, 255, 18]  # ids outside the classes
    ours = iou_per_class(confusion_matrix(pred, gt))

    conf = cs.generateMatrix(cs.args)  # also fills args.evalLabels with every labelId
    np.add.at(conf, (TRAINID_TO_LABELID[gt].ravel(), TRAINID_TO_LABELID[pred].ravel()), 1)
    ref = {}
    for c in range(19):
        label_id = int(TRAINID_TO_LABELID[c])
        ref[cs.id2label[label_id].name] = cs.getIouScoreForLabel(label_id, conf, cs.args)
    np.testing.assert_array_equal(ours, np.array(list(ref.values())))
    assert mean_iou(confusion_matrix(pred, gt)) == pytest.approx(cs.getScoreAverage(ref, cs.args), abs=1e-15)


def test_bad_inputs():
    with pytest.raises(LabelMapError, match="gt is 2x2"):
        confusion_matrix(np.zeros((2, 3), np.uint8), np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="ignore_index"):
        confusion_matrix(
            np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8), num_classes=3, ignore_index=1
        )
