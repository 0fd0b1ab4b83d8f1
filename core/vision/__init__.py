"""Vision, the ground floor: from an image to 48x48 faces, with no model involved.
Owns image (decode), detect (Haar boxes), blazeface (boxes and eyes), align, crop (48x48, model input),
faces (either detector to crops), track (people).
"""

DETECTORS = ("blazeface", "haar")
"""Face detectors by name, the default first (built by :func:`core.vision.faces.make_detector`); light to import."""
