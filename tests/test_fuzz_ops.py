"""Property-based fuzzing of conv2d, the 2-D pools and tc.conv_output_shape.

Hypothesis draws kernel/pool sizes, strides, dilations, every padding form ('valid' and
'same' in any letter case, an int, a pair, ((top, bottom), (left, right)), as tuples or
lists, with Python or numpy ints), odd/even/non-square inputs, batch, channels and dtype,
and checks each case against the slow loop references in tests/reference.py:

- forward equality: float64 to ~1e-10, float32 to float32 rounding;
- gradients by tc.gradcheck in float64 on tiny inputs (tie-free for max pool);
- a combination whose output would be empty raises the library's ValueError that states
  the sizes (never a numpy error), from the op and from tc.conv_output_shape alike;
- junk hyper-parameters raise TypeError/ValueError naming the argument and the value;
  the forms API.md accepts (e.g. padding=0 for conv, pool strides=None) are accepted.

Profiles (tests/conftest.py): ``ci`` (the default) runs 15 derandomized examples per
test, a few hundred in all; ``--hypothesis-profile=thorough`` runs 2,000 per test.
No test here hard-codes ``max_examples``.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor
from tinygrad_cnn import functional as F

import reference as ref

TIGHT = dict(atol=1e-6, rtol=1e-6)  # conv is bilinear, pooling piecewise linear
TOLERANCE = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-5)}
POOLS = {"max": (F.max_pool2d, ref.max_pool2d), "avg": (F.avg_pool2d, ref.avg_pool2d)}


# ------------------------------------------------------------------ strategies
def _as_int(value, numpy_int):
    return np.int64(value) if numpy_int else value


@st.composite
def pair_arg(draw, low, high):
    """A hyper-parameter as the user may write it: 3, np.int64(3), (2, 3) or [2, 3]."""
    a = draw(st.integers(low, high))
    form = draw(st.sampled_from(["int", "numpy int", "tuple", "list"]))
    if form in ("int", "numpy int"):
        return _as_int(a, form == "numpy int"), (a, a)
    b = draw(st.integers(low, high))
    numpy_int = draw(st.booleans())
    value = (_as_int(a, numpy_int), _as_int(b, numpy_int))
    return (value if form == "tuple" else list(value)), (a, b)


def mixed_case(word):
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda upper: "".join(c.upper() if u else c for c, u in zip(word, upper)))


@st.composite
def conv_padding(draw, max_pad=3):
    """(padding as passed to the library, the same padding in the reference's plain form)."""
    form = draw(st.sampled_from(["valid", "same", "int", "pair", "explicit"]))
    if form in ("valid", "same"):
        text = draw(mixed_case(form))
        return text, text
    if form == "int":
        p = draw(st.integers(0, max_pad))
        return _as_int(p, draw(st.booleans())), p
    container = draw(st.sampled_from([tuple, list]))
    if form == "pair":
        plain = tuple(draw(st.integers(0, max_pad)) for _ in range(2))
        return container(plain), plain
    plain = tuple(tuple(draw(st.integers(0, max_pad)) for _ in range(2)) for _ in range(2))
    return container(container(p) for p in plain), plain


pool_padding = st.one_of(mixed_case("valid"), mixed_case("same")).map(lambda p: (p, p))
dtypes = st.sampled_from([np.float32, np.float64])


def explicit(padding, in_hw, kernel_hw, strides, dilation):
    return ref.explicit_pads(padding, in_hw, kernel_hw, strides, dilation)


def reference_out_hw(padding, in_hw, kernel_hw, strides, dilation=(1, 1)):
    pads = explicit(padding, in_hw, kernel_hw, strides, dilation)
    return ref.output_hw(in_hw, kernel_hw, strides, pads, dilation)


@st.composite
def conv_case(draw, max_batch=2, max_hw=9, max_channels=3, max_kernel=4, max_stride=3,
              max_dilation=3, min_batch=1):
    case = dict(
        x_shape=(draw(st.integers(min_batch, max_batch)), draw(st.integers(1, max_hw)),
                 draw(st.integers(1, max_hw)), draw(st.integers(1, max_channels))),
        kernel_hw=(draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))),
        c_out=draw(st.integers(1, max_channels)),
        strides=draw(pair_arg(1, max_stride)),
        dilation=draw(pair_arg(1, max_dilation)),
        padding=draw(conv_padding()),
        bias=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
    )
    return case


LAYOUTS = ("contiguous", "fortran", "strided", "reversed")


def in_layout(a, layout):
    """The same values as ``a`` in another memory layout (a view where possible)."""
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "strided":  # every other element of a bigger buffer
        big = np.zeros(tuple(2 * n for n in a.shape), a.dtype)
        big[tuple(slice(None, None, 2) for _ in a.shape)] = a
        return big[tuple(slice(None, None, 2) for _ in a.shape)]
    if layout == "reversed":  # negative strides
        flipped = np.ascontiguousarray(a[::-1, ::-1])
        return flipped[::-1, ::-1]
    return a


