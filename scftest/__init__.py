"""scftest: a declarative test runner for Tencent Cloud SCF Python handlers."""

__version__ = "0.2.0"
