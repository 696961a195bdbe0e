"""The registry of distribution families: the names configs and `mlp(head=...)` use."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from likely.distributions._distribution import Distribution

_FAMILIES: dict[str, type[Distribution]] = {}

D = TypeVar("D", bound=type[Distribution])


def register_family(name: str) -> Callable[[D], D]:
    """Class decorator: registers a `Distribution` subclass under `name`.

    A registered family can be named in a config (`model.head: <name>`), in
    `likely.models.mlp(head=<name>)`, `likely.ProbabilisticRegressor(head=<name>)`
    and `likely.layers.DistributionHead(<name>)`, and a saved head refers to
    it by that name. Families defined outside likely register the same way
    (the module defining them must be imported before a saved model loads).

    Example:
        >>> import likely
        >>> "student_t" in likely.distributions.family_names()
        True
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"A family name must be a Python identifier such as 'student_t'. Received: {name!r}"
        )

    def register(cls: D) -> D:
        if not (isinstance(cls, type) and issubclass(cls, Distribution)):
            raise TypeError(
                f"register_family({name!r}) decorates likely.distributions.Distribution "
                f"subclasses. Received: {cls!r}"
            )
        known = _FAMILIES.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ValueError(
                f"The family name {name!r} is already registered for {known.__module__}."
                f"{known.__qualname__}; choose another name for {cls.__qualname__}."
            )
        cls.family = name
        _FAMILIES[name] = cls
        return cls

    return register


def get_family(family: str | type[Distribution]) -> type[Distribution]:
    """The family class for a registered name (or the class itself)."""
    if isinstance(family, type) and issubclass(family, Distribution):
        return family
    if isinstance(family, str) and family in _FAMILIES:
        return _FAMILIES[family]
    raise ValueError(
        f"Unknown distribution family {family!r}. Registered families: "
        f"{', '.join(family_names())} (or pass a likely.distributions.Distribution subclass)."
    )


def family_names() -> tuple[str, ...]:
    """Names of the registered families, in registration order."""
    return tuple(_FAMILIES)
