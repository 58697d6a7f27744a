"""The agent flow as a picture, rendered offline by Graphviz (`dot`), not a web service."""

from __future__ import annotations

from pathlib import Path

import graphviz
from langgraph.graph.state import CompiledStateGraph

SUBGRAPH_LABELS = {"teach": "teacher × m (private side, in parallel)"}


def to_dot(graph: CompiledStateGraph) -> graphviz.Digraph:
    """The graph with subgraphs expanded (xray); each subgraph drawn as a cluster."""
    drawable = graph.get_graph(xray=True)
    dot = graphviz.Digraph(graph.get_name(), graph_attr={"rankdir": "TB", "fontname": "Helvetica"})
    dot.attr("node", shape="box", style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica")
    clusters: dict[str, list[tuple[str, str]]] = {}
    for node in drawable.nodes.values():
        prefix, _, inner = node.id.rpartition(":")
        label = {"__start__": "START", "__end__": "END"}.get(inner, inner)
        if prefix:
            clusters.setdefault(prefix, []).append((node.id, label))
        else:
            shape = "oval" if label in {"START", "END"} else "box"
            dot.node(_safe(node.id), label, shape=shape)
    for prefix, members in clusters.items():
        with dot.subgraph(name=f"cluster_{prefix}") as cluster:
            cluster.attr(label=SUBGRAPH_LABELS.get(prefix, prefix), style="dashed")
            for node_id, label in members:
                shape = "point" if label == "END" else "box"
                cluster.node(_safe(node_id), "" if label == "END" else label, shape=shape)
    for edge in drawable.edges:
        style = "dashed" if edge.conditional else "solid"
        dot.edge(_safe(edge.source), _safe(edge.target), label=str(edge.data or ""), style=style)
    return dot


def _safe(node_id: str) -> str:
    """A DOT node name: ':' would start a port."""
    return node_id.replace(":", "__")


def render_png(graph: CompiledStateGraph) -> bytes:
    """PNG bytes of the diagram; a clear error when Graphviz is not installed."""
    try:
        return to_dot(graph).pipe(format="png")
    except graphviz.ExecutableNotFound as exc:
        raise RuntimeError(
            "Graphviz's `dot` is not installed: run scripts/setup.sh or `apt-get install graphviz`"
        ) from exc


def write_png(graph: CompiledStateGraph, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(render_png(graph))
    return target
