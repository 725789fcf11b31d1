import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from recsys_lib.diagrams import flow_diagram  # noqa: E402

NODES = {"a": ("logs", 0, 0), "b": ("split", 2.2, 0), "c": ("model", 4.4, 0)}


def test_draws_one_box_per_node_and_one_arrow_per_edge():
    fig, ax = flow_diagram(
        NODES,
        [("a", "b", "clean"), ("b", "c", "")],
        groups={"g": ("stage", ["b", "c"])},
        colors={"c": "C1"},
        title="pipeline",
    )
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert len(boxes) == 3 + 1  # the nodes and the group frame
    texts = {t.get_text() for t in ax.texts}
    assert {"logs", "split", "model", "clean", "stage"} <= texts
    arrows = [c for c in ax.get_children() if type(c).__name__ == "Annotation"]
    assert len(arrows) == 2
    assert ax.get_title() == "pipeline"
    plt.close(fig)


def test_draws_into_given_axes():
    fig, ax = plt.subplots()
    fig2, ax2 = flow_diagram(NODES, ax=ax)
    assert fig2 is fig and ax2 is ax
    plt.close(fig)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"nodes": {}}, ValueError, "non-empty"),
        ({"nodes": {"a": ("x", 0)}}, TypeError, r"nodes\['a'\]"),
        ({"nodes": NODES, "edges": [("a", "z", "")]}, ValueError, "unknown node 'z'"),
        ({"nodes": NODES, "edges": [("a", "b")]}, TypeError, "each edge"),
        ({"nodes": NODES, "groups": {"g": ("cap", ["q"])}}, ValueError, "groups"),
        ({"nodes": NODES, "groups": {"g": ("cap", [])}}, ValueError, "groups"),
        ({"nodes": NODES, "colors": {"q": "C0"}}, ValueError, "colors"),
        ({"nodes": NODES, "box_size": (0, 1)}, ValueError, "box_size"),
    ],
)
def test_bad_input_is_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        flow_diagram(**kwargs)
