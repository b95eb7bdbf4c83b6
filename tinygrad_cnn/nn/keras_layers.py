"""Sequential models in Keras 3's ``config.json`` form, both ways.

Writing turns each layer's ``get_config()`` into the config Keras itself writes for the
same layer (every key Keras 3.15 writes, in its order), inside Keras' envelope
``{"module", "class_name", "config", "registered_name", "build_config"}``, with an
``InputLayer`` first as Keras puts one. Reading does the reverse through the ``LAYERS``
table only: a class the table lacks (an LSTM, a Lambda, a custom layer) or an option the
library cannot compute (``data_format="channels_first"``, a regularizer) raises ValueError
naming the layer and what is supported. Nothing named in a file is imported or run.
"""

from __future__ import annotations

from ..checks import is_int
from . import keras_values as kv
from .conv import Conv2D
from .core import Activation, Dense, Dropout, Flatten, LeakyReLU, ReLU, Softmax
from .layer import Layer
from .normalization import BatchNormalization
from .pooling import (
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
)
from .reshaping import Reshape, ZeroPadding2D

# the layers whose entry Keras 3.15 gives a "build_config" (the others have no build step)
BUILD_CONFIG = {"Conv2D", "Dense", "BatchNormalization", "Flatten", "ZeroPadding2D",
                "Sequential"}
_NO_REGULARIZERS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer",
                    "kernel_constraint", "bias_constraint")


def _where(name, class_name: str) -> str:
    return f"layer {name!r} ({class_name})"


# ------------------------------------------------------------ this library → Keras
def _kernel_bias_to(c: dict, where: str) -> dict:
    return {"activation": kv.activation_to_keras(c["activation"], where),
            "use_bias": c["use_bias"],
            "kernel_initializer": kv.initializer_to_keras(c["kernel_initializer"], where),
            "bias_initializer": kv.initializer_to_keras(c["bias_initializer"], where)}


def _conv2d_to(c: dict, where: str) -> dict:
    if not isinstance(c["padding"], str):
        raise ValueError(f"{where}: padding={c['padding']!r} cannot be written for Keras, "
                         f"whose Conv2D takes only 'valid' or 'same'; put a "
                         f"ZeroPadding2D({c['padding']!r}) before a padding='valid' Conv2D")
    return {"filters": c["filters"], "kernel_size": list(c["kernel_size"]),
            "strides": list(c["strides"]), "padding": c["padding"],
            "data_format": "channels_last", "dilation_rate": list(c["dilation_rate"]),
            "groups": 1, **_kernel_bias_to(c, where),
            **dict.fromkeys(_NO_REGULARIZERS)}


def _dense_to(c: dict, where: str) -> dict:
    return {"units": c["units"], **_kernel_bias_to(c, where),
            "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
            "bias_constraint": None, "quantization_config": None}


def _batch_normalization_to(c: dict, where: str) -> dict:
    inits = {"beta_initializer": "zeros", "gamma_initializer": "ones",
             "moving_mean_initializer": "zeros", "moving_variance_initializer": "ones"}
    return {"axis": c["axis"], "momentum": c["momentum"], "epsilon": c["epsilon"],
            "center": c["center"], "scale": c["scale"],
            **{k: kv.initializer_to_keras(v, where) for k, v in inits.items()},
            "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
            "gamma_constraint": None, "synchronized": False, "renorm": False,
            "renorm_clipping": None, "renorm_momentum": 0.99}


def _pooling_to(c: dict, where: str) -> dict:
    return {"pool_size": list(c["pool_size"]), "padding": c["padding"],
            "strides": list(c["strides"]), "data_format": "channels_last"}


def _global_pooling_to(c: dict, where: str) -> dict:
    return {"data_format": "channels_last", "keepdims": False}


def _flatten_to(c: dict, where: str) -> dict:
    return {"data_format": "channels_last"}


def _dropout_to(c: dict, where: str) -> dict:
    return {"rate": c["rate"], "seed": None, "noise_shape": None}


def _activation_to(c: dict, where: str) -> dict:
    return {"activation": kv.activation_to_keras(c["activation"], where)}


def _relu_to(c: dict, where: str) -> dict:
    return {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}


def _leaky_relu_to(c: dict, where: str) -> dict:
    return {"negative_slope": c["negative_slope"]}


def _softmax_to(c: dict, where: str) -> dict:
    axis = c["axis"]
    return {"axis": list(axis) if isinstance(axis, tuple) else axis}


