"""Fit a tiny two-layer network to y = sin(x) and watch the loss fall.

Run: python examples/quickstart.py
"""

import argparse

import numpy as np

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn


def main(steps: int = 300) -> None:
    tc.manual_seed(0)
    x = np.linspace(-3, 3, 128, dtype=np.float32)[:, None]
    y = np.sin(x)
    model = nn.Sequential([nn.Dense(32, activation="tanh", input_shape=(1,)), nn.Dense(1)])
    model.summary()
    opt = tc.optim.Adam(model.parameters(), lr=0.01)
    for step in range(steps + 1):
        loss = tc.losses.mse(model(Tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            print(f"step {step:3d}  mse {loss.item():.5f}")
    # every gradient of this model is also checked numerically (float64 copy of the layer)
    w = Tensor(model.layers[0].kernel.data.astype(np.float64), requires_grad=True)
    ok = tc.gradcheck(lambda w: (Tensor(x[:4].astype(np.float64)) @ w).tanh().sum(), [w])
    print(f"gradcheck of the first layer: {ok}")


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0],
                            epilog="It takes no options.").parse_args()
    main()
