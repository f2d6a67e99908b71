"""Estimate the effective entropy of a sample of opaque session tokens (ISM-2065).

ISM-2065 asks that opaque bearer tokens that are not digitally signed be non-sequential random
identifiers with at least 128 bits of entropy, preferably 256. Entropy cannot be measured from a
sample, only bounded by tests that try to reject "these tokens are random". This module follows
Burp Sequencer's method (per character position: a character-count χ² test and a successive-token
transition test, each passing position credited log2(characters it uses) bits), adds NIST SP 800-90B's
most-common-value min-entropy estimate, the FIPS 140-2 bit tests, adjacent-bit correlation and a
zlib compression ratio, and - because every statistical battery can be passed by a deterministic
generator - structural checks for counters, timestamps, repeats, constant parts and the username.

Pure standard library by design (the audit must run anywhere the CLI runs). The analysis works
column-wise on strings and big integers so 20,000 tokens of 200 characters stay well inside a few
seconds without numpy.

What it cannot see: a hash or cipher of a counter, a timestamp or a user id looks perfectly random
to every test here (and to Burp's); so does the output of a truncated linear congruential generator.
A "pass" means "no evidence against randomness in this sample", never "proved random".
"""

import base64
import binascii
import math
import operator
import re
import time
import zlib
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import groupby, pairwise, repeat
from typing import Literal
from urllib.parse import unquote

__all__ = [
    "EntropyPolicy",
    "EntropyReport",
    "PositionStat",
    "analyse_tokens",
    "fips_140_2",
    "required_sample_size",
    "verdict",
]

FIPS_BITS = 20_000
# FIPS 140-2 (change notice 1, 2001) acceptance intervals for one 20,000-bit stream.
_MONOBIT_BOUNDS = (9725, 10275)  # exclusive
_POKER_BOUNDS = (2.16, 46.17)  # exclusive
_RUNS_BOUNDS = ((2315, 2685), (1114, 1386), (527, 723), (240, 384), (103, 209), (103, 209))  # inclusive
_LONG_RUN = 26  # a run of 26 or more identical bits fails

# Structural findings that prove the source is not random: any one of them fails the token however
# many bits the statistics credit. verdict() recognises them by these prefixes in report.structure.
_DECISIVE = ("sequential counter", "timestamp", "repeated tokens", "contains the username")
# A sample that compresses is redundant even when every position looks uniform (e.g. a token that
# repeats its first half): too strong to pass, too indirect to fail on. Caps the verdict at "warn".
_REDUNDANT = "redundant"
_COMPRESSION_FLOOR = 0.9  # zlib never gets random input below ~0.99; 0.9 leaves no room for chance
_COMPRESSION_MIN_BYTES = 1024  # below this zlib's fixed overhead dominates the ratio

# Structural tests fail a token outright, so they run at a far stricter level than the per-position
# tests: a false "counter" on a good token would be a false audit finding.
_STRUCTURE_ALPHA = 1e-6
_STRUCTURE_SAMPLE = 256  # consecutive tokens examined for counters/timestamps; 20 already suffice
_DAY = 86_400.0
_TIME_UNITS = ((1.0, "seconds"), (1e3, "milliseconds"), (1e6, "microseconds"), (1e9, "nanoseconds"))
_MAX_FIELD = {10: 20, 16: 16}  # widest numeric field tried: 64-bit values (and 19-digit ns times)

_HEX = frozenset("0123456789abcdefABCDEF")
_DEC = frozenset("0123456789")
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()
_ALPHABETS: tuple[tuple[str, frozenset[str], int], ...] = (
    ("decimal", _DEC, 10),
    ("hex", frozenset("0123456789abcdef"), 16),
    ("hex", frozenset("0123456789ABCDEF"), 16),
    ("base36", frozenset("0123456789" + _LOWER), 36),
    ("base36", frozenset("0123456789" + _UPPER), 36),
    ("base62", frozenset("0123456789" + _LOWER + _UPPER), 62),
    ("base64url", frozenset("0123456789" + _LOWER + _UPPER + "-_="), 64),
    ("base64", frozenset("0123456789" + _LOWER + _UPPER + "+/="), 64),
)
_PERCENT_RE = re.compile(r"%[0-9A-Fa-f]{2}")
_B64_RUN_RE = re.compile(r"[A-Za-z0-9+/_-]{4,}")
_DIGIT = {c: int(c, 16) for c in _HEX}
_DIGITS36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class EntropyPolicy:
    """Thresholds for the verdict. The defaults are ISM-2065's floor and preferred strength."""

    fail_below_bits: float = 128.0
    warn_below_bits: float = 256.0
    # Family-wise: split over the two per-position tests and Bonferroni-corrected over the variable
    # positions, so a truly random token loses any credited bits with probability <= significance.
    significance: float = 0.01
    # A fail is a strong claim: below the floor only on the evidence of positions rejected at least this
    # strongly (family-wise, same split). A weaker rejection that alone decides the floor is a warn: at
    # 0.01 a truly random 130-bit id (Adminer's) would otherwise fail about once in a hundred scans.
    fail_significance: float = 1e-6

    def __post_init__(self) -> None:
        if not 0.0 < self.significance < 1.0:
            raise ValueError(f"significance must be in (0, 1), got {self.significance}")
        if not 0.0 < self.fail_significance < 1.0:
            raise ValueError(f"fail_significance must be in (0, 1), got {self.fail_significance}")
        if self.fail_below_bits > self.warn_below_bits:
            raise ValueError("fail_below_bits must not exceed warn_below_bits")


@dataclass(frozen=True)
class PositionStat:
    """One character position of the analysed (modal-length, URL-decoded) tokens.

    ``distinct`` counts the characters seen here. ``chi_square_p`` is for uniformity over the
    characters credited: the token's whole alphabet when that is not rejected, else those seen.
    p-values are None for a constant position, where no test applies, and when the sample has
    fewer observations than the position has cells (no valid χ² test yet); ``bits`` is what the
    position contributes to ``effective_bits`` and ``min_entropy_bits`` to ``min_entropy_bits``.
    """

    index: int
    distinct: int
    chi_square_p: float | None
    transition_p: float | None
    bits: float
    min_entropy_bits: float


