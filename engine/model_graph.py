"""The layer graph of a model spec, laid out top to bottom (no Qt: the window draws it).

``graph_of(spec, input_shape=None)`` gives a ``ModelGraph``: one node per layer (a model
inside the model is one node: its class and parameters), with its class, name, output shape
text and parameter count, and whether it is a model input or output; one edge per
connection; and a layered layout: each node's ``row`` (0 at the top) and ``column`` (a
float, in node widths, centred on 0). A Sequential spec is a chain from its input; a
functional config (``engine.spec.is_functional``) is read from its ``inbound_nodes``.

The layout is the classic layered one, kept simple: longest-path layering (every edge goes
down; cycles, which a shared layer fed by its own output makes, are broken by ignoring the
edges that close them), long edges get waypoints (one per row crossed), rows are ordered by
barycenters in a few down/up sweeps to reduce crossings, and each node is put over the mean
of its neighbours, keeping at least one width between nodes of a row.

``ModelGraph.plain()`` is the plain structure ``widgets.model_graph_view`` draws.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from engine import spec as S

SWEEPS = 4


@dataclass(frozen=True)
class GraphNode:
    name: str
    class_name: str
    output_shape: str = ""
    params: int | None = None
    is_input: bool = False
    is_output: bool = False
    row: int = 0
    column: float = 0.0
    calls: int = 1  # how many times the layer is used (a shared layer: more than one)


@dataclass(frozen=True)
class GraphEdge:
    src: str
    dst: str
    # (row, column) of each row the edge crosses between its two nodes.
    waypoints: tuple[tuple[int, float], ...] = ()


@dataclass
class ModelGraph:
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)
    total_params: int | None = None
    error: str | None = None
    functional: bool = False

    @property
    def rows(self) -> int:
        return 1 + max((node.row for node in self.nodes), default=-1)

    def node(self, name: str) -> GraphNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def edge_pairs(self) -> list[tuple[str, str]]:
        return [(edge.src, edge.dst) for edge in self.edges]

    def plain(self) -> dict:
        """Nodes and edges as dicts and lists (what the graph view takes)."""
        return {
            "nodes": [asdict(node) for node in self.nodes],
            "edges": [
                {"src": e.src, "dst": e.dst, "waypoints": [list(p) for p in e.waypoints]}
                for e in self.edges
            ],
            "total_params": self.total_params,
            "error": self.error,
            "functional": self.functional,
        }


def graph_of(spec: dict, input_shape: tuple | None = None) -> ModelGraph:
    """The laid-out graph of ``spec``. ``input_shape`` (the dataset's, no batch axis) is
    used as in training: it replaces a Sequential model's own input; a functional model's
    input is not rewritten (a shape that does not fit it is ``error``). Never raises for a
    spec that fails to build: the nodes come from the config, without shapes."""
    if S.is_functional(spec):
        return _functional_graph(spec, input_shape)
    return _sequential_graph(spec, input_shape)


def _shape_text(shapes: Any) -> str:
    unique: list[tuple] = []
    for shape in shapes:
        if shape not in unique:
            unique.append(shape)
    return ", ".join(S._fmt_shape(shape) for shape in unique)


def _sequential_graph(spec: dict, input_shape: tuple | None) -> ModelGraph:
    layers = S._layers(spec)
    has_input = bool(layers) and S._class(layers[0]) == S.INPUT_LAYER
    in_name = S._name(layers[0]) if has_input else "input"
    shape = tuple(input_shape) if input_shape is not None else S.input_shape(spec)
    analysis = S.analyse(spec, input_shape)
    names = [in_name]
    classes = {in_name: S.INPUT_LAYER}
    info: dict[str, tuple[str, int | None]] = {
        in_name: (S._fmt_shape((None, *shape)) if shape is not None else "", 0)
    }
    taken = {in_name}
    for row in analysis.layers:
        name = row.name or f"{row.class_name}_{row.index}"
        while name in taken:  # a broken spec with duplicate names still draws
            name += "'"
        taken.add(name)
        names.append(name)
        classes[name] = row.class_name
        text = S._fmt_shape(row.output_shape) if row.output_shape is not None else ""
        info[name] = (text, row.params)
    edges = list(itertools.pairwise(names))
    graph = _assemble(names, classes, info, edges, {names[0]}, {names[-1]}, {})
    graph.total_params = analysis.total_params if analysis.ok else None
    graph.error = analysis.error
    return graph


def _functional_graph(spec: dict, input_shape: tuple | None) -> ModelGraph:
    from engine import functional as F

    entries = [e for e in S._layers(spec) if isinstance(e, dict)]
    names: list[str] = []
    classes: dict[str, str] = {}
    calls: dict[str, int] = {}
    edges: list[tuple[str, str]] = []
    for entry in entries:
        name = F.layer_name(entry)
        if not name or name in classes:
            continue
        names.append(name)
        classes[name] = S._class(entry)
        nodes = F.inbound_nodes(entry)
        calls[name] = max(1, len(nodes))
    for entry in entries:
        name = F.layer_name(entry)
        for node in F.inbound_nodes(entry):
            for source, _node, _index in F.node_sources(node):
                if source in classes and (source, name) not in edges:
                    edges.append((source, name))
    described = F.describe(spec)
    info: dict[str, tuple[str, int | None]] = {}
    for name in names:
        layer = described.by_name.get(name)
        if layer is not None:
            info[name] = (_shape_text(layer.output_shapes), layer.params)
        else:
            info[name] = ("", None)
    inputs = {ref[0] for ref in F.refs(spec.get("input_layers"))}
    outputs = {ref[0] for ref in F.refs(spec.get("output_layers"))}
    graph = _assemble(names, classes, info, edges, inputs, outputs, calls)
    graph.functional = True
    if described.error:
        graph.error = described.error
    else:
        graph.total_params = described.total_params
        graph.error = F.input_problem(spec, input_shape)
    return graph


def _assemble(names, classes, info, edges, inputs, outputs, calls) -> ModelGraph:
    positions, waypoints = layout(names, edges)
    nodes = [
        GraphNode(
            name=name,
            class_name=classes[name],
            output_shape=info[name][0],
            params=info[name][1],
            is_input=name in inputs,
            is_output=name in outputs,
            row=positions[name][0],
            column=positions[name][1],
            calls=calls.get(name, 1),
        )
        for name in names
    ]
    graph_edges = [GraphEdge(src, dst, tuple(waypoints.get((src, dst), ()))) for src, dst in edges]
    return ModelGraph(nodes=nodes, edges=graph_edges)


# ------------------------------------------------------------------------------ layout


def layout(
    names: list[str], edges: list[tuple[str, str]]
) -> tuple[dict[str, tuple[int, float]], dict[tuple[str, str], list[tuple[int, float]]]]:
    """(row, column) of each node and the waypoints of each edge that spans rows.

    Rows: longest path from the sources (edges closing a cycle and self-loops are left out).
    Order in a row: barycenter sweeps over nodes and one dummy per crossed row. Columns:
    each node over the mean of its neighbours, at least 1 apart in its row, centred on 0."""
    order = {name: i for i, name in enumerate(names)}
    forward = _acyclic(names, [(a, b) for a, b in edges if a != b and a in order and b in order])
    succ: dict[str, list[str]] = defaultdict(list)
    pred: dict[str, list[str]] = defaultdict(list)
    for a, b in forward:
        succ[a].append(b)
        pred[b].append(a)
    row: dict[str, int] = {}
    for name in _topological(names, succ, pred):
        row[name] = max((row[p] + 1 for p in pred[name]), default=0)

    # The layered graph: real nodes plus one dummy per row an edge crosses.
    up: dict[Any, list[Any]] = defaultdict(list)
    down: dict[Any, list[Any]] = defaultdict(list)
    level: dict[Any, int] = dict(row)
    chains: dict[tuple[str, str], list[Any]] = {}
    for a, b in forward:
        previous: Any = a
        chain = []
        for r in range(row[a] + 1, row[b]):
            dummy = ("dummy", a, b, r)
            level[dummy] = r
            chain.append(dummy)
            down[previous].append(dummy)
            up[dummy].append(previous)
            previous = dummy
        down[previous].append(b)
        up[b].append(previous)
        chains[(a, b)] = chain
    depth = 1 + max(row.values(), default=-1)
    rows: list[list[Any]] = [[] for _ in range(depth)]
    for item in sorted(level, key=lambda n: (level[n], _seed(n, order))):
        rows[level[item]].append(item)

    # Barycenter sweeps, with ties kept in a merge's argument order (Concatenate([a, b])
    # draws a left of b) where that costs no crossing; else plain barycenters.
    ordered = _ordered(rows, up, down, slots=True)
    plain = _ordered(rows, up, down, slots=False)
    if _row_crossings(plain, down) < _row_crossings(ordered, down):
        ordered = plain
    rows = ordered

    x = _coordinates(rows, up, down)
    positions = {name: (row[name], x[name]) for name in names}
    waypoints = {edge: [(level[d], x[d]) for d in chain] for edge, chain in chains.items() if chain}
    return positions, waypoints


def _ordered(rows: list[list[Any]], up, down, *, slots: bool) -> list[list[Any]]:
    """The rows reordered by barycenter sweeps (down, up, ...); ``slots``: ties between
    nodes that feed one merge (or hang from one node) follow the edges' order."""
    rows = [list(items) for items in rows]
    depth = len(rows)
    for sweep in range(SWEEPS):
        span = range(1, depth) if sweep % 2 == 0 else range(depth - 2, -1, -1)
        neighbours = up if sweep % 2 == 0 else down
        back = down if sweep % 2 == 0 else up
        for r in span:
            other = rows[r - 1] if sweep % 2 == 0 else rows[r + 1]
            index = {n: i for i, n in enumerate(other)}
            current = {n: i for i, n in enumerate(rows[r])}

            def key(n, index=index, current=current, neighbours=neighbours, back=back):
                linked = [index[m] for m in neighbours[n] if m in index]
                if not linked:
                    return (current[n], 0.0, current[n])
                slot = 0.0
                if slots:
                    found = [back[m].index(n) for m in neighbours[n] if n in back[m]]
                    slot = sum(found) / len(found) if found else 0.0
                return (sum(linked) / len(linked), slot, current[n])

            rows[r].sort(key=key)
    return rows


def _row_crossings(rows: list[list[Any]], down) -> int:
    """Crossing pairs of edges between adjacent rows of the layered graph."""
    count = 0
    for upper, lower in itertools.pairwise(rows):
        below = {n: i for i, n in enumerate(lower)}
        pairs = [(i, below[m]) for i, n in enumerate(upper) for m in down[n] if m in below]
        for k, (a1, b1) in enumerate(pairs):
            for a2, b2 in pairs[k + 1 :]:
                if (a1 - a2) * (b1 - b2) < 0:
                    count += 1
    return count


def _seed(item: Any, order: dict[str, int]) -> tuple[int, int]:
    """Initial order in a row: config order; a dummy goes after its source's place."""
    if isinstance(item, tuple):
        return (order[item[1]], 1)
    return (order[item], 0)


def _acyclic(names: list[str], edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The edges without those that close a cycle (found by a depth-first walk)."""
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        succ[a].append(b)
    state: dict[str, int] = {}  # 1: on the walk's path, 2: done
    back: set[tuple[str, str]] = set()
    for start in names:
        if start in state:
            continue
        stack = [(start, iter(succ[start]))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(succ[child])))
    return [edge for edge in edges if edge not in back]


def _topological(names: list[str], succ, pred) -> list[str]:
    remaining = {name: len(pred[name]) for name in names}
    ready = [name for name in names if remaining[name] == 0]
    out = []
    while ready:
        name = ready.pop(0)
        out.append(name)
        for child in succ[name]:
            remaining[child] -= 1
            if remaining[child] == 0:
                ready.append(child)
    return out


def _coordinates(rows: list[list[Any]], up, down) -> dict[Any, float]:
    """x of every item: rows start evenly spaced, then each item moves towards the mean of
    its neighbours (down, then up), never closer than 1 to the next item in its row."""
    x: dict[Any, float] = {}
    for items in rows:
        for i, item in enumerate(items):
            x[item] = i - (len(items) - 1) / 2
    for sweep in range(SWEEPS):
        neighbours = up if sweep % 2 == 0 else down
        span = rows if sweep % 2 == 0 else list(reversed(rows))
        for items in span:
            wanted = []
            for item in items:
                linked = [x[m] for m in neighbours[item]]
                wanted.append(sum(linked) / len(linked) if linked else x[item])
            for item, value in zip(items, _spread(wanted), strict=True):
                x[item] = value
    centre = (min(x.values()) + max(x.values())) / 2 if x else 0.0
    return {item: value - centre for item, value in x.items()}


def _spread(wanted: list[float], gap: float = 1.0) -> list[float]:
    """Positions as close to ``wanted`` as the order and the gap allow (a left-to-right
    push, then shifted so that the row keeps its mean)."""
    placed: list[float] = []
    for value in wanted:
        placed.append(max(value, placed[-1] + gap) if placed else value)
    if placed:
        shift = (sum(wanted) - sum(placed)) / len(placed)
        placed = [value + shift for value in placed]
    return placed


def crossings(graph: ModelGraph) -> int:
    """How many pairs of edges between the same two adjacent rows cross (waypoints count)."""
    segments: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for edge in graph.edges:
        a, b = graph.node(edge.src), graph.node(edge.dst)
        if a.row >= b.row:
            continue
        points = [(a.row, a.column), *edge.waypoints, (b.row, b.column)]
        for (r1, x1), (_r2, x2) in itertools.pairwise(points):
            segments[r1].append((x1, x2))
    count = 0
    for items in segments.values():
        for i, (a1, b1) in enumerate(items):
            for a2, b2 in items[i + 1 :]:
                if (a1 - a2) * (b1 - b2) < 0:
                    count += 1
    return count
