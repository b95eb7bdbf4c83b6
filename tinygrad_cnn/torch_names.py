"""PyTorch's keyword names for numpy's: ``dim=`` for ``axis=`` and ``keepdim=`` for ``keepdims=``.

One decorator, on every Tensor method and ``F`` function that takes ``axis``, so code
written for torch (``x.sum(dim=1, keepdim=True)``) runs with one implementation behind both
spellings. The README's "Coming from PyTorch" table lists every such name.
"""

from __future__ import annotations

import functools
import inspect

_ABSENT = object()
_NUMPY_NAME = {"dim": "axis", "keepdim": "keepdims"}


def accepts_dim(fn):
    """``fn``, also taking ``dim=``/``keepdim=`` for its ``axis=``/``keepdims=``.

    Giving both names of one argument (``axis=1, dim=1``, or the axis positionally and
    ``dim=``) raises TypeError naming both. The cost when neither is given is one call.
    """
    signature = inspect.signature(fn)
    params = list(signature.parameters)
    # where each numpy name sits among the positional parameters (None: fn lacks it)
    position = {torch: params.index(numpy) if numpy in params else None
                for torch, numpy in _NUMPY_NAME.items()}

    def renamed(args, kwargs, torch: str, value) -> None:
        numpy = _NUMPY_NAME[torch]
        if position[torch] is None:
            raise TypeError(f"{fn.__name__}() takes no {torch}= (nor {numpy}=)")
        if numpy in kwargs or len(args) > position[torch]:
            given = (f"{numpy}={kwargs[numpy]!r}" if numpy in kwargs
                     else f"{numpy}={args[position[torch]]!r} (positionally)")
            raise TypeError(f"{fn.__name__}() got both {given} and {torch}={value!r}; "
                            f"{torch} is PyTorch's name for {numpy}, so give one of them")
        kwargs[numpy] = value

    @functools.wraps(fn)
    def wrapper(*args, dim=_ABSENT, keepdim=_ABSENT, **kwargs):
        if dim is not _ABSENT:
            renamed(args, kwargs, "dim", dim)
        if keepdim is not _ABSENT:
            renamed(args, kwargs, "keepdim", keepdim)
        return fn(*args, **kwargs)

    # help() and inspect show the torch names too
    extra = [inspect.Parameter(torch, inspect.Parameter.KEYWORD_ONLY, default=None)
             for torch, pos in position.items() if pos is not None]
    kept = [p for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD]
    wrapper.__signature__ = signature.replace(parameters=kept + extra)
    return wrapper