@dataclass(frozen=True)
class EntropyReport:
    """Everything estimated from one sample; ``reason`` explains the verdict in one sentence."""

    sample_size: int
    distinct: int
    length_min: int
    length_max: int
    alphabet: str
    positions: tuple[PositionStat, ...]
    effective_bits: float
    min_entropy_bits: float
    max_bits: float
    fips: dict[str, dict[str, object]]
    bit_correlation: dict[str, object]
    compression_ratio: float
    structure: tuple[str, ...]
    conclusive: bool
    reason: str
    conclusive_sample: int = 0  # how many tokens a conclusive per-position test over this alphabet needs


def required_sample_size(alphabet_size: int) -> int:
    """Smallest sample for a conclusive per-position test over ``alphabet_size`` characters.

    Every χ² cell should expect at least 5 observations; the transition test sees n - 1 successive
    pairs, hence the + 1. Below 200 the tests have too little power whatever the alphabet.
    """
    if alphabet_size < 1:
        raise ValueError("alphabet_size must be positive")
    return max(200, 5 * alphabet_size + 1)


# --- statistics helpers --------------------------------------------------------------------------


def _gamma_q(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) (Numerical Recipes series / Lentz fraction)."""
    if x <= 0.0:
        return 1.0
    log_prefactor = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:  # the series converges fast here
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefactor))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return min(1.0, math.exp(log_prefactor) * h)


def _chi2_sf(statistic: float, df: int) -> float:
    """Survival function of the χ² distribution: the p-value of an upper-tail χ² test."""
    return _gamma_q(df / 2.0, statistic / 2.0)


def _chi2_uniform(counts: Sequence[int]) -> float:
    """p-value of "these cell counts come from a uniform distribution over the cells"."""
    k = len(counts)
    total = sum(counts)
    if k < 2 or total == 0:
        return 1.0
    expected = total / k
    statistic = sum((c - expected) ** 2 for c in counts) / expected
    return _chi2_sf(statistic, k - 1)


def _normal_quantile_upper(p: float) -> float:
    """z with P(|Z| > z) = p, by bisection on erfc (only needed once per report)."""
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if math.erfc(mid / math.sqrt(2)) > p:
            lo = mid
        else:
            hi = mid
    return hi


def _mcv_min_entropy(max_count: int, n: int) -> float:
    """NIST SP 800-90B §6.3.1 most-common-value estimate: -log2 of the 99% upper bound on p_max."""
    if n < 2:
        return 0.0
    p_hat = max_count / n
    p_upper = min(1.0, p_hat + 2.576 * math.sqrt(p_hat * (1.0 - p_hat) / (n - 1)))
    return -math.log2(p_upper) if p_upper > 0 else 0.0


def _log_binomial_tail_bound(trials: int, successes: int, q: float) -> float:
    """log of C(trials, successes) * q**successes, an upper bound on P(X >= successes)."""
    if q >= 1.0:
        return 0.0
    log_comb = math.lgamma(trials + 1) - math.lgamma(successes + 1) - math.lgamma(trials - successes + 1)
    return min(0.0, log_comb + successes * math.log(q))


# --- FIPS 140-2 ----------------------------------------------------------------------------------


def fips_140_2(bits: str) -> dict[str, dict[str, object]]:
    """FIPS 140-2 monobit, poker, runs and long-runs tests on the first 20,000 bits of ``bits``.

    ``bits`` is a string of '0'/'1'. Each test returns {"passed", "statistic", "bounds"}; with
    fewer than 20,000 bits each returns {"skipped": ...} instead, because the published bounds are
    for exactly 20,000 bits (Burp rescales them; we would rather say nothing than guess).
    """
    stream = bits[:FIPS_BITS]
    if stream.strip("01"):
        raise ValueError("bits must contain only '0' and '1'")
    names = ("monobit", "poker", "runs", "long_runs")
    if len(stream) < FIPS_BITS:
        skipped: dict[str, object] = {"skipped": f"need {FIPS_BITS:,} bits, have {len(bits):,}"}
        return {name: dict(skipped) for name in names}

    ones = stream.count("1")
    monobit = {"passed": _MONOBIT_BOUNDS[0] < ones < _MONOBIT_BOUNDS[1], "statistic": ones, "bounds": _MONOBIT_BOUNDS}

    nibbles = Counter(stream[i : i + 4] for i in range(0, FIPS_BITS, 4))
    poker_x = 16 / 5000 * sum(c * c for c in nibbles.values()) - 5000
    poker = {
        "passed": _POKER_BOUNDS[0] < poker_x < _POKER_BOUNDS[1],
        "statistic": round(poker_x, 4),
        "bounds": _POKER_BOUNDS,
    }

    runs_count = {"0": [0] * 6, "1": [0] * 6}
    longest = 0
    for bit, group in groupby(stream):
        length = sum(1 for _ in group)
        longest = max(longest, length)
        runs_count[bit][min(length, 6) - 1] += 1
    runs_ok = all(lo <= runs_count[b][i] <= hi for b in "01" for i, (lo, hi) in enumerate(_RUNS_BOUNDS))
    runs = {"passed": runs_ok, "statistic": runs_count, "bounds": _RUNS_BOUNDS}
    long_runs = {"passed": longest < _LONG_RUN, "statistic": longest, "bounds": f"< {_LONG_RUN}"}
    return {"monobit": monobit, "poker": poker, "runs": runs, "long_runs": long_runs}


# --- decoding the variable positions into bits ---------------------------------------------------


def _token_bits(columns: list[str], alphabets: list[str], texts: list[str]) -> list[str]:
    """One bit string per token holding its variable positions, each character as its rank.

    Ranks are among the characters seen at that position, so urlsafe's 16-value last character
    gives 4 uniform bits. When every position has a power-of-two count the bits are simply the
    concatenated rank fields (built column-wise, the per-token join runs in C). Otherwise the token
    becomes a mixed-radix number, uniform on [0, N) with N not a power of two, and only its low
    floor(log2 N) - 20 bits are kept: their bias is below 2**-20, invisible to every test here,
    whereas the top bits would be biased by construction and fail FIPS on a perfectly random token.
    ``texts`` are the tokens' variable characters, for the fast path (same <= 36 characters at
    every position: one translate and int(text, k) per token, all in C).
    """
    if not columns:
        return []
    sizes = [len(seen) for seen in alphabets]
    if all(k & (k - 1) == 0 for k in sizes):
        mapped = []
        for column, seen, k in zip(columns, alphabets, sizes, strict=True):
            width = k.bit_length() - 1
            table = {c: format(r, f"0{width}b") for r, c in enumerate(seen)}
            mapped.append(list(map(table.__getitem__, column)))
        return list(map("".join, zip(*mapped, strict=True)))
    if len(set(alphabets)) == 1 and sizes[0] <= 36:
        to_digits = str.maketrans(alphabets[0], _DIGITS36[: sizes[0]])
        values = [int(text.translate(to_digits), sizes[0]) for text in texts]
        radix = sizes[0] ** len(columns)
    else:
        values = [0] * len(columns[0])
        radix = 1
        for column, seen, k in zip(columns, alphabets, sizes, strict=True):
            rank = {c: i for i, c in enumerate(seen)}
            values = list(map(operator.add, map(operator.mul, values, repeat(k)), map(rank.__getitem__, column)))
            radix *= k
    usable = radix.bit_length() - 1 - 20
    if usable <= 0:
        return []
    mask = (1 << usable) - 1
    return [format(v & mask, f"0{usable}b") for v in values]


def _successive_differences(column: str, seen: str) -> list[int]:
    """Counts of (rank[t+1] - rank[t]) mod k over successive tokens, for the transition test.

    Done on big integers so it runs in C: the ranks become one byte each of an integer X; X >> 8
    aligns every rank with its successor, and adding k to each byte keeps every field in
    [1, 2k - 1], so no borrow crosses a byte. Needs k <= 128; larger alphabets count pairs.
    """
    k = len(seen)
    n = len(column)
    counts = [0] * k
    if n < 2:
        return counts
    if k > 128:
        rank = {c: r for r, c in enumerate(seen)}
        for (a, b), c in Counter(pairwise(column)).items():
            counts[(rank[b] - rank[a]) % k] += c
        return counts
    ranks = int.from_bytes(
        column.translate(str.maketrans(seen, "".join(map(chr, range(k))))).encode("latin-1"), "little"
    )
    fields = 8 * (n - 1)
    plus_k = int.from_bytes(bytes([k]) * (n - 1), "little")
    shifted = (ranks >> 8) + plus_k - (ranks & ((1 << fields) - 1))
    for value, c in Counter(shifted.to_bytes(n - 1, "little")).items():
        counts[value % k] += c
    return counts


def _bit_correlation(stream: str, width: int, n: int, alpha: float) -> dict[str, object]:
    """Max |phi| between adjacent bit positions across tokens; how many pairs are significant.

    Each bit position becomes one big integer with a bit per token (a strided slice of the stream),
    so a 2x2 table costs three popcounts. n * phi**2 is χ²(1) under independence; the test is
    Bonferroni-corrected over the pairs.
    """
    if width < 2 or n < 3:
        return {"max_abs_phi": 0.0, "pairs_tested": 0, "significant_pairs": 0, "phi_threshold": None, "samples": n}
    columns = [int(stream[j::width], 2) for j in range(width)]
    counts = [c.bit_count() for c in columns]
    pairs = width - 1
    phi_threshold = _normal_quantile_upper(alpha / pairs) / math.sqrt(n)
    max_phi = 0.0
    tested = significant = 0
    for j in range(pairs):
        n1, n2 = counts[j], counts[j + 1]
        if n1 in (0, n) or n2 in (0, n):
            continue  # a constant bit has no correlation to measure (and the χ² test caught it)
        n11 = (columns[j] & columns[j + 1]).bit_count()
        phi = (n * n11 - n1 * n2) / math.sqrt(n1 * (n - n1) * n2 * (n - n2))
        tested += 1
        max_phi = max(max_phi, abs(phi))
        significant += abs(phi) > phi_threshold
    return {
        "max_abs_phi": round(max_phi, 4),
        "pairs_tested": tested,
        "significant_pairs": significant,
        "phi_threshold": round(phi_threshold, 4),
        "samples": n,
    }


# --- structure -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """A numeric field found in the tokens: [start, end) character positions."""

    start: int
    end: int
    base: int
    kind: str  # "counter" or a time unit name
    increasing: float  # fraction of the moves between successive tokens that go up
    flat: float  # fraction of successive tokens where the field did not change
    step: int  # 90th percentile of |change| when it changes
    steps: tuple[int, int]


@dataclass(frozen=True)
class _Columns:
    """The sample's character columns, read once: which hold only decimal or hex digits, the digit values,
    and each character's rank among the characters seen in its column."""

    width: int
    is_dec: list[bool]
    is_hex: list[bool]
    digits: list[list[int] | None]  # the digit values, for hex columns
    ranks: list[tuple[list[int], int] | None]  # (ranks, how many characters), for hex columns

    def bases(self) -> list[tuple[int, list[bool]]]:
        """Each base windows are read in, with the columns valid in it."""
        bases = [(10, self.is_dec)]
        if any(h and not d for h, d in zip(self.is_hex, self.is_dec, strict=True)):
            bases.append((16, self.is_hex))  # all-decimal windows are read in base 10 only
        return bases


