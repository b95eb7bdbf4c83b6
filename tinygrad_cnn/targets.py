"""Targets (``y_true``) checked against the predictions' shape, for losses and metrics alike.

Keras' conventions: class ids have the predictions' shape without the class axis (or with
a trailing 1), one-hot and regression targets have the predictions' shape (a missing or
extra trailing 1 is squeezed or added). Every check works on shapes, so ``fit`` runs it on
the whole label array before training starts.
"""

from __future__ import annotations

import numpy as np


def as_array(y_true, who: str) -> np.ndarray:
    """``y_true`` (a Tensor, an ndarray or a list of numbers) as an ndarray, never copied."""
    data = y_true.data if hasattr(y_true, "_ctx") else y_true  # targets carry no gradient
    if not isinstance(data, (np.ndarray, list, tuple, np.generic, int, float)):
        raise TypeError(f"{who}: y_true must be a numpy array, a Tensor or a list of numbers; "
                        f"got {type(y_true).__name__}")
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{who}: y_true must hold numbers; got dtype {array.dtype}")
    return array


def _shape(shape) -> str:
    return str(tuple(int(n) for n in shape))


def class_ids(y_true, pred_shape: tuple, who: str) -> np.ndarray:
    """Integer class ids of shape ``pred_shape[:-1]`` in [0, classes), for sparse losses.

    Raises:
        ValueError: one-hot rows, the wrong shape, non-integral values or ids out of range.
    """
    y = as_array(y_true, who)
    classes = pred_shape[-1]
    if y.shape == tuple(pred_shape[:-1]) + (1,) and classes != 1:
        y = y[..., 0]
    if y.shape == tuple(pred_shape) and classes > 1:
        raise ValueError(f"{who} takes class ids of shape {_shape(pred_shape[:-1])}, but y_true "
                         f"has shape {_shape(y.shape)} like the predictions: one-hot labels? "
                         f"Use the loss 'categorical_crossentropy' for them, or pass "
                         f"y.argmax(axis=-1)")
    if y.shape != tuple(pred_shape[:-1]):
        raise ValueError(f"{who} takes class ids of shape {_shape(pred_shape[:-1])} for "
                         f"predictions of shape {_shape(pred_shape)}; got y_true of shape "
                         f"{_shape(y.shape)}")
    if y.dtype.kind == "f":
        if not np.array_equal(y, np.round(y)):
            raise ValueError(f"{who} takes integer class ids; y_true holds non-integral "
                             f"values such as {y[y != np.round(y)].flat[0].item()!r}")
        y = y.astype(np.int64)
    elif y.dtype.kind == "b":
        raise TypeError(f"{who} takes integer class ids; got dtype bool")
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"{who}: labels must be class ids in 0..{classes - 1} (the model has "
                         f"{classes} outputs); got values from {y.min()} to {y.max()}")
    return y


def dense_targets(y_true, pred_shape: tuple, dtype, who: str, one_hot: bool = False):
    """Targets of the predictions' shape and dtype (one-hot rows when ``one_hot``).

    A trailing axis of 1 on one side only is added or squeezed (Keras does the same).
    """
    y = as_array(y_true, who)
    pred_shape = tuple(pred_shape)
    if y.ndim == len(pred_shape) - 1 and pred_shape[-1] == 1:
        y = y[..., None]
    elif y.ndim == len(pred_shape) + 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if one_hot and y.shape == pred_shape[:-1] and pred_shape[-1] > 1:
        raise ValueError(f"{who} takes one-hot rows of shape {_shape(pred_shape)}, but y_true "
                         f"has shape {_shape(y.shape)}: class ids? Use the loss "
                         f"'sparse_categorical_crossentropy' for them, or one-hot them with "
                         f"np.eye({pred_shape[-1]})[y]")
    if y.shape != pred_shape:
        raise ValueError(f"{who}: y_true has shape {_shape(y.shape)} but the predictions have "
                         f"shape {_shape(pred_shape)}; they must match")
    return y.astype(dtype, copy=False)
