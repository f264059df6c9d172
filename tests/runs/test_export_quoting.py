"""Exported scripts are code: every user string reaching the script is a quoted literal.

A property test feeds hostile strings (quotes, triple quotes, backslashes, newlines, NUL,
Unicode line separators, lone surrogates) into every free-text dataset and project field and
checks that the script parses, that each string is in it as a string constant equal to the
input (or, where a name is written as code, a plain identifier), and that no injected
statement appears.
"""

from __future__ import annotations

import ast
import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.export import export_script
from engine.project import demo_project

MARKER = "INJECTED_MARKER"
PAYLOADS = [
    f'"""\n{MARKER}()\n"""',
    f"'''\n{MARKER}()\n'''",
    f'")\n{MARKER}()\nprint("',
    f"\n{MARKER}()\n#",
    f"\r\n{MARKER}()",
    f"\u2028{MARKER}()",
    f"\\\n{MARKER}()",
    "\\",
    '"',
    "\x00",
    "\ud800",
    "\x85\u2029\x0c\x0b",
    "é — ü 数据",
]
hostile = st.one_of(
    st.text(max_size=12),
    st.builds(
        lambda before, payload, after: before + payload + after,
        st.text(max_size=4),
        st.sampled_from(PAYLOADS),
        st.text(max_size=4),
    ),
)


def _project(source: str, texts: dict) -> dict:
    project = copy.deepcopy(demo_project())
    if source == "csv":
        project["dataset"] = {
            "source": "csv",
            "path": texts["path"],
            "target": texts["target"],
            "features": [texts["feature"], texts["other"]],
            "delimiter": texts["delimiter"],
            "encoding": texts["encoding"],
            "test_path": texts["test_path"],
        }
    elif source == "timeseries":
        project["dataset"] = {
            "source": "timeseries",
            "path": texts["path"],
            "target": texts["target"],
            "features": [texts["feature"]],
            "delimiter": texts["delimiter"],
            "encoding": texts["encoding"],
        }
    else:
        project["dataset"] = {"source": source, "path": texts["path"]}
    project["compile"] = {
        "optimizer": {
            "class_name": "Adam",
            "config": {"learning_rate": 0.001, texts["opt_key"]: texts["opt_value"]},
        },
        "loss": texts["loss"],
        "metrics": [texts["metric"]],
    }
    project["fit"]["callbacks"] = [
        {"class_name": texts["callback"], "config": {texts["cb_key"]: texts["cb_value"]}}
    ]
    dense = project["model"]["layers"][-1]["config"]
    dense["kernel_regularizer"] = {
        "module": "keras.regularizers",
        "class_name": texts["regularizer"],
        "config": {texts["reg_key"]: texts["reg_value"]},
    }
    return project


FIELDS = [
    "title", "path", "target", "feature", "other", "delimiter", "encoding", "test_path",
    "opt_key", "opt_value", "loss", "metric", "callback", "cb_key", "cb_value",
    "regularizer", "reg_key", "reg_value",
]  # fmt: skip
EMITTED = {
    "csv": FIELDS,
    "timeseries": [f for f in FIELDS if f not in ("other", "test_path")],
}


def _check(script: str, inputs: list[str]) -> None:
    tree = ast.parse(script)
    script.encode("utf-8")  # writable as a UTF-8 file (no raw surrogates)
    constants = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.keyword)}
    for text in inputs:
        assert text in constants or (text.isidentifier() and text in names), repr(text)
    injected = [node for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == MARKER]
    assert not injected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.sampled_from(["csv", "timeseries", "npz", "image_folder", "text_folder"]),
    texts=st.fixed_dictionaries({name: hostile.filter(len) for name in FIELDS}),
)
def test_hostile_strings_stay_string_constants(source, texts):
    project = _project(source, texts)
    script = export_script(project, title=texts["title"])
    fields = EMITTED.get(source, ["title", "path", *FIELDS[8:]])
    _check(script, [texts[name] for name in fields])


def test_triple_quotes_and_a_newline_in_the_path_run_no_code():
    """The issue's case: a dataset path that ends the docstring and starts a statement."""
    texts = {name: "x" for name in FIELDS}
    texts["path"] = f'data.csv"""\nimport os; os.system("echo pwned")\n{MARKER}()\n"""'
    texts["callback"] = "EarlyStopping"
    texts["regularizer"] = "L2"
    script = export_script(_project("csv", texts), title=texts["path"])
    _check(script, [texts["path"]])
    tree = ast.parse(script)
    imports = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert "os" not in imports