@dataclass(frozen=True)
class _Window:
    """Columns [start, end) read as a number in each token, and how it moved from token to token."""

    start: int
    end: int
    base: int
    values: list[int]
    rank_values: list[int]  # the same window in rank space, uniform on [0, rank_radix) if random
    rank_radix: int
    diffs: list[int]  # value changes between successive tokens
    up: int
    down: int
    flat: int


def _numeric_fields(sample: list[str], references: list[float]) -> tuple[list[_Field], list[_Field]]:
    """Find timestamp and counter fields among the first consecutive tokens.

    Every window of up to 16 hex / 20 decimal characters whose columns are all digits is read as a
    number in each token. A timestamp is a window within a day of the issue time (seconds, ms, µs or
    ns) that does not decrease (90% of steps, allowing clock skew between servers). A counter is a
    window that changes between most successive tokens, takes mostly distinct values and changes by
    amounts so small relative to its range that random values could not (see _small_steps_log_p:
    the binomial bound on that many small changes must fall below 1e-6 divided by the number of
    windows tried). That is why 20 tokens already suffice, and why random tokens do not trip it.

    Not detectable by design: a hash or encryption of a counter or of the time looks uniform to
    this test and to every other one here; so do counters stored little-endian or inside base64.
    """
    rows = sample[:_STRUCTURE_SAMPLE]
    references = references[:_STRUCTURE_SAMPLE]
    m = len(rows)
    if m < 5:
        return [], []
    columns = _columns(rows)
    windows_tried = max(1, columns.width * (_MAX_FIELD[10] + _MAX_FIELD[16]))
    log_alpha = math.log(_STRUCTURE_ALPHA / (2 * windows_tried))  # x2: one- and two-sided bounds
    times: list[_Field] = []
    counters: list[_Field] = []
    for w in _windows(columns, m):
        field = _time_field(w.values, references, w.start, w.end, w.base, w.up, w.flat, m - 1)
        if field is not None:
            times.append(field)
        elif (counter := _counter_field(w, m, log_alpha)) is not None:
            counters.append(counter)
    return _best_fields(times, counters)


