"""Choosing a recalibration on held-out data: identity, scale or isotonic, by held-out NLL."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from likely.calibration._isotonic import IsotonicRecalibrator
from likely.calibration._scale import ScaleRecalibrator
from likely.metrics import _numeric
from likely.models import Predictive

RECALIBRATIONS = ("auto", "none", "scale", "isotonic")
MIN_CALIBRATION_ROWS = 20
"""Below this many held-out rows no recalibration is fitted."""
_MARGIN = 0.002
"""A more flexible map must lower the cross-fitted NLL by this much (nats) to be chosen."""


@dataclasses.dataclass
class RecalibrationChoice:
    """What `choose_recalibration` chose, and why.

    Attributes:
        kind: "none", "scale" or "isotonic".
        recalibrator: The fitted recalibrator (None for "none").
        scores: Cross-fitted held-out NLL of each candidate tried.
        n_samples: Number of held-out rows.
    """

    kind: str
    recalibrator: Any
    scores: dict[str, float]
    n_samples: int

    def config(self) -> dict[str, Any] | None:
        """What a head stores (None when no recalibration was chosen)."""
        return None if self.recalibrator is None else self.recalibrator.get_config()


def candidates(predictive: Any) -> list[str]:
    """The recalibrations that apply to a predictive of this family.

    Example:
        >>> import numpy as np, likely
        >>> normal = likely.distributions.Normal(np.zeros(3), np.ones(3))
        >>> likely.calibration.candidates(normal)
        ['none', 'scale', 'isotonic']
    """
    predictive = _numeric.as_predictive(predictive)
    if (
        predictive.support.discrete
        or predictive.event_shape != ()
        or len(predictive.batch_shape) != 1
    ):
        return ["none"]
    kinds = ["none"]
    support = predictive.support
    if _numeric.is_normal_family(predictive.distribution) or not (
        support.is_bounded_below or support.is_bounded_above
    ):
        kinds.append("scale")
    kinds.append("isotonic")
    return kinds


def _make(kind: str) -> Any:
    return ScaleRecalibrator() if kind == "scale" else IsotonicRecalibrator()


def choose_recalibration(
    predictive: Any, y: Any, mode: str = "auto", *, seed: int = 0
) -> RecalibrationChoice:
    """Picks and fits a recalibration of `predictive` on held-out `(predictive, y)` pairs.

    `mode="auto"` compares the identity, `ScaleRecalibrator` (families on the
    real line) and `IsotonicRecalibrator` by their cross-fitted held-out NLL:
    each is fitted on one half of the rows and scored on the other, both
    ways, so a flexible map is not rewarded for fitting the rows it is scored
    on; a map must beat the simpler ones by 0.002 nats and by one standard
    error of the mean per-row difference (so that a few dozen rows do not pick
    the isotonic map by chance). The winner is then
    fitted on all rows. `mode="scale"` / `"isotonic"` fit that one;
    `"none"` fits nothing. With fewer than 20 rows nothing is fitted.

    Args:
        predictive: The model's predictive on held-out rows (batch (n,), scalar events).
        y: Their true values, shape (n,).
        mode: "auto", "none", "scale" or "isotonic".
        seed: Seed of the halving.

    Example:
        >>> import numpy as np, likely
        >>> rng = np.random.default_rng(0)
        >>> narrow = likely.distributions.Normal(np.zeros(2000), np.full(2000, 0.5))
        >>> choice = likely.calibration.choose_recalibration(narrow, rng.normal(size=2000))
        >>> choice.kind, round(choice.recalibrator.scale_, 1)
        ('scale', 2.0)
    """
    if mode not in RECALIBRATIONS:
        raise ValueError(f"Argument `mode` must be one of {RECALIBRATIONS}. Received: {mode!r}")
    p = _numeric.as_predictive(predictive)
    allowed = candidates(p)
    if mode not in ("auto", "none") and mode not in allowed:
        raise ValueError(
            f"A {mode} recalibration does not apply to {p.distribution!r}; it allows {allowed}."
        )
    n = len(p) if p.event_shape == () and len(p.batch_shape) == 1 else 0
    if mode == "none" or allowed == ["none"] or n < MIN_CALIBRATION_ROWS:
        return RecalibrationChoice("none", None, {}, n)
    y = _numeric.check_y_true(y, n, name="y")
    kinds = allowed if mode == "auto" else [mode]
    per_row = {"none": -np.asarray(p.log_prob(y), dtype=np.float64)}
    best = mode
    if mode == "auto":
        order = np.random.default_rng(seed).permutation(n)
        halves = (order[: n // 2], order[n // 2 :])
        for kind in kinds[1:]:
            held_out = np.empty(n)
            for fit_rows, score_rows in (halves, halves[::-1]):
                fitted = _make(kind).fit(_rows(p, fit_rows), y[fit_rows])
                transformed = fitted.transform(_rows(p, score_rows))
                held_out[score_rows] = -np.asarray(transformed.log_prob(y[score_rows]), np.float64)
            per_row[kind] = held_out
        best = "none"
        for kind in kinds[1:]:  # simplest first; a richer map must clearly win
            if _clearly_better(per_row[kind], per_row[best]):
                best = kind
    scores = {kind: float(np.mean(values)) for kind, values in per_row.items()}
    if best == "none":
        return RecalibrationChoice("none", None, scores, n)
    return RecalibrationChoice(best, _make(best).fit(p, y), scores, n)


def _clearly_better(richer: np.ndarray, simpler: np.ndarray) -> bool:
    """The richer map's held-out NLL is lower by more than the margin and one standard error.

    The standard error is that of the mean per-row difference (paired rows):
    on a few dozen calibration rows a flexible map wins by chance otherwise.
    """
    gain = simpler - richer
    if not np.all(np.isfinite(gain)):
        return bool(np.mean(richer) < np.mean(simpler))
    error = float(np.std(gain, ddof=1) / np.sqrt(len(gain))) if len(gain) > 1 else np.inf
    return float(np.mean(gain)) > max(_MARGIN, error)


def _rows(predictive: Predictive, rows: np.ndarray) -> Predictive:
    members = None if predictive.members is None else predictive.members.take(rows)
    return Predictive(
        predictive.distribution.take(rows),
        members=members,
        num_members=None if members is not None else predictive.num_members,
    )


def apply_config(predictive: Predictive, config: dict[str, Any]) -> Predictive:
    """A predictive mapped by a stored recalibration config (`get_config` of a recalibrator)."""
    kind = config.get("kind")
    recalibrator = {"scale": ScaleRecalibrator, "isotonic": IsotonicRecalibrator}[kind]
    return recalibrator.from_config(config).transform(predictive)
