"""Evaluation, on the top floor: how good a model is, in numbers, figures and the report.json it ships with.
Owns metrics (accuracy, per-class, confusion matrix), plots (learning curves, confusion figure) and report.
"""
