"""Draw the computation graph behind a tensor with Graphviz.

``draw_graph(loss)`` walks the graph that produced ``loss`` and returns a
``graphviz.Digraph``; building it needs only the ``graphviz`` Python package, not the
Graphviz programs. ``render(loss, "graph.svg")`` writes a file: ``.dot``/``.gv`` is the DOT
source (no programs needed), ``.svg``/``.png``/``.pdf`` run Graphviz's ``dot`` program.

What the picture shows (the legend node repeats it)::

    input      house, orange border   a leaf that does not require grad (images, constants)
    parameter  cylinder, blue         a leaf that requires grad; layers name theirs, so it
                                      reads "conv2d.kernel (3, 3, 1, 10) float32"
    op         rounded box, grey      Function.describe(): "conv2d 3×3 s1 same", "add", …
    tensor     small ellipse          an op's output: shape and dtype
    root       double octagon, green  the tensor you passed in

Data flows along the arrows (input → op → output). Ops created inside a layer call (and
that layer's parameters) sit in one box, a DOT ``subgraph cluster_<layer name>`` titled
"name (Type)", so a model reads layer by layer.

Gradients: ``show_grads=True`` adds ``‖grad‖`` (the L2 norm of ``tensor.grad``) to every
tensor node and shades it by that norm on a log scale relative to this graph (palest =
smallest, darkest red = largest; the root keeps its colour, its gradient is the seed), so
vanishing and exploding gradients stand out. Only
leaves keep ``.grad`` after a plain ``backward()``, and a plain ``backward()`` also
*releases* the graph (each op forgets its inputs). Draw gradients after::

    loss.backward(retain_graph=True)   # keeps the graph and stores .grad on every tensor
    tc.viz.draw_graph(loss, show_grads=True)

A released graph is still drawn, but with a note (and a ``UserWarning``) saying so.

Backward, step by step: ``show_backward=True`` runs the backward pass the way
``tc.explain_backward`` does (no ``.grad`` changes, the graph kept) and draws its walk:
each op reads "step n: its label" and its derivative rule, and each edge carries, in red,
the gradient that flows back along it (``grad`` and the values for a tensor of at most
``SMALL`` elements, ``‖grad‖`` and its norm for a larger one). It needs a scalar root.

Operands: an edge into an op whose inputs are not interchangeable (``sub``, ``div``,
``matmul``, ``pow``, conv's ``x``, ``kernel`` and ``bias``, …) is labelled, in blue, with
which input it is, as the op's ``forward`` names it.

Big graphs: at most ``max_nodes`` tensor and op nodes are drawn, those nearest the root
(breadth-first); a note node says how many were left out. The walk is iterative, so a
100,000-op chain draws in well under a second with no RecursionError.

The same graph always gives byte-identical DOT: nodes are visited in creation order
(``Tensor._id``), never in set or ``id()`` order, and numbered densely (``t0``, ``op3``…).
"""

from __future__ import annotations

import html
import math
import os
import re
import shutil
import subprocess
import textwrap
import warnings
from collections import deque

import graphviz
import numpy as np

from .checks import check_bool, check_path, user_stacklevel
from .explain import operand_names, trace
from .tensor import Tensor

__all__ = ["DEFAULT_MAX_NODES", "FORMATS", "GraphvizNotFoundError", "draw_graph", "render"]

DEFAULT_MAX_NODES = 400
RANKDIRS = ("TB", "LR", "BT", "RL")
FORMATS = ("svg", "png", "pdf", "dot", "gv")  # dot/gv: DOT source, written without Graphviz

# Fill colours and shapes per kind of node. Shapes differ too, so the kinds stay apart in
# greyscale and when show_grads replaces the fill colour with the gradient shade.
_STYLE = {
    "input": {"shape": "invhouse", "style": "filled", "fillcolor": "#fde3c4",
              "color": "#d9822b"},
    "parameter": {"shape": "cylinder", "style": "filled", "fillcolor": "#cfe2ff",
                  "color": "#2f6db5"},
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#eeeeee",
           "color": "#555555"},
    "tensor": {"shape": "ellipse", "style": "filled", "fillcolor": "#ffffff",
               "color": "#888888", "fontsize": "10"},
    "root": {"shape": "doubleoctagon", "style": "filled", "fillcolor": "#c6efce",
             "color": "#2e7d32"},
}
_NOTE_STYLE = {"shape": "note", "style": "filled", "fillcolor": "#fff9c4", "color": "#b58900"}
# ColorBrewer YlOrRd: pale = small gradient norm, dark red = large.
_GRAD_RAMP = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c",
              "#fc4e2a", "#e31a1c", "#bd0026", "#800026")
