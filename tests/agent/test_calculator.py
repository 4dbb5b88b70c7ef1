"""Tests for the calculator tool.

The property tests build random expression trees, render them as text and compare
`evaluate` with an exact `Fraction` evaluation of the same tree. The reference also tracks a
bound on the rounding error 50-digit Decimal arithmetic may accumulate, so exact results
must match exactly and inexact ones within that bound.
"""

from __future__ import annotations

import ast
import decimal
import inspect
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from alltoken_agent.agent import calculator
from alltoken_agent.agent.calculator import (
    MAX_EXPRESSION_LENGTH,
    MAX_NESTING_DEPTH,
    CalculationError,
    calculate,
    evaluate,
    format_result,
)
from alltoken_agent.errors import ToolError

# --- expression trees -------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    text: str


@dataclass(frozen=True)
class Unary:
    sign: str
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Power:
    base: Node
    exponent: int
    spelling: str


@dataclass(frozen=True)
class Paren:
    """Redundant parentheses, to exercise the parser beyond what precedence requires."""

    inner: Node


Node = Num | Unary | Binary | Power | Paren

_ADD, _MUL, _UNARY, _POW, _ATOM = 1, 2, 3, 4, 5
_LEVEL = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL, "%": _MUL}


def render(node: Node, sep: str = "", python: bool = False) -> str:
    """Text with only the parentheses precedence needs (plus explicit `Paren` nodes).

    With `python=True` the text is a Python expression over Fractions, used to check that
    this renderer and the reference agree with Python's own grammar.
    """
    return _render(node, sep, python)[0]


def _wrap(child: tuple[str, int], minimum: int) -> str:
    text, level = child
    return text if level >= minimum else f"({text})"


def _render(node: Node, sep: str, python: bool) -> tuple[str, int]:
    if isinstance(node, Num):
        return (f"Fraction({node.text!r})" if python else node.text), _ATOM
    if isinstance(node, Paren):
        return f"({_render(node.inner, sep, python)[0]})", _ATOM
    if isinstance(node, Unary):
        return node.sign + sep + _wrap(_render(node.operand, sep, python), _UNARY), _UNARY
    if isinstance(node, Power):
        base = _wrap(_render(node.base, sep, python), _ATOM)
        spelling = "**" if python else node.spelling
        return f"{base}{sep}{spelling}{sep}{node.exponent}", _POW
    level = _LEVEL[node.op]
    left = _wrap(_render(node.left, sep, python), level)
    # Left-associative: a right operand at the same level needs parentheses (a-(b-c)).
    right = _wrap(_render(node.right, sep, python), level + 1)
    return f"{left}{sep}{node.op}{sep}{right}", level


class Undecidable(Exception):
    """Rounding could flip the outcome (a zero divisor, a modulo near a multiple)."""


@dataclass(frozen=True)
class Ref:
    value: Fraction
    error: Fraction
    """Bound on |Decimal result - value|; zero means Decimal must be exact."""


_ULP = Fraction(1, 10**49)
_LIMIT = Fraction(10**400)


def _fits(value: Fraction) -> bool:
    """Whether a 50-digit Decimal holds `value` exactly."""
    denominator, twos, fives = value.denominator, 0, 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    if denominator != 1:
        return False
    digits = abs(value.numerator) * 10 ** max(twos, fives) // value.denominator
    return len(str(digits).rstrip("0")) <= 50


def _result(value: Fraction, propagated: Fraction, ulps: int = 1) -> Ref:
    if value and not 1 / _LIMIT < abs(value) < _LIMIT:
        raise Undecidable  # beyond the guard rails or into underflow
    if not propagated and _fits(value):
        return Ref(value, Fraction(0))
    return Ref(value, propagated + (abs(value) + propagated) * _ULP * ulps)


def reference(node: Node) -> Ref:
    """Exact value of the tree; raises ZeroDivisionError like Python would."""
    if isinstance(node, Num):
        return Ref(Fraction(node.text), Fraction(0))
    if isinstance(node, Paren):
        return reference(node.inner)
    if isinstance(node, Unary):
        operand = reference(node.operand)
        return operand if node.sign == "+" else Ref(-operand.value, operand.error)
    if isinstance(node, Power):
        base = reference(node.base)
        n = node.exponent
        if n < 0 and base.error:
            raise Undecidable
        if n == 0:
            return Ref(Fraction(1), Fraction(0))
        value = base.value**n  # ZeroDivisionError for 0 to a negative power
        bound = abs(base.value) + base.error
        propagated = n * bound ** (n - 1) * base.error if n > 0 else Fraction(0)
        # Decimal's power is only "almost always" correctly rounded: allow a few ulps.
        return _result(value, propagated, ulps=10)
    left, right = reference(node.left), reference(node.right)
    a, b = left.value, right.value
    if node.op == "+":
        return _result(a + b, left.error + right.error)
    if node.op == "-":
        return _result(a - b, left.error + right.error)
    if node.op == "*":
        return _result(a * b, left.error * abs(b) + right.error * abs(a) + left.error * right.error)
    if right.error or (node.op == "%" and left.error):
        raise Undecidable
    if node.op == "/":
        return _result(a / b, left.error / abs(b) if b else Fraction(0))
    return _result(a % b, Fraction(0))