def _reshape_to(c: dict, where: str) -> dict:
    return {"target_shape": list(c["target_shape"])}


def _zero_padding_to(c: dict, where: str) -> dict:
    return {"padding": [list(p) for p in c["padding"]], "data_format": "channels_last"}


# ------------------------------------------------------------ Keras → this library
def _tuple(value):
    return tuple(_tuple(v) for v in value) if isinstance(value, list) else value


def _kernel_bias_from(r: kv.KerasConfig) -> dict:
    r.absent(*_NO_REGULARIZERS)
    return {"activation": kv.read_activation(r.take("activation"), r.where),
            "use_bias": r.take("use_bias", True),
            "kernel_initializer": kv.read_initializer(
                r.take("kernel_initializer", "glorot_uniform"), r.where, "kernel_initializer"),
            "bias_initializer": kv.read_initializer(
                r.take("bias_initializer", "zeros"), r.where, "bias_initializer")}


def _conv2d_from(r: kv.KerasConfig) -> dict:
    r.neutral("data_format", "channels_last")
    r.neutral("groups", 1)
    return {"filters": r.require("filters"), "kernel_size": _tuple(r.require("kernel_size")),
            "strides": _tuple(r.take("strides", 1)), "padding": r.take("padding", "valid"),
            "dilation_rate": _tuple(r.take("dilation_rate", 1)), **_kernel_bias_from(r)}


def _dense_from(r: kv.KerasConfig) -> dict:
    r.absent("lora_rank", "quantization_config")
    return {"units": r.require("units"), **_kernel_bias_from(r)}


def _batch_normalization_from(r: kv.KerasConfig) -> dict:
    for key, name in (("beta_initializer", "zeros"), ("gamma_initializer", "ones"),
                      ("moving_mean_initializer", "zeros"),
                      ("moving_variance_initializer", "ones")):
        if kv.read_initializer(r.take(key, name), r.where, key) != name:
            raise ValueError(f"{r.where}: {key} other than {name!r} cannot be translated; "
                             f"tinygrad_cnn's BatchNormalization starts it at {name}")
    r.absent("beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint",
             "renorm_clipping")
    r.neutral("synchronized", False)
    r.neutral("renorm", False)
    r.take("renorm_momentum")  # used only with renorm
    axis = r.take("axis", -1)
    if isinstance(axis, list) and len(axis) == 1:
        axis = axis[0]
    return {"axis": axis, "momentum": r.take("momentum", 0.99),
            "epsilon": r.take("epsilon", 1e-3), "center": r.take("center", True),
            "scale": r.take("scale", True)}


def _pooling_from(r: kv.KerasConfig) -> dict:
    r.neutral("data_format", "channels_last")
    return {"pool_size": _tuple(r.take("pool_size", 2)), "strides": _tuple(r.take("strides")),
            "padding": r.take("padding", "valid")}


def _global_pooling_from(r: kv.KerasConfig) -> dict:
    r.neutral("data_format", "channels_last")
    r.neutral("keepdims", False)
    return {}


def _flatten_from(r: kv.KerasConfig) -> dict:
    r.neutral("data_format", "channels_last")  # channels_first would reorder the values
    return {}


def _dropout_from(r: kv.KerasConfig) -> dict:
    r.take("seed")  # the library's generator (tc.manual_seed) draws the masks
    r.absent("noise_shape")
    return {"rate": r.require("rate")}


def _activation_from(r: kv.KerasConfig) -> dict:
    return {"activation": kv.read_activation(r.require("activation"), r.where) or "linear"}


def _relu_from(r: kv.KerasConfig) -> dict:
    r.neutral("max_value", None)
    r.neutral("negative_slope", 0.0)
    r.neutral("threshold", 0.0)
    return {}


def _leaky_relu_from(r: kv.KerasConfig) -> dict:
    return {"negative_slope": r.take("negative_slope", r.take("alpha", 0.3))}


def _softmax_from(r: kv.KerasConfig) -> dict:
    return {"axis": _tuple(r.take("axis", -1))}


def _reshape_from(r: kv.KerasConfig) -> dict:
    return {"target_shape": _tuple(r.require("target_shape"))}


def _zero_padding_from(r: kv.KerasConfig) -> dict:
    r.neutral("data_format", "channels_last")
    return {"padding": _tuple(r.take("padding", 1))}


