"""Realistic outputs for pulumi-random resources: real random values.

pulumi-random 4.x bridges terraform-provider-random; the fakes follow its
code, with `secrets` as the source of randomness:

* `RandomString` / `RandomPassword`: first `minNumeric`, `minLower`, `minUpper`
  and `minSpecial` characters of each class, then the rest from every enabled
  class, shuffled. As in the provider, a `min*` count is honoured even when
  its class is disabled, and an empty `overrideSpecial` means the default
  specials `!@#$%&*()-_=+[]{}<>:?`. `id` is the result for a string and
  "none" for a password.
* `RandomPassword.bcryptHash`: bcrypt ("$2a$", first 72 bytes as the provider
  does) when the `bcrypt` module is installed, at bcrypt's minimum cost 4 instead
  of the provider's 10: the result verifies against it all the same, but it takes
  about 1 ms instead of 80 (a plan hashes every password, and nothing in a plan
  reads the hash; `looper plan v4-platform` has three). Without `bcrypt` the value
  is a PLACEHOLDER for offline planning only: a syntactically valid
  "$2a$10$<salt><checksum>" derived deterministically from the result with
  SHA-256, which no bcrypt implementation will verify.
* `RandomId`: `byteLength` random bytes as b64Url (also `id`, unprefixed),
  b64Std, hex and dec, each after `prefix`.
* `RandomInteger`, `RandomShuffle`: uniform; with a `seed` the result is
  deterministic for that seed (but not the provider's Go math/rand value).
* `RandomPet`: adverbs, an adjective and a name from small built-in lists; the
  pet name is the resource `id` (the resource has no other output).
* `RandomUuid`, `RandomUuid4` (version 4), `RandomUuid7` (version 7),
  `RandomBytes` (base64, hex).

Missing required inputs and values the provider's validators reject raise
`ValueError`.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from random import Random
from typing import Any, TypeAlias

from looper_infra.engine.fakes.inputs import bool_input, fail, int_input

#: `(logical name, inputs) -> output state`
PureFake: TypeAlias = Callable[[str, Mapping[str, Any]], dict[str, Any]]

NUMERIC = "0123456789"
LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"
#: the provider's cost (golang.org/x/crypto/bcrypt DefaultCost), kept by the placeholder
BCRYPT_COST = 10
#: what the fake hashes at: bcrypt's minimum, ~60x cheaper, verifies the same (see above)
FAKE_BCRYPT_COST = 4
#: bcrypt hashes only the first 72 bytes; the provider truncates before hashing
BCRYPT_MAX_BYTES = 72

_STD_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT_B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TO_BCRYPT_B64 = str.maketrans(_STD_B64, _BCRYPT_B64)

PET_ADVERBS: tuple[str, ...] = (
    "abnormally", "actually", "badly", "barely", "boldly", "bravely", "briefly", "calmly",
    "closely", "deeply", "early", "easily", "equally", "evenly", "fairly", "finally", "firmly",
    "freely", "gently", "gladly", "greatly", "happily", "highly", "kindly", "lightly", "loudly",
    "mainly", "neatly", "nicely", "openly", "quickly", "quietly", "rapidly", "rarely", "really",
    "safely", "sharply", "simply", "slowly", "smoothly", "softly", "surely", "truly", "vastly",
    "warmly", "widely", "wildly", "wisely")
PET_ADJECTIVES: tuple[str, ...] = (
    "able", "active", "amazed", "apt", "awake", "bold", "brave", "bright", "busy", "calm",
    "capital", "careful", "clean", "clever", "cool", "crack", "cute", "daring", "deep", "eager",
    "fair", "fancy", "fast", "fine", "firm", "fit", "fond", "free", "fresh", "gentle", "glad",
    "golden", "good", "grand", "great", "happy", "hardy", "helpful", "honest", "humble", "ideal",
    "keen", "kind", "large", "lasting", "light", "live", "lucky", "major", "merry", "modern",
    "neat", "nice", "noble", "open", "polite", "present", "proper", "quick", "quiet", "rapid",
    "ready", "relaxed", "right", "sacred", "safe", "sharp", "smart", "smooth", "solid", "steady",
    "strong", "sunny", "super", "sure", "swift", "tender", "tidy", "top", "true", "up", "usable",
    "valid", "vast", "vital", "warm", "welcome", "wise", "witty", "worthy")
PET_NAMES: tuple[str, ...] = (
    "akita", "alpaca", "ant", "antelope", "badger", "bat", "bear", "beagle", "bee", "bison",
    "bobcat", "buffalo", "bull", "camel", "cat", "cheetah", "chicken", "cobra", "cod", "collie",
    "condor", "corgi", "cow", "coyote", "crab", "crane", "crow", "deer", "dingo", "dodo", "dog",
    "dolphin", "dove", "duck", "eagle", "eel", "elk", "emu", "falcon", "ferret", "finch", "fish",
    "flamingo", "fox", "frog", "gazelle", "gecko", "gibbon", "goat", "goose", "gorilla", "grouse",
    "gull", "hare", "hawk", "hen", "heron", "hippo", "horse", "hound", "husky", "ibex", "impala",
    "jackal", "jaguar", "jay", "kid", "kite", "koala", "lamb", "lark", "lemur", "leopard", "lion",
    "lizard", "llama", "lynx", "macaw", "marlin", "mink", "mole", "moose", "moth", "mouse", "mule",
    "newt", "octopus", "orca", "oriole", "otter", "owl", "ox", "panda", "panther", "parrot",
    "pelican", "penguin", "pig", "pony", "puma", "quail", "rabbit", "raven", "robin", "salmon",
    "seal", "shark", "sheep", "skunk", "sloth", "snail", "snake", "sparrow", "squid", "stork",
    "swan", "tiger", "toad", "trout", "turtle", "viper", "walrus", "wasp", "weasel", "whale",
    "wolf", "wombat", "worm", "yak", "zebra")


def _fail(kind: str, name: str, message: str) -> ValueError:
    return fail("random", kind, name, message)


def _int(kind: str, name: str, inputs: Mapping[str, Any], key: str, default: int | None = None) -> int:
    return int_input("random", kind, name, inputs, key, default)


_bool = bool_input


def _rng(seed: Any) -> Random:
    """Cryptographic randomness, or a deterministic generator for a seed."""
    if seed is None:
        return secrets.SystemRandom()
    return Random(str(seed))  # noqa: S311 (seeded on purpose: the same seed gives the same plan)


# -- strings and passwords -----------------------------------------------------------------

def _string_inputs(kind: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The string parameters with the provider's defaults, validated as its schema does."""
    numeric, number = inputs.get("numeric"), inputs.get("number")
    if numeric is not None and number is not None and bool(numeric) != bool(number):
        raise _fail(kind, name, "'numeric' and the deprecated 'number' disagree")
    use_numeric = bool(numeric if numeric is not None else number if number is not None else True)
    params: dict[str, Any] = {
        "length": _int(kind, name, inputs, "length"),
        "upper": _bool(inputs, "upper", True),
        "lower": _bool(inputs, "lower", True),
        "numeric": use_numeric,
        "number": use_numeric,
        "special": _bool(inputs, "special", True),
        "minUpper": _int(kind, name, inputs, "minUpper", 0),
        "minLower": _int(kind, name, inputs, "minLower", 0),
        "minNumeric": _int(kind, name, inputs, "minNumeric", 0),
        "minSpecial": _int(kind, name, inputs, "minSpecial", 0),
    }
    mins = params["minUpper"] + params["minLower"] + params["minNumeric"] + params["minSpecial"]
    if params["length"] < 1:
        raise _fail(kind, name, f"length must be at least 1, got {params['length']}")
    if min(params["minUpper"], params["minLower"], params["minNumeric"], params["minSpecial"]) < 0:
        raise _fail(kind, name, "minUpper, minLower, minNumeric and minSpecial must be >= 0")
    if params["length"] < mins:
        raise _fail(kind, name, f"length ({params['length']}) must be >= minUpper + minLower + "
                    f"minNumeric + minSpecial ({mins})")
    if not (params["upper"] or params["lower"] or params["numeric"] or params["special"]):
        raise _fail(kind, name, "the character set specified is empty: at least one of upper, "
                    "lower, numeric or special must be true")
    return params