def _columns(rows: list[str]) -> _Columns:
    width = len(rows[0])
    joined = "".join(rows)
    columns = [joined[i::width] for i in range(width)]
    charsets = [set(c) for c in columns]
    is_dec = [s <= _DEC for s in charsets]
    is_hex = [s <= _HEX for s in charsets]
    digits = [list(map(_DIGIT.__getitem__, c)) if h else None for c, h in zip(columns, is_hex, strict=True)]
    # The null hypothesis for counters lives in rank space: each column uniform over the characters
    # seen in it, so a window is uniform over prod(k) values. Reading "4xy" of a UUID as a number
    # out of 16**3 would make its two random digits look like small steps of a 12-bit field.
    ranks: list[tuple[list[int], int] | None] = []
    for column, charset, h in zip(columns, charsets, is_hex, strict=True):
        order = {c: r for r, c in enumerate(sorted(charset))} if h else None
        ranks.append((list(map(order.__getitem__, column)), len(charset)) if order else None)
    return _Columns(width, is_dec, is_hex, digits, ranks)


def _windows(columns: _Columns, m: int) -> Iterator[_Window]:
    """Every window of up to _MAX_FIELD[base] columns valid in a base, grown leftwards from each end."""
    for base, valid in columns.bases():
        for end in range(1, columns.width + 1):
            if not valid[end - 1]:
                continue
            values = [0] * m
            rank_values = [0] * m
            radix = rank_radix = 1
            any_hex_letter = False
            for start in range(end - 1, max(-1, end - 1 - _MAX_FIELD[base]), -1):
                if not valid[start]:
                    break
                column_digits, column_rank = columns.digits[start], columns.ranks[start]
                assert column_digits is not None and column_rank is not None  # valid[start] says both exist
                values = list(map(operator.add, values, map(operator.mul, column_digits, repeat(radix))))
                radix *= base
                column_ranks, k = column_rank
                rank_values = list(map(operator.add, rank_values, map(operator.mul, column_ranks, repeat(rank_radix))))
                rank_radix *= k
                any_hex_letter = any_hex_letter or not columns.is_dec[start]
                if base == 16 and not any_hex_letter:
                    continue  # all-decimal windows are read in base 10 (same order, clearer report)
                diffs = list(map(operator.sub, values[1:], values[:-1]))
                up = sum(map((0).__lt__, diffs))  # C-level counting: this loop runs per window
                down = sum(map((0).__gt__, diffs))
                yield _Window(start, end, base, values, rank_values, rank_radix, diffs, up, down, m - 1 - up - down)


def _counter_field(w: _Window, m: int, log_alpha: float) -> _Field | None:
    """The window as a counter, or None. A counter takes a new value almost every time (the two-value flip
    of a node id does not count) and by small amounts, mostly - not necessarily only - upwards."""
    trials = m - 1
    moving = w.up + w.down
    if moving < max(2, trials / 2) or len(set(w.values)) < m / 2:
        return None
    if _small_steps_log_p(w.rank_values, w.rank_radix, w.up >= w.down) < log_alpha:
        steps = sorted(abs(d) for d in w.diffs if d)
        step = steps[int(0.9 * (len(steps) - 1))]
        return _Field(w.start, w.end, w.base, "counter", w.up / moving, w.flat / trials, step, (steps[0], steps[-1]))
    return None


def _best_fields(times: list[_Field], counters: list[_Field]) -> tuple[list[_Field], list[_Field]]:
    """One timestamp per overlapping group (the widest), then one counter per group clear of them."""
    chosen_times = _best_per_overlap(times, key=lambda f: (-(f.end - f.start), f.start))
    free = [c for c in counters if not any(_overlap(c, t) for t in chosen_times)]
    # Among overlapping windows of one field: a window truncated on the right is often flat, one
    # widened into random characters on the right has steps ~base times larger, so prefer windows
    # that move almost every time, then the smallest step, then the widest (zero padding on the
    # left ties and is included). With steps larger than the base the field's lowest characters
    # are themselves random-looking and the reported boundary is approximate.
    chosen_counters = _best_per_overlap(free, key=lambda f: (f.flat > 0.1, f.step, -(f.end - f.start)))
    return chosen_times, chosen_counters


