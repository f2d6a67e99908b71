"""Tests for isp_audit.analysis.entropy, with real generators rather than fixed strings.

The CSPRNG cases use ``secrets``, so every run sees a fresh sample; their thresholds are chosen so
that a false result needs an event of probability ~1e-4 or less (the arithmetic is next to each).
Generators that are deterministic by nature (counters, LCGs) or whose output must be reproducible
(FIPS streams, random-looking prefixes) use ``random.Random(seed)``.
"""

import base64
import hashlib
import itertools
import math
import random
import secrets
import time
from collections.abc import Callable
from urllib.parse import quote

import pytest

from isp_audit.analysis.entropy import (
    EntropyPolicy,
    EntropyReport,
    analyse_tokens,
    fips_140_2,
    required_sample_size,
    verdict,
)

DEFAULT = EntropyPolicy()
# The per-position tests reject a truly random position with family-wise probability α, and a token
# exactly at a threshold (token_hex(16) at 128 bits, token_urlsafe(32) at 256) drops below it on any
# false rejection: ~1% of runs at the default α=0.01 (measured: 10 "fail" in 1,000 token_hex(16)
# samples). Knife-edge verdicts are therefore asserted at α=1e-6; checks that survive one false
# rejection use the default.
STRICT = EntropyPolicy(significance=1e-6)
DECISIVE = ("sequential counter", "timestamp", "repeated tokens", "contains the username")


def analysed(tokens: list[str], policy: EntropyPolicy = DEFAULT, **kwargs: object) -> EntropyReport:
    """analyse_tokens plus the invariants every report must satisfy."""
    report = analyse_tokens(tokens, policy, **kwargs)
    result = verdict(report, policy)
    opening = {"pass": ("Pass",), "warn": ("Warn", "Inconclusive"), "fail": ("Fail",)}[result]
    assert report.reason.startswith(opening), (result, report.reason)
    assert report.reason.endswith(".")
    assert report.sample_size == len(tokens)
    assert 0 <= report.effective_bits <= report.max_bits + 1e-9
    assert sum(p.bits for p in report.positions) == pytest.approx(report.effective_bits)
    assert set(report.fips) == {"monobit", "poker", "runs", "long_runs"}
    return report


def found(report: EntropyReport, text: str) -> list[str]:
    return [f for f in report.structure if text in f]


# --- real CSPRNG tokens ---------------------------------------------------------------------------


def test_token_urlsafe_32_passes_with_about_256_bits() -> None:
    tokens = [secrets.token_urlsafe(32) for _ in range(1000)]
    report = analysed(tokens)
    # Falling below 250 needs two false rejections at family-wise α=0.01: about 5e-5 per run.
    assert report.effective_bits >= 250
    assert report.alphabet == "base64url"
    assert report.max_bits == 43 * 6
    assert report.conclusive
    assert report.distinct == 1000
    assert not [f for f in report.structure if f.startswith(DECISIVE)]
    # Enough bits for the formal FIPS tests; their verdicts are not asserted (FIPS 140-2 itself
    # rejects ~1e-3 of truly random streams).
    assert all("passed" in result for result in report.fips.values())
    assert report.compression_ratio > 0.99
    # 800-90B's most-common-value estimate is a deliberately conservative lower bound.
    assert report.min_entropy_bits < report.effective_bits

    strict = analysed(tokens, STRICT)
    assert verdict(strict, STRICT) == "pass"
    assert strict.effective_bits == 256
    last = strict.positions[-1]
    assert (last.distinct, last.bits) == (16, 4.0)  # 32 bytes = 42 six-bit characters + 4 bits


def test_token_hex_16_meets_the_floor_but_not_the_preference() -> None:
    tokens = [secrets.token_hex(16) for _ in range(1000)]
    strict = analysed(tokens, STRICT)
    assert verdict(strict, STRICT) == "warn"
    assert strict.effective_bits == 128
    assert strict.max_bits == 128
    assert "preferred 256" in strict.reason
    assert analysed(tokens).effective_bits >= 120  # fails only on three false rejections at α=0.01

    # The thresholds are the policy's: a lower bar passes the same sample.
    assert verdict(strict, EntropyPolicy(fail_below_bits=64, warn_below_bits=100, significance=1e-6)) == "pass"


@pytest.mark.parametrize("count", [5, 1000])
def test_token_hex_8_fails_on_any_sample(count: int) -> None:
    report = analysed([secrets.token_hex(8) for _ in range(count)])
    assert verdict(report, DEFAULT) == "fail"
    assert report.max_bits == 64
    assert report.conclusive  # no sample can lift 16 hex characters over 128 bits
    assert found(report, "too short")
    assert "at most 64.0 bits" in report.reason


