"""Privacy: the filter's detectors and the leakage measurements."""