def _small_steps_log_p(values: list[int], radix: int, rising: bool) -> float:
    """log of an upper bound on P(this many small changes) if the values were i.i.d. uniform.

    ``values`` are rank-space numbers, uniform on [0, radix) under the null hypothesis. With M the
    90th-percentile |change|, each change lands in [-M, M] with probability at most (2M + 1) / radix,
    and in [0, M] in the majority direction with at most (M + 1) / radix; the second bound is what
    makes a monotone counter stand out in 20 tokens. Successive changes share a token, so they are
    not quite independent; the strict level the caller applies absorbs that.
    """
    diffs = sorted(map(operator.sub, values[1:], values[:-1]))  # sorted + bisect: all in C
    sizes = sorted(map(abs, diffs))
    still = bisect_right(sizes, 0)
    trials = len(diffs)
    if still == trials:
        return 0.0
    step = sizes[still + int(0.9 * (trials - still - 1))]
    within = bisect_right(sizes, step)
    if rising:
        onward = bisect_right(diffs, step) - bisect_left(diffs, 0)
    else:
        onward = bisect_right(diffs, 0) - bisect_left(diffs, -step)
    return min(
        _log_binomial_tail_bound(trials, within, (2 * step + 1) / radix),
        _log_binomial_tail_bound(trials, onward, (step + 1) / radix),
    )


def _time_field(
    values: list[int], references: list[float], start: int, end: int, base: int, up: int, flat: int, trials: int
) -> _Field | None:
    """The window as a timestamp if every value is within a day of its issue time in some unit."""
    # Mostly non-decreasing: tokens collected over concurrent streams arrive a little out of issue order
    # (measured: 82% of changes upwards with 4 streams); being within a day of the issue time is the test.
    if up + flat < 0.6 * trials:
        return None
    for scale, unit in _TIME_UNITS:
        if abs(values[0] / scale - references[0]) > _DAY:
            continue  # cheap rejection on the first token before checking them all
        if all(abs(v / scale - r) <= _DAY for v, r in zip(values, references, strict=True)):
            return _Field(start, end, base, unit, up / max(1, trials), flat / max(1, trials), 0, (0, 0))
    return None


def _overlap(a: _Field, b: _Field) -> bool:
    return a.start < b.end and b.start < a.end


def _best_per_overlap(fields: list[_Field], key: Callable[[_Field], tuple]) -> list[_Field]:
    """Greedy: best field first, then the best among those not overlapping anything chosen."""
    chosen: list[_Field] = []
    for field in sorted(fields, key=key):
        if not any(_overlap(field, c) for c in chosen):
            chosen.append(field)
    return sorted(chosen, key=lambda f: f.start)


def _username_forms(token: str, needle: str) -> str | None:
    """How ``needle`` (lower-cased username) appears in ``token``: plain, hex or base64; else None."""
    lowered = token.lower()
    if needle in lowered:
        return "plain"
    raw = needle.encode()
    if raw.hex() in lowered:
        return "hex"
    for run in _B64_RUN_RE.findall(token):
        core = run.replace("-", "+").replace("_", "/")
        # The encoded username may start at any character offset of the run (a prefix such as
        # "s:" shifts it); decoding from each of the four offsets finds it at any byte position.
        for offset in range(4):
            chunk = core[offset:]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            if len(chunk) < 4:
                continue
            try:
                decoded = base64.b64decode(chunk, validate=True)
            except (binascii.Error, ValueError):
                continue
            if raw in decoded.lower():
                return "base64"
    return None


def _positions_text(indices: list[int]) -> str:
    shown = ", ".join(map(str, indices[:12]))
    return shown + (f" and {len(indices) - 12} more" if len(indices) > 12 else "")


def _detect_alphabet(chars: set[str]) -> tuple[str, int]:
    for name, charset, size in _ALPHABETS:
        if chars <= charset:
            return name, size
    return f"custom({len(chars)})", len(chars)


# --- verdict -------------------------------------------------------------------------------------


Decision = tuple[Literal["pass", "warn", "fail"], str]  # a verdict and its one-sentence reason


def _decide(
    report: EntropyReport, policy: EntropyPolicy, *, analysed: int | None = None, needed: int | None = None
) -> Decision:
    """The verdict and its one-sentence reason; verdict() and analyse_tokens() share this logic."""
    n = report.sample_size if analysed is None else analysed
    return _decide_before_estimate(report, policy, n, needed) or _decide_on_estimate(report, policy, n)


def _decide_before_estimate(
    report: EntropyReport, policy: EntropyPolicy, n: int, needed: int | None
) -> Decision | None:
    """A verdict that needs no entropy estimate (structure, an alphabet too small, too few tokens), or None."""
    floor = policy.fail_below_bits
    decisive = [f for f in report.structure if f.startswith(_DECISIVE)]
    if decisive:
        return "fail", (
            f"Fail: the tokens are not random ({'; '.join(decisive)}), so ISM-2065 is not met whatever the "
            f"statistics credit ({report.effective_bits:.1f} effective bits from {n} tokens)."
        )
    if report.max_bits < floor:
        return "fail", (
            f"Fail: at most {report.max_bits:.1f} bits are possible from the variable {report.alphabet} "
            f"characters, below the {floor:g}-bit ISM-2065 floor, so no sample size can change the result."
        )
    if not report.conclusive:
        need = f"at least {needed}" if needed is not None else "more"
        return "warn", (
            f"Inconclusive: only {n} token{'s were' if n != 1 else ' was'} analysed and a conclusive per-position "
            f"test over the {report.alphabet} alphabet needs {need} tokens (provisional estimate "
            f"{report.effective_bits:.1f} effective bits)."
        )
    return None


