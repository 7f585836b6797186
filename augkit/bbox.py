"""Bounding boxes and keypoints: formats, validation and geometric mapping.

Internally boxes are ``pascal_voc`` pixel-edge coordinates ``x_min, y_min,
x_max, y_max`` (pixel ``(r, c)`` spans ``[c, c+1) x [r, r+1)``), so a
horizontal flip maps ``x`` to ``W - x`` and boxes, masks and images never
disagree. Extra columns (labels, ids) ride along, in the float64 table the
boxes come back in: integer ids are exact up to 2**53 (larger ones are refused).
"""
from __future__ import annotations

import numpy as np

from .plan import map_edges

BBOX_FORMATS = ("pascal_voc", "coco", "yolo")


def check_format(bbox_format, owner="Compose"):
    if bbox_format not in BBOX_FORMATS:
        raise ValueError(f"{owner}: bbox_format must be one of {', '.join(map(repr, BBOX_FORMATS))}, "
                         f"got {bbox_format!r}")
    return bbox_format


def _as_table(values, name, min_cols):
    try:
        raw = np.asarray(values)
        arr = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array-like of numbers with shape (M, {min_cols} + k), "
                         f"got {type(values).__name__}") from None
    if raw.dtype.kind in "iu" and raw.size and np.abs(raw).max() > 2 ** 53:
        # The table is float64: a larger integer (an id, say) would come back changed.
        raise ValueError(f"{name} hold an integer beyond 2**53 ({int(np.abs(raw).max())}), which float64 "
                         "cannot carry exactly; map ids to smaller numbers")
    if arr.size == 0 and arr.ndim <= 2:
        cols = arr.shape[1] if arr.ndim == 2 else min_cols
        if arr.ndim == 2 and cols < min_cols:
            raise ValueError(f"{name} must have shape (M, {min_cols} + k), got shape {arr.shape}")
        return np.zeros((0, max(cols, min_cols)))
    if arr.ndim != 2 or arr.shape[1] < min_cols:
        raise ValueError(f"{name} must have shape (M, {min_cols} + k), got shape {arr.shape}")
    if not np.all(np.isfinite(arr[:, :min_cols])):
        bad = int(np.nonzero(~np.all(np.isfinite(arr[:, :min_cols]), axis=1))[0][0])
        raise ValueError(f"{name}[{bad}] has a non-finite coordinate: {arr[bad, :min_cols].tolist()}")
    return arr


def to_pascal(bboxes, bbox_format, height, width, name="bboxes"):
    """Validate boxes given in ``bbox_format`` and return them as pascal_voc pixels (a new array)."""
    arr = _as_table(bboxes, name, 4)
    out = arr.copy()
    if bbox_format == "coco":
        out[:, 2] = arr[:, 0] + arr[:, 2]
        out[:, 3] = arr[:, 1] + arr[:, 3]
    elif bbox_format == "yolo":
        if np.any(arr[:, :4] < 0) or np.any(arr[:, :4] > 1):
            bad = int(np.nonzero(np.any((arr[:, :4] < 0) | (arr[:, :4] > 1), axis=1))[0][0])
            raise ValueError(f"{name}[{bad}] in yolo format must hold x_center, y_center, width, height "
                             f"normalised to [0, 1], got {arr[bad, :4].tolist()}")
        out[:, 0] = (arr[:, 0] - arr[:, 2] / 2) * width
        out[:, 2] = (arr[:, 0] + arr[:, 2] / 2) * width
        out[:, 1] = (arr[:, 1] - arr[:, 3] / 2) * height
        out[:, 3] = (arr[:, 1] + arr[:, 3] / 2) * height
    for i, row in enumerate(out):
        x0, y0, x1, y1 = row[:4]
        if not (x0 < x1 and y0 < y1):
            raise ValueError(f"{name}[{i}] must have x_min < x_max and y_min < y_max "
                             f"({bbox_format}), got {arr[i, :4].tolist()}")
        eps = 1e-6 * max(width, height)
        if x0 < -eps or y0 < -eps or x1 > width + eps or y1 > height + eps:
            raise ValueError(f"{name}[{i}] lies outside the {width}x{height} image: {arr[i, :4].tolist()} "
                             f"({bbox_format}); boxes must lie within 0..width and 0..height")
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height)
    return out


def from_pascal(boxes, bbox_format, height, width):
    out = boxes.copy()
    if bbox_format == "coco":
        out[:, 2] = boxes[:, 2] - boxes[:, 0]
        out[:, 3] = boxes[:, 3] - boxes[:, 1]
    elif bbox_format == "yolo":
        out[:, 0] = (boxes[:, 0] + boxes[:, 2]) / 2 / width
        out[:, 1] = (boxes[:, 1] + boxes[:, 3]) / 2 / height
        out[:, 2] = (boxes[:, 2] - boxes[:, 0]) / width
        out[:, 3] = (boxes[:, 3] - boxes[:, 1]) / height
    return out


def area(boxes):
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def map_boxes(boxes, rows, cols):
    """Map pascal_voc boxes through one geometric step, clip to the new image, drop empty ones.

    Returns the new boxes and the boolean mask of the rows kept.
    """
    out = boxes.copy()
    xs = map_edges(boxes[:, [0, 2]], cols)
    ys = map_edges(boxes[:, [1, 3]], rows)
    out[:, 0], out[:, 2] = np.clip(xs.min(axis=1), 0, cols[2]), np.clip(xs.max(axis=1), 0, cols[2])
    out[:, 1], out[:, 3] = np.clip(ys.min(axis=1), 0, rows[2]), np.clip(ys.max(axis=1), 0, rows[2])
    keep = (out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])
    return out[keep], keep


def check_keypoints(keypoints, height, width, name="keypoints"):
    arr = _as_table(keypoints, name, 2)
    outside = (arr[:, 0] < 0) | (arr[:, 0] > width) | (arr[:, 1] < 0) | (arr[:, 1] > height)
    if np.any(outside):
        i = int(np.nonzero(outside)[0][0])
        raise ValueError(f"{name}[{i}] lies outside the {width}x{height} image: {arr[i, :2].tolist()}; "
                         f"keypoints must have 0 <= x <= width and 0 <= y <= height")
    return arr


def map_keypoints(points, rows, cols):
    """Map keypoints through one geometric step; those that leave ``[0, W] x [0, H]`` are dropped."""
    out = points.copy()
    out[:, 0] = map_edges(points[:, 0], cols)
    out[:, 1] = map_edges(points[:, 1], rows)
    keep = (out[:, 0] >= 0) & (out[:, 0] <= cols[2]) & (out[:, 1] >= 0) & (out[:, 1] <= rows[2])
    return out[keep]


def boxes_through(ops, boxes):
    """Map pascal_voc boxes through every geometric op of ``ops``, clipping after each step.

    Returns the surviving boxes and, for each, its row in the input.
    """
    rows = np.arange(len(boxes))
    for op in ops:
        if op[0] == "g":
            boxes, keep = map_boxes(boxes, op[1], op[2])
            rows = rows[keep]
    return boxes, rows


def keypoints_through(ops, points):
    """Map keypoints through every geometric op of ``ops``; those leaving the image are dropped."""
    for op in ops:
        if op[0] == "g":
            points = map_keypoints(points, op[1], op[2])
    return points
