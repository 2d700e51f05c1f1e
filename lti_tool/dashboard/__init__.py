"""The training manager's dashboard: cohorts, competences, diagnostics, certificates, exports."""