# Keras class name → (this library's class, to Keras, from Keras): both directions of
# every layer both have, side by side
LAYERS = {
    "Conv2D": (Conv2D, _conv2d_to, _conv2d_from),
    "Dense": (Dense, _dense_to, _dense_from),
    "BatchNormalization": (BatchNormalization, _batch_normalization_to,
                           _batch_normalization_from),
    "MaxPooling2D": (MaxPooling2D, _pooling_to, _pooling_from),
    "AveragePooling2D": (AveragePooling2D, _pooling_to, _pooling_from),
    "GlobalAveragePooling2D": (GlobalAveragePooling2D, _global_pooling_to,
                               _global_pooling_from),
    "GlobalMaxPooling2D": (GlobalMaxPooling2D, _global_pooling_to, _global_pooling_from),
    "Flatten": (Flatten, _flatten_to, _flatten_from),
    "Dropout": (Dropout, _dropout_to, _dropout_from),
    "Activation": (Activation, _activation_to, _activation_from),
    "ReLU": (ReLU, _relu_to, _relu_from),
    "LeakyReLU": (LeakyReLU, _leaky_relu_to, _leaky_relu_from),
    "Softmax": (Softmax, _softmax_to, _softmax_from),
    "Reshape": (Reshape, _reshape_to, _reshape_from),
    "ZeroPadding2D": (ZeroPadding2D, _zero_padding_to, _zero_padding_from),
}
SUPPORTED = ", ".join(sorted([*LAYERS, "InputLayer", "Sequential"]))


def _sequential_class() -> type:
    # sequential.py imports saving.py, which hands .keras files to this module: the class
    # comes from the registry so that the imports keep pointing one way
    return Layer.registry["Sequential"]


# ------------------------------------------------------------------------- writing
class _Names:
    """Keras names every InputLayer of a file uniquely: input_layer, input_layer_1, …"""

    def __init__(self):
        self.count = 0

    def next_input(self) -> str:
        self.count += 1
        return "input_layer" if self.count == 1 else f"input_layer_{self.count - 1}"


def serialize_model(model) -> dict:
    """The built ``model`` as Keras' ``config.json`` describes a Sequential."""
    return _serialize(model, model.input_shape, _Names())


def _serialize(layer: Layer, input_shape: tuple, names: _Names) -> dict:
    class_name = type(layer).__name__
    where = _where(layer.name, class_name)
    sequential = _sequential_class()
    if type(layer) is sequential:
        return _serialize_sequential(layer, input_shape, names)
    if class_name not in LAYERS or LAYERS[class_name][0] is not type(layer):
        raise ValueError(f"{where}: class {type(layer).__module__}.{class_name} has no Keras "
                         f"counterpart this library can write; a .keras file can hold "
                         f"{SUPPORTED}. Save it with model.save('model.npz') instead")
    config = {"name": layer.name, "trainable": layer.trainable,
              "dtype": kv.dtype_policy(layer.dtype),
              **LAYERS[class_name][1](layer.get_config(), where)}
    entry = kv.keras_object("keras.layers", class_name, config)
    if class_name in BUILD_CONFIG:
        entry["build_config"] = {"input_shape": [None, *input_shape]}
    return entry


def _serialize_sequential(model, input_shape: tuple, names: _Names) -> dict:
    batch_shape = [None, *input_shape]
    layers = [kv.keras_object("keras.layers", "InputLayer", {
        "batch_shape": batch_shape, "dtype": str(model.dtype), "sparse": False,
        "ragged": False, "name": names.next_input(), "optional": False})]
    layers += [_serialize(layer, shape, names)
               for layer, shape, _ in model.layer_shapes(input_shape)]
    config = {"name": model.name, "trainable": model.trainable,
              "dtype": kv.dtype_policy(model.dtype), "layers": layers,
              "build_input_shape": batch_shape}
    entry = kv.keras_object("keras", "Sequential", config)
    entry["build_config"] = {"input_shape": batch_shape}
    entry["compile_config"] = {}
    return entry


# ------------------------------------------------------------------------- reading
def deserialize_model(entry) -> Layer:
    """The built Sequential a Keras ``config.json`` describes, without its weights."""
    if not isinstance(entry, dict):
        raise ValueError(f"config.json must hold a JSON object; got {entry!r:.80}")
    model, input_shape = _deserialize_sequential(entry)
    if input_shape is None:
        raise ValueError(f"model {model.name!r} was saved unbuilt (its config has no "
                         f"input shape), so its layers hold no weights to load")
    model.build(input_shape)
    return model


