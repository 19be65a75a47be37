"""pulumi-random fakes: real random values with the provider's semantics and property names."""

from __future__ import annotations

import base64
import importlib.util
import inspect
import re
import string
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pulumi_random
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from looper_infra.engine.fakes import random as fake_random

FEW = settings(max_examples=30, deadline=None)
SPECIAL = set(fake_random.DEFAULT_SPECIAL)
CLASSES = {"minUpper": set(string.ascii_uppercase), "minLower": set(string.ascii_lowercase),
           "minNumeric": set(string.digits)}
BCRYPT = re.compile(r"^\$2a\$(04|10)\$[./A-Za-z0-9]{53}$")


@st.composite
def string_inputs(draw: st.DrawFn) -> dict[str, Any]:
    flags = draw(st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()).filter(any))
    length = draw(st.integers(min_value=1, max_value=64))
    inputs: dict[str, Any] = {"length": float(length)}  # numbers arrive as floats from the engine
    budget = length
    for enabled, flag, minimum in zip(flags, ("upper", "lower", "numeric", "special"),
                                      ("minUpper", "minLower", "minNumeric", "minSpecial"), strict=True):
        inputs[flag] = enabled
        if enabled and budget and draw(st.booleans()):
            inputs[minimum] = draw(st.integers(min_value=0, max_value=min(budget, 6)))
            budget -= inputs[minimum]
    override = draw(st.sampled_from([None, "", "-_.", "#"]))
    if override is not None:
        inputs["overrideSpecial"] = override
    return inputs


@FEW
@given(string_inputs())
def test_string_honours_length_classes_and_minimums(inputs: dict[str, Any]) -> None:
    state = fake_random.random_string("s", inputs)
    result = state["result"]
    assert len(result) == int(inputs["length"]) and state["id"] == result
    specials = set(inputs.get("overrideSpecial") or fake_random.DEFAULT_SPECIAL)
    allowed = ((CLASSES["minUpper"] if inputs["upper"] else set())
               | (CLASSES["minLower"] if inputs["lower"] else set())
               | (CLASSES["minNumeric"] if inputs["numeric"] else set())
               | (specials if inputs["special"] else set()))
    assert set(result) <= allowed
    for key, chars in (*CLASSES.items(), ("minSpecial", specials)):
        assert sum(c in chars for c in result) >= inputs.get(key, 0)
    # a disabled class contributes nothing (no minimum is drawn for it here)
    for flag, chars in (("upper", CLASSES["minUpper"]), ("lower", CLASSES["minLower"]),
                        ("numeric", CLASSES["minNumeric"]), ("special", SPECIAL | specials)):
        if not inputs[flag]:
            assert not set(result) & chars, (flag, result)
    # defaults are filled in like the provider's computed attributes
    assert state["numeric"] == state["number"] == inputs["numeric"]
    assert state["minSpecial"] == inputs.get("minSpecial", 0)


@FEW
@given(st.integers(min_value=1, max_value=40), st.booleans())
def test_password_has_result_and_bcrypt_shaped_hash(length: int, special: bool) -> None:
    inputs = {"length": length, "special": special}
    state = fake_random.random_password("pw", inputs)
    assert len(state["result"]) == length and state["id"] == "none"
    assert special or not set(state["result"]) & SPECIAL
    assert BCRYPT.match(state["bcryptHash"]), state["bcryptHash"]
    if importlib.util.find_spec("bcrypt") is None:
        assert state["bcryptHash"] == fake_random.placeholder_bcrypt_hash(state["result"])


def _bcrypt_b64decode(text: str) -> bytes:
    std = text.translate(str.maketrans(
        "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"))
    return base64.b64decode(std + "=" * (-len(std) % 4))


def test_placeholder_bcrypt_is_well_formed_deterministic_and_truncates_at_72_bytes() -> None:
    value = fake_random.placeholder_bcrypt_hash("hunter2")
    assert BCRYPT.match(value) and value == fake_random.placeholder_bcrypt_hash("hunter2")
    assert value != fake_random.placeholder_bcrypt_hash("hunter3")
    salt, checksum = value[7:29], value[29:]
    # canonical encodings: 16 salt bytes and 23 checksum bytes, padding bits zero
    assert len(_bcrypt_b64decode(salt)) == 16 and fake_random._bcrypt_b64(_bcrypt_b64decode(salt)) == salt
    assert len(_bcrypt_b64decode(checksum)) == 23
    assert fake_random._bcrypt_b64(_bcrypt_b64decode(checksum)) == checksum
    assert fake_random.placeholder_bcrypt_hash("a" * 72 + "x") == fake_random.placeholder_bcrypt_hash(
        "a" * 72 + "y")


