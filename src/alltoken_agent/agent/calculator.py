"""Safe arithmetic for the agent's calculator tool.

Expressions are tokenised and evaluated by a small recursive-descent parser over
`decimal.Decimal`; nothing is ever handed to `eval`, `exec` or `compile`. The grammar,
loosest binding first, is that of Python with `^` as the power operator:

    expression := term (("+" | "-") term)*
    term       := unary (("*" | "/" | "%") unary)*
    unary      := ("+" | "-")* power
    power      := primary ("^" unary)?
    primary    := number | "(" expression ")"

Evaluation happens while parsing, so left-associative chains such as `1+1+...+1` run in a
loop rather than recursing, and only parentheses and powers deepen the Python stack.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final, Literal

from alltoken_agent.errors import ToolError

MAX_EXPRESSION_LENGTH: Final = 1000
"""Longest expression accepted, in characters."""

MAX_NESTING_DEPTH: Final = 100
"""Deepest nesting of parentheses and powers accepted; keeps the parser off the recursion limit."""

MAX_EXPONENT: Final = 10_000
"""Largest absolute exponent accepted by `^`."""

PRECISION: Final = 50
"""Significant digits carried through every operation."""

DISPLAY_DIGITS: Final = 16
"""Significant digits shown by `format_result` for results that are not exact integers."""

_MAX_MAGNITUDE_DIGITS: Final = 1000
"""Every intermediate result must stay below 10**_MAX_MAGNITUDE_DIGITS in magnitude."""

_DIGITS: Final = frozenset("0123456789")

_SymbolKind = Literal["+", "-", "*", "/", "%", "^", "(", ")"]
_TokenKind = Literal["number", "end", "+", "-", "*", "/", "%", "^", "(", ")"]

_SYMBOLS: Final[dict[str, _SymbolKind]] = {
    "+": "+",
    "-": "-",
    "\N{MINUS SIGN}": "-",
    "*": "*",
    "\N{MULTIPLICATION SIGN}": "*",
    "/": "/",
    "\N{DIVISION SIGN}": "/",
    "%": "%",
    "^": "^",
    "(": "(",
    ")": ")",
}


class CalculationError(ToolError, ValueError):
    """An expression could not be evaluated: malformed, undefined or beyond the guard rails.

    The message names the cause and, when there is one, the 1-based character position.
    A `ToolError`, so the agent hands it to the model as an error result; also a
    `ValueError`, since the input is what is wrong.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position
        """1-based position of the offending character or operator, or None for the whole input."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _TokenKind
    text: str
    """The characters as typed, for error messages (`**` stays `**` although its kind is `^`)."""
    position: int
    """1-based index of the first character."""


def evaluate(expression: str) -> Decimal:
    """Evaluate an arithmetic expression with 50 significant digits.

    `%` is modulo with Python's sign rule: a non-zero result takes the sign of the divisor,
    so `-7 % 3` is 2 and `7 % -3` is -2, exactly as for Python ints. Results whose magnitude
    falls below 1e-999 underflow towards zero.

    Args:
        expression: Numbers, `+ - * / % ^` (`**` is a synonym of `^`, `×` and `÷` of `*` and
            `/`), unary signs and parentheses.

    Returns:
        The value, rounded to 50 significant digits where it is not exact.

    Raises:
        CalculationError: The expression is malformed, divides by zero, or exceeds a limit on
            length, nesting, exponent or result magnitude.
    """
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise CalculationError(
            f"expression too long: {len(expression)} characters "
            f"(limit {MAX_EXPRESSION_LENGTH}); split the calculation into steps"
        )
    tokens = _tokenize(expression)
    with decimal.localcontext(_evaluation_context()):
        return _Parser(tokens).parse()


def format_result(value: Decimal) -> str:
    """Render a number for people: plain digits, no trailing zeros, no exponent if avoidable.

    Exact integers below 10**50 are written out in full. Other values are rounded to 16
    significant digits, so the rounding noise of 50-digit arithmetic disappears
    (`1/3*3` shows as `1`), and use scientific notation only below 1e-7 or from 1e21 up.

    Args:
        value: The number to render.

    Returns:
        The text, e.g. `42`, `0.1`, `3.333333333333333` or `1.5e+30`.
    """
    if not value.is_finite():
        return str(value)
    if value.is_zero():
        # Also catches -0, which people do not expect to see.
        return "0"
    if value == value.to_integral_value() and value.adjusted() < PRECISION:
        return str(int(value))
    with decimal.localcontext(decimal.Context(prec=DISPLAY_DIGITS)):
        rounded = (+value).normalize()
    if -7 <= rounded.adjusted() < 21:
        return f"{rounded:f}"
    return f"{rounded:e}"


def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression and return the result as text.

    Supports `+`, `-`, `*`, `/`, `%` (modulo; a non-zero result takes the sign of the
    divisor, as in Python), `^` or `**` (power, right-associative: `2^3^2` is 512 and
    `-2^2` is -4), unary minus and plus, parentheses and decimal numbers such as `3.5` or
    `.5`. Arithmetic is exact decimal with 50 significant digits, so `0.1 + 0.2` is `0.3`;
    non-integer results are shown with 16 significant digits. Variables, functions and
    scientific notation are not supported.

    Args:
        expression: The arithmetic expression to evaluate, e.g. `(1250 * 1.2) / 7`.

    Returns:
        The result, e.g. `214.2857142857143`.

    Raises:
        CalculationError: The expression is malformed (with the position of the problem),
            divides by zero, or is too long, too deeply nested or too large.
    """
    return format_result(evaluate(expression))


