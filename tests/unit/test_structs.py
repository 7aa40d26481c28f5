"""The record base every plain data class of specflow builds on: what its classes promise, held."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from typing import ClassVar

import pytest

from specflow.structs import Struct, asdict, field, replace


class Point(Struct, frozen=True):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    note: str = field(default="", compare=False)
    ORIGIN: ClassVar[str] = "0,0"


class Counter(Struct):
    name: str
    hits: int = 0
    seen: dict[str, int] = field(default_factory=dict)


class Derived(Struct):
    base: int
    doubled: int = field(init=False)
    calls: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.doubled = self.base * 2
        self.calls.append("post_init")


class Nested(Struct, frozen=True):
    point: Point
    points: tuple[Point, ...] = ()
    by_name: dict[str, Point] = field(default_factory=dict)


def test_positional_and_keyword_construction_with_defaults_and_fresh_factories() -> None:
    a = Point(1)
    b = Point(1, 2, ("t",), "n")
    c = Point(y=3, x=4)
    assert (a.x, a.y, a.tags, a.note) == (1, 0, (), "")
    assert (b.x, b.y, b.tags, b.note) == (1, 2, ("t",), "n")
    assert (c.x, c.y) == (4, 3)
    assert Counter("n").seen is not Counter("n").seen  # a factory's value is made per instance
    assert Derived(1).calls is not Derived(1).calls
    assert Point.ORIGIN == "0,0" and "ORIGIN" not in Point.__struct_fields__


def test_wrong_calls_fail_as_a_function_call_would() -> None:
    with pytest.raises(TypeError, match="missing required arguments: 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError, match="takes 4 positional arguments but 5 were given"):
        Point(1, 2, (), "", 5)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'doubled'"):
        Derived(1, doubled=2)  # type: ignore[call-arg]


def test_a_field_without_a_default_cannot_follow_one_with_a_default() -> None:
    with pytest.raises(TypeError, match="field 'b' without a default follows 'a'"):

        class Bad(Struct):
            a: int = 0
            b: int  # type: ignore[misc]


def test_frozen_instances_refuse_assignment_and_deletion_mutable_ones_take_it() -> None:
    p = Point(1)
    with pytest.raises(AttributeError, match="cannot assign to field 'x' of frozen Point"):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError, match="cannot delete field 'x' of frozen Point"):
        del p.x
    assert p.x == 1
    c = Counter("n")
    c.hits += 1
    assert c.hits == 1


def test_equality_is_by_type_and_compared_fields_and_hashing_follows_frozen() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(1, 3)
    assert Point(1, 2, note="a") == Point(1, 2, note="b")  # compare=False
    assert Point(1) != Counter("1")
    assert Point(1).__eq__(object()) is NotImplemented
    assert hash(Point(1, 2, note="a")) == hash(Point(1, 2, note="b"))
    assert len({Point(1, 2), Point(1, 2, note="b"), Point(2)}) == 2
    with pytest.raises(TypeError, match="unhashable"):
        hash(Nested(Point(1)))  # frozen, but one of its fields is a dict
    assert Counter("a", 1) == Counter("a", 1)
    with pytest.raises(TypeError, match="unhashable"):
        hash(Counter("a"))


def test_repr_names_the_class_and_every_field() -> None:
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=(), note='')"
    assert repr(Nested(Point(1))) == "Nested(point=Point(x=1, y=0, tags=(), note=''), points=(), by_name={})"


def test_post_init_runs_after_the_fields_are_set_and_init_false_fields_stay_out_of_the_call() -> None:
    d = Derived(21)
    assert d.doubled == 42 and d.calls == ["post_init"]
    assert Derived.__match_args__ == ("base", "calls")
    match d:
        case Derived(21, calls):
            assert calls == ["post_init"]
        case _:
            pytest.fail("a record matches by position")


def test_replace_makes_a_new_instance_through_init() -> None:
    p = Point(1, 2, ("t",))
    q = replace(p, y=5)
    assert q == Point(1, 5, ("t",)) and p.y == 2
    assert replace(Derived(1), base=4).doubled == 8  # __post_init__ ran again
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        replace(p, z=1)


def test_asdict_turns_nested_records_into_json_ready_dicts() -> None:
    n = Nested(Point(1, tags=("a",)), (Point(2),), {"k": Point(3)})
    plain = asdict(n)
    assert plain == {
        "point": {"x": 1, "y": 0, "tags": ("a",), "note": ""},
        "points": ({"x": 2, "y": 0, "tags": (), "note": ""},),
        "by_name": {"k": {"x": 3, "y": 0, "tags": (), "note": ""}},
    }
    c = Counter("n", seen={"a": 1})
    plain = asdict(c)
    plain["seen"]["b"] = 2
    assert c.seen == {"a": 1}  # containers are copied, not shared
    assert json.loads(json.dumps(asdict(n)))["by_name"]["k"]["x"] == 3


def test_records_pickle_and_copy_frozen_ones_too() -> None:
    n = Nested(Point(1, 2, ("t",), "note"), (Point(2),), {"k": Point(3)})
    assert pickle.loads(pickle.dumps(n)) == n
    assert pickle.loads(pickle.dumps(n)).point.note == "note"
    assert copy.deepcopy(n) == n and copy.deepcopy(n).by_name is not n.by_name
    c = Counter("n", 3, {"a": 1})
    assert copy.copy(c) == c and pickle.loads(pickle.dumps(c)).seen == {"a": 1}


def test_defining_a_record_does_not_import_dataclasses_or_inspect() -> None:
    code = (
        "import sys\n"
        "from specflow.structs import Struct\n"
        "class A(Struct, frozen=True):\n"
        "    a: int\n"
        "print(A(1), sorted({'dataclasses', 'inspect'} & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "A(a=1) []\n"


def test_the_instance_holds_its_fields_in_their_order_whatever_the_call() -> None:
    # records become JSON through their ``__dict__`` (``to_dict``): the keys keep the fields' order
    assert list(vars(Counter(hits=2, name="n"))) == ["name", "hits", "seen"]
    assert json.dumps(vars(Point(y=1, x=2))) == '{"x": 2, "y": 1, "tags": [], "note": ""}'
    assert list(vars(Derived(base=1))) == ["base", "calls", "doubled"]  # __post_init__ sets its field last
