"""eval/where expressions: tokenizer, parser and evaluator with Splunk semantics.

Semantics kept from Splunk's eval documentation:

- Field values that look numeric compare and compute as numbers; otherwise comparisons are
  string comparisons (case-sensitive, unlike ``search``).
- Null propagates: arithmetic, concatenation and comparisons with null give null, and a
  null condition counts as false in ``where``, ``if`` and ``case``. ``AND``/``OR`` follow
  three-valued logic (null AND false = false, null OR true = true).
- Comparisons against a multivalue field are true when any value satisfies them.
- ``+`` adds numbers and concatenates two strings; ``.`` always concatenates.
- An eval result cannot be boolean (Splunk refuses ``eval x=(a>1)``).
"""
from ..values import format_number, truth
from .evaluate import Expression, compile_expr, result_value
from .functions import FUNCTIONS
from .parser import parse, tokenize

__all__ = ["Expression", "parse", "truth", "result_value", "FUNCTIONS", "format_number",
           "compile_expr", "tokenize"]
