"""Operator metadata: the keywords of ``register(name, target, **metadata)``, defined once.

:class:`OperatorMetadata` declares every field: its type, and in ``Annotated`` its
:class:`Field` (the default, the :class:`Rule` a value must follow, whether it is a Ray
resource of each call, whether `hub search` matches it). Everything else reads this one
definition: the ``register`` hook's type (:class:`hub.hookspecs.Register`),
:class:`hub.OperatorSpec`, the hub's upload check (which reads a wheel's ``register(...)``
calls without running them), the hub's JSON API, `hub info`, `hub search` and the pages.
:func:`check_registration` is the one validation, so a bad value gets the same message
when a plugin registers it and when the hub refuses its wheel. Adding a field is one line
in :class:`OperatorMetadata` (and its test).

>>> name, metadata = check_registration("Add_One", "my_ops.impl:add_one", {"num_cpus": 0.5})
>>> name, metadata["num_cpus"], metadata["kind"]
('add-one', 0.5, 'function')
"""

# No `from __future__ import annotations`: FIELDS reads the annotations of
# OperatorMetadata, so they are evaluated once, when the class is made.

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict, cast, get_args, get_type_hints

from ._exceptions import InvalidOperator
from ._names import normalize_name

Kind = Literal["function", "class"]
KINDS: tuple[Kind, ...] = get_args(Kind)

_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*\Z")
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*\Z")
_SHOWN_VALUE = 60  # characters of a refused value quoted in the message
_MAX_BYTES = 2**63  # 8 EiB, past any node: bounds what the pages and JSON readers format


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Rule:
    """What a value must be: its test, the words the message uses, and its stored form."""

    test: Callable[[Any], bool]
    must_be: str
    store: Callable[[Any], Any] = _same


def _amount(value: object) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:  # an int too large for a float (a 400-digit literal) is no amount either
        return 0 <= float(value) < math.inf
    except OverflowError:
        return False


def _bytes(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool)
                             and 0 <= value < _MAX_BYTES)


def _texts(value: object) -> bool:
    items = (value,) if isinstance(value, str) else value
    return isinstance(items, (list, tuple)) and all(isinstance(i, str) for i in items)


def _as_tuple(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


KIND = Rule(lambda v: v in KINDS, " or ".join(repr(k) for k in KINDS))
FLAG = Rule(lambda v: isinstance(v, bool), "True or False")
TEXT = Rule(lambda v: isinstance(v, str), "a string")
AMOUNT = Rule(_amount, "a finite number >= 0")
BYTES = Rule(_bytes, "a whole number of bytes >= 0 and < 2**63, or None")
TEXTS = Rule(_texts, "a string or a list of strings", store=_as_tuple)
TAGS = Rule(lambda v: isinstance(v, (list, tuple)) and all(
    isinstance(t, str) and 0 < len(t) <= 32 for t in v),
    "a list of strings of 1 to 32 characters", store=tuple)


@dataclass(frozen=True)
class Field:
    """One metadata field's default and rule (its name and type are in OperatorMetadata)."""

    default: Any
    rule: Rule
    resource: bool = False  # a Ray option of every call (num_cpus=..., in Resources)
    searched: bool = False  # `hub search` matches its words


class OperatorMetadata(TypedDict, total=False):
    """The keyword arguments of ``register(name, target, **metadata)``; each is optional.

    >>> meta: OperatorMetadata = {"kind": "class", "batch": True, "num_gpus": 1}
    """

    kind: Annotated[Kind, Field("function", KIND)]  # a function, or a class built once
    batch: Annotated[bool, Field(False, FLAG)]  # takes a list of items per call
    description: Annotated[str, Field("", TEXT, searched=True)]  # one line
    num_cpus: Annotated[float, Field(1.0, AMOUNT, resource=True)]  # per call
    num_gpus: Annotated[float, Field(0.0, AMOUNT, resource=True)]
    memory: Annotated[int | None, Field(None, BYTES, resource=True)]  # bytes
    inputs: Annotated[Sequence[str], Field((), TEXTS)]  # what one item is, e.g. "text: str"
    outputs: Annotated[Sequence[str], Field((), TEXTS)]
    tags: Annotated[Sequence[str], Field((), TAGS, searched=True)]  # for `hub search`


def _field(key: str, hint: object) -> Field:
    found = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Field)]
    if len(found) != 1:
        raise TypeError(f"OperatorMetadata.{key} needs one Field in Annotated[...]")
    return found[0]


FIELDS: Mapping[str, Field] = {
    key: _field(key, hint)
    for key, hint in get_type_hints(OperatorMetadata, include_extras=True).items()
}
"""Every field by name, in declaration order."""

RESOURCES = tuple(key for key, f in FIELDS.items() if f.resource)


def check_registration(name: object, target: object, metadata: Mapping[str, object]
                       ) -> tuple[str, OperatorMetadata]:
    """Validate one ``register(...)`` call; return the normalized name and every field.

    Fields not given take their default; lists are stored as tuples. Raises
    :class:`~hub.InvalidOperator` naming the first rule broken.
    """
    normalized = _check_name(name)
    if not isinstance(target, str) or not _TARGET.match(target):
        raise InvalidOperator(f"operator {normalized!r}: target {target!r} must be an import "
                              "path 'package.module:attribute'; fix its register() call")
    unknown = [key for key in metadata if key not in FIELDS]
    if unknown:
        raise InvalidOperator(f"operator {normalized!r}: unknown metadata {unknown[0]!r}; "
                              f"register() takes {', '.join(FIELDS)}")
    values = {key: _checked(normalized, key, f, metadata.get(key, f.default))
              for key, f in FIELDS.items()}
    return normalized, cast(OperatorMetadata, values)  # every key, each checked by its rule


def _check_name(name: object) -> str:
    normalized = normalize_name(name) if isinstance(name, str) else name
    if not isinstance(normalized, str) or not _NAME.match(normalized):
        raise InvalidOperator(f"operator name {name!r} must be lower-case words joined by "
                              "dashes, e.g. 'image-embed'; fix its register() call")
    return normalized


def _checked(name: str, key: str, field: Field, value: object) -> Any:
    if not field.rule.test(value):
        shown = repr(value)
        if len(shown) > _SHOWN_VALUE:
            shown = shown[:_SHOWN_VALUE - 3] + "..."
        raise InvalidOperator(f"operator {name!r}: {key}={shown} must be "
                              f"{field.rule.must_be}; fix its register() call")
    return field.rule.store(value)


def to_json(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Checked metadata as the hub's JSON holds it (tuples as lists)."""
    return {key: list(v) if isinstance(v, tuple) else v for key, v in metadata.items()}


def with_defaults(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Every field of an operator's JSON (a field it lacks or holds null takes its default).

    Not checked: a hub stored its records under the rules of its own release.
    """
    return {key: f.default if entry.get(key) is None else entry[key]
            for key, f in FIELDS.items()}


def searched_texts(entry: Mapping[str, Any]) -> list[str]:
    """The words `hub search` matches in an operator's JSON, besides its name."""
    texts: list[str] = []
    for key, value in with_defaults(entry).items():
        if FIELDS[key].searched:
            texts.extend(value if isinstance(value, (list, tuple)) else [value])
    return [str(text) for text in texts]


# What plugin authors use; the JSON helpers above serve the hub itself.
__all__ = ["FIELDS", "KINDS", "Field", "Kind", "OperatorMetadata", "Rule", "check_registration"]
