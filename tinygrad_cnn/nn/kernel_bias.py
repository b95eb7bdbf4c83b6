"""What Conv2D and Dense share: a kernel, an optional bias and an activation after them."""

from __future__ import annotations

from ..checks import check_bool
from . import activations, initializers


class KernelBiasMixin:
    """Mixed into a ``Layer`` whose output is ``activation(x ⊛ kernel + bias)``.

    The kernel's last axis is the number of outputs, so the bias has that length.
    """

    def init_kernel_bias(self, activation, use_bias, kernel_initializer,
                         bias_initializer) -> None:
        self.activation = activations.get(activation)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel = self.bias = None
        self._given = {"activation": activation, "kernel_initializer": kernel_initializer,
                       "bias_initializer": bias_initializer}

    def kernel_bias_config(self) -> dict:
        """The shared constructor arguments, by name (ValueError for custom callables)."""
        where = f"layer '{self.name}'"
        return {"activation": activations.serialize(self._given["activation"], where),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(
                    self._given["kernel_initializer"], where),
                "bias_initializer": initializers.serialize(
                    self._given["bias_initializer"], where)}

    def build_kernel_bias(self, kernel_shape: tuple) -> None:
        self.kernel = self.add_weight("kernel", kernel_shape, self.kernel_initializer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (kernel_shape[-1],), self.bias_initializer)

    def explain_params(self) -> str:
        """``params = 3·3·1·32 + 32 = 320``: the kernel's size, plus the bias."""
        kernel = "·".join(map(str, self.kernel.shape))
        bias = f" + {self.bias.size}" if self.bias is not None else ""
        return f"params = {kernel}{bias} = {self.count_params():,}"

    def activate(self, y):
        return y if self.activation is None else self.activation(y)