def test_small_sample_is_inconclusive_and_names_the_sample_needed() -> None:
    report = analysed([secrets.token_urlsafe(32) for _ in range(30)])
    assert verdict(report, DEFAULT) == "warn"
    assert not report.conclusive
    assert required_sample_size(64) == 321
    assert "321" in report.reason
    assert all(str(result.get("skipped")).startswith("need 20,000 bits, have") for result in report.fips.values())


def test_long_token_that_is_mostly_constant_fails() -> None:
    constant = secrets.token_hex(20)  # random-looking, but the same in every token
    for count in (30, 1000):
        report = analysed([secrets.token_hex(10) + constant for _ in range(count)])
        assert verdict(report, DEFAULT) == "fail"
        assert report.max_bits == 80  # the 40 constant characters provably carry nothing
        assert report.conclusive
        assert found(report, "constant suffix")
    # 60 characters "look" like 240 bits; going below 68 would take four false rejections.
    assert 68 <= report.effective_bits <= 80


# --- structure: counters, timestamps, repeats, username -----------------------------------------


def counter_tokens(seed: int, count: int, *, hexadecimal: bool) -> list[str]:
    """A counter advancing 1-7 per token (other sessions in between) behind a random-looking prefix."""
    rng = random.Random(seed)
    start = rng.randrange(10**12)
    values = itertools.accumulate((rng.randint(1, 7) for _ in range(count)), initial=start)
    if hexadecimal:
        return [f"{rng.getrandbits(64):016x}{v:016x}" for v in itertools.islice(values, count)]
    return [f"{rng.getrandbits(48):012x}{v:020d}" for v in itertools.islice(values, count)]


@pytest.mark.parametrize("count", [20, 1000])
@pytest.mark.parametrize(("hexadecimal", "characters"), [(True, "16-31"), (False, "12-31")])
def test_counter_behind_random_prefix_fails(count: int, hexadecimal: bool, characters: str) -> None:
    report = analysed(counter_tokens(count, count, hexadecimal=hexadecimal))
    assert verdict(report, DEFAULT) == "fail"
    assert report.conclusive  # a counter decides it whatever the sample size
    [finding] = found(report, "sequential counter")
    assert f"characters {characters}" in finding
    assert "counter" in report.reason
    # Counter positions are credited nothing, even the low digit that looks random.
    assert all(p.bits == 0 for p in report.positions[int(characters.split("-")[0]) :])


def test_counter_that_sometimes_goes_backwards_is_still_a_counter() -> None:
    # Two servers with interleaved counters: mostly up, sometimes a few steps back.
    rng = random.Random(7)
    values = itertools.accumulate((rng.choice([1, 2, 3, -2]) for _ in range(40)), initial=5_000_000)
    report = analysed([secrets.token_hex(8) + f"{v:012x}" for v in itertools.islice(values, 40)])
    assert verdict(report, DEFAULT) == "fail"
    assert found(report, "sequential counter")


@pytest.mark.parametrize("count", [20, 1000])
def test_nanosecond_timestamp_with_short_random_part_fails(count: int) -> None:
    tokens = [f"{time.time_ns():016x}{secrets.token_hex(4)}" for _ in range(count)]
    report = analysed(tokens)
    assert verdict(report, DEFAULT) == "fail"
    [finding] = found(report, "timestamp")
    assert finding.startswith("timestamp (nanoseconds) in characters 0-15")
    assert "timestamp" in report.reason


def test_timestamp_is_anchored_on_issue_times() -> None:
    rng = random.Random(11)
    issued = list(itertools.accumulate((rng.uniform(0, 3) for _ in range(29)), initial=1_600_000_000.0))
    tokens = [f"{int(t)}{secrets.token_hex(16)}" for t in issued]
    report = analysed(tokens, issued_at=issued)
    assert found(report, "timestamp (seconds) in characters 0-9")
    assert verdict(report, DEFAULT) == "fail"
    # Years away from "now" it is no timestamp any more, but it still only ever goes up.
    without = analysed(tokens)
    assert not found(without, "timestamp")
    assert found(without, "sequential counter")
    assert verdict(without, DEFAULT) == "fail"


