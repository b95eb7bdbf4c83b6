"""Layer: the base every Keras-style layer (and ``Sequential``) stands on.

A layer is built lazily: ``build(input_shape)`` creates its weights the first time it sees
an input, or as soon as it is constructed when ``input_shape=`` is given (the base class
does that, so no layer repeats it). Shapes here leave out the batch axis, except the
batch shapes that ``check_input_shape`` takes.

What a layer accepts is declared once, as an ``InputSpec`` (Keras' idea): the rank and,
once built, the sizes of fixed axes. ``check_input_shape`` checks it before ``call`` runs,
and names the fix for a batch that lacks an axis or holds channels-first images.

After a recorded call, the layer tags the op nodes that call created (``Function.layer``),
so viz can draw one cluster per layer; nothing is tagged when nothing is recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..checks import check_bool, is_int
from ..tensor import Tensor, _creation_counter
from . import initializers
from .summary import print_summary


def _snake_case(class_name: str) -> str:
    """Keras' default layer names: Conv2D → conv2d, MaxPooling2D → max_pooling2d."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def as_input(x, who: str) -> Tensor:
    """What layers and models are called on: a Tensor, or an ndarray wrapped in one."""
    if isinstance(x, np.ndarray):
        return Tensor(x)
    if not isinstance(x, Tensor):
        raise TypeError(f"{who} must be called on a Tensor or ndarray; got {type(x).__name__}")
    return x


def check_shape(input_shape, arg: str = "input_shape") -> tuple:
    """A shape without the batch axis: a tuple of positive ints."""
    if not isinstance(input_shape, (tuple, list)) or not all(
            is_int(n) and n > 0 for n in input_shape):
        raise ValueError(f"{arg} must be a tuple of positive ints without the batch dimension, "
                         f"e.g. (28, 28, 1); got {input_shape!r}")
    return tuple(int(n) for n in input_shape)


def _batch_shape(shape) -> str:
    return f"(batch, {', '.join(map(str, shape))})"


def _claim_ops(layer: Layer, output: Tensor, since: int) -> None:
    """Tag with ``layer`` the recorded ops of its call (those whose output is numbered
    ``since`` or later) that no inner layer has tagged: inner calls end first, so each op
    belongs to the innermost layer that ran it."""
    stack, seen = [output], set()
    while stack:
        t = stack.pop()
        ctx = t._ctx
        if ctx is None or t._id < since or id(t) in seen:
            continue
        seen.add(id(t))
        if ctx.layer is None:
            ctx.layer = layer
        stack.extend(ctx.parents)


def _fix(expected: tuple, got: tuple) -> str:
    """The code that makes a batch of shape ``got`` fit ``expected`` (no batch axis; None
    matches any size), or '': a missing channel axis, a missing batch axis, channels-first
    images. A fix is named only when the batch it gives fits. ``got[0]`` is None when
    ``build`` checks a shape: there is no batch that could lack its axis."""

    def fits(shape: tuple) -> bool:
        return len(shape) == len(expected) and all(e in (None, n) for e, n in zip(expected, shape))

    if fits((*got[1:], 1)):
        return "add the channel axis with x[..., None]"
    if got[0] is not None and fits(got):
        return "add the batch axis with x[None]"
    if len(got) == 4 and fits((got[2], got[3], got[1])):
        return (f"it looks channels-first (N, C, H, W) = {got}, but images here are "
                f"channels_last (N, H, W, C); move the channels last with "
                f"x.transpose(0, 2, 3, 1)")
    return ""


