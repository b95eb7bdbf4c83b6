"""The summary table that ``layer.summary()`` prints, for a model or a single built layer.

One row per layer (a model's direct layers; a plain layer is its own one row): name and
type, output shape, parameters and multiply-accumulates per example, then the totals.
Each layer supplies its numbers (``layer_shapes``, ``count_params``, ``macs`` and, with
``explain=True``, the formulas of ``explain``); this module only lays them out.
"""

from __future__ import annotations

from ..checks import check_bool


def print_summary(layer, print_fn=print, explain: bool = False) -> None:
    """Send ``layer``'s table (built) to ``print_fn`` as one string."""
    explain = check_bool(explain, "explain")
    if not callable(print_fn):
        raise TypeError(f"print_fn must be a callable such as print; got "
                        f"{type(print_fn).__name__} {print_fn!r:.60}")
    print_fn(summary_text(layer, explain))


def summary_text(layer, explain: bool = False) -> str:
    rows = []
    for row_layer, in_shape, out_shape in layer.layer_shapes():
        rows.append((f"{row_layer.name} ({type(row_layer).__name__})", str((None, *out_shape)),
                     f"{row_layer.count_params():,}", f"{row_layer.macs(in_shape):,}",
                     row_layer.explain(in_shape) if explain else []))
    head = ("Layer (type)", "Output Shape", "Param #", "MACs")
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) + 2 for i in range(4)]
    total_width = sum(widths) + 3 * 2

    def line(cells):
        return (cells[0].ljust(widths[0]) + "  " + cells[1].ljust(widths[1]) + "  "
                + cells[2].rjust(widths[2]) + "  " + cells[3].rjust(widths[3]))

    weights = layer.weights
    total = sum(w.size for w in weights)
    trainable = sum(w.size for w in weights if w.requires_grad)
    nbytes = sum(w.data.nbytes for w in weights)
    out = [f'{layer.kind.capitalize()}: "{layer.name}"', "─" * total_width, line(head),
           "═" * total_width]
    for r in rows:
        out.append(line(r[:4]))
        out.extend(f"    {text}" for text in r[4])
    out += ["═" * total_width,
            f"Input shape: {(None, *layer.input_shape)}",
            f"Total params: {total:,} ({_human_bytes(nbytes)})",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}",
            f"MACs per example (forward): {layer.macs(layer.input_shape):,}",
            "─" * total_width]
    return "\n".join(out)


def _human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
