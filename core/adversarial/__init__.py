"""Adversarial examples, on the top floor: attack maths, the Happy->Sad hack, robustness curves, hardening.
Owns attacks (FGSM/PGD), hack (smallest budget to flip a face), robustness (accuracy vs budget) and harden.
"""
