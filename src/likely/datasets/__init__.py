"""Data sets: the course's seeded toy sets, the TFP tutorial set, and the vendored DC2 sample."""

from likely.datasets._dc2 import BANDS, dc2_path, load_dc2, read_dc2_hdf5, replace_nondetections
from likely.datasets._features import photometry_features
from likely.datasets._toy import (
    d2_noise_std,
    describe_builtins,
    make_d1,
    make_d2,
    make_d3,
    make_tfp_regression,
)
from likely.datasets._truth import (
    bounded_bimodal_components,
    make_binary_classes,
    make_bounded_bimodal,
    make_correlated_pair,
)

__all__ = [
    "BANDS",
    "bounded_bimodal_components",
    "d2_noise_std",
    "dc2_path",
    "describe_builtins",
    "load_dc2",
    "make_binary_classes",
    "make_bounded_bimodal",
    "make_correlated_pair",
    "make_d1",
    "make_d2",
    "make_d3",
    "make_tfp_regression",
    "photometry_features",
    "read_dc2_hdf5",
    "replace_nondetections",
]