def generate_string(*, length: int, upper: bool = True, lower: bool = True, numeric: bool = True,
                    special: bool = True, min_upper: int = 0, min_lower: int = 0, min_numeric: int = 0,
                    min_special: int = 0, override_special: str | None = None) -> str:
    """The provider's CreateString: minimum counts per class, the rest from all enabled classes."""
    specials = override_special or DEFAULT_SPECIAL
    charset = (UPPER if upper else "") + (LOWER if lower else "") + (NUMERIC if numeric else "") \
        + (specials if special else "")
    if not charset:
        raise ValueError("the character set specified is empty")
    chars = [secrets.choice(pool) for pool, count in
             ((NUMERIC, min_numeric), (LOWER, min_lower), (UPPER, min_upper), (specials, min_special))
             for _ in range(count)]
    if len(chars) > length:
        raise ValueError(f"length ({length}) is less than the sum of the minimum counts ({len(chars)})")
    chars.extend(secrets.choice(charset) for _ in range(length - len(chars)))
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _string_result(kind: str, name: str, inputs: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    params = _string_inputs(kind, name, inputs)
    result = generate_string(
        length=params["length"], upper=params["upper"], lower=params["lower"],
        numeric=params["numeric"], special=params["special"], min_upper=params["minUpper"],
        min_lower=params["minLower"], min_numeric=params["minNumeric"],
        min_special=params["minSpecial"], override_special=inputs.get("overrideSpecial") or None)
    return params, result


def random_string(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """random:index/randomString:RandomString"""
    params, result = _string_result("RandomString", name, inputs)
    return {**inputs, **params, "result": result, "id": result}


def _bcrypt_b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=").translate(_TO_BCRYPT_B64)


def placeholder_bcrypt_hash(password: str) -> str:
    """OFFLINE PLACEHOLDER, not a bcrypt hash: "$2a$10$" + 22-char salt + 31-char checksum.

    Both parts are SHA-256 derivations of the (72-byte truncated) password, so
    the value is stable for a given result and has bcrypt's exact shape and
    alphabet, but `bcrypt.checkpw` will not accept it. For planning only.
    """
    data = password.encode("utf-8")[:BCRYPT_MAX_BYTES]
    salt = hashlib.sha256(b"looper-offline-bcrypt-salt\x00" + data).digest()[:16]
    checksum = hashlib.sha256(salt + data).digest()[:23]
    return f"$2a${BCRYPT_COST:02d}${_bcrypt_b64(salt)}{_bcrypt_b64(checksum)}"


def bcrypt_hash(password: str) -> str:
    """bcrypt of the password as the provider computes it, or the placeholder without `bcrypt`."""
    try:
        bcrypt: Any = importlib.import_module("bcrypt")
    except ImportError:
        return placeholder_bcrypt_hash(password)
    data = password.encode("utf-8")[:BCRYPT_MAX_BYTES]
    return str(bcrypt.hashpw(data, bcrypt.gensalt(rounds=FAKE_BCRYPT_COST, prefix=b"2a")).decode("ascii"))


def random_password(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """random:index/randomPassword:RandomPassword"""
    params, result = _string_result("RandomPassword", name, inputs)
    return {**inputs, **params, "result": result, "bcryptHash": bcrypt_hash(result), "id": "none"}


# -- ids, numbers, bytes -------------------------------------------------------------------

def id_encodings(raw: bytes, prefix: str = "") -> dict[str, str]:
    """b64Url, b64Std, hex, dec (each prefixed) and id (unprefixed b64Url) of `raw`."""
    b64_url = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return {
        "b64Url": prefix + b64_url,
        "b64Std": prefix + base64.b64encode(raw).decode("ascii"),
        "hex": prefix + raw.hex(),
        "dec": prefix + str(int.from_bytes(raw, "big")),
        "id": b64_url,
    }


def random_id(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """random:index/randomId:RandomId"""
    length = _int("RandomId", name, inputs, "byteLength")
    if length < 1:
        raise _fail("RandomId", name, f"byteLength must be at least 1, got {length}")
    return {**inputs, "byteLength": length,
            **id_encodings(secrets.token_bytes(length), str(inputs.get("prefix") or ""))}


def random_integer(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """random:index/randomInteger:RandomInteger"""
    low = _int("RandomInteger", name, inputs, "min")
    high = _int("RandomInteger", name, inputs, "max")
    if high < low:
        raise _fail("RandomInteger", name, f"min ({low}) must be smaller than or equal to max ({high})")
    result = _rng(inputs.get("seed")).randint(low, high)
    return {**inputs, "min": low, "max": high, "result": result, "id": str(result)}


def random_bytes(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """random:index/randomBytes:RandomBytes"""
    length = _int("RandomBytes", name, inputs, "length")
    if length < 1:
        raise _fail("RandomBytes", name, f"length must be at least 1, got {length}")
    raw = secrets.token_bytes(length)
    return {**inputs, "length": length, "base64": base64.b64encode(raw).decode("ascii"),
            "hex": raw.hex(), "id": "none"}


# -- pets, shuffles, uuids -----------------------------------------------------------------

def pet_name(length: int = 2, separator: str = "-") -> str:
    """petname.Generate: [adverbs...] adjective name, `length` words in all."""
    if length < 1:
        raise ValueError(f"a pet name needs at least one word, got {length}")
    words = [secrets.choice(PET_ADVERBS) for _ in range(length - 2)]
    if length >= 2:
        words.append(secrets.choice(PET_ADJECTIVES))
    words.append(secrets.choice(PET_NAMES))
    return separator.join(words).lower()


def random_pet(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """random:index/randomPet:RandomPet (the pet name is the resource id)"""
    length = _int("RandomPet", name, inputs, "length", 2)
    separator = inputs.get("separator")
    separator = "-" if separator is None else str(separator)
    try:
        pet = pet_name(length, separator)
    except ValueError as exc:
        raise _fail("RandomPet", name, str(exc)) from exc
    prefix = inputs.get("prefix")
    if prefix:
        pet = f"{prefix}{separator}{pet}"
    return {**inputs, "length": length, "separator": separator, "id": pet}


def shuffle(items: list[Any], count: int, seed: Any = None) -> list[Any]:
    """Whole permutations of `items` one after another until `count` results are drawn."""
    results: list[Any] = []
    rng = _rng(seed)
    while items and len(results) < count:
        batch = list(items)
        rng.shuffle(batch)
        results.extend(batch[:count - len(results)])
    return results


def random_shuffle(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """random:index/randomShuffle:RandomShuffle"""
    items = inputs.get("inputs")
    if items is None:
        raise _fail("RandomShuffle", name, "missing required input 'inputs'")
    if isinstance(items, str) or not isinstance(items, Iterable):
        raise _fail("RandomShuffle", name, f"'inputs' must be a list, got {items!r}")
    items = list(items)
    count = _int("RandomShuffle", name, inputs, "resultCount", 0)
    if count < 0:
        raise _fail("RandomShuffle", name, f"resultCount must be >= 0, got {count}")
    count = count or len(items)
    state = {**inputs, "results": shuffle(items, count, inputs.get("seed")), "id": "-"}
    if inputs.get("resultCount") is not None:
        state["resultCount"] = count
    return state


def uuid7() -> uuid.UUID:
    """A version 7 UUID: 48-bit Unix milliseconds, then random bits (RFC 9562)."""
    millis = time.time_ns() // 1_000_000
    raw = bytearray(millis.to_bytes(6, "big") + secrets.token_bytes(10))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return uuid.UUID(bytes=bytes(raw))


def random_uuid(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """random:index/randomUuid:RandomUuid and RandomUuid4 (version 4)"""
    result = str(uuid.uuid4())
    return {**inputs, "result": result, "id": result}


def random_uuid7(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """random:index/randomUuid7:RandomUuid7"""
    result = str(uuid7())
    return {**inputs, "result": result, "id": result}


FAKES: dict[str, PureFake] = {
    "random:index/randomString:RandomString": random_string,
    "random:index/randomPassword:RandomPassword": random_password,
    "random:index/randomId:RandomId": random_id,
    "random:index/randomInteger:RandomInteger": random_integer,
    "random:index/randomBytes:RandomBytes": random_bytes,
    "random:index/randomPet:RandomPet": random_pet,
    "random:index/randomShuffle:RandomShuffle": random_shuffle,
    "random:index/randomUuid:RandomUuid": random_uuid,
    "random:index/randomUuid4:RandomUuid4": random_uuid,
    "random:index/randomUuid7:RandomUuid7": random_uuid7,
}
