"""``scftest deps``: what a function's code imports, and whether the cloud could import it.

A pipeline of its own, beside running cases; it runs no handler code:

- ``targets``: the functions to audit (code root, runtime, handler, layers), from suites or
  from code folders given directly;
- ``scan``: a code root's Python files, their imports (``_imports``: the runner's ``ast``,
  and the runtime's own interpreter for a file only it can parse), its compiled extensions
  and the versions of what is vendored in it;
- ``stdlib``: the standard library of a runtime's interpreter, asked once and cached;
- ``audit``: each import resolved as the cloud would (code root, layers, standard library,
  the runtime's image), and the findings: ``DepsReport``.

Text for a person is made in ``scftest.render``; ``DepsReport.to_dict`` is the ``--json`` shape.
"""