def conv_arrays(case, dtype):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal(case["x_shape"]).astype(dtype)
    kernel = rng.standard_normal((*case["kernel_hw"], case["x_shape"][3],
                                  case["c_out"])).astype(dtype)
    bias = rng.standard_normal(case["c_out"]).astype(dtype) if case["bias"] else None
    return x, kernel, bias


def conv_out_hw(case):
    """The reference's output size, or None when it would be empty."""
    (_, strides), (_, dilation), (_, padding) = (case["strides"], case["dilation"],
                                                 case["padding"])
    oh, ow = reference_out_hw(padding, case["x_shape"][1:3], case["kernel_hw"], strides,
                              dilation)
    return (oh, ow) if oh >= 1 and ow >= 1 else None


def call_conv(case, x, kernel, bias):
    return F.conv2d(x, kernel, bias, case["strides"][0], case["padding"][0],
                    case["dilation"][0])


def assert_empty_output_error(call):
    """The library's own ValueError stating the sizes: not a numpy ValueError from inside."""
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert "larger than the padded input" in message and "floor(" in message, message


# ------------------------------------------------------------------------ conv
@given(case=conv_case(min_batch=0), dtype=dtypes,
       layouts=st.tuples(st.sampled_from(LAYOUTS), st.sampled_from(LAYOUTS)))
def test_conv2d_forward_matches_loop_reference_or_refuses_empty_output(case, dtype, layouts):
    x, kernel, bias = conv_arrays(case, dtype)
    out_hw = conv_out_hw(case)
    tensors = (Tensor(in_layout(x, layouts[0])), Tensor(in_layout(kernel, layouts[1])),
               None if bias is None else Tensor(bias))
    if out_hw is None:
        assert_empty_output_error(lambda: call_conv(case, *tensors))
        return
    out = call_conv(case, *tensors)
    assert out.shape == (case["x_shape"][0], *out_hw, case["c_out"])
    assert out.dtype == dtype
    expected = ref.conv2d(x, kernel, bias, case["strides"][1], case["padding"][1],
                          case["dilation"][1])
    scale = max(1.0, float(np.abs(expected).max(initial=0)))
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(out.data, expected, rtol=tol["rtol"], atol=tol["atol"] * scale)


@given(case=conv_case(max_batch=2, max_hw=5, max_channels=2, max_kernel=3, max_stride=2,
                      max_dilation=2))
def test_conv2d_gradients_match_finite_differences(case):
    assume(conv_out_hw(case) is not None)
    arrays = [a for a in conv_arrays(case, np.float64) if a is not None]
    inputs = [Tensor(a, requires_grad=True) for a in arrays]
    assert tc.gradcheck(lambda *t: call_conv(case, t[0], t[1], t[2] if len(t) > 2 else None),
                        inputs, **TIGHT)


@given(case=conv_case(max_hw=6, max_channels=2), data=st.data())
def test_conv2d_backward_float32_matches_float64(case, data):
    """float32 gradients are float32 and agree with the float64 ones to float32 rounding."""
    assume(conv_out_hw(case) is not None)
    grads = {}
    for dtype in (np.float64, np.float32):
        tensors = [None if a is None else Tensor(a, requires_grad=True)
                   for a in conv_arrays(case, dtype)]
        out = call_conv(case, *tensors)
        seed = np.random.default_rng(case["seed"] + 1).standard_normal(out.shape)
        out.backward(seed.astype(dtype))
        grads[dtype] = [t.grad for t in tensors if t is not None]
        assert all(g.dtype == dtype for g in grads[dtype])
    for g32, g64 in zip(grads[np.float32], grads[np.float64]):
        scale = max(1.0, float(np.abs(g64).max(initial=0)))
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5 * scale)


@st.composite
def empty_conv_case(draw):
    """Hyper-parameters whose (dilated) kernel is larger than the padded input on one axis."""
    case = draw(conv_case(max_hw=6))
    axis = draw(st.integers(0, 1))
    k = draw(st.integers(2, 6))
    d = draw(st.integers(1, 3))
    extent = (k - 1) * d + 1
    before = draw(st.integers(0, extent - 2))
    after = draw(st.integers(0, extent - 2 - before))
    size = draw(st.integers(1, extent - 1 - before - after))
    pads = [list(p) for p in ref.explicit_pads(case["padding"][1], case["x_shape"][1:3],
                                               case["kernel_hw"], case["strides"][1],
                                               case["dilation"][1])]
    pads[axis] = [before, after]
    plain_pads = (tuple(pads[0]), tuple(pads[1]))
    kernel_hw, dilation, x_shape = (list(case["kernel_hw"]), list(case["dilation"][1]),
                                    list(case["x_shape"]))
    kernel_hw[axis], dilation[axis], x_shape[1 + axis] = k, d, size
    case.update(kernel_hw=tuple(kernel_hw), dilation=(tuple(dilation), tuple(dilation)),
                x_shape=tuple(x_shape), padding=(plain_pads, plain_pads))
    return case


