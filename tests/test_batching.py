"""tinygrad_cnn.data.Dataset: paired examples, Keras' validation_split and mini-batches.

What ``model.fit(x, y, batch_size, shuffle, validation_split)`` relies on: the held-out part
is the *last* fraction, taken before any shuffling; batches come in order (views) or in one
permutation drawn from a numpy Generator per pass; the last batch holds the rest.
"""

import re

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import data
from tinygrad_cnn.data import Dataset


def numbered(n, features=3):
    """x row i holds i in every feature, y[i] = 100 + i: a row's origin is visible."""
    x = np.repeat(np.arange(n, dtype=np.float32)[:, None], features, axis=1)  # (n, features)
    return x, np.arange(n) + 100


def rows_of(batches):
    """The x row numbers of each batch, after checking every y still pairs with its x."""
    out = []
    for xb, yb in batches:
        np.testing.assert_array_equal(yb, xb[:, 0].astype(int) + 100)
        out.append(xb[:, 0].astype(int).tolist())
    return out


# ---- Dataset ---------------------------------------------------------------------------------

def test_a_dataset_pairs_x_and_y_without_copying():
    x, y = numbered(5)
    ds = Dataset(x, y)
    assert len(ds) == 5 and ds.x is x and ds.y is y
    assert repr(ds) == "Dataset(5 examples, x float32 (3,), y int64 ())"
    assert data.Dataset is Dataset


def test_lists_and_tensors_are_accepted_as_arrays():
    ds = Dataset([[0.0, 1.0], [2.0, 3.0]], [0, 1])
    assert isinstance(ds.x, np.ndarray) and ds.x.shape == (2, 2)
    ds = Dataset(tc.Tensor(np.ones((4, 2))), np.zeros(4, int))
    assert ds.x.shape == (4, 2)


def test_lengths_must_agree_and_the_message_gives_both():
    with pytest.raises(ValueError, match=r"x and y must hold the same number of examples "
                                         r"\(first axis\); got len\(x\) = 4 and len\(y\) = 3"):
        Dataset(np.zeros((4, 2)), np.zeros(3))


@pytest.mark.parametrize("x, y, error, message", [
    (None, [1], TypeError, r"x must be a numpy array \(or a list\) of numbers, one row per "
                           r"example; got None \(NoneType\)"),
    ([1.0], "abc", TypeError, r"y must be a numpy array.*got 'abc' \(str\)"),
    ([1.0], {"a": 1}, TypeError, r"y must be a numpy array.*\(dict\)"),
    (["a", "b"], [1, 2], TypeError, r"x must hold numbers \(bool, int or float\); got dtype <U1"),
    (np.array([[1], [1, 2]], dtype=object), [1, 2], TypeError,
     r"x must hold numbers.*dtype object \(rows of different lengths\?\)"),
    (np.float32(3), [1], ValueError, r"x must have a first axis indexing the examples; got a "
                                     r"0-d array"),
])
def test_what_is_not_an_array_of_examples_is_refused(x, y, error, message):
    with pytest.raises(error, match=message):
        Dataset(x, y)


# ---- split_last: Keras' validation_split ------------------------------------------------------

@pytest.mark.parametrize("n, fraction, head", [
    (10, 0.2, 8), (10, 0.25, 7), (10, 0.3, 7), (3, 0.5, 1), (100, 0.1, 90), (7, 0.85, 1),
    (10, 0.0, 10), (0, 0.0, 0),
])
def test_split_last_holds_out_the_last_fraction_as_keras_does(n, fraction, head):
    """head keeps floor(n * (1 - fraction)) examples, tail the rest, both in order."""
    x, y = numbered(n)
    first, last = Dataset(x, y).split_last(fraction)
    assert (len(first), len(last)) == (head, n - head)
    assert first.x[:, 0].tolist() == list(range(head))
    assert last.x[:, 0].tolist() == list(range(head, n))
    assert last.y.tolist() == list(range(100 + head, 100 + n))
    assert np.shares_memory(first.x, x) or head == 0  # views, not copies


@pytest.mark.parametrize("n, fraction, part", [(1, 0.5, "head"), (10, 1e-17, "tail")])
def test_split_last_refuses_a_fraction_that_leaves_a_part_empty(n, fraction, part):
    with pytest.raises(ValueError, match=rf"fraction={fraction!r} of {n} examples leaves the "
                                         rf"{part} empty"):
        Dataset(*numbered(n)).split_last(fraction)


