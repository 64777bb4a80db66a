"""Parser: grammar, precedence, values, Falco's error texts and positions."""

from __future__ import annotations

import pytest

from lanner.rules.ast import (
    And,
    BinaryCheck,
    FieldRef,
    ListValue,
    MacroRef,
    Not,
    Or,
    Transformer,
    UnaryCheck,
    ValRef,
    Value,
    iter_nodes,
)
from lanner.rules.errors import ConditionSyntaxError
from lanner.rules.parser import format_condition, parse_condition


def check(name: str, op: str, value: str, quoted: bool = False) -> BinaryCheck:
    return BinaryCheck(FieldRef(name), op, Value(value, quoted))


A = MacroRef("a")
B = MacroRef("b")
C = MacroRef("c")


def test_precedence_not_binds_tighter_than_and_than_or() -> None:
    assert parse_condition("a or b and not c") == Or((A, And((B, Not(C)))))
    assert parse_condition("not a and b") == And((Not(A), B))
    assert parse_condition("(a or b) and c") == And((Or((A, B)), C))


def test_and_or_are_nary_and_keep_explicit_grouping() -> None:
    assert parse_condition("a and b and c") == And((A, B, C))
    assert parse_condition("a or b or c") == Or((A, B, C))
    assert parse_condition("a or (b or c)") == Or((A, Or((B, C))))


def test_repeated_not_collapses_but_parenthesised_not_nests() -> None:
    assert parse_condition("not not a") == A
    assert parse_condition("not not not a") == Not(A)
    assert parse_condition("not (not a)") == Not(Not(A))


def test_connectives_directly_followed_by_parenthesis() -> None:
    assert parse_condition("a and(b)") == And((A, B))
    assert parse_condition("a or(b)") == Or((A, B))
    assert parse_condition("not(a)") == Not(A)


def test_identifiers_starting_with_keywords_are_macros() -> None:
    assert parse_condition("notable and order") == And((MacroRef("notable"), MacroRef("order")))


def test_redundant_parentheses_and_blanks_vanish() -> None:
    assert parse_condition("  ((a))\n\tand\r\nb ") == And((A, B))


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("proc.pid<=1", "<="),
        ("proc.pid<1", "<"),
        ("proc.pid>=1", ">="),
        ("proc.pid>1", ">"),
        ("proc.name==x", "=="),
        ("proc.name=x", "="),
        ("proc.name!=x", "!="),
        ("proc.name glob x", "glob"),
        ("proc.name iglob x", "iglob"),
        ("proc.name contains x", "contains"),
        ("proc.name icontains x", "icontains"),
        ("evt.buffer bcontains x", "bcontains"),
        ("proc.name startswith x", "startswith"),
        ("evt.buffer bstartswith x", "bstartswith"),
        ("proc.name endswith x", "endswith"),
        ("proc.name regex x", "regex"),
    ],
)
def test_every_scalar_operator(text: str, op: str) -> None:
    node = parse_condition(text)
    assert isinstance(node, BinaryCheck)
    assert node.op == op
    assert node.rhs == Value("1" if op in ("<", "<=", ">", ">=") else "x")


def test_word_operator_needs_a_following_blank() -> None:
    with pytest.raises(ConditionSyntaxError, match="expected a valid check operator"):
        parse_condition("proc.name contains(x)")
    assert parse_condition("proc.name contains\tx") == check("proc.name", "contains", "x")


def test_list_operators_and_intersects_before_in() -> None:
    items = ListValue((Value("a"), Value("b c", True)))
    for op in ("in", "intersects", "pmatch"):
        node = parse_condition(f'proc.aname {op} (a, "b c")')
        assert node == BinaryCheck(FieldRef("proc.aname"), op, items)
    assert parse_condition("proc.name in()") == BinaryCheck(
        FieldRef("proc.name"), "in", ListValue(())
    )


def test_list_operator_with_bare_identifier_keeps_one_value() -> None:
    assert parse_condition("proc.name in shells") == check("proc.name", "in", "shells")


def test_exists_is_unary() -> None:
    assert parse_condition("k8s.ns.name exists") == UnaryCheck(FieldRef("k8s.ns.name"), "exists")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("proc.aname[2] = x", FieldRef("proc.aname", "2")),
        ("evt.arg[0] = x", FieldRef("evt.arg", "0")),
        ("k8s.pod.label[app] = x", FieldRef("k8s.pod.label", "app")),
        (
            "container.mount.dest[/var/run/docker.sock] = x",
            FieldRef("container.mount.dest", "/var/run/docker.sock"),
        ),
        ('k8s.pod.label["a b"] = x', FieldRef("k8s.pod.label", "a b")),
        ("evt.arg.name = x", FieldRef("evt.arg.name")),
    ],
)
def test_field_arguments(text: str, field: FieldRef) -> None:
    node = parse_condition(text)
    assert isinstance(node, BinaryCheck)
    assert node.lhs == field


def test_bare_and_quoted_values_with_escapes() -> None:
    assert parse_condition("proc.name = /usr/bin/x-y.z") == check(
        "proc.name", "=", "/usr/bin/x-y.z"
    )
    node = parse_condition(r'proc.cmdline = "a \"b\" \\ c\td"')
    assert node == check("proc.cmdline", "=", 'a "b" \\ c\td', quoted=True)
    node = parse_condition(r"proc.cmdline = 'it\'s'")
    assert node == check("proc.cmdline", "=", "it's", quoted=True)