@given(case=empty_conv_case(), dtype=dtypes)
def test_empty_conv_output_raises_value_error_from_op_and_shape_function(case, dtype):
    assert conv_out_hw(case) is None
    x, kernel, bias = conv_arrays(case, dtype)
    assert_empty_output_error(lambda: call_conv(case, Tensor(x), Tensor(kernel), None))
    assert_empty_output_error(lambda: tc.conv_output_shape(
        case["x_shape"][1:3], case["kernel_hw"], case["strides"][0], case["padding"][0],
        case["dilation"][0]))


@given(in_hw=st.tuples(st.integers(1, 40), st.integers(1, 40)),
       kernel=pair_arg(1, 8), strides=pair_arg(1, 5), dilation=pair_arg(1, 4),
       padding=conv_padding(max_pad=6))
def test_conv_output_shape_matches_reference_rule(in_hw, kernel, strides, dilation, padding):
    expected = reference_out_hw(padding[1], in_hw, kernel[1], strides[1], dilation[1])
    call = lambda: tc.conv_output_shape(in_hw, kernel[0], strides[0], padding[0], dilation[0])
    if min(expected) < 1:
        assert_empty_output_error(call)
    else:
        assert call() == expected
        if str(padding[1]).lower() == "same":
            assert expected == tuple(-(-n // s) for n, s in zip(in_hw, strides[1]))


# ----------------------------------------------------------------------- pools
def tie_free(shape, seed):
    """A shuffled linspace: distinct values ≥ 0.1 apart (no ties even under gradcheck's eps)."""
    values = np.linspace(-1, 1, int(np.prod(shape))) * np.prod(shape) / 10
    return np.random.default_rng(seed).permutation(values).reshape(shape)


@st.composite
def pool_case(draw, max_batch=2, max_hw=9, max_channels=3, max_pool=4, max_stride=4):
    pool = draw(pair_arg(1, max_pool))
    strides = draw(st.one_of(st.none().map(lambda _: (None, pool[1])), pair_arg(1, max_stride)))
    return dict(
        x_shape=(draw(st.integers(1, max_batch)), draw(st.integers(1, max_hw)),
                 draw(st.integers(1, max_hw)), draw(st.integers(1, max_channels))),
        pool=pool, strides=strides, padding=draw(pool_padding),
        seed=draw(st.integers(0, 2**16)),
    )


def pool_out_hw(case):
    oh, ow = reference_out_hw(case["padding"][1], case["x_shape"][1:3], case["pool"][1],
                              case["strides"][1])
    return (oh, ow) if oh >= 1 and ow >= 1 else None


def call_pool(op, case, x):
    return op(x, case["pool"][0], case["strides"][0], case["padding"][0])


@pytest.mark.parametrize("pool", POOLS)
@given(case=pool_case(), dtype=dtypes, layout=st.sampled_from(LAYOUTS))
def test_pool_forward_matches_loop_reference_or_refuses_empty_output(pool, case, dtype, layout):
    ours, reference = POOLS[pool]
    x = tie_free(case["x_shape"], case["seed"]).astype(dtype)
    xt = Tensor(in_layout(x, layout))
    out_hw = pool_out_hw(case)
    if out_hw is None:
        assert_empty_output_error(lambda: call_pool(ours, case, xt))
        assert_empty_output_error(lambda: tc.conv_output_shape(
            case["x_shape"][1:3], case["pool"][0], case["strides"][1], case["padding"][0]))
        return
    out = call_pool(ours, case, xt)
    assert out.shape == (case["x_shape"][0], *out_hw, case["x_shape"][3])
    assert out.dtype == dtype
    assert out_hw == tc.conv_output_shape(case["x_shape"][1:3], case["pool"][0],
                                          case["strides"][1], case["padding"][0])
    expected = reference(x, case["pool"][1], case["strides"][1], case["padding"][1])
    if pool == "max":  # max picks one element: exact in any dtype
        np.testing.assert_array_equal(out.data, expected)
    else:
        np.testing.assert_allclose(out.data, expected, **TOLERANCE[dtype])


@pytest.mark.parametrize("pool", POOLS)
@given(case=pool_case(max_hw=6, max_channels=2, max_pool=3, max_stride=3))
def test_pool_gradients_match_finite_differences(pool, case):
    assume(pool_out_hw(case) is not None)
    ours, _ = POOLS[pool]
    x = Tensor(tie_free(case["x_shape"], case["seed"]), requires_grad=True)
    assert tc.gradcheck(lambda a: call_pool(ours, case, a), [x], **TIGHT)


@given(case=pool_case(max_hw=7), dtype=dtypes, levels=st.integers(1, 3))
def test_max_pool_backward_with_ties_routes_like_the_reference(case, dtype, levels):
    """Few distinct values (ties in most windows, like zeros after a ReLU)."""
    assume(pool_out_hw(case) is not None)
    rng = np.random.default_rng(case["seed"])
    x = rng.integers(0, levels, case["x_shape"]).astype(dtype)
    xt = Tensor(x, requires_grad=True)
    out = call_pool(F.max_pool2d, case, xt)
    grad = rng.standard_normal(out.shape).astype(dtype)
    out.backward(grad)
    expected = ref.max_pool2d_grad(x, grad, case["pool"][1], case["strides"][1],
                                   case["padding"][1])
    np.testing.assert_allclose(xt.grad, expected, **TOLERANCE[dtype])


# ------------------------------------------------------- junk hyper-parameters
JUNK_VALUES = [0, -1, -3, True, False, None, "1", "2", "a", "", "same", 1.5, 2.0,
               float("nan"), float("inf"), -float("inf"), 1j, (), (1,), (1, 2, 3), (0, 1),
               (1, -1), (1, "2"), (1.0, 1), [[1, 1]], {}, {1, 2}, b"1", np.float32(2),
               np.array([1, 2]), np.array(2), (None, 1), (True, 1)]
JUNK = st.one_of(
    st.sampled_from(JUNK_VALUES), st.integers(-5, 0),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3),
)


def _int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _pair_of(value, ok):
    return isinstance(value, (tuple, list)) and len(value) == 2 and all(ok(v) for v in value)


def _is_valid(arg, value, conv):
    """API.md's accepted forms, written out here independently of the package."""
    if arg == "padding":
        if isinstance(value, str):
            return value.lower() in ("valid", "same")
        def non_negative(v):
            return _int(v) and v >= 0
        return conv and (non_negative(value) or _pair_of(value, non_negative)
                         or _pair_of(value, lambda p: _pair_of(p, non_negative)))
    if arg == "strides" and not conv and value is None:
        return True  # pool strides default to pool_size
    def positive(v):
        return _int(v) and v >= 1
    return positive(value) or _pair_of(value, positive)


def _check_junk_error(call, arg, junk, conv):
    """A valid form (per API.md) is accepted; anything else raises a TypeError/ValueError
    whose message names ``arg`` and the value."""
    if _is_valid(arg, junk, conv):
        call()
        return
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    message = str(info.value)
    assert type(info.value) in (TypeError, ValueError), type(info.value)
    assert arg in message, f"{info.typename} does not name {arg}: {message}"
    assert repr(junk) in message, f"{info.typename} does not name {junk!r}: {message}"


def _check_conv_junk(arg, junk):
    x, kernel = Tensor(np.zeros((1, 5, 5, 1))), Tensor(np.zeros((3, 3, 1, 2)))
    if arg == "kernel_size":
        _check_junk_error(lambda: tc.conv_output_shape((5, 5), junk), arg, junk, conv=True)
        _check_junk_error(lambda: tc.nn.Conv2D(2, junk), arg, junk, conv=True)
    else:
        _check_junk_error(lambda: F.conv2d(x, kernel, **{arg: junk}), arg, junk, conv=True)
        _check_junk_error(lambda: tc.conv_output_shape((5, 5), 3, **{arg: junk}), arg, junk,
                          conv=True)


def _check_pool_junk(arg, junk):
    x = Tensor(np.zeros((1, 5, 5, 1)))
    for op in (F.max_pool2d, F.avg_pool2d):
        _check_junk_error(lambda: op(x, **{arg: junk}), arg, junk, conv=False)


CONV_ARGS = ["kernel_size", "strides", "dilation_rate", "padding"]
POOL_ARGS = ["pool_size", "strides", "padding"]


@pytest.mark.parametrize("arg", CONV_ARGS)
@given(junk=JUNK)
def test_junk_conv_hyper_parameters_raise_errors_naming_the_argument(arg, junk):
    _check_conv_junk(arg, junk)


@pytest.mark.parametrize("arg", POOL_ARGS)
@given(junk=JUNK)
def test_junk_pool_hyper_parameters_raise_errors_naming_the_argument(arg, junk):
    _check_pool_junk(arg, junk)


@pytest.mark.parametrize("junk", JUNK_VALUES, ids=repr)
def test_every_listed_junk_value_is_checked_for_every_argument(junk):
    """The ci profile draws only 15 examples; every listed value is checked here."""
    for arg in CONV_ARGS:
        _check_conv_junk(arg, junk)
    for arg in POOL_ARGS:
        _check_pool_junk(arg, junk)
