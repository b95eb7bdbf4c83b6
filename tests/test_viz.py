"""tinygrad_cnn.viz: what the drawn graph must contain, read back from its DOT source.

The DOT text is parsed (nodes with attributes, edges, cluster membership) and checked as a
graph: labels, kinds of node, edges between labelled nodes, clusters per layer; then
determinism, the cap for huge graphs, gradient overlay, and the render() file paths.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn, viz, zoo
from tinygrad_cnn import functional as F

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz `dot` not installed (CI installs it)")


# ------------------------------------------------------------------------ a tiny DOT parser
_STMT_NODE = re.compile(r"^\s*(\w+) \[(.*)\]$")
_STMT_EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$")
_STMT_SUBGRAPH = re.compile(r"^\s*subgraph (\w+) \{$")
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|<.*>|[^\s"]+)')


def _attrs(text: str) -> dict:
    out = {}
    for key, value in _ATTR.findall(text or ""):
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"').replace("\\n", "\n")
        out[key] = value
    return out


@dataclass
class Dot:
    nodes: dict = field(default_factory=dict)  # node id -> attributes
    edges: list = field(default_factory=list)  # (src id, dst id, attributes)
    clusters: dict = field(default_factory=dict)  # name -> {"attrs": {}, "nodes": [ids]}
    graph_attrs: dict = field(default_factory=dict)

    def label(self, node_id: str) -> str:
        return self.nodes[node_id].get("label", node_id)

    def find(self, label: str) -> str:
        """The one node whose label is exactly ``label`` (first line only)."""
        hits = [n for n in self.nodes if self.label(n).split("\n")[0] == label]
        assert len(hits) == 1, f"expected one node labelled {label!r}, found {hits}"
        return hits[0]

    def labels(self) -> list:
        """The first label line (name, shape, dtype) of each tensor and op node."""
        return [self.label(n).split("\n")[0] for n in self.graph_nodes()]

    def graph_nodes(self) -> list:
        """Tensor and op nodes (not the legend or note nodes)."""
        return [n for n in self.nodes if re.fullmatch(r"(t|op)\d+", n)]

    def labelled_edges(self) -> list:
        return [(self.label(a).split("\n")[0], self.label(b).split("\n")[0])
                for a, b, _ in self.edges]

    def cluster_of(self, node_id: str):
        for name, cluster in self.clusters.items():
            if node_id in cluster["nodes"]:
                return name
        return None


def parse(source: str) -> Dot:
    dot = Dot()
    current = None
    for line in source.splitlines():
        if line.startswith("//") or line.startswith("digraph") or not line.strip():
            continue
        if m := _STMT_SUBGRAPH.match(line):
            current = dot.clusters.setdefault(m.group(1), {"attrs": {}, "nodes": []})
        elif line.strip() == "}":
            current = None
        elif m := _STMT_EDGE.match(line):
            dot.edges.append((m.group(1), m.group(2), _attrs(m.group(3))))
        elif m := _STMT_NODE.match(line):
            name, attrs = m.group(1), _attrs(m.group(2))
            if name == "graph":
                dot.graph_attrs.update(attrs)
            elif name not in ("node", "edge"):
                assert name not in dot.nodes, f"node {name} declared twice"
                dot.nodes[name] = attrs
                if current is not None:
                    current["nodes"].append(name)
        elif current is not None:  # a cluster's own attributes: label="…" style=…
            current["attrs"].update(_attrs(line))
        else:
            raise AssertionError(f"unparsed DOT line: {line!r}")
    for a, b, _ in dot.edges:
        assert a in dot.nodes and b in dot.nodes, f"edge {a} -> {b} to an undeclared node"
    return dot


def draw(root, **kwargs) -> Dot:
    return parse(viz.draw_graph(root, **kwargs).source)


# ------------------------------------------------------------------------ small graphs
class StandIn(nn.Layer):
    """A layer that computes ``fn(x)``: its call's ops form its cluster, titled by its name
    and its class."""

    def __init__(self, name, fn):
        super().__init__(name=name)
        self.fn = fn

    def call(self, x, training):
        return self.fn(x)


class Dense(StandIn):
    pass


def two_layer_graph(dtype=np.float32):
    """loss = mean((relu(x @ w1 + b1) @ w2)²), each layer's ops run by a layer's call."""
    x = Tensor(np.arange(6, dtype=dtype).reshape(2, 3) / 6)
    w1 = Tensor(np.full((3, 4), 0.1, dtype), requires_grad=True, name="dense.kernel")
    b1 = Tensor(np.zeros(4, dtype), requires_grad=True, name="dense.bias")
    w2 = Tensor(np.full((4, 2), -0.2, dtype), requires_grad=True, name="dense_1.kernel")
    h = Dense("dense", lambda x: (x @ w1 + b1).relu())(x)
    y = Dense("dense_1", lambda h: h @ w2)(h)
    loss = (y * y).mean()
    return loss, dict(x=x, w1=w1, b1=b1, w2=w2, h=h, y=y)


def test_tensor_and_op_nodes_have_shape_dtype_and_op_labels():
    loss, _ = two_layer_graph()
    dot = draw(loss)
    labels = dot.labels()
    assert "dense.kernel (3, 4) float32" in labels
    assert "dense.bias (4,) float32" in labels
    assert "dense_1.kernel (4, 2) float32" in labels
    assert "input (2, 3) float32" in labels
    assert sorted(lab for lab in labels if lab[0] not in "(ird") == [
        "add", "matmul", "matmul", "mean", "mul"]
    assert labels.count("(2, 4) float32") == 3  # matmul, add and relu outputs
    root = [lab for lab in labels if lab.startswith("root")]
    assert root == [f"root () float32 = {loss.item():.4g}"]
    assert len(dot.graph_nodes()) == 4 + 6 * 2  # 4 leaves + 6 ops with an output each


def test_edges_follow_the_data_flow():
    loss, _ = two_layer_graph()
    dot = draw(loss)
    edges = dot.labelled_edges()
    for edge in [("input (2, 3) float32", "matmul"), ("dense.kernel (3, 4) float32", "matmul"),
                 ("dense.bias (4,) float32", "add"), ("dense_1.kernel (4, 2) float32", "matmul"),
                 ("(2, 2) float32", "mul"), ("mean", "root () float32 = "
                                             f"{loss.item():.4g}")]:
        assert edge in edges
    # the chain of op → output → op through the first layer
    add = dot.find("add")
    relu = dot.find("relu")
    (add_out,) = [b for a, b, _ in dot.edges if a == add]
    assert (add_out, relu) in [(a, b) for a, b, _ in dot.edges]
    # y * y uses y twice: two edges into the same mul node
    mul = dot.find("mul")
    assert len([1 for a, b, _ in dot.edges if b == mul]) == 2
    # every op has exactly one outgoing edge, to its output tensor
    for op in [n for n in dot.graph_nodes() if n.startswith("op")]:
        assert [b for a, b, _ in dot.edges if a == op] == ["t" + op[2:]]


def test_inputs_parameters_ops_and_root_look_different_and_a_legend_says_so():
    loss, _ = two_layer_graph()
    dot = draw(loss)
    kinds = {
        "input": dot.nodes[dot.find("input (2, 3) float32")],
        "parameter": dot.nodes[dot.find("dense.kernel (3, 4) float32")],
        "op": dot.nodes[dot.find("add")],
        "root": dot.nodes[dot.find(f"root () float32 = {loss.item():.4g}")],
    }
    assert len({a["shape"] for a in kinds.values()}) == 4
    assert len({a["fillcolor"] for a in kinds.values()}) == 4
    legend = dot.nodes["legend"]["label"]
    assert legend.startswith("<") and legend.endswith(">")  # an HTML-like table
    for kind, attrs in kinds.items():
        assert kind in legend and attrs["fillcolor"] in legend
    assert "legend" not in draw(loss, legend=False).nodes


def test_constant_operands_are_drawn_as_inputs():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    y = (x * 2).sum()
    dot = draw(y)
    const = dot.find("const 2 () float32")
    assert dot.nodes[const]["shape"] == "invhouse"  # the input kind: no grad, not a parameter
    assert (const, dot.find("mul")) in [(a, b) for a, b, _ in dot.edges]
    # x requires grad and is a leaf without a name: a parameter-kind node labelled "leaf"
    assert dot.nodes[dot.find("leaf (3,) float32")]["shape"] == "cylinder"


def test_a_leaf_root_is_one_node():
    dot = draw(Tensor(np.zeros((2, 2), np.float64)))
    assert dot.labels() == ["root (2, 2) float64"]
    assert dot.edges == []


def test_show_shapes_false_draws_a_compact_op_graph():
    loss, _ = two_layer_graph()
    dot = draw(loss, show_shapes=False)
    labels = dot.labels()
    assert "dense.kernel" in labels and "input" in labels
    assert not any("float32" in lab for lab in labels)
    edges = dot.labelled_edges()
    assert ("matmul", "add") in edges and ("add", "relu") in edges and ("relu", "matmul") in edges
    assert len(dot.graph_nodes()) == 4 + 6 + 1  # leaves, ops, the root


def test_rankdir_sets_the_layout_direction():
    loss, _ = two_layer_graph()
    assert draw(loss).graph_attrs["rankdir"] == "TB"
    assert draw(loss, rankdir="lr").graph_attrs["rankdir"] == "LR"


# ------------------------------------------------------------------------ determinism
def test_the_same_graph_gives_byte_identical_dot():
    loss, _ = two_layer_graph()
    assert viz.draw_graph(loss).source == viz.draw_graph(loss).source
    # an identically built graph (other tensor ids, other id()s) gives the same text too
    again, _ = two_layer_graph()
    assert viz.draw_graph(again).source == viz.draw_graph(loss).source


def test_node_order_follows_creation_order():
    a = Tensor(np.ones(2, np.float32), requires_grad=True, name="a")
    b = Tensor(np.ones(2, np.float32), requires_grad=True, name="b")
    dot = draw((b * a + a * b).sum())
    ids = list(dot.nodes)
    assert ids.index(dot.find("a (2,) float32")) < ids.index(dot.find("b (2,) float32"))
    assert dot.find("a (2,) float32") == "t0" and dot.find("b (2,) float32") == "t1"


# ------------------------------------------------------------------------ layer clusters
def test_each_layer_gets_one_cluster_titled_name_and_type():
    loss, _ = two_layer_graph()
    dot = draw(loss)
    assert list(dot.clusters) == ["cluster_dense", "cluster_dense_1"]
    assert dot.clusters["cluster_dense"]["attrs"]["label"] == "dense (Dense)"
    assert dot.clusters["cluster_dense_1"]["attrs"]["label"] == "dense_1 (Dense)"
    first = [dot.label(n).split("\n")[0] for n in dot.clusters["cluster_dense"]["nodes"]]
    assert first == ["dense.kernel (3, 4) float32", "dense.bias (4,) float32", "matmul",
                     "(2, 4) float32", "add", "(2, 4) float32", "relu", "(2, 4) float32"]
    second = [dot.label(n).split("\n")[0] for n in dot.clusters["cluster_dense_1"]["nodes"]]
    assert second == ["dense_1.kernel (4, 2) float32", "matmul", "(2, 2) float32"]
    # the input, the loss ops and the root belong to no layer
    for label in ["input (2, 3) float32", "mul", "mean"]:
        assert dot.cluster_of(dot.find(label)) is None
    assert dot.cluster_of(dot.find(f"root () float32 = {loss.item():.4g}")) is None


def test_distinct_layers_with_the_same_name_get_distinct_clusters():
    x = Tensor(np.ones((1, 2), np.float32), requires_grad=True)
    y = Dense("dense", lambda x: x.relu())(x)
    z = Dense("dense", lambda y: y.tanh())(y)
    z = StandIn("we/ird name", lambda z: z.exp())(z)
    dot = draw(z.sum())
    assert list(dot.clusters) == ["cluster_dense", "cluster_dense_2", "cluster_we_ird_name"]
    assert dot.clusters["cluster_we_ird_name"]["attrs"]["label"] == "we/ird name (StandIn)"


def test_an_op_belongs_to_the_innermost_layer_whose_call_ran_it():
    x = Tensor(np.ones((1, 2), np.float32), requires_grad=True)
    inner = Dense("inner", lambda h: h.relu())
    outer = StandIn("outer", lambda x: inner(x * 2).exp())  # mul and exp are outer's own
    dot = draw(outer(x).sum())
    ops = {name: [dot.label(n) for n in c["nodes"] if n.startswith("op")]
           for name, c in dot.clusters.items()}
    assert ops == {"cluster_outer": ["mul", "exp"], "cluster_inner": ["relu"]}
    assert dot.cluster_of(dot.find("sum")) is None


def test_ops_made_before_a_call_stay_outside_its_cluster_even_when_it_uses_them():
    x = Tensor(np.ones((1, 2), np.float32), requires_grad=True)
    c = x.tanh()  # made before the call, used inside it
    y = Dense("dense", lambda x: x * c)(x)
    dot = draw(y.sum())
    assert dot.cluster_of(dot.find("tanh")) is None
    assert dot.cluster_of(dot.find("mul")) == "cluster_dense"


def test_a_parameter_shared_by_two_layers_stays_outside_both():
    w = Tensor(np.ones((2, 2), np.float32), requires_grad=True, name="shared")
    x = Tensor(np.ones((1, 2), np.float32))
    y = Dense("a", lambda x: x @ w)(x)
    y = Dense("b", lambda y: y @ w)(y)
    dot = draw(y.sum())
    assert dot.cluster_of(dot.find("shared (2, 2) float32")) is None


def test_real_layers_become_clusters_with_named_parameters():
    tc.manual_seed(0)
    model = nn.Sequential([nn.Dense(4, activation="relu", input_shape=(2, 3)), nn.Flatten(),
                           nn.Dense(3)])
    x = Tensor(np.ones((5, 2, 3), np.float32))
    loss = tc.functional.cross_entropy(model(x), np.array([0, 1, 2, 0, 1]))
    dot = draw(loss)
    titles = [c["attrs"]["label"] for c in dot.clusters.values()]
    assert titles == ["dense (Dense)", "flatten (Flatten)", "dense_1 (Dense)"]
    kernel = dot.find("dense.kernel (3, 4) float32")
    assert dot.cluster_of(kernel) == "cluster_dense"
    assert dot.cluster_of(dot.find("dense_1.bias (3,) float32")) == "cluster_dense_1"
    assert dot.cluster_of(dot.find("input (5, 2, 3) float32")) is None
    ops = [dot.label(n) for n in dot.clusters["cluster_dense"]["nodes"] if n.startswith("op")]
    assert ops == ["dense + relu"]  # Dense(activation="relu") runs as one fused op
    flatten = [dot.label(n) for n in dot.clusters["cluster_flatten"]["nodes"]]
    assert flatten == ["reshape (5, 8)", "(5, 8) float32"]
    # an op on constants only is not recorded, so a Flatten straight on the input would
    # not show up: nothing there requires grad


def test_simple_mnist_convnet_graph_reads_layer_by_layer():
    tc.manual_seed(0)
    model = zoo.simple_mnist_convnet()
    images = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    loss = tc.functional.cross_entropy(model(Tensor(images)), np.array([3, 7]))
    loss.backward(retain_graph=True)
    dot = draw(loss, show_grads=True)
    titles = [c["attrs"]["label"] for c in dot.clusters.values()]
    assert titles == ["conv2d (Conv2D)", "max_pooling2d (MaxPooling2D)", "conv2d_1 (Conv2D)",
                      "max_pooling2d_1 (MaxPooling2D)", "flatten (Flatten)",
                      "dropout (Dropout)", "dense (Dense)"]
    labels = [lab.split("\n")[0] for lab in dot.labels()]
    assert "conv2d.kernel (3, 3, 1, 32) float32" in labels
    assert "conv2d_1.kernel (3, 3, 32, 64) float32" in labels
    assert "dense.kernel (1600, 10) float32" in labels
    assert sum(lab.startswith("conv2d 3×3 s1 valid") for lab in labels) == 2
    assert sum(lab.startswith("max_pool2d 2×2 s2 valid") for lab in labels) == 2
    assert "(2, 26, 26, 32) float32" in labels and "(2, 5, 5, 64) float32" in labels
    assert all("‖grad‖" in dot.label(n) for n in dot.graph_nodes()
               if n.startswith("t") and "input" not in dot.label(n))


def test_batch_normalization_is_drawn_as_one_batch_norm_node():
    tc.manual_seed(0)
    model = zoo.batchnorm_mnist_convnet()
    images = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    for training, label in ((True, "batch_norm"), (False, "batch_norm (moving statistics)")):
        dot = draw(model(Tensor(images), training=training).sum())
        for cluster in ("cluster_batch_normalization", "cluster_batch_normalization_1"):
            nodes = dot.clusters[cluster]["nodes"]
            assert [dot.label(n) for n in nodes if n.startswith("op")] == [label]


# ------------------------------------------------------------------------ huge graphs
def test_a_100k_op_chain_is_capped_with_a_note_and_no_recursion_error():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    y = x
    n_ops = 100_000
    for i in range(n_ops):
        y = y.relu() if i % 2 else -y
    start = time.perf_counter()
    dot = draw(y, max_nodes=300)
    elapsed = time.perf_counter() - start
    assert elapsed < 10, f"drawing took {elapsed:.1f}s"
    total = 2 * n_ops + 1  # every op plus its output, plus the leaf x
    assert len(dot.graph_nodes()) == 300  # 150 (op, output) pairs, the root's first
    note = dot.label("omitted")
    assert f"{total - 300:,} more nodes not drawn (max_nodes=300)" in note
    assert f"300 of {total:,} nodes shown" in note
    # what is drawn is the end nearest the root, connected to it, with the cut marked
    assert [b for a, b, _ in dot.edges if a == "omitted"] == ["op0"]
    assert all(attrs.get("style") == "dashed" for a, _, attrs in dot.edges if a == "omitted")
    reaches_root = {"t149"}
    for a, b, _ in reversed(dot.edges):
        if b in reaches_root:
            reaches_root.add(a)
    assert set(dot.graph_nodes()) <= reaches_root


def test_the_default_cap_keeps_graphs_readable():
    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    y = x
    for _ in range(2000):
        y = y.tanh()
    dot = draw(y)
    assert len(dot.graph_nodes()) <= viz.DEFAULT_MAX_NODES
    assert "omitted" in dot.nodes
    assert "omitted" not in draw(y, max_nodes=10_000).nodes


# ------------------------------------------------------------------------ gradients
def test_show_grads_labels_every_tensor_with_its_gradient_norm():
    loss, t = two_layer_graph()
    loss.backward(retain_graph=True)
    dot = draw(loss, show_grads=True)
    (y,) = [n for n in dot.clusters["cluster_dense_1"]["nodes"]
            if dot.label(n).startswith("(2, 2) float32")]  # dense_1's output
    nodes = {"w1": dot.find("dense.kernel (3, 4) float32"),
             "b1": dot.find("dense.bias (4,) float32"),
             "w2": dot.find("dense_1.kernel (4, 2) float32"), "y": y}
    for name, node in nodes.items():
        norm = np.linalg.norm(t[name].grad.astype(np.float64))
        assert dot.label(node).split("\n")[1] == f"‖grad‖ {norm:.3g}"
    assert dot.label(dot.find("input (2, 3) float32")) == "input (2, 3) float32"  # can't have one
    assert dot.label(dot.find(f"root () float32 = {loss.item():.4g}")).split("\n")[1] == (
        "‖grad‖ 1 | grad 1")


def test_show_grads_shades_nodes_by_gradient_magnitude():
    a = Tensor(np.ones(4, np.float64), requires_grad=True, name="small")
    b = Tensor(np.ones(4, np.float64), requires_grad=True, name="large")
    loss = (a * 1e-4 + b * 1e3).sum()
    loss.backward(retain_graph=True)
    dot = draw(loss, show_grads=True)
    small = dot.nodes[dot.find("small (4,) float64")]
    large = dot.nodes[dot.find("large (4,) float64")]
    assert small["fillcolor"] == viz._GRAD_RAMP[0]  # palest
    assert large["fillcolor"] == viz._GRAD_RAMP[-1]  # darkest
    assert large["fontcolor"] == "white"
    legend = dot.nodes["legend"]["label"]
    assert "‖grad‖ 0.0002" in legend and "2e+03" in legend  # the range on the scale


def test_zero_and_nonfinite_gradients_get_their_own_colours():
    a = Tensor(np.array([-1.0, -2.0]), requires_grad=True, name="dead")
    b = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="fine")
    loss = (a.relu() + b).sum()
    loss.backward(retain_graph=True)
    b.grad = np.array([np.nan, 1.0])
    dot = draw(loss, show_grads=True)
    assert dot.nodes[dot.find("dead (2,) float64")]["fillcolor"] == viz._GRAD_ZERO
    assert dot.label(dot.find("dead (2,) float64")).split("\n")[1] == "‖grad‖ 0"
    assert dot.nodes[dot.find("fine (2,) float64")]["fillcolor"] == viz._GRAD_NONFINITE


def test_show_grads_before_backward_warns_how_to_get_gradients():
    loss, _ = two_layer_graph()
    with pytest.warns(UserWarning, match=r"backward\(retain_graph=True\)"):
        dot = draw(loss, show_grads=True)
    assert all(dot.label(n).split("\n")[1] == "no grad" for n in dot.graph_nodes()
               if n.startswith("t") and not dot.label(n).startswith("input"))


def test_a_released_graph_is_drawn_with_a_note_not_silently_as_one_node():
    loss, _ = two_layer_graph()
    loss.backward()  # no retain_graph: ops forget their inputs
    with pytest.warns(UserWarning, match="released"):
        dot = draw(loss)
    assert "retain_graph=True" in dot.label("released")
    assert ("released", dot.find("mean")) in [(a, b) for a, b, _ in dot.edges]


# ------------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("kwargs, error, words", [
    ({"rankdir": "UP"}, ValueError, ["rankdir", "'UP'", "'TB'", "'LR'"]),
    ({"rankdir": 1}, TypeError, ["rankdir", "1", "'TB'"]),
    ({"max_nodes": 0}, ValueError, ["max_nodes", "0", "positive int"]),
    ({"max_nodes": 2.5}, TypeError, ["max_nodes", "2.5", "positive int"]),
    ({"max_nodes": True}, TypeError, ["max_nodes", "True"]),
    ({"show_grads": "yes"}, TypeError, ["show_grads", "'yes'", "True or False"]),
    ({"show_shapes": None}, TypeError, ["show_shapes", "None", "True or False"]),
])
def test_bad_options_name_the_argument_value_and_what_is_accepted(kwargs, error, words):
    loss, _ = two_layer_graph()
    with pytest.raises(error) as info:
        viz.draw_graph(loss, **kwargs)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("fn", [viz.draw_graph, lambda r: viz.render(r, "x.dot")])
def test_root_must_be_a_tensor(fn):
    with pytest.raises(TypeError, match=r"root must be a tinygrad_cnn Tensor.*ndarray"):
        fn(np.ones(3))


# ------------------------------------------------------------------------ render
def test_render_dot_writes_the_source_without_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    loss, _ = two_layer_graph()
    path = viz.render(loss, tmp_path / "graph.dot")
    assert path == str(tmp_path / "graph.dot")
    text = (tmp_path / "graph.dot").read_text(encoding="utf-8")
    assert text == viz.draw_graph(loss).source
    assert parse(text).find("dense.kernel (3, 4) float32")
    # options reach draw_graph
    viz.render(loss, tmp_path / "compact.gv", show_shapes=False, legend=False)
    compact = parse((tmp_path / "compact.gv").read_text(encoding="utf-8"))
    assert "legend" not in compact.nodes
    assert not any("float32" in label for label in compact.labels())


def test_render_without_dot_says_how_to_install_graphviz(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    loss, _ = two_layer_graph()
    with pytest.raises(viz.GraphvizNotFoundError) as info:
        viz.render(loss, tmp_path / "graph.svg")
    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    for words in ["Graphviz", "system package", "apt-get install graphviz",
                  "brew install graphviz", "conda install graphviz",
                  "https://graphviz.org/download/", ".dot"]:
        assert words in message
    assert not (tmp_path / "graph.svg").exists()


@pytest.mark.parametrize("name", ["graph.jpg", "graph", "graph.svg.txt"])
def test_render_rejects_unknown_suffixes_listing_the_accepted_ones(tmp_path, name):
    loss, _ = two_layer_graph()
    with pytest.raises(ValueError) as info:
        viz.render(loss, tmp_path / name)
    for fmt in [".svg", ".png", ".pdf", ".dot"]:
        assert fmt in str(info.value)
    assert name in str(info.value)


def test_render_checks_path_type_and_folder(tmp_path):
    loss, _ = two_layer_graph()
    with pytest.raises(TypeError, match="path must be a str or os.PathLike.*int"):
        viz.render(loss, 42)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        viz.render(loss, tmp_path / "missing" / "graph.dot")


@needs_dot
def test_render_svg_is_valid_xml_containing_the_op_labels(tmp_path):
    loss, _ = two_layer_graph()
    path = viz.render(loss, str(tmp_path / "graph.SVG"))
    assert path == str(tmp_path / "graph.SVG")
    tree = ET.parse(path)
    assert tree.getroot().tag == "{http://www.w3.org/2000/svg}svg"
    texts = [el.text for el in tree.iter("{http://www.w3.org/2000/svg}text") if el.text]
    for label in ["matmul", "add", "relu", "mul", "mean",
                  "dense.kernel (3, 4) float32", "dense (Dense)", "dense_1 (Dense)"]:
        assert label in texts


@needs_dot
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_render_binary_formats(tmp_path, suffix, magic):
    loss, _ = two_layer_graph()
    path = viz.render(loss, tmp_path / f"graph{suffix}", show_grads=False)
    with open(path, "rb") as f:
        assert f.read(4) == magic
    assert os.path.getsize(path) > 1000


def test_small_tensors_show_their_signed_data_and_gradient_like_micrograd():
    a = Tensor(np.array([-1.5, 2.0]), requires_grad=True, name="a")
    b = Tensor(np.array(3.0), requires_grad=True, name="b")
    loss = (a * b).sum()
    loss.backward(retain_graph=True)
    dot = draw(loss, show_grads=True)
    assert dot.label(dot.find("a (2,) float64")).split("\n")[-1] == "data [-1.5, 2] | grad [3, 3]"
    assert dot.label(dot.find("b () float64")).split("\n")[-1] == "data 3 | grad 0.5"
    big = Tensor(np.ones(5), requires_grad=True, name="big")
    assert "data" not in draw((big * 2).sum()).label(draw((big * 2).sum()).find(
        "big (5,) float64"))


def test_legend_says_when_every_gradient_is_exactly_zero():
    a = Tensor(np.array([-1.0, -2.0]), requires_grad=True, name="dead")
    loss = a.relu().sum() * 0
    loss.backward(retain_graph=True)
    legend = draw(loss, show_grads=True).label("legend")
    assert "every gradient is exactly zero" in legend
    assert "no tensor has a gradient" not in legend


def test_warnings_point_at_the_callers_line_even_through_render(tmp_path):
    loss, _ = two_layer_graph()
    loss.backward()  # released: drawing warns
    with pytest.warns(UserWarning, match="released") as record:
        viz.render(loss, tmp_path / "g.dot")
    assert record[0].filename == __file__


# ------------------------------------------------------------------- operands and backward
def edges_into(dot, op_label):
    op = dot.find(op_label)
    return [(dot.label(a).split("\n")[0], attrs) for a, b, attrs in dot.edges if b == op]


def edge_parts(attrs) -> tuple:
    """(operand name, gradient text) an edge's label shows; None for a part it lacks.

    The operand is blue, the gradient red; an edge showing both has an HTML label with
    one FONT element each."""
    label = attrs.get("label")
    if label is None:
        return None, None
    if label.startswith("<"):
        operand, grad = re.findall(r'<FONT COLOR="([^"]+)">(.*?)</FONT>', label)
        assert (operand[0], grad[0]) == ("#2f6db5", "#b03a2e"), label
        return html.unescape(operand[1]), html.unescape(grad[1])
    if attrs["fontcolor"] == "#2f6db5":
        return label, None
    assert attrs["fontcolor"] == "#b03a2e", attrs
    return None, label


@pytest.mark.parametrize("show_backward", [False, True])
def test_edges_into_ops_with_ordered_operands_say_which_operand_they_are(show_backward):
    a = Tensor(np.array([1.5, 2.0]), requires_grad=True, name="a")
    b = Tensor(np.array([0.5, 4.0]), requires_grad=True, name="b")
    m = Tensor(np.ones((2, 2)), requires_grad=True, name="m")
    x = Tensor(np.ones((1, 3, 3, 1)), name="image")
    k = Tensor(np.ones((2, 2, 1, 1)), requires_grad=True, name="k")
    bias = Tensor(np.zeros(1), requires_grad=True, name="bias")
    loss = ((a - b) / b + a ** b + (a @ m) * b).sum() + F.conv2d(x, k, bias).sum()
    dot = draw(loss, show_backward=show_backward)
    op = (lambda name: next(lab for lab in dot.labels() if lab.endswith(": " + name))
          ) if show_backward else (lambda name: name)
    heads = {name: sorted((src, edge_parts(attrs)[0]) for src, attrs in
                          edges_into(dot, op(name)))
             for name in ("sub", "div", "pow", "matmul", "conv2d 2×2 s1 valid")}
    assert heads["sub"] == [("a (2,) float64", "a"), ("b (2,) float64", "b")]
    assert heads["div"] == [("(2,) float64", "a"), ("b (2,) float64", "b")]
    assert heads["pow"] == [("a (2,) float64", "a"), ("b (2,) float64", "b")]
    assert heads["matmul"] == [("a (2,) float64", "a"), ("m (2, 2) float64", "b")]
    assert heads["conv2d 2×2 s1 valid"] == [("bias (1,) float64", "bias"),
                                            ("image (1, 3, 3, 1) float64", "x"),
                                            ("k (2, 2, 1, 1) float64", "kernel")]
    # the inputs of add and mul can be swapped: their edges name no operand
    swappable = [n for n in dot.graph_nodes()
                 if dot.label(n).split("\n")[0].split(": ")[-1] in ("add", "mul")]
    assert len(swappable) == 4
    assert all(edge_parts(attrs)[0] is None for a, b, attrs in dot.edges if b in swappable)
    assert "blue on an edge" in dot.label("legend")


def grad_text(g):
    """What an edge says of a gradient: the values of a small one, else its norm."""
    g = np.asarray(g, dtype=np.float64)
    if g.size <= 4:
        return "grad " + (f"{g.item():.4g}" if g.ndim == 0 else
                          "[" + ", ".join(f"{v:.3g}" for v in g.ravel()) + "]")
    return f"‖grad‖ {np.sqrt(np.sum(g * g)):.3g}"


def test_show_backward_numbers_each_op_and_puts_the_gradient_on_every_edge(capsys):
    loss, v = two_layer_graph(np.float64)
    dot = draw(loss, show_backward=True)
    steps = tc.explain_backward(loss)
    ops = [n for n in dot.graph_nodes() if n.startswith("op")]
    assert sorted(dot.label(n).split("\n")[0] for n in ops) == sorted(
        f"step {s.index}: {s.op}" for s in steps)
    for n in ops:
        first, *rule = dot.label(n).split("\n")
        step = steps[int(first.split(":")[0][5:]) - 1]
        assert " ".join(rule) == step.rule  # wrapped onto lines of at most 44 characters
        assert all(len(line) <= 44 for line in rule)
    # each leaf's edge carries what reaches it: tc.grad's gradient (each is used once)
    weights = [v["w1"], v["b1"], v["w2"]]
    expected = dict(zip([w.name for w in weights], tc.grad(loss, weights, retain_graph=True)))
    for a, b, attrs in dot.edges:
        name = dot.label(a).split(" ")[0]
        if name in expected:
            assert edge_parts(attrs)[1] == grad_text(expected[name].data), name
    # (3, 4) weights show a norm, the (4,) bias its values
    assert grad_text(expected["dense.kernel"].data).startswith("‖grad‖ ")
    assert grad_text(expected["dense.bias"].data).startswith("grad [")
    # the root's edge carries the seed, 1; the input gets no gradient, so its edge says none
    (last,) = [attrs for a, b, attrs in dot.edges if dot.label(b).startswith("root")]
    assert edge_parts(last) == (None, "grad 1")
    (into_matmul,) = [attrs for a, b, attrs in dot.edges if dot.label(a).startswith("input")]
    assert edge_parts(into_matmul) == ("a", None)
    assert "red on an edge" in dot.label("legend")


def test_show_backward_in_the_compact_op_graph_labels_op_to_op_edges():
    loss, v = two_layer_graph(np.float64)
    dot = draw(loss, show_backward=True, show_shapes=False)
    first = {n: dot.label(n).split("\n")[0] for n in dot.graph_nodes()}
    relu = next(n for n, label in first.items() if label.endswith(": relu"))
    (into_relu,) = [attrs for a, b, attrs in dot.edges if b == relu]
    (out_of_relu,) = [attrs for a, b, attrs in dot.edges if a == relu]
    # add → relu carries what relu sends back to add's output; relu → matmul what matmul
    # sends back to relu's output h
    pre, h = tc.grad(loss, [v["h"]._ctx.parents[0], v["h"]], retain_graph=True)
    assert edge_parts(into_relu) == (None, grad_text(pre.data))
    assert edge_parts(out_of_relu) == ("a", grad_text(h.data))  # h is matmul's left operand


def test_show_backward_changes_no_grad_keeps_the_graph_and_is_deterministic():
    loss, v = two_layer_graph()
    first = viz.draw_graph(loss, show_backward=True).source
    assert all(t.grad is None for t in (v["w1"], v["b1"], v["w2"], v["h"], v["y"]))
    assert viz.draw_graph(loss, show_backward=True).source == first
    loss.backward()
    assert v["w1"].grad is not None and v["w1"].grad.shape == (3, 4)
