"""FIT connector: FIT files (single, folders, zip/gz bulk exports) -> ActivityRecords.

Public API: :func:`read_fit` / :class:`FitReadResult` (connectors.fit.reader) and
:func:`iter_fit_inputs` / :class:`FitInput` (connectors.fit.files). The FIT writer and the
activity factory (connectors.fit.encoder / connectors.fit.factory) serve tests, the demo and
the benchmark. See docs/fit.md.
"""

from connectors.fit.files import FitInput, iter_fit_inputs
from connectors.fit.reader import FitReadResult, read_fit

__all__ = ["FitInput", "FitReadResult", "iter_fit_inputs", "read_fit"]
