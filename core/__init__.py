"""Facial emotion recognition library, one package per job; dependencies run down only (see docs/architecture.md).
Ground: labels, data, vision. Middle: model. Top: analysis, adversarial, evaluation.
"""
