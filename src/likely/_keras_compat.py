"""The few Keras internals likely relies on, in one place (Keras is pinned to 3.15.x).

- `in_symbolic_scope()`: whether Keras is tracing a function only for the
  shapes of its outputs (model building in `fit`), where a loss receives
  placeholder tensors that carry no head tag; the loss then returns a
  placeholder of the right shape instead of refusing.

`tests/layers/test_heads.py` checks that this still holds, so a Keras
upgrade that moves it fails there, not silently.
"""

from __future__ import annotations

from keras.src.backend.common.symbolic_scope import in_symbolic_scope

__all__ = ["in_symbolic_scope"]