def _evaluation_context() -> decimal.Context:
    # A fresh context per call: the caller's global context is never read or changed, and
    # the exponent range bounds the size of every number (and of the Fractions in `%`).
    return decimal.Context(
        prec=PRECISION,
        rounding=decimal.ROUND_HALF_EVEN,
        Emax=_MAX_MAGNITUDE_DIGITS - 1,
        Emin=-(_MAX_MAGNITUDE_DIGITS - 1),
        traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
    )


def _tokenize(expression: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    length = len(expression)
    while index < length:
        char = expression[index]
        if char.isspace():
            index += 1
            continue
        start = index
        if char in _DIGITS or char == ".":
            while index < length and expression[index] in _DIGITS:
                index += 1
            if index < length and expression[index] == ".":
                index += 1
                while index < length and expression[index] in _DIGITS:
                    index += 1
            text = expression[start:index]
            stray = start if text == "." else index
            # A second point ("1.2.3") would otherwise start a new number and be misreported.
            if text == "." or (index < length and expression[index] == "."):
                raise CalculationError(
                    f"unexpected character '.' at position {stray + 1}", stray + 1
                )
            tokens.append(_Token("number", text, start + 1))
            continue
        if expression.startswith("**", index):
            tokens.append(_Token("^", "**", start + 1))
            index += 2
            continue
        kind = _SYMBOLS.get(char)
        if kind is None:
            raise CalculationError(
                f"unexpected character {char!r} at position {start + 1}", start + 1
            )
        tokens.append(_Token(kind, char, start + 1))
        index += 1
    tokens.append(_Token("end", "", length + 1))
    return tokens


def _too_large(operator: _Token) -> CalculationError:
    return CalculationError(
        f"result too large at position {operator.position} "
        f"(magnitudes must stay below 1e{_MAX_MAGNITUDE_DIGITS})",
        operator.position,
    )


class _Parser:
    """Recursive-descent evaluator; must run inside the evaluation context."""

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._depth = 0

    def parse(self) -> Decimal:
        if self._peek().kind == "end":
            raise CalculationError("empty expression")
        value = self._expression()
        token = self._peek()
        if token.kind == ")":
            raise CalculationError(
                f"unbalanced parentheses: ')' at position {token.position} has no matching '('",
                token.position,
            )
        if token.kind != "end":
            raise self._missing_operator(token)
        return value

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _advance(self) -> _Token:
        token = self._tokens[self._index]
        self._index += 1
        return token

    def _expression(self) -> Decimal:
        value = self._term()
        while self._peek().kind in ("+", "-"):
            operator = self._advance()
            value = _binary(operator, value, self._term())
        return value

    def _term(self) -> Decimal:
        value = self._unary()
        while self._peek().kind in ("*", "/", "%"):
            operator = self._advance()
            value = _binary(operator, value, self._unary())
        return value

    def _unary(self) -> Decimal:
        negative = False
        while self._peek().kind in ("+", "-"):
            negative ^= self._advance().kind == "-"
        # The sign applies after the power, as in maths and Python: -2^2 is -(2^2).
        value = self._power()
        return -value if negative else value

    def _power(self) -> Decimal:
        base = self._primary()
        if self._peek().kind != "^":
            return base
        operator = self._advance()
        self._enter(operator)
        # Recursing through _unary makes ^ right-associative and allows 2^-1.
        exponent = self._unary()
        self._depth -= 1
        return _power(operator, base, exponent)

    def _primary(self) -> Decimal:
        token = self._peek()
        if token.kind == "number":
            self._advance()
            # Unary plus rounds the literal to the context precision.
            return +Decimal(token.text)
        if token.kind == "(":
            self._advance()
            self._enter(token)
            value = self._expression()
            closing = self._peek()
            if closing.kind == "end":
                raise CalculationError(
                    f"unbalanced parentheses: '(' at position {token.position} is never closed",
                    token.position,
                )
            if closing.kind != ")":
                raise self._missing_operator(closing)
            self._advance()
            self._depth -= 1
            return value
        if token.kind == "end":
            raise CalculationError(
                f"missing operand at position {token.position} (end of expression)",
                token.position,
            )
        raise CalculationError(
            f"missing operand before {token.text!r} at position {token.position}",
            token.position,
        )

    def _enter(self, token: _Token) -> None:
        self._depth += 1
        if self._depth > MAX_NESTING_DEPTH:
            raise CalculationError(
                f"expression nested too deeply at position {token.position} "
                f"(limit {MAX_NESTING_DEPTH} levels of parentheses and powers)",
                token.position,
            )

    @staticmethod
    def _missing_operator(token: _Token) -> CalculationError:
        return CalculationError(
            f"missing operator before {token.text!r} at position {token.position}",
            token.position,
        )


def _binary(operator: _Token, left: Decimal, right: Decimal) -> Decimal:
    try:
        if operator.kind == "+":
            return left + right
        if operator.kind == "-":
            return left - right
        if operator.kind == "*":
            return left * right
        if right.is_zero():
            cause = "division" if operator.kind == "/" else "modulo"
            raise CalculationError(
                f"{cause} by zero at position {operator.position}", operator.position
            )
        if operator.kind == "/":
            return left / right
        return _python_modulo(left, right)
    except decimal.Overflow:
        raise _too_large(operator) from None


def _python_modulo(left: Decimal, right: Decimal) -> Decimal:
    # Decimal's own % truncates (sign of the dividend) and fails once the quotient has more
    # than PRECISION digits; Fraction is exact and floors like Python's int %.
    remainder = Fraction(left) % Fraction(right)
    return Decimal(remainder.numerator) / Decimal(remainder.denominator)


def _power(operator: _Token, base: Decimal, exponent: Decimal) -> Decimal:
    position = operator.position
    if base.is_zero():
        if exponent < 0:
            raise CalculationError(
                f"division by zero at position {position} (0 raised to a negative power)",
                position,
            )
        if exponent.is_zero():
            # Python's convention; Decimal itself rejects 0 ** 0.
            return Decimal(1)
    integral = exponent == exponent.to_integral_value()
    if base < 0 and not integral:
        raise CalculationError(
            f"negative base with a non-integer exponent at position {position} "
            "(the result would be a complex number)",
            position,
        )
    log_base = None if base.is_zero() else abs(base).log10()
    if abs(exponent) > MAX_EXPONENT:
        # Name the real problem: 9^9^9 is too large, whereas 1^100000 only breaks the limit.
        grows = log_base is not None and not log_base.is_zero() and (log_base > 0) == (exponent > 0)
        if grows:
            raise _too_large(operator)
        raise CalculationError(
            f"exponent too large at position {position}: {exponent} exceeds the limit of "
            f"{MAX_EXPONENT} in absolute value",
            position,
        )
    # Checked before computing so that a huge power fails at once instead of overflowing late.
    if log_base is not None and log_base * exponent >= _MAX_MAGNITUDE_DIGITS:
        raise _too_large(operator)
    try:
        return base ** int(exponent) if integral else base**exponent
    except decimal.Overflow:
        raise _too_large(operator) from None
