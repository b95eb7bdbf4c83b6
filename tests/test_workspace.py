"""The workspace (tinygrad_cnn/workspace.py): memory is reused, never while an array uses it.

Reuse must be invisible: every place a recorded graph, a user or a view still holds an
array keeps its memory, so the numbers are the same with reuse on and off. The second half
runs the situations that would break a careless reuse scheme (two forwards before one
backward, retain_graph, create_graph, gradcheck, inference) and compares against the
workspace switched off (``set_limit(0)``: every array freed when its last user goes).
"""

import contextlib
import gc
import sys
import threading

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, workspace, zoo
from tinygrad_cnn import functional as F

BIG = (512, 128)  # 256 KiB of float32: large enough to be pooled


def address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


@contextlib.contextmanager
def workspace_off():
    old = workspace.set_limit(0)
    try:
        yield
    finally:
        workspace.set_limit(old)


@pytest.fixture(autouse=True)
def empty_shelf():
    workspace.clear()
    yield
    workspace.clear()


# ------------------------------------------------------------------ the pool itself
def test_memory_comes_back_once_the_last_array_using_it_is_gone():
    a = workspace.empty(BIG, np.float32)
    assert a.shape == BIG and a.dtype == np.float32 and a.flags.c_contiguous
    where = address(a)
    del a
    b = workspace.empty(BIG, np.float32)
    assert address(b) == where
    c = workspace.empty((256, 256), np.float32)  # the same bytes as BIG, another shape
    assert address(c) != where and c.shape == (256, 256)


def test_a_view_keeps_the_memory_of_its_base():
    a = workspace.empty(BIG, np.float32)
    a[:] = 7
    view = a[10:20].T[::2]  # views of views all lead back to the same memory
    where = address(a)
    del a
    b = workspace.empty(BIG, np.float32)
    assert address(b) != where
    b[:] = -1
    assert (view == 7).all()
    del b
    del view  # the last user of the first block: it goes back on the shelf, on top
    assert address(workspace.empty(BIG, np.float32)) == where


def test_a_request_takes_the_most_recent_block_that_fits_at_most_twice_its_size():
    big = workspace.empty((1024, 128), np.float32)  # 512 KiB
    other = workspace.empty((600, 128), np.float32)
    big_at, other_at = address(big), address(other)
    del other
    del big  # shelved last: the most recent
    fits = workspace.empty((700, 128), np.float32)  # 350 KiB: either block fits
    assert address(fits) == big_at and fits.shape == (700, 128)
    assert address(fits) % 64 == 0  # every array starts on a cache line
    huge = workspace.empty((2048, 128), np.float32)  # 1 MiB
    huge_at = address(huge)
    del huge
    small = workspace.empty((520, 128), np.float32)  # 260 KiB: the 1 MiB block is too big
    assert address(small) not in (huge_at, big_at) and address(small) == other_at


def test_small_arrays_come_from_numpy_directly():
    small = workspace.empty((10, 10), np.float64)
    assert small.base is None and small.shape == (10, 10)
    assert workspace.stats()["shelved_blocks"] == 0


def test_zeros_and_empty_like():
    a = workspace.empty(BIG, np.float32)
    a[:] = 3
    del a
    z = workspace.zeros(BIG, np.float32)
    assert (z == 0).all()
    like = workspace.empty_like(z)
    assert like.shape == z.shape and like.dtype == z.dtype


def test_the_shelf_never_holds_more_than_the_limit():
    old = workspace.set_limit(3 * 512 * 128 * 4)
    try:
        arrays = [workspace.empty(BIG, np.float32) for _ in range(6)]
        del arrays
        assert workspace.stats()["shelved_blocks"] == 3
        assert workspace.stats()["shelved_bytes"] <= workspace.limit()
        workspace.set_limit(0)
        assert workspace.stats()["shelved_bytes"] == 0
    finally:
        workspace.set_limit(old)


def test_set_limit_rejects_bad_values():
    for bad in (-1, 1.5, "1", True, None):
        with pytest.raises(ValueError, match="set_limit"):
            workspace.set_limit(bad)