@pytest.mark.skipif(importlib.util.find_spec("bcrypt") is None, reason="bcrypt is not installed")
def test_real_bcrypt_hash_verifies() -> None:
    import bcrypt

    state = fake_random.random_password("pw", {"length": 80})
    assert bcrypt.checkpw(state["result"].encode()[:72], state["bcryptHash"].encode())
    # a real hash at bcrypt's minimum cost (the provider's 10 costs ~80 ms per password)
    assert state["bcryptHash"].startswith(f"$2a${fake_random.FAKE_BCRYPT_COST:02d}$")
    assert not bcrypt.checkpw(b"not the password", state["bcryptHash"].encode())


def test_minimum_of_a_disabled_class_is_still_honoured_like_the_provider() -> None:
    state = fake_random.random_string("s", {"length": 12, "upper": False, "minUpper": 3,
                                            "special": False})
    assert sum(c.isupper() for c in state["result"]) == 3


def test_kubeadm_token_from_two_random_strings() -> None:
    pattern = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
    for _ in range(50):
        token_id = fake_random.random_string("token-id", {"length": 6, "upper": False, "special": False})
        secret = fake_random.random_string("token-secret", {"length": 16, "upper": False, "special": False})
        assert pattern.match(f"{token_id['result']}.{secret['result']}")


@FEW
@given(st.integers(min_value=1, max_value=64), st.sampled_from(["", "looper-"]))
def test_random_id_encodings_agree(byte_length: int, prefix: str) -> None:
    inputs: dict[str, Any] = {"byteLength": float(byte_length)}
    if prefix:
        inputs["prefix"] = prefix
    state = fake_random.random_id("id", inputs)
    values = {k: state[k] for k in ("b64Url", "b64Std", "hex", "dec")}
    assert all(v.startswith(prefix) for v in values.values())
    b64_url, b64_std, hex_, dec = (v[len(prefix):] for v in values.values())
    raw = bytes.fromhex(hex_)
    assert len(raw) == byte_length and len(hex_) == 2 * byte_length
    assert base64.b64decode(b64_std, validate=True) == raw
    assert "=" not in b64_url and base64.urlsafe_b64decode(b64_url + "=" * (-len(b64_url) % 4)) == raw
    assert int(dec) == int.from_bytes(raw, "big") and (dec == "0" or not dec.startswith("0"))
    assert state["id"] == b64_url and state["byteLength"] == byte_length


@FEW
@given(st.integers(min_value=-1000, max_value=1000), st.integers(min_value=0, max_value=1000))
def test_random_integer_in_range_and_stable_for_a_seed(low: int, span: int) -> None:
    state = fake_random.random_integer("n", {"min": float(low), "max": float(low + span)})
    assert low <= state["result"] <= low + span and state["id"] == str(state["result"])
    seeded = {"min": low, "max": low + span, "seed": "looper"}
    assert (fake_random.random_integer("a", seeded)["result"]
            == fake_random.random_integer("b", seeded)["result"])


@FEW
@given(st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=8, unique=True),
       st.integers(min_value=0, max_value=20))
