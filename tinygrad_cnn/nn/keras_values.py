"""The values inside Keras 3 layer configs, both ways: dtype policies, activations,
initializers, and the options this library has no counterpart for.

Keras writes an object as ``{"module", "class_name", "config", "registered_name"}``; this
module turns the few kinds a layer config holds into this library's names and back. Reading
only ever looks names up in the tables below: nothing named in a file is imported or run.
"""

from __future__ import annotations

from . import activations, initializers

# Keras' class for each of this library's initializer names (same fan rules and draws)
INITIALIZERS = {"zeros": "Zeros", "ones": "Ones", "glorot_uniform": "GlorotUniform",
                "glorot_normal": "GlorotNormal", "he_uniform": "HeUniform",
                "he_normal": "HeNormal", "lecun_normal": "LecunNormal"}
_SEEDED = {"GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunNormal"}
DTYPES = ("float32", "float64")


def keras_object(module: str, class_name: str, config) -> dict:
    """How Keras serializes one of its own objects (``registered_name`` None: a built-in)."""
    return {"module": module, "class_name": class_name, "config": config,
            "registered_name": None}


class KerasConfig:
    """One Keras config being read: each option is taken once, and ``finish`` refuses
    whatever is left that would change what the layer computes."""

    def __init__(self, config, where: str):
        if not isinstance(config, dict):
            raise ValueError(f"{where}: its config must be a JSON object; got {config!r:.80}")
        self.config, self.where = dict(config), where

    def take(self, key: str, default=None):
        return self.config.pop(key, default)

    def require(self, key: str):
        if key not in self.config:
            raise ValueError(f"{self.where}: its config has no {key!r}")
        return self.config.pop(key)

    def neutral(self, key: str, *accepted) -> None:
        """An option that must keep one of its ``accepted`` values (the first is Keras'
        default), because this library computes only that case."""
        value = self.config.pop(key, accepted[0])
        if value not in accepted or isinstance(value, bool) != isinstance(accepted[0], bool):
            raise ValueError(f"{self.where}: {key}={value!r} cannot be translated; "
                             f"tinygrad_cnn supports only {key}="
                             f"{' or '.join(repr(a) for a in accepted)}")

    def absent(self, *keys: str) -> None:
        """Options such as regularizers and constraints: only null (unused) translates."""
        for key in keys:
            value = self.config.pop(key, None)
            if value is not None:
                name = value.get("class_name", value) if isinstance(value, dict) else value
                raise ValueError(f"{self.where}: {key}={name!r:.60} cannot be translated; "
                                 f"tinygrad_cnn has no {key}, so only null is supported")

    def finish(self) -> None:
        """Keys this reader does not know are accepted only when null (an unused feature of
        a newer Keras); any other value might change the layer, so it is refused."""
        for key, value in self.config.items():
            if value is not None:
                raise ValueError(f"{self.where}: option {key}={value!r:.60} is not one "
                                 f"tinygrad_cnn knows how to translate")


# ---------------------------------------------------------------------------- dtypes
def dtype_policy(dtype) -> dict:
    return keras_object("keras", "DTypePolicy", {"name": str(dtype)})


def read_dtype(value, where: str) -> str:
    """'float32' or 'float64' from a DTypePolicy (or the plain string older files hold)."""
    name = value
    if isinstance(value, dict):
        if value.get("class_name") not in ("DTypePolicy", "FloatDTypePolicy"):
            raise ValueError(f"{where}: dtype policy {value.get('class_name')!r} cannot be "
                             f"translated; supported: DTypePolicy {' or '.join(DTYPES)}")
        name = (value.get("config") or {}).get("name")
    if name is None:
        return "float32"  # Keras' default policy
    if name not in DTYPES:
        raise ValueError(f"{where}: dtype {name!r} cannot be translated; tinygrad_cnn "
                         f"computes in {' or '.join(DTYPES)}")
    return name


# ---------------------------------------------------------------------- activations
def activation_to_keras(given, where: str) -> str:
    """Keras writes built-in activations as their names; 'linear' stands for none."""
    return activations.serialize(given, where) or "linear"


def read_activation(value, where: str):
    """A Keras activation (a name, or a serialized built-in function) as this library's
    name; None for 'linear'."""
    if isinstance(value, dict) and value.get("class_name") == "function":
        value = value.get("config")  # Keras' form for a built-in function: its name
    known = sorted(activations.ACTIVATIONS)
    if value is None:
        return None
    if not isinstance(value, str) or value not in activations.ACTIVATIONS:
        shown = value.get("class_name", value) if isinstance(value, dict) else value
        raise ValueError(f"{where}: activation {shown!r:.60} cannot be translated; "
                         f"supported: {', '.join(known)}")
    return None if value == "linear" else value


# --------------------------------------------------------------------- initializers
def initializer_to_keras(given, where: str) -> dict:
    name = initializers.serialize(given, where)
    config = ({"seed": None, "input_axes": None, "output_axes": None}
              if INITIALIZERS[name] in _SEEDED else {})
    return keras_object("keras.initializers", INITIALIZERS[name], config)


def read_initializer(value, where: str, arg: str) -> str:
    """This library's name for a Keras initializer of the same rule.

    A seed is dropped: the library's generator (``tc.manual_seed``) draws every initial
    weight, and a loaded model's weights come from the file anyway.
    """
    by_class = {keras: ours for ours, keras in INITIALIZERS.items()}
    if isinstance(value, str):  # Keras accepts names too ("glorot_uniform")
        if value in INITIALIZERS:
            return value
        class_name, config = value, {}
    elif isinstance(value, dict):
        class_name, config = value.get("class_name"), value.get("config") or {}
    else:
        class_name, config = value, {}
    if class_name not in by_class or not isinstance(config, dict):
        raise ValueError(f"{where}: {arg} {class_name!r:.60} cannot be translated; "
                         f"supported: {', '.join(sorted(by_class))}")
    extra = {k: v for k, v in config.items() if k != "seed" and v is not None}
    if extra:
        raise ValueError(f"{where}: {arg} {class_name} with {extra!r:.80} cannot be "
                         f"translated; supported: its default arguments (and any seed)")
    return by_class[class_name]
