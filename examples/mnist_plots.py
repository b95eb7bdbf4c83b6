"""Pictures of a training run: learning curves, feature maps and first-layer filters."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinygrad_cnn as tc  # noqa: E402
from tinygrad_cnn import Tensor, nn  # noqa: E402


def plot_curves(metrics: list[dict], path: Path) -> Path:
    """Loss and accuracy per epoch, train vs test, each point marked and the last labelled
    (so a one-epoch run still reads: two labelled points per panel)."""
    epochs = [m["epoch"] for m in metrics]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, scale, fmt in ((ax_loss, "loss", 1, "{:.3f}"), (ax_acc, "accuracy", 100,
                                                                  "{:.1f}%")):
        last = {}
        for split, style, label in (("train", "o-", "train (mean over the epoch, dropout on)"),
                                    ("test", "s--", "test (after the epoch)")):
            values = [scale * m[f"{split}_{key}"] for m in metrics]
            (line,) = ax.plot(epochs, values, style, markersize=6, label=label)
            last[split] = (values[-1], line.get_color())
        higher = max(last, key=lambda split: last[split][0])
        for split, (value, color) in last.items():  # the higher label above, the lower below
            ax.annotate(fmt.format(value), (epochs[-1], value), textcoords="offset points",
                        xytext=(8, 4 if split == higher else -10), fontsize=8, color=color)
    ax_loss.set(title="cross-entropy loss", xlabel="epoch", ylabel="loss")
    ax_acc.set(title="accuracy", xlabel="epoch", ylabel="accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_xlim(0.5, max(epochs) + 0.9)  # room for the labels, even for one epoch
        ax.margins(y=0.15)
        ax.set_xticks(epochs if len(epochs) <= 15 else ax.get_xticks())
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


_SHOWN = (nn.Conv2D, nn.BatchNormalization, nn.Activation, nn.LeakyReLU, nn.MaxPooling2D,
          nn.AveragePooling2D)


def _stage_label(layer) -> str:
    """What a row of feature maps shows: which operation the values come out of."""
    if isinstance(layer, nn.Conv2D):
        fn = getattr(layer.activation, "__name__", None)
        return ("after the convolution (no activation)" if fn is None
                else f"after the convolution and {'ReLU' if fn == 'relu' else fn}")
    if isinstance(layer, nn.BatchNormalization):
        return "after BatchNormalization"
    if isinstance(layer, (nn.Activation, nn.LeakyReLU)):
        fn = getattr(getattr(layer, "activation", None), "__name__", "LeakyReLU")
        return f"after {'ReLU' if fn == 'relu' else fn}"
    kind = "max" if isinstance(layer, nn.MaxPooling2D) else "average"
    return f"after {layer.pool_size[0]}×{layer.pool_size[1]} {kind} pooling"


def feature_stages(model: nn.Sequential, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(row title, maps (H, W, C)) after each conv, normalization, activation and pooling
    layer, for one image (1, H, W, C) run in inference mode."""
    stages, x = [], Tensor(image)
    with tc.no_grad():
        for layer in model.layers:
            x = layer(x, training=False)
            if isinstance(layer, _SHOWN) and x.ndim == 4:
                h, w, c = x.shape[1:]
                stages.append((f"{layer.name}: {h}×{w}×{c}, {_stage_label(layer)}", x.data[0]))
    return stages


def panel_note(channel: np.ndarray) -> str | None:
    """What to write instead of a picture when a channel has no range to scale, else None."""
    low, high = float(channel.min()), float(channel.max())
    if low != high:
        return None
    return "all 0\n(dead)" if low == 0 else f"all\n{low:.2g}"


def plot_feature_maps(model: nn.Sequential, image: np.ndarray, label: int, path: Path,
                      max_channels: int = 16) -> Path:
    """One digit through the network: the maps after each conv, normalization, activation
    and pooling layer, one row per layer.

    Each row is titled with its layer, output shape and the operation it comes out of, so
    the picture shows how 'valid' padding trims the size and pooling halves it. Each panel
    is scaled to its own range (darkest = its minimum, brightest = its maximum); a channel
    that is all zeros (a "dead" ReLU) is left blank and marked, not stretched into noise.
    """
    stages = feature_stages(model, image)
    cols = 1 + min(max_channels, max(maps.shape[-1] for _, maps in stages))
    height = len(stages) * 1.5 + 0.6
    fig, axes = plt.subplots(len(stages), cols, figsize=(cols * 1.1, height), squeeze=False)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=1 - 0.7 / height, hspace=0.45,
                        wspace=0.12)
    for row, (title, maps) in enumerate(stages):
        axes[row, 0].imshow(image[0, ..., 0], cmap="gray_r")
        axes[row, 0].set_title(f"input, digit {label}" if row == 0 else "", fontsize=7)
        axes[row, 1].set_title(title, fontsize=8, loc="left")
        dead = 0
        for col in range(1, cols):
            ax = axes[row, col]
            if col - 1 >= maps.shape[-1]:
                ax.set_axis_off()
                continue
            channel = maps[..., col - 1]
            note = panel_note(channel)
            if note is None:
                ax.imshow(channel, cmap="viridis", vmin=channel.min(), vmax=channel.max())
            else:  # nothing to scale: say what it is instead
                dead += note.startswith("all 0")
                ax.text(0.5, 0.5, note, ha="center", va="center", fontsize=7,
                        transform=ax.transAxes)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
        if dead:
            axes[row, 0].set_ylabel(f"{dead} dead", fontsize=7)
    fig.suptitle(f"feature maps of one test digit (first {cols - 1} channels per layer)\neach "
                 f"panel is scaled to its own min (dark) … max (bright); all-zero channels are "
                 f"left blank", fontsize=9)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_filters(conv: nn.Conv2D, path: Path) -> Path:
    """The first conv layer's kernels, one small image per filter (input channel 0)."""
    kernel = conv.kernel.data[:, :, 0, :]  # (KH, KW, filters)
    n = kernel.shape[-1]
    cols = min(n, 8)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.0, rows * 1.1), squeeze=False)
    limit = np.abs(kernel).max()
    for i, ax in enumerate(axes.flat):
        if i < n:
            ax.imshow(kernel[..., i], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(str(i), fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    kh, kw = conv.kernel_size
    fig.suptitle(f"{conv.name}: {n} filters of {kh}×{kw} (red +, blue −)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