@dataclass
class InputSpec:
    """What a layer accepts, batch axis excluded (Keras' ``InputSpec``).

    Attributes:
        rank: the exact rank, or None for any rank >= ``min_rank``.
        min_rank: the least rank when ``rank`` is None.
        axes_label: what the axes are, for messages ("height, width, channels").
        sizes: axis → required size, filled in by ``build`` (e.g. {-1: 32} channels).
        size_label: what the last axis counts ("input channels", "input features").
        hint: advice added when a size does not match ("add a Flatten layer before it?").
    """

    rank: int | None = None
    min_rank: int = 0
    axes_label: str = "..."
    sizes: dict[int, int] = field(default_factory=dict)
    size_label: str = "values"
    hint: str = ""

    def shape(self) -> tuple | None:
        """The accepted shape with None for any size, when the rank is fixed (else None)."""
        if self.rank is None:
            return None
        shape = [None] * self.rank
        for axis, size in self.sizes.items():
            shape[axis] = size
        return tuple(shape)

    def problem(self, input_shape: tuple) -> str:
        """Why an input of ``input_shape`` (no batch axis) is refused, or ''."""
        if self.rank is not None and len(input_shape) != self.rank:
            return (f"expects inputs of rank {self.rank + 1} (batch, {self.axes_label}); got "
                    f"an input of shape {_batch_shape(input_shape)}")
        if len(input_shape) < self.min_rank:
            return (f"expects inputs of shape (batch, {self.axes_label}); got an input of "
                    f"shape {_batch_shape(input_shape)}")
        for axis, size in self.sizes.items():
            if input_shape[axis] != size:
                hint = f" ({self.hint})" if self.hint and len(input_shape) > 1 else ""
                return (f"was built for {size} {self.size_label} but got an input of shape "
                        f"{_batch_shape(input_shape)}{hint}")
        return ""


class _BuildWhenShapeKnown(type):
    """After ``__init__`` finishes (the subclass's, which sets the hyper-parameters ``build``
    needs), a layer given ``input_shape=`` is built at once: its weights exist and a shape it
    cannot take is refused on the line that gave it, in a Sequential or not."""

    def __call__(cls, *args, **kwargs):
        layer = super().__call__(*args, **kwargs)
        if layer.input_shape is not None and not layer.built:
            layer.build(layer.input_shape)
        return layer