def test_repeated_tokens_fail() -> None:
    tokens = [secrets.token_urlsafe(32) for _ in range(1000)]
    for i, j in [(5, 100), (6, 500), (7, 900)]:
        tokens[j] = tokens[i]
    report = analysed(tokens)
    assert verdict(report, DEFAULT) == "fail"
    assert report.distinct == 997
    assert found(report, "repeated tokens: 3 duplicates")
    assert "repeated tokens" in report.reason


@pytest.mark.parametrize(
    ("make", "form"),
    [
        (lambda: base64.urlsafe_b64encode(b"alice:" + secrets.token_bytes(30)).decode(), "base64"),
        # Offset by 7 bytes the name's base64 characters change with the neighbouring bytes.
        (lambda: base64.b64encode(secrets.token_bytes(7) + b"alice" + secrets.token_bytes(24)).decode(), "base64"),
        (lambda: "s:" + base64.b64encode(b"uid=alice;" + secrets.token_bytes(24)).decode(), "base64"),
        (lambda: b"alice".hex() + secrets.token_hex(24), "hex"),
        (lambda: "Alice." + secrets.token_urlsafe(32), "plain"),
    ],
)
def test_username_inside_the_token_fails(make: Callable[[], str], form: str) -> None:
    report = analysed([make() for _ in range(100)], username="alice")
    assert verdict(report, DEFAULT) == "fail"
    assert found(report, f"contains the username ({form}) in 100 of 100 tokens")
    assert "username" in report.reason


def test_username_absent_from_random_tokens_is_not_reported() -> None:
    report = analysed([secrets.token_urlsafe(32) for _ in range(300)], username="bob")
    assert not found(report, "username")


# --- format handling ------------------------------------------------------------------------------


def test_url_encoded_tokens_with_constant_prefix_and_suffix() -> None:
    # express-session style "s:<id>.<node>", percent-encoded as it appears in a Cookie header.
    tokens = [quote("s:" + secrets.token_urlsafe(24) + ".node0", safe="") for _ in range(400)]
    report = analysed(tokens)
    assert found(report, "URL-encoded")
    assert found(report, "constant prefix (2 chars)")
    assert found(report, "constant suffix (6 chars)")
    # No part of a token is ever quoted in a finding (evidence files must not hold token characters).
    assert not any("node0" in f or "s:" in f for f in report.structure)
    assert report.alphabet == "base64url"  # the constant characters do not make it "custom"
    assert report.max_bits == 32 * 6
    assert verdict(report, DEFAULT) == "warn"  # 192 bits: above the floor, below the preference


def test_varying_lengths_analyse_the_modal_length_and_say_so() -> None:
    tokens = [secrets.token_urlsafe(32) for _ in range(400)] + [secrets.token_urlsafe(31) for _ in range(100)]
    report = analysed(tokens)
    assert (report.length_min, report.length_max) == (42, 43)
    assert found(report, "length varies 42-43: analysed the 400 tokens of the modal length 43, dropped 100")
    assert "400 tokens" in report.reason


@pytest.mark.parametrize(
    ("make", "alphabet", "size"),
    [
        (lambda: str(secrets.randbelow(10**40)).zfill(40), "decimal", 10),
        (lambda: secrets.token_hex(20).upper(), "hex", 16),
        (lambda: "".join(secrets.choice("0123456789abcdefghijklmnopqrstuvwxyz") for _ in range(30)), "base36", 36),
        (lambda: base64.b64encode(secrets.token_bytes(30)).decode(), "base64", 64),
        (lambda: "".join(secrets.choice("!#$%&*") for _ in range(60)), "custom(6)", 6),
    ],
)
def test_alphabet_detection(make: Callable[[], str], alphabet: str, size: int) -> None:
    report = analysed([make() for _ in range(400)])
    assert report.alphabet == alphabet
    variable = sum(p.distinct > 1 for p in report.positions)
    assert report.max_bits == pytest.approx(variable * math.log2(size))
    # Non-power-of-two alphabets still give an unbiased bit stream for the bit-level tests.
    assert report.compression_ratio > 0.98


def test_compressible_tokens_are_capped_at_warn() -> None:
    # Each token repeats its first half: every position is uniform and independent of the previous
    # token, so the per-position sum says 256 bits, but only 128 are there. zlib sees it.
    tokens = [(lambda half: half + half)(secrets.token_hex(16)) for _ in range(1000)]
    report = analysed(tokens)
    assert report.compression_ratio < 0.7
    assert found(report, "redundant")
    assert verdict(report, DEFAULT) == "warn"
    assert "compress" in report.reason


