"""The package's shape, as ARCHITECTURE.md draws it: imports flow one way, one door per op."""

import ast
import inspect
import re
from pathlib import Path

# The import-graph tests read the source only, so they still report a cycle that would
# stop `import tinygrad_cnn` itself; the package is imported inside the other tests.
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tinygrad_cnn"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_imports() -> dict[str, set[str]]:
    """module → the package modules it imports at module level or inside functions."""
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    graph = {}
    for path in paths:
        name = module_name(path)
        is_package = path.name == "__init__.py"
        base = name if is_package else name.rsplit(".", 1)[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = base.split(".")
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    target = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                # `from . import nn` imports the module tinygrad_cnn.nn; `from .x import f`
                # imports tinygrad_cnn.x
                targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found.update(t for t in targets if t in modules and t != name)
        graph[name] = found
    return graph


def find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_import_checker_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_inside_the_package():
    graph = {m: ts for m, ts in package_imports().items() if m != "tinygrad_cnn"}
    graph = {m: {t for t in ts if t != "tinygrad_cnn"} for m, ts in graph.items()}
    assert find_cycle(graph) is None


def test_ops_and_function_work_on_arrays_and_never_import_tensor_or_above():
    above = ("tinygrad_cnn.tensor", "tinygrad_cnn.functional", "tinygrad_cnn.nn",
             "tinygrad_cnn.optim", "tinygrad_cnn.viz", "tinygrad_cnn.data")
    for module, targets in package_imports().items():
        if module == "tinygrad_cnn.function" or module.startswith("tinygrad_cnn.ops"):
            assert not [t for t in targets if t.startswith(above)], module


def test_autograd_sits_below_function_and_imports_only_the_bottom_layer():
    # Function.apply reads autograd's grad mode, so autograd must never import upwards.
    bottom = {"tinygrad_cnn.checks", "tinygrad_cnn.shapes", "tinygrad_cnn.rng",
              "tinygrad_cnn.workspace"}
    assert package_imports()["tinygrad_cnn.autograd"] <= bottom


def test_no_sys_path_manipulation_in_examples_tests_or_benchmarks():
    pattern = re.compile(r"sys\.path\.(insert|append)")
    offenders = [str(p.relative_to(ROOT)) for folder in ("examples", "tests", "benchmarks")
                 for p in (ROOT / folder).rglob("*.py") if pattern.search(p.read_text())
                 and p.name != "test_architecture.py"]
    assert offenders == []


def op_classes():
    import importlib

    from tinygrad_cnn.function import Function
    classes = []
    for path in sorted((PACKAGE / "ops").glob("*.py")):
        module = importlib.import_module(module_name(path))
        classes += [c for _, c in inspect.getmembers(module, inspect.isclass)
                    if issubclass(c, Function) and c.__module__ == module.__name__
                    and not c.__name__.startswith("_")]
    return classes


def test_op_classes_end_in_Op_and_never_share_a_name_with_a_layer():
    from tinygrad_cnn import nn
    layers = {name for name, c in inspect.getmembers(nn, inspect.isclass)
              if issubclass(c, nn.Layer)}
    names = [c.__name__ for c in op_classes()]
    assert len(names) > 25
    assert [n for n in names if not n.endswith("Op")] == []
    assert set(names) & layers == set()


# ------------------------------------------------- the recipe of "Adding an op", checked

def test_every_op_derives_both_orders_from_one_rule_or_a_complete_pair():
    """Either ``derivative`` (written once: backward and backward_graph follow from it) or
    both ``backward`` and ``backward_graph`` by hand, never a mix: a pair missing its
    backward_graph would fail only when someone asks for create_graph=True."""
    from tinygrad_cnn.function import Function

    def own(c, method):
        return getattr(c, method) is not getattr(Function, method)

    no_second_order = [c.__name__ for c in op_classes()
                       if not own(c, "derivative") and not own(c, "backward_graph")]
    assert no_second_order == [], (
        "these ops have no backward_graph, so tc.grad(create_graph=True) fails through them: "
        "write the derivative once as derivative(self, grad, inputs, output), or add "
        "backward_graph next to backward (ARCHITECTURE.md, Adding an op)")
    mixed = [c.__name__ for c in op_classes() if own(c, "derivative")
             and (own(c, "backward") or own(c, "backward_graph"))]
    assert mixed == [], "an op with a derivative takes backward and backward_graph from it"


def test_every_op_states_its_derivative_rule_in_one_line():
    bad = [c.__name__ for c in op_classes()
           if not (isinstance(c.rule, str) and c.rule.startswith(f"{c.name}: ")
                   and "∂" in c.rule and "\n" not in c.rule)]
    assert bad == [], ("each op class needs its own rule, one line that starts with its name: "
                       "rule = \"relu: ∂y/∂x = 1 where x > 0, else 0\"")


def recorded_op_classes(roots) -> set:
    """The classes of every op in the graphs that lead to ``roots``."""
    found, seen, stack = set(), set(), list(roots)
    while stack:
        ctx = stack.pop()._ctx
        if ctx is not None and id(ctx) not in seen:
            seen.add(id(ctx))
            found.add(type(ctx))
            stack.extend(ctx.parents)
    return found


def test_every_op_is_in_the_higher_order_table():
    """Each op class is recorded by some row of test_higher_order.OPS (which gradgradchecks
    every row), by the function itself or by its first or second derivative. Ops that
    compute another op's gradient (``gradient_of``) need no row of their own: they appear in
    the derivative graphs of their op's row, and are checked there."""
    import numpy as np
    from test_higher_order import OPS

    import tinygrad_cnn as tc
    covered = set()
    for fn, make_inputs in OPS.values():
        inputs = make_inputs()
        out = fn(*inputs)
        grads = tc.grad(out, inputs, grad_outputs=np.ones(out.shape, out.dtype),
                        create_graph=True, allow_unused=True)
        grads = [g for g in grads if g is not None and g.requires_grad]
        roots = [out, *grads]
        if grads:
            square = sum((g * g).sum() for g in grads)
            roots += tc.grad(square, inputs, create_graph=True, allow_unused=True)
        covered |= recorded_op_classes([r for r in roots if r is not None])
    missing = [c.__name__ for c in op_classes() if c not in covered]
    assert missing == [], "add a row for these ops to OPS in tests/test_higher_order.py"


def test_every_op_has_a_door_in_functional():
    from tinygrad_cnn import functional as F
    # ops that compute another op's gradient (conv2d_input_grad, …) are reached by tc.grad
    doors = [c for c in op_classes() if c.gradient_of is None]
    missing = [c.__name__ for c in doors if not callable(getattr(F, c.name, None))]
    assert missing == []


def test_the_public_names_are_exported():
    import tinygrad_cnn as tc
    for name in ("Tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck",
                 "GradcheckError", "manual_seed", "conv_output_shape", "functional", "nn",
                 "optim", "viz", "data", "losses", "zoo"):
        assert hasattr(tc, name), name


def test_what_training_uses_never_imports_nn():
    below_nn = ("tinygrad_cnn.losses", "tinygrad_cnn.metrics", "tinygrad_cnn.targets",
                "tinygrad_cnn.optim", "tinygrad_cnn.optim_base", "tinygrad_cnn.callbacks",
                "tinygrad_cnn.progress")
    graph = package_imports()
    for module in below_nn:
        assert not [t for t in graph[module] if t.startswith("tinygrad_cnn.nn")], module
