"""Plurals through Babel's plural forms: « depuis 1 jour », not « depuis 1 jours », in French and English."""

from __future__ import annotations

from flask import Flask

from lti_tool.dashboard import cohort
from lti_tool.dashboard.blueprint import risk_labels


def test_the_inactivity_label_agrees_with_its_number_in_both_languages(app: Flask) -> None:
    with app.test_request_context("/?lang=fr"):
        assert risk_labels(1)[cohort.INACTIVE] == "aucune activité depuis 1 jour"
        assert risk_labels(14)[cohort.INACTIVE] == "aucune activité depuis 14 jours"
    with app.test_request_context("/?lang=en"):
        assert risk_labels(1)[cohort.INACTIVE] == "no activity for 1 day"
        assert risk_labels(14)[cohort.INACTIVE] == "no activity for 14 days"