def _number(whole: str, fraction: str, point: bool) -> Num:
    text = f"{whole}.{fraction}" if point else whole or fraction
    return Num(text if text.strip(".") else "0")


numbers = st.builds(
    _number,
    st.text("0123456789", max_size=4),
    st.text("0123456789", max_size=3),
    st.booleans(),
)


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(Binary, st.sampled_from(["+", "-", "*", "/", "%"]), children, children),
        st.builds(Unary, st.sampled_from(["-", "+"]), children),
        st.builds(Power, children, st.integers(-3, 4), st.sampled_from(["^", "**"])),
        st.builds(Paren, children),
    )


# Negative leaves are common so that signs meet `%`, `^` and division often.
leaves = st.one_of(numbers, st.builds(Unary, st.just("-"), numbers))
trees = st.recursive(leaves, _extend, max_leaves=8)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(tree=trees, sep=st.sampled_from(["", " "]))
def test_evaluate_matches_exact_arithmetic_on_random_trees(tree: Node, sep: str) -> None:
    text = render(tree, sep)
    try:
        expected = reference(tree)
    except Undecidable:
        reject()
    except ZeroDivisionError:
        with pytest.raises(CalculationError, match="by zero"):
            evaluate(text)
        return
    # Python's own parser on the same rendering pins the precedence the renderer assumes.
    assert eval(render(tree, python=True), {"Fraction": Fraction}) == expected.value
    result = evaluate(text)
    assert abs(Fraction(result) - expected.value) <= 2 * expected.error, text


@settings(max_examples=200, deadline=None)
@given(
    a=st.integers(-(10**24), 10**24),
    b=st.integers(-(10**24), 10**24).filter(bool),
    op=st.sampled_from(["%", "+", "-", "*"]),
)
def test_integer_arithmetic_matches_python(a: int, b: int, op: str) -> None:
    expected = {"%": a % b, "+": a + b, "-": a - b, "*": a * b}[op]
    assert evaluate(f"{a} {op} ({b})") == expected
    assert format_result(evaluate(f"{a}{op}({b})")) == str(expected)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(text=st.text("0123456789.+-*/%^() ×÷x", max_size=30))
def test_arbitrary_input_either_evaluates_or_raises_calculation_error(text: str) -> None:
    try:
        result = evaluate(text)
    except CalculationError as exc:
        assert exc.position is None or 1 <= exc.position <= len(text) + 1
        assert str(exc)
    else:
        assert result.is_finite()


# --- explicit examples ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1+2*3", "7"),
        ("(1+2)*3", "9"),
        ("2*3^2", "18"),
        ("10 - 2 * 3 ^ 2 / 6", "7"),
        ("2+3%2", "3"),
        ("10%4*3", "6"),
        ("2^3^2", "512"),
        ("(2^3)^2", "64"),
        ("2**3**2", "512"),
        ("8-3-2", "3"),
        ("8/4/2", "1"),
        ("-2^2", "-4"),
        ("(-2)^2", "4"),
        ("-2^-2", "-0.25"),
        ("2^-1", "0.5"),
        ("2^-2^2", "0.0625"),
        ("2*-3", "-6"),
        ("--2", "2"),
        ("-+-2", "2"),
        ("+5", "5"),
        ("-(3-5)", "2"),
        ("0.1 + 0.2", "0.3"),
        (".5 + 3.", "3.5"),
        ("  ( 1 +\t2 )\n", "3"),
        ("6×7", "42"),
        ("7÷2", "3.5"),
        ("5 − 2", "3"),
        ("0^0", "1"),
        ("4^0.5", "2"),
        ("(-2)^3", "-8"),
        ("2^0.5", "1.414213562373095"),
        ("10/3", "3.333333333333333"),
        ("1/3*3", "1"),
        ("2^100", "1267650600228229401496703205376"),
        ("2^200", "1.60693804425899e+60"),
        ("10^60 % 7", str(10**60 % 7)),
        ("1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1", "10"),
    ],
)
def test_calculate_examples(expression: str, expected: str) -> None:
    assert calculate(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("-7 % 3", 2), ("7 % -3", -2), ("-7 % -3", -1), ("7 % 3", 1), ("-6 % 3", 0)],
)
def test_modulo_result_takes_the_sign_of_the_divisor(expression: str, expected: int) -> None:
    assert evaluate(expression) == expected
    assert eval(expression) == expected  # the documented promise: as Python does