def test_a_training_loop_stops_allocating_after_its_first_steps():
    tc.manual_seed(0)
    model = zoo.simple_mnist_convnet()
    opt = tc.optim.Adam(model.parameters())
    rng = np.random.default_rng(0)

    def step():
        x = rng.random((32, 28, 28, 1), dtype=np.float32)
        loss = F.cross_entropy(model(Tensor(x)), rng.integers(0, 10, 32))
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    before = workspace.stats()
    for _ in range(20):
        step()
    after = workspace.stats()
    assert after["allocated"] == before["allocated"]  # every block came from the shelf
    assert after["reused"] > before["reused"]
    assert after["shelved_bytes"] == before["shelved_bytes"]  # flat: nothing piles up


# ------------------------------------------- reuse never changes a number
def convnet_loss(model, x, labels):
    return F.cross_entropy(model(Tensor(x)), labels)


def twice(fn):
    """fn() with the workspace on, and again with it off: the results must be equal."""
    on = fn()
    with workspace_off():
        off = fn()
    return on, off


def make_model(dtype=np.float32):
    tc.manual_seed(1)
    return zoo.simple_mnist_convnet(), np.random.default_rng(2).random((6, 28, 28, 1)).astype(
        dtype), np.array([1, 2, 3, 4, 5, 6])


def test_two_forwards_before_one_backward():
    def run():
        model, x, labels = make_model()
        model.eval()  # no dropout: both forwards compute the same thing
        first = convnet_loss(model, x, labels)
        second = convnet_loss(model, x[::-1].copy(), labels[::-1])  # runs over first's memory?
        (first + second).backward()
        return [p.grad.copy() for p in model.parameters()] + [first.data, second.data]

    on, off = twice(run)
    for a, b in zip(on, off):
        np.testing.assert_array_equal(a, b)


def test_backward_twice_with_retain_graph():
    def run():
        model, x, labels = make_model()
        loss = convnet_loss(model, x, labels)
        loss.backward(retain_graph=True)
        once = [p.grad.copy() for p in model.parameters()]
        for _ in range(5):  # other work in between: it must not reuse the kept graph
            convnet_loss(model, x[::-1].copy(), labels).backward()
        for p in model.parameters():
            p.grad = None
        loss.backward()
        return once + [p.grad.copy() for p in model.parameters()]

    on, off = twice(run)
    n = len(on) // 2
    for a, b, again in zip(on[:n], off[:n], on[n:]):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, again)


def small_net(x, k1, k2, w):
    """conv+relu → 2×2 max pool → conv+relu → dense: every fast path, float64 ok."""
    h = F.max_pool2d(F.conv2d(x, k1, padding="same", relu=True), 2)
    h = F.conv2d(h, k2, padding="same", relu=True)
    return F.dense(h.flatten(), w)


