"""hypothesis's ``given``, ``settings``, ``st`` and ``hnp`` for the property tests; where hypothesis
is not installed (the bare install), stand-ins with which a test module still imports and
each ``@given`` test is reported as skipped, while the module's other tests run."""

import inspect

import pytest

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError:

    class _AnyStrategy:
        """``st.integers(0, 3)``, ``@st.composite``, ``hnp.arrays(...)``: all evaluate to this."""

        def __getattr__(self, name):
            return self

        def __call__(self, *args, **kwargs):
            return self

    st = hnp = _AnyStrategy()

    def settings(*args, **kwargs):
        return lambda test: test

    def given(*args, **kwargs):
        """Skip the test; its signature keeps only the parameters hypothesis would not fill
        (those of @pytest.mark.parametrize and fixtures), as hypothesis's own wrapper does."""

        def decorate(test):
            params = [p for p in inspect.signature(test).parameters.values() if p.name not in kwargs]
            params = params[:len(params) - len(args)]

            def skipped(*_, **__):
                raise AssertionError("unreachable: the test is marked skip")

            skipped.__name__, skipped.__qualname__ = test.__name__, test.__qualname__
            skipped.__module__, skipped.__doc__ = test.__module__, test.__doc__
            skipped.__dict__.update(test.__dict__)  # marks applied before @given
            skipped.__signature__ = inspect.Signature(params)
            skipped.__wrapped__ = test  # where pytest reports the test
            return pytest.mark.skip(reason="hypothesis is not installed")(skipped)

        return decorate
