"""Argument checks shared by modules that own different arguments of the same kind."""

import numpy as np


def check_bool(value, arg: str) -> bool:
    """``value`` as a bool; anything but True/False (a truthy string, 1, None) is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{arg} must be True or False; got {value!r} ({type(value).__name__})")
    return bool(value)
