"""The repository's import folders for the benchmark scripts: the list pytest uses.

Tests get the folders (bin/, offline/, simulator/, tests/flow/, ...) from ``pythonpath`` in
pyproject.toml. A benchmark runs as a plain script (``python benchmarks/<name>.py``), so it
imports this module before any of the repository's modules, and this module puts the same
folders on sys.path, read from the same list: there is one list, in pyproject.toml.
"""
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pythonpath(root=ROOT):
    """Absolute import folders of the repository at ``root``, first one first."""
    with open(root / "pyproject.toml", "rb") as config:
        folders = tomllib.load(config)["tool"]["pytest"]["ini_options"]["pythonpath"]
    return [str(root / folder) for folder in folders]


for _folder in reversed(pythonpath()):
    if _folder not in sys.path:
        sys.path.insert(0, _folder)
