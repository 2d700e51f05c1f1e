"""The autodiagnostic: questionnaire, scoring, routing, results."""
