"""Facial emotion recognition library: data, preprocessing, model, training, evaluation."""
