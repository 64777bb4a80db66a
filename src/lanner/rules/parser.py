"""Hand-written recursive-descent parser for Falco's condition language.

The grammar and the error texts follow libsinsp's filter parser, so that a broken rules file
gets the message a Falco user already knows (``unexpected token after 'open', expecting
'or', 'and'``). Precedence is ``not`` > ``and`` > ``or``; ``and``/``or`` build n-ary nodes;
repeated ``not`` collapses. Lists are substituted as text before parsing (by the loader),
macros after parsing (``macros.resolve_macros``).

Deliberate differences from libsinsp, all accepting more than it does:
word operators may be followed by any blank (libsinsp wants a space), and a quoted string
may end with an escaped backslash (``"C:\\\\"``).
"""

from __future__ import annotations

import re

from lanner.rules.ast import (
    And,
    BinaryCheck,
    FieldRef,
    Lhs,
    ListValue,
    MacroRef,
    Node,
    Not,
    Operand,
    Or,
    Rhs,
    Transformer,
    UnaryCheck,
    ValRef,
    Value,
)
from lanner.rules.errors import ConditionSyntaxError

BLANKS = " \t\b\r\n"
"""What the parser skips between tokens (libsinsp's set)."""

NOT_BLANK_RE = re.compile(r"not[ \t\b\r\n\f\v]+")
IDENTIFIER_RE = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*")
FIELD_NAME_RE = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+")
FIELD_ARG_BARE_RE = re.compile(r"[^\]\[\"' \t\b\r\n\f\v]+")
HEX_NUMBER_RE = re.compile(r"0[xX][0-9a-zA-Z]+")
NUMBER_RE = re.compile(r"[+\-]?[0-9]+\.?[0-9]*(?:[eE][+\-][0-9]+)?")
BARE_STRING_RE = re.compile(r"[^()\"' \t\b\r\n\f\v=,]+")

UNARY_OPERATORS = ("exists",)
NUMERIC_OPERATORS = ("<=", "<", ">=", ">")
STRING_OPERATORS = (
    "==",
    "=",
    "!=",
    "glob",
    "iglob",
    "contains",
    "icontains",
    "bcontains",
    "startswith",
    "bstartswith",
    "endswith",
    "regex",
)
LIST_OPERATORS = ("intersects", "in", "pmatch")
"""Tried in this order: ``intersects`` must come before its prefix ``in``."""
WORD_OPERATORS = frozenset(op for op in STRING_OPERATORS if op.isalpha())
"""Operators that must be followed by a blank (``contains x``; ``=x`` needs none)."""
OPERATOR_MODIFIERS = ("oneof", "anyof", "allof")

ALL_OPERATORS = UNARY_OPERATORS + NUMERIC_OPERATORS + STRING_OPERATORS + LIST_OPERATORS

SINGLE_ARG_TRANSFORMERS = ("tolower", "toupper", "b64", "basename", "len")
MULTI_ARG_TRANSFORMERS = ("join", "concat", "getopt")
"""Parsed so that newer rules files load; the compiler rejects them with a clear message."""
TRANSFORMERS = SINGLE_ARG_TRANSFORMERS + MULTI_ARG_TRANSFORMERS

DEFAULT_MAX_DEPTH = 1000


def _quoted_list(items: tuple[str, ...]) -> str:
    return ", ".join(f"'{item}'" for item in items)


_TRANSFORMER_CHOICES = _quoted_list(("val", *TRANSFORMERS))


