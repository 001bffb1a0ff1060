"""Coverage of the handler code (``scftest run --cov``): which lines and branches the cases ran.

Measured inside each instance by the coverage.py release that supports the instance's
interpreter (``releases.py``), which scftest provisions into a cache folder of its own
(``provision.py``): the handler cannot import it. The bootstrap (instance/_child.py) writes
what it measured, already analysed by that release, to a file the runner gave it (``sink.py``);
``sink.combine`` merges the files of every instance (cases, runtimes, warm steps) with
``/var/user/...`` mapped back to the code folders, into a ``CoverageResult`` (``model.py``)
that the reports read (report/coverage.py: the terminal table, Cobertura XML, HTML).

This package imports nothing of scftest's steps but the shared errors: the instance uses
the sink, the session the provisioning, the reports the model.
"""
