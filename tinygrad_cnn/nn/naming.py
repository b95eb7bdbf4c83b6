"""How a function given to a layer (an activation, an initializer) is named in a saved
model's JSON: by its key in the table of known ones."""

from __future__ import annotations


def name_in(table: dict, value, what: str, where: str):
    """The key under which ``table`` holds ``value`` (a name stays a name): how a layer's
    activation or initializer is written into the JSON. ValueError for a custom callable."""
    if value is None or isinstance(value, str):
        return value
    for name, fn in table.items():
        if fn is value:
            return name
    raise ValueError(f"{where}: {what} {value!r} is a custom callable, which a saved model "
                     f"cannot name; use one of {sorted(table)}, or save the weights alone "
                     f"with save_weights()")
