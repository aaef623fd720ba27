"""The exception tree is written out in one place: tracker/errors.py's docstring names every
exception class the package defines, under its parent."""

from __future__ import annotations

import importlib
import pkgutil
import re

import tracker
from tracker import errors


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(tracker.__path__, "tracker."):
        if info.name == "tracker.__main__":
            continue  # runs the CLI on import
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == info.name
            ):
                found[value.__name__] = value
    return found


def test_every_exception_class_is_in_the_errors_docstring():
    doc = errors.__doc__ or ""
    classes = _exception_classes()
    assert {"TrackerError", "StoreBusy", "NoAaveMarket", "GaveUp"} <= set(classes)
    for name, cls in classes.items():
        if name.startswith("_"):
            continue  # private to one module's parsing
        assert re.search(rf"\b{name}\b", doc), f"errors.py's docstring lacks {name}"
        if issubclass(cls, errors.TrackerError) and cls is not errors.TrackerError:
            parent = cls.__mro__[1].__name__
            tree = doc.split(name)[0]  # a child is drawn below its parent
            assert parent in tree, f"{name} is not drawn under {parent}"
