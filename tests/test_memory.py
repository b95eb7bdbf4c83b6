"""A training loop's memory stays flat; graphs are freed as soon as nothing refers to them.

The graph has no reference cycles (an op holds its inputs, an output holds its op, nothing
points back), so reference counting alone frees it: the tests below run with the cyclic
garbage collector switched off to prove that.
"""

import contextlib
import gc
import tracemalloc
import weakref

import numpy as np

import tinygrad_cnn as tc
import tinygrad_cnn.functional as F
from tinygrad_cnn import Tensor


@contextlib.contextmanager
def cyclic_gc_off():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def tiny_mlp(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(8, 16), (16,), (16, 3), (3,)]
    return [Tensor((0.3 * rng.standard_normal(s)).astype(np.float32), requires_grad=True)
            for s in shapes]


def train_step(params, x, labels, lr=0.05):
    w1, b1, w2, b2 = params
    loss = F.cross_entropy((x @ w1 + b1).relu() @ w2 + b2, labels)
    for p in params:
        p.grad = None
    loss.backward()
    with tc.no_grad():
        for p in params:  # hand-written SGD
            p.data -= lr * p.grad
    return float(loss.item())


def fill_tuple_free_lists():
    """CPython keeps up to 2000 freed tuples of each small size for reuse; tracemalloc counts
    them as allocated, so a loop that frees tuples slowly fills those lists (~200 kB over
    ~1000 steps, then flat). Filling them first leaves only real growth to measure."""
    tuples = [tuple(range(size)) for size in range(1, 20) for _ in range(2500)]
    del tuples


def test_one_thousand_training_steps_do_not_grow_memory():
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((32, 8)).astype(np.float32))
    labels = rng.integers(0, 3, size=32)
    params = tiny_mlp()
    losses = np.zeros(1001)  # preallocated: a growing list would itself be measured
    with cyclic_gc_off():
        tracemalloc.start()
        fill_tuple_free_lists()
        try:
            for step in range(1, 1001):
                losses[step] = train_step(params, x, labels)
                if step == 100:
                    after_100, _ = tracemalloc.get_traced_memory()
            after_1000, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert losses[1000] < losses[1]  # it really trained
    # A leak of even one small tensor per step would add ~100 kB over 900 steps.
    assert after_1000 - after_100 < 16_384, f"grew by {after_1000 - after_100} bytes"


def test_an_intermediate_dies_after_backward_once_the_user_drops_it():
    with cyclic_gc_off():
        w = Tensor(np.ones((4, 4)), requires_grad=True)
        h = w * 2.0
        h_ref, h_data_ref = weakref.ref(h), weakref.ref(h.data)
        loss = (h.relu() * 3.0).sum()
        del h
        assert h_ref() is not None  # the graph still needs it...
        loss.backward()
        assert h_ref() is None  # ...until backward releases the graph
        assert h_data_ref() is None  # and its activations with it
        assert loss._ctx.saved is None and loss._ctx.parents == ()


def test_retain_graph_keeps_the_graph_until_the_root_is_dropped():
    with cyclic_gc_off():
        w = Tensor(np.ones(3), requires_grad=True)
        h = w.exp()
        h_ref = weakref.ref(h)
        loss = (h * h).sum()
        del h
        loss.backward(retain_graph=True)
        assert h_ref() is not None
        del loss
        assert h_ref() is None


def test_a_graph_that_never_sees_backward_is_freed_with_its_root():
    with cyclic_gc_off():
        w = Tensor(np.ones((3, 3)), requires_grad=True)
        out = (w @ w).tanh().sum()
        mid_ref = weakref.ref(out._ctx.parents[0])
        del out
        assert mid_ref() is None


def test_leaves_are_not_kept_alive_by_a_released_graph():
    with cyclic_gc_off():
        x = Tensor(np.ones(3), requires_grad=True)
        x_ref = weakref.ref(x)
        loss = (x * x).sum()
        loss.backward()
        del x
        assert x_ref() is None
        assert loss.item() == 3.0  # the root's own value is still there