def _decide_on_estimate(report: EntropyReport, policy: EntropyPolicy, n: int) -> Decision:
    """The verdict on the estimated effective bits against the floor and the preferred strength."""
    floor, preferred = policy.fail_below_bits, policy.warn_below_bits
    method = (
        f"per-position χ² and transition tests on {n} tokens, family-wise α={policy.significance:g}, "
        f"Bonferroni-corrected over positions"
    )
    if report.effective_bits < floor and (margin := _weakly_rejected(report, policy, floor)) is not None:
        credited, weak = margin
        return "warn", (
            f"Inconclusive at the floor: estimated {report.effective_bits:.1f} effective bits ({method}), but "
            f"{weak} lost their credit on weak evidence; credited, the estimate is {credited:.1f} bits. "
            f"A larger sample decides it."
        )
    if report.effective_bits < floor:
        return "fail", (
            f"Fail: estimated {report.effective_bits:.1f} effective bits ({method}), below the "
            f"{floor:g}-bit ISM-2065 floor."
        )
    if any(f.startswith(_REDUNDANT) for f in report.structure):
        return "warn", (
            f"Warn: the positions add up to {report.effective_bits:.1f} effective bits ({method}), but the "
            f"decoded tokens compress to {report.compression_ratio:.0%} of their size, so the positions are not "
            f"independent and that estimate overstates the entropy."
        )
    if report.effective_bits < preferred and (margin := _weakly_rejected(report, policy, preferred)) is not None:
        credited, weak = margin
        return "pass", (
            f"Pass: estimated {credited:.1f} effective bits ({method}) meets the preferred {preferred:g} bits, "
            f"crediting {weak}, rejected only weakly ({report.effective_bits:.1f} bits without them)."
        )
    if report.effective_bits < preferred:
        return "warn", (
            f"Warn: estimated {report.effective_bits:.1f} effective bits ({method}) meets the {floor:g}-bit "
            f"floor but not the preferred {preferred:g} bits."
        )
    return "pass", (
        f"Pass: estimated {report.effective_bits:.1f} effective bits ({method}) meets the preferred "
        f"{preferred:g} bits (NIST SP 800-90B min-entropy lower estimate {report.min_entropy_bits:.1f} bits)."
    )


def _weakly_rejected(report: EntropyReport, policy: EntropyPolicy, level: float) -> tuple[float, str] | None:
    """When crediting the positions rejected only weakly lifts the estimate to ``level`` bits: that estimate
    and those positions in words; otherwise None (the shortfall stands on strong evidence, or on none of it).

    A finding against a token (below the floor, or below the preferred strength) needs strong evidence: at
    α = 0.01 a truly random position is rejected by chance in about one scan of a hundred, which would flip a
    256-bit token between pass and warn, or a 130-bit one between warn and fail, from run to run."""
    variable = [p for p in report.positions if p.distinct > 1]
    strict = min(policy.fail_significance, policy.significance) / (2 * max(1, len(variable)))
    weak = [
        p
        for p in variable
        if p.bits == 0.0
        and (p.chi_square_p is not None or p.transition_p is not None)
        and min(x for x in (p.chi_square_p, p.transition_p) if x is not None) >= strict
    ]
    credited = report.effective_bits + sum(math.log2(p.distinct) for p in weak)
    if not weak or credited < level:
        return None
    which = f"position{'s' if len(weak) > 1 else ''} {_positions_text([p.index for p in weak])}"
    return credited, f"{which} (no p-value below the {policy.fail_significance:g} family-wise level a finding needs)"


def verdict(report: EntropyReport, policy: EntropyPolicy) -> Literal["pass", "warn", "fail"]:
    """ "fail", "warn" or "pass" for ``report`` under ``policy`` (see ``report.reason`` for why).

    Fail: a counter, timestamp, repeat or the username was found; or max_bits is below the floor
    (true for any sample); or the conclusive estimate is below the floor. Warn: inconclusive
    sample, redundancy found by compression, or below the preferred strength. Otherwise pass.
    """
    return _decide(report, policy)[0]


# --- the analysis --------------------------------------------------------------------------------


def analyse_tokens(
    tokens: Sequence[str],
    policy: EntropyPolicy = EntropyPolicy(),
    *,
    username: str | None = None,
    issued_at: Sequence[float] | None = None,
) -> EntropyReport:
    """Estimate the effective entropy of ``tokens``, given in the order they were issued.

    Order matters: the transition test and the counter/timestamp checks compare successive tokens.
    ``issued_at`` (epoch seconds, one per token) anchors timestamp detection; without it the
    current time is used, so analyse samples within a day of collecting them. ``username`` is the
    account the tokens were issued to; finding it inside them fails the token.

    The steps, in order (each adds its findings): prepare the sample, find constant parts, bound the
    possible bits, find structure (timestamps, counters, the username), test each position, test the
    decoded bits, then decide.
    """
    findings: list[str] = []
    sample = _prepare_sample(_validated(tokens, issued_at), findings)
    _constant_parts(sample, findings)
    max_bits, proven_constant = _max_bits(sample, policy)
    structured = _structure(sample, issued_at, findings)
    _username_finding(sample, username, findings)
    stats, used_alphabets = _position_tests(sample, policy, structured, findings)
    bits = _bit_level(sample, used_alphabets, policy, findings)
    if max_bits < policy.fail_below_bits:
        findings.append(
            f"too short: at most {max_bits:.0f} bits possible from "
            f"{len(sample.variable) if proven_constant else sample.modal} {sample.alphabet} characters"
        )
    return _report(sample, policy, stats, bits, max_bits, findings)


@dataclass(frozen=True)
class _Sample:
    """The tokens as analysed: percent-decoded, the ones of the modal length, split into positions."""

    given: list[str]  # every token (percent-decoded)
    keep: list[int]  # indexes of the tokens of the modal length
    tokens: list[str]  # those tokens
    lengths: Counter[int]
    modal: int
    columns: list[str]  # one string per position, the characters of every analysed token there
    counts: list[Counter[str]]
    variable: list[int]  # positions that take more than one value
    union: set[str]  # the characters seen at the variable positions
    alphabet: str
    alphabet_size: int

    @property
    def n(self) -> int:
        return len(self.tokens)


@dataclass(frozen=True)
class _BitLevel:
    fips: dict[str, dict[str, object]]
    correlation: dict[str, object]
    compression_ratio: float


def _validated(tokens: Sequence[str], issued_at: Sequence[float] | None) -> list[str]:
    if isinstance(tokens, str):
        raise TypeError("tokens must be a sequence of strings, not one string")
    given = list(tokens)
    if not given:
        raise ValueError("no tokens to analyse")
    if issued_at is not None and len(issued_at) != len(given):
        raise ValueError("issued_at must give one time per token")
    return given


