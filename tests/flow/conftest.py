"""Fixtures of the c2flow tests: generated captures (the project's own writer)."""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