def test_random_shuffle_draws_whole_permutations(items: list[str], count: int) -> None:
    inputs: dict[str, Any] = {"inputs": items}
    if count:
        inputs["resultCount"] = count
    state = fake_random.random_shuffle("z", inputs)
    results = state["results"]
    wanted = count or len(items)
    assert len(results) == wanted and state["id"] == "-"
    for start in range(0, wanted, len(items)):  # each batch is part of one permutation
        batch = results[start:start + len(items)]
        assert len(set(batch)) == len(batch) and set(batch) <= set(items)
    assert max(Counter(results).values()) <= -(-wanted // len(items))
    assert state.get("resultCount") == (count or None)
    seeded = {"inputs": items, "seed": "s"}
    first, second = (fake_random.random_shuffle(n, seeded)["results"] for n in ("a", "b"))
    assert first == second


def test_random_shuffle_of_nothing() -> None:
    assert fake_random.random_shuffle("z", {"inputs": []})["results"] == []


@FEW
@given(st.integers(min_value=1, max_value=5), st.sampled_from(["-", "_", "", "."]),
       st.sampled_from([None, "looper"]))
def test_random_pet_name(length: int, separator: str, prefix: str | None) -> None:
    inputs: dict[str, Any] = {"length": length, "separator": separator}
    if prefix:
        inputs["prefix"] = prefix
    state = fake_random.random_pet("pet", inputs)
    pet = state["id"]
    if prefix:
        assert pet.startswith(prefix + separator)
        pet = pet[len(prefix + separator):]
    if separator:
        words = pet.split(separator)
        assert len(words) == length
        assert words[-1] in fake_random.PET_NAMES
        if length >= 2:
            assert words[-2] in fake_random.PET_ADJECTIVES
        assert all(w in fake_random.PET_ADVERBS for w in words[:-2])
    assert pet == pet.lower()


def test_random_pet_defaults() -> None:
    state = fake_random.random_pet("pet", {})
    assert state["length"] == 2 and state["separator"] == "-"
    assert re.fullmatch(r"[a-z]+-[a-z]+", state["id"])


def test_uuids_and_bytes() -> None:
    for token in ("random:index/randomUuid:RandomUuid", "random:index/randomUuid4:RandomUuid4"):
        state = fake_random.FAKES[token]("u", {})
        value = uuid.UUID(state["result"])
        assert value.version == 4 and state["id"] == state["result"] == str(value)
    state = fake_random.random_uuid7("u7", {"keepers": {"k": "v"}})
    value = uuid.UUID(state["result"])
    assert value.version == 7 and value.variant == uuid.RFC_4122 and state["keepers"] == {"k": "v"}
    assert abs(int.from_bytes(value.bytes[:6], "big") - time.time_ns() // 1_000_000) < 60_000
    raw = fake_random.random_bytes("b", {"length": 32})
    assert base64.b64decode(raw["base64"]) == bytes.fromhex(raw["hex"]) and len(raw["hex"]) == 64


def test_values_are_fresh_each_time() -> None:
    results = {fake_random.random_password("pw", {"length": 32})["result"] for _ in range(20)}
    assert len(results) == 20
    ids = {fake_random.random_id("id", {"byteLength": 16})["hex"] for _ in range(20)}
    assert len(ids) == 20


def test_bad_inputs_raise_value_error() -> None:
    cases: list[tuple[Callable[[], Any], str]] = [
        (lambda: fake_random.random_string("s", {}), r"missing required input 'length'"),
        (lambda: fake_random.random_string("s", {"length": 0}), r"length must be at least 1"),
        (lambda: fake_random.random_password("p", {"length": 3, "minUpper": 2, "minLower": 2}),
         r"length \(3\) must be >="),
        (lambda: fake_random.random_string("s", {"length": 8, "upper": False, "lower": False,
                                                  "numeric": False, "special": False}),
         r"character set specified is empty"),
        (lambda: fake_random.random_string("s", {"length": 8, "numeric": True, "number": False}),
         r"disagree"),
        (lambda: fake_random.random_string("s", {"length": 8.5}), r"must be an integer"),
        (lambda: fake_random.random_id("i", {"byteLength": 0}), r"byteLength must be at least 1"),
        (lambda: fake_random.random_integer("n", {"min": 1}), r"missing required input 'max'"),
        (lambda: fake_random.random_integer("n", {"min": 5, "max": 1}), r"smaller than or equal"),
        (lambda: fake_random.random_shuffle("z", {}), r"missing required input 'inputs'"),
        (lambda: fake_random.random_pet("p", {"length": 0}), r"at least one word"),
        (lambda: fake_random.random_bytes("b", {"length": 0}), r"length must be at least 1"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def _wire_names(cls: type) -> set[str]:
    return {fget._pulumi_name for _, member in inspect.getmembers(cls)
            if (fget := getattr(member, "fget", None)) is not None and hasattr(fget, "_pulumi_name")}


def test_fakes_cover_every_resource_with_the_sdk_property_names() -> None:
    resources = {name: cls for name, cls in vars(pulumi_random).items()
                 if inspect.isclass(cls) and isinstance(getattr(cls, "pulumi_type", None), str)
                 and cls.pulumi_type.startswith("random:index/")}
    assert set(fake_random.FAKES) == {cls.pulumi_type for cls in resources.values()}
    samples: dict[str, dict[str, Any]] = {
        "RandomString": {"length": 8}, "RandomPassword": {"length": 8}, "RandomId": {"byteLength": 4},
        "RandomInteger": {"min": 1, "max": 2}, "RandomBytes": {"length": 4}, "RandomPet": {},
        "RandomShuffle": {"inputs": ["a", "b"], "resultCount": 3}, "RandomUuid": {},
        "RandomUuid4": {}, "RandomUuid7": {}}
    for name, cls in resources.items():
        state = fake_random.FAKES[cls.pulumi_type](name, samples[name])
        outputs = _wire_names(cls)
        computed = outputs - _wire_names(getattr(pulumi_random, name + "Args"))
        assert computed <= set(state), (name, computed - set(state))
        assert set(state) - {"id"} <= outputs, (name, set(state) - outputs)
        assert state["id"]