def _prepare_sample(given: list[str], findings: list[str]) -> _Sample:
    # Cookies often arrive percent-encoded ("s%3A..."): analyse what the server generated.
    if any(_PERCENT_RE.search(t) for t in given):
        given = [unquote(t) for t in given]
        findings.append("URL-encoded: tokens were percent-decoded before analysis")
    total = len(given)
    distinct = len(set(given))
    lengths = Counter(map(len, given))
    modal = max(lengths, key=lambda length: (lengths[length], length))
    if modal == 0:
        raise ValueError("tokens are empty")
    # Varying lengths (unpadded numbers, optional suffixes) would misalign positions: analyse only
    # tokens of the modal length, all their positions, and say how many were left out.
    keep = [i for i, t in enumerate(given) if len(t) == modal]
    sample = [given[i] for i in keep]
    n = len(sample)
    if len(lengths) > 1:
        findings.append(
            f"length varies {min(lengths)}-{max(lengths)}: analysed the {n} tokens of the modal length {modal}, "
            f"dropped {total - n}"
        )
    if distinct < total:
        findings.append(f"repeated tokens: {total - distinct} duplicates among {total}")
    joined = "".join(sample)
    columns = [joined[i::modal] for i in range(modal)]
    counts = [Counter(c) for c in columns]
    variable = [i for i in range(modal) if len(counts[i]) > 1]
    union: set[str] = set().union(*(counts[i] for i in (variable or range(modal))))
    alphabet, alphabet_size = _detect_alphabet(union)
    return _Sample(given, keep, sample, lengths, modal, columns, counts, variable, union, alphabet, alphabet_size)


def _constant_parts(s: _Sample, findings: list[str]) -> None:
    total = len(s.given)
    # One token has no "constant" part to speak of.
    prefix = _common_prefix(s.given) if total > 1 else ""
    suffix = _common_prefix([t[::-1] for t in s.given])[::-1] if total > 1 else ""
    if len(prefix) == min(s.lengths):
        suffix = ""  # every token is (a prefix of) the same string: reported as repeats or constant
    # Only lengths are reported, never the characters: they are part of every token, and evidence files
    # must not hold any part of a session token in clear.
    if prefix:
        findings.append(f"constant prefix ({len(prefix)} chars)")
    if suffix:
        findings.append(f"constant suffix ({len(suffix)} chars)")
    inner_constant = [i for i in range(len(prefix), s.modal - len(suffix)) if len(s.counts[i]) == 1]
    if inner_constant and s.variable:
        findings.append(f"constant characters at positions {_positions_text(inner_constant)}")


def _max_bits(s: _Sample, policy: EntropyPolicy) -> tuple[float, bool]:
    """The most bits the tokens could hold, and whether the constant positions are proven constant.

    A position seen constant in n tokens is provably constant once that could not happen by chance
    (alphabet_size**-(n-1), Bonferroni over positions); only then is its theoretical log2(alphabet)
    dropped. That is what lets a tiny sample already fail a token that is long but mostly constant.
    """
    per_position_max = math.log2(s.alphabet_size) if s.alphabet_size > 1 else 0.0
    proven_constant = s.n >= 2 and s.modal * s.alphabet_size ** -(s.n - 1) < policy.significance
    return per_position_max * (len(s.variable) if proven_constant else s.modal), proven_constant


def _structure(s: _Sample, issued_at: Sequence[float] | None, findings: list[str]) -> set[int]:
    """Timestamps and counters; the positions they cover are credited no bits, whatever their digits."""
    n = s.n
    references = [float(issued_at[i]) for i in s.keep] if issued_at is not None else [time.time()] * n
    time_fields, counter_fields = _numeric_fields(s.tokens, references)
    structured: set[int] = set()
    for field in time_fields:
        label = "hex" if field.base == 16 else "decimal"
        findings.append(
            f"timestamp ({field.kind}) in characters {field.start}-{field.end - 1} ({label}, within a day of the "
            f"issue time, mostly non-decreasing)"
        )
        structured.update(range(field.start, field.end))
    for field in counter_fields:
        label = "hex" if field.base == 16 else "decimal"
        start = field.start
        while start > 0 and s.columns[start - 1] == "0" * n:  # include the zero padding in the report
            start -= 1
        lo, hi = field.steps
        steps = f"changes by {lo}" if lo == hi else f"changes by {lo}-{hi}"
        findings.append(
            f"sequential counter in characters {start}-{field.end - 1} ({label}; {steps} between successive "
            f"tokens, {field.increasing:.0%} of changes upwards)"
        )
        structured.update(range(start, field.end))
    return structured


def _username_finding(s: _Sample, username: str | None, findings: list[str]) -> None:
    if not username:
        return
    needle = username.strip().lower()
    if len(needle) < 3:  # shorter names occur by chance in random text
        return
    total = len(s.given)
    forms = Counter(f for f in (_username_forms(t, needle) for t in s.given) if f)
    hits = sum(forms.values())
    # The name would be in every token issued to that account; two hits and 10% of the sample
    # cannot happen by chance (one hit of a 3-letter name in a few tokens can).
    if hits >= max(2, math.ceil(total / 10)):
        how = ", ".join(f for f, _ in forms.most_common())
        findings.append(f"contains the username ({how}) in {hits} of {total} tokens")


