"""Competence mastery: evidence from learning events, rules from modules/thresholds.yaml."""