def test_numbers_stay_text_including_hex_and_negative() -> None:
    assert parse_condition("evt.rawres < -1") == check("evt.rawres", "<", "-1")
    assert parse_condition("fd.num >= 0x1F") == check("fd.num", ">=", "0x1F")


def test_modifiers_take_a_list() -> None:
    node = parse_condition("proc.name startswith oneof (a, b)")
    assert node == BinaryCheck(
        FieldRef("proc.name"), "startswith", ListValue((Value("a"), Value("b"))), "oneof"
    )
    # A plain value that happens to be a modifier word stays a value.
    assert parse_condition("proc.name = allof") == check("proc.name", "=", "allof")


def test_transformers_and_val() -> None:
    node = parse_condition("tolower(basename(proc.exe)) = val(proc.pname)")
    assert node == BinaryCheck(
        Transformer("tolower", (Transformer("basename", (FieldRef("proc.exe"),)),)),
        "=",
        ValRef(FieldRef("proc.pname")),
    )
    node = parse_condition("len(proc.args) > 10")
    assert node == BinaryCheck(Transformer("len", (FieldRef("proc.args"),)), ">", Value("10"))
    node = parse_condition('concat(proc.name, ":", proc.pname) = x')
    assert isinstance(node, BinaryCheck)
    assert node.lhs == Transformer(
        "concat", (FieldRef("proc.name"), Value(":", True), FieldRef("proc.pname"))
    )


def test_positions_are_recorded_on_nodes() -> None:
    node = parse_condition("a and  proc.name = bash")
    assert isinstance(node, And)
    second = node.children[1]
    assert isinstance(second, BinaryCheck)
    assert second.pos == 7
    assert isinstance(second.rhs, Value)
    assert second.rhs.pos == 19


def test_iter_nodes_visits_everything_in_source_order() -> None:
    node = parse_condition("a and proc.name in (x, y)")
    kinds = [type(n).__name__ for n in iter_nodes(node)]
    assert kinds == ["And", "MacroRef", "BinaryCheck", "FieldRef", "ListValue", "Value", "Value"]


@pytest.mark.parametrize(
    ("text", "message", "pos"),
    [
        ("evt.type=execve xyz", "unexpected token after 'execve', expecting 'or', 'and'", 16),
        ('proc.name = "a b" c', "unexpected token after 'a b', expecting 'or', 'and'", 18),
        ("proc.name in (a) c", "unexpected token after ')', expecting 'or', 'and'", 17),
        ("", "filter input string is empty", 0),
        ("a orb", "expected blank or '(' after 'or'", 4),
        ("a andb", "expected blank or '(' after 'and'", 5),
        ("(a", "expected a ')' token", 2),
        ("a and =", "expected a '(' token, a field check, or an identifier", 6),
        ("proc.name", "expected a valid check operator: one of 'exists', '<=', '<'", 9),
        ("proc.pid > abc", "expected a number value or a field with a valid transformer", 11),
        ("proc.name = ", "expected a string value or a field with a valid transformer", 12),
        ("proc.name in", "expected a list, an identifier, or a field with a valid", 12),
        ("proc.name in (a b)", "expected a ')' token", 16),
        ("proc.name in (a,)", "expected a string value", 16),
        ("proc.aname[2 = x", "expected a ']' token", 12),
        ("proc.aname[] = x", "expected a valid field argument", 11),
        ("tolower(x) = y", "expected a field or a nested valid transformer", 8),
        ("tolower(proc.name = y", "expected a ')' token closing the transformer", 18),
        ("proc.name = val(x)", "expected a field within 'val' transformer", 16),
        (r'proc.name = "a\qb"', "unsupported string escape sequence: \\q", 14),
        (r"proc.name = 'a\"b'", "invalid \\\" escape in '-quoted string", 14),
        ('proc.name = "abc', "expected a string value or a field with a valid transformer", 12),
    ],
)
def test_error_messages_and_positions(text: str, message: str, pos: int) -> None:
    with pytest.raises(ConditionSyntaxError) as caught:
        parse_condition(text)
    assert caught.value.message.startswith(message)
    assert str(caught.value) == caught.value.message
    assert caught.value.pos == pos


def test_max_depth_is_enforced_with_a_syntax_error() -> None:
    text = "(" * 30 + "a" + ")" * 30
    assert parse_condition(text) == A
    with pytest.raises(ConditionSyntaxError, match="exceeded max depth limit of 20"):
        parse_condition(text, max_depth=20)


def test_very_deep_nesting_never_escapes_as_recursion_error() -> None:
    text = "not (" * 5000 + "a" + ")" * 5000
    with pytest.raises(ConditionSyntaxError):
        parse_condition(text)


@pytest.mark.parametrize(
    "text",
    [
        'evt.type = execve and proc.name in (a, "b c") or x',
        "not (a or b) and c",
        "not (not a)",
        "proc.aname[2] startswith oneof (a, b)",
        "tolower(proc.name) = val(proc.pname)",
        'k8s.pod.label["a b"] exists',
        'proc.cmdline contains "say \\"hi\\"\\n"',
        "proc.name in shells",
        "(a or b) and (c or a)",
    ],
)
def test_format_is_canonical_and_round_trips(text: str) -> None:
    node = parse_condition(text)
    formatted = format_condition(node)
    assert parse_condition(formatted) == node
    assert format_condition(parse_condition(formatted)) == formatted
