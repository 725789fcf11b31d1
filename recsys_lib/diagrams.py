"""Box-and-arrow diagrams drawn with matplotlib.

Introduced in Chapter 1 (the recall + ranking architecture) and used for the
data flow of Chapter 2, the fusion of Chapter 5, the model architectures of
Chapters 6 and 7 and the pipeline of Chapter 8. A diagram is data: named boxes
at grid positions, arrows between them, and optional shaded groups, so that a
figure is written in a few lines, needs no drawing tool and renders offline.

Example::

    from recsys_lib.diagrams import flow_diagram

    fig, ax = flow_diagram(
        nodes={"log": ("event log", 0, 0), "split": ("split", 2.2, 0)},
        edges=[("log", "split", "")],
        title="From logs to a split",
    )
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

__all__ = ["flow_diagram"]

_Node = tuple[str, float, float]
_Edge = tuple[str, str, str]


def _check_inputs(nodes, edges, groups, colors, box_size) -> None:
    if not isinstance(nodes, Mapping) or not nodes:
        raise ValueError("nodes must be a non-empty mapping key -> (label, x, y)")
    for key, value in nodes.items():
        if (
            not isinstance(value, tuple)
            or len(value) != 3
            or not isinstance(value[0], str)
            or not all(isinstance(v, int | float) for v in value[1:])
        ):
            raise TypeError(
                f"nodes[{key!r}] must be a tuple (label: str, x: number, y: number); got {value!r}"
            )
    for edge in edges:
        if not isinstance(edge, tuple) or len(edge) != 3:
            raise TypeError(
                f"each edge must be a tuple (from, to, label); got {edge!r}"
            )
        for end in edge[:2]:
            if end not in nodes:
                raise ValueError(
                    f"edge {edge!r} names an unknown node {end!r}; known: {', '.join(map(str, nodes))}"
                )
    for name, group in (groups or {}).items():
        if not isinstance(group, tuple) or len(group) != 2:
            raise TypeError(
                f"groups[{name!r}] must be a tuple (caption, [node keys]); got {group!r}"
            )
        unknown = [k for k in group[1] if k not in nodes]
        if not group[1] or unknown:
            raise ValueError(
                f"groups[{name!r}] must list known nodes; unknown or empty: {unknown or group[1]!r}"
            )
    unknown = [k for k in (colors or {}) if k not in nodes]
    if unknown:
        raise ValueError(f"colors names unknown nodes: {unknown!r}")
    if len(box_size) != 2 or min(box_size) <= 0:
        raise ValueError(
            f"box_size must be (width, height) with both > 0; got {box_size!r}"
        )


def flow_diagram(
    nodes: Mapping[str, _Node],
    edges: Sequence[_Edge] = (),
    *,
    groups: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    colors: Mapping[str, str] | None = None,
    title: str | None = None,
    box_size: tuple[float, float] = (1.8, 0.8),
    figsize: tuple[float, float] | None = None,
    fontsize: float = 9.0,
    ax: plt.Axes | None = None,
):
    """Draw boxes connected by arrows; return ``(fig, ax)``.

    Args:
        nodes: key -> ``(label, x, y)``: the text of the box (``\\n`` for line
            breaks) and the position of its centre, ``x`` to the right and ``y``
            up, in the same units as ``box_size``.
        edges: ``(from_key, to_key, label)`` arrows; an empty label draws none.
        groups: name -> ``(caption, [node keys])``: a shaded frame around those
            boxes with the caption above it (for example the stages of a pipeline).
        colors: node key -> matplotlib colour of the box face (default light grey).
        title: figure title.
        box_size: ``(width, height)`` of every box.
        figsize: matplotlib figure size; chosen from the extent if omitted.
        fontsize: text size of the boxes (arrow labels and captions are a bit smaller).
        ax: draw into these axes instead of a new figure.

    Raises:
        TypeError: a node, edge or group is not the tuple described above.
        ValueError: an edge or group names an unknown node, or box_size is not positive.
    """
    edges = list(edges)
    _check_inputs(nodes, edges, groups, colors, box_size)
    w, h = box_size
    xs = [x for _, x, _ in nodes.values()]
    ys = [y for _, _, y in nodes.values()]
    pad = 0.35
    x0, x1 = min(xs) - w / 2 - 2 * pad, max(xs) + w / 2 + 2 * pad
    y0, y1 = min(ys) - h / 2 - 2 * pad, max(ys) + h / 2 + 3 * pad
    if ax is None:
        if figsize is None:
            figsize = (
                min(14.0, 1.0 + 0.9 * (x1 - x0)),
                min(10.0, 0.6 + 0.9 * (y1 - y0)),
            )
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure

    for caption, keys in (groups or {}).values():
        gx = [nodes[k][1] for k in keys]
        gy = [nodes[k][2] for k in keys]
        left, right = min(gx) - w / 2 - pad, max(gx) + w / 2 + pad
        bottom, top = min(gy) - h / 2 - pad, max(gy) + h / 2 + pad
        frame = FancyBboxPatch(
            (left, bottom),
            right - left,
            top - bottom,
            boxstyle="round,pad=0.02,rounding_size=0.15",
            facecolor="#f2f5fa",
            edgecolor="#8899bb",
            linestyle="--",
            linewidth=1.0,
            zorder=0,
        )
        ax.add_patch(frame)
        ax.text(
            left + 0.08,
            top - 0.06,
            caption,
            ha="left",
            va="top",
            fontsize=fontsize - 1,
            style="italic",
            color="#334466",
            zorder=1,
        )

    patches = {}
    for key, (label, x, y) in nodes.items():
        face = (colors or {}).get(key, "#e8e8e8")
        box = FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.1",
            facecolor=face,
            edgecolor="#333333",
            linewidth=1.0,
            alpha=0.9,
            zorder=2,
        )
        ax.add_patch(box)
        patches[key] = box
        ax.text(x, y, label, ha="center", va="center", fontsize=fontsize, zorder=3)

    for src, dst, label in edges:
        (_, xa, ya), (_, xb, yb) = nodes[src], nodes[dst]
        ax.annotate(
            "",
            xy=(xb, yb),
            xytext=(xa, ya),
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#333333",
                "linewidth": 1.1,
                "patchA": patches[src],
                "patchB": patches[dst],
                "shrinkA": 2,
                "shrinkB": 2,
                "connectionstyle": "arc3,rad=0.0" if src != dst else "arc3,rad=0.6",
            },
            zorder=1.5,
        )
        if label:
            ax.text(
                (xa + xb) / 2,
                (ya + yb) / 2 + 0.08,
                label,
                ha="center",
                va="bottom",
                fontsize=fontsize - 1.5,
                color="#222222",
                bbox={
                    "facecolor": "white",
                    "edgecolor": "none",
                    "alpha": 0.8,
                    "pad": 0.5,
                },
                zorder=4,
            )

    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig, ax