def test_modulo_of_decimals_is_exact() -> None:
    assert evaluate("7.5 % 2") == Decimal("1.5")
    assert evaluate("-0.3 % 0.2") == Decimal("0.1")


@pytest.mark.parametrize(
    ("expression", "message", "position"),
    [
        ("", "empty expression", None),
        ("   ", "empty expression", None),
        ("2 + x", "unexpected character 'x' at position 5", 5),
        ("1e5", "unexpected character 'e' at position 2", 2),
        ("2 $ 3", "unexpected character '$' at position 3", 3),
        ("1.2.3", "unexpected character '.' at position 4", 4),
        (".", "unexpected character '.' at position 1", 1),
        ("(1 + 2", "unbalanced parentheses: '(' at position 1 is never closed", 1),
        ("((1) + 2", "unbalanced parentheses: '(' at position 1 is never closed", 1),
        ("1 + 2)", "unbalanced parentheses: ')' at position 6 has no matching '('", 6),
        ("2 +", "missing operand at position 4 (end of expression)", 4),
        ("-", "missing operand at position 2 (end of expression)", 2),
        ("2 + * 3", "missing operand before '*' at position 5", 5),
        ("* 3", "missing operand before '*' at position 1", 1),
        ("()", "missing operand before ')' at position 2", 2),
        ("2 ** ** 3", "missing operand before '**' at position 6", 6),
        ("2 3", "missing operator before '3' at position 3", 3),
        ("2(3)", "missing operator before '(' at position 2", 2),
        ("(2 3)", "missing operator before '3' at position 4", 4),
        ("1 / 0", "division by zero at position 3", 3),
        ("1 / (2 - 2)", "division by zero at position 3", 3),
        ("0 / 0", "division by zero at position 3", 3),
        ("5 % 0", "modulo by zero at position 3", 3),
        ("0 ^ -1", "division by zero at position 3 (0 raised to a negative power)", 3),
        (
            "(-8)^(1/3)",
            "negative base with a non-integer exponent at position 5 "
            "(the result would be a complex number)",
            5,
        ),
        (
            "1 ^ 100000",
            "exponent too large at position 3: 100000 exceeds the limit of 10000 in absolute value",
            3,
        ),
        (
            "0.5 ^ -10001",
            "result too large at position 5 (magnitudes must stay below 1e1000)",
            5,
        ),
        ("9^9^9", "result too large at position 2 (magnitudes must stay below 1e1000)", 2),
        ("10^1000", "result too large at position 3 (magnitudes must stay below 1e1000)", 3),
        ("10^999 * 10", "result too large at position 8 (magnitudes must stay below 1e1000)", 8),
        (
            "10^999 + 9*10^999",
            "result too large at position 8 (magnitudes must stay below 1e1000)",
            8,
        ),
        ("10^999 / 0.1", "result too large at position 8 (magnitudes must stay below 1e1000)", 8),
    ],
)
def test_errors_name_cause_and_position(
    expression: str, message: str, position: int | None
) -> None:
    with pytest.raises(CalculationError) as excinfo:
        evaluate(expression)
    assert str(excinfo.value) == message
    assert excinfo.value.position == position


def test_calculation_error_is_a_tool_error_and_a_value_error() -> None:
    assert issubclass(CalculationError, ToolError)
    assert issubclass(CalculationError, ValueError)
    with pytest.raises(ValueError, match="division by zero"):
        calculate("1/0")


def test_largest_powers_within_limits_still_evaluate() -> None:
    assert evaluate("10^999") == Decimal(10) ** 999
    assert evaluate("1^10000") == 1
    assert evaluate("(-1)^-10000") == 1
    # Tiny results underflow to zero instead of failing.
    assert evaluate("0.5^10000") == 0


