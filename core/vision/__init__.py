"""Vision, the ground floor: from an image to 48x48 faces, with no model involved.
Owns image (decode any image file), detect (face boxes), crop (gray, margin, 48x48, model input).
"""