_GRAD_ZERO = "#d9d9d9"  # exactly zero
_GRAD_NONFINITE = "#ff00ff"  # nan or inf: impossible to miss
_BACKWARD_COLOR = "#b03a2e"  # gradients flowing back along the edges
_OPERAND_COLOR = "#2f6db5"  # which input of an op an edge is
# Ops whose inputs can be swapped without changing the result or the gradients: their edges
# need no operand name.
_INTERCHANGEABLE = frozenset({"add", "mul", "maximum", "minimum"})
_RULE_WIDTH = 44  # characters per line of a rule drawn inside an op node


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` program (the system package, not the Python one) is not installed.

    Raised by ``render`` for svg/png/pdf output. ``.dot`` output never needs it.
    """


# --------------------------------------------------------------------------- checks
def _check_root(root) -> None:
    if not isinstance(root, Tensor):
        raise TypeError(
            f"root must be a tinygrad_cnn Tensor (e.g. the loss); got {type(root).__name__} "
            f"{root!r:.60}"
        )


def _check_options(show_shapes, show_grads, rankdir, max_nodes, legend, show_backward):
    show_shapes = check_bool(show_shapes, "show_shapes")
    show_grads = check_bool(show_grads, "show_grads")
    legend = check_bool(legend, "legend")
    show_backward = check_bool(show_backward, "show_backward")
    if not isinstance(rankdir, str):
        raise TypeError(f"rankdir must be one of {', '.join(map(repr, RANKDIRS))}; got "
                        f"{rankdir!r}")
    if rankdir.upper() not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(map(repr, RANKDIRS))} (top-bottom, "
                         f"left-right, …); got {rankdir!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, (int, np.integer)):
        raise TypeError(f"max_nodes must be a positive int; got {max_nodes!r}")
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int (at least 1); got {max_nodes!r}")
    return show_shapes, show_grads, rankdir.upper(), int(max_nodes), legend, show_backward


# --------------------------------------------------------------------------- labels
def _clean(text: str) -> str:
    """Make arbitrary text safe inside a quoted DOT string (backslashes are escapes there)."""
    return str(text).replace("\\", "\\\\").replace("\n", "\\n")


def _shape_text(t: Tensor) -> str:
    return f"{tuple(t.shape)} {t.dtype}"


def _grad_norm(t: Tensor) -> float | None:
    if t.grad is None:
        return None
    g = np.asarray(t.grad, dtype=np.float64)
    return float(np.sqrt(np.sum(g * g)))


SMALL = 4  # tensors with at most this many elements show their values, signs included


def _values_text(a) -> str:
    """``-0.25`` or ``[1.5, -2, 0.125]``: the signed values of a small array (micrograd's view)."""
    a = np.asarray(a)
    if a.size == 1:
        return f"{a.item():.4g}"
    return "[" + ", ".join(f"{v:.3g}" for v in a.ravel()) + "]"


def _format_norm(norm: float) -> str:
    return f"{norm:.3g}"


def _flowing_back(g) -> str:
    """An edge's gradient: its values when small, else its norm."""
    g = np.asarray(g)
    if g.size <= SMALL:
        return f"grad {_values_text(g)}"
    g = g.astype(np.float64)
    return f"‖grad‖ {_format_norm(float(np.sqrt(np.sum(g * g))))}"


def _operand(ctx, i: int) -> str | None:
    """The name of input ``i`` of ``ctx``, when the op's inputs are not interchangeable."""
    if len(ctx.parents) < 2 or ctx.name in _INTERCHANGEABLE:
        return None
    return operand_names(ctx)[i]


def _edge_attrs(operand: str | None, grad) -> dict:
    """An edge's label: which operand it is (blue), the gradient flowing back (red), or both.

    Both go in the one label, which Graphviz places clear of nodes and other labels."""
    if operand is None and grad is None:
        return {}
    attrs = {"fontsize": "9"}
    if grad is None:
        return {**attrs, "label": _clean(operand), "fontcolor": _OPERAND_COLOR}
    if operand is None:
        return {**attrs, "label": _clean(_flowing_back(grad)), "fontcolor": _BACKWARD_COLOR}
    return {**attrs, "label": (f'<<FONT COLOR="{_OPERAND_COLOR}">{html.escape(operand)}</FONT>'
                               f'<BR/><FONT COLOR="{_BACKWARD_COLOR}">'
                               f'{html.escape(_flowing_back(grad))}</FONT>>')}


def _step_label(ctx, step) -> str:
    rule = "\\n".join(_clean(line) for line in textwrap.wrap(step.rule, _RULE_WIDTH))
    return f"step {step.index}: {_clean(ctx.describe())}\\n{rule}"


def _shade(norm: float, low: float, high: float) -> str:
    """Colour for a gradient norm on a log scale between the graph's smallest and largest."""
    if not math.isfinite(norm):
        return _GRAD_NONFINITE
    if norm == 0.0:
        return _GRAD_ZERO
    if high <= low:
        return _GRAD_RAMP[len(_GRAD_RAMP) // 2]
    frac = (math.log10(norm) - low) / (high - low)
    return _GRAD_RAMP[min(int(frac * len(_GRAD_RAMP)), len(_GRAD_RAMP) - 1)]


def _legend_label(show_grads: bool, grad_range, any_grad: bool, show_backward=False,
                  operands=False) -> str:
    cells = "".join(
        f'<TD BGCOLOR="{_STYLE[kind]["fillcolor"]}" COLOR="{_STYLE[kind]["color"]}">{text}</TD>'
        for kind, text in (
            ("input", "input<BR/>(house)"),
            ("parameter", "parameter<BR/>(cylinder)"),
            ("op", "op"),
            ("tensor", "tensor<BR/>(ellipse)"),
            ("root", "root<BR/>(octagon)"),
        )
    )
    rows = [f"<TR>{cells}</TR>"]
    if show_grads:
        if grad_range is None:
            text = ("‖grad‖: every gradient is exactly zero (or not finite)" if any_grad
                    else "‖grad‖: no tensor has a gradient")
            ramp = f'<TD COLSPAN="5">{text}</TD>'
        else:
            low, high = grad_range
            ramp = (f'<TD BGCOLOR="{_GRAD_RAMP[0]}">‖grad‖ {_format_norm(10 ** low)}</TD>'
                    f'<TD BGCOLOR="{_GRAD_RAMP[4]}">(log scale)</TD>'
                    f'<TD BGCOLOR="{_GRAD_RAMP[-1]}"><FONT COLOR="white">'
                    f'{_format_norm(10 ** high)}</FONT></TD>'
                    f'<TD BGCOLOR="{_GRAD_ZERO}">zero</TD>'
                    f'<TD BGCOLOR="{_GRAD_NONFINITE}">nan/inf</TD>')
        rows.append(f"<TR>{ramp}</TR>")
    if operands:
        rows.append(f'<TR><TD COLSPAN="5"><FONT COLOR="{_OPERAND_COLOR}">blue on an edge'
                    f'</FONT>: which input of the op it is (a − b, x and kernel, …)</TD></TR>')
    if show_backward:
        rows.append(f'<TR><TD COLSPAN="5">backward: each op shows its step (the order '
                    f'backward visits it) and its rule;<BR/><FONT COLOR="{_BACKWARD_COLOR}">'
                    f'red on an edge</FONT>: the gradient flowing back along it (values, or '
                    f'‖grad‖ when larger)</TD></TR>')
    return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="2" CELLPADDING="4">'
            f'<TR><TD COLSPAN="5"><B>legend</B></TD></TR>{"".join(rows)}</TABLE>>')


# --------------------------------------------------------------------------- the walk
def _walk(root: Tensor, max_nodes: int, draws_tensor) -> tuple[list, int, int, bool]:
    """Breadth-first from the root over every tensor that led to it.

    Returns (kept tensors, nodes kept, nodes in the whole graph, graph was released). A
    tensor "costs" one node for itself (if drawn) plus one for the op that produced it. The
    kept tensors are a breadth-first prefix, so each kept tensor's path to the root is kept.
    """
    cost = lambda t: int(draws_tensor(t)) + int(t._ctx is not None)  # noqa: E731
    seen = {id(root)}
    queue = deque([root])
    kept, kept_cost, total_cost, released, full = [], 0, 0, False, False
    while queue:
        t = queue.popleft()
        c = cost(t)
        total_cost += c
        if not kept or (not full and kept_cost + c <= max_nodes):  # the root always fits
            kept.append(t)
            kept_cost += c
        else:
            full = True  # keep a prefix: nothing after the first tensor that did not fit
        ctx = t._ctx
        if ctx is None:
            continue
        if ctx.saved is None:
            released = True
        for parent in ctx.parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)
    return kept, kept_cost, total_cost, released


def _sanitize(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", name) or "layer"


def draw_graph(root, show_shapes=True, show_grads=False, rankdir="TB",
               max_nodes=DEFAULT_MAX_NODES, legend=True, show_backward=False) -> graphviz.Digraph:
    """The graph that computed ``root`` as a ``graphviz.Digraph`` (no Graphviz program needed).

    Args:
        root: the Tensor to explain, usually the loss.
        show_shapes: label tensors with shape and dtype. With False (and no show_grads) the
            intermediate tensors are left out and ops connect directly: a compact op graph.
        show_grads: add each tensor's gradient norm and shade it by magnitude. Needs
            ``root.backward(retain_graph=True)`` first (see the module docstring).
        rankdir: layout direction, 'TB' (default), 'LR', 'BT' or 'RL'.
        max_nodes: most tensor and op nodes to draw (those nearest the root); the rest are
            summarised by one note node that says how many were omitted.
        legend: add a legend node explaining shapes and colours.
        show_backward: run backward (as ``tc.explain_backward``: no ``.grad`` changes) and
            draw its walk: each op's step number and rule, each edge's gradient flowing
            back. Needs a scalar root whose graph was not released.

    Returns:
        ``graphviz.Digraph``; ``.source`` is the DOT text, ``.render()``/``render()`` draw it.

    Raises:
        TypeError/ValueError: for a root that is not a Tensor or a bad option;
            show_backward with a root that is not a scalar or needs no grad.
        RuntimeError: show_backward on a graph released by ``backward()``.
    """
    _check_root(root)
    show_shapes, show_grads, rankdir, max_nodes, legend, show_backward = _check_options(
        show_shapes, show_grads, rankdir, max_nodes, legend, show_backward)
    steps = {}
    if show_backward:
        if root.size != 1:
            raise ValueError(f"show_backward needs a scalar root, such as a loss; root has "
                             f"shape {root.shape} (draw root.sum(), or use "
                             f"tc.explain_backward(root, grad_output=...))")
        steps = {id(step.output._ctx): step for step in trace(root).steps}

    def draws_tensor(t: Tensor) -> bool:
        return t is root or t._ctx is None or show_shapes or show_grads

    kept, kept_cost, total_cost, released = _walk(root, max_nodes, draws_tensor)
    kept.sort(key=lambda t: t._id)  # creation order: parents before children
    number = {id(t): i for i, t in enumerate(kept)}
    consumers: dict[int, list] = {}
    for t in kept:
        if t._ctx is not None:
            for parent in t._ctx.parents:
                consumers.setdefault(id(parent), []).append(t._ctx)

    # Layer clusters; distinct layer objects get distinct names, even when theirs clash.
    clusters: dict[int, dict] = {}
    used_names: set[str] = set()

    def cluster_of(layer) -> dict:
        key = id(layer)
        if key not in clusters:
            name = getattr(layer, "name", None) or type(layer).__name__.lower()
            base = cname = f"cluster_{_sanitize(str(name))}"
            suffix = 2
            while cname in used_names:
                cname, suffix = f"{base}_{suffix}", suffix + 1
            used_names.add(cname)
            clusters[key] = {"name": cname, "title": f"{name} ({type(layer).__name__})",
                             "nodes": []}
        return clusters[key]

    grads = {id(t): _grad_norm(t) for t in kept} if show_grads else {}
    logs = [math.log10(n) for key, n in grads.items()  # the root's grad is just the seed
            if key != id(root) and n is not None and 0 < n < math.inf]
    grad_range = (min(logs), max(logs)) if logs else None
    any_grad = any(n is not None for key, n in grads.items() if key != id(root))

    g = graphviz.Digraph(
        "tinygrad_cnn",
        comment=(f"tinygrad_cnn graph of a {tuple(root.shape)} {root.dtype} tensor: "
                 f"{kept_cost} of {total_cost} nodes drawn"),
        graph_attr={"rankdir": rankdir, "fontname": "Helvetica", "nodesep": "0.25",
                    "ranksep": "0.35"},
        node_attr={"fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"color": "#555555", "arrowsize": "0.7", "fontname": "Helvetica"},
    )
    top_level: list[tuple[str, dict]] = []
    edges: list[tuple[str, str, dict]] = []

    def place(node_id: str, attrs: dict, layer) -> None:
        if layer is None:
            top_level.append((node_id, attrs))
        else:
            cluster_of(layer)["nodes"].append((node_id, attrs))

    def tensor_attrs(t: Tensor) -> dict:
        is_root = t is root
        if is_root:
            kind = "root"
        elif t._ctx is not None:
            kind = "tensor"
        else:
            kind = "parameter" if t.requires_grad else "input"
        parts = []
        if t.name:
            parts.append(_clean(t.name))
        elif kind == "input" and t.size == 1 and t.ndim == 0:
            parts.append(f"const {t.data.item():g}")
        elif kind in ("input", "root"):
            parts.append(kind)
        elif kind == "parameter":
            parts.append("leaf")  # requires grad but has no name
        if show_shapes:
            parts.append(_shape_text(t))
        small = t.size <= SMALL and t.dtype.kind == "f"
        if is_root and t.size == 1 and t.dtype.kind == "f":
            parts.append(f"= {t.data.item():.4g}")

        label = " ".join(parts) or kind
        attrs = dict(_STYLE[kind])
        if show_grads and kind != "input":  # inputs never get a gradient
            norm = grads[id(t)]
            if norm is None:
                label += "\\nno grad"
            else:
                label += f"\\n‖grad‖ {_format_norm(norm)}"
                if not is_root:
                    attrs["fillcolor"] = _shade(norm, *(grad_range or (0.0, 0.0)))
                    if attrs["fillcolor"] in _GRAD_RAMP[-3:]:
                        attrs["fontcolor"] = "white"
        if small and kind != "input" and not (is_root and t.size == 1):
            label += f"\\ndata {_values_text(t.data)}"  # signed values, as micrograd draws
            if show_grads and t.grad is not None:
                label += f" | grad {_values_text(t.grad)}"
        elif is_root and t.size == 1 and show_grads and t.grad is not None:
            label += f" | grad {_values_text(t.grad)}"
        attrs["label"] = label
        return attrs

    def layer_of_leaf(t: Tensor):
        """A parameter joins its layer's cluster when every op using it is in that layer."""
        if not t.requires_grad:
            return None
        layers = [ctx.layer for ctx in consumers.get(id(t), ())]
        if layers and layers[0] is not None and all(lay is layers[0] for lay in layers):
            return layers[0]
        return None

    def node_id_of(t: Tensor) -> str:
        i = number[id(t)]
        return f"t{i}" if draws_tensor(t) else f"op{i}"

    for t in kept:  # clusters in the order their first op ran (weights are made earlier)
        if t._ctx is not None and t._ctx.layer is not None:
            cluster_of(t._ctx.layer)

    omitted = total_cost - kept_cost
    named_operands = False  # whether some edge says which operand it is (for the legend)
    note_id = "omitted"
    for t in kept:
        i = number[id(t)]
        ctx = t._ctx
        layer = ctx.layer if ctx is not None else layer_of_leaf(t)
        if ctx is not None:
            op_id = f"op{i}"
            step = steps.get(id(ctx))
            label = _step_label(ctx, step) if step else _clean(ctx.describe())
            place(op_id, {**_STYLE["op"], "label": label}, ctx.layer)
            cut = False
            for k, parent in enumerate(ctx.parents):
                if id(parent) in number:
                    grad = step.grad_inputs[k] if step else None
                    operand = _operand(ctx, k)
                    named_operands = named_operands or operand is not None
                    edges.append((node_id_of(parent), op_id, _edge_attrs(operand, grad)))
                else:
                    cut = True
            if cut:
                edges.append((note_id, op_id, {"style": "dashed"}))
            if ctx.saved is None:
                edges.append(("released", op_id, {"style": "dashed"}))
        if draws_tensor(t):
            place(f"t{i}", tensor_attrs(t), None if t is root else layer)
            if ctx is not None:
                step = steps.get(id(ctx))
                edges.append((f"op{i}", f"t{i}",
                               _edge_attrs(None, step.grad_output if step else None)))

    if legend:
        g.node("legend", label=_legend_label(show_grads, grad_range, any_grad, show_backward,
                                             named_operands),
               shape="plaintext")
    if released:
        warnings.warn(
            "draw_graph: this graph was released by backward() (ops no longer know their "
            "inputs), so only part of it can be drawn. Call loss.backward(retain_graph=True) "
            "before drawing, or draw before backward()", UserWarning,
            stacklevel=user_stacklevel())
        g.node("released", label="graph released by backward(): inputs not recorded\\n"
               "call backward(retain_graph=True) to keep the whole graph", **_NOTE_STYLE)
    if omitted:
        g.node(note_id, label=(
            f"… {omitted:,} more nodes not drawn (max_nodes={max_nodes:,}) …\\n"
            f"{kept_cost:,} of {total_cost:,} nodes shown: those nearest the output"),
            **_NOTE_STYLE)
    if show_grads and not any_grad and not released:
        warnings.warn(
            "draw_graph(show_grads=True): no tensor in the graph has a .grad; call "
            "loss.backward(retain_graph=True) before drawing", UserWarning,
            stacklevel=user_stacklevel())
    for node_id, attrs in top_level:
        g.node(node_id, **attrs)
    for cluster in clusters.values():
        with g.subgraph(name=cluster["name"]) as sub:
            sub.attr(label=_clean(cluster["title"]), style="rounded,dashed", color="#7a7a7a",
                     fontname="Helvetica", fontsize="12", labeljust="l")
            for node_id, attrs in cluster["nodes"]:
                sub.node(node_id, **attrs)
    for src, dst, attrs in edges:
        g.edge(src, dst, **attrs)
    return g


# --------------------------------------------------------------------------- render
_INSTALL_HELP = (
    "Graphviz's `dot` program was not found on PATH. Rendering {fmt} needs Graphviz, the "
    "system package (the `graphviz` Python package alone only writes DOT text). Install it "
    "with one of: `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` "
    "(macOS), `conda install graphviz`, or see https://graphviz.org/download/. Without it, "
    "write the DOT source instead: render(root, '{stem}.dot') works with no Graphviz install."
)


def render(root, path, **kwargs) -> str:
    """Draw ``root``'s graph to ``path``; the format comes from the suffix.

    Args:
        root: the Tensor to draw (usually the loss).
        path: where to write; ``.svg``, ``.png``, ``.pdf`` run Graphviz ``dot``; ``.dot`` and
            ``.gv`` write the DOT source and need no Graphviz program.
        **kwargs: passed to ``draw_graph`` (show_shapes, show_grads, rankdir, max_nodes,
            legend, show_backward).

    Returns:
        ``path`` as a str.

    Raises:
        TypeError: root is not a Tensor, or path is not a str/PathLike.
        ValueError: the suffix is not one of FORMATS, or ``path`` is a folder.
        FileNotFoundError: the folder to write into does not exist.
        GraphvizNotFoundError (a RuntimeError): svg/png/pdf asked for but ``dot`` is missing.
        RuntimeError: ``dot`` ran and failed (its message is included).
    """
    _check_root(root)
    path = check_path(path, "path", "'graph.svg'")
    stem, suffix = os.path.splitext(path)
    fmt = suffix[1:].lower()
    if fmt not in FORMATS:
        raise ValueError(f"path {path!r} must end in one of "
                         f"{', '.join('.' + f for f in FORMATS)} (the format comes from the "
                         f"suffix); got {suffix or 'no suffix'!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"path {path!r} is a folder; give a file name such as "
                         f"{os.path.join(path, 'graph.' + fmt)!r}")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path!r}: folder {folder!r} does not exist")

    source = draw_graph(root, **kwargs).source
    if fmt in ("dot", "gv"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        return path

    dot = shutil.which("dot")
    missing = GraphvizNotFoundError(_INSTALL_HELP.format(fmt=f"'{path}'", stem=stem))
    if dot is None:
        raise missing
    try:
        proc = subprocess.run([dot, f"-T{fmt}", "-o", path], input=source.encode("utf-8"),
                              capture_output=True, check=False)
    except OSError:  # vanished or not executable between which() and run()
        raise missing from None
    if proc.returncode != 0:
        raise RuntimeError(f"Graphviz `dot -T{fmt}` failed writing {path!r} (exit status "
                           f"{proc.returncode}): {proc.stderr.decode(errors='replace').strip()}")
    return path