def small_net_params(dtype=np.float64, batch=8, size=16):
    rng = np.random.default_rng(0)
    shapes = [(batch, size, size, 1), (3, 3, 1, 8), (3, 3, 8, 8), (8 * (size // 2) ** 2, 5)]
    return [Tensor(rng.standard_normal(s).astype(dtype) * 0.5, requires_grad=True)
            for s in shapes]


def test_create_graph_hessian_vector_product():
    def run():
        x, k1, k2, w = params = small_net_params()
        labels = np.arange(8) % 5
        grads = tc.grad(F.cross_entropy(small_net(*params), labels), params, create_graph=True)
        F.cross_entropy(small_net(x[::-1], k1, k2, w), labels)  # unrelated work in between
        vs = [np.random.default_rng(i).standard_normal(p.shape) for i, p in enumerate(params)]
        dot = sum((g * v).sum() for g, v in zip(grads, vs))
        return [h.data.copy() for h in tc.grad(dot, params)]

    old = workspace.MIN_BYTES
    workspace.MIN_BYTES = 0  # pool every array, however small
    try:
        on, off = twice(run)
    finally:
        workspace.MIN_BYTES = old
    for a, b in zip(on, off):
        np.testing.assert_array_equal(a, b)


def test_gradcheck_through_a_convnet_with_the_workspace_on():
    params = small_net_params(batch=2, size=8)
    old = workspace.MIN_BYTES
    workspace.MIN_BYTES = 0  # pool every array, however small
    try:
        assert tc.gradcheck(small_net, params)
        assert tc.gradgradcheck(lambda *p: small_net(*p).sum(), params)
    finally:
        workspace.MIN_BYTES = old


def test_inference_without_a_graph_gives_the_training_forward_values():
    def run():
        model, x, labels = make_model()
        model.eval()
        with tc.no_grad():
            first = model(Tensor(x)).data.copy()
            held = model(Tensor(x[::-1].copy())).data  # held while the next batch runs
            again = model(Tensor(x)).data
        return [first, again, held.copy(), held[::-1]]

    on, off = twice(run)
    for a, b in zip(on, off):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(on[0], on[1])


def test_arrays_a_user_keeps_are_never_overwritten():
    tc.manual_seed(0)
    model = zoo.simple_mnist_convnet()
    rng = np.random.default_rng(0)
    x = Tensor(rng.random((64, 28, 28, 1), dtype=np.float32))
    activations = [model.layers[0](x)]  # a conv output, kept by the user
    kept = activations[0].data.copy()
    for _ in range(3):
        convnet_loss(model, rng.random((64, 28, 28, 1), dtype=np.float32),
                     rng.integers(0, 10, 64)).backward()
    np.testing.assert_array_equal(activations[0].data, kept)


def test_a_gradient_on_workspace_memory_becomes_grad_without_a_copy_but_views_are_copied():
    x = Tensor(np.random.default_rng(0).standard_normal((64, 32, 32, 4)).astype(np.float32),
               requires_grad=True)
    F.max_pool2d(x, 2).backward(np.ones((64, 16, 16, 4), np.float32))
    assert workspace.owns(x.grad)  # the op's fresh dx, kept as it is (256 KiB and more)
    y = Tensor(np.ones((512, 128), np.float32), requires_grad=True)
    (y.reshape(128, 512) * 2).reshape(512, 128).sum().backward()
    assert x.grad.base is not None and y.grad.flags.owndata
    assert not workspace.owns(workspace.empty(BIG, np.float32)[1:])


# ------------------------------------------------------------------------- threads
@pytest.fixture
def frequent_thread_switches():
    """Switch threads every microsecond instead of every 5 ms, so races show up at once."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def true_shelf():
    """(bytes, blocks) counted from the shelf itself: every block has 64 spare bytes."""
    blocks = [(size, block) for size, kept in workspace._shelf.items() for block in kept]
    assert all(block.nbytes == size + 64 for size, block in blocks)
    return sum(size for size, _ in blocks), len(blocks)


def test_four_threads_allocating_and_dropping_keep_the_shelf_true(frequent_thread_switches):
    shapes = [(512, 128), (600, 128), (700, 130), (1024, 128)]  # float32: 256 to 512 KiB
    errors = []

    def work(thread):
        rng = np.random.default_rng(thread)
        held = []  # (array, the number written into it)
        try:
            for i in range(1000):
                a = workspace.empty(shapes[rng.integers(len(shapes))], np.float32)
                a[0, 0] = a[-1, -1] = tag = thread * 1000 + i
                held.append((a, tag))
                while len(held) > rng.integers(0, 5):  # drop in a varying order
                    a, tag = held.pop(rng.integers(len(held)))
                    # no other array got this memory while this one used it
                    assert a[0, 0] == a[-1, -1] == tag
        except Exception as error:  # noqa: BLE001 (reported below, with its thread)
            errors.append((thread, repr(error)))

    for round in range(3):  # a race shows up in some rounds only
        before = workspace.stats()
        threads = [threading.Thread(target=work, args=(4 * round + t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        stats = workspace.stats()
        assert (stats["shelved_bytes"], stats["shelved_blocks"]) == true_shelf()
        assert 0 < stats["shelved_bytes"] <= workspace.limit()
        served = sum(stats[k] - before[k] for k in ("reused", "allocated"))
        assert served == 4 * 1000  # every request counted once


def test_an_array_freed_by_the_garbage_collector_inside_the_lock_waits_for_nothing():
    # The cyclic collector may run at any allocation, also inside the workspace's locked
    # section; a lease dying there must not wait for the lock its own thread holds.
    cycle = [workspace.empty(BIG, np.float32)]
    cycle.append(cycle)  # only the cyclic collector frees it
    where = address(cycle[0])
    del cycle
    finished = threading.Event()

    def collect_inside_the_lock():
        with workspace._lock:
            gc.collect()
        finished.set()

    threading.Thread(target=collect_inside_the_lock, daemon=True).start()
    if not finished.wait(timeout=10):
        workspace._lock.release()  # let the stuck thread go, so that later tests can run
        pytest.fail("a lease dying inside the workspace's lock waited for that lock")
    assert address(workspace.empty(BIG, np.float32)) == where
