"""Choices named in the settings and acted on by the code below them, defined once here."""

from __future__ import annotations

from typing import Literal

# The label prior the student's label scores are calibrated against (`Settings.calibration`).
Calibration = Literal["none", "content_free", "domain"]
