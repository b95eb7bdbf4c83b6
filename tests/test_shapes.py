"""Specification of the shape arithmetic in tinygrad_cnn.shapes (shared by ops and layers).

The 'same' and 'valid' rules are compared against tests/reference.py over every small
combination of input size, kernel, stride and dilation.
"""

import itertools

import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import shapes

import reference as ref

SIZES, KERNELS, STRIDES, DILATIONS = range(1, 13), range(1, 6), (1, 2, 3), (1, 2)


@pytest.mark.parametrize("kernel, stride, dilation",
                         list(itertools.product(KERNELS, STRIDES, DILATIONS)))
def test_same_rule_matches_tensorflow_definition(kernel, stride, dilation):
    for size in SIZES:
        out, before, after = ref.same_rule(size, kernel, stride, dilation)
        assert shapes.same_pads(size, kernel, stride, dilation) == (before, after)
        assert after - before in (0, 1)  # the odd pixel goes after (bottom/right)
        got = tc.conv_output_shape((size, size + 1), kernel, stride, "same", dilation)
        assert got == (out, ref.same_rule(size + 1, kernel, stride, dilation)[0])
        assert out == -(-size // stride)


@pytest.mark.parametrize("kernel, stride, dilation",
                         list(itertools.product(KERNELS, STRIDES, DILATIONS)))
def test_valid_rule_or_teaching_error(kernel, stride, dilation):
    extent = (kernel - 1) * dilation + 1
    for size in SIZES:
        if size >= extent:
            expected = (size - extent) // stride + 1
            assert tc.conv_output_shape((size, size), kernel, stride, "valid", dilation) == \
                (expected, expected)
        else:
            with pytest.raises(ValueError, match="larger than the padded input"):
                tc.conv_output_shape((size, size), kernel, stride, "valid", dilation)


@pytest.mark.parametrize("input_hw, kernel, strides, padding, dilation, expected", [
    ((28, 28), 2, 1, "same", 1, (28, 28)),          # the seed layer
    ((28, 28), 3, 1, "same", 1, (28, 28)),
    ((28, 28), 2, 2, "valid", 1, (14, 14)),         # 2×2 pooling
    ((28, 28), 3, 2, "same", 1, (14, 14)),
    ((28, 28), 3, 1, "valid", 1, (26, 26)),
    ((7, 9), (3, 2), (2, 3), "same", 1, (4, 3)),
    ((7, 9), (3, 2), (2, 3), "valid", 1, (3, 3)),
    ((10, 10), 3, 1, "valid", 2, (6, 6)),
    ((5, 5), 3, 1, 1, 1, (5, 5)),                   # int padding
    ((5, 5), 3, 1, (0, 2), 1, (3, 7)),              # (ph, pw)
    ((5, 5), 3, 1, ((0, 1), (2, 3)), 1, (4, 8)),    # ((top, bottom), (left, right))
    ((5, 6), 3, 2, "SAME", 1, (3, 3)),
])
def test_conv_output_shape_table(input_hw, kernel, strides, padding, dilation, expected):
    assert tc.conv_output_shape(input_hw, kernel, strides, padding, dilation) == expected


def test_seed_layer_pads_after_only():
    assert shapes.same_pads(28, 2, 1) == (0, 1)
    assert shapes.resolve_pads("same", (28, 28), (2, 2), (1, 1)) == ((0, 1), (0, 1))


@pytest.mark.parametrize("padding, expected", [
    ("valid", "valid"), ("Same", "same"), (0, ((0, 0), (0, 0))), (2, ((2, 2), (2, 2))),
    ((1, 2), ((1, 1), (2, 2))), ([[0, 1], [2, 3]], ((0, 1), (2, 3))),
])
def test_standardize_padding_forms(padding, expected):
    assert shapes.standardize_padding(padding) == expected


@pytest.mark.parametrize("value, error, fragment", [
    ("1", TypeError, "did you mean strides=1"),
    (0, ValueError, "positive"),
    (-1, ValueError, "-1"),
    (1.5, TypeError, "float"),
    ((1, 2, 3), ValueError, "3 values"),
    (float("inf"), ValueError, "non-finite"),
    (None, TypeError, "None"),
])
def test_standardize_pair_rejects_with_accepted_forms(value, error, fragment):
    with pytest.raises(error) as info:
        shapes.standardize_pair(value, "strides")
    message = str(info.value)
    assert "strides" in message and fragment in message and "strides=(2, 2)" in message


def test_tap_span_lists_exactly_the_in_bounds_outputs():
    """Exhaustive over small sizes: the (input, output) index pairs a tap slice covers."""
    for offset, before, stride, out_len, in_len in itertools.product(
            range(0, 5), range(0, 4), (1, 2, 3), range(1, 6), range(1, 7)):
        rows, outs = shapes.tap_span(offset, before, stride, out_len, in_len)
        expected = [(o, o * stride + offset - before) for o in range(out_len)
                    if 0 <= o * stride + offset - before < in_len]
        assert list(zip(range(out_len)[outs], range(in_len)[rows])) == expected


@pytest.mark.parametrize("args, text", [
    ((28, 2, 1, "same"), "out = ceil(28/1) = 28 ('same', pad 0+1)"),
    ((28, 2, 2, "valid"), "out = floor((28 − 2)/2) + 1 = 14 ('valid')"),
    ((5, 3, 1, (1, 1)), "out = floor((5+1+1 − 3)/1) + 1 = 5 (pad 1+1)"),
    ((10, 3, 1, "valid", 2), "out = floor((10 − 5)/1) + 1 = 6 ('valid')"),
])
def test_explain_output_size_shows_the_formula(args, text):
    assert shapes.explain_output_size(*args) == text


def test_conv_shapes_example_tells_the_seed_story(capsys, monkeypatch):
    """examples/conv_shapes.py runs and shows the seed layer keeping 28×28."""
    import pathlib
    import runpy
    import sys

    path = pathlib.Path(__file__).parents[1] / "examples" / "conv_shapes.py"
    monkeypatch.setattr(sys, "argv", [str(path)])  # not pytest's own arguments
    runpy.run_path(str(path), run_name="__main__")
    text = capsys.readouterr().out
    assert "28×28×1  →  28×28×16" in text and "pad 0+1" in text
    assert "28×28×10  →  14×14×10" in text