def parse_condition(text: str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Node:
    """Parse a whole condition; raise ConditionSyntaxError (with ``pos``) when it is invalid."""
    parser = _Parser(text, max_depth)
    try:
        return parser.parse()
    except RecursionError:
        # Python's own stack ran out before max_depth did: same verdict, clean error.
        raise ConditionSyntaxError("condition is nested too deeply to parse", parser.pos) from None


def format_condition(node: Node) -> str:
    """The canonical text of ``node``; parsing it gives back an equal tree."""
    from lanner.rules.printer import format_condition as _format

    return _format(node)


def unescape_quoted(raw: str, pos: int = 0) -> str:
    """The value of a quoted string token, delimiters included in ``raw``.

    Escapes are libsinsp's: ``\\b \\f \\n \\r \\t \\\\ \\/``, the string's own quote
    character, and a historical ``\\<space>`` that stands for a backslash.
    """
    delimiter = raw[0]
    out: list[str] = []
    body = raw[1:-1]
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        index += 1
        escaped = body[index] if index < len(body) else ""
        if escaped in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[escaped])
        elif escaped == '"':
            if delimiter != '"':
                raise ConditionSyntaxError("invalid \\\" escape in '-quoted string", pos + index)
            out.append('"')
        elif escaped == "'":
            if delimiter != "'":
                raise ConditionSyntaxError("invalid \\' escape in \"-quoted string", pos + index)
            out.append("'")
        else:
            raise ConditionSyntaxError(
                f"unsupported string escape sequence: \\{escaped}", pos + index
            )
        index += 1
    return "".join(out)


_SIMPLE_ESCAPES = {
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "\\": "\\",
    " ": "\\",
    "/": "/",
}


