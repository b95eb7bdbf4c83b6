"""Gradients of gradients: a Hessian-vector product, a gradient penalty, Newton's method.

    python examples/higher_order.py

``tc.grad(..., create_graph=True)`` records the gradient computation itself, so the
gradient is a Tensor you can differentiate again. Each result is checked here against
finite differences of first-order gradients (``tests/test_examples.py`` runs them too).
"""

from __future__ import annotations

import numpy as np

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn
from tinygrad_cnn import functional as F


def f(x: Tensor) -> Tensor:
    """A smooth function of a vector: Σ x⁴/4 + x₀·x₁·x₂ + Σ x²."""
    return (x ** 4).sum() / 4 + x[0] * x[1] * x[2] + (x * x).sum()


def hessian_vector_product(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """H(x)·v without ever forming H: the gradient of <∇f(x), v>."""
    x = Tensor(x, requires_grad=True)
    (g,) = tc.grad(f(x), [x], create_graph=True)   # ∇f, itself recorded
    (hv,) = tc.grad((g * v).sum(), [x])             # ∇<∇f, v> = H·v
    return hv.data


def hvp_by_differences(x: np.ndarray, v: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    def gradient(at):
        t = Tensor(at, requires_grad=True)
        return tc.grad(f(t), [t])[0].data
    return (gradient(x + eps * v) - gradient(x - eps * v)) / (2 * eps)


def small_convnet() -> nn.Sequential:
    tc.manual_seed(0)
    return nn.Sequential([
        nn.Conv2D(4, 3, padding="same", activation="tanh", input_shape=(6, 6, 1),
                  dtype="float64"),
        nn.AveragePooling2D(2),
        nn.Flatten(),
        nn.Dense(3, dtype="float64"),
    ])


def gradient_penalty(model, images: np.ndarray, labels: np.ndarray):
    """‖∂loss/∂x‖², the input-gradient penalty of WGAN-GP and of robustness training."""
    x = Tensor(images, requires_grad=True)
    loss = F.cross_entropy(model(x), labels)
    (dx,) = tc.grad(loss, [x], create_graph=True)
    return (dx * dx).sum()


def penalty_gradient_check(model, images, labels, eps: float = 1e-6):
    """d penalty / d(one kernel weight): by tc.grad, and by differences of the penalty."""
    kernel = model[0].kernel
    (analytic,) = tc.grad(gradient_penalty(model, images, labels), [kernel])
    index = (1, 2, 0, 3)
    original = kernel.data[index]
    values = []
    for step in (eps, -eps):
        kernel.data[index] = original + step
        values.append(gradient_penalty(model, images, labels).item())
    kernel.data[index] = original
    return analytic.data[index], (values[0] - values[1]) / (2 * eps)


def g(x: Tensor) -> Tensor:
    """A 1-D function with a minimum near x = 1.13: x⁴ − 3x² + x."""
    return x ** 4 - 3 * x ** 2 + x


def newton(x0: float, steps: int = 8) -> list[float]:
    """Newton's method on g' = 0: x ← x − g'(x)/g''(x), both derivatives from tc.grad."""
    xs = [x0]
    for _ in range(steps):
        x = Tensor(np.array(xs[-1]), requires_grad=True)
        (d1,) = tc.grad(g(x), [x], create_graph=True)
        (d2,) = tc.grad(d1, [x])
        xs.append(xs[-1] - d1.item() / d2.item())
    return xs


def main() -> None:
    rng = np.random.default_rng(0)
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    hv, reference = hessian_vector_product(x, v), hvp_by_differences(x, v)
    print("1. Hessian-vector product of f at a random x")
    print(f"   tc.grad twice:          {np.array2string(hv, precision=6)}")
    print(f"   finite differences:     {np.array2string(reference, precision=6)}")
    print(f"   largest difference:     {np.abs(hv - reference).max():.2e}")

    model = small_convnet()
    images, labels = rng.random((2, 6, 6, 1)), np.array([0, 2])
    penalty = gradient_penalty(model, images, labels)
    analytic, numeric = penalty_gradient_check(model, images, labels)
    print("\n2. Gradient penalty ‖∂loss/∂x‖² through a small convnet, differentiated with "
          "respect to the weights")
    print(f"   penalty:                {penalty.item():.6g}")
    print(f"   d penalty/d conv2d.kernel[1, 2, 0, 3]: tc.grad {analytic:.8g}, "
          f"finite differences {numeric:.8g}")

    xs = newton(2.0)
    print("\n3. Newton's method on g(x) = x⁴ − 3x² + x, from x = 2")
    for i, value in enumerate(xs):
        print(f"   step {i}: x = {value:.12f}")
    x_star = Tensor(np.array(xs[-1]), requires_grad=True)
    (slope,) = tc.grad(g(x_star), [x_star])
    print(f"   g'(x) at the end: {slope.item():.2e}")


if __name__ == "__main__":
    main()