def test_correlated_bits_across_characters_are_reported() -> None:
    # Each hex character's top bit copies the previous character's low bit: every position is still
    # uniform, but 31 adjacent bit pairs are perfectly correlated (true entropy 97 bits, not 128).
    rng = random.Random(3)
    tokens = []
    for _ in range(1000):
        chars = [rng.randrange(16)]
        for _ in range(31):
            chars.append(((chars[-1] & 1) << 3) | rng.randrange(8))
        tokens.append("".join(f"{c:x}" for c in chars))
    report = analysed(tokens)
    assert report.bit_correlation["significant_pairs"] >= 31
    assert report.bit_correlation["max_abs_phi"] > 0.99
    assert found(report, "adjacent bit pairs correlated")


# --- deterministic generators: what can and cannot be detected ------------------------------------


def lcg64_tokens(seed: int, count: int, outputs: int) -> list[str]:
    """Knuth's MMIX LCG (modulus 2**64), full state printed in hex, several outputs per token."""
    a, c, state = 6364136223846793005, 1442695040888963407, seed
    tokens = []
    for _ in range(count):
        parts = []
        for _ in range(outputs):
            state = (a * state + c) % 2**64
            parts.append(f"{state:016x}")
        tokens.append("".join(parts))
    return tokens


@pytest.mark.parametrize("count", [20, 1000])
def test_lcg_with_power_of_two_modulus_loses_its_low_digits(count: int) -> None:
    # Bit j of a power-of-two-modulus LCG has period 2**(j+1): the lowest hex digit of each 64-bit
    # output follows a fixed cycle, which the transition test rejects even in 20 tokens.
    report = analysed(lcg64_tokens(2065, count, outputs=4))
    for low_digit in (15, 31, 47, 63):
        stat = report.positions[low_digit]
        assert stat.bits == 0
        assert stat.transition_p is not None and stat.transition_p < 1e-6
    assert report.effective_bits <= report.max_bits - 16
    # Limitation (as Burp says of Sequencer): the whole token follows from its first 16 characters,
    # i.e. 64 bits of state, yet only the low digits are caught and the verdict is not "fail".
    assert verdict(report, DEFAULT) == "warn"


def test_truncated_lcg_and_hash_of_counter_are_not_detected() -> None:
    # These pin a documented blind spot of every statistical battery, so that a change in it is
    # noticed. java.util.Random keeps 48 bits of state and prints the top 32: the token below has
    # at most 48 bits of entropy, and sha256(counter) has none, yet both look uniform.
    state = (2065 ^ 0x5DEECE66D) & (2**48 - 1)
    java_tokens = []
    for _ in range(1000):
        parts = []
        for _ in range(8):
            state = (state * 0x5DEECE66D + 0xB) & (2**48 - 1)
            parts.append(f"{state >> 16:08x}")
        java_tokens.append("".join(parts))
    hashed_counter = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(1000)]
    for tokens in (java_tokens, hashed_counter):
        report = analysed(tokens)
        assert not [f for f in report.structure if f.startswith(DECISIVE)]
        assert report.effective_bits >= 240


# --- FIPS 140-2 -----------------------------------------------------------------------------------


def random_bits(seed: int, count: int = 20_000) -> str:
    return format(random.Random(seed).getrandbits(count), f"0{count}b")


def test_fips_random_stream_passes_all_four() -> None:
    result = fips_140_2(random_bits(2065))
    assert {name: r["passed"] for name, r in result.items()} == dict.fromkeys(result, True)
    assert 9725 < result["monobit"]["statistic"] < 10275


def test_fips_forced_long_run_fails_long_runs_only() -> None:
    bits = random_bits(2065)
    bits = bits[:5000] + "1" * 30 + bits[5030:]
    result = fips_140_2(bits)
    assert result["long_runs"]["passed"] is False
    assert result["long_runs"]["statistic"] >= 30
    assert result["monobit"]["passed"] is True
    assert result["poker"]["passed"] is True


def test_fips_biased_stream_fails_monobit() -> None:
    rng = random.Random(5)
    result = fips_140_2("".join("1" if rng.random() < 0.53 else "0" for _ in range(20_000)))
    assert result["monobit"]["passed"] is False
    assert result["monobit"]["statistic"] >= 10275


def test_fips_patterns_fail_poker_and_runs() -> None:
    repeating = fips_140_2("0110" * 5000)  # balanced, but one nibble only
    assert repeating["monobit"]["passed"] is True
    assert repeating["poker"]["passed"] is False
    alternating = fips_140_2("01" * 10_000)  # balanced, no long run, but 20,000 runs of length 1
    assert alternating["monobit"]["passed"] is True
    assert alternating["long_runs"]["passed"] is True
    assert alternating["runs"]["passed"] is False


