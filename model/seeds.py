"""The one rule for seeds, wherever a seed is given: an integer in [0, 2^63 - 1].

``run --seed``, the ``--seed`` of ``compare`` and ``calibrate``, a sweep spec's
``root_seed`` and ``[design] seed``, a comparison config's ``root_seed``, a case
file's ``settings.seed`` and :class:`model.model.PartnershipModel` all take the
same seeds. The bound is what a run table can store (seeds are an int64 column)
and what the replicate seeds are made of (63-bit, see ``experiments.engine``).

Callers raise their own error (a command-line error, a spec error, ...) with
:data:`SEED_RULE` as what is allowed; this module only says whether a value is a seed.
"""

from __future__ import annotations

from typing import Any

MAX_SEED = 2**63 - 1
SEED_RULE = "an integer in [0, 2^63 - 1]"
_MAX_DIGITS = len(str(MAX_SEED))


def is_seed(value: Any) -> bool:
    """True for an int (or numpy integer) in [0, MAX_SEED]; False for bools, floats, strings and the rest."""
    if isinstance(value, bool):
        return False
    if not isinstance(value, int):
        if not (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu" and hasattr(value, "item")):
            return False
        value = value.item()
    return 0 <= value <= MAX_SEED


def parse_seed(text: Any) -> int | None:
    """A seed written as text (a command-line option, a form field), or None when it is not one.

    Only plain decimal digits count: ``int()`` would also take ``+5``, ``1_000``,
    non-ASCII digits and surrounding blanks inside the digits, which nobody means as a seed.
    """
    if not isinstance(text, str):
        return None
    digits = text.strip()
    # the length test first: int() refuses (ValueError) strings of more than 4300 digits
    if not digits or len(digits) > _MAX_DIGITS or not (digits.isascii() and digits.isdigit()):
        return None
    seed = int(digits)
    return seed if seed <= MAX_SEED else None


RNG_RULE = "a seed (" + SEED_RULE + "), a numpy Generator or SeedSequence, or None; not both seed and rng"


def seed_from_rng(seed: Any, rng: Any) -> Any:
    """The run's integer seed when a caller gives Mesa 3's ``rng=`` instead of ``seed=``.

    A run is reproducible only from a recorded integer, so ``rng`` is turned into one: an
    integer is the seed itself; a numpy Generator or SeedSequence gives one drawn from it
    (the same Generator state gives the same run). Returns ``seed`` when ``rng`` is None;
    raises ValueError (the caller names the field) for anything else or for both.
    """
    import numpy as np

    if rng is None:
        return seed
    if seed is not None:
        raise ValueError(RNG_RULE)
    if is_seed(rng):
        return int(rng)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, MAX_SEED, endpoint=True))
    if isinstance(rng, np.random.SeedSequence):
        return int(rng.generate_state(1, np.uint64)[0] >> np.uint64(1))
    raise ValueError(RNG_RULE)