def test_expression_length_is_capped() -> None:
    longest = "1+" * (MAX_EXPRESSION_LENGTH // 2 - 1) + "11"
    assert len(longest) == MAX_EXPRESSION_LENGTH
    assert evaluate(longest) == MAX_EXPRESSION_LENGTH // 2 - 1 + 11
    with pytest.raises(CalculationError) as excinfo:
        evaluate("1" * (MAX_EXPRESSION_LENGTH + 1))
    assert str(excinfo.value) == (
        f"expression too long: {MAX_EXPRESSION_LENGTH + 1} characters "
        f"(limit {MAX_EXPRESSION_LENGTH}); split the calculation into steps"
    )


def test_nesting_depth_is_capped() -> None:
    depth = MAX_NESTING_DEPTH
    assert evaluate("(" * depth + "1" + ")" * depth) == 1
    with pytest.raises(CalculationError, match=r"nested too deeply at position 101 \(limit 100"):
        evaluate("(" * (depth + 1) + "1" + ")" * (depth + 1))
    with pytest.raises(CalculationError, match="nested too deeply"):
        evaluate("1" + "^1" * (depth + 1))


@pytest.mark.parametrize(
    "expression",
    [
        "9^9^9^9",
        "9^9^9^9^9^9^9^9",
        "(" * 499 + "1" + ")" * 499,
        "1" + "^1" * 499,
        "-" * 999 + "1",
        "+" * 999 + "1",
        "1+" * 499 + "1",
        "2^10000^10000",
        "99999^9999 * 99999^9999",
    ],
)
def test_abusive_expressions_end_without_recursion_error_or_hang(expression: str) -> None:
    """A hang would stall the suite; the assertions pin how each input ends."""
    try:
        result = evaluate(expression)
    except CalculationError as exc:
        assert "too large" in str(exc) or "nested too deeply" in str(exc)
    else:
        assert expression.endswith("1") and abs(result) in (1, 500)


def test_global_decimal_context_is_neither_used_nor_changed() -> None:
    with decimal.localcontext() as context:
        context.prec = 3
        context.traps[decimal.Inexact] = True
        assert evaluate("1/3") == Decimal("0." + "3" * 50)
        assert decimal.getcontext().prec == 3
        assert decimal.getcontext().traps[decimal.Inexact]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("42"), "42"),
        (Decimal("42.000"), "42"),
        (Decimal("-42"), "-42"),
        (Decimal("1E+6"), "1000000"),
        (Decimal("-0"), "0"),
        (Decimal("0E-10"), "0"),
        (Decimal("0.1"), "0.1"),
        (Decimal("0.10000"), "0.1"),
        (Decimal("-2.5"), "-2.5"),
        (Decimal("0.0000001"), "0.0000001"),
        (Decimal("0.00000001234"), "1.234e-8"),
        (Decimal("0.99999999999999999999"), "1"),
        (Decimal("3.14159265358979323846"), "3.141592653589793"),
        (Decimal("123456789012345678901234567890"), "123456789012345678901234567890"),
        (Decimal("100000000000000000000.5"), "100000000000000000000"),
        (Decimal("1000000000000000000000.5"), "1e+21"),
        (Decimal("1E+60"), "1e+60"),
        (Decimal("-1.5E+75"), "-1.5e+75"),
        (Decimal("Infinity"), "Infinity"),
        (Decimal("NaN"), "NaN"),
    ],
)
def test_format_result(value: Decimal, expected: str) -> None:
    assert format_result(value) == expected


@given(st.integers(-(10**50) + 1, 10**50 - 1))
@settings(deadline=None)
def test_format_result_writes_integers_in_full(number: int) -> None:
    assert format_result(Decimal(number)) == str(number)


@pytest.mark.slow
@given(
    st.decimals(
        min_value=Decimal("-1E+20"),
        max_value=Decimal("1E+20"),
        allow_nan=False,
        allow_infinity=False,
    ).filter(lambda value: value == 0 or abs(value) >= Decimal("1E-7"))
)
@settings(deadline=None)
def test_format_result_is_plain_and_close(value: Decimal) -> None:
    text = format_result(value)
    assert "e" not in text.lower()
    assert not (text.endswith("0") and "." in text)
    assert abs(Decimal(text) - value) <= abs(value) * Decimal("1E-15")


def test_calculate_docstring_describes_the_tool() -> None:
    doc = inspect.getdoc(calculate) or ""
    assert doc.startswith("Evaluate an arithmetic expression")
    assert "Args:\n    expression:" in doc
    for operator in ("`+`", "`%`", "`^`", "`**`", "parentheses"):
        assert operator in doc
    assert list(inspect.signature(calculate).parameters) == ["expression"]


def test_module_never_calls_eval_exec_or_compile() -> None:
    tree = ast.parse(inspect.getsource(calculator))
    called = {
        node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not called & {"eval", "exec", "compile", "literal_eval", "__import__"}