class _Parser:
    """One parse of one text. ``pos`` is the cursor; ``last`` the last token read
    (libsinsp quotes it in "unexpected token after ..."), blanks excluded."""

    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.size = len(text)
        self.pos = 0
        self.last = ""
        self.depth = 0
        self.max_depth = max_depth
        self.last_quoted = False
        self.item_start = 0

    # -- grammar -----------------------------------------------------------------

    def parse(self) -> Node:
        if not self.text:
            raise ConditionSyntaxError("filter input string is empty", 0)
        node = self.parse_or()
        if self.pos != self.size:
            raise self.error(f"unexpected token after '{self.last}', expecting 'or', 'and'")
        return node

    def parse_or(self) -> Node:
        self.enter()
        self.blank()
        start = self.pos
        children = [self.parse_and()]
        self.blank()
        while self.literal("or"):
            children.append(self.after_connective("or"))
            self.blank()
        self.depth -= 1
        return children[0] if len(children) == 1 else Or(tuple(children), start)

    def parse_and(self) -> Node:
        self.enter()
        self.blank()
        start = self.pos
        children = [self.parse_not()]
        self.blank()
        while self.literal("and"):
            children.append(self.after_connective("and"))
            self.blank()
        self.depth -= 1
        return children[0] if len(children) == 1 else And(tuple(children), start)

    def after_connective(self, word: str) -> Node:
        """What follows ``and``/``or``: a blank then an operand, or directly ``(``."""
        if self.blank():
            return self.parse_not() if word == "and" else self.parse_and()
        if self.literal("("):
            return self.parse_embedded()
        raise self.error(f"expected blank or '(' after '{word}'")

    def parse_not(self) -> Node:
        self.enter()
        self.blank()
        start = self.pos
        negate = False
        while match := NOT_BLANK_RE.match(self.text, self.pos):
            self.take(match.group())
            negate = not negate
        if self.literal("not("):
            negate = not negate
            child = self.parse_embedded()
        else:
            child = self.parse_check()
        self.depth -= 1
        return Not(child, start) if negate else child

    def parse_embedded(self) -> Node:
        """The rest of a parenthesised expression, the ``(`` already read."""
        self.enter()
        self.blank()
        child = self.parse_or()
        self.blank()
        if not self.literal(")"):
            raise self.error("expected a ')' token")
        self.depth -= 1
        return child

    def parse_check(self) -> Node:
        self.enter()
        self.blank()
        start = self.pos
        result: Node
        if self.literal("("):
            result = self.parse_embedded()
        elif self.regex(FIELD_NAME_RE):
            lhs: Lhs = self.parse_field_rest(self.last, start)
            result = self.parse_operator(lhs, start)
        elif (name := self.transformer_open()) is not None:
            lhs = self.parse_transformer_rest(name, start)
            result = self.parse_operator(lhs, start)
        elif self.regex(IDENTIFIER_RE):
            result = MacroRef(self.last, start)
        else:
            raise self.error("expected a '(' token, a field check, or an identifier")
        self.depth -= 1
        return result

    def parse_field_rest(self, name: str, start: int) -> FieldRef:
        """An optional ``[arg]`` after a field name."""
        arg = None
        if self.literal("["):
            if not (self.quoted() or self.regex(FIELD_ARG_BARE_RE)):
                raise self.error(
                    "expected a valid field argument: a quoted string or a bare string"
                )
            arg = self.last
            if not self.literal("]"):
                raise self.error("expected a ']' token")
        return FieldRef(name, arg, start)

    def parse_transformer_rest(self, name: str, start: int) -> Transformer:
        """A transformer's arguments and closing parenthesis, ``name(`` already read."""
        self.enter()
        args: list[Operand] = []
        while True:
            self.blank()
            arg_start = self.pos
            arg: Operand
            if (inner := self.transformer_open()) is not None:
                arg = self.parse_transformer_rest(inner, arg_start)
            elif self.regex(FIELD_NAME_RE):
                arg = self.parse_field_rest(self.last, arg_start)
            elif name in MULTI_ARG_TRANSFORMERS and (self.quoted() or self.regex(BARE_STRING_RE)):
                arg = Value(self.last, self.last_quoted, arg_start)
            else:
                raise self.error(
                    f"expected a field or a nested valid transformer: {_TRANSFORMER_CHOICES}"
                )
            args.append(arg)
            self.blank()
            if not (name in MULTI_ARG_TRANSFORMERS and self.literal(",")):
                break
        if not self.literal(")"):
            raise self.error("expected a ')' token closing the transformer")
        self.depth -= 1
        return Transformer(name, tuple(args), start)

    def parse_operator(self, lhs: Lhs, start: int) -> Node:
        """The operator and right-hand side of a check."""
        self.enter()
        self.blank()
        result: Node
        if self.literal("exists"):
            result = UnaryCheck(lhs, "exists", start)
        elif (op := self.one_of(NUMERIC_OPERATORS)) is not None:
            result = BinaryCheck(lhs, op, self.parse_number_rhs(), None, start)
        elif (op := self.string_operator()) is not None:
            modifier = self.modifier()
            rhs: Rhs
            if modifier is not None:
                rhs = self.parse_list_rhs()
            else:
                rhs = self.parse_string_rhs()
            result = BinaryCheck(lhs, op, rhs, modifier, start)
        elif (op := self.one_of(LIST_OPERATORS)) is not None:
            result = BinaryCheck(lhs, op, self.parse_list_rhs(), None, start)
        else:
            raise self.error(
                f"expected a valid check operator: one of {_quoted_list(ALL_OPERATORS)}"
            )
        self.depth -= 1
        return result

    def parse_number_rhs(self) -> Rhs:
        self.blank()
        start = self.pos
        if (special := self.transformer_or_val()) is not None:
            return special
        if self.regex(HEX_NUMBER_RE) or self.regex(NUMBER_RE):
            return Value(self.last, False, start)
        raise self.error(
            f"expected a number value or a field with a valid transformer: {_TRANSFORMER_CHOICES}"
        )

    def parse_string_rhs(self) -> Rhs:
        self.blank()
        start = self.pos
        if (special := self.transformer_or_val()) is not None:
            return special
        if self.quoted() or self.regex(BARE_STRING_RE):
            return Value(self.last, self.last_quoted, start)
        raise self.error(
            f"expected a string value or a field with a valid transformer: {_TRANSFORMER_CHOICES}"
        )

    def parse_list_rhs(self) -> Rhs:
        self.blank()
        start = self.pos
        if self.literal("("):
            items: list[Value] = []
            self.blank()
            if self.list_item():
                items.append(Value(self.last, self.last_quoted, self.item_start))
                self.blank()
                while self.literal(","):
                    self.blank()
                    if not self.list_item():
                        raise self.error("expected a string value")
                    items.append(Value(self.last, self.last_quoted, self.item_start))
                    self.blank()
            if not self.literal(")"):
                raise self.error("expected a ')' token")
            return ListValue(tuple(items), start)
        if (special := self.transformer_or_val()) is not None:
            return special
        if self.regex(IDENTIFIER_RE):
            # A list name the loader did not substitute: one value, as in libsinsp.
            return Value(self.last, False, start)
        raise self.error(
            "expected a list, an identifier, or a field with a valid transformer: "
            + _TRANSFORMER_CHOICES
        )

    def list_item(self) -> bool:
        self.item_start = self.pos
        return self.quoted() or self.regex(BARE_STRING_RE)

    def transformer_or_val(self) -> Transformer | ValRef | None:
        """``val(field)`` or a transformer on the right-hand side, if one starts here."""
        start = self.pos
        if self.literal("val("):
            self.blank()
            field_start = self.pos
            if not self.regex(FIELD_NAME_RE):
                raise self.error("expected a field within 'val' transformer")
            field = self.parse_field_rest(self.last, field_start)
            self.blank()
            if not self.literal(")"):
                raise self.error("expected a ')' token closing the transformer")
            return ValRef(field, start)
        if (name := self.transformer_open()) is not None:
            return self.parse_transformer_rest(name, start)
        return None

    # -- lexing ------------------------------------------------------------------

    def enter(self) -> None:
        self.depth += 1
        if self.depth >= self.max_depth:
            raise self.error(f"exceeded max depth limit of {self.max_depth}")

    def error(self, message: str) -> ConditionSyntaxError:
        return ConditionSyntaxError(message, self.pos)

    def take(self, token: str) -> None:
        self.pos += len(token)
        self.last = token
        self.last_quoted = False

    def blank(self) -> bool:
        start = self.pos
        text, size = self.text, self.size
        while self.pos < size and text[self.pos] in BLANKS:
            self.pos += 1
        return self.pos != start

    def literal(self, token: str) -> bool:
        if self.text.startswith(token, self.pos):
            self.take(token)
            return True
        return False

    def regex(self, pattern: re.Pattern[str]) -> bool:
        match = pattern.match(self.text, self.pos)
        if match is None:
            return False
        self.take(match.group())
        return True

    def one_of(self, tokens: tuple[str, ...]) -> str | None:
        for token in tokens:
            if self.literal(token):
                return token
        return None

    def string_operator(self) -> str | None:
        for op in STRING_OPERATORS:
            if not self.text.startswith(op, self.pos):
                continue
            if op in WORD_OPERATORS:
                after = self.pos + len(op)
                if after >= self.size or self.text[after] not in BLANKS:
                    continue
            self.take(op)
            return op
        return None

    def modifier(self) -> str | None:
        """``oneof``/``anyof``/``allof`` between a string operator and a ``(`` list.

        Only taken when a blank and ``(`` follow, so a plain value named ``oneof``
        (``proc.name = oneof``) still parses as a value.
        """
        self.blank()
        for word in OPERATOR_MODIFIERS:
            if not self.text.startswith(word, self.pos):
                continue
            after = self.pos + len(word)
            rest = self.text[after:].lstrip(BLANKS)
            if after < self.size and self.text[after] in BLANKS and rest.startswith("("):
                self.take(word)
                return word
        return None

    def transformer_open(self) -> str | None:
        for name in TRANSFORMERS:
            if self.text.startswith(name, self.pos) and self.text.startswith(
                "(", self.pos + len(name)
            ):
                self.take(name + "(")
                self.blank()
                return name
        return None

    def quoted(self) -> bool:
        """A '…' or "…" string; leaves the cursor alone when it is not terminated."""
        text, start = self.text, self.pos
        if start >= self.size or text[start] not in "'\"":
            return False
        delimiter = text[start]
        index = start + 1
        while index < self.size:
            char = text[index]
            if char == "\\":
                index += 2
                continue
            if char == delimiter:
                value = unescape_quoted(text[start : index + 1], start)
                self.pos = index + 1
                self.last = value
                self.last_quoted = True
                return True
            index += 1
        return False