def _position_tests(
    s: _Sample, policy: EntropyPolicy, structured: set[int], findings: list[str]
) -> tuple[list[PositionStat], list[str]]:
    """Per-position tests, both χ² tests of H0 "independent and uniform over the k credited characters":
    the character counts, and the differences of successive ranks modulo k (for i.i.d. uniform ranks
    those differences are themselves i.i.d. uniform, so a counter digit, a constant shift or any
    successor rule that favours some differences is rejected; a full k x k transition table would need
    ~5k² tokens per position to be valid)."""
    alpha_position = policy.significance / (2 * max(1, len(s.variable)))
    union_sorted = "".join(sorted(s.union))
    stats: list[PositionStat] = []
    used_alphabets: list[str] = []
    non_uniform: list[int] = []
    dependent: list[int] = []
    for i in range(s.modal):
        stat, use, rejected_count, rejected_transition = _position_test(s, i, union_sorted, alpha_position)
        if use:
            used_alphabets.append(use)
        if rejected_count:
            non_uniform.append(i)
        if rejected_transition:
            dependent.append(i)
        ok = not rejected_count and not rejected_transition and i not in structured
        stats.append(stat if ok or stat.bits == 0 else replace(stat, bits=0.0))
    if non_uniform:
        findings.append(f"non-uniform characters at positions {_positions_text(non_uniform)} (χ², no bits credited)")
    if dependent:
        findings.append(
            f"successive tokens dependent at positions {_positions_text(dependent)} (transition test, no bits credited)"
        )
    return stats, used_alphabets


def _position_test(
    s: _Sample, i: int, union_sorted: str, alpha_position: float
) -> tuple[PositionStat, str, bool, bool]:
    """One position: its statistics (bits credited as if nothing were rejected), the alphabet credited
    ("" for a constant position), and whether the count and the transition tests rejected uniformity."""
    count = s.counts[i]
    k = len(count)
    n = s.n
    min_entropy = _mcv_min_entropy(max(count.values()), n)
    if k == 1:
        return PositionStat(i, 1, None, None, 0.0, min_entropy), "", False, False
    # Credit the characters seen here (Burp), except that a position that merely has not yet
    # shown every character of the token's alphabet - 1,000 urlsafe tokens miss one of 64 at
    # some position about once in 2,500 samples - is credited the whole alphabet when uniformity
    # over it is not rejected. Truly restricted positions (urlsafe's 16-value last character)
    # reject it at once and fall back to the characters seen.
    use = "".join(sorted(count))
    p_count: float | None = _chi2_uniform(list(count.values()))
    if k < len(union_sorted):
        p_full = _chi2_uniform([count.get(c, 0) for c in union_sorted])
        if p_full >= alpha_position:
            use, p_count = union_sorted, p_full
    p_transition: float | None = _chi2_uniform(_successive_differences(s.columns[i], use))
    # With fewer observations than cells the χ² approximation is anti-conservative (30 urlsafe
    # tokens "fail" the transition test 5% of the time): report no p-value rather than a wrong
    # one. Such a sample is inconclusive anyway, so the credit is only provisional.
    if n < len(use):
        p_count = None
    if n - 1 < len(use):
        p_transition = None
    rejected_count = p_count is not None and p_count < alpha_position
    rejected_transition = p_transition is not None and p_transition < alpha_position
    stat = PositionStat(i, k, p_count, p_transition, math.log2(len(use)), min_entropy)
    return stat, use, rejected_count, rejected_transition


def _bit_level(s: _Sample, used_alphabets: list[str], policy: EntropyPolicy, findings: list[str]) -> _BitLevel:
    """The variable positions decoded to bits, one row per token: FIPS 140-2, correlation, compression."""
    variable = s.variable
    if variable and variable == list(range(variable[0], variable[-1] + 1)):
        texts = [t[variable[0] : variable[-1] + 1] for t in s.tokens]
    else:
        pick = operator.itemgetter(*variable) if variable else None
        texts = ["".join(pick(t)) for t in s.tokens] if pick else []
    rows = _token_bits([s.columns[i] for i in variable], used_alphabets, texts)
    bit_width = len(rows[0]) if rows else 0
    stream = "".join(rows)
    fips = dict(fips_140_2(stream))
    failed_fips = [name for name, result in fips.items() if result.get("passed") is False]
    if failed_fips:
        findings.append(f"FIPS 140-2 {', '.join(failed_fips)} test failed on the decoded bit stream")
    correlation = _bit_correlation(stream, bit_width, len(rows), policy.significance)
    if correlation["significant_pairs"]:
        findings.append(
            f"{correlation['significant_pairs']} adjacent bit pairs correlated across tokens "
            f"(max |phi| {correlation['max_abs_phi']})"
        )
    raw = int(stream, 2).to_bytes((len(stream) + 7) // 8, "big") if stream else b""
    compression_ratio = len(zlib.compress(raw)) / len(raw) if raw else 0.0
    if len(raw) >= _COMPRESSION_MIN_BYTES and compression_ratio < _COMPRESSION_FLOOR:
        findings.append(
            f"{_REDUNDANT}: the decoded variable characters compress to {compression_ratio:.0%} of their size "
            f"(random data does not compress)"
        )
    return _BitLevel(fips, correlation, compression_ratio)


def _report(
    s: _Sample,
    policy: EntropyPolicy,
    stats: list[PositionStat],
    bits: _BitLevel,
    max_bits: float,
    findings: list[str],
) -> EntropyReport:
    needed = required_sample_size(s.alphabet_size)
    decided = max_bits < policy.fail_below_bits or any(f.startswith(_DECISIVE) for f in findings)
    report = EntropyReport(
        sample_size=len(s.given),
        distinct=len(set(s.given)),
        length_min=min(s.lengths),
        length_max=max(s.lengths),
        alphabet=s.alphabet,
        positions=tuple(stats),
        effective_bits=round(sum(p.bits for p in stats), 6),
        min_entropy_bits=round(sum(p.min_entropy_bits for p in stats), 6),
        max_bits=round(max_bits, 6),
        fips=bits.fips,
        bit_correlation=bits.correlation,
        compression_ratio=round(bits.compression_ratio, 4),
        structure=tuple(findings),
        conclusive=decided or s.n >= needed,
        reason="",
        conclusive_sample=needed,
    )
    return replace(report, reason=_decide(report, policy, analysed=s.n, needed=needed)[1])


def _common_prefix(strings: list[str]) -> str:
    """Longest common prefix: only the lexicographic min and max need comparing."""
    low, high = min(strings), max(strings)
    size = 0
    for a, b in zip(low, high, strict=False):
        if a != b:
            break
        size += 1
    return low[:size]
