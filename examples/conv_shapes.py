"""How strides, padding and pooling shape a 28×28 image: every shape with its formula.

    python examples/conv_shapes.py

Walks one MNIST-sized image through the layers the seed idea talks about: a conv layer
turns 28×28×1 into 28×28×10, stride 1 with 'same' padding keeps 28×28 (even for Keras'
``Conv2D(filters=16, kernel_size=2, strides=1, padding='same')``, whose odd pad pixel goes
bottom/right), 'valid' and larger strides shrink it, and 2×2 pooling halves it to cut the
cost of what follows. Each step really runs the op (``tinygrad_cnn.functional``) and prints
the shape it produced next to the formula from ``tinygrad_cnn.shapes`` that predicts it,
the parameter count and the multiply-accumulates per image.
"""

from __future__ import annotations

import argparse

import numpy as np

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, shapes
from tinygrad_cnn import functional as F

rng = np.random.default_rng(0)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv_step(x, title, filters, kernel_size, strides=1, padding="valid", dilation_rate=1):
    """Run one conv layer on ``x`` and explain its output shape; returns the output."""
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(strides)
    dh, dw = _pair(dilation_rate)
    c_in = x.shape[3]
    kernel = Tensor(rng.uniform(-0.3, 0.3, (kh, kw, c_in, filters)).astype(np.float32))
    bias = Tensor(np.zeros(filters, np.float32))
    out = F.conv2d(x, kernel, bias, strides, padding, dilation_rate)
    # the same shape, predicted without running anything
    assert out.shape[1:3] == tc.conv_output_shape(x.shape[1:3], kernel_size, strides, padding,
                                                   dilation_rate)
    pads = shapes.standardize_padding(padding)
    pads_h, pads_w = (pads, pads) if isinstance(pads, str) else pads
    params = kh * kw * c_in * filters + filters
    macs = out.shape[1] * out.shape[2] * kh * kw * c_in * filters
    _report(title, x, out, [
        f"height: {shapes.explain_output_size(x.shape[1], kh, sh, pads_h, dh)}",
        f"width:  {shapes.explain_output_size(x.shape[2], kw, sw, pads_w, dw)}",
        f"params: {kh}·{kw}·{c_in}·{filters} weights + {filters} biases = {params:,}",
        f"cost:   {out.shape[1]}·{out.shape[2]}·{kh}·{kw}·{c_in}·{filters} = {macs:,} "
        f"multiply-accumulates per image",
    ])
    return out


def pool_step(x, title, pool_size=2, strides=None, padding="valid"):
    k = _pair(pool_size)
    s = k if strides is None else _pair(strides)
    out = F.max_pool2d(x, pool_size, strides, padding)
    assert out.shape[1:3] == tc.conv_output_shape(x.shape[1:3], pool_size, s, padding)
    _report(title, x, out, [
        f"height: {shapes.explain_output_size(x.shape[1], k[0], s[0], padding)}",
        f"width:  {shapes.explain_output_size(x.shape[2], k[1], s[1], padding)}",
        "params: 0 (pooling learns nothing; channels pass through unchanged)",
    ])
    return out


def _report(title, x, out, lines):
    print(f"{title}\n  {_hwc(x)}  →  {_hwc(out)}")
    for line in lines:
        print(f"    {line}")
    print()


def _hwc(t):
    return "×".join(str(n) for n in t.shape[1:])


def main(argv=None):
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                            epilog="It takes no options: it prints every shape with its "
                                   "formula.").parse_args(argv)
    image = Tensor(rng.random((1, 28, 28, 1), dtype=np.float32))  # one grey 28×28 image
    print(f"input image: {_hwc(image)} (height × width × channels, channels_last)\n")

    print("— stride 1 with 'same' padding keeps the size —\n")
    features = conv_step(image, "Conv2D(10, 3, strides=1, padding='same')", 10, 3, 1, "same")
    conv_step(image, "Conv2D(16, 2, strides=1, padding='same')  ← the seed: even kernel, "
              "the odd pad pixel goes bottom/right", 16, 2, 1, "same")

    print("— 'valid' padding, strides and dilation shrink it —\n")
    conv_step(image, "Conv2D(10, 3, padding='valid')", 10, 3)
    conv_step(image, "Conv2D(10, 3, strides=2, padding='same')", 10, 3, 2, "same")
    conv_step(image, "Conv2D(10, 3, strides=2, padding='valid')", 10, 3, 2, "valid")
    conv_step(image, "Conv2D(10, 3, dilation_rate=2): a 3×3 kernel spread over 5×5", 10, 3,
              dilation_rate=2)
    conv_step(image, "Conv2D(10, 5, strides=(1, 2), padding=((0, 1), (2, 2))): explicit pads",
              10, 5, (1, 2), ((0, 1), (2, 2)))

    print("— 2×2 pooling halves the image and cuts the cost of what follows —\n")
    pooled = pool_step(features, "MaxPooling2D(2) after the 28×28×10 conv")
    pool_step(features, "MaxPooling2D(3, strides=2, padding='same'): overlapping windows", 3, 2,
              "same")
    without = conv_step(features, "Conv2D(20, 3, padding='same') WITHOUT pooling first", 20, 3,
                        1, "same")
    with_pool = conv_step(pooled, "Conv2D(20, 3, padding='same') after pooling", 20, 3, 1,
                          "same")
    ratio = (without.shape[1] * without.shape[2]) / (with_pool.shape[1] * with_pool.shape[2])
    print(f"pooling first makes the next conv {ratio:.0f}× cheaper (same parameters: the kernel "
          f"does not depend on the image size)")


if __name__ == "__main__":
    main()