def test_fips_needs_20000_bits() -> None:
    result = fips_140_2(random_bits(1, 19_999))
    assert result["monobit"] == {"skipped": "need 20,000 bits, have 19,999"}
    with pytest.raises(ValueError):
        fips_140_2("012")


# --- API contracts --------------------------------------------------------------------------------


def test_required_sample_size() -> None:
    assert required_sample_size(10) == 200
    assert required_sample_size(16) == 200
    assert required_sample_size(64) == 321
    assert required_sample_size(100) == 501
    with pytest.raises(ValueError):
        required_sample_size(0)


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValueError):
        analyse_tokens([])
    with pytest.raises(ValueError):
        analyse_tokens(["", ""])
    with pytest.raises(TypeError):
        analyse_tokens("abcdef")
    with pytest.raises(ValueError):
        analyse_tokens(["ab", "cd"], issued_at=[1.0])
    with pytest.raises(ValueError):
        EntropyPolicy(significance=0)
    with pytest.raises(ValueError):
        EntropyPolicy(fail_below_bits=300)


def test_report_is_frozen() -> None:
    report = analysed([secrets.token_hex(16) for _ in range(50)])
    with pytest.raises(AttributeError):
        report.effective_bits = 999  # type: ignore[misc]


# --- a fail needs strong evidence -----------------------------------------------------------------

BASE32HEX = "0123456789abcdefghijklmnopqrstuv"


def _ids_with_first_position_skewed(extra: int, seed: int) -> list[str]:
    """1,000 ids of 26 base32hex characters (130 bits, as PHP's session.sid_bits_per_character=5 makes them,
    Adminer's `adminer_sid`), random except that position 0 holds '0' ``extra`` times more than its share."""
    rng = random.Random(seed)
    first = ["0"] * (31 + extra) + [BASE32HEX[1 + i % 31] for i in range(1000 - 31 - extra)]
    rng.shuffle(first)
    return [c + "".join(rng.choice(BASE32HEX) for _ in range(25)) for c in first]


def test_a_weak_rejection_that_alone_decides_the_floor_is_a_warn_not_a_fail() -> None:
    # χ² ≈ 80 at position 0 (31 df): p ≈ 3e-6, below the per-position α (0.01 / 52) but far above the
    # 1e-6 / 52 a fail needs. The zoo saw this on Adminer's 130-bit id: 125 credited bits, a false "fail".
    report = analysed(_ids_with_first_position_skewed(extra=50, seed=7))
    assert report.positions[0].bits == 0.0 and report.effective_bits < 128 <= report.max_bits
    assert verdict(report, DEFAULT) == "warn"
    assert report.reason.startswith("Inconclusive at the floor") and "position 0" in report.reason


def test_a_strong_rejection_below_the_floor_still_fails() -> None:
    report = analysed(_ids_with_first_position_skewed(extra=300, seed=7))
    assert report.positions[0].chi_square_p is not None and report.positions[0].chi_square_p < 1e-12
    assert verdict(report, DEFAULT) == "fail"
    assert "below the 128-bit ISM-2065 floor" in report.reason


BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _258_bit_tokens_with_first_position_skewed(extra: int) -> list[str]:
    rng = random.Random(7)
    first = ["A"] * (15 + extra) + [BASE64URL[1 + i % 63] for i in range(1000 - 15 - extra)]
    rng.shuffle(first)
    return [c + "".join(rng.choice(BASE64URL) for _ in range(42)) for c in first]


def test_a_weak_rejection_does_not_withhold_the_preferred_strength() -> None:
    # p ≈ 2e-6 at position 0: rejected at α but far above the level a finding needs. Crediting it, the
    # tokens meet 256 bits; without the rule a 256-bit token (Flask-Session's) warned about once in 100 scans.
    report = analysed(_258_bit_tokens_with_first_position_skewed(extra=45))
    assert report.effective_bits == 252.0 and verdict(report, DEFAULT) == "pass"
    assert "crediting position 0 (no p-value below the 1e-06 family-wise level" in report.reason, report.reason


def test_a_strong_rejection_below_the_preferred_strength_still_warns() -> None:
    report = analysed(_258_bit_tokens_with_first_position_skewed(extra=55))
    assert verdict(report, DEFAULT) == "warn" and report.reason.startswith("Warn: estimated 252.0")
