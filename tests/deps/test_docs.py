"""The README and docs/ stay true: README's tables of commands and options are what `scons -h`
says (both come from the declarations in the tools), the README stays short, docs/architecture.md
names every tool and shows the graph `scons graph` draws, docs/performance.md every benchmark, and
no local link leads nowhere."""

import glob
import html
import os
import re

import pytest

from helpers import ROOT, copy_build_files, scons
from rvbuild.commands import parse_help

DOCS = ["README.md", *sorted(os.path.relpath(p, ROOT) for p in glob.glob(f"{ROOT}/docs/*.md"))]


def read(relative):
    with open(os.path.join(ROOT, relative)) as f:
        return f.read()


def table(text, heading):
    """The rows (lists of cells, as text) of the first table under `heading`."""
    section = text.split(f"\n{heading}\n", 1)[1]
    rows = next(block for block in section.split("\n\n") if block.lstrip().startswith("|")).strip().splitlines()
    return [[_cell(cell) for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[2:]]


def _cell(text):
    return html.unescape(re.sub(r"\\([<>|*_])", r"\1", text.strip()))


def code(cell):
    return cell[1:-1] if cell.startswith("`") and cell.endswith("`") else cell


def test_the_readme_tables_are_what_scons_h_says():
    helped = parse_help(scons("-h").stdout)
    readme = read("README.md")
    assert {code(name): text for name, text in table(readme, "## Commands")} == helped["commands"]
    options = {f"{code(name)}={code(default)}": text for name, default, text in table(readme, "## Options")}
    assert options == helped["options"]


def test_the_readme_is_read_in_minutes():
    assert len(read("README.md").splitlines()) <= 250


@pytest.mark.parametrize("document", DOCS)
def test_local_links_lead_to_files_of_the_checkout(document):
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", read(document))
    local = [link for link in links if not re.match(r"[a-z]+:", link)]
    missing = [link for link in local if not os.path.exists(os.path.join(ROOT, os.path.dirname(document), link))]
    assert local and not missing


def test_the_architecture_names_every_tool_and_draws_the_graph_scons_draws(tmp_path):
    architecture = read("docs/architecture.md")
    tools = [os.path.basename(path)[:-3] for path in glob.glob(f"{ROOT}/site_scons/site_tools/*.py")]
    assert [tool for tool in tools if f"`{tool}`" not in architecture] == []
    assert "(graph.svg)" in architecture
    copy = copy_build_files(str(tmp_path / "project"))
    scons("graph", cwd=copy)
    with open(f"{copy}/build/rv64/graph.dot") as drawn:
        assert drawn.read() == read("docs/graph.dot"), "redraw it: scons graph; cp build/rv64/graph.* docs/"


def test_the_performance_figures_name_every_benchmark():
    performance = read("docs/performance.md")
    benchmarks = [os.path.relpath(path, ROOT) for path in glob.glob(f"{ROOT}/bench/*.py")]
    assert [bench for bench in benchmarks if bench not in performance] == []
