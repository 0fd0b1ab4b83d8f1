"""Vision, the ground floor: from an image to 48x48 faces, with no model involved.
Owns detect (Haar cascade, boxes) and crop (gray, margin, 48x48, model input); imports only core.labels.
"""