class Layer(metaclass=_BuildWhenShapeKnown):
    """Base class. Subclasses define ``call(x, training)`` and, when they change the shape,
    ``compute_output_shape``; layers with weights define ``build`` and ``macs``.

    Args:
        name: unique within a model; by default the snake_case class name, numbered by
            the model (``conv2d``, ``conv2d_1``, …).
        input_shape: shape without the batch axis; builds the layer at once.
        dtype: the weights' float dtype.
    """

    input_spec = InputSpec()  # subclasses declare theirs; each instance gets a copy
    kind = "layer"  # what messages call it ("model" for Sequential)
    registry: dict[str, type] = {}  # class name → class, for nn.load_model (ours only)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("tinygrad_cnn."):
            Layer.registry[cls.__name__] = cls

    def __init__(self, name: str | None = None, input_shape=None, dtype="float32"):
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty string; got {name!r}")
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"dtype must be a float dtype such as 'float32'; got {dtype!r}") \
                from None
        if self.dtype.kind != "f":
            raise ValueError(f"dtype must be a float dtype ('float32' or 'float64'); got "
                             f"{dtype!r}")
        self.base_name = _snake_case(type(self).__name__)
        self._name = name or self.base_name
        self.name_given = name is not None
        self._weights: dict[str, Tensor] = {}
        self._always_frozen: set[str] = set()  # weights created non-trainable (moving stats)
        self._trainable = True
        self.input_spec = InputSpec(**vars(type(self).input_spec))
        self.input_shape = None if input_shape is None else check_shape(input_shape)
        self.built = False
        self.model = None  # the Sequential this layer belongs to, once added
        self._training = True

    # ---------------------------------------------------------------- names
    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value
        for weight_name, tensor in self._weights.items():
            tensor.name = f"{value}.{weight_name}"

    # ---------------------------------------------------------------- children and mode
    @property
    def layers(self) -> list[Layer]:
        """Direct sub-layers (none for a plain layer; a model's layers)."""
        return []

    @property
    def training(self) -> bool:
        return self._training

    @training.setter
    def training(self, value: bool) -> None:
        self._training = check_bool(value, "training")
        for layer in self.layers:
            layer.training = value

    def train(self) -> Layer:
        """Training mode: Dropout is active."""
        self.training = True
        return self

    def eval(self) -> Layer:
        """Inference mode: Dropout passes values through."""
        self.training = False
        return self

    # ---------------------------------------------------------------- weights
    def add_weight(self, weight_name: str, shape: tuple, initializer,
                   trainable: bool = True) -> Tensor:
        """A new weight, initialized by name ('zeros', 'glorot_uniform', …) or a callable
        ``f(shape, dtype)``; ``trainable=False`` keeps it out of the optimizer for good."""
        values = initializers.get(initializer)(shape, self.dtype)
        arg = f"{weight_name}_initializer"  # kernel_initializer, bias_initializer
        if not isinstance(values, np.ndarray):
            raise TypeError(f"layer '{self.name}': {arg} must return an ndarray of shape "
                            f"{tuple(shape)}; got {type(values).__name__} {values!r:.60}")
        if values.shape != tuple(shape):
            raise ValueError(f"layer '{self.name}': {arg} returned shape {values.shape} for "
                             f"{weight_name}; expected {tuple(shape)}")
        if not check_bool(trainable, "trainable"):
            self._always_frozen.add(weight_name)
        tensor = Tensor(values.astype(self.dtype, copy=False),
                        requires_grad=self._trains(weight_name),
                        name=f"{self.name}.{weight_name}")
        self._weights[weight_name] = tensor
        return tensor

    def _trains(self, weight_name: str) -> bool:
        return self._trainable and weight_name not in self._always_frozen

    @property
    def trainable(self) -> bool:
        """False freezes the layer (and its sub-layers): its weights get no gradient, the
        optimizer built by ``compile`` skips them and the summary counts them non-trainable."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = check_bool(value, "trainable")
        for weight_name, tensor in self._weights.items():
            tensor.requires_grad = self._trains(weight_name)
            tensor.grad = None
        for layer in self.layers:
            layer.trainable = value

    @property
    def weights(self) -> list[Tensor]:
        """Every weight of this layer and its sub-layers, each layer's in creation order."""
        return list(self._weights.values()) + [w for layer in self.layers
                                               for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Tensor]:
        """The weights an optimizer updates (``weights`` minus the non-trainable ones)."""
        return [w for w in self.weights if w.requires_grad]

    @property
    def non_trainable_weights(self) -> list[Tensor]:
        """Frozen layers' weights and BatchNormalization's moving statistics."""
        return [w for w in self.weights if not w.requires_grad]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight, in ``weights`` order (Keras' order, layer by layer)."""
        return [w.data.copy() for w in self.weights]

    def set_weights(self, weights) -> None:
        """Assign arrays in ``weights`` order; count and shapes are checked before anything
        changes, so a mismatch (ValueError) leaves the layer as it was."""
        if isinstance(weights, np.ndarray) or not isinstance(weights, (list, tuple)):
            raise TypeError(f"set_weights takes a list of arrays (as get_weights returns); got "
                            f"{type(weights).__name__}")
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f"set_weights: {self.kind} '{self.name}' has {len(own)} weights "
                             f"({', '.join(w.name for w in own) or 'none'}) but got "
                             f"{len(weights)} arrays")
        arrays = []
        for i, (tensor, value) in enumerate(zip(own, weights)):
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            if value.shape != tensor.shape:
                raise ValueError(f"set_weights: array {i} has shape {value.shape} but "
                                 f"{tensor.name} has shape {tensor.shape}")
            if value.dtype.kind not in "fiu":
                raise ValueError(f"set_weights: array {i} has dtype {value.dtype}; expected "
                                 f"numbers")
            arrays.append(value)
        for tensor, value in zip(own, arrays):
            tensor.data = value.astype(tensor.dtype)  # a copy: no aliasing of the caller's
            tensor.grad = None

    def named_weights(self) -> dict[str, Tensor]:
        """Weights keyed ``layer_name.weight_name``; a sub-model's keys get its name first."""
        named = {f"{self.name}.{w}": t for w, t in self._weights.items()}
        for layer in self.layers:
            named.update({f"{self.name}.{key}": t for key, t in layer.named_weights().items()})
        return named

    def parameters(self) -> list[Tensor]:
        """The trainable weights (PyTorch's name for ``trainable_weights``)."""
        return self.trainable_weights

    def count_params(self) -> int:
        return sum(t.size for t in self.weights)

    def build(self, input_shape: tuple) -> None:
        """Create weights for inputs of ``input_shape`` (no batch axis)."""
        self.check_input_shape((None, *input_shape))
        self.input_shape = tuple(input_shape)
        self.built = True

    def _require_built(self, what: str) -> None:
        if not self.built:
            how = ("give the first layer input_shape=(height, width, channels), or call the "
                   "model on a batch once" if self.kind == "model" else
                   "give it input_shape=(...) without the batch axis, or call it on a batch once")
            raise ValueError(f"{what} needs a built {self.kind}, and this one is not built yet: "
                             f"{how}")

    # ---------------------------------------------------------------- shapes and cost
    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def layer_shapes(self, input_shape=None) -> list[tuple[Layer, tuple, tuple]]:
        """(layer, input shape, output shape) per row of the summary, without the batch
        axis: a plain layer is its own one row (a model has one per layer)."""
        if input_shape is None:
            self._require_built("layer_shapes()")
            input_shape = self.input_shape
        return [(self, tuple(input_shape), self.compute_output_shape(input_shape))]

    def macs(self, input_shape: tuple) -> int:
        """Multiply-accumulates per example in the forward pass (0 for shape-only layers)."""
        return 0

    def explain(self, input_shape: tuple) -> list[str]:
        """The formulas behind this layer's output shape, parameters and MACs."""
        return []

    def summary(self, print_fn=print, explain: bool = False) -> None:
        """Print a table: layer, output shape, parameters and MACs per example (a model's
        row by row); ``explain=True`` adds the formulas behind the numbers. ``print_fn``
        receives the whole table as one string (Keras passes lines; both work with ``print``
        and ``list.append``)."""
        self._require_built("summary()")
        print_summary(self, print_fn, explain)

    # ---------------------------------------------------------------- calling
    def __call__(self, x, training: bool | None = None) -> Tensor:
        """Run the layer; ``training`` (True/False) overrides the layer's mode for this call."""
        x = as_input(x, f"{self.kind} '{self.name}'")
        training = self.training if training is None else check_bool(training, "training")
        if x.ndim < 1:
            raise ValueError(f"layer '{self.name}' needs a batch axis; got a scalar")
        self.check_input_shape(x.shape)
        if not self.built:
            self.build(x.shape[1:])
        if x.dtype != self.dtype and (x.dtype.kind != "f" or self.casts_floats):
            x = x.astype(self.dtype)  # Keras' autocasting: uint8 images, float64 arrays
        since = next(_creation_counter)  # every tensor this call makes is numbered later
        y = self.call(x, training)
        if getattr(y, "_ctx", None) is not None:  # recorded, so viz may draw it
            _claim_ops(self, y, since)
        return y

    def check_input_shape(self, shape: tuple, arg: str = "the input",
                          exact: bool = False) -> None:
        """Raise ValueError, naming the fix for a missing channel or batch axis or for
        channels-first images, when a batch of ``shape`` (batch axis first) does not fit the
        ``input_spec`` or, for a built model, the ``input_shape`` it was built for. A model's
        call lets other sizes through to its layers (a convolution takes any image size);
        ``exact=True`` (fit, evaluate, predict) refuses them. ``arg`` names the data."""
        shape = tuple(shape)
        problem = self.input_spec.problem(shape[1:])
        if problem:
            expected = self.input_spec.shape()
            fix = _fix(expected, shape) if expected is not None else ""
            raise ValueError(f"layer '{self.name}' ({type(self).__name__}) {problem}"
                             + (f"; {fix}" if fix else ""))
        if self.kind == "model" and self.built and shape[1:] != self.input_shape:
            fix = _fix(self.input_shape, shape)
            if fix or exact:
                raise ValueError(f"{arg} has shape {shape} but model '{self.name}' expects "
                                 f"{(None, *self.input_shape)}" + (f": {fix}" if fix else ""))

    @property
    def casts_floats(self) -> bool:
        """Whether float inputs of another precision are cast to ``dtype`` (integer inputs
        always are): layers with weights compute in their weights' dtype."""
        return bool(self._weights)

    def call(self, x: Tensor, training: bool) -> Tensor:
        raise NotImplementedError

    # ---------------------------------------------------------------- config
    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (JSON-ready), as in Keras."""
        config = {"name": self.name, "dtype": str(self.dtype)}
        if not self._trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Layer:
        """The layer ``get_config`` describes (``custom_objects``: for models' sub-layers)."""
        config = dict(config)
        trainable = config.pop("trainable", True)
        layer = cls(**config)
        layer.trainable = trainable
        return layer

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