def _check_builtin(entry, where: str) -> str:
    """The Keras class name of ``entry``, refusing anything not one of Keras' own."""
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ValueError(f"{where}: a layer entry must be a JSON object with a class_name; "
                         f"got {entry!r:.80}")
    class_name, module = entry["class_name"], entry.get("module")
    registered = entry.get("registered_name")
    config = entry.get("config")
    where = _where(config.get("name") if isinstance(config, dict) else None, class_name)
    if class_name == "Lambda":
        raise ValueError(f"{where}: a Lambda layer holds Python code, which tinygrad_cnn "
                         f"never runs from a file; supported layers: {SUPPORTED}")
    if module not in ("keras", "keras.layers", "keras.models") or registered not in (
            None, class_name):
        raise ValueError(f"{where}: class {class_name!r} from module {module!r} (registered "
                         f"as {registered!r}) is not a Keras built-in layer; tinygrad_cnn "
                         f"never imports code from a file and reads only: {SUPPORTED}")
    if class_name not in LAYERS and class_name not in ("InputLayer", "Sequential"):
        what = ("a Functional model (only Sequential models translate)"
                if class_name in ("Functional", "Model") else "a layer tinygrad_cnn lacks")
        raise ValueError(f"{where}: Keras' {class_name} is {what}; supported: {SUPPORTED}")
    return class_name


def _input_shape(batch_shape, where: str) -> tuple:
    if (not isinstance(batch_shape, list) or len(batch_shape) < 2
            or not all(is_int(n) and n > 0 for n in batch_shape[1:])):
        raise ValueError(f"{where}: input shape {batch_shape!r:.80} cannot be translated; "
                         f"tinygrad_cnn builds a model for one known input size, so every "
                         f"axis but the batch needs a size")
    return tuple(batch_shape[1:])


def _deserialize(entry) -> Layer:
    class_name = _check_builtin(entry, "config.json")
    if class_name == "Sequential":
        return _deserialize_sequential(entry)[0]
    if class_name == "InputLayer":
        raise ValueError("config.json: an InputLayer may only be a Sequential's first entry")
    r = kv.KerasConfig(entry.get("config"), _where(None, class_name))
    name = r.require("name")
    r.where = _where(name, class_name)
    trainable = r.take("trainable", True)
    dtype = kv.read_dtype(r.take("dtype"), r.where)
    cls, _, read = LAYERS[class_name]
    kwargs = read(r)
    r.finish()
    try:  # a value of the wrong kind (filters "4"): the layer's own message, placed
        layer = cls(**kwargs, name=name, dtype=dtype)
        layer.trainable = trainable
    except TypeError as exc:
        raise ValueError(f"{r.where}: {exc}") from None
    return layer


def _deserialize_sequential(entry) -> tuple[Layer, tuple | None]:
    """A Sequential and its input shape (from its InputLayer, else its build shape)."""
    class_name = _check_builtin(entry, "config.json")
    if class_name != "Sequential":
        raise ValueError(f"config.json describes a Keras {class_name}; tinygrad_cnn opens "
                         f"Sequential models (of {SUPPORTED})")
    r = kv.KerasConfig(entry.get("config"), "model")
    name = r.require("name")
    r.where = f"model {name!r} (Sequential)"
    trainable = r.take("trainable", True)
    kv.read_dtype(r.take("dtype"), r.where)  # each layer carries its own
    entries = r.require("layers")
    build_shape = r.take("build_input_shape") or (entry.get("build_config") or {}).get(
        "input_shape")
    r.finish()
    if not isinstance(entries, list):
        raise ValueError(f"{r.where}: its layers must be a list; got {entries!r:.80}")
    input_shape = None if build_shape is None else _input_shape(build_shape, r.where)
    if entries and _check_builtin(entries[0], r.where) == "InputLayer":
        first = kv.KerasConfig(entries.pop(0).get("config"), f"{r.where}: its InputLayer")
        input_shape = _input_shape(first.take("batch_shape", first.take("batch_input_shape")),
                                   first.where)
        kv.read_dtype(first.take("dtype"), first.where)
        first.take("name")
        for key in ("sparse", "ragged", "optional"):
            first.neutral(key, False)
        first.finish()
    layers = [_deserialize(e) for e in entries]
    model = _sequential_class()(layers, name=name)
    if trainable is not True:  # True would also unfreeze the layers saved frozen
        model.trainable = trainable
    return model, input_shape