@pytest.mark.parametrize("fraction, error", [
    (1.0, ValueError), (1, ValueError), (-0.1, ValueError), (float("nan"), ValueError),
    (float("inf"), ValueError), ("0.2", TypeError), (None, TypeError), (True, TypeError),
])
def test_split_last_takes_a_number_in_0_1(fraction, error):
    kind = "" if error is ValueError else f"{type(fraction).__name__} "
    with pytest.raises(error, match=rf"fraction must be a number in \[0, 1\); got "
                                    rf"{kind}{re.escape(repr(fraction))}"):
        Dataset(*numbered(4)).split_last(fraction)


# ---- batches ----------------------------------------------------------------------------------

def test_batches_in_order_are_views_and_the_last_is_smaller():
    x, y = numbered(10)
    batches = Dataset(x, y).batches(4)
    assert len(batches) == 3
    assert rows_of(batches) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert all(np.shares_memory(xb, x) and np.shares_memory(yb, y) for xb, yb in batches)


@pytest.mark.parametrize("n, batch_size, sizes", [
    (6, 3, [3, 3]), (6, 4, [4, 2]), (6, 100, [6]), (1, 1, [1]), (0, 8, []),
])
def test_batch_count_and_sizes(n, batch_size, sizes):
    batches = Dataset(*numbered(n)).batches(batch_size)
    assert [len(xb) for xb, _ in batches] == sizes and len(batches) == len(sizes)


def test_shuffled_batches_follow_one_permutation_drawn_from_the_generator():
    x, y = numbered(10)
    batches = Dataset(x, y).batches(4, shuffle=True, generator=np.random.default_rng(7))
    order = np.random.default_rng(7).permutation(10).tolist()
    assert rows_of(batches) == [order[:4], order[4:8], order[8:]]
    assert rows_of(batches) == [order[:4], order[4:8], order[8:]]  # iterating again: same order


def test_each_call_draws_a_new_order_and_the_same_seed_gives_the_same_orders():
    ds = Dataset(*numbered(50))

    def two_epochs(seed):
        rng = np.random.default_rng(seed)
        return [rows_of(ds.batches(8, shuffle=True, generator=rng)) for _ in range(2)]

    first, second = two_epochs(3)
    assert first != second
    assert two_epochs(3) == [first, second]
    assert sorted(sum(first, [])) == list(range(50))  # every example once per pass


def test_shuffle_without_a_generator_uses_the_library_rng():
    ds = Dataset(*numbered(20))
    tc.manual_seed(5)
    a = rows_of(ds.batches(6, shuffle=True))
    tc.manual_seed(5)
    assert rows_of(ds.batches(6, shuffle=True)) == a
    assert sum(a, []) == np.random.default_rng(5).permutation(20).tolist()


def test_a_generator_is_not_drawn_from_without_shuffle():
    rng = np.random.default_rng(1)
    before = rng.bit_generator.state
    assert rows_of(Dataset(*numbered(5)).batches(2, generator=rng)) == [[0, 1], [2, 3], [4]]
    assert rng.bit_generator.state == before


@pytest.mark.parametrize("kwargs, error, message", [
    ({"batch_size": 0}, ValueError, r"batch_size must be a positive int; got 0"),
    ({"batch_size": -3}, ValueError, r"batch_size must be a positive int; got -3"),
    ({"batch_size": 1.5}, TypeError, r"batch_size must be a positive int; got float 1.5"),
    ({"batch_size": "32"}, TypeError, r"batch_size must be a positive int; got str '32'"),
    ({"batch_size": True}, TypeError, r"batch_size must be a positive int; got bool True"),
    ({"batch_size": 2, "shuffle": "yes"}, TypeError, r"shuffle must be True or False; got 'yes'"),
    ({"batch_size": 2, "shuffle": True, "generator": np.random.RandomState(0)}, TypeError,
     r"generator must be a numpy.random.Generator \(such as tinygrad_cnn.rng.generator\(\)\) "
     r"or None; got .*\(RandomState\)"),
    ({"batch_size": 2, "generator": 42}, TypeError, r"generator must be .*got 42 \(int\)"),
])
def test_bad_batches_arguments_name_the_argument_and_what_is_accepted(kwargs, error, message):
    with pytest.raises(error, match=message):
        Dataset(*numbered(4)).batches(**kwargs)


def test_numpy_integers_are_batch_sizes_and_batches_say_what_they_are():
    batches = Dataset(*numbered(5)).batches(np.int64(2))
    assert len(batches) == 3 and batches.batch_size == 2 and type(batches.batch_size) is int
    assert repr(batches) == "Batches(3 of batch_size=2 over 5 examples, in order)"
