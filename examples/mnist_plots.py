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
    """Loss and accuracy per epoch, train vs test."""
    epochs = [m["epoch"] for m in metrics]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for split, style in (("train", "o-"), ("test", "s--")):
        ax_loss.plot(epochs, [m[f"{split}_loss"] for m in metrics], style, label=split)
        ax_acc.plot(epochs, [100 * m[f"{split}_accuracy"] for m in metrics], style, label=split)
    ax_loss.set(title="cross-entropy loss", xlabel="epoch", ylabel="loss")
    ax_acc.set(title="accuracy", xlabel="epoch", ylabel="accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_feature_maps(model: nn.Sequential, image: np.ndarray, label: int, path: Path,
                      max_channels: int = 16) -> Path:
    """One digit through the network: the maps after each conv and pooling layer.

    Each row is one layer, titled with its output shape (e.g. 28×28×10 → 14×14×10), so the
    picture shows how 'same' padding keeps the size and pooling halves it.
    """
    model.eval()
    stages, x = [], Tensor(image)
    with tc.no_grad():
        for layer in model.layers:
            x = layer(x)
            if isinstance(layer, (nn.Conv2D, nn.MaxPooling2D, nn.AveragePooling2D)):
                stages.append((layer, x.data[0]))
    model.train()
    cols = 1 + min(max_channels, max(maps.shape[-1] for _, maps in stages))
    fig, axes = plt.subplots(len(stages), cols, figsize=(cols * 1.1, len(stages) * 1.4),
                             squeeze=False)
    for row, (layer, maps) in enumerate(stages):
        axes[row, 0].imshow(image[0, ..., 0], cmap="gray_r")
        axes[row, 0].set_title(f"input, digit {label}" if row == 0 else "", fontsize=7)
        h, w, c = maps.shape
        axes[row, 1].set_title(f"{layer.name}: {h}×{w}×{c}", fontsize=8, loc="left")
        for col in range(1, cols):
            ax = axes[row, col]
            if col - 1 < c:
                ax.imshow(maps[..., col - 1], cmap="viridis")
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(f"feature maps (first {cols - 1} channels per layer)", fontsize=9)
    fig.tight_layout()
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
